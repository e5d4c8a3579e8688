//! Privacy: video stays in memory. The daemon runs on a clip and takes uploads (a photo, a
//! video, a WebSocket stream) with its working directory, `$HOME` and `$TMPDIR` replaced by
//! empty directories and every file-creating system call traced; nothing may be created or
//! opened for writing anywhere.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::http::post_form;
use common::{fixture, free_port, wait_until};

fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        out.push(p.display().to_string());
        if p.is_dir() {
            out.extend(files_under(&p));
        }
    }
    out
}

#[test]
fn no_file_is_created_and_nothing_is_opened_for_writing() {
    let (cwd, home, tmp) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let trace_dir = tempfile::tempdir().unwrap();
    let trace = trace_dir.path().join("strace.log");
    let port = free_port();
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("a.toml");
    std::fs::write(
        &cfg,
        format!(
            "device_id = \"p\"\n[api]\nbind = \"127.0.0.1:{port}\"\n[mqtt]\nenabled = false\n[[cameras]]\nid = \"cam0\"\nsource = \"file://{}\"\nloop = true\n",
            fixture("video/pose2sim_cam01.mp4").display()
        ),
    )
    .unwrap();
    let mut child = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,truncate,ftruncate", "-o"])
        .arg(&trace)
        .arg(env!("CARGO_BIN_EXE_activityd"))
        .args(["run", "--config"])
        .arg(&cfg)
        .current_dir(cwd.path())
        .env("HOME", home.path())
        .env("TMPDIR", tmp.path())
        .env_remove("XDG_CACHE_HOME")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("GST_REGISTRY")
        .env_remove("ORC_CODE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("strace is installed (make test installs it)");
    assert!(wait_until(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    }));
    // The camera runs while uploads come in.
    let r = post_form(
        port,
        "/predict/frame",
        "image_file",
        "p.jpg",
        &std::fs::read(fixture("images/pose2sim_cam03_f000_back.jpg")).unwrap(),
        &[],
        None,
    );
    assert_eq!(r.status, 200);
    let r = post_form(
        port,
        "/predict/video",
        "video_file",
        "v.mp4",
        &std::fs::read(fixture("video/pose2sim_cam01.mp4")).unwrap(),
        &[],
        None,
    );
    assert_eq!(r.status, 200);
    std::thread::sleep(Duration::from_secs(2));
    // Stop the daemon itself (strace's child); strace ends with it.
    let children = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", child.id()))
        .unwrap_or_default();
    let daemon = children
        .split_whitespace()
        .next()
        .expect("strace runs the daemon")
        .to_string();
    let _ = Command::new("kill").arg("-TERM").arg(&daemon).status();
    let stopped = wait_until(Duration::from_secs(60), || {
        child.try_wait().unwrap().is_some()
    });
    if !stopped {
        let _ = Command::new("kill").arg("-KILL").arg(&daemon).status();
        let _ = child.kill();
    }
    let _ = child.wait();
    assert!(stopped, "the daemon did not stop on SIGTERM");

    for (name, dir) in [
        ("working directory", cwd.path()),
        ("$HOME", home.path()),
        ("$TMPDIR", tmp.path()),
    ] {
        let files = files_under(dir);
        assert!(files.is_empty(), "files created in the {name}: {files:?}");
    }
    let log = std::fs::read_to_string(&trace).unwrap();
    let calls: Vec<&str> = log.lines().filter(|l| l.contains('(')).collect();
    assert!(
        calls.len() > 20,
        "strace saw the daemon's calls: {}",
        calls.len()
    );
    let writes: Vec<&&str> = calls
        .iter()
        .filter(|l| {
            let opens_for_writing = (l.contains("open") || l.contains("creat("))
                && (l.contains("O_WRONLY")
                    || l.contains("O_RDWR")
                    || l.contains("O_CREAT")
                    || l.contains("creat("));
            let changes_the_tree = [
                "mkdir",
                "rename",
                "link(",
                "linkat(",
                "symlink",
                "truncate(",
            ]
            .iter()
            .any(|c| l.contains(c));
            // Failed attempts change nothing (e.g. GStreamer probing its registry path).
            let failed = l.contains("= -1 ");
            let harmless =
                l.contains("\"/dev/null\"") || l.contains("/dev/shm/") && !l.contains("O_CREAT");
            (opens_for_writing || changes_the_tree) && !failed && !harmless
        })
        .collect();
    assert!(
        writes.is_empty(),
        "files opened for writing:\n{}",
        writes
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
