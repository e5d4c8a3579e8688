#!/usr/bin/env bash
# Installs what building, running and testing activityd needs on Debian/Ubuntu: GStreamer
# (dev files + plugins), libclang (for the v4l crate's bindgen), Mosquitto, ffmpeg (the tests
# make browser-style WebM clips with it), Chromium (tests/page.rs drives the web page in it,
# headless), and Rust if absent.
# Idempotent: installs only what is missing. Uses sudo only when not root.
set -euo pipefail

pkgs=(
  build-essential pkg-config libclang-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools
  mosquitto mosquitto-clients curl ca-certificates strace ffmpeg chromium
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The Debian mosquitto package starts a system broker on 1883 on some systems; we never rely
# on it: the demo and tests start their own on a free port.

if ! command -v cargo >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo" ]; then
  echo "installing Rust (rustup, minimal profile)"
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain 1.95.0
fi
