"""sklearn HistGradientBoostingClassifier -> ONNX that tract runs fast.

skl2onnx's TreeEnsembleClassifier is the obvious export, but tract 0.23 evaluates it in time
proportional to the number of leaves *before* each tree's own (an ndarray iterator skipped
element by element): ~1.1 s per row for 300 iterations x 8 classes. This export walks all
trees at once instead, one level per step, with plain tensor ops (Gather, GatherElements,
LessOrEqual, Where): every tree's current node index advances together, leaves point to
themselves, and after as many steps as the deepest tree has levels every index is at a leaf.
The leaf values are summed per class over the iterations, the baseline added, and softmax
taken, exactly as `predict_proba` does.

Exactness: sklearn compares float64 features with float64 thresholds (`x <= t` goes left,
NaN goes where `missing_go_to_left` says). The features are float32, so each threshold is
stored as the largest float32 not above it: for any float32 x, x <= t64 iff x <= t32.
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _f32_floor(t):
    t32 = t.astype(np.float32)
    over = t32.astype(np.float64) > t
    t32[over] = np.nextafter(t32[over], np.float32(-np.inf))
    return t32


def convert(model, n_features, input_name="features", opset=13):
    preds = model._predictors  # [iteration][class] -> TreePredictor
    n_iter, n_cls = len(preds), len(preds[0])
    if n_cls < 3:
        raise ValueError("only multiclass models (softmax over 3 or more classes) are supported")
    feat, thr, left, right, miss_left, value, roots = [], [], [], [], [], [], []
    depth, off = 0, 0
    for i in range(n_iter):
        for k in range(n_cls):
            nodes = preds[i][k].nodes
            if nodes["is_categorical"].any():
                raise ValueError("categorical splits are not supported")
            n = len(nodes)
            idx = np.arange(n) + off
            leaf = nodes["is_leaf"].astype(bool)
            feat.append(np.where(leaf, 0, nodes["feature_idx"]).astype(np.int32))
            thr.append(np.where(leaf, 0.0, nodes["num_threshold"]))
            left.append(np.where(leaf, idx, nodes["left"].astype(np.int64) + off).astype(np.int32))
            right.append(np.where(leaf, idx, nodes["right"].astype(np.int64) + off).astype(np.int32))
            miss_left.append(nodes["missing_go_to_left"].astype(bool))
            value.append(np.where(leaf, nodes["value"], 0.0))
            roots.append(off)
            depth = max(depth, int(nodes["depth"].max()))
            off += n
    feat, left, right = (np.concatenate(a) for a in (feat, left, right))
    thr = _f32_floor(np.concatenate(thr))
    miss_left, value = np.concatenate(miss_left), np.concatenate(value).astype(np.float32)
    baseline = np.asarray(model._baseline_prediction, np.float64).reshape(-1).astype(np.float32)
    if len(baseline) != n_cls:
        raise ValueError(f"baseline has {len(baseline)} values for {n_cls} classes")

    inits = [numpy_helper.from_array(a, name) for a, name in (
        (feat, "node_feature"), (thr, "node_threshold"), (left, "node_left"), (right, "node_right"),
        (miss_left, "node_nan_left"), (value, "leaf_value"), (np.array(roots, np.int32), "roots"),
        (baseline, "baseline"), (np.array([0], np.int64), "zero"),
        (np.array([len(roots)], np.int64), "n_trees"), (np.array([-1, n_iter, n_cls], np.int64), "per_iteration"),
        (np.array([1], np.int64), "axis1"))]
    nodes = [
        helper.make_node("Shape", [input_name], ["x_shape"]),
        helper.make_node("Gather", ["x_shape", "zero"], ["batch"], axis=0),
        helper.make_node("Concat", ["batch", "n_trees"], ["idx_shape"], axis=0),
        helper.make_node("Expand", ["roots", "idx_shape"], ["idx0"]),
    ]
    cur = "idx0"
    for d in range(depth):
        s = f"s{d}_"
        nodes += [
            helper.make_node("Gather", ["node_feature", cur], [s + "f"], axis=0),
            helper.make_node("GatherElements", [input_name, s + "f"], [s + "x"], axis=1),
            helper.make_node("Gather", ["node_threshold", cur], [s + "t"], axis=0),
            helper.make_node("LessOrEqual", [s + "x", s + "t"], [s + "le"]),
            helper.make_node("IsNaN", [s + "x"], [s + "nan"]),
            helper.make_node("Gather", ["node_nan_left", cur], [s + "nl"], axis=0),
            helper.make_node("And", [s + "nan", s + "nl"], [s + "nan_left"]),
            helper.make_node("Or", [s + "le", s + "nan_left"], [s + "go_left"]),
            helper.make_node("Gather", ["node_left", cur], [s + "l"], axis=0),
            helper.make_node("Gather", ["node_right", cur], [s + "r"], axis=0),
            helper.make_node("Where", [s + "go_left", s + "l", s + "r"], [s + "idx"]),
        ]
        cur = s + "idx"
    nodes += [
        helper.make_node("Gather", ["leaf_value", cur], ["leaf"], axis=0),
        helper.make_node("Reshape", ["leaf", "per_iteration"], ["leaf3"]),
        helper.make_node("ReduceSum", ["leaf3", "axis1"], ["raw0"], keepdims=0),
        helper.make_node("Add", ["raw0", "baseline"], ["raw"]),
        helper.make_node("Softmax", ["raw"], ["probabilities"], axis=1),
        helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0),
    ]
    graph = helper.make_graph(
        nodes, "hgb", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [None, n_features])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, n_cls])], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="activityd hgb_onnx")
    onnx.checker.check_model(m)
    return m, dict(trees=len(roots), nodes=int(off), steps=depth)


if __name__ == "__main__":
    import pickle
    import sys
    import onnxruntime as ort
    model = pickle.load(open(sys.argv[1], "rb"))
    m, info = convert(model, model.n_features_in_)
    onnx.save(m, sys.argv[2])
    X = np.random.default_rng(0).standard_normal((2000, model.n_features_in_)).astype(np.float32)
    X[:5, :10] = np.nan
    lab, prob = ort.InferenceSession(sys.argv[2]).run(None, {"features": X})
    print(info, "max abs prob diff vs sklearn", np.abs(prob - model.predict_proba(X)).max(),
          "labels agree", (lab == model.predict(X)).mean())
