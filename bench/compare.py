#!/usr/bin/env python3
"""Prints activityd's per-frame pose time and memory against MediaPipe's, from the two JSON
documents `activityd bench --json` and `bench/mediapipe_baseline.py` print for the same clip.

  bench/compare.py ACTIVITYD.json MEDIAPIPE.json
"""
import json
import sys

ours = json.load(open(sys.argv[1]))
mp = json.load(open(sys.argv[2]))
tracked = ours["per_frame_ms"]
# MediaPipe's script holds the whole decoded clip in memory; its pipeline's own peak is the
# rest. activityd decodes frame by frame, so its peak is all pipeline.
mp_pipeline_mb = mp["peak_rss_mb"] - mp.get("decoded_frames_mb", 0.0)
rows = [
    ("per-frame pose, median ms", tracked["median"], mp["per_frame_ms"]["median"]),
    ("per-frame pose, p99 ms", tracked["p99"], mp["per_frame_ms"]["p99"]),
    ("frames/s (ours incl. decode)", ours["fps"], mp["fps"]),
    ("peak RSS MB (pipeline)", ours["peak_rss_mb"], mp_pipeline_mb),
]
print(f"{'':32}{'activityd':>12}{'MediaPipe':>12}{'ratio':>9}")
for name, a, b in rows:
    print(f"{name:32}{a:12.2f}{b:12.2f}{a / b:8.2f}x")
print(f"(MediaPipe's whole-process peak was {mp['peak_rss_mb']:.0f} MB with the decoded clip; "
      f"ratios below 1.0 favour activityd except for frames/s)")
