//! The HTTP API for technicians (hyper 1.x on the tokio runtime): `/health`, `/model/info`,
//! `/metrics`, and the predict endpoints (`/predict/frame`, `/predict/video`, the WebSocket
//! `/predict/stream`). This file is the server and its routing; each concern has its module:
//!
//! * [`error`]: JSON error answers; [`auth`]: the bearer token; [`body`]: bodies under the
//!   upload limit and multipart forms ([`multipart`]); [`slots`]: bounded, low-priority
//!   request inference (503 when busy);
//! * [`predict`]: `/predict/frame` and `/predict/video`; [`stream`]: the WebSocket.
//!
//! Uploads are parsed and decoded in memory — no temporary files. With a token configured,
//! the predict endpoints need `Authorization: Bearer <token>`; health and metrics stay open.

mod auth;
mod body;
pub mod error;
pub mod multipart;
pub mod page;
mod predict;
mod slots;
mod stream;
pub mod tls;
mod trials;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::ApiConfig;
use crate::health::{Health, Overall};
use crate::outputs::live::Live;
use crate::outputs::metrics::{EndpointLabels, Metrics, RequestLabels};
use crate::outputs::trials::Trials;
use crate::pipeline::Models;
use crate::shutdown::Shutdown;
use crate::timings::Timings;
pub use error::ApiError;
use error::{Body, error_response, json_response};

/// Everything request handlers share.
pub struct AppState {
    pub health: Arc<Health>,
    pub metrics: Arc<Metrics>,
    pub models: Models,
    pub model_info: Value,
    pub token: Option<String>,
    pub max_upload: u64,
    pub predict_slots: Arc<Semaphore>,
    /// The cameras' live view and TUG trials (the daemon's; absent without cameras).
    pub live: Option<Arc<Live>>,
    pub trials: Option<Arc<Trials>>,
    pub shutdown: Shutdown,
    next_id: AtomicU64,
}

impl AppState {
    pub fn new(
        health: Arc<Health>,
        metrics: Arc<Metrics>,
        models: Models,
        model_info: Value,
        api: &ApiConfig,
        shutdown: Shutdown,
    ) -> AppState {
        let token = &api.token;
        AppState {
            health,
            metrics,
            models,
            model_info,
            token: (!token.is_empty()).then(|| token.to_string()),
            max_upload: api.max_upload_mb * 1024 * 1024,
            predict_slots: Arc::new(Semaphore::new(api.max_concurrent_predictions)),
            live: None,
            trials: None,
            shutdown,
            next_id: AtomicU64::new(1),
        }
    }

    /// The daemon's cameras: their live view and TUG trials.
    pub fn with_cameras(mut self, live: Arc<Live>, trials: Arc<Trials>) -> AppState {
        self.live = Some(live);
        self.trials = Some(trials);
        self
    }
}

fn endpoint_name(path: &str) -> &'static str {
    match path {
        "/health" => "/health",
        "/model/info" => "/model/info",
        "/metrics" => "/metrics",
        "/predict/frame" => "/predict/frame",
        "/predict/video" => "/predict/video",
        "/predict/stream" => "/predict/stream",
        "/recent" => "/recent",
        "/live" => "/live",
        p if p.starts_with("/tug/") => "/tug",
        "/" | "/page/app.js" | "/page/style.css" => "page",
        p if p.starts_with("/cameras/") => "page",
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
                &predict::predict_frame(state, req, timings).await?,
            ))
        }
        "/predict/video" => {
            allowed(&[Method::POST])?;
            Ok(json_response(
                StatusCode::OK,
                &predict::predict_video(state, req, timings).await?,
            ))
        }
        "/predict/stream" => {
            allowed(&[Method::GET])?;
            stream::stream(state, req).await
        }
        "/recent" => {
            allowed(&[Method::GET])?;
            page::recent(&state, &req)
        }
        "/live" => {
            allowed(&[Method::GET])?;
            page::live(state, req).await
        }
        p if p.starts_with("/tug/") => trials::route(state, req).await,
        p => match page::asset(p) {
            Some(r) => {
                allowed(&[Method::GET, Method::HEAD])?;
                Ok(r)
            }
            None => Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no endpoint {path}"),
            )),
        },
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

/// Serves the API on `listener` until shutdown, over TLS when `tls` is given.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: Shutdown,
) {
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
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, st, peer, sd).await,
                Some(acceptor) => {
                    // A client that never finishes its handshake is not waited for.
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(s)) => serve_connection(s, st, peer, sd).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, %peer, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

/// One connection (plain or TLS) until it ends or shutdown.
async fn serve_connection<I>(io: I, state: Arc<AppState>, peer: SocketAddr, shutdown: Shutdown)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req| handle(state.clone(), peer, req));
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // Slow or oversized headers are cut off rather than held.
        .header_read_timeout(Duration::from_secs(10))
        // 16 KiB of headers is plenty; more is refused (431).
        .max_buf_size(16 * 1024)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::select! {
        r = conn => if let Err(e) = r {
            tracing::debug!(error = %e, %peer, "connection ended with an error");
        },
        _ = shutdown.wait() => {}
    }
}
