//! `activityd run`: wires capture threads, workers and the async outputs together, and takes
//! them down again on SIGTERM/SIGINT within two seconds.
//!
//! Threads: one capture and one worker per camera (blocking work); a small tokio runtime does
//! the I/O (signals, systemd, and the outputs).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::systemd;
use crate::capture::{Camera, SourceSpec};
use crate::classify::DecoderConfig;
use crate::config::Config;
use crate::health::{CameraHealth, Health};
use crate::outputs::http::AppState;
use crate::outputs::live::Live;
use crate::outputs::metrics::Metrics;
use crate::outputs::mqtt::MqttOutput;
use crate::outputs::trials::Trials;
use crate::pipeline::{Analyser, Analyses, Analysis, Models, Stage, Worker};
use crate::shutdown::Shutdown;
use crate::threads;

/// Why the daemon could not run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// A model could not be loaded (exit code 3).
    #[error("model load failed: {0}")]
    Model(String),
    /// A configured file cannot be used (exit code 2, as an invalid configuration).
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Loads the models every camera and request shares, once at start-up.
fn load_models(config: &Config) -> Result<Models, DaemonError> {
    let decoder = DecoderConfig::from(&config.activity);
    Models::load(
        &config.models.dir,
        config.pose.model,
        config.pose.precision,
        decoder,
    )
    .map(|m| m.with_max_people(config.pose.max_people))
    .map_err(|e| DaemonError::Model(e.to_string()))
}

/// Builds the inference stages for one camera: pose, then the stages that use it.
fn build_stages(
    models: &Models,
    cam: &crate::config::CameraConfig,
    _shutdown: &Shutdown,
) -> Result<Vec<Box<dyn Stage>>, DaemonError> {
    let err = |e: crate::model::ModelError| DaemonError::Model(e.to_string());
    // The camera's own `max_people`, else `pose.max_people` (already in `models`).
    let models = match cam.max_people {
        Some(n) => models.clone().with_max_people(n),
        None => models.clone(),
    };
    let analyser = Analyser::for_camera(&models)
        .map_err(err)?
        .with_zones(cam.zones.clone());
    #[allow(unused_mut)]
    let mut stages: Vec<Box<dyn Stage>> = vec![Box::new(analyser)];
    #[cfg(feature = "fault-injection")]
    if let Some(stage) = crate::pipeline::fault::StallStage::from_env(_shutdown.clone()) {
        stages.push(Box::new(stage));
    }
    #[cfg(feature = "fault-injection")]
    if let Some(stage) = crate::pipeline::fault::EventStage::from_env() {
        stages.push(Box::new(stage));
    }
    Ok(stages)
}

/// Runs the daemon until SIGTERM/SIGINT. `base_dir` resolves relative file sources (the
/// config file's folder).
pub fn run(config: Config, base_dir: &Path) -> Result<(), DaemonError> {
    let started = Instant::now();
    let shutdown = Shutdown::new();
    // Start-up's code, then loading's, leave memory before the next step
    // (`memory::release_code`; once more after the first frame, below), and GStreamer (its
    // plugin registry, ~3 MB) starts once the models are loaded: loading, which was the
    // daemon's highest point in memory, now stays below where the running daemon settles
    // (`docs/benchmarks.md`, Memory).
    crate::memory::release_code();
    let models = load_models(&config)?;
    crate::capture::gst::init().map_err(|e| std::io::Error::other(e.to_string()))?;
    crate::memory::release_code();
    tracing::info!(
        dir = %config.models.dir.display(),
        load_ms = started.elapsed().as_millis() as u64,
        "models loaded"
    );

    // HTTPS: certificate and key are checked before anything starts.
    let tls = match (&config.api.tls_cert, &config.api.tls_key) {
        (Some(cert), Some(key)) if config.api.enabled => Some(
            crate::outputs::http::tls::acceptor(&base_dir.join(cert), &base_dir.join(key))
                .map_err(|e| DaemonError::Config(e.to_string()))?,
        ),
        _ => None,
    };

    let (tx, _rx) = tokio::sync::broadcast::channel::<Arc<Analysis>>(256);
    // Every consumer subscribes before the first frame is analysed.
    let rx_metrics = Analyses::subscribe(&tx, shutdown.clone());
    let rx_log = Analyses::subscribe(&tx, shutdown.clone());
    let rx_live = Analyses::subscribe(&tx, shutdown.clone());
    let rx_trials = Analyses::subscribe(&tx, shutdown.clone());
    let rx_first = Analyses::subscribe(&tx, shutdown.clone());
    let rx_mqtt = config
        .mqtt
        .enabled
        .then(|| Analyses::subscribe(&tx, shutdown.clone()));
    let mut cameras = Vec::new();
    let mut workers = Vec::new();
    let mut health_cams = Vec::new();
    for cam in config.active_cameras() {
        let spec = SourceSpec::parse(&cam.source)
            .map_err(std::io::Error::other)?
            .resolve_relative(base_dir);
        let stages = build_stages(&models, cam, &shutdown)?;
        let camera = Camera::spawn(cam, spec, shutdown.clone())?;
        let worker = Worker::spawn(
            camera.status.clone(),
            camera.slot.clone(),
            stages,
            tx.clone(),
            shutdown.clone(),
        )?;
        health_cams.push(CameraHealth {
            capture: camera.status.clone(),
            worker: worker.status.clone(),
        });
        cameras.push(camera);
        workers.push(worker);
    }
    let health = Arc::new(Health::new(
        health_cams,
        Duration::from_secs_f64(config.watchdog.stall_timeout_s),
    ));
    health.set_model_loaded(true);
    let metrics = Arc::new(Metrics::new());
    for c in config.active_cameras() {
        metrics.init_camera(&c.id);
    }
    let camera_ids: Vec<String> = config.active_cameras().map(|c| c.id.clone()).collect();
    let trials = Arc::new(Trials::new(camera_ids.clone()));
    let live = Arc::new(Live::new(&camera_ids, models.activity.classes.clone()));
    let mqtt = match rx_mqtt {
        Some(rx) => Some((
            MqttOutput::new(
                &config,
                models.activity.classes.clone(),
                health.clone(),
                metrics.clone(),
            )
            .map_err(std::io::Error::other)?
            .with_trials(trials.subscribe()),
            rx,
        )),
        None => None,
    };

    // The model cards `/model/info` serves: a broken card is a model failure (exit 3).
    let model_info = config
        .api
        .enabled
        .then(|| {
            crate::model::model_info(&config.models.dir, config.pose.model, config.pose.precision)
        })
        .transpose()
        .map_err(|e| DaemonError::Model(e.to_string()))?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("activityd-io")
        // The API and MQTT give way to the cameras (see `threads`).
        .on_thread_start(|| threads::lower_priority(threads::RUNTIME_NICE))
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // Handlers first: a signal that arrives right after READY=1 must not kill us.
        let signals = tokio::spawn(wait_for_signal(
            install_signal_handlers()?,
            shutdown.clone(),
        ));
        if config.api.enabled {
            let listener = tokio::net::TcpListener::bind(&config.api.bind)
                .await
                .map_err(|e| std::io::Error::other(format!("cannot listen on api.bind {}: {e}", config.api.bind)))?;
            let info = model_info.clone().unwrap_or_default();
            let state = Arc::new(
                AppState::new(
                    health.clone(),
                    metrics.clone(),
                    models.clone(),
                    info,
                    &config.api,
                    shutdown.clone(),
                )
                .with_cameras(live.clone(), trials.clone()),
            );
            let scheme = if tls.is_some() { "https" } else { "http" };
            tracing::info!(url = %format!("{scheme}://{}/", config.api.bind), "web page and HTTP API listening");
            tokio::spawn(crate::outputs::http::serve(listener, state, tls.clone(), shutdown.clone()));
        }
        let mqtt_task = mqtt.map(|(out, rx)| tokio::spawn(out.run(rx)));
        tokio::spawn(metrics.clone().run(rx_metrics));
        tokio::spawn(live.clone().run(rx_live, trials.subscribe()));
        tokio::spawn(trials.clone().run(rx_trials));
        tokio::spawn(crate::outputs::log_events(rx_log));
        tokio::spawn(systemd::supervise(health.clone(), shutdown.clone()));
        tokio::spawn(log_progress(health.clone(), shutdown.clone()));
        tokio::spawn(release_start_up_code(rx_first));
        systemd::ready();
        tracing::info!(
            cameras = cameras.len(),
            startup_ms = started.elapsed().as_millis() as u64,
            "activityd ready"
        );
        shutdown.wait().await;
        signals.abort();
        // MQTT says goodbye (`offline`) before the runtime goes.
        if let Some(t) = mqtt_task {
            let _ = tokio::time::timeout(Duration::from_millis(800), t).await;
        }
        Ok::<(), std::io::Error>(())
    })?;

    systemd::stopping();
    tracing::info!("shutting down");
    // Capture threads notice within ~100 ms; give everything 1.5 s in all.
    let deadline = Instant::now() + Duration::from_millis(1500);
    for c in cameras {
        let id = c.status.id.clone();
        if !c.join_by(deadline) {
            tracing::warn!(camera = %id, "capture thread did not stop in time");
        }
    }
    for w in workers {
        if !w.join_by(deadline) {
            tracing::warn!("worker did not stop in time");
        }
    }
    runtime.shutdown_timeout(Duration::from_millis(300));
    Ok(())
}

/// Once the first frame has been analysed, start-up is over: the code that set up the
/// cameras' pipelines, the API and MQTT leaves memory too (`memory::release_code`).
async fn release_start_up_code(mut analyses: Analyses) {
    if analyses.next().await.is_some() {
        let _ = tokio::task::spawn_blocking(crate::memory::release_code).await;
    }
}

type Signals = (tokio::signal::unix::Signal, tokio::signal::unix::Signal);

fn install_signal_handlers() -> std::io::Result<Signals> {
    use tokio::signal::unix::{SignalKind, signal};
    Ok((
        signal(SignalKind::terminate())?,
        signal(SignalKind::interrupt())?,
    ))
}

async fn wait_for_signal((mut term, mut int): Signals, shutdown: Shutdown) {
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    shutdown.trigger();
}

/// Logs each camera's frame rates every 5 s, so a person watching sees frames flowing.
async fn log_progress(health: Arc<Health>, shutdown: Shutdown) {
    let mut interval = tokio::time::interval(Duration::from_secs(5));
    interval.tick().await;
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = shutdown.wait() => return,
        }
        for c in health.report().cameras {
            tracing::info!(
                camera = %c.id,
                state = c.state,
                fps = c.fps,
                analysed_fps = c.process_fps,
                frames = c.frames,
                dropped = c.dropped,
                skipped = c.skipped,
                reconnects = c.reconnects,
                inference_ms = c.inference_ms,
                "camera"
            );
        }
    }
}
