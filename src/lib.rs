//! activityd: watches a camera and says what the person in front of it is doing.
//!
//! # Layout
//!
//! Data flows one way, and the modules follow it:
//!
//! ```text
//!  capture ──Frame──▶ pipeline (worker thread per camera) ──Analysis──▶ outputs
//!  (GStreamer,        runs the inference Stages in order:               (MQTT, HTTP,
//!   V4L2; one         pose → features → classify → events              metrics; on the
//!   thread each)                                                        tokio runtime)
//! ```
//!
//! * [`config`]: the TOML file, validated, with environment overrides for secrets.
//! * [`frame`]: one RGB image with its timestamps, the unit capture produces.
//! * [`capture`]: one thread per camera; sources, reconnection with backoff, the newest-wins
//!   hand-off to the worker, and each camera's [`capture::CameraStatus`].
//! * [`pipeline`]: the worker thread per camera and the [`pipeline::Stage`] trait every
//!   inference step implements.
//! * [`health`]: healthy / degraded / unhealthy, from every camera's and worker's status.
//! * [`systemd`]: `READY=1`, `STATUS=`, and watchdog pings only while workers make progress.
//! * [`daemon`]: `activityd run` — starts the above and stops it on SIGTERM/SIGINT.
//! * [`shutdown`]: the one shutdown signal handed to every thread and task.
//! * [`logging`]: journald under systemd, else text or JSON on stderr.

pub mod bench;
pub mod capture;
pub mod classify;
pub mod config;
pub mod daemon;
pub mod features;
pub mod frame;
pub mod fuzzing;
pub mod health;
pub mod http;
pub mod landmarks;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod mqtt;
pub mod offline;
pub mod overlay;
pub mod pipeline;
pub mod pose;
pub mod shutdown;
pub mod systemd;
pub mod timeline;
