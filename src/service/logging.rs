//! Logging setup: journald when systemd runs us (`JOURNAL_STREAM` is set), otherwise
//! human-readable text or JSON lines on stderr. `RUST_LOG` refines the level.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// journald under systemd, else text.
    Auto,
    Text,
    Json,
}

/// Installs the global subscriber. Safe to call once per process.
pub fn init(format: LogFormat, default_level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{default_level},rumqttc=warn,hyper=warn")));
    let registry = tracing_subscriber::registry().with(filter);
    let use_journald = format == LogFormat::Auto && std::env::var_os("JOURNAL_STREAM").is_some();
    if use_journald {
        match tracing_journald::layer() {
            Ok(layer) => {
                let _ = registry
                    .with(layer.with_syslog_identifier("activityd".into()))
                    .try_init();
                return;
            }
            Err(e) => eprintln!("journald unavailable ({e}); logging to stderr"),
        }
    }
    let _ = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_writer(std::io::stderr),
            )
            .try_init(),
        _ => registry
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .try_init(),
    };
}
