//! What a proposal says about one independent holder's keys: which of them it pinned, and when
//! its window closes (so when their secrets may be published).
//!
//! The proposal's own parser ([`parse_governance_action`]) decides what a proposal is: a review
//! period whose tags match its content, with `rules.sealed` and a voting window. Its signature
//! is the caller's to check.

use nostr_sdk::{Event, EventId, PublicKey};

use crate::nostr::ballot_keys::BallotKey;
use crate::nostr::governance_action::{parse_governance_action, ActionKind};

/// The keys of one holder a proposal pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedKeys {
    pub proposal: EventId,
    /// The end of the proposal's voting window (unix seconds).
    pub end: u64,
    pub keys: Vec<BallotKey>,
}

/// The keys `event` pins for `holder`, when it is a review period (a proposal) with sealed
/// ballots that names `holder` among its holders and, when `operators` names any, is signed by
/// one of them; `None` otherwise.
pub fn pinned_keys(
    event: &Event,
    holder: &PublicKey,
    operators: &[PublicKey],
) -> Option<PinnedKeys> {
    if !operators.is_empty() && !operators.contains(&event.pubkey) {
        return None;
    }
    let action = parse_governance_action(event).ok()?;
    if action.action != ActionKind::ReviewPeriod {
        return None;
    }
    let (_, end) = action.voting_window?;
    let sealed = action.content.rules?.sealed?;
    let keys: Vec<BallotKey> = sealed
        .holders
        .iter()
        .filter(|h| h.holder == *holder)
        .map(|h| h.key)
        .collect();
    (!keys.is_empty()).then(|| PinnedKeys {
        proposal: event.id,
        end: end.as_secs(),
        keys,
    })
}
