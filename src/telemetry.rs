//! Logging, set up once per process with `tracing`.
//!
//! Human-readable lines by default, one JSON object per line with `logging.format = "json"`
//! (for journald or a log shipper). `RUST_LOG` overrides `logging.level`. Nothing here knows
//! about secrets: they never reach a log call in the first place (see [`crate::keys`]).

use tracing_subscriber::EnvFilter;

use crate::configuration::{LogFormat, LoggingSettings};

/// Installs the global subscriber. Later calls (tests that start several services in one
/// process) keep the first one and are harmless.
pub fn init(settings: &LoggingSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
