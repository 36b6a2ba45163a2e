//! NIP-57 zap receipts: the acceptance rules of DESIGN.md "Zaps accepted", as one pure function.
//!
//! [`validate`] turns a kind 9735 event from a relay into a [`ValidZap`] (a value that cannot be
//! wrong: its fields are private and only this module builds one) or into a [`Rejection`] naming
//! the rule that failed. The rules, numbered as in DESIGN.md:
//!
//! 1. the receipt's id and signature verify;
//! 2. its author is the `nostrPubkey` of the receiving bot's LNURL provider;
//! 3. its `description` tag is a kind 9734 zap request whose id and signature verify, with exactly
//!    one `p` tag, equal to the receiving bot (the receipt's `p` tag);
//! 4. (check) its `bolt11` tag parses (with `lightning-invoice`) as a BOLT11 invoice whose node
//!    signature verifies, and whose description hash is SHA-256 of the `description` tag's exact
//!    text or, failing that, of the zap request re-serialized compactly in NIP-01 key order;
//! 5. the invoice has an amount, equal to the zap request's `amount` tag when there is one;
//! 6. any `e` / `a` tag of the receipt matches the zap request's;
//! 7. (check) a `preimage` tag, when the receipt has one, hashes (SHA-256) to the invoice's
//!    payment hash;
//! 8. the receipt's `created_at` is not earlier than the invoice's timestamp minus
//!    [`INVOICE_CLOCK_MARGIN_SECS`]: a payment cannot precede its invoice, so a receipt cannot be
//!    backdated into a voting window.
//!
//! # Checks and anomalies
//!
//! Rules 4 and 7 are partly *checks*: a receipt that fails one still counts, and the failure is
//! kept with it as an [`Anomaly`] ([`ValidZap::anomalies`]): `description_hash` (the invoice has
//! no description hash, or it commits to neither text), `payment_hash` (the invoice has none) and
//! `preimage` (a `preimage` tag that is not the payment hash's preimage, or several). Only the
//! provider's key signs a receipt (rules 1 and 2) and only the voter's key the request inside it
//! (rule 3): the checks look at the provider's own bookkeeping, which a provider that wanted to
//! cheat could fake anyway, and real providers break them in large numbers (Primal hashes a
//! constant, several providers re-serialize the request after hashing it, Alby Hub puts no
//! description hash on zaps with a comment, most providers send no preimage). What still rejects
//! under rule 4: no `bolt11` tag or several, an invoice that does not decode, one whose node
//! signature does not check out, and one whose fields are ambiguous (several payment hashes,
//! several descriptions) or whose amount is not whole millisatoshis. A missing payment hash or
//! description hash is an anomaly; a missing payment secret or feature bits (how to pay, not
//! what was paid) is not looked at: see `invoice::bolt11_fields`.
//!
//! Rule 0 is not a rule of the contract: it is for events that are not ours to judge (not a zap
//! receipt, not to one of our bots) and for receipts to a bot whose LNURL provider key is not
//! resolved yet ([`Rejection::is_pending`]: keep the receipt and validate it again later).
//!
//! # Order of the checks
//!
//! Every check tests exactly one rule and only needs what it tests, so a receipt that breaks a
//! single rule is rejected for that rule whatever the order. The order is chosen for cost: tag
//! scans and string comparisons first, then JSON and bech32 parsing, then hashing, and the elliptic
//! curve work last (two schnorr verifications and the invoice's recoverable ECDSA signature), so
//! garbage is thrown out before any expensive work. A pending zapper is reported only after all
//! the other rules have passed, so nothing broken is kept for a retry.
//!
//! # Cost
//!
//! The tracker must keep up with thousands of receipts a second, so: tags are read as raw string
//! slices (no `TagStandard` parsing), the `description` text is hashed as it is (re-serialised
//! only when that hash does not match), event ids are recomputed by streaming the NIP-01 array
//! into a reused per-thread buffer (nostr's `EventId::new` builds a `serde_json::Value` tree
//! first), signatures use nostr's global secp256k1 context, and [`validate_batch`] spreads a
//! batch over the cores.
//!
//! The invoice is decoded by `lightning-invoice` (`SignedRawBolt11Invoice`), and then held to the
//! same BOLT11 requirements as `Bolt11Invoice::from_signed` (`bolt11_fields` and
//! `bolt11_signature` in `invoice`), read from the library's typed fields, but for the two tolerated
//! absences above. We do not call `from_signed` itself because, in lightning-invoice 0.33, it
//! builds and randomises three fresh secp256k1 contexts and recovers the node key twice: about
//! 240 µs, two thirds of the whole validation. The same checks on the global context with one
//! recovery cost about 45 µs; a differential test keeps them in step with `from_signed`.
//!
//! Nothing here panics or unwraps on event data: relays send garbage.
//!
//! # Where things live
//!
//! This file holds the rules' order ([`validate`], [`validate_batch`]); the values have a file
//! each: `recipients` (whose receipts a bot takes), `anomalies` (the checks' marks),
//! `valid_zap`, `rejection`; `invoice` reads the BOLT11 invoice, `tags` the tags and ids. The
//! rules' tests are below, with the function they test.

use std::borrow::Borrow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::num::NonZeroUsize;
use std::str::FromStr;

use lightning_invoice::{Bolt11SemanticError, SignedRawBolt11Invoice, TaggedField};
use nostr_sdk::hashes::{sha256, Hash};
use nostr_sdk::secp256k1::{self, Message};
use nostr_sdk::{Event, EventId, JsonUtil, Kind, PublicKey, Tag, Timestamp, SECP256K1};
use thiserror::Error;

/// NIP-57 tag names read by the validation (NIP-defined, so they live with the NIP).
mod tag {
    pub const PUBKEY: &str = "p";
    pub const EVENT: &str = "e";
    pub const ADDRESS: &str = "a";
    pub const BOLT11: &str = "bolt11";
    pub const DESCRIPTION: &str = "description";
    pub const AMOUNT: &str = "amount";
    pub const PREIMAGE: &str = "preimage";
    pub const POLL_OPTION: &str = "poll_option";
    pub const ANON: &str = "anon";
}

/// Rule 8's allowance for the clocks of the Lightning node (the invoice's timestamp) and the
/// LNURL provider (the receipt's `created_at`) disagreeing: a receipt may say it was paid up to
/// this many seconds before the invoice says it was issued.
pub const INVOICE_CLOCK_MARGIN_SECS: u64 = 60;

mod anomalies;
mod invoice;
mod recipients;
mod rejection;
mod tags;
mod valid_zap;

pub use anomalies::*;
use invoice::*;
pub use recipients::*;
pub use rejection::*;
use tags::*;
pub use valid_zap::*;

/// Judges one event from a relay against the NIP-57 rules of DESIGN.md.
///
/// The receiving bot is the receipt's `p` tag; `recipients` says whether it is ours and which key
/// its LNURL provider signs with. See the module documentation for the rules and their order.
pub fn validate<R>(receipt: &Event, recipients: &R) -> Result<ValidZap, Rejection>
where
    R: ZapRecipients + ?Sized,
{
    if receipt.kind != Kind::ZapReceipt {
        return Err(Rejection::NotZapReceipt {
            kind: receipt.kind.as_u16(),
        });
    }
    let tags = ReceiptTags::scan(receipt.tags.iter());

    // Rule 0: whose receipt is this?
    let (recipient, zapper) = receiving_bot(receipt, &tags, recipients)?;

    // Rule 2: a string of bytes compared, so before anything costly.
    if let Zapper::Known(expected) = zapper {
        if receipt.pubkey != expected {
            return Err(Rejection::WrongZapper {
                expected,
                author: receipt.pubkey,
            });
        }
    }

    // Rules 3 and 4: the two tags everything else hangs on.
    let description = match tags.description {
        One(text) => text,
        Zero => return Err(Rejection::MissingDescription),
        Many(count) => return Err(Rejection::DescriptionNotUnique { count }),
    };
    let bolt11 = match tags.bolt11 {
        One(text) => text,
        Zero => return Err(Rejection::MissingBolt11),
        Many(count) => return Err(Rejection::Bolt11NotUnique { count }),
    };

    // Rule 3, structure: the zap request, its kind and its one `p`.
    let request = Event::from_json(description).map_err(|e| Rejection::ZapRequestUnparsable {
        error: e.to_string(),
    })?;
    if request.kind != Kind::ZapRequest {
        return Err(Rejection::ZapRequestWrongKind {
            kind: request.kind.as_u16(),
        });
    }
    let request_tags = RequestTags::scan(request.tags.iter());
    let request_p = match request_tags.p {
        One(value) => value,
        Zero => return Err(Rejection::ZapRequestRecipientCount { count: 0 }),
        Many(count) => return Err(Rejection::ZapRequestRecipientCount { count }),
    };
    if PublicKey::from_hex(request_p).ok() != Some(recipient) {
        return Err(Rejection::ZapRequestRecipientMismatch {
            request: request_p.to_owned(),
            receipt: recipient,
        });
    }

    // Rule 6: the receipt's target is the request's.
    let event = match_event_target(tags.e, request_tags.e)?;
    let address = match_address_target(tags.a, request_tags.a)?;

    // Rule 4, structure: decode the invoice and check its BOLT11 fields.
    let signed =
        SignedRawBolt11Invoice::from_str(bolt11).map_err(|e| Rejection::Bolt11Unparsable {
            error: e.to_string(),
        })?;
    let payment_hash = bolt11_fields(&signed).map_err(|e| Rejection::Bolt11Invalid {
        error: e.to_string(),
    })?;

    // Rule 5 (a sub-millisatoshi amount already failed rule 4, as a BOLT11 violation).
    let amount_msat = signed
        .amount_pico_btc()
        .ok_or(Rejection::InvoiceWithoutAmount)?
        / 10;
    for value in request_tags.amounts() {
        let request_msat: u64 = value
            .parse()
            .map_err(|_| Rejection::RequestAmountUnparsable {
                value: value.to_owned(),
            })?;
        if request_msat != amount_msat {
            return Err(Rejection::AmountMismatch {
                invoice_msat: amount_msat,
                request_msat,
            });
        }
    }

    // Rule 8: an integer comparison.
    let invoice_at = signed.raw_invoice().data.timestamp.as_unix_timestamp();
    let receipt_at = receipt.created_at.as_secs();
    if receipt_at.saturating_add(INVOICE_CLOCK_MARGIN_SECS) < invoice_at {
        return Err(Rejection::PaidBeforeInvoiced {
            receipt_at,
            invoice_at,
        });
    }

    // Hashing: the two event ids (rules 1 and 3).
    if compute_event_id(receipt) != Some(receipt.id) {
        return Err(Rejection::ReceiptIdMismatch);
    }
    if compute_event_id(&request) != Some(request.id) {
        return Err(Rejection::ZapRequestIdMismatch);
    }

    // Elliptic curves, dearest last.
    if !receipt.verify_signature() {
        return Err(Rejection::ReceiptBadSignature);
    }
    if !request.verify_signature() {
        return Err(Rejection::ZapRequestBadSignature);
    }
    bolt11_signature(&signed).map_err(|e| Rejection::Bolt11Invalid {
        error: e.to_string(),
    })?;

    let zapper = match zapper {
        Zapper::Known(key) => key,
        Zapper::Pending => return Err(Rejection::ZapperPending { recipient }),
    };

    // The checks (rules 4 and 7): what fails is kept with the receipt, which counts.
    let mut anomalies = Vec::new();
    anomalies.extend(description_hash_anomaly(&signed, description, &request));
    if payment_hash.is_none() {
        anomalies.push(Anomaly::NoPaymentHash);
    }
    anomalies.extend(match tags.preimage {
        Zero => None,
        One(value) => preimage_anomaly(value, payment_hash.as_ref()),
        Many(count) => Some(Anomaly::PreimageNotUnique { count }),
    });

    Ok(ValidZap {
        receipt_id: receipt.id,
        payment_hash: payment_hash.map(|hash| hex::encode(hash.to_byte_array())),
        recipient,
        zapper,
        sender: request.pubkey,
        amount_msat,
        event,
        address,
        poll_option: sole_value(&request, tag::POLL_OPTION),
        private_zap: has_private_zap_tag(&request),
        content: request.content,
        created_at: receipt.created_at,
        invoice_timestamp: Timestamp::from_secs(invoice_at),
        anomalies,
    })
}

/// [`validate`] for a batch, spread over the available cores (scoped threads over chunks);
/// results come back in the order of `receipts`.
///
/// This blocks until the whole batch is judged: call it from a blocking context (for example
/// `tokio::task::spawn_blocking` or a `SyncArbiter`), not from an actor's event loop.
pub fn validate_batch<T, R>(receipts: &[T], recipients: &R) -> Vec<Result<ValidZap, Rejection>>
where
    T: Borrow<Event> + Sync,
    R: ZapRecipients + Sync + ?Sized,
{
    /// Below this many receipts per thread, a thread costs more than it saves.
    const MIN_PER_THREAD: usize = 16;

    let judge = |chunk: &[T]| -> Vec<Result<ValidZap, Rejection>> {
        chunk
            .iter()
            .map(|receipt| validate(receipt.borrow(), recipients))
            .collect()
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(receipts.len() / MIN_PER_THREAD)
        .max(1);
    if threads == 1 {
        return judge(receipts);
    }
    let chunk_len = receipts.len().div_ceil(threads);
    let mut chunks = receipts.chunks(chunk_len);
    let first = chunks.next().unwrap_or_default();

    std::thread::scope(|scope| {
        // Spawn the other chunks, or judge them here if the OS refuses a thread.
        let others: Vec<_> = chunks
            .map(|chunk| {
                std::thread::Builder::new()
                    .name("nip57-validate".into())
                    .spawn_scoped(scope, move || judge(chunk))
                    .map_err(|_| chunk)
            })
            .collect();
        let mut results = judge(first);
        results.reserve(receipts.len().saturating_sub(results.len()));
        for other in others {
            match other {
                Ok(handle) => match handle.join() {
                    Ok(chunk_results) => results.extend(chunk_results),
                    Err(panic) => std::panic::resume_unwind(panic),
                },
                Err(chunk) => results.extend(judge(chunk)),
            }
        }
        results
    })
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;
    use std::time::Duration;

    use lightning_invoice::{Currency, InvoiceBuilder, PaymentSecret, RawTaggedField};
    use nostr_sdk::nips::nip01::Coordinate;
    use nostr_sdk::secp256k1;
    use nostr_sdk::{EventBuilder, Keys, RelayUrl, Tags, SECP256K1};
    use proptest::prelude::*;

    use super::*;
    use crate::nostr::zap_provider::{zap_request, IssuedInvoice, ZapProvider, ZapTarget};

    const AMOUNT_MSAT: u64 = 21_000_000;
    const CREATED_AT: Timestamp = Timestamp::from_secs(1_760_000_000);
    const INVOICE_AT: Timestamp = Timestamp::from_secs(1_759_999_990);

    fn proposal() -> EventId {
        EventId::from_byte_array([7u8; 32])
    }

    fn tag(parts: &[&str]) -> Tag {
        Tag::parse(parts.iter().copied()).expect("non-empty tag")
    }

    /// One bot, its LNURL provider, and a sender: the fixtures every test builds receipts with.
    struct Fixture {
        provider: ZapProvider,
        bot: PublicKey,
        sender: Keys,
        recipients: HashMap<PublicKey, Zapper>,
    }

    impl Fixture {
        fn new() -> Self {
            let provider = ZapProvider::generate();
            let bot = Keys::generate().public_key();
            let recipients = HashMap::from([(bot, Zapper::Known(provider.public_key()))]);
            Self {
                provider,
                bot,
                sender: Keys::generate(),
                recipients,
            }
        }

        /// The honest zap: a vote on the proposal, with an amount tag.
        fn target(&self) -> ZapTarget {
            ZapTarget::new(self.bot, AMOUNT_MSAT)
                .event(proposal())
                .content("Support: ship it")
                .relays([RelayUrl::parse("wss://relay.example.org").expect("relay url")])
        }

        fn request(&self, target: &ZapTarget) -> Event {
            zap_request(&self.sender, target).expect("zap request")
        }

        fn invoice(&self, description: &str, amount_msat: Option<u64>) -> IssuedInvoice {
            self.provider
                .sign_invoice(description, amount_msat, INVOICE_AT)
                .expect("invoice")
        }

        fn receipt(&self, request: &Event, invoice: &IssuedInvoice) -> Event {
            self.provider
                .receipt(
                    request,
                    &invoice.bolt11,
                    Some(&invoice.preimage),
                    CREATED_AT,
                )
                .expect("receipt")
        }

        /// An honest zap for `target`, with fixed timestamps.
        fn paid(&self, target: &ZapTarget) -> (Event, IssuedInvoice, Event) {
            let request = self.request(target);
            let invoice = self.invoice(&request.as_json(), Some(target.amount_msat));
            let receipt = self.receipt(&request, &invoice);
            (request, invoice, receipt)
        }

        /// A kind 9735 event with exactly these tags, signed by the provider.
        fn provider_signs(&self, tags: Vec<Tag>) -> Event {
            EventBuilder::new(Kind::ZapReceipt, "")
                .tags(tags)
                .custom_created_at(CREATED_AT)
                .sign_with_keys(self.provider.keys())
                .expect("signed receipt")
        }

        /// The three tags a receipt cannot do without, for hand-made receipts.
        fn core_tags(&self, description: &str, bolt11: &str) -> Vec<Tag> {
            vec![
                tag(&["p", &self.bot.to_hex()]),
                tag(&["bolt11", bolt11]),
                tag(&["description", description]),
            ]
        }

        fn check(&self, receipt: &Event) -> Result<ValidZap, Rejection> {
            validate(receipt, &self.recipients)
        }
    }

    /// An invoice built here rather than by the provider: a plain description, or a payee key
    /// the node signature does not match.
    fn odd_invoice(description: Option<&str>, description_hash_of: &str, payee: bool) -> String {
        let node_key = secp256k1::SecretKey::new(&mut secp256k1::rand::thread_rng());
        let builder = InvoiceBuilder::new(Currency::Bitcoin);
        let builder = match description {
            Some(text) => builder.description(text.to_owned()),
            None => builder.description_hash(sha256::Hash::hash(description_hash_of.as_bytes())),
        };
        let mut builder = builder
            .payment_hash(sha256::Hash::hash(&[1u8; 32]))
            .payment_secret(PaymentSecret([2u8; 32]))
            .duration_since_epoch(Duration::from_secs(INVOICE_AT.as_secs()))
            .min_final_cltv_expiry_delta(80)
            .amount_milli_satoshis(AMOUNT_MSAT);
        if payee {
            let other = secp256k1::SecretKey::new(&mut secp256k1::rand::thread_rng());
            builder =
                builder.payee_pub_key(secp256k1::PublicKey::from_secret_key(SECP256K1, &other));
        }
        builder
            .build_signed(|message| SECP256K1.sign_ecdsa_recoverable(message, &node_key))
            .expect("invoice")
            .to_string()
    }

    #[test]
    fn honest_zap_is_valid_with_every_field() {
        let fx = Fixture::new();
        let (request, invoice, receipt) = fx.paid(&fx.target());
        let zap = fx.check(&receipt).expect("valid zap");
        assert_eq!(zap.receipt_id(), receipt.id);
        assert_eq!(
            zap.payment_hash(),
            Some(invoice.payment_hash_hex().as_str())
        );
        assert_eq!(zap.payment_hash().map(str::len), Some(64));
        assert!(zap.anomalies().is_empty());
        assert_eq!(zap.recipient(), fx.bot);
        assert_eq!(zap.zapper(), fx.provider.public_key());
        assert_eq!(zap.sender(), fx.sender.public_key());
        assert_eq!(zap.sender(), request.pubkey);
        assert_eq!(zap.amount_msat(), AMOUNT_MSAT);
        assert_eq!(zap.event(), Some(proposal()));
        assert_eq!(zap.address(), None);
        assert_eq!(zap.content(), "Support: ship it");
        assert_eq!(zap.created_at(), CREATED_AT);
        assert_eq!(zap.invoice_timestamp(), INVOICE_AT);
    }

    #[test]
    fn a_private_zap_is_told_from_an_anonymous_one() {
        // Damus and Amethyst: a private zap's `anon` carries the real request, encrypted; an
        // anonymous zap's `anon` has no value. Either way the outer request is a throwaway key's.
        let fx = Fixture::new();
        let cases: [(&[&str], bool); 4] = [
            (&[], false),
            (&["anon"], false),
            (&["anon", ""], false),
            (&["anon", "bG9uZyBjaXBoZXJ0ZXh0?iv=MTIzNDU2Nzg5MDEy"], true),
        ];
        for (anon, private) in cases {
            let mut tags = vec![
                Tag::public_key(fx.bot),
                Tag::event(proposal()),
                Tag::parse(["amount", &AMOUNT_MSAT.to_string()]).expect("tag"),
                Tag::parse(["relays", "wss://relay.example.org"]).expect("tag"),
            ];
            if !anon.is_empty() {
                tags.push(Tag::parse(anon.iter().copied()).expect("tag"));
            }
            let request = EventBuilder::new(Kind::ZapRequest, "")
                .tags(tags)
                .sign_with_keys(&Keys::generate())
                .expect("signed request");
            let invoice = fx.invoice(&request.as_json(), Some(AMOUNT_MSAT));
            let receipt = fx.receipt(&request, &invoice);
            let zap = fx.check(&receipt).expect("a valid receipt all the same");
            assert_eq!(zap.is_private_zap(), private, "{anon:?}");
        }
    }

    #[test]
    fn one_call_zap_is_valid() {
        let fx = Fixture::new();
        let receipt = fx.provider.zap(&fx.sender, &fx.target()).expect("zap");
        let zap = fx.check(&receipt).expect("valid zap");
        assert_eq!(zap.amount_msat(), AMOUNT_MSAT);
        assert!(zap.invoice_timestamp().as_secs() > 1_700_000_000);
    }

    #[test]
    fn address_zap_keeps_the_whole_d_tag() {
        let fx = Fixture::new();
        let gov = Keys::generate().public_key();
        let d = "action:btc-commons/governance:42:review-period";
        let target = ZapTarget::new(fx.bot, 5_000)
            .address(Coordinate::new(Kind::from(30078), gov).identifier(d))
            .content("veto");
        let (_, _, receipt) = fx.paid(&target);
        let zap = fx.check(&receipt).expect("valid zap");
        assert_eq!(zap.address(), Some(format!("30078:{gov}:{d}").as_str()));
        assert_eq!(zap.event(), None);
        assert_eq!(zap.amount_msat(), 5_000);
    }

    #[test]
    fn request_without_amount_tag_takes_the_invoice_amount() {
        let fx = Fixture::new();
        let (_, _, receipt) = fx.paid(&fx.target().without_amount_tag());
        assert_eq!(fx.check(&receipt).map(|z| z.amount_msat()), Ok(AMOUNT_MSAT));
    }

    // Rule 1: the receipt's id and signature.

    #[test]
    fn rule_1_receipt_id_must_match() {
        let fx = Fixture::new();
        let (_, _, mut receipt) = fx.paid(&fx.target());
        receipt.content = "edited after signing".into();
        let rejection = fx.check(&receipt).expect_err("rejected");
        assert_eq!(rejection, Rejection::ReceiptIdMismatch);
        assert_eq!(
            (rejection.rule(), rejection.reason()),
            (1, "receipt_id_mismatch")
        );
    }

    #[test]
    fn rule_1_receipt_signature_must_verify() {
        let fx = Fixture::new();
        let (_, _, mut receipt) = fx.paid(&fx.target());
        receipt.sig = fx.provider_signs(vec![tag(&["t", "other"])]).sig;
        let rejection = fx.check(&receipt).expect_err("rejected");
        assert_eq!(rejection, Rejection::ReceiptBadSignature);
        assert_eq!(rejection.rule(), 1);
    }

    // Rule 2: the receipt's author is the bot's LNURL provider.

    #[test]
    fn rule_2_receipt_must_come_from_the_bots_provider() {
        let fx = Fixture::new();
        let (request, invoice, _) = fx.paid(&fx.target());
        let impostor = Keys::generate();
        let receipt = EventBuilder::zap_receipt(
            invoice.bolt11.as_str(),
            Some(hex::encode(invoice.preimage)),
            &request,
        )
        .custom_created_at(CREATED_AT)
        .sign_with_keys(&impostor)
        .expect("signed");
        let rejection = fx.check(&receipt).expect_err("rejected");
        assert_eq!(
            rejection,
            Rejection::WrongZapper {
                expected: fx.provider.public_key(),
                author: impostor.public_key(),
            }
        );
        assert_eq!((rejection.rule(), rejection.reason()), (2, "wrong_zapper"));
    }

    // Rule 3: the description is a signed zap request to the receipt's bot.

    #[test]
    fn rule_3_description_must_be_a_zap_request() {
        let fx = Fixture::new();
        let note = EventBuilder::text_note("Support")
            .tags([
                tag(&["p", &fx.bot.to_hex()]),
                tag(&["e", &proposal().to_hex()]),
            ])
            .sign_with_keys(&fx.sender)
            .expect("note");
        let invoice = fx.invoice(&note.as_json(), Some(AMOUNT_MSAT));
        let receipt = fx.receipt(&note, &invoice);
        let rejection = fx.check(&receipt).expect_err("rejected");
        assert_eq!(rejection, Rejection::ZapRequestWrongKind { kind: 1 });
        assert_eq!(rejection.rule(), 3);
    }

    #[test]
    fn rule_3_zap_request_id_must_match() {
        let fx = Fixture::new();
        let mut request = fx.request(&fx.target());
        request.content = "Veto".into();
        let invoice = fx.invoice(&request.as_json(), Some(AMOUNT_MSAT));
        let receipt = fx.receipt(&request, &invoice);
        let rejection = fx.check(&receipt).expect_err("rejected");
        assert_eq!(rejection, Rejection::ZapRequestIdMismatch);
        assert_eq!(rejection.rule(), 3);
    }

    #[test]
    fn rule_3_zap_request_signature_must_verify() {
        let fx = Fixture::new();
        let mut request = fx.request(&fx.target());
        request.sig = fx.request(&fx.target().content("other")).sig;
        let invoice = fx.invoice(&request.as_json(), Some(AMOUNT_MSAT));
        let receipt = fx.receipt(&request, &invoice);
        let rejection = fx.check(&receipt).expect_err("rejected");
        assert_eq!(rejection, Rejection::ZapRequestBadSignature);
        assert_eq!(rejection.reason(), "zap_request_bad_signature");
    }

    #[test]
    fn rule_3_zap_request_must_be_to_the_receipts_bot() {
        let fx = Fixture::new();
        let elsewhere = Keys::generate().public_key();
        let request = fx.request(&ZapTarget {
            recipient: elsewhere,
            ..fx.target()
        });
        let json = request.as_json();
        let invoice = fx.invoice(&json, Some(AMOUNT_MSAT));
        let mut tags = fx.core_tags(&json, &invoice.bolt11);
        tags.push(tag(&["e", &proposal().to_hex()]));
        let receipt = fx.provider_signs(tags);
        let rejection = fx.check(&receipt).expect_err("rejected");
        assert_eq!(
            rejection,
            Rejection::ZapRequestRecipientMismatch {
                request: elsewhere.to_hex(),
                receipt: fx.bot,
            }
        );
        assert_eq!(rejection.rule(), 3);
    }

    #[test]
    fn rule_3_zap_request_needs_exactly_one_p_tag() {
        let fx = Fixture::new();
        for p_tags in [vec![], vec![fx.bot, Keys::generate().public_key()]] {
            let mut tags: Vec<Tag> = p_tags.iter().map(|p| tag(&["p", &p.to_hex()])).collect();
            tags.push(tag(&["amount", &AMOUNT_MSAT.to_string()]));
            let request = EventBuilder::new(Kind::ZapRequest, "")
                .tags(tags)
                .sign_with_keys(&fx.sender)
                .expect("request");
            let json = request.as_json();
            let invoice = fx.invoice(&json, Some(AMOUNT_MSAT));
            let receipt = fx.provider_signs(fx.core_tags(&json, &invoice.bolt11));
            assert_eq!(
                fx.check(&receipt),
                Err(Rejection::ZapRequestRecipientCount {
                    count: p_tags.len()
                })
            );
        }
    }

    #[test]
    fn rule_3_description_must_be_json() {
        let fx = Fixture::new();
        for text in ["not json at all", "{\"kind\":9734}", "", "[]"] {
            let invoice = fx.invoice(text, Some(AMOUNT_MSAT));
            let receipt = fx.provider_signs(fx.core_tags(text, &invoice.bolt11));
            let rejection = fx.check(&receipt).expect_err("rejected");
            assert_eq!(rejection.reason(), "zap_request_unparsable", "{text:?}");
            assert_eq!(rejection.rule(), 3);
        }
    }

    #[test]
    fn rule_3_description_tag_must_be_there_once() {
        let fx = Fixture::new();
        let (request, invoice, _) = fx.paid(&fx.target());
        let json = request.as_json();
        let missing = fx.provider_signs(vec![
            tag(&["p", &fx.bot.to_hex()]),
            tag(&["bolt11", &invoice.bolt11]),
        ]);
        assert_eq!(fx.check(&missing), Err(Rejection::MissingDescription));
        let mut twice = fx.core_tags(&json, &invoice.bolt11);
        twice.push(tag(&["description", &json]));
        assert_eq!(
            fx.check(&fx.provider_signs(twice)),
            Err(Rejection::DescriptionNotUnique { count: 2 })
        );
    }

    // Rule 4: the invoice parses and its node signature verifies (or the receipt is rejected);
    // its description hash and payment hash are checks (anomalies, the receipt counts).

    /// The receipt counts, with exactly these anomalies.
    fn assert_counts_with(fx: &Fixture, receipt: &Event, expected: &[Check]) -> ValidZap {
        let zap = fx.check(receipt).expect("counted");
        assert_eq!(
            zap.anomalies().iter().collect::<Vec<_>>(),
            expected,
            "{:?}",
            zap.anomaly_details()
        );
        assert_eq!(zap.anomaly_details().len(), expected.len());
        zap
    }

    #[test]
    fn honest_zap_has_no_anomaly() {
        let fx = Fixture::new();
        let (_, _, receipt) = fx.paid(&fx.target());
        let zap = assert_counts_with(&fx, &receipt, &[]);
        assert!(zap.anomalies().is_empty());
        assert_eq!(zap.anomalies().to_string(), "");
    }

    #[test]
    fn rule_4_constant_description_hash_counts_with_an_anomaly() {
        // Primal: every invoice commits to the same text, whatever the zap request.
        let fx = Fixture::new();
        let request = fx.request(&fx.target());
        let invoice = fx.invoice("a constant the provider hashes", Some(AMOUNT_MSAT));
        let receipt = fx.receipt(&request, &invoice);
        let zap = assert_counts_with(&fx, &receipt, &[Check::DescriptionHash]);
        assert_eq!(zap.sender(), fx.sender.public_key());
        assert_eq!(zap.amount_msat(), AMOUNT_MSAT);
        let [Anomaly::DescriptionHashMismatch {
            invoice,
            description,
            nip01_order,
        }] = zap.anomaly_details()
        else {
            panic!("wrong anomaly: {:?}", zap.anomaly_details());
        };
        let hex_of = |text: &[u8]| hex::encode(sha256::Hash::hash(text).to_byte_array());
        assert_eq!(*invoice, hex_of(b"a constant the provider hashes"));
        assert_eq!(*description, hex_of(request.as_json().as_bytes()));
        assert_eq!(nip01_order.len(), 64);
        assert_eq!(
            zap.payment_hash(),
            Some(invoice_payment_hash(&receipt).as_str())
        );
    }

    /// The payment hash of a receipt's invoice, hex.
    fn invoice_payment_hash(receipt: &Event) -> String {
        let bolt11 = receipt
            .tags
            .iter()
            .find_map(|t| match name_value(t) {
                ("bolt11", Some(v)) => Some(v.clone()),
                _ => None,
            })
            .expect("bolt11 tag");
        let invoice = lightning_invoice::Bolt11Invoice::from_str(&bolt11).expect("invoice");
        hex::encode(invoice.payment_hash().to_byte_array())
    }

    /// `request` as JSON with its keys in the order given (compact, as serde writes values).
    fn reordered(request: &Event, keys: &[&str]) -> String {
        let value: serde_json::Value = serde_json::from_str(&request.as_json()).expect("json");
        let fields: Vec<String> = keys
            .iter()
            .map(|key| {
                format!(
                    "{}:{}",
                    serde_json::to_string(key).expect("key"),
                    serde_json::to_string(&value[*key]).expect("value")
                )
            })
            .collect();
        format!("{{{}}}", fields.join(","))
    }

    #[test]
    fn rule_4_re_serialized_description_passes_by_the_nip01_order_fallback() {
        // npub.cash, Primal, Fountain: the invoice hashes the request as received (NIP-01 key
        // order), the receipt's description is a copy re-serialized in another key order.
        let fx = Fixture::new();
        let request = fx.request(&fx.target());
        let nip01 = reordered(
            &request,
            &[
                "id",
                "pubkey",
                "created_at",
                "kind",
                "tags",
                "content",
                "sig",
            ],
        );
        let invoice = fx.invoice(&nip01, Some(AMOUNT_MSAT));
        for order in [
            [
                "id",
                "sig",
                "kind",
                "tags",
                "pubkey",
                "content",
                "created_at",
            ],
            [
                "kind",
                "created_at",
                "content",
                "pubkey",
                "id",
                "tags",
                "sig",
            ],
            [
                "content",
                "created_at",
                "id",
                "kind",
                "pubkey",
                "sig",
                "tags",
            ],
        ] {
            let description = reordered(&request, &order);
            assert_ne!(description, nip01);
            let mut tags = fx.core_tags(&description, &invoice.bolt11);
            tags.push(tag(&["e", &proposal().to_hex()]));
            let receipt = fx.provider_signs(tags);
            let zap = assert_counts_with(&fx, &receipt, &[]);
            assert_eq!(zap.sender(), fx.sender.public_key());
        }

        // Re-serialized, but the invoice hashed yet another text: the anomaly stands.
        let other = fx.invoice(
            &reordered(
                &request,
                &[
                    "pubkey",
                    "id",
                    "created_at",
                    "kind",
                    "tags",
                    "content",
                    "sig",
                ],
            ),
            Some(AMOUNT_MSAT),
        );
        let description = reordered(
            &request,
            &[
                "id",
                "sig",
                "kind",
                "tags",
                "pubkey",
                "content",
                "created_at",
            ],
        );
        let mut tags = fx.core_tags(&description, &other.bolt11);
        tags.push(tag(&["e", &proposal().to_hex()]));
        let zap = assert_counts_with(&fx, &fx.provider_signs(tags), &[Check::DescriptionHash]);
        let [Anomaly::DescriptionHashMismatch { nip01_order, .. }] = zap.anomaly_details() else {
            panic!("wrong anomaly: {:?}", zap.anomaly_details());
        };
        assert_eq!(
            *nip01_order,
            hex::encode(sha256::Hash::hash(nip01.as_bytes()).to_byte_array())
        );
    }

    #[test]
    fn rule_4_bolt11_must_be_there_and_parse() {
        let fx = Fixture::new();
        let request = fx.request(&fx.target());
        let json = request.as_json();
        let missing = fx.provider_signs(vec![
            tag(&["p", &fx.bot.to_hex()]),
            tag(&["description", &json]),
            tag(&["e", &proposal().to_hex()]),
        ]);
        assert_eq!(fx.check(&missing), Err(Rejection::MissingBolt11));
        for garbage in ["", "lnbc1garbage", "not an invoice", &"lnbc".repeat(3000)] {
            let mut tags = fx.core_tags(&json, garbage);
            tags.push(tag(&["e", &proposal().to_hex()]));
            let rejection = fx.check(&fx.provider_signs(tags)).expect_err("rejected");
            assert_eq!(rejection.reason(), "bolt11_unparsable", "{garbage:.20}");
            assert_eq!(rejection.rule(), 4);
        }
    }

    #[test]
    fn rule_4_invoice_must_be_valid_bolt11() {
        let fx = Fixture::new();
        let request = fx.request(&fx.target());
        let json = request.as_json();
        // The node signature does not match the payee key the invoice names.
        let bolt11 = odd_invoice(None, &json, true);
        let rejection = fx
            .check(
                &fx.provider
                    .receipt(&request, &bolt11, None, CREATED_AT)
                    .expect("receipt"),
            )
            .expect_err("rejected");
        assert_eq!(rejection.reason(), "bolt11_invalid");
        assert_eq!(rejection.rule(), 4);
    }

    #[test]
    fn rule_4_invoice_without_description_hash_counts_with_an_anomaly() {
        // Alby Hub on a zap with a comment: a plain description (the comment), no hash.
        let fx = Fixture::new();
        let request = fx.request(&fx.target());
        let bolt11 = odd_invoice(Some("Support: ship it"), "", false);
        let receipt = fx
            .provider
            .receipt(&request, &bolt11, None, CREATED_AT)
            .expect("receipt");
        let zap = assert_counts_with(&fx, &receipt, &[Check::DescriptionHash]);
        assert_eq!(zap.anomaly_details(), [Anomaly::NoDescriptionHash]);
        // And one with neither a description nor a description hash (BOLT11 wants one).
        let bolt11 = raw_invoice(|fields| {
            fields.retain(|f| {
                !matches!(
                    f,
                    RawTaggedField::KnownSemantics(TaggedField::DescriptionHash(_))
                )
            })
        });
        let receipt = fx
            .provider
            .receipt(&request, &bolt11, None, CREATED_AT)
            .expect("receipt");
        let zap = assert_counts_with(&fx, &receipt, &[Check::DescriptionHash]);
        assert_eq!(zap.anomaly_details(), [Anomaly::NoDescriptionHash]);
    }

    /// An invoice for the fixture amount committing to `zap request`, with its tagged fields
    /// edited by `edit`, then signed by a node key.
    fn raw_invoice(edit: impl FnOnce(&mut Vec<RawTaggedField>)) -> String {
        let node_key = secp256k1::SecretKey::new(&mut secp256k1::rand::thread_rng());
        let mut raw = InvoiceBuilder::new(Currency::Bitcoin)
            .description_hash(sha256::Hash::hash(b"zap request"))
            .payment_hash(sha256::Hash::hash(&[1u8; 32]))
            .payment_secret(PaymentSecret([2u8; 32]))
            .duration_since_epoch(Duration::from_secs(INVOICE_AT.as_secs()))
            .min_final_cltv_expiry_delta(80)
            .amount_milli_satoshis(AMOUNT_MSAT)
            .build_raw()
            .expect("raw invoice");
        edit(&mut raw.data.tagged_fields);
        raw.sign::<_, ()>(|m| Ok(SECP256K1.sign_ecdsa_recoverable(m, &node_key)))
            .expect("signed")
            .to_string()
    }

    #[test]
    fn rule_4_invoice_without_payment_hash_counts_with_an_anomaly() {
        // Primal strips the payment hash (and the description hash) from some invoices.
        let fx = Fixture::new();
        let request = fx.request(&fx.target());
        let is_payment_hash = |f: &RawTaggedField| {
            matches!(
                f,
                RawTaggedField::KnownSemantics(TaggedField::PaymentHash(_))
            )
        };
        let bolt11 = raw_invoice(|fields| fields.retain(|f| !is_payment_hash(f)));
        assert!(
            lightning_invoice::Bolt11Invoice::from_str(&bolt11).is_err(),
            "lightning-invoice refuses it whole"
        );
        let receipt = fx
            .provider
            .receipt(&request, &bolt11, None, CREATED_AT)
            .expect("receipt");
        let zap = assert_counts_with(&fx, &receipt, &[Check::DescriptionHash, Check::PaymentHash]);
        assert_eq!(zap.payment_hash(), None);
        assert_eq!(zap.receipt_id(), receipt.id);
        assert_eq!(zap.amount_msat(), AMOUNT_MSAT);
        assert_eq!(zap.anomalies().to_string(), "description_hash,payment_hash");

        // With a preimage too: there is no payment hash it could be the preimage of.
        let receipt = fx
            .provider
            .receipt(&request, &bolt11, Some(&[1u8; 32]), CREATED_AT)
            .expect("receipt");
        let zap = assert_counts_with(
            &fx,
            &receipt,
            &[Check::DescriptionHash, Check::PaymentHash, Check::Preimage],
        );
        assert!(matches!(
            zap.anomaly_details()[2],
            Anomaly::PreimageMismatch {
                payment_hash: None,
                ..
            }
        ));
        // Two payment hashes are still not BOLT11.
        let bolt11 = raw_invoice(|fields| {
            let hash = lightning_invoice::Sha256(sha256::Hash::hash(b"x"));
            fields.push(RawTaggedField::KnownSemantics(TaggedField::PaymentHash(
                hash,
            )));
        });
        let receipt = fx
            .provider
            .receipt(&request, &bolt11, None, CREATED_AT)
            .expect("receipt");
        let rejection = fx.check(&receipt).expect_err("rejected");
        assert_eq!(
            (rejection.rule(), rejection.reason()),
            (4, "bolt11_invalid")
        );
    }

    #[test]
    fn rule_4_invoice_with_a_bad_node_signature_is_rejected() {
        // An invoice whose signature was made by one key over other content: the recovered
        // key signs nothing here; with a payee named, the signature must verify for it.
        let fx = Fixture::new();
        let request = fx.request(&fx.target());
        let honest = fx.invoice(&request.as_json(), Some(AMOUNT_MSAT));
        let signed = SignedRawBolt11Invoice::from_str(&honest.bolt11).expect("decodes");
        let (raw, _, signature) = signed.into_parts();
        let mut other = raw.clone();
        other.data.timestamp =
            lightning_invoice::PositiveTimestamp::from_unix_timestamp(INVOICE_AT.as_secs() + 1)
                .expect("timestamp");
        let other_node = secp256k1::SecretKey::new(&mut secp256k1::rand::thread_rng());
        let payee = secp256k1::PublicKey::from_secret_key(SECP256K1, &other_node);
        other
            .data
            .tagged_fields
            .push(RawTaggedField::KnownSemantics(TaggedField::PayeePubKey(
                lightning_invoice::PayeePubKey(payee),
            )));
        // The provider's own node signature, moved onto content it did not sign.
        let forged = other
            .sign::<_, ()>(|_| Ok(signature.0))
            .expect("signed")
            .to_string();
        let receipt = fx
            .provider
            .receipt(&request, &forged, None, CREATED_AT)
            .expect("receipt");
        let rejection = fx.check(&receipt).expect_err("rejected");
        assert_eq!(
            (rejection.rule(), rejection.reason()),
            (4, "bolt11_invalid")
        );
        assert!(rejection.to_string().contains("signature"), "{rejection}");
    }

    /// `from_signed`'s verdict and ours, on the same decoded invoice.
    #[allow(clippy::type_complexity)]
    fn ours_and_theirs(
        bolt11: &str,
    ) -> (
        Result<(), Bolt11SemanticError>,
        Result<(), Bolt11SemanticError>,
    ) {
        let signed = SignedRawBolt11Invoice::from_str(bolt11).expect("decodes");
        let ours = bolt11_fields(&signed).and_then(|_| bolt11_signature(&signed));
        let theirs = lightning_invoice::Bolt11Invoice::from_signed(signed).map(|_| ());
        (ours, theirs)
    }

    #[test]
    fn bolt11_checks_agree_with_lightning_invoice() {
        use lightning_invoice::{
            Description, RawBolt11Invoice, RawTaggedField, SiPrefix, TaggedField,
        };
        use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};

        let node_key = secp256k1::SecretKey::new(&mut secp256k1::rand::thread_rng());
        let node_pub = secp256k1::PublicKey::from_secret_key(SECP256K1, &node_key);
        let sign = |raw: RawBolt11Invoice| -> String {
            raw.sign::<_, ()>(|m| Ok(SECP256K1.sign_ecdsa_recoverable(m, &node_key)))
                .expect("signed")
                .to_string()
        };
        let base = |payee: Option<secp256k1::PublicKey>| -> RawBolt11Invoice {
            let mut builder = InvoiceBuilder::new(Currency::Bitcoin)
                .description_hash(sha256::Hash::hash(b"zap request"))
                .payment_hash(sha256::Hash::hash(&[1u8; 32]))
                .payment_secret(PaymentSecret([2u8; 32]))
                .duration_since_epoch(Duration::from_secs(INVOICE_AT.as_secs()))
                .min_final_cltv_expiry_delta(80)
                .amount_milli_satoshis(AMOUNT_MSAT);
            if let Some(payee) = payee {
                builder = builder.payee_pub_key(payee);
            }
            builder.build_raw().expect("raw invoice")
        };
        let edited = |edit: &dyn Fn(&mut RawBolt11Invoice)| {
            let mut raw = base(None);
            edit(&mut raw);
            sign(raw)
        };
        let known = |field: TaggedField| RawTaggedField::KnownSemantics(field);
        let high_s = base(None)
            .sign::<_, ()>(|m| {
                let (recid, compact) = SECP256K1
                    .sign_ecdsa_recoverable(m, &node_key)
                    .serialize_compact();
                let s = secp256k1::SecretKey::from_slice(&compact[32..])
                    .expect("scalar")
                    .negate();
                let mut bytes = compact;
                bytes[32..].copy_from_slice(&s.secret_bytes());
                let recid = RecoveryId::from_i32(recid.to_i32() ^ 1).expect("recid");
                Ok(RecoverableSignature::from_compact(&bytes, recid).expect("signature"))
            })
            .expect("signed")
            .to_string();
        let other_payee = secp256k1::PublicKey::from_secret_key(
            SECP256K1,
            &secp256k1::SecretKey::new(&mut secp256k1::rand::thread_rng()),
        );

        let cases: Vec<(&str, String, Result<(), Bolt11SemanticError>)> = vec![
            ("honest", sign(base(None)), Ok(())),
            ("named payee", sign(base(Some(node_pub))), Ok(())),
            (
                "wrong payee",
                sign(base(Some(other_payee))),
                Err(Bolt11SemanticError::InvalidSignature),
            ),
            ("high s", high_s, Err(Bolt11SemanticError::InvalidSignature)),
            (
                "two payment hashes",
                edited(&|raw| {
                    let hash = lightning_invoice::Sha256(sha256::Hash::hash(b"x"));
                    raw.data
                        .tagged_fields
                        .push(known(TaggedField::PaymentHash(hash)));
                }),
                Err(Bolt11SemanticError::MultiplePaymentHashes),
            ),
            (
                "description and hash",
                edited(&|raw| {
                    let text = Description::new("zap".into()).expect("description");
                    raw.data
                        .tagged_fields
                        .push(known(TaggedField::Description(text)));
                }),
                Err(Bolt11SemanticError::MultipleDescriptions),
            ),
            (
                "imprecise amount",
                edited(&|raw| {
                    raw.hrp.raw_amount = Some(12_345);
                    raw.hrp.si_prefix = Some(SiPrefix::Pico);
                }),
                Err(Bolt11SemanticError::ImpreciseAmount),
            ),
        ];
        for (name, bolt11, expected) in cases {
            let (ours, theirs) = ours_and_theirs(&bolt11);
            assert_eq!(theirs, expected, "{name}: lightning-invoice");
            assert_eq!(ours, expected, "{name}: ours");
        }

        // What we do not require: a payment hash or description hash (DESIGN.md makes their
        // absence an anomaly), the payment secret and the features (how to pay, not what was
        // paid). lightning-invoice refuses such invoices; we judge what is there.
        let without = |field: fn(&RawTaggedField) -> bool| {
            edited(&|raw| raw.data.tagged_fields.retain(|f| !field(f)))
        };
        let tolerated: [(&str, String, Bolt11SemanticError); 5] = [
            (
                "no payment hash",
                without(|f| {
                    matches!(
                        f,
                        RawTaggedField::KnownSemantics(TaggedField::PaymentHash(_))
                    )
                }),
                Bolt11SemanticError::NoPaymentHash,
            ),
            (
                "no description",
                without(|f| {
                    matches!(
                        f,
                        RawTaggedField::KnownSemantics(TaggedField::DescriptionHash(_))
                    )
                }),
                Bolt11SemanticError::NoDescription,
            ),
            (
                "no payment secret",
                without(|f| {
                    matches!(
                        f,
                        RawTaggedField::KnownSemantics(TaggedField::PaymentSecret(_))
                    )
                }),
                Bolt11SemanticError::NoPaymentSecret,
            ),
            (
                "no features",
                without(|f| matches!(f, RawTaggedField::KnownSemantics(TaggedField::Features(_)))),
                Bolt11SemanticError::InvalidFeatures,
            ),
            (
                "no payment hash nor secret (Primal)",
                without(|f| {
                    matches!(
                        f,
                        RawTaggedField::KnownSemantics(
                            TaggedField::PaymentSecret(_) | TaggedField::PaymentHash(_)
                        )
                    )
                }),
                Bolt11SemanticError::NoPaymentHash,
            ),
        ];
        for (name, bolt11, refused) in tolerated {
            let (ours, theirs) = ours_and_theirs(&bolt11);
            assert_eq!(theirs, Err(refused), "{name}: lightning-invoice");
            assert_eq!(ours, Ok(()), "{name}: ours");
        }
    }

    // Rule 5: the invoice amount.

    #[test]
    fn rule_5_invoice_amount_must_match_the_request() {
        let fx = Fixture::new();
        let request = fx.request(&fx.target());
        let invoice = fx.invoice(&request.as_json(), Some(AMOUNT_MSAT - 1_000));
        let receipt = fx.receipt(&request, &invoice);
        let rejection = fx.check(&receipt).expect_err("rejected");
        assert_eq!(
            rejection,
            Rejection::AmountMismatch {
                invoice_msat: AMOUNT_MSAT - 1_000,
                request_msat: AMOUNT_MSAT,
            }
        );
        assert_eq!(
            (rejection.rule(), rejection.reason()),
            (5, "amount_mismatch")
        );
    }

    #[test]
    fn rule_5_invoice_must_have_an_amount() {
        let fx = Fixture::new();
        for target in [fx.target(), fx.target().without_amount_tag()] {
            let request = fx.request(&target);
            let invoice = fx.invoice(&request.as_json(), None);
            let receipt = fx.receipt(&request, &invoice);
            let rejection = fx.check(&receipt).expect_err("rejected");
            assert_eq!(rejection, Rejection::InvoiceWithoutAmount);
            assert_eq!(rejection.rule(), 5);
        }
    }

    #[test]
    fn rule_5_request_amount_must_be_a_number() {
        let fx = Fixture::new();
        let request = EventBuilder::new(Kind::ZapRequest, "")
            .tags([tag(&["p", &fx.bot.to_hex()]), tag(&["amount", "21k"])])
            .sign_with_keys(&fx.sender)
            .expect("request");
        let invoice = fx.invoice(&request.as_json(), Some(AMOUNT_MSAT));
        let receipt = fx.receipt(&request, &invoice);
        assert_eq!(
            fx.check(&receipt),
            Err(Rejection::RequestAmountUnparsable {
                value: "21k".into()
            })
        );
    }

    // Rule 6: the receipt's e / a tags are the request's.

    #[test]
    fn rule_7_preimage_that_does_not_hash_to_the_payment_hash_counts_with_an_anomaly() {
        let fx = Fixture::new();
        let (request, invoice, honest) = fx.paid(&fx.target());
        // The honest receipt carries the preimage; one without any preimage is no anomaly.
        assert_counts_with(&fx, &honest, &[]);
        let without = fx
            .provider
            .receipt(&request, &invoice.bolt11, None, CREATED_AT)
            .expect("receipt");
        assert_counts_with(&fx, &without, &[]);

        let payment_hash = hex::encode(invoice.payment_hash);
        // Coinos puts its internal payment id, a UUID, in the preimage tag of internal zaps.
        for wrong in [
            "3f2b8c4e-9a1d-4e7b-8c2a-5d6e7f8a9b0c".to_owned(),
            hex::encode([7u8; 32]),
            "not hex".to_owned(),
            "abcd".to_owned(),
        ] {
            let mut tags = fx.core_tags(&request.as_json(), &invoice.bolt11);
            tags.push(tag(&["e", &proposal().to_hex()]));
            tags.push(tag(&["preimage", &wrong]));
            let zap = assert_counts_with(&fx, &fx.provider_signs(tags), &[Check::Preimage]);
            assert_eq!(
                zap.anomaly_details(),
                [Anomaly::PreimageMismatch {
                    preimage: wrong.clone(),
                    payment_hash: Some(payment_hash.clone()),
                }]
            );
            assert_eq!(zap.payment_hash(), Some(payment_hash.as_str()));
        }

        let mut tags = fx.core_tags(&request.as_json(), &invoice.bolt11);
        tags.push(tag(&["e", &proposal().to_hex()]));
        tags.push(tag(&["preimage", &hex::encode(invoice.preimage)]));
        tags.push(tag(&["preimage", &hex::encode(invoice.preimage)]));
        let zap = assert_counts_with(&fx, &fx.provider_signs(tags), &[Check::Preimage]);
        assert_eq!(
            zap.anomaly_details(),
            [Anomaly::PreimageNotUnique { count: 2 }]
        );
    }

    #[test]
    fn anomalies_are_written_and_read_back_by_name() {
        let all: Anomalies = Check::ALL.into_iter().collect();
        assert_eq!(all.to_string(), "description_hash,payment_hash,preimage");
        assert_eq!(Anomalies::parse(&all.to_string()), Ok(all));
        assert_eq!(Anomalies::parse(""), Ok(Anomalies::NONE));
        let one = Anomalies::NONE.with(Check::Preimage);
        assert_eq!(one.to_string(), "preimage");
        assert_eq!(Anomalies::parse("preimage"), Ok(one));
        assert!(Anomalies::parse("preimage,bogus").is_err());
        for check in Check::ALL {
            assert_eq!(Check::from_name(check.name()), Some(check));
            assert!(!Anomalies::NONE.contains(check));
            assert!(all.contains(check));
        }
    }

    #[test]
    fn rule_8_a_receipt_cannot_be_paid_before_it_was_invoiced() {
        let fx = Fixture::new();
        let request = fx.request(&fx.target());
        let invoiced_at = CREATED_AT.as_secs();
        let invoice = fx
            .provider
            .sign_invoice(
                &request.as_json(),
                Some(AMOUNT_MSAT),
                Timestamp::from_secs(invoiced_at),
            )
            .expect("invoice");
        let receipt_at = |secs: u64| {
            fx.provider
                .receipt(
                    &request,
                    &invoice.bolt11,
                    Some(&invoice.preimage),
                    Timestamp::from_secs(secs),
                )
                .expect("receipt")
        };
        // Paid at the invoice's second, or within the clock margin before it: counts.
        assert!(fx.check(&receipt_at(invoiced_at)).is_ok());
        assert!(fx
            .check(&receipt_at(invoiced_at - INVOICE_CLOCK_MARGIN_SECS))
            .is_ok());
        // One second more is a backdated receipt.
        let backdated = invoiced_at - INVOICE_CLOCK_MARGIN_SECS - 1;
        let rejection = fx.check(&receipt_at(backdated)).expect_err("backdated");
        assert_eq!(
            rejection,
            Rejection::PaidBeforeInvoiced {
                receipt_at: backdated,
                invoice_at: invoiced_at,
            }
        );
        assert_eq!(
            (rejection.rule(), rejection.reason()),
            (8, "paid_before_invoiced")
        );
        // A day-old backdating, the attack the rule is for.
        let rejection = fx
            .check(&receipt_at(invoiced_at - 86_400))
            .expect_err("backdated a day");
        assert_eq!(rejection.rule(), 8);
    }

    #[test]
    fn rule_6_receipt_event_must_be_the_requests() {
        let fx = Fixture::new();
        let (request, invoice, _) = fx.paid(&fx.target());
        let other = EventId::from_byte_array([9u8; 32]);
        let mut tags = fx.core_tags(&request.as_json(), &invoice.bolt11);
        tags.push(tag(&["e", &other.to_hex()]));
        let rejection = fx.check(&fx.provider_signs(tags)).expect_err("rejected");
        assert_eq!(
            rejection,
            Rejection::TargetMismatch {
                tag: "e",
                receipt: other.to_hex(),
                request: Some(proposal().to_hex()),
            }
        );
        assert_eq!(
            (rejection.rule(), rejection.reason()),
            (6, "target_mismatch")
        );
    }

    #[test]
    fn rule_6_receipt_address_must_be_in_the_request() {
        let fx = Fixture::new();
        let (request, invoice, _) = fx.paid(&fx.target());
        let address = format!("30078:{}:action:x:1:review-period", fx.bot.to_hex());
        let mut tags = fx.core_tags(&request.as_json(), &invoice.bolt11);
        tags.push(tag(&["a", &address]));
        assert_eq!(
            fx.check(&fx.provider_signs(tags)),
            Err(Rejection::TargetMismatch {
                tag: "a",
                receipt: address,
                request: None,
            })
        );
    }

    #[test]
    fn rule_6_target_must_be_unique_and_well_formed() {
        let fx = Fixture::new();
        let request = EventBuilder::new(Kind::ZapRequest, "")
            .tags([
                tag(&["p", &fx.bot.to_hex()]),
                tag(&["e", &proposal().to_hex()]),
                tag(&["e", &EventId::all_zeros().to_hex()]),
            ])
            .sign_with_keys(&fx.sender)
            .expect("request");
        let invoice = fx.invoice(&request.as_json(), Some(AMOUNT_MSAT));
        assert_eq!(
            fx.check(&fx.receipt(&request, &invoice)),
            Err(Rejection::TargetNotUnique {
                tag: "e",
                side: Side::Request,
                count: 2
            })
        );
        let request = EventBuilder::new(Kind::ZapRequest, "")
            .tags([tag(&["p", &fx.bot.to_hex()]), tag(&["a", "30078:nothex:d"])])
            .sign_with_keys(&fx.sender)
            .expect("request");
        let invoice = fx.invoice(&request.as_json(), Some(AMOUNT_MSAT));
        assert_eq!(
            fx.check(&fx.receipt(&request, &invoice))
                .map_err(|r| r.reason()),
            Err("target_unparsable")
        );
    }

    // Rule 0: not ours to judge, or not yet.

    #[test]
    fn events_that_are_not_ours() {
        let fx = Fixture::new();
        let note = EventBuilder::text_note("hi")
            .sign_with_keys(&fx.sender)
            .expect("note");
        let rejection = fx.check(&note).expect_err("rejected");
        assert_eq!(rejection, Rejection::NotZapReceipt { kind: 1 });
        assert_eq!(rejection.rule(), 0);

        let stranger = Keys::generate().public_key();
        let (_, _, receipt) = fx.paid(&ZapTarget {
            recipient: stranger,
            ..fx.target()
        });
        assert_eq!(
            fx.check(&receipt),
            Err(Rejection::NotOurBot {
                recipient: stranger
            })
        );

        let no_p = fx.provider_signs(vec![tag(&["bolt11", "x"]), tag(&["p"])]);
        assert_eq!(fx.check(&no_p), Err(Rejection::NoRecipient));
    }

    #[test]
    fn pending_zapper_keeps_a_good_receipt_for_later() {
        let fx = Fixture::new();
        let pending = HashMap::from([(fx.bot, Zapper::Pending)]);
        let (request, _, receipt) = fx.paid(&fx.target());
        let rejection = validate(&receipt, &pending).expect_err("pending");
        assert!(rejection.is_pending());
        assert_eq!(rejection, Rejection::ZapperPending { recipient: fx.bot });
        assert_eq!(
            (rejection.rule(), rejection.reason()),
            (0, "zapper_pending")
        );
        // Once the key is known, the same receipt counts.
        assert!(fx.check(&receipt).is_ok());

        // A receipt broken in another way is rejected outright, not kept.
        let invoice = fx.invoice(&request.as_json(), Some(1_000));
        let broken = validate(&fx.receipt(&request, &invoice), &pending).expect_err("broken");
        assert!(!broken.is_pending());
        assert_eq!(broken.rule(), 5);
    }

    #[test]
    fn receipt_with_two_p_tags_to_us() {
        let fx = Fixture::new();
        let (request, invoice, _) = fx.paid(&fx.target());
        let mut tags = fx.core_tags(&request.as_json(), &invoice.bolt11);
        tags.push(tag(&["p", &Keys::generate().public_key().to_hex()]));
        let rejection = fx.check(&fx.provider_signs(tags)).expect_err("rejected");
        assert_eq!(rejection, Rejection::ReceiptRecipientNotUnique { count: 2 });
        assert_eq!(rejection.rule(), 3);
    }

    #[test]
    fn garbage_tags_are_rejected_not_panicked_on() {
        let fx = Fixture::new();
        let bot = fx.bot.to_hex();
        let garbage: Vec<Vec<Tag>> = vec![
            vec![tag(&["p", &bot])],
            vec![tag(&["p", &bot]), tag(&["description"]), tag(&["bolt11"])],
            vec![
                tag(&["p", &bot]),
                tag(&["description", "{\"kind\":\"x\"}"]),
                tag(&["bolt11", "lnbc"]),
            ],
            vec![
                tag(&["p", &bot]),
                tag(&["description", "\u{0}\u{ffff}"]),
                tag(&["bolt11", "\u{1f600}"]),
            ],
            vec![tag(&["p", "zz"]), tag(&["p", "also not hex"])],
            vec![tag(&["p", &bot[..63]])],
            vec![
                tag(&["p", &bot, "extra", "values"]),
                tag(&["e"]),
                tag(&["a"]),
            ],
        ];
        for tags in garbage {
            let receipt = fx.provider_signs(tags.clone());
            let rejection = fx.check(&receipt).expect_err("garbage rejected");
            assert!(
                REASONS.contains(&rejection.reason()),
                "{tags:?}: {rejection}"
            );
            assert!(!rejection.to_string().is_empty());
        }
    }

    #[test]
    fn batch_matches_one_by_one_and_keeps_order() {
        let fx = Fixture::new();
        let mut receipts = Vec::new();
        for i in 0..80u64 {
            let (request, invoice, receipt) = fx.paid(&fx.target().content(format!("vote {i}")));
            receipts.push(receipt);
            if i % 3 == 0 {
                let wrong = fx.invoice(&request.as_json(), Some(i + 1));
                receipts.push(fx.receipt(&request, &wrong));
            } else if i % 3 == 1 {
                let mut edited = fx.receipt(&request, &invoice);
                edited.content = "x".into();
                receipts.push(edited);
            }
        }
        let one_by_one: Vec<_> = receipts.iter().map(|r| fx.check(r)).collect();
        let batch = validate_batch(&receipts, &fx.recipients);
        assert_eq!(batch, one_by_one);
        let refs: Vec<&Event> = receipts.iter().collect();
        assert_eq!(validate_batch(&refs[..5], &fx.recipients), one_by_one[..5]);
        assert!(validate_batch::<Event, _>(&[], &fx.recipients).is_empty());
        assert_eq!(batch.iter().filter(|r| r.is_ok()).count(), 80);
    }

    #[test]
    fn reasons_are_distinct_and_listed() {
        let key = Keys::generate().public_key();
        let text = String::new;
        let every: Vec<Rejection> = vec![
            Rejection::NotZapReceipt { kind: 1 },
            Rejection::NoRecipient,
            Rejection::NotOurBot { recipient: key },
            Rejection::ZapperPending { recipient: key },
            Rejection::ReceiptIdMismatch,
            Rejection::ReceiptBadSignature,
            Rejection::WrongZapper {
                expected: key,
                author: key,
            },
            Rejection::ReceiptRecipientNotUnique { count: 2 },
            Rejection::MissingDescription,
            Rejection::DescriptionNotUnique { count: 2 },
            Rejection::ZapRequestUnparsable { error: text() },
            Rejection::ZapRequestWrongKind { kind: 1 },
            Rejection::ZapRequestRecipientCount { count: 0 },
            Rejection::ZapRequestRecipientMismatch {
                request: text(),
                receipt: key,
            },
            Rejection::ZapRequestIdMismatch,
            Rejection::ZapRequestBadSignature,
            Rejection::MissingBolt11,
            Rejection::Bolt11NotUnique { count: 2 },
            Rejection::Bolt11Unparsable { error: text() },
            Rejection::Bolt11Invalid { error: text() },
            Rejection::InvoiceWithoutAmount,
            Rejection::RequestAmountUnparsable { value: text() },
            Rejection::AmountMismatch {
                invoice_msat: 1,
                request_msat: 2,
            },
            Rejection::TargetNotUnique {
                tag: "e",
                side: Side::Receipt,
                count: 2,
            },
            Rejection::TargetUnparsable {
                tag: "a",
                side: Side::Request,
                value: text(),
            },
            Rejection::TargetMismatch {
                tag: "e",
                receipt: text(),
                request: None,
            },
            Rejection::PaidBeforeInvoiced {
                receipt_at: 1,
                invoice_at: 2,
            },
        ];
        let reasons: Vec<&str> = every.iter().map(Rejection::reason).collect();
        assert_eq!(reasons, REASONS);
        let mut unique = reasons.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), REASONS.len());
        for rejection in &every {
            assert!(rejection.rule() <= 8);
            // Rule 7 is a check only: nothing rejects for it.
            assert_ne!(rejection.rule(), 7);
            assert_eq!(
                rejection.rule() == 0,
                reasons_of_rule_0().contains(&rejection.reason())
            );
            let snake = rejection
                .reason()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            assert!(snake, "{}", rejection.reason());
        }
    }

    fn reasons_of_rule_0() -> [&'static str; 4] {
        [
            "not_zap_receipt",
            "no_recipient",
            "not_our_bot",
            "zapper_pending",
        ]
    }

    /// One honest receipt, shared by the property tests.
    fn shared() -> &'static (Fixture, Event) {
        static SHARED: OnceLock<(Fixture, Event)> = OnceLock::new();
        SHARED.get_or_init(|| {
            let fx = Fixture::new();
            let (_, _, receipt) = fx.paid(&fx.target());
            (fx, receipt)
        })
    }

    fn any_value() -> impl Strategy<Value = String> {
        let (fx, receipt) = shared();
        let real: Vec<String> = receipt
            .tags
            .iter()
            .filter_map(|t| t.as_slice().get(1).cloned())
            .chain([fx.bot.to_hex(), "21000000".into()])
            .collect();
        prop_oneof![
            any::<String>(),
            "[0-9a-f]{0,70}",
            prop::sample::select(real),
        ]
    }

    proptest! {
        #[test]
        fn event_id_is_nostrs(
            content in any::<String>(),
            kind in any::<u16>(),
            created_at in any::<u64>(),
            tags in prop::collection::vec(prop::collection::vec(any::<String>(), 1..4), 0..5),
        ) {
            let (_, receipt) = shared();
            let tags: Vec<Tag> = tags.into_iter().filter_map(|t| Tag::parse(t).ok()).collect();
            let event = Event::new(
                EventId::all_zeros(),
                receipt.pubkey,
                Timestamp::from_secs(created_at),
                Kind::from(kind),
                tags,
                content,
                receipt.sig,
            );
            let nostr = EventId::new(&event.pubkey, &event.created_at, &event.kind, &event.tags, &event.content);
            prop_assert_eq!(compute_event_id(&event), Some(nostr));
        }

        #[test]
        fn any_edit_of_an_honest_receipt_is_rejected(
            index in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            replacement in any::<char>(),
        ) {
            let (fx, receipt) = shared();
            let mut parts: Vec<Vec<String>> = receipt.tags.iter().map(|t| t.as_slice().to_vec()).collect();
            let part = index.get_mut(&mut parts);
            let value = &mut part[1];
            let chars: Vec<char> = value.chars().collect();
            let position = at.index(chars.len().max(1));
            let mut edited: String = chars.iter().take(position).collect();
            edited.push(replacement);
            edited.extend(chars.iter().skip(position + 1));
            prop_assume!(edited != *value);
            *value = edited;
            let mut forged = receipt.clone();
            forged.tags = Tags::from_list(parts.into_iter().filter_map(|t| Tag::parse(t).ok()).collect());
            prop_assert!(fx.check(&forged).is_err());
        }

        #[test]
        fn tag_soup_never_panics(
            tags in prop::collection::vec(
                (prop::sample::select(vec!["p", "e", "a", "bolt11", "description", "amount", "P", "x"]),
                 prop::collection::vec(any_value(), 0..3)),
                0..8,
            ),
        ) {
            let (fx, _) = shared();
            let tags: Vec<Tag> = tags
                .into_iter()
                .filter_map(|(name, values)| Tag::parse(std::iter::once(name.to_owned()).chain(values)).ok())
                .collect();
            let event = fx.provider_signs(tags);
            let _ = fx.check(&event);
        }
    }
}
