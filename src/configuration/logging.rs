//! `[logging]`: the log format (human or JSON) and filter.

use serde::{Deserialize, Serialize};

use super::SettingsError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoggingSettings {
    pub format: LogFormat,
    /// A `tracing_subscriber::EnvFilter` directive; `RUST_LOG` overrides it.
    pub level: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLogging {
    #[serde(default = "default_log_format")]
    format: String,
    #[serde(default = "default_log_level")]
    level: String,
}

impl Default for RawLogging {
    fn default() -> Self {
        RawLogging {
            format: default_log_format(),
            level: default_log_level(),
        }
    }
}

fn default_log_format() -> String {
    "human".into()
}

fn default_log_level() -> String {
    "info".into()
}

impl RawLogging {
    pub(super) fn validate(self) -> Result<LoggingSettings, SettingsError> {
        let format = match self.format.as_str() {
            "human" => LogFormat::Human,
            "json" => LogFormat::Json,
            other => {
                return Err(SettingsError::invalid(
                    "logging.format",
                    format!("must be \"human\" or \"json\", not {other:?}"),
                ))
            }
        };
        if tracing_subscriber::EnvFilter::try_new(&self.level).is_err() {
            return Err(SettingsError::invalid(
                "logging.level",
                format!("{:?} is not a log filter (try \"info\")", self.level),
            ));
        }
        Ok(LoggingSettings {
            format,
            level: self.level,
        })
    }
}
