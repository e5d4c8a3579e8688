//! The service around the pipeline: `activityd run` and how it lives under systemd.
//!
//! * [`daemon`]: starts capture, workers and outputs, and stops them on SIGTERM/SIGINT.
//! * [`systemd`]: `READY=1`, `STATUS=`, and watchdog pings only while workers make progress.
//! * [`logging`]: journald under systemd, else text or JSON on stderr.

pub mod daemon;
pub mod logging;
pub mod systemd;
