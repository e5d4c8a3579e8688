//! `landmarks:` cameras: recorded landmark frames replayed through the daemon in real time, as
//! a camera would deliver them, so a real Timed Up and Go sequence goes through everything
//! after pose (features, classifier, decoder, TUG, events, MQTT, /health) with a real
//! Mosquitto broker.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{Broker, Daemon, Sub, bin, fixture, free_port, http, run_ok, wait_until};

const BASE: &str = "activityd/hall-1";

/// What `activityd classify --landmarks` makes of `file`.
fn classify(file: &std::path::Path) -> serde_json::Value {
    let out = run_ok(&[
        std::ffi::OsStr::new("classify"),
        "--landmarks".as_ref(),
        file.as_os_str(),
    ]);
    serde_json::from_slice(&out).unwrap()
}

fn config(api: u16, mqtt: Option<u16>, camera: &str) -> String {
    let mqtt = match mqtt {
        Some(p) => format!("[mqtt]\nhost = \"127.0.0.1\"\nport = {p}\nstats_interval_s = 5\n"),
        None => "[mqtt]\nenabled = false\n".into(),
    };
    format!(
        "device_id = \"hall-1\"\n[api]\nbind = \"127.0.0.1:{api}\"\n{mqtt}[[cameras]]\nid = \"chair\"\n{camera}\n"
    )
}

/// The camera's entry in `/health`.
fn camera_health(api: u16) -> Option<serde_json::Value> {
    let r = http::request(api, "GET", "/health", &[], b"").ok()?;
    let h: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
    h["cameras"].get(0).cloned()
}

fn f(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn a_replayed_tug_is_timed_and_published_as_classify_times_it() {
    let file = fixture("tug/test_00167_tug.jsonl");
    let reference = classify(&file);
    let want = &reference["tug"];
    assert!(want.is_object(), "classify found no TUG: {reference}");
    // Camera time starts at the file's first frame.
    let t0 = f(&reference["frames"][0]["t"]);

    let broker = Broker::start();
    let sub = Sub::start(broker.port, &format!("{BASE}/#"), None);
    let api = free_port();
    let camera = format!(
        "source = \"landmarks:{}\"\nloop = true\nprocess_fps = 0",
        file.display()
    );
    let mut d = Daemon::start(&config(api, Some(broker.port), &camera), &[]);

    // While the file plays, the camera is streaming and its frames are counted.
    let mut health = None;
    assert!(
        wait_until(Duration::from_secs(60), || {
            health = camera_health(api);
            health.as_ref().is_some_and(|c| c["state"] == "streaming")
        }),
        "{health:?}\n{}",
        d.stderr()
    );
    let seen = f(&health.unwrap()["frames"]);
    assert!(
        wait_until(Duration::from_secs(30), || camera_health(api).is_some_and(
            |c| c["state"] == "streaming" && f(&c["frames"]) > seen
        )),
        "{:?}",
        camera_health(api)
    );

    // The test is decided once the person has sat down for good: after the first pass.
    let tug_topic = format!("{BASE}/chair/tug");
    let tug = sub
        .wait_for(&tug_topic, Duration::from_secs(120), |_| true)
        .unwrap_or_else(|| panic!("no TUG result\n{}", d.stderr()));
    let tug: serde_json::Value = serde_json::from_str(&tug).unwrap();
    assert_eq!(tug["camera"], "chair");
    let (got, expected) = (f(&tug["total_s"]), f(&want["total_s"]));
    assert!(
        (got - expected).abs() <= 1.0,
        "the daemon timed {got} s, classify {expected} s\n{tug}\n{want}"
    );
    let start = f(&want["start"]) - t0;
    assert!(
        (f(&tug["start"]) - start).abs() <= 1.0,
        "started at {} on the camera's timeline, {start} s into the file",
        tug["start"]
    );
    let phases = tug["phases"].as_array().unwrap();
    assert_eq!(phases.first().unwrap()["activity"], "stand_up", "{tug}");
    assert_eq!(phases.last().unwrap()["activity"], "sit_down", "{tug}");
    assert!(f(&tug["ts"]) > 1.7e9, "ts is wall-clock time: {tug}");

    // Its phases were published as events as they started and ended.
    let events: Vec<serde_json::Value> = sub
        .payloads(&format!("{BASE}/chair/event"))
        .iter()
        .map(|p| serde_json::from_str(p).unwrap())
        .collect();
    for activity in ["stand_up", "sit_down"] {
        for phase in ["start", "end"] {
            assert!(
                events
                    .iter()
                    .any(|e| e["activity"] == activity && e["phase"] == phase),
                "no {activity} {phase} event in {events:?}"
            );
        }
    }
    let state = sub
        .wait_for(
            &format!("{BASE}/chair/state"),
            Duration::from_secs(5),
            |_| true,
        )
        .expect("state");
    assert!(state.contains("\"person_present\""), "{state}");

    // Looping on: the camera goes on streaming after the first pass.
    assert_eq!(camera_health(api).unwrap()["state"], "streaming");
    d.signal("TERM");
    let (status, _) = d.wait_exit(Duration::from_secs(30)).expect("exit");
    assert!(status.success(), "{}", d.stderr());
}

/// A recording played once (no `loop`): when it ends, its last moments are decided as
/// `classify` decides a file's, so the test that ends it is published, with the same time.
#[test]
fn a_recording_played_once_publishes_the_test_that_ends_it() {
    let file = fixture("tug/test_00167_tug.jsonl");
    let want = classify(&file)["tug"].clone();
    assert!(want.is_object());
    let broker = Broker::start();
    let sub = Sub::start(broker.port, &format!("{BASE}/#"), None);
    let api = free_port();
    let camera = format!("source = \"landmarks:{}\"", file.display());
    let mut d = Daemon::start(&config(api, Some(broker.port), &camera), &[]);
    let tug = sub
        .wait_for(
            &format!("{BASE}/chair/tug"),
            Duration::from_secs(120),
            |_| true,
        )
        .unwrap_or_else(|| panic!("no TUG result\n{}", d.stderr()));
    let tug: serde_json::Value = serde_json::from_str(&tug).unwrap();
    let (got, expected) = (f(&tug["total_s"]), f(&want["total_s"]));
    assert!(
        (got - expected).abs() <= 0.05,
        "the daemon timed {got} s, classify {expected} s\n{tug}\n{want}"
    );
    // The sit-down that ended it was published as ended too, and the camera has ended.
    assert!(
        sub.payloads(&format!("{BASE}/chair/event"))
            .iter()
            .any(|p| p.contains("\"sit_down\"") && p.contains("\"phase\":\"end\"")),
        "{:?}",
        sub.payloads(&format!("{BASE}/chair/event"))
    );
    assert!(wait_until(Duration::from_secs(30), || camera_health(api)
        .is_some_and(|c| c["state"] == "ended")));
    d.signal("TERM");
    let (status, _) = d.wait_exit(Duration::from_secs(30)).expect("exit");
    assert!(status.success(), "{}", d.stderr());
}

#[test]
fn a_bad_landmark_file_fails_its_camera_with_the_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"t\": 0.0, \"width\": 640, \"height\": 480, \"landmarks\": null}\n\n{\"t\": 0.1, \"width\": 640, \"height\": 480, \"landmarks\": [[0.5, 0.5, 0.0, 1.0]]}\n",
    )
    .unwrap();
    let api = free_port();
    let camera = format!("source = \"landmarks:{}\"", bad.display());
    let d = Daemon::start(&config(api, None, &camera), &[]);
    let mut cam = None;
    assert!(
        wait_until(Duration::from_secs(60), || {
            cam = camera_health(api);
            cam.as_ref().is_some_and(|c| c["state"] == "failed")
        }),
        "{cam:?}\n{}",
        d.stderr()
    );
    let err = cam.unwrap()["last_error"].as_str().unwrap().to_string();
    assert!(
        err.contains("bad.jsonl: line 3: landmarks must have 33 rows"),
        "{err}"
    );
    // The daemon itself lives on; with its only camera failed it is unhealthy.
    let h = http::get(api, "/health");
    assert_eq!(h.status, 503, "{:?}", h.json());
}

#[test]
fn check_config_checks_landmark_sources() {
    let dir = tempfile::tempdir().unwrap();
    let check = |source: &str, extra: &str| {
        let path = dir.path().join("activityd.toml");
        std::fs::write(
            &path,
            format!(
                "device_id = \"d\"\n[[cameras]]\nid = \"tug\"\nsource = \"{source}\"\n{extra}\n"
            ),
        )
        .unwrap();
        let out = Command::new(bin())
            .arg("check-config")
            .arg(&path)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    };
    // The file need not exist yet: the camera retries until it does.
    assert_eq!(
        check("landmarks:recordings/tug.jsonl", "loop = true"),
        (Some(0), "ok".to_string())
    );
    let (code, out) = check("landmarks:", "");
    assert_eq!(code, Some(2));
    assert!(
        out.starts_with("cameras[0].source: landmarks: needs the path of a .jsonl file"),
        "{out}"
    );
    let (code, out) = check("landmarks:tug.csv", "");
    assert_eq!(code, Some(2));
    assert!(
        out.starts_with("cameras[0].source: landmarks: reads landmark frames as JSON Lines")
            && out.contains("must end in .jsonl"),
        "{out}"
    );
}
