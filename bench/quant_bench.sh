#!/usr/bin/env bash
# Time per pose step of the quantised variants (training/pose/quantise.py) against f32, the
# variants alternated in one run (round-robin, ROUNDS times) so that a busy machine affects
# them alike. Prints TSV: round model variant landmarks_median_ms per_frame_median_ms
# detector_only_median_ms rss_after_load_mb peak_rss_mb model_load_ms.
#   bench/quant_bench.sh BIN CLIP "full lite" "f32 w16 int8_qdq ..." [ROUNDS]
set -euo pipefail
bin=$1 clip=$2 models=$3 variants=$4 rounds=${5:-2}
q="$(cd "$(dirname "$0")/.." && pwd)/training/.cache/quant"
printf 'round\tmodel\tvariant\tlandmarks_ms\tper_frame_ms\tdetector_only_ms\trss_after_load_mb\tpeak_rss_mb\tload_ms\n'
for r in $(seq "$rounds"); do
  for m in $models; do
    for v in $variants; do
      ACTIVITYD_MODELS="$q/$v" nice -n 19 "$bin" bench --json --pose-model "$m" "$clip" 2>/dev/null |
        python3 -c 'import json,sys; j=json.load(sys.stdin); print("\t".join(map(str, [sys.argv[1], sys.argv[2], sys.argv[3], j["stages"]["landmarks"]["median_ms"], j["per_frame_ms"]["median"], j["detector_only_ms"]["median"], j["rss_after_load_mb"], j["peak_rss_mb"], round(j["model_load_ms"])])))' "$r" "$m" "$v"
    done
  done
done
