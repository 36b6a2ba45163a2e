//! [`SecretSource`]: where a secret lives (an environment variable or a file), never the secret
//! itself.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::SettingsError;

/// Where a secret lives: an environment variable or a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SecretSource {
    Env(String),
    File(PathBuf),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(var) => write!(f, "env:{var}"),
            SecretSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

impl SecretSource {
    /// Parses `env:VAR` or a path; `key` names the setting in errors.
    pub fn parse(key: &str, raw: &str) -> Result<SecretSource, SettingsError> {
        let raw = raw.trim();
        if let Some(var) = raw.strip_prefix("env:") {
            let valid =
                !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(SettingsError::invalid(
                    key,
                    format!("{raw:?} does not name an environment variable (env:NAME)"),
                ));
            }
            Ok(SecretSource::Env(var.to_string()))
        } else if raw.is_empty() {
            Err(SettingsError::invalid(
                key,
                "must be env:VARIABLE or a file path",
            ))
        } else {
            Ok(SecretSource::File(PathBuf::from(raw)))
        }
    }
}
