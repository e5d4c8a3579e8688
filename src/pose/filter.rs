//! Temporal smoothing of landmarks as MediaPipe does it in video mode: a One Euro filter per
//! coordinate with values scaled by the pose's size, and a low-pass filter on visibility.

/// MediaPipe's `LowPassFilter`: the first value passes, then `α·new + (1−α)·previous`.
#[derive(Debug, Clone, Default)]
pub struct LowPass {
    state: Option<(f64, f64)>, // (raw, filtered)
}

impl LowPass {
    pub fn apply(&mut self, value: f64, alpha: f64) -> f64 {
        let out = match self.state {
            Some((_, prev)) => alpha * value + (1.0 - alpha) * prev,
            None => value,
        };
        self.state = Some((value, out));
        out
    }

    fn last_raw(&self) -> Option<f64> {
        self.state.map(|s| s.0)
    }
}

/// One Euro filter parameters.
#[derive(Debug, Clone, Copy)]
pub struct OneEuroParams {
    pub min_cutoff: f64,
    pub beta: f64,
    pub derivate_cutoff: f64,
}

/// MediaPipe's `OneEuroFilter` (frequency from the timestamps, 30 Hz before the second value).
#[derive(Debug, Clone)]
pub struct OneEuro {
    p: OneEuroParams,
    frequency: f64,
    last_t: Option<f64>,
    x: LowPass,
    dx: LowPass,
}

impl OneEuro {
    pub fn new(p: OneEuroParams) -> OneEuro {
        OneEuro {
            p,
            frequency: 30.0,
            last_t: None,
            x: LowPass::default(),
            dx: LowPass::default(),
        }
    }

    fn alpha(&self, cutoff: f64) -> f64 {
        let te = 1.0 / self.frequency;
        let tau = 1.0 / (2.0 * std::f64::consts::PI * cutoff);
        1.0 / (1.0 + tau / te)
    }

    /// Filters `value` seen at time `t` (seconds); `value_scale` turns its changes into
    /// size-independent units.
    pub fn apply(&mut self, t: f64, value_scale: f64, value: f64) -> f64 {
        if let Some(last) = self.last_t {
            if t <= last {
                return value;
            }
            self.frequency = 1.0 / (t - last);
        }
        self.last_t = Some(t);
        let dvalue = self
            .x
            .last_raw()
            .map_or(0.0, |prev| (value - prev) * value_scale * self.frequency);
        let edvalue = self.dx.apply(dvalue, self.alpha(self.p.derivate_cutoff));
        let cutoff = self.p.min_cutoff + self.p.beta * edvalue.abs();
        self.x.apply(value, self.alpha(cutoff))
    }
}

/// Smooths a fixed set of landmarks: x, y, z (in pixels) through One Euro filters scaled by
/// `1 / object_scale`, visibility through a low-pass filter (α = 0.1).
#[derive(Debug, Clone)]
pub struct LandmarkSmoother {
    coords: Vec<[OneEuro; 3]>,
    visibility: Vec<LowPass>,
}

/// Landmarks (`x`, `y` in pixels; `z` on the x scale) with visibility.
pub type PixelPoint = [f64; 4];

impl LandmarkSmoother {
    pub fn new(n: usize, p: OneEuroParams) -> LandmarkSmoother {
        LandmarkSmoother {
            coords: (0..n)
                .map(|_| [OneEuro::new(p), OneEuro::new(p), OneEuro::new(p)])
                .collect(),
            visibility: vec![LowPass::default(); n],
        }
    }

    /// Smooths `points` in place.
    pub fn apply(&mut self, t: f64, object_scale: f64, points: &mut [PixelPoint]) {
        // MediaPipe leaves landmarks unfiltered when the object is degenerate.
        let scale = if object_scale < 1e-6 {
            return;
        } else {
            1.0 / object_scale
        };
        for (i, p) in points.iter_mut().enumerate() {
            p[3] = self.visibility[i].apply(p[3], 0.1);
            for (k, f) in self.coords[i].iter_mut().enumerate() {
                p[k] = f.apply(t, scale, p[k]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: OneEuroParams = OneEuroParams {
        min_cutoff: 0.05,
        beta: 80.0,
        derivate_cutoff: 1.0,
    };

    #[test]
    fn still_values_are_smoothed_hard_moving_ones_follow() {
        let mut f = OneEuro::new(P);
        assert_eq!(f.apply(0.0, 0.01, 100.0), 100.0);
        // Jitter of ±1 px on a 100 px object barely moves the output.
        let mut out = 0.0;
        for i in 1..30 {
            out = f.apply(
                i as f64 / 30.0,
                0.01,
                100.0 + if i % 2 == 0 { 1.0 } else { -1.0 },
            );
        }
        assert!((out - 100.0).abs() < 0.5, "{out}");
        // A fast move is followed closely.
        let mut g = OneEuro::new(P);
        for i in 0..30 {
            out = g.apply(i as f64 / 30.0, 0.01, 100.0 + 10.0 * i as f64);
        }
        assert!((out - 390.0).abs() < 30.0, "{out}");
    }

    #[test]
    fn repeated_timestamp_passes_value_through() {
        let mut f = OneEuro::new(P);
        f.apply(1.0, 1.0, 5.0);
        assert_eq!(f.apply(1.0, 1.0, 7.0), 7.0);
    }

    #[test]
    fn low_pass_matches_mediapipe() {
        let mut l = LowPass::default();
        assert_eq!(l.apply(1.0, 0.1), 1.0);
        assert!((l.apply(0.0, 0.1) - 0.9).abs() < 1e-12);
    }
}
