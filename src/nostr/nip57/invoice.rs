//! The BOLT11 invoice of a receipt: its fields and node signature held to BOLT11 as
//! `Bolt11Invoice::from_signed` would (rule 4), and the description and preimage checks
//! (rules 4 and 7).

use super::*;

/// Rule 4's check: the invoice's description hash is SHA-256 of the `description` tag's exact
/// text or, failing that, of the zap request serialized compactly in NIP-01 key order (providers
/// that hash the request as received and then store a re-serialized copy are common).
pub(super) fn description_hash_anomaly(
    signed: &SignedRawBolt11Invoice,
    description: &str,
    request: &Event,
) -> Option<Anomaly> {
    let Some(committed) = signed.description_hash() else {
        return Some(Anomaly::NoDescriptionHash);
    };
    let committed = committed.0;
    let as_written = sha256::Hash::hash(description.as_bytes());
    if committed == as_written {
        return None;
    }
    let nip01_order = nip01_order_hash(request);
    if nip01_order == Some(committed) {
        return None;
    }
    Some(Anomaly::DescriptionHashMismatch {
        invoice: hex::encode(committed.to_byte_array()),
        description: hex::encode(as_written.to_byte_array()),
        nip01_order: nip01_order
            .map(|hash| hex::encode(hash.to_byte_array()))
            .unwrap_or_default(),
    })
}

/// SHA-256 of `event` as compact JSON with its keys in NIP-01 order (`id`, `pubkey`,
/// `created_at`, `kind`, `tags`, `content`, `sig`). `None` only if serialisation fails, which
/// the types here cannot make happen.
pub(super) fn nip01_order_hash(event: &Event) -> Option<sha256::Hash> {
    /// The event's fields in NIP-01 order: serde writes a struct's fields in declaration order.
    #[derive(serde::Serialize)]
    struct Nip01Order<'a> {
        id: &'a EventId,
        pubkey: &'a PublicKey,
        created_at: &'a Timestamp,
        kind: &'a Kind,
        tags: &'a nostr_sdk::Tags,
        content: &'a str,
        sig: &'a nostr_sdk::secp256k1::schnorr::Signature,
    }
    let json = serde_json::to_vec(&Nip01Order {
        id: &event.id,
        pubkey: &event.pubkey,
        created_at: &event.created_at,
        kind: &event.kind,
        tags: &event.tags,
        content: &event.content,
        sig: &event.sig,
    })
    .ok()?;
    Some(sha256::Hash::hash(&json))
}

/// Rule 7's check: `preimage` (hex) must be 32 bytes whose SHA-256 is the invoice's payment
/// hash (an invoice without one has nothing it could be the preimage of).
pub(super) fn preimage_anomaly(
    preimage: &str,
    payment_hash: Option<&sha256::Hash>,
) -> Option<Anomaly> {
    let mut bytes = [0u8; 32];
    let matches = hex::decode_to_slice(preimage, &mut bytes).is_ok()
        && payment_hash.is_some_and(|hash| sha256::Hash::hash(&bytes) == *hash);
    (!matches).then(|| Anomaly::PreimageMismatch {
        preimage: preimage.chars().take(80).collect(),
        payment_hash: payment_hash.map(|hash| hex::encode(hash.to_byte_array())),
    })
}

/// Rule 4: of the BOLT11 requirements `Bolt11Invoice::from_signed` checks (the signature is
/// [`bolt11_signature`]), those about what a receipt attests: at most one payment hash, at most
/// one description or description hash (either makes the payment or its commitment ambiguous),
/// and a whole number of millisatoshis (rule 5 reads the amount in msat). Gives the payment hash,
/// when there is one.
///
/// Not required, unlike `from_signed`: a payment hash and a description or description hash
/// (their absence is an anomaly, see the module doc), and the payment secret and feature bits,
/// which say how to pay an invoice, not what was paid. Real providers strip them: Primal's
/// invoices without a payment hash have no payment secret either.
pub(super) fn bolt11_fields(
    signed: &SignedRawBolt11Invoice,
) -> Result<Option<sha256::Hash>, Bolt11SemanticError> {
    let mut payment_hash = None;
    let (mut payment_hashes, mut descriptions) = (0usize, 0usize);
    for field in signed.raw_invoice().known_tagged_fields() {
        match field {
            TaggedField::PaymentHash(hash) => {
                payment_hashes += 1;
                payment_hash = payment_hash.or(Some(hash.0));
            }
            TaggedField::Description(_) | TaggedField::DescriptionHash(_) => descriptions += 1,
            _ => {}
        }
    }
    if payment_hashes > 1 {
        return Err(Bolt11SemanticError::MultiplePaymentHashes);
    }
    if descriptions > 1 {
        return Err(Bolt11SemanticError::MultipleDescriptions);
    }
    if signed.amount_pico_btc().is_some_and(|pico| pico % 10 != 0) {
        return Err(Bolt11SemanticError::ImpreciseAmount);
    }
    Ok(payment_hash)
}

/// Rule 4: the node signature, as `Bolt11Invoice::from_signed` checks it, on the global context.
/// The signature must recover a key; when the invoice names its payee (`n`), it must verify for
/// that key; otherwise it must verify for the key it recovers to, which holds exactly when its
/// `s` is in the lower half (libsecp256k1 verifies only low-s signatures).
pub(super) fn bolt11_signature(signed: &SignedRawBolt11Invoice) -> Result<(), Bolt11SemanticError> {
    let message = Message::from_digest(*signed.signable_hash());
    let recoverable = &signed.signature().0;
    SECP256K1
        .recover_ecdsa(&message, recoverable)
        .map_err(|e| match e {
            secp256k1::Error::InvalidRecoveryId => Bolt11SemanticError::InvalidRecoveryId,
            _ => Bolt11SemanticError::InvalidSignature,
        })?;
    let standard = recoverable.to_standard();
    match signed.payee_pub_key() {
        Some(payee) => SECP256K1
            .verify_ecdsa(&message, &standard, &payee.0)
            .map_err(|_| Bolt11SemanticError::InvalidSignature),
        None => {
            let mut low_s = standard;
            low_s.normalize_s();
            if low_s == standard {
                Ok(())
            } else {
                Err(Bolt11SemanticError::InvalidSignature)
            }
        }
    }
}
