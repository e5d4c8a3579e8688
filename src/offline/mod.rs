//! Offline work on files and uploads: the `pose`, `classify`, `annotate`, `features` and
//! `bench` commands, and the analysis behind `/predict/frame` and `/predict/video`.
//!
//! * [`analyse`]: an image, a video file or an uploaded clip → pose and activities, through
//!   the pipeline's [`Analyser`](crate::pipeline::Analyser).
//! * [`export`]: the CSV and NPY writers (annotation rows, feature vectors).
//! * [`bench`](mod@bench): per-stage timings and memory on a clip.
//! * [`overlay`], [`timeline`]: pictures (a skeleton on an image, segments over time).

pub mod analyse;
pub mod bench;
pub mod export;
pub mod overlay;
pub mod timeline;

use std::path::{Path, PathBuf};

use crate::capture::CaptureError;
use crate::frame::{ImageError, decode_image, looks_like_image};
use crate::model::ModelError;

/// Why an input file could not be processed.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error("cannot read {}: {err}", path.display())]
    Io { path: PathBuf, err: std::io::Error },
    #[error("{}: {err}", path.display())]
    Image { path: PathBuf, err: ImageError },
    #[error("{}: cannot decode video: {err}", path.display())]
    Video { path: PathBuf, err: CaptureError },
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// What an input file turned out to be.
pub enum Input {
    Image(image::RgbImage),
    Video(PathBuf),
}

/// Opens `path` as a still image if it starts like a JPEG or PNG, otherwise as a video.
pub fn open_input(path: &Path) -> Result<Input, OfflineError> {
    let io = |err| OfflineError::Io {
        path: path.to_path_buf(),
        err,
    };
    let mut head = [0u8; 16];
    let n = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(io)?;
        f.read(&mut head).map_err(io)?
    };
    if looks_like_image(&head[..n]) {
        let bytes = std::fs::read(path).map_err(io)?;
        let img = decode_image(&bytes).map_err(|err| OfflineError::Image {
            path: path.to_path_buf(),
            err,
        })?;
        Ok(Input::Image(img))
    } else {
        Ok(Input::Video(path.to_path_buf()))
    }
}
