//! The annotation document of a whole file (`activityd classify`/`annotate`,
//! `/predict/video`): segments, Timed Up and Go tests, and one record per analysed frame.
//!
//! A frame's record describes the frame's own instant. Its label comes from the segment that
//! covers it (segments are dated back to when an activity began); its probabilities come
//! from the decision made *about* that instant (decisions lag the frames by about 1.15 s, see
//! [`FrameActivity::at`]), and its confidence is the probability of its label there. So the
//! label, the confidence and the probabilities of a record describe the same moment.

use serde::Serialize;

use super::{
    ActivityModel, Classifier, DecoderConfig, Finished, FrameActivity, Segment, Step, TugResult,
};
use crate::landmarks::LandmarkFrame;
use crate::model::ModelError;
use crate::timings::Timings;

/// One frame of the annotation document.
#[derive(Debug, Clone, Serialize)]
pub struct AnnotatedFrame {
    pub t: f64,
    pub activity: String,
    pub confidence: f32,
    pub probabilities: serde_json::Map<String, serde_json::Value>,
}

/// The `classify`/`annotate` document (see `docs/interfaces.md`).
#[derive(Debug, Clone, Serialize)]
pub struct Annotation {
    pub segments: Vec<Segment>,
    pub frames: Vec<AnnotatedFrame>,
    /// The last Timed Up and Go test seen, if any.
    pub tug: Option<TugResult>,
    /// Every test seen, in order.
    pub tugs: Vec<TugResult>,
    pub classes: Vec<String>,
    /// Each person tracked in a video (empty, and not serialised, for a landmark file).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<PersonAnnotation>,
}

/// One tracked person's part of a video's annotation.
#[derive(Debug, Clone, Serialize)]
pub struct PersonAnnotation {
    /// The tracker's id (from 1).
    pub id: u32,
    /// Times (s) they were first and last seen.
    pub first_seen: f64,
    pub last_seen: f64,
    /// Analysed frames they were in view in.
    pub frames_in_view: usize,
    pub segments: Vec<Segment>,
    /// Their last test, and all of them.
    pub tug: Option<TugResult>,
    pub tugs: Vec<TugResult>,
    /// Their visits to the zones given (in order).
    pub zones: Vec<crate::zones::ZoneVisit>,
}

/// A decision's instant and the smoothed probabilities then.
struct Decided {
    at: f64,
    probabilities: Vec<f32>,
}

/// Collects a file's classifier steps, then builds its [`Annotation`].
pub struct Annotator {
    classes: Vec<String>,
    segments: Vec<Segment>,
    /// Each analysed frame's time, and whether the pose stage found someone in it.
    frames: Vec<(f64, bool)>,
    decisions: Vec<Decided>,
    tugs: Vec<TugResult>,
}

impl Annotator {
    pub fn new(classes: Vec<String>) -> Annotator {
        Annotator {
            classes,
            segments: Vec::new(),
            frames: Vec::new(),
            decisions: Vec::new(),
            tugs: Vec::new(),
        }
    }

    /// Keeps the step of the frame at `t`; `person`: someone was found in this very frame.
    pub fn record(&mut self, t: f64, person: bool, step: &Step) {
        for c in &step.changes {
            if let super::Change::Ended(s) = c {
                self.segments.push(s.clone());
            }
        }
        self.tugs.extend(step.tug.clone());
        self.frames.push((t, person));
        self.decide(&step.frame);
    }

    /// Keeps a frame at `t` that this annotator's person had no step for (before they were
    /// first seen, after they were forgotten): nobody, no decision.
    pub fn absent(&mut self, t: f64) {
        self.frames.push((t, false));
    }

    fn decide(&mut self, f: &FrameActivity) {
        self.decisions.push(Decided {
            at: f.at,
            probabilities: f.probabilities.clone(),
        });
    }

    /// The document, once the classifier has finished the file (see [`Classifier::finish`]).
    /// Frames inside a segment carry its activity. Other frames are `no_person` where the
    /// pose stage found nobody in that frame (the contract's meaning), else `uncertain`:
    /// someone seen before an activity was decided for them (the first second of a file, a
    /// clip too short to decide) is not reported as nobody.
    pub fn finish(mut self, fin: Finished) -> Annotation {
        self.segments.extend(fin.ended);
        self.tugs.extend(fin.tugs);
        for d in &fin.decisions {
            self.decide(d);
        }
        let mut seg = self.segments.iter().peekable();
        let mut next = 0usize;
        let frames = self
            .frames
            .iter()
            .map(|&(t, person)| {
                let probs = decision_about(&self.decisions, &mut next, t);
                while seg.peek().is_some_and(|s| s.end < t) {
                    seg.next();
                }
                let (activity, confidence) = match seg.peek() {
                    Some(s) if s.start <= t && t <= s.end => (
                        s.activity.clone(),
                        // Where the model did not run at this instant (the window was filling),
                        // the segment's own confidence stands for it.
                        probs.get(s.class).copied().unwrap_or(s.confidence),
                    ),
                    _ => {
                        let best = probs.iter().copied().fold(0.0f32, f32::max);
                        let name = if person { "uncertain" } else { "no_person" };
                        (name.to_string(), best)
                    }
                };
                AnnotatedFrame {
                    t,
                    activity,
                    confidence: round3(confidence),
                    probabilities: self
                        .classes
                        .iter()
                        .zip(probs.iter())
                        .map(|(c, p)| (c.clone(), serde_json::json!(round3(*p))))
                        .collect(),
                }
            })
            .collect();
        Annotation {
            segments: self.segments,
            frames,
            tug: self.tugs.last().cloned(),
            tugs: self.tugs,
            classes: self.classes,
            people: Vec::new(),
        }
    }
}

/// The probabilities of the decision about instant `t`: the first decision at or after it
/// (the latest of those made about the same instant). `next` walks forward with `t`.
fn decision_about<'a>(decisions: &'a [Decided], next: &mut usize, t: f64) -> &'a [f32] {
    const EPS: f64 = 1e-9;
    while *next < decisions.len() && decisions[*next].at < t - EPS {
        *next += 1;
    }
    let Some(first) = decisions.get(*next) else {
        return decisions.last().map_or(&[], |d| &d.probabilities);
    };
    let same = decisions[*next..]
        .iter()
        .take_while(|d| (d.at - first.at).abs() <= EPS)
        .last()
        .unwrap_or(first);
    &same.probabilities
}

/// Classifies a whole file of landmark frames (`activityd classify`).
pub fn annotate_landmarks(
    model: &ActivityModel,
    cfg: DecoderConfig,
    frames: &[LandmarkFrame],
) -> Result<Annotation, ModelError> {
    let mut classifier = Classifier::new(model, cfg)?;
    let mut annotator = Annotator::new(classifier.classes().to_vec());
    let mut timings = Timings::default();
    for f in frames {
        let step = classifier.step(f, &mut timings)?;
        annotator.record(f.t, f.landmarks.is_some(), &step);
        timings.steps.clear();
    }
    Ok(annotator.finish(classifier.finish()))
}

fn round3(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(at: f64, p: f32) -> Decided {
        Decided {
            at,
            probabilities: vec![p],
        }
    }

    /// Each frame takes the decision made about its own instant, the latest one where several
    /// were made about the same instant (a file's first second), and the last decision past
    /// the end.
    #[test]
    fn frames_take_the_decision_about_their_own_instant() {
        let ds = [d(0.0, 0.1), d(0.0, 0.2), d(0.1, 0.3), d(0.3, 0.4)];
        let mut next = 0;
        let got: Vec<f32> = [0.0, 0.05, 0.1, 0.2, 0.3, 0.9]
            .iter()
            .map(|&t| decision_about(&ds, &mut next, t)[0])
            .collect();
        assert_eq!(got, [0.2, 0.3, 0.3, 0.4, 0.4, 0.4]);
        assert!(decision_about(&[], &mut 0, 1.0).is_empty());
    }
}
