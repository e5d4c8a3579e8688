"""Stage 3: channels -> 33 BlazePose landmarks in world metres (FK, two-link IK)."""
from __future__ import annotations

import numpy as np

from .body import Body
from .common import fwd2, mv, norm, rot_x, rot_y, rot_z


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
