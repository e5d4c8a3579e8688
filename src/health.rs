//! Health: one place that reads every camera's and worker's status and says whether the daemon
//! is healthy, degraded or unhealthy. `/health`, the systemd watchdog and `STATUS=` all use it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::capture::{CameraState, CameraStatus};
use crate::pipeline::WorkerStatus;

/// The MQTT link as health sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[repr(u8)]
pub enum MqttState {
    Disabled = 0,
    Connected = 1,
    Disconnected = 2,
}

impl MqttState {
    pub fn as_str(self) -> &'static str {
        match self {
            MqttState::Disabled => "disabled",
            MqttState::Connected => "connected",
            MqttState::Disconnected => "disconnected",
        }
    }
}

/// One camera: its capture and its worker.
pub struct CameraHealth {
    pub capture: Arc<CameraStatus>,
    pub worker: Arc<WorkerStatus>,
}

/// Shared view of the whole daemon.
pub struct Health {
    started: Instant,
    pub cameras: Vec<CameraHealth>,
    model_loaded: AtomicBool,
    mqtt: AtomicU8,
    stall_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Overall {
    Healthy,
    Degraded,
    Unhealthy,
}

#[derive(Debug, Clone, Serialize)]
pub struct CameraReport {
    pub id: String,
    pub state: &'static str,
    /// Capture frame rate.
    pub fps: f64,
    /// Analysed frames per second.
    pub process_fps: f64,
    pub frames: u64,
    pub dropped: u64,
    pub skipped: u64,
    pub reconnects: u64,
    pub inference_ms: f64,
    /// The worker has not made progress within the stall timeout.
    pub stalled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    pub status: Overall,
    pub model_loaded: bool,
    pub uptime_s: u64,
    pub cameras: Vec<CameraReport>,
    pub mqtt: MqttState,
}

impl Health {
    pub fn new(cameras: Vec<CameraHealth>, stall_timeout: Duration) -> Health {
        Health {
            started: Instant::now(),
            cameras,
            model_loaded: AtomicBool::new(false),
            mqtt: AtomicU8::new(MqttState::Disabled as u8),
            stall_timeout,
        }
    }

    pub fn set_model_loaded(&self, v: bool) {
        self.model_loaded.store(v, Ordering::SeqCst);
    }

    pub fn set_mqtt(&self, s: MqttState) {
        self.mqtt.store(s as u8, Ordering::SeqCst);
    }

    pub fn mqtt(&self) -> MqttState {
        match self.mqtt.load(Ordering::SeqCst) {
            1 => MqttState::Connected,
            2 => MqttState::Disconnected,
            _ => MqttState::Disabled,
        }
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Ids of workers that have made no progress within the stall timeout.
    pub fn stalled_workers(&self) -> Vec<&str> {
        self.cameras
            .iter()
            .filter(|c| c.worker.since_heartbeat() > self.stall_timeout)
            .map(|c| c.capture.id.as_str())
            .collect()
    }

    pub fn report(&self) -> HealthReport {
        let cameras: Vec<CameraReport> = self
            .cameras
            .iter()
            .map(|c| {
                let cap = &c.capture;
                CameraReport {
                    id: cap.id.clone(),
                    state: cap.state().as_str(),
                    fps: round2(cap.fps.rate()),
                    process_fps: round2(c.worker.fps.rate()),
                    frames: cap.frames.get(),
                    dropped: cap.dropped.get(),
                    skipped: cap.skipped.get(),
                    reconnects: cap.reconnects.get(),
                    inference_ms: round2(c.worker.last_inference_ms()),
                    stalled: c.worker.since_heartbeat() > self.stall_timeout,
                    last_error: match cap.state() {
                        CameraState::Streaming => None,
                        _ => cap.last_error(),
                    },
                }
            })
            .collect();
        let model_loaded = self.model_loaded.load(Ordering::SeqCst);
        let working =
            |c: &CameraReport| (c.state == "streaming" || c.state == "ended") && !c.stalled;
        // Dead: retrying, failed or stalled. A camera still starting is not dead yet.
        let dead = |c: &CameraReport| c.state == "retrying" || c.state == "failed" || c.stalled;
        let mqtt = self.mqtt();
        let status = if !model_loaded || (!cameras.is_empty() && cameras.iter().all(dead)) {
            Overall::Unhealthy
        } else if !cameras.iter().all(working) || mqtt == MqttState::Disconnected {
            Overall::Degraded
        } else {
            Overall::Healthy
        };
        HealthReport {
            status,
            model_loaded,
            uptime_s: self.started.elapsed().as_secs(),
            cameras,
            mqtt,
        }
    }

    /// One line for systemd's `STATUS=`: what each camera is doing.
    pub fn status_line(&self) -> String {
        let r = self.report();
        let mut parts: Vec<String> = r
            .cameras
            .iter()
            .map(|c| match c.state {
                "streaming" => format!(
                    "{}: {:.1} fps, analysing {:.1} fps{}",
                    c.id,
                    c.fps,
                    c.process_fps,
                    if c.stalled { " (STALLED)" } else { "" }
                ),
                s => format!("{}: {s}", c.id),
            })
            .collect();
        if r.mqtt != MqttState::Disabled {
            parts.push(format!("mqtt {}", r.mqtt.as_str()));
        }
        parts.join("; ")
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(n: usize) -> Health {
        let cams = (0..n)
            .map(|i| CameraHealth {
                capture: Arc::new(CameraStatus::new(&format!("c{i}"))),
                worker: Arc::new(WorkerStatus::default()),
            })
            .collect();
        Health::new(cams, Duration::from_secs(10))
    }

    #[test]
    fn overall_status_follows_cameras_model_and_mqtt() {
        let h = health(2);
        assert_eq!(h.report().status, Overall::Unhealthy, "no model yet");
        h.set_model_loaded(true);
        assert_eq!(
            h.report().status,
            Overall::Degraded,
            "cameras still starting"
        );
        h.cameras[0].capture.set_state(CameraState::Retrying);
        h.cameras[1].capture.set_state(CameraState::Failed);
        assert_eq!(h.report().status, Overall::Unhealthy, "every camera dead");
        h.cameras[0].capture.set_state(CameraState::Streaming);
        assert_eq!(h.report().status, Overall::Degraded, "one camera retrying");
        h.cameras[1].capture.set_state(CameraState::Streaming);
        assert_eq!(h.report().status, Overall::Healthy);
        h.set_mqtt(MqttState::Disconnected);
        assert_eq!(h.report().status, Overall::Degraded);
        h.set_mqtt(MqttState::Connected);
        assert_eq!(h.report().status, Overall::Healthy);
        let json = serde_json::to_value(h.report()).unwrap();
        assert_eq!(json["cameras"][0]["state"], "streaming");
        assert_eq!(json["mqtt"], "connected");
        assert!(h.status_line().contains("c0: 0.0 fps"));
    }
}
