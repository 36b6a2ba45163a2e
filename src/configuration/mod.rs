//! Settings: layered with the `config` crate and validated once, at the edge.
//!
//! Layers, later ones winning: the embedded `settings/default.toml` (a working development
//! setup), the file given with `--config FILE`, then environment variables
//! `COMMONS__<SECTION>__<KEY>` (`COMMONS__NOSTR__PUBLISH_INTERVAL_SECS=60`,
//! `COMMONS__NOSTR__BOTS__GOV__LIGHTNING_ADDRESS=...`, lists comma-separated).
//!
//! The raw, serde-shaped layer (`RawSettings`) is private to loading; the rest of the service
//! only ever sees [`Settings`], whose fields cannot hold a value that failed validation: relay
//! URLs are parsed, addresses are socket addresses, secret locations are [`SecretSource`]s.
//! Unknown keys are refused, so a typo in a production file stops start-up instead of being
//! silently ignored. Every error names the offending key ([`SettingsError`]).
//!
//! Secrets are never read here: settings only say *where* a secret lives. Reading and checking
//! them is [`crate::keys`]'s job, so a `Settings` value is safe to log, hash and print.
//!
//! Each section of the file is its own module, holding its settings, its raw (serde-shaped)
//! layer and the checks that turn one into the other; this one holds [`Settings`] and loading.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use config::{Config, Environment, File, FileFormat};
use nostr_sdk::{PublicKey, RelayUrl};
use serde::{Deserialize, Serialize};

mod bots;
mod database;
mod github;
mod governance;
mod http;
mod lnurl;
mod logging;
mod nostr;
mod outbox;
mod secret;
mod server;
#[cfg(test)]
mod testing;
mod validation;

pub use bots::{default_key_path, dev_lightning_address, BotSettings, ProfileSettings};
pub use database::{redact_url, DatabaseSettings};
pub use github::{is_github_login, GithubSettings};
pub use governance::GovernanceSettings;
pub use http::HttpSettings;
pub use lnurl::LnurlProviderSettings;
pub use logging::{LogFormat, LoggingSettings};
pub use nostr::{EmbeddedRelaySettings, LnurlSettings, NostrSettings, ReconnectSettings};
pub use outbox::OutboxSettings;
pub use secret::SecretSource;
pub use server::ServerSettings;
pub use validation::{parse_relay_url, SettingsError};

use database::RawDatabase;
use github::RawGithub;
use governance::validate_governance;
use http::RawHttp;
use lnurl::RawLnurlProvider;
use logging::RawLogging;
use nostr::RawNostr;
use outbox::RawOutbox;
use server::RawServer;

/// The development settings, compiled into the binary so `commons-nostr` runs anywhere.
pub const DEFAULT_SETTINGS: &str = include_str!("../../settings/default.toml");

/// Prefix of environment overrides: `COMMONS__SECTION__KEY`.
pub const ENV_PREFIX: &str = "COMMONS";

/// Validated settings for the whole service.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub http: HttpSettings,
    pub logging: LoggingSettings,
    pub nostr: NostrSettings,
    pub governance: GovernanceSettings,
    pub outbox: OutboxSettings,
    pub lnurl: LnurlProviderSettings,
    pub github: GithubSettings,
}

// ---------------------------------------------------------------------------------------------
// The raw layer: what the files and environment say, before validation.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    server: RawServer,
    database: RawDatabase,
    http: RawHttp,
    #[serde(default)]
    logging: RawLogging,
    nostr: RawNostr,
    #[serde(default)]
    governance: GovernanceSettings,
    #[serde(default)]
    outbox: RawOutbox,
    #[serde(default)]
    lnurl: RawLnurlProvider,
    #[serde(default)]
    github: RawGithub,
}

// ---------------------------------------------------------------------------------------------
// Loading

/// Where the settings come from. `env` is the environment to read `COMMONS__*` overrides
/// from; the process environment in production, a map in tests (so tests stay parallel-safe).
pub struct SettingsSources<'a> {
    pub config_file: Option<&'a Path>,
    pub env: BTreeMap<String, String>,
}

impl<'a> SettingsSources<'a> {
    /// The embedded defaults, an optional file, and the process environment.
    pub fn from_process(config_file: Option<&'a Path>) -> Self {
        SettingsSources {
            config_file,
            env: std::env::vars()
                .filter(|(k, _)| k.starts_with(ENV_PREFIX))
                .collect(),
        }
    }
}

impl Settings {
    /// Loads and validates the layered settings.
    pub fn load(sources: SettingsSources<'_>) -> Result<Settings, SettingsError> {
        let mut builder =
            Config::builder().add_source(File::from_str(DEFAULT_SETTINGS, FileFormat::Toml));
        if let Some(path) = sources.config_file {
            if !path.is_file() {
                return Err(SettingsError::Load(format!(
                    "config file {} does not exist or is not a file",
                    path.display()
                )));
            }
            builder = builder.add_source(File::from(path).format(FileFormat::Toml));
        }
        let env: config::Map<String, String> = sources
            .env
            .into_iter()
            .filter(|(k, _)| k.starts_with(&format!("{ENV_PREFIX}__")))
            .collect();
        builder = builder.add_source(
            Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("nostr.relays")
                .with_list_parse_key("governance.tier_thresholds")
                .with_list_parse_key("governance.review_days")
                .with_list_parse_key("github.repositories")
                .with_list_parse_key("github.keyholders")
                .with_list_parse_key("governance.ballot_holders")
                .source(Some(env)),
        );
        let raw: RawSettings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| SettingsError::Load(e.to_string()))?;
        raw.validate()
    }

    /// Points every bot the development provider serves at it, once start-up knows where it
    /// listens: lightning address `<bot>@<http_addr>` (the bound address, which differs from
    /// `http.bind` when that asks for port 0) and `zapper` as the provider key (no lookup).
    pub fn serve_dev_bots(&mut self, http_addr: SocketAddr, zapper: PublicKey) {
        for (name, bot) in &mut self.nostr.bots {
            if bot.dev_provider {
                bot.lightning_address = dev_lightning_address(name, http_addr);
                bot.zapper_pubkey = Some(zapper);
            }
        }
    }

    /// Every relay the service talks to: the configured ones, then the embedded relay's
    /// (given its bound address, which may differ from the setting when it asked for port 0).
    pub fn relay_urls(&self, embedded: Option<SocketAddr>) -> Vec<RelayUrl> {
        let mut urls = self.nostr.relays.clone();
        if let Some(addr) = embedded {
            if let Ok(url) = RelayUrl::parse(&format!("ws://{addr}")) {
                if !urls.contains(&url) {
                    urls.push(url);
                }
            }
        }
        urls
    }

    /// A canonical JSON rendering of the effective settings (secret locations only, never
    /// secrets; the database URL redacted). Hashed into the status event's `config_hash`.
    pub fn canonical_json(&self) -> String {
        // serde_json::Value's maps are ordered (BTreeMap), so the rendering is canonical.
        serde_json::to_value(self)
            .map(|v| v.to_string())
            .unwrap_or_default()
    }
}

impl RawSettings {
    fn validate(self) -> Result<Settings, SettingsError> {
        let server = self.server.validate()?;
        let database = self.database.validate()?;
        let http = self.http.validate()?;
        let logging = self.logging.validate()?;
        let mut lnurl = self.lnurl.validate(http.bind)?;
        let dev_provider_bind = lnurl.dev_provider.then_some(http.bind);
        let nostr = self.nostr.validate(dev_provider_bind)?;
        // The demonstration zaps the gov bot through the development provider: a gov bot with a
        // real lightning address (a production file that left the provider on) gets none, so
        // no demonstration proposal is ever signed by a real gov bot on real relays.
        lnurl.demo_vote &= nostr.bots.get("gov").is_some_and(|gov| gov.dev_provider);
        let governance = validate_governance(self.governance)?;
        let github = self.github.validate()?;
        let outbox = self.outbox.validate()?;

        Ok(Settings {
            server,
            database,
            http,
            logging,
            nostr,
            governance,
            outbox,
            lnurl,
            github,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{key_of, load};
    use super::*;

    #[test]
    fn embedded_defaults_are_valid() {
        let s = load(None, &[]).unwrap();
        assert_eq!(s.nostr.publish_interval_secs, 3600);
        assert!(s.nostr.embedded_relay.enabled);
        assert!(s.server.generate_missing_keys);
        assert_eq!(
            s.nostr.bots.keys().collect::<Vec<_>>(),
            ["dev", "gov", "network", "research"]
        );
        assert_eq!(s.governance, GovernanceSettings::default());
        assert!(s.governance.sealed_ballots);
        assert!(s.governance.ballot_holders.is_empty());
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        let file = r#"
            [nostr]
            governance_config = "commons_mainnet"
            publish_interval_secs = 120
            relays = ["wss://relay.example.org"]
            [nostr.bots.gov]
            nsec_path = "env:GOV_BOT_NSEC"
            lightning_address = "gov@example.org"
            [nostr.bots.gov.profile]
            name = "@BTCCommons_Gov"
        "#;
        let s = load(
            Some(file),
            &[
                ("COMMONS__NOSTR__PUBLISH_INTERVAL_SECS", "60"),
                ("COMMONS__NOSTR__BOTS__DEV__ENABLED", "false"),
                ("COMMONS__GOVERNANCE__WEIGHT_CAP", "0.1"),
                (
                    "COMMONS__NOSTR__RELAYS",
                    "wss://a.example.org,wss://b.example.org",
                ),
            ],
        )
        .unwrap();
        assert_eq!(s.nostr.governance_config, "commons_mainnet");
        assert_eq!(s.nostr.publish_interval_secs, 60);
        assert_eq!(s.governance.weight_cap, 0.1);
        assert_eq!(s.nostr.relays.len(), 2);
        assert_eq!(s.nostr.relays[1].as_str(), "wss://b.example.org");
        assert!(!s.nostr.bots.contains_key("dev"));
        let gov = &s.nostr.bots["gov"];
        assert_eq!(gov.nsec_path, SecretSource::Env("GOV_BOT_NSEC".into()));
        assert_eq!(gov.profile.name, "@BTCCommons_Gov");
    }

    #[test]
    fn each_bad_value_names_its_key() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "COMMONS__NOSTR__PUBLISH_INTERVAL_SECS",
                "0",
                "nostr.publish_interval_secs",
            ),
            ("COMMONS__HTTP__BIND", "localhost", "http.bind"),
            ("COMMONS__DATABASE__URL", "mysql://x", "database.url"),
            ("COMMONS__LOGGING__FORMAT", "xml", "logging.format"),
            (
                "COMMONS__GOVERNANCE__WEIGHT_CAP",
                "1.5",
                "governance.weight_cap",
            ),
            (
                "COMMONS__GOVERNANCE__VETO_THRESHOLD",
                "0",
                "governance.veto_threshold",
            ),
            (
                "COMMONS__GOVERNANCE__TIER_THRESHOLDS",
                "1,2,3",
                "governance.tier_thresholds",
            ),
            (
                "COMMONS__GOVERNANCE__TALLY_LEASE_SECS",
                "2",
                "governance.tally_lease_secs",
            ),
            (
                "COMMONS__GOVERNANCE__RECEIPT_POLL_SECS",
                "0",
                "governance.receipt_poll_secs",
            ),
            (
                "COMMONS__NOSTR__BOTS__GOV__NPUB",
                "npub1garbage",
                "nostr.bots.gov.npub",
            ),
            (
                "COMMONS__NOSTR__BOTS__GOV__ZAPPER_PUBKEY",
                "zz",
                "nostr.bots.gov.zapper_pubkey",
            ),
            (
                "COMMONS__NOSTR__BOTS__DEV__LIGHTNING_ADDRESS",
                "not-an-address",
                "nostr.bots.dev.lightning_address",
            ),
            (
                "COMMONS__NOSTR__BOTS__GOV__NSEC_PATH",
                "",
                "nostr.bots.gov.nsec_path",
            ),
            ("COMMONS__SERVER__NSEC_PATH", "env:", "server.nsec_path"),
            (
                "COMMONS__NOSTR__BOTS__GOV__ENABLED",
                "false",
                "nostr.bots.gov",
            ),
            (
                "COMMONS__NOSTR__BOTS__Bad__NSEC_PATH",
                "x",
                "nostr.bots.bad",
            ),
            (
                "COMMONS__GOVERNANCE__BALLOT_HOLDERS",
                "npub1garbage",
                "governance.ballot_holders",
            ),
            (
                "COMMONS__NOSTR__EMBEDDED_RELAY__BIND",
                "0.0.0.0:7777",
                "nostr.embedded_relay.bind",
            ),
        ];
        for (var, value, key) in cases {
            let r = load(None, &[(var, value)]);
            match r {
                Err(e) => assert!(
                    e.to_string().starts_with(key) || e.to_string().contains(key),
                    "{var}={value}: expected an error naming {key}, got: {e}"
                ),
                Ok(_) => panic!("{var}={value} was accepted"),
            }
        }
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r = load(Some("[nostr]\npublish_intervl_secs = 5\n"), &[]);
        let err = r.unwrap_err().to_string();
        assert!(err.contains("publish_intervl_secs"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let r = load(Some("[nostr]\npublish_interval_secs = \"soon\"\n"), &[]);
        let err = r.unwrap_err().to_string();
        assert!(err.contains("publish_interval_secs"), "{err}");
    }

    #[test]
    fn missing_config_file_is_an_error() {
        let r = Settings::load(SettingsSources {
            config_file: Some(Path::new("/nonexistent/commons.toml")),
            env: BTreeMap::new(),
        });
        assert!(r
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/commons.toml"));
    }

    #[test]
    fn canonical_json_redacts_database_password() {
        let s = load(
            None,
            &[("COMMONS__DATABASE__URL", "postgres://u:hunter2@db/commons")],
        )
        .unwrap();
        let json = s.canonical_json();
        assert!(!json.contains("hunter2"));
        assert!(json.contains("postgres://u:***@db/commons"));
        assert_eq!(
            key_of(load(None, &[("COMMONS__SERVER__ID", "a b")])),
            "server.id"
        );
    }

    #[test]
    fn the_demonstration_vote_runs_only_when_the_development_provider_serves_the_gov_bot() {
        assert!(load(None, &[]).unwrap().lnurl.demo_vote);
        let real_gov = load(
            None,
            &[(
                "COMMONS__NOSTR__BOTS__GOV__LIGHTNING_ADDRESS",
                "gov@commons.example",
            )],
        )
        .unwrap();
        assert!(real_gov.lnurl.dev_provider);
        assert!(!real_gov.lnurl.demo_vote);
    }

    #[test]
    fn embedded_relay_url_is_appended_once() {
        let s = load(None, &[]).unwrap();
        let addr: SocketAddr = "127.0.0.1:4321".parse().unwrap();
        let urls = s.relay_urls(Some(addr));
        assert_eq!(urls.len(), 1);
        assert_eq!(urls[0].as_str(), "ws://127.0.0.1:4321");
    }
}
