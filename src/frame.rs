//! The unit that flows from capture to the inference stages: one RGB image with its
//! timestamps, or, from a `landmarks:` camera, the landmarks recorded for one frame in its
//! place (see [`Content`]).
//!
//! Frames live in memory only. A GStreamer frame keeps GStreamer's buffer mapped (no copy);
//! other sources own their bytes.

use std::time::{Instant, SystemTime};

use crate::landmarks::{NUM_LANDMARKS, Point};

/// The bytes of an RGB24 image, rows `stride` bytes apart.
pub enum Pixels {
    Owned(Vec<u8>),
    Gst(gstreamer::MappedBuffer<gstreamer::buffer::Readable>),
}

impl AsRef<[u8]> for Pixels {
    fn as_ref(&self) -> &[u8] {
        match self {
            Pixels::Owned(v) => v,
            Pixels::Gst(m) => m.as_slice(),
        }
    }
}

/// What a frame carries.
pub enum Content {
    /// An RGB24 image for the pose models, rows [`Frame::stride`] bytes apart.
    Image(Pixels),
    /// The landmarks recorded for a frame (a `landmarks:` camera replays a landmark file):
    /// pose estimation was done when they were recorded, so the pose models are skipped and
    /// these go straight to the classifier. `None`: nobody was found in that frame. (Boxed:
    /// frames move through the hand-off by value.)
    Landmarks(Option<Box<[Point; NUM_LANDMARKS]>>),
}

/// One captured frame: an RGB image, or recorded landmarks standing in for one.
pub struct Frame {
    /// Position on the camera's timeline in seconds: monotonic, starts near 0, survives loops
    /// and reconnects.
    pub t: f64,
    /// Sequence number from the camera (counts every captured frame, analysed or not).
    pub seq: u64,
    /// When capture handed the frame over (for hand-off latency).
    pub captured_at: Instant,
    /// Wall-clock capture time, for events.
    pub wall: SystemTime,
    /// The frame's size in pixels (for recorded landmarks, the size they were found in).
    pub width: u32,
    pub height: u32,
    /// Bytes between row starts (≥ 3 × width); 0 for recorded landmarks.
    pub stride: usize,
    pub content: Content,
    /// Counts the source's restarts (a looping file's seam, a reconnect) before this frame.
    /// Motion does not continue across a change of epoch: trackers and motion windows start
    /// afresh. A counter rather than a flag, so a restart is not lost with a dropped frame.
    pub epoch: u32,
}

impl Frame {
    /// A frame owning tightly packed RGB bytes.
    pub fn from_rgb(width: u32, height: u32, data: Vec<u8>, t: f64) -> Frame {
        assert_eq!(data.len(), width as usize * height as usize * 3);
        Frame::new(
            width,
            height,
            width as usize * 3,
            Content::Image(Pixels::Owned(data)),
            t,
        )
    }

    /// A frame captured now, with `content`.
    fn new(width: u32, height: u32, stride: usize, content: Content, t: f64) -> Frame {
        Frame {
            t,
            seq: 0,
            captured_at: Instant::now(),
            wall: SystemTime::now(),
            width,
            height,
            stride,
            content,
            epoch: 0,
        }
    }

    /// A frame carrying recorded landmarks (`None`: nobody) in place of a `width`×`height`
    /// image.
    pub fn from_landmarks(
        width: u32,
        height: u32,
        landmarks: Option<[Point; NUM_LANDMARKS]>,
        t: f64,
    ) -> Frame {
        Frame::new(
            width,
            height,
            0,
            Content::Landmarks(landmarks.map(Box::new)),
            t,
        )
    }

    /// The RGB bytes of row `y` (exactly `3 × width` long).
    ///
    /// # Panics
    /// On a frame of recorded landmarks, which has no rows.
    #[inline]
    pub fn row(&self, y: u32) -> &[u8] {
        let start = y as usize * self.stride;
        &self.data()[start..start + self.width as usize * 3]
    }

    /// The raw buffer (rows `stride` apart); empty for recorded landmarks.
    #[inline]
    pub fn data(&self) -> &[u8] {
        match &self.content {
            Content::Image(p) => p.as_ref(),
            Content::Landmarks(_) => &[],
        }
    }

    /// A tightly packed copy as an `image` buffer (for overlays and tests).
    ///
    /// # Panics
    /// On a frame of recorded landmarks.
    pub fn to_rgb_image(&self) -> image::RgbImage {
        let mut out = Vec::with_capacity(self.width as usize * self.height as usize * 3);
        for y in 0..self.height {
            out.extend_from_slice(self.row(y));
        }
        image::RgbImage::from_raw(self.width, self.height, out).expect("size matches")
    }

    /// A frame from a decoded still image.
    pub fn from_image(img: image::RgbImage) -> Frame {
        let (w, h) = img.dimensions();
        Frame::from_rgb(w, h, img.into_raw(), 0.0)
    }
}

/// Why bytes could not be read as a still image.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("not a JPEG or PNG image")]
    UnknownFormat,
    #[error("truncated JPEG (no end-of-image marker)")]
    TruncatedJpeg,
    #[error("image larger than 8192x8192")]
    TooLarge,
    #[error("corrupt image: {0}")]
    Corrupt(String),
}

/// Is this the start of a JPEG or PNG file?
pub fn looks_like_image(bytes: &[u8]) -> bool {
    matches!(
        image::guess_format(bytes),
        Ok(image::ImageFormat::Jpeg | image::ImageFormat::Png)
    )
}

/// Decodes a JPEG or PNG still into RGB, refusing truncated JPEGs (which decoders would
/// otherwise pad with grey) and images too large to be a camera frame.
pub fn decode_image(bytes: &[u8]) -> Result<image::RgbImage, ImageError> {
    let format = match image::guess_format(bytes) {
        Ok(f @ (image::ImageFormat::Jpeg | image::ImageFormat::Png)) => f,
        _ => return Err(ImageError::UnknownFormat),
    };
    if format == image::ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(ImageError::TruncatedJpeg);
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(8192);
    limits.max_image_height = Some(8192);
    limits.max_alloc = Some(512 << 20);
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    reader.limits(limits);
    match reader.decode() {
        Ok(img) => Ok(img.into_rgb8()),
        Err(image::ImageError::Limits(_)) => Err(ImageError::TooLarge),
        Err(e) => Err(ImageError::Corrupt(e.to_string())),
    }
}

/// A JPEG ends with an end-of-image marker (possibly followed by padding).
pub fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    tail.windows(2).any(|w| w == [0xFF, 0xD9])
}
