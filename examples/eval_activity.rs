//! Frame-by-frame evaluation of the whole activity path (features → model → decoder) on
//! labelled landmark JSON Lines (`"label"` per frame), as the daemon reports it.
//!
//! `cargo run --release --example eval_activity -- DIR_OR_FILE...`
//! Prints per-class precision/recall/F1 and the macro-F1 over classes present; the segments a
//! user would see as events, per class, with how many are false (under 20% of their frames
//! carry their class) and false events per hour; and how well Timed Up and Go tests are found
//! and timed: the reference tests are what the same rule finds in the true labels' segments.
//! A test ends on the chair it started from. Where a file's `.meta.json` beside it names a
//! generator scenario other than `tug`, every sit-down is on a chair of its own (the `random`
//! scenario places a new chair for each), so a rise, walk out, turn, walk back and sit-down
//! there is a look-alike, not a test: look-alikes are counted apart, and a test found on one
//! is reported apart too, neither as found nor as false.
//! `TUG_MISSED=1` also lists each reference test not found, with the segments reported.

use std::collections::BTreeMap;

use activityd::classify::{ActivityModel, Annotator, Classifier, DecoderConfig};
use activityd::landmarks::{read_jsonl, read_labels};
use activityd::timings::Timings;

/// Seconds around a true change of label left out of the collar score.
const COLLAR_S: f64 = 0.25;

fn main() {
    let model = ActivityModel::load(&activityd::config::default_models_dir()).expect("model");
    let mut files = Vec::new();
    for a in std::env::args().skip(1) {
        let p = std::path::PathBuf::from(&a);
        if p.is_dir() {
            let mut v: Vec<_> = std::fs::read_dir(&p)
                .unwrap()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .collect();
            v.sort();
            files.extend(v);
        } else {
            files.push(p);
        }
    }
    let has_sitting = model.classes.iter().any(|c| c == "sitting");
    let mut step_time: BTreeMap<&'static str, (f64, usize)> = BTreeMap::new();
    // (true, predicted) counts
    let mut cm: BTreeMap<(String, String), usize> = BTreeMap::new();
    // The same, without the frames within COLLAR_S of a true change.
    let mut cm_collar: BTreeMap<(String, String), usize> = BTreeMap::new();
    // TUG: reference tests, unmatched finds, and for each find matched to a reference its
    // (start, end) minus the reference's (the total-time error is end − start).
    let (mut tug_ref, mut tug_false) = (0usize, 0usize);
    // Look-alikes (see the top of the file) and the tests found on them.
    let (mut look_alikes, mut found_on_look_alikes) = (0usize, 0usize);
    let mut tug_err: Vec<(f64, f64)> = Vec::new();
    // Segments as a user sees them (events): per class, how many, and how many false, i.e.
    // under 20% of their frames carry that class in the labels; and the seconds of video.
    let mut events: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut seconds = 0.0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let frames = read_jsonl(text.as_bytes()).unwrap();
        let mut labels = read_labels(&text);
        if !has_sitting {
            // A model from before `sitting` (1.1.0 and older) calls a seated person `still`.
            for l in labels.iter_mut().flatten() {
                *l = as_still(l).to_string();
            }
        }
        // MAX_FPS: keep only frames at least 1/MAX_FPS apart, as `process_fps` would.
        let max_fps: f64 = std::env::var("MAX_FPS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let mut next = f64::NEG_INFINITY;
        let (frames, labels): (Vec<_>, Vec<_>) = frames
            .into_iter()
            .zip(labels)
            .filter(|(f, _)| {
                let keep = max_fps <= 0.0 || f.t + 1e-3 >= next;
                if keep && max_fps > 0.0 {
                    next = f.t + 1.0 / max_fps;
                }
                keep
            })
            .unzip();
        let env = |k: &str, d: f64| {
            std::env::var(k)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        let cfg = DecoderConfig {
            smoothing_s: env("SMOOTH", DecoderConfig::default().smoothing_s),
            min_duration_s: env("MINDUR", DecoderConfig::default().min_duration_s),
            confidence_threshold: env("THRESH", 0.7) as f32,
            uncertain_duration_s: env("UNCERTAIN", DecoderConfig::default().uncertain_duration_s),
            posture_rule: env("POSTURE", 1.0) != 0.0,
            posture_evidence_s: env("EVIDENCE", DecoderConfig::default().posture_evidence_s),
            // WALKS_AS_ONE=0: a walk must reach the threshold alone, as before 2026-12-04.
            walks_as_one: env("WALKS_AS_ONE", 1.0) != 0.0,
            // SEATED_AS_ONE=0: `sit_down` and `sitting` each alone, as before 2026-12-06.
            seated_as_one: env("SEATED_AS_ONE", 1.0) != 0.0,
            // HOLD_LAST_POSE=0: a file's last moments take the latest probabilities, as before
            // 2026-12-06.
            hold_last_pose: env("HOLD_LAST_POSE", 1.0) != 0.0,
            // TURNING=0: no turns from the body's rotation, as before 2026-12-05.
            turning: env("TURNING", 1.0) != 0.0,
            // TUG_END=seat_contact|settled (default: the config's default).
            tug_end: match std::env::var("TUG_END").as_deref() {
                Ok("seat_contact") => activityd::classify::TugEnd::SeatContact,
                Ok("settled") => activityd::classify::TugEnd::Settled,
                _ => DecoderConfig::default().tug_end,
            },
            ..DecoderConfig::default()
        };
        let mut classifier = Classifier::new(&model, cfg).unwrap();
        let mut ann = Annotator::new(classifier.classes().to_vec());
        let mut t = Timings::default();
        for fr in &frames {
            let step = classifier.step(fr, &mut t).unwrap();
            ann.record(fr.t, fr.landmarks.is_some(), &step);
        }
        for (name, d) in &t.steps {
            let e = step_time.entry(*name).or_insert((0.0, 0usize));
            e.0 += d.as_secs_f64();
            e.1 += 1;
        }
        let doc = ann.finish(classifier.finish());
        if let (Some(a), Some(b)) = (frames.first(), frames.last()) {
            seconds += b.t - a.t;
        }
        for seg in &doc.segments {
            let inside: Vec<&Option<String>> = frames
                .iter()
                .zip(&labels)
                .filter(|(fr, _)| seg.start <= fr.t && fr.t <= seg.end)
                .map(|(_, l)| l)
                .collect();
            let agree = inside
                .iter()
                .filter(|l| l.as_deref() == Some(seg.activity.as_str()))
                .count();
            let e = events.entry(seg.activity.clone()).or_default();
            e.0 += 1;
            if inside.is_empty() || (agree as f64) < 0.2 * inside.len() as f64 {
                e.1 += 1;
            }
        }
        // True changes of label, for the collar score (frames within COLLAR_S of one are not
        // counted there: sound-event detection's convention for uncertain boundaries).
        let changes: Vec<f64> = frames
            .windows(2)
            .zip(labels.windows(2))
            .filter(|(_, l)| l[0].is_some() && l[1].is_some() && l[0] != l[1])
            .map(|(f, _)| (f[0].t + f[1].t) / 2.0)
            .collect();
        for (fr, l) in doc.frames.iter().zip(&labels) {
            if let Some(l) = l {
                let key = (l.clone(), fr.activity.clone());
                *cm.entry(key.clone()).or_default() += 1;
                if !changes.iter().any(|c| (fr.t - c).abs() <= COLLAR_S) {
                    *cm_collar.entry(key).or_default() += 1;
                }
            }
        }
        let patterns = reference_tugs(&frames, &labels);
        let (truth, others) = if returns_to_its_chair(f) {
            (patterns, Vec::new())
        } else {
            (Vec::new(), patterns)
        };
        tug_ref += truth.len();
        look_alikes += others.len();
        let overlap = |a: (f64, f64), b: (f64, f64)| a.0 < b.1 && b.0 < a.1;
        // TUG_MISSED=1: each reference test not found, with the segments reported.
        if std::env::var_os("TUG_MISSED").is_some() {
            for r in &truth {
                if !doc
                    .tugs
                    .iter()
                    .any(|f| overlap((f.start, f.end), (r.start, r.end)))
                {
                    let segs: Vec<String> = doc
                        .segments
                        .iter()
                        .filter(|s| s.end > r.start - 2.0 && s.start < r.end + 2.0)
                        .map(|s| format!("{} {:.1}-{:.1}", s.activity, s.start, s.end))
                        .collect();
                    println!(
                        "missed {} {:.1}-{:.1}: {}",
                        f.display(),
                        r.start,
                        r.end,
                        segs.join(" | ")
                    );
                }
            }
        }
        for found in &doc.tugs {
            match truth
                .iter()
                .find(|r| overlap((found.start, found.end), (r.start, r.end)))
            {
                Some(r) => tug_err.push((found.start - r.start, found.end - r.end)),
                None if others
                    .iter()
                    .any(|r| overlap((found.start, found.end), (r.start, r.end))) =>
                {
                    found_on_look_alikes += 1
                }
                None => {
                    tug_false += 1;
                    // TUG_MISSED=1 lists these too.
                    if std::env::var_os("TUG_MISSED").is_some() {
                        let phases: Vec<String> = found
                            .phases
                            .iter()
                            .map(|p| format!("{} {:.1}-{:.1}", p.activity, p.start, p.end))
                            .collect();
                        println!(
                            "false {} {:.1}-{:.1}: {}",
                            f.display(),
                            found.start,
                            found.end,
                            phases.join(" | ")
                        );
                    }
                }
            }
        }
    }
    let classes: Vec<String> = model.classes.clone();
    let mut f1s = Vec::new();
    let total: usize = cm.values().sum();
    let correct: usize = cm.iter().filter(|((a, b), _)| a == b).map(|(_, n)| n).sum();
    println!(
        "{} files, {total} labelled frames, accuracy {:.3}",
        files.len(),
        correct as f64 / total as f64
    );
    for c in &classes {
        let Some((p, r, f1, support)) = scores(&cm, c) else {
            continue;
        };
        f1s.push((c.clone(), f1));
        println!("{c:>12}: precision {p:.3} recall {r:.3} F1 {f1:.3} ({support} frames)");
    }
    // Frames of movements that are none of the activities (exercise): how they were reported,
    // above all how many passed for one of the five activities.
    let mut exercise: Vec<(&String, usize)> = cm
        .iter()
        .filter(|((a, _), _)| a == "other")
        .map(|((_, b), n)| (b, *n))
        .collect();
    exercise.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let n_ex: usize = exercise.iter().map(|(_, n)| n).sum();
    if n_ex > 0 {
        const FIVE: [&str; 5] = ["walk_toward", "walk_away", "turn", "sit_down", "stand_up"];
        let share = |n: usize| 100.0 * n as f64 / n_ex as f64;
        let five: usize = exercise
            .iter()
            .filter(|(b, _)| FIVE.contains(&b.as_str()))
            .map(|(_, n)| n)
            .sum();
        let parts: Vec<String> = exercise
            .iter()
            .map(|(b, n)| format!("{b} {:.1}%", share(*n)))
            .collect();
        println!(
            "'other' (exercise) frames: {n_ex}, reported as one of the five activities {:.1}%; {}",
            share(five),
            parts.join(", ")
        );
    }
    let other: usize = cm
        .iter()
        .filter(|((_, b), _)| b == "uncertain" || b == "no_person")
        .map(|(_, n)| n)
        .sum();
    println!(
        "reported uncertain/no_person: {other} frames ({:.1}%)",
        100.0 * other as f64 / total as f64
    );
    println!(
        "most frequent confusions (true → reported, frames): {}",
        top_confusions(&cm, 8)
    );
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let all: Vec<f64> = f1s.iter().map(|(_, f)| *f).collect();
    println!("macro-F1 {:.3}", mean(&all));
    let collar: Vec<f64> = classes
        .iter()
        .filter_map(|c| scores(&cm_collar, c).map(|s| s.2))
        .collect();
    println!(
        "macro-F1 with a {COLLAR_S} s collar around true changes {:.3}",
        mean(&collar)
    );
    let per_class: Vec<String> = classes
        .iter()
        .filter_map(|c| scores(&cm_collar, c).map(|s| format!("{c} {:.3}", s.2)))
        .collect();
    println!("  per class with the collar: {}", per_class.join(", "));
    println!(
        "  most frequent confusions with the collar: {}",
        top_confusions(&cm_collar, 10)
    );
    if has_sitting {
        // Comparable with the models before `sitting`: seated and standing still are one class.
        for (name, m) in [("", &cm), (" and the collar", &cm_collar)] {
            let mut merged: BTreeMap<(String, String), usize> = BTreeMap::new();
            for ((a, b), n) in m {
                *merged
                    .entry((as_still(a).to_string(), as_still(b).to_string()))
                    .or_default() += n;
            }
            let f1: Vec<f64> = classes
                .iter()
                .filter(|c| *c != "sitting")
                .filter_map(|c| scores(&merged, c).map(|s| s.2))
                .collect();
            println!(
                "macro-F1 with sitting counted as still{name} {:.3}",
                mean(&f1)
            );
        }
    }
    if f1s.iter().any(|(c, _)| c == "other") {
        let seven: Vec<f64> = f1s
            .iter()
            .filter(|(c, _)| c != "other")
            .map(|(_, f)| *f)
            .collect();
        println!("macro-F1 without 'other' {:.3}", mean(&seven));
    }
    // Events: a segment is false when under 20% of its frames carry its class.
    let hours = seconds / 3600.0;
    println!(
        "events (segments) in {:.0} min of video; false = under 20% of its frames carry its class:",
        seconds / 60.0
    );
    for (c, (n, bad)) in &events {
        println!(
            "{c:>12}: {n} segments, {bad} false ({:.1}%), {:.1} false per hour",
            100.0 * *bad as f64 / *n as f64,
            *bad as f64 / hours
        );
    }
    if tug_ref > 0 {
        let found = tug_err.len();
        let total: Vec<f64> = tug_err.iter().map(|(s, e)| e - s).collect();
        let abs = |v: &[f64]| v.iter().map(|x| x.abs()).collect::<Vec<_>>();
        let bias = total.iter().sum::<f64>() / found.max(1) as f64;
        println!(
            "TUG: {found} of {tug_ref} reference tests found ({:.1}%), {tug_false} found where there was none; total time error median {:.2} s, p90 {:.2} s, mean (bias) {bias:+.2} s",
            100.0 * found as f64 / tug_ref as f64,
            quantile(abs(&total), 0.5),
            quantile(abs(&total), 0.9)
        );
        println!(
            "TUG look-alikes (out and back, then sitting down on another chair): {look_alikes}, found as a test: {found_on_look_alikes}"
        );
        let starts: Vec<f64> = tug_err.iter().map(|e| e.0).collect();
        let ends: Vec<f64> = tug_err.iter().map(|e| e.1).collect();
        println!(
            "TUG start (found − reference): median {:+.2} s, |median| {:.2} s; end: median {:+.2} s, |median| {:.2} s",
            quantile(starts.clone(), 0.5),
            quantile(abs(&starts), 0.5),
            quantile(ends.clone(), 0.5),
            quantile(abs(&ends), 0.5),
        );
    }
    for (name, (s, n)) in step_time {
        println!("{name}: {:.1} µs per run ({n} runs)", s / n as f64 * 1e6);
    }
}

/// Whether the file's sit-downs can end a test: false when its `.meta.json` names a
/// generator scenario other than `tug` (each sit-down there is on a chair of its own); true
/// without a meta file.
fn returns_to_its_chair(jsonl: &std::path::Path) -> bool {
    let meta = jsonl.with_extension("meta.json");
    let Ok(text) = std::fs::read_to_string(&meta) else {
        return true;
    };
    let v: serde_json::Value = serde_json::from_str(&text).expect("meta JSON");
    v.get("kind")
        .and_then(|k| k.as_str())
        .is_none_or(|k| k == "tug")
}

/// `sitting` read as `still` (seated and standing still as one class, as before model 1.2.0).
fn as_still(c: &str) -> &str {
    if c == "sitting" { "still" } else { c }
}

/// Precision, recall, F1 and support of class `c` in a (true, predicted) count table; `None`
/// when it has no true frames.
fn scores(cm: &BTreeMap<(String, String), usize>, c: &str) -> Option<(f64, f64, f64, usize)> {
    let tp = cm
        .get(&(c.to_string(), c.to_string()))
        .copied()
        .unwrap_or(0) as f64;
    let support: usize = cm.iter().filter(|((a, _), _)| a == c).map(|(_, n)| n).sum();
    let predicted: usize = cm.iter().filter(|((_, b), _)| b == c).map(|(_, n)| n).sum();
    if support == 0 {
        return None;
    }
    let p = if predicted > 0 {
        tp / predicted as f64
    } else {
        0.0
    };
    let r = tp / support as f64;
    let f1 = if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    };
    Some((p, r, f1, support))
}

/// The value below which a share `p` of `v` lies (nearest rank); NaN for none.
fn quantile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// A test in the true labels: its start and end (s).
struct Reference {
    start: f64,
    end: f64,
}

/// The tests in the true labels: runs of `stand_up`, walking (any direction), `turn`, walking,
/// an optional `turn`, `sit_down`, with pauses of `still`/`sitting` up to 3 s between them.
/// Clean labels need none of the finder's tolerances for misreadings, so the reference does
/// not move with the thing measured.
fn reference_tugs(
    frames: &[activityd::landmarks::LandmarkFrame],
    labels: &[Option<String>],
) -> Vec<Reference> {
    // Runs of one label: (phase letter, start, end); walks of any direction are one phase.
    let mut runs: Vec<(char, f64, f64)> = Vec::new();
    for (f, l) in frames.iter().zip(labels) {
        let c = match l.as_deref() {
            Some("stand_up") => 'S',
            Some("walk_toward" | "walk_away" | "walk_across") => 'W',
            Some("turn") => 'T',
            Some("sit_down") => 'D',
            Some("still" | "sitting") => '.',
            _ => '?',
        };
        match runs.last_mut() {
            Some((last, _, end)) if *last == c => *end = f.t,
            _ => runs.push((c, f.t, f.t)),
        }
    }
    // Short pauses drop out (then neighbouring runs of one phase merge).
    let mut phases: Vec<(char, f64, f64)> = Vec::new();
    for (c, start, end) in runs {
        if c == '.' && end - start <= 3.0 && phases.last().is_some_and(|p| p.0 != 'D') {
            continue;
        }
        match phases.last_mut() {
            Some((last, _, e)) if *last == c => *e = end,
            _ => phases.push((c, start, end)),
        }
    }
    let letters: String = phases.iter().map(|p| p.0).collect();
    let mut out = Vec::new();
    for pattern in ["SWTWTD", "SWTWD"] {
        for (i, _) in letters.match_indices(pattern) {
            let (start, end) = (phases[i].1, phases[i + pattern.len() - 1].2);
            if (3.0..=120.0).contains(&(end - start))
                && !out.iter().any(|r: &Reference| r.start == start)
            {
                out.push(Reference { start, end });
            }
        }
    }
    out
}

/// The `k` largest off-diagonal counts of a confusion map, as "true → reported n".
fn top_confusions(cm: &BTreeMap<(String, String), usize>, k: usize) -> String {
    let mut off: Vec<(&(String, String), &usize)> =
        cm.iter().filter(|((a, b), _)| a != b).collect();
    off.sort_by_key(|(_, n)| std::cmp::Reverse(**n));
    off.iter()
        .take(k)
        .map(|((a, b), n)| format!("{a} → {b} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
