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
//! - the vote type is the latest explicit one: a `poll_option` on a zap to the zap poll
//!   ([`parse_poll_option`]), else a keyword ([`parse_keyword`]); support by default;
//! - sums are exact fixed point ([`ExactSum`]), so the [`tally()`] (full recompute) and the
//!   incremental [`VoteBook`] agree bit for bit whatever order receipts arrive in;
//! - the counted receipts are committed to by a Merkle root ([`receipts_root()`]) in the tally event
//!   content ([`TallyContent`]).
//!
//! - a sealed ballot (a `ballot1...` token in the comment) keeps its type secret until the
//!   close; its crypto (keys, tokens) is [`sealed`]'s.
//!
//! One file per concept: [`rules`], [`vote_type`], [`contribution`], [`targets`], [`proposal`],
//! [`exact_sum`], [`weight`], [`mod@tally`], [`mod@receipts_root`], [`tally_content`],
//! [`anomaly_counts`], [`vote_book`], and the folder [`sealed`].

pub mod anomaly_counts;
pub mod contribution;
pub mod exact_sum;
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
pub use contribution::{btc, Contribution};
pub use exact_sum::ExactSum;
pub use proposal::Proposal;
pub use receipts_root::{inclusion, receipts_root, verify_receipt_inclusion, ReceiptInclusion};
pub use rules::{VoteRules, SECONDS_PER_DAY};
pub use sealed::{
    derive_gov_ballot_secret, find_ballot_token, is_valid_secret, open_ballot, seal_ballot,
    BallotError, BallotKey, BallotSecret,
};
pub use tally::{tally, Ballot, ProposalVoteResult, Tally};
pub use tally_content::{TallyContent, MAX_TALLY_CONTENT_BYTES};
pub use targets::{is_target_of, LearnedTarget, NotATarget, TargetClaim, Targets};
pub use vote_book::{Added, VoteBook};
pub use vote_type::{parse_keyword, parse_poll_option, VoteKind, VoteType};

#[cfg(test)]
pub(crate) mod testing;
