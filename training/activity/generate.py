#!/usr/bin/env python3
"""Seeded synthetic generator of MediaPipe-BlazePose-like landmark sequences with
per-frame activity labels (walk_toward, walk_away, turn, sit_down, stand_up, still,
walk_across, other, sitting).

Pipeline per sequence (each stage is a module of the package synth/, next to this file):
  1. body      -- a 3-D kinematic human with sampled proportions (children .. elderly)
                  (synth/body.py: body, gait, chairs)
  2. scenario  -- a plan of actions (TUG test or a random mix) turned into per-frame
                  control channels: pelvis path and heading, foot placements from a
                  footstep planner (walking, turning, shuffling), sit/stand hip paths,
                  trunk lean, arm swing / IK hand targets, head motion, labels
                  (synth/scenarios.py; synth/motion/: the Builder, one module per motion
                  family; synth/labels.py)
  3. pose      -- forward kinematics + two-link IK for legs (feet planted) and arms
                  -> 33 BlazePose landmarks in world metres (synth/pose.py)
  4. camera    -- a wall camera (height, tilt, roll, FOV, distortion, image size)
                  (synth/camera.py)
  5. estimator -- MediaPipe-like output: normalised x/y, relative z, visibility,
                  jitter growing as the person gets small, correlated errors, occlusion
                  by the own body / chair / table, out-of-frame, left/right swaps for a
                  back-facing person, One Euro smoothing (MediaPipe's parameters),
                  missed frames, frame-rate and timestamp jitter (synth/estimator.py)
  6. output    -- <name>.jsonl (contract format + "label") and <name>.meta.json
                  (synth/output.py; synth/sequence.py runs 1-5 for one seed)

World frame: X, Y on the floor, Z up, metres. A heading psi means facing
(cos psi, sin psi); the person's left is (-sin psi, cos psi).

This file is the command line, and it re-exports every name of the package's stages (the
names this file defined before it was split), so `import generate as G` and
`from generate import Camera, estimate, sample_noise_params, ...` keep working.

Only numpy is used.  CLI: generate.py --out DIR --sequences N --seed S [--split ...]
"""
from __future__ import annotations

import argparse
import json
import math  # noqa: F401  (re-exported: generate.py imported it before the split)
import os
import sys
import time
from dataclasses import asdict, dataclass  # noqa: F401

import numpy as np

if os.path.dirname(os.path.abspath(__file__)) not in sys.path:  # synth/ sits beside this file
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from synth.body import Body, Chair, Gait, floor_seat, sample_body, sample_chair, sample_gait  # noqa: E402
from synth.camera import (  # noqa: E402
    IMAGE_SIZES, Camera, Region, bearing_to_cam, direction_for, furniture, place_camera,
    sample_camera_intrinsics)
from synth.common import (  # noqa: E402
    CLASSES, CLS, DT, FACE, GENERATOR_VERSION, LANDMARK_NAMES, LEGS, LOWER, LR_SWAP, SPLIT_STREAM,
    UPPER, WALK, colored, fwd2, left2, lowpass_fast, minjerk, mv, norm, rot_x, rot_y, rot_z,
    smoothstep, wrap)
from synth.estimator import (  # noqa: E402
    LM_SIGMA, VIS_OFFSET, estimate, frame_times, one_euro, ray_hits_box, sample_noise_params)
from synth.labels import resolve_walk_labels, seated_still  # noqa: E402
from synth.motion import CHANNELS, Builder, exercise_kinds, finalize_channels  # noqa: E402
from synth.output import fmt_frames, write_sequence  # noqa: E402
from synth.pose import FACE_OFFS, ik2, pose_landmarks, softmin  # noqa: E402
from synth.scenarios import (  # noqa: E402
    _adjust_chair_to_feet, scenario_floor, scenario_pass, scenario_random, scenario_tug,
    scenario_workout, table_near)
from synth.sequence import make_sequence, seq_seed  # noqa: E402

__all__ = [
    "GENERATOR_VERSION", "CLASSES", "CLS", "WALK", "SPLIT_STREAM", "LANDMARK_NAMES", "LR_SWAP",
    "FACE", "UPPER", "LOWER", "LEGS", "DT",
    "rot_x", "rot_y", "rot_z", "mv", "norm", "smoothstep", "minjerk", "wrap", "colored",
    "lowpass_fast", "fwd2", "left2",
    "Body", "sample_body", "Gait", "sample_gait", "Chair", "sample_chair", "floor_seat",
    "CHANNELS", "Builder", "exercise_kinds", "finalize_channels",
    "ik2", "softmin", "FACE_OFFS", "pose_landmarks",
    "IMAGE_SIZES", "Camera", "sample_camera_intrinsics", "Region", "bearing_to_cam", "direction_for",
    "place_camera", "furniture",
    "scenario_tug", "_adjust_chair_to_feet", "table_near", "scenario_random", "scenario_floor",
    "scenario_workout", "scenario_pass", "seated_still", "resolve_walk_labels",
    "ray_hits_box", "one_euro", "LM_SIGMA", "VIS_OFFSET", "frame_times", "estimate",
    "sample_noise_params",
    "make_sequence", "fmt_frames", "write_sequence", "seq_seed", "main",
]


def _work(args):
    out_dir, seed, split, i, dur, tug, kind = args
    s = seq_seed(seed, split, i)
    name, ts, out, lost, lab, meta = make_sequence(s, split, i, dur, tug, kind)
    write_sequence(out_dir, name, ts, out, lost, lab, meta)
    return name, meta["frames"], meta["label_counts"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--sequences", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", choices=list(SPLIT_STREAM), default="train")
    ap.add_argument("--start", type=int, default=0, help="index of the first sequence")
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 1)))
    ap.add_argument("--min-duration", type=float, default=10.0)
    ap.add_argument("--max-duration", type=float, default=40.0)
    ap.add_argument("--tug-fraction", type=float, default=0.35)
    ap.add_argument("--kind", choices=["floor"], default=None,
                    help="every sequence of this kind (make_model.sh: --kind floor --start 100000)")
    a = ap.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    jobs = [(a.out, a.seed, a.split, i, (a.min_duration, a.max_duration), a.tug_fraction, a.kind)
            for i in range(a.start, a.start + a.sequences)]
    t0 = time.time()
    totals = np.zeros(len(CLASSES), int)
    frames = 0
    if a.workers > 1 and len(jobs) > 1:
        import multiprocessing as mp
        with mp.Pool(a.workers) as pool:
            results = pool.imap_unordered(_work, jobs, chunksize=4)
            for name, nf, lc in results:
                frames += nf
                totals += np.array([lc[c] for c in CLASSES])
    else:
        for j in jobs:
            name, nf, lc = _work(j)
            frames += nf
            totals += np.array([lc[c] for c in CLASSES])
    dt = time.time() - t0
    summary = dict(split=a.split, seed=a.seed, sequences=a.sequences, frames=int(frames),
                   seconds=round(dt, 1), generator_version=GENERATOR_VERSION,
                   label_counts={c: int(n) for c, n in zip(CLASSES, totals)})
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
