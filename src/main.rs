//! The `activityd` command line: the daemon and the offline tools around it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use activityd::config::{Config, ConfigError};
use activityd::daemon::{self, DaemonError};
use activityd::logging::{self, LogFormat};
use activityd::offline;
use activityd::pose::PoseModels;

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
    },
    /// Activities from landmark frames (JSON Lines; `-` = stdin).
    Classify {
        #[arg(long)]
        landmarks: PathBuf,
    },
    /// The whole pipeline on a video file.
    Annotate {
        input: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, default_value = "json")]
        format: String,
        #[arg(long)]
        timeline: Option<PathBuf>,
    },
    /// The model cards as JSON.
    ModelInfo,
    /// Per-stage timings on a video or image folder.
    Bench {
        input: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { path } => check_config(&path),
        Command::Run { config } => {
            logging::init(cli.log_format, &cli.log_level);
            run(&config)
        }
        Command::Pose { input, overlay } => {
            logging::init(LogFormat::Text, "warn");
            report(pose(&input, overlay.as_deref()))
        }
        Command::Bench { input, json } => {
            logging::init(LogFormat::Text, "warn");
            report(bench(&input, json))
        }
        Command::Classify { .. } | Command::Annotate { .. } | Command::ModelInfo => {
            eprintln!("activityd: this command arrives with the pose and activity models");
            ExitCode::from(1)
        }
    }
}

/// Prints an offline command's error and maps it to exit code 1.
fn report(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("activityd: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn models_dir() -> PathBuf {
    activityd::config::default_models_dir()
}

fn pose(input: &Path, overlay: Option<&Path>) -> anyhow::Result<()> {
    use std::io::Write;
    let models = PoseModels::load(&models_dir())?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match offline::open_input(input)? {
        offline::Input::Image(img) => {
            let (frame, _) = offline::pose_image(&models, img.clone())?;
            writeln!(out, "{}", serde_json::to_string(&frame)?)?;
            if let Some(path) = overlay {
                let mut img = img;
                if let Some(lm) = &frame.landmarks {
                    activityd::overlay::draw_skeleton(&mut img, lm);
                }
                img.save_with_format(path, image::ImageFormat::Png)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            }
        }
        offline::Input::Video(path) => {
            anyhow::ensure!(overlay.is_none(), "--overlay works on still images only");
            let mut write_err = None;
            offline::pose_video(&models, &path, |frame, pose, _| {
                let lf = offline::landmark_frame(frame.t, frame.width, frame.height, pose);
                if write_err.is_none()
                    && let Err(e) = serde_json::to_string(&lf).map(|s| writeln!(out, "{s}"))
                {
                    write_err = Some(e);
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

fn bench(input: &Path, json: bool) -> anyhow::Result<()> {
    let r = activityd::bench::run(&models_dir(), input)?;
    if json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        print!("{}", r.to_text());
    }
    Ok(())
}

fn check_config(path: &Path) -> ExitCode {
    match Config::load(path) {
        Ok(_) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(e) => {
            for line in e.to_string().lines() {
                println!("{line}");
            }
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
