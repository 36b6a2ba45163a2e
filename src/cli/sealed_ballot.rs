//! A voter's sealed ballot (DESIGN.md "Sealed ballots"): the choice ([`VoteOption`]), the ballot
//! keys the proposal pins, and the token sealing the choice to them for one voter. Made by
//! `commons-nostr ballot` ([`crate::cli::ballot`]) for any voter and by `zap --seal` for the
//! voter's own key ([`crate::cli::zap`]).

use clap::ValueEnum;
use nostr_sdk::{Event, EventId, PublicKey};

use crate::nostr::governance_action;
use crate::votes::{self, BallotKey, VoteType};

/// A zap poll's options (DESIGN.md "Events published": 0 support, 1 veto, 2 abstain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VoteOption {
    Support,
    Veto,
    Abstain,
}

impl VoteOption {
    pub fn label(self) -> &'static str {
        match self {
            VoteOption::Support => "support",
            VoteOption::Veto => "veto",
            VoteOption::Abstain => "abstain",
        }
    }
}

/// A token made, with what the voter needs to know about it.
#[derive(Debug, Clone)]
pub struct Ballot {
    pub token: String,
    pub proposal: EventId,
    pub vote: VoteOption,
    pub voter: PublicKey,
    /// The window's end (unix seconds): when the ballot is opened.
    pub window_end: u64,
}

/// The vote type a choice seals.
pub fn vote_type(vote: VoteOption) -> VoteType {
    match vote {
        VoteOption::Support => VoteType::Support,
        VoteOption::Veto => VoteType::Veto,
        VoteOption::Abstain => VoteType::Abstain,
    }
}

/// The ballot keys `proposal` pins (`rules.sealed.holders`, in order), and its window's end; an
/// error naming why a sealed ballot cannot be made for it.
pub fn pinned_keys(proposal: &Event) -> Result<(Vec<BallotKey>, u64), String> {
    let action = governance_action::parse_governance_action(proposal)
        .map_err(|e| format!("event {} is not a governance action: {e}", proposal.id))?;
    let end = action
        .voting_window
        .map(|(_, end)| end.as_secs())
        .ok_or_else(|| format!("proposal {} has no voting window", proposal.id))?;
    let keys: Vec<BallotKey> = action
        .content
        .rules
        .as_ref()
        .and_then(|rules| rules.sealed.as_ref())
        .map(|sealed| sealed.keys())
        .unwrap_or_default();
    if keys.is_empty() {
        return Err(format!(
            "proposal {} pins no ballot keys (rules.sealed): it takes open votes only; vote \
             with a keyword in the zap comment instead",
            proposal.id
        ));
    }
    Ok((keys, end))
}

/// The token sealing `vote` for `proposal` (an event read from the relays) and `voter`.
pub fn token_for(proposal: &Event, vote: VoteOption, voter: &PublicKey) -> Result<Ballot, String> {
    let (keys, window_end) = pinned_keys(proposal)?;
    let token = votes::seal_ballot(
        vote_type(vote),
        &proposal.id,
        voter,
        &keys,
        &mut rand::rngs::OsRng,
    )
    .map_err(|e| format!("cannot seal the ballot: {e}"))?;
    Ok(Ballot {
        token,
        proposal: proposal.id,
        vote,
        voter: *voter,
        window_end,
    })
}
