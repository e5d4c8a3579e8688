#!/usr/bin/env python3
"""Real human motion (mocap) -> BlazePose-like landmark fixtures with motion-derived labels.

Sources (fetched by fetch_mocap.sh into training/activity/.mocap/):
  * bvhtoolbox 0.1.3 sdist (MIT): test_freebvh.bvh (Mixamo skeleton; walks ~1 m, turns 180
    deg, walks back; 30 fps) and test_mocapbank.bvh (stands, steps, kneels on one knee, gets
    up; 30 fps). BVH units are centimetres, Y up; Mixamo faces +Z with its left on +X.
  * pybullet 3.2.7 wheel (zlib): DeepMimic clips humanoid3d_walk (one gait cycle, looped),
    humanoid3d_getup_faceup / _facedown (60 fps) and walker/turn_left1 / turn_right1 (walking
    turn cycles). Frame = [duration, root pos(3), root quat(w,x,y,z), chest quat, neck quat,
    right hip quat, right knee angle, right ankle quat, right shoulder quat, right elbow angle,
    left hip quat, left knee, left ankle quat, left shoulder quat, left elbow] (44 numbers),
    as sliced by pybullet_envs/deep_mimic/env/humanoid_pose_interpolator.py. Metres, Y up, the
    character faces +X with its right on +Z; link offsets from pybullet_data/humanoid/
    humanoid.urdf at globalScaling 0.25 (as humanoid_stable_pd.py loads it).

Everything is converted to the generator's world frame (Z up, metres, facing/left as in
generate.py), mapped onto the 33 BlazePose landmarks (face, hand and heel points synthesised
from head / hand / foot orientation where the skeleton lacks them), seen from several virtual
wall cameras and passed through generate.estimate() with mild noise (no swaps, no dropouts).

Labels come from the motion itself (see label_motion) and are written per frame.

  mocap_to_landmarks.py [--src .mocap] [--out ../../tests/fixtures/mocap] [--png DIR]
"""
from __future__ import annotations

import argparse
import json
import math
import os

import numpy as np

import generate as G

HERE = os.path.dirname(os.path.abspath(__file__))
Y2Z = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])  # (x, y_up, z) -> (x, -z, y): Z up


# ----------------------------------------------------------------------------- BVH
class BVH:
    def __init__(self, path):
        toks = open(path).read().split()
        self.names, self.parent, self.offset, self.channels, self.end = [], [], [], [], {}
        i, stack = 0, []
        while toks[i] != "MOTION":
            t = toks[i]
            if t in ("ROOT", "JOINT"):
                self.names.append(toks[i + 1])
                self.parent.append(stack[-1] if stack else -1)
                self.offset.append(None)
                self.channels.append([])
                cur = len(self.names) - 1
                i += 2
            elif t == "End":
                # End Site: remember its offset on the parent joint
                j = i
                while toks[j] != "OFFSET":
                    j += 1
                self.end[stack[-1]] = np.array([float(x) for x in toks[j + 1:j + 4]])
                k = j + 4
                assert toks[k] == "}"
                i = k + 1
                continue
            elif t == "{":
                stack.append(cur)
                i += 1
            elif t == "}":
                stack.pop()
                i += 1
            elif t == "OFFSET":
                self.offset[cur] = np.array([float(x) for x in toks[i + 1:i + 4]])
                i += 4
            elif t == "CHANNELS":
                n = int(toks[i + 1])
                self.channels[cur] = toks[i + 2:i + 2 + n]
                i += 2 + n
            else:
                i += 1
        nf = int(toks[i + 2])
        self.dt = float(toks[i + 5])
        vals = np.array([float(x) for x in toks[i + 6:]])
        self.motion = vals.reshape(nf, -1)

    def fk(self, positions_replace_offsets=False):
        """Global positions (F,J,3) and rotations (F,J,3,3) in the file's units/axes.
        By default position channels move the root only (added to its offset); with
        `positions_replace_offsets` (Bandai's files) a joint's position channels replace its
        offset, for every joint that has them."""
        F, J = len(self.motion), len(self.names)
        pos = np.zeros((F, J, 3))
        rot = np.zeros((F, J, 3, 3))
        col = 0
        ax = {"X": G.rot_x, "Y": G.rot_y, "Z": G.rot_z}
        for j in range(J):
            R = np.broadcast_to(np.eye(3), (F, 3, 3)).copy()
            if positions_replace_offsets:
                tr = np.repeat(self.offset[j][None], F, 0).astype(float)
            else:
                tr = np.zeros((F, 3))
            for c in self.channels[j]:
                v = self.motion[:, col]
                col += 1
                if c.endswith("position"):
                    tr[:, "XYZ".index(c[0])] = v
                else:
                    R = R @ ax[c[0]](np.radians(v))
            p = self.parent[j]
            if p < 0:
                pos[:, j] = tr if positions_replace_offsets else self.offset[j] + tr
                rot[:, j] = R
            elif positions_replace_offsets:
                pos[:, j] = pos[:, p] + np.einsum("fij,fj->fi", rot[:, p], tr)
                rot[:, j] = rot[:, p] @ R
            else:
                pos[:, j] = pos[:, p] + np.einsum("fij,j->fi", rot[:, p], self.offset[j])
                rot[:, j] = rot[:, p] @ R
        return pos, rot

    def idx(self, name):
        for i, n in enumerate(self.names):
            if n == name or n.split(":")[-1] == name:
                return i
        raise KeyError(name)


def head_face(ear_c, fwd, left, up, scale=1.0):
    """Face points from a head frame (ear centre, unit axes)."""
    Rh = np.stack([fwd, left, up], -1)  # columns
    return ear_c[:, None, :] + np.einsum("fij,kj->fki", Rh, G.FACE_OFFS * scale)


def orthonormal(fwd, up):
    up = G.norm(up)
    fwd = G.norm(fwd - np.sum(fwd * up, -1, keepdims=True) * up)
    left = np.cross(up, fwd)
    return fwd, left, up


def hand_points(wrist, along, thumb, s=1.0):
    along = G.norm(along)
    thumb = G.norm(thumb - np.sum(thumb * along, -1, keepdims=True) * along)
    return (wrist + s * (0.066 * along - 0.024 * thumb), wrist + s * (0.078 * along + 0.017 * thumb),
            wrist + s * (0.040 * along + 0.040 * thumb))


def bvh_landmarks(path):
    """BVH (cm, Y up) -> (F,33,3) metres, Z up. Handles the Mixamo and the MocapBank
    skeletons of the bvhtoolbox examples."""
    b = BVH(path)
    pos, rot = b.fk()
    F = len(pos)
    P = pos / 100.0 @ Y2Z.T
    Rw = np.einsum("ij,fkjl->fkil", Y2Z, rot)       # world-from-joint rotations (Z up)

    def axis(j, v):  # a rest-pose axis of joint j (BVH rest frame: x left, y up, z forward)
        return np.einsum("fij,j->fi", Rw[:, j], np.array(v, float))

    X = np.zeros((F, 33, 3))
    mixamo = any(n.startswith("mixamorig") for n in b.names)
    if mixamo:
        J = {k: b.idx(k) for k in ["Head", "LeftArm", "RightArm", "LeftForeArm", "RightForeArm", "LeftHand",
                                    "RightHand", "LeftUpLeg", "RightUpLeg", "LeftLeg", "RightLeg", "LeftFoot",
                                    "RightFoot", "LeftToeBase", "RightToeBase", "LeftHandIndex1",
                                    "RightHandIndex1", "LeftHandPinky1", "RightHandPinky1", "LeftHandThumb2",
                                    "RightHandThumb2", "HeadTop_End"]}
        sh, el, wr = ("LeftArm", "RightArm"), ("LeftForeArm", "RightForeArm"), ("LeftHand", "RightHand")
        hip, kn, an = ("LeftUpLeg", "RightUpLeg"), ("LeftLeg", "RightLeg"), ("LeftFoot", "RightFoot")
        toe = ("LeftToeBase", "RightToeBase")
    else:
        J = {k: b.idx(k) for k in ["Head", "LeftShoulder", "RightShoulder", "LeftElbow", "RightElbow",
                                    "LeftWrist", "RightWrist", "LeftHip", "RightHip", "LeftKnee", "RightKnee",
                                    "LeftAnkle", "RightAnkle"]}
        sh, el, wr = ("LeftShoulder", "RightShoulder"), ("LeftElbow", "RightElbow"), ("LeftWrist", "RightWrist")
        hip, kn, an = ("LeftHip", "RightHip"), ("LeftKnee", "RightKnee"), ("LeftAnkle", "RightAnkle")
        toe = None
    # head frame: rest-pose axes of the head joint; ear centre ~7 cm above the head joint
    h = J["Head"]
    fwd, left, up = orthonormal(axis(h, [0, 0, 1]), axis(h, [0, 1, 0]))
    ear_c = P[:, h] + up * 0.07 - fwd * 0.005
    X[:, 0:11] = head_face(ear_c, fwd, left, up)
    for i, s in enumerate("LR"):
        X[:, 11 + i] = P[:, J[sh[i]]]
        X[:, 13 + i] = P[:, J[el[i]]]
        X[:, 15 + i] = P[:, J[wr[i]]]
        if mixamo:
            pre = "Left" if s == "L" else "Right"
            ind, pin, thb = P[:, J[pre + "HandIndex1"]], P[:, J[pre + "HandPinky1"]], P[:, J[pre + "HandThumb2"]]
            X[:, 17 + i], X[:, 19 + i], X[:, 21 + i] = pin, ind, thb
        else:
            j = J[wr[i]]
            tip = P[:, j] + np.einsum("fij,j->fi", Rw[:, j], Y2Z @ b.end[j] / 100.0)
            thumb = axis(j, [0, 0, 1])  # rest pose: arm down, thumb forward
            X[:, 17 + i], X[:, 19 + i], X[:, 21 + i] = hand_points(P[:, j], tip - P[:, j], thumb)
        X[:, 23 + i] = P[:, J[hip[i]]]
        X[:, 25 + i] = P[:, J[kn[i]]]
        a = J[an[i]]
        X[:, 27 + i] = P[:, a]
        # toe point: toe base .. end site (Mixamo) / the ankle's end site (MocapBank)
        if toe:
            t = J[toe[i]]
            tip = P[:, t] + np.einsum("fij,j->fi", Rw[:, t], Y2Z @ b.end[t] / 100.0)
            X[:, 31 + i] = P[:, t] + 0.5 * (tip - P[:, t])
        else:
            tip = P[:, a] + np.einsum("fij,j->fi", Rw[:, a], Y2Z @ b.end[a] / 100.0)
            X[:, 31 + i] = P[:, a] + 0.8 * (tip - P[:, a])
        # heel: behind and below the ankle in the foot's rest frame (down 6.5 cm, back 5 cm)
        X[:, 29 + i] = P[:, a] + axis(a, [0, -0.065, -0.05])
    return X, b.dt


# ----------------------------------------------------------------------------- DeepMimic
S = 0.25  # globalScaling used by pybullet's DeepMimic humanoid
URDF = dict(chest=np.array([0, 0.944604, 0]) * S, neck=np.array([0, 0.895576, 0]) * S,
            head=np.array([0, 0.70, 0]) * S,
            r_hip=np.array([0, 0, 0.339548]) * S, l_hip=np.array([0, 0, -0.339548]) * S,
            knee=np.array([0, -1.686184, 0]) * S, ankle=np.array([0, -1.63948, 0]) * S,
            r_sh=np.array([-0.0962, 0.974, 0.73244]) * S, l_sh=np.array([-0.0962, 0.974, -0.73244]) * S,
            elbow=np.array([0, -1.099152, 0]) * S, wrist=np.array([0, -1.035788, 0]) * S)


def quat_wxyz(q):
    q = np.asarray(q, float)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1)], -2)


def deepmimic_frames(path, cycles=1, hold=0.0):
    d = json.load(open(path))
    fr = np.array(d["Frames"], float)
    if hold > 0:
        # a clip that does not loop: standing in its first pose before and its last after
        k = int(round(hold / float(np.median(fr[:-1, 0]))))
        fr = np.vstack([np.repeat(fr[:1], k, 0), fr, np.repeat(fr[-1:], k, 0)])
    if cycles > 1 and d.get("Loop") == "wrap":
        # DeepMimic loops: each new cycle starts where the previous ended (root position and
        # heading carried over)
        out = [fr]
        first = fr[0]
        for _ in range(cycles - 1):
            prev = out[-1]
            # heading change over the cycle (about Y)
            R0, R1 = quat_wxyz(first[4:8]), quat_wxyz(prev[-1, 4:8])
            f0, f1 = R0[:, 0], R1[:, 0]
            dyaw = math.atan2(-f1[2], f1[0]) - math.atan2(-f0[2], f0[0])
            Ry = G.rot_y(np.array(dyaw))
            qy = np.array([math.cos(dyaw / 2), 0, math.sin(dyaw / 2), 0])
            nxt = fr[1:].copy()
            rel = nxt[:, 1:4] - first[1:4]
            nxt[:, 1:4] = prev[-1, 1:4] + rel @ Ry.T
            nxt[:, 2] = fr[1:, 2]
            for k in range(len(nxt)):
                w1, v1 = qy[0], qy[1:]
                w2, v2 = nxt[k, 4], nxt[k, 5:8]
                nxt[k, 4] = w1 * w2 - v1 @ v2
                nxt[k, 5:8] = w1 * v2 + w2 * v1 + np.cross(v1, v2)
            out.append(nxt)
        fr = np.vstack(out)
    return fr


def deepmimic_landmarks(path, cycles=1, hold=0.0):
    fr = deepmimic_frames(path, cycles, hold)
    dt = float(np.median(fr[:, 0]))
    F = len(fr)
    root = fr[:, 1:4]
    Rr = quat_wxyz(fr[:, 4:8])
    Rc = Rr @ quat_wxyz(fr[:, 8:12])
    Rn = Rc @ quat_wxyz(fr[:, 12:16])
    mvv = lambda R, v: np.einsum("fij,j->fi", R, v)
    chest = root + mvv(Rr, URDF["chest"])
    neck = chest + mvv(Rc, URDF["neck"])
    head_c = neck + mvv(Rn, URDF["head"])
    Y = {}
    legs = {"R": (16, 20, 21, URDF["r_hip"]), "L": (30, 34, 35, URDF["l_hip"])}
    arms = {"R": (25, 29, URDF["r_sh"]), "L": (39, 43, URDF["l_sh"])}
    for s in "LR":
        qh, kn, qa, off = legs[s]
        hip = root + mvv(Rr, off)
        Rh = Rr @ quat_wxyz(fr[:, qh:qh + 4])
        knee = hip + mvv(Rh, URDF["knee"])
        Rk = Rh @ G.rot_z(fr[:, kn])
        ank = knee + mvv(Rk, URDF["ankle"])
        Ra = Rk @ quat_wxyz(fr[:, qa:qa + 4])
        # foot box: centre (0.045, -0.0225, 0), size 0.177 x 0.055 x 0.09 (x forward)
        toe = ank + mvv(Ra, np.array([0.12, -0.045, 0.0]))
        heel = ank + mvv(Ra, np.array([-0.04, -0.05, 0.0]))
        qs, el, offs = arms[s]
        sh = chest + mvv(Rc, offs)
        Rs = Rc @ quat_wxyz(fr[:, qs:qs + 4])
        elb = sh + mvv(Rs, URDF["elbow"])
        Re = Rs @ G.rot_z(fr[:, el])
        wr = elb + mvv(Re, URDF["wrist"]) * 0.92   # wrist joint, not the hand sphere centre
        along = mvv(Re, np.array([0, -1.0, 0]))
        thumb = mvv(Re, np.array([1.0, 0, 0]))
        Y[s] = dict(hip=hip, knee=knee, ank=ank, toe=toe, heel=heel, sh=sh, elb=elb, wr=wr,
                    hand=hand_points(wr, along, thumb, 0.9))
    X = np.zeros((F, 33, 3))
    fwd = mvv(Rn, np.array([1.0, 0, 0]))
    up = mvv(Rn, np.array([0, 1.0, 0]))
    fwd, left, up = orthonormal(fwd @ Y2Z.T, up @ Y2Z.T)
    X[:, 0:11] = head_face(head_c @ Y2Z.T - up * 0.01, fwd, left, up, 0.95)
    for i, s in enumerate("LR"):
        y = Y[s]
        X[:, 11 + i], X[:, 13 + i], X[:, 15 + i] = y["sh"], y["elb"], y["wr"]
        X[:, 17 + i], X[:, 19 + i], X[:, 21 + i] = y["hand"]
        X[:, 23 + i], X[:, 25 + i], X[:, 27 + i] = y["hip"], y["knee"], y["ank"]
        X[:, 29 + i], X[:, 31 + i] = y["heel"], y["toe"]
    X[:, 11:33] = X[:, 11:33] @ Y2Z.T
    return X, dt


# ----------------------------------------------------------------------------- labels
def label_motion(X, dt, cam_pos):
    """Per-frame labels from the motion:
    - pelvis height falling > 0.25 m/s (smoothed) within a drop of > 0.15 m -> sit_down,
      rising likewise -> stand_up;
    - else pelvis yaw rate > 50 deg/s -> turn;
    - else horizontal pelvis speed > 0.25 m/s with the pelvis above 80 % of its standing
      height -> walk_toward / walk_away / walk_across by the
      angle between the velocity and the line to the camera (< 45, > 135, otherwise);
    - else still. Runs shorter than 0.2 s are merged into their neighbours."""
    F = len(X)
    pel = (X[:, 23] + X[:, 24]) / 2
    tau = 0.15
    ps = G.lowpass_fast(pel, dt, tau)
    v = np.gradient(ps, dt, axis=0)
    hip_v = X[:, 23] - X[:, 24]
    sh_v = X[:, 11] - X[:, 12]
    lat = G.norm((hip_v + sh_v)[:, :2])
    yaw = np.unwrap(np.arctan2(lat[:, 1], lat[:, 0]))
    w = np.gradient(G.lowpass_fast(yaw, dt, tau), dt)
    speed = np.linalg.norm(v[:, :2], axis=1)
    vz = v[:, 2]
    z = ps[:, 2]
    lab = np.full(F, G.CLS["still"])
    toc = G.norm(cam_pos[None, :2] - ps[:, :2])
    cosang = np.sum(G.norm(v[:, :2]) * toc, -1)
    z_stand = np.percentile(z, 95)
    walk = (speed > 0.25) & (z > 0.8 * z_stand)   # nobody walks on the floor
    c45 = math.cos(math.radians(45))
    lab[walk & (cosang >= c45)] = G.CLS["walk_toward"]
    lab[walk & (cosang <= -c45)] = G.CLS["walk_away"]
    lab[walk & (np.abs(cosang) < c45)] = G.CLS["walk_across"]
    lab[np.abs(w) > math.radians(50)] = G.CLS["turn"]
    # vertical transitions: contiguous runs of |vz| > 0.25 that change height by > 0.15 m
    for sign, cls in ((-1, "sit_down"), (1, "stand_up")):
        m = sign * vz > 0.25
        i = 0
        while i < F:
            if m[i]:
                j = i
                while j < F and m[j]:
                    j += 1
                if abs(z[min(j, F - 1)] - z[i]) > 0.15:
                    # extend to where the vertical motion starts/ends (|vz| > 0.08)
                    a, b = i, j
                    while a > 0 and sign * vz[a - 1] > 0.08:
                        a -= 1
                    while b < F and sign * vz[b] > 0.08:
                        b += 1
                    lab[a:b] = G.CLS[cls]
                i = j
            else:
                i += 1
    return merge_short_runs(lab, dt)


def merge_short_runs(lab, dt):
    """Runs of one label shorter than 0.2 s are merged into their neighbours (the one
    before, or after for the first run), one at a time."""
    F = len(lab)
    min_len = max(int(0.2 / dt), 1)
    changed = True
    while changed:
        changed = False
        runs, i = [], 0
        while i < F:
            j = i
            while j < F and lab[j] == lab[i]:
                j += 1
            runs.append((i, j))
            i = j
        for k, (i, j) in enumerate(runs):
            if j - i < min_len and len(runs) > 1:
                nb = runs[k - 1] if k > 0 else runs[k + 1]
                lab[i:j] = lab[nb[0]]
                changed = True
                break
    return lab


def label_exercise(X, dt, cam_pos):
    """Labels for clips of exercising (jumps, kicks, punches, dancing): none of the activities,
    so every frame in which the body moves is `other`: the pelvis rule of label_motion finds
    anything but `still`, or a wrist or ankle moves faster than 0.6 m/s relative to the pelvis
    (smoothed 0.15 s). Runs shorter than 0.2 s are merged into their neighbours."""
    lab = label_motion(X, dt, cam_pos)
    pel = (X[:, 23] + X[:, 24]) / 2
    rel = (X[:, [15, 16, 27, 28]] - pel[:, None]).reshape(len(X), -1)
    limbs = G.lowpass_fast(rel, dt, 0.15).reshape(len(X), 4, 3)
    limb_speed = np.linalg.norm(np.gradient(limbs, dt, axis=0), axis=-1).max(1)
    moving = (lab != G.CLS["still"]) | (limb_speed > 0.6)
    return merge_short_runs(np.where(moving, G.CLS["other"], G.CLS["still"]), dt)


# ----------------------------------------------------------------------------- cameras
def wall_camera(name, target, direction, dist, height, hfov_deg, size, aim_z=0.9, roll=0.0):
    """A camera `dist` metres from target (xy) along `direction` (rad), looking back at it."""
    pos2 = np.asarray(target, float) + dist * np.array([math.cos(direction), math.sin(direction)])
    yaw = direction + math.pi
    pitch = math.atan2(height - aim_z, dist)
    return name, G.Camera(pos=np.r_[pos2, height], yaw=yaw, pitch=pitch, roll=roll,
                          hfov=math.radians(hfov_deg), width=size[0], height=size[1])


def cameras_for(X, kind):
    pel = (X[:, 23] + X[:, 24]) / 2
    c = (pel[:, :2].min(0) + pel[:, :2].max(0)) / 2
    d = pel[-1, :2] - pel[0, :2]
    if np.linalg.norm(d) < 0.5:  # in place: use the initial facing
        lat = X[0, 23, :2] - X[0, 24, :2]
        fwd = np.array([lat[1], -lat[0]])
        main = math.atan2(fwd[1], fwd[0])
    else:
        main = math.atan2(d[1], d[0])
    ext = np.linalg.norm(pel[:, :2].max(0) - pel[:, :2].min(0))
    cams = [
        # in front of the walk (person comes toward it), eye height
        wall_camera("front", c, main, 3.0 + ext, 1.6, 70, (1280, 720)),
        # behind the start (walks away), high on a wall, wide lens
        wall_camera("back_high", c, main + math.pi + 0.25, 2.8 + ext, 2.3, 90, (640, 480), aim_z=0.8, roll=0.03),
        # side view: walking across
        wall_camera("side", c, main + math.pi / 2, 3.5 + 0.3 * ext, 1.1, 60, (1920, 1080)),
        # 30 deg oblique, portrait phone-like framing
        wall_camera("oblique", c, main - math.radians(30), 3.2 + 0.5 * ext, 1.4, 55, (720, 1280), roll=-0.02),
    ]
    return cams


MILD = dict(quality=0.6, bias_fc=0.8, vis_base=4.5, face_back=2.5, occ_pen=4.0, occ_drift=0.03,
            prior_pull=0.0, z_scale=4.5, p_lost=0.0, p_stay_lost=0.0, swap_in=0.0, swap_out=1.0,
            leg_q=1.0, p_glitch=0.0)


def render_clip(name, X, dt, out_dir, seed, fps=30.0, max_s=None, exercise=False):
    T = len(X) * dt
    if max_s:
        T = min(T, max_s)
    ts = np.arange(0, T - dt, 1.0 / fps)
    fi = ts / dt
    i0 = np.clip(np.floor(fi).astype(int), 0, len(X) - 2)
    a = (fi - i0)[:, None, None]
    Xs = X[i0] * (1 - a) + X[i0 + 1] * a
    counts = {}
    for k, (cname, cam) in enumerate(cameras_for(Xs, name)):
        rng = np.random.default_rng([seed, k])
        lab = (label_exercise if exercise else label_motion)(Xs, 1.0 / fps, cam.pos)
        params = dict(MILD, fps=fps)
        out, lost, info = G.estimate(rng, Xs, ts, cam, None_body(), [], params)
        fn = f"{name}_{cname}"
        with open(os.path.join(out_dir, fn + ".jsonl"), "w") as f:
            f.write(G.fmt_frames(ts, out, lost, lab, cam.width, cam.height))
        counts[fn] = {c: int((lab == i).sum()) for i, c in enumerate(G.CLASSES) if (lab == i).any()}
        counts[fn]["frames"] = int(len(ts))
        counts[fn]["camera"] = cam.to_json()
    return counts


class None_body:
    """Proportions the estimator needs (torso box for self-occlusion) for mocap skeletons."""
    shoulder_w, hip_w, trunk, girth = 0.36, 0.22, 0.5, 1.0
    thigh = shank = 0.42
    leg = 0.84


CLIPS = [
    # name, loader, source (relative to --src), extra
    ("freebvh_walk_turn", "bvh", "bvhtoolbox-0.1.3/tests/example_files/test_freebvh.bvh", {"fps": 30}),
    ("mocapbank_kneel", "bvh", "bvhtoolbox-0.1.3/tests/example_files/test_mocapbank.bvh", {"fps": 15}),
    ("deepmimic_walk", "dm", "pybullet_data/data/motions/humanoid3d_walk.txt", {"cycles": 5, "fps": 30}),
    ("deepmimic_getup_faceup", "dm", "pybullet_data/data/motions/humanoid3d_getup_faceup.txt", {"fps": 15}),
    ("deepmimic_getup_facedown", "dm", "pybullet_data/data/motions/humanoid3d_getup_facedown.txt", {"fps": 15}),
    ("deepmimic_turn_left", "dm", "pybullet_data/data/motions/walker/turn_left1.txt", {"cycles": 3, "fps": 30}),
    # exercising: none of the activities (`other`, label_exercise)
    ("deepmimic_jump", "dm", "pybullet_data/data/motions/humanoid3d_jump.txt", {"cycles": 3, "fps": 30, "exercise": True}),
    ("deepmimic_kick", "dm", "pybullet_data/data/motions/humanoid3d_kick.txt", {"hold": 1.0, "fps": 30, "exercise": True}),
    ("deepmimic_punch", "dm", "pybullet_data/data/motions/humanoid3d_punch.txt", {"hold": 1.0, "fps": 30, "exercise": True}),
    ("deepmimic_dance_a", "dm", "pybullet_data/data/motions/humanoid3d_dance_a.txt", {"cycles": 3, "fps": 30, "exercise": True}),
    ("deepmimic_dance_b", "dm", "pybullet_data/data/motions/humanoid3d_dance_b.txt", {"cycles": 2, "fps": 30, "exercise": True}),
]


def load_clip(src, kind, path, extra):
    p = os.path.join(src, path)
    if kind == "bvh":
        X, dt = bvh_landmarks(p)
    else:
        X, dt = deepmimic_landmarks(p, extra.get("cycles", 1), extra.get("hold", 0.0))
    # floor at z = 0 (lowest foot point over the clip), start near the origin
    X = X.copy()
    X[..., 2] -= np.percentile(X[:, 27:33, 2].min(1), 2) - 0.0
    X[..., :2] -= ((X[0, 23] + X[0, 24]) / 2)[:2]
    return X, dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=os.path.join(HERE, ".mocap"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "tests", "fixtures", "mocap"))
    ap.add_argument("--png", default=None, help="also write contact sheets here")
    ap.add_argument("--seed", type=int, default=20240601)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    summary = {}
    for k, (name, kind, path, extra) in enumerate(CLIPS):
        X, dt = load_clip(a.src, kind, path, extra)
        pel = (X[:, 23] + X[:, 24]) / 2
        print(f"{name}: {len(X)} frames dt={dt:.4f}s, pelvis z {pel[:, 2].min():.2f}..{pel[:, 2].max():.2f} m, "
              f"head z max {X[:, 0, 2].max():.2f} m, travel {np.linalg.norm(pel[-1, :2] - pel[0, :2]):.2f} m")
        summary.update(render_clip(name, X, dt, a.out, a.seed + k, fps=extra.get("fps", 30),
                                   exercise=extra.get("exercise", False)))
    with open(os.path.join(a.out, "labels.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    for fn, c in sorted(summary.items()):
        print(fn, {k: v for k, v in c.items() if k != "camera"})
    if a.png:
        import subprocess
        import sys
        os.makedirs(a.png, exist_ok=True)
        for fn in sorted(summary):
            subprocess.run([sys.executable, os.path.join(HERE, "render.py"), os.path.join(a.out, fn + ".jsonl"),
                            os.path.join(a.png, fn + ".png"), "--frames", "24", "--cols", "8", "--zoom"], check=True)


if __name__ == "__main__":
    main()
