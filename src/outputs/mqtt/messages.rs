//! What the camera's state and events become on MQTT: the retained state message (on every
//! change of activity or presence) and the queued event and test messages.

use std::collections::HashMap;

use rumqttc::QoS;
use serde_json::json;

use super::queue::Message;
use super::topics::Topics;
use crate::events::{EventKind, unix};
use crate::pipeline::Analysis;

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Per camera, what was last reported as its state.
#[derive(Debug, Clone, PartialEq)]
struct StateKey {
    activity: String,
    person: bool,
    /// Each person in view and their activity.
    people: Vec<(u32, String)>,
}

impl StateKey {
    /// Whether this is what `st` and the people in view say now (compared without building
    /// a key: this runs at every frame).
    fn is(&self, st: &crate::events::State, people: &[&crate::pipeline::PersonAnalysis]) -> bool {
        self.activity == st.activity
            && self.person == st.person_present
            && self.people.len() == people.len()
            && self
                .people
                .iter()
                .zip(people)
                .all(|((id, act), p)| *id == p.person && *act == p.activity.activity)
    }
}

/// Turns analyses into messages: state on change, events for segment starts and ends, tests.
pub struct Translator {
    topics: Topics,
    last_state: HashMap<String, StateKey>,
    /// Per (camera, zone), who was last reported inside.
    last_zones: HashMap<(String, String), Vec<u32>>,
}

impl Translator {
    pub fn new(topics: Topics) -> Translator {
        Translator {
            topics,
            last_state: HashMap::new(),
            last_zones: HashMap::new(),
        }
    }

    /// The retained state message, when the activity or presence changed.
    fn state_message(&mut self, a: &Analysis, st: &crate::events::State) -> Option<Message> {
        let cam = &*a.camera;
        let people: Vec<&crate::pipeline::PersonAnalysis> =
            a.people.iter().filter(|p| p.pose.is_some()).collect();
        if self
            .last_state
            .get(cam)
            .is_some_and(|last| last.is(st, &people))
        {
            return None;
        }
        let key = StateKey {
            activity: st.activity.clone(),
            person: st.person_present,
            people: people
                .iter()
                .map(|p| (p.person, p.activity.activity.clone()))
                .collect(),
        };
        self.last_state.insert(cam.to_string(), key);
        Some(Message {
            topic: self.topics.state(cam),
            payload: json!({
                "activity": st.activity,
                "confidence": round3(st.confidence as f64),
                "person_present": st.person_present,
                "people_count": people.len(),
                "people": people
                    .iter()
                    .map(|p| json!({
                        "person": p.person,
                        "activity": p.activity.activity,
                        "confidence": round3(p.activity.confidence as f64),
                    }))
                    .collect::<Vec<_>>(),
                "t": round3(a.t),
                "at": round3(st.at),
                "ts": unix(a.wall),
            })
            .to_string(),
            qos: QoS::AtLeastOnce,
            retain: true,
        })
    }

    /// The retained occupancy message of each zone whose occupants changed.
    fn zone_messages(&mut self, a: &Analysis) -> Vec<Message> {
        let cam = &*a.camera;
        let mut out = Vec::new();
        for z in &a.occupancy {
            let key = (cam.to_string(), z.zone.clone());
            if self.last_zones.get(&key) == Some(&z.people) {
                continue;
            }
            self.last_zones.insert(key, z.people.clone());
            out.push(Message {
                topic: self.topics.zone(cam, &z.zone),
                payload: json!({
                    "zone": z.zone,
                    "occupied": !z.people.is_empty(),
                    "count": z.people.len(),
                    "people": z.people,
                    "ts": unix(a.wall),
                })
                .to_string(),
                qos: QoS::AtLeastOnce,
                retain: true,
            });
        }
        out
    }

    /// The retained state messages that changed (the camera's state, zones' occupancy), and
    /// the queued messages (events, tests, zone changes).
    pub fn translate(&mut self, a: &Analysis) -> (Vec<Message>, Vec<Message>) {
        let cam = &*a.camera;
        let mut state: Vec<Message> = a
            .state
            .as_ref()
            .and_then(|st| self.state_message(a, st))
            .into_iter()
            .collect();
        state.extend(self.zone_messages(a));
        let mut queued = Vec::new();
        for e in &a.events {
            let (topic, payload) = match &e.kind {
                EventKind::Started {
                    activity,
                    start,
                    confidence,
                } => (
                    self.topics.event(cam),
                    json!({
                        "camera": cam,
                        "activity": activity,
                        "phase": "start",
                        "start": round3(*start),
                        "end": null,
                        "confidence": round3(*confidence as f64),
                        "ts": e.ts,
                    }),
                ),
                EventKind::Ended(seg) => (
                    self.topics.event(cam),
                    json!({
                        "camera": cam,
                        "activity": seg.activity,
                        "phase": "end",
                        "start": round3(seg.start),
                        "end": round3(seg.end),
                        "confidence": round3(seg.confidence as f64),
                        "ts": e.ts,
                    }),
                ),
                EventKind::Tug(tug) => {
                    let mut v = serde_json::to_value(tug).unwrap_or_default();
                    v["camera"] = json!(cam);
                    v["ts"] = json!(e.ts);
                    (self.topics.tug(cam), v)
                }
                EventKind::Zone(z) => (
                    self.topics.zone_event(cam, &z.zone),
                    json!({
                        "camera": cam,
                        "zone": z.zone,
                        "phase": z.phase,
                        "at": round3(z.at),
                        "dwell_s": z.dwell_s,
                        "ts": e.ts,
                    }),
                ),
                EventKind::NobodyInView { .. } => continue,
            };
            let mut payload = payload;
            if let Some(id) = e.person {
                payload["person"] = json!(id);
            }
            queued.push(Message {
                topic,
                payload: payload.to_string(),
                qos: QoS::AtLeastOnce,
                retain: false,
            });
        }
        (state, queued)
    }
}
