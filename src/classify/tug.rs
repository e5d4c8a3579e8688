//! Timed Up and Go: recognises the test in the stream of activity segments and times it.
//!
//! The rule: a `sit_down` that ends a sequence of `stand_up` → walk → `turn` → walk →
//! (`turn`) → `sit_down`, where "walk" is one or more walking segments of any direction (a
//! walk seen obliquely may be split between `walk_away`, `walk_across` and `walk_toward`),
//! short `still` pauses (≤ 3 s) may sit between phases, gaps between segments (frames that
//! were `uncertain`) are at most 3 s, and the whole test takes 3–120 s. Anything else between
//! the phases (`other`: exercising, a long `still`) means it was not a test. The total time runs
//! from the start of standing up to the end of sitting down, as the clinical test is timed
//! from "go" until the person is seated.

use serde::Serialize;

use super::decode::Segment;

/// Longest pause or gap allowed inside a test, seconds.
const MAX_PAUSE_S: f64 = 3.0;
const MIN_TOTAL_S: f64 = 3.0;
const MAX_TOTAL_S: f64 = 120.0;

/// One timed phase of a test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    pub activity: String,
    pub start: f64,
    pub end: f64,
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
        "still" => Kind::Still,
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

/// Matches a test ending with the last segment of `segs`.
fn match_tug(segs: &[Segment]) -> Option<TugResult> {
    let last = segs.last()?;
    if kind(&last.activity) != Kind::Sit {
        return None;
    }
    // Back from the sit-down, gather phases: consecutive segments of one kind merge, short
    // pauses drop out; stop at standing up, or fail at anything else.
    let mut phases: Vec<(Kind, Vec<&Segment>)> = vec![(Kind::Sit, vec![last])];
    let mut earliest = last.start;
    for s in segs[..segs.len() - 1].iter().rev() {
        if earliest - s.end > MAX_PAUSE_S {
            return None;
        }
        earliest = s.start;
        let k = kind(&s.activity);
        match k {
            Kind::Still if s.end - s.start <= MAX_PAUSE_S => continue,
            Kind::Walk | Kind::Turn if phases.last().is_some_and(|p| p.0 == k) => {
                phases.last_mut().expect("a phase").1.push(s);
            }
            Kind::Walk | Kind::Turn | Kind::Stand => phases.push((k, vec![s])),
            _ => return None,
        }
        if k == Kind::Stand {
            break;
        }
    }
    phases.reverse();
    let kinds: Vec<Kind> = phases.iter().map(|p| p.0).collect();
    use Kind::*;
    if kinds != [Stand, Walk, Turn, Walk, Sit] && kinds != [Stand, Walk, Turn, Walk, Turn, Sit] {
        return None;
    }
    let start = phases[0].1.iter().map(|s| s.start).fold(f64::MAX, f64::min);
    let end = last.end;
    let total = end - start;
    if !(MIN_TOTAL_S..=MAX_TOTAL_S).contains(&total) {
        return None;
    }
    let phases = phases
        .into_iter()
        .map(|(_, p)| {
            // A phase made of several walk segments is named after the longest.
            let main = p
                .iter()
                .max_by(|a, b| (a.end - a.start).total_cmp(&(b.end - b.start)))
                .expect("non-empty phase");
            Phase {
                activity: main.activity.clone(),
                start: p.iter().map(|s| s.start).fold(f64::MAX, f64::min),
                end: p.iter().map(|s| s.end).fold(f64::MIN, f64::max),
            }
        })
        .collect();
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
