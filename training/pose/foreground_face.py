#!/usr/bin/env python3
"""A face near the camera: does it hide the people beyond it? (measurement, not a test)

Pastes the astronaut's head and shoulders (tests/fixtures/images/skimage_astronaut.jpg, a
real photo) into the bottom-left and bottom-right corners of the Sports2D clip at five
sizes (0.4-0.7 of the frame's height, cut by its bottom edge; a soft head-and-shoulders
mask), runs `activityd pose --people` on each clip and on the plain one, and counts the
frames in which someone is found within 30 px of the woman walking across (her nose, as
the same binary finds it on the plain clip; only where she is clear of the face's columns
and below the man's box), and the ids: how many the tracker gave her in those frames, and
whether the face kept its own (someone walking behind it can take it over).

  training/.venv-mp/bin/python training/pose/foreground_face.py [--activityd BIN] [--reference BIN]
      [--keep DIR]

Needs OpenCV (training/.venv-mp, requirements-mp.txt). Prints one line per clip and the
total; the clips go to a temporary folder unless --keep.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import tempfile

import cv2
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLIP = os.path.join(ROOT, "tests/fixtures/video/sports2d_640x360.mp4")
FACE = os.path.join(ROOT, "tests/fixtures/images/skimage_astronaut.jpg")
# (where, height as a fraction of the frame's)
PLACES = [(w, s) for w in ("left", "right") for s in (0.4, 0.5, 0.55, 0.6, 0.7)]


def composite(out, where, scale):
    """The clip with the face pasted in; returns the face's columns (x0, x1)."""
    cap = cv2.VideoCapture(CLIP)
    fps, W, H = cap.get(cv2.CAP_PROP_FPS), int(cap.get(3)), int(cap.get(4))
    h = cv2.imread(FACE)[0:330, 110:410]  # her head and shoulders
    s = int(H * scale)
    h = cv2.resize(h, (int(h.shape[1] * s / h.shape[0]), s))
    mh, mw = h.shape[:2]
    mask = np.zeros((mh, mw), np.float32)
    cv2.ellipse(mask, (mw // 2, int(mh * 0.38)), (int(mw * 0.26), int(mh * 0.36)), 0, 0, 360, 1, -1)
    cv2.ellipse(mask, (mw // 2, mh), (int(mw * 0.5), int(mh * 0.4)), 0, 180, 360, 1, -1)
    mask = cv2.GaussianBlur(mask, (9, 9), 0)[..., None]
    x0 = 10 if where == "left" else W - mw - 10
    y0 = H - int(mh * 0.8)
    vw = cv2.VideoWriter(out, cv2.VideoWriter_fourcc(*"mp4v"), fps, (W, H))
    while True:
        ok, f = cap.read()
        if not ok:
            break
        roi = f[y0:H, x0:x0 + mw].astype(np.float32)
        f[y0:H, x0:x0 + mw] = (roi * (1 - mask[:H - y0]) + h[:H - y0] * mask[:H - y0]).astype(np.uint8)
        vw.write(f)
    vw.release()
    return x0, x0 + mw


def noses(activityd, path):
    """{t: [(x, y, person id) of each person's nose, pixels]}."""
    out = subprocess.run([activityd, "pose", "--people", "--log-level", "warn", path],
                         capture_output=True, text=True, check=True).stdout
    by = collections.defaultdict(list)
    for line in out.splitlines():
        d = json.loads(line)
        if d.get("landmarks"):
            by[round(d["t"], 3)].append((d["landmarks"][0][0] * d["width"],
                                         d["landmarks"][0][1] * d["height"], d["person"]))
    return by


def face_ids(faced):
    """The ids on the face (within 40 px of where a nose is most often found: the pasted face
    does not move): (frames, frames under another id than its first, number of ids)."""
    cells = collections.Counter((round(x / 20), round(y / 20)) for ns in faced.values() for x, y, _ in ns)
    (cx, cy), _ = cells.most_common(1)[0]
    on = []
    for t in sorted(faced):
        ids = [p for x, y, p in faced[t] if abs(x - 20 * cx) < 40 and abs(y - 20 * cy) < 40]
        if ids:
            on.append(ids[0])
    return len(on), sum(1 for p in on if p != on[0]), len(set(on))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--activityd", default=os.path.join(ROOT, "target/release/activityd"))
    ap.add_argument("--reference", help="the binary that finds her on the plain clip (default: --activityd), "
                    "to compare two binaries against one reference")
    ap.add_argument("--keep", help="write the clips here and keep them")
    a = ap.parse_args()
    tmp = a.keep or tempfile.mkdtemp(prefix="foreground_face_")
    os.makedirs(tmp, exist_ok=True)
    plain = noses(a.reference or a.activityd, CLIP)
    total = [0, 0]
    ids = collections.Counter()
    for where, scale in PLACES:
        path = os.path.join(tmp, f"face_{where}_{scale}.mp4")
        x0, x1 = composite(path, where, scale)
        faced = noses(a.activityd, path)
        n = k = 0
        hers = set()
        for t, ns in plain.items():
            for x, y, _ in ns:
                # Her, below the man's box, clear of the face's columns (20 px margin).
                if y < 150 or x0 - 20 < x < x1 + 20:
                    continue
                n += 1
                on = [p for u, v, p in faced.get(t, []) if (x - u) ** 2 + (y - v) ** 2 < 30 ** 2]
                k += bool(on)
                hers.update(on[:1])
        total[0] += k
        total[1] += n
        f_frames, f_other, f_ids = face_ids(faced)
        swapped = f_ids > 1 and f_other > 5
        ids.update({"face frames": f_frames, "face other": f_other, "swapped": swapped, "hers": len(hers)})
        print(f"face {where:5s} {scale:.2f} of the height: the woman found in {k} of {n} frames "
              f"under {len(hers)} id(s); the face {f_frames} frames, {f_ids} id(s), {f_other} under "
              f"another than its first")
    print(f"all {len(PLACES)} clips: {total[0]} of {total[1]} ({total[0] / max(total[1], 1):.0%}); "
          f"ids on her {ids['hers']} (one each: {len(PLACES)}); the face under another id in "
          f"{ids['face other']} of {ids['face frames']} frames, for more than 5 frames in {ids['swapped']} clips")


if __name__ == "__main__":
    main()
