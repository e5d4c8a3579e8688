"""Walking and turning: a footstep planner over a pelvis path (lines and arcs)."""
from __future__ import annotations

import math

import numpy as np

from ..body import Gait
from ..common import CLS, DT, WALK, fwd2, left2, lowpass_fast, minjerk, smoothstep, wrap


class LocomotionMixin:
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
