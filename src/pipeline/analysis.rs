//! The worker's contract with the rest of the daemon: the [`Analysis`] of one frame, the
//! [`Stage`]s that fill it in, and the broadcast every output reads analyses from.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::broadcast;

use crate::classify::FrameActivity;
use crate::events::{Clock, Event, State};
use crate::frame::Frame;
use crate::pose::{Pose, TrackerCounters};
use crate::shutdown::Shutdown;
use crate::timings::Timings;
use crate::zones::Occupancy;

/// Everything the stages found out about one frame; what outputs receive.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub camera: Arc<str>,
    pub seq: u64,
    /// Camera timeline, seconds.
    pub t: f64,
    pub wall: SystemTime,
    pub width: u32,
    pub height: u32,
    /// Capture → worker hand-off latency.
    pub handoff: Duration,
    /// Everyone tracked (in view or lost a moment ago), by id.
    pub people: Vec<PersonAnalysis>,
    /// Whose activity [`Analysis::activity`] and [`Analysis::state`] describe.
    pub primary: Option<u32>,
    /// The pose tracker's running totals.
    pub counters: TrackerCounters,
    /// Who is in each of the camera's zones after this frame.
    pub occupancy: Vec<Occupancy>,
    /// The activity decided at this frame (about the instant [`FrameActivity::at`]).
    pub activity: Option<FrameActivity>,
    /// The camera's state after this frame, when it was classified.
    pub state: Option<State>,
    /// What happened at this frame (see [`crate::events`]).
    pub events: Vec<Event>,
    pub timings: Timings,
    /// Not a frame: the source ended after the frame at `t`, and this holds what was still
    /// pending (see [`Analysis::closing`]).
    pub end_of_source: bool,
}

impl Analysis {
    pub fn new(camera: Arc<str>, frame: &Frame) -> Analysis {
        Analysis {
            camera,
            seq: frame.seq,
            t: frame.t,
            wall: frame.wall,
            width: frame.width,
            height: frame.height,
            handoff: frame.captured_at.elapsed(),
            people: Vec::new(),
            primary: None,
            counters: TrackerCounters::default(),
            occupancy: Vec::new(),
            activity: None,
            state: None,
            events: Vec::new(),
            timings: Timings::default(),
            end_of_source: false,
        }
    }

    /// A record for the moment after `a`'s frame, with no results yet: where a source that
    /// ended has its last moments decided ([`Stage::finish`]).
    pub fn closing(a: &Analysis) -> Analysis {
        Analysis {
            camera: a.camera.clone(),
            seq: a.seq,
            t: a.t,
            wall: a.wall,
            width: a.width,
            height: a.height,
            handoff: Duration::ZERO,
            people: Vec::new(),
            primary: None,
            counters: TrackerCounters::default(),
            occupancy: Vec::new(),
            activity: None,
            state: None,
            events: Vec::new(),
            timings: Timings::default(),
            end_of_source: true,
        }
    }

    /// The frame's camera and wall-clock times.
    pub fn clock(&self) -> Clock {
        Clock {
            t: self.t,
            wall: self.wall,
        }
    }
}

/// One person in one analysed frame.
#[derive(Debug, Clone)]
pub struct PersonAnalysis {
    pub person: u32,
    /// Their pose, when they are in view in this frame.
    pub pose: Option<Pose>,
    /// Their activity decided at this frame.
    pub activity: FrameActivity,
    /// Camera times they were first and last seen.
    pub first_seen: f64,
    pub last_seen: f64,
}

impl From<super::analyser::PersonStep> for PersonAnalysis {
    /// A person's part of a frame (see [`PersonStep::in_view_activity`]).
    fn from(p: super::analyser::PersonStep) -> PersonAnalysis {
        let mut activity = p.step.frame;
        if let Some(label) = p.pose.as_ref().and(in_view_label(activity.label)) {
            activity.label = label;
            activity.activity = "uncertain".into();
        }
        PersonAnalysis {
            person: p.person,
            pose: p.pose,
            activity,
            first_seen: p.first_seen,
            last_seen: p.last_seen,
        }
    }
}

/// Someone in view whose classifier has not yet seen them long enough to say they are present
/// (the first 0.2 s) is `uncertain`, not `no_person`: the label to report instead, if any.
pub(super) fn in_view_label(label: crate::classify::Label) -> Option<crate::classify::Label> {
    (label == crate::classify::Label::NoPerson).then_some(crate::classify::Label::Uncertain)
}

impl Analysis {
    /// The primary person's pose, when they are in view (see [`crate::pipeline::Analyser`]).
    pub fn pose(&self) -> Option<&Pose> {
        self.people
            .iter()
            .find(|p| Some(p.person) == self.primary)
            .and_then(|p| p.pose.as_ref())
    }
}

/// A stage failed on one frame; the worker logs it, counts it and goes on with the next frame.
#[derive(Debug, thiserror::Error)]
#[error("{stage}: {message}")]
pub struct StageError {
    pub stage: &'static str,
    pub message: String,
}

/// One inference step run on every analysed frame.
pub trait Stage: Send {
    fn name(&self) -> &'static str;
    fn process(&mut self, frame: &Frame, analysis: &mut Analysis) -> Result<(), StageError>;

    /// The source ended (a file without `loop`): finish what is pending into `analysis`, a
    /// record dated by the last frame. Nothing by default.
    fn finish(&mut self, _analysis: &mut Analysis) {}
}

/// Where workers send each analysis.
pub type AnalysisSender = broadcast::Sender<Arc<Analysis>>;

/// An output's subscription to the analyses: the one receive loop every output uses.
pub struct Analyses {
    rx: broadcast::Receiver<Arc<Analysis>>,
    shutdown: Shutdown,
    /// Analyses this output missed because it fell behind.
    pub missed: u64,
}

impl Analyses {
    /// Subscribes now: analyses sent from here on are received.
    pub fn subscribe(tx: &AnalysisSender, shutdown: Shutdown) -> Analyses {
        Analyses {
            rx: tx.subscribe(),
            shutdown,
            missed: 0,
        }
    }

    /// The next analysis, or `None` at shutdown (or when every worker is gone). An output
    /// that fell behind skips what it missed (counted in [`Analyses::missed`]) and goes on.
    pub async fn next(&mut self) -> Option<Arc<Analysis>> {
        loop {
            tokio::select! {
                a = self.rx.recv() => match a {
                    Ok(a) => return Some(a),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        self.missed += n;
                        tracing::warn!(missed = n, "an output fell behind the cameras");
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                _ = self.shutdown.wait() => return None,
            }
        }
    }
}
