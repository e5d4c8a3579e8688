#!/usr/bin/env python3
"""Rewrite things that tract 0.23 runs slowly into equivalent, faster subgraphs.

usage: onnx_speedups.py [--depthwise] IN.onnx OUT.onnx

Rewrites 3 and 4 always run. Rewrites 1 and 2 only with --depthwise: they work around stock
tract 0.23.9's depthwise convolution, and the tract this project builds with
(vendor/tract-core, vendor/README.md) runs stride-2 and small padded depthwise convolutions
directly, faster than these rewrites do. Models built since revision 6 leave them out.

1. Stride-2 depthwise convolutions -> the same convolution at stride 1, then a Gather of every
   other row and column. tract's channel-first depthwise kernel runs stride-1 convolutions
   ~10x faster per multiply-add than stride-2 ones on this model, so computing 4x the outputs
   and dropping three quarters is still a win. (A Slice with step 2 would not do: tract folds
   it straight back into the convolution's stride.) Each output is computed by exactly the
   same arithmetic as before, so the results are bit-identical.
2. Zero padding of every depthwise convolution made explicit: Concat with zero tensors above,
   below, left and right, and the convolution itself unpadded. tract splits a padded
   convolution into border zones and an interior one, and on the small planes of the deep
   layers (5x5 kernels on 8x8 and 16x16) the border zones are most of the work and run at a
   third of the interior's speed. (A Pad node would not do: tract folds it back into the
   convolution.) Bit-identical too.
3. 2x bilinear Resize (half_pixel, as tf2onnx emits for TFLite's RESIZE_BILINEAR) -> per axis:
   edge padding, out[2i] = 0.25 in[i-1] + 0.75 in[i], out[2i+1] = 0.75 in[i] + 0.25 in[i+1],
   interleaved by Concat + Reshape. This is the definition of the half_pixel linear resize
   with clamped borders; tract's generic Resize spends ~10-17% of each model on it.
4. The NHWC input ([1, H, W, 3], TFLite's layout) -> NCHW ([1, 3, H, W]): tf2onnx feeds it
   through Pad and Transpose into the first convolution, and tract then runs the first layers
   channel-last, at a third of the speed of its channel-first depthwise kernel. The Pad is
   kept (its pads permuted) and the Transpose removed; the caller writes channel planes.
   Landmark model 14.62 -> 13.26 ms, detector 17.24 -> 16.22 ms (examples/ab_models.rs). Not
   bit-identical: the first convolution sums in another order (max diff 6e-4 px of 256).

Measured effect and the per-node profile behind it: training/pose/README.md.
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference


def attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def input_to_nchw(g):
    """Rewrite 4: the graph input becomes NCHW; its Pad -> Transpose(0, 3, 1, 2) prologue a Pad."""
    inp = g.input[0]
    pad = next((n for n in g.node if n.op_type == "Pad" and n.input[0] == inp.name), None)
    tr = pad and next((n for n in g.node if n.op_type == "Transpose" and n.input[0] == pad.output[0]), None)
    if tr is None or attrs(tr).get("perm") != [0, 3, 1, 2] or sum(n.input[0] == pad.output[0] for n in g.node) != 1:
        return 0
    inits = {i.name: i for i in g.initializer}
    p = numpy_helper.to_array(inits[pad.input[1]])  # begin n, h, w, c; end n, h, w, c
    g.initializer.remove(inits[pad.input[1]])
    g.initializer.append(numpy_helper.from_array(p[[0, 3, 1, 2, 4, 7, 5, 6]], pad.input[1]))
    dims = inp.type.tensor_type.shape.dim
    n, h, w, c = [d.dim_value for d in dims]
    for d, v in zip(dims, (n, c, h, w)):
        d.dim_value = v
    pad.output[0] = tr.output[0]
    g.node.remove(tr)
    return 1


def main(src: str, dst: str, depthwise_rewrites: bool) -> None:
    model = onnx.load(src)
    n_nchw = input_to_nchw(model.graph)
    inferred = shape_inference.infer_shapes(model)
    shapes = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
              for vi in list(inferred.graph.value_info) + list(inferred.graph.input)
              + list(inferred.graph.output)}
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}

    def const(name, value):
        g.initializer.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def zeros(name, shape):  # a node, not an initializer: keeps the file small
        nodes.append(helper.make_node("ConstantOfShape", [const(name + "_shape", np.array(shape, np.int64))],
                                      [name], value=numpy_helper.from_array(np.zeros(1, np.float32)),
                                      name=name + "_zeros"))
        return name

    def pad_explicitly(n, a):
        """Insert zero Concats before depthwise conv `n` and drop its padding."""
        top, left, bottom, right = a.get("pads", [0, 0, 0, 0])
        if not (top or left or bottom or right):
            return 0
        x = n.input[0]
        batch, ch, h, w_ = shapes[x]
        p = n.output[0] + "__pad"
        rows = ([zeros(p + "_top", [batch, ch, top, w_])] if top else []) + [x] \
            + ([zeros(p + "_bottom", [batch, ch, bottom, w_])] if bottom else [])
        nodes.append(helper.make_node("Concat", rows, [p + "_rows"], axis=2, name=p + "_concat_rows"))
        h2 = h + top + bottom
        cols = ([zeros(p + "_left", [batch, ch, h2, left])] if left else []) + [p + "_rows"] \
            + ([zeros(p + "_right", [batch, ch, h2, right])] if right else [])
        nodes.append(helper.make_node("Concat", cols, [p + "_cols"], axis=3, name=p + "_concat_cols"))
        n.input[0] = p + "_cols"
        for x_ in n.attribute:
            if x_.name == "pads":
                x_.ints[:] = [0, 0, 0, 0]
        return 1

    nodes, n_conv, n_pad, n_resize = [], 0, 0, 0
    for n in g.node:
        a = attrs(n)
        w = inits.get(n.input[1]) if n.op_type == "Conv" and len(n.input) > 1 else None
        depthwise = (depthwise_rewrites and w is not None and a.get("group", 1) > 1 and a.get("group") == w.shape[0]
                     and list(a.get("dilations", [1, 1])) == [1, 1]
                     and a.get("auto_pad", b"NOTSET") == b"NOTSET")
        if depthwise:
            n_pad += pad_explicitly(n, a)
        if depthwise and list(a.get("strides", [1, 1])) == [2, 2]:
            out = n.output[0]
            _, _, ho, wo = shapes[out]
            for x in n.attribute:
                if x.name == "strides":
                    x.ints[:] = [1, 1]
            n.output[0] = out + "__stride1"
            nodes.append(n)
            rows = const(out + "__rows", np.arange(0, 2 * ho, 2, dtype=np.int64))
            cols = const(out + "__cols", np.arange(0, 2 * wo, 2, dtype=np.int64))
            nodes.append(helper.make_node("Gather", [out + "__stride1", rows], [out + "__half"],
                                          axis=2, name=out + "__gather_rows"))
            nodes.append(helper.make_node("Gather", [out + "__half", cols], [out], axis=3,
                                          name=out + "__gather_cols"))
            n_conv += 1
            continue
        scales = inits.get(n.input[2]) if n.op_type == "Resize" and len(n.input) > 2 else None
        if (scales is not None and list(scales) == [1, 1, 2, 2] and a.get("mode") == b"linear"
                and a.get("coordinate_transformation_mode") == b"half_pixel"):
            batch, ch, h, w_ = shapes[n.input[0]]
            cur = n.input[0]
            for axis, length in ((2, h), (3, w_)):
                p = f"{n.output[0]}__up{axis}"
                pads = [0] * 8
                pads[axis] = pads[4 + axis] = 1
                nodes.append(helper.make_node("Pad", [cur, const(p + "_pads", np.array(pads, np.int64))],
                                              [p + "_padded"], mode="edge", name=p + "_pad"))
                parts = []
                for start, tag in ((0, "prev"), (1, "here"), (2, "next")):
                    nodes.append(helper.make_node(
                        "Slice", [p + "_padded", const(f"{p}_{tag}_start", np.array([start], np.int64)),
                                  const(f"{p}_{tag}_end", np.array([start + length], np.int64)),
                                  const(f"{p}_{tag}_axis", np.array([axis], np.int64))],
                        [f"{p}_{tag}"], name=f"{p}_{tag}_slice"))
                    parts.append(f"{p}_{tag}")
                prev, here, nxt = parts
                quarter = const(p + "_quarter", np.array(0.25, np.float32))
                three_q = const(p + "_three_quarters", np.array(0.75, np.float32))
                nodes.append(helper.make_node("Mul", [here, three_q], [p + "_here_b"], name=p + "_mul_here"))
                halves = []
                for tag, side in (("even", prev), ("odd", nxt)):
                    nodes.append(helper.make_node("Mul", [side, quarter], [f"{p}_{tag}_a"], name=f"{p}_{tag}_mul_a"))
                    nodes.append(helper.make_node("Add", [f"{p}_{tag}_a", p + "_here_b"], [f"{p}_{tag}"],
                                                  name=f"{p}_{tag}_add"))
                    nodes.append(helper.make_node("Unsqueeze", [f"{p}_{tag}", const(f"{p}_{tag}_axes", np.array([axis + 1], np.int64))],
                                                  [f"{p}_{tag}_u"], name=f"{p}_{tag}_unsqueeze"))
                    halves.append(f"{p}_{tag}_u")
                nodes.append(helper.make_node("Concat", halves, [p + "_pairs"], axis=axis + 1, name=p + "_concat"))
                shape = [batch, ch, 2 * h, w_ if axis == 2 else 2 * w_]
                out = n.output[0] if axis == 3 else p + "_out"
                nodes.append(helper.make_node("Reshape", [p + "_pairs", const(p + "_shape", np.array(shape, np.int64))],
                                              [out], name=p + "_reshape"))
                cur = out
            n_resize += 1
            continue
        if depthwise:
            nodes.append(n)
            continue
        nodes.append(n)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, dst)
    print(f"{dst}: {n_conv} stride-2 depthwise convs, {n_pad} depthwise paddings, {n_resize} 2x "
          f"bilinear resizes and {n_nchw} input layout rewritten", file=sys.stderr)


if __name__ == "__main__":
    args = sys.argv[1:]
    depthwise = "--depthwise" in args
    args = [a for a in args if a != "--depthwise"]
    if len(args) != 2:
        sys.exit(__doc__)
    main(args[0], args[1], depthwise)
