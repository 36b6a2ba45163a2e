//! The sealed ballot token (DESIGN.md "Sealed ballots", *Token* and *Opening*).
//!
//! A voter seals type `t` (one byte: `0` support, `1` veto, `2` abstain, the zap poll's option
//! numbers) for proposal `P` as sender `S`: `m_0 = [t]`; for each holder `i = 1..k` in
//! `rules.sealed.holders` order, `(enc_i, ct_i) = HPKE.SealBase(pkR = key_i, info =`
//! [`BALLOT_INFO`]`, aad = P (32 bytes) || S (32 bytes, x-only), pt = m_(i-1))` and `m_i =
//! enc_i || ct_i`. The token is bech32 (BIP-173 checksum, hrp [`BALLOT_HRP`], no length limit) of
//! [`BALLOT_TOKEN_VERSION`]` || m_k`. Each layer adds 32 bytes of `enc` and 16 of AES-GCM tag, so
//! one holder gives 50 bytes, 93 characters, and two 98 bytes, 170 characters, for every type.
//!
//! HPKE is the `hpke` crate's RFC 9180 (suite 0x0020, 0x0001, 0x0001); nothing here is more than
//! byte layout. [`open_ballot`] removes the layers from `k` down to `1` with the holders'
//! secrets and wants exactly one byte `0`, `1` or `2` left; anything else is a [`BallotError`],
//! which the tally counts as abstain (`sealed.invalid`).

use hpke::aead::AesGcm128;
use hpke::kdf::HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use nostr_sdk::{EventId, PublicKey};

use super::ballot_key::{kem_private_key, BallotKem};
use crate::nostr::ballot_keys::{BallotKey, BallotSecret};
use crate::votes::VoteType;

/// HPKE `info` of every layer.
pub const BALLOT_INFO: &[u8] = b"commons-nostr ballot";
/// The bech32 human-readable part: tokens read `ballot1...`.
pub const BALLOT_HRP: &str = "ballot";
/// The token's first byte: this format.
pub const BALLOT_TOKEN_VERSION: u8 = 0x01;

/// Bytes of one layer's `enc` (an X25519 public key).
const ENC_BYTES: usize = 32;
/// Bytes AES-128-GCM adds to each layer (its tag).
const TAG_BYTES: usize = 16;

/// Why a token did not seal or open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BallotError {
    #[error("a ballot needs at least one ballot key")]
    NoKeys,
    #[error("ballot key {holder} is not usable for HPKE")]
    BadKey { holder: usize },
    #[error("no secrets to open the ballot with")]
    NoSecrets,
    #[error("not a bech32 string")]
    NotBech32,
    #[error("not a ballot token (prefix {0:?}, not \"ballot\")")]
    WrongPrefix(String),
    #[error("unknown ballot token version {0}")]
    UnknownVersion(u8),
    #[error("empty ballot token")]
    Empty,
    #[error("layer {holder} is too short to hold a sealed ballot")]
    TooShort { holder: usize },
    #[error("layer {holder} does not open with its holder's secret (another sender, proposal or key, or altered)")]
    DoesNotOpen { holder: usize },
    #[error("the opened ballot is not one byte 0, 1 or 2")]
    NotAType,
}

/// The type's byte in `m_0`.
fn type_byte(vote: VoteType) -> u8 {
    match vote {
        VoteType::Support => 0,
        VoteType::Veto => 1,
        VoteType::Abstain => 2,
    }
}

/// `P's id || S`: what binds a token to one proposal and one sender.
fn aad(proposal: &EventId, sender: &PublicKey) -> [u8; 64] {
    let mut aad = [0u8; 64];
    aad[..32].copy_from_slice(proposal.as_bytes());
    aad[32..].copy_from_slice(&sender.to_bytes());
    aad
}

/// A sealed ballot for `vote` on `proposal` from `sender`, to the proposal's pinned `keys` in
/// `rules.sealed.holders` order: the `ballot1...` token to put in the zap comment. `rng` makes
/// each layer's ephemeral key (any cryptographic RNG, e.g. `rand::rngs::OsRng`).
pub fn seal_ballot<R: rand::RngCore + rand::CryptoRng>(
    vote: VoteType,
    proposal: &EventId,
    sender: &PublicKey,
    keys: &[BallotKey],
    rng: &mut R,
) -> Result<String, BallotError> {
    if keys.is_empty() {
        return Err(BallotError::NoKeys);
    }
    let aad = aad(proposal, sender);
    let mut message = vec![type_byte(vote)];
    let mut hpke_rng = HpkeRng(rng);
    for (index, key) in keys.iter().enumerate() {
        let holder = index + 1;
        let public = <BallotKem as Kem>::PublicKey::from_bytes(key.as_bytes())
            .map_err(|_| BallotError::BadKey { holder })?;
        let (enc, ct) = hpke::single_shot_seal_with_rng::<AesGcm128, HkdfSha256, BallotKem>(
            &OpModeS::Base,
            &public,
            BALLOT_INFO,
            &message,
            &aad,
            &mut hpke_rng,
        )
        .map_err(|_| BallotError::BadKey { holder })?;
        let mut layer = enc.to_bytes().to_vec();
        layer.extend_from_slice(&ct);
        message = layer;
    }
    let mut data = Vec::with_capacity(message.len() + 1);
    data.push(BALLOT_TOKEN_VERSION);
    data.extend_from_slice(&message);
    let hrp = bech32::Hrp::parse_unchecked(BALLOT_HRP);
    // Bech32's code length (1023 characters) is beyond 20 layers: only a caller passing that
    // many keys could reach it.
    bech32::encode::<bech32::Bech32>(hrp, &data).map_err(|_| BallotError::NoKeys)
}

/// Opens `token` (as [`super::find_ballot_token`] found it) for `proposal` and `sender` with the
/// secrets of the proposal's pinned keys, in `rules.sealed.holders` order.
pub fn open_ballot(
    token: &str,
    proposal: &EventId,
    sender: &PublicKey,
    secrets: &[BallotSecret],
) -> Result<VoteType, BallotError> {
    if secrets.is_empty() {
        return Err(BallotError::NoSecrets);
    }
    let checked = bech32::primitives::decode::CheckedHrpstring::new::<bech32::Bech32>(token)
        .map_err(|_| BallotError::NotBech32)?;
    if checked.hrp().to_lowercase() != BALLOT_HRP {
        return Err(BallotError::WrongPrefix(checked.hrp().to_lowercase()));
    }
    let mut bytes = checked.byte_iter();
    let version = bytes.next().ok_or(BallotError::Empty)?;
    if version != BALLOT_TOKEN_VERSION {
        return Err(BallotError::UnknownVersion(version));
    }
    let mut message: Vec<u8> = bytes.collect();
    let aad = aad(proposal, sender);
    for (index, secret) in secrets.iter().enumerate().rev() {
        let holder = index + 1;
        if message.len() < ENC_BYTES + TAG_BYTES {
            return Err(BallotError::TooShort { holder });
        }
        let (enc, ct) = message.split_at(ENC_BYTES);
        let enc = <BallotKem as Kem>::EncappedKey::from_bytes(enc)
            .map_err(|_| BallotError::DoesNotOpen { holder })?;
        message = hpke::single_shot_open::<AesGcm128, HkdfSha256, BallotKem>(
            &OpModeR::Base,
            &kem_private_key(secret),
            &enc,
            BALLOT_INFO,
            ct,
            &aad,
        )
        .map_err(|_| BallotError::DoesNotOpen { holder })?;
    }
    match message.as_slice() {
        [0] => Ok(VoteType::Support),
        [1] => Ok(VoteType::Veto),
        [2] => Ok(VoteType::Abstain),
        _ => Err(BallotError::NotAType),
    }
}

/// The hpke crate wants a `rand_core` 0.10 RNG; the project's is `rand` 0.8's. This passes the
/// caller's RNG through (a plain adapter: every byte comes from the caller's RNG).
pub(crate) struct HpkeRng<'a, R>(pub(crate) &'a mut R);

impl<R: rand::RngCore> hpke::rand_core::TryRng for HpkeRng<'_, R> {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.0.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

impl<R: rand::RngCore + rand::CryptoRng> hpke::rand_core::TryCryptoRng for HpkeRng<'_, R> {}

#[cfg(test)]
mod tests {
    use nostr_sdk::Keys;
    use proptest::prelude::*;

    use super::*;
    use crate::votes::sealed::rfc9180_vectors::ReplayRng;

    const TYPES: [VoteType; 3] = [VoteType::Support, VoteType::Veto, VoteType::Abstain];

    struct Setup {
        proposal: EventId,
        sender: PublicKey,
        secrets: Vec<BallotSecret>,
        keys: Vec<BallotKey>,
    }

    fn setup(holders: usize) -> Setup {
        let mut rng = rand::rngs::OsRng;
        let secrets: Vec<BallotSecret> = (0..holders)
            .map(|_| BallotSecret::generate(&mut rng))
            .collect();
        let keys = secrets.iter().map(BallotKey::from_secret).collect();
        Setup {
            proposal: EventId::from_byte_array([9; 32]),
            sender: Keys::generate().public_key(),
            secrets,
            keys,
        }
    }

    fn seal(s: &Setup, vote: VoteType) -> String {
        seal_ballot(
            vote,
            &s.proposal,
            &s.sender,
            &s.keys,
            &mut rand::rngs::OsRng,
        )
        .expect("seals")
    }

    fn open(s: &Setup, token: &str) -> Result<VoteType, BallotError> {
        open_ballot(token, &s.proposal, &s.sender, &s.secrets)
    }

    /// The token's data bytes (version first), changed by `change`, encoded again with a valid
    /// checksum: what a tampered token that still passes bech32 looks like.
    fn reencoded(token: &str, change: impl FnOnce(&mut Vec<u8>)) -> String {
        let (hrp, mut data) = bech32::decode(token).expect("a token");
        change(&mut data);
        bech32::encode::<bech32::Bech32>(hrp, &data).expect("encodes")
    }

    #[test]
    fn every_type_round_trips_with_one_and_two_holders() {
        for holders in [1, 2, 3] {
            let s = setup(holders);
            for vote in TYPES {
                let token = seal(&s, vote);
                assert!(token.starts_with("ballot1"), "{token}");
                assert_eq!(open(&s, &token), Ok(vote), "{holders} holders, {vote}");
                assert_eq!(open(&s, &token.to_uppercase()), Ok(vote), "upper case");
            }
        }
    }

    #[test]
    fn one_holder_gives_93_characters_two_give_170_whatever_the_type() {
        for (holders, length) in [(1, 93), (2, 170)] {
            let s = setup(holders);
            for vote in TYPES {
                assert_eq!(seal(&s, vote).len(), length, "{holders} holders, {vote}");
            }
        }
    }

    #[test]
    fn two_tokens_for_one_choice_differ() {
        let s = setup(1);
        assert_ne!(seal(&s, VoteType::Veto), seal(&s, VoteType::Veto));
    }

    #[test]
    fn a_token_copied_to_another_sender_or_proposal_does_not_open() {
        let s = setup(2);
        let token = seal(&s, VoteType::Veto);
        let other_sender = Keys::generate().public_key();
        assert_eq!(
            open_ballot(&token, &s.proposal, &other_sender, &s.secrets),
            Err(BallotError::DoesNotOpen { holder: 2 })
        );
        let other_proposal = EventId::from_byte_array([8; 32]);
        assert_eq!(
            open_ballot(&token, &other_proposal, &s.sender, &s.secrets),
            Err(BallotError::DoesNotOpen { holder: 2 })
        );
    }

    #[test]
    fn a_wrong_missing_or_reordered_secret_does_not_open() {
        let s = setup(2);
        let token = seal(&s, VoteType::Support);
        let reversed: Vec<BallotSecret> = s.secrets.iter().rev().cloned().collect();
        assert!(open_ballot(&token, &s.proposal, &s.sender, &reversed).is_err());
        // Only the outer layer's secret: the inner layer is left, not one byte.
        assert_eq!(
            open_ballot(&token, &s.proposal, &s.sender, &s.secrets[1..]),
            Err(BallotError::NotAType)
        );
        assert_eq!(
            open_ballot(&token, &s.proposal, &s.sender, &[]),
            Err(BallotError::NoSecrets)
        );
        // Three secrets for a two-layer token: the third layer is too short.
        let three = setup(3);
        let mut too_many = three.secrets.clone();
        too_many.truncate(1);
        too_many.extend(s.secrets.iter().cloned());
        assert_eq!(
            open_ballot(&token, &s.proposal, &s.sender, &too_many),
            Err(BallotError::TooShort { holder: 1 })
        );
    }

    #[test]
    fn altered_truncated_or_extended_tokens_do_not_open() {
        let s = setup(1);
        let token = seal(&s, VoteType::Abstain);
        for bit in [8, 100, 8 * 49 + 7] {
            let flipped = reencoded(&token, |data| data[bit / 8] ^= 1 << (bit % 8));
            assert!(open(&s, &flipped).is_err(), "bit {bit}");
        }
        let truncated = reencoded(&token, |data| {
            data.pop();
        });
        assert_eq!(
            open(&s, &truncated),
            Err(BallotError::DoesNotOpen { holder: 1 })
        );
        let trailing = reencoded(&token, |data| data.push(0));
        assert_eq!(
            open(&s, &trailing),
            Err(BallotError::DoesNotOpen { holder: 1 })
        );
        let version = reencoded(&token, |data| data[0] = 2);
        assert_eq!(open(&s, &version), Err(BallotError::UnknownVersion(2)));
        // A changed character breaks the checksum.
        let mut chars: Vec<char> = token.chars().collect();
        chars[20] = if chars[20] == 'q' { 'p' } else { 'q' };
        let typo: String = chars.into_iter().collect();
        assert_eq!(open(&s, &typo), Err(BallotError::NotBech32));
        // Cut short, the checksum fails too.
        assert_eq!(open(&s, &token[..80]), Err(BallotError::NotBech32));
        // The same bytes under another prefix, or in bech32m, are no ballot.
        let (_, data) = bech32::decode(&token).expect("decodes");
        let npub = bech32::encode::<bech32::Bech32>(bech32::Hrp::parse_unchecked("npub"), &data)
            .expect("encodes");
        assert!(matches!(open(&s, &npub), Err(BallotError::WrongPrefix(_))));
        let m = bech32::encode::<bech32::Bech32m>(bech32::Hrp::parse_unchecked("ballot"), &data)
            .expect("encodes");
        assert_eq!(open(&s, &m), Err(BallotError::NotBech32));
    }

    #[test]
    fn a_sealed_byte_that_is_no_type_is_an_error() {
        // Seal a byte 3 by hand, through the same HPKE call: it opens but is no type.
        let s = setup(1);
        let public = <BallotKem as Kem>::PublicKey::from_bytes(s.keys[0].as_bytes()).expect("key");
        let aad = aad(&s.proposal, &s.sender);
        for pt in [&[3u8][..], &[0, 0][..], &[][..]] {
            let (enc, ct) = hpke::single_shot_seal_with_rng::<AesGcm128, HkdfSha256, BallotKem>(
                &OpModeS::Base,
                &public,
                BALLOT_INFO,
                pt,
                &aad,
                &mut HpkeRng(&mut rand::rngs::OsRng),
            )
            .expect("seals");
            let mut data = vec![BALLOT_TOKEN_VERSION];
            data.extend_from_slice(&enc.to_bytes());
            data.extend_from_slice(&ct);
            let token =
                bech32::encode::<bech32::Bech32>(bech32::Hrp::parse_unchecked("ballot"), &data)
                    .expect("encodes");
            assert_eq!(open(&s, &token), Err(BallotError::NotAType), "{pt:?}");
        }
    }

    #[test]
    fn sealing_needs_a_key() {
        let s = setup(1);
        assert_eq!(
            seal_ballot(
                VoteType::Veto,
                &s.proposal,
                &s.sender,
                &[],
                &mut rand::rngs::OsRng
            ),
            Err(BallotError::NoKeys)
        );
    }

    /// A known-answer token: a fixed key, proposal, sender and ephemeral key give exactly this
    /// string. Another implementation (the page's WebCrypto code) can check itself against it.
    #[test]
    fn a_fixed_ephemeral_key_gives_a_known_token() {
        let secret = BallotSecret::from_bytes([0x11; 32]);
        let key = BallotKey::from_secret(&secret);
        let proposal = EventId::from_byte_array([0x22; 32]);
        let sender =
            PublicKey::from_hex("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
                .expect("the secp256k1 generator's x");
        let mut rng = ReplayRng::new(vec![0x33; 32]);
        let token =
            seal_ballot(VoteType::Veto, &proposal, &sender, &[key], &mut rng).expect("seals");
        assert_eq!(token, KNOWN_TOKEN);
        assert_eq!(
            open_ballot(KNOWN_TOKEN, &proposal, &sender, &[secret]),
            Ok(VoteType::Veto)
        );
    }

    const KNOWN_TOKEN: &str =
        "ballot1qxsytz9hg6pnxnmwwecdk3wv5y5glskpfxwhsu2aj3t0tkvjvx5z8zmncjxn080cfnx26np6nslscqqy2ctjwq";

    proptest! {
        #[test]
        fn opening_never_panics_on_any_string(text in any::<String>()) {
            let s = setup(1);
            let _ = open(&s, &text);
            let _ = crate::votes::sealed::find_ballot_token(&text);
        }

        #[test]
        fn opening_never_panics_on_bech32_looking_strings(body in "[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{0,200}") {
            let s = setup(2);
            let _ = open(&s, &format!("ballot1{body}"));
        }

        #[test]
        fn opening_never_panics_on_valid_bech32_of_any_bytes(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let s = setup(2);
            let token = bech32::encode::<bech32::Bech32>(bech32::Hrp::parse_unchecked("ballot"), &data)
                .expect("encodes");
            prop_assert!(open(&s, &token).is_err());
        }
    }
}
