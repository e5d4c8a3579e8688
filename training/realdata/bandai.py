#!/usr/bin/env python3
"""Bandai-Namco-Research-Motiondataset (motion capture, BVH, 30 fps; CC BY-NC 4.0) -> landmark
JSON Lines for `activityd classify --landmarks`, with labels, seen from the four virtual wall
cameras of the mocap fixtures. For measuring only: the data stay in ../shared/realdata and
the output in target/realdata (see README.md).

  bandai.py --src ../shared/realdata/bandai --out target/realdata/bandai

Writes <bvh name>_<camera>.jsonl and .labels.json; the name keeps the content and the style
(`dataset-2_walk-turn-left_elderly_003_front`, `dataset-1_walk_old_001_side`, ...).

BVH: parsed by mocap_to_landmarks.BVH; every joint has position channels, which replace its
offset (so forward kinematics here uses them, unlike mocap_to_landmarks' FK). Centimetres,
Y up -> metres, Z up (mocap_to_landmarks.Y2Z); the floor at the 2nd percentile of the lowest
foot point, the start near the origin (as mocap_to_landmarks.load_clip).

Joints -> landmarks: shoulders UpperArm_*, elbows LowerArm_*, wrists Hand_*; hips UpperLeg_*,
knees LowerLeg_*, ankles Foot_*, foot_index 4 cm beyond Toes_* along Foot -> Toes, heel 5 cm
behind the ankle along the foot and 6 cm down; pinky / index / thumb: the generator's hand
points (mocap_to_landmarks.hand_points) along the forearm, thumb toward the body's front;
face: the generator's face offsets about a point 3 cm above Head along Neck -> Head, facing
the body's front (common.add_face; the shoulder and hip lines give the front).

Cameras: mocap_to_landmarks.cameras_for (front: in front of the walk at eye height, 70°;
back_high: behind the start, 2.3 m up, 90°; side: 60°; oblique: 30° off, portrait 55°); noise
G.estimate() with the mild parameters of the mocap fixtures, seeded (20240601, clip, camera).

Labels, from the pelvis (hip midpoint, smoothed 0.15 s) and its heading (the normal of the hip
and shoulder lines, unwrapped and smoothed 0.3 s), for walk and walk-turn clips:
  turn     the heading turns faster than 30°/s for a run of frames that turns by more than
           45° in all, extended on both sides while it turns faster than 10°/s;
  walking  otherwise, where the pelvis moves faster than 0.25 m/s, resolved against each
           camera as the generator resolves its walks (toward / away / across, 45°);
  still    otherwise.
Runs shorter than 0.2 s are merged into their neighbours (mocap_to_landmarks.merge_short_runs).
dataset-1 clips that are not walks (bow, dance, kick, punch, respond, guide) are `other`
where the body moves and `still` where it does not (mocap_to_landmarks.label_exercise).
"""
from __future__ import annotations

import argparse
import glob
import math
import os

import numpy as np

import common as C

G, M = C.G, C.M
SEED = 20240601
TURN_RATE, TURN_MIN, TURN_EDGE = math.radians(30), math.radians(45), math.radians(10)
WALK_SPEED = 0.25


def landmarks(path):
    b = M.BVH(path)
    P = b.fk(positions_replace_offsets=True)[0] / 100.0 @ M.Y2Z.T
    j = lambda name: P[:, b.idx(name)]
    F = len(P)
    up = np.array([0.0, 0.0, 1.0])
    X = np.zeros((F, 33, 3))
    for i, s in enumerate("LR"):
        X[:, 11 + i] = j("UpperArm_" + s)
        X[:, 13 + i] = j("LowerArm_" + s)
        X[:, 15 + i] = j("Hand_" + s)
        X[:, 23 + i] = j("UpperLeg_" + s)
        X[:, 25 + i] = j("LowerLeg_" + s)
        X[:, 27 + i] = j("Foot_" + s)
        fd = G.norm(j("Toes_" + s) - j("Foot_" + s))
        X[:, 31 + i] = j("Toes_" + s) + 0.04 * fd
        fh = fd.copy()
        fh[:, 2] = 0
        X[:, 29 + i] = j("Foot_" + s) - 0.05 * G.norm(fh) - 0.06 * up
    lat = (X[:, 11] - X[:, 12]) + (X[:, 23] - X[:, 24])
    front = G.norm(np.cross(lat, up))
    for i, s in enumerate("LR"):
        X[:, 17 + i], X[:, 19 + i], X[:, 21 + i] = M.hand_points(j("Hand_" + s), j("Hand_" + s) - j("LowerArm_" + s), front)
    head, neck = j("Head"), j("Neck")
    X = C.add_face(X, head + 0.03 * G.norm(head - neck), neck, drop=0.0)
    X[..., 2] -= np.percentile(X[:, 27:33, 2].min(1), 2)
    X[..., :2] -= ((X[0, 23] + X[0, 24]) / 2)[:2]
    return X, b.dt


def turn_mask(ts, X):
    """The turn rule of the docstring."""
    lat = (X[:, 11] - X[:, 12]) + (X[:, 23] - X[:, 24])
    yaw = np.unwrap(np.arctan2(lat[:, 1], lat[:, 0]))
    w = C.gradient(ts, C.smooth(ts, yaw, 0.3))
    yaw_s = C.smooth(ts, yaw, 0.3)
    fast = np.abs(w) > TURN_RATE
    out = np.zeros(len(ts), bool)
    for v, a, e in C.runs(list(fast)):
        if not v:
            continue
        while a > 0 and abs(w[a - 1]) > TURN_EDGE and np.sign(w[a - 1]) == np.sign(w[a]):
            a -= 1
        while e < len(ts) and abs(w[e]) > TURN_EDGE and np.sign(w[e]) == np.sign(w[e - 1]):
            e += 1
        if abs(yaw_s[e - 1] - yaw_s[a]) > TURN_MIN:
            out[a:e] = True
    return out


def labels_for(ts, X, cam, walkish):
    dt = float(ts[1] - ts[0])
    if not walkish:
        lab = M.label_exercise(X, dt, cam.pos)
        return [G.CLASSES[i] for i in lab]
    pel = (X[:, 23] + X[:, 24]) / 2
    ps = C.smooth(ts, pel, 0.15)
    speed = np.linalg.norm(C.gradient(ts, ps)[:, :2], axis=1)
    turn = turn_mask(ts, X)
    walking = (speed > WALK_SPEED) & ~turn
    walk = C.resolve_walks(ts, pel[:, :2], walking, cam.pos[:2])
    idx = np.array([G.CLS["turn"] if t else (G.CLS[w] if w else G.CLS["still"]) for t, w in zip(turn, walk)])
    idx = M.merge_short_runs(idx, dt)
    return [G.CLASSES[i] for i in idx]


def convert(src, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    docs = []
    for k, path in enumerate(sorted(glob.glob(os.path.join(src, "*.bvh")))):
        clip = os.path.basename(path)[:-4]
        walkish = "_walk" in clip
        X, dt = landmarks(path)
        ts = np.arange(len(X)) * dt
        for c, (cname, cam) in enumerate(M.cameras_for(X, clip)):
            lab = labels_for(ts, X, cam, walkish)
            name = f"{clip}_{cname}"
            doc = C.render(out_dir, name, X, ts, cam, lab, [SEED, k, c],
                           info=dict(source=dict(set="bandai", file=os.path.basename(path)),
                                     style=clip.split("_")[2] if clip.count("_") >= 3 else None))
            docs.append(doc)
        pel = (X[:, 23] + X[:, 24]) / 2
        print(f"{clip}: {len(X)} frames ({len(X) * dt:.1f} s), travel {np.linalg.norm(pel[-1, :2] - pel[0, :2]):.2f} m, "
              + ", ".join(f"{a} {n}" for a, n in docs[-4]["label_counts"].items()))
    return docs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", default=os.path.join(C.REALDATA, "bandai"))
    ap.add_argument("--out", default=os.path.join(C.OUT, "bandai"))
    a = ap.parse_args()
    convert(a.src, a.out)


if __name__ == "__main__":
    main()
