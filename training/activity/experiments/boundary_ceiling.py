#!/usr/bin/env python3
"""What does timing alone cost? The per-window macro-F1 of a classifier that is never wrong
about *what* is happening, only about *when* each movement starts: the true labels of a
labelled split, with every label change moved by a random or fixed offset.

usage (from training/activity): experiments/boundary_ceiling.py [DATA_DIR] [--model ONNX --features DIR]
  DATA_DIR    the generator's .jsonl files (default data/test)
  --model     also measure how far the model's own changes are from the true ones, on the
  --features  cached `activityd features` CSVs of DATA_DIR (train.py's cache, e.g.
              data/features-<hash>/test); needs onnxruntime (training/requirements.txt)

Every frame is scored, as the card's per-window numbers are (a window is labelled with the
activity at its middle). The result is the ceiling for a model whose start and end times err
by that much, whatever it gets right in between.

Measured on the generator-1.1.0 test split (300 files): normal errors of standard deviation
0.1 s already bring macro-F1 down to 0.971, 0.2 s to 0.944 and 0.3 s to 0.919. Model 1.1.0
changes label a median 0.15 s from the true change, standard deviation 0.29 s, and scores
0.904: timing at that spread accounts for 0.081 of its 0.096 shortfall from 1. The issue's
0.97 asks for changes placed to within about 0.1 s (standard deviation), one resampled
feature step, for movements that begin and end gradually. Scored with a collar around the
true changes (windows nearer than it are left out, as diarisation and sound-event scoring
do), the model reaches 0.931 (0.1 s), 0.953 (0.25 s) and 0.964 (0.5 s): what remains is
mostly `still` read as `stand_up`, `sit_down` or `other` (seated leaning and gestures).
Model 1.3.0 (three MLPs averaged): 0.915 per window; collars 0.941 (0.1 s), 0.961 (0.25 s),
0.971 (0.5 s); change-time error median +0.03 s, sd 0.25 s.
"""
import argparse
import glob
import os
import sys

import numpy as np
from sklearn.metrics import f1_score

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # train.py
import train  # noqa: E402


def load(data_dir):
    """(frame times, class indices) of every labelled file in data_dir."""
    return [train.read_labels(f) for f in sorted(glob.glob(os.path.join(data_dir, "*.jsonl")))]


def shifted(ts, labels, offsets):
    """The labels with each change (midway between the frames either side) moved by an offset."""
    first = np.nonzero(np.diff(labels))[0] + 1  # first frame of each new segment
    t_change = ts[first] - 0.5 * (ts[first] - ts[first - 1]) + offsets(len(first))
    t_change = np.maximum.accumulate(t_change)  # changes keep their order
    seg_labels = np.concatenate([[labels[0]], labels[first]])
    return seg_labels[np.searchsorted(t_change, ts, side="right")]


def model_timing(data_dir, model, features_dir):
    """The model's per-window predictions against the truth: macro-F1, and for each change
    with a second of one label before and a second of the next after, when the model starts
    saying the new label (for at least 0.3 s) relative to the true change."""
    import onnxruntime as ort

    sess = ort.InferenceSession(model)
    errors, missed, ys, ps, dist = [], 0, [], [], []
    for fn in sorted(glob.glob(os.path.join(data_dir, "*.jsonl"))):
        name = os.path.basename(fn)[:-len(".jsonl")]
        t_f, X = train.read_features_csv(os.path.join(features_dir, name + ".features.csv"))
        if len(t_f) == 0:
            continue
        t_l, y_l = train.read_labels(fn)
        y = train.join_lagged(t_f, t_l, y_l)
        keep = y >= 0
        t, y = t_f[keep] - train.LABEL_LAG_S, y[keep]
        p = sess.run(None, {"features": X[keep]})[0]
        ys.append(y)
        ps.append(p)
        changes = 0.5 * (t[1:] + t[:-1])[np.diff(y) != 0]
        dist.append(np.min(np.abs(t[:, None] - changes[None, :]), axis=1) if len(changes) else np.full(len(t), np.inf))
        for i in np.nonzero(np.diff(y))[0] + 1:
            tc = 0.5 * (t[i] + t[i - 1])
            near = (t >= tc - 1.0) & (t <= tc + 1.0)
            if not ((y[near & (t < tc)] == y[i - 1]).all() and (y[near & (t > tc)] == y[i]).all()):
                continue
            onset = next((t[j] for j in np.nonzero(near & (p == y[i]))[0]
                          if (p[(t >= t[j]) & (t < t[j] + 0.3)] == y[i]).all()), None)
            if onset is None:
                missed += 1
            else:
                errors.append(onset - tc)
    e = np.array(errors)
    y, p, dist = np.concatenate(ys), np.concatenate(ps), np.concatenate(dist)
    print(f"\nmodel {model}: per-window macro-F1 {f1_score(y, p, average='macro'):.4f} over {len(y)} windows")
    # Scored with a collar, as speaker diarisation (NIST, 0.25 s) and sound event detection
    # are: windows closer than the collar to a true change are not scored.
    for collar in (0.1, 0.25, 0.5):
        keep = dist >= collar
        print(f"  with a {collar:.2f} s collar around true changes: macro-F1 "
              f"{f1_score(y[keep], p[keep], average='macro'):.4f} ({keep.mean():.0%} of windows scored)")
    print(f"clean changes {len(e) + missed}: the model follows {len(e)} within 1 s, misses {missed}")
    print(f"its change time minus the true one: median {np.median(e):+.3f} s, sd {e.std():.3f} s, "
          f"median |error| {np.median(np.abs(e)):.3f} s, p90 |error| {np.percentile(np.abs(e), 90):.3f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data_dir", nargs="?", default="data/test")
    ap.add_argument("--model")
    ap.add_argument("--features")
    args = ap.parse_args()
    data_dir = args.data_dir
    seqs = load(data_dir)
    rng = np.random.default_rng(0)
    y = np.concatenate([labels for _, labels in seqs])
    print(f"{data_dir}: {len(seqs)} files, {len(y)} frames")
    cases = [(f"errors normal, sd {s:.2f} s", lambda n, s=s: rng.normal(0, s, n)) for s in (0.05, 0.1, 0.15, 0.2, 0.3)]
    cases += [(f"errors uniform, within ±{d:.2f} s", lambda n, d=d: rng.uniform(-d, d, n)) for d in (0.1, 0.2, 0.3)]
    cases += [(f"every change {d:.2f} s late", lambda n, d=d: np.full(n, d)) for d in (0.05, 0.1, 0.2)]
    for name, offsets in cases:
        p = np.concatenate([shifted(ts, labels, offsets) for ts, labels in seqs])
        per_class = f1_score(y, p, average=None, labels=range(len(train.CLASSES)))
        print(f"{name:32s} macro-F1 {per_class.mean():.4f}   lowest class {per_class.min():.3f}")
    if args.model:
        model_timing(data_dir, args.model, args.features)


if __name__ == "__main__":
    main()
