//! The API token: with `api.token` set, the predict endpoints need
//! `Authorization: Bearer <token>`, compared in constant time.

use hyper::Request;
use hyper::StatusCode;
use hyper::body::Incoming;
use hyper::header::AUTHORIZATION;

use super::AppState;
use super::error::ApiError;

/// Constant-time comparison (no early exit on the first differing byte).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

pub(super) fn authorize(state: &AppState, req: &Request<Incoming>) -> Result<(), ApiError> {
    check(state, req, false)
}

/// As [`authorize`], or the token as `?token=<url-encoded>`: what a browser's WebSocket can
/// send (it cannot set headers). For the page's endpoints only.
pub(super) fn authorize_or_query(
    state: &AppState,
    req: &Request<Incoming>,
) -> Result<(), ApiError> {
    check(state, req, true)
}

fn check(state: &AppState, req: &Request<Incoming>, query: bool) -> Result<(), ApiError> {
    let Some(token) = &state.token else {
        return Ok(());
    };
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let given = match header {
        Some(h) => h.as_bytes().to_vec(),
        None if query => query_value(req, "token").unwrap_or_default(),
        None => Vec::new(),
    };
    if constant_time_eq(&given, token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this endpoint needs Authorization: Bearer <token>",
        ))
    }
}

/// The value of `key` in the request's query string, percent-decoded.
pub(super) fn query_value(req: &Request<Incoming>, key: &str) -> Option<Vec<u8>> {
    req.uri()
        .query()?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| percent_decode(v))
}

/// `%XX` escapes and `+` of a query value.
fn percent_decode(v: &str) -> Vec<u8> {
    let b = v.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    out
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

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(percent_decode("a%2Bb%3d+c"), b"a+b= c");
        assert_eq!(percent_decode("50%"), b"50%");
        assert_eq!(percent_decode("%zz%4"), b"%zz%4");
    }
}
