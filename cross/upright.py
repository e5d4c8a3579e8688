#!/usr/bin/env python3
"""Checks that every pose in an `activityd pose` output of a video stands upright: the
shoulders' midpoint above the hips' midpoint, the torso more vertical than horizontal. For
the clip of a man walking into the Sports2D view, where f16 output heads once turned the
detector's first box a quarter and the tracker followed him lying on his side
(cross/README.md, "f16 arithmetic on a Cortex-A76").

usage: upright.py POSE.jsonl [--allow K] [--min-frames N]
Exits 1 if more than K poses (default 0) are not upright, or fewer than N frames (default 5)
have a person.
"""
import argparse
import json
import sys


def torso(frame):
    """(dx, dy) in pixels from the hips' midpoint to the shoulders' (y grows downwards)."""
    lm, w, h = frame["landmarks"], frame["width"], frame["height"]
    xy = lambda i: (lm[i][0], lm[i][1]) if isinstance(lm[i], list) else (lm[i]["x"], lm[i]["y"])
    mid = lambda a, b: ((xy(a)[0] + xy(b)[0]) / 2 * w, (xy(a)[1] + xy(b)[1]) / 2 * h)
    (sx, sy), (hx, hy) = mid(11, 12), mid(23, 24)
    return sx - hx, sy - hy


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("poses")
    ap.add_argument("--allow", type=int, default=0)
    ap.add_argument("--min-frames", type=int, default=5)
    a = ap.parse_args()
    found, bad = 0, []
    for line in open(a.poses):
        f = json.loads(line)
        if not f.get("landmarks"):
            continue
        found += 1
        dx, dy = torso(f)
        if not -dy > abs(dx):
            bad.append(f"t={f['t']:.3f}: torso ({dx:+.0f}, {dy:+.0f}) px")
    print(f"{found} frames with a person, {len(bad)} not upright")
    for b in bad:
        print("  " + b)
    if len(bad) > a.allow or found < a.min_frames:
        sys.exit(1)


if __name__ == "__main__":
    main()
