//! Per-step timings of one frame (or one request): what the JSON logs, `/metrics` and
//! `activityd bench` report per stage. Every stage records into the same [`Timings`].

use std::time::{Duration, Instant};

/// Time spent in each named step of one frame, in order.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    pub steps: Vec<(&'static str, Duration)>,
}

impl Timings {
    pub fn record(&mut self, step: &'static str, d: Duration) {
        self.steps.push((step, d));
    }

    /// Runs `f`, recording how long it took under `step`.
    pub fn time<T>(&mut self, step: &'static str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        self.record(step, start.elapsed());
        out
    }

    pub fn total(&self) -> Duration {
        self.steps.iter().map(|s| s.1).sum()
    }

    /// Adds `other`'s steps after these.
    pub fn extend(&mut self, other: &Timings) {
        self.steps.extend_from_slice(&other.steps);
    }
}
