//! Offline work on files (the `pose`, `annotate` and `bench` commands): a still image or a
//! whole video, decoded and run through pose estimation.

use std::path::{Path, PathBuf};

use crate::capture::CaptureError;
use crate::capture::gate::RateGate;
use crate::capture::gst::FileFrames;
use crate::frame::{Frame, ImageError, decode_image, looks_like_image};
use crate::landmarks::LandmarkFrame;
use crate::model::ModelError;
use crate::pipeline::Timings;
use crate::pose::{Mode, Pose, PoseEstimator, PoseModels, landmark_frame};

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

/// Pose on a still image (detector every time, no smoothing).
pub fn pose_image(
    models: &PoseModels,
    img: image::RgbImage,
) -> Result<(LandmarkFrame, Timings), OfflineError> {
    let mut est = PoseEstimator::new(models, Mode::Image)?;
    let frame = Frame::from_image(img);
    let mut timings = Timings::default();
    let pose = est.estimate(&frame, 0.0, &mut timings)?;
    Ok((
        landmark_frame(0.0, frame.width, frame.height, pose.as_ref()),
        timings,
    ))
}

/// Pose on a video file, tracking and smoothing as the daemon does, on every frame or (with
/// `process_fps` > 0) on the frames the daemon's `process_fps` gate would pass; `each`
/// receives every analysed frame's result with its step timings (decode included).
pub fn pose_video(
    models: &PoseModels,
    path: &Path,
    process_fps: f32,
    each: impl FnMut(&Frame, Option<&Pose>, &Timings),
) -> Result<usize, OfflineError> {
    let verr = |err| OfflineError::Video {
        path: path.to_path_buf(),
        err,
    };
    let frames = FileFrames::open(path).map_err(verr)?;
    let mut gate = RateGate::new(process_fps);
    pose_frames(models, frames, |_, t| gate.admit(t), each).map_err(|e| match e {
        OfflineError::Video { err, .. } => verr(err),
        other => other,
    })
}

/// Pose on the frames of a decoded stream that `admit` accepts (given the frame's index and
/// time); the others are decoded and skipped.
pub fn pose_frames(
    models: &PoseModels,
    mut frames: FileFrames,
    mut admit: impl FnMut(usize, f64) -> bool,
    mut each: impl FnMut(&Frame, Option<&Pose>, &Timings),
) -> Result<usize, OfflineError> {
    let verr = |err| OfflineError::Video {
        path: PathBuf::from("upload"),
        err,
    };
    let mut est = PoseEstimator::new(models, Mode::Video)?;
    let (mut decoded, mut n) = (0usize, 0usize);
    loop {
        let mut timings = Timings::default();
        let start = std::time::Instant::now();
        let Some(frame) = frames.next() else { break };
        let mut frame = frame.map_err(verr)?;
        decoded += 1;
        if !admit(decoded - 1, frame.t) {
            continue;
        }
        frame.seq = n as u64;
        timings.record("decode", start.elapsed());
        let pose = est.estimate(&frame, frame.t, &mut timings)?;
        each(&frame, pose.as_ref(), &timings);
        n += 1;
    }
    if n == 0 {
        return Err(verr(CaptureError::Transient(
            "the file holds no video frames".into(),
        )));
    }
    Ok(n)
}
