//! activityd patch (vendor/README.md, PR 6): a matrix product with a constant, mostly-zero f32
//! left operand, run as sparse × dense.
//!
//! Pruned networks store weights that are mostly zeros: MediaPipe's BlazePose person detector
//! has 75 % zeros in every pointwise convolution (TFLite stores them sparse; XNNPACK runs them
//! sparse). The dense kernels multiply every zero. `SparseConstMatMul` keeps the constant
//! operand `W` (`m × k`) in compressed rows and computes `Y[.., i, ..] = Σ_j W[i, j] · X[.., j, ..]`
//! for an input whose contracted axis is followed by contiguous axes (NCHW after a 1×1
//! convolution: the spatial plane), so each non-zero weight scales a contiguous run of the
//! input. Each output row is accumulated in registers over a tile of the plane, the weights
//! in their stored order (sums are in `j` order: equal to a dense product done in that order).

use super::EinSum;
use crate::internal::*;

/// Zeros needed in a constant operand before the sparse product is used.
pub const MIN_ZERO_FRACTION: f32 = 0.5;

/// Whether a constant operand has the zeros ([`MIN_ZERO_FRACTION`]) for the sparse product.
pub fn mostly_zero(w: &[f32]) -> bool {
    let zeros = w.iter().filter(|v| **v == 0.0).count();
    zeros as f32 >= MIN_ZERO_FRACTION * w.len() as f32
}

/// `Y = W · X` along one axis of `X`, with `W` constant and sparse.
#[derive(Clone)]
pub struct SparseConstMatMul {
    /// Output rows (`m`) and contracted length (`k`).
    pub m: usize,
    pub k: usize,
    /// Compressed rows: row `i`'s non-zeros are `entries[row_start[i]..row_start[i + 1]]`.
    pub row_start: Vec<usize>,
    pub entries: Entries,
    /// The contracted axis of `X` (the output has `m` there instead).
    pub axis: usize,
    /// Fused from the operations that followed: added to each output row's sum (`m` values),
    /// then the result clamped to `lo..=hi` (a ReLU6 after a convolution's bias).
    pub bias: Vec<f32>,
    pub lo: f32,
    pub hi: f32,
}

/// The non-zeros of the compressed rows, each its column and its value.
#[derive(Clone, Debug)]
pub enum Entries {
    /// One 32-bit word each: the column in the low 16 bits, the value as an IEEE half in the
    /// high 16. Taken when the matrix has at most 65536 columns and every non-zero is an f16
    /// value exactly (weights converted from an fp16 model, as MediaPipe's are): half the
    /// memory of `Wide`, and the same products, since each half widens to the very f32 it was.
    Compact(Vec<u32>),
    /// Column and f32 value.
    Wide(Vec<(u32, f32)>),
}

impl Entries {
    fn len(&self) -> usize {
        match self {
            Entries::Compact(e) => e.len(),
            Entries::Wide(e) => e.len(),
        }
    }

    /// Bit patterns, for equality.
    fn bits(&self) -> Vec<u64> {
        match self {
            Entries::Compact(e) => e.iter().map(|w| *w as u64).collect(),
            Entries::Wide(e) => e
                .iter()
                .map(|(c, v)| (1 << 63) | ((*c as u64) << 32) | v.to_bits() as u64)
                .collect(),
        }
    }
}

/// A non-zero as the kernels read it.
trait Entry: Copy {
    fn col(self) -> usize;
    fn val(self) -> f32;
    /// The value in all eight lanes.
    ///
    /// # Safety
    /// The CPU must have AVX, and F16C for a compact entry.
    #[cfg(target_arch = "x86_64")]
    unsafe fn splat(self) -> std::arch::x86_64::__m256;
    /// The value in all sixteen lanes.
    ///
    /// # Safety
    /// The CPU must have AVX-512F.
    #[cfg(target_arch = "x86_64")]
    unsafe fn splat16(self) -> std::arch::x86_64::__m512;
}

impl Entry for u32 {
    #[inline(always)]
    fn col(self) -> usize {
        (self & 0xffff) as usize
    }
    #[inline(always)]
    fn val(self) -> f32 {
        f16::from_bits((self >> 16) as u16).to_f32()
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn splat(self) -> std::arch::x86_64::__m256 {
        use std::arch::x86_64::*;
        // Eight copies of the half, widened at once: the conversion is the broadcast.
        unsafe { _mm256_cvtph_ps(_mm_set1_epi16((self >> 16) as u16 as i16)) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn splat16(self) -> std::arch::x86_64::__m512 {
        use std::arch::x86_64::*;
        unsafe { _mm512_cvtph_ps(_mm256_set1_epi16((self >> 16) as u16 as i16)) }
    }
}

impl Entry for (u32, f32) {
    #[inline(always)]
    fn col(self) -> usize {
        self.0 as usize
    }
    #[inline(always)]
    fn val(self) -> f32 {
        self.1
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn splat(self) -> std::arch::x86_64::__m256 {
        unsafe { std::arch::x86_64::_mm256_set1_ps(self.1) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn splat16(self) -> std::arch::x86_64::__m512 {
        unsafe { std::arch::x86_64::_mm512_set1_ps(self.1) }
    }
}

impl PartialEq for SparseConstMatMul {
    fn eq(&self, other: &Self) -> bool {
        (self.m, self.k, self.axis) == (other.m, other.k, other.axis)
            && self.row_start == other.row_start
            && self.entries.bits() == other.entries.bits()
            && self.bias.iter().map(|v| v.to_bits()).eq(other.bias.iter().map(|v| v.to_bits()))
            && (self.lo.to_bits(), self.hi.to_bits()) == (other.lo.to_bits(), other.hi.to_bits())
    }
}

impl Eq for SparseConstMatMul {}

impl std::fmt::Debug for SparseConstMatMul {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "SparseConstMatMul m={} k={} axis={} nnz={} ({:.0}% zeros, {}), bias {}, clamp {}..{}",
            self.m,
            self.k,
            self.axis,
            self.entries.len(),
            100.0 * (1.0 - self.entries.len() as f32 / (self.m * self.k).max(1) as f32),
            match self.entries {
                Entries::Compact(_) => "f16 values",
                Entries::Wide(_) => "f32 values",
            },
            if self.bias.iter().any(|b| *b != 0.0) { "fused" } else { "none" },
            self.lo,
            self.hi
        )
    }
}

impl SparseConstMatMul {
    /// From a dense `m × k` row-major f32 matrix; `None` when it has too few zeros.
    pub fn from_dense(w: &[f32], m: usize, k: usize, axis: usize) -> Option<Self> {
        if w.len() != m * k || m == 0 || k == 0 || k > u32::MAX as usize {
            return None;
        }
        if !mostly_zero(w) {
            return None;
        }
        let zeros = w.iter().filter(|v| **v == 0.0).count();
        let mut row_start = Vec::with_capacity(m + 1);
        let mut wide = Vec::with_capacity(w.len() - zeros);
        row_start.push(0);
        for row in w.chunks_exact(k) {
            for (j, v) in row.iter().enumerate() {
                if *v != 0.0 {
                    wide.push((j as u32, *v));
                }
            }
            row_start.push(wide.len());
        }
        let half = |v: f32| f16::from_f32(v).to_f32().to_bits() == v.to_bits();
        let entries = if k <= 1 << 16 && wide.iter().all(|(_, v)| half(*v)) {
            Entries::Compact(
                wide.iter()
                    .map(|(c, v)| ((f16::from_f32(*v).to_bits() as u32) << 16) | c)
                    .collect(),
            )
        } else {
            Entries::Wide(wide)
        };
        Some(SparseConstMatMul {
            m,
            k,
            row_start,
            entries,
            axis,
            bias: vec![0.0; m],
            lo: f32::NEG_INFINITY,
            hi: f32::INFINITY,
        })
    }

    fn output_shape<D: DimLike>(&self, input: &[D]) -> TVec<D> {
        let mut shape: TVec<D> = input.into();
        shape[self.axis] = self.m.into();
        shape
    }

    /// `y` (`outer × m × inner`) from `x` (`outer × k × inner`).
    pub fn compute(&self, x: &[f32], y: &mut [f32], outer: usize, inner: usize) {
        debug_assert_eq!(x.len(), outer * self.k * inner);
        debug_assert_eq!(y.len(), outer * self.m * inner);
        for o in 0..outer {
            let x = &x[o * self.k * inner..][..self.k * inner];
            let y = &mut y[o * self.m * inner..][..self.m * inner];
            #[cfg(target_arch = "x86_64")]
            if wide_kernel() {
                // SAFETY: the CPU has AVX-512F (checked just above).
                unsafe {
                    match &self.entries {
                        Entries::Compact(e) => self.plane_avx512(e, x, y, inner),
                        Entries::Wide(e) => self.plane_avx512(e, x, y, inner),
                    }
                };
                continue;
            }
            #[cfg(target_arch = "x86_64")]
            if kernel_measured() {
                // SAFETY: the CPU has AVX2, FMA and F16C (checked just above).
                unsafe {
                    match &self.entries {
                        Entries::Compact(e) => self.plane_avx2(e, x, y, inner),
                        Entries::Wide(e) => self.plane_avx2(e, x, y, inner),
                    }
                };
                continue;
            }
            match &self.entries {
                Entries::Compact(e) => self.plane(e, x, y, inner),
                Entries::Wide(e) => self.plane(e, x, y, inner),
            }
        }
    }

    /// One plane, portable: tiles of 32 points, one output row at a time.
    fn plane<E: Entry>(&self, entries: &[E], x: &[f32], y: &mut [f32], inner: usize) {
        const T: usize = 32;
        let mut start = 0;
        while start < inner {
            let len = T.min(inner - start);
            for i in 0..self.m {
                let mut acc = [0f32; T];
                let nz = self.row_start[i]..self.row_start[i + 1];
                for e in &entries[nz] {
                    let (c, w) = (e.col(), e.val());
                    let xr = &x[c * inner + start..][..len];
                    for (a, v) in acc.iter_mut().zip(xr) {
                        *a += w * v;
                    }
                }
                for (o, a) in y[i * inner + start..][..len].iter_mut().zip(&acc) {
                    *o = (a + self.bias[i]).max(self.lo).min(self.hi);
                }
            }
            start += len;
        }
    }

    /// One plane with AVX2 + FMA: 32 points in four registers per output row.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn plane_avx2<E: Entry>(&self, entries: &[E], x: &[f32], y: &mut [f32], inner: usize) {
        use std::arch::x86_64::*;
        let xp = x.as_ptr();
        let yp = y.as_mut_ptr();
        let full = inner / 32 * 32;
        let all = _mm256_set1_epi32(-1);
        // SAFETY (every call): AVX2, FMA and F16C (this function's own features); tiles of 32
        // points up to `full`, then the rest of each row, its last vector masked to `inner`.
        let mut start = 0;
        while start < full {
            unsafe { self.run_avx2::<4, false, E>(entries, xp, yp, inner, start, all) };
            start += 32;
        }
        // The last points (fewer than 32) in one pass over each row's entries: as many
        // vectors of eight as they fill, the last one masked so that nothing past the plane is
        // read or written. (Before, eight at a time and then one by one: a 49-point plane
        // walked every row's entries four times, the last time for one point, in scalar code.)
        let rest = inner - full;
        if rest > 0 {
            let vectors = rest.div_ceil(8);
            let last = (rest - (vectors - 1) * 8) as i32;
            let mask = _mm256_cmpgt_epi32(
                _mm256_set1_epi32(last),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            );
            unsafe {
                match vectors {
                    1 => self.run_avx2::<1, true, E>(entries, xp, yp, inner, full, mask),
                    2 => self.run_avx2::<2, true, E>(entries, xp, yp, inner, full, mask),
                    3 => self.run_avx2::<3, true, E>(entries, xp, yp, inner, full, mask),
                    _ => self.run_avx2::<4, true, E>(entries, xp, yp, inner, full, mask),
                }
            }
        }
    }

    /// Points `start..start + 8 V` of every output row (`V` vectors of eight; with `MASKED`,
    /// the last one under `mask`, otherwise unused), in one pass over each row's entries, in
    /// their stored order.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,f16c")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn run_avx2<const V: usize, const MASKED: bool, E: Entry>(
        &self,
        entries: &[E],
        xp: *const f32,
        yp: *mut f32,
        inner: usize,
        start: usize,
        mask: std::arch::x86_64::__m256i,
    ) {
        use std::arch::x86_64::*;
        let masked = |v: usize| MASKED && v + 1 == V;
        let (lo, hi) = (_mm256_set1_ps(self.lo), _mm256_set1_ps(self.hi));
        for i in 0..self.m {
            let mut acc = [_mm256_setzero_ps(); V];
            for n in self.row_start[i]..self.row_start[i + 1] {
                // SAFETY: every column is below k; every vector but a masked one ends at or
                // before the row's end, a masked one is masked to it.
                unsafe {
                    let e = *entries.get_unchecked(n);
                    let w = e.splat();
                    let p = xp.add(e.col() * inner + start);
                    for (v, a) in acc.iter_mut().enumerate() {
                        let x = if masked(v) {
                            _mm256_maskload_ps(p.add(8 * v), mask)
                        } else {
                            _mm256_loadu_ps(p.add(8 * v))
                        };
                        *a = _mm256_fmadd_ps(w, x, *a);
                    }
                }
            }
            let b = _mm256_set1_ps(self.bias[i]);
            for (v, a) in acc.iter().enumerate() {
                let r = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(*a, b), lo), hi);
                // SAFETY: i < m; as for the loads, inside the row.
                unsafe {
                    let q = yp.add(i * inner + start + 8 * v);
                    if masked(v) {
                        _mm256_maskstore_ps(q, mask, r);
                    } else {
                        _mm256_storeu_ps(q, r);
                    }
                }
            }
        }
    }

    /// One plane with AVX-512 (PR 12), where tract's own f32 kernels are 512-bit: tiles of 64
    /// points in four registers per output row, then the rest (fewer than 64) in one pass, as
    /// many vectors of sixteen as it fills, the last one masked. The same products, summed in
    /// the same order, as [`Self::plane_avx2`].
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    unsafe fn plane_avx512<E: Entry>(&self, entries: &[E], x: &[f32], y: &mut [f32], inner: usize) {
        let xp = x.as_ptr();
        let yp = y.as_mut_ptr();
        let full = inner / 64 * 64;
        // SAFETY (all four calls): AVX-512F (this function's own feature); tiles of 64 points
        // up to `full`, then the rest of each row under a mask that ends at `inner`.
        let mut start = 0;
        while start < full {
            unsafe { self.run_avx512::<4, E>(entries, xp, yp, inner, start, !0) };
            start += 64;
        }
        let rest = inner - full;
        if rest > 0 {
            let vectors = rest.div_ceil(16);
            let last = rest - (vectors - 1) * 16;
            let mask = ((1u32 << last) - 1) as u16;
            unsafe {
                match vectors {
                    1 => self.run_avx512::<1, E>(entries, xp, yp, inner, full, mask),
                    2 => self.run_avx512::<2, E>(entries, xp, yp, inner, full, mask),
                    3 => self.run_avx512::<3, E>(entries, xp, yp, inner, full, mask),
                    _ => self.run_avx512::<4, E>(entries, xp, yp, inner, full, mask),
                }
            }
        }
    }

    /// Points `start..start + 16 V` of every output row (`V` vectors of sixteen, the last one
    /// masked by `mask`; all ones for a full tile), in one pass over each row's entries.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn run_avx512<const V: usize, E: Entry>(
        &self,
        entries: &[E],
        xp: *const f32,
        yp: *mut f32,
        inner: usize,
        start: usize,
        mask: u16,
    ) {
        use std::arch::x86_64::*;
        let (lo, hi) = (_mm512_set1_ps(self.lo), _mm512_set1_ps(self.hi));
        for i in 0..self.m {
            let mut acc = [_mm512_setzero_ps(); V];
            for n in self.row_start[i]..self.row_start[i + 1] {
                // SAFETY: every column is below k; the first V - 1 vectors end at or before
                // the row's end, the last one is masked to it (masked lanes are not read).
                unsafe {
                    let e = *entries.get_unchecked(n);
                    let w = e.splat16();
                    let p = xp.add(e.col() * inner + start);
                    for (v, a) in acc.iter_mut().enumerate() {
                        let x = if v + 1 < V {
                            _mm512_loadu_ps(p.add(16 * v))
                        } else {
                            _mm512_maskz_loadu_ps(mask, p.add(16 * v))
                        };
                        *a = _mm512_fmadd_ps(w, x, *a);
                    }
                }
            }
            let b = _mm512_set1_ps(self.bias[i]);
            for (v, a) in acc.iter().enumerate() {
                let r = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(*a, b), lo), hi);
                // SAFETY: i < m; as for the loads, inside the row.
                unsafe {
                    let q = yp.add(i * inner + start + 16 * v);
                    if v + 1 < V {
                        _mm512_storeu_ps(q, r);
                    } else {
                        _mm512_mask_storeu_ps(q, mask, r);
                    }
                }
            }
        }
    }
}

impl Op for SparseConstMatMul {
    fn name(&self) -> StaticName {
        "SparseConstMatMul".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("{self:?}")])
    }

    op_as_typed_op!();
}

impl EvalOp for SparseConstMatMul {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        let shape = x.shape();
        ensure!(shape.len() > self.axis && shape[self.axis] == self.k);
        let outer = shape[..self.axis].iter().product::<usize>();
        let inner = shape[self.axis + 1..].iter().product::<usize>();
        let out_shape = self.output_shape(shape);
        let mut y = unsafe { Tensor::uninitialized::<f32>(&out_shape)? };
        {
            let x = x.try_as_plain_ram()?;
            let x = x.as_slice::<f32>()?;
            let mut yp = y.try_as_plain_ram_mut()?;
            self.compute(x, yp.as_slice_mut::<f32>()?, outer, inner);
        }
        Ok(tvec!(y.into_tvalue()))
    }
}

impl TypedOp for SparseConstMatMul {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs[0].datum_type == f32::datum_type());
        ensure!(inputs[0].shape[self.axis] == self.k.to_dim());
        Ok(tvec!(f32::fact(self.output_shape(&inputs[0].shape))))
    }

    /// Takes in the operation that follows when it adds a constant per output row (a bias),
    /// or clamps by a constant (the two halves of a ReLU6), in that order.
    fn fuse(&self, model: &TypedModel, node: &TypedNode) -> TractResult<Option<TypedModelPatch>> {
        use crate::ops::binary::{OptBinByScalar, TypedBinOp};
        use tract_linalg::BinOp;
        rule_if!(node.outputs.len() == 1 && node.outputs[0].successors.len() == 1);
        rule_if!(!model.output_outlets()?.contains(&node.id.into()));
        let succ = model.node(node.outputs[0].successors[0].node);
        rule_if!(succ.inputs.len() == 2 && succ.outputs.len() == 1);
        rule_if!(succ.outputs[0].fact.shape == node.outputs[0].fact.shape);
        rule_if!(succ.outputs[0].fact.datum_type == f32::datum_type());
        let binop = if let Some(op) = succ.op_as::<TypedBinOp>() {
            op.0.as_linalg_binop()
        } else {
            succ.op_as::<OptBinByScalar>().map(|op| op.linalg_op)
        };
        rule_if_some!(binop = binop);
        let mine = succ.inputs.iter().position(|i| i.node == node.id).unwrap_or(0);
        rule_if!(succ.inputs[mine] == node.id.into() && succ.inputs[1 - mine] != node.id.into());
        let other = model.outlet_fact(succ.inputs[1 - mine])?;
        rule_if_some!(k = other.konst.as_ref());
        rule_if!(k.datum_type() == f32::datum_type());
        let k = k.try_as_plain_ram()?;
        let v = k.as_slice::<f32>()?;
        let out_rank = node.outputs[0].fact.rank();
        let per_row = v.len() == self.m
            && other.rank() == out_rank
            && (0..out_rank)
                .all(|a| other.shape[a] == if a == self.axis { self.m } else { 1 }.to_dim());
        let mut new = self.clone();
        let unclamped = self.lo == f32::NEG_INFINITY && self.hi == f32::INFINITY;
        match binop {
            BinOp::Add if unclamped && v.len() == 1 => new.bias.iter_mut().for_each(|b| *b += v[0]),
            BinOp::Add if unclamped && per_row => {
                new.bias.iter_mut().zip(v).for_each(|(b, x)| *b += x)
            }
            BinOp::Max if v.len() == 1 && self.hi == f32::INFINITY => new.lo = self.lo.max(v[0]),
            BinOp::Min if v.len() == 1 => new.hi = self.hi.min(v[0]),
            _ => return Ok(None),
        }
        // A clamp with a NaN bound, or lo above hi, is not fused.
        rule_if!(matches!(
            new.lo.partial_cmp(&new.hi),
            Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
        ));
        let mut patch = TypedModelPatch::new(format!("fusing {succ} into {node}"));
        let x = patch.tap_model(model, node.inputs[0])?;
        let y = patch.wire_node(&succ.name, new, &[x])?[0];
        patch.shunt_outside(model, succ.id.into(), y)?;
        Ok(Some(patch))
    }

    as_op!();
}

/// Whether the 512-bit kernel runs (PR 12): the CPU has AVX-512F and tract's own f32 matrix
/// kernels are 512-bit here (Intel, AMD Zen 5; not Zen 4, which splits 512-bit operations in
/// two: there the AVX2 kernel stays, as PR 5 keeps the dense products on 256-bit kernels).
#[cfg(target_arch = "x86_64")]
fn wide_kernel() -> bool {
    static WIDE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WIDE.get_or_init(|| {
        use tract_linalg::mmm::MmmDispatch;
        if !(kernel_measured() && is_x86_feature_detected!("avx512f")) {
            return false;
        }
        let plain = tract_linalg::mmm::Query::plain(DatumType::F32, Some(1024), Some(64), Some(64));
        let dispatch = MmmDispatch::native();
        dispatch
            .preferred(&plain, &dispatch.suitable(&plain))
            .is_some_and(|(mmm, _, _)| mmm.name().starts_with("avx512"))
    })
}

/// Whether this CPU runs the kernel that was measured faster than the dense one (x86-64 with
/// AVX2 and FMA). Elsewhere the dense kernels stay: the portable loop has not been measured
/// against them (on ARM, tract's NEON kernels).
fn kernel_measured() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The sparse product for an einsum of a constant f32 matrix and a plain f32 input, when the
/// matrix is mostly zeros and the einsum is `W[i, j] · X[.., j, ..] → Y[.., i, ..]` (the
/// output keeps the input's axes in order, `i` in place of `j`).
pub(crate) fn sparse_patch(
    model: &TypedModel,
    node: &TypedNode,
    op: &EinSum,
) -> TractResult<Option<TypedModelPatch>> {
    if !kernel_measured()
        || node.inputs.len() != 2
        || op.q_params.is_some()
        || op.operating_dt != f32::datum_type()
    {
        return Ok(None);
    }
    let facts = model.node_input_facts(node.id)?;
    let Some(wi) = (0..2).find(|&i| facts[i].konst.is_some() && facts[i].rank() == 2) else {
        return Ok(None);
    };
    let xi = 1 - wi;
    let (wf, xf) = (facts[wi], facts[xi]);
    // f16 weights (PR 10: f16-exact f32 weights stored as halves) are the same values.
    if !matches!(wf.datum_type, DatumType::F32 | DatumType::F16)
        || xf.datum_type != f32::datum_type()
        || wf.exotic_fact().is_some()
        || xf.exotic_fact().is_some()
    {
        return Ok(None);
    }
    // Which axis of W is contracted (j), and where it is in X.
    let (mut w_j, mut w_i, mut x_j, mut y_i) = (None, None, None, None);
    for axis in op.axes.iter_all_axes() {
        let (w, x, y) = (&axis.inputs[wi], &axis.inputs[xi], &axis.outputs[0]);
        match (w.len(), x.len(), y.len()) {
            (1, 1, 0) => {
                w_j = Some(w[0]);
                x_j = Some(x[0]);
            }
            (1, 0, 1) => {
                w_i = Some(w[0]);
                y_i = Some(y[0]);
            }
            (0, 1, 1) if x[0] == y[0] => {}
            _ => return Ok(None),
        }
    }
    let (Some(w_j), Some(w_i), Some(x_j), Some(y_i)) = (w_j, w_i, x_j, y_i) else {
        return Ok(None);
    };
    if x_j != y_i || w_j == w_i {
        return Ok(None);
    }
    let w = wf.konst.as_ref().unwrap().cast_to::<f32>()?.into_owned();
    let w = if w_i == 0 { w } else { w.permute_axes(&[1, 0])? };
    let (m, k) = (w.shape()[0], w.shape()[1]);
    let w = w.try_as_plain_ram()?;
    let Some(sparse) = SparseConstMatMul::from_dense(w.as_slice::<f32>()?, m, k, x_j) else {
        return Ok(None);
    };
    let mut patch = TypedModelPatch::new("sparse constant matmul");
    let x = patch.tap_model(model, node.inputs[xi])?;
    let y = patch.wire_node(&node.name, sparse, &[x])?[0];
    patch.shunt_outside(model, node.id.into(), y)?;
    Ok(Some(patch))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pseudo-random m × k matrix with about `density` of its entries non-zero.
    fn sparse_matrix(m: usize, k: usize, density: f32, seed: u64) -> Vec<f32> {
        let mut s = seed;
        let mut next = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 33) as f32 / (1u64 << 31) as f32
        };
        (0..m * k).map(|_| if next() < density { next() * 2.0 - 1.0 } else { 0.0 }).collect()
    }

    /// The dense product, summed in the same order (j ascending).
    fn reference(w: &[f32], x: &[f32], m: usize, k: usize, outer: usize, inner: usize) -> Vec<f32> {
        let mut y = vec![0f32; outer * m * inner];
        for o in 0..outer {
            for i in 0..m {
                for p in 0..inner {
                    let mut a = 0f32;
                    for j in 0..k {
                        let wv = w[i * k + j];
                        if wv != 0.0 {
                            a = wv.mul_add(x[(o * k + j) * inner + p], a);
                        }
                    }
                    y[(o * m + i) * inner + p] = a;
                }
            }
        }
        y
    }

    #[test]
    fn matches_the_dense_product_at_every_plane_size() {
        for (m, k) in [(1, 1), (3, 5), (16, 24), (40, 72)] {
            let w = sparse_matrix(m, k, 0.25, (m * 31 + k) as u64);
            let Some(op) = SparseConstMatMul::from_dense(&w, m, k, 1) else {
                continue; // too dense by chance
            };
            for inner in [1, 7, 8, 9, 31, 32, 33, 49, 64, 100, 196] {
                for outer in [1, 2] {
                    let x = sparse_matrix(outer * k, inner, 1.0, inner as u64);
                    let mut y = vec![f32::NAN; outer * m * inner];
                    op.compute(&x, &mut y, outer, inner);
                    let r = reference(&w, &x, m, k, outer, inner);
                    for (a, b) in y.iter().zip(&r) {
                        // FMA (AVX2) against mul_add: the same rounding; the portable loop
                        // rounds the product: within a few ulps of the sum.
                        assert!(
                            (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                            "{m}x{k} inner {inner}: {a} vs {b}"
                        );
                    }
                }
            }
        }
    }

    /// Each x86-64 kernel the CPU can run (AVX2; AVX-512, PR 12) gives every point as the
    /// dense product summed in the same order, to the bit, at every plane size up to 150
    /// (whole tiles and every remainder, the last vector masked), with compact (f16) and wide
    /// entries, and writes nothing past the plane.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn each_x86_kernel_is_exact_and_writes_only_its_plane() {
        let (m, k) = (24, 40);
        let w: Vec<f32> =
            sparse_matrix(m, k, 0.25, 3).iter().map(|v| f16::from_f32(*v).to_f32()).collect();
        let compact = SparseConstMatMul::from_dense(&w, m, k, 1).unwrap();
        let Entries::Compact(words) = &compact.entries else { panic!("not compact") };
        let wide = SparseConstMatMul {
            entries: Entries::Wide(words.iter().map(|e| (e.col() as u32, e.val())).collect()),
            ..compact.clone()
        };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let mut kernels = vec![];
        if kernel_measured() {
            kernels.push("avx2");
        }
        if kernel_measured() && is_x86_feature_detected!("avx512f") {
            kernels.push("avx512");
        }
        for kernel in kernels {
            for op in [&compact, &wide] {
                for inner in 1..=150 {
                    let x = sparse_matrix(k, inner, 1.0, inner as u64);
                    let len = m * inner;
                    let mut y = vec![f32::NAN; len + 32];
                    let out = &mut y[..len];
                    // SAFETY: the CPU has the kernel's features (checked above).
                    unsafe {
                        match (&op.entries, kernel) {
                            (Entries::Compact(e), "avx2") => op.plane_avx2(e, &x, out, inner),
                            (Entries::Wide(e), "avx2") => op.plane_avx2(e, &x, out, inner),
                            (Entries::Compact(e), _) => op.plane_avx512(e, &x, out, inner),
                            (Entries::Wide(e), _) => op.plane_avx512(e, &x, out, inner),
                        }
                    }
                    let want = reference(&w, &x, m, k, 1, inner);
                    assert_eq!(bits(&y[..len]), bits(&want), "{kernel}, inner {inner}");
                    assert!(
                        y[len..].iter().all(|v| v.is_nan()),
                        "{kernel}, inner {inner}: past the plane"
                    );
                }
            }
        }
    }

    /// Weights that are all f16 values (as an fp16 model's are) are kept as one word each, and
    /// give exactly the products the f32 entries give; any other value keeps f32 entries.
    #[test]
    fn f16_exact_weights_are_stored_compact_with_the_same_products() {
        let (m, k) = (40, 72);
        let w: Vec<f32> =
            sparse_matrix(m, k, 0.25, 7).iter().map(|v| f16::from_f32(*v).to_f32()).collect();
        let op = SparseConstMatMul::from_dense(&w, m, k, 1).unwrap();
        let Entries::Compact(words) = &op.entries else { panic!("not compact: {op:?}") };
        let wide = SparseConstMatMul {
            entries: Entries::Wide(words.iter().map(|e| (e.col() as u32, e.val())).collect()),
            ..op.clone()
        };
        for inner in [1, 7, 8, 33, 196] {
            for outer in [1, 2] {
                let x = sparse_matrix(outer * k, inner, 1.0, inner as u64);
                let (mut a, mut b) = (vec![0f32; outer * m * inner], vec![1f32; outer * m * inner]);
                op.compute(&x, &mut a, outer, inner);
                wide.compute(&x, &mut b, outer, inner);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&a), bits(&b), "inner {inner} outer {outer}");
                let r = reference(&w, &x, m, k, outer, inner);
                assert!(a.iter().zip(&r).all(|(a, b)| (a - b).abs() <= 1e-5 * (1.0 + b.abs())));
            }
        }
        // One value that is not a half, or too many columns for 16 bits: f32 entries.
        let mut w2 = w.clone();
        let nz = w2.iter().position(|v| *v != 0.0).unwrap();
        w2[nz] += 1e-6;
        let op = SparseConstMatMul::from_dense(&w2, m, k, 1).unwrap();
        assert!(matches!(op.entries, Entries::Wide(_)));
        let mut tall = vec![0f32; 2 * 65537];
        tall[65536] = 0.5;
        let op = SparseConstMatMul::from_dense(&tall, 2, 65537, 1).unwrap();
        assert!(matches!(op.entries, Entries::Wide(_)));
    }

    #[test]
    fn a_dense_matrix_is_left_to_the_dense_kernels() {
        let w = sparse_matrix(8, 8, 0.9, 1);
        assert!(SparseConstMatMul::from_dense(&w, 8, 8, 1).is_none());
        let w = sparse_matrix(8, 8, 0.2, 1);
        assert!(SparseConstMatMul::from_dense(&w, 8, 8, 1).is_some());
    }

    #[test]
    fn a_one_by_one_convolution_with_sparse_weights_runs_sparse_and_equals_the_dense_plan()
    -> TractResult<()> {
        use crate::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
        use crate::ops::nn::DataFormat;
        let (ci, co, h, w) = (24usize, 40usize, 9usize, 11usize);
        let kernel = sparse_matrix(co, ci, 0.25, 7);
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([1, ci, h, w]))?;
        let k = model.add_const("k", Tensor::from_shape(&[co, ci, 1, 1], &kernel)?)?;
        let b = model.add_const("b", Tensor::from_shape(&[co], &vec![0.5f32; co])?)?;
        let conv = Conv {
            pool_spec: PoolSpec {
                data_format: DataFormat::NCHW,
                kernel_shape: tvec!(1, 1),
                padding: PaddingSpec::Valid,
                dilations: None,
                strides: None,
                input_channels: ci,
                output_channels: co,
            },
            kernel_fmt: KernelFormat::OIHW,
            group: 1,
            q_params: None,
        };
        let y = model.wire_node("conv", conv, &[x, k, b])?;
        // A ReLU6, as ONNX's Clip(0, 6) becomes: fused into the sparse product too.
        let zero = model.add_const("zero", tensor4(&[[[[0f32]]]]))?;
        let six = model.add_const("six", tensor4(&[[[[6f32]]]]))?;
        let y = model.wire_node("relu.max", crate::ops::math::max(), &[y[0], zero])?;
        let y = model.wire_node("relu.min", crate::ops::math::min(), &[y[0], six])?;
        model.select_output_outlets(&y)?;
        let input = Tensor::from_shape(&[1, ci, h, w], &sparse_matrix(ci, h * w, 1.0, 3))?;
        let expected = model.clone().into_runnable()?.run(tvec!(input.clone().into_tvalue()))?;
        let optimized = model.into_optimized()?;
        let sparse: Vec<_> =
            optimized.nodes().iter().filter_map(|n| n.op_as::<SparseConstMatMul>()).collect();
        if !kernel_measured() {
            assert!(sparse.is_empty(), "the dense kernels stay where the sparse one is unmeasured");
            let got = optimized.into_runnable()?.run(tvec!(input.into_tvalue()))?;
            return got[0].close_enough(&expected[0], Approximation::Approximate);
        }
        assert_eq!(sparse.len(), 1, "one sparse product in {optimized}");
        assert!(sparse[0].bias.iter().all(|b| *b == 0.5), "bias fused: {:?}", sparse[0]);
        assert_eq!((sparse[0].lo, sparse[0].hi), (0.0, 6.0), "ReLU6 fused");
        assert!(
            optimized
                .nodes()
                .iter()
                .all(|n| ["Source", "IntoShape", "SparseConstMatMul"].contains(&&*n.op.name())),
            "nothing but the input, reshapes and the product: {optimized}"
        );
        let got = optimized.into_runnable()?.run(tvec!(input.into_tvalue()))?;
        got[0].close_enough(&expected[0], Approximation::Approximate)?;
        Ok(())
    }
}
