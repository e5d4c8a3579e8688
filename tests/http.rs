//! The HTTP API over loopback with a real client: every endpoint's shape, real uploads, the
//! WebSocket stream, hostile requests, and load while a camera runs.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::http::{self, get, post_form, request};
use common::{Daemon, fixture, free_port, gst_run_to_end, make_alpha_webm, wait_until};

struct Api {
    port: u16,
    daemon: Daemon,
}

fn start(extra_api: &str, env: &[(&str, &str)]) -> Api {
    let port = free_port();
    let cfg = format!(
        "device_id = \"t\"\n[api]\nbind = \"127.0.0.1:{port}\"\nmax_upload_mb = 5\n{extra_api}\n[mqtt]\nenabled = false\n[[cameras]]\nid = \"cam0\"\nsource = \"test:\"\nwidth = 320\nheight = 240\nfps = 15\n"
    );
    let daemon = Daemon::start(&cfg, env);
    daemon.wait_for_api(port);
    Api { port, daemon }
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

fn assert_error(r: &http::Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[test]
fn endpoints_answer_in_the_contract_shapes() {
    let api = start("", &[]);
    let h = get(api.port, "/health");
    assert_eq!(h.status, 200, "{}", String::from_utf8_lossy(&h.body));
    let v = h.json();
    for k in [
        "status",
        "model_loaded",
        "response_time_ms",
        "uptime_s",
        "cameras",
        "mqtt",
    ] {
        assert!(v.get(k).is_some(), "/health lacks {k}: {v}");
    }
    assert_eq!(v["mqtt"], "disabled");
    assert_eq!(v["model_loaded"], true);
    assert!(wait_until(Duration::from_secs(60), || get(
        api.port, "/health"
    )
    .json()["cameras"][0]["state"]
        == "streaming"));

    let info = get(api.port, "/model/info").json();
    for k in [
        "model_version",
        "accuracy",
        "features",
        "classes",
        "trained_date",
        "pose_model",
    ] {
        assert!(info.get(k).is_some(), "/model/info lacks {k}");
    }
    assert_eq!(info["pose_model"]["landmark_model"], "full");
    assert_eq!(info["pose_model"]["precision"], "f16", "{info}");
    // f16 arithmetic only with `f16_arithmetic` on 64-bit ARM with FEAT_FP16 (contract 1.12.0).
    assert_eq!(info["pose_model"]["arithmetic"], "f32", "{info}");
    assert_eq!(
        info["cards"]["pose_landmarks"]["name"],
        "blazepose_landmarks_full"
    );
    let classes: Vec<&str> = info["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        &classes[..5],
        ["walk_toward", "walk_away", "turn", "sit_down", "stand_up"]
    );

    // Per-frame metrics appear once frames have been analysed.
    let mut text = String::new();
    assert!(wait_until(Duration::from_secs(60), || {
        let m = get(api.port, "/metrics");
        assert_eq!(m.status, 200);
        text = String::from_utf8(m.body).unwrap();
        text.contains("activityd_inference_stage_seconds_bucket")
    }));
    for name in [
        "activityd_http_requests_total",
        "activityd_camera_fps",
        "activityd_inference_stage_seconds",
        "activityd_mqtt_queue_depth",
        "activityd_frames_with_person",
    ] {
        assert!(text.contains(name), "/metrics lacks {name}");
    }

    // Every metric the shipped alert rules use is exported.
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/prometheus-alerts.yml"
    ))
    .unwrap();
    let mut names: Vec<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("activityd_") && w.len() > "activityd_".len())
        .collect();
    names.sort();
    names.dedup();
    assert!(names.len() >= 6, "{names:?}");
    for n in names {
        assert!(
            text.contains(n),
            "alert rules use {n}, which /metrics does not export"
        );
    }

    assert_error(&get(api.port, "/nope"), 404, "not_found");
    assert_error(
        &request(api.port, "DELETE", "/health", &[], b"").unwrap(),
        405,
        "method_not_allowed",
    );
    assert_error(&get(api.port, "/predict/frame"), 405, "method_not_allowed");
}

/// `pose.model = "lite"`: the daemon runs MediaPipe's lite landmark model, and `/model/info`
/// says so (its card in `cards.pose_landmarks`).
#[test]
fn model_info_shows_the_landmark_model_in_use() {
    let api = start("\n[pose]\nmodel = \"lite\"", &[]);
    let info = get(api.port, "/model/info").json();
    assert_eq!(info["pose_model"]["landmark_model"], "lite", "{info}");
    assert_eq!(info["pose_model"]["model_complexity"], 0, "{info}");
    assert_eq!(
        info["pose_model"]["landmarks"]["name"],
        "blazepose_landmarks_lite"
    );
    assert_eq!(
        info["cards"]["pose_landmarks"]["file"],
        "pose_landmarks_lite.onnx"
    );
    assert!(wait_until(Duration::from_secs(60), || get(
        api.port, "/health"
    )
    .json()["cameras"][0]["state"]
        == "streaming"));
}

#[test]
fn predict_frame_finds_33_landmarks_on_a_real_photo() {
    let api = start("", &[]);
    let r = post_form(
        api.port,
        "/predict/frame",
        "image_file",
        "front.jpg",
        &read("images/pose2sim_cam01_f030_front.jpg"),
        &[],
        None,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    assert_eq!(v["landmarks"].as_array().unwrap().len(), 33);
    assert_eq!(v["landmarks"][0].as_array().unwrap().len(), 4);
    assert_eq!(v["metadata"]["landmarks_detected"], true);
    assert!(v["metadata"]["processing_time_ms"].as_f64().unwrap() > 0.0);
    let p = &v["prediction"];
    assert!(p["activity"].is_string() && p["confidence"].is_number());
    let probs = p["all_probabilities"].as_object().unwrap();
    let sum: f64 = probs.values().map(|x| x.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 0.01, "{probs:?}");

    // Nobody in the picture.
    let r = post_form(
        api.port,
        "/predict/frame",
        "image_file",
        "coffee.png",
        &read("images/skimage_coffee_no_person.png"),
        &[],
        None,
    );
    let v = r.json();
    assert!(v["landmarks"].is_null());
    assert_eq!(v["prediction"]["activity"], "no_person");
}

#[test]
fn predict_video_returns_segments_for_a_real_clip() {
    let api = start("", &[]);
    let r = post_form(
        api.port,
        "/predict/video",
        "video_file",
        "walk.mp4",
        &read("video/sports2d_640x360.mp4"),
        &[(
            "options",
            "{\"frame_skip\": 2, \"confidence_threshold\": 0.6}",
        )],
        None,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let v = r.json();
    let meta = &v["metadata"];
    // 230 frames, every second one.
    assert_eq!(meta["frames_processed"], 115);
    assert!(meta["landmarks_detected_avg"].as_f64().unwrap() > 0.8);
    let frames = v["prediction"]["frame_predictions"].as_array().unwrap();
    assert_eq!(frames.len(), 115);
    assert!(v["segments"].is_array());
    assert!(v["prediction"]["temporal_consistency"].is_number());
    for s in v["segments"].as_array().unwrap() {
        assert!(s["end"].as_f64() >= s["start"].as_f64(), "{s}");
    }

    // Not a video.
    let r = post_form(
        api.port,
        "/predict/video",
        "video_file",
        "clip.mp4",
        b"this is not a video at all",
        &[],
        None,
    );
    assert_error(&r, 422, "bad_video");
    // Judged by content, not by name: an MP4 called .gif is decoded.
    let r = post_form(
        api.port,
        "/predict/video",
        "video_file",
        "clip.gif",
        &read("video/pose2sim_cam01.mp4"),
        &[("options", "{\"frame_skip\": 10}")],
        None,
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["metadata"]["frames_processed"], 10);
    let r = post_form(
        api.port,
        "/predict/video",
        "video_file",
        "clip.mp4",
        &read("video/pose2sim_cam01.mp4"),
        &[("options", "{\"frame_skip\": 0}")],
        None,
    );
    assert_error(&r, 422, "bad_options");
}

/// Browser recordings: WebM whose track is flagged as carrying alpha (with none in it), which
/// the browser's FormData names `blob`. Any name is accepted: content decides, and what
/// GStreamer cannot decode as video is 422 `bad_video`.
#[test]
fn predict_video_takes_browser_recordings_and_judges_by_content() {
    let api = start("", &[]);
    let dir = tempfile::tempdir().unwrap();
    for (codec, name) in [("vp9", "recording.webm"), ("vp8", "blob")] {
        let clip = make_alpha_webm(dir.path(), codec, "flagged");
        let r = post_form(
            api.port,
            "/predict/video",
            "video_file",
            name,
            &std::fs::read(&clip).unwrap(),
            &[],
            None,
        );
        assert_eq!(
            r.status,
            200,
            "{codec} {name}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let v = r.json();
        assert_eq!(v["metadata"]["frames_processed"], 30, "{codec}: {v}");
        // 15 fps, from the stream's timestamps (WebM's are whole milliseconds; the video
        // starts 7 ms in, after the Opus track's pre-skip).
        let frames = v["prediction"]["frame_predictions"].as_array().unwrap();
        let t0 = frames[0]["t"].as_f64().unwrap();
        assert!((0.0..0.02).contains(&t0), "{codec}: first frame at {t0}");
        for (i, f) in frames.iter().enumerate() {
            let t = f["t"].as_f64().unwrap();
            assert!(
                (t - t0 - i as f64 / 15.0).abs() < 0.002,
                "{codec}: frame {i} at {t}"
            );
        }
    }
    // Audio only: no video in it.
    let ogg = dir.path().join("tone.ogg");
    gst_run_to_end(&format!(
        "audiotestsrc num-buffers=20 ! audioconvert ! vorbisenc ! oggmux ! filesink location={}",
        ogg.display()
    ));
    let r = post_form(
        api.port,
        "/predict/video",
        "video_file",
        "clip.webm",
        &std::fs::read(&ogg).unwrap(),
        &[],
        None,
    );
    assert_error(&r, 422, "bad_video");
    let message = r.json()["error"]["message"].to_string();
    assert!(message.contains("no video stream"), "{message}");
    // Text, with a name that is not a video's.
    let r = post_form(
        api.port,
        "/predict/video",
        "video_file",
        "notes.txt",
        b"this is not a video either",
        &[],
        None,
    );
    assert_error(&r, 422, "bad_video");
    assert_eq!(get(api.port, "/health").status, 200);
}

#[test]
fn bad_uploads_get_json_errors_and_the_server_keeps_serving() {
    let api = start("", &[]);
    let jpg = read("images/pose2sim_cam01_f030_front.jpg");
    // Malformed multipart: a boundary that never closes.
    let r = request(
        api.port,
        "POST",
        "/predict/frame",
        &[("Content-Type", "multipart/form-data; boundary=xyz")],
        b"--xyz\r\nContent-Disposition: form-data; name=\"image_file\"\r\n\r\nabc",
    )
    .unwrap();
    assert_error(&r, 400, "malformed_multipart");
    // Wrong content type.
    let r = request(
        api.port,
        "POST",
        "/predict/frame",
        &[("Content-Type", "image/jpeg")],
        &jpg,
    )
    .unwrap();
    assert_error(&r, 415, "unsupported_media_type");
    // A text file named .jpg.
    let r = post_form(
        api.port,
        "/predict/frame",
        "image_file",
        "x.jpg",
        &read("images/corrupt_not_an_image.jpg"),
        &[],
        None,
    );
    assert_error(&r, 415, "unsupported_media_type");
    // A truncated JPEG.
    let r = post_form(
        api.port,
        "/predict/frame",
        "image_file",
        "x.jpg",
        &read("images/corrupt_truncated.jpg"),
        &[],
        None,
    );
    assert_error(&r, 422, "bad_image");
    // The wrong field.
    let r = post_form(
        api.port,
        "/predict/frame",
        "photo",
        "x.jpg",
        &jpg,
        &[],
        None,
    );
    assert_error(&r, 422, "missing_field");
    // Still serving.
    assert_eq!(get(api.port, "/health").status, 200);
}

#[test]
fn oversized_uploads_are_refused_before_they_are_read() {
    let api = start("", &[]);
    let mut s = TcpStream::connect(("127.0.0.1", api.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // Declares 200 MB (the limit is 5 MB) and sends only the headers.
    s.write_all(b"POST /predict/frame HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 209715200\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(head.contains("payload_too_large"), "{head}");
    // Chunked uploads without a length are cut off at the limit too.
    let mut s = TcpStream::connect(("127.0.0.1", api.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"POST /predict/frame HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let mut refused = false;
    for _ in 0..8 {
        let mut c = format!("{:x}\r\n", chunk.len()).into_bytes();
        c.extend_from_slice(&chunk);
        c.extend_from_slice(b"\r\n");
        if s.write_all(&c).is_err() {
            refused = true;
            break;
        }
    }
    let n = s.read(&mut buf).unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(refused || head.starts_with("HTTP/1.1 413"), "{head}");
    assert_eq!(get(api.port, "/health").status, 200);
}

#[test]
fn the_token_guards_predict_endpoints_only() {
    let api = start("token = \"s3cret-token\"", &[]);
    let jpg = read("images/pose2sim_cam01_f030_front.jpg");
    let r = post_form(
        api.port,
        "/predict/frame",
        "image_file",
        "a.jpg",
        &jpg,
        &[],
        None,
    );
    assert_error(&r, 401, "unauthorized");
    let r = post_form(
        api.port,
        "/predict/frame",
        "image_file",
        "a.jpg",
        &jpg,
        &[],
        Some("wrong"),
    );
    assert_error(&r, 401, "unauthorized");
    let r = post_form(
        api.port,
        "/predict/frame",
        "image_file",
        "a.jpg",
        &jpg,
        &[],
        Some("s3cret-token"),
    );
    assert_eq!(r.status, 200);
    assert_eq!(get(api.port, "/health").status, 200);
    assert_eq!(get(api.port, "/metrics").status, 200);
    assert_error(&get(api.port, "/predict/stream"), 401, "unauthorized");
    // The environment overrides the file.
    let api2 = start(
        "token = \"from-file\"",
        &[("ACTIVITYD_API_TOKEN", "from-env")],
    );
    let r = post_form(
        api2.port,
        "/predict/frame",
        "image_file",
        "a.jpg",
        &jpg,
        &[],
        Some("from-env"),
    );
    assert_eq!(r.status, 200);
    // The token is never logged.
    assert!(!api.daemon.stderr().contains("s3cret-token"));
    assert!(!api2.daemon.stderr().contains("from-env"));
}

#[test]
fn the_websocket_answers_frame_by_frame() {
    use base64::Engine;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let api = start("", &[]);
    let jpg = read("images/pose2sim_cam01_f030_front.jpg");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/predict/stream", api.port))
                .await
                .unwrap();
        let mut replies = Vec::new();
        for i in 0..4 {
            let msg = if i == 3 {
                Message::text(base64::engine::general_purpose::STANDARD.encode(&jpg))
            } else {
                Message::binary(jpg.clone())
            };
            ws.send(msg).await.unwrap();
            let reply = tokio::time::timeout(Duration::from_secs(30), ws.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            replies
                .push(serde_json::from_str::<serde_json::Value>(reply.to_text().unwrap()).unwrap());
        }
        ws.send(Message::binary(b"not an image".to_vec()))
            .await
            .unwrap();
        let bad = ws.next().await.unwrap().unwrap();
        let bad: serde_json::Value = serde_json::from_str(bad.to_text().unwrap()).unwrap();
        assert_eq!(bad["error"]["code"], "bad_image");
        ws.close(None).await.unwrap();
        // A message over `api.max_upload_mb` (5 here) ends the session: close code 1009.
        let (mut big, _) =
            tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/predict/stream", api.port))
                .await
                .unwrap();
        let _ = big.send(Message::binary(vec![0u8; 6 * 1024 * 1024])).await;
        let end = tokio::time::timeout(Duration::from_secs(30), big.next())
            .await
            .expect("the server ends the session");
        match end {
            Some(Ok(Message::Close(Some(f)))) => assert_eq!(u16::from(f.code), 1009, "{f:?}"),
            // The connection may also be gone before the close frame is read.
            None | Some(Err(_)) => {}
            other => panic!("a 6 MiB message was answered: {other:?}"),
        }
        for (i, r) in replies.iter().enumerate() {
            for k in ["t", "activity", "confidence", "landmarks"] {
                assert!(r.get(k).is_some(), "reply {i} lacks {k}: {r}");
            }
            assert_eq!(r["landmarks"].as_array().unwrap().len(), 33);
        }
        let ts: Vec<f64> = replies.iter().map(|r| r["t"].as_f64().unwrap()).collect();
        assert!(ts.windows(2).all(|w| w[1] > w[0]), "{ts:?}");
    });
}

#[test]
fn two_hundred_concurrent_health_checks_are_all_answered() {
    let api = start("", &[]);
    assert!(wait_until(Duration::from_secs(60), || get(
        api.port, "/health"
    )
    .json()["cameras"][0]["state"]
        == "streaming"));
    let port = api.port;
    let handles: Vec<_> = (0..200)
        .map(|_| {
            std::thread::spawn(move || request(port, "GET", "/health", &[], b"").map(|r| r.status))
        })
        .collect();
    let ok = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|r| matches!(r, Ok(200)))
        .count();
    assert_eq!(ok, 200);
}

/// An empty room: after 2 s without anybody, the detector looks about three times a second,
/// not on every analysed frame.
#[test]
fn the_detector_slows_down_while_nobody_is_in_view() {
    let api = start("", &[]);
    // 120 frames analysed: 8 s of camera time at 15 fps, however long the machine takes.
    let metrics = || String::from_utf8(get(api.port, "/metrics").body).unwrap();
    let frames_of =
        |text: &str| http::metric(text, "activityd_frames_analysed_total{camera=\"cam0\"}");
    assert!(wait_until(Duration::from_secs(120), || frames_of(
        &metrics()
    ) >= 120.0));
    let text = metrics();
    let frames = frames_of(&text);
    let detector = http::metric(
        &text,
        "activityd_inference_stage_seconds_count{camera=\"cam0\",stage=\"detector\"}",
    );
    eprintln!("{frames} frames analysed, detector ran {detector} times");
    // 15 fps for ~8 s: ~30 searches in the first 2 s, then ~3 per second.
    assert!(
        detector < 0.6 * frames,
        "detector ran on {detector} of {frames} frames"
    );
    assert!(detector >= 10.0);
}
