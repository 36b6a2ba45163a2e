//! The tracker's pipeline: receipts delivered by relays are taken once, buffered, judged in
//! batches on the blocking pool, and written with the cursors they vouch for. See the parent
//! module doc, "The pipeline".

use super::*;

impl ZapTrackerActor {
    // --- intake -------------------------------------------------------------------------------

    /// One receipt delivered by `relay`, by whichever path. The same receipt from the same
    /// relay connection again is the same delivery and is ignored; from another relay, or
    /// after a reconnect or a restart, it is a duplicate (or a new receipt, if not seen).
    pub(super) fn deliver(&mut self, event: Arc<Event>, relay: &RelayUrl, ctx: &mut Context<Self>) {
        if let Some(state) = self.relays.get_mut(relay) {
            if !state.delivered.insert(event.id) {
                return;
            }
        }
        self.accept(event, relay, ctx);
    }

    /// A receipt that has to be fetched again (dropped before it was committed): forgotten
    /// everywhere, so its next delivery is taken.
    pub(super) fn forget_receipt(&mut self, id: &EventId) {
        self.seen.forget(id);
        for state in self.relays.values_mut() {
            state.delivered.forget(id);
        }
    }

    /// One receipt from `relay`, live or backfilled. A receipt seen recently is counted as a
    /// duplicate.
    pub(super) fn accept(&mut self, event: Arc<Event>, relay: &RelayUrl, ctx: &mut Context<Self>) {
        let created_at = event.created_at;
        if let Some(state) = self.relays.get_mut(relay) {
            state.max_seen = Some(state.max_seen.map_or(created_at, |m| m.max(created_at)));
        }
        if !self.seen.insert(event.id) {
            self.spec.metrics.receipts_duplicate.inc();
            return;
        }
        if self.buffer.len() >= self.spec.tuning.max_buffered {
            self.forget_receipt(&event.id);
            self.lose(created_at, None);
            return;
        }
        self.uncommitted.add(created_at);
        self.buffer.push(Incoming {
            event,
            relay: relay.clone(),
            received_at: Instant::now(),
        });
        if self.buffer.len() >= self.spec.tuning.max_batch {
            self.flush(ctx);
        } else if self.flush_handle.is_none() && self.judging == 0 {
            let delay = self.spec.tuning.flush_delay;
            self.flush_handle = Some(ctx.run_later(delay, |act, ctx| {
                act.flush_handle = None;
                act.flush(ctx);
            }));
        }
    }

    /// A receipt had to be dropped: remember how far back to ask again.
    pub(super) fn lose(&mut self, created_at: Timestamp, waiting_for: Option<PublicKey>) {
        if self.lost_floor.is_none() {
            tracing::warn!("zap tracker is full; dropping receipts to fetch again later");
        }
        self.lost_floor = Some(self.lost_floor.map_or(created_at, |f| f.min(created_at)));
        if let Some(bot) = waiting_for {
            self.lost_waiting_for.insert(bot);
        }
    }

    /// After a loss, once the pipeline has drained (and the keys dropped receipts wait for are
    /// known), asks every relay again from the oldest receipt dropped.
    pub(super) fn maybe_recover_losses(&mut self, ctx: &mut Context<Self>) {
        let Some(floor) = self.lost_floor else {
            return;
        };
        if self.depth() > self.spec.tuning.max_buffered / 2 || !self.lost_waiting_for.is_empty() {
            return;
        }
        tracing::info!(
            since = floor.as_secs(),
            "asking every relay again for dropped zap receipts"
        );
        self.lost_floor = None;
        let urls: Vec<RelayUrl> = self.relays.keys().cloned().collect();
        for url in urls {
            let Some(state) = self.relays.get_mut(&url) else {
                continue;
            };
            // Not written until this relay has been read again.
            state.frozen = true;
            if state.running {
                state.follow_up = Some(state.follow_up.map_or(floor, |f| f.min(floor)));
            } else if state.up {
                self.start_sync(&url, SyncFrom::Since(floor), ctx);
            }
        }
    }

    // --- judging ------------------------------------------------------------------------------

    pub(super) fn flush(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.flush_handle.take() {
            ctx.cancel_future(handle);
        }
        if self.judging > 0 || self.buffer.is_empty() {
            return;
        }
        let take = self.buffer.len().min(self.spec.tuning.max_batch.max(1));
        let batch: Vec<Incoming> = self.buffer.drain(..take).collect();
        let keys: Vec<(EventId, Timestamp)> = batch
            .iter()
            .map(|i| (i.event.id, i.event.created_at))
            .collect();
        self.judging = batch.len();
        let recipients = self.recipients.snapshot();
        let judging =
            actix_rt::task::spawn_blocking(move || zap_ledger::judge(batch, recipients.as_ref()));
        ctx.spawn(judging.into_actor(self).map(move |result, act, ctx| {
            act.judging = 0;
            match result {
                Ok(judgement) => act.judged(judgement, ctx),
                Err(error) => {
                    // Validation does not panic on data; if it ever does, fetch the batch again.
                    tracing::error!(%error, receipts = keys.len(), "zap receipt validation failed");
                    for (id, created_at) in keys {
                        act.forget_receipt(&id);
                        act.uncommitted.remove(created_at);
                        act.lose(created_at, None);
                    }
                }
            }
            if !act.buffer.is_empty() {
                act.flush(ctx);
            }
            act.resume_parked(ctx);
        }));
    }

    pub(super) fn judged(&mut self, judgement: Judgement, ctx: &mut Context<Self>) {
        let mut release = Vec::new();
        for (incoming, bot) in judgement.pending {
            if !self.recipients.is_pending(&bot) {
                // The key arrived while this batch was judged.
                release.push(incoming);
            } else if self.pending_count >= self.spec.tuning.max_pending {
                let created_at = incoming.event.created_at;
                self.forget_receipt(&incoming.event.id);
                self.uncommitted.remove(created_at);
                self.lose(created_at, Some(bot));
            } else {
                self.pending.entry(bot).or_default().push(incoming);
                self.pending_count += 1;
            }
        }
        self.set_pending_gauge();
        self.buffer.extend(release);
        if !judgement.judged.is_empty() {
            self.queued += judgement.judged.len();
            self.commit_queue.push_back(judgement.judged);
        }
        self.kick_commit(ctx);
    }

    pub(super) fn set_pending_gauge(&self) {
        let count = i64::try_from(self.pending_count).unwrap_or(i64::MAX);
        self.spec.metrics.receipts_pending.set(count);
    }

    // --- committing ---------------------------------------------------------------------------

    /// The cursors that can move now (see the module doc), each at most once.
    pub(super) fn cursor_updates(&self) -> Vec<CursorUpdate> {
        let floor = match (self.uncommitted.oldest(), self.lost_floor) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.relays
            .values()
            .filter(|state| !state.frozen)
            .filter_map(|state| {
                let seen = state.max_seen?;
                let cursor = floor.map_or(seen, |f| seen.min(f));
                (Some(cursor) > state.written).then(|| CursorUpdate {
                    relay: state.url.clone(),
                    last_seen_at: cursor,
                })
            })
            .collect()
    }

    pub(super) fn kick_commit(&mut self, ctx: &mut Context<Self>) {
        if self.committing {
            return;
        }
        if commit_waits(
            self.queued,
            self.buffer.len() + self.judging,
            self.spec.tuning.max_batch.max(1),
        ) {
            // The batch being judged, or the next one, kicks again when it is judged.
            return;
        }
        let most = self
            .spec
            .tuning
            .max_batch
            .saturating_mul(COMMIT_BATCHES_MERGED);
        let batch = match take_merged(&mut self.commit_queue, most) {
            Some(batch) => batch,
            None if self.cursors_wanted => Vec::new(),
            None => return,
        };
        self.cursors_wanted = false;
        self.queued -= batch.len();
        // This batch's receipts commit together with the cursors: they no longer hold them.
        for judged in &batch {
            self.uncommitted.remove(judged.incoming.event.created_at);
        }
        let cursors = self.cursor_updates();
        if batch.is_empty() && cursors.is_empty() {
            return;
        }
        self.committing = true;
        let db = self.spec.db.clone();
        let metrics = self.spec.metrics.clone();
        let server = self.spec.server_id.clone();
        // A task of its own, like every transaction (`db::detached`): it never waits for this
        // actor to be polled. It hands the batch back, for a retry if it failed.
        let write = db::detached(async move {
            let started = Instant::now();
            let result =
                zap_ledger::record_by(&db, Some(&server), &batch, &cursors, Timestamp::now()).await;
            let took = started.elapsed();
            metrics.zap_batch_commit_seconds.observe(took.as_secs_f64());
            tracing::debug!(
                receipts = batch.len(),
                cursors = cursors.len(),
                took_ms = took.as_secs_f64() * 1e3,
                ok = result.is_ok(),
                "zap batch written"
            );
            Ok::<_, sea_orm::DbErr>((batch, cursors, result))
        });
        ctx.spawn(
            write
                .into_actor(self)
                .map(|joined, act, ctx| {
                    act.committing = false;
                    // Only a runtime shutting down cancels the task: nothing was committed,
                    // the cursors did not move, and the next start reads these receipts again.
                    let Ok((batch, cursors, result)) = joined else {
                        return;
                    };
                    match result {
                        Ok(outcome) => act.committed(outcome, &cursors),
                        Err(error) => {
                            act.spec.metrics.database_error("zap_commit");
                            act.commit_failures = act.commit_failures.saturating_add(1);
                            let delay = commit_backoff(act.commit_failures);
                            tracing::error!(%error, receipts = batch.len(), retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), "cannot record zap receipts; retrying");
                            for judged in &batch {
                                act.uncommitted.add(judged.incoming.event.created_at);
                            }
                            if batch.is_empty() {
                                act.cursors_wanted = true;
                            } else {
                                act.queued += batch.len();
                                act.commit_queue.push_front(batch);
                            }
                            act.committing = true;
                            ctx.run_later(delay, |act, ctx| {
                                act.committing = false;
                                act.kick_commit(ctx);
                            });
                            return;
                        }
                    }
                    act.resume_parked(ctx);
                    act.maybe_recover_losses(ctx);
                    act.kick_commit(ctx);
                }),
        );
    }

    pub(super) fn committed(&mut self, outcome: LedgerOutcome, cursors: &[CursorUpdate]) {
        self.commit_failures = 0;
        for cursor in cursors {
            if let Some(state) = self.relays.get_mut(&cursor.relay) {
                state.written = Some(cursor.last_seen_at);
            }
        }
        let metrics = &self.spec.metrics;
        metrics
            .receipts_accepted
            .inc_by(u64::try_from(outcome.recorded.len()).unwrap_or(u64::MAX));
        metrics.receipts_duplicate.inc_by(outcome.duplicates);
        for recorded in &outcome.recorded {
            for check in recorded.anomalies.iter() {
                metrics.receipt_anomaly(check.name());
            }
        }
        for rejected in &outcome.rejected {
            metrics.receipt_rejected(rejected.reason);
            tracing::info!(receipt = %rejected.receipt_id, reason = rejected.reason, "zap receipt rejected");
        }
        for junk in &outcome.junk {
            metrics.receipt_rejected(junk.reason);
            self.junk_log.add(junk);
        }
        if outcome.recorded.is_empty()
            && outcome.rejected.is_empty()
            && outcome.junk.is_empty()
            && outcome.duplicates == 0
        {
            return;
        }
        self.watchers.retain(Recipient::connected);
        let sink = self
            .spec
            .vote_sink
            .as_ref()
            .filter(|_| !outcome.recorded.is_empty());
        if !self.watchers.is_empty() || sink.is_some() {
            let message = ZapsCommitted {
                outcome: Arc::new(outcome),
                committed_at: Instant::now(),
            };
            for watcher in &self.watchers {
                watcher.do_send(message.clone());
            }
            if let Some(sink) = sink {
                sink.do_send(Broadcast(message));
            }
        }
    }
}

/// The next batch to write: the oldest queued one, joined by those behind it while the total
/// stays within `most` (one larger batch is never split). Batches queue up only while the
/// database is the slow stage, and then fewer, larger transactions catch up faster.
pub(super) fn take_merged<T>(queue: &mut VecDeque<Vec<T>>, most: usize) -> Option<Vec<T>> {
    let mut batch = queue.pop_front()?;
    while queue
        .front()
        .is_some_and(|next| batch.len() + next.len() <= most)
    {
        if let Some(next) = queue.pop_front() {
            batch.extend(next);
        }
    }
    Some(batch)
}

/// Whether the next commit waits for more judged receipts: during a backlog (receipts are
/// buffered or being judged, and with those queued they make at least a whole batch) and until
/// [`super::COMMIT_BATCHES_UNDER_BACKLOG`] batches are queued. Live traffic never waits: it
/// keeps the pipeline far below a batch. Bounded: every judged batch kicks the commit again,
/// nothing incoming means no wait, and the relays' reads park once the tracker holds more than
/// its high-water mark, so what is incoming drains.
pub(super) fn commit_waits(queued: usize, incoming: usize, max_batch: usize) -> bool {
    incoming > 0
        && queued.saturating_add(incoming) >= max_batch
        && queued < max_batch.saturating_mul(super::COMMIT_BATCHES_UNDER_BACKLOG)
}

/// Wait before writing a refused batch again: 100 ms doubling to [`super::MAX_COMMIT_BACKOFF`].
pub(super) fn commit_backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    Duration::from_millis(100u64.saturating_mul(1u64 << exp)).min(MAX_COMMIT_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_wait_for_company_only_under_a_backlog() {
        // Live: a few receipts queued, a few more coming: the commit goes at once.
        assert!(!commit_waits(3, 5, 512));
        assert!(!commit_waits(300, 200, 512));
        // Nothing coming: it goes, however little is queued (nothing would kick it again).
        assert!(!commit_waits(1, 0, 512));
        assert!(!commit_waits(1000, 0, 512));
        // A backlog (a backfill page being judged behind a judged batch): it waits until three
        // batches are queued.
        assert!(commit_waits(12, 500, 512));
        assert!(commit_waits(512, 500, 512));
        assert!(commit_waits(1535, 1, 512));
        assert!(!commit_waits(1536, 500, 512));
    }

    #[test]
    fn queued_batches_are_merged_in_order_up_to_the_limit() {
        let mut queue: VecDeque<Vec<u32>> = VecDeque::from([vec![1, 2], vec![3], vec![4, 5]]);
        assert_eq!(take_merged(&mut queue, 3), Some(vec![1, 2, 3]));
        assert_eq!(queue, VecDeque::from([vec![4, 5]]));
        // A batch larger than the limit alone is taken whole, never split or dropped.
        let mut queue: VecDeque<Vec<u32>> = VecDeque::from([vec![1, 2, 3, 4], vec![5]]);
        assert_eq!(take_merged(&mut queue, 2), Some(vec![1, 2, 3, 4]));
        assert_eq!(take_merged(&mut queue, 2), Some(vec![5]));
        assert_eq!(take_merged(&mut queue, 2), None);
    }

    #[test]
    fn commit_backoff_doubles_and_caps() {
        assert_eq!(commit_backoff(1), Duration::from_millis(100));
        assert_eq!(commit_backoff(3), Duration::from_millis(400));
        assert_eq!(commit_backoff(40), MAX_COMMIT_BACKOFF);
    }
}
