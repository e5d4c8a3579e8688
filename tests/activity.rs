//! Activities: the classifier against real human motion (motion-capture clips rendered
//! through virtual wall cameras, `tests/fixtures/mocap`), the Sports2D clip end to end, and bad
//! input.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use activityd::classify::{ActivityModel, Annotation, DecoderConfig, annotate_landmarks};
use activityd::landmarks::{read_jsonl, read_labels};
use common::{Daemon, bin, fixture, make_alpha_webm};

fn model() -> ActivityModel {
    ActivityModel::load(&activityd::config::default_models_dir()).expect("activity model")
}

/// Runs the binary with `args`, which must succeed, and parses what it prints as JSON.
fn json_of(args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = Command::new(bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn annotate(model: &ActivityModel, path: &std::path::Path) -> (Annotation, Vec<Option<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let frames = read_jsonl(text.as_bytes()).unwrap();
    let labels = read_labels(&text);
    let doc = annotate_landmarks(model, DecoderConfig::default(), &frames).unwrap();
    (doc, labels)
}

/// The model is trained only on synthetic motion; this is its check against real people.
/// Frame by frame, what the decoder reports is compared with the label derived from the
/// motion itself. Per-class recall is printed; the assertions hold the line the model reached
/// when it was made (see the model card) so that a regression shows.
#[test]
fn real_motion_capture_is_recognised() {
    let m = model();
    // (true label, reported activity) → frames
    let mut confusion: BTreeMap<(String, String), usize> = BTreeMap::new();
    for entry in std::fs::read_dir(fixture("mocap")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        let (ann, labels) = annotate(&m, &path);
        assert_eq!(ann.frames.len(), labels.len());
        for (f, label) in ann.frames.iter().zip(&labels) {
            let Some(label) = label else { continue };
            *confusion
                .entry((label.clone(), f.activity.clone()))
                .or_default() += 1;
        }
    }
    // Frames whose (true, reported) pair `keep` accepts.
    let frames = |keep: &dyn Fn(&str, &str) -> bool| -> usize {
        confusion
            .iter()
            .filter(|((t, p), _)| keep(t, p))
            .map(|(_, n)| n)
            .sum()
    };
    let ratio = |a: usize, b: usize| a as f64 / b.max(1) as f64;
    let recall = |c: &str| ratio(frames(&|t, p| t == c && p == c), frames(&|t, _| t == c));
    let precision = |c: &str| ratio(frames(&|t, p| t == c && p == c), frames(&|_, p| p == c));
    let classes: std::collections::BTreeSet<&String> = confusion.keys().map(|(t, _)| t).collect();
    for c in classes {
        eprintln!("{c:>12}: recall {:.2}", recall(c));
    }
    for ((t, p), n) in &confusion {
        if t != p && *n >= 10 {
            eprintln!("  {t} taken for {p}: {n} frames");
        }
    }
    let overall = ratio(frames(&|t, p| t == p), frames(&|_, _| true));
    eprintln!("overall {overall:.2}");
    // Measured when the model (1.3.0) was made (decoded, frame by frame): walk_toward 0.80,
    // walk_away 0.76, walk_across 0.60, turn 0.73, stand_up 0.44, sit_down 0.06, still 0.24,
    // other 0.39 (jumping, kicking, punching, dancing); 1.2.0 had 0.84, 0.76, 0.65, 0.66, 0.52,
    // 0.00, 0.24, 0.41 (one training seed's scores here move by ±0.03 in macro-F1, more per
    // class). The clips' sit_down / stand_up / still are kneeling, lying and getting up from
    // the floor, which the generator never shows; the model mostly calls them `other`, like
    // its squats and lunges. They have no seats, so `sitting` is never right here. The floors
    // sit a little below, so that a regression shows.
    // Since turns are also taken from the body's rotation (contract 1.11.0, decoded with the
    // same model): walk_toward 0.69, walk_away 0.66, walk_across 0.50, turn 0.92. The walking
    // lost is the four views of DeepMimic's turn_left clip, a 148° walking turn at about 42°/s
    // over 3.7 s: these fixtures label a turn only where the pelvis turns faster than 50°/s
    // (12 of its 111 frames), the Bandai data set's rule (30°/s, 45° in all, the one the
    // rotation follows) labels it all a turn.
    for (c, floor) in [
        ("walk_toward", 0.65),
        ("walk_away", 0.6),
        ("walk_across", 0.45),
        ("turn", 0.85),
        ("stand_up", 0.4),
        ("other", 0.35),
    ] {
        assert!(recall(c) >= floor, "{c} recall {:.2} < {floor}", recall(c));
    }
    // A reported stand-up is one: 1.3.0 0.78 of its frames (1.2.0: 0.60), which is what it
    // gave up some recall for.
    let stand_up_precision = precision("stand_up");
    eprintln!("stand_up precision {stand_up_precision:.2}");
    assert!(
        stand_up_precision >= 0.7,
        "stand_up precision {stand_up_precision:.2}"
    );
    assert!(overall >= 0.4);
    // Exercise must not pass for one of the five activities: an event a home automation would
    // act on. Measured for 1.3.0: 15.9% of the exercise frames (mostly walking: the clips
    // travel 1–3 m); 1.2.0 30.4%; 1.1.0 28.7%; 1.0.0, which had no `other`, 45.5%. With turns
    // from the body's rotation (contract 1.11.0) 21.5%: DeepMimic's punches and kicks turn the
    // whole body, hips too, by 45° and more (17.1% just before, with the decoder of 1.10.0).
    let five = ["walk_toward", "walk_away", "turn", "sit_down", "stand_up"];
    let exercise = frames(&|t, _| t == "other");
    let passed = frames(&|t, p| t == "other" && five.contains(&p));
    let share = ratio(passed, exercise);
    eprintln!(
        "exercise frames reported as one of the five activities: {share:.3} ({passed}/{exercise})"
    );
    assert!(
        share <= 0.24,
        "{share:.3} of the exercise frames passed for one of the five activities"
    );
}

/// What a person watching the Sports2D clip would say of an annotation of it: his turn at
/// 2.9–3.8 s is found, his walk across (4.0–5.3 s) is not toward or away, and his jumping
/// jacks (0–2.7 s) are none of the five activities.
fn check_sports2d(doc: &serde_json::Value, how: &str) {
    let segs = doc["segments"].as_array().unwrap();
    eprintln!("{how}: {}", serde_json::to_string_pretty(segs).unwrap());
    let spans = |a: &str| -> Vec<(f64, f64)> {
        segs.iter()
            .filter(|s| s["activity"] == a)
            .map(|s| (s["start"].as_f64().unwrap(), s["end"].as_f64().unwrap()))
            .collect()
    };
    let overlap = |(s, e): (f64, f64), (a, b): (f64, f64)| (e.min(b) - s.max(a)).max(0.0);
    let turn = spans("turn")
        .into_iter()
        .map(|s| overlap(s, (2.9, 3.8)))
        .fold(0.0, f64::max);
    assert!(
        turn >= 0.4,
        "{how}: the turn at 2.9–3.8 s was not found: {:?}",
        spans("turn")
    );
    for a in ["walk_toward", "walk_away"] {
        let wrong: f64 = spans(a).into_iter().map(|s| overlap(s, (4.0, 5.3))).sum();
        assert!(
            wrong < 0.3,
            "{how}: walking across called {a}: {:?}",
            spans(a)
        );
    }
    for a in ["walk_toward", "walk_away", "turn", "sit_down", "stand_up"] {
        let wrong: f64 = spans(a).into_iter().map(|s| overlap(s, (0.0, 2.7))).sum();
        assert!(
            wrong < 0.3,
            "{how}: jumping jacks called {a}: {:?}",
            spans(a)
        );
    }
}

/// The same clip analysed as the daemon's default `process_fps = 15` and a slow box's 5
/// would, and at 1280×720. At 15 and 5 fps the detector, looking for him again mid-jump,
/// once turned its crop by ~90° (arms and legs spread), and tracking followed a man lying on
/// his side who was not there: `walk_toward` for about a second (pose: upright check). At
/// 1280×720 the tracker lost and found him three times in his first 0.2 s, with poses jumping
/// by most of a torso length each time: `walk_away` for 1.1 s (pose: settling).
#[test]
fn the_sports2d_clip_at_other_rates_and_sizes() {
    for (clip, fps) in [("640x360", "15"), ("640x360", "5"), ("1280x720", "0")] {
        let path = fixture(&format!("video/sports2d_{clip}.mp4"));
        let doc = json_of(&[
            "annotate".as_ref(),
            path.as_ref(),
            "--process-fps".as_ref(),
            fps.as_ref(),
        ]);
        check_sports2d(&doc, &format!("{clip} at {fps} fps"));
    }
}

/// The Sports2D clip, pose to segments. Judged by eye (frames at 30 fps): the man on the box
/// does jumping jacks facing the camera (0–2.8 s; model 1.0.0 called them stand_up), turns about 90° to his left (≈2.9–3.8 s,
/// frames 87–114), walks across along the box (≈3.8–5.4 s, frames 114–162), then jumps down.
/// A woman also walks across below him; the tracker follows him, the most prominent person.
#[test]
fn the_sports2d_clip_is_annotated_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("timeline.svg");
    let csv = dir.path().join("a.csv");
    let clip = fixture("video/sports2d_640x360.mp4");
    let doc = json_of(&[
        "annotate".as_ref(),
        clip.as_ref(),
        "--timeline".as_ref(),
        svg.as_ref(),
    ]);
    assert_eq!(doc["frames"].as_array().unwrap().len(), 230);
    check_sports2d(&doc, "every frame");
    let frame = &doc["frames"][100];
    for k in ["t", "activity", "confidence", "probabilities"] {
        assert!(frame.get(k).is_some(), "{frame}");
    }
    assert!(doc.get("tug").is_some());
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("turn"));

    let out = Command::new(bin())
        .arg("annotate")
        .arg(fixture("video/pose2sim_cam01.mp4"))
        .args(["--format", "csv", "--out"])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.starts_with("t,activity,confidence,walk_toward,walk_away,turn,sit_down,stand_up"));
    assert_eq!(text.lines().count(), 101);

    // As a camera with `process_fps = 10` would: every sixth frame of this 60 fps clip.
    let out = Command::new(bin())
        .arg("annotate")
        .arg(fixture("video/pose2sim_cam01.mp4"))
        .args(["--format", "csv", "--process-fps", "10"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let times: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(times.len(), 17, "{times:?}");
    assert!(
        times.windows(2).all(|w| (w[1] - w[0] - 0.1).abs() < 0.01),
        "{times:?}"
    );
    let out = Command::new(bin())
        .arg("annotate")
        .arg(fixture("video/pose2sim_cam01.mp4"))
        .arg("--process-fps=-2")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--process-fps"));
}

/// Browser recordings (MediaRecorder WebM, track flagged as carrying alpha) and the 4:4:4 VP9
/// Both people on the Sports2D clip, each on their own, and two zones, checked against what a
/// person sees in the frames (30 fps, 640×360): the man on the box (from the first frames
/// to the end; jumping jacks, his turn at 2.9–3.8 s, then a jump down to the right at
/// 5.9–6.3 s) and the woman walking right to left below him (from ~2.5 s, out of view at
/// ~6.8 s). They pass each other at ~4.3 s. By eye, the woman's feet cross x = 0.33 at
/// 4.8–4.9 s, and the man's leave the band x = 0.25–0.5 in mid-jump at 6.0–6.2 s.
#[test]
fn both_people_on_the_sports2d_clip_are_tracked_apart_with_their_zones() {
    let clip = fixture("video/sports2d_640x360.mp4");
    let doc = json_of(&[
        "annotate".as_ref(),
        clip.as_ref(),
        "--zone".as_ref(),
        "left=0,0 0.33,0 0.33,1 0,1".as_ref(),
        "--zone".as_ref(),
        "band=0.25,0 0.5,0 0.5,1 0.25,1".as_ref(),
    ]);
    let people = doc["people"].as_array().unwrap();
    eprintln!("{}", serde_json::to_string_pretty(people).unwrap());
    assert_eq!(people.len(), 2, "two people, ids never given twice");
    let (man, woman) = (&people[0], &people[1]);
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    assert_eq!(
        (man["id"].as_u64(), woman["id"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(
        f(&man["first_seen"]) < 0.5 && f(&man["last_seen"]) > 7.0,
        "{man}"
    );
    assert!((2.0..3.6).contains(&f(&woman["first_seen"])), "{woman}");
    assert!((6.3..7.2).contains(&f(&woman["last_seen"])), "{woman}");
    // Their own activities: his turn; her walk across and nothing else.
    let segs = |p: &serde_json::Value| -> Vec<(String, f64, f64)> {
        p["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["activity"].as_str().unwrap().to_string(),
                    f(&s["start"]),
                    f(&s["end"]),
                )
            })
            .collect()
    };
    assert!(
        segs(man)
            .iter()
            .any(|(a, s, e)| a == "turn" && *s < 3.4 && *e > 3.3),
        "{:?}",
        segs(man)
    );
    let hers = segs(woman);
    assert!(hers.iter().all(|(a, _, _)| a == "walk_across"), "{hers:?}");
    let walked: f64 = hers.iter().map(|(_, s, e)| e - s).sum();
    assert!(walked >= 2.5, "{hers:?}");
    // The document's own segments are the primary person's: the man's (seen the longest).
    assert_eq!(doc["segments"], man["segments"]);
    // Zones, by where the feet are.
    let visits = |p: &serde_json::Value, zone: &str| -> Vec<(f64, Option<f64>)> {
        p["zones"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["zone"] == zone)
            .map(|v| (f(&v["enter"]), v["leave"].as_f64()))
            .collect()
    };
    let left = visits(woman, "left");
    assert_eq!(left.len(), 1, "{left:?}");
    assert!((4.6..5.1).contains(&left[0].0), "{left:?}");
    assert!(left[0].1.is_some_and(|l| l > 6.3), "{left:?}");
    assert!(visits(man, "left").is_empty(), "{:?}", visits(man, "left"));
    let band = visits(man, "band");
    assert_eq!(band.len(), 1, "{band:?}");
    assert!(band[0].0 < 0.5, "{band:?}");
    assert!(
        band[0].1.is_some_and(|l| (5.8..6.4).contains(&l)),
        "{band:?}"
    );
}

/// libvpx makes of RGB input, flagged the same way: `annotate` reads every frame, at the
/// stream's timestamps.
#[test]
fn alpha_flagged_webm_is_annotated() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["flagged", "gbr"] {
        let clip = make_alpha_webm(dir.path(), "vp9", kind);
        let doc = json_of(&["annotate".as_ref(), clip.as_ref()]);
        let frames = doc["frames"].as_array().unwrap();
        assert_eq!(frames.len(), 30, "{kind}");
        // The stream's times: the browser-style clip's video starts 7 ms in (after its Opus
        // track's pre-skip).
        let t0 = frames[0]["t"].as_f64().unwrap();
        assert!((0.0..0.02).contains(&t0), "{kind}: first frame at {t0}");
        for (i, f) in frames.iter().enumerate() {
            let t = f["t"].as_f64().unwrap();
            assert!(
                (t - t0 - i as f64 / 15.0).abs() < 0.002,
                "{kind}: frame {i} at {t}"
            );
            assert!(f["activity"].is_string(), "{kind}: {f}");
        }
    }
}

/// Two Timed Up and Go tests from the held-out synthetic split (`tests/fixtures/tug`), from
/// landmarks to the timed test, through the binary as a user runs it. The reference time is
/// the labels': from the first `stand_up` frame to the first `sitting` frame after the last
/// `sit_down`. The person must be reported seated before and after.
/// `classify --config` decodes as a box's `[activity]` settings ask: `tug_end =
/// "seat_contact"` stops the clock when the hip reaches the seat, before the person has
/// settled; a configuration with an error is refused naming the field.
#[test]
fn classify_takes_the_activity_settings_of_a_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let tug = fixture("tug/test_00150_tug.jsonl");
    let cfg = dir.path().join("box.toml");
    std::fs::write(
        &cfg,
        "device_id = \"box\"\n[activity]\ntug_end = \"seat_contact\"\n",
    )
    .unwrap();
    let with = |args: &[&std::ffi::OsStr]| {
        let mut a: Vec<&std::ffi::OsStr> =
            vec!["classify".as_ref(), "--landmarks".as_ref(), tug.as_ref()];
        a.extend_from_slice(args);
        json_of(&a)["tug"].clone()
    };
    let default = with(&[]);
    let contact = with(&["--config".as_ref(), cfg.as_ref()]);
    assert_eq!(default["end_rule"], "settled", "{default}");
    assert_eq!(contact["end_rule"], "seat_contact", "{contact}");
    assert!(contact["total_s"].as_f64() < default["total_s"].as_f64());
    std::fs::write(
        &cfg,
        "device_id = \"box\"\n[activity]\ntug_end = \"whenever\"\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["classify", "--landmarks"])
        .arg(&tug)
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("activity.tug_end"));
}

#[test]
fn a_timed_up_and_go_is_found_and_timed_from_landmarks() {
    for name in ["test_00150_tug", "test_00167_tug"] {
        let path = fixture(&format!("tug/{name}.jsonl"));
        let doc = json_of(&["classify".as_ref(), "--landmarks".as_ref(), path.as_ref()]);
        let text = std::fs::read_to_string(&path).unwrap();
        let frames = read_jsonl(text.as_bytes()).unwrap();
        let labels = read_labels(&text);
        let labelled = |l: &'static str| {
            frames
                .iter()
                .zip(&labels)
                .filter(move |(_, x)| x.as_deref() == Some(l))
                .map(|(f, _)| f.t)
        };
        let start = labelled("stand_up").next().unwrap();
        let last_sit = labelled("sit_down").next_back().unwrap();
        let end = labelled("sitting").find(|&t| t > last_sit).unwrap();
        let tug = &doc["tug"];
        assert!(
            tug.is_object(),
            "{name}: no test found: {}",
            doc["segments"]
        );
        let total = tug["total_s"].as_f64().unwrap();
        eprintln!("{name}: {total} s, reference {:.2} s", end - start);
        assert!(
            (total - (end - start)).abs() < 1.0,
            "{name}: {total} s against {:.2} s",
            end - start
        );
        let phases: Vec<&str> = tug["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["activity"].as_str().unwrap())
            .collect();
        assert_eq!(phases.first(), Some(&"stand_up"), "{name}: {phases:?}");
        assert_eq!(phases.last(), Some(&"sit_down"), "{name}: {phases:?}");
        let segs = doc["segments"].as_array().unwrap();
        for s in [segs.first().unwrap(), segs.last().unwrap()] {
            assert_eq!(s["activity"], "sitting", "{name}: {s}");
        }
    }
}

#[test]
fn classify_reads_landmark_frames_and_names_bad_lines() {
    let good = fixture("mocap/freebvh_walk_turn_front.jsonl");
    let doc = json_of(&["classify".as_ref(), "--landmarks".as_ref(), good.as_ref()]);
    let lines = std::fs::read_to_string(&good).unwrap().lines().count();
    assert_eq!(doc["frames"].as_array().unwrap().len(), lines);
    assert!(doc["segments"].is_array() && doc.get("tug").is_some());

    // From stdin, with a broken third line.
    let text = std::fs::read_to_string(&good).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "{\"t\": 0.1, \"width\": 640, \"height\": 480, \"landmarks\": [[1, 2]]}";
    let mut child = Command::new(bin())
        .args(["classify", "--landmarks", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(lines.join("\n").as_bytes());
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3"), "{err}");
    assert!(out.stdout.is_empty());
}

/// `activityd classify … | head -c 100`: the reader closes the pipe before the document is
/// written. The command stops quietly with success, as Unix tools do, instead of panicking
/// with "failed printing to stdout".
#[test]
fn a_reader_that_stops_reading_is_not_a_crash() {
    let good = fixture("mocap/freebvh_walk_turn_front.jsonl");
    for args in [
        vec![
            "classify".as_ref(),
            "--landmarks".as_ref(),
            good.as_os_str(),
        ],
        vec!["model-info".as_ref()],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(bin())
            .args(&args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}

/// A card whose class list does not match the model's output is refused at load, naming
/// both counts, instead of mislabelling every class after the mismatch.
#[test]
fn a_card_listing_the_wrong_number_of_classes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let models = activityd::config::default_models_dir();
    std::fs::copy(
        models.join("activity.onnx"),
        dir.path().join("activity.onnx"),
    )
    .unwrap();
    let mut card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(models.join("activity.json")).unwrap()).unwrap();
    let n = card["classes"].as_array().unwrap().len();
    card["classes"].as_array_mut().unwrap().pop();
    std::fs::write(dir.path().join("activity.json"), card.to_string()).unwrap();
    let err = ActivityModel::load(dir.path())
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains(&format!(
            "gives {n} probabilities, the card lists {}",
            n - 1
        )),
        "{err}"
    );
}

#[test]
fn a_missing_activity_model_stops_the_daemon_with_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let models = activityd::config::default_models_dir();
    for f in [
        "pose_detector.onnx",
        "pose_detector.json",
        "pose_landmarks.onnx",
        "pose_landmarks.json",
    ] {
        std::os::unix::fs::symlink(models.join(f), dir.path().join(f)).unwrap();
    }
    let cfg = format!(
        "device_id = \"x\"\n[models]\ndir = \"{}\"\n[[cameras]]\nid = \"c\"\nsource = \"test:\"\n",
        dir.path().display()
    );
    let mut d = Daemon::start(&cfg, &[]);
    let (st, _) = d
        .wait_exit(std::time::Duration::from_secs(30))
        .expect("exits");
    assert_eq!(st.code(), Some(3), "{}", d.stderr());
    assert!(d.stderr().contains("activity.json"), "{}", d.stderr());
}

#[test]
fn the_training_script_uses_the_same_label_lag() {
    let py = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/training/activity/train.py"
    ))
    .unwrap();
    let line = py
        .lines()
        .find(|l| l.starts_with("LABEL_LAG_S = "))
        .expect("LABEL_LAG_S in train.py");
    let v: f64 = line["LABEL_LAG_S = ".len()..].trim().parse().unwrap();
    assert_eq!(v, activityd::features::LABEL_LAG_S);
}
