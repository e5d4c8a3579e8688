//! MQTT topic names, all under `<base_topic>/<device_id>` (see `docs/interfaces.md`).

use crate::config::MqttConfig;

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
    /// TUG trials (armed by a clinician) once they have a result, and again with a stopwatch
    /// time.
    pub fn trial(&self, camera: &str) -> String {
        format!("{}/{camera}/tug/trial", self.base)
    }
    /// A zone's occupancy (retained).
    pub fn zone(&self, camera: &str, zone: &str) -> String {
        format!("{}/{camera}/zone/{zone}", self.base)
    }
    /// A zone's enter and leave events.
    pub fn zone_event(&self, camera: &str, zone: &str) -> String {
        format!("{}/{camera}/zone/{zone}/event", self.base)
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
