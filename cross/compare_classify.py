#!/usr/bin/env python3
"""Compares two `activityd classify` documents made from the same landmark frames by two
builds (x86-64 vs ARM): same frames, same reported activity per frame (unless the two best
classes are within the tolerance of each other, where either answer is right), per-class
probabilities within the tolerance, and the same segments (activity and boundaries).
Prints the max differences (JSON) and exits 1 if any check fails.

usage: compare_classify.py REFERENCE.json OTHER.json [--tol-p 1e-3]
"""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("reference")
    ap.add_argument("other")
    ap.add_argument("--tol-p", type=float, default=1e-3)
    a = ap.parse_args()
    # The documents round probabilities to 3 decimals (as f32): a difference of exactly one
    # unit there (0.832 vs 0.831) is within a 1e-3 tolerance, though it reads back as 0.00100005.
    tol = a.tol_p + 1e-6
    ref, oth = (json.load(open(p)) for p in (a.reference, a.other))
    problems = []
    rf, of = ref.get("frames", []), oth.get("frames", [])
    if len(rf) != len(of):
        problems.append(f"frame count {len(rf)} vs {len(of)}")
    worst_p, worst_conf, close_calls = 0.0, 0.0, 0
    for i, (r, o) in enumerate(zip(rf, of)):
        rp, op = r.get("probabilities") or {}, o.get("probabilities") or {}
        if set(rp) != set(op):
            problems.append(f"frame {i}: classes {sorted(rp)} vs {sorted(op)}")
        for k in rp.keys() & op.keys():
            worst_p = max(worst_p, abs(rp[k] - op[k]))
        if r.get("confidence") is not None and o.get("confidence") is not None:
            worst_conf = max(worst_conf, abs(r["confidence"] - o["confidence"]))
        if r.get("activity") != o.get("activity"):
            top = sorted(rp.values(), reverse=True)[:2]
            near_threshold = r.get("confidence") is not None and len(top) == 2 and top[0] - top[1] <= 2 * a.tol_p
            if near_threshold:
                close_calls += 1
            else:
                problems.append(f"frame {i}: {r.get('activity')} vs {o.get('activity')}")
    rs, os_ = ref.get("segments", []), oth.get("segments", [])
    worst_seg_t, worst_seg_conf = 0.0, 0.0
    if [s["activity"] for s in rs] != [s["activity"] for s in os_]:
        if close_calls == 0:
            problems.append(f"segments {[s['activity'] for s in rs]} vs {[s['activity'] for s in os_]}")
    else:
        for r, o in zip(rs, os_):
            worst_seg_t = max(worst_seg_t, abs(r["start"] - o["start"]), abs(r["end"] - o["end"]))
            worst_seg_conf = max(worst_seg_conf, abs(r.get("confidence", 0) - o.get("confidence", 0)))
        # a boundary may move by a frame only where a frame was a close call
        if worst_seg_t > 1e-6 and close_calls == 0:
            problems.append(f"segment boundaries differ by {worst_seg_t:.6f} s")
        if worst_seg_conf > tol:
            problems.append(f"segment confidence differs by {worst_seg_conf:.6f}")
    if worst_p > tol:
        problems.append(f"max |dp| = {worst_p:.6f} > {a.tol_p}")
    for p in problems:
        print("MISMATCH:", p, file=sys.stderr)
    print(json.dumps({"frames": len(rf), "segments": len(rs), "max_abs_diff_probability": round(worst_p, 7),
                      "max_abs_diff_confidence": round(worst_conf, 7), "close_calls": close_calls,
                      "max_abs_diff_segment_bounds_s": round(worst_seg_t, 7),
                      "max_abs_diff_segment_confidence": round(worst_seg_conf, 9),
                      "ok": not problems}))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
