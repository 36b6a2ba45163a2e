//! The X25519 relation between a [`BallotSecret`] and its [`BallotKey`]: `key = X25519(secret,
//! 9)`. A published ballot secret is valid only when it gives the pinned key
//! ([`is_valid_secret`]); the service, `verify` and the holders all check it so.

use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, Serializable};

use crate::nostr::ballot_keys::{BallotKey, BallotSecret, BALLOT_KEY_BYTES};

/// The HPKE KEM of sealed ballots (DHKEM(X25519, HKDF-SHA256)).
pub(crate) type BallotKem = X25519HkdfSha256;

/// The secret as the KEM's private key type.
pub(crate) fn kem_private_key(secret: &BallotSecret) -> <BallotKem as Kem>::PrivateKey {
    // Every 32 bytes are an X25519 private key, so this cannot fail; the match keeps `src/`
    // free of `expect`.
    match <BallotKem as Kem>::PrivateKey::from_bytes(secret.expose_bytes()) {
        Ok(key) => key,
        Err(_) => unreachable!("32 bytes are always an X25519 private key"),
    }
}

impl BallotKey {
    /// The public key of `secret`: X25519(secret, 9).
    pub fn from_secret(secret: &BallotSecret) -> BallotKey {
        let public = <BallotKem as Kem>::sk_to_pk(&kem_private_key(secret));
        let mut bytes = [0u8; BALLOT_KEY_BYTES];
        bytes.copy_from_slice(&public.to_bytes());
        BallotKey::from_bytes(bytes)
    }
}

/// Whether `secret` is the private key of `key` (DESIGN.md: "A secret is valid when
/// X25519(secret, 9) equals the pinned key").
pub fn is_valid_secret(secret: &BallotSecret, key: &BallotKey) -> bool {
    BallotKey::from_secret(secret) == *key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_of_a_secret_is_x25519_of_the_base_point() {
        // RFC 7748 section 6.1: Alice's private key and public key.
        let secret = BallotSecret::from_hex(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        )
        .expect("hex");
        let key =
            BallotKey::from_hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
                .expect("hex");
        assert_eq!(BallotKey::from_secret(&secret), key);
        assert!(is_valid_secret(&secret, &key));
        let other = BallotSecret::from_bytes([7; 32]);
        assert!(!is_valid_secret(&other, &key));
    }
}
