//! The live view behind the web page: each camera's latest frame (its landmarks, activity
//! and presence), the last minutes of segments, recent events and tests, kept from the
//! analyses; and the messages the read-only WebSocket `/live` sends to every open page.
//!
//! Landmarks only: no pixel of video is kept or sent. With no page open, frames cost a
//! mutex and a few copies; their JSON is made only while someone listens.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::trials::Trial;
use crate::classify::Segment;
use crate::events::{EventKind, State};
use crate::landmarks::{NUM_LANDMARKS, Point};
use crate::pipeline::{Analyses, Analysis};

/// Camera seconds of segments kept for the timeline.
pub const WINDOW_S: f64 = 600.0;
/// Events and tests kept per camera.
const EVENTS_KEPT: usize = 50;
const TUGS_KEPT: usize = 10;

/// One message for the pages: which camera it is about (none for trials) and its JSON text.
#[derive(Debug, Clone)]
pub struct LiveMessage {
    pub camera: Option<Arc<str>>,
    pub text: String,
}

#[derive(Debug, Default)]
struct CameraView {
    width: u32,
    height: u32,
    t: f64,
    state: Option<State>,
    landmarks: Option<[Point; NUM_LANDMARKS]>,
    segments: VecDeque<Segment>,
    current: Option<OpenSegment>,
    events: VecDeque<Value>,
    tugs: VecDeque<Value>,
}

/// The timeline's segment that has started and not yet ended.
#[derive(Debug)]
struct OpenSegment {
    activity: String,
    start: f64,
    /// Whose it is (the primary person's when it started).
    person: Option<u32>,
}

/// Every camera's live view, and the pages' message stream.
pub struct Live {
    classes: Vec<String>,
    cameras: Mutex<BTreeMap<String, CameraView>>,
    tx: broadcast::Sender<Arc<LiveMessage>>,
}

fn r4(v: f32) -> f64 {
    (v as f64 * 1e4).round() / 1e4
}
fn r3(v: f64) -> f64 {
    (v * 1e3).round() / 1e3
}

/// `[[x, y, visibility] × 33]`, normalised to the frame.
fn landmark_rows(lm: &[Point; NUM_LANDMARKS]) -> Value {
    Value::Array(
        lm.iter()
            .map(|p| json!([r4(p.x), r4(p.y), r4(p.visibility)]))
            .collect(),
    )
}

/// Times and confidences to the millisecond / thousandth, as every output rounds them.
fn rounded(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        for k in [
            "start",
            "end",
            "at",
            "confidence",
            "seat_contact",
            "settled",
        ] {
            if let Some(x) = m.get(k).and_then(Value::as_f64) {
                m.insert(k.into(), json!(r3(x)));
            }
        }
    }
    v
}

/// An event as the page reads it: its kind's fields and `ts`.
fn event_json(kind: &EventKind, ts: f64, person: Option<u32>) -> Value {
    let mut v = rounded(serde_json::to_value(kind).unwrap_or_default());
    v["ts"] = json!(ts);
    if let Some(id) = person {
        v["person"] = json!(id);
    }
    v
}

impl Live {
    pub fn new(cameras: &[String], classes: Vec<String>) -> Live {
        Live {
            classes,
            cameras: Mutex::new(
                cameras
                    .iter()
                    .map(|c| (c.clone(), CameraView::default()))
                    .collect(),
            ),
            // A page that falls this far behind skips frames (see `/live`).
            tx: broadcast::channel(64).0,
        }
    }

    /// The messages from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveMessage>> {
        self.tx.subscribe()
    }

    fn send(&self, camera: Option<Arc<str>>, v: Value) {
        let _ = self.tx.send(Arc::new(LiveMessage {
            camera,
            text: v.to_string(),
        }));
    }

    /// Takes one analysis into its camera's view, and tells the open pages.
    pub fn on_analysis(&self, a: &Analysis) {
        let listening = self.tx.receiver_count() > 0;
        let mut messages = Vec::new();
        {
            let mut cams = self.cameras.lock().unwrap_or_else(|e| e.into_inner());
            let view = cams.entry(a.camera.to_string()).or_default();
            if !a.end_of_source {
                (view.width, view.height, view.t) = (a.width, a.height, a.t);
                view.landmarks = a.pose().map(|p| p.landmarks);
            }
            if let Some(s) = &a.state {
                view.state = Some(s.clone());
            }
            for e in &a.events {
                // The timeline and the current activity follow the primary person; the
                // segment open when someone stopped being the primary still ends on it.
                let primary = e.person.is_none() || e.person == a.primary;
                let open_ends = matches!(e.kind, EventKind::Ended(_))
                    && view.current.as_ref().is_some_and(|c| c.person == e.person);
                match &e.kind {
                    _ if !(primary || open_ends)
                        && matches!(e.kind, EventKind::Started { .. } | EventKind::Ended(_)) => {}
                    EventKind::Started {
                        activity, start, ..
                    } => {
                        view.current = Some(OpenSegment {
                            activity: activity.clone(),
                            start: *start,
                            person: e.person,
                        })
                    }
                    EventKind::Ended(s) => {
                        view.segments.push_back(s.clone());
                        if view.current.as_ref().is_some_and(|c| c.start <= s.start) {
                            view.current = None;
                        }
                    }
                    EventKind::NobodyInView { .. } => view.current = None,
                    EventKind::Zone(_) => {}
                    EventKind::Tug(_) => {
                        view.tugs.push_back(event_json(&e.kind, e.ts, e.person));
                        if view.tugs.len() > TUGS_KEPT {
                            view.tugs.pop_front();
                        }
                    }
                }
                let ev = event_json(&e.kind, e.ts, e.person);
                if listening {
                    messages.push(json!({"type": "event", "camera": &*a.camera, "event": ev}));
                }
                view.events.push_back(ev);
                if view.events.len() > EVENTS_KEPT {
                    view.events.pop_front();
                }
            }
            let horizon = view.t - WINDOW_S;
            while view.segments.front().is_some_and(|s| s.end < horizon) {
                view.segments.pop_front();
            }
        }
        if !listening {
            return;
        }
        if !a.end_of_source {
            let (activity, confidence) = match &a.state {
                Some(s) => (json!(s.activity), json!(r3(s.confidence as f64))),
                None => (Value::Null, Value::Null),
            };
            let frame = json!({
                "type": "frame",
                "camera": &*a.camera,
                "t": r3(a.t),
                "width": a.width,
                "height": a.height,
                "landmarks": a.pose().map(|p| landmark_rows(&p.landmarks)),
                "person": a.primary,
                // Everyone else in view (their skeletons are drawn too).
                "others": a
                    .people
                    .iter()
                    .filter(|p| Some(p.person) != a.primary)
                    .filter_map(|p| p.pose.as_ref().map(|q| json!({
                        "person": p.person,
                        "landmarks": landmark_rows(&q.landmarks),
                    })))
                    .collect::<Vec<_>>(),
                "activity": activity,
                "confidence": confidence,
                "person_present": a.state.as_ref().map_or(a.pose().is_some(), |s| s.person_present),
            });
            self.send(Some(a.camera.clone()), frame);
        }
        for m in messages {
            self.send(Some(a.camera.clone()), m);
        }
    }

    /// A trial changed (armed, completed, timed by a stopwatch).
    pub fn on_trial(&self, t: &Trial) {
        if self.tx.receiver_count() > 0 {
            self.send(None, json!({"type": "trial", "trial": t}));
        }
    }

    /// What `/recent` serves: every camera's view.
    pub fn recent(&self) -> Value {
        let cams = self.cameras.lock().unwrap_or_else(|e| e.into_inner());
        let cameras: Vec<Value> = cams
            .iter()
            .map(|(id, v)| {
                json!({
                    "id": id,
                    "width": v.width,
                    "height": v.height,
                    "t": r3(v.t),
                    "state": v.state.as_ref().map(|s| json!({
                        "activity": s.activity,
                        "confidence": r3(s.confidence as f64),
                        "person_present": s.person_present,
                        "at": r3(s.at),
                    })),
                    "landmarks": v.landmarks.as_ref().map(landmark_rows),
                    "segments": v.segments.iter().map(|s| rounded(serde_json::to_value(s).unwrap_or_default())).collect::<Vec<_>>(),
                    "current": v.current.as_ref().map(|c| json!({"activity": c.activity, "start": r3(c.start)})),
                    "events": v.events,
                    "tugs": v.tugs,
                })
            })
            .collect();
        json!({"window_s": WINDOW_S, "classes": self.classes, "cameras": cameras})
    }

    /// Follows the analyses and the trials until shutdown.
    pub async fn run(
        self: Arc<Self>,
        mut analyses: Analyses,
        mut trials: broadcast::Receiver<Arc<Trial>>,
    ) {
        loop {
            tokio::select! {
                a = analyses.next() => match a {
                    Some(a) => self.on_analysis(&a),
                    None => return,
                },
                t = trials.recv() => match t {
                    Ok(t) => self.on_trial(&t),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => {
                        // No more trials: follow the analyses alone.
                        while let Some(a) = analyses.next().await {
                            self.on_analysis(&a);
                        }
                        return;
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::Frame;

    fn seg(activity: &str, start: f64, end: f64) -> Segment {
        Segment {
            class: 0,
            activity: activity.into(),
            start,
            end,
            confidence: 0.9,
        }
    }

    /// One frame's analysis on camera `c`: its primary person and events `(person, kind)`.
    fn analysis(t: f64, primary: u32, events: Vec<(u32, EventKind)>) -> Analysis {
        let mut a = Analysis::new("c".into(), &Frame::from_landmarks(640, 480, None, t));
        a.primary = Some(primary);
        a.events = events
            .into_iter()
            .map(|(p, kind)| crate::events::Event {
                kind,
                ts: 0.0,
                person: Some(p),
            })
            .collect();
        a
    }

    fn started(activity: &str, start: f64) -> EventKind {
        EventKind::Started {
            activity: activity.into(),
            start,
            confidence: 0.9,
        }
    }

    /// The timeline follows the primary person across a hand-over: a bystander's segments
    /// that end after someone else became the primary are left out, and the segment open
    /// when the primary changed back still ends on the timeline.
    #[test]
    fn the_timeline_follows_the_primary_person_across_hand_overs() {
        let live = Live::new(&["c".to_string()], vec![]);
        // Person 1 (seated) is the primary; person 2 rises and becomes it.
        live.on_analysis(&analysis(1.0, 1, vec![(1, started("sitting", 0.0))]));
        live.on_analysis(&analysis(
            2.0,
            2,
            vec![
                (2, EventKind::Ended(seg("sitting", 0.5, 2.0))),
                (2, started("walk_away", 2.0)),
            ],
        ));
        // Person 1's segment ends while person 2 is the primary: not theirs to show.
        live.on_analysis(&analysis(
            3.0,
            2,
            vec![
                (1, EventKind::Ended(seg("sitting", 0.0, 3.0))),
                (1, started("still", 3.0)),
            ],
        ));
        // Person 2 leaves the view (person 1 is the primary again); their walk still ends.
        live.on_analysis(&analysis(
            5.0,
            1,
            vec![(2, EventKind::Ended(seg("walk_away", 2.0, 4.5)))],
        ));
        let r = live.recent();
        let cam = &r["cameras"][0];
        let shown: Vec<(&str, f64)> = cam["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["activity"].as_str().unwrap(),
                    s["start"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(shown, vec![("sitting", 0.5), ("walk_away", 2.0)]);
        assert!(cam["current"].is_null(), "{cam}");
    }

    #[test]
    fn events_are_flat_objects_with_their_time() {
        let v = event_json(
            &EventKind::Ended(Segment {
                class: 0,
                activity: "turn".into(),
                start: 1.0,
                end: 2.5,
                confidence: 0.8,
            }),
            100.0,
            None,
        );
        assert_eq!(v["kind"], "ended");
        assert_eq!(v["activity"], "turn");
        assert_eq!(v["end"], 2.5);
        assert_eq!(v["ts"], 100.0);
        let v = event_json(
            &EventKind::Started {
                activity: "walk_away".into(),
                start: 3.0,
                confidence: 0.9,
            },
            5.0,
            Some(2),
        );
        assert_eq!(
            (v["kind"].as_str(), v["start"].as_f64()),
            (Some("started"), Some(3.0))
        );
    }
}
