"""Standing and sitting still, with hand gestures."""
from __future__ import annotations

import numpy as np

from ..common import CLS, DT, colored, fwd2, left2, smoothstep


class StillMixin:
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
