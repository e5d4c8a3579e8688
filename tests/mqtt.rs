//! MQTT against a real Mosquitto broker: availability and the last will, retained state,
//! Home Assistant discovery, events from a real clip, and a broker outage.

mod common;

use std::time::Duration;

use common::{Broker, Daemon, Sub, fixture, free_port, http, wait_until};

fn config(broker: u16, api: Option<u16>, camera: &str, extra: &str) -> String {
    let api = match api {
        Some(p) => format!("[api]\nbind = \"127.0.0.1:{p}\"\n"),
        None => "[api]\nenabled = false\n".to_string(),
    };
    format!(
        "device_id = \"hall-1\"\n{api}[mqtt]\nhost = \"127.0.0.1\"\nport = {broker}\nstats_interval_s = 2\n{extra}\n[[cameras]]\nid = \"cam0\"\n{camera}\n"
    )
}

fn clip_camera() -> String {
    format!(
        "source = \"file://{}\"\nloop = true\nprocess_fps = 15",
        fixture("video/sports2d_640x360.mp4").display()
    )
}

const BASE: &str = "activityd/hall-1";

#[test]
fn availability_discovery_state_and_events_from_a_real_clip() {
    let broker = Broker::start();
    let sub = Sub::start(broker.port, "#", None);
    // A zone around the box the man exercises on (he jumps down from it at ~6 s of the clip).
    let camera = format!(
        "{}\n[[cameras.zones]]\nname = \"box\"\npolygon = [[0.25, 0.0], [0.5, 0.0], [0.5, 1.0], [0.25, 1.0]]",
        clip_camera()
    );
    let mut d = Daemon::start(&config(broker.port, None, &camera, ""), &[]);
    let avail = format!("{BASE}/availability");
    assert!(
        sub.wait_for(&avail, Duration::from_secs(15), |p| p == "online")
            .is_some(),
        "{}",
        d.stderr()
    );

    // Discovery: one device message with the entities Home Assistant needs.
    let disc = sub
        .wait_for(
            "homeassistant/device/hall-1/config",
            Duration::from_secs(30),
            |_| true,
        )
        .expect("discovery");
    let v: serde_json::Value = serde_json::from_str(&disc).unwrap();
    assert_eq!(v["avty_t"], avail);
    let cmps = v["cmps"].as_object().unwrap();
    for p in ["event", "sensor", "binary_sensor"] {
        assert!(cmps.values().any(|c| c["p"] == p), "no {p} entity");
    }
    // The people count, and the zone's occupancy and count.
    let zone_topic = format!("{BASE}/cam0/zone/box");
    for (id, topic) in [
        ("activityd_hall-1_cam0_people", format!("{BASE}/cam0/state")),
        (
            "activityd_hall-1_cam0_zone_box_occupied",
            zone_topic.clone(),
        ),
        ("activityd_hall-1_cam0_zone_box_count", zone_topic.clone()),
    ] {
        assert_eq!(cmps[id]["state_topic"], topic, "{id}");
    }

    // State: retained, so a late subscriber gets it at once.
    let state_topic = format!("{BASE}/cam0/state");
    assert!(
        sub.wait_for(&state_topic, Duration::from_secs(15), |_| true)
            .is_some()
    );
    let late = Sub::start(broker.port, &state_topic, None);
    let s = late
        .wait_for(&state_topic, Duration::from_secs(30), |_| true)
        .expect("retained state");
    let s: serde_json::Value = serde_json::from_str(&s).unwrap();
    for k in ["activity", "confidence", "person_present", "t"] {
        assert!(s.get(k).is_some(), "state lacks {k}: {s}");
    }

    // Events: the clip's people produce activity segments, each a start then an end.
    let ev_topic = format!("{BASE}/cam0/event");
    let end = sub.wait_for(&ev_topic, Duration::from_secs(40), |p| {
        p.contains("\"phase\":\"end\"")
    });
    let events = sub.payloads(&ev_topic);
    assert!(end.is_some(), "no event ended: {events:?}\n{}", d.stderr());
    for e in &events {
        let e: serde_json::Value = serde_json::from_str(e).unwrap();
        for k in [
            "camera",
            "activity",
            "phase",
            "start",
            "end",
            "confidence",
            "ts",
        ] {
            assert!(e.get(k).is_some(), "event lacks {k}: {e}");
        }
        assert_eq!(e["camera"], "cam0");
        assert!(
            e["person"].as_u64().is_some_and(|p| p >= 1),
            "event lacks person: {e}"
        );
    }

    // Two people at once: the man and the woman walking past (from ~2.2 s of the clip).
    let two = sub.wait_for(&state_topic, Duration::from_secs(40), |p| {
        serde_json::from_str::<serde_json::Value>(p).unwrap()["people_count"] == 2
    });
    let s: serde_json::Value =
        serde_json::from_str(&two.expect("two people in the state")).unwrap();
    let ids: Vec<u64> = s["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["person"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{s}");
    assert_ne!(ids[0], ids[1], "{s}");

    // The zone: occupied (retained), and entered and left by the man as he jumps down.
    let occ = sub
        .wait_for(&zone_topic, Duration::from_secs(40), |p| {
            p.contains("\"occupied\":true")
        })
        .expect("the box zone occupied");
    let occ: serde_json::Value = serde_json::from_str(&occ).unwrap();
    assert!(occ["count"].as_u64().unwrap() >= 1, "{occ}");
    let zone_events = format!("{zone_topic}/event");
    let left = sub
        .wait_for(&zone_events, Duration::from_secs(40), |p| {
            p.contains("\"phase\":\"leave\"")
        })
        .expect("someone left the box zone");
    let left: serde_json::Value = serde_json::from_str(&left).unwrap();
    assert!(left["dwell_s"].as_f64().unwrap() > 0.0, "{left}");
    assert!(left["person"].as_u64().is_some(), "{left}");

    // Stats, named like Frigate's.
    let stats = sub
        .wait_for(&format!("{BASE}/stats"), Duration::from_secs(30), |_| true)
        .expect("stats");
    let st: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert!(st["cameras"]["cam0"]["camera_fps"].is_number(), "{st}");
    assert!(st["cameras"]["cam0"]["process_fps"].is_number(), "{st}");
    // Rates are averages since the previous message (since the start for the first one), so
    // even the first message shows frames arriving.
    let avg = st["cameras"]["cam0"]["capture_fps_avg"].as_f64().unwrap();
    assert!(avg > 0.0, "{st}");
    // The 30 fps clip is capped at 15: about half the frames are passed over.
    let skipped = st["cameras"]["cam0"]["skipped_fps"].as_f64().unwrap();
    assert!(skipped > 0.25 * avg && skipped < 0.75 * avg, "{st}");

    // Home Assistant restarts: discovery is sent again.
    let before = sub.payloads("homeassistant/device/hall-1/config").len();
    let ok = std::process::Command::new("mosquitto_pub")
        .args([
            "-p",
            &broker.port.to_string(),
            "-t",
            "homeassistant/status",
            "-m",
            "online",
        ])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    assert!(wait_until(Duration::from_secs(30), || sub
        .payloads("homeassistant/device/hall-1/config")
        .len()
        > before));

    // A clean stop says offline.
    d.signal("TERM");
    assert!(d.wait_exit(Duration::from_secs(30)).is_some());
    assert_eq!(
        sub.payloads(&avail).last().map(String::as_str),
        Some("offline")
    );
}

#[test]
fn the_broker_publishes_the_last_will_when_the_daemon_dies() {
    let broker = Broker::start();
    let sub = Sub::start(broker.port, &format!("{BASE}/availability"), None);
    let mut d = Daemon::start(
        &config(
            broker.port,
            None,
            "source = \"test:\"\nwidth = 320\nheight = 240",
            "",
        ),
        &[],
    );
    let topic = format!("{BASE}/availability");
    assert!(
        sub.wait_for(&topic, Duration::from_secs(15), |p| p == "online")
            .is_some()
    );
    d.signal("KILL");
    assert!(d.wait_exit(Duration::from_secs(30)).is_some());
    assert!(
        wait_until(Duration::from_secs(30), || sub
            .payloads(&topic)
            .last()
            .map(String::as_str)
            == Some("offline")),
        "{:?}",
        sub.payloads(&topic)
    );
    // Retained: whoever subscribes later learns the daemon is gone.
    let late = Sub::start(broker.port, &topic, None);
    assert_eq!(
        late.wait_for(&topic, Duration::from_secs(30), |_| true)
            .as_deref(),
        Some("offline")
    );
}

/// Numbers of the synthetic events received (their start times: 0, 1, 2, …).
#[cfg(feature = "fault-injection")]
fn event_numbers(sub: &Sub) -> Vec<u64> {
    sub.payloads(&format!("{BASE}/cam0/event"))
        .iter()
        .map(|p| {
            serde_json::from_str::<serde_json::Value>(p).unwrap()["start"]
                .as_f64()
                .unwrap() as u64
        })
        .collect()
}

#[cfg(feature = "fault-injection")]
fn metric(port: u16, name: &str) -> f64 {
    http::metric(
        &String::from_utf8(http::get(port, "/metrics").body).unwrap(),
        name,
    )
}

/// The broker goes away for 20 s while events keep coming: the newest `queue_size` are kept
/// and delivered in order, exactly once each, and the dropped ones are counted exactly.
#[cfg(feature = "fault-injection")]
#[test]
fn a_broker_outage_loses_nothing_within_the_queue_bound() {
    let mut broker = Broker::start();
    let api = free_port();
    let sub = Sub::start(
        broker.port,
        &format!("{BASE}/cam0/event"),
        Some("outage-test-sub"),
    );
    let cam = "source = \"test:\"\nwidth = 160\nheight = 120\nfps = 20";
    let d = Daemon::start(
        &config(broker.port, Some(api), cam, "queue_size = 40"),
        &[("ACTIVITYD_FAULT_EVENTS_EVERY", "4")],
    );
    // ~5 events per second.
    assert!(
        wait_until(Duration::from_secs(60), || event_numbers(&sub).len() >= 5),
        "{}",
        d.stderr()
    );
    broker.stop();
    let last_before = *event_numbers(&sub).last().unwrap();
    std::thread::sleep(Duration::from_secs(20));
    // While the broker is away the events wait in the queue, and it is full by now.
    assert_eq!(metric(api, "activityd_mqtt_queue_depth"), 40.0);
    let health = http::get(api, "/health").json();
    assert_eq!(health["mqtt"], "disconnected");
    assert_eq!(health["status"], "degraded");
    broker.restart();
    // Everything queued arrives once the daemon is back (retries come within 5 s).
    assert!(
        wait_until(Duration::from_secs(60), || event_numbers(&sub).len() > 60),
        "{:?}",
        event_numbers(&sub)
    );
    let got = event_numbers(&sub);
    // In order and each once.
    assert!(
        got.windows(2).all(|w| w[1] > w[0]),
        "out of order or repeated: {got:?}"
    );
    // Every event is either delivered or counted as dropped: the numbers missing are exactly
    // the drop count (the oldest waiting events went; one being sent is never dropped).
    let span = got.last().unwrap() - got.first().unwrap() + 1;
    let missing = span - got.len() as u64;
    assert!(missing > 0, "20 s of events overflowed a 40-event queue");
    // The counter is read after the last event counted above was received.
    assert_eq!(
        metric(api, "activityd_mqtt_dropped_events_total"),
        missing as f64,
        "{got:?}"
    );
    // Once the queue drained, events flow without loss again.
    let tail = &got[got.len() - 15..];
    assert!(tail.windows(2).all(|w| w[1] == w[0] + 1), "{tail:?}");
    assert!(
        got.iter().any(|&n| n > last_before + 40),
        "events from after the outage arrived"
    );
    assert_eq!(http::get(api, "/health").json()["mqtt"], "connected");
}

/// Makes a CA and a server certificate for 127.0.0.1 with openssl; returns (ca, cert, key).
fn make_certs(dir: &std::path::Path) -> (String, String, String) {
    let p = |f: &str| dir.join(f).display().to_string();
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=activityd test CA",
        "-keyout",
        &p("ca.key"),
        "-out",
        &p("ca.pem"),
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &p("server.key"),
        "-out",
        &p("server.csr"),
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        &p("server.csr"),
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &p("ext.cnf"),
        "-out",
        &p("server.pem"),
    ]);
    (p("ca.pem"), p("server.pem"), p("server.key"))
}

/// TLS with the broker's CA, and a username/password whose password comes from the
/// environment and never reaches the logs; a wrong password is retried, not fatal.
#[test]
fn tls_and_credentials_work_and_secrets_stay_out_of_the_logs() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certs(certs.path());
    let pwfile = certs.path().join("passwd");
    let ok = std::process::Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&pwfile)
        .args(["sensor", "pa55-w0rd-xyz"])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let broker = Broker::start_with(&format!(
        "allow_anonymous false\npassword_file {}\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n",
        pwfile.display()
    ));
    let sub_args = ["--cafile", &ca, "-u", "sensor", "-P", "pa55-w0rd-xyz"];
    let sub = Sub::start_with(broker.port, "#", None, &sub_args);
    let api = free_port();
    let extra = format!("ca_file = \"{ca}\"\nusername = \"sensor\"");
    let cam = "source = \"test:\"\nwidth = 160\nheight = 120";
    let mut d = Daemon::start(
        &config(broker.port, Some(api), cam, &extra),
        &[
            ("ACTIVITYD_MQTT_PASSWORD", "pa55-w0rd-xyz"),
            ("RUST_LOG", "debug"),
        ],
    );
    let avail = format!("{BASE}/availability");
    assert!(
        sub.wait_for(&avail, Duration::from_secs(15), |p| p == "online")
            .is_some(),
        "{}",
        d.stderr()
    );
    assert_eq!(http::get(api, "/health").json()["mqtt"], "connected");
    d.signal("TERM");
    assert!(d.wait_exit(Duration::from_secs(30)).is_some());
    assert!(
        !d.stderr().contains("pa55-w0rd-xyz"),
        "the password was logged"
    );

    // A wrong password: refused by the broker, retried with backoff, reported, no crash.
    let api = free_port();
    let bad = Daemon::start(
        &config(broker.port, Some(api), cam, &extra),
        &[("ACTIVITYD_MQTT_PASSWORD", "wrong-secret-123")],
    );
    assert!(wait_until(Duration::from_secs(60), || {
        std::net::TcpStream::connect(("127.0.0.1", api)).is_ok()
    }));
    std::thread::sleep(Duration::from_secs(3));
    let h = http::get(api, "/health").json();
    assert_eq!(h["mqtt"], "disconnected", "{h}");
    assert_eq!(h["status"], "degraded", "{h}");
    assert!(!bad.stderr().contains("wrong-secret-123"));
}
