#!/usr/bin/env bash
# ARM tests under qemu-user: cross/test.sh aarch64|armv7   (make test-cross runs both)
#   1. the library's unit tests, cross-built (release: inference in debug is far too slow)
#      and run with `cargo test --lib` through the qemu runner;
#   2. a smoke run of the cross-built binary: check-config, pose on an image and on a video,
#      each compared with the x86-64 binary's output on the same input
#      (cross/compare_landmarks.py; tolerances in cross/README.md); on aarch64 also pose in
#      f16 arithmetic (qemu as a Cortex-A76) on the stills, against MediaPipe's landmarks
#      (cross/compare_mediapipe.py), and on a man walking into view, who must stand upright
#      (cross/upright.py; needs ffmpeg to cut the clip);
#   3. classify on the x86 binary's landmarks, compared likewise (skipped, with a notice,
#      while `activityd classify` is not implemented).
# Each step's wall time goes to $CROSS_DIR/test-<debarch>/times.tsv.
#
# Environment: X86_BIN  the x86-64 reference binary (default target/release/activityd, which
#                       `make test` builds; built into $CROSS_DIR/release if missing)
#              CROSS_TEST_PROFILE  profile of the smoke-tested ARM binary (default release:
#                       it shares every dependency with the unit-test build; dist works too)
#              QEMU_CPU / CROSS_DIR  see cross/env.sh
set -euo pipefail
arch="${1:?usage: cross/test.sh aarch64|armv7}"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh" "$arch"
cd "$CROSS_REPO"
[ "$DEB_ARCH" != amd64 ] || { echo "cross/test.sh: give an ARM arch" >&2; exit 2; }
profile="${CROSS_TEST_PROFILE:-release}"
out="$CROSS_DIR/test-$DEB_ARCH"
mkdir -p "$out"
times="$out/times.tsv"
: > "$times"
nice_n="${CROSS_NICE:-10}"

step() {  # step NAME CMD... : runs, times, records; fails the script on failure
  local name="$1"; shift
  local t0 ms
  t0=$(date +%s%N)
  echo "=== [$arch] $name"
  if "$@"; then
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    printf '%s\t%s\t%d.%03d\n' "$arch" "$name" $((ms / 1000)) $((ms % 1000)) | tee -a "$times"
  else
    local rc=$?
    echo "=== [$arch] $name FAILED (exit $rc)" >&2
    exit "$rc"
  fi
}

step tools "$here/install-tools.sh" "$arch"
step sysroot "$here/sysroot.sh" "$arch"
# One build for the unit tests and the smoke-tested binary: with the test targets in the same
# invocation, the binary's dependencies get the same (dev-dependency-unified) features as the
# tests', so nothing is compiled twice. (The packaged binary is built separately, `dist`.)
if [ "$profile" = release ]; then
  step build nice -n "$nice_n" cargo build --locked --release --target "$TRIPLE" --bin activityd --tests
else
  step build-unit-tests nice -n "$nice_n" cargo test --locked --release --lib --target "$TRIPLE" --no-run
  step build-binary nice -n "$nice_n" cargo build --locked --profile "$profile" --target "$TRIPLE" --bin activityd
fi
step run-unit-tests cargo test --locked --release --lib --target "$TRIPLE" -- --test-threads=2
arm_bin="$CARGO_TARGET_DIR/$TRIPLE/$profile/activityd"

x86_bin="${X86_BIN:-$CROSS_REPO/target/release/activityd}"
if [ ! -x "$x86_bin" ]; then
  x86_bin="$CARGO_TARGET_DIR/release/activityd"
  step build-x86-reference nice -n "$nice_n" cargo build --locked --release --bin activityd
fi
echo "x86 reference: $x86_bin"
# Both builds read the same models (not an installed /usr/share/activityd/models).
export ACTIVITYD_MODELS="$CROSS_REPO/models"
x86() { env -u QEMU_CPU -u GST_REGISTRY -u GST_REGISTRY_FORK -u GST_PLUGIN_SYSTEM_PATH "$x86_bin" "$@"; }
arm() { cross_run "$arm_bin" "$@"; }

check_config() {
  local got; got="$(arm check-config config/activityd.toml)"
  [ "$got" = ok ] || { echo "check-config said: $got" >&2; return 1; }
  # and a broken config must fail with exit 2 and name the field
  local rc=0 msg
  msg="$(arm check-config tests/fixtures/configs/"$(ls tests/fixtures/configs | head -1)" 2>&1)" || rc=$?
  [ "$rc" = 2 ] || { echo "broken config: exit $rc, want 2: $msg" >&2; return 1; }
}
step smoke-check-config check_config

pose_pair() {  # pose_pair NAME INPUT
  local name="$1" input="$2"
  x86 pose "$input" > "$out/$name.x86.jsonl"
  arm pose "$input" > "$out/$name.$DEB_ARCH.jsonl"
}
compare() {  # compare NAME
  python3 "$here/compare_landmarks.py" "$out/$1.x86.jsonl" "$out/$1.$DEB_ARCH.jsonl" \
    | tee "$out/$1.diff.json"
}
img=tests/fixtures/images/pose2sim_cam01_f030_front.jpg
vid=tests/fixtures/video/pose2sim_cam01.mp4
step smoke-pose-image-x86 x86 pose "$img" > /dev/null
step smoke-pose-image pose_pair image "$img"
step compare-image compare image
step smoke-pose-video pose_pair video "$vid"
step compare-video compare video

# f16 arithmetic (`pose.precision = "f16_arithmetic"` on a core with FEAT_FP16: a Raspberry
# Pi 5's Cortex-A76; tract PR 16): not equal to x86's, so held to issue 22's bound against
# MediaPipe's landmarks on the stills (cross/compare_mediapipe.py: mean <= 1 %, p95 <= 3 %).
fp16_stills() {
  mkdir -p "$out/fp16"
  local f
  for f in $(python3 -c "import json; r = json.load(open('tests/fixtures/reference/images.json'))
print(' '.join(k for k, v in r.items() if v.get('decodable') is not False))"); do
    QEMU_CPU=cortex-a76 arm pose --pose-precision f16_arithmetic "tests/fixtures/images/$f" > "$out/fp16/$f.jsonl"
  done
  python3 "$here/compare_mediapipe.py" --stills "$out/fp16" | tee "$out/fp16/compare.txt"
}
# ... and a man walking into the Sports2D view (its first 0.6 s): with the output heads in f16
# the detector's first box for him was turned a quarter and the tracker followed him lying on
# his side for a second (cross/README.md). A partly seen first pose may lean; the rest stand.
fp16_entering() {
  mkdir -p "$out/fp16"
  ffmpeg -loglevel error -y -i tests/fixtures/video/sports2d_640x360.mp4 -t 0.6 -c copy \
    "$out/fp16/entering.mp4"
  QEMU_CPU=cortex-a76 arm pose --pose-precision f16_arithmetic "$out/fp16/entering.mp4" \
    > "$out/fp16/entering.jsonl"
  python3 "$here/upright.py" --allow 2 "$out/fp16/entering.jsonl"
}
if [ "$DEB_ARCH" = arm64 ]; then
  step fp16-stills-vs-mediapipe fp16_stills
  step fp16-entering-upright fp16_entering
fi

# classify: the same landmark frames through both builds: the x86 pose output of the clip
# above, and the committed MediaPipe landmarks of the longer Sports2D clip (walks and turns,
# so there are segments to compare).
classify_inputs=("$out/video.x86.jsonl" tests/fixtures/reference/sports2d_640x360.jsonl)
classify_ready() {
  local rc=0
  x86 classify --landmarks "${classify_inputs[0]}" > /dev/null 2> "$out/classify.x86.err" || rc=$?
  [ "$rc" = 0 ]
}
classify_pair() {  # classify_pair NAME LANDMARKS
  x86 classify --landmarks "$2" > "$out/$1.x86.json"
  arm classify --landmarks "$2" > "$out/$1.$DEB_ARCH.json"
  python3 "$here/compare_classify.py" "$out/$1.x86.json" "$out/$1.$DEB_ARCH.json" \
    | tee "$out/$1.diff.json"
}
if classify_ready; then
  step smoke-classify-clip classify_pair classify-clip "${classify_inputs[0]}"
  step smoke-classify-sports2d classify_pair classify-sports2d "${classify_inputs[1]}"
else
  echo "=== [$arch] smoke-classify SKIPPED: 'activityd classify' is not implemented yet ($(head -c 200 "$out/classify.x86.err"))"
  printf '%s\t%s\t%s\n' "$arch" smoke-classify skipped >> "$times"
fi

echo "=== [$arch] summary (seconds)"
while IFS=$'\t' read -r a n t; do printf '  %-8s %-24s %s\n' "$a" "$n" "$t"; done < "$times"
