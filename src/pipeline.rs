//! The per-camera worker: a blocking thread that takes the newest frame from capture, runs the
//! inference stages over it in order, and publishes the resulting [`Analysis`].
//!
//! Stages implement [`Stage`]; the worker knows nothing about pose or activities. Each loop
//! iteration (a frame processed, or an idle wait) refreshes the worker's heartbeat, which the
//! systemd watchdog and `/health` read: a stage that hangs stops the heartbeat.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use crate::capture::status::{Counter, RateMeter};
use crate::capture::{CameraStatus, Slot, Take};
use crate::frame::Frame;
use crate::shutdown::Shutdown;

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
}

/// Everything the stages found out about one frame; what outputs receive.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub camera: Arc<str>,
    pub seq: u64,
    /// Camera timeline, seconds.
    pub t: f64,
    pub wall: SystemTime,
    pub width: u32,
    pub height: u32,
    /// Capture → worker hand-off latency.
    pub handoff: Duration,
    /// The person's pose, when the pose stage found one.
    pub pose: Option<crate::pose::Pose>,
    /// The pose stage ran on this frame (so `pose: None` means nobody is there).
    pub pose_ran: bool,
    /// The activity decided for this frame, when the classify stage ran.
    pub activity: Option<crate::classify::FrameActivity>,
    /// Activities that started or ended at this frame.
    pub changes: Vec<crate::classify::Change>,
    /// A Timed Up and Go test completed at this frame.
    pub tug: Option<crate::classify::TugResult>,
    pub timings: Timings,
}

impl Analysis {
    pub fn new(camera: Arc<str>, frame: &Frame) -> Analysis {
        Analysis {
            camera,
            seq: frame.seq,
            t: frame.t,
            wall: frame.wall,
            width: frame.width,
            height: frame.height,
            handoff: frame.captured_at.elapsed(),
            pose: None,
            pose_ran: false,
            activity: None,
            changes: Vec::new(),
            tug: None,
            timings: Timings::default(),
        }
    }
}

/// A stage failed on one frame; the worker logs it, counts it and goes on with the next frame.
#[derive(Debug, thiserror::Error)]
#[error("{stage}: {message}")]
pub struct StageError {
    pub stage: &'static str,
    pub message: String,
}

/// One inference step run on every analysed frame.
pub trait Stage: Send {
    fn name(&self) -> &'static str;
    fn process(&mut self, frame: &Frame, analysis: &mut Analysis) -> Result<(), StageError>;
}

/// What the rest of the daemon can see of a worker.
#[derive(Debug)]
pub struct WorkerStatus {
    epoch: Instant,
    heartbeat_ms: AtomicU64,
    /// Frames that went through every stage.
    pub processed: Counter,
    pub errors: Counter,
    /// Analysed frames per second.
    pub fps: RateMeter,
    /// Last frame's total inference time, microseconds.
    pub last_inference_us: AtomicU64,
}

impl Default for WorkerStatus {
    fn default() -> Self {
        WorkerStatus {
            epoch: Instant::now(),
            heartbeat_ms: AtomicU64::new(0),
            processed: Counter::default(),
            errors: Counter::default(),
            fps: RateMeter::default(),
            last_inference_us: AtomicU64::new(0),
        }
    }
}

impl WorkerStatus {
    fn beat(&self) {
        self.heartbeat_ms
            .store(self.epoch.elapsed().as_millis() as u64, Ordering::SeqCst);
    }

    /// Time since the worker last finished a loop iteration.
    pub fn since_heartbeat(&self) -> Duration {
        let now = self.epoch.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.heartbeat_ms.load(Ordering::SeqCst)))
    }

    pub fn last_inference_ms(&self) -> f64 {
        self.last_inference_us.load(Ordering::Relaxed) as f64 / 1000.0
    }
}

/// Where a worker sends each analysis.
pub type AnalysisSender = tokio::sync::broadcast::Sender<Arc<Analysis>>;

/// A running worker thread.
pub struct Worker {
    pub status: Arc<WorkerStatus>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Worker {
    /// Starts the worker for one camera.
    pub fn spawn(
        camera: Arc<CameraStatus>,
        slot: Arc<Slot<Frame>>,
        stages: Vec<Box<dyn Stage>>,
        out: AnalysisSender,
        shutdown: Shutdown,
    ) -> std::io::Result<Worker> {
        let status = Arc::new(WorkerStatus::default());
        status.beat();
        let st = status.clone();
        let thread = std::thread::Builder::new()
            .name(format!("worker-{}", camera.id))
            .spawn(move || run(&camera, &slot, stages, &st, &out, &shutdown))?;
        Ok(Worker {
            status,
            thread: Some(thread),
        })
    }

    /// Waits until `deadline` for the thread to finish; returns `false` if it did not.
    pub fn join_by(mut self, deadline: Instant) -> bool {
        self.thread
            .take()
            .is_none_or(|t| crate::shutdown::join_by(t, deadline))
    }
}

fn run(
    camera: &CameraStatus,
    slot: &Slot<Frame>,
    mut stages: Vec<Box<dyn Stage>>,
    status: &WorkerStatus,
    out: &AnalysisSender,
    shutdown: &Shutdown,
) {
    let name: Arc<str> = Arc::from(camera.id.as_str());
    while !shutdown.is_triggered() {
        status.beat();
        let frame = match slot.take(Duration::from_millis(200)) {
            Take::Item(f) => f,
            Take::Empty => continue,
            Take::Closed => break,
        };
        let mut analysis = Analysis::new(name.clone(), &frame);
        let mut failed = false;
        for stage in stages.iter_mut() {
            if let Err(e) = stage.process(&frame, &mut analysis) {
                status.errors.inc();
                tracing::warn!(camera = %camera.id, error = %e, "stage failed on a frame");
                failed = true;
                break;
            }
        }
        drop(frame);
        if failed {
            continue;
        }
        status.processed.inc();
        status.fps.tick();
        status.last_inference_us.store(
            analysis.timings.total().as_micros() as u64,
            Ordering::Relaxed,
        );
        tracing::trace!(camera = %camera.id, t = analysis.t, timings = ?analysis.timings.steps, "frame analysed");
        // No receiver (e.g. during shutdown) is fine.
        let _ = out.send(Arc::new(analysis));
    }
    tracing::debug!(camera = %camera.id, "worker stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Doubler;
    impl Stage for Doubler {
        fn name(&self) -> &'static str {
            "doubler"
        }
        fn process(&mut self, frame: &Frame, a: &mut Analysis) -> Result<(), StageError> {
            if frame.width == 3 {
                return Err(StageError {
                    stage: "doubler",
                    message: "odd".into(),
                });
            }
            a.timings.record("doubler", Duration::from_micros(5));
            Ok(())
        }
    }

    #[test]
    fn worker_runs_stages_and_publishes() {
        let camera = Arc::new(CameraStatus::new("c"));
        let slot = Arc::new(Slot::new());
        let (tx, mut rx) = tokio::sync::broadcast::channel(16);
        let shutdown = Shutdown::new();
        let w = Worker::spawn(
            camera,
            slot.clone(),
            vec![Box::new(Doubler)],
            tx,
            shutdown.clone(),
        )
        .unwrap();
        slot.put(Frame::from_rgb(2, 1, vec![0; 6], 1.5));
        let a = loop {
            match rx.try_recv() {
                Ok(a) => break a,
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        };
        assert_eq!(a.t, 1.5);
        assert_eq!(a.timings.steps, vec![("doubler", Duration::from_micros(5))]);
        slot.put(Frame::from_rgb(3, 1, vec![0; 9], 2.0));
        let deadline = Instant::now() + Duration::from_secs(5);
        while w.status.errors.get() == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(w.status.errors.get(), 1);
        assert_eq!(w.status.processed.get(), 1);
        assert!(w.status.since_heartbeat() < Duration::from_secs(2));
        shutdown.trigger();
        assert!(w.join_by(Instant::now() + Duration::from_secs(2)));
    }
}

/// Test-only faults (cargo feature `fault-injection`, used by `make test`; never in packages).
#[cfg(feature = "fault-injection")]
pub mod fault {
    use super::*;

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

    /// Replaces the classifier's changes with a synthetic segment end every
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
            a.changes.clear();
            if self.seen.is_multiple_of(self.every.max(1)) {
                a.changes
                    .push(crate::classify::Change::Ended(crate::classify::Segment {
                        class: 5,
                        activity: "still".into(),
                        start: self.next as f64,
                        end: self.next as f64 + 0.5,
                        confidence: 1.0,
                    }));
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
}
