#!/usr/bin/env bash
# MediaPipe 0.10.14 reference landmarks for tests/fixtures/ (see make_reference.py).
#
#   training/pose/make_reference.sh
#
# Creates/updates the pinned venv training/.venv-mp (requirements-mp.txt; rebuilt only when
# that file changes), runs make_reference.py and regenerates tests/fixtures/README.md.
# Needs python3.11 and gst-launch-1.0 (decodebin, videoconvert, avdec_h264).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="$REPO/training/.venv-mp"
START=$(date +%s)

PY="$(command -v python3.11 || command -v python3)"
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || { echo "needs Python 3.11 (mediapipe 0.10.14 wheels)" >&2; exit 1; }
REQ_SUM="$(sha256sum "$HERE/requirements-mp.txt" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$REQ_SUM" ]]; then
  echo "[make_reference] creating venv $VENV" >&2
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip==23.2.1 >&2
  "$VENV/bin/pip" install --quiet -r "$HERE/requirements-mp.txt" >&2
  "$VENV/bin/pip" check >&2
  echo "$REQ_SUM" > "$VENV/.requirements.sha256"
fi

for f in video/sports2d_640x360.mp4 video/pose2sim_cam01.mp4 images; do
  [[ -e "$REPO/tests/fixtures/$f" ]] || { echo "missing tests/fixtures/$f: run fetch_fixtures.sh" >&2; exit 1; }
done
GLOG_minloglevel=2 "$VENV/bin/python" -W ignore "$HERE/make_reference.py" "$@"
python3 "$HERE/fixtures_readme.py"
echo "[make_reference] done in $(( $(date +%s) - START )) s" >&2
