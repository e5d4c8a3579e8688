/// Depthwise convolution along an axis the output is contiguous on: `len` output points, each
/// the bias plus every `taps[t] * input[offsets[t] + i * in_stride]`.
///
/// Same contract as the aarch64 and wasm kernels. The arithmetic is the scalar walk's, in the
/// same order: the bias, then one multiply and one add per tap. It uses no FMA, so every output
/// is bit-identical to the scalar path and a plan gives the same results with or without this
/// kernel. `in_stride` 1 and 2 are vectorised at any tap count and any length (the run's last
/// partial vector with masked loads and stores); any other stride stays scalar. No lane reads
/// past `offsets[t] + (len - 1) * in_stride`, so a run ending on the tensor's last element is
/// safe.
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

/// Vectors (of eight points) per pass of the tap loop: the accumulators' add chains are
/// independent, so eight of them keep both adders busy where four left them waiting on latency.
const BLOCK: usize = 8;

/// `MASKS[8 - n..][..8]` loads as a mask of the first `n` lanes.
static MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// A run as passes over the taps of up to [`BLOCK`] vectors each: whole blocks, then one pass
/// over what is left (1 to 8 vectors, the last one partial and masked), so that a row of 56 or
/// a run of 14 points gets as many independent accumulators as the run has vectors rather than
/// one vector (or one point) at a time. `load(p, lanes, masked)` reads the eight inputs of
/// the vector whose first point's tap input is at `p`, with `masked` (the run's last vector)
/// touching only what its first `lanes` points need; `store(o, v, lanes)` writes its first
/// `lanes` points. `S` is the input stride.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn run<const S: usize>(
    input: *const f32,
    output: *mut f32,
    taps: &[f32],
    offsets: &[isize],
    bias: f32,
    len: usize,
    load: impl Fn(*const f32, usize, bool) -> std::arch::x86_64::__m256 + Copy,
    store: impl Fn(*mut f32, std::arch::x86_64::__m256, usize) + Copy,
) {
    unsafe {
        let mut i = 0usize;
        // A whole block only while its last vector's full loads stay within the run (the
        // stride-2 load reads one input past its last point's).
        while i + 8 * BLOCK < len || (S == 1 && i + 8 * BLOCK == len) {
            pass::<BLOCK, S>(input, output, taps, offsets, bias, i, None, load, store);
            i += 8 * BLOCK;
        }
        let left = len - i;
        if left == 0 {
            return;
        }
        let vectors = left.div_ceil(8);
        let last = Some(left - 8 * (vectors - 1));
        // One pass with as many accumulators as vectors are left.
        macro_rules! tail {
            ($($n:literal)*) => {
                match vectors {
                    $($n => pass::<$n, S>(input, output, taps, offsets, bias, i, last, load, store),)*
                    _ => unreachable!("at most {BLOCK} vectors are left"),
                }
            };
        }
        tail!(1 2 3 4 5 6 7 8);
    }
}

/// `N` vectors from point `i`, every tap: the bias, then one multiply and one add per tap, in
/// tap order. With `last`, the last vector is the run's last and holds that many points (1 to
/// 8), loaded with `masked` set.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn pass<const N: usize, const S: usize>(
    input: *const f32,
    output: *mut f32,
    taps: &[f32],
    offsets: &[isize],
    bias: f32,
    i: usize,
    last: Option<usize>,
    load: impl Fn(*const f32, usize, bool) -> std::arch::x86_64::__m256,
    store: impl Fn(*mut f32, std::arch::x86_64::__m256, usize),
) {
    use std::arch::x86_64::*;
    unsafe {
        let lanes = |v: usize| match last {
            Some(n) if v + 1 == N => (n, true),
            _ => (8, false),
        };
        let mut acc = [_mm256_set1_ps(bias); N];
        for (tap, offset) in taps.iter().zip(offsets) {
            let k = _mm256_set1_ps(*tap);
            let p = input.offset(*offset).add(S * i);
            for (v, a) in acc.iter_mut().enumerate() {
                let (lanes, masked) = lanes(v);
                *a = _mm256_add_ps(*a, _mm256_mul_ps(load(p.add(S * 8 * v), lanes, masked), k));
            }
        }
        for (v, a) in acc.iter().enumerate() {
            store(output.add(i + 8 * v), *a, lanes(v).0);
        }
    }
}

/// The first `n` lanes (0 to 8) as a load/store mask.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn mask(n: usize) -> std::arch::x86_64::__m256i {
    unsafe { std::arch::x86_64::_mm256_loadu_si256(MASKS.as_ptr().add(8 - n) as *const _) }
}

/// The `in_stride == 1` case, with the tap count taken at runtime. Real 3x3, 5x5, 7x7 or 9x9
/// kernels reach here with 9, 25, 49 or 81 taps.
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
    #[inline(always)]
    unsafe fn load(p: *const f32, lanes: usize) -> __m256 {
        unsafe { if lanes == 8 { _mm256_loadu_ps(p) } else { _mm256_maskload_ps(p, mask(lanes)) } }
    }
    #[inline(always)]
    unsafe fn store(o: *mut f32, v: __m256, lanes: usize) {
        unsafe {
            if lanes == 8 { _mm256_storeu_ps(o, v) } else { _mm256_maskstore_ps(o, mask(lanes), v) }
        }
    }
    unsafe {
        run::<1>(
            input,
            output,
            taps,
            offsets,
            bias,
            len,
            |p, l, _| load(p, l),
            |o, v, l| store(o, v, l),
        )
    }
}

/// The `in_stride == 2` case (stride-2 convolutions along their contiguous axis), any tap count.
///
/// Eight output points read sixteen consecutive inputs and keep the even ones. The even lanes
/// come out of one in-lane `shuffle_ps` of two loads, in the order points 0 1 4 5 | 2 3 6 7;
/// every tap's product lands in that same order, so the accumulators stay permuted through the
/// whole tap loop and are put back in order once, at the store (AVX only: no AVX2 lane
/// permute).
///
/// A full vector reads one input past its last point's; a partial one (the run's last) loads
/// masked, exactly the `2 * lanes - 1` inputs its points need, so nothing past the run's last
/// point `2 * (len - 1)` is read.
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
    unsafe fn evens(p: *const f32, lanes: usize, masked: bool) -> __m256 {
        unsafe {
            let (lo, hi) = if !masked {
                (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)))
            } else {
                let need = 2 * lanes - 1;
                (
                    _mm256_maskload_ps(p, mask(need.min(8))),
                    _mm256_maskload_ps(p.add(8), mask(need.saturating_sub(8))),
                )
            };
            _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi)
        }
    }
    /// Points 0 1 4 5 | 2 3 6 7 back to 0 1 2 3 | 4 5 6 7; the first `lanes` stored at `o`.
    #[inline(always)]
    unsafe fn store(o: *mut f32, acc: __m256, lanes: usize) {
        unsafe {
            let pairs = _mm256_castps_pd(acc);
            let swapped = _mm256_permute2f128_pd::<0x01>(pairs, pairs);
            let low = _mm256_unpacklo_pd(pairs, swapped);
            let high = _mm256_unpackhi_pd(pairs, swapped);
            let v = _mm256_castpd_ps(_mm256_permute2f128_pd::<0x20>(low, high));
            if lanes == 8 { _mm256_storeu_ps(o, v) } else { _mm256_maskstore_ps(o, mask(lanes), v) }
        }
    }
    unsafe {
        run::<2>(
            input,
            output,
            taps,
            offsets,
            bias,
            len,
            |p, l, m| evens(p, l, m),
            |o, v, l| store(o, v, l),
        )
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
        for (side, width) in [(3usize, 67usize), (5, 40), (3, 129), (3, 129 + 2), (5, 67), (3, 34)]
        {
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

    /// Every run ends exactly where a page the process may not read begins: a lane loaded past
    /// the run's last point (the stride-2 load's sixteenth input, an unmasked tail) faults.
    #[test]
    fn reads_nothing_past_the_run() {
        if !std::is_x86_feature_detected!("avx") {
            return;
        }
        let page = 4096usize;
        unsafe {
            let base = libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(base, libc::MAP_FAILED);
            assert_eq!(
                libc::mprotect((base as *mut u8).add(page).cast(), page, libc::PROT_NONE),
                0
            );
            let end = (base as *mut u8).add(page) as *mut f32;
            for v in 0..page / 4 {
                *(base as *mut f32).add(v) = (v as f32 * 0.37).cos();
            }
            let taps: Vec<f32> = (0..9).map(|t| (t as f32 * 0.7).sin()).collect();
            let offsets: Vec<isize> = (0..9).collect();
            for in_stride in [1isize, 2] {
                for len in 1..=150usize {
                    let needed = 8 + (len - 1) * in_stride as usize + 1;
                    let input = end.sub(needed);
                    let mut output = vec![0f32; len];
                    depthwise_w_f32(
                        input,
                        output.as_mut_ptr(),
                        &taps,
                        &offsets,
                        0.5,
                        len,
                        in_stride,
                    );
                    let slice = std::slice::from_raw_parts(input, needed);
                    let expected = reference(slice, &taps, &offsets, 0.5, len, in_stride, 0);
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&output), bits(&expected), "len {len} stride {in_stride}");
                }
            }
            libc::munmap(base, 2 * page);
        }
    }

    #[test]
    fn matches_scalar_bit_for_bit() {
        for taps in [1, 2, 3, 4, 5, 9, 25, 49, 81] {
            for len in [
                0, 1, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 40, 41, 48, 56, 63, 64, 65, 71, 72, 100,
                127, 128, 129, 130, 224,
            ] {
                compare(taps, len, 1);
                compare(taps, len, 2);
                compare(taps, len, 3);
            }
        }
    }
}
