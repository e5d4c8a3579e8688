//! Camera `source` strings: which kind of source a camera reads and where. Parsed here, where
//! the configuration is validated; opened by `capture`.

use std::path::PathBuf;

/// Where frames come from, parsed from a camera's `source` string.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    File(PathBuf),
    Rtsp(String),
    V4l2(PathBuf),
    Gst(String),
    Test(String),
    /// Landmark frames recorded earlier (JSON Lines), replayed in real time in place of video.
    Landmarks(PathBuf),
}

impl SourceSpec {
    /// Parses `file:///abs`, `file:rel`, `rtsp://…`, `v4l2:///dev/videoN`, `gst:<pipeline>`,
    /// `test:[pattern]`, `landmarks:path.jsonl` (relative or absolute, also
    /// `landmarks:///abs.jsonl`).
    pub fn parse(s: &str) -> Result<SourceSpec, String> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("landmarks:") {
            return parse_landmarks(s, rest);
        }
        if let Some(rest) = s.strip_prefix("file://") {
            if !rest.starts_with('/') {
                return Err(format!(
                    "file URLs need an absolute path (file:///…) or use file:relative/path, got {s:?}"
                ));
            }
            Ok(SourceSpec::File(PathBuf::from(rest)))
        } else if let Some(rest) = s.strip_prefix("file:") {
            if rest.is_empty() {
                return Err("file source needs a path".into());
            }
            Ok(SourceSpec::File(PathBuf::from(rest)))
        } else if s.starts_with("rtsp://") || s.starts_with("rtsps://") {
            Ok(SourceSpec::Rtsp(s.to_string()))
        } else if let Some(rest) = s.strip_prefix("v4l2://") {
            if !rest.starts_with("/dev/") {
                return Err(format!(
                    "V4L2 sources look like v4l2:///dev/video0, got {s:?}"
                ));
            }
            Ok(SourceSpec::V4l2(PathBuf::from(rest)))
        } else if let Some(rest) = s.strip_prefix("gst:") {
            if rest.trim().is_empty() {
                return Err("gst: needs a pipeline, e.g. gst:videotestsrc".into());
            }
            Ok(SourceSpec::Gst(rest.trim().to_string()))
        } else if let Some(rest) = s.strip_prefix("test:") {
            let pattern = if rest.is_empty() { "ball" } else { rest };
            if !pattern
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(format!(
                    "test pattern must be a videotestsrc pattern name, got {rest:?}"
                ));
            }
            Ok(SourceSpec::Test(pattern.to_string()))
        } else {
            Err(format!(
                "unknown source {s:?}: use file://, rtsp://, v4l2://, gst:, test: or landmarks:"
            ))
        }
    }

    pub fn is_file(&self) -> bool {
        matches!(self, SourceSpec::File(_))
    }

    /// Sources with an end, which `loop = true` replays from the start: video and landmark
    /// files.
    pub fn can_loop(&self) -> bool {
        matches!(self, SourceSpec::File(_) | SourceSpec::Landmarks(_))
    }

    /// Relative file paths (video or landmarks) are taken relative to `base` (the config
    /// file's folder).
    pub fn resolve_relative(self, base: &std::path::Path) -> SourceSpec {
        match self {
            SourceSpec::File(p) if p.is_relative() => SourceSpec::File(base.join(p)),
            SourceSpec::Landmarks(p) if p.is_relative() => SourceSpec::Landmarks(base.join(p)),
            other => other,
        }
    }
}

/// `landmarks:` + a path to a JSON Lines file of landmark frames: `rest` is what follows the
/// prefix of `s`.
fn parse_landmarks(s: &str, rest: &str) -> Result<SourceSpec, String> {
    let path = match rest.strip_prefix("//") {
        // The URL form, as for file: sources.
        Some(abs) if abs.starts_with('/') => abs,
        Some(_) => {
            return Err(format!(
                "landmarks URLs need an absolute path (landmarks:///…) or use landmarks:relative/path.jsonl, got {s:?}"
            ));
        }
        None => rest,
    };
    if path.trim().is_empty() {
        return Err(
            "landmarks: needs the path of a .jsonl file of landmark frames, e.g. landmarks:recording.jsonl"
                .into(),
        );
    }
    if !path.ends_with(".jsonl") {
        return Err(format!(
            "landmarks: reads landmark frames as JSON Lines (what `activityd pose` writes), so the file name must end in .jsonl, got {path:?}"
        ));
    }
    Ok(SourceSpec::Landmarks(PathBuf::from(path)))
}
