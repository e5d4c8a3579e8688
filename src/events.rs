//! Events: what an analysed frame means to the outside world, worked out once and read by
//! every output (MQTT, metrics, the log, the HTTP stream).
//!
//! Per frame, the classifier's [`Step`] becomes the camera's [`State`] (the activity now, and
//! whether someone is in view) and a list of [`Event`]s: an activity started (dated back to
//! when it began) or ended, nobody is in view any more, a Timed Up and Go test completed.
//! Times are camera time (seconds on the source's timeline) and, for every event, the
//! wall-clock time of the moment it names ([`Clock`] turns one into the other).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::classify::{Change, Finished, Label, Segment, Step, TugResult};
use crate::zones::ZoneEvent;

/// A frame's two clocks: its camera time and the wall-clock time it was captured.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub t: f64,
    pub wall: SystemTime,
}

impl Clock {
    /// Unix time (s, to the millisecond) of camera time `t`.
    pub fn wall_at(&self, t: f64) -> f64 {
        let offset = Duration::from_secs_f64((self.t - t).abs());
        let w = if t <= self.t {
            self.wall.checked_sub(offset)
        } else {
            self.wall.checked_add(offset)
        };
        unix(w.unwrap_or(self.wall))
    }

    /// Unix time of the frame itself.
    pub fn wall_now(&self) -> f64 {
        unix(self.wall)
    }
}

/// Unix seconds, rounded to the millisecond.
pub fn unix(t: SystemTime) -> f64 {
    let s = t
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    round3(s)
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// An activity is reported from `start` on (dated back to when it began).
    Started {
        activity: String,
        start: f64,
        /// The activity's probability when it was decided.
        confidence: f32,
    },
    /// An activity's segment ended.
    Ended(Segment),
    /// Nobody has been in view since `at`.
    NobodyInView { at: f64 },
    /// A Timed Up and Go test was completed.
    Tug(TugResult),
    /// Someone entered or left a zone.
    Zone(ZoneEvent),
}

/// One event and the wall-clock time of the moment it names (a start, an end, a test's end).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    /// Unix seconds.
    pub ts: f64,
    /// Whose event it is (the tracker's person id); `None` for the camera's own events.
    pub person: Option<u32>,
}

/// A camera's state after a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// A class name, `uncertain` or `no_person`.
    pub activity: String,
    pub confidence: f32,
    pub person_present: bool,
    /// The instant (camera time) the activity and confidence describe.
    pub at: f64,
}

/// The camera's state after one classified frame.
pub fn state_of(step: &Step) -> State {
    let f = &step.frame;
    State {
        activity: f.activity.clone(),
        confidence: f.confidence,
        person_present: f.person,
        at: f.at,
    }
}

/// The events of one classified frame, marked as `person`'s.
pub fn events_of(step: &Step, person: Option<u32>, clock: Clock) -> Vec<Event> {
    let f = &step.frame;
    let mut events = Vec::new();
    for c in &step.changes {
        let (kind, at) = match c {
            // A start is always the label the frame now carries.
            Change::Started {
                label: Label::Class(_),
                at,
            } => (
                EventKind::Started {
                    activity: f.activity.clone(),
                    start: *at,
                    confidence: f.confidence,
                },
                *at,
            ),
            Change::Started {
                label: Label::NoPerson,
                at,
            } => (EventKind::NobodyInView { at: *at }, *at),
            Change::Started { .. } => continue,
            Change::Ended(seg) => (EventKind::Ended(seg.clone()), seg.end),
        };
        events.push(Event {
            kind,
            ts: clock.wall_at(at),
            person,
        });
    }
    if let Some(t) = &step.tug {
        events.push(Event {
            kind: EventKind::Tug(t.clone()),
            ts: clock.wall_at(t.end),
            person,
        });
    }
    events
}

/// The state and events of a source's end (see `Classifier::finish`): the segments it ended,
/// the tests they completed, and the state of the last decision.
pub fn of_finished(fin: &Finished, clock: Clock) -> (Option<State>, Vec<Event>) {
    let mut events: Vec<Event> = fin
        .ended
        .iter()
        .map(|seg| Event {
            kind: EventKind::Ended(seg.clone()),
            ts: clock.wall_at(seg.end),
            person: None,
        })
        .collect();
    events.extend(fin.tugs.iter().map(|t| Event {
        kind: EventKind::Tug(t.clone()),
        ts: clock.wall_at(t.end),
        person: None,
    }));
    let state = fin.decisions.last().map(|f| State {
        activity: f.activity.clone(),
        confidence: f.confidence,
        person_present: f.person,
        at: f.at,
    });
    (state, events)
}

/// The events of one frame with several people: each person's (`(id, step, in view)`),
/// marked with their id, and the classifiers' last decisions for people forgotten at this
/// frame (`gone`). A person leaving the view is no event of its own: "nobody in view" is
/// reported only when nobody else is in view either.
pub fn of_people<'a>(
    people: impl IntoIterator<Item = (u32, &'a Step, bool)>,
    gone: &[(u32, Finished)],
    clock: Clock,
) -> Vec<Event> {
    let people: Vec<(u32, &Step, bool)> = people.into_iter().collect();
    let anyone = people.iter().any(|p| p.2);
    let mut events = Vec::new();
    for (id, step, _) in &people {
        events.extend(
            events_of(step, Some(*id), clock)
                .into_iter()
                .filter(|e| !(anyone && matches!(e.kind, EventKind::NobodyInView { .. }))),
        );
    }
    for (id, fin) in gone {
        let (_, evs) = of_finished(fin, clock);
        events.extend(evs.into_iter().map(|e| Event {
            person: Some(*id),
            ..e
        }));
    }
    events
}

/// Zone changes as events (each names its person).
pub fn of_zones(zone_events: &[ZoneEvent], clock: Clock) -> Vec<Event> {
    zone_events
        .iter()
        .map(|z| Event {
            kind: EventKind::Zone(z.clone()),
            ts: clock.wall_at(z.at),
            person: Some(z.person),
        })
        .collect()
}

/// The state and events of a source's end with several people: everyone's (marked with
/// their id), and the state of `primary`'s last decision.
pub fn of_finished_people(
    people: &[(u32, Finished)],
    primary: Option<u32>,
    clock: Clock,
) -> (Option<State>, Vec<Event>) {
    let mut state = None;
    let mut events = Vec::new();
    for (id, fin) in people {
        let (st, evs) = of_finished(fin, clock);
        if Some(*id) == primary {
            state = st;
        }
        events.extend(evs.into_iter().map(|e| Event {
            person: Some(*id),
            ..e
        }));
    }
    (state, events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::FrameActivity;

    fn step(changes: Vec<Change>) -> Step {
        Step {
            frame: FrameActivity {
                at: 8.85,
                label: Label::Class(1),
                activity: "turn".into(),
                confidence: 0.9,
                probabilities: vec![0.1, 0.9],
                person: true,
            },
            changes,
            tug: None,
        }
    }

    #[test]
    fn events_carry_the_wall_time_of_the_moment_they_name() {
        let clock = Clock {
            t: 10.0,
            wall: UNIX_EPOCH + Duration::from_secs(1000),
        };
        let seg = Segment {
            class: 0,
            activity: "walk_toward".into(),
            start: 5.0,
            end: 8.5,
            confidence: 0.8,
        };
        let s = step(vec![
            Change::Ended(seg.clone()),
            Change::Started {
                label: Label::Class(1),
                at: 8.5,
            },
        ]);
        let (state, events) = (state_of(&s), events_of(&s, Some(3), clock));
        assert!(events.iter().all(|e| e.person == Some(3)));
        assert_eq!(state.activity, "turn");
        assert_eq!(state.at, 8.85);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].kind, EventKind::Ended(seg));
        assert_eq!(events[0].ts, 998.5);
        assert_eq!(
            events[1].kind,
            EventKind::Started {
                activity: "turn".into(),
                start: 8.5,
                confidence: 0.9
            }
        );
        // `uncertain` starting is no event; nobody in view is.
        let events = events_of(
            &step(vec![
                Change::Started {
                    label: Label::Uncertain,
                    at: 9.0,
                },
                Change::Started {
                    label: Label::NoPerson,
                    at: 9.5,
                },
            ]),
            None,
            clock,
        );
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, EventKind::NobodyInView { at: 9.5 });
        assert_eq!(clock.wall_at(10.5), 1000.5);
    }
}
