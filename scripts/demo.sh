#!/usr/bin/env bash
# Runs the daemon on config/demo.toml: a real clip of a person replayed in a loop as if it
# were a camera. Ctrl-C stops everything cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "activityd demo: replaying tests/fixtures/video/sports2d_640x360.mp4 as camera cam0"
echo "Ctrl-C to stop."
exec target/release/activityd run --config config/demo.toml --log-format text
