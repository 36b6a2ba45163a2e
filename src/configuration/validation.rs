//! [`SettingsError`], which names the offending key, and the field checks several sections share
//! (non-empty text, socket addresses, relay URLs, public keys), with serde's default for a
//! switch that is on unless turned off ([`yes`]).

use std::net::SocketAddr;

use nostr_sdk::{PublicKey, RelayUrl};

/// A setting that failed validation. Displays as `key: problem`, the key in dotted form.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{key}: {problem}")]
    Invalid { key: String, problem: String },
    #[error("settings: {0}")]
    Load(String),
}

impl SettingsError {
    pub fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        SettingsError::Invalid {
            key: key.into(),
            problem: problem.into(),
        }
    }

    /// The dotted key the error is about, when it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            SettingsError::Invalid { key, .. } => Some(key),
            SettingsError::Load(_) => None,
        }
    }
}

pub(super) fn non_empty(key: &str, value: String) -> Result<String, SettingsError> {
    let value = value.trim().to_string();
    if value.is_empty() {
        Err(SettingsError::invalid(key, "must not be empty"))
    } else {
        Ok(value)
    }
}

pub(super) fn parse_socket_addr(key: &str, raw: &str) -> Result<SocketAddr, SettingsError> {
    raw.trim().parse().map_err(|_| {
        SettingsError::invalid(
            key,
            format!("{raw:?} is not an address like 127.0.0.1:8080"),
        )
    })
}

/// Parses a relay URL, accepting only `ws://` and `wss://`.
pub fn parse_relay_url(key: &str, raw: &str) -> Result<RelayUrl, SettingsError> {
    let not_ws = || SettingsError::invalid(key, "not a ws:// or wss:// URL");
    let parsed = url::Url::parse(raw.trim()).map_err(|_| not_ws())?;
    if !matches!(parsed.scheme(), "ws" | "wss") || parsed.host_str().is_none() {
        return Err(not_ws());
    }
    RelayUrl::parse(raw.trim()).map_err(|_| not_ws())
}

pub(super) fn parse_public_key(key: &str, raw: &str) -> Result<PublicKey, SettingsError> {
    PublicKey::parse(raw)
        .map_err(|_| SettingsError::invalid(key, "not an npub1... or 64-hex public key"))
}

/// serde's default for a switch that is on unless the settings turn it off.
pub(super) fn yes() -> bool {
    true
}
