"""Stage 4: the wall camera (intrinsics, placement aimed at the activity), the floor region
it sees, and furniture that may stand between it and the person."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .common import fwd2


IMAGE_SIZES = [(640, 480), (640, 480), (1280, 720), (1280, 720), (1920, 1080), (1920, 1080),
               (800, 600), (1024, 768), (480, 640), (720, 1280), (1080, 1920), (640, 360)]


@dataclass
class Camera:
    pos: np.ndarray
    yaw: float          # optical axis direction in the floor plane
    pitch: float        # downward tilt, rad
    roll: float
    hfov: float         # rad
    width: int
    height: int
    k1: float = 0.0     # radial distortion
    k2: float = 0.0

    @property
    def f(self):
        return (self.width / 2) / math.tan(self.hfov / 2)

    def R(self):
        cy, sy, cp, sp = math.cos(self.yaw), math.sin(self.yaw), math.cos(self.pitch), math.sin(self.pitch)
        fwd = np.array([cp * cy, cp * sy, -sp])
        right = np.array([sy, -cy, 0.0])
        down = np.cross(fwd, right)
        cr, sr = math.cos(self.roll), math.sin(self.roll)
        r2 = cr * right + sr * down
        d2 = -sr * right + cr * down
        return np.stack([r2, d2, fwd])

    def project(self, X):
        """X (...,3) world -> u, v pixels, depth (metres along the optical axis)."""
        Xc = (X - self.pos) @ self.R().T
        z = np.maximum(Xc[..., 2], 0.05)
        xn, yn = Xc[..., 0] / z, Xc[..., 1] / z
        r2 = xn * xn + yn * yn
        dist = 1 + self.k1 * r2 + self.k2 * r2 * r2
        u = self.f * xn * dist + self.width / 2
        v = self.f * yn * dist + self.height / 2
        return u, v, Xc[..., 2]

    def to_json(self):
        d = asdict(self)
        d["pos"] = [round(float(x), 4) for x in self.pos]
        for k in ("yaw", "pitch", "roll", "hfov", "k1", "k2"):
            d[k] = round(float(d[k]), 5)
        d["hfov_deg"] = round(math.degrees(self.hfov), 2)
        d["pitch_deg"] = round(math.degrees(self.pitch), 2)
        return d


def sample_camera_intrinsics(rng):
    W, H = IMAGE_SIZES[int(rng.integers(len(IMAGE_SIZES)))]
    hfov = math.radians(rng.uniform(50, 100))
    if H > W:  # portrait: the field of view quoted for the long side is vertical
        hfov = 2 * math.atan(math.tan(hfov / 2) * W / H)
    k1 = -rng.uniform(0.0, 0.12) * (math.degrees(hfov) / 100) ** 2 if rng.random() < 0.6 else 0.0
    return dict(width=W, height=H, hfov=hfov, k1=k1, k2=k1 * rng.uniform(0, 0.3),
                z=float(rng.uniform(0.8, 2.5)), roll=float(np.clip(rng.normal(0, 0.035), -0.09, 0.09)))


class Region:
    """Floor area seen by a camera at the origin looking along +Y."""

    def __init__(self, hfov, dmin=1.3, dmax=8.5, margin=0.12):
        self.half = hfov / 2 - margin
        self.dmin, self.dmax = dmin, dmax

    def inside(self, p, shrink=0.0):
        p = np.atleast_2d(p)
        d = np.linalg.norm(p, axis=-1)
        b = np.arctan2(p[:, 0], p[:, 1])
        return (d > self.dmin + shrink) & (d < self.dmax - shrink) & (np.abs(b) < self.half - shrink * 0.1) & (p[:, 1] > 0.5)

    def sample(self, rng, dlo=None, dhi=None):
        lo = self.dmin + 0.3 if dlo is None else dlo
        hi = self.dmax - 0.5 if dhi is None else dhi
        d = rng.uniform(lo, max(hi, lo + 0.1))
        b = rng.uniform(-self.half, self.half) * 0.8
        return np.array([d * math.sin(b), d * math.cos(b)])

    def max_len(self, p, h, cap):
        """How far one can walk from p along heading h and stay inside."""
        L = 0.0
        while L < cap:
            if not self.inside(p + fwd2(h) * (L + 0.25), shrink=0.3)[0]:
                break
            L += 0.25
        return L


def bearing_to_cam(p):
    """Heading that points from floor point p toward the camera at the origin."""
    return math.atan2(-p[1], -p[0])


def direction_for(rng, p, cat):
    toc = bearing_to_cam(p)
    if cat == "toward":
        return toc + rng.uniform(-0.55, 0.55)
    if cat == "away":
        return toc + math.pi + rng.uniform(-0.55, 0.55)
    if cat == "across":
        return toc + rng.choice([-1, 1]) * (math.pi / 2 + rng.uniform(-0.4, 0.4))
    return toc + rng.choice([-1, 1]) * rng.uniform(0.55, 1.0) + (math.pi if rng.random() < 0.5 else 0)


def place_camera(rng, intr, ch, X, check=True):
    """Camera at the origin looking along +Y (the scenario was planned inside its view), aimed
    at the activity; checks framing and backs off if the person is rarely in view."""
    P = ch["P"]
    ctr = (P.min(0) + P.max(0)) / 2
    for attempt in range(6):
        back = attempt * 0.6
        pos = np.array([0.0, -back, intr["z"]])
        dist = np.linalg.norm(ctr - pos[:2])
        aim_z = rng.uniform(0.5, 1.1)
        pitch = math.atan2(pos[2] - aim_z, dist) + rng.normal(0, 0.03)
        yaw = math.atan2(ctr[1] - pos[1], ctr[0] - pos[0]) + rng.normal(0, 0.05)
        cam = Camera(pos=pos, yaw=yaw, pitch=pitch, roll=intr["roll"], hfov=intr["hfov"],
                     width=intr["width"], height=intr["height"], k1=intr["k1"], k2=intr["k2"])
        u, v, d = cam.project(X[::6])
        hu, hv = (u[:, 23] + u[:, 24]) / 2, (v[:, 23] + v[:, 24]) / 2
        inview = ((hu > 0) & (hu < cam.width) & (hv > 0) & (hv < cam.height) & (d[:, 23] > 0.3)).mean()
        if inview > 0.88 or not check:
            return cam
    return cam


def furniture(rng, ch, cam: Camera):
    """Sometimes a sofa / table / bed stands between the camera and where the person walks:
    it hides their legs for a while. Boxes are kept off the walked path."""
    out = []
    if rng.random() > 0.2:
        return out
    P = ch["P"][::10]
    for _ in range(int(rng.integers(1, 3))):
        for _try in range(10):
            p = P[int(rng.integers(len(P)))]
            c = cam.pos[:2] + (p - cam.pos[:2]) * rng.uniform(0.45, 0.85)
            half = np.array([rng.uniform(0.3, 1.0), rng.uniform(0.2, 0.45), 0.0])
            half[2] = rng.uniform(0.22, 0.5)
            if np.min(np.linalg.norm(P - c, axis=1)) > np.hypot(half[0], half[1]) + 0.35 \
                    and np.linalg.norm(c - cam.pos[:2]) > 0.8:
                yaw = math.atan2(p[1] - cam.pos[1], p[0] - cam.pos[0]) + math.pi / 2 + rng.normal(0, 0.3)
                out.append((np.r_[c, half[2]], half, yaw))
                break
    return out
