#!/usr/bin/env bash
# `make bench`: activityd and MediaPipe on the same clip in one run, then the ratios; the
# camera's pace under API load (and SIGTERM under load); the capture hand-off benchmark.
# Sets up MediaPipe's pinned venv (training/.venv-mp) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIP=${1:-tests/fixtures/video/sports2d_640x360.mp4}
VENV=training/.venv-mp
if [ ! -x "$VENV/bin/python" ]; then
  echo "setting up $VENV (mediapipe 0.10.14, pinned)…"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --no-deps -r training/pose/requirements-mp.txt
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== activityd bench $CLIP"
target/release/activityd bench "$CLIP"
target/release/activityd bench --json "$CLIP" > "$out/ours.json"
echo "== MediaPipe 0.10.14 on the same frames"
"$VENV/bin/python" bench/mediapipe_baseline.py "$CLIP" > "$out/mp.json"
cat "$out/mp.json"; echo
echo "== ratios (activityd / MediaPipe)"
python3 bench/compare.py "$out/ours.json" "$out/mp.json"
echo "== the camera's pace while the API is flooded, and SIGTERM under load"
python3 bench/pace_under_load.py
echo "== the web page: weight, and the daemon's CPU with a page open"
python3 bench/page_cpu.py
echo "== CPU per camera-second by people in view (1, 2; 4 computed), and one person with room for more"
"$VENV/bin/python" bench/people_cpu.py
echo "== capture hand-off"
cargo bench --bench handoff
