//! The durable outbox: nothing the governance system announces may be lost.
//!
//! An event is signed once and committed to the database, with one delivery row per relay,
//! *before* any relay sees it ([`Outbox::publish`]). Each [`crate::actors::relay::RelayActor`]
//! then owns the deliveries for its relay: it sends new entries as they are announced, and on
//! every (re)connect it drains whatever is still pending for it from the database. A delivery
//! ends when the relay acknowledges the event (`accepted`, or `duplicate`: relays dedupe by id)
//! or refuses it for good (`refused`, with the relay's reason kept); a timeout, a disconnect or a
//! transient refusal (`rate-limited:`, `auth-required:`, `error:`) leaves it pending, to be sent
//! again. Delivery is therefore at-least-once, which is right for Nostr: an event id is a hash of
//! its content, so a resend can never become a second, different event.
//!
//! After a crash nothing is re-signed: the pending rows hold the exact signed JSON.
//!
//! # Several servers on one database: leases
//!
//! Every server sharing a database runs its own relay actors, and any of them can send any
//! pending delivery: the rows hold the signed event, not who signed it. To keep two live servers
//! from both sending everything, and still let a live server take over what a dead one left, a
//! pending delivery is *claimed* ([`Lease`]): `claimed_by` is a `server.id` and `lease_until`
//! the unix second its claim ends. The server that enqueues an event claims its deliveries; a
//! drain ([`claim_pending`]) takes only rows that are unclaimed, its own, or whose lease has
//! run out, and renews the lease on what it takes. Relay actors drain on every (re)connect and
//! sweep every half lease, so a dead server's deliveries are sent by another one within about
//! `outbox.lease_secs` and a half. A claim is a courtesy, not a lock: if a slow server sends a
//! delivery another has taken over, the relay gets the same event twice, which Nostr makes
//! harmless, and the first final answer recorded stands.
//! # Retention
//!
//! A delivered event is of no more use to the outbox, so a background task ([`start_pruner`],
//! every [`PRUNE_EVERY`]) deletes the events enqueued more than `outbox.retention_days` ago
//! whose every delivery has ended (accepted, duplicate or refused), with their delivery rows,
//! [`PRUNE_BATCH`] events per transaction so a large backlog never holds the write lock for
//! long. Never pruned: an event still pending on any relay, and the newest event of each
//! (author, kind), which [`latest_by`] compares with to publish a profile or a relay list only
//! when it changed. Nothing outside the outbox is touched: the audit log, the zap ledger,
//! proposals, contributions and votes (what a verifier needs) are kept for ever.

use std::sync::Arc;
use std::time::Duration;

use nostr_sdk::{Event, JsonUtil, Kind, PublicKey, RelayUrl};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

use crate::metrics::Metrics;
use crate::store::db;
use crate::store::entities::outbox_delivery::{self, DeliveryState};
use crate::store::entities::outbox_event;

/// A signed event waiting in (or delivered from) the outbox.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    /// The `outbox_events` row id: deliveries are drained in this order.
    pub id: i64,
    pub event: Arc<Event>,
}

/// How a relay answered one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Accepted,
    /// The relay already had the event (`OK true "duplicate: ..."`).
    Duplicate,
    /// Refused for good (`invalid:`, `blocked:`, `pow:`, `restricted:`...), with the message.
    Refused(String),
    /// Not answered or refused for now (timeout, disconnect, `rate-limited:`): stays pending.
    Failed(String),
}

impl DeliveryOutcome {
    /// Classifies a relay's `OK` answer by NIP-01's machine-readable prefixes.
    pub fn from_ok(accepted: bool, message: &str) -> DeliveryOutcome {
        let prefix = message.split(':').next().unwrap_or("").trim();
        match (accepted, prefix) {
            (true, "duplicate") => DeliveryOutcome::Duplicate,
            (true, _) => DeliveryOutcome::Accepted,
            (false, "duplicate") => DeliveryOutcome::Duplicate,
            (false, "rate-limited" | "auth-required" | "error") => {
                DeliveryOutcome::Failed(message.to_string())
            }
            (false, _) => DeliveryOutcome::Refused(message.to_string()),
        }
    }

    /// The state stored in `outbox_deliveries.state`.
    pub fn state(&self) -> DeliveryState {
        match self {
            DeliveryOutcome::Accepted => DeliveryState::Accepted,
            DeliveryOutcome::Duplicate => DeliveryState::Duplicate,
            DeliveryOutcome::Refused(_) => DeliveryState::Refused,
            DeliveryOutcome::Failed(_) => DeliveryState::Pending,
        }
    }

    /// The label used in metrics.
    pub fn label(&self) -> &'static str {
        match self {
            DeliveryOutcome::Accepted => "accepted",
            DeliveryOutcome::Duplicate => "duplicate",
            DeliveryOutcome::Refused(_) => "refused",
            DeliveryOutcome::Failed(_) => "failed",
        }
    }

    pub fn is_final(&self) -> bool {
        !matches!(self, DeliveryOutcome::Failed(_))
    }
}

/// Who claims pending deliveries, and for how long (see the module doc).
#[derive(Debug, Clone)]
pub struct Lease {
    /// This server's `server.id`.
    pub holder: Arc<str>,
    /// `outbox.lease_secs`.
    pub duration: Duration,
}

impl Lease {
    pub fn new(holder: &str, duration: Duration) -> Lease {
        Lease {
            holder: Arc::from(holder),
            duration,
        }
    }

    /// The unix second a claim taken at `now` ends.
    fn until(&self, now: i64) -> i64 {
        now.saturating_add(i64::try_from(self.duration.as_secs()).unwrap_or(i64::MAX))
    }

    /// How often a relay actor looks for deliveries it may take over: half a lease.
    pub fn sweep_every(&self) -> Duration {
        (self.duration / 2).max(Duration::from_millis(500))
    }
}

/// Who is told of each entry once it is committed: the relay actors, which start delivering it
/// at once instead of at their next sweep. [`crate::startup`] builds it; the outbox knows
/// nothing of who listens, so the store never depends on an actor.
#[derive(Clone)]
pub struct OutboxWake(Arc<dyn Fn(OutboxEntry) + Send + Sync>);

impl OutboxWake {
    pub fn new(wake: impl Fn(OutboxEntry) + Send + Sync + 'static) -> OutboxWake {
        OutboxWake(Arc::new(wake))
    }

    fn wake(&self, entry: OutboxEntry) {
        (self.0)(entry)
    }
}

/// A cheap, clonable handle for putting signed events into the outbox and announcing them.
#[derive(Clone)]
pub struct Outbox {
    db: DatabaseConnection,
    relays: OutboxWake,
    relay_urls: Arc<Vec<RelayUrl>>,
    metrics: Arc<Metrics>,
    lease: Lease,
}

impl Outbox {
    pub fn new(
        db: DatabaseConnection,
        relays: OutboxWake,
        relay_urls: Vec<RelayUrl>,
        metrics: Arc<Metrics>,
        lease: Lease,
    ) -> Outbox {
        Outbox {
            db,
            relays,
            relay_urls: Arc::new(relay_urls),
            metrics,
            lease,
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Commits `event` with a pending delivery for every relay, then hands it to the relay
    /// actors. When this returns `Ok`, the event will reach every relay eventually, across
    /// crashes and restarts (of this server, or, sharing the database, by another server).
    /// When it fails nothing was committed and nothing will be sent.
    pub async fn publish(&self, event: Event, signer: &str) -> Result<OutboxEntry, DbErr> {
        let entry = enqueue(&self.db, &event, signer, &self.relay_urls, &self.lease)
            .await
            .inspect_err(|e| {
                self.metrics.database_error("outbox_enqueue");
                tracing::warn!(event_id = %event.id, error = %e, "cannot commit an event to the outbox");
            })?;
        self.metrics
            .outbox_depth
            .inc_by(i64::try_from(self.relay_urls.len()).unwrap_or(i64::MAX));
        self.relays.wake(entry.clone());
        Ok(entry)
    }
}

/// Inserts the event and one pending delivery per relay, claimed under `lease`, in one
/// transaction. Idempotent on the event id: enqueueing the same signed event again adds nothing.
/// The transaction runs as a task of its own ([`db::detached`]).
pub async fn enqueue(
    db: &DatabaseConnection,
    event: &Event,
    signer: &str,
    relays: &[RelayUrl],
    lease: &Lease,
) -> Result<OutboxEntry, DbErr> {
    let (db, event, signer, relays, lease) = (
        db.clone(),
        event.clone(),
        signer.to_owned(),
        relays.to_vec(),
        lease.clone(),
    );
    db::detached(async move { enqueue_now(&db, &event, &signer, &relays, &lease).await }).await
}

async fn enqueue_now(
    db: &DatabaseConnection,
    event: &Event,
    signer: &str,
    relays: &[RelayUrl],
    lease: &Lease,
) -> Result<OutboxEntry, DbErr> {
    let now = chrono::Utc::now().timestamp();
    let event_id = event.id.to_hex();
    let d_tag = event.tags.identifier().map(str::to_string);
    let txn = db.begin().await?;
    outbox_event::Entity::insert(outbox_event::ActiveModel {
        event_id: Set(event_id.clone()),
        kind: Set(i32::from(event.kind.as_u16())),
        author: Set(event.pubkey.to_hex()),
        signer: Set(signer.to_string()),
        d_tag: Set(d_tag),
        event_json: Set(event.as_json()),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([outbox_event::Column::EventId])
    .exec(&txn)
    .await?;
    let row = outbox_event::Entity::find()
        .filter(outbox_event::Column::EventId.eq(event_id))
        .one(&txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("outbox event just inserted".into()))?;
    if !relays.is_empty() {
        let deliveries = relays.iter().map(|url| outbox_delivery::ActiveModel {
            outbox_event_id: Set(row.id),
            relay_url: Set(url.to_string()),
            state: Set(DeliveryState::Pending),
            attempts: Set(0),
            last_error: Set(None),
            updated_at: Set(now),
            claimed_by: Set(Some(lease.holder.to_string())),
            lease_until: Set(Some(lease.until(now))),
            ..Default::default()
        });
        outbox_delivery::Entity::insert_many(deliveries)
            .on_conflict_do_nothing_on([
                outbox_delivery::Column::OutboxEventId,
                outbox_delivery::Column::RelayUrl,
            ])
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(OutboxEntry {
        id: row.id,
        event: Arc::new(event.clone()),
    })
}

/// Pending deliveries for `relay` that this server may send: unclaimed, claimed by it, or
/// whose lease has run out.
fn claimable(relay: &str, lease: &Lease, now: i64) -> sea_orm::Condition {
    use sea_orm::Condition;
    Condition::all()
        .add(outbox_delivery::Column::RelayUrl.eq(relay))
        .add(outbox_delivery::Column::State.eq(DeliveryState::Pending))
        .add(
            Condition::any()
                .add(outbox_delivery::Column::ClaimedBy.is_null())
                .add(outbox_delivery::Column::ClaimedBy.eq(lease.holder.as_ref()))
                .add(outbox_delivery::Column::LeaseUntil.is_null())
                .add(outbox_delivery::Column::LeaseUntil.lt(now)),
        )
}

/// Claims (or renews the claim on) the oldest pending deliveries for `relay` this server may
/// send, at most `limit`, and returns their events in outbox order. Two servers claiming at
/// once never both get a row: the claiming `UPDATE` re-checks the row's claim, so the second
/// one skips what the first just took.
pub async fn claim_pending(
    db: &impl ConnectionTrait,
    relay: &str,
    lease: &Lease,
    limit: u64,
) -> Result<Vec<OutboxEntry>, DbErr> {
    let now = chrono::Utc::now().timestamp();
    let candidates: Vec<i64> = outbox_delivery::Entity::find()
        .select_only()
        .column(outbox_delivery::Column::Id)
        .filter(claimable(relay, lease, now))
        .order_by_asc(outbox_delivery::Column::OutboxEventId)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    outbox_delivery::Entity::update_many()
        .col_expr(
            outbox_delivery::Column::ClaimedBy,
            Expr::value(lease.holder.to_string()),
        )
        .col_expr(
            outbox_delivery::Column::LeaseUntil,
            Expr::value(lease.until(now)),
        )
        .filter(outbox_delivery::Column::Id.is_in(candidates.iter().copied()))
        .filter(claimable(relay, lease, now))
        .exec(db)
        .await?;
    let ids: Vec<i64> = outbox_delivery::Entity::find()
        .select_only()
        .column(outbox_delivery::Column::OutboxEventId)
        .filter(outbox_delivery::Column::Id.is_in(candidates))
        .filter(outbox_delivery::Column::State.eq(DeliveryState::Pending))
        .filter(outbox_delivery::Column::ClaimedBy.eq(lease.holder.as_ref()))
        .order_by_asc(outbox_delivery::Column::OutboxEventId)
        .into_tuple()
        .all(db)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = outbox_event::Entity::find()
        .filter(outbox_event::Column::Id.is_in(ids))
        .order_by_asc(outbox_event::Column::Id)
        .all(db)
        .await?;
    let mut entries = Vec::with_capacity(rows.len());
    for row in rows {
        match Event::from_json(&row.event_json) {
            Ok(event) => entries.push(OutboxEntry {
                id: row.id,
                event: Arc::new(event),
            }),
            // Only this service writes the column; a row it cannot read is logged, not fatal.
            Err(e) => tracing::error!(outbox_id = row.id, error = %e, "unreadable outbox event"),
        }
    }
    Ok(entries)
}

/// Records a relay's answer to one delivery.
pub async fn record_outcome(
    db: &impl ConnectionTrait,
    outbox_id: i64,
    relay: &str,
    outcome: &DeliveryOutcome,
) -> Result<(), DbErr> {
    let error = match outcome {
        DeliveryOutcome::Refused(m) | DeliveryOutcome::Failed(m) => Some(m.clone()),
        _ => None,
    };
    outbox_delivery::Entity::update_many()
        .set(outbox_delivery::ActiveModel {
            state: Set(outcome.state()),
            last_error: Set(error),
            updated_at: Set(chrono::Utc::now().timestamp()),
            ..Default::default()
        })
        .col_expr(
            outbox_delivery::Column::Attempts,
            Expr::col(outbox_delivery::Column::Attempts).add(1),
        )
        .filter(outbox_delivery::Column::OutboxEventId.eq(outbox_id))
        .filter(outbox_delivery::Column::RelayUrl.eq(relay))
        .filter(outbox_delivery::Column::State.eq(DeliveryState::Pending))
        .exec(db)
        .await?;
    Ok(())
}

/// Deliveries not yet answered, over all relays.
pub async fn depth(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    outbox_delivery::Entity::find()
        .filter(outbox_delivery::Column::State.eq(DeliveryState::Pending))
        .count(db)
        .await
}

/// How often delivered events past their retention are pruned.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Events pruned per transaction, at most.
pub const PRUNE_BATCH: u64 = 500;

/// Deletes at most `limit` events enqueued before `created_before` (unix seconds) whose every
/// delivery has ended, with their delivery rows, in one transaction; returns how many (see
/// the module doc for what is never pruned).
pub async fn prune_delivered(
    db: &DatabaseConnection,
    created_before: i64,
    limit: u64,
) -> Result<u64, DbErr> {
    let txn = db::begin_write(db).await?;
    let still_pending = Query::select()
        .column(outbox_delivery::Column::OutboxEventId)
        .from(outbox_delivery::Entity)
        .and_where(outbox_delivery::Column::State.eq(DeliveryState::Pending))
        .to_owned();
    let newest_of_each = Query::select()
        .expr(Expr::col(outbox_event::Column::Id).max())
        .from(outbox_event::Entity)
        .group_by_columns([outbox_event::Column::Author, outbox_event::Column::Kind])
        .to_owned();
    let ids: Vec<i64> = outbox_event::Entity::find()
        .select_only()
        .column(outbox_event::Column::Id)
        .filter(outbox_event::Column::CreatedAt.lt(created_before))
        .filter(outbox_event::Column::Id.not_in_subquery(still_pending))
        .filter(outbox_event::Column::Id.not_in_subquery(newest_of_each))
        .order_by_asc(outbox_event::Column::Id)
        .limit(limit)
        .into_tuple()
        .all(&txn)
        .await?;
    if ids.is_empty() {
        txn.commit().await?;
        return Ok(0);
    }
    // Children first (the foreign key cascades too, but not every SQLite connection enforces
    // foreign keys).
    outbox_delivery::Entity::delete_many()
        .filter(outbox_delivery::Column::OutboxEventId.is_in(ids.iter().copied()))
        .exec(&txn)
        .await?;
    let deleted = outbox_event::Entity::delete_many()
        .filter(outbox_event::Column::Id.is_in(ids))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(deleted.rows_affected)
}

/// Prunes every delivered event older than `retention`, `batch` events per transaction, and
/// counts them in `outbox_pruned`. Returns how many.
pub async fn prune(
    db: &DatabaseConnection,
    retention: Duration,
    batch: u64,
    metrics: &Metrics,
) -> Result<u64, DbErr> {
    let batch = Ord::max(batch, 1);
    let retention = i64::try_from(retention.as_secs()).unwrap_or(i64::MAX);
    let created_before = chrono::Utc::now().timestamp().saturating_sub(retention);
    let mut total = 0;
    loop {
        let pruned = prune_delivered(db, created_before, batch).await?;
        metrics.outbox_pruned.inc_by(pruned);
        total += pruned;
        if pruned < batch {
            return Ok(total);
        }
        // Let other writers have the database between two batches.
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Starts the background task that prunes the outbox at once and then every [`PRUNE_EVERY`].
/// A failure is logged and tried again at the next tick. Abort the handle to stop it.
pub fn start_pruner(
    db: DatabaseConnection,
    retention_days: u32,
    metrics: Arc<Metrics>,
) -> actix_rt::task::JoinHandle<()> {
    let retention = Duration::from_secs(u64::from(retention_days) * 24 * 3600);
    actix_rt::spawn(async move {
        let mut ticks = actix_rt::time::interval(PRUNE_EVERY);
        loop {
            ticks.tick().await;
            match prune(&db, retention, PRUNE_BATCH, &metrics).await {
                Ok(0) => {}
                Ok(pruned) => {
                    tracing::info!(pruned, retention_days, "delivered outbox events pruned")
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot prune the outbox; trying again later")
                }
            }
        }
    })
}

/// The newest event of `kind` by `author` ever put in the outbox (to publish a profile or a
/// relay list only when it changed).
pub async fn latest_by(
    db: &impl ConnectionTrait,
    author: &PublicKey,
    kind: Kind,
) -> Result<Option<Event>, DbErr> {
    let row = outbox_event::Entity::find()
        .filter(outbox_event::Column::Author.eq(author.to_hex()))
        .filter(outbox_event::Column::Kind.eq(i32::from(kind.as_u16())))
        .order_by_desc(outbox_event::Column::Id)
        .one(db)
        .await?;
    Ok(row.and_then(|r| Event::from_json(&r.event_json).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ok_answers_are_classified_by_prefix() {
        assert_eq!(
            DeliveryOutcome::from_ok(true, ""),
            DeliveryOutcome::Accepted
        );
        assert_eq!(
            DeliveryOutcome::from_ok(true, "duplicate: already have this event"),
            DeliveryOutcome::Duplicate
        );
        assert!(matches!(
            DeliveryOutcome::from_ok(false, "invalid: bad signature"),
            DeliveryOutcome::Refused(m) if m == "invalid: bad signature"
        ));
        assert!(matches!(
            DeliveryOutcome::from_ok(false, "blocked: not on allow list"),
            DeliveryOutcome::Refused(_)
        ));
        for transient in [
            "rate-limited: slow down",
            "auth-required: who are you",
            "error: db",
        ] {
            let outcome = DeliveryOutcome::from_ok(false, transient);
            assert!(!outcome.is_final(), "{transient}");
            assert_eq!(outcome.state(), DeliveryState::Pending);
        }
    }
}
