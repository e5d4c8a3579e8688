#!/usr/bin/env bash
# `make demo`: the daemon on a real clip of people (replayed in a loop as if it were a camera)
# and on a recorded Timed Up and Go test (landmark frames replayed the same way, camera "tug"),
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

tug=tests/fixtures/tug/test_00167_tug.jsonl
cat <<MSG
activityd demo — two cameras (config/demo.toml), each a recording replayed in a loop:
  cam0:  tests/fixtures/video/sports2d_640x360.mp4, people exercising and walking
  tug:   $tug, landmark frames of a Timed Up and Go test
         (no video: pose is skipped); its result arrives on activityd/demo/tug/tug
         about 25 s after start, then once per pass
  MQTT:  a local broker on 127.0.0.1:$PORT; its messages appear below as [mqtt]
         (watch them yourself: mosquitto_sub -p $PORT -v -t 'activityd/#')
  PAGE:  open http://127.0.0.1:8000/ in a browser: both cameras' live skeletons (drawn from
         landmarks, no video), activities, timelines, events, TUG results; its TUG view arms
         a trial on camera "tug" (or: curl -d '{"camera":"tug"}' http://127.0.0.1:8000/tug/trials,
         then curl http://127.0.0.1:8000/tug/trials about 25 s later)
  HTTP:  curl http://127.0.0.1:8000/health
         curl http://127.0.0.1:8000/model/info
         curl http://127.0.0.1:8000/metrics
         curl -F image_file=@tests/fixtures/images/pose2sim_cam01_f030_front.jpg http://127.0.0.1:8000/predict/frame
         curl -F video_file=@tests/fixtures/video/pose2sim_cam01.mp4 http://127.0.0.1:8000/predict/video
  Ctrl-C stops everything.

MSG
# What to expect from camera "tug": the same file timed offline by `activityd classify` (a
# held-out synthetic sequence: an elderly person, a camera 2.4 m high). The live result on
# activityd/demo/tug/tug comes from the same code and should agree within a fraction of a
# second (its times are on the camera's timeline, which starts at the file's first frame).
echo "Camera \"tug\" timed offline, for comparison: target/release/activityd classify --landmarks $tug"
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
