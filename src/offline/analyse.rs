//! Images, video files and uploaded clips through the pipeline's [`Analyser`]: what the
//! `pose` and `annotate` commands and the `/predict/frame` and `/predict/video` endpoints
//! report.

use std::path::Path;

use crate::capture::CaptureError;
use crate::capture::gate::RateGate;
use crate::capture::gst::FileFrames;
use crate::classify::{Annotation, Annotator, DecoderConfig, Label};
use crate::features::{RATE_HZ, WINDOW_S};
use crate::frame::Frame;
use crate::landmarks::LandmarkFrame;
use crate::pipeline::{Analysed, Analyser, Models};
use crate::pose::{Pose, landmark_frame};
use crate::timings::Timings;

use super::OfflineError;

/// What a still image shows.
#[derive(Debug, Clone)]
pub struct Still {
    /// The landmark frame (the contract's record) at t = 0.
    pub frame: LandmarkFrame,
    pub pose: Option<Pose>,
    /// A class name, `uncertain` or `no_person`.
    pub activity: String,
    pub confidence: f32,
    /// Class probabilities, in the model's class order (empty when nobody was found).
    pub probabilities: Vec<f32>,
    pub classes: Vec<String>,
}

/// A still image. A single picture shows no movement, so the activity is what the model
/// makes of this pose held still for its two-second window, judged by the decoder's rules
/// for one moment (usually `still` or `sitting`).
pub fn image(
    models: &Models,
    img: image::RgbImage,
    timings: &mut Timings,
) -> Result<Still, OfflineError> {
    let mut analyser = Analyser::for_image(models)?;
    let frame = Frame::from_image(img);
    let first = analyser.analyse(&frame, timings)?;
    let lf = landmark_frame(0.0, frame.width, frame.height, first.pose.as_ref());
    let classes = analyser.classes().to_vec();
    let (activity, confidence, probabilities) = match &lf.landmarks {
        None => ("no_person".to_string(), 0.0, Vec::new()),
        Some(_) => {
            let n = (WINDOW_S * RATE_HZ).round() as usize;
            let mut probs = first.step.frame.probabilities;
            for i in 1..=n {
                let held = LandmarkFrame {
                    t: i as f64 / RATE_HZ,
                    ..lf.clone()
                };
                probs = analyser.classify(&held, timings)?.frame.probabilities;
            }
            let (label, conf) = analyser.frame_label(&probs);
            let name = match label {
                Label::Class(i) => classes[i].clone(),
                _ => "uncertain".to_string(),
            };
            (name, conf, probs)
        }
    };
    Ok(Still {
        frame: lf,
        pose: first.pose,
        activity,
        confidence,
        probabilities,
        classes,
    })
}

/// Runs `analyser` over the frames of a decoded stream that `admit` accepts (given the
/// frame's index and time; the others are decoded and skipped). `each` receives every
/// analysed frame with its result and step timings (decode included). Returns how many
/// frames were analysed.
pub fn frames(
    analyser: &mut Analyser,
    mut frames: FileFrames,
    mut admit: impl FnMut(usize, f64) -> bool,
    mut each: impl FnMut(&Frame, &Analysed, &Timings),
) -> Result<usize, OfflineError> {
    let verr = |err| OfflineError::Video {
        path: "upload".into(),
        err,
    };
    let (mut decoded, mut n) = (0usize, 0usize);
    loop {
        let mut timings = Timings::default();
        let start = std::time::Instant::now();
        let Some(frame) = frames.next() else { break };
        let mut frame = frame.map_err(verr)?;
        decoded += 1;
        if !admit(decoded - 1, frame.t) {
            continue;
        }
        frame.seq = n as u64;
        timings.record("decode", start.elapsed());
        let result = analyser.analyse(&frame, &mut timings)?;
        each(&frame, &result, &timings);
        n += 1;
    }
    if n == 0 {
        return Err(verr(CaptureError::Transient(
            "the file holds no video frames".into(),
        )));
    }
    Ok(n)
}

/// Opens a video file, analysing every frame or (with `process_fps` > 0) the frames a
/// camera with that `process_fps` would pass (see [`frames`]).
pub fn file(
    analyser: &mut Analyser,
    path: &Path,
    process_fps: f32,
    each: impl FnMut(&Frame, &Analysed, &Timings),
) -> Result<usize, OfflineError> {
    let verr = |err| OfflineError::Video {
        path: path.to_path_buf(),
        err,
    };
    let decoded = FileFrames::open(path).map_err(verr)?;
    let mut gate = RateGate::new(process_fps);
    frames(analyser, decoded, |_, t| gate.admit(t), each).map_err(|e| match e {
        OfflineError::Video { err, .. } => verr(err),
        other => other,
    })
}

/// A whole clip's annotation, and how many analysed frames had someone in them.
pub struct Annotated {
    pub annotation: Annotation,
    pub frames: usize,
    pub with_person: usize,
}

/// Annotates a clip: every frame through the analyser (decoded with `decoder`), collected into
/// the annotation document. `run` feeds the frames (see [`frames`] and [`file`]); `each`
/// sees every analysed frame (progress, timings).
pub fn annotate(
    models: &Models,
    decoder: DecoderConfig,
    run: impl FnOnce(
        &mut Analyser,
        &mut dyn FnMut(&Frame, &Analysed, &Timings),
    ) -> Result<usize, OfflineError>,
    mut each: impl FnMut(&Frame, &Timings),
) -> Result<Annotated, OfflineError> {
    let mut analyser = Analyser::for_video(models, decoder)?;
    let mut annotator = Annotator::new(analyser.classes().to_vec());
    let mut with_person = 0usize;
    let n = run(&mut analyser, &mut |frame, a, timings| {
        with_person += usize::from(a.pose.is_some());
        annotator.record(frame.t, a.pose.is_some(), &a.step);
        each(frame, timings);
    })?;
    Ok(Annotated {
        annotation: annotator.finish(analyser.finish()),
        frames: n,
        with_person,
    })
}
