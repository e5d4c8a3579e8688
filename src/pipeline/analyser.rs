//! The analyser: the one place where a frame goes through pose and then classification.
//! The daemon's workers, `activityd pose`/`annotate`/`bench`, `/predict/frame`,
//! `/predict/video` and the WebSocket stream all run frames through an [`Analyser`], so they
//! cannot disagree about what a frame shows.
//!
//! A frame of recorded landmarks (a `landmarks:` camera, [`Content::Landmarks`]) skips the pose
//! models: its landmarks are the pose, and everything after pose is the same as for an image.

use std::path::Path;

use crate::classify::{ActivityModel, Classifier, DecoderConfig, Finished, Step};
use crate::events;
use crate::frame::{Content, Frame};
use crate::landmarks::LandmarkFrame;
use crate::model::ModelError;
use crate::pose::{Mode, Pose, PoseEstimator, PoseModelKind, PoseModels, landmark_frame};
use crate::timings::Timings;

use super::analysis::{Analysis, Stage, StageError};

/// The models every camera, file and request shares, loaded once, and the decoder settings.
#[derive(Clone)]
pub struct Models {
    pub pose: PoseModels,
    pub activity: ActivityModel,
    pub decoder: DecoderConfig,
}

impl Models {
    /// Loads the pose models (the landmark model `pose_model`) and the activity model from
    /// `dir`.
    pub fn load(
        dir: &Path,
        pose_model: PoseModelKind,
        decoder: DecoderConfig,
    ) -> Result<Models, ModelError> {
        Ok(Models {
            pose: PoseModels::load(dir, pose_model)?,
            activity: ActivityModel::load(dir)?,
            decoder,
        })
    }
}

/// While nobody has been seen for this long…
const IDLE_AFTER_S: f64 = 2.0;
/// …a live camera's detector looks at most this often (an empty room costs ~3 detector runs
/// a second instead of one per analysed frame).
const IDLE_DETECT_EVERY_S: f64 = 0.3;

/// When a live camera's detector runs while the room is empty.
struct IdleSearch {
    /// Camera time a person was last seen.
    last_seen: f64,
    /// Camera time the detector last looked for someone.
    last_search: f64,
}

impl IdleSearch {
    /// Whether to skip this frame: nobody tracked, nobody seen for a while, and the detector
    /// looked only a moment ago.
    fn skip(&self, t: f64, tracking: bool) -> bool {
        !tracking
            && t - self.last_seen > IDLE_AFTER_S
            && t - self.last_search < IDLE_DETECT_EVERY_S
            && t >= self.last_search
    }
}

/// One frame's result: the pose found (if any) and the classifier's step.
#[derive(Debug, Clone)]
pub struct Analysed {
    pub pose: Option<Pose>,
    pub step: Step,
}

/// Pose, then classification, for one camera, file, upload or stream.
pub struct Analyser {
    estimator: PoseEstimator,
    classifier: Classifier,
    /// Live cameras only: slow the detector down while the room is empty.
    idle: Option<IdleSearch>,
    /// The [`Frame::epoch`] of the last frame.
    epoch: u32,
}

impl Analyser {
    fn new(models: &Models, mode: Mode, decoder: DecoderConfig) -> Result<Analyser, ModelError> {
        Ok(Analyser {
            estimator: PoseEstimator::new(&models.pose, mode)?,
            classifier: Classifier::new(&models.activity, decoder)?,
            idle: None,
            epoch: 0,
        })
    }

    /// For a live camera: tracking and smoothing, and while the room has been empty for
    /// `IDLE_AFTER_S` (2 s) the detector runs at most every `IDLE_DETECT_EVERY_S` (0.3 s);
    /// the frames in between are reported as nobody without running the models.
    pub fn for_camera(models: &Models) -> Result<Analyser, ModelError> {
        let mut a = Analyser::new(models, Mode::Video, models.decoder.clone())?;
        a.idle = Some(IdleSearch {
            last_seen: f64::NEG_INFINITY,
            last_search: f64::NEG_INFINITY,
        });
        Ok(a)
    }

    /// For a video file or a stream of frames: tracking and smoothing on every frame given,
    /// decoded with `decoder`.
    pub fn for_video(models: &Models, decoder: DecoderConfig) -> Result<Analyser, ModelError> {
        Analyser::new(models, Mode::Video, decoder)
    }

    /// For still images: the detector on every image, no smoothing.
    pub fn for_image(models: &Models) -> Result<Analyser, ModelError> {
        Analyser::new(models, Mode::Image, models.decoder.clone())
    }

    pub fn classes(&self) -> &[String] {
        self.classifier.classes()
    }

    /// One frame: pose, then the classifier. A new epoch (the source restarted: a looping
    /// file, a reconnect) forgets the tracked person and restarts the motion window; so does a
    /// pose that starts a new track (someone else is followed), since a jump from one person
    /// or take to the next is not movement. Recorded landmarks are the frame's pose: the pose
    /// models do not run.
    pub fn analyse(
        &mut self,
        frame: &Frame,
        timings: &mut Timings,
    ) -> Result<Analysed, ModelError> {
        if frame.epoch != self.epoch {
            self.epoch = frame.epoch;
            self.estimator.reset();
            self.classifier.restart_window();
        }
        let pose = match &frame.content {
            Content::Image(_) => self.pose(frame, timings)?,
            Content::Landmarks(recorded) => recorded
                .as_deref()
                .map(|lm| Pose::recorded(*lm, frame.width, frame.height)),
        };
        let step = self.after_pose(frame.t, (frame.width, frame.height), pose.as_ref(), timings)?;
        Ok(Analysed { pose, step })
    }

    /// Classifies the pose found (or nobody) in a `width`×`height` frame at `t`.
    fn after_pose(
        &mut self,
        t: f64,
        (width, height): (u32, u32),
        pose: Option<&Pose>,
        timings: &mut Timings,
    ) -> Result<Step, ModelError> {
        if pose.is_some_and(|p| p.new_track) {
            self.classifier.restart_window();
        }
        self.classify(&landmark_frame(t, width, height, pose), timings)
    }

    fn pose(&mut self, frame: &Frame, timings: &mut Timings) -> Result<Option<Pose>, ModelError> {
        let tracking = self.estimator.is_tracking();
        if let Some(idle) = &mut self.idle {
            if idle.skip(frame.t, tracking) {
                return Ok(None);
            }
            if !tracking {
                idle.last_search = frame.t;
            }
        }
        let pose = self.estimator.estimate(frame, frame.t, timings)?;
        if let (Some(idle), Some(_)) = (&mut self.idle, &pose) {
            idle.last_seen = frame.t;
        }
        Ok(pose)
    }

    /// The classifier alone, on a landmark frame (a still image's pose held over time).
    pub fn classify(
        &mut self,
        lf: &LandmarkFrame,
        timings: &mut Timings,
    ) -> Result<Step, ModelError> {
        self.classifier.step(lf, timings)
    }

    /// Ends a file or stream: decides its last moments (see [`Classifier::finish`]).
    pub fn finish(&mut self) -> Finished {
        self.classifier.finish()
    }

    /// The label the decoder's rules give `probs` now (see [`Classifier::frame_label`]).
    pub fn frame_label(&self, probs: &[f32]) -> (crate::classify::Label, f32) {
        self.classifier.frame_label(probs)
    }
}

/// A camera's worker runs its analyser as a stage.
impl Stage for Analyser {
    fn name(&self) -> &'static str {
        "analyse"
    }

    fn process(&mut self, frame: &Frame, analysis: &mut Analysis) -> Result<(), StageError> {
        let a = self
            .analyse(frame, &mut analysis.timings)
            .map_err(|e| StageError {
                stage: "analyse",
                message: e.to_string(),
            })?;
        let (state, events) = events::of_step(&a.step, analysis.clock());
        analysis.pose = a.pose;
        analysis.activity = Some(a.step.frame);
        analysis.state = Some(state);
        analysis.events = events;
        Ok(())
    }

    fn finish(&mut self, analysis: &mut Analysis) {
        let fin = Analyser::finish(self);
        let (state, events) = events::of_finished(&fin, analysis.clock());
        analysis.activity = fin.decisions.last().cloned();
        analysis.state = state;
        analysis.events = events;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landmarks::test_body as body;
    use crate::pose::geometry::Roi;

    /// Runs 3 s of one person at 15 fps through the analyser's post-pose half, then one
    /// frame of someone shifted (a new track or not); says whether the classifier ran on it.
    fn classifier_ran_after(new_track: bool) -> bool {
        let dir = crate::config::default_models_dir();
        let models = Models::load(&dir, PoseModelKind::Full, DecoderConfig::default()).unwrap();
        let mut a = Analyser::for_camera(&models).unwrap();
        let roi = Roi {
            cx: 0.0,
            cy: 0.0,
            w: 1.0,
            h: 1.0,
            rotation: 0.0,
        };
        let mut ran = false;
        for i in 0..=45 {
            let last = i == 45;
            let pose = Pose {
                landmarks: body(if last { 0.3 } else { 0.0 }),
                score: 1.0,
                roi,
                detected: i == 0 || last,
                new_track: i == 0 || (last && new_track),
            };
            let mut t = Timings::default();
            a.after_pose(i as f64 / 15.0, (2, 2), Some(&pose), &mut t)
                .unwrap();
            ran = t.steps.iter().any(|(s, _)| *s == "classifier");
        }
        ran
    }

    /// A `landmarks:` camera's frames go through the analyser without the pose models, and
    /// what comes out is what `activityd classify` makes of the same file.
    #[test]
    fn recorded_landmarks_skip_pose_and_classify_as_the_file_does() {
        use crate::classify::annotate_landmarks;
        let dir = crate::config::default_models_dir();
        let models = Models::load(&dir, PoseModelKind::Full, DecoderConfig::default()).unwrap();
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/tug/test_00150_tug.jsonl"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let recorded = crate::landmarks::read_jsonl(text.as_bytes()).unwrap();
        let want = annotate_landmarks(&models.activity, DecoderConfig::default(), &recorded)
            .unwrap()
            .tug
            .expect("the file holds a TUG");

        let mut a = Analyser::for_camera(&models).unwrap();
        let mut tugs = Vec::new();
        for lf in &recorded {
            let frame = Frame::from_landmarks(lf.width, lf.height, lf.landmarks, lf.t);
            let mut t = Timings::default();
            let out = a.analyse(&frame, &mut t).unwrap();
            let stages: Vec<&str> = t.steps.iter().map(|(s, _)| *s).collect();
            assert!(
                stages
                    .iter()
                    .all(|s| ["features", "classifier"].contains(s)),
                "{stages:?}"
            );
            assert_eq!(out.pose.as_ref().map(|p| p.landmarks), lf.landmarks);
            tugs.extend(out.step.tug);
        }
        tugs.extend(a.finish().tugs);
        assert_eq!(tugs, vec![want]);
    }

    #[test]
    fn a_new_track_restarts_the_motion_window() {
        // The same person found again: the window goes on and the model runs.
        assert!(classifier_ran_after(false));
        // Someone else: no movement is measured from one person to the other.
        assert!(!classifier_ran_after(true));
    }
}
