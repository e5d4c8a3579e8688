#!/usr/bin/env python3
"""End-to-end latencies of a running daemon, measured from outside (stdlib only):

1. POST /predict/frame with a 640x480 JPEG: client-side p50/p99 over N requests, while the
   camera keeps running;
2. frame-to-MQTT: for every retained-state message the broker delivers, the time from the
   frame's capture (its `ts`) to its arrival at a subscriber (same machine clock).

  bench/api_latency.py [--requests 100] [--seconds 60]
Starts its own Mosquitto and the daemon (target/release/activityd) on the looping Sports2D
clip analysed at 15 fps.
"""
import argparse, http.client, json, os, socket, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, round((len(v) - 1) * p))]


def wait_port(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close(); return True
        except OSError:
            time.sleep(0.1)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=100)
    ap.add_argument("--seconds", type=int, default=60)
    a = ap.parse_args()
    work = tempfile.mkdtemp()
    mq, api = free_port(), free_port()
    open(f"{work}/m.conf", "w").write(f"listener {mq} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen(["mosquitto", "-c", f"{work}/m.conf"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(mq)
    clip = os.path.join(ROOT, "tests/fixtures/video/sports2d_640x360.mp4")
    open(f"{work}/a.toml", "w").write(
        f'device_id = "b"\n[api]\nbind = "127.0.0.1:{api}"\n[mqtt]\nport = {mq}\n'
        f'[[cameras]]\nid = "cam0"\nsource = "file://{clip}"\nloop = true\nprocess_fps = 15\n')
    daemon = subprocess.Popen([os.path.join(ROOT, "target/release/activityd"), "run", "--config", f"{work}/a.toml"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(api)
        # A 640x480 JPEG from the clip.
        jpg = f"{work}/frame.jpg"
        subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={clip}", "!", "decodebin", "!", "videoconvert", "!",
                        "videoscale", "!", "video/x-raw,width=640,height=480", "!", "jpegenc", "snapshot=true", "!",
                        "filesink", f"location={jpg}"], check=True)
        body_jpg = open(jpg, "rb").read()
        b = "benchboundary"
        body = (f'--{b}\r\nContent-Disposition: form-data; name="image_file"; filename="f.jpg"\r\n'
                f'Content-Type: image/jpeg\r\n\r\n').encode() + body_jpg + f"\r\n--{b}--\r\n".encode()
        # MQTT subscriber for the state latency.
        sub = subprocess.Popen(["mosquitto_sub", "-p", str(mq), "-v", "-t", "activityd/b/cam0/state"],
                               stdout=subprocess.PIPE, text=True)
        lat_mqtt = []
        def read():
            for line in sub.stdout:
                now = time.time()
                try:
                    ts = json.loads(line.split(" ", 1)[1])["ts"]
                    lat_mqtt.append((now - ts) * 1000)
                except Exception:
                    pass
        threading.Thread(target=read, daemon=True).start()
        time.sleep(3)
        lat_http = []
        for i in range(a.requests):
            c = http.client.HTTPConnection("127.0.0.1", api, timeout=30)
            t = time.perf_counter()
            c.request("POST", "/predict/frame", body, {"Content-Type": f"multipart/form-data; boundary={b}"})
            r = c.getresponse(); r.read(); c.close()
            if r.status == 200:
                lat_http.append((time.perf_counter() - t) * 1000)
        end = time.time() + max(0, a.seconds - 3)
        while time.time() < end:
            time.sleep(0.5)
        sub.terminate()
        lat_mqtt = lat_mqtt[1:]  # the first is the retained message from before we subscribed
        out = {
            "predict_frame_ms": {"n": len(lat_http), "p50": round(pct(lat_http, .5), 1), "p99": round(pct(lat_http, .99), 1)},
            "frame_to_mqtt_ms": ({"n": len(lat_mqtt), "p50": round(pct(lat_mqtt, .5), 1), "p99": round(pct(lat_mqtt, .99), 1)}
                                 if lat_mqtt else None),
        }
        print(json.dumps(out))
    finally:
        daemon.terminate(); daemon.wait(); broker.terminate(); broker.wait()


if __name__ == "__main__":
    main()
