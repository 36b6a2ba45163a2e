//! Following the relays: each relay's sync state, and the tracker's side of a sync (live
//! subscription, backfill pages from the cursor, catch-ups). See the parent module doc,
//! "Following the relays".

use super::*;

/// Where a sync starts reading.
#[derive(Debug, Clone, Copy)]
pub(super) enum SyncFrom {
    /// The relay's stored cursor, minus the margin (everything when there is none).
    Cursor,
    /// This time, minus the margin.
    Since(Timestamp),
}

/// The next backfill page to ask for.
pub(super) struct Page {
    pub(super) generation: u64,
    pub(super) since: Option<Timestamp>,
    pub(super) until: Option<Timestamp>,
    /// Ids already taken at the `until` second (the next page returns them again).
    pub(super) boundary: HashSet<EventId>,
    pub(super) received: u64,
}

/// One relay, as the tracker follows it.
pub(super) struct RelaySync {
    pub(super) url: RelayUrl,
    pub(super) up: bool,
    /// Bumped by every sync start and link-down: answers for an older one are stale.
    pub(super) generation: u64,
    pub(super) running: bool,
    /// A sync was asked for while one ran: run another after it, since this time.
    pub(super) follow_up: Option<Timestamp>,
    /// The cursor is not written (no completed backfill yet in this incarnation).
    pub(super) frozen: bool,
    pub(super) live: bool,
    /// Newest `created_at` received from this relay.
    pub(super) max_seen: Option<Timestamp>,
    /// The cursor last written.
    pub(super) written: Option<Timestamp>,
    /// When the running sync started (its live subscription was opened then).
    pub(super) sync_started: Option<Timestamp>,
    /// When the last completed sync started: everything the relay stored before then, back to
    /// that sync's `since`, has been read.
    pub(super) synced_through: Option<Timestamp>,
    /// A page waiting for room in the pipeline.
    pub(super) parked: Option<Page>,
    /// Receipts this relay delivered on its current connection. A relay can hand one receipt
    /// over twice (live, and in a backfill page's answer when it was published while the page
    /// was read); it is one delivery, so at most one duplicate.
    pub(super) delivered: SeenIds,
    pub(super) backfills_completed: u64,
    /// The relay's vote target events are being read (`targets`), for the sync of this
    /// generation.
    pub(super) targets_reading: Option<u64>,
    /// When the last completed read of its target events started (`None`: none yet in this
    /// incarnation; the next one reads everything).
    pub(super) targets_read_through: Option<Timestamp>,
}

impl RelaySync {
    pub(super) fn new(url: RelayUrl) -> Self {
        RelaySync {
            url,
            up: false,
            generation: 0,
            running: false,
            follow_up: None,
            frozen: true,
            live: false,
            max_seen: None,
            written: None,
            sync_started: None,
            synced_through: None,
            parked: None,
            delivered: SeenIds::new(DELIVERIES_REMEMBERED),
            backfills_completed: 0,
            targets_reading: None,
            targets_read_through: None,
        }
    }
}

/// Why a sync step failed.
pub(super) enum SyncError {
    /// The relay is not connected (or its actor is restarting): wait for its link-up.
    Down,
    Other(String),
}

impl ZapTrackerActor {
    /// Receipts to our bots; only from their providers once every provider key is known
    /// (see the module doc).
    pub(super) fn base_filter(&self) -> Filter {
        let filter = Filter::new()
            .kind(Kind::ZapReceipt)
            .pubkeys(self.bots.iter().copied());
        match self.recipients.known_zappers() {
            Some(zappers) => filter.authors(zappers),
            None => filter,
        }
    }

    pub(super) fn margin(&self) -> u64 {
        self.spec.backfill_margin.as_secs()
    }

    /// Opens the live subscription on `url`, then backfills it (see the module doc).
    pub(super) fn start_sync(&mut self, url: &RelayUrl, from: SyncFrom, ctx: &mut Context<Self>) {
        if self.bots.is_empty() {
            return;
        }
        let Some(state) = self.relays.get_mut(url) else {
            return;
        };
        state.generation += 1;
        state.running = true;
        state.frozen = true;
        state.live = false;
        state.parked = None;
        state.sync_started = Some(Timestamp::now());
        let generation = state.generation;
        let relays = self.spec.relays.clone();
        let db = self.spec.db.clone();
        let metrics = self.spec.metrics.clone();
        let name = url.to_string();
        let live = [
            (ZAP_SUBSCRIPTION, self.base_filter().limit(0)),
            (TARGET_SUBSCRIPTION, self.target_filter().limit(0)),
        ];
        let url_for_cursor = url.clone();
        let subscribe_then_cursor = async move {
            for (id, filter) in live {
                let subscribed = relays
                    .send(ToChild {
                        name: name.clone(),
                        msg: Subscribe {
                            id: SubscriptionId::new(id),
                            filter,
                        },
                    })
                    .await;
                match subscribed {
                    Ok(Ok(Ok(()))) => {}
                    Ok(Ok(Err(RelayError::NotConnected(_)))) | Ok(Err(_)) | Err(_) => {
                        return Err(SyncError::Down)
                    }
                    Ok(Ok(Err(e))) => return Err(SyncError::Other(e.to_string())),
                }
            }
            match from {
                SyncFrom::Since(at) => Ok(Some(at)),
                SyncFrom::Cursor => zap_ledger::cursor(&db, &url_for_cursor).await.map_err(|e| {
                    metrics.database_error("zap_cursor");
                    SyncError::Other(format!("reading the relay cursor: {e}"))
                }),
            }
        };
        let url = url.clone();
        ctx.spawn(
            subscribe_then_cursor
                .into_actor(self)
                .map(move |result, act, ctx| {
                    if act.relays.get(&url).map(|s| s.generation) != Some(generation) {
                        return;
                    }
                    match result {
                        Ok(start) => {
                            let margin = act.margin();
                            let floor = act.lost_floor;
                            if let Some(state) = act.relays.get_mut(&url) {
                                state.up = true;
                                state.live = true;
                            }
                            let since = match (start, floor) {
                                (Some(s), Some(f)) => Some(s.min(f)),
                                (start, None) => start,
                                (None, Some(_)) => None,
                            }
                            .map(|at| Timestamp::from_secs(at.as_secs().saturating_sub(margin)));
                            tracing::debug!(relay = %url, since = ?since.map(|s| s.as_secs()), "zap receipts: live; backfilling");
                            act.read_targets(&url, ctx);
                            let page = Page {
                                generation,
                                since,
                                until: None,
                                boundary: HashSet::new(),
                                received: 0,
                            };
                            act.fetch_page(&url, page, ctx);
                        }
                        Err(error) => act.sync_failed(&url, error, ctx),
                    }
                }),
        );
    }

    pub(super) fn sync_failed(
        &mut self,
        url: &RelayUrl,
        error: SyncError,
        ctx: &mut Context<Self>,
    ) {
        let Some(state) = self.relays.get_mut(url) else {
            return;
        };
        state.running = false;
        state.follow_up = None;
        state.parked = None;
        match error {
            // The link-up that follows will start again.
            SyncError::Down => state.live = false,
            SyncError::Other(message) => {
                tracing::warn!(relay = %url, %message, "zap receipt sync failed; retrying");
                let generation = state.generation;
                let url = url.clone();
                ctx.run_later(SYNC_RETRY, move |act, ctx| {
                    let retry = act
                        .relays
                        .get(&url)
                        .is_some_and(|s| s.generation == generation && !s.running);
                    if retry {
                        act.start_sync(&url, SyncFrom::Cursor, ctx);
                    }
                });
            }
        }
    }

    /// Receipts received and not yet committed, and the batch being judged.
    pub(super) fn depth(&self) -> usize {
        self.buffer.len() + self.judging + self.queued
    }

    pub(super) fn high_water(&self) -> usize {
        self.spec.tuning.max_batch.saturating_mul(4)
    }

    pub(super) fn fetch_page(&mut self, url: &RelayUrl, page: Page, ctx: &mut Context<Self>) {
        if self.depth() > self.high_water() {
            if let Some(state) = self.relays.get_mut(url) {
                state.parked = Some(page);
            }
            return;
        }
        let mut filter = self.base_filter().limit(self.spec.tuning.page_size.max(1));
        if let Some(since) = page.since {
            filter = filter.since(since);
        }
        if let Some(until) = page.until {
            filter = filter.until(until);
        }
        let timeout = self.spec.tuning.fetch_timeout;
        let fetch = self.spec.relays.send(ToChild {
            name: url.to_string(),
            msg: Fetch { filter, timeout },
        });
        let started = Instant::now();
        let url = url.clone();
        ctx.spawn(fetch.into_actor(self).map(move |answer, act, ctx| {
            let events = match answer {
                Ok(Ok(Ok(events))) if started.elapsed() < timeout => events,
                Ok(Ok(Ok(_))) => {
                    let error =
                        SyncError::Other(format!("no end of stored events within {timeout:?}"));
                    return act.page_failed(&url, page.generation, error, ctx);
                }
                Ok(Ok(Err(RelayError::NotConnected(_)))) | Ok(Err(_)) | Err(_) => {
                    return act.page_failed(&url, page.generation, SyncError::Down, ctx)
                }
                Ok(Ok(Err(e))) => {
                    return act.page_failed(
                        &url,
                        page.generation,
                        SyncError::Other(e.to_string()),
                        ctx,
                    )
                }
            };
            act.page_received(&url, page, events, ctx);
        }));
    }

    pub(super) fn page_failed(
        &mut self,
        url: &RelayUrl,
        generation: u64,
        error: SyncError,
        ctx: &mut Context<Self>,
    ) {
        if self.relays.get(url).map(|s| s.generation) == Some(generation) {
            self.sync_failed(url, error, ctx);
        }
    }

    pub(super) fn page_received(
        &mut self,
        url: &RelayUrl,
        mut page: Page,
        events: Vec<Event>,
        ctx: &mut Context<Self>,
    ) {
        // Whatever came is taken, even for a sync that was superseded meanwhile. The oldest is
        // of what was asked: a relay that ignores `until` must not move the page back up (it
        // would ask for the same page for ever).
        let oldest = events
            .iter()
            .map(|e| e.created_at)
            .filter(|at| page.until.is_none_or(|until| *at <= until))
            .min();
        let mut fresh = 0u64;
        let mut boundary = HashSet::new();
        for event in events {
            if page.until.is_some_and(|until| event.created_at > until) {
                continue; // not what was asked: a relay ignoring `until`
            }
            if Some(event.created_at) == oldest {
                boundary.insert(event.id);
            }
            if page.boundary.contains(&event.id) {
                continue;
            }
            fresh += 1;
            self.deliver(Arc::new(event), url, ctx);
        }
        page.received += fresh;
        if self.relays.get(url).map(|s| s.generation) != Some(page.generation) {
            return;
        }
        let Some(oldest) = oldest else {
            return self.sync_done(url, page.received, ctx);
        };
        if fresh == 0 {
            // Only what the last page ended with: step below that second.
            if oldest.as_secs() == 0 {
                return self.sync_done(url, page.received, ctx);
            }
            if boundary.len() >= self.spec.tuning.page_size {
                tracing::warn!(relay = %url, second = oldest.as_secs(), "relay holds a full page of zap receipts in one second; some may be missed");
            }
            page.until = Some(Timestamp::from_secs(oldest.as_secs() - 1));
            page.boundary = HashSet::new();
        } else {
            if page.until == Some(oldest) {
                boundary.extend(page.boundary.drain());
            }
            page.until = Some(oldest);
            page.boundary = boundary;
        }
        if page
            .since
            .zip(page.until)
            .is_some_and(|(since, until)| until < since)
        {
            return self.sync_done(url, page.received, ctx);
        }
        self.fetch_page(url, page, ctx);
    }

    pub(super) fn sync_done(&mut self, url: &RelayUrl, received: u64, ctx: &mut Context<Self>) {
        let Some(state) = self.relays.get_mut(url) else {
            return;
        };
        state.running = false;
        state.frozen = false;
        state.backfills_completed += 1;
        state.synced_through = state.sync_started.take();
        tracing::debug!(relay = %url, received, "zap receipts backfilled");
        if let Some(at) = state.follow_up.take() {
            self.start_sync(url, SyncFrom::Since(at), ctx);
        } else {
            self.cursors_wanted = true;
            self.kick_commit(ctx);
        }
    }

    /// Reads every connected, idle relay again from where its last sync started (minus the
    /// margin). A relay may store a receipt and never send it on the live subscription: many
    /// relays drop live events for a subscriber that reads too slowly (nostr-relay-builder
    /// does), and nothing tells the subscriber. Without this such a receipt would wait for the
    /// next reconnect, which may never come. Each catch-up reads one period plus the margin of
    /// receipts again; those already recorded are duplicates.
    pub(super) fn catch_up(&mut self, ctx: &mut Context<Self>) {
        let due: Vec<(RelayUrl, Timestamp)> = self
            .relays
            .iter()
            .filter(|(_, state)| state.up && state.live && !state.running)
            .filter_map(|(url, state)| state.synced_through.map(|at| (url.clone(), at)))
            .collect();
        for (url, from) in due {
            tracing::debug!(relay = %url, from = from.as_secs(), "zap receipts: catching up");
            self.start_sync(&url, SyncFrom::Since(from), ctx);
        }
    }

    /// Backfill pages that waited for room, if there is room now.
    pub(super) fn resume_parked(&mut self, ctx: &mut Context<Self>) {
        if self.depth() > self.high_water() / 2 {
            return;
        }
        let parked: Vec<(RelayUrl, Page)> = self
            .relays
            .iter_mut()
            .filter_map(|(url, state)| state.parked.take().map(|page| (url.clone(), page)))
            .collect();
        for (url, page) in parked {
            self.fetch_page(&url, page, ctx);
        }
    }
}
