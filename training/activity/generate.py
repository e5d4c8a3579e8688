#!/usr/bin/env python3
"""Seeded synthetic generator of MediaPipe-BlazePose-like landmark sequences with
per-frame activity labels (walk_toward, walk_away, turn, sit_down, stand_up, still,
walk_across, other, sitting).

Pipeline per sequence:
  1. body      -- a 3-D kinematic human with sampled proportions (children .. elderly)
  2. scenario  -- a plan of actions (TUG test or a random mix) turned into per-frame
                  control channels: pelvis path and heading, foot placements from a
                  footstep planner (walking, turning, shuffling), sit/stand hip paths,
                  trunk lean, arm swing / IK hand targets, head motion, labels
  3. pose      -- forward kinematics + two-link IK for legs (feet planted) and arms
                  -> 33 BlazePose landmarks in world metres
  4. camera    -- a wall camera (height, tilt, roll, FOV, distortion, image size)
  5. estimator -- MediaPipe-like output: normalised x/y, relative z, visibility,
                  jitter growing as the person gets small, correlated errors, occlusion
                  by the own body / chair / table, out-of-frame, left/right swaps for a
                  back-facing person, One Euro smoothing (MediaPipe's parameters),
                  missed frames, frame-rate and timestamp jitter
  6. output    -- <name>.jsonl (contract format + "label") and <name>.meta.json

World frame: X, Y on the floor, Z up, metres. A heading psi means facing
(cos psi, sin psi); the person's left is (-sin psi, cos psi).

Only numpy is used.  CLI: generate.py --out DIR --sequences N --seed S [--split ...]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import dataclass, asdict

import numpy as np

GENERATOR_VERSION = "1.3.0"

# `still` is standing still; `sitting` (since 1.2.0) is seated still. The motions label every
# quiet frame `still`; frames on a seat are relabelled `sitting` at output (seated_still).
CLASSES = ["walk_toward", "walk_away", "turn", "sit_down", "stand_up", "still", "walk_across", "other", "sitting"]
CLS = {c: i for i, c in enumerate(CLASSES)}
WALK = -1  # placeholder label: walking, direction resolved against the camera later

# Seed streams: the split name selects a disjoint stream of per-sequence seeds, so the
# test split never shares body / camera / scenario draws with train.
SPLIT_STREAM = {"train": 0x7A1, "val": 0x5E2, "test": 0x3C9}

LANDMARK_NAMES = [
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
]
# index permutation that exchanges left and right landmarks
LR_SWAP = np.array([0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19,
                    22, 21, 24, 23, 26, 25, 28, 27, 30, 29, 32, 31])
FACE = np.arange(0, 11)
UPPER = np.arange(11, 23)
LOWER = np.arange(23, 33)
LEGS = np.arange(25, 33)

DT = 1.0 / 60.0  # internal simulation step


# ----------------------------------------------------------------------------- maths
def rot_x(a):
    a = np.asarray(a, float)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1),
                     np.stack([z, s, c], -1)], -2)


def rot_y(a):
    a = np.asarray(a, float)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1),
                     np.stack([-s, z, c], -1)], -2)


def rot_z(a):
    a = np.asarray(a, float)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1),
                     np.stack([z, z, o], -1)], -2)


def mv(R, v):
    """(T,3,3) x (3,) or (T,3) -> (T,3)"""
    v = np.asarray(v, float)
    if v.ndim == 1:
        return R @ v
    return np.einsum("tij,tj->ti", R, v)


def norm(v, axis=-1):
    return v / np.maximum(np.linalg.norm(v, axis=axis, keepdims=True), 1e-9)


def smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def minjerk(x):
    x = np.clip(x, 0.0, 1.0)
    return x ** 3 * (10 - 15 * x + 6 * x * x)


def wrap(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


def colored(rng, n, dt, fc, sigma):
    """Zero-mean stationary Gaussian noise of std sigma, low-passed at about fc Hz (FFT
    shaping; normalised by the filter's gain, not by the sample, so short draws stay small)."""
    if n <= 1:
        return np.zeros(n)
    m = 1 << int(math.ceil(math.log2(n + 16)))
    w = rng.standard_normal(m)
    f = np.fft.rfftfreq(m, dt)
    H = np.exp(-0.5 * (f / max(fc, 1e-3)) ** 2)
    wt = np.full(len(f), 2.0)
    wt[0] = 1.0
    if m % 2 == 0:
        wt[-1] = 1.0
    gain = math.sqrt(float(np.sum(wt * H * H)) / m)
    x = np.fft.irfft(np.fft.rfft(w) * H, m)[:n]
    return x * (sigma / max(gain, 1e-12))


def lowpass_fast(x, dt, tau):
    """Zero-phase Gaussian smoothing via FFT (for long channels)."""
    if tau <= 0 or len(x) < 3:
        return x
    x = np.asarray(x, float)
    n = len(x)
    pad = int(4 * tau / dt) + 2
    xp = np.concatenate([np.repeat(x[:1], pad, 0), x, np.repeat(x[-1:], pad, 0)], 0)
    m = len(xp)
    f = np.fft.rfftfreq(m, dt)
    g = np.exp(-0.5 * (2 * np.pi * f * tau) ** 2)
    if xp.ndim == 1:
        y = np.fft.irfft(np.fft.rfft(xp) * g, m)
    else:
        y = np.fft.irfft(np.fft.rfft(xp, axis=0) * g[:, None], m, axis=0)
    return y[pad:pad + n]


# ----------------------------------------------------------------------------- body
@dataclass
class Body:
    height: float
    age_group: str           # child, adult, elderly
    sex: str
    thigh: float
    shank: float
    upper_arm: float
    forearm: float
    hand: float
    trunk: float             # hip-centre to shoulder-centre
    neck: float              # shoulder-centre to ear-centre (along neck)
    head: float              # head scale factor (1 = adult average head)
    shoulder_w: float
    hip_w: float
    foot_len: float
    ankle_h: float
    heel_back: float
    kyphosis: float          # rad, rounded upper back / forward head (elderly)
    knee_flex_stand: float   # rad, habitual knee flexion when standing
    toe_out: float           # rad
    stance_w: float          # lateral distance between feet centres
    girth: float             # >1: heavier build (landmarks on shoulders/hips sit wider)

    @property
    def leg(self):
        return self.thigh + self.shank


def sample_body(rng) -> Body:
    g = rng.choice(["child", "adult", "adult", "adult", "elderly", "elderly"])
    sex = rng.choice(["f", "m"])
    if g == "child":
        H = rng.uniform(1.45, 1.62)
    elif g == "adult":
        H = rng.normal(1.76 if sex == "m" else 1.63, 0.08)
    else:
        H = rng.normal(1.70 if sex == "m" else 1.57, 0.07)
    H = float(np.clip(H, 1.45, 2.0))
    r = lambda s: float(1.0 + s * np.clip(rng.normal(), -2, 2))
    leg_r = 0.245 * r(0.035) * (0.985 if g == "child" else 1.0)
    head = (1.0 if g != "child" else 1.04) * (H / 1.7) ** 0.35 * r(0.04)
    girth = float(np.clip(rng.lognormal(0.0, 0.12) * (1.06 if g == "elderly" else 1.0), 0.85, 1.4))
    sw = 0.215 * H * r(0.06) * (1.05 if sex == "m" else 0.95) * (girth ** 0.3)
    hw = 0.145 * H * r(0.07) * (0.95 if sex == "m" else 1.07) * (girth ** 0.5)
    trunk = 0.288 * H * r(0.03)
    b = Body(
        height=H, age_group=str(g), sex=str(sex),
        thigh=leg_r * H * r(0.02), shank=0.246 * H * r(0.03) * (leg_r / 0.245),
        upper_arm=0.186 * H * r(0.03), forearm=0.146 * H * r(0.03), hand=0.108 * H * r(0.04),
        trunk=trunk, neck=0.115 * H * r(0.05) * (1.0 if g != "child" else 1.03), head=head,
        shoulder_w=sw, hip_w=hw,
        foot_len=0.152 * H * r(0.04), ankle_h=0.042 * H * r(0.06), heel_back=0.035 * H * r(0.1),
        kyphosis=float(rng.uniform(0.15, 0.45) if g == "elderly" else abs(rng.normal(0, 0.06))),
        knee_flex_stand=float(np.radians(rng.uniform(8, 20) if g == "elderly" else rng.uniform(1, 7))),
        toe_out=float(np.radians(rng.normal(7, 4))),
        stance_w=float(hw * rng.uniform(0.75, 1.25)),
        girth=girth,
    )
    return b


# ----------------------------------------------------------------------------- channels
CHANNELS = {
    # name: width
    "P": 2, "psi": 1, "hz": 1,               # pelvis ground position, heading, height (nan=auto)
    "pel_yaw": 1, "pel_obl": 1,              # pelvis oscillation (yaw, obliquity) about heading
    "flex": 1, "lat": 1, "twist": 1,         # trunk forward lean, lateral bend, thorax twist
    "head_yaw": 1, "head_pitch": 1,          # head relative to thorax
    "FL": 2, "FR": 2,                        # foot flat positions (ankle ground projection)
    "liftL": 1, "liftR": 1, "yawL": 1, "yawR": 1, "pitchL": 1, "pitchR": 1,
    "shfL": 1, "shfR": 1, "abdL": 1, "abdR": 1, "elbL": 1, "elbR": 1, "rotL": 1, "rotR": 1,
    "pronL": 1, "pronR": 1,
    "ikL": 3, "ikR": 3, "ikwL": 1, "ikwR": 1,  # hand IK targets (world) and weights
    "thwL": 1, "thwR": 1,                     # hand resting on / pushing the thigh (weight)
    "walk": 1,                                # locomotion intensity 0..1 (for arm swing etc.)
    "label": 1,
}


@dataclass
class Gait:
    step_len: float
    cadence: float      # steps per second
    swing: float        # swing fraction of the stride (0.3 .. 0.42)
    clearance: float
    heel_pitch: float   # foot pitch at heel strike (toes up), rad
    toe_pitch: float    # foot pitch at toe off (toes down), rad
    arm_amp: float      # shoulder flexion amplitude, rad
    arm_asym: float     # 0..1 reduction of one arm's swing (carrying something)
    elbow: float        # mean elbow flexion
    lean: float         # extra trunk lean while walking
    sway: float         # lateral pelvis sway amplitude, m
    pel_rot: float      # pelvis yaw oscillation amplitude, rad
    style: str
    aid: str            # none | walker | cane

    @property
    def speed(self):
        return self.step_len * self.cadence


def sample_gait(rng, body: Body, style=None) -> Gait:
    H = body.height
    if style is None:
        p = {"child": [0.75, 0.25, 0.0, 0.0], "adult": [0.6, 0.35, 0.03, 0.02],
             "elderly": [0.35, 0.05, 0.35, 0.25]}[body.age_group]
        style = rng.choice(["normal", "brisk", "shuffle", "slow_aid"], p=p)
    if style == "normal":
        sl, cad, sw = rng.uniform(0.34, 0.44) * H, rng.uniform(1.6, 2.0), rng.uniform(0.36, 0.41)
        cl, hp, tp = rng.uniform(0.02, 0.045), rng.uniform(0.2, 0.38), rng.uniform(0.35, 0.7)
        arm, el, lean = rng.uniform(0.15, 0.38), rng.uniform(0.15, 0.45), rng.uniform(-0.02, 0.08)
    elif style == "brisk":
        sl, cad, sw = rng.uniform(0.42, 0.5) * H, rng.uniform(1.9, 2.25), rng.uniform(0.38, 0.42)
        cl, hp, tp = rng.uniform(0.03, 0.06), rng.uniform(0.3, 0.45), rng.uniform(0.55, 0.85)
        arm, el, lean = rng.uniform(0.3, 0.55), rng.uniform(0.35, 0.9), rng.uniform(0.0, 0.1)
    elif style == "shuffle":
        sl, cad, sw = rng.uniform(0.14, 0.26) * H, rng.uniform(1.4, 2.0), rng.uniform(0.28, 0.35)
        cl, hp, tp = rng.uniform(0.003, 0.015), rng.uniform(0.0, 0.1), rng.uniform(0.05, 0.25)
        arm, el, lean = rng.uniform(0.02, 0.12), rng.uniform(0.2, 0.6), rng.uniform(0.08, 0.3)
    else:  # slow walking-aid-like gait
        sl, cad, sw = rng.uniform(0.15, 0.28) * H, rng.uniform(0.9, 1.4), rng.uniform(0.26, 0.33)
        cl, hp, tp = rng.uniform(0.005, 0.025), rng.uniform(0.0, 0.15), rng.uniform(0.05, 0.3)
        arm, el, lean = rng.uniform(0.0, 0.08), rng.uniform(0.4, 1.0), rng.uniform(0.12, 0.4)
    aid = "none"
    if style == "slow_aid":
        aid = str(rng.choice(["walker", "cane", "none"], p=[0.45, 0.3, 0.25]))
    return Gait(step_len=float(sl), cadence=float(cad), swing=float(sw), clearance=float(cl),
                heel_pitch=float(hp), toe_pitch=float(tp), arm_amp=float(arm),
                arm_asym=float(rng.uniform(0.5, 1.0) if rng.random() < 0.15 else 0.0),
                elbow=float(el), lean=float(lean),
                sway=float(rng.uniform(0.012, 0.035) * (1.4 if style in ("shuffle", "slow_aid") else 1)),
                pel_rot=float(rng.uniform(0.03, 0.1) * (0.5 if style in ("shuffle", "slow_aid") else 1)),
                style=str(style), aid=aid)


# ----------------------------------------------------------------------------- scene
@dataclass
class Chair:
    pos: np.ndarray       # front-edge centre of the seat (xy)
    yaw: float            # direction a seated person faces
    seat_h: float
    seat_d: float
    seat_w: float
    back_h: float         # top of backrest above the floor
    arms: bool
    arm_h: float          # armrest height above the floor
    floor: bool = False   # sitting on the floor (since 1.3.0): nothing to occlude

    def boxes(self):
        """Occluding boxes: (centre xyz, half sizes xyz, yaw)."""
        if self.floor:
            return []
        f = np.array([math.cos(self.yaw), math.sin(self.yaw)])
        l = np.array([-f[1], f[0]])
        c = self.pos - f * self.seat_d / 2
        out = [(np.r_[c, self.seat_h / 2], np.array([self.seat_d / 2, self.seat_w / 2, self.seat_h / 2]),
                self.yaw)]
        bc = self.pos - f * (self.seat_d + 0.03)
        out.append((np.r_[bc, (self.seat_h + self.back_h) / 2],
                    np.array([0.03, self.seat_w / 2, (self.back_h - self.seat_h) / 2]), self.yaw))
        if self.arms:
            for s in (-1, 1):
                ac = c + l * s * (self.seat_w / 2 + 0.03)
                out.append((np.r_[ac, (self.seat_h + self.arm_h) / 2],
                            np.array([self.seat_d / 2, 0.03, (self.arm_h - self.seat_h) / 2]), self.yaw))
        return out


def sample_chair(rng, body: Body, pos, yaw) -> Chair:
    s = body.height / 1.7
    seat_h = float(np.clip(rng.uniform(0.40, 0.50) * (s ** 0.5), 0.36, 0.55))
    arms = bool(rng.random() < 0.35)
    return Chair(pos=np.asarray(pos, float), yaw=float(yaw), seat_h=seat_h,
                 seat_d=float(rng.uniform(0.40, 0.50)), seat_w=float(rng.uniform(0.42, 0.56)),
                 back_h=float(seat_h + rng.uniform(0.35, 0.55)), arms=arms,
                 arm_h=float(seat_h + rng.uniform(0.18, 0.25)))


def floor_seat(pos, yaw) -> Chair:
    """A place on the floor to sit, its front edge at `pos` (since 1.3.0)."""
    return Chair(pos=np.asarray(pos, float), yaw=float(yaw), seat_h=0.0, seat_d=0.3, seat_w=0.4,
                 back_h=0.0, arms=False, arm_h=0.0, floor=True)


def fwd2(psi):
    return np.stack([np.cos(psi), np.sin(psi)], -1)


def left2(psi):
    return np.stack([-np.sin(psi), np.cos(psi)], -1)


class Builder:
    """Turns a plan of actions into per-frame control channels at DT."""

    def __init__(self, rng, body: Body, gait: Gait):
        self.rng, self.b, self.g = rng, body, gait
        self.buf = {k: [] for k in CHANNELS}
        self.last = {}
        self.n = 0
        self.sitting = False
        self.chair: Chair | None = None
        self.chairs: list[Chair] = []
        self.tables: list[tuple] = []
        self.events: list[tuple] = []
        self.rest_arm = {"shf": rng.uniform(-0.05, 0.12), "abd": rng.uniform(0.03, 0.15),
                         "elb": rng.uniform(0.1, 0.45), "rot": rng.uniform(0.0, 0.35),
                         "pron": rng.uniform(0.0, 0.6)}
        self.base_flex = float(rng.normal(0.03, 0.03) + (0.08 if body.age_group == "elderly" else 0))

    # --- basic channel handling
    @property
    def t(self):
        return self.n * DT

    def emit(self, n, **ch):
        if n <= 0:
            return
        for k, w in CHANNELS.items():
            if k in ch:
                a = np.asarray(ch[k], float)
                a = np.broadcast_to(a.reshape((-1,) + ((w,) if w > 1 else ())) if a.ndim else a,
                                    (n, w) if w > 1 else (n,)).copy()
            else:
                a = np.repeat(np.asarray(self.last[k], float)[None], n, 0)
            self.buf[k].append(a)
            self.last[k] = a[-1].copy() if w > 1 else float(a[-1])
        self.n += n

    def ramp(self, k, target, n, t0=0.0, t1=1.0):
        """Channel k from its last value to target over the fraction [t0,t1] of n samples."""
        a = np.asarray(self.last[k], float)
        p = minjerk((np.linspace(0, 1, n) - t0) / max(t1 - t0, 1e-6))
        target = np.asarray(target, float)
        return a + (target - a) * (p[:, None] if a.ndim else p)

    def z_stand(self):
        b = self.b
        k = b.knee_flex_stand
        Lk = math.sqrt(b.thigh ** 2 + b.shank ** 2 + 2 * b.thigh * b.shank * math.cos(k))
        dh = abs(b.hip_w - b.stance_w) / 2
        return b.ankle_h + math.sqrt(max(Lk ** 2 - dh ** 2, 0.01))

    def init(self, P, psi, sitting=False, chair=None):
        b = self.b
        P = np.asarray(P, float)
        l = left2(psi)
        ra = self.rest_arm
        self.last = dict(
            P=P, psi=psi, hz=np.inf, pel_yaw=0.0, pel_obl=0.0, flex=self.base_flex, lat=0.0,
            twist=0.0, head_yaw=0.0, head_pitch=0.0,
            FL=P + l * b.stance_w / 2, FR=P - l * b.stance_w / 2, liftL=0.0, liftR=0.0,
            yawL=psi + b.toe_out, yawR=psi - b.toe_out, pitchL=0.0, pitchR=0.0,
            shfL=ra["shf"], shfR=ra["shf"], abdL=ra["abd"], abdR=ra["abd"], elbL=ra["elb"],
            elbR=ra["elb"], rotL=ra["rot"], rotR=ra["rot"], pronL=ra["pron"], pronR=ra["pron"],
            ikL=np.zeros(3), ikR=np.zeros(3), ikwL=0.0, ikwR=0.0, walk=0.0, label=CLS["still"])
        self.last["thwL"] = 0.0
        self.last["thwR"] = 0.0
        if sitting:
            self._seat(chair)

    def _seat_geometry(self, chair: Chair):
        b = self.b
        f = fwd2(chair.yaw)
        hip = chair.pos - f * (b.thigh * 0.93 - 0.04)
        z = chair.seat_h + 0.075 * b.height / 1.7 + 0.02 * (b.girth - 1)
        return hip, z

    def _seat(self, chair: Chair):
        """Start the sequence already seated on chair."""
        b, rng = self.b, self.rng
        hip, z = self._seat_geometry(chair)
        f, l = fwd2(chair.yaw), left2(chair.yaw)
        feet = hip + f * (b.thigh * rng.uniform(0.9, 1.25))
        self.last.update(P=hip, psi=chair.yaw, hz=z, FL=feet + l * b.stance_w / 2,
                         FR=feet - l * b.stance_w / 2, flex=float(rng.uniform(-0.15, 0.15)),
                         thwL=1.0, thwR=1.0)
        self.sitting, self.chair = True, chair
        self.chairs.append(chair)

    # channel emission with thigh-attachment weights (not in CHANNELS table: kept separately)
    def emit2(self, n, thwL=None, thwR=None, **ch):
        if thwL is not None:
            ch["thwL"] = thwL
        if thwR is not None:
            ch["thwR"] = thwR
        self.emit(n, **ch)

    # --- locomotion: footstep planner over a pelvis path
    def locomote(self, Pp, psp, labels, gait: Gait | None = None, lead=None, cadence=None):
        b, rng = self.b, self.rng
        g = gait or self.g
        cad = cadence or g.cadence
        stride = 2.0 / cad
        sw = g.swing
        n0 = len(Pp)
        T_end = (n0 - 1) * DT
        tail = int(math.ceil(2.5 * stride / DT)) + 2
        Pp = np.concatenate([Pp, np.repeat(Pp[-1:], tail, 0)])
        psp = np.concatenate([psp, np.repeat(psp[-1:], tail, 0)])
        labels = np.concatenate([labels, np.repeat(labels[-1:], tail)])
        n = len(Pp)
        if lead is None:
            lead = int(rng.integers(0, 2))
        cur = [(self.last["FL"].copy(), self.last["yawL"]), (self.last["FR"].copy(), self.last["yawR"])]
        steps = {0: [], 1: []}
        done = [False, False]
        t_first = rng.uniform(0.0, 0.1)
        k = 0
        while not all(done) and k < 400:
            for side in (lead, 1 - lead):
                if done[side]:
                    continue
                t_lift = t_first + (k + (0.0 if side == lead else 0.5)) * stride
                t_land = t_lift + sw * stride
                t_mid = t_land + (1 - sw) * stride / 2
                i_mid = min(int(round(t_mid / DT)), n - 1)
                sgn = 1.0 if side == 0 else -1.0
                ps = psp[i_mid]
                target = Pp[i_mid] + sgn * left2(ps) * b.stance_w / 2 + rng.normal(0, 0.008, 2)
                yaw_t = ps + sgn * b.toe_out + rng.normal(0, 0.03)
                if t_mid >= T_end:
                    done[side] = True
                F0, y0 = cur[side]
                if np.linalg.norm(target - F0) < 0.035 and abs(wrap(yaw_t - y0)) < 0.1:
                    continue
                if int(round(t_land / DT)) >= n - 1:
                    done[side] = True
                    continue
                steps[side].append((t_lift, t_land, F0, target, y0, y0 + wrap(yaw_t - y0)))
                cur[side] = (target, y0 + wrap(yaw_t - y0))
            k += 1
        t_last = max([s[1] for side in (0, 1) for s in steps[side]] + [T_end])
        n = min(n, int(math.ceil(t_last / DT)) + int(rng.uniform(0.1, 0.3) / DT))
        Pp, psp, labels = Pp[:n], psp[:n], labels[:n]
        t = np.arange(n) * DT
        out = {}
        swing_ind = np.zeros(n)
        stepk = np.zeros(n)
        for side, nm in ((0, "L"), (1, "R")):
            F = np.repeat(self.last["F" + nm][None], n, 0).astype(float)
            yaw = np.full(n, self.last["yaw" + nm])
            lift = np.zeros(n)
            pitch = np.zeros(n)
            st = steps[side]
            prev_tp = 0.0
            for j, (tl, td, F0, F1, y0, y1) in enumerate(st):
                i0, i1 = int(round(tl / DT)), min(int(round(td / DT)), n)
                dist = float(np.linalg.norm(F1 - F0))
                kk = float(np.clip(dist / max(g.step_len * 1.6, 0.2), 0.0, 1.0))
                hp = g.heel_pitch * kk
                s = np.clip((t[i0:i1] - tl) / (td - tl), 0, 1)
                m = minjerk(s)
                F[i0:i1] = F0 + (F1 - F0) * m[:, None]
                yaw[i0:i1] = y0 + (y1 - y0) * m
                lift[i0:i1] = g.clearance * (0.5 + 0.5 * kk) * np.sin(np.pi * s) ** 0.8
                pitch[i0:i1] = -prev_tp + (hp + prev_tp) * smoothstep(s) + 0.12 * kk * np.sin(np.pi * s)
                swing_ind[i0:i1] = 1.0
                stepk[i0:i1] = np.maximum(stepk[i0:i1], kk)
                F[i1:] = F1
                yaw[i1:] = y1
                # stance after landing: heel rocker, flat, then heel-off before the next lift
                nxt = st[j + 1][0] if j + 1 < len(st) else None
                stance_end = int(round(nxt / DT)) if nxt is not None else n
                ts = t[i1:stance_end] - td
                pitch[i1:stance_end] = hp * (1 - smoothstep(ts / (0.12 * stride)))
                if nxt is not None:
                    # toe-off angle depends on the next step's length
                    F2 = st[j + 1][3]
                    k2 = float(np.clip(np.linalg.norm(F2 - F1) / max(g.step_len * 1.6, 0.2), 0, 1))
                    prev_tp = g.toe_pitch * k2
                    t_ho = nxt - 0.3 * stride * k2 - 0.05
                    sel = t[i1:stance_end] > t_ho
                    pitch[i1:stance_end][sel] += -prev_tp * smoothstep(
                        (t[i1:stance_end][sel] - t_ho) / max(nxt - t_ho, 1e-3))
                else:
                    prev_tp = 0.0
            out["F" + nm], out["yaw" + nm], out["lift" + nm], out["pitch" + nm] = F, yaw, lift, pitch
        env = np.clip(lowpass_fast(swing_ind, DT, 0.3 * stride) * 1.6, 0, 1)
        ampk = np.clip(lowpass_fast(stepk, DT, 0.5 * stride) * 1.4, 0, 1)
        e = env * ampk
        phi = (t - t_first) / stride
        sl = 1.0 if lead == 0 else -1.0
        sway = -sl * g.sway * np.cos(2 * np.pi * (phi - sw / 2)) * env
        P = Pp + left2(psp) * sway[:, None]
        pel_yaw = -sl * g.pel_rot * e * np.sin(2 * np.pi * (phi - (sw - 0.25)))
        pel_obl = -sl * 0.06 * e * np.cos(2 * np.pi * (phi - sw / 2)) * (g.sway / 0.025)
        osc = sl * np.sin(2 * np.pi * (phi - (0.25 + sw)))
        ra = self.rest_arm
        aL = g.arm_amp * (1 - g.arm_asym)
        aR = g.arm_amp
        if rng.random() < 0.5:
            aL, aR = aR, aL
        shfL = ra["shf"] + 0.05 * e + aL * e * osc
        shfR = ra["shf"] + 0.05 * e - aR * e * osc
        elbL = g.elbow * (0.6 + 0.4 * e) + 0.5 * aL * e * np.clip(osc, 0, None) + 0.1
        elbR = g.elbow * (0.6 + 0.4 * e) + 0.5 * aR * e * np.clip(-osc, 0, None) + 0.1
        ch = dict(P=P, psi=psp, hz=np.inf, pel_yaw=pel_yaw, pel_obl=pel_obl,
                  flex=self.base_flex + g.lean * env, twist=-1.3 * pel_yaw, walk=env, label=labels,
                  shfL=self._blend_in("shfL", shfL),
                  shfR=self._blend_in("shfR", shfR), elbL=self._blend_in("elbL", elbL),
                  elbR=self._blend_in("elbR", elbR), abdL=ra["abd"] + 0.04 * e, abdR=ra["abd"] + 0.04 * e,
                  rotL=ra["rot"], rotR=ra["rot"], pronL=ra["pron"], pronR=ra["pron"], **out)
        # walking aids: hands on walker handles / cane
        ikw = np.clip(env * 3, 0, 1) if g.aid != "none" else None
        if g.aid == "walker":
            zh = 0.52 * b.height
            for nm, s in (("L", 1.0), ("R", -1.0)):
                ch["ik" + nm] = np.c_[lowpass_fast(Pp, DT, 0.2) + fwd2(psp) * 0.33 * b.height / 1.7
                                      + left2(psp) * s * 0.23, np.full(n, zh)]
                ch["ikw" + nm] = np.maximum(ikw, self.last["ikw" + nm] * (1 - smoothstep(t / 0.5)))
        elif g.aid == "cane":
            nm, s = (("R", -1.0) if rng.random() < 0.6 else ("L", 1.0))
            tip = lowpass_fast(Pp, DT, 0.25) + fwd2(psp) * (0.12 + 0.1 * osc * s)[:, None] \
                + left2(psp) * s * 0.3
            ch["ik" + nm] = np.c_[tip, np.full(n, 0.47 * b.height)]
            ch["ikw" + nm] = ikw
        self.emit2(n, **ch)
        self.events.append(("locomote", self.t - n * DT, self.t))

    def _blend_in(self, k, arr):
        """Start channel k from its current value and blend into arr over ~0.4 s."""
        n = len(arr)
        w = smoothstep(np.arange(n) * DT / 0.4)
        return self.last[k] * (1 - w) + arr * w

    # --- path helpers
    def path_bout(self, segments, v, lab_line=WALK):
        """segments: list of ("line", length) | ("arc", angle, radius); heading follows the
        tangent. Speed profile with acceleration limits; arcs at reduced speed."""
        P0 = self.last["P"].copy()
        psi0 = float(self.last["psi"])
        ds = 0.01
        pts, hds, labs, sfs = [], [], [], []
        p, h = P0.copy(), psi0
        for seg in segments:
            if seg[0] == "line":
                m = max(int(seg[1] / ds), 1)
                for _ in range(m):
                    p = p + fwd2(h) * ds
                    pts.append(p.copy()); hds.append(h); labs.append(lab_line); sfs.append(1.0)
            else:
                ang, r = seg[1], max(seg[2], 0.05)
                L = abs(ang) * r
                m = max(int(L / ds), 1)
                dh = ang / m
                for _ in range(m):
                    h = h + dh
                    p = p + fwd2(h) * (L / m)
                    pts.append(p.copy()); hds.append(h)
                    labs.append(CLS["turn"] if abs(ang) >= 0.75 else lab_line)
                    sfs.append(float(np.clip(0.45 + 0.5 * r, 0.45, 0.8)))
        pts, hds, labs, sfs = np.array(pts), np.array(hds), np.array(labs), np.array(sfs)
        # smooth the speed factor so speed changes gradually
        sfs = lowpass_fast(sfs, 1.0, 25.0)
        L = len(pts) * ds
        acc = self.rng.uniform(0.7, 1.4)
        s, out_s = 0.0, []
        vv = 0.0
        while s < L - 1e-3 and len(out_s) < 100000:
            i = min(int(s / ds), len(pts) - 1)
            vt = min(v * sfs[i], math.sqrt(2 * acc * max(L - s, 0.0)) + 0.02)
            vv = min(vt, vv + acc * DT) if vt > vv else max(vt, vv - 2 * acc * DT)
            vv = max(vv, 0.03)
            s += vv * DT
            out_s.append(min(s, L - 1e-6))
        idx = np.minimum((np.array(out_s) / ds).astype(int), len(pts) - 1)
        Pp = np.vstack([P0[None], pts[idx]])
        psp = np.r_[psi0, hds[idx]]
        lab = np.r_[labs[0], labs[idx]]
        psp = lowpass_fast(psp, DT, 0.12)
        return Pp, psp, lab

    # --- actions
    def walk(self, segments, gait=None):
        g = gait or self.g
        v = g.speed * self.rng.uniform(0.92, 1.08)
        Pp, psp, lab = self.path_bout(segments, v)
        self.locomote(Pp, psp, lab, gait=g)

    def turn_in_place(self, angle, dur=None, gait=None):
        g = gait or self.g
        rng = self.rng
        if dur is None:
            dur = float(np.clip(abs(angle) / np.pi * rng.uniform(1.2, 2.6)
                                * (1.4 if g.style in ("shuffle", "slow_aid") else 1.0), 0.8, 3.0))
        n = max(int(dur / DT), 2)
        p = minjerk(np.linspace(0, 1, n))
        psi0 = float(self.last["psi"])
        P0 = self.last["P"] - left2(psi0) * 0.0
        # the pelvis centre ends between the feet; small drift
        Pp = P0 + (rng.normal(0, 0.05, 2)[None] * p[:, None])
        psp = psi0 + angle * p
        lead = (0 if angle > 0 else 1) if rng.random() < 0.75 else None
        cad = max(g.cadence * rng.uniform(0.9, 1.2), rng.uniform(1.5, 1.9))
        self.locomote(Pp, psp, np.full(n, CLS["turn"]), gait=g, lead=lead, cadence=cad)

    def stand_still(self, dur, gestures=True):
        n = max(int(dur / DT), 1)
        rng = self.rng
        ch = dict(label=CLS["still"], walk=0.0, pel_yaw=self.ramp("pel_yaw", 0, n, 0, 0.3),
                  pel_obl=self.ramp("pel_obl", 0, n, 0, 0.3), twist=self.ramp("twist", 0, n, 0, 0.3),
                  liftL=0.0, liftR=0.0, pitchL=0.0, pitchR=0.0)
        # weight shifts: pelvis moves toward one foot now and then
        P = np.repeat(self.last["P"][None], n, 0)
        mid = (self.last["FL"] + self.last["FR"]) / 2
        if rng.random() < 0.5 and dur > 2:
            side = self.last["FL"] - mid
            w = colored(rng, n, DT, 0.15, 0.35)
            P = P + (mid - self.last["P"]) * smoothstep(np.arange(n) * DT / 1.0)[:, None] + w[:, None] * side
        ch["P"] = P
        for s in "LR":
            for k, v in (("shf", self.rest_arm["shf"]), ("elb", self.rest_arm["elb"]),
                         ("abd", self.rest_arm["abd"]), ("ikw", 0.0)):
                if abs(self.last[k + s] - v) > 1e-3:
                    ch[k + s] = self.ramp(k + s, v, n, 0, min(1.0, 0.8 / dur))
        thw = {s: self.ramp("thw" + s, 0.0, n, 0, min(1.0, 0.6 / dur)) for s in "LR"}
        if gestures and dur > 1.5 and rng.random() < 0.45:
            self._gesture(ch, n, sitting=False)
        self.emit2(n, thwL=thw["L"], thwR=thw["R"], **ch)

    def sit_still(self, dur, gestures=True):
        n = max(int(dur / DT), 1)
        rng = self.rng
        ch = dict(label=CLS["still"], walk=0.0, pel_yaw=0.0, pel_obl=0.0, twist=0.0,
                  liftL=0.0, liftR=0.0, pitchL=0.0, pitchR=0.0)
        ch["flex"] = self.last["flex"] + colored(rng, n, DT, 0.08, 0.05) * smoothstep(np.arange(n) * DT)
        thw = None
        if gestures and dur > 1.5 and rng.random() < 0.5:
            thw = self._gesture(ch, n, sitting=True)
        if thw is None:
            self.emit2(n, **ch)
        else:
            self.emit2(n, thwL=thw[0], thwR=thw[1], **ch)

    def _gesture(self, ch, n, sitting):
        """Hands do something while the person stays put (phone, face, hips, cross arms, wave)."""
        rng, b = self.rng, self.b
        kind = rng.choice(["phone", "face", "hips", "cross", "wave", "point"])
        d = n * DT
        t0 = rng.uniform(0, max(d - 1.5, 0.1))
        t1 = min(d, t0 + rng.uniform(1.0, max(1.2, d - t0)))
        tt = np.arange(n) * DT
        w = smoothstep((tt - t0) / 0.5) * (1 - smoothstep((tt - (t1 - 0.5)) / 0.5))
        P, psi = self.last["P"], float(self.last["psi"])
        f, l = fwd2(psi), left2(psi)
        zp = self.last["hz"] if np.isfinite(self.last["hz"]) else self.z_stand()
        sh = zp + b.trunk * 0.95
        sides = ["L", "R"] if kind in ("phone", "hips", "cross") else [rng.choice(["L", "R"])]
        thw = [np.full(n, self.last["thwL"]), np.full(n, self.last["thwR"])]
        for s in sides:
            sg = 1.0 if s == "L" else -1.0
            if kind == "phone":
                tgt = np.r_[P + f * 0.3 * b.height / 1.7 + l * sg * 0.05, sh - 0.25 * b.height / 1.7]
            elif kind == "face":
                tgt = np.r_[P + f * 0.12 + l * sg * 0.05, sh + 0.12 * b.height / 1.7]
            elif kind == "hips":
                tgt = np.r_[P + l * sg * (b.hip_w / 2 + 0.07) - f * 0.02, zp + 0.08]
            elif kind == "cross":
                tgt = np.r_[P + f * 0.18 - l * sg * 0.12, sh - 0.22 * b.height / 1.7]
            elif kind == "wave":
                tgt = np.r_[P + f * 0.1 + l * sg * 0.4, sh + 0.35 * b.height / 1.7]
            else:
                tgt = np.r_[P + f * 0.55 + l * sg * 0.3, sh + 0.05]
            tg = np.repeat(tgt[None], n, 0)
            if kind == "wave":
                tg[:, :2] += (l * sg)[None] * (0.12 * np.sin(2 * np.pi * 1.8 * tt))[:, None]
            ch["ik" + s] = tg
            ch["ikw" + s] = np.maximum(w, 0)
            i = 0 if s == "L" else 1
            thw[i] = thw[i] * (1 - w)
        return thw

    def sit_down(self, chair: Chair, dur=None):
        b, rng = self.b, self.rng
        old = b.age_group == "elderly"
        if dur is None:
            dur = rng.uniform(1.8, 4.2) if old else rng.uniform(1.2, 2.6)
        n = max(int(dur / DT), 2)
        tau = np.linspace(0, 1, n) ** rng.uniform(0.85, 1.2)
        hip, zs = self._seat_geometry(chair)
        P0 = self.last["P"].copy()
        z0 = self.z_stand() + 0.01
        Fp = rng.uniform(0.3, 0.65) - 0.5 * b.kyphosis
        f0 = float(self.last["flex"])
        f_seat = rng.uniform(-0.2, 0.15)
        plop = rng.random() < (0.45 if old else 0.1)
        hz_p = smoothstep(np.clip((tau - 0.08) / 0.92, 0, 1))
        if plop:  # controlled first, then drops onto the seat
            hz_p = np.where(tau < 0.7, 0.6 * smoothstep(tau / 0.7), 0.6 + 0.4 * np.clip((tau - 0.7) / 0.2, 0, 1) ** 1.6)
        P = P0 + (hip - P0) * smoothstep(np.clip(tau / 0.85, 0, 1) ** 0.8)[:, None]
        hz = z0 + (zs - z0) * hz_p
        flex = f0 + Fp * np.sin(np.pi * np.clip(tau / 0.92, 0, 1)) ** 1.3 + (f_seat - f0) * smoothstep((tau - 0.6) / 0.4)
        ch = dict(P=P, hz=hz, flex=flex, label=CLS["sit_down"], walk=0.0,
                  pel_yaw=self.ramp("pel_yaw", 0, n, 0, 0.3), pel_obl=self.ramp("pel_obl", 0, n, 0, 0.3),
                  twist=self.ramp("twist", 0, n, 0, 0.3), liftL=0.0, liftR=0.0, pitchL=0.0, pitchR=0.0,
                  head_pitch=0.25 * np.sin(np.pi * tau))
        thw = self._arms_transition(ch, n, tau, chair, down=True)
        self.emit2(n, thwL=thw[0], thwR=thw[1], **ch)
        self.sitting, self.chair = True, chair
        if not any(c is chair for c in self.chairs):
            self.chairs.append(chair)
        self.events.append(("sit_down", self.t - n * DT, self.t))

    def stand_up(self, dur=None):
        b, rng = self.b, self.rng
        chair = self.chair
        old = b.age_group == "elderly"
        pre = []
        feet_mid = (self.last["FL"] + self.last["FR"]) / 2
        f = fwd2(chair.yaw)
        hip, zs = self._seat_geometry(chair)
        # feet pulled back before rising if they are far forward
        dfeet = float(np.dot(feet_mid - hip, f))
        if dfeet > b.thigh * 1.05 and rng.random() < 0.8:
            m = int(rng.uniform(0.4, 0.8) / DT)
            back = f * (dfeet - b.thigh * rng.uniform(0.85, 1.0))
            s = minjerk(np.linspace(0, 1, m))
            lift = 0.02 * np.sin(np.pi * s)
            pre.append(dict(n=m, FL=self.last["FL"] - back * s[:, None], FR=self.last["FR"] - back * s[:, None],
                            liftL=lift, liftR=lift))
        if dur is None:
            dur = rng.uniform(1.8, 4.5) if old else rng.uniform(1.1, 2.4)
        for pc in pre:
            m = pc.pop("n")
            self.emit2(m, label=CLS["stand_up"], **pc)
        if old and rng.random() < 0.12:  # a rocking attempt before the real one
            m = int(rng.uniform(0.8, 1.4) / DT)
            fl = self.last["flex"] + rng.uniform(0.2, 0.4) * np.sin(np.pi * np.linspace(0, 1, m))
            self.emit2(m, flex=fl, label=CLS["stand_up"])
        n = max(int(dur / DT), 2)
        tau = np.linspace(0, 1, n) ** rng.uniform(0.85, 1.15)
        feet_mid = (self.last["FL"] + self.last["FR"]) / 2
        P_end = feet_mid + f * rng.uniform(-0.04, 0.03)
        z1 = self.z_stand() + 0.01
        Fp = rng.uniform(0.4, 0.75) - 0.5 * b.kyphosis
        f0 = float(self.last["flex"])
        f_end = self.base_flex
        t_off = rng.uniform(0.28, 0.42)
        flex = np.where(tau < t_off + 0.05, f0 + (Fp - f0) * smoothstep(tau / (t_off + 0.05)),
                        Fp + (f_end - Fp) * smoothstep((tau - t_off - 0.05) / (0.95 - t_off)))
        P0 = self.last["P"].copy()
        P = P0 + (P_end - P0) * smoothstep((tau - t_off + 0.12) / 0.5)[:, None]
        hz = zs + (z1 - zs) * smoothstep((tau - t_off) / (1 - t_off) * 1.05) ** 0.9
        ch = dict(P=P, hz=hz, flex=flex, label=CLS["stand_up"], walk=0.0, liftL=0.0, liftR=0.0,
                  pitchL=0.0, pitchR=0.0, head_pitch=0.2 * np.sin(np.pi * np.clip(tau / 0.7, 0, 1)))
        thw = self._arms_transition(ch, n, tau, chair, down=False, t_off=t_off)
        self.emit2(n, thwL=thw[0], thwR=thw[1], **ch)
        self.last["hz"] = np.inf
        self.sitting = False
        self.events.append(("stand_up", self.t - n * DT, self.t))

    def lie_back(self, dur):
        """Seated on the floor -> lying on the back, legs stretched out (label `other`)."""
        b = self.b
        reach = (b.thigh + b.shank) * self.rng.uniform(0.9, 0.98)
        self._on_floor(dur, reach, self.rng.uniform(-1.5, -1.35), 0.10, foot_pitch=-0.9, head_pitch=0.3)

    def sit_up(self, dur):
        """Lying on the back -> seated on the floor, knees up (label `other`)."""
        reach = self.b.thigh * self.rng.uniform(0.95, 1.15)
        self._on_floor(dur, reach, self.rng.uniform(0.1, 0.4), self._seat_geometry(self.chair)[1],
                       foot_pitch=0.0, head_pitch=0.0)

    def _on_floor(self, dur, reach, flex_end, hz_end, foot_pitch, head_pitch):
        """A move on the floor (label `other`): the feet slide to `reach` in front of the
        pelvis while trunk lean, pelvis height, foot pitch and head pitch go to their ends."""
        n = max(int(dur / DT), 2)
        tau = minjerk(np.linspace(0, 1, n))
        f = fwd2(float(self.last["psi"]))
        move = self.last["P"] + f * reach - (self.last["FL"] + self.last["FR"]) / 2
        to = lambda k, end: float(self.last[k]) + (end - float(self.last[k])) * tau
        self.emit2(n, FL=self.last["FL"] + move * tau[:, None], FR=self.last["FR"] + move * tau[:, None],
                   flex=to("flex", flex_end), hz=to("hz", hz_end), pitchL=to("pitchL", foot_pitch),
                   pitchR=to("pitchR", foot_pitch), head_pitch=to("head_pitch", head_pitch),
                   label=CLS["other"], walk=0.0)

    def _arms_transition(self, ch, n, tau, chair, down, t_off=0.35):
        b, rng = self.b, self.rng
        opts = ["thighs", "free", "thighs", "reach" if not down else "free", "cross"]
        if chair.arms:
            opts += ["armrests"] * 3
        mode = rng.choice(opts)
        thw = [np.full(n, self.last["thwL"]), np.full(n, self.last["thwR"])]
        ra = self.rest_arm
        if down:
            w = smoothstep((tau - 0.25) / 0.4)
        else:
            w = 1 - smoothstep((tau - t_off - 0.05) / 0.3)
        rest_thigh = rng.random() < 0.7
        for i, s in enumerate("LR"):
            sg = 1.0 if s == "L" else -1.0
            if self.last["ikw" + s] > 0:  # let go of a walker / previous target
                ch["ikw" + s] = self.ramp("ikw" + s, 0.0, n, 0, 0.3)
            if mode == "thighs":
                thw[i] = w if down else np.maximum(w, thw[i] * (tau < 0.05))
                if not down:
                    thw[i] = np.maximum(thw[i], w)
            elif mode == "armrests":
                hip, _ = self._seat_geometry(chair)
                f, l = fwd2(chair.yaw), left2(chair.yaw)
                tgt = np.r_[hip + f * 0.12 + l * sg * (chair.seat_w / 2 + 0.03), chair.arm_h + 0.03]
                ch["ik" + s] = np.repeat(tgt[None], n, 0)
                ww = w if not down else smoothstep((tau - 0.2) / 0.35) * (1 - smoothstep((tau - 0.85) / 0.15))
                ch["ikw" + s] = ww
                thw[i] = (smoothstep((tau - 0.8) / 0.2) if down and rest_thigh else
                          thw[i] * (1 - smoothstep(tau / 0.2)))
            elif mode == "reach":
                ch["shf" + s] = ra["shf"] + rng.uniform(0.6, 1.3) * np.sin(np.pi * np.clip(tau / (t_off + 0.35), 0, 1))
                ch["elb" + s] = ra["elb"] * (1 - 0.5 * np.sin(np.pi * np.clip(tau / (t_off + 0.35), 0, 1)))
                thw[i] = thw[i] * (1 - smoothstep(tau / 0.15))
            elif mode == "cross":
                # arms crossed over the chest (clinical TUG / sit-to-stand protocol)
                P, psi = ch["P"], float(self.last["psi"])
                f, l = fwd2(psi), left2(psi)
                zc = np.minimum(ch["hz"], self.z_stand()) + b.trunk * 0.7
                tgt = np.c_[P + f * (0.16 + 0.25 * np.sin(ch["flex"]))[:, None] - l * sg * 0.12, zc]
                ch["ik" + s] = tgt
                ch["ikw" + s] = smoothstep(tau / 0.15) * (1 - smoothstep((tau - 0.85) / 0.15))
                thw[i] = thw[i] * (1 - smoothstep(tau / 0.15)) + (smoothstep((tau - 0.85) / 0.15) if down else 0)
            else:  # free: arms forward a little for balance
                amp = rng.uniform(0.1, 0.5)
                ch["shf" + s] = ra["shf"] + amp * np.sin(np.pi * tau)
                thw[i] = (smoothstep((tau - 0.8) / 0.2) if down and rest_thigh else thw[i] * (1 - smoothstep(tau / 0.2)))
        return thw

    # --- movements that are none of the activities
    def exercise(self, kind=None):
        """A bout of a movement that is none of the activities, labelled `other`: squats,
        jumps, jumping jacks, bending down to pick something up, lunges. In a gym or at home
        these would otherwise read as sitting down and standing up (and could complete a
        Timed Up and Go test), or as walking. Standing, feet where they are, heading kept;
        ends standing with the feet back in place."""
        b, rng = self.b, self.rng
        old = b.age_group == "elderly"
        if kind is None:
            p = [0.4, 0.4, 0.2] if old else [0.28, 0.18, 0.14, 0.24, 0.16]
            kind = str(rng.choice(exercise_kinds(b), p=p))
        psi = float(self.last["psi"])
        f, l = fwd2(psi), left2(psi)
        P0 = self.last["P"].copy()
        FL0, FR0 = self.last["FL"].copy(), self.last["FR"].copy()
        z0 = self.z_stand()
        f0 = float(self.last["flex"])
        ra = self.rest_arm
        other = CLS["other"]
        # arms back to rest and hands free first (a previous gesture or walker)
        ch0 = {}
        for s in "LR":
            for k, v in (("ikw", 0.0), ("thw", 0.0)):
                if abs(self.last[k + s] - v) > 1e-3:
                    ch0[k + s] = self.ramp(k + s, v, 12)
        if ch0:
            self.emit2(12, label=other, walk=0.0, **ch0)
        if kind in ("squat", "jump", "jacks", "lunge"):
            reps = int(rng.integers(1, 4) if old else rng.integers(2, 11))
        else:
            reps = int(rng.integers(1, 3))
        if kind == "squat":
            period = rng.uniform(2.0, 3.6) if old else rng.uniform(1.2, 3.0)
            depth = (rng.uniform(0.12, 0.3) if old else rng.uniform(0.2, 0.55)) * b.leg
            hold = rng.uniform(0.0, 0.25) * period
            n = int(reps * period / DT)
            u = (np.arange(n) * DT / period) % 1.0
            # down in (1-hold)/2, hold, up in (1-hold)/2
            h = hold / period
            d = (1 - h) / 2
            prof = np.where(u < d, smoothstep(u / d), np.where(u < d + h, 1.0, 1 - smoothstep((u - d - h) / d)))
            arms = rng.choice(["forward", "hips", "cross", "free"])
            lean = rng.uniform(0.35, 0.8)
            ch = dict(hz=z0 + 0.06 - depth * prof, flex=f0 + lean * prof,
                      P=P0[None] - f[None] * (0.12 * depth / b.leg * prof)[:, None],
                      head_pitch=-0.2 * prof)
            self._exercise_arms(ch, n, arms, prof)
        elif kind == "jump":
            period = rng.uniform(0.55, 1.3)
            height = rng.uniform(0.04, 0.3)
            n = int(reps * period / DT)
            u = (np.arange(n) * DT / period) % 1.0
            fl = float(np.clip(2 * math.sqrt(2 * height / 9.81) / period, 0.2, 0.6))
            t_off = rng.uniform(0.3, 0.45) * (1 - fl)
            s = np.clip((u - t_off) / fl, 0, 1)
            air = (u > t_off) & (u < t_off + fl)
            lift = np.where(air, height * 4 * s * (1 - s), 0.0)
            dip = rng.uniform(0.06, 0.2) * b.leg
            crouch = np.where(u <= t_off, np.sin(np.pi * u / t_off) ** 2, 0.0)
            land = np.where(u >= t_off + fl, np.sin(np.pi * np.clip((u - t_off - fl) / (1 - t_off - fl), 0, 1)) ** 2, 0.0)
            dipp = np.maximum(crouch, land)
            ch = dict(hz=np.where(air, 9.0, z0 + 0.06 - dip * dipp), liftL=lift, liftR=lift,
                      flex=f0 + rng.uniform(0.2, 0.5) * dipp,
                      pitchL=np.where(air, -0.3 * (1 - s), 0.0), pitchR=np.where(air, -0.3 * (1 - s), 0.0))
            swing = np.where(u <= t_off, -0.6 * np.sin(np.pi * u / max(t_off, 1e-3)), 1.3 * np.sin(np.pi * np.clip((u - t_off) / (1 - t_off), 0, 1)))
            amp = rng.uniform(0.4, 1.0)
            for sd in "LR":
                ch["shf" + sd] = ra["shf"] + amp * swing
                ch["elb" + sd] = np.full(n, ra["elb"] + 0.2)
        elif kind == "jacks":
            period = rng.uniform(0.7, 1.4)
            n = int(reps * period / DT)
            u = (np.arange(n) * DT / period) % 1.0
            out = smoothstep(u / 0.35) * (1 - smoothstep((u - 0.5) / 0.35))  # feet apart, arms up
            w = rng.uniform(0.2, 0.35)
            hop = rng.uniform(0.0, 0.07)
            lift = hop * (np.sin(np.pi * np.clip(u / 0.25, 0, 1)) + np.sin(np.pi * np.clip((u - 0.5) / 0.25, 0, 1)))
            ch = dict(FL=FL0[None] + l[None] * (w * out)[:, None], FR=FR0[None] - l[None] * (w * out)[:, None],
                      liftL=lift, liftR=lift, hz=np.where(lift > 0, 9.0, z0 + 0.06 - 0.04 * b.leg * out))
            top = rng.uniform(2.3, 3.0)
            for sd in "LR":
                ch["abd" + sd] = ra["abd"] + (top - ra["abd"]) * out
                ch["elb" + sd] = ra["elb"] * (1 - out) + 0.1 * out
        elif kind == "bend":
            n_one = int(rng.uniform(1.6, 4.0) / DT)
            n = n_one * reps
            tt = np.linspace(0, 1, n_one)
            hold = rng.uniform(0.15, 0.45)
            a = (1 - hold) / 2
            prof1 = np.where(tt < a, minjerk(tt / a), np.where(tt < a + hold, 1.0, 1 - minjerk((tt - a - hold) / a)))
            prof = np.tile(prof1, reps)
            style = rng.choice(["stoop", "squat", "mixed"])
            flex_max = {"stoop": rng.uniform(1.0, 1.5), "squat": rng.uniform(0.4, 0.8), "mixed": rng.uniform(0.7, 1.1)}[style]
            depth = {"stoop": rng.uniform(0.02, 0.1), "squat": rng.uniform(0.35, 0.55), "mixed": rng.uniform(0.15, 0.35)}[style] * b.leg
            ch = dict(hz=z0 + 0.06 - depth * prof, flex=f0 + (flex_max - f0) * prof, head_pitch=0.3 * prof,
                      P=P0[None] - f[None] * (0.1 * prof)[:, None])
            sides = ["L", "R"] if rng.random() < 0.3 else [str(rng.choice(["L", "R"]))]
            reach = rng.uniform(0.25, 0.55)
            floor = rng.uniform(0.03, 0.25)
            for sd in sides:
                sg = 1.0 if sd == "L" else -1.0
                tgt = np.r_[P0 + f * reach + l * sg * rng.uniform(0.05, 0.25), floor]
                ch["ik" + sd] = np.repeat(tgt[None], n, 0)
                ch["ikw" + sd] = smoothstep((prof - 0.3) / 0.6)
        else:  # lunge: one foot forward, hips down, back again; legs alternate
            period = rng.uniform(2.2, 4.0) if old else rng.uniform(1.6, 3.2)
            n_one = int(period / DT)
            n = n_one * reps
            step = rng.uniform(0.35, 0.55) * b.leg * 2 * (0.7 if old else 1.0)
            depth = rng.uniform(0.15, 0.4) * b.leg * (0.6 if old else 1.0)
            side = "L" if rng.random() < 0.5 else "R"
            FL, FR = np.repeat(FL0[None], n, 0), np.repeat(FR0[None], n, 0)
            liftL, liftR = np.zeros(n), np.zeros(n)
            Pp = np.repeat(P0[None], n, 0)
            hz = np.full(n, z0 + 0.06)
            flex = np.full(n, f0)
            tt = np.linspace(0, 1, n_one)
            out = smoothstep(tt / 0.25)
            back = smoothstep((tt - 0.75) / 0.25)
            foot = out - back
            down = smoothstep((tt - 0.2) / 0.25) * (1 - smoothstep((tt - 0.55) / 0.25))
            for r in range(reps):
                sl = slice(r * n_one, (r + 1) * n_one)
                mv_ = 0.04 * (np.sin(np.pi * np.clip(tt / 0.25, 0, 1)) + np.sin(np.pi * np.clip((tt - 0.75) / 0.25, 0, 1)))
                if side == "L":
                    FL[sl] = FL0[None] + f[None] * (step * foot)[:, None]
                    liftL[sl] = mv_
                else:
                    FR[sl] = FR0[None] + f[None] * (step * foot)[:, None]
                    liftR[sl] = mv_
                Pp[sl] = P0[None] + f[None] * (0.5 * step * foot)[:, None]
                hz[sl] = z0 + 0.06 - depth * down
                flex[sl] = f0 + 0.15 * down
                side = "R" if side == "L" else "L"
            ch = dict(FL=FL, FR=FR, liftL=liftL, liftR=liftR, P=Pp, hz=hz, flex=flex)
            self._exercise_arms(ch, n, rng.choice(["hips", "free", "cross"]))
        ch.setdefault("P", np.repeat(P0[None], n, 0))
        self.emit2(n, label=other, walk=0.0, pel_yaw=0.0, pel_obl=0.0, twist=0.0, **ch)
        # settle: back to the standing posture and the feet where they were
        m = int(0.3 / DT)
        in_air = self.last["hz"] > 5  # ended in the air (9.0) or never lowered (inf)
        hz = np.full(m, z0 + 0.06) if in_air else self.ramp("hz", z0 + 0.06, m)
        self.emit2(m, label=other, walk=0.0, hz=hz,
                   flex=self.ramp("flex", f0, m), FL=self.ramp("FL", FL0, m), FR=self.ramp("FR", FR0, m),
                   P=self.ramp("P", P0, m), liftL=self.ramp("liftL", 0.0, m), liftR=self.ramp("liftR", 0.0, m),
                   pitchL=0.0, pitchR=0.0, head_pitch=self.ramp("head_pitch", 0.0, m),
                   **{k + s: self.ramp(k + s, v, m) for s in "LR" for k, v in
                      (("shf", ra["shf"]), ("abd", ra["abd"]), ("elb", ra["elb"]), ("ikw", 0.0), ("thw", 0.0))})
        self.last["hz"] = np.inf
        self.events.append(("other", self.t - n * DT, self.t))

    def _exercise_arms(self, ch, n, arms, prof=None):
        """Arms during squats and lunges: reaching forward with the movement, hands on the
        hips, crossed over the chest, or free."""
        b, rng, ra = self.b, self.rng, self.rest_arm
        prof = np.zeros(n) if prof is None else prof
        psi = float(self.last["psi"])
        f, l = fwd2(psi), left2(psi)
        for s in "LR":
            sg = 1.0 if s == "L" else -1.0
            if arms == "forward":
                ch["shf" + s] = ra["shf"] + rng.uniform(1.1, 1.6) * prof
                ch["elb" + s] = ra["elb"] * (1 - prof) + 0.05 * prof
            elif arms in ("hips", "cross"):
                P = ch["P"]
                zp = ch["hz"]
                if arms == "hips":
                    tgt = np.c_[P + l[None] * sg * (b.hip_w / 2 + 0.07), zp + 0.06]
                else:
                    tgt = np.c_[P + f[None] * 0.18 - l[None] * sg * 0.12, zp + b.trunk * 0.7]
                ch["ik" + s] = tgt
                ch["ikw" + s] = smoothstep(np.arange(n) * DT / 0.4)
            else:
                ch["shf" + s] = ra["shf"] + rng.uniform(0.1, 0.5) * prof


# ----------------------------------------------------------------------------- pose (FK/IK)
def exercise_kinds(b: Body):
    """What Builder.exercise can do: elderly bodies neither jump nor do jumping jacks."""
    if b.age_group == "elderly":
        return ["squat", "bend", "lunge"]
    return ["squat", "jump", "jacks", "bend", "lunge"]


def ik2(A, B, la, lb, pole):
    """Two-link IK, vectorised: root A, target B, lengths la/lb, pole direction.
    Returns joint J and the (reach-clamped) end E."""
    d = B - A
    L = np.linalg.norm(d, axis=-1, keepdims=True)
    u = d / np.maximum(L, 1e-9)
    Lc = np.clip(L, abs(la - lb) + 1e-3, (la + lb) * 0.9999)
    cosa = np.clip((la * la + Lc * Lc - lb * lb) / (2 * la * Lc), -1, 1)
    sina = np.sqrt(1 - cosa * cosa)
    p = pole - np.sum(pole * u, -1, keepdims=True) * u
    p = norm(p)
    J = A + la * (cosa * u + sina * p)
    return J, A + u * Lc


def softmin(a, b, k=0.015):
    m = np.minimum(a, b)
    return m - k * np.log(np.exp(-(a - m) / k) + np.exp(-(b - m) / k))


FACE_OFFS = np.array([  # head frame: x forward, y left, z up; origin between the ear canals
    [0.104, 0.000, -0.022],   # nose
    [0.088, 0.016, 0.012], [0.083, 0.032, 0.013], [0.076, 0.047, 0.011],   # left eye in/c/out
    [0.088, -0.016, 0.012], [0.083, -0.032, 0.013], [0.076, -0.047, 0.011],  # right eye
    [-0.004, 0.072, 0.004], [-0.004, -0.072, 0.004],  # ears
    [0.086, 0.024, -0.058], [0.086, -0.024, -0.058],  # mouth corners
])


def pose_landmarks(b: Body, ch: dict) -> np.ndarray:
    """Channels -> (T,33,3) world landmark positions."""
    T = len(ch["psi"])
    out = np.zeros((T, 33, 3))
    flex, kyph = ch["flex"], b.kyphosis
    yaw_p = ch["psi"] + ch["pel_yaw"]
    Rp = rot_z(yaw_p) @ rot_y(0.45 * flex) @ rot_x(ch["pel_obl"])
    # feet
    ank, heel, toe = {}, {}, {}
    ft = b.foot_len - b.heel_back - 0.02
    for s in "LR":
        y, th, F, lift = ch["yaw" + s], ch["pitch" + s], ch["F" + s], ch["lift" + s]
        f2 = fwd2(y)
        f3 = np.c_[np.cos(th)[:, None] * f2, np.sin(th)]
        u3 = np.c_[-np.sin(th)[:, None] * f2, np.cos(th)]
        heel_piv = np.c_[F - f2 * b.heel_back, lift]
        toe_piv = np.c_[F + f2 * ft, lift]
        a_heel = heel_piv + b.heel_back * f3 + b.ankle_h * u3
        a_toe = toe_piv - ft * f3 + b.ankle_h * u3
        A = np.where((th >= 0)[:, None], a_heel, a_toe)
        ank[s] = A
        heel[s] = A - b.heel_back * 1.1 * f3 - b.ankle_h * 0.85 * u3
        toe[s] = A + ft * f3 - b.ankle_h * 0.7 * u3
    # pelvis height: legs reach (soft-min over both legs), capped by hz
    kf = b.knee_flex_stand + 0.22 * ch["walk"]
    Lk = np.sqrt(b.thigh ** 2 + b.shank ** 2 + 2 * b.thigh * b.shank * np.cos(kf))
    hip_off = {s: mv(Rp, np.array([0.0, (1 if s == "L" else -1) * b.hip_w / 2, 0.0])) for s in "LR"}
    zmax = {}
    for s in "LR":
        hxy = ch["P"] + hip_off[s][:, :2]
        dh2 = np.sum((hxy - ank[s][:, :2]) ** 2, -1)
        zmax[s] = ank[s][:, 2] + np.sqrt(np.maximum(Lk ** 2 - dh2, 0.02 ** 2)) - hip_off[s][:, 2]
    z_auto = softmin(zmax["L"], zmax["R"])
    hz = np.where(np.isfinite(ch["hz"]), ch["hz"], 9.0)
    pz = softmin(z_auto, hz, 0.01)
    pel = np.c_[ch["P"], pz]
    hips = {s: pel + hip_off[s] for s in "LR"}
    knee = {}
    for s in "LR":
        sg = 1 if s == "L" else -1
        y = ch["yaw" + s]
        pole = np.c_[np.cos(y), np.sin(y), np.zeros(T)] + 0.12 * sg * np.c_[-np.sin(y), np.cos(y), np.zeros(T)]
        knee[s], ank[s] = ik2(hips[s], ank[s], b.thigh, b.shank, pole)
    # trunk
    Rl = Rp @ rot_y(0.3 * flex) @ rot_x(0.5 * ch["lat"])
    Rt = Rl @ rot_z(ch["twist"]) @ rot_y(0.25 * flex + kyph) @ rot_x(0.5 * ch["lat"])
    mid = pel + mv(Rl, np.array([0, 0, 0.45 * b.trunk]))
    neck = mid + mv(Rt, np.array([0, 0, 0.55 * b.trunk]))
    sh = {s: neck + mv(Rt, np.array([-0.01, (1 if s == "L" else -1) * b.shoulder_w / 2,
                                      -0.012 * b.height / 1.7])) for s in "LR"}
    # head
    tp = flex + kyph
    ndir = mv(Rt @ rot_y(-0.55 * tp), np.array([0.0, 0.0, 1.0]))
    hc = neck + b.neck * ndir + mv(Rt, np.array([0.012, 0, 0]))
    Rh = Rt @ rot_z(ch["head_yaw"]) @ rot_y(ch["head_pitch"] - 0.75 * tp)
    face = hc[:, None, :] + np.einsum("tij,kj->tki", Rh, FACE_OFFS * b.head)
    out[:, 0:11] = face
    # arms
    hs = b.hand / 0.184
    up_p = mv(Rp, np.array([0.0, 0.0, 1.0]))
    for s in "LR":
        sg = 1.0 if s == "L" else -1.0
        M = Rt @ rot_y(-ch["shf" + s]) @ rot_x(sg * ch["abd" + s]) @ rot_z(-sg * ch["rot" + s])
        el_fk = sh[s] + b.upper_arm * mv(M, np.array([0, 0, -1.0]))
        Fm = M @ rot_y(-ch["elb" + s])
        fd_fk = mv(Fm, np.array([0, 0, -1.0]))
        wr_fk = el_fk + b.forearm * fd_fk
        th0 = mv(Fm, np.array([1.0, 0, 0]))
        pr = ch["pron" + s][:, None]
        th_fk = np.cos(pr) * th0 + sg * np.sin(pr) * np.cross(fd_fk, th0)
        # IK target: world target and/or hand on own thigh
        tdir = norm(knee[s] - hips[s])
        upn = norm(up_p - np.sum(up_p * tdir, -1, keepdims=True) * tdir)
        thigh_pt = hips[s] + 0.62 * (knee[s] - hips[s]) + upn * 0.075 * b.girth - tdir * 0.07
        wi, wt = np.clip(ch["ikw" + s], 0, 1), np.clip(ch["thw" + s], 0, 1)
        wsum = wi + wt
        tgt = (wi[:, None] * ch["ik" + s] + wt[:, None] * thigh_pt) / np.maximum(wsum, 1e-6)[:, None]
        w = np.clip(wsum, 0, 1)[:, None]
        pole = mv(Rt, np.array([-0.55, sg * 0.75, -0.35]))
        el_ik, wr_ik = ik2(sh[s], np.where(w > 0, tgt, wr_fk), b.upper_arm, b.forearm, pole)
        el = el_fk * (1 - w) + el_ik * w
        wr = wr_fk * (1 - w) + wr_ik * w
        fd = norm(wr - el)
        th_ik = mv(Rt, np.array([0.3, -sg, 0.0]))
        th = th_fk * (1 - w) + th_ik * w
        th = norm(th - np.sum(th * fd, -1, keepdims=True) * fd)
        i = 0 if s == "L" else 1
        out[:, 11 + i] = sh[s]
        out[:, 13 + i] = el
        out[:, 15 + i] = wr
        out[:, 17 + i] = wr + hs * (0.066 * fd - 0.024 * th)   # pinky
        out[:, 19 + i] = wr + hs * (0.078 * fd + 0.017 * th)   # index
        out[:, 21 + i] = wr + hs * (0.040 * fd + 0.040 * th)   # thumb
        out[:, 23 + i] = hips[s]
        out[:, 25 + i] = knee[s]
        out[:, 27 + i] = ank[s]
        out[:, 29 + i] = heel[s]
        out[:, 31 + i] = toe[s]
    return out


# ----------------------------------------------------------------------------- camera
IMAGE_SIZES = [(640, 480), (640, 480), (1280, 720), (1280, 720), (1920, 1080), (1920, 1080),
               (800, 600), (1024, 768), (480, 640), (720, 1280), (1080, 1920), (640, 360)]


@dataclass
class Camera:
    pos: np.ndarray
    yaw: float          # optical axis direction in the floor plane
    pitch: float        # downward tilt, rad
    roll: float
    hfov: float         # rad
    width: int
    height: int
    k1: float = 0.0     # radial distortion
    k2: float = 0.0

    @property
    def f(self):
        return (self.width / 2) / math.tan(self.hfov / 2)

    def R(self):
        cy, sy, cp, sp = math.cos(self.yaw), math.sin(self.yaw), math.cos(self.pitch), math.sin(self.pitch)
        fwd = np.array([cp * cy, cp * sy, -sp])
        right = np.array([sy, -cy, 0.0])
        down = np.cross(fwd, right)
        cr, sr = math.cos(self.roll), math.sin(self.roll)
        r2 = cr * right + sr * down
        d2 = -sr * right + cr * down
        return np.stack([r2, d2, fwd])

    def project(self, X):
        """X (...,3) world -> u, v pixels, depth (metres along the optical axis)."""
        Xc = (X - self.pos) @ self.R().T
        z = np.maximum(Xc[..., 2], 0.05)
        xn, yn = Xc[..., 0] / z, Xc[..., 1] / z
        r2 = xn * xn + yn * yn
        dist = 1 + self.k1 * r2 + self.k2 * r2 * r2
        u = self.f * xn * dist + self.width / 2
        v = self.f * yn * dist + self.height / 2
        return u, v, Xc[..., 2]

    def to_json(self):
        d = asdict(self)
        d["pos"] = [round(float(x), 4) for x in self.pos]
        for k in ("yaw", "pitch", "roll", "hfov", "k1", "k2"):
            d[k] = round(float(d[k]), 5)
        d["hfov_deg"] = round(math.degrees(self.hfov), 2)
        d["pitch_deg"] = round(math.degrees(self.pitch), 2)
        return d


def sample_camera_intrinsics(rng):
    W, H = IMAGE_SIZES[int(rng.integers(len(IMAGE_SIZES)))]
    hfov = math.radians(rng.uniform(50, 100))
    if H > W:  # portrait: the field of view quoted for the long side is vertical
        hfov = 2 * math.atan(math.tan(hfov / 2) * W / H)
    k1 = -rng.uniform(0.0, 0.12) * (math.degrees(hfov) / 100) ** 2 if rng.random() < 0.6 else 0.0
    return dict(width=W, height=H, hfov=hfov, k1=k1, k2=k1 * rng.uniform(0, 0.3),
                z=float(rng.uniform(0.8, 2.5)), roll=float(np.clip(rng.normal(0, 0.035), -0.09, 0.09)))


class Region:
    """Floor area seen by a camera at the origin looking along +Y."""

    def __init__(self, hfov, dmin=1.3, dmax=8.5, margin=0.12):
        self.half = hfov / 2 - margin
        self.dmin, self.dmax = dmin, dmax

    def inside(self, p, shrink=0.0):
        p = np.atleast_2d(p)
        d = np.linalg.norm(p, axis=-1)
        b = np.arctan2(p[:, 0], p[:, 1])
        return (d > self.dmin + shrink) & (d < self.dmax - shrink) & (np.abs(b) < self.half - shrink * 0.1) & (p[:, 1] > 0.5)

    def sample(self, rng, dlo=None, dhi=None):
        lo = self.dmin + 0.3 if dlo is None else dlo
        hi = self.dmax - 0.5 if dhi is None else dhi
        d = rng.uniform(lo, max(hi, lo + 0.1))
        b = rng.uniform(-self.half, self.half) * 0.8
        return np.array([d * math.sin(b), d * math.cos(b)])

    def max_len(self, p, h, cap):
        """How far one can walk from p along heading h and stay inside."""
        L = 0.0
        while L < cap:
            if not self.inside(p + fwd2(h) * (L + 0.25), shrink=0.3)[0]:
                break
            L += 0.25
        return L


def bearing_to_cam(p):
    """Heading that points from floor point p toward the camera at the origin."""
    return math.atan2(-p[1], -p[0])


def direction_for(rng, p, cat):
    toc = bearing_to_cam(p)
    if cat == "toward":
        return toc + rng.uniform(-0.55, 0.55)
    if cat == "away":
        return toc + math.pi + rng.uniform(-0.55, 0.55)
    if cat == "across":
        return toc + rng.choice([-1, 1]) * (math.pi / 2 + rng.uniform(-0.4, 0.4))
    return toc + rng.choice([-1, 1]) * rng.uniform(0.55, 1.0) + (math.pi if rng.random() < 0.5 else 0)


# ----------------------------------------------------------------------------- scenarios
def scenario_tug(rng, bld: Builder, region: Region):
    b = bld.b
    L = rng.uniform(2.6, 3.1)  # walk to the 3 m line, turn there
    for _ in range(200):
        cat = rng.choice(["toward_first", "away_first", "across", "oblique"], p=[0.32, 0.32, 0.22, 0.14])
        if cat == "toward_first":
            c = region.sample(rng, L + 1.8, region.dmax - 0.4)
            yaw = bearing_to_cam(c) + rng.uniform(-0.45, 0.45)
        elif cat == "away_first":
            c = region.sample(rng, region.dmin + 0.2, region.dmax - L - 0.8)
            yaw = bearing_to_cam(c) + math.pi + rng.uniform(-0.45, 0.45)
        elif cat == "across":
            c = region.sample(rng, 2.5, region.dmax - 0.5)
            yaw = bearing_to_cam(c) + rng.choice([-1, 1]) * (math.pi / 2 + rng.uniform(-0.35, 0.35))
        else:
            c = region.sample(rng, 2.2, region.dmax - 0.5)
            yaw = bearing_to_cam(c) + rng.choice([-1, 1]) * rng.uniform(0.6, 1.05) + (math.pi if rng.random() < 0.5 else 0)
        cone = c + fwd2(yaw) * (L + 0.4)
        back = c - fwd2(yaw) * 0.6
        if region.inside(np.stack([c, cone, back]), shrink=0.2).all():
            break
    chair = sample_chair(rng, b, c, yaw)
    bld.init(c, yaw, sitting=True, chair=chair)
    if rng.random() < 0.3:
        bld.tables.append(table_near(rng, chair))
    bld.sit_still(rng.uniform(1.0, 4.0))
    bld.stand_up()
    if rng.random() < 0.35:
        bld.stand_still(rng.uniform(0.2, 0.8), gestures=False)
    start = bld.last["P"].copy()
    f, l = fwd2(yaw), left2(yaw)
    d_walk = L - float(np.dot(start - c, f))
    turn_dir = float(rng.choice([-1, 1]))
    spot = c + f * rng.uniform(0.15, 0.3) + l * rng.normal(0, 0.05)
    if rng.random() < 0.55:
        # walk out, U-turn round the marker in an arc, and head straight back to the chair
        r = rng.uniform(0.15, 0.45)
        end_arc = start + f * max(d_walk - r, 0.5) + l * turn_dir * 2 * r
        dv = spot - end_arc
        dpsi = wrap(math.atan2(dv[1], dv[0]) - (yaw + turn_dir * math.pi))
        segs = [("line", max(d_walk - r, 0.5)), ("arc", turn_dir * math.pi, r)]
        if abs(dpsi) > 0.05:
            segs.append(("arc", dpsi, 0.6))
        segs.append(("line", max(float(np.linalg.norm(dv)) - 0.6 * abs(dpsi), 0.3)))
        bld.walk(segs)
    else:
        # walk out, stop, turn on the spot, walk back
        bld.walk([("line", d_walk)])
        bld.turn_in_place(turn_dir * math.pi * rng.uniform(0.95, 1.05))
        dv = spot - bld.last["P"]
        dpsi = wrap(math.atan2(dv[1], dv[0]) - bld.last["psi"])
        segs = [("arc", dpsi, 0.6)] if abs(dpsi) > 0.05 else []
        bld.walk(segs + [("line", max(float(np.linalg.norm(dv)) - 0.6 * abs(dpsi), 0.3))])
    # turn round in front of the chair
    ang = wrap(yaw - bld.last["psi"])
    if abs(ang) > 2.6:
        ang = float(rng.choice([-1, 1])) * abs(ang)
    if abs(ang) > 0.3:
        bld.turn_in_place(ang)
    _adjust_chair_to_feet(bld, chair)
    bld.sit_down(chair)
    bld.sit_still(rng.uniform(1.0, 4.0))


def _adjust_chair_to_feet(bld: Builder, chair: Chair):
    """People stop where their legs touch the seat: shift the chair to match the feet."""
    b = bld.b
    f = fwd2(chair.yaw)
    feet = (bld.last["FL"] + bld.last["FR"]) / 2
    # chair front edge such that seated hip is thigh*~0.9..1.1 behind the feet
    hip_to_front = b.thigh * 0.93 - 0.04
    hip = feet - f * (b.thigh * bld.rng.uniform(0.85, 1.1))
    chair.pos = hip + f * hip_to_front
    chair.yaw = float(bld.last["psi"])


def table_near(rng, chair: Chair):
    f, l = fwd2(chair.yaw), left2(chair.yaw)
    c = chair.pos + f * rng.uniform(0.45, 0.7) + l * rng.uniform(-0.3, 0.3)
    return (np.r_[c, 0.37], np.array([rng.uniform(0.3, 0.45), rng.uniform(0.4, 0.7), 0.37]), chair.yaw)


def scenario_random(rng, bld: Builder, region: Region, duration):
    b = bld.b
    p = region.sample(rng)
    psi = bearing_to_cam(p) + rng.uniform(-math.pi, math.pi)
    if rng.random() < 0.35:
        chair = sample_chair(rng, b, p, psi)
        bld.init(p, psi, sitting=True, chair=chair)
        if rng.random() < 0.35:
            bld.tables.append(table_near(rng, chair))
    else:
        bld.init(p, psi)
    guard = 0
    while bld.t < duration and guard < 40:
        guard += 1
        if bld.sitting:
            bld.sit_still(rng.uniform(0.8, 6.0))
            bld.stand_up()
            continue
        a = rng.choice(["walk", "turn", "still", "sit", "exercise"], p=[0.46, 0.1, 0.16, 0.18, 0.1])
        P, psi = bld.last["P"].copy(), float(bld.last["psi"])
        if a == "walk":
            # mostly set off roughly the way one is facing; sometimes turn round first
            for _try in range(6):
                cat = rng.choice(["toward", "away", "across", "oblique"], p=[0.3, 0.3, 0.3, 0.1])
                h = direction_for(rng, P, cat)
                if abs(wrap(h - psi)) < 1.6 or rng.random() < 0.3:
                    break
            Lmax = region.max_len(P, h, 6.0)
            if Lmax < 1.0:
                continue
            Lw = rng.uniform(min(1.0, Lmax), Lmax)
            dpsi = wrap(h - psi)
            if abs(dpsi) > 0.35:
                if rng.random() < 0.5 and abs(dpsi) > 0.6:
                    bld.turn_in_place(dpsi)
                    segs = []
                else:
                    segs = [("arc", dpsi, rng.uniform(0.2, 0.7))]
            else:
                segs = [("arc", dpsi, 1.0)] if abs(dpsi) > 0.05 else []
            segs.append(("line", Lw))
            if rng.random() < 0.25:  # a second leg after a curve
                h2 = direction_for(rng, P + fwd2(h) * Lw, rng.choice(["toward", "away", "across"]))
                d2 = wrap(h2 - h)
                L2 = region.max_len(P + fwd2(h) * Lw, h2, 4.0)
                if L2 > 1.0 and abs(d2) > 0.6:
                    segs += [("arc", d2, rng.uniform(0.2, 0.6)), ("line", rng.uniform(0.8, L2))]
            bld.walk(segs)
        elif a == "turn":
            bld.turn_in_place(rng.choice([-1, 1]) * rng.uniform(math.pi / 3, math.pi))
        elif a == "still":
            bld.stand_still(rng.uniform(0.8, 5.0))
        elif a == "exercise":
            bld.exercise()
        else:
            # turn the back to where a chair is, sit
            ang = rng.choice([-1, 1]) * rng.uniform(math.pi * 0.5, math.pi)
            if rng.random() < 0.2:
                ang = 0.0  # already in front of the chair
            if ang:
                bld.turn_in_place(ang)
            chair = sample_chair(rng, b, bld.last["P"], float(bld.last["psi"]))
            _adjust_chair_to_feet(bld, chair)
            if not region.inside(chair.pos, shrink=-0.5)[0]:
                continue
            if rng.random() < 0.2:
                bld.tables.append(table_near(rng, chair))
            bld.sit_down(chair)
    if bld.t < 3.0:
        bld.stand_still(3.0 - bld.t)


def scenario_floor(rng, bld: Builder, region: Region, duration):
    """Down to the floor and up again (since 1.3.0): someone sits down on the floor (a mat,
    play with a child, practising getting up after a fall), perhaps lies back and sits up
    again, and stands up. Sitting down and standing up are `sit_down` / `stand_up`, sitting
    there `sitting`, lying back, lying and sitting up `other`."""
    b = bld.b
    old = b.age_group == "elderly"
    p = region.sample(rng)
    psi = bearing_to_cam(p) + rng.uniform(-math.pi, math.pi)
    if rng.random() < 0.25:  # found on the floor
        bld.init(p, psi, sitting=True, chair=floor_seat(p, psi))
    else:
        bld.init(p, psi)
    guard = 0
    while guard < 4 and (guard == 0 or bld.t < duration):
        guard += 1
        if not bld.sitting:
            if rng.random() < 0.5:
                bld.turn_in_place(rng.choice([-1, 1]) * rng.uniform(math.pi / 4, math.pi))
            bld.stand_still(rng.uniform(0.4, 2.5))
            bld.sit_down(floor_seat(bld.last["P"], float(bld.last["psi"])),
                         dur=rng.uniform(3.0, 5.5) if old else rng.uniform(1.6, 3.5))
        bld.sit_still(rng.uniform(0.5, 4.0))
        if rng.random() < 0.6:
            bld.lie_back(rng.uniform(1.0, 2.5))
            bld.emit2(int(rng.uniform(0.8, 6.0) / DT), label=CLS["other"], walk=0.0)
            bld.sit_up(rng.uniform(1.0, 2.5))
            bld.sit_still(rng.uniform(0.3, 2.0))
        bld.stand_up(dur=rng.uniform(3.0, 6.0) if old else rng.uniform(1.8, 4.0))
        P, h = bld.last["P"].copy(), float(bld.last["psi"])
        if rng.random() < 0.5 and region.max_len(P, h, 3.0) > 1.2:
            bld.walk([("line", rng.uniform(1.0, region.max_len(P, h, 3.0)))])
        bld.stand_still(rng.uniform(0.5, 2.5))


def scenario_workout(rng, bld: Builder, region: Region, duration):
    """Exercising in front of the camera (a gym, physiotherapy at home): sets of one
    movement with pauses, now and then a few steps or a turn in between."""
    p = region.sample(rng, 1.8, min(region.dmax - 0.5, 5.0))
    bld.init(p, bearing_to_cam(p) + rng.normal(0, 0.5) + (math.pi / 2 * rng.choice([-1, 1]) if rng.random() < 0.3 else 0.0))
    bld.stand_still(rng.uniform(0.5, 2.5))
    kind = None if rng.random() < 0.5 else str(rng.choice(exercise_kinds(bld.b)))
    guard = 0
    while bld.t < duration and guard < 20:
        guard += 1
        bld.exercise(kind)
        bld.stand_still(rng.uniform(0.5, 4.0))
        if rng.random() < 0.2:
            bld.turn_in_place(rng.choice([-1, 1]) * rng.uniform(math.pi / 4, math.pi / 2))
        if rng.random() < 0.4:
            kind = None if rng.random() < 0.5 else str(rng.choice(exercise_kinds(bld.b)))


def scenario_pass(rng, bld: Builder, region: Region):
    """Someone passes through the view (hallway): enters from outside the picture, walks
    across it (or comes toward the camera / goes away from it), maybe stops for a moment,
    and leaves; sometimes comes back."""
    mode = rng.choice(["across", "toward", "away"], p=[0.6, 0.2, 0.2])
    if mode == "across":
        D = rng.uniform(2.0, region.dmax - 0.3)
        w = D * math.tan(region.half + 0.12) * 1.15 + rng.uniform(1.0, 1.8)
        side = float(rng.choice([-1, 1]))
        tilt = rng.uniform(-0.25, 0.25)
        p0 = np.array([side * w, D + side * w * math.tan(tilt)])
        h = (0.0 if side < 0 else math.pi) + tilt
        L = 2 * w / math.cos(tilt)
    elif mode == "toward":
        b = rng.uniform(-region.half, region.half) * 0.6
        D0 = region.dmax + rng.uniform(0.5, 1.5)
        p0 = D0 * np.array([math.sin(b), math.cos(b)])
        h = bearing_to_cam(p0) + rng.uniform(-0.3, 0.3)
        L = D0 - rng.uniform(0.9, 1.8)
    else:
        b = rng.uniform(-region.half, region.half) * 0.6
        p0 = rng.uniform(1.0, 1.6) * np.array([math.sin(b), math.cos(b)])
        h = bearing_to_cam(p0) + math.pi + rng.uniform(-0.3, 0.3)
        L = region.dmax + 1.0 - np.linalg.norm(p0)
    bld.init(p0, h)
    if mode != "away" and rng.random() < 0.3:  # stops on the way
        a = rng.uniform(0.35, 0.65)
        bld.walk([("line", L * a)])
        if rng.random() < 0.5:
            ang = wrap(bearing_to_cam(bld.last["P"]) - bld.last["psi"])
            bld.turn_in_place(ang)
            bld.stand_still(rng.uniform(0.8, 3.0))
            bld.turn_in_place(-ang)
        else:
            bld.stand_still(rng.uniform(0.8, 3.0))
        bld.walk([("line", L * (1 - a))])
    else:
        bld.walk([("line", L)])
    if rng.random() < 0.35:  # comes back
        bld.turn_in_place(float(rng.choice([-1, 1])) * math.pi)
        bld.walk([("line", L * rng.uniform(0.5, 1.0))])


def seated_still(ch) -> np.ndarray:
    """Quiet frames on a seat: a finite pelvis height (a seat's) while labelled `still`."""
    return np.isfinite(ch["hz"]) & (ch["label"] == CLS["still"])


def finalize_channels(rng, bld: Builder) -> dict:
    """Concatenate channels and add ambient motion: postural sway, head look-around with
    anticipation of turns, small arm and trunk movements, breathing."""
    ch = {k: np.concatenate(v, 0) for k, v in bld.buf.items()}
    n = len(ch["psi"])
    walk = ch["walk"]
    sit = seated_still(ch)
    quiet = (1 - walk)
    amp = rng.uniform(0.5, 1.6) * (1.5 if bld.b.age_group == "elderly" else 1.0)
    sway = np.stack([colored(rng, n, DT, 0.35, 0.006 * amp), colored(rng, n, DT, 0.35, 0.006 * amp)], -1)
    ch["P"] = ch["P"] + sway * (quiet * (1 - 0.7 * sit))[:, None]
    ch["flex"] = ch["flex"] + colored(rng, n, DT, 0.3, 0.025 * amp) + 0.008 * np.sin(
        2 * np.pi * rng.uniform(0.2, 0.3) * np.arange(n) * DT)
    ch["lat"] = ch["lat"] + colored(rng, n, DT, 0.25, 0.02 * amp)
    ch["twist"] = ch["twist"] + colored(rng, n, DT, 0.2, 0.04) * quiet
    # head: glances (piecewise targets), smaller while walking; leads turns by ~0.25 s
    tgt = np.zeros(n)
    i = 0
    look = rng.uniform(0.2, 0.9)
    while i < n:
        m = int(rng.uniform(0.6, 4.0) / DT)
        tgt[i:i + m] = rng.normal(0, look) if rng.random() < 0.6 else 0.0
        i += m
    tgt = lowpass_fast(tgt, DT, 0.15)
    dpsi = np.gradient(np.unwrap(ch["psi"]), DT)
    lead = np.clip(lowpass_fast(dpsi, DT, 0.1) * rng.uniform(0.15, 0.35), -0.7, 0.7)
    ch["head_yaw"] = ch["head_yaw"] + tgt * (1 - 0.75 * walk) + lead + colored(rng, n, DT, 0.5, 0.04)
    ch["head_pitch"] = ch["head_pitch"] + colored(rng, n, DT, 0.3, 0.08) + rng.normal(0.05, 0.08)
    for s in "LR":
        ch["shf" + s] = ch["shf" + s] + colored(rng, n, DT, 0.4, 0.04)
        ch["elb" + s] = np.clip(ch["elb" + s] + colored(rng, n, DT, 0.4, 0.06), 0.02, 2.6)
        ch["abd" + s] = ch["abd" + s] + colored(rng, n, DT, 0.3, 0.03)
    return ch


def resolve_walk_labels(ch, labels, cam: Camera):
    """WALK -> walk_toward / walk_away / walk_across from the travel direction relative to the
    line of sight to the camera (toward: within 45 deg of it, away: within 45 deg of the
    opposite, across otherwise)."""
    P = lowpass_fast(ch["P"], DT, 0.35)
    v = np.gradient(P, DT, axis=0)
    toc = cam.pos[None, :2] - P
    cosang = np.sum(norm(v) * norm(toc), -1)
    lab = labels.copy()
    w = lab == WALK
    lab[w & (cosang >= math.cos(math.radians(45)))] = CLS["walk_toward"]
    lab[w & (cosang <= -math.cos(math.radians(45)))] = CLS["walk_away"]
    lab[w & (np.abs(cosang) < math.cos(math.radians(45)))] = CLS["walk_across"]
    return lab


# ----------------------------------------------------------------------------- estimator
def ray_hits_box(C, X, center, half, R):
    """Does the segment camera C -> point X pass through the oriented box before reaching X?
    X (T,K,3); center (T,3) or (3,); R (T,3,3) or (3,3) with box axes as columns."""
    if R.ndim == 2:
        o = (C - center) @ R
        e = (X - center) @ R
    else:
        o = np.einsum("tj,tjk->tk", C[None] - center, R)[:, None, :]
        e = np.einsum("tnj,tjk->tnk", X - center[:, None, :], R)
    d = e - o
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (-half - o) / d
        t2 = (half - o) / d
    par = np.abs(d) < 1e-12
    ins = np.broadcast_to(np.abs(o) <= half, d.shape)
    tmin = np.where(par, np.where(ins, -np.inf, np.inf), np.minimum(t1, t2))
    tmax = np.where(par, np.where(ins, np.inf, -np.inf), np.maximum(t1, t2))
    tn, tf = tmin.max(-1), tmax.min(-1)
    return (tn < tf) & (tf > 0) & (tn < 0.96)


def one_euro(ts, X, scale, valid, min_cutoff=0.05, beta=80.0, dcut=1.0):
    """MediaPipe's OneEuroFilter (landmark smoothing of the pose graph), applied per value,
    reset whenever tracking is lost. X (T,K,D), scale (T,) object scale in X's units."""
    out = X.copy()
    xp = dxp = rawp = tp = None

    def alpha(cut, te):
        return 1.0 / (1.0 + (1.0 / (2 * np.pi * cut)) / te)

    for i in range(len(ts)):
        if not valid[i]:
            xp = None
            continue
        if xp is None:
            xp, dxp, rawp, tp = X[i].copy(), np.zeros_like(X[i]), X[i].copy(), ts[i]
            continue
        te = max(ts[i] - tp, 1e-3)
        dv = (X[i] - rawp) / max(scale[i], 1e-6) / te
        dxp = dxp + alpha(dcut, te) * (dv - dxp)
        a = alpha(min_cutoff + beta * np.abs(dxp), te)
        xp = xp + a * (X[i] - xp)
        out[i] = xp
        rawp, tp = X[i].copy(), ts[i]
    return out


# relative jitter per landmark (measured on MediaPipe video-mode output of real clips: hips
# and shoulders are the steadiest points, wrists/hands and feet the least steady)
LM_SIGMA = np.array([0.6] * 11 + [0.55, 0.55, 0.9, 0.9, 1.3, 1.3] + [1.5] * 6 +
                    [0.45, 0.45, 0.8, 0.8, 1.0, 1.0, 1.2, 1.2, 1.2, 1.2])
# visibility logit offsets per landmark: MediaPipe is surest of the torso and face, less of
# wrists/hands and the legs even when they are in plain view
VIS_OFFSET = np.array([1.0] * 11 + [2.5, 2.5, 0.5, 0.5, -0.3, -0.3] + [-0.8] * 6 +
                      [2.5, 2.5, -0.6, -0.6, -0.9, -0.9, -1.2, -1.2, -1.3, -1.3])


def frame_times(rng, duration, fps):
    n = int(duration * fps)
    t = np.arange(n) / fps + rng.uniform(0, 0.5 / fps)
    jit = rng.uniform(0.0, 0.004)
    t = t + rng.normal(0, jit, n)
    keep = rng.random(n) >= rng.uniform(0.0, 0.03)
    if rng.random() < 0.25:  # a camera stall
        a = rng.uniform(0, duration)
        keep &= ~((t > a) & (t < a + rng.uniform(0.15, 0.6)))
    t = np.sort(t[keep])
    t = t[np.r_[True, np.diff(t) > 0.6 / fps]]
    return t[(t >= 0) & (t <= duration - DT)]


def estimate(rng, X, ts, cam: Camera, body: Body, boxes, params):
    """World landmarks X (T,33,3) at times ts -> MediaPipe-like frames (T,33,4) and a mask of
    frames where no pose was found."""
    T = len(ts)
    W, H = cam.width, cam.height
    u, v, dep = cam.project(X)
    C = cam.pos
    # size of the person in the image (MediaPipe's ROI is ~1.25x the body extent)
    roi = 1.25 * np.maximum(u.max(1) - u.min(1), v.max(1) - v.min(1))
    roi = np.maximum(lowpass_fast(roi, 1.0, 1.0), 8.0)
    q = params["quality"]
    srel = q * (0.0025 + 0.008 * np.clip(90.0 / roi, 0, 4) ** 1.5)
    sig = (srel * roi)[:, None] * LM_SIGMA[None]                   # px, (T,33)
    sig[:, 25:33] *= params.get("leg_q", 1.0)   # long skirts / dark trousers: vaguer legs

    # --- visibility logits
    logit = np.full((T, 33), params["vis_base"]) + VIS_OFFSET[None] + rng.normal(0, 0.6, 33)[None]
    sh_l, sh_r, hp_l, hp_r = X[:, 11], X[:, 12], X[:, 23], X[:, 24]
    lat = norm((sh_l - sh_r) + (hp_l - hp_r))
    up = norm((sh_l + sh_r) / 2 - (hp_l + hp_r) / 2)
    fwd = norm(np.cross(lat, up))
    ctr = (sh_l + sh_r + hp_l + hp_r) / 4
    view = norm(ctr - C)
    facing = -np.sum(fwd * view, -1)                # +1 facing the camera, -1 back to it
    side = np.sum(lat * view, -1)                   # >0: the right side is nearer the camera
    # torso as a box: arms/hands behind it are hidden
    Rb = np.stack([lat, up, norm(np.cross(lat, up))], -1)
    half = np.array([max(body.shoulder_w, body.hip_w) / 2 - 0.02, body.trunk / 2 + 0.02, 0.1 * body.girth])
    occ_torso = ray_hits_box(C, X, ctr, half, Rb)
    occ_torso[:, 11:13] = False
    occ_torso[:, 23:25] = False
    logit -= 2.6 * occ_torso
    # far-side limbs in a side view
    far_left = np.clip(side, 0, 1)[:, None]
    far_right = np.clip(-side, 0, 1)[:, None]
    left_idx = np.array([1, 2, 3, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31])
    right_idx = left_idx + np.array([3, 3, 3, 1, 1] + [1] * 11)
    logit[:, left_idx] -= 2.2 * far_left
    logit[:, right_idx] -= 2.2 * far_right
    # face: facing away lowers face visibility (MediaPipe still guesses a face)
    hfwd = norm(X[:, 0] - (X[:, 7] + X[:, 8]) / 2)
    hface = -np.sum(hfwd * norm(X[:, 0] - C), -1)
    logit[:, 0:11] -= (params["face_back"] * np.clip(-hface + 0.1, 0, 1.1))[:, None]
    # chair / table occlusion
    occ_obj = np.zeros((T, 33), bool)
    for c, h, yaw in boxes:
        R = rot_z(np.array(yaw))
        occ_obj |= ray_hits_box(C, X, c, h, R)
    occ_s = lowpass_fast(occ_obj.astype(float), 1.0, 1.0)
    logit -= params["occ_pen"] * occ_s
    # out of the frame
    xn, yn = u / W, v / H
    out_d = np.maximum.reduce([-xn, xn - 1, -yn, yn - 1, np.zeros_like(xn)])
    logit -= 4.0 * (out_d > 0) + 30.0 * out_d
    # small people are detected with less confidence
    logit -= np.clip(80.0 / roi - 0.6, 0, 3)[:, None]

    # --- positions: jitter, correlated errors, occlusion drift, out-of-frame extrapolation
    def col(fc, s, shape):
        return np.stack([colored(rng, T, 1.0 / params["fps"], fc, 1.0) for _ in range(int(np.prod(shape)))], -1
                        ).reshape((T,) + shape) * s

    e = rng.normal(0, 1, (T, 33, 2)) * sig[..., None]
    e += col(params["bias_fc"], 1.0, (33, 2)) * (2.0 * sig)[..., None]
    e += (rng.normal(0, 0.008, (33, 2)) * q)[None] * roi[:, None, None]
    drift = col(0.25, 1.0, (33, 2)) * (params["occ_drift"] * roi)[:, None, None]
    e += drift * occ_s[..., None]
    e += rng.normal(0, 1, (T, 33, 2)) * (0.12 * out_d * np.array([W, H]).mean())[..., None]
    px = np.stack([u, v], -1) + e
    # occasional glitches: a limb (or the whole pose) lands somewhere wrong for 1-3 frames
    if params.get("p_glitch", 0) > 0:
        chains = [np.array([11, 13, 15, 17, 19, 21]), np.array([12, 14, 16, 18, 20, 22]),
                  np.array([25, 27, 29, 31]), np.array([26, 28, 30, 32]), np.arange(33)]
        for i in np.nonzero(rng.random(T) < params["p_glitch"])[0]:
            c = chains[int(rng.integers(len(chains)))]
            m = int(rng.integers(1, 4))
            off = rng.normal(0, rng.uniform(0.08, 0.3), 2) * roi[i]
            px[i:i + m, c] += off * np.linspace(1, 0.4, len(c))[:, None] if len(c) < 33 else off
    # hidden or out-of-frame legs are guessed with a standing-like prior (legs straight down)
    hide = np.maximum(occ_s, lowpass_fast(np.clip(out_d * 8, 0, 1), 1.0, 1.0))
    if params["prior_pull"] > 0 and hide[:, 25:33].max() > 0.2:
        prior = X.copy()
        down = np.array([0, 0, 1.0])
        for j, l in [(25, body.thigh), (26, body.thigh), (27, body.leg), (28, body.leg),
                     (29, body.leg + 0.03), (30, body.leg + 0.03), (31, body.leg + 0.02),
                     (32, body.leg + 0.02)]:
            prior[:, j] = X[:, 23 + (j % 2 == 0)] - down * l
        pu, pv, _ = cam.project(prior)
        w = (params["prior_pull"] * hide)[..., None]
        px = px * (1 - w) + np.stack([pu, pv], -1) * w
    # MediaPipe-like relative depth, scaled like x
    d_hip = (dep[:, 23] + dep[:, 24]) / 2
    z = (dep - d_hip[:, None]) * cam.f / (d_hip[:, None] * W) * params["z_scale"]
    z += rng.normal(0, 1, (T, 33)) * (2.5 * sig / W) + col(0.5, 1.0, (33,)) * (3.0 * sig / W)
    # --- detection failures and left/right confusion
    core = np.array([11, 12, 23, 24])
    inside = ((xn[:, core] > 0) & (xn[:, core] < 1) & (yn[:, core] > 0) & (yn[:, core] < 1)).mean(1)
    lost = np.zeros(T, bool)
    state = rng.random() < 0.3
    for i in range(T):
        if inside[i] == 0 or roi[i] < 25:
            lost[i] = True
            state = True
            continue
        p_in = params["p_lost"] + 0.25 * (inside[i] < 0.5) + 0.15 * (roi[i] < 60) + 0.02 * (roi[i] < 110) \
            + 0.03 * occ_s[i].mean()
        state = (rng.random() < params["p_stay_lost"]) if state else (rng.random() < p_in)
        lost[i] = state
    swap = np.zeros(T, int)   # 0 none, 1 full, 2 legs, 3 arms
    cur = 0
    dt_ = np.r_[np.diff(ts), 1.0 / params["fps"]]
    for i in range(T):
        back = facing[i] < -0.3
        if cur:
            r_out = params["swap_out"] if back else 8.0
            if rng.random() < 1 - math.exp(-r_out * dt_[i]):
                cur = 0
        elif back and rng.random() < 1 - math.exp(-params["swap_in"] * dt_[i]):
            cur = int(rng.choice([1, 2, 3], p=[0.6, 0.2, 0.2]))
        if lost[i]:
            cur = 0 if rng.random() < 0.5 else cur
        swap[i] = cur
    vis = 1 / (1 + np.exp(-(logit + rng.normal(0, 0.5, (T, 33)))))
    res = np.concatenate([px, z[..., None], vis[..., None]], -1)
    for kind, idx in ((1, np.arange(33)), (2, np.arange(23, 33)), (3, np.arange(11, 23))):
        m = swap == kind
        if m.any():
            perm = np.arange(33)
            perm[idx] = LR_SWAP[idx]
            sub = res[m]
            sub = sub[:, perm]
            if kind == 1:
                sub[..., 2] = -sub[..., 2]
            res[m] = sub
    # --- MediaPipe's smoothing: One Euro on x,y,z (pixels, scaled by the ROI), vis low-pass
    valid = ~lost
    xyz = res[..., :3].copy()
    xyz[..., 2] *= W
    xyz = one_euro(ts, xyz, roi, valid)
    vis_f = res[..., 3].copy()
    prev = None
    for i in range(T):
        if not valid[i]:
            prev = None
            continue
        prev = vis_f[i] if prev is None else prev + 0.1 * (vis_f[i] - prev)
        vis_f[i] = prev
    outp = np.empty((T, 33, 4))
    outp[..., 0] = xyz[..., 0] / W
    outp[..., 1] = xyz[..., 1] / H
    outp[..., 2] = xyz[..., 2] / W
    outp[..., 3] = np.clip(vis_f, 0, 1)
    return outp, lost, dict(roi=roi, swap=swap, facing=facing, occ=occ_obj)


def sample_noise_params(rng, fps):
    return dict(
        fps=fps,
        quality=float(np.clip(rng.lognormal(0.0, 0.25), 0.6, 1.8)),
        bias_fc=float(rng.uniform(0.3, 1.5)),
        vis_base=float(rng.uniform(3.0, 5.5)),
        face_back=float(rng.uniform(1.0, 4.0)),
        occ_pen=float(rng.uniform(2.5, 5.5)),
        occ_drift=float(rng.uniform(0.02, 0.08)),
        prior_pull=float(rng.uniform(0.0, 0.5) if rng.random() < 0.7 else 0.0),
        # MediaPipe's z is several times the metric depth offset in x units (real clips: nose
        # about -0.4 for a frontal full-body view filling 70 % of the width)
        z_scale=float(np.clip(rng.lognormal(math.log(4.5), 0.45), 1.5, 12.0)),
        p_lost=float(rng.choice([0.0, 0.002, 0.005, 0.015])),
        p_stay_lost=float(rng.uniform(0.3, 0.75)),
        swap_in=float(0.0 if rng.random() < 0.35 else rng.uniform(0.1, 1.5)),
        swap_out=float(rng.uniform(0.3, 2.0)),
        leg_q=float(rng.lognormal(0.0, 0.3)),
        p_glitch=float(0.0 if rng.random() < 0.4 else rng.uniform(0.002, 0.012)),
    )


# ----------------------------------------------------------------------------- sequences
def place_camera(rng, intr, ch, X, check=True):
    """Camera at the origin looking along +Y (the scenario was planned inside its view), aimed
    at the activity; checks framing and backs off if the person is rarely in view."""
    P = ch["P"]
    ctr = (P.min(0) + P.max(0)) / 2
    for attempt in range(6):
        back = attempt * 0.6
        pos = np.array([0.0, -back, intr["z"]])
        dist = np.linalg.norm(ctr - pos[:2])
        aim_z = rng.uniform(0.5, 1.1)
        pitch = math.atan2(pos[2] - aim_z, dist) + rng.normal(0, 0.03)
        yaw = math.atan2(ctr[1] - pos[1], ctr[0] - pos[0]) + rng.normal(0, 0.05)
        cam = Camera(pos=pos, yaw=yaw, pitch=pitch, roll=intr["roll"], hfov=intr["hfov"],
                     width=intr["width"], height=intr["height"], k1=intr["k1"], k2=intr["k2"])
        u, v, d = cam.project(X[::6])
        hu, hv = (u[:, 23] + u[:, 24]) / 2, (v[:, 23] + v[:, 24]) / 2
        inview = ((hu > 0) & (hu < cam.width) & (hv > 0) & (hv < cam.height) & (d[:, 23] > 0.3)).mean()
        if inview > 0.88 or not check:
            return cam
    return cam


def furniture(rng, ch, cam: Camera):
    """Sometimes a sofa / table / bed stands between the camera and where the person walks:
    it hides their legs for a while. Boxes are kept off the walked path."""
    out = []
    if rng.random() > 0.2:
        return out
    P = ch["P"][::10]
    for _ in range(int(rng.integers(1, 3))):
        for _try in range(10):
            p = P[int(rng.integers(len(P)))]
            c = cam.pos[:2] + (p - cam.pos[:2]) * rng.uniform(0.45, 0.85)
            half = np.array([rng.uniform(0.3, 1.0), rng.uniform(0.2, 0.45), 0.0])
            half[2] = rng.uniform(0.22, 0.5)
            if np.min(np.linalg.norm(P - c, axis=1)) > np.hypot(half[0], half[1]) + 0.35 \
                    and np.linalg.norm(c - cam.pos[:2]) > 0.8:
                yaw = math.atan2(p[1] - cam.pos[1], p[0] - cam.pos[0]) + math.pi / 2 + rng.normal(0, 0.3)
                out.append((np.r_[c, half[2]], half, yaw))
                break
    return out


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


def fmt_frames(ts, out, lost, lab, width, height):
    lines = []
    for i in range(len(ts)):
        if lost[i]:
            lms = "null"
        else:
            lms = "[" + ",".join("[%.5f,%.5f,%.5f,%.5f]" % tuple(r) for r in out[i]) + "]"
        lines.append('{"t":%.4f,"width":%d,"height":%d,"landmarks":%s,"label":"%s"}'
                     % (ts[i], width, height, lms, CLASSES[lab[i]]))
    s = "\n".join(lines) + "\n"
    return s.replace("-0.00000", "0.00000")


def seq_seed(seed, split, i):
    ss = np.random.SeedSequence([int(seed), SPLIT_STREAM[split], int(i)])
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def _work(args):
    out_dir, seed, split, i, dur, tug, kind = args
    s = seq_seed(seed, split, i)
    name, ts, out, lost, lab, meta = make_sequence(s, split, i, dur, tug, kind)
    with open(os.path.join(out_dir, name + ".jsonl"), "w") as f:
        f.write(fmt_frames(ts, out, lost, lab, meta["camera"]["width"], meta["camera"]["height"]))
    with open(os.path.join(out_dir, name + ".meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
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
