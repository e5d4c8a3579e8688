use tract_data::itertools::Itertools;
use tract_num_traits::Zero;

use crate::internal::*;

use super::Slice;

#[derive(new, Debug, Clone, Hash, PartialEq, Eq)]
pub struct TypedConcat {
    pub axis: usize,
}

impl TypedConcat {
    pub fn offsets(&self, inputs: &[&TypedFact]) -> TractResult<Vec<TDim>> {
        let mut offsets = vec![0.to_dim()];
        for slice in inputs {
            let len = slice.shape[self.axis].clone();
            let offset = len + offsets.last().unwrap();
            offsets.push(offset)
        }
        Ok(offsets)
    }
}

impl Op for TypedConcat {
    fn name(&self) -> StaticName {
        "Concat".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("axis: {}", self.axis)])
    }

    op_as_typed_op!();
}

impl TypedOp for TypedConcat {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() > 0);
        let mut fact = inputs[0].without_value();
        for input in inputs {
            if input.rank() != fact.rank()
                || input
                    .shape
                    .iter()
                    .zip(fact.shape.iter())
                    .enumerate()
                    .filter(|(ax, _)| *ax != self.axis)
                    .any(|(_, (i, f))| i != f)
            {
                bail!("Inconsistent concat {:?} inputs: {:?}", self, inputs);
            }
        }
        fact.shape.set(self.axis, self.offsets(inputs)?.pop().unwrap());
        Ok(tvec!(fact))
    }

    fn axes_mapping(
        &self,
        inputs: &[&TypedFact],
        outputs: &[&TypedFact],
    ) -> TractResult<AxesMapping> {
        let mut axes = AxesMapping::disconnected(inputs, outputs)?;
        for ax in 0..outputs[0].rank() {
            if ax != self.axis {
                for i in 0..inputs.len() {
                    axes = axes.linking((InOut::Out(0), ax), (InOut::In(i), ax))?;
                }
            }
        }
        Ok(axes)
    }

    fn change_axes(
        &self,
        model: &TypedModel,
        node: &TypedNode,
        _io: InOut,
        change: &AxisOp,
    ) -> TractResult<Option<AxisChangeConsequence>> {
        rule_if_some!(axis = change.transform_axis(self.axis));
        let op = TypedConcat { axis };
        Ok(Some(AxisChangeConsequence::new(model, node, Some(Box::new(op)), change)))
    }

    fn declutter(
        &self,
        model: &TypedModel,
        node: &TypedNode,
    ) -> TractResult<Option<TypedModelPatch>> {
        if node.inputs.len() == 1 {
            return TypedModelPatch::shunt_one_op(model, node);
        }
        let inputs = model.node_input_facts(node.id)?;
        if let Some(pos) = inputs.iter().position(|f| f.shape.volume().is_zero()) {
            let mut inputs = node.inputs.clone();
            inputs.remove(pos);
            return Ok(Some(TypedModelPatch::replace_single_op(
                model,
                node,
                &inputs,
                self.clone(),
            )?));
        }
        Ok(None)
    }

    fn slice(
        &self,
        patch: &mut TypedModelPatch,
        _model: &TypedModel,
        _node: &TypedNode,
        prefix: &str,
        inputs: &[OutletId],
        output_axis: usize,
        start: &TDim,
        end: &TDim,
    ) -> TractResult<Option<TVec<OutletId>>> {
        if output_axis != self.axis {
            return Ok(Some(patch.wire_node(prefix, self.clone(), inputs)?));
        }
        let facts =
            inputs.iter().map(|o| patch.outlet_fact(*o)).collect::<TractResult<TVec<_>>>()?;
        let offsets = self.offsets(&facts)?;
        std::mem::drop(facts);
        for (ix, (slice_start, slice_end)) in offsets.iter().tuple_windows().enumerate() {
            if (start.clone() - slice_start).prove_positive_or_zero()
                && (slice_end.clone() - end).prove_positive_or_zero()
            {
                return patch
                    .wire_node(
                        format!("{prefix}.slice-{output_axis}.{start}..{end}"),
                        Slice {
                            axis: output_axis,
                            start: (start.clone() - slice_start),
                            end: (end.clone() - slice_start),
                        },
                        &[inputs[ix]],
                    )
                    .map(Some);
            }
        }
        Ok(None)
    }
}

impl EvalOp for TypedConcat {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        if let Some(result) = interleave(self.axis, &inputs)? {
            return Ok(tvec![result.into_tvalue()]);
        }
        let result = Tensor::stack_tensors(self.axis, &inputs)?;
        Ok(tvec![result.into_tvalue()])
    }
}

/// Two 4-byte (or 2-byte: f16) tensors of the same shape, one element each along the last axis,
/// concatenated along it: their elements interleaved in one pass, `[a0, b0, a1, b1, …]`, which
/// vectorises. (`stack_tensors` copies each input into every other slot in a pass of its own,
/// one element per iteration of a loop sized at run time.) Upsampling written as weighted adds
/// and an interleave, as BlazePose's 2× resizes are, ends with such concatenations of 10⁵
/// elements. `None` for anything else.
fn interleave(axis: usize, inputs: &[TValue]) -> TractResult<Option<Tensor>> {
    let [a, b] = inputs else { return Ok(None) };
    let (dt, shape) = (a.datum_type(), a.shape());
    if b.datum_type() != dt
        || b.shape() != shape
        || !dt.is_copy()
        || !(dt.size_of() == 4 || dt.size_of() == 2)
        || axis + 1 != shape.len()
        || shape[axis] != 1
    {
        return Ok(None);
    }
    let (Ok(pa), Ok(pb)) = (a.try_as_plain_ram(), b.try_as_plain_ram()) else { return Ok(None) };
    let (xa, xb) = (pa.as_bytes(), pb.as_bytes());
    let mut out_shape: TVec<usize> = shape.into();
    out_shape[axis] = 2;
    let mut result = unsafe { Tensor::uninitialized_dt(dt, &out_shape)? };
    {
        let mut out = result.try_as_plain_ram_mut()?;
        let dst = out.as_bytes_mut();
        if dst.len() != 2 * xa.len() {
            return Ok(None);
        }
        let done = if dt.size_of() == 4 {
            interleave_words::<u32>(xa, xb, dst)
        } else {
            interleave_words::<u16>(xa, xb, dst)
        };
        if !done {
            return Ok(None);
        }
    }
    Ok(Some(result))
}

/// `dst` = `xa` and `xb` interleaved word by word, as words of `W` (an unsigned integer of the
/// element's size); false (nothing written) when a buffer is not aligned to whole words.
fn interleave_words<W: Copy>(xa: &[u8], xb: &[u8], dst: &mut [u8]) -> bool {
    let w = std::mem::size_of::<W>();
    // tract's buffers are aligned far beyond a word; checked all the same.
    let words = |b: &[u8]| b.as_ptr().align_offset(w) == 0 && b.len() % w == 0;
    if !(words(xa) && words(xb) && words(dst)) || xa.len() != xb.len() {
        return false;
    }
    // SAFETY: aligned, whole words, lengths as checked; W (u16, u32) has no invalid bit patterns.
    let (xa, xb, dst) = unsafe {
        (
            std::slice::from_raw_parts(xa.as_ptr() as *const W, xa.len() / w),
            std::slice::from_raw_parts(xb.as_ptr() as *const W, xb.len() / w),
            std::slice::from_raw_parts_mut(dst.as_mut_ptr() as *mut W, dst.len() / w),
        )
    };
    for ((pair, x), y) in dst.chunks_exact_mut(2).zip(xa).zip(xb) {
        pair[0] = *x;
        pair[1] = *y;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interleaving_equals_stacking() {
        for shape in [&[1usize, 1][..], &[7, 1], &[3, 5, 1], &[2, 1152, 14, 7, 1]] {
            let n: usize = shape.iter().product();
            let a =
                Tensor::from_shape(shape, &(0..n).map(|i| i as f32).collect::<Vec<_>>()).unwrap();
            let b =
                Tensor::from_shape(shape, &(0..n).map(|i| -(i as f32) - 0.5).collect::<Vec<_>>())
                    .unwrap();
            let inputs = tvec!(a.clone().into_tvalue(), b.clone().into_tvalue());
            let got = interleave(shape.len() - 1, &inputs).unwrap().expect("interleaved");
            assert_eq!(
                got,
                Tensor::stack_tensors(shape.len() - 1, &[a.clone(), b.clone()]).unwrap(),
                "{shape:?}"
            );
            let ai =
                Tensor::from_shape(shape, &(0..n).map(|i| i as i32).collect::<Vec<_>>()).unwrap();
            let inputs = tvec!(ai.clone().into_tvalue(), ai.clone().into_tvalue());
            let got = interleave(shape.len() - 1, &inputs).unwrap().expect("interleaved");
            assert_eq!(got, Tensor::stack_tensors(shape.len() - 1, &[ai.clone(), ai]).unwrap());
            // Two-byte elements (f16, computed in on 64-bit ARM with FEAT_FP16).
            let (ah, bh) = (a.cast_to::<f16>().unwrap(), b.cast_to::<f16>().unwrap());
            let inputs =
                tvec!(ah.clone().into_owned().into_tvalue(), bh.clone().into_owned().into_tvalue());
            let got = interleave(shape.len() - 1, &inputs).unwrap().expect("interleaved f16");
            let want = Tensor::stack_tensors(shape.len() - 1, &[ah.into_owned(), bh.into_owned()])
                .unwrap();
            assert_eq!(got, want, "f16 {shape:?}");
        }
        // Anything else goes to stack_tensors.
        let wide = tensor2(&[[1f32, 2.], [3., 4.]]);
        let two = tvec!(wide.clone().into_tvalue(), wide.clone().into_tvalue());
        assert!(interleave(1, &two).unwrap().is_none());
        assert!(interleave(0, &two).unwrap().is_none());
        let col = tensor2(&[[1f32], [2.]]);
        let three = tvec!(col.clone().into_tvalue(), col.clone().into_tvalue(), col.into_tvalue());
        assert!(interleave(1, &three).unwrap().is_none());
        let bytes = tensor2(&[[1u8], [2]]);
        let u8s = tvec!(bytes.clone().into_tvalue(), bytes.into_tvalue());
        assert!(interleave(1, &u8s).unwrap().is_none());
    }
}
