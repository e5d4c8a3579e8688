//! Images, video files and uploaded clips through the pipeline's [`Analyser`]: what the
//! `pose` and `annotate` commands and the `/predict/frame` and `/predict/video` endpoints
//! report.

use std::path::Path;

use crate::capture::CaptureError;
use crate::capture::gate::RateGate;
use crate::capture::gst::FileFrames;
use std::collections::BTreeMap;

use crate::config::ZoneConfig;

use crate::classify::{
    Annotation, Annotator, DecoderConfig, Finished, Label, PersonAnnotation, TugResult,
};
use crate::features::{RATE_HZ, WINDOW_S};
use crate::frame::Frame;
use crate::landmarks::LandmarkFrame;
use crate::pipeline::{Analysed, Analyser, Models};
use crate::pose::{Pose, landmark_frame};
use crate::timings::Timings;
use crate::zones::{ZoneEvent, visits};

use super::OfflineError;

/// What a still image shows.
#[derive(Debug, Clone)]
pub struct Still {
    /// The landmark frame (the contract's record) at t = 0.
    pub frame: LandmarkFrame,
    /// Everyone found, the primary (most prominent) person, whom the activity describes,
    /// first.
    pub people: Vec<Pose>,
    /// A class name, `uncertain` or `no_person`.
    pub activity: String,
    pub confidence: f32,
    /// Class probabilities, in the model's class order (empty when nobody was found).
    pub probabilities: Vec<f32>,
    pub classes: Vec<String>,
}

impl Still {
    /// The primary person's pose, whom the activity describes.
    pub fn pose(&self) -> Option<&Pose> {
        self.people.first()
    }
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
    let lf = landmark_frame(0.0, frame.width, frame.height, first.pose());
    let classes = analyser.classes().to_vec();
    let (activity, confidence, probabilities) = match &lf.landmarks {
        None => ("no_person".to_string(), 0.0, Vec::new()),
        Some(_) => {
            let n = (WINDOW_S * RATE_HZ).round() as usize;
            let mut probs = first.step().frame.probabilities.clone();
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
    let primary = first.primary().map(|p| p.person);
    let mut people: Vec<Pose> = first.people.into_iter().filter_map(|p| p.pose).collect();
    people.sort_by_key(|p| Some(p.person) != primary);
    Ok(Still {
        frame: lf,
        people,
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

/// One tracked person's annotation while a clip is annotated.
struct Tracked {
    annotator: Annotator,
    first_seen: f64,
    last_seen: f64,
    in_view: usize,
    /// What finishing their classifier decided (when they were forgotten, or at the end).
    finished: Option<Finished>,
    zone_events: Vec<ZoneEvent>,
}

/// Annotates a clip: every frame through the analyser (decoded with `decoder`), collected into
/// the annotation document. `run` feeds the frames (see [`frames`] and [`file`]); `each`
/// sees every analysed frame (progress, timings).
///
/// Every person tracked gets their own part of the document (`people`). The document's own
/// `segments` and `frames` describe the *primary* person: the one whose Timed Up and Go test
/// completed last, else the one in view the longest. Its `tugs` hold every person's tests in
/// the order they started (each names its person), `tug` the last to end.
pub fn annotate(
    models: &Models,
    decoder: DecoderConfig,
    zones: &[ZoneConfig],
    run: impl FnOnce(
        &mut Analyser,
        &mut dyn FnMut(&Frame, &Analysed, &Timings),
    ) -> Result<usize, OfflineError>,
    mut each: impl FnMut(&Frame, &Timings),
) -> Result<Annotated, OfflineError> {
    let mut analyser = Analyser::for_video(models, decoder)?.with_zones(zones.to_vec());
    let classes = analyser.classes().to_vec();
    let mut people: BTreeMap<u32, Tracked> = BTreeMap::new();
    let mut times: Vec<f64> = Vec::new();
    let mut with_person = 0usize;
    let n = run(&mut analyser, &mut |frame, a, timings| {
        with_person += usize::from(a.in_view() > 0);
        for p in &a.people {
            let tracked = people.entry(p.person).or_insert_with(|| {
                let mut annotator = Annotator::new(classes.clone());
                for &t in &times {
                    annotator.absent(t);
                }
                Tracked {
                    annotator,
                    first_seen: p.first_seen,
                    last_seen: p.last_seen,
                    in_view: 0,
                    finished: None,
                    zone_events: Vec::new(),
                }
            });
            tracked.annotator.record(frame.t, p.pose.is_some(), &p.step);
            tracked.last_seen = p.last_seen;
            tracked.in_view += usize::from(p.pose.is_some());
        }
        for z in &a.zone_events {
            if let Some(tracked) = people.get_mut(&z.person) {
                tracked.zone_events.push(z.clone());
            }
        }
        for (id, fin) in &a.gone {
            if let Some(tracked) = people.get_mut(id) {
                tracked.finished = Some(fin.clone());
            }
        }
        for (id, tracked) in people.iter_mut() {
            if !a.people.iter().any(|p| p.person == *id) {
                tracked.annotator.absent(frame.t);
            }
        }
        times.push(frame.t);
        each(frame, timings);
    })?;
    for z in analyser.finish_zones() {
        if let Some(tracked) = people.get_mut(&z.person) {
            tracked.zone_events.push(z);
        }
    }
    for (id, fin) in analyser.finish() {
        if let Some(tracked) = people.get_mut(&id) {
            tracked.finished = Some(fin);
        }
    }
    // Each person's own document, and their part of the file's (in id order).
    let (mut docs, people): (Vec<Annotation>, Vec<PersonAnnotation>) = people
        .into_iter()
        .map(|(id, tr)| {
            let doc = tr.annotator.finish(tr.finished.unwrap_or_default());
            let part = PersonAnnotation {
                id,
                first_seen: tr.first_seen,
                last_seen: tr.last_seen,
                frames_in_view: tr.in_view,
                segments: doc.segments.clone(),
                tug: doc.tug.clone(),
                tugs: doc.tugs.clone(),
                zones: visits(&tr.zone_events),
            };
            (doc, part)
        })
        .unzip();
    let mut tugs: Vec<TugResult> = people.iter().flat_map(|p| p.tugs.clone()).collect();
    tugs.sort_by(|a, b| a.start.total_cmp(&b.start));
    let last_tug = tugs.iter().max_by(|a, b| a.end.total_cmp(&b.end)).cloned();
    // The primary person: whose test ended last, else the one in view the longest (the
    // first found on a tie).
    let primary = match last_tug.as_ref().and_then(|t| t.person) {
        Some(id) => people.iter().position(|p| p.id == id),
        None => people
            .iter()
            .enumerate()
            .max_by(|a, b| {
                a.1.frames_in_view
                    .cmp(&b.1.frames_in_view)
                    .then(b.0.cmp(&a.0))
            })
            .map(|(i, _)| i),
    };
    let mut annotation = match primary {
        Some(i) => docs.swap_remove(i),
        // Nobody was ever seen: every frame is nobody.
        None => {
            let mut annotator = Annotator::new(classes);
            for &t in &times {
                annotator.absent(t);
            }
            annotator.finish(Finished::default())
        }
    };
    annotation.tug = last_tug;
    annotation.tugs = tugs;
    annotation.people = people;
    Ok(Annotated {
        annotation,
        frames: n,
        with_person,
    })
}
