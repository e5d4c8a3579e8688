//! activityd: watches a camera and says what the person in front of it is doing.
//!
//! # Layout
//!
//! Data flows one way, and the module tree follows it: each module below uses only modules
//! listed before it, so there are no import cycles (`tests/layout.rs` checks both).
//!
//! ```text
//!  capture ──Frame──▶ pipeline: one worker thread per camera runs the Analyser ──Analysis──▶ outputs
//!  (GStreamer,        (pose → landmarks → features → classify), then events       (MQTT, HTTP,
//!   V4L2, recorded                                                                 metrics, log)
//!   landmarks)
//! ```
//!
//! Foundations, used throughout:
//! * [`config`]: the TOML file, validated, with environment overrides for secrets; camera
//!   source strings ([`config::SourceSpec`]).
//! * [`landmarks`]: the landmark frame, the contract between pose and everything after it.
//! * [`frame`]: one RGB image with its timestamps, the unit capture produces (or, replayed
//!   from a landmark file, the landmarks recorded for one frame in its place).
//! * [`memory`]: the process's allocator: large blocks (weights, activations) from cached
//!   mappings, the rest glibc's.
//! * [`model`]: loading ONNX models into tract (the only inference engine) and their cards.
//! * [`timings`]: per-step timings of a frame or a request.
//! * [`shutdown`]: the one shutdown signal handed to every thread and task.
//! * [`threads`]: thread priorities (the cameras first).
//!
//! The flow:
//! * [`capture`]: one thread per camera; sources (video, or recorded landmarks replayed in
//!   real time), the `process_fps` gate, reconnection with backoff, the newest-wins hand-off
//!   to the worker, each camera's status.
//! * [`pose`]: BlazePose — person detector, landmark model on a rotated crop, tracking up to
//!   `max_people` people with stable ids.
//! * [`zones`]: named areas of a camera's image, who is in each (by where they stand) and for
//!   how long.
//! * [`features`]: 109 numbers per frame describing the last two seconds of movement.
//! * [`classify`]: the activity model, temporal decoding into segments, Timed Up and Go
//!   timing, and the annotation document of a file.
//! * [`events`]: what a classified frame means to the outside world (state; activity
//!   started/ended, nobody in view, test completed, zone entered/left; whose; wall-clock
//!   times), worked out once.
//! * [`pipeline`]: the [`Analyser`](pipeline::Analyser) that drives pose → classify for
//!   every caller (recorded landmarks skip pose), the per-camera worker thread, and the
//!   [`Analysis`](pipeline::Analysis) every output reads.
//! * [`health`]: healthy / degraded / unhealthy, from every camera's and worker's status.
//! * [`offline`]: the commands that work on files (pose, annotate, features, bench) and the
//!   analysis behind the predict endpoints.
//! * [`outputs`]: MQTT, the HTTP API, Prometheus metrics and the event log, on tokio.
//! * [`service`]: `activityd run` (the daemon), systemd notification, logging.
//! * [`fuzzing`]: entry points for the fuzz targets, parsers that face the outside world.

pub mod capture;
pub mod classify;
pub mod config;
pub(crate) mod events;
pub mod features;
pub mod frame;
pub mod fuzzing;
pub(crate) mod health;
pub mod landmarks;
pub mod memory;
pub mod model;
pub mod offline;
pub(crate) mod outputs;
pub mod pipeline;
pub mod pose;
pub mod service;
pub mod shutdown;
pub(crate) mod threads;
pub mod timings;
pub mod zones;
