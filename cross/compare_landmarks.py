#!/usr/bin/env python3
"""Compares two `activityd pose` outputs (landmark JSON Lines) made from the same input by
two builds (x86-64 vs ARM). Same frame count, same timestamps, the same frames with/without a
person, and every landmark value within a tolerance per column. Prints the max differences
(JSON on the last line) and exits 1 if any check fails.

usage: compare_landmarks.py REFERENCE.jsonl OTHER.jsonl [--tol-xy 1e-3] [--tol-z 5e-3] [--tol-vis 5e-3]
"""
import argparse
import json
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("reference")
    ap.add_argument("other")
    ap.add_argument("--tol-xy", type=float, default=1e-3)
    ap.add_argument("--tol-z", type=float, default=5e-3)
    ap.add_argument("--tol-vis", type=float, default=5e-3)
    a = ap.parse_args()
    ref, oth = load(a.reference), load(a.other)
    problems = []
    if len(ref) != len(oth):
        problems.append(f"frame count {len(ref)} vs {len(oth)}")
    worst = {"x": 0.0, "y": 0.0, "z": 0.0, "visibility": 0.0}
    where = {}
    compared = 0
    for i, (r, o) in enumerate(zip(ref, oth)):
        if abs(r["t"] - o["t"]) > 1e-6 or (r["width"], r["height"]) != (o["width"], o["height"]):
            problems.append(f"frame {i}: t/size {r['t']},{r['width']}x{r['height']} vs {o['t']},{o['width']}x{o['height']}")
        rl, ol = r["landmarks"], o["landmarks"]
        if (rl is None) != (ol is None):
            problems.append(f"frame {i}: person found by one build only")
            continue
        if rl is None:
            continue
        compared += 1
        for j, (p, q) in enumerate(zip(rl, ol)):
            for k, name in enumerate(("x", "y", "z", "visibility")):
                d = abs(p[k] - q[k])
                if d > worst[name]:
                    worst[name] = d
                    where[name] = f"frame {i} landmark {j}"
    tol = {"x": a.tol_xy, "y": a.tol_xy, "z": a.tol_z, "visibility": a.tol_vis}
    for name, d in worst.items():
        if d > tol[name]:
            problems.append(f"max |d{name}| = {d:.6f} at {where[name]} > {tol[name]}")
    for p in problems:
        print("MISMATCH:", p, file=sys.stderr)
    print(json.dumps({"frames": len(ref), "frames_with_person": compared,
                      "max_abs_diff": {k: round(v, 6) for k, v in worst.items()},
                      "at": where, "ok": not problems}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
