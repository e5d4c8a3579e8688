//! Prometheus metrics (`/metrics`): HTTP requests and latencies, per-camera frame rates and
//! counters, per-stage inference time, prediction confidence, activity counts, detection
//! rate, and the MQTT queue.
//!
//! Per-frame values are recorded by an async task reading the workers' analyses, so the
//! inference threads do no bookkeeping; camera gauges are refreshed from health at scrape time.

use std::sync::Arc;

use crate::classify::Label;
use crate::events::EventKind;
use crate::health::Health;
use crate::pipeline::{Analyses, Analysis};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use crate::pose::TrackerCounters;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets, linear_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabels {
    pub endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub endpoint: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CameraLabels {
    pub camera: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    pub camera: String,
    pub stage: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActivityLabels {
    pub camera: String,
    pub activity: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

fn confidence_histogram() -> Histogram {
    Histogram::new(linear_buckets(0.1, 0.1, 9))
}

/// Every metric the daemon exports.
pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<RequestLabels, Counter>,
    pub http_latency: HistogramFamily<EndpointLabels>,
    pub camera_fps: Family<CameraLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub process_fps: Family<CameraLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub frames: Family<CameraLabels, Gauge>,
    pub skipped: Family<CameraLabels, Gauge>,
    pub dropped: Family<CameraLabels, Gauge>,
    pub reconnects: Family<CameraLabels, Gauge>,
    pub stage_seconds: HistogramFamily<StageLabels>,
    pub confidence: HistogramFamily<CameraLabels>,
    pub activities: Family<ActivityLabels, Counter>,
    pub frames_analysed: Family<CameraLabels, Counter>,
    pub frames_with_person: Family<CameraLabels, Counter>,
    pub people_tracked: Family<CameraLabels, Gauge>,
    pub detector_runs: Family<CameraLabels, Counter>,
    pub track_switches: Family<CameraLabels, Counter>,
    /// Each camera's tracker totals at its last analysis, to count what was added since.
    tracker_last: std::sync::Mutex<std::collections::HashMap<String, TrackerCounters>>,
    pub mqtt_queue_depth: Gauge,
    pub mqtt_dropped: Counter,
    pub mqtt_published: Counter,
    pub predictions_rejected: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("activityd");
        let m = Metrics {
            http_requests: Family::default(),
            http_latency: Family::new_with_constructor(latency_histogram),
            camera_fps: Family::default(),
            process_fps: Family::default(),
            frames: Family::default(),
            skipped: Family::default(),
            dropped: Family::default(),
            reconnects: Family::default(),
            stage_seconds: Family::new_with_constructor(latency_histogram),
            confidence: Family::new_with_constructor(confidence_histogram),
            activities: Family::default(),
            frames_analysed: Family::default(),
            frames_with_person: Family::default(),
            people_tracked: Family::default(),
            detector_runs: Family::default(),
            track_switches: Family::default(),
            tracker_last: Default::default(),
            mqtt_queue_depth: Gauge::default(),
            mqtt_dropped: Counter::default(),
            mqtt_published: Counter::default(),
            predictions_rejected: Counter::default(),
            registry: Registry::default(),
        };
        r.register(
            "http_requests",
            "HTTP requests by endpoint and status",
            m.http_requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            m.http_latency.clone(),
        );
        r.register(
            "camera_fps",
            "Frames per second captured",
            m.camera_fps.clone(),
        );
        r.register(
            "process_fps",
            "Frames per second analysed",
            m.process_fps.clone(),
        );
        r.register("camera_frames", "Frames captured", m.frames.clone());
        r.register(
            "camera_skipped_frames",
            "Frames passed over by the process_fps cap",
            m.skipped.clone(),
        );
        r.register(
            "camera_dropped_frames",
            "Frames dropped because inference was behind",
            m.dropped.clone(),
        );
        r.register(
            "camera_reconnects",
            "Times the camera source was reopened",
            m.reconnects.clone(),
        );
        r.register(
            "inference_stage_seconds",
            "Time per inference stage per frame",
            m.stage_seconds.clone(),
        );
        r.register(
            "prediction_confidence",
            "Confidence of the reported activity per frame",
            m.confidence.clone(),
        );
        r.register(
            "activities",
            "Activity segments started, by class",
            m.activities.clone(),
        );
        r.register(
            "frames_analysed",
            "Frames analysed",
            m.frames_analysed.clone(),
        );
        r.register(
            "frames_with_person",
            "Analysed frames in which a person was found",
            m.frames_with_person.clone(),
        );
        r.register(
            "mqtt_queue_depth",
            "Events waiting for the MQTT broker",
            m.mqtt_queue_depth.clone(),
        );
        r.register(
            "mqtt_dropped_events",
            "Events dropped because the MQTT queue was full",
            m.mqtt_dropped.clone(),
        );
        r.register(
            "mqtt_published_events",
            "Events the broker acknowledged",
            m.mqtt_published.clone(),
        );
        r.register(
            "people_tracked",
            "People the camera's pose tracker follows now",
            m.people_tracked.clone(),
        );
        r.register(
            "detector_runs",
            "Person detector runs",
            m.detector_runs.clone(),
        );
        r.register(
            "track_switches",
            "Times two tracks ended on one person and one was let go",
            m.track_switches.clone(),
        );
        r.register(
            "predictions_rejected",
            "Predict requests refused because the server was busy",
            m.predictions_rejected.clone(),
        );
        Metrics { registry: r, ..m }
    }

    /// Creates a camera's series at zero, so every series exists from the start.
    pub fn init_camera(&self, camera: &str) {
        let cam = CameraLabels {
            camera: camera.to_string(),
        };
        drop(self.frames_analysed.get_or_create(&cam));
        drop(self.frames_with_person.get_or_create(&cam));
        drop(self.people_tracked.get_or_create(&cam));
        drop(self.detector_runs.get_or_create(&cam));
        drop(self.track_switches.get_or_create(&cam));
        drop(self.confidence.get_or_create(&cam));
    }

    /// Records one analysed frame.
    pub fn record(&self, a: &Analysis) {
        let cam = CameraLabels {
            camera: a.camera.to_string(),
        };
        if a.end_of_source {
            self.count_started(&cam, a);
            return;
        }
        self.frames_analysed.get_or_create(&cam).inc();
        // Created at 0 too, so the detection rate is defined from the first frame.
        let with_person = self.frames_with_person.get_or_create(&cam);
        if a.pose().is_some() {
            with_person.inc();
        }
        self.people_tracked
            .get_or_create(&cam)
            .set(a.people.iter().filter(|p| p.pose.is_some()).count() as i64);
        {
            let mut last = self.tracker_last.lock().unwrap_or_else(|e| e.into_inner());
            let before = last.entry(cam.camera.clone()).or_default();
            let now = a.counters;
            // A tracker that started afresh counts from zero again.
            let added = |now: u64, before: u64| if now >= before { now - before } else { now };
            self.detector_runs
                .get_or_create(&cam)
                .inc_by(added(now.detector_runs, before.detector_runs));
            self.track_switches
                .get_or_create(&cam)
                .inc_by(added(now.track_switches, before.track_switches));
            *before = now;
        }
        for (stage, d) in &a.timings.steps {
            self.stage_seconds
                .get_or_create(&StageLabels {
                    camera: cam.camera.clone(),
                    stage: stage.to_string(),
                })
                .observe(d.as_secs_f64());
        }
        if let Some(act) = &a.activity
            && matches!(act.label, Label::Class(_))
        {
            self.confidence
                .get_or_create(&cam)
                .observe(act.confidence as f64);
        }
        self.count_started(&cam, a);
    }

    /// Counts the activities that started.
    fn count_started(&self, cam: &CameraLabels, a: &Analysis) {
        for e in &a.events {
            if let EventKind::Started { activity, .. } = &e.kind {
                self.activities
                    .get_or_create(&ActivityLabels {
                        camera: cam.camera.clone(),
                        activity: activity.clone(),
                    })
                    .inc();
            }
        }
    }

    /// The text exposition, with camera gauges refreshed from `health`.
    pub fn encode(&self, health: &Health) -> String {
        for c in health.report().cameras {
            let l = CameraLabels {
                camera: c.id.clone(),
            };
            self.camera_fps.get_or_create(&l).set(c.fps);
            self.process_fps.get_or_create(&l).set(c.process_fps);
            self.frames.get_or_create(&l).set(c.frames as i64);
            self.skipped.get_or_create(&l).set(c.skipped as i64);
            self.dropped.get_or_create(&l).set(c.dropped as i64);
            self.reconnects.get_or_create(&l).set(c.reconnects as i64);
        }
        let mut s = String::new();
        if prometheus_client::encoding::text::encode(&mut s, &self.registry).is_err() {
            s.clear();
        }
        s
    }

    /// Records every analysis until shutdown.
    pub async fn run(self: Arc<Self>, mut analyses: Analyses) {
        while let Some(a) = analyses.next().await {
            self.record(&a);
        }
    }
}
