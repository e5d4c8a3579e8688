"""Does a classifier that sees the recent history of feature vectors (a small temporal
convolution network) classify the synthetic windows better than one that sees only the
newest vector?

Issue 21 allows "a small temporal convolution or recurrent network over the landmark
sequence" if it wins. This measures the question on identical rows, with one framework and
one training recipe, so that only the input differs:

* ``k1``: the newest feature vector alone (what model 1.3.0's MLPs see), through the same
  network with a history of one step;
* ``kK``: the vectors at t, t - step, ..., t - (K-1) step (the last frame at or before each
  time; before the first frame, the first), a per-step projection shared over time, then
  dilated causal convolutions over the history. The label stays at t - 1 s (the newest
  window's middle), so reports would not lag more than today.

Rows and labels are those of ``train.py`` (``join_lagged``). Scored per window: macro-F1 over
the nine classes, and with a 0.25 s collar around true label changes (windows nearer a change
than the collar are not scored), as ``boundary_ceiling.py`` does. The committed model's
score on the same rows (onnxruntime) is printed beside them.

Needs JAX (CPU) and optax, in a venv of their own (not part of ``make model``)::

    python3 -m venv training/.venv-temporal
    training/.venv-temporal/bin/pip install "jax[cpu]==0.4.35" optax==0.2.4 numpy==2.1.3 \\
        onnx==1.17.0 onnxruntime==1.20.1
    training/.venv-temporal/bin/python training/activity/experiments/exp_temporal.py \\
        --train DIR_TRAIN_FEATURES:DIR_TRAIN_JSONL --test test=DIR_FEATURES:DIR_JSONL \\
        --history 1 8 --step 0.25

``--train`` is ``features_dir:jsonl_dir`` and each ``--test`` ``name=features_dir:jsonl_dir``
(features from ``activityd features --format csv``, one ``<name>.features.csv`` per
``<name>.jsonl``). ``--export DIR`` writes each network as ``DIR/activity_k<K>.onnx`` (input
``features`` (1, K, 109), oldest first; (1, 109) for K = 1), checked against the network with
onnxruntime. To run one in the daemon (``eval_activity``, ``eval_real.py``), apply
``exp_temporal_history.patch`` (the card field ``"history": {"steps": K, "step_s": S}`` and
the classifier keeping the recent vectors), copy ``models/`` with that ONNX and card, and
point ``ACTIVITYD_MODELS`` at the copy. Results: ``../README.md``, "A history of feature
vectors".
"""
import argparse
import glob
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from train import CLASSES, LABEL_LAG_S as LAG, join_lagged, read_features_csv as read_features, read_labels  # noqa: E402,E501

COLLAR = 0.25


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def change_distance(t_lab, y_lab, t):
    """Seconds from each time in t to the nearest change of the frame labels."""
    ch = t_lab[1:][y_lab[1:] != y_lab[:-1]]
    if len(ch) == 0:
        return np.full(len(t), np.inf)
    i = np.searchsorted(ch, t)
    lo = np.abs(t - ch[np.clip(i - 1, 0, len(ch) - 1)])
    hi = np.abs(ch[np.clip(i, 0, len(ch) - 1)] - t)
    return np.minimum(lo, hi)


def load(spec, max_files=None):
    """All rows of a set: X (rows, 109), y, distance of the label time to a change, the
    sequence of each row, and each row's time (for the history lookups)."""
    fdir, jdir = spec.split(":")
    files = sorted(glob.glob(os.path.join(jdir, "*.jsonl")))[:max_files]
    X, y, dist, seq, t = [], [], [], [], []
    for k, fn in enumerate(files):
        name = os.path.basename(fn)[:-len(".jsonl")]
        t_f, Xf = read_features(os.path.join(fdir, name + ".features.csv"))
        t_l, y_l = read_labels(fn)
        if len(t_f) == 0:
            continue
        X.append(Xf)
        y.append(join_lagged(t_f, t_l, y_l))
        dist.append(change_distance(t_l, y_l, t_f - LAG))
        seq.append(np.full(len(t_f), k))
        t.append(t_f)
        if (k + 1) % 500 == 0:
            log(f"  {k + 1}/{len(files)} files")
    return dict(X=np.concatenate(X), y=np.concatenate(y), dist=np.concatenate(dist),
                seq=np.concatenate(seq), t=np.concatenate(t))


def history_index(d, k, step):
    """(rows, k) row indices: for each row, the rows at t - j*step, j = k-1 .. 0 (oldest
    first), the last row of the same sequence at or before that time, else its first."""
    n = len(d["y"])
    out = np.zeros((n, k), np.int32)
    starts = np.r_[0, np.flatnonzero(np.diff(d["seq"])) + 1]
    ends = np.r_[starts[1:], n]
    for a, b in zip(starts, ends):
        t = d["t"][a:b]
        for j in range(k):
            i = np.searchsorted(t, t - j * step + 1e-6, side="right") - 1
            out[a:b, k - 1 - j] = a + np.clip(i, 0, None)
    return out


def macro_f1(y, p, n=len(CLASSES)):
    f = []
    for c in range(n):
        tp = np.sum((p == c) & (y == c))
        fp = np.sum((p == c) & (y != c))
        fn = np.sum((p != c) & (y == c))
        if tp + fp + fn == 0:
            continue
        f.append(2 * tp / max(2 * tp + fp + fn, 1))
    return float(np.mean(f))


def scores(d, pred):
    ok = d["y"] >= 0
    c = ok & (d["dist"] >= COLLAR)
    return macro_f1(d["y"][ok], pred[ok]), macro_f1(d["y"][c], pred[c])


# ------------------------------------------------------------------------------ the network
def make_net(k, width, seed):
    import jax
    import jax.numpy as jnp

    dil = [d for d in (1, 2, 4, 8) if d < k]
    keys = jax.random.split(jax.random.PRNGKey(seed), 3 + 2 * len(dil))

    def dense(key, i, o):
        return dict(w=jax.random.normal(key, (i, o)) * np.sqrt(2.0 / i), b=jnp.zeros(o))

    params = dict(inp=dense(keys[0], 109, width), out1=dense(keys[1], width, 50),
                  out2=dense(keys[2], 50, len(CLASSES)),
                  conv=[dict(w=jax.random.normal(keys[3 + i], (3, width, width)) * np.sqrt(2.0 / (3 * width)),
                             b=jnp.zeros(width)) for i in range(len(dil))])

    def apply(p, x, mean, std, train_key=None):
        # x: (batch, k, 109), oldest first
        h = jax.nn.relu(((x - mean) / std) @ p["inp"]["w"] + p["inp"]["b"])
        for c, d in zip(p["conv"], dil):
            # causal dilated convolution, kernel 3: taps at t, t-d, t-2d (zero before the start)
            pad = jnp.pad(h, ((0, 0), (2 * d, 0), (0, 0)))
            kk = h.shape[1]
            y = (pad[:, 2 * d:2 * d + kk] @ c["w"][2] + pad[:, d:d + kk] @ c["w"][1]
                 + pad[:, 0:kk] @ c["w"][0] + c["b"])
            h = h + jax.nn.relu(y)
        z = h[:, -1]
        if train_key is not None:
            z = z * jax.random.bernoulli(train_key, 0.9, z.shape) / 0.9
        z = jax.nn.relu(z @ p["out1"]["w"] + p["out1"]["b"])
        return z @ p["out2"]["w"] + p["out2"]["b"]

    return params, apply


def train_eval(k, step, tr, sets, width, epochs, seed, batch=512, max_rows=600000):
    import jax
    import jax.numpy as jnp
    import optax

    rng = np.random.default_rng(seed)
    hist = {name: history_index(d, k, step) for name, d in [("train", tr)] + list(sets.items())}
    rows = np.flatnonzero(tr["y"] >= 0)
    if len(rows) > max_rows:
        rows = rng.choice(rows, max_rows, replace=False)
    # The last 5 % of training sequences for early stopping.
    seqs = np.unique(tr["seq"][rows])
    hold = set(seqs[-max(1, len(seqs) // 20):].tolist())
    is_hold = np.array([s in hold for s in tr["seq"][rows]])
    fit, es = rows[~is_hold], rows[is_hold]
    mean = jnp.asarray(tr["X"][fit].mean(0))
    std = jnp.asarray(tr["X"][fit].std(0) + 1e-6)
    params, apply = make_net(k, width, seed)
    sched = optax.cosine_decay_schedule(2e-3, epochs * (len(fit) // batch))
    opt = optax.adamw(sched, weight_decay=1e-4)
    state = opt.init(params)
    Xtr = jnp.asarray(tr["X"])

    def loss_fn(p, idx, y, key):
        logits = apply(p, Xtr[idx], mean, std, key)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @jax.jit
    def update(p, s, idx, y, key):
        l, g = jax.value_and_grad(loss_fn)(p, idx, y, key)
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s, l

    def predict(p, X, idx):
        Xj = jnp.asarray(X)
        f = jax.jit(lambda p, i: jax.nn.softmax(apply(p, Xj[i], mean, std)))
        return np.concatenate([np.asarray(f(p, idx[a:a + 8192])) for a in range(0, len(idx), 8192)])

    best, best_p, key = -1.0, params, jax.random.PRNGKey(seed + 100)
    for ep in range(epochs):
        t0 = time.time()
        order = rng.permutation(fit)
        tot = 0.0
        for a in range(0, len(order) - batch + 1, batch):
            b = order[a:a + batch]
            key, sub = jax.random.split(key)
            params, state, l = update(params, state, jnp.asarray(hist["train"][b]), jnp.asarray(tr["y"][b]), sub)
            tot += float(l)
        pe = predict(params, tr["X"], hist["train"][es]).argmax(1)
        f = macro_f1(tr["y"][es], pe)
        log(f"  k={k} epoch {ep + 1}: loss {tot / (len(order) // batch):.4f}, held-out train seqs macro-F1 {f:.4f} "
            f"({time.time() - t0:.0f} s)")
        if f > best:
            best, best_p = f, params
    out = {}
    for name, d in sets.items():
        prob = predict(best_p, d["X"], hist[name])
        out[name] = scores(d, prob.argmax(1)) + (prob,)
    net = dict(params=jax.tree_util.tree_map(np.asarray, best_p), mean=np.asarray(mean), std=np.asarray(std),
               k=k, step=step, dil=[d for d in (1, 2, 4, 8) if d < k], apply=apply)
    return out, net


def to_onnx(net, path):
    """The network as an ONNX graph: input `features` (1, K, 109), oldest first; output
    `probabilities` (1, 9)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    p, k = net["params"], net["k"]
    inits, nodes = [], []

    def const(name, a):
        inits.append(numpy_helper.from_array(np.asarray(a, np.float32 if np.asarray(a).dtype.kind == "f" else np.int64), name))
        return name

    def node(op, ins, out, **kw):
        nodes.append(helper.make_node(op, ins, [out], **kw))
        return out

    # The daemon gives a model without a history (1, 109): reshaped to one step.
    src = "features" if k > 1 else node("Reshape", ["features", const("one_step", [1, 1, 109])], "features3")
    x = node("Sub", [src, const("mean", net["mean"])], "centred")
    x = node("Div", [x, const("std", net["std"])], "scaled")
    x = node("MatMul", [x, const("inp_w", p["inp"]["w"])], "inp_mm")
    h = node("Relu", [node("Add", [x, const("inp_b", p["inp"]["b"])], "inp_add")], "h0")
    for i, (c, d) in enumerate(zip(p["conv"], net["dil"])):
        pad = node("Pad", [h, const(f"pads{i}", [0, 2 * d, 0, 0, 0, 0])], f"pad{i}")
        acc = None
        for j, off in enumerate((0, d, 2 * d)):  # tap j multiplies the step `2d - off` back
            sl = node("Slice", [pad, const(f"s{i}_{j}_a", [off]), const(f"s{i}_{j}_b", [off + k]),
                                const(f"s{i}_{j}_ax", [1])], f"sl{i}_{j}")
            mm = node("MatMul", [sl, const(f"w{i}_{j}", c["w"][j])], f"mm{i}_{j}")
            acc = mm if acc is None else node("Add", [acc, mm], f"acc{i}_{j}")
        y = node("Relu", [node("Add", [acc, const(f"b{i}", c["b"])], f"cb{i}")], f"cr{i}")
        h = node("Add", [h, y], f"h{i + 1}")
    last = node("Slice", [h, const("last_a", [k - 1]), const("last_b", [k]), const("last_ax", [1])], "last")
    z = node("Reshape", [last, const("flat", [1, -1])], "z")
    z = node("Relu", [node("Add", [node("MatMul", [z, const("o1_w", p["out1"]["w"])], "o1_mm"),
                                   const("o1_b", p["out1"]["b"])], "o1_add")], "o1")
    z = node("Add", [node("MatMul", [z, const("o2_w", p["out2"]["w"])], "o2_mm"), const("o2_b", p["out2"]["b"])],
             "logits")
    node("Softmax", [z], "probabilities", axis=1)
    g = helper.make_graph(nodes, "activity_history",
                          [helper.make_tensor_value_info("features", TensorProto.FLOAT,
                                                         [1, k, 109] if k > 1 else [1, 109])],
                          [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, len(CLASSES)])],
                          inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="exp_temporal.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def check_export(path, net, sets):
    """onnxruntime on the exported graph against the network, on a few rows of each set."""
    import jax
    import jax.numpy as jnp
    import onnxruntime as ort
    s = ort.InferenceSession(path)
    for name, d in sets.items():
        idx = history_index(d, net["k"], net["step"])[:: max(1, len(d["y"]) // 200)]
        want = np.asarray(jax.nn.softmax(net["apply"](net["params"], jnp.asarray(d["X"][idx]), net["mean"], net["std"])))
        rows = [d["X"][i][None] if net["k"] > 1 else d["X"][i][-1:] for i in idx]
        got = np.concatenate([s.run(None, {"features": r})[0] for r in rows])
        log(f"  export check on {name}: max |difference| {np.abs(got - want).max():.2e} over {len(idx)} rows")


def committed(d, onnx_path):
    import onnxruntime as ort
    s = ort.InferenceSession(onnx_path)
    p = s.run(["probabilities"], {s.get_inputs()[0].name: d["X"].astype(np.float32)})[0]
    return scores(d, p.argmax(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", nargs="+", required=True, help="name=features_dir:jsonl_dir")
    ap.add_argument("--history", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--step", type=float, default=0.25)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-files", type=int, default=None)
    ap.add_argument("--max-rows", type=int, default=600000)
    ap.add_argument("--onnx", default=None, help="also score this model on the test sets (onnxruntime)")
    ap.add_argument("--export", default=None, help="write each network as DIR/activity_k<K>.onnx")
    ap.add_argument("--save", default=None, help="write each set's probabilities here (.npz)")
    a = ap.parse_args()
    log("loading train")
    tr = load(a.train, a.max_files)
    sets = {}
    for spec in a.test:
        name, rest = spec.split("=", 1)
        log(f"loading {name}")
        sets[name] = load(rest)
    log(f"train rows {len(tr['y'])}, " + ", ".join(f"{n} rows {len(d['y'])}" for n, d in sets.items()))
    if a.onnx:
        for name, d in sets.items():
            f, fc = committed(d, a.onnx)
            print(f"committed {os.path.basename(a.onnx)} on {name}: macro-F1 {f:.4f}, collar {fc:.4f}", flush=True)
    saved = {}
    for k in a.history:
        r, net = train_eval(k, a.step, tr, sets, a.width, a.epochs, a.seed, max_rows=a.max_rows)
        if a.export:
            path = os.path.join(a.export, f"activity_k{k}.onnx")
            to_onnx(net, path)
            check_export(path, net, sets)
        for name, (f, fc, prob) in r.items():
            print(f"history {k} x {a.step} s, width {a.width}, seed {a.seed} on {name}: macro-F1 {f:.4f}, "
                  f"collar {fc:.4f}", flush=True)
            saved[f"{name}_k{k}"] = prob
    if a.save:
        np.savez_compressed(a.save, **saved)


if __name__ == "__main__":
    main()
