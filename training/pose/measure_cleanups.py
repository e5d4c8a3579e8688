#!/usr/bin/env python3
"""Does an onnx-simplifier / constant-folding pass change anything for the shipped models?

  training/.venv-pose/bin/python training/pose/measure_cleanups.py [--runs N]

For each of models/pose_detector.onnx and models/pose_landmarks.onnx, compares the file as
shipped with (a) onnxsim.simplify() (constant folding + shape inference + dead-node removal)
and (b) onnxruntime's ORT_ENABLE_BASIC offline optimisation (constant folding, redundant
node elimination; standard ONNX ops only). Reports node counts, op histogram changes, file
size, tract 0.23.9 load+optimise time, tract and onnxruntime single-thread median run time
and the largest output difference to the shipped model. Writes nothing into models/.
"""
import argparse
import collections
import json
import os
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
import onnxsim
import tract

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))


def ops(m):
    return collections.Counter(n.op_type for n in m.graph.node)


def tract_time(path, x, runs):
    t = time.perf_counter()
    model = tract.onnx().load(path).into_model()
    r = model.into_runnable()
    load_ms = (time.perf_counter() - t) * 1e3
    for _ in range(3):
        out = r.run([x])
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        out = r.run([x])
        ts.append(time.perf_counter() - t)
    return load_ms, float(np.median(ts) * 1e3), [o.to_numpy() for o in out]


def ort_time(path, x, runs):
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feed = {s.get_inputs()[0].name: x}
    for _ in range(3):
        s.run(None, feed)
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        s.run(None, feed)
        ts.append(time.perf_counter() - t)
    return float(np.median(ts) * 1e3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    report = {}
    for name, shape, lo in (("pose_detector", (1, 224, 224, 3), -1.0),
                            ("pose_landmarks", (1, 256, 256, 3), 0.0)):
        shipped = os.path.join(REPO, "models", f"{name}.onnx")
        m = onnx.load(shipped)
        variants = {"shipped": shipped}
        sim, ok = onnxsim.simplify(m)
        assert ok, "onnxsim check failed"
        variants["onnxsim"] = os.path.join(tmp, f"{name}_sim.onnx")
        onnx.save(sim, variants["onnxsim"])
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        so.optimized_model_filepath = os.path.join(tmp, f"{name}_ortbasic.onnx")
        ort.InferenceSession(shipped, so, providers=["CPUExecutionProvider"])
        variants["ort_basic"] = so.optimized_model_filepath
        x = np.random.default_rng(0).uniform(lo, 1.0, shape).astype(np.float32)
        base_ops = ops(m)
        res = {}
        ref = None
        for vname, path in variants.items():
            vm = onnx.load(path)
            load_ms, tract_ms, outs = tract_time(path, x, a.runs)
            if ref is None:
                ref = outs
            diff = max(float(np.abs(o - r).max()) for o, r in zip(outs, ref))
            d = ops(vm)
            res[vname] = {
                "nodes": len(vm.graph.node),
                "initializers": len(vm.graph.initializer),
                "bytes": os.path.getsize(path),
                "op_changes": {k: d[k] - base_ops[k] for k in set(d) | set(base_ops)
                               if d[k] != base_ops[k]},
                "tract_load_optimise_ms": round(load_ms, 1),
                "tract_run_median_ms": round(tract_ms, 2),
                "onnxruntime_1thread_median_ms": round(ort_time(path, x, a.runs), 2),
                "max_abs_output_diff_vs_shipped": diff,
            }
        report[name] = res
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
