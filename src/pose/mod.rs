//! Pose: MediaPipe BlazePose in tract — a person detector, a landmark model on a rotated crop
//! around the person, and tracking from frame to frame. The landmark model is MediaPipe's
//! lite, full (the default) or heavy one ([`PoseModelKind`], `pose.model`).
//!
//! Per frame, as MediaPipe's `PoseLandmarkCpu` graph does it:
//! 1. If no person is tracked, the detector runs on the letterboxed frame (224×224); the most
//!    prominent detection gives a rotated square ROI (keypoint 0 → 1, scale 1.25). Unlike
//!    MediaPipe, an ROI turned more than [`UPRIGHT_CHECK_RAD`] from upright in which step 2
//!    finds nobody, or nobody for sure ([`SURE_PRESENCE`]), is also tried upright and the
//!    crop with the higher presence score is kept: spread arms and legs can turn the
//!    detector's keypoints, and a crop turned the wrong way finds nobody or makes up a person
//!    lying on their side, whom tracking then follows.
//! 2. The ROI is warped to 256×256 and the landmark model gives 39 points (33 landmarks and 2
//!    auxiliary ones), a presence score, visibilities and a heatmap that refines x, y.
//! 3. Below presence 0.5 the person is lost; we re-detect in the same frame (MediaPipe waits
//!    for the next one). Otherwise landmarks are projected back to the frame, smoothed (video
//!    mode: One Euro filters scaled by the pose's size), and the auxiliary points give the
//!    next frame's ROI, so the detector does not run again while tracking holds.
//!
//! One person is tracked at a time: the most prominent (largest, most central) at detection,
//! kept until lost. For [`REACQUIRE_S`] after losing someone (a fast movement, an occlusion,
//! a missed frame), the detector prefers a person where they were, of about their size, even
//! at a lower detector score ([`detector::REACQUIRE_MIN_SCORE`]; the landmark model's presence
//! score still confirms them), so a bystander (a therapist beside the patient) does not take
//! over because they stand nearer the middle or score higher. Someone lost and found again
//! within [`SETTLE_S`] of being first found starts a new track ([`Pose::new_track`]): the
//! tracker has not settled on them yet, and their first poses jump about.

pub mod detector;
pub mod filter;
pub mod geometry;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub use crate::config::PoseModelKind;
use crate::frame::Frame;
use crate::landmarks::{LandmarkFrame, NUM_LANDMARKS, Point};
use crate::model::{Layout, ModelError, OnnxModel, Session, values};
use crate::timings::Timings;
use detector::Anchor;
use filter::{LandmarkSmoother, OneEuroParams, PixelPoint};
use geometry::{Border, Roi, warp_into};

/// Landmark model input side (pixels).
pub const CROP: usize = 256;
/// Points the landmark model predicts: 33 landmarks, 2 auxiliary, 4 unused.
const MODEL_POINTS: usize = 39;
/// Below this presence the ROI holds no person (MediaPipe's `min_tracking_confidence`).
pub const MIN_PRESENCE: f32 = 0.5;
/// How long (seconds of video) after losing someone the detector prefers a person where they
/// were over the most prominent one.
pub const REACQUIRE_S: f64 = 1.5;
/// A track is settled once this long (seconds of video) has passed since the person was first
/// found. While they are lost and found again before that, as when the tracker is just
/// acquiring someone in awkward motion, each find starts a new track: the first poses of a
/// man doing jumping jacks jumped 0.5–0.9 torso lengths from frame to frame (30 fps), which
/// a motion window read as walking away.
pub const SETTLE_S: f64 = 0.5;
/// A detector proposal turned more than this from upright (radians, ~29°) in which the
/// landmark model finds nobody, or nobody with at least [`SURE_PRESENCE`], is also tried
/// upright (step 1 in the module docs).
pub const UPRIGHT_CHECK_RAD: f32 = 0.5;
/// A presence score the landmark model gives people it really sees; below it, in a turned
/// crop, it may have made a person up to fit the crop.
pub const SURE_PRESENCE: f32 = 0.9;

const LANDMARK_FILTER: OneEuroParams = OneEuroParams {
    min_cutoff: 0.05,
    beta: 80.0,
    derivate_cutoff: 1.0,
};
const AUX_FILTER: OneEuroParams = OneEuroParams {
    min_cutoff: 0.01,
    beta: 10.0,
    derivate_cutoff: 1.0,
};

/// A person's pose in one frame.
#[derive(Debug, Clone)]
pub struct Pose {
    /// Normalised to the frame, BlazePose order.
    pub landmarks: [Point; NUM_LANDMARKS],
    /// Landmark-model presence score (0..1).
    pub score: f32,
    /// The crop the landmarks came from (frame pixels).
    pub roi: Roi,
    /// The detector ran for this frame (tracking was not available or was lost).
    pub detected: bool,
    /// This pose starts a new track: the first person found, someone other than the person
    /// last seen, or the same person found again within [`SETTLE_S`] of being first found.
    /// Movement measured across it would be one person's position against another's, or
    /// against a pose the landmark model had not yet settled on.
    pub new_track: bool,
}

impl Pose {
    /// A pose recorded earlier (a replayed landmark frame) in a `width`×`height` frame: not
    /// estimated here, so its crop is the landmarks' bounding box (upright), its score 1, and
    /// it neither came from the detector nor starts a track (as `activityd classify` reads a
    /// landmark file: one motion window throughout).
    pub fn recorded(landmarks: [Point; NUM_LANDMARKS], width: u32, height: u32) -> Pose {
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in &landmarks {
            (x0, x1) = (x0.min(p.x), x1.max(p.x));
            (y0, y1) = (y0.min(p.y), y1.max(p.y));
        }
        let (w, h) = (width as f32, height as f32);
        Pose {
            landmarks,
            score: 1.0,
            roi: Roi {
                cx: (x0 + x1) / 2.0 * w,
                cy: (y0 + y1) / 2.0 * h,
                w: (x1 - x0) * w,
                h: (y1 - y0) * h,
                rotation: 0.0,
            },
            detected: false,
            new_track: false,
        }
    }
}

/// The landmark frame (the contract's record) for a pose, or nobody, in a `width`×`height`
/// frame at `t`.
pub fn landmark_frame(t: f64, width: u32, height: u32, pose: Option<&Pose>) -> LandmarkFrame {
    LandmarkFrame {
        t,
        width,
        height,
        landmarks: pose.map(|p| p.landmarks),
    }
}

/// The two pose models, loaded and optimised once and shared by every camera.
#[derive(Clone)]
pub struct PoseModels {
    detector: OnnxModel,
    detector_layout: Layout,
    landmarks: OnnxModel,
    landmarks_layout: Layout,
    anchors: Arc<[Anchor]>,
    kind: PoseModelKind,
}

/// The landmark model's outputs, in the order they are read: 39 points × 5 values, the
/// presence score, and the 64×64 heatmap of the 39 points.
const LANDMARK_OUTPUTS: [(&str, usize); 3] = [
    ("Identity", MODEL_POINTS * 5),
    ("Identity_1", 1),
    ("Identity_3", 64 * 64 * MODEL_POINTS),
];

impl PoseModels {
    /// Loads `pose_detector.onnx` and the landmark model `kind` (`pose_landmarks.onnx` for
    /// "full", `pose_landmarks_lite.onnx`, `pose_landmarks_heavy.onnx`) from `dir`. Every
    /// variant must take a 256×256 crop and give 195 landmark values, a presence score and a
    /// 64×64×39 heatmap; otherwise the error names `pose.model` (a declared input of another
    /// size: [`ModelError::Load`]; outputs of other sizes: [`ModelError::Shape`]).
    pub fn load(dir: &Path, kind: PoseModelKind) -> Result<PoseModels, ModelError> {
        let landmarks_path = dir.join(format!("{}.onnx", kind.file_stem()));
        if kind != PoseModelKind::Full && !landmarks_path.is_file() {
            // Checked first: no point loading the detector for a daemon that cannot start.
            return Err(ModelError::MissingPoseModel {
                kind,
                path: landmarks_path,
            });
        }
        // One after the other: loading both at once would double the peak memory for a few
        // tens of milliseconds saved.
        let (detector, detector_layout) = OnnxModel::load_image(
            &dir.join("pose_detector.onnx"),
            detector::INPUT,
            &["Identity", "Identity_1"],
        )?;
        // Landmarks, presence, and the heatmap MediaPipe refines x, y with.
        let names = LANDMARK_OUTPUTS.map(|(name, _)| name);
        let (landmarks, landmarks_layout) = OnnxModel::load_image(&landmarks_path, CROP, &names)
            .map_err(|e| match e {
                ModelError::Load { path, message } => ModelError::Load {
                    path,
                    message: format!("pose.model = \"{kind}\": {message}"),
                },
                e => e,
            })?;
        for (i, (name, len)) in LANDMARK_OUTPUTS.iter().enumerate() {
            let shape = landmarks.output_shape(i);
            let got = shape.as_ref().map(|s| s.iter().product::<usize>());
            if got != Some(*len) {
                return Err(ModelError::Shape {
                    path: landmarks_path,
                    message: format!(
                        "pose.model = \"{kind}\": output {i} ({name}) has shape {shape:?}, \
                         expected {len} values"
                    ),
                });
            }
        }
        Ok(PoseModels {
            detector,
            detector_layout,
            landmarks,
            landmarks_layout,
            anchors: detector::anchors().into(),
            kind,
        })
    }

    /// Which landmark model was loaded.
    pub fn kind(&self) -> PoseModelKind {
        self.kind
    }
}

/// Still images (detect every time, no smoothing) or video (track and smooth).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Image,
    Video,
}

/// Raw landmark-model output for one ROI, projected to frame pixels.
struct RoiResult {
    score: f32,
    /// 39 points: x, y in frame pixels, z on the x pixel scale, visibility.
    points: [PixelPoint; MODEL_POINTS],
}

struct Smoothers {
    landmarks: LandmarkSmoother,
    aux: LandmarkSmoother,
}

/// One camera's (or one file's) pose tracker.
pub struct PoseEstimator {
    detector: Session,
    detector_layout: Layout,
    landmarks: Session,
    landmarks_layout: Layout,
    anchors: Arc<[Anchor]>,
    mode: Mode,
    /// The ROI predicted from the previous frame's landmarks.
    tracked: Option<Roi>,
    /// The last person's ROI and when they were seen (video mode), to find them again.
    last_seen: Option<(Roi, f64)>,
    smoothers: Option<Smoothers>,
    /// When the person now followed was first found (video mode).
    track_start: Option<f64>,
}

impl PoseEstimator {
    pub fn new(models: &PoseModels, mode: Mode) -> Result<PoseEstimator, ModelError> {
        Ok(PoseEstimator {
            detector: models.detector.session()?,
            detector_layout: models.detector_layout,
            landmarks: models.landmarks.session()?,
            landmarks_layout: models.landmarks_layout,
            anchors: models.anchors.clone(),
            mode,
            tracked: None,
            last_seen: None,
            smoothers: None,
            track_start: None,
        })
    }

    /// Forgets the tracked person (e.g. after a gap in the video).
    pub fn reset(&mut self) {
        self.tracked = None;
        self.last_seen = None;
        self.smoothers = None;
        self.track_start = None;
    }

    /// Is a person being tracked (so the next frame will skip the detector)?
    pub fn is_tracking(&self) -> bool {
        self.tracked.is_some()
    }

    /// Finds the pose in `frame` (seen at time `t`, seconds), recording step timings.
    pub fn estimate(
        &mut self,
        frame: &Frame,
        t: f64,
        timings: &mut Timings,
    ) -> Result<Option<Pose>, ModelError> {
        let tracked = if self.mode == Mode::Video {
            self.tracked.take()
        } else {
            None
        };
        let mut found = None;
        if let Some(roi) = tracked {
            found = self.landmarks_in(frame, &roi, timings)?.map(|r| (roi, r));
        }
        // Nobody tracked, or tracking lost: look for a person in this very frame.
        let detected = found.is_none();
        // Whoever was seen in the last REACQUIRE_S, if the detector has to look again.
        let near = match self.last_seen {
            Some((roi, seen)) if t >= seen && t - seen <= REACQUIRE_S => Some(roi),
            _ => None,
        };
        if detected {
            self.smoothers = None;
            for roi in self.detect(frame, near.as_ref(), timings)? {
                found = self.landmarks_of_detection(frame, roi, timings)?;
                if found.is_some() {
                    break;
                }
            }
        }
        let Some((roi, mut result)) = found else {
            self.smoothers = None;
            return Ok(None);
        };
        // Someone else, or the same person found again before their track settled. Settling
        // counts from when this person was first found, not from the last re-find, so
        // someone lost at every analysed frame (fast walking at a low `process_fps`) is
        // followed as one track after SETTLE_S rather than restarted for ever.
        let someone_else = detected && near.is_none_or(|last| !detector::could_be(&roi, &last));
        let settling = self
            .track_start
            .is_some_and(|start| t >= start && t - start < SETTLE_S);
        let new_track = someone_else || (detected && settling);
        if someone_else {
            self.track_start = Some(t);
        }

        let start = Instant::now();
        if self.mode == Mode::Video {
            let (aux0, aux1) = (result.points[33], result.points[34]);
            // The object scale is the unfiltered auxiliary ROI's size (MediaPipe's
            // OBJECT_SCALE_ROI): twice the distance between the two auxiliary points.
            let scale = 2.0 * ((aux1[0] - aux0[0]).powi(2) + (aux1[1] - aux0[1]).powi(2)).sqrt();
            let s = self.smoothers.get_or_insert_with(|| Smoothers {
                landmarks: LandmarkSmoother::new(NUM_LANDMARKS, LANDMARK_FILTER),
                aux: LandmarkSmoother::new(2, AUX_FILTER),
            });
            s.landmarks
                .apply(t, scale, &mut result.points[..NUM_LANDMARKS]);
            s.aux.apply(t, scale, &mut result.points[33..35]);
            let (a0, a1) = (result.points[33], result.points[34]);
            let next = Roi::from_alignment(
                (a0[0] as f32, a0[1] as f32),
                (a1[0] as f32, a1[1] as f32),
                1.25,
            );
            self.tracked = Some(next);
            self.last_seen = Some((next, t));
        }
        let (w, h) = (frame.width as f64, frame.height as f64);
        let mut landmarks = [Point::default(); NUM_LANDMARKS];
        for (out, p) in landmarks.iter_mut().zip(&result.points) {
            *out = Point {
                x: (p[0] / w) as f32,
                y: (p[1] / h) as f32,
                z: (p[2] / w) as f32,
                visibility: p[3] as f32,
            };
        }
        timings.record("post", start.elapsed());
        Ok(Some(Pose {
            landmarks,
            score: result.score,
            roi,
            detected,
            new_track,
        }))
    }

    /// Runs the detector; returns the ROIs to try, in order: the person matching `near`
    /// (someone just lost) if there is one, then the most prominent person, if any.
    fn detect(
        &mut self,
        frame: &Frame,
        near: Option<&Roi>,
        timings: &mut Timings,
    ) -> Result<Vec<Roi>, ModelError> {
        let start = Instant::now();
        let letterbox = Roi::letterbox(frame.width, frame.height);
        let out = self.detector.run(|buf| {
            warp_into(
                frame,
                &letterbox,
                detector::INPUT,
                self.detector_layout,
                Border::Zero,
                1.0 / 127.5,
                -1.0,
                buf,
            )
        })?;
        // One decoding at the lowest score needed. Someone just lost is looked for where they
        // were down to a lower detector score (the landmark model still has to find them
        // there); anyone else must score as MediaPipe requires.
        let min_score = if near.is_some() {
            detector::REACQUIRE_MIN_SCORE
        } else {
            detector::MIN_SCORE
        };
        let dets = detector::decode(values(&out[0])?, values(&out[1])?, &self.anchors, min_score);
        let rois = |dets: Vec<detector::Detection>| -> Vec<(Roi, f32)> {
            detector::weighted_nms(dets)
                .iter()
                .map(|d| (d.roi(&letterbox), d.score))
                .collect()
        };
        let (found_again, strong) = match near {
            Some(last) => {
                let strong = rois(
                    dets.iter()
                        .filter(|d| d.score >= detector::MIN_SCORE)
                        .cloned()
                        .collect(),
                );
                let weak = rois(dets);
                let again = detector::nearest_to(&weak, last).map(|i| weak[i].0);
                (again, strong)
            }
            None => (None, rois(dets)),
        };
        let prominent =
            detector::most_prominent(&strong, frame.width, frame.height).map(|i| strong[i].0);
        let mut candidates: Vec<Roi> = found_again.into_iter().collect();
        if let Some(p) = prominent
            && candidates.first() != Some(&p)
        {
            candidates.push(p);
        }
        timings.record("detector", start.elapsed());
        Ok(candidates)
    }

    /// The landmarks in a crop the detector proposed. The detector's rotation comes from two
    /// keypoints that arms or legs spread wide can throw off (a man doing jumping jacks comes
    /// out lying on his side); a crop turned the wrong way finds nobody, or a person made up
    /// to fit it whom tracking then follows. So a proposal turned more than
    /// [`UPRIGHT_CHECK_RAD`] from upright that finds nobody, or nobody with
    /// [`SURE_PRESENCE`], is also tried upright, and the crop with the higher presence score
    /// is kept. Presence cannot decide between two crops that both find someone for sure
    /// (0.99997 turned against 0.99999 upright for a man leaning 58°, whom the turned crop
    /// gets right), so a sure find in the turned crop stands, as in MediaPipe. Measured on the
    /// fixtures: people crouching, leaning and lying down (Pose2Sim turned 90°) score
    /// 0.991–0.99999 turned; the jumping man's turned crop found nobody or scored 0.53 and
    /// the upright one 0.93–0.99993.
    fn landmarks_of_detection(
        &mut self,
        frame: &Frame,
        roi: Roi,
        timings: &mut Timings,
    ) -> Result<Option<(Roi, RoiResult)>, ModelError> {
        let turned = self.landmarks_in(frame, &roi, timings)?.map(|r| (roi, r));
        let sure = turned
            .as_ref()
            .is_some_and(|(_, r)| r.score >= SURE_PRESENCE);
        if roi.rotation.abs() <= UPRIGHT_CHECK_RAD || sure {
            return Ok(turned);
        }
        let up = Roi {
            rotation: 0.0,
            ..roi
        };
        let upright = self.landmarks_in(frame, &up, timings)?.map(|r| (up, r));
        Ok(match (turned, upright) {
            (Some(t), Some(u)) => Some(if u.1.score > t.1.score { u } else { t }),
            (t, u) => t.or(u),
        })
    }

    /// Runs the landmark model on `roi`; `None` when nobody is there.
    fn landmarks_in(
        &mut self,
        frame: &Frame,
        roi: &Roi,
        timings: &mut Timings,
    ) -> Result<Option<RoiResult>, ModelError> {
        if !(roi.w > 1.0
            && roi.h > 1.0
            && roi.w.is_finite()
            && roi.cx.is_finite()
            && roi.cy.is_finite())
        {
            return Ok(None);
        }
        let mut crop_time = std::time::Duration::ZERO;
        let start = Instant::now();
        let out = self.landmarks.run(|buf| {
            warp_into(
                frame,
                roi,
                CROP,
                self.landmarks_layout,
                Border::Replicate,
                1.0 / 255.0,
                0.0,
                buf,
            );
            crop_time = start.elapsed();
        })?;
        timings.record("crop", crop_time);
        timings.record("landmarks", start.elapsed() - crop_time);

        let start = Instant::now();
        let raw = values(&out[0])?;
        let score = values(&out[1])?.first().copied().unwrap_or(0.0);
        if score < MIN_PRESENCE || raw.len() < MODEL_POINTS * 5 {
            timings.record("post", start.elapsed());
            return Ok(None);
        }
        let sigmoid = |v: f32| 1.0 / (1.0 + (-v as f64).exp());
        let c = CROP as f32;
        let mut xy: Vec<(f32, f32)> = (0..MODEL_POINTS)
            .map(|i| (raw[i * 5] / c, raw[i * 5 + 1] / c))
            .collect();
        refine_from_heatmap(&mut xy, values(&out[2])?);
        let mut points = [[0.0f64; 4]; MODEL_POINTS];
        for (i, p) in points.iter_mut().enumerate() {
            let r = &raw[i * 5..i * 5 + 5];
            let (x, y) = roi.to_frame(xy[i].0, xy[i].1);
            // z is scaled like x: by the ROI's width (MediaPipe's LandmarkProjection).
            *p = [x as f64, y as f64, (r[2] / c * roi.w) as f64, sigmoid(r[3])];
        }
        timings.record("post", start.elapsed());
        Ok(Some(RoiResult { score, points }))
    }
}

/// MediaPipe's `RefineLandmarksFromHeatmapCalculator` (kernel 7, min confidence 0.5): each
/// point moves to the confidence-weighted centre of the heatmap around it. `xy` is normalised
/// to the crop; `heatmap` is 64×64×39 logits (HWC).
fn refine_from_heatmap(xy: &mut [(f32, f32)], heatmap: &[f32]) {
    const HM: usize = 64;
    const OFF: i64 = 3;
    let n = xy.len();
    if heatmap.len() < HM * HM * n {
        return;
    }
    for (i, p) in xy.iter_mut().enumerate() {
        let col = (p.0 * HM as f32) as i64;
        let row = (p.1 * HM as f32) as i64;
        if col < 0 || col >= HM as i64 || row < 0 || row >= HM as i64 {
            continue;
        }
        let (r0, r1) = (
            (row - OFF).max(0) as usize,
            ((row + OFF + 1).min(HM as i64)) as usize,
        );
        let (c0, c1) = (
            (col - OFF).max(0) as usize,
            ((col + OFF + 1).min(HM as i64)) as usize,
        );
        let (mut sum, mut wc, mut wr, mut max) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        for r in r0..r1 {
            for c in c0..c1 {
                let conf = 1.0 / (1.0 + (-heatmap[(r * HM + c) * n + i]).exp());
                sum += conf;
                max = max.max(conf);
                wc += c as f32 * conf;
                wr += r as f32 * conf;
            }
        }
        if max >= 0.5 && sum > 0.0 {
            *p = (wc / HM as f32 / sum, wr / HM as f32 / sum);
        }
    }
}
