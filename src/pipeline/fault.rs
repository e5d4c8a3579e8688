//! Test-only faults (cargo feature `fault-injection`, used by `make test`; never in packages).

use std::time::Duration;

use super::analysis::{Analysis, Stage, StageError};
use crate::classify::Segment;
use crate::events::{Event, EventKind};
use crate::frame::Frame;
use crate::shutdown::Shutdown;

/// Blocks the worker forever (until shutdown) after `ACTIVITYD_FAULT_STALL_AFTER` frames,
/// as a hung inference call would.
pub struct StallStage {
    after: u64,
    seen: u64,
    shutdown: Shutdown,
}

impl StallStage {
    pub fn from_env(shutdown: Shutdown) -> Option<StallStage> {
        let after = std::env::var("ACTIVITYD_FAULT_STALL_AFTER")
            .ok()?
            .parse()
            .ok()?;
        Some(StallStage {
            after,
            seen: 0,
            shutdown,
        })
    }
}

/// Replaces the frame's events with a synthetic segment end every
/// `ACTIVITYD_FAULT_EVENTS_EVERY` frames, numbered by its start time (0, 1, 2, …), so tests
/// can check the delivery of many events exactly.
pub struct EventStage {
    every: u64,
    seen: u64,
    next: u64,
}

impl EventStage {
    pub fn from_env() -> Option<EventStage> {
        let every = std::env::var("ACTIVITYD_FAULT_EVENTS_EVERY")
            .ok()?
            .parse()
            .ok()?;
        Some(EventStage {
            every,
            seen: 0,
            next: 0,
        })
    }
}

impl Stage for EventStage {
    fn name(&self) -> &'static str {
        "fault-events"
    }
    fn process(&mut self, _frame: &Frame, a: &mut Analysis) -> Result<(), StageError> {
        self.seen += 1;
        a.events.clear();
        if self.seen.is_multiple_of(self.every.max(1)) {
            let start = self.next as f64;
            a.events.push(Event {
                kind: EventKind::Ended(Segment {
                    class: 5,
                    activity: "still".into(),
                    start,
                    end: start + 0.5,
                    confidence: 1.0,
                }),
                ts: a.clock().wall_at(start + 0.5),
                person: None,
            });
            self.next += 1;
        }
        Ok(())
    }
}

impl Stage for StallStage {
    fn name(&self) -> &'static str {
        "fault-stall"
    }
    fn process(&mut self, _frame: &Frame, _a: &mut Analysis) -> Result<(), StageError> {
        self.seen += 1;
        if self.seen > self.after {
            tracing::warn!("fault injection: stalling this worker");
            while !self.shutdown.sleep(Duration::from_secs(3600)) {}
        }
        Ok(())
    }
}
