"""Shared by the real-motion converters (tst_tug.py, utkinect.py, bandai.py) and eval_real.py.

The converters turn skeletons recorded by others into the landmark JSON Lines that
`activityd classify --landmarks` reads, through the synthetic generator's virtual camera and
pose-estimator model (training/activity/generate.py, imported as G), as
training/activity/mocap_to_landmarks.py does for motion capture. Nothing here is copied into
the repository: the data are read from ../shared/realdata (beside the checkout) and the
output goes to target/realdata/.

Kinect skeletons (TST TUG: Kinect v2, UTKinect: Kinect v1) share the code below:

* World frame. Kinect camera space is x to the sensor's left, y up (tilted with the sensor),
  z away from the sensor. The floor is the plane through most foot joints (RANSAC, within
  2 cm, normal within 15° of the median trunk direction, under 3% of the feet more than 4 cm
  below it), taken 3 cm below them; the
  world is the generator's (Z up from that floor, Y the sensor's axis projected on the floor,
  X = Y x Z, the sensor's right), so heights and headings mean what they mean in generate.py.
* Camera. The virtual camera sits at the Kinect's origin with the Kinect's axes (pinhole of
  the Kinect coordinates, no distortion), its tilt and roll being whatever the floor fit
  says; field of view and image size are those of the Kinect's colour camera (v2: 84.1° x
  53.8°, 1920 x 1080; v1: 62° x 48.6°, 640 x 480): an RGB pose estimator would see that
  image, not the depth image (v2 depth: 70.6° x 60°, 512 x 424).
* Facing. The Kinect tracker assumes a person facing it: walking away, its skeleton is a
  front view with left and right exchanged. The heading of each frame is either the raw one
  (from the shoulder and hip lines) or that turned by 180° with left and right exchanged; the
  converter picks, per frame, by a two-state Viterbi path that minimises heading change from
  frame to frame (radians), plus 1.0 a frame for facing against the direction of travel
  while the pelvis moves faster than 0.4 m/s (people walk forward), plus 0.1 a frame for
  exchanging when not walking (otherwise the tracker is believed). Starts as recorded. Each
  change of that path is then moved to where the shoulders looked narrowest from the sensor
  within 1.5 s before it (0.5 s after), if narrower than 0.7 of their median width: a body
  turning round passes side-on there (switch_side_on). The path alone changed too late:
  real people keep stepping back toward the chair as they turn and sit, and that travel
  reads as facing the chair; on TST TUG the
  last change came a median 0.57 s after the hip started down (31 of 40 tests after it), so
  the converted person began to sit down with their back to the camera and turned round in
  one frame half way down. Now it comes a median 0.62 s before (1 of 40 after), where the
  narrowest shoulders are.
* Face. The skeletons have no face: the 11 face points are the generator's face offsets
  (G.FACE_OFFS) in a head frame at the head joint (1 cm lower), up along neck -> head, forward
  the body's facing (above) made perpendicular to it.
* Noise: G.estimate() with the mild parameters of the motion-capture fixtures
  (mocap_to_landmarks.MILD: no swaps, no lost frames, no glitches), seeded per sequence; the
  skeletons carry their tracker's own noise already.
"""
from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
ACTIVITY = os.path.join(REPO, "training", "activity")
if ACTIVITY not in sys.path:
    sys.path.insert(0, ACTIVITY)

import generate as G  # noqa: E402
import mocap_to_landmarks as M  # noqa: E402

# The real data live beside the checkout, never inside it (see its README).
REALDATA = os.path.normpath(os.path.join(REPO, "..", "shared", "realdata"))
OUT = os.path.join(REPO, "target", "realdata")

CLASSES = G.CLASSES
WALKS = ("walk_toward", "walk_away", "walk_across")

# Kinect colour cameras (horizontal, vertical field of view in degrees; image size).
KINECT_V2_COLOUR = dict(hfov_deg=84.1, vfov_deg=53.8, width=1920, height=1080)
KINECT_V1_COLOUR = dict(hfov_deg=62.0, vfov_deg=48.6, width=640, height=480)
FOOT_JOINT_H = 0.03     # the foot joints' height above the floor
WALK_SPEED = 0.4        # m/s: faster is walking, for the facing fix
SIDE_ON_BEFORE_S = 1.5  # a change of facing is looked for where the body was side-on this
SIDE_ON_AFTER_S = 0.5   # long before / after where the path changes (switch_side_on),
SIDE_ON_NARROW = 0.7    # if the shoulders look narrower there than this share of their median
                        # (TST: 0.26-0.59 at the turns, in every sequence)


# ----------------------------------------------------------------------------- time series
def smooth(t, x, sigma):
    """Zero-phase Gaussian smoothing (sigma in seconds) of x (T, ...) sampled at times t,
    regular or not (irregular samples go through a 30 Hz grid and back)."""
    t = np.asarray(t, float)
    x = np.asarray(x, float)
    if len(t) < 3 or sigma <= 0:
        return x.copy()
    dt = np.diff(t)
    if np.allclose(dt, dt[0], rtol=1e-3):
        return G.lowpass_fast(x, float(dt[0]), sigma)
    grid = np.arange(t[0], t[-1] + 1e-9, 1.0 / 30)
    flat = x.reshape(len(t), -1)
    g = np.stack([np.interp(grid, t, flat[:, k]) for k in range(flat.shape[1])], -1)
    g = G.lowpass_fast(g, 1.0 / 30, sigma)
    back = np.stack([np.interp(t, grid, g[:, k]) for k in range(flat.shape[1])], -1)
    return back.reshape(x.shape)


def gradient(t, x):
    return np.gradient(np.asarray(x, float), np.asarray(t, float), axis=0)


def runs(labels):
    """[(label, first index, last index + 1)] of consecutive equal labels."""
    out, i = [], 0
    while i < len(labels):
        j = i
        while j < len(labels) and labels[j] == labels[i]:
            j += 1
        out.append((labels[i], i, j))
        i = j
    return out


def segments(ts, labels):
    """Label runs as {label, start, end} (times of their first and last frames)."""
    return [dict(label=lab, start=round(float(ts[a]), 4), end=round(float(ts[b - 1]), 4))
            for lab, a, b in runs(list(labels)) if lab is not None]


def resolve_walks(ts, pel_xy, walking, cam_xy):
    """Walking frames -> walk_toward / walk_away / walk_across, as the generator resolves them
    (G.resolve_walk_labels): the travel direction (pelvis smoothed 0.35 s) within 45° of the
    line to the camera -> toward, of the opposite -> away, otherwise across."""
    P = smooth(ts, pel_xy, 0.35)
    v = gradient(ts, P)
    toc = np.asarray(cam_xy, float)[None] - P
    cosang = np.sum(G.norm(v) * G.norm(toc), -1)
    c45 = math.cos(math.radians(45))
    out = np.where(cosang >= c45, "walk_toward", np.where(cosang <= -c45, "walk_away", "walk_across"))
    return [str(o) if w else None for o, w in zip(out, walking)]


# ----------------------------------------------------------------------------- geometry
def fit_floor(feet, up_hint):
    """The floor under foot points (N, 3) in Kinect coordinates (y up): the plane through most
    of them (RANSAC: 600 seeded triples, points within 2 cm count, only planes whose normal is
    within 15° of up_hint, the median trunk direction, and with under 3% of the points more
    than 4 cm below them), refitted by least squares on its
    points. Returns the unit normal (pointing up) and the height of the origin above the
    floor, taken FOOT_JOINT_H below the foot joints."""
    p = feet[np.isfinite(feet).all(1) & (np.abs(feet).sum(1) > 0)]
    up_hint = up_hint / np.linalg.norm(up_hint)
    rng = np.random.default_rng(0)
    best, best_n = None, -1
    for _ in range(600):
        a, b, c = p[rng.choice(len(p), 3, replace=False)]
        n = np.cross(b - a, c - a)
        if np.linalg.norm(n) < 1e-6:
            continue
        n = n / np.linalg.norm(n)
        n = n if np.dot(n, up_hint) > 0 else -n
        if np.dot(n, up_hint) < math.cos(math.radians(15)):
            continue
        r = (p - a) @ n
        inl = np.abs(r) < 0.02
        if inl.sum() > best_n and (r < -0.04).mean() < 0.03:  # and the feet stand on it, not in it
            best, best_n = inl, int(inl.sum())
    if best is None or best_n < 10:  # no plane: the trunk's up through the lowest feet
        n = up_hint
        d = -float(np.percentile(p @ n, 5))
        return n, d + FOOT_JOINT_H
    q = p[best]
    A = np.c_[np.ones(len(q)), q[:, 0], q[:, 2]]
    (a, b, c), *_ = np.linalg.lstsq(A, q[:, 1], rcond=None)
    n = np.array([-b, 1.0, -c])
    s = np.linalg.norm(n)
    # height of a point above the plane: (y - a - b x - c z) / s; the origin's is -a / s
    return n / s, -a / s + FOOT_JOINT_H


def kinect_to_world(n, h):
    """Rotation R (rows: world X, Y, Z in Kinect coordinates) and offset so that
    world = R @ kinect + (0, 0, h): Z along the floor normal, Y the Kinect's z axis on the
    floor, X = Y x Z (the sensor's right)."""
    z_k = np.array([0.0, 0.0, 1.0])
    Y = G.norm(z_k - np.dot(z_k, n) * n)
    X = np.cross(Y, n)
    R = np.stack([X, Y, n])
    return R, np.array([0.0, 0.0, h])


@dataclass
class FixedCamera(G.Camera):
    """A G.Camera whose orientation is given as a matrix (rows: image right, image down and
    the optical axis, in world coordinates) instead of yaw / pitch / roll (those are filled
    in for information only)."""
    rot: np.ndarray = None

    def R(self):
        return self.rot

    def to_json(self):
        d = super().to_json()
        d["rot"] = [[round(float(v), 5) for v in row] for row in self.rot]
        return d


def kinect_camera(R_wk, h, spec):
    """The Kinect's own camera in the world of kinect_to_world: right = -x_k, down = -y_k,
    forward = z_k."""
    rot = np.stack([-R_wk[:, 0], -R_wk[:, 1], R_wk[:, 2]])
    fwd = rot[2]
    yaw = math.atan2(fwd[1], fwd[0])
    pitch = -math.asin(float(np.clip(fwd[2], -1, 1)))
    right_flat = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    roll = math.atan2(float(np.dot(rot[0], np.cross(fwd, right_flat))), float(np.dot(rot[0], right_flat)))
    return FixedCamera(pos=np.array([0.0, 0.0, h]), yaw=yaw, pitch=pitch, roll=roll,
                       hfov=math.radians(spec["hfov_deg"]), width=spec["width"], height=spec["height"],
                       rot=rot)


def facing_fix(ts, X):
    """The facing fix of the module docstring on body landmarks X (T, 33, 3) in world
    coordinates (face not yet set): returns X with left and right exchanged where the path
    says so, and the mask of exchanged frames."""
    lat = (X[:, 11] - X[:, 12]) + (X[:, 23] - X[:, 24])
    fwd = np.cross(lat, np.array([0.0, 0.0, 1.0]))
    h_raw = np.arctan2(fwd[:, 1], fwd[:, 0])
    pel = (X[:, 23] + X[:, 24]) / 2
    v = gradient(ts, smooth(ts, pel[:, :2], 0.25))
    speed = np.linalg.norm(v, axis=1)
    h_trav = np.arctan2(v[:, 1], v[:, 0])
    T = len(ts)
    walking = speed > WALK_SPEED
    emit = np.zeros((T, 2))
    for s in (0, 1):
        h = h_raw + s * math.pi
        emit[:, s] = np.where(walking, 1.0 * (1 - np.cos(h - h_trav)) / 2, 0.1 * s)
    cost = np.array([emit[0, 0], np.inf])
    back = np.zeros((T, 2), int)
    for i in range(1, T):
        new = np.empty(2)
        for s in (0, 1):
            step = [cost[p] + abs(G.wrap(h_raw[i] + s * math.pi - h_raw[i - 1] - p * math.pi)) for p in (0, 1)]
            back[i, s] = int(np.argmin(step))
            new[s] = step[back[i, s]] + emit[i, s]
        cost = new
    path = np.zeros(T, int)
    path[-1] = int(np.argmin(cost))
    for i in range(T - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    path = switch_side_on(ts, X, path)
    out = X.copy()
    m = path == 1
    out[m] = X[m][:, G.LR_SWAP]
    return out, m


def switch_side_on(ts, X, path, before_s=SIDE_ON_BEFORE_S, after_s=SIDE_ON_AFTER_S):
    """Each change of the facing path (exchanged or not) moved to where the body was most
    side-on to the sensor (at the world's origin, seen from above) within `before_s` before
    it and `after_s` after it, if it was side-on there (the shoulders' width across the line
    of sight under SIDE_ON_NARROW of its median): a body that turns round passes side-on
    there, which is where exchanging left and right is no jump at all. The path alone
    changes late: people keep stepping toward the chair while they turn and sit, and that
    backward travel reads as facing the chair."""
    lat = (X[:, 11] - X[:, 12])[:, :2]
    los = G.norm(((X[:, 11] + X[:, 12]) / 2)[:, :2])
    # The shoulders' width across the line of sight (the tracker draws the shoulders of a
    # side-on body close together: their direction then says little, their width a lot).
    width = smooth(ts, np.abs(lat[:, 0] * los[:, 1] - lat[:, 1] * los[:, 0]), 0.1)
    narrow = SIDE_ON_NARROW * np.median(width)
    path = path.copy()
    changes = np.nonzero(np.diff(path))[0] + 1
    lo = 0
    for k, c in enumerate(changes):
        hi = changes[k + 1] if k + 1 < len(changes) else len(path)
        a = max(lo + 1, int(np.searchsorted(ts, ts[c] - before_s)))
        b = min(hi - 1, int(np.searchsorted(ts, ts[c] + after_s, side="right")))
        m = a + int(np.argmin(width[a:b + 1])) if b > a else c
        if width[m] < narrow:
            path[min(m, c):max(m, c)] = path[c] if m < c else path[c - 1]
            c = m
        lo = c
    return path


def check_switch_side_on():
    """switch_side_on on a body 3 m in front of the sensor that turns round on the spot from
    facing it (frames 30-60, side-on at 45) while the path flips late (frame 70) or early
    (frame 35): the flip lands at 45; one with no side-on moment within reach (frame 99: the
    narrowest within 1.5 s before is frame 54, at 81% of the width) stays."""
    ts = np.arange(100) / 30.0
    yaw = np.pi * np.clip((np.arange(100) - 30) / 30.0, 0, 1)   # 0: shoulders across the view
    X = np.zeros((100, 33, 3))
    X[:, 11, :2] = np.c_[0.2 * np.cos(yaw), 3.0 + 0.2 * np.sin(yaw)]
    X[:, 12, :2] = np.c_[-0.2 * np.cos(yaw), 3.0 - 0.2 * np.sin(yaw)]
    for c in (70, 35):
        path = (np.arange(100) >= c).astype(int)
        moved = np.nonzero(np.diff(switch_side_on(ts, X, path)))[0] + 1
        assert list(moved) == [45], (c, moved)
    path = (np.arange(100) >= 99).astype(int)
    assert list(np.nonzero(np.diff(switch_side_on(ts, X, path)))[0] + 1) == [99]


def add_face(X, head, neck, scale=1.0, drop=0.01):
    """Face points 0..10 of X (T, 33, 3) from the head and neck joints and the body's facing
    (shoulder and hip lines of X)."""
    lat = (X[:, 11] - X[:, 12]) + (X[:, 23] - X[:, 24])
    fwd = np.cross(lat, np.array([0.0, 0.0, 1.0]))
    f, left, up = M.orthonormal(fwd, head - neck)
    X = X.copy()
    X[:, 0:11] = M.head_face(head - up * drop, f, left, up, scale)
    return X


def hand_scale(wrist, tip):
    """Generator hand scale (hand length / 0.184 m) from a wrist -> hand-tip distance
    (median over the sequence, clipped to 0.7..1.3)."""
    d = np.linalg.norm(tip - wrist, axis=-1)
    return float(np.clip(np.median(d) / 0.184, 0.7, 1.3))


class MeasuredBody:
    """The proportions G.estimate() reads (torso box for self-occlusion), measured."""

    def __init__(self, X):
        med = lambda a, b: float(np.median(np.linalg.norm(X[:, a] - X[:, b], axis=-1)))
        self.shoulder_w = med(11, 12)
        self.hip_w = med(23, 24)
        self.trunk = float(np.median(np.linalg.norm((X[:, 11] + X[:, 12]) / 2 - (X[:, 23] + X[:, 24]) / 2, axis=-1)))
        self.thigh = (med(23, 25) + med(24, 26)) / 2
        self.shank = (med(25, 27) + med(26, 28)) / 2
        self.leg = self.thigh + self.shank
        self.girth = 1.0


# ----------------------------------------------------------------------------- output
def fmt_frames(ts, out, lost, labels, width, height):
    """generate.fmt_frames, with the label left out of frames that have none."""
    lines = []
    for i in range(len(ts)):
        lms = "null" if lost[i] else "[" + ",".join("[%.5f,%.5f,%.5f,%.5f]" % tuple(r) for r in out[i]) + "]"
        lab = "" if labels[i] is None else ',"label":"%s"' % labels[i]
        lines.append('{"t":%.4f,"width":%d,"height":%d,"landmarks":%s%s}' % (ts[i], width, height, lms, lab))
    return ("\n".join(lines) + "\n").replace("-0.00000", "0.00000")


def render(out_dir, name, X, ts, cam, labels, seed, body=None, tug=None, info=None, noise=None):
    """X (T, 33, 3) world landmarks at times ts (s) seen by cam through G.estimate() with the
    mild noise of the mocap fixtures (or the parameters `noise`), seeded; writes <name>.jsonl
    (contract frames, plus the true "label" where there is one, as the generator writes them)
    and <name>.labels.json."""
    ts = np.asarray(ts, float)
    fps = float(1.0 / np.median(np.diff(ts)))
    params = dict(noise or M.MILD, fps=fps)
    rng = np.random.default_rng(seed)
    out, lost, _ = G.estimate(rng, X, ts, cam, body or MeasuredBody(X), [], params)
    with open(os.path.join(out_dir, name + ".jsonl"), "w") as f:
        f.write(fmt_frames(ts, out, lost, labels, cam.width, cam.height))
    counts = {c: int(sum(1 for lab in labels if lab == c)) for c in CLASSES}
    doc = dict(name=name, fps=round(fps, 3), frames=int(len(ts)), classes=CLASSES,
               t=[round(float(t), 4) for t in ts], labels=list(labels),
               label_counts={c: n for c, n in counts.items() if n}, unlabelled=int(sum(lab is None for lab in labels)),
               segments=segments(ts, labels), camera=cam.to_json(), noise=dict(params, seed=seed))
    if tug is not None:
        doc["tug"] = tug
    if info:
        doc.update(info)
    with open(os.path.join(out_dir, name + ".labels.json"), "w") as f:
        json.dump(doc, f, indent=1)
    return doc
