use crate::internal::*;

/// How a padded region is filled. A `Constant` value carries a single element
/// in the datum type the model builder gave it, f32 for a float graph, and no
/// pass retypes it: a consumer casts it to the datum type of the tensor it pads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PadMode {
    Constant(Arc<Tensor>),
    Reflect,
    Edge,
}

impl Default for PadMode {
    fn default() -> PadMode {
        PadMode::Constant(Arc::new(0.0f32.into()))
    }
}

#[derive(Debug, Clone, new, Default, Hash, PartialEq, Eq)]
pub struct Pad {
    pub pads: Vec<(usize, usize)>,
    pub mode: PadMode,
}

impl Pad {
    fn eval_t<T>(&self, input_tensor: TValue) -> TractResult<TValue>
    where
        T: Copy + Datum,
    {
        use tract_ndarray::*;
        let element = match &self.mode {
            PadMode::Constant(f) => f.cast_to_scalar::<T>()?,
            _ => T::default(),
        };
        if let Some(output) = self.eval_rows(&input_tensor, element)? {
            return Ok(output.into_tvalue());
        }
        let input = input_tensor.to_plain_array_view::<T>()?;
        let output_shape: Vec<usize> =
            input.shape().iter().zip(self.pads.iter()).map(|(&d, &(a, b))| d + a + b).collect();
        let mut output = ArrayD::<T>::from_elem(output_shape, element);
        let slice_spec: Vec<SliceInfoElem> = self
            .pads
            .iter()
            .map(|&(a, b)| SliceInfoElem::Slice {
                start: a as isize,
                end: if b != 0 { Some(-(b as isize)) } else { None },
                step: 1,
            })
            .collect();
        let slice_info = SliceInfo::<_, IxDyn, IxDyn>::try_from(slice_spec).unwrap();
        output.slice_mut(slice_info.as_ref()).assign(&input);
        if self.mode == PadMode::Reflect || self.mode == PadMode::Edge {
            for (ax, &(bef, aft)) in self.pads.iter().enumerate() {
                let axis = Axis(ax);
                let dim = output.shape()[ax];
                {
                    let (mut pad, data) = output.view_mut().split_at(axis, bef);
                    for i in 0..bef {
                        let mut target = pad.slice_axis_mut(axis, Slice::from(i..i + 1));
                        let source_slice = match self.mode {
                            PadMode::Edge => 0,
                            PadMode::Reflect => bef - i,
                            _ => panic!(),
                        };
                        let source =
                            data.slice_axis(axis, Slice::from(source_slice..source_slice + 1));
                        target.assign(&source);
                    }
                }
                {
                    let (data, mut pad) = output.view_mut().split_at(axis, dim - aft);
                    for i in 0..aft {
                        let mut target = pad.slice_axis_mut(axis, Slice::from(i..i + 1));
                        let source_slice = match self.mode {
                            PadMode::Edge => dim - aft - 1,
                            PadMode::Reflect => dim - aft - 2 - i,
                            _ => panic!(),
                        };
                        let source =
                            data.slice_axis(axis, Slice::from(source_slice..source_slice + 1));
                        target.assign(&source);
                    }
                }
            }
        }
        let mut output = output.into_tensor();
        unsafe { output.set_datum_type(input_tensor.datum_type()) }
        Ok(output.into_tvalue())
    }
}

impl Pad {
    /// `Constant` and `Edge` padding of a dense tensor as whole-row copies: the input's rows
    /// (along its last axis) are copied once into place with their edge or constant on each
    /// side, and each padded block along the other axes is then one copy of the block next to
    /// it (`Edge`) or one fill (`Constant`). `None` for `Reflect`, an empty input, or a type
    /// whose values are not in plain memory; the caller then takes the general path.
    ///
    /// The general path assigns ndarray views slice by slice, one call per padded row of the
    /// innermost axis: BlazePose's 2× resizes, written as edge pads and weighted adds, pad
    /// rows of 7 to 32 points in 48 to 1152 channels, and spent most of their time there.
    fn eval_rows<T: Datum + Copy>(
        &self,
        input: &Tensor,
        element: T,
    ) -> TractResult<Option<Tensor>> {
        let edge = match self.mode {
            PadMode::Edge => true,
            PadMode::Constant(_) => false,
            PadMode::Reflect => return Ok(None),
        };
        let shape = input.shape();
        if shape.is_empty() || shape.contains(&0) || self.pads.len() != shape.len() {
            return Ok(None);
        }
        let Ok(plain) = input.try_as_plain_ram() else { return Ok(None) };
        let Ok(src) = plain.as_slice::<T>() else { return Ok(None) };
        let out_shape: TVec<usize> =
            shape.iter().zip(&self.pads).map(|(d, (b, a))| d + b + a).collect();
        let mut output = unsafe { Tensor::uninitialized::<T>(&out_shape)? };
        {
            let mut out = output.try_as_plain_ram_mut()?;
            let dst = out.as_slice_mut::<T>()?;
            let in_strides = strides(shape);
            let out_strides = strides(&out_shape);
            let rows = RowPad { shape, pads: &self.pads, in_strides, out_strides, edge, element };
            rows.fill(0, src, dst);
        }
        unsafe { output.set_datum_type(input.datum_type()) };
        Ok(Some(output))
    }
}

/// Row-major strides of `shape`, in elements.
fn strides(shape: &[usize]) -> TVec<usize> {
    let mut s: TVec<usize> = tvec![1; shape.len()];
    for ax in (0..shape.len().saturating_sub(1)).rev() {
        s[ax] = s[ax + 1] * shape[ax + 1];
    }
    s
}

/// [`Pad::eval_rows`]'s walk.
struct RowPad<'a, T> {
    shape: &'a [usize],
    pads: &'a [(usize, usize)],
    in_strides: TVec<usize>,
    out_strides: TVec<usize>,
    edge: bool,
    element: T,
}

impl<T: Copy> RowPad<'_, T> {
    /// Pads the block of axis `ax` and below: `src` is the input's block, `dst` the output's.
    fn fill(&self, ax: usize, src: &[T], dst: &mut [T]) {
        let (n, (before, after)) = (self.shape[ax], self.pads[ax]);
        if ax + 1 == self.shape.len() {
            dst[before..before + n].copy_from_slice(&src[..n]);
            let (head, tail) =
                if self.edge { (src[0], src[n - 1]) } else { (self.element, self.element) };
            dst[..before].fill(head);
            dst[before + n..before + n + after].fill(tail);
            return;
        }
        let (is, os) = (self.in_strides[ax], self.out_strides[ax]);
        for i in 0..n {
            let o = (before + i) * os;
            self.fill(ax + 1, &src[i * is..][..is], &mut dst[o..o + os]);
        }
        for p in 0..before {
            if self.edge {
                dst.copy_within(before * os..(before + 1) * os, p * os);
            } else {
                dst[p * os..(p + 1) * os].fill(self.element);
            }
        }
        let last = before + n - 1;
        for p in before + n..before + n + after {
            if self.edge {
                dst.copy_within(last * os..(last + 1) * os, p * os);
            } else {
                dst[p * os..(p + 1) * os].fill(self.element);
            }
        }
    }
}

impl Op for Pad {
    fn name(&self) -> StaticName {
        "Pad".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("Mode: {:?}, pads: {:?})", self.mode, self.pads,)])
    }

    op_as_typed_op!();
}

impl EvalOp for Pad {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        Ok(tvec!(dispatch_numbers!(Self::eval_t(input.datum_type())(self, input))?))
    }
}

impl TypedOp for Pad {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut fact = inputs[0].without_value();
        if self.pads.len() != fact.rank() {
            bail!("Inconsistent pad: input of rank {}, pads are: {:?}", fact.rank(), self.pads);
        }
        for (ix, (b, e)) in self.pads.iter().enumerate() {
            fact.shape.set(ix, fact.shape[ix].clone() + *b + *e);
        }
        Ok(tvec!(fact))
    }

    fn input_roi(
        &self,
        model: &TypedModel,
        node: &TypedNode,
    ) -> TractResult<Option<TVec<Option<TDim>>>> {
        let output_fact = model.outlet_fact(OutletId::new(node.id, 0))?;
        rule_if_some!(roi = &output_fact.region_of_interest);
        // For each padded axis, substitute 🎯axis → 🎯axis - before
        let mut input_roi = roi.clone();
        for (axis, &(before, _)) in self.pads.iter().enumerate() {
            if before == 0 {
                continue;
            }
            if let Some(sym) = input_roi
                .symbols()
                .into_iter()
                .find(|s| crate::ops::logic::sym_to_coord_axis(s) == Some(axis))
            {
                let shifted = TDim::Sym(sym.clone()) - TDim::Val(before as i64);
                input_roi = input_roi.substitute(&sym, &shifted).unwrap_or(input_roi);
            }
        }
        Ok(Some(tvec![Some(input_roi)]))
    }

    fn axes_mapping(
        &self,
        inputs: &[&TypedFact],
        outputs: &[&TypedFact],
    ) -> TractResult<AxesMapping> {
        let mut result = AxesMapping::disconnected(inputs, outputs)?;
        for (ix, pads) in self.pads.iter().enumerate() {
            if pads == &(0, 0) {
                result = result.linking((InOut::In(0), ix), (InOut::Out(0), ix))?;
            }
        }
        Ok(result)
    }

    fn change_axes(
        &self,
        model: &TypedModel,
        node: &TypedNode,
        io: InOut,
        change: &AxisOp,
    ) -> TractResult<Option<AxisChangeConsequence>> {
        let mut new_op = self.clone();
        if let (InOut::In(0), AxisOp::Rm(ix)) = (io, change)
            && new_op.pads.remove(*ix) == (0, 0)
        {
            return Ok(Some(AxisChangeConsequence::new(
                model,
                node,
                Some(Box::new(new_op)),
                change,
            )));
        }
        if let (InOut::In(0), AxisOp::Add(ix)) = (io, change) {
            new_op.pads.insert(*ix, (0, 0));
            return Ok(Some(AxisChangeConsequence::new(
                model,
                node,
                Some(Box::new(new_op)),
                change,
            )));
        }
        Ok(None)
    }

    fn declutter(
        &self,
        model: &TypedModel,
        node: &TypedNode,
    ) -> TractResult<Option<TypedModelPatch>> {
        if self.pads.iter().all(|p| p.0 == 0 && p.1 == 0) {
            TypedModelPatch::shunt_one_op(model, node)
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_ndarray::*;

    /// Each output element from its own index: the input element at the index clamped into
    /// the input (`Edge`) or the constant where the index falls outside it.
    fn reference(input: &ArrayD<f32>, pads: &[(usize, usize)], edge: bool, c: f32) -> ArrayD<f32> {
        use tract_ndarray::*;
        let shape: Vec<usize> =
            input.shape().iter().zip(pads).map(|(d, (b, a))| d + b + a).collect();
        ArrayD::from_shape_fn(shape, |ix| {
            let mut at = vec![0usize; ix.ndim()];
            for ax in 0..ix.ndim() {
                let i = ix[ax] as isize - pads[ax].0 as isize;
                let n = input.shape()[ax] as isize;
                if !edge && (i < 0 || i >= n) {
                    return c;
                }
                at[ax] = i.clamp(0, n - 1) as usize;
            }
            input[IxDyn(&at)]
        })
    }

    #[test]
    fn row_padding_matches_the_padding_by_index() {
        let cases: &[(&[usize], &[(usize, usize)])] = &[
            (&[5], &[(1, 1)]),
            (&[5], &[(0, 3)]),
            (&[3, 4], &[(1, 0), (0, 2)]),
            (&[2, 3, 4], &[(0, 0), (1, 1), (1, 1)]),
            (&[1152, 14, 7], &[(0, 0), (0, 0), (1, 1)]),
            (&[2, 3, 1, 6], &[(1, 2), (0, 0), (2, 1), (0, 0)]),
            (&[4, 1], &[(0, 0), (3, 0)]),
        ];
        for (shape, pads) in cases {
            let n: usize = shape.iter().product();
            let input = ArrayD::from_shape_vec(
                IxDyn(shape),
                (0..n).map(|i| i as f32 * 0.5 - 3.0).collect(),
            )
            .unwrap();
            for (mode, edge) in
                [(PadMode::Edge, true), (PadMode::Constant(rctensor0(-7.5f32)), false)]
            {
                let op = Pad::new(pads.to_vec(), mode);
                let got = op.eval_rows::<f32>(&input.clone().into_tensor(), -7.5).unwrap().unwrap();
                let want = reference(&input, pads, edge, -7.5).into_tensor();
                assert_eq!(got, want, "{shape:?} {pads:?} edge {edge}");
                // and through the op, as a plan runs it
                let out = op
                    .eval(&EvalContext::out_of_plan(), tvec!(input.clone().into_tvalue()))
                    .unwrap();
                assert_eq!(*out[0], want);
            }
        }
        // Reflect and empty inputs take the general path.
        let op = Pad::new(vec![(1, 1)], PadMode::Reflect);
        assert!(op.eval_rows::<f32>(&tensor1(&[1f32, 2., 3.]), 0.0).unwrap().is_none());
        let op = Pad::new(vec![(1, 1)], PadMode::Edge);
        assert!(op.eval_rows::<f32>(&tensor1::<f32>(&[]), 0.0).unwrap().is_none());
    }
}
