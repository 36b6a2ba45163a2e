//! The vote rules of DESIGN.md "Votes" and "Tally events" as pure code: no database, no actor,
//! no network. The aggregator and `verify` both run this, so they agree on every number.
//!
//! In brief, at a moment `T = min(now, end)` and with the rules pinned in the proposal
//! ([`VoteRules`]):
//!
//! - every valid receipt to a bot is a [`Contribution`]; one that names the proposal and was paid
//!   in `[start, end]` is a vote, after `end` a late vote (reported, never counted);
//! - a sender whose young (`cooling_off_days`) contributions reach `cooling_off_threshold_btc` is
//!   cooling off; `P(s)` is the square root of their BTC in the participation window (less the
//!   young ones when cooling off), `Z(s)` that of their votes (0 when cooling off), and a vote
//!   weighs `max(Z, participation_floor * P)`, capped at `weight_cap * ΣP` once enough senders
//!   participate ([`weight`]);
//! - a contribution names a proposal when its zap request's `e` is one of the proposal's
//!   [`targets`] (its id, its announcement, its zap poll) or its `a` is the proposal's address;
//! - the vote type is the latest explicit one ([`explicit_type`]): a `poll_option` on a zap to
//!   the zap poll ([`parse_poll_option`]), else a sealed ballot (a `ballot1...` token, on a
//!   proposal with ballot keys), else a keyword ([`parse_keyword`]); support by default;
//! - a sealed voter's weight is in `sealed_votes` ([`BallotType::Sealed`]) until the ballots are
//!   opened at the close with a valid secret for every pinned key ([`BallotOpening`],
//!   [`tally_with_secrets`], [`VoteBook::open_with`]); one that does not open counts as abstain;
//! - a private zap (`anon` with a value) is no contribution and no vote, only counted
//!   ([`private_zaps`]);
//! - sums are exact fixed point ([`ExactSum`]), so the [`tally()`] (full recompute) and the
//!   incremental [`VoteBook`] agree bit for bit whatever order receipts arrive in;
//! - the counted receipts are committed to by a Merkle root ([`receipts_root()`]) in the tally event
//!   content ([`TallyContent`]).
//!
//! - the crypto of sealed ballots (keys, tokens, opening) is [`sealed`]'s.
//!
//! One file per concept: [`rules`], [`vote_type`], [`ballot_type`], [`explicit_type`],
//! [`contribution`], [`private_zaps`], [`targets`], [`proposal`], [`exact_sum`], [`weight`],
//! [`mod@tally`], [`mod@receipts_root`], [`tally_content`], [`anomaly_counts`], [`vote_book`],
//! and the folder [`sealed`].

pub mod anomaly_counts;
pub mod ballot_type;
pub mod contribution;
pub mod exact_sum;
pub mod explicit_type;
pub mod private_zaps;
pub mod proposal;
pub mod receipts_root;
pub mod rules;
pub mod sealed;
pub mod tally;
pub mod tally_content;
pub mod targets;
pub mod vote_book;
pub mod vote_type;
pub mod weight;

pub use anomaly_counts::AnomalyCounts;
pub use ballot_type::BallotType;
pub use contribution::{ballot_in, btc, Contribution};
pub use exact_sum::ExactSum;
pub use explicit_type::{ExplicitType, Standing};
pub use private_zaps::PrivateZaps;
pub use proposal::Proposal;
pub use receipts_root::{inclusion, receipts_root, verify_receipt_inclusion, ReceiptInclusion};
pub use rules::{VoteRules, SECONDS_PER_DAY};
pub use sealed::{
    derive_gov_ballot_secret, find_ballot_token, is_valid_secret, open_ballot, seal_ballot,
    BallotError, BallotKey, BallotOpening, BallotSecret, SealedCounts, SealedSummary,
};
pub use tally::{tally, tally_with_secrets, Ballot, ProposalVoteResult, Tally};
pub use tally_content::{TallyContent, MAX_TALLY_CONTENT_BYTES};
pub use targets::{is_target_of, LearnedTarget, NotATarget, TargetClaim, Targets};
pub use vote_book::{Added, VoteBook};
pub use vote_type::{parse_keyword, parse_poll_option, VoteKind, VoteType};

#[cfg(test)]
pub(crate) mod testing;
