//! Whether someone is in view, in frame time: what an occupancy sensor needs (MQTT
//! `person_present`, the Home Assistant occupancy sensor). It follows the pose stage, not the
//! activity decoder, whose `no_person` lags the frames by its decision delay.

/// How long (s of video) someone must have been found, frame after frame, to be reported
/// present. A pose in one stray frame of an empty room is not someone walking in.
pub const PRESENCE_ON_S: f64 = 0.2;
/// A gap (s) between frames with someone that still counts as "frame after frame" (one
/// missed frame at 10 fps and up).
const PRESENCE_GAP_S: f64 = 0.35;

/// Whether someone is in view, in frame time. The activity decoder's `no_person` lags the
/// frames by its decision delay and holds for its minimum durations (about 0.9 s to report
/// someone who walked in); presence is what an occupancy sensor needs, so it follows the
/// pose stage: on after [`PRESENCE_ON_S`] of finds, off after `off_s` without one.
pub(crate) struct Presence {
    off_s: f64,
    present: bool,
    /// Start of the current run of finds, and the last find.
    run: Option<(f64, f64)>,
    /// The previous analysed frame had someone.
    prev_seen: bool,
}

impl Presence {
    pub(crate) fn new(off_s: f64) -> Presence {
        Presence {
            off_s,
            present: false,
            run: None,
            prev_seen: false,
        }
    }

    pub(crate) fn update(&mut self, t: f64, seen: bool) -> bool {
        if seen {
            let start = match self.run {
                Some((start, last)) if self.prev_seen || t - last <= PRESENCE_GAP_S => start,
                _ => t,
            };
            self.run = Some((start, t));
            if t - start >= PRESENCE_ON_S {
                self.present = true;
            }
        } else if self.run.is_none_or(|(_, last)| t - last >= self.off_s) {
            self.present = false;
        }
        self.prev_seen = seen;
        self.present
    }
}
