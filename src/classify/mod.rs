//! Classify: landmark frames → features → the activity model (an MLP in ONNX, run in tract)
//! → temporal decoding into reported activities and segments → Timed Up and Go timing.
//!
//! [`Classifier`] does this for one camera or one file, a landmark frame at a time; it knows
//! nothing of images or pose models (the pipeline's analyser feeds it). [`annotate`] turns
//! its steps over a whole file into the annotation document.
//!
//! Every decision describes one instant, [`FrameActivity::at`]: the features describe the
//! middle of their two-second window and the smoothing adds its time constant, so a decision
//! made at frame time `t` is about `t − 1.15 s`. Its label, confidence and probabilities all
//! describe that instant.

pub mod annotate;
pub mod decode;
mod presence;
pub mod tug;
pub mod turning;

use std::collections::VecDeque;
use std::path::Path;
use std::time::Instant;

use crate::features::{FeatureExtractor, LABEL_LAG_S, NUM_FEATURES};
use crate::landmarks::LandmarkFrame;
use crate::model::{ModelError, OnnxModel, Session, read_card, values};
use crate::timings::Timings;
pub use annotate::{AnnotatedFrame, Annotation, Annotator, PersonAnnotation, annotate_landmarks};
pub use decode::{Change, Decoder, DecoderConfig, Label, Segment};
pub use presence::PRESENCE_ON_S;
use presence::Presence;
pub use tug::{Phase, TugDetector, TugEnd, TugResult};
use turning::Turning;

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

/// What was decided at one frame, about the instant [`FrameActivity::at`].
#[derive(Debug, Clone)]
pub struct FrameActivity {
    /// The instant (camera time, s) that the label, confidence and probabilities describe:
    /// the frame's time less the decision delay, never before the first frame.
    pub at: f64,
    pub label: Label,
    /// The label's name: a class id, `uncertain` or `no_person`.
    pub activity: String,
    pub confidence: f32,
    /// Smoothed class probabilities at `at` (empty when the model did not run then).
    pub probabilities: Vec<f32>,
    /// Someone is in view (at the frame's own time, not `at`): on after [`PRESENCE_ON_S`] of pose finds, off after the decoder's
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

/// What ending a file decides: the decisions for its last moments, the segments that ended
/// and a test they complete.
#[derive(Debug, Clone, Default)]
pub struct Finished {
    pub decisions: Vec<FrameActivity>,
    pub ended: Vec<Segment>,
    /// Tests completed by the end (one waiting for its end, one whose sit-down came too late
    /// for the classifier).
    pub tugs: Vec<TugResult>,
}

/// Features, model, decoder and TUG detector for one camera or file.
pub struct Classifier {
    features: FeatureExtractor,
    session: Session,
    decoder: Decoder,
    tug: TugDetector,
    /// The body's rotation, for turns the model reads as walking (none when the decoder is
    /// not to use it).
    turning: Option<Turning>,
    /// Frames not yet decided for (decisions lag by [`LABEL_LAG_S`]): their time and
    /// whether someone was seen, to finish a file.
    undecided: VecDeque<(f64, bool)>,
    /// The latest probabilities of the person now followed (to finish a file).
    last_probs: Option<Vec<f32>>,
    first_t: Option<f64>,
    presence: Presence,
    /// Decide a file's last moments as if the person held their last pose
    /// (`DecoderConfig::hold_last_pose`).
    hold_last_pose: bool,
}

/// The probabilities a window filled out with the last frame gives, and the instant they
/// decide for ([`Classifier::finish`]).
struct HeldDecision {
    at: f64,
    probs: Vec<f32>,
}

impl Classifier {
    pub fn new(model: &ActivityModel, cfg: DecoderConfig) -> Result<Classifier, ModelError> {
        let hold_last_pose = cfg.hold_last_pose;
        Ok(Classifier {
            features: FeatureExtractor::new(),
            session: model.model.session()?,
            presence: Presence::new(cfg.no_person_duration_s),
            tug: TugDetector::new(cfg.tug_end),
            turning: cfg.turning.then(Turning::new),
            decoder: Decoder::new(cfg, model.classes.clone()),
            undecided: VecDeque::new(),
            last_probs: None,
            first_t: None,
            hold_last_pose,
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
        if let Some(tr) = &mut self.turning {
            tr.reset();
        }
        self.last_probs = None;
    }

    /// Decodes one landmark frame.
    pub fn step(
        &mut self,
        frame: &LandmarkFrame,
        timings: &mut Timings,
    ) -> Result<Step, ModelError> {
        self.tug.frame(frame);
        if let Some(tr) = &mut self.turning {
            tr.push(frame);
        }
        let start = Instant::now();
        let features = self.features.push(frame);
        timings.record("features", start.elapsed());
        let probs = match features {
            Some(f) => {
                let start = Instant::now();
                let p = self.probabilities(&f)?;
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
        // Is the body turning at the instant the features describe?
        let turning = self
            .turning
            .as_ref()
            .and_then(|tr| tr.at(frame.t - LABEL_LAG_S));
        let d = self
            .decoder
            .step_turning(t, probs.as_deref(), frame.landmarks.is_some(), turning);
        if probs.is_some() {
            self.last_probs = probs;
        }
        for c in &d.changes {
            match c {
                Change::Ended(seg) => self.tug.push(seg.clone()),
                Change::Started { label, at } => self.tug.started(self.decoder.name(*label), *at),
            }
        }
        let tug = self.tug.poll();
        let person = self.presence.update(frame.t, frame.landmarks.is_some());
        // Someone present before an activity was decided for them is `uncertain`, not nobody.
        let label = match d.label {
            Label::NoPerson if person => Label::Uncertain,
            l => l,
        };
        Ok(Step {
            frame: FrameActivity {
                at: t,
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
    /// are decided now, frame by frame. Where someone was seen, as if they held their last
    /// pose (`hold_last_pose`, the default: windows filled out with the last frame; a person
    /// who has just sat down reads `sitting`, not the sit-down the last real window was
    /// still halfway through), else with the latest probabilities; where nobody was, nobody.
    /// Then the open segment ends.
    pub fn finish(&mut self) -> Finished {
        let mut fin = Finished::default();
        let held = if self.hold_last_pose {
            self.held_to_the_end()
        } else {
            Vec::new()
        };
        for (t, person) in std::mem::take(&mut self.undecided) {
            // The first window that decides for this frame or after it.
            let from_held = held
                .iter()
                .find(|h| h.at >= t - 1e-9)
                .or(held.last())
                .map(|h| h.probs.as_slice());
            let probs = from_held.or(self.last_probs.as_deref()).filter(|_| person);
            // The rotation at the instant the probabilities' window describes, as in `step`;
            // none for the last 0.75 s, whose smoothing would need frames after the end (a
            // one-sided smoothing there read the end of every walk as a turn).
            let turning = self
                .turning
                .as_ref()
                .and_then(|tr| tr.at(t + self.decoder.smoothing_s()));
            let d = self.decoder.step_turning(t, probs, person, turning);
            self.changes_at_end(d.changes, &mut fin);
            fin.decisions.push(FrameActivity {
                at: t,
                label: d.label,
                activity: self.decoder.name(d.label).to_string(),
                confidence: d.confidence,
                probabilities: d.probabilities,
                person,
            });
        }
        // Held, the last pose would have kept a steady class the posture forbids long enough
        // to overrule it (someone who sat down as the file ends, the sit-down missed).
        if self.hold_last_pose {
            let changes = self.decoder.overrule_at_end();
            self.changes_at_end(changes, &mut fin);
        }
        if let Some(s) = self.decoder.finish() {
            self.tug.push(s.clone());
            fin.ended.push(s);
        }
        fin.tugs.extend(self.tug.poll());
        fin.tugs.extend(self.tug.finish());
        fin
    }

    /// A file's last decisions' changes, to the Timed Up and Go finder and the result.
    fn changes_at_end(&mut self, changes: Vec<Change>, fin: &mut Finished) {
        for c in changes {
            match c {
                Change::Ended(s) => {
                    self.tug.push(s.clone());
                    fin.ended.push(s);
                }
                Change::Started { label, at } => self.tug.started(self.decoder.name(label), at),
            }
        }
        fin.tugs.extend(self.tug.poll());
    }

    /// Decisions for a file's last moments as if the person held their last pose: the windows
    /// that describe those moments, their missing end filled with that pose (edge padding,
    /// [`FeatureExtractor::push_held`]), one a frame interval apart until the last real frame
    /// is decided for. Empty when nobody was in the last frame, or the model fails (the latest
    /// probabilities then stand, as before).
    fn held_to_the_end(&mut self) -> Vec<HeldDecision> {
        let Some(&(last_t, true)) = self.undecided.back() else {
            return Vec::new();
        };
        let Some((newest, interval)) = self.features.newest().filter(|(t, _)| *t == last_t) else {
            return Vec::new();
        };
        // Bounded both ways: a burst of near-equal timestamps must not make thousands of
        // windows, nor a long gap make none.
        let dt = interval.clamp(1.0 / 60.0, 0.5);
        let lag = LABEL_LAG_S + self.decoder.smoothing_s();
        let mut out = Vec::new();
        for k in 1.. {
            let t = newest + k as f64 * dt;
            if t - lag > newest + dt {
                break;
            }
            let Some(f) = self.features.push_held(t) else {
                continue;
            };
            let Ok(probs) = self.probabilities(&f) else {
                return Vec::new();
            };
            out.push(HeldDecision { at: t - lag, probs });
        }
        out
    }

    /// The model's class probabilities for one feature vector.
    fn probabilities(&mut self, f: &[f32]) -> Result<Vec<f32>, ModelError> {
        let out = self.session.run(|buf| buf.copy_from_slice(f))?;
        Ok(values(&out[0])?.to_vec())
    }

    /// The label the decoder's rules give `probs` right now (see [`Decoder::frame_label`]).
    pub fn frame_label(&self, probs: &[f32]) -> (Label, f32) {
        self.decoder.frame_label(probs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landmarks::{read_jsonl, test_body as body};

    /// A 640×480 landmark frame at `t`, with the body or nobody.
    fn frame_at(t: f64, someone: bool) -> LandmarkFrame {
        LandmarkFrame {
            t,
            width: 640,
            height: 480,
            landmarks: someone.then(|| body(0.0)),
        }
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
            let doc = annotate_landmarks(&model, DecoderConfig::default(), frames).unwrap();
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

    /// A file that ends a second after the person sat down: that second reads `sitting`, as
    /// it does when the file goes on, though the last window the model saw was still halfway
    /// through the sit-down. With the latest probabilities standing for the file's last
    /// moments instead (`hold_last_pose` off), it read `sit_down` to the end. Both Timed Up
    /// and Go fixtures (15 and 10 fps), cut 1 s after their labels' final `sitting` begins.
    #[test]
    fn a_file_ending_just_after_a_sit_down_ends_seated() {
        let model = ActivityModel::load(&crate::config::default_models_dir()).unwrap();
        for name in ["test_00150_tug", "test_00167_tug"] {
            let path = format!(
                "{}/tests/fixtures/tug/{name}.jsonl",
                env!("CARGO_MANIFEST_DIR")
            );
            let text = std::fs::read_to_string(path).unwrap();
            let frames = read_jsonl(text.as_bytes()).unwrap();
            let labels = crate::landmarks::read_labels(&text);
            let seated = labels
                .iter()
                .rposition(|l| l.as_deref() != Some("sitting"))
                .map_or(0, |i| i + 1);
            let from = frames[seated].t;
            let cut: Vec<_> = frames
                .iter()
                .filter(|f| f.t <= from + 1.0)
                .cloned()
                .collect();
            let sitting_share = |hold_last_pose: bool| {
                let cfg = DecoderConfig {
                    hold_last_pose,
                    ..DecoderConfig::default()
                };
                let doc = annotate_landmarks(&model, cfg, &cut).unwrap();
                let tail: Vec<_> = doc.frames.iter().filter(|f| f.t >= from).collect();
                let n = tail.iter().filter(|f| f.activity == "sitting").count();
                n as f64 / tail.len() as f64
            };
            let (held, latest) = (sitting_share(true), sitting_share(false));
            eprintln!("{name}: sitting in the last second {held:.2} held, {latest:.2} latest");
            assert!(held >= 0.8, "{name}: {held:.2} of the last second sitting");
            assert!(latest < held, "{name}: {latest:.2} / {held:.2}");
        }
    }

    /// Frames outside every segment say whether a pose was found in them: a clip too short
    /// for any activity to be decided (0.4 s of someone between 0.5 s and 0.7 s of nobody)
    /// is `no_person` only where nobody was found. Before, the frames took the
    /// decoder's label at the moment they were pushed, which lags: all of them said
    /// `no_person`.
    #[test]
    fn frames_no_activity_was_decided_for_say_whether_someone_was_there() {
        let model = ActivityModel::load(&crate::config::default_models_dir()).unwrap();
        let seen = |t: f64| (0.5..0.9).contains(&t);
        let frames: Vec<_> = (0..24)
            .map(|i| i as f64 / 15.0)
            .map(|t| frame_at(t, seen(t)))
            .collect();
        let doc = annotate_landmarks(&model, DecoderConfig::default(), &frames).unwrap();
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
}
