//! Where the pose models spend their time: runs each model on a fixed input and sums the
//! time per operator type, as tract executes the optimised plan.
//!
//! `cargo run --release --example profile_models [RUNS] [NODES]` — with NODES, also the NODES
//! slowest single nodes (name, operator, output shape, time), to see which layers the time is
//! spent in; with `PROFILE_INFO=1` also each of those nodes' details as tract gives them (for a
//! matrix product: m, k, n and the kernel chosen). The weights are kept as the daemon's default
//! `pose.precision` does (f16 where exact); `ACTIVITYD_PRECISION=f32` keeps them f32.
//! `COLD=1` writes over 32 MB between runs, so each run starts with the caches full of
//! something else, as in the daemon, where decoding and the other model run in between.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use tract_onnx::prelude::*;

fn profile(
    path: &str,
    shape: &[usize],
    outputs: &[&str],
    runs: usize,
    nodes: usize,
) -> TractResult<()> {
    let model = tract_onnx::onnx()
        .model_for_path(path)?
        .with_input_fact(0, f32::fact(shape).into())?
        .with_outputs_by_name(outputs)?;
    let model = activityd::model::optimise(model, precision())?;
    let plan = model.into_runnable()?;
    let mut state = plan.spawn()?;
    let n: usize = shape.iter().product();
    let input = || -> TractResult<TVec<TValue>> {
        let data: Vec<f32> = (0..n).map(|i| ((i * 7919) % 255) as f32 / 255.0).collect();
        Ok(tvec!(Tensor::from_shape(shape, &data)?.into_tvalue()))
    };
    let mut per_op: HashMap<String, Duration> = HashMap::new();
    let mut per_node: HashMap<usize, Duration> = HashMap::new();
    let mut total = Duration::ZERO;
    for _ in 0..3 {
        state.run(input()?)?;
    }
    let cold = std::env::var_os("COLD").is_some();
    let mut junk = vec![0u8; if cold { 32 << 20 } else { 0 }];
    for i in 0..runs {
        if cold {
            for (j, b) in junk.iter_mut().enumerate().step_by(64) {
                *b = b.wrapping_add((i + j) as u8);
            }
            std::hint::black_box(&junk);
        }
        let start = Instant::now();
        state.run_plan_with_eval(input()?, |session, op_state, node, inputs| {
            let t = Instant::now();
            let r = tract_onnx::tract_core::plan::eval(session, op_state, node, inputs);
            *per_op.entry(node.op.name().to_string()).or_default() += t.elapsed();
            *per_node.entry(node.id).or_default() += t.elapsed();
            r
        })?;
        total += start.elapsed();
    }
    let mut v: Vec<_> = per_op.into_iter().collect();
    v.sort_by_key(|x| std::cmp::Reverse(x.1));
    println!(
        "{path}: {:.2} ms per run ({runs} runs)",
        total.as_secs_f64() * 1e3 / runs as f64
    );
    let sum: Duration = v.iter().map(|x| x.1).sum();
    for (op, d) in v.iter().take(12) {
        println!(
            "  {op:<28} {:7.2} ms  {:5.1}%",
            d.as_secs_f64() * 1e3 / runs as f64,
            d.as_secs_f64() / sum.as_secs_f64() * 100.0
        );
    }
    let mut slow: Vec<_> = per_node.into_iter().collect();
    slow.sort_by_key(|x| std::cmp::Reverse(x.1));
    let graph = plan.model();
    for (id, d) in slow.iter().take(nodes) {
        let node = graph.node(*id);
        println!(
            "  {:7.3} ms  {:<16} {:?}  {}",
            d.as_secs_f64() * 1e3 / runs as f64,
            node.op.name(),
            node.outputs[0].fact.shape,
            node.name
        );
        if std::env::var_os("PROFILE_INFO").is_some() {
            for line in node.op.info().unwrap_or_default() {
                println!("             {line}");
            }
        }
    }
    Ok(())
}

fn main() -> TractResult<()> {
    let runs = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    let nodes = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0);
    let dir = std::env::var("ACTIVITYD_MODELS")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/models").to_string());
    profile(
        &format!("{dir}/pose_landmarks.onnx"),
        &[1, 3, 256, 256],
        &["Identity", "Identity_1", "Identity_3"],
        runs,
        nodes,
    )?;
    profile(
        &format!("{dir}/pose_detector.onnx"),
        &[1, 3, 224, 224],
        &["Identity", "Identity_1"],
        runs,
        nodes,
    )?;
    Ok(())
}

/// `ACTIVITYD_PRECISION=f32` keeps the weights f32; otherwise f16 where exact, the daemon's
/// default (`pose.precision`).
fn precision() -> activityd::config::PosePrecision {
    match std::env::var("ACTIVITYD_PRECISION").as_deref() {
        Ok("f32") => activityd::config::PosePrecision::F32,
        _ => activityd::config::PosePrecision::F16,
    }
}
