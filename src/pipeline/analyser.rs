//! The analyser: the one place where a frame goes through pose and then classification.
//! The daemon's workers, `activityd pose`/`annotate`/`bench`, `/predict/frame`,
//! `/predict/video` and the WebSocket stream all run frames through an [`Analyser`], so they
//! cannot disagree about what a frame shows.
//!
//! Everyone the pose tracker follows is classified on their own: each person (by their id)
//! has a [`Classifier`] of their own (motion window, activity decoder, Timed Up and Go
//! finder), stepped at every frame, with nobody while they are out of view, until they have
//! been gone for [`FORGET_S`]. One of them is the *primary* person, whose results fill the
//! single-person fields every output had before people were tracked apart
//! ([`Analysed::pose`], [`Analysed::step`]): kept while in view; else the person in view found
//! first. Live ([`Analyser::live`]), someone in view who is busier (moving while the primary
//! is at rest) takes over, once they have been in view for half a second.
//!
//! A frame of recorded landmarks (a `landmarks:` camera, [`Content::Landmarks`]) skips the pose
//! models: its landmarks are the pose (person 1), and everything after pose is the same as
//! for an image.

use std::path::Path;

use crate::classify::{
    ActivityModel, Classifier, DecoderConfig, Finished, FrameActivity, Label, Step,
};
use crate::events;
use crate::frame::{Content, Frame};
use crate::landmarks::LandmarkFrame;
use crate::model::ModelError;
use crate::pose::{
    FORGET_S, Mode, Pose, PoseEstimator, PoseModelKind, PoseModels, PosePrecision, TrackerCounters,
    landmark_frame, within,
};
use crate::timings::Timings;
use crate::zones::{Occupancy, ZoneEvent, ZoneTracker};

use super::analysis::{Analysis, PersonAnalysis, Stage, StageError, in_view_label};

/// The models every camera, file and request shares, loaded once, and the settings that go
/// with them.
#[derive(Clone)]
pub struct Models {
    pub pose: PoseModels,
    pub activity: ActivityModel,
    pub decoder: DecoderConfig,
    /// How many people a camera or file tracks at once (`pose.max_people`).
    pub max_people: usize,
}

impl Models {
    /// Loads the pose models (the landmark model `pose_model`) and the activity model from
    /// `dir`; up to the default `pose.max_people` (4) people are tracked.
    pub fn load(
        dir: &Path,
        pose_model: PoseModelKind,
        precision: PosePrecision,
        decoder: DecoderConfig,
    ) -> Result<Models, ModelError> {
        Ok(Models {
            pose: PoseModels::load(dir, pose_model, precision)?,
            activity: ActivityModel::load(dir)?,
            decoder,
            max_people: crate::config::PoseConfig::default().max_people,
        })
    }

    /// The same models tracking up to `n` people (at least one).
    pub fn with_max_people(mut self, n: usize) -> Models {
        self.max_people = n.max(1);
        self
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

/// One frame's result for one person.
#[derive(Debug, Clone)]
pub struct PersonStep {
    pub person: u32,
    /// Their pose in this frame; `None` while they are out of view (not yet forgotten).
    pub pose: Option<Pose>,
    pub step: Step,
    /// Camera times they were first and last seen.
    pub first_seen: f64,
    pub last_seen: f64,
    /// Since when they have been in view without a break (camera time).
    pub in_view_since: f64,
}

impl PersonStep {
    /// Their activity now, as the people lists report it: someone in view is never
    /// `no_person` (until their presence is on, they are `uncertain`).
    pub fn in_view_activity(&self) -> &str {
        match self.pose.as_ref().and(in_view_label(self.step.frame.label)) {
            Some(_) => "uncertain",
            None => &self.step.frame.activity,
        }
    }
}

/// Whose step a frame's single-person fields are.
#[derive(Debug, Clone)]
enum Primary {
    /// The person at this index of [`Analysed::people`].
    Person(usize),
    /// Nobody is remembered: a step saying so.
    Nobody(Step),
}

/// One frame's result: everyone's, and which of them is the primary person.
#[derive(Debug, Clone)]
pub struct Analysed {
    primary: Primary,
    /// Everyone remembered (in view or recently lost), by id.
    pub people: Vec<PersonStep>,
    /// People forgotten at this frame, and what finishing their classifier decided.
    pub gone: Vec<(u32, Finished)>,
    /// The tracker's running totals.
    pub counters: TrackerCounters,
    /// Zones entered and left at this frame, and who is in each zone now.
    pub zone_events: Vec<ZoneEvent>,
    pub occupancy: Vec<Occupancy>,
}

impl Analysed {
    /// The primary person (see the module docs), if anyone is remembered.
    pub fn primary(&self) -> Option<&PersonStep> {
        match self.primary {
            Primary::Person(i) => self.people.get(i),
            Primary::Nobody(_) => None,
        }
    }

    /// The primary person's pose in this frame.
    pub fn pose(&self) -> Option<&Pose> {
        self.primary().and_then(|p| p.pose.as_ref())
    }

    /// The primary person's step; with nobody remembered, a step saying so.
    pub fn step(&self) -> &Step {
        match &self.primary {
            Primary::Nobody(step) => step,
            Primary::Person(i) => &self.people[*i].step,
        }
    }

    /// How many people are in view in this frame.
    pub fn in_view(&self) -> usize {
        self.people.iter().filter(|p| p.pose.is_some()).count()
    }
}

/// One person's classifier and when they were seen.
struct Person {
    id: u32,
    classifier: Classifier,
    first_seen: f64,
    last_seen: f64,
    in_view_since: f64,
}

/// Pose, then classification, for one camera, file, upload or stream.
pub struct Analyser {
    estimator: PoseEstimator,
    activity: ActivityModel,
    decoder: DecoderConfig,
    people: Vec<Person>,
    /// The primary person of the last frame (kept while they stay in view).
    primary: Option<u32>,
    /// Live: someone busier than the primary person takes over (see [`primary`]).
    busiest_first: bool,
    zones: ZoneTracker,
    /// Live cameras only: slow the detector down while the room is empty.
    idle: Option<IdleSearch>,
    /// The [`Frame::epoch`] of the last frame.
    epoch: u32,
    /// The time of the last frame.
    last_t: f64,
}

impl Analyser {
    fn new(models: &Models, mode: Mode, decoder: DecoderConfig) -> Result<Analyser, ModelError> {
        Ok(Analyser {
            estimator: PoseEstimator::new(&models.pose, mode, models.max_people)?,
            activity: models.activity.clone(),
            decoder,
            people: Vec::new(),
            primary: None,
            busiest_first: false,
            zones: ZoneTracker::default(),
            idle: None,
            epoch: 0,
            last_t: f64::NEG_INFINITY,
        })
    }

    /// The same analyser for a live view (a camera, a WebSocket's frames): the primary person
    /// is whoever is busiest, not the person followed since first found (see [`primary`]).
    pub fn live(mut self) -> Analyser {
        self.busiest_first = true;
        self
    }

    /// The same analyser, also following who is in `zones`.
    pub fn with_zones(mut self, zones: Vec<crate::config::ZoneConfig>) -> Analyser {
        self.zones = ZoneTracker::new(zones);
        self
    }

    /// For a live camera: tracking and smoothing, and while the room has been empty for
    /// `IDLE_AFTER_S` (2 s) the detector runs at most every `IDLE_DETECT_EVERY_S` (0.3 s);
    /// the frames in between are reported as nobody without running the models.
    pub fn for_camera(models: &Models) -> Result<Analyser, ModelError> {
        let mut a = Analyser::new(models, Mode::Video, models.decoder.clone())?.live();
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
        &self.activity.classes
    }

    /// One frame: pose, then each person's classifier. A new epoch (the source restarted: a
    /// looping file, a reconnect) forgets who was tracked and restarts every motion window;
    /// so does, for one person, a pose that starts a new track (someone else is followed
    /// under their id), since a jump from one person or take to the next is not movement.
    /// Recorded landmarks are the frame's pose: the pose models do not run.
    pub fn analyse(
        &mut self,
        frame: &Frame,
        timings: &mut Timings,
    ) -> Result<Analysed, ModelError> {
        if frame.epoch != self.epoch {
            self.epoch = frame.epoch;
            self.estimator.reset();
            for p in &mut self.people {
                p.classifier.restart_window();
            }
        }
        let poses = match &frame.content {
            Content::Image(_) => self.poses(frame, timings)?,
            Content::Landmarks(recorded) => recorded
                .as_deref()
                .map(|lm| Pose::recorded(*lm, frame.width, frame.height))
                .into_iter()
                .collect(),
        };
        self.after_pose(frame.t, (frame.width, frame.height), poses, timings)
    }

    /// Classifies everyone found (or nobody) in a `width`×`height` frame at `t`.
    fn after_pose(
        &mut self,
        t: f64,
        (width, height): (u32, u32),
        mut poses: Vec<Pose>,
        timings: &mut Timings,
    ) -> Result<Analysed, ModelError> {
        for pose in &poses {
            let known = self.people.iter().position(|p| p.id == pose.person);
            let i = match known {
                Some(i) => i,
                None => {
                    self.people.push(Person {
                        id: pose.person,
                        classifier: Classifier::new(&self.activity, self.decoder.clone())?,
                        first_seen: t,
                        last_seen: t,
                        in_view_since: t,
                    });
                    self.people.len() - 1
                }
            };
            let p = &mut self.people[i];
            // Not seen in the last frame (or the clock went back): in view from now.
            if p.last_seen < self.last_t || t < self.last_t {
                p.in_view_since = t;
            }
            p.last_seen = t;
            if pose.new_track {
                p.classifier.restart_window();
            }
        }
        // Forgotten: gone for FORGET_S (or the clock went back: a new source).
        let mut gone = Vec::new();
        let mut i = 0;
        while i < self.people.len() {
            let p = &self.people[i];
            let seen = poses.iter().any(|q| q.person == p.id);
            let remembered = within(t, p.last_seen, FORGET_S);
            if !(seen || remembered) {
                let mut p = self.people.remove(i);
                gone.push((p.id, finish(p.id, &mut p.classifier)));
            } else {
                i += 1;
            }
        }
        let mut people = Vec::with_capacity(self.people.len());
        for p in &mut self.people {
            let at = poses.iter().position(|q| q.person == p.id);
            let pose = at.map(|i| poses.swap_remove(i));
            let lf = landmark_frame(t, width, height, pose.as_ref());
            let mut step = p.classifier.step(&lf, timings)?;
            if let Some(tug) = &mut step.tug {
                tug.person = Some(p.id);
            }
            people.push(PersonStep {
                person: p.id,
                pose,
                step,
                first_seen: p.first_seen,
                last_seen: p.last_seen,
                in_view_since: p.in_view_since,
            });
        }
        people.sort_by_key(|p| p.person);
        let zone_events = self.zones.update(
            t,
            people
                .iter()
                .map(|p| (p.person, p.pose.as_ref().map(|q| &q.landmarks))),
        );
        self.primary = primary(&people, self.primary, self.busiest_first, t);
        self.last_t = t;
        let primary = match people.iter().position(|p| Some(p.person) == self.primary) {
            Some(i) => Primary::Person(i),
            None => Primary::Nobody(nobody(t)),
        };
        Ok(Analysed {
            primary,
            people,
            gone,
            counters: self.estimator.counters(),
            zone_events,
            occupancy: self.zones.occupancy(),
        })
    }

    fn poses(&mut self, frame: &Frame, timings: &mut Timings) -> Result<Vec<Pose>, ModelError> {
        let tracking = self.estimator.is_tracking();
        if let Some(idle) = &mut self.idle {
            if idle.skip(frame.t, tracking) {
                return Ok(Vec::new());
            }
            if !tracking {
                idle.last_search = frame.t;
            }
        }
        let poses = self.estimator.estimate(frame, frame.t, timings)?;
        if let Some(idle) = &mut self.idle
            && !poses.is_empty()
        {
            idle.last_seen = frame.t;
        }
        Ok(poses)
    }

    /// The first person's classifier alone, on a landmark frame (a still image's pose held
    /// over time).
    pub fn classify(
        &mut self,
        lf: &LandmarkFrame,
        timings: &mut Timings,
    ) -> Result<Step, ModelError> {
        if self.people.is_empty() {
            self.people.push(Person {
                id: 1,
                classifier: Classifier::new(&self.activity, self.decoder.clone())?,
                first_seen: lf.t,
                last_seen: lf.t,
                in_view_since: lf.t,
            });
        }
        self.people[0].classifier.step(lf, timings)
    }

    /// Ends a file or stream: decides everyone's last moments (see [`Classifier::finish`]),
    /// by person id.
    pub fn finish(&mut self) -> Vec<(u32, Finished)> {
        self.people
            .drain(..)
            .map(|mut p| (p.id, finish(p.id, &mut p.classifier)))
            .collect()
    }

    /// Ends a file or stream for the zones: everyone inside leaves at their last sighting.
    pub fn finish_zones(&mut self) -> Vec<ZoneEvent> {
        self.zones.finish()
    }

    /// The label the decoder's rules give `probs` now (see [`Classifier::frame_label`]).
    pub fn frame_label(&self, probs: &[f32]) -> (Label, f32) {
        crate::classify::Decoder::new(self.decoder.clone(), self.activity.classes.clone())
            .frame_label(probs)
    }
}

/// The primary person at `t`: the one of last frame while they are in view, unless
/// (`busiest_first`, live) someone else in view for [`HANDOVER_S`] or more is busier (see
/// [`busyness`]: walking, turning, rising or sitting down while the primary sits or stands at
/// rest); else the person in view found first (live: the busiest, the one found first among
/// equals); else, with nobody in view, whoever was seen last. Live, a primary person out of
/// view for less than [`HANDOVER_S`] stays primary.
///
/// So live, a seated bystander found first (a head near the camera) hands over to the patient
/// who rises, and the patient sitting back down keeps it: nobody is busier than someone at
/// rest. Someone glimpsed for a moment (walking past the frame's edge) takes nothing over, and
/// a patient the tracker misses for a frame or two is not handed over to the bystander and
/// back. A file's landmarks (`activityd pose`) keep following one person while in view.
fn primary(people: &[PersonStep], last: Option<u32>, busiest_first: bool, t: f64) -> Option<u32> {
    let in_view = || people.iter().filter(|p| p.pose.is_some());
    let busy = |p: &PersonStep| if busiest_first { busyness(p) } else { 0 };
    // The busiest, the first found among equals (all equal unless `busiest_first`).
    let busiest = |a: &&PersonStep, b: &&PersonStep| {
        busy(b)
            .cmp(&busy(a))
            .then(a.first_seen.total_cmp(&b.first_seen))
    };
    // Live, missed for a moment (a frame or two the tracker lost): still the one to watch.
    if busiest_first
        && let Some(current) = people.iter().find(|p| Some(p.person) == last)
        && current.pose.is_none()
        && within(t, current.last_seen, HANDOVER_S)
    {
        return Some(current.person);
    }
    if let Some(current) = in_view().find(|p| Some(p.person) == last) {
        let challenger = in_view()
            .filter(|p| t - p.in_view_since >= HANDOVER_S)
            .min_by(busiest);
        return match challenger {
            Some(b) if busy(b) > busy(current) => Some(b.person),
            _ => Some(current.person),
        };
    }
    let best = in_view().min_by(busiest);
    best.or_else(|| {
        people
            .iter()
            .max_by(|a, b| a.last_seen.total_cmp(&b.last_seen))
    })
    .map(|p| p.person)
}

/// Live, how long someone must have been in view, without a break, to take the primary
/// person's place by being busier, and how long the primary person may be out of view and
/// stay primary (s): someone found for a frame or two (at the frame's edge, or found again
/// after the tracker lost them) made the live skeleton and MQTT `state` flick to them and
/// back.
const HANDOVER_S: f64 = 0.5;

/// How much someone's activity now says they are the one to watch: 2 moving as in a Timed Up
/// and Go test (walking, turning, rising, sitting down); 1 anything else the model reports
/// (`other`, exercising); 0 at rest or not yet known (`sitting`, `still`, `uncertain`).
fn busyness(p: &PersonStep) -> u8 {
    match p.in_view_activity() {
        "walk_toward" | "walk_away" | "walk_across" | "turn" | "stand_up" | "sit_down" => 2,
        "sitting" | "still" | "uncertain" | "no_person" => 0,
        _ => 1,
    }
}

/// Finishes person `id`'s classifier; their tests carry their id.
fn finish(id: u32, classifier: &mut Classifier) -> Finished {
    let mut fin = classifier.finish();
    for t in &mut fin.tugs {
        t.person = Some(id);
    }
    fin
}

/// The step of a frame with nobody remembered.
fn nobody(t: f64) -> Step {
    Step {
        frame: FrameActivity {
            at: t,
            label: Label::NoPerson,
            activity: "no_person".into(),
            confidence: 0.0,
            probabilities: Vec::new(),
            person: false,
        },
        changes: Vec::new(),
        tug: None,
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
        let clock = analysis.clock();
        let state = events::state_of(a.step());
        analysis.activity = Some(a.step().frame.clone());
        analysis.state = Some(state);
        analysis.primary = a.primary().map(|p| p.person);
        analysis.events = events::of_people(
            a.people
                .iter()
                .map(|p| (p.person, &p.step, p.pose.is_some())),
            &a.gone,
            clock,
        );
        analysis
            .events
            .extend(events::of_zones(&a.zone_events, clock));
        analysis.occupancy = a.occupancy;
        analysis.counters = a.counters;
        analysis.people = a.people.into_iter().map(PersonAnalysis::from).collect();
        Ok(())
    }

    fn finish(&mut self, analysis: &mut Analysis) {
        let fin = Analyser::finish(self);
        let clock = analysis.clock();
        let (state, mut events) = events::of_finished_people(&fin, self.primary, clock);
        events.extend(events::of_zones(&self.finish_zones(), clock));
        analysis.occupancy = self.zones.occupancy();
        analysis.activity = fin
            .iter()
            .find(|(id, _)| Some(*id) == self.primary)
            .and_then(|(_, f)| f.decisions.last().cloned());
        analysis.state = state;
        analysis.events = events;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landmarks::test_body as body;
    use crate::pose::geometry::Roi;

    /// The shipped models with the default settings.
    fn default_models() -> Models {
        let dir = crate::config::default_models_dir();
        let (model, precision) = (PoseModelKind::Full, PosePrecision::default());
        Models::load(&dir, model, precision, DecoderConfig::default()).unwrap()
    }

    /// A landmark file of `tests/fixtures`.
    fn fixture(name: &str) -> Vec<LandmarkFrame> {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        crate::landmarks::read_jsonl(std::fs::read_to_string(path).unwrap().as_bytes()).unwrap()
    }

    /// Runs 3 s of one person at 15 fps through the analyser's post-pose half, then one
    /// frame of someone shifted (a new track or not); says whether the classifier ran on it.
    fn classifier_ran_after(new_track: bool) -> bool {
        let models = default_models();
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
                person: 1,
            };
            let mut t = Timings::default();
            a.after_pose(i as f64 / 15.0, (2, 2), vec![pose], &mut t)
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
        let models = default_models();
        let recorded = fixture("tug/test_00150_tug.jsonl");
        let mut want = annotate_landmarks(&models.activity, DecoderConfig::default(), &recorded)
            .unwrap()
            .tug
            .expect("the file holds a TUG");
        // The pipeline names whose test it was: the recording's one person.
        want.person = Some(1);

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
            assert_eq!(out.pose().map(|p| p.landmarks), lf.landmarks);
            tugs.extend(out.step().tug.clone());
        }
        tugs.extend(a.finish().into_iter().flat_map(|(_, f)| f.tugs));
        assert_eq!(tugs, vec![want]);
    }

    /// A Timed Up and Go test (person 1, recorded landmarks) with a second person walking
    /// across the view in the middle of it, as an examiner might: the test is found once,
    /// for person 1, with the same time as without the walker; the walker has no test.
    #[test]
    fn a_second_person_walking_through_neither_breaks_nor_doubles_a_test() {
        let models = default_models();
        let tug = fixture("tug/test_00150_tug.jsonl");
        let walker: Vec<_> = fixture("mocap/deepmimic_walk_front.jsonl")
            .into_iter()
            .filter_map(|f| f.landmarks)
            .collect();
        let (t0, t1) = (tug[0].t, tug[tug.len() - 1].t);
        let body = |lm: [crate::landmarks::Point; 33], person: u32| Pose {
            roi: Pose::recorded(lm, 640, 480).roi,
            person,
            ..Pose::recorded(lm, 640, 480)
        };
        let run = |with_walker: bool| {
            let mut a = Analyser::for_video(&models, DecoderConfig::default()).unwrap();
            let mut tests = Vec::new();
            for (i, f) in tug.iter().enumerate() {
                let mut poses: Vec<Pose> = f.landmarks.map(|lm| body(lm, 1)).into_iter().collect();
                // The walker crosses from the right to the left during the middle third.
                let k = (f.t - t0) / (t1 - t0);
                if with_walker && (1.0 / 3.0..2.0 / 3.0).contains(&k) {
                    let mut lm = walker[i % walker.len()];
                    let dx = (0.9 - 2.4 * (k - 1.0 / 3.0)) as f32 - lm[23].x;
                    for p in &mut lm {
                        p.x += dx;
                    }
                    poses.push(body(lm, 2));
                }
                let out = a
                    .after_pose(f.t, (640, 480), poses, &mut Timings::default())
                    .unwrap();
                for p in &out.people {
                    tests.extend(p.step.tug.clone());
                }
                for (_, fin) in out.gone {
                    tests.extend(fin.tugs);
                }
            }
            tests.extend(a.finish().into_iter().flat_map(|(_, f)| f.tugs));
            tests
        };
        let alone = run(false);
        assert_eq!(alone.len(), 1, "{alone:?}");
        let with = run(true);
        assert_eq!(with.len(), 1, "{with:?}");
        assert_eq!(with[0].person, Some(1));
        assert_eq!(with[0].total_s, alone[0].total_s);
    }

    /// Live, someone busier takes the primary person's place only once they have been in
    /// view for [`HANDOVER_S`]: a walker found again for a frame at the frame's edge does not
    /// make the single-person fields flick to them and back. Whoever has been in view all
    /// along (a patient who rises) takes over at once; a primary person missed for a moment
    /// stays primary, and one gone for longer hands over to whoever is in view.
    #[test]
    fn someone_glimpsed_for_a_moment_takes_nothing_over() {
        let person = |id: u32, activity: &str, last_seen: f64, since: f64| {
            let mut step = nobody(10.0);
            step.frame.activity = activity.into();
            step.frame.label = Label::Uncertain;
            PersonStep {
                person: id,
                pose: (last_seen == 10.0).then(|| Pose {
                    person: id,
                    ..Pose::recorded(body(0.0), 640, 480)
                }),
                step,
                first_seen: id as f64,
                last_seen,
                in_view_since: since,
            }
        };
        let at_rest = person(1, "other", 10.0, 0.0);
        // Back in view for a frame, walking on.
        let glimpsed = [at_rest.clone(), person(2, "walk_across", 10.0, 10.0)];
        assert_eq!(primary(&glimpsed, Some(1), true, 10.0), Some(1));
        let longer = [
            at_rest.clone(),
            person(2, "walk_across", 10.0, 10.0 - HANDOVER_S),
        ];
        assert_eq!(primary(&longer, Some(1), true, 10.0), Some(2));
        // In view all along, rising.
        let rising = [at_rest.clone(), person(2, "stand_up", 10.0, 2.0)];
        assert_eq!(primary(&rising, Some(1), true, 10.0), Some(2));
        // The primary person missed for a moment, and gone for longer.
        let missed = [at_rest.clone(), person(2, "walk_away", 9.8, 2.0)];
        assert_eq!(primary(&missed, Some(2), true, 10.0), Some(2));
        let gone = [at_rest.clone(), person(2, "walk_away", 9.4, 2.0)];
        assert_eq!(primary(&gone, Some(2), true, 10.0), Some(1));
        // Files keep following one person, and take whoever is in view when they are not.
        assert_eq!(primary(&rising, Some(1), false, 10.0), Some(1));
        assert_eq!(primary(&missed, Some(2), false, 10.0), Some(1));
    }

    /// A seated bystander found first (person 1, a seated body held still) and a patient
    /// doing a Timed Up and Go test beside them (person 2, recorded landmarks): the live
    /// single-person fields follow the bystander until the patient rises, then the patient,
    /// also once they are seated again.
    #[test]
    fn the_primary_person_is_whoever_rises_not_the_seated_bystander_found_first() {
        let models = default_models();
        let tug = fixture("tug/test_00150_tug.jsonl");
        let body = |lm: [crate::landmarks::Point; 33], person: u32| Pose {
            person,
            ..Pose::recorded(lm, 640, 480)
        };
        // The patient's first (seated) pose, moved to the left edge and held.
        let mut seated = tug[0].landmarks.expect("seated at the start");
        for p in &mut seated {
            p.x -= 0.35;
        }
        let mut a = Analyser::for_camera(&models).unwrap();
        // (time, primary, the patient's activity) at every frame with the patient in view, and
        // every activity the bystander was given.
        let mut seen = Vec::new();
        let mut tests = Vec::new();
        let mut bystander = std::collections::BTreeSet::new();
        for (i, f) in tug.iter().enumerate() {
            let mut poses = vec![body(seated, 1)];
            if i >= 10 {
                poses.extend(f.landmarks.map(|lm| body(lm, 2)));
            }
            let out = a
                .after_pose(f.t, (640, 480), poses, &mut Timings::default())
                .unwrap();
            bystander.insert(out.people[0].in_view_activity().to_string());
            let patient = out.people.iter().find(|p| p.person == 2);
            if let Some(p) = patient.filter(|p| p.pose.is_some()) {
                seen.push((
                    f.t,
                    out.primary().map(|p| p.person),
                    p.in_view_activity().to_string(),
                ));
                tests.extend(p.step.tug.clone());
            }
            if i < 10 {
                assert_eq!(out.primary().map(|p| p.person), Some(1));
            }
        }
        tests.extend(a.finish().into_iter().flat_map(|(_, f)| f.tugs));
        assert_eq!(tests.len(), 1, "{tests:?}");
        assert_eq!(tests[0].person, Some(2));
        // One hand-over, to the patient, as their rise is reported, and never back.
        let first = seen
            .iter()
            .position(|(_, primary, _)| *primary == Some(2))
            .expect("the patient became the primary person");
        assert!(
            seen[first..]
                .iter()
                .all(|(_, primary, _)| *primary == Some(2)),
            "{seen:?}"
        );
        assert_eq!(seen[first].2, "stand_up", "{seen:?}");
        assert!(
            seen[..first]
                .iter()
                .all(|(_, primary, _)| *primary == Some(1))
        );
        // The bystander was seated at rest, not busy, the whole time.
        assert_eq!(seen.last().unwrap().2, "sitting", "{seen:?}");
    }

    #[test]
    fn a_new_track_restarts_the_motion_window() {
        // The same person found again: the window goes on and the model runs.
        assert!(classifier_ran_after(false));
        // Someone else: no movement is measured from one person to the other.
        assert!(!classifier_ran_after(true));
    }
}
