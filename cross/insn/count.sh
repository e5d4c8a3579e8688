#!/usr/bin/env bash
# Instructions executed by `activityd pose` on one image, per architecture (make insn-count).
# One method for all three: qemu-user with the TCG plugin cross/insn/insncount.c (Debian's
# qemu-user 7.2 takes -plugin but ships no plugins), counting every executed guest
# instruction. ARM emulates a Raspberry Pi core (QEMU_CPU from cross/env.sh: cortex-a72 /
# cortex-a7); x86-64 runs on qemu's `max` CPU, where tract sees AVX2+FMA (no AVX-512).
# x86-64 is also counted with valgrind --tool=callgrind as a cross-check (perf has no
# hardware counters on this VM; valgrind too shows tract AVX2+FMA, not AVX-512).
# glibc's x86 memcpy/memset use `rep movsb/stosb` for large sizes, which qemu and valgrind
# count once per byte: GLIBC_TUNABLES moves the threshold out of reach so x86 copies with
# its vector loop, like ARM's NEON memcpy (without it x86 counts ~0.13-0.23 G more).
# Three runs per arch, all with the same models:
#   startup  `pose` on a file that does not exist: process start, loading both networks and
#            tract's optimisation of them, then the open error (GStreamer is never started);
#   image    `pose` on tests/fixtures/images/pose2sim_cam01_f030_front.jpg (1080x1920, one
#            person): startup + JPEG decode + detector + landmarks + post-processing;
#   noperson `pose` on skimage_chelsea_no_person.png: startup + decode + detector only.
# The pose step is image - startup. Usage: cross/insn/count.sh [arch...] (default all three)
# Binaries: $CROSS_DIR/<triple>/$PROFILE/activityd (PROFILE default dist, built if missing).
# Overrides (for comparing model variants with given binaries, e.g. the quantisation study in
# docs/models.md): MODELS_DIR (models directory, default <repo>/models), INSN_OUT (where the
# counts, logs and GStreamer registry go, default $CROSS_DIR/insn), BIN_<arch> (binary for
# that arch, e.g. BIN_aarch64=..., never built), POSE_ARGS (extra `pose` arguments, e.g.
# "--pose-model lite"), CALLGRIND=0 (x86-64: qemu only, skip the valgrind cross-check).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
archs=("$@"); [ ${#archs[@]} -gt 0 ] || archs=(x86_64 aarch64 armv7)
profile="${PROFILE:-dist}"
cross_dir="${CROSS_DIR:-$repo/target/cross}"
out="${INSN_OUT:-$cross_dir/insn}"
mkdir -p "$out"
plugin="$out/insncount.so"
if [ ! -f "$plugin" ] || [ "$here/insncount.c" -nt "$plugin" ]; then
  gcc -O2 -shared -fPIC -fvisibility=hidden -Wall -Wextra -o "$plugin" "$here/insncount.c"
fi
results="$out/results.tsv"
img="$repo/tests/fixtures/images/pose2sim_cam01_f030_front.jpg"
noperson="$repo/tests/fixtures/images/skimage_chelsea_no_person.png"
notimage="$out/no-such-file.jpg"   # must not exist
export ACTIVITYD_MODELS="${MODELS_DIR:-$repo/models}"
pose_args=(${POSE_ARGS:-})
x86_tunables="glibc.cpu.x86_rep_movsb_threshold=1000000000000:glibc.cpu.x86_rep_stosb_threshold=1000000000000"

for arch in "${archs[@]}"; do
  (
    source "$repo/cross/env.sh" "$arch"
    bin_var="BIN_$arch"; bin="${!bin_var:-$CARGO_TARGET_DIR/$TRIPLE/$profile/activityd}"
    [ -x "$bin" ] || "$repo/cross/build.sh" "$arch" "$profile" >&2
    [ -z "${INSN_OUT:-}" ] || export GST_REGISTRY="$out/gst-registry-$DEB_ARCH.bin"
    count() {  # count METHOD CASE INPUT -> prints the instruction count
      local method="$1" case="$2" input="$3" f="$out/$DEB_ARCH-$1-$2.txt"
      rm -f "$f"
      case "$method" in
        callgrind)
          GLIBC_TUNABLES="$x86_tunables" valgrind --tool=callgrind --callgrind-out-file="$f.cg" \
            "$bin" pose "${pose_args[@]}" "$input" > /dev/null 2> "$f.log" || true
          grep -m1 '^summary:' "$f.cg" | awk '{print $2}' ;;
        qemu)
          if [ "$DEB_ARCH" = amd64 ]; then
            GLIBC_TUNABLES="$x86_tunables" qemu-x86_64 -cpu max -plugin "$plugin,outfile=$f" \
              "$bin" pose "${pose_args[@]}" "$input" > /dev/null 2> "$f.log" || true
          else
            "$QEMU_DYN" -L "$SYSROOT" -plugin "$plugin,outfile=$f" \
              "$bin" pose "${pose_args[@]}" "$input" > /dev/null 2> "$f.log" || true
          fi
          awk '{print $2}' "$f" ;;
      esac
    }
    methods=(qemu); [ "$DEB_ARCH" != amd64 ] || [ "${CALLGRIND:-1}" = 0 ] || methods+=(callgrind)
    for m in "${methods[@]}"; do
      s=$(count "$m" startup "$notimage"); i=$(count "$m" image "$img"); n=$(count "$m" noperson "$noperson")
      cpu="${QEMU_CPU:-max}"; [ "$DEB_ARCH" != amd64 ] || cpu="AVX2+FMA (tract's choice)"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$DEB_ARCH" "$m" "$cpu" "$s" "$i" "$n" "$((i - s))"
    done
  )
done | tee "$out/new.tsv"
{ printf 'arch\tmethod\tcpu\tstartup\timage\tnoperson\tpose_step(image-startup)\n'; cat "$out/new.tsv"; } > "$results"
echo "written: $results"
