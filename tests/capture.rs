//! Capture against real GStreamer pipelines: files, videotestsrc, loops, and sources that fail
//! and recover.

mod common;

use std::time::{Duration, Instant};

use activityd::capture::gst::FileFrames;
use activityd::capture::{Camera, CameraState, SourceSpec, Take};
use activityd::config::Config;
use activityd::shutdown::Shutdown;
use common::{fixture, wait_until};

fn camera_config(source: &str, extra: &str) -> activityd::config::CameraConfig {
    let text =
        format!("device_id = \"t\"\n[[cameras]]\nid = \"c\"\nsource = {source:?}\n{extra}\n");
    let c = Config::parse(&text).unwrap();
    assert!(c.validate().is_empty(), "{:?}", c.validate());
    c.cameras[0].clone()
}

fn spawn(source: &str, extra: &str) -> (Camera, Shutdown) {
    let cfg = camera_config(source, extra);
    let spec = SourceSpec::parse(&cfg.source).unwrap();
    let shutdown = Shutdown::new();
    (
        Camera::spawn(&cfg, spec, shutdown.clone()).unwrap(),
        shutdown,
    )
}

/// Stops the camera: its thread must end (how fast is measured by the daemon's shutdown
/// benchmark; the generous deadline here only tells a hang from a slow machine).
fn stop(camera: Camera, shutdown: Shutdown) {
    shutdown.trigger();
    assert!(camera.join_by(Instant::now() + Duration::from_secs(30)));
}

#[test]
fn decodes_every_frame_of_a_real_clip() {
    let frames: Vec<_> = FileFrames::open(&fixture("video/sports2d_640x360.mp4"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // 7.7 s at 30 fps.
    assert!(
        (225..=235).contains(&frames.len()),
        "{} frames",
        frames.len()
    );
    for (i, f) in frames.iter().enumerate() {
        assert_eq!((f.width, f.height), (640, 360));
        assert!(f.data().len() >= f.stride * 359 + 640 * 3);
        if i > 0 {
            let dt = f.t - frames[i - 1].t;
            assert!((dt - 1.0 / 30.0).abs() < 0.005, "frame {i}: dt {dt}");
        }
    }
    // Real footage, not a blank decode: the picture varies.
    let row = frames[100].row(180);
    let (min, max) = row
        .iter()
        .fold((255u8, 0u8), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(max - min > 50, "row range {min}..{max}");
}

#[test]
fn odd_sized_frames_are_read_by_stride() {
    // 333 px wide RGB rows (999 bytes) are padded to 1000 by GStreamer.
    let cfg = camera_config(
        "gst:videotestsrc num-buffers=3 pattern=smpte ! video/x-raw,width=333,height=100",
        "",
    );
    let spec = SourceSpec::parse(&cfg.source).unwrap();
    let mut opts = activityd::capture::SourceOptions::from_camera(&cfg, spec);
    opts.realtime = false;
    let status = std::sync::Arc::new(activityd::capture::CameraStatus::new("odd"));
    let gate = activityd::capture::FrameGate::new(0.0, status.clone());
    let mut src = activityd::capture::open(&opts, &gate).unwrap();
    let f = loop {
        if let Some(f) = src.next_frame(Duration::from_secs(5)).unwrap() {
            break f;
        }
    };
    assert_eq!((f.width, f.height), (333, 100));
    assert_eq!(f.stride, 1000, "RGB rows are padded to a multiple of 4");
    let img = f.to_rgb_image();
    // SMPTE bars: the left bar is white-ish (192,192,192) and the next yellow-ish.
    let p = img.get_pixel(10, 10).0;
    assert!(p.iter().all(|&v| v > 150), "{p:?}");
    let q = img.get_pixel(60, 10).0;
    assert!(q[0] > 150 && q[1] > 150 && q[2] < 60, "{q:?}");
}

#[test]
fn videotestsrc_streams_with_process_fps_cap() {
    let (cam, shutdown) = spawn(
        "test:",
        "width = 320\nheight = 240\nfps = 30\nprocess_fps = 10",
    );
    let status = cam.status.clone();
    assert!(wait_until(Duration::from_secs(60), || status.frames.get() >= 45));
    assert_eq!(status.state(), CameraState::Streaming);
    // A third of the frames pass the 10 fps cap; the rest are skipped, not dropped.
    let (frames, skipped) = (status.frames.get(), status.skipped.get());
    let passed = frames - skipped;
    assert!(
        (passed as f64 - frames as f64 / 3.0).abs() <= 3.0,
        "{passed} of {frames} passed"
    );
    // Nobody takes frames from the slot, so all but the newest that passed were dropped.
    assert!(status.dropped.get() + 1 >= passed - 1);
    match cam.slot.take(Duration::from_secs(1)) {
        Take::Item(f) => assert_eq!((f.width, f.height), (320, 240)),
        _ => panic!("no frame in the slot"),
    }
    stop(cam, shutdown);
}

/// The camera-time stamps of the frames taken from `cam`'s slot until camera time passes
/// `until` (or a minute of wall time goes by: a hang, not a slow machine).
fn frame_times(cam: &Camera, until: f64) -> Vec<f64> {
    let mut ts = Vec::new();
    let start = Instant::now();
    while ts.last().is_none_or(|&t| t <= until) && start.elapsed() < Duration::from_secs(60) {
        if let Take::Item(f) = cam.slot.take(Duration::from_millis(200)) {
            ts.push(f.t);
        }
    }
    ts
}

#[test]
fn file_source_loops_with_monotonic_time() {
    // 1.7 s clip replayed in real time: camera time runs on past its end.
    let src = format!("file://{}", fixture("video/pose2sim_cam01.mp4").display());
    let (cam, shutdown) = spawn(&src, "loop = true");
    let ts = frame_times(&cam, 2.5);
    assert!(ts.len() > 5, "{} frames", ts.len());
    assert!(ts.windows(2).all(|w| w[1] > w[0]), "time went backwards");
    assert!(
        *ts.last().unwrap() > 2.5,
        "did not loop: last t {}",
        ts.last().unwrap()
    );
    assert_eq!(
        cam.status.reconnects.get(),
        0,
        "looping is not reconnecting"
    );
    stop(cam, shutdown);
}

#[test]
fn process_fps_cap_holds_across_loops() {
    // The 60 fps, 1.67 s clip capped at 10 fps: one frame in six passes, and the cap starts
    // afresh when the clip restarts at t = 0 instead of waiting for the old clock to catch up.
    let src = format!("file://{}", fixture("video/pose2sim_cam01.mp4").display());
    let (cam, shutdown) = spawn(&src, "loop = true\nprocess_fps = 10");
    let ts = frame_times(&cam, 3.5);
    let (frames, skipped) = (cam.status.frames.get(), cam.status.skipped.get());
    stop(cam, shutdown);
    assert!(ts.windows(2).all(|w| w[1] > w[0]), "time went backwards");
    assert!(*ts.last().unwrap() > 3.5, "stopped after a loop: {ts:?}");
    // Every loop's frames pass at 10 fps (the clip's 17 frames per loop): a cap that waited
    // for the old clock after a restart would pass none of the second loop's 100 frames.
    // (Counted by the gate, in camera time; the frames taken from the slot may miss some when
    // this test's thread is slow to take them, so their gaps say nothing about the gate.)
    let passed = frames - skipped;
    assert!(
        (passed as f64 - frames as f64 / 6.0).abs() <= 2.0 + frames as f64 * 0.02,
        "{passed} of {frames} passed"
    );
}

#[test]
fn file_that_appears_later_is_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.mp4");
    let (cam, shutdown) = spawn(&format!("file://{}", path.display()), "loop = true");
    let status = cam.status.clone();
    assert!(wait_until(Duration::from_secs(30), || status.state()
        == CameraState::Retrying));
    assert!(status.last_error().unwrap().contains("no such file"));
    std::fs::copy(fixture("video/pose2sim_cam01.mp4"), &path).unwrap();
    // Backoff is 0.5, 1, 2, 4 s: the next attempt comes within 4 s (of camera-thread time).
    assert!(
        wait_until(Duration::from_secs(60), || status.state()
            == CameraState::Streaming),
        "state {:?}",
        status.state()
    );
    assert!(status.reconnects.get() >= 1);
    stop(cam, shutdown);
}

#[test]
fn rtsp_with_nothing_behind_it_retries() {
    let (cam, shutdown) = spawn("rtsp://127.0.0.1:9/nothing", "");
    let status = cam.status.clone();
    assert!(
        wait_until(Duration::from_secs(60), || status.state()
            == CameraState::Retrying
            && status.reconnects.get() >= 1),
        "state {:?}, error {:?}",
        status.state(),
        status.last_error()
    );
    stop(cam, shutdown);
}

#[test]
fn invalid_pipeline_fails_without_retrying() {
    let (cam, shutdown) = spawn("gst:nosuchelement ! fakesink", "");
    let status = cam.status.clone();
    assert!(wait_until(Duration::from_secs(30), || status.state()
        == CameraState::Failed));
    assert!(status.last_error().unwrap().contains("nosuchelement"));
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(status.reconnects.get(), 0);
    stop(cam, shutdown);
}

#[test]
fn corrupt_video_is_an_error_not_a_hang() {
    let err = FileFrames::open(&fixture("images/corrupt_not_an_image.jpg")).and_then(|mut it| {
        it.next()
            .unwrap_or(Err(activityd::capture::CaptureError::Ended))
    });
    assert!(err.is_err());
}

#[test]
fn decodes_a_clip_held_in_memory() {
    let bytes: std::sync::Arc<[u8]> = std::fs::read(fixture("video/sports2d_640x360.mp4"))
        .unwrap()
        .into();
    let frames: Vec<_> = FileFrames::from_memory(bytes)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        (225..=235).contains(&frames.len()),
        "{} frames",
        frames.len()
    );
    assert!(
        FileFrames::from_memory(std::sync::Arc::from(&b"not a video"[..]))
            .unwrap()
            .next()
            .unwrap()
            .is_err()
    );
}

/// Runs a gst-launch description to its end.
fn run_to_end(desc: &str) {
    use gstreamer::prelude::*;
    activityd::capture::gst::init().unwrap();
    let p = gstreamer::parse::launch(desc).unwrap();
    p.set_state(gstreamer::State::Playing).unwrap();
    let msg = p
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gstreamer::ClockTime::from_seconds(30),
            &[gstreamer::MessageType::Eos, gstreamer::MessageType::Error],
        )
        .expect("pipeline finished");
    p.set_state(gstreamer::State::Null).unwrap();
    assert_eq!(msg.type_(), gstreamer::MessageType::Eos, "{msg:?}");
}

#[test]
fn h264_prefers_openh264_and_falls_back_to_libav() {
    activityd::capture::gst::init().unwrap();
    let openh264 = gstreamer::ElementFactory::find("openh264dec").is_some();
    // The progressive clip: OpenH264 when installed (it saves libav's ~35 MB of libraries).
    let mut frames = FileFrames::open(&fixture("video/sports2d_640x360.mp4")).unwrap();
    frames.next().unwrap().unwrap();
    let used = frames.factories();
    let want = if openh264 {
        "openh264dec"
    } else {
        "avdec_h264"
    };
    assert!(used.iter().any(|f| f == want), "{used:?}");
    // An interlaced stream, which OpenH264 cannot decode: decodebin must fall back to libav
    // and every frame must come through.
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("interlaced.mp4");
    run_to_end(&format!(
        "videotestsrc num-buffers=20 ! video/x-raw,width=320,height=240,framerate=30/1 ! \
         x264enc interlaced=true ! mp4mux ! filesink location={}",
        clip.display()
    ));
    let mut frames = FileFrames::open(&clip).unwrap();
    let first = frames.next().unwrap().unwrap();
    assert_eq!((first.width, first.height), (320, 240));
    let used = frames.factories();
    assert!(used.iter().any(|f| f == "avdec_h264"), "{used:?}");
    assert_eq!(frames.count() + 1, 20);
}
