//! The feed: keeps the page's [`Snapshot`] up to date, so every public page request is
//! answered from memory.
//!
//! A task polls the vote aggregator every [`POLL_EVERY`] for each proposal's change counter
//! (one cheap message: no tally is computed), and the server's header (relays, bots,
//! database, audit head) every [`HEADER_EVERY`]. Only a proposal whose counter moved, whose
//! window closed, or whose numbers have aged [`RECOMPUTE_EVERY`] (time moves `T`, so old
//! contributions leave the windows) is asked for its full tally; its rows are built on a
//! blocking thread, and the comments of receipts not seen before are read from the database by
//! their unique index. A large proposal is rebuilt at most every five times its last build
//! time, so a 100,000-voter proposal under a stream of zaps costs the aggregator a bounded
//! share of its time. Each new snapshot goes out on a `watch` channel: requests read the
//! newest, and the live stream ([`super::live`]) tells open pages to fetch again.
//!
//! The task ends when nobody can read the channel any more (the HTTP server stopped).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nostr_sdk::EventId;
use tokio::sync::watch;

use super::snapshot::{Header, PageContext, ProposalPage, Snapshot};
use crate::actors::audit_head::{self, GetHead};
use crate::actors::supervision::ToChild;
use crate::actors::vote_aggregator::{GetProposalVoters, ProposalChange, ProposalChanges};
use crate::http::handles::ServiceHandles;
use crate::http::health;
use crate::store::zap_comments::zap_comments;

/// How often the aggregator is asked what changed.
pub const POLL_EVERY: Duration = Duration::from_millis(250);
/// How often the header (health, relays, audit head) is collected.
pub const HEADER_EVERY: Duration = Duration::from_millis(1000);
/// An open proposal's numbers are recomputed at least this often, changed or not.
pub const RECOMPUTE_EVERY: Duration = Duration::from_secs(60);

/// Readers' side of the feed: the newest snapshot, and a way to wait for the next.
#[derive(Clone)]
pub struct PageFeed {
    pub context: Arc<PageContext>,
    snapshots: watch::Receiver<Arc<Snapshot>>,
}

impl PageFeed {
    /// The newest snapshot.
    pub fn current(&self) -> Arc<Snapshot> {
        self.snapshots.borrow().clone()
    }

    /// A receiver that wakes on every new snapshot.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>> {
        self.snapshots.clone()
    }

    /// A feed that never changes, for tests and benchmarks that render a made-up snapshot.
    pub fn fixed(context: PageContext, snapshot: Snapshot) -> PageFeed {
        let (tx, snapshots) = watch::channel(Arc::new(snapshot));
        // Keep the sender alive for the receivers' lifetime: a dropped sender ends live streams.
        std::mem::forget(tx);
        PageFeed {
            context: Arc::new(context),
            snapshots,
        }
    }
}

/// Starts the feed's task on the current actix system.
pub fn start(handles: ServiceHandles, context: PageContext) -> PageFeed {
    let (tx, snapshots) = watch::channel(Arc::new(Snapshot::default()));
    let context = Arc::new(context);
    actix_rt::spawn(run(handles, context.clone(), tx));
    PageFeed { context, snapshots }
}

/// What the feed remembers between polls.
#[derive(Default)]
struct FeedState {
    pages: HashMap<EventId, Arc<ProposalPage>>,
    /// When each page was last built, and how long that took.
    built: HashMap<EventId, (Instant, Duration)>,
    /// Zap request content per receipt id, for every receipt shown.
    comments: HashMap<EventId, String>,
    header: Header,
    version: u64,
}

async fn run(handles: ServiceHandles, context: Arc<PageContext>, tx: watch::Sender<Arc<Snapshot>>) {
    let mut state = FeedState::default();
    let mut poll = actix_rt::time::interval(POLL_EVERY);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut header_at: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = poll.tick() => {}
            _ = tx.closed() => return,
        }
        let mut changed = false;
        if header_at.is_none_or(|at| at.elapsed() >= HEADER_EVERY) {
            header_at = Some(Instant::now());
            let header = collect_header(&handles).await;
            if header != state.header {
                state.header = header;
                changed = true;
            }
        }
        changed |= refresh_proposals(&handles, &context, &mut state).await;
        if changed || state.version == 0 {
            state.version += 1;
            let snapshot = Snapshot::new(
                state.version,
                state.header.clone(),
                state.pages.values().cloned().collect(),
            );
            tx.send_replace(Arc::new(snapshot));
        }
    }
}

/// Whether the page of `change` must be built again now.
fn is_due(
    change: &ProposalChange,
    page: Option<&ProposalPage>,
    built: Option<&(Instant, Duration)>,
    now: u64,
) -> bool {
    let (Some(page), Some(&(at, took))) = (page, built) else {
        return true;
    };
    let age = at.elapsed();
    if age < took.saturating_mul(5) {
        return false;
    }
    page.receipts_seen != change.receipts_seen
        || page.published != change.published
        || page.revealed_keys() != change.revealed_keys
        // The window closed since: the tally's moment stops at `end` and it becomes final.
        || (!page.tally.is_final && now > change.window_end)
        || (now <= change.window_end && age >= RECOMPUTE_EVERY)
}

/// Rebuilds the pages that are due; drops those of proposals no longer tracked. Whether
/// anything changed.
async fn refresh_proposals(
    handles: &ServiceHandles,
    context: &PageContext,
    state: &mut FeedState,
) -> bool {
    let Some(changes) = handles.ask_votes(ProposalChanges).await.ok() else {
        return false;
    };
    let now = nostr_sdk::Timestamp::now().as_secs();
    let tracked: HashSet<EventId> = changes.iter().map(|c| c.id).collect();
    let before = state.pages.len();
    state.pages.retain(|id, _| tracked.contains(id));
    let mut changed = state.pages.len() != before;
    for change in changes {
        let due = is_due(
            &change,
            state.pages.get(&change.id).map(Arc::as_ref),
            state.built.get(&change.id),
            now,
        );
        if !due {
            continue;
        }
        let started = Instant::now();
        let Some(voters) = handles
            .ask_votes(GetProposalVoters(change.id))
            .await
            .ok()
            .flatten()
        else {
            continue;
        };
        let missing: Vec<EventId> = voters
            .receipts
            .iter()
            .filter_map(|mine| mine.last().map(|r| r.0))
            .filter(|id| !state.comments.contains_key(id))
            .collect();
        if !missing.is_empty() {
            match zap_comments(&handles.db, &missing).await {
                Ok(found) => state.comments.extend(found),
                Err(e) => tracing::debug!(error = %e, "cannot read zap comments; shown without"),
            }
        }
        let comments = std::mem::take(&mut state.comments);
        let relays = context.relays.clone();
        let built = actix_web::rt::task::spawn_blocking(move || {
            let page = ProposalPage::build(voters, &comments, &relays);
            (page, comments)
        })
        .await;
        let Ok((page, comments)) = built else {
            tracing::warn!(proposal = %change.id, "building a proposal page failed");
            continue;
        };
        state.comments = comments;
        state.pages.insert(change.id, Arc::new(page));
        state
            .built
            .insert(change.id, (Instant::now(), started.elapsed()));
        changed = true;
    }
    changed
}

/// The header: relays and bots asked of their actors, the database from the last probe
/// (`commons_database_up`, probed every 2 s), the audit head from the audit actor.
async fn collect_header(handles: &ServiceHandles) -> Header {
    let relays = health::relay_health(handles).await;
    let bots = health::bot_health(handles).await;
    let database_ok = handles.metrics.database_up.get() == 1;
    let audit = handles
        .audit
        .send(ToChild {
            name: audit_head::CHILD_NAME.to_owned(),
            msg: GetHead,
        })
        .await
        .ok()
        .and_then(Result::ok)
        .map(|summary| (summary.head, summary.entries));
    Header {
        healthy: health::is_healthy(&relays, database_ok, &bots),
        database_ok,
        relays: relays.into_iter().map(|r| (r.url, r.state)).collect(),
        bots_down: bots
            .into_iter()
            .filter(|b| !b.running)
            .map(|b| b.name)
            .collect(),
        audit,
    }
}
