//! The MQTT connection: connects (and reconnects with backoff), announces availability and
//! discovery, publishes state, sends the queue one message at a time (each leaves the queue
//! only when the broker has acknowledged it), and says `offline` at shutdown.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{
    AsyncClient, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS, Transport,
};
use serde_json::json;
use tokio::sync::broadcast;

use super::discovery::discovery_payload;
use super::messages::Translator;
use super::queue::{Message, OutQueue};
use super::topics::Topics;
use crate::capture::Backoff;
use crate::config::{Config, MqttConfig};
use crate::health::{Health, MqttState};
use crate::outputs::metrics::Metrics;
use crate::outputs::trials::{Status as TrialStatus, Trial};
use crate::pipeline::{Analyses, Analysis};

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Why MQTT could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    #[error("cannot read mqtt.ca_file {path}: {err}")]
    CaFile { path: String, err: std::io::Error },
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
    /// (camera, zone) of every zone, for Home Assistant.
    zones: Vec<(String, String)>,
    classes: Vec<String>,
    queue: OutQueue,
    translator: Translator,
    /// Latest state per camera, re-sent on every (re)connection.
    /// The latest retained message of each state and zone topic.
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
    trials: Option<broadcast::Receiver<Arc<Trial>>>,
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
            zones: config
                .active_cameras()
                .flat_map(|c| c.zones.iter().map(|z| (c.id.clone(), z.name.clone())))
                .collect(),
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
            trials: None,
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
                payload: discovery_payload(&self.topics, &self.cameras, &self.classes, &self.zones)
                    .to_string(),
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

    /// Queues the analysis's events; returns the retained messages that changed.
    fn on_analysis(&mut self, a: &Analysis) -> Vec<Message> {
        let (retained, queued) = self.translator.translate(a);
        for s in &retained {
            self.states.insert(s.topic.clone(), s.clone());
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
        retained
    }

    /// Sends the retained messages (camera states, zone occupancy) that changed. While
    /// disconnected they wait in `states`, sent on reconnection.
    async fn flush_states(&mut self, changed: Vec<Message>) {
        if self.connected {
            for s in changed {
                self.publish(&s, Sent::Other).await;
            }
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
    /// Publishes TUG trial results (each completed trial, and again when a stopwatch time is
    /// attached) from `rx` as well.
    pub fn with_trials(mut self, rx: broadcast::Receiver<Arc<Trial>>) -> MqttOutput {
        self.trials = Some(rx);
        self
    }

    fn on_trial(&mut self, t: &Trial) {
        if t.status != TrialStatus::Completed {
            return;
        }
        let mut v = serde_json::to_value(t).unwrap_or_default();
        v["ts"] = serde_json::json!(crate::events::unix(std::time::SystemTime::now()));
        let m = Message {
            topic: self.topics.trial(&t.camera),
            payload: v.to_string(),
            qos: QoS::AtLeastOnce,
            retain: false,
        };
        if self.queue.push(m, self.head_inflight) {
            self.metrics.mqtt_dropped.inc();
        }
        self.update_queue_metrics();
    }

    pub async fn run(mut self, mut analyses: Analyses) {
        let mut trials = self.trials.take();
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
                a = analyses.next() => match a {
                    Some(a) => {
                        let changed = self.on_analysis(&a);
                        self.flush_states(changed).await;
                        self.pump().await;
                    }
                    // Shutdown (or every camera gone).
                    None => break,
                },
                t = async { trials.as_mut().expect("checked").recv().await }, if trials.is_some() => match t {
                    Ok(t) => {
                        self.on_trial(&t);
                        self.pump().await;
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => trials = None,
                },
                _ = stats.tick() => {
                    if self.connected {
                        let m = self.stats();
                        self.publish(&m, Sent::Other).await;
                    }
                }
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
