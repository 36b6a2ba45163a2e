//! Test fixtures for the vote rules: a proposal with a 60-day window, an announcement and a zap
//! poll (its targets), one zapper and one bot,
//! real sender keys, and contributions built from a few numbers.

use std::sync::OnceLock;

use nostr_sdk::{EventId, Keys, PublicKey};

use super::contribution::{Contribution, MSAT_PER_BTC};
use super::proposal::Proposal;
use super::rules::{VoteRules, SECONDS_PER_DAY};
use super::targets::Targets;
use super::vote_type::VoteType;
use crate::configuration::GovernanceSettings;

pub const START: u64 = 1_800_000_000;
pub const END: u64 = START + 60 * SECONDS_PER_DAY;
pub const BTC: u64 = MSAT_PER_BTC;
/// The id of [`proposal`]'s announcement note (one of its targets).
pub const ANNOUNCEMENT: EventId = EventId::from_byte_array([0xA1; 32]);
/// The id of [`proposal`]'s zap poll (one of its targets).
pub const POLL: EventId = EventId::from_byte_array([0xA2; 32]);

/// `n` fixed sender keys (generated once per test binary).
pub fn senders(n: usize) -> Vec<PublicKey> {
    static KEYS: OnceLock<Vec<PublicKey>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| (0..64).map(|_| Keys::generate().public_key()).collect());
    keys[..n].to_vec()
}

pub fn zapper() -> PublicKey {
    static KEY: OnceLock<PublicKey> = OnceLock::new();
    *KEY.get_or_init(|| Keys::generate().public_key())
}

pub fn bot() -> PublicKey {
    static KEY: OnceLock<PublicKey> = OnceLock::new();
    *KEY.get_or_init(|| Keys::generate().public_key())
}

pub fn proposal() -> Proposal {
    let rules = VoteRules::new(
        &GovernanceSettings::default(),
        1,
        vec![zapper()],
        vec![bot()],
    );
    Proposal {
        id: EventId::from_byte_array([0xAB; 32]),
        address: format!("30078:{}:action:bitcoin-commons:42:review-period", bot()),
        pr: 42,
        tier: 1,
        window_start: START,
        window_end: END,
        rules,
        targets: {
            let mut targets = Targets::new();
            targets.insert(ANNOUNCEMENT, nostr_sdk::Kind::TextNote);
            targets.insert(POLL, crate::nostr::events::kind::ZAP_POLL);
            targets
        },
    }
}

/// A receipt id from a counter, spread over the id space.
pub fn receipt(n: u64) -> EventId {
    let mut bytes = [0u8; 32];
    let mixed = n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ n;
    bytes[..8].copy_from_slice(&mixed.to_be_bytes());
    bytes[8..16].copy_from_slice(&n.to_be_bytes());
    EventId::from_byte_array(bytes)
}

/// A contribution of `sender` to the bot; a vote on [`proposal`] when `vote`.
pub fn zap(
    n: u64,
    sender: PublicKey,
    created_at: u64,
    msat: u64,
    vote: bool,
    keyword: Option<VoteType>,
) -> Contribution {
    Contribution {
        receipt_id: receipt(n),
        sender,
        recipient: bot(),
        zapper: zapper(),
        amount_msat: msat,
        created_at,
        event: vote.then(|| proposal().id),
        address: None,
        keyword,
        poll_option: None,
        ballot: None,
        private_zap: false,
    }
}

/// [`proposal`] with sealed ballots: one ballot key, whose secret is [`ballot_secret`].
pub fn sealed_proposal() -> Proposal {
    use crate::nostr::ballot_keys::{BallotHolder, SealedRules};
    let mut p = proposal();
    p.rules.sealed = Some(SealedRules::new(vec![BallotHolder {
        holder: bot(),
        key: crate::votes::BallotKey::from_secret(&ballot_secret()),
    }]));
    p
}

/// The secret of [`sealed_proposal`]'s ballot key.
pub fn ballot_secret() -> crate::votes::BallotSecret {
    crate::votes::BallotSecret::from_bytes([0x5E; 32])
}

/// The opening of [`sealed_proposal`]'s ballots.
pub fn opening() -> crate::votes::BallotOpening {
    let secret = ballot_secret();
    crate::votes::BallotOpening::for_keys(&sealed_proposal().ballot_keys(), [&secret])
        .expect("the secret of the key")
}

/// A sealed vote of `vote` on [`sealed_proposal`]: a contribution whose comment holds a token.
pub fn sealed_zap(
    n: u64,
    sender: PublicKey,
    created_at: u64,
    msat: u64,
    vote: VoteType,
) -> Contribution {
    let p = sealed_proposal();
    let token = crate::votes::seal_ballot(
        vote,
        &p.id,
        &sender,
        &p.ballot_keys(),
        &mut rand::rngs::OsRng,
    )
    .expect("seals");
    let mut c = zap(n, sender, created_at, msat, true, None);
    c.ballot = Some(std::sync::Arc::from(token.as_str()));
    c
}
