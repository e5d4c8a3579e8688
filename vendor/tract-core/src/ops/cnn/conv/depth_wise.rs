use crate::internal::*;
use crate::ops::cnn::Patch;
use crate::ops::cnn::patches::ZoneScanner;
use crate::ops::nn::DataShape;
use num_traits::Zero;

/// Largest zone `process_zone_any` hands to the vectorised kernel; 9x9 is 81 taps and 11x11
/// is 121. The taps live in stack arrays of this size, two per call.
const MAX_VECTORISED_TAPS: usize = 128;

#[derive(Debug, Clone, new, Hash, PartialEq, Eq)]
pub struct DepthWise {
    patch: Patch,
    input_shape: DataShape,
    output_shape: DataShape,
    /// A following `Max` / `Min` by a constant (ReLU, ReLU6), fused: see [`Clamp`].
    #[new(default)]
    clamp: Clamp,
}

/// Bounds applied to every f32 output, in place of the `Max(x, lower)` then `Min(x, upper)`
/// nodes that followed the convolution (ReLU6 after every depthwise convolution of
/// MobileNet-style networks). Applied while a plane is still in cache, it spares the separate
/// pass over the whole output those nodes cost. Stored as bits for `Hash` and `Eq`.
#[derive(Debug, Clone, Copy, Default, Hash, PartialEq, Eq)]
pub struct Clamp {
    lower: Option<u32>,
    upper: Option<u32>,
}

impl Clamp {
    /// Bounds from an optional lower (`Max`) and upper (`Min`) constant.
    pub(super) fn new(lower: Option<f32>, upper: Option<f32>) -> Clamp {
        Clamp { lower: lower.map(f32::to_bits), upper: upper.map(f32::to_bits) }
    }

    fn is_none(&self) -> bool {
        self.lower.is_none() && self.upper.is_none()
    }

    pub(super) fn bounds(&self) -> (Option<f32>, Option<f32>) {
        (self.lower.map(f32::from_bits), self.upper.map(f32::from_bits))
    }

    /// `max(x, lower)` then `min(x, upper)`, with `f32::max` / `f32::min` as tract's own `Max`
    /// and `Min` evaluate f32.
    pub(super) fn apply(&self, data: &mut [f32]) {
        match self.bounds() {
            (Some(lo), Some(hi)) => data.iter_mut().for_each(|x| *x = x.max(lo).min(hi)),
            (Some(lo), None) => data.iter_mut().for_each(|x| *x = x.max(lo)),
            (None, Some(hi)) => data.iter_mut().for_each(|x| *x = x.min(hi)),
            (None, None) => (),
        }
    }
}

impl Op for DepthWise {
    fn name(&self) -> StaticName {
        "DepthWiseConv".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let mut info = vec![format!("{:?}", self.patch)];
        if !self.clamp.is_none() {
            let show =
                |b: Option<u32>| b.map(|b| f32::from_bits(b).to_string()).unwrap_or_default();
            info.push(format!("clamp {}..{}", show(self.clamp.lower), show(self.clamp.upper)));
        }
        Ok(info)
    }

    fn validation(&self) -> Validation {
        Validation::Rounding
    }

    op_as_typed_op!();
}

impl EvalOp for DepthWise {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let dt = inputs[0].datum_type();
        #[cfg(target_arch = "aarch64")]
        if dt == f16::datum_type() && tract_linalg::arm64::has_fp16() {
            return unsafe {
                eval_t_aarch64fp16::<f16>(
                    self,
                    inputs,
                    |a, b| tract_linalg::arm64::add_f16(a, b),
                    |a, b| tract_linalg::arm64::mul_f16(a, b),
                )
            };
        }
        if dt == f32::datum_type()
            && let Some(planes) = self.planes()
        {
            return planes.eval(inputs, &self.output_shape.shape, self.clamp);
        }
        let mut outputs = dispatch_floatlike!(Self::eval_gen(dt)(self, inputs))?;
        if !self.clamp.is_none() {
            // Only f32 convolutions take a clamp (`fuse`).
            let mut output = outputs.remove(0).into_tensor();
            self.clamp.apply(unsafe { output.as_slice_mut_unchecked::<f32>() });
            outputs.insert(0, output.into_tvalue());
        }
        Ok(outputs)
    }
}

/// A channel-first f32 depthwise convolution run plane by plane through a zero-bordered copy.
///
/// The zone walk is fast where an unpadded plane is one interior zone of long contiguous rows.
/// Two common cases are not:
/// * stride 2 (every MobileNet-style downsampling block): the walk's rows read every other
///   input, and
/// * padded convolutions: the border zones are walked in runs of one to a few points, at a
///   fraction of the interior's speed, and on the small planes deep in the same networks (5x5
///   on 8x8 or 16x16) they are most of the points (40 of 49 on 7x7).
///
/// Here each (n, c) plane is copied once into a scratch buffer with the padding written out as
/// zeros, so every output point has all its taps in range and one tap list serves the whole
/// plane. Output rows then go to the vectorised depthwise kernel whole, at the convolution's
/// stride; planes narrower than [`PLANES_LINEAR_WIDTH`] go as a single run spanning every row
/// (the points between rows are computed into a scratch row and dropped), so even a 7-wide plane
/// fills whole vectors.
///
/// Where tract-linalg has a whole-plane kernel (`depthwise_plane_f32`: x86-64 with AVX-512F, or
/// AVX2 and FMA), a plane goes to it in one call instead: several rows per pass of the taps, so
/// narrow planes need no single-run layout, and the bounds applied as it stores.
///
/// Every output is the bias plus every tap's product in kernel order, as in the zone walk; the
/// zone walk leaves out the taps that fall in the padding, which here add `k * 0.0`. Results are
/// equal (to the sign of an exact zero) wherever the kernel is finite, except that the
/// whole-plane kernel fuses each multiply and add (one rounding per tap instead of two).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Planes {
    pub(super) input_hw: (usize, usize),
    pub(super) output_hw: (usize, usize),
    pub(super) pad_before: (usize, usize),
    pub(super) strides: (usize, usize),
    /// Tap offsets in the scratch plane, row-major over the kernel.
    pub(super) offsets: TVec<isize>,
    /// Scratch rows and row length: exactly what the last output point reads.
    pub(super) rows: usize,
    pub(super) pitch: usize,
    /// One kernel run over all rows (`pitch` points per row) rather than one per row.
    linear: bool,
}

/// Output planes narrower than this (with equal strides) go to the kernel as one run over all
/// their rows. Row by row, a 7-, 14- or 28-point row leaves up to 7 points to the scalar tail
/// (and the stride-2 loop needs one point of slack), while the single run pays for the
/// `pitch - width` points between rows: few at stride 1, as many again at stride 2.
const PLANES_LINEAR_WIDTH: usize = 32;

impl DepthWise {
    /// The [`Planes`] plan for this convolution, when it is one the plane path serves better: 2-D,
    /// channel-first and densely laid out, a vectorised kernel on this CPU, stride 1 or 2 along
    /// the rows, and either stride 2 or padded.
    pub(super) fn planes(&self) -> Option<Planes> {
        let (ishape, oshape, patch) = (&self.input_shape, &self.output_shape, &self.patch);
        if ishape.fmt.c_is_last() || ishape.hw_rank() != 2 {
            return None;
        }
        tract_linalg::routines::depthwise_w_f32()?;
        let &[ih, iw] = ishape.hw_dims() else { return None };
        let &[oh, ow] = oshape.hw_dims() else { return None };
        let dense = |s: &DataShape, h: usize, w: usize| {
            *s.w_stride() == 1 && *s.h_stride() == w && *s.c_stride() == h * w
        };
        if !dense(ishape, ih, iw) || !dense(oshape, oh, ow) || oh == 0 || ow == 0 {
            return None;
        }
        let (&[kh, kw], &[sy, sx], &[dy, dx]) =
            (&*patch.spec.kernel_shape, &*patch.spec.strides, &*patch.spec.dilations)
        else {
            return None;
        };
        if kh * kw > MAX_VECTORISED_TAPS || !(sx == 1 || sx == 2) {
            return None;
        }
        if !(sx == 2 || patch.padded) {
            return None;
        }
        let rows = (oh - 1) * sy + (kh - 1) * dy + 1;
        let pitch = (ow - 1) * sx + (kw - 1) * dx + 1;
        let offsets = (0..kh)
            .flat_map(|ky| (0..kw).map(move |kx| (ky * dy * pitch + kx * dx) as isize))
            .collect();
        Some(Planes {
            input_hw: (ih, iw),
            output_hw: (oh, ow),
            pad_before: (patch.pad_before[0], patch.pad_before[1]),
            strides: (sy, sx),
            offsets,
            rows,
            pitch,
            linear: sy == sx && ow < PLANES_LINEAR_WIDTH,
        })
    }
}

impl Planes {
    fn eval(
        &self,
        inputs: TVec<TValue>,
        output_shape: &[usize],
        clamp: Clamp,
    ) -> TractResult<TVec<TValue>> {
        let (img, kernel, bias) = args_3!(inputs);
        let ker = tract_linalg::routines::depthwise_w_f32()
            .context("the plane path needs a vectorised depthwise kernel")?;
        let (ih, iw) = self.input_hw;
        let (oh, ow) = self.output_hw;
        let taps = self.offsets.len();
        let channels = bias.len();
        // SAFETY: `as_ptr` checks the type; an input tensor is dense, `len` elements.
        let (img, kernel, bias) = unsafe {
            (
                std::slice::from_raw_parts(img.as_ptr::<f32>()?, img.len()),
                std::slice::from_raw_parts(kernel.as_ptr::<f32>()?, kernel.len()),
                std::slice::from_raw_parts(bias.as_ptr::<f32>()?, bias.len()),
            )
        };
        anyhow::ensure!(kernel.len() == channels * taps, "depthwise kernel is not [C, taps]");
        let mut output = unsafe { Tensor::uninitialized::<f32>(output_shape)? };
        let total = output.len();
        let (in_plane, out_plane) = (ih * iw, oh * ow);
        anyhow::ensure!(
            img.len() == total / out_plane * in_plane,
            "depthwise input and output hold different plane counts"
        );
        // The whole-plane kernel where this CPU has one, with the bounds applied as it stores
        // (unless one is NaN, which `vmaxps` would not ignore as `f32::max` does).
        let whole = tract_linalg::routines::depthwise_plane_f32();
        let (lower, upper) = clamp.bounds();
        let fused = !lower.is_some_and(f32::is_nan) && !upper.is_some_and(f32::is_nan);
        let linear = self.linear && whole.is_none();
        tract_linalg::multithread::par_chunks_mut(
            unsafe { output.as_slice_mut_unchecked::<f32>() },
            out_plane,
            total,
            |first, chunk| {
                // Zeroed once: every plane writes the same interior, so the border stays zero.
                let mut scratch = vec![0f32; self.rows * self.pitch];
                let mut run = if linear { vec![0f32; (oh - 1) * self.pitch + ow] } else { vec![] };
                for (ix, out) in chunk.chunks_mut(out_plane).enumerate() {
                    let plane = first + ix;
                    let c = plane % channels;
                    self.fill(&mut scratch, &img[plane * in_plane..][..in_plane]);
                    let k = &kernel[c * taps..][..taps];
                    if let Some(whole) = whole {
                        let plane = tract_linalg::routines::DepthwisePlane {
                            input: scratch.as_ptr(),
                            row_step: (self.strides.0 * self.pitch) as isize,
                            in_stride: self.strides.1,
                            output: out.as_mut_ptr(),
                            rows: oh,
                            width: ow,
                            taps: k,
                            offsets: &self.offsets,
                            bias: bias[c],
                            lower: lower.filter(|_| fused),
                            upper: upper.filter(|_| fused),
                        };
                        // SAFETY: as below, the last point of the last row reads scratch index
                        // `rows * pitch - 1`; `out` is one output plane, `oh * ow` points.
                        unsafe { whole(&plane) };
                        if !fused {
                            clamp.apply(out);
                        }
                        continue;
                    }
                    // SAFETY: the last point reads scratch index
                    // `(oh - 1) * sy * pitch + (ow - 1) * sx + max(offsets)`, which is
                    // `rows * pitch - 1` by the choice of `rows` and `pitch`; a linear run's
                    // points between rows read less than the next row's first point does.
                    unsafe {
                        if linear {
                            ker(
                                scratch.as_ptr(),
                                run.as_mut_ptr(),
                                k,
                                &self.offsets,
                                bias[c],
                                run.len(),
                                self.strides.1 as isize,
                            );
                            for (y, row) in out.chunks_mut(ow).enumerate() {
                                row.copy_from_slice(&run[y * self.pitch..][..ow]);
                            }
                        } else {
                            for (y, row) in out.chunks_mut(ow).enumerate() {
                                ker(
                                    scratch.as_ptr().add(y * self.strides.0 * self.pitch),
                                    row.as_mut_ptr(),
                                    k,
                                    &self.offsets,
                                    bias[c],
                                    ow,
                                    self.strides.1 as isize,
                                );
                            }
                        }
                    }
                    clamp.apply(out);
                }
                Ok(())
            },
        )?;
        Ok(tvec!(output.into_tvalue()))
    }

    /// Copies an input plane into the scratch interior, clipped to the rows and columns any
    /// output reads (a stride-2 or valid convolution may never read the last ones).
    fn fill(&self, scratch: &mut [f32], input: &[f32]) {
        let (ih, iw) = self.input_hw;
        let (top, left) = self.pad_before;
        let width = iw.min(self.pitch.saturating_sub(left));
        for (y, src) in input.chunks(iw).take(ih.min(self.rows.saturating_sub(top))).enumerate() {
            scratch[(top + y) * self.pitch + left..][..width].copy_from_slice(&src[..width]);
        }
    }
}

impl DepthWise {
    fn eval_gen<T: Datum + Copy + num_traits::Zero + ndarray::LinalgScalar>(
        &self,
        inputs: TVec<TValue>,
    ) -> TractResult<TVec<TValue>> {
        unsafe { eval_t_generic::<T>(self, inputs, |a, b| a + b, |a, b| a * b) }
    }

    fn zone_scanners(&self) -> Vec<ZoneScanner<'_>> {
        self.patch.zones.iter().map(|zone| ZoneScanner::new(zone, &self.patch)).collect()
    }
}

impl TypedOp for DepthWise {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        anyhow::ensure!(inputs.len() == 3);
        anyhow::ensure!(
            self.input_shape.c() == self.output_shape.c(),
            "DepthWiseConv must have same input and output channels"
        );
        anyhow::ensure!(
            self.input_shape.c().to_dim() == inputs[2].shape.volume(),
            "DepthWiseConv data has {} channels, bias has {}",
            self.input_shape.c(),
            inputs[2].shape.len()
        );
        Ok(tvec!(inputs[0].datum_type.fact(&self.output_shape.shape)))
    }

    /// Absorbs a following `Max` or `Min` by a constant scalar into [`Clamp`] (f32 only). A
    /// `Max` after a `Min` is left alone: the clamp applies the lower bound first.
    fn fuse(&self, model: &TypedModel, node: &TypedNode) -> TractResult<Option<TypedModelPatch>> {
        use crate::ops::binary::{OptBinByScalar, TypedBinOp};
        rule_if!(node.outputs.len() == 1 && node.outputs[0].successors.len() == 1);
        rule_if!(node.outputs[0].fact.datum_type == f32::datum_type());
        rule_if!(!model.output_outlets()?.contains(&node.id.into()));
        let succ = model.node(node.outputs[0].successors[0].node);
        rule_if_some!(
            binop = succ
                .op_as::<TypedBinOp>()
                .and_then(|op| op.0.as_linalg_binop())
                .or_else(|| succ.op_as::<OptBinByScalar>().map(|op| op.linalg_op))
        );
        rule_if!(succ.inputs.len() == 2 && succ.outputs[0].fact == node.outputs[0].fact);
        let other = succ.inputs[(succ.inputs[0].node == node.id) as usize];
        rule_if!(other.node != node.id);
        rule_if_some!(konst = model.outlet_fact(other)?.konst.as_ref());
        rule_if!(konst.len() == 1 && konst.datum_type() == f32::datum_type());
        let value = konst.cast_to_scalar::<f32>()?;
        rule_if!(!value.is_nan());
        let mut clamp = self.clamp;
        match binop {
            tract_linalg::BinOp::Max if clamp.upper.is_none() => {
                let lower = clamp.lower.map_or(value, |l| f32::from_bits(l).max(value));
                clamp.lower = Some(lower.to_bits());
            }
            tract_linalg::BinOp::Min => {
                let upper = clamp.upper.map_or(value, |u| f32::from_bits(u).min(value));
                clamp.upper = Some(upper.to_bits());
            }
            _ => return Ok(None),
        }
        let op = DepthWise { clamp, ..self.clone() };
        let mut patch = TypedModelPatch::fuse_with_next(model, node, op)?;
        patch.dont_apply_twice = Some(format!("Fuse {succ} into {node}"));
        Ok(Some(patch))
    }

    fn cost(&self, inputs: &[&TypedFact]) -> TractResult<TVec<(Cost, TDim)>> {
        let [_input, kernel, _bias] = inputs else {
            bail!("Depthwise expects three inputs");
        };
        let n_output_points = self.patch.output_shape.iter().cloned().product::<usize>();
        Ok(tvec!((
            Cost::FMA(inputs[0].datum_type),
            kernel.shape.volume() * self.input_shape.n().unwrap_or(&1) * n_output_points
        )))
    }

    as_op!();
}

macro_rules! impl_eval {
    ($(#[$meta: meta])* $suffix: ident ) => {
        pastey::paste! {
            $(#[$meta])*
            unsafe fn [<eval_t_ $suffix>]<T: Datum + Copy + num_traits::Zero + ndarray::LinalgScalar>(
                dw: &DepthWise,
                inputs: TVec<TValue>,
                add: impl Fn(T, T) -> T + Copy + Send + Sync + 'static,
                mul: impl Fn(T, T) -> T + Copy + Send + Sync + 'static,
            ) -> TractResult<TVec<TValue>> {
                let (img, kernel, bias) = args_3!(inputs);
                let mut output = unsafe { Tensor::uninitialized::<T>(&dw.output_shape.shape)? };
                let iptr = img.as_ptr::<T>()?;
                let optr = output.as_ptr_mut::<T>()?;
                let k_stride_i = kernel.strides()[1];
                let n = *dw.input_shape.n().unwrap_or(&1);
                let n_stride_i = *dw.input_shape.n_stride().unwrap_or(&0) as isize;
                let n_stride_o = *dw.output_shape.n_stride().unwrap_or(&0) as isize;
                let c_stride_i = *dw.input_shape.c_stride() as isize;
                let c_stride_o = *dw.output_shape.c_stride() as isize;
                let bias = bias.as_ptr::<T>()?;
                let kptr = kernel.as_ptr::<T>()?;
                let c = *dw.input_shape.c() as isize;
                if dw.input_shape.fmt.c_is_last() {
                    // Every output position holds all channels contiguously, so channel blocks
                    // are disjoint across the whole image: each chunk of blocks runs the full zone
                    // walk on its own channel range. A block spans at least one cache line.
                    let channels = *dw.input_shape.c();
                    let block = (64 / T::datum_type().size_of()).max(16);
                    let (i_base, k_base, b_base, o_base) =
                        (iptr as usize, kptr as usize, bias as usize, optr as usize);
                    let total = output.len();
                    tract_linalg::multithread::par_chunks_mut(
                        &mut vec![(); channels.div_ceil(block)],
                        1,
                        total,
                        |first, blocks| {
                            let c0 = first * block;
                            let c1 = channels.min((first + blocks.len()) * block);
                            unsafe {
                                [<eval_c_inner_ $suffix>](
                                    dw,
                                    n,
                                    n_stride_i,
                                    n_stride_o,
                                    k_stride_i,
                                    i_base as *const T,
                                    k_base as *const T,
                                    b_base as *const T,
                                    o_base as *mut T,
                                    add,
                                    mul,
                                    c0,
                                    c1,
                                )
                            };
                            Ok(())
                        },
                    )?;
                    return Ok(tvec!(output.into_tvalue()));
                }
                // The (n, c) planes are disjoint and each is contiguous, so when the output is
                // laid out that way the channels split across the executor with no other
                // change: every output element keeps the arithmetic it has serially, and the
                // value it has serially. Small planes stay on the inline path -- the
                // element threshold in `par_chunks_mut` is what decides, not this call site.
                let total = output.len();
                let planes = n * c as usize;
                let plane = if planes > 0 { total / planes } else { 0 };
                if plane == 0
                    || total % plane != 0
                    || *dw.output_shape.w_stride() != 1
                    || c_stride_o != plane as isize
                {
                    unsafe {
                        let mut scanners = dw.zone_scanners();
                        for n in 0..n as isize {
                            let iptr = iptr.offset(n_stride_i * n);
                            let optr = optr.offset(n_stride_o * n);
                            for scanner in &mut scanners {
                                [<process_zone_ $suffix>](
                                    scanner, c_stride_i, c_stride_o, k_stride_i, iptr, kptr, bias,
                                    optr, add, mul, 0, c,
                                )
                            }
                        }
                    }
                    return Ok(tvec!(output.into_tvalue()));
                }
                let i_base = iptr as usize;
                let k_base = kptr as usize;
                let b_base = bias as usize;
                let c_us = c as usize;
                tract_linalg::multithread::par_chunks_mut(
                    unsafe { output.as_slice_mut_unchecked::<T>() },
                    plane,
                    total,
                    |first, chunk| {
                        // `par_chunks_mut` calls the body inline, with the whole slice, when the
                        // executor is single-threaded (a one-thread pool included) or the work is
                        // under its element threshold. Keep the per-zone shape there: the channels
                        // loop inside it, so one `ZoneScanner` covers a whole zone rather than one
                        // channel of it -- the difference was a 63% tax on small planes, which is
                        // a third of the frame on the streaming models.
                        if first == 0 && chunk.len() == total {
                            let mut scanners = dw.zone_scanners();
                            unsafe {
                                for ni in 0..n as isize {
                                    let iptr = (i_base as *const T).offset(n_stride_i * ni);
                                    let optr = chunk.as_mut_ptr().offset(n_stride_o * ni);
                                    for scanner in &mut scanners {
                                        [<process_zone_ $suffix>](
                                            scanner,
                                            c_stride_i,
                                            c_stride_o,
                                            k_stride_i,
                                            iptr,
                                            k_base as *const T,
                                            b_base as *const T,
                                            optr,
                                            add,
                                            mul,
                                            0,
                                            c,
                                        )
                                    }
                                }
                            }
                            return Ok(());
                        }
                        let mut scanners = dw.zone_scanners();
                        for (ix, out) in chunk.chunks_mut(plane).enumerate() {
                            let row = first + ix;
                            let (ni, ci) = (row / c_us, row % c_us);
                            unsafe {
                                let iptr = (i_base as *const T)
                                    .offset(n_stride_i * ni as isize + c_stride_i * ci as isize);
                                let optr = out.as_mut_ptr();
                                for scanner in &mut scanners {
                                    [<process_zone_ $suffix>](
                                        scanner,
                                        0,
                                        0,
                                        k_stride_i,
                                        iptr,
                                        k_base as *const T,
                                        b_base as *const T,
                                        optr,
                                        add,
                                        mul,
                                        ci as isize,
                                        ci as isize + 1,
                                    )
                                }
                            }
                        }
                        Ok(())
                    },
                )?;
                Ok(tvec!(output.into_tvalue()))
            }

            /// Channel-last eval of channels `c0..c1`: the channel is the contiguous dim on both
            /// input and output, so one output position is a run of channel values and the tap
            /// offsets of `zone.values_offsets` already step over whole channel vectors. `kptr`
            /// is a `[1, HW, C]` kernel, `k_stride_i` (`C`) its per-tap stride.
            #[inline(never)]
            #[allow(clippy::too_many_arguments)]
            $(#[$meta])*
            unsafe fn [<eval_c_inner_ $suffix>]<T: Datum + Copy + Zero>(
                dw: &DepthWise,
                n: usize,
                n_stride_i: isize,
                n_stride_o: isize,
                k_stride_i: isize,
                iptr: *const T,
                kptr: *const T,
                bias: *const T,
                optr: *mut T,
                add: impl Fn(T, T) -> T + Copy + 'static,
                mul: impl Fn(T, T) -> T + Copy + 'static,
                c0: usize,
                c1: usize,
                ) { unsafe {
                let ker = if T::datum_type() == f32::datum_type() {
                    tract_linalg::routines::depthwise_c_f32()
                } else {
                    None
                };
                let ker16 = if T::datum_type() == f16::datum_type() {
                    tract_linalg::routines::depthwise_c_f16()
                } else {
                    None
                };
                let (iptr, kptr, bias, optr) =
                    (iptr.add(c0), kptr.add(c0), bias.add(c0), optr.add(c0));
                let width = c1 - c0;
                for ni in 0..n as isize {
                    let iptr = iptr.offset(n_stride_i * ni);
                    let optr = optr.offset(n_stride_o * ni);
                    for zone in &dw.patch.zones {
                        let tap_indices: TVec<usize> =
                            zone.values_offsets.iter().map(|pair| pair.0).collect();
                        let offsets: TVec<isize> =
                            zone.values_offsets.iter().map(|pair| pair.1).collect();
                        let mut visitor = ZoneScanner::new(zone, &dw.patch);
                        while !visitor.done {
                            let iptr = iptr.offset(visitor.input_center_offset);
                            let optr = optr.offset(visitor.output_offset);
                            if let Some(ker) = ker {
                                ker(
                                    iptr as *const f32,
                                    optr as *mut f32,
                                    kptr as *const f32,
                                    &tap_indices,
                                    &offsets,
                                    bias as *const f32,
                                    width,
                                    k_stride_i as usize,
                                    visitor.inner_loop_len,
                                    visitor.inner_loop_input_full_stride,
                                    visitor.inner_loop_output_stride,
                                );
                            } else if let Some(ker) = ker16 {
                                ker(
                                    iptr as *const f16,
                                    optr as *mut f16,
                                    kptr as *const f16,
                                    &tap_indices,
                                    &offsets,
                                    bias as *const f16,
                                    width,
                                    k_stride_i as usize,
                                    visitor.inner_loop_len,
                                    visitor.inner_loop_input_full_stride,
                                    visitor.inner_loop_output_stride,
                                );
                            } else {
                                // Taps outer, channels inner: every inner loop is contiguous.
                                for i in 0..visitor.inner_loop_len as isize {
                                    let iptr =
                                        iptr.offset(visitor.inner_loop_input_full_stride * i);
                                    let out = std::slice::from_raw_parts_mut(
                                        optr.offset(visitor.inner_loop_output_stride * i),
                                        width,
                                    );
                                    out.copy_from_slice(std::slice::from_raw_parts(bias, width));
                                    for (&kix, &off) in tap_indices.iter().zip(&offsets) {
                                        let k = std::slice::from_raw_parts(
                                            kptr.offset(k_stride_i * kix as isize),
                                            width,
                                        );
                                        let x = std::slice::from_raw_parts(iptr.offset(off), width);
                                        for c in 0..width {
                                            out[c] = add(out[c], mul(k[c], x[c]));
                                        }
                                    }
                                }
                            }
                            visitor.next_non_inner_axis()
                        }
                    }
                }
            }}

            #[inline(never)]
            #[allow(clippy::too_many_arguments)]
            $(#[$meta])*
            unsafe fn [<process_zone_ $suffix>]<T: Datum + Copy + Zero>(
                visitor: &mut ZoneScanner,
                c_stride_i: isize,
                c_stride_o: isize,
                k_stride_i: isize,
                iptr: *const T,
                kptr: *const T,
                bias: *const T,
                optr: *mut T,
                add: impl Fn(T, T) -> T + Copy + 'static,
                mul: impl Fn(T, T) -> T + Copy + 'static,
                c_start: isize,
                c_end: isize,
                ) { unsafe {
                /*
                   if zone.values_offsets.len() == 2 {
                   self.process_zone_n::<T, 2, 4>(
                   zone, c_stride_i, c_stride_o, k_stride_i, iptr, kptr, bias, optr,
                   )
                   } else if zone.values_offsets.len() == 3 {
                   dw.process_zone_n::<T, 3, 4>(
                   zone, c_stride_i, c_stride_o, k_stride_i, iptr, kptr, bias, optr,
                   )
                   } else */
                match visitor.zone.values_offsets.len() {
                    1 => [<process_zone_n_ $suffix>]::<T, 1, 4>(
                        visitor, c_stride_i, c_stride_o, k_stride_i, iptr, kptr, bias, optr, add,
                        mul, c_start, c_end,
                    ),
                    2 => [<process_zone_n_ $suffix>]::<T, 2, 4>(
                        visitor, c_stride_i, c_stride_o, k_stride_i, iptr, kptr, bias, optr, add,
                        mul, c_start, c_end,
                    ),
                    3 => [<process_zone_n_ $suffix>]::<T, 3, 4>(
                        visitor, c_stride_i, c_stride_o, k_stride_i, iptr, kptr, bias, optr, add,
                        mul, c_start, c_end,
                    ),
                    4 => [<process_zone_n_ $suffix>]::<T, 4, 4>(
                        visitor, c_stride_i, c_stride_o, k_stride_i, iptr, kptr, bias, optr, add,
                        mul, c_start, c_end,
                    ),
                    // Without a vectorised kernel the zone keeps the plain inline walk:
                    // routed through `process_zone_any` it runs measurably slower on wasm.
                    _ if ((T::datum_type() == f32::datum_type()
                        && tract_linalg::routines::depthwise_w_f32().is_some())
                        || (T::datum_type() == f16::datum_type()
                            && tract_linalg::routines::depthwise_w_f16().is_some()))
                        && c_stride_o != 1 =>
                    {
                        [<process_zone_any_ $suffix>](
                            visitor, c_stride_i, c_stride_o, k_stride_i, iptr, kptr, bias, optr,
                            add, mul, c_start, c_end,
                        )
                    }
                    // A call covering many channels amortises a fresh scanner. A single-channel
                    // call (the parallel path, one per plane) reuses the caller's allocation, but
                    // walks it as a local: through `&mut` the inner loop runs measurably slower.
                    _ if c_end - c_start > 1 => visitor.zone.visit_output(visitor.patch, |visitor| {
                        for c in c_start..c_end {
                            let iptr = iptr.offset(c_stride_i * c);
                            let optr = optr.offset(c_stride_o * c);
                            let kptr = kptr.offset(k_stride_i * c);
                            [<inner_loop_ $suffix>]::<T>(iptr, kptr, bias, optr, c, visitor, add, mul)
                        }
                    }),
                    _ => [<process_zone_one_channel_ $suffix>](
                        visitor, c_stride_i, c_stride_o, k_stride_i, iptr, kptr, bias, optr, add,
                        mul, c_start,
                    ),
                }
            }}

            /// One channel of a generic (more than four taps) zone, the parallel path's per-plane
            /// call. The caller's scanner is walked as a local, its buffer moved out and back:
            /// through `&mut` the inner loop runs measurably slower.
            #[inline(never)]
            #[allow(clippy::too_many_arguments)]
            $(#[$meta])*
            unsafe fn [<process_zone_one_channel_ $suffix>]<T: Datum + Copy + Zero>(
                visitor: &mut ZoneScanner,
                c_stride_i: isize,
                c_stride_o: isize,
                k_stride_i: isize,
                iptr: *const T,
                kptr: *const T,
                bias: *const T,
                optr: *mut T,
                add: impl Fn(T, T) -> T + Copy + 'static,
                mul: impl Fn(T, T) -> T + Copy + 'static,
                c: isize,
                ) { unsafe {
                let mut local = ZoneScanner {
                    output_coords: std::mem::take(&mut visitor.output_coords),
                    inner_loop_output_range: visitor.inner_loop_output_range.clone(),
                    ..*visitor
                };
                local.reset();
                while !local.done() {
                    let iptr = iptr.offset(c_stride_i * c);
                    let optr = optr.offset(c_stride_o * c);
                    let kptr = kptr.offset(k_stride_i * c);
                    [<inner_loop_ $suffix>]::<T>(iptr, kptr, bias, optr, c, &local, add, mul);
                    local.next();
                }
                visitor.output_coords = local.output_coords;
            }}

            #[inline(never)]
            #[allow(clippy::too_many_arguments)]
            $(#[$meta])*
            unsafe fn [<process_zone_n_ $suffix>]<T: Datum + Copy + Zero, const N: usize, const UNROLL: usize>(
                visitor: &mut ZoneScanner,
                c_stride_i: isize,
                c_stride_o: isize,
                k_stride_i: isize,
                iptr: *const T,
                kptr: *const T,
                bias: *const T,
                optr: *mut T,
                add: impl Fn(T, T) -> T,
                mul: impl Fn(T, T) -> T,
                c_start: isize,
                c_end: isize,
                ) { unsafe {
                let zone = visitor.zone;
                let mut ioffset = [0isize; N];
                for i in 0..N {
                    ioffset[i] = zone.values_offsets[i].1;
                }
                let mut k = [T::zero(); N];
                let ker = if T::datum_type() == f32::datum_type() {
                    tract_linalg::routines::depthwise_w_f32()
                } else {
                    None
                };
                for c in c_start..c_end {
                    visitor.reset();
                    let iptr = iptr.offset(c_stride_i * c);
                    let optr = optr.offset(c_stride_o * c);
                    for n in 0..N {
                        k[n] = *kptr.offset(k_stride_i * c).add(zone.values_offsets[n].0);
                    }
                    let bias = *bias.offset(c);
                    while !visitor.done {
                        let iptr = iptr.offset(visitor.input_center_offset);
                        let optr = optr.offset(visitor.output_offset);
                        if let Some(ker) = ker
                            && visitor.inner_loop_output_stride == 1
                            && visitor.inner_loop_input_full_stride >= 1
                        {
                            let k_f32 = *(&k as *const [T; N] as *const [f32; N]);
                            ker(
                                iptr as *const f32,
                                optr as *mut f32,
                                &k_f32,
                                &ioffset,
                                *(&bias as *const T as *const f32),
                                visitor.inner_loop_len,
                                visitor.inner_loop_input_full_stride,
                            );
                            visitor.next_non_inner_axis();
                            continue;
                        }
                        let mut i = 0isize;
                        while i + (UNROLL as isize) < visitor.inner_loop_len as isize {
                            let iptr = iptr.offset(visitor.inner_loop_input_full_stride * i);
                            let optr = optr.offset(visitor.inner_loop_output_stride * i);
                            let mut iptrs = [std::ptr::null(); UNROLL];
                            for u in 0..UNROLL {
                                iptrs[u] = iptr.offset(visitor.inner_loop_input_full_stride * u as isize);
                            }
                            let mut optrs = [std::ptr::null_mut(); UNROLL];
                            for u in 0..UNROLL {
                                optrs[u] = optr.offset(visitor.inner_loop_output_stride * u as isize);
                            }
                            let mut is = [[T::zero(); N]; UNROLL];
                            for u in 0..UNROLL {
                                for n in 0..N {
                                    is[u][n] = *iptrs[u].offset(ioffset[n]);
                                }
                            }
                            let mut ps = [[T::zero(); N]; UNROLL];
                            for u in 0..UNROLL {
                                for n in 0..N {
                                    ps[u][n] = mul(is[u][n], k[n]);
                                }
                            }
                            for u in 0..UNROLL {
                                let mut sum = bias;
                                for n in 0..N {
                                    sum = add(sum, ps[u][n]);
                                }
                                *optrs[u] = sum;
                            }
                            i += UNROLL as isize;
                        }
                        while i < visitor.inner_loop_len as isize {
                            let iptr = iptr.offset(visitor.inner_loop_input_full_stride * i);
                            let optr = optr.offset(visitor.inner_loop_output_stride * i);
                            let mut is = [T::zero(); N];
                            for n in 0..N {
                                is[n] = *iptr.offset(ioffset[n]);
                            }
                            let mut p = [T::zero(); N];
                            for n in 0..N {
                                p[n] = mul(is[n], k[n]);
                            }
                            let mut sum = bias;
                            for n in 0..N {
                                sum = add(sum, p[n]);
                            }
                            *optr = sum;
                            i += 1;
                        }
                        visitor.next_non_inner_axis()
                    }
                }
            }}

            #[inline(never)]
            #[allow(clippy::too_many_arguments)]
            $(#[$meta])*
            unsafe fn [<process_zone_any_ $suffix>]<T: Datum + Copy + Zero>(
                scanner: &mut ZoneScanner,
                c_stride_i: isize,
                c_stride_o: isize,
                k_stride_i: isize,
                iptr: *const T,
                kptr: *const T,
                bias: *const T,
                optr: *mut T,
                add: impl Fn(T, T) -> T + Copy,
                mul: impl Fn(T, T) -> T + Copy,
                c_start: isize,
                c_end: isize,
                ) { unsafe {
                // A zone whose tap count the const-generic paths cannot name -- which is every
                // 3x3 and 5x5 convolution, at nine and twenty-five taps -- still walks the same
                // inner loop, so hand it the whole tap list. The kernel takes the count at
                // runtime; it was the compile-time count that kept this on the scalar path.
                let ker = if T::datum_type() == f32::datum_type() {
                    tract_linalg::routines::depthwise_w_f32()
                } else {
                    None
                };
                // f16 arithmetic (64-bit ARM with FEAT_FP16): the same walk, the f16 kernel.
                let ker16 = if T::datum_type() == f16::datum_type() {
                    tract_linalg::routines::depthwise_w_f16()
                } else {
                    None
                };
                let zone = scanner.zone;
                let taps = zone.values_offsets.len();
                if (ker.is_none() && ker16.is_none()) || taps > MAX_VECTORISED_TAPS {
                    zone.visit_output(scanner.patch, |visitor| {
                        for c in c_start..c_end {
                            let iptr = iptr.offset(c_stride_i * c);
                            let optr = optr.offset(c_stride_o * c);
                            let kptr = kptr.offset(k_stride_i * c);
                            [<inner_loop_ $suffix>]::<T>(iptr, kptr, bias, optr, c, visitor, add, mul)
                        }
                    });
                    return;
                }
                let mut k = [T::zero(); MAX_VECTORISED_TAPS];
                let mut ioffset = [0isize; MAX_VECTORISED_TAPS];
                for (ix, (_, offset)) in zone.values_offsets.iter().enumerate() {
                    ioffset[ix] = *offset;
                }
                let ioffset = &ioffset[..taps];
                // Walked as a local, as in `process_zone`'s single-channel arm.
                let mut visitor = ZoneScanner {
                    output_coords: std::mem::take(&mut scanner.output_coords),
                    inner_loop_output_range: scanner.inner_loop_output_range.clone(),
                    ..*scanner
                };
                for c in c_start..c_end {
                    let iptr = iptr.offset(c_stride_i * c);
                    let optr = optr.offset(c_stride_o * c);
                    let kptr = kptr.offset(k_stride_i * c);
                    for (ix, (ker_ix, _)) in zone.values_offsets.iter().enumerate() {
                        k[ix] = *kptr.add(*ker_ix);
                    }
                    // `T` is f32 where `ker` is set and f16 where `ker16` is, checked above: the
                    // kernels read the taps and the bias as such, so re-read the buffers rather
                    // than convert.
                    let k_f32 = std::slice::from_raw_parts(k.as_ptr() as *const f32, taps);
                    let k_f16 = std::slice::from_raw_parts(k.as_ptr() as *const f16, taps);
                    let bias_t = *bias.offset(c);
                    let bias_f32 = *(bias as *const T as *const f32).offset(c);
                    let bias_f16 = *(bias as *const T as *const f16).offset(c);
                    visitor.reset();
                    while !visitor.done {
                        let iptr = iptr.offset(visitor.input_center_offset);
                        let optr = optr.offset(visitor.output_offset);
                        if visitor.inner_loop_output_stride == 1
                            && visitor.inner_loop_input_full_stride >= 1
                        {
                            if let Some(ker) = ker {
                                ker(
                                    iptr as *const f32,
                                    optr as *mut f32,
                                    k_f32,
                                    ioffset,
                                    bias_f32,
                                    visitor.inner_loop_len,
                                    visitor.inner_loop_input_full_stride,
                                );
                            } else if let Some(ker) = ker16 {
                                ker(
                                    iptr as *const f16,
                                    optr as *mut f16,
                                    k_f16,
                                    ioffset,
                                    bias_f16,
                                    visitor.inner_loop_len,
                                    visitor.inner_loop_input_full_stride,
                                );
                            }
                            visitor.next_non_inner_axis();
                            continue;
                        }
                        let mut i = 0isize;
                        while i < visitor.inner_loop_len as isize {
                            let iptr = iptr.offset(visitor.inner_loop_input_full_stride * i);
                            let optr = optr.offset(visitor.inner_loop_output_stride * i);
                            let mut sum = bias_t;
                            for n in 0..taps {
                                sum = add(sum, mul(k[n], *iptr.offset(ioffset[n])));
                            }
                            *optr = sum;
                            i += 1;
                        }
                        visitor.next_non_inner_axis()
                    }
                }
                scanner.output_coords = visitor.output_coords;
            }}

            #[inline(never)]
            #[allow(clippy::too_many_arguments)]
            $(#[$meta])*
            unsafe fn [<inner_loop_ $suffix>]<T: Datum + Copy>(
                iptr: *const T,
                kptr: *const T,
                bias: *const T,
                optr: *mut T,
                c: isize,
                visitor: &ZoneScanner,
                add: impl Fn(T, T) -> T,
                mul: impl Fn(T, T) -> T,
                ) { unsafe {
                let mut sum = *bias.offset(c);
                let mut iter = visitor.valid_offsets_ker_in();
                if iter.size_hint() == (3, Some(3)) {
                    let (ix, v) = iter.next().unwrap();
                    let k0 = *kptr.add(ix);
                    let i0 = *iptr.offset(v);
                    let (ix, v) = iter.next().unwrap();
                    let k1 = *kptr.add(ix);
                    let i1 = *iptr.offset(v);
                    let (ix, v) = iter.next().unwrap();
                    let k2 = *kptr.add(ix);
                    let i2 = *iptr.offset(v);
                    sum = add(add(add(sum, mul(k0, i0)), mul(k1, i1)), mul(k2, i2));
                } else {
                    for (ix, v) in iter {
                        let k = *kptr.add(ix);
                        let i = *iptr.offset(v);
                        sum = add(sum, mul(k, i));
                    }
                }
                let optr = optr.offset(visitor.output_offset);
                *optr = sum;
            }}
        }
    }
}

impl_eval!(generic);
impl_eval! {
#[target_feature(enable = "fp16")]
#[cfg(target_arch = "aarch64")]
aarch64fp16
}

//#[target_feature(enable = "fp16")] impl_eval!(aarch64fp16);

/* partial alternative impl that may be relevant when simd gets better */

/*
#[inline(never)]
unsafe fn process_zone_4_f32(
&self,
zone: &Zone,
c_stride_i: isize,
c_stride_o: isize,
k_stride_i: isize,
iptr: *const f32,
kptr: *const f32,
bias: *const f32,
optr: *mut f32,
) {
use std::simd::*;
let mut visitor = ZoneScanner::new(zone, &self.patch);
let ioffset0 = zone.values_offsets[0].1;
let ioffset1 = zone.values_offsets[1].1;
let ioffset2 = zone.values_offsets[2].1;
let ioffset3 = zone.values_offsets[3].1;
for c in 0..*self.input_shape.c() as isize {
visitor.reset();
let kptr = kptr.offset(k_stride_i * c);
let iptr = iptr.offset(c_stride_i * c);
let optr = optr.offset(c_stride_o * c);
let k0 = *kptr.offset(zone.values_offsets[0].0 as isize);
let k1 = *kptr.offset(zone.values_offsets[1].0 as isize);
let k2 = *kptr.offset(zone.values_offsets[2].0 as isize);
let k3 = *kptr.offset(zone.values_offsets[3].0 as isize);
let k0 = f32x4::splat(k0);
let k1 = f32x4::splat(k1);
let k2 = f32x4::splat(k2);
let k3 = f32x4::splat(k3);
let bias = f32x4::splat(*bias.offset(c));
while !visitor.done {
let iptr = iptr.offset(visitor.input_center_offset);
let optr = optr.offset(visitor.output_offset);
let mut i  = 0;
while i + 4 <
for i in 0..visitor.inner_loop_len as isize {
let iptr = iptr.offset(visitor.inner_loop_input_full_stride * i);
let optr = optr.offset(visitor.inner_loop_output_stride * i);
let i0 = *iptr.offset(ioffset0);
let i1 = *iptr.offset(ioffset1);
let i2 = *iptr.offset(ioffset2);
let i3 = *iptr.offset(ioffset3);
let i = f32x4::from_array([i0, i1, i2, i3]);
let p = (i * k).reduce_sum();
let sum = bias + p;
     *optr = sum
     }
     visitor.next_non_inner_axis()
     }
     }
     }
     */

/*
#[inline(never)]
unsafe fn process_zone_4_f32(
&self,
zone: &Zone,
c_stride_i: isize,
c_stride_o: isize,
k_stride_i: isize,
iptr: *const f32,
kptr: *const f32,
bias: *const f32,
optr: *mut f32,
) {
use std::simd::*;
let mut visitor = ZoneScanner::new(zone, &self.patch);
let ioffset0 = zone.values_offsets[0].1;
let ioffset1 = zone.values_offsets[1].1;
let ioffset2 = zone.values_offsets[2].1;
let ioffset3 = zone.values_offsets[3].1;
for c in 0..*self.input_shape.c() as isize {
visitor.reset();
let kptr = kptr.offset(k_stride_i * c);
let iptr = iptr.offset(c_stride_i * c);
let optr = optr.offset(c_stride_o * c);
let k0 = *kptr.offset(zone.values_offsets[0].0 as isize);
let k1 = *kptr.offset(zone.values_offsets[1].0 as isize);
let k2 = *kptr.offset(zone.values_offsets[2].0 as isize);
let k3 = *kptr.offset(zone.values_offsets[3].0 as isize);
let k = f32x4::from_array([k0, k1, k2, k3]);
let bias = *bias.offset(c);
while !visitor.done {
let iptr = iptr.offset(visitor.input_center_offset);
let optr = optr.offset(visitor.output_offset);
for i in 0..visitor.inner_loop_len as isize {
let iptr = iptr.offset(visitor.inner_loop_input_full_stride * i);
let optr = optr.offset(visitor.inner_loop_output_stride * i);
let i0 = *iptr.offset(ioffset0);
let i1 = *iptr.offset(ioffset1);
let i2 = *iptr.offset(ioffset2);
let i3 = *iptr.offset(ioffset3);
let i = f32x4::from_array([i0, i1, i2, i3]);
let p = (i * k).reduce_sum();
let sum = bias + p;
     *optr = sum
     }
     visitor.next_non_inner_axis()
     }
     }
     }
     */

/*
#[inline(never)]
unsafe fn process_zone_4<T: Datum + Copy + ndarray::LinalgScalar>(
&self,
zone: &Zone,
c_stride_i: isize,
c_stride_o: isize,
k_stride_i: isize,
iptr: *const T,
kptr: *const T,
bias: *const T,
optr: *mut T,
) {
let mut visitor = ZoneScanner::new(zone, &self.patch);
let ioffset0 = zone.values_offsets[0].1;
let ioffset1 = zone.values_offsets[1].1;
let ioffset2 = zone.values_offsets[2].1;
let ioffset3 = zone.values_offsets[3].1;
for c in 0..*self.input_shape.c() as isize {
visitor.reset();
let kptr = kptr.offset(k_stride_i * c);
let iptr = iptr.offset(c_stride_i * c);
let optr = optr.offset(c_stride_o * c);
let k0 = *kptr.offset(zone.values_offsets[0].0 as isize);
let k1 = *kptr.offset(zone.values_offsets[1].0 as isize);
let k2 = *kptr.offset(zone.values_offsets[2].0 as isize);
let k3 = *kptr.offset(zone.values_offsets[3].0 as isize);
let bias = *bias.offset(c);
while !visitor.done {
let iptr = iptr.offset(visitor.input_center_offset);
let optr = optr.offset(visitor.output_offset);
for i in 0..visitor.inner_loop_len as isize {
let iptr = iptr.offset(visitor.inner_loop_input_full_stride * i);
let optr = optr.offset(visitor.inner_loop_output_stride * i);
let i0 = *iptr.offset(ioffset0);
let i1 = *iptr.offset(ioffset1);
let i2 = *iptr.offset(ioffset2);
let i3 = *iptr.offset(ioffset3);
let p0 = i0 * k0;
let p1 = i1 * k1;
let p2 = i2 * k2;
let p3 = i3 * k3;
let sum = bias + p0 + p1 + p2 + p3;
     *optr = sum
     }
     visitor.next_non_inner_axis()
     }
     }
     }
     */

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::cnn::conv::{BlockedConv, Conv, KernelFormat};
    use crate::ops::cnn::{PaddingSpec, PoolSpec};
    use crate::ops::nn::DataFormat;

    #[allow(clippy::too_many_arguments)]
    fn run_dw(
        fmt: DataFormat,
        c: usize,
        h: usize,
        w: usize,
        kh: usize,
        kw: usize,
        pad: PaddingSpec,
        stride: (usize, usize),
    ) -> bool {
        run_dw_dt(f32::datum_type(), fmt, c, h, w, kh, kw, pad, stride)
    }

    #[allow(clippy::too_many_arguments)]
    fn run_dw_dt(
        dt: DatumType,
        fmt: DataFormat,
        c: usize,
        h: usize,
        w: usize,
        kh: usize,
        kw: usize,
        pad: PaddingSpec,
        stride: (usize, usize),
    ) -> bool {
        run_dw_batch(1, dt, fmt, c, h, w, kh, kw, pad, stride)
    }

    /// Runs a depthwise convolution through an optimised plan and checks it against a plain
    /// loop; returns whether the plan ran it through [`Planes`].
    #[allow(clippy::too_many_arguments)]
    fn run_dw_batch(
        n: usize,
        dt: DatumType,
        fmt: DataFormat,
        c: usize,
        h: usize,
        w: usize,
        kh: usize,
        kw: usize,
        pad: PaddingSpec,
        stride: (usize, usize),
    ) -> bool {
        let x: Vec<f32> = (0..n * c * h * w).map(|i| ((i as f32 * 0.137).sin()) * 0.7).collect();
        let kernel: Vec<f32> = (0..c * kh * kw).map(|i| ((i as f32 * 0.091).cos()) * 0.3).collect();
        let bias: Vec<f32> = (0..c).map(|i| (i as f32 * 0.05) - 0.1).collect();

        let c_last = fmt.c_is_last();
        let x_shape = if c_last { [n, h, w, c] } else { [n, c, h, w] };
        let mut model = TypedModel::default();
        let xv = model.add_source("x", dt.fact(x_shape)).unwrap();
        let k = Tensor::from_shape(&[c, 1, kh, kw], &kernel).unwrap();
        let kv = model.add_const("k", k.cast_to_dt(dt).unwrap().into_owned()).unwrap();
        let b = Tensor::from_shape(&[c], &bias).unwrap();
        let bv = model.add_const("b", b.cast_to_dt(dt).unwrap().into_owned()).unwrap();
        let pool_spec = PoolSpec {
            data_format: fmt,
            kernel_shape: tvec!(kh, kw),
            padding: pad.clone(),
            dilations: None,
            strides: Some(tvec!(stride.0, stride.1)),
            input_channels: c,
            output_channels: c,
        };
        let computed = pool_spec.computed_padding(&[h, w]);
        let conv = Conv { pool_spec, kernel_fmt: KernelFormat::OIHW, group: c, q_params: None };
        let out = model.wire_node("dw", conv, &[xv, kv, bv]).unwrap();
        model.select_output_outlets(&out).unwrap();
        let model = model.into_decluttered().unwrap().into_optimized().unwrap();
        if kw == 1 && model.nodes.iter().any(|node| node.op_as::<BlockedConv>().is_some()) {
            // `BlockedConv` claims kw=1 NCHW f32 wherever it is enabled -- by default on
            // wasm, opt-in elsewhere -- so this shape does not reach DepthWise there.
            // `blocked_conv_matches_reference` covers it.
            return false;
        }
        let planes = dt == f32::datum_type()
            && model
                .nodes
                .iter()
                .filter_map(|node| node.op_as::<DepthWise>())
                .any(|op| op.planes().is_some());
        assert!(
            model.nodes.iter().any(|node| node.op_as::<DepthWise>().is_some()),
            "expected DepthWiseConv, got {}",
            model.nodes.iter().map(|node| node.op().name()).collect::<Vec<_>>().join(",")
        );
        let runnable = model.into_runnable().unwrap();
        let input = Tensor::from_shape(&x_shape, &x).unwrap();
        let input = input.cast_to_dt(dt).unwrap().into_owned();
        let got = runnable.run(tvec![input.into_tvalue()]).unwrap();
        let got = got[0].cast_to::<f32>().unwrap().into_owned();
        let got = got.to_plain_array_view::<f32>().unwrap();
        let oshape = got.shape();
        let (oh, ow) = if c_last { (oshape[1], oshape[2]) } else { (oshape[2], oshape[3]) };
        let (ph, pw) = (computed[0].pad_before as isize, computed[1].pad_before as isize);
        let mut max_abs = 0f32;
        for b in 0..n {
            for oc in 0..c {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut acc = bias[oc];
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = oy as isize * stride.0 as isize + ky as isize - ph;
                                let ix = ox as isize * stride.1 as isize + kx as isize - pw;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                    continue;
                                }
                                let (iy, ix) = (iy as usize, ix as usize);
                                let xv = if c_last {
                                    x[(((b * h + iy) * w) + ix) * c + oc]
                                } else {
                                    x[(((b * c + oc) * h + iy) * w) + ix]
                                };
                                let kv = kernel[((oc * kh + ky) * kw) + kx];
                                acc += xv * kv;
                            }
                        }
                        let g = if c_last { got[[b, oy, ox, oc]] } else { got[[b, oc, oy, ox]] };
                        max_abs = max_abs.max((g - acc).abs());
                    }
                }
            }
        }
        // f16 accumulates every tap in f16, so its error grows with the tap count.
        let tolerance = if dt == f16::datum_type() { 3e-3 * (kh * kw) as f32 } else { 1e-5 };
        assert!(
            max_abs < tolerance,
            "DepthWise {dt:?} {fmt:?} mismatch c={c} {h}x{w} k={kh}x{kw} stride={stride:?} pad={pad:?}: max_abs={max_abs}"
        );
        planes
    }

    /// Conv -> Max(0) -> Min(6) (ReLU6) and Conv -> Max(0.5): the bounds fuse into the
    /// convolution on both eval paths (stride 2 through [`Planes`], unpadded stride 1 through the
    /// zone walk), and the outputs are the clamped reference.
    #[test]
    fn depthwise_fuses_following_clamps() {
        use crate::ops::math::{max, min};
        for (h, pad, stride, bounds) in [
            (17, PaddingSpec::SameUpper, 2, (Some(0.0f32), Some(0.3f32))),
            (12, PaddingSpec::Valid, 1, (Some(0.0), Some(0.3))),
            (12, PaddingSpec::Valid, 1, (Some(0.05), None)),
            (9, PaddingSpec::SameUpper, 1, (None, Some(-0.1))),
        ] {
            let (c, w, k) = (6usize, h + 2, 3usize);
            let x: Vec<f32> = (0..c * h * w).map(|i| ((i as f32 * 0.37).sin()) * 0.9).collect();
            let kernel: Vec<f32> =
                (0..c * k * k).map(|i| ((i as f32 * 0.21).cos()) * 0.4).collect();
            let bias: Vec<f32> = (0..c).map(|i| i as f32 * 0.03 - 0.05).collect();
            let mut model = TypedModel::default();
            let xv = model.add_source("x", f32::fact([1, c, h, w])).unwrap();
            let kv =
                model.add_const("k", Tensor::from_shape(&[c, 1, k, k], &kernel).unwrap()).unwrap();
            let bv = model.add_const("b", Tensor::from_shape(&[c], &bias).unwrap()).unwrap();
            let pool_spec = PoolSpec {
                data_format: DataFormat::NCHW,
                kernel_shape: tvec!(k, k),
                padding: pad.clone(),
                dilations: None,
                strides: Some(tvec!(stride, stride)),
                input_channels: c,
                output_channels: c,
            };
            let computed = pool_spec.computed_padding(&[h, w]);
            let conv = Conv { pool_spec, kernel_fmt: KernelFormat::OIHW, group: c, q_params: None };
            let mut wire = model.wire_node("dw", conv, &[xv, kv, bv]).unwrap();
            if let Some(lo) = bounds.0 {
                let lo = model.add_const("lo", tensor4(&[[[[lo]]]])).unwrap();
                wire = model.wire_node("max", max(), &[wire[0], lo]).unwrap();
            }
            if let Some(hi) = bounds.1 {
                let hi = model.add_const("hi", tensor4(&[[[[hi]]]])).unwrap();
                wire = model.wire_node("min", min(), &[wire[0], hi]).unwrap();
            }
            model.select_output_outlets(&wire).unwrap();
            let model = model.into_decluttered().unwrap().into_optimized().unwrap();
            let ops: Vec<_> = model.nodes.iter().map(|n| n.op().name().to_string()).collect();
            assert!(
                ops.iter().all(|name| !name.contains("Max") && !name.contains("Min")),
                "bounds left unfused: {ops:?}"
            );
            let dw = model.nodes.iter().find_map(|n| n.op_as::<DepthWise>()).unwrap();
            assert_eq!(dw.clamp.lower.map(f32::from_bits), bounds.0);
            assert_eq!(dw.clamp.upper.map(f32::from_bits), bounds.1);
            let got = model
                .into_runnable()
                .unwrap()
                .run(tvec![Tensor::from_shape(&[1, c, h, w], &x).unwrap().into_tvalue()])
                .unwrap();
            let got = got[0].to_plain_array_view::<f32>().unwrap();
            let (oh, ow) = (got.shape()[2], got.shape()[3]);
            let (ph, pw) = (computed[0].pad_before as isize, computed[1].pad_before as isize);
            for oc in 0..c {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut acc = bias[oc];
                        for ky in 0..k {
                            for kx in 0..k {
                                let iy = (oy * stride + ky) as isize - ph;
                                let ix = (ox * stride + kx) as isize - pw;
                                if iy >= 0 && ix >= 0 && iy < h as isize && ix < w as isize {
                                    acc += x[(oc * h + iy as usize) * w + ix as usize]
                                        * kernel[(oc * k + ky) * k + kx];
                                }
                            }
                        }
                        let mut want = acc;
                        if let Some(lo) = bounds.0 {
                            want = want.max(lo);
                        }
                        if let Some(hi) = bounds.1 {
                            want = want.min(hi);
                        }
                        let g = got[[0, oc, oy, ox]];
                        assert!((g - want).abs() < 1e-5, "{h}x{w} stride {stride}: {g} vs {want}");
                    }
                }
            }
        }
    }

    /// The shapes of MobileNet-style networks (BlazePose's among them) that go through
    /// [`Planes`]: stride-2 downsampling, and padded 3x3 / 5x5 on small planes. Odd sizes, both
    /// paddings, explicit asymmetric padding, batches, and the single-run layout of narrow planes.
    #[test]
    fn depthwise_planes_match_reference() {
        let same = PaddingSpec::SameUpper;
        let explicit = || PaddingSpec::ExplicitOnnxPool(tvec![0, 1], tvec![2, 0], false);
        let cases: &[(usize, usize, usize, usize, PaddingSpec, (usize, usize), bool)] = &[
            // channels, height, width, kernel side, padding, strides, whether `Planes` runs it
            (24, 128, 128, 3, same.clone(), (2, 2), true),
            (5, 65, 67, 3, same.clone(), (2, 2), true),
            (4, 64, 64, 5, same.clone(), (2, 2), true),
            (6, 31, 33, 3, PaddingSpec::Valid, (2, 2), true),
            (3, 16, 16, 3, same.clone(), (2, 2), true),
            (3, 14, 14, 5, same.clone(), (2, 2), true),
            (3, 9, 7, 3, same.clone(), (2, 2), true),
            (2, 2, 2, 3, same.clone(), (2, 2), true),
            (5, 20, 21, 3, same.clone(), (1, 2), true),
            (5, 21, 40, 3, same.clone(), (2, 1), true),
            (7, 8, 8, 5, same.clone(), (1, 1), true),
            (7, 7, 7, 5, same.clone(), (1, 1), true),
            (7, 16, 16, 5, same.clone(), (1, 1), true),
            (7, 23, 17, 3, same.clone(), (1, 1), true),
            (7, 1, 1, 3, same.clone(), (1, 1), true),
            (4, 12, 13, 3, explicit(), (1, 1), true),
            (4, 12, 13, 3, explicit(), (2, 2), true),
            (7, 40, 40, 5, same.clone(), (1, 1), true),
            (3, 70, 33, 3, same.clone(), (1, 1), true),
            // Unpadded stride-1 planes keep the zone walk (one interior zone).
            (7, 12, 12, 3, PaddingSpec::Valid, (1, 1), false),
            (7, 40, 40, 5, PaddingSpec::Valid, (1, 1), false),
        ];
        for (c, h, w, k, pad, stride, planes) in cases.iter().cloned() {
            let used = run_dw(DataFormat::NCHW, c, h, w, k, k, pad.clone(), stride);
            if tract_linalg::routines::depthwise_w_f32().is_some() {
                assert_eq!(used, planes, "c={c} {h}x{w} k={k} stride={stride:?} pad={pad:?}");
            }
        }
        for n in [2, 3] {
            let f32 = f32::datum_type();
            run_dw_batch(n, f32, DataFormat::NCHW, 5, 33, 35, 3, 3, same.clone(), (2, 2));
            run_dw_batch(n, f32, DataFormat::NCHW, 5, 8, 8, 5, 5, same.clone(), (1, 1));
        }
        let pool = tract_linalg::multithread::Executor::multithread(4);
        tract_linalg::multithread::multithread_tract_scope(pool, || {
            run_dw(DataFormat::NCHW, 64, 128, 128, 3, 3, same.clone(), (2, 2));
            run_dw(DataFormat::NCHW, 96, 16, 16, 5, 5, same.clone(), (1, 1));
            run_dw_batch(2, f32::datum_type(), DataFormat::NCHW, 33, 14, 14, 5, 5, same, (2, 2));
        });
    }

    #[test]
    fn depthwise_multithreaded_matches_reference() {
        let pool = tract_linalg::multithread::Executor::multithread(4);
        tract_linalg::multithread::multithread_tract_scope(pool, || {
            run_dw(DataFormat::NCHW, 32, 64, 80, 3, 3, PaddingSpec::Valid, (1, 1));
            run_dw(DataFormat::NCHW, 32, 200, 24, 3, 3, PaddingSpec::SameUpper, (1, 1));
            run_dw(DataFormat::NCHW, 32, 70, 70, 5, 5, PaddingSpec::SameUpper, (1, 1));
            run_dw(DataFormat::NCHW, 20, 91, 91, 3, 3, PaddingSpec::SameUpper, (2, 2));
            run_dw(DataFormat::NCHW, 7, 130, 129, 3, 3, PaddingSpec::Valid, (1, 1));
            run_dw_batch(
                3,
                f32::datum_type(),
                DataFormat::NCHW,
                11,
                64,
                70,
                3,
                3,
                PaddingSpec::SameUpper,
                (1, 1),
            );
            run_dw_batch(
                2,
                f32::datum_type(),
                DataFormat::NCHW,
                5,
                120,
                100,
                5,
                5,
                PaddingSpec::Valid,
                (1, 1),
            );
        });
    }

    #[test]
    fn depthwise_contig_w_matches_reference() {
        // 48 kHz-like: NCHW, H=1, long W, kw=3. Inner loop is W.
        run_dw(DataFormat::NCHW, 16, 1, 64, 1, 3, PaddingSpec::Valid, (1, 1));
        run_dw(DataFormat::NCHW, 32, 1, 481, 1, 3, PaddingSpec::Valid, (1, 1));
        run_dw(DataFormat::NCHW, 8, 1, 17, 1, 3, PaddingSpec::SameUpper, (1, 1));
        // kw=1: taps a row apart, output still contiguous along W.
        run_dw(DataFormat::NCHW, 8, 12, 20, 3, 1, PaddingSpec::Valid, (1, 1));
        run_dw(DataFormat::NCHW, 4, 9, 9, 3, 3, PaddingSpec::Valid, (1, 1));
        // 5x5 / 5x1 / 3x5: tap counts past the compile-time paths, so the inner loop runs
        // through the whole-tap-count kernel rather than a fallback.
        run_dw(DataFormat::NCHW, 16, 40, 40, 5, 5, PaddingSpec::SameUpper, (1, 1));
        run_dw(DataFormat::NCHW, 64, 20, 20, 5, 5, PaddingSpec::SameUpper, (1, 1));
        run_dw(DataFormat::NCHW, 8, 24, 24, 5, 5, PaddingSpec::Valid, (1, 1));
        run_dw(DataFormat::NCHW, 8, 12, 20, 5, 1, PaddingSpec::Valid, (1, 1));
        run_dw(DataFormat::NCHW, 8, 12, 20, 3, 5, PaddingSpec::Valid, (1, 1));
        // 49, 81 and 121 taps take the vectorised kernel; 169 is past the limit and stays scalar.
        run_dw(DataFormat::NCHW, 8, 30, 30, 7, 7, PaddingSpec::SameUpper, (1, 1));
        run_dw(DataFormat::NCHW, 8, 30, 30, 9, 9, PaddingSpec::SameUpper, (1, 1));
        run_dw(DataFormat::NCHW, 8, 30, 30, 11, 11, PaddingSpec::SameUpper, (1, 1));
        run_dw(DataFormat::NCHW, 8, 30, 30, 13, 13, PaddingSpec::SameUpper, (1, 1));
        // Encoder DW: stride 2 / 3 along W (vld2 / vld3 path).
        run_dw(DataFormat::NCHW, 64, 1, 481, 1, 3, PaddingSpec::SameUpper, (1, 3));
        run_dw(DataFormat::NCHW, 64, 1, 161, 1, 3, PaddingSpec::SameUpper, (1, 2));
        run_dw(DataFormat::NCHW, 16, 1, 64, 1, 3, PaddingSpec::Valid, (1, 2));
    }

    #[test]
    fn depthwise_nhwc_f16_matches_reference() {
        let f16 = f16::datum_type();
        run_dw_dt(f16, DataFormat::NHWC, 3, 9, 9, 3, 3, PaddingSpec::Valid, (1, 1));
        run_dw_dt(f16, DataFormat::NHWC, 33, 12, 14, 3, 3, PaddingSpec::SameUpper, (1, 1));
        run_dw_dt(f16, DataFormat::NHWC, 64, 11, 13, 5, 5, PaddingSpec::SameUpper, (2, 2));
    }

    /// Channel-first f16: with f16 arithmetic (64-bit ARM with FEAT_FP16) the zones of more than
    /// four taps run through `depthwise_w_f16` (stride 1 and 2 vectorised, 3 per point), the
    /// others through the generic loops; anywhere else all of them do.
    #[test]
    fn depthwise_nchw_f16_matches_reference() {
        let f16 = f16::datum_type();
        for (c, h, w, k, pad, stride) in [
            (4, 9, 9, 3, PaddingSpec::Valid, (1, 1)),
            (24, 40, 40, 5, PaddingSpec::SameUpper, (1, 1)),
            (8, 33, 37, 5, PaddingSpec::SameUpper, (2, 2)),
            (16, 64, 64, 5, PaddingSpec::Valid, (1, 1)),
            (8, 30, 30, 3, PaddingSpec::SameUpper, (2, 2)),
            (8, 20, 41, 5, PaddingSpec::SameUpper, (1, 3)),
        ] {
            run_dw_dt(f16, DataFormat::NCHW, c, h, w, k, k, pad, stride);
        }
    }

    #[test]
    fn depthwise_nhwc_multithreaded_matches_reference() {
        let pool = tract_linalg::multithread::Executor::multithread(4);
        tract_linalg::multithread::multithread_tract_scope(pool, || {
            for dt in [f32::datum_type(), f16::datum_type()] {
                run_dw_dt(dt, DataFormat::NHWC, 64, 30, 30, 3, 3, PaddingSpec::SameUpper, (1, 1));
                run_dw_dt(dt, DataFormat::NHWC, 33, 40, 40, 3, 3, PaddingSpec::Valid, (1, 1));
                run_dw_dt(dt, DataFormat::NHWC, 200, 20, 20, 5, 5, PaddingSpec::SameUpper, (2, 2));
                run_dw_dt(dt, DataFormat::NHWC, 80, 25, 27, 3, 3, PaddingSpec::SameUpper, (2, 1));
            }
        });
    }

    #[test]
    fn depthwise_nhwc_matches_reference() {
        // DFN3-like depthwise convs: 1x3 along a long axis, strided or not.
        run_dw(DataFormat::NHWC, 3, 9, 9, 3, 3, PaddingSpec::Valid, (1, 1));
        run_dw(DataFormat::NHWC, 64, 100, 32, 1, 3, PaddingSpec::SameUpper, (1, 2));
        run_dw(DataFormat::NHWC, 64, 100, 16, 1, 3, PaddingSpec::SameUpper, (1, 2));
        run_dw(DataFormat::NHWC, 64, 100, 8, 1, 3, PaddingSpec::SameUpper, (1, 1));
        run_dw(DataFormat::NHWC, 64, 100, 8, 1, 1, PaddingSpec::Valid, (1, 1));
        run_dw(DataFormat::NHWC, 64, 100, 96, 5, 1, PaddingSpec::SameUpper, (1, 1));
        // Odd channel counts and small shapes: vector tails, narrow zones.
        run_dw(DataFormat::NHWC, 17, 12, 20, 3, 3, PaddingSpec::SameUpper, (1, 1));
        run_dw(DataFormat::NHWC, 8, 1, 64, 1, 3, PaddingSpec::Valid, (1, 3));
        run_dw(DataFormat::NHWC, 4, 1, 17, 1, 3, PaddingSpec::SameUpper, (1, 1));
    }
}
