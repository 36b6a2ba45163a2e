//! The public verifier: what anyone can check from any relay, without trusting the operator.
//!
//! Given relay URLs, the server's public key and (optionally) the bots' keys, it fetches every
//! event those keys published and checks, relay by relay:
//!
//! - every event's id and signature (NIP-01), independently of any relay's word;
//! - every event's wire format ([`crate::nostr::events`] parsers): kinds, `d` values, tags, content
//!   (zap polls included);
//! - the audit-log head (30080): its RFC 9162 consistency proof from `previous_head` to `head`;
//! - that relays agree: two heads of the same size with different roots mean the log forked;
//! - with a state file, that the newest head extends the one verified last time (a monitor in
//!   the style of Certificate Transparency: relays keep only the newest addressable event, so
//!   the history of heads is checked by whoever watched it, run after run).
//!
//! - every proposal's newest vote tally, recomputed from the zap receipts on the relays with the
//!   proposal's pinned rules ([`tallies`]): relays are merged (the union of what they hold), and
//!   every difference is named; sealed ballots are opened with the ballot secrets on the relays,
//!   each checked against the key its holder pinned ([`sealed`]);
//! - a voter's own zap ([`verify_vote`]): is it counted in the newest signed tally, by an
//!   inclusion proof against its `receipts_root` ([`vote`]).
//!
//! Relays cap what one `REQ` returns, so every fetch pages down with `until` ([`fetch_paged`]).
//! The checks are pure functions ([`check_event`], [`check_audit_head`], [`check_continuity`],
//! [`tallies::check_tallies`], [`vote::check_from_relays`]); [`verify`] and [`verify_vote`] only fetch
//! and apply them.

mod close;
pub mod sealed;
pub mod tallies;
pub mod vote;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use nostr_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::merkle::{self, Digest};
use crate::nostr::events::{self, AuditHead};
use crate::votes;

/// What was checked on one relay, and what was wrong.
#[derive(Debug, Default, Clone, Serialize)]
pub struct RelayReport {
    pub relay: String,
    pub events: usize,
    pub by_kind: BTreeMap<u16, usize>,
    pub audit_head: Option<AuditHead>,
    pub problems: Vec<String>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct VerifyReport {
    pub relays: Vec<RelayReport>,
    /// Problems across relays (forks, a head that does not extend the saved one).
    pub problems: Vec<String>,
    /// The newest verified head, to save for the next run.
    pub newest_head: Option<SavedHead>,
    /// Every proposal's newest tally, recomputed from the receipts.
    pub tallies: tallies::TalliesReport,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
            && self.relays.iter().all(|r| r.problems.is_empty())
            && self.tallies.ok()
    }
}

/// The head a previous run verified (the `--state` file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedHead {
    pub entries: u64,
    pub head: String,
}

/// Checks one event published by the server key or a bot key: signature, then wire format.
pub fn check_event(event: &Event, server: &PublicKey) -> Result<(), String> {
    event
        .verify()
        .map_err(|e| format!("event {}: bad id or signature: {e}", event.id))?;
    let checked = if event.pubkey == *server {
        match event.kind.as_u16() {
            30078 => events::parse_governance_status(event).map(|_| ()),
            30079 => events::parse_server_health(event).map(|_| ()),
            30080 => events::parse_audit_head(event).and_then(|h| {
                check_audit_head(&h.head).map_err(|reason| events::ParseError::InvalidContent {
                    field: "consistency_proof",
                    value: String::new(),
                    reason,
                })
            }),
            _ => Ok(()),
        }
    } else {
        match event.kind.as_u16() {
            0 => events::parse_bot_profile(event).map(|_| ()),
            10002 => events::parse_relay_list(event).map(|_| ()),
            30078 => match event.tags.identifier() {
                Some(d) if d.starts_with(events::d::ACTION_PREFIX) => {
                    crate::nostr::governance_action::parse_governance_action(event).map(|_| ())
                }
                Some(d) if d.starts_with(events::d::TALLY_PREFIX) => {
                    events::parse_vote_tally::<crate::votes::TallyContent>(event).map(|_| ())
                }
                _ => Ok(()),
            },
            6969 => events::parse_zap_poll(event).map(|_| ()),
            _ => Ok(()),
        }
    };
    checked.map_err(|e| format!("event {} (kind {}): {e}", event.id, event.kind.as_u16()))
}

/// Verifies an audit head's consistency proof from its previous head.
pub fn check_audit_head(head: &AuditHead) -> Result<(), String> {
    let new_root = Digest::parse_prefixed(&head.head).map_err(|e| format!("head: {e}"))?;
    let old_root =
        Digest::parse_prefixed(&head.previous_head).map_err(|e| format!("previous_head: {e}"))?;
    let proof = head
        .consistency_proof
        .iter()
        .map(|h| h.parse::<Digest>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("consistency_proof: {e}"))?;
    merkle::verify_consistency(
        head.previous_entries,
        head.entries,
        &old_root,
        &new_root,
        &proof,
    )
    .map_err(|e| {
        format!(
            "the proof from {} entries to {} does not verify: {e}",
            head.previous_entries, head.entries
        )
    })
}

/// Whether `head` continues from the head verified last time.
pub fn check_continuity(saved: &SavedHead, head: &AuditHead) -> Result<(), String> {
    if head.entries < saved.entries {
        return Err(format!(
            "the log shrank: {} entries now, {} verified before",
            head.entries, saved.entries
        ));
    }
    if head.entries == saved.entries {
        return if head.head == saved.head {
            Ok(())
        } else {
            Err(format!(
                "the log was rewritten: {} entries with a different root",
                head.entries
            ))
        };
    }
    if head.previous_entries == saved.entries && head.previous_head == saved.head {
        return Ok(()); // the proof from the saved head was checked with the event
    }
    if head.previous_entries == saved.entries && head.previous_head != saved.head {
        return Err(format!(
            "the log was rewritten: {} entries with a different root",
            saved.entries
        ));
    }
    Err(format!(
        "cannot prove the head of {} entries extends the saved head of {} entries: heads in \
         between were not seen (run the verifier more often than heads change)",
        head.entries, saved.entries
    ))
}

/// Fetches and checks everything `server` and `bots` published on each relay.
pub async fn verify(
    relays: &[RelayUrl],
    server: PublicKey,
    bots: &[PublicKey],
    saved: Option<SavedHead>,
    timeout: Duration,
) -> VerifyReport {
    let mut report = VerifyReport::default();
    let mut authors = vec![server];
    authors.extend_from_slice(bots);
    let mut bot_events: HashMap<EventId, Event> = HashMap::new();
    for url in relays {
        let mut r = RelayReport {
            relay: url.to_string(),
            ..RelayReport::default()
        };
        let filter = Filter::new().authors(authors.iter().copied());
        match fetch_paged(url, filter, timeout).await {
            Err(e) => r.problems.push(format!("cannot read the relay: {e}")),
            Ok(events) => {
                for event in &events {
                    if event.pubkey != server && event.verify().is_ok() {
                        bot_events.insert(event.id, event.clone());
                    }
                    r.events += 1;
                    *r.by_kind.entry(event.kind.as_u16()).or_default() += 1;
                    if let Err(problem) = check_event(event, &server) {
                        r.problems.push(problem);
                    }
                    if event.pubkey == server && event.kind.as_u16() == 30080 {
                        if let Ok(h) = events::parse_audit_head(event) {
                            let newer = r
                                .audit_head
                                .as_ref()
                                .is_none_or(|o| h.head.entries > o.entries);
                            if newer {
                                r.audit_head = Some(h.head);
                            }
                        }
                    }
                }
                let has = |kind: u16| {
                    events
                        .iter()
                        .any(|e| e.pubkey == server && e.kind.as_u16() == kind)
                };
                for (kind, what) in [
                    (30078, "governance status"),
                    (30079, "server health"),
                    (30080, "audit head"),
                ] {
                    if !has(kind) {
                        r.problems
                            .push(format!("no {what} ({kind}) from the server key"));
                    }
                }
            }
        }
        report.relays.push(r);
    }

    // Relays must agree on the log: same size, same root.
    let mut roots: BTreeMap<u64, (String, String)> = BTreeMap::new();
    for r in &report.relays {
        if let Some(h) = &r.audit_head {
            match roots.get(&h.entries) {
                Some((root, relay)) if root != &h.head => report.problems.push(format!(
                    "the audit log forked: {relay} and {} show different roots for {} entries",
                    r.relay, h.entries
                )),
                Some(_) => {}
                None => {
                    roots.insert(h.entries, (h.head.clone(), r.relay.clone()));
                }
            }
        }
    }
    let newest = report
        .relays
        .iter()
        .filter(|r| r.problems.is_empty())
        .filter_map(|r| r.audit_head.clone())
        .max_by_key(|h| h.entries);
    if let (Some(saved), Some(head)) = (&saved, &newest) {
        if let Err(problem) = check_continuity(saved, head) {
            report.problems.push(problem);
        }
    }
    report.newest_head = newest.map(|h| SavedHead {
        entries: h.entries,
        head: h.head,
    });
    let bot_events: Vec<Event> = bot_events.into_values().collect();
    report.tallies = verify_tallies(relays, bots, bot_events, timeout).await;
    report
}

/// Fetches the receipts every proposal's tally reads and recomputes each newest tally.
async fn verify_tallies(
    relays: &[RelayUrl],
    bots: &[PublicKey],
    bot_events: Vec<Event>,
    timeout: Duration,
) -> tallies::TalliesReport {
    let proposals = tallies::proposals(&bot_events);
    let filter = tallies::receipts_filter(proposals.values().map(|(_, p)| p), bots);
    let mut problems = Vec::new();
    // The sealed proposals' ballot secrets, from any author (an independent holder need not be
    // a --bot): they join the bots' events, where the tallies' check looks for them.
    let mut bot_events = bot_events;
    if let Some(secrets) = crate::votes::sealed::secrets_filter(proposals.values().map(|(_, p)| p))
    {
        let known: HashSet<EventId> = bot_events.iter().map(|e| e.id).collect();
        let fetched = fetch_merged(relays, secrets, timeout, &mut problems).await;
        bot_events.extend(fetched.into_iter().filter(|e| !known.contains(&e.id)));
    }
    // Each page is judged (on the blocking pool, under every distinct pinned rules) while the
    // next one is fetched; the tallies are checked once the last page is judged.
    let mut judgings = tallies::judgings(proposals.values().map(|(_, p)| p));
    let (pages, to_judge) = std::sync::mpsc::channel::<Vec<Event>>();
    let recompute = tokio::task::spawn_blocking(move || {
        let mut receipts = 0;
        for page in to_judge {
            receipts += page.len();
            for judging in judgings.values_mut() {
                judging.add(&page);
            }
        }
        let judged = judgings
            .into_iter()
            .map(|(key, judging)| (key, judging.finish()))
            .collect();
        tallies::check_judged_tallies(&bot_events, receipts, &judged)
    });
    let mut fetched = 0;
    let on_one_relay = match filter {
        Some(filter) => {
            fetch_merged_pages(
                relays,
                filter,
                timeout,
                Signatures::Judged,
                &mut problems,
                |page| {
                    fetched += page.len();
                    // The receiver goes away only if judging panicked, which is reported below.
                    drop(pages.send(page));
                },
            )
            .await
        }
        None => Vec::new(),
    };
    drop(pages);
    eprintln!(
        "fetched {} receipts from {} relays",
        thousands(fetched),
        relays.len()
    );
    let mut report = match recompute.await {
        Ok(report) => report,
        Err(e) => {
            problems.push(format!("the recompute failed: {e}"));
            tallies::TalliesReport::default()
        }
    };
    eprintln!("judged {} receipts", thousands(report.receipts));
    report.problems.extend(problems);
    report.notes.extend(on_one_relay);
    report
}

/// `verify-vote`: whether `receipt` is counted in the newest tally of `proposal` signed by the
/// proposal's author, proven against its `receipts_root`; the proof and the sender's vote come
/// from the service at `api` when given, else from the relays ([`vote`]). Must run inside an
/// actix system when `api` is given (the HTTP client is awc).
pub async fn verify_vote(
    relays: &[RelayUrl],
    proposal_id: EventId,
    receipt: EventId,
    api: Option<&str>,
    timeout: Duration,
) -> vote::VoteReport {
    let mut report = vote::VoteReport {
        proposal: proposal_id.to_hex(),
        receipt: receipt.to_hex(),
        ..vote::VoteReport::default()
    };
    let mut problems = Vec::new();
    let found = fetch_merged(
        relays,
        Filter::new().id(proposal_id),
        timeout,
        &mut problems,
    )
    .await;
    report.notes.append(&mut problems);
    let Some(proposal_event) = found
        .into_iter()
        .find(|e| e.id == proposal_id && e.verify().is_ok())
    else {
        report.problems.push(format!(
            "no relay holds proposal {proposal_id} with a valid signature"
        ));
        return report;
    };
    let proposal = match tallies::proposal_of(&proposal_event) {
        Ok(p) => p,
        Err(e) => {
            report
                .problems
                .push(format!("event {proposal_id} is not a proposal: {e}"));
            return report;
        }
    };
    // Its vote targets: the author's events tagging it with t=governance-proposal.
    let targets_filter = Filter::new()
        .author(proposal_event.pubkey)
        .event(proposal_id)
        .hashtag(events::hashtag::GOVERNANCE_PROPOSAL);
    let tagged = fetch_merged(relays, targets_filter, timeout, &mut problems).await;
    report.notes.append(&mut problems);
    let signed: Vec<&Event> = tagged.iter().filter(|e| e.verify().is_ok()).collect();
    let proposal = tallies::with_targets(proposal, &proposal_event.pubkey, signed);
    let tally_filter = Filter::new()
        .kind(events::kind::VOTE_TALLY)
        .identifier(events::d::tally(&proposal_id));
    let candidates = fetch_merged(relays, tally_filter, timeout, &mut problems).await;
    report.notes.append(&mut problems);
    let Some((tally, content)) =
        vote::newest_signed_tally(&proposal_event, &candidates, &mut report.notes)
    else {
        report.problems.push(format!(
            "no relay holds a tally of proposal {proposal_id} signed by its author"
        ));
        return report;
    };
    report
        .problems
        .extend(tallies::target_differences(&proposal, &content));
    report.tally = Some(tally.id.to_hex());
    report.as_of = Some(content.as_of);
    report.receipts_root = Some(content.receipts_root.clone());
    report.receipts_count = Some(content.receipts_count);

    if let Some(api) = api {
        let answer = fetch_receipt_proof(api, &proposal_id, &receipt, timeout).await;
        vote::check_api_answer(&mut report, &receipt, &content, answer);
        return report;
    }
    let Some(filter) = tallies::receipts_filter([&proposal], &[proposal_event.pubkey]) else {
        return report;
    };
    let receipts = fetch_receipts(relays, filter, timeout, &mut problems).await;
    report.notes.extend(problems);
    eprintln!(
        "fetched {} receipts from {} relays",
        thousands(receipts.len()),
        relays.len()
    );
    let rules = proposal.rules.clone();
    let count = receipts.len();
    match tokio::task::spawn_blocking(move || tallies::judge(&receipts, &rules)).await {
        Ok(judged) => {
            eprintln!("judged {} receipts", thousands(count));
            vote::check_from_relays(&mut report, &receipt, &proposal, &content, &judged);
            open_sealed_vote(&mut report, relays, &proposal, &content, &judged, timeout).await;
        }
        Err(e) => report.problems.push(format!("judging failed: {e}")),
    }
    report
}

/// A sealed voter's vote, opened with the ballot secrets on the relays once every pinned key's
/// secret is there ([`crate::votes::sealed::read_reveal`]); until then it stays sealed (until
/// `window_end`).
async fn open_sealed_vote(
    report: &mut vote::VoteReport,
    relays: &[RelayUrl],
    proposal: &votes::Proposal,
    content: &votes::TallyContent,
    judged: &tallies::Judged,
    timeout: Duration,
) {
    report.window_end = Some(proposal.window_end);
    let Some(sender) = report.vote.as_ref().filter(|v| v.sealed).map(|v| v.sender) else {
        return;
    };
    let Some(filter) = crate::votes::sealed::secrets_filter([proposal]) else {
        return;
    };
    let mut problems = Vec::new();
    let secrets = fetch_merged(relays, filter, timeout, &mut problems).await;
    report.notes.extend(problems);
    let reveal = crate::votes::sealed::read_reveal(proposal, &secrets);
    report.problems.extend(reveal.problems);
    if let Some(opening) = reveal.opening.as_ref() {
        let opened = votes::tally_with_secrets(
            proposal,
            &judged.contributions,
            content.as_of,
            Some(opening),
        );
        if let Some(ballot) = opened.ballots.into_iter().find(|b| b.sender == sender) {
            report.vote = Some(ballot);
        }
    }
}

/// `GET {api}/v1/proposals/{id}/receipts?receipt={receipt}`: the answer, or the service's
/// refusal (or why it could not be asked).
async fn fetch_receipt_proof(
    api: &str,
    proposal: &EventId,
    receipt: &EventId,
    timeout: Duration,
) -> Result<vote::ApiAnswer, String> {
    let url = format!(
        "{}/v1/proposals/{}/receipts?receipt={}",
        api.trim_end_matches('/'),
        proposal.to_hex(),
        receipt.to_hex()
    );
    let client = awc::Client::builder().timeout(timeout).finish();
    let mut response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let body = response
        .body()
        .limit(16 * 1024 * 1024)
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let text = String::from_utf8_lossy(&body);
    if !response.status().is_success() {
        return Err(format!("GET {url}: {}: {text}", response.status()));
    }
    serde_json::from_str(&text).map_err(|e| format!("GET {url}: unexpected answer: {e}"))
}

/// Who checks the id and signature of each event fetched ([`fetch_pages`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signatures {
    /// nostr-sdk's client, as it receives each event: an event that fails is dropped unseen.
    CheckedOnReceipt,
    /// Judging, once per event: zap receipts, whose rule 1 ([`crate::nostr::nip57`]) checks
    /// both, so nostr-sdk's check would be the same schnorr verification done twice. What fails
    /// reaches judging and is rejected there with rule 1, named in the report. Merging relays
    /// then keeps every distinct copy of an id (by signature), not only the first: a relay
    /// serving a copy with a bad signature must not hide another relay's good one.
    Judged,
}

/// What several relays hold, merged ([`fetch_merged_pages`]): the union, deduplicated by id,
/// each event's signature checked by nostr-sdk.
async fn fetch_merged(
    relays: &[RelayUrl],
    filter: Filter,
    timeout: Duration,
    problems: &mut Vec<String>,
) -> Vec<Event> {
    fetch_merged_with(
        relays,
        filter,
        timeout,
        Signatures::CheckedOnReceipt,
        problems,
    )
    .await
}

/// The zap receipts several relays hold, merged (as `fetch_merged_pages` merges), for judging: their
/// signatures are *not* checked here ([`Signatures::Judged`]); whoever takes them must judge
/// them (`tallies::judge`, `tallies::Judging`).
pub async fn fetch_receipts(
    relays: &[RelayUrl],
    filter: Filter,
    timeout: Duration,
    problems: &mut Vec<String>,
) -> Vec<Event> {
    fetch_merged_with(relays, filter, timeout, Signatures::Judged, problems).await
}

/// Every page [`fetch_merged_pages`] merges, collected.
async fn fetch_merged_with(
    relays: &[RelayUrl],
    filter: Filter,
    timeout: Duration,
    signatures: Signatures,
    problems: &mut Vec<String>,
) -> Vec<Event> {
    let mut events = Vec::new();
    fetch_merged_pages(relays, filter, timeout, signatures, problems, |page| {
        events.extend(page)
    })
    .await;
    events
}

/// Fetches `filter` from every relay (paging each, [`fetch_pages`]) and merges what they hold:
/// `on_page` gets each page's events new to the merge, as the page arrives (with
/// [`Signatures::Judged`], each copy of an id with a signature new to the merge). A relay that
/// cannot be read is a problem (the pages it gave before failing are kept). Returns the notes
/// "receipt X is only on relay R", when several relays were read.
async fn fetch_merged_pages(
    relays: &[RelayUrl],
    filter: Filter,
    timeout: Duration,
    signatures: Signatures,
    problems: &mut Vec<String>,
    mut on_page: impl FnMut(Vec<Event>),
) -> Vec<String> {
    let mut holders: HashMap<EventId, Vec<usize>> = HashMap::new();
    let mut copies: HashSet<(EventId, Signature)> = HashSet::new();
    for (i, url) in relays.iter().enumerate() {
        let read = fetch_pages(url, filter.clone(), timeout, signatures, |page| {
            let mut fresh = Vec::new();
            for event in page {
                let on = holders.entry(event.id).or_default();
                let first_here = on.last() != Some(&i);
                if first_here {
                    on.push(i);
                }
                let new_to_merge = match signatures {
                    Signatures::CheckedOnReceipt => first_here && on.len() == 1,
                    Signatures::Judged => copies.insert((event.id, event.sig)),
                };
                if new_to_merge {
                    fresh.push(event);
                }
            }
            on_page(fresh);
        })
        .await;
        if let Err(e) = read {
            problems.push(format!("{url}: cannot read the relay: {e}"));
        }
    }
    let mut on_one_relay = Vec::new();
    if relays.len() > 1 {
        for (id, on) in holders {
            if on.len() == 1 {
                on_one_relay.push(format!("receipt {id} is only on {}", relays[on[0]]));
            }
        }
    }
    on_one_relay.sort();
    on_one_relay
}

/// `12345` as `12,345`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Events asked per page; relays may answer fewer (they cap `REQ` results).
const PAGE: usize = 5_000;
/// Room in a fetching client's notification channel beside a page's events: the `EOSE`, and
/// whatever else the relay says meanwhile (notices, pings' answers, status).
const PAGE_NOTIFICATIONS_BESIDE: usize = 1_024;

/// Everything `filter` matches on one relay ([`fetch_pages`]), in one list.
pub async fn fetch_paged(
    url: &RelayUrl,
    filter: Filter,
    timeout: Duration,
) -> Result<Vec<Event>, String> {
    let mut all = Vec::new();
    fetch_pages(url, filter, timeout, Signatures::CheckedOnReceipt, |page| {
        all.extend(page)
    })
    .await?;
    Ok(all)
}

/// Everything `filter` matches on one relay, a page at a time, newest first: each page asks
/// `until` the oldest `created_at` of the one before, until a page brings nothing new (then one
/// second lower) or nothing at all. A short page does not mean the end: relays cap results.
/// `on_page` gets each page's events not seen in an earlier page (with [`Signatures::Judged`],
/// each copy with a signature not seen), as the page arrives.
pub async fn fetch_pages(
    url: &RelayUrl,
    filter: Filter,
    timeout: Duration,
    signatures: Signatures,
    mut on_page: impl FnMut(Vec<Event>),
) -> Result<(), String> {
    let client = Client::default();
    // Our copy of nostr-relay-pool's options (`vendor/README.md`): `verify_events` as asked; no
    // "new to this client" notifications (the fetch reads the relay's messages), which would
    // cost a database round and copies of every event for nobody.
    //
    // nostr-sdk's fetch reads the relay's notification channel and ends, silently, with what it
    // has when it falls behind (a lag): the channel must hold a whole page (one notification
    // per event, and the `EOSE`), or a page could come back short. Without the signature check
    // the relay's connection fills it faster than the fetch reads it; with the default 2,048
    // slots, pages of 5,000 came back short and `verify` stopped paging after 1,771 receipts.
    let options = RelayOptions::new()
        .verify_events(signatures == Signatures::CheckedOnReceipt)
        .new_event_notifications(false)
        .notification_channel_size(PAGE + PAGE_NOTIFICATIONS_BESIDE);
    client
        .pool()
        .add_relay(url.clone(), options)
        .await
        .map_err(|e| e.to_string())?;
    client
        .try_connect_relay(url.clone(), timeout)
        .await
        .map_err(|e| e.to_string())?;
    let since = filter.since;
    let mut seen: HashSet<(EventId, Signature)> = HashSet::new();
    let mut until: Option<Timestamp> = filter.until;
    let result = loop {
        let mut page = filter.clone().limit(PAGE);
        if let Some(until) = until {
            page = page.until(until);
        }
        let events = match client.fetch_events_from([url.clone()], page, timeout).await {
            Ok(events) => events,
            Err(e) => break Err(e.to_string()),
        };
        // The oldest of what was asked: a relay that ignores `until` must not keep the page
        // where it is (it would be asked for the same page for ever).
        let asked = |at: &Timestamp| until.is_none_or(|u| *at <= u);
        let Some(oldest) = events.iter().map(|e| e.created_at).filter(asked).min() else {
            break Ok(());
        };
        let mut fresh = Vec::new();
        for event in events {
            if until.is_some_and(|u| event.created_at > u) {
                continue; // a relay ignoring `until`
            }
            if seen.insert((event.id, event.sig)) {
                fresh.push(event);
            }
        }
        let any_fresh = !fresh.is_empty();
        if any_fresh {
            on_page(fresh);
        }
        let next = if !any_fresh {
            match oldest.as_secs().checked_sub(1) {
                Some(below) => Timestamp::from_secs(below),
                None => break Ok(()),
            }
        } else {
            oldest
        };
        if since.is_some_and(|s| next < s) {
            break Ok(());
        }
        until = Some(next);
    };
    client.shutdown().await;
    result
}

/// Reads the state file; none yet is not an error.
pub fn load_state(path: &Path) -> Result<Option<SavedHead>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

pub fn save_state(path: &Path, head: &SavedHead) -> Result<(), String> {
    let text = serde_json::to_string_pretty(head).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::merkle::{leaf_hash, MerkleLog};

    fn head_between(log: &MerkleLog, old: usize) -> AuditHead {
        AuditHead {
            head: log.root().to_prefixed(),
            entries: log.len() as u64,
            previous_head: log.root_at(old).unwrap().to_prefixed(),
            previous_entries: old as u64,
            consistency_proof: log
                .consistency_proof(old)
                .unwrap()
                .iter()
                .map(|d| d.to_string())
                .collect(),
        }
    }

    fn log_of(n: usize) -> MerkleLog {
        MerkleLog::from_leaves((0..n).map(|i| leaf_hash(format!("entry {i}").as_bytes())))
    }

    #[test]
    fn an_honest_head_verifies_and_a_tampered_one_does_not() {
        let log = log_of(7);
        let head = head_between(&log, 3);
        assert_eq!(check_audit_head(&head), Ok(()));

        let mut wrong_root = head.clone();
        wrong_root.head = log_of(8).root().to_prefixed();
        assert!(check_audit_head(&wrong_root).is_err());

        let mut wrong_proof = head.clone();
        wrong_proof.consistency_proof.pop();
        assert!(check_audit_head(&wrong_proof).is_err());

        let mut garbage = head;
        garbage.previous_head = "sha256:zz".into();
        assert!(check_audit_head(&garbage)
            .unwrap_err()
            .starts_with("previous_head"));
    }

    #[test]
    fn continuity_with_the_saved_head() {
        let log = log_of(6);
        let saved = SavedHead {
            entries: 4,
            head: log.root_at(4).unwrap().to_prefixed(),
        };
        assert_eq!(check_continuity(&saved, &head_between(&log, 4)), Ok(()));
        // Same size, same root: nothing happened.
        let same = AuditHead {
            head: saved.head.clone(),
            entries: 4,
            ..head_between(&log, 4)
        };
        assert_eq!(check_continuity(&saved, &same), Ok(()));
        // A rewritten log of the same size.
        let other = SavedHead {
            entries: 4,
            head: log_of(5).root().to_prefixed(),
        };
        assert!(check_continuity(&other, &head_between(&log, 4))
            .unwrap_err()
            .contains("rewritten"));
        // Shrinking.
        let bigger = SavedHead {
            entries: 9,
            head: log_of(9).root().to_prefixed(),
        };
        assert!(check_continuity(&bigger, &head_between(&log, 4))
            .unwrap_err()
            .contains("shrank"));
        // A gap: heads in between were missed.
        let older = SavedHead {
            entries: 2,
            head: log.root_at(2).unwrap().to_prefixed(),
        };
        assert!(check_continuity(&older, &head_between(&log, 4))
            .unwrap_err()
            .contains("cannot prove"));
    }

    #[test]
    fn events_with_bad_signatures_or_format_are_reported() {
        let server = Keys::generate();
        let log = log_of(3);
        let good = events::audit_head("s1", &head_between(&log, 1))
            .sign_with_keys(&server)
            .unwrap();
        assert_eq!(check_event(&good, &server.public_key()), Ok(()));

        let mut bad_proof = head_between(&log, 1);
        bad_proof.consistency_proof.clear();
        let bad = events::audit_head("s1", &bad_proof)
            .sign_with_keys(&server)
            .unwrap();
        assert!(check_event(&bad, &server.public_key())
            .unwrap_err()
            .contains("consistency_proof"));

        let mut forged = good.clone();
        forged.content = forged.content.replace("\"entries\":3", "\"entries\":4");
        assert!(check_event(&forged, &server.public_key())
            .unwrap_err()
            .contains("signature"));

        let not_json = EventBuilder::new(Kind::from(30079u16), "{")
            .tag(Tag::identifier("server-health"))
            .sign_with_keys(&server)
            .unwrap();
        assert!(check_event(&not_json, &server.public_key()).is_err());
    }
}
