#!/usr/bin/env python3
"""Check the converted ONNX pose models against the original TFLite models on real images,
then write the model cards (models/*.json).

Reference: tf.lite.Interpreter on the *original* .tflite files from the mediapipe wheel, with
its default XNNPACK delegate (what MediaPipe itself runs). Compared runtimes: onnxruntime
(CPU, 1 thread) and tract (the `tract` Python bindings, same version as the Rust tract-onnx
crate). The TFLite reference kernels are also run, to show the float noise floor between two
correct implementations.

Inputs (all real images of tests/fixtures/images/ that decode, plus 2 random tensors):
  detector  - each image letterboxed to 224x224, in [-1, 1];
  landmarks - for each image, the rotated ROI of each detection (TFLite detector, MediaPipe
              decoding + weighted NMS) cropped to 256x256 in [0, 1]; a centre crop when the
              image has no detection.
Also measured: how far MediaPipe's heatmap refinement (RefineLandmarksFromHeatmapCalculator,
which needs the pruned Identity_3 output) moves the landmarks on these crops.
"""
import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import sys

import numpy as np
import onnx
import onnxruntime as ort
import tensorflow as tf
import tf2onnx
import tract
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import blazepose_ref as bp  # noqa: E402


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class TFLite:
    def __init__(self, path, resolver):
        self.i = tf.lite.Interpreter(model_path=path, experimental_op_resolver_type=resolver,
                                     num_threads=1)
        self.i.allocate_tensors()
        self.inp = self.i.get_input_details()[0]["index"]
        self.names = [d["name"] for d in self.i.get_output_details()]
        self.idx = [d["index"] for d in self.i.get_output_details()]

    def __call__(self, x):
        self.i.set_tensor(self.inp, x)
        self.i.invoke()
        return {n: self.i.get_tensor(k).copy() for n, k in zip(self.names, self.idx)}


class ORT:
    def __init__(self, path):
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        self.s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.inp = self.s.get_inputs()[0].name
        self.nchw = self.s.get_inputs()[0].shape[1] == 3
        self.names = [o.name for o in self.s.get_outputs()]

    def __call__(self, x):  # x is NHWC, as TFLite takes it
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if self.nchw else x
        return dict(zip(self.names, self.s.run(None, {self.inp: x})))


class Tract:
    def __init__(self, path):
        # Outputs are taken by index, in the ONNX graph's output order: tract names the
        # outlets of its typed model after nodes, and a Reshape that tract splits in two
        # turns "Identity" into "Identity.1" (the landmark model's three outputs).
        graph = onnx.load(path).graph
        self.names = [o.name for o in graph.output]
        self.nchw = graph.input[0].type.tensor_type.shape.dim[1].dim_value == 3
        model = tract.onnx().load(path).into_model()
        assert model.output_count() == len(self.names)
        self.r = model.into_runnable()

    def __call__(self, x):  # x is NHWC, as TFLite takes it
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2)) if self.nchw else x
        return {n: t.to_numpy() for n, t in zip(self.names, self.r.run([x]))}


class Stats:
    def __init__(self):
        self.d = {}

    def add(self, key, out, ref):
        for name, r in ref.items():
            if name not in out:
                continue
            e = np.abs(out[name].astype(np.float64) - r.astype(np.float64))
            s = self.d.setdefault(key, {}).setdefault(name, {"max_abs_diff": 0.0, "sum": 0.0,
                                                             "n": 0, "max_abs_ref": 0.0})
            s["max_abs_diff"] = max(s["max_abs_diff"], float(e.max()))
            s["sum"] += float(e.sum())
            s["n"] += e.size
            s["max_abs_ref"] = max(s["max_abs_ref"], float(np.abs(r).max()))

    def report(self):
        out = {}
        for key, per in self.d.items():
            out[key] = {name: {"max_abs_diff": float(f"{s['max_abs_diff']:.3g}"),
                               "mean_abs_diff": float(f"{s['sum'] / s['n']:.3g}"),
                               "max_abs_reference_value": round(s["max_abs_ref"], 3)}
                        for name, s in per.items()}
        return out


def load_images(folder):
    imgs = []
    for name in sorted(os.listdir(folder)):
        try:
            with Image.open(os.path.join(folder, name)) as im:
                im.load()
                imgs.append((name, im.convert("RGB")))
        except Exception as e:  # the corrupt fixtures
            print(f"  skip {name}: {type(e).__name__}", file=sys.stderr)
    return imgs


def verify(a):
    R = tf.lite.experimental.OpResolverType
    det_ref = TFLite(a.det_tflite, R.AUTO)
    det_refk = TFLite(a.det_tflite, R.BUILTIN_REF)
    lm_ref = TFLite(a.lm_tflite, R.AUTO)
    lm_refk = TFLite(a.lm_tflite, R.BUILTIN_REF)
    det_rt = {"onnxruntime": ORT(a.det_onnx), "tract": Tract(a.det_onnx)}
    lm_rt = {"onnxruntime": ORT(a.lm_onnx), "tract": Tract(a.lm_onnx)}
    det_stats, lm_stats = Stats(), Stats()
    rng = np.random.default_rng(0)
    images = load_images(a.images)
    per_image, refine_shift = [], []
    det_inputs = [(n, img) for n, img in images] + [(f"random{i}", None) for i in range(2)]
    for name, img in det_inputs:
        if img is None:
            x, pad = rng.uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32), (0, 0, 0, 0)
        else:
            x, pad = bp.letterbox(img)
        ref = det_ref(x)
        for rt, f in det_rt.items():
            det_stats.add(rt, f(x), ref)
        det_stats.add("tflite_reference_kernels", det_refk(x), ref)
        # landmark crops
        crops = []
        if img is None:
            crops.append(("random", rng.uniform(0, 1, (1, 256, 256, 3)).astype(np.float32)))
            dets = []
        else:
            scores, boxes, kps = bp.decode_detections(ref["Identity"], ref["Identity_1"])
            dets = bp.weighted_nms(scores, boxes, kps)
            for k, (score, box, kp) in enumerate(dets[:2]):
                roi = bp.detection_roi(bp.remove_letterbox(kp, pad), *img.size)
                crops.append((f"detection{k}", bp.crop_roi(img, roi)))
            if not dets:
                w, h = img.size
                crops.append(("centre", bp.crop_roi(img, (w / 2, h / 2, min(w, h), 0.0))))
        info = {"input": name, "detections": [round(d[0], 4) for d in dets], "crops": []}
        for cname, c in crops:
            ref = lm_ref(c)
            for rt, f in lm_rt.items():
                lm_stats.add(rt, f(c), ref)
            lm_stats.add("tflite_reference_kernels", lm_refk(c), ref)
            flag = float(ref["Identity_1"].reshape(-1)[0])
            lms = ref["Identity"].reshape(39, 5)
            entry = {"crop": cname, "pose_flag": round(flag, 4)}
            if flag >= 0.5:
                raw = lms[:, :2] / 256.0
                refined = bp.refine_from_heatmap(raw, ref["Identity_3"][0])
                shift = np.linalg.norm((refined - raw)[:33] * 256.0, axis=1)
                refine_shift.append(shift)
                entry["heatmap_refinement_shift_px256"] = {"mean": round(float(shift.mean()), 3),
                                                           "max": round(float(shift.max()), 3)}
            info["crops"].append(entry)
        if img is not None:
            per_image.append(info)
        print(f"  {name}: {info}", file=sys.stderr)
    shifts = np.concatenate(refine_shift) if refine_shift else np.zeros(1)
    return {
        "reference": f"tf.lite.Interpreter {tf.__version__} (XNNPACK delegate, 1 thread) on the "
                     "original .tflite from the wheel",
        "inputs": f"{len(images)} real images from tests/fixtures/images/ (+2 random tensors)",
        "detector": det_stats.report(),
        "landmarks": lm_stats.report(),
        "images": per_image,
        "heatmap_refinement_shift_px256": {
            "note": "MediaPipe refines landmarks 0-32 x,y with the 64x64 heatmap (Identity_3, "
                    "kernel 7, sigmoid >= 0.5); the pruned model drops it. Euclidean shift "
                    "in pixels of the 256x256 crop, over all crops with pose flag >= 0.5.",
            "mean": round(float(shifts.mean()), 3),
            "p95": round(float(np.percentile(shifts, 95)), 3),
            "max": round(float(shifts.max()), 3)},
    }


def io_desc(path):
    m = onnx.load(path)
    f = lambda v: {"name": v.name, "shape": [d.dim_value for d in v.type.tensor_type.shape.dim],
                   "dtype": onnx.helper.tensor_dtype_to_np_dtype(
                       v.type.tensor_type.elem_type).name}
    return [f(v) for v in m.graph.input], [f(v) for v in m.graph.output], m


DET_OUTPUT_DOC = {
    "Identity": {
        "meaning": "per SSD anchor: box centre x, centre y, width, height, then 4 keypoints "
                   "(x, y): kp0 mid-hip centre, kp1 full-body size/rotation point, kp2 "
                   "mid-shoulder centre, kp3 upper-body size/rotation point. The box is the "
                   "face box.",
        "units": "pixels of the 224x224 input, relative to the anchor: value / 224 * "
                 "anchor_size(=1) + anchor_centre gives the coordinate normalised to the "
                 "letterboxed input (x first: reverse_output_order)"},
    "Identity_1": {
        "meaning": "per anchor detection score logit",
        "post_processing": "score = sigmoid(clip(logit, -100, 100)); keep score >= 0.5; "
                           "weighted NMS, IoU 0.3"},
}
LM_OUTPUT_DOC = {
    "Identity": {
        "meaning": "39 landmarks x (x, y, z, visibility, presence): rows 0-32 are BlazePose's "
                   "33 landmarks (0 nose ... 32 right foot index), 33-34 auxiliary points "
                   "for the next frame's ROI (33 mid-hip centre, 34 size/rotation point), "
                   "35-38 unused by MediaPipe",
        "units": "x, y in pixels of the 256x256 input crop (divide by 256 to normalise to "
                 "the ROI), z on the same scale as x (MediaPipe: z / 256 * roi_width / "
                 "image_width after projection); visibility and presence are LOGITS: apply "
                 "sigmoid (MediaPipe reports sigmoid(visibility) as `visibility`)",
        "layout": "reshape [1,195] -> [39,5]"},
    "Identity_1": {
        "meaning": "pose presence score for the crop, already a probability (the graph "
                   "ends with a Sigmoid)",
        "post_processing": "< 0.5: no pose in the ROI (MediaPipe drops the landmarks and "
                           "re-runs the detector on the next frame)"},
    "Identity_3": {
        "meaning": "heatmap logits, one 64x64 channel per landmark (only present when built "
                   "with LANDMARK_HEATMAP=1)",
        "post_processing": "MediaPipe's RefineLandmarksFromHeatmapCalculator: for landmarks "
                           "0-38 at (col, row) = (int(x/256*64), int(y/256*64)), take the 7x7 "
                           "window (clipped), c = sigmoid(logit); if max(c) >= 0.5: x = "
                           "sum(col*c)/sum(c)/64, y = sum(row*c)/sum(c)/64 (normalised to "
                           "the crop)",
        "layout": "NHWC [1,64,64,39]"},
    "Identity_4": {
        "meaning": "39 world landmarks (x, y, z) in metres, origin at the hip centre, not yet "
                   "rotated: MediaPipe rotates x, y by the ROI rotation "
                   "(WorldLandmarkProjectionCalculator); rows as in Identity",
        "layout": "reshape [1,117] -> [39,3]"},
}


def card(a, kind, verification, conv_log):
    onnx_path = a.det_onnx if kind == "detector" else a.lm_onnx
    tfl_path = a.det_tflite if kind == "detector" else a.lm_tflite
    ins, outs, model = io_desc(onnx_path)
    doc = DET_OUTPUT_DOC if kind == "detector" else LM_OUTPUT_DOC
    for o in outs:
        o.update(doc[o["name"]])
    if kind == "detector":
        ins[0].update({
            "layout": "NCHW", "colour": "RGB",
            "normalisation": "pixel / 127.5 - 1, range [-1, 1]",
            "preprocessing": "whole frame padded to a centred square (side max(W, H), "
                             "black padding: BORDER_ZERO) and warped to 224x224 with plain "
                             "bilinear sampling, no anti-aliasing (MediaPipe: "
                             "cv::warpPerspective INTER_LINEAR; output pixel (u, v) samples "
                             "the source at left + u * side / 224, top + v * side / 224). An "
                             "anti-aliased resize changes scores a lot (0.90 -> 0.46 on "
                             "sports2d_f075): see training/pose/README.md"})
        extra = {"anchors": {"calculator": "SsdAnchorsCalculator", "num_layers": 5,
                             "strides": [8, 16, 32, 32, 32], "min_scale": 0.1484375,
                             "max_scale": 0.75, "anchor_offset": [0.5, 0.5],
                             "aspect_ratios": [1.0], "fixed_anchor_size": True,
                             "count": 2254,
                             "order": "stride 8: 28x28 cells x 2, stride 16: 14x14 x 2, "
                                      "stride 32: 7x7 x 6; row-major (y, x, anchor)"},
                 "roi_from_detection": "centre kp0, size 2*|kp1-kp0| * 1.25 (square), "
                                       "rotation 90deg - atan2(-(y1-y0), x1-x0)"}
        name, path_in_wheel = "blazepose_detector", a.det_path
        notes = ("The source .tflite stores 38 weight tensors in TFLite's sparse format "
                 "(DENSIFY ops); they were rewritten as dense constants first "
                 "(densify_tflite.py, bit-identical outputs with TFLite reference kernels). "
                 "All weights are float16 in the .tflite (DEQUANTIZE ops); tf2onnx folded "
                 "them into float32 initializers.")
    else:
        ins[0].update({
            "layout": "NCHW", "colour": "RGB",
            "normalisation": "pixel / 255, range [0, 1]",
            "preprocessing": "rotated square ROI (from the detection or the previous "
                             "frame's landmarks 33-34) warped to 256x256 with plain bilinear "
                             "sampling and BORDER_REPLICATE (MediaPipe's default for this "
                             "crop); output pixel (u, v) samples the image at centre + "
                             "R(rotation) * ((u/256 - 0.5) * size, (v/256 - 0.5) * size)"})
        kept = [o["name"] for o in outs]
        removed = {"Identity_2": "segmentation logits [1,256,256,1]",
                   "Identity_3": "heatmap logits [1,64,64,39] used by MediaPipe's "
                                 "RefineLandmarksFromHeatmapCalculator (see "
                                 "verification.heatmap_refinement_shift_px256)"}
        complexity = {"lite": 0, "full": 1, "heavy": 2}[a.variant]
        extra = {"removed_outputs": {k: v for k, v in removed.items() if k not in kept},
                 "full_model": f"pose_landmark_{a.variant} (MediaPipe "
                               f"model_complexity={complexity})"}
        name, path_in_wheel = f"blazepose_landmarks_{a.variant}", a.lm_path
        notes = (f"Outputs pruned to {', '.join(kept)} (in this order; the other branches "
                 "are removed, so runtimes do not compute them). Weights are float16 in the "
                 ".tflite (DEQUANTIZE ops); tf2onnx folded them into float32 initializers.")
    ver = {"reference": verification["reference"], "inputs": verification["inputs"],
           **verification[kind if kind == "detector" else "landmarks"]}
    if kind == "landmarks":
        ver["heatmap_refinement_shift_px256"] = verification["heatmap_refinement_shift_px256"]
        ver["pose_flag_on_fixture_crops"] = {
            im["input"]: [c["pose_flag"] for c in im["crops"]] for im in verification["images"]}
    else:
        ver["detections_on_fixtures"] = {
            im["input"]: im["detections"] for im in verification["images"]}
    source = {
        "package": "mediapipe", "package_version": a.mp_version,
        "wheel": a.wheel_name, "wheel_sha256": a.wheel_sha256,
        "path_in_wheel": path_in_wheel,
        "tflite_sha256": sha256(tfl_path), "tflite_bytes": os.path.getsize(tfl_path),
        "upstream": "google-ai-edge/mediapipe (BlazePose GHUM 3D)"}
    if kind == "landmarks" and a.lm_source_json:
        # lite and heavy: not in the wheel; the card names the package they came from
        src = json.loads(a.lm_source_json)
        source = {"package": src["package"], "tarball": src["tarball"],
                  "tarball_sha256": src["tarball_sha256"],
                  "path_in_package": src["path_in_package"],
                  "tflite_sha256": sha256(tfl_path), "tflite_bytes": os.path.getsize(tfl_path),
                  "upstream": "google-ai-edge/mediapipe (BlazePose GHUM 3D)",
                  "mediapipe_release": a.mp_version, "note": src["note"]}
    return {
        "name": name,
        "version": f"{a.mp_version}-onnx{a.revision}",
        "file": os.path.basename(onnx_path),
        "format": "onnx",
        "opset": [o.version for o in model.opset_import if o.domain == ""][0],
        "sha256": sha256(onnx_path),
        "bytes": os.path.getsize(onnx_path),
        "precision": "float32",
        "licence": "Apache-2.0",
        "licence_file": "LICENSE-mediapipe.txt",
        "source": source,
        "inputs": ins,
        "outputs": outs,
        **extra,
        "notes": notes,
        "converter": {
            "tool": "tf2onnx", "tf2onnx": tf2onnx.__version__, "tensorflow": tf.__version__,
            "onnx": onnx.__version__, "onnxruntime": ort.__version__,
            "tract_python": tract.version(), "numpy": np.__version__,
            "python": platform.python_version(), "command": conv_log[kind],
            "script": "training/pose/build_models.sh"},
        "runtime_notes": (
            "Read outputs by index, in the order listed. tract 0.23.9 keeps the ONNX names "
            "on the InferenceModel, but after into_typed()/into_optimized() outlets are named "
            "after nodes and a Reshape split in two turns the landmark outputs into "
            "'Identity.1', 'Identity_1.1', 'Identity_4.1'."),
        "verification": ver,
        "build_date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def main():
    ap = argparse.ArgumentParser()
    for k in ("det_tflite", "lm_tflite", "det_onnx", "lm_onnx", "images", "out_dir",
              "wheel_name", "wheel_sha256", "mp_version", "det_path", "lm_path", "revision",
              "det_cmd", "lm_cmd", "verification_json"):
        ap.add_argument("--" + k.replace("_", "-"), dest=k, required=True)
    # Which landmark model (MediaPipe's model_complexity 0/1/2); "full" also writes the
    # detector's card. --lm-source-json describes where a variant not in the wheel came from.
    ap.add_argument("--variant", choices=("lite", "full", "heavy"), default="full")
    ap.add_argument("--lm-source-json", default="")
    a = ap.parse_args()
    v = verify(a)
    with open(a.verification_json, "w") as f:
        json.dump(v, f, indent=1)
    conv_log = {"detector": a.det_cmd, "landmarks": a.lm_cmd}
    cards = [("landmarks", "pose_landmarks.json" if a.variant == "full"
              else f"pose_landmarks_{a.variant}.json")]
    if a.variant == "full":
        cards.insert(0, ("detector", "pose_detector.json"))
    for kind, fname in cards:
        c = card(a, kind, v, conv_log)
        with open(os.path.join(a.out_dir, fname), "w") as f:
            json.dump(c, f, indent=2)
            f.write("\n")
        print(f"wrote {fname}", file=sys.stderr)
    print(json.dumps({"detector": v["detector"], "landmarks": v["landmarks"],
                      "heatmap_refinement_shift_px256": v["heatmap_refinement_shift_px256"]},
                     indent=1))


if __name__ == "__main__":
    main()
