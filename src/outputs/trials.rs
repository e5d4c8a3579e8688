//! Timed Up and Go trials, for the clinician: a trial is armed on a camera (an optional
//! pseudonymous subject code and the walk distance), the next test found on that camera
//! completes it, and the result keeps the total time, the six phases, gait speed, turn time,
//! the seconds the person was out of view, quality flags, and the published fall-risk
//! threshold as a reference. A stopwatch time can be attached to a result; [`agreement`] is
//! activityd against the stopwatch over those results.
//!
//! Kept in memory only (a bounded ring, [`CAPACITY`]); every change is also sent on
//! [`Trials::subscribe`] (the page's WebSocket and MQTT read it).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde::Serialize;
use tokio::sync::broadcast;

use crate::classify::{Phase, TugResult};
use crate::events::{EventKind, unix};
use crate::pipeline::{Analyses, Analysis};

/// Trials kept; the oldest finished one goes first.
pub const CAPACITY: usize = 200;
/// Default walk distance (the standard test's 3 m line).
pub const DEFAULT_WALK_M: f64 = 3.0;
/// CDC STEADI: a Timed Up and Go of 12 s or more indicates a risk of falling.
pub const FALL_RISK_THRESHOLD_S: f64 = 12.0;
const FALL_RISK_REFERENCE: &str = "CDC STEADI: an older adult who takes 12 s or more for the Timed Up and Go is at risk of falling";
const FALL_RISK_NOTE: &str = "a screening reference for the clinician, not a diagnosis";
/// Mean activity confidence over a test below which it is flagged `low_confidence`.
const LOW_CONFIDENCE: f32 = 0.6;
/// A test that began this long before the trial was armed still completes it (the
/// clinician arms as the person starts to rise).
const ARM_GRACE_S: f64 = 5.0;
/// Seconds of each camera's frames kept to judge a test's quality (longer than any test).
const FRAME_LOG_S: f64 = 120.0;
/// Someone other than the subject in view this long (s) during a test flags it
/// `other_person`.
const OTHERS_MIN_S: f64 = 1.0;

/// Why a trial request was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TrialError {
    #[error("no camera {0:?}")]
    UnknownCamera(String),
    #[error("camera {camera:?} already has trial {id} armed")]
    AlreadyArmed { camera: String, id: String },
    #[error("{0}")]
    Invalid(String),
    #[error("no trial {0:?}")]
    NotFound(String),
    #[error("trial {0} has no result yet")]
    NotCompleted(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Armed,
    Completed,
}

/// One phase of a trial's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialPhase {
    pub start: f64,
    pub end: f64,
    pub duration_s: f64,
    pub implied: bool,
    pub out_of_view: bool,
}

impl From<&Phase> for TrialPhase {
    fn from(p: &Phase) -> TrialPhase {
        TrialPhase {
            start: round3(p.start),
            end: round3(p.end),
            duration_s: round2(p.end - p.start),
            implied: p.implied,
            out_of_view: p.out_of_view,
        }
    }
}

/// The six phases of the test, each `null` when the test did not show it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Phases {
    pub sit_to_stand: Option<TrialPhase>,
    pub walk_out: Option<TrialPhase>,
    pub turn: Option<TrialPhase>,
    pub walk_back: Option<TrialPhase>,
    pub turn_to_sit: Option<TrialPhase>,
    pub sit_down: Option<TrialPhase>,
}

impl Phases {
    /// Names the detector's phases: the stand-up, then walk / turn / walk / turn in order,
    /// then the sit-down.
    pub fn of(phases: &[Phase]) -> Phases {
        let mut out = Phases::default();
        for p in phases {
            let tp = Some(TrialPhase::from(p));
            match p.activity.as_str() {
                "stand_up" if out.sit_to_stand.is_none() => out.sit_to_stand = tp,
                "sit_down" => out.sit_down = tp,
                "turn" if out.walk_out.is_some() && out.walk_back.is_none() => {
                    out.turn = out.turn.take().or(tp)
                }
                "turn" if out.walk_back.is_some() && out.turn_to_sit.is_none() => {
                    out.turn_to_sit = tp
                }
                a if a.starts_with("walk_") => {
                    if out.walk_out.is_none() {
                        out.walk_out = tp;
                    } else if out.walk_back.is_none() {
                        out.walk_back = tp;
                    }
                }
                _ => {}
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quality {
    /// `track_switch` (the tracker lost the person or followed someone else during the
    /// test: another person may have been in view), `low_confidence`, `phases_inferred`,
    /// `end_estimated` (the person was not seen seated back: the input ended first, or they
    /// did not come to rest within 2 s of reaching the seat),
    /// `out_of_view`.
    pub flags: Vec<&'static str>,
    /// Mean confidence of the activities over the test's frames.
    pub mean_confidence: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FallRisk {
    pub threshold_s: f64,
    pub at_or_above: bool,
    pub reference: &'static str,
    pub note: &'static str,
}

/// What a completed trial measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrialResult {
    pub total_s: f64,
    /// Camera time of the start of the rise and of the end of the clock.
    pub start: f64,
    pub end: f64,
    pub end_rule: crate::classify::TugEnd,
    pub phases: Phases,
    /// The walk distance over the time walking out and back (m/s); `null` without walks.
    pub gait_speed_mps: Option<f64>,
    /// The turn at the far end (s).
    pub turn_s: Option<f64>,
    /// Seconds of the test in which nobody was in view.
    pub out_of_view_s: f64,
    pub quality: Quality,
    pub fall_risk: FallRisk,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trial {
    pub id: String,
    pub camera: String,
    pub subject: Option<String>,
    pub walk_m: f64,
    pub status: Status,
    /// Unix seconds.
    pub armed_at: f64,
    pub completed_at: Option<f64>,
    pub stopwatch_s: Option<f64>,
    pub result: Option<TrialResult>,
}

/// What the clinician sends to arm a trial.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArmRequest {
    pub camera: Option<String>,
    pub subject: Option<String>,
    pub walk_m: Option<f64>,
}

/// One person in one frame, as trials judge a test's quality by.
#[derive(Debug, Clone, Copy)]
struct SeenPerson {
    person: u32,
    present: bool,
    new_track: bool,
    confidence: Option<f32>,
}

/// One frame: everyone tracked in it.
#[derive(Debug, Clone)]
struct Seen {
    t: f64,
    people: Vec<SeenPerson>,
}

impl Seen {
    /// The test's subject in this frame (`None`: a test without a person id, the primary).
    fn subject(&self, person: Option<u32>) -> Option<&SeenPerson> {
        match person {
            Some(id) => self.people.iter().find(|p| p.person == id),
            None => self.people.first(),
        }
    }

    fn present(&self, person: Option<u32>) -> bool {
        self.subject(person).is_some_and(|p| p.present)
    }

    /// Someone other than the subject is in view (unknowable for a test without a person).
    fn others(&self, person: Option<u32>) -> bool {
        person.is_some_and(|id| self.people.iter().any(|p| p.present && p.person != id))
    }
}

struct Inner {
    next_id: u64,
    /// Oldest first.
    trials: VecDeque<Trial>,
    frames: HashMap<String, VecDeque<Seen>>,
}

/// Every camera's trials.
pub struct Trials {
    cameras: Vec<String>,
    inner: Mutex<Inner>,
    updates: broadcast::Sender<Arc<Trial>>,
}

impl Trials {
    pub fn new(cameras: Vec<String>) -> Trials {
        Trials {
            cameras,
            inner: Mutex::new(Inner {
                next_id: 1,
                trials: VecDeque::new(),
                frames: HashMap::new(),
            }),
            updates: broadcast::channel(64).0,
        }
    }

    /// Every trial armed, completed or timed by a stopwatch from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Trial>> {
        self.updates.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn announce(&self, t: &Trial) {
        let _ = self.updates.send(Arc::new(t.clone()));
    }

    /// Arms a trial; the camera may be omitted when there is only one.
    pub fn arm(&self, req: ArmRequest, now: SystemTime) -> Result<Trial, TrialError> {
        let camera = match req.camera {
            Some(c) => c,
            None if self.cameras.len() == 1 => self.cameras[0].clone(),
            None => {
                return Err(TrialError::Invalid(format!(
                    "camera: required (one of {})",
                    self.cameras.join(", ")
                )));
            }
        };
        if !self.cameras.contains(&camera) {
            return Err(TrialError::UnknownCamera(camera));
        }
        if let Some(s) = &req.subject {
            let ok = !s.is_empty()
                && s.len() <= 32
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !ok {
                return Err(TrialError::Invalid(
                    "subject: a pseudonymous code of 1-32 letters, digits, '-', '_' or '.' (no names)"
                        .into(),
                ));
            }
        }
        let walk_m = req.walk_m.unwrap_or(DEFAULT_WALK_M);
        if !(walk_m.is_finite() && (1.0..=20.0).contains(&walk_m)) {
            return Err(TrialError::Invalid(format!(
                "walk_m: {walk_m} is not a walk distance in metres between 1 and 20"
            )));
        }
        let mut inner = self.lock();
        if let Some(t) = inner
            .trials
            .iter()
            .find(|t| t.camera == camera && t.status == Status::Armed)
        {
            return Err(TrialError::AlreadyArmed {
                camera,
                id: t.id.clone(),
            });
        }
        let trial = Trial {
            id: inner.next_id.to_string(),
            camera,
            subject: req.subject,
            walk_m,
            status: Status::Armed,
            armed_at: unix(now),
            completed_at: None,
            stopwatch_s: None,
            result: None,
        };
        inner.next_id += 1;
        if inner.trials.len() >= CAPACITY
            && let Some(i) = inner
                .trials
                .iter()
                .position(|t| t.status == Status::Completed)
        {
            inner.trials.remove(i);
        }
        inner.trials.push_back(trial.clone());
        drop(inner);
        self.announce(&trial);
        Ok(trial)
    }

    /// Newest first.
    pub fn list(&self) -> Vec<Trial> {
        self.lock().trials.iter().rev().cloned().collect()
    }

    pub fn get(&self, id: &str) -> Result<Trial, TrialError> {
        self.lock()
            .trials
            .iter()
            .find(|t| t.id == id)
            .cloned()
            .ok_or_else(|| TrialError::NotFound(id.into()))
    }

    /// Removes a trial (an armed one is cancelled).
    pub fn remove(&self, id: &str) -> Result<Trial, TrialError> {
        let mut inner = self.lock();
        let i = inner
            .trials
            .iter()
            .position(|t| t.id == id)
            .ok_or_else(|| TrialError::NotFound(id.into()))?;
        Ok(inner.trials.remove(i).expect("found"))
    }

    /// Attaches the clinician's stopwatch time to a completed trial.
    pub fn stopwatch(&self, id: &str, seconds: f64) -> Result<Trial, TrialError> {
        if !(seconds.is_finite() && (1.0..=600.0).contains(&seconds)) {
            return Err(TrialError::Invalid(format!(
                "seconds: {seconds} is not a stopwatch time between 1 and 600"
            )));
        }
        let mut inner = self.lock();
        let t = inner
            .trials
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or_else(|| TrialError::NotFound(id.into()))?;
        if t.status != Status::Completed {
            return Err(TrialError::NotCompleted(id.into()));
        }
        t.stopwatch_s = Some(round2(seconds));
        let t = t.clone();
        drop(inner);
        self.announce(&t);
        Ok(t)
    }

    /// activityd against the stopwatch over every result that has one.
    pub fn agreement(&self) -> Agreement {
        let pairs: Vec<Pair> = self
            .lock()
            .trials
            .iter()
            .filter_map(|t| {
                Some(Pair {
                    id: t.id.clone(),
                    activityd_s: t.result.as_ref()?.total_s,
                    stopwatch_s: t.stopwatch_s?,
                })
            })
            .collect();
        Agreement::of(pairs)
    }

    /// Takes one analysis: remembers the frame, and completes the camera's armed trial with
    /// a test it reports.
    pub fn on_analysis(&self, a: &Analysis) {
        let mut inner = self.lock();
        let log = inner.frames.entry(a.camera.to_string()).or_default();
        if !a.end_of_source {
            log.push_back(Seen {
                t: a.t,
                people: a
                    .people
                    .iter()
                    .map(|p| SeenPerson {
                        person: p.person,
                        present: p.pose.is_some(),
                        new_track: p.pose.as_ref().is_some_and(|q| q.new_track),
                        confidence: p.pose.as_ref().map(|_| p.activity.confidence),
                    })
                    .collect(),
            });
        }
        while log.front().is_some_and(|s| s.t < a.t - FRAME_LOG_S) {
            log.pop_front();
        }
        for e in &a.events {
            let EventKind::Tug(tug) = &e.kind else {
                continue;
            };
            let started = a.clock().wall_at(tug.start);
            let Some(trial) = inner.trials.iter().position(|t| {
                t.camera == *a.camera
                    && t.status == Status::Armed
                    && started >= t.armed_at - ARM_GRACE_S
            }) else {
                continue;
            };
            let log = &inner.frames[&*a.camera];
            let walk_m = inner.trials[trial].walk_m;
            let result = judge(tug, walk_m, log);
            let t = &mut inner.trials[trial];
            t.status = Status::Completed;
            t.completed_at = Some(e.ts);
            t.result = Some(result);
            let t = t.clone();
            tracing::info!(trial = %t.id, camera = %t.camera, total_s = tug.total_s, "TUG trial completed");
            self.announce(&t);
        }
    }

    /// Follows the analyses until shutdown.
    pub async fn run(self: Arc<Self>, mut analyses: Analyses) {
        while let Some(a) = analyses.next().await {
            self.on_analysis(&a);
        }
    }
}

/// A trial's result from the test found and the camera's recent frames.
fn judge(tug: &TugResult, walk_m: f64, log: &VecDeque<Seen>) -> TrialResult {
    let phases = Phases::of(&tug.phases);
    let during: Vec<&Seen> = log
        .iter()
        .filter(|s| s.t >= tug.start && s.t <= tug.end)
        .collect();
    let who = tug.person;
    // Out of view: the time from each frame without the subject to the next frame; and the
    // time someone else was in view.
    let (mut out_of_view, mut others) = (0.0, 0.0);
    for w in during.windows(2) {
        if !w[0].present(who) {
            out_of_view += w[1].t - w[0].t;
        }
        if w[0].others(who) {
            others += w[1].t - w[0].t;
        }
    }
    let confidences: Vec<f32> = during
        .iter()
        .filter_map(|s| s.subject(who).and_then(|p| p.confidence))
        .collect();
    let mean_confidence = (!confidences.is_empty())
        .then(|| confidences.iter().sum::<f32>() / confidences.len() as f32);
    let mut flags = Vec::new();
    if during
        .iter()
        .skip(1)
        .any(|s| s.subject(who).is_some_and(|p| p.new_track))
    {
        flags.push("track_switch");
    }
    if others >= OTHERS_MIN_S {
        flags.push("other_person");
    }
    if mean_confidence.is_some_and(|c| c < LOW_CONFIDENCE) {
        flags.push("low_confidence");
    }
    if tug.phases.iter().any(|p| p.implied) {
        flags.push("phases_inferred");
    }
    if tug.end_estimated {
        flags.push("end_estimated");
    }
    if out_of_view > 0.0 || tug.phases.iter().any(|p| p.out_of_view) {
        flags.push("out_of_view");
    }
    let walking: Vec<f64> = [&phases.walk_out, &phases.walk_back]
        .iter()
        .filter_map(|p| p.as_ref().map(|p| p.end - p.start))
        .filter(|d| *d > 0.0)
        .collect();
    let gait_speed_mps = (!walking.is_empty()).then(|| {
        (walk_m * walking.len() as f64 / walking.iter().sum::<f64>() * 100.0).round() / 100.0
    });
    TrialResult {
        total_s: tug.total_s,
        start: round3(tug.start),
        end: round3(tug.end),
        end_rule: tug.end_rule,
        gait_speed_mps,
        turn_s: phases.turn.as_ref().map(|p| p.duration_s),
        phases,
        out_of_view_s: round2(out_of_view),
        quality: Quality {
            flags,
            mean_confidence: mean_confidence.map(|c| round3(c as f64)),
        },
        fall_risk: FallRisk {
            threshold_s: FALL_RISK_THRESHOLD_S,
            at_or_above: tug.total_s >= FALL_RISK_THRESHOLD_S,
            reference: FALL_RISK_REFERENCE,
            note: FALL_RISK_NOTE,
        },
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// One result with a stopwatch time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pair {
    pub id: String,
    pub activityd_s: f64,
    pub stopwatch_s: f64,
}

/// Bland–Altman agreement (activityd − stopwatch) and ICC(A,1); numbers are `null` below
/// two pairs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    pub n: usize,
    pub bias_s: Option<f64>,
    pub sd_s: Option<f64>,
    pub loa_low_s: Option<f64>,
    pub loa_high_s: Option<f64>,
    pub icc_a1: Option<f64>,
    pub pairs: Vec<Pair>,
}

impl Agreement {
    fn of(pairs: Vec<Pair>) -> Agreement {
        let n = pairs.len();
        let d: Vec<f64> = pairs
            .iter()
            .map(|p| p.activityd_s - p.stopwatch_s)
            .collect();
        let (mut bias, mut sd, mut lo, mut hi, mut icc) = (None, None, None, None, None);
        if n >= 2 {
            let b = d.iter().sum::<f64>() / n as f64;
            let s = (d.iter().map(|x| (x - b).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
            let r3 = |v: f64| (v * 1000.0).round() / 1000.0;
            (bias, sd, lo, hi) = (
                Some(r3(b)),
                Some(r3(s)),
                Some(r3(b - 1.96 * s)),
                Some(r3(b + 1.96 * s)),
            );
            let rows: Vec<Vec<f64>> = pairs
                .iter()
                .map(|p| vec![p.activityd_s, p.stopwatch_s])
                .collect();
            icc = icc_a1(&rows).map(r3);
        } else if n == 1 {
            bias = Some((d[0] * 1000.0).round() / 1000.0);
        }
        Agreement {
            n,
            bias_s: bias,
            sd_s: sd,
            loa_low_s: lo,
            loa_high_s: hi,
            icc_a1: icc,
            pairs,
        }
    }
}

/// ICC(A,1): two-way random effects, absolute agreement, single measurement (McGraw & Wong
/// 1996; Shrout & Fleiss ICC(2,1)) of n subjects (rows) by k raters (columns). `None` when
/// it is undefined (fewer than two rows, or no variance at all).
pub fn icc_a1(rows: &[Vec<f64>]) -> Option<f64> {
    let n = rows.len();
    let k = rows.first()?.len();
    if n < 2 || k < 2 || rows.iter().any(|r| r.len() != k) {
        return None;
    }
    let (nf, kf) = (n as f64, k as f64);
    let gm = rows.iter().flatten().sum::<f64>() / (nf * kf);
    let row_mean: Vec<f64> = rows.iter().map(|r| r.iter().sum::<f64>() / kf).collect();
    let col_mean: Vec<f64> = (0..k)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / nf)
        .collect();
    let msr = kf * row_mean.iter().map(|m| (m - gm).powi(2)).sum::<f64>() / (nf - 1.0);
    let msc = nf * col_mean.iter().map(|m| (m - gm).powi(2)).sum::<f64>() / (kf - 1.0);
    let mut sse = 0.0;
    for (i, r) in rows.iter().enumerate() {
        for (j, x) in r.iter().enumerate() {
            sse += (x - row_mean[i] - col_mean[j] + gm).powi(2);
        }
    }
    let mse = sse / ((nf - 1.0) * (kf - 1.0));
    let denom = msr + (kf - 1.0) * mse + kf / nf * (msc - mse);
    (denom.abs() > 1e-12).then(|| (msr - mse) / denom)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(a: &str, s: f64, e: f64) -> Phase {
        Phase {
            activity: a.into(),
            start: s,
            end: e,
            implied: false,
            out_of_view: false,
        }
    }

    fn tug(total: f64) -> TugResult {
        TugResult {
            total_s: total,
            start: 10.0,
            end: 10.0 + total,
            end_rule: crate::classify::TugEnd::Settled,
            seat_contact: 10.0 + total - 0.3,
            settled: Some(10.0 + total),
            end_estimated: false,
            phases: vec![
                phase("stand_up", 10.0, 11.5),
                phase("walk_away", 11.5, 14.5),
                phase("turn", 14.5, 16.0),
                phase("walk_toward", 16.0, 19.0),
                phase("turn", 19.0, 20.0),
                phase("sit_down", 20.0, 10.0 + total),
            ],
            person: None,
        }
    }

    #[test]
    fn icc_matches_shrout_and_fleiss() {
        // Shrout & Fleiss (1979): 6 targets × 4 judges, ICC(2,1) = 0.29.
        let sf = [
            [9., 2., 5., 8.],
            [6., 1., 3., 2.],
            [8., 4., 6., 8.],
            [7., 1., 2., 6.],
            [10., 5., 6., 9.],
            [6., 2., 4., 7.],
        ];
        let rows: Vec<Vec<f64>> = sf.iter().map(|r| r.to_vec()).collect();
        assert!((icc_a1(&rows).unwrap() - 0.2898).abs() < 1e-3);
        let same: Vec<Vec<f64>> = [1.0, 3.0, 2.0, 7.0].iter().map(|&x| vec![x, x]).collect();
        assert!((icc_a1(&same).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(icc_a1(&same[..1]), None);
    }

    #[test]
    fn the_six_phases_are_named_in_order() {
        let p = Phases::of(&tug(11.0).phases);
        assert_eq!(p.sit_to_stand.as_ref().unwrap().duration_s, 1.5);
        assert_eq!(p.walk_out.as_ref().unwrap().start, 11.5);
        assert_eq!(p.turn.as_ref().unwrap().duration_s, 1.5);
        assert_eq!(p.walk_back.as_ref().unwrap().start, 16.0);
        assert_eq!(p.turn_to_sit.as_ref().unwrap().start, 19.0);
        assert_eq!(p.sit_down.as_ref().unwrap().end, 21.0);
        // Without the turn before sitting, that phase is null and nothing shifts.
        let mut ph = tug(11.0).phases;
        ph.remove(4);
        let p = Phases::of(&ph);
        assert!(p.turn_to_sit.is_none());
        assert_eq!(p.walk_back.as_ref().unwrap().end, 19.0);
    }

    #[test]
    fn a_result_has_speed_turn_flags_and_the_reference() {
        let mut log = VecDeque::new();
        for i in 0..300 {
            let t = 8.0 + i as f64 * 0.1;
            // The subject (1), out of view for a second; someone else (2) walking through
            // for 2 s.
            let mut people = vec![SeenPerson {
                person: 1,
                present: !(14.6..15.6).contains(&t),
                new_track: false,
                confidence: Some(0.9),
            }];
            if (16.0..18.0).contains(&t) {
                people.push(SeenPerson {
                    person: 2,
                    present: true,
                    new_track: false,
                    confidence: Some(0.5),
                });
            }
            log.push_back(Seen { t, people });
        }
        let r = judge(&tug(13.0), 3.0, &log);
        // 6 m over 3 s + 3 s of walking.
        assert_eq!(r.gait_speed_mps, Some(1.0));
        assert_eq!(r.turn_s, Some(1.5));
        assert!((r.out_of_view_s - 1.0).abs() < 0.11, "{}", r.out_of_view_s);
        // A test without a person id (the primary's, as a landmark file gives) cannot tell
        // who else was there.
        assert_eq!(r.quality.flags, vec!["out_of_view"]);
        assert_eq!(r.quality.mean_confidence, Some(0.9));
        let mut theirs = tug(13.0);
        theirs.person = Some(1);
        let r = judge(&theirs, 3.0, &log);
        assert_eq!(r.quality.flags, vec!["other_person", "out_of_view"]);
        assert_eq!(r.quality.mean_confidence, Some(0.9));
        assert!(r.fall_risk.at_or_above);
        assert!(!judge(&tug(9.0), 3.0, &log).fall_risk.at_or_above);
    }

    #[test]
    fn arming_checks_its_input_and_one_trial_per_camera() {
        let trials = Trials::new(vec!["a".into(), "b".into()]);
        let now = SystemTime::now();
        let arm = |camera: Option<&str>, subject: Option<&str>, walk_m: Option<f64>| {
            trials.arm(
                ArmRequest {
                    camera: camera.map(Into::into),
                    subject: subject.map(Into::into),
                    walk_m,
                },
                now,
            )
        };
        assert!(matches!(arm(None, None, None), Err(TrialError::Invalid(_))));
        assert_eq!(
            arm(Some("x"), None, None),
            Err(TrialError::UnknownCamera("x".into()))
        );
        assert!(matches!(
            arm(Some("a"), Some("Jane Doe"), None),
            Err(TrialError::Invalid(_))
        ));
        assert!(matches!(
            arm(Some("a"), None, Some(0.0)),
            Err(TrialError::Invalid(_))
        ));
        let t = arm(Some("a"), Some("P-017"), None).unwrap();
        assert_eq!((t.walk_m, t.status), (3.0, Status::Armed));
        assert!(matches!(
            arm(Some("a"), None, None),
            Err(TrialError::AlreadyArmed { .. })
        ));
        assert!(arm(Some("b"), None, Some(4.0)).is_ok());
        assert_eq!(
            trials.stopwatch(&t.id, 10.0),
            Err(TrialError::NotCompleted(t.id.clone()))
        );
        assert_eq!(trials.list().len(), 2);
        trials.remove(&t.id).unwrap();
        assert!(arm(Some("a"), None, None).is_ok());
    }

    #[test]
    fn agreement_is_bland_altman_and_icc() {
        let pairs = [(10.0, 9.0), (12.0, 10.0), (14.0, 11.0)]
            .iter()
            .enumerate()
            .map(|(i, &(a, s))| Pair {
                id: i.to_string(),
                activityd_s: a,
                stopwatch_s: s,
            })
            .collect();
        let a = Agreement::of(pairs);
        assert_eq!((a.n, a.bias_s, a.sd_s), (3, Some(2.0), Some(1.0)));
        assert_eq!(a.loa_high_s, Some(3.96));
        assert!(a.icc_a1.unwrap() < 1.0);
        assert_eq!(Agreement::of(vec![]).bias_s, None);
    }
}
