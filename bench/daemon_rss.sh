#!/usr/bin/env bash
# The daemon's memory with a camera-like source (`test:` 640x480 at 15 fps, nobody in view,
# so the detector runs on every analysed frame; API and MQTT off), for one or more binaries,
# alternated over rounds so they share the machine's state:
#   bench/daemon_rss.sh [-s SECONDS] [-r ROUNDS] [-m full|lite] [-c] [-u USER] BIN[@f16|@f32] [...]
# BIN@f32 runs BIN with `pose.precision = "f32"` (BIN@f16, or BIN alone: the default, f16), so
# one binary can be compared with itself at both precisions.
# Prints, per run, after SECONDS: VmRSS, VmHWM (the peak since start), anonymous and
# file-backed resident memory, in MB; then each binary's medians.
# The file-backed part depends on what of the binary the page cache holds (the kernel maps a
# faulted page's cached neighbours along with it): a binary just built or copied is all in the
# cache and maps more than one read from disk after a boot. -c (root) empties the page cache
# before each run, so every binary starts as after a boot; without it, compare binaries only
# when all are fully cached (`cat BIN > /dev/null`) or none is.
# -u USER (root) runs the daemon as USER, as the service does (`User=activityd`): a user that
# cannot write the binary, which is what the kernel asks before paging out a file's pages.
set -euo pipefail
seconds=20 rounds=3 model=full cold=0 user=
while getopts "s:r:m:cu:" o; do
  case $o in
    s) seconds=$OPTARG ;;
    r) rounds=$OPTARG ;;
    m) model=$OPTARG ;;
    c) cold=1 ;;
    u) user=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-s SECONDS] [-r ROUNDS] [-m full|lite] [-c] [-u USER] BIN[@f16|@f32] [...]" >&2; exit 2; }
as=()
[ -z "$user" ] || as=(setpriv --reuid="$user" --regid="$(id -gn "$user")" --clear-groups)
cfg="$(mktemp --suffix=.toml)"
out="$(mktemp)"
trap 'rm -f "$cfg" "$out"' EXIT
config() { # precision
  install -m 644 /dev/null "$cfg"
  printf 'device_id = "rss"\n[pose]\nmodel = "%s"\nprecision = "%s"\n[api]\nenabled = false\n[mqtt]\nenabled = false\n[[cameras]]\nid = "cam0"\nsource = "test:"\nwidth = 640\nheight = 480\nfps = 15\n' "$model" "$1" > "$cfg"
}
kb() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$2/status"; }
printf '%-40s %5s %8s %8s %8s %8s\n' binary round rss_mb hwm_mb anon_mb file_mb
for r in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    bin="${spec%@*}" precision=f16
    [ "$bin" = "$spec" ] || precision="${spec##*@}"
    config "$precision"
    if [ "$cold" = 1 ]; then sync; echo 1 > /proc/sys/vm/drop_caches; fi
    "${as[@]}" "$bin" run --config "$cfg" --log-format text --log-level warn > /dev/null 2>&1 &
    pid=$!
    sleep "$seconds"
    line=$(printf '%-40s %5s %8s %8s %8s %8s' "$spec" "$r" "$(kb VmRSS $pid)" "$(kb VmHWM $pid)" \
      "$(kb RssAnon $pid)" "$(kb RssFile $pid)")
    echo "$line" | tee -a "$out"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
echo "medians:"
for spec in "$@"; do
  awk -v b="$spec" '$1 == b { n++; r[n]=$3; h[n]=$4; a[n]=$5; f[n]=$6 }
    function med(x, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
      return (n % 2) ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2 }
    END { printf "%-40s rss %.1f  hwm %.1f  anon %.1f  file %.1f MB (%d runs)\n", b, med(r, n), med(h, n), med(a, n), med(f, n), n }' "$out"
done
