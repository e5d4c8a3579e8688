//! Landmark frames: the contract between pose estimation and everything after it, and its
//! JSON Lines form (`activityd pose` writes it, `activityd classify` reads it).
//!
//! ```json
//! {"t": 0.0333, "width": 1280, "height": 720, "landmarks": [[x, y, z, visibility], ...33]}
//! ```
//! `x`, `y` are normalised to the image, `z` is MediaPipe's relative depth (same scale as `x`),
//! `visibility` is 0..1; `"landmarks": null` means nobody was found.

use std::io::BufRead;

use serde::{Deserialize, Serialize};

/// BlazePose's landmark count and order (0 nose … 32 right foot index).
pub const NUM_LANDMARKS: usize = 33;

/// Names in BlazePose order.
pub const NAMES: [&str; NUM_LANDMARKS] = [
    "nose",
    "left_eye_inner",
    "left_eye",
    "left_eye_outer",
    "right_eye_inner",
    "right_eye",
    "right_eye_outer",
    "left_ear",
    "right_ear",
    "mouth_left",
    "mouth_right",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_pinky",
    "right_pinky",
    "left_index",
    "right_index",
    "left_thumb",
    "right_thumb",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_heel",
    "right_heel",
    "left_foot_index",
    "right_foot_index",
];

/// One point: normalised image position, relative depth, visibility.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Point {
    pub x: f32,
    pub y: f32,
    pub z: f32,
    pub visibility: f32,
}

/// The pose found in one frame, or none.
#[derive(Debug, Clone, PartialEq)]
pub struct LandmarkFrame {
    /// Seconds.
    pub t: f64,
    pub width: u32,
    pub height: u32,
    pub landmarks: Option<[Point; NUM_LANDMARKS]>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    t: f64,
    width: u32,
    height: u32,
    landmarks: Option<Vec<[f32; 4]>>,
}

impl Serialize for LandmarkFrame {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let round = |v: f32| (v as f64 * 1e5).round() / 1e5;
        Wire {
            t: (self.t * 1e6).round() / 1e6,
            width: self.width,
            height: self.height,
            landmarks: self.landmarks.map(|lm| {
                lm.iter()
                    .map(|p| {
                        [
                            round(p.x) as f32,
                            round(p.y) as f32,
                            round(p.z) as f32,
                            round(p.visibility) as f32,
                        ]
                    })
                    .collect()
            }),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for LandmarkFrame {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let w = Wire::deserialize(d)?;
        if !w.t.is_finite() || w.t < 0.0 {
            return Err(D::Error::custom(format!(
                "t must be a time in seconds ≥ 0, got {}",
                w.t
            )));
        }
        let landmarks = match w.landmarks {
            None => None,
            Some(v) if v.len() != NUM_LANDMARKS => {
                return Err(D::Error::custom(format!(
                    "landmarks must have {NUM_LANDMARKS} rows, got {}",
                    v.len()
                )));
            }
            Some(v) => {
                let mut out = [Point::default(); NUM_LANDMARKS];
                for (i, r) in v.iter().enumerate() {
                    // Normalised coordinates far outside the picture are not a pose.
                    if r.iter().any(|x| !x.is_finite() || x.abs() > 1e4) {
                        return Err(D::Error::custom(format!(
                            "landmark {i} is not a finite value within ±10000"
                        )));
                    }
                    out[i] = Point {
                        x: r[0],
                        y: r[1],
                        z: r[2],
                        visibility: r[3].clamp(0.0, 1.0),
                    };
                }
                Some(out)
            }
        };
        Ok(LandmarkFrame {
            t: w.t,
            width: w.width,
            height: w.height,
            landmarks,
        })
    }
}

/// A bad line in a JSON Lines input.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("line {line}: {message}")]
    Parse { line: usize, message: String },
    #[error("line {line}: time {t} is not after the previous frame's {prev}")]
    TimeOrder { line: usize, t: f64, prev: f64 },
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads landmark frames, one JSON object per line (blank lines are skipped). Times must
/// increase.
pub fn read_jsonl(r: impl BufRead) -> Result<Vec<LandmarkFrame>, ReadError> {
    let mut out: Vec<LandmarkFrame> = Vec::new();
    for (i, line) in r.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let f: LandmarkFrame = serde_json::from_str(&line).map_err(|e| ReadError::Parse {
            line: i + 1,
            message: e.to_string(),
        })?;
        if let Some(prev) = out.last()
            && f.t <= prev.t
        {
            return Err(ReadError::TimeOrder {
                line: i + 1,
                t: f.t,
                prev: prev.t,
            });
        }
        out.push(f);
    }
    Ok(out)
}

/// The per-frame `"label"` of a labelled landmark file (the synthetic and motion-capture data
/// carry the true activity in it), one entry per non-blank line in the order of
/// [`read_jsonl`]'s frames; `None` where a line has no string label.
pub fn read_labels(text: &str) -> Vec<Option<String>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v["label"].as_str().map(String::from))
        })
        .collect()
}

/// A real body for unit tests (a walking motion-capture frame), shifted sideways by `dx`.
#[cfg(test)]
pub(crate) fn test_body(dx: f32) -> [Point; NUM_LANDMARKS] {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/mocap/deepmimic_walk_front.jsonl"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let frames = read_jsonl(text.as_bytes()).unwrap();
    let mut lm = frames.iter().find_map(|f| f.landmarks).unwrap();
    for p in &mut lm {
        p.x += dx;
    }
    lm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_frames() {
        let text = format!(
            "{}\n\n{}\n",
            line(0.0, "null").replace('}', r#", "label": "turn"}"#),
            line(0.1, "null")
        );
        assert_eq!(read_jsonl(text.as_bytes()).unwrap().len(), 2);
        assert_eq!(read_labels(&text), vec![Some("turn".to_string()), None]);
    }

    fn line(t: f64, lm: &str) -> String {
        format!(r#"{{"t": {t}, "width": 640, "height": 480, "landmarks": {lm}}}"#)
    }

    fn rows(n: usize) -> String {
        format!("[{}]", vec!["[0.5, 0.25, -0.1, 0.9]"; n].join(","))
    }

    #[test]
    fn round_trips() {
        let text = [line(0.0, &rows(33)), line(0.033, "null")].join("\n");
        let frames = read_jsonl(text.as_bytes()).unwrap();
        assert_eq!(frames.len(), 2);
        let p = frames[0].landmarks.unwrap()[7];
        assert_eq!((p.x, p.y, p.z, p.visibility), (0.5, 0.25, -0.1, 0.9));
        assert!(frames[1].landmarks.is_none());
        let back = serde_json::to_string(&frames[0]).unwrap();
        assert_eq!(
            serde_json::from_str::<LandmarkFrame>(&back).unwrap(),
            frames[0]
        );
    }

    #[test]
    fn bad_lines_name_their_number() {
        let cases = [
            (format!("{}\n{{oops", line(0.0, "null")), "line 2:"),
            (
                format!("{}\n\n{}", line(0.0, "null"), line(0.1, &rows(32))),
                "line 3: landmarks must have 33 rows",
            ),
            (
                format!("{}\n{}", line(0.5, "null"), line(0.1, "null")),
                "line 2: time 0.1",
            ),
            (line(-1.0, "null"), "line 1: t must be"),
        ];
        for (text, want) in cases {
            let e = read_jsonl(text.as_bytes()).unwrap_err().to_string();
            assert!(e.starts_with(want), "{e:?} does not start with {want:?}");
        }
    }
}
