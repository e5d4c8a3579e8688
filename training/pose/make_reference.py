#!/usr/bin/env python3
"""MediaPipe 0.10.14 reference landmarks for the test fixtures (run in training/.venv-mp).

  training/.venv-mp/bin/python training/pose/make_reference.py
  (or training/pose/make_reference.sh, which also creates the venv)

Writes
  tests/fixtures/reference/images.json       still images, static_image_mode=True
  tests/fixtures/reference/<video>.jsonl     videos, video mode (tracking + smoothing)
  training/pose/mediapipe-0.10.14-pose_landmark_cpu.expanded.pbtxt
      the PoseLandmarkCpu graph with every subgraph expanded, as this wheel runs it
      (detector/ROI/filter parameters for re-implementing the pipeline)

Model: the legacy solution mp.solutions.pose.Pose(model_complexity=1) = pose_landmark_full.
Videos are decoded with GStreamer exactly as the daemon does it
(filesrc ! decodebin ! videoconvert ! video/x-raw,format=RGB), not with OpenCV, so both see
identical pixels. Each frame gets the timestamp frame_index / fps (the solution API would
otherwise pretend 30 fps, which matters for the One Euro filter on 60 fps clips).
Still images are decoded with Pillow (JPEG: libjpeg-turbo; the daemon's decoder may differ
by +-1 per pixel on JPEGs; PNGs are lossless).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import mediapipe as mp
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
assert mp.__version__ == "0.10.14", mp.__version__


def probe(path):
    """width, height, fps (Fraction as (num, den)) of the decoded RGB stream."""
    out = subprocess.run(
        ["gst-launch-1.0", "-v", "filesrc", f"location={path}", "!", "decodebin", "!",
         "videoconvert", "!", "video/x-raw,format=RGB", "!", "fakesink"],
        check=True, capture_output=True, text=True).stdout
    caps = [l for l in out.splitlines() if "video/x-raw" in l and "format=(string)RGB" in l]
    if not caps:
        raise RuntimeError(f"no RGB caps for {path}")
    c = caps[-1]
    w = int(re.search(r"width=\(int\)(\d+)", c).group(1))
    h = int(re.search(r"height=\(int\)(\d+)", c).group(1))
    fn, fd = map(int, re.search(r"framerate=\(fraction\)(\d+)/(\d+)", c).groups())
    return w, h, (fn, fd)


def decode_rgb(path):
    """All frames as uint8 [N, H, W, 3], decoded by GStreamer into memory (stdout pipe)."""
    w, h, fps = probe(path)
    stride = (w * 3 + 3) // 4 * 4  # GStreamer pads RGB rows to 4 bytes
    raw = subprocess.run(
        ["gst-launch-1.0", "-q", "filesrc", f"location={path}", "!", "decodebin", "!",
         "videoconvert", "!", "video/x-raw,format=RGB", "!", "fdsink", "fd=1"],
        check=True, capture_output=True).stdout
    frame_bytes = stride * h
    if len(raw) % frame_bytes:
        raise RuntimeError(f"{path}: {len(raw)} bytes is not a whole number of frames")
    frames = np.frombuffer(raw, np.uint8).reshape(-1, h, stride)[:, :, :w * 3]
    return np.ascontiguousarray(frames.reshape(-1, h, w, 3)), fps


def landmarks_of(result):
    if not result.pose_landmarks:
        return None
    return [[round(l.x, 5), round(l.y, 5), round(l.z, 5), round(l.visibility, 5)]
            for l in result.pose_landmarks.landmark]


def run_images(folder, out_path):
    refs = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        try:
            with Image.open(path) as im:
                im.load()
                rgb = np.asarray(im.convert("RGB"))
        except Exception as e:
            refs[name] = {"width": None, "height": None, "landmarks": None,
                          "decodable": False, "error": type(e).__name__}
            print(f"  {name}: not decodable ({type(e).__name__})", file=sys.stderr)
            continue
        # a fresh graph per image: static mode keeps no state, but be explicit
        with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
            lms = landmarks_of(pose.process(rgb))
        refs[name] = {"width": rgb.shape[1], "height": rgb.shape[0], "landmarks": lms,
                      "decodable": True}
        print(f"  {name}: {rgb.shape[1]}x{rgb.shape[0]} "
              f"{'33 landmarks' if lms else 'no person'}", file=sys.stderr)
    with open(out_path, "w") as f:
        json.dump(refs, f, indent=1)
        f.write("\n")


def run_video(path, out_path):
    frames, (fn, fd) = decode_rgb(path)
    n, h, w, _ = frames.shape
    found = 0
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1,
                                smooth_landmarks=True) as pose, open(out_path, "w") as f:
        for i in range(n):
            ts_us = round(i * 1_000_000 * fd / fn)
            # SolutionBase.process() adds 33333 us to this before using it
            pose._simulated_timestamp = ts_us - 33333
            lms = landmarks_of(pose.process(frames[i]))
            found += lms is not None
            t = round(i * fd / fn, 5)
            f.write(json.dumps({"t": t, "width": w, "height": h, "landmarks": lms},
                               separators=(",", ":")) + "\n")
    print(f"  {os.path.basename(path)}: {n} frames {w}x{h} @ {fn}/{fd} fps, "
          f"person in {found}", file=sys.stderr)


def dump_graph(out_path):
    from mediapipe.python._framework_bindings import validated_graph_config
    pb = os.path.join(os.path.dirname(mp.__file__), "modules/pose_landmark/pose_landmark_cpu.binarypb")
    v = validated_graph_config.ValidatedGraphConfig()
    v.initialize(binary_graph_path=pb)
    with open(out_path, "w") as f:
        f.write("# PoseLandmarkCpu as run by mediapipe 0.10.14 (mp.solutions.pose), every subgraph\n"
                "# expanded (ValidatedGraphConfig). Generated by training/pose/make_reference.py.\n"
                "# Side packets set by mp.solutions.pose.Pose(model_complexity=1): model_complexity=1,\n"
                "# smooth_landmarks = not static_image_mode, use_prev_landmarks = not static_image_mode,\n"
                "# TensorsToDetectionsCalculator.min_score_thresh = min_detection_confidence (0.5),\n"
                "# ThresholdingCalculator.threshold = min_tracking_confidence (0.5).\n"
                "# MediaPipe is Copyright The MediaPipe Authors, Apache-2.0 (models/LICENSE-mediapipe.txt).\n")
        f.write(v.text_config)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", default=os.path.join(REPO, "tests/fixtures/images"))
    ap.add_argument("--videos", nargs="*", default=[
        os.path.join(REPO, "tests/fixtures/video/sports2d_640x360.mp4"),
        os.path.join(REPO, "tests/fixtures/video/pose2sim_cam01.mp4")])
    ap.add_argument("--out", default=os.path.join(REPO, "tests/fixtures/reference"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    dump_graph(os.path.join(HERE, "mediapipe-0.10.14-pose_landmark_cpu.expanded.pbtxt"))
    run_images(a.images, os.path.join(a.out, "images.json"))
    for v in a.videos:
        stem = os.path.splitext(os.path.basename(v))[0]
        run_video(v, os.path.join(a.out, f"{stem}.jsonl"))
    print(f"done in {time.time() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
