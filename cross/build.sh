#!/usr/bin/env bash
# Cross-builds activityd: cross/build.sh aarch64|armv7|x86_64 [PROFILE]
# PROFILE: dist (default: lto=fat, codegen-units=1, stripped; what the .deb ships) or release.
# Installs the missing tools, makes the sysroot if needed, then
#   cargo build --profile PROFILE --target <triple> --locked
# into $CROSS_DIR (default target/cross; the lead's target/ is never touched).
# Output: $CROSS_DIR/<triple>/<profile>/activityd
set -euo pipefail
arch="${1:?usage: cross/build.sh aarch64|armv7|x86_64 [dist|release]}"
profile="${2:-${PROFILE:-dist}}"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh" "$arch"
cd "$CROSS_REPO"

if [ "$DEB_ARCH" != amd64 ]; then
  "$here/install-tools.sh" "$arch"
  "$here/sysroot.sh" "$arch"
fi
start=$(date +%s)
# nice: the machine has 2 cores that interactive work shares.
nice -n "${CROSS_NICE:-10}" cargo build --locked --profile "$profile" --target "$TRIPLE" --bin activityd
bin="$CARGO_TARGET_DIR/$TRIPLE/$profile/activityd"
echo "built $bin in $(( $(date +%s) - start )) s ($(du -h "$bin" | cut -f1); $(file -b "$bin" | cut -d, -f1-2))"
