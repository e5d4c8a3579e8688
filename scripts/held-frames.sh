#!/usr/bin/env bash
# Real people who do not move: frames of the real test clips, each held still for 6 s at
# 30 fps with sensor noise (640 pixels across), through `activityd annotate`. A person held
# still does nothing but stand or sit, so any walk, turn, sit-down or stand-up read here
# came from the pose tracker (its first frames, a person lost and found) or from a posture
# alone. Prints each clip's segments per person and a count of movements read; the landmark
# files that `make eval-real` reads never exercise the tracker, this does. 59 clips; at
# contract 1.20.0, 3 movements read (10 before it); at 1.22.0, 2.
#
#   scripts/held-frames.sh [OUT_DIR]      (default target/held-frames; ~7 min on 2 cores)
#
# Needs ffmpeg and a release build. Measured in docs/how-it-works.md ("Settling").
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/target/held-frames}"
bin="$root/target/release/activityd"
video="$root/tests/fixtures/video"
[ -x "$bin" ] || { echo "no $bin: cargo build --release" >&2; exit 2; }
command -v ffmpeg >/dev/null || { echo "ffmpeg is needed (apt-get install ffmpeg)" >&2; exit 2; }
mkdir -p "$out"

hold() { # clip frame name
  [ -s "$out/$3.mp4" ] && return
  ffmpeg -loglevel error -y -i "$video/$1" -vf "select=eq(n\,$2)" -frames:v 1 "$out/$3.png"
  ffmpeg -loglevel error -y -loop 1 -i "$out/$3.png" -t 6 -r 30 \
    -vf "scale=640:-2,noise=alls=6:allf=t,format=yuv420p" -c:v libx264 -crf 20 "$out/$3.mp4"
}
for n in $(seq 0 15 225) $(seq 5 10 225); do hold sports2d_1280x720.mp4 "$n" "sports2d_$n"; done
for n in $(seq 5 30 215); do hold sports2d_640x360.mp4 "$n" "sports2d_640x360_$n"; done
for n in $(seq 0 10 90); do
  hold pose2sim_cam01.mp4 "$n" "pose2sim_cam01_$n"
  hold pose2sim_two_people.mp4 "$n" "pose2sim_two_people_$n"
done

moved=0
for clip in "$out"/*.mp4; do
  name="$(basename "$clip" .mp4)"
  "$bin" annotate "$clip" 2>/dev/null >"$out/$name.json"
  line="$(python3 - "$out/$name.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
MOVES = {"walk_toward", "walk_away", "walk_across", "turn", "sit_down", "stand_up"}
people, moves = [], 0
for p in doc["people"]:
    segs = " ".join(f"{s['activity']}@{s['start']:.2f}-{s['end']:.2f}" for s in p["segments"])
    people.append(f"{p['id']}: {segs or '-'}")
    moves += sum(s["activity"] in MOVES for s in p["segments"])
print(moves, " | ".join(people))
EOF
)"
  n="${line%% *}"
  moved=$((moved + n))
  printf '%-26s %s\n' "$name" "${line#* }"
done
echo "movements read on people held still: $moved"
