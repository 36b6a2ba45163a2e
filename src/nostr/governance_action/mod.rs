//! Governance actions: the `POST /v1/actions` request, parsed once into a [`GovernanceAction`]
//! that cannot hold invalid data, and everything an action publishes (its `d`, tags, JSON
//! content and announcement text).
//!
//! # The request
//!
//! `POST /v1/actions` takes one JSON object. Fields every action has:
//!
//! | field | type | rule |
//! |---|---|---|
//! | `action` | string | `merge`, `review-period`, `keyholder` or `fork` |
//! | `tier` | integer | 1 to 5 |
//! | `title` | string | one line, not blank, at most 200 characters (trimmed) |
//! | `description` | string | optional, at most 10,000 characters |
//! | `repository` | string | `owner/name`: letters, digits, `-`, `_`, `.`; no spaces or colons |
//! | `pr` | integer | 1 or more |
//!
//! `repository` and `pr` are required for `merge` and `review-period`. A `keyholder` or `fork`
//! action may name the pull request that enacted it (both fields, or neither).
//!
//! `review-period` (a proposal: the event voters zap) also takes:
//!
//! | field | type | rule |
//! |---|---|---|
//! | `voting_window_days` | integer | required (or `voting_window_secs`), 1 to 365; the window opens when the action is published |
//! | `voting_window_secs` | integer | instead of `voting_window_days`: 60 seconds to 365 days, for a short vote (a demonstration, a test, an emergency) |
//!
//! `keyholder` takes a `keyholder` object:
//!
//! | field | type | rule |
//! |---|---|---|
//! | `keyholder.name` | string | one line, not blank, at most 100 characters |
//! | `keyholder.pubkey` (or `keyholder.npub`) | string | the keyholder's key, `npub1...` or 64 hex |
//! | `keyholder.change` | string | `added` or `removed` |
//!
//! A keyholder's *approval* of a pull request (an approving review on GitHub, which is a
//! keyholder's signature) is a `keyholder` action too, with `repository` and `pr` and:
//!
//! | field | type | rule |
//! |---|---|---|
//! | `keyholder.change` | string | `approved` |
//! | `keyholder.login` | string | the keyholder's GitHub login (1 to 39 letters, digits, `-`) |
//! | `keyholder.commit` | string | the approved commit: 40 or 64 hex characters |
//!
//! `merge` also takes an optional `commit`: the merge commit (40 or 64 hex characters).
//!
//! `fork` (a governance fork decision about a ruleset) takes a `fork` object:
//!
//! | field | type | rule |
//! |---|---|---|
//! | `fork.ruleset` | string | the ruleset's name, 1 to 64 of letters, digits, `-`, `_`, `.` |
//! | `fork.decision` | string | `adopted` or `rejected` |
//! | `fork.effective_at` | integer or string | optional; unix seconds or RFC 3339; default: now |
//!
//! Numbers may also be sent as strings of digits (`"pr": "42"`); unknown fields are ignored; a
//! field that belongs to another action (`voting_window_days` on a merge, a `keyholder` object
//! on a fork) is refused rather than silently dropped. Every refusal is an [`ActionError`]
//! naming the field, e.g. `tier: must be 1 to 5`, `voting_window_days: required for
//! review-period`, `action: unknown action 'foo' ...`, `keyholder.change: must be added or
//! removed`.
//!
//! Examples:
//!
//! ```json
//! {"action": "review-period", "repository": "btc-commons/governance", "pr": 42, "tier": 3,
//!  "title": "Raise the weight cap", "description": "...", "voting_window_days": 14}
//! {"action": "keyholder", "tier": 4, "title": "Welcome Alice",
//!  "keyholder": {"name": "Alice", "npub": "npub1...", "change": "added"}}
//! {"action": "fork", "tier": 5, "title": "Adopt the v2 ruleset",
//!  "fork": {"ruleset": "commons_v2", "decision": "adopted", "effective_at": "2025-01-01T00:00:00Z"}}
//! ```
//!
//! # The event
//!
//! A kind-30078 event signed by the gov bot (see [`crate::nostr::events`] for the names):
//!
//! - `d`: `action:<repository>:<pr>:<action>` for merges and review periods. A keyholder
//!   change is keyed by the key, `action:keyholder:<pubkey hex>`: the newest event for a key is
//!   its current standing (a removal replaces the addition), which is what a client asks
//!   ("is this key a keyholder?"); the history stays in the announcement notes. A fork decision
//!   is keyed by the ruleset, `action:fork:<ruleset>`: a later decision about the same ruleset
//!   supersedes the earlier one. Neither key depends on the time of publishing, so re-sending
//!   the same action replaces its event instead of adding a duplicate.
//!   An approval is keyed by the pull request and the login,
//!   `action:<repository>:<pr>:keyholder:<login>`: a keyholder's newest approval of a pull
//!   request (of its newest commit) replaces their earlier one.
//! - tags: `t`=`governance-action`, `action`, `repository` and `pr` (when the action has a pull
//!   request), `tier`, `governance_config`; a review period adds `voting_window` = start, end
//!   (unix seconds) and `zap` = the gov bot's lightning address; a keyholder change adds `p` =
//!   the keyholder's key, so relays can find it by `#p` and the keyholder's client notifies them.
//! - content: [`ActionContent`]: `action`, `repository`, `pr`, `tier`, `title`,
//!   `description`, and `voting_window` (`start`, `end`, `days`), `keyholder` (`name`,
//!   `pubkey` hex, `npub`, `change`), `approval` (`login`, `commit`), `commit` (a merge's
//!   merge commit) or `fork` (`ruleset`, `decision`, `effective_at` unix
//!   seconds) as the action has them.
//!
//! Each action is also announced in a kind-1 note ([`GovernanceAction::announcement`]) that
//! points at the structured event with `e` and `a` tags.
//!
//! # Where things live
//!
//! This file holds [`GovernanceAction`] and what every action has (kind, summary, pull
//! request); `request.rs` the raw request and [`ActionError`]; `values.rs` the values actions
//! share; `parse.rs` the request parser, and `fields.rs` the field parsers it shares with each
//! action's own (numbers, one-line text, commit ids); `merge.rs`, `review_period.rs`, `keyholder.rs` and
//! `fork.rs` one action each; `content.rs` the JSON content; `event.rs` the event's `d`, tags,
//! building and reading back; `announcement.rs` the text people read.

mod announcement;
mod content;
mod event;
mod fields;
mod fork;
mod keyholder;
mod merge;
mod parse;
mod request;
mod review_period;
#[cfg(test)]
mod testing;
mod values;

pub use content::{
    ActionContent, ApprovalContent, ForkContent, KeyholderContent, VoteRules, VotingWindowContent,
};
pub use event::{
    governance_action, governance_action_content, parse_governance_action, GovernanceActionEvent,
};
pub use fork::{ForkAction, ForkDecision};
pub use keyholder::{KeyholderAction, KeyholderApproval, KeyholderChange};
pub use merge::Merge;
pub use request::{ActionError, ForkRequest, GovernanceActionRequest, KeyholderRequest};
pub use review_period::{ReviewPeriod, VotingWindow};
pub use values::{ActionKind, PullRequest, Repository, Summary, Tier};

/// Longest title, in characters.
pub const TITLE_MAX_CHARS: usize = 200;
/// Longest description, in characters.
pub const DESCRIPTION_MAX_CHARS: usize = 10_000;
/// Longest keyholder name, in characters.
pub const NAME_MAX_CHARS: usize = 100;
/// Longest ruleset name, in characters.
pub const RULESET_MAX_CHARS: usize = 64;
/// Longest repository owner or name, in characters.
pub const REPOSITORY_PART_MAX_CHARS: usize = 100;
/// Length of a git commit id in hex: SHA-1 and SHA-256 repositories.
pub const COMMIT_HEX_LENGTHS: [usize; 2] = [40, 64];
/// Lowest and highest tier.
pub const TIERS: std::ops::RangeInclusive<u8> = 1..=5;
/// Shortest and longest voting window, in days.
pub const VOTING_WINDOW_DAYS: std::ops::RangeInclusive<u32> = 1..=365;

/// The shortest voting window `voting_window_secs` may ask for: a demonstration, a test, an
/// emergency.
pub const MIN_VOTING_WINDOW_SECS: u64 = 60;

/// A valid governance action, ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GovernanceAction {
    Merge(Merge),
    ReviewPeriod(ReviewPeriod),
    Keyholder(KeyholderAction),
    /// A `keyholder` action whose change is `approved`.
    KeyholderApproval(KeyholderApproval),
    Fork(ForkAction),
}

impl GovernanceAction {
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::Merge(_) => ActionKind::Merge,
            Self::ReviewPeriod(_) => ActionKind::ReviewPeriod,
            Self::Keyholder(_) | Self::KeyholderApproval(_) => ActionKind::Keyholder,
            Self::Fork(_) => ActionKind::Fork,
        }
    }

    pub fn summary(&self) -> &Summary {
        match self {
            Self::Merge(a) => &a.summary,
            Self::ReviewPeriod(a) => &a.summary,
            Self::Keyholder(a) => &a.summary,
            Self::KeyholderApproval(a) => &a.summary,
            Self::Fork(a) => &a.summary,
        }
    }

    pub fn tier(&self) -> Tier {
        self.summary().tier
    }

    pub fn title(&self) -> &str {
        &self.summary().title
    }

    /// The pull request the action is about: always for merges and review periods, when
    /// given for keyholder and fork actions.
    pub fn pull_request(&self) -> Option<&PullRequest> {
        match self {
            Self::Merge(a) => Some(&a.pull_request),
            Self::ReviewPeriod(a) => Some(&a.pull_request),
            Self::Keyholder(a) => a.pull_request.as_ref(),
            Self::KeyholderApproval(a) => Some(&a.pull_request),
            Self::Fork(a) => a.pull_request.as_ref(),
        }
    }

    /// The voting window, for a review period.
    pub fn voting_window(&self) -> Option<&VotingWindow> {
        match self {
            Self::ReviewPeriod(a) => Some(&a.voting_window),
            _ => None,
        }
    }

    /// Whether the action is a proposal voters zap (a review period).
    pub fn invites_zaps(&self) -> bool {
        matches!(self, Self::ReviewPeriod(_))
    }
}
