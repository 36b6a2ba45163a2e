//! The tally's `sealed` object (DESIGN.md "Tally events"): `keys` as pinned, `opened` whether
//! every secret is known and the ballots were opened, `ballots` the counted receipts whose type
//! is a sealed ballot, `voters` the voters whose standing type came from one, `invalid` (once
//! opened) the ballots that did not open (each counts as abstain).

use serde::{Deserialize, Serialize};

use crate::nostr::ballot_keys::BallotKey;

/// The sealed-ballot counts of a tally, without the keys (those are the proposal's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SealedCounts {
    pub opened: bool,
    pub ballots: u64,
    pub voters: u64,
    pub invalid: u64,
}

/// The `sealed` object as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSummary {
    pub keys: Vec<BallotKey>,
    pub opened: bool,
    pub ballots: u64,
    pub voters: u64,
    pub invalid: u64,
}

impl SealedSummary {
    pub fn new(keys: Vec<BallotKey>, counts: SealedCounts) -> SealedSummary {
        SealedSummary {
            keys,
            opened: counts.opened,
            ballots: counts.ballots,
            voters: counts.voters,
            invalid: counts.invalid,
        }
    }
}
