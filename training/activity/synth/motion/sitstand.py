"""Sitting down and standing up (chairs and the floor), lying back and sitting up."""
from __future__ import annotations

import numpy as np

from ..body import Chair
from ..common import CLS, DT, fwd2, left2, minjerk, smoothstep


class SitStandMixin:
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
