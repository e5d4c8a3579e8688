//! Resident memory of the pose models in tract: after loading, after the first run, after
//! further runs (to find where the daemon's memory goes).
//!
//! `cargo run --release --example memory_models`

use activityd::offline::bench::proc_status_mb;
use tract_onnx::prelude::*;

fn main() -> TractResult<()> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/models");
    let rss = |what: &str| {
        println!(
            "{what:<40} RSS {:7.1} MB (peak {:7.1} MB)",
            proc_status_mb("VmRSS:"),
            proc_status_mb("VmHWM:")
        )
    };
    rss("start");
    for (name, shape, outs) in [
        (
            "pose_landmarks",
            [1usize, 3, 256, 256],
            vec!["Identity", "Identity_1", "Identity_3"],
        ),
        (
            "pose_detector",
            [1, 3, 224, 224],
            vec!["Identity", "Identity_1"],
        ),
    ] {
        let model = tract_onnx::onnx().model_for_path(format!("{dir}/{name}.onnx"))?;
        rss(&format!("{name}: parsed"));
        let model = model
            .with_input_fact(0, f32::fact(shape).into())?
            .with_outputs_by_name(&outs)?;
        let typed = model.into_typed()?;
        rss(&format!("{name}: typed"));
        let opt = typed.into_optimized()?;
        rss(&format!("{name}: optimised"));
        let plan = opt.into_runnable()?;
        let mut state = plan.spawn()?;
        rss(&format!("{name}: runnable"));
        let input = Tensor::zero::<f32>(&shape)?;
        state.run(tvec!(input.clone().into_tvalue()))?;
        rss(&format!("{name}: first run"));
        for _ in 0..5 {
            state.run(tvec!(input.clone().into_tvalue()))?;
        }
        rss(&format!("{name}: six runs"));
        unsafe { libc::malloc_trim(0) };
        rss(&format!("{name}: after malloc_trim"));
        std::mem::forget(state);
    }
    Ok(())
}
