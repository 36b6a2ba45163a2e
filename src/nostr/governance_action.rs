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

use std::fmt;
use std::str::FromStr;

use nostr_sdk::nips::nip01::Coordinate;
use nostr_sdk::nips::nip19::Nip19Coordinate;
use nostr_sdk::{Event, EventBuilder, EventId, PublicKey, RelayUrl, Tag, Timestamp, ToBech32};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::nostr::events::{
    self, content, d, expect_kind, expect_match, hashtag, identifier, kind, parse_number, tag,
    tag_value, tag_values, to_json, ParseError,
};

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

const SECONDS_PER_DAY: u64 = 86_400;

// ---------------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------------

/// The `POST /v1/actions` body as sent: every field optional and numbers lenient, so that
/// [`GovernanceAction::parse`] can name whatever is missing or wrong.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GovernanceActionRequest {
    pub action: Option<String>,
    pub repository: Option<String>,
    pub pr: Option<Value>,
    pub tier: Option<Value>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub voting_window_days: Option<Value>,
    /// A short window in seconds (60 or more), instead of `voting_window_days`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voting_window_secs: Option<Value>,
    pub keyholder: Option<KeyholderRequest>,
    pub fork: Option<ForkRequest>,
    /// `merge`: the merge commit.
    pub commit: Option<String>,
}

/// The `keyholder` object of a keyholder action request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyholderRequest {
    pub name: Option<String>,
    /// `npub1...` or 64 hex; also accepted as `npub`.
    #[serde(alias = "npub")]
    pub pubkey: Option<String>,
    /// `added`, `removed`, or `approved` (an approval of the action's pull request).
    pub change: Option<String>,
    /// `approved`: the keyholder's GitHub login.
    pub login: Option<String>,
    /// `approved`: the approved commit.
    pub commit: Option<String>,
}

/// The `fork` object of a fork action request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ForkRequest {
    pub ruleset: Option<String>,
    pub decision: Option<String>,
    /// Unix seconds or an RFC 3339 date-time.
    pub effective_at: Option<Value>,
}

impl GovernanceActionRequest {
    /// Reads a request body. A body that is not a JSON object of the right shape (say, a
    /// number for `title`) is refused with the field `body`.
    pub fn from_json(body: &[u8]) -> Result<Self, ActionError> {
        serde_json::from_slice(body).map_err(|e| ActionError::new("body", e.to_string()))
    }
}

/// Why a request is not a valid governance action: the offending field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ActionError {
    field: &'static str,
    message: String,
}

impl ActionError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }

    fn required(field: &'static str, action: ActionKind) -> Self {
        Self::new(field, format!("required for {action}"))
    }

    /// The request field at fault: `action`, `tier`, `keyholder.pubkey`, ...
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// What is wrong with it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

// ---------------------------------------------------------------------------------------------
// Domain values
// ---------------------------------------------------------------------------------------------

/// Which action: the `action` field, tag and content value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    Merge,
    ReviewPeriod,
    Keyholder,
    Fork,
}

impl ActionKind {
    pub const ALL: [ActionKind; 4] = [
        ActionKind::Merge,
        ActionKind::ReviewPeriod,
        ActionKind::Keyholder,
        ActionKind::Fork,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Merge => events::action::MERGE,
            Self::ReviewPeriod => events::action::REVIEW_PERIOD,
            Self::Keyholder => events::action::KEYHOLDER,
            Self::Fork => events::action::FORK,
        }
    }

    /// Whether the action is about one pull request, always.
    fn needs_pull_request(self) -> bool {
        matches!(self, Self::Merge | Self::ReviewPeriod)
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActionKind {
    type Err = ActionError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| {
                ActionError::new(
                    "action",
                    format!(
                        "unknown action '{value}' (expected merge, review-period, keyholder or fork)"
                    ),
                )
            })
    }
}

impl Serialize for ActionKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ActionKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        value.parse().map_err(serde::de::Error::custom)
    }
}

/// `owner/name`: two non-empty parts of letters, digits, `-`, `_` and `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repository(String);

impl Repository {
    pub fn parse(value: &str) -> Result<Self, ActionError> {
        let invalid = || {
            ActionError::new(
                "repository",
                format!(
                    "must look like owner/name (letters, digits, '-', '_', '.'), got '{value}'"
                ),
            )
        };
        let (owner, name) = value.trim().split_once('/').ok_or_else(invalid)?;
        let part_ok = |part: &str| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part.len() <= REPOSITORY_PART_MAX_CHARS
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        if part_ok(owner) && part_ok(name) {
            Ok(Self(format!("{owner}/{name}")))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A repository and a pull-request number (1 or more).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PullRequest {
    repository: Repository,
    number: u64,
}

impl PullRequest {
    pub fn repository(&self) -> &Repository {
        &self.repository
    }

    pub fn number(&self) -> u64 {
        self.number
    }
}

impl fmt::Display for PullRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.repository.as_str(), self.number)
    }
}

/// Governance tier, 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tier(u8);

impl Tier {
    pub fn get(self) -> u8 {
        self.0
    }
}

/// What every action says about itself: tier, title and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    tier: Tier,
    title: String,
    description: String,
}

impl Summary {
    pub fn tier(&self) -> Tier {
        self.tier
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn description(&self) -> &str {
        &self.description
    }
}

/// The voting window of a review period: it opens at publication and lasts
/// `voting_window_days` days, or `voting_window_secs` seconds for a short vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VotingWindow {
    start: Timestamp,
    secs: u64,
}

impl VotingWindow {
    pub fn start(&self) -> Timestamp {
        self.start
    }

    pub fn end(&self) -> Timestamp {
        Timestamp::from_secs(self.start.as_secs() + self.secs)
    }

    /// Whole days (0 for a window shorter than a day).
    pub fn days(&self) -> u32 {
        u32::try_from(self.secs / SECONDS_PER_DAY).unwrap_or(u32::MAX)
    }

    /// Its length in seconds.
    pub fn secs(&self) -> u64 {
        self.secs
    }

    /// Its length as a person reads it: "14 days", "1 day", "90 seconds".
    pub fn length(&self) -> String {
        let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
        if self.secs.is_multiple_of(SECONDS_PER_DAY) {
            plural(self.secs / SECONDS_PER_DAY, "day")
        } else {
            plural(self.secs, "second")
        }
    }
}

/// `added` or `removed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyholderChange {
    Added,
    Removed,
}

impl KeyholderChange {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
        }
    }
}

/// `adopted` or `rejected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForkDecision {
    Adopted,
    Rejected,
}

impl ForkDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Adopted => "adopted",
            Self::Rejected => "rejected",
        }
    }
}

/// A pull request was merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    pull_request: PullRequest,
    summary: Summary,
    /// The merge commit, when known.
    commit: Option<String>,
}

/// A pull request is open for review and votes: the proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewPeriod {
    pull_request: PullRequest,
    summary: Summary,
    voting_window: VotingWindow,
}

/// A keyholder was added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyholderAction {
    name: String,
    pubkey: PublicKey,
    change: KeyholderChange,
    pull_request: Option<PullRequest>,
    summary: Summary,
}

impl KeyholderAction {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pubkey(&self) -> &PublicKey {
        &self.pubkey
    }

    pub fn change(&self) -> KeyholderChange {
        self.change
    }
}

/// A keyholder approved a pull request at a commit (an approving review: their signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyholderApproval {
    /// The keyholder's GitHub login, lower-cased.
    login: String,
    /// Hex, lower-cased.
    commit: String,
    pull_request: PullRequest,
    summary: Summary,
}

impl KeyholderApproval {
    pub fn login(&self) -> &str {
        &self.login
    }

    pub fn commit(&self) -> &str {
        &self.commit
    }
}

/// A governance fork decision about a ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkAction {
    ruleset: String,
    decision: ForkDecision,
    effective_at: Timestamp,
    pull_request: Option<PullRequest>,
    summary: Summary,
}

impl ForkAction {
    pub fn ruleset(&self) -> &str {
        &self.ruleset
    }

    pub fn decision(&self) -> ForkDecision {
        self.decision
    }

    pub fn effective_at(&self) -> Timestamp {
        self.effective_at
    }
}

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

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// A whole number, from a JSON number or a string of digits.
fn whole_number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u32::MAX as f64)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn one_line(
    field: &'static str,
    value: Option<String>,
    max_chars: usize,
    action: ActionKind,
) -> Result<String, ActionError> {
    let value = value.ok_or_else(|| ActionError::required(field, action))?;
    let value = value.trim();
    if value.is_empty() {
        return Err(ActionError::new(field, "must not be empty"));
    }
    if value.chars().count() > max_chars {
        return Err(ActionError::new(
            field,
            format!("at most {max_chars} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ActionError::new(field, "must be a single line"));
    }
    Ok(value.to_owned())
}

fn parse_tier(value: Option<&Value>, action: ActionKind) -> Result<Tier, ActionError> {
    let value = value.ok_or_else(|| ActionError::required("tier", action))?;
    whole_number(value)
        .and_then(|n| u8::try_from(n).ok())
        .filter(|n| TIERS.contains(n))
        .map(Tier)
        .ok_or_else(|| ActionError::new("tier", "must be 1 to 5"))
}

fn parse_pr(value: &Value) -> Result<u64, ActionError> {
    whole_number(value)
        .filter(|n| *n >= 1)
        .ok_or_else(|| ActionError::new("pr", "must be a whole number, 1 or more"))
}

fn parse_pull_request(
    repository: Option<String>,
    pr: Option<Value>,
    action: ActionKind,
) -> Result<Option<PullRequest>, ActionError> {
    match (repository, pr) {
        (Some(repository), Some(pr)) => {
            let repository = Repository::parse(&repository)?;
            let number = parse_pr(&pr)?;
            Ok(Some(PullRequest { repository, number }))
        }
        (None, None) if !action.needs_pull_request() => Ok(None),
        (None, _) if action.needs_pull_request() => {
            Err(ActionError::required("repository", action))
        }
        (Some(repository), None) => {
            Repository::parse(&repository)?;
            if action.needs_pull_request() {
                Err(ActionError::required("pr", action))
            } else {
                Err(ActionError::new("pr", "required when repository is given"))
            }
        }
        (None, _) => Err(ActionError::new("repository", "required when pr is given")),
    }
}

fn parse_summary(
    tier: Option<Value>,
    title: Option<String>,
    description: Option<String>,
    action: ActionKind,
) -> Result<Summary, ActionError> {
    let tier = parse_tier(tier.as_ref(), action)?;
    let title = one_line("title", title, TITLE_MAX_CHARS, action)?;
    let description = description.unwrap_or_default().trim().to_owned();
    if description.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(ActionError::new(
            "description",
            format!("at most {DESCRIPTION_MAX_CHARS} characters"),
        ));
    }
    Ok(Summary {
        tier,
        title,
        description,
    })
}

/// `voting_window_days` (1 to 365) or `voting_window_secs` (60 to 365 days' worth), exactly one.
fn parse_voting_window(
    days: Option<Value>,
    secs: Option<Value>,
    now: Timestamp,
) -> Result<VotingWindow, ActionError> {
    let max_secs = u64::from(*VOTING_WINDOW_DAYS.end()) * SECONDS_PER_DAY;
    match (days, secs) {
        (Some(_), Some(_)) => Err(ActionError::new(
            "voting_window_secs",
            "give voting_window_days or voting_window_secs, not both",
        )),
        (None, None) => Err(ActionError::required(
            "voting_window_days",
            ActionKind::ReviewPeriod,
        )),
        (Some(days), None) => whole_number(&days)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| VOTING_WINDOW_DAYS.contains(n))
            .map(|days| VotingWindow {
                start: now,
                secs: u64::from(days) * SECONDS_PER_DAY,
            })
            .ok_or_else(|| ActionError::new("voting_window_days", "must be 1 to 365")),
        (None, Some(secs)) => whole_number(&secs)
            .filter(|n| (MIN_VOTING_WINDOW_SECS..=max_secs).contains(n))
            .map(|secs| VotingWindow { start: now, secs })
            .ok_or_else(|| {
                ActionError::new(
                    "voting_window_secs",
                    format!("must be {MIN_VOTING_WINDOW_SECS} to {max_secs} (365 days)"),
                )
            }),
    }
}

/// A commit id: 40 or 64 hex characters, lower-cased.
fn parse_commit(field: &'static str, value: &str) -> Result<String, ActionError> {
    let value = value.trim();
    if COMMIT_HEX_LENGTHS.contains(&value.len()) && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(ActionError::new(
            field,
            "must be a commit id: 40 or 64 hex characters",
        ))
    }
}

/// `keyholder` with `change` = `approved`: login, commit and the pull request.
fn parse_approval(
    request: KeyholderRequest,
    pull_request: Option<PullRequest>,
    summary: Summary,
) -> Result<KeyholderApproval, ActionError> {
    for (field, given) in [
        ("keyholder.name", request.name.is_some()),
        ("keyholder.pubkey", request.pubkey.is_some()),
    ] {
        if given {
            return Err(ActionError::new(
                field,
                "not taken by an approval (change approved): it names a login",
            ));
        }
    }
    let login = request
        .login
        .ok_or_else(|| ActionError::new("keyholder.login", "required for an approval"))?
        .trim()
        .to_ascii_lowercase();
    if !crate::configuration::is_github_login(&login) {
        return Err(ActionError::new(
            "keyholder.login",
            "must be a GitHub login: 1 to 39 letters, digits or '-'",
        ));
    }
    let commit = request
        .commit
        .ok_or_else(|| ActionError::new("keyholder.commit", "required for an approval"))?;
    let commit = parse_commit("keyholder.commit", &commit)?;
    let pull_request = pull_request.ok_or_else(|| {
        ActionError::new(
            "repository",
            "required for an approval: the approved pull request",
        )
    })?;
    Ok(KeyholderApproval {
        login,
        commit,
        pull_request,
        summary,
    })
}

fn parse_keyholder(
    request: Option<KeyholderRequest>,
    pull_request: Option<PullRequest>,
    summary: Summary,
) -> Result<GovernanceAction, ActionError> {
    let request = request.ok_or_else(|| {
        ActionError::new(
            "keyholder",
            "required for keyholder: an object with name, pubkey and change",
        )
    })?;
    let approves = request
        .change
        .as_deref()
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("approved"));
    if approves {
        return parse_approval(request, pull_request, summary)
            .map(GovernanceAction::KeyholderApproval);
    }
    for (field, given) in [
        ("keyholder.login", request.login.is_some()),
        ("keyholder.commit", request.commit.is_some()),
    ] {
        if given {
            return Err(ActionError::new(
                field,
                "only an approval (change approved) takes it",
            ));
        }
    }
    let name = one_line(
        "keyholder.name",
        request.name,
        NAME_MAX_CHARS,
        ActionKind::Keyholder,
    )?;
    let pubkey = request
        .pubkey
        .ok_or_else(|| ActionError::required("keyholder.pubkey", ActionKind::Keyholder))?;
    let pubkey = PublicKey::parse(pubkey.trim()).map_err(|_| {
        ActionError::new("keyholder.pubkey", "must be an npub or a 64-hex public key")
    })?;
    let change = request
        .change
        .ok_or_else(|| ActionError::required("keyholder.change", ActionKind::Keyholder))?;
    let change = match change.trim().to_ascii_lowercase().as_str() {
        "added" => KeyholderChange::Added,
        "removed" => KeyholderChange::Removed,
        _ => {
            return Err(ActionError::new(
                "keyholder.change",
                "must be added or removed (or approved: an approval of the pull request)",
            ))
        }
    };
    Ok(GovernanceAction::Keyholder(KeyholderAction {
        name,
        pubkey,
        change,
        pull_request,
        summary,
    }))
}

fn parse_effective_at(value: Option<Value>, now: Timestamp) -> Result<Timestamp, ActionError> {
    let invalid = || {
        ActionError::new(
            "fork.effective_at",
            "must be unix seconds or an RFC 3339 date-time",
        )
    };
    let Some(value) = value else {
        return Ok(now);
    };
    if let Some(secs) = whole_number(&value) {
        return Ok(Timestamp::from_secs(secs));
    }
    let text = value.as_str().ok_or_else(invalid)?;
    let at = chrono::DateTime::parse_from_rfc3339(text.trim()).map_err(|_| invalid())?;
    u64::try_from(at.timestamp())
        .map(Timestamp::from_secs)
        .map_err(|_| invalid())
}

fn parse_fork(
    request: Option<ForkRequest>,
    pull_request: Option<PullRequest>,
    summary: Summary,
    now: Timestamp,
) -> Result<ForkAction, ActionError> {
    let request = request.ok_or_else(|| {
        ActionError::new(
            "fork",
            "required for fork: an object with ruleset, decision and effective_at",
        )
    })?;
    let ruleset = request
        .ruleset
        .ok_or_else(|| ActionError::required("fork.ruleset", ActionKind::Fork))?;
    let ruleset = ruleset.trim();
    let ruleset_ok = !ruleset.is_empty()
        && ruleset.len() <= RULESET_MAX_CHARS
        && ruleset
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ruleset_ok {
        return Err(ActionError::new(
            "fork.ruleset",
            format!("must be 1 to {RULESET_MAX_CHARS} letters, digits, '-', '_' or '.'"),
        ));
    }
    let decision = request
        .decision
        .ok_or_else(|| ActionError::required("fork.decision", ActionKind::Fork))?;
    let decision = match decision.trim().to_ascii_lowercase().as_str() {
        "adopted" => ForkDecision::Adopted,
        "rejected" => ForkDecision::Rejected,
        _ => {
            return Err(ActionError::new(
                "fork.decision",
                "must be adopted or rejected",
            ))
        }
    };
    let effective_at = parse_effective_at(request.effective_at, now)?;
    Ok(ForkAction {
        ruleset: ruleset.to_owned(),
        decision,
        effective_at,
        pull_request,
        summary,
    })
}

fn pull_request_content(pull_request: Option<&PullRequest>) -> (Option<String>, Option<u64>) {
    match pull_request {
        Some(pr) => (Some(pr.repository.as_str().to_owned()), Some(pr.number)),
        None => (None, None),
    }
}

/// `2025-01-15 12:00 UTC`.
fn utc(at: Timestamp) -> String {
    i64::try_from(at.as_secs())
        .ok()
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| format!("unix time {}", at.as_secs()))
}

impl GovernanceAction {
    /// Parses a request into an action. `now` opens a review period's voting window and is a
    /// fork decision's default `effective_at`.
    pub fn parse(request: GovernanceActionRequest, now: Timestamp) -> Result<Self, ActionError> {
        let action: ActionKind = match request.action.as_deref().map(str::trim) {
            None | Some("") => {
                return Err(ActionError::new(
                    "action",
                    "required: merge, review-period, keyholder or fork",
                ))
            }
            Some(action) => action.parse()?,
        };
        if request.voting_window_days.is_some() && action != ActionKind::ReviewPeriod {
            return Err(ActionError::new(
                "voting_window_days",
                "only review-period takes a voting window",
            ));
        }
        if request.voting_window_secs.is_some() && action != ActionKind::ReviewPeriod {
            return Err(ActionError::new(
                "voting_window_secs",
                "only review-period takes a voting window",
            ));
        }
        if request.keyholder.is_some() && action != ActionKind::Keyholder {
            return Err(ActionError::new(
                "keyholder",
                "only the keyholder action takes a keyholder object",
            ));
        }
        if request.commit.is_some() && action != ActionKind::Merge {
            return Err(ActionError::new(
                "commit",
                "only merge takes a commit (an approval's is keyholder.commit)",
            ));
        }
        if request.fork.is_some() && action != ActionKind::Fork {
            return Err(ActionError::new(
                "fork",
                "only the fork action takes a fork object",
            ));
        }

        let pull_request = parse_pull_request(request.repository, request.pr, action)?;
        let summary = parse_summary(request.tier, request.title, request.description, action)?;
        let required = |pull_request: Option<PullRequest>| {
            pull_request.ok_or_else(|| ActionError::required("repository", action))
        };
        Ok(match action {
            ActionKind::Merge => Self::Merge(Merge {
                pull_request: required(pull_request)?,
                summary,
                commit: request
                    .commit
                    .map(|c| parse_commit("commit", &c))
                    .transpose()?,
            }),
            ActionKind::ReviewPeriod => Self::ReviewPeriod(ReviewPeriod {
                voting_window: parse_voting_window(
                    request.voting_window_days,
                    request.voting_window_secs,
                    now,
                )?,
                pull_request: required(pull_request)?,
                summary,
            }),
            ActionKind::Keyholder => parse_keyholder(request.keyholder, pull_request, summary)?,
            ActionKind::Fork => Self::Fork(parse_fork(request.fork, pull_request, summary, now)?),
        })
    }

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

    /// The event's `d` value (see the module doc).
    pub fn d_tag(&self) -> String {
        match self {
            Self::Merge(Merge { pull_request, .. })
            | Self::ReviewPeriod(ReviewPeriod { pull_request, .. }) => d::pull_request_action(
                pull_request.repository.as_str(),
                pull_request.number,
                self.kind().as_str(),
            ),
            Self::Keyholder(a) => d::keyholder(&a.pubkey),
            Self::KeyholderApproval(a) => d::keyholder_approval(
                a.pull_request.repository.as_str(),
                a.pull_request.number,
                &a.login,
            ),
            Self::Fork(a) => d::fork(&a.ruleset),
        }
    }

    /// The event's tags. `zap_address` (the gov bot's lightning address) is tagged only when
    /// the action invites zaps.
    pub fn tags(&self, governance_config: &str, zap_address: Option<&str>) -> Vec<Tag> {
        let mut tags = vec![
            Tag::identifier(self.d_tag()),
            Tag::hashtag(hashtag::GOVERNANCE_ACTION),
            events::single_tag(tag::ACTION, self.kind().as_str()),
        ];
        if let Some(pr) = self.pull_request() {
            tags.push(events::single_tag(tag::REPOSITORY, pr.repository.as_str()));
            tags.push(events::single_tag(tag::PR, pr.number.to_string()));
        }
        tags.push(events::single_tag(tag::TIER, self.tier().get().to_string()));
        tags.push(events::single_tag(
            tag::GOVERNANCE_CONFIG,
            governance_config,
        ));
        match self {
            Self::ReviewPeriod(a) => {
                let window = a.voting_window;
                tags.push(events::voting_window_tag(window.start(), window.end()));
                if let Some(zap) = zap_address {
                    tags.push(events::single_tag(tag::ZAP, zap));
                }
            }
            Self::Keyholder(a) => tags.push(Tag::public_key(a.pubkey)),
            Self::Merge(_) | Self::KeyholderApproval(_) | Self::Fork(_) => {}
        }
        tags.push(Tag::alt(self.alt(zap_address)));
        tags
    }

    /// The event's NIP-31 `alt` line: what a client that cannot show kind 30078 shows instead
    /// (`"Governance proposal: <title>. Zap to vote: ..."`).
    pub fn alt(&self, zap_address: Option<&str>) -> String {
        let title = self.title();
        match self {
            Self::ReviewPeriod(a) => {
                let to = zap_address
                    .map(|address| format!(" ({address})"))
                    .unwrap_or_default();
                format!(
                    "Governance proposal: {title}, {} (tier {}). Zap to vote{to} until {}: \
                     write support, veto or abstain in the zap comment, or tap an option of \
                     its zap poll.",
                    a.pull_request,
                    self.tier().get(),
                    utc(a.voting_window.end()),
                )
            }
            Self::Merge(a) => format!("Governance action: merged {}: {title}", a.pull_request),
            Self::KeyholderApproval(a) => format!(
                "Governance action: keyholder {} approved {} at commit {}: {title}",
                a.login, a.pull_request, a.commit
            ),
            Self::Keyholder(a) => format!(
                "Governance action: keyholder {} {}: {title}",
                a.name,
                a.change.as_str()
            ),
            Self::Fork(a) => format!(
                "Governance action: ruleset {} {}: {title}",
                a.ruleset,
                a.decision.as_str()
            ),
        }
    }

    /// The event's JSON content.
    pub fn content(&self) -> ActionContent {
        let summary = self.summary();
        let (repository, pr) = pull_request_content(self.pull_request());
        let mut content = ActionContent {
            action: self.kind(),
            repository,
            pr,
            tier: summary.tier.get(),
            title: summary.title.clone(),
            description: summary.description.clone(),
            voting_window: None,
            keyholder: None,
            approval: None,
            commit: None,
            fork: None,
            rules: None,
            ballot_key_pools: Vec::new(),
        };
        match self {
            Self::Merge(a) => content.commit = a.commit.clone(),
            Self::KeyholderApproval(a) => {
                content.approval = Some(ApprovalContent {
                    login: a.login.clone(),
                    commit: a.commit.clone(),
                })
            }
            Self::ReviewPeriod(a) => {
                content.voting_window = Some(VotingWindowContent {
                    start: a.voting_window.start().as_secs(),
                    end: a.voting_window.end().as_secs(),
                    days: a.voting_window.days(),
                })
            }
            Self::Keyholder(a) => {
                content.keyholder = Some(KeyholderContent {
                    name: a.name.clone(),
                    pubkey: a.pubkey.to_hex(),
                    npub: a.pubkey.to_bech32().unwrap_or_default(),
                    change: a.change,
                })
            }
            Self::Fork(a) => {
                content.fork = Some(ForkContent {
                    ruleset: a.ruleset.clone(),
                    decision: a.decision,
                    effective_at: a.effective_at.as_secs(),
                })
            }
        }
        content
    }

    /// `t` tags for the announcement note: `governance` and the action; a review period's
    /// also `governance-proposal`, which (with its `e` tag to the proposal) makes the note one
    /// of the proposal's vote targets.
    pub fn announcement_hashtags(&self) -> Vec<&'static str> {
        let mut hashtags = vec![hashtag::GOVERNANCE, self.kind().as_str()];
        if self.invites_zaps() {
            hashtags.push(hashtag::GOVERNANCE_PROPOSAL);
        }
        hashtags
    }

    /// The text of the kind-1 announcement. With the action event's `address`, it ends with a
    /// `nostr:naddr1...` link that clients render as the structured event.
    pub fn announcement(&self, address: Option<&Coordinate>) -> String {
        self.announcement_with(address, &[], None, None)
    }

    /// [`GovernanceAction::announcement`] with the relays to hint in the `naddr` link and, for
    /// a review period, the zap poll's `nevent1...` (linked at the end, so clients that know
    /// zap polls show its option buttons inside the note). `sealed` is the proposal's id when
    /// it pins ballot keys: the text then says how to seal a vote and what a sealed ballot hides.
    pub fn announcement_with(
        &self,
        address: Option<&Coordinate>,
        relays: &[RelayUrl],
        poll: Option<&str>,
        sealed: Option<&EventId>,
    ) -> String {
        let tier = self.tier().get();
        let title = self.title();
        let mut text = match self {
            Self::Merge(a) => match &a.commit {
                Some(commit) => format!(
                    "Merged {} as commit {commit} (tier {tier}): {title}",
                    a.pull_request
                ),
                None => format!("Merged {} (tier {tier}): {title}", a.pull_request),
            },
            Self::KeyholderApproval(a) => format!(
                "Keyholder {} approved {} at commit {} (tier {tier}): {title}",
                a.login, a.pull_request, a.commit
            ),
            Self::ReviewPeriod(a) => format!(
                "Review period open for {} (tier {tier}): {title}\n\n\
                 Voting closes {} ({}). To vote, zap this note and write support, \
                 veto or abstain in the zap comment (yes or approve, oppose or against, \
                 neutral count too; a comment without one of these words counts as \
                 support), or tap support, veto or abstain in its zap poll. Each voter's \
                 zaps add up, and a vote weighs the square root of the bitcoin zapped.",
                a.pull_request,
                utc(a.voting_window.end()),
                a.voting_window.length(),
            ),
            Self::Keyholder(a) => format!(
                "Keyholder {}: {} ({}) (tier {tier}): {title}",
                a.change.as_str(),
                a.name,
                a.pubkey.to_bech32().unwrap_or_else(|_| a.pubkey.to_hex()),
            ),
            Self::Fork(a) => format!(
                "Governance fork decision: ruleset {} {}, effective {} (tier {tier}): {title}",
                a.ruleset,
                a.decision.as_str(),
                utc(a.effective_at),
            ),
        };
        if let (Self::Keyholder(_) | Self::Fork(_), Some(pr)) = (self, self.pull_request()) {
            text.push_str(&format!("\nPull request: {pr}"));
        }
        if let (Self::ReviewPeriod(a), Some(proposal)) = (self, sealed) {
            text.push_str(&format!(
                "\n\nTo keep your choice secret until the close, zap with a sealed ballot as the \
                 comment instead of a word: get one for your npub on the proposal's page (\"Vote \
                 secretly\") or with `commons-nostr ballot {} --vote veto --voter <your npub>`. \
                 It hides your choice until {}, when it is opened and counted; your npub and \
                 the amount you zap are public at once, as with every zap.",
                proposal.to_hex(),
                utc(a.voting_window.end()),
            ));
        }
        let description = self.summary().description();
        if !description.is_empty() {
            text.push_str("\n\n");
            text.push_str(description);
        }
        if let Some(poll) = poll {
            text.push_str("\n\nZap poll: nostr:");
            text.push_str(poll);
        }
        if let Some(address) = address {
            let naddr = Nip19Coordinate::new(address.clone(), relays.to_vec()).to_bech32();
            if let Ok(naddr) = naddr {
                text.push_str("\n\nnostr:");
                text.push_str(&naddr);
            }
        }
        text
    }

    /// A review period's zap poll `alt` line (NIP-31); `None` for other actions.
    pub fn zap_poll_alt(&self) -> Option<String> {
        let Self::ReviewPeriod(a) = self else {
            return None;
        };
        Some(format!(
            "Zap poll of governance proposal {}: {}. Zap an option (support, veto or abstain) \
             to vote, until {}.",
            a.pull_request,
            self.title(),
            utc(a.voting_window.end()),
        ))
    }

    /// A review period's zap poll content (kind 6969): the title, and a line on how the vote
    /// is weighed under its pinned `rules`. `None` for other actions.
    pub fn zap_poll_content(&self, rules: Option<&VoteRules>) -> Option<String> {
        let Self::ReviewPeriod(a) = self else {
            return None;
        };
        let mut text = format!(
            "{} ({}): {}",
            a.pull_request,
            self.kind().as_str(),
            self.title()
        );
        text.push_str(
            "\n\nTap support, veto or abstain and zap any amount. Each voter's zaps add up; \
             a vote weighs the square root of the bitcoin zapped (quadratic)",
        );
        if let Some(rules) = rules {
            text.push_str(&format!(
                ", at least {} x the voter's participation weight, and at most {} % of all \
                 participation once enough people take part. It passes at {} support unless \
                 veto reaches {} % of support and veto",
                rules.participation_floor,
                rules.weight_cap * 100.0,
                rules.threshold,
                rules.veto_threshold * 100.0,
            ));
        }
        text.push('.');
        Some(text)
    }
}

// ---------------------------------------------------------------------------------------------
// Content
// ---------------------------------------------------------------------------------------------

/// The JSON content of a governance action event. Absent parts are left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionContent {
    pub action: ActionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<u64>,
    pub tier: u8,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voting_window: Option<VotingWindowContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyholder: Option<KeyholderContent>,
    /// A keyholder's approval of the pull request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalContent>,
    /// A merge's merge commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork: Option<ForkContent>,
    /// A review period's vote rules, pinned when it is published (DESIGN.md "Votes").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<VoteRules>,
    /// With independent ballot key holders: each holder's signed pool event the proposal took
    /// its key from, in `rules.sealed` order, so anyone can check later that the key came from
    /// the holder even after relays replaced that (replaceable) event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ballot_key_pools: Vec<nostr_sdk::Event>,
}

/// `voting_window` in [`ActionContent`]: unix seconds, and the length in days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VotingWindowContent {
    pub start: u64,
    pub end: u64,
    pub days: u32,
}

/// `keyholder` in [`ActionContent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyholderContent {
    pub name: String,
    /// Hex.
    pub pubkey: String,
    pub npub: String,
    pub change: KeyholderChange,
}

/// `approval` in [`ActionContent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalContent {
    /// The keyholder's GitHub login.
    pub login: String,
    /// The approved commit (hex).
    pub commit: String,
}

/// `fork` in [`ActionContent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkContent {
    pub ruleset: String,
    pub decision: ForkDecision,
    /// Unix seconds.
    pub effective_at: u64,
}

impl ActionContent {
    /// The `d` value this content implies, or `None` when the content lacks its key fields.
    pub fn d_tag(&self) -> Option<String> {
        match self.action {
            ActionKind::Merge | ActionKind::ReviewPeriod => Some(d::pull_request_action(
                self.repository.as_deref()?,
                self.pr?,
                self.action.as_str(),
            )),
            ActionKind::Keyholder => match &self.approval {
                Some(approval) => Some(d::keyholder_approval(
                    self.repository.as_deref()?,
                    self.pr?,
                    &approval.login,
                )),
                None => {
                    let pubkey = PublicKey::from_hex(&self.keyholder.as_ref()?.pubkey).ok()?;
                    Some(d::keyholder(&pubkey))
                }
            },
            ActionKind::Fork => Some(d::fork(&self.fork.as_ref()?.ruleset)),
        }
    }
}

/// The rules in force for one proposal's vote (the proposal content's `rules`), as they are
/// written in the event. What each means, and how they are made from the settings, is
/// [`crate::votes::rules`]'s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoteRules {
    /// The participation weight counts contributions in `(T - days, T]`.
    pub participation_window_days: u32,
    /// A sender whose young contributions add up to at least this (BTC) is cooling off.
    pub cooling_off_threshold_btc: f64,
    /// Contributions with `created_at` in `(T - days, T]` are young.
    pub cooling_off_days: u32,
    /// A vote weighs at least `participation_floor * P(s)`.
    pub participation_floor: f64,
    /// A vote weighs at most `weight_cap * W` (once enough senders participate).
    pub weight_cap: f64,
    /// The support weight the proposal's tier needs.
    pub threshold: f64,
    /// Veto blocks at this fraction of support + veto weight.
    pub veto_threshold: f64,
    /// The LNURL provider keys whose receipts count (hex), sorted, no duplicates. A set on the
    /// wire: read in any order, kept sorted (the vote rules search it).
    #[serde(deserialize_with = "key_set")]
    pub zappers: Vec<PublicKey>,
    /// The bots whose received zaps are contributions (hex), sorted, no duplicates. Empty means
    /// any recipient. Our extension of DESIGN.md, which pins only `zappers`.
    #[serde(default, deserialize_with = "key_set")]
    pub bots: Vec<PublicKey>,
    /// The ballot keys sealed ballots are made for (DESIGN.md "Sealed ballots"). Absent on
    /// proposals published without sealed ballots (before they existed, or with
    /// `governance.sealed_ballots = false`): those have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<super::ballot_keys::SealedRules>,
}

/// A list of keys read as the set it stands for: sorted, duplicates dropped.
fn key_set<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<PublicKey>, D::Error> {
    let mut keys = Vec::<PublicKey>::deserialize(deserializer)?;
    keys.sort_unstable();
    keys.dedup();
    Ok(keys)
}

// The governance action's event: built and read back here, in the vocabulary of
// [`crate::nostr::events`] (kinds, tag names, `d` values).

/// Governance action, kind 30078, signed by the gov bot. `zap_address` is the gov bot's
/// lightning address; it is tagged only on actions that invite zaps (review periods).
pub fn governance_action(
    action: &GovernanceAction,
    governance_config: &str,
    zap_address: Option<&str>,
) -> EventBuilder {
    governance_action_content(action, &action.content(), governance_config, zap_address)
}

/// [`governance_action`] with its content given: a review period's content with its pinned
/// vote `rules` ([`ActionContent::rules`]).
pub fn governance_action_content(
    action: &GovernanceAction,
    content: &ActionContent,
    governance_config: &str,
    zap_address: Option<&str>,
) -> EventBuilder {
    let mut tags = action.tags(governance_config, zap_address);
    if let Some(sealed) = content.rules.as_ref().and_then(|r| r.sealed.as_ref()) {
        tags.extend(sealed.tags());
    }
    EventBuilder::new(kind::GOVERNANCE_ACTION, to_json(content)).tags(tags)
}

/// A governance action event, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct GovernanceActionEvent {
    pub d: String,
    pub action: ActionKind,
    pub repository: Option<String>,
    pub pr: Option<u64>,
    pub tier: u8,
    pub governance_config: String,
    /// Lightning address, where zaps are invited.
    pub zap: Option<String>,
    /// Start and end, unix seconds (review periods).
    pub voting_window: Option<(Timestamp, Timestamp)>,
    pub content: ActionContent,
}

/// Reads a governance action event. Its `d` must be the one its content implies, and its
/// `action`, `repository`, `pr`, `tier` and `voting_window` tags must match the content.
pub fn parse_governance_action(event: &Event) -> Result<GovernanceActionEvent, ParseError> {
    expect_kind(event, kind::GOVERNANCE_ACTION)?;
    let d = identifier(event)?;
    if !d.starts_with(d::ACTION_PREFIX) {
        return Err(ParseError::WrongIdentifier {
            expected: format!("{}...", d::ACTION_PREFIX),
            found: d.to_owned(),
        });
    }
    let action_tag = tag_value(event, tag::ACTION)?;
    let action: ActionKind = action_tag.parse().map_err(|_| ParseError::InvalidTag {
        tag: tag::ACTION,
        value: action_tag.to_owned(),
        reason: "unknown action".to_owned(),
    })?;
    let tier: u8 = parse_number(tag::TIER, tag_value(event, tag::TIER)?)?;
    let governance_config = tag_value(event, tag::GOVERNANCE_CONFIG)?;
    let repository = tag_value(event, tag::REPOSITORY).ok();
    let pr = match tag_value(event, tag::PR) {
        Ok(pr) => Some(parse_number::<u64>(tag::PR, pr)?),
        Err(_) => None,
    };
    let zap = tag_value(event, tag::ZAP).ok().map(str::to_owned);
    let voting_window = match tag_values(event, tag::VOTING_WINDOW) {
        Some([start, end, ..]) => {
            let start: u64 = parse_number(tag::VOTING_WINDOW, start)?;
            let end: u64 = parse_number(tag::VOTING_WINDOW, end)?;
            if end <= start {
                return Err(ParseError::InvalidTag {
                    tag: tag::VOTING_WINDOW,
                    value: format!("{start}, {end}"),
                    reason: "end must be after start".to_owned(),
                });
            }
            Some((Timestamp::from_secs(start), Timestamp::from_secs(end)))
        }
        Some(values) => {
            return Err(ParseError::InvalidTag {
                tag: tag::VOTING_WINDOW,
                value: values.join(", "),
                reason: "expected start, end".to_owned(),
            })
        }
        None => None,
    };
    if action == ActionKind::ReviewPeriod && voting_window.is_none() {
        return Err(ParseError::MissingTag {
            tag: tag::VOTING_WINDOW,
        });
    }

    let content: ActionContent = content(event, "governance action")?;
    expect_match(tag::ACTION, action.as_str(), content.action.as_str())?;
    expect_match(tag::TIER, &tier.to_string(), &content.tier.to_string())?;
    let or_none = |v: Option<String>| v.unwrap_or_else(|| "(none)".to_owned());
    expect_match(
        tag::REPOSITORY,
        &or_none(repository.map(str::to_owned)),
        &or_none(content.repository.clone()),
    )?;
    expect_match(
        tag::PR,
        &or_none(pr.map(|p| p.to_string())),
        &or_none(content.pr.map(|p| p.to_string())),
    )?;
    if let (Some((start, end)), Some(window)) = (voting_window, &content.voting_window) {
        expect_match(
            tag::VOTING_WINDOW,
            &format!("{}, {}", start.as_secs(), end.as_secs()),
            &format!("{}, {}", window.start, window.end),
        )?;
    }
    if let Some(expected) = content.d_tag() {
        expect_match(tag::D, d, &expected)?;
    }
    Ok(GovernanceActionEvent {
        d: d.to_owned(),
        action,
        repository: repository.map(str::to_owned),
        pr,
        tier,
        governance_config: governance_config.to_owned(),
        zap,
        voting_window,
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::{governance_action, parse_governance_action};
    use crate::nostr::events::proposal_coordinate;
    use nostr_sdk::{Event, Keys};
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn parse(body: Value) -> Result<GovernanceAction, ActionError> {
        let request: GovernanceActionRequest = serde_json::from_value(body).expect("request shape");
        GovernanceAction::parse(request, Timestamp::from_secs(NOW))
    }

    fn merge_body() -> Value {
        json!({"action": "merge", "repository": "btc-commons/governance", "pr": 42, "tier": 2,
               "title": "Fix the tally rounding", "description": "Rounds half to even."})
    }

    fn review_body() -> Value {
        json!({"action": "review-period", "repository": "btc-commons/governance", "pr": 43,
               "tier": 3, "title": "Raise the weight cap", "voting_window_days": 14})
    }

    fn keyholder_body(pubkey: &str) -> Value {
        json!({"action": "keyholder", "tier": 4, "title": "Welcome Alice",
               "keyholder": {"name": "Alice", "pubkey": pubkey, "change": "added"}})
    }

    fn fork_body() -> Value {
        json!({"action": "fork", "tier": 5, "title": "Adopt the v2 ruleset",
               "repository": "btc-commons/governance", "pr": 50,
               "fork": {"ruleset": "commons_v2", "decision": "adopted",
                        "effective_at": "2025-01-01T00:00:00Z"}})
    }

    fn with(mut body: Value, key: &str, value: Value) -> Value {
        body[key] = value;
        body
    }

    fn without(mut body: Value, key: &str) -> Value {
        body.as_object_mut().unwrap().remove(key);
        body
    }

    fn error(body: Value) -> ActionError {
        parse(body).expect_err("the request is refused")
    }

    fn sign(action: &GovernanceAction) -> (Keys, Event) {
        let keys = Keys::generate();
        let event = governance_action(action, "commons_mainnet", Some("gov@example.org"))
            .sign_with_keys(&keys)
            .unwrap();
        event.verify().expect("verifies");
        (keys, event)
    }

    fn tags(event: &Event) -> Vec<Vec<String>> {
        event.tags.iter().map(|t| t.as_slice().to_vec()).collect()
    }

    fn tag_list(tags: &[&[&str]]) -> Vec<Vec<String>> {
        tags.iter()
            .map(|t| t.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    #[test]
    fn merge_event() {
        let action = parse(merge_body()).unwrap();
        assert_eq!(action.kind(), ActionKind::Merge);
        assert_eq!(action.d_tag(), "action:btc-commons/governance:42:merge");
        assert!(!action.invites_zaps());
        let (_, event) = sign(&action);
        assert_eq!(event.kind.as_u16(), 30078);
        assert_eq!(
            tags(&event),
            tag_list(&[
                &["d", "action:btc-commons/governance:42:merge"],
                &["t", "governance-action"],
                &["action", "merge"],
                &["repository", "btc-commons/governance"],
                &["pr", "42"],
                &["tier", "2"],
                &["governance_config", "commons_mainnet"],
                &[
                    "alt",
                    "Governance action: merged btc-commons/governance#42: Fix the tally rounding"
                ],
            ])
        );
        let content: Value = serde_json::from_str(&event.content).unwrap();
        assert_eq!(
            content,
            json!({"action": "merge", "repository": "btc-commons/governance", "pr": 42,
                   "tier": 2, "title": "Fix the tally rounding",
                   "description": "Rounds half to even."})
        );
        assert_eq!(
            action.announcement(None),
            "Merged btc-commons/governance#42 (tier 2): Fix the tally rounding\n\n\
             Rounds half to even."
        );
        assert_eq!(
            parse_governance_action(&event).unwrap().content,
            action.content()
        );
    }

    #[test]
    fn a_review_period_with_sealed_rules_tags_each_ballot_key_and_reads_back() {
        use crate::nostr::ballot_keys::{BallotHolder, BallotKey, SealedRules};

        let action = parse(review_body()).unwrap();
        let gov = Keys::generate();
        let holder = Keys::generate().public_key();
        let sealed = SealedRules::new(vec![
            BallotHolder {
                holder: gov.public_key(),
                key: BallotKey::from_bytes([7; 32]),
            },
            BallotHolder {
                holder,
                key: BallotKey::from_bytes([8; 32]),
            },
        ]);
        let mut rules: VoteRules = serde_json::from_value(json!({
            "participation_window_days": 90, "cooling_off_threshold_btc": 0.1,
            "cooling_off_days": 30, "participation_floor": 0.1, "weight_cap": 0.05,
            "threshold": 100.0, "veto_threshold": 0.4, "zappers": []
        }))
        .expect("rules without `sealed` still read");
        assert_eq!(rules.sealed, None);
        rules.sealed = Some(sealed.clone());
        let mut content = action.content();
        content.rules = Some(rules);
        let event = governance_action_content(&action, &content, "commons_mainnet", None)
            .sign_with_keys(&gov)
            .unwrap();
        let all = tags(&event);
        let ballot_keys: Vec<&Vec<String>> = all.iter().filter(|t| t[0] == "ballot_key").collect();
        assert_eq!(
            ballot_keys,
            vec![
                &vec![
                    "ballot_key".to_owned(),
                    "07".repeat(32),
                    gov.public_key().to_hex()
                ],
                &vec!["ballot_key".to_owned(), "08".repeat(32), holder.to_hex()],
            ]
        );
        let p: Vec<&Vec<String>> = all.iter().filter(|t| t[0] == "p").collect();
        assert_eq!(p, vec![&vec!["p".to_owned(), holder.to_hex()]]);
        let read = parse_governance_action(&event).expect("parses");
        assert_eq!(read.content.rules.and_then(|r| r.sealed), Some(sealed));
    }

    #[test]
    fn a_short_window_in_seconds_instead_of_days() {
        let mut body = review_body();
        body.as_object_mut().map(|o| o.remove("voting_window_days"));
        let action = parse(with(body.clone(), "voting_window_secs", json!(90))).unwrap();
        let window = action.voting_window().unwrap();
        assert_eq!(window.end().as_secs(), NOW + 90);
        assert_eq!((window.secs(), window.days()), (90, 0));
        assert!(action.announcement(None).contains("(90 seconds)"));
        assert_eq!(
            parse(with(body.clone(), "voting_window_secs", json!(60)))
                .unwrap()
                .voting_window()
                .unwrap()
                .secs(),
            60
        );
        for (bad, field) in [
            (
                with(body.clone(), "voting_window_secs", json!(59)),
                "voting_window_secs",
            ),
            (
                with(body.clone(), "voting_window_secs", json!(-60)),
                "voting_window_secs",
            ),
            (
                with(body.clone(), "voting_window_secs", json!("soon")),
                "voting_window_secs",
            ),
            (
                with(body.clone(), "voting_window_secs", json!(366 * 86_400)),
                "voting_window_secs",
            ),
            (
                with(review_body(), "voting_window_secs", json!(90)),
                "voting_window_secs",
            ),
            (
                with(merge_body(), "voting_window_secs", json!(90)),
                "voting_window_secs",
            ),
            (body.clone(), "voting_window_days"),
        ] {
            let error = parse(bad.clone()).expect_err("refused");
            assert!(error.to_string().starts_with(field), "{bad}: {error}");
        }
    }

    #[test]
    fn review_period_event() {
        let action = parse(review_body()).unwrap();
        let end = NOW + 14 * 86_400;
        let window = action.voting_window().unwrap();
        assert_eq!(
            (
                window.start().as_secs(),
                window.end().as_secs(),
                window.days()
            ),
            (NOW, end, 14)
        );
        assert!(action.invites_zaps());
        let (keys, event) = sign(&action);
        assert_eq!(
            tags(&event),
            tag_list(&[
                &["d", "action:btc-commons/governance:43:review-period"],
                &["t", "governance-action"],
                &["action", "review-period"],
                &["repository", "btc-commons/governance"],
                &["pr", "43"],
                &["tier", "3"],
                &["governance_config", "commons_mainnet"],
                &["voting_window", &NOW.to_string(), &end.to_string()],
                &["zap", "gov@example.org"],
                &["alt", &action.alt(Some("gov@example.org"))],
            ])
        );
        assert_eq!(
            action.alt(Some("gov@example.org")),
            "Governance proposal: Raise the weight cap, btc-commons/governance#43 (tier 3). \
             Zap to vote (gov@example.org) until 2023-11-28 22:13 UTC: write support, veto or \
             abstain in the zap comment, or tap an option of its zap poll."
        );
        let content: Value = serde_json::from_str(&event.content).unwrap();
        assert_eq!(
            content,
            json!({"action": "review-period", "repository": "btc-commons/governance",
                   "pr": 43, "tier": 3, "title": "Raise the weight cap", "description": "",
                   "voting_window": {"start": NOW, "end": end, "days": 14}})
        );
        let address = proposal_coordinate(&keys.public_key(), &action.d_tag());
        let text = action.announcement(Some(&address));
        assert!(text.starts_with(
            "Review period open for btc-commons/governance#43 (tier 3): Raise the weight cap"
        ));
        assert!(text.contains("Voting closes 2023-11-28 22:13 UTC (14 days)"));
        assert!(text.contains("\n\nnostr:naddr1"));
        assert!(text.contains("zap this note and write support, veto or abstain"));
        assert!(text.contains("zap poll"));
        assert_eq!(
            action.announcement_hashtags(),
            ["governance", "review-period", "governance-proposal"]
        );
        // With relay hints and the poll's nevent.
        let relay = RelayUrl::parse("wss://relay.example.org").unwrap();
        let with = action.announcement_with(Some(&address), &[relay], Some("nevent1xyz"), None);
        assert!(with.contains("\n\nZap poll: nostr:nevent1xyz"));
        let naddr = with.rsplit("nostr:").next().unwrap();
        let decoded = <Nip19Coordinate as nostr_sdk::FromBech32>::from_bech32(naddr).unwrap();
        assert_eq!(decoded.relays.len(), 1);
        assert_eq!(decoded.coordinate, address);
        assert!(
            !with.contains("sealed ballot"),
            "no keys pinned, no sealed ballots"
        );
        // A proposal that pins ballot keys says how to seal a vote and what it hides.
        let proposal = EventId::from_byte_array([0xab; 32]);
        let sealed = action.announcement_with(Some(&address), &[], None, Some(&proposal));
        assert!(sealed.contains(&format!(
            "commons-nostr ballot {} --vote veto --voter <your npub>",
            proposal.to_hex()
        )));
        assert!(sealed.contains("hides your choice until 2023-11-28 22:13 UTC"));
        assert!(sealed.contains("your npub and the amount you zap are public"));
        assert!(
            sealed.contains("\n\nnostr:naddr1"),
            "the naddr link stays last"
        );
        let poll = action.zap_poll_content(None).unwrap();
        assert!(poll.starts_with("btc-commons/governance#43 (review-period): Raise the weight cap"));
        assert!(poll.contains("square root of the bitcoin"));
        assert_eq!(parse(merge_body()).unwrap().zap_poll_content(None), None);
        assert_eq!(
            parse_governance_action(&event).unwrap().content,
            action.content()
        );
    }

    #[test]
    fn keyholder_event_is_keyed_by_the_key_whatever_its_spelling() {
        let pubkey = Keys::generate().public_key();
        let npub = pubkey.to_bech32().unwrap();
        let by_hex = parse(keyholder_body(&pubkey.to_hex())).unwrap();
        let by_npub = parse(keyholder_body(&npub)).unwrap();
        let mut body = keyholder_body("");
        body["keyholder"] = json!({"name": "Alice", "npub": npub, "change": "added"});
        let by_npub_field = parse(body).unwrap();
        assert_eq!(by_hex, by_npub);
        assert_eq!(by_hex, by_npub_field);
        let d = format!("action:keyholder:{}", pubkey.to_hex());
        assert_eq!(by_hex.d_tag(), d);

        let (_, event) = sign(&by_hex);
        assert_eq!(
            tags(&event),
            tag_list(&[
                &["d", &d],
                &["t", "governance-action"],
                &["action", "keyholder"],
                &["tier", "4"],
                &["governance_config", "commons_mainnet"],
                &["p", &pubkey.to_hex()],
                &[
                    "alt",
                    "Governance action: keyholder Alice added: Welcome Alice"
                ],
            ])
        );
        let content: Value = serde_json::from_str(&event.content).unwrap();
        assert_eq!(
            content,
            json!({"action": "keyholder", "tier": 4, "title": "Welcome Alice",
                   "description": "", "keyholder": {"name": "Alice", "pubkey": pubkey.to_hex(),
                   "npub": npub, "change": "added"}})
        );
        assert!(by_hex
            .announcement(None)
            .starts_with(&format!("Keyholder added: Alice ({npub})")));
        assert_eq!(parse_governance_action(&event).unwrap().d, d);
    }

    #[test]
    fn fork_event() {
        let action = parse(fork_body()).unwrap();
        assert_eq!(action.d_tag(), "action:fork:commons_v2");
        let (_, event) = sign(&action);
        assert_eq!(
            tags(&event),
            tag_list(&[
                &["d", "action:fork:commons_v2"],
                &["t", "governance-action"],
                &["action", "fork"],
                &["repository", "btc-commons/governance"],
                &["pr", "50"],
                &["tier", "5"],
                &["governance_config", "commons_mainnet"],
                &[
                    "alt",
                    "Governance action: ruleset commons_v2 adopted: Adopt the v2 ruleset"
                ],
            ])
        );
        let content: Value = serde_json::from_str(&event.content).unwrap();
        assert_eq!(
            content["fork"],
            json!({"ruleset": "commons_v2", "decision": "adopted", "effective_at": 1_735_689_600})
        );
        assert!(action.announcement(None).starts_with(
            "Governance fork decision: ruleset commons_v2 adopted, effective 2025-01-01 00:00 UTC"
        ));
        assert!(action
            .announcement(None)
            .contains("Pull request: btc-commons/governance#50"));
        assert!(parse_governance_action(&event).is_ok());

        // effective_at defaults to now and takes unix seconds; no pull request is fine.
        let mut body = without(without(fork_body(), "repository"), "pr");
        body["fork"]["effective_at"] = Value::Null;
        let GovernanceAction::Fork(fork) = parse(body.clone()).unwrap() else {
            panic!("a fork")
        };
        assert_eq!(fork.effective_at().as_secs(), NOW);
        body["fork"]["effective_at"] = json!(1_800_000_000);
        let GovernanceAction::Fork(fork) = parse(body).unwrap() else {
            panic!("a fork")
        };
        assert_eq!(fork.effective_at().as_secs(), 1_800_000_000);
    }

    #[test]
    fn lenient_input_is_accepted() {
        let body = json!({"action": " merge ", "repository": " a/b ", "pr": "7", "tier": "1",
                          "title": "  Hi  ", "unknown": true});
        let action = parse(body).unwrap();
        assert_eq!(action.d_tag(), "action:a/b:7:merge");
        assert_eq!(action.title(), "Hi");
        assert_eq!(action.tier().get(), 1);
        let action = parse(with(review_body(), "voting_window_days", json!("365"))).unwrap();
        assert_eq!(action.voting_window().unwrap().days(), 365);
        let action = parse(with(merge_body(), "tier", json!(5.0))).unwrap();
        assert_eq!(action.tier().get(), 5);
    }

    #[test]
    fn every_error_names_its_field() {
        let pubkey = Keys::generate().public_key().to_hex();
        let cases: Vec<(Value, &str, &str)> = vec![
            (
                with(merge_body(), "action", json!("foo")),
                "action",
                "unknown action 'foo'",
            ),
            (without(merge_body(), "action"), "action", "required"),
            (
                with(merge_body(), "action", json!("")),
                "action",
                "required",
            ),
            (
                without(merge_body(), "repository"),
                "repository",
                "required for merge",
            ),
            (
                without(review_body(), "repository"),
                "repository",
                "required for review-period",
            ),
            (without(merge_body(), "pr"), "pr", "required for merge"),
            (without(merge_body(), "tier"), "tier", "required for merge"),
            (
                without(merge_body(), "title"),
                "title",
                "required for merge",
            ),
            (
                without(review_body(), "voting_window_days"),
                "voting_window_days",
                "required for review-period",
            ),
            (
                with(merge_body(), "tier", json!(0)),
                "tier",
                "must be 1 to 5",
            ),
            (
                with(merge_body(), "tier", json!(6)),
                "tier",
                "must be 1 to 5",
            ),
            (
                with(merge_body(), "tier", json!(-1)),
                "tier",
                "must be 1 to 5",
            ),
            (
                with(merge_body(), "tier", json!("high")),
                "tier",
                "must be 1 to 5",
            ),
            (
                with(merge_body(), "tier", json!(2.5)),
                "tier",
                "must be 1 to 5",
            ),
            (
                with(merge_body(), "tier", json!(256)),
                "tier",
                "must be 1 to 5",
            ),
            (with(merge_body(), "pr", json!(0)), "pr", "1 or more"),
            (with(merge_body(), "pr", json!("x")), "pr", "1 or more"),
            (
                with(merge_body(), "title", json!("   ")),
                "title",
                "must not be empty",
            ),
            (
                with(merge_body(), "title", json!("a".repeat(201))),
                "title",
                "at most 200",
            ),
            (
                with(merge_body(), "title", json!("two\nlines")),
                "title",
                "single line",
            ),
            (
                with(merge_body(), "description", json!("a".repeat(10_001))),
                "description",
                "at most 10000",
            ),
            (
                with(review_body(), "voting_window_days", json!(0)),
                "voting_window_days",
                "must be 1 to 365",
            ),
            (
                with(review_body(), "voting_window_days", json!(366)),
                "voting_window_days",
                "must be 1 to 365",
            ),
            (
                with(merge_body(), "voting_window_days", json!(14)),
                "voting_window_days",
                "only review-period",
            ),
            (
                with(merge_body(), "keyholder", json!({})),
                "keyholder",
                "only the keyholder action",
            ),
            (
                with(merge_body(), "fork", json!({})),
                "fork",
                "only the fork action",
            ),
            (
                without(keyholder_body(&pubkey), "keyholder"),
                "keyholder",
                "required for keyholder",
            ),
            (
                with(
                    keyholder_body(&pubkey),
                    "keyholder",
                    json!({"pubkey": pubkey, "change": "added"}),
                ),
                "keyholder.name",
                "required",
            ),
            (
                with(
                    keyholder_body(&pubkey),
                    "keyholder",
                    json!({"name": "A", "change": "added"}),
                ),
                "keyholder.pubkey",
                "required",
            ),
            (
                keyholder_body("npub1notakey"),
                "keyholder.pubkey",
                "npub or a 64-hex",
            ),
            (
                with(
                    keyholder_body(&pubkey),
                    "keyholder",
                    json!({"name": "A", "pubkey": pubkey}),
                ),
                "keyholder.change",
                "required",
            ),
            (
                with(
                    keyholder_body(&pubkey),
                    "keyholder",
                    json!({"name": "A", "pubkey": pubkey, "change": "promoted"}),
                ),
                "keyholder.change",
                "added or removed",
            ),
            (
                without(keyholder_body(&pubkey), "tier"),
                "tier",
                "required for keyholder",
            ),
            (without(fork_body(), "fork"), "fork", "required for fork"),
            (
                with(fork_body(), "fork", json!({"decision": "adopted"})),
                "fork.ruleset",
                "required",
            ),
            (
                with(
                    fork_body(),
                    "fork",
                    json!({"ruleset": "a:b", "decision": "adopted"}),
                ),
                "fork.ruleset",
                "letters, digits",
            ),
            (
                with(fork_body(), "fork", json!({"ruleset": "v2"})),
                "fork.decision",
                "required",
            ),
            (
                with(
                    fork_body(),
                    "fork",
                    json!({"ruleset": "v2", "decision": "maybe"}),
                ),
                "fork.decision",
                "adopted or rejected",
            ),
            (
                with(
                    fork_body(),
                    "fork",
                    json!({"ruleset": "v2", "decision": "adopted", "effective_at": "soon"}),
                ),
                "fork.effective_at",
                "RFC 3339",
            ),
            (
                with(
                    fork_body(),
                    "fork",
                    json!({"ruleset": "v2", "decision": "adopted", "effective_at": -5}),
                ),
                "fork.effective_at",
                "RFC 3339",
            ),
            (
                without(fork_body(), "pr"),
                "pr",
                "required when repository is given",
            ),
            (
                without(fork_body(), "repository"),
                "repository",
                "required when pr is given",
            ),
        ];
        for (body, field, message) in cases {
            let err = error(body.clone());
            assert_eq!(err.field(), field, "{body}: {err}");
            assert!(err.message().contains(message), "{body}: {err}");
            assert_eq!(err.to_string(), format!("{}: {}", field, err.message()));
        }
    }

    #[test]
    fn bad_repositories_are_refused() {
        for repository in [
            "noslash",
            "a/b/c",
            "a b/c",
            "a:b/c",
            "a/b:c",
            "/name",
            "owner/",
            "../x",
            "owner/..",
            "",
            "ówner/name",
        ] {
            let err = error(with(merge_body(), "repository", json!(repository)));
            assert_eq!(err.field(), "repository", "{repository}");
            assert!(err.message().starts_with("must look like owner/name"));
        }
        // Checked before pr is missing, so the operator learns about both in a sensible order.
        let err = error(with(without(fork_body(), "pr"), "repository", json!("bad")));
        assert_eq!(err.field(), "repository");
    }

    #[test]
    fn specific_messages_read_well() {
        assert_eq!(
            error(with(merge_body(), "tier", json!(0))).to_string(),
            "tier: must be 1 to 5"
        );
        assert_eq!(
            error(without(review_body(), "voting_window_days")).to_string(),
            "voting_window_days: required for review-period"
        );
        assert!(error(with(merge_body(), "action", json!("foo")))
            .to_string()
            .starts_with("action: unknown action 'foo'"));
    }

    #[test]
    fn body_errors_name_the_body() {
        let err = GovernanceActionRequest::from_json(br#"{"title": 5}"#).unwrap_err();
        assert_eq!(err.field(), "body");
        let err = GovernanceActionRequest::from_json(b"not json").unwrap_err();
        assert_eq!(err.field(), "body");
        let request = GovernanceActionRequest::from_json(merge_body().to_string().as_bytes());
        assert!(GovernanceAction::parse(request.unwrap(), Timestamp::from_secs(NOW)).is_ok());
    }

    #[test]
    fn action_kinds_round_trip() {
        for kind in ActionKind::ALL {
            assert_eq!(kind.as_str().parse::<ActionKind>().unwrap(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(serde_json::from_str::<ActionKind>(&json).unwrap(), kind);
        }
        assert!(serde_json::from_str::<ActionKind>("\"vote\"").is_err());
    }

    #[test]
    fn content_implies_the_d_tag() {
        let pubkey = Keys::generate().public_key().to_hex();
        for body in [
            merge_body(),
            review_body(),
            keyholder_body(&pubkey),
            fork_body(),
        ] {
            let action = parse(body).unwrap();
            assert_eq!(action.content().d_tag(), Some(action.d_tag()));
        }
    }

    #[test]
    fn an_approval_is_a_keyholder_action_keyed_by_pull_request_and_login() {
        let commit = "AB".repeat(20);
        let body = json!({"action": "keyholder", "repository": "btc-commons/governance",
            "pr": 7, "tier": 2, "title": "Raise the cap",
            "keyholder": {"change": "approved", "login": "Alice-Keys", "commit": commit}});
        let request = GovernanceActionRequest::from_json(body.to_string().as_bytes()).unwrap();
        let action = GovernanceAction::parse(request, Timestamp::from(1)).unwrap();
        assert_eq!(action.kind(), ActionKind::Keyholder);
        assert_eq!(
            action.d_tag(),
            "action:btc-commons/governance:7:keyholder:alice-keys"
        );
        let content = action.content();
        assert_eq!(
            content.approval,
            Some(ApprovalContent {
                login: "alice-keys".into(),
                commit: "ab".repeat(20),
            })
        );
        assert_eq!(content.keyholder, None);
        assert_eq!(content.d_tag(), Some(action.d_tag()));
        assert!(!action
            .tags("c", None)
            .iter()
            .any(|t| t.as_slice().first().map(String::as_str) == Some("p")));
        assert!(action.announcement(None).contains("alice-keys approved"));

        let refused = |keyholder: Value, extra: Option<(&str, Value)>| {
            let mut body = body.clone();
            body["keyholder"] = keyholder;
            if let Some((key, value)) = extra {
                body[key] = value;
            }
            let request = GovernanceActionRequest::from_json(body.to_string().as_bytes()).unwrap();
            GovernanceAction::parse(request, Timestamp::from(1))
                .unwrap_err()
                .field()
        };
        assert_eq!(
            refused(
                json!({"change": "approved", "commit": "ab".repeat(20)}),
                None
            ),
            "keyholder.login"
        );
        assert_eq!(
            refused(
                json!({"change": "approved", "login": "a b", "commit": "ab".repeat(20)}),
                None
            ),
            "keyholder.login"
        );
        assert_eq!(
            refused(
                json!({"change": "approved", "login": "alice", "commit": "xyz"}),
                None
            ),
            "keyholder.commit"
        );
        assert_eq!(
            refused(
                json!({"change": "added", "name": "A", "login": "alice",
                       "pubkey": "2e9af54486b747bffdffd65639452151ba532ac81b11561b3bf17e4c028c6459"}),
                None
            ),
            "keyholder.login"
        );
        assert_eq!(
            refused(
                json!({"change": "approved", "login": "alice", "commit": "ab".repeat(20)}),
                Some(("commit", json!("ab".repeat(20))))
            ),
            "commit"
        );
    }

    #[test]
    fn a_merge_may_carry_its_merge_commit() {
        let body = json!({"action": "merge", "repository": "btc-commons/governance", "pr": 7,
            "tier": 1, "title": "T", "commit": "CD".repeat(32)});
        let request = GovernanceActionRequest::from_json(body.to_string().as_bytes()).unwrap();
        let action = GovernanceAction::parse(request, Timestamp::from(1)).unwrap();
        assert_eq!(action.content().commit, Some("cd".repeat(32)));
        assert!(action.announcement(None).contains(&"cd".repeat(32)));
        let mut bad = body.clone();
        bad["commit"] = json!("not a commit");
        let request = GovernanceActionRequest::from_json(bad.to_string().as_bytes()).unwrap();
        assert_eq!(
            GovernanceAction::parse(request, Timestamp::from(1))
                .unwrap_err()
                .field(),
            "commit"
        );
    }
}
