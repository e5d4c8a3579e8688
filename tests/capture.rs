//! Capture against real GStreamer pipelines: files, videotestsrc, loops, and sources that fail
//! and recover; the containers and codecs users record in (made at test time), alpha-flagged
//! browser WebM, and variable frame rates.

mod common;

use std::time::{Duration, Instant};

use activityd::capture::gst::FileFrames;
use activityd::capture::{Camera, CameraState, SourceSpec, Take};
use activityd::config::Config;
use activityd::shutdown::Shutdown;
use common::{bin, fixture, gst_run_to_end, make_alpha_webm, wait_until};

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
    gst_run_to_end(&format!(
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

/// Checks decoded `frames` against a 320x240 clip of `n` frames at `fps`: every frame is
/// there, its `t` is the stream's (the first at `t0`, then one frame interval apart, within
/// the 1 ms of Matroska's timestamps), and the picture is not blank.
fn check_clip(how: &str, frames: &[activityd::frame::Frame], n: usize, fps: f64, t0: f64) {
    assert_eq!(frames.len(), n, "{how}: {} frames", frames.len());
    for (i, f) in frames.iter().enumerate() {
        assert_eq!((f.width, f.height), (320, 240), "{how}: frame {i}");
        let want = t0 + i as f64 / fps;
        assert!(
            (f.t - want).abs() < 0.0015,
            "{how}: frame {i} at t {} (want {want})",
            f.t
        );
    }
    let row = frames[n / 2].row(120);
    let (min, max) = row
        .iter()
        .fold((255u8, 0u8), |(a, b), &v| (a.min(v), b.max(v)));
    assert!(max - min > 50, "{how}: row range {min}..{max}");
}

fn decode_file(how: &str, path: &std::path::Path) -> (Vec<activityd::frame::Frame>, Vec<String>) {
    let mut it = FileFrames::open(path).unwrap_or_else(|e| panic!("{how}: {e}"));
    let first = it
        .next()
        .unwrap_or_else(|| panic!("{how}: no frame"))
        .unwrap_or_else(|e| panic!("{how}: {e}"));
    let factories = it.factories();
    let mut frames = vec![first];
    for f in it {
        frames.push(f.unwrap_or_else(|e| panic!("{how}: {e}")));
    }
    (frames, factories)
}

/// As an upload: the bytes in memory.
fn decode_bytes(how: &str, path: &std::path::Path) -> Vec<activityd::frame::Frame> {
    let bytes: std::sync::Arc<[u8]> = std::fs::read(path).unwrap().into();
    FileFrames::from_memory(bytes)
        .unwrap_or_else(|e| panic!("{how} (upload): {e}"))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{how} (upload): {e}"))
}

/// Browser recordings (MediaRecorder) flag their VP8/VP9 track as carrying alpha with no
/// alpha data in it (and have an audio track); decodebin's alpha decoder failed on them
/// ("Cannot handle streams without an initial alpha buffer"; 4:4:4 VP9 did not even
/// negotiate). Every kind decodes, as a file, an upload and a `file://` camera, with the
/// plain decoders; real alpha data still decodes.
#[test]
fn alpha_flagged_webm_decodes_as_file_upload_and_camera() {
    let dir = tempfile::tempdir().unwrap();
    for (codec, kind) in [
        ("vp9", "flagged"),
        ("vp9", "gbr"),
        ("vp8", "flagged"),
        ("vp9", "alpha"),
        ("vp8", "alpha"),
    ] {
        let how = format!("{codec} {kind}");
        let clip = make_alpha_webm(dir.path(), codec, kind);
        let (frames, used) = decode_file(&how, &clip);
        // With the Opus track, ffmpeg starts the video 7 ms in (the audio's pre-skip): the
        // stream's time, kept.
        let t0 = frames[0].t;
        assert!((0.0..0.02).contains(&t0), "{how}: first frame at {t0}");
        check_clip(&how, &frames, 30, 15.0, t0);
        assert!(
            used.iter()
                .any(|f| f.starts_with(codec) || f.starts_with("avdec_"))
                && !used.iter().any(|f| f.contains("alpha")),
            "{how}: {used:?}"
        );
        check_clip(&how, &decode_bytes(&how, &clip), 30, 15.0, t0);
    }
    // A camera replaying the recording in real time plays it to its end.
    let clip = dir.path().join("vp9_flagged.webm");
    let (cam, shutdown) = spawn(&format!("file://{}", clip.display()), "");
    let status = cam.status.clone();
    assert!(
        wait_until(Duration::from_secs(60), || status.state()
            == CameraState::Ended),
        "state {:?}, error {:?}",
        status.state(),
        status.last_error()
    );
    assert_eq!(status.frames.get(), 30);
    assert_eq!(status.reconnects.get(), 0, "{:?}", status.last_error());
    stop(cam, shutdown);
}

/// Whether any installed decoder takes `caps` (e.g. `video/x-av1`).
fn decoder_for(caps: &str) -> bool {
    activityd::capture::gst::init().unwrap();
    let caps: gstreamer::Caps = caps.parse().unwrap();
    gstreamer::ElementFactory::factories_with_type(
        gstreamer::ElementFactoryType::DECODER,
        gstreamer::Rank::MARGINAL,
    )
    .iter()
    .any(|f| f.can_sink_any_caps(&caps))
}

/// The containers and codecs of cameras, phones and browsers, made at test time with
/// GStreamer's encoders and muxers (20 frames, 320x240, 15 fps): every frame decodes, from a
/// file and from memory (an upload), stamped with the stream's time. Timestamps start at 0,
/// MP4/MOV/3GP included, whose edit lists start the H.264/H.265 PTS later (B-frames);
/// MPEG-TS keeps the clock the muxer gave it. A format is skipped, with a note, only when no
/// decoder for its codec is installed.
#[test]
fn every_container_and_codec_decodes_with_stream_timestamps() {
    // (what, file name, encoder and muxer, the codec's caps)
    let formats = [
        ("VP8 in WebM", "vp8.webm", "vp8enc ! webmmux", "video/x-vp8"),
        ("VP9 in WebM", "vp9.webm", "vp9enc ! webmmux", "video/x-vp9"),
        (
            "H.264 in Matroska",
            "h264.mkv",
            "x264enc ! matroskamux",
            "video/x-h264",
        ),
        (
            "H.264 (B-frames) in MP4",
            "h264.mp4",
            "x264enc bframes=2 ! mp4mux",
            "video/x-h264",
        ),
        (
            "H.264 (B-frames) in QuickTime",
            "h264.mov",
            "x264enc bframes=2 ! qtmux",
            "video/x-h264",
        ),
        (
            "H.264 in 3GP",
            "h264.3gp",
            "x264enc ! 3gppmux",
            "video/x-h264",
        ),
        (
            "H.265 in MP4",
            "h265.mp4",
            "x265enc ! h265parse ! mp4mux",
            "video/x-h265",
        ),
        (
            "H.265 in Matroska",
            "h265.mkv",
            "x265enc ! h265parse ! matroskamux",
            "video/x-h265",
        ),
        (
            "H.264 in AVI",
            "h264.avi",
            "x264enc ! avimux",
            "video/x-h264",
        ),
        (
            "Motion JPEG in AVI",
            "mjpeg.avi",
            "jpegenc ! avimux",
            "image/jpeg",
        ),
        (
            "MPEG-4 Part 2 in AVI",
            "mpeg4.avi",
            "avenc_mpeg4 ! avimux",
            "video/mpeg,mpegversion=4",
        ),
        (
            "AV1 in Matroska",
            "av1.mkv",
            "av1enc cpu-used=8 ! av1parse ! matroskamux",
            "video/x-av1",
        ),
        (
            "AV1 in MP4",
            "av1.mp4",
            "av1enc cpu-used=8 ! av1parse ! mp4mux",
            "video/x-av1",
        ),
        (
            "Theora in Ogg",
            "theora.ogv",
            "theoraenc ! oggmux",
            "video/x-theora",
        ),
        (
            "H.264 in MPEG-TS",
            "h264.ts",
            "x264enc ! h264parse ! mpegtsmux",
            "video/x-h264",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut covered = Vec::new();
    for (how, name, encode, codec) in formats {
        if !decoder_for(codec) {
            eprintln!("NOTE: skipping {how}: no decoder for {codec} is installed");
            continue;
        }
        let path = dir.path().join(name);
        gst_run_to_end(&format!(
            "videotestsrc num-buffers=20 pattern=smpte ! \
             video/x-raw,format=I420,width=320,height=240,framerate=15/1 ! {encode} ! \
             filesink location={}",
            path.display()
        ));
        let (frames, used) = decode_file(how, &path);
        // A transport stream's clock starts where its muxer set it; the others at 0.
        let t0 = if name.ends_with(".ts") {
            frames[0].t
        } else {
            0.0
        };
        check_clip(how, &frames, 20, 15.0, t0);
        let upload = decode_bytes(how, &path);
        check_clip(&format!("{how} (upload)"), &upload, 20, 15.0, t0);
        covered.push(format!("{how} ({})", used.join(" ")));
    }
    // Browsers record AV1 in WebM too; webmmux does not take AV1 (GStreamer 1.22), ffmpeg
    // copies the stream over.
    let av1 = dir.path().join("av1.mkv");
    if av1.is_file() {
        let webm = dir.path().join("av1.webm");
        let run = std::process::Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-y", "-i"])
            .arg(&av1)
            .args(["-c", "copy"])
            .arg(&webm)
            .status()
            .expect("ffmpeg is installed (scripts/install-deps.sh)");
        assert!(run.success());
        let (frames, _) = decode_file("AV1 in WebM", &webm);
        check_clip("AV1 in WebM", &frames, 20, 15.0, 0.0);
        check_clip(
            "AV1 in WebM (upload)",
            &decode_bytes("AV1 in WebM", &webm),
            20,
            15.0,
            0.0,
        );
        covered.push("AV1 in WebM".into());
    }
    eprintln!("decoded: {covered:#?}");
}

/// Encodes frames stamped `pts_ms` (a variable frame rate: the caps say `framerate=0/1`,
/// as a phone's or browser's recording does) with `encode` (encoder ! muxer) into `path`.
fn encode_stamped(path: &std::path::Path, encode: &str, pts_ms: &[u64]) {
    use gstreamer::prelude::*;
    activityd::capture::gst::init().unwrap();
    let desc = format!(
        "appsrc name=src format=time caps=video/x-raw,format=I420,width=320,height=240,framerate=0/1 ! \
         {encode} ! filesink location={}",
        path.display()
    );
    let pipeline = gstreamer::parse::launch(&desc)
        .unwrap()
        .downcast::<gstreamer::Pipeline>()
        .unwrap();
    let src = pipeline
        .by_name("src")
        .unwrap()
        .downcast::<gstreamer_app::AppSrc>()
        .unwrap();
    pipeline.set_state(gstreamer::State::Playing).unwrap();
    let (w, h) = (320usize, 240usize);
    for (i, &ms) in pts_ms.iter().enumerate() {
        // A bar that moves and a background that changes: every frame differs.
        let mut data = vec![128u8; w * h * 3 / 2];
        for y in 0..h {
            for x in 0..w {
                let bar = (x + i * 12) % w < 40;
                data[y * w + x] = if bar { 235 } else { 16 + (i * 9 % 200) as u8 };
            }
        }
        let mut buf = gstreamer::Buffer::from_mut_slice(data);
        {
            let b = buf.get_mut().unwrap();
            b.set_pts(gstreamer::ClockTime::from_mseconds(ms));
            let next = pts_ms.get(i + 1).copied().unwrap_or(ms + 33);
            b.set_duration(gstreamer::ClockTime::from_mseconds(next - ms));
        }
        src.push_buffer(buf).unwrap();
    }
    src.end_of_stream().unwrap();
    let msg = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gstreamer::ClockTime::from_seconds(60),
            &[gstreamer::MessageType::Eos, gstreamer::MessageType::Error],
        )
        .expect("encoding finished");
    pipeline.set_state(gstreamer::State::Null).unwrap();
    assert_eq!(msg.type_(), gstreamer::MessageType::Eos, "{desc}: {msg:?}");
}

/// Variable frame rate, as phones and browsers record: frames 17 ms to half a second apart.
/// FileFrames' `t` is each frame's own timestamp, not its index over a frame rate, from a file
/// and from memory.
#[test]
fn variable_frame_rate_clips_keep_their_timestamps() {
    let gaps = [
        33u64, 33, 100, 50, 250, 17, 67, 200, 33, 500, 40, 60, 33, 33, 150, 90, 33, 300,
    ];
    let pts: Vec<u64> = std::iter::once(0)
        .chain(gaps.iter().scan(0, |t, g| {
            *t += g;
            Some(*t)
        }))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    for (how, name, encode) in [
        ("VP8 in WebM", "vfr.webm", "vp8enc ! webmmux"),
        ("VP9 in WebM", "vfr9.webm", "vp9enc ! webmmux"),
        ("H.264 in MP4", "vfr.mp4", "x264enc ! mp4mux"),
        ("H.264 in Matroska", "vfr.mkv", "x264enc ! matroskamux"),
    ] {
        let path = dir.path().join(name);
        encode_stamped(&path, encode, &pts);
        let (frames, _) = decode_file(how, &path);
        let upload = decode_bytes(how, &path);
        for (what, frames) in [
            (how.to_string(), frames),
            (format!("{how} (upload)"), upload),
        ] {
            let got: Vec<f64> = frames.iter().map(|f| f.t).collect();
            assert_eq!(got.len(), pts.len(), "{what}: {got:?}");
            for (t, ms) in got.iter().zip(&pts) {
                assert!(
                    (t - *ms as f64 / 1e3).abs() < 0.0015,
                    "{what}: got {got:?}, stamped {pts:?} ms"
                );
            }
        }
    }
}

/// A codec with no decoder installed is an error that names it, for the person who sent the
/// file. (H.265, with every H.265 decoder ranked out of the child process's autoplugging.)
#[test]
fn a_missing_decoder_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("h265.mkv");
    gst_run_to_end(&format!(
        "videotestsrc num-buffers=5 ! video/x-raw,width=320,height=240,framerate=15/1 ! \
         x265enc ! h265parse ! matroskamux ! filesink location={}",
        clip.display()
    ));
    let caps: gstreamer::Caps = "video/x-h265".parse().unwrap();
    let ranks: Vec<String> = gstreamer::ElementFactory::factories_with_type(
        gstreamer::ElementFactoryType::DECODER,
        gstreamer::Rank::NONE,
    )
    .iter()
    .filter(|f| f.can_sink_any_caps(&caps))
    .map(|f| format!("{}:NONE", gstreamer::prelude::GstObjectExt::name(f)))
    .collect();
    assert!(!ranks.is_empty());
    let out = std::process::Command::new(bin())
        .arg("annotate")
        .arg(&clip)
        .env("GST_PLUGIN_FEATURE_RANK", ranks.join(","))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("no decoder installed for") && err.contains("video/x-h265"),
        "{err}"
    );
}
