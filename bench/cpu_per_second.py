#!/usr/bin/env python3
"""CPU seconds per second of camera video: the daemon on the looping Sports2D clip (30 fps)
at several `process_fps` settings, measured from /proc (user + system time over a steady
window), next to MediaPipe's CPU per frame (from bench/mediapipe_baseline.py's JSON) times
30 frames per second.

  bench/cpu_per_second.py [MEDIAPIPE_JSON] [--seconds 30]
"""
import json, os, socket, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def counters(port):
    """The camera's (frames captured, frames skipped by the cap, frames dropped) from /health."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
        c = json.load(r)["cameras"][0]
    return c["frames"], c["skipped"], c["dropped"]


def run(process_fps, seconds):
    """CPU seconds per camera second, and frames analysed per second, at `process_fps`."""
    work = tempfile.mkdtemp()
    clip = os.path.join(ROOT, "tests/fixtures/video/sports2d_640x360.mp4")
    port = free_port()
    open(f"{work}/a.toml", "w").write(
        f'device_id = "c"\n[api]\nbind = "127.0.0.1:{port}"\n[mqtt]\nenabled = false\n'
        # One person tracked, as MediaPipe's pose solution does (bench/people_cpu.py: more).
        f'[pose]\nmax_people = 1\n'
        f'[[cameras]]\nid = "cam0"\nsource = "file://{clip}"\nloop = true\nprocess_fps = {process_fps}\n')
    d = subprocess.Popen([os.environ.get("ACTIVITYD_BIN", os.path.join(ROOT, "target/release/activityd")),
                          "run", "--config", f"{work}/a.toml"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(5)  # models loaded, tracking settled
    c0, t0, n0 = cpu_s(d.pid), time.time(), counters(port)
    time.sleep(seconds)
    c1, t1, n1 = cpu_s(d.pid), time.time(), counters(port)
    d.terminate(); d.wait()
    frames, skipped, dropped = (b - a for a, b in zip(n0, n1))
    return (c1 - c0) / (t1 - t0), (frames - skipped - dropped) / (t1 - t0)


def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("mediapipe_json", nargs="?")
    ap.add_argument("--seconds", type=int, default=30)
    a = ap.parse_args()
    args = [a.mediapipe_json] if a.mediapipe_json else []
    seconds = a.seconds
    mp = None
    if args:
        m = json.load(open(args[0]))
        mp = m["cpu_ms_per_frame"] * m.get("video_fps", 30) / 1000
    rows = []
    for p in (0, 15, 10, 5):
        cps, analysed = run(p, seconds)
        rows.append((p, cps))
        ratio = f"{cps / mp:5.2f}x MediaPipe" if mp else ""
        print(f"process_fps {p or 'all (30)':>8}: {cps:5.3f} CPU s per camera s  {ratio}  "
              f"({analysed:4.1f} frames analysed per s)", flush=True)
    if mp:
        print(f"MediaPipe on every frame: {mp:5.3f} CPU s per camera s")


if __name__ == "__main__":
    main()
