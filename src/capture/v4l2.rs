//! V4L2 capture straight from `/dev/videoN` (the `v4l` crate): format negotiation, YUYV → RGB
//! conversion and MJPEG decoding.
//!
//! No V4L2 device exists on the build machines, so the pure parts (negotiation, conversion,
//! MJPEG repair) are unit-tested on synthetic buffers; capture itself is verified on hardware.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use v4l::buffer::Type;
use v4l::framesize::FrameSizeEnum;
use v4l::io::mmap::Stream;
use v4l::io::traits::CaptureStream;
use v4l::video::Capture;
use v4l::{Device, FourCC};

use super::{CaptureError, FrameGate, FrameSource, SourceOptions};
use crate::config::PixelFormat;
use crate::frame::{Content, Frame, Pixels};

/// Pixel formats we can turn into RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fourcc {
    Mjpeg,
    Yuyv,
}

impl Fourcc {
    pub fn code(self) -> [u8; 4] {
        match self {
            Fourcc::Mjpeg => *b"MJPG",
            Fourcc::Yuyv => *b"YUYV",
        }
    }

    pub fn from_code(c: [u8; 4]) -> Option<Fourcc> {
        match &c {
            b"MJPG" | b"JPEG" => Some(Fourcc::Mjpeg),
            b"YUYV" | b"YUY2" => Some(Fourcc::Yuyv),
            _ => None,
        }
    }
}

/// Frame sizes a device offers for one format.
#[derive(Debug, Clone, PartialEq)]
pub enum Sizes {
    Discrete(Vec<(u32, u32)>),
    Stepwise {
        min: (u32, u32),
        max: (u32, u32),
        step: (u32, u32),
    },
}

/// One format a device offers.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub fourcc: Fourcc,
    pub sizes: Sizes,
}

/// The format and size to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub fourcc: Fourcc,
    pub width: u32,
    pub height: u32,
}

/// Picks a format and size from what the device offers. `Auto` prefers MJPEG (most webcams
/// reach their full frame rate only in MJPEG at HD sizes), then YUYV. The size is the exact
/// one asked for if offered, else the smallest offered size covering it, else the largest;
/// `0×0` means 640×480 or the nearest.
pub fn negotiate(
    offers: &[Offer],
    want: PixelFormat,
    width: u32,
    height: u32,
) -> Result<Choice, String> {
    let order: &[Fourcc] = match want {
        PixelFormat::Auto => &[Fourcc::Mjpeg, Fourcc::Yuyv],
        PixelFormat::Mjpeg => &[Fourcc::Mjpeg],
        PixelFormat::Yuyv => &[Fourcc::Yuyv],
    };
    let offer = order
        .iter()
        .find_map(|f| offers.iter().find(|o| o.fourcc == *f))
        .ok_or_else(|| {
            format!(
                "device offers none of {:?} (it offers {:?})",
                order,
                offers.iter().map(|o| o.fourcc).collect::<Vec<_>>()
            )
        })?;
    let (w, h) = if width == 0 {
        (640, 480)
    } else {
        (width, height)
    };
    let (width, height) = match &offer.sizes {
        Sizes::Discrete(list) if list.is_empty() => {
            return Err("device lists no frame sizes".into());
        }
        Sizes::Discrete(list) => {
            let area = |s: &(u32, u32)| s.0 as u64 * s.1 as u64;
            list.iter()
                .copied()
                .find(|&s| s == (w, h))
                .or_else(|| {
                    list.iter()
                        .copied()
                        .filter(|s| s.0 >= w && s.1 >= h)
                        .min_by_key(area)
                })
                .or_else(|| list.iter().copied().max_by_key(area))
                .expect("list is not empty")
        }
        Sizes::Stepwise { min, max, step } => {
            let fit = |v: u32, lo: u32, hi: u32, st: u32| {
                let v = v.clamp(lo, hi);
                let st = st.max(1);
                lo + (v - lo).div_ceil(st) * st
            };
            (
                fit(w, min.0, max.0, step.0).min(max.0),
                fit(h, min.1, max.1, step.1).min(max.1),
            )
        }
    };
    Ok(Choice {
        fourcc: offer.fourcc,
        width,
        height,
    })
}

/// Converts packed YUYV (4:2:2, BT.601 limited range) to RGB24.
pub fn yuyv_to_rgb(src: &[u8], width: u32, height: u32, stride: usize, dst: &mut Vec<u8>) {
    let (w, h) = (width as usize, height as usize);
    dst.clear();
    dst.reserve(w * h * 3);
    #[inline(always)]
    fn px(y: i32, d: i32, e: i32, out: &mut Vec<u8>) {
        let c = 298 * (y - 16);
        let clip = |v: i32| (v >> 8).clamp(0, 255) as u8;
        out.push(clip(c + 409 * e + 128));
        out.push(clip(c - 100 * d - 208 * e + 128));
        out.push(clip(c + 516 * d + 128));
    }
    for row in 0..h {
        let line = &src[row * stride..row * stride + w * 2];
        for quad in line.chunks_exact(4) {
            let (y0, u, y1, v) = (
                quad[0] as i32,
                quad[1] as i32 - 128,
                quad[2] as i32,
                quad[3] as i32 - 128,
            );
            px(y0, u, v, dst);
            px(y1, u, v, dst);
        }
    }
}

/// The standard JPEG Huffman tables (ITU T.81 Annex K.3) as one DHT segment. Many UVC cameras
/// send MJPEG frames without tables, expecting the decoder to assume these.
fn standard_dht() -> Vec<u8> {
    const DC_LUMA_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
    const DC_CHROMA_BITS: [u8; 16] = [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
    const DC_VALS: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const AC_LUMA_BITS: [u8; 16] = [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d];
    const AC_LUMA_VALS: [u8; 162] = [
        0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
        0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52,
        0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25,
        0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45,
        0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64,
        0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
        0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
        0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
        0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3,
        0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
        0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
    ];
    const AC_CHROMA_BITS: [u8; 16] = [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77];
    const AC_CHROMA_VALS: [u8; 162] = [
        0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61,
        0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33,
        0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18,
        0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44,
        0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63,
        0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
        0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
        0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
        0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
        0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
        0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
    ];
    let tables: [(u8, &[u8; 16], &[u8]); 4] = [
        (0x00, &DC_LUMA_BITS, &DC_VALS),
        (0x10, &AC_LUMA_BITS, &AC_LUMA_VALS),
        (0x01, &DC_CHROMA_BITS, &DC_VALS),
        (0x11, &AC_CHROMA_BITS, &AC_CHROMA_VALS),
    ];
    let len: usize = 2 + tables.iter().map(|t| 17 + t.2.len()).sum::<usize>();
    let mut seg = vec![0xFF, 0xC4, (len >> 8) as u8, len as u8];
    for (class_id, bits, vals) in tables {
        seg.push(class_id);
        seg.extend_from_slice(bits);
        seg.extend_from_slice(vals);
    }
    seg
}

/// Decodes one MJPEG frame to RGB, inserting the standard Huffman tables when the camera
/// left them out.
pub fn decode_mjpeg(data: &[u8]) -> Result<image::RgbImage, String> {
    let fixed;
    let bytes = match missing_dht_insert_point(data)? {
        Some(at) => {
            let mut v = Vec::with_capacity(data.len() + 432);
            v.extend_from_slice(&data[..at]);
            v.extend_from_slice(&standard_dht());
            v.extend_from_slice(&data[at..]);
            fixed = v;
            &fixed[..]
        }
        None => data,
    };
    crate::frame::decode_image(bytes).map_err(|e| format!("bad MJPEG frame: {e}"))
}

/// Walks the JPEG markers up to the start of scan; returns where to insert a DHT if none came.
fn missing_dht_insert_point(data: &[u8]) -> Result<Option<usize>, String> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return Err("not a JPEG frame (no SOI marker)".into());
    }
    let mut i = 2;
    let mut seen_dht = false;
    while i + 4 <= data.len() {
        if data[i] != 0xFF {
            return Err(format!("corrupt JPEG marker at byte {i}"));
        }
        let marker = data[i + 1];
        match marker {
            0xC4 => seen_dht = true,
            0xDA => return Ok(if seen_dht { None } else { Some(i) }),
            0xFF => {
                i += 1; // fill byte
                continue;
            }
            _ => {}
        }
        let len = u16::from_be_bytes([data[i + 2], data[i + 3]]) as usize;
        if len < 2 {
            return Err(format!("corrupt JPEG segment length at byte {i}"));
        }
        i += 2 + len;
    }
    Err("JPEG frame ends before its image data".into())
}

fn io_err(what: &str, e: std::io::Error) -> CaptureError {
    CaptureError::Transient(format!("{what}: {e}"))
}

/// An open V4L2 device streaming through memory-mapped buffers.
pub struct V4l2Source {
    stream: Stream<'static>,
    // Keeps the device open for the stream's lifetime.
    _device: Device,
    choice: Choice,
    rgb: Vec<u8>,
    started: Instant,
    gate: Arc<FrameGate>,
}

impl V4l2Source {
    /// Opens and starts `path`; frames `gate` refuses are returned to the driver undecoded.
    pub fn open(
        path: &Path,
        opts: &SourceOptions,
        gate: Arc<FrameGate>,
    ) -> Result<V4l2Source, CaptureError> {
        let device = Device::with_path(path).map_err(|e| io_err(&path.display().to_string(), e))?;
        let caps = device
            .query_caps()
            .map_err(|e| io_err("query capabilities", e))?;
        if !caps
            .capabilities
            .contains(v4l::capability::Flags::VIDEO_CAPTURE)
        {
            return Err(CaptureError::Permanent(format!(
                "{} ({}) is not a video capture device",
                path.display(),
                caps.card
            )));
        }
        let mut offers = Vec::new();
        for desc in device
            .enum_formats()
            .map_err(|e| io_err("list formats", e))?
        {
            let Some(fourcc) = Fourcc::from_code(desc.fourcc.repr) else {
                continue;
            };
            let mut discrete = Vec::new();
            let mut stepwise = None;
            for fs in device.enum_framesizes(desc.fourcc).unwrap_or_default() {
                match fs.size {
                    FrameSizeEnum::Discrete(d) => discrete.push((d.width, d.height)),
                    FrameSizeEnum::Stepwise(s) => {
                        stepwise = Some(Sizes::Stepwise {
                            min: (s.min_width, s.min_height),
                            max: (s.max_width, s.max_height),
                            step: (s.step_width, s.step_height),
                        })
                    }
                }
            }
            offers.push(Offer {
                fourcc,
                sizes: stepwise.unwrap_or(Sizes::Discrete(discrete)),
            });
        }
        let choice = negotiate(&offers, opts.format, opts.width, opts.height)
            .map_err(CaptureError::Permanent)?;
        let mut fmt = device.format().map_err(|e| io_err("get format", e))?;
        fmt.width = choice.width;
        fmt.height = choice.height;
        fmt.fourcc = FourCC::new(&choice.fourcc.code());
        let got = device
            .set_format(&fmt)
            .map_err(|e| io_err("set format", e))?;
        let choice = Choice {
            fourcc: Fourcc::from_code(got.fourcc.repr).ok_or_else(|| {
                CaptureError::Permanent(format!(
                    "device switched to unsupported format {}",
                    got.fourcc
                ))
            })?,
            width: got.width,
            height: got.height,
        };
        // Not every driver supports frame intervals; the default rate is then used.
        let _ = device.set_params(&v4l::video::capture::Parameters::with_fps(opts.fps));
        let mut stream = Stream::with_buffers(&device, Type::VideoCapture, 4)
            .map_err(|e| io_err("start streaming", e))?;
        stream.set_timeout(Duration::from_millis(100));
        tracing::info!(device = %path.display(), ?choice, "V4L2 format negotiated");
        Ok(V4l2Source {
            stream,
            _device: device,
            choice,
            rgb: Vec::new(),
            started: Instant::now(),
            gate,
        })
    }
}

impl FrameSource for V4l2Source {
    fn next_frame(&mut self, _timeout: Duration) -> Result<Option<Frame>, CaptureError> {
        let (buf, meta) = match self.stream.next() {
            Ok(x) => x,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return Ok(None),
            Err(e) => return Err(io_err("dequeue buffer", e)),
        };
        let t = self.started.elapsed().as_secs_f64();
        if !self.gate.admit(t) {
            return Ok(None);
        }
        let used = (meta.bytesused as usize).min(buf.len());
        let data = &buf[..used];
        let Choice { width, height, .. } = self.choice;
        let (width, height, rgb) = match self.choice.fourcc {
            Fourcc::Yuyv => {
                let stride = width as usize * 2;
                if data.len() < stride * height as usize {
                    return Err(CaptureError::Transient("short YUYV frame".into()));
                }
                yuyv_to_rgb(data, width, height, stride, &mut self.rgb);
                (width, height, std::mem::take(&mut self.rgb))
            }
            Fourcc::Mjpeg => match decode_mjpeg(data) {
                Ok(img) => (img.width(), img.height(), img.into_raw()),
                Err(e) => {
                    // A corrupt frame now and then is normal on USB; skip it.
                    tracing::debug!(error = %e, "skipping MJPEG frame");
                    return Ok(None);
                }
            },
        };
        Ok(Some(Frame {
            t,
            seq: 0,
            captured_at: Instant::now(),
            wall: SystemTime::now(),
            width,
            height,
            stride: width as usize * 3,
            content: Content::Image(Pixels::Owned(rgb)),
            epoch: 0,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offers() -> Vec<Offer> {
        vec![
            Offer {
                fourcc: Fourcc::Yuyv,
                sizes: Sizes::Discrete(vec![(640, 480), (320, 240), (1280, 720)]),
            },
            Offer {
                fourcc: Fourcc::Mjpeg,
                sizes: Sizes::Discrete(vec![(1920, 1080), (1280, 720), (640, 480)]),
            },
        ]
    }

    #[test]
    fn negotiation_prefers_mjpeg_and_exact_sizes() {
        let c = negotiate(&offers(), PixelFormat::Auto, 1280, 720).unwrap();
        assert_eq!((c.fourcc, c.width, c.height), (Fourcc::Mjpeg, 1280, 720));
        let c = negotiate(&offers(), PixelFormat::Yuyv, 0, 0).unwrap();
        assert_eq!((c.fourcc, c.width, c.height), (Fourcc::Yuyv, 640, 480));
        // Not offered: the smallest size that covers it.
        let c = negotiate(&offers(), PixelFormat::Yuyv, 800, 600).unwrap();
        assert_eq!((c.width, c.height), (1280, 720));
        // Larger than anything: the largest.
        let c = negotiate(&offers(), PixelFormat::Mjpeg, 4000, 3000).unwrap();
        assert_eq!((c.width, c.height), (1920, 1080));
        let only_yuyv = &offers()[..1];
        assert!(negotiate(only_yuyv, PixelFormat::Mjpeg, 0, 0).is_err());
        assert_eq!(
            negotiate(only_yuyv, PixelFormat::Auto, 0, 0)
                .unwrap()
                .fourcc,
            Fourcc::Yuyv
        );
    }

    #[test]
    fn negotiation_snaps_stepwise_sizes() {
        let o = [Offer {
            fourcc: Fourcc::Yuyv,
            sizes: Sizes::Stepwise {
                min: (16, 16),
                max: (1920, 1080),
                step: (16, 8),
            },
        }];
        let c = negotiate(&o, PixelFormat::Auto, 1000, 563).unwrap();
        assert_eq!((c.width, c.height), (1008, 568));
        let c = negotiate(&o, PixelFormat::Auto, 5000, 5000).unwrap();
        assert_eq!((c.width, c.height), (1920, 1080));
    }

    /// Packs RGB pixels into YUYV the way a camera would (BT.601 limited range).
    fn rgb_to_yuyv(rgb: &[[u8; 3]]) -> Vec<u8> {
        let yuv = |p: [u8; 3]| {
            let (r, g, b) = (p[0] as f32, p[1] as f32, p[2] as f32);
            (
                16.0 + 0.257 * r + 0.504 * g + 0.098 * b,
                128.0 - 0.148 * r - 0.291 * g + 0.439 * b,
                128.0 + 0.439 * r - 0.368 * g - 0.071 * b,
            )
        };
        rgb.chunks(2)
            .flat_map(|pair| {
                let (y0, u0, v0) = yuv(pair[0]);
                let (y1, u1, v1) = yuv(pair[1]);
                [
                    y0.round() as u8,
                    ((u0 + u1) / 2.0).round() as u8,
                    y1.round() as u8,
                    ((v0 + v1) / 2.0).round() as u8,
                ]
            })
            .collect()
    }

    #[test]
    fn yuyv_converts_to_rgb() {
        // Pairs share chroma, so use pairs of equal colours.
        let colours = [
            [0, 0, 0],
            [255, 255, 255],
            [255, 0, 0],
            [0, 255, 0],
            [0, 0, 255],
            [128, 64, 32],
        ];
        let pixels: Vec<[u8; 3]> = colours.iter().flat_map(|&c| [c, c]).collect();
        let width = pixels.len() as u32;
        let mut src = rgb_to_yuyv(&pixels);
        // Two rows with 8 bytes of padding each, as drivers may deliver.
        let stride = src.len() + 8;
        src.extend_from_slice(&[0; 8]);
        let row = src.clone();
        src.extend_from_slice(&row);
        let mut out = Vec::new();
        yuyv_to_rgb(&src, width, 2, stride, &mut out);
        assert_eq!(out.len(), width as usize * 2 * 3);
        for (i, want) in pixels.iter().chain(pixels.iter()).enumerate() {
            let got = &out[i * 3..i * 3 + 3];
            for c in 0..3 {
                assert!(
                    (got[c] as i32 - want[c] as i32).abs() <= 3,
                    "pixel {i}: got {got:?}, want {want:?}"
                );
            }
        }
    }

    fn test_jpeg() -> (image::RgbImage, Vec<u8>) {
        let img = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x + y) * 2) as u8])
        });
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&img)
            .unwrap();
        (img, jpeg)
    }

    /// Removes every DHT segment, as UVC cameras send MJPEG.
    fn strip_dht(jpeg: &[u8]) -> Vec<u8> {
        let mut out = jpeg[..2].to_vec();
        let mut i = 2;
        loop {
            let marker = jpeg[i + 1];
            if marker == 0xDA {
                out.extend_from_slice(&jpeg[i..]);
                return out;
            }
            let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
            if marker != 0xC4 {
                out.extend_from_slice(&jpeg[i..i + 2 + len]);
            }
            i += 2 + len;
        }
    }

    #[test]
    fn mjpeg_without_huffman_tables_decodes() {
        let (img, jpeg) = test_jpeg();
        let direct = decode_mjpeg(&jpeg).unwrap();
        let stripped = strip_dht(&jpeg);
        assert!(
            stripped.len() < jpeg.len(),
            "the encoder wrote DHT segments"
        );
        assert!(
            image::load_from_memory(&stripped).is_err(),
            "a plain decoder cannot read it"
        );
        let repaired = decode_mjpeg(&stripped).unwrap();
        assert_eq!(direct, repaired, "standard tables give the same pixels");
        let err: f64 = img
            .as_raw()
            .iter()
            .zip(repaired.as_raw())
            .map(|(&a, &b)| (a as f64 - b as f64).abs())
            .sum::<f64>()
            / img.as_raw().len() as f64;
        assert!(err < 4.0, "mean abs error {err}");
    }

    #[test]
    fn corrupt_mjpeg_is_an_error() {
        let (_, jpeg) = test_jpeg();
        assert!(decode_mjpeg(b"hello").is_err());
        assert!(decode_mjpeg(&jpeg[..40]).is_err());
        assert!(decode_mjpeg(&strip_dht(&jpeg)[..200]).is_err());
    }
}
