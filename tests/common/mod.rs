//! Helpers shared by the integration tests: fixture paths, temporary configs, the daemon as a
//! child process, and a real `NOTIFY_SOCKET` listener.
#![allow(dead_code)]

use std::io::Read;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_activityd")
}

/// Polls `cond` every 20 ms until it holds or `timeout` passes; returns whether it held.
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A datagram socket standing in for systemd's notify socket.
pub struct NotifySocket {
    pub path: PathBuf,
    sock: UnixDatagram,
    _dir: tempfile::TempDir,
}

impl NotifySocket {
    pub fn new() -> NotifySocket {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let sock = UnixDatagram::bind(&path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        NotifySocket {
            path,
            sock,
            _dir: dir,
        }
    }

    /// Every message received within `timeout`, each with its arrival time.
    pub fn collect(&self, timeout: Duration) -> Vec<(Instant, String)> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.sock.recv(&mut buf) {
                out.push((
                    Instant::now(),
                    String::from_utf8_lossy(&buf[..n]).into_owned(),
                ));
            }
        }
        out
    }

    /// Waits for a message containing `needle`; returns it.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.sock.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                if msg.contains(needle) {
                    return Some(msg);
                }
            }
        }
        None
    }
}

/// The daemon running as a child process, killed if the test ends early.
pub struct Daemon {
    pub child: Child,
    pub dir: tempfile::TempDir,
    stderr: Arc<Mutex<String>>,
    drains: Vec<std::thread::JoinHandle<()>>,
}

/// Drains a pipe on a thread so the child never blocks on a full pipe.
fn drain(mut r: impl Read + Send + 'static) -> (Arc<Mutex<String>>, std::thread::JoinHandle<()>) {
    let buf = Arc::new(Mutex::new(String::new()));
    let b = buf.clone();
    let t = std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = r.read(&mut chunk) {
            if n == 0 {
                break;
            }
            b.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    (buf, t)
}

impl Daemon {
    /// Starts `activityd run` on `config` (TOML text), with extra environment.
    pub fn start(config: &str, env: &[(&str, &str)]) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("activityd.toml");
        std::fs::write(&cfg, config).unwrap();
        let mut cmd = Command::new(bin());
        cmd.args(["run", "--config"])
            .arg(&cfg)
            .args(["--log-format", "text"])
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let (stderr, t1) = drain(child.stderr.take().unwrap());
        let (_stdout, t2) = drain(child.stdout.take().unwrap());
        Daemon {
            child,
            dir,
            stderr,
            drains: vec![t1, t2],
        }
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    /// Waits for exit up to `timeout`; returns the status and how long it took.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<(ExitStatus, Duration)> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(st) = self.child.try_wait().unwrap() {
                let took = start.elapsed();
                // The pipes close at exit: collect everything the daemon wrote.
                for t in self.drains.drain(..) {
                    let _ = t.join();
                }
                return Some((st, took));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// What the daemon has written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
