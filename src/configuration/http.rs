//! `[http]`: where the HTTP server listens, its admin token and the public URL people reach it by.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::validation::parse_socket_addr;
use super::{SecretSource, SettingsError};

#[derive(Debug, Clone, Serialize)]
pub struct HttpSettings {
    pub bind: SocketAddr,
    pub admin_token: SecretSource,
    /// `http.public_url`: where people reach the public page (behind a reverse proxy), without
    /// a trailing slash. Links in events and the NIP-89 handler use it.
    pub public_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    bind: String,
    admin_token: String,
    #[serde(default)]
    public_url: Option<String>,
}

impl RawHttp {
    pub(super) fn validate(self) -> Result<HttpSettings, SettingsError> {
        Ok(HttpSettings {
            bind: parse_socket_addr("http.bind", &self.bind)?,
            admin_token: SecretSource::parse("http.admin_token", &self.admin_token)?,
            public_url: self
                .public_url
                .as_deref()
                .map(str::trim)
                .filter(|raw| !raw.is_empty())
                .map(|raw| parse_public_url("http.public_url", raw))
                .transpose()?,
        })
    }
}

/// `http.public_url`: an `http://` or `https://` URL with a host and no query or fragment;
/// returned without its trailing slash, so paths can be appended.
fn parse_public_url(key: &str, raw: &str) -> Result<String, SettingsError> {
    let url = url::Url::parse(raw)
        .map_err(|_| SettingsError::invalid(key, format!("{raw:?} is not a URL")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(SettingsError::invalid(
            key,
            "must be an https:// (or http://) URL with a host",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(SettingsError::invalid(
            key,
            "must not carry a query, a fragment or credentials",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::testing::{key_of, load};

    #[test]
    fn public_url_is_optional_and_checked() {
        assert_eq!(load(None, &[]).unwrap().http.public_url, None);
        let s = load(
            None,
            &[(
                "COMMONS__HTTP__PUBLIC_URL",
                "https://vote.example.org/commons/",
            )],
        )
        .unwrap();
        assert_eq!(
            s.http.public_url.as_deref(),
            Some("https://vote.example.org/commons")
        );
        for bad in [
            "vote.example.org",
            "ftp://vote.example.org",
            "https://vote.example.org/?x=1",
            "https://user:pw@vote.example.org",
        ] {
            let r = load(None, &[("COMMONS__HTTP__PUBLIC_URL", bad)]);
            assert_eq!(key_of(r), "http.public_url", "{bad}");
        }
    }
}
