#!/usr/bin/env bash
# Builds the daemon's pose models from MediaPipe 0.10.14's BlazePose .tflite files:
#
#   models/pose_detector.onnx   + models/pose_detector.json   (model card)
#   models/pose_landmarks.onnx  + models/pose_landmarks.json  (model card)
#   models/LICENSE-mediapipe.txt
#
#   training/pose/build_models.sh               # the above (the landmark model "full")
#   training/pose/build_models.sh lite heavy    # the other two landmark models (pose.model):
#   models/pose_landmarks_lite.onnx   + models/pose_landmarks_lite.json
#   models/pose_landmarks_heavy.onnx  + models/pose_landmarks_heavy.json
#
# Arguments: any of lite, full, heavy (default: full). "full" also writes the detector and
# its card; lite and heavy write only their own model and card (the detector is still
# converted, into training/.cache/pose-build, to make the verification crops).
#
# Where the .tflite files come from: the mediapipe wheel ships only pose_landmark_full.tflite
# (MediaPipe's Python API downloads lite and heavy at run time from Google's storage, which
# this build does not reach). Lite and heavy are taken from the npm package
# @mediapipe/pose@0.5.1675469404 (Apache-2.0; `npm pack`, tarball SHA-256 checked), whose
# pose_landmark_full.tflite is byte-identical to the wheel's (same SHA-256, checked below).
#
# Steps: pinned venv (training/.venv-pose, requirements.txt) -> mediapipe wheel (pip download,
# SHA-256 checked) -> the two .tflite files (SHA-256 checked) -> detector: sparse DENSIFY
# weights rewritten as dense constants -> tf2onnx --opset 13 -> exact speed-up rewrites
# (onnx_speedups.py) -> landmark outputs pruned to
# Identity, Identity_1, Identity_3 (heatmap; LANDMARK_HEATMAP=0 drops it) -> verification
# against tf.lite.Interpreter on the real images of tests/fixtures/images/ (onnxruntime and
# tract) -> model cards.
# Idempotent: downloads are cached in training/.cache/wheels and always re-checked; the venv
# is rebuilt only when requirements.txt changes. Needs python3.11, unzip, sha256sum.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="$REPO/training/.venv-pose"
CACHE="$REPO/training/.cache/wheels"
BUILD="$REPO/training/.cache/pose-build"
MODELS="$REPO/models"
IMAGES="$REPO/tests/fixtures/images"

MP_VERSION="0.10.14"
MP_WHEEL="mediapipe-0.10.14-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
MP_SHA256="a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4"
DET_PATH="mediapipe/modules/pose_detection/pose_detection.tflite"
DET_SHA256="9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c"
LM_PATH="mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
LM_SHA256="e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f"
# Lite (model_complexity=0) and heavy (2): the npm package (see the top of this file).
NPM_PKG="@mediapipe/pose@0.5.1675469404"
NPM_TGZ="mediapipe-pose-0.5.1675469404.tgz"
NPM_SHA256="8bb349a7b3a3ba699df23be804ddd3b3eab810b50b15406894be257859388a84"
LITE_SHA256="f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61"
HEAVY_SHA256="59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe"
# Bump when the conversion changes (goes into the cards' "version": 0.10.14-onnx<REVISION>).
REVISION="6"
# Landmark outputs kept, in this order: landmarks, pose flag, and the heatmap (Identity_3) that
# MediaPipe uses to refine x, y (~+3 ms per crop in tract; mean error against MediaPipe on
# tracked video 0.50% -> 0.07% of the image, see training/pose/README.md). The segmentation
# (Identity_2) and world landmarks (Identity_4) are unused by activityd and pruned.
# LANDMARK_HEATMAP=0 builds the smaller graph without the heatmap.
LM_KEEP="Identity,Identity_1,Identity_3"
REMOVED="segmentation (Identity_2) and world landmark (Identity_4) outputs were"
if [[ "${LANDMARK_HEATMAP:-1}" == 0 ]]; then
  LM_KEEP="Identity,Identity_1"
  REMOVED="segmentation (Identity_2), heatmap (Identity_3) and world landmark (Identity_4) outputs were"
fi
OPSET=13
# DEPTHWISE_REWRITES=1 adds onnx_speedups.py's depthwise rewrites (stride 2 -> stride 1 + Gather,
# explicit zero padding): what stock tract 0.23.9 needed, slower on the vendored tract.
SPEEDUP_FLAGS=()
[[ "${DEPTHWISE_REWRITES:-0}" == 1 ]] && SPEEDUP_FLAGS=(--depthwise)

VARIANTS=("$@")
[[ ${#VARIANTS[@]} -gt 0 ]] || VARIANTS=(full)
NEED_NPM=0
for v in "${VARIANTS[@]}"; do
  case "$v" in
    full) ;;
    lite|heavy) NEED_NPM=1 ;;
    *) echo "usage: $0 [lite|full|heavy ...]  (got '$v')" >&2; exit 2 ;;
  esac
done

log() { echo "[build_models] $*" >&2; }
START=$(date +%s)
mkdir -p "$CACHE" "$BUILD" "$MODELS"

# 1. venv ------------------------------------------------------------------------------
PY="$(command -v python3.11 || command -v python3)"
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || { log "needs Python 3.11 (tensorflow 2.15 wheels)"; exit 1; }
REQ_SUM="$(sha256sum "$HERE/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.requirements.sha256" 2>/dev/null)" != "$REQ_SUM" ]]; then
  log "creating venv $VENV"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip==23.2.1 >&2
  "$VENV/bin/pip" install --quiet -r "$HERE/requirements.txt" >&2
  "$VENV/bin/pip" check >&2
  echo "$REQ_SUM" > "$VENV/.requirements.sha256"
fi
VPY="$VENV/bin/python"
export TF_CPP_MIN_LOG_LEVEL=2 PYTHONHASHSEED=0

# 2. mediapipe wheel and the two .tflite files -------------------------------------------
check_sum() {  # FILE SHA256
  echo "$2  $1" | sha256sum --check --status \
    || { log "SHA-256 mismatch: $1"; sha256sum "$1" >&2; exit 1; }
}
if [[ ! -f "$CACHE/$MP_WHEEL" ]]; then
  log "downloading mediapipe==$MP_VERSION"
  pip download --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$CACHE" "mediapipe==$MP_VERSION" >&2
fi
check_sum "$CACHE/$MP_WHEEL" "$MP_SHA256"
unzip -o -q "$CACHE/$MP_WHEEL" -d "$BUILD/wheel" "$DET_PATH" "$LM_PATH"
DET_TFLITE="$BUILD/wheel/$DET_PATH"
LM_TFLITE="$BUILD/wheel/$LM_PATH"
check_sum "$DET_TFLITE" "$DET_SHA256"
check_sum "$LM_TFLITE" "$LM_SHA256"
log "sha256 ok: wheel and both .tflite files"
if [[ $NEED_NPM == 1 ]]; then
  if [[ ! -f "$CACHE/$NPM_TGZ" ]]; then
    log "downloading $NPM_PKG"
    ( cd "$CACHE" && npm pack --silent "$NPM_PKG" >&2 )
  fi
  check_sum "$CACHE/$NPM_TGZ" "$NPM_SHA256"
  rm -rf "$BUILD/npm" && mkdir -p "$BUILD/npm"
  tar -xzf "$CACHE/$NPM_TGZ" -C "$BUILD/npm" package/pose_landmark_lite.tflite \
    package/pose_landmark_full.tflite package/pose_landmark_heavy.tflite
  # The npm package's full model is the wheel's: same MediaPipe models.
  check_sum "$BUILD/npm/package/pose_landmark_full.tflite" "$LM_SHA256"
  check_sum "$BUILD/npm/package/pose_landmark_lite.tflite" "$LITE_SHA256"
  check_sum "$BUILD/npm/package/pose_landmark_heavy.tflite" "$HEAVY_SHA256"
  log "sha256 ok: $NPM_TGZ and its three .tflite files"
fi

# 3. densify the detector's sparse weights ---------------------------------------------
"$VPY" "$HERE/densify_tflite.py" "$DET_TFLITE" "$BUILD/pose_detection_dense.tflite"

# 4-5. the detector: tf2onnx, speed-ups (exact rewrites of nodes tract runs slowly), prune /
# clean, metadata. Written to $BUILD; copied into models/ when "full" is built.
DET_CMD="python -m tf2onnx.convert --tflite pose_detection_dense.tflite --output pose_detector_raw.onnx --opset $OPSET"
( cd "$BUILD" && "$VPY" -m tf2onnx.convert --tflite pose_detection_dense.tflite \
    --output pose_detector_raw.onnx --opset "$OPSET" ) > "$BUILD/tf2onnx_detector.log" 2>&1 \
  || { cat "$BUILD/tf2onnx_detector.log" >&2; exit 1; }
grep -h "After optimization" "$BUILD/tf2onnx_detector.log" >&2 || true
"$VPY" "$HERE/onnx_speedups.py" "${SPEEDUP_FLAGS[@]}" "$BUILD/pose_detector_raw.onnx" "$BUILD/pose_detector_fast.onnx"
META=(--meta "source=mediapipe==$MP_VERSION" --meta "licence=Apache-2.0"
      --meta "converter=tf2onnx 1.16.1 opset $OPSET" --meta "revision=$REVISION")
"$VPY" "$HERE/onnx_prune.py" "$BUILD/pose_detector_fast.onnx" "$BUILD/pose_detector.onnx" \
  --keep Identity,Identity_1 --meta "name=blazepose_detector" --meta "path_in_wheel=$DET_PATH" "${META[@]}"

# 6. licence notice -------------------------------------------------------------------
cat > "$MODELS/LICENSE-mediapipe.txt" <<EOF
pose_detector.onnx and pose_landmarks.onnx are converted from MediaPipe's BlazePose models
  $DET_PATH
  $LM_PATH
as shipped in the PyPI wheel $MP_WHEEL
(sha256 $MP_SHA256);
pose_landmarks_lite.onnx and pose_landmarks_heavy.onnx (when present) from
  pose_landmark_lite.tflite, pose_landmark_heavy.tflite
as shipped in the npm package $NPM_PKG (Apache-2.0, tarball
$NPM_TGZ, sha256 $NPM_SHA256).

MediaPipe: Copyright The MediaPipe Authors (Google LLC). Licensed under the Apache License,
Version 2.0 (the "License"); you may not use these files except in compliance with the
License. You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software distributed under the
License is distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND,
either express or implied. See the License for the specific language governing permissions
and limitations under the License.

Modifications (training/pose/build_models.sh): the detector's sparse weight tensors were
rewritten as dense constants; the models were converted from TFLite to ONNX (opset $OPSET)
with tf2onnx 1.16.1, float16 weights stored as float32; 2x bilinear resizes were rewritten as
equivalent subgraphs and the input made channel-first (NCHW) (training/pose/onnx_speedups.py); the
landmark models'
$REMOVED removed. The model card (BlazePose GHUM 3D) is published by the
MediaPipe authors with the models.
EOF

# 7. each landmark model: tf2onnx, speed-ups, prune, verification against TFLite, card ------
ls "$IMAGES"/*.jpg >/dev/null 2>&1 || { log "no images in $IMAGES: run fetch_fixtures.sh first"; exit 1; }
build_landmarks() {  # VARIANT
  local v="$1" tfl src_json name out card lm_cmd path_in
  if [[ "$v" == full ]]; then
    tfl="$LM_TFLITE"; path_in="$LM_PATH"; out="pose_landmarks"; src_json=""
  else
    tfl="$BUILD/npm/package/pose_landmark_$v.tflite"; path_in="package/pose_landmark_$v.tflite"
    out="pose_landmarks_$v"
    src_json="{\"package\": \"npm $NPM_PKG\", \"tarball\": \"$NPM_TGZ\", \"tarball_sha256\": \"$NPM_SHA256\", \"path_in_package\": \"$path_in\", \"note\": \"the mediapipe $MP_VERSION wheel ships only pose_landmark_full.tflite (its Python API downloads lite and heavy at run time); this npm package's pose_landmark_full.tflite is byte-identical to the wheel's\"}"
  fi
  name="blazepose_landmarks_$v"
  cp "$tfl" "$BUILD/pose_landmark_$v.tflite"
  lm_cmd="python -m tf2onnx.convert --tflite pose_landmark_$v.tflite --output ${out}_raw.onnx --opset $OPSET"
  ( cd "$BUILD" && "$VPY" -m tf2onnx.convert --tflite "pose_landmark_$v.tflite" \
      --output "${out}_raw.onnx" --opset "$OPSET" ) > "$BUILD/tf2onnx_$out.log" 2>&1 \
    || { cat "$BUILD/tf2onnx_$out.log" >&2; exit 1; }
  grep -h "After optimization" "$BUILD/tf2onnx_$out.log" >&2 || true
  "$VPY" "$HERE/onnx_speedups.py" "${SPEEDUP_FLAGS[@]}" "$BUILD/${out}_raw.onnx" "$BUILD/${out}_fast.onnx"
  local meta=("${META[@]}")
  if [[ "$v" != full ]]; then
    meta=(--meta "source=npm $NPM_PKG" --meta "licence=Apache-2.0"
          --meta "converter=tf2onnx 1.16.1 opset $OPSET" --meta "revision=$REVISION")
  fi
  "$VPY" "$HERE/onnx_prune.py" "$BUILD/${out}_fast.onnx" "$MODELS/$out.onnx" \
    --keep "$LM_KEEP" --meta "name=$name" --meta "path_in_wheel=$path_in" "${meta[@]}"
  if [[ "$v" == full ]]; then
    cp "$BUILD/pose_detector.onnx" "$MODELS/pose_detector.onnx"
  fi
  "$VPY" "$HERE/verify_and_card.py" \
    --det-tflite "$DET_TFLITE" --lm-tflite "$tfl" \
    --det-onnx "$BUILD/pose_detector.onnx" --lm-onnx "$MODELS/$out.onnx" \
    --images "$IMAGES" --out-dir "$MODELS" \
    --wheel-name "$MP_WHEEL" --wheel-sha256 "$MP_SHA256" --mp-version "$MP_VERSION" \
    --det-path "$DET_PATH" --lm-path "$path_in" --revision "$REVISION" \
    --det-cmd "$DET_CMD" --lm-cmd "$lm_cmd" \
    --variant "$v" --lm-source-json "$src_json" \
    --verification-json "$BUILD/verification_$v.json" > "$BUILD/verification_summary_$v.json"
  cat "$BUILD/verification_summary_$v.json" >&2

  # Fail when a runtime disagrees with TFLite beyond float noise (bounds in output units:
  # the boxes and landmarks are pixels of a 224/256 input, the flag a probability).
  "$VPY" - "$BUILD/verification_$v.json" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1]))
bounds = {("detector", "Identity"): 0.05, ("detector", "Identity_1"): 0.05,
          ("landmarks", "Identity"): 0.05, ("landmarks", "Identity_1"): 1e-3,
          ("landmarks", "Identity_4"): 1e-3, ("landmarks", "Identity_3"): 0.01}
bad = [(m, rt, o, s["max_abs_diff"]) for (m, o), b in bounds.items()
       for rt in ("onnxruntime", "tract") for oo, s in v[m][rt].items()
       if oo == o and s["max_abs_diff"] > b]
if bad:
    sys.exit(f"verification failed: {bad}")
print("verification within bounds", file=sys.stderr)
EOF
}
for v in "${VARIANTS[@]}"; do
  log "landmark model: $v"
  build_landmarks "$v"
done

ls -l "$MODELS" >&2
sha256sum "$MODELS"/*.onnx >&2
log "done in $(( $(date +%s) - START )) s"
