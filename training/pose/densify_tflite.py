#!/usr/bin/env python3
"""Rewrite a TFLite model's sparse (DENSIFY) constant weights as plain dense constants.

MediaPipe's pose_detection.tflite stores 38 weight tensors in TFLite's sparse format; each is
expanded at run time by a DENSIFY op. tf2onnx 1.16.1 cannot convert those ops. This script:

  1. runs the original model once in tf.lite.Interpreter (reference kernels, all tensors kept) and
     reads the output of every DENSIFY op: its input is a constant, so its output is the dense
     weight tensor, computed by TFLite's own reference decoder;
  2. with tensorflow.lite.tools.flatbuffer_utils, gives each DENSIFY output tensor a new
     buffer holding those dense bytes, deletes the DENSIFY ops, and drops the now unused
     sparse tensors (their buffers are emptied);
  3. checks that the rewritten model has no sparse tensor and no DENSIFY op left and gives
     bit-identical outputs to the original on a few inputs (TFLite reference kernels).

usage: densify_tflite.py IN.tflite OUT.tflite
"""
import sys

import numpy as np
import tensorflow as tf
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

DENSIFY = schema.BuiltinOperator.DENSIFY


def op_code(model, op):
    oc = model.operatorCodes[op.opcodeIndex]
    return max(oc.builtinCode, oc.deprecatedBuiltinCode)


def run(path, inputs):
    # Reference kernels: the optimised builtin CONV_2D picks a different summation order when
    # its filter becomes a constant (differences of ~2e-4 on outputs of magnitude ~200), the
    # reference kernels (and XNNPACK) give bit-identical results for the two models.
    interp = tf.lite.Interpreter(
        model_path=path,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True)
    interp.allocate_tensors()
    outs = []
    for x in inputs:
        interp.set_tensor(interp.get_input_details()[0]["index"], x)
        interp.invoke()
        outs.append([interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()])
    return interp, outs


def main(src, dst):
    model = flatbuffer_utils.read_model(src)
    assert len(model.subgraphs) == 1, "expected one subgraph"
    sg = model.subgraphs[0]
    in_shape = [int(d) for d in sg.tensors[sg.inputs[0]].shape]
    rng = np.random.default_rng(0)
    probes = [rng.uniform(-1, 1, in_shape).astype(np.float32) for _ in range(3)]
    interp, ref_outs = run(src, probes)

    densify_ops = [op for op in sg.operators if op_code(model, op) == DENSIFY]
    print(f"{src}: {len(densify_ops)} DENSIFY ops", file=sys.stderr)
    if not densify_ops:
        flatbuffer_utils.write_model(model, dst)
        return

    for op in densify_ops:
        out_idx = op.outputs[0]
        dense = interp.get_tensor(out_idx)
        t = sg.tensors[out_idx]
        assert list(dense.shape) == [int(d) for d in t.shape], (t.name, dense.shape, t.shape)
        buf = schema.BufferT()
        buf.data = np.frombuffer(dense.astype(dense.dtype.newbyteorder("<")).tobytes(), np.uint8)
        model.buffers.append(buf)
        t.buffer = len(model.buffers) - 1
    sg.operators = [op for op in sg.operators if op_code(model, op) != DENSIFY]

    # Drop tensors that no op, graph input or graph output refers to any more (the sparse
    # inputs of the deleted DENSIFY ops) and empty their buffers.
    used = set(sg.inputs) | set(sg.outputs)
    for op in sg.operators:
        used.update(i for i in op.inputs if i >= 0)
        used.update(op.outputs)
        if op.intermediates is not None:
            used.update(op.intermediates)
    remap, kept = {}, []
    for old, t in enumerate(sg.tensors):
        if old in used:
            remap[old] = len(kept)
            kept.append(t)
        elif t.buffer:
            model.buffers[t.buffer].data = None
    sg.tensors = kept
    fix = lambda idxs: None if idxs is None else [remap[i] if i >= 0 else i for i in idxs]
    sg.inputs, sg.outputs = fix(sg.inputs), fix(sg.outputs)
    for op in sg.operators:
        op.inputs, op.outputs = fix(op.inputs), fix(op.outputs)
        if op.intermediates is not None:
            op.intermediates = fix(op.intermediates)
    assert not any(t.sparsity is not None for t in sg.tensors), "sparse tensor left"
    flatbuffer_utils.write_model(model, dst)

    _, new_outs = run(dst, probes)
    for a, b in zip(ref_outs, new_outs):
        for x, y in zip(a, b):
            if not np.array_equal(x, y):
                sys.exit(f"densified model differs: max abs diff {np.abs(x - y).max()}")
    left = [op for op in flatbuffer_utils.read_model(dst).subgraphs[0].operators
            if op_code(model, op) == DENSIFY]
    assert not left
    print(f"{dst}: densified, outputs bit-identical to the original on {len(probes)} inputs",
          file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
