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
//!    lying on their side, whom tracking then follows. Also unlike MediaPipe, once searches
//!    have found nobody for [`ZOOM_AFTER_S`], every other search shows the detector one tile
//!    of the frame, zoomed in, instead of the whole ([`detector::tiles`]): people under about
//!    a fifth of the frame's longer side tall are too small for it in the whole frame.
//!    Someone found in a tile is taken only if the detector also sees them shown a square
//!    around them (`seen_closer`): zoomed in, it makes people up out of empty scenes. While
//!    someone is tracked, a tile clear of them is searched once a second for people too
//!    small for the whole frame ([`PoseEstimator::search_far`]): a head near the camera,
//!    tracked, would otherwise keep the far end of the room from being searched closer.
//! 2. The ROI is warped to 256×256 and the landmark model gives 39 points (33 landmarks and 2
//!    auxiliary ones), a presence score, visibilities and a heatmap that refines x, y.
//! 3. Below presence 0.5 the person is lost, and the detector looks for them from the next
//!    frame on, as MediaPipe does: a frame never runs the landmark model, the detector and
//!    the landmark model again (re-detecting in the same frame made those frames the slowest
//!    1%, ~3× the median, for one frame's pose). Otherwise landmarks are projected back to
//!    the frame, smoothed (video mode: One Euro filters scaled by the pose's size), and the
//!    auxiliary points give the next frame's ROI, so the detector does not run again while
//!    tracking holds.
//!
//! Up to `max_people` people are tracked at once, each with an id (from 1, never reused)
//! and their own crop and filters; per analysed frame each costs one landmark run. The
//! detector runs when nobody is tracked, while someone lost in the last [`REACQUIRE_S`] is
//! looked for, and every [`NEWCOMER_SEARCH_S`] while there is room for more (the whole frame,
//! and half-way between, a tile clear of the people tracked); never while everyone is
//! tracked. The people tracked are hidden from the detector when it looks for
//! others (with someone prominent in view, the detector scores everyone else low), and in
//! a video a search that found someone looks again with them hidden too. A detection on
//! someone tracked is not taken again, nor a person made of the pixels behind someone
//! tracked, and two tracks that end on one person (people passing each other, someone
//! walking behind a head near the camera) become one, the track that expected them there
//! keeping them. Someone lost is looked for where they were, of about their size, even
//! at a lower detector score ([`detector::REACQUIRE_MIN_SCORE`]; the landmark model's
//! presence score still confirms them), so they keep their id and a bystander (a therapist
//! beside the patient) does not take it; someone found again within [`FORGET_S`] near where
//! they left keeps it too, unless they had been tracked for less than [`FLEETING_S`] and
//! were lost while someone else was tracked (most often a person made up for a moment).
//! A pose that starts a new track ([`Pose::new_track`]): someone
//! new, someone found again after their crop had drifted, or found again within
//! [`SETTLE_S`] of being first found (the tracker has not settled on them yet, and their
//! first poses jump about); within [`SETTLE_S`] of the detector finding someone, a pose
//! that moved faster than people walk ([`SETTLING_SPEED`], [`SETTLING_SCALE_RATE`]), or,
//! after a pose that started a track, faster than half that ([`CONVERGING_SHARE`]): the
//! tracker closing in on them from a detection too large or on the wrong spot; and someone
//! found again where, or at a size, they cannot have got to since they were last seen.

pub mod detector;
pub mod filter;
pub mod geometry;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub use crate::config::{PoseModelKind, PosePrecision};
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
/// While a track is settling (within [`SETTLE_S`] of the detector finding the person), a
/// pose whose hips moved faster than this (torso lengths a second) since the last frame
/// starts a new track: the tracker was still closing in on the person, not the person moving.
/// In their first 0.5 s of tracking, real people walking (the Sports2D woman) and lunging
/// (Pose2Sim) moved at 0.1–3.5; tracks that began on a detection too large or on the wrong
/// spot slid onto their person at 8–15 (frames of the Sports2D clip held still), and a man
/// found mid-jump or running crouched jumped at 4–23 (some of it his own movement: above
/// walking pace, a restart costs nothing a person needs).
pub const SETTLING_SPEED: f64 = 6.0;
/// … or whose torso grew or shrank faster than this (|ln| of the ratio, a second): walking
/// and lunging 0–1.0, the sliding tracks 3–7, the man found mid-jump up to 26.
pub const SETTLING_SCALE_RATE: f64 = 2.0;
/// After a pose that started a new track (someone new, or a jump), the next poses of the
/// settling period also do while they move faster than this share of [`SETTLING_SPEED`] or
/// [`SETTLING_SCALE_RATE`]: the tracker is still closing in. On a frame of the Sports2D clip
/// held still (frame 5), a track found again on the wrong spot shrank at 3.3, 2.2, then 1.4
/// a second; read from the last of those, the man held still was `walk_away` for 0.6 s.
pub const CONVERGING_SHARE: f64 = 0.5;
/// A detector proposal turned more than this from upright (radians, ~29°) in which the
/// landmark model finds nobody, or nobody with at least [`SURE_PRESENCE`], is also tried
/// upright (step 1 in the module docs).
pub const UPRIGHT_CHECK_RAD: f32 = 0.5;
/// A presence score the landmark model gives people it really sees; below it, in a turned
/// crop, it may have made a person up to fit the crop.
pub const SURE_PRESENCE: f32 = 0.9;

/// While fewer than `max_people` are tracked, the detector looks for newcomers this often
/// (seconds of video). With everyone tracked it does not run at all.
pub const NEWCOMER_SEARCH_S: f64 = 1.0;
/// After searches have found nobody for this long (seconds of video), with nobody tracked,
/// every other search looks at a tile of the frame, zoomed in ([`detector::tiles`]).
pub const ZOOM_AFTER_S: f64 = 0.5;
/// While someone is tracked, a person found in a tile ([`PoseEstimator::search_far`]) is taken
/// only when shorter than this share of the frame's longer side (their landmarks, head to
/// foot): taller, the whole frame's search finds them (people down to about a fifth of it).
pub const FAR_MAX_HEIGHT: f64 = 0.2;
/// How long (seconds of video) someone lost is remembered: a person found again within it,
/// near where they were lost, keeps their id (someone walking out of view at the far end of a
/// Timed Up and Go test and back).
pub const FORGET_S: f64 = 10.0;
/// Someone tracked for less than this (seconds of video, from when they were first found to
/// when they were last seen) and lost while someone else is tracked is forgotten at once
/// (`PoseEstimator::remember`).
pub const FLEETING_S: f64 = 0.5;
/// Two poses whose shoulders and hips lie within this fraction of a crop side of each other,
/// on average, are one person.
const SAME_PERSON: f32 = 0.1;
/// Two results whose faces' centres lie within this much of the larger face's side are one
/// person (see `same_person`).
const SAME_HEAD: f64 = 0.5;
/// A person found with this much of their body's box inside a tracked person's is behind
/// them (see `behind`).
const BEHIND: f64 = 0.6;
/// A person's crop: the square MediaPipe's alignment gives, scaled by this.
const ROI_SCALE: f32 = 1.25;

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
    /// last seen, the same person found again within [`SETTLE_S`] of being first found or
    /// faster than people walk from where they were last seen, or a pose that jumped faster
    /// than that within [`SETTLE_S`] of the detector finding them. Movement measured across
    /// it would be one person's position against another's, or against a pose the landmark
    /// model had not yet settled on.
    pub new_track: bool,
    /// The person's id on this camera or in this file (from 1, never reused): the same
    /// while they are tracked, and when found again near where they were lost within
    /// [`FORGET_S`].
    pub person: u32,
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
            person: 1,
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
    /// `precision` is how their weights are kept ([`PosePrecision`], `pose.precision`).
    pub fn load(
        dir: &Path,
        kind: PoseModelKind,
        precision: PosePrecision,
    ) -> Result<PoseModels, ModelError> {
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
            precision,
        )?;
        // Landmarks, presence, and the heatmap MediaPipe refines x, y with.
        let names = LANDMARK_OUTPUTS.map(|(name, _)| name);
        let (landmarks, landmarks_layout) =
            OnnxModel::load_image(&landmarks_path, CROP, &names, precision).map_err(
                |e| match e {
                    ModelError::Load { path, message } => ModelError::Load {
                        path,
                        message: format!("pose.model = \"{kind}\": {message}"),
                    },
                    e => e,
                },
            )?;
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

impl RoiResult {
    /// The crop the landmarks imply (MediaPipe's alignment from the two auxiliary points:
    /// centred on the hips, sized by the body): where the track looks next.
    fn implied_roi(&self) -> Roi {
        let (a0, a1) = (self.points[33], self.points[34]);
        Roi::from_alignment(
            (a0[0] as f32, a0[1] as f32),
            (a1[0] as f32, a1[1] as f32),
            ROI_SCALE,
        )
    }
}

struct Smoothers {
    landmarks: LandmarkSmoother,
    aux: LandmarkSmoother,
}

/// Where a body is in one frame, in frame pixels: the hips' midpoint and the torso's length
/// (shoulders' midpoint to hips').
#[derive(Debug, Clone, Copy)]
struct BodyMark {
    hip: [f64; 2],
    torso: f64,
}

impl BodyMark {
    fn of(points: &[PixelPoint]) -> BodyMark {
        let mid = |a: usize, b: usize| {
            [
                (points[a][0] + points[b][0]) / 2.0,
                (points[a][1] + points[b][1]) / 2.0,
            ]
        };
        let [l_shoulder, r_shoulder, l_hip, r_hip] = TORSO;
        let (shoulders, hip) = (mid(l_shoulder, r_shoulder), mid(l_hip, r_hip));
        BodyMark {
            hip,
            torso: (shoulders[0] - hip[0]).hypot(shoulders[1] - hip[1]),
        }
    }

    /// Whether going from this body to `next`, `dt` seconds later, is faster than people
    /// walk ([`SETTLING_SPEED`], [`SETTLING_SCALE_RATE`]), at any frame rate.
    fn jumped_to(&self, next: &BodyMark, dt: f64) -> bool {
        self.faster_than(next, dt, 1.0)
    }

    /// Whether going to `next`, `dt` seconds later, is faster than `share` of
    /// [`SETTLING_SPEED`] or [`SETTLING_SCALE_RATE`].
    fn faster_than(&self, next: &BodyMark, dt: f64, share: f64) -> bool {
        let torso = self.torso.max(next.torso).max(1.0);
        let shift = (next.hip[0] - self.hip[0]).hypot(next.hip[1] - self.hip[1]) / torso;
        let scale = (next.torso.max(1.0) / self.torso.max(1.0)).ln().abs();
        let dt = dt.max(1e-3);
        shift / dt > share * SETTLING_SPEED || scale / dt > share * SETTLING_SCALE_RATE
    }
}

/// When and where someone's body was last seen (smoothed).
#[derive(Debug, Clone, Copy)]
struct Seen {
    at: f64,
    body: BodyMark,
}

/// Someone being tracked: the crop their landmarks will be looked for in next, their filters.
struct Track {
    person: u32,
    /// The ROI predicted from this frame's landmarks, for the next frame.
    next: Roi,
    smoothers: Smoothers,
    /// When this person was first found (settling counts from here).
    first_seen: f64,
    /// When the detector last found them: the crop this track follows started there.
    found_at: f64,
    /// When (the last frame they were found in) and where their body was.
    seen: Seen,
    /// Their last pose started a new track, and the tracker may still be closing in on them.
    converging: bool,
}

/// Someone tracked and then lost: where and when they were last seen, to find them again.
#[derive(Debug, Clone, Copy)]
struct Lost {
    person: u32,
    roi: Roi,
    at: f64,
    first_seen: f64,
    /// Their body when last seen (`None`: a track dropped as soon as the detector found it).
    seen: Option<Seen>,
}

/// A person found in this frame, before smoothing.
struct Found {
    person: u32,
    first_seen: f64,
    /// The crop the landmarks came from.
    roi: Roi,
    result: RoiResult,
    /// A tracked person's filters; `None` when the detector found them (filters start afresh).
    smoothers: Option<Smoothers>,
    new_track: bool,
    /// When the detector last found them (this frame, for a find).
    found_at: f64,
    /// A tracked person's body in the last frame (`None` for a find).
    last: Option<Seen>,
    /// A tracked person's [`Track::converging`]; for a find, whether it starts a new track.
    converging: bool,
}

/// Running totals of one tracker's work (Prometheus counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrackerCounters {
    /// Times the detector ran.
    pub detector_runs: u64,
    /// Times two tracks ended up on one person (one followed the other's person, as when
    /// people pass each other) and one was let go.
    pub track_switches: u64,
}

/// One camera's (or one file's) pose tracker: up to `max_people` people at once.
pub struct PoseEstimator {
    detector: Session,
    detector_layout: Layout,
    landmarks: Session,
    landmarks_layout: Layout,
    anchors: Arc<[Anchor]>,
    mode: Mode,
    max_people: usize,
    /// The people followed now, in the order they were first found.
    tracks: Vec<Track>,
    /// People lost in the last [`FORGET_S`] (video mode), to find them again.
    lost: Vec<Lost>,
    next_person: u32,
    /// Camera time the detector last looked for newcomers.
    last_search: f64,
    /// Camera time since which searches have found nobody with nobody tracked (video mode;
    /// see [`PoseEstimator::view`]).
    unseen_since: Option<f64>,
    /// Searches since then: every other one zooms in on a tile.
    searches_unseen: usize,
    /// The tile the last zoomed search looked at.
    tile: usize,
    /// Camera time of the last search for people far away while someone is tracked
    /// ([`PoseEstimator::search_far`]), and the tile it looked at.
    last_far_search: f64,
    far_tile: usize,
    counters: TrackerCounters,
}

impl PoseEstimator {
    /// A tracker following up to `max_people` people (at least one).
    pub fn new(
        models: &PoseModels,
        mode: Mode,
        max_people: usize,
    ) -> Result<PoseEstimator, ModelError> {
        Ok(PoseEstimator {
            detector: models.detector.session()?,
            detector_layout: models.detector_layout,
            landmarks: models.landmarks.session()?,
            landmarks_layout: models.landmarks_layout,
            anchors: models.anchors.clone(),
            mode,
            max_people: max_people.max(1),
            tracks: Vec::new(),
            lost: Vec::new(),
            next_person: 1,
            last_search: f64::NEG_INFINITY,
            unseen_since: None,
            searches_unseen: 0,
            tile: usize::MAX,
            last_far_search: f64::NEG_INFINITY,
            far_tile: usize::MAX,
            counters: TrackerCounters::default(),
        })
    }

    /// Forgets everyone tracked (e.g. after a gap in the video). Ids are not reused.
    pub fn reset(&mut self) {
        self.tracks.clear();
        self.lost.clear();
        self.last_search = f64::NEG_INFINITY;
        self.last_far_search = f64::NEG_INFINITY;
        self.unseen_since = None;
    }

    /// Is anyone being tracked (so the next frame need not run the detector)?
    pub fn is_tracking(&self) -> bool {
        !self.tracks.is_empty()
    }

    /// The tracker's running totals.
    pub fn counters(&self) -> TrackerCounters {
        self.counters
    }

    /// Finds the people in `frame` (seen at time `t`, seconds), recording step timings.
    /// Video mode tracks them from frame to frame (see the module docs), images are searched
    /// afresh. Poses come in the order people were first found; each carries its person's id.
    pub fn estimate(
        &mut self,
        frame: &Frame,
        t: f64,
        timings: &mut Timings,
    ) -> Result<Vec<Pose>, ModelError> {
        if self.mode == Mode::Image {
            self.tracks.clear();
            self.lost.clear();
        }
        self.lost.retain(|l| within(t, l.at, FORGET_S));
        // 1. Everyone tracked, in the crop their last landmarks predict.
        let mut found: Vec<Found> = Vec::new();
        let mut lost_now = false;
        let others = self.tracks.len() > 1;
        for track in std::mem::take(&mut self.tracks) {
            match self.landmarks_in(frame, &track.next, timings)? {
                Some(result) => found.push(Found {
                    person: track.person,
                    first_seen: track.first_seen,
                    roi: track.next,
                    result,
                    smoothers: Some(track.smoothers),
                    new_track: false,
                    found_at: track.found_at,
                    last: Some(track.seen),
                    converging: track.converging,
                }),
                None => {
                    lost_now = true;
                    let lost = Lost {
                        person: track.person,
                        roi: track.next,
                        at: track.seen.at,
                        first_seen: track.first_seen,
                        seen: Some(track.seen),
                    };
                    self.remember(lost, others);
                }
            }
        }
        self.drop_duplicate_tracks(&mut found, t, (frame.width as f64, frame.height as f64));
        // 2. The detector: when nobody is tracked; while someone lost in the last
        //    REACQUIRE_S is not found again; and every NEWCOMER_SEARCH_S while there is room
        //    for more. Never in a frame in which someone was just lost: that frame has already
        //    run a landmark model for nothing, and the search waits for the next one.
        let room = found.len() < self.max_people;
        let due = !(t >= self.last_search && t - self.last_search < NEWCOMER_SEARCH_S);
        let looking_for = self.lost.iter().any(|l| within(t, l.at, REACQUIRE_S));
        if !lost_now && (found.is_empty() || (room && (looking_for || due))) {
            self.last_search = t;
            self.search(frame, t, &mut found, timings)?;
        } else if self.mode == Mode::Video
            && !lost_now
            && room
            && !looking_for
            && !(t >= self.last_far_search && t - self.last_far_search < NEWCOMER_SEARCH_S)
            && t - self.last_search >= NEWCOMER_SEARCH_S / 2.0
        {
            // Half-way between two searches for newcomers: someone too small for the whole
            // frame, in a tile clear of the people tracked.
            self.last_far_search = t;
            self.search_far(frame, t, &mut found, timings)?;
        }
        // 3. Smoothing, and each person's crop for the next frame.
        let start = Instant::now();
        let mut poses = Vec::with_capacity(found.len());
        for f in found {
            let Found {
                person,
                first_seen,
                roi,
                mut result,
                smoothers,
                mut new_track,
                found_at,
                last,
                mut converging,
            } = f;
            let detected = smoothers.is_none();
            if self.mode == Mode::Video {
                let (aux0, aux1) = (result.points[33], result.points[34]);
                // The object scale is the unfiltered auxiliary ROI's size (MediaPipe's
                // OBJECT_SCALE_ROI): twice the distance between the two auxiliary points.
                let scale =
                    2.0 * ((aux1[0] - aux0[0]).powi(2) + (aux1[1] - aux0[1]).powi(2)).sqrt();
                let mut s = smoothers.unwrap_or_else(|| Smoothers {
                    landmarks: LandmarkSmoother::new(NUM_LANDMARKS, LANDMARK_FILTER),
                    aux: LandmarkSmoother::new(2, AUX_FILTER),
                });
                s.landmarks
                    .apply(t, scale, &mut result.points[..NUM_LANDMARKS]);
                s.aux.apply(t, scale, &mut result.points[33..35]);
                let next = result.implied_roi();
                let body = BodyMark::of(&result.points);
                // While the track settles: a jump, or, after one, anything faster than half
                // of one (the tracker still closing in), is not the person's movement.
                if let Some(last) = last {
                    let dt = t - last.at;
                    if t - found_at < SETTLE_S
                        && (last.body.jumped_to(&body, dt)
                            || (converging && last.body.faster_than(&body, dt, CONVERGING_SHARE)))
                    {
                        new_track = true;
                        converging = true;
                    } else {
                        converging = false;
                    }
                }
                self.tracks.push(Track {
                    person,
                    next,
                    smoothers: s,
                    first_seen,
                    found_at,
                    seen: Seen { at: t, body },
                    converging,
                });
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
            poses.push(Pose {
                landmarks,
                score: result.score,
                roi,
                detected,
                new_track,
                person,
            });
        }
        timings.record("post", start.elapsed());
        Ok(poses)
    }

    /// Two tracks that found the same person this frame (one crop slid onto the other's
    /// person, as when people pass each other or someone walks behind a head near the
    /// camera): the track that expected them there ([`misfit`]) keeps them; the other
    /// person counts as lost.
    fn drop_duplicate_tracks(&mut self, found: &mut Vec<Found>, t: f64, size: (f64, f64)) {
        let mut i = 0;
        while i < found.len() {
            let dup = (0..found.len()).find(|&j| {
                j != i && same_person(&found[i].result, &found[j].result, &found[i].roi, size)
            });
            let Some(j) = dup else {
                i += 1;
                continue;
            };
            let drop = if misfit(&found[i]) <= misfit(&found[j]) {
                j
            } else {
                i
            };
            let gone = found.remove(drop);
            self.counters.track_switches += 1;
            let lost = Lost {
                person: gone.person,
                roi: gone.roi,
                at: t,
                first_seen: gone.first_seen,
                seen: gone.last,
            };
            self.remember(lost, true);
            if drop < i {
                i -= 1;
            }
        }
    }

    /// Keeps someone just lost in memory, to be looked for where they were
    /// ([`REACQUIRE_S`]) and known again near there ([`FORGET_S`]), unless they were
    /// fleeting: tracked for less than [`FLEETING_S`] and lost while someone else was tracked
    /// (`others`). With others in view, the search makes people up of what shows around the
    /// boxes they are hidden behind (between two people, one above the other), and two
    /// crops can end on one person for a moment; such a person, remembered, was found again
    /// as whoever came near there next, and that real person took the made-up one's id
    /// (`scripts/reencoded-ids.sh`: the test clips re-encoded 38 ways, someone changed ids in
    /// 13 encodings, in 6 with fleeting people forgotten; docs/how-it-works.md).
    fn remember(&mut self, lost: Lost, others: bool) {
        if !(others && lost.at - lost.first_seen < FLEETING_S) {
            self.lost.push(lost);
        }
    }

    /// Runs the detector and adds the people it finds to `found`, up to `max_people`: first
    /// anyone lost in the last [`REACQUIRE_S`], where they were (even at a lower detector
    /// score), then newcomers, the most prominent first. People already tracked are hidden
    /// from the detector ([`hidden_box`]) and skipped; in a video, when this search found
    /// someone and there is still room, the detector runs once more with them hidden too (the
    /// most prominent person found first may have held everyone else's score down).
    fn search(
        &mut self,
        frame: &Frame,
        t: f64,
        found: &mut Vec<Found>,
        timings: &mut Timings,
    ) -> Result<(), ModelError> {
        // A still image searches once, as MediaPipe does: a second detector run would cost
        // every picture with someone in it as much again as its landmarks (~21 ms on the
        // development machine) to find, now and then, someone more.
        let passes = if self.mode == Mode::Video { 2 } else { 1 };
        let view = self.view(frame, t, found.is_empty());
        for _ in 0..passes {
            let before = found.len();
            self.search_once(frame, &view, t, found, false, timings)?;
            if found.len() == before || found.len() >= self.max_people {
                break;
            }
        }
        if !found.is_empty() {
            self.unseen_since = None;
        }
        found.sort_by_key(|f| f.person);
        Ok(())
    }

    /// The part of the frame a search shows the detector (frame pixels, upright): the whole
    /// frame, letterboxed, as in MediaPipe; but in a video in which searches have found nobody
    /// for [`ZOOM_AFTER_S`], with nobody tracked, every other search zooms in on the next
    /// tile ([`detector::tiles`]) instead. The detector runs no more often than before, still
    /// finds whoever it can see in the whole frame first, and finds people too small for it
    /// there (someone seated at the far end of a room) within 2 × tiles searches. Not while
    /// someone is tracked: zoomed in on part of someone large, the detector finds a person
    /// in their upper body, whom tracking then follows as someone else (see
    /// [`PoseEstimator::search_far`] for what is searched then).
    fn view(&mut self, frame: &Frame, t: f64, nobody_tracked: bool) -> Roi {
        let whole = Roi::letterbox(frame.width, frame.height);
        if self.mode == Mode::Image || !nobody_tracked {
            // (`search` forgets `unseen_since`: someone is there.)
            return whole;
        }
        let since = match self.unseen_since {
            Some(since) if t >= since => since,
            _ => {
                self.unseen_since = Some(t);
                self.searches_unseen = 0;
                t
            }
        };
        if t - since < ZOOM_AFTER_S {
            return whole;
        }
        self.searches_unseen += 1;
        if self.searches_unseen % 2 == 1 {
            return whole;
        }
        let tiles = detector::tiles(frame.width, frame.height);
        self.tile = self.tile.wrapping_add(1) % tiles.len();
        tiles[self.tile]
    }

    /// While someone is tracked, people too small for the detector in the whole frame are
    /// looked for in a tile clear of everyone tracked, the next such tile each time: every
    /// [`NEWCOMER_SEARCH_S`], half-way between the searches of the whole frame for
    /// newcomers, while there is room and nobody just lost is looked for. A head near the
    /// camera, tracked, kept the far end of the room from ever being searched closer: on the
    /// Sports2D clip shrunk into the middle of a 640×480 frame (people 60–85 pixels tall)
    /// with a real face pasted large into a bottom corner, the people were found in none of
    /// 230 frames. Only people smaller than the whole frame can show
    /// ([`FAR_MAX_HEIGHT`]) are taken from it: the whole frame's search finds the others,
    /// as before. Tiles over someone tracked are left out: zoomed in on part of someone
    /// large, the detector finds a person in their upper body.
    fn search_far(
        &mut self,
        frame: &Frame,
        t: f64,
        found: &mut Vec<Found>,
        timings: &mut Timings,
    ) -> Result<(), ModelError> {
        let tracked: Vec<[f32; 4]> = found.iter().map(|f| hidden_box(&f.result)).collect();
        let tiles = detector::tiles(frame.width, frame.height);
        let Some(i) = (1..=tiles.len())
            .map(|k| self.far_tile.wrapping_add(k) % tiles.len())
            .find(|&i| !tracked.iter().any(|b| overlaps(&tiles[i], b)))
        else {
            return Ok(());
        };
        self.far_tile = i;
        self.search_once(frame, &tiles[i], t, found, true, timings)?;
        found.sort_by_key(|f| f.person);
        Ok(())
    }

    /// One detector run of [`search`](Self::search), on `view`.
    fn search_once(
        &mut self,
        frame: &Frame,
        view: &Roi,
        t: f64,
        found: &mut Vec<Found>,
        small_only: bool,
        timings: &mut Timings,
    ) -> Result<(), ModelError> {
        let recent = |l: &Lost| within(t, l.at, REACQUIRE_S);
        let mut recently_lost: Vec<Lost> =
            self.lost.iter().filter(|l| recent(l)).copied().collect();
        recently_lost.sort_by(|a, b| b.at.total_cmp(&a.at));
        let hidden: Vec<[f32; 4]> = found.iter().map(|f| hidden_box(&f.result)).collect();
        let rois = self.detect(frame, view, !recently_lost.is_empty(), &hidden, timings)?;
        let tracked: Vec<Roi> = found.iter().map(|f| f.roi).collect();
        let mut free: Vec<(Roi, f32)> = rois
            .into_iter()
            .filter(|(r, _)| !tracked.iter().any(|tr| detector::covers(tr, r)))
            .collect();
        // Candidates: (crop, the lost person it is looked for as).
        let mut candidates: Vec<(Roi, Option<Lost>)> = Vec::new();
        for l in &recently_lost {
            if let Some(i) = detector::nearest_to(&free, &l.roi) {
                candidates.push((free.remove(i).0, Some(*l)));
            }
        }
        let strong: Vec<(Roi, f32)> = free
            .into_iter()
            .filter(|(_, s)| *s >= detector::MIN_SCORE)
            .collect();
        for i in detector::by_prominence(&strong, frame.width, frame.height) {
            candidates.push((strong[i].0, None));
        }
        let size = (frame.width as f64, frame.height as f64);
        // Zoomed in, the detector and the landmark model can make a person up out of an
        // empty scene: someone found in a tile must be seen closer too.
        let zoomed = *view != Roi::letterbox(frame.width, frame.height);
        // Each free place may cost a failed try or two, no more.
        let mut tries = self.max_people.saturating_sub(found.len()) + 1;
        for (roi, looked_for) in candidates {
            if found.len() >= self.max_people || tries == 0 {
                break;
            }
            tries -= 1;
            let Some((roi, result)) = self.landmarks_of_detection(frame, roi, timings)? else {
                continue;
            };
            if small_only && height(&result) > FAR_MAX_HEIGHT * frame.width.max(frame.height) as f64
            {
                continue;
            }
            if zoomed && !self.seen_closer(frame, &result, &hidden, timings)? {
                continue;
            }
            if found
                .iter()
                .any(|f| same_person(&f.result, &result, &f.roi, size))
                || hidden.iter().any(|h| behind(&result, h, size))
            {
                continue;
            }
            // Who is it? Someone just lost, where they were; or, within FORGET_S, someone lost
            // near here; or a newcomer.
            let again = looked_for.or_else(|| {
                self.lost
                    .iter()
                    .filter(|l| recent(l) && may_be_again(&roi, &l.roi))
                    .max_by(|a, b| a.at.total_cmp(&b.at))
                    .copied()
            });
            // Found again where the last crop was not quite them (of another size, a little
            // further: their last poses had drifted, as a tracker losing a jumping man does),
            // or further or larger than they can have got since they were last seen (the
            // tracker is not yet on them), is the same person, but movement measured across
            // the find would be the drift.
            let (person, first_seen, someone_else) = match again {
                Some(l) => {
                    let jumped = l.seen.is_some_and(|last| {
                        last.body
                            .jumped_to(&BodyMark::of(&result.points), t - last.at)
                    });
                    let drifted = !detector::could_be(&roi, &l.roi);
                    (l.person, l.first_seen, drifted || jumped)
                }
                None => match self.remembered_near(&roi) {
                    Some(l) => (l.person, t, true),
                    None => {
                        let id = self.next_person;
                        self.next_person += 1;
                        (id, t, true)
                    }
                },
            };
            self.lost.retain(|l| l.person != person);
            // Someone else, found again after drifting, or found again before their track
            // settled: movement measured across the find would not be this person's.
            let settling = t >= first_seen && t - first_seen < SETTLE_S;
            let new_track = self.mode == Mode::Video && (someone_else || settling);
            found.push(Found {
                person,
                first_seen,
                roi,
                result,
                smoothers: None,
                new_track,
                found_at: t,
                last: None,
                converging: new_track,
            });
        }
        Ok(())
    }

    /// Whether the detector, shown a square around someone found in a tile (their crop's
    /// side 1.5 times, then 2.5 times, centred on them), sees a person there too: a person
    /// centred within 0.3 crop sides of theirs, at [`detector::MIN_SCORE`]. Zoomed in on a
    /// tile, the detector and the landmark model made people up out of pictures with nobody
    /// in them (a coffee cup, a cat, flowers: found in 57–264 of 300 frames of each, looped
    /// with sensor noise); seen closer, those scored at most 0.32, real people found in
    /// tiles (the Sports2D clip shrunk into the middle of the frame, people 54–82 pixels
    /// tall) 0.56 and more. Placed in the frame's corners, some real finds are refused and
    /// found on a later pass (frames tracked 137, 120, 139, 130 against 160, 120, 159, 131
    /// unconfirmed). Costs one or two detector runs per person found in a tile. The people
    /// tracked (`hidden`) are hidden in that square too, as in the search: a head near the
    /// camera inside it held the detector's score for the person beyond down (the Sports2D
    /// clip shrunk, a head pasted at the bottom right: the first small person found at
    /// 4.5 s, a small person tracked in 91 frames; hidden, at 2.5 s, in 151).
    fn seen_closer(
        &mut self,
        frame: &Frame,
        result: &RoiResult,
        hidden: &[[f32; 4]],
        timings: &mut Timings,
    ) -> Result<bool, ModelError> {
        let crop = result.implied_roi();
        for zoom in [1.5, 2.5] {
            let view = Roi {
                w: zoom * crop.w,
                h: zoom * crop.w,
                rotation: 0.0,
                ..crop
            };
            let found = self.detect(frame, &view, false, hidden, timings)?;
            if found
                .iter()
                .any(|(r, _)| detector::distance(r, &crop) < 0.3 * crop.w)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Someone lost within [`FORGET_S`] who may have come back at `roi`: about the same size,
    /// within two crop sides of where they were last seen (the far end of a walk, out of
    /// view and back), the most recently lost first.
    fn remembered_near(&self, roi: &Roi) -> Option<Lost> {
        self.lost
            .iter()
            .filter(|l| {
                let side = l.roi.w.max(1.0);
                roi.w >= 0.5 * side
                    && roi.w <= 2.0 * side
                    && detector::distance(roi, &l.roi) <= 2.0 * side
            })
            .max_by(|a, b| a.at.total_cmp(&b.at))
            .copied()
    }

    /// Runs the detector on `view` (the whole frame letterboxed, or a square of it) with
    /// `hidden` (frame pixels: x0, y0, x1, y1) blanked out of its input; returns every person
    /// it proposes, in frame pixels (down to [`detector::REACQUIRE_MIN_SCORE`]
    /// when `reacquiring` someone just lost, else [`detector::MIN_SCORE`]), with their scores.
    fn detect(
        &mut self,
        frame: &Frame,
        view: &Roi,
        reacquiring: bool,
        hidden: &[[f32; 4]],
        timings: &mut Timings,
    ) -> Result<Vec<(Roi, f32)>, ModelError> {
        let start = Instant::now();
        self.counters.detector_runs += 1;
        let layout = self.detector_layout;
        let out = self.detector.run(|buf| {
            warp_into(
                frame,
                view,
                detector::INPUT,
                layout,
                Border::Zero,
                1.0 / 127.5,
                -1.0,
                buf,
            );
            for rect in hidden {
                // Black, as the letterbox's bands.
                detector::hide(buf, layout, view, *rect, -1.0);
            }
        })?;
        // One decoding at the lowest score needed: someone just lost is looked for where they
        // were down to a lower detector score (the landmark model still has to find them
        // there); anyone else must score as MediaPipe requires.
        let min_score = if reacquiring {
            detector::REACQUIRE_MIN_SCORE
        } else {
            detector::MIN_SCORE
        };
        let dets = detector::decode(values(&out[0])?, values(&out[1])?, &self.anchors, min_score);
        let rois = detector::weighted_nms(dets)
            .iter()
            .map(|d| (d.roi(view), d.score))
            .collect();
        timings.record("detector", start.elapsed());
        Ok(rois)
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

/// The face landmarks (nose, eyes, ears, mouth).
const FACE: std::ops::RangeInclusive<usize> = 0..=10;

/// The side of the square taken as a person's head, in sides of their face landmarks' box
/// (the larger of its width and height): the landmarks run from the eyes to the mouth and
/// ear to ear, the head beyond them.
const HEAD_SIDE: f32 = 1.5;

/// What a tracked person hides from the detector when it looks for others (frame pixels: x0,
/// y0, x1, y1): the box of their 33 landmarks and of their head. BlazePose is made to follow
/// one person, and its detector scores everyone else low when someone prominent is in view.
/// Measured on the Sports2D clip (640×360) with a real face pasted into its bottom-left
/// corner (a head and shoulders 216 pixels high), the woman walking past scored 0.93 alone
/// in the frame at 4.0 s and 0.23 with the face in view; blanking the face landmarks' box
/// gave her 0.94 in that frame, but not in every frame (in another composite the shoulders
/// still held her down); the whole box did. Without the face, hiding the man on the box
/// found her from 2.2 s instead of 3.2 s. Whoever is behind a tracked person is hidden with
/// them: they cannot be seen there anyway, and are found again as they come out.
fn hidden_box(r: &RoiResult) -> [f32; 4] {
    let ((cx, cy), side) = face(r);
    let half = HEAD_SIDE as f64 * side / 2.0;
    let body = bounds(&r.points[..NUM_LANDMARKS]);
    [
        body[0].min(cx - half) as f32,
        body[1].min(cy - half) as f32,
        body[2].max(cx + half) as f32,
        body[3].max(cy + half) as f32,
    ]
}

/// The height of a result's landmarks, head to foot (pixels).
fn height(r: &RoiResult) -> f64 {
    let b = bounds(&r.points[..NUM_LANDMARKS]);
    b[3] - b[1]
}

/// Whether an upright `tile` and a box (x0, y0, x1, y1, pixels) overlap.
fn overlaps(tile: &Roi, b: &[f32; 4]) -> bool {
    let (x0, y0) = (tile.cx - tile.w / 2.0, tile.cy - tile.h / 2.0);
    let (x1, y1) = (tile.cx + tile.w / 2.0, tile.cy + tile.h / 2.0);
    b[0] < x1 && b[2] > x0 && b[1] < y1 && b[3] > y0
}

/// The box (x0, y0, x1, y1, pixels) around `points`.
fn bounds(points: &[PixelPoint]) -> [f64; 4] {
    points
        .iter()
        .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, p| {
            [
                b[0].min(p[0]),
                b[1].min(p[1]),
                b[2].max(p[0]),
                b[3].max(p[1]),
            ]
        })
}

/// The centre of a result's face landmarks' box and its side (the larger of its width and
/// height), pixels.
fn face(r: &RoiResult) -> ((f64, f64), f64) {
    let b = bounds(&r.points[FACE]);
    (
        ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0),
        (b[2] - b[0]).max(b[3] - b[1]),
    )
}

/// The box around a result's 33 landmarks, cut to the frame `size`.
fn outline(r: &RoiResult, size: (f64, f64)) -> [f64; 4] {
    let b = bounds(&r.points[..NUM_LANDMARKS]);
    [
        b[0].clamp(0.0, size.0),
        b[1].clamp(0.0, size.1),
        b[2].clamp(0.0, size.0),
        b[3].clamp(0.0, size.1),
    ]
}

/// Shoulders and hips, the points that tell one person from another.
const TORSO: [usize; 4] = [11, 12, 23, 24];

/// Whether two landmark results are one person: shoulders and hips within [`SAME_PERSON`] of
/// `roi`'s side of each other on average, faces' centres within [`SAME_HEAD`] of the larger
/// face's side, or bodies ([`outline`]s) overlapping by more than half (a person half out of
/// view, whose hidden half two crops guess differently).
fn same_person(a: &RoiResult, b: &RoiResult, roi: &Roi, size: (f64, f64)) -> bool {
    let mean: f64 = TORSO
        .iter()
        .map(|&i| {
            let (p, q) = (a.points[i], b.points[i]);
            ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt()
        })
        .sum::<f64>()
        / TORSO.len() as f64;
    if mean < (SAME_PERSON * roi.w.max(1.0)) as f64 {
        return true;
    }
    // Heads in one place: nobody can be seen behind a head.
    let (((ax, ay), a_side), ((bx, by), b_side)) = (face(a), face(b));
    if (ax - bx).hypot(ay - by) < SAME_HEAD * a_side.max(b_side) {
        return true;
    }
    let (p, q) = (outline(a, size), outline(b, size));
    let inter = overlap(&p, &q);
    let union = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter;
    union > 0.0 && inter / union > 0.5
}

/// How far a tracked person's landmarks this frame are from where their track expected them:
/// the crop the landmarks imply (MediaPipe's alignment: centred on the hips, sized by the
/// body) against the crop they were looked for in, as the centres' distance in crop sides
/// plus the log of the sides' ratio. A track that slid onto someone else (passing behind
/// them) jumps in place or size; the person's own track does not.
fn misfit(f: &Found) -> f32 {
    let now = f.result.implied_roi();
    let side = f.roi.w.max(1.0);
    detector::distance(&now, &f.roi) / side + (now.w.max(1.0) / side).ln().abs()
}

/// Whether a person found by the detector lies behind someone tracked: their face's centre
/// and [`BEHIND`] or more of their [`outline`] inside that person's [`hidden_box`] `h`. Nobody
/// can be seen there: the detector, with the tracked person hidden, proposed something at the
/// edge of the blanked box, and the landmark model made a person of the tracked one's pixels
/// (a seated bystander's head near the camera, with someone lost behind it).
fn behind(r: &RoiResult, h: &[f32; 4], size: (f64, f64)) -> bool {
    let ((fx, fy), _) = face(r);
    let inside = |x: f64, y: f64| {
        x >= h[0] as f64 && x <= h[2] as f64 && y >= h[1] as f64 && y <= h[3] as f64
    };
    if !inside(fx, fy) {
        return false;
    }
    let b = outline(r, size);
    let area = (b[2] - b[0]) * (b[3] - b[1]);
    let h = h.map(f64::from);
    area > 0.0 && overlap(&b, &h) >= BEHIND * area
}

/// The area two boxes (x0, y0, x1, y1) share.
fn overlap(p: &[f64; 4], q: &[f64; 4]) -> f64 {
    let iw = (p[2].min(q[2]) - p[0].max(q[0])).max(0.0);
    let ih = (p[3].min(q[3]) - p[1].max(q[1])).max(0.0);
    iw * ih
}

/// Whether someone lost at `lost` a moment ago may be the person detected at `r`: within one
/// crop side (the larger) of where they were, of a size within 3× (a person jumping or
/// crouching changes their crop's size faster than the tracker follows).
fn may_be_again(r: &Roi, lost: &Roi) -> bool {
    let side = r.w.max(lost.w).max(1.0);
    let ratio = r.w.max(1.0) / lost.w.max(1.0);
    detector::distance(r, lost) <= side && (1.0 / 3.0..=3.0).contains(&ratio)
}

/// Whether `at` lies within `span_s` before `t` (not after it: a clock that went back, a new
/// source, is not "recent").
pub fn within(t: f64, at: f64, span_s: f64) -> bool {
    t >= at && t - at <= span_s
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A standing person's landmark result: face points (0-10) in a box `face` px wide
    /// centred at `head`, shoulders and hips below it, the rest at the hips, and the two
    /// alignment points (33, 34) at the hips and above the head.
    fn person(head: (f64, f64), face: f64, height: f64) -> RoiResult {
        let (x, y) = head;
        let mut points = [[x, y + 0.5 * height, 0.0, 1.0]; MODEL_POINTS];
        for (i, p) in points.iter_mut().enumerate().take(11) {
            let k = i as f64 / 10.0 - 0.5;
            *p = [x + k * face, y + 0.6 * k * face, 0.0, 1.0];
        }
        points[11] = [x - 0.15 * height, y + 0.15 * height, 0.0, 1.0];
        points[12] = [x + 0.15 * height, y + 0.15 * height, 0.0, 1.0];
        points[23] = [x - 0.1 * height, y + 0.5 * height, 0.0, 1.0];
        points[24] = [x + 0.1 * height, y + 0.5 * height, 0.0, 1.0];
        points[27] = [x, y + 0.95 * height, 0.0, 1.0];
        points[33] = [x, y + 0.5 * height, 0.0, 1.0];
        points[34] = [x, y - 0.1 * height, 0.0, 1.0];
        RoiResult { score: 1.0, points }
    }

    const SIZE: (f64, f64) = (640.0, 360.0);

    /// A seated bystander's head near the camera (a 50 px face, the body the landmark model
    /// imagines below the frame) and what a crop beside it may make of it: a small figure
    /// whose face is on theirs and whose torso is not. One person, by the head.
    #[test]
    fn two_results_with_their_faces_in_one_place_are_one_person() {
        let bystander = person((90.0, 275.0), 50.0, 450.0);
        let roi = Roi::from_alignment((90.0, 500.0), (90.0, 230.0), ROI_SCALE);
        let on_the_face = person((85.0, 262.0), 10.0, 80.0);
        assert!(same_person(&bystander, &on_the_face, &roi, SIZE));
        // The same figure beside the head is someone else.
        let beside = person((185.0, 262.0), 10.0, 80.0);
        assert!(!same_person(&bystander, &beside, &roi, SIZE));
    }

    /// Found with the bystander hidden, a figure inside their blanked box is behind them; one
    /// whose head shows above it is not, even with most of their body behind.
    #[test]
    fn a_person_found_inside_a_hidden_box_is_behind_it() {
        let bystander = person((90.0, 275.0), 50.0, 450.0);
        let h = hidden_box(&bystander);
        assert!(behind(&person((80.0, 250.0), 10.0, 80.0), &h, SIZE));
        assert!(!behind(&person((80.0, 180.0), 10.0, 140.0), &h, SIZE));
        assert!(!behind(&person((300.0, 250.0), 10.0, 80.0), &h, SIZE));
    }

    /// A body's jump is judged per second, so the same movement gets the same verdict at 30
    /// and at 5 analysed frames a second.
    #[test]
    fn a_jump_is_judged_by_its_speed_at_any_frame_rate() {
        let body = |x: f64, torso: f64| BodyMark {
            hip: [x, 200.0],
            torso,
        };
        for fps in [30.0, 5.0] {
            let dt = 1.0 / fps;
            let from = body(100.0, 50.0);
            // Walking: 2 torso lengths a second; growing 5% a second (toward the camera).
            let walked = body(100.0 + 2.0 * 50.0 * dt, 50.0 * (0.05 * dt).exp());
            assert!(!from.jumped_to(&walked, dt), "{fps} fps");
            // Sliding onto someone at 10 torso lengths a second.
            let slid = body(100.0 + 10.0 * 50.0 * dt, 50.0);
            assert!(from.jumped_to(&slid, dt), "{fps} fps");
            // Halving in 0.2 s: ln 2 / 0.2 ≈ 3.5 a second.
            let shrunk = body(100.0, 50.0 * (-(2f64.ln()) / 0.2 * dt).exp());
            assert!(from.jumped_to(&shrunk, dt), "{fps} fps");
        }
    }

    /// Two tracks on one person: the one whose crop the landmarks fit keeps them; the one
    /// that slid there (its crop elsewhere, of another size) does not.
    #[test]
    fn the_track_that_expected_a_person_there_fits_them_better() {
        let result = person((300.0, 100.0), 20.0, 200.0);
        let theirs = result.implied_roi();
        let slid = Roi {
            cx: theirs.cx - 60.0,
            cy: theirs.cy - 40.0,
            w: 0.5 * theirs.w,
            h: 0.5 * theirs.h,
            ..theirs
        };
        let found = |roi: Roi| Found {
            person: 1,
            first_seen: 0.0,
            roi,
            result: RoiResult {
                score: result.score,
                points: result.points,
            },
            smoothers: None,
            new_track: false,
            found_at: 0.0,
            last: None,
            converging: false,
        };
        assert!(misfit(&found(theirs)) < 0.01);
        assert!(misfit(&found(slid)) > 0.5);
    }
}
