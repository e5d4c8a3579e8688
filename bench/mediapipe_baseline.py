#!/usr/bin/env python3
"""MediaPipe timing baseline to compare `activityd bench` against.

  training/.venv-mp/bin/python bench/mediapipe_baseline.py VIDEO [--warmup N]

(venv from training/pose/requirements-mp.txt: mediapipe==0.10.14.) Decodes every frame of
VIDEO with GStreamer exactly as the daemon does (filesrc ! decodebin ! videoconvert !
video/x-raw,format=RGB) into memory first, then times mp.solutions.pose.Pose(
model_complexity=1) in video mode (tracking + smoothing) on each frame, and prints one JSON
document:

  {"frames", "per_frame_ms": {"median", "p99"}, "fps", "peak_rss_mb", ...}

fps = frames / total time spent in Pose.process(). peak_rss_mb is the process's peak RSS
(getrusage), which includes the decoded frames held in memory: decoded_frames_mb and
rss_before_model_mb are printed too so the model's share can be told apart. cpu_ms_per_frame
(user+sys) shows how much more than one core MediaPipe's own threads used.
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time

import numpy as np

import mediapipe as mp

assert mp.__version__ == "0.10.14", mp.__version__


def probe(path):
    out = subprocess.run(
        ["gst-launch-1.0", "-v", "filesrc", f"location={path}", "!", "decodebin", "!",
         "videoconvert", "!", "video/x-raw,format=RGB", "!", "fakesink"],
        check=True, capture_output=True, text=True).stdout
    caps = [l for l in out.splitlines() if "video/x-raw" in l and "format=(string)RGB" in l]
    if not caps:
        raise SystemExit(f"cannot decode {path} with GStreamer")
    c = caps[-1]
    w = int(re.search(r"width=\(int\)(\d+)", c).group(1))
    h = int(re.search(r"height=\(int\)(\d+)", c).group(1))
    fn, fd = map(int, re.search(r"framerate=\(fraction\)(\d+)/(\d+)", c).groups())
    return w, h, fn / fd


def decode_rgb(path):
    """Frames as a list of uint8 [H, W, 3] arrays, read frame by frame from GStreamer's
    stdout into preallocated buffers (no second copy of the whole clip)."""
    w, h, fps = probe(path)
    stride = (w * 3 + 3) // 4 * 4  # GStreamer pads RGB rows to 4 bytes
    proc = subprocess.Popen(
        ["gst-launch-1.0", "-q", "filesrc", f"location={path}", "!", "decodebin", "!",
         "videoconvert", "!", "video/x-raw,format=RGB", "!", "fdsink", "fd=1"],
        stdout=subprocess.PIPE)
    frames = []
    while True:
        buf = np.empty((h, stride), np.uint8)
        view, got = memoryview(buf).cast("B"), 0
        while got < buf.nbytes:
            n = proc.stdout.readinto(view[got:])
            if not n:
                break
            got += n
        if got == 0:
            break
        if got != buf.nbytes:
            raise SystemExit(f"{path}: truncated frame ({got} of {buf.nbytes} bytes)")
        frames.append(buf[:, :w * 3].reshape(h, w, 3))
    if proc.wait() != 0:
        raise SystemExit(f"gst-launch-1.0 failed on {path}")
    return frames, fps


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("video")
    ap.add_argument("--warmup", type=int, default=0,
                    help="frames processed before timing starts (default 0: every frame timed)")
    a = ap.parse_args()
    frames, fps = decode_rgb(a.video)
    rss_before = rss_mb()
    times = []
    found = 0
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1,
                                smooth_landmarks=True) as pose:
        for i, frame in enumerate(frames):
            pose._simulated_timestamp = round(i * 1e6 / fps) - 33333  # real frame times
            t = time.perf_counter()
            res = pose.process(frame)
            dt = time.perf_counter() - t
            if i >= a.warmup:
                times.append(dt)
            found += res.pose_landmarks is not None
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    ms = np.array(times) * 1e3
    cpu_ms = ((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)) * 1e3
    print(json.dumps({
        "frames": len(times),
        "per_frame_ms": {"median": round(float(np.median(ms)), 2),
                         "p99": round(float(np.percentile(ms, 99)), 2)},
        "fps": round(len(times) / (ms.sum() / 1e3), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "video": os.path.basename(a.video),
        "resolution": [int(frames[0].shape[1]), int(frames[0].shape[0])],
        "video_fps": fps,
        "frames_with_person": found,
        "cpu_ms_per_frame": round(cpu_ms / len(frames), 2),
        "decoded_frames_mb": round(sum(f.base.nbytes for f in frames) / 2**20, 1),
        "rss_before_model_mb": round(rss_before, 1),
        "mediapipe": mp.__version__,
        "model": "pose_landmark_full (model_complexity=1), video mode, smooth_landmarks",
    }))


if __name__ == "__main__":
    main()
