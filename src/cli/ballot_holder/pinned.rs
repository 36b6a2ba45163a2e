//! What a proposal says about one independent holder's keys: which of them it pinned, and when
//! its window closes (so when their secrets may be published).

use nostr_sdk::{Event, EventId, PublicKey};

use crate::nostr::ballot_keys::BallotKey;

/// The keys of one holder a proposal pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedKeys {
    pub proposal: EventId,
    /// The end of the proposal's voting window (unix seconds).
    pub end: u64,
    pub keys: Vec<BallotKey>,
}

/// The keys `event` pins for `holder`, when it is a review period (a proposal) with sealed
/// ballots that names `holder` among its holders; `None` otherwise.
pub fn pinned_keys(event: &Event, holder: &PublicKey) -> Option<PinnedKeys> {
    let _ = (event, holder);
    None
}
