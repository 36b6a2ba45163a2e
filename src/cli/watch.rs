//! `commons-nostr watch`: governance events as they arrive, one verified line each.
//!
//! ```text
//! commons-nostr watch --relay wss://relay.example --server npub1... --bot gov=npub1... [--json]
//! ```
//!
//! It subscribes on every relay to what the server and the bots publish (governance actions,
//! vote tallies, audit heads, server health, governance status, the bots' notes) from the
//! moment it starts, and prints each event once, when it arrives: the time, what it is, who
//! signed it (by name when `--bot NAME=NPUB`/`--server` named it, else the npub), the key facts
//! and every relay that delivered it. With no `--server` or `--bot`, everything
//! governance-shaped from anyone is shown, its author marked `unknown`.
//!
//! # Nothing is shown as good unless it checks out
//!
//! Each event is judged by [`judge`], a pure function: its id and signature are checked here
//! ([`Event::verify`]), then its wire format with the [`crate::nostr::events`] parsers (and an audit
//! head's consistency proof, a tally's content). A failure is printed as a `FORGED` (id or
//! signature) or `MALFORMED` (anything else) line with the reason, and as `"verified": false`
//! with a `problem` in `--json`.
//!
//! nostr-sdk's relay pool verifies events itself and silently drops the ones that fail, and it
//! caches verification by event id alone; a watcher that only listened to the pool could neither
//! flag a forgery nor catch a copy of a known id with other content. So the pool's websocket
//! transport is wrapped ([`TappedTransport`]) and every `EVENT` frame a relay sends is read raw,
//! before the pool sees it. The pool still owns the connections: it reconnects with backoff, and
//! on every (re)connection we re-send the subscription ourselves and say so on stderr.
//!
//! # One line per event, every relay named
//!
//! The same event from several relays is printed once: [`Deduper`] holds a new event for a
//! short settle time (`--settle-ms`, default 300) to collect the relays that deliver it, then
//! prints it. A copy that arrives later is not printed again; a copy with the same id but other
//! content is judged on its own (and will not verify).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use nostr_sdk::pool::transport::error::TransportError;
use nostr_sdk::pool::transport::websocket::{
    DefaultWebsocketTransport, WebSocketSink, WebSocketStream, WebSocketTransport,
};
use nostr_sdk::pool::{ConnectionMode, RelayNotification};
use nostr_sdk::prelude::*;
use nostr_sdk::util::BoxedFuture;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::nostr::events::{self, d, hashtag, kind, ParseError};

/// How long a new event waits for other relays to deliver it too, by default.
pub const DEFAULT_SETTLE: Duration = Duration::from_millis(300);
/// How long the pool waits before reconnecting to a relay that dropped, by default.
pub const DEFAULT_RETRY: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Who is watched
// ---------------------------------------------------------------------------------------------

/// A bot given on the command line: `NAME=NPUB`, or only the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bot {
    pub name: Option<String>,
    pub pubkey: PublicKey,
}

impl Bot {
    /// Parses `[NAME=]NPUB` (the key as npub or hex).
    pub fn parse(arg: &str) -> Result<Bot, String> {
        let (name, key) = match arg.split_once('=') {
            Some((name, key)) if !name.trim().is_empty() => (Some(name.trim().to_owned()), key),
            Some(_) => return Err(format!("--bot {arg:?}: the name before `=` is empty")),
            None => (None, arg),
        };
        let pubkey = PublicKey::parse(key.trim())
            .map_err(|_| format!("--bot {arg:?}: {key:?} is not an npub or hex key"))?;
        Ok(Bot { name, pubkey })
    }
}

/// The server and bots whose events are shown; both empty means anyone's.
#[derive(Debug, Clone, Default)]
pub struct Authors {
    pub server: Option<PublicKey>,
    pub bots: Vec<Bot>,
}

/// Who signed an event, as far as the watcher knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Server,
    Bot(Option<String>),
    Unknown,
}

impl Authors {
    /// No author given: everything governance-shaped is shown.
    pub fn anyone(&self) -> bool {
        self.server.is_none() && self.bots.is_empty()
    }

    pub fn role(&self, pubkey: &PublicKey) -> Role {
        if self.server.as_ref() == Some(pubkey) {
            return Role::Server;
        }
        match self.bots.iter().find(|b| b.pubkey == *pubkey) {
            Some(bot) => Role::Bot(bot.name.clone()),
            None => Role::Unknown,
        }
    }

    /// How an author is named on a line: `server`, the bot's name, or the npub.
    pub fn display(&self, pubkey: &PublicKey) -> String {
        match self.role(pubkey) {
            Role::Server => "server".to_owned(),
            Role::Bot(Some(name)) => name,
            Role::Bot(None) => npub(pubkey),
            Role::Unknown => format!("unknown {}", npub(pubkey)),
        }
    }

    /// What to ask the relays for, from `since` on.
    pub fn filters(&self, since: Timestamp) -> Vec<Filter> {
        let structured = Filter::new()
            .kinds([
                kind::GOVERNANCE_ACTION,
                kind::SERVER_HEALTH,
                kind::AUDIT_HEAD,
                kind::ZAP_POLL,
            ])
            .since(since);
        let notes = Filter::new().kind(kind::TEXT_NOTE).since(since);
        if self.anyone() {
            let polls = Filter::new()
                .kind(kind::ZAP_POLL)
                .hashtag(hashtag::GOVERNANCE_PROPOSAL)
                .since(since);
            return vec![
                structured.remove_kinds([kind::ZAP_POLL]),
                polls,
                notes.hashtag(hashtag::GOVERNANCE),
            ];
        }
        let everyone = self
            .server
            .iter()
            .copied()
            .chain(self.bots.iter().map(|b| b.pubkey));
        let mut filters = vec![structured.authors(everyone)];
        if !self.bots.is_empty() {
            filters.push(notes.authors(self.bots.iter().map(|b| b.pubkey)));
        }
        filters
    }
}

fn npub(pubkey: &PublicKey) -> String {
    pubkey.to_bech32().unwrap_or_else(|_| pubkey.to_hex())
}

// ---------------------------------------------------------------------------------------------
// Judging one event
// ---------------------------------------------------------------------------------------------

/// What a governance event is, from its kind and `d` tag alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    Action,
    Tally,
    AuditHead,
    Health,
    Status,
    Note,
    /// A zap poll (kind 6969): a proposal's one-tap vote buttons.
    Poll,
}

impl What {
    /// The event's shape, or `None` when it is not a governance event.
    pub fn of(event: &Event, authors: &Authors) -> Option<What> {
        match event.kind.as_u16() {
            30078 => match event.tags.identifier() {
                Some(v) if v.starts_with(d::ACTION_PREFIX) => Some(What::Action),
                Some(v) if v.starts_with(d::TALLY_PREFIX) => Some(What::Tally),
                Some(d::GOVERNANCE_STATUS) => Some(What::Status),
                _ => None,
            },
            30079 => Some(What::Health),
            30080 => Some(What::AuditHead),
            6969 => {
                // A zap poll of a governance proposal: from a given author, or (when none was
                // given) any tagged `governance-proposal`; other polls are not governance.
                let known = authors.role(&event.pubkey) != Role::Unknown;
                let tagged = event
                    .tags
                    .hashtags()
                    .any(|t| t == hashtag::GOVERNANCE_PROPOSAL);
                (known || (authors.anyone() && tagged)).then_some(What::Poll)
            }
            1 => {
                let governance = event.tags.hashtags().any(|t| t == hashtag::GOVERNANCE);
                let from_bot = matches!(authors.role(&event.pubkey), Role::Bot(_));
                (from_bot || (authors.anyone() && governance)).then_some(What::Note)
            }
            _ => None,
        }
    }

    /// The word on a line and in `--json`'s `type`.
    pub fn as_str(self) -> &'static str {
        match self {
            What::Action => "action",
            What::Tally => "tally",
            What::AuditHead => "audit-head",
            What::Health => "health",
            What::Status => "status",
            What::Note => "note",
            What::Poll => "poll",
        }
    }

    /// Whether the server key signs it (else a bot).
    fn signed_by_server(self) -> bool {
        matches!(self, What::AuditHead | What::Health | What::Status)
    }
}

/// Why an event is not shown as good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The id is not the hash of the event, or the signature does not verify.
    Forged(String),
    /// Signed, but not the event it claims to be (tags, content, signer).
    Malformed(String),
}

impl Problem {
    pub fn flag(&self) -> &'static str {
        match self {
            Problem::Forged(_) => "FORGED",
            Problem::Malformed(_) => "MALFORMED",
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Problem::Forged(r) | Problem::Malformed(r) => r,
        }
    }
}

/// One event, judged: what it is, who signed it, its key facts or what is wrong with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub what: What,
    pub id: EventId,
    pub pubkey: PublicKey,
    pub created_at: Timestamp,
    /// `server`, the bot's name, or the npub (`unknown npub1...` for an author not given).
    pub author: String,
    pub known_author: bool,
    /// The key facts, for `--json`.
    pub facts: Map<String, Value>,
    /// The key facts, for a human.
    pub summary: String,
    pub problem: Option<Problem>,
}

/// Judges one event; `None` when it is not shown at all (not governance-shaped, or from an
/// author other than the ones given).
pub fn judge(event: &Event, authors: &Authors) -> Option<Judged> {
    let what = What::of(event, authors)?;
    let role = authors.role(&event.pubkey);
    if !authors.anyone() && role == Role::Unknown {
        return None;
    }
    let mut judged = Judged {
        what,
        id: event.id,
        pubkey: event.pubkey,
        created_at: event.created_at,
        author: authors.display(&event.pubkey),
        known_author: role != Role::Unknown,
        facts: Map::new(),
        summary: String::new(),
        problem: None,
    };
    if let Err(e) = event.verify() {
        judged.problem = Some(Problem::Forged(format!("bad id or signature: {e}")));
        return Some(judged);
    }
    if let Some(wrong) = wrong_signer(what, &role) {
        judged.problem = Some(Problem::Malformed(wrong));
        return Some(judged);
    }
    match facts(what, event) {
        Ok((facts, summary)) => {
            judged.facts = facts;
            judged.summary = summary;
        }
        Err(reason) => judged.problem = Some(Problem::Malformed(reason)),
    }
    Some(judged)
}

fn wrong_signer(what: What, role: &Role) -> Option<String> {
    match (what.signed_by_server(), role) {
        (true, Role::Bot(_)) => Some(format!(
            "a {} signed by a bot key; the server key signs these",
            what.as_str()
        )),
        (false, Role::Server) => Some(format!(
            "a {} signed by the server key; a bot signs these",
            what.as_str()
        )),
        _ => None,
    }
}

type Facts = (Map<String, Value>, String);

fn facts(what: What, event: &Event) -> Result<Facts, String> {
    let wire = |e: ParseError| e.to_string();
    match what {
        What::Action => action_facts(
            &crate::nostr::governance_action::parse_governance_action(event).map_err(wire)?,
        ),
        What::Tally => {
            let tally = events::parse_vote_tally::<Value>(event).map_err(wire)?;
            tally_facts(&tally.proposal, &tally.tally)
        }
        What::AuditHead => {
            let head = events::parse_audit_head(event).map_err(wire)?.head;
            crate::cli::verifier::check_audit_head(&head)
                .map_err(|e| format!("consistency proof: {e}"))?;
            let summary = format!(
                "head {} ({} entries), extends {} entries, proof ok",
                short(&head.head),
                head.entries,
                head.previous_entries
            );
            Ok((
                object(json!({"head": head.head, "entries": head.entries,
                "previous_head": head.previous_head, "previous_entries": head.previous_entries})),
                summary,
            ))
        }
        What::Health => {
            let h = events::parse_server_health(event).map_err(wire)?.health;
            let mut summary = format!(
                "{}, {}/{} relays connected, up {}s",
                h.status.as_str(),
                h.relays_connected,
                h.relays_total,
                h.uptime_secs
            );
            if let Some(m) = &h.last_merge {
                summary.push_str(&format!(", last merge {}#{}", m.repository, m.pr));
            }
            Ok((
                object(
                    json!({"server_id": h.server_id, "status": h.status.as_str(),
                "relays_connected": h.relays_connected, "relays_total": h.relays_total,
                "uptime_secs": h.uptime_secs, "last_merge": h.last_merge}),
                ),
                summary,
            ))
        }
        What::Status => {
            let s = events::parse_governance_status(event).map_err(wire)?.status;
            let summary = format!(
                "{} v{}, audit head {} ({} entries), {} relays, up {}s",
                s.governance_config,
                s.version,
                short(&s.audit.head),
                s.audit.entries,
                s.relays.len(),
                s.uptime_secs
            );
            Ok((
                object(
                    json!({"server_id": s.server_id, "governance_config": s.governance_config,
                "version": s.version, "audit": s.audit, "relays": s.relays,
                "uptime_secs": s.uptime_secs}),
                ),
                summary,
            ))
        }
        What::Poll => {
            let poll = events::parse_zap_poll(event).map_err(wire)?;
            let options: Vec<String> = poll
                .options
                .iter()
                .map(|(index, label)| format!("{index} {label}"))
                .collect();
            let mut summary = format!(
                "zap poll on {}: {}",
                short(&poll.proposal.to_hex()),
                options.join(", ")
            );
            if let Some(closed) = poll.closed_at {
                summary.push_str(&format!(", closes {}", time(closed.as_secs())));
            }
            let listed: Vec<Value> = poll
                .options
                .iter()
                .map(|(index, label)| json!({"index": index, "label": label}))
                .collect();
            Ok((
                object(
                    json!({"proposal": poll.proposal.to_hex(), "options": listed,
                "closed_at": poll.closed_at.map(|t| t.as_secs())}),
                ),
                summary,
            ))
        }
        What::Note => {
            let note = events::parse_note(event).map_err(wire)?;
            let text: String = note.text.split_whitespace().collect::<Vec<_>>().join(" ");
            let shown: String = text.chars().take(120).collect();
            let ellipsis = if shown.len() < text.len() { "…" } else { "" };
            let mut summary = format!("\"{shown}{ellipsis}\"");
            if let Some(e) = note.events.first() {
                summary.push_str(&format!(" re {}", short(&e.to_hex())));
            }
            let refs: Vec<String> = note.events.iter().map(EventId::to_hex).collect();
            Ok((
                object(json!({"text": note.text, "events": refs, "hashtags": note.hashtags})),
                summary,
            ))
        }
    }
}

fn action_facts(
    a: &crate::nostr::governance_action::GovernanceActionEvent,
) -> Result<Facts, String> {
    let c = &a.content;
    let mut summary = a.action.as_str().to_owned();
    if let (Some(repository), Some(pr)) = (&a.repository, a.pr) {
        summary.push_str(&format!(" {repository}#{pr}"));
    }
    if let Some(k) = &c.keyholder {
        summary.push_str(&format!(" {} {}", k.name, k.change.as_str()));
    }
    if let Some(f) = &c.fork {
        summary.push_str(&format!(
            " {} {} from {}",
            f.ruleset,
            f.decision.as_str(),
            time(f.effective_at)
        ));
    }
    summary.push_str(&format!(" tier {} \"{}\"", a.tier, c.title));
    if let Some((start, end)) = a.voting_window {
        summary.push_str(&format!(
            ", voting {} to {}",
            time(start.as_secs()),
            time(end.as_secs())
        ));
    }
    let mut facts = object(json!({
        "action": a.action.as_str(), "d": a.d, "repository": a.repository, "pr": a.pr,
        "tier": a.tier, "title": c.title, "governance_config": a.governance_config,
        "zap": a.zap,
    }));
    if let Some((start, end)) = a.voting_window {
        facts.insert(
            "voting_window".into(),
            json!({"start": start.as_secs(), "end": end.as_secs()}),
        );
    }
    if let Some(k) = &c.keyholder {
        facts.insert("keyholder".into(), json!(k));
    }
    if let Some(f) = &c.fork {
        facts.insert("fork".into(), json!(f));
    }
    Ok((facts, summary))
}

/// A tally's verdict from its `result`: `vetoed`, `passes` or `below threshold`.
pub fn verdict(threshold_met: bool, veto_blocks: bool) -> &'static str {
    match (threshold_met, veto_blocks) {
        (_, true) => "vetoed",
        (true, false) => "passes",
        (false, false) => "below threshold",
    }
}

/// Reads a tally's content (DESIGN.md "Tally events") as JSON: the fields a watcher shows must
/// be there with the right types, `proposal` must be the proposal the tags name, and the
/// `result` must agree with itself (`threshold_met` is `support_votes >= threshold`; a veto
/// needs veto votes).
pub fn tally_facts(proposal: &EventId, content: &Value) -> Result<Facts, String> {
    let field = |path: &str| -> Result<&Value, String> {
        path.split('.')
            .try_fold(content, |v, key| v.get(key))
            .ok_or_else(|| format!("tally content: `{path}` missing"))
    };
    let number = |path: &str| -> Result<f64, String> {
        field(path)?
            .as_f64()
            .ok_or_else(|| format!("tally content: `{path}` is not a number"))
    };
    let boolean = |path: &str| -> Result<bool, String> {
        field(path)?
            .as_bool()
            .ok_or_else(|| format!("tally content: `{path}` is not true or false"))
    };
    let support = number("result.support_votes")?;
    let veto = number("result.veto_votes")?;
    number("result.abstain_votes")?;
    let threshold = number("result.threshold")?;
    let threshold_met = boolean("result.threshold_met")?;
    let veto_blocks = boolean("result.veto_blocks")?;
    let is_final = boolean("final")?;
    number("as_of")?;
    let receipts = field("receipts_count")?
        .as_u64()
        .ok_or("tally content: `receipts_count` is not a whole number")?;
    let root = field("receipts_root")?
        .as_str()
        .ok_or("tally content: `receipts_root` is not a string")?;
    let hex = root.strip_prefix(events::SHA256_PREFIX).unwrap_or_default();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "tally content: `receipts_root` {root:?} is not sha256:<64 hex>"
        ));
    }
    let named = field("proposal")?
        .as_str()
        .ok_or("tally content: `proposal` is not a string")?;
    if !named.eq_ignore_ascii_case(&proposal.to_hex()) {
        return Err(format!(
            "tally content: `proposal` {named} is not the proposal its tags name ({proposal})"
        ));
    }
    if threshold_met != (support >= threshold) {
        return Err(format!(
            "tally content: `result.threshold_met` is {threshold_met} with support_votes \
             {support} and threshold {threshold}"
        ));
    }
    if veto_blocks && veto <= 0.0 {
        return Err("tally content: `result.veto_blocks` is true with no veto votes".into());
    }
    let r = &content["result"];
    let verdict = verdict(threshold_met, veto_blocks);
    let mut summary = format!(
        "proposal {}: {verdict} (support {}, veto {}, abstain {}, threshold {})",
        short(&proposal.to_hex()),
        r["support_votes"],
        r["veto_votes"],
        r["abstain_votes"],
        r["threshold"],
    );
    if is_final {
        summary.push_str(", final");
    }
    summary.push_str(&format!(", {receipts} receipts, root {}", short(root)));
    let facts = object(json!({
        "proposal": proposal.to_hex(), "verdict": verdict, "final": is_final,
        "support_votes": r["support_votes"], "veto_votes": r["veto_votes"],
        "abstain_votes": r["abstain_votes"], "threshold": r["threshold"],
        "threshold_met": threshold_met, "veto_blocks": veto_blocks,
        "as_of": content["as_of"], "receipts_count": receipts, "receipts_root": root,
    }));
    Ok((facts, summary))
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// The first 12 characters of a hash or id (after a `sha256:` prefix), then `…`.
fn short(hash: &str) -> String {
    let (prefix, rest) = match hash.strip_prefix(events::SHA256_PREFIX) {
        Some(rest) => (events::SHA256_PREFIX, rest),
        None => ("", hash),
    };
    if rest.len() <= 12 {
        return hash.to_owned();
    }
    format!("{prefix}{}…", &rest[..12])
}

/// Unix seconds as `2025-01-02T03:04:05Z`.
fn time(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| secs.to_string())
}

// ---------------------------------------------------------------------------------------------
// Lines
// ---------------------------------------------------------------------------------------------

/// The human line: `<time>  <TYPE> <author>  <facts>  id <id> via <relays>`; a flagged event's
/// line starts with `FORGED` or `MALFORMED` and gives the reason instead of facts.
pub fn text_line(j: &Judged, relays: &[RelayUrl]) -> String {
    let via = relays
        .iter()
        .map(RelayUrl::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let head = format!(
        "{}  {:<10} {}",
        time(j.created_at.as_secs()),
        j.what.as_str().to_uppercase(),
        j.author
    );
    let id = short(&j.id.to_hex());
    match &j.problem {
        None => format!("{head}  {}  id {id} via {via}", j.summary),
        Some(p) => format!("{:<9} {head}  id {id}: {}  via {via}", p.flag(), p.reason()),
    }
}

/// The `--json` line: one object, `verified` always, `problem` and `flag` when not verified.
pub fn json_line(j: &Judged, relays: &[RelayUrl]) -> String {
    let mut line = object(json!({
        "verified": j.problem.is_none(),
        "time": time(j.created_at.as_secs()),
        "created_at": j.created_at.as_secs(),
        "type": j.what.as_str(),
        "id": j.id.to_hex(),
        "author": j.author,
        "npub": npub(&j.pubkey),
        "known_author": j.known_author,
        "relays": relays.iter().map(RelayUrl::as_str).collect::<Vec<_>>(),
    }));
    match &j.problem {
        None => {
            line.insert("summary".into(), j.summary.clone().into());
            line.insert("facts".into(), Value::Object(j.facts.clone()));
        }
        Some(p) => {
            line.insert("flag".into(), p.flag().to_lowercase().into());
            line.insert("problem".into(), p.reason().into());
        }
    }
    Value::Object(line).to_string()
}

// ---------------------------------------------------------------------------------------------
// Dedupe across relays
// ---------------------------------------------------------------------------------------------

struct Pending {
    event: Event,
    relays: Vec<RelayUrl>,
    due: Instant,
}

/// Shows each event once: a new one waits `settle` for other relays to deliver it too.
pub struct Deduper {
    settle: Duration,
    /// Every distinct copy seen, by id (a copy with other content under a known id is new).
    seen: HashMap<EventId, Vec<Event>>,
    pending: Vec<Pending>,
}

impl Deduper {
    pub fn new(settle: Duration) -> Deduper {
        Deduper {
            settle,
            seen: HashMap::new(),
            pending: Vec::new(),
        }
    }

    /// `relay` delivered `event` at `now`.
    pub fn offer(&mut self, relay: &RelayUrl, event: Event, now: Instant) {
        if let Some(p) = self.pending.iter_mut().find(|p| p.event == event) {
            if !p.relays.contains(relay) {
                p.relays.push(relay.clone());
            }
            return;
        }
        let copies = self.seen.entry(event.id).or_default();
        if copies.contains(&event) {
            return; // already shown
        }
        copies.push(event.clone());
        self.pending.push(Pending {
            event,
            relays: vec![relay.clone()],
            due: now + self.settle,
        });
    }

    /// When the next held event is due.
    pub fn next_due(&self) -> Option<Instant> {
        self.pending.iter().map(|p| p.due).min()
    }

    /// The events due at `now` (all of them with `now` = `None`), in arrival order.
    pub fn take_due(&mut self, now: Option<Instant>) -> Vec<(Event, Vec<RelayUrl>)> {
        let (due, held) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| now.is_none_or(|now| p.due <= now));
        self.pending = held;
        due.into_iter()
            .map(|p: Pending| (p.event, p.relays))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The loop
// ---------------------------------------------------------------------------------------------

/// What the watcher says: event lines for stdout, connection notices for stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Line(String),
    Notice(String),
}

#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub relays: Vec<RelayUrl>,
    pub authors: Authors,
    pub json: bool,
    pub settle: Duration,
    pub retry: Duration,
}

/// A raw text frame a relay sent.
struct Frame {
    relay: RelayUrl,
    text: String,
}

/// nostr-sdk's websocket transport with a tap on what relays send: each text frame is copied
/// to the watcher before the pool reads (and possibly drops) it.
#[derive(Debug)]
pub struct TappedTransport {
    frames: mpsc::UnboundedSender<Frame>,
    /// The relays as given, by the URL the pool connects to (which gains a `/` path), so
    /// lines name a relay the way the user did.
    relays: Vec<(Url, RelayUrl)>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.relay, self.text)
    }
}

impl WebSocketTransport for TappedTransport {
    fn support_ping(&self) -> bool {
        DefaultWebsocketTransport.support_ping()
    }

    fn connect<'a>(
        &'a self,
        url: &'a Url,
        mode: &'a ConnectionMode,
        timeout: Duration,
    ) -> BoxedFuture<'a, Result<(WebSocketSink, WebSocketStream), TransportError>> {
        Box::pin(async move {
            let (sink, stream) = DefaultWebsocketTransport
                .connect(url, mode, timeout)
                .await?;
            let relay = match self.relays.iter().find(|(u, _)| u == url) {
                Some((_, relay)) => relay.clone(),
                None => RelayUrl::parse(url.as_str()).map_err(TransportError::backend)?,
            };
            let frames = self.frames.clone();
            let stream = stream.inspect(move |message| {
                if let Ok(text) = message.as_ref().map(|m| m.as_text()) {
                    if let Some(text) = text.filter(|t| t.trim_start().starts_with("[\"EVENT\"")) {
                        let _ = frames.send(Frame {
                            relay: relay.clone(),
                            text: text.to_owned(),
                        });
                    }
                }
            });
            Ok((sink, Box::pin(stream) as WebSocketStream))
        })
    }
}

/// The event of an `EVENT` frame, or why it cannot be read.
fn frame_event(text: &str) -> Result<Event, String> {
    match RelayMessage::from_json(text) {
        Ok(RelayMessage::Event { event, .. }) => Ok(event.into_owned()),
        Ok(_) => Err("not an EVENT message".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Watches until `shutdown` completes, sending what it has to say to `out`.
pub async fn watch(
    opts: WatchOptions,
    mut out: impl FnMut(Output),
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let (frames_tx, mut frames) = mpsc::unbounded_channel();
    let client = Client::builder()
        .websocket_transport(TappedTransport {
            frames: frames_tx,
            relays: opts
                .relays
                .iter()
                .filter_map(|r| Some((Url::parse(r.as_str()).ok()?, r.clone())))
                .collect(),
        })
        .build();
    let relay_opts = RelayOptions::new().retry_interval(opts.retry);
    let (status_tx, mut statuses) = mpsc::unbounded_channel();
    for url in &opts.relays {
        client
            .pool()
            .add_relay(url.clone(), relay_opts.clone())
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let relay = client.relay(url).await.map_err(|e| format!("{url}: {e}"))?;
        let mut notifications = relay.notifications();
        let status_tx = status_tx.clone();
        let url = url.clone();
        tokio::spawn(async move {
            while let Ok(n) = notifications.recv().await {
                match n {
                    RelayNotification::RelayStatus { status }
                        if status_tx.send((url.clone(), status)).is_err() =>
                    {
                        break
                    }
                    RelayNotification::Shutdown => break,
                    _ => {}
                }
            }
        });
    }
    drop(status_tx);
    let filters = opts.authors.filters(Timestamp::now());
    let ids: Vec<SubscriptionId> = (0..filters.len())
        .map(|i| SubscriptionId::new(format!("commons-watch-{i}")))
        .collect();
    client.connect().await;

    let mut dedupe = Deduper::new(opts.settle);
    let mut connected: BTreeMap<RelayUrl, bool> = BTreeMap::new();
    tokio::pin!(shutdown);
    loop {
        let due = dedupe.next_due();
        tokio::select! {
            _ = &mut shutdown => break,
            Some(frame) = frames.recv() => match frame_event(&frame.text) {
                Ok(event) => dedupe.offer(&frame.relay, event, Instant::now()),
                Err(e) => out(Output::Notice(format!(
                    "{}: an EVENT message that cannot be read: {e}", frame.relay
                ))),
            },
            Some((url, status)) = statuses.recv() => {
                let was = connected.get(&url).copied();
                match status {
                    RelayStatus::Connected => {
                        // nostr-sdk re-sends its subscriptions on reconnect too; sending ours
                        // again makes sure of it (a REQ with the same id replaces the old one,
                        // and what the relay re-sends is deduplicated).
                        for (id, filter) in ids.iter().zip(&filters) {
                            if let Err(e) = client
                                .subscribe_with_id_to([url.clone()], id.clone(), filter.clone(), None)
                                .await
                            {
                                out(Output::Notice(format!("{url}: cannot subscribe: {e}")));
                            }
                        }
                        let word = if was.is_some() { "back, subscription re-sent" } else { "connected" };
                        out(Output::Notice(format!("relay {url} {word}")));
                        connected.insert(url, true);
                    }
                    RelayStatus::Disconnected | RelayStatus::Terminated | RelayStatus::Banned => {
                        if was == Some(true) {
                            out(Output::Notice(format!("relay {url} down ({status}), reconnecting")));
                        }
                        connected.insert(url, false);
                    }
                    _ => {}
                }
            },
            _ = sleep_until(due) => {}
        }
        show(dedupe.take_due(Some(Instant::now())), &opts, &mut out);
    }
    show(dedupe.take_due(None), &opts, &mut out);
    client.shutdown().await;
    Ok(())
}

/// Judges and prints the events whose settle time is over.
fn show(due: Vec<(Event, Vec<RelayUrl>)>, opts: &WatchOptions, out: &mut impl FnMut(Output)) {
    for (event, relays) in due {
        if let Some(judged) = judge(&event, &opts.authors) {
            out(Output::Line(if opts.json {
                json_line(&judged, &relays)
            } else {
                text_line(&judged, &relays)
            }));
        }
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nostr::governance_action::{GovernanceAction, GovernanceActionRequest};

    fn review_period() -> GovernanceAction {
        let request: GovernanceActionRequest = serde_json::from_value(json!({
            "action": "review-period", "repository": "btc-commons/governance", "pr": 42,
            "tier": 3, "title": "Raise the weight cap", "voting_window_days": 14
        }))
        .unwrap();
        GovernanceAction::parse(request, Timestamp::from_secs(1_700_000_000)).unwrap()
    }

    fn tally_content(proposal: &EventId, support: f64, veto: f64, is_final: bool) -> Value {
        json!({
            "result": {"pr_id": 42, "tier": 3, "threshold": 100, "support_votes": support,
                       "veto_votes": veto, "abstain_votes": 1, "threshold_met": support >= 100.0,
                       "veto_blocks": veto > 0.0},
            "proposal": proposal.to_hex(), "as_of": 1_700_000_500, "final": is_final,
            "receipts_count": 3, "receipts_root": format!("sha256:{}", "ab".repeat(32)),
        })
    }

    struct World {
        gov: Keys,
        server: Keys,
        authors: Authors,
    }

    fn world() -> World {
        let gov = Keys::generate();
        let server = Keys::generate();
        let authors = Authors {
            server: Some(server.public_key()),
            bots: vec![Bot {
                name: Some("gov".into()),
                pubkey: gov.public_key(),
            }],
        };
        World {
            gov,
            server,
            authors,
        }
    }

    fn sign(builder: EventBuilder, keys: &Keys) -> Event {
        builder.sign_with_keys(keys).unwrap()
    }

    #[test]
    fn bot_arguments_are_name_equals_key_or_a_key() {
        let keys = Keys::generate();
        let npub = keys.public_key().to_bech32().unwrap();
        let named = Bot::parse(&format!("gov={npub}")).unwrap();
        assert_eq!(named.name.as_deref(), Some("gov"));
        assert_eq!(named.pubkey, keys.public_key());
        assert_eq!(Bot::parse(&keys.public_key().to_hex()).unwrap().name, None);
        assert!(Bot::parse("gov=npub1nope")
            .unwrap_err()
            .contains("not an npub"));
        assert!(Bot::parse(&format!("={npub}")).is_err());
    }

    #[test]
    fn the_verdict_of_a_tally() {
        assert_eq!(verdict(true, false), "passes");
        assert_eq!(verdict(true, true), "vetoed");
        assert_eq!(verdict(false, true), "vetoed");
        assert_eq!(verdict(false, false), "below threshold");
        let proposal = EventId::all_zeros();
        let (facts, summary) =
            tally_facts(&proposal, &tally_content(&proposal, 120.5, 0.0, true)).unwrap();
        assert_eq!(facts["verdict"], "passes");
        assert_eq!(facts["final"], true);
        assert!(
            summary.contains("passes (support 120.5, veto 0.0, abstain 1, threshold 100), final"),
            "{summary}"
        );
        let (_, summary) =
            tally_facts(&proposal, &tally_content(&proposal, 12.0, 0.0, false)).unwrap();
        assert!(summary.contains("below threshold"), "{summary}");
        assert!(!summary.contains("final"), "{summary}");
        let (facts, _) =
            tally_facts(&proposal, &tally_content(&proposal, 500.0, 3.0, false)).unwrap();
        assert_eq!(facts["verdict"], "vetoed");
    }

    #[test]
    fn a_tally_that_contradicts_itself_or_lacks_a_field_is_refused() {
        let proposal = EventId::all_zeros();
        let mut content = tally_content(&proposal, 12.0, 0.0, false);
        content["result"]["threshold_met"] = json!(true);
        assert!(tally_facts(&proposal, &content)
            .unwrap_err()
            .contains("threshold_met"));
        let mut content = tally_content(&proposal, 12.0, 0.0, false);
        content["result"]["veto_blocks"] = json!(true);
        assert!(tally_facts(&proposal, &content)
            .unwrap_err()
            .contains("veto_blocks"));
        let mut content = tally_content(&proposal, 12.0, 0.0, false);
        content["result"]
            .as_object_mut()
            .unwrap()
            .remove("support_votes");
        assert!(tally_facts(&proposal, &content)
            .unwrap_err()
            .contains("`result.support_votes` missing"));
        let mut content = tally_content(&proposal, 12.0, 0.0, false);
        content["receipts_root"] = json!("sha256:xyz");
        assert!(tally_facts(&proposal, &content)
            .unwrap_err()
            .contains("receipts_root"));
        let other = EventId::from_slice(&[1; 32]).unwrap();
        let content = tally_content(&other, 12.0, 0.0, false);
        assert!(tally_facts(&proposal, &content)
            .unwrap_err()
            .contains("not the proposal"));
        assert!(tally_facts(&proposal, &json!([])).is_err());
    }

    #[test]
    fn a_zap_poll_is_shown_with_its_options_and_a_broken_one_is_flagged() {
        let w = world();
        let proposal = EventId::from_byte_array([9; 32]);
        let address = events::proposal_coordinate(
            &w.gov.public_key(),
            "action:btc-commons/governance:42:review-period",
        );
        let poll = events::ZapPoll {
            proposal,
            address: &address,
            gov: w.gov.public_key(),
            relay: None,
            closed_at: Timestamp::from_secs(1_800_000_000),
            content: "Raise the weight cap",
            alt: "Zap poll",
        };
        let good = sign(events::zap_poll(&poll), &w.gov);
        let j = judge(&good, &w.authors).unwrap();
        assert_eq!(j.problem, None, "{:?}", j.problem);
        assert_eq!((j.what, j.author.as_str()), (What::Poll, "gov"));
        assert_eq!(
            j.summary,
            format!(
                "zap poll on {}: 0 support, 1 veto, 2 abstain, closes 2027-01-15T08:00:00Z",
                short(&proposal.to_hex())
            )
        );
        assert_eq!(j.facts["options"][1]["label"], "veto");

        // One option only: not a poll anyone can vote in.
        let one_option = sign(
            EventBuilder::new(kind::ZAP_POLL, "?").tags([
                Tag::event(proposal),
                Tag::parse(["poll_option", "0", "support"]).unwrap(),
            ]),
            &w.gov,
        );
        let j = judge(&one_option, &w.authors).unwrap();
        assert!(matches!(j.problem, Some(Problem::Malformed(_))), "{j:?}");
        // Signed by the server key: the gov bot publishes polls.
        let j = judge(&sign(events::zap_poll(&poll), &w.server), &w.authors).unwrap();
        assert!(
            j.problem
                .as_ref()
                .is_some_and(|p| p.reason().contains("server key")),
            "{j:?}"
        );
    }

    #[test]
    fn good_events_are_shown_with_their_facts() {
        let w = world();
        let action = sign(
            crate::nostr::governance_action::governance_action(
                &review_period(),
                "commons_mainnet",
                None,
            ),
            &w.gov,
        );
        let j = judge(&action, &w.authors).unwrap();
        assert_eq!(j.problem, None);
        assert_eq!((j.what, j.author.as_str()), (What::Action, "gov"));
        assert!(j.summary.starts_with("review-period btc-commons/governance#42 tier 3 \"Raise the weight cap\", voting 2023-11-14T22:13:20Z to "), "{}", j.summary);
        let tally = sign(
            events::vote_tally(
                action.id,
                &events::proposal_coordinate(
                    &w.gov.public_key(),
                    "action:btc-commons/governance:42:review-period",
                ),
                &tally_content(&action.id, 150.0, 0.0, true),
                "Tally of Raise the weight cap",
            )
            .unwrap(),
            &w.gov,
        );
        let j = judge(&tally, &w.authors).unwrap();
        assert_eq!(j.problem, None, "{:?}", j.problem);
        assert_eq!(j.facts["verdict"], "passes");
        let relay = RelayUrl::parse("ws://127.0.0.1:7777").unwrap();
        let line = text_line(&j, std::slice::from_ref(&relay));
        assert!(line.contains("TALLY"), "{line}");
        assert!(line.contains(" gov "), "{line}");
        assert!(line.ends_with("via ws://127.0.0.1:7777"), "{line}");
        let json: Value = serde_json::from_str(&json_line(&j, &[relay])).unwrap();
        assert_eq!(json["verified"], true);
        assert_eq!(json["type"], "tally");
        assert_eq!(json["facts"]["final"], true);
        assert!(json.get("problem").is_none());
        let note = sign(EventBuilder::text_note("Review period open"), &w.gov);
        assert_eq!(
            judge(&note, &w.authors).unwrap().summary,
            "\"Review period open\""
        );
    }

    #[test]
    fn forged_and_malformed_events_are_flagged_never_shown_as_good() {
        let w = world();
        let action = sign(
            crate::nostr::governance_action::governance_action(
                &review_period(),
                "commons_mainnet",
                None,
            ),
            &w.gov,
        );
        let mut forged = sign(
            events::vote_tally(
                action.id,
                &events::proposal_coordinate(
                    &w.gov.public_key(),
                    "action:btc-commons/governance:42:review-period",
                ),
                &tally_content(&action.id, 150.0, 0.0, true),
                "Tally of Raise the weight cap",
            )
            .unwrap(),
            &w.gov,
        );
        forged.content = forged.content.replace("150.0", "1500.0");
        let j = judge(&forged, &w.authors).unwrap();
        assert!(
            matches!(&j.problem, Some(Problem::Forged(r)) if r.contains("signature")),
            "{:?}",
            j.problem
        );
        let line = text_line(&j, &[]);
        assert!(line.starts_with("FORGED"), "{line}");
        let json: Value = serde_json::from_str(&json_line(&j, &[])).unwrap();
        assert_eq!(json["verified"], false);
        assert!(json["problem"].as_str().unwrap().contains("signature"));
        assert!(json.get("facts").is_none());

        // Signed by the bot, but not a tally: content is not JSON.
        let not_json = sign(
            EventBuilder::new(kind::VOTE_TALLY, "passes, trust me")
                .tags([Tag::identifier(d::tally(&action.id)), Tag::event(action.id)]),
            &w.gov,
        );
        let j = judge(&not_json, &w.authors).unwrap();
        assert!(
            matches!(&j.problem, Some(Problem::Malformed(r)) if r.contains("JSON")),
            "{:?}",
            j.problem
        );
        assert!(text_line(&j, &[]).starts_with("MALFORMED"));

        // A health event signed by a bot, an action signed by the server.
        let health = sign(
            EventBuilder::new(kind::SERVER_HEALTH, "{}").tag(Tag::identifier(d::SERVER_HEALTH)),
            &w.gov,
        );
        assert!(
            matches!(judge(&health, &w.authors).unwrap().problem, Some(Problem::Malformed(r)) if r.contains("server key signs"))
        );
        let by_server = sign(
            crate::nostr::governance_action::governance_action(&review_period(), "c", None),
            &w.server,
        );
        assert!(matches!(
            judge(&by_server, &w.authors).unwrap().problem,
            Some(Problem::Malformed(_))
        ));
    }

    #[test]
    fn other_authors_are_ignored_unless_no_author_was_given() {
        let w = world();
        let stranger = Keys::generate();
        let action = sign(
            crate::nostr::governance_action::governance_action(&review_period(), "c", None),
            &stranger,
        );
        assert!(judge(&action, &w.authors).is_none());
        let j = judge(&action, &Authors::default()).unwrap();
        assert!(!j.known_author);
        assert!(j.author.starts_with("unknown npub1"), "{}", j.author);
        // Not governance-shaped: never shown.
        let other = sign(
            EventBuilder::new(Kind::from(30078u16), "{}").tag(Tag::identifier("x")),
            &w.gov,
        );
        assert!(judge(&other, &w.authors).is_none());
        let chatter = sign(EventBuilder::text_note("gm"), &stranger);
        assert!(judge(&chatter, &Authors::default()).is_none());
        // A stranger's zap poll is governance only when it says so.
        let poll = |tags: Vec<Tag>| {
            let mut all = vec![
                Tag::event(EventId::from_byte_array([3; 32])),
                Tag::parse(["poll_option", "0", "yes"]).unwrap(),
                Tag::parse(["poll_option", "1", "no"]).unwrap(),
            ];
            all.extend(tags);
            sign(EventBuilder::new(kind::ZAP_POLL, "?").tags(all), &stranger)
        };
        assert!(judge(&poll(vec![]), &Authors::default()).is_none());
        let tagged = poll(vec![Tag::hashtag(hashtag::GOVERNANCE_PROPOSAL)]);
        assert_eq!(
            judge(&tagged, &Authors::default()).map(|j| j.what),
            Some(What::Poll)
        );
        assert!(judge(&tagged, &w.authors).is_none());
        let announcement = sign(
            EventBuilder::text_note("merged").tag(Tag::hashtag("governance")),
            &stranger,
        );
        assert!(judge(&announcement, &Authors::default()).is_some());
    }

    #[test]
    fn an_event_from_several_relays_is_shown_once_naming_them_all() {
        let keys = Keys::generate();
        let event = sign(EventBuilder::text_note("hi"), &keys);
        let a = RelayUrl::parse("ws://127.0.0.1:1").unwrap();
        let b = RelayUrl::parse("ws://127.0.0.1:2").unwrap();
        let t0 = Instant::now();
        let mut dedupe = Deduper::new(Duration::from_millis(300));
        dedupe.offer(&a, event.clone(), t0);
        dedupe.offer(&b, event.clone(), t0 + Duration::from_millis(100));
        dedupe.offer(&a, event.clone(), t0 + Duration::from_millis(150));
        assert_eq!(dedupe.next_due(), Some(t0 + Duration::from_millis(300)));
        assert!(dedupe
            .take_due(Some(t0 + Duration::from_millis(299)))
            .is_empty());
        let due = dedupe.take_due(Some(t0 + Duration::from_millis(300)));
        assert_eq!(due, vec![(event.clone(), vec![a.clone(), b.clone()])]);
        // Later copies are not shown again; a copy under the same id with other content is.
        dedupe.offer(&b, event.clone(), t0 + Duration::from_secs(5));
        assert_eq!(dedupe.next_due(), None);
        let mut altered = event.clone();
        altered.content = "bye".into();
        dedupe.offer(&b, altered.clone(), t0 + Duration::from_secs(5));
        assert_eq!(dedupe.take_due(None), vec![(altered, vec![b])]);
    }

    #[test]
    fn filters_ask_for_the_given_authors_or_for_governance_from_anyone() {
        let w = world();
        let filters = w.authors.filters(Timestamp::from_secs(10));
        assert_eq!(filters.len(), 2);
        assert_eq!(filters[0].authors.as_ref().unwrap().len(), 2);
        assert_eq!(filters[1].authors.as_ref().unwrap().len(), 1);
        let anyone = Authors::default().filters(Timestamp::from_secs(10));
        assert!(anyone.iter().all(|f| f.authors.is_none()));
        // From anyone, only the zap polls of governance proposals.
        let polls: Vec<&Filter> = anyone
            .iter()
            .filter(|f| {
                f.kinds
                    .as_ref()
                    .is_some_and(|k| k.contains(&kind::ZAP_POLL))
            })
            .collect();
        assert_eq!(polls.len(), 1);
        assert!(polls[0]
            .generic_tags
            .values()
            .any(|v| v.contains(hashtag::GOVERNANCE_PROPOSAL)));
    }
}
