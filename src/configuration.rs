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

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use nostr_sdk::{PublicKey, RelayUrl};
use serde::{Deserialize, Serialize};

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

/// The development settings, compiled into the binary so `commons-nostr` runs anywhere.
pub const DEFAULT_SETTINGS: &str = include_str!("../settings/default.toml");

/// Prefix of environment overrides: `COMMONS__SECTION__KEY`.
pub const ENV_PREFIX: &str = "COMMONS";

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

#[derive(Debug, Clone, Serialize)]
pub struct ServerSettings {
    pub id: String,
    /// The server key, which signs status (30078), health (30079) and audit heads (30080).
    pub nsec_path: SecretSource,
    /// Development only: create missing key and token files (mode 0600) on start-up.
    pub generate_missing_keys: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatabaseSettings {
    /// `sqlite://...` or `postgres://...`. Never logged whole: it may carry a password.
    #[serde(serialize_with = "serialize_redacted_url")]
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HttpSettings {
    pub bind: SocketAddr,
    pub admin_token: SecretSource,
    /// `http.public_url`: where people reach the public page (behind a reverse proxy), without
    /// a trailing slash. Links in events and the NIP-89 handler use it.
    pub public_url: Option<String>,
}

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

#[derive(Debug, Clone, Serialize)]
pub struct BotSettings {
    pub nsec_path: SecretSource,
    pub npub: Option<PublicKey>,
    /// `name@domain`. For a bot served by the development provider, `<bot>@<http.bind>` until
    /// start-up knows the bound address ([`Settings::serve_dev_bots`]).
    pub lightning_address: String,
    /// Served by the development LNURL provider (`lnurl.dev_provider` on and no
    /// `lightning_address` given): its `zapper_pubkey` is the development zapper key.
    pub dev_provider: bool,
    pub zapper_pubkey: Option<PublicKey>,
    /// The LNURL-pay endpoint to ask for the provider key instead of the one derived from
    /// `lightning_address`: `https://`, or `http://` to a loopback host only (tests and local
    /// development; a provider reached over plain HTTP elsewhere could be impersonated).
    pub lnurlp_url: Option<url::Url>,
    pub profile: ProfileSettings,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSettings {
    pub name: String,
    #[serde(default)]
    pub about: String,
    #[serde(default)]
    pub picture: String,
}

/// Every parameter of DESIGN.md's "Votes" section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GovernanceSettings {
    pub participation_window_days: u32,
    pub cooling_off_threshold_btc: f64,
    pub cooling_off_days: u32,
    pub participation_floor: f64,
    pub weight_cap: f64,
    /// Vote weight a proposal needs, by tier 1 to 5.
    pub tier_thresholds: Vec<f64>,
    pub veto_threshold: f64,
    /// A proposal's tally event is published at most this often while votes change (seconds).
    pub tally_debounce_secs: u64,
    /// Several servers on one database: how long the tally lease (who publishes tallies)
    /// holds unless its holder renews it; another server takes it over once it lapses
    /// (seconds, at least 3: it is renewed every third of it).
    pub tally_lease_secs: u64,
    /// Several servers on one PostgreSQL database: how often each server reads the receipts
    /// any server recorded, besides on every `NOTIFY` (seconds, at least 1).
    pub receipt_poll_secs: u64,
    /// Every new review period pins ballot keys, so voters can seal their choice until the
    /// close (DESIGN.md "Sealed ballots").
    pub sealed_ballots: bool,
    /// npubs of independent ballot key holders, pinned after the gov bot in this order
    /// (DESIGN.md "Independent holders"). Validated as npubs at start-up.
    pub ballot_holders: Vec<String>,
    /// The voting window, in days, of a review period opened from GitHub, by tier 1 to 5
    /// (five whole numbers from 0 to 365; 0: a pull request of that tier opens none).
    pub review_days: Vec<i64>,
}

impl GovernanceSettings {
    /// `review_days[tier - 1]`: the window of a review period of `tier` opened from GitHub,
    /// or `None` for a tier outside 1 to 5.
    pub fn review_days_for(&self, tier: u8) -> Option<u32> {
        let index = usize::from(tier).checked_sub(1)?;
        self.review_days
            .get(index)
            .and_then(|days| u32::try_from(*days).ok())
    }
}

impl Default for GovernanceSettings {
    fn default() -> Self {
        GovernanceSettings {
            participation_window_days: 90,
            cooling_off_threshold_btc: 0.1,
            cooling_off_days: 30,
            participation_floor: 0.1,
            weight_cap: 0.05,
            tier_thresholds: vec![100.0, 500.0, 1000.0, 2500.0, 5000.0],
            veto_threshold: 0.4,
            tally_debounce_secs: 10,
            tally_lease_secs: 15,
            receipt_poll_secs: 5,
            sealed_ballots: true,
            ballot_holders: Vec::new(),
            review_days: vec![7, 30, 90, 0, 180],
        }
    }
}

/// `[github]`: GitHub's webhook (DESIGN.md "Governance actions from GitHub";
/// the `POST /webhooks/github` route).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GithubSettings {
    /// Where the webhook's secret lives (`env:VAR` or a file path); `None`: the webhook route
    /// answers 404.
    pub webhook_secret: Option<SecretSource>,
    /// `owner/name`, lower-cased: whose pull requests are governance actions.
    pub repositories: Vec<String>,
    /// GitHub logins, lower-cased, whose approving reviews are keyholder signatures.
    pub keyholders: Vec<String>,
}

impl GithubSettings {
    /// Whether `full_name` (`owner/name`, any case) is one of `repositories`.
    pub fn follows(&self, full_name: &str) -> bool {
        let full_name = full_name.to_ascii_lowercase();
        self.repositories.contains(&full_name)
    }

    /// Whether `login` (any case) is one of `keyholders`.
    pub fn is_keyholder(&self, login: &str) -> bool {
        let login = login.to_ascii_lowercase();
        self.keyholders.contains(&login)
    }
}

/// `[outbox]`: how deliveries are shared between servers on one database, and how long the
/// outbox keeps what it delivered ([`crate::store::outbox`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxSettings {
    /// How long a server's claim on a pending delivery holds before another server sharing the
    /// database may take it over (the claim is renewed while the server drains it).
    pub lease_secs: u64,
    /// Events whose every delivery ended (accepted, duplicate, refused) are pruned this many
    /// days after they were enqueued. At least 1.
    pub retention_days: u32,
}

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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGithub {
    /// Empty or absent: unset.
    #[serde(default)]
    webhook_secret: Option<String>,
    #[serde(default)]
    repositories: Vec<String>,
    #[serde(default)]
    keyholders: Vec<String>,
}

impl RawGithub {
    fn validate(self) -> Result<GithubSettings, SettingsError> {
        let webhook_secret = self
            .webhook_secret
            .as_deref()
            .map(str::trim)
            .filter(|raw| !raw.is_empty())
            .map(|raw| SecretSource::parse("github.webhook_secret", raw))
            .transpose()?;
        let mut repositories = Vec::with_capacity(self.repositories.len());
        for (i, raw) in self.repositories.iter().enumerate() {
            let key = format!("github.repositories[{i}]");
            let name = raw.trim().to_ascii_lowercase();
            let part_ok = |p: &str| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            };
            match name.split_once('/') {
                Some((owner, repo)) if part_ok(owner) && part_ok(repo) => {}
                _ => {
                    return Err(SettingsError::invalid(
                        key,
                        format!("{raw:?} is not a repository like owner/name"),
                    ))
                }
            }
            if repositories.contains(&name) {
                return Err(SettingsError::invalid(
                    key,
                    format!("{raw} is listed twice"),
                ));
            }
            repositories.push(name);
        }
        let mut keyholders = Vec::with_capacity(self.keyholders.len());
        for (i, raw) in self.keyholders.iter().enumerate() {
            let key = format!("github.keyholders[{i}]");
            let login = raw.trim().to_ascii_lowercase();
            if !is_github_login(&login) {
                return Err(SettingsError::invalid(
                    key,
                    format!("{raw:?} is not a GitHub login (1 to 39 letters, digits or '-')"),
                ));
            }
            if keyholders.contains(&login) {
                return Err(SettingsError::invalid(
                    key,
                    format!("{raw} is listed twice"),
                ));
            }
            keyholders.push(login);
        }
        Ok(GithubSettings {
            webhook_secret,
            repositories,
            keyholders,
        })
    }
}

/// A GitHub login: 1 to 39 ASCII letters, digits or hyphens, not starting with a hyphen.
pub fn is_github_login(login: &str) -> bool {
    (1..=39).contains(&login.len())
        && !login.starts_with('-')
        && login
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLnurlProvider {
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutbox {
    #[serde(default = "default_lease_secs")]
    lease_secs: u64,
    #[serde(default = "default_retention_days")]
    retention_days: i64,
}

impl Default for RawOutbox {
    fn default() -> Self {
        RawOutbox {
            lease_secs: default_lease_secs(),
            retention_days: default_retention_days(),
        }
    }
}

fn default_lease_secs() -> u64 {
    60
}

fn default_retention_days() -> i64 {
    30
}

/// A longest retention, so that days in seconds never overflow (about 270 years).
const MAX_RETENTION_DAYS: i64 = 100_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    id: String,
    nsec_path: String,
    #[serde(default)]
    generate_missing_keys: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    bind: String,
    admin_token: String,
    #[serde(default)]
    public_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLogging {
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNostr {
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

fn yes() -> bool {
    true
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBot {
    #[serde(default = "yes")]
    enabled: bool,
    nsec_path: String,
    #[serde(default)]
    npub: Option<String>,
    #[serde(default)]
    lightning_address: Option<String>,
    #[serde(default)]
    zapper_pubkey: Option<String>,
    #[serde(default)]
    lnurlp_url: Option<String>,
    profile: ProfileSettings,
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
        let server = ServerSettings {
            id: non_empty("server.id", self.server.id)?,
            nsec_path: SecretSource::parse("server.nsec_path", &self.server.nsec_path)?,
            generate_missing_keys: self.server.generate_missing_keys,
        };
        if server.id.len() > 64 || server.id.chars().any(|c| c.is_whitespace()) {
            return Err(SettingsError::invalid(
                "server.id",
                "must be at most 64 characters with no white space",
            ));
        }

        let url = self.database.url.trim().to_string();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(SettingsError::invalid(
                "database.url",
                "must start with sqlite:, postgres:// or postgresql://",
            ));
        }
        let database = DatabaseSettings { url };

        let http = HttpSettings {
            bind: parse_socket_addr("http.bind", &self.http.bind)?,
            admin_token: SecretSource::parse("http.admin_token", &self.http.admin_token)?,
            public_url: self
                .http
                .public_url
                .as_deref()
                .map(str::trim)
                .filter(|raw| !raw.is_empty())
                .map(|raw| parse_public_url("http.public_url", raw))
                .transpose()?,
        };

        let format = match self.logging.format.as_str() {
            "human" => LogFormat::Human,
            "json" => LogFormat::Json,
            other => {
                return Err(SettingsError::invalid(
                    "logging.format",
                    format!("must be \"human\" or \"json\", not {other:?}"),
                ))
            }
        };
        if tracing_subscriber::EnvFilter::try_new(&self.logging.level).is_err() {
            return Err(SettingsError::invalid(
                "logging.level",
                format!(
                    "{:?} is not a log filter (try \"info\")",
                    self.logging.level
                ),
            ));
        }
        let logging = LoggingSettings {
            format,
            level: self.logging.level,
        };

        let lnurl = LnurlProviderSettings {
            dev_provider: self.lnurl.dev_provider,
            zapper_nsec_path: SecretSource::parse(
                "lnurl.zapper_nsec_path",
                &self.lnurl.zapper_nsec_path,
            )?,
            // The development provider pays the demonstration zap: without it there is none.
            demo_vote: self.lnurl.demo_vote && self.lnurl.dev_provider,
        };
        if lnurl.dev_provider && !http.bind.ip().is_loopback() {
            return Err(SettingsError::invalid(
                "lnurl.dev_provider",
                format!(
                    "the development LNURL provider serves loopback only, but http.bind is {}; \
                     turn it off (lnurl.dev_provider = false) and give each bot a lightning_address",
                    http.bind
                ),
            ));
        }
        let dev_provider_bind = lnurl.dev_provider.then_some(http.bind);
        let nostr = self.nostr.validate(dev_provider_bind)?;
        let governance = validate_governance(self.governance)?;
        let github = self.github.validate()?;
        if self.outbox.lease_secs == 0 {
            return Err(SettingsError::invalid(
                "outbox.lease_secs",
                "must be at least 1",
            ));
        }
        let outbox = OutboxSettings {
            lease_secs: self.outbox.lease_secs,
            retention_days: u32::try_from(self.outbox.retention_days)
                .ok()
                .filter(|days| (1..=MAX_RETENTION_DAYS).contains(&i64::from(*days)))
                .ok_or_else(|| {
                    SettingsError::invalid(
                        "outbox.retention_days",
                        format!(
                            "must be a whole number of days from 1 to {MAX_RETENTION_DAYS}, not {}",
                            self.outbox.retention_days
                        ),
                    )
                })?,
        };

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

impl RawNostr {
    /// `dev_provider_bind`: `http.bind` when `lnurl.dev_provider` is on.
    fn validate(
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

impl RawBot {
    fn validate(
        self,
        name: &str,
        prefix: &str,
        dev_provider_bind: Option<SocketAddr>,
    ) -> Result<BotSettings, SettingsError> {
        let nsec_path = SecretSource::parse(&format!("{prefix}.nsec_path"), &self.nsec_path)?;
        let npub = match self.npub.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(parse_public_key(&format!("{prefix}.npub"), text)?),
        };
        let zapper_pubkey = match self.zapper_pubkey.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(parse_public_key(&format!("{prefix}.zapper_pubkey"), text)?),
        };
        let lnurlp_url = match self.lnurlp_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(parse_lnurlp_url(&format!("{prefix}.lnurlp_url"), text)?),
        };
        let given_address = self
            .lightning_address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty());
        let (lightning_address, dev_provider) = match (given_address, dev_provider_bind) {
            (Some(address), _) => {
                if !is_lightning_address(address) {
                    return Err(SettingsError::invalid(
                        format!("{prefix}.lightning_address"),
                        format!("{address:?} is not a lightning address (name@domain)"),
                    ));
                }
                (address.to_owned(), false)
            }
            (None, Some(bind)) => {
                for (key, given) in [
                    ("zapper_pubkey", zapper_pubkey.is_some()),
                    ("lnurlp_url", lnurlp_url.is_some()),
                ] {
                    if given {
                        return Err(SettingsError::invalid(
                            format!("{prefix}.{key}"),
                            "this bot has no lightning_address, so the development LNURL \
                             provider serves it with its own key; give the bot a \
                             lightning_address to use another provider",
                        ));
                    }
                }
                (dev_lightning_address(name, bind), true)
            }
            (None, None) => {
                return Err(SettingsError::invalid(
                    format!("{prefix}.lightning_address"),
                    "required (name@domain) unless lnurl.dev_provider is on",
                ))
            }
        };
        if self.profile.name.trim().is_empty() {
            return Err(SettingsError::invalid(
                format!("{prefix}.profile.name"),
                "must not be empty",
            ));
        }
        Ok(BotSettings {
            nsec_path,
            npub,
            lightning_address,
            dev_provider,
            zapper_pubkey,
            lnurlp_url,
            profile: self.profile,
        })
    }
}

fn validate_governance(mut g: GovernanceSettings) -> Result<GovernanceSettings, SettingsError> {
    let fraction = |key: &str, v: f64| {
        if v.is_finite() && v > 0.0 && v <= 1.0 {
            Ok(())
        } else {
            Err(SettingsError::invalid(
                format!("governance.{key}"),
                format!("must be a number above 0 and at most 1, not {v}"),
            ))
        }
    };
    fraction("participation_floor", g.participation_floor)?;
    fraction("weight_cap", g.weight_cap)?;
    fraction("veto_threshold", g.veto_threshold)?;
    if !(g.cooling_off_threshold_btc.is_finite() && g.cooling_off_threshold_btc > 0.0) {
        return Err(SettingsError::invalid(
            "governance.cooling_off_threshold_btc",
            "must be a positive number",
        ));
    }
    if g.tally_debounce_secs > 3600 {
        return Err(SettingsError::invalid(
            "governance.tally_debounce_secs",
            "must be at most 3600",
        ));
    }
    if !(3..=3600).contains(&g.tally_lease_secs) {
        return Err(SettingsError::invalid(
            "governance.tally_lease_secs",
            "must be from 3 to 3600",
        ));
    }
    if !(1..=3600).contains(&g.receipt_poll_secs) {
        return Err(SettingsError::invalid(
            "governance.receipt_poll_secs",
            "must be from 1 to 3600",
        ));
    }
    if g.participation_window_days == 0 {
        return Err(SettingsError::invalid(
            "governance.participation_window_days",
            "must be at least 1",
        ));
    }
    if g.tier_thresholds.len() != 5 {
        return Err(SettingsError::invalid(
            "governance.tier_thresholds",
            format!(
                "needs 5 values (tiers 1 to 5), found {}",
                g.tier_thresholds.len()
            ),
        ));
    }
    if g.tier_thresholds
        .iter()
        .any(|t| !t.is_finite() || *t <= 0.0)
    {
        return Err(SettingsError::invalid(
            "governance.tier_thresholds",
            "every threshold must be a positive number",
        ));
    }
    let mut holders = Vec::with_capacity(g.ballot_holders.len());
    for holder in &g.ballot_holders {
        use nostr_sdk::FromBech32;
        match nostr_sdk::PublicKey::from_bech32(holder.trim()) {
            Ok(key) if holders.contains(&key) => {
                return Err(SettingsError::invalid(
                    "governance.ballot_holders",
                    format!("'{holder}' is listed twice"),
                ))
            }
            Ok(key) => holders.push(key),
            Err(_) => {
                return Err(SettingsError::invalid(
                    "governance.ballot_holders",
                    format!("'{holder}' is not an npub"),
                ))
            }
        }
    }
    if !holders.is_empty() && !g.sealed_ballots {
        return Err(SettingsError::invalid(
            "governance.ballot_holders",
            "independent ballot key holders need governance.sealed_ballots = true",
        ));
    }
    g.ballot_holders = g
        .ballot_holders
        .iter()
        .map(|holder| holder.trim().to_owned())
        .collect();
    if g.review_days.len() != 5 || g.review_days.iter().any(|d| !(0..=365).contains(d)) {
        return Err(SettingsError::invalid(
            "governance.review_days",
            format!(
                "needs 5 whole numbers of days from 0 to 365 (tiers 1 to 5), found {:?}",
                g.review_days
            ),
        ));
    }
    Ok(g)
}

fn non_empty(key: &str, value: String) -> Result<String, SettingsError> {
    let value = value.trim().to_string();
    if value.is_empty() {
        Err(SettingsError::invalid(key, "must not be empty"))
    } else {
        Ok(value)
    }
}

fn parse_socket_addr(key: &str, raw: &str) -> Result<SocketAddr, SettingsError> {
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

fn parse_public_key(key: &str, raw: &str) -> Result<PublicKey, SettingsError> {
    PublicKey::parse(raw)
        .map_err(|_| SettingsError::invalid(key, "not an npub1... or 64-hex public key"))
}

/// An LNURL-pay endpoint override: `https://` anywhere, `http://` only to a loopback host.
fn parse_lnurlp_url(key: &str, raw: &str) -> Result<url::Url, SettingsError> {
    let url = url::Url::parse(raw)
        .map_err(|_| SettingsError::invalid(key, format!("{raw:?} is not a URL")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(SettingsError::invalid(
            key,
            "plain http:// is only allowed to a loopback host (127.0.0.1, ::1, localhost)",
        )),
        _ => Err(SettingsError::invalid(key, "must be an https:// URL")),
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

fn is_bot_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// `name@domain`, or `name@host:port` (a development provider's address, as
/// [`dev_lightning_address`] makes them).
fn is_lightning_address(address: &str) -> bool {
    match address.split_once('@') {
        Some((name, authority)) => {
            let domain = match authority.rsplit_once(':') {
                Some((host, port)) if port.parse::<u16>().is_ok_and(|p| p > 0) => host,
                Some(_) => return false,
                None => authority,
            };
            !name.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c))
                && domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        }
        None => false,
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

/// The lightning address the development provider gives bot `name` on the HTTP server bound to
/// `bind`: `<name>@<host>:<port>` (DESIGN.md "Zapping"). Resolvers read such a `host:port`
/// address over plain http, on loopback only (see `nostr::lnurl::lnurlp_url`).
pub fn dev_lightning_address(name: &str, bind: SocketAddr) -> String {
    format!("{name}@{bind}")
}

/// The default path of a bot's key file, used by `keygen` when settings name no file.
pub fn default_key_path(bot: &str) -> PathBuf {
    PathBuf::from(format!("data/keys/{bot}.nsec"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: Option<&str>, env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        if let Some(text) = toml {
            std::fs::write(&path, text).unwrap();
        }
        Settings::load(SettingsSources {
            config_file: toml.map(|_| path.as_path()),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
    }

    fn key_of(r: Result<Settings, SettingsError>) -> String {
        r.unwrap_err().key().unwrap_or("<none>").to_string()
    }

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
    fn outbox_retention_defaults_to_30_days_and_must_be_at_least_one() {
        assert_eq!(load(None, &[]).unwrap().outbox.retention_days, 30);
        let s = load(None, &[("COMMONS__OUTBOX__RETENTION_DAYS", "7")]).unwrap();
        assert_eq!(s.outbox.retention_days, 7);
        for bad in ["0", "-3"] {
            let err = load(None, &[("COMMONS__OUTBOX__RETENTION_DAYS", bad)])
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("outbox.retention_days: "), "{err}");
        }
    }

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
    fn ballot_holders_must_be_npubs_and_need_sealed_ballots() {
        use nostr_sdk::ToBech32;
        let npub = nostr_sdk::Keys::generate()
            .public_key()
            .to_bech32()
            .expect("npub");
        let good = GovernanceSettings {
            ballot_holders: vec![npub.clone()],
            ..GovernanceSettings::default()
        };
        assert!(validate_governance(good).is_ok_and(|g| g.ballot_holders == vec![npub.clone()]));
        let without_sealed = GovernanceSettings {
            ballot_holders: vec![npub.clone()],
            sealed_ballots: false,
            ..GovernanceSettings::default()
        };
        for (g, why) in [
            (
                GovernanceSettings {
                    ballot_holders: vec![npub.clone(), "npub1nope".to_owned()],
                    ..GovernanceSettings::default()
                },
                "'npub1nope' is not an npub",
            ),
            (
                GovernanceSettings {
                    ballot_holders: vec![npub.clone(), npub.clone()],
                    ..GovernanceSettings::default()
                },
                "twice",
            ),
            (without_sealed, "sealed_ballots"),
        ] {
            let error = validate_governance(g).expect_err("refused").to_string();
            assert!(
                error.starts_with("governance.ballot_holders") && error.contains(why),
                "{error}"
            );
        }
        let off = GovernanceSettings {
            sealed_ballots: false,
            ..GovernanceSettings::default()
        };
        assert!(validate_governance(off).is_ok_and(|g| !g.sealed_ballots));
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

    #[test]
    fn default_bots_are_served_by_the_development_provider() {
        let mut s = load(None, &[]).unwrap();
        assert!(s.lnurl.dev_provider);
        assert_eq!(
            s.lnurl.zapper_nsec_path,
            SecretSource::File("data/keys/zapper.nsec".into())
        );
        for (name, bot) in &s.nostr.bots {
            assert!(bot.dev_provider, "{name}");
            assert_eq!(bot.lightning_address, format!("{name}@127.0.0.1:8080"));
            assert_eq!(bot.zapper_pubkey, None);
        }
        // Start-up points them at the bound port and the development zapper key.
        let zapper = nostr_sdk::Keys::generate().public_key();
        s.serve_dev_bots("127.0.0.1:41234".parse().unwrap(), zapper);
        let gov = &s.nostr.bots["gov"];
        assert_eq!(gov.lightning_address, "gov@127.0.0.1:41234");
        assert_eq!(gov.zapper_pubkey, Some(zapper));

        // A bot given its own address keeps it, and its own provider.
        let mut s = load(
            None,
            &[
                (
                    "COMMONS__NOSTR__BOTS__DEV__LIGHTNING_ADDRESS",
                    "dev@pay.example.org",
                ),
                ("COMMONS__NOSTR__BOTS__DEV__ZAPPER_PUBKEY", &zapper.to_hex()),
            ],
        )
        .unwrap();
        s.serve_dev_bots(
            "127.0.0.1:41234".parse().unwrap(),
            nostr_sdk::Keys::generate().public_key(),
        );
        let dev = &s.nostr.bots["dev"];
        assert!(!dev.dev_provider);
        assert_eq!(dev.lightning_address, "dev@pay.example.org");
        assert_eq!(dev.zapper_pubkey, Some(zapper));
    }

    #[test]
    fn lightning_addresses_may_name_a_port() {
        for good in [
            "gov@example.org",
            "gov@127.0.0.1:8080",
            "dev.bot@pay.example.org:8443",
        ] {
            assert!(is_lightning_address(good), "{good}");
        }
        for bad in [
            "gov",
            "gov@localhost",
            "gov@example.org:",
            "gov@example.org:0",
            "gov@example.org:http",
            "gov@a:b:1",
        ] {
            assert!(!is_lightning_address(bad), "{bad}");
        }
    }

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

    #[test]
    fn embedded_relay_url_is_appended_once() {
        let s = load(None, &[]).unwrap();
        let addr: SocketAddr = "127.0.0.1:4321".parse().unwrap();
        let urls = s.relay_urls(Some(addr));
        assert_eq!(urls.len(), 1);
        assert_eq!(urls[0].as_str(), "ws://127.0.0.1:4321");
    }

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

    #[test]
    fn github_webhook_is_off_by_default_and_its_settings_are_checked() {
        let s = load(None, &[]).unwrap();
        assert_eq!(s.github.webhook_secret, None);
        assert!(s.github.repositories.is_empty());
        assert_eq!(s.governance.review_days, [7, 30, 90, 0, 180]);
        assert_eq!(s.governance.review_days_for(1), Some(7));
        assert_eq!(s.governance.review_days_for(4), Some(0));
        assert_eq!(s.governance.review_days_for(0), None);
        assert_eq!(s.governance.review_days_for(6), None);

        let s = load(
            None,
            &[
                (
                    "COMMONS__GITHUB__WEBHOOK_SECRET",
                    "env:GITHUB_WEBHOOK_SECRET",
                ),
                (
                    "COMMONS__GITHUB__REPOSITORIES",
                    "BTC-Commons/Governance,a/b",
                ),
                ("COMMONS__GITHUB__KEYHOLDERS", "Alice,bob-2"),
                ("COMMONS__GOVERNANCE__REVIEW_DAYS", "1,2,3,0,365"),
            ],
        )
        .unwrap();
        assert_eq!(
            s.github.webhook_secret,
            Some(SecretSource::Env("GITHUB_WEBHOOK_SECRET".into()))
        );
        assert!(s.github.follows("btc-commons/GOVERNANCE"));
        assert!(!s.github.follows("btc-commons/other"));
        assert!(s.github.is_keyholder("ALICE"));
        assert!(!s.github.is_keyholder("carol"));
        assert_eq!(s.governance.review_days, [1, 2, 3, 0, 365]);

        for (key, value, named) in [
            (
                "COMMONS__GITHUB__WEBHOOK_SECRET",
                "env:",
                "github.webhook_secret",
            ),
            (
                "COMMONS__GITHUB__REPOSITORIES",
                "no-slash",
                "github.repositories[0]",
            ),
            (
                "COMMONS__GITHUB__REPOSITORIES",
                "a/b,A/B",
                "github.repositories[1]",
            ),
            (
                "COMMONS__GITHUB__KEYHOLDERS",
                "not a login",
                "github.keyholders[0]",
            ),
            (
                "COMMONS__GOVERNANCE__REVIEW_DAYS",
                "1,2,3",
                "governance.review_days",
            ),
            (
                "COMMONS__GOVERNANCE__REVIEW_DAYS",
                "1,2,3,4,-1",
                "governance.review_days",
            ),
            (
                "COMMONS__GOVERNANCE__REVIEW_DAYS",
                "1,2,3,4,366",
                "governance.review_days",
            ),
        ] {
            assert_eq!(key_of(load(None, &[(key, value)])), named, "{key}={value}");
        }
    }
}
