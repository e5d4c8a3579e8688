"""Stages 1-5 for one sequence, from its seed."""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from .body import sample_body, sample_gait
from .camera import Region, furniture, place_camera, sample_camera_intrinsics
from .common import CLASSES, CLS, DT, GENERATOR_VERSION, SPLIT_STREAM
from .estimator import estimate, frame_times, sample_noise_params
from .labels import resolve_walk_labels, seated_still
from .motion import Builder, finalize_channels
from .pose import pose_landmarks
from .scenarios import scenario_floor, scenario_pass, scenario_random, scenario_tug, scenario_workout


def make_sequence(seed: int, split: str, idx: int, dur_range=(10.0, 40.0), tug_frac=0.35, kind=None):
    rng = np.random.default_rng(seed)
    body = sample_body(rng)
    gait = sample_gait(rng, body)
    intr = sample_camera_intrinsics(rng)
    region = Region(intr["hfov"], dmin=1.5, dmax=rng.uniform(5.0, 8.5))
    bld = Builder(rng, body, gait)
    u = rng.random()
    kind = kind or ("tug" if u < tug_frac else ("pass" if u < tug_frac + 0.12 else
                                                ("workout" if u < tug_frac + 0.18 else "random")))
    if kind == "floor":
        scenario_floor(rng, bld, region, rng.uniform(*dur_range) * 0.5)
    elif kind == "tug":
        scenario_tug(rng, bld, region)
    elif kind == "pass":
        scenario_pass(rng, bld, region)
    elif kind == "workout":
        scenario_workout(rng, bld, region, rng.uniform(*dur_range) * 0.6)
    else:
        scenario_random(rng, bld, region, rng.uniform(*dur_range))
    ch = finalize_channels(rng, bld)
    Xint = pose_landmarks(body, ch)
    cam = place_camera(rng, intr, ch, Xint, check=(kind != "pass"))
    labels = resolve_walk_labels(ch, ch["label"].astype(int), cam)
    labels[seated_still(ch)] = CLS["sitting"]
    dur = len(labels) * DT
    fps = int(rng.choice([10, 15, 15, 24, 30, 30]))
    ts = frame_times(rng, dur, fps)
    fi = ts / DT
    i0 = np.clip(np.floor(fi).astype(int), 0, len(labels) - 2)
    a = (fi - i0)[:, None, None]
    X = Xint[i0] * (1 - a) + Xint[i0 + 1] * a
    lab = labels[np.clip(np.round(fi).astype(int), 0, len(labels) - 1)]
    npar = sample_noise_params(rng, fps)
    boxes = [bx for c in bld.chairs for bx in c.boxes()] + list(bld.tables) + furniture(rng, ch, cam)
    out, lost, info = estimate(rng, X, ts, cam, body, boxes, npar)
    if rng.random() < 0.3:  # live streams do not start at t = 0
        ts = ts + round(float(rng.uniform(1.0, 600.0)), 3)
    name = f"{split}_{idx:05d}_{kind}"
    meta = dict(
        name=name, generator_version=GENERATOR_VERSION, seed=int(seed), split=split, kind=kind,
        fps=fps, frames=int(len(ts)), duration_s=round(float(ts[-1] - ts[0]) if len(ts) else 0.0, 3),
        t_start=round(float(ts[0]) if len(ts) else 0.0, 4),
        body={k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(body).items()},
        gait={k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(gait).items()},
        camera=cam.to_json(), noise={k: (round(v, 4) if isinstance(v, float) else v) for k, v in npar.items()},
        chairs=[dict(pos=[round(float(x), 3) for x in c.pos], yaw=round(c.yaw, 4), seat_h=round(c.seat_h, 3),
                     arms=c.arms) for c in bld.chairs],
        tables=len(bld.tables),
        label_counts={c: int((lab == i).sum()) for i, c in enumerate(CLASSES)},
        null_frames=int(lost.sum()), swap_frames=int((info["swap"] > 0).sum()),
    )
    return name, ts, out, lost, lab, meta


def seq_seed(seed, split, i):
    ss = np.random.SeedSequence([int(seed), SPLIT_STREAM[split], int(i)])
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))
