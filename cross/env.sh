# shellcheck shell=bash
# Sourced by the cross/*.sh scripts: `source cross/env.sh ARCH` with ARCH one of
#   aarch64 | arm64     -> aarch64-unknown-linux-gnu      (Debian arm64; Raspberry Pi 3/4/5, 64-bit OS)
#   armv7   | armhf     -> armv7-unknown-linux-gnueabihf  (Debian armhf; Raspberry Pi 2/3/4, 32-bit OS)
#   x86_64  | amd64     -> x86_64-unknown-linux-gnu       (native; only for packaging)
# Sets the cargo/pkg-config/bindgen/cc variables for that target, all target-scoped
# (…_<triple>), so a host build in the same shell is unaffected, plus the qemu-user runner
# and the GStreamer variables needed to run target binaries under qemu.
#
# Overridable from the environment:
#   CROSS_DIR   where sysroots and cross build output go (default: <repo>/target/cross,
#               gitignored; never the lead's target/ itself, so we never hold its lock)
#   CROSS_SUITE Debian suite of the sysroot (default bookworm: GStreamer 1.22, glibc 2.36)
#   QEMU_CPU    CPU model qemu-user emulates (default: cortex-a72 = Raspberry Pi 4 for
#               aarch64, cortex-a7 = Raspberry Pi 2 for armv7). qemu's default "max" CPU has
#               SVE2, which makes tract pick kernels no Raspberry Pi has.

CROSS_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CROSS_DIR="${CROSS_DIR:-$CROSS_REPO/target/cross}"
CROSS_SUITE="${CROSS_SUITE:-bookworm}"

case "${1:-}" in
  aarch64|arm64|aarch64-unknown-linux-gnu)
    TRIPLE=aarch64-unknown-linux-gnu; DEB_ARCH=arm64; MULTIARCH=aarch64-linux-gnu
    CROSS_CC=aarch64-linux-gnu-gcc; QEMU=qemu-aarch64-static; QEMU_DYN=qemu-aarch64
    : "${QEMU_CPU:=cortex-a72}"
    # tract reads the CPU part from /proc/cpuinfo, which qemu-user 7.2 does not emulate
    # (it would see the x86 host's): tell it what the emulated CPU is.
    : "${TRACT_CPU_AARCH64_KIND:=${QEMU_CPU#cortex-}}"
    export TRACT_CPU_AARCH64_KIND
    ;;
  armv7|armhf|armv7-unknown-linux-gnueabihf)
    TRIPLE=armv7-unknown-linux-gnueabihf; DEB_ARCH=armhf; MULTIARCH=arm-linux-gnueabihf
    CROSS_CC=arm-linux-gnueabihf-gcc; QEMU=qemu-arm-static; QEMU_DYN=qemu-arm
    : "${QEMU_CPU:=cortex-a7}"
    # tract looks for "neon" in /proc/cpuinfo, which under qemu-user is the x86 host's:
    # force the NEON kernels every ARMv7 Raspberry Pi has.
    : "${TRACT_CPU_ARM32_NEON:=true}"
    export TRACT_CPU_ARM32_NEON
    ;;
  x86_64|amd64|x86_64-unknown-linux-gnu)
    TRIPLE=x86_64-unknown-linux-gnu; DEB_ARCH=amd64; MULTIARCH=x86_64-linux-gnu
    CROSS_CC=gcc; QEMU=""; QEMU_DYN=""
    ;;
  *)
    echo "cross/env.sh: unknown arch '${1:-}' (aarch64, armv7 or x86_64)" >&2
    return 2 2>/dev/null || exit 2
    ;;
esac
export TRIPLE DEB_ARCH MULTIARCH CROSS_DIR CROSS_SUITE CROSS_REPO

# Build output: $CROSS_DIR/<triple>/<profile>/activityd (host build scripts and proc-macros
# are shared between the targets in $CROSS_DIR/<profile>/).
export CARGO_TARGET_DIR="$CROSS_DIR"
PATH="$HOME/.cargo/bin:$PATH"; export PATH

if [ "$DEB_ARCH" != amd64 ]; then
  SYSROOT="$CROSS_DIR/sysroot-$DEB_ARCH"
  export SYSROOT QEMU QEMU_DYN QEMU_CPU
  t_up="$(echo "$TRIPLE" | tr 'a-z-' 'A-Z_')"   # AARCH64_UNKNOWN_LINUX_GNU
  t_lo="${TRIPLE//-/_}"                          # aarch64_unknown_linux_gnu
  export "CARGO_TARGET_${t_up}_LINKER=$CROSS_CC"
  export "CARGO_TARGET_${t_up}_RUSTFLAGS=-C link-arg=--sysroot=$SYSROOT"
  # -L: qemu looks up the dynamic loader and every absolute path in the sysroot first.
  export "CARGO_TARGET_${t_up}_RUNNER=$QEMU -L $SYSROOT"
  export "CC_${t_lo}=$CROSS_CC"
  export "CFLAGS_${t_lo}=--sysroot=$SYSROOT"
  export "BINDGEN_EXTRA_CLANG_ARGS_${t_lo}=--sysroot=$SYSROOT"
  export "PKG_CONFIG_ALLOW_CROSS_${t_lo}=1"
  export "PKG_CONFIG_SYSROOT_DIR_${t_lo}=$SYSROOT"
  export "PKG_CONFIG_LIBDIR_${t_lo}=$SYSROOT/usr/lib/$MULTIARCH/pkgconfig:$SYSROOT/usr/share/pkgconfig"
  # GStreamer under qemu-user: it cannot fork gst-plugin-scanner (an ARM binary), so scan
  # in-process, into a registry of its own, and only the sysroot's plugins.
  export GST_REGISTRY_FORK=no
  export GST_REGISTRY="$CROSS_DIR/gst-registry-$DEB_ARCH.bin"
  export GST_PLUGIN_SYSTEM_PATH="$SYSROOT/usr/lib/$MULTIARCH/gstreamer-1.0"
  unset GST_PLUGIN_PATH GST_PLUGIN_SCANNER
  # Run a target binary: cross_run BIN ARGS...
  cross_run() { "$QEMU" -L "$SYSROOT" "$@"; }
else
  SYSROOT=""
  cross_run() { "$@"; }
fi
