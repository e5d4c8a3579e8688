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
//! * [`capture`]: one thread per camera; sources, the `process_fps` gate they apply before
//!   converting a frame, reconnection with backoff, the newest-wins hand-off to the worker,
//!   and each camera's [`capture::CameraStatus`].
//! * [`pipeline`]: the worker thread per camera and the [`pipeline::Stage`] trait every
//!   inference step implements.
//! * [`model`]: loading ONNX models into tract (the only inference engine) and their cards.
//! * [`pose`]: BlazePose — person detector, landmark model on a rotated crop, tracking.
//! * [`landmarks`]: the landmark frame, the contract between pose and everything after it.
//! * [`features`]: 109 numbers per frame describing the last two seconds of movement.
//! * [`classify`]: the activity model, temporal decoding into segments, and TUG timing.
//! * [`mqtt`], [`http`], [`metrics`]: the outputs, on the tokio runtime.
//! * [`offline`], [`overlay`], [`timeline`], [`bench`](mod@bench): the commands that work on files.
//! * [`health`]: healthy / degraded / unhealthy, from every camera's and worker's status.
//! * [`systemd`]: `READY=1`, `STATUS=`, and watchdog pings only while workers make progress.
//! * [`daemon`]: `activityd run` — starts the above and stops it on SIGTERM/SIGINT.
//! * [`shutdown`]: the one shutdown signal handed to every thread and task.
//! * [`logging`]: journald under systemd, else text or JSON on stderr.
//! * [`fuzzing`]: entry points for the fuzz targets, parsers that face the outside world.

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
