//! activityd patch (vendor/README.md, PR 17): a pointwise convolution fused into the depthwise
//! convolution it feeds, a strip of rows at a time.
//!
//! MobileNetV2-style blocks widen a few channels into many with a 1x1 convolution (an `EinSum`
//! once decluttered), clamp them (ReLU6) and run a depthwise convolution over the wide tensor.
//! Early in a network that tensor is large (BlazePose's landmark model: 64 x 128 x 128 f32,
//! 4 MB) while the product that makes it has few inputs per point (16): writing megabytes out
//! of the cache bounds it, and the depthwise convolution then reads them back.
//! [`PointwiseDepthwise`] makes the wide tensor a strip of rows at a time, straight into the
//! zero-bordered scratch the depthwise plane path reads (see `depth_wise::Planes`), and runs
//! the depthwise convolution over each strip while it is in cache: the wide tensor never
//! exists whole. Rows a strip shares with the next (the kernel's height less its stride) are
//! moved, not computed again. Where the depthwise output is read only by the block's
//! projection (a 1x1 convolution back to few channels, its bias, and the residual tensor added
//! where the block has one), that is computed on each strip too, so the depthwise output never
//! exists whole either.
//!
//! Every wide value is the pointwise bias plus the products in input order (one fused
//! multiply-add each where the CPU has FMA, as the matrix kernels do), then its bounds; every
//! output is what the plane path computes from it.
//!
//! [`PointwiseDepthwiseFusion`] (transform `pointwise_depthwise`) rewrites each such block on a
//! decluttered model, before `optimize` (codegen leaves the fused op alone); knob
//! `TRACT_PW_DW=false` leaves the model as it is.

use super::Conv;
use super::KernelFormat;
use super::depth_wise::{Clamp, DepthWise, Planes};
use crate::internal::*;
use crate::ops::binary::TypedBinOp;
use crate::ops::einsum::EinSum;
use crate::ops::einsum::sparse::mostly_zero;
use crate::transform::ModelTransform;

crate::declare_knob!(
    scopable TRACT_PW_DW,
    bool,
    true,
    "Fuse a 1x1 convolution with few inputs into the depthwise convolution it feeds, computed a strip of rows at a time (transform pointwise_depthwise). false: leave the model as it is."
);

/// Most inputs per point of a pointwise product taken into the fusion. With more, the product
/// does enough arithmetic per point written to run at the matrix kernels' speed, which the
/// strip kernel does not reach.
pub const MAX_INPUTS: usize = 32;
/// Smallest wide tensor (bytes) worth fusing: a smaller one stays in the cache between the two
/// convolutions anyway.
pub const MIN_WIDE_BYTES: usize = 512 * 1024;
/// About how large (bytes) a strip's scratch, all channels, is made.
const STRIP_BYTES: usize = 384 * 1024;
/// Channels the strip kernel computes together (each input vector loaded once for them).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const GROUP: usize = 8;

/// A 1x1 convolution (with bias and optional bounds) and the depthwise convolution it feeds,
/// channel-first, computed strip by strip, and optionally the [`Projection`] after them.
/// Inputs: `[inputs, H, W]` f32, then the residual where the projection adds one; output: the
/// depthwise convolution's `[channels, OH, OW]`, or the projection's `[outputs, OH, OW]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PointwiseDepthwise {
    inputs: usize,
    channels: usize,
    /// Pointwise weights, `[channels rounded up to GROUP, inputs]`, the extra rows zero.
    pw_weights: Vec<f32>,
    /// Pointwise bias, `channels` rounded up to `GROUP`.
    pw_bias: Vec<f32>,
    pw_clamp: Clamp,
    /// Depthwise taps, `[channels, taps]` row-major over the kernel, and bias.
    dw_taps: Vec<f32>,
    dw_bias: Vec<f32>,
    dw_clamp: Clamp,
    planes: Planes,
    /// The 1x1 convolution that reads the depthwise output, when it is fused too.
    project: Option<Projection>,
    /// Output rows per strip.
    strip_rows: usize,
    output_shape: TVec<usize>,
}

/// A 1x1 convolution of the depthwise output (the block's projection back to few channels),
/// computed on each strip while it is in cache, with its bias and, where the block has one, the
/// residual tensor added (the op's second input, `[outputs, OH, OW]`).
#[derive(Debug, Clone, PartialEq)]
struct Projection {
    outputs: usize,
    /// `[outputs rounded up to GROUP, channels]`, the extra rows zero.
    weights: Vec<f32>,
    /// `outputs` rounded up to `GROUP`.
    bias: Vec<f32>,
    residual: bool,
}

// Weights compare by value; a NaN weight makes two copies of one op differ, which only costs a
// missed deduplication.
impl Eq for PointwiseDepthwise {}

impl PointwiseDepthwise {
    /// Padded rows one output row reads (the kernel's dilated height).
    fn reach(&self) -> usize {
        self.planes.rows - (self.planes.output_hw.0 - 1) * self.planes.strides.0
    }

    fn run(&self, x: &[f32], residual: Option<&[f32]>, out: &mut [f32]) -> TractResult<()> {
        let p = &self.planes;
        let ((ih, iw), (oh, ow)) = (p.input_hw, p.output_hw);
        let ((top, left), (sy, sx), pitch) = (p.pad_before, p.strides, p.pitch);
        let (c, reach, taps) = (self.channels, self.reach(), p.offsets.len());
        anyhow::ensure!(x.len() == self.inputs * ih * iw, "pointwise input is not [K, H, W]");
        let outputs = self.project.as_ref().map_or(c, |p| p.outputs);
        anyhow::ensure!(out.len() == outputs * oh * ow, "output is not [C, OH, OW]");
        anyhow::ensure!(
            residual.is_none_or(|r| r.len() == out.len())
                && residual.is_some() == self.project.as_ref().is_some_and(|p| p.residual),
            "residual is not [C, OH, OW]"
        );
        // With a projection, each strip's depthwise output goes here first, `strip_rows` rows
        // a channel.
        let mut strip =
            vec![0f32; if self.project.is_some() { c * self.strip_rows * ow } else { 0 }];
        let span = (self.strip_rows - 1) * sy + reach;
        let plane = span * pitch;
        // Zeroed once: rows are written between the borders only, so the borders stay zero.
        let mut scratch = vec![0f32; c * plane];
        let width = iw.min(pitch.saturating_sub(left));
        let pointwise = pointwise_kernel().context("no pointwise strip kernel on this CPU")?;
        let whole = tract_linalg::routines::depthwise_plane_f32();
        let ker = tract_linalg::routines::depthwise_w_f32()
            .context("the fused depthwise needs a vectorised depthwise kernel")?;
        let (pw_lower, pw_upper) = self.pw_clamp.bounds();
        let (lower, upper) = self.dw_clamp.bounds();
        let fused = !lower.is_some_and(f32::is_nan) && !upper.is_some_and(f32::is_nan);
        let mut held = 0usize..0;
        let mut oy0 = 0;
        while oy0 < oh {
            let rows = self.strip_rows.min(oh - oy0);
            let first = oy0 * sy;
            let end = first + (rows - 1) * sy + reach;
            // Rows the last strip made that this one reads again move to the top.
            let keep = held.end.saturating_sub(first);
            if keep > 0 && first > held.start {
                let from = (first - held.start) * pitch;
                for ch in scratch.chunks_mut(plane) {
                    ch.copy_within(from..from + keep * pitch, 0);
                }
            }
            for row in first + keep..end {
                let at = (row - first) * pitch + left;
                match usize::try_from(row as isize - top as isize) {
                    Ok(iy) if iy < ih => {
                        let job = PointwiseRows {
                            x: unsafe { x.as_ptr().add(iy * iw) },
                            x_stride: ih * iw,
                            inputs: self.inputs,
                            weights: &self.pw_weights,
                            bias: &self.pw_bias,
                            channels: c,
                            lower: pw_lower,
                            upper: pw_upper,
                            width,
                            out: unsafe { scratch.as_mut_ptr().add(at) },
                            out_stride: plane,
                            residual: std::ptr::null(),
                        };
                        // SAFETY: input `k` of this row is `x[k * ih * iw + iy * iw..][..iw]`,
                        // `width <= iw`; channel `ch`'s row is `scratch[ch * plane + at..]
                        // [..width]`, inside its plane as `at + width <= (span - 1) * pitch +
                        // pitch`.
                        unsafe { pointwise(&job) };
                    }
                    _ => {
                        for ch in scratch.chunks_mut(plane) {
                            ch[at..][..width].fill(0.0);
                        }
                    }
                }
            }
            held = first..end;
            for ch in 0..c {
                let out = match self.project {
                    Some(_) => &mut strip[ch * self.strip_rows * ow..][..rows * ow],
                    None => &mut out[(ch * oh + oy0) * ow..][..rows * ow],
                };
                let k = &self.dw_taps[ch * taps..][..taps];
                let input = scratch[ch * plane..][..plane].as_ptr();
                // SAFETY: the strip's last point reads scratch row `(rows - 1) * sy + reach - 1
                // < span`, column `pitch - 1`, as the plane path's last point does; `out` is
                // `rows * ow` points.
                unsafe {
                    if let Some(whole) = whole {
                        whole(&tract_linalg::routines::DepthwisePlane {
                            input,
                            row_step: (sy * pitch) as isize,
                            in_stride: sx,
                            output: out.as_mut_ptr(),
                            rows,
                            width: ow,
                            taps: k,
                            offsets: &p.offsets,
                            bias: self.dw_bias[ch],
                            lower: lower.filter(|_| fused),
                            upper: upper.filter(|_| fused),
                        });
                        if !fused {
                            self.dw_clamp.apply(out);
                        }
                    } else {
                        for (y, row) in out.chunks_mut(ow).enumerate() {
                            ker(
                                input.add(y * sy * pitch),
                                row.as_mut_ptr(),
                                k,
                                &p.offsets,
                                self.dw_bias[ch],
                                ow,
                                sx as isize,
                            );
                        }
                        self.dw_clamp.apply(out);
                    }
                }
            }
            if let Some(project) = &self.project {
                let job = PointwiseRows {
                    x: strip.as_ptr(),
                    x_stride: self.strip_rows * ow,
                    inputs: c,
                    weights: &project.weights,
                    bias: &project.bias,
                    channels: project.outputs,
                    lower: None,
                    upper: None,
                    width: rows * ow,
                    out: unsafe { out.as_mut_ptr().add(oy0 * ow) },
                    out_stride: oh * ow,
                    residual: residual
                        .map_or(std::ptr::null(), |r| unsafe { r.as_ptr().add(oy0 * ow) }),
                };
                // SAFETY: channel `ch` of the strip is `strip[ch * strip_rows * ow..][..rows *
                // ow]`; output (and residual) channel `o`'s rows are `[(o * oh + oy0) * ow..]
                // [..rows * ow]`.
                unsafe { pointwise(&job) };
            }
            oy0 += rows;
        }
        Ok(())
    }
}

impl Op for PointwiseDepthwise {
    fn name(&self) -> StaticName {
        "PointwiseDepthwise".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let ((ih, iw), (oh, ow)) = (self.planes.input_hw, self.planes.output_hw);
        let project = match &self.project {
            Some(p) if p.residual => format!(", projected to {} + residual", p.outputs),
            Some(p) => format!(", projected to {}", p.outputs),
            None => String::new(),
        };
        Ok(vec![format!(
            "{}x{ih}x{iw} -> {} channels, depthwise to {oh}x{ow} at strides {:?}{project}; {} \
             output rows a strip",
            self.inputs, self.channels, self.planes.strides, self.strip_rows
        )])
    }

    fn validation(&self) -> Validation {
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for PointwiseDepthwise {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        // SAFETY: `as_ptr` checks the type; an input tensor is dense, `len` elements.
        let slices = inputs
            .iter()
            .map(|t| Ok(unsafe { std::slice::from_raw_parts(t.as_ptr::<f32>()?, t.len()) }))
            .collect::<TractResult<TVec<&[f32]>>>()?;
        let mut output = unsafe { Tensor::uninitialized::<f32>(&self.output_shape)? };
        let out = unsafe { output.as_slice_mut_unchecked::<f32>() };
        self.run(slices[0], slices.get(1).copied(), out)?;
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for PointwiseDepthwise {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let (ih, iw) = self.planes.input_hw;
        let residual = self.project.as_ref().is_some_and(|p| p.residual);
        anyhow::ensure!(
            inputs.len() == 1 + residual as usize
                && inputs.iter().all(|i| i.datum_type == f32::datum_type())
                && inputs
                    .get(1)
                    .is_none_or(|r| r.shape.as_concrete() == Some(&self.output_shape[..]))
                && inputs[0].shape.as_concrete() == Some(&[self.inputs, ih, iw][..]),
            "PointwiseDepthwise takes an f32 [{}, {ih}, {iw}] input (and the residual)",
            self.inputs
        );
        Ok(tvec!(f32::fact(&self.output_shape)))
    }

    fn cost(&self, _inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let (ih, iw) = self.planes.input_hw;
        let (oh, ow) = self.planes.output_hw;
        let projected = self.project.as_ref().map_or(0, |p| p.outputs * self.channels * oh * ow);
        let macs = self.channels * (self.inputs * ih * iw + self.planes.offsets.len() * oh * ow)
            + projected;
        Ok(tvec!((Cost::FMA(f32::datum_type()), macs.into())))
    }

    as_op!();
}

/// One row of the pointwise product for every channel: channel `c`, point `i` is
/// `bias[c] + sum over k of weights[c * inputs + k] * x[k * x_stride + i]`, then `max(lower)`
/// and `min(upper)`, written at `out[c * out_stride + i]`, for `i < width`, `c < channels`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct PointwiseRows<'a> {
    x: *const f32,
    x_stride: usize,
    inputs: usize,
    /// `[channels rounded up to GROUP, inputs]`.
    weights: &'a [f32],
    bias: &'a [f32],
    channels: usize,
    lower: Option<f32>,
    upper: Option<f32>,
    width: usize,
    out: *mut f32,
    out_stride: usize,
    /// Added to each value after the bias, laid out as `out` (null: nothing).
    residual: *const f32,
}

type PointwiseKernel = unsafe fn(&PointwiseRows);

/// The strip kernel for this CPU, where there is one: x86-64 with AVX-512F, or AVX2 and FMA
/// (as tract's kernel choice sees the CPU). Elsewhere the transform leaves models alone.
fn pointwise_kernel() -> Option<PointwiseKernel> {
    #[cfg(target_arch = "x86_64")]
    {
        use tract_linalg::isa::Isa::*;
        let isa = tract_linalg::isa::native();
        if isa.has(X86_64Avx512f) {
            return Some(x86::avx512);
        }
        if isa.has(X86_64Avx2) && isa.has(X86_64Fma) {
            return Some(x86::avx2);
        }
    }
    None
}

/// One output value of [`PointwiseRows`]: the reference the kernels are tested against, and the
/// AVX2 kernel's tail.
///
/// # Safety
/// As [`PointwiseRows`] says, for channel `c` and point `i`.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[inline(always)]
unsafe fn pointwise_point(job: &PointwiseRows, c: usize, i: usize) {
    let k = job.inputs;
    let mut acc = 0f32;
    for kk in 0..k {
        let x = unsafe { *job.x.add(kk * job.x_stride + i) };
        acc = job.weights[c * k + kk].mul_add(x, acc);
    }
    let mut y = acc + job.bias[c];
    if !job.residual.is_null() {
        y += unsafe { *job.residual.add(c * job.out_stride + i) };
    }
    if let Some(lo) = job.lower {
        y = y.max(lo);
    }
    if let Some(hi) = job.upper {
        y = y.min(hi);
    }
    unsafe { *job.out.add(c * job.out_stride + i) = y };
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{GROUP, PointwiseRows, pointwise_point};
    use std::arch::x86_64::*;

    /// AVX-512: `GROUP` channels by 32 points (two vectors) per pass, 16 accumulators; a row's
    /// last points with masked loads and stores.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512(job: &PointwiseRows) {
        let k = job.inputs;
        let lower = job.lower.map(|v| _mm512_set1_ps(v));
        let upper = job.upper.map(|v| _mm512_set1_ps(v));
        let mask = |n: usize| -> __mmask16 { ((1u32 << n.min(16)) - 1) as __mmask16 };
        let mut c = 0;
        while c < job.channels {
            let group = GROUP.min(job.channels - c);
            let w = &job.weights[c * k..][..GROUP * k];
            let mut i = 0;
            while i < job.width {
                let left = job.width - i;
                let (m0, m1) = (mask(left), mask(left.saturating_sub(16)));
                let mut acc = [[_mm512_setzero_ps(); 2]; GROUP];
                for kk in 0..k {
                    // SAFETY: masked to the row's points (`PointwiseRows`).
                    let (x0, x1) = unsafe {
                        let src = job.x.add(kk * job.x_stride + i);
                        (_mm512_maskz_loadu_ps(m0, src), _mm512_maskz_loadu_ps(m1, src.add(16)))
                    };
                    for (g, acc) in acc.iter_mut().enumerate() {
                        let wv = _mm512_set1_ps(w[g * k + kk]);
                        acc[0] = _mm512_fmadd_ps(wv, x0, acc[0]);
                        acc[1] = _mm512_fmadd_ps(wv, x1, acc[1]);
                    }
                }
                for (g, acc) in acc.iter().enumerate().take(group) {
                    let b = _mm512_set1_ps(job.bias[c + g]);
                    for (h, (&a, m)) in acc.iter().zip([m0, m1]).enumerate() {
                        let mut y = _mm512_add_ps(a, b);
                        let at = (c + g) * job.out_stride + i + 16 * h;
                        if !job.residual.is_null() {
                            // SAFETY: laid out as the output, masked as its store.
                            y = _mm512_add_ps(y, unsafe {
                                _mm512_maskz_loadu_ps(m, job.residual.add(at))
                            });
                        }
                        if let Some(lo) = lower {
                            y = _mm512_max_ps(y, lo);
                        }
                        if let Some(hi) = upper {
                            y = _mm512_min_ps(y, hi);
                        }
                        // SAFETY: masked to channel `c + g`'s points in its row.
                        unsafe { _mm512_mask_storeu_ps(job.out.add(at), m, y) };
                    }
                }
                i += 32;
            }
            c += GROUP;
        }
    }

    /// AVX2 and FMA: four channels by 16 points (two vectors) per pass, 8 accumulators; a row's
    /// last points (fewer than 16) one at a time.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2(job: &PointwiseRows) {
        const SUB: usize = 4;
        let k = job.inputs;
        let lower = job.lower.map(|v| _mm256_set1_ps(v));
        let upper = job.upper.map(|v| _mm256_set1_ps(v));
        let full = job.width / 16 * 16;
        let mut c = 0;
        while c < job.channels {
            let group = SUB.min(job.channels - c);
            let w = &job.weights[c * k..][..SUB * k];
            for i in (0..full).step_by(16) {
                let mut acc = [[_mm256_setzero_ps(); 2]; SUB];
                for kk in 0..k {
                    // SAFETY: points `i..i + 16` are in the row (`PointwiseRows`).
                    let (x0, x1) = unsafe {
                        let src = job.x.add(kk * job.x_stride + i);
                        (_mm256_loadu_ps(src), _mm256_loadu_ps(src.add(8)))
                    };
                    for (g, acc) in acc.iter_mut().enumerate() {
                        let wv = _mm256_set1_ps(w[g * k + kk]);
                        acc[0] = _mm256_fmadd_ps(wv, x0, acc[0]);
                        acc[1] = _mm256_fmadd_ps(wv, x1, acc[1]);
                    }
                }
                for (g, acc) in acc.iter().enumerate().take(group) {
                    let b = _mm256_set1_ps(job.bias[c + g]);
                    for (h, &a) in acc.iter().enumerate() {
                        let mut y = _mm256_add_ps(a, b);
                        let at = (c + g) * job.out_stride + i + 8 * h;
                        if !job.residual.is_null() {
                            // SAFETY: laid out as the output.
                            y = _mm256_add_ps(y, unsafe { _mm256_loadu_ps(job.residual.add(at)) });
                        }
                        if let Some(lo) = lower {
                            y = _mm256_max_ps(y, lo);
                        }
                        if let Some(hi) = upper {
                            y = _mm256_min_ps(y, hi);
                        }
                        // SAFETY: channel `c + g`'s points `i + 8h..` are in its row.
                        unsafe { _mm256_storeu_ps(job.out.add(at), y) };
                    }
                }
            }
            for g in 0..group {
                for i in full..job.width {
                    // SAFETY: as above.
                    unsafe { pointwise_point(job, c + g, i) };
                }
            }
            c += SUB;
        }
    }
}

/// The `pointwise_depthwise` transform: every block of the module docs whose pointwise product
/// has at most [`MAX_INPUTS`] inputs, weights that are not mostly zero, and a wide tensor of at
/// least `min_wide_bytes`, its strips about `strip_bytes`.
#[derive(Debug)]
pub struct PointwiseDepthwiseFusion {
    pub min_wide_bytes: usize,
    pub strip_bytes: usize,
    /// Fuse the 1x1 convolution that reads the depthwise output too, where there is one.
    pub project: bool,
}

impl Default for PointwiseDepthwiseFusion {
    fn default() -> Self {
        PointwiseDepthwiseFusion {
            min_wide_bytes: MIN_WIDE_BYTES,
            strip_bytes: STRIP_BYTES,
            project: true,
        }
    }
}

impl ModelTransform for PointwiseDepthwiseFusion {
    fn name(&self) -> StaticName {
        "pointwise_depthwise".into()
    }

    fn transform(&self, model: &mut TypedModel) -> TractResult<()> {
        if !TRACT_PW_DW.get() || pointwise_kernel().is_none() {
            return Ok(());
        }
        loop {
            let mut found = None;
            for id in model.eval_order()? {
                if let Some(patch) = self.fuse(model, &model.nodes[id])? {
                    found = Some(patch);
                    break;
                }
            }
            let Some(patch) = found else { break };
            patch.apply(model)?;
            model.compact()?;
        }
        Ok(())
    }
}

/// The only successor of `node`'s single output, when there is one and the output is not one of
/// the model's.
fn sole_successor<'m>(
    model: &'m TypedModel,
    node: &TypedNode,
) -> TractResult<Option<&'m TypedNode>> {
    if node.outputs.len() != 1
        || node.outputs[0].successors.len() != 1
        || model.output_outlets()?.contains(&node.id.into())
    {
        return Ok(None);
    }
    Ok(Some(model.node(node.outputs[0].successors[0].node)))
}

/// `node` as a binary op of `node` input `from` and an f32 constant, the op and the constant.
fn with_constant(
    model: &TypedModel,
    node: &TypedNode,
    from: usize,
) -> TractResult<Option<(tract_linalg::BinOp, Arc<Tensor>)>> {
    let Some(op) = node.op_as::<TypedBinOp>().and_then(|op| op.0.as_linalg_binop()) else {
        return Ok(None);
    };
    if node.inputs.len() != 2 {
        return Ok(None);
    }
    let Some(slot) = (0..2).find(|&i| node.inputs[i].node == from) else { return Ok(None) };
    let other = node.inputs[1 - slot];
    if other.node == from {
        return Ok(None);
    }
    match &model.outlet_fact(other)?.konst {
        Some(k) if k.datum_type() == f32::datum_type() => Ok(Some((op, k.clone()))),
        _ => Ok(None),
    }
}

/// Follows `Max` then `Min` by constant scalars after `node`: the last node and the bounds.
fn bounds_after<'m>(
    model: &'m TypedModel,
    mut node: &'m TypedNode,
) -> TractResult<(&'m TypedNode, Option<f32>, Option<f32>)> {
    let (mut lower, mut upper) = (None, None);
    while let Some(next) = sole_successor(model, node)? {
        let Some((op, k)) = with_constant(model, next, node.id)? else { break };
        if k.len() != 1 || next.outputs[0].fact != node.outputs[0].fact {
            break;
        }
        let v = k.cast_to_scalar::<f32>()?;
        match op {
            tract_linalg::BinOp::Max if lower.is_none() && upper.is_none() && !v.is_nan() => {
                lower = Some(v)
            }
            tract_linalg::BinOp::Min if upper.is_none() && !v.is_nan() => upper = Some(v),
            _ => break,
        }
        node = next;
    }
    Ok((node, lower, upper))
}

/// The 1x1 convolution (with a constant bias, then optionally a residual tensor added) that alone
/// reads `from`'s `[channels, OH, OW]` output: the projection, its last node, the residual.
fn projection<'m>(
    model: &'m TypedModel,
    from: &'m TypedNode,
    channels: usize,
    (oh, ow): (usize, usize),
) -> TractResult<Option<(Projection, &'m TypedNode, Option<OutletId>)>> {
    let Some(node) = sole_successor(model, from)? else { return Ok(None) };
    if node.inputs[0] != from.id.into() {
        return Ok(None);
    }
    let Some((w, bias, add)) = pointwise_with_bias(model, node)? else { return Ok(None) };
    if w.shape()[1] != channels {
        return Ok(None);
    }
    let outputs = w.shape()[0];
    let (mut last, mut residual) = (add, None);
    if let Some(next) = sole_successor(model, add)?
        && next.op_as::<TypedBinOp>().and_then(|op| op.0.as_linalg_binop())
            == Some(tract_linalg::BinOp::Add)
        && next.inputs.len() == 2
        && next.outputs[0].fact.shape == add.outputs[0].fact.shape
    {
        let other = next.inputs[(next.inputs[0].node == add.id) as usize];
        let fact = model.outlet_fact(other)?;
        if other.node != add.id
            && fact.konst.is_none()
            && fact.datum_type == f32::datum_type()
            && fact.shape.as_concrete() == Some(&[outputs, oh, ow][..])
        {
            (last, residual) = (next, Some(other));
        }
    }
    let (weights, bias) =
        padded_to_groups(w.try_as_plain_ram()?.as_slice::<f32>()?, &bias, outputs)?;
    let residual_used = residual.is_some();
    Ok(Some((Projection { outputs, weights, bias, residual: residual_used }, last, residual)))
}

/// A 1x1 convolution (`IHW,OI->OHW`, [`is_pointwise`]) by constant f32 `[O, I]` weights that
/// are not mostly zero (those go to the sparse product), and the `Add` of a constant `[O, 1, 1]`
/// bias that alone reads it: the weights, the bias and the `Add`.
fn pointwise_with_bias<'m>(
    model: &'m TypedModel,
    node: &'m TypedNode,
) -> TractResult<Option<(Arc<Tensor>, Arc<Tensor>, &'m TypedNode)>> {
    let Some(einsum) = node.op_as::<EinSum>() else { return Ok(None) };
    if einsum.q_params.is_some()
        || einsum.operating_dt != f32::datum_type()
        || !is_pointwise(einsum)
    {
        return Ok(None);
    }
    let Some(w) = model.outlet_fact(node.inputs[1])?.konst.clone() else { return Ok(None) };
    if w.datum_type() != f32::datum_type()
        || w.rank() != 2
        || mostly_zero(w.try_as_plain_ram()?.as_slice::<f32>()?)
    {
        return Ok(None);
    }
    let Some(add) = sole_successor(model, node)? else { return Ok(None) };
    let Some((tract_linalg::BinOp::Add, bias)) = with_constant(model, add, node.id)? else {
        return Ok(None);
    };
    if bias.shape() != [w.shape()[0], 1, 1] || add.outputs[0].fact != node.outputs[0].fact {
        return Ok(None);
    }
    Ok(Some((w, bias, add)))
}

/// `[rows, k]` weights and their `rows` biases with zero rows added up to a multiple of
/// `GROUP`, as the strip kernels read them.
fn padded_to_groups(
    weights: &[f32],
    bias: &Tensor,
    rows: usize,
) -> TractResult<(Vec<f32>, Vec<f32>)> {
    let rounded = rows.div_ceil(GROUP) * GROUP;
    let mut weights = weights.to_vec();
    weights.resize(rounded * (weights.len() / rows), 0.0);
    let mut bias = bias.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
    bias.resize(rounded, 0.0);
    Ok((weights, bias))
}

/// Whether an einsum is `IHW,OI->OHW`: a 1x1 convolution of a channel-first `[K, H, W]` input
/// by `[C, K]` weights.
fn is_pointwise(op: &EinSum) -> bool {
    let want: [(&[usize], &[usize], &[usize]); 4] =
        [(&[0], &[1], &[]), (&[], &[0], &[0]), (&[1], &[], &[1]), (&[2], &[], &[2])];
    let axes: Vec<_> = op.axes.iter_all_axes().collect();
    op.axes.input_count() == 2
        && op.axes.output_count() == 1
        && axes.len() == 4
        && want.iter().all(|(i0, i1, o)| {
            axes.iter()
                .any(|a| &*a.inputs[0] == *i0 && &*a.inputs[1] == *i1 && &*a.outputs[0] == *o)
        })
}

impl PointwiseDepthwiseFusion {
    /// The patch fusing the block starting at `node`, if it is one (module docs).
    fn fuse(&self, model: &TypedModel, node: &TypedNode) -> TractResult<Option<TypedModelPatch>> {
        if !node.op_is::<EinSum>() || node.inputs.len() != 2 {
            return Ok(None);
        }
        // The cheap checks first: the transform asks every node again after each fusion.
        let facts = model.node_input_facts(node.id)?;
        let (x, w) = (facts[0], facts[1]);
        let Some(&[k, ih, iw]) = x.shape.as_concrete() else { return Ok(None) };
        let Some(&[c, _]) = w.shape.as_concrete() else { return Ok(None) };
        if x.datum_type != f32::datum_type()
            || k > MAX_INPUTS
            || c * ih * iw * 4 < self.min_wide_bytes
        {
            return Ok(None);
        }
        let Some((w, bias, add)) = pointwise_with_bias(model, node)? else { return Ok(None) };
        let weights = w.try_as_plain_ram()?.as_slice::<f32>()?;
        let (last, pw_lower, pw_upper) = bounds_after(model, add)?;
        // The depthwise convolution.
        let Some(conv_node) = sole_successor(model, last)? else { return Ok(None) };
        let Some(conv) = conv_node.op_as::<Conv>() else { return Ok(None) };
        if conv.q_params.is_some()
            || conv.group != c
            || conv.kernel_fmt != KernelFormat::OIHW
            || conv.pool_spec.data_format.has_n()
            || conv.pool_spec.data_format.c_is_last()
            || conv_node.inputs.len() != 3
            || conv_node.inputs[0] != last.id.into()
        {
            return Ok(None);
        }
        let (Some(kernel), Some(dw_bias)) = (
            model.outlet_fact(conv_node.inputs[1])?.konst.clone(),
            model.outlet_fact(conv_node.inputs[2])?.konst.clone(),
        ) else {
            return Ok(None);
        };
        if kernel.datum_type() != f32::datum_type()
            || kernel.rank() != 4
            || kernel.shape()[..2] != [c, 1]
            || dw_bias.datum_type() != f32::datum_type()
            || dw_bias.len() != c
        {
            return Ok(None);
        }
        let wide = &last.outputs[0].fact;
        let wide_shape = wide.shape.as_concrete().context("wide tensor shape")?;
        let geo = conv.pool_spec.compute_geo(&wide.shape)?.to_concrete(wide_shape)?.into_owned();
        let (dw_last, lower, upper) = bounds_after(model, conv_node)?;
        let dw = DepthWise::new(geo.patch, geo.input_shape, geo.output_shape.clone());
        let Some(planes) = dw.planes() else { return Ok(None) };
        let oh = planes.output_hw.0;
        let (sy, pitch) = (planes.strides.0, planes.pitch);
        let reach = planes.rows - (oh - 1) * sy;
        let row_bytes = c * sy * pitch * 4;
        let strip_rows =
            (self.strip_bytes.saturating_sub(c * reach * pitch * 4) / row_bytes).clamp(1, oh);

        let (pw_weights, pw_bias) = padded_to_groups(weights, &bias, c)?;
        let (oh, ow) = planes.output_hw;
        let dw_shape: TVec<usize> = geo.output_shape.shape.iter().cloned().collect();
        if dw_last.outputs[0].fact.shape.as_concrete() != Some(&dw_shape[..]) {
            return Ok(None);
        }
        let projection = if self.project { projection(model, dw_last, c, (oh, ow))? } else { None };
        let (project, last, residual) = match projection {
            Some((p, last, residual)) => (Some(p), last, residual),
            None => (None, dw_last, None),
        };
        let mut output_shape = dw_shape;
        output_shape[0] = project.as_ref().map_or(c, |p| p.outputs);
        let op = PointwiseDepthwise {
            inputs: k,
            channels: c,
            pw_weights,
            pw_bias,
            pw_clamp: Clamp::new(pw_lower, pw_upper),
            dw_taps: kernel.try_as_plain_ram()?.as_slice::<f32>()?.to_vec(),
            dw_bias: dw_bias.try_as_plain_ram()?.as_slice::<f32>()?.to_vec(),
            dw_clamp: Clamp::new(lower, upper),
            planes,
            project,
            strip_rows,
            output_shape,
        };
        let mut patch = TypedModelPatch::new(format!("pointwise_depthwise {}", node.name));
        let mut inputs = tvec![patch.tap_model(model, node.inputs[0])?];
        if let Some(r) = residual {
            inputs.push(patch.tap_model(model, r)?);
        }
        let out = patch.wire_node(&conv_node.name, op, &inputs)?[0];
        patch.shunt_outside(model, last.id.into(), out)?;
        Ok(Some(patch))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::cnn::{PaddingSpec, PoolSpec};
    use crate::ops::math;
    use crate::ops::nn::DataFormat;

    /// One block: `k` inputs widened to `c` channels on an `h` x `w` plane, then a depthwise
    /// `kernel` at `strides` with `pad` (before, after), each with optional bounds.
    #[derive(Clone, Debug)]
    struct Block {
        k: usize,
        c: usize,
        hw: (usize, usize),
        kernel: (usize, usize),
        strides: (usize, usize),
        pad: ([usize; 2], [usize; 2]),
        pw_bounds: (Option<f32>, Option<f32>),
        dw_bounds: (Option<f32>, Option<f32>),
        zeros: bool,
        /// A 1x1 convolution to this many channels after the depthwise one, and whether a
        /// residual tensor (a second input) is added to it.
        project: Option<(usize, bool)>,
    }

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    fn bounds(
        model: &mut TypedModel,
        name: &str,
        mut wire: OutletId,
        (lower, upper): (Option<f32>, Option<f32>),
    ) -> TractResult<OutletId> {
        if let Some(lo) = lower {
            let k = model.add_const(format!("{name}.lo"), tensor3(&[[[lo]]]))?;
            wire = model.wire_node(format!("{name}.max"), math::max(), &[wire, k])?[0];
        }
        if let Some(hi) = upper {
            let k = model.add_const(format!("{name}.hi"), tensor3(&[[[hi]]]))?;
            wire = model.wire_node(format!("{name}.min"), math::min(), &[wire, k])?[0];
        }
        Ok(wire)
    }

    fn model(b: &Block) -> TractResult<TypedModel> {
        let (h, w) = b.hw;
        let (kh, kw) = b.kernel;
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([b.k, h, w]))?;
        let mut weights = values(b.c * b.k, 1);
        if b.zeros {
            weights.iter_mut().step_by(4).skip(1).for_each(|v| *v = 0.0);
            weights.iter_mut().skip(1).step_by(4).for_each(|v| *v = 0.0);
            weights.iter_mut().skip(2).step_by(4).for_each(|v| *v = 0.0);
        }
        let weights = model.add_const("w", tensor1(&weights).into_shape(&[b.c, b.k])?)?;
        let pw = EinSum::new("ihw,oi->ohw".parse()?, f32::datum_type());
        let y = model.wire_node("pw", pw, &[x, weights])?[0];
        let bias = model.add_const("b", tensor1(&values(b.c, 2)).into_shape(&[b.c, 1, 1])?)?;
        let y = model.wire_node("pw.bias", math::add(), &[y, bias])?[0];
        let y = bounds(&mut model, "pw", y, b.pw_bounds)?;
        let conv = Conv {
            pool_spec: PoolSpec {
                data_format: DataFormat::CHW,
                kernel_shape: tvec![kh, kw],
                padding: PaddingSpec::Explicit(
                    b.pad.0.iter().copied().collect(),
                    b.pad.1.iter().copied().collect(),
                ),
                dilations: None,
                strides: Some(tvec![b.strides.0, b.strides.1]),
                input_channels: b.c,
                output_channels: b.c,
            },
            kernel_fmt: KernelFormat::OIHW,
            group: b.c,
            q_params: None,
        };
        let kernel = tensor1(&values(b.c * kh * kw, 3)).into_shape(&[b.c, 1, kh, kw])?;
        let kernel = model.add_const("dw.k", kernel)?;
        let dw_bias = model.add_const("dw.b", tensor1(&values(b.c, 4)))?;
        let y = model.wire_node("dw", conv, &[y, kernel, dw_bias])?[0];
        let mut y = bounds(&mut model, "dw", y, b.dw_bounds)?;
        if let Some((outputs, residual)) = b.project {
            let weights = tensor1(&values(outputs * b.c, 6)).into_shape(&[outputs, b.c])?;
            let weights = model.add_const("proj.w", weights)?;
            let pw = EinSum::new("ihw,oi->ohw".parse()?, f32::datum_type());
            y = model.wire_node("proj", pw, &[y, weights])?[0];
            let bias = tensor1(&values(outputs, 7)).into_shape(&[outputs, 1, 1])?;
            let bias = model.add_const("proj.b", bias)?;
            y = model.wire_node("proj.bias", math::add(), &[y, bias])?[0];
            if residual {
                let shape = model.outlet_fact(y)?.shape.clone();
                let r = model.add_source("r", f32::fact(shape))?;
                y = model.wire_node("proj.residual", math::add(), &[r, y])?[0];
            }
        }
        model.select_output_outlets(&[y])?;
        Ok(model)
    }

    fn fused(model: &TypedModel, fusion: &PointwiseDepthwiseFusion) -> TractResult<TypedModel> {
        let mut fused = model.clone().into_decluttered()?;
        fusion.transform(&mut fused)?;
        Ok(fused)
    }

    fn count(model: &TypedModel) -> usize {
        model.nodes.iter().filter(|n| n.op_is::<PointwiseDepthwise>()).count()
    }

    fn run(model: TypedModel, inputs: &[Tensor]) -> TractResult<Tensor> {
        let inputs = inputs.iter().map(|t| t.clone().into()).collect();
        let out = model.into_optimized()?.into_runnable()?.run(inputs)?;
        Ok(out[0].clone().into_tensor())
    }

    /// The fused block against the same block unfused (the matrix product and the plane path),
    /// value for value within 1e-5 (relative), with strips of every size.
    fn check(b: &Block) {
        if pointwise_kernel().is_none() {
            eprintln!("no strip kernel on this CPU: skipped");
            return;
        }
        let m = model(b).unwrap();
        let (h, w) = b.hw;
        let mut inputs = vec![tensor1(&values(b.k * h * w, 5)).into_shape(&[b.k, h, w]).unwrap()];
        if let Some((_, true)) = b.project {
            let shape = m.outlet_fact(m.outputs[0]).unwrap().shape.as_concrete().unwrap().to_vec();
            let n = shape.iter().product();
            inputs.push(tensor1(&values(n, 8)).into_shape(&shape).unwrap());
        }
        let want = run(m.clone(), &inputs).unwrap();
        let want = want.try_as_plain_ram().unwrap();
        let want = want.as_slice::<f32>().unwrap();
        // Strips of one row, a few rows, and the whole plane.
        for strip_bytes in [0, 6 * b.c * w * 4, usize::MAX / 2] {
            let fusion = PointwiseDepthwiseFusion { min_wide_bytes: 0, strip_bytes, project: true };
            let f = fused(&m, &fusion).unwrap();
            assert_eq!(count(&f), 1, "{b:?}: not fused");
            let projected = f
                .nodes
                .iter()
                .any(|n| n.op_as::<PointwiseDepthwise>().is_some_and(|op| op.project.is_some()));
            assert_eq!(projected, b.project.is_some(), "{b:?}: projection fused or not");
            let got = run(f, &inputs).unwrap();
            assert_eq!(
                got.shape(),
                &*m.outlet_fact(m.outputs[0]).unwrap().shape.as_concrete().unwrap()
            );
            let got = got.try_as_plain_ram().unwrap();
            for (i, (g, w)) in got.as_slice::<f32>().unwrap().iter().zip(want).enumerate() {
                assert!(
                    (g - w).abs() <= 1e-5 * w.abs().max(1.0),
                    "{b:?}, strips of {strip_bytes} bytes: point {i}: {g} against {w}"
                );
            }
        }
    }

    fn block() -> Block {
        Block {
            k: 16,
            c: 24,
            hw: (20, 37),
            kernel: (3, 3),
            strides: (1, 1),
            pad: ([1, 1], [1, 1]),
            pw_bounds: (Some(0.0), Some(6.0)),
            dw_bounds: (Some(0.0), Some(6.0)),
            zeros: false,
            project: None,
        }
    }

    #[test]
    fn matches_unfused_with_the_projection_and_residual() {
        // Outputs around the groups of 8; widths whose strips end inside a vector.
        for (outputs, residual) in [(2, false), (8, true), (13, true), (24, false), (40, true)] {
            for strides in [(1, 1), (2, 2)] {
                for w in [9, 37] {
                    check(&Block {
                        project: Some((outputs, residual)),
                        strides,
                        hw: (14, w),
                        ..block()
                    });
                }
            }
        }
        check(&Block { project: Some((16, true)), c: 7, k: 3, ..block() });
    }

    #[test]
    fn matches_unfused_at_stride_1_and_2_and_every_kernel_size() {
        for (kernel, pad) in [((3, 3), 1), ((3, 3), 0), ((5, 5), 2), ((3, 5), 1)] {
            for strides in [(1, 1), (2, 2)] {
                if pad == 0 && strides == (1, 1) {
                    continue; // the depthwise zone walk's case, not the plane path's
                }
                let (ph, pw) = if kernel.0 == kernel.1 { (pad, pad) } else { (1, 2) };
                check(&Block { kernel, strides, pad: ([ph, pw], [ph, pw]), ..block() });
            }
        }
    }

    #[test]
    fn matches_unfused_at_odd_widths_channels_and_inputs() {
        // Widths around the 16- and 32-point vectors, channels around the groups of 4 and 8.
        for (w, c, k) in [
            (1, 1, 1),
            (7, 5, 3),
            (15, 9, 32),
            (16, 8, 16),
            (17, 12, 7),
            (33, 13, 24),
            (64, 16, 16),
            (100, 31, 5),
        ] {
            for strides in [(1, 1), (2, 2)] {
                check(&Block { hw: (11, w), c, k, strides, ..block() });
            }
        }
    }

    #[test]
    fn matches_unfused_with_any_bounds_and_asymmetric_padding() {
        for pw_bounds in
            [(None, None), (Some(0.0), None), (None, Some(0.5)), (Some(-0.25), Some(0.25))]
        {
            for dw_bounds in [(None, None), (Some(0.0), Some(6.0))] {
                check(&Block { pw_bounds, dw_bounds, ..block() });
            }
        }
        // SAME padding of a stride-2 convolution on an even plane: one row and column after.
        check(&Block { hw: (32, 32), strides: (2, 2), pad: ([0, 0], [1, 1]), ..block() });
        check(&Block { hw: (9, 40), strides: (2, 1), pad: ([2, 0], [1, 2]), ..block() });
    }

    #[test]
    fn leaves_alone_what_it_should_not_fuse() {
        let fusion =
            PointwiseDepthwiseFusion { min_wide_bytes: 0, strip_bytes: STRIP_BYTES, project: true };
        if pointwise_kernel().is_none() {
            return;
        }
        // Too many inputs per point, mostly-zero weights, a wide tensor too small.
        let many = model(&Block { k: MAX_INPUTS + 1, ..block() }).unwrap();
        assert_eq!(count(&fused(&many, &fusion).unwrap()), 0);
        let sparse = model(&Block { zeros: true, ..block() }).unwrap();
        assert_eq!(count(&fused(&sparse, &fusion).unwrap()), 0);
        let small = model(&block()).unwrap();
        assert_eq!(count(&fused(&small, &PointwiseDepthwiseFusion::default()).unwrap()), 0);
        // A wide tensor something else also reads stays.
        let mut shared = model(&block()).unwrap();
        let wide = shared.node_by_name("pw.min").unwrap().id;
        let outputs = vec![shared.outputs[0], OutletId::new(wide, 0)];
        shared.select_output_outlets(&outputs).unwrap();
        assert_eq!(count(&fused(&shared, &fusion).unwrap()), 0);
    }
}
