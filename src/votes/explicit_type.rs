//! The type a single zap says explicitly (DESIGN.md "Votes", *Vote type*), in order of rank:
//!
//! 1. a valid `poll_option` on a zap to the proposal's zap poll;
//! 2. a sealed ballot: a `ballot1...` token in the content ([`crate::votes::find_ballot_token`]),
//!    on a proposal that pinned ballot keys; its keywords are then not read;
//! 3. the content's first keyword.
//!
//! A zap that says none leaves the sender's earlier explicit type standing (support when there
//! is none). On a proposal without `rules.sealed` (published before sealed ballots, or with them
//! turned off) a token is ordinary text: those proposals have no sealed ballots, and their
//! tallies stay what they always were.

use std::sync::Arc;

use super::ballot_type::BallotType;
use super::contribution::Contribution;
use super::proposal::Proposal;
use super::vote_type::VoteType;

/// What one zap says about its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExplicitType {
    /// Support, veto or abstain, for everyone to read.
    Open(VoteType),
    /// A sealed ballot: the token, opened only with every holder's secret.
    Sealed(Arc<str>),
}

impl ExplicitType {
    /// The open type, `None` for a sealed ballot.
    pub fn open_type(&self) -> Option<VoteType> {
        match self {
            ExplicitType::Open(vote) => Some(*vote),
            ExplicitType::Sealed(_) => None,
        }
    }

    /// The type a vote row records for this zap: its open type, or `sealed` (never the opened
    /// type: what a ballot holds is the tally's to say, once opened).
    pub fn recorded_type(explicit: Option<&ExplicitType>) -> BallotType {
        match explicit {
            Some(ExplicitType::Open(vote)) => BallotType::from(*vote),
            Some(ExplicitType::Sealed(_)) => BallotType::Sealed,
            None => BallotType::Support,
        }
    }
}

/// Where an explicit type stands in a tally at a moment: open, a sealed ballot not opened, or a
/// sealed ballot opened (to its type, or invalid: counted as abstain and reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Open(VoteType),
    Sealed,
    Opened(VoteType),
    Invalid,
}

impl Standing {
    /// The type the voter's weight counts for.
    pub fn ballot_type(self) -> BallotType {
        match self {
            Standing::Open(vote) | Standing::Opened(vote) => BallotType::from(vote),
            Standing::Sealed => BallotType::Sealed,
            Standing::Invalid => BallotType::Abstain,
        }
    }

    /// Whether it came from a sealed ballot (opened or not).
    pub fn is_sealed(self) -> bool {
        !matches!(self, Standing::Open(_))
    }
}

impl Proposal {
    /// The vote type a contribution says explicitly (DESIGN.md "Votes", *Vote type*): the type
    /// of a valid `poll_option` when its zap request's `e` is this proposal's zap poll; else its
    /// sealed ballot, when the proposal pinned ballot keys; else the first keyword of its
    /// content; else none (then an earlier explicit type of the sender stands, or support). See
    /// [`explicit_type`].
    pub fn explicit_type(&self, c: &Contribution) -> Option<ExplicitType> {
        explicit_type(self, c)
    }
}

/// The explicit type of `c` as a vote on `proposal`.
pub fn explicit_type(proposal: &Proposal, c: &Contribution) -> Option<ExplicitType> {
    if let (Some(option), Some(e)) = (c.poll_option, c.event) {
        if proposal.targets.is_zap_poll(&e) {
            return Some(ExplicitType::Open(option));
        }
    }
    if let Some(token) = &c.ballot {
        if proposal.has_sealed_ballots() {
            return Some(ExplicitType::Sealed(token.clone()));
        }
    }
    c.keyword.map(ExplicitType::Open)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::votes::testing::{sealed_proposal, senders, zap, BTC, POLL, START};

    #[test]
    fn poll_option_outranks_a_token_which_outranks_keywords() {
        let p = sealed_proposal();
        let s = senders(1);
        let mut c = zap(1, s[0], START, BTC, true, Some(VoteType::Veto));
        c.ballot = Some(Arc::from("ballot1qqqq"));
        assert_eq!(
            explicit_type(&p, &c),
            Some(ExplicitType::Sealed(Arc::from("ballot1qqqq"))),
            "veto ballot1...: the token, not the keyword"
        );
        c.event = Some(POLL);
        c.poll_option = Some(VoteType::Abstain);
        assert_eq!(
            explicit_type(&p, &c),
            Some(ExplicitType::Open(VoteType::Abstain)),
            "poll_option + token: the option"
        );
    }

    #[test]
    fn a_token_is_plain_text_on_a_proposal_without_ballot_keys() {
        let p = crate::votes::testing::proposal();
        assert!(!p.has_sealed_ballots());
        let s = senders(1);
        let mut c = zap(1, s[0], START, BTC, true, Some(VoteType::Veto));
        c.ballot = Some(Arc::from("ballot1qqqq"));
        assert_eq!(
            explicit_type(&p, &c),
            Some(ExplicitType::Open(VoteType::Veto))
        );
    }
}
