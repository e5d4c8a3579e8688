pub mod mmm;

mod amd_avx512_linear;
mod amd_fma_linear;
mod intel_avx512_linear;
mod intel_avx512_mmv_linear;
mod intel_fma_linear;

/// CPU vendor, the axis (with the AVX-512-vs-FMA tier, read from the instruction set)
/// that selects a per-target `LinearCostModel`. `TRACT_X86_KIND=intel|amd|other`
/// overrides the CPUID probe (for forcing a cohort under emulation or in CI).
#[derive(PartialEq, Clone, Copy)]
pub(crate) enum Vendor {
    Intel,
    Amd,
    Other,
}

pub(crate) fn vendor() -> Vendor {
    if let Ok(k) = std::env::var("TRACT_X86_KIND") {
        return match k.as_str() {
            "intel" => Vendor::Intel,
            "amd" => Vendor::Amd,
            _ => Vendor::Other,
        };
    }
    cpuid_vendor()
}

#[cfg(target_arch = "x86_64")]
fn cpuid_vendor() -> Vendor {
    // `unsafe` is required on the MSRV (1.91); newer rustc deems it redundant.
    #[allow(unused_unsafe)]
    let id = unsafe { std::arch::x86_64::__cpuid(0) };
    let mut s = [0u8; 12];
    s[0..4].copy_from_slice(&id.ebx.to_le_bytes());
    s[4..8].copy_from_slice(&id.edx.to_le_bytes());
    s[8..12].copy_from_slice(&id.ecx.to_le_bytes());
    match &s {
        b"GenuineIntel" => Vendor::Intel,
        b"AuthenticAMD" => Vendor::Amd,
        _ => Vendor::Other,
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn cpuid_vendor() -> Vendor {
    Vendor::Other
}

/// The CPU family (CPUID leaf 1: base family, plus the extended family when the base is 0xF),
/// e.g. 0x19 for AMD Zen 3/Zen 4 and 0x1A for Zen 5. `TRACT_X86_FAMILY` (decimal or 0x-hex)
/// overrides the probe, as `TRACT_X86_KIND` does the vendor's.
pub(crate) fn family() -> u32 {
    if let Some(f) = std::env::var("TRACT_X86_FAMILY").ok().and_then(|v| {
        let v = v.trim();
        match v.strip_prefix("0x") {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => v.parse().ok(),
        }
    }) {
        return f;
    }
    cpuid_family()
}

#[cfg(target_arch = "x86_64")]
fn cpuid_family() -> u32 {
    // `unsafe` is required on the MSRV (1.91); newer rustc deems it redundant.
    #[allow(unused_unsafe)]
    let eax = unsafe { std::arch::x86_64::__cpuid(1) }.eax;
    let base = (eax >> 8) & 0xF;
    if base == 0xF { base + ((eax >> 20) & 0xFF) } else { base }
}

#[cfg(not(target_arch = "x86_64"))]
fn cpuid_family() -> u32 {
    0
}

pub mod act;
pub mod act_f16;
pub mod act_f16_fp16;

// CPUID probes, tile permission syscalls and uarch burst measurements: host machinery
// with no kernel to enumerate, and only ever consulted by `isa_set`.
#[cfg(target_arch = "x86_64")]
pub mod amx;
#[cfg(target_arch = "x86_64")]
pub mod amx_bf16;
#[cfg(target_arch = "x86_64")]
pub mod avxvnni;
pub mod by_scalar;
pub mod conv_w4;
pub mod depthwise;
pub mod erf;
pub mod exp;
#[cfg(tract_avx512vnni)]
pub mod fma_width;
#[cfg(test)]
pub(crate) mod guarded;
pub mod ln;
pub mod max;
pub mod min;
pub mod panel_extract;
pub mod rms_norm;
pub mod softmax;

/// A CPUID feature probe, answering false in a build that does not target x86_64: the
/// kernels it gates are bail stubs there, so nothing may select them.
macro_rules! cpu_feature {
    ($id:ident = $feature:tt) => {
        #[cfg(target_arch = "x86_64")]
        const $id: fn() -> bool = || is_x86_feature_detected!($feature);
        #[cfg(not(target_arch = "x86_64"))]
        const $id: fn() -> bool = || false;
    };
}

cpu_feature!(AVX = "avx");
cpu_feature!(AVX2 = "avx2");
cpu_feature!(FMA = "fma");
cpu_feature!(AVX512F = "avx512f");
cpu_feature!(AVX512FP16 = "avx512fp16");
cpu_feature!(F16C = "f16c");

#[cfg(tract_avx512vnni)]
cpu_feature!(AVX512VNNI = "avx512vnni");

routine_ew_extern!(x86_64; Tanh, f32, fma_tanh_f32, 8, 8, isa(X86_64Avx2, X86_64Fma));
routine_ew_extern!(x86_64; Sigmoid, f32, fma_sigmoid_f32, 8, 8, isa(X86_64Avx2, X86_64Fma));
routine_ew_extern!(x86_64; Silu, f32, fma_silu_f32, 8, 8, isa(X86_64Avx2, X86_64Fma));

// AVX-without-FMA ports of the fma kernels above (each vfmadd132ps expanded
// to an in-place vmulps+vaddps pair) for CPUs outside the fma tier.
routine_ew_extern!(x86_64; Tanh, f32, avx_tanh_f32, 8, 8, isa(X86_64Avx));
routine_ew_extern!(x86_64; Sigmoid, f32, avx_sigmoid_f32, 8, 8, isa(X86_64Avx));

// AVX-512 (zmm, 16-wide) variants. The assembly lives in x86_64/avx512/; the
// main loop handles 64 lanes (4 zmm) per iteration with a 16-lane tail, so
// nr()=16 (any multiple of 16 is safe).
routine_ew_extern!(x86_64; Tanh, f32, avx512_tanh_f32, 16, 16, isa(X86_64Avx512f));
routine_ew_extern!(x86_64; Sigmoid, f32, avx512_sigmoid_f32, 16, 16, isa(X86_64Avx512f));
routine_ew_extern!(x86_64; Silu, f32, avx512_silu_f32, 16, 16, isa(X86_64Avx512f));

// Correct, and slower than the f32 round-trip above on every AVX-512_FP16 part measured, so it
// is declared to keep its tests running and never preferred. A part where fp16 mul and max
// saturate their ports would want the boost dropped.
/// What CPUID says this core has, in the shared vocabulary.
pub fn isa_set() -> crate::isa::IsaSet {
    use crate::isa::{Isa, IsaSet};
    let mut set = IsaSet::of_arch(crate::isa::Arch::X86_64);
    for (isa, probe) in [
        (Isa::X86_64Avx, AVX),
        (Isa::X86_64Avx2, AVX2),
        (Isa::X86_64Fma, FMA),
        (Isa::X86_64F16c, F16C),
        (Isa::X86_64Avx512f, AVX512F),
        (Isa::X86_64Avx512Fp16, AVX512FP16),
    ] {
        if probe() {
            set = set.with(isa);
        }
    }
    #[cfg(tract_avx512vnni)]
    if AVX512VNNI() {
        set = set.with(Isa::X86_64Avx512Vnni);
    }
    #[cfg(tract_avxvnni)]
    if avxvnni::has_avxvnni() {
        set = set.with(Isa::X86_64AvxVnni);
    }
    #[cfg(tract_amx_int8)]
    if amx::has_amx_int8() {
        set = set.with(Isa::X86_64AmxInt8);
    }
    #[cfg(tract_amx_bf16)]
    if amx_bf16::has_amx_bf16() {
        set = set.with(Isa::X86_64AmxBf16);
    }
    set
}

/// Whether the upper halves of the vector registers are in use on this thread (XINUSE bit 2,
/// read by `XGETBV` with ECX = 1), `None` where the CPU cannot say. Code that returns with them
/// in use makes every SSE instruction the thread runs afterwards pay the AVX-SSE transition
/// penalty until something runs `vzeroupper`: the kernels' tests check they leave it clear.
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) fn avx_upper_state_in_use() -> Option<bool> {
    use std::arch::x86_64::{__cpuid_count, _xgetbv};
    #[target_feature(enable = "xsave")]
    unsafe fn xinuse() -> u64 {
        unsafe { _xgetbv(1) }
    }
    if !std::is_x86_feature_detected!("xsave") {
        return None;
    }
    // CPUID.(EAX=0DH, ECX=1):EAX[2]: XGETBV with ECX = 1 is supported.
    if unsafe { __cpuid_count(0xd, 1) }.eax & 0b100 == 0 {
        return None;
    }
    Some(unsafe { xinuse() } & 0b100 != 0)
}

/// The element-wise kernels written as inline asm leave the AVX upper state clear (LLVM puts
/// no `vzeroupper` after inline asm; each runs `_mm256_zeroupper` itself).
#[cfg(all(test, target_arch = "x86_64"))]
mod upper_state_tests {
    use super::avx_upper_state_in_use;

    /// Runs `f` on a 64-aligned buffer of 128 values and checks the state after it returns.
    fn check(name: &str, f: impl FnOnce(&mut [f32])) {
        if avx_upper_state_in_use().is_none() {
            return;
        }
        let mut storage = vec![0f32; 128 + 16];
        let skip = storage.as_ptr().align_offset(64);
        let buf = &mut storage[skip..][..128];
        buf.iter_mut().enumerate().for_each(|(i, x)| *x = i as f32 * 0.25 - 8.0);
        f(buf);
        assert_eq!(avx_upper_state_in_use(), Some(false), "{name} left the AVX upper state in use");
    }

    #[test]
    fn inline_asm_kernels_leave_the_upper_state_clear() {
        if std::is_x86_feature_detected!("avx") {
            check("mul_by_scalar", |b| unsafe {
                super::by_scalar::x86_64_avx_f32_mul_by_scalar_32n_run(b, 1.5)
            });
            check("min", |b| {
                let _ = unsafe { super::min::x86_64_fma_min_f32_32n_run(b) };
            });
        }
        if std::is_x86_feature_detected!("avx") && std::is_x86_feature_detected!("fma") {
            check("erf (fma)", |b| unsafe { super::erf::x86_64_fma_erf_f32_32n_run(b) });
        }
        if std::is_x86_feature_detected!("avx512f") {
            check("erf (avx512)", |b| unsafe { super::erf::x86_64_avx512_erf_f32_64n_run(b) });
            check("hardswish", |b| unsafe { super::act::x86_64_avx512_hardswish_f32_64n_run(b) });
            check("leaky_relu", |b| unsafe {
                super::act::x86_64_avx512_leaky_relu_f32_64n_run(b, 0.1)
            });
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("f16c") {
            check("panel f16 -> f32", |b| {
                let input = vec![0x3c00u16; 32 * 2];
                unsafe {
                    super::panel_extract::kernel_packed_32_f16_to_f32(
                        input.as_ptr() as *const u8,
                        b.as_mut_ptr() as *mut u8,
                        2,
                    )
                }
            });
        }
    }
}
