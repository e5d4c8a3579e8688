//! ONNX models: loading them into tract (the only inference engine) and reading their JSON
//! cards.
//!
//! Every model is loaded with a fixed input shape and only the outputs we use, so tract prunes
//! the rest of the graph, then optimised once at start-up. Its weights are read from the file
//! one at a time ([`onnx_file`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::{TractErrorContext, ensure};
use tract_onnx::tract_hir::infer::Factoid;

use crate::config::{PoseModelKind, PosePrecision};

/// Why a model could not be used. The daemon exits with code 3 on any of these.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file {0} is missing")]
    Missing(PathBuf),
    #[error("cannot load model {path}: {message}")]
    Load { path: PathBuf, message: String },
    #[error("model card {path}: {message}")]
    Card { path: PathBuf, message: String },
    #[error("inference failed: {0}")]
    Run(String),
    /// The landmark model chosen with `pose.model` (or `--pose-model`) is not installed.
    #[error(
        "pose.model = \"{kind}\" needs the landmark model {path}, which is missing: build it \
         with `training/pose/build_models.sh {kind}` (into the models folder), or use \
         pose.model = \"full\"",
        path = .path.display()
    )]
    MissingPoseModel { kind: PoseModelKind, path: PathBuf },
    /// A model loaded but does not have the input or outputs the code reads.
    #[error("model {path} does not fit: {message}")]
    Shape { path: PathBuf, message: String },
}

/// How an image model wants its RGB input tensor laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `[1, H, W, 3]`: the three channels of a pixel side by side (TFLite's order).
    Nhwc,
    /// `[1, 3, H, W]`: one plane per channel (what tract's convolutions run fastest on).
    Nchw,
}

impl Layout {
    /// Distance in the tensor between neighbouring pixels of a row, and between the channels
    /// of one pixel, for an `n`×`n` image.
    pub fn strides(self, n: usize) -> (usize, usize) {
        match self {
            Layout::Nhwc => (3, 1),
            Layout::Nchw => (1, n * n),
        }
    }

    fn shape(self, n: usize) -> [usize; 4] {
        match self {
            Layout::Nhwc => [1, n, n, 3],
            Layout::Nchw => [1, 3, n, n],
        }
    }
}

mod onnx_file;

/// Parses the ONNX file at `path` into tract, its weights read one at a time from the file
/// ([`onnx_file`]).
fn parse(path: &Path) -> TractResult<InferenceModel> {
    // The weights are found next to the file itself: a symlink's target, not the link.
    let path = &path
        .canonicalize()
        .with_context(|| format!("Opening {path:?}"))?;
    let proto = onnx_file::read_model(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = dir
        .to_str()
        .with_context(|| format!("model folder {dir:?} is not UTF-8"))?;
    let mut onnx = tract_onnx::onnx();
    onnx.provider = Arc::new(tract_onnx::data_resolver::FopenDataResolver);
    let parsed = onnx.parse(&proto, Some(dir))?;
    ensure!(
        parsed.unresolved_inputs.is_empty(),
        "inputs not found in the model: {:?}",
        parsed.unresolved_inputs
    );
    Ok(parsed.model)
}

/// An optimised model ready to run.
#[derive(Clone)]
pub struct OnnxModel {
    plan: Arc<TypedSimplePlan>,
    pub input_shape: Vec<usize>,
}

impl OnnxModel {
    /// Loads `path` with one f32 input of `input_shape`, keeping only the `outputs` named;
    /// its weights stay f32.
    pub fn load(
        path: &Path,
        input_shape: &[usize],
        outputs: &[&str],
    ) -> Result<OnnxModel, ModelError> {
        Self::load_with(
            path,
            |_| Ok(input_shape.to_vec()),
            outputs,
            PosePrecision::F32,
        )
    }

    /// Loads an image model taking one `n`×`n` RGB picture, in the layout its ONNX input
    /// declares (`[1, 3, n, n]` is NCHW, anything else NHWC); returns the layout with it.
    pub fn load_image(
        path: &Path,
        n: usize,
        outputs: &[&str],
        precision: PosePrecision,
    ) -> Result<(OnnxModel, Layout), ModelError> {
        let mut layout = Layout::Nhwc;
        let model = Self::load_with(
            path,
            |declared| {
                let channels_first = declared.shape.dims().nth(1).and_then(|d| d.concretize());
                if channels_first == Some(3.into()) {
                    layout = Layout::Nchw;
                }
                // A model declaring another picture size (fixed dimensions only) is refused.
                let dims: Vec<Option<TDim>> =
                    declared.shape.dims().map(|d| d.concretize()).collect();
                let want = layout.shape(n);
                if dims.len() == 4
                    && dims.iter().zip(want).any(|(d, w)| {
                        d.as_ref()
                            .and_then(|d| d.to_i64().ok())
                            .is_some_and(|d| d != w as i64)
                    })
                {
                    return Err(TractError::msg(format!(
                        "declares input {:?}, expected {want:?} (a {n}x{n} RGB picture)",
                        declared.shape
                    )));
                }
                Ok(want.to_vec())
            },
            outputs,
            precision,
        )?;
        Ok((model, layout))
    }

    /// Loads `path`; `input_shape` picks the input shape from the one the model declares.
    fn load_with(
        path: &Path,
        input_shape: impl FnOnce(&InferenceFact) -> TractResult<Vec<usize>>,
        outputs: &[&str],
        precision: PosePrecision,
    ) -> Result<OnnxModel, ModelError> {
        if !path.is_file() {
            return Err(ModelError::Missing(path.to_path_buf()));
        }
        let err = |e: TractError| ModelError::Load {
            path: path.to_path_buf(),
            message: format!("{e:#}"),
        };
        // Loading frees blocks no run asks for again: unmapped at once, not cached.
        let uncached = crate::memory::Uncached::new();
        let model = parse(path).map_err(err)?;
        let input_shape = input_shape(model.input_fact(0).map_err(err)?).map_err(err)?;
        let mut model = model
            .with_input_fact(0, f32::fact(&input_shape).into())
            .map_err(err)?;
        if !outputs.is_empty() {
            model = model.with_outputs_by_name(outputs).map_err(err)?;
        }
        let plan = optimise(model, precision)
            .map_err(err)?
            .into_runnable()
            .map_err(err)?;
        drop(uncached);
        Ok(OnnxModel { plan, input_shape })
    }

    /// The shape of output `i` (in the order asked for at load time), when it is fixed.
    pub fn output_shape(&self, i: usize) -> Option<Vec<usize>> {
        let fact = self.plan.model().output_fact(i).ok()?;
        fact.shape.as_concrete().map(|s| s.to_vec())
    }

    /// A reusable execution state (one per thread).
    pub fn session(&self) -> Result<Session, ModelError> {
        let err = |e: TractError| ModelError::Run(format!("{e:#}"));
        Ok(Session {
            state: self.plan.spawn().map_err(err)?,
            input_shape: self.input_shape.clone(),
            input_type: self.plan.model().input_fact(0).map_err(err)?.datum_type,
        })
    }
}

/// One thread's handle to run a model repeatedly.
pub struct Session {
    state: TypedSimpleState,
    input_shape: Vec<usize>,
    /// What the plan takes: f32, or f16 for a model translated to f16 arithmetic.
    input_type: DatumType,
}

impl Session {
    /// Runs the model on an input that `fill` writes in place (row-major, the input shape);
    /// returns the outputs in the order they were asked for at load time.
    pub fn run(&mut self, fill: impl FnOnce(&mut [f32])) -> Result<TVec<TValue>, ModelError> {
        let err = |e: TractError| ModelError::Run(format!("{e:#}"));
        let mut input = Tensor::zero::<f32>(&self.input_shape).map_err(err)?;
        fill(
            input
                .try_as_plain_ram_mut()
                .map_err(err)?
                .as_slice_mut::<f32>()
                .map_err(err)?,
        );
        if self.input_type != f32::datum_type() {
            input = input.cast_to_dt(self.input_type).map_err(err)?.into_owned();
        }
        // tract's x86 kernels leave the AVX upper state clear when they return (vendor/
        // README.md, PR 4): the SSE code that runs next (the crop, post-processing) pays no
        // transition penalty.
        let outputs = self.state.run(tvec!(input.into_tvalue())).map_err(err)?;
        outputs
            .into_iter()
            .map(|o| {
                if o.datum_type() == f16::datum_type() {
                    Ok(o.cast_to::<f32>().map_err(err)?.into_owned().into_tvalue())
                } else {
                    Ok(o)
                }
            })
            .collect()
    }
}

/// Optimises a loaded model for this CPU. With [`PosePrecision::F16Arithmetic`] on a CPU with
/// f16 arithmetic ([`f16_arithmetic`]) the model computes in f16 (tract's f16 kernels, and the
/// depthwise ones of tract PR 16, `vendor/README.md`; its input and outputs are converted in
/// [`Session::run`]) but for its output heads ([`output_heads`]), which stay f32. With
/// [`PosePrecision::F16`] (and `F16Arithmetic` elsewhere)
/// the constant weights of its matrix products that are exactly f16 values are stored as f16
/// where this CPU's kernel for the product reads them so (tract PR 10): the same products, in
/// less memory. In f32 and f16 weights, each MobileNetV2 block with a narrow widening product
/// (the landmark models' early blocks) runs as one op a strip of rows at a time, where this CPU
/// has the kernel for it (tract PR 17: x86-64 with AVX2 or AVX-512; the same outputs).
pub fn optimise(model: InferenceModel, precision: PosePrecision) -> TractResult<TypedModel> {
    use tract_onnx::tract_core::ops::cnn::conv::PointwiseDepthwiseFusion;
    use tract_onnx::tract_core::ops::einsum::f16_weights::F16ExactWeights;
    use tract_onnx::tract_core::transform::ModelTransform;
    let mut typed = model.into_typed()?.into_decluttered()?;
    match precision {
        PosePrecision::F16Arithmetic if f16_arithmetic() => to_f16_arithmetic(&mut typed)?,
        PosePrecision::F32 => PointwiseDepthwiseFusion::default().transform(&mut typed)?,
        PosePrecision::F16 | PosePrecision::F16Arithmetic => {
            PointwiseDepthwiseFusion::default().transform(&mut typed)?;
            F16ExactWeights.transform(&mut typed)?;
        }
    }
    typed.into_optimized()
}

/// Translates a typed model's f32 computations to f16, all but its [`output_heads`] (see
/// [`optimise`]): the heads' inputs are converted to f32, and their f32 results are the
/// model's outputs (the translator would round them to f16 at the end).
pub fn to_f16_arithmetic(model: &mut TypedModel) -> TractResult<()> {
    use tract_onnx::tract_core::floats::FloatPrecisionTranslator;
    use tract_onnx::tract_core::ops::cast::Cast;
    use tract_onnx::tract_core::transform::ModelTransform;
    let heads = output_heads(model)?;
    FloatPrecisionTranslator::with_filter(f32::datum_type(), f16::datum_type(), move |n| {
        !heads.contains(&n.id)
    })
    .transform(model)?;
    let outputs = model
        .output_outlets()?
        .iter()
        .map(|&o| {
            let node = &model.nodes[o.node];
            match node.op_as::<Cast>() {
                Some(c)
                    if c.to == f16::datum_type()
                        && model.outlet_fact(node.inputs[0])?.datum_type == f32::datum_type() =>
                {
                    Ok(node.inputs[0])
                }
                _ => Ok(o),
            }
        })
        .collect::<TractResult<Vec<_>>>()?;
    model.select_output_outlets(&outputs)
}

/// The nodes that make a model's outputs out of its last matrix products: walking back from
/// each output, the element-wise and reshaping steps up to the nearest convolutions or einsums,
/// and those products themselves. In BlazePose these are the heads that regress boxes,
/// keypoints and landmarks in pixels of the input and score them. Computed in f16 on a
/// Cortex-A76, the detector's first box for a man walking into the Sports2D view came out
/// turned a quarter, the landmark model accepted it, and tracking followed a person lying on
/// his side for over a second; with the heads in f32 that first pose still leans and the next
/// ones stand (`cross/README.md`). They cost 0.6 % more instructions per pose step.
pub fn output_heads(model: &TypedModel) -> TractResult<std::collections::HashSet<usize>> {
    use tract_onnx::tract_core::ops::cnn::Conv;
    use tract_onnx::tract_core::ops::einsum::EinSum;
    use tract_onnx::tract_core::ops::konst::Const;
    let mut heads = std::collections::HashSet::new();
    let mut todo: Vec<usize> = model.output_outlets()?.iter().map(|o| o.node).collect();
    while let Some(id) = todo.pop() {
        let node = &model.nodes[id];
        if node.op_is::<Const>() || node.inputs.is_empty() || !heads.insert(id) {
            continue;
        }
        if !(node.op_is::<EinSum>() || node.op_is::<Conv>()) {
            todo.extend(node.inputs.iter().map(|i| i.node));
        }
    }
    Ok(heads)
}

/// Whether tract computes in f16 on this CPU: 64-bit ARM with FEAT_FP16 (ARMv8.2 half-precision
/// arithmetic: Cortex-A55, A75, A76 and later, as in a Raspberry Pi 5; not the Pi 4's A72),
/// where its f16 kernels do twice the lanes of its f32 ones per instruction.
pub fn f16_arithmetic() -> bool {
    tract_onnx::tract_core::tract_linalg::has_fp16()
}

/// The arithmetic the pose models run in at `precision` on this CPU: `"f16"` where
/// [`f16_arithmetic`], `"f32"` otherwise.
pub fn arithmetic(precision: PosePrecision) -> &'static str {
    match precision {
        PosePrecision::F16Arithmetic if f16_arithmetic() => "f16",
        _ => "f32",
    }
}

/// Reads a model's JSON card (`<dir>/<name>.json`).
pub fn read_card(dir: &Path, name: &str) -> Result<serde_json::Value, ModelError> {
    let path = dir.join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| ModelError::Card {
        path: path.clone(),
        message: e.to_string(),
    })?;
    serde_json::from_str(&text).map_err(|e| ModelError::Card {
        path,
        message: e.to_string(),
    })
}

/// The f32 values of an output.
pub fn values(v: &TValue) -> Result<&[f32], ModelError> {
    v.try_as_plain_ram()
        .and_then(|p| p.as_slice::<f32>())
        .map_err(|e| ModelError::Run(format!("unexpected output type: {e}")))
}

/// What `/model/info` and `activityd model-info` report: the activity model's summary (the
/// plan's shape) and every model card in full; `pose_landmarks` is the card of the landmark
/// model in use (`pose.model`), and `pose_model.landmark_model` names it.
pub fn model_info(
    dir: &Path,
    pose_model: PoseModelKind,
    precision: PosePrecision,
) -> Result<serde_json::Value, ModelError> {
    let activity = read_card(dir, "activity")?;
    let detector = read_card(dir, "pose_detector")?;
    let onnx = dir.join(format!("{}.onnx", pose_model.file_stem()));
    if pose_model != PoseModelKind::Full && !onnx.is_file() {
        // Its card is committed; the model itself may not be (heavy).
        return Err(ModelError::MissingPoseModel {
            kind: pose_model,
            path: onnx,
        });
    }
    let landmarks = read_card(dir, pose_model.file_stem())?;
    let test = &activity["accuracy"]["test"];
    Ok(serde_json::json!({
        "model_version": activity["version"],
        "accuracy": test["accuracy"],
        "macro_f1": test["macro_f1"],
        "features": activity["pca_components"],
        "feature_count": activity["features"],
        "classes": activity["classes"],
        "extra_labels": ["uncertain", "no_person"],
        "trained_date": activity["trained_date"],
        "pose_model": {
            "landmark_model": pose_model.name(),
            "model_complexity": pose_model.model_complexity(),
            "precision": precision.name(),
            "arithmetic": arithmetic(precision),
            "detector": {"name": detector["name"], "version": detector["version"], "licence": detector["licence"]},
            "landmarks": {"name": landmarks["name"], "version": landmarks["version"], "licence": landmarks["licence"]},
            "source": landmarks["source"],
        },
        "cards": {"activity": activity, "pose_detector": detector, "pose_landmarks": landmarks},
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::tract_core::ops::cnn::conv::PointwiseDepthwise;
    use tract_onnx::tract_core::ops::konst::Const;

    /// The landmark models with each 1x1 convolution fused into the depthwise one it feeds
    /// (vendor PR 17, where the CPU has its kernel) give what the plain optimised model gives,
    /// on a real photo, to 1e-5 of each output's size, in every precision that fuses.
    #[test]
    fn fused_landmark_models_give_the_plain_models_outputs() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let photo = image::open(dir.join("tests/fixtures/images/pose2sim_cam01_f030_front.jpg"))
            .unwrap()
            .resize_exact(256, 256, image::imageops::FilterType::Triangle)
            .to_rgb8();
        let input = tract_ndarray::Array4::from_shape_fn((1, 3, 256, 256), |(_, c, y, x)| {
            photo.get_pixel(x as u32, y as u32)[c] as f32 / 255.0
        });
        let input: Tensor = input.into();
        #[cfg(target_arch = "x86_64")]
        let fuses = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        let fuses = false;
        for name in ["pose_landmarks.onnx", "pose_landmarks_lite.onnx"] {
            let load = || {
                tract_onnx::onnx()
                    .model_for_path(dir.join("models").join(name))
                    .unwrap()
                    .with_input_fact(0, f32::fact([1, 3, 256, 256]).into())
                    .unwrap()
            };
            let run = |m: TypedModel| {
                let out = m
                    .into_runnable()
                    .unwrap()
                    .run(tvec!(input.clone().into()))
                    .unwrap();
                out.into_iter()
                    .map(|t| values(&t).unwrap().to_vec())
                    .collect::<Vec<_>>()
            };
            let plain = run(load().into_optimized().unwrap());
            for precision in [PosePrecision::F32, PosePrecision::F16] {
                let model = optimise(load(), precision).unwrap();
                let fused = model
                    .nodes
                    .iter()
                    .filter(|n| n.op_is::<PointwiseDepthwise>())
                    .count();
                assert_eq!(fused > 0, fuses, "{name}: {fused} fused blocks");
                for (o, (got, want)) in run(model).iter().zip(&plain).enumerate() {
                    let (got, want) = (got.as_slice(), want.as_slice());
                    let size = want.iter().fold(1f32, |m, v| m.max(v.abs()));
                    let worst = got
                        .iter()
                        .zip(want)
                        .map(|(g, w)| (g - w).abs())
                        .fold(0f32, f32::max);
                    assert!(
                        worst <= 1e-5 * size,
                        "{name} {precision:?} output {o}: off by {worst} of {size}"
                    );
                }
            }
        }
    }

    /// Reading the weights one at a time from the file gives tract's own model, node for node
    /// and weight for weight, for every model the project ships.
    #[test]
    fn parsing_with_weights_left_in_the_file_gives_the_same_model() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
        for name in [
            "activity.onnx",
            "pose_detector.onnx",
            "pose_landmarks.onnx",
            "pose_landmarks_lite.onnx",
        ] {
            let path = dir.join(name);
            let ours = parse(&path).unwrap();
            let tracts = tract_onnx::onnx().model_for_path(&path).unwrap();
            assert_eq!(ours.nodes().len(), tracts.nodes().len(), "{name}");
            let mut weights = 0;
            for (a, b) in ours.nodes().iter().zip(tracts.nodes()) {
                assert_eq!(
                    (&a.name, a.op.name(), &a.inputs),
                    (&b.name, b.op.name(), &b.inputs)
                );
                match (a.op_as::<Const>(), b.op_as::<Const>()) {
                    (Some(a), Some(b)) => {
                        assert!(a.val() == b.val(), "{name}: a weight differs");
                        weights += a.val().len();
                    }
                    (None, None) => {}
                    _ => panic!("{name}: a constant on one side only"),
                }
            }
            assert!(weights > 10_000, "{name}: {weights} weights");
            // A model linked from another folder reads its weights from the link's target.
            let linked = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink(&path, linked.path().join(name)).unwrap();
            let through_link = parse(&linked.path().join(name)).unwrap();
            assert_eq!(through_link.nodes().len(), ours.nodes().len(), "{name}");
            assert_eq!(
                ours.output_outlets().unwrap(),
                tracts.output_outlets().unwrap()
            );
        }
    }
}
