//! What the rest of the daemon can see of a camera: its state, counters and frame rate.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where a camera's capture is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum CameraState {
    Starting = 0,
    Streaming = 1,
    Retrying = 2,
    /// Gave up: retrying cannot help (see `last_error`).
    Failed = 3,
    /// A file without `loop` played to its end.
    Ended = 4,
}

impl CameraState {
    pub fn as_str(self) -> &'static str {
        match self {
            CameraState::Starting => "starting",
            CameraState::Streaming => "streaming",
            CameraState::Retrying => "retrying",
            CameraState::Failed => "failed",
            CameraState::Ended => "ended",
        }
    }

    fn from_u8(v: u8) -> CameraState {
        match v {
            1 => CameraState::Streaming,
            2 => CameraState::Retrying,
            3 => CameraState::Failed,
            4 => CameraState::Ended,
            _ => CameraState::Starting,
        }
    }
}

/// A monotonically increasing count shared between threads.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Events per second over roughly the last second (0 when events stop).
#[derive(Debug)]
pub struct RateMeter {
    inner: Mutex<RateInner>,
}

#[derive(Debug)]
struct RateInner {
    window_start: Instant,
    count: u32,
    rate: f64,
    last_event: Option<Instant>,
}

impl Default for RateMeter {
    fn default() -> Self {
        RateMeter {
            inner: Mutex::new(RateInner {
                window_start: Instant::now(),
                count: 0,
                rate: 0.0,
                last_event: None,
            }),
        }
    }
}

impl RateMeter {
    pub fn tick(&self) {
        let now = Instant::now();
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if g.last_event
            .is_none_or(|t| now - t > Duration::from_secs(2))
        {
            // Restart the window after a pause so old silence does not dilute the rate.
            g.window_start = now;
            g.count = 0;
        }
        g.count += 1;
        g.last_event = Some(now);
        let elapsed = now - g.window_start;
        if elapsed >= Duration::from_secs(1) {
            g.rate = (g.count - 1) as f64 / elapsed.as_secs_f64();
            g.window_start = now;
            g.count = 1;
        }
    }

    pub fn rate(&self) -> f64 {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match g.last_event {
            Some(t) if t.elapsed() < Duration::from_secs(2) => g.rate,
            _ => 0.0,
        }
    }
}

/// One camera's capture state and counters.
#[derive(Debug)]
pub struct CameraStatus {
    pub id: String,
    state: AtomicU8,
    /// Frames captured.
    pub frames: Counter,
    /// Frames replaced in the hand-off before the worker took them (inference was behind).
    pub dropped: Counter,
    /// Frames passed over on purpose by the `process_fps` cap.
    pub skipped: Counter,
    /// Times the source was reopened.
    pub reconnects: Counter,
    /// Capture frame rate.
    pub fps: RateMeter,
    last_error: Mutex<Option<String>>,
}

impl CameraStatus {
    pub fn new(id: &str) -> CameraStatus {
        CameraStatus {
            id: id.to_string(),
            state: AtomicU8::new(CameraState::Starting as u8),
            frames: Counter::default(),
            dropped: Counter::default(),
            skipped: Counter::default(),
            reconnects: Counter::default(),
            fps: RateMeter::default(),
            last_error: Mutex::new(None),
        }
    }

    pub fn state(&self) -> CameraState {
        CameraState::from_u8(self.state.load(Ordering::SeqCst))
    }

    pub fn set_state(&self, s: CameraState) {
        self.state.store(s as u8, Ordering::SeqCst);
    }

    pub fn set_error(&self, msg: &str) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(msg.to_string());
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Records a captured frame.
    pub fn on_frame(&self) {
        self.frames.inc();
        self.fps.tick();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_meter_measures_rate() {
        let m = RateMeter::default();
        assert_eq!(m.rate(), 0.0);
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(1100) {
            m.tick();
            std::thread::sleep(Duration::from_millis(20));
        }
        let r = m.rate();
        // ~50/s nominal; sleeping can only make it slower, a loaded machine much slower.
        assert!(r > 5.0 && r <= 51.0, "{r}");
    }

    #[test]
    fn state_round_trips() {
        let s = CameraStatus::new("c");
        for st in [
            CameraState::Starting,
            CameraState::Streaming,
            CameraState::Retrying,
            CameraState::Failed,
            CameraState::Ended,
        ] {
            s.set_state(st);
            assert_eq!(s.state(), st);
        }
    }
}
