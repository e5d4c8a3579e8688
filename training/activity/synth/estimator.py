"""Stage 5: what MediaPipe does to the truth: normalised x/y, relative z, visibility, jitter,
correlated errors, occlusion, out-of-frame, left/right swaps, One Euro smoothing, lost
frames; and the frame times of a camera."""
from __future__ import annotations

import math

import numpy as np

from .body import Body
from .camera import Camera
from .common import DT, LR_SWAP, colored, lowpass_fast, norm, rot_z


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
