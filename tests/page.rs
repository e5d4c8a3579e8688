//! The web page in a real headless browser (Debian's `chromium`, driven over the Chrome
//! DevTools Protocol): the live skeleton, activity and timeline follow a camera, every request
//! stays on the daemon's origin and no image or video is ever loaded; the token form guards a
//! daemon with a token, and the page reconnects when the daemon comes back; a clinician arms a
//! Timed Up and Go trial, sees it completed and attaches a stopwatch time.
//!
//! `ACTIVITYD_SCREENSHOT=docs/page.png cargo test --release --test page` (or
//! `scripts/screenshot.sh`) also saves screenshots of the page: `docs/page.png` (one camera) and
//! `docs/page-tug.png` (the TUG view).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message, WebSocket, stream::MaybeTlsStream};

use common::{Daemon, fixture, free_port, http, wait_until};

/// Debian's Chromium, or the browser `$ACTIVITYD_CHROMIUM` names (any Chrome or Chromium).
fn chromium() -> String {
    std::env::var("ACTIVITYD_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// The browser process, killed with every process it started (its process group) on drop.
struct Chromium(Child);

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A headless Chromium and a DevTools connection to its page.
struct Browser {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Every CDP event received so far.
    events: Vec<Value>,
    _chromium: Chromium,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch() -> Browser {
        let exe = chromium();
        assert!(
            Path::new(&exe).exists(),
            "{exe} is missing: scripts/install-deps.sh installs it (apt-get install chromium), \
             or name another with ACTIVITYD_CHROMIUM"
        );
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(&exe)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--mute-audio",
                "--hide-scrollbars",
                "--window-size=1280,900",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            // Its own process group, so drop can end the renderers and helpers too.
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{exe}: {e}"));
        let mut chromium = Chromium(child);
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/…" on stderr; the rest
        // of stderr is drained so the browser never blocks on it.
        let (tx, rx) = mpsc::channel();
        let stderr = chromium.0.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            let mut seen = String::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(t) = &tx {
                    if let Some(url) = line.split("DevTools listening on ").nth(1) {
                        let _ = t.send(Ok(url.trim().to_string()));
                        tx = None;
                    } else {
                        seen.push_str(&line);
                        seen.push('\n');
                    }
                }
            }
            if let Some(t) = tx {
                let _ = t.send(Err(seen));
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok(url)) => url,
            Ok(Err(stderr)) => panic!("chromium exited before listening:\n{stderr}"),
            Err(_) => panic!("chromium did not start its DevTools server within 60 s"),
        };
        let port: u16 = url
            .strip_prefix("ws://127.0.0.1:")
            .and_then(|r| r.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected DevTools address {url}"));
        // The page target (about:blank).
        let mut page_ws = None;
        wait_until(Duration::from_secs(30), || {
            let Some(targets) = devtools_get(port, "/json/list") else {
                return false;
            };
            page_ws = targets.as_array().and_then(|ts| {
                ts.iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str())
                    .map(str::to_string)
            });
            page_ws.is_some()
        });
        let page_ws = page_ws.expect("chromium lists no page target");
        let (ws, _) = tungstenite::connect(page_ws.as_str()).unwrap();
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        }
        let mut b = Browser {
            ws,
            next_id: 1,
            events: Vec::new(),
            _chromium: chromium,
            _profile: profile,
        };
        b.call("Network.enable", json!({}));
        b.call("Page.enable", json!({}));
        b.call("Runtime.enable", json!({}));
        // Record what the Content-Security-Policy blocks, from before the page's own scripts.
        b.call(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({"source": "window.__cspViolations = []; \
                document.addEventListener('securitypolicyviolation', \
                e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"}),
        );
        b
    }

    /// One CDP command; returns its result (events that arrive meanwhile are kept).
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({"id": id, "method": method, "params": params});
        self.ws.send(Message::text(msg.to_string())).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < deadline, "no answer to {method}");
            let m = self.ws.read().unwrap_or_else(|e| panic!("{method}: {e}"));
            let Message::Text(text) = m else { continue };
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["id"] == id {
                if let Some(e) = v.get("error") {
                    panic!("{method}: {e}");
                }
                return v["result"].clone();
            }
            // Every event but the WebSocket's frames (one per analysed frame).
            if v.get("method").is_some_and(|m| {
                m != "Network.webSocketFrameReceived" && m != "Network.webSocketFrameSent"
            }) {
                self.events.push(v);
            }
        }
    }

    /// Evaluates `expr` in the page (promises awaited); returns its value as JSON.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expr}: {e}");
        }
        r["result"]["value"].clone()
    }

    fn navigate(&mut self, url: &str) {
        let r = self.call("Page.navigate", json!({"url": url}));
        assert!(r.get("errorText").is_none(), "{url}: {r}");
    }

    /// Polls `expr` until it is true; `what` names the wait in the failure.
    /// Until the page has loaded, the elements `expr` reads may not exist yet: an exception
    /// counts as not yet (right after `navigate` the old document may still be there).
    fn wait_for(&mut self, timeout: Duration, what: &str, expr: &str) {
        let guarded =
            format!("(() => {{ try {{ return ({expr}); }} catch (e) {{ return false; }} }})()");
        let ok = wait_until(timeout, || {
            std::thread::sleep(Duration::from_millis(200));
            self.eval(&guarded) == Value::Bool(true)
        });
        assert!(ok, "{what}: not within {timeout:?}\n{}", self.dom_summary());
    }

    /// What the page shows, for failure messages.
    fn dom_summary(&mut self) -> String {
        self.eval("document.body ? document.body.innerText.slice(0, 3000) : ''")
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Every request the page made: (url, resource type), WebSockets included.
    fn requests(&mut self) -> Vec<(String, String)> {
        // Flush events that arrived since the last command.
        self.eval("1");
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str()? {
                "Network.requestWillBeSent" => Some((
                    e["params"]["request"]["url"].as_str()?.to_string(),
                    e["params"]["type"].as_str().unwrap_or("").to_string(),
                )),
                "Network.webSocketCreated" => Some((
                    e["params"]["url"].as_str()?.to_string(),
                    "WebSocket".to_string(),
                )),
                _ => None,
            })
            .collect()
    }

    /// The page threw no uncaught exception and its Content-Security-Policy blocked nothing.
    fn assert_clean(&mut self) {
        let violations = self.eval("window.__cspViolations");
        assert_eq!(violations, json!([]), "CSP violations");
        let exceptions: Vec<&Value> = self
            .events
            .iter()
            .filter(|e| e["method"] == "Runtime.exceptionThrown")
            .collect();
        assert!(exceptions.is_empty(), "uncaught exceptions: {exceptions:?}");
    }

    /// Saves a screenshot to `$ACTIVITYD_SCREENSHOT` when it is set (`suffix` added to the
    /// file's stem: `docs/page.png` → `docs/page-tug.png`).
    fn screenshot_if_asked(&mut self, suffix: &str) {
        let Some(path) = std::env::var_os("ACTIVITYD_SCREENSHOT") else {
            return;
        };
        let mut path = std::path::PathBuf::from(path);
        if !suffix.is_empty() {
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            path.set_file_name(format!("{stem}{suffix}.png"));
        }
        use base64::Engine;
        // The whole page, at the window's width.
        let size = self
            .eval("[document.documentElement.clientWidth, document.documentElement.scrollHeight]");
        let r = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().expect("screenshot data"))
            .unwrap();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    }
}

/// A GET to the DevTools HTTP server, which keeps connections open: the body is read by its
/// `Content-Length`.
fn devtools_get(port: u16, path: &str) -> Option<Value> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").ok()?;
    let mut r = BufReader::new(s);
    let mut len = 0;
    loop {
        let mut line = String::new();
        r.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// A daemon with one camera (`camera` is its TOML lines) and its API on a free port.
fn daemon(id: &str, camera: &str, api_extra: &str) -> (Daemon, u16) {
    let port = free_port();
    (daemon_on(port, id, camera, api_extra), port)
}

/// As [`daemon`], on a given port (to restart one).
fn daemon_on(port: u16, id: &str, camera: &str, api_extra: &str) -> Daemon {
    let cfg = format!(
        "device_id = \"page\"\n[api]\nbind = \"127.0.0.1:{port}\"\n{api_extra}\n[mqtt]\nenabled = false\n[[cameras]]\nid = \"{id}\"\n{camera}\n"
    );
    let d = Daemon::start(&cfg, &[]);
    d.wait_for_api(port);
    d
}

fn get_json(port: u16, path: &str) -> Value {
    let r = http::get(port, path);
    assert_eq!(
        r.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

/// Every request went to the daemon, to one of the page's paths, and none was for an image
/// or a video.
fn assert_requests_allowed(requests: &[(String, String)], port: u16) {
    assert!(!requests.is_empty());
    let http_origin = format!("http://127.0.0.1:{port}");
    let ws_origin = format!("ws://127.0.0.1:{port}");
    for (url, kind) in requests {
        assert!(
            kind != "Image" && kind != "Media",
            "the page loaded an image or video: {url} ({kind})"
        );
        let path = url
            .strip_prefix(&http_origin)
            .or_else(|| url.strip_prefix(&ws_origin))
            .unwrap_or_else(|| panic!("a request off the daemon's origin: {url} ({kind})"));
        let bare = path.split(['?', '#']).next().unwrap_or("");
        let allowed = matches!(
            bare,
            "/" | "/page/app.js"
                | "/page/style.css"
                | "/health"
                | "/recent"
                | "/live"
                | "/favicon.ico"
        ) || bare.starts_with("/tug/")
            || bare.starts_with("/cameras/");
        assert!(allowed, "the page requested {url} ({kind})");
    }
    assert!(
        requests
            .iter()
            .any(|(u, k)| k == "WebSocket" && u.starts_with(&format!("{ws_origin}/live"))),
        "no WebSocket to /live: {requests:?}"
    );
}

/// The coordinates of the skeleton's visible bones, as one string.
const BONES: &str = "Array.from(document.querySelectorAll('svg.skeleton[data-camera=\"cam0\"] line'))\
    .filter(l => l.getAttribute('visibility') !== 'hidden')\
    .map(l => ['x1','y1','x2','y2'].map(a => l.getAttribute(a)).join(',')).join(' ')";
const UPDATES: &str = "Number((document.querySelector('svg.skeleton[data-camera=\"cam0\"]') || {dataset: {}}).dataset.updates || 0)";

#[test]
fn the_page_follows_a_camera_from_landmarks_alone() {
    let clip = fixture("video/sports2d_640x360.mp4");
    let (d, port) = daemon(
        "cam0",
        &format!(
            "source = \"file:{}\"\nloop = true\nprocess_fps = 10",
            clip.display()
        ),
        "",
    );
    let mut b = Browser::launch();
    b.navigate(&format!("http://127.0.0.1:{port}/"));

    // The skeleton is redrawn, and it moves.
    b.wait_for(
        Duration::from_secs(90),
        "skeleton drawn with bones",
        &format!("{UPDATES} > 0 && {BONES}.length > 0"),
    );
    let (u0, bones0) = (b.eval(UPDATES), b.eval(BONES));
    b.wait_for(
        Duration::from_secs(60),
        "skeleton updated and moved",
        &format!("{UPDATES} > {u0} + 5 && {BONES} !== {bones0}"),
    );
    let viewbox = b.eval(
        "document.querySelector('svg.skeleton[data-camera=\"cam0\"]').getAttribute('viewBox')",
    );
    assert_eq!(viewbox, "0 0 640 360", "the frame's aspect ratio");
    // The woman walking past the man is drawn too, as another person (3.2-6.8 s of the clip).
    b.wait_for(
        Duration::from_secs(60),
        "a second person drawn",
        "(() => { const o = document.querySelector('svg.skeleton[data-camera=\"cam0\"] path.others'); \
         return !!o && o.dataset.people === '1' && o.getAttribute('d').length > 100; })()",
    );
    assert!(
        b.eval(
            "Number(document.querySelector('svg.skeleton[data-camera=\"cam0\"]').dataset.t) >= 0"
        ) == Value::Bool(true)
    );

    // The current activity becomes one of the model's classes.
    let classes: Vec<String> = get_json(port, "/recent")["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert!(classes.len() >= 5, "{classes:?}");
    b.wait_for(
        Duration::from_secs(90),
        "the activity shows a class",
        &format!(
            "(() => {{ const a = document.querySelector('[data-camera=\"cam0\"] .activity'); \
             return !!a && {} .includes(a.textContent) && a.dataset.activity === a.textContent; }})()",
            serde_json::to_string(&classes).unwrap()
        ),
    );

    // The timeline shows the segments /recent has (same activities).
    let mut want = BTreeSet::new();
    let mut shown = BTreeSet::new();
    let ok = wait_until(Duration::from_secs(90), || {
        std::thread::sleep(Duration::from_millis(300));
        let recent = get_json(port, "/recent");
        want = recent["cameras"][0]["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["activity"].as_str().unwrap().to_string())
            .collect();
        let v = b.eval(
            "Array.from(document.querySelectorAll('[data-camera=\"cam0\"] .segment'))\
             .filter(s => Number(s.dataset.end) >= Number(s.dataset.start))\
             .map(s => s.dataset.activity)",
        );
        shown = v
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        !want.is_empty() && want.is_subset(&shown)
    });
    assert!(
        ok,
        "timeline {shown:?}, /recent segments {want:?}\n{}",
        b.dom_summary()
    );
    for a in &shown {
        assert!(classes.contains(a), "segment of {a}, not a class");
    }

    // Health is refreshed from /health.
    b.wait_for(
        Duration::from_secs(30),
        "camera health shown",
        "(() => { const c = document.querySelector('article.camera[data-camera=\"cam0\"]'); \
         return !!c && c.querySelector('.cam-state').textContent === 'streaming' \
         && c.querySelector('.h-process_fps').textContent !== '—'; })()",
    );
    assert_eq!(
        b.eval("document.getElementById('conn').dataset.state"),
        "live"
    );

    let requests = b.requests();
    assert_requests_allowed(&requests, port);
    b.assert_clean();
    if std::env::var_os("ACTIVITYD_SCREENSHOT").is_some() {
        // A minute's timeline with a few passes of the clip in it.
        b.eval(
            "(() => { const s = document.querySelector('select.window'); s.value = '60'; \
             s.dispatchEvent(new Event('change')); return true; })()",
        );
        b.wait_for(
            Duration::from_secs(120),
            "45 s of camera time",
            "Number(document.querySelector('svg.skeleton').dataset.t) > 45",
        );
        b.screenshot_if_asked("");
    }

    // One camera large at /cameras/<id>, with the WebSocket filtered to it; an unknown one
    // is said to be unknown.
    b.navigate(&format!("http://127.0.0.1:{port}/cameras/cam0"));
    b.wait_for(
        Duration::from_secs(60),
        "the camera's own page drawing",
        &format!("!!document.querySelector('article.camera.large') && {UPDATES} > 5"),
    );
    b.navigate(&format!("http://127.0.0.1:{port}/cameras/nope"));
    b.wait_for(
        Duration::from_secs(30),
        "an unknown camera said so",
        "document.getElementById('cameras-empty').textContent.includes('nope') \
         && !document.getElementById('cameras-empty').hidden",
    );
    let requests = b.requests();
    assert_requests_allowed(&requests, port);
    assert!(
        requests
            .iter()
            .any(|(u, k)| k == "WebSocket" && u.ends_with("/live?camera=cam0")),
        "{requests:?}"
    );
    b.assert_clean();
    drop(d);
}

#[test]
fn with_a_token_the_page_asks_for_it_refuses_a_wrong_one_and_reconnects() {
    let token = "s3cr3t+/ =&token";
    let tug = fixture("tug/test_00150_tug.jsonl");
    let camera = format!("source = \"landmarks:{}\"\nloop = true", tug.display());
    let api = format!("token = {}", serde_json::to_string(token).unwrap());
    let (d, port) = daemon("cam0", &camera, &api);
    let mut b = Browser::launch();
    b.navigate(&format!("http://127.0.0.1:{port}/"));
    b.wait_for(
        Duration::from_secs(60),
        "the token form",
        "!document.getElementById('token-form').hidden",
    );
    // The camera's card comes from the open /health, but no frame without the token.
    b.wait_for(
        Duration::from_secs(30),
        "the camera's card",
        "!!document.querySelector('svg.skeleton[data-camera=\"cam0\"]')",
    );
    let submit = |b: &mut Browser, t: &str| {
        b.eval(&format!(
            "document.getElementById('token-input').value = {}; \
             document.getElementById('token-form').requestSubmit(); true",
            serde_json::to_string(t).unwrap()
        ));
    };

    // A wrong token: asked again, with the refusal said.
    submit(&mut b, "wrong");
    b.wait_for(
        Duration::from_secs(30),
        "the token form again, with the refusal",
        "!document.getElementById('token-form').hidden && !document.getElementById('token-error').hidden",
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(b.eval(UPDATES), 0, "frames drawn without the token");
    assert_eq!(
        b.eval("!document.getElementById('token-form').hidden"),
        true
    );

    // The right one: the skeleton starts updating.
    submit(&mut b, token);
    b.wait_for(
        Duration::from_secs(60),
        "skeleton updating with the token",
        &format!("document.getElementById('token-form').hidden && {UPDATES} > 5"),
    );
    let requests = b.requests();
    assert_requests_allowed(&requests, port);
    b.assert_clean();
    let encoded = "token=s3cr3t%2B%2F%20%3D%26token";
    assert!(
        requests
            .iter()
            .any(|(u, k)| k == "WebSocket" && u.contains(encoded)),
        "no WebSocket with {encoded}: {requests:?}"
    );
    // The daemon goes away: the page says so; it comes back: the page reconnects by itself,
    // with the token it kept.
    drop(d);
    b.wait_for(
        Duration::from_secs(30),
        "disconnected",
        "document.getElementById('conn').dataset.state === 'disconnected'",
    );
    let _d = daemon_on(port, "cam0", &camera, &api);
    let u = b.eval(UPDATES);
    b.wait_for(
        Duration::from_secs(60),
        "live again, drawing",
        &format!(
            "document.getElementById('conn').dataset.state === 'live' && {UPDATES} > {u} + 5 \
             && document.getElementById('token-form').hidden"
        ),
    );
}

#[test]
fn a_clinician_arms_a_trial_and_times_it_with_a_stopwatch() {
    let tug = fixture("tug/test_00150_tug.jsonl");
    let (d, port) = daemon(
        "chair",
        &format!("source = \"landmarks:{}\"\nloop = true", tug.display()),
        "",
    );
    let mut b = Browser::launch();
    b.navigate(&format!("http://127.0.0.1:{port}/#tug"));
    b.wait_for(
        Duration::from_secs(60),
        "the TUG view with the camera to choose",
        "!document.getElementById('tug-view').hidden && \
         Array.from(document.getElementById('arm-camera').options).some(o => o.value === 'chair')",
    );
    b.eval(
        "document.getElementById('arm-camera').value = 'chair'; \
         document.getElementById('arm-subject').value = 'P-017'; \
         document.getElementById('arm-form').requestSubmit(); true",
    );
    b.wait_for(
        Duration::from_secs(30),
        "the trial armed",
        "!!document.querySelector('.trial[data-status=\"armed\"]')",
    );
    // The file's test completes it (one pass of the 16 s file, or the next).
    b.wait_for(
        Duration::from_secs(90),
        "the trial completed with its phases",
        "(() => { const t = document.querySelector('.trial[data-status=\"completed\"]'); \
         return !!t && t.querySelectorAll('.phases tr.phase').length >= 5 \
         && /\\d/.test(t.querySelector('.phases tr.total td').textContent); })()",
    );
    let text = b
        .eval("document.querySelector('.trial[data-status=\"completed\"]').innerText")
        .as_str()
        .unwrap()
        .to_string();
    for want in [
        "P-017",
        "STEADI",
        "not a diagnosis",
        "gait speed",
        "turn time",
    ] {
        assert!(text.contains(want), "{want:?} not in the trial: {text}");
    }

    b.eval(
        "(() => { const i = document.querySelector('.trial[data-status=\"completed\"] .stopwatch-input'); \
         i.value = '11.2'; i.form.requestSubmit(); return true; })()",
    );
    b.wait_for(
        Duration::from_secs(30),
        "agreement over one pair",
        "document.getElementById('agreement').dataset.n === '1'",
    );
    let trials = get_json(port, "/tug/trials");
    let t = &trials["trials"][0];
    assert_eq!(t["status"], "completed", "{trials}");
    assert_eq!(t["subject"], "P-017");
    assert_eq!(t["stopwatch_s"], 11.2);
    assert_eq!(get_json(port, "/tug/agreement")["n"], 1);

    let requests = b.requests();
    assert_requests_allowed(&requests, port);
    b.assert_clean();
    b.screenshot_if_asked("-tug");
    drop(d);
}
