#!/usr/bin/env python3
"""How close each of activityd's three landmark models (`--pose-model lite|full|heavy`) is to
MediaPipe 0.10.14 running the same model (`model_complexity` 0, 1, 2), on the fixture videos
(video mode: tracking + smoothing) and stills (static mode). Run in training/.venv-mp:

  training/.venv-mp/bin/python bench/pose_variants_mediapipe.py [--models lite,full,heavy]

The error is what tests/pose.rs measures against the committed full-model references: the
distance between our landmark and MediaPipe's, over the landmarks MediaPipe marks visible
(> 0.5), as a fraction of the image's larger side; video frames where the two follow
different people (mid-hips > 0.15 apart) are counted apart, not in the error.

MediaPipe's wheel ships only pose_landmark_full.tflite and its Python API downloads lite and
heavy at run time, which this machine cannot; `training/pose/build_models.sh lite heavy`
extracts them (from the npm package @mediapipe/pose, SHA-256 checked) and this script copies
them into the venv's mediapipe package, where the API looks first.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys

import mediapipe as mp
import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(REPO, "training", "pose"))
from make_reference import decode_rgb, landmarks_of  # noqa: E402

COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}
TFLITE_SHA256 = {  # as checked by training/pose/build_models.sh
    "lite": "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
    "full": "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
    "heavy": "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
}
NPM_DIR = os.path.join(REPO, "training/.cache/pose-build/npm/package")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def install_tflite(model):
    dst = os.path.join(os.path.dirname(mp.__file__),
                       f"modules/pose_landmark/pose_landmark_{model}.tflite")
    if not os.path.exists(dst):
        src = os.path.join(NPM_DIR, f"pose_landmark_{model}.tflite")
        if not os.path.exists(src):
            sys.exit(f"{src} missing: run training/pose/build_models.sh {model}")
        shutil.copyfile(src, dst)
    if sha256(dst) != TFLITE_SHA256[model]:
        sys.exit(f"{dst}: SHA-256 mismatch")


def mediapipe_video(path, complexity):
    frames, (fn, fd) = decode_rgb(path)
    n, h, w, _ = frames.shape
    out = []
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=complexity,
                                smooth_landmarks=True) as pose:
        for i in range(n):
            pose._simulated_timestamp = round(i * 1_000_000 * fd / fn) - 33333
            out.append({"t": i * fd / fn, "width": w, "height": h,
                        "landmarks": landmarks_of(pose.process(frames[i]))})
    return out


def mediapipe_still(path, complexity):
    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=complexity) as pose:
        return {"width": rgb.shape[1], "height": rgb.shape[0],
                "landmarks": landmarks_of(pose.process(rgb))}


def activityd_pose(binary, path, model):
    out = subprocess.run([binary, "pose", "--pose-model", model, path], check=True,
                         capture_output=True, text=True).stdout
    # landmark frames: "landmarks" is null or 33 [x, y, z, visibility]
    return [json.loads(line) for line in out.splitlines()]


def hip(f):
    l = f["landmarks"]
    return None if l is None else ((l[23][0] + l[24][0]) / 2, (l[23][1] + l[24][1]) / 2)


def errors(ours, ref):
    w, h = ref["width"], ref["height"]
    side = max(w, h)
    a, b = np.array(ours["landmarks"])[:33], np.array(ref["landmarks"])[:33]
    vis = b[:, 3] > 0.5
    d = np.hypot((a[:, 0] - b[:, 0]) * w, (a[:, 1] - b[:, 1]) * h) / side
    return list(d[vis])


def compare(ours, refs):
    assert len(ours) == len(refs), (len(ours), len(refs))
    errs, both, disagree, other = [], 0, 0, 0
    for a, b in zip(ours, refs):
        p, q = hip(a), hip(b)
        if p is None and q is None:
            continue
        if (p is None) != (q is None):
            disagree += 1
            continue
        if np.hypot(p[0] - q[0], p[1] - q[1]) > 0.15:
            other += 1
            continue
        both += 1
        errs += errors(a, b)
    e = np.array(errs) if errs else np.zeros(1)
    return {"frames": len(refs), "compared": both, "person_disagreements": disagree,
            "other_person": other, "points": len(errs),
            "mean_pct": round(float(e.mean()) * 100, 3),
            "p95_pct": round(float(np.percentile(e, 95)) * 100, 3)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="lite,full,heavy")
    ap.add_argument("--binary", default=os.path.join(REPO, "target/release/activityd"))
    ap.add_argument("--videos", nargs="*", default=["sports2d_640x360", "pose2sim_cam01"])
    a = ap.parse_args()
    images = os.path.join(REPO, "tests/fixtures/images")
    stills = sorted(n for n in os.listdir(images) if not n.startswith("corrupt"))
    result = {}
    for model in a.models.split(","):
        install_tflite(model)
        c = COMPLEXITY[model]
        r = result[model] = {"model_complexity": c}
        for v in a.videos:
            path = os.path.join(REPO, f"tests/fixtures/video/{v}.mp4")
            r[v] = compare(activityd_pose(a.binary, path, model), mediapipe_video(path, c))
            print(f"{model} {v}: {r[v]}", file=sys.stderr)
        ours, refs = [], []
        for n in stills:
            path = os.path.join(images, n)
            ours += activityd_pose(a.binary, path, model)
            refs.append(mediapipe_still(path, c))
        r["stills"] = compare(ours, refs)
        print(f"{model} stills: {r['stills']}", file=sys.stderr)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
