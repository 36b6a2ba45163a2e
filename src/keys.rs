//! Secrets: where they live, how they are read, and the checks made before trusting them.
//!
//! A secret's location is a [`SecretSource`]: `env:VAR` or a file path. Secret keys are accepted
//! as `nsec1...` bech32 or 64 hex characters, surrounding white space ignored. A file readable by
//! group or others is refused, as `ssh` refuses a private key: a leaked governance key lets
//! anyone speak for the project.
//!
//! Secret material never reaches a log line or an error message: errors name the setting and the
//! location (`env:GOV_BOT_NSEC`, a path), never the content. [`nostr_sdk::Keys`]'s own `Debug`
//! prints only the public key.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::Path;

use nostr_sdk::{Keys, PublicKey, SecretKey, ToBech32};

pub use crate::configuration::SecretSource;
use crate::configuration::{Settings, SettingsError};

impl SecretSource {
    /// Reads the secret text. `env` looks up environment variables (the process environment in
    /// production, a map in tests).
    pub fn read(
        &self,
        key: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Secret, SettingsError> {
        match self {
            SecretSource::Env(var) => match env(var) {
                Some(value) if !value.trim().is_empty() => Ok(Secret(value.trim().to_string())),
                Some(_) => Err(SettingsError::invalid(
                    key,
                    format!("environment variable {var} is empty"),
                )),
                None => Err(SettingsError::invalid(
                    key,
                    format!("environment variable {var} is not set"),
                )),
            },
            SecretSource::File(path) => {
                check_private(key, path)?;
                let text = fs::read_to_string(path).map_err(|e| {
                    SettingsError::invalid(key, format!("cannot read {}: {e}", path.display()))
                })?;
                Ok(Secret(text.trim().to_string()))
            }
        }
    }
}

/// Secret text. Its `Debug` and `Display` never show the content.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Refuses a file whose permissions let group or others read or write it.
pub fn check_private(key: &str, path: &Path) -> Result<(), SettingsError> {
    let meta = fs::metadata(path)
        .map_err(|e| SettingsError::invalid(key, format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(SettingsError::invalid(
            key,
            format!("{} is not a file", path.display()),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(SettingsError::invalid(
                key,
                format!(
                    "{} is readable by others (mode {mode:o}); run chmod 600 {}",
                    path.display(),
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Parses a secret key given as `nsec1...` or 64 hex characters.
pub fn parse_secret_key(key: &str, secret: &Secret) -> Result<Keys, SettingsError> {
    let text = secret.expose();
    let looks_right = text.starts_with("nsec1")
        || (text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()));
    if !looks_right {
        return Err(SettingsError::invalid(
            key,
            "the secret is not an nsec1... key or 64 hex characters",
        ));
    }
    SecretKey::parse(text)
        .map(Keys::new)
        .map_err(|_| SettingsError::invalid(key, "the secret is not a valid secret key"))
}

/// Writes a new secret key to `path` (mode 0600, parent directories 0700) and returns its keys.
/// Refuses to overwrite an existing file: a lost key cannot be recovered.
pub fn write_new_key_file(path: &Path) -> Result<Keys, std::io::Error> {
    let keys = Keys::generate();
    let nsec = keys
        .secret_key()
        .to_bech32()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    write_private_file(path, &nsec)?;
    Ok(keys)
}

/// Writes a new random admin token (64 hex characters) to `path`, mode 0600.
pub fn write_new_token_file(path: &Path) -> Result<(), std::io::Error> {
    let bytes: [u8; 32] = rand::random();
    write_private_file(path, &hex::encode(bytes))
}

fn write_private_file(path: &Path, content: &str) -> Result<(), std::io::Error> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(parent)?;
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(content.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// The shortest GitHub webhook secret accepted: anyone who guesses it can publish governance
/// actions through the webhook.
pub const GITHUB_SECRET_MIN_LEN: usize = 16;

/// Every key and token the service runs with, loaded and checked.
pub struct ServiceKeys {
    pub server: Keys,
    /// Bot name -> keys, for every enabled bot.
    pub bots: BTreeMap<String, Keys>,
    pub admin_token: Secret,
    /// The development LNURL provider's key (`lnurl.zapper_nsec_path`), which signs the zap
    /// receipts of the bots it serves: loaded only when `lnurl.dev_provider` serves a bot.
    pub dev_zapper: Option<Keys>,
    /// GitHub's webhook secret (`github.webhook_secret`), when set: the HMAC key every
    /// delivery is signed with.
    pub github_webhook_secret: Option<Secret>,
    /// Key files created on this start-up (development settings only), by setting key.
    pub generated: Vec<(String, PublicKey)>,
}

impl fmt::Debug for ServiceKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceKeys")
            .field("server", &self.server.public_key())
            .field(
                "bots",
                &self
                    .bots
                    .iter()
                    .map(|(n, k)| (n, k.public_key()))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl ServiceKeys {
    /// Loads the server key, every bot key and the admin token, checking each bot's `npub`.
    /// With `server.generate_missing_keys` (development), missing key files are created first.
    pub fn load(
        settings: &Settings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<ServiceKeys, SettingsError> {
        let generate = settings.server.generate_missing_keys;
        let mut generated = Vec::new();

        let mut load_key = |key: &str, source: &SecretSource| -> Result<Keys, SettingsError> {
            if let (true, SecretSource::File(path)) = (generate, source) {
                if !path.exists() {
                    let keys = write_new_key_file(path).map_err(|e| {
                        SettingsError::invalid(
                            key,
                            format!("cannot create {}: {e}", path.display()),
                        )
                    })?;
                    generated.push((key.to_string(), keys.public_key()));
                }
            }
            parse_secret_key(key, &source.read(key, env)?)
        };

        let server = load_key("server.nsec_path", &settings.server.nsec_path)?;
        let mut bots = BTreeMap::new();
        for (name, bot) in &settings.nostr.bots {
            let keys = load_key(&format!("nostr.bots.{name}.nsec_path"), &bot.nsec_path)?;
            if let Some(npub) = bot.npub {
                if npub != keys.public_key() {
                    return Err(SettingsError::invalid(
                        format!("nostr.bots.{name}.npub"),
                        "does not match the key",
                    ));
                }
            }
            bots.insert(name.clone(), keys);
        }
        own_keys_are_no_ballot_holders(settings, &bots)?;
        let serves_a_bot = settings.nostr.bots.values().any(|bot| bot.dev_provider);
        let dev_zapper = if settings.lnurl.dev_provider && serves_a_bot {
            Some(load_key(
                "lnurl.zapper_nsec_path",
                &settings.lnurl.zapper_nsec_path,
            )?)
        } else {
            None
        };

        let token_source = &settings.http.admin_token;
        if let (true, SecretSource::File(path)) = (generate, token_source) {
            if !path.exists() {
                write_new_token_file(path).map_err(|e| {
                    SettingsError::invalid(
                        "http.admin_token",
                        format!("cannot create {}: {e}", path.display()),
                    )
                })?;
            }
        }
        let admin_token = token_source.read("http.admin_token", env)?;
        if admin_token.expose().len() < 16 {
            return Err(SettingsError::invalid(
                "http.admin_token",
                "must be at least 16 characters",
            ));
        }

        let github_webhook_secret = github_webhook_secret(settings, env)?;

        Ok(ServiceKeys {
            server,
            bots,
            admin_token,
            dev_zapper,
            github_webhook_secret,
            generated,
        })
    }
}

/// `governance.ballot_holders` are the holders the operator does *not* control (DESIGN.md
/// "Sealed ballots"): none of them may be one of this service's bots. The gov bot is the first
/// holder already; listed again, the proposal would pin two keys of one author, whose secret
/// events share one address, so its ballots could never all open.
fn own_keys_are_no_ballot_holders(
    settings: &Settings,
    bots: &BTreeMap<String, Keys>,
) -> Result<(), SettingsError> {
    use nostr_sdk::FromBech32;
    for holder in &settings.governance.ballot_holders {
        let Ok(key) = nostr_sdk::PublicKey::from_bech32(holder) else {
            continue; // settings validation refused it already
        };
        if let Some((name, _)) = bots.iter().find(|(_, keys)| keys.public_key() == key) {
            return Err(SettingsError::invalid(
                "governance.ballot_holders",
                format!(
                    "'{holder}' is this service's bot '{name}': an independent ballot key holder \
                     needs a key the operator does not hold"
                ),
            ));
        }
    }
    Ok(())
}

/// GitHub's webhook secret (`github.webhook_secret`), when set: read like every secret (a file
/// readable by others is refused), and at least [`GITHUB_SECRET_MIN_LEN`] characters.
pub fn github_webhook_secret(
    settings: &Settings,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Secret>, SettingsError> {
    let Some(source) = &settings.github.webhook_secret else {
        return Ok(None);
    };
    let secret = source.read("github.webhook_secret", env)?;
    if secret.expose().len() < GITHUB_SECRET_MIN_LEN {
        return Err(SettingsError::invalid(
            "github.webhook_secret",
            format!("must be at least {GITHUB_SECRET_MIN_LEN} characters"),
        ));
    }
    Ok(Some(secret))
}

/// The process environment, as the lookup [`SecretSource::read`] takes.
pub fn process_env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn parses_env_and_file_sources() {
        assert_eq!(
            SecretSource::parse("k", "env:GOV_BOT_NSEC").unwrap(),
            SecretSource::Env("GOV_BOT_NSEC".into())
        );
        assert_eq!(
            SecretSource::parse("k", " data/keys/gov.nsec ").unwrap(),
            SecretSource::File("data/keys/gov.nsec".into())
        );
        assert!(SecretSource::parse("k", "env:BAD-NAME").is_err());
        assert!(SecretSource::parse("k", "").is_err());
    }

    #[test]
    fn missing_env_var_names_the_key_and_variable() {
        let err = SecretSource::Env("GOV_BOT_NSEC".into())
            .read("nostr.bots.gov.nsec_path", &no_env)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "nostr.bots.gov.nsec_path: environment variable GOV_BOT_NSEC is not set"
        );
    }

    #[test]
    fn accepts_nsec_and_hex_with_whitespace() {
        let keys = Keys::generate();
        let nsec = keys.secret_key().to_bech32().unwrap();
        let hex = keys.secret_key().to_secret_hex();
        for text in [format!("  {nsec}\n"), format!("\t{hex}  ")] {
            let env = move |_: &str| Some(text.clone());
            let secret = SecretSource::Env("X".into()).read("k", &env).unwrap();
            let parsed = parse_secret_key("k", &secret).unwrap();
            assert_eq!(parsed.public_key(), keys.public_key());
        }
    }

    #[test]
    fn garbage_secret_is_refused_without_echoing_it() {
        let env = |_: &str| Some("hunter2-not-a-key".to_string());
        let secret = SecretSource::Env("X".into())
            .read("server.nsec_path", &env)
            .unwrap();
        let err = parse_secret_key("server.nsec_path", &secret)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("server.nsec_path:"));
        assert!(!err.contains("hunter2"));
        assert_eq!(format!("{secret:?}"), "Secret(***)");
    }

    #[test]
    fn key_file_is_0600_and_world_readable_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/gov.nsec");
        let keys = write_new_key_file(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let source = SecretSource::File(path.clone());
        let loaded = parse_secret_key("k", &source.read("k", &no_env).unwrap()).unwrap();
        assert_eq!(loaded.public_key(), keys.public_key());

        // Existing files are never overwritten.
        assert!(write_new_key_file(&path).is_err());

        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = source
            .read("nostr.bots.gov.nsec_path", &no_env)
            .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("nostr.bots.gov.nsec_path:"), "{text}");
        assert!(text.contains("readable by others"), "{text}");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(source.read("k", &no_env).is_err());
    }

    #[test]
    fn the_github_webhook_secret_is_read_like_a_key() {
        use crate::configuration::SettingsSources;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("github.secret");
        fs::write(&path, "  a webhook secret of some length\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        let settings = |secret: &str| {
            Settings::load(SettingsSources {
                config_file: None,
                env: [(
                    "COMMONS__GITHUB__WEBHOOK_SECRET".to_owned(),
                    secret.to_owned(),
                )]
                .into_iter()
                .collect(),
            })
            .unwrap()
        };
        let from_file = settings(path.to_str().unwrap());
        let secret = github_webhook_secret(&from_file, &no_env).unwrap().unwrap();
        assert_eq!(secret.expose(), "a webhook secret of some length");
        assert_eq!(format!("{secret:?}"), "Secret(***)");

        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = github_webhook_secret(&from_file, &no_env)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("github.webhook_secret:"), "{err}");
        assert!(err.contains("readable by others"), "{err}");

        let short = |var: &str| (var == "SHORT").then(|| "hunter2".to_owned());
        let err = github_webhook_secret(&settings("env:SHORT"), &short)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("github.webhook_secret:"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(github_webhook_secret(&settings(""), &no_env)
            .unwrap()
            .is_none());
    }
}
