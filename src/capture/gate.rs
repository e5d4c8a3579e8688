//! The `process_fps` cap, applied where passing a frame over is cheapest, and the count of
//! every frame a camera delivers.
//!
//! Sources ask [`FrameGate::admit`] before they spend anything on a frame: GStreamer pipelines
//! in a pad probe ahead of colour conversion and scaling, V4L2 before decoding MJPEG or
//! converting YUYV. A frame passed over costs only its decoding from the video stream (for an
//! RTSP or file source) or nothing at all (V4L2).

use std::sync::{Arc, Mutex};

use super::CameraStatus;

/// Lets through at most `fps` frames per second of source time (0 = all).
#[derive(Debug)]
pub struct RateGate {
    period: f64,
    next: f64,
    last: f64,
}

impl RateGate {
    pub fn new(fps: f32) -> RateGate {
        RateGate {
            period: if fps > 0.0 { 1.0 / fps as f64 } else { 0.0 },
            next: f64::NEG_INFINITY,
            last: f64::NEG_INFINITY,
        }
    }

    /// Should the frame at `t` be analysed?
    pub fn admit(&mut self, t: f64) -> bool {
        if self.period == 0.0 {
            return true;
        }
        if t < self.last {
            // The source's clock restarted (a looping file, a reconnect): start afresh.
            self.next = f64::NEG_INFINITY;
        }
        self.last = t;
        // A few ms of slack so that 30 fps → 10 fps takes every third frame despite jitter.
        if t + 0.005 < self.next {
            return false;
        }
        self.next = if self.next + self.period > t {
            self.next + self.period
        } else {
            t + self.period
        };
        true
    }
}

/// One camera's gate: its [`RateGate`], and the counters of the frames it saw and passed over.
/// Shared between the capture thread and GStreamer's streaming thread.
#[derive(Debug)]
pub struct FrameGate {
    rate: Mutex<RateGate>,
    status: Arc<CameraStatus>,
}

impl FrameGate {
    pub fn new(process_fps: f32, status: Arc<CameraStatus>) -> Arc<FrameGate> {
        Arc::new(FrameGate {
            rate: Mutex::new(RateGate::new(process_fps)),
            status,
        })
    }

    /// Counts a frame the source delivered at `t` (seconds on the source's clock) and says
    /// whether to convert and analyse it; a frame it refuses is counted as skipped.
    pub fn admit(&self, t: f64) -> bool {
        self.status.on_frame();
        let admitted = self.rate.lock().unwrap_or_else(|e| e.into_inner()).admit(t);
        if !admitted {
            self.status.skipped.inc();
        }
        admitted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_gate_takes_every_third_frame_of_30fps_at_10() {
        let mut g = RateGate::new(10.0);
        let admitted: Vec<usize> = (0..30)
            .filter(|&i| g.admit(i as f64 / 30.0 + if i % 2 == 0 { 0.001 } else { -0.001 }))
            .collect();
        assert_eq!(admitted.len(), 10, "{admitted:?}");
        let mut all = RateGate::new(0.0);
        assert!((0..5).all(|i| all.admit(i as f64)));
    }

    #[test]
    fn rate_gate_starts_afresh_when_the_clock_restarts() {
        let mut g = RateGate::new(5.0);
        let first: usize = (0..60).filter(|&i| g.admit(i as f64 / 30.0)).count();
        // A looping 2 s clip starts again at 0: the gate must not wait for t = 2.2 s.
        let again: usize = (0..30).filter(|&i| g.admit(i as f64 / 30.0)).count();
        assert_eq!((first, again), (10, 5));
    }

    #[test]
    fn frame_gate_counts_seen_and_skipped() {
        let status = Arc::new(CameraStatus::new("c"));
        let gate = FrameGate::new(10.0, status.clone());
        let passed = (0..30).filter(|&i| gate.admit(i as f64 / 30.0)).count();
        assert_eq!(passed, 10);
        assert_eq!((status.frames.get(), status.skipped.get()), (30, 20));
    }
}
