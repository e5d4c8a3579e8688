//! Draws a pose skeleton over an image, so a person can check what the pose engine saw.

use image::{Rgb, RgbImage};

use crate::landmarks::{NUM_LANDMARKS, Point};

/// BlazePose's skeleton edges (MediaPipe's `POSE_CONNECTIONS`).
pub const CONNECTIONS: [(usize, usize); 35] = [
    (0, 1),
    (1, 2),
    (2, 3),
    (3, 7),
    (0, 4),
    (4, 5),
    (5, 6),
    (6, 8),
    (9, 10),
    (11, 12),
    (11, 13),
    (13, 15),
    (15, 17),
    (15, 19),
    (15, 21),
    (17, 19),
    (12, 14),
    (14, 16),
    (16, 18),
    (16, 20),
    (16, 22),
    (18, 20),
    (11, 23),
    (12, 24),
    (23, 24),
    (23, 25),
    (24, 26),
    (25, 27),
    (26, 28),
    (27, 29),
    (28, 30),
    (29, 31),
    (30, 32),
    (27, 31),
    (28, 32),
];

fn dot(img: &mut RgbImage, x: f32, y: f32, r: f32, c: Rgb<u8>) {
    let (w, h) = (img.width() as i32, img.height() as i32);
    let ri = r.ceil() as i32;
    for dy in -ri..=ri {
        for dx in -ri..=ri {
            if (dx * dx + dy * dy) as f32 > r * r {
                continue;
            }
            let (px, py) = (x as i32 + dx, y as i32 + dy);
            if px >= 0 && py >= 0 && px < w && py < h {
                img.put_pixel(px as u32, py as u32, c);
            }
        }
    }
}

fn line(img: &mut RgbImage, a: (f32, f32), b: (f32, f32), r: f32, c: Rgb<u8>) {
    let steps = ((b.0 - a.0).abs().max((b.1 - a.1).abs()) / (r * 0.5).max(0.5)).ceil() as usize;
    for i in 0..=steps.min(20_000) {
        let t = if steps == 0 {
            0.0
        } else {
            i as f32 / steps as f32
        };
        dot(img, a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1), r, c);
    }
}

/// Draws landmarks with visibility ≥ 0.5 and the edges between them. The person's left side is
/// orange, the right side blue.
pub fn draw_skeleton(img: &mut RgbImage, lm: &[Point; NUM_LANDMARKS]) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let r = (w.max(h) / 400.0).max(1.5);
    let px = |p: &Point| (p.x * w, p.y * h);
    let side = |i: usize| {
        if i == 0 {
            Rgb([255, 255, 255])
        } else if [1, 2, 3, 7, 9].contains(&i) || (i >= 11 && i % 2 == 1) {
            Rgb([255, 140, 0])
        } else {
            Rgb([0, 150, 255])
        }
    };
    for &(a, b) in &CONNECTIONS {
        if lm[a].visibility >= 0.5 && lm[b].visibility >= 0.5 {
            line(img, px(&lm[a]), px(&lm[b]), r * 0.6, Rgb([235, 235, 235]));
        }
    }
    for (i, p) in lm.iter().enumerate() {
        if p.visibility >= 0.5 {
            let (x, y) = px(p);
            dot(img, x, y, r * 1.6, Rgb([0, 0, 0]));
            dot(img, x, y, r * 1.1, side(i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_only_visible_parts() {
        let mut img = RgbImage::new(100, 100);
        let mut lm = [Point::default(); NUM_LANDMARKS];
        lm[11] = Point {
            x: 0.2,
            y: 0.5,
            z: 0.0,
            visibility: 0.9,
        };
        lm[12] = Point {
            x: 0.8,
            y: 0.5,
            z: 0.0,
            visibility: 0.9,
        };
        lm[0] = Point {
            x: 0.5,
            y: 0.1,
            z: 0.0,
            visibility: 0.1,
        };
        draw_skeleton(&mut img, &lm);
        assert_ne!(img.get_pixel(50, 50), &Rgb([0, 0, 0]), "edge 11-12 drawn");
        assert_eq!(
            img.get_pixel(50, 10),
            &Rgb([0, 0, 0]),
            "invisible nose not drawn"
        );
    }
}
