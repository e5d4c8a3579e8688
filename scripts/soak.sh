#!/usr/bin/env bash
# `make soak` (1 h) / `make soak-quick` (5 min): runs the daemon on the looping demo clip with
# MQTT and the API on, samples its RSS, open file descriptors and threads every 10 s, and
# passes if, after a warm-up, RSS does not climb and fds and threads stay flat. RSS can move by
# a few MB as glibc's arenas and the decoder's buffers are reused (`tune_glibc` in
# src/memory.rs removed the late steps of 4-16 MB), so "does not climb" means: the median of the
# last third of the samples is within 2 MB of the first third's, and the last third's peak is within 2 MB of
# the middle third's (the high-water mark has stopped rising). The least-squares slope is
# printed too.
#   scripts/soak.sh [SECONDS] [CSV_OUT]   (ACTIVITYD_BIN overrides the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-3600}
OUT=${2:-target/soak.csv}
WARMUP=${WARMUP:-120}
INTERVAL=10
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
api=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" > "$work/m.conf"
mosquitto -c "$work/m.conf" >/dev/null 2>&1 &
broker=$!
cat > "$work/soak.toml" <<TOML
device_id = "soak"
[api]
bind = "127.0.0.1:$api"
[mqtt]
port = $port
stats_interval_s = 10
[[cameras]]
id = "cam0"
source = "file://$PWD/tests/fixtures/video/sports2d_640x360.mp4"
loop = true
process_fps = 15
TOML
${ACTIVITYD_BIN:-target/release/activityd} run --config "$work/soak.toml" --log-format json 2> "$work/daemon.log" &
pid=$!
trap 'kill $pid $broker 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$(dirname "$OUT")"
echo "elapsed_s,rss_kb,fds,threads,frames,rss_anon_kb,rss_file_kb" > "$OUT"
start=$(date +%s)
prev_rss=0
while :; do
  now=$(( $(date +%s) - start ))
  [ "$now" -ge "$DURATION" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "FAIL: the daemon died"; tail -20 "$work/daemon.log"; exit 1; }
  rss=$(awk '/^VmRSS:/ {print $2}' /proc/$pid/status)
  thr=$(awk '/^Threads:/ {print $2}' /proc/$pid/status)
  fds=$(ls /proc/$pid/fd | wc -l)
  frames=$(curl -s "127.0.0.1:$api/health" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cameras"][0]["frames"])' 2>/dev/null || echo 0)
  anon=$(awk '/^RssAnon:/ {print $2}' /proc/$pid/status)
  file=$(awk '/^RssFile:/ {print $2}' /proc/$pid/status)
  echo "$now,$rss,$fds,$thr,$frames,$anon,$file" >> "$OUT"
  # A step of more than 4 MB: keep the mappings before and after it, to see which one grew.
  cat /proc/$pid/smaps > "$work/smaps.now" 2>/dev/null || true
  if [ "$prev_rss" -gt 0 ] && [ $((rss - prev_rss)) -gt 4096 ] && [ "$now" -ge "$WARMUP" ]; then
    cp "$work/smaps.prev" "${OUT%.csv}-step-${now}s-before.smaps"
    cp "$work/smaps.now" "${OUT%.csv}-step-${now}s-after.smaps"
    echo "RSS step at ${now} s: +$(( (rss - prev_rss) / 1024 )) MB (mappings saved next to $OUT)" >&2
  fi
  mv "$work/smaps.now" "$work/smaps.prev"
  prev_rss=$rss
  sleep "$INTERVAL"
done
python3 - "$OUT" "$WARMUP" <<'PY'
import csv, statistics, sys
rows = [r for r in csv.DictReader(open(sys.argv[1]))]
warm = [r for r in rows if int(r["elapsed_s"]) >= int(sys.argv[2])]
if len(warm) < 6:
    sys.exit("FAIL: too few samples after warm-up")
rss = [int(r["rss_kb"]) for r in warm]
fds = {int(r["fds"]) for r in warm}
thr = {int(r["threads"]) for r in warm}
frames = int(rows[-1]["frames"])
k = len(rss) // 3
first, middle, last = rss[:k], rss[k:2 * k], rss[2 * k:]
drift_mb = (statistics.median(last) - statistics.median(first)) / 1024
peak_rise_mb = (max(last) - max(middle)) / 1024
ts = [int(r["elapsed_s"]) / 3600 for r in warm]
mt, mr = sum(ts) / len(ts), sum(rss) / len(rss)
slope = sum((t - mt) * (v - mr) for t, v in zip(ts, rss)) / max(sum((t - mt) ** 2 for t in ts), 1e-9) / 1024
print(f"samples {len(rows)} ({len(warm)} after {sys.argv[2]} s warm-up), frames captured {frames}")
print(f"RSS after warm-up: min {min(rss)/1024:.1f} MB, max {max(rss)/1024:.1f} MB; median of thirds "
      f"{statistics.median(first)/1024:.1f} / {statistics.median(middle)/1024:.1f} / "
      f"{statistics.median(last)/1024:.1f} MB (drift {drift_mb:+.2f} MB); peak of the last third vs the "
      f"middle {peak_rise_mb:+.2f} MB; slope {slope:+.2f} MB/h")
print(f"fds {sorted(fds)}, threads {sorted(thr)}")
ok = abs(drift_mb) < 2.0 and peak_rise_mb < 2.0 and max(fds) - min(fds) <= 2 and len(thr) == 1 and frames > 0
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
