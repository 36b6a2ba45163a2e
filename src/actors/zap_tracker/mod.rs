//! `ZapTrackerActor`: follows NIP-57 zap receipts to our bots on every relay and records each
//! payment exactly once (DESIGN.md "Zaps accepted").
//!
//! One tracker runs per service (child `zaps` of its supervisor). It holds state and routes; the
//! rules live in [`crate::nostr::nip57`] and the writing in [`crate::store::zap_ledger`].
//! Its mechanisms have a file each: `relay_sync` (following the relays), `pipeline` (intake,
//! judging, committing), `provider_keys` (LNURL provider keys and pending receipts), `rejudge`
//! (earlier rejections that are now only checks), `targets` (vote targets learned from the
//! relays: our bots' events tagged `governance-proposal`), and the bounded memories
//! `seen_ids`, `uncommitted` and `junk_log`.
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
//! Each sync also follows the vote targets on that relay (the `targets` file): the live
//! subscription `governance-targets` is opened with `zap-receipts`, and what the relay stored
//! is read after it.
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
//! they queued up behind a slow database or, during a backlog, waited for company:
//! `COMMIT_BATCHES_UNDER_BACKLOG`). A receipt id seen recently (a bounded set) is a
//! duplicate at once, without validation: the same receipt from three relays is judged once.
//! Under load the batches grow by themselves (everything that arrived while a batch was judged
//! is the next batch), which keeps latency low when it is quiet and throughput high when it is
//! not. Backfill pages wait while the pipeline is deep; live
//! receipts are dropped only beyond a large bound, and then every relay is asked again for
//! what was dropped once the pipeline has drained.
//!
//! # LNURL provider keys
//!
//! A bot's provider key comes from its `zapper_pubkey` setting, or is resolved from its lightning
//! address in the background, retried with backoff ([`crate::nostr::zap_recipients`]). Until it is
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

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use nostr_sdk::{Event, EventId, Filter, Kind, PublicKey, RelayUrl, SubscriptionId, Timestamp};
use sea_orm::DatabaseConnection;

use crate::actors::relay::{
    Fetch, RelayActor, RelayError, RelayEvent, RelayLinkChanged, Subscribe,
};
use crate::actors::supervision::{
    Broadcast, ChildGuard, StopChild, SupervisedActor, Supervisor, ToChild,
};
use crate::configuration::LnurlSettings;
use crate::metrics::Metrics;
use crate::nostr::lnurl;
use crate::nostr::zap_recipients::{BotZapConfig, RecipientTable, ZapperCache};
use crate::store::db;
use crate::store::zap_ledger::{self, CursorUpdate, Incoming, Judged, Judgement, LedgerOutcome};

mod junk_log;
mod pipeline;
mod provider_keys;
mod rejudge;
mod relay_sync;
mod seen_ids;
mod targets;
mod uncommitted;

pub use targets::TARGET_SUBSCRIPTION;

use junk_log::JunkLog;
use relay_sync::{RelaySync, SyncFrom};
use seen_ids::SeenIds;
use uncommitted::Uncommitted;

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
/// copies of one delivery (live, and in a backfill page's answer, when it was published while
/// the page was read) arrive
/// at most a fetch timeout apart, so this holds that long of traffic at 600 receipts/s; a copy
/// that comes later is counted as a duplicate and `seen` still keeps it from being judged
/// twice. About 1 MB per connected relay once full (it was 100,000 ids: 8 MB).
const DELIVERIES_REMEMBERED: usize = 10_000;

/// At most this many judged batches' worth of receipts are written in one transaction.
const COMMIT_BATCHES_MERGED: usize = 4;

/// While a backlog is being worked through (receipts still buffered or being judged, and a
/// whole batch or more with those queued), a commit waits until this many judged batches are
/// queued ([`pipeline::commit_waits`]). Each transaction rewrites, in the WAL, every
/// page it touches: the new rows' pages and one page of each index on a random key per receipt,
/// which a larger transaction shares among more receipts (a 50,000-receipt backfill into SQLite
/// wrote 19.3 KB per receipt with commits of about one batch, 14.9 KB with three:
/// `BENCHMARKS.md`, third round). Live receipts never wait for it: they come fewer than a batch at a time.
const COMMIT_BATCHES_UNDER_BACKLOG: usize = 3;

/// How often the junk receipts of the last period are summed up in one log line.
pub const JUNK_LOG_EVERY: Duration = Duration::from_secs(60);

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
    /// (the tracker's `catch_up`); `None`: never.
    pub catch_up_every: Option<Duration>,
    pub lnurl: LnurlSettings,
    /// Provider keys resolved by an earlier incarnation.
    pub zapper_cache: ZapperCache,
    pub tuning: TrackerTuning,
    /// Told of every committed batch that recorded receipts: the vote aggregator's supervisor.
    pub vote_sink: Option<Recipient<Broadcast<ZapsCommitted>>>,
    /// Told of every vote target learned from the relays (once recorded): the vote
    /// aggregator's supervisor.
    pub target_sink: Option<Recipient<Broadcast<TargetLearned>>>,
    /// This server's `server.id`, written with every receipt it records (`recorded_by`).
    pub server_id: Arc<str>,
}

// --- messages ---------------------------------------------------------------------------------

/// Sent to the vote aggregator when `target` was recorded as a vote target of `proposal`
/// (learned from the relays). If the proposal's book lacks it, the proposal is loaded again from the database, with its targets
/// and every receipt its tally can need, and replaces the one tracked: contributions recorded
/// before the target was known are judged again, and the changed tally is published after the
/// usual debounce.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct TargetLearned {
    pub proposal: EventId,
    pub target: EventId,
}

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
    /// The earlier rejections that are now only checks were judged again (`rejudge`).
    rejudged: bool,
    /// Events taken as possible vote targets (`targets`), each once.
    targets_seen: SeenIds,
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
            rejudged: false,
            targets_seen: SeenIds::new(targets::TARGETS_REMEMBERED),
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
        self.rejudge_old_rejections(ctx);
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

impl ZapTrackerActor {
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

// --- handlers ---------------------------------------------------------------------------------

impl Handler<RelayEvent> for ZapTrackerActor {
    type Result = ();

    fn handle(&mut self, msg: RelayEvent, ctx: &mut Context<Self>) {
        if msg.subscription_id.as_str() == ZAP_SUBSCRIPTION {
            return self.deliver(msg.event, &msg.relay, ctx);
        }
        // Vote targets, from their live subscription (what reads find comes in their answers,
        // never here: `Fetch`).
        if self.may_be_target(&msg.event) {
            return self.learn_target(msg.event, ctx);
        }
        if msg.subscription_id.as_str() == TARGET_SUBSCRIPTION {
            return;
        }
        // Another actor's subscription on this relay: receipts to our bots are taken from any
        // subscription, counted as this relay's delivery once (`deliver`).
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
