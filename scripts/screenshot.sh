#!/usr/bin/env bash
# Remakes the README's screenshots of the web page, from the page's own browser test: a daemon
# on the bundled clip, the page in headless Chromium (scripts/install-deps.sh installs it).
# Writes docs/page.png (a camera, after about 45 s of it) and docs/page-tug.png (the TUG view
# with a completed trial).
set -euo pipefail
cd "$(dirname "$0")/.."
ACTIVITYD_SCREENSHOT=docs/page.png cargo test --release --features fault-injection --test page -- --test-threads=2 --nocapture
