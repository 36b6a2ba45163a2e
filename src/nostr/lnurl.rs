//! Resolving a bot's LNURL provider key from its lightning address (LUD-16, LUD-06, NIP-57).
//!
//! Rule 2 of DESIGN.md "Zaps accepted" needs, for each bot, the key its LNURL provider signs zap
//! receipts with. That key is the `nostrPubkey` of the provider's LNURL-pay answer, published
//! at `https://<domain>/.well-known/lnurlp/<name>` for the address `name@domain`. The steps are
//! split so each can be tested on its own:
//!
//! - [`lnurlp_url`]: the address to the URL, validated (pure);
//! - [`parse_pay_response`]: the answer to the key, requiring `allowsNostr: true` (pure);
//! - [`resolve_zapper`]: one HTTP GET with `awc` (rustls, webpki roots), under a deadline.
//!
//! The caller caches the result and retries in the background on failure (DESIGN.md "Keys");
//! nothing here retries or caches.

use std::time::Duration;

use awc::error::SendRequestError;
use awc::http::header;
use nostr_sdk::{PublicKey, Url};
use serde::Deserialize;
use thiserror::Error;

/// An LNURL-pay answer is a small JSON object; anything bigger is refused.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Redirects followed, at most.
const MAX_REDIRECTS: u8 = 3;

/// Why a lightning address did not give us a zapper key.
#[derive(Debug, Error)]
pub enum LnurlError {
    /// The address is not `name@domain`.
    #[error("lightning address {address:?} is not of the form name@domain")]
    NotAnAddress {
        /// The address given.
        address: String,
    },
    /// The name part breaks LUD-16.
    #[error(
        "lightning address {address:?}: the name may only hold a-z, 0-9, '-', '_' and '.' (LUD-16)"
    )]
    InvalidName {
        /// The address given.
        address: String,
    },
    /// The domain part is not a host name (with an optional port).
    #[error("lightning address {address:?}: {domain:?} is not a valid domain")]
    InvalidDomain {
        /// The address given.
        address: String,
        /// Its domain part.
        domain: String,
    },
    /// The HTTP request failed before an answer came.
    #[error("GET {url} failed: {reason}")]
    Request {
        /// The URL asked.
        url: String,
        /// What failed.
        reason: String,
    },
    /// No complete answer within the deadline.
    #[error("GET {url}: no answer within {timeout:?}")]
    Timeout {
        /// The URL asked.
        url: String,
        /// The deadline.
        timeout: Duration,
    },
    /// The server answered with an HTTP error.
    #[error("GET {url} answered HTTP {status}")]
    HttpStatus {
        /// The URL asked.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// The body could not be read, or was too large.
    #[error("GET {url}: could not read the answer: {reason}")]
    Body {
        /// The URL asked.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The answer is not a JSON object of the expected shape.
    #[error("LNURL answer is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The service answered `{"status": "ERROR"}`.
    #[error("LNURL service answered an error: {reason}")]
    Service {
        /// The service's `reason`.
        reason: String,
    },
    /// The answer is for another LNURL flow than pay.
    #[error("LNURL answer is a {tag:?}, not a payRequest")]
    NotPayRequest {
        /// The answer's `tag`.
        tag: String,
    },
    /// The provider does not do Nostr zaps.
    #[error("LNURL provider does not support Nostr zaps (allowsNostr is not true)")]
    NostrNotAllowed,
    /// `allowsNostr` but no `nostrPubkey`.
    #[error("LNURL provider allows Nostr zaps but gives no nostrPubkey")]
    MissingNostrPubkey,
    /// The `callback` is not an `https://` URL (or `http://` on loopback).
    #[error("LNURL callback {callback:?} is not an https:// URL (or http:// on loopback)")]
    InvalidCallback {
        /// The callback given.
        callback: String,
    },
    /// `nostrPubkey` is not a public key in hex.
    #[error("LNURL provider's nostrPubkey {value} is not a valid hex public key")]
    InvalidNostrPubkey {
        /// The value, as JSON.
        value: String,
    },
}

/// The LNURL-pay endpoint of a lightning address: `name@domain` becomes
/// `https://domain/.well-known/lnurlp/name` (`http` for `.onion` domains, as LUD-16 says).
/// Surrounding whitespace is ignored; a port after the domain is kept. A loopback host
/// (`127.0.0.1:8080`, `localhost:8080`: the development provider's addresses) is read over
/// plain `http`: nothing leaves the machine, and no certificate could name it.
pub fn lnurlp_url(lightning_address: &str) -> Result<Url, LnurlError> {
    let address = lightning_address.trim();
    let not_an_address = || LnurlError::NotAnAddress {
        address: address.to_owned(),
    };
    let (name, domain) = address.split_once('@').ok_or_else(not_an_address)?;
    if name.is_empty() || domain.is_empty() || domain.contains('@') {
        return Err(not_an_address());
    }
    let name_ok = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if !name_ok {
        return Err(LnurlError::InvalidName {
            address: address.to_owned(),
        });
    }
    let invalid_domain = || LnurlError::InvalidDomain {
        address: address.to_owned(),
        domain: domain.to_owned(),
    };
    // `[ipv6]` or `[ipv6]:port` (a development provider bound to `[::1]`), else
    // `host` or `host:port`.
    let (host, port, ipv6) = match domain.strip_prefix('[') {
        Some(bracketed) => {
            let (literal, rest) = bracketed.split_once(']').ok_or_else(invalid_domain)?;
            let port = match rest {
                "" => None,
                _ => Some(rest.strip_prefix(':').ok_or_else(invalid_domain)?),
            };
            let ip = literal
                .parse::<std::net::Ipv6Addr>()
                .map_err(|_| invalid_domain())?;
            (literal, port, Some(ip))
        }
        None => match domain.split_once(':') {
            Some((host, port)) => (host, Some(port), None),
            None => (domain, None, None),
        },
    };
    let host_ok = ipv6.is_some()
        || host.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    if !host_ok || !port_ok {
        return Err(invalid_domain());
    }
    let host = host.to_ascii_lowercase();
    let loopback = ipv6.map_or_else(|| is_loopback_host(&host), |ip| ip.is_loopback());
    let scheme = if host.ends_with(".onion") || loopback {
        "http"
    } else {
        "https"
    };
    Url::parse(&format!("{scheme}://{domain}/.well-known/lnurlp/{name}"))
        .map_err(|_| invalid_domain())
}

/// `localhost` or a loopback IPv4 literal (lowercase host, no port).
fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The fields of an LNURL-pay answer this service reads (LUD-06, NIP-57).
#[derive(Deserialize)]
struct PayResponse {
    status: Option<String>,
    reason: Option<String>,
    tag: Option<String>,
    #[serde(rename = "allowsNostr")]
    allows_nostr: Option<serde_json::Value>,
    #[serde(rename = "nostrPubkey")]
    nostr_pubkey: Option<serde_json::Value>,
}

/// The provider's `nostrPubkey` from an LNURL-pay answer, which must say `allowsNostr: true`.
pub fn parse_pay_response(json: &[u8]) -> Result<PublicKey, LnurlError> {
    let response: PayResponse = serde_json::from_slice(json)?;
    if response
        .status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("ERROR"))
    {
        return Err(LnurlError::Service {
            reason: response
                .reason
                .unwrap_or_else(|| "no reason given".to_owned()),
        });
    }
    if let Some(tag) = response.tag {
        if tag != "payRequest" {
            return Err(LnurlError::NotPayRequest { tag });
        }
    }
    if response.allows_nostr != Some(serde_json::Value::Bool(true)) {
        return Err(LnurlError::NostrNotAllowed);
    }
    let value = response
        .nostr_pubkey
        .ok_or(LnurlError::MissingNostrPubkey)?;
    let invalid = || LnurlError::InvalidNostrPubkey {
        value: value.to_string(),
    };
    let hex = value.as_str().ok_or_else(invalid)?;
    let key = PublicKey::from_hex(hex).map_err(|_| invalid())?;
    // A key that is not a point on the curve could never sign anything.
    key.xonly().map_err(|_| invalid())?;
    Ok(key)
}

/// Asks the LNURL-pay endpoint `url` for its provider's `nostrPubkey`, giving up after `timeout`
/// (connection, answer and body together).
///
/// `awc` futures are not `Send`: call this from an actix system or a tokio `LocalSet`.
pub async fn resolve_zapper(url: &Url, timeout: Duration) -> Result<PublicKey, LnurlError> {
    parse_pay_response(&get_json(url, timeout).await?)
}

/// A LUD-06 `payRequest` as a wallet reads it, with NIP-57's two fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayRequest {
    /// Where to ask for an invoice.
    pub callback: Url,
    /// The smallest amount accepted, in millisatoshis.
    pub min_sendable: u64,
    /// The largest amount accepted, in millisatoshis.
    pub max_sendable: u64,
    /// The longest `comment` accepted (LUD-12), 0 when comments are not taken.
    pub comment_allowed: u64,
    /// The key that signs zap receipts, when the provider takes zaps (`allowsNostr: true`).
    pub nostr_pubkey: Option<PublicKey>,
}

#[derive(Deserialize)]
struct RawPayRequest {
    callback: String,
    #[serde(rename = "minSendable")]
    min_sendable: u64,
    #[serde(rename = "maxSendable")]
    max_sendable: u64,
    #[serde(rename = "commentAllowed", default)]
    comment_allowed: u64,
}

/// Reads a `payRequest` answer: a LUD-06 error, another flow, or missing fields are refused;
/// `nostrPubkey` is read as [`parse_pay_response`] reads it, and is `None` when the provider
/// does not take zaps.
pub fn parse_pay_request(json: &[u8]) -> Result<PayRequest, LnurlError> {
    let nostr_pubkey = match parse_pay_response(json) {
        Ok(key) => Some(key),
        Err(LnurlError::NostrNotAllowed) => None,
        Err(e) => return Err(e),
    };
    let raw: RawPayRequest = serde_json::from_slice(json)?;
    let callback = Url::parse(&raw.callback).map_err(|_| LnurlError::InvalidCallback {
        callback: raw.callback.clone(),
    })?;
    if !is_safe_endpoint(&callback) {
        return Err(LnurlError::InvalidCallback {
            callback: raw.callback,
        });
    }
    Ok(PayRequest {
        callback,
        min_sendable: raw.min_sendable,
        max_sendable: raw.max_sendable,
        comment_allowed: raw.comment_allowed,
        nostr_pubkey,
    })
}

/// `https://`, or plain `http://` to a loopback host.
fn is_safe_endpoint(url: &Url) -> bool {
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => is_loopback_host(&domain.to_ascii_lowercase()),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => loopback,
        _ => false,
    }
}

/// Fetches and reads the `payRequest` at `url` (from [`lnurlp_url`]).
pub async fn fetch_pay_request(url: &Url, timeout: Duration) -> Result<PayRequest, LnurlError> {
    parse_pay_request(&get_json(url, timeout).await?)
}

/// The callback URL asking for an invoice of `amount_msat` for the zap request `zap_request`
/// (its JSON; NIP-57 appendix B), with a LUD-12 `comment` when given. The callback's own query
/// is kept.
pub fn invoice_url(
    pay: &PayRequest,
    amount_msat: u64,
    zap_request: Option<&str>,
    comment: Option<&str>,
) -> Url {
    let mut url = pay.callback.clone();
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("amount", &amount_msat.to_string());
        if let Some(request) = zap_request {
            query.append_pair("nostr", request);
        }
        if let Some(comment) = comment {
            query.append_pair("comment", comment);
        }
    }
    url
}

#[derive(Deserialize)]
struct InvoiceAnswer {
    pr: String,
}

/// The BOLT11 invoice (`pr`) of a callback's answer.
pub fn parse_invoice_answer(json: &[u8]) -> Result<String, LnurlError> {
    if let Some(reason) = service_error(json) {
        return Err(LnurlError::Service { reason });
    }
    let answer: InvoiceAnswer = serde_json::from_slice(json)?;
    Ok(answer.pr)
}

/// Asks a callback URL (from [`invoice_url`]) for its invoice.
pub async fn request_invoice(url: &Url, timeout: Duration) -> Result<String, LnurlError> {
    parse_invoice_answer(&get_json(url, timeout).await?)
}

/// The `reason` of a LUD-06 error answer (`{"status": "ERROR", "reason": ...}`), if it is one.
fn service_error(json: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Status {
        status: Option<String>,
        reason: Option<String>,
    }
    let status: Status = serde_json::from_slice(json).ok()?;
    status
        .status
        .filter(|s| s.eq_ignore_ascii_case("ERROR"))
        .map(|_| {
            status
                .reason
                .unwrap_or_else(|| "no reason given".to_owned())
        })
}

/// One GET of a small JSON answer, under `timeout` (connection, answer and body together). An
/// HTTP error whose body is a LUD-06 error gives its reason ([`LnurlError::Service`]).
async fn get_json(url: &Url, timeout: Duration) -> Result<Vec<u8>, LnurlError> {
    let asked = url.as_str().to_owned();
    let timed_out = || LnurlError::Timeout {
        url: asked.clone(),
        timeout,
    };
    let client = awc::Client::builder()
        .timeout(timeout)
        .max_redirects(MAX_REDIRECTS)
        .finish();
    let exchange = async {
        let mut response = client
            .get(url.as_str())
            .insert_header((header::ACCEPT, "application/json"))
            .send()
            .await
            .map_err(|error| match error {
                SendRequestError::Timeout => timed_out(),
                other => LnurlError::Request {
                    url: asked.clone(),
                    reason: other.to_string(),
                },
            })?;
        let status = response.status();
        let body = response.body().limit(MAX_RESPONSE_BYTES).await;
        if !status.is_success() {
            if let Some(reason) = body.as_deref().ok().and_then(service_error) {
                return Err(LnurlError::Service { reason });
            }
            return Err(LnurlError::HttpStatus {
                url: asked.clone(),
                status: status.as_u16(),
            });
        }
        body.map(|b| b.to_vec()).map_err(|error| LnurlError::Body {
            url: asked.clone(),
            reason: error.to_string(),
        })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| timed_out())?
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d";

    #[test]
    fn address_to_url() -> Result<(), LnurlError> {
        assert_eq!(
            lnurlp_url("gov@example.org")?.as_str(),
            "https://example.org/.well-known/lnurlp/gov"
        );
        assert_eq!(
            lnurlp_url("  dev.bot-1_x@Pay.Example.ORG \n")?.as_str(),
            "https://pay.example.org/.well-known/lnurlp/dev.bot-1_x"
        );
        // Loopback (the development provider) over plain http; any other host over https.
        assert_eq!(
            lnurlp_url("gov@localhost:8080")?.as_str(),
            "http://localhost:8080/.well-known/lnurlp/gov"
        );
        assert_eq!(
            lnurlp_url("gov@127.0.0.1:8080")?.as_str(),
            "http://127.0.0.1:8080/.well-known/lnurlp/gov"
        );
        assert_eq!(
            lnurlp_url("gov@example.org:8443")?.as_str(),
            "https://example.org:8443/.well-known/lnurlp/gov"
        );
        assert_eq!(
            lnurlp_url("gov@10.0.0.1:8080")?.as_str(),
            "https://10.0.0.1:8080/.well-known/lnurlp/gov"
        );
        assert_eq!(
            lnurlp_url("gov@abcdef.onion")?.as_str(),
            "http://abcdef.onion/.well-known/lnurlp/gov"
        );
        // IPv6 literals in brackets: loopback over http (a development provider on [::1]).
        assert_eq!(
            lnurlp_url("gov@[::1]:8080")?.as_str(),
            "http://[::1]:8080/.well-known/lnurlp/gov"
        );
        assert_eq!(
            lnurlp_url("gov@[2001:db8::1]")?.as_str(),
            "https://[2001:db8::1]/.well-known/lnurlp/gov"
        );
        Ok(())
    }

    #[test]
    fn bad_addresses_are_refused() {
        for address in ["", "gov", "@example.org", "gov@", "gov@@example.org"] {
            assert!(
                matches!(lnurlp_url(address), Err(LnurlError::NotAnAddress { .. })),
                "{address:?}"
            );
        }
        for address in ["Gov@example.org", "g v@example.org", "gov/../x@example.org"] {
            assert!(
                matches!(lnurlp_url(address), Err(LnurlError::InvalidName { .. })),
                "{address:?}"
            );
        }
        for address in [
            "gov@a@b.org",
            "gov@example.org/path",
            "gov@example.org?q",
            "gov@exa mple.org",
            "gov@.example.org",
            "gov@example..org",
            "gov@-example.org",
            "gov@example.org:",
            "gov@example.org:99999",
            "gov@user:pw@example.org",
            "gov@[::1",
            "gov@[::1]x",
            "gov@[::1]:",
            "gov@[not-an-ip]:80",
            "gov@::1",
        ] {
            assert!(lnurlp_url(address).is_err(), "{address:?}");
        }
    }

    #[test]
    fn nostr_pay_response_gives_the_key() -> Result<(), LnurlError> {
        let json = format!(
            r#"{{"callback":"https://example.org/cb","maxSendable":100000000,"minSendable":1000,
                "metadata":"[[\"text/plain\",\"gov\"]]","tag":"payRequest",
                "allowsNostr":true,"nostrPubkey":"{KEY}"}}"#
        );
        assert_eq!(parse_pay_response(json.as_bytes())?.to_hex(), KEY);
        Ok(())
    }

    #[test]
    fn pay_responses_without_a_usable_key_are_refused() {
        let key = format!(r#""nostrPubkey":"{KEY}""#);
        type Expected = fn(&LnurlError) -> bool;
        let cases: Vec<(String, Expected)> = vec![
            ("not json".into(), |e| matches!(e, LnurlError::Json(_))),
            ("[1,2]".into(), |e| matches!(e, LnurlError::Json(_))),
            (
                r#"{"status":"ERROR","reason":"no such user"}"#.into(),
                |e| matches!(e, LnurlError::Service { reason } if reason == "no such user"),
            ),
            (
                format!(r#"{{"tag":"withdrawRequest","allowsNostr":true,{key}}}"#),
                |e| matches!(e, LnurlError::NotPayRequest { .. }),
            ),
            (format!(r#"{{"tag":"payRequest",{key}}}"#), |e| {
                matches!(e, LnurlError::NostrNotAllowed)
            }),
            (
                format!(r#"{{"tag":"payRequest","allowsNostr":false,{key}}}"#),
                |e| matches!(e, LnurlError::NostrNotAllowed),
            ),
            (
                format!(r#"{{"tag":"payRequest","allowsNostr":"true",{key}}}"#),
                |e| matches!(e, LnurlError::NostrNotAllowed),
            ),
            (r#"{"tag":"payRequest","allowsNostr":true}"#.into(), |e| {
                matches!(e, LnurlError::MissingNostrPubkey)
            }),
            (
                r#"{"tag":"payRequest","allowsNostr":true,"nostrPubkey":"npub1xyz"}"#.into(),
                |e| matches!(e, LnurlError::InvalidNostrPubkey { .. }),
            ),
            (
                r#"{"tag":"payRequest","allowsNostr":true,"nostrPubkey":42}"#.into(),
                |e| matches!(e, LnurlError::InvalidNostrPubkey { .. }),
            ),
            (
                // 64 hex characters, but not the x coordinate of a curve point.
                format!(
                    r#"{{"tag":"payRequest","allowsNostr":true,"nostrPubkey":"{}"}}"#,
                    "ff".repeat(32)
                ),
                |e| matches!(e, LnurlError::InvalidNostrPubkey { .. }),
            ),
        ];
        for (json, expected) in cases {
            match parse_pay_response(json.as_bytes()) {
                Err(error) => assert!(expected(&error), "{json}: {error}"),
                Ok(key) => panic!("{json}: accepted {key}"),
            }
        }
    }

    #[test]
    fn pay_request_is_read_as_a_wallet_reads_it() -> Result<(), LnurlError> {
        let json = format!(
            r#"{{"callback":"http://127.0.0.1:8080/lnurlp/gov/callback","maxSendable":100000000000,
                "minSendable":1000,"metadata":"[[\"text/plain\",\"gov\"]]","tag":"payRequest",
                "commentAllowed":280,"allowsNostr":true,"nostrPubkey":"{KEY}"}}"#
        );
        let pay = parse_pay_request(json.as_bytes())?;
        assert_eq!(
            pay.callback.as_str(),
            "http://127.0.0.1:8080/lnurlp/gov/callback"
        );
        assert_eq!(
            (pay.min_sendable, pay.max_sendable),
            (1_000, 100_000_000_000)
        );
        assert_eq!(pay.comment_allowed, 280);
        assert_eq!(pay.nostr_pubkey.map(|k| k.to_hex()).as_deref(), Some(KEY));

        // Without zaps: no key; without commentAllowed: no comment.
        let plain = r#"{"callback":"https://pay.example.org/cb?user=gov","maxSendable":2000,
                        "minSendable":1000,"tag":"payRequest"}"#;
        let pay = parse_pay_request(plain.as_bytes())?;
        assert_eq!((pay.nostr_pubkey, pay.comment_allowed), (None, 0));
        // The callback's own query is kept, and the request is URL-encoded.
        let url = invoice_url(
            &pay,
            1_500,
            Some(r#"{"kind":9734,"content":"a&b"}"#),
            Some("veto"),
        );
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            [
                ("user".to_owned(), "gov".to_owned()),
                ("amount".to_owned(), "1500".to_owned()),
                (
                    "nostr".to_owned(),
                    r#"{"kind":9734,"content":"a&b"}"#.to_owned()
                ),
                ("comment".to_owned(), "veto".to_owned()),
            ]
        );

        for bad in [
            r#"{"callback":"http://pay.example.org/cb","maxSendable":2000,"minSendable":1000}"#,
            r#"{"callback":"not a url","maxSendable":2000,"minSendable":1000}"#,
        ] {
            assert!(
                matches!(
                    parse_pay_request(bad.as_bytes()),
                    Err(LnurlError::InvalidCallback { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_pay_request(br#"{"callback":"https://x.org/cb"}"#),
            Err(LnurlError::Json(_))
        ));
        Ok(())
    }

    #[test]
    fn invoice_answer_gives_the_invoice_or_the_reason() {
        assert_eq!(
            parse_invoice_answer(br#"{"pr":"lnbc10n1xyz","routes":[]}"#)
                .ok()
                .as_deref(),
            Some("lnbc10n1xyz")
        );
        assert!(matches!(
            parse_invoice_answer(br#"{"status":"ERROR","reason":"amount: too small"}"#),
            Err(LnurlError::Service { reason }) if reason == "amount: too small"
        ));
        assert!(matches!(
            parse_invoice_answer(br#"{"routes":[]}"#),
            Err(LnurlError::Json(_))
        ));
    }
}
