#[cfg(target_arch = "x86_64")]
use crate::routines::DepthwisePlane;

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
pub(crate) unsafe fn mask(n: usize) -> std::arch::x86_64::__m256i {
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

/// Vectors (of sixteen points) per pass of [`plane_avx512`]: with two FMA ports of four cycles'
/// latency, eight independent accumulators keep both busy.
const PLANE_BLOCK: usize = 8;

/// [`DepthwisePlane`] on AVX-512F. The plane's vectors of sixteen points (a row's last one
/// partial, masked) are taken row after row in passes of up to [`PLANE_BLOCK`] over the taps;
/// a pass crosses rows where rows are short, so a 64-point row pairs with the next one, a
/// 32-point row goes four at a time and a whole 8x8 plane in one pass, where the row kernel
/// ([`depthwise_w_f32`]) has only a row's vectors to interleave. Each point is the bias, then
/// one fused multiply-add per tap, in tap order (one rounding per tap); the bounds, then the
/// store, at the end of the pass. At stride 2 a vector reads its 31 inputs with two masked loads
/// and keeps the even ones with one `vpermt2ps`. Masked loads read nothing past a vector's last
/// point's input.
///
/// # Safety
/// As [`crate::routines::DepthwisePlaneF32`]; the CPU must support AVX-512F and `in_stride` be 1
/// or 2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub unsafe fn plane_avx512(p: &DepthwisePlane) {
    assert!(p.in_stride == 1 || p.in_stride == 2, "depthwise plane stride {}", p.in_stride);
    let per_row = p.width.div_ceil(16);
    let vectors = p.rows * per_row;
    // Whether vectors `first .. first + n` include a row's partial last one.
    let partial = |first: usize, n: usize| p.width % 16 != 0 && first % per_row + n >= per_row;
    let mut first = 0;
    while first < vectors {
        let n = (vectors - first).min(PLANE_BLOCK);
        macro_rules! pass {
            ($($n:literal)*) => {
                match (n, p.in_stride, partial(first, n)) {
                    $(($n, 1, false) => unsafe { plane_pass::<$n, 1, false>(p, first, per_row) },
                      ($n, 1, true) => unsafe { plane_pass::<$n, 1, true>(p, first, per_row) },
                      ($n, _, _) => unsafe { plane_pass::<$n, 2, true>(p, first, per_row) },)*
                    _ => unreachable!("at most {PLANE_BLOCK} vectors per pass"),
                }
            };
        }
        pass!(1 2 3 4 5 6 7 8);
        first += n;
    }
}

/// The plane's vectors `first .. first + N` (row-major, `per_row` to a row), every tap: see
/// [`plane_avx512`]. `S` is the input stride; `MASKED` loads under each vector's mask, which
/// only a row's partial last vector needs at stride 1.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn plane_pass<const N: usize, const S: usize, const MASKED: bool>(
    p: &DepthwisePlane,
    first: usize,
    per_row: usize,
) {
    use std::arch::x86_64::*;
    /// The first `n` (0 to 16) lanes.
    fn lanes_mask(n: usize) -> __mmask16 {
        (((1u32 << n) - 1) & 0xFFFF) as __mmask16
    }
    unsafe {
        let mut src = [std::ptr::null::<f32>(); N];
        let mut dst = [std::ptr::null_mut::<f32>(); N];
        // Per vector: its points, and the inputs its loads may touch (low and high 16 at S = 2).
        let mut store_mask = [0 as __mmask16; N];
        let mut lo_mask = [0 as __mmask16; N];
        let mut hi_mask = [0 as __mmask16; N];
        // Row and vector in the row of the pass's first vector, then stepped (no division
        // per vector: on an 8x8 plane the whole pass is only ~100 cycles of arithmetic).
        let (mut row, mut v) = (first / per_row, first % per_row);
        for a in 0..N {
            if a > 0 {
                v += 1;
                if v == per_row {
                    (row, v) = (row + 1, 0);
                }
            }
            let x = 16 * v;
            let lanes = (p.width - x).min(16);
            src[a] = p.input.offset(row as isize * p.row_step + (S * x) as isize);
            dst[a] = p.output.add(row * p.width + x);
            store_mask[a] = lanes_mask(lanes);
            let need = S * (lanes - 1) + 1;
            lo_mask[a] = lanes_mask(need.min(16));
            hi_mask[a] = lanes_mask(need.saturating_sub(16));
        }
        let evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        let mut acc = [_mm512_set1_ps(p.bias); N];
        for (tap, offset) in p.taps.iter().zip(p.offsets) {
            let k = _mm512_set1_ps(*tap);
            for a in 0..N {
                let q = src[a].offset(*offset);
                let x = if S == 1 {
                    if MASKED { _mm512_maskz_loadu_ps(lo_mask[a], q) } else { _mm512_loadu_ps(q) }
                } else {
                    let lo = _mm512_maskz_loadu_ps(lo_mask[a], q);
                    let hi = _mm512_maskz_loadu_ps(hi_mask[a], q.wrapping_add(16));
                    _mm512_permutex2var_ps(lo, evens, hi)
                };
                acc[a] = _mm512_fmadd_ps(x, k, acc[a]);
            }
        }
        for a in 0..N {
            let mut v = acc[a];
            // `vmaxps x, b` gives `b` where `x` is NaN, as `f32::max(x, b)` does.
            if let Some(lower) = p.lower {
                v = _mm512_max_ps(v, _mm512_set1_ps(lower));
            }
            if let Some(upper) = p.upper {
                v = _mm512_min_ps(v, _mm512_set1_ps(upper));
            }
            _mm512_mask_storeu_ps(dst[a], store_mask[a], v);
        }
    }
}

/// [`DepthwisePlane`] on AVX2 with FMA: [`plane_avx512`]'s passes with vectors of eight points,
/// for the x86-64 CPUs without AVX-512 (Intel's client and low-power cores, AMD before Zen 4).
/// The same operations per point (bias, one FMA per tap in tap order, the bounds), so the two
/// give the same values. At stride 2 a vector keeps the even inputs of two loads with one
/// in-lane `shufps`, which leaves its points in the order 0 1 4 5 | 2 3 6 7; every tap's
/// product lands in that order, so the accumulator is put back in order once, before the store
/// (`vpermpd`).
///
/// # Safety
/// As [`crate::routines::DepthwisePlaneF32`]; the CPU must support AVX2 and FMA and `in_stride`
/// be 1 or 2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub unsafe fn plane_avx2(p: &DepthwisePlane) {
    assert!(p.in_stride == 1 || p.in_stride == 2, "depthwise plane stride {}", p.in_stride);
    let per_row = p.width.div_ceil(8);
    let vectors = p.rows * per_row;
    let partial = |first: usize, n: usize| p.width % 8 != 0 && first % per_row + n >= per_row;
    let mut first = 0;
    while first < vectors {
        let n = (vectors - first).min(PLANE_BLOCK);
        macro_rules! pass {
            ($($n:literal)*) => {
                match (n, p.in_stride, partial(first, n)) {
                    $(($n, 1, false) => unsafe { plane_pass_avx2::<$n, 1, false>(p, first, per_row) },
                      ($n, 1, true) => unsafe { plane_pass_avx2::<$n, 1, true>(p, first, per_row) },
                      ($n, _, _) => unsafe { plane_pass_avx2::<$n, 2, true>(p, first, per_row) },)*
                    _ => unreachable!("at most {PLANE_BLOCK} vectors per pass"),
                }
            };
        }
        pass!(1 2 3 4 5 6 7 8);
        first += n;
    }
}

/// [`plane_pass`] with vectors of eight points: see [`plane_avx2`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn plane_pass_avx2<const N: usize, const S: usize, const MASKED: bool>(
    p: &DepthwisePlane,
    first: usize,
    per_row: usize,
) {
    use std::arch::x86_64::*;
    unsafe {
        let mut src = [std::ptr::null::<f32>(); N];
        let mut dst = [std::ptr::null_mut::<f32>(); N];
        let mut lanes = [0usize; N];
        let mut lo_mask = [_mm256_setzero_si256(); N];
        let mut hi_mask = [_mm256_setzero_si256(); N];
        let (mut row, mut v) = (first / per_row, first % per_row);
        for a in 0..N {
            if a > 0 {
                v += 1;
                if v == per_row {
                    (row, v) = (row + 1, 0);
                }
            }
            let x = 8 * v;
            lanes[a] = (p.width - x).min(8);
            src[a] = p.input.offset(row as isize * p.row_step + (S * x) as isize);
            dst[a] = p.output.add(row * p.width + x);
            let need = S * (lanes[a] - 1) + 1;
            lo_mask[a] = mask(need.min(8));
            hi_mask[a] = mask(need.saturating_sub(8));
        }
        let mut acc = [_mm256_set1_ps(p.bias); N];
        for (tap, offset) in p.taps.iter().zip(p.offsets) {
            let k = _mm256_set1_ps(*tap);
            for a in 0..N {
                let q = src[a].offset(*offset);
                let x = if S == 1 {
                    if MASKED { _mm256_maskload_ps(q, lo_mask[a]) } else { _mm256_loadu_ps(q) }
                } else {
                    let lo = _mm256_maskload_ps(q, lo_mask[a]);
                    let hi = _mm256_maskload_ps(q.wrapping_add(8), hi_mask[a]);
                    _mm256_shuffle_ps::<0b10_00_10_00>(lo, hi)
                };
                acc[a] = _mm256_fmadd_ps(x, k, acc[a]);
            }
        }
        for a in 0..N {
            let mut v = acc[a];
            if let Some(lower) = p.lower {
                v = _mm256_max_ps(v, _mm256_set1_ps(lower));
            }
            if let Some(upper) = p.upper {
                v = _mm256_min_ps(v, _mm256_set1_ps(upper));
            }
            if S == 2 {
                // Pairs (0 1) (4 5) (2 3) (6 7) back to (0 1) (2 3) (4 5) (6 7).
                v = _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)));
            }
            if lanes[a] == 8 {
                _mm256_storeu_ps(dst[a], v);
            } else {
                _mm256_maskstore_ps(dst[a], mask(lanes[a]), v);
            }
        }
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
        let taps: Vec<f32> = (0..9).map(|t| (t as f32 * 0.7).sin()).collect();
        let offsets: Vec<isize> = (0..9).collect();
        for in_stride in [1isize, 2] {
            for len in 1..=150usize {
                let needed = 8 + (len - 1) * in_stride as usize + 1;
                let guarded = crate::x86_64::guarded::Guarded::new(needed);
                let input = unsafe { std::slice::from_raw_parts_mut(guarded.data, needed) };
                for (v, x) in input.iter_mut().enumerate() {
                    *x = (v as f32 * 0.37).cos();
                }
                let mut output = vec![0f32; len];
                unsafe {
                    depthwise_w_f32(
                        input.as_ptr(),
                        output.as_mut_ptr(),
                        &taps,
                        &offsets,
                        0.5,
                        len,
                        in_stride,
                    )
                };
                let expected = reference(input, &taps, &offsets, 0.5, len, in_stride, 0);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&output), bits(&expected), "len {len} stride {in_stride}");
            }
        }
    }

    /// One plane through [`plane_avx512`] against a scalar walk of the same operations (the
    /// bias, one `mul_add` per tap in tap order, then the bounds with `f32::max` / `f32::min`),
    /// its input exactly as long as the last point's last tap needs and ending on a guard page.
    fn compare_plane(
        width: usize,
        rows: usize,
        side: usize,
        in_stride: usize,
        row_stride: usize,
        bounds: (Option<f32>, Option<f32>),
    ) {
        let pitch = (width - 1) * in_stride + side;
        let row_step = row_stride * pitch;
        let offsets: Vec<isize> =
            (0..side).flat_map(|ky| (0..side).map(move |kx| (ky * pitch + kx) as isize)).collect();
        let taps: Vec<f32> = (0..offsets.len()).map(|t| (t as f32 * 0.7).sin() * 0.6).collect();
        let len = (rows - 1) * row_step + (side - 1) * pitch + (width - 1) * in_stride + side;
        let guarded = crate::x86_64::guarded::Guarded::new(len);
        let input = unsafe { std::slice::from_raw_parts_mut(guarded.data, len) };
        for (i, x) in input.iter_mut().enumerate() {
            *x = ((i * 7919 % 1009) as f32 / 1008.0 - 0.5) * 3.0;
        }
        let bias = -0.125;
        let mut expected = vec![0f32; rows * width];
        for r in 0..rows {
            for x in 0..width {
                let mut sum = bias;
                for (tap, offset) in taps.iter().zip(&offsets) {
                    let i = (r * row_step) as isize + offset + (x * in_stride) as isize;
                    sum = tap.mul_add(input[i as usize], sum);
                }
                if let Some(lower) = bounds.0 {
                    sum = sum.max(lower);
                }
                if let Some(upper) = bounds.1 {
                    sum = sum.min(upper);
                }
                expected[r * width + x] = sum;
            }
        }
        let mut output = vec![f32::NAN; rows * width + 1];
        let plane = DepthwisePlane {
            input: input.as_ptr(),
            row_step: row_step as isize,
            in_stride,
            output: output.as_mut_ptr(),
            rows,
            width,
            taps: &taps,
            offsets: &offsets,
            bias,
            lower: bounds.0,
            upper: bounds.1,
        };
        let what = format!(
            "{rows}x{width}, {side}x{side}, strides {row_stride}/{in_stride}, bounds {bounds:?}"
        );
        let kernels: [(&str, unsafe fn(&DepthwisePlane), bool); 2] = [
            ("avx512", plane_avx512, std::is_x86_feature_detected!("avx512f")),
            (
                "avx2",
                plane_avx2,
                std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma"),
            ),
        ];
        for (name, kernel, runs_here) in kernels {
            if !runs_here {
                continue;
            }
            output.fill(f32::NAN);
            let plane = DepthwisePlane { output: output.as_mut_ptr(), ..plane };
            unsafe { kernel(&plane) };
            // Equal values (an exact zero may differ in sign only where a bound clamps it).
            assert_eq!(&output[..rows * width], &expected[..], "{name} {what}");
            assert!(output[rows * width].is_nan(), "{name} {what}: wrote past the plane");
        }
    }

    #[test]
    fn plane_matches_fused_scalar_walk() {
        let bounds = [(None, None), (Some(0.0), Some(0.6)), (Some(0.1), None), (None, Some(-0.2))];
        for width in [1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 56, 63, 64, 65, 100, 128, 129] {
            for rows in [1, 2, 3, 5, 9] {
                for side in [1, 3, 5] {
                    for in_stride in [1, 2] {
                        for row_stride in [1, 2] {
                            for b in bounds {
                                compare_plane(width, rows, side, in_stride, row_stride, b);
                            }
                        }
                    }
                }
            }
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
