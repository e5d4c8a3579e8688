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

/// Runs `activityd ARGS…`, which must succeed; returns its standard output.
#[allow(dead_code)]
pub fn run_ok<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Vec<u8> {
    let out = std::process::Command::new(bin())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "activityd {:?}: {}",
        args.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
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

/// Runs a gst-launch description (e.g. one that encodes a test clip) to its end; panics on an
/// error or after a minute (a hang, not a slow machine).
pub fn gst_run_to_end(desc: &str) {
    use gstreamer::prelude::*;
    activityd::capture::gst::init().unwrap();
    let p = gstreamer::parse::launch(desc).unwrap_or_else(|e| panic!("{desc}: {e}"));
    p.set_state(gstreamer::State::Playing).unwrap();
    let msg = p
        .bus()
        .unwrap()
        .timed_pop_filtered(
            gstreamer::ClockTime::from_seconds(60),
            &[gstreamer::MessageType::Eos, gstreamer::MessageType::Error],
        )
        .expect("pipeline finished");
    p.set_state(gstreamer::State::Null).unwrap();
    assert_eq!(msg.type_(), gstreamer::MessageType::Eos, "{desc}: {msg:?}");
}

/// Makes a 2 s, 320x240, 15 fps (30 frames) WebM whose track is flagged as carrying alpha, as
/// browsers record, with `tests/fixtures/video/make_alpha_webm.sh` (ffmpeg): `codec` vp8 or
/// vp9, `kind` flagged (no alpha data), gbr (VP9 4:4:4) or alpha (real alpha data).
pub fn make_alpha_webm(dir: &Path, codec: &str, kind: &str) -> PathBuf {
    let out = dir.join(format!("{codec}_{kind}.webm"));
    let script = fixture("video/make_alpha_webm.sh");
    let run = Command::new(&script)
        .arg(&out)
        .args([codec, kind])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    assert!(
        run.status.success() && out.is_file(),
        "{} {codec} {kind} failed (ffmpeg missing? scripts/install-deps.sh installs it): {}",
        script.display(),
        String::from_utf8_lossy(&run.stderr)
    );
    out
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

    /// Waits (up to 60 s) until the API accepts connections on `port`; fails the test with
    /// the daemon's log otherwise.
    pub fn wait_for_api(&self, port: u16) {
        assert!(
            wait_until(Duration::from_secs(60), || std::net::TcpStream::connect((
                "127.0.0.1",
                port
            ))
            .is_ok()),
            "API never came up: {}",
            self.stderr()
        );
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

/// A free TCP port on loopback for a daemon or broker to bind.
///
/// Not `bind(0)`: a port the kernel hands out can be handed out again, to another test's
/// `bind(0)` or as the source port of an outgoing connection, before the daemon binds it. A
/// test then talks to the wrong server (an HTTP request to a Mosquitto broker comes back as a
/// connection reset). Ports here come from below the kernel's ephemeral range, in turn from a
/// start that depends on the process id (test binaries run one after another), each checked
/// free by binding it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral_low: u32 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    const LOW: u32 = 20000;
    if ephemeral_low < LOW + 2000 {
        // An unusual kernel setting: fall back to the kernel's choice.
        return std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
    }
    let span = ephemeral_low - LOW;
    let start = std::process::id().wrapping_mul(7919) % span;
    for _ in 0..span {
        let port = (LOW + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {LOW}..{ephemeral_low}");
}

/// A real Mosquitto broker on a free loopback port, with its own config file; persistence on,
/// so sessions survive a restart like a production broker's.
pub struct Broker {
    pub port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    extra: String,
}

impl Broker {
    pub fn start() -> Broker {
        Broker::start_with("")
    }

    /// Starts with extra `mosquitto.conf` lines for the listener (e.g. TLS settings, or
    /// `allow_anonymous false` with a password file).
    pub fn start_with(extra: &str) -> Broker {
        let mut b = Broker {
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
            extra: extra.to_string(),
        };
        b.restart();
        b
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// (Re)starts the broker on the same port.
    pub fn restart(&mut self) {
        let conf = self.dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                // `user root`: started as root (CI), stay root so the test's private
                // directories (certificates, persistence) stay readable.
                "user root\nlistener {} 127.0.0.1\n{}\npersistence true\npersistence_location {}/\nautosave_interval 1\n{}\n",
                self.port,
                if self.extra.contains("allow_anonymous") { "" } else { "allow_anonymous true" },
                self.dir.path().display(),
                self.extra
            ),
        )
        .unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto is installed (make test installs it)");
        self.child = Some(child);
        let port = self.port;
        assert!(
            wait_until(Duration::from_secs(30), || std::net::TcpStream::connect((
                "127.0.0.1",
                port
            ))
            .is_ok()),
            "mosquitto did not start"
        );
    }

    /// Stops the broker (SIGTERM, so it saves its sessions).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let _ = c.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `mosquitto_sub -v` on a topic filter, collecting `topic payload` lines. With a client id it
/// keeps a persistent QoS 1 session (messages published while it is away are kept for it).
pub struct Sub {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Sub {
    pub fn start(port: u16, filter: &str, client_id: Option<&str>) -> Sub {
        Sub::start_with(port, filter, client_id, &[])
    }

    /// With extra `mosquitto_sub` arguments (TLS, credentials).
    pub fn start_with(port: u16, filter: &str, client_id: Option<&str>, extra: &[&str]) -> Sub {
        let mut cmd = Command::new("mosquitto_sub");
        cmd.args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-v",
            "-q",
            "1",
            "-t",
            filter,
        ]);
        if let Some(id) = client_id {
            cmd.args(["-i", id, "-c"]);
        }
        cmd.args(extra);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto_sub is installed");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l2 = lines.clone();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                l2.lock().unwrap().push(line);
            }
        });
        // Give it a moment to connect and subscribe.
        std::thread::sleep(Duration::from_millis(300));
        Sub { child, lines }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// Payloads received on `topic`, in order.
    pub fn payloads(&self, topic: &str) -> Vec<String> {
        self.lines()
            .iter()
            .filter_map(|l| l.strip_prefix(topic)?.strip_prefix(' ').map(str::to_string))
            .collect()
    }

    /// Waits until a message on `topic` satisfies `pred`; returns its payload.
    pub fn wait_for(
        &self,
        topic: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let mut found = None;
        wait_until(timeout, || {
            found = self.payloads(topic).into_iter().find(|p| pred(p));
            found.is_some()
        });
        found
    }
}

impl Drop for Sub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 client over loopback (one request per connection), for exact control of
/// what is sent: headers, bodies, partial bodies.
pub mod http {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    #[derive(Debug)]
    pub struct Reply {
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    impl Reply {
        pub fn json(&self) -> serde_json::Value {
            serde_json::from_slice(&self.body).unwrap_or_else(|e| {
                panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body))
            })
        }
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    fn read_reply(mut s: TcpStream) -> std::io::Result<Reply> {
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)?;
        let split = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| {
                std::io::Error::other(format!(
                    "no header end in {:?}",
                    String::from_utf8_lossy(&buf)
                ))
            })?;
        let head = String::from_utf8_lossy(&buf[..split]).to_string();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .unwrap_or("")
            .split(' ')
            .nth(1)
            .unwrap_or("0")
            .parse()
            .unwrap_or(0);
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| {
                l.split_once(':')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            })
            .collect();
        let mut body = buf[split + 4..].to_vec();
        if headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
        {
            body = dechunk(&body);
        }
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    fn dechunk(mut b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(p) = b.windows(2).position(|w| w == b"\r\n") {
            let n = usize::from_str_radix(std::str::from_utf8(&b[..p]).unwrap_or("0").trim(), 16)
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            out.extend_from_slice(&b[p + 2..p + 2 + n]);
            b = &b[p + 2 + n + 2..];
        }
        out
    }

    /// Sends one request and reads the whole reply (the server closes: `Connection: close`).
    pub fn request(
        port: u16,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Reply> {
        let mut s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(120)))?;
        let mut req =
            format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        let declared = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
        if !declared && (!body.is_empty() || method == "POST") {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes())?;
        s.write_all(body)?;
        read_reply(s)
    }

    pub fn get(port: u16, path: &str) -> Reply {
        request(port, "GET", path, &[], b"").unwrap()
    }

    /// The value of the first sample line of a Prometheus text page that starts with `name`
    /// (a metric name, optionally with its labels).
    pub fn metric(text: &str, name: &str) -> f64 {
        text.lines()
            .find(|l| l.starts_with(name) && !l.starts_with('#'))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    }

    /// A multipart form with one file field (and optional extra text fields).
    pub fn form(
        field: &str,
        filename: &str,
        data: &[u8],
        extra: &[(&str, &str)],
    ) -> (String, Vec<u8>) {
        let b = "activitydtestboundary7e3f";
        let mut v = Vec::new();
        v.extend_from_slice(format!("--{b}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
        v.extend_from_slice(data);
        v.extend_from_slice(b"\r\n");
        for (k, val) in extra {
            v.extend_from_slice(
                format!("--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{val}\r\n")
                    .as_bytes(),
            );
        }
        v.extend_from_slice(format!("--{b}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={b}"), v)
    }

    pub fn post_form(
        port: u16,
        path: &str,
        field: &str,
        filename: &str,
        data: &[u8],
        extra: &[(&str, &str)],
        auth: Option<&str>,
    ) -> Reply {
        let (ct, body) = form(field, filename, data, extra);
        let bearer = auth.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("Content-Type", ct.as_str())];
        if let Some(b) = &bearer {
            headers.push(("Authorization", b.as_str()));
        }
        request(port, "POST", path, &headers, &body).unwrap()
    }
}
