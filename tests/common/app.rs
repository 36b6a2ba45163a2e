//! The whole service, started in-process on random ports against test relays and a test
//! database, configured the way an operator would: settings overrides and secrets in
//! (test-local) environment variables.

use std::collections::BTreeMap;

use commons_nostr::configuration::{Settings, SettingsError, SettingsSources};
use commons_nostr::keys::ServiceKeys;
use commons_nostr::startup::Application;
use nostr_sdk::prelude::*;

pub const BOTS: [&str; 4] = ["gov", "dev", "research", "network"];

/// Everything that must stay the same across restarts of one test service: its keys, its
/// admin token and its database.
#[derive(Clone)]
pub struct TestConfig {
    pub db_url: String,
    pub relays: Vec<RelayUrl>,
    pub server_keys: Keys,
    pub bot_keys: BTreeMap<String, Keys>,
    pub admin_token: String,
    /// The development LNURL provider's key, used with [`TestConfig::with_dev_provider`].
    pub dev_zapper: Keys,
    /// Extra `COMMONS__...` overrides.
    pub overrides: Vec<(String, String)>,
}

impl TestConfig {
    pub fn new(db_url: &str, relays: Vec<RelayUrl>) -> TestConfig {
        TestConfig {
            db_url: db_url.to_string(),
            relays,
            server_keys: Keys::generate(),
            bot_keys: BOTS
                .iter()
                .map(|b| (b.to_string(), Keys::generate()))
                .collect(),
            admin_token: hex::encode(rand::random::<[u8; 32]>()),
            dev_zapper: Keys::generate(),
            overrides: Vec::new(),
        }
    }

    /// The service as the default settings run it: the development LNURL provider serves every
    /// bot (`<bot>@<http address>`), signing receipts with the key in `T_ZAPPER_NSEC`.
    pub fn with_dev_provider(self) -> TestConfig {
        let zapper = self.dev_zapper.secret_key().to_secret_hex();
        let mut cfg = self
            .with("COMMONS__LNURL__DEV_PROVIDER", "true")
            .with("COMMONS__LNURL__ZAPPER_NSEC_PATH", "env:T_ZAPPER_NSEC")
            .with("T_ZAPPER_NSEC", &zapper);
        for bot in BOTS {
            cfg = cfg.with(
                &format!(
                    "COMMONS__NOSTR__BOTS__{}__LIGHTNING_ADDRESS",
                    bot.to_uppercase()
                ),
                "",
            );
        }
        cfg
    }

    pub fn with(mut self, key: &str, value: &str) -> TestConfig {
        self.overrides.push((key.to_string(), value.to_string()));
        self
    }

    /// The `COMMONS__*` variables and the secrets they point at.
    pub fn environment(&self) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        let mut set = |k: &str, v: String| {
            env.insert(k.to_string(), v);
        };
        set("COMMONS__DATABASE__URL", self.db_url.clone());
        set("COMMONS__HTTP__BIND", "127.0.0.1:0".into());
        set("COMMONS__HTTP__ADMIN_TOKEN", "env:T_ADMIN_TOKEN".into());
        set("COMMONS__SERVER__NSEC_PATH", "env:T_SERVER_NSEC".into());
        set("COMMONS__SERVER__GENERATE_MISSING_KEYS", "false".into());
        set("COMMONS__NOSTR__EMBEDDED_RELAY__ENABLED", "false".into());
        set(
            "COMMONS__NOSTR__RELAYS",
            self.relays
                .iter()
                .map(|r| r.to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
        set("COMMONS__NOSTR__RECONNECT__INITIAL_BACKOFF_MS", "50".into());
        set("COMMONS__NOSTR__RECONNECT__MAX_BACKOFF_MS", "500".into());
        set(
            "COMMONS__NOSTR__RECONNECT__CONNECT_TIMEOUT_MS",
            "1000".into(),
        );
        set("COMMONS__NOSTR__HEALTH_DEBOUNCE_SECS", "0".into());
        set("COMMONS__LOGGING__LEVEL", "warn".into());
        // The bots' own (unreachable) addresses, as in production; `with_dev_provider` serves
        // them from the service instead.
        set("COMMONS__LNURL__DEV_PROVIDER", "false".into());
        for bot in self.bot_keys.keys() {
            set(
                &format!("COMMONS__NOSTR__BOTS__{}__NSEC_PATH", bot.to_uppercase()),
                format!("env:T_BOT_{}_NSEC", bot.to_uppercase()),
            );
            set(
                &format!(
                    "COMMONS__NOSTR__BOTS__{}__LIGHTNING_ADDRESS",
                    bot.to_uppercase()
                ),
                format!("{bot}@commons.example"),
            );
        }
        set("T_ADMIN_TOKEN", self.admin_token.clone());
        set(
            "T_SERVER_NSEC",
            self.server_keys.secret_key().to_secret_hex(),
        );
        for (bot, keys) in &self.bot_keys {
            set(
                &format!("T_BOT_{}_NSEC", bot.to_uppercase()),
                keys.secret_key().to_secret_hex(),
            );
        }
        for (k, v) in &self.overrides {
            set(k, v.clone());
        }
        env
    }

    pub fn settings(&self) -> (Settings, ServiceKeys) {
        let (settings, keys) = self.settings_and_keys();
        (settings, keys.expect("test keys load"))
    }

    /// The settings (valid), and the keys as start-up loads them: `Err` when start-up would
    /// stop there.
    pub fn settings_and_keys(&self) -> (Settings, Result<ServiceKeys, SettingsError>) {
        let env = self.environment();
        let settings = Settings::load(SettingsSources {
            config_file: None,
            env: env.clone(),
        })
        .expect("test settings are valid");
        let lookup = move |var: &str| env.get(var).cloned();
        let keys = ServiceKeys::load(&settings, &lookup);
        (settings, keys)
    }

    pub fn bot(&self, name: &str) -> PublicKey {
        self.bot_keys[name].public_key()
    }

    /// Starts the service; must run inside an actix system (`#[actix_rt::test]`).
    pub async fn start(&self) -> Application {
        let (settings, keys) = self.settings();
        Application::start(settings, keys)
            .await
            .expect("service starts")
    }
}
