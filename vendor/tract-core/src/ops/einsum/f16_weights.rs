//! activityd patch (vendor/README.md, PR 10): constant f32 weights that are all exactly f16
//! values kept as f16, for the matrix kernels that widen f16 panels as they load them.
//!
//! Networks converted from an fp16 model (MediaPipe's TFLite models are fp16) carry f32
//! weights every one of which is an IEEE half. Packed as f32 they take twice the memory they
//! need; stored as f16 and widened in the kernel (`vcvtph2ps` on x86-64, `fcvtl` on aarch64)
//! each product is the same f32 product, so the model's output is unchanged to the bit.
//!
//! [`F16ExactWeights`] (transform `f16_exact_weights`) rewrites every `EinSum` computing in f32
//! whose constant operand is f16-exact to take that operand as f16, when the kernel the
//! all-f32 product would run on reads that operand as f16 itself (x86-64: the 256-bit FMA
//! kernels, and the AVX-512 tiles for an f16 A since PR 11; aarch64: 32x1 and 32x3), the
//! product shaped as codegen will see it ([`codegen_m_n`]). Elsewhere, or for a constant with
//! any value that is not a half, nothing changes: no kernel choice ever does. Run it on a
//! decluttered model, before `optimize`.

use tract_linalg::WeightType;
use tract_linalg::mmm::{MmmDispatch, Query};

use super::einsum_matmul::EinSumMatMul;
use crate::internal::*;
use crate::transform::ModelTransform;

/// The `f16_exact_weights` transform.
#[derive(Debug, Default)]
pub struct F16ExactWeights;

impl ModelTransform for F16ExactWeights {
    fn name(&self) -> StaticName {
        "f16_exact_weights".into()
    }

    fn transform(&self, model: &mut TypedModel) -> TractResult<()> {
        super::einsum_matmul::detect_all(model)?;
        // One product at a time, each f32 constant dropped (`compact`) as soon as its f16
        // copy replaces it: converting them all before dropping any would hold both copies of
        // every weight at once, the peak of a model's loading.
        let mut names = vec![];
        for id in model.eval_order()? {
            if let Some(op) = model.nodes[id].op_as::<EinSumMatMul>()
                && weights_to_store_as_f16(model, &model.nodes[id], op)?.is_some()
            {
                names.push(model.nodes[id].name.clone());
            }
        }
        for name in names {
            let node = model.node(model.node_id_by_name(&name)?);
            let op = node.op_as::<EinSumMatMul>().unwrap();
            let slot = weights_to_store_as_f16(model, node, op)?.unwrap();
            let patch = store_as_f16(model, node, op, slot)?;
            patch.apply(model)?;
            model.compact()?;
        }
        super::einsum_matmul::flatten_all(model)?;
        Ok(())
    }
}

/// Whether every value of an f32 tensor is exactly an f16 value.
pub fn is_f16_exact(t: &Tensor) -> TractResult<bool> {
    let t = t.try_as_plain_ram()?;
    Ok(t.as_slice::<f32>()?.iter().all(|&v| f16::from_f32(v).to_f32().to_bits() == v.to_bits()))
}

/// The slot of the product's f16-exact constant operand, when it should be stored as f16.
fn weights_to_store_as_f16(
    model: &TypedModel,
    node: &TypedNode,
    op: &EinSumMatMul,
) -> TractResult<Option<usize>> {
    if node.inputs.len() != 2 || op.op.q_params.is_some() || op.op.operating_dt != DatumType::F32 {
        return Ok(None);
    }
    let facts = model.node_input_facts(node.id)?;
    if facts.iter().any(|f| f.exotic_fact().is_some() || f.datum_type != DatumType::F32) {
        return Ok(None);
    }
    // One constant operand and one computed one: the product of two constants is folded.
    let Some(slot) = (0..2).find(|&i| facts[i].konst.is_some()) else { return Ok(None) };
    if facts[1 - slot].konst.is_some() || !kernel_reads_f16(op, &facts, slot) {
        return Ok(None);
    }
    Ok(is_f16_exact(facts[slot].konst.as_ref().unwrap())?.then_some(slot))
}

/// The product with its operand `slot` (a constant) as an f16 constant.
fn store_as_f16(
    model: &TypedModel,
    node: &TypedNode,
    op: &EinSumMatMul,
    slot: usize,
) -> TractResult<TypedModelPatch> {
    let w = model.outlet_fact(node.inputs[slot])?.konst.clone().unwrap();
    let mut patch = TypedModelPatch::new("f16 exact weights");
    let mut taps = patch.taps(model, &node.inputs)?;
    let name = &model.node(node.inputs[slot].node).name;
    taps[slot] = patch.add_const(format!("{name}.f16"), w.cast_to::<f16>()?.into_owned())?;
    let output = patch.wire_node(&node.name, op.clone(), &taps)?;
    patch.shunt_outside(model, node.id.into(), output[0])?;
    Ok(patch)
}

/// Whether the kernel this CPU would give the all-f32 product reads the weights in `slot` as
/// f16 itself, once the product is shaped and its operands ordered as `EinSumMatMul::codegen`
/// will see them ([`codegen_m_n`], `swaps_plain_operands`' rule). Products of symbolic size
/// are left alone.
fn kernel_reads_f16(op: &EinSumMatMul, facts: &[&TypedFact], slot: usize) -> bool {
    let (Some((m, n)), Some(k)) = (codegen_m_n(op, facts, slot), op.k.as_i64()) else {
        return false;
    };
    let swapped = m < n;
    let (m, n) = if swapped { (n, m) } else { (m, n) };
    let weights_are_a = (slot == 0) != swapped;
    let (weight, activation) = if weights_are_a {
        (DatumType::F16, DatumType::F32)
    } else {
        (DatumType::F32, DatumType::F16)
    };
    let query = Query {
        weight: WeightType::Plain(weight),
        activation,
        accumulators: op.op.acceptable_accumulators(),
        store: Some(DatumType::F32),
        allow_extractor: true,
        m: Some(m),
        k: Some(k as usize),
        n: Some(n),
    };
    let dispatch = MmmDispatch::native();
    dispatch.preferred(&query, &dispatch.suitable(&query)).is_some()
}

/// The product's m and n as codegen will see them, with the weights in `slot`. The decluttered
/// `EinSumMatMul` names one axis of the activation as its m (or n), but the activation's other
/// axes that the weights lack and the output keeps (a 1×1 convolution's rows, beside its
/// columns) are merged into it by `optimize` before codegen: a 64×64 plane is m = 64 here and
/// m = 4096 there, which another kernel may serve. The activation's side is the product of all
/// those axes.
fn codegen_m_n(op: &EinSumMatMul, facts: &[&TypedFact], slot: usize) -> Option<(usize, usize)> {
    let act = 1 - slot;
    let mut side = 1usize;
    for axis in op.op.axes.iter_all_axes() {
        if axis.inputs[act].len() == 1 && axis.inputs[slot].is_empty() && axis.outputs[0].len() == 1
        {
            side *= facts[act].shape[axis.inputs[act][0]].as_i64()? as usize;
        }
    }
    let weights_side = if slot == 0 { op.m.as_i64()? } else { op.n.as_i64()? } as usize;
    Some(if slot == 0 { (weights_side, side) } else { (side, weights_side) })
}

#[cfg(test)]
mod tests {
    use super::super::EinSum;
    use super::*;
    use crate::ops::konst::Const;

    /// `W·x` and `x·W` with W f16-exact, as 1×1 convolutions and dense layers have them.
    fn product(w: Tensor, w_first: bool, n: usize) -> TractResult<TypedModel> {
        let mut model = TypedModel::default();
        let k = w.shape()[1];
        let x = model.add_source("x", f32::fact([k, n]))?;
        let w = model.add_const("w", w)?;
        let (expr, inputs) = if w_first { ("mk,kn->mn", [w, x]) } else { ("kn,mk->mn", [x, w]) };
        let y = model.wire_node("y", EinSum::new(expr.parse()?, f32::datum_type()), &inputs)?;
        model.select_output_outlets(&y)?;
        Ok(model)
    }

    fn halves(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                let h = (i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 16;
                f16::from_f32((h as f32 / 65536.0 - 0.5) * 4.0).to_f32()
            })
            .collect()
    }

    fn consts(model: &TypedModel) -> Vec<DatumType> {
        model
            .nodes
            .iter()
            .filter_map(|n| n.op_as::<Const>())
            .map(|c| c.val().datum_type())
            .collect()
    }

    #[test]
    fn exact_weights_are_stored_as_f16_where_the_kernel_reads_them_with_the_same_bits()
    -> TractResult<()> {
        // Shapes on either side of the kernels' tiles, both operand orders, and n larger than
        // m so that the operands are swapped for the kernel.
        let (mut stored_f16, mut stored_288) = (0, 0);
        for &(m, k, n) in
            &[(1, 1, 1), (5, 7, 3), (33, 17, 4), (64, 24, 256), (24, 96, 1024), (288, 288, 16)]
        {
            for w_first in [true, false] {
                let w = Tensor::from_shape(&[m, k], &halves(m * k, 7))?;
                let x = Tensor::from_shape(&[k, n], &halves(k * n, 11))?;
                let mut f16 = product(w.clone(), w_first, n)?.into_decluttered()?;
                let mut detected = f16.clone();
                super::super::einsum_matmul::detect_all(&mut detected)?;
                let node = detected.nodes.iter().find(|n| n.op_is::<EinSumMatMul>()).unwrap();
                let op = node.op_as::<EinSumMatMul>().unwrap();
                let facts = detected.node_input_facts(node.id)?;
                let expected = kernel_reads_f16(op, &facts, if w_first { 0 } else { 1 });
                F16ExactWeights.transform(&mut f16)?;
                let want = if expected { DatumType::F16 } else { DatumType::F32 };
                assert_eq!(consts(&f16), vec![want], "{m}x{k}x{n}");
                stored_f16 += expected as usize;
                if expected && (m, k, n) == (288, 288, 16) {
                    stored_288 += 1;
                }
                let f32_plan = product(w, w_first, n)?.into_optimized()?.into_runnable()?;
                let f16_plan = f16.into_optimized()?.into_runnable()?;
                let want = f32_plan.run(tvec!(x.clone().into()))?.remove(0);
                let got = f16_plan.run(tvec!(x.into()))?.remove(0);
                assert_eq!(got.datum_type(), DatumType::F32);
                let (want, got) = (want.try_as_plain_ram()?, got.try_as_plain_ram()?);
                let (want, got) = (want.as_slice::<f32>()?, got.as_slice::<f32>()?);
                assert!(
                    want.iter().zip(got).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{m}x{k}x{n}, w first: {w_first}"
                );
            }
        }
        // Where the 256-bit FMA kernels are the f32 picks (x86-64 with AVX2 + FMA, AVX-512
        // not preferred), they read f16 weights on either side: most of the products above
        // were converted. Where the AVX-512 tiles are (Intel, Zen 5), they read an f16 A
        // (PR 11): the 288x288x16 product, whose weights are A in both orders, was converted.
        let plain = Query::plain(DatumType::F32, Some(288), Some(288), Some(16));
        let dispatch = MmmDispatch::native();
        let pick = dispatch.preferred(&plain, &dispatch.suitable(&plain));
        let pick = pick.map(|(mmm, _, _)| mmm.name().to_string()).unwrap_or_default();
        if pick.starts_with("fma_mmm_f32") {
            assert!(stored_f16 >= 8, "{stored_f16}");
        } else if pick.starts_with("avx512_mmm_f32") {
            assert_eq!(stored_288, 2, "{pick}");
        }
        Ok(())
    }

    /// The matrix kernels of an optimised plan, in order.
    fn kernels(model: TypedModel) -> TractResult<Vec<String>> {
        let plan = model.into_optimized()?;
        let mut names = vec![];
        for node in plan.nodes() {
            for line in node.op().info()? {
                if let Some(at) = line.find(" with [") {
                    names.push(line[at + 7..].trim_end_matches(']').to_string());
                }
            }
        }
        Ok(names)
    }

    /// A 1×1 convolution as the ONNX importer leaves it (`W[m, k] · X[1, k, h, w]`): the
    /// decluttered product names one spatial axis as its n, codegen sees the plane (h · w)
    /// merged. Whatever is stored f16, the plan runs on the kernels of the all-f32 plan (the
    /// transform's promise), with the same output to the bit. On AVX-512 (Intel) the
    /// transform once asked about n = w and converted products whose f32 kernel (for n = h · w)
    /// reads no f16: they ran on another kernel.
    #[test]
    fn a_convolution_plane_keeps_the_f32_plans_kernels() -> TractResult<()> {
        for &(m, k, h, w) in &[
            (64, 16, 128, 128),
            (144, 24, 64, 64),
            (88, 528, 16, 16),
            (192, 32, 32, 32),
            (288, 288, 4, 4),
        ] {
            let conv = || -> TractResult<TypedModel> {
                let mut model = TypedModel::default();
                let x = model.add_source("x", f32::fact([1, k, h, w]))?;
                let wt = Tensor::from_shape(&[m, k], &halves(m * k, 5))?;
                let wt = model.add_const("w", wt)?;
                let expr = "mk,akhw->amhw".parse()?;
                let y = model.wire_node("y", EinSum::new(expr, f32::datum_type()), &[wt, x])?;
                model.select_output_outlets(&y)?;
                Ok(model)
            };
            let mut f16 = conv()?.into_decluttered()?;
            F16ExactWeights.transform(&mut f16)?;
            let want = kernels(conv()?)?;
            assert_eq!(
                kernels(f16.clone())?,
                want,
                "{m}x{k}x{h}x{w}, f16 stored: {:?}",
                consts(&f16)
            );
            let x = Tensor::from_shape(&[1, k, h, w], &halves(k * h * w, 9))?;
            let a = conv()?.into_optimized()?.into_runnable()?.run(tvec!(x.clone().into()))?;
            let b = f16.into_optimized()?.into_runnable()?.run(tvec!(x.into()))?;
            let bits = |t: &TValue| -> TractResult<Vec<u32>> {
                Ok(t.try_as_plain_ram()?.as_slice::<f32>()?.iter().map(|v| v.to_bits()).collect())
            };
            assert_eq!(bits(&a[0])?, bits(&b[0])?, "{m}x{k}x{h}x{w}");
        }
        Ok(())
    }

    #[test]
    fn weights_that_are_not_all_halves_stay_f32() -> TractResult<()> {
        let mut w = halves(6 * 5, 3);
        w[17] = 0.1; // not a half
        let mut model = product(Tensor::from_shape(&[6, 5], &w)?, true, 8)?.into_decluttered()?;
        F16ExactWeights.transform(&mut model)?;
        assert_eq!(consts(&model), vec![DatumType::F32]);
        Ok(())
    }
}
