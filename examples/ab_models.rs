//! A/B test of two ONNX variants of one image model: are the outputs the same, and which runs
//! faster? Used to check each graph rewrite in `training/pose/onnx_speedups.py`.
//!
//! `cargo run --release --example ab_models -- RUNS OUTPUT[,OUTPUT…] A.onnx B.onnx`
//!
//! A path ending in `@f16` loads that model with its f16-exact weights kept as f16 (the
//! daemon's `pose.precision = "f16"`), so `X.onnx X.onnx@f16` compares the two precisions.
//!
//! Each model is fed the same picture (a fixed pattern), laid out as its input asks: NHWC
//! (`[1, H, W, 3]`) or NCHW (`[1, 3, H, W]`). Runs alternate A, B, A, B… so that a busy
//! machine slows both alike; the medians and their ratio are printed.

use std::time::Instant;

use anyhow::{anyhow, bail};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::DimLike;
use tract_onnx::tract_hir::infer::Factoid;

struct Variant {
    path: String,
    plan: std::sync::Arc<TypedSimplePlan>,
    input: Tensor,
}

fn load(spec: &str, outputs: &[&str]) -> TractResult<Variant> {
    use activityd::config::PosePrecision;
    let (path, precision) = match spec.strip_suffix("@f16") {
        Some(path) => (path, PosePrecision::F16),
        None => (spec, PosePrecision::F32),
    };
    let model = tract_onnx::onnx().model_for_path(path)?;
    let fact = model.input_fact(0)?.clone();
    let shape: Vec<usize> = fact
        .shape
        .dims()
        .map(|d| d.concretize().and_then(|d| d.to_usize().ok()))
        .collect::<Option<_>>()
        .ok_or_else(|| anyhow!("{path}: input shape is not fixed"))?;
    let nchw = shape[1] == 3;
    let (h, w) = if nchw {
        (shape[2], shape[3])
    } else {
        (shape[1], shape[2])
    };
    // The same picture whatever the layout: value of pixel (y, x), channel c.
    let pixel = |y: usize, x: usize, c: usize| (((y * w + x) * 3 + c) * 7919 % 255) as f32 / 255.0;
    let data: Vec<f32> = if nchw {
        (0..3 * h * w)
            .map(|i| pixel(i % (h * w) / w, i % w, i / (h * w)))
            .collect()
    } else {
        (0..3 * h * w)
            .map(|i| pixel(i / 3 / w, i / 3 % w, i % 3))
            .collect()
    };
    let model = model
        .with_input_fact(0, f32::fact(&shape).into())?
        .with_outputs_by_name(outputs)?;
    let plan = activityd::model::optimise(model, precision)?.into_runnable()?;
    Ok(Variant {
        path: spec.to_string(),
        plan,
        input: Tensor::from_shape(&shape, &data)?,
    })
}

fn main() -> TractResult<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        bail!("usage: ab_models RUNS OUTPUT[,OUTPUT...] A.onnx B.onnx");
    }
    let runs: usize = args[1].parse()?;
    let outputs: Vec<&str> = args[2].split(',').collect();
    let variants = [load(&args[3], &outputs)?, load(&args[4], &outputs)?];
    let mut states = variants
        .iter()
        .map(|v| v.plan.spawn())
        .collect::<TractResult<Vec<_>>>()?;
    let mut results = Vec::new();
    for (v, s) in variants.iter().zip(states.iter_mut()) {
        results.push(s.run(tvec!(v.input.clone().into_tvalue()))?);
    }
    for (k, name) in outputs.iter().enumerate() {
        let a = results[0][k].to_plain_array_view::<f32>()?;
        let b = results[1][k].to_plain_array_view::<f32>()?;
        let d = a
            .iter()
            .zip(b.iter())
            .map(|(p, q)| (p - q).abs())
            .fold(0f32, f32::max);
        println!("{name}: max abs diff {d:e}");
    }
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..runs {
        for (i, (v, s)) in variants.iter().zip(states.iter_mut()).enumerate() {
            let start = Instant::now();
            s.run(tvec!(v.input.clone().into_tvalue()))?;
            times[i].push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    let mut medians = [0.0; 2];
    for (i, t) in times.iter_mut().enumerate() {
        t.sort_by(f64::total_cmp);
        medians[i] = t[t.len() / 2];
        println!(
            "{}: median {:.2} ms, min {:.2} ms ({runs} runs)",
            variants[i].path, medians[i], t[0]
        );
    }
    println!("B / A = {:.3}", medians[1] / medians[0]);
    Ok(())
}
