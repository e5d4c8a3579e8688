//! Rotated regions of interest and the bilinear warp that cuts them out of a frame, following
//! MediaPipe's `ImageToTensorCalculator` (OpenCV `warpPerspective`, `INTER_LINEAR`): the ROI's
//! corners map onto the tensor's corners.

use crate::frame::Frame;
use crate::model::Layout;

/// A rotated rectangle in pixel coordinates of the full frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Roi {
    pub cx: f32,
    pub cy: f32,
    pub w: f32,
    pub h: f32,
    /// Radians, clockwise in image coordinates (y down).
    pub rotation: f32,
}

/// Wraps an angle into [-π, π).
pub fn normalize_radians(a: f32) -> f32 {
    use std::f32::consts::PI;
    a - 2.0 * PI * ((a + PI) / (2.0 * PI)).floor()
}

impl Roi {
    /// MediaPipe's `AlignmentPointsRectsCalculator` (target angle 90°) followed by
    /// `RectTransformationCalculator` (`scale`, `square_long`): a square centred on `center`,
    /// twice as wide as the distance to `scale_point`, turned so the line between them points
    /// up, then scaled.
    pub fn from_alignment(center: (f32, f32), scale_point: (f32, f32), scale: f32) -> Roi {
        let (dx, dy) = (scale_point.0 - center.0, scale_point.1 - center.1);
        let size = 2.0 * (dx * dx + dy * dy).sqrt() * scale;
        let rotation = normalize_radians(std::f32::consts::FRAC_PI_2 - (-dy).atan2(dx));
        Roi {
            cx: center.0,
            cy: center.1,
            w: size,
            h: size,
            rotation,
        }
    }

    /// The ROI covering the whole frame, letterboxed into a square (the detector's input).
    pub fn letterbox(width: u32, height: u32) -> Roi {
        let side = width.max(height) as f32;
        Roi {
            cx: width as f32 / 2.0,
            cy: height as f32 / 2.0,
            w: side,
            h: side,
            rotation: 0.0,
        }
    }

    /// Maps a point given in the ROI's own normalised coordinates (0..1 across, 0..1 down) to
    /// frame pixels.
    #[inline]
    pub fn to_frame(&self, u: f32, v: f32) -> (f32, f32) {
        let (s, c) = self.rotation.sin_cos();
        let (x, y) = ((u - 0.5) * self.w, (v - 0.5) * self.h);
        (self.cx + c * x - s * y, self.cy + s * x + c * y)
    }
}

/// What lies outside the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// Black (MediaPipe's detector input).
    Zero,
    /// The nearest edge pixel (MediaPipe's default, used for the landmark crop).
    Replicate,
}

/// Cuts `roi` out of `frame` into an `n`×`n` RGB tensor (f32, in `layout`), each channel
/// value `p` becoming `p * scale + offset`.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub fn warp_into(
    frame: &Frame,
    roi: &Roi,
    n: usize,
    layout: Layout,
    border: Border,
    scale: f32,
    offset: f32,
    out: &mut [f32],
) {
    assert_eq!(out.len(), n * n * 3);
    let (pixel_step, channel_step) = layout.strides(n);
    let (w, h) = (frame.width as i32, frame.height as i32);
    let data = frame.data();
    let stride = frame.stride;
    let (s, c) = roi.rotation.sin_cos();
    // Source position of tensor pixel (i, j): origin + i·du + j·dv.
    let du = (c * roi.w / n as f32, s * roi.w / n as f32);
    let dv = (-s * roi.h / n as f32, c * roi.h / n as f32);
    let origin = roi.to_frame(0.0, 0.0);
    for j in 0..n {
        let row_x = origin.0 + j as f32 * dv.0;
        let row_y = origin.1 + j as f32 * dv.1;
        for i in 0..n {
            let at = (j * n + i) * pixel_step;
            let sx = row_x + i as f32 * du.0;
            let sy = row_y + i as f32 * du.1;
            let x0 = sx.floor();
            let y0 = sy.floor();
            let (fx, fy) = (sx - x0, sy - y0);
            let (x0, y0) = (x0 as i32, y0 as i32);
            let inside = x0 >= 0 && y0 >= 0 && x0 + 1 < w && y0 + 1 < h;
            if inside {
                // The 2×2 neighbourhood as two fixed-size row slices: one bounds check each.
                let p = y0 as usize * stride + x0 as usize * 3;
                let (Some(top), Some(bot)) = (
                    data.get(p..p + 6)
                        .and_then(|r| <&[u8; 6]>::try_from(r).ok()),
                    data.get(p + stride..p + stride + 6)
                        .and_then(|r| <&[u8; 6]>::try_from(r).ok()),
                ) else {
                    continue;
                };
                for ch in 0..3 {
                    let (a, b) = (top[ch] as f32, top[ch + 3] as f32);
                    let (c, d) = (bot[ch] as f32, bot[ch + 3] as f32);
                    let upper = a + fx * (b - a);
                    let lower = c + fx * (d - c);
                    out[at + ch * channel_step] = (upper + fy * (lower - upper)) * scale + offset;
                }
                continue;
            }
            // Near or beyond the edge: fetch each neighbour under the border rule.
            let fetch = |x: i32, y: i32, ch: usize| -> Option<f32> {
                let (x, y) = match border {
                    Border::Replicate => (x.clamp(0, w - 1), y.clamp(0, h - 1)),
                    Border::Zero if x < 0 || y < 0 || x >= w || y >= h => return None,
                    Border::Zero => (x, y),
                };
                Some(data[y as usize * stride + x as usize * 3 + ch] as f32)
            };
            for ch in 0..3 {
                let g = |x, y| fetch(x, y, ch).unwrap_or(0.0);
                let top = g(x0, y0) + fx * (g(x0 + 1, y0) - g(x0, y0));
                let bot = g(x0, y0 + 1) + fx * (g(x0 + 1, y0 + 1) - g(x0, y0 + 1));
                out[at + ch * channel_step] = (top + fy * (bot - top)) * scale + offset;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::FRAC_PI_2;

    #[test]
    fn alignment_points_up_and_sizes_square() {
        // Scale point straight above the centre: no rotation.
        let r = Roi::from_alignment((100.0, 200.0), (100.0, 150.0), 1.25);
        assert!(r.rotation.abs() < 1e-6);
        assert!((r.w - 125.0).abs() < 1e-4 && r.w == r.h);
        // Scale point to the right: the body lies along +x, rotated by +90°.
        let r = Roi::from_alignment((0.0, 0.0), (10.0, 0.0), 1.0);
        assert!((r.rotation - FRAC_PI_2).abs() < 1e-6, "{}", r.rotation);
    }

    #[test]
    fn to_frame_maps_corners_and_centre() {
        let r = Roi {
            cx: 50.0,
            cy: 40.0,
            w: 20.0,
            h: 10.0,
            rotation: 0.0,
        };
        assert_eq!(r.to_frame(0.5, 0.5), (50.0, 40.0));
        assert_eq!(r.to_frame(0.0, 0.0), (40.0, 35.0));
        let r = Roi {
            rotation: FRAC_PI_2,
            ..r
        };
        let (x, y) = r.to_frame(1.0, 0.5);
        assert!(
            (x - 50.0).abs() < 1e-4 && (y - 50.0).abs() < 1e-4,
            "{x},{y}"
        );
    }

    fn gradient_frame(w: u32, h: u32) -> Frame {
        let mut data = Vec::new();
        for y in 0..h {
            for x in 0..w {
                data.extend_from_slice(&[x as u8, y as u8, 100]);
            }
        }
        Frame::from_rgb(w, h, data, 0.0)
    }

    fn px(out: &[f32], n: usize, i: usize, j: usize) -> [f32; 3] {
        let k = (j * n + i) * 3;
        [out[k], out[k + 1], out[k + 2]]
    }

    /// `warp_into` an `n`×`n` tensor of its own.
    fn warp(
        f: &Frame,
        roi: &Roi,
        n: usize,
        layout: Layout,
        border: Border,
        scale: f32,
        offset: f32,
    ) -> Vec<f32> {
        let mut out = vec![0.0; n * n * 3];
        warp_into(f, roi, n, layout, border, scale, offset, &mut out);
        out
    }

    #[test]
    fn warp_samples_bilinearly_and_borders() {
        let f = gradient_frame(64, 32);
        // A 16×16 ROI starting at (8, 8), into 16×16: one source pixel per tensor pixel.
        let roi = Roi {
            cx: 16.0,
            cy: 16.0,
            w: 16.0,
            h: 16.0,
            rotation: 0.0,
        };
        let out = warp(&f, &roi, 16, Layout::Nhwc, Border::Zero, 1.0, 0.0);
        assert_eq!(px(&out, 16, 0, 0), [8.0, 8.0, 100.0]);
        assert_eq!(px(&out, 16, 5, 3), [13.0, 11.0, 100.0]);
        // Half-pixel steps interpolate.
        let roi2 = Roi {
            w: 8.0,
            h: 8.0,
            ..roi
        };
        let out = warp(&f, &roi2, 16, Layout::Nhwc, Border::Zero, 1.0, 0.0);
        assert_eq!(px(&out, 16, 1, 0), [12.5, 12.0, 100.0]);
        // Letterbox of a wide frame: the top rows fall outside and are black (zero border) or
        // the edge colour (replicate); scale/offset apply to the border too.
        let lb = Roi::letterbox(64, 32);
        let out = warp(&f, &lb, 16, Layout::Nhwc, Border::Zero, 1.0 / 127.5, -1.0);
        assert_eq!(px(&out, 16, 0, 0), [-1.0, -1.0, -1.0]);
        let out = warp(&f, &lb, 16, Layout::Nhwc, Border::Replicate, 1.0, 0.0);
        assert_eq!(px(&out, 16, 0, 0), [0.0, 0.0, 100.0]);
        // The middle row of the letterbox is inside the frame: tensor (4, 8) is frame (16, 16).
        assert_eq!(px(&out, 16, 4, 8), [16.0, 16.0, 100.0]);
    }

    #[test]
    fn channel_first_layout_holds_the_same_values_in_planes() {
        let f = gradient_frame(64, 32);
        let roi = Roi {
            cx: 20.0,
            cy: 14.0,
            w: 12.0,
            h: 12.0,
            rotation: 0.3,
        };
        let hwc = warp(&f, &roi, 8, Layout::Nhwc, Border::Replicate, 0.5, 1.0);
        let chw = warp(&f, &roi, 8, Layout::Nchw, Border::Replicate, 0.5, 1.0);
        for j in 0..8 {
            for i in 0..8 {
                for ch in 0..3 {
                    assert_eq!(hwc[(j * 8 + i) * 3 + ch], chw[ch * 64 + j * 8 + i]);
                }
            }
        }
        // Red grows with x: plane 0 holds red.
        assert!(chw[7] > chw[0]);
    }

    #[test]
    fn rotated_warp_turns_the_picture() {
        let f = gradient_frame(64, 64);
        let roi = Roi {
            cx: 32.0,
            cy: 32.0,
            w: 16.0,
            h: 16.0,
            rotation: FRAC_PI_2,
        };
        let out = warp(&f, &roi, 16, Layout::Nhwc, Border::Replicate, 1.0, 0.0);
        // Moving right in the crop moves down in the frame.
        let px = |i: usize, j: usize| out[(j * 16 + i) * 3 + 1];
        assert!(px(10, 8) > px(2, 8));
        let red = |i: usize, j: usize| out[(j * 16 + i) * 3];
        assert!(red(8, 10) < red(8, 2));
    }
}
