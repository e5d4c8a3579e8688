//! Entry points for the fuzz targets (`fuzz/`, `make fuzz`) and their regression tests
//! (`tests/fuzz_regressions.rs`): each feeds arbitrary bytes to a parser that faces the
//! outside world. They must return, never panic.

use crate::outputs::http::multipart;

/// The multipart parser. The first line of `data` is taken as the Content-Type header.
pub fn multipart(data: &[u8]) {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let ct = String::from_utf8_lossy(&data[..split]);
    let body = data.get(split + 1..).unwrap_or(&[]);
    if let Ok(b) = multipart::boundary(&ct) {
        let _ = multipart::parse(body, &b);
    }
    // And with a fixed boundary, so the body parser is always reached.
    let _ = multipart::parse(data, "x");
}

/// Still-image decoding.
pub fn image(data: &[u8]) {
    let _ = crate::frame::decode_image(data);
    let _ = crate::capture::v4l2::decode_mjpeg(data);
}

/// The landmark JSON Lines reader, then features over what it accepted.
pub fn landmarks(data: &[u8]) {
    if let Ok(frames) = crate::landmarks::read_jsonl(data) {
        let mut fx = crate::features::FeatureExtractor::new();
        for f in &frames {
            if let Some(v) = fx.push(f) {
                // Features of valid input are finite.
                assert!(
                    v.iter().all(|x| x.is_finite()),
                    "non-finite feature from {f:?}"
                );
            }
        }
    }
}

/// The configuration loader.
pub fn config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(c) = crate::config::Config::parse(text)
    {
        let _ = c.validate();
    }
}
