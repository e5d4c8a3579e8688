//! The HTTP API for technicians (hyper 1.x on the tokio runtime): `/health`, `/model/info`,
//! `/metrics`, and the predict endpoints (`/predict/frame`, `/predict/video`, the WebSocket
//! `/predict/stream`).
//!
//! Uploads are read into memory under a size limit (a declared `Content-Length` over it is
//! refused with 413 before reading), parsed in memory and decoded in memory — no temporary
//! files. Inference for requests runs on tokio's blocking pool, at most
//! `max_concurrent_predictions` at a time; beyond that the server answers 503 with
//! `Retry-After` instead of queueing. With a token configured, the predict endpoints need
//! `Authorization: Bearer <token>` (compared in constant time); health and metrics stay open.
//! Errors are JSON: `{"error": {"code", "message"}}`.

pub mod multipart;
pub mod predict;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::health::{Health, Overall};
use crate::metrics::{EndpointLabels, Metrics, RequestLabels};
use crate::pipeline::Timings;
use crate::shutdown::Shutdown;
use predict::{Predictor, StreamSession};

/// An error answer: status, machine code, human message.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            e.to_string(),
        )
    }
}

type Body = Full<Bytes>;

fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn error_response(e: &ApiError) -> Response<Body> {
    let mut r = json_response(
        e.status,
        &json!({"error": {"code": e.code, "message": e.message}}),
    );
    if e.status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

/// Everything request handlers share.
pub struct AppState {
    pub health: Arc<Health>,
    pub metrics: Arc<Metrics>,
    pub predictor: Predictor,
    pub model_info: Value,
    pub token: Option<String>,
    pub max_upload: u64,
    pub predict_slots: Arc<Semaphore>,
    next_id: AtomicU64,
}

impl AppState {
    pub fn new(
        health: Arc<Health>,
        metrics: Arc<Metrics>,
        predictor: Predictor,
        model_info: Value,
        token: &str,
        max_upload_mb: u64,
        max_concurrent: usize,
    ) -> AppState {
        AppState {
            health,
            metrics,
            predictor,
            model_info,
            token: (!token.is_empty()).then(|| token.to_string()),
            max_upload: max_upload_mb * 1024 * 1024,
            predict_slots: Arc::new(Semaphore::new(max_concurrent)),
            next_id: AtomicU64::new(1),
        }
    }
}

/// Constant-time comparison (no early exit on the first differing byte).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

fn authorize(state: &AppState, req: &Request<Incoming>) -> Result<(), ApiError> {
    let Some(token) = &state.token else {
        return Ok(());
    };
    let given = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time_eq(given.as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this endpoint needs Authorization: Bearer <token>",
        ))
    }
}

/// Reads the whole body under the upload limit.
async fn read_body(
    state: &AppState,
    req: Request<Incoming>,
) -> Result<(hyper::http::request::Parts, Bytes), ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "uploads are limited to {} MB",
                state.max_upload / (1024 * 1024)
            ),
        )
    };
    if let Some(len) = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > state.max_upload
    {
        return Err(too_large());
    }
    let (parts, body) = req.into_parts();
    let limited = Limited::new(body, state.max_upload as usize);
    // A client that stops sending mid-body must not hold the connection forever.
    let collected = tokio::time::timeout(Duration::from_secs(60), limited.collect())
        .await
        .map_err(|_| ApiError::new(StatusCode::REQUEST_TIMEOUT, "timeout", "the upload stalled"))?;
    match collected {
        Ok(c) => Ok((parts, c.to_bytes())),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large())
        }
        Err(e) => Err(ApiError::bad_request(
            "bad_body",
            format!("cannot read the request body: {e}"),
        )),
    }
}

/// The uploaded file in form field `field`, and the other fields.
fn form_file<'a>(
    parts: &hyper::http::request::Parts,
    body: &'a [u8],
    field: &str,
) -> Result<(multipart::Part<'a>, Vec<multipart::Part<'a>>), ApiError> {
    let ct = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let boundary = multipart::boundary(ct).map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("{e}; send the file as form field {field:?}"),
        )
    })?;
    let all = multipart::parse(body, &boundary)
        .map_err(|e| ApiError::bad_request("malformed_multipart", e.to_string()))?;
    let (mut file, rest): (Vec<_>, Vec<_>) = all.into_iter().partition(|p| p.name == field);
    let file = file.pop().ok_or_else(|| {
        ApiError::unprocessable("missing_field", format!("the form has no field {field:?}"))
    })?;
    if file.data.is_empty() {
        return Err(ApiError::unprocessable(
            "empty_file",
            format!("field {field:?} is empty"),
        ));
    }
    Ok((file, rest))
}

/// Takes a prediction slot, or refuses with 503.
fn slot(state: &AppState) -> Result<tokio::sync::OwnedSemaphorePermit, ApiError> {
    state
        .predict_slots
        .clone()
        .try_acquire_owned()
        .map_err(|_| {
            state.metrics.predictions_rejected.inc();
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "all prediction slots are busy; retry shortly",
            )
        })
}

/// Makes the calling thread yield the CPU to the camera workers (Linux: per-thread nice 10).
fn lower_thread_priority() {
    // SAFETY: setpriority on our own thread id only changes this thread's scheduling.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

/// Runs request inference on the blocking pool, at a lower CPU priority than the camera
/// workers, so uploads never slow the cameras down.
async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(move || {
        lower_thread_priority();
        f()
    })
    .await
    .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
}

async fn predict_frame(
    state: Arc<AppState>,
    req: Request<Incoming>,
    timings: &mut Timings,
) -> Result<Value, ApiError> {
    authorize(&state, &req)?;
    let (parts, body) = read_body(&state, req).await?;
    let (file, _) = form_file(&parts, &body, "image_file")?;
    if !crate::frame::looks_like_image(file.data) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "image_file must be a JPEG or PNG image",
        ));
    }
    // Everything cheap is checked first; a prediction slot is only taken for inference.
    let permit = slot(&state)?;
    // The image stays where the body put it (no copy).
    let data = body.slice_ref(file.data);
    let st = state.clone();
    let (v, t) = run_blocking(move || {
        let _permit = permit;
        let mut t = Timings::default();
        st.predictor.frame(&data, &mut t).map(|v| (v, t))
    })
    .await?;
    *timings = t;
    Ok(v)
}

const VIDEO_EXTENSIONS: [&str; 4] = ["mp4", "avi", "mov", "mkv"];

async fn predict_video(
    state: Arc<AppState>,
    req: Request<Incoming>,
    timings: &mut Timings,
) -> Result<Value, ApiError> {
    authorize(&state, &req)?;
    let (parts, body) = read_body(&state, req).await?;
    let (file, rest) = form_file(&parts, &body, "video_file")?;
    let ext = file
        .filename
        .as_deref()
        .and_then(|f| f.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if !VIDEO_EXTENSIONS.contains(&ext.as_str()) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "video_file must be one of .{}",
                VIDEO_EXTENSIONS.join(", .")
            ),
        ));
    }
    let mut frame_skip = 1usize;
    let mut threshold = state.predictor.decoder.confidence_threshold;
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
    let permit = slot(&state)?;
    let data: Arc<[u8]> = Arc::from(file.data);
    drop(body);
    let st = state.clone();
    let (v, t) = run_blocking(move || {
        let _permit = permit;
        let mut t = Timings::default();
        st.predictor
            .video(data, frame_skip, threshold, &mut t)
            .map(|v| (v, t))
    })
    .await?;
    *timings = t;
    Ok(v)
}

/// The WebSocket stream: binary JPEG/PNG frames (or base64 text) in, one JSON per frame out.
async fn stream(
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
    let (response, socket) = hyper_tungstenite::upgrade(&mut req, None)
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
    let p = state.predictor.clone();
    let session = tokio::task::spawn_blocking(move || StreamSession::new(&p)).await?;
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
                    lower_thread_priority();
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

fn endpoint_name(path: &str) -> &'static str {
    match path {
        "/health" => "/health",
        "/model/info" => "/model/info",
        "/metrics" => "/metrics",
        "/predict/frame" => "/predict/frame",
        "/predict/video" => "/predict/video",
        "/predict/stream" => "/predict/stream",
        _ => "other",
    }
}

async fn route(
    state: Arc<AppState>,
    req: Request<Incoming>,
    timings: &mut Timings,
) -> Result<Response<Body>, ApiError> {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let allowed = |m: &[Method]| {
        if m.contains(&method) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!(
                    "{path} accepts {}",
                    m.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ))
        }
    };
    match path.as_str() {
        "/health" => {
            allowed(&[Method::GET])?;
            let start = Instant::now();
            let report = state.health.report();
            let status = if report.status == Overall::Unhealthy {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            };
            let mut v = serde_json::to_value(&report).map_err(ApiError::internal)?;
            v["response_time_ms"] = json!((start.elapsed().as_secs_f64() * 1e5).round() / 100.0);
            Ok(json_response(status, &v))
        }
        "/model/info" => {
            allowed(&[Method::GET])?;
            Ok(json_response(StatusCode::OK, &state.model_info))
        }
        "/metrics" => {
            allowed(&[Method::GET])?;
            let mut r = Response::new(Full::new(Bytes::from(state.metrics.encode(&state.health))));
            r.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            Ok(r)
        }
        "/predict/frame" => {
            allowed(&[Method::POST])?;
            Ok(json_response(
                StatusCode::OK,
                &predict_frame(state, req, timings).await?,
            ))
        }
        "/predict/video" => {
            allowed(&[Method::POST])?;
            Ok(json_response(
                StatusCode::OK,
                &predict_video(state, req, timings).await?,
            ))
        }
        "/predict/stream" => {
            allowed(&[Method::GET])?;
            stream(state, req).await
        }
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no endpoint {path}"),
        )),
    }
}

/// One request: route it, then count it, time it and log it (JSON logs get every field).
async fn handle(
    state: Arc<AppState>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let start = Instant::now();
    let id = state.next_id.fetch_add(1, Ordering::Relaxed);
    let endpoint = endpoint_name(req.uri().path());
    let method = req.method().clone();
    let mut timings = Timings::default();
    let response = match route(state.clone(), req, &mut timings).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    };
    let status = response.status().as_u16();
    let total = start.elapsed();
    state
        .metrics
        .http_requests
        .get_or_create(&RequestLabels {
            endpoint: endpoint.to_string(),
            status,
        })
        .inc();
    state
        .metrics
        .http_latency
        .get_or_create(&EndpointLabels {
            endpoint: endpoint.to_string(),
        })
        .observe(total.as_secs_f64());
    if endpoint.starts_with("/predict") {
        tracing::info!(
            request_id = id,
            %peer,
            %method,
            endpoint,
            status,
            total_ms = (total.as_secs_f64() * 1e5).round() / 100.0,
            stages_ms = %predict::stage_ms(&timings),
            "request"
        );
    } else {
        tracing::debug!(request_id = id, %peer, %method, endpoint, status, "request");
    }
    let mut response = response;
    if let Ok(v) = HeaderValue::from_str(&id.to_string()) {
        response.headers_mut().insert("x-request-id", v);
    }
    Ok(response)
}

/// Serves the API on `listener` until shutdown.
pub async fn serve(listener: TcpListener, state: Arc<AppState>, shutdown: Shutdown) {
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = shutdown.wait() => return,
        };
        let st = state.clone();
        let sd = shutdown.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(st.clone(), peer, req));
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                // Slow or oversized headers are cut off rather than held.
                .header_read_timeout(Duration::from_secs(10))
                // 16 KiB of headers is plenty; more is refused (431).
                .max_buf_size(16 * 1024)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::select! {
                r = conn => if let Err(e) = r {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                },
                _ = sd.wait() => {}
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secre"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }
}
