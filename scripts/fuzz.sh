#!/usr/bin/env bash
# `make fuzz`: runs every cargo-fuzz target (libFuzzer) for FUZZ_SECONDS (default 120) each,
# starting from the corpus in fuzz/corpus; crashes land in fuzz/artifacts/<target>/ and are
# replayed by `cargo test --test fuzz_regressions` from then on. Not part of `make test`.
# cargo-fuzz wants a nightly compiler; RUSTC_BOOTSTRAP=1 lets the stable one build it.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-120}
export PATH="$HOME/.cargo/bin:$PATH"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$PWD/target/fuzz"
for t in multipart image_decode landmarks_jsonl config; do
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  echo "== fuzzing $t for ${SECS} s"
  (cd fuzz && cargo fuzz run --release "$t" "corpus/$t" -- \
      -max_total_time="$SECS" -rss_limit_mb=2048 -max_len=65536 \
      -artifact_prefix="artifacts/$t/" -print_final_stats=1 2>&1) \
    | grep -E "^(#[0-9]+\s+DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)" || true
done
echo "crash reproducers (fuzz/artifacts):"
find fuzz/artifacts -type f | sed 's/^/  /' || true
