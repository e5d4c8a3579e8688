#!/usr/bin/env python3
"""Keep only some outputs of an ONNX graph and delete everything they do not depend on.

usage: onnx_prune.py IN.onnx OUT.onnx [--keep NAME,NAME,...] [--meta KEY=VALUE ...]

Without --keep all outputs are kept (the graph is only cleaned). The script also drops
initializers, value_info entries and opset imports that nothing uses any more (tf2onnx
declares `ai.onnx.ml` without using it), renames the initializers deterministically (tf2onnx's
generated constant names change from run to run), stores --meta pairs as metadata_props, and
runs onnx.checker (full check, with shape inference) on the result.
"""
import argparse
import sys

import onnx
from onnx import helper


def prune(model: onnx.ModelProto, keep: list[str]) -> dict:
    g = model.graph
    names = [o.name for o in g.output]
    missing = [k for k in keep if k not in names]
    if missing:
        sys.exit(f"unknown outputs {missing}; graph has {names}")
    n_nodes, n_init = len(g.node), len(g.initializer)
    kept_outputs = [o for o in g.output if o.name in keep]
    # keep the order given on the command line
    kept_outputs.sort(key=lambda o: keep.index(o.name))
    del g.output[:]
    g.output.extend(kept_outputs)

    producer = {}
    for i, node in enumerate(g.node):
        for out in node.output:
            producer[out] = i
    needed, stack, live = set(), [o.name for o in g.output], set()
    while stack:
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        if name in producer:
            i = producer[name]
            if i not in live:
                live.add(i)
                stack.extend(x for x in g.node[i].input if x)
    nodes = [n for i, n in enumerate(g.node) if i in live]
    del g.node[:]
    g.node.extend(nodes)
    inits = [t for t in g.initializer if t.name in needed]
    del g.initializer[:]
    g.initializer.extend(inits)
    vis = [v for v in g.value_info if v.name in needed]
    del g.value_info[:]
    g.value_info.extend(vis)
    if any(n.op_type in ("If", "Loop", "Scan") for n in g.node):
        sys.exit("sub-graphs are not handled by this pruner")
    used_domains = {n.domain or "" for n in g.node}
    opsets = [o for o in model.opset_import if (o.domain or "") in used_domains or o.domain == ""]
    del model.opset_import[:]
    model.opset_import.extend(opsets)
    return {"nodes_before": n_nodes, "nodes_after": len(g.node),
            "initializers_before": n_init, "initializers_after": len(g.initializer)}


def canonical_initializer_names(model: onnx.ModelProto) -> None:
    """tf2onnx numbers the constants it creates (const_fold_opt__761, Relu6__27_min__186)
    from counters whose order changes from run to run, so two conversions of the same model
    differ only in those names. Rename every initializer to init_NNN in order of first use
    (nodes in graph order, inputs in order) and sort the initializer list, which makes the
    output byte-for-byte reproducible."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    order = []
    for node in g.node:
        for x in node.input:
            if x in inits and x not in order:
                order.append(x)
    order += sorted(n for n in inits if n not in order)
    new = {old: f"init_{k:03d}" for k, old in enumerate(order)}
    clash = set(new.values()) & ({o for n in g.node for o in n.output} | {i.name for i in g.input})
    if clash:
        sys.exit(f"name clash: {sorted(clash)[:3]}")
    for node in g.node:
        for i, x in enumerate(node.input):
            if x in new:
                node.input[i] = new[x]
    for v in g.value_info:
        if v.name in new:
            v.name = new[v.name]
    for t in g.initializer:
        t.name = new[t.name]
    ordered = sorted(g.initializer, key=lambda t: t.name)
    del g.initializer[:]
    g.initializer.extend(ordered)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--keep", default="")
    ap.add_argument("--meta", action="append", default=[])
    a = ap.parse_args()
    model = onnx.load(a.src)
    keep = [k for k in a.keep.split(",") if k] or [o.name for o in model.graph.output]
    stats = prune(model, keep)
    canonical_initializer_names(model)
    for kv in a.meta:
        k, _, v = kv.partition("=")
        helper.set_model_props(model, {**{p.key: p.value for p in model.metadata_props}, k: v})
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, a.dst)
    print(f"{a.dst}: outputs {keep}; {stats}", file=sys.stderr)


if __name__ == "__main__":
    main()
