"""Stage 1: a body with sampled proportions, its gait, and the seats it uses."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


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
