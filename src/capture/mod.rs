//! Capture: one thread per camera turns a source (GStreamer pipeline or V4L2 device) into RGB
//! frames with timestamps, and hands the newest one to the camera's worker. A `landmarks:`
//! source replays recorded landmark frames instead, in real time ([`landmarks`]).
//!
//! The thread owns reconnection: a source that cannot open, errors or stalls is retried with
//! exponential backoff (0.5 s doubling to 5 s) until shutdown, never a panic. Its state and
//! counters live in a shared [`CameraStatus`] that health, metrics and systemd read.

pub mod gate;
pub mod gst;
pub mod handoff;
pub mod landmarks;
pub mod status;
pub mod v4l2;

use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use crate::config::SourceSpec;
use crate::config::{CameraConfig, PixelFormat};
use crate::frame::Frame;
use crate::shutdown::Shutdown;
pub use gate::FrameGate;
pub use handoff::{Slot, Take};
pub use status::{CameraState, CameraStatus};

/// Why capture failed.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// Worth retrying: the device or stream may come back.
    #[error("{0}")]
    Transient(String),
    /// Retrying cannot help (bad pipeline syntax, missing element, unsupported device).
    #[error("{0}")]
    Permanent(String),
    /// A file without `loop` has ended.
    #[error("end of stream")]
    Ended,
}

/// What a capture source must provide: the next frame, or `Ok(None)` when none came in
/// `timeout` (so the caller can check for shutdown) or the gate passed over the one that did.
pub trait FrameSource {
    fn next_frame(&mut self, timeout: Duration) -> Result<Option<Frame>, CaptureError>;

    /// Whether a long wait for frames means the source is stuck (and is reopened after
    /// `STALL_TIMEOUT`). Not so for a recording, whose own pauses are waited out.
    fn can_stall(&self) -> bool {
        true
    }
}

/// The settings a source is opened with.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    pub spec: SourceSpec,
    /// A file (video or landmarks) starts again at its end.
    pub looping: bool,
    /// Pace file playback to real time (like a camera) rather than decoding flat out.
    pub realtime: bool,
    pub fps: u32,
    pub width: u32,
    pub height: u32,
    pub max_width: u32,
    pub format: PixelFormat,
}

impl SourceOptions {
    pub fn from_camera(cam: &CameraConfig, spec: SourceSpec) -> SourceOptions {
        SourceOptions {
            spec,
            looping: cam.loop_,
            realtime: true,
            fps: cam.fps,
            width: cam.width,
            height: cam.height,
            max_width: cam.max_width,
            format: cam.format,
        }
    }

    /// Options for reading a file as fast as it decodes (offline commands, benchmarks).
    pub fn offline_file(path: PathBuf) -> SourceOptions {
        SourceOptions {
            spec: SourceSpec::File(path),
            looping: false,
            realtime: false,
            fps: 30,
            width: 0,
            height: 0,
            max_width: 0,
            format: PixelFormat::Auto,
        }
    }
}

/// Opens the source `opts` describes; it asks `gate` about every frame before converting it.
pub fn open(
    opts: &SourceOptions,
    gate: &Arc<FrameGate>,
) -> Result<Box<dyn FrameSource + Send>, CaptureError> {
    match &opts.spec {
        SourceSpec::V4l2(dev) => Ok(Box::new(v4l2::V4l2Source::open(dev, opts, gate.clone())?)),
        SourceSpec::Landmarks(path) => Ok(Box::new(landmarks::LandmarkSource::open(
            path,
            opts.looping,
            gate.clone(),
        )?)),
        _ => Ok(Box::new(gst::GstSource::open(opts, Some(gate.clone()))?)),
    }
}

/// Exponential backoff: the delay doubles from `initial` up to `cap`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    initial: Duration,
    cap: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, cap: Duration) -> Backoff {
        Backoff {
            next: initial,
            initial,
            cap,
        }
    }

    /// The delay before the next attempt; each call doubles the following one.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.cap);
        d
    }

    pub fn reset(&mut self) {
        self.next = self.initial;
    }
}

/// Maps a source's timestamps (which restart on loops and reconnects) onto one monotonic
/// camera timeline.
#[derive(Debug, Default)]
pub struct Timeline {
    offset: f64,
    last_out: Option<f64>,
    last_in: Option<f64>,
    interval: f64,
}

/// A frame's place on the camera timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stamp {
    /// Seconds on the monotonic timeline.
    pub t: f64,
    /// The source's clock went back before this frame: it restarted. (A repeated timestamp
    /// is moved on one frame interval but is not a restart.)
    pub restarted: bool,
}

impl Timeline {
    /// The timeline position for a frame stamped `pts` seconds by its source.
    pub fn map(&mut self, pts: f64) -> Stamp {
        let mut restarted = false;
        if let Some(last_in) = self.last_in {
            let step = pts - last_in;
            if step > 0.0 && step < 1.0 {
                self.interval = step;
            }
            if step <= 0.0 {
                // The source restarted: continue one frame interval after the last output.
                let gap = if self.interval > 0.0 {
                    self.interval
                } else {
                    1.0 / 30.0
                };
                self.offset = self.last_out.unwrap_or(0.0) + gap - pts;
                restarted = step < 0.0;
            }
        }
        self.last_in = Some(pts);
        let t = pts + self.offset;
        self.last_out = Some(t);
        Stamp { t, restarted }
    }
}

/// A running capture thread.
pub struct Camera {
    pub status: Arc<CameraStatus>,
    pub slot: Arc<Slot<Frame>>,
    thread: Option<JoinHandle<()>>,
}

impl Camera {
    /// Starts capturing `cam` on its own thread.
    pub fn spawn(
        cam: &CameraConfig,
        spec: SourceSpec,
        shutdown: Shutdown,
    ) -> std::io::Result<Camera> {
        let status = Arc::new(CameraStatus::new(&cam.id));
        let slot = Arc::new(Slot::new());
        let opts = SourceOptions::from_camera(cam, spec);
        let gate = FrameGate::new(cam.process_fps, status.clone());
        let (st, sl) = (status.clone(), slot.clone());
        let thread = std::thread::Builder::new()
            .name(format!("capture-{}", cam.id))
            .spawn(move || {
                capture_loop(&opts, &gate, &st, &sl, &shutdown, open);
                sl.close();
            })?;
        Ok(Camera {
            status,
            slot,
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

/// A source that opens but delivers nothing for this long is reopened.
const STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The body of a capture thread: open, stream, and on failure back off and reopen, until
/// shutdown. The sources count frames and apply `process_fps` through `gate`. `open_source`
/// is a parameter so tests can inject failing sources.
pub fn capture_loop<F>(
    opts: &SourceOptions,
    gate: &Arc<FrameGate>,
    status: &CameraStatus,
    slot: &Slot<Frame>,
    shutdown: &Shutdown,
    open_source: F,
) where
    F: Fn(&SourceOptions, &Arc<FrameGate>) -> Result<Box<dyn FrameSource + Send>, CaptureError>,
{
    // Retries are capped at 5 s so that a camera is back within 5 s of its return.
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(5));
    let mut timeline = Timeline::default();
    let mut seq = 0u64;
    let mut epoch = 0u32;
    let mut first_attempt = true;
    while !shutdown.is_triggered() {
        if !first_attempt {
            status.reconnects.inc();
        }
        first_attempt = false;
        status.set_state(CameraState::Starting);
        let err = match open_source(opts, gate) {
            Err(e) => e,
            Ok(mut source) => {
                // Frames after a reconnect do not continue the motion before it.
                if status.reconnects.get() > 0 {
                    epoch += 1;
                }
                // Frames passed over by the gate count as signs of life too.
                let (mut last_frame, mut seen) = (Instant::now(), status.frames.get());
                loop {
                    if shutdown.is_triggered() {
                        return;
                    }
                    if status.frames.get() != seen {
                        (last_frame, seen) = (Instant::now(), status.frames.get());
                    }
                    match source.next_frame(Duration::from_millis(100)) {
                        Ok(Some(mut frame)) => {
                            if status.state() != CameraState::Streaming {
                                tracing::info!(camera = %status.id, "streaming");
                                status.set_state(CameraState::Streaming);
                            }
                            backoff.reset();
                            let stamp = timeline.map(frame.t);
                            frame.t = stamp.t;
                            epoch += u32::from(stamp.restarted);
                            frame.epoch = epoch;
                            frame.seq = seq;
                            seq += 1;
                            if slot.put(frame) {
                                status.dropped.inc();
                            }
                        }
                        Ok(None) if last_frame.elapsed() > STALL_TIMEOUT && source.can_stall() => {
                            break CaptureError::Transient(format!(
                                "no frame for {} s",
                                STALL_TIMEOUT.as_secs()
                            ));
                        }
                        Ok(None) => {}
                        Err(e) => break e,
                    }
                }
            }
        };
        match err {
            CaptureError::Ended => {
                tracing::info!(camera = %status.id, "source ended");
                status.set_state(CameraState::Ended);
                return;
            }
            CaptureError::Permanent(msg) => {
                tracing::error!(camera = %status.id, error = %msg, "camera failed; not retrying");
                status.set_error(&msg);
                status.set_state(CameraState::Failed);
                return;
            }
            CaptureError::Transient(msg) => {
                let delay = backoff.next_delay();
                tracing::warn!(camera = %status.id, error = %msg, retry_in_s = delay.as_secs_f32(), "camera error; retrying");
                status.set_error(&msg);
                status.set_state(CameraState::Retrying);
                if shutdown.sleep(delay) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sources() {
        use SourceSpec::*;
        assert_eq!(
            SourceSpec::parse("file:///a/b.mp4").unwrap(),
            File("/a/b.mp4".into())
        );
        assert_eq!(
            SourceSpec::parse("file:clip.mp4").unwrap(),
            File("clip.mp4".into())
        );
        assert_eq!(SourceSpec::parse("test:").unwrap(), Test("ball".into()));
        assert_eq!(
            SourceSpec::parse("test:smpte").unwrap(),
            Test("smpte".into())
        );
        assert_eq!(
            SourceSpec::parse("v4l2:///dev/video0").unwrap(),
            V4l2("/dev/video0".into())
        );
        assert!(matches!(SourceSpec::parse("rtsp://h/s").unwrap(), Rtsp(_)));
        assert!(matches!(
            SourceSpec::parse("gst:videotestsrc").unwrap(),
            Gst(_)
        ));
        for bad in [
            "",
            "http://x",
            "file://rel",
            "v4l2://video0",
            "gst:",
            "test:a b",
        ] {
            assert!(SourceSpec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_doubles_to_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
        let got: Vec<u64> = (0..9).map(|_| b.next_delay().as_millis() as u64).collect();
        assert_eq!(
            got,
            [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(500));
    }

    #[test]
    fn timeline_is_monotonic_across_restarts() {
        let mut tl = Timeline::default();
        let stamps: Vec<Stamp> = [0.0, 0.1, 0.2, 0.0, 0.1, 0.05]
            .iter()
            .map(|&p| tl.map(p))
            .collect();
        let restarted: Vec<bool> = stamps.iter().map(|s| s.restarted).collect();
        assert_eq!(restarted, [false, false, false, true, false, true]);
        let ts: Vec<f64> = stamps.iter().map(|s| s.t).collect();
        for w in ts.windows(2) {
            assert!(w[1] > w[0], "{ts:?}");
        }
        assert!((ts[3] - 0.3).abs() < 1e-9, "{ts:?}");
        assert!((ts[4] - 0.4).abs() < 1e-9, "{ts:?}");
        // A repeated timestamp keeps the timeline moving but is no restart.
        let again = tl.map(0.05);
        assert!(again.t > ts[5] && !again.restarted, "{again:?}");
    }

    struct Scripted {
        frames: u32,
        gate: Arc<FrameGate>,
    }
    impl FrameSource for Scripted {
        fn next_frame(&mut self, _timeout: Duration) -> Result<Option<Frame>, CaptureError> {
            if self.frames == 0 {
                return Err(CaptureError::Transient("gone".into()));
            }
            self.frames -= 1;
            assert!(self.gate.admit(0.0));
            std::thread::sleep(Duration::from_millis(2));
            Ok(Some(Frame::from_rgb(2, 2, vec![0; 12], 0.0)))
        }
    }

    #[test]
    fn failing_source_is_retried_then_streams() {
        let status = Arc::new(CameraStatus::new("t"));
        let gate = FrameGate::new(0.0, status.clone());
        let slot = Slot::new();
        let shutdown = Shutdown::new();
        let attempts = std::sync::atomic::AtomicU32::new(0);
        let opts = SourceOptions::offline_file("/nonexistent".into());
        let sd = shutdown.clone();
        std::thread::scope(|s| {
            s.spawn(|| {
                capture_loop(&opts, &gate, &status, &slot, &sd, |_, gate| {
                    let n = attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    if n < 2 {
                        Err(CaptureError::Transient("not there yet".into()))
                    } else {
                        Ok(Box::new(Scripted {
                            frames: 5,
                            gate: gate.clone(),
                        }))
                    }
                })
            });
            // 0.5 s + 1 s of backoff, then frames.
            let deadline = Instant::now() + Duration::from_secs(5);
            while status.frames.get() < 5 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            shutdown.trigger();
        });
        assert_eq!(status.frames.get(), 5);
        assert!(status.reconnects.get() >= 2);
        // The source that streamed was opened after reconnects: a new epoch, and its frames
        // (all stamped 0.0) stay in it.
        match slot.take(Duration::ZERO) {
            Take::Item(f) => assert_eq!(f.epoch, 1),
            _ => panic!("no frame in the slot"),
        }
        assert!(
            status.dropped.get() >= 1,
            "frames were not taken, so most were dropped"
        );
    }
}
