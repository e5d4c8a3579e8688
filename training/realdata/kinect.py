"""Kinect skeletons (v2: 25 joints, v1: 20 joints) -> the 33 BlazePose landmarks in the world
frame of common.py. The mapping (K = Kinect joint):

  shoulders, elbows, wrists    K Shoulder*, Elbow*, Wrist*
  hips, knees, ankles          K Hip*, Knee*, Ankle*
  foot_index                   K Foot*
  heel                         the ankle, 5 cm back along the foot (ankle -> foot on the floor
                               plane) and 5 cm down
  pinky, index, thumb          the generator's hand points (mocap_to_landmarks.hand_points) from
                               the wrist, along wrist -> K HandTip* (v2) or K Hand* (v1), thumb
                               side toward K Thumb* - K Hand* (v2) or the body's front (v1);
                               v2 scale from the wrist -> hand-tip length, v1 scale 1
  face (nose, eyes, ears,      common.add_face: the generator's face offsets about K Head,
  mouth)                       up along K Neck (v2) / ShoulderCenter (v1) -> Head, forward the
                               facing from the shoulder and hip lines (after common.facing_fix)
"""
from __future__ import annotations

import numpy as np

import common as C

G, M = C.G, C.M

# joint indices: name -> (v2 index, v1 index)
J = dict(neck=(2, 2), head=(3, 3),
         sh_l=(4, 4), el_l=(5, 5), wr_l=(6, 6), hand_l=(7, 7), sh_r=(8, 8), el_r=(9, 9), wr_r=(10, 10),
         hand_r=(11, 11), hip_l=(12, 12), kn_l=(13, 13), an_l=(14, 14), ft_l=(15, 15), hip_r=(16, 16),
         kn_r=(17, 17), an_r=(18, 18), ft_r=(19, 19), tip_l=(21, None), th_l=(22, None),
         tip_r=(23, None), th_r=(24, None))
FEET = ("ft_l", "ft_r")


def world(K, version):
    """Kinect coordinates (T, joints, 3) in metres -> world coordinates, the rotation and the
    camera height (common.fit_floor on the foot joints of every frame)."""
    v = 0 if version == 2 else 1
    feet = np.concatenate([K[:, J[f][v]] for f in FEET], 0)
    trunk = G.norm(K[:, J["neck"][v]] - (K[:, J["hip_l"][v]] + K[:, J["hip_r"][v]]) / 2)
    n, h = C.fit_floor(feet, np.median(trunk, axis=0))
    R, off = C.kinect_to_world(n, h)
    return K @ R.T + off, R, h


def landmarks(W, ts, version):
    """World Kinect joints (T, joints, 3) -> (T, 33, 3) BlazePose landmarks (docstring), the
    facing fix applied; and the mask of frames whose left and right were exchanged."""
    v = 0 if version == 2 else 1
    j = lambda name: W[:, J[name][v]]
    T = len(W)
    X = np.zeros((T, 33, 3))
    up = np.array([0.0, 0.0, 1.0])
    lat = (j("sh_l") - j("sh_r")) + (j("hip_l") - j("hip_r"))
    body_fwd = G.norm(np.cross(lat, up))
    for i, s in enumerate("lr"):
        X[:, 11 + i] = j("sh_" + s)
        X[:, 13 + i] = j("el_" + s)
        X[:, 15 + i] = j("wr_" + s)
        X[:, 23 + i] = j("hip_" + s)
        X[:, 25 + i] = j("kn_" + s)
        X[:, 27 + i] = j("an_" + s)
        X[:, 31 + i] = j("ft_" + s)
        fd = j("ft_" + s) - j("an_" + s)
        fd[:, 2] = 0
        bad = np.linalg.norm(fd, axis=1) < 0.02
        fd[bad] = body_fwd[bad]
        X[:, 29 + i] = j("an_" + s) - 0.05 * G.norm(fd) - 0.05 * up
        if version == 2:
            along = j("tip_" + s) - j("wr_" + s)
            thumb = j("th_" + s) - j("hand_" + s)
            scale = C.hand_scale(j("wr_" + s), j("tip_" + s))
        else:
            along = j("hand_" + s) - j("wr_" + s)
            thumb = body_fwd
            scale = 1.0
        X[:, 17 + i], X[:, 19 + i], X[:, 21 + i] = M.hand_points(j("wr_" + s), along, thumb, scale)
    X, swapped = C.facing_fix(ts, X)
    X = C.add_face(X, j("head"), j("neck"))
    return X, swapped

