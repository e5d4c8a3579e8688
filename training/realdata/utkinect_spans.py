#!/usr/bin/env python3
"""How much of UTKinect's labelled `sitDown` and `standUp` ranges is the sitting down or
standing up itself? (measurement for `make eval-real`'s UTKinect recall; reads
../shared/realdata/utkinect, writes nothing)

For each labelled range, the hip centre's height (Kinect v1 joint 0, in the floor-aligned
world of kinect.py) over the range and 1 s either side: the time it takes to go from 10% to
90% of its way down (sitDown) or up (standUp). Prints each range and, per action, the share
of the labelled frames inside that movement, and inside it ± 0.25 s. A classifier that calls
`sit_down` while the hip goes down, and nothing else, has about that frame recall.

  training/.venv-realdata/bin/python training/realdata/utkinect_spans.py [--src DIR]
"""
from __future__ import annotations

import argparse
import glob
import os

import numpy as np

import common as C
import kinect
import utkinect as U

ACTIONS = ("sitDown", "standUp")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default=os.path.join(C.REALDATA, "utkinect"))
    ap.add_argument("--labels", default="actionLabel_modified.txt")
    a = ap.parse_args()
    ranges = U.read_ranges(os.path.join(a.src, a.labels))
    totals = {k: [0, 0, 0] for k in ACTIONS}
    spans = {k: [] for k in ACTIONS}
    for path in sorted(glob.glob(os.path.join(a.src, "joints_s*_e*.txt"))):
        name = os.path.basename(path)[len("joints_"):-len(".txt")]
        ids, K = U.read_joints(path)
        ts = ids / 30.0
        W, _, _ = kinect.world(K, 1)
        up = int(np.argmax(np.abs(W[:, 3, :] - W[:, 0, :]).mean(0)))  # the axis head - hip runs along
        hip = W[:, 0, up]
        for action, first, last in ranges[name]:
            if action not in ACTIONS:
                continue
            inside = (ids >= first) & (ids <= last)
            around = (ids >= first - 30) & (ids <= last + 30)
            h, t = hip[around], ts[around]
            lo, hi = h.min(), h.max()
            f = (hi - h) / (hi - lo) if action == "sitDown" else (h - lo) / (hi - lo)
            t10, t90 = t[np.argmax(f > 0.1)], t[np.argmax(f > 0.9)]
            lab = ts[inside]
            moving = ((lab >= t10) & (lab <= t90)).sum()
            near = ((lab >= t10 - 0.25) & (lab <= t90 + 0.25)).sum()
            tot = totals[action]
            tot[0] += len(lab)
            tot[1] += moving
            tot[2] += near
            spans[action].append((lab[-1] - lab[0], t90 - t10))
            print(f"{name} {action:8s} labelled {lab[0]:6.2f}-{lab[-1]:6.2f} s ({lab[-1] - lab[0]:.2f} s); "
                  f"hip 10-90% of the way {t10:6.2f}-{t90:6.2f} s ({t90 - t10:.2f} s, {hi - lo:.2f} m)")
    for action in ACTIONS:
        n, m, near = totals[action]
        lab, mov = np.array(spans[action]).T
        print(f"{action}: {len(lab)} ranges, labelled median {np.median(lab):.2f} s, hip moving median "
              f"{np.median(mov):.2f} s; labelled frames while the hip moves {m} of {n} ({m / n:.2f}), "
              f"± 0.25 s {near} ({near / n:.2f})")


if __name__ == "__main__":
    main()
