//! The daemon as a process: configuration checks, systemd notification through a real
//! `NOTIFY_SOCKET`, the watchdog, and clean shutdown on signals.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{Daemon, NotifySocket, bin, fixture};

fn check_config(path: &std::path::Path) -> (i32, String) {
    let out = Command::new(bin())
        .arg("check-config")
        .arg(path)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn check_config_accepts_the_shipped_configs() {
    for f in ["config/activityd.toml", "config/demo.toml"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
        assert_eq!(check_config(&path), (0, "ok\n".to_string()), "{f}");
    }
}

#[test]
fn check_config_names_every_bad_field() {
    let cases: &[(&str, &[&str])] = &[
        (
            "bad_camera_fps.toml",
            &["cameras[1].fps: must be between 1 and 120, got 0"],
        ),
        ("bad_unknown_key.toml", &["mqtt.prot: unknown field `prot`"]),
        (
            "bad_type.toml",
            &["api.max_upload_mb: invalid type: string \"fifty\""],
        ),
        ("bad_source.toml", &["cameras[0].source: unknown source"]),
        (
            "bad_pose_model.toml",
            &["pose.model: unknown variant `medium`, expected one of `lite`, `full`, `heavy`"],
        ),
        ("bad_syntax.toml", &["TOML syntax (line 2)"]),
        (
            "bad_values.toml",
            &[
                "device_id: ",
                "api.bind: ",
                "activity.confidence_threshold: must be between 0 and 1",
                "cameras[0].process_fps: ",
                "cameras[1].id: duplicate camera id",
                "cameras[1].loop: only file sources can loop",
            ],
        ),
    ];
    for (file, needles) in cases {
        let (code, out) = check_config(&fixture(&format!("configs/{file}")));
        assert_eq!(code, 2, "{file}: {out}");
        for n in *needles {
            assert!(out.contains(n), "{file}: {n:?} not in\n{out}");
        }
        assert_eq!(
            out.lines().count(),
            needles.len(),
            "{file}: one line per problem\n{out}"
        );
    }
    let (code, out) = check_config(std::path::Path::new("/nonexistent/activityd.toml"));
    assert_eq!(code, 2);
    assert!(
        out.contains("cannot read /nonexistent/activityd.toml"),
        "{out}"
    );
}

#[test]
fn run_with_bad_config_exits_2() {
    let mut d = Daemon::start(
        "device_id = \"x\"\n[[cameras]]\nid = \"c\"\nsource = \"test:\"\nfps = 0\n",
        &[],
    );
    let (status, _) = d.wait_exit(Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(2));
    assert!(d.stderr().contains("cameras[0].fps"), "{}", d.stderr());
}

#[test]
fn missing_model_exits_3() {
    let mut d = Daemon::start(
        "device_id = \"x\"\n[models]\ndir = \"/nonexistent/models\"\n[[cameras]]\nid = \"c\"\nsource = \"test:\"\n",
        &[],
    );
    let (status, _) = d.wait_exit(Duration::from_secs(20)).expect("exits");
    assert_eq!(status.code(), Some(3), "{}", d.stderr());
    assert!(
        d.stderr().contains("/nonexistent/models/pose_"),
        "{}",
        d.stderr()
    );
}

/// `pose.model` naming a landmark model that is not installed: exit 3, naming the setting
/// and the file.
#[test]
fn missing_pose_model_exits_3_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let models = activityd::config::default_models_dir();
    for e in std::fs::read_dir(&models).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "pose_landmarks_heavy.onnx" {
            std::os::unix::fs::symlink(e.path(), dir.path().join(e.file_name())).unwrap();
        }
    }
    let mut d = Daemon::start(
        &format!(
            "device_id = \"x\"\n[pose]\nmodel = \"heavy\"\n[models]\ndir = \"{}\"\n[[cameras]]\nid = \"c\"\nsource = \"test:\"\n",
            dir.path().display()
        ),
        &[],
    );
    let (status, _) = d.wait_exit(Duration::from_secs(20)).expect("exits");
    assert_eq!(status.code(), Some(3), "{}", d.stderr());
    let path = dir.path().join("pose_landmarks_heavy.onnx");
    for want in ["pose.model = \"heavy\"", &path.display().to_string()] {
        assert!(d.stderr().contains(want), "{want:?} not in {}", d.stderr());
    }
}

const TEST_CONFIG: &str = r#"
device_id = "t"
[api]
enabled = false
[mqtt]
enabled = false
[watchdog]
stall_timeout_s = 1
[[cameras]]
id = "cam0"
source = "test:"
width = 320
height = 240
fps = 30
[[cameras]]
id = "cam1"
source = "rtsp://127.0.0.1:9/nothing"
"#;

#[test]
fn notifies_ready_then_watchdog_and_stops_on_sigterm() {
    let notify = NotifySocket::new();
    let sock = notify.path.to_str().unwrap();
    let mut d = Daemon::start(
        TEST_CONFIG,
        &[("NOTIFY_SOCKET", sock), ("WATCHDOG_USEC", "400000")],
    );
    assert!(
        notify
            .wait_for("READY=1", Duration::from_secs(60))
            .is_some(),
        "{}",
        d.stderr()
    );
    // Pings keep coming (one every 200 ms; how regularly is the machine's business).
    let mut msgs = Vec::new();
    let pings = |msgs: &[(std::time::Instant, String)]| {
        msgs.iter().filter(|m| m.1.contains("WATCHDOG=1")).count()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while pings(&msgs) < 4 && std::time::Instant::now() < deadline {
        msgs.extend(notify.collect(Duration::from_millis(500)));
    }
    assert!(pings(&msgs) >= 4, "{msgs:?}");
    let status = match msgs.iter().find(|m| m.1.starts_with("STATUS=")) {
        Some(m) => m.1.clone(),
        None => notify
            .wait_for("STATUS=", Duration::from_secs(30))
            .expect("a STATUS line"),
    };
    assert!(status.contains("cam0: "), "{status}");
    assert!(
        status.contains("cam1: retrying") || status.contains("cam1: starting"),
        "{status}"
    );

    // It exits, cleanly (how fast: `make bench`, bench/pace_under_load.py).
    d.signal("TERM");
    let (st, took) = d
        .wait_exit(Duration::from_secs(60))
        .expect("exits after SIGTERM");
    eprintln!("exited {took:?} after SIGTERM");
    assert_eq!(st.code(), Some(0), "{}", d.stderr());
    assert!(
        notify
            .wait_for("STOPPING=1", Duration::from_secs(5))
            .is_some()
    );
}

#[test]
fn sigint_stops_cleanly_too() {
    let notify = NotifySocket::new();
    let mut d = Daemon::start(
        TEST_CONFIG,
        &[("NOTIFY_SOCKET", notify.path.to_str().unwrap())],
    );
    assert!(
        notify
            .wait_for("READY=1", Duration::from_secs(60))
            .is_some()
    );
    d.signal("INT");
    let (st, took) = d
        .wait_exit(Duration::from_secs(60))
        .expect("exits after SIGINT");
    eprintln!("exited {took:?} after SIGINT");
    assert_eq!(st.code(), Some(0));
}

#[cfg(feature = "fault-injection")]
#[test]
fn watchdog_stops_when_a_worker_stalls() {
    let notify = NotifySocket::new();
    let sock = notify.path.to_str().unwrap();
    let d = Daemon::start(
        TEST_CONFIG,
        &[
            ("NOTIFY_SOCKET", sock),
            ("WATCHDOG_USEC", "400000"),
            ("ACTIVITYD_FAULT_STALL_AFTER", "20"),
        ],
    );
    assert!(
        notify
            .wait_for("READY=1", Duration::from_secs(60))
            .is_some()
    );
    assert!(
        notify
            .wait_for("WATCHDOG=1", Duration::from_secs(30))
            .is_some(),
        "pings before the stall"
    );
    // 20 frames at 30 fps stall the worker within a second; 1 s later it counts as stalled.
    let stalled = notify.wait_for("STALLED", Duration::from_secs(60));
    assert!(stalled.is_some(), "{}", d.stderr());
    let after = notify.collect(Duration::from_secs(2));
    let pings = after.iter().filter(|m| m.1.contains("WATCHDOG=1")).count();
    assert_eq!(pings, 0, "no WATCHDOG=1 while stalled: {after:?}");
    assert!(
        d.stderr().contains("withholding WATCHDOG=1"),
        "{}",
        d.stderr()
    );
}
