#!/usr/bin/env python3
"""UTKinect-Action3D (Kinect v1 skeletons, 10 subjects x 2 runs of walk, sitDown, standUp,
pickUp, carry, throw, push, pull, waveHands, clapHands) -> landmark JSON Lines for
`activityd classify --landmarks`, with labels. For measuring only: the data stay in
../shared/realdata and the output in target/realdata (see README.md).

  utkinect.py --src ../shared/realdata/utkinect --out target/realdata/utkinect

Input: joints_sNN_eMM.txt (a line per frame: the frame id, then 20 joints x (x, y, z) in
metres, Kinect v1 skeleton space: x to the sensor's left, y up, z away from it) and the
action ranges (first and last frame id of each action). Frame ids are not consecutive (the
recording dropped frames; some ids appear twice: the first is kept): the time of a frame is
its id / 30 s. Writes sNN_eMM.jsonl and sNN_eMM.labels.json.

Labels: `actionLabel_modified.txt` by default (`--labels actionLabel.txt` for the original):
the corrected file of the data set; it differs in 7 ranges, one of them a walk (s01_e02:
154-192 originally, 154-270 corrected; the skeleton walks on to id ~300), the others `other`
actions (one originally 2556-3622, an obvious typo for 3556-3622).
  walk -> walking, resolved against the camera as the generator resolves its walks
          (common.resolve_walks: toward / away / across the line to the camera, 45°)
  sitDown -> sit_down; standUp -> stand_up
  the frames between the end of a sitDown and the start of the next standUp -> sitting
  pickUp, carry, throw, push, pull, waveHands, clapHands -> other
  any other frame: no label (not scored)
Where ranges overlap (one frame id at most), the later line wins.

Skeleton -> landmarks: kinect.py; camera at the Kinect's origin with its colour camera's
field of view, 62° x 48.6°, and a 640 x 480 image (common.py); noise G.estimate() with the
mocap fixtures' mild parameters, seeded with (20240601, subject, run).
"""
from __future__ import annotations

import argparse
import glob
import os
import re

import numpy as np

import common as C
import kinect

SEED = 20240601
ACTIONS = {"walk": "walk", "sitDown": "sit_down", "standUp": "stand_up"}  # others -> other


def read_ranges(path):
    """{sequence name: [(action, first id, last id), ...]} in file order."""
    out, cur = {}, None
    for line in open(path):
        line = line.strip()
        if not line:
            continue
        if re.fullmatch(r"s\d\d_e\d\d", line):
            cur = line
            out[cur] = []
            continue
        m = re.fullmatch(r"(\w+):\s*(\d+)\s+(\d+)", line)
        if m and cur:
            out[cur].append((m.group(1), int(m.group(2)), int(m.group(3))))
    return out


def read_joints(path):
    a = np.loadtxt(path)
    ids = a[:, 0].astype(int)
    keep = np.r_[True, np.diff(ids) > 0]
    return ids[keep], a[keep, 1:].reshape(keep.sum(), 20, 3)


def frame_labels(ids, ranges):
    lab = [None] * len(ids)
    for action, a, b in ranges:
        name = ACTIONS.get(action, "other")
        for i in np.nonzero((ids >= a) & (ids <= b))[0]:
            lab[i] = name
    sits = [(b, a2) for (x, _, b) in ranges if x == "sitDown"
            for (y, a2, _) in ranges if y == "standUp" and a2 > b]
    for b, a2 in sits:
        a2 = min(a for (y, a, _) in ranges if y == "standUp" and a > b)
        for i in np.nonzero((ids > b) & (ids < a2))[0]:
            if lab[i] is None:
                lab[i] = "sitting"
    return lab


def convert(src, out_dir, label_file):
    ranges = read_ranges(os.path.join(src, label_file))
    os.makedirs(out_dir, exist_ok=True)
    docs = []
    for path in sorted(glob.glob(os.path.join(src, "joints_s*_e*.txt"))):
        name = os.path.basename(path)[len("joints_"):-len(".txt")]
        ids, K = read_joints(path)
        ts = ids / 30.0
        W, R, h = kinect.world(K, 1)
        X, swapped = kinect.landmarks(W, ts, 1)
        cam = C.kinect_camera(R, h, C.KINECT_V1_COLOUR)
        lab = frame_labels(ids, ranges[name])
        pel = (X[:, 23] + X[:, 24]) / 2
        walk = C.resolve_walks(ts, pel[:, :2], [v == "walk" for v in lab], cam.pos[:2])
        lab = [w if v == "walk" else v for v, w in zip(lab, walk)]
        subj, run = int(name[1:3]), int(name[5:7])
        doc = C.render(out_dir, name, X, ts, cam, lab, [SEED, subj, run],
                       info=dict(source=dict(set="utkinect", file=os.path.basename(path), labels=label_file,
                                             ranges=ranges[name], frame_ids=[int(i) for i in ids]),
                                 camera_height_m=round(float(h), 3), facing_exchanged_frames=int(swapped.sum())))
        docs.append(doc)
        print(f"{name}: {len(ids)} frames over {ts[-1] - ts[0]:.1f} s ({len(ids) / (ts[-1] - ts[0]):.1f} fps), "
              f"camera {h:.2f} m high, tilt {np.degrees(cam.pitch):+.1f}°, {int(swapped.sum())} facing-fixed; "
              + ", ".join(f"{k} {v}" for k, v in doc["label_counts"].items()))
    return docs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default=os.path.join(C.REALDATA, "utkinect"))
    ap.add_argument("--out", default=os.path.join(C.OUT, "utkinect"))
    ap.add_argument("--labels", default="actionLabel_modified.txt")
    a = ap.parse_args()
    C.check_switch_side_on()  # the facing fix on a body of known turn
    convert(a.src, a.out, a.labels)


if __name__ == "__main__":
    main()
