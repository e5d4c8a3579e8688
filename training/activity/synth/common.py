"""Constants shared by every stage, and small numeric helpers.

World frame: X, Y on the floor, Z up, metres. A heading psi means facing
(cos psi, sin psi); the person's left is (-sin psi, cos psi).
"""
from __future__ import annotations

import math

import numpy as np

GENERATOR_VERSION = "1.3.0"

# `still` is standing still; `sitting` (since 1.2.0) is seated still. The motions label every
# quiet frame `still`; frames on a seat are relabelled `sitting` at output (seated_still).
CLASSES = ["walk_toward", "walk_away", "turn", "sit_down", "stand_up", "still", "walk_across", "other", "sitting"]
CLS = {c: i for i, c in enumerate(CLASSES)}
WALK = -1  # placeholder label: walking, direction resolved against the camera later

# Seed streams: the split name selects a disjoint stream of per-sequence seeds, so the
# test split never shares body / camera / scenario draws with train.
SPLIT_STREAM = {"train": 0x7A1, "val": 0x5E2, "test": 0x3C9}

LANDMARK_NAMES = [
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
]
# index permutation that exchanges left and right landmarks
LR_SWAP = np.array([0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19,
                    22, 21, 24, 23, 26, 25, 28, 27, 30, 29, 32, 31])
FACE = np.arange(0, 11)
UPPER = np.arange(11, 23)
LOWER = np.arange(23, 33)
LEGS = np.arange(25, 33)

DT = 1.0 / 60.0  # internal simulation step


# ----------------------------------------------------------------------------- maths
def rot_x(a):
    a = np.asarray(a, float)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1),
                     np.stack([z, s, c], -1)], -2)


def rot_y(a):
    a = np.asarray(a, float)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1),
                     np.stack([-s, z, c], -1)], -2)


def rot_z(a):
    a = np.asarray(a, float)
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1),
                     np.stack([z, z, o], -1)], -2)


def mv(R, v):
    """(T,3,3) x (3,) or (T,3) -> (T,3)"""
    v = np.asarray(v, float)
    if v.ndim == 1:
        return R @ v
    return np.einsum("tij,tj->ti", R, v)


def norm(v, axis=-1):
    return v / np.maximum(np.linalg.norm(v, axis=axis, keepdims=True), 1e-9)


def smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def minjerk(x):
    x = np.clip(x, 0.0, 1.0)
    return x ** 3 * (10 - 15 * x + 6 * x * x)


def wrap(a):
    return (a + np.pi) % (2 * np.pi) - np.pi


def colored(rng, n, dt, fc, sigma):
    """Zero-mean stationary Gaussian noise of std sigma, low-passed at about fc Hz (FFT
    shaping; normalised by the filter's gain, not by the sample, so short draws stay small)."""
    if n <= 1:
        return np.zeros(n)
    m = 1 << int(math.ceil(math.log2(n + 16)))
    w = rng.standard_normal(m)
    f = np.fft.rfftfreq(m, dt)
    H = np.exp(-0.5 * (f / max(fc, 1e-3)) ** 2)
    wt = np.full(len(f), 2.0)
    wt[0] = 1.0
    if m % 2 == 0:
        wt[-1] = 1.0
    gain = math.sqrt(float(np.sum(wt * H * H)) / m)
    x = np.fft.irfft(np.fft.rfft(w) * H, m)[:n]
    return x * (sigma / max(gain, 1e-12))


def lowpass_fast(x, dt, tau):
    """Zero-phase Gaussian smoothing via FFT (for long channels)."""
    if tau <= 0 or len(x) < 3:
        return x
    x = np.asarray(x, float)
    n = len(x)
    pad = int(4 * tau / dt) + 2
    xp = np.concatenate([np.repeat(x[:1], pad, 0), x, np.repeat(x[-1:], pad, 0)], 0)
    m = len(xp)
    f = np.fft.rfftfreq(m, dt)
    g = np.exp(-0.5 * (2 * np.pi * f * tau) ** 2)
    if xp.ndim == 1:
        y = np.fft.irfft(np.fft.rfft(xp) * g, m)
    else:
        y = np.fft.irfft(np.fft.rfft(xp, axis=0) * g[:, None], m, axis=0)
    return y[pad:pad + n]


def fwd2(psi):
    return np.stack([np.cos(psi), np.sin(psi)], -1)


def left2(psi):
    return np.stack([-np.sin(psi), np.cos(psi)], -1)
