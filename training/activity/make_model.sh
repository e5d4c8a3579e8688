#!/usr/bin/env bash
# Build the activity model: generate synthetic data -> features (Rust binary) -> train.
#
#   ACTIVITYD=target/release/activityd training/activity/make_model.sh
#
# Environment (all optional): ACTIVITYD (default <repo>/target/release/activityd),
# N_TRAIN=4000 N_VAL=300 N_TEST=300 MAX_ROWS=500000 SEED=1 JOBS=2 DATA=training/activity/data,
# MODELS=<repo>/models, FORCE=1 to regenerate data and features.
# Writes $MODELS/activity.onnx + $MODELS/activity.json.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
ACTIVITYD="${ACTIVITYD:-$root/target/release/activityd}"
N_TRAIN="${N_TRAIN:-4000}"; N_VAL="${N_VAL:-300}"; N_TEST="${N_TEST:-300}"; MAX_ROWS="${MAX_ROWS:-500000}"
# Sequences of people getting down to the floor and up again (generator 1.3.0), on top. Not
# in the committed model (0 by default); see training/activity/README.md, "floor".
N_FLOOR_TRAIN="${N_FLOOR_TRAIN:-0}"; N_FLOOR_VAL="${N_FLOOR_VAL:-0}"; N_FLOOR_TEST="${N_FLOOR_TEST:-0}"
SEED="${SEED:-1}"; JOBS="${JOBS:-2}"; DATA="${DATA:-$here/data}"; MODELS="${MODELS:-$root/models}"
venv="$root/training/.venv-activity"
py="$venv/bin/python"

case "$ACTIVITYD" in /*) ;; *) ACTIVITYD="$(pwd)/$ACTIVITYD" ;; esac
if [ ! -x "$ACTIVITYD" ]; then
  echo "activityd binary not found at $ACTIVITYD (cargo build --release, or set ACTIVITYD)" >&2
  exit 2
fi
if [ ! -x "$py" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r "$here/requirements.txt"
fi
[ "${FORCE:-0}" = 1 ] && rm -rf "$DATA"

# 1. synthetic sequences (separate seed streams per split)
for split in train val test; do
  n=$N_TRAIN; [ $split = val ] && n=$N_VAL; [ $split = test ] && n=$N_TEST
  nf=$N_FLOOR_TRAIN; [ $split = val ] && nf=$N_FLOOR_VAL; [ $split = test ] && nf=$N_FLOOR_TEST
  have=$( (ls "$DATA/$split"/*.jsonl 2>/dev/null || true) | grep -vc '_floor\.jsonl$' || true)
  if [ "$have" -ne "$n" ]; then
    rm -rf "$DATA/$split" "$DATA"/features-*/"$split"
    echo "generating $n $split sequences" >&2
    nice -n 10 "$py" "$here/generate.py" --out "$DATA/$split" --sequences "$n" --seed "$SEED" \
        --split "$split" --workers "$JOBS"
  fi
  have=$( (ls "$DATA/$split"/*_floor.jsonl 2>/dev/null || true) | wc -l)
  if [ "$have" -ne "$nf" ]; then
    rm -f "$DATA/$split"/*_floor.* "$DATA"/features-*/"$split"/*_floor.*
    if [ "$nf" -gt 0 ]; then
      echo "generating $nf $split floor sequences" >&2
      nice -n 10 "$py" "$here/generate.py" --out "$DATA/$split" --sequences "$nf" --seed "$SEED" \
          --split "$split" --workers "$JOBS" --kind floor --start 100000
    fi
  fi
done

# 2. real-motion fixtures (committed; rebuilt only when missing)
fix="$root/tests/fixtures/mocap"
if ! ls "$fix"/*.jsonl >/dev/null 2>&1; then
  "$here/fetch_mocap.sh"
  "$py" "$here/mocap_to_landmarks.py" --out "$fix"
fi

# 3. features with the Rust implementation, cached per file (train.py reuses the cache). The
# cache is keyed by the feature code, so changing src/features.rs recomputes them.
FEAT_KEY=$(cat "$root/src/features.rs" "$root/src/landmarks.rs" | sha256sum | cut -c1-12)
FEATURES="$DATA/features-$FEAT_KEY"
feat() {  # $1 set name, $2 jsonl
  local out="$FEATURES/$1/$(basename "${2%.jsonl}").features.csv"
  if [ ! -s "$out" ] || [ "$out" -ot "$2" ]; then
    "$ACTIVITYD" features --landmarks "$2" --format csv > "$out.tmp" && mv "$out.tmp" "$out"
  fi
}
export -f feat; export ACTIVITYD DATA FEATURES
for set in train val test; do
  mkdir -p "$FEATURES/$set"
  ls "$DATA/$set"/*.jsonl | xargs -P "$JOBS" -I{} bash -c 'feat '"$set"' "$1"' _ {}
done
mkdir -p "$FEATURES/mocap"
ls "$fix"/*.jsonl | xargs -P "$JOBS" -I{} bash -c 'feat mocap "$1"' _ {}

# 4. train, evaluate, export
nice -n 10 "$py" "$here/train.py" --train "$DATA/train" --val "$DATA/val" --test "$DATA/test" \
    --mocap "$fix" --cache "$FEATURES" --activityd "$ACTIVITYD" --out-dir "$MODELS" --seed "$SEED" --max-rows "$MAX_ROWS"
