//! The per-camera worker: a blocking thread that takes the newest frame from capture, runs the
//! inference stages over it in order, and publishes the resulting [`Analysis`].
//!
//! Stages implement [`Stage`]; the worker knows nothing about pose or activities. Each loop
//! iteration (a frame processed, or an idle wait) refreshes the worker's heartbeat, which the
//! systemd watchdog and `/health` read: a stage that hangs stops the heartbeat.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::analysis::{Analysis, AnalysisSender, Stage};
use crate::capture::status::{Counter, RateMeter};
use crate::capture::{CameraState, CameraStatus, Slot, Take};
use crate::frame::Frame;
use crate::shutdown::Shutdown;

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
    // The last analysed frame's record, without its results: what the source's end is dated by.
    let mut last: Option<Analysis> = None;
    while !shutdown.is_triggered() {
        status.beat();
        let frame = match slot.take(Duration::from_millis(200)) {
            Take::Item(f) => f,
            Take::Empty => continue,
            Take::Closed => {
                // A file played to its end: what it showed last is decided now, as the offline
                // commands decide a file's last moments, instead of never.
                if camera.state() == CameraState::Ended
                    && let Some(mut end) = last.take()
                {
                    for stage in stages.iter_mut() {
                        stage.finish(&mut end);
                    }
                    let _ = out.send(Arc::new(end));
                }
                break;
            }
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
        last = Some(Analysis::closing(&analysis));
        // No receiver (e.g. during shutdown) is fine.
        let _ = out.send(Arc::new(analysis));
    }
    tracing::debug!(camera = %camera.id, "worker stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::StageError;

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
