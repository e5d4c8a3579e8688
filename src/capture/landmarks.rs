//! A camera that replays recorded landmark frames (`source = "landmarks:FILE.jsonl"`).
//!
//! The file (JSON Lines, as `activityd pose` writes it; see [`crate::landmarks`]) is read and
//! validated when the camera opens: a missing file is retried like a missing video file, a bad
//! line fails the camera with its line number. Its frames are then released in real time, as a
//! camera would deliver them: each is due its own timestamp after the first frame's (source
//! time starts at 0), and a looping file starts again one frame interval after its last frame,
//! its timestamps back at 0, so capture sees the restart (a new epoch) as for a looping video.
//! Every frame is counted and offered to the camera's [`FrameGate`] (`process_fps`) before it
//! is handed on. The frames carry their landmarks instead of pixels ([`Content::Landmarks`]),
//! so the analyser skips pose for them.
//!
//! [`Content::Landmarks`]: crate::frame::Content::Landmarks

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{CaptureError, FrameGate, FrameSource};
use crate::frame::Frame;
use crate::landmarks::{LandmarkFrame, ReadError, read_jsonl};

/// The clock a replay is paced by: real time for a camera; tests use their own.
pub trait Pacer: Send {
    /// Time since the replay started.
    fn elapsed(&self) -> Duration;
    /// Waits `d`.
    fn sleep(&mut self, d: Duration);
}

/// Real time, from when the replay opened.
pub struct RealTime(Instant);

impl RealTime {
    pub fn new() -> RealTime {
        RealTime(Instant::now())
    }
}

impl Default for RealTime {
    fn default() -> Self {
        RealTime::new()
    }
}

impl Pacer for RealTime {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
    fn sleep(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Reads and validates a landmark file: every line must be a landmark frame, times strictly
/// increasing, and there must be at least one frame. A file that is not there (yet) is
/// worth retrying; a bad one is not.
pub fn read(path: &Path) -> Result<Vec<LandmarkFrame>, CaptureError> {
    if !path.is_file() {
        return Err(CaptureError::Transient(format!(
            "no such file: {}",
            path.display()
        )));
    }
    let file = std::fs::File::open(path)
        .map_err(|e| CaptureError::Transient(format!("cannot read {}: {e}", path.display())))?;
    let frames = read_jsonl(std::io::BufReader::new(file)).map_err(|e| match e {
        ReadError::Io(e) => CaptureError::Transient(format!("cannot read {}: {e}", path.display())),
        bad => CaptureError::Permanent(format!("{}: {bad}", path.display())),
    })?;
    if frames.is_empty() {
        return Err(CaptureError::Permanent(format!(
            "{}: no landmark frames in the file",
            path.display()
        )));
    }
    Ok(frames)
}

/// Recorded landmark frames, replayed like a camera.
pub struct LandmarkSource {
    path: PathBuf,
    frames: Vec<LandmarkFrame>,
    looping: bool,
    gate: Arc<FrameGate>,
    pacer: Box<dyn Pacer>,
    /// The next frame to release.
    next: usize,
    /// When (pacer time) the current pass's first frame was due.
    pass_start: Duration,
    /// Between the last frame of a pass and the first of the next: the file's mean frame
    /// interval.
    gap: f64,
}

impl LandmarkSource {
    /// Reads `path` and starts replaying it in real time.
    pub fn open(
        path: &Path,
        looping: bool,
        gate: Arc<FrameGate>,
    ) -> Result<LandmarkSource, CaptureError> {
        let frames = read(path)?;
        tracing::debug!(file = %path.display(), frames = frames.len(), "landmark file read");
        Ok(LandmarkSource::new(
            path,
            frames,
            looping,
            gate,
            Box::new(RealTime::new()),
        ))
    }

    /// Replays `frames` (non-empty, times increasing, as [`read`] returns them) paced by
    /// `pacer`; `path` names them in messages.
    pub fn new(
        path: &Path,
        frames: Vec<LandmarkFrame>,
        looping: bool,
        gate: Arc<FrameGate>,
        pacer: Box<dyn Pacer>,
    ) -> LandmarkSource {
        let gap = match (frames.first(), frames.last()) {
            (Some(a), Some(b)) if frames.len() > 1 => (b.t - a.t) / (frames.len() - 1) as f64,
            _ => 1.0 / 30.0,
        };
        LandmarkSource {
            path: path.to_path_buf(),
            frames,
            looping,
            gate,
            pass_start: pacer.elapsed(),
            pacer,
            next: 0,
            gap,
        }
    }

    /// The source time of frame `i`: seconds since the file's first frame.
    fn pts(&self, i: usize) -> f64 {
        self.frames[i].t - self.frames[0].t
    }
}

impl FrameSource for LandmarkSource {
    fn next_frame(&mut self, timeout: Duration) -> Result<Option<Frame>, CaptureError> {
        if self.next == self.frames.len() {
            if !self.looping || self.frames.is_empty() {
                return Err(CaptureError::Ended);
            }
            // The next pass starts one frame interval after this one's last frame.
            let span = self.pts(self.frames.len() - 1) + self.gap;
            self.pass_start += Duration::from_secs_f64(span);
            self.next = 0;
            tracing::debug!(file = %self.path.display(), "landmark file looped");
        }
        let pts = self.pts(self.next);
        let due = self.pass_start + Duration::from_secs_f64(pts);
        let wait = due.saturating_sub(self.pacer.elapsed());
        if wait > timeout {
            // Not due yet: the caller gets to check for shutdown.
            self.pacer.sleep(timeout);
            return Ok(None);
        }
        if !wait.is_zero() {
            self.pacer.sleep(wait);
        }
        let f = &self.frames[self.next];
        self.next += 1;
        if !self.gate.admit(pts) {
            return Ok(None);
        }
        Ok(Some(Frame::from_landmarks(
            f.width,
            f.height,
            f.landmarks,
            pts,
        )))
    }

    /// The frames are in memory: a pause in the recording is not a stuck camera.
    fn can_stall(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Mutex;

    use super::super::{
        CameraState, CameraStatus, SourceOptions, SourceSpec, Take, capture_loop, open,
    };
    use super::*;
    use crate::capture::Slot;
    use crate::config::PixelFormat;
    use crate::shutdown::Shutdown;

    /// A clock that only moves when the source sleeps: pacing is checked against it, never
    /// against wall time.
    #[derive(Clone, Default)]
    struct TestClock(Arc<Mutex<Duration>>);

    impl TestClock {
        fn now(&self) -> Duration {
            *self.0.lock().unwrap()
        }
    }

    impl Pacer for TestClock {
        fn elapsed(&self) -> Duration {
            self.now()
        }
        fn sleep(&mut self, d: Duration) {
            *self.0.lock().unwrap() += d;
        }
    }

    fn line(t: f64, someone: bool) -> String {
        let lm = if someone {
            format!("[{}]", vec!["[0.5, 0.25, -0.1, 0.9]"; 33].join(","))
        } else {
            "null".into()
        };
        format!(r#"{{"t": {t}, "width": 800, "height": 600, "landmarks": {lm}, "label": "x"}}"#)
    }

    /// `n` frames `step` s apart from t = 100 s, someone in every frame but the first.
    fn frames(n: usize, step: f64) -> Vec<LandmarkFrame> {
        let text: Vec<String> = (0..n)
            .map(|i| line(100.0 + i as f64 * step, i > 0))
            .collect();
        read_jsonl(text.join("\n").as_bytes()).unwrap()
    }

    fn gate(process_fps: f32) -> (Arc<CameraStatus>, Arc<FrameGate>) {
        let status = Arc::new(CameraStatus::new("tug"));
        let gate = FrameGate::new(process_fps, status.clone());
        (status, gate)
    }

    fn options(path: &Path, looping: bool) -> SourceOptions {
        SourceOptions {
            spec: SourceSpec::Landmarks(path.to_path_buf()),
            looping,
            realtime: true,
            fps: 30,
            width: 0,
            height: 0,
            max_width: 0,
            format: PixelFormat::Auto,
        }
    }

    #[test]
    fn frames_come_in_file_order_each_when_its_timestamp_is_due() {
        let (status, gate) = gate(0.0);
        let clock = TestClock::default();
        let recorded = frames(5, 0.25);
        let mut src = LandmarkSource::new(
            Path::new("rec.jsonl"),
            recorded.clone(),
            false,
            gate,
            Box::new(clock.clone()),
        );
        let mut got = Vec::new();
        loop {
            match src.next_frame(Duration::from_millis(100)) {
                Ok(Some(f)) => got.push((clock.now(), f)),
                Ok(None) => {}
                Err(CaptureError::Ended) => break,
                Err(e) => panic!("{e}"),
            }
            assert!(clock.now() < Duration::from_secs(10), "no end");
        }
        assert_eq!(got.len(), 5);
        for (i, (released, f)) in got.iter().enumerate() {
            // Source time is the file's, from its first frame; each frame is released when
            // that much time has passed since the replay started.
            let pts = recorded[i].t - recorded[0].t;
            assert!((f.t - pts).abs() < 1e-9, "frame {i}: {} vs {pts}", f.t);
            assert!(
                (released.as_secs_f64() - pts).abs() < 1e-6,
                "frame {i} released at {released:?}, due {pts}"
            );
            assert_eq!((f.width, f.height, f.stride), (800, 600, 0));
            match &f.content {
                crate::frame::Content::Landmarks(lm) => {
                    assert_eq!(lm.as_deref(), recorded[i].landmarks.as_ref())
                }
                crate::frame::Content::Image(_) => panic!("frame {i} has pixels"),
            }
        }
        assert_eq!(status.frames.get(), 5);
        assert_eq!(status.skipped.get(), 0);
    }

    /// A frame not yet due costs the caller at most its timeout, so a capture thread still
    /// sees shutdown in time.
    #[test]
    fn waits_no_longer_than_the_timeout() {
        let (_, gate) = gate(0.0);
        let clock = TestClock::default();
        let mut src = LandmarkSource::new(
            Path::new("r"),
            frames(2, 1.0),
            false,
            gate,
            Box::new(clock.clone()),
        );
        assert!(
            src.next_frame(Duration::from_millis(100))
                .unwrap()
                .is_some()
        );
        let before = clock.now();
        assert!(
            src.next_frame(Duration::from_millis(100))
                .unwrap()
                .is_none()
        );
        assert_eq!(clock.now() - before, Duration::from_millis(100));
    }

    #[test]
    fn process_fps_passes_frames_over_by_file_time() {
        // 3 s at 30 fps, analysed at 10: every third frame, the others counted as skipped.
        let (status, gate) = gate(10.0);
        let clock = TestClock::default();
        let mut src = LandmarkSource::new(
            Path::new("r"),
            frames(90, 1.0 / 30.0),
            false,
            gate,
            Box::new(clock.clone()),
        );
        let mut ts = Vec::new();
        loop {
            match src.next_frame(Duration::from_millis(100)) {
                Ok(Some(f)) => ts.push(f.t),
                Ok(None) => {}
                Err(CaptureError::Ended) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(ts.len(), 30, "{ts:?}");
        assert!(ts.windows(2).all(|w| w[1] - w[0] > 0.09), "{ts:?}");
        assert_eq!((status.frames.get(), status.skipped.get()), (90, 60));
    }

    /// Runs a capture thread on a looping replay of `recorded` (paced by a test clock) until
    /// the worker side has taken frames of `passes` different passes; returns them.
    fn capture_looping(
        recorded: Vec<LandmarkFrame>,
        passes: usize,
    ) -> (Vec<Frame>, Arc<CameraStatus>) {
        let (status, gate) = gate(0.0);
        let slot = Slot::new();
        let shutdown = Shutdown::new();
        let opts = options(Path::new("loop.jsonl"), true);
        let mut taken = Vec::new();
        std::thread::scope(|s| {
            let sd = shutdown.clone();
            let (st, sl, g) = (&status, &slot, &gate);
            s.spawn(move || {
                capture_loop(&opts, g, st, sl, &sd, |o, gate| {
                    Ok(Box::new(LandmarkSource::new(
                        Path::new("loop.jsonl"),
                        recorded.clone(),
                        o.looping,
                        gate.clone(),
                        Box::new(TestClock::default()),
                    )))
                });
            });
            // A hang detector, not a timing: the test clock makes the replay run flat out.
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut epochs = std::collections::BTreeSet::new();
            while epochs.len() < passes && Instant::now() < deadline {
                if let Take::Item(f) = slot.take(Duration::from_millis(1)) {
                    epochs.insert(f.epoch);
                    taken.push(f);
                }
            }
            shutdown.trigger();
        });
        (taken, status)
    }

    #[test]
    fn looping_keeps_camera_time_increasing_with_a_new_epoch_per_pass() {
        // 4 frames 0.1 s apart: passes take 0.4 s (the last frame, then one interval).
        let n = 4;
        let (taken, status) = capture_looping(frames(n, 0.1), 3);
        assert!(
            taken.len() >= 3,
            "the worker side took {} frames",
            taken.len()
        );
        assert!(status.frames.get() > 2 * n as u64);
        assert_eq!(status.reconnects.get(), 0, "a loop is not a reconnect");
        for w in taken.windows(2) {
            assert!(
                w[1].t > w[0].t,
                "camera time went back: {} → {}",
                w[0].t,
                w[1].t
            );
            assert!(w[1].epoch >= w[0].epoch);
        }
        // Every frame captured is numbered; from that number follow its pass and place.
        for f in &taken {
            let pass = f.seq / n as u64;
            let i = f.seq % n as u64;
            assert_eq!(f.epoch as u64, pass, "frame {}", f.seq);
            let want = pass as f64 * 0.4 + i as f64 * 0.1;
            assert!(
                (f.t - want).abs() < 1e-6,
                "frame {}: t {} ≠ {want}",
                f.seq,
                f.t
            );
        }
    }

    fn write(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
        let p = dir.join(name);
        let mut f = std::fs::File::create(&p).unwrap();
        for l in lines {
            writeln!(f, "{l}").unwrap();
        }
        p
    }

    /// Runs the real capture thread (the daemon's `open`) on `opts` until `done` or a hang
    /// deadline; returns the camera's status.
    fn run_camera(
        opts: &SourceOptions,
        mut done: impl FnMut(&CameraStatus) -> bool,
    ) -> Arc<CameraStatus> {
        let (status, gate) = gate(0.0);
        let slot = Slot::new();
        let shutdown = Shutdown::new();
        std::thread::scope(|s| {
            let sd = shutdown.clone();
            let (st, sl, g) = (&status, &slot, &gate);
            let worker = s.spawn(move || capture_loop(opts, g, st, sl, &sd, open));
            let deadline = Instant::now() + Duration::from_secs(30);
            while !done(&status) && !worker.is_finished() && Instant::now() < deadline {
                let _ = slot.take(Duration::from_millis(10));
            }
            shutdown.trigger();
        });
        status
    }

    #[test]
    fn a_bad_line_fails_the_camera_naming_its_line_number() {
        let dir = tempfile::tempdir().unwrap();
        let bad = vec![
            line(0.0, false),
            line(0.1, true),
            "{\"t\": 0.2, oops".into(),
        ];
        let path = write(dir.path(), "bad.jsonl", &bad);
        let status = run_camera(&options(&path, true), |s| s.state() == CameraState::Failed);
        assert_eq!(status.state(), CameraState::Failed);
        let err = status.last_error().unwrap();
        assert!(err.contains("bad.jsonl: line 3:"), "{err}");
        assert_eq!(status.frames.get(), 0, "a bad file plays nothing");

        // Time going back is a bad line too, and an empty file has nothing to play.
        let back = write(
            dir.path(),
            "back.jsonl",
            &[line(1.0, false), line(0.5, false)],
        );
        let status = run_camera(&options(&back, false), |s| s.state() == CameraState::Failed);
        let err = status.last_error().unwrap();
        assert!(err.contains("back.jsonl: line 2: time 0.5"), "{err}");
        let empty = write(dir.path(), "empty.jsonl", &[String::new()]);
        let status = run_camera(&options(&empty, false), |s| {
            s.state() == CameraState::Failed
        });
        assert!(status.last_error().unwrap().contains("no landmark frames"));
    }

    #[test]
    fn a_missing_file_is_retried_until_it_appears_and_a_played_file_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later.jsonl");
        let opts = options(&path, false);
        let mut written = false;
        let status = run_camera(&opts, |s| {
            assert_ne!(s.state(), CameraState::Failed, "{:?}", s.last_error());
            if !written && s.reconnects.get() >= 1 {
                // Retried with backoff, like a video file that is not there.
                assert!(s.last_error().unwrap().contains("no such file"));
                // Whole, so that the camera never reads half a file.
                let tmp = write(
                    dir.path(),
                    "later.tmp",
                    &[line(0.0, false), line(0.05, true)],
                );
                std::fs::rename(tmp, &path).unwrap();
                written = true;
            }
            s.state() == CameraState::Ended
        });
        assert!(written);
        assert_eq!(status.state(), CameraState::Ended);
        assert_eq!(status.frames.get(), 2);
    }
}
