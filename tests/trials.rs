//! TUG trials through the API, on a camera that shows a test (a real daemon replaying a
//! recorded Timed Up and Go sequence through the whole pipeline, a real Mosquitto broker):
//! armed, completed with its phases and gait speed, published on MQTT, a stopwatch time
//! attached, agreement computed; and the read-only `/live` WebSocket the page listens to.

mod common;

use std::time::Duration;

use common::{Broker, Daemon, Sub, fixture, free_port, http, wait_until};
use serde_json::{Value, json};

const TOKEN: &str = "clinic-7f3";

fn config(api: u16, mqtt: u16) -> String {
    format!(
        "device_id = \"gym\"\n[api]\nbind = \"127.0.0.1:{api}\"\ntoken = \"{TOKEN}\"\n\
         [mqtt]\nhost = \"127.0.0.1\"\nport = {mqtt}\ndiscovery_prefix = \"\"\n\
         [[cameras]]\nid = \"chair\"\nsource = \"landmarks:{}\"\nloop = true\nprocess_fps = 0\n",
        fixture("tug/test_00167_tug.jsonl").display()
    )
}

fn call(api: u16, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let auth = format!("Bearer {TOKEN}");
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let r = http::request(
        api,
        method,
        path,
        &[
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ],
        &body,
    )
    .unwrap();
    (r.status, r.json())
}

#[test]
fn a_trial_is_armed_completed_by_the_next_test_timed_and_compared_with_a_stopwatch() {
    let broker = Broker::start();
    let sub = Sub::start(broker.port, "activityd/gym/chair/tug/#", None);
    let api = free_port();
    let d = Daemon::start(&config(api, broker.port), &[]);
    d.wait_for_api(api);

    // The token is needed, and bad input is refused with a JSON error.
    let r = http::request(api, "GET", "/tug/trials", &[], b"").unwrap();
    assert_eq!(
        (r.status, r.json()["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (s, e) = call(api, "POST", "/tug/trials", &json!({"camera": "nope"}));
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("unknown_camera"))
    );
    let (s, e) = call(api, "POST", "/tug/trials", &json!({"subject": "Jane Doe"}));
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("invalid_field"))
    );
    let (s, e) = call(api, "POST", "/tug/trials", &json!({"walk_m": 0.2}));
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("invalid_field"))
    );
    let (s, e) = call(api, "POST", "/tug/trials", &json!({"colour": "red"}));
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("bad_json")));

    // Armed (the only camera is the default), once.
    let (s, trial) = call(
        api,
        "POST",
        "/tug/trials",
        &json!({"subject": "P-017", "walk_m": 3.0}),
    );
    assert_eq!(s, 201, "{trial}");
    assert_eq!(trial["status"], "armed");
    assert_eq!(trial["camera"], "chair");
    let id = trial["id"].as_str().unwrap().to_string();
    let (s, e) = call(api, "POST", "/tug/trials", &json!({"camera": "chair"}));
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("trial_armed")));
    let (s, e) = call(
        api,
        "POST",
        &format!("/tug/trials/{id}/stopwatch"),
        &json!({"seconds": 10.0}),
    );
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("trial_not_completed"))
    );

    // The next test completes it (the file loops every ~24 s).
    let mut got = Value::Null;
    assert!(
        wait_until(Duration::from_secs(150), || {
            got = call(api, "GET", &format!("/tug/trials/{id}"), &Value::Null).1;
            got["status"] == "completed"
        }),
        "{got}\n{}",
        d.stderr()
    );
    let r = &got["result"];
    let total = r["total_s"].as_f64().unwrap();
    // The sequence is an elderly person's slow test (classify times it at about 21 s).
    assert!((15.0..30.0).contains(&total), "{r}");
    for p in ["sit_to_stand", "walk_out", "turn", "walk_back", "sit_down"] {
        let ph = &r["phases"][p];
        assert!(
            ph["duration_s"].as_f64().is_some_and(|d| d > 0.0),
            "{p}: {r}"
        );
    }
    let (a, b) = (
        r["phases"]["walk_out"]["end"].as_f64().unwrap(),
        r["phases"]["walk_back"]["start"].as_f64().unwrap(),
    );
    assert!(a <= b, "walk out ends before walk back starts: {r}");
    let speed = r["gait_speed_mps"].as_f64().unwrap();
    assert!((0.1..2.5).contains(&speed), "{r}");
    assert_eq!(r["turn_s"], r["phases"]["turn"]["duration_s"]);
    assert!(r["out_of_view_s"].as_f64().is_some());
    assert!(r["quality"]["flags"].is_array());
    assert_eq!(r["fall_risk"]["threshold_s"], 12.0);
    assert_eq!(r["fall_risk"]["at_or_above"], total >= 12.0);

    // Published on MQTT for home automation.
    let msg = sub
        .wait_for(
            "activityd/gym/chair/tug/trial",
            Duration::from_secs(30),
            |p| p.contains(&format!("\"id\":\"{id}\"")),
        )
        .unwrap_or_else(|| panic!("no trial on MQTT: {:?}", sub.lines()));
    let m: Value = serde_json::from_str(&msg).unwrap();
    assert_eq!(m["result"]["total_s"], r["total_s"]);
    assert_eq!(m["subject"], "P-017");

    // A stopwatch time, then agreement over the one pair.
    let (s, t) = call(
        api,
        "POST",
        &format!("/tug/trials/{id}/stopwatch"),
        &json!({"seconds": total + 0.4}),
    );
    assert_eq!(s, 200, "{t}");
    let (s, ag) = call(api, "GET", "/tug/agreement", &Value::Null);
    assert_eq!(s, 200);
    assert_eq!(ag["n"], 1);
    assert!((ag["bias_s"].as_f64().unwrap() + 0.4).abs() < 0.011, "{ag}");
    // Limits and ICC need two pairs.
    assert!(ag["icc_a1"].is_null() && ag["loa_low_s"].is_null(), "{ag}");

    // The list has it, newest first; a second trial can be armed now.
    let (_, list) = call(api, "GET", "/tug/trials", &Value::Null);
    assert_eq!(list["trials"][0]["id"], id.as_str());
    let (s, _) = call(api, "POST", "/tug/trials", &json!({"camera": "chair"}));
    assert_eq!(s, 201);
}

/// `/live`: read-only, token as a query parameter (what a browser's WebSocket can send),
/// every analysed frame's 33 landmarks with its activity, and events as they happen.
#[test]
fn the_live_websocket_streams_landmarks_activity_and_events() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let api = free_port();
    let cfg = config(api, free_port()).replace("[mqtt]\n", "[mqtt]\nenabled = false\n");
    let d = Daemon::start(&cfg, &[]);
    d.wait_for_api(api);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // Without the token: refused at the handshake.
        let Err(err) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{api}/live")).await
        else {
            panic!("a WebSocket without the token was accepted");
        };
        assert!(err.to_string().contains("401"), "{err}");
        let (mut ws, _) = tokio_tungstenite::connect_async(format!(
            "ws://127.0.0.1:{api}/live?token={TOKEN}&camera=chair"
        ))
        .await
        .unwrap();
        let (mut frames, mut with_pose, mut activities, mut events) = (0, 0, 0, 0);
        let mut last_t = f64::MIN;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        while (frames < 40 || events < 2) && tokio::time::Instant::now() < deadline {
            let Ok(Some(Ok(Message::Text(t)))) =
                tokio::time::timeout(Duration::from_secs(30), ws.next()).await
            else {
                continue;
            };
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            assert_eq!(v["camera"], "chair", "{v}");
            match v["type"].as_str() {
                Some("frame") => {
                    frames += 1;
                    let t = v["t"].as_f64().unwrap();
                    // In order (a loop restarts the file's time, but not within 40 frames
                    // at its start).
                    assert!(t > last_t || t < 1.0, "{t} after {last_t}");
                    last_t = t;
                    if let Some(l) = v["landmarks"].as_array() {
                        with_pose += 1;
                        assert_eq!(l.len(), 33);
                        assert_eq!(l[0].as_array().unwrap().len(), 3);
                    }
                    if v["activity"].is_string() {
                        activities += 1;
                    }
                    assert!(v["width"].as_u64().unwrap() > 0);
                }
                Some("event") => {
                    events += 1;
                    assert!(v["event"]["kind"].is_string() && v["event"]["ts"].is_number());
                }
                other => panic!("unexpected message {other:?}: {v}"),
            }
        }
        assert!(
            frames >= 40 && with_pose > 30 && activities > 0 && events >= 2,
            "frames {frames}, with pose {with_pose}, with activity {activities}, events {events}"
        );
    });

    // `/recent` holds what the page draws first: segments, events, the latest landmarks.
    let r = http::request(api, "GET", &format!("/recent?token={TOKEN}"), &[], b"").unwrap();
    assert_eq!(r.status, 200);
    let v = r.json();
    let cam = &v["cameras"][0];
    assert_eq!(cam["id"], "chair");
    assert!(
        cam["events"].as_array().is_some_and(|e| !e.is_empty()),
        "{v}"
    );
    assert!(cam["landmarks"].as_array().is_some_and(|l| l.len() == 33));
    assert!(v["classes"].as_array().is_some_and(|c| c.len() >= 5));
}
