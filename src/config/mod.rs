//! Configuration: the TOML file, its validation and the environment overrides for secrets.
//!
//! Loading is two steps. Serde (with `deny_unknown_fields`) turns the text into typed structs
//! and reports the first syntax or type error with its field path; then [`Config::validate`]
//! checks every value and reports *all* problems at once, each as `path: reason`.
//! Secrets can stay out of the file: `ACTIVITYD_API_TOKEN`, `ACTIVITYD_MQTT_USERNAME` and
//! `ACTIVITYD_MQTT_PASSWORD` override the file's values.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod source;
pub use source::SourceSpec;

/// Which instant stops a Timed Up and Go test's clock (`[activity] tug_end`; the rule is
/// `classify::tug`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TugEnd {
    /// The hip reaches the seat.
    SeatContact,
    /// Seated again with the shoulders still (back against the chair), as at the start.
    #[default]
    Settled,
}

impl TugEnd {
    pub fn name(self) -> &'static str {
        match self {
            TugEnd::SeatContact => "seat_contact",
            TugEnd::Settled => "settled",
        }
    }
}

/// Which of MediaPipe's three BlazePose landmark models runs (`[pose] model`, `--pose-model`):
/// MediaPipe's `model_complexity` 0, 1 and 2. All three take the same 256×256 crop and give
/// the same outputs; they trade speed for accuracy.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum PoseModelKind {
    /// `pose_landmarks_lite.onnx` (model_complexity 0): the fastest, the least accurate.
    Lite,
    /// `pose_landmarks.onnx` (model_complexity 1): MediaPipe's default.
    #[default]
    Full,
    /// `pose_landmarks_heavy.onnx` (model_complexity 2): the most accurate, the slowest.
    Heavy,
}

impl PoseModelKind {
    pub const ALL: [PoseModelKind; 3] = [
        PoseModelKind::Lite,
        PoseModelKind::Full,
        PoseModelKind::Heavy,
    ];

    /// The value in the config file and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PoseModelKind::Lite => "lite",
            PoseModelKind::Full => "full",
            PoseModelKind::Heavy => "heavy",
        }
    }

    /// The model's file name without extension in the models folder (`.onnx`, and `.json`
    /// for its card). "full" keeps the name it has always had.
    pub fn file_stem(self) -> &'static str {
        match self {
            PoseModelKind::Lite => "pose_landmarks_lite",
            PoseModelKind::Full => "pose_landmarks",
            PoseModelKind::Heavy => "pose_landmarks_heavy",
        }
    }

    /// MediaPipe's `model_complexity` for the same model.
    pub fn model_complexity(self) -> u8 {
        match self {
            PoseModelKind::Lite => 0,
            PoseModelKind::Full => 1,
            PoseModelKind::Heavy => 2,
        }
    }
}

impl fmt::Display for PoseModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the pose models keep their weights and compute (`[pose] precision`, `--pose-precision`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum PosePrecision {
    /// Weights stored as half-precision floats wherever that loses nothing (every weight of
    /// MediaPipe's models is an f16 value: they were trained and shipped in fp16) and this CPU's
    /// matrix kernel reads them as such; the arithmetic stays f32, so landmarks are the same
    /// to the bit as with `f32`. Less memory (full model on x86-64: 14.6 → 9.1 MB on AMD Zen 4,
    /// 9.6 MB on an Intel Xeon); per landmark run within 2 % of f32's time (docs/benchmarks.md).
    #[default]
    F16,
    /// Weights as f32, as in the ONNX files.
    F32,
    /// On 64-bit ARM with half-precision arithmetic (FEAT_FP16, e.g. a Raspberry Pi 5's
    /// Cortex-A76) the models compute in f16 but for their output heads, which stay f32
    /// (`model::f16_arithmetic`, `model::output_heads`): 0.71× the instructions of f32 per pose
    /// step. Opt-in: landmarks as close to MediaPipe's as f32's on the stills and the Pose2Sim
    /// clip, but on the Sports2D clip the tracker lets go of a person 0.6 s sooner than f32's
    /// and the activity segments differ (cross/README.md). Elsewhere the same as `F16`.
    #[value(name = "f16_arithmetic")]
    F16Arithmetic,
}

impl PosePrecision {
    /// The value in the config file and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            PosePrecision::F16 => "f16",
            PosePrecision::F32 => "f32",
            PosePrecision::F16Arithmetic => "f16_arithmetic",
        }
    }
}

impl fmt::Display for PosePrecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One problem found in a configuration: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `cameras[1].fps`; empty for file-level problems.
    pub path: String,
    pub reason: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {err}", path.display())]
    Read { path: PathBuf, err: std::io::Error },
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<FieldError>),
}

/// The whole daemon configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Names this box: the MQTT topic level under `mqtt.base_topic` and the Home Assistant device.
    pub device_id: String,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub mqtt: MqttConfig,
    #[serde(default)]
    pub models: ModelsConfig,
    #[serde(default)]
    pub pose: PoseConfig,
    #[serde(default)]
    pub activity: ActivityConfig,
    #[serde(default)]
    pub watchdog: WatchdogConfig,
    #[serde(default)]
    pub cameras: Vec<CameraConfig>,
}

/// The HTTP API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    pub enabled: bool,
    /// `host:port`; loopback unless you mean to expose it.
    pub bind: String,
    /// Bearer token required on the predict endpoints; empty = none. Env: `ACTIVITYD_API_TOKEN`.
    pub token: String,
    /// Largest accepted upload, in megabytes.
    pub max_upload_mb: u64,
    /// Predict requests processed at once; more get 503 with `Retry-After`.
    pub max_concurrent_predictions: usize,
    /// PEM certificate chain and private key: set both to serve HTTPS (relative paths are
    /// taken from the config file's folder).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            enabled: true,
            bind: "127.0.0.1:8000".into(),
            token: String::new(),
            max_upload_mb: 50,
            max_concurrent_predictions: 2,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// The MQTT connection and topics.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    /// Empty: `activityd-<device_id>`.
    pub client_id: String,
    pub username: String,
    /// Env: `ACTIVITYD_MQTT_PASSWORD`.
    pub password: String,
    /// PEM file with the CA that signed the broker's certificate; set it to use TLS.
    pub ca_file: Option<PathBuf>,
    pub keep_alive_s: u64,
    /// Topics live under `<base_topic>/<device_id>`.
    pub base_topic: String,
    /// Home Assistant discovery; empty string disables it.
    pub discovery_prefix: String,
    /// Events kept in memory while the broker is away (oldest dropped when full).
    pub queue_size: usize,
    /// Seconds between `stats` messages.
    pub stats_interval_s: u64,
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            enabled: true,
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: String::new(),
            username: String::new(),
            password: String::new(),
            ca_file: None,
            keep_alive_s: 30,
            base_topic: "activityd".into(),
            discovery_prefix: "homeassistant".into(),
            queue_size: 1000,
            stats_interval_s: 60,
        }
    }
}

/// Where the ONNX models are.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsConfig {
    /// Folder with `pose_detector.onnx`, `pose_landmarks.onnx`, `activity.onnx` and their cards.
    pub dir: PathBuf,
}

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig {
            dir: default_models_dir(),
        }
    }
}

/// The models shipped next to the binary's source tree in development, installed under
/// `/usr/share/activityd/models` by the package.
pub fn default_models_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("ACTIVITYD_MODELS") {
        return PathBuf::from(dir);
    }
    let installed = Path::new("/usr/share/activityd/models");
    if installed.is_dir() {
        return installed.to_path_buf();
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models"))
}

/// Pose estimation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoseConfig {
    /// The landmark model: `"lite"`, `"full"` (the default) or `"heavy"`.
    pub model: PoseModelKind,
    /// How the pose models keep their weights: `"f16"` (the default) or `"f32"`; the
    /// landmarks are the same either way.
    pub precision: PosePrecision,
    /// How many people each camera tracks at once (1-8). Each tracked person costs one
    /// landmark-model run per analysed frame.
    pub max_people: usize,
}

impl Default for PoseConfig {
    fn default() -> PoseConfig {
        PoseConfig {
            model: PoseModelKind::default(),
            precision: PosePrecision::default(),
            max_people: 4,
        }
    }
}

/// How per-frame probabilities become reported activities.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActivityConfig {
    /// Below this, a frame is reported `uncertain`.
    pub confidence_threshold: f32,
    /// A new activity must hold this long before it is reported.
    pub min_duration_s: f32,
    /// Which instant stops a Timed Up and Go test's clock: `"settled"` (seated again with the
    /// shoulders at rest, back against the chair; the default) or `"seat_contact"` (the hip
    /// reaches the seat). See `classify::tug`.
    pub tug_end: TugEnd,
    /// Report a turn where the body is seen turning (the shoulder and hip lines rotating by
    /// 45° or more) though the model reads walking. See `classify::turning`.
    pub turns_from_rotation: bool,
}

impl Default for ActivityConfig {
    fn default() -> Self {
        ActivityConfig {
            confidence_threshold: 0.7,
            min_duration_s: 0.3,
            tug_end: TugEnd::default(),
            turns_from_rotation: true,
        }
    }
}

/// Liveness rules behind the systemd watchdog.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchdogConfig {
    /// A camera worker that has not finished a loop for this long is stalled: WATCHDOG=1 stops.
    pub stall_timeout_s: f64,
}

impl Default for WatchdogConfig {
    fn default() -> Self {
        WatchdogConfig {
            stall_timeout_s: 10.0,
        }
    }
}

/// Pixel format asked of a V4L2 device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PixelFormat {
    Auto,
    Mjpeg,
    Yuyv,
}

/// One camera (or file, or stream) to watch.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    pub id: String,
    /// `file:///clip.mp4`, `rtsp://…`, `v4l2:///dev/video0`, `gst:<pipeline>`,
    /// `test:[pattern]` or `landmarks:recording.jsonl`.
    pub source: String,
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Replay a file source (video or landmarks) from the start when it ends.
    #[serde(default, rename = "loop")]
    pub loop_: bool,
    /// Frames per second asked of the device (V4L2, test sources).
    #[serde(default = "default_fps")]
    pub fps: u32,
    /// Frame size asked of the device (V4L2, test sources); 0 = the device's default.
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
    /// Scale frames down to at most this width before analysis (0 = keep). Saves CPU on
    /// large streams; pose needs far less than 1080p.
    #[serde(default)]
    pub max_width: u32,
    /// V4L2 pixel format.
    #[serde(default = "default_format")]
    pub format: PixelFormat,
    /// Analyse at most this many frames per second (0 = every frame).
    #[serde(default)]
    pub process_fps: f32,
    /// Named areas of the image (a chair, a bed, a doorway): who is in each, and for how long.
    #[serde(default)]
    pub zones: Vec<ZoneConfig>,
    /// People this camera tracks at once (1-8); unset: `pose.max_people`.
    #[serde(default)]
    pub max_people: Option<usize>,
}

/// A named polygon in normalised image coordinates (0..1 across, 0..1 down).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// Used in MQTT topics and Home Assistant ids: letters, digits, '-' or '_'.
    pub name: String,
    /// At least 3 `[x, y]` corners, in order around the area.
    pub polygon: Vec<[f32; 2]>,
}

impl ZoneConfig {
    /// What is wrong with this zone, as (field, reason) pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !is_topic_level(&self.name) {
            out.push((
                "name",
                format!(
                    "must be 1-64 characters of letters, digits, '-' or '_', got {:?}",
                    self.name
                ),
            ));
        }
        if self.polygon.len() < 3 {
            out.push((
                "polygon",
                format!("needs at least 3 corners, got {}", self.polygon.len()),
            ));
        }
        if let Some(p) = self
            .polygon
            .iter()
            .find(|p| !p.iter().all(|v| (0.0..=1.0).contains(v)))
        {
            out.push((
                "polygon",
                format!(
                    "corners are fractions of the image (0 to 1), got [{}, {}]",
                    p[0], p[1]
                ),
            ));
        }
        out
    }
}

fn default_fps() -> u32 {
    30
}

fn default_format() -> PixelFormat {
    PixelFormat::Auto
}

impl CameraConfig {
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }
}

impl Config {
    /// Reads, parses, applies environment overrides and validates.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Read {
            path: path.to_path_buf(),
            err,
        })?;
        let mut config = Config::parse(&text)?;
        config.apply_env(|k| std::env::var(k).ok());
        let errors = config.validate();
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid(errors))
        }
    }

    /// Parses TOML text into a config, without validating the values.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::parse(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            ConfigError::Invalid(vec![FieldError {
                path: String::new(),
                reason: format!("TOML syntax{at}: {}", e.message().trim()),
            }])
        })?;
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let reason = e.into_inner().message().trim().to_string();
            ConfigError::Invalid(vec![FieldError { path, reason }])
        })
    }

    /// Secrets from the environment win over the file.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) {
        if let Some(v) = get("ACTIVITYD_API_TOKEN") {
            self.api.token = v;
        }
        if let Some(v) = get("ACTIVITYD_MQTT_USERNAME") {
            self.mqtt.username = v;
        }
        if let Some(v) = get("ACTIVITYD_MQTT_PASSWORD") {
            self.mqtt.password = v;
        }
    }

    /// Every problem with the values, each with its field path.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut err = |path: String, reason: String| errors.push(FieldError { path, reason });

        if !is_topic_level(&self.device_id) {
            err(
                "device_id".into(),
                format!(
                    "must be 1-64 characters of letters, digits, '-' or '_', got {:?}",
                    self.device_id
                ),
            );
        }
        if self.api.bind.parse::<std::net::SocketAddr>().is_err() {
            err(
                "api.bind".into(),
                format!(
                    "must be an IP address and port like 127.0.0.1:8000, got {:?}",
                    self.api.bind
                ),
            );
        }
        if !(1..=8).contains(&self.pose.max_people) {
            err(
                "pose.max_people".into(),
                format!("must be between 1 and 8, got {}", self.pose.max_people),
            );
        }
        if !(1..=2048).contains(&self.api.max_upload_mb) {
            err(
                "api.max_upload_mb".into(),
                format!("must be between 1 and 2048, got {}", self.api.max_upload_mb),
            );
        }
        if !(1..=64).contains(&self.api.max_concurrent_predictions) {
            err(
                "api.max_concurrent_predictions".into(),
                format!(
                    "must be between 1 and 64, got {}",
                    self.api.max_concurrent_predictions
                ),
            );
        }
        match (&self.api.tls_cert, &self.api.tls_key) {
            (Some(_), None) => err(
                "api.tls_key".into(),
                "must be set with api.tls_cert (the certificate's private key, PEM)".into(),
            ),
            (None, Some(_)) => err(
                "api.tls_cert".into(),
                "must be set with api.tls_key (the certificate chain, PEM)".into(),
            ),
            _ => {}
        }
        let m = &self.mqtt;
        if m.enabled {
            if m.host.trim().is_empty() {
                err("mqtt.host".into(), "must not be empty".into());
            }
            if m.port == 0 {
                err(
                    "mqtt.port".into(),
                    "must be between 1 and 65535, got 0".into(),
                );
            }
            if let Some(ca) = &m.ca_file
                && !ca.is_file()
            {
                err(
                    "mqtt.ca_file".into(),
                    format!("no such file: {}", ca.display()),
                );
            }
        }
        if !(5..=3600).contains(&m.keep_alive_s) {
            err(
                "mqtt.keep_alive_s".into(),
                format!("must be between 5 and 3600, got {}", m.keep_alive_s),
            );
        }
        if m.base_topic.is_empty()
            || m.base_topic.contains(['+', '#'])
            || m.base_topic.starts_with('/')
            || m.base_topic.ends_with('/')
        {
            err(
                "mqtt.base_topic".into(),
                format!(
                    "must be a topic without wildcards or leading/trailing '/', got {:?}",
                    m.base_topic
                ),
            );
        }
        if m.discovery_prefix.contains(['+', '#']) {
            err(
                "mqtt.discovery_prefix".into(),
                format!(
                    "must not contain MQTT wildcards, got {:?}",
                    m.discovery_prefix
                ),
            );
        }
        if !(1..=1_000_000).contains(&m.queue_size) {
            err(
                "mqtt.queue_size".into(),
                format!("must be between 1 and 1000000, got {}", m.queue_size),
            );
        }
        if !(1..=86_400).contains(&m.stats_interval_s) {
            err(
                "mqtt.stats_interval_s".into(),
                format!("must be between 1 and 86400, got {}", m.stats_interval_s),
            );
        }
        let a = &self.activity;
        if !(a.confidence_threshold > 0.0 && a.confidence_threshold < 1.0) {
            err(
                "activity.confidence_threshold".into(),
                format!(
                    "must be between 0 and 1 (exclusive), got {}",
                    a.confidence_threshold
                ),
            );
        }
        if !(0.0..=10.0).contains(&a.min_duration_s) {
            err(
                "activity.min_duration_s".into(),
                format!("must be between 0 and 10, got {}", a.min_duration_s),
            );
        }
        if !(1.0..=600.0).contains(&self.watchdog.stall_timeout_s) {
            err(
                "watchdog.stall_timeout_s".into(),
                format!(
                    "must be between 1 and 600, got {}",
                    self.watchdog.stall_timeout_s
                ),
            );
        }

        let mut seen = HashSet::new();
        for (i, cam) in self.cameras.iter().enumerate() {
            let p = |field: &str| format!("cameras[{i}].{field}");
            if !is_topic_level(&cam.id) {
                err(
                    p("id"),
                    format!(
                        "must be 1-64 characters of letters, digits, '-' or '_', got {:?}",
                        cam.id
                    ),
                );
            } else if !seen.insert(cam.id.as_str()) {
                err(p("id"), format!("duplicate camera id {:?}", cam.id));
            }
            match SourceSpec::parse(&cam.source) {
                Ok(spec) => {
                    if cam.loop_ && !spec.can_loop() {
                        err(
                            p("loop"),
                            "only file sources can loop (file: and landmarks:)".into(),
                        );
                    }
                }
                Err(reason) => err(p("source"), reason),
            }
            if !(1..=120).contains(&cam.fps) {
                err(
                    p("fps"),
                    format!("must be between 1 and 120, got {}", cam.fps),
                );
            }
            if cam.width > 7680 || cam.height > 4320 || (cam.width == 0) != (cam.height == 0) {
                err(
                    p("width"),
                    format!(
                        "width and height must both be set (up to 7680x4320) or both be 0, got {}x{}",
                        cam.width, cam.height
                    ),
                );
            }
            if cam.max_width != 0 && !(64..=7680).contains(&cam.max_width) {
                err(
                    p("max_width"),
                    format!("must be 0 or between 64 and 7680, got {}", cam.max_width),
                );
            }
            if let Some(n) = cam.max_people
                && !(1..=8).contains(&n)
            {
                err(p("max_people"), format!("must be between 1 and 8, got {n}"));
            }
            let mut names = HashSet::new();
            for (z, zone) in cam.zones.iter().enumerate() {
                for (field, reason) in zone.problems() {
                    err(p(&format!("zones[{z}].{field}")), reason);
                }
                if !names.insert(zone.name.as_str()) {
                    err(
                        p(&format!("zones[{z}].name")),
                        format!("duplicate zone name {:?}", zone.name),
                    );
                }
            }
            if !(cam.process_fps == 0.0 || (0.1..=120.0).contains(&cam.process_fps)) {
                err(
                    p("process_fps"),
                    format!(
                        "must be 0 (every frame) or between 0.1 and 120, got {}",
                        cam.process_fps
                    ),
                );
            }
        }
        errors
    }

    /// The enabled cameras.
    pub fn active_cameras(&self) -> impl Iterator<Item = &CameraConfig> {
        self.cameras.iter().filter(|c| c.is_enabled())
    }
}

/// A string usable as one MQTT topic level and as a Home Assistant id.
fn is_topic_level(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
device_id = "hall-1"
[api]
bind = "127.0.0.1:8000"
[mqtt]
enabled = true
host = "127.0.0.1"
port = 1883
[[cameras]]
id = "cam0"
source = "test:"
process_fps = 10
"#;

    fn errors_of(text: &str) -> Vec<String> {
        match Config::parse(text) {
            Ok(c) => c.validate().iter().map(|e| e.to_string()).collect(),
            Err(ConfigError::Invalid(v)) => v.iter().map(|e| e.to_string()).collect(),
            Err(e) => vec![e.to_string()],
        }
    }

    #[test]
    fn good_config_is_valid() {
        assert!(errors_of(GOOD).is_empty(), "{:?}", errors_of(GOOD));
        let c = Config::parse(GOOD).unwrap();
        assert_eq!(c.cameras[0].process_fps, 10.0);
        assert_eq!(c.mqtt.base_topic, "activityd");
        assert_eq!(c.activity.confidence_threshold, 0.7);
    }

    #[test]
    fn type_errors_name_the_field() {
        let text = GOOD.replace("port = 1883", "port = \"x\"");
        let e = errors_of(&text);
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("mqtt.port: "), "{e:?}");
    }

    /// `activity.tug_end` takes the two documented names; anything else is refused naming
    /// the key and both names.
    #[test]
    fn tug_end_is_one_of_two_names() {
        assert_eq!(
            Config::parse(GOOD).unwrap().activity.tug_end,
            TugEnd::Settled
        );
        let with = |v: &str| format!("{GOOD}\n[activity]\ntug_end = {v}\n");
        let c = Config::parse(&with("\"seat_contact\"")).unwrap();
        assert_eq!(c.activity.tug_end, TugEnd::SeatContact);
        refused_naming(
            &with("\"seated\""),
            "activity.tug_end",
            &["seat_contact", "settled"],
        );
    }

    /// `activity.turns_from_rotation` is on by default, can be turned off, and a value that
    /// is not a boolean is refused naming the key.
    #[test]
    fn turns_from_rotation_is_a_boolean() {
        assert!(Config::parse(GOOD).unwrap().activity.turns_from_rotation);
        let with = |v: &str| format!("{GOOD}\n[activity]\nturns_from_rotation = {v}\n");
        assert!(
            !Config::parse(&with("false"))
                .unwrap()
                .activity
                .turns_from_rotation
        );
        refused_naming(&with("\"yes\""), "activity.turns_from_rotation", &["bool"]);
    }

    /// One error, for `key`, naming every value it takes.
    fn refused_naming(toml: &str, key: &str, values: &[&str]) {
        let e = errors_of(toml);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with(&format!("{key}: ")), "{e:?}");
        for v in values {
            assert!(e[0].contains(v), "{v} in {e:?}");
        }
    }

    /// `pose.model` takes the three names of MediaPipe's landmark models; anything else is
    /// refused naming the key and the three names.
    #[test]
    fn people_and_zones_are_checked_with_their_paths() {
        let c = Config::parse(GOOD).unwrap();
        assert_eq!(c.pose.max_people, 4);
        assert!(c.cameras[0].zones.is_empty() && c.cameras[0].max_people.is_none());
        let zone = |name: &str, poly: &str| {
            format!("[[cameras.zones]]\nname = \"{name}\"\npolygon = {poly}\n")
        };
        let ok = format!(
            "{GOOD}max_people = 2\n{}{}",
            zone("chair", "[[0.1, 0.5], [0.3, 0.5], [0.3, 0.9]]"),
            zone("bed", "[[0.5, 0.5], [0.9, 0.5], [0.9, 0.9], [0.5, 0.9]]")
        );
        let c = Config::parse(&ok).unwrap();
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        assert_eq!(c.cameras[0].max_people, Some(2));
        assert_eq!(c.cameras[0].zones[1].name, "bed");
        let bad = format!(
            "{GOOD}max_people = 9\n{}{}{}[pose]\nmax_people = 0\n",
            zone("chair", "[[0.1, 0.5], [0.3, 0.5]]"),
            zone("chair", "[[0.1, 0.5], [1.3, 0.5], [0.3, 0.9]]"),
            zone("a b", "[[0.1, 0.5], [0.3, 0.5], [0.3, 0.9]]")
        );
        let e = errors_of(&bad);
        let starts = |p: &str| e.iter().any(|m| m.starts_with(p));
        assert!(starts("pose.max_people: must be between 1 and 8"), "{e:?}");
        assert!(
            starts("cameras[0].max_people: must be between 1 and 8"),
            "{e:?}"
        );
        assert!(
            starts("cameras[0].zones[0].polygon: needs at least 3 corners"),
            "{e:?}"
        );
        assert!(
            starts("cameras[0].zones[1].polygon: corners are fractions"),
            "{e:?}"
        );
        assert!(
            starts("cameras[0].zones[1].name: duplicate zone name"),
            "{e:?}"
        );
        assert!(
            starts("cameras[0].zones[2].name: must be 1-64 characters"),
            "{e:?}"
        );
    }

    #[test]
    fn pose_precision_is_one_of_three_names() {
        assert_eq!(
            Config::parse(GOOD).unwrap().pose.precision,
            PosePrecision::F16
        );
        let with = |v: &str| format!("{GOOD}\n[pose]\nprecision = {v}\n");
        for p in [
            PosePrecision::F16,
            PosePrecision::F32,
            PosePrecision::F16Arithmetic,
        ] {
            let c = Config::parse(&with(&format!("\"{p}\""))).unwrap();
            assert_eq!(c.pose.precision, p);
        }
        refused_naming(
            &with("\"int8\""),
            "pose.precision",
            &["f16", "f32", "f16_arithmetic"],
        );
    }

    #[test]
    fn pose_model_is_one_of_three_names() {
        assert_eq!(Config::parse(GOOD).unwrap().pose.model, PoseModelKind::Full);
        let with = |v: &str| format!("{GOOD}\n[pose]\nmodel = {v}\n");
        for kind in PoseModelKind::ALL {
            let c = Config::parse(&with(&format!("\"{kind}\""))).unwrap();
            assert_eq!(c.pose.model, kind);
            assert!(c.validate().is_empty());
        }
        let e = errors_of(&with("\"medium\""));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("pose.model: "), "{e:?}");
        for name in ["lite", "full", "heavy", "medium"] {
            assert!(e[0].contains(name), "{name} in {e:?}");
        }
        let e = errors_of(&format!("{GOOD}\n[pose]\nmodle = \"lite\"\n"));
        assert!(
            e[0].starts_with("pose.modle") || e[0].starts_with("pose"),
            "{e:?}"
        );
    }

    #[test]
    fn unknown_fields_are_rejected_with_path() {
        let text = GOOD.replace("process_fps = 10", "process_fsp = 10");
        let e = errors_of(&text);
        assert!(e[0].starts_with("cameras[0].process_fsp") || e[0].starts_with("cameras[0]"));
        assert!(e[0].contains("unknown field"), "{e:?}");
    }

    #[test]
    fn all_value_errors_are_reported() {
        let text = r#"
device_id = "bad id!"
[api]
bind = "localhost"
[[cameras]]
id = "a"
source = "test:"
[[cameras]]
id = "a"
source = "ftp://x"
fps = 0
loop = true
"#;
        let e = errors_of(text);
        let joined = e.join("\n");
        for needle in [
            "device_id: ",
            "api.bind: ",
            "cameras[1].id: duplicate",
            "cameras[1].source: ",
            "cameras[1].fps: must be between 1 and 120, got 0",
        ] {
            assert!(joined.contains(needle), "missing {needle:?} in\n{joined}");
        }
    }

    #[test]
    fn landmark_sources_are_checked_and_may_loop() {
        let cam = |source: &str, extra: &str| {
            format!(
                "device_id = \"d\"\n[[cameras]]\nid = \"tug\"\nsource = \"{source}\"\n{extra}\n"
            )
        };
        for good in [
            "landmarks:tug.jsonl",
            "landmarks:../fixtures/tug.jsonl",
            "landmarks:/abs/tug.jsonl",
            "landmarks:///abs/tug.jsonl",
        ] {
            let e = errors_of(&cam(good, "loop = true\nprocess_fps = 5"));
            assert!(e.is_empty(), "{good}: {e:?}");
        }
        for (bad, says) in [
            (
                "landmarks:",
                "cameras[0].source: landmarks: needs the path of a .jsonl file",
            ),
            (
                "landmarks:  ",
                "cameras[0].source: landmarks: needs the path",
            ),
            ("landmarks:tug.json", "must end in .jsonl, got \"tug.json\""),
            ("landmarks:clip.mp4", "must end in .jsonl"),
            (
                "landmarks://rel.jsonl",
                "landmarks URLs need an absolute path",
            ),
        ] {
            let e = errors_of(&cam(bad, "")).join("\n");
            assert!(e.contains(says), "{bad}: {e}");
        }
        let e = errors_of(&cam("test:", "loop = true")).join("\n");
        assert!(
            e.contains("cameras[0].loop: only file sources can loop (file: and landmarks:)"),
            "{e}"
        );
    }

    #[test]
    fn relative_landmark_paths_follow_the_config_file() {
        let base = Path::new("/etc/activityd");
        let rel = SourceSpec::parse("landmarks:rec/tug.jsonl").unwrap();
        assert_eq!(
            rel.resolve_relative(base),
            SourceSpec::Landmarks("/etc/activityd/rec/tug.jsonl".into())
        );
        let abs = SourceSpec::parse("landmarks:///data/tug.jsonl").unwrap();
        assert_eq!(
            abs.resolve_relative(base),
            SourceSpec::Landmarks("/data/tug.jsonl".into())
        );
    }

    #[test]
    fn env_overrides_secrets() {
        let mut c = Config::parse(GOOD).unwrap();
        c.apply_env(|k| match k {
            "ACTIVITYD_API_TOKEN" => Some("t0k".into()),
            "ACTIVITYD_MQTT_PASSWORD" => Some("pw".into()),
            _ => None,
        });
        assert_eq!(c.api.token, "t0k");
        assert_eq!(c.mqtt.password, "pw");
        assert_eq!(c.mqtt.username, "");
    }
}
