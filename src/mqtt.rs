//! MQTT output: what the cameras see, for home-automation systems (topics under
//! `<base_topic>/<device_id>`, see `interfaces.md`).
//!
//! * `availability`: `online` / `offline`, retained; `offline` is also the last will.
//! * `<camera>/state`: retained, on every change of activity or presence.
//! * `<camera>/event`: QoS 1, each activity segment's start and end.
//! * `<camera>/tug`: QoS 1, each completed Timed Up and Go test.
//! * `stats`: every `stats_interval_s`, frame rates and inference times named like Frigate's.
//! * Home Assistant device discovery, re-sent when `<discovery_prefix>/status` says `online`.
//!
//! Events and test results go through a bounded in-memory queue (oldest dropped and counted
//! when full): one is sent at a time and leaves the queue only when the broker has
//! acknowledged it, so a broker that goes away loses nothing within the bound and gets
//! everything in order when it returns. State is coalesced: only the latest per camera is
//! (re)sent. Nothing is written to disk.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rumqttc::{
    AsyncClient, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS, Transport,
};
use serde_json::json;
use tokio::sync::broadcast;

use crate::capture::Backoff;
use crate::classify::{Change, Label};
use crate::config::{Config, MqttConfig};
use crate::health::{Health, MqttState};
use crate::metrics::Metrics;
use crate::pipeline::Analysis;
use crate::shutdown::Shutdown;

/// One message to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub topic: String,
    pub payload: String,
    pub qos: QoS,
    pub retain: bool,
}

/// Why MQTT could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    #[error("cannot read mqtt.ca_file {path}: {err}")]
    CaFile { path: String, err: std::io::Error },
}

/// Topic names for one device.
#[derive(Debug, Clone)]
pub struct Topics {
    pub base: String,
    pub discovery_prefix: String,
    pub device_id: String,
}

impl Topics {
    pub fn new(cfg: &MqttConfig, device_id: &str) -> Topics {
        Topics {
            base: format!("{}/{}", cfg.base_topic, device_id),
            discovery_prefix: cfg.discovery_prefix.clone(),
            device_id: device_id.to_string(),
        }
    }
    pub fn availability(&self) -> String {
        format!("{}/availability", self.base)
    }
    pub fn state(&self, camera: &str) -> String {
        format!("{}/{camera}/state", self.base)
    }
    pub fn event(&self, camera: &str) -> String {
        format!("{}/{camera}/event", self.base)
    }
    pub fn tug(&self, camera: &str) -> String {
        format!("{}/{camera}/tug", self.base)
    }
    pub fn stats(&self) -> String {
        format!("{}/stats", self.base)
    }
    /// Home Assistant's device discovery topic, if discovery is on.
    pub fn discovery(&self) -> Option<String> {
        (!self.discovery_prefix.is_empty())
            .then(|| format!("{}/device/{}/config", self.discovery_prefix, self.device_id))
    }
    pub fn ha_status(&self) -> Option<String> {
        (!self.discovery_prefix.is_empty()).then(|| format!("{}/status", self.discovery_prefix))
    }
}

fn unix(t: SystemTime) -> f64 {
    let s = t
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    (s * 1000.0).round() / 1000.0
}

/// Wall-clock time of camera time `t`, given a frame seen at camera time `at` and wall `wall`.
fn wall_at(a: &Analysis, t: f64) -> f64 {
    let offset = Duration::from_secs_f64((a.t - t).abs());
    let w = if t <= a.t {
        a.wall.checked_sub(offset)
    } else {
        a.wall.checked_add(offset)
    };
    unix(w.unwrap_or(a.wall))
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The Home Assistant discovery document: one device with, per camera, an event entity for
/// activity segments, a sensor for the current activity, an occupancy binary sensor, and
/// diagnostic sensors for frame rate and inference time.
pub fn discovery_payload(
    topics: &Topics,
    cameras: &[String],
    classes: &[String],
) -> serde_json::Value {
    let dev = &topics.device_id;
    let mut cmps = serde_json::Map::new();
    for cam in cameras {
        let uid = |what: &str| format!("activityd_{dev}_{cam}_{what}");
        cmps.insert(
            uid("event"),
            json!({
                "p": "event",
                "name": format!("{cam} activity event"),
                "unique_id": uid("event"),
                "state_topic": topics.event(cam),
                "event_types": classes,
                "value_template": "{% if value_json.phase == 'start' %}{\"event_type\": \"{{ value_json.activity }}\", \"confidence\": {{ value_json.confidence }}}{% else %}{}{% endif %}",
                "icon": "mdi:run",
            }),
        );
        cmps.insert(
            uid("activity"),
            json!({
                "p": "sensor",
                "name": format!("{cam} activity"),
                "unique_id": uid("activity"),
                "state_topic": topics.state(cam),
                "value_template": "{{ value_json.activity }}",
                "json_attributes_topic": topics.state(cam),
                "device_class": "enum",
                "options": classes.iter().cloned().chain(["uncertain".to_string(), "no_person".to_string()]).collect::<Vec<_>>(),
                "icon": "mdi:human",
            }),
        );
        cmps.insert(
            uid("person"),
            json!({
                "p": "binary_sensor",
                "name": format!("{cam} person"),
                "unique_id": uid("person"),
                "state_topic": topics.state(cam),
                "value_template": "{{ 'ON' if value_json.person_present else 'OFF' }}",
                "device_class": "occupancy",
            }),
        );
        cmps.insert(
            uid("fps"),
            json!({
                "p": "sensor",
                "name": format!("{cam} analysed frame rate"),
                "unique_id": uid("fps"),
                "state_topic": topics.stats(),
                "value_template": format!("{{{{ value_json.cameras['{cam}'].process_fps }}}}"),
                "unit_of_measurement": "fps",
                "state_class": "measurement",
                "entity_category": "diagnostic",
            }),
        );
        cmps.insert(
            uid("inference"),
            json!({
                "p": "sensor",
                "name": format!("{cam} inference time"),
                "unique_id": uid("inference"),
                "state_topic": topics.stats(),
                "value_template": format!("{{{{ value_json.cameras['{cam}'].inference_ms }}}}"),
                "unit_of_measurement": "ms",
                "device_class": "duration",
                "state_class": "measurement",
                "entity_category": "diagnostic",
            }),
        );
    }
    json!({
        "dev": {
            "ids": [format!("activityd_{dev}")],
            "name": format!("activityd {dev}"),
            "mf": "activityd",
            "mdl": "activityd",
            "sw": env!("CARGO_PKG_VERSION"),
        },
        "o": {"name": "activityd", "sw": env!("CARGO_PKG_VERSION")},
        "avty_t": topics.availability(),
        "pl_avail": "online",
        "pl_not_avail": "offline",
        "qos": 1,
        "cmps": cmps,
    })
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

    /// The retained state message when it changed, and the queued messages (events, tests).
    pub fn translate(&mut self, a: &Analysis) -> (Option<Message>, Vec<Message>) {
        let cam = &*a.camera;
        let Some(act) = &a.activity else {
            return (None, vec![]);
        };
        let key = StateKey {
            activity: act.activity.clone(),
            person: act.person,
        };
        let state = if self.last_state.get(cam) != Some(&key) {
            self.last_state.insert(cam.to_string(), key);
            Some(Message {
                topic: self.topics.state(cam),
                payload: json!({
                    "activity": act.activity,
                    "confidence": round3(act.confidence as f64),
                    "person_present": act.person,
                    "t": round3(a.t),
                    "ts": unix(a.wall),
                })
                .to_string(),
                qos: QoS::AtLeastOnce,
                retain: true,
            })
        } else {
            None
        };
        let mut queued = Vec::new();
        for c in &a.changes {
            let payload = match c {
                Change::Started {
                    label: Label::Class(_),
                    at,
                } => json!({
                    "camera": cam,
                    "activity": act.activity,
                    "phase": "start",
                    "start": round3(*at),
                    "end": null,
                    "confidence": round3(act.confidence as f64),
                    "ts": wall_at(a, *at),
                }),
                Change::Ended(seg) => json!({
                    "camera": cam,
                    "activity": seg.activity,
                    "phase": "end",
                    "start": round3(seg.start),
                    "end": round3(seg.end),
                    "confidence": round3(seg.confidence as f64),
                    "ts": wall_at(a, seg.end),
                }),
                Change::Started { .. } => continue,
            };
            queued.push(Message {
                topic: self.topics.event(cam),
                payload: payload.to_string(),
                qos: QoS::AtLeastOnce,
                retain: false,
            });
        }
        if let Some(tug) = &a.tug {
            let mut v = serde_json::to_value(tug).unwrap_or_default();
            v["camera"] = json!(cam);
            v["ts"] = json!(wall_at(a, tug.end));
            queued.push(Message {
                topic: self.topics.tug(cam),
                payload: v.to_string(),
                qos: QoS::AtLeastOnce,
                retain: false,
            });
        }
        (state, queued)
    }
}

/// The bounded queue of messages that must not be lost.
#[derive(Debug)]
pub struct OutQueue {
    items: VecDeque<Message>,
    cap: usize,
    pub dropped: u64,
}

impl OutQueue {
    pub fn new(cap: usize) -> OutQueue {
        OutQueue {
            items: VecDeque::new(),
            cap: cap.max(1),
            dropped: 0,
        }
    }

    /// Adds `m`, dropping the oldest when full (unless it is being sent: `inflight`).
    pub fn push(&mut self, m: Message, inflight: bool) -> bool {
        let mut dropped = false;
        if self.items.len() >= self.cap {
            // The head may be on the wire; drop the next oldest instead.
            let at = usize::from(inflight && self.items.len() > 1);
            self.items.remove(at);
            self.dropped += 1;
            dropped = true;
        }
        self.items.push_back(m);
        dropped
    }

    pub fn front(&self) -> Option<&Message> {
        self.items.front()
    }

    pub fn pop(&mut self) -> Option<Message> {
        self.items.pop_front()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Builds the client options from the configuration.
pub fn options(
    cfg: &MqttConfig,
    device_id: &str,
    topics: &Topics,
) -> Result<MqttOptions, MqttError> {
    let client_id = if cfg.client_id.is_empty() {
        format!("activityd-{device_id}")
    } else {
        cfg.client_id.clone()
    };
    let mut o = MqttOptions::new(client_id, cfg.host.clone(), cfg.port);
    o.set_keep_alive(Duration::from_secs(cfg.keep_alive_s));
    // A new session every time: our own queue re-sends what was not acknowledged.
    o.set_clean_session(true);
    o.set_max_packet_size(256 * 1024, 256 * 1024);
    o.set_last_will(LastWill::new(
        topics.availability(),
        "offline",
        QoS::AtLeastOnce,
        true,
    ));
    if !cfg.username.is_empty() {
        o.set_credentials(cfg.username.clone(), cfg.password.clone());
    }
    if let Some(ca) = &cfg.ca_file {
        let pem = std::fs::read(ca).map_err(|err| MqttError::CaFile {
            path: ca.display().to_string(),
            err,
        })?;
        o.set_transport(Transport::tls(pem, None, None));
    }
    Ok(o)
}

/// What a publish in flight was for, so its acknowledgement can be matched.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sent {
    QueueHead,
    Other,
}

/// The MQTT connection and everything it publishes.
pub struct MqttOutput {
    client: AsyncClient,
    eventloop: EventLoop,
    topics: Topics,
    cameras: Vec<String>,
    classes: Vec<String>,
    queue: OutQueue,
    translator: Translator,
    /// Latest state per camera, re-sent on every (re)connection.
    states: HashMap<String, Message>,
    connected: bool,
    /// Kinds of publishes handed to the client, waiting for their packet id.
    sent: VecDeque<Sent>,
    /// Packet id of the queue head on the wire.
    head_pkid: Option<u16>,
    head_inflight: bool,
    stats_interval: Duration,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    /// Each camera's (frames, skipped, dropped) at the last stats message, and when that was
    /// (the start, before the first): the stats rates are averages since then.
    last_counters: HashMap<String, (u64, u64, u64)>,
    last_stats_at: std::time::Instant,
}

impl MqttOutput {
    pub fn new(
        config: &Config,
        classes: Vec<String>,
        health: Arc<Health>,
        metrics: Arc<Metrics>,
    ) -> Result<MqttOutput, MqttError> {
        let cfg = &config.mqtt;
        let topics = Topics::new(cfg, &config.device_id);
        let (client, eventloop) = AsyncClient::new(options(cfg, &config.device_id, &topics)?, 64);
        Ok(MqttOutput {
            client,
            eventloop,
            translator: Translator::new(topics.clone()),
            topics,
            cameras: config.active_cameras().map(|c| c.id.clone()).collect(),
            classes,
            queue: OutQueue::new(cfg.queue_size),
            states: HashMap::new(),
            connected: false,
            sent: VecDeque::new(),
            head_pkid: None,
            head_inflight: false,
            stats_interval: Duration::from_secs(cfg.stats_interval_s),
            health,
            metrics,
            last_counters: HashMap::new(),
            last_stats_at: std::time::Instant::now(),
        })
    }

    async fn publish(&mut self, m: &Message, kind: Sent) {
        match self
            .client
            .publish(
                m.topic.clone(),
                m.qos,
                m.retain,
                m.payload.clone().into_bytes(),
            )
            .await
        {
            Ok(()) => self.sent.push_back(kind),
            Err(e) => tracing::warn!(error = %e, topic = %m.topic, "MQTT publish failed"),
        }
    }

    /// Sends the queue head if nothing of the queue is on the wire.
    async fn pump(&mut self) {
        if !self.connected || self.head_inflight {
            return;
        }
        if let Some(m) = self.queue.front().cloned() {
            self.head_inflight = true;
            self.publish(&m, Sent::QueueHead).await;
        }
    }

    async fn announce(&mut self) {
        let avail = Message {
            topic: self.topics.availability(),
            payload: "online".into(),
            qos: QoS::AtLeastOnce,
            retain: true,
        };
        self.publish(&avail, Sent::Other).await;
        if let Some(topic) = self.topics.discovery() {
            let m = Message {
                topic,
                payload: discovery_payload(&self.topics, &self.cameras, &self.classes).to_string(),
                qos: QoS::AtLeastOnce,
                retain: true,
            };
            self.publish(&m, Sent::Other).await;
        }
        let states: Vec<Message> = self.states.values().cloned().collect();
        for s in states {
            self.publish(&s, Sent::Other).await;
        }
    }

    fn set_connected(&mut self, c: bool) {
        self.connected = c;
        self.health.set_mqtt(if c {
            MqttState::Connected
        } else {
            MqttState::Disconnected
        });
        if !c {
            // The client starts a clean session: whatever was on the wire is forgotten there,
            // and the queue head will be sent again.
            self.sent.clear();
            self.head_pkid = None;
            self.head_inflight = false;
        }
    }

    fn update_queue_metrics(&self) {
        self.metrics.mqtt_queue_depth.set(self.queue.len() as i64);
    }

    async fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Incoming(Packet::ConnAck(_)) => {
                tracing::info!(broker = %self.topics.base, queued = self.queue.len(), "MQTT connected");
                self.set_connected(true);
                if let Some(t) = self.topics.ha_status()
                    && let Err(e) = self.client.subscribe(t, QoS::AtLeastOnce).await
                {
                    tracing::warn!(error = %e, "cannot subscribe to Home Assistant status");
                }
                self.announce().await;
                self.pump().await;
            }
            Event::Outgoing(Outgoing::Publish(pkid)) => {
                // Publishes go out in the order they were handed over.
                let kind = self.sent.pop_front();
                if kind == Some(Sent::QueueHead) {
                    self.head_pkid = Some(pkid);
                }
            }
            Event::Incoming(Packet::PubAck(ack))
                if self.head_inflight && self.head_pkid == Some(ack.pkid) =>
            {
                self.queue.pop();
                self.metrics.mqtt_published.inc();
                self.head_inflight = false;
                self.head_pkid = None;
                self.update_queue_metrics();
                self.pump().await;
            }
            Event::Incoming(Packet::Publish(p))
                if Some(p.topic.as_str()) == self.topics.ha_status().as_deref()
                    && &p.payload[..] == b"online" =>
            {
                tracing::info!("Home Assistant is back: re-sending discovery and state");
                self.announce().await;
            }
            _ => {}
        }
    }

    fn on_analysis(&mut self, a: &Analysis) {
        let (state, queued) = self.translator.translate(a);
        if let Some(s) = state {
            self.states.insert(a.camera.to_string(), s);
        }
        for m in queued {
            if self.queue.push(m, self.head_inflight) {
                self.metrics.mqtt_dropped.inc();
                tracing::warn!(
                    dropped = self.queue.dropped,
                    "MQTT queue full: dropped the oldest event"
                );
            }
        }
        self.update_queue_metrics();
    }

    /// Sends the latest state of a camera when it changed.
    async fn flush_state(&mut self, camera: &str, changed: bool) {
        if changed
            && self.connected
            && let Some(s) = self.states.get(camera).cloned()
        {
            self.publish(&s, Sent::Other).await;
        }
    }

    fn stats(&mut self) -> Message {
        let report = self.health.report();
        let now = std::time::Instant::now();
        let interval = (now - self.last_stats_at).as_secs_f64();
        self.last_stats_at = now;
        let mut cams = serde_json::Map::new();
        for c in &report.cameras {
            let (f0, s0, d0) = self.last_counters.get(&c.id).copied().unwrap_or_default();
            let rate = |now: u64, before: u64| {
                round3(now.saturating_sub(before) as f64 / interval.max(1e-3))
            };
            cams.insert(
                c.id.clone(),
                json!({
                    "camera_fps": c.fps,
                    "process_fps": c.process_fps,
                    "skipped_fps": rate(c.skipped, s0),
                    "dropped_fps": rate(c.dropped, d0),
                    "capture_fps_avg": rate(c.frames, f0),
                    "inference_ms": c.inference_ms,
                    "reconnects": c.reconnects,
                    "state": c.state,
                }),
            );
            self.last_counters
                .insert(c.id.clone(), (c.frames, c.skipped, c.dropped));
        }
        Message {
            topic: self.topics.stats(),
            payload: json!({
                "cameras": cams,
                "service": {"uptime": report.uptime_s, "version": env!("CARGO_PKG_VERSION")},
                "mqtt": {"queue": self.queue.len(), "dropped": self.queue.dropped},
            })
            .to_string(),
            qos: QoS::AtMostOnce,
            retain: false,
        }
    }

    /// Runs until shutdown: keeps the connection (reconnecting with backoff), publishes.
    pub async fn run(mut self, mut rx: broadcast::Receiver<Arc<Analysis>>, shutdown: Shutdown) {
        self.health.set_mqtt(MqttState::Disconnected);
        // A broker is cheap to probe: retry within 5 s of its return.
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(5));
        let mut retry_at: Option<tokio::time::Instant> = None;
        let mut stats = tokio::time::interval(self.stats_interval);
        stats.tick().await;
        loop {
            tokio::select! {
                ev = self.eventloop.poll(), if retry_at.is_none() => match ev {
                    Ok(ev) => {
                        if matches!(ev, Event::Incoming(Packet::ConnAck(_))) {
                            backoff.reset();
                        }
                        self.on_event(ev).await;
                    }
                    Err(e) => {
                        if self.connected {
                            tracing::warn!(error = %e, "MQTT connection lost");
                        } else {
                            tracing::debug!(error = %e, "MQTT connect failed");
                        }
                        self.set_connected(false);
                        let d = backoff.next_delay();
                        retry_at = Some(tokio::time::Instant::now() + d);
                    }
                },
                _ = async { tokio::time::sleep_until(retry_at.expect("set")).await }, if retry_at.is_some() => {
                    retry_at = None;
                }
                a = rx.recv() => match a {
                    Ok(a) => {
                        let before = self.states.get(&*a.camera).cloned();
                        self.on_analysis(&a);
                        let changed = self.states.get(&*a.camera) != before.as_ref();
                        self.flush_state(&a.camera, changed).await;
                        self.pump().await;
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "MQTT output fell behind the cameras");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = stats.tick() => {
                    if self.connected {
                        let m = self.stats();
                        self.publish(&m, Sent::Other).await;
                    }
                }
                _ = shutdown.wait() => break,
            }
        }
        self.goodbye().await;
    }

    /// Publishes `offline` and disconnects, waiting briefly for the broker to take it.
    async fn goodbye(&mut self) {
        if !self.connected {
            return;
        }
        let m = Message {
            topic: self.topics.availability(),
            payload: "offline".into(),
            qos: QoS::AtLeastOnce,
            retain: true,
        };
        self.publish(&m, Sent::Other).await;
        let _ = self.client.disconnect().await;
        let _ = tokio::time::timeout(Duration::from_millis(500), async {
            loop {
                match self.eventloop.poll().await {
                    Ok(Event::Outgoing(Outgoing::Disconnect)) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(i: usize) -> Message {
        Message {
            topic: "t".into(),
            payload: i.to_string(),
            qos: QoS::AtLeastOnce,
            retain: false,
        }
    }

    #[test]
    fn queue_drops_oldest_but_not_the_one_in_flight() {
        let mut q = OutQueue::new(3);
        for i in 0..3 {
            assert!(!q.push(msg(i), false));
        }
        assert!(q.push(msg(3), false));
        assert_eq!(q.front().unwrap().payload, "1");
        // Head in flight: the next oldest goes.
        assert!(q.push(msg(4), true));
        let rest: Vec<String> = std::iter::from_fn(|| q.pop().map(|m| m.payload)).collect();
        assert_eq!(rest, ["1", "3", "4"]);
        assert_eq!(q.dropped, 2);
    }

    #[test]
    fn discovery_has_the_entities_home_assistant_needs() {
        let cfg = MqttConfig::default();
        let topics = Topics::new(&cfg, "hall-1");
        assert_eq!(
            topics.discovery().unwrap(),
            "homeassistant/device/hall-1/config"
        );
        let classes = vec!["walk_toward".to_string(), "turn".to_string()];
        let d = discovery_payload(&topics, &["cam0".into()], &classes);
        assert_eq!(d["avty_t"], "activityd/hall-1/availability");
        assert_eq!(d["dev"]["ids"][0], "activityd_hall-1");
        assert!(
            d["o"]["name"].is_string(),
            "device discovery needs an origin"
        );
        let cmps = d["cmps"].as_object().unwrap();
        let by_platform = |p: &str| cmps.values().filter(|c| c["p"] == p).count();
        assert_eq!(by_platform("event"), 1);
        assert_eq!(by_platform("binary_sensor"), 1);
        assert_eq!(by_platform("sensor"), 3);
        let ev = cmps.values().find(|c| c["p"] == "event").unwrap();
        assert_eq!(ev["event_types"], serde_json::json!(classes));
        assert_eq!(ev["state_topic"], "activityd/hall-1/cam0/event");
        for c in cmps.values() {
            assert!(
                c["unique_id"]
                    .as_str()
                    .unwrap()
                    .starts_with("activityd_hall-1_cam0_")
            );
        }
        let mut off = MqttConfig::default();
        off.discovery_prefix.clear();
        assert!(Topics::new(&off, "x").discovery().is_none());
    }
}
