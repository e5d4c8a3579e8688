//! Channel-inner depthwise convolution in f16 arithmetic (FEAT_FP16): the f16 twin of
//! `arm64simd::depthwise::depthwise_c_f32`, eight channels to a vector instead of four.

use tract_data::internal::f16;

/// Depthwise convolution with the channel innermost on input, kernel and output, in f16: for
/// each of `len` output positions `i` and each channel `c`,
/// `output[i * out_stride + c] = bias[c] + sum over taps t of
/// kernel[tap_indices[t] * k_stride + c] * input[i * in_stride + offsets[t] + c]`,
/// each product added with one rounding (FMLA), taps in order.
///
/// # Safety
/// As `routines::DepthwiseCF32`, with f16 values; the CPU must implement FEAT_FP16
/// (`arm64::has_fp16`).
#[allow(clippy::too_many_arguments)]
pub unsafe fn depthwise_c_f16(
    input: *const f16,
    output: *mut f16,
    kernel: *const f16,
    tap_indices: &[usize],
    offsets: &[isize],
    bias: *const f16,
    channels: usize,
    k_stride: usize,
    len: usize,
    in_stride: isize,
    out_stride: isize,
) {
    unsafe {
        run(
            input as *const u16,
            output as *mut u16,
            kernel as *const u16,
            tap_indices,
            offsets,
            bias as *const u16,
            channels,
            k_stride,
            len,
            in_stride,
            out_stride,
        )
    }
}

#[target_feature(enable = "fp16")]
#[allow(clippy::too_many_arguments)]
unsafe fn run(
    input: *const u16,
    output: *mut u16,
    kernel: *const u16,
    tap_indices: &[usize],
    offsets: &[isize],
    bias: *const u16,
    channels: usize,
    k_stride: usize,
    len: usize,
    in_stride: isize,
    out_stride: isize,
) {
    unsafe {
        use std::arch::aarch64::*;
        use std::arch::asm;
        for i in 0..len {
            let iptr = input.offset(i as isize * in_stride);
            let optr = output.offset(i as isize * out_stride);
            let mut c = 0usize;
            // Four accumulators: four independent FMLA chains per tap.
            while c + 32 <= channels {
                let mut a0 = vld1q_u16(bias.add(c));
                let mut a1 = vld1q_u16(bias.add(c + 8));
                let mut a2 = vld1q_u16(bias.add(c + 16));
                let mut a3 = vld1q_u16(bias.add(c + 24));
                for (&kix, &off) in tap_indices.iter().zip(offsets) {
                    let kt = kernel.add(kix * k_stride + c);
                    let xt = iptr.offset(off).add(c);
                    asm!(
                        "fmla {a0:v}.8h, {x0:v}.8h, {k0:v}.8h",
                        "fmla {a1:v}.8h, {x1:v}.8h, {k1:v}.8h",
                        "fmla {a2:v}.8h, {x2:v}.8h, {k2:v}.8h",
                        "fmla {a3:v}.8h, {x3:v}.8h, {k3:v}.8h",
                        a0 = inout(vreg) a0,
                        a1 = inout(vreg) a1,
                        a2 = inout(vreg) a2,
                        a3 = inout(vreg) a3,
                        x0 = in(vreg) vld1q_u16(xt),
                        x1 = in(vreg) vld1q_u16(xt.add(8)),
                        x2 = in(vreg) vld1q_u16(xt.add(16)),
                        x3 = in(vreg) vld1q_u16(xt.add(24)),
                        k0 = in(vreg) vld1q_u16(kt),
                        k1 = in(vreg) vld1q_u16(kt.add(8)),
                        k2 = in(vreg) vld1q_u16(kt.add(16)),
                        k3 = in(vreg) vld1q_u16(kt.add(24)),
                        options(pure, nomem, nostack, preserves_flags),
                    );
                }
                vst1q_u16(optr.add(c), a0);
                vst1q_u16(optr.add(c + 8), a1);
                vst1q_u16(optr.add(c + 16), a2);
                vst1q_u16(optr.add(c + 24), a3);
                c += 32;
            }
            while c + 8 <= channels {
                let mut a = vld1q_u16(bias.add(c));
                for (&kix, &off) in tap_indices.iter().zip(offsets) {
                    asm!(
                        "fmla {a:v}.8h, {x:v}.8h, {k:v}.8h",
                        a = inout(vreg) a,
                        x = in(vreg) vld1q_u16(iptr.offset(off).add(c)),
                        k = in(vreg) vld1q_u16(kernel.add(kix * k_stride + c)),
                        options(pure, nomem, nostack, preserves_flags),
                    );
                }
                vst1q_u16(optr.add(c), a);
                c += 8;
            }
            if c < channels {
                // The last channels, through a vector's worth of scratch (no read or write
                // past `channels`).
                let rest = channels - c;
                let lanes = |p: *const u16| {
                    let mut v = [0u16; 8];
                    std::ptr::copy_nonoverlapping(p, v.as_mut_ptr(), rest);
                    vld1q_u16(v.as_ptr())
                };
                let mut a = lanes(bias.add(c));
                for (&kix, &off) in tap_indices.iter().zip(offsets) {
                    asm!(
                        "fmla {a:v}.8h, {x:v}.8h, {k:v}.8h",
                        a = inout(vreg) a,
                        x = in(vreg) lanes(iptr.offset(off).add(c)),
                        k = in(vreg) lanes(kernel.add(kix * k_stride + c)),
                        options(pure, nomem, nostack, preserves_flags),
                    );
                }
                let mut v = [0u16; 8];
                vst1q_u16(v.as_mut_ptr(), a);
                std::ptr::copy_nonoverlapping(v.as_ptr(), optr.add(c), rest);
            }
        }
    }
}

/// Depthwise convolution along an axis the output is contiguous on, in f16: `len` output
/// points, each the bias plus every `taps[t] * input[offsets[t] + i * in_stride]`, taps in order,
/// one rounding per tap (FMLA). The f16 twin of `arm64simd::depthwise::depthwise_w_f32`:
/// `in_stride` 1 (plain loads) and 2 (de-interleaved by `vld2q`) are vectorised eight points at
/// a time, any other stride and the last points run one at a time. No lane reads past
/// `offsets[t] + (len - 1) * in_stride`.
///
/// # Safety
/// As `routines::DepthwiseWF32`, with f16 values; the CPU must implement FEAT_FP16.
pub unsafe fn depthwise_w_f16(
    input: *const f16,
    output: *mut f16,
    taps: &[f16],
    offsets: &[isize],
    bias: f16,
    len: usize,
    in_stride: isize,
) {
    unsafe {
        run_w(
            input as *const u16,
            output as *mut u16,
            std::slice::from_raw_parts(taps.as_ptr() as *const u16, taps.len()),
            offsets,
            bias.to_bits(),
            len,
            in_stride,
        )
    }
}

#[target_feature(enable = "fp16")]
unsafe fn run_w(
    input: *const u16,
    output: *mut u16,
    taps: &[u16],
    offsets: &[isize],
    bias: u16,
    len: usize,
    in_stride: isize,
) {
    unsafe {
        use std::arch::aarch64::*;
        use std::arch::asm;
        let biasv = vdupq_n_u16(bias);
        let mut i = 0usize;
        if in_stride == 1 {
            while i + 32 <= len {
                let (mut a0, mut a1, mut a2, mut a3) = (biasv, biasv, biasv, biasv);
                for (&tap, &off) in taps.iter().zip(offsets) {
                    let p = input.offset(off).add(i);
                    asm!(
                        "fmla {a0:v}.8h, {x0:v}.8h, {k:v}.h[0]",
                        "fmla {a1:v}.8h, {x1:v}.8h, {k:v}.h[0]",
                        "fmla {a2:v}.8h, {x2:v}.8h, {k:v}.h[0]",
                        "fmla {a3:v}.8h, {x3:v}.8h, {k:v}.h[0]",
                        a0 = inout(vreg) a0,
                        a1 = inout(vreg) a1,
                        a2 = inout(vreg) a2,
                        a3 = inout(vreg) a3,
                        x0 = in(vreg) vld1q_u16(p),
                        x1 = in(vreg) vld1q_u16(p.add(8)),
                        x2 = in(vreg) vld1q_u16(p.add(16)),
                        x3 = in(vreg) vld1q_u16(p.add(24)),
                        k = in(vreg_low16) vdupq_n_u16(tap),
                        options(pure, nomem, nostack, preserves_flags),
                    );
                }
                vst1q_u16(output.add(i), a0);
                vst1q_u16(output.add(i + 8), a1);
                vst1q_u16(output.add(i + 16), a2);
                vst1q_u16(output.add(i + 24), a3);
                i += 32;
            }
            while i + 8 <= len {
                let mut a = biasv;
                for (&tap, &off) in taps.iter().zip(offsets) {
                    asm!(
                        "fmla {a:v}.8h, {x:v}.8h, {k:v}.h[0]",
                        a = inout(vreg) a,
                        x = in(vreg) vld1q_u16(input.offset(off).add(i)),
                        k = in(vreg_low16) vdupq_n_u16(tap),
                        options(pure, nomem, nostack, preserves_flags),
                    );
                }
                vst1q_u16(output.add(i), a);
                i += 8;
            }
        } else if in_stride == 2 {
            // Eight points from `i` de-interleave sixteen inputs, up to `2 * i + 15`: one past
            // the last they use, so the loops stop while that is within `2 * (len - 1)`.
            while i + 17 <= len {
                let (mut a0, mut a1) = (biasv, biasv);
                for (&tap, &off) in taps.iter().zip(offsets) {
                    let p = input.offset(off).add(2 * i);
                    asm!(
                        "fmla {a0:v}.8h, {x0:v}.8h, {k:v}.h[0]",
                        "fmla {a1:v}.8h, {x1:v}.8h, {k:v}.h[0]",
                        a0 = inout(vreg) a0,
                        a1 = inout(vreg) a1,
                        x0 = in(vreg) vld2q_u16(p).0,
                        x1 = in(vreg) vld2q_u16(p.add(16)).0,
                        k = in(vreg_low16) vdupq_n_u16(tap),
                        options(pure, nomem, nostack, preserves_flags),
                    );
                }
                vst1q_u16(output.add(i), a0);
                vst1q_u16(output.add(i + 8), a1);
                i += 16;
            }
            while i + 9 <= len {
                let mut a = biasv;
                for (&tap, &off) in taps.iter().zip(offsets) {
                    asm!(
                        "fmla {a:v}.8h, {x:v}.8h, {k:v}.h[0]",
                        a = inout(vreg) a,
                        x = in(vreg) vld2q_u16(input.offset(off).add(2 * i)).0,
                        k = in(vreg_low16) vdupq_n_u16(tap),
                        options(pure, nomem, nostack, preserves_flags),
                    );
                }
                vst1q_u16(output.add(i), a);
                i += 8;
            }
        }
        while i < len {
            let mut a = bias;
            for (&tap, &off) in taps.iter().zip(offsets) {
                let x = *input.offset(off + i as isize * in_stride);
                asm!(
                    "fmadd {a:h}, {x:h}, {k:h}, {a:h}",
                    a = inout(vreg) a,
                    x = in(vreg) x,
                    k = in(vreg) tap,
                    options(pure, nomem, nostack, preserves_flags),
                );
            }
            *output.add(i) = a;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the same sums in f64 from the same f16 values: within what f16 accumulation can
    /// lose (a few units in the last place of the largest partial sum).
    fn compare(channels: usize, taps: usize, len: usize, in_stride: isize, out_stride: isize) {
        let h = |x: f32| f16::from_f32(x);
        let k_stride = channels + 3;
        let kernel: Vec<f16> =
            (0..taps * k_stride).map(|j| h(((j as f32) * 0.37).sin() * 0.5)).collect();
        let bias: Vec<f16> = (0..channels).map(|c| h((c as f32 * 0.23).cos() * 0.25)).collect();
        let offsets: Vec<isize> = (0..taps as isize).map(|t| t * channels as isize).collect();
        let tap_indices: Vec<usize> = (0..taps).rev().collect();
        let in_len = (len - 1) * in_stride as usize + taps * channels;
        let input: Vec<f16> = (0..in_len).map(|j| h(((j as f32) * 0.11).cos() * 2.0)).collect();
        let out_len = (len - 1) * out_stride as usize + channels;
        let sentinel = h(1234.0);
        let mut got = vec![sentinel; out_len + 8];
        unsafe {
            depthwise_c_f16(
                input.as_ptr(),
                got.as_mut_ptr(),
                kernel.as_ptr(),
                &tap_indices,
                &offsets,
                bias.as_ptr(),
                channels,
                k_stride,
                len,
                in_stride,
                out_stride,
            )
        };
        for i in 0..len {
            for c in 0..channels {
                let mut want = bias[c].to_f64();
                let mut scale = want.abs();
                for (t, &kix) in tap_indices.iter().enumerate() {
                    let p = kernel[kix * k_stride + c].to_f64()
                        * input[i * in_stride as usize + offsets[t] as usize + c].to_f64();
                    want += p;
                    scale = scale.max(want.abs()).max(p.abs());
                }
                let g = got[i * out_stride as usize + c].to_f64();
                assert!(
                    (g - want).abs() <= scale * taps as f64 * 2e-3 + 1e-4,
                    "channels={channels} taps={taps} i={i} c={c}: got {g}, want {want}"
                );
            }
        }
        // Nothing written past the last channel of the last position, nor between positions.
        assert!(got[out_len..].iter().all(|&v| v == sentinel));
        if out_stride as usize > channels {
            for i in 0..len - 1 {
                for v in &got[i * out_stride as usize + channels..(i + 1) * out_stride as usize] {
                    assert_eq!(*v, sentinel);
                }
            }
        }
    }

    fn compare_w(taps: usize, len: usize, in_stride: isize) {
        let h = |x: f32| f16::from_f32(x);
        let k: Vec<f16> = (0..taps).map(|t| h((t as f32 * 0.7).sin() * 0.5)).collect();
        let offsets: Vec<isize> = (0..taps as isize).map(|t| t - taps as isize / 2).collect();
        let center = taps;
        let input: Vec<f16> = (0..center + (len - 1) * in_stride as usize + center)
            .map(|i| h((i as f32 * 0.11).cos() * 2.0))
            .collect();
        let sentinel = h(1234.0);
        let mut got = vec![sentinel; len + 8];
        unsafe {
            depthwise_w_f16(
                input.as_ptr().add(center),
                got.as_mut_ptr(),
                &k,
                &offsets,
                h(0.25),
                len,
                in_stride,
            )
        };
        for i in 0..len {
            let (mut want, mut scale) = (0.25f64, 0.25f64);
            for (t, off) in offsets.iter().enumerate() {
                let p = k[t].to_f64()
                    * input[(center as isize + off + i as isize * in_stride) as usize].to_f64();
                want += p;
                scale = scale.max(want.abs()).max(p.abs());
            }
            let g = got[i].to_f64();
            assert!(
                (g - want).abs() <= scale * taps as f64 * 2e-3 + 1e-4,
                "taps={taps} len={len} stride={in_stride} at {i}: got {g}, want {want}"
            );
        }
        assert!(got[len..].iter().all(|&v| v == sentinel));
    }

    #[test]
    fn depthwise_w_f16_matches_the_sum() {
        if !crate::arm64::has_fp16() {
            eprintln!("skipped: this CPU has no FEAT_FP16");
            return;
        }
        for taps in [1, 2, 3, 5, 9, 25] {
            for len in [1, 7, 8, 9, 16, 17, 31, 32, 33, 40, 64, 100] {
                for stride in [1, 2, 3] {
                    compare_w(taps, len, stride);
                }
            }
        }
    }

    #[test]
    fn depthwise_c_f16_matches_the_sum() {
        if !crate::arm64::has_fp16() {
            eprintln!("skipped: this CPU has no FEAT_FP16");
            return;
        }
        for channels in [1, 7, 8, 9, 24, 31, 32, 33, 48, 72, 96, 100] {
            for taps in [1, 3, 9, 25] {
                compare(channels, taps, 5, channels as isize, channels as isize);
                compare(channels, taps, 4, 2 * channels as isize, channels as isize + 5);
            }
        }
    }
}
