//! Turning seen in the body's own rotation: whether the line of the shoulders and hips turns
//! about the vertical, and since when.
//!
//! The activity model sees a walking turn (a 90° curve at walking pace, 2–3 s long) as a walk
//! whose direction changes slowly and reports walking through it. The rotation itself is
//! plain in the landmarks: the shoulder and hip lines, seen from above, turn with the body.
//! Each frame gives the two lines as (Δx, Δz) in torso lengths — `x` across the image, `z`
//! MediaPipe's relative depth, which is several times the metric depth on the scale of `x`
//! ([`Z_SCALE`]) — and their orientation is taken modulo 180° (the doubled angle), so a body
//! whose left and right the pose model swapped, as BlazePose does seen from behind, lies on
//! the same line as the one it is. The orientation is smoothed (Gaussian, [`SIGMA_S`]) and
//! differentiated (no rotation is read where the lines look shorter than [`MIN_LINES`]:
//! nearly end-on, their direction is noise). A *turn* is a run of one sign of rotation
//! faster than [`EDGE_RATE`] that somewhere is faster than [`TURN_RATE`] and turns by more
//! than [`TURN_MIN`] in all, the hips' line alone by more than [`HIPS_MIN`] the same way:
//! the rule the Bandai motion capture's turns are labelled by from the true body heading
//! (`training/realdata/bandai.py`), here on what a camera shows.
//!
//! The classifier asks about the instant its features describe, a second before the newest
//! frame: the smoothing needs [`SIGMA_S`] × 3 of it, so a run is judged on what was seen up to
//! a quarter of a second past that instant. A turn is only known once it has turned by
//! [`TURN_MIN`], so [`Turning::at`] also says when its run began, for the decoder to date the
//! turn back to.

use std::collections::VecDeque;

use crate::landmarks::LandmarkFrame;

/// Smoothing of the orientation (s, Gaussian σ); it is read ±3σ around each sample.
pub const SIGMA_S: f64 = 0.25;
/// A run must somewhere turn faster than this (rad/s: 30°/s).
pub const TURN_RATE: f64 = 30.0 * std::f64::consts::PI / 180.0;
/// … and by more than this in all (rad: 45°).
pub const TURN_MIN: f64 = 45.0 * std::f64::consts::PI / 180.0;
/// … and the hips' line alone by more than this the same way (rad: 20°): the whole body
/// turns, not the trunk on the hips (punching, kicking, reaching). On the motion-capture
/// fixtures' exercise clips it takes the frames passed for one of the five activities from
/// 23.9% to 21.5%; 10°–40° change nothing on the real sets but the Kinect view's `turn`
/// recall (0.43 up to 20°, 0.40 at 30°, 0.35 at 40°).
pub const HIPS_MIN: f64 = 20.0 * std::f64::consts::PI / 180.0;
/// A run goes on while the rotation keeps its sign and is faster than this (rad/s: 10°/s).
pub const EDGE_RATE: f64 = 10.0 * std::f64::consts::PI / 180.0;
/// MediaPipe's `z` over the metric depth offset, in `x` units (the synthetic estimator's
/// central value, `training/activity/synth/estimator.py`). Only the orientation's path
/// between side-on and square-on depends on it: a quarter turn is a quarter turn at any scale.
pub const Z_SCALE: f64 = 4.5;
/// The least length of the smoothed doubled-angle vector (torso lengths squared, shoulders
/// and hips together) whose direction is read; square-on it is about 0.8. Shorter, the lines
/// are seen nearly end-on with too little depth to show which way (MediaPipe's `z` scale
/// varies from person to person: a third of [`Z_SCALE`] makes a side-on body's lines this
/// short), and their direction is the landmarks' noise. Chosen on the synthetic validation
/// split and the real sets (2026-12-05: 0, 0.1, 0.15, 0.2, 0.35; above 0.2 the Bandai
/// walkers' turns are lost).
pub const MIN_LINES: f64 = 0.15;
/// Frames further apart than this (s) break a run: nobody was seen in between.
const MAX_GAP_S: f64 = 0.5;
/// How much history is kept (s): longer than any turn is slow.
const KEEP_S: f64 = 10.0;

/// One frame's shoulder and hip lines as doubled-angle vectors.
#[derive(Debug, Clone, Copy)]
struct Sample {
    t: f64,
    /// Shoulders' and hips' lines.
    v: [[f64; 2]; 2],
}

/// A smoothed orientation and its rate of change.
#[derive(Debug, Clone, Copy)]
struct Orientation {
    t: f64,
    /// The shoulders' and hips' lines together, radians, unwrapped (modulo 180°) along a
    /// stretch without gaps.
    angle: f64,
    /// Radians per second; 0 at the first sample after a gap.
    rate: f64,
    /// The hips' line alone, radians, unwrapped as `angle` is.
    hips: f64,
}

/// The rotation of one tracked person (see the module doc).
#[derive(Debug, Default)]
pub struct Turning {
    /// Frames with a person, not yet all smoothed (the last 3σ and the 3σ before them).
    samples: VecDeque<Sample>,
    /// Smoothed orientations, oldest first, up to 3σ before the newest frame.
    done: VecDeque<Orientation>,
}

impl Turning {
    pub fn new() -> Turning {
        Turning::default()
    }

    /// Forgets everything (another person is followed, or the source restarted).
    pub fn reset(&mut self) {
        self.samples.clear();
        self.done.clear();
    }

    /// Takes one frame; frames without a person, or whose lines cannot be measured, add
    /// nothing (a gap).
    pub fn push(&mut self, frame: &LandmarkFrame) {
        if let Some(v) = lines(frame) {
            if self.samples.back().is_some_and(|s| frame.t <= s.t) {
                self.reset(); // time went backwards: a new timeline
            }
            self.samples.push_back(Sample { t: frame.t, v });
        }
        self.smooth_up_to(frame.t - 3.0 * SIGMA_S);
    }

    /// Smooths every sample up to `until` (all its neighbours within 3σ are in).
    fn smooth_up_to(&mut self, until: f64) {
        let from = self.done.back().map_or(f64::NEG_INFINITY, |o| o.t);
        let reach = 3.0 * SIGMA_S;
        for i in 0..self.samples.len() {
            let t = self.samples[i].t;
            if t <= from {
                continue;
            }
            if t > until {
                break;
            }
            let (mut sum, mut hips, mut weight) = ([0.0; 2], [0.0; 2], 0.0);
            for s in self.samples.iter().filter(|s| (s.t - t).abs() <= reach) {
                let w = (-0.5 * ((s.t - t) / SIGMA_S).powi(2)).exp();
                for k in 0..2 {
                    sum[k] += w * (s.v[0][k] + s.v[1][k]);
                    hips[k] += w * s.v[1][k];
                }
                weight += w;
            }
            let raw = 0.5 * sum[1].atan2(sum[0]);
            let raw_hips = 0.5 * hips[1].atan2(hips[0]);
            let length = sum[0].hypot(sum[1]) / weight.max(1e-12);
            let o = match self.done.back() {
                Some(p) if t - p.t <= MAX_GAP_S => {
                    let angle = p.angle + wrap_half_turn(raw - p.angle);
                    // Too short to tell a direction: no rotation seen.
                    let rate = if length < MIN_LINES {
                        0.0
                    } else {
                        (angle - p.angle) / (t - p.t)
                    };
                    let hips = p.hips + wrap_half_turn(raw_hips - p.hips);
                    Orientation {
                        t,
                        angle,
                        rate,
                        hips,
                    }
                }
                _ => Orientation {
                    t,
                    angle: raw,
                    rate: 0.0,
                    hips: raw_hips,
                },
            };
            self.done.push_back(o);
        }
        // Samples older than 3σ before the next one to smooth are no longer read.
        let next = self.done.back().map_or(f64::NEG_INFINITY, |o| o.t);
        while self.samples.front().is_some_and(|s| s.t < next - reach) {
            self.samples.pop_front();
        }
        while self.done.front().is_some_and(|o| o.t < until - KEEP_S) {
            self.done.pop_front();
        }
    }

    /// When `t` lies in a turn (module doc) as far as it has been seen: the time its run
    /// began. `None` when the body is not turning at `t`, or not by enough yet, or `t` is
    /// not smoothed yet.
    pub fn at(&self, t: f64) -> Option<f64> {
        let d = &self.done;
        // The sample at or just after `t` (rates are backward differences).
        let i = d.partition_point(|o| o.t < t);
        if i >= d.len() || i == 0 || d[i].t - t > MAX_GAP_S {
            return None;
        }
        let sign = d[i].rate.signum();
        let turning = |o: &Orientation| o.rate.abs() > EDGE_RATE && o.rate.signum() == sign;
        if !turning(&d[i]) {
            return None;
        }
        let mut a = i;
        while a > 0 && turning(&d[a - 1]) {
            a -= 1;
        }
        let mut e = i;
        while e + 1 < d.len() && turning(&d[e + 1]) {
            e += 1;
        }
        let fast = d.range(a..=e).any(|o| o.rate.abs() > TURN_RATE);
        // The run's first sample's rate covers the step from the one before it.
        let start = if a > 0 { d[a - 1] } else { d[a] };
        // The hips turn with the body; a punch or a kick twists the shoulders on them.
        let hips_too = (d[e].hips - start.hips) * sign > HIPS_MIN;
        (fast && hips_too && (d[e].angle - start.angle).abs() > TURN_MIN).then_some(start.t)
    }
}

/// Wraps an angle difference into (−90°, 90°]: orientations are lines, not directions.
fn wrap_half_turn(d: f64) -> f64 {
    use std::f64::consts::{FRAC_PI_2, PI};
    let r = (d + FRAC_PI_2).rem_euclid(PI) - FRAC_PI_2;
    if r <= -FRAC_PI_2 { r + PI } else { r }
}

/// The shoulder and hip lines of a frame as doubled-angle vectors (each line's
/// (Δx, Δz / [`Z_SCALE`]) in torso lengths, its angle doubled), or `None` without a person
/// or a measurable torso.
fn lines(frame: &LandmarkFrame) -> Option<[[f64; 2]; 2]> {
    let lm = frame.landmarks.as_ref()?;
    let (w, h) = (frame.width as f64, frame.height as f64);
    let px = |i: usize| (lm[i].x as f64 * w, lm[i].y as f64 * h);
    let mid = |a: usize, b: usize| {
        let (p, q) = (px(a), px(b));
        ((p.0 + q.0) / 2.0, (p.1 + q.1) / 2.0)
    };
    let (s, hp) = (mid(11, 12), mid(23, 24));
    let torso = (s.0 - hp.0).hypot(s.1 - hp.1);
    if !torso.is_finite() || torso < 1.0 {
        return None;
    }
    let mut v = [[0.0; 2]; 2];
    for (k, (l, r)) in [(11, 12), (23, 24)].into_iter().enumerate() {
        let dx = (lm[l].x - lm[r].x) as f64 * w / torso;
        let dz = (lm[l].z - lm[r].z) as f64 * w / torso / Z_SCALE;
        v[k] = [dx * dx - dz * dz, 2.0 * dx * dz];
    }
    v.iter().flatten().all(|x| x.is_finite()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landmarks::{NUM_LANDMARKS, Point};
    use std::f64::consts::PI;

    /// A body 0.5 m across the shoulders and hips, torso 0.5 m, 3 m from a 640×480 camera
    /// (focal 500 px), its shoulder line at `yaw` (0: square-on), left and right swapped when
    /// `swapped` (as BlazePose does seen from behind).
    fn body_at(t: f64, yaw: f64, swapped: bool) -> LandmarkFrame {
        let (f, dist, w, h) = (500.0, 3.0, 640.0, 480.0);
        let mut lm = [Point {
            visibility: 0.9,
            ..Point::default()
        }; NUM_LANDMARKS];
        let put = |lm: &mut [Point; NUM_LANDMARKS], i: usize, x: f64, y: f64, depth: f64| {
            lm[i] = Point {
                x: ((f * x / (dist + depth)) + w / 2.0) as f32 / w as f32,
                y: ((f * y / (dist + depth)) + h / 2.0) as f32 / h as f32,
                z: (depth * f / dist / w * Z_SCALE) as f32,
                visibility: 0.9,
            };
        };
        for (l, r, y) in [(11, 12, -0.5), (23, 24, 0.0)] {
            let (dx, dz) = (0.25 * yaw.cos(), 0.25 * yaw.sin());
            let (l, r) = if swapped { (r, l) } else { (l, r) };
            put(&mut lm, l, dx, y, dz);
            put(&mut lm, r, -dx, y, -dz);
        }
        LandmarkFrame {
            t,
            width: 640,
            height: 480,
            landmarks: Some(lm),
        }
    }

    /// Feeds `yaw(t)` at 30 fps for `secs` and returns, per frame, what `at` says of the
    /// instant a second before it.
    fn run(
        secs: f64,
        yaw: impl Fn(f64) -> f64,
        swap: impl Fn(f64) -> bool,
    ) -> Vec<(f64, Option<f64>)> {
        let mut tr = Turning::new();
        let mut out = Vec::new();
        for i in 0..(secs * 30.0) as usize {
            let t = i as f64 / 30.0;
            tr.push(&body_at(t, yaw(t), swap(t)));
            out.push((t - 1.0, tr.at(t - 1.0)));
        }
        out
    }

    /// A quarter turn at 45°/s from 2 s to 4 s, walking on square-on before and side-on
    /// after: a turn is found in the middle of it, dated back to within a quarter of a second
    /// of its start, and nowhere before 1.5 s or after 4.5 s.
    #[test]
    fn a_quarter_turn_is_found_and_dated_back_to_its_start() {
        let yaw = |t: f64| (t - 2.0).clamp(0.0, 2.0) * PI / 4.0;
        let out = run(7.0, yaw, |_| false);
        let at3 = out.iter().find(|(s, _)| (*s - 3.0).abs() < 0.02).unwrap().1;
        let since = at3.expect("no turn at 3 s");
        assert!((since - 2.0).abs() < 0.25, "dated back to {since:.2} s");
        for (s, found) in &out {
            if *s < 1.5 || *s > 4.5 {
                assert!(found.is_none(), "a turn at {s:.2} s");
            }
        }
    }

    /// Turning less than 45° (a 30° drift at 30°/s), or wobbling ±10° at walking pace, is
    /// no turn; a half turn in place with left and right swapped from the moment the back is
    /// to the camera (the line keeps its orientation) is.
    #[test]
    fn small_turns_and_wobbles_are_not_turns_and_a_swapped_half_turn_is() {
        let drift = run(6.0, |t| (t - 2.0).clamp(0.0, 1.0) * PI / 6.0, |_| false);
        assert!(drift.iter().all(|(_, f)| f.is_none()));
        let wobble = run(6.0, |t| (2.0 * PI * t).sin() * PI / 18.0, |_| false);
        assert!(wobble.iter().all(|(_, f)| f.is_none()));
        let half = |t: f64| (t - 2.0).clamp(0.0, 1.5) * PI / 1.5;
        let swapped = run(6.0, half, |t| half(t) > PI / 2.0);
        let found = swapped
            .iter()
            .filter(|(s, f)| (2.0..3.5).contains(s) && f.is_some());
        assert!(found.count() > 20, "{swapped:?}");
    }

    /// A gap of a second without a person breaks the line: the orientation before and after
    /// is not read as a turn, however different.
    #[test]
    fn a_gap_is_not_a_turn() {
        let mut tr = Turning::new();
        for i in 0..150 {
            let t = i as f64 / 30.0;
            let mut f = body_at(t, if t < 2.5 { 0.0 } else { PI / 2.0 }, false);
            if (2.0..3.0).contains(&t) {
                f.landmarks = None;
            }
            tr.push(&f);
            assert!(tr.at(t - 1.0).is_none(), "a turn at {:.2} s", t - 1.0);
        }
    }

    /// A frame whose shoulder and hip lines are (dx, dz) torso lengths (dz in `x` units of
    /// metric depth, before [`Z_SCALE`]), torso 100 px upright in a 640×480 image.
    fn lines_at(t: f64, dx: f64, dz: f64) -> LandmarkFrame {
        twisted_at(t, (dx, dz), (dx, dz))
    }

    /// [`lines_at`] with the shoulders' line and the hips' apart.
    fn twisted_at(t: f64, shoulders: (f64, f64), hips: (f64, f64)) -> LandmarkFrame {
        let mut lm = [Point {
            visibility: 0.9,
            ..Point::default()
        }; NUM_LANDMARKS];
        for (l, r, y, (dx, dz)) in [(11, 12, 140.0, shoulders), (23, 24, 240.0, hips)] {
            for (i, side) in [(l, 0.5), (r, -0.5)] {
                lm[i] = Point {
                    x: ((320.0 + side * dx * 100.0) / 640.0) as f32,
                    y: (y / 480.0) as f32,
                    z: (side * dz * Z_SCALE * 100.0 / 640.0) as f32,
                    visibility: 0.9,
                };
            }
        }
        LandmarkFrame {
            t,
            width: 640,
            height: 480,
            landmarks: Some(lm),
        }
    }

    /// Whether a turn is found anywhere in 5 s of `frame_at` at 30 fps.
    fn any_turn(frame_at: impl Fn(f64) -> LandmarkFrame) -> bool {
        let mut tr = Turning::new();
        let mut any = false;
        for i in 0..150 {
            let t = i as f64 / 30.0;
            tr.push(&frame_at(t));
            any |= tr.at(t - 1.0).is_some();
        }
        any
    }

    /// Lines seen nearly end-on, with little depth (a side-on body whose `z` is a tenth of
    /// the usual scale): a few pixels of the landmarks' jitter swing their direction by 60°
    /// in half a second, which is no turn. The same swing of lines at full length is.
    #[test]
    fn lines_seen_end_on_show_no_rotation() {
        let found = |len: f64| {
            any_turn(|t| {
                // The direction swings from +60° through 90° to 120° between 2 and 2.5 s.
                let a = (60.0 + 60.0 * ((t - 2.0) / 0.5).clamp(0.0, 1.0)).to_radians();
                lines_at(t, len * a.cos(), len * a.sin())
            })
        };
        assert!(!found(0.1), "lines 0.1 torso long read as turning");
        assert!(found(0.9), "lines 0.9 torso long not read as turning");
    }

    /// The shoulders turning 70° on hips that stay square-on (a punch, a reach) is no turn;
    /// the hips turning with them is.
    #[test]
    fn a_twist_of_the_trunk_is_not_a_turn() {
        let found = |hips_turn: bool| {
            any_turn(|t| {
                let a = (70.0 * ((t - 2.0) / 0.7).clamp(0.0, 1.0)).to_radians();
                let h = if hips_turn { a } else { 0.0 };
                twisted_at(t, (a.cos(), a.sin()), (0.5 * h.cos(), 0.5 * h.sin()))
            })
        };
        assert!(!found(false), "a twist read as a turn");
        assert!(found(true), "a turn of the whole body not read as one");
    }

    #[test]
    fn half_turn_wrapping() {
        for (d, want) in [
            (0.1, 0.1),
            (PI - 0.1, -0.1),
            (-PI + 0.1, 0.1),
            (PI / 2.0, PI / 2.0),
        ] {
            assert!((wrap_half_turn(d) - want).abs() < 1e-12, "{d}");
        }
    }
}
