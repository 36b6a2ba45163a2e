//! `ZapTrackerActor`: follows NIP-57 zap receipts to our bots on every relay and records each
//! payment exactly once (DESIGN.md "Zaps accepted").
//!
//! One tracker runs per service (child `zaps` of its supervisor). It holds state and routes; the
//! rules live in [`crate::nips::nip57`] and the writing in [`crate::zap_ledger`].
//!
//! # Following the relays
//!
//! Every relay actor sends the tracker its subscription events (its `event_sink`) and its link
//! changes (`link_listeners`). On each link-up, which a relay actor also sends after it fell
//! behind and may have dropped events, the tracker *syncs* that relay:
//!
//! 1. it (re)opens the live subscription `zap-receipts`: kind 9735 with `#p` = any bot, `limit
//!    0` (new events only). It is opened *before* the backfill so nothing published meanwhile
//!    falls between the two. Once every bot's LNURL provider key is known, the filter (live and
//!    backfill) also has `authors` = those keys: anyone can sign a receipt tagging our bots,
//!    and what no provider signed is not even downloaded. While a key is pending the filter has
//!    no `authors` (the pending bot's receipts must still come); when the last key arrives,
//!    every relay is synced again with the narrower filter;
//! 2. it backfills from the relay's cursor (`relay_cursors`: `since` = the newest receipt seen
//!    there, minus `nostr.backfill_margin_secs`; everything when there is no cursor), a page
//!    at a time, newest first, moving `until` down to the oldest `created_at` of each page until
//!    a page brings nothing new. Relays cap what one `REQ` returns, so a short page does not
//!    mean the end; only an empty or all-known page does.
//!
//! Every `nostr.catch_up_secs` each connected relay that is not syncing is synced again, from
//! where its last completed sync started (minus the margin): a relay may store a receipt and
//! never send it live (it dropped it for a slow subscriber), and only a read finds it.
//!
//! While a relay is being backfilled its cursor is frozen (never written), so a crash half-way
//! starts the backfill again from the old cursor rather than skipping the unread pages. Other
//! relays' cursors never pass a receipt still in memory (buffered, being judged, queued, or
//! pending): a cursor is `min(newest seen on that relay, oldest receipt not yet committed)`,
//! written in the same transaction as the receipts it vouches for.
//!
//! # The pipeline
//!
//! Receipts are buffered and flushed to validation when the buffer holds a full batch or a few
//! milliseconds after the first one arrived. Validation ([`zap_ledger::judge`]) runs on the
//! blocking pool and spreads each batch over every core; one batch is judged while the previous
//! one is written ([`zap_ledger::record`], one transaction per batch, or per few batches when
//! they queued up behind a slow database). A receipt id seen recently (a bounded set) is a
//! duplicate at once, without validation: the same receipt from three relays is judged once. Under load the batches grow by themselves (everything that
//! arrived while a batch was judged is the next batch), which keeps latency low when it is quiet
//! and throughput high when it is not. Backfill pages wait while the pipeline is deep; live
//! receipts are dropped only beyond a large bound, and then every relay is asked again for
//! what was dropped once the pipeline has drained.
//!
//! # LNURL provider keys
//!
//! A bot's provider key comes from its `zapper_pubkey` setting, or is resolved from its lightning
//! address in the background, retried with backoff ([`crate::zap_recipients`]). Until it is
//! known, that bot's receipts that pass every other rule are kept pending (in memory, bounded,
//! counted in `zap_receipts_pending`) and judged again when the key arrives. Receipts never
//! make the actor fail: a bad receipt is a rejection row, a database error is retried.
//!
//! # Junk
//!
//! A rejected receipt whose signer is not a proven provider ([`zap_ledger`]'s junk) is counted
//! in `zap_receipts_rejected{reason}` and in the ledger's capped per-signer table, and logged
//! only as one summary line a minute ([`JUNK_LOG_EVERY`]), never a line per receipt: a
//! stranger's flood can grow neither the database nor the log without bound.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use nostr_sdk::{Event, EventId, Filter, Kind, PublicKey, RelayUrl, SubscriptionId, Timestamp};
use sea_orm::DatabaseConnection;

use crate::actors::relay::{
    Fetch, RelayActor, RelayError, RelayEvent, RelayLinkChanged, Subscribe,
};
use crate::configuration::LnurlSettings;
use crate::db;
use crate::lnurl;
use crate::metrics::Metrics;
use crate::supervision::{Broadcast, ChildGuard, StopChild, SupervisedActor, Supervisor, ToChild};
use crate::zap_ledger::{self, CursorUpdate, Incoming, Judged, Judgement, LedgerOutcome};
use crate::zap_recipients::{retry_delay, BotZapConfig, RecipientTable, ZapperCache};

/// The tracker's child name under its supervisor.
pub const CHILD_NAME: &str = "zaps";

/// The id of the live zap receipt subscription on every relay.
pub const ZAP_SUBSCRIPTION: &str = "zap-receipts";

/// How often cursors are written even when no new receipt was recorded (duplicates still move
/// a relay's cursor forward).
const CURSOR_FLUSH_EVERY: Duration = Duration::from_secs(5);

/// Delay before a sync is tried again after it failed on a relay that is still up.
const SYNC_RETRY: Duration = Duration::from_secs(1);

/// Receipt ids remembered per relay connection, to count each relay's delivery once. The two
/// copies of one delivery (a backfill page's subscription event and the page's result) arrive
/// at most a fetch timeout apart, so this holds that long of traffic at 600 receipts/s; a copy
/// that comes later is counted as a duplicate and `seen` still keeps it from being judged
/// twice. About 1 MB per connected relay once full (it was 100,000 ids: 8 MB).
const DELIVERIES_REMEMBERED: usize = 10_000;

/// At most this many judged batches' worth of receipts are written in one transaction.
const COMMIT_BATCHES_MERGED: usize = 4;

/// How often the junk receipts of the last period are summed up in one log line.
pub const JUNK_LOG_EVERY: Duration = Duration::from_secs(60);

/// Distinct junk signers counted for one summary line, at most.
const JUNK_SIGNERS_LOGGED: usize = 10_000;

/// Longest wait between two attempts to write a batch the database refused.
const MAX_COMMIT_BACKOFF: Duration = Duration::from_secs(10);

/// Sizes and delays of the pipeline. The defaults suit production; tests and benchmarks may
/// change them.
#[derive(Debug, Clone)]
pub struct TrackerTuning {
    /// Receipts judged and written together, at most.
    pub max_batch: usize,
    /// How long the first receipt of a batch waits for company before the batch is flushed.
    pub flush_delay: Duration,
    /// Receipts asked per backfill page (`limit`); relays may return fewer.
    pub page_size: usize,
    /// How long one backfill page may take.
    pub fetch_timeout: Duration,
    /// Receipts buffered (not yet judged) before live ones are dropped (and fetched again later).
    pub max_buffered: usize,
    /// Receipts held pending for unknown provider keys before new ones are dropped.
    pub max_pending: usize,
    /// Receipt ids remembered to skip re-validation of duplicates (the same receipt from
    /// another relay, or again in a backfill). One that comes after its id was forgotten is
    /// judged again, and the ledger keeps it once: this saves work, it is not what makes
    /// receipts count once.
    pub seen_capacity: usize,
}

impl Default for TrackerTuning {
    fn default() -> Self {
        TrackerTuning {
            max_batch: 512,
            flush_delay: Duration::from_millis(5),
            page_size: 500,
            fetch_timeout: Duration::from_secs(15),
            max_buffered: 50_000,
            max_pending: 10_000,
            // About 2 MB once full: 20 s of receipts at 1,000/s, which covers the copies from
            // the other relays; it was 200,000 (16 MB).
            seen_capacity: 20_000,
        }
    }
}

/// Everything the tracker needs to be created (and re-created after a failure).
#[derive(Clone)]
pub struct ZapTrackerSpec {
    pub db: DatabaseConnection,
    pub metrics: Arc<Metrics>,
    /// The relay actors' supervisor: subscriptions and backfill go through it.
    pub relays: Addr<Supervisor<RelayActor>>,
    pub relay_urls: Vec<RelayUrl>,
    pub bots: Vec<BotZapConfig>,
    /// Subtracted from a relay's cursor when asking what was missed.
    pub backfill_margin: Duration,
    /// How often every connected relay is read again for what it stored but never sent live
    /// ([`ZapTrackerActor::catch_up`]); `None`: never.
    pub catch_up_every: Option<Duration>,
    pub lnurl: LnurlSettings,
    /// Provider keys resolved by an earlier incarnation.
    pub zapper_cache: ZapperCache,
    pub tuning: TrackerTuning,
    /// Told of every committed batch that recorded receipts: the vote aggregator's supervisor.
    pub vote_sink: Option<Recipient<Broadcast<ZapsCommitted>>>,
}

// --- messages ---------------------------------------------------------------------------------

/// Sent to every watcher after each batch is committed.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct ZapsCommitted {
    pub outcome: Arc<LedgerOutcome>,
    pub committed_at: Instant,
}

/// Registers a watcher of committed batches (the vote aggregator, tests, benchmarks). Watchers
/// live as long as this tracker incarnation.
#[derive(Message)]
#[rtype(result = "()")]
pub struct WatchZaps(pub Recipient<ZapsCommitted>);

/// Asks for the tracker's state.
#[derive(Message)]
#[rtype(result = "ZapTrackerStatus")]
pub struct GetZapTrackerStatus;

/// The tracker's state, for health and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapTrackerStatus {
    /// Receipts waiting for their bot's provider key.
    pub pending: usize,
    /// Receipts received and not yet committed (buffered, being judged, or queued).
    pub in_flight: usize,
    /// Bots whose provider key is still unknown.
    pub pending_zappers: usize,
    pub relays: Vec<RelaySyncStatus>,
}

/// One relay as the tracker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelaySyncStatus {
    pub url: String,
    /// The live subscription is open.
    pub live: bool,
    /// A backfill is running.
    pub backfilling: bool,
    /// Backfills completed since this tracker started.
    pub backfills_completed: u64,
}

// --- state ------------------------------------------------------------------------------------

/// Receipt ids seen recently, forgetting the oldest beyond a capacity.
struct SeenIds {
    set: HashSet<EventId>,
    order: VecDeque<EventId>,
    capacity: usize,
}

impl SeenIds {
    fn new(capacity: usize) -> Self {
        SeenIds {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// True when `id` was not seen yet.
    fn insert(&mut self, id: EventId) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    fn forget(&mut self, id: &EventId) {
        self.set.remove(id);
    }
}

/// `created_at` of every receipt received and not yet committed (a multiset): cursors never
/// pass the oldest.
#[derive(Default)]
struct Uncommitted(BTreeMap<Timestamp, usize>);

impl Uncommitted {
    fn add(&mut self, at: Timestamp) {
        *self.0.entry(at).or_default() += 1;
    }

    fn remove(&mut self, at: Timestamp) {
        if let Some(n) = self.0.get_mut(&at) {
            *n -= 1;
            if *n == 0 {
                self.0.remove(&at);
            }
        }
    }

    fn oldest(&self) -> Option<Timestamp> {
        self.0.keys().next().copied()
    }
}

/// Junk receipts since the last summary line (see the module doc).
#[derive(Default)]
struct JunkLog {
    receipts: u64,
    /// Distinct signers, up to [`JUNK_SIGNERS_LOGGED`].
    signers: HashSet<PublicKey>,
    reasons: BTreeMap<&'static str, u64>,
}

impl JunkLog {
    fn add(&mut self, junk: &zap_ledger::JunkZap) {
        self.receipts += 1;
        if self.signers.len() < JUNK_SIGNERS_LOGGED {
            self.signers.insert(junk.signer);
        }
        *self.reasons.entry(junk.reason).or_default() += 1;
    }

    /// Logs the period's summary, if anything came, and starts a new period.
    fn flush(&mut self) {
        if self.receipts == 0 {
            return;
        }
        let reasons: Vec<String> = self
            .reasons
            .iter()
            .map(|(reason, n)| format!("{reason}={n}"))
            .collect();
        let signers = if self.signers.len() >= JUNK_SIGNERS_LOGGED {
            format!("{JUNK_SIGNERS_LOGGED}+")
        } else {
            self.signers.len().to_string()
        };
        tracing::warn!(
            receipts = self.receipts,
            signers,
            reasons = reasons.join(","),
            period_secs = JUNK_LOG_EVERY.as_secs(),
            "zap receipts rejected from keys that are not a known LNURL provider (counted, not stored)"
        );
        *self = JunkLog::default();
    }
}

/// Where a sync starts reading.
#[derive(Debug, Clone, Copy)]
enum SyncFrom {
    /// The relay's stored cursor, minus the margin (everything when there is none).
    Cursor,
    /// This time, minus the margin.
    Since(Timestamp),
}

/// The next backfill page to ask for.
struct Page {
    generation: u64,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    /// Ids already taken at the `until` second (the next page returns them again).
    boundary: HashSet<EventId>,
    received: u64,
}

/// One relay, as the tracker follows it.
struct RelaySync {
    url: RelayUrl,
    up: bool,
    /// Bumped by every sync start and link-down: answers for an older one are stale.
    generation: u64,
    running: bool,
    /// A sync was asked for while one ran: run another after it, since this time.
    follow_up: Option<Timestamp>,
    /// The cursor is not written (no completed backfill yet in this incarnation).
    frozen: bool,
    live: bool,
    /// Newest `created_at` received from this relay.
    max_seen: Option<Timestamp>,
    /// The cursor last written.
    written: Option<Timestamp>,
    /// When the running sync started (its live subscription was opened then).
    sync_started: Option<Timestamp>,
    /// When the last completed sync started: everything the relay stored before then, back to
    /// that sync's `since`, has been read.
    synced_through: Option<Timestamp>,
    /// A page waiting for room in the pipeline.
    parked: Option<Page>,
    /// Receipts this relay delivered on its current connection. nostr-sdk can hand one
    /// receipt over up to twice per relay (as a subscription event, live or a backfill page's,
    /// and in a page's result); it is one delivery, so at most one duplicate.
    delivered: SeenIds,
    backfills_completed: u64,
}

impl RelaySync {
    fn new(url: RelayUrl) -> Self {
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
        }
    }
}

pub struct ZapTrackerActor {
    spec: ZapTrackerSpec,
    guard: ChildGuard,
    recipients: RecipientTable,
    bots: Vec<PublicKey>,
    relays: HashMap<RelayUrl, RelaySync>,
    seen: SeenIds,
    uncommitted: Uncommitted,
    buffer: Vec<Incoming>,
    flush_handle: Option<SpawnHandle>,
    /// Receipts in the batch being judged (0 when none).
    judging: usize,
    commit_queue: VecDeque<Vec<Judged>>,
    queued: usize,
    committing: bool,
    commit_failures: u32,
    /// A cursor-only commit is wanted (a backfill finished, or the periodic flush).
    cursors_wanted: bool,
    /// Receipts waiting for their bot's provider key, by bot.
    pending: HashMap<PublicKey, Vec<Incoming>>,
    pending_count: usize,
    /// Oldest `created_at` of a receipt dropped (buffer or pending full): cursors stay below it
    /// until every relay has been asked again.
    lost_floor: Option<Timestamp>,
    /// Bots whose dropped pending receipts must wait for the key before asking again.
    lost_waiting_for: HashSet<PublicKey>,
    resolve_failures: HashMap<PublicKey, u32>,
    watchers: Vec<Recipient<ZapsCommitted>>,
    junk_log: JunkLog,
}

impl SupervisedActor for ZapTrackerActor {
    type Spec = ZapTrackerSpec;
    const KIND: &'static str = "zap_tracker";

    fn build(spec: &ZapTrackerSpec, guard: ChildGuard) -> Self {
        let recipients = RecipientTable::new(&spec.bots, &spec.zapper_cache);
        let relays = spec
            .relay_urls
            .iter()
            .map(|url| (url.clone(), RelaySync::new(url.clone())))
            .collect();
        ZapTrackerActor {
            // Sorted: `RelayEvent` looks bots up by binary search.
            bots: recipients.bots(),
            recipients,
            relays,
            seen: SeenIds::new(spec.tuning.seen_capacity),
            uncommitted: Uncommitted::default(),
            buffer: Vec::new(),
            flush_handle: None,
            judging: 0,
            commit_queue: VecDeque::new(),
            queued: 0,
            committing: false,
            commit_failures: 0,
            cursors_wanted: false,
            pending: HashMap::new(),
            pending_count: 0,
            lost_floor: None,
            lost_waiting_for: HashSet::new(),
            resolve_failures: HashMap::new(),
            watchers: Vec::new(),
            junk_log: JunkLog::default(),
            spec: spec.clone(),
            guard,
        }
    }
}

impl Actor for ZapTrackerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.spec.metrics.receipts_pending.set(0);
        // Relays that came up before this incarnation will not say so again: try them all.
        let urls: Vec<RelayUrl> = self.relays.keys().cloned().collect();
        for url in urls {
            self.start_sync(&url, SyncFrom::Cursor, ctx);
        }
        let unresolved: Vec<BotZapConfig> = self
            .spec
            .bots
            .iter()
            .filter(|bot| self.recipients.is_pending(&bot.pubkey))
            .cloned()
            .collect();
        for bot in unresolved {
            self.resolve(bot, ctx);
        }
        ctx.run_interval(CURSOR_FLUSH_EVERY, |act, ctx| {
            act.cursors_wanted = true;
            act.kick_commit(ctx);
        });
        ctx.run_interval(JUNK_LOG_EVERY, |act, _ctx| act.junk_log.flush());
        if let Some(every) = self.spec.catch_up_every {
            ctx.run_interval(every, |act, ctx| act.catch_up(ctx));
        }
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        self.guard.mark_stopped();
        self.junk_log.flush();
        // What was not committed is read again from the relays' cursors by the next tracker.
        self.spec.metrics.receipts_pending.set(0);
    }
}

// --- following relays -------------------------------------------------------------------------

/// Why a sync step failed.
enum SyncError {
    /// The relay is not connected (or its actor is restarting): wait for its link-up.
    Down,
    Other(String),
}

impl ZapTrackerActor {
    /// Receipts to our bots; only from their providers once every provider key is known
    /// (see the module doc).
    fn base_filter(&self) -> Filter {
        let filter = Filter::new()
            .kind(Kind::ZapReceipt)
            .pubkeys(self.bots.iter().copied());
        match self.recipients.known_zappers() {
            Some(zappers) => filter.authors(zappers),
            None => filter,
        }
    }

    fn margin(&self) -> u64 {
        self.spec.backfill_margin.as_secs()
    }

    /// Opens the live subscription on `url`, then backfills it (see the module doc).
    fn start_sync(&mut self, url: &RelayUrl, from: SyncFrom, ctx: &mut Context<Self>) {
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
        let live = self.base_filter().limit(0);
        let url_for_cursor = url.clone();
        let subscribe_then_cursor = async move {
            let subscribed = relays
                .send(ToChild {
                    name,
                    msg: Subscribe {
                        id: SubscriptionId::new(ZAP_SUBSCRIPTION),
                        filter: live,
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

    fn sync_failed(&mut self, url: &RelayUrl, error: SyncError, ctx: &mut Context<Self>) {
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
    fn depth(&self) -> usize {
        self.buffer.len() + self.judging + self.queued
    }

    fn high_water(&self) -> usize {
        self.spec.tuning.max_batch.saturating_mul(4)
    }

    fn fetch_page(&mut self, url: &RelayUrl, page: Page, ctx: &mut Context<Self>) {
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

    fn page_failed(
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

    fn page_received(
        &mut self,
        url: &RelayUrl,
        mut page: Page,
        events: Vec<Event>,
        ctx: &mut Context<Self>,
    ) {
        // Whatever came is taken, even for a sync that was superseded meanwhile.
        let oldest = events.iter().map(|e| e.created_at).min();
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

    fn sync_done(&mut self, url: &RelayUrl, received: u64, ctx: &mut Context<Self>) {
        let Some(state) = self.relays.get_mut(url) else {
            return;
        };
        state.running = false;
        state.frozen = false;
        state.backfills_completed += 1;
        state.synced_through = state.sync_started.take();
        tracing::info!(relay = %url, received, "zap receipts backfilled");
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
    fn catch_up(&mut self, ctx: &mut Context<Self>) {
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
    fn resume_parked(&mut self, ctx: &mut Context<Self>) {
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

    // --- intake -------------------------------------------------------------------------------

    /// One receipt delivered by `relay`, by whichever path. The same receipt from the same
    /// relay connection again is the same delivery and is ignored; from another relay, or
    /// after a reconnect or a restart, it is a duplicate (or a new receipt, if not seen).
    fn deliver(&mut self, event: Arc<Event>, relay: &RelayUrl, ctx: &mut Context<Self>) {
        if let Some(state) = self.relays.get_mut(relay) {
            if !state.delivered.insert(event.id) {
                return;
            }
        }
        self.accept(event, relay, ctx);
    }

    /// A receipt that has to be fetched again (dropped before it was committed): forgotten
    /// everywhere, so its next delivery is taken.
    fn forget_receipt(&mut self, id: &EventId) {
        self.seen.forget(id);
        for state in self.relays.values_mut() {
            state.delivered.forget(id);
        }
    }

    /// One receipt from `relay`, live or backfilled. A receipt seen recently is counted as a
    /// duplicate.
    fn accept(&mut self, event: Arc<Event>, relay: &RelayUrl, ctx: &mut Context<Self>) {
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
    fn lose(&mut self, created_at: Timestamp, waiting_for: Option<PublicKey>) {
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
    fn maybe_recover_losses(&mut self, ctx: &mut Context<Self>) {
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

    fn flush(&mut self, ctx: &mut Context<Self>) {
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

    fn judged(&mut self, judgement: Judgement, ctx: &mut Context<Self>) {
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

    fn set_pending_gauge(&self) {
        let count = i64::try_from(self.pending_count).unwrap_or(i64::MAX);
        self.spec.metrics.receipts_pending.set(count);
    }

    // --- committing ---------------------------------------------------------------------------

    /// The cursors that can move now (see the module doc), each at most once.
    fn cursor_updates(&self) -> Vec<CursorUpdate> {
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

    fn kick_commit(&mut self, ctx: &mut Context<Self>) {
        if self.committing {
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
        // A task of its own, like every transaction (`db::detached`): it never waits for this
        // actor to be polled. It hands the batch back, for a retry if it failed.
        let write = db::detached(async move {
            let started = Instant::now();
            let result = zap_ledger::record(&db, &batch, &cursors, Timestamp::now()).await;
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

    fn committed(&mut self, outcome: LedgerOutcome, cursors: &[CursorUpdate]) {
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

    // --- LNURL provider keys ------------------------------------------------------------------

    fn resolve(&mut self, bot: BotZapConfig, ctx: &mut Context<Self>) {
        let endpoint = match bot.endpoint() {
            Ok(url) => url,
            Err(error) => {
                tracing::error!(bot = %bot.name, %error, "cannot look up the bot's LNURL provider key; its zap receipts stay pending");
                return;
            }
        };
        let timeout = Duration::from_millis(self.spec.lnurl.timeout_ms);
        let lookup = async move { lnurl::resolve_zapper(&endpoint, timeout).await };
        ctx.spawn(lookup.into_actor(self).map(move |result, act, ctx| match result {
            Ok(key) => {
                tracing::info!(bot = %bot.name, zapper = %key, "LNURL provider key resolved");
                act.spec.zapper_cache.insert(bot.pubkey, key);
                let was_pending = act.recipients.is_pending(&bot.pubkey);
                act.recipients.set_known(bot.pubkey, key);
                act.resolve_failures.remove(&bot.pubkey);
                act.release_pending(bot.pubkey, ctx);
                if was_pending && act.recipients.known_zappers().is_some() {
                    act.narrow_subscriptions(ctx);
                }
            }
            Err(error) => {
                let failures = act.resolve_failures.entry(bot.pubkey).or_default();
                *failures = failures.saturating_add(1);
                let delay = retry_delay(&act.spec.lnurl, *failures);
                let retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                if *failures == 1 {
                    tracing::warn!(bot = %bot.name, %error, retry_in_ms, "cannot resolve the bot's LNURL provider key; its zap receipts stay pending");
                } else {
                    tracing::debug!(bot = %bot.name, %error, retry_in_ms, "LNURL provider key still unresolved");
                }
                ctx.run_later(delay, move |act, ctx| act.resolve(bot, ctx));
            }
        }));
    }

    /// Every provider key is known now: sync every relay again, so the live subscription and
    /// the backfill ask only for receipts from those keys. Read from now (minus the margin):
    /// the wider subscription delivered everything before.
    fn narrow_subscriptions(&mut self, ctx: &mut Context<Self>) {
        tracing::info!("every LNURL provider key known: asking relays only for their receipts");
        let now = Timestamp::now();
        let urls: Vec<RelayUrl> = self.relays.keys().cloned().collect();
        for url in urls {
            let Some(state) = self.relays.get_mut(&url) else {
                continue;
            };
            if state.running {
                state.follow_up = Some(state.follow_up.map_or(now, |f| f.min(now)));
            } else if state.up {
                self.start_sync(&url, SyncFrom::Since(now), ctx);
            }
        }
    }

    /// The key of `bot` is known: judge its pending receipts again.
    fn release_pending(&mut self, bot: PublicKey, ctx: &mut Context<Self>) {
        let released = self.pending.remove(&bot).unwrap_or_default();
        self.pending_count -= released.len().min(self.pending_count);
        self.set_pending_gauge();
        self.lost_waiting_for.remove(&bot);
        if !released.is_empty() {
            tracing::info!(
                receipts = released.len(),
                "judging pending zap receipts again"
            );
            self.buffer.extend(released);
            self.flush(ctx);
        }
        self.maybe_recover_losses(ctx);
    }

    fn status(&self) -> ZapTrackerStatus {
        let mut relays: Vec<RelaySyncStatus> = self
            .relays
            .values()
            .map(|state| RelaySyncStatus {
                url: state.url.to_string(),
                live: state.live,
                backfilling: state.running,
                backfills_completed: state.backfills_completed,
            })
            .collect();
        relays.sort_by(|a, b| a.url.cmp(&b.url));
        ZapTrackerStatus {
            pending: self.pending_count,
            in_flight: self.depth(),
            pending_zappers: self
                .bots
                .iter()
                .filter(|bot| self.recipients.is_pending(bot))
                .count(),
            relays,
        }
    }
}

/// The next batch to write: the oldest queued one, joined by those behind it while the total
/// stays within `most` (one larger batch is never split). Batches queue up only while the
/// database is the slow stage, and then fewer, larger transactions catch up faster.
fn take_merged<T>(queue: &mut VecDeque<Vec<T>>, most: usize) -> Option<Vec<T>> {
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

/// Wait before writing a refused batch again: 100 ms doubling to [`MAX_COMMIT_BACKOFF`].
fn commit_backoff(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    Duration::from_millis(100u64.saturating_mul(1u64 << exp)).min(MAX_COMMIT_BACKOFF)
}

// --- handlers ---------------------------------------------------------------------------------

impl Handler<RelayEvent> for ZapTrackerActor {
    type Result = ();

    fn handle(&mut self, msg: RelayEvent, ctx: &mut Context<Self>) {
        if msg.subscription_id.as_str() == ZAP_SUBSCRIPTION {
            return self.deliver(msg.event, &msg.relay, ctx);
        }
        // Another subscription on this relay: a backfill page's, or another actor's. nostr-sdk
        // forwards each event once per relay, under the subscription it came on *first*: a
        // receipt published during a backfill page may reach us only under that page's id
        // (the relay sends it to both subscriptions; the live copy is then swallowed). So
        // receipts to our bots are taken from any subscription; `deliver` counts the page's
        // result carrying it again as the same delivery.
        let ours = msg.event.kind == Kind::ZapReceipt
            && msg
                .event
                .tags
                .public_keys()
                .any(|p| self.bots.binary_search(p).is_ok());
        if ours {
            self.deliver(msg.event, &msg.relay, ctx);
        }
    }
}

impl Handler<RelayLinkChanged> for ZapTrackerActor {
    type Result = ();

    fn handle(&mut self, msg: RelayLinkChanged, ctx: &mut Context<Self>) {
        let Some(state) = self.relays.get_mut(&msg.relay) else {
            return;
        };
        if msg.up {
            let was_up = state.up;
            state.up = true;
            if state.running && was_up {
                // A lag while syncing: read again from now (minus the margin) afterwards.
                let now = Timestamp::now();
                state.follow_up = Some(state.follow_up.map_or(now, |f| f.min(now)));
            } else {
                self.start_sync(&msg.relay, SyncFrom::Cursor, ctx);
            }
        } else {
            state.up = false;
            state.live = false;
            state.running = false;
            state.follow_up = None;
            state.parked = None;
            // A new connection: what it delivers again (a backfill) is a duplicate.
            state.delivered = SeenIds::new(DELIVERIES_REMEMBERED);
            state.generation += 1;
        }
    }
}

impl Handler<WatchZaps> for ZapTrackerActor {
    type Result = ();

    fn handle(&mut self, msg: WatchZaps, _ctx: &mut Context<Self>) {
        self.watchers.push(msg.0);
    }
}

impl Handler<GetZapTrackerStatus> for ZapTrackerActor {
    type Result = MessageResult<GetZapTrackerStatus>;

    fn handle(&mut self, _: GetZapTrackerStatus, _ctx: &mut Context<Self>) -> Self::Result {
        MessageResult(self.status())
    }
}

impl Handler<StopChild> for ZapTrackerActor {
    type Result = ();

    fn handle(&mut self, _: StopChild, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn seen_ids_forget_the_oldest() {
        let mut seen = SeenIds::new(2);
        let id = |n: u8| EventId::from_byte_array([n; 32]);
        assert!(seen.insert(id(1)));
        assert!(!seen.insert(id(1)));
        assert!(seen.insert(id(2)));
        assert!(seen.insert(id(3)));
        assert!(seen.insert(id(1)), "the oldest was forgotten");
        assert!(!seen.insert(id(3)));
        seen.forget(&id(3));
        assert!(seen.insert(id(3)));
    }

    #[test]
    fn uncommitted_is_a_multiset() {
        let mut u = Uncommitted::default();
        let t = Timestamp::from_secs;
        u.add(t(5));
        u.add(t(3));
        u.add(t(3));
        assert_eq!(u.oldest(), Some(t(3)));
        u.remove(t(3));
        assert_eq!(u.oldest(), Some(t(3)));
        u.remove(t(3));
        assert_eq!(u.oldest(), Some(t(5)));
        u.remove(t(9));
        u.remove(t(5));
        assert_eq!(u.oldest(), None);
    }

    #[test]
    fn commit_backoff_doubles_and_caps() {
        assert_eq!(commit_backoff(1), Duration::from_millis(100));
        assert_eq!(commit_backoff(3), Duration::from_millis(400));
        assert_eq!(commit_backoff(40), MAX_COMMIT_BACKOFF);
    }
}
