//! `[lnurl]`: the development LNURL provider, its zapper key and the demonstration vote.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::{SecretSource, SettingsError};

/// `[lnurl]`: the development LNURL provider (DESIGN.md "Zapping"). With `dev_provider` the
/// service is the LNURL provider of every bot that has no `lightning_address`, on its own HTTP
/// port (loopback only), and signs their zap receipts with the key at `zapper_nsec_path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LnurlProviderSettings {
    /// The default settings only: never in production.
    pub dev_provider: bool,
    /// The development zapper key (the provider's `nostrPubkey`), generated like the bots' keys.
    pub zapper_nsec_path: SecretSource,
    /// The default settings only, and only with `dev_provider` (off without it): on a database
    /// with no proposal yet, the service opens a demonstration review period and zaps it once
    /// it is up, so its first start shows a zap becoming a vote (`crate::cli::demo`).
    pub demo_vote: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLnurlProvider {
    #[serde(default)]
    dev_provider: bool,
    #[serde(default = "default_zapper_nsec_path")]
    zapper_nsec_path: String,
    #[serde(default)]
    demo_vote: bool,
}

impl Default for RawLnurlProvider {
    fn default() -> Self {
        RawLnurlProvider {
            dev_provider: false,
            zapper_nsec_path: default_zapper_nsec_path(),
            demo_vote: false,
        }
    }
}

fn default_zapper_nsec_path() -> String {
    "data/keys/zapper.nsec".into()
}

impl RawLnurlProvider {
    /// `http_bind`: the development provider serves on the HTTP server, loopback only.
    pub(super) fn validate(
        self,
        http_bind: SocketAddr,
    ) -> Result<LnurlProviderSettings, SettingsError> {
        let lnurl = LnurlProviderSettings {
            dev_provider: self.dev_provider,
            zapper_nsec_path: SecretSource::parse(
                "lnurl.zapper_nsec_path",
                &self.zapper_nsec_path,
            )?,
            // The development provider pays the demonstration zap: without it there is none.
            demo_vote: self.demo_vote && self.dev_provider,
        };
        if lnurl.dev_provider && !http_bind.ip().is_loopback() {
            return Err(SettingsError::invalid(
                "lnurl.dev_provider",
                format!(
                    "the development LNURL provider serves loopback only, but http.bind is {http_bind}; \
                     turn it off (lnurl.dev_provider = false) and give each bot a lightning_address"
                ),
            ));
        }
        Ok(lnurl)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{key_of, load};

    #[test]
    fn development_provider_settings_are_checked() {
        // Never on a public address.
        for bind in ["0.0.0.0:8080", "192.0.2.7:8080", "[::]:8080"] {
            let err = load(None, &[("COMMONS__HTTP__BIND", bind)]).unwrap_err();
            assert_eq!(err.key(), Some("lnurl.dev_provider"), "{bind}: {err}");
            assert!(err.to_string().contains(bind), "{err}");
        }
        // Off, public binds are fine once every bot has an address.
        let mut env = vec![
            ("COMMONS__LNURL__DEV_PROVIDER", "false"),
            ("COMMONS__HTTP__BIND", "0.0.0.0:8080"),
        ];
        assert_eq!(key_of(load(None, &env)), "nostr.bots.dev.lightning_address");
        let addresses = [
            (
                "COMMONS__NOSTR__BOTS__DEV__LIGHTNING_ADDRESS",
                "dev@example.org",
            ),
            (
                "COMMONS__NOSTR__BOTS__GOV__LIGHTNING_ADDRESS",
                "gov@example.org",
            ),
            (
                "COMMONS__NOSTR__BOTS__NETWORK__LIGHTNING_ADDRESS",
                "network@example.org",
            ),
            (
                "COMMONS__NOSTR__BOTS__RESEARCH__LIGHTNING_ADDRESS",
                "research@example.org",
            ),
        ];
        env.extend(addresses);
        let s = load(None, &env).unwrap();
        assert!(!s.lnurl.dev_provider);
        assert!(s.nostr.bots.values().all(|b| !b.dev_provider));
        // A provider key for a bot the development provider serves is a contradiction.
        let other = nostr_sdk::Keys::generate().public_key().to_hex();
        assert_eq!(
            key_of(load(
                None,
                &[("COMMONS__NOSTR__BOTS__GOV__ZAPPER_PUBKEY", &other)]
            )),
            "nostr.bots.gov.zapper_pubkey"
        );
        assert_eq!(
            key_of(load(None, &[("COMMONS__LNURL__ZAPPER_NSEC_PATH", "env:")])),
            "lnurl.zapper_nsec_path"
        );
    }
}
