//! `activityd bench`: per-stage timings of the real pipeline on a video (or a folder of
//! images), frames per second, and the process's peak memory.
//!
//! Two passes, decoding frame by frame as a camera delivers them (so peak memory is the
//! pipeline's, not a whole clip's):
//! 1. the whole analysis, through the pipeline's analyser as the daemon runs it (detector only
//!    when tracking is lost; then features and the activity model);
//! 2. the detector alone on every frame (its cost when nobody is tracked).
//!
//! `per_frame_ms` is the pose part (what MediaPipe's own pipeline does, for comparison);
//! `stages` lists every step, `features` and `classifier` included.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::capture::gst::FileFrames;
use crate::classify::DecoderConfig;
use crate::frame::{Frame, decode_image};
use crate::offline::OfflineError;
use crate::pipeline::{Analyser, Models};
use crate::pose::{Mode, PoseEstimator, PoseModelKind, PosePrecision};
use crate::timings::Timings;

/// Steps after pose (not part of the per-frame pose time).
const AFTER_POSE: [&str; 2] = ["features", "classifier"];

/// Median and p99 of one stage.
#[derive(Debug, Clone, Serialize)]
pub struct StageStats {
    pub median_ms: f64,
    pub p99_ms: f64,
    pub runs: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub median: f64,
    pub p99: f64,
}

/// The document `activityd bench --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// The landmark model benchmarked (`--pose-model`).
    pub pose_model: PoseModelKind,
    /// How the pose models' weights were kept (`--pose-precision`).
    pub precision: PosePrecision,
    /// The arithmetic the pose models ran in: `f16` on 64-bit ARM with FEAT_FP16 at
    /// `--pose-precision f16`, `f32` otherwise.
    pub arithmetic: &'static str,
    pub frames: usize,
    /// Pose per frame (detector, landmarks and their pre/post-processing), tracked pipeline.
    pub per_frame_ms: Percentiles,
    /// Decode + analysis, per frame, as one camera would run it.
    pub stages: std::collections::BTreeMap<String, StageStats>,
    /// Frames per second of the tracked pipeline, decode included.
    pub fps: f64,
    /// Frames that ran the detector in the tracked pass.
    pub detector_frames: usize,
    pub detector_only_ms: Percentiles,
    pub peak_rss_mb: f64,
    pub rss_after_load_mb: f64,
    pub model_load_ms: f64,
}

fn percentiles(mut v: Vec<f64>) -> Percentiles {
    if v.is_empty() {
        return Percentiles {
            median: 0.0,
            p99: 0.0,
        };
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    Percentiles {
        median: round3(at(0.5)),
        p99: round3(at(0.99)),
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A `/proc/self/status` value in MB (`VmHWM` peak, `VmRSS` current).
pub fn proc_status_mb(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| round3(kb / 1024.0))
}

type TimedFrames = Box<dyn Iterator<Item = Result<(Frame, f64), OfflineError>>>;

/// The input's frames, decoded one at a time (a video, or every JPEG/PNG in a folder, sorted
/// by name, at 30 fps), each with its decode time.
fn frames(input: &Path) -> Result<TimedFrames, OfflineError> {
    if input.is_dir() {
        let mut paths: Vec<_> = std::fs::read_dir(input)
            .map_err(|err| OfflineError::Io {
                path: input.to_path_buf(),
                err,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        paths.sort();
        let mut n = 0;
        Ok(Box::new(paths.into_iter().filter_map(move |p| {
            let bytes = std::fs::read(&p).ok()?;
            let start = Instant::now();
            let img = decode_image(&bytes).ok()?;
            let took = ms(start.elapsed());
            let mut f = Frame::from_image(img);
            f.t = n as f64 / 30.0;
            n += 1;
            Some(Ok((f, took)))
        })))
    } else {
        let path = input.to_path_buf();
        let verr = move |err| OfflineError::Video {
            path: path.clone(),
            err,
        };
        let mut it = FileFrames::open(input).map_err(verr.clone())?;
        Ok(Box::new(std::iter::from_fn(move || {
            let start = Instant::now();
            let f = it.next()?;
            Some(f.map(|f| (f, ms(start.elapsed()))).map_err(verr.clone()))
        })))
    }
}

/// Runs the benchmark on `input`.
pub fn run(
    models_dir: &Path,
    pose_model: PoseModelKind,
    precision: PosePrecision,
    max_people: usize,
    input: &Path,
) -> Result<BenchReport, OfflineError> {
    let start = Instant::now();
    let models = Models::load(models_dir, pose_model, precision, DecoderConfig::default())?
        .with_max_people(max_people);
    let model_load_ms = ms(start.elapsed());
    let rss_after_load_mb = proc_status_mb("VmRSS:");

    // Pass 1: the whole analysis, as one camera runs it.
    let mut analyser = Analyser::for_video(&models, models.decoder.clone())?;
    let mut steps: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    let mut per_frame = Vec::new();
    let mut detector_frames = 0;
    let pass = Instant::now();
    for item in frames(input)? {
        let (f, decode_ms) = item?;
        steps.entry("decode".into()).or_default().push(decode_ms);
        let mut t = Timings::default();
        analyser.analyse(&f, &mut t)?;
        // A frame can run a step twice (re-detection): sum per frame.
        let mut per_step: std::collections::BTreeMap<&str, f64> = Default::default();
        for (name, d) in &t.steps {
            *per_step.entry(name).or_default() += ms(*d);
        }
        if per_step.contains_key("detector") {
            detector_frames += 1;
        }
        for (name, v) in per_step {
            steps.entry(name.to_string()).or_default().push(v);
        }
        let pose_ms: f64 = t
            .steps
            .iter()
            .filter(|(name, _)| !AFTER_POSE.contains(name))
            .map(|(_, d)| ms(*d))
            .sum();
        per_frame.push(pose_ms);
    }
    let n = per_frame.len();
    if n == 0 {
        return Err(OfflineError::Video {
            path: input.to_path_buf(),
            err: crate::capture::CaptureError::Transient("no frames".into()),
        });
    }
    let fps = n as f64 / pass.elapsed().as_secs_f64();

    // Pass 2: the detector on every frame.
    let mut det = PoseEstimator::new(&models.pose, Mode::Image, 1)?;
    let mut detector_only = Vec::new();
    for item in frames(input)? {
        let (f, _) = item?;
        let mut t = Timings::default();
        det.estimate(&f, 0.0, &mut t)?;
        if let Some((_, d)) = t.steps.iter().find(|s| s.0 == "detector") {
            detector_only.push(ms(*d));
        }
    }

    let stages = steps
        .into_iter()
        .map(|(name, v)| {
            let runs = v.len();
            let p = percentiles(v);
            (
                name,
                StageStats {
                    median_ms: p.median,
                    p99_ms: p.p99,
                    runs,
                },
            )
        })
        .collect();
    Ok(BenchReport {
        pose_model,
        precision,
        arithmetic: crate::model::arithmetic(precision),
        frames: n,
        per_frame_ms: percentiles(per_frame),
        stages,
        fps: round3(fps),
        detector_frames,
        detector_only_ms: percentiles(detector_only),
        peak_rss_mb: proc_status_mb("VmHWM:"),
        rss_after_load_mb,
        model_load_ms: round3(model_load_ms),
    })
}

impl BenchReport {
    /// A table for people.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "landmark model {} ({} weights, {} arithmetic): {} frames, {:.1} frames/s (decode included), per frame {:.2} ms median, {:.2} ms p99\n",
            self.pose_model,
            self.precision,
            self.arithmetic,
            self.frames,
            self.fps,
            self.per_frame_ms.median,
            self.per_frame_ms.p99
        );
        s.push_str(&format!(
            "{:<12} {:>10} {:>10} {:>6}\n",
            "stage", "median ms", "p99 ms", "runs"
        ));
        for (name, st) in &self.stages {
            s.push_str(&format!(
                "{name:<12} {:>10.3} {:>10.3} {:>6}\n",
                st.median_ms, st.p99_ms, st.runs
            ));
        }
        s.push_str(&format!(
            "detector on every frame: {:.2} ms median, {:.2} ms p99 (ran in {} of {} tracked frames)\n",
            self.detector_only_ms.median, self.detector_only_ms.p99, self.detector_frames, self.frames
        ));
        s.push_str(&format!(
            "models loaded in {:.0} ms; RSS after load {:.1} MB; peak RSS {:.1} MB\n",
            self.model_load_ms, self.rss_after_load_mb, self.peak_rss_mb
        ));
        s
    }
}
