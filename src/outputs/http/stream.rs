//! The WebSocket `/predict/stream`: JPEG/PNG frames in (binary, or base64 text), one JSON
//! answer per frame out. Each connection is a video of its own: frames are tracked and
//! classified in order, timed by their arrival, through the pipeline's analyser; the events
//! in an answer are those the daemon would publish for that frame.

use std::sync::Arc;
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use hyper::Request;
use hyper::Response;
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::AppState;
use super::auth::authorize;
use super::error::{ApiError, Body};
use super::predict::{landmark_rows, stage_ms};
use super::slots::slot;
use crate::events::{self, Clock, EventKind};
use crate::frame::{Frame, decode_image};
use crate::pipeline::{Analyser, Models};
use crate::timings::Timings;

/// One WebSocket connection's analyser: frames are a video, in order.
pub struct StreamSession {
    analyser: Analyser,
    started: Instant,
    last_t: f64,
}

impl StreamSession {
    pub fn new(models: &Models) -> Result<StreamSession, ApiError> {
        Ok(StreamSession {
            analyser: Analyser::for_video(models, models.decoder.clone())
                .map_err(ApiError::internal)?
                .live(),
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
        let a = self
            .analyser
            .analyse(&frame, &mut timings)
            .map_err(ApiError::internal)?;
        let clock = Clock {
            t,
            wall: frame.wall,
        };
        let state = events::state_of(a.step());
        let evs = events::of_people(
            a.people
                .iter()
                .map(|p| (p.person, &p.step, p.pose.is_some())),
            &a.gone,
            clock,
        );
        let events: Vec<Value> = evs
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Started {
                    activity, start, ..
                } => Some(
                    json!({"phase": "start", "activity": activity, "start": start,
                    "person": e.person}),
                ),
                EventKind::Ended(s) => Some(json!({"phase": "end", "activity": s.activity,
                    "start": s.start, "end": s.end, "person": e.person})),
                _ => None,
            })
            .collect();
        let r3 = |v: f64| (v * 1000.0).round() / 1000.0;
        Ok(json!({
            "t": r3(t),
            "activity": state.activity,
            "confidence": r3(state.confidence as f64),
            "at": r3(state.at),
            "landmarks": a.pose().map(|p| landmark_rows(&p.landmarks)),
            "events": events,
            "people": a.people.iter().filter(|p| p.pose.is_some()).map(|p| json!({
                "person": p.person,
                "activity": p.in_view_activity(),
                "confidence": r3(p.step.frame.confidence as f64),
                "landmarks": p.pose.as_ref().map(|q| landmark_rows(&q.landmarks)),
            })).collect::<Vec<_>>(),
            "tug": a.people.iter().find_map(|p| p.step.tug.clone()),
            "timings_ms": stage_ms(&timings),
        }))
    }
}

/// The WebSocket stream: binary JPEG/PNG frames (or base64 text) in, one JSON per frame out.
pub(super) async fn stream(
    state: Arc<AppState>,
    mut req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    authorize(&state, &req)?;
    if !hyper_tungstenite::is_upgrade_request(&req) {
        return Err(ApiError::bad_request(
            "websocket_required",
            "connect with a WebSocket",
        ));
    }
    // A frame is an upload: no message (or frame) larger than `api.max_upload_mb`.
    let limit = usize::try_from(state.max_upload).unwrap_or(usize::MAX);
    let config = hyper_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    let (response, socket) = hyper_tungstenite::upgrade(&mut req, Some(config))
        .map_err(|e| ApiError::bad_request("websocket_handshake", e.to_string()))?;
    tokio::spawn(async move {
        if let Err(e) = serve_stream(state, socket).await {
            tracing::debug!(error = %e, "WebSocket stream ended");
        }
    });
    Ok(response)
}

async fn serve_stream(
    state: Arc<AppState>,
    socket: hyper_tungstenite::HyperWebsocket,
) -> anyhow::Result<()> {
    use base64::Engine;
    use hyper_tungstenite::tungstenite::Message;
    let mut ws = socket.await?;
    let models = state.models.clone();
    let session = tokio::task::spawn_blocking(move || StreamSession::new(&models)).await?;
    let mut session = Some(session.map_err(|e| anyhow::anyhow!(e.message))?);
    while let Some(msg) = ws.next().await {
        let bytes = match msg? {
            Message::Binary(b) => b.to_vec(),
            Message::Text(t) => {
                let t = t.as_str().trim();
                let t = t.split_once("base64,").map_or(t, |(_, b)| b);
                match base64::engine::general_purpose::STANDARD.decode(t) {
                    Ok(b) => b,
                    Err(e) => {
                        let err =
                            json!({"error": {"code": "bad_base64", "message": e.to_string()}});
                        ws.send(Message::text(err.to_string())).await?;
                        continue;
                    }
                }
            }
            Message::Close(_) => break,
            _ => continue,
        };
        let reply = match slot(&state) {
            Err(e) => json!({"error": {"code": e.code, "message": e.message}}),
            Ok(permit) => {
                let mut s = session
                    .take()
                    .expect("session is returned after each frame");
                let (s, r) = tokio::task::spawn_blocking(move || {
                    crate::threads::lower_priority(crate::threads::REQUEST_NICE);
                    let _permit = permit;
                    let r = s.frame(&bytes);
                    (s, r)
                })
                .await?;
                session = Some(s);
                match r {
                    Ok(v) => v,
                    Err(e) => json!({"error": {"code": e.code, "message": e.message}}),
                }
            }
        };
        ws.send(Message::text(reply.to_string())).await?;
    }
    Ok(())
}
