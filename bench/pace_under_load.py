#!/usr/bin/env python3
"""The camera's pace while the API is flooded, and how long SIGTERM takes under load
(stdlib only). The same daemon, the same run, so the ratios hold on a busy machine:

1. idle: the daemon analyses the looping Sports2D clip at process_fps = 10; analysed frames
   per second over a window (from /metrics, `activityd_frames_analysed_total`);
2. loaded: the same window while LOADERS processes send the hostile mix of tests/load.rs
   (health checks, malformed and valid uploads, unknown paths, wrong methods) as fast as
   they can;
   (1 and 2 alternate ROUNDS times; the ratio loaded / idle is what `make bench` reports);
3. SIGTERM while loaded: time until the process has exited (the unit allows 5 s).

The load generator shares this machine's cores with the daemon: what it measures is how well
the daemon keeps the camera first (request work runs at a lower priority), on this machine.

  bench/pace_under_load.py [--window 8] [--rounds 2] [--loaders 4] [--json]
"""
import argparse, http.client, json, multiprocessing, os, signal, subprocess, tempfile, time

from api_latency import free_port, wait_port

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def analysed(api):
    c = http.client.HTTPConnection("127.0.0.1", api, timeout=30)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    for line in text.splitlines():
        if line.startswith('activityd_frames_analysed_total{camera="cam0"}'):
            return float(line.split()[1])
    raise RuntimeError("no frames_analysed for cam0")


def form(field, name, data, boundary="loadboundary"):
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n").encode()
    return f"multipart/form-data; boundary={boundary}", head + data + f"\r\n--{boundary}--\r\n".encode()


def loader(args):
    """One load process: the request mix until `until` (wall clock); returns requests sent."""
    api, jpg, until = args
    valid = form("image_file", "a.jpg", jpg)
    ct, broken = form("image_file", "a.jpg", jpg[:2000])
    broken = broken[:-10]
    not_image = form("image_file", "a.jpg", b"not an image at all")
    n = 0
    while time.time() < until:
        i = n % 50
        try:
            c = http.client.HTTPConnection("127.0.0.1", api, timeout=30)
            if i == 0:
                c.request("POST", "/predict/frame", valid[1], {"Content-Type": valid[0]})
            elif i <= 10:
                c.request("POST", "/predict/frame", broken, {"Content-Type": ct})
            elif i <= 16:
                c.request("POST", "/predict/frame", b"hello", {"Content-Type": "text/plain"})
            elif i <= 22:
                c.request("POST", "/predict/frame", not_image[1], {"Content-Type": not_image[0]})
            elif i <= 25:
                c.request("GET", "/does/not/exist")
            elif i <= 27:
                c.request("PUT", "/predict/frame", b"x")
            else:
                c.request("GET", "/health")
            c.getresponse().read()
            c.close()
        except OSError:
            pass
        n += 1
    return n


def window(api, seconds):
    a0, t0 = analysed(api), time.time()
    time.sleep(seconds)
    return (analysed(api) - a0) / (time.time() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--window", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--loaders", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    work = tempfile.mkdtemp()
    api = free_port()
    clip = os.path.join(ROOT, "tests/fixtures/video/sports2d_640x360.mp4")
    jpg = open(os.path.join(ROOT, "tests/fixtures/images/pose2sim_cam01_f030_front.jpg"), "rb").read()
    open(f"{work}/a.toml", "w").write(
        f'device_id = "b"\n[api]\nbind = "127.0.0.1:{api}"\nmax_upload_mb = 2\n[mqtt]\nenabled = false\n'
        f'[[cameras]]\nid = "cam0"\nsource = "file://{clip}"\nloop = true\nprocess_fps = 10\n')
    daemon = subprocess.Popen([os.path.join(ROOT, "target/release/activityd"), "run", "--config", f"{work}/a.toml"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pool = multiprocessing.Pool(a.loaders)
    try:
        if not wait_port(api):
            raise SystemExit("the daemon did not start")
        time.sleep(3)  # models loaded, the camera streaming
        idle, loaded, rates = [], [], []
        for _ in range(a.rounds):
            idle.append(window(api, a.window))
            until = time.time() + a.window + 1.0
            job = pool.map_async(loader, [(api, jpg, until)] * a.loaders)
            time.sleep(0.5)
            loaded.append(window(api, a.window))
            rates.append(sum(job.get()) / (a.window + 1.0))
        # SIGTERM in the middle of a flood.
        until = time.time() + 30
        job = pool.map_async(loader, [(api, jpg, until)] * a.loaders)
        time.sleep(2)
        t = time.perf_counter()
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=60)
        exit_s = time.perf_counter() - t
        pool.terminate()
        mean = lambda v: sum(v) / len(v)
        out = {
            "idle_fps": round(mean(idle), 2),
            "loaded_fps": round(mean(loaded), 2),
            "ratio": round(mean(loaded) / mean(idle), 3),
            "requests_per_s": round(mean(rates)),
            "sigterm_exit_s": round(exit_s, 3),
            "exit_code": code,
            "rounds": [{"idle_fps": round(i, 2), "loaded_fps": round(l, 2)} for i, l in zip(idle, loaded)],
        }
        if a.json:
            print(json.dumps(out))
        else:
            print(f"camera analysed {out['idle_fps']} fps idle, {out['loaded_fps']} fps while the API took "
                  f"{out['requests_per_s']} requests/s: ratio {out['ratio']}")
            print(f"SIGTERM under load: exited in {out['sigterm_exit_s']} s (code {code}; the unit allows 5 s)")
    finally:
        pool.terminate()
        if daemon.poll() is None:
            daemon.kill(); daemon.wait()


if __name__ == "__main__":
    main()
