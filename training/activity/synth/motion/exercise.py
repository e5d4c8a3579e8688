"""Movements that are none of the activities (`other`): squats, jumps, jumping jacks,
bends, lunges."""
from __future__ import annotations

import math

import numpy as np

from ..body import Body
from ..common import CLS, DT, fwd2, left2, minjerk, smoothstep


def exercise_kinds(b: Body):
    """What Builder.exercise can do: elderly bodies neither jump nor do jumping jacks."""
    if b.age_group == "elderly":
        return ["squat", "bend", "lunge"]
    return ["squat", "jump", "jacks", "bend", "lunge"]


class ExerciseMixin:
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
