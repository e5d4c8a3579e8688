//! The outputs, on the tokio runtime: what the daemon tells the world. Each reads the
//! workers' analyses (their [`events`](crate::events) and state) through
//! [`Analyses`](crate::pipeline::Analyses), or serves requests.
//!
//! * [`mqtt`]: state, events and Timed Up and Go results for home automation, with Home
//!   Assistant discovery.
//! * [`http`]: the API and the web page (health, model info, metrics, predict endpoints,
//!   the live view, TUG trials).
//! * [`live`]: each camera's live view (landmarks, activity, recent segments, events and
//!   tests) for the web page, and the page's message stream.
//! * [`trials`]: Timed Up and Go trials armed by a clinician, completed by the next test.
//! * [`metrics`]: the Prometheus registry behind `/metrics`.
//! * [`log_events`]: every activity start and end, and each test, in the daemon's log.

pub mod http;
pub mod live;
pub mod metrics;
pub mod mqtt;
pub mod trials;

use crate::events::EventKind;
use crate::pipeline::Analyses;

/// Logs every activity that starts or ends, and each Timed Up and Go test, as they happen.
pub async fn log_events(mut analyses: Analyses) {
    while let Some(a) = analyses.next().await {
        for e in &a.events {
            match &e.kind {
                EventKind::Started {
                    activity,
                    start,
                    confidence,
                } => {
                    tracing::info!(camera = %a.camera, activity = %activity, at = format!("{start:.2}"), confidence = format!("{confidence:.2}"), "activity started")
                }
                EventKind::Ended(s) => {
                    tracing::info!(camera = %a.camera, activity = %s.activity, start = format!("{:.2}", s.start), end = format!("{:.2}", s.end), confidence = format!("{:.2}", s.confidence), "activity ended")
                }
                EventKind::NobodyInView { at } => {
                    tracing::info!(camera = %a.camera, at = format!("{at:.2}"), "nobody in view")
                }
                EventKind::Tug(t) => {
                    tracing::info!(camera = %a.camera, total_s = t.total_s, phases = t.phases.len(), person = t.person, "Timed Up and Go completed")
                }
                EventKind::Zone(z) => {
                    tracing::info!(camera = %a.camera, zone = %z.zone, person = z.person, phase = z.phase, at = format!("{:.2}", z.at), dwell_s = z.dwell_s, "zone")
                }
            }
        }
    }
}
