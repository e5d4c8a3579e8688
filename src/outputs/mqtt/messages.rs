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
}

/// Turns analyses into messages: state on change, events for segment starts and ends, tests.
pub struct Translator {
    topics: Topics,
    last_state: HashMap<String, StateKey>,
}

impl Translator {
    pub fn new(topics: Topics) -> Translator {
        Translator {
            topics,
            last_state: HashMap::new(),
        }
    }

    /// The retained state message, when the activity or presence changed.
    fn state_message(&mut self, a: &Analysis, st: &crate::events::State) -> Option<Message> {
        let cam = &*a.camera;
        let key = StateKey {
            activity: st.activity.clone(),
            person: st.person_present,
        };
        if self.last_state.get(cam) == Some(&key) {
            return None;
        }
        self.last_state.insert(cam.to_string(), key);
        Some(Message {
            topic: self.topics.state(cam),
            payload: json!({
                "activity": st.activity,
                "confidence": round3(st.confidence as f64),
                "person_present": st.person_present,
                "t": round3(a.t),
                "at": round3(st.at),
                "ts": unix(a.wall),
            })
            .to_string(),
            qos: QoS::AtLeastOnce,
            retain: true,
        })
    }

    /// The retained state message when it changed, and the queued messages (events, tests).
    pub fn translate(&mut self, a: &Analysis) -> (Option<Message>, Vec<Message>) {
        let cam = &*a.camera;
        let state = a.state.as_ref().and_then(|st| self.state_message(a, st));
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
                EventKind::NobodyInView { .. } => continue,
            };
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
