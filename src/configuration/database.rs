//! `[database]`: the database URL, which may carry a password and is therefore only ever shown
//! redacted ([`redact_url`]).

use serde::{Deserialize, Serialize};

use super::SettingsError;

#[derive(Debug, Clone, Serialize)]
pub struct DatabaseSettings {
    /// `sqlite://...` or `postgres://...`. Never logged whole: it may carry a password.
    #[serde(serialize_with = "serialize_redacted_url")]
    pub url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    url: String,
}

impl RawDatabase {
    pub(super) fn validate(self) -> Result<DatabaseSettings, SettingsError> {
        let url = self.url.trim().to_string();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(SettingsError::invalid(
                "database.url",
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }
        Ok(DatabaseSettings { url })
    }
}

fn serialize_redacted_url<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact_url(url))
}

/// The URL with any password replaced by `***`, for logs and hashes.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => raw.to_string(),
    }
}
