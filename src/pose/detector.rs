//! The BlazePose person detector: SSD anchors, decoding of the raw boxes and keypoints, and
//! MediaPipe's weighted non-maximum suppression.

use super::geometry::Roi;
use crate::model::Layout;

/// Detector input side (pixels).
pub const INPUT: usize = 224;
const NUM_ANCHORS: usize = 2254;
const NUM_COORDS: usize = 12;
/// Minimum detection score (MediaPipe's `min_detection_confidence` default).
pub const MIN_SCORE: f32 = 0.5;
/// The lower score a person just lost may be found again with, where they were: the landmark
/// model's presence score still has to confirm them.
pub const REACQUIRE_MIN_SCORE: f32 = 0.3;
const NMS_IOU: f32 = 0.3;

/// An anchor centre, normalised to the detector input (all anchors are 1×1: fixed size).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anchor {
    pub x: f32,
    pub y: f32,
}

/// MediaPipe's `SsdAnchorsCalculator` for the pose detector: 5 layers, strides 8, 16, 32, 32,
/// 32; layers sharing a stride share a feature map; two anchors per layer and cell (aspect 1
/// and the interpolated scale).
pub fn anchors() -> Vec<Anchor> {
    let strides = [8usize, 16, 32, 32, 32];
    let mut out = Vec::with_capacity(NUM_ANCHORS);
    let mut layer = 0;
    while layer < strides.len() {
        let mut last = layer;
        let mut per_cell = 0;
        while last < strides.len() && strides[last] == strides[layer] {
            per_cell += 2;
            last += 1;
        }
        let fm = INPUT.div_ceil(strides[layer]);
        for y in 0..fm {
            for x in 0..fm {
                for _ in 0..per_cell {
                    out.push(Anchor {
                        x: (x as f32 + 0.5) / fm as f32,
                        y: (y as f32 + 0.5) / fm as f32,
                    });
                }
            }
        }
        layer = last;
    }
    out
}

/// A detected person, coordinates normalised to the detector's (letterboxed) input.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub score: f32,
    /// xmin, ymin, xmax, ymax (the face box).
    pub bbox: [f32; 4],
    /// 0 mid-hip, 1 full-body size/rotation point, 2 mid-shoulder, 3 upper-body point.
    pub keypoints: [(f32, f32); 4],
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Decodes the raw outputs (`boxes`: 2254×12, `logits`: 2254) into detections scoring at
/// least `min_score` (normally [`MIN_SCORE`]), before suppression.
pub fn decode(boxes: &[f32], logits: &[f32], anchors: &[Anchor], min_score: f32) -> Vec<Detection> {
    let s = INPUT as f32;
    let mut out = Vec::new();
    for (i, a) in anchors.iter().enumerate() {
        let score = sigmoid(logits[i].clamp(-100.0, 100.0));
        if score < min_score {
            continue;
        }
        let r = &boxes[i * NUM_COORDS..(i + 1) * NUM_COORDS];
        let (cx, cy) = (r[0] / s + a.x, r[1] / s + a.y);
        let (w, h) = (r[2] / s, r[3] / s);
        let mut keypoints = [(0.0, 0.0); 4];
        for (k, kp) in keypoints.iter_mut().enumerate() {
            *kp = (r[4 + 2 * k] / s + a.x, r[5 + 2 * k] / s + a.y);
        }
        out.push(Detection {
            score,
            bbox: [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0],
            keypoints,
        });
    }
    out
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// MediaPipe's weighted NMS: the best detection absorbs every one overlapping it by more than
/// the IoU threshold, its box and keypoints becoming their score-weighted average.
pub fn weighted_nms(mut dets: Vec<Detection>) -> Vec<Detection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while !dets.is_empty() {
        let top = dets[0].bbox;
        let (cluster, rest): (Vec<_>, Vec<_>) =
            dets.into_iter().partition(|d| iou(&top, &d.bbox) > NMS_IOU);
        dets = rest;
        let total: f32 = cluster.iter().map(|d| d.score).sum();
        let mut merged = Detection {
            score: cluster[0].score,
            bbox: [0.0; 4],
            keypoints: [(0.0, 0.0); 4],
        };
        for d in &cluster {
            let w = d.score / total;
            for k in 0..4 {
                merged.bbox[k] += d.bbox[k] * w;
                merged.keypoints[k].0 += d.keypoints[k].0 * w;
                merged.keypoints[k].1 += d.keypoints[k].1 * w;
            }
        }
        out.push(merged);
    }
    out
}

impl Detection {
    /// The landmark model's ROI for this person in frame pixels: keypoint 0 → 1 aligned to
    /// vertical, scaled by 1.25 (MediaPipe's `PoseDetectionToRoi`). `letterbox` maps the
    /// detector input onto the frame.
    pub fn roi(&self, letterbox: &Roi) -> Roi {
        let c = letterbox.to_frame(self.keypoints[0].0, self.keypoints[0].1);
        let s = letterbox.to_frame(self.keypoints[1].0, self.keypoints[1].1);
        Roi::from_alignment(c, s, 1.25)
    }
}

/// Fills `rect` (frame pixels: x0, y0, x1, y1) of the detector's input `buf` (the frame
/// letterboxed by `letterbox` into [`INPUT`]×[`INPUT`], in `layout`) with `value` in every
/// channel: what lies there is not shown to the detector.
pub fn hide(buf: &mut [f32], layout: Layout, letterbox: &Roi, rect: [f32; 4], value: f32) {
    let n = INPUT;
    debug_assert_eq!(buf.len(), n * n * 3);
    let (pixel_step, channel_step) = layout.strides(n);
    let to_input = |v: f32, centre: f32| (v - centre + letterbox.w / 2.0) * n as f32 / letterbox.w;
    let clamp = |v: f32| (v.max(0.0) as usize).min(n);
    let (i0, i1) = (
        clamp(to_input(rect[0], letterbox.cx).floor()),
        clamp(to_input(rect[2], letterbox.cx).ceil()),
    );
    let (j0, j1) = (
        clamp(to_input(rect[1], letterbox.cy).floor()),
        clamp(to_input(rect[3], letterbox.cy).ceil()),
    );
    for j in j0..j1 {
        for i in i0..i1 {
            let at = (j * n + i) * pixel_step;
            for c in 0..3 {
                buf[at + c * channel_step] = value;
            }
        }
    }
}

/// A tile's side, in the frame's longer sides ([`tiles`]).
pub const TILE_SIDE: f32 = 0.5;

/// Squares of the frame the detector also looks at, one per search in turn with the whole
/// frame, once it has found nobody in it for a while (frame pixels, upright): tiles
/// [`TILE_SIDE`] of the frame's longer side across, overlapping by at least half a tile, so
/// that anyone up to a quarter of the frame's longer side tall lies whole in one of them (six
/// for 4:3 and 16:9 frames). The detector sees its input at 224×224 and boxes people down to
/// about a fifth of it tall; smaller, it finds nobody, or a box of the wrong size turned on
/// its side in whose crop the landmark model finds nobody, or now and then something that is
/// not the person. Measured on the Sports2D clip shrunk into the middle of a 640×480 frame
/// (`pose --people`, the whole frame only → with tiles): people 124–138 pixels tall, someone
/// found in 221 of 230 frames either way (the whole frame finds them); 76–82 pixels, 63 →
/// 172; 68, 9 → 143; 54, none → 120. Zoomed in twice, a person a tenth of the frame's longer
/// side tall is a fifth of the detector's view again.
pub fn tiles(width: u32, height: u32) -> Vec<Roi> {
    let side = TILE_SIDE * width.max(height) as f32;
    let starts = |len: f32| -> Vec<f32> {
        if len <= side {
            return vec![(len - side) / 2.0];
        }
        let n = ((len - side) / (side / 2.0)).ceil() as usize + 1;
        (0..n)
            .map(|i| (len - side) * i as f32 / (n - 1) as f32)
            .collect()
    };
    let (xs, ys) = (starts(width as f32), starts(height as f32));
    ys.iter()
        .flat_map(|&y| {
            xs.iter().map(move |&x| Roi {
                cx: x + side / 2.0,
                cy: y + side / 2.0,
                w: side,
                h: side,
                rotation: 0.0,
            })
        })
        .collect()
}

/// Centre distance between two ROIs, pixels.
pub fn distance(a: &Roi, b: &Roi) -> f32 {
    ((a.cx - b.cx).powi(2) + (a.cy - b.cy).powi(2)).sqrt()
}

/// Whether `r` may be the person last seen at `last`: an ROI of a similar size (within 2×)
/// whose centre lies within 0.75 ROI sides of theirs.
pub fn could_be(r: &Roi, last: &Roi) -> bool {
    let side = last.w.max(1.0);
    r.w >= 0.5 * side && r.w <= 2.0 * side && distance(r, last) <= 0.75 * side
}

/// Whether a detection at `r` is the person tracked at `tracked` (the crop their landmarks
/// came from): about their size, and centred within a quarter of their crop's side of theirs.
/// Someone standing beside them is further away than that (shoulder to shoulder, ~0.3 of a
/// crop side apart).
pub fn covers(tracked: &Roi, r: &Roi) -> bool {
    could_be(r, tracked) && distance(r, tracked) <= 0.25 * tracked.w.max(1.0)
}

/// The ROIs in order of prominence (indices): larger and nearer the middle of the frame
/// first.
pub fn by_prominence(rois: &[(Roi, f32)], width: u32, height: u32) -> Vec<usize> {
    let (mx, my) = (width as f32 / 2.0, height as f32 / 2.0);
    let half_diag = (mx * mx + my * my).sqrt();
    let key = |r: &Roi| {
        let off = ((r.cx - mx).powi(2) + (r.cy - my).powi(2)).sqrt() / half_diag;
        r.w * (1.0 - 0.5 * off.min(1.0))
    };
    let mut order: Vec<usize> = (0..rois.len()).collect();
    order.sort_by(|&a, &b| key(&rois[b].0).total_cmp(&key(&rois[a].0)));
    order
}

/// Picks the person most likely to be the one last seen at `last`: the nearest that
/// [`could_be`] them.
pub fn nearest_to(rois: &[(Roi, f32)], last: &Roi) -> Option<usize> {
    rois.iter()
        .enumerate()
        .filter(|(_, (r, _))| could_be(r, last))
        .min_by(|a, b| distance(&a.1.0, last).total_cmp(&distance(&b.1.0, last)))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hide_blanks_the_frame_rectangle_in_the_letterboxed_input() {
        // A 640×360 frame letterboxed into 224×224: its rows 0..360 are input rows 49..175.
        let letterbox = Roi::letterbox(640, 360);
        for layout in [Layout::Nhwc, Layout::Nchw] {
            let mut buf = vec![0.5f32; INPUT * INPUT * 3];
            // The frame's top-left quarter, and a box reaching past the frame's right edge.
            hide(&mut buf, layout, &letterbox, [0.0, 0.0, 320.0, 180.0], -1.0);
            hide(
                &mut buf,
                layout,
                &letterbox,
                [600.0, 300.0, 900.0, 400.0],
                -1.0,
            );
            let (pixel, channel) = layout.strides(INPUT);
            for j in 0..INPUT {
                for i in 0..INPUT {
                    let want_hidden = (i < 112 && (49..112).contains(&j))
                        || (i >= 210 && (154..189).contains(&j));
                    for c in 0..3 {
                        let v = buf[(j * INPUT + i) * pixel + c * channel];
                        assert_eq!(v == -1.0, want_hidden, "{layout:?} ({i}, {j}) channel {c}");
                    }
                }
            }
        }
    }

    fn first_by_prominence(rois: &[(Roi, f32)], width: u32, height: u32) -> Option<usize> {
        by_prominence(rois, width, height).first().copied()
    }

    #[test]
    fn anchors_match_mediapipe() {
        let a = anchors();
        assert_eq!(a.len(), NUM_ANCHORS);
        assert_eq!(
            a[0],
            Anchor {
                x: 0.5 / 28.0,
                y: 0.5 / 28.0
            }
        );
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2].x, 1.5 / 28.0);
        // The first stride-16 anchor follows 28×28×2 stride-8 ones.
        assert_eq!(
            a[1568],
            Anchor {
                x: 0.5 / 14.0,
                y: 0.5 / 14.0
            }
        );
        // Stride 32: six anchors per cell.
        assert_eq!(a[1568 + 392], a[1568 + 392 + 5]);
        assert_ne!(a[1568 + 392], a[1568 + 392 + 6]);
        assert_eq!(
            a[NUM_ANCHORS - 1],
            Anchor {
                x: 6.5 / 7.0,
                y: 6.5 / 7.0
            }
        );
    }

    fn raw(cx: f32, cy: f32, size: f32) -> Vec<f32> {
        let mut r = vec![cx, cy, size, size];
        for k in 0..4 {
            r.extend_from_slice(&[cx + k as f32, cy - 10.0 * k as f32]);
        }
        r
    }

    #[test]
    fn decodes_relative_to_anchors_and_merges_overlaps() {
        let anchors = anchors();
        let mut boxes = vec![0.0; NUM_ANCHORS * NUM_COORDS];
        let mut logits = vec![-10.0; NUM_ANCHORS];
        // Two overlapping hits on anchors 0 and 1 (same centre), one far away on the last.
        boxes[..12].copy_from_slice(&raw(10.0, 0.0, 40.0));
        boxes[12..24].copy_from_slice(&raw(12.0, 0.0, 40.0));
        logits[0] = 3.0;
        logits[1] = 1.0;
        let last = NUM_ANCHORS - 1;
        boxes[last * 12..].copy_from_slice(&raw(0.0, 0.0, 20.0));
        logits[last] = 2.0;
        let dets = decode(&boxes, &logits, &anchors, MIN_SCORE);
        assert_eq!(dets.len(), 3);
        let d0 = &dets[0];
        assert!((d0.bbox[0] - (anchors[0].x + (10.0 - 20.0) / 224.0)).abs() < 1e-6);
        let merged = weighted_nms(dets);
        assert_eq!(merged.len(), 2);
        let (s0, s1) = (sigmoid(3.0), sigmoid(1.0));
        assert_eq!(merged[0].score, s0);
        let want_x = anchors[0].x + (10.0 * s0 + 12.0 * s1) / (s0 + s1) / 224.0;
        assert!((merged[0].keypoints[0].0 - want_x).abs() < 1e-6);
        assert_eq!(merged[1].score, sigmoid(2.0));
    }

    #[test]
    fn prominence_prefers_large_central_people() {
        let r = |cx, w| Roi {
            cx,
            cy: 240.0,
            w,
            h: w,
            rotation: 0.0,
        };
        // Same size: the central one.
        assert_eq!(
            first_by_prominence(&[(r(50.0, 200.0), 0.9), (r(320.0, 200.0), 0.6)], 640, 480),
            Some(1)
        );
        // Much larger wins even off-centre.
        assert_eq!(
            first_by_prominence(&[(r(100.0, 400.0), 0.9), (r(320.0, 150.0), 0.9)], 640, 480),
            Some(0)
        );
        assert_eq!(first_by_prominence(&[], 640, 480), None);
    }

    #[test]
    fn reacquisition_prefers_the_person_last_seen() {
        let r = |cx, w| Roi {
            cx,
            cy: 240.0,
            w,
            h: w,
            rotation: 0.0,
        };
        let last = r(120.0, 200.0);
        // A bystander in the middle is more prominent, but the lost person is near.
        let rois = [(r(320.0, 260.0), 0.95), (r(150.0, 190.0), 0.7)];
        assert_eq!(first_by_prominence(&rois, 640, 480), Some(0));
        assert_eq!(nearest_to(&rois, &last), Some(1));
        // Nobody where they were (too far, or of another size): no preference.
        assert_eq!(nearest_to(&[(r(320.0, 200.0), 0.9)], &last), None);
        assert_eq!(nearest_to(&[(r(130.0, 60.0), 0.9)], &last), None);
        assert_eq!(nearest_to(&[], &last), None);
    }

    /// Anyone up to a quarter of the frame's longer side across lies whole in some tile, and
    /// every tile lies within the frame (except across a side shorter than a tile).
    #[test]
    fn tiles_cover_the_frame_with_room_for_a_person() {
        for (w, h, n) in [
            (640, 480, 6),
            (1280, 720, 6),
            (640, 360, 6),
            (480, 640, 6),
            (500, 500, 9),
            (1000, 200, 3),
        ] {
            let tiles = tiles(w, h);
            assert_eq!(tiles.len(), n, "{w}×{h}");
            let side = TILE_SIDE * w.max(h) as f32;
            for t in &tiles {
                assert_eq!((t.w, t.h, t.rotation), (side, side, 0.0));
                for (c, len) in [(t.cx, w as f32), (t.cy, h as f32)] {
                    if len >= side {
                        assert!(
                            c - side / 2.0 >= -1e-3 && c + side / 2.0 <= len + 1e-3,
                            "{w}×{h}: {t:?}"
                        );
                    } else {
                        assert!((c - len / 2.0).abs() < 1e-3, "{w}×{h}: {t:?}");
                    }
                }
            }
            let person = side / 2.0;
            let inside = |t: &Roi, x: f32, y: f32, len_x: f32, len_y: f32| {
                let fits = |c: f32, lo: f32, size: f32, len: f32| {
                    // A side shorter than a tile is covered whole.
                    len < side
                        || (lo >= c - side / 2.0 - 1e-3 && lo + size <= c + side / 2.0 + 1e-3)
                };
                fits(t.cx, x, person.min(len_x), len_x) && fits(t.cy, y, person.min(len_y), len_y)
            };
            let (fw, fh) = (w as f32, h as f32);
            let steps = |len: f32| (0..=20).map(move |i| (len - person).max(0.0) * i as f32 / 20.0);
            for y in steps(fh) {
                for x in steps(fw) {
                    assert!(
                        tiles.iter().any(|t| inside(t, x, y, fw, fh)),
                        "{w}×{h}: a person at ({x}, {y}) in no tile"
                    );
                }
            }
        }
    }
}
