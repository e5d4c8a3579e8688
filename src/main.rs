//! The `activityd` command line: the daemon and the offline tools around it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use activityd::classify::{ActivityModel, DecoderConfig, annotate_landmarks};
use activityd::config::{Config, ConfigError, PoseModelKind, PosePrecision};
use activityd::offline::{self, analyse, export};
use activityd::pipeline::{Analyser, Models};
use activityd::service::daemon::{self, DaemonError};
use activityd::service::logging::{self, LogFormat};

#[derive(Parser)]
#[command(
    name = "activityd",
    version,
    about = "Watches a camera and says what a person is doing"
)]
struct Cli {
    /// Log format: journald under systemd (auto), text, or JSON lines.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    log_format: LogFormat,
    /// Default log level (RUST_LOG overrides).
    #[arg(long, global = true, default_value = "info")]
    log_level: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum FeatureFormat {
    Csv,
    Npy,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum AnnotationFormat {
    Json,
    /// One row per frame: t, activity, confidence, one probability per class.
    Csv,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon.
    Run {
        #[arg(long, default_value = "/etc/activityd/activityd.toml")]
        config: PathBuf,
    },
    /// Validate a configuration file; prints `ok` or every problem with its field path.
    CheckConfig { path: PathBuf },
    /// Pose landmarks of an image or video, as JSON Lines.
    Pose {
        input: PathBuf,
        /// Draw the skeleton on the (image) input and write it here as PNG.
        #[arg(long)]
        overlay: Option<PathBuf>,
        /// On a video, analyse only the frames a camera with this `process_fps` would (0 =
        /// every frame). Unlike the daemon, the detector runs on every analysed frame in which
        /// nobody is tracked, even when the room has been empty for a while.
        #[arg(long, default_value_t = 0.0)]
        process_fps: f32,
        /// The landmark model, as `pose.model` in the configuration.
        #[arg(long, value_enum, default_value_t = PoseModelKind::Full)]
        pose_model: PoseModelKind,
        /// How the pose models keep their weights and compute, as `pose.precision` in the configuration.
        #[arg(long, value_enum, default_value_t = PosePrecision::default())]
        pose_precision: PosePrecision,
        /// People tracked at once, as `pose.max_people` in the configuration (1-8).
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=8))]
        max_people: u8,
        /// One line per person found in each frame, with its `"person"` id (a frame with
        /// nobody: one line without). Without it, one line per frame: the primary person.
        #[arg(long)]
        people: bool,
    },
    /// Feature vectors (109 per frame) from landmark frames, for training (JSON Lines; `-` =
    /// stdin). CSV has a header `t,f000,…,f108`; NPY is float32 [N, 110] with `t` first.
    Features {
        #[arg(long)]
        landmarks: PathBuf,
        #[arg(long, value_enum, default_value = "csv")]
        format: FeatureFormat,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Activities from landmark frames (JSON Lines; `-` = stdin).
    Classify {
        #[arg(long)]
        landmarks: PathBuf,
        /// Decode as this configuration file's `[activity]` section asks (threshold, minimum
        /// duration, `tug_end`) instead of the defaults.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// The whole pipeline on a video file: pose, activities, segments, Timed Up and Go.
    Annotate {
        input: PathBuf,
        /// Write the annotation here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "json")]
        format: AnnotationFormat,
        /// Also draw the segments over time as SVG.
        #[arg(long)]
        timeline: Option<PathBuf>,
        /// Analyse only the frames a camera with this `process_fps` would (0 = every frame);
        /// as for `pose`, the detector is not slowed down while nobody is in view.
        #[arg(long, default_value_t = 0.0)]
        process_fps: f32,
        /// The landmark model, as `pose.model` in the configuration.
        #[arg(long, value_enum, default_value_t = PoseModelKind::Full)]
        pose_model: PoseModelKind,
        /// How the pose models keep their weights and compute, as `pose.precision` in the configuration.
        #[arg(long, value_enum, default_value_t = PosePrecision::default())]
        pose_precision: PosePrecision,
        /// People tracked at once, as `pose.max_people` in the configuration (1-8).
        #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=8))]
        max_people: u8,
        /// A zone, as a camera's `zones` in the configuration: `NAME=x,y x,y x,y …` (corners
        /// as fractions of the image). Repeat for more; each person's visits are in `people`.
        #[arg(long = "zone", value_parser = parse_zone)]
        zones: Vec<activityd::config::ZoneConfig>,
        /// Decode as this configuration file's `[activity]` section asks (threshold, minimum
        /// duration, `tug_end`) instead of the defaults. Pose options stay the flags'.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// The model cards as JSON (`pose_landmarks`: the card of the landmark model chosen).
    ModelInfo {
        /// The landmark model, as `pose.model` in the configuration.
        #[arg(long, value_enum, default_value_t = PoseModelKind::Full)]
        pose_model: PoseModelKind,
        /// How the pose models keep their weights and compute, as `pose.precision` in the configuration.
        #[arg(long, value_enum, default_value_t = PosePrecision::default())]
        pose_precision: PosePrecision,
    },
    /// Per-stage timings on a video or image folder.
    Bench {
        input: PathBuf,
        #[arg(long)]
        json: bool,
        /// The landmark model, as `pose.model` in the configuration.
        #[arg(long, value_enum, default_value_t = PoseModelKind::Full)]
        pose_model: PoseModelKind,
        /// How the pose models keep their weights and compute, as `pose.precision` in the configuration.
        #[arg(long, value_enum, default_value_t = PosePrecision::default())]
        pose_precision: PosePrecision,
        /// People tracked at once (1-8). 1 by default, as MediaPipe's pose solution, which
        /// the benchmark is compared with; more to measure the cost per person.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8))]
        max_people: u8,
    },
}

/// Large blocks (model weights, tract's activations) from their own cached mappings, the rest
/// glibc's: `activityd::memory`.
#[global_allocator]
static GLOBAL: activityd::memory::Global = activityd::memory::Global;

fn main() -> ExitCode {
    // SAFETY: first thing in main, before any thread exists.
    unsafe { activityd::capture::gst::prepare_environment() };
    // SAFETY: before any other thread starts.
    unsafe { activityd::memory::tune_glibc() };
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { path } => check_config(&path),
        Command::Run { config } => {
            logging::init(cli.log_format, &cli.log_level);
            run(&config)
        }
        Command::Pose {
            input,
            overlay,
            process_fps,
            pose_model,
            pose_precision,
            max_people,
            people,
        } => {
            logging::init(LogFormat::Text, "warn");
            let models = PoseChoice {
                model: pose_model,
                precision: pose_precision,
                max_people: max_people.into(),
            };
            report(pose(
                &input,
                overlay.as_deref(),
                process_fps,
                models,
                people,
            ))
        }
        Command::Features {
            landmarks,
            format,
            out,
        } => report(features(&landmarks, format, out.as_deref())),
        Command::Bench {
            input,
            json,
            pose_model,
            pose_precision,
            max_people,
        } => {
            logging::init(LogFormat::Text, "warn");
            let pose = PoseChoice {
                model: pose_model,
                precision: pose_precision,
                max_people: max_people.into(),
            };
            report(bench(&input, json, pose))
        }
        Command::Classify { landmarks, config } => {
            logging::init(LogFormat::Text, "warn");
            report(decoder_of(config.as_deref()).and_then(|d| classify(&landmarks, d)))
        }
        Command::Annotate {
            input,
            out,
            format,
            timeline,
            process_fps,
            pose_model,
            pose_precision,
            max_people,
            zones,
            config,
        } => {
            logging::init(LogFormat::Text, "warn");
            let decoder = match decoder_of(config.as_deref()) {
                Ok(d) => d,
                Err(e) => return report(Err(e)),
            };
            let analysis = AnalysisChoice {
                process_fps,
                pose: PoseChoice {
                    model: pose_model,
                    precision: pose_precision,
                    max_people: max_people.into(),
                },
                zones,
                decoder,
            };
            report(annotate(
                &input,
                out.as_deref(),
                format,
                timeline.as_deref(),
                analysis,
            ))
        }
        Command::ModelInfo {
            pose_model,
            pose_precision,
        } => match activityd::model::model_info(&models_dir(), pose_model, pose_precision) {
            Ok(v) => report(
                stdout_line(&serde_json::to_string_pretty(&v).unwrap_or_default())
                    .map_err(Into::into),
            ),
            Err(e) => {
                eprintln!("activityd: {e}");
                ExitCode::from(3)
            }
        },
    }
}

/// Prints an offline command's error and maps it to exit code 1. A reader that stopped
/// reading (`activityd classify … | head`) is not an error: the command stops quietly, as
/// Unix tools do.
fn report(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("activityd: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Whether an error is the standard output's reader having gone away.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Writes one line to standard output, returning the error `println!` would panic on.
fn stdout_line(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()
}

/// `--zone NAME=x,y x,y x,y …`, checked as a configured zone is.
fn parse_zone(s: &str) -> Result<activityd::config::ZoneConfig, String> {
    let (name, corners) = s
        .split_once('=')
        .ok_or("expected NAME=x,y x,y x,y (corners as fractions of the image)")?;
    let polygon = corners
        .split_whitespace()
        .map(|c| {
            let (x, y) = c
                .split_once(',')
                .ok_or_else(|| format!("corner {c:?} is not x,y"))?;
            let num = |v: &str| {
                v.trim()
                    .parse::<f32>()
                    .map_err(|_| format!("corner {c:?}: {v:?} is not a number"))
            };
            Ok([num(x)?, num(y)?])
        })
        .collect::<Result<Vec<_>, String>>()?;
    let zone = activityd::config::ZoneConfig {
        name: name.trim().to_string(),
        polygon,
    };
    match zone.problems().first() {
        Some((field, reason)) => Err(format!("{field}: {reason}")),
        None => Ok(zone),
    }
}

fn models_dir() -> PathBuf {
    activityd::config::default_models_dir()
}

/// The pose settings of an offline command (`--pose-model`, `--pose-precision`,
/// `--max-people`).
#[derive(Clone, Copy)]
struct PoseChoice {
    model: PoseModelKind,
    precision: PosePrecision,
    max_people: usize,
}

fn load_models(pose: PoseChoice) -> anyhow::Result<Models> {
    let decoder = DecoderConfig::default();
    Ok(
        Models::load(&models_dir(), pose.model, pose.precision, decoder)?
            .with_max_people(pose.max_people),
    )
}

fn pose(
    input: &Path,
    overlay: Option<&Path>,
    process_fps: f32,
    pose_choice: PoseChoice,
    people: bool,
) -> anyhow::Result<()> {
    use std::io::Write;
    check_process_fps(process_fps)?;
    let models = load_models(pose_choice)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match offline::open_input(input)? {
        offline::Input::Image(img) => {
            let still = analyse::image(&models, img.clone(), &mut Default::default())?;
            writeln!(out, "{}", serde_json::to_string(&still.frame)?)?;
            if let Some(path) = overlay {
                let mut img = img;
                if let Some(lm) = &still.frame.landmarks {
                    offline::overlay::draw_skeleton(&mut img, lm);
                }
                img.save_with_format(path, image::ImageFormat::Png)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            }
        }
        offline::Input::Video(path) => {
            anyhow::ensure!(overlay.is_none(), "--overlay works on still images only");
            let mut write_err = None;
            let mut analyser = Analyser::for_video(&models, models.decoder.clone())?;
            analyse::file(&mut analyser, &path, process_fps, |frame, a, _| {
                let frame_of = |pose| {
                    activityd::pose::landmark_frame(frame.t, frame.width, frame.height, pose)
                };
                let mut lines = Vec::new();
                if people {
                    for p in a.people.iter().filter(|p| p.pose.is_some()) {
                        let mut v = serde_json::to_value(frame_of(p.pose.as_ref()));
                        if let Ok(serde_json::Value::Object(m)) = &mut v {
                            m.insert("person".into(), p.person.into());
                        }
                        lines.push(v.and_then(|v| serde_json::to_string(&v)));
                    }
                }
                if lines.is_empty() {
                    lines.push(serde_json::to_string(&frame_of(a.pose())));
                }
                for line in lines {
                    if write_err.is_none()
                        && let Err(e) = line.map(|s| writeln!(out, "{s}"))
                    {
                        write_err = Some(e);
                    }
                }
            })?;
            if let Some(e) = write_err {
                return Err(e.into());
            }
        }
    }
    out.flush()?;
    Ok(())
}

/// A buffered writer to `out`, or to stdout.
fn output(out: Option<&Path>) -> anyhow::Result<Box<dyn std::io::Write>> {
    Ok(match out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

/// Reads landmark frames from a file or stdin (`-`).
fn read_landmarks(path: &Path) -> anyhow::Result<Vec<activityd::landmarks::LandmarkFrame>> {
    use std::io::BufReader;
    let frames = if path == Path::new("-") {
        activityd::landmarks::read_jsonl(BufReader::new(std::io::stdin().lock()))
    } else {
        let f = std::fs::File::open(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        activityd::landmarks::read_jsonl(BufReader::new(f))
    };
    frames.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn features(input: &Path, format: FeatureFormat, out: Option<&Path>) -> anyhow::Result<()> {
    let rows = export::feature_rows(&read_landmarks(input)?);
    let mut w = output(out)?;
    match format {
        FeatureFormat::Csv => export::features_csv(&rows, &mut w)?,
        FeatureFormat::Npy => export::features_npy(&rows, &mut w)?,
    }
    w.flush()?;
    Ok(())
}

/// The decoder settings of `--config FILE`'s `[activity]` section (checked as `check-config`
/// checks it), else the defaults.
fn decoder_of(config: Option<&Path>) -> anyhow::Result<DecoderConfig> {
    match config {
        None => Ok(DecoderConfig::default()),
        Some(path) => {
            let c = Config::load(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Ok(DecoderConfig::from(&c.activity))
        }
    }
}

fn classify(input: &Path, decoder: DecoderConfig) -> anyhow::Result<()> {
    let frames = read_landmarks(input)?;
    let model = ActivityModel::load(&models_dir())?;
    let doc = annotate_landmarks(&model, decoder, &frames)?;
    stdout_line(&serde_json::to_string(&doc)?)?;
    Ok(())
}

/// How `annotate` analyses a file: which frames, the pose settings, the zones, the decoder.
struct AnalysisChoice {
    process_fps: f32,
    pose: PoseChoice,
    zones: Vec<activityd::config::ZoneConfig>,
    decoder: DecoderConfig,
}

fn annotate(
    input: &Path,
    out: Option<&Path>,
    format: AnnotationFormat,
    timeline: Option<&Path>,
    analysis: AnalysisChoice,
) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Write};
    let AnalysisChoice {
        process_fps,
        pose,
        zones,
        decoder,
    } = analysis;
    check_process_fps(process_fps)?;
    let models = load_models(pose)?;
    let progress = std::io::stderr().is_terminal();
    let done = analyse::annotate(
        &models,
        decoder,
        &zones,
        |analyser, each| analyse::file(analyser, input, process_fps, each),
        |frame, _| {
            if progress && frame.seq % 15 == 0 {
                eprint!(
                    "\rannotating {}: {:.1} s of video",
                    input.display(),
                    frame.t
                );
            }
        },
    )?;
    if progress {
        eprintln!(
            "\rannotated {}: {} frames{:30}",
            input.display(),
            done.frames,
            ""
        );
    }
    let doc = done.annotation;
    let mut w = output(out)?;
    match format {
        AnnotationFormat::Json => writeln!(w, "{}", serde_json::to_string(&doc)?)?,
        AnnotationFormat::Csv => export::annotation_csv(&doc, &mut w)?,
    }
    w.flush()?;
    if let Some(path) = timeline {
        let title = format!("activityd annotate {}", input.display());
        std::fs::write(path, offline::timeline::svg(&doc, &title))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn check_process_fps(process_fps: f32) -> anyhow::Result<()> {
    anyhow::ensure!(
        process_fps.is_finite() && process_fps >= 0.0,
        "--process-fps must be 0 (every frame) or a positive rate, not {process_fps}"
    );
    Ok(())
}

fn bench(input: &Path, json: bool, pose: PoseChoice) -> anyhow::Result<()> {
    let r = offline::bench::run(
        &models_dir(),
        pose.model,
        pose.precision,
        pose.max_people,
        input,
    )?;
    if json {
        stdout_line(&serde_json::to_string(&r)?)?;
    } else {
        stdout_line(r.to_text().trim_end_matches('\n'))?;
    }
    Ok(())
}

fn check_config(path: &Path) -> ExitCode {
    match Config::load(path) {
        Ok(_) => {
            // A reader that went away has nothing to be told.
            let _ = stdout_line("ok");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = stdout_line(e.to_string().trim_end_matches('\n'));
            ExitCode::from(2)
        }
    }
}

fn run(path: &Path) -> ExitCode {
    let config = match Config::load(path) {
        Ok(c) => c,
        Err(e) => {
            report_config_error(path, &e);
            return ExitCode::from(2);
        }
    };
    let base = path.parent().unwrap_or(Path::new("."));
    match daemon::run(config, base) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ DaemonError::Config(_)) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("activityd: {e}");
            ExitCode::from(2)
        }
        Err(e @ DaemonError::Model(_)) => {
            tracing::error!(error = %e, "cannot start");
            eprintln!("activityd: {e}");
            ExitCode::from(3)
        }
        Err(e) => {
            tracing::error!(error = %e, "daemon failed");
            eprintln!("activityd: {e}");
            ExitCode::from(1)
        }
    }
}

fn report_config_error(path: &Path, e: &ConfigError) {
    tracing::error!(config = %path.display(), "invalid configuration");
    eprintln!("activityd: invalid configuration {}:", path.display());
    for line in e.to_string().lines() {
        eprintln!("  {line}");
    }
}
