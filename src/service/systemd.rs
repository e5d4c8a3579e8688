//! systemd integration: `READY=1`, `STATUS=` lines, `STOPPING=1`, and `WATCHDOG=1` pings sent
//! only while every camera worker is making progress — a stuck worker stops the pings and
//! systemd restarts the service.
//!
//! Without `NOTIFY_SOCKET` (not under systemd) every call is a silent no-op. A socket that has
//! gone away is logged, never fatal.

use std::sync::Arc;
use std::time::Duration;

use sd_notify::NotifyState;

use crate::health::Health;
use crate::shutdown::Shutdown;

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

pub fn ready() {
    send(&[NotifyState::Ready]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

pub fn status(line: &str) {
    send(&[NotifyState::Status(line)]);
}

/// How often to ping the watchdog: half of `WATCHDOG_USEC`, if systemd asked for pings.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled().map(|d| d / 2)
}

/// Sends `STATUS=` every few seconds and, when the watchdog is on, `WATCHDOG=1` while no
/// worker has stalled. Runs until shutdown.
pub async fn supervise(health: Arc<Health>, shutdown: Shutdown) {
    let watchdog = watchdog_interval();
    let tick = watchdog
        .unwrap_or(Duration::from_secs(5))
        .min(Duration::from_secs(5))
        .max(Duration::from_millis(50));
    let mut interval = tokio::time::interval(tick);
    let mut status_due = tokio::time::Instant::now();
    let mut was_stalled = false;
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.wait() => return,
        }
        let stalled = health.stalled_workers();
        if stalled.is_empty() {
            if watchdog.is_some() {
                send(&[NotifyState::Watchdog]);
            }
            if was_stalled {
                tracing::info!("all workers making progress again");
            }
            was_stalled = false;
        } else if !was_stalled {
            tracing::error!(workers = ?stalled, "worker stalled: withholding WATCHDOG=1");
            was_stalled = true;
        }
        if tokio::time::Instant::now() >= status_due {
            status(&health.status_line());
            status_due += Duration::from_secs(5);
        }
    }
}
