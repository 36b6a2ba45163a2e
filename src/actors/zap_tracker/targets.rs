//! Learning vote targets from the relays (DESIGN.md "Votes", *Targets*): every event signed by
//! a proposal's author with `e` = the proposal and `t` = `governance-proposal` is a target,
//! whoever published it. The service records the announcement and zap poll it publishes
//! itself; this file finds the others (signed with the gov key by another tool, an older
//! server, by hand), so the service counts the zaps to them as `verify` does.
//!
//! It rides on the receipts' sync (see the parent module doc, "Following the relays"): each
//! sync of a relay also (re)opens the live subscription `governance-targets` (our bots'
//! events with `#t` = `governance-proposal`, `limit 0`) before reading what the relay stored:
//! everything on this incarnation's first read of a relay (such events are few, and one
//! published while the service was stopped must be found), then from where the last completed
//! read started, minus the margin. A relay caps what one `REQ` returns, so the read goes page
//! by page, as the receipts' backfill does.
//!
//! Each event is taken once per incarnation (a bounded memory of ids) and judged by
//! [`TargetClaim`] (its id and signature, its `t` tag, the events its `e` tags name); the
//! proposals it names are looked up, [`TargetClaim::targets`] applies the rule, and each
//! target is recorded in `proposal_targets` (once, whichever relays or servers deliver it)
//! before the vote aggregator is told ([`TargetLearned`]): it loads the proposal again, so
//! receipts recorded before the target was known count too. An event that is no target is
//! logged with the reason and dropped; a database error is retried with backoff.

use super::TargetLearned;
use super::*;
use crate::actors::backoff;
use crate::nostr::events::{hashtag, tag};
use crate::store::vote_ledger;
use crate::votes::{NotATarget, TargetClaim};
use sea_orm::DbErr;

/// The id of the live subscription to our bots' events tagged `governance-proposal`.
pub const TARGET_SUBSCRIPTION: &str = "governance-targets";

/// Target event ids remembered, to take each once per incarnation (a few per proposal).
pub(super) const TARGETS_REMEMBERED: usize = 10_000;

/// Backoff of a target that could not be recorded (the database refused).
const RECORD_RETRY_MS: (u64, u64) = (500, 30_000);

impl ZapTrackerActor {
    /// Our bots' events tagged `t` = `governance-proposal`: the announcements and zap polls,
    /// whoever published them.
    pub(super) fn target_filter(&self) -> Filter {
        Filter::new()
            .authors(self.bots.iter().copied())
            .hashtag(hashtag::GOVERNANCE_PROPOSAL)
    }

    /// Whether an event from any subscription is one to learn a target from: one of our bots
    /// wrote it, it is not a receipt, and it says `t` = `governance-proposal` (the rule decides
    /// the rest).
    pub(super) fn may_be_target(&self, event: &Event) -> bool {
        event.kind != Kind::ZapReceipt
            && self.bots.binary_search(&event.pubkey).is_ok()
            && event.tags.iter().any(|t| {
                matches!(t.as_slice(), [name, value, ..]
                    if name == tag::T && value == hashtag::GOVERNANCE_PROPOSAL)
            })
    }

    /// Reads the target events `url` stored (see the module doc); a read already under way
    /// there is left to finish.
    pub(super) fn read_targets(&mut self, url: &RelayUrl, ctx: &mut Context<Self>) {
        let margin = self.margin();
        let Some(state) = self.relays.get_mut(url) else {
            return;
        };
        let generation = state.generation;
        if state.targets_reading == Some(generation) {
            return;
        }
        state.targets_reading = Some(generation);
        let started = Timestamp::now();
        let since = state
            .targets_read_through
            .map(|at| Timestamp::from_secs(at.as_secs().saturating_sub(margin)));
        let read = read_pages(
            self.spec.relays.clone(),
            url.to_string(),
            self.target_filter(),
            since,
            self.spec.tuning.page_size.max(1),
            self.spec.tuning.fetch_timeout,
        );
        let url = url.clone();
        ctx.spawn(read.into_actor(self).map(move |res, act, ctx| {
            let current = act
                .relays
                .get_mut(&url)
                .filter(|state| state.targets_reading == Some(generation));
            if let Some(state) = current {
                state.targets_reading = None;
                if res.is_ok() {
                    state.targets_read_through = Some(started);
                }
            }
            match res {
                Ok(events) => {
                    tracing::debug!(relay = %url, events = events.len(), "governance-proposal events read");
                    for event in events {
                        act.learn_target(Arc::new(event), ctx);
                    }
                }
                // Read again, from the same point, at the next sync of this relay.
                Err(e) => {
                    tracing::debug!(relay = %url, error = %e, "reading governance-proposal events failed")
                }
            }
        }));
    }

    /// One event that may be a vote target, from whichever relay or path; each id is taken
    /// once.
    pub(super) fn learn_target(&mut self, event: Arc<Event>, ctx: &mut Context<Self>) {
        if !self.targets_seen.insert(event.id) {
            return;
        }
        match TargetClaim::parse(Event::clone(&event)) {
            Ok(claim) => self.record_targets(Arc::new(claim), 0, ctx),
            Err(reason) => not_a_target(&event.id, &reason),
        }
    }

    /// Looks up the proposals `claim` names, records the targets it is, then tells the vote
    /// aggregator. Retried with backoff when the database fails.
    fn record_targets(&mut self, claim: Arc<TargetClaim>, failures: u32, ctx: &mut Context<Self>) {
        let db = self.spec.db.clone();
        let looking = claim.clone();
        let work = async move {
            let known = vote_ledger::proposal_authors(&db, looking.proposals()).await?;
            let learned = match looking.targets(&known) {
                Ok(learned) => learned,
                Err(reason) => return Ok(Err(reason)),
            };
            let now = Timestamp::now().as_secs();
            let mut recorded = Vec::with_capacity(learned.len());
            for target in learned {
                let new = vote_ledger::record_target(
                    &db,
                    &target.proposal,
                    &target.target,
                    target.kind,
                    now,
                )
                .await?;
                recorded.push((target, new));
            }
            Ok::<_, DbErr>(Ok(recorded))
        };
        ctx.spawn(work.into_actor(self).map(move |res, act, ctx| match res {
            Ok(Ok(recorded)) => {
                for (target, new) in recorded {
                    if new {
                        tracing::info!(proposal = %target.proposal, target = %target.target, kind = target.kind.as_u16(), "vote target learned from the relays");
                    }
                    // Told even when the row was there: this server's aggregator may have
                    // loaded the proposal before another server recorded it.
                    if let Some(sink) = &act.spec.target_sink {
                        sink.do_send(Broadcast(TargetLearned {
                            proposal: target.proposal,
                            target: target.target,
                        }));
                    }
                }
            }
            Ok(Err(reason)) => not_a_target(&claim.id(), &reason),
            Err(e) => {
                act.spec.metrics.database_error("proposal_target");
                let failures = failures.saturating_add(1);
                let wait = backoff::jittered(RECORD_RETRY_MS.0, RECORD_RETRY_MS.1, failures);
                tracing::warn!(event = %claim.id(), error = %e, retry_in_ms = wait.as_millis() as u64, "cannot record a vote target; retrying");
                ctx.run_later(wait, move |act, ctx| act.record_targets(claim, failures, ctx));
            }
        }));
    }
}

/// Logs why an event is not a vote target: a forgery loudly, the rest (a note about another
/// proposal, one this server does not know) quietly.
fn not_a_target(id: &EventId, reason: &NotATarget) {
    match reason {
        NotATarget::BadSignature => {
            tracing::warn!(event = %id, %reason, "rejected a governance-proposal event")
        }
        _ => tracing::debug!(event = %id, %reason, "not a vote target"),
    }
}

/// Every event matching `filter` (from `since`) that relay `relay` stored, page by page, newest
/// first: `until` moves down to each page's oldest `created_at` until a page brings nothing
/// new (a short page does not mean the end: relays cap what one `REQ` returns).
async fn read_pages(
    relays: Addr<Supervisor<RelayActor>>,
    relay: String,
    filter: Filter,
    since: Option<Timestamp>,
    page_size: usize,
    timeout: Duration,
) -> Result<Vec<Event>, String> {
    let mut found: HashMap<EventId, Event> = HashMap::new();
    let mut until: Option<Timestamp> = None;
    loop {
        let mut page = filter.clone().limit(page_size);
        if let Some(since) = since {
            page = page.since(since);
        }
        if let Some(until) = until {
            page = page.until(until);
        }
        let events = match relays
            .send(ToChild {
                name: relay.clone(),
                msg: Fetch {
                    filter: page,
                    timeout,
                },
            })
            .await
        {
            Ok(Ok(Ok(events))) => events,
            Ok(Ok(Err(e))) => return Err(e.to_string()),
            Ok(Err(e)) => return Err(e.to_string()),
            Err(e) => return Err(e.to_string()),
        };
        // What was not asked for (a relay ignoring `until`) is left out.
        let events: Vec<Event> = events
            .into_iter()
            .filter(|event| until.is_none_or(|until| event.created_at <= until))
            .collect();
        let Some(oldest) = events.iter().map(|e| e.created_at).min() else {
            break;
        };
        let mut fresh = 0usize;
        for event in events {
            if let std::collections::hash_map::Entry::Vacant(slot) = found.entry(event.id) {
                slot.insert(event);
                fresh += 1;
            }
        }
        until = if fresh == 0 {
            // Only what the last page ended with: step below that second.
            match oldest.as_secs().checked_sub(1) {
                Some(below) => Some(Timestamp::from_secs(below)),
                None => break,
            }
        } else {
            Some(oldest)
        };
        if since.zip(until).is_some_and(|(since, until)| until < since) {
            break;
        }
    }
    Ok(found.into_values().collect())
}
