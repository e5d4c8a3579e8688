//! Request bodies: read whole into memory under the upload limit (a declared
//! `Content-Length` over it is refused with 413 before reading; a stalled upload times out),
//! and the uploaded file of a multipart form. Nothing touches a disk.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Request, StatusCode};

use super::AppState;
use super::error::ApiError;
use super::multipart;

/// Reads the whole body under the upload limit.
pub(super) async fn read_body(
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
pub(super) fn form_file<'a>(
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
