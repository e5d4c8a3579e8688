"""Do TST's real people finish the final turn before they sit, as the generator's do?

Stop 46 (the temporal network, ``exp_temporal.py``): the generator turns on the spot, then
sits (``synth/scenarios.py`` ``scenario_tug``). This measures the order in TST's 40 real tests
from the Kinect skeletons. The side-on moment of the final turn is where the shoulders are
narrowest across the Kinect's view (their x distance over the depth, 0.1 s smoothing), within
label 5. The hip starts down where ``tst_tug.split_final`` starts the sit-down.

Run with the real-data venv from training/realdata (the data stay in ../shared/realdata):

    cd training/realdata && ../.venv-realdata/bin/python ../activity/experiments/tst_turn_then_sit.py

Stop 46: side-on minus hip-down start, median -0.60 s (IQR -0.68..-0.40); after it in 1 of 40;
label 5's start to the hip going down, median 1.05 s (IQR 0.83..1.20).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.getcwd())
import common as C  # noqa: E402
import kinect  # noqa: E402
import tst_tug as T  # noqa: E402

NPZ = os.path.join("..", "..", "..", "shared", "realdata", "tst_tug", "tst_tug_dev.npz")


def main():
    d = np.load(sys.argv[1] if len(sys.argv) > 1 else NPZ)
    out = []
    for k in range(len(d["nframes"])):
        n = int(d["nframes"][k])
        K = d["skeleton_mm"][k, :n].astype(float) / 1000.0
        lab = d["labels"][k, :n].astype(int)
        ts = np.arange(n) / T.FPS
        W, _, _ = kinect.world(K, 2)
        hip_h = (W[:, 12, 2] + W[:, 16, 2] + W[:, 0, 2]) / 3
        _, (s, e), _ = T.split_final(ts, hip_h, lab)
        width = C.smooth(ts, np.abs(K[:, 8, 0] - K[:, 4, 0]) / np.maximum(K[:, 1, 2], 0.5), 0.1)
        a5 = int(np.nonzero(lab == 5)[0][0])
        i = a5 + int(np.argmin(width[a5:e]))
        out.append((ts[i] - ts[s], ts[s] - ts[a5]))
    o = np.array(out)
    print("side-on minus hip-down start, s: median %.2f (IQR %.2f..%.2f); after it in %d of %d"
          % (np.median(o[:, 0]), *np.percentile(o[:, 0], [25, 75]), int((o[:, 0] > 0).sum()), len(o)))
    print("label 5's start to the hip going down, s: median %.2f (IQR %.2f..%.2f)"
          % (np.median(o[:, 1]), *np.percentile(o[:, 1], [25, 75])))


if __name__ == "__main__":
    main()
