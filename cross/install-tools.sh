#!/usr/bin/env bash
# Installs (only what is missing) what cross-building and testing on ARM needs on a Debian 12
# x86-64 machine, without Docker: the Rust std for the targets (rustup), Debian's cross gcc
# (used as linker and C compiler), qemu-user (static, to run ARM binaries; the dynamic one
# only for TCG instruction-count plugins), mmdebstrap (target sysroots).
# Usage: cross/install-tools.sh [aarch64] [armv7]   (default: both)
set -euo pipefail
export PATH="$HOME/.cargo/bin:$PATH"
archs=("$@"); [ ${#archs[@]} -gt 0 ] || archs=(aarch64 armv7)

pkgs=(mmdebstrap qemu-user-static qemu-user pkg-config libclang-dev
      libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev)
targets=()
for a in "${archs[@]}"; do
  case "$a" in
    aarch64|arm64) pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross); targets+=(aarch64-unknown-linux-gnu) ;;
    armv7|armhf)   pkgs+=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross); targets+=(armv7-unknown-linux-gnueabihf) ;;
    *) echo "unknown arch $a" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  # --no-install-recommends: qemu-user recommends qemu-user-binfmt, which would fight
  # qemu-user-static over the binfmt_misc registrations (we never rely on binfmt anyway).
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

installed="$(rustup target list --installed)"
for t in "${targets[@]}"; do
  grep -qx "$t" <<<"$installed" || rustup target add "$t"
done
