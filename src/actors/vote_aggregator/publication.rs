//! Publication: debounced tallies, the final one at the window's end, each strictly after the
//! last and never the same numbers twice (see the parent module doc, "Publication").

use super::*;
use crate::store::{db, tally_lease};

/// Why a tally was not published.
enum Unpublished {
    /// This server no longer holds the tally lease.
    NotHolder,
    Failed(String),
}

pub(super) fn unix_now() -> u64 {
    Timestamp::now().as_secs()
}

/// A digest of what a tally says (everything but `as_of`): equal digests, equal numbers.
pub(super) fn digest(content: &TallyContent) -> String {
    let said = serde_json::json!({
        "result": content.result,
        "final": content.is_final,
        "voters": content.voters,
        "late_votes": content.late_votes,
        "receipts_count": content.receipts_count,
        "receipts_root": content.receipts_root,
        "targets": content.targets,
        "private_zaps": content.private_zaps,
        "sealed": content.sealed,
    });
    hex::encode(sha256::Hash::hash(said.to_string().as_bytes()).to_byte_array())
}

impl VoteAggregatorActor {
    /// Opens a debounce window for `id` unless one is open or a publication is under way.
    pub(super) fn schedule(&mut self, id: EventId, ctx: &mut Context<Self>, delay: Duration) {
        let Some(tracked) = self.proposals.get_mut(&id) else {
            return;
        };
        if tracked.timer.is_some() || tracked.publishing {
            return;
        }
        tracked.timer = Some(ctx.run_later(delay, move |act, ctx| {
            if let Some(tracked) = act.proposals.get_mut(&id) {
                tracked.timer = None;
            }
            act.publish(id, ctx);
        }));
    }

    /// Publishes the final tally when the window closes (at once if it already has and the
    /// final tally is not out).
    pub(super) fn schedule_end(&mut self, id: EventId, ctx: &mut Context<Self>) {
        let Some(tracked) = self.proposals.get_mut(&id) else {
            return;
        };
        let end = tracked.stored.proposal.window_end;
        let now = unix_now();
        if now > end {
            if !tracked.stored.tally_final {
                tracked.dirty = true;
            }
            // Closed while this server was down (or before it loaded the proposal): the gov
            // bot's ballot secret is revealed (again: the same event) so this server's book
            // opens the ballots; the start-up publication covers the tally.
            if tracked.stored.proposal.has_sealed_ballots() {
                self.reveal(id, ctx);
            }
            return;
        }
        // One second past `end`, so `now > end` and the tally's T is `end`.
        let delay = Duration::from_secs(end - now + 1);
        tracked.end_timer = Some(ctx.run_later(delay, move |act, ctx| {
            if let Some(tracked) = act.proposals.get_mut(&id) {
                tracked.end_timer = None;
                tracked.dirty = true;
                if let Some(timer) = tracked.timer.take() {
                    ctx.cancel_future(timer);
                }
            }
            // The reveal (when the proposal has sealed ballots) comes first, then the final
            // tally.
            act.reveal(id, ctx);
        }));
    }

    /// Computes the tally at `min(now, end)` and publishes it through the gov bot, unless it
    /// says what the last published one said.
    pub(super) fn publish(&mut self, id: EventId, ctx: &mut Context<Self>) {
        let metrics = self.spec.metrics.clone();
        let Some(tracked) = self.proposals.get_mut(&id) else {
            return;
        };
        if tracked.publishing || !tracked.dirty {
            return;
        }
        if !self.leader {
            return; // still dirty: published if this server takes the lease over
        }
        let now = unix_now();
        if now > tracked.stored.proposal.window_end && tracked.reveal != Reveal::Done {
            // The close: reveal the gov bot's ballot secret and open the ballots first; the
            // reveal publishes again once done (the proposal stays dirty meanwhile).
            self.reveal(id, ctx);
            return;
        }
        tracked.dirty = false;
        let proposal = tracked.stored.proposal.clone();
        let is_final = now > proposal.window_end;
        let started = Instant::now();
        let tally = tracked.book.tally(proposal.moment(now));
        let content =
            TallyContent::new(&proposal, &tally, is_final).with_anomalies(&tally, &self.anomalies);
        metrics
            .tally_compute_seconds
            .observe(started.elapsed().as_secs_f64());
        let digest = digest(&content);
        if tracked.stored.tally_digest.as_deref() == Some(digest.as_str())
            && tracked.stored.tally_final == is_final
        {
            return; // the relays already hold these numbers
        }
        let coordinate = match events::parse_address(&proposal.address) {
            Ok(coordinate) => coordinate,
            Err(e) => {
                tracing::error!(proposal = %id, address = %proposal.address, error = %e, "proposal address unreadable; tally not published");
                return;
            }
        };
        let alt = content.alt(&tracked.stored.title);
        let builder = match events::vote_tally(id, &coordinate, &content, &alt) {
            Ok(builder) => builder,
            Err(e) => {
                tracing::error!(proposal = %id, error = %e, "cannot write the tally event");
                return;
            }
        };
        tracked.publishing = true;
        let bots = self.spec.bots.clone();
        let gov = self.spec.gov_bot.clone();
        let db = self.spec.db.clone();
        let row_id = tracked.stored.row_id;
        let result = content.result.clone();
        let counted = content.receipts_count;
        let digest_sent = digest.clone();
        let server = self.spec.server_id.clone();
        ctx.spawn(
            async move {
                // Strictly after the newest tally of this proposal any server published, and
                // only while this server holds the lease (see `tally_lease`).
                let now = i64::try_from(now).unwrap_or(i64::MAX);
                let claiming = db.clone();
                let created_at = db::detached(async move {
                    tally_lease::claim_tally_time(&claiming, &server, row_id, now).await
                })
                .await
                        .map_err(|e| Unpublished::Failed(format!("claiming a created_at: {e}")))?
                        .ok_or(Unpublished::NotHolder)?;
                let created_at = Timestamp::from_secs(created_at);
                let builder = builder.custom_created_at(created_at);
                let published = bots
                    .send(ToChild {
                        name: gov,
                        msg: PublishEvent(builder),
                    })
                    .await
                    .map_err(|e| Unpublished::Failed(e.to_string()))?
                    .map_err(|e| Unpublished::Failed(e.to_string()))?
                    .map_err(|e| Unpublished::Failed(e.to_string()))?;
                vote_ledger::record_tally(
                    &db,
                    row_id,
                    created_at.as_secs(),
                    digest_sent,
                    is_final,
                )
                .await
                .map_err(|e| {
                    Unpublished::Failed(format!(
                        "published as {}, but not recorded: {e}",
                        published.event_id
                    ))
                })?;
                Ok::<_, Unpublished>((published.event_id, created_at))
            }
            .into_actor(self)
            .map(move |res, act, ctx| {
                let Some(tracked) = act.proposals.get_mut(&id) else {
                    return;
                };
                tracked.publishing = false;
                match res {
                    Ok((event_id, created_at)) => {
                        tracked.stored.tally_created_at = Some(created_at.as_secs());
                        tracked.stored.tally_digest = Some(digest);
                        tracked.stored.tally_final = is_final;
                        act.spec.metrics.tallies_published.inc();
                        tracing::info!(
                            proposal = %id,
                            %event_id,
                            is_final,
                            receipts = counted,
                            support = result.support_votes,
                            veto = result.veto_votes,
                            abstain = result.abstain_votes,
                            threshold_met = result.threshold_met,
                            veto_blocks = result.veto_blocks,
                            "tally published"
                        );
                        if tracked.dirty {
                            let debounce = act.spec.debounce;
                            act.schedule(id, ctx, debounce);
                        }
                    }
                    Err(Unpublished::NotHolder) => {
                        // Another server took the lease: it publishes these numbers.
                        tracked.dirty = true;
                        act.set_leader(false, ctx);
                    }
                    Err(Unpublished::Failed(e)) => {
                        tracing::error!(proposal = %id, error = %e, "cannot publish the tally; retrying");
                        tracked.dirty = true;
                        let delay = RETRY_AFTER.max(act.spec.debounce);
                        act.schedule(id, ctx, delay);
                    }
                }
            }),
        );
    }
}
