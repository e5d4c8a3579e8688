#!/usr/bin/env python3
"""`POST /predict/frame` on a 640x480 JPEG against MediaPipe's static-image pose on the same
photo, in one run (issue 22's "≤ MediaPipe's static-image time").

  training/.venv-mp/bin/python bench/predict_frame.py [--requests 50] [--rounds 2] [--binary BIN]
      [--precision f16|f32]

Starts the daemon (target/release/activityd) with the API on, MQTT off and no camera, so
nothing else competes. The photo is a real person (tests/fixtures/images, Pose2Sim),
letterboxed to 640x480 and JPEG-encoded once. Each round times, after 3 warm-up calls:
* activityd: a loopback HTTP client's POST /predict/frame (upload, JPEG decode, detector,
  landmarks, the still-frame classification, the JSON reply);
* MediaPipe 0.10.14: `mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)`
  `.process` on the image decoded from the same JPEG bytes (decode included), in-process.
The two alternate round by round; prints medians and p90 per round and their ratio.
"""
import argparse, http.client, json, os, socket, statistics, subprocess, tempfile, time

import cv2
import mediapipe as mp
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
PHOTO = os.path.join(ROOT, "tests/fixtures/images/pose2sim_cam01_f030_front.jpg")


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def wait_port(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close(); return True
        except OSError:
            time.sleep(0.1)
    return False


def jpeg_640x480():
    img = cv2.imread(PHOTO)
    h, w = img.shape[:2]
    s = min(640 / w, 480 / h)
    small = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((480, 640, 3), np.uint8)
    y, x = (480 - small.shape[0]) // 2, (640 - small.shape[1]) // 2
    canvas[y:y + small.shape[0], x:x + small.shape[1]] = small
    ok, buf = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes()


def stats(v):
    v = sorted(v)
    return {"median": round(statistics.median(v), 2), "p90": round(v[int(0.9 * (len(v) - 1))], 2)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/activityd"),
                    help="the activityd to measure (default: this checkout's release build)")
    ap.add_argument("--precision", choices=["f16", "f32"], default="f16",
                    help="the daemon's pose.precision (default f16, the daemon's default)")
    a = ap.parse_args()
    jpg = jpeg_640x480()
    b = "benchboundary"
    body = (f'--{b}\r\nContent-Disposition: form-data; name="image_file"; filename="f.jpg"\r\n'
            f'Content-Type: image/jpeg\r\n\r\n').encode() + jpg + f"\r\n--{b}--\r\n".encode()
    work = tempfile.mkdtemp()
    api = free_port()
    open(f"{work}/a.toml", "w").write(
        f'device_id = "b"\n[pose]\nprecision = "{a.precision}"\n'
        f'[api]\nbind = "127.0.0.1:{api}"\n[mqtt]\nenabled = false\n')
    daemon = subprocess.Popen([a.binary, "run", "--config", f"{work}/a.toml"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pose = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)

    def ours():
        c = http.client.HTTPConnection("127.0.0.1", api, timeout=30)
        t = time.perf_counter()
        c.request("POST", "/predict/frame", body, {"Content-Type": f"multipart/form-data; boundary={b}"})
        r = c.getresponse(); reply = r.read(); c.close()
        took = (time.perf_counter() - t) * 1000
        assert r.status == 200, (r.status, reply[:200])
        return took, json.loads(reply)

    def theirs():
        t = time.perf_counter()
        img = cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR)
        res = pose.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        return (time.perf_counter() - t) * 1000, res

    try:
        if not wait_port(api):
            raise SystemExit("the daemon's API did not come up")
        for _ in range(3):
            _, reply = ours()
            _, res = theirs()
        found_ours = bool(reply.get("people"))
        found_theirs = res.pose_landmarks is not None
        rounds = []
        for r in range(a.rounds):
            o = [ours()[0] for _ in range(a.requests)]
            m = [theirs()[0] for _ in range(a.requests)]
            rounds.append({"round": r + 1, "activityd_predict_frame_ms": stats(o), "mediapipe_static_ms": stats(m),
                           "ratio_median": round(statistics.median(o) / statistics.median(m), 2)})
        print(json.dumps({"photo": os.path.relpath(PHOTO, ROOT), "jpeg_bytes": len(jpg),
                          "person_found": {"activityd": found_ours, "mediapipe": found_theirs},
                          "rounds": rounds}, indent=1))
    finally:
        pose.close()
        daemon.terminate(); daemon.wait()


if __name__ == "__main__":
    main()
