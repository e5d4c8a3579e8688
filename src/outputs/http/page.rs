//! The web page for technicians and clinicians, and what it reads: `/` and `/cameras/<id>`
//! (one HTML document, its script and style, embedded in the binary: no CDN, no build
//! step), `/recent` (each camera's live view as JSON) and the read-only WebSocket `/live`
//! (every analysed frame's landmarks, activity and presence, events, tests and trials).
//!
//! The page draws the skeleton from landmarks: no video or image is ever served, and its
//! Content-Security-Policy forbids the browser to load any (`img-src 'none'`).

use std::sync::Arc;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::auth::{authorize_or_query, query_value};
use super::error::{ApiError, Body, json_response};

const INDEX_HTML: &str = include_str!("page/index.html");
const APP_JS: &str = include_str!("page/app.js");
const STYLE_CSS: &str = include_str!("page/style.css");

/// What the page may load: itself, and nothing else.
const CSP: &str = "default-src 'self'; img-src 'none'; media-src 'none'; object-src 'none'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The embedded file at `path`, if it is one of the page's.
pub(super) fn asset(path: &str) -> Option<Response<Body>> {
    let (body, ctype) = match path {
        "/" => (INDEX_HTML, "text/html; charset=utf-8"),
        p if p.starts_with("/cameras/") && p.len() > 9 && !p[9..].contains('/') => {
            (INDEX_HTML, "text/html; charset=utf-8")
        }
        "/page/app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "/page/style.css" => (STYLE_CSS, "text/css; charset=utf-8"),
        _ => return None,
    };
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Some(r)
}

/// `/recent`: every camera's live view.
pub(super) fn recent(
    state: &AppState,
    req: &Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    authorize_or_query(state, req)?;
    let live = state.live.as_ref().ok_or_else(no_cameras)?;
    Ok(json_response(StatusCode::OK, &live.recent()))
}

fn no_cameras() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "the live view needs the daemon's cameras",
    )
}

/// `/live`: the read-only WebSocket the page listens to; `?camera=<id>` keeps one camera.
pub(super) async fn live(
    state: Arc<AppState>,
    mut req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    authorize_or_query(&state, &req)?;
    let live = state.live.clone().ok_or_else(no_cameras)?;
    if !hyper_tungstenite::is_upgrade_request(&req) {
        return Err(ApiError::bad_request(
            "websocket_required",
            "connect with a WebSocket",
        ));
    }
    let camera = query_value(&req, "camera").map(|v| String::from_utf8_lossy(&v).into_owned());
    // Read-only: the page has nothing to send but a close.
    let config = hyper_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(64 * 1024))
        .max_frame_size(Some(64 * 1024));
    let (response, socket) = hyper_tungstenite::upgrade(&mut req, Some(config))
        .map_err(|e| ApiError::bad_request("websocket_handshake", e.to_string()))?;
    let mut rx = live.subscribe();
    let shutdown = state.shutdown.clone();
    tokio::spawn(async move {
        use hyper_tungstenite::tungstenite::Message;
        let Ok(ws) = socket.await else { return };
        let (mut sink, mut incoming) = ws.split();
        loop {
            tokio::select! {
                m = rx.recv() => match m {
                    Ok(m) => {
                        if let (Some(want), Some(cam)) = (&camera, &m.camera)
                            && **want != **cam
                        {
                            continue;
                        }
                        if sink.send(Message::text(m.text.clone())).await.is_err() {
                            return;
                        }
                    }
                    // A slow page skips what it missed: the next frame redraws everything.
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                },
                // Read-only: whatever the page sends is ignored, a close ends it.
                m = incoming.next() => match m {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                },
                _ = shutdown.wait() => break,
            }
        }
        let _ = sink.send(Message::Close(None)).await;
    });
    Ok(response)
}
