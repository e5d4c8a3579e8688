#!/usr/bin/env python3
"""Runs the converted ONNX models through a NumPy re-implementation of MediaPipe's
single-image pose pipeline (blazepose_ref.py) and compares the result with MediaPipe's own
output in tests/fixtures/reference/images.json (static_image_mode=True).

  training/.venv-pose/bin/python training/pose/check_pipeline.py [--json OUT]

Variants:
  pruned           models/pose_landmarks.onnx as shipped (no heatmap refinement)
  pruned+heatmap   the unpruned tf2onnx output (training/.cache/pose-build/
                   pose_landmarks_raw.onnx) with MediaPipe's heatmap refinement applied
  antialiased      like "pruned" but the detector input made with Pillow's (anti-aliased)
                   bilinear resize instead of MediaPipe's plain bilinear warp
Errors are in pixels of the original image (x, y), for landmarks 0-32.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import blazepose_ref as bp  # noqa: E402


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def pil_letterbox(img, size=224):
    w, h = img.size
    s = min(size / w, size / h)
    nw, nh = round(w * s), round(h * s)
    canvas = Image.new("RGB", (size, size))
    left, top = (size - nw) // 2, (size - nh) // 2
    canvas.paste(img.resize((nw, nh), Image.BILINEAR), (left, top))
    x = np.asarray(canvas, dtype=np.float32)[None] / 127.5 - 1.0
    return x, (left / size, top / size, (size - nw - left) / size, (size - nh - top) / size)


def pipeline(img, det, lm, refine=False, antialiased=False):
    W, H = img.size
    x, pad = pil_letterbox(img) if antialiased else bp.letterbox(img)
    boxes, scores = det.run(None, {"input_1": x})
    s, b, k = bp.decode_detections(boxes, scores)
    dets = bp.weighted_nms(s, b, k)
    if not dets:
        return None, {"detection": None}
    score, _, kp = dets[0]
    roi = bp.detection_roi(bp.remove_letterbox(kp, pad), W, H)
    crop = bp.crop_roi(img, roi)
    outs = dict(zip([o.name for o in lm.get_outputs()], lm.run(None, {"input_1": crop})))
    flag = float(outs["Identity_1"].reshape(-1)[0])
    if flag < 0.5:
        return None, {"detection": round(score, 4), "pose_flag": round(flag, 4)}
    raw = outs["Identity"].reshape(39, 5)
    xy = raw[:, :2] / 256.0
    if refine:
        xy = bp.refine_from_heatmap(xy, outs["Identity_3"][0])
    pts = bp.crop_to_image(xy * 256.0, roi)
    z = raw[:, 2] / 256.0 * roi[2] / W
    vis = bp.sigmoid(raw[:, 3])
    out = np.stack([pts[:, 0] / W, pts[:, 1] / H, z, vis], 1)[:33]
    return out, {"detection": round(score, 4), "pose_flag": round(flag, 4)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    a = ap.parse_args()
    ref = json.load(open(os.path.join(REPO, "tests/fixtures/reference/images.json")))
    det = session(os.path.join(REPO, "models/pose_detector.onnx"))
    lm = session(os.path.join(REPO, "models/pose_landmarks.onnx"))
    raw_path = os.path.join(REPO, "training/.cache/pose-build/pose_landmarks_raw.onnx")
    lm_full = session(raw_path) if os.path.exists(raw_path) else None
    variants = {"pruned": dict(lm=lm), "antialiased": dict(lm=lm, antialiased=True)}
    if lm_full:
        variants["pruned+heatmap"] = dict(lm=lm_full, refine=True)
    report = {}
    for vname, kw in variants.items():
        rows, all_err = {}, []
        for name, r in sorted(ref.items()):
            if not r["decodable"]:
                continue
            img = Image.open(os.path.join(REPO, "tests/fixtures/images", name)).convert("RGB")
            ours, info = pipeline(img, det, **kw)
            mp = None if r["landmarks"] is None else np.array(r["landmarks"])
            row = dict(info, mediapipe_person=mp is not None, ours_person=ours is not None)
            if mp is not None and ours is not None:
                err = np.hypot((ours[:, 0] - mp[:, 0]) * r["width"],
                               (ours[:, 1] - mp[:, 1]) * r["height"])
                all_err.append(err)
                # person size: torso-ish scale from MediaPipe's landmarks, for context
                ys = mp[:, 1] * r["height"]
                row.update({"xy_err_px_mean": round(float(err.mean()), 2),
                            "xy_err_px_max": round(float(err.max()), 2),
                            "person_height_px": round(float(ys.max() - ys.min()), 1),
                            "visibility_abs_err_max": round(float(np.abs(ours[:, 3] - mp[:, 3]).max()), 4),
                            "z_abs_err_max": round(float(np.abs(ours[:, 2] - mp[:, 2]).max()), 4)})
            rows[name] = row
        agree = sum(v["mediapipe_person"] == v["ours_person"] for v in rows.values())
        e = np.concatenate(all_err) if all_err else np.zeros(1)
        report[vname] = {"person_found_agrees": f"{agree}/{len(rows)}",
                         "xy_err_px_mean": round(float(e.mean()), 2),
                         "xy_err_px_p95": round(float(np.percentile(e, 95)), 2),
                         "xy_err_px_max": round(float(e.max()), 2),
                         "images": rows}
    text = json.dumps(report, indent=1)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
