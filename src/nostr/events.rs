//! The wire format: every event kind, tag name and `d` value this service publishes, the typed
//! JSON content of each event, the builders that assemble them and the parsers that read them
//! back.
//!
//! This is the one file to read to know what goes on the wire, and the one file to change when
//! it must change (DESIGN.md, "Events published"). Nothing here signs, publishes or touches the
//! network: builders return an unsigned [`EventBuilder`] for a bot or the server key to sign,
//! and parsers take an [`Event`] a relay delivered and return its typed content or a
//! [`ParseError`] saying what is wrong with it. Parsers never panic on relay input and do not
//! check signatures (the relay pool and the verifier do that before calling them).
//!
//! | what | kind | `d` | other tags | content |
//! |---|---|---|---|---|
//! | bot profile | 0 | - | - | [`Metadata`]: `name`, `about`, `picture`, `lud16` |
//! | bot relay list (NIP-65) | 10002 | - | `r` per relay | empty |
//! | governance status | 30078 | `governance-status` | `server`, `governance_config`, `t`=`governance` | [`GovernanceStatus`] |
//! | server health | 30079 | `server-health` | `server`, `status` | [`ServerHealth`] |
//! | audit-log head | 30080 | `audit-head` | `server` | [`AuditHead`] |
//! | governance action | 30078 | `action:...` (see [`d`]) | see [`crate::nostr::governance_action`] | [`ActionContent`](crate::nostr::governance_action::ActionContent) |
//! | vote tally | 30078 | `tally:<proposal event id>` | `t`=`governance-tally`, `e`=proposal | the tally JSON |
//! | announcement note | 1 | - | `e` / `a` to the structured event, `t` (a review period's also `governance-proposal`) | text |
//! | zap poll | 6969 | - | `p`, `poll_option` x3, `closed_at`, `e`, `a`, `t`=`governance-proposal` | title and how the vote is weighed |
//! | ballot key pool | 30078 | `ballot-keys` | `t`=`governance-ballot-keys`, `key` per unused key, `alt` | empty: see [`crate::nostr::ballot_key_pool`] |
//! | ballot secret | 30078 | `ballot-secret:<proposal id>` | `e`, `ballot_key`, `secret`, `alt` | empty: see [`crate::nostr::ballot_secret`] |
//!
//! Every 30078, 30079, 30080 and 6969 event also carries a NIP-31 `alt` tag ([`tag::ALT`]): the
//! line a client that does not know the kind shows instead of the raw content.
//!
//! # Addresses with colons
//!
//! Action `d` values contain colons (`action:owner/name:42:review-period`), so an address
//! (`30078:<pubkey>:<d>`) has more than two colons. nostr 0.44's `Coordinate::parse` (and so
//! `Tags::coordinates()` on a received event) keeps only the text up to the third colon as the
//! identifier. Read `a` tags with [`parse_address`], which splits on the first two colons only.

use std::collections::BTreeMap;

use nostr_sdk::nips::nip01::Coordinate;
use nostr_sdk::nips::nip19::{Nip19Coordinate, Nip19Event, ToBech32};
use nostr_sdk::{
    Event, EventBuilder, EventId, JsonUtil, Kind, Metadata, PublicKey, RelayUrl, Tag, TagKind,
    Timestamp,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Event kinds.
pub mod kind {
    use nostr_sdk::Kind;

    /// Bot profile (NIP-01 metadata).
    pub const BOT_PROFILE: Kind = Kind::Metadata;
    /// Announcement notes and free notes from a bot (NIP-01 short text note).
    pub const TEXT_NOTE: Kind = Kind::TextNote;
    /// Bot relay list (NIP-65).
    pub const RELAY_LIST: Kind = Kind::RelayList;
    /// Governance status (NIP-78 application-specific data).
    pub const GOVERNANCE_STATUS: Kind = Kind::ApplicationSpecificData;
    /// Governance actions, review periods (proposals) included.
    pub const GOVERNANCE_ACTION: Kind = Kind::ApplicationSpecificData;
    /// Vote tallies.
    pub const VOTE_TALLY: Kind = Kind::ApplicationSpecificData;
    /// A ballot key's secret, revealed at its proposal's close (sealed ballots).
    pub const BALLOT_SECRET: Kind = Kind::ApplicationSpecificData;
    /// An independent ballot key holder's pool of unused ballot keys.
    pub const BALLOT_KEY_POOL: Kind = Kind::ApplicationSpecificData;
    /// Server health.
    pub const SERVER_HEALTH: Kind = Kind::Custom(30079);
    /// Audit-log head.
    pub const AUDIT_HEAD: Kind = Kind::Custom(30080);
    /// NIP-57 zap request.
    pub const ZAP_REQUEST: Kind = Kind::ZapRequest;
    /// NIP-57 zap receipt.
    pub const ZAP_RECEIPT: Kind = Kind::ZapReceipt;
    /// Zap poll (draft NIP-B9, formerly NIP-69): one per review period, its options the vote
    /// types.
    pub const ZAP_POLL: Kind = Kind::Custom(6969);
}

/// Tag names. The single-letter ones are NIP-01's; the rest are ours.
pub mod tag {
    /// NIP-01 identifier of an addressable event.
    pub const D: &str = "d";
    /// NIP-01 event reference.
    pub const E: &str = "e";
    /// NIP-01 address reference.
    pub const A: &str = "a";
    /// NIP-01 public key reference.
    pub const P: &str = "p";
    /// NIP-65 relay.
    pub const R: &str = "r";
    /// NIP-12 hashtag.
    pub const T: &str = "t";
    /// The server id of status, health and audit-head events.
    pub const SERVER: &str = "server";
    /// The governance configuration (ruleset) name.
    pub const GOVERNANCE_CONFIG: &str = "governance_config";
    /// The server's health status (`healthy`, `degraded`).
    pub const STATUS: &str = "status";
    /// The governance action (`merge`, `review-period`, `keyholder`, `fork`).
    pub const ACTION: &str = "action";
    /// `owner/name` of the repository an action is about.
    pub const REPOSITORY: &str = "repository";
    /// Pull-request number.
    pub const PR: &str = "pr";
    /// Governance tier, 1 to 5.
    pub const TIER: &str = "tier";
    /// Lightning address to zap where zaps are invited (review periods).
    pub const ZAP: &str = "zap";
    /// Voting window of a review period: start, end (unix seconds).
    pub const VOTING_WINDOW: &str = "voting_window";
    /// NIP-31: one line a person can read in a client that does not know the kind.
    pub const ALT: &str = "alt";
    /// Zap poll option (NIP-B9): on the poll `["poll_option", "<n>", "<label>"]`, in a zap
    /// request `["poll_option", "<n>"]`.
    pub const POLL_OPTION: &str = "poll_option";
    /// When a zap poll closes (NIP-B9), unix seconds.
    pub const CLOSED_AT: &str = "closed_at";
    /// A sealed-ballot key: on a proposal `["ballot_key", "<X25519 key hex>", "<holder pubkey
    /// hex>"]`, one per holder; on a ballot secret event `["ballot_key", "<X25519 key hex>"]`.
    pub const BALLOT_KEY: &str = "ballot_key";
    /// A ballot key's private key (hex) on a ballot secret event.
    pub const SECRET: &str = "secret";
    /// An unused ballot key (X25519 public key, hex) on a ballot key pool event.
    pub const KEY: &str = "key";
}

/// `d` values and the formats of the `d` values that carry a key.
pub mod d {
    use nostr_sdk::{EventId, PublicKey};

    /// The server's governance status.
    pub const GOVERNANCE_STATUS: &str = "governance-status";
    /// The server's health.
    pub const SERVER_HEALTH: &str = "server-health";
    /// The server's audit-log head.
    pub const AUDIT_HEAD: &str = "audit-head";
    /// Every governance action's `d` starts with this.
    pub const ACTION_PREFIX: &str = "action:";
    /// Every vote tally's `d` starts with this.
    pub const TALLY_PREFIX: &str = "tally:";
    /// Every ballot secret's `d` starts with this.
    pub const BALLOT_SECRET_PREFIX: &str = "ballot-secret:";
    /// An independent ballot key holder's pool of unused ballot keys (one per holder).
    pub const BALLOT_KEY_POOL: &str = "ballot-keys";

    /// `action:<repository>:<pr>:<action>`: merges and review periods, one per pull request
    /// and action.
    pub fn pull_request_action(repository: &str, pr: u64, action: &str) -> String {
        format!("{ACTION_PREFIX}{repository}:{pr}:{action}")
    }

    /// `action:keyholder:<pubkey hex>`: the standing of one keyholder. An addition and a later
    /// removal of the same key share it, so the newest event is the key's current state.
    pub fn keyholder(pubkey: &PublicKey) -> String {
        format!("{ACTION_PREFIX}keyholder:{}", pubkey.to_hex())
    }

    /// `action:<repository>:<pr>:keyholder:<login>`: one keyholder's approval of one pull
    /// request; a newer approval (of a newer commit) replaces the older one.
    pub fn keyholder_approval(repository: &str, pr: u64, login: &str) -> String {
        format!("{ACTION_PREFIX}{repository}:{pr}:keyholder:{login}")
    }

    /// `action:fork:<ruleset>`: the decision about one governance ruleset. A later decision
    /// about the same ruleset supersedes the earlier one.
    pub fn fork(ruleset: &str) -> String {
        format!("{ACTION_PREFIX}fork:{ruleset}")
    }

    /// `tally:<proposal event id hex>`.
    pub fn tally(proposal: &EventId) -> String {
        format!("{TALLY_PREFIX}{}", proposal.to_hex())
    }

    /// `ballot-secret:<proposal event id hex>`: one per proposal and holder (the holder signs).
    pub fn ballot_secret(proposal: &EventId) -> String {
        format!("{BALLOT_SECRET_PREFIX}{}", proposal.to_hex())
    }
}

/// `t` values.
pub mod hashtag {
    /// On governance status events and announcement notes.
    pub const GOVERNANCE: &str = "governance";
    /// On governance action events.
    pub const GOVERNANCE_ACTION: &str = "governance-action";
    /// On vote tally events.
    pub const GOVERNANCE_TALLY: &str = "governance-tally";
    /// On a review period's announcement and zap poll: with `e` = the proposal, it makes the
    /// event one of the proposal's vote targets (DESIGN.md "Votes", *Targets*).
    pub const GOVERNANCE_PROPOSAL: &str = "governance-proposal";
    /// On an independent ballot key holder's pool of unused ballot keys.
    pub const GOVERNANCE_BALLOT_KEYS: &str = "governance-ballot-keys";
}

/// Values of the `action` tag and of `action` in the action request and content.
pub mod action {
    /// A pull request was merged.
    pub const MERGE: &str = "merge";
    /// A pull request is open for review and voting: the proposal voters zap.
    pub const REVIEW_PERIOD: &str = "review-period";
    /// A keyholder was added or removed.
    pub const KEYHOLDER: &str = "keyholder";
    /// A governance fork (ruleset) decision.
    pub const FORK: &str = "fork";
}

/// Prefix of every hash written as `sha256:<hex>`.
pub const SHA256_PREFIX: &str = "sha256:";

/// Writes a SHA-256 digest as `sha256:<lowercase hex>`.
pub fn sha256_tagged(digest: &[u8; 32]) -> String {
    format!("{SHA256_PREFIX}{}", hex::encode(digest))
}

// ---------------------------------------------------------------------------------------------
// Content
// ---------------------------------------------------------------------------------------------

/// The state of a relay link, as reported in the status event's `relays`, health and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    Connecting,
    Connected,
    Disconnected,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Connecting => "connecting",
            LinkState::Connected => "connected",
            LinkState::Disconnected => "disconnected",
        }
    }
}

/// Content of the governance status event (kind 30078, `d`=`governance-status`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GovernanceStatus {
    pub server_id: String,
    pub governance_config: String,
    /// The service's version (the crate version).
    pub version: String,
    /// When the status was taken, unix seconds.
    pub timestamp: u64,
    /// `sha256:<hex>` of the running binary.
    pub binary_hash: String,
    /// `sha256:<hex>` of the effective configuration.
    pub config_hash: String,
    pub uptime_secs: u64,
    /// Relay URL -> connection state (`connected`, `connecting`, `disconnected`, ...).
    pub relays: BTreeMap<String, String>,
    pub audit: AuditSummary,
}

/// The audit-log head as summarised in the governance status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSummary {
    /// `sha256:<hex>` Merkle root.
    pub head: String,
    pub entries: u64,
}

/// Content of the server health event (kind 30079, `d`=`server-health`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerHealth {
    pub server_id: String,
    pub status: HealthStatus,
    pub uptime_secs: u64,
    /// The last merge the server announced; `null` when there was none.
    pub last_merge: Option<LastMerge>,
    pub relays_connected: u32,
    pub relays_total: u32,
}

/// `healthy` or `degraded`, in the content and in the `status` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Healthy,
    Degraded,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
        }
    }

    /// Parses the wire value (`healthy`, `degraded`).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "healthy" => Some(Self::Healthy),
            "degraded" => Some(Self::Degraded),
            _ => None,
        }
    }
}

/// The last merge in a [`ServerHealth`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastMerge {
    /// `owner/name`.
    pub repository: String,
    pub pr: u64,
    /// Unix seconds.
    pub at: u64,
}

/// Content of the audit-log head event (kind 30080, `d`=`audit-head`).
///
/// The first head (no earlier one published) has `previous_entries` 0, `previous_head` the
/// hash of the empty tree and an empty proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    /// `sha256:<hex>` Merkle root over `entries` entries.
    pub head: String,
    pub entries: u64,
    /// `sha256:<hex>` root of the previously published head.
    pub previous_head: String,
    pub previous_entries: u64,
    /// RFC 9162 consistency proof from the previous head to this one: hex hashes, no prefix.
    pub consistency_proof: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------------------------

fn custom_tag<I, S>(name: &str, values: I) -> Tag
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Tag::custom(TagKind::custom(name.to_owned()), values)
}

/// `["<name>", "<value>"]` for one of the custom tag names in [`tag`].
pub(crate) fn single_tag(name: &str, value: impl Into<String>) -> Tag {
    custom_tag(name, [value.into()])
}

/// `["voting_window", "<start>", "<end>"]`, unix seconds.
pub(crate) fn voting_window_tag(start: Timestamp, end: Timestamp) -> Tag {
    custom_tag(
        tag::VOTING_WINDOW,
        [start.as_secs().to_string(), end.as_secs().to_string()],
    )
}

/// Serialises content we built ourselves. Our content types have only string map keys and
/// derived `Serialize`, for which serde_json cannot fail.
pub(super) fn to_json<T: Serialize>(content: &T) -> String {
    serde_json::to_string(content).expect("content types serialise infallibly")
}

/// Bot profile, kind 0: `name`, `about`, `picture` (when set) and `lud16` (the bot's lightning
/// address) as NIP-01 metadata.
pub fn bot_profile(name: &str, about: &str, picture: Option<&str>, lud16: &str) -> EventBuilder {
    let metadata = Metadata {
        name: Some(name.to_owned()),
        about: Some(about.to_owned()),
        picture: picture.map(str::to_owned),
        lud16: Some(lud16.to_owned()),
        ..Metadata::default()
    };
    EventBuilder::metadata(&metadata)
}

/// Bot relay list, kind 10002: one NIP-65 `r` tag per relay (read and write), empty content.
pub fn relay_list(relays: &[RelayUrl]) -> EventBuilder {
    EventBuilder::relay_list(relays.iter().cloned().map(|url| (url, None)))
}

/// Governance status, kind 30078, signed by the server key.
pub fn governance_status(status: &GovernanceStatus) -> EventBuilder {
    EventBuilder::new(kind::GOVERNANCE_STATUS, to_json(status)).tags([
        Tag::identifier(d::GOVERNANCE_STATUS),
        single_tag(tag::SERVER, status.server_id.as_str()),
        single_tag(tag::GOVERNANCE_CONFIG, status.governance_config.as_str()),
        Tag::hashtag(hashtag::GOVERNANCE),
        Tag::alt(format!(
            "Governance status of server {} ({}), version {}, audit log of {} entries",
            status.server_id, status.governance_config, status.version, status.audit.entries
        )),
    ])
}

/// Server health, kind 30079, signed by the server key.
pub fn server_health(health: &ServerHealth) -> EventBuilder {
    EventBuilder::new(kind::SERVER_HEALTH, to_json(health)).tags([
        Tag::identifier(d::SERVER_HEALTH),
        single_tag(tag::SERVER, health.server_id.as_str()),
        single_tag(tag::STATUS, health.status.as_str()),
        Tag::alt(format!(
            "Server health of {}: {}, {} of {} relays connected",
            health.server_id,
            health.status.as_str(),
            health.relays_connected,
            health.relays_total
        )),
    ])
}

/// Audit-log head, kind 30080, signed by the server key.
pub fn audit_head(server_id: &str, head: &AuditHead) -> EventBuilder {
    EventBuilder::new(kind::AUDIT_HEAD, to_json(head)).tags([
        Tag::identifier(d::AUDIT_HEAD),
        single_tag(tag::SERVER, server_id),
        Tag::alt(format!(
            "Audit-log head of server {server_id}: {} entries, root {}",
            head.entries, head.head
        )),
    ])
}

/// Vote tally, kind 30078, signed by the gov bot: `d`=`tally:<proposal id>`,
/// `t`=`governance-tally`, `e`=proposal, `a`=the proposal's address. `tally` is the content (the vote result, the
/// parameters used and the counted receipts); it fails only if `tally` cannot be written as
/// JSON.
///
/// `alt` is the NIP-31 line for clients that do not know the kind ("Tally of `<title>`: support
/// 12.3, veto 1.0 ...").
pub fn vote_tally<T: Serialize>(
    proposal: EventId,
    address: &Coordinate,
    tally: &T,
    alt: &str,
) -> Result<EventBuilder, serde_json::Error> {
    let content = serde_json::to_string(tally)?;
    Ok(EventBuilder::new(kind::VOTE_TALLY, content).tags([
        Tag::identifier(d::tally(&proposal)),
        Tag::hashtag(hashtag::GOVERNANCE_TALLY),
        Tag::event(proposal),
        Tag::coordinate(address.clone(), None),
        Tag::alt(alt),
    ]))
}

/// The options of every zap poll, as `(poll_option index, label)`: the index is what a zap
/// request's `["poll_option", "<n>"]` carries (DESIGN.md "Votes", *Vote type*).
pub const ZAP_POLL_OPTIONS: [(&str, &str); 3] = [("0", "support"), ("1", "veto"), ("2", "abstain")];

/// What a review period's zap poll says (kind 6969, draft NIP-B9).
#[derive(Debug, Clone)]
pub struct ZapPoll<'a> {
    /// The proposal (`e`).
    pub proposal: EventId,
    /// The proposal's address (`a`).
    pub address: &'a Coordinate,
    /// The gov bot, who receives the zaps (`p`).
    pub gov: PublicKey,
    /// Where the poll is hosted (the `p` tag's relay; NIP-B9 asks for one).
    pub relay: Option<&'a RelayUrl>,
    /// The end of the voting window (`closed_at`).
    pub closed_at: Timestamp,
    /// The content: the proposal's title and a line on how the vote is weighed.
    pub content: &'a str,
    /// The NIP-31 line.
    pub alt: &'a str,
}

/// Zap poll, kind 6969, signed by the gov bot: `p` = the gov bot (with a relay), a
/// `poll_option` per [`ZAP_POLL_OPTIONS`], `closed_at`, `e` = the proposal, `a` = its address,
/// `t` = `governance-proposal` (which makes it one of the proposal's vote targets) and `alt`.
pub fn zap_poll(poll: &ZapPoll<'_>) -> EventBuilder {
    let mut p = vec![poll.gov.to_hex()];
    if let Some(relay) = poll.relay {
        p.push(relay.to_string());
    }
    let mut tags = vec![custom_tag(tag::P, p)];
    tags.extend(
        ZAP_POLL_OPTIONS
            .iter()
            .map(|(index, label)| custom_tag(tag::POLL_OPTION, [*index, *label])),
    );
    tags.extend([
        single_tag(tag::CLOSED_AT, poll.closed_at.as_secs().to_string()),
        Tag::event(poll.proposal),
        Tag::coordinate(poll.address.clone(), None),
        Tag::hashtag(hashtag::GOVERNANCE_PROPOSAL),
        Tag::alt(poll.alt),
    ]);
    // The poll's `p` is its own author (the gov bot receives the zaps): nostr's builder drops
    // such a tag unless told otherwise.
    EventBuilder::new(kind::ZAP_POLL, poll.content)
        .tags(tags)
        .allow_self_tagging()
}

/// Announcement note, kind 1: the human-readable text, an `e` tag to the structured event
/// and/or an `a` tag to its address, and a `t` tag per hashtag.
pub fn announcement_note(
    text: &str,
    event: Option<EventId>,
    address: Option<&Coordinate>,
    hashtags: &[&str],
) -> EventBuilder {
    EventBuilder::text_note(text)
        .tag_maybe(event.map(Tag::event))
        .tag_maybe(address.map(|a| Tag::coordinate(a.clone(), None)))
        .tags(hashtags.iter().map(Tag::hashtag))
}

/// A free note from a bot, kind 1, with the caller's tags.
pub fn bot_note(content: &str, tags: Vec<Tag>) -> EventBuilder {
    EventBuilder::text_note(content).tags(tags)
}

/// Turns the tags of a note request (`[["t", "release"]]`) into tags, refusing an empty tag or
/// an empty tag name.
pub fn note_tags(raw: &[Vec<String>]) -> Result<Vec<Tag>, ParseError> {
    raw.iter()
        .enumerate()
        .map(|(index, values)| match values.first() {
            Some(name) if !name.is_empty() => Tag::parse(values).map_err(|e| ParseError::NoteTag {
                index,
                reason: e.to_string(),
            }),
            _ => Err(ParseError::NoteTag {
                index,
                reason: "a tag needs a non-empty name".to_owned(),
            }),
        })
        .collect()
}

/// `30078:<hex pubkey>:<d>`: the address voters zap (`a` tag) for a proposal.
pub fn proposal_address(pubkey: &PublicKey, d: &str) -> String {
    format!(
        "{}:{}:{d}",
        kind::GOVERNANCE_ACTION.as_u16(),
        pubkey.to_hex()
    )
}

/// The proposal's address as a [`Coordinate`], for `a` tags and `naddr` links.
pub fn proposal_coordinate(pubkey: &PublicKey, d: &str) -> Coordinate {
    Coordinate::new(kind::GOVERNANCE_ACTION, *pubkey).identifier(d)
}

/// Relays hinted in the `naddr` and `nevent` links we hand out: the first few is enough for a
/// client to find the event, and keeps the link short.
pub const LINK_RELAY_HINTS: usize = 3;

/// `naddr1...` (NIP-19) of an address, with the first [`LINK_RELAY_HINTS`] of `relays`.
pub fn naddr(address: &Coordinate, relays: &[RelayUrl]) -> String {
    let hints = relays.iter().take(LINK_RELAY_HINTS).cloned();
    Nip19Coordinate::new(address.clone(), hints)
        .to_bech32()
        .unwrap_or_default()
}

/// `nevent1...` (NIP-19) of an event with its author and kind, with the first
/// [`LINK_RELAY_HINTS`] of `relays`.
pub fn nevent(id: EventId, author: PublicKey, kind: Kind, relays: &[RelayUrl]) -> String {
    Nip19Event::new(id)
        .author(author)
        .kind(kind)
        .relays(relays.iter().take(LINK_RELAY_HINTS).cloned())
        .to_bech32()
        .unwrap_or_default()
}

/// Parses `<kind>:<hex pubkey>:<d>`, keeping every colon of `d` (see the module doc).
pub fn parse_address(address: &str) -> Result<Coordinate, ParseError> {
    let invalid = |reason: &str| ParseError::InvalidTag {
        tag: tag::A,
        value: address.to_owned(),
        reason: reason.to_owned(),
    };
    let mut parts = address.splitn(3, ':');
    let (Some(kind), Some(pubkey), Some(identifier)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("expected <kind>:<pubkey>:<d>"));
    };
    let kind: u16 = kind.parse().map_err(|_| invalid("kind is not a number"))?;
    let pubkey = PublicKey::from_hex(pubkey).map_err(|_| invalid("pubkey is not 64 hex"))?;
    Ok(Coordinate::new(Kind::from(kind), pubkey).identifier(identifier))
}

// ---------------------------------------------------------------------------------------------
// Parsers
// ---------------------------------------------------------------------------------------------

/// Why a received event is not the event it claims to be.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("wrong kind: expected {expected}, found {found}")]
    WrongKind { expected: u16, found: u16 },
    #[error("missing `{tag}` tag")]
    MissingTag { tag: &'static str },
    #[error("wrong `d` tag: expected {expected}, found '{found}'")]
    WrongIdentifier { expected: String, found: String },
    #[error("invalid `{tag}` tag '{value}': {reason}")]
    InvalidTag {
        tag: &'static str,
        value: String,
        reason: String,
    },
    #[error("content is not valid {what} JSON: {source}")]
    InvalidJson {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("invalid content field `{field}` '{value}': {reason}")]
    InvalidContent {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("`{tag}` tag '{tag_value}' does not match content '{content_value}'")]
    Mismatch {
        tag: &'static str,
        tag_value: String,
        content_value: String,
    },
    #[error("note tag {index}: {reason}")]
    NoteTag { index: usize, reason: String },
}

/// A governance status event, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernanceStatusEvent {
    pub server: String,
    pub governance_config: String,
    pub status: GovernanceStatus,
}

/// A server health event, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHealthEvent {
    pub server: String,
    pub status: HealthStatus,
    pub health: ServerHealth,
}

/// An audit-log head event, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHeadEvent {
    pub server: String,
    pub head: AuditHead,
}

/// A vote tally event, read back; `T` is the tally content type.
#[derive(Debug, Clone, PartialEq)]
pub struct VoteTallyEvent<T> {
    pub proposal: EventId,
    pub tally: T,
}

/// A kind-1 note, read back with its references.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncementNote {
    pub text: String,
    pub events: Vec<EventId>,
    pub addresses: Vec<Coordinate>,
    pub hashtags: Vec<String>,
}

/// The values after the name of the first tag called `name`.
pub(super) fn tag_values<'a>(event: &'a Event, name: &str) -> Option<&'a [String]> {
    event.tags.iter().find_map(|t| match t.as_slice() {
        [first, rest @ ..] if first == name => Some(rest),
        _ => None,
    })
}

/// The first value of the first tag called `name`.
pub(super) fn tag_value<'a>(event: &'a Event, name: &'static str) -> Result<&'a str, ParseError> {
    tag_values(event, name)
        .and_then(|values| values.first())
        .map(String::as_str)
        .ok_or(ParseError::MissingTag { tag: name })
}

pub(super) fn expect_kind(event: &Event, expected: Kind) -> Result<(), ParseError> {
    if event.kind == expected {
        Ok(())
    } else {
        Err(ParseError::WrongKind {
            expected: expected.as_u16(),
            found: event.kind.as_u16(),
        })
    }
}

pub(super) fn identifier(event: &Event) -> Result<&str, ParseError> {
    tag_value(event, tag::D)
}

fn expect_identifier(event: &Event, expected: &str) -> Result<(), ParseError> {
    let found = identifier(event)?;
    if found == expected {
        Ok(())
    } else {
        Err(ParseError::WrongIdentifier {
            expected: expected.to_owned(),
            found: found.to_owned(),
        })
    }
}

pub(super) fn content<T: DeserializeOwned>(
    event: &Event,
    what: &'static str,
) -> Result<T, ParseError> {
    serde_json::from_str(&event.content).map_err(|source| ParseError::InvalidJson { what, source })
}

pub(super) fn expect_match(
    tag: &'static str,
    tag_value: &str,
    content_value: &str,
) -> Result<(), ParseError> {
    if tag_value == content_value {
        Ok(())
    } else {
        Err(ParseError::Mismatch {
            tag,
            tag_value: tag_value.to_owned(),
            content_value: content_value.to_owned(),
        })
    }
}

fn is_hex_hash(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

fn expect_sha256_tagged(field: &'static str, value: &str) -> Result<(), ParseError> {
    match value.strip_prefix(SHA256_PREFIX) {
        Some(hex) if is_hex_hash(hex) => Ok(()),
        _ => Err(ParseError::InvalidContent {
            field,
            value: value.to_owned(),
            reason: "expected sha256:<64 hex>".to_owned(),
        }),
    }
}

pub(super) fn parse_number<T: std::str::FromStr>(
    tag: &'static str,
    value: &str,
) -> Result<T, ParseError> {
    value.parse().map_err(|_| ParseError::InvalidTag {
        tag,
        value: value.to_owned(),
        reason: "not a number".to_owned(),
    })
}

/// Reads a bot profile (kind 0).
pub fn parse_bot_profile(event: &Event) -> Result<Metadata, ParseError> {
    expect_kind(event, kind::BOT_PROFILE)?;
    Metadata::from_json(&event.content).map_err(|e| ParseError::InvalidContent {
        field: "content",
        value: event.content.clone(),
        reason: e.to_string(),
    })
}

/// Reads a bot relay list (kind 10002): the URL of every `r` tag.
pub fn parse_relay_list(event: &Event) -> Result<Vec<RelayUrl>, ParseError> {
    expect_kind(event, kind::RELAY_LIST)?;
    event
        .tags
        .iter()
        .filter_map(|t| match t.as_slice() {
            [name, url, ..] if name == tag::R => Some(url),
            _ => None,
        })
        .map(|url| {
            RelayUrl::parse(url).map_err(|e| ParseError::InvalidTag {
                tag: tag::R,
                value: url.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// Reads a governance status event; its `server` and `governance_config` tags must match the
/// content, and its hashes must be `sha256:<hex>`.
pub fn parse_governance_status(event: &Event) -> Result<GovernanceStatusEvent, ParseError> {
    expect_kind(event, kind::GOVERNANCE_STATUS)?;
    expect_identifier(event, d::GOVERNANCE_STATUS)?;
    let server = tag_value(event, tag::SERVER)?;
    let governance_config = tag_value(event, tag::GOVERNANCE_CONFIG)?;
    let status: GovernanceStatus = content(event, "governance status")?;
    expect_match(tag::SERVER, server, &status.server_id)?;
    expect_match(
        tag::GOVERNANCE_CONFIG,
        governance_config,
        &status.governance_config,
    )?;
    expect_sha256_tagged("binary_hash", &status.binary_hash)?;
    expect_sha256_tagged("config_hash", &status.config_hash)?;
    expect_sha256_tagged("audit.head", &status.audit.head)?;
    Ok(GovernanceStatusEvent {
        server: server.to_owned(),
        governance_config: governance_config.to_owned(),
        status,
    })
}

/// Reads a server health event; its `server` and `status` tags must match the content.
pub fn parse_server_health(event: &Event) -> Result<ServerHealthEvent, ParseError> {
    expect_kind(event, kind::SERVER_HEALTH)?;
    expect_identifier(event, d::SERVER_HEALTH)?;
    let server = tag_value(event, tag::SERVER)?;
    let status_tag = tag_value(event, tag::STATUS)?;
    let status = HealthStatus::parse(status_tag).ok_or_else(|| ParseError::InvalidTag {
        tag: tag::STATUS,
        value: status_tag.to_owned(),
        reason: "expected healthy or degraded".to_owned(),
    })?;
    let health: ServerHealth = content(event, "server health")?;
    expect_match(tag::SERVER, server, &health.server_id)?;
    expect_match(tag::STATUS, status.as_str(), health.status.as_str())?;
    Ok(ServerHealthEvent {
        server: server.to_owned(),
        status,
        health,
    })
}

/// Reads an audit-log head event; heads must be `sha256:<hex>` and proof hashes 64 hex.
pub fn parse_audit_head(event: &Event) -> Result<AuditHeadEvent, ParseError> {
    expect_kind(event, kind::AUDIT_HEAD)?;
    expect_identifier(event, d::AUDIT_HEAD)?;
    let server = tag_value(event, tag::SERVER)?;
    let head: AuditHead = content(event, "audit head")?;
    expect_sha256_tagged("head", &head.head)?;
    expect_sha256_tagged("previous_head", &head.previous_head)?;
    if let Some(bad) = head.consistency_proof.iter().find(|h| !is_hex_hash(h)) {
        return Err(ParseError::InvalidContent {
            field: "consistency_proof",
            value: bad.clone(),
            reason: "expected 64 hex".to_owned(),
        });
    }
    Ok(AuditHeadEvent {
        server: server.to_owned(),
        head,
    })
}

/// Reads a vote tally event; `d` must be `tally:<the e tag's id>`.
pub fn parse_vote_tally<T: DeserializeOwned>(
    event: &Event,
) -> Result<VoteTallyEvent<T>, ParseError> {
    expect_kind(event, kind::VOTE_TALLY)?;
    let d = identifier(event)?;
    let proposal_hex = tag_value(event, tag::E)?;
    let proposal = EventId::from_hex(proposal_hex).map_err(|e| ParseError::InvalidTag {
        tag: tag::E,
        value: proposal_hex.to_owned(),
        reason: e.to_string(),
    })?;
    expect_identifier(event, &d::tally(&proposal)).map_err(|_| ParseError::WrongIdentifier {
        expected: d::tally(&proposal),
        found: d.to_owned(),
    })?;
    Ok(VoteTallyEvent {
        proposal,
        tally: content(event, "vote tally")?,
    })
}

/// A zap poll (kind 6969), read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapPollEvent {
    /// The event it is about (`e`): for ours, the proposal.
    pub proposal: EventId,
    /// `(index, label)` of each `poll_option`, in order.
    pub options: Vec<(String, String)>,
    /// `closed_at`, when it has one.
    pub closed_at: Option<Timestamp>,
}

/// Reads a zap poll (kind 6969, draft NIP-B9): an `e` tag, at least two `poll_option` tags
/// with a numeric index and a label, distinct indexes, and a numeric `closed_at` if any.
pub fn parse_zap_poll(event: &Event) -> Result<ZapPollEvent, ParseError> {
    expect_kind(event, kind::ZAP_POLL)?;
    let proposal_hex = tag_value(event, tag::E)?;
    let proposal = EventId::from_hex(proposal_hex).map_err(|e| ParseError::InvalidTag {
        tag: tag::E,
        value: proposal_hex.to_owned(),
        reason: e.to_string(),
    })?;
    let mut options: Vec<(String, String)> = Vec::new();
    for t in event.tags.iter().map(|t| t.as_slice()) {
        let [name, rest @ ..] = t else { continue };
        if name != tag::POLL_OPTION {
            continue;
        }
        let invalid = |reason: &str| ParseError::InvalidTag {
            tag: tag::POLL_OPTION,
            value: rest.join(","),
            reason: reason.to_owned(),
        };
        let [index, label, ..] = rest else {
            return Err(invalid("expected an index and a label"));
        };
        if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("the index is not a number"));
        }
        if options.iter().any(|(i, _)| i == index) {
            return Err(invalid("the index is repeated"));
        }
        options.push((index.clone(), label.clone()));
    }
    if options.len() < 2 {
        return Err(ParseError::MissingTag {
            tag: tag::POLL_OPTION,
        });
    }
    let closed_at = match tag_values(event, tag::CLOSED_AT).and_then(|v| v.first()) {
        Some(value) => Some(Timestamp::from_secs(parse_number(tag::CLOSED_AT, value)?)),
        None => None,
    };
    Ok(ZapPollEvent {
        proposal,
        options,
        closed_at,
    })
}

/// Reads a kind-1 note: its text, `e` and `a` references and hashtags.
pub fn parse_note(event: &Event) -> Result<AnnouncementNote, ParseError> {
    expect_kind(event, kind::TEXT_NOTE)?;
    let mut note = AnnouncementNote {
        text: event.content.clone(),
        events: Vec::new(),
        addresses: Vec::new(),
        hashtags: Vec::new(),
    };
    for t in event.tags.iter() {
        match t.as_slice() {
            [name, id, ..] if name == tag::E => {
                note.events
                    .push(EventId::from_hex(id).map_err(|e| ParseError::InvalidTag {
                        tag: tag::E,
                        value: id.clone(),
                        reason: e.to_string(),
                    })?)
            }
            [name, address, ..] if name == tag::A => note.addresses.push(parse_address(address)?),
            [name, hashtag, ..] if name == tag::T => note.hashtags.push(hashtag.clone()),
            _ => {}
        }
    }
    Ok(note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nostr::governance_action::GovernanceActionRequest;
    use crate::nostr::governance_action::{
        governance_action, parse_governance_action, ActionKind, GovernanceAction,
    };
    use nostr_sdk::nips::nip19::FromBech32;
    use nostr_sdk::Keys;
    use serde_json::{json, Value};

    fn sign_as(keys: &Keys, builder: EventBuilder) -> Event {
        let event = builder.sign_with_keys(keys).expect("signing");
        event.verify().expect("the signed event verifies");
        event
    }

    fn sign(builder: EventBuilder) -> (Keys, Event) {
        let keys = Keys::generate();
        let event = builder.sign_with_keys(&keys).expect("signing");
        event.verify().expect("the signed event verifies");
        // And it survives the wire: JSON out, JSON in, still verifies.
        let received = Event::from_json(event.as_json()).expect("event JSON");
        received.verify().expect("the received event verifies");
        (keys, received)
    }

    fn tags(event: &Event) -> Vec<Vec<String>> {
        event.tags.iter().map(|t| t.as_slice().to_vec()).collect()
    }

    fn strings(tags: &[&[&str]]) -> Vec<Vec<String>> {
        tags.iter()
            .map(|t| t.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    fn content_keys(event: &Event) -> Vec<String> {
        let value: Value = serde_json::from_str(&event.content).expect("content is JSON");
        let mut keys: Vec<String> = value
            .as_object()
            .expect("an object")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    fn hash(byte: u8) -> String {
        sha256_tagged(&[byte; 32])
    }

    fn status() -> GovernanceStatus {
        GovernanceStatus {
            server_id: "commons-dev-01".into(),
            governance_config: "commons_mainnet".into(),
            version: "0.1.0".into(),
            timestamp: 1_700_000_000,
            binary_hash: hash(1),
            config_hash: hash(2),
            uptime_secs: 3600,
            relays: BTreeMap::from([
                ("wss://relay.example.org".to_owned(), "connected".to_owned()),
                (
                    "wss://nostr.example.org".to_owned(),
                    "connecting".to_owned(),
                ),
            ]),
            audit: AuditSummary {
                head: hash(3),
                entries: 42,
            },
        }
    }

    fn health(last_merge: Option<LastMerge>) -> ServerHealth {
        ServerHealth {
            server_id: "commons-dev-01".into(),
            status: HealthStatus::Degraded,
            uptime_secs: 60,
            last_merge,
            relays_connected: 1,
            relays_total: 2,
        }
    }

    fn head() -> AuditHead {
        AuditHead {
            head: hash(4),
            entries: 7,
            previous_head: hash(5),
            previous_entries: 4,
            consistency_proof: vec![hex::encode([6u8; 32]), hex::encode([7u8; 32])],
        }
    }

    fn review_period() -> GovernanceAction {
        let request: GovernanceActionRequest = serde_json::from_value(json!({
            "action": "review-period", "repository": "btc-commons/governance", "pr": 42,
            "tier": 3, "title": "Raise the weight cap", "description": "Why and how.",
            "voting_window_days": 14
        }))
        .expect("request JSON");
        GovernanceAction::parse(request, Timestamp::from_secs(1_700_000_000)).expect("valid")
    }

    /// An event signed by fresh keys, with the given kind, tags and content.
    fn raw_event(kind: u16, tags: &[&[&str]], content: &str) -> Event {
        let tags = strings(tags)
            .into_iter()
            .map(|t| Tag::parse(t).expect("tag"));
        sign(EventBuilder::new(Kind::from(kind), content).tags(tags)).1
    }

    #[test]
    fn kinds_are_the_designed_numbers() {
        let kinds = [
            (kind::BOT_PROFILE, 0),
            (kind::TEXT_NOTE, 1),
            (kind::RELAY_LIST, 10002),
            (kind::GOVERNANCE_STATUS, 30078),
            (kind::GOVERNANCE_ACTION, 30078),
            (kind::VOTE_TALLY, 30078),
            (kind::SERVER_HEALTH, 30079),
            (kind::AUDIT_HEAD, 30080),
            (kind::ZAP_REQUEST, 9734),
            (kind::ZAP_RECEIPT, 9735),
        ];
        for (kind, number) in kinds {
            assert_eq!(kind.as_u16(), number);
        }
    }

    #[test]
    fn bot_profile_is_kind_0_with_name_about_picture_lud16() {
        let (_, event) = sign(bot_profile(
            "@BTCCommons_Gov",
            "Bitcoin Commons Governance Bot",
            Some("https://example.org/logo.png"),
            "gov@example.org",
        ));
        assert_eq!(event.kind.as_u16(), 0);
        assert!(event.tags.is_empty());
        let content: Value = serde_json::from_str(&event.content).unwrap();
        assert_eq!(
            content,
            json!({"name": "@BTCCommons_Gov", "about": "Bitcoin Commons Governance Bot",
                   "picture": "https://example.org/logo.png", "lud16": "gov@example.org"})
        );
        let metadata = parse_bot_profile(&event).unwrap();
        assert_eq!(metadata.lud16.as_deref(), Some("gov@example.org"));
        assert_eq!(metadata.name.as_deref(), Some("@BTCCommons_Gov"));
    }

    #[test]
    fn relay_list_is_kind_10002_with_an_r_tag_per_relay() {
        let relays = [
            RelayUrl::parse("wss://relay.example.org").unwrap(),
            RelayUrl::parse("wss://nostr.example.org").unwrap(),
        ];
        let (_, event) = sign(relay_list(&relays));
        assert_eq!(event.kind.as_u16(), 10002);
        assert_eq!(event.content, "");
        assert_eq!(
            tags(&event),
            vec![
                vec!["r".to_owned(), relays[0].to_string()],
                vec!["r".to_owned(), relays[1].to_string()],
            ]
        );
        assert_eq!(parse_relay_list(&event).unwrap(), relays.to_vec());
    }

    #[test]
    fn governance_status_wire_format_and_round_trip() {
        let (_, event) = sign(governance_status(&status()));
        assert_eq!(event.kind.as_u16(), 30078);
        assert_eq!(
            tags(&event),
            strings(&[
                &["d", "governance-status"],
                &["server", "commons-dev-01"],
                &["governance_config", "commons_mainnet"],
                &["t", "governance"],
                &[
                    "alt",
                    "Governance status of server commons-dev-01 (commons_mainnet), version \
                     0.1.0, audit log of 42 entries",
                ],
            ])
        );
        assert_eq!(
            content_keys(&event),
            [
                "audit",
                "binary_hash",
                "config_hash",
                "governance_config",
                "relays",
                "server_id",
                "timestamp",
                "uptime_secs",
                "version"
            ]
        );
        let content: Value = serde_json::from_str(&event.content).unwrap();
        assert_eq!(content["audit"], json!({"head": hash(3), "entries": 42}));
        assert_eq!(content["relays"]["wss://relay.example.org"], "connected");
        assert!(content["binary_hash"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"));

        let parsed = parse_governance_status(&event).unwrap();
        assert_eq!(parsed.status, status());
        assert_eq!(parsed.server, "commons-dev-01");
        assert_eq!(parsed.governance_config, "commons_mainnet");
    }

    #[test]
    fn server_health_wire_format_and_round_trip() {
        let (_, event) = sign(server_health(&health(None)));
        assert_eq!(event.kind.as_u16(), 30079);
        assert_eq!(
            tags(&event),
            strings(&[
                &["d", "server-health"],
                &["server", "commons-dev-01"],
                &["status", "degraded"],
                &[
                    "alt",
                    "Server health of commons-dev-01: degraded, 1 of 2 relays connected",
                ],
            ])
        );
        let content: Value = serde_json::from_str(&event.content).unwrap();
        assert_eq!(
            content,
            json!({"server_id": "commons-dev-01", "status": "degraded", "uptime_secs": 60,
                   "last_merge": null, "relays_connected": 1, "relays_total": 2})
        );
        assert_eq!(parse_server_health(&event).unwrap().health, health(None));

        let merged = health(Some(LastMerge {
            repository: "btc-commons/governance".into(),
            pr: 7,
            at: 1_700_000_000,
        }));
        let (_, event) = sign(server_health(&merged));
        let content: Value = serde_json::from_str(&event.content).unwrap();
        assert_eq!(
            content["last_merge"],
            json!({"repository": "btc-commons/governance", "pr": 7, "at": 1_700_000_000})
        );
        let parsed = parse_server_health(&event).unwrap();
        assert_eq!(parsed.health, merged);
        assert_eq!(parsed.status, HealthStatus::Degraded);
    }

    #[test]
    fn audit_head_wire_format_and_round_trip() {
        let (_, event) = sign(audit_head("commons-dev-01", &head()));
        assert_eq!(event.kind.as_u16(), 30080);
        assert_eq!(
            tags(&event),
            strings(&[
                &["d", "audit-head"],
                &["server", "commons-dev-01"],
                &[
                    "alt",
                    &format!(
                        "Audit-log head of server commons-dev-01: 7 entries, root sha256:{}",
                        "04".repeat(32)
                    ),
                ],
            ])
        );
        assert_eq!(
            content_keys(&event),
            [
                "consistency_proof",
                "entries",
                "head",
                "previous_entries",
                "previous_head"
            ]
        );
        let parsed = parse_audit_head(&event).unwrap();
        assert_eq!(parsed.head, head());
        assert_eq!(parsed.server, "commons-dev-01");
    }

    #[test]
    fn governance_action_wire_format_and_round_trip() {
        let action = review_period();
        let (keys, event) = sign(governance_action(
            &action,
            "commons_mainnet",
            Some("gov@example.org"),
        ));
        assert_eq!(event.kind.as_u16(), 30078);
        let end = (1_700_000_000u64 + 14 * 86_400).to_string();
        assert_eq!(
            tags(&event),
            strings(&[
                &["d", "action:btc-commons/governance:42:review-period"],
                &["t", "governance-action"],
                &["action", "review-period"],
                &["repository", "btc-commons/governance"],
                &["pr", "42"],
                &["tier", "3"],
                &["governance_config", "commons_mainnet"],
                &["voting_window", "1700000000", &end],
                &["zap", "gov@example.org"],
                &["alt", &action.alt(Some("gov@example.org"))],
            ])
        );
        let parsed = parse_governance_action(&event).unwrap();
        assert_eq!(parsed.action, ActionKind::ReviewPeriod);
        assert_eq!(parsed.d, "action:btc-commons/governance:42:review-period");
        assert_eq!(parsed.repository.as_deref(), Some("btc-commons/governance"));
        assert_eq!(parsed.pr, Some(42));
        assert_eq!(parsed.tier, 3);
        assert_eq!(parsed.zap.as_deref(), Some("gov@example.org"));
        assert_eq!(parsed.content, action.content());
        assert_eq!(
            proposal_address(&keys.public_key(), &parsed.d),
            format!(
                "30078:{}:action:btc-commons/governance:42:review-period",
                keys.public_key().to_hex()
            )
        );
    }

    #[test]
    fn zap_poll_wire_format() {
        let (keys, proposal) = sign(governance_action(&review_period(), "commons_mainnet", None));
        let d = "action:btc-commons/governance:42:review-period";
        let address = proposal_coordinate(&keys.public_key(), d);
        let relay = RelayUrl::parse("wss://relay.example.org").unwrap();
        // Signed by the gov bot itself, as the service does: its `p` tag must stay.
        let poll = sign_as(
            &keys,
            zap_poll(&ZapPoll {
                proposal: proposal.id,
                address: &address,
                gov: keys.public_key(),
                relay: Some(&relay),
                closed_at: Timestamp::from_secs(1_701_209_600),
                content: "Raise the weight cap",
                alt: "Zap poll of Raise the weight cap",
            }),
        );
        assert_eq!(poll.kind.as_u16(), 6969);
        assert_eq!(poll.content, "Raise the weight cap");
        assert_eq!(
            tags(&poll),
            strings(&[
                &["p", &keys.public_key().to_hex(), "wss://relay.example.org"],
                &["poll_option", "0", "support"],
                &["poll_option", "1", "veto"],
                &["poll_option", "2", "abstain"],
                &["closed_at", "1701209600"],
                &["e", &proposal.id.to_hex()],
                &["a", &proposal_address(&keys.public_key(), d)],
                &["t", "governance-proposal"],
                &["alt", "Zap poll of Raise the weight cap"],
            ])
        );
        // The links: an naddr and an nevent with their relay hints, capped at three.
        let relays: Vec<RelayUrl> = (0..5)
            .map(|i| RelayUrl::parse(&format!("wss://r{i}.example.org")).unwrap())
            .collect();
        let decoded = Nip19Coordinate::from_bech32(&naddr(&address, &relays)).unwrap();
        assert_eq!(decoded.coordinate, address);
        assert_eq!(decoded.relays, relays[..3]);
        let decoded =
            Nip19Event::from_bech32(&nevent(poll.id, keys.public_key(), poll.kind, &relays))
                .unwrap();
        assert_eq!(decoded.event_id, poll.id);
        assert_eq!(decoded.author, Some(keys.public_key()));
        assert_eq!(decoded.kind, Some(kind::ZAP_POLL));
        assert_eq!(decoded.relays.len(), 3);

        // Read back; a malformed poll is a parse error, never a panic.
        let parsed = parse_zap_poll(&poll).unwrap();
        assert_eq!(parsed.proposal, proposal.id);
        assert_eq!(parsed.options.len(), 3);
        assert_eq!(parsed.options[1], ("1".to_owned(), "veto".to_owned()));
        assert_eq!(parsed.closed_at, Some(Timestamp::from_secs(1_701_209_600)));
        let mutated = |keep: &dyn Fn(&[String]) -> bool, extra: Vec<Tag>| {
            let tags: Vec<Tag> = poll
                .tags
                .iter()
                .filter(|t| keep(t.as_slice()))
                .cloned()
                .chain(extra)
                .collect();
            EventBuilder::new(kind::ZAP_POLL, "x")
                .tags(tags)
                .allow_self_tagging()
                .sign_with_keys(&keys)
                .unwrap()
        };
        let no_options = mutated(&|t| t[0] != "poll_option", vec![]);
        assert!(parse_zap_poll(&no_options).is_err());
        let no_e = mutated(&|t| t[0] != "e", vec![]);
        assert!(parse_zap_poll(&no_e).is_err());
        let bad_index = mutated(&|_| true, vec![custom_tag("poll_option", ["x", "maybe"])]);
        assert!(parse_zap_poll(&bad_index).is_err());
        let repeated = mutated(&|_| true, vec![custom_tag("poll_option", ["1", "again"])]);
        assert!(parse_zap_poll(&repeated).is_err());
        let bad_close = mutated(
            &|t| t[0] != "closed_at",
            vec![single_tag("closed_at", "soon")],
        );
        assert!(parse_zap_poll(&bad_close).is_err());
        assert!(parse_zap_poll(&proposal).is_err());
    }

    #[test]
    fn vote_tally_wire_format_and_round_trip() {
        let (keys, proposal) = sign(governance_action(&review_period(), "commons_mainnet", None));
        let d = "action:btc-commons/governance:42:review-period";
        let address = proposal_coordinate(&keys.public_key(), d);
        let tally = json!({"pr_id": 42, "tier": 3, "threshold": 1000, "counted_receipts": []});
        let alt = "Tally of Raise the weight cap: support 0, veto 0, abstain 0";
        let (_, event) = sign(vote_tally(proposal.id, &address, &tally, alt).unwrap());
        assert_eq!(event.kind.as_u16(), 30078);
        assert_eq!(
            tags(&event),
            strings(&[
                &["d", &format!("tally:{}", proposal.id.to_hex())],
                &["t", "governance-tally"],
                &["e", &proposal.id.to_hex()],
                &["a", &proposal_address(&keys.public_key(), d)],
                &["alt", alt],
            ])
        );
        let parsed: VoteTallyEvent<Value> = parse_vote_tally(&event).unwrap();
        assert_eq!(parsed.proposal, proposal.id);
        assert_eq!(parsed.tally, tally);
    }

    #[test]
    fn announcement_note_references_the_structured_event() {
        let (keys, proposal) = sign(governance_action(&review_period(), "commons_mainnet", None));
        let d = "action:btc-commons/governance:42:review-period";
        let address = proposal_coordinate(&keys.public_key(), d);
        let (_, event) = sign(announcement_note(
            "Review period open",
            Some(proposal.id),
            Some(&address),
            &[hashtag::GOVERNANCE, "review-period"],
        ));
        assert_eq!(event.kind.as_u16(), 1);
        assert_eq!(event.content, "Review period open");
        assert_eq!(
            tags(&event),
            strings(&[
                &["e", &proposal.id.to_hex()],
                &["a", &proposal_address(&keys.public_key(), d)],
                &["t", "governance"],
                &["t", "review-period"],
            ])
        );
        let note = parse_note(&event).unwrap();
        assert_eq!(note.events, vec![proposal.id]);
        assert_eq!(note.addresses, vec![address]);
        assert_eq!(note.hashtags, ["governance", "review-period"]);
    }

    #[test]
    fn bot_note_carries_the_callers_tags() {
        let extra = note_tags(&[vec!["t".to_owned(), "release".to_owned()]]).unwrap();
        let (_, event) = sign(bot_note("v0.1.0 is out", extra));
        assert_eq!(event.kind.as_u16(), 1);
        assert_eq!(event.content, "v0.1.0 is out");
        assert_eq!(tags(&event), strings(&[&["t", "release"]]));
        assert!(matches!(
            note_tags(&[vec![]]),
            Err(ParseError::NoteTag { index: 0, .. })
        ));
        assert!(matches!(
            note_tags(&[vec!["t".into(), "x".into()], vec!["".into(), "y".into()]]),
            Err(ParseError::NoteTag { index: 1, .. })
        ));
    }

    #[test]
    fn parse_address_keeps_colons_in_d() {
        let pubkey = Keys::generate().public_key();
        let d = "action:owner/name:1:merge";
        let parsed = parse_address(&proposal_address(&pubkey, d)).unwrap();
        assert_eq!(parsed, proposal_coordinate(&pubkey, d));
        assert_eq!(parsed.identifier, d);
        for bad in ["", "30078", "30078:abc", "x:abc:d", "30078:nothex:d"] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nostr_coordinate_parse_still_cuts_d_at_a_colon() {
        // Why parse_address exists. If this fails, nostr keeps the whole `d` now and
        // parse_address could give way to Coordinate::parse.
        let pubkey = Keys::generate().public_key();
        let d = "action:owner/name:1:merge";
        let parsed = Coordinate::parse(&proposal_address(&pubkey, d)).unwrap();
        assert_eq!(parsed.identifier, "action");
    }

    #[test]
    fn parsers_reject_the_wrong_kind() {
        let (_, note) = sign(bot_note("hello", vec![]));
        let wrong = |r: Result<(), ParseError>| {
            assert!(
                matches!(r, Err(ParseError::WrongKind { found: 1, .. })),
                "{r:?}"
            )
        };
        wrong(parse_governance_status(&note).map(drop));
        wrong(parse_server_health(&note).map(drop));
        wrong(parse_audit_head(&note).map(drop));
        wrong(parse_governance_action(&note).map(drop));
        wrong(parse_vote_tally::<Value>(&note).map(drop));
        wrong(parse_bot_profile(&note).map(drop));
        wrong(parse_relay_list(&note).map(drop));
        let (_, status) = sign(governance_status(&status()));
        assert!(matches!(
            parse_note(&status),
            Err(ParseError::WrongKind {
                expected: 1,
                found: 30078
            })
        ));
    }

    #[test]
    fn parsers_reject_a_missing_or_wrong_d() {
        let json = to_json(&status());
        let event = raw_event(
            30078,
            &[
                &["server", "commons-dev-01"],
                &["governance_config", "commons_mainnet"],
            ],
            &json,
        );
        assert!(matches!(
            parse_governance_status(&event),
            Err(ParseError::MissingTag { tag: "d" })
        ));
        let (_, action) = sign(governance_action(&review_period(), "commons_mainnet", None));
        assert!(matches!(
            parse_governance_status(&action),
            Err(ParseError::WrongIdentifier { .. })
        ));
        let (_, status) = sign(governance_status(&status()));
        assert!(matches!(
            parse_governance_action(&status),
            Err(ParseError::WrongIdentifier { .. })
        ));
        assert!(matches!(
            parse_vote_tally::<Value>(&status),
            Err(ParseError::MissingTag { tag: "e" })
        ));
        let event = raw_event(30080, &[&["server", "s"]], &to_json(&head()));
        assert!(matches!(
            parse_audit_head(&event),
            Err(ParseError::MissingTag { tag: "d" })
        ));
    }

    #[test]
    fn parsers_reject_bad_json() {
        let tags: &[&[&str]] = &[
            &["d", "governance-status"],
            &["server", "s"],
            &["governance_config", "c"],
        ];
        for content in ["", "not json", "{}", "[]", r#"{"server_id": 5}"#] {
            let event = raw_event(30078, tags, content);
            assert!(
                matches!(
                    parse_governance_status(&event),
                    Err(ParseError::InvalidJson { .. })
                ),
                "{content}"
            );
        }
        let event = raw_event(
            30079,
            &[
                &["d", "server-health"],
                &["server", "s"],
                &["status", "healthy"],
            ],
            "{",
        );
        assert!(matches!(
            parse_server_health(&event),
            Err(ParseError::InvalidJson { .. })
        ));
        let event = raw_event(30080, &[&["d", "audit-head"], &["server", "s"]], "null");
        assert!(matches!(
            parse_audit_head(&event),
            Err(ParseError::InvalidJson { .. })
        ));
        let event = raw_event(0, &[], "not json");
        assert!(parse_bot_profile(&event).is_err());
    }

    #[test]
    fn parsers_reject_missing_tags_mismatches_and_bad_hashes() {
        let json = to_json(&status());
        let event = raw_event(
            30078,
            &[
                &["d", "governance-status"],
                &["governance_config", "commons_mainnet"],
            ],
            &json,
        );
        assert!(matches!(
            parse_governance_status(&event),
            Err(ParseError::MissingTag { tag: "server" })
        ));
        let event = raw_event(
            30078,
            &[
                &["d", "governance-status"],
                &["server", "other"],
                &["governance_config", "commons_mainnet"],
            ],
            &json,
        );
        assert!(matches!(
            parse_governance_status(&event),
            Err(ParseError::Mismatch { tag: "server", .. })
        ));
        let mut bad = status();
        bad.binary_hash = "md5:abc".into();
        let (_, event) = sign(governance_status(&bad));
        assert!(matches!(
            parse_governance_status(&event),
            Err(ParseError::InvalidContent {
                field: "binary_hash",
                ..
            })
        ));
        let mut bad = head();
        bad.consistency_proof.push("zz".into());
        let (_, event) = sign(audit_head("s", &bad));
        assert!(matches!(
            parse_audit_head(&event),
            Err(ParseError::InvalidContent {
                field: "consistency_proof",
                ..
            })
        ));
        let json = to_json(&health(None));
        let event = raw_event(
            30079,
            &[
                &["d", "server-health"],
                &["server", "commons-dev-01"],
                &["status", "healthy"],
            ],
            &json,
        );
        assert!(matches!(
            parse_server_health(&event),
            Err(ParseError::Mismatch { tag: "status", .. })
        ));
        let event = raw_event(
            30079,
            &[
                &["d", "server-health"],
                &["server", "commons-dev-01"],
                &["status", "fine"],
            ],
            &json,
        );
        assert!(matches!(
            parse_server_health(&event),
            Err(ParseError::InvalidTag { tag: "status", .. })
        ));
    }

    #[test]
    fn parse_governance_action_rejects_inconsistent_events() {
        let action = review_period();
        let json = to_json(&action.content());
        let base: Vec<Vec<String>> = tags(&sign(governance_action(&action, "c", None)).1);
        let without = |name: &str| -> Vec<Vec<String>> {
            base.iter().filter(|t| t[0] != name).cloned().collect()
        };
        let with = |name: &str, values: &[&str]| -> Vec<Vec<String>> {
            let mut tags = without(name);
            let mut tag = vec![name.to_owned()];
            tag.extend(values.iter().map(|v| v.to_string()));
            tags.push(tag);
            tags
        };
        let event = |tags: Vec<Vec<String>>, content: &str| -> Event {
            let tags = tags.into_iter().map(|t| Tag::parse(t).unwrap());
            sign(EventBuilder::new(Kind::from(30078), content).tags(tags)).1
        };
        let check =
            |tags: Vec<Vec<String>>, content: &str| parse_governance_action(&event(tags, content));

        assert!(check(base.clone(), &json).is_ok());
        assert!(matches!(
            check(without("action"), &json),
            Err(ParseError::MissingTag { tag: "action" })
        ));
        assert!(matches!(
            check(without("tier"), &json),
            Err(ParseError::MissingTag { tag: "tier" })
        ));
        assert!(matches!(
            check(without("voting_window"), &json),
            Err(ParseError::MissingTag {
                tag: "voting_window"
            })
        ));
        assert!(matches!(
            check(with("action", &["vote"]), &json),
            Err(ParseError::InvalidTag { tag: "action", .. })
        ));
        assert!(matches!(
            check(with("tier", &["three"]), &json),
            Err(ParseError::InvalidTag { tag: "tier", .. })
        ));
        assert!(matches!(
            check(with("tier", &["4"]), &json),
            Err(ParseError::Mismatch { tag: "tier", .. })
        ));
        assert!(matches!(
            check(with("action", &["merge"]), &json),
            Err(ParseError::Mismatch { tag: "action", .. })
        ));
        assert!(matches!(
            check(with("pr", &["43"]), &json),
            Err(ParseError::Mismatch { tag: "pr", .. })
        ));
        assert!(matches!(
            check(with("voting_window", &["5"]), &json),
            Err(ParseError::InvalidTag {
                tag: "voting_window",
                ..
            })
        ));
        assert!(matches!(
            check(with("voting_window", &["9", "5"]), &json),
            Err(ParseError::InvalidTag {
                tag: "voting_window",
                ..
            })
        ));
        assert!(matches!(
            check(with("d", &["action:x/y:1:merge"]), &json),
            Err(ParseError::Mismatch { tag: "d", .. })
        ));
        assert!(matches!(
            check(base.clone(), "{\"action\":"),
            Err(ParseError::InvalidJson { .. })
        ));
    }

    #[test]
    fn parsers_do_not_panic_on_odd_tags() {
        // Tags with a name and no value, unknown tags, duplicate tags.
        let event = Event::from_json(
            json!({
                "id": "0000000000000000000000000000000000000000000000000000000000000000",
                "pubkey": Keys::generate().public_key().to_hex(),
                "created_at": 1, "kind": 30078,
                "tags": [["d"], ["server"], ["e"], ["a"], ["t"], ["voting_window"], ["x", "y"]],
                "content": "{}",
                "sig": "0".repeat(128),
            })
            .to_string(),
        )
        .expect("structurally valid event");
        assert!(parse_governance_status(&event).is_err());
        assert!(parse_governance_action(&event).is_err());
        assert!(parse_vote_tally::<Value>(&event).is_err());
    }
}
