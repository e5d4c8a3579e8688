#!/usr/bin/env python3
"""Quantised variants of the BlazePose ONNX models, for the study in docs/models.md
("Quantised models (study)", issue 22). Nothing here changes the daemon's default models.

  training/.venv-quant/bin/python training/pose/quantise.py [--variants a,b] [--out DIR]

venv: training/.venv-quant (requirements-quant.txt). For each variant it writes
DIR/<variant>/ (default training/.cache/quant/) holding a full copy of models/ in which
pose_detector.onnx, pose_landmarks.onnx and pose_landmarks_lite.onnx are replaced by their
quantised versions under the same names, so that

  ACTIVITYD_MODELS=DIR/<variant> activityd pose IMAGE

runs the daemon on them unchanged. DIR/<variant>-lm/ is the same with the f32 detector (only
the landmark models quantised).

Variants:
  int8_qdq      static int8, QDQ format (QuantizeLinear/DequantizeLinear around every
                quantisable op), activations uint8, weights int8 per output channel, MinMax
  int8_qdq_s8   same with int8 activations
  int8_qop      static int8, QOperator format (QLinearConv, QLinearAdd, ...), per-channel
  int8_qop_conv QOperator with only Conv quantised (QLinearConv + Quantize/DequantizeLinear)
  int8_dyn      dynamic (ConvInteger + DynamicQuantizeLinear), weights uint8 per channel
  w8            weight-only: Conv weights stored int8 per channel behind a DequantizeLinear,
                activations and arithmetic f32
  f16           onnxconverter-common float16 (keep_io_types): f16 weights and compute
  w16           weight-only: initializers stored f16 behind a Cast to f32, compute f32

Calibration (static variants): the fixture stills (tests/fixtures/images, not the corrupt
ones) and every 10th frame of the two fixture clips (sports2d_640x360, pose2sim_cam01),
preprocessed as the daemon does (blazepose_ref.py: letterboxed plain-bilinear 224x224 in
[-1, 1] for the detector; the rotated square ROI of the f32 detector's first detection,
256x256 in [0, 1], BORDER_REPLICATE, for the landmark models), NCHW. These are also frames
the accuracy is measured on (bench/pose_variants_mediapipe.py): calibration only sets
activation ranges (44 + 42 tensors), but keep that in mind.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper, TensorProto
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
import blazepose_ref as bp  # noqa: E402

MODELS = os.path.join(REPO, "models")
POSE_FILES = ["pose_detector.onnx", "pose_landmarks.onnx", "pose_landmarks_lite.onnx"]
CLIPS = ["sports2d_640x360", "pose2sim_cam01"]
ALL = ["int8_qdq", "int8_qdq_s8", "int8_qop", "int8_qop_conv", "int8_dyn", "w8", "f16", "w16"]


def decode_rgb(path):
    """All frames as uint8 [N, H, W, 3] (GStreamer, as make_reference.py)."""
    out = subprocess.run(
        ["gst-launch-1.0", "-v", "filesrc", f"location={path}", "!", "decodebin", "!",
         "videoconvert", "!", "video/x-raw,format=RGB", "!", "fakesink"],
        check=True, capture_output=True, text=True).stdout
    caps = [l for l in out.splitlines() if "video/x-raw" in l and "format=(string)RGB" in l][-1]
    w = int(re.search(r"width=\(int\)(\d+)", caps).group(1))
    h = int(re.search(r"height=\(int\)(\d+)", caps).group(1))
    stride = (w * 3 + 3) // 4 * 4
    raw = subprocess.run(
        ["gst-launch-1.0", "-q", "filesrc", f"location={path}", "!", "decodebin", "!",
         "videoconvert", "!", "video/x-raw,format=RGB", "!", "fdsink", "fd=1"],
        check=True, capture_output=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, h, stride)[:, :, :w * 3]
    return np.ascontiguousarray(frames.reshape(-1, h, w, 3))


def calibration(cache):
    """(detector inputs [N,3,224,224], landmark inputs [M,3,256,256]), cached."""
    if os.path.exists(cache):
        z = np.load(cache)
        return z["det"], z["lm"]
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    det = ort.InferenceSession(os.path.join(MODELS, "pose_detector.onnx"), so,
                               providers=["CPUExecutionProvider"])
    images = []
    idir = os.path.join(REPO, "tests/fixtures/images")
    for n in sorted(os.listdir(idir)):
        if not n.startswith("corrupt"):
            with Image.open(os.path.join(idir, n)) as im:
                images.append(im.convert("RGB"))
    for c in CLIPS:
        frames = decode_rgb(os.path.join(REPO, f"tests/fixtures/video/{c}.mp4"))
        images += [Image.fromarray(f) for f in frames[::10]]
    dets, lms = [], []
    for img in images:
        W, H = img.size
        x, pad = bp.letterbox(img)
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
        dets.append(x)
        boxes, scores = det.run(None, {"input_1": x})
        found = bp.weighted_nms(*bp.decode_detections(boxes, scores))
        if found:
            roi = bp.detection_roi(bp.remove_letterbox(found[0][2], pad), W, H)
            lms.append(np.ascontiguousarray(bp.crop_roi(img, roi).transpose(0, 3, 1, 2)))
    d, m = np.concatenate(dets), np.concatenate(lms)
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    np.savez_compressed(cache, det=d, lm=m)
    return d, m


class Reader:
    def __init__(self, data):
        self.it = iter([{"input_1": x[None]} for x in data])

    def get_next(self):
        return next(self.it, None)

    def rewind(self):
        pass


def conv_weights(model):
    """Names of the initializers used as Conv weights (input 1)."""
    inits = {i.name for i in model.graph.initializer}
    return {n.input[1] for n in model.graph.node if n.op_type == "Conv" and n.input[1] in inits}


def _save_rewritten(m, keep, nodes, dst):
    """Replaces `m`'s initializers with `keep`, puts `nodes` (which rebuild the removed
    ones) first, checks and saves the model to `dst`."""
    del m.graph.initializer[:]
    m.graph.initializer.extend(keep)
    old = list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(nodes + old)
    onnx.checker.check_model(m)
    onnx.save(m, dst)


def weight_only_int8(src, dst):
    """Conv weights -> int8 per output channel (symmetric) + DequantizeLinear(axis 0)."""
    m = onnx.load(src)
    names = conv_weights(m)
    keep, nodes = [], []
    for init in m.graph.initializer:
        if init.name not in names:
            keep.append(init)
            continue
        w = numpy_helper.to_array(init).astype(np.float32)
        amax = np.abs(w.reshape(w.shape[0], -1)).max(1)
        scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
        q = np.clip(np.round(w / scale.reshape(-1, *[1] * (w.ndim - 1))), -127, 127)
        keep += [numpy_helper.from_array(q.astype(np.int8), init.name + "_q"),
                 numpy_helper.from_array(scale, init.name + "_s"),
                 numpy_helper.from_array(np.zeros_like(scale, dtype=np.int8), init.name + "_z")]
        nodes.append(helper.make_node("DequantizeLinear",
                                      [init.name + "_q", init.name + "_s", init.name + "_z"],
                                      [init.name], name=init.name + "_dq", axis=0))
    _save_rewritten(m, keep, nodes, dst)


def weight_only_f16(src, dst):
    """Every f32 initializer with more than 16 values -> f16 + Cast(to f32)."""
    m = onnx.load(src)
    keep, nodes = [], []
    for init in m.graph.initializer:
        if init.data_type != TensorProto.FLOAT or np.prod(init.dims) <= 16:
            keep.append(init)
            continue
        w = numpy_helper.to_array(init)
        keep.append(numpy_helper.from_array(w.astype(np.float16), init.name + "_h"))
        nodes.append(helper.make_node("Cast", [init.name + "_h"], [init.name],
                                      name=init.name + "_cast", to=TensorProto.FLOAT))
    _save_rewritten(m, keep, nodes, dst)


def make(variant, src, dst, calib, tmp):
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quantize_dynamic, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    if variant == "w8":
        return weight_only_int8(src, dst)
    if variant == "w16":
        return weight_only_f16(src, dst)
    if variant == "f16":
        from onnxconverter_common import float16
        m = float16.convert_float_to_float16(onnx.load(src), keep_io_types=True)
        return onnx.save(m, dst)
    pre = os.path.join(tmp, os.path.basename(src) + ".pre.onnx")
    if not os.path.exists(pre):
        quant_pre_process(src, pre, skip_symbolic_shape=True)
    if variant == "int8_dyn":
        return quantize_dynamic(pre, dst, op_types_to_quantize=["Conv"], per_channel=True,
                                weight_type=QuantType.QUInt8)
    fmt = QuantFormat.QDQ if variant.startswith("int8_qdq") else QuantFormat.QOperator
    act = QuantType.QInt8 if variant.endswith("_s8") else QuantType.QUInt8
    ops = ["Conv"] if variant == "int8_qop_conv" else None
    quantize_static(pre, dst, Reader(calib), quant_format=fmt, per_channel=True,
                    activation_type=act, weight_type=QuantType.QInt8,
                    op_types_to_quantize=ops, calibrate_method=CalibrationMethod.MinMax)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", default=",".join(ALL))
    ap.add_argument("--out", default=os.path.join(REPO, "training/.cache/quant"))
    a = ap.parse_args()
    det_cal, lm_cal = calibration(os.path.join(a.out, "calibration.npz"))
    print(f"calibration: {len(det_cal)} detector inputs, {len(lm_cal)} landmark crops")
    tmp = os.path.join(a.out, "tmp")
    os.makedirs(tmp, exist_ok=True)
    for v in a.variants.split(","):
        d, dlm = os.path.join(a.out, v), os.path.join(a.out, v + "-lm")
        for x in (d, dlm):
            shutil.rmtree(x, ignore_errors=True)
            shutil.copytree(MODELS, x)
        for f in POSE_FILES:
            calib = det_cal if f == "pose_detector.onnx" else lm_cal
            out = os.path.join(d, f)
            try:
                make(v, os.path.join(MODELS, f), out, calib, tmp)
            except Exception as e:  # record and go on: the study lists what fails
                print(f"{v} {f}: FAILED {type(e).__name__}: {e}")
                continue
            if f != "pose_detector.onnx":
                shutil.copyfile(out, os.path.join(dlm, f))
            ops = sorted({n.op_type for n in onnx.load(out).graph.node})
            print(f"{v} {f}: {os.path.getsize(out) / 1e6:.1f} MB, ops {' '.join(ops)}")


if __name__ == "__main__":
    main()
