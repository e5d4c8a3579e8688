//! The predict endpoints: `/predict/frame` (a still image) and `/predict/video` (a whole clip
//! held in memory). Both run the offline analysis (the pipeline's analyser) on the blocking
//! pool, never on the async threads, and shape its result as the contract's JSON.

use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::{Value, json};

use super::AppState;
use super::auth::authorize;
use super::body::{form_file, read_body};
use super::error::ApiError;
use super::slots::{run_blocking, slot};
use crate::capture::gst::FileFrames;
use crate::classify::DecoderConfig;
use crate::frame::decode_image;
use crate::landmarks::{NUM_LANDMARKS, Point};
use crate::offline::{OfflineError, analyse};
use crate::pipeline::Models;
use crate::timings::Timings;

/// Landmarks as `[x, y, z, visibility]` rows, to 5 decimals.
pub(super) fn landmark_rows(lm: &[Point; NUM_LANDMARKS]) -> Value {
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
            .map(|(c, v)| (c.clone(), json!(round3(*v as f64))))
            .collect(),
    )
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
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

fn internal_or(e: OfflineError, code: &'static str) -> ApiError {
    match e {
        OfflineError::Model(m) => ApiError::internal(m),
        other => ApiError::unprocessable(code, other.to_string()),
    }
}

/// A still image: its pose and the activity the decoder's rules give it (see
/// [`analyse::image`]).
fn frame(models: &Models, bytes: &[u8], timings: &mut Timings) -> Result<Value, ApiError> {
    let start = Instant::now();
    let img =
        decode_image(bytes).map_err(|e| ApiError::unprocessable("bad_image", e.to_string()))?;
    timings.record("decode", start.elapsed());
    let (width, height) = img.dimensions();
    let still = analyse::image(models, img, timings).map_err(|e| internal_or(e, "bad_image"))?;
    Ok(json!({
        "prediction": {
            "activity": still.activity,
            "confidence": round3(still.confidence as f64),
            "all_probabilities": probabilities(&still.classes, &still.probabilities),
        },
        "landmarks": still.pose().map(|p| landmark_rows(&p.landmarks)),
        "people": still.people.iter().map(|p| json!({
            "person": p.person,
            "score": round3(p.score as f64),
            "landmarks": landmark_rows(&p.landmarks),
        })).collect::<Vec<_>>(),
        "metadata": {
            "processing_time_ms": ms(start.elapsed()),
            "landmarks_detected": still.pose().is_some(),
            "people_count": still.people.len(),
            "width": width,
            "height": height,
        },
    }))
}

/// A whole video held in memory: every `frame_skip`-th frame analysed, its annotation, and
/// the overall activity (the one covering the most frames among real classes).
fn video(
    models: &Models,
    bytes: Arc<[u8]>,
    frame_skip: usize,
    confidence_threshold: f32,
    timings: &mut Timings,
) -> Result<Value, ApiError> {
    let start = Instant::now();
    let frames = FileFrames::from_memory(bytes)
        .map_err(|e| ApiError::unprocessable("bad_video", format!("cannot decode video: {e}")))?;
    let decoder = DecoderConfig {
        confidence_threshold,
        ..models.decoder.clone()
    };
    let every = frame_skip.max(1);
    let done = analyse::annotate(
        models,
        decoder,
        &[],
        |analyser, each| analyse::frames(analyser, frames, |i, _| i % every == 0, each),
        |_, t| timings.extend(t),
    )
    .map_err(|e| internal_or(e, "bad_video"))?;
    let doc = &done.annotation;
    // In class order on a tie (a BTreeMap by name would favour the alphabet; the first
    // maximum of the classes' own order is deterministic and documented).
    let mut counts: Vec<(&str, (usize, f64))> =
        doc.classes.iter().map(|c| (c.as_str(), (0, 0.0))).collect();
    for f in &doc.frames {
        if let Some((_, e)) = counts.iter_mut().find(|(c, _)| *c == f.activity) {
            e.0 += 1;
            e.1 += f.confidence as f64;
        }
    }
    let most = counts.iter().map(|(_, (n, _))| *n).max().unwrap_or(0);
    let best = counts.iter().find(|(_, (n, _))| most > 0 && *n == most);
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
    let n = done.frames;
    Ok(json!({
        "prediction": {
            "activity": activity,
            "confidence": round3(confidence),
            "frame_predictions": frame_predictions,
            "temporal_consistency": round3(consistency),
        },
        "segments": doc.segments,
        "tug": doc.tug,
        "metadata": {
            "processing_time_ms": ms(start.elapsed()),
            "frames_processed": n,
            "frame_skip": frame_skip,
            "landmarks_detected_avg": round3(done.with_person as f64 / n.max(1) as f64),
        },
    }))
}

/// An authorised request's whole body (under the upload limit).
async fn upload(
    state: &AppState,
    req: Request<Incoming>,
) -> Result<(hyper::http::request::Parts, bytes::Bytes), ApiError> {
    authorize(state, &req)?;
    read_body(state, req).await
}

/// Runs request inference `f` in a prediction slot (503 when none is free), on the blocking
/// pool at a low priority; its step timings go to `timings`. Everything cheap is checked
/// before this: a slot is only taken for inference.
async fn infer(
    state: &Arc<AppState>,
    timings: &mut Timings,
    f: impl FnOnce(&Models, &mut Timings) -> Result<Value, ApiError> + Send + 'static,
) -> Result<Value, ApiError> {
    let permit = slot(state)?;
    let st = state.clone();
    let (v, t) = run_blocking(move || {
        let _permit = permit;
        let mut t = Timings::default();
        f(&st.models, &mut t).map(|v| (v, t))
    })
    .await?;
    *timings = t;
    Ok(v)
}

pub(super) async fn predict_frame(
    state: Arc<AppState>,
    req: Request<Incoming>,
    timings: &mut Timings,
) -> Result<Value, ApiError> {
    let (parts, body) = upload(&state, req).await?;
    let (file, _) = form_file(&parts, &body, "image_file")?;
    if !crate::frame::looks_like_image(file.data) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "image_file must be a JPEG or PNG image",
        ));
    }
    // The image stays where the body put it (no copy).
    let data = body.slice_ref(file.data);
    infer(&state, timings, move |models, t| frame(models, &data, t)).await
}

/// A whole clip. Judged by its content, never its name: anything GStreamer can decode (any
/// container and codec its plugins know; browsers upload `MediaRecorder` clips as `blob`,
/// with no extension at all); what it cannot decode, or that holds no video, is 422
/// `bad_video`. (The name never protected the decoders: the bytes went to decodebin whatever
/// the file was called.)
pub(super) async fn predict_video(
    state: Arc<AppState>,
    req: Request<Incoming>,
    timings: &mut Timings,
) -> Result<Value, ApiError> {
    let (parts, body) = upload(&state, req).await?;
    let (file, rest) = form_file(&parts, &body, "video_file")?;
    let mut frame_skip = 1usize;
    let mut threshold = state.models.decoder.confidence_threshold;
    if let Some(opts) = rest.iter().find(|p| p.name == "options") {
        let v: Value = serde_json::from_slice(opts.data).map_err(|e| {
            ApiError::unprocessable("bad_options", format!("options is not JSON: {e}"))
        })?;
        if let Some(fs) = v.get("frame_skip") {
            frame_skip = fs
                .as_u64()
                .filter(|n| (1..=30).contains(n))
                .ok_or_else(|| {
                    ApiError::unprocessable(
                        "bad_options",
                        "frame_skip must be an integer from 1 to 30",
                    )
                })? as usize;
        }
        if let Some(ct) = v.get("confidence_threshold") {
            threshold = ct
                .as_f64()
                .filter(|c| *c > 0.0 && *c < 1.0)
                .ok_or_else(|| {
                    ApiError::unprocessable(
                        "bad_options",
                        "confidence_threshold must be between 0 and 1",
                    )
                })? as f32;
        }
    }
    let data: Arc<[u8]> = Arc::from(file.data);
    drop(body);
    infer(&state, timings, move |models, t| {
        video(models, data, frame_skip, threshold, t)
    })
    .await
}
