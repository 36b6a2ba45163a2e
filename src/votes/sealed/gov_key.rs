//! The gov bot's ballot key for a proposal (DESIGN.md "Sealed ballots", *Ballot keys*): fresh
//! per proposal, the same after a restart and on every server sharing the database, and never
//! stored. It is derived: HKDF-SHA256 (RFC 5869) with the gov bot's secret key as the input
//! keying material, [`GOV_BALLOT_KEY_SALT`] as the salt (domain separation: no other use of the
//! gov key yields these bytes) and the proposal's `d` as the info; the 32 bytes of output are
//! the X25519 private key.
//!
//! Keyed by `d` rather than the event id because the key is pinned *in* the proposal event, so
//! it must be known before the event id is.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroize;

use crate::nostr::ballot_keys::{BallotSecret, BALLOT_KEY_BYTES};

/// HKDF salt of the gov bot's ballot keys. Changing it changes every derived key.
pub const GOV_BALLOT_KEY_SALT: &[u8] = b"commons-nostr gov ballot key v1";

/// The gov bot's ballot secret for the proposal whose `d` tag is `proposal_d`.
pub fn derive_gov_ballot_secret(
    gov_secret: &nostr_sdk::SecretKey,
    proposal_d: &str,
) -> BallotSecret {
    let mut ikm = gov_secret.secret_bytes();
    let hkdf = Hkdf::<Sha256>::new(Some(GOV_BALLOT_KEY_SALT), &ikm);
    ikm.zeroize();
    let mut okm = [0u8; BALLOT_KEY_BYTES];
    // 32 bytes is far below HKDF-SHA256's limit of 255 * 32: the error cannot happen.
    if hkdf.expand(proposal_d.as_bytes(), &mut okm).is_err() {
        unreachable!("HKDF-SHA256 gives 32 bytes");
    }
    let secret = BallotSecret::from_bytes(okm);
    okm.zeroize();
    secret
}

#[cfg(test)]
mod tests {
    use nostr_sdk::{Keys, SecretKey};

    use super::*;
    use crate::votes::sealed::{is_valid_secret, BallotKey};

    #[test]
    fn same_gov_key_and_d_give_the_same_key_and_others_do_not() {
        let gov = Keys::generate();
        let d = "action:owner/repo:7:review-period";
        let a = derive_gov_ballot_secret(gov.secret_key(), d);
        let b = derive_gov_ballot_secret(gov.secret_key(), d);
        assert_eq!(a.reveal_hex(), b.reveal_hex());
        let key = BallotKey::from_secret(&a);
        assert!(is_valid_secret(&b, &key));
        let other_d =
            derive_gov_ballot_secret(gov.secret_key(), "action:owner/repo:8:review-period");
        assert_ne!(BallotKey::from_secret(&other_d), key);
        let other_gov = derive_gov_ballot_secret(Keys::generate().secret_key(), d);
        assert_ne!(BallotKey::from_secret(&other_gov), key);
    }

    #[test]
    fn the_derivation_is_hkdf_sha256_with_the_fixed_salt() {
        // A known answer, computed outside Rust from RFC 5869's definition (one HMAC-SHA256 for
        // Extract with the salt, one for Expand with info || 0x01): a change to the derivation
        // would orphan every sealed ballot of every open proposal, so it cannot pass unnoticed.
        let gov = SecretKey::from_slice(&[1u8; 32]).expect("a valid key");
        let secret = derive_gov_ballot_secret(&gov, "action:owner/repo:1:review-period");
        assert_eq!(
            secret.reveal_hex(),
            "e76737b47b0eb7cec15a4f35efd5fe9e1c7e43f46a0f4d8ff18ceef40d926c39"
        );
    }
}
