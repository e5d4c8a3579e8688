//! GStreamer sources: files, RTSP, test patterns and user pipelines, all ending in an appsink
//! that delivers RGB frames.
//!
//! Every source string becomes `<source part> ! videoconvert ! videoscale ! <RGB caps> !
//! appsink`. A pad probe ahead of `videoconvert` asks the camera's [`FrameGate`] about each
//! decoded frame, so frames passed over by `process_fps` are never converted. Errors arrive on
//! the bus (a missing file, a dead stream, a missing decoder) and are turned into
//! [`CaptureError`]s; the appsink is polled with a timeout so a pipeline that errors never
//! blocks the thread.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;

use super::{CaptureError, FrameGate, FrameSource, SourceOptions, SourceSpec};
use crate::frame::{Content, Frame, Pixels};

const SINK_NAME: &str = "activityd_sink";
/// The `videoconvert` whose sink pad carries the gate's probe.
const CONVERT_NAME: &str = "activityd_convert";

/// Keeps GStreamer from writing files: activityd writes none, anywhere.
///
/// * Its plugin cache (`~/.cache/gstreamer-1.0/registry.*.bin`) is pointed at a path that
///   cannot be created, so plugins are scanned at start (~30 ms) and nothing is saved.
/// * ORC, the code generator behind `videoconvert`, would write generated code to a file in
///   `$HOME` or `/tmp` to map it executable; its portable C code is used instead (a systemd
///   unit with `MemoryDenyWriteExecute=yes` forbids the former anyway).
///
/// Values already in the environment are left alone.
///
/// # Safety
/// Changes the process environment: call it before any other thread starts.
pub unsafe fn prepare_environment() {
    for (key, value) in [
        (
            "GST_REGISTRY",
            "/proc/self/activityd-gst-registry-not-saved",
        ),
        ("ORC_CODE", "backup"),
    ] {
        if std::env::var_os(key).is_none() {
            // SAFETY: the caller guarantees no other thread runs yet.
            unsafe { std::env::set_var(key, value) };
        }
    }
}

/// Initialises GStreamer once per process.
pub fn init() -> Result<(), CaptureError> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| {
        gst::init().map_err(|e| e.to_string())?;
        prefer_openh264();
        demote_alpha_decoders();
        Ok(())
    })
    .clone()
    .map_err(|e| CaptureError::Permanent(format!("GStreamer init failed: {e}")))
}

/// Ranks OpenH264's decoder above libav's for H.264, when it is installed and the user has not
/// set `GST_PLUGIN_FEATURE_RANK`.
///
/// Both decode the same pixels (bit-identical on the test clips). libav's plugin pulls in
/// ~35 MB of libraries (libavfilter alone links speech synthesis and SVG rendering): the
/// daemon on the H.264 demo clip peaked at 151–162 MB RSS with libav and 113–121 MB with
/// OpenH264, which costs ~7–10% more of the daemon's CPU at `process_fps` 5–15. Streams
/// OpenH264 cannot take (interlaced, 4:4:4, …) fail its caps, and decodebin moves on to
/// libav.
fn prefer_openh264() {
    if std::env::var_os("GST_PLUGIN_FEATURE_RANK").is_some() {
        return;
    }
    if let Some(feature) =
        gst::Registry::get().find_feature("openh264dec", gst::ElementFactory::static_type())
    {
        feature.set_rank(gst::Rank::PRIMARY + 1);
    }
}

/// Whether `GST_PLUGIN_FEATURE_RANK` (`name:rank,…`) sets the rank of the feature `name`.
fn ranked_by_user(name: &str) -> bool {
    std::env::var("GST_PLUGIN_FEATURE_RANK").is_ok_and(|v| {
        v.split(',')
            .any(|entry| entry.split(':').next().map(str::trim) == Some(name))
    })
}

/// Whether every caps a decoder factory takes are marked `codec-alpha=true`: a decoder only
/// for VP8/VP9 with an alpha channel.
fn takes_only_alpha_streams(factory: &gst::ElementFactory) -> bool {
    let sinks: Vec<gst::Caps> = factory
        .static_pad_templates()
        .iter()
        .filter(|t| t.direction() == gst::PadDirection::Sink)
        .map(|t| t.caps())
        .collect();
    !sinks.is_empty()
        && sinks.iter().all(|caps| {
            !caps.is_any()
                && !caps.is_empty()
                && caps
                    .iter()
                    .all(|s| s.get::<bool>("codec-alpha") == Ok(true))
        })
}

/// Takes the alpha decoders out of autoplugging (rank NONE): `vp8alphadecodebin`,
/// `vp9alphadecodebin` and the hardware `v4l2sl…alphadecodebin`, every decoder whose input
/// must be marked `codec-alpha=true`. A feature named in `GST_PLUGIN_FEATURE_RANK` keeps the
/// user's rank; a pipeline that names one still gets it.
///
/// `matroskademux` marks a VP8/VP9 track `codec-alpha=true` from the track header's
/// `AlphaMode` flag alone, and browsers set it on recordings that carry no alpha data.
/// decodebin then picks the alpha decode bin (rank primary + 10): its `codecalphademux` sends
/// a gap down the alpha branch for every frame without alpha data (no `BlockAdditional`), and
/// `alphacombine` fails on a gap before any alpha frame ("Cannot handle streams without an
/// initial alpha buffer"); 4:4:4 GBR (VP9 profile 1) does not even negotiate with it.
/// activityd converts to RGB and never needs alpha: `vp8dec`/`vp9dec` decode the colour
/// planes of every such stream, with or without alpha data.
fn demote_alpha_decoders() {
    for factory in gst::ElementFactory::factories_with_type(
        gst::ElementFactoryType::DECODER,
        gst::Rank::MARGINAL,
    ) {
        if takes_only_alpha_streams(&factory) && !ranked_by_user(&factory.name()) {
            tracing::debug!(factory = %factory.name(), "alpha decoder taken out of autoplugging");
            factory.set_rank(gst::Rank::NONE);
        }
    }
}

/// Seconds into the stream of a buffer stamped `pts` in `segment`: its stream time, the
/// position a player shows. An MP4's edit list (B-frames) starts its PTS at e.g. 0.133 s
/// with stream time 0; a transport stream keeps its own clock. The PTS itself when the
/// segment cannot place it.
fn stream_seconds(segment: Option<&gst::Segment>, pts: gst::ClockTime) -> f64 {
    segment
        .and_then(|s| s.downcast_ref::<gst::ClockTime>())
        .and_then(|s| s.to_stream_time(pts))
        .unwrap_or(pts)
        .nseconds() as f64
        / 1e9
}

/// Quotes a value for a gst-launch pipeline description.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The pipeline description for `opts` (everything up to and including the appsink); an
/// error for a source that is not video.
pub fn pipeline_description(opts: &SourceOptions) -> Result<String, CaptureError> {
    let source = match &opts.spec {
        SourceSpec::File(p) => format!(
            "filesrc location={} ! decodebin",
            quote(&p.to_string_lossy())
        ),
        SourceSpec::Rtsp(url) => format!("rtspsrc location={} latency=200 ! decodebin", quote(url)),
        SourceSpec::Test(pattern) => {
            let (w, h) = if opts.width > 0 {
                (opts.width, opts.height)
            } else {
                (640, 480)
            };
            format!(
                "videotestsrc is-live=true pattern={pattern} ! video/x-raw,width={w},height={h},framerate={}/1",
                opts.fps
            )
        }
        SourceSpec::Gst(p) => p.clone(),
        SourceSpec::V4l2(dev) => format!(
            "v4l2src device={} ! decodebin",
            quote(&dev.to_string_lossy())
        ),
        SourceSpec::Landmarks(p) => {
            return Err(CaptureError::Permanent(format!(
                "{} holds landmark frames, not video: GStreamer cannot play it",
                p.display()
            )));
        }
    };
    // A width range with square pixels lets videoscale shrink large frames and keep the
    // aspect ratio; smaller frames pass unscaled.
    let size = if opts.max_width > 0 {
        format!(",width=[1,{}],pixel-aspect-ratio=1/1", opts.max_width)
    } else {
        String::new()
    };
    let live = !matches!(opts.spec, SourceSpec::File(_)) || opts.realtime;
    // Offline decoding must not lose frames (backpressure); live capture must never queue.
    let sink = if live {
        format!(
            "appsink name={SINK_NAME} sync={} max-buffers=2 drop=true enable-last-sample=false",
            opts.realtime
        )
    } else {
        format!(
            "appsink name={SINK_NAME} sync=false max-buffers=4 drop=false enable-last-sample=false"
        )
    };
    Ok(format!(
        "{source} ! videoconvert name={CONVERT_NAME} ! videoscale ! video/x-raw,format=RGB{size} ! {sink}"
    ))
}

/// Drops the frames `gate` refuses on their way into `videoconvert`.
fn install_gate(pipeline: &gst::Pipeline, gate: Arc<FrameGate>) -> Result<(), CaptureError> {
    let pad = pipeline
        .by_name(CONVERT_NAME)
        .and_then(|e| e.static_pad("sink"))
        .ok_or_else(|| CaptureError::Permanent("videoconvert missing from pipeline".into()))?;
    let started = Instant::now();
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let Some(buffer) = info.buffer() else {
            return gst::PadProbeReturn::Ok;
        };
        // The same clock as the frames' `t` (see `sample_to_frame`).
        let t = match buffer.pts() {
            Some(pts) => {
                let segment = pad.sticky_event::<gst::event::Segment>(0);
                stream_seconds(segment.as_ref().map(|e| e.segment()), pts)
            }
            None => started.elapsed().as_secs_f64(),
        };
        if gate.admit(t) {
            gst::PadProbeReturn::Ok
        } else {
            // `Handled`, not `Drop`: the binding has taken the buffer out of the probe info
            // and frees it itself; with `Drop`, GStreamer would try to free it again (a NULL).
            gst::PadProbeReturn::Handled
        }
    })
    .ok_or_else(|| CaptureError::Permanent("cannot watch videoconvert's input".into()))?;
    Ok(())
}

/// What a GStreamer error's debug text says that its message does not, in words for the
/// person who sent the file: which decoder is missing, or that no stream became video.
fn error_hint(debug: &str) -> Option<String> {
    if let Some(rest) = debug.split("Missing decoder: ").nth(1) {
        // "AV1 (video/x-av1, stream-format=…)" → "AV1 (video/x-av1)"
        let what = rest.split([',', ')', '\n']).next().unwrap_or(rest).trim();
        let what = if what.contains('(') {
            format!("{what})")
        } else {
            what.to_string()
        };
        return Some(format!("no decoder installed for {what}"));
    }
    // decodebin's video output is the only one linked: a stream that stops as not-linked
    // decoded to something else (audio).
    debug
        .contains("reason not-linked")
        .then(|| "no video stream in it (audio only?)".to_string())
}

/// What the bus had to say.
enum BusNews {
    Error(CaptureError),
    /// A looping file reached its end and was sought back to the start.
    Looped,
}

/// What the end of the stream means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AtEnd {
    /// A file with `loop = true`: start again.
    Loop,
    /// A file or upload: done.
    Finish,
    /// A live source: it went away; reconnect.
    Reconnect,
}

/// A running GStreamer pipeline delivering RGB frames.
pub struct GstSource {
    pipeline: gst::Pipeline,
    sink: gst_app::AppSink,
    bus: gst::Bus,
    at_end: AtEnd,
    started: Instant,
}

impl GstSource {
    /// Starts the pipeline for `opts`. With a `gate`, every decoded frame is counted and
    /// those it refuses are dropped before colour conversion.
    pub fn open(
        opts: &SourceOptions,
        gate: Option<Arc<FrameGate>>,
    ) -> Result<GstSource, CaptureError> {
        init()?;
        if let SourceSpec::File(p) = &opts.spec
            && !p.is_file()
        {
            return Err(CaptureError::Transient(format!(
                "no such file: {}",
                p.display()
            )));
        }
        let at_end = match (&opts.spec, opts.looping) {
            (SourceSpec::File(_), true) => AtEnd::Loop,
            (SourceSpec::File(_), false) => AtEnd::Finish,
            _ => AtEnd::Reconnect,
        };
        let desc = pipeline_description(opts)?;
        Self::launch(&desc, at_end, |pipeline| match gate {
            Some(gate) => install_gate(pipeline, gate),
            None => Ok(()),
        })
    }

    /// Decodes a video held in memory (an upload): nothing touches the disk. The bytes are
    /// served to the demuxer through a seekable `appsrc`.
    pub fn from_memory(data: Arc<[u8]>) -> Result<GstSource, CaptureError> {
        init()?;
        let desc = format!(
            "appsrc name=activityd_src ! decodebin ! videoconvert ! videoscale ! video/x-raw,format=RGB ! appsink name={SINK_NAME} sync=false max-buffers=4 drop=false enable-last-sample=false"
        );
        Self::launch(&desc, AtEnd::Finish, move |pipeline| {
            let src = pipeline
                .by_name("activityd_src")
                .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
                .ok_or_else(|| CaptureError::Permanent("appsrc missing".into()))?;
            // Random access, so a demuxer can seek to an index at the end (MP4's moov).
            src.set_stream_type(gst_app::AppStreamType::RandomAccess);
            src.set_format(gst::Format::Bytes);
            src.set_size(data.len() as i64);
            let offset = Arc::new(Mutex::new(0usize));
            let (off_need, off_seek) = (offset.clone(), offset);
            src.set_callbacks(
                gst_app::AppSrcCallbacks::builder()
                    .need_data(move |src, len| {
                        let mut off = off_need.lock().unwrap_or_else(|e| e.into_inner());
                        if *off >= data.len() {
                            let _ = src.end_of_stream();
                            return;
                        }
                        // Demuxers pull exact ranges: give exactly what was asked.
                        let want = if len == 0 || len == u32::MAX {
                            1 << 16
                        } else {
                            len as usize
                        };
                        let n = want.min(data.len() - *off);
                        let mut buf = gst::Buffer::from_slice(data[*off..*off + n].to_vec());
                        if let Some(b) = buf.get_mut() {
                            b.set_offset(*off as u64);
                        }
                        *off += n;
                        let _ = src.push_buffer(buf);
                    })
                    .seek_data(move |_, to| {
                        *off_seek.lock().unwrap_or_else(|e| e.into_inner()) = to as usize;
                        true
                    })
                    .build(),
            );
            Ok(())
        })
    }

    /// Parses and starts `desc`; `setup` configures elements before the pipeline plays.
    fn launch(
        desc: &str,
        at_end: AtEnd,
        setup: impl FnOnce(&gst::Pipeline) -> Result<(), CaptureError>,
    ) -> Result<GstSource, CaptureError> {
        let element = gst::parse::launch(desc).map_err(|e| {
            CaptureError::Permanent(format!("invalid pipeline {desc:?}: {}", e.message()))
        })?;
        let pipeline = element.downcast::<gst::Pipeline>().map_err(|_| {
            CaptureError::Permanent(format!("pipeline {desc:?} did not make a pipeline"))
        })?;
        let sink = pipeline
            .by_name(SINK_NAME)
            .and_then(|e| e.downcast::<gst_app::AppSink>().ok())
            .ok_or_else(|| CaptureError::Permanent("appsink missing from pipeline".into()))?;
        let bus = pipeline
            .bus()
            .ok_or_else(|| CaptureError::Permanent("pipeline has no bus".into()))?;
        setup(&pipeline)?;
        report_missing_video(&pipeline);
        let source = GstSource {
            pipeline,
            sink,
            bus,
            at_end,
            started: Instant::now(),
        };
        if source.pipeline.set_state(gst::State::Playing).is_err() {
            // The reason is on the bus.
            return Err(match source.poll_bus() {
                Some(BusNews::Error(e)) => e,
                _ => CaptureError::Transient("pipeline failed to start".into()),
            });
        }
        Ok(source)
    }

    /// The first error or end-of-stream waiting on the bus, if any. At the end of a looping
    /// file this seeks back to the start and reports [`BusNews::Looped`].
    fn poll_bus(&self) -> Option<BusNews> {
        while let Some(msg) = self
            .bus
            .pop_filtered(&[gst::MessageType::Error, gst::MessageType::Eos])
        {
            match msg.view() {
                gst::MessageView::Error(err) => {
                    let src = msg.src().map(|s| s.name().to_string()).unwrap_or_default();
                    tracing::debug!(element = %src, debug = ?err.debug(), "GStreamer error");
                    let mut text = format!("{} (GStreamer element {src})", err.error());
                    if let Some(hint) = err.debug().as_deref().and_then(error_hint) {
                        text = format!("{text}: {hint}");
                    }
                    return Some(BusNews::Error(CaptureError::Transient(text)));
                }
                gst::MessageView::Eos(_) => return Some(self.on_eos()),
                _ => {}
            }
        }
        None
    }

    fn on_eos(&self) -> BusNews {
        match self.at_end {
            AtEnd::Finish => return BusNews::Error(CaptureError::Ended),
            // A live stream has no end: its server or device went away.
            AtEnd::Reconnect => {
                return BusNews::Error(CaptureError::Transient("the stream ended".into()));
            }
            AtEnd::Loop => {}
        }
        match self.pipeline.seek_simple(
            gst::SeekFlags::FLUSH | gst::SeekFlags::KEY_UNIT,
            gst::ClockTime::ZERO,
        ) {
            Ok(()) => BusNews::Looped,
            Err(_) => BusNews::Error(CaptureError::Transient(
                "could not seek to the start to loop".into(),
            )),
        }
    }

    /// The element factories in the running pipeline, including those decodebin plugged in
    /// (e.g. `avdec_h264` or `openh264dec`).
    pub fn factories(&self) -> Vec<String> {
        self.pipeline
            .iterate_recurse()
            .into_iter()
            .filter_map(Result::ok)
            .filter_map(|e| e.factory().map(|f| f.name().to_string()))
            .collect()
    }

    fn sample_to_frame(&self, sample: gst::Sample) -> Result<Frame, CaptureError> {
        let caps = sample
            .caps()
            .ok_or_else(|| CaptureError::Transient("sample without caps".into()))?;
        let info = gst_video::VideoInfo::from_caps(caps)
            .map_err(|_| CaptureError::Transient(format!("unexpected caps {caps}")))?;
        let buffer = sample
            .buffer_owned()
            .ok_or_else(|| CaptureError::Transient("sample without buffer".into()))?;
        // The stream's own timestamps (variable frame rates included), never an assumed rate.
        let t = match buffer.pts() {
            Some(pts) => stream_seconds(sample.segment(), pts),
            None => self.started.elapsed().as_secs_f64(),
        };
        let mapped = buffer
            .into_mapped_buffer_readable()
            .map_err(|_| CaptureError::Transient("cannot map buffer".into()))?;
        let stride = info.stride()[0] as usize;
        let (width, height) = (info.width(), info.height());
        if mapped.len() < stride * (height as usize - 1) + width as usize * 3 {
            return Err(CaptureError::Transient("short video buffer".into()));
        }
        Ok(Frame {
            t,
            seq: 0,
            captured_at: Instant::now(),
            wall: SystemTime::now(),
            width,
            height,
            stride,
            content: Content::Image(Pixels::Gst(mapped)),
            epoch: 0,
        })
    }
}

impl FrameSource for GstSource {
    fn next_frame(&mut self, timeout: Duration) -> Result<Option<Frame>, CaptureError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(BusNews::Error(e)) = self.poll_bus() {
                return Err(e);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let wait = left.min(Duration::from_millis(50));
            if let Some(sample) = self
                .sink
                .try_pull_sample(gst::ClockTime::from_nseconds(wait.as_nanos() as u64))
            {
                return self.sample_to_frame(sample).map(Some);
            }
            if self.sink.is_eos()
                && let Some(BusNews::Error(e)) = self.poll_bus()
            {
                // EOS also reaches the bus, which decides between looping and ending.
                return Err(e);
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }
}

/// Makes every `decodebin` of `pipeline` post an error once it has exposed all its streams
/// and none is video (an audio-only file or upload). Without it such a stream may only stop
/// with "not-linked" when the demuxer happens to notice, or never.
fn report_missing_video(pipeline: &gst::Pipeline) {
    let decodebins = pipeline
        .iterate_recurse()
        .into_iter()
        .flatten()
        .filter(|e| {
            e.factory()
                .is_some_and(|f| f.name() == "decodebin" || f.name() == "uridecodebin")
        });
    for bin in decodebins {
        bin.connect_no_more_pads(|bin| {
            let video = bin.src_pads().iter().any(|pad| {
                pad.current_caps()
                    .unwrap_or_else(|| pad.query_caps(None))
                    .structure(0)
                    .is_some_and(|s| s.name().starts_with("video/"))
            });
            if !video {
                gst::element_error!(
                    bin,
                    gst::StreamError::WrongType,
                    ("no video stream in it (audio only?)"),
                    ["decodebin exposed its streams and none is video"]
                );
            }
        });
    }
}

impl Drop for GstSource {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Reads every frame of a video file or buffer, as fast as it decodes (for the offline
/// commands and uploads).
pub struct FileFrames {
    source: GstSource,
}

impl FileFrames {
    /// The element factories of the decoding pipeline (see [`GstSource::factories`]).
    pub fn factories(&self) -> Vec<String> {
        self.source.factories()
    }

    pub fn open(path: &std::path::Path) -> Result<FileFrames, CaptureError> {
        let opts = SourceOptions::offline_file(path.to_path_buf());
        Ok(FileFrames {
            source: GstSource::open(&opts, None)?,
        })
    }

    /// Frames of a video held in memory.
    pub fn from_memory(data: Arc<[u8]>) -> Result<FileFrames, CaptureError> {
        Ok(FileFrames {
            source: GstSource::from_memory(data)?,
        })
    }
}

impl Iterator for FileFrames {
    type Item = Result<Frame, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        // A decoder that produces nothing for this long is broken; do not hang.
        match self.source.next_frame(Duration::from_secs(20)) {
            Ok(Some(f)) => Some(Ok(f)),
            Ok(None) => Some(Err(CaptureError::Transient(
                "no frame decoded within 20 s".into(),
            ))),
            Err(CaptureError::Ended) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_hints_name_the_missing_decoder_or_the_missing_video() {
        let missing = "../gst/playback/gstdecodebin2.c(4704): gst_decode_bin_expose (): \
            /GstPipeline:pipeline0/GstDecodeBin:decodebin0:\nno suitable plugins found:\n\
            Missing decoder: AV1 (video/x-av1, stream-format=(string)obu-stream, width=(int)320)";
        assert_eq!(
            error_hint(missing).as_deref(),
            Some("no decoder installed for AV1 (video/x-av1)")
        );
        let audio = "../ext/ogg/gstoggdemux.c(5016): gst_ogg_demux_loop (): \
            /GstPipeline:pipeline0/GstDecodeBin:decodebin0/GstOggDemux:oggdemux0:\n\
            streaming stopped, reason not-linked (-1)";
        assert_eq!(
            error_hint(audio).as_deref(),
            Some("no video stream in it (audio only?)")
        );
        assert_eq!(error_hint("streaming stopped, reason error (-5)"), None);
    }
}
