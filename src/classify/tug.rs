//! Timed Up and Go: recognises the test in the stream of activity segments and times it.
//!
//! The rule: a `sit_down` that ends a sequence of `stand_up` → walk → `turn` → walk →
//! (`turn`) → `sit_down`, where "walk" is one or more walking segments of any direction (a
//! walk seen obliquely may be split between `walk_away`, `walk_across` and `walk_toward`).
//! Between phases there may be short pauses (≤ 3 s) of `still` (or of `sitting`: mid-test
//! that can only be a flicker of the classifier, since sitting needs a `sit_down` first), a
//! moment of `other` (≤ 1 s: a misreading as the person sets off, or a quick bend for a
//! cane), and gaps between segments (frames that were `uncertain`) of at most 3 s; the whole
//! test takes 3–120 s. Anything else between the phases (`other` for longer: exercising; a
//! long `still`) means it was not a test. The total time runs from the start of standing up
//! to the end of sitting down, as the clinical test is timed from "go" until the person is
//! seated.
//!
//! A turn that was not seen (its frames `uncertain`) but lies between walking away from the
//! camera and walking toward it (or back) is implied: nobody reverses without turning. The
//! rule is tried as seen first, so a walk whose direction flickers is not cut into two.

use serde::Serialize;

use super::decode::Segment;

/// Longest pause or gap allowed inside a test, seconds.
const MAX_PAUSE_S: f64 = 3.0;
/// Longest `other` taken for a moment's misreading inside a test (chosen on the validation
/// split: 1 s found 101 of 103 tests, none false; 1.5 s found one false test).
const MAX_OTHER_S: f64 = 1.0;
const MIN_TOTAL_S: f64 = 3.0;
const MAX_TOTAL_S: f64 = 120.0;

/// One timed phase of a test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    pub activity: String,
    pub start: f64,
    pub end: f64,
    /// A turn not seen but implied by walking away and then toward the camera (or back); its
    /// time is the gap between the two walks. Serialised only when true.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub implied: bool,
}

/// A completed test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TugResult {
    pub total_s: f64,
    pub start: f64,
    pub end: f64,
    pub phases: Vec<Phase>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Stand,
    Walk,
    Turn,
    Sit,
    Still,
    Other,
}

fn kind(activity: &str) -> Kind {
    match activity {
        "stand_up" => Kind::Stand,
        "walk_toward" | "walk_away" | "walk_across" => Kind::Walk,
        "turn" => Kind::Turn,
        "sit_down" => Kind::Sit,
        "still" | "sitting" => Kind::Still,
        _ => Kind::Other,
    }
}

/// Watches segments as they end and reports each completed test.
#[derive(Default)]
pub struct TugDetector {
    history: Vec<Segment>,
}

impl TugDetector {
    pub fn new() -> TugDetector {
        TugDetector::default()
    }

    /// Adds an ended segment; returns the test it completes, if any.
    pub fn push(&mut self, seg: Segment) -> Option<TugResult> {
        let end = seg.end;
        self.history.push(seg);
        // Only what a test could span is kept.
        self.history
            .retain(|s| s.end >= end - MAX_TOTAL_S - MAX_PAUSE_S);
        let result = match_tug(&self.history)?;
        // A segment belongs to one test at most.
        self.history.clear();
        Some(result)
    }
}

/// Matches a test ending with the last segment of `segs`: as seen, or else with the turns that
/// walking away and then toward the camera (or back) implies.
fn match_tug(segs: &[Segment]) -> Option<TugResult> {
    match_phases(segs, false).or_else(|| match_phases(segs, true))
}

/// A phase gathered from segments, or a turn implied between two walks.
struct Gathered<'a> {
    kind: Kind,
    segs: Vec<&'a Segment>,
    /// For an implied turn: from the end of one walk to the start of the next.
    implied: Option<(f64, f64)>,
}

impl<'a> Gathered<'a> {
    fn of(kind: Kind, seg: &'a Segment) -> Gathered<'a> {
        Gathered {
            kind,
            segs: vec![seg],
            implied: None,
        }
    }
}

/// Whether two walk segments go opposite ways (toward and away from the camera).
fn opposite(a: &str, b: &str) -> bool {
    matches!(
        (a, b),
        ("walk_toward", "walk_away") | ("walk_away", "walk_toward")
    )
}

fn match_phases(segs: &[Segment], imply_turns: bool) -> Option<TugResult> {
    let last = segs.last()?;
    if kind(&last.activity) != Kind::Sit {
        return None;
    }
    // Back from the sit-down, gather phases: consecutive segments of one kind merge, short
    // pauses drop out; stop at standing up, or fail at anything else.
    let mut phases = vec![Gathered::of(Kind::Sit, last)];
    let mut earliest = last.start;
    for s in segs[..segs.len() - 1].iter().rev() {
        if earliest - s.end > MAX_PAUSE_S {
            return None;
        }
        earliest = s.start;
        let k = kind(&s.activity);
        let prev = phases.last_mut().expect("a phase");
        match k {
            Kind::Still if s.end - s.start <= MAX_PAUSE_S => continue,
            Kind::Other if s.end - s.start <= MAX_OTHER_S => continue,
            Kind::Walk if prev.kind == k => {
                let next = *prev.segs.last().expect("a segment");
                if imply_turns && opposite(&s.activity, &next.activity) {
                    // Walking away and then toward (or back) cannot happen without a turn.
                    phases.push(Gathered {
                        kind: Kind::Turn,
                        segs: Vec::new(),
                        implied: Some((s.end, next.start)),
                    });
                    phases.push(Gathered::of(k, s));
                } else {
                    prev.segs.push(s);
                }
            }
            Kind::Turn if prev.kind == k => prev.segs.push(s),
            Kind::Walk | Kind::Turn | Kind::Stand => phases.push(Gathered::of(k, s)),
            _ => return None,
        }
        if k == Kind::Stand {
            break;
        }
    }
    phases.reverse();
    let kinds: Vec<Kind> = phases.iter().map(|p| p.kind).collect();
    use Kind::*;
    if kinds != [Stand, Walk, Turn, Walk, Sit] && kinds != [Stand, Walk, Turn, Walk, Turn, Sit] {
        return None;
    }
    let phases: Vec<Phase> = phases
        .into_iter()
        .map(|p| {
            if let Some((start, end)) = p.implied {
                return Phase {
                    activity: "turn".into(),
                    start,
                    end,
                    implied: true,
                };
            }
            // A phase made of several walk segments is named after the longest.
            let main = p
                .segs
                .iter()
                .max_by(|a, b| (a.end - a.start).total_cmp(&(b.end - b.start)))
                .expect("non-empty phase");
            Phase {
                activity: main.activity.clone(),
                start: p.segs.iter().map(|s| s.start).fold(f64::MAX, f64::min),
                end: p.segs.iter().map(|s| s.end).fold(f64::MIN, f64::max),
                implied: false,
            }
        })
        .collect();
    // Timed from the start of standing up to the end of sitting down (the first phase is
    // seen, never implied).
    let (start, end) = (phases[0].start, last.end);
    let total = end - start;
    if !(MIN_TOTAL_S..=MAX_TOTAL_S).contains(&total) {
        return None;
    }
    Some(TugResult {
        total_s: (total * 100.0).round() / 100.0,
        start,
        end,
        phases,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(a: &str, start: f64, end: f64) -> Segment {
        Segment {
            class: 0,
            activity: a.into(),
            start,
            end,
            confidence: 0.9,
        }
    }

    fn run(segs: &[Segment]) -> Vec<TugResult> {
        let mut d = TugDetector::new();
        segs.iter().filter_map(|s| d.push(s.clone())).collect()
    }

    #[test]
    fn a_full_test_is_timed() {
        let r = run(&[
            seg("still", 0.0, 5.0),
            seg("stand_up", 5.0, 6.5),
            seg("walk_away", 6.6, 9.0),
            seg("turn", 9.0, 10.5),
            seg("walk_toward", 10.5, 13.0),
            seg("turn", 13.0, 14.0),
            seg("sit_down", 14.0, 15.6),
            seg("still", 15.6, 20.0),
        ]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].total_s, 10.6);
        let names: Vec<&str> = r[0].phases.iter().map(|p| p.activity.as_str()).collect();
        assert_eq!(
            names,
            [
                "stand_up",
                "walk_away",
                "turn",
                "walk_toward",
                "turn",
                "sit_down"
            ]
        );
    }

    #[test]
    fn split_walks_pauses_and_a_missing_last_turn_are_tolerated() {
        let r = run(&[
            seg("stand_up", 0.0, 2.0),
            seg("still", 2.0, 3.0),
            seg("walk_across", 3.2, 4.0),
            seg("walk_away", 4.0, 7.0),
            seg("turn", 7.0, 8.0),
            seg("turn", 8.1, 9.0),
            seg("walk_toward", 9.0, 12.0),
            seg("sit_down", 12.5, 14.0),
        ]);
        assert_eq!(r.len(), 1);
        let names: Vec<&str> = r[0].phases.iter().map(|p| p.activity.as_str()).collect();
        assert_eq!(
            names,
            ["stand_up", "walk_away", "turn", "walk_toward", "sit_down"]
        );
        assert_eq!(r[0].phases[1].start, 3.2);
        assert_eq!(r[0].phases[2].end, 9.0);
    }

    #[test]
    fn a_turn_not_seen_between_walking_away_and_back_is_implied() {
        let r = run(&[
            seg("stand_up", 0.0, 1.5),
            seg("walk_away", 1.6, 4.0),
            // the turn at the far end was `uncertain`
            seg("walk_toward", 5.2, 8.0),
            seg("turn", 8.0, 9.0),
            seg("sit_down", 9.0, 10.5),
        ]);
        assert_eq!(r.len(), 1);
        let t = &r[0].phases[2];
        assert_eq!((t.activity.as_str(), t.start, t.end), ("turn", 4.0, 5.2));
        assert!(t.implied && !r[0].phases[1].implied);
        let json = serde_json::to_value(&r[0]).unwrap();
        assert_eq!(json["phases"][2]["implied"], true);
        assert!(json["phases"][1].get("implied").is_none());
        // Walking one way with a flicker of the other way is still one walk, not two.
        let r = run(&[
            seg("stand_up", 0.0, 1.5),
            seg("walk_away", 1.6, 3.0),
            seg("walk_toward", 3.0, 3.4),
            seg("walk_away", 3.4, 5.0),
            seg("turn", 5.0, 6.0),
            seg("walk_toward", 6.0, 9.0),
            seg("sit_down", 9.0, 10.5),
        ]);
        assert_eq!(r.len(), 1);
        assert!(r[0].phases.iter().all(|p| !p.implied));
        assert_eq!(r[0].phases.len(), 5);
        // No reversal, no implied turn: walking away and then across is not a test.
        assert!(
            run(&[
                seg("stand_up", 0.0, 1.5),
                seg("walk_away", 1.6, 4.0),
                seg("walk_across", 5.0, 8.0),
                seg("sit_down", 8.0, 10.0),
            ])
            .is_empty()
        );
    }

    #[test]
    fn a_moment_of_other_is_a_pause_but_exercising_is_not() {
        let with_other = |dur: f64| {
            run(&[
                seg("stand_up", 0.0, 1.5),
                seg("other", 1.5, 1.5 + dur),
                seg("walk_away", 1.5 + dur, 4.0),
                seg("turn", 4.0, 5.0),
                seg("walk_toward", 5.0, 8.0),
                seg("sit_down", 8.0, 9.5),
            ])
        };
        assert_eq!(with_other(0.8).len(), 1);
        assert_eq!(with_other(0.8)[0].phases[0].end, 1.5);
        assert!(with_other(2.0).is_empty());
    }

    #[test]
    fn other_sequences_are_not_tests() {
        // Sitting down without a turn, a long pause, or walking only one way.
        assert!(
            run(&[
                seg("stand_up", 0.0, 2.0),
                seg("walk_away", 2.0, 5.0),
                seg("sit_down", 5.0, 7.0)
            ])
            .is_empty()
        );
        assert!(
            run(&[
                seg("stand_up", 0.0, 2.0),
                seg("walk_away", 2.0, 5.0),
                seg("turn", 5.0, 6.0),
                seg("walk_toward", 6.0, 9.0),
                seg("still", 9.0, 20.0),
                seg("sit_down", 20.0, 22.0),
            ])
            .is_empty()
        );
        assert!(
            run(&[
                seg("walk_away", 2.0, 5.0),
                seg("turn", 5.0, 6.0),
                seg("walk_toward", 6.0, 9.0),
                seg("sit_down", 9.0, 11.0),
            ])
            .is_empty()
        );
    }

    #[test]
    fn two_tests_in_a_row_are_both_found() {
        let one = |o: f64| {
            vec![
                seg("stand_up", o, o + 1.5),
                seg("walk_away", o + 1.5, o + 4.0),
                seg("turn", o + 4.0, o + 5.0),
                seg("walk_toward", o + 5.0, o + 7.5),
                seg("turn", o + 7.5, o + 8.5),
                seg("sit_down", o + 8.5, o + 10.0),
            ]
        };
        let mut all = one(0.0);
        all.push(seg("still", 10.0, 14.0));
        all.extend(one(14.0));
        assert_eq!(run(&all).len(), 2);
    }
}
