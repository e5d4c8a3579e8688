#!/usr/bin/env bash
# Creates (once) the Debian sysroot of a target: cross/sysroot.sh aarch64|armv7
# -> $CROSS_DIR/sysroot-<debarch>, made with mmdebstrap --variant=extract (no maintainer
# scripts run, so no qemu or binfmt needed; dependencies are resolved by apt).
# Holds the target's glibc, the GStreamer headers/.pc files/libraries the build links
# against, and the GStreamer plugins the ARM smoke tests decode with (qtdemux from -good,
# avdec_h264 from -libav). Multiarch (dpkg --add-architecture) is deliberately not used:
# libgstreamer-plugins-base1.0-dev is not Multi-Arch: same, and armhf indexes can lag.
# Idempotent: a stamp file records the package list; a changed list rebuilds the sysroot.
set -euo pipefail
source "$(dirname "$0")/env.sh" "${1:?usage: cross/sysroot.sh aarch64|armv7}"

PKGS="libc6-dev,libgstreamer1.0-dev,libgstreamer-plugins-base1.0-dev,gstreamer1.0-plugins-base,liborc-0.4-dev,gstreamer1.0-plugins-good,gstreamer1.0-libav"
STAMP="$SYSROOT/.activityd-sysroot"
want="$CROSS_SUITE $DEB_ARCH $PKGS"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
  echo "sysroot $SYSROOT: up to date"
  exit 0
fi
command -v mmdebstrap >/dev/null || { echo "mmdebstrap missing: run cross/install-tools.sh" >&2; exit 1; }
mkdir -p "$CROSS_DIR"
rm -rf "$SYSROOT" "$SYSROOT.tmp"
start=$(date +%s)
MIRROR="${CROSS_MIRROR:-http://deb.debian.org/debian}"
SECURITY="${CROSS_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
mm() {
  rm -rf "$SYSROOT.tmp"
  mmdebstrap --mode=root --variant=extract --architectures="$DEB_ARCH" --include="$PKGS" \
    --quiet "$CROSS_SUITE" "$SYSROOT.tmp" "$@"
}
if ! mm "deb $MIRROR $CROSS_SUITE main" "deb $MIRROR $CROSS_SUITE-updates main" \
        "deb $SECURITY $CROSS_SUITE-security main"; then
  # Seen here: the armhf index of the security suite served with a stale size ("Mirror sync
  # in progress?"). Headers and sonames do not change in security updates, so the sysroot
  # is as good for linking and testing without them.
  echo "sysroot.sh: retrying without $CROSS_SUITE-security (its $DEB_ARCH index failed)" >&2
  mm "deb $MIRROR $CROSS_SUITE main" "deb $MIRROR $CROSS_SUITE-updates main"
fi
# Apt caches and lists, docs, man pages and translations are not needed to link or run.
rm -rf "$SYSROOT.tmp/var/cache/apt" "$SYSROOT.tmp/var/lib/apt/lists" \
  "$SYSROOT.tmp/usr/share/doc" "$SYSROOT.tmp/usr/share/man" "$SYSROOT.tmp/usr/share/locale"
# --variant=extract runs no maintainer scripts, so update-alternatives never made the
# libblas.so.3/liblapack.so.3 links that libavcodec (gstreamer1.0-libav) needs.
for alt in blas/libblas.so.3 lapack/liblapack.so.3; do
  d="$SYSROOT.tmp/usr/lib/$MULTIARCH"
  if [ -e "$d/$alt" ] && [ ! -e "$d/${alt#*/}" ]; then ln -s "$alt" "$d/${alt#*/}"; fi
done
mv "$SYSROOT.tmp" "$SYSROOT"
echo "$want" > "$STAMP"
rm -f "$CROSS_DIR/gst-registry-$DEB_ARCH.bin"
echo "sysroot $SYSROOT: created in $(( $(date +%s) - start )) s, $(du -sh "$SYSROOT" | cut -f1)"
