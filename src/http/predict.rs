//! The inference behind the predict endpoints, as blocking functions (run on tokio's
//! blocking pool, never on the async threads): a still image, a whole video, and one frame of
//! a WebSocket stream.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use super::ApiError;
use crate::capture::gst::FileFrames;
use crate::classify::{ActivityModel, Annotator, Classifier, DecoderConfig, Label};
use crate::features::{RATE_HZ, WINDOW_S};
use crate::frame::{Frame, decode_image};
use crate::landmarks::{LandmarkFrame, NUM_LANDMARKS, Point};
use crate::offline;
use crate::pipeline::Timings;
use crate::pose::{Mode, PoseEstimator, PoseModels};

/// The models and settings prediction needs.
#[derive(Clone)]
pub struct Predictor {
    pub pose: PoseModels,
    pub activity: ActivityModel,
    pub decoder: DecoderConfig,
}

fn landmark_rows(lm: &[Point; NUM_LANDMARKS]) -> Value {
    let r = |v: f32| (v as f64 * 1e5).round() / 1e5;
    Value::Array(
        lm.iter()
            .map(|p| json!([r(p.x), r(p.y), r(p.z), r(p.visibility)]))
            .collect(),
    )
}

fn probabilities(classes: &[String], p: &[f32]) -> Value {
    Value::Object(
        classes
            .iter()
            .zip(p)
            .map(|(c, v)| (c.clone(), json!(((*v as f64) * 1000.0).round() / 1000.0)))
            .collect(),
    )
}

fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}

/// Per-step timings for the request log.
pub fn stage_ms(t: &Timings) -> Value {
    let mut m = serde_json::Map::new();
    for (name, d) in &t.steps {
        let e = m.entry(name.to_string()).or_insert(json!(0.0));
        *e = json!(e.as_f64().unwrap_or(0.0) + ms(*d));
    }
    Value::Object(m)
}

impl Predictor {
    /// A still image. A single picture shows no movement, so the activity is what the model
    /// makes of this pose held still for its two-second window (usually `still`).
    pub fn frame(&self, bytes: &[u8], timings: &mut Timings) -> Result<Value, ApiError> {
        let start = Instant::now();
        let img =
            decode_image(bytes).map_err(|e| ApiError::unprocessable("bad_image", e.to_string()))?;
        timings.record("decode", start.elapsed());
        let frame = Frame::from_image(img);
        let mut est = PoseEstimator::new(&self.pose, Mode::Image).map_err(ApiError::internal)?;
        let pose = est
            .estimate(&frame, 0.0, timings)
            .map_err(ApiError::internal)?;
        let mut cls =
            Classifier::new(&self.activity, self.decoder.clone()).map_err(ApiError::internal)?;
        let (activity, confidence, probs) = match &pose {
            None => (
                "no_person".to_string(),
                0.0,
                Value::Object(Default::default()),
            ),
            Some(p) => {
                let n = (WINDOW_S * RATE_HZ) as usize;
                let mut last = None;
                for i in 0..=n {
                    let lf = LandmarkFrame {
                        t: i as f64 / RATE_HZ,
                        width: frame.width,
                        height: frame.height,
                        landmarks: Some(p.landmarks),
                    };
                    last = Some(cls.step(&lf, timings).map_err(ApiError::internal)?);
                }
                let step = last.expect("at least one frame");
                let p = &step.frame.probabilities;
                let (best, conf) = p
                    .iter()
                    .copied()
                    .enumerate()
                    .fold((0, 0.0f32), |b, (i, v)| if v > b.1 { (i, v) } else { b });
                let name = if conf >= self.decoder.confidence_threshold {
                    cls.classes()[best].clone()
                } else {
                    "uncertain".to_string()
                };
                (name, conf, probabilities(cls.classes(), p))
            }
        };
        Ok(json!({
            "prediction": {
                "activity": activity,
                "confidence": ((confidence as f64) * 1000.0).round() / 1000.0,
                "all_probabilities": probs,
            },
            "landmarks": pose.as_ref().map(|p| landmark_rows(&p.landmarks)),
            "metadata": {
                "processing_time_ms": ms(start.elapsed()),
                "landmarks_detected": pose.is_some(),
                "width": frame.width,
                "height": frame.height,
            },
        }))
    }

    /// A whole video held in memory: pose on every `frame_skip`-th frame, activities,
    /// segments, and the overall activity.
    pub fn video(
        &self,
        bytes: Arc<[u8]>,
        frame_skip: usize,
        confidence_threshold: f32,
        timings: &mut Timings,
    ) -> Result<Value, ApiError> {
        let start = Instant::now();
        let frames = FileFrames::from_memory(bytes).map_err(|e| {
            ApiError::unprocessable("bad_video", format!("cannot decode video: {e}"))
        })?;
        let cfg = DecoderConfig {
            confidence_threshold,
            ..self.decoder.clone()
        };
        let mut ann = Annotator::new(&self.activity, cfg).map_err(ApiError::internal)?;
        let mut with_person = 0usize;
        let mut err = None;
        let every = frame_skip.max(1);
        let n = offline::pose_frames(
            &self.pose,
            frames,
            |i, _| i % every == 0,
            |f, pose, t| {
                for (name, d) in &t.steps {
                    timings.record(name, *d);
                }
                with_person += usize::from(pose.is_some());
                if let Err(e) = ann.push_pose(f.t, (f.width, f.height), pose, timings) {
                    err.get_or_insert(e);
                }
            },
        )
        .map_err(|e| match e {
            offline::OfflineError::Model(m) => ApiError::internal(m),
            other => ApiError::unprocessable("bad_video", other.to_string()),
        })?;
        if let Some(e) = err {
            return Err(ApiError::internal(e));
        }
        let doc = ann.finish();
        // The overall activity: the one covering the most frames among real classes.
        let mut counts: std::collections::HashMap<&str, (usize, f64)> = Default::default();
        for f in &doc.frames {
            if f.activity != "uncertain" && f.activity != "no_person" {
                let e = counts.entry(f.activity.as_str()).or_default();
                e.0 += 1;
                e.1 += f.confidence as f64;
            }
        }
        let best = counts.iter().max_by_key(|(_, (c, _))| *c);
        let (activity, confidence, consistency) = match best {
            Some((a, (c, s))) => (
                a.to_string(),
                s / *c as f64,
                *c as f64 / doc.frames.len().max(1) as f64,
            ),
            None => {
                let any = doc.frames.iter().any(|f| f.activity == "uncertain");
                (
                    if any { "uncertain" } else { "no_person" }.to_string(),
                    0.0,
                    0.0,
                )
            }
        };
        let frame_predictions: Vec<Value> = doc
            .frames
            .iter()
            .map(|f| json!({"t": f.t, "activity": f.activity, "confidence": f.confidence}))
            .collect();
        Ok(json!({
            "prediction": {
                "activity": activity,
                "confidence": (confidence * 1000.0).round() / 1000.0,
                "frame_predictions": frame_predictions,
                "temporal_consistency": (consistency * 1000.0).round() / 1000.0,
            },
            "segments": doc.segments,
            "tug": doc.tug,
            "metadata": {
                "processing_time_ms": ms(start.elapsed()),
                "frames_processed": n,
                "frame_skip": frame_skip,
                "landmarks_detected_avg": ((with_person as f64 / n.max(1) as f64) * 1000.0).round() / 1000.0,
            },
        }))
    }
}

/// One WebSocket connection's tracker and classifier: frames are a video, in order.
pub struct StreamSession {
    estimator: PoseEstimator,
    classifier: Classifier,
    started: Instant,
    last_t: f64,
}

impl StreamSession {
    pub fn new(p: &Predictor) -> Result<StreamSession, ApiError> {
        Ok(StreamSession {
            estimator: PoseEstimator::new(&p.pose, Mode::Video).map_err(ApiError::internal)?,
            classifier: Classifier::new(&p.activity, p.decoder.clone())
                .map_err(ApiError::internal)?,
            started: Instant::now(),
            last_t: -1.0,
        })
    }

    /// One frame (JPEG/PNG bytes) of the stream, timed by its arrival.
    pub fn frame(&mut self, bytes: &[u8]) -> Result<Value, ApiError> {
        let img =
            decode_image(bytes).map_err(|e| ApiError::unprocessable("bad_image", e.to_string()))?;
        let mut frame = Frame::from_image(img);
        // Strictly increasing times even for frames arriving together.
        let t = self.started.elapsed().as_secs_f64().max(self.last_t + 1e-3);
        self.last_t = t;
        frame.t = t;
        let mut timings = Timings::default();
        let pose = self
            .estimator
            .estimate(&frame, t, &mut timings)
            .map_err(ApiError::internal)?;
        let step = self
            .classifier
            .step_pose(t, (frame.width, frame.height), pose.as_ref(), &mut timings)
            .map_err(ApiError::internal)?;
        let events: Vec<Value> = step
            .changes
            .iter()
            .filter_map(|c| match c {
                crate::classify::Change::Started {
                    label: Label::Class(i),
                    at,
                } => Some(json!({"phase": "start", "activity": self.classifier.classes()[*i], "start": at})),
                crate::classify::Change::Ended(s) => {
                    Some(json!({"phase": "end", "activity": s.activity, "start": s.start, "end": s.end}))
                }
                _ => None,
            })
            .collect();
        Ok(json!({
            "t": (t * 1000.0).round() / 1000.0,
            "activity": step.frame.activity,
            "confidence": ((step.frame.confidence as f64) * 1000.0).round() / 1000.0,
            "landmarks": pose.as_ref().map(|p| landmark_rows(&p.landmarks)),
            "events": events,
            "tug": step.tug,
            "timings_ms": stage_ms(&timings),
        }))
    }
}
