//! How much heap the pose models take: for the detector and the full landmark model, the bytes
//! still allocated once the model is loaded and optimised, the peak while loading it, and the
//! peak above that while one inference runs (its activations), counted by a global allocator
//! that tracks every allocation of this process.
//!
//! `cargo run --release --example model_memory` (`ACTIVITYD_MODELS` picks another models
//! directory; `ACTIVITYD_PRECISION=f32` keeps the weights f32 instead of the default f16). What the numbers mean for the daemon's RSS: `docs/benchmarks.md`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::Relaxed};

use tract_onnx::prelude::*;

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn grew(by: isize) {
    let now = IN_USE.fetch_add(by, Relaxed) + by;
    PEAK.fetch_max(now, Relaxed);
}

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(layout.size() as isize, Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn mb(bytes: isize) -> f64 {
    bytes as f64 / 1e6
}

/// Starts a new peak from what is in use now; returns that.
fn reset_peak() -> isize {
    let now = IN_USE.load(Relaxed);
    PEAK.store(now, Relaxed);
    now
}

fn main() -> TractResult<()> {
    let dir = std::env::var("ACTIVITYD_MODELS")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/models").to_string());
    let mut loaded = Vec::new();
    for (file, shape) in [
        ("pose_detector.onnx", [1usize, 3, 224, 224]),
        ("pose_landmarks.onnx", [1, 3, 256, 256]),
    ] {
        let before = reset_peak();
        let model = tract_onnx::onnx()
            .model_for_path(format!("{dir}/{file}"))?
            .with_input_fact(0, f32::fact(shape).into())?;
        let plan = activityd::model::optimise(model, precision())?.into_runnable()?;
        let after = IN_USE.load(Relaxed);
        println!(
            "{file}: {:.1} MB in use after loading ({:.1} MB for all models so far), loading peaked {:.1} MB above what was in use before",
            mb(after - before),
            mb(after),
            mb(PEAK.load(Relaxed) - before)
        );
        let mut state = plan.spawn()?;
        let n: usize = shape.iter().product();
        for run in 1..=2 {
            let base = reset_peak();
            let input = Tensor::from_shape(&shape, &vec![0.1f32; n])?;
            drop(state.run(tvec!(input.into_tvalue()))?);
            println!(
                "  run {run}: peak {:.1} MB above the loaded model, {:.2} MB kept after it",
                mb(PEAK.load(Relaxed) - base),
                mb(IN_USE.load(Relaxed) - base)
            );
        }
        loaded.push((plan, state));
    }
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
