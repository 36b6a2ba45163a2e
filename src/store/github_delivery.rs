//! GitHub webhook deliveries, each recorded once by its `X-GitHub-Delivery`, with what it led
//! to: the outcome, the HTTP answer given and the published event's id.
//!
//! GitHub sends a delivery again when someone presses "Redeliver", and a delivery can reach two
//! servers sharing one database. Neither may publish twice, and both must answer what the
//! first handling did. The unique index on `delivery_id` decides:
//!
//! - a delivery that publishes nothing (ignored, refused by the action rules, a ping) is
//!   written with its outcome in one insert ([`record`]); a second insert of the same id fails
//!   and the row already there is the answer;
//! - a delivery that publishes an action is *claimed* first ([`claim`]: a row with `outcome` =
//!   [`PROCESSING`]), then published, then finished with its outcome ([`finish`]). Whoever
//!   loses the claim reads the winner's row: finished, it is the answer; still processing, the
//!   loser waits for it ([`Claim::InProgress`]). A claim whose publication failed with nothing
//!   published is removed ([`release`]), so a redelivery tries again. A claim left processing
//!   for longer than `stale_after` (its server died half-way) may be taken over
//!   ([`Claim::TakenOver`]); the server taking it over first looks for the action event the
//!   interrupted attempt may have committed to the outbox ([`committed_since`]) and, finding
//!   it, records that instead of publishing again.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, SqlErr,
};

use crate::store::entities::github_delivery::{self, Model};
use crate::store::entities::outbox_event;

/// The outcome of a claimed delivery whose action is being published.
pub const PROCESSING: &str = "processing";

/// What a handled delivery led to; also the `outcome` label of the deliveries metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An action was published.
    Published,
    /// Nothing new: the action already existed (a second review period for a pull request),
    /// or this delivery was handled before.
    Duplicate,
    /// Nothing to do (another repository, an event or action that is not governance, a ping).
    Ignored,
    /// Refused: a bad signature or body, or an action the rules refuse.
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Published => "published",
            Outcome::Duplicate => "duplicate",
            Outcome::Ignored => "ignored",
            Outcome::Refused => "refused",
        }
    }
}

/// One delivery, as its headers name it.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// `X-GitHub-Delivery`.
    pub id: &'a str,
    /// `X-GitHub-Event`.
    pub event: &'a str,
    /// This server's `server.id`.
    pub server_id: &'a str,
}

/// The answer a delivery got, as it is stored and given again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub outcome: Outcome,
    pub status: u16,
    /// JSON.
    pub body: String,
    /// The published event's id (hex).
    pub event_id: Option<String>,
}

/// What [`claim`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This server holds the claim (row id): publish, then [`finish`] or [`release`].
    Taken(i64),
    /// This server took over a claim abandoned half-way (row id), first made at `since` (unix
    /// seconds): look for what it committed ([`committed_since`]) before publishing.
    TakenOver { row_id: i64, since: i64 },
    /// The delivery was handled before: its row is the answer.
    Handled(Model),
    /// Another server (or request) is publishing it right now.
    InProgress(Model),
}

fn is_taken(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// The row of `delivery_id`, if it was ever received.
pub async fn find(db: &impl ConnectionTrait, delivery_id: &str) -> Result<Option<Model>, DbErr> {
    github_delivery::Entity::find()
        .filter(github_delivery::Column::DeliveryId.eq(delivery_id))
        .one(db)
        .await
}

async fn existing(db: &impl ConnectionTrait, delivery_id: &str) -> Result<Model, DbErr> {
    find(db, delivery_id).await?.ok_or_else(|| {
        DbErr::RecordNotFound(format!("github delivery {delivery_id} after a conflict"))
    })
}

/// Records a delivery that publishes nothing, with its answer. `Ok(None)`: recorded;
/// `Ok(Some(row))`: the delivery was recorded before (this answer was not stored).
pub async fn record(
    db: &impl ConnectionTrait,
    delivery: Delivery<'_>,
    answer: &Answer,
    now: i64,
) -> Result<Option<Model>, DbErr> {
    let row = github_delivery::ActiveModel {
        delivery_id: Set(delivery.id.to_owned()),
        event: Set(delivery.event.to_owned()),
        outcome: Set(answer.outcome.as_str().to_owned()),
        status: Set(i32::from(answer.status)),
        answer: Set(answer.body.clone()),
        event_id: Set(answer.event_id.clone()),
        handled_by: Set(delivery.server_id.to_owned()),
        received_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    match row.insert(db).await {
        Ok(_) => Ok(None),
        Err(e) if is_taken(&e) => existing(db, delivery.id).await.map(Some),
        Err(e) => Err(e),
    }
}

/// Whether `row` is a claim still processing `stale_after` seconds after its last change: its
/// server died half-way.
pub fn is_abandoned(row: &Model, now: i64, stale_after: i64) -> bool {
    row.outcome == PROCESSING && row.updated_at < now.saturating_sub(stale_after)
}

/// Claims a delivery that will publish an action (see the module doc). A claim still
/// processing after `stale_after` seconds is taken over.
pub async fn claim(
    db: &impl ConnectionTrait,
    delivery: Delivery<'_>,
    now: i64,
    stale_after: i64,
) -> Result<Claim, DbErr> {
    let row = github_delivery::ActiveModel {
        delivery_id: Set(delivery.id.to_owned()),
        event: Set(delivery.event.to_owned()),
        outcome: Set(PROCESSING.to_owned()),
        status: Set(0),
        answer: Set(String::new()),
        event_id: Set(None),
        handled_by: Set(delivery.server_id.to_owned()),
        received_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let found = match row.insert(db).await {
        Ok(row) => return Ok(Claim::Taken(row.id)),
        Err(e) if is_taken(&e) => existing(db, delivery.id).await?,
        Err(e) => return Err(e),
    };
    if found.outcome != PROCESSING {
        return Ok(Claim::Handled(found));
    }
    if !is_abandoned(&found, now, stale_after) {
        return Ok(Claim::InProgress(found));
    }
    // Stale: take it over, unless someone else just did.
    let taken = github_delivery::Entity::update_many()
        .col_expr(
            github_delivery::Column::HandledBy,
            Expr::value(delivery.server_id.to_owned()),
        )
        .col_expr(github_delivery::Column::UpdatedAt, Expr::value(now))
        .filter(github_delivery::Column::Id.eq(found.id))
        .filter(github_delivery::Column::Outcome.eq(PROCESSING))
        .filter(github_delivery::Column::UpdatedAt.eq(found.updated_at))
        .exec(db)
        .await?;
    if taken.rows_affected == 1 {
        Ok(Claim::TakenOver {
            row_id: found.id,
            since: found.received_at,
        })
    } else {
        let now_found = existing(db, delivery.id).await?;
        Ok(if now_found.outcome == PROCESSING {
            Claim::InProgress(now_found)
        } else {
            Claim::Handled(now_found)
        })
    }
}

/// Writes the outcome of a claimed delivery.
pub async fn finish(
    db: &impl ConnectionTrait,
    row_id: i64,
    answer: &Answer,
    now: i64,
) -> Result<(), DbErr> {
    github_delivery::ActiveModel {
        id: Set(row_id),
        outcome: Set(answer.outcome.as_str().to_owned()),
        status: Set(i32::from(answer.status)),
        answer: Set(answer.body.clone()),
        event_id: Set(answer.event_id.clone()),
        updated_at: Set(now),
        ..Default::default()
    }
    .update(db)
    .await
    .map(drop)
}

/// Removes a claim whose action could not be published (nothing was), so that a redelivery
/// tries again.
pub async fn release(db: &impl ConnectionTrait, row_id: i64) -> Result<(), DbErr> {
    github_delivery::Entity::delete_many()
        .filter(github_delivery::Column::Id.eq(row_id))
        .filter(github_delivery::Column::Outcome.eq(PROCESSING))
        .exec(db)
        .await
        .map(drop)
}

/// The id (hex) of the newest event by `author` (hex) with `d` = `d_tag` committed to the
/// outbox at or after `since` (unix seconds), if any: what an interrupted attempt at a
/// delivery may have published before its server died.
pub async fn committed_since(
    db: &impl ConnectionTrait,
    author: &str,
    d_tag: &str,
    since: i64,
) -> Result<Option<String>, DbErr> {
    Ok(outbox_event::Entity::find()
        .filter(outbox_event::Column::Author.eq(author))
        .filter(outbox_event::Column::DTag.eq(d_tag))
        .filter(outbox_event::Column::CreatedAt.gte(since))
        .order_by_desc(outbox_event::Column::Id)
        .one(db)
        .await?
        .map(|row| row.event_id))
}
