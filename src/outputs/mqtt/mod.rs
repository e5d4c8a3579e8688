//! MQTT output: what the cameras see, for home-automation systems (topics under
//! `<base_topic>/<device_id>`, see `docs/interfaces.md`).
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
//!
//! * [`topics`]: topic names; [`discovery`]: the Home Assistant device document;
//!   [`messages`]: state and events as MQTT messages; [`queue`]: the bounded queue;
//!   [`client`]: the connection and its loop.

pub mod client;
pub mod discovery;
pub mod messages;
pub mod queue;
pub mod topics;

pub use client::MqttOutput;
