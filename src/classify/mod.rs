//! Classify: landmark frames → features → the activity model (an MLP in ONNX, run in tract)
//! → temporal decoding into reported activities and segments → Timed Up and Go timing.
//!
//! [`Classifier`] does this for one camera or one file, a frame at a time; the daemon runs it
//! as a pipeline [`Stage`] after pose, and `activityd classify`/`annotate` run it over files
//! and build the [`Annotation`] document.

pub mod decode;
pub mod tug;

use std::collections::VecDeque;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::features::{FeatureExtractor, LABEL_LAG_S, NUM_FEATURES};
use crate::frame::Frame;
use crate::landmarks::LandmarkFrame;
use crate::model::{ModelError, OnnxModel, Session, read_card, values};
use crate::pipeline::{Analysis, Stage, StageError, Timings};
use crate::pose::{Pose, landmark_frame};
pub use decode::{Change, Decoder, DecoderConfig, Label, Segment};
pub use tug::{TugDetector, TugResult};

/// The activity model and its class names, loaded once and shared.
#[derive(Clone)]
pub struct ActivityModel {
    model: OnnxModel,
    pub classes: Vec<String>,
}

impl ActivityModel {
    /// Loads `activity.onnx` and the class list from `activity.json` in `dir`.
    pub fn load(dir: &Path) -> Result<ActivityModel, ModelError> {
        let card = read_card(dir, "activity")?;
        let card_path = dir.join("activity.json");
        let classes: Vec<String> = card["classes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_str().map(String::from))
                    .collect()
            })
            .filter(|c: &Vec<String>| !c.is_empty())
            .ok_or_else(|| ModelError::Card {
                path: card_path.clone(),
                message: "no \"classes\" list".into(),
            })?;
        if card["features"].as_u64() != Some(NUM_FEATURES as u64) {
            return Err(ModelError::Card {
                path: card_path,
                message: format!(
                    "the model expects {} features, this build computes {NUM_FEATURES}",
                    card["features"]
                ),
            });
        }
        let model = OnnxModel::load(
            &dir.join("activity.onnx"),
            &[1, NUM_FEATURES],
            &["probabilities"],
        )?;
        // One probability per listed class, or every class name after the first mismatch
        // would be wrong (and the decoder would index past the list).
        let out = model.session()?.run(|_| {})?;
        let n = values(&out[0])?.len();
        if n != classes.len() {
            return Err(ModelError::Card {
                path: card_path,
                message: format!(
                    "activity.onnx gives {n} probabilities, the card lists {} classes",
                    classes.len()
                ),
            });
        }
        Ok(ActivityModel { model, classes })
    }
}

/// What was decided for one frame.
#[derive(Debug, Clone)]
pub struct FrameActivity {
    pub label: Label,
    /// The label's name: a class id, `uncertain` or `no_person`.
    pub activity: String,
    pub confidence: f32,
    /// Smoothed class probabilities (empty when nobody is seen).
    pub probabilities: Vec<f32>,
    /// Someone is in view: on after [`PRESENCE_ON_S`] of pose finds, off after the decoder's
    /// `no_person_duration_s` without one (frame time, not the activity's lagging decisions).
    pub person: bool,
}

/// The result of one frame: the decision, what changed, and a test that just completed.
#[derive(Debug, Clone)]
pub struct Step {
    pub frame: FrameActivity,
    pub changes: Vec<Change>,
    pub tug: Option<TugResult>,
}

/// How long (s of video) someone must have been found, frame after frame, to be reported
/// present. A pose in one stray frame of an empty room is not someone walking in.
pub const PRESENCE_ON_S: f64 = 0.2;
/// A gap (s) between frames with someone that still counts as "frame after frame" (one
/// missed frame at 10 fps and up).
const PRESENCE_GAP_S: f64 = 0.35;

/// Whether someone is in view, in frame time. The activity decoder's `no_person` lags the
/// frames by its decision delay and holds for its minimum durations (about 0.9 s to report
/// someone who walked in); presence is what an occupancy sensor needs, so it follows the
/// pose stage: on after [`PRESENCE_ON_S`] of finds, off after `off_s` without one.
struct Presence {
    off_s: f64,
    present: bool,
    /// Start of the current run of finds, and the last find.
    run: Option<(f64, f64)>,
    /// The previous analysed frame had someone.
    prev_seen: bool,
}

impl Presence {
    fn new(off_s: f64) -> Presence {
        Presence {
            off_s,
            present: false,
            run: None,
            prev_seen: false,
        }
    }

    fn update(&mut self, t: f64, seen: bool) -> bool {
        if seen {
            let start = match self.run {
                Some((start, last)) if self.prev_seen || t - last <= PRESENCE_GAP_S => start,
                _ => t,
            };
            self.run = Some((start, t));
            if t - start >= PRESENCE_ON_S {
                self.present = true;
            }
        } else if self.run.is_none_or(|(_, last)| t - last >= self.off_s) {
            self.present = false;
        }
        self.prev_seen = seen;
        self.present
    }
}

/// Features, model, decoder and TUG detector for one camera or file.
pub struct Classifier {
    features: FeatureExtractor,
    session: Session,
    decoder: Decoder,
    tug: TugDetector,
    /// Frames not yet decided for (decisions lag by [`LABEL_LAG_S`]): their time and
    /// whether someone was seen, to finish a file.
    undecided: VecDeque<(f64, bool)>,
    /// The latest probabilities of the person now followed (to finish a file).
    last_probs: Option<Vec<f32>>,
    first_t: Option<f64>,
    presence: Presence,
}

impl Classifier {
    pub fn new(model: &ActivityModel, cfg: DecoderConfig) -> Result<Classifier, ModelError> {
        Ok(Classifier {
            features: FeatureExtractor::new(),
            session: model.model.session()?,
            presence: Presence::new(cfg.no_person_duration_s),
            decoder: Decoder::new(cfg, model.classes.clone()),
            tug: TugDetector::new(),
            undecided: VecDeque::new(),
            last_probs: None,
            first_t: None,
        })
    }

    pub fn classes(&self) -> &[String] {
        self.decoder.classes()
    }

    /// The source restarted (a looping file, a reconnect) or someone else is now followed:
    /// the motion window starts afresh, so a jump from the end of one take to the start of
    /// the next, or from one person to another, is not read as movement.
    /// Reported activities carry on; until the window refills, decisions see no features.
    pub fn restart_window(&mut self) {
        self.features.reset();
        self.last_probs = None;
    }

    /// Decodes the pose stage's result for a `width`×`height` frame at `t`: when the pose
    /// starts a new track (someone else is followed), the motion window restarts first.
    pub fn step_pose(
        &mut self,
        t: f64,
        (width, height): (u32, u32),
        pose: Option<&Pose>,
        timings: &mut Timings,
    ) -> Result<Step, ModelError> {
        if pose.is_some_and(|p| p.new_track) {
            self.restart_window();
        }
        self.step(&landmark_frame(t, width, height, pose), timings)
    }

    /// Decodes one landmark frame.
    pub fn step(
        &mut self,
        frame: &LandmarkFrame,
        timings: &mut Timings,
    ) -> Result<Step, ModelError> {
        let start = Instant::now();
        let features = self.features.push(frame);
        timings.record("features", start.elapsed());
        let probs = match features {
            Some(f) => {
                let start = Instant::now();
                let out = self.session.run(|buf| buf.copy_from_slice(&f))?;
                let p = values(&out[0])?.to_vec();
                timings.record("classifier", start.elapsed());
                Some(p)
            }
            None => None,
        };
        // The features describe the middle of their window: decide for that moment (never
        // before the first frame seen).
        let first = *self.first_t.get_or_insert(frame.t);
        // The probability smoothing delays changes by about its time constant: date back by
        // that too.
        let t = (frame.t - LABEL_LAG_S - self.decoder.smoothing_s()).max(first);
        self.undecided
            .push_back((frame.t, frame.landmarks.is_some()));
        while self.undecided.front().is_some_and(|&(ft, _)| ft <= t) {
            self.undecided.pop_front();
        }
        let d = self
            .decoder
            .step(t, probs.as_deref(), frame.landmarks.is_some());
        if probs.is_some() {
            self.last_probs = probs;
        }
        let mut tug = None;
        for c in &d.changes {
            if let Change::Ended(seg) = c
                && let Some(t) = self.tug.push(seg.clone())
            {
                tug = Some(t);
            }
        }
        let person = self.presence.update(frame.t, frame.landmarks.is_some());
        // Someone present before an activity was decided for them is `uncertain`, not nobody.
        let label = match d.label {
            Label::NoPerson if person => Label::Uncertain,
            l => l,
        };
        Ok(Step {
            frame: FrameActivity {
                label,
                activity: self.decoder.name(label).to_string(),
                confidence: d.confidence,
                probabilities: d.probabilities,
                person,
            },
            changes: d.changes,
            tug,
        })
    }

    /// Ends a file: decisions lag the frames by [`LABEL_LAG_S`], so the file's last moments
    /// are decided now, frame by frame: where someone was seen, the latest probabilities
    /// stand for them; where nobody was, nobody. Then the open segment ends. Returns the
    /// segments that ended and a test they complete.
    pub fn finish(&mut self) -> (Vec<Segment>, Option<TugResult>) {
        let mut ended = Vec::new();
        for (t, person) in std::mem::take(&mut self.undecided) {
            let probs = self.last_probs.as_deref().filter(|_| person);
            let d = self.decoder.step(t, probs, person);
            ended.extend(d.changes.into_iter().filter_map(|c| match c {
                Change::Ended(s) => Some(s),
                _ => None,
            }));
        }
        ended.extend(self.decoder.finish());
        let mut tug = None;
        for s in &ended {
            tug = self.tug.push(s.clone()).or(tug);
        }
        (ended, tug)
    }
}

/// The pipeline stage after pose.
pub struct ClassifyStage {
    classifier: Classifier,
    /// The [`Frame::epoch`] of the last frame.
    epoch: u32,
}

impl ClassifyStage {
    pub fn new(model: &ActivityModel, cfg: DecoderConfig) -> Result<ClassifyStage, ModelError> {
        Ok(ClassifyStage {
            classifier: Classifier::new(model, cfg)?,
            epoch: 0,
        })
    }
}

impl Stage for ClassifyStage {
    fn name(&self) -> &'static str {
        "classify"
    }

    fn process(&mut self, frame: &Frame, analysis: &mut Analysis) -> Result<(), StageError> {
        if frame.epoch != self.epoch {
            self.epoch = frame.epoch;
            self.classifier.restart_window();
        }
        let step = self
            .classifier
            .step_pose(
                analysis.t,
                (analysis.width, analysis.height),
                analysis.pose.as_ref(),
                &mut analysis.timings,
            )
            .map_err(|e| StageError {
                stage: "classify",
                message: e.to_string(),
            })?;
        analysis.activity = Some(step.frame);
        analysis.changes = step.changes;
        analysis.tug = step.tug;
        Ok(())
    }
}

/// One frame of the annotation document.
#[derive(Debug, Clone, Serialize)]
pub struct AnnotatedFrame {
    pub t: f64,
    pub activity: String,
    pub confidence: f32,
    pub probabilities: serde_json::Map<String, serde_json::Value>,
}

/// The `classify`/`annotate` document (see `interfaces.md`).
#[derive(Debug, Clone, Serialize)]
pub struct Annotation {
    pub segments: Vec<Segment>,
    pub frames: Vec<AnnotatedFrame>,
    /// The last Timed Up and Go test seen, if any.
    pub tug: Option<TugResult>,
    /// Every test seen, in order.
    pub tugs: Vec<TugResult>,
    pub classes: Vec<String>,
}

/// One frame as pushed, before the decisions that date back over it.
struct PushedFrame {
    t: f64,
    /// The pose stage found someone in this very frame.
    person: bool,
    /// Smoothed probabilities at the time.
    probabilities: Vec<f32>,
}

/// Builds an [`Annotation`] from frames as they are classified.
pub struct Annotator {
    classifier: Classifier,
    segments: Vec<Segment>,
    frames: Vec<PushedFrame>,
    tugs: Vec<TugResult>,
}

impl Annotator {
    pub fn new(model: &ActivityModel, cfg: DecoderConfig) -> Result<Annotator, ModelError> {
        Ok(Annotator {
            classifier: Classifier::new(model, cfg)?,
            segments: Vec::new(),
            frames: Vec::new(),
            tugs: Vec::new(),
        })
    }

    /// Adds the pose stage's result for a `width`×`height` frame at `t` (see
    /// [`Classifier::step_pose`]).
    pub fn push_pose(
        &mut self,
        t: f64,
        size: (u32, u32),
        pose: Option<&Pose>,
        timings: &mut Timings,
    ) -> Result<(), ModelError> {
        let step = self.classifier.step_pose(t, size, pose, timings)?;
        self.record(t, pose.is_some(), step);
        Ok(())
    }

    pub fn push(&mut self, frame: &LandmarkFrame, timings: &mut Timings) -> Result<(), ModelError> {
        let step = self.classifier.step(frame, timings)?;
        self.record(frame.t, frame.landmarks.is_some(), step);
        Ok(())
    }

    /// Keeps a frame's step; `person`: the pose stage found someone in this very frame.
    fn record(&mut self, t: f64, person: bool, step: Step) {
        for c in step.changes {
            if let Change::Ended(s) = c {
                self.segments.push(s);
            }
        }
        self.tugs.extend(step.tug);
        self.frames.push(PushedFrame {
            t,
            person,
            probabilities: step.frame.probabilities,
        });
    }

    /// The document. Frames inside a segment carry its activity (decisions lag by the
    /// minimum duration; segments are dated back, and frames follow them). Other frames are
    /// `no_person` where the pose stage found nobody in that frame (the contract's meaning),
    /// else `uncertain`: someone seen before an activity was decided for them (the first
    /// second of a file, a clip too short to decide) is not reported as nobody.
    pub fn finish(mut self) -> Annotation {
        let (ended, tug) = self.classifier.finish();
        self.segments.extend(ended);
        self.tugs.extend(tug);
        let classes = self.classifier.classes().to_vec();
        let mut seg = self.segments.iter().peekable();
        let frames = self
            .frames
            .into_iter()
            .map(|f| {
                let (t, probs) = (f.t, f.probabilities);
                while seg.peek().is_some_and(|s| s.end < t) {
                    seg.next();
                }
                let (activity, confidence) = match seg.peek() {
                    Some(s) if s.start <= t && t <= s.end => (
                        s.activity.clone(),
                        probs.get(s.class).copied().unwrap_or(0.0),
                    ),
                    _ => {
                        let best = probs.iter().copied().fold(0.0f32, f32::max);
                        let name = if f.person { "uncertain" } else { "no_person" };
                        (name.to_string(), best)
                    }
                };
                AnnotatedFrame {
                    t,
                    activity,
                    confidence: round3(confidence),
                    probabilities: classes
                        .iter()
                        .zip(probs.iter())
                        .map(|(c, p)| (c.clone(), serde_json::json!(round3(*p))))
                        .collect(),
                }
            })
            .collect();
        Annotation {
            segments: self.segments,
            frames,
            tug: self.tugs.last().cloned(),
            tugs: self.tugs,
            classes,
        }
    }
}

fn round3(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landmarks::read_jsonl;
    use crate::pose::geometry::Roi;
    use std::sync::Arc;

    /// A real body (a walking motion-capture frame), shifted sideways by `dx`.
    fn body(dx: f32) -> [crate::landmarks::Point; 33] {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/mocap/deepmimic_walk_front.jsonl"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let frames = read_jsonl(text.as_bytes()).unwrap();
        let mut lm = frames.iter().find_map(|f| f.landmarks).unwrap();
        for p in &mut lm {
            p.x += dx;
        }
        lm
    }

    /// A 640×480 landmark frame at `t`, with the body or nobody.
    fn frame_at(t: f64, someone: bool) -> LandmarkFrame {
        LandmarkFrame {
            t,
            width: 640,
            height: 480,
            landmarks: someone.then(|| body(0.0)),
        }
    }

    /// Runs 3 s of one person at 15 fps, then one frame of `next` (a new track or not);
    /// says whether the classifier ran on that last frame.
    fn classifier_ran_after(new_track: bool) -> bool {
        let model = ActivityModel::load(&crate::config::default_models_dir()).unwrap();
        let mut stage = ClassifyStage::new(&model, DecoderConfig::default()).unwrap();
        let roi = Roi {
            cx: 0.0,
            cy: 0.0,
            w: 1.0,
            h: 1.0,
            rotation: 0.0,
        };
        let mut ran = false;
        for i in 0..=45 {
            let frame = Frame::from_rgb(2, 2, vec![0; 12], i as f64 / 15.0);
            let mut analysis = Analysis::new(Arc::from("cam"), &frame);
            let last = i == 45;
            analysis.pose = Some(Pose {
                landmarks: body(if last { 0.3 } else { 0.0 }),
                score: 1.0,
                roi,
                detected: i == 0 || last,
                new_track: i == 0 || (last && new_track),
            });
            stage.process(&frame, &mut analysis).unwrap();
            ran = analysis
                .timings
                .steps
                .iter()
                .any(|(s, _)| *s == "classifier");
        }
        ran
    }

    /// A file whose person leaves in its very last frame: the last activity runs until they
    /// were last seen, not until a decision lag (1.15 s) before the end.
    #[test]
    fn a_file_ends_with_the_activity_seen_until_its_last_moments() {
        let model = ActivityModel::load(&crate::config::default_models_dir()).unwrap();
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/mocap/deepmimic_walk_side.jsonl"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let mut frames = read_jsonl(text.as_bytes()).unwrap();
        let last_seen = frames.last().unwrap().t;
        let walk_end = |frames: &[LandmarkFrame]| {
            let mut a = Annotator::new(&model, DecoderConfig::default()).unwrap();
            for f in frames {
                a.push(f, &mut Timings::default()).unwrap();
            }
            let doc = a.finish();
            doc.segments.last().map_or(0.0, |s| s.end)
        };
        // Seen to the end: the walk runs to the last frame.
        assert!(walk_end(&frames) >= last_seen - 0.05);
        // Gone in one last frame: the walk still runs to where they were last seen.
        frames.push(LandmarkFrame {
            t: last_seen + 1.0 / 30.0,
            landmarks: None,
            ..frames[0]
        });
        let end = walk_end(&frames);
        assert!(
            end >= last_seen - 0.2,
            "the walk ended at {end:.2} s; last seen {last_seen:.2} s"
        );
    }

    /// Frames outside every segment say whether a pose was found in them: a clip too short
    /// for any activity to be decided (0.4 s of someone between 0.5 s and 0.7 s of nobody)
    /// is `no_person` only where nobody was found. Before, the frames took the
    /// decoder's label at the moment they were pushed, which lags: all of them said
    /// `no_person`.
    #[test]
    fn frames_no_activity_was_decided_for_say_whether_someone_was_there() {
        let model = ActivityModel::load(&crate::config::default_models_dir()).unwrap();
        let mut a = Annotator::new(&model, DecoderConfig::default()).unwrap();
        let seen = |t: f64| (0.5..0.9).contains(&t);
        for i in 0..24 {
            let t = i as f64 / 15.0;
            a.push(&frame_at(t, seen(t)), &mut Timings::default())
                .unwrap();
        }
        let doc = a.finish();
        assert!(doc.segments.is_empty(), "{:?}", doc.segments);
        for f in &doc.frames {
            let want = if seen(f.t) { "uncertain" } else { "no_person" };
            assert_eq!(f.activity, want, "t={:.2}", f.t);
        }
    }

    /// `person` (MQTT `person_present`, the Home Assistant occupancy sensor) follows the pose
    /// stage in frame time, not the activity decisions, which lag by about a second and hold
    /// `no_person` / `uncertain` for another: someone walking in is present within
    /// [`PRESENCE_ON_S`] (and the activity then reads `uncertain`, not `no_person`), gone
    /// after `no_person_duration_s`; a single frame with a pose in an empty room, or a single
    /// missed frame, does not flip it.
    #[test]
    fn presence_follows_the_pose_stage_not_the_lagging_activity() {
        let model = ActivityModel::load(&crate::config::default_models_dir()).unwrap();
        let mut c = Classifier::new(&model, DecoderConfig::default()).unwrap();
        // 15 fps: nobody for 3 s (one stray pose at 1 s), someone for 5 s (one frame missed
        // at 5 s), then nobody.
        let seen = |i: usize| i == 15 || ((45..120).contains(&i) && i != 75);
        let (mut on, mut off) = (None, None);
        for i in 0..165 {
            let t = i as f64 / 15.0;
            let step = c
                .step(&frame_at(t, seen(i)), &mut Timings::default())
                .unwrap();
            let f = step.frame;
            if f.person {
                assert_ne!(f.activity, "no_person", "t={t:.2}");
            }
            match (f.person, on, off) {
                (true, None, _) => on = Some(t),
                (false, Some(_), None) if t > 3.0 => off = Some(t),
                (true, Some(_), Some(_)) => panic!("present again at {t:.2}"),
                _ => {}
            }
        }
        let (on, off) = (on.expect("never present"), off.expect("never gone"));
        eprintln!("present at {on:.2} s (pose from 3.00 s), gone at {off:.2} s (last pose 7.93 s)");
        assert!(
            (3.0..=3.0 + PRESENCE_ON_S + 0.07).contains(&on),
            "present at {on:.2} s"
        );
        let last = 119.0 / 15.0;
        let off_s = DecoderConfig::default().no_person_duration_s;
        assert!(
            off > last && off <= last + off_s + 0.07,
            "gone at {off:.2} s"
        );
    }

    #[test]
    fn a_new_track_restarts_the_motion_window() {
        // The same person found again: the window goes on and the model runs.
        assert!(classifier_ran_after(false));
        // Someone else: no movement is measured from one person to the other.
        assert!(!classifier_ran_after(true));
    }
}
