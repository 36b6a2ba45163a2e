//! `[nostr]`: the relays, publishing intervals, reconnection, LNURL lookups and the embedded relay
//! (the bots, `[nostr.bots.<name>]`, are [`super::bots`]'s).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use nostr_sdk::RelayUrl;
use serde::{Deserialize, Serialize};

use super::bots::{is_bot_name, RawBot};
use super::validation::{non_empty, parse_socket_addr, yes};
use super::{parse_relay_url, BotSettings, SettingsError};

#[derive(Debug, Clone, Serialize)]
pub struct NostrSettings {
    pub enabled: bool,
    /// External relays. The embedded relay, when enabled, is added to these at start-up.
    pub relays: Vec<RelayUrl>,
    pub publish_interval_secs: u64,
    pub governance_config: String,
    /// Seconds a health change must hold before a 30079 event is published.
    pub health_debounce_secs: u64,
    /// Milliseconds audit-log appends are gathered before one 30080 head event is published.
    pub audit_debounce_ms: u64,
    /// Seconds subtracted from a relay's receipt cursor when asking for what was missed.
    pub backfill_margin_secs: u64,
    /// Seconds between two catch-up reads of every connected relay's zap receipts (for those a
    /// relay stored but never sent live); 0 turns them off.
    pub catch_up_secs: u64,
    pub reconnect: ReconnectSettings,
    /// Resolving bots' LNURL provider keys from their lightning addresses.
    pub lnurl: LnurlSettings,
    pub embedded_relay: EmbeddedRelaySettings,
    /// Enabled bots by name, in name order.
    pub bots: BTreeMap<String, BotSettings>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReconnectSettings {
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    pub connect_timeout_ms: u64,
}

/// How a bot's LNURL provider key is looked up when `zapper_pubkey` is not set
/// (DESIGN.md "Keys": a short timeout, cached, retried in the background).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LnurlSettings {
    /// Deadline of one lookup (connection, answer and body).
    pub timeout_ms: u64,
    /// Delay before the first retry after a failed lookup; it doubles up to `retry_max_ms`.
    pub retry_initial_ms: u64,
    pub retry_max_ms: u64,
}

impl Default for LnurlSettings {
    fn default() -> Self {
        LnurlSettings {
            timeout_ms: 5_000,
            retry_initial_ms: 1_000,
            retry_max_ms: 300_000,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EmbeddedRelaySettings {
    pub enabled: bool,
    pub bind: SocketAddr,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNostr {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    relays: Vec<String>,
    #[serde(default = "default_publish_interval")]
    publish_interval_secs: u64,
    governance_config: String,
    #[serde(default = "default_health_debounce")]
    health_debounce_secs: u64,
    #[serde(default = "default_audit_debounce")]
    audit_debounce_ms: u64,
    #[serde(default = "default_backfill_margin")]
    backfill_margin_secs: u64,
    #[serde(default = "default_catch_up")]
    catch_up_secs: u64,
    #[serde(default)]
    reconnect: RawReconnect,
    #[serde(default)]
    lnurl: LnurlSettings,
    #[serde(default)]
    embedded_relay: RawEmbeddedRelay,
    #[serde(default)]
    bots: BTreeMap<String, RawBot>,
}

fn default_publish_interval() -> u64 {
    3600
}

fn default_health_debounce() -> u64 {
    5
}

fn default_audit_debounce() -> u64 {
    1_000
}

fn default_backfill_margin() -> u64 {
    600
}

fn default_catch_up() -> u64 {
    600
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawReconnect {
    initial_backoff_ms: u64,
    max_backoff_ms: u64,
    connect_timeout_ms: u64,
}

impl Default for RawReconnect {
    fn default() -> Self {
        RawReconnect {
            initial_backoff_ms: 500,
            max_backoff_ms: 60_000,
            connect_timeout_ms: 10_000,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmbeddedRelay {
    #[serde(default)]
    enabled: bool,
    #[serde(default = "default_embedded_bind")]
    bind: String,
}

impl Default for RawEmbeddedRelay {
    fn default() -> Self {
        RawEmbeddedRelay {
            enabled: false,
            bind: default_embedded_bind(),
        }
    }
}

fn default_embedded_bind() -> String {
    "127.0.0.1:7777".into()
}

impl RawNostr {
    /// `dev_provider_bind`: `http.bind` when `lnurl.dev_provider` is on.
    pub(super) fn validate(
        self,
        dev_provider_bind: Option<SocketAddr>,
    ) -> Result<NostrSettings, SettingsError> {
        let mut relays = Vec::with_capacity(self.relays.len());
        for (i, raw) in self.relays.iter().enumerate() {
            let key = format!("nostr.relays[{i}]");
            let url = parse_relay_url(&key, raw)?;
            if relays.contains(&url) {
                return Err(SettingsError::invalid(
                    key,
                    format!("{raw} is listed twice"),
                ));
            }
            relays.push(url);
        }
        if self.publish_interval_secs == 0 {
            return Err(SettingsError::invalid(
                "nostr.publish_interval_secs",
                "must be at least 1",
            ));
        }
        let governance_config = non_empty("nostr.governance_config", self.governance_config)?;
        let reconnect = ReconnectSettings {
            initial_backoff_ms: self.reconnect.initial_backoff_ms.max(1),
            max_backoff_ms: self.reconnect.max_backoff_ms,
            connect_timeout_ms: self.reconnect.connect_timeout_ms,
        };
        if reconnect.max_backoff_ms < reconnect.initial_backoff_ms {
            return Err(SettingsError::invalid(
                "nostr.reconnect.max_backoff_ms",
                "must be at least nostr.reconnect.initial_backoff_ms",
            ));
        }
        if reconnect.connect_timeout_ms == 0 {
            return Err(SettingsError::invalid(
                "nostr.reconnect.connect_timeout_ms",
                "must be at least 1",
            ));
        }
        let lnurl = self.lnurl;
        if lnurl.timeout_ms == 0 || lnurl.retry_initial_ms == 0 {
            return Err(SettingsError::invalid(
                "nostr.lnurl",
                "timeout_ms and retry_initial_ms must be at least 1",
            ));
        }
        if lnurl.retry_max_ms < lnurl.retry_initial_ms {
            return Err(SettingsError::invalid(
                "nostr.lnurl.retry_max_ms",
                "must be at least nostr.lnurl.retry_initial_ms",
            ));
        }
        let embedded_relay = EmbeddedRelaySettings {
            enabled: self.embedded_relay.enabled,
            bind: parse_socket_addr("nostr.embedded_relay.bind", &self.embedded_relay.bind)?,
        };
        // DESIGN.md: "an embedded loopback relay". It stores whatever anyone sends it, and the
        // bots and the tracker read from it: not for other machines.
        if embedded_relay.enabled && !embedded_relay.bind.ip().is_loopback() {
            return Err(SettingsError::invalid(
                "nostr.embedded_relay.bind",
                format!(
                    "{} is not a loopback address: the embedded relay takes anything anyone \
                     sends it; bind it to 127.0.0.1 or ::1, or use real relays",
                    embedded_relay.bind
                ),
            ));
        }
        if self.enabled && relays.is_empty() && !embedded_relay.enabled {
            return Err(SettingsError::invalid(
                "nostr.relays",
                "no relay configured and nostr.embedded_relay is disabled",
            ));
        }

        let mut bots = BTreeMap::new();
        for (name, raw) in self.bots {
            if !raw.enabled {
                continue;
            }
            let prefix = format!("nostr.bots.{name}");
            if !is_bot_name(&name) {
                return Err(SettingsError::invalid(
                    prefix,
                    "bot names are lowercase letters, digits, '-' and '_'",
                ));
            }
            let bot = raw.validate(&name, &prefix, dev_provider_bind)?;
            bots.insert(name, bot);
        }
        if self.enabled && !bots.contains_key("gov") {
            return Err(SettingsError::invalid(
                "nostr.bots.gov",
                "the gov bot is required: it publishes governance actions and tallies",
            ));
        }

        Ok(NostrSettings {
            enabled: self.enabled,
            relays,
            publish_interval_secs: self.publish_interval_secs,
            governance_config,
            health_debounce_secs: self.health_debounce_secs,
            audit_debounce_ms: self.audit_debounce_ms,
            backfill_margin_secs: self.backfill_margin_secs,
            catch_up_secs: self.catch_up_secs,
            reconnect,
            lnurl,
            embedded_relay,
            bots,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{key_of, load};
    use super::*;

    #[test]
    fn bad_relay_url_names_its_index() {
        let r = load(
            None,
            &[(
                "COMMONS__NOSTR__RELAYS",
                "wss://ok.example.org,https://x.org",
            )],
        );
        let err = r.unwrap_err().to_string();
        assert_eq!(err, "nostr.relays[1]: not a ws:// or wss:// URL");
    }

    #[test]
    fn lnurl_settings_and_endpoint_override() {
        let s = load(None, &[]).unwrap();
        assert_eq!(s.nostr.lnurl, LnurlSettings::default());
        assert_eq!(s.nostr.bots["gov"].lnurlp_url, None);
        let s = load(
            None,
            &[
                ("COMMONS__NOSTR__LNURL__RETRY_INITIAL_MS", "50"),
                (
                    "COMMONS__NOSTR__BOTS__GOV__LIGHTNING_ADDRESS",
                    "gov@example.org",
                ),
                (
                    "COMMONS__NOSTR__BOTS__DEV__LIGHTNING_ADDRESS",
                    "dev@example.org",
                ),
                (
                    "COMMONS__NOSTR__BOTS__GOV__LNURLP_URL",
                    "http://127.0.0.1:8123/.well-known/lnurlp/gov",
                ),
                (
                    "COMMONS__NOSTR__BOTS__DEV__LNURLP_URL",
                    "https://pay.example.org/.well-known/lnurlp/dev",
                ),
            ],
        )
        .unwrap();
        assert_eq!(s.nostr.lnurl.retry_initial_ms, 50);
        assert_eq!(
            s.nostr.bots["gov"]
                .lnurlp_url
                .as_ref()
                .map(url::Url::as_str),
            Some("http://127.0.0.1:8123/.well-known/lnurlp/gov")
        );
        for bad in [
            "http://pay.example.org/.well-known/lnurlp/gov",
            "ftp://127.0.0.1/x",
            "not a url",
        ] {
            assert_eq!(
                key_of(load(
                    None,
                    &[
                        (
                            "COMMONS__NOSTR__BOTS__GOV__LIGHTNING_ADDRESS",
                            "gov@example.org"
                        ),
                        ("COMMONS__NOSTR__BOTS__GOV__LNURLP_URL", bad)
                    ]
                )),
                "nostr.bots.gov.lnurlp_url",
                "{bad}"
            );
        }
        assert_eq!(
            key_of(load(None, &[("COMMONS__NOSTR__LNURL__RETRY_MAX_MS", "10")])),
            "nostr.lnurl.retry_max_ms"
        );
    }
}
