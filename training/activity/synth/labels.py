"""Labels that need the whole sequence: walking resolved against the camera, and quiet frames
on a seat relabelled `sitting`."""
from __future__ import annotations

import math

import numpy as np

from .camera import Camera
from .common import CLS, DT, WALK, lowpass_fast, norm


def seated_still(ch) -> np.ndarray:
    """Quiet frames on a seat: a finite pelvis height (a seat's) while labelled `still`."""
    return np.isfinite(ch["hz"]) & (ch["label"] == CLS["still"])


def resolve_walk_labels(ch, labels, cam: Camera):
    """WALK -> walk_toward / walk_away / walk_across from the travel direction relative to the
    line of sight to the camera (toward: within 45 deg of it, away: within 45 deg of the
    opposite, across otherwise)."""
    P = lowpass_fast(ch["P"], DT, 0.35)
    v = np.gradient(P, DT, axis=0)
    toc = cam.pos[None, :2] - P
    cosang = np.sum(norm(v) * norm(toc), -1)
    lab = labels.copy()
    w = lab == WALK
    lab[w & (cosang >= math.cos(math.radians(45)))] = CLS["walk_toward"]
    lab[w & (cosang <= -math.cos(math.radians(45)))] = CLS["walk_away"]
    lab[w & (np.abs(cosang) < math.cos(math.radians(45)))] = CLS["walk_across"]
    return lab
