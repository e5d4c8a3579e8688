#!/usr/bin/env bash
# Daemon RSS with a camera-like source (`test:` 640x480 at 15 fps, no person; API and MQTT
# off) for one quantised variant (training/pose/quantise.py): VmRSS / VmHWM after SECONDS.
#   bench/quant_rss.sh BIN VARIANT lite|full [SECONDS]
set -euo pipefail
bin=$1 v=$2 m=$3 s=${4:-20}
q="$(cd "$(dirname "$0")/.." && pwd)/training/.cache/quant"
cfg="$(mktemp --suffix=.toml)"
printf 'device_id = "quant-study"\n[pose]\nmodel = "%s"\n[api]\nenabled = false\n[mqtt]\nenabled = false\n[[cameras]]\nid = "cam0"\nsource = "test:"\nwidth = 640\nheight = 480\nfps = 15\n' "$m" > "$cfg"
ACTIVITYD_MODELS="$q/$v" nice -n 19 "$bin" run --config "$cfg" --log-format text --log-level warn > /dev/null 2>&1 &
pid=$!
sleep "$s"
echo "$v $m $(grep -E 'VmRSS|VmHWM' "/proc/$pid/status" | tr -s ' \t\n' ' ')"
kill "$pid"; wait "$pid" 2>/dev/null || true
rm -f "$cfg"
