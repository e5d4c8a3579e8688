//! Zones: named areas of a camera's image (a chair, a bed, a doorway, a mat), who is in each
//! and for how long.
//!
//! A person is in a zone by the point they stand or sit on, not their outline: between their
//! ankles when both are seen, else between their hips (someone seated with their feet hidden,
//! or cut off at the knees by the frame). A change counts once it has held for
//! [`ZONE_HOLD_S`] (a foot landmark jittering over a zone's edge is no visit) and is dated to
//! the first frame it was seen in. Someone out of view for [`OUT_OF_VIEW_S`] has left every
//! zone, at the last moment they were seen.

use serde::Serialize;

use crate::config::ZoneConfig;
use crate::landmarks::{NUM_LANDMARKS, Point};

/// A zone change must hold this long (s) to count.
pub const ZONE_HOLD_S: f64 = 0.5;
/// Someone unseen for this long (s) has left the zones they were in.
pub const OUT_OF_VIEW_S: f64 = 2.0;
/// Ankles count as seen from this visibility on.
const ANKLE_VISIBLE: f32 = 0.5;

/// A zone entered or left.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneEvent {
    pub zone: String,
    pub person: u32,
    /// `enter` or `leave`.
    pub phase: &'static str,
    /// When (camera time, s).
    pub at: f64,
    /// On leaving: how long they were in it (s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dwell_s: Option<f64>,
}

/// One visit: a person in a zone from `enter` to `leave`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneVisit {
    pub zone: String,
    pub enter: f64,
    /// `None` while still inside.
    pub leave: Option<f64>,
    pub dwell_s: Option<f64>,
}

/// Who is in one zone now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Occupancy {
    pub zone: String,
    /// Ids of the people inside, in order.
    pub people: Vec<u32>,
}

/// Where a person stands or sits, normalised: between the ankles if both are seen, else
/// between the hips.
pub fn standing_point(lm: &[Point; NUM_LANDMARKS]) -> (f32, f32) {
    let mid = |a: &Point, b: &Point| ((a.x + b.x) / 2.0, (a.y + b.y) / 2.0);
    let (la, ra) = (&lm[27], &lm[28]);
    if la.visibility >= ANKLE_VISIBLE && ra.visibility >= ANKLE_VISIBLE {
        mid(la, ra)
    } else {
        mid(&lm[23], &lm[24])
    }
}

/// Whether `(x, y)` lies inside `polygon` (even-odd rule).
pub fn contains(polygon: &[[f32; 2]], (x, y): (f32, f32)) -> bool {
    let mut inside = false;
    let n = polygon.len();
    for i in 0..n {
        let [xi, yi] = polygon[i];
        let [xj, yj] = polygon[(i + n - 1) % n];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
    }
    inside
}

/// One person's standing in one zone.
#[derive(Debug, Clone)]
struct Membership {
    person: u32,
    zone: usize,
    /// Counted as inside since this time.
    entered: Option<f64>,
    /// A change seen but not yet held long enough: (inside?, first seen at).
    pending: Option<(bool, f64)>,
    last_seen: f64,
}

/// A change of a person's standing in a zone that has held [`ZONE_HOLD_S`].
enum Held {
    /// Inside since then.
    Entered(f64),
    /// Outside since `since`, after being inside from `entered`.
    Left { entered: f64, since: f64 },
}

impl Membership {
    /// One sighting at `t`, inside the zone or not: the change it completes, if any.
    fn observe(&mut self, inside: bool, t: f64) -> Option<Held> {
        if inside == self.entered.is_some() {
            self.pending = None;
            return None;
        }
        let since = match self.pending {
            Some((p, since)) if p == inside => since,
            _ => {
                self.pending = Some((inside, t));
                t
            }
        };
        if t - since < ZONE_HOLD_S {
            return None;
        }
        self.pending = None;
        if inside {
            self.entered = Some(since);
            Some(Held::Entered(since))
        } else {
            self.entered
                .take()
                .map(|entered| Held::Left { entered, since })
        }
    }
}

/// A camera's (or a file's) zones and who is in them.
#[derive(Debug, Clone, Default)]
pub struct ZoneTracker {
    zones: Vec<ZoneConfig>,
    members: Vec<Membership>,
}

impl ZoneTracker {
    pub fn new(zones: Vec<ZoneConfig>) -> ZoneTracker {
        ZoneTracker {
            zones,
            members: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.zones.is_empty()
    }

    /// One frame at `t`: everyone remembered, with their landmarks when in view. Returns the
    /// zones entered and left.
    pub fn update<'a>(
        &mut self,
        t: f64,
        people: impl IntoIterator<Item = (u32, Option<&'a [Point; NUM_LANDMARKS]>)>,
    ) -> Vec<ZoneEvent> {
        let mut events = Vec::new();
        if self.zones.is_empty() {
            return events;
        }
        let mut present = Vec::new();
        for (person, lm) in people {
            present.push(person);
            let Some(lm) = lm else { continue };
            let point = standing_point(lm);
            for z in 0..self.zones.len() {
                let inside = contains(&self.zones[z].polygon, point);
                let i = match self
                    .members
                    .iter()
                    .position(|m| m.person == person && m.zone == z)
                {
                    Some(i) => i,
                    None if inside => {
                        self.members.push(Membership {
                            person,
                            zone: z,
                            entered: None,
                            pending: None,
                            last_seen: t,
                        });
                        self.members.len() - 1
                    }
                    None => continue,
                };
                let m = &mut self.members[i];
                m.last_seen = t;
                let name = || self.zones[z].name.clone();
                match m.observe(inside, t) {
                    Some(Held::Entered(since)) => events.push(ZoneEvent {
                        zone: name(),
                        person,
                        phase: "enter",
                        at: since,
                        dwell_s: None,
                    }),
                    Some(Held::Left { entered, since }) => {
                        events.push(leave(name(), person, entered, since))
                    }
                    None => {}
                }
            }
        }
        // Out of view too long, or forgotten: gone from every zone at their last sighting.
        let zones = &self.zones;
        self.members.retain_mut(|m| {
            let gone = !present.contains(&m.person) || t - m.last_seen >= OUT_OF_VIEW_S;
            if !gone {
                return m.entered.is_some() || m.pending.is_some();
            }
            if let Some(entered) = m.entered.take() {
                let at = m.last_seen.max(entered);
                events.push(leave(zones[m.zone].name.clone(), m.person, entered, at));
            }
            false
        });
        events
    }

    /// The end of a file or source: everyone inside leaves at their last sighting.
    pub fn finish(&mut self) -> Vec<ZoneEvent> {
        let zones = &self.zones;
        self.members
            .drain(..)
            .filter_map(|m| {
                let entered = m.entered?;
                Some(leave(
                    zones[m.zone].name.clone(),
                    m.person,
                    entered,
                    m.last_seen.max(entered),
                ))
            })
            .collect()
    }

    /// Who is in each zone now (every zone, empty ones too).
    pub fn occupancy(&self) -> Vec<Occupancy> {
        self.zones
            .iter()
            .enumerate()
            .map(|(z, zone)| {
                let mut people: Vec<u32> = self
                    .members
                    .iter()
                    .filter(|m| m.zone == z && m.entered.is_some())
                    .map(|m| m.person)
                    .collect();
                people.sort_unstable();
                Occupancy {
                    zone: zone.name.clone(),
                    people,
                }
            })
            .collect()
    }
}

fn leave(zone: String, person: u32, entered: f64, at: f64) -> ZoneEvent {
    ZoneEvent {
        zone,
        person,
        phase: "leave",
        at,
        dwell_s: Some(((at - entered) * 100.0).round() / 100.0),
    }
}

/// A person's visits from their zone events, in order (a visit still open has no `leave`).
pub fn visits(events: &[ZoneEvent]) -> Vec<ZoneVisit> {
    let mut out: Vec<ZoneVisit> = Vec::new();
    for e in events {
        if e.phase == "enter" {
            out.push(ZoneVisit {
                zone: e.zone.clone(),
                enter: e.at,
                leave: None,
                dwell_s: None,
            });
        } else if let Some(v) = out
            .iter_mut()
            .rev()
            .find(|v| v.zone == e.zone && v.leave.is_none())
        {
            v.leave = Some(e.at);
            v.dwell_s = e.dwell_s;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::landmarks::test_body;

    fn square(name: &str, x0: f32, y0: f32, x1: f32, y1: f32) -> ZoneConfig {
        ZoneConfig {
            name: name.into(),
            polygon: vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1]],
        }
    }

    /// A body whose standing point is at (x, y).
    fn at(x: f32, y: f32) -> [Point; NUM_LANDMARKS] {
        let mut b = test_body(0.0);
        let (px, py) = standing_point(&b);
        for p in &mut b {
            p.x += x - px;
            p.y += y - py;
        }
        b
    }

    #[test]
    fn polygons_contain_by_the_even_odd_rule() {
        let tri = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]];
        assert!(contains(&tri, (0.2, 0.2)));
        assert!(!contains(&tri, (0.8, 0.8)));
        // A concave L: the notch is outside.
        let l = [
            [0.0, 0.0],
            [1.0, 0.0],
            [1.0, 0.5],
            [0.5, 0.5],
            [0.5, 1.0],
            [0.0, 1.0],
        ];
        assert!(contains(&l, (0.25, 0.75)));
        assert!(!contains(&l, (0.75, 0.75)));
    }

    #[test]
    fn visits_are_dated_to_their_first_frame_and_jitter_is_no_visit() {
        let mut z = ZoneTracker::new(vec![square("mat", 0.5, 0.0, 1.0, 1.0)]);
        let mut events = Vec::new();
        // 10 fps: outside for 1 s, one frame inside (jitter), outside, then inside from 2.0 s
        // to 5.0 s, then outside.
        for i in 0..80 {
            let t = i as f64 / 10.0;
            let inside = i == 12 || (20..50).contains(&i);
            let body = at(if inside { 0.7 } else { 0.3 }, 0.8);
            events.extend(z.update(t, [(1, Some(&body))]));
            if i == 30 {
                assert_eq!(z.occupancy()[0].people, vec![1]);
            }
        }
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!((events[0].phase, events[0].at), ("enter", 2.0));
        assert_eq!((events[1].phase, events[1].at), ("leave", 5.0));
        assert_eq!(events[1].dwell_s, Some(3.0));
        assert!(z.occupancy()[0].people.is_empty());
        let v = visits(&events);
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].enter, v[0].leave), (2.0, Some(5.0)));
    }

    #[test]
    fn someone_out_of_view_leaves_at_their_last_sighting() {
        let mut z = ZoneTracker::new(vec![square("bed", 0.0, 0.0, 1.0, 1.0)]);
        let body = at(0.5, 0.5);
        let mut events = Vec::new();
        for i in 0..=20 {
            events.extend(z.update(i as f64 / 10.0, [(3, Some(&body))]));
        }
        // Remembered but unseen for more than OUT_OF_VIEW_S.
        for i in 21..=50 {
            events.extend(z.update(i as f64 / 10.0, [(3, None)]));
        }
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[1].phase, "leave");
        assert_eq!(events[1].at, 2.0);
        assert_eq!(events[1].person, 3);
        // Still inside at the end of a file: left at the last sighting.
        let mut z = ZoneTracker::new(vec![square("bed", 0.0, 0.0, 1.0, 1.0)]);
        for i in 0..=10 {
            z.update(i as f64 / 10.0, [(1, Some(&body))]);
        }
        let end = z.finish();
        assert_eq!(end.len(), 1);
        assert_eq!((end[0].at, end[0].dwell_s), (1.0, Some(1.0)));
    }

    #[test]
    fn the_standing_point_is_the_ankles_else_the_hips() {
        let mut b = test_body(0.0);
        let (ax, ay) = standing_point(&b);
        assert!((ay - (b[27].y + b[28].y) / 2.0).abs() < 1e-6, "{ax} {ay}");
        b[27].visibility = 0.1;
        let (_, hy) = standing_point(&b);
        assert!((hy - (b[23].y + b[24].y) / 2.0).abs() < 1e-6);
    }
}
