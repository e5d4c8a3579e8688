//! A strict in-memory `multipart/form-data` parser for uploads (RFC 7578). The whole body is
//! already in memory under the upload size limit; parts borrow from it.

/// One part of a form.
#[derive(Debug, Clone, PartialEq)]
pub struct Part<'a> {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: &'a [u8],
}

/// Why a body is not a well-formed form.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MultipartError {
    #[error("Content-Type is not multipart/form-data with a boundary")]
    NotMultipart,
    #[error("malformed multipart body: {0}")]
    Malformed(&'static str),
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Result<String, MultipartError> {
    let mut parts = content_type.split(';');
    let mime = parts.next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return Err(MultipartError::NotMultipart);
    }
    for p in parts {
        let p = p.trim();
        if let Some((k, v)) = p.split_once('=')
            && k.trim().eq_ignore_ascii_case("boundary")
        {
            let b = v.trim().trim_matches('"');
            if b.is_empty() || b.len() > 200 {
                return Err(MultipartError::NotMultipart);
            }
            return Ok(b.to_string());
        }
    }
    Err(MultipartError::NotMultipart)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// A parameter of a `Content-Disposition` header (`name="x"`), unquoted.
fn param(header: &str, key: &str) -> Option<String> {
    header.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(key)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Parses `body` into its parts (at most 16).
pub fn parse<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<Part<'a>>, MultipartError> {
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let mut pos = find(body, delim, 0).ok_or(MultipartError::Malformed("no boundary in body"))?;
    let mut parts = Vec::new();
    loop {
        pos += delim.len();
        if body[pos..].starts_with(b"--") {
            break; // closing delimiter
        }
        if !body[pos..].starts_with(b"\r\n") {
            return Err(MultipartError::Malformed("boundary not followed by CRLF"));
        }
        pos += 2;
        let head_end = find(body, b"\r\n\r\n", pos)
            .ok_or(MultipartError::Malformed("part headers never end"))?;
        if head_end - pos > 8192 {
            return Err(MultipartError::Malformed("part headers too long"));
        }
        let head = std::str::from_utf8(&body[pos..head_end])
            .map_err(|_| MultipartError::Malformed("part headers are not UTF-8"))?;
        let (mut name, mut filename, mut content_type) = (None, None, None);
        for line in head.split("\r\n") {
            let Some((k, v)) = line.split_once(':') else {
                return Err(MultipartError::Malformed("part header without ':'"));
            };
            if k.trim().eq_ignore_ascii_case("content-disposition") {
                if !v.trim().to_ascii_lowercase().starts_with("form-data") {
                    return Err(MultipartError::Malformed("part is not form-data"));
                }
                name = param(v, "name");
                filename = param(v, "filename");
            } else if k.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(v.trim().to_string());
            }
        }
        let name = name.ok_or(MultipartError::Malformed("part without a name"))?;
        let data_start = head_end + 4;
        let mut next_delim = Vec::with_capacity(delim.len() + 2);
        next_delim.extend_from_slice(b"\r\n");
        next_delim.extend_from_slice(delim);
        let data_end = find(body, &next_delim, data_start).ok_or(MultipartError::Malformed(
            "part never ends (truncated body?)",
        ))?;
        parts.push(Part {
            name,
            filename,
            content_type,
            data: &body[data_start..data_end],
        });
        if parts.len() > 16 {
            return Err(MultipartError::Malformed("too many parts"));
        }
        pos = data_end + 2;
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(b: &str, parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
        let mut v = Vec::new();
        for (name, file, data) in parts {
            v.extend_from_slice(format!("--{b}\r\n").as_bytes());
            match file {
                Some(f) => v.extend_from_slice(
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
                ),
                None => v.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
            }
            v.extend_from_slice(data);
            v.extend_from_slice(b"\r\n");
        }
        v.extend_from_slice(format!("--{b}--\r\n").as_bytes());
        v
    }

    #[test]
    fn parses_files_and_fields() {
        let body = form(
            "xyz",
            &[
                ("image_file", Some("a.jpg"), b"\xff\xd8binary\r\n--xy\r\n"),
                ("options", None, b"{\"frame_skip\": 2}"),
            ],
        );
        let parts = parse(&body, "xyz").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "image_file");
        assert_eq!(parts[0].filename.as_deref(), Some("a.jpg"));
        assert_eq!(parts[0].data, b"\xff\xd8binary\r\n--xy\r\n");
        assert_eq!(parts[1].data, b"{\"frame_skip\": 2}");
        assert_eq!(
            boundary("multipart/form-data; boundary=\"xyz\"").unwrap(),
            "xyz"
        );
    }

    #[test]
    fn rejects_malformed_bodies() {
        assert_eq!(boundary("image/jpeg"), Err(MultipartError::NotMultipart));
        assert_eq!(
            boundary("multipart/form-data"),
            Err(MultipartError::NotMultipart)
        );
        let body = form("b", &[("f", Some("x"), b"data")]);
        for cut in [5, 40, body.len() - 12] {
            assert!(parse(&body[..cut], "b").is_err(), "cut at {cut}");
        }
        assert!(parse(b"no boundary here", "b").is_err());
        assert!(parse(b"--b\r\nX-Nothing\r\n\r\ndata\r\n--b--", "b").is_err());
    }
}
