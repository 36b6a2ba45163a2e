//! Sealed ballots' keys as they cross the wire (DESIGN.md "Sealed ballots"): a holder's X25519
//! public key ([`BallotKey`], pinned in a proposal's `rules.sealed` and its `ballot_key` tags),
//! its private key ([`BallotSecret`], published in the "ballot secret" event at the close,
//! [`crate::nostr::ballot_secret`]), and the proposal's `rules.sealed` ([`SealedRules`]):
//!
//! ```json
//! {"scheme": "hpke-x25519-sha256-aes128gcm",
//!  "holders": [{"holder": "<nostr pubkey hex>", "key": "<X25519 public key hex>"}, ...]}
//! ```
//!
//! The gov bot is the first holder; independent holders (`governance.ballot_holders`) follow in
//! settings order. The proposal event carries one `ballot_key` tag per holder (key, holder) and a
//! `p` tag per independent holder, so a holder finds the proposals that pin its keys with `#p`
//! ([`SealedRules::tags`]).
//!
//! The types are declared here, with the events that carry them, because the wire layer may not
//! read the vote rules; what they mean (the X25519 relation between them, the tokens sealed to
//! them) is [`crate::votes::sealed`]'s, which adds `BallotKey::from_secret` and the rest.

use std::fmt;
use std::str::FromStr;

use nostr_sdk::{PublicKey, Tag};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

use super::events::{single_tag, tag};

/// `rules.sealed.scheme`: RFC 9180 HPKE base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
/// AES-128-GCM, one layer per holder.
pub const SEALED_SCHEME: &str = "hpke-x25519-sha256-aes128gcm";

/// A proposal's `rules.sealed`: who holds its ballot keys, in the order the layers are sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedRules {
    pub scheme: String,
    pub holders: Vec<BallotHolder>,
}

/// One holder of a proposal's ballot keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BallotHolder {
    /// The holder's Nostr key (hex): who publishes the secret at the close.
    pub holder: PublicKey,
    /// Its X25519 public key for this proposal (hex).
    pub key: BallotKey,
}

impl SealedRules {
    /// The rules for `holders` (the gov bot first) under [`SEALED_SCHEME`].
    pub fn new(holders: Vec<BallotHolder>) -> SealedRules {
        SealedRules {
            scheme: SEALED_SCHEME.to_owned(),
            holders,
        }
    }

    /// The keys in holder order: what a token is sealed to, layer by layer.
    pub fn keys(&self) -> Vec<BallotKey> {
        self.holders.iter().map(|h| h.key).collect()
    }

    /// The proposal event's tags for these rules: `["ballot_key", key, holder]` per holder, and
    /// `["p", holder]` per independent holder (every one after the first, the gov bot, which
    /// signs the proposal and needs no `p` to find it).
    pub fn tags(&self) -> Vec<Tag> {
        let keys = self.holders.iter().map(|h| {
            Tag::custom(
                nostr_sdk::TagKind::custom(tag::BALLOT_KEY),
                [h.key.to_hex(), h.holder.to_hex()],
            )
        });
        let independent = self
            .holders
            .iter()
            .skip(1)
            .map(|h| Tag::public_key(h.holder));
        keys.chain(independent).collect()
    }
}

/// `["ballot_key", "<key hex>"]`: the key a ballot secret event reveals.
pub(crate) fn ballot_key_tag(key: &BallotKey) -> Tag {
    single_tag(tag::BALLOT_KEY, key.to_hex())
}

/// Bytes in an X25519 key, public or private.
pub const BALLOT_KEY_BYTES: usize = 32;

/// Why a hex key did not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a ballot key is 64 hex characters (32 bytes)")]
pub struct BadBallotKey;

fn key_bytes(hex_text: &str) -> Result<[u8; BALLOT_KEY_BYTES], BadBallotKey> {
    let mut bytes = [0u8; BALLOT_KEY_BYTES];
    hex::decode_to_slice(hex_text.trim(), &mut bytes).map_err(|_| BadBallotKey)?;
    Ok(bytes)
}

/// A ballot key: a holder's X25519 public key for one proposal. Written as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BallotKey([u8; BALLOT_KEY_BYTES]);

impl BallotKey {
    /// The key with these bytes (any 32 bytes are an X25519 public key).
    pub fn from_bytes(bytes: [u8; BALLOT_KEY_BYTES]) -> BallotKey {
        BallotKey(bytes)
    }

    /// Reads 64 hex characters.
    pub fn from_hex(hex_text: &str) -> Result<BallotKey, BadBallotKey> {
        key_bytes(hex_text).map(BallotKey)
    }

    pub fn as_bytes(&self) -> &[u8; BALLOT_KEY_BYTES] {
        &self.0
    }

    /// Lowercase hex, as the wire writes it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for BallotKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for BallotKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BallotKey({})", self.to_hex())
    }
}

impl FromStr for BallotKey {
    type Err = BadBallotKey;
    fn from_str(s: &str) -> Result<BallotKey, BadBallotKey> {
        BallotKey::from_hex(s)
    }
}

impl Serialize for BallotKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for BallotKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<BallotKey, D::Error> {
        let text = String::deserialize(deserializer)?;
        BallotKey::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// A ballot key's private key (X25519 scalar, 32 bytes). Secret until its proposal's close:
/// wiped from memory when dropped; no `Display`, no serde, and a `Debug` that prints nothing
/// of it. Hex goes in and out only through [`BallotSecret::from_hex`] and
/// [`BallotSecret::reveal_hex`], which the reveal (the ballot secret event) alone should call.
#[derive(Clone)]
pub struct BallotSecret([u8; BALLOT_KEY_BYTES]);

impl BallotSecret {
    /// The secret with these bytes (any 32 bytes are an X25519 private key: X25519 clamps them).
    pub fn from_bytes(bytes: [u8; BALLOT_KEY_BYTES]) -> BallotSecret {
        BallotSecret(bytes)
    }

    /// Reads 64 hex characters (a published ballot secret's `secret` tag).
    pub fn from_hex(hex_text: &str) -> Result<BallotSecret, BadBallotKey> {
        key_bytes(hex_text).map(BallotSecret)
    }

    /// A new random secret.
    pub fn generate<R: rand::RngCore + rand::CryptoRng>(rng: &mut R) -> BallotSecret {
        let mut bytes = [0u8; BALLOT_KEY_BYTES];
        rng.fill_bytes(&mut bytes);
        BallotSecret(bytes)
    }

    /// The secret as lowercase hex: what the ballot secret event publishes at the close. Never
    /// log it, never store it.
    pub fn reveal_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The secret's bytes, for the X25519 and HPKE code of [`crate::votes::sealed`].
    pub fn expose_bytes(&self) -> &[u8; BALLOT_KEY_BYTES] {
        &self.0
    }
}

impl Drop for BallotSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for BallotSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BallotSecret(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use nostr_sdk::Keys;

    use super::*;

    #[test]
    fn sealed_rules_are_the_published_json_and_tag_each_holder() {
        let gov = Keys::generate().public_key();
        let auditor = Keys::generate().public_key();
        let rules = SealedRules::new(vec![
            BallotHolder {
                holder: gov,
                key: BallotKey::from_bytes([1; 32]),
            },
            BallotHolder {
                holder: auditor,
                key: BallotKey::from_bytes([2; 32]),
            },
        ]);
        let json = serde_json::to_value(&rules).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({
                "scheme": "hpke-x25519-sha256-aes128gcm",
                "holders": [
                    {"holder": gov.to_hex(), "key": "01".repeat(32)},
                    {"holder": auditor.to_hex(), "key": "02".repeat(32)},
                ]
            })
        );
        assert_eq!(
            serde_json::from_value::<SealedRules>(json).ok(),
            Some(rules.clone())
        );
        let tags: Vec<Vec<String>> = rules.tags().iter().map(|t| t.as_slice().to_vec()).collect();
        assert_eq!(
            tags,
            vec![
                vec!["ballot_key".to_owned(), "01".repeat(32), gov.to_hex()],
                vec!["ballot_key".to_owned(), "02".repeat(32), auditor.to_hex()],
                vec!["p".to_owned(), auditor.to_hex()],
            ]
        );
        assert_eq!(
            rules.keys(),
            vec![
                BallotKey::from_bytes([1; 32]),
                BallotKey::from_bytes([2; 32])
            ]
        );
    }

    #[test]
    fn keys_are_lowercase_hex_on_the_wire() {
        let key = BallotKey::from_bytes([0xAB; 32]);
        let json = serde_json::to_string(&key).expect("serialises");
        assert_eq!(json, format!("\"{}\"", "ab".repeat(32)));
        assert_eq!(serde_json::from_str::<BallotKey>(&json).ok(), Some(key));
        assert_eq!(
            BallotKey::from_hex(&"AB".repeat(32)).ok(),
            Some(key),
            "upper case reads too"
        );
        for bad in ["", "ab", &"ab".repeat(33), &"zz".repeat(32)] {
            assert_eq!(BallotKey::from_hex(bad), Err(BadBallotKey), "{bad:?}");
        }
    }

    #[test]
    fn a_secret_never_shows_in_debug() {
        let secret = BallotSecret::from_hex(&"5a".repeat(32)).expect("hex");
        let shown = format!("{secret:?} {:?}", Some(secret.clone()));
        assert!(!shown.contains("5a5a"), "{shown}");
        assert_eq!(secret.reveal_hex(), "5a".repeat(32));
        assert!(BallotSecret::from_hex("5a").is_err());
    }
}
