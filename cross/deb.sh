#!/usr/bin/env bash
# Builds the Debian package for one architecture: cross/deb.sh x86_64|aarch64|armv7
# -> target/debian/activityd_<version>-1_<debarch>.deb
# The binary is built with the `dist` profile (lto=fat, codegen-units=1, stripped) by
# cross/build.sh, then packed by cargo-deb (installed from crates.io if missing) from
# [package.metadata.deb] in Cargo.toml and the pkg/debian/ maintainer scripts.
# amd64 gets its library dependencies from dpkg-shlibdeps (`$auto`); arm64/armhf use the
# variants [package.metadata.deb.variants.<debarch>], checked here against the libraries the
# binary really links (cross/shlibdeps.py).
set -euo pipefail
arch="${1:?usage: cross/deb.sh x86_64|aarch64|armv7}"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh" "$arch"
cd "$CROSS_REPO"
profile="${DEB_PROFILE:-dist}"

if ! cargo deb --version >/dev/null 2>&1; then
  nice -n "${CROSS_NICE:-10}" cargo install cargo-deb --locked
fi
# DEB_SKIP_BUILD=1: pack the binary already built (e.g. while another build holds the lock)
[ "${DEB_SKIP_BUILD:-0}" = 1 ] || "$here/build.sh" "$arch" "$profile"
bin="$CARGO_TARGET_DIR/$TRIPLE/$profile/activityd"
mkdir -p target/debian
start=$(date +%s)
args=(--no-build --locked --profile "$profile" --target "$TRIPLE" --output target/debian/)
[ "$DEB_ARCH" = amd64 ] || args+=(--variant "$DEB_ARCH")
deb="$(cargo deb "${args[@]}" | tail -1)"
echo "$deb"

# The package must depend on every library the binary links, at the version it needs.
need="$(python3 "$here/shlibdeps.py" "$bin")"
have="$(dpkg-deb -f "$deb" Depends)"
echo "links: $need"
echo "Depends: $have"
IFS=',' read -ra items <<< "$need"
for item in "${items[@]}"; do
  pkg="$(echo "$item" | awk '{print $1}')"
  ver="$(echo "$item" | sed -n 's/.*(>= \(.*\)).*/\1/p')"
  got="$(echo "$have" | tr ',' '\n' | awk -v p="$pkg" '$1 == p' | sed -n 's/.*(>= \(.*\)).*/\1/p' | head -1)"
  if ! echo "$have" | tr ',' '\n' | awk '{print $1}' | grep -qx "$pkg"; then
    echo "deb.sh: $deb does not depend on $pkg (binary links it): fix Cargo.toml" >&2; exit 1
  fi
  if [ -n "$ver" ] && { [ -z "$got" ] || dpkg --compare-versions "$got" lt "$ver"; }; then
    echo "deb.sh: $deb needs $pkg (>= $ver), declares '${got:-any}': fix Cargo.toml" >&2; exit 1
  fi
done
echo "packed in $(( $(date +%s) - start )) s: $(du -h "$deb" | cut -f1) ($deb)"
