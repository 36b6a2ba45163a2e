//! Private zaps (DESIGN.md "Votes", *Private zaps*): a zap request with an `anon` tag that has
//! a value (Damus's and Amethyst's private zaps: the real request and comment encrypted to the
//! recipient, the outer request signed by a throwaway key) is no contribution and no vote.
//! Nobody but the recipient can check who sent it or what it says, and reading it as the
//! throwaway key's "no keyword = support" would turn a hidden "veto" into support. They are
//! counted per proposal they name, in the tally's `private_zaps`: the valid receipts in the
//! window (and at or before `T`), their number and msat. The way to vote secretly is a sealed
//! ballot.

use serde::{Deserialize, Serialize};

/// A tally's `private_zaps`: `{"count": 1, "msat": 21000}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateZaps {
    pub count: u64,
    pub msat: u64,
}

impl PrivateZaps {
    /// Counts one private zap of `msat`.
    pub fn add(&mut self, msat: u64) {
        self.count += 1;
        self.msat = self.msat.saturating_add(msat);
    }
}
