//! The proposal a vote is about: DESIGN.md "Votes", *Votes* and *Moment T*.
//!
//! A review-period event, reduced to what the tally reads: its id and address, its other vote
//! targets (the announcement and the zap poll, [`crate::votes::targets`]), its PR and tier, the
//! voting window `[start, end]` (both inclusive) and its pinned rules.

use nostr_sdk::EventId;

use super::contribution::Contribution;
use super::rules::VoteRules;
use super::sealed::BallotKey;
use super::targets::Targets;

#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    /// The review-period event's id.
    pub id: EventId,
    /// Its address, `30078:<pubkey>:<d>`.
    pub address: String,
    pub pr: u64,
    pub tier: u8,
    /// First second of the voting window (inclusive).
    pub window_start: u64,
    /// Last second of the voting window (inclusive).
    pub window_end: u64,
    pub rules: VoteRules,
    /// Its targets besides its own id: the gov bot's events tagging it with
    /// `t` = `governance-proposal`.
    pub targets: Targets,
}

/// Where a contribution's `created_at` falls relative to the voting window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowPlace {
    /// Before `start`: a contribution, not a vote.
    Early,
    /// In `[start, end]`: a vote.
    Inside,
    /// After `end`: a late vote, reported and never counted.
    Late,
}

impl Proposal {
    /// Whether the contribution names this proposal: its zap request's `e` is one of the
    /// targets (the proposal's id, its announcement, its zap poll), or its `a` is the
    /// proposal's address.
    pub fn names(&self, c: &Contribution) -> bool {
        c.event
            .is_some_and(|e| e == self.id || self.targets.contains(&e))
            || c.address.as_deref() == Some(self.address.as_str())
    }

    /// Whether the proposal pinned ballot keys (`rules.sealed` with at least one holder): only
    /// then does a token in a zap comment make a sealed ballot.
    pub fn has_sealed_ballots(&self) -> bool {
        self.rules
            .sealed
            .as_ref()
            .is_some_and(|sealed| !sealed.holders.is_empty())
    }

    /// The pinned ballot keys, in holder order (empty without sealed ballots).
    pub fn ballot_keys(&self) -> Vec<BallotKey> {
        self.rules
            .sealed
            .as_ref()
            .map(|sealed| sealed.keys())
            .unwrap_or_default()
    }

    /// Whether a tally at moment `t` (already `min(now, end)`) opens the sealed ballots when
    /// every secret is known: only once the window has closed (`t = end`), so no running result
    /// of sealed ballots ever exists.
    pub fn opens_at(&self, t: u64) -> bool {
        self.has_sealed_ballots() && t >= self.window_end
    }

    /// The tally event's `targets`: the proposal's id first, then its other targets ascending.
    pub fn listed_targets(&self) -> Vec<EventId> {
        self.targets.listed(self.id)
    }

    /// The moment `T` of a tally made at `now`: `min(now, end)`.
    pub fn moment(&self, now: u64) -> u64 {
        now.min(self.window_end)
    }

    /// Where `created_at` lies relative to `[start, end]`.
    pub fn place(&self, created_at: u64) -> WindowPlace {
        if created_at < self.window_start {
            WindowPlace::Early
        } else if created_at > self.window_end {
            WindowPlace::Late
        } else {
            WindowPlace::Inside
        }
    }
}

#[cfg(test)]
mod tests {
    use nostr_sdk::Keys;

    use super::*;
    use crate::configuration::GovernanceSettings;

    #[test]
    fn names_by_id_or_address_and_places_by_window() {
        let key = Keys::generate().public_key();
        let proposal = Proposal {
            id: EventId::from_byte_array([9; 32]),
            address: format!("30078:{key}:action:repo:1:review-period"),
            pr: 1,
            tier: 1,
            window_start: 100,
            window_end: 200,
            rules: VoteRules::new(&GovernanceSettings::default(), 1, vec![key], vec![]),
            targets: Targets::new(),
        };
        let mut c = Contribution {
            receipt_id: EventId::from_byte_array([1; 32]),
            sender: key,
            recipient: key,
            zapper: key,
            amount_msat: 1,
            created_at: 150,
            event: None,
            address: None,
            keyword: None,
            poll_option: None,
            ballot: None,
            private_zap: false,
        };
        assert!(!proposal.names(&c));
        c.event = Some(proposal.id);
        assert!(proposal.names(&c));
        c.event = Some(EventId::from_byte_array([8; 32]));
        c.address = Some(proposal.address.clone());
        assert!(proposal.names(&c));
        assert_eq!(proposal.place(99), WindowPlace::Early);
        assert_eq!(proposal.place(100), WindowPlace::Inside);
        assert_eq!(proposal.place(200), WindowPlace::Inside);
        assert_eq!(proposal.place(201), WindowPlace::Late);
        assert_eq!(proposal.moment(150), 150);
        assert_eq!(proposal.moment(250), 200);
    }
}
