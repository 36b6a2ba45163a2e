//! `[server]`: this server's id and key.

use serde::{Deserialize, Serialize};

use super::validation::non_empty;
use super::{SecretSource, SettingsError};

#[derive(Debug, Clone, Serialize)]
pub struct ServerSettings {
    pub id: String,
    /// The server key, which signs status (30078), health (30079) and audit heads (30080).
    pub nsec_path: SecretSource,
    /// Development only: create missing key and token files (mode 0600) on start-up.
    pub generate_missing_keys: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    id: String,
    nsec_path: String,
    #[serde(default)]
    generate_missing_keys: bool,
}

impl RawServer {
    pub(super) fn validate(self) -> Result<ServerSettings, SettingsError> {
        let server = ServerSettings {
            id: non_empty("server.id", self.id)?,
            nsec_path: SecretSource::parse("server.nsec_path", &self.nsec_path)?,
            generate_missing_keys: self.generate_missing_keys,
        };
        if server.id.len() > 64 || server.id.chars().any(|c| c.is_whitespace()) {
            return Err(SettingsError::invalid(
                "server.id",
                "must be at most 64 characters with no white space",
            ));
        }
        Ok(server)
    }
}
