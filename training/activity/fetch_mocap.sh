#!/usr/bin/env bash
# Fetch the real-motion sources used by mocap_to_landmarks.py (pinned, sha256-checked) into
# training/activity/.mocap/ (gitignored). Only PyPI is contacted, through pip.
#   bvhtoolbox 0.1.3 sdist (MIT): tests/example_files/test_freebvh.bvh, test_mocapbank.bvh
#   pybullet 3.2.7 wheel (zlib): pybullet_data/data/motions/humanoid3d_*.txt (walk, get-ups, jump,
#                                kick, punch, dance_a/b), walker/turn_*1.txt, humanoid.urdf,
#                                pybullet_envs/deep_mimic/env/humanoid_*.py (format reference)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${MOCAP_DIR:-$here/.mocap}"
py="${PYTHON:-$here/../.venv-activity/bin/python}"
[ -x "$py" ] || py=python3
mkdir -p "$dest/dl"
cd "$dest/dl"

BVH_SDIST=bvhtoolbox-0.1.3.tar.gz
BVH_SHA=2d9dcae87cd6bfa28c89463450de84497e612682ca0697ea088fc7f2ef0f937f
PB_WHEEL=pybullet-3.2.7-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
PB_SHA=5d858abf7c12a21ef3ed351cf81dac1b5e486ec25c9ab59bfc84beb89034edff

check() { echo "$2  $1" | sha256sum -c --quiet - ; }

if [ ! -f "$BVH_SDIST" ] || ! check "$BVH_SDIST" "$BVH_SHA" 2>/dev/null; then
  "$py" -m pip download --quiet --no-deps --no-binary :all: bvhtoolbox==0.1.3 -d .
fi
check "$BVH_SDIST" "$BVH_SHA"
if [ ! -f "$PB_WHEEL" ] || ! check "$PB_WHEEL" "$PB_SHA" 2>/dev/null; then
  # the data files are the same in every wheel; this one is pinned by file name and sum
  "$py" -m pip download --quiet --no-deps --only-binary :all: --python-version 3.11 \
      --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 pybullet==3.2.7 -d .
fi
check "$PB_WHEEL" "$PB_SHA"

cd "$dest"
tar -xzf "dl/$BVH_SDIST" bvhtoolbox-0.1.3/tests/example_files bvhtoolbox-0.1.3/LICENSE
"$py" - "$dest/dl/$PB_WHEEL" "$dest" <<'PY'
import sys, zipfile
whl, dest = sys.argv[1], sys.argv[2]
want = ("pybullet_data/data/motions/humanoid3d_walk.txt",
        "pybullet_data/data/motions/humanoid3d_getup_faceup.txt",
        "pybullet_data/data/motions/humanoid3d_getup_facedown.txt",
        "pybullet_data/data/motions/walker/turn_left1.txt",
        "pybullet_data/data/motions/walker/turn_right1.txt",
        "pybullet_data/data/motions/humanoid3d_jump.txt",
        "pybullet_data/data/motions/humanoid3d_kick.txt",
        "pybullet_data/data/motions/humanoid3d_punch.txt",
        "pybullet_data/data/motions/humanoid3d_dance_a.txt",
        "pybullet_data/data/motions/humanoid3d_dance_b.txt",
        "pybullet_data/humanoid/humanoid.urdf",
        "pybullet_envs/deep_mimic/env/humanoid_pose_interpolator.py",
        "pybullet_envs/deep_mimic/env/humanoid_stable_pd.py")
with zipfile.ZipFile(whl) as z:
    for n in want:
        z.extract(n, dest)
    for n in z.namelist():
        if n.startswith("pybullet-3.2.7.dist-info/") and "LICENSE" in n.upper():
            z.extract(n, dest)
PY
echo "mocap sources in $dest"
