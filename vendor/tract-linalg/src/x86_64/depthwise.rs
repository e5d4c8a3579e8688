/// Depthwise convolution along an axis the output is contiguous on: `len` output points, each
/// the bias plus every `taps[t] * input[offsets[t] + i * in_stride]`.
///
/// Same contract as the aarch64 and wasm kernels. The arithmetic is the scalar walk's, in the
/// same order: the bias, then one multiply and one add per tap. It uses no FMA, so every output
/// is bit-identical to the scalar path and a plan gives the same results with or without this
/// kernel. `in_stride` 1 and 2 are vectorised at any tap count; any other stride stays scalar.
/// The stride-2 loop stops early enough that no lane reads past
/// `offsets[t] + (len - 1) * in_stride`, so a run ending on the tensor's last element is safe.
///
/// # Safety
/// `input.offset(offsets[t] + i * in_stride)` must be readable for every tap and every `i` below
/// `len`, and `len` output points writable from `output`. The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
pub unsafe fn depthwise_w_f32(
    input: *const f32,
    output: *mut f32,
    taps: &[f32],
    offsets: &[isize],
    bias: f32,
    len: usize,
    in_stride: isize,
) {
    unsafe {
        match in_stride {
            1 => contiguous(input, output, taps, offsets, bias, len),
            2 => stride2(input, output, taps, offsets, bias, len),
            _ => scalar(input, output, taps, offsets, bias, 0, len, in_stride),
        }
    }
}

/// The `in_stride == 1` case, with the tap count taken at runtime.
///
/// Taps are the outer loop and 32 output points the inner one: four 8-lane accumulators give
/// the adder independent chains, and each tap's broadcast is paid once per 32 points. Real 3x3,
/// 7x7 or 9x9 kernels reach here with 9, 49 or 81 taps.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn contiguous(
    input: *const f32,
    output: *mut f32,
    taps: &[f32],
    offsets: &[isize],
    bias: f32,
    len: usize,
) {
    use std::arch::x86_64::*;
    unsafe {
        let biasv = _mm256_set1_ps(bias);
        let mut i = 0usize;
        while i + 32 <= len {
            let mut a0 = biasv;
            let mut a1 = biasv;
            let mut a2 = biasv;
            let mut a3 = biasv;
            for (tap, offset) in taps.iter().zip(offsets) {
                let k = _mm256_set1_ps(*tap);
                let p = input.offset(*offset).add(i);
                a0 = _mm256_add_ps(a0, _mm256_mul_ps(_mm256_loadu_ps(p), k));
                a1 = _mm256_add_ps(a1, _mm256_mul_ps(_mm256_loadu_ps(p.add(8)), k));
                a2 = _mm256_add_ps(a2, _mm256_mul_ps(_mm256_loadu_ps(p.add(16)), k));
                a3 = _mm256_add_ps(a3, _mm256_mul_ps(_mm256_loadu_ps(p.add(24)), k));
            }
            _mm256_storeu_ps(output.add(i), a0);
            _mm256_storeu_ps(output.add(i + 8), a1);
            _mm256_storeu_ps(output.add(i + 16), a2);
            _mm256_storeu_ps(output.add(i + 24), a3);
            i += 32;
        }
        while i + 8 <= len {
            let mut acc = biasv;
            for (tap, offset) in taps.iter().zip(offsets) {
                let x = _mm256_loadu_ps(input.offset(*offset).add(i));
                acc = _mm256_add_ps(acc, _mm256_mul_ps(x, _mm256_set1_ps(*tap)));
            }
            _mm256_storeu_ps(output.add(i), acc);
            i += 8;
        }
        scalar(input, output, taps, offsets, bias, i, len, 1);
    }
}

/// The `in_stride == 2` case (stride-2 convolutions along their contiguous axis), any tap count.
///
/// Eight output points read sixteen consecutive inputs and keep the even ones. The even lanes
/// come out of one in-lane `shuffle_ps` of two plain loads, in the order points 0 1 4 5 | 2 3 6 7;
/// every tap's product lands in that same order, so the accumulators stay permuted through the
/// whole tap loop and are put back in order once, at the store (AVX only: no AVX2 lane
/// permute). Four accumulators, 32 points, per tap pass, as in [`contiguous`].
///
/// A block of eight points starting at `i` reads up to input `2 * i + 15` past the tap's offset,
/// one past the last even input it needs: the vector loops run while that stays below the run's
/// last point `2 * (len - 1)`, the scalar loop takes the rest.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn stride2(
    input: *const f32,
    output: *mut f32,
    taps: &[f32],
    offsets: &[isize],
    bias: f32,
    len: usize,
) {
    use std::arch::x86_64::*;
    /// Inputs 0 2 8 10 | 4 6 12 14 from `p`: output points 0 1 4 5 | 2 3 6 7.
    #[inline(always)]
    unsafe fn evens(p: *const f32) -> __m256 {
        unsafe { _mm256_shuffle_ps::<0b10_00_10_00>(_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))) }
    }
    /// Points 0 1 4 5 | 2 3 6 7 back to 0 1 2 3 | 4 5 6 7, stored at `o`.
    #[inline(always)]
    unsafe fn store(o: *mut f32, acc: __m256) {
        unsafe {
            let pairs = _mm256_castps_pd(acc);
            let swapped = _mm256_permute2f128_pd::<0x01>(pairs, pairs);
            let low = _mm256_unpacklo_pd(pairs, swapped);
            let high = _mm256_unpackhi_pd(pairs, swapped);
            _mm256_storeu_ps(o, _mm256_castpd_ps(_mm256_permute2f128_pd::<0x20>(low, high)));
        }
    }
    unsafe {
        let biasv = _mm256_set1_ps(bias);
        let mut i = 0usize;
        while i + 32 < len {
            let mut a0 = biasv;
            let mut a1 = biasv;
            let mut a2 = biasv;
            let mut a3 = biasv;
            for (tap, offset) in taps.iter().zip(offsets) {
                let k = _mm256_set1_ps(*tap);
                let p = input.offset(*offset).add(2 * i);
                a0 = _mm256_add_ps(a0, _mm256_mul_ps(evens(p), k));
                a1 = _mm256_add_ps(a1, _mm256_mul_ps(evens(p.add(16)), k));
                a2 = _mm256_add_ps(a2, _mm256_mul_ps(evens(p.add(32)), k));
                a3 = _mm256_add_ps(a3, _mm256_mul_ps(evens(p.add(48)), k));
            }
            store(output.add(i), a0);
            store(output.add(i + 8), a1);
            store(output.add(i + 16), a2);
            store(output.add(i + 24), a3);
            i += 32;
        }
        while i + 8 < len {
            let mut acc = biasv;
            for (tap, offset) in taps.iter().zip(offsets) {
                let x = evens(input.offset(*offset).add(2 * i));
                acc = _mm256_add_ps(acc, _mm256_mul_ps(x, _mm256_set1_ps(*tap)));
            }
            store(output.add(i), acc);
            i += 8;
        }
        scalar(input, output, taps, offsets, bias, i, len, 2);
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
unsafe fn scalar(
    input: *const f32,
    output: *mut f32,
    taps: &[f32],
    offsets: &[isize],
    bias: f32,
    from: usize,
    len: usize,
    in_stride: isize,
) {
    unsafe {
        for i in from..len {
            let mut sum = bias;
            for (tap, offset) in taps.iter().zip(offsets) {
                sum += tap * *input.offset(*offset + i as isize * in_stride);
            }
            *output.add(i) = sum;
        }
    }
}

bail_stub!(x86_64; pub unsafe fn depthwise_w_f32(
    *const f32, *mut f32, &[f32], &[isize], f32, usize, isize
));

submit_routine!(x86_64; DepthwiseWF32, DepthwiseW, "x86_64_avx_depthwise_w_f32", depthwise_w_f32,
    isa(X86_64Avx));

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;

    fn reference(
        input: &[f32],
        taps: &[f32],
        offsets: &[isize],
        bias: f32,
        len: usize,
        in_stride: isize,
        center: usize,
    ) -> Vec<f32> {
        (0..len)
            .map(|i| {
                taps.iter().zip(offsets).fold(bias, |sum, (tap, offset)| {
                    sum + tap * input[(center as isize + offset + i as isize * in_stride) as usize]
                })
            })
            .collect()
    }

    fn compare(taps: usize, len: usize, in_stride: isize) {
        if !std::is_x86_feature_detected!("avx") {
            return;
        }
        let k: Vec<f32> = (0..taps).map(|t| (t as f32 * 0.7).sin()).collect();
        let offsets: Vec<isize> = (0..taps as isize).map(|t| t - taps as isize / 2).collect();
        let center = taps;
        // Exactly as long as the last tap of the last point needs: a read past the run's end
        // would be out of the allocation (and caught by a sanitiser or valgrind).
        let last_offset = offsets.iter().copied().max().unwrap_or(0);
        let needed = if len == 0 {
            center
        } else {
            (center as isize + last_offset + (len as isize - 1) * in_stride) as usize + 1
        };
        let input: Vec<f32> = (0..needed.max(center)).map(|i| (i as f32 * 0.37).cos()).collect();
        let expected = reference(&input, &k, &offsets, 0.25, len, in_stride, center);
        let mut output = vec![0f32; len];
        unsafe {
            depthwise_w_f32(
                input.as_ptr().add(center),
                output.as_mut_ptr(),
                &k,
                &offsets,
                0.25,
                len,
                in_stride,
            )
        };
        // Same operations in the same order: the results must match bit for bit.
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&output), bits(&expected), "taps {taps} len {len} stride {in_stride}");
    }

    /// A 3x3 or 5x5 stride-2 kernel over a row-major plane `width` wide: the taps' offsets
    /// jump by whole rows, as the convolution hands them over.
    #[test]
    fn stride_two_plane_taps_match_scalar_bit_for_bit() {
        if !std::is_x86_feature_detected!("avx") {
            return;
        }
        for (side, width) in [(3usize, 67usize), (5, 40), (3, 129)] {
            let r = side as isize / 2;
            let offsets: Vec<isize> =
                (-r..=r).flat_map(|dy| (-r..=r).map(move |dx| dy * width as isize + dx)).collect();
            let k: Vec<f32> = (0..offsets.len()).map(|t| (t as f32 * 1.3).cos()).collect();
            let len = (width - side) / 2 + 1;
            let center = (r as usize) * width + r as usize;
            let input: Vec<f32> =
                (0..side * width).map(|i| ((i * 7919) % 1000) as f32 / 999.0 - 0.5).collect();
            let expected = reference(&input, &k, &offsets, -0.5, len, 2, center);
            let mut output = vec![0f32; len];
            unsafe {
                depthwise_w_f32(
                    input.as_ptr().add(center),
                    output.as_mut_ptr(),
                    &k,
                    &offsets,
                    -0.5,
                    len,
                    2,
                )
            };
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&output), bits(&expected), "{side}x{side} over width {width}");
        }
    }

    #[test]
    fn matches_scalar_bit_for_bit() {
        for taps in [1, 2, 3, 4, 5, 9, 25, 49, 81] {
            for len in [0, 1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 41, 64, 65, 100, 224] {
                compare(taps, len, 1);
                compare(taps, len, 2);
                compare(taps, len, 3);
            }
        }
    }
}
