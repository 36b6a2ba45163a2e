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
//! `valid_zap`, `rejection`; `invoice` reads the BOLT11 invoice, `tags` the tags and ids.

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

#[cfg(test)]
mod tests;

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
