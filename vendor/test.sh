#!/usr/bin/env bash
# The vendored tract's own tests of the kernels we changed (vendor/README.md), in the vendor
# workspace (vendor/Cargo.toml, its own target/ and Cargo.lock).
#   vendor/test.sh            on this machine (make test-vendor)
#   vendor/test.sh aarch64    cross-built and run under qemu-user (make test-vendor-aarch64;
#                             the toolchain and sysroot as cross/README.md sets them up)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
arch="${1:-native}"
target=()
if [ "$arch" != native ]; then
  source "$here/../cross/env.sh" "$arch"
  "$here/../cross/install-tools.sh" "$arch"
  "$here/../cross/sysroot.sh" "$arch"
  target=(--target "$TRIPLE")
  export CARGO_TARGET_DIR="$here/target"
fi
cd "$here"
# The depthwise kernels (PR 1; the whole-plane AVX-512 kernel of PR 14 among them), the kernels' AVX upper state (PR 4: every matrix kernel's
# leaves_upper_avx_state_clear, the inline-asm element-wise kernels' upper_state_tests), the
# f32 matmul kernel choice on AVX-512 Zen 4 (PR 5), the four-channel convolution kernel's masked
# tail (PR 15), and the convolution op (PRs 2, 3 and 14).
cargo test --locked --release "${target[@]}" -p tract-linalg --lib -- depthwise upper_state \
  leaves_upper_avx avx512_f32_mmm pointwise_f32_matmul conv_w4
cargo test --locked --release "${target[@]}" -p tract-core --lib depth_wise
# The pointwise convolution fused into the depthwise one (PR 17), with the AVX-512 strip kernel
# where the CPU has it and the AVX2 one (on other architectures the transform does nothing).
cargo test --locked --release "${target[@]}" -p tract-core --lib pw_dw
TRACT_CPU_ISA=-avx512f cargo test --locked --release "${target[@]}" -p tract-core --lib pw_dw
# The sparse constant matrix product (PR 6).
cargo test --locked --release "${target[@]}" -p tract-core --lib einsum::sparse
cargo test --locked --release "${target[@]}" -p tract-core --lib -- ops::array::concat::tests ops::array::pad::tests
# f16 arithmetic on 64-bit ARM with FEAT_FP16 (PR 16): the depthwise kernels and the op through
# them (skipped where the CPU has no FEAT_FP16; run under qemu -cpu cortex-a76).
fp16_cpu=(env); [ "$arch" != aarch64 ] || fp16_cpu=(env QEMU_CPU=cortex-a76)
"${fp16_cpu[@]}" cargo test --locked --release "${target[@]}" -p tract-linalg --lib -- arm64fp16::depthwise
"${fp16_cpu[@]}" cargo test --locked --release "${target[@]}" -p tract-core --lib -- depthwise_nchw_f16 \
  depthwise_nhwc_f16 depthwise_nhwc_multithreaded
# f16-exact weights kept as f16 (PR 10): the transform, and every packing of the x86-64 FMA
# f32 kernels (f32, f32 x f16, f16 x f32) against tract's reference product; on a CPU with
# AVX-512, those of the AVX-512 f32 kernels too (PR 11: f16 x f32).
cargo test --locked --release "${target[@]}" -p tract-core --lib einsum::f16_weights
# The matmul tile walk cut into sweeps of a few output columns, and packing in blocks of
# panels (PR 13): the walk, the rule, products run with each sweep against each other and
# the reference, and the packing against its reference.
cargo test --locked --release "${target[@]}" -p tract-linalg --lib -- blocked_walk_tests frame::pack::test
cargo test --locked --release "${target[@]}" -p tract-core --lib einsum::tile_order_tests
if [ "$arch" = native ] && [ "$(uname -m)" = x86_64 ]; then
  cargo test --locked --release -p tract-linalg --lib -- fma_mmm_f32_
  if grep -qw avx512f /proc/cpuinfo; then
    cargo test --locked --release -p tract-linalg --lib -- avx512_mmm_f32_
  fi
fi
