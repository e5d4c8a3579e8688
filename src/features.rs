//! Features: from a stream of landmark frames to one vector of 109 numbers per frame,
//! describing the last two seconds of movement. The same code serves the daemon and, through
//! `activityd features`, the training scripts — there is no second implementation.
//!
//! Each frame gives 18 *signals* (joint angles, body orientation, apparent size, position,
//! visibility), all normalised so that image size, distance and body size cancel out. Over a
//! 2-second window resampled by timestamp to 10 Hz (so 10, 15 or 30 fps give the same
//! features), each signal is summarised by 6 statistics: value now, mean, standard deviation,
//! slope per second, range, and change from the window's start. With the fraction of the
//! window backed by real frames that makes 18 × 6 + 1 = 109. `docs/features.md` lists them.
//! A vector describes the activity at the middle of its window ([`LABEL_LAG_S`]).

use std::collections::VecDeque;

use crate::landmarks::{LandmarkFrame, NUM_LANDMARKS, Point};

/// Window length, seconds.
pub const WINDOW_S: f64 = 2.0;
/// The vector computed at time `t` describes the activity at `t − LABEL_LAG_S`: the middle of
/// its window, where it sees the movement both before and after. (Labelling the window's end
/// instead costs about 15 points of accuracy: the start of a movement is not yet visible.)
/// Reports are dated back by this lag; `training/activity/train.py` uses the same value.
pub const LABEL_LAG_S: f64 = WINDOW_S / 2.0;
/// Resampling rate, Hz.
pub const RATE_HZ: f64 = 10.0;
/// Samples per window (both ends included).
pub const SAMPLES: usize = 21;
/// Per-frame signals.
pub const NUM_SIGNALS: usize = 18;
/// Statistics per signal.
pub const NUM_STATS: usize = 6;
/// Features per vector.
pub const NUM_FEATURES: usize = NUM_SIGNALS * NUM_STATS + 1;

/// Signal names, in order.
pub const SIGNALS: [&str; NUM_SIGNALS] = [
    "knee_flexion",
    "hip_flexion",
    "trunk_lean",
    "thigh_angle",
    "hip_height",
    "knee_rise",
    "log_scale",
    "log_shoulder_width",
    "shoulder_order",
    "shoulder_depth",
    "face_visibility",
    "nose_offset",
    "hip_dx",
    "hip_dy",
    "ankle_spread_x",
    "ankle_spread_y",
    "wrist_height",
    "leg_visibility",
];

/// Statistic names, in order.
pub const STATS: [&str; NUM_STATS] = ["now", "mean", "std", "slope", "range", "delta"];

/// A frame with a person farther than this from a window sample does not count for it.
const MAX_GAP_S: f64 = 0.35;
/// Below this share of real samples in the window there are no features.
const MIN_VALID: f64 = 0.5;

/// The feature names, `<signal>.<stat>` then `valid_fraction`.
pub fn names() -> Vec<String> {
    let mut v: Vec<String> = SIGNALS
        .iter()
        .flat_map(|s| STATS.iter().map(move |t| format!("{s}.{t}")))
        .collect();
    v.push("valid_fraction".into());
    v
}

/// Landmark indices.
mod lm {
    pub const NOSE: usize = 0;
    pub const FACE: [usize; 11] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    pub const L_SHOULDER: usize = 11;
    pub const R_SHOULDER: usize = 12;
    pub const L_WRIST: usize = 15;
    pub const R_WRIST: usize = 16;
    pub const L_HIP: usize = 23;
    pub const R_HIP: usize = 24;
    pub const L_KNEE: usize = 25;
    pub const R_KNEE: usize = 26;
    pub const L_ANKLE: usize = 27;
    pub const R_ANKLE: usize = 28;
}

/// A landmark in pixel units (y down) with its visibility.
#[derive(Clone, Copy)]
struct P {
    x: f64,
    y: f64,
    z: f64,
    v: f64,
}

impl P {
    fn mid(a: P, b: P) -> P {
        P {
            x: (a.x + b.x) / 2.0,
            y: (a.y + b.y) / 2.0,
            z: (a.z + b.z) / 2.0,
            v: a.v.min(b.v),
        }
    }
    fn dist(a: P, b: P) -> f64 {
        (a.x - b.x).hypot(a.y - b.y)
    }
}

/// Angle at `b` between `a` and `c`, radians (π = straight).
fn angle(a: P, b: P, c: P) -> f64 {
    let (ux, uy, vx, vy) = (a.x - b.x, a.y - b.y, c.x - b.x, c.y - b.y);
    let n = (ux.hypot(uy) * vx.hypot(vy)).max(1e-9);
    ((ux * vx + uy * vy) / n).clamp(-1.0, 1.0).acos()
}

/// Angle of the vector `from → to` away from straight down (0) — e.g. a vertical thigh.
fn from_down(from: P, to: P) -> f64 {
    let (dx, dy) = (to.x - from.x, to.y - from.y);
    dx.abs().atan2(dy)
}

/// The frame-level quantities the signals are built from (pixel units).
#[derive(Clone, Copy)]
struct Body {
    p: [P; NUM_LANDMARKS],
    hip: P,
    shoulder: P,
    torso: f64,
    image_h: f64,
}

impl Body {
    fn new(frame: &LandmarkFrame, lms: &[Point; NUM_LANDMARKS]) -> Body {
        let (w, h) = (frame.width.max(1) as f64, frame.height.max(1) as f64);
        let mut p = [P {
            x: 0.0,
            y: 0.0,
            z: 0.0,
            v: 0.0,
        }; NUM_LANDMARKS];
        for (o, l) in p.iter_mut().zip(lms) {
            *o = P {
                x: l.x as f64 * w,
                y: l.y as f64 * h,
                z: l.z as f64 * w,
                v: l.visibility as f64,
            };
        }
        let hip = P::mid(p[lm::L_HIP], p[lm::R_HIP]);
        let shoulder = P::mid(p[lm::L_SHOULDER], p[lm::R_SHOULDER]);
        Body {
            p,
            hip,
            shoulder,
            torso: P::dist(hip, shoulder).max(1.0),
            image_h: h,
        }
    }

    /// The 18 signals; `origin` is the hip centre at the window's start and `scale` the
    /// window's typical torso length, which make positions relative and size-free.
    fn signals(&self, origin: (f64, f64), scale: f64) -> [f64; NUM_SIGNALS] {
        let p = &self.p;
        let mean2 = |a: f64, b: f64| (a + b) / 2.0;
        let flex = |a: f64| (std::f64::consts::PI - a) / std::f64::consts::PI;
        let knee = mean2(
            flex(angle(p[lm::L_HIP], p[lm::L_KNEE], p[lm::L_ANKLE])),
            flex(angle(p[lm::R_HIP], p[lm::R_KNEE], p[lm::R_ANKLE])),
        );
        let hipf = mean2(
            flex(angle(p[lm::L_SHOULDER], p[lm::L_HIP], p[lm::L_KNEE])),
            flex(angle(p[lm::R_SHOULDER], p[lm::R_HIP], p[lm::R_KNEE])),
        );
        // Lean of the trunk from vertical: 0 upright.
        let lean = {
            let (dx, dy) = (self.shoulder.x - self.hip.x, self.hip.y - self.shoulder.y);
            dx.abs().atan2(dy)
        };
        let thigh = mean2(
            from_down(p[lm::L_HIP], p[lm::L_KNEE]),
            from_down(p[lm::R_HIP], p[lm::R_KNEE]),
        );
        let ankle = P::mid(p[lm::L_ANKLE], p[lm::R_ANKLE]);
        let knee_mid = P::mid(p[lm::L_KNEE], p[lm::R_KNEE]);
        let wrist = P::mid(p[lm::L_WRIST], p[lm::R_WRIST]);
        let shoulder_w = P::dist(p[lm::L_SHOULDER], p[lm::R_SHOULDER]);
        let face_v = lm::FACE.iter().map(|&i| p[i].v).sum::<f64>() / lm::FACE.len() as f64;
        let leg_v = [lm::L_KNEE, lm::R_KNEE, lm::L_ANKLE, lm::R_ANKLE]
            .iter()
            .map(|&i| p[i].v)
            .sum::<f64>()
            / 4.0;
        [
            knee,
            hipf,
            lean,
            thigh,
            (ankle.y - self.hip.y) / scale,
            (knee_mid.y - self.hip.y) / scale,
            (self.torso / self.image_h).ln(),
            (shoulder_w.max(1.0) / self.image_h).ln(),
            // The person's left shoulder on the image's right: facing the camera (> 0).
            (p[lm::L_SHOULDER].x - p[lm::R_SHOULDER].x) / scale,
            (p[lm::L_SHOULDER].z - p[lm::R_SHOULDER].z) / scale,
            face_v,
            (p[lm::NOSE].x - self.shoulder.x) / scale,
            (self.hip.x - origin.0) / scale,
            (self.hip.y - origin.1) / scale,
            (p[lm::L_ANKLE].x - p[lm::R_ANKLE].x) / scale,
            (p[lm::L_ANKLE].y - p[lm::R_ANKLE].y) / scale,
            (wrist.y - self.hip.y) / scale,
            leg_v,
        ]
    }
}

/// Turns landmark frames, one at a time, into feature vectors.
#[derive(Default)]
pub struct FeatureExtractor {
    /// Recent frames with a person, oldest first, covering the window plus a margin.
    history: VecDeque<(f64, Body)>,
}

/// One feature vector.
pub type Features = [f32; NUM_FEATURES];

impl FeatureExtractor {
    pub fn new() -> FeatureExtractor {
        FeatureExtractor::default()
    }

    /// Forgets everything (e.g. when the camera timeline restarts).
    pub fn reset(&mut self) {
        self.history.clear();
    }

    /// Adds `frame` and returns the features of the window ending at it, or `None` when the
    /// window does not hold enough of a person (nobody now, or too little seen recently).
    pub fn push(&mut self, frame: &LandmarkFrame) -> Option<Features> {
        let t = frame.t;
        if self.history.back().is_some_and(|(last, _)| t <= *last) {
            // Time went backwards: a new timeline.
            self.reset();
        }
        if let Some(lms) = &frame.landmarks {
            self.history.push_back((t, Body::new(frame, lms)));
        }
        self.forget_before(t - WINDOW_S - MAX_GAP_S);
        frame.landmarks.as_ref()?;
        self.compute(t)
    }

    /// The newest frame with a person: its time and the interval since the one before it
    /// (`None` without two such frames).
    pub fn newest(&self) -> Option<(f64, f64)> {
        let n = self.history.len();
        (n >= 2).then(|| {
            (
                self.history[n - 1].0,
                self.history[n - 1].0 - self.history[n - 2].0,
            )
        })
    }

    /// The features of the window ending at `t` had the person held the pose of the newest
    /// frame until then (edge padding, for a file's last moments): that pose is added at `t`.
    /// `None` when nobody has been seen, or `t` is not after the newest frame.
    pub fn push_held(&mut self, t: f64) -> Option<Features> {
        let &(newest, body) = self.history.back()?;
        if t <= newest {
            return None;
        }
        self.history.push_back((t, body));
        self.forget_before(t - WINDOW_S - MAX_GAP_S);
        self.compute(t)
    }

    /// Drops the frames older than `t` (no window reaches them any more).
    fn forget_before(&mut self, t: f64) {
        while self.history.front().is_some_and(|(ft, _)| *ft < t) {
            self.history.pop_front();
        }
    }

    fn compute(&self, t_end: f64) -> Option<Features> {
        let h = &self.history;
        let t0 = t_end - WINDOW_S;
        // Resample: each sample blends the frames just before and after its time, or takes
        // the one that is near enough; none when both are too far.
        let mut j = 0; // first history index at or after the sample time
        let picks: Vec<Option<(usize, usize, f64)>> = (0..SAMPLES)
            .map(|k| {
                let ts = t0 + k as f64 / RATE_HZ;
                while j < h.len() && h[j].0 < ts {
                    j += 1;
                }
                let before = j.checked_sub(1).filter(|&i| ts - h[i].0 <= MAX_GAP_S);
                let after = Some(j).filter(|&i| i < h.len() && h[i].0 - ts <= MAX_GAP_S);
                match (before, after) {
                    (Some(a), Some(b)) => Some((a, b, (ts - h[a].0) / (h[b].0 - h[a].0))),
                    (Some(a), None) => Some((a, a, 0.0)),
                    (None, Some(b)) => Some((b, b, 0.0)),
                    (None, None) => None,
                }
            })
            .collect();
        let valid = picks.iter().filter(|p| p.is_some()).count();
        let valid_fraction = valid as f64 / SAMPLES as f64;
        if valid_fraction < MIN_VALID || picks[SAMPLES - 1].is_none() {
            return None;
        }
        let blend = |(a, b, w): (usize, usize, f64), f: &dyn Fn(&Body) -> f64| {
            let (x, y) = (f(&h[a].1), f(&h[b].1));
            x + w * (y - x)
        };
        // The window's typical torso length and its starting hip position make sizes and
        // positions relative.
        let mut torsos: Vec<f64> = picks
            .iter()
            .flatten()
            .map(|&p| blend(p, &|b| b.torso))
            .collect();
        torsos.sort_by(|a, b| a.total_cmp(b));
        let scale = torsos[torsos.len() / 2];
        let first = picks.iter().flatten().next().copied()?;
        let origin = (blend(first, &|b| b.hip.x), blend(first, &|b| b.hip.y));
        let samples: Vec<Option<[f64; NUM_SIGNALS]>> = picks
            .iter()
            .map(|p| {
                p.map(|(a, b, w)| {
                    let (sa, sb) = (h[a].1.signals(origin, scale), h[b].1.signals(origin, scale));
                    std::array::from_fn(|i| sa[i] + w * (sb[i] - sa[i]))
                })
            })
            .collect();
        // Fill gaps with the nearest real sample so the statistics see a full window.
        let filled = fill_gaps(&samples);
        let mut out = [0f32; NUM_FEATURES];
        for s in 0..NUM_SIGNALS {
            let series: Vec<f64> = filled.iter().map(|v| v[s]).collect();
            for (k, v) in stats(&series).iter().enumerate() {
                out[s * NUM_STATS + k] = *v as f32;
            }
        }
        out[NUM_FEATURES - 1] = valid_fraction as f32;
        Some(out)
    }
}

fn fill_gaps(samples: &[Option<[f64; NUM_SIGNALS]>]) -> Vec<[f64; NUM_SIGNALS]> {
    let n = samples.len();
    (0..n)
        .map(|i| {
            (0..n)
                .flat_map(|d| [i.checked_sub(d), Some(i + d)])
                .flatten()
                .find_map(|k| samples.get(k).copied().flatten())
                .expect("at least one valid sample")
        })
        .collect()
}

/// now, mean, std, slope (per second), range, delta — over an evenly spaced series.
fn stats(x: &[f64]) -> [f64; NUM_STATS] {
    let n = x.len() as f64;
    let ends = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let now = ends(&x[x.len() - 3..]);
    let start = ends(&x[..3]);
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let tm = (n - 1.0) / 2.0;
    let (mut num, mut den) = (0.0, 0.0);
    for (i, v) in x.iter().enumerate() {
        let dt = i as f64 - tm;
        num += dt * (v - mean);
        den += dt * dt;
    }
    let slope = num / den * RATE_HZ;
    let (min, max) = x
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    [now, mean, var.sqrt(), slope, max - min, now - start]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A standing person facing the camera, hips at (cx, cy) in normalised units, torso
    /// `size` high, in a 640×480 frame.
    fn person(t: f64, cx: f32, cy: f32, size: f32, knee_bend: f32) -> LandmarkFrame {
        let mut l = [Point {
            x: cx,
            y: cy,
            z: 0.0,
            visibility: 0.95,
        }; NUM_LANDMARKS];
        let set = |l: &mut [Point; NUM_LANDMARKS], i: usize, dx: f32, dy: f32| {
            l[i].x = cx + dx * size * 0.75;
            l[i].y = cy + dy * size;
        };
        for i in 0..11 {
            set(&mut l, i, 0.0, -1.3);
        }
        set(&mut l, 11, 0.25, -1.0);
        set(&mut l, 12, -0.25, -1.0);
        set(&mut l, 15, 0.3, 0.0);
        set(&mut l, 16, -0.3, 0.0);
        set(&mut l, 23, 0.12, 0.0);
        set(&mut l, 24, -0.12, 0.0);
        set(&mut l, 25, 0.12 + knee_bend, 0.9);
        set(&mut l, 26, -0.12 + knee_bend, 0.9);
        set(&mut l, 27, 0.12, 1.8);
        set(&mut l, 28, -0.12, 1.8);
        LandmarkFrame {
            t,
            width: 640,
            height: 480,
            landmarks: Some(l),
        }
    }

    fn run(frames: &[LandmarkFrame]) -> Vec<Option<Features>> {
        let mut fx = FeatureExtractor::new();
        frames.iter().map(|f| fx.push(f)).collect()
    }

    fn feature(f: &Features, signal: &str, stat: &str) -> f32 {
        let s = SIGNALS.iter().position(|x| *x == signal).unwrap();
        let k = STATS.iter().position(|x| *x == stat).unwrap();
        f[s * NUM_STATS + k]
    }

    #[test]
    fn counts_and_names_agree() {
        assert_eq!(NUM_FEATURES, 109);
        assert_eq!(names().len(), 109);
        assert_eq!(SAMPLES as f64, WINDOW_S * RATE_HZ + 1.0);
    }

    #[test]
    fn needs_a_window_of_person() {
        let frames: Vec<_> = (0..60)
            .map(|i| person(i as f64 / 30.0, 0.5, 0.5, 0.2, 0.0))
            .collect();
        let out = run(&frames);
        // Half a second of person is not enough; one and a half is.
        assert!(out[0].is_none() && out[15].is_none());
        assert!(out[45].is_some());
        // A full window after 2 s.
        assert!(out[59].is_some());
        assert_eq!(out[59].unwrap()[108], 1.0);
        // Nobody now: no features.
        let mut fx = FeatureExtractor::new();
        for f in &frames {
            fx.push(f);
        }
        let empty = LandmarkFrame {
            t: 2.1,
            width: 640,
            height: 480,
            landmarks: None,
        };
        assert!(fx.push(&empty).is_none());
    }

    #[test]
    fn frame_rate_does_not_change_features() {
        // A person walking toward the camera (growing) and to the right, at 30 and 10 fps.
        let make = |fps: f64| -> Vec<LandmarkFrame> {
            (0..(3.0 * fps) as usize + 1)
                .map(|i| {
                    let t = i as f64 / fps;
                    person(t, 0.3 + 0.05 * t as f32, 0.5, 0.15 + 0.03 * t as f32, 0.0)
                })
                .collect()
        };
        let a = run(&make(30.0)).last().unwrap().unwrap();
        let b = run(&make(10.0)).last().unwrap().unwrap();
        for i in 0..NUM_FEATURES {
            assert!(
                (a[i] - b[i]).abs() < 1e-3 + 1e-3 * a[i].abs(),
                "feature {i} ({}): {} vs {}",
                names()[i],
                a[i],
                b[i]
            );
        }
        // And it reads as moving toward the camera and sideways.
        assert!(feature(&a, "log_scale", "slope") > 0.05);
        assert!(feature(&a, "hip_dx", "slope") > 0.05);
        assert!(
            feature(&a, "shoulder_order", "now") > 0.0,
            "facing the camera"
        );
    }

    #[test]
    fn size_and_position_do_not_change_posture_features() {
        let near: Vec<_> = (0..31)
            .map(|i| person(i as f64 / 15.0, 0.5, 0.6, 0.3, 0.1))
            .collect();
        let far: Vec<_> = (0..31)
            .map(|i| person(i as f64 / 15.0, 0.2, 0.4, 0.1, 0.1))
            .collect();
        let (a, b) = (
            run(&near).last().unwrap().unwrap(),
            run(&far).last().unwrap().unwrap(),
        );
        for s in [
            "knee_flexion",
            "hip_flexion",
            "hip_height",
            "shoulder_order",
            "wrist_height",
        ] {
            let (x, y) = (feature(&a, s, "now"), feature(&b, s, "now"));
            assert!((x - y).abs() < 1e-3, "{s}: {x} vs {y}");
        }
        assert!(feature(&a, "knee_flexion", "now") > 0.05, "bent knees show");
        assert!(feature(&a, "log_scale", "now") > feature(&b, "log_scale", "now"));
    }

    #[test]
    fn gaps_are_bridged_and_counted() {
        let frames: Vec<_> = (0..91)
            .map(|i| {
                let mut f = person(i as f64 / 30.0, 0.5, 0.5, 0.2, 0.0);
                // 1.33 s missing in the window: the middle half second has no frame near.
                if (30..70).contains(&i) {
                    f.landmarks = None;
                }
                f
            })
            .collect();
        let out = run(&frames);
        let last = out[90].unwrap();
        assert!(last[108] < 1.0 && last[108] >= 0.5, "{}", last[108]);
        assert!(out[55].is_none());
    }

    #[test]
    fn time_going_backwards_restarts() {
        let mut fx = FeatureExtractor::new();
        for i in 0..61 {
            fx.push(&person(i as f64 / 30.0, 0.5, 0.5, 0.2, 0.0));
        }
        assert!(fx.push(&person(0.5, 0.5, 0.5, 0.2, 0.0)).is_none());
    }
}
