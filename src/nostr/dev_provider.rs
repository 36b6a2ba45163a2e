//! The development LNURL provider's answers (DESIGN.md "Zapping"), as pure functions.
//!
//! With `lnurl.dev_provider` the service is the LNURL provider of its own bots, so a vote can be
//! cast on a machine with no network and no Lightning node. This module says what it answers;
//! `http::lnurlp` serves it and publishes the receipts; [`crate::nostr::zap_provider`] makes the
//! invoices and receipts the way a real provider does.
//!
//! - [`pay_request`]: the LUD-06 `payRequest` at `/.well-known/lnurlp/<bot>` (LUD-16), with
//!   NIP-57's `allowsNostr` and `nostrPubkey` and LUD-12's `commentAllowed`;
//! - [`check_callback`]: the callback's query (`amount`, `nostr`, `comment`) checked as LUD-06
//!   and NIP-57 appendix D tell a provider to, before any invoice is made. A [`Refusal`] is
//!   answered as a LUD-06 error (`{"status": "ERROR", "reason": ...}`) and nothing is published;
//! - [`DevProvider`]: the running provider, its keys and the base URL it is reached at.

use std::net::SocketAddr;

use nostr_sdk::nips::nip01::Coordinate;
use nostr_sdk::{Event, JsonUtil, Kind, PublicKey, RelayUrl, Url};
use serde_json::{json, Value};
use thiserror::Error;

use crate::nostr::zap_provider::ZapProvider;

/// The smallest amount the provider invoices (1 sat), in millisatoshis.
pub const MIN_SENDABLE_MSAT: u64 = 1_000;
/// The largest amount the provider invoices (1 BTC), in millisatoshis.
pub const MAX_SENDABLE_MSAT: u64 = 100_000_000_000;
/// The longest LUD-12 `comment` taken, in characters.
pub const COMMENT_ALLOWED: usize = 280;
/// The largest `nostr` parameter read: a zap request is a small event.
pub const MAX_ZAP_REQUEST_BYTES: usize = 64 * 1024;

/// The `payRequest` for `address` (`bot@host:port`), whose invoices `callback` makes and whose
/// zap receipts `zapper` signs.
pub fn pay_request(address: &str, callback: &Url, zapper: &PublicKey) -> Value {
    let metadata = json!([
        [
            "text/plain",
            format!("Zap {address}: a vote in Bitcoin Commons governance")
        ],
        ["text/identifier", address],
    ]);
    json!({
        "tag": "payRequest",
        "callback": callback.as_str(),
        "minSendable": MIN_SENDABLE_MSAT,
        "maxSendable": MAX_SENDABLE_MSAT,
        "metadata": metadata.to_string(),
        "commentAllowed": COMMENT_ALLOWED,
        "allowsNostr": true,
        "nostrPubkey": zapper.to_hex(),
    })
}

/// A LUD-06 error answer.
pub fn lud06_error(reason: &str) -> Value {
    json!({"status": "ERROR", "reason": reason})
}

/// The callback's query parameters, as sent.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CallbackQuery {
    /// Millisatoshis.
    pub amount: Option<String>,
    /// The zap request, JSON.
    pub nostr: Option<String>,
    /// LUD-12 comment.
    pub comment: Option<String>,
}

/// A zap the provider will invoice: the checked zap request and the amount asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedZap {
    pub request: Event,
    pub amount_msat: u64,
    /// The request's `relays` tag: where the receipt goes.
    pub relays: Vec<RelayUrl>,
}

/// Why the callback refuses to make an invoice. Displays as the LUD-06 `reason`.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("amount: required (millisatoshis)")]
    MissingAmount,
    #[error("amount: {0:?} is not a whole number of millisatoshis")]
    BadAmount(String),
    #[error("amount: {amount} msat is outside minSendable {MIN_SENDABLE_MSAT} .. maxSendable {MAX_SENDABLE_MSAT}")]
    AmountOutOfRange { amount: u64 },
    #[error("comment: {chars} characters, more than commentAllowed {COMMENT_ALLOWED}")]
    CommentTooLong { chars: usize },
    #[error(
        "nostr: required (the zap request, kind 9734); this development provider only makes zaps"
    )]
    MissingZapRequest,
    #[error("nostr: not a signed Nostr event: {0}")]
    MalformedZapRequest(String),
    #[error("nostr: the zap request's id or signature does not verify")]
    BadSignature,
    #[error("nostr: a zap request is kind 9734, not kind {0}")]
    WrongKind(u16),
    #[error("nostr: a zap request has exactly one p tag (the recipient), not {0}")]
    RecipientCount(usize),
    #[error("nostr: the p tag is not this bot's public key")]
    WrongRecipient,
    #[error("nostr: a zap request has at most one {0} tag")]
    Repeated(&'static str),
    #[error("nostr: the a tag {0:?} is not an event coordinate (kind:pubkey:d)")]
    BadCoordinate(String),
    #[error("nostr: the amount tag ({tag}) is not the amount asked ({amount} msat)")]
    AmountTagMismatch { tag: String, amount: u64 },
}

/// Checks the callback's query for a zap to `bot` (LUD-06, LUD-12, NIP-57 appendix D): the
/// amount within bounds, the comment within `commentAllowed`, and a zap request that is a
/// valid, signed kind 9734 event with exactly one `p` (the bot), at most one `e`, `a` and `P`,
/// a valid `a` coordinate, and an `amount` tag (when present) equal to the amount asked.
pub fn check_callback(query: &CallbackQuery, bot: &PublicKey) -> Result<CheckedZap, Refusal> {
    let raw_amount = query.amount.as_deref().ok_or(Refusal::MissingAmount)?;
    let amount_msat: u64 = raw_amount
        .trim()
        .parse()
        .map_err(|_| Refusal::BadAmount(raw_amount.to_owned()))?;
    if !(MIN_SENDABLE_MSAT..=MAX_SENDABLE_MSAT).contains(&amount_msat) {
        return Err(Refusal::AmountOutOfRange {
            amount: amount_msat,
        });
    }
    if let Some(comment) = &query.comment {
        let chars = comment.chars().count();
        if chars > COMMENT_ALLOWED {
            return Err(Refusal::CommentTooLong { chars });
        }
    }
    let json = query.nostr.as_deref().ok_or(Refusal::MissingZapRequest)?;
    if json.len() > MAX_ZAP_REQUEST_BYTES {
        return Err(Refusal::MalformedZapRequest(format!(
            "larger than {MAX_ZAP_REQUEST_BYTES} bytes"
        )));
    }
    let request =
        Event::from_json(json).map_err(|e| Refusal::MalformedZapRequest(e.to_string()))?;
    if request.verify().is_err() {
        return Err(Refusal::BadSignature);
    }
    if request.kind != Kind::ZapRequest {
        return Err(Refusal::WrongKind(request.kind.as_u16()));
    }
    let tags = |name: &'static str| {
        request
            .tags
            .iter()
            .map(|t| t.as_slice())
            .filter(move |t| t.first().map(String::as_str) == Some(name))
    };
    let recipients: Vec<&[String]> = tags("p").collect();
    if recipients.len() != 1 {
        return Err(Refusal::RecipientCount(recipients.len()));
    }
    let recipient = recipients[0].get(1).map(String::as_str).unwrap_or_default();
    if PublicKey::from_hex(recipient).ok() != Some(*bot) {
        return Err(Refusal::WrongRecipient);
    }
    for name in ["e", "a", "P"] {
        if tags(name).count() > 1 {
            return Err(Refusal::Repeated(name));
        }
    }
    if let Some(a) = tags("a").next() {
        let value = a.get(1).cloned().unwrap_or_default();
        Coordinate::parse(&value).map_err(|_| Refusal::BadCoordinate(value.clone()))?;
    }
    for tag in tags("amount") {
        let value = tag.get(1).cloned().unwrap_or_default();
        if value.trim().parse::<u64>().ok() != Some(amount_msat) {
            return Err(Refusal::AmountTagMismatch {
                tag: value,
                amount: amount_msat,
            });
        }
    }
    let relays = tags("relays")
        .flat_map(|t| t.iter().skip(1))
        .filter_map(|url| RelayUrl::parse(url).ok())
        .collect();
    Ok(CheckedZap {
        request,
        amount_msat,
        relays,
    })
}

/// Whether a relay is on this machine (the development provider publishes nowhere else).
pub fn is_loopback_relay(url: &RelayUrl) -> bool {
    match Url::parse(url.as_str()).ok().as_ref().and_then(Url::host) {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The running provider: its keys and where it is reached.
#[derive(Debug, Clone)]
pub struct DevProvider {
    provider: ZapProvider,
    /// `http://<bound address>/`.
    base: Url,
}

impl DevProvider {
    /// The provider with these keys, on the HTTP server bound to `http_addr`.
    pub fn new(provider: ZapProvider, http_addr: SocketAddr) -> Option<DevProvider> {
        let base = Url::parse(&format!("http://{http_addr}/")).ok()?;
        Some(DevProvider { provider, base })
    }

    /// The key that signs the receipts (the `nostrPubkey`).
    pub fn zapper(&self) -> PublicKey {
        self.provider.public_key()
    }

    /// What signs the invoices and receipts.
    pub fn zap_provider(&self) -> &ZapProvider {
        &self.provider
    }

    /// The LUD-06 callback of `bot` (`<base>lnurlp/<bot>/callback`).
    pub fn callback(&self, bot: &str) -> Option<Url> {
        self.base.join(&format!("lnurlp/{bot}/callback")).ok()
    }
}

#[cfg(test)]
mod tests {
    use nostr_sdk::{EventBuilder, Keys, Tag, Timestamp};

    use super::*;
    use crate::nostr::zap_provider::{zap_request, ZapTarget};

    fn query(amount: u64, request: &Event, comment: Option<&str>) -> CallbackQuery {
        CallbackQuery {
            amount: Some(amount.to_string()),
            nostr: Some(request.as_json()),
            comment: comment.map(str::to_owned),
        }
    }

    #[test]
    fn pay_request_has_every_field_a_wallet_reads() {
        let zapper = Keys::generate().public_key();
        let callback = Url::parse("http://127.0.0.1:8080/lnurlp/gov/callback").expect("url");
        let answer = pay_request("gov@127.0.0.1:8080", &callback, &zapper);
        assert_eq!(answer["tag"], "payRequest");
        assert_eq!(answer["callback"], callback.as_str());
        assert_eq!(answer["minSendable"], 1_000);
        assert_eq!(answer["maxSendable"], 100_000_000_000u64);
        assert_eq!(answer["commentAllowed"], 280);
        assert_eq!(answer["allowsNostr"], true);
        assert_eq!(answer["nostrPubkey"], zapper.to_hex());
        let metadata: Value =
            serde_json::from_str(answer["metadata"].as_str().expect("a string")).expect("json");
        assert_eq!(
            metadata[1],
            json!(["text/identifier", "gov@127.0.0.1:8080"])
        );
        assert_eq!(metadata[0][0], "text/plain");
    }

    #[test]
    fn a_well_formed_zap_is_taken_with_its_relays() {
        let bot = Keys::generate().public_key();
        let relay = RelayUrl::parse("ws://127.0.0.1:7777").expect("relay");
        let request = zap_request(
            &Keys::generate(),
            &ZapTarget::new(bot, 21_000)
                .content("veto")
                .relays([relay.clone()]),
        )
        .expect("zap request");
        let zap = check_callback(&query(21_000, &request, Some("veto")), &bot).expect("taken");
        assert_eq!(zap.amount_msat, 21_000);
        assert_eq!(zap.relays, std::slice::from_ref(&relay));
        assert_eq!(zap.request, request);
        assert!(is_loopback_relay(&relay));
        assert!(!is_loopback_relay(
            &RelayUrl::parse("wss://relay.example.org").expect("relay")
        ));
        // No amount tag is fine (NIP-57 makes it optional), and a comment of exactly 280.
        let untagged = zap_request(
            &Keys::generate(),
            &ZapTarget::new(bot, 5_000).without_amount_tag(),
        )
        .expect("zap request");
        let comment = "x".repeat(COMMENT_ALLOWED);
        assert!(check_callback(&query(5_000, &untagged, Some(&comment)), &bot).is_ok());
    }

    #[test]
    fn each_refusal_names_what_is_wrong() {
        let sender = Keys::generate();
        let bot = Keys::generate().public_key();
        let good = zap_request(&sender, &ZapTarget::new(bot, 21_000)).expect("zap request");
        let check = |q: CallbackQuery| check_callback(&q, &bot);

        assert_eq!(
            check(CallbackQuery {
                amount: None,
                ..query(21_000, &good, None)
            }),
            Err(Refusal::MissingAmount)
        );
        assert_eq!(
            check(CallbackQuery {
                amount: Some("21k".into()),
                ..query(21_000, &good, None)
            }),
            Err(Refusal::BadAmount("21k".into()))
        );
        for amount in [999, MAX_SENDABLE_MSAT + 1] {
            let request = zap_request(&sender, &ZapTarget::new(bot, amount)).expect("zap request");
            assert_eq!(
                check(query(amount, &request, None)),
                Err(Refusal::AmountOutOfRange { amount })
            );
        }
        let long = "é".repeat(COMMENT_ALLOWED + 1);
        assert_eq!(
            check(query(21_000, &good, Some(&long))),
            Err(Refusal::CommentTooLong {
                chars: COMMENT_ALLOWED + 1
            })
        );
        assert_eq!(
            check(CallbackQuery {
                nostr: None,
                ..query(21_000, &good, None)
            }),
            Err(Refusal::MissingZapRequest)
        );
        // Not JSON; an event without its signature.
        for nostr in ["{not json".to_owned(), {
            let mut v: Value = serde_json::from_str(&good.as_json()).expect("json");
            v.as_object_mut().expect("object").remove("sig");
            v.to_string()
        }] {
            assert!(matches!(
                check(CallbackQuery {
                    nostr: Some(nostr),
                    ..query(21_000, &good, None)
                }),
                Err(Refusal::MalformedZapRequest(_))
            ));
        }
        // Signed by someone else than its pubkey says.
        let mut forged: Value = serde_json::from_str(&good.as_json()).expect("json");
        forged["content"] = json!("changed after signing");
        assert_eq!(
            check(CallbackQuery {
                nostr: Some(forged.to_string()),
                ..query(21_000, &good, None)
            }),
            Err(Refusal::BadSignature)
        );
        let note = EventBuilder::text_note("hi")
            .tag(Tag::public_key(bot))
            .sign_with_keys(&sender)
            .expect("note");
        assert_eq!(
            check(query(21_000, &note, None)),
            Err(Refusal::WrongKind(1))
        );
        assert_eq!(
            check(query(21_000, &good, None).clone()).map(|z| z.amount_msat),
            Ok(21_000)
        );
        assert_eq!(
            check(query(22_000, &good, None)),
            Err(Refusal::AmountTagMismatch {
                tag: "21000".into(),
                amount: 22_000
            })
        );
        let other_bot = zap_request(
            &sender,
            &ZapTarget::new(Keys::generate().public_key(), 21_000),
        )
        .expect("zap request");
        assert_eq!(
            check(query(21_000, &other_bot, None)),
            Err(Refusal::WrongRecipient)
        );
        let custom = |tags: Vec<Tag>| {
            EventBuilder::new(Kind::ZapRequest, "")
                .tags(tags)
                .custom_created_at(Timestamp::now())
                .sign_with_keys(&sender)
                .expect("zap request")
        };
        let two_p = custom(vec![Tag::public_key(bot), Tag::public_key(bot)]);
        assert_eq!(
            check(query(21_000, &two_p, None)),
            Err(Refusal::RecipientCount(2))
        );
        let two_e = custom(vec![
            Tag::public_key(bot),
            Tag::event(nostr_sdk::EventId::all_zeros()),
            Tag::event(nostr_sdk::EventId::all_zeros()),
        ]);
        assert_eq!(
            check(query(21_000, &two_e, None)),
            Err(Refusal::Repeated("e"))
        );
        let bad_a = custom(vec![
            Tag::public_key(bot),
            Tag::parse(["a", "30078:nothex:d"]).expect("tag"),
        ]);
        assert!(matches!(
            check(query(21_000, &bad_a, None)),
            Err(Refusal::BadCoordinate(_))
        ));
        // Every reason reads as a LUD-06 error.
        let error = lud06_error(&Refusal::WrongKind(1).to_string());
        assert_eq!(error["status"], "ERROR");
        assert_eq!(
            error["reason"],
            "nostr: a zap request is kind 9734, not kind 1"
        );
    }
}
