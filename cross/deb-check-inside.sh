#!/bin/sh
# Runs inside the clean chroot of cross/deb-check.sh: sh deb-check-inside.sh /tmp/activityd_*.deb
set -eu
deb="$1"
say() { echo "--- $*"; }
fail() { echo "deb-check FAILED: $*" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive

say "dpkg -i (dependencies missing on purpose: this is a clean root)"
dpkg -i "$deb" || true
say "apt-get -f install (apt resolves the dependencies inside the chroot)"
apt-get -f install -y -q -o Dpkg::Use-Pty=0 >/tmp/apt.log 2>&1 || { tail -30 /tmp/apt.log; fail "apt-get -f install"; }
grep -E '^[0-9]+ upgraded' /tmp/apt.log || true
dpkg-query -W -f='${Status} ${Version}\n' activityd | grep -q 'install ok installed' || fail "activityd not installed"
say "installed: $(dpkg-query -W -f='${Package} ${Version} ${Architecture}' activityd)"

say "files"
for f in /usr/bin/activityd /etc/activityd/activityd.toml /usr/share/activityd/models/pose_detector.onnx \
         /usr/share/activityd/models/pose_landmarks.onnx /usr/share/activityd/models/LICENSE-mediapipe.txt \
         /usr/lib/systemd/system/activityd.service /usr/share/doc/activityd/copyright; do
  [ -e "$f" ] || fail "missing $f"
done
dpkg-query -W -f='${Conffiles}\n' activityd | grep -q '/etc/activityd/activityd.toml' || fail "config is not a conffile"
say "user: $(id activityd)"
id -nG activityd | tr ' ' '\n' | grep -qx video || fail "activityd not in group video"
[ -L /etc/systemd/system/multi-user.target.wants/activityd.service ] || fail "unit not enabled"
say "unit enabled: $(readlink /etc/systemd/system/multi-user.target.wants/activityd.service)"
! ldd /usr/bin/activityd | grep 'not found' || fail "unresolved libraries"

say "activityd check-config /etc/activityd/activityd.toml (as user activityd)"
out="$(setpriv --reuid=activityd --regid=activityd --init-groups activityd check-config /etc/activityd/activityd.toml)"
[ "$out" = ok ] || fail "check-config: $out"
echo "$out"

say "activityd pose on an image (models from /usr/share/activityd/models)"
[ ! -e /work ] || fail "/work exists in the chroot"
img=/tmp/pose2sim_cam01_f030_front.jpg
chmod 644 "$img"
setpriv --reuid=activityd --regid=activityd --init-groups env HOME=/nonexistent activityd pose "$img" > /tmp/pose.jsonl
n=$(grep -c '"landmarks":\[\[' /tmp/pose.jsonl || true)
[ "$n" = 1 ] || { cat /tmp/pose.jsonl; fail "pose found no person"; }
head -c 160 /tmp/pose.jsonl; echo " ..."

say "postinst start policy (stub deb-systemd-invoke, /run/systemd/system faked)"
mkdir -p /run/systemd/system /usr/local/sbin
cat > /usr/local/sbin/deb-systemd-invoke <<'STUB'
#!/bin/sh
echo "$*" >> /tmp/invoked
STUB
chmod 755 /usr/local/sbin/deb-systemd-invoke
: > /tmp/invoked
dpkg -i "$deb" >/dev/null 2>&1            # same version again: the upgrade path
grep -qx 'try-restart activityd.service' /tmp/invoked || fail "upgrade: want try-restart, got: $(cat /tmp/invoked)"
echo "upgrade/reinstall -> deb-systemd-invoke $(cat /tmp/invoked)"
dpkg -r activityd >/dev/null 2>&1         # removed, config kept
: > /tmp/invoked
dpkg -i "$deb" 2>/tmp/postinst.err >/dev/null   # first install, pristine config
grep -q start /tmp/invoked && fail "pristine config: started: $(cat /tmp/invoked)"
echo "fresh install, config untouched -> not started; postinst says: $(cat /tmp/postinst.err)"
dpkg -r activityd >/dev/null 2>&1
sed -i 's/^device_id = .*/device_id = "deb-check"/' /etc/activityd/activityd.toml
: > /tmp/invoked
dpkg -i "$deb" >/dev/null 2>&1            # first install, config edited (kept from before)
grep -qx 'start activityd.service' /tmp/invoked || fail "edited config: want start, got: $(cat /tmp/invoked)"
echo "fresh install, config edited -> deb-systemd-invoke $(cat /tmp/invoked)"
rm -rf /usr/local/sbin/deb-systemd-invoke /run/systemd/system
say "inside checks passed"
