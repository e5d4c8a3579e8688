#!/usr/bin/env python3
"""TST TUG (Kinect v2 skeletons of 40 real Timed Up and Go tests, per-frame phase labels) ->
landmark JSON Lines for `activityd classify --landmarks`, with labels. For measuring only:
the data stay in ../shared/realdata and the output in target/realdata (see README.md).

  tst_tug.py --npz ../shared/realdata/tst_tug/tst_tug_dev.npz --out target/realdata/tst_tug

Input (any .npz of this layout): skeleton_mm (N, 512, 25, 3) Kinect v2 camera space in mm
(x to the sensor's left, y up, z away from it), labels (N, 512), nframes (N,), raw_index
(N,), 30 fps. Per sequence it writes <raw_index>.jsonl (two digits) and
<raw_index>.labels.json.

Skeleton -> landmarks: kinect.py (joint mapping, face from head and neck, facing fix);
camera at the Kinect's origin with its colour camera's field of view, 84.1° x 53.8°, and a
1920 x 1080 image (common.py); noise G.estimate() with the mocap fixtures' mild parameters,
seeded with (20240601, raw_index).

Labels (class names of the classifier, generator.CLASSES):
  0 sitting -> sitting; 1 sit-to-stand -> stand_up; 2 walk toward the camera -> walk_toward;
  3 turn -> turn; 4 walk away -> walk_away;
  5 final turn + sit-down -> turn, then sit_down, then sitting, split by the hip height h
    (mean of the two hip joints and SpineBase above the fitted floor, smoothed with a
    0.15 s Gaussian, v its rate): h_stand = median h over label 4, h_seat = median h over
    the label-0 frames after label 5 (or the last 10 frames of label 5 when there are fewer
    than 5). The sit-down is the run of frames around the first frame of label 5 with
    h <= h_seat + 0.5 (h_stand - h_seat) in which the hip descends steadily, v < -0.08 m/s:
    it starts where that run starts (the end of the turn) and ends where it ends; the rest of
    label 5 is sitting.
The `tug` record: start at the first frame of label 1, end at the last frame of label 5
(total_s = end - start), and the phases stand_up, walk_toward, turn, walk_away, turn,
sit_down with their first and last frame times.

Views (`--view`): the same real motion seen by another virtual camera, to measure rooms
unlike TST's, where the sensor stands at hip height straight down the path:
  kinect        the Kinect's own camera (above); the default and the 40 the issue's targets
                count;
  corner_front  a 640 x 480 camera high in a room corner beyond the turn: the chair is far,
                the walk out comes diagonally toward the camera and the turn, near it, is
                partly out of view at the image's edge;
  corner_back   the same high in the corner behind the chair: the walk out goes away, the
                walk back comes toward the camera, the turn is the far end.
Per sequence, drawn from a generator seeded with (20240601, raw_index, view): side left or
right (alternating with the sequence), 2.1-2.6 m high, 0.8-1.6 m to the side of the path's
line, 0.5-1.2 m beyond the turn (corner_front) or 1.2-2.0 m behind the chair (corner_back),
horizontal field of view 60-75°, aimed at 0.9 m height 40% (front) / 35% (back) of the way
from the chair to the turn, no roll. The walks are labelled against that camera
(common.resolve_walks: within 45° of the line to it, toward or away, else across); the
`tug` record does not change. These views are corner rooms in general, not a copy of any
recording: nothing was set from the videos the project is judged on (not available here).
`--height-m LO HI` draws the corner cameras' height from another range (the same draws
otherwise): `--height-m 2.7 3.0` puts them under a high ceiling, looking down 30-42° at the
path's middle (21-35° with the default; 9 in 10 of the generator's test-split cameras look
down less than 23°, the steepest 40°).

Hold (`--hold-s S`): the last pose held S seconds after the end (the person sits on still).

Rooms (`--room K`, K >= 1): the corner camera placed, and the noise drawn, again from seeds
with K appended: the same 40 people in other rooms, each room a different draw of the ranges
above (room 0, the default, is the converter's own, which `make eval-real` measures and on
which the finder's rules were chosen). Output directory suffix `_room<K>`; `make
eval-real-rooms` measures rooms 1-12.

Noise (`--noise`): `mild`, the mocap fixtures' (above), or `generator`: the parameters drawn
per sequence as the generator draws them (G.sample_noise_params, seeded with (20240601,
raw_index, 3)): left/right swaps while the back is turned, lost frames, glitches. Output
directory by default: target/realdata/tst_tug[_<view>][_noisy][_hold<S>].
"""
from __future__ import annotations

import argparse
import math
import os

import numpy as np

import common as C
import kinect

G = C.G

FPS = 30.0
SEED = 20240601
NAMES = {0: "sitting", 1: "stand_up", 2: "walk_toward", 3: "turn", 4: "walk_away"}
V_DESCENT = 0.08


def split_final(ts, hip_h, lab):
    """Frame labels (class names) of one sequence, label 5 split as in the docstring; and the
    indices (start of the sit-down, end of the sit-down + 1) within the sequence."""
    out = [NAMES.get(int(v)) for v in lab]
    i5 = np.nonzero(lab == 5)[0]
    a5, b5 = int(i5[0]), int(i5[-1]) + 1
    hs = C.smooth(ts, hip_h, 0.15)
    vz = C.gradient(ts, hs)
    h_stand = float(np.median(hs[lab == 4]))
    after = np.nonzero((lab == 0) & (np.arange(len(lab)) >= b5))[0]
    h_seat = float(np.median(hs[after])) if len(after) >= 5 else float(np.median(hs[b5 - 10:b5]))
    mid = h_seat + 0.5 * (h_stand - h_seat)
    below = np.nonzero(hs[a5:b5] <= mid)[0]
    m = a5 + int(below[0]) if len(below) else b5 - 1
    s = m
    while s > a5 and vz[s - 1] < -V_DESCENT:
        s -= 1
    e = m
    while e < b5 and vz[e] < -V_DESCENT:
        e += 1
    e = max(e, m + 1)
    for i in range(a5, b5):
        out[i] = "turn" if i < s else ("sit_down" if i < e else "sitting")
    return out, (s, e), dict(h_stand=round(h_stand, 3), h_seat=round(h_seat, 3))


def tug_record(ts, lab, s, e):
    idx = lambda k: np.nonzero(lab == k)[0]
    first1, last5 = int(idx(1)[0]), int(idx(5)[-1])
    ph = lambda name, a, b: dict(activity=name, start=round(float(ts[a]), 4), end=round(float(ts[b]), 4))
    i5 = idx(5)
    phases = [ph("stand_up", idx(1)[0], idx(1)[-1]), ph("walk_toward", idx(2)[0], idx(2)[-1]),
              ph("turn", idx(3)[0], idx(3)[-1]), ph("walk_away", idx(4)[0], idx(4)[-1]),
              ph("turn", i5[0], max(s - 1, i5[0])), ph("sit_down", s, e - 1)]
    return dict(start=round(float(ts[first1]), 4), end=round(float(ts[last5]), 4),
                total_s=round(float(ts[last5] - ts[first1]), 4), phases=phases,
                rule="start: first frame of label 1; end: last frame of label 5")


# The corner cameras' height range (m): high in a room corner, below a 2.4-2.7 m ceiling.
CORNER_HEIGHT_M = (2.1, 2.6)


def seeds(*parts, room=0):
    """The seed of one draw: room 0 is the converter's own rooms (the `make eval-real` sets)."""
    return [SEED, *parts] + ([room] if room else [])


def corner_camera(raw, view, pel, lab, room=0, height_m=CORNER_HEIGHT_M):
    """The virtual corner camera of `view` for one sequence (docstring); pel (T, 3) the pelvis
    in world coordinates, lab the TST labels; height_m the range its height is drawn from."""
    rng = np.random.default_rng(seeds(raw, 1 if view == "corner_front" else 2, room=room))
    chair = np.median(pel[lab == 0][:10, :2], axis=0) if (lab == 0).any() else pel[0, :2]
    turn = np.median(pel[lab == 3, :2], axis=0)
    d = G.norm(turn - chair)
    perp = np.array([-d[1], d[0]]) * (1 if raw % 2 == 0 else -1)
    height = rng.uniform(*height_m)
    lateral = rng.uniform(0.8, 1.6)
    hfov = rng.uniform(60.0, 75.0)
    if view == "corner_front":
        pos2 = turn + rng.uniform(0.5, 1.2) * d + lateral * perp
        aim2 = chair + 0.4 * (turn - chair)
    else:
        pos2 = chair - rng.uniform(1.2, 2.0) * d + lateral * perp
        aim2 = chair + 0.35 * (turn - chair)
    to_aim = aim2 - pos2
    yaw = math.atan2(to_aim[1], to_aim[0])
    pitch = math.atan2(height - 0.9, float(np.linalg.norm(to_aim)))
    return G.Camera(pos=np.r_[pos2, height], yaw=yaw, pitch=pitch, roll=0.0, hfov=math.radians(hfov),
                    width=640, height=480)


def convert(npz, out_dir, view="kinect", noise="mild", hold_s=0.0, room=0, height_m=CORNER_HEIGHT_M):
    d = np.load(npz)
    os.makedirs(out_dir, exist_ok=True)
    docs = []
    for k in range(len(d["nframes"])):
        n, raw = int(d["nframes"][k]), int(d["raw_index"][k])
        K = d["skeleton_mm"][k, :n].astype(float) / 1000.0
        lab = d["labels"][k, :n].astype(int)
        ts = np.arange(n) / FPS
        W, R, h = kinect.world(K, 2)
        X, swapped = kinect.landmarks(W, ts, 2)
        cam = C.kinect_camera(R, h, C.KINECT_V2_COLOUR)
        hip_h = (W[:, 12, 2] + W[:, 16, 2] + W[:, 0, 2]) / 3
        labels, (s, e), hinfo = split_final(ts, hip_h, lab)
        if hold_s > 0:
            # The person sits on, still, after the recording's end: its last pose, held.
            m = int(round(hold_s * FPS))
            X = np.concatenate([X, np.repeat(X[-1:], m, axis=0)])
            ts = np.arange(n + m) / FPS
            lab = np.r_[lab, np.zeros(m, int)]
            labels = labels + ["sitting"] * m
        if view != "kinect":
            pel = (X[:, 23] + X[:, 24]) / 2
            cam = corner_camera(raw, view, pel, lab, room, height_m)
            walking = [v in ("walk_toward", "walk_away") for v in labels]
            walks = C.resolve_walks(ts, pel[:, :2], walking, cam.pos[:2])
            labels = [w if w is not None else v for v, w in zip(labels, walks)]
        name = f"{raw:02d}"
        params = None
        if noise == "generator":
            params = G.sample_noise_params(np.random.default_rng(seeds(raw, 3, room=room)), FPS)
        doc = C.render(out_dir, name, X, ts, cam, labels, seeds(raw, room=room), noise=params, tug=tug_record(ts, lab, s, e),
                       info=dict(source=dict(set="tst_tug", file=os.path.basename(npz), raw_index=raw, row=k),
                                 view=view, camera_height_m=round(float(cam.pos[2]), 3),
                                 facing_exchanged_frames=int(swapped.sum()),
                                 hip=hinfo))
        docs.append(doc)
        print(f"{name}: {n} frames, camera {cam.pos[2]:.2f} m high, tilt {np.degrees(cam.pitch):+.1f}°, "
              f"{int(swapped.sum())} frames facing-fixed, TUG {doc['tug']['total_s']:.2f} s, "
              f"final turn {ts[s] - ts[np.nonzero(lab == 5)[0][0]]:.2f} s, sit-down {ts[e - 1] - ts[s]:.2f} s")
    return docs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--npz", default=os.path.join(C.REALDATA, "tst_tug", "tst_tug_dev.npz"))
    ap.add_argument("--out", default=None, help="default: target/realdata/tst_tug (or tst_tug_<view>)")
    ap.add_argument("--view", choices=("kinect", "corner_front", "corner_back"), default="kinect")
    ap.add_argument("--noise", choices=("mild", "generator"), default="mild",
                    help="mild: the mocap fixtures' (default); generator: drawn per sequence as the "
                    "generator draws it (left/right swaps, lost frames, glitches)")
    ap.add_argument("--hold-s", type=float, default=0.0,
                    help="hold the last pose this long after the recording's end (the person sits on "
                    "still): the clock measured without the files' cut")
    ap.add_argument("--room", type=int, default=0,
                    help="K >= 1: other draws of the corner camera's place and of the noise (room K), "
                    "the same people in other rooms; 0: the converter's own (the make eval-real sets)")
    ap.add_argument("--height-m", type=float, nargs=2, metavar=("LO", "HI"), default=CORNER_HEIGHT_M,
                    help="the corner camera's height is drawn from this range (m; default %(default)s); "
                    "the draws for one room and sequence are the same whatever it is, so another range "
                    "moves the same cameras up or down")
    a = ap.parse_args()
    name = "tst_tug" + ("" if a.view == "kinect" else "_" + a.view) + ("" if a.noise == "mild" else "_noisy") \
        + (f"_hold{a.hold_s:g}" if a.hold_s > 0 else "") + (f"_room{a.room}" if a.room else "")
    out = a.out or os.path.join(C.OUT, name)
    C.check_switch_side_on()  # the facing fix on a body of known turn
    convert(a.npz, out, a.view, a.noise, a.hold_s, a.room, tuple(a.height_m))


if __name__ == "__main__":
    main()
