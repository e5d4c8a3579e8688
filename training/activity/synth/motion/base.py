"""The Builder's state: the control channels, emitting and ramping them, and being seated."""
from __future__ import annotations

import math

import numpy as np

from ..body import Body, Chair, Gait
from ..common import CLS, DT, fwd2, left2, minjerk

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


class BuilderBase:
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

