//! Capture → worker hand-off: latency and frames/s on the 1280×720 clip, decoded flat out.
//!
//! Three runs in one process, so the ratios hold on a noisy machine:
//! 1. decode only (the ceiling),
//! 2. decode + our newest-wins slot + a worker thread taking frames,
//! 3. decode + a blocking `sync_channel(1)` (the alternative: backpressure instead of drops).
//!
//! `cargo bench --bench handoff` (or `make bench`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use activityd::capture::gst::FileFrames;
use activityd::capture::{Slot, Take};

fn clip() -> std::path::PathBuf {
    std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with('-'))
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/video/sports2d_1280x720.mp4")
        })
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Run {
    frames: usize,
    fps: f64,
    latency_us: Vec<f64>,
    dropped: usize,
}

fn decode_only(reps: usize) -> Run {
    let start = Instant::now();
    let mut frames = 0;
    for _ in 0..reps {
        for f in FileFrames::open(&clip()).unwrap() {
            std::hint::black_box(f.unwrap().data()[0]);
            frames += 1;
        }
    }
    Run {
        frames,
        fps: frames as f64 / start.elapsed().as_secs_f64(),
        latency_us: vec![],
        dropped: 0,
    }
}

fn with_slot(reps: usize) -> Run {
    let slot = Arc::new(Slot::<activityd::frame::Frame>::new());
    let s2 = slot.clone();
    let worker = std::thread::spawn(move || {
        let mut lat = Vec::new();
        loop {
            match s2.take(Duration::from_secs(5)) {
                Take::Item(f) => {
                    lat.push(f.captured_at.elapsed().as_secs_f64() * 1e6);
                    std::hint::black_box(f.data()[0]);
                }
                Take::Empty => continue,
                Take::Closed => return lat,
            }
        }
    });
    let start = Instant::now();
    let (mut frames, mut dropped) = (0, 0);
    for _ in 0..reps {
        for f in FileFrames::open(&clip()).unwrap() {
            let mut f = f.unwrap();
            f.captured_at = Instant::now();
            if slot.put(f) {
                dropped += 1;
            }
            frames += 1;
        }
    }
    slot.close();
    let latency_us = worker.join().unwrap();
    Run {
        frames,
        fps: frames as f64 / start.elapsed().as_secs_f64(),
        latency_us,
        dropped,
    }
}

fn with_channel(reps: usize) -> Run {
    let (tx, rx) = std::sync::mpsc::sync_channel::<activityd::frame::Frame>(1);
    let worker = std::thread::spawn(move || {
        rx.iter()
            .map(|f| {
                std::hint::black_box(f.data()[0]);
                f.captured_at.elapsed().as_secs_f64() * 1e6
            })
            .collect::<Vec<_>>()
    });
    let start = Instant::now();
    let mut frames = 0;
    for _ in 0..reps {
        for f in FileFrames::open(&clip()).unwrap() {
            let mut f = f.unwrap();
            f.captured_at = Instant::now();
            tx.send(f).unwrap();
            frames += 1;
        }
    }
    drop(tx);
    let latency_us = worker.join().unwrap();
    Run {
        frames,
        fps: frames as f64 / start.elapsed().as_secs_f64(),
        latency_us,
        dropped: 0,
    }
}

fn report(name: &str, r: &mut Run, base_fps: f64) {
    r.latency_us.sort_by(|a, b| a.total_cmp(b));
    let lat = if r.latency_us.is_empty() {
        "-".to_string()
    } else {
        format!(
            "p50 {:7.1} µs  p99 {:7.1} µs",
            pct(&r.latency_us, 0.5),
            pct(&r.latency_us, 0.99)
        )
    };
    println!(
        "{name:<28} {:5} frames  {:7.1} fps ({:.2}× decode-only)  hand-off {lat}  dropped {}",
        r.frames,
        r.fps,
        r.fps / base_fps,
        r.dropped
    );
}

fn main() {
    activityd::capture::gst::init().unwrap();
    let reps = 3;
    println!("clip: {} ×{reps}", clip().display());
    let _warm = decode_only(1);
    let mut base = decode_only(reps);
    let mut slot = with_slot(reps);
    let mut chan = with_channel(reps);
    let b = base.fps;
    report("decode only", &mut base, b);
    report("decode + newest-wins slot", &mut slot, b);
    report("decode + sync_channel(1)", &mut chan, b);
}
