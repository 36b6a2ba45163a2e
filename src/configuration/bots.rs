//! `[nostr.bots.<name>]`: each bot's key, profile and lightning address, and which LNURL provider
//! serves it (its own, or the development provider).

use std::net::SocketAddr;
use std::path::PathBuf;

use nostr_sdk::PublicKey;
use serde::{Deserialize, Serialize};

use super::validation::{parse_public_key, yes};
use super::{SecretSource, SettingsError};

#[derive(Debug, Clone, Serialize)]
pub struct BotSettings {
    pub nsec_path: SecretSource,
    pub npub: Option<PublicKey>,
    /// `name@domain`. For a bot served by the development provider, `<bot>@<http.bind>` until
    /// start-up knows the bound address
    /// ([`Settings::serve_dev_bots`](super::Settings::serve_dev_bots)).
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBot {
    #[serde(default = "yes")]
    pub(super) enabled: bool,
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

impl RawBot {
    pub(super) fn validate(
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

pub(super) fn is_bot_name(name: &str) -> bool {
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
    use super::super::testing::load;
    use super::*;

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
}
