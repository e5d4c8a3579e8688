#!/usr/bin/env bash
# Proves the amd64 package carries what it needs (make deb-check):
# a clean Debian bookworm root (mmdebstrap, variant apt plus systemd: nothing but apt, the
# essentials and an init, no Rust, no GStreamer, no activityd sources), the .deb copied in, `dpkg -i` (which stops
# at the missing dependencies) then `apt-get -f install` resolving them inside the chroot;
# then, inside the chroot: activityd check-config on the installed config and activityd pose
# on an image (models from /usr/share/activityd/models, nothing from this tree), the user,
# group, conffile and enabled unit are checked, and the postinst's start policy is exercised
# with a stub deb-systemd-invoke. Outside: systemd-analyze verify/security on the unit as
# installed in that root. The root is thrown away afterwards (kept with KEEP_ROOT=1).
# Usage: cross/deb-check.sh [path/to/activityd_*_amd64.deb]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/env.sh" x86_64
cd "$CROSS_REPO"
deb="${1:-$(ls -t target/debian/activityd_*_amd64.deb 2>/dev/null | head -1)}"
[ -f "$deb" ] || { echo "no amd64 .deb: run make deb first" >&2; exit 1; }
command -v mmdebstrap >/dev/null || "$here/install-tools.sh" aarch64
root="$CROSS_DIR/debcheck-root"
log="$CROSS_DIR/deb-check.log"
rm -rf "$root"
start=$(date +%s)
echo "deb-check: $deb -> clean bookworm root $root (log: $log)"

# systemd is included as on any real target (and so that systemd-analyze can verify the unit
# against the root's own systemd units); nothing else beyond variant apt.
mmdebstrap --mode=root --variant=apt --quiet --include=systemd \
  --aptopt='APT::Install-Recommends "true"' \
  --customize-hook="copy-in $deb /tmp" \
  --customize-hook="copy-in tests/fixtures/images/pose2sim_cam01_f030_front.jpg /tmp" \
  --customize-hook="copy-in $here/deb-check-inside.sh /tmp" \
  --customize-hook="chroot \"\$1\" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin sh /tmp/deb-check-inside.sh /tmp/$(basename "$deb")" \
  bookworm "$root" \
  "deb http://deb.debian.org/debian bookworm main" \
  "deb http://deb.debian.org/debian bookworm-updates main" \
  "deb http://deb.debian.org/debian-security bookworm-security main" 2>&1 | tee "$log" | { grep -v '^I: ' || true; }
echo "deb-check: root built, package installed and checked in $(( $(date +%s) - start )) s"

unit="$root/usr/lib/systemd/system/activityd.service"
echo "=== systemd-analyze verify (unit as installed, --root)"
[ -f "$unit" ] || { echo "unit not installed at $unit" >&2; exit 1; }
systemd-analyze verify --root="$root" activityd.service
echo "=== systemd-analyze security --offline=true"
systemd-analyze security --offline=true --root="$root" activityd.service | tail -1
[ "${KEEP_ROOT:-0}" = 1 ] || rm -rf "$root"
echo "deb-check: OK in $(( $(date +%s) - start )) s"
