#!/usr/bin/env bash
# `make demo`: the daemon on a real clip of people (replayed in a loop as if it were a camera),
# with its own local Mosquitto broker whose messages are printed as they arrive, and the HTTP
# API on loopback. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=18883   # the demo broker's port (config/demo.toml); a system broker on 1883 is left alone
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$PORT" > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" > "$work/mosquitto.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done

# Every MQTT message the daemon publishes, as it arrives (discovery config shortened).
mosquitto_sub -h 127.0.0.1 -p "$PORT" -v -t 'activityd/#' -t 'homeassistant/#' \
  | while IFS= read -r line; do
      case "$line" in
        homeassistant/*) printf '\033[35m[mqtt]\033[0m %s …\n' "${line:0:110}" ;;
        *) printf '\033[35m[mqtt]\033[0m %s\n' "$line" ;;
      esac
    done &
pids+=($!)

cat <<MSG
activityd demo — replaying tests/fixtures/video/sports2d_640x360.mp4 as camera "cam0"
  MQTT:  a local broker on 127.0.0.1:$PORT; its messages appear below as [mqtt]
         (watch them yourself: mosquitto_sub -p $PORT -v -t 'activityd/#')
  HTTP:  curl http://127.0.0.1:8000/health
         curl http://127.0.0.1:8000/model/info
         curl http://127.0.0.1:8000/metrics
         curl -F image_file=@tests/fixtures/images/pose2sim_cam01_f030_front.jpg http://127.0.0.1:8000/predict/frame
         curl -F video_file=@tests/fixtures/video/pose2sim_cam01.mp4 http://127.0.0.1:8000/predict/video
  Ctrl-C stops everything.

MSG
# The clip has no chair, so first a Timed Up and Go test timed from landmarks (a held-out
# synthetic sequence: an elderly person, a camera 2.4 m high), as `activityd classify` reports it.
tug=tests/fixtures/tug/test_00167_tug.jsonl
echo "Timed Up and Go, from landmarks: target/release/activityd classify --landmarks $tug"
target/release/activityd classify --landmarks "$tug" --log-level warn > "$work/tug.json"
if command -v python3 > /dev/null; then
  python3 - "$work/tug.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t0 = d["frames"][0]["t"]
print("  segments: " + ", ".join(f"{s['activity']} {s['start'] - t0:.1f}-{s['end'] - t0:.1f} s" for s in d["segments"]))
for t in d.get("tugs") or []:
    print(f"  test: {t['total_s']:.2f} s = " + " + ".join(
        f"{p['activity']}{' (implied)' if p.get('implied') else ''} {p['end'] - p['start']:.1f}" for p in t["phases"]))
PY
else
  grep -o '"tug":{[^]]*]}' "$work/tug.json"
fi
echo
target/release/activityd run --config config/demo.toml --log-format text &
pids+=($!)
wait "${pids[-1]}"
