//! The TUG trial endpoints: `POST/GET /tug/trials`, `GET/DELETE /tug/trials/<id>`,
//! `POST /tug/trials/<id>/stopwatch`, `GET /tug/agreement` (see [`crate::outputs::trials`]).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::AppState;
use super::auth::authorize;
use super::error::{ApiError, Body, json_response};
use crate::outputs::trials::{ArmRequest, CAPACITY, TrialError, Trials};

/// JSON bodies of these endpoints are small.
const MAX_JSON: usize = 16 * 1024;

impl From<TrialError> for ApiError {
    fn from(e: TrialError) -> ApiError {
        let (status, code) = match &e {
            TrialError::UnknownCamera(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unknown_camera"),
            TrialError::AlreadyArmed { .. } => (StatusCode::CONFLICT, "trial_armed"),
            TrialError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
            TrialError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            TrialError::NotCompleted(_) => (StatusCode::CONFLICT, "trial_not_completed"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

async fn read_json<T: DeserializeOwned>(req: Request<Incoming>) -> Result<T, ApiError> {
    let body = Limited::new(req.into_body(), MAX_JSON);
    let bytes = tokio::time::timeout(Duration::from_secs(30), body.collect())
        .await
        .map_err(|_| ApiError::new(StatusCode::REQUEST_TIMEOUT, "timeout", "the body stalled"))?
        .map_err(|e| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a JSON body of at most {MAX_JSON} bytes: {e}"),
            )
        })?
        .to_bytes();
    let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &bytes[..]
    };
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request("bad_json", e.to_string()))
}

fn to_json<T: serde::Serialize>(t: T) -> Result<Value, ApiError> {
    serde_json::to_value(t).map_err(ApiError::internal)
}

fn not_allowed(path: &str, allowed: &str) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{path} accepts {allowed}"),
    )
}

/// Routes every path under `/tug/`.
pub(super) async fn route(
    state: Arc<AppState>,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    authorize(&state, &req)?;
    let trials: &Trials = state.trials.as_deref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "TUG trials need the daemon's cameras",
        )
    })?;
    let path = req.uri().path().to_string();
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(2).collect();
    let method = req.method().clone();
    let ok = |v: Value| Ok(json_response(StatusCode::OK, &v));
    match (parts.as_slice(), method) {
        (["trials"], Method::GET) => ok(json!({"trials": trials.list(), "capacity": CAPACITY})),
        (["trials"], Method::POST) => {
            let body: ArmRequest = read_json(req).await?;
            let t = trials.arm(body, SystemTime::now())?;
            Ok(json_response(StatusCode::CREATED, &to_json(t)?))
        }
        (["trials"], _) => Err(not_allowed(&path, "GET, POST")),
        (["trials", id], Method::GET) => ok(to_json(trials.get(id)?)?),
        (["trials", id], Method::DELETE) => ok(to_json(trials.remove(id)?)?),
        (["trials", _], _) => Err(not_allowed(&path, "GET, DELETE")),
        (["trials", id, "stopwatch"], Method::POST) => {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Stopwatch {
                seconds: f64,
            }
            let id = id.to_string();
            let body: Stopwatch = read_json(req).await?;
            ok(to_json(trials.stopwatch(&id, body.seconds)?)?)
        }
        (["trials", _, "stopwatch"], _) => Err(not_allowed(&path, "POST")),
        (["agreement"], Method::GET) => ok(to_json(trials.agreement())?),
        (["agreement"], _) => Err(not_allowed(&path, "GET")),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no endpoint {path}"),
        )),
    }
}
