//! The tally lease: which one of the servers sharing a database publishes the tallies.
//!
//! Every server counts every receipt (see [`crate::store::receipt_feed`]), but two servers
//! publishing tallies signed by the same gov key would race on every relay, each relay keeping
//! whichever came last. So one server at a time holds the lease, a `tally_leases` row: its
//! holder's `server.id` and the unix second the lease ends (it holds while `now` is before
//! that second). The holder renews it ([`hold`]) every third of the lease; any other server
//! takes it over from that second on. The clocks of the
//! servers are assumed to agree to within a fraction of the lease (the same assumption as the
//! outbox's delivery leases).
//!
//! Holding the lease is checked again, in the same transaction, when a tally's `created_at` is
//! chosen ([`claim_tally_time`]): strictly after the newest tally of that proposal any server
//! published (the proposal row's `tally_created_at`, the database's word, not a server's
//! memory). The row lock that update takes orders any two claims, so two tallies of one
//! proposal never share a `created_at`, even in the moment a lease changes hands.
//!
//! With SQLite there is one server: it takes the lease at start and keeps it.

use std::time::Duration;

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use crate::store::db;
use crate::store::entities::{governance_proposal, tally_lease};

/// The `tally_leases.name` of the tally publication lease.
pub const TALLIES: &str = "tallies";

/// Takes the lease for `holder` at `now` (unix seconds) for `duration`, or renews it if
/// `holder` has it. `false` when another server holds it and it has not lapsed.
pub async fn hold(
    db: &DatabaseConnection,
    holder: &str,
    now: i64,
    duration: Duration,
) -> Result<bool, DbErr> {
    let until = now.saturating_add(i64::try_from(duration.as_secs()).unwrap_or(i64::MAX));
    let mut upsert = Query::insert();
    upsert
        .into_table(tally_lease::Entity)
        .columns([
            tally_lease::Column::Name,
            tally_lease::Column::Holder,
            tally_lease::Column::LeaseUntil,
        ])
        .values([Expr::val(TALLIES), Expr::val(holder), Expr::val(until)])
        .map_err(|e| DbErr::Custom(format!("building the lease statement: {e}")))?
        .on_conflict(
            OnConflict::column(tally_lease::Column::Name)
                .update_columns([tally_lease::Column::Holder, tally_lease::Column::LeaseUntil])
                // Only our own lease, or one that has lapsed, is taken: otherwise the
                // statement changes nothing and returns no row.
                .action_and_where(
                    Expr::col((tally_lease::Entity, tally_lease::Column::Holder))
                        .eq(holder)
                        .or(
                            Expr::col((tally_lease::Entity, tally_lease::Column::LeaseUntil))
                                .lte(now),
                        ),
                )
                .to_owned(),
        )
        .returning_col(tally_lease::Column::Holder);
    let txn = db::begin_write(db).await?;
    let rows = txn.query_all(&upsert).await?;
    txn.commit().await?;
    Ok(!rows.is_empty())
}

/// The `created_at` of the next tally of the proposal in row `proposal_row`: `now`, or one
/// second after the newest tally of it any server published, whichever is later; recorded as
/// that proposal's newest at once. `None` (and nothing changed) when `holder` does not hold
/// the lease at `now`. The check locks the lease row until the claim commits, so the lease
/// cannot change hands in between.
pub async fn claim_tally_time(
    db: &DatabaseConnection,
    holder: &str,
    proposal_row: i64,
    now: i64,
) -> Result<Option<u64>, DbErr> {
    let txn = db::begin_write(db).await?;
    let held = txn
        .execute(
            Query::update()
                .table(tally_lease::Entity)
                // Changes nothing; the row lock is the point.
                .value(
                    tally_lease::Column::LeaseUntil,
                    Expr::col(tally_lease::Column::LeaseUntil),
                )
                .and_where(Expr::col(tally_lease::Column::Name).eq(TALLIES))
                .and_where(Expr::col(tally_lease::Column::Holder).eq(holder))
                .and_where(Expr::col(tally_lease::Column::LeaseUntil).gt(now)),
        )
        .await?
        .rows_affected();
    if held != 1 {
        return Ok(None); // dropping the transaction rolls it back
    }
    let last = Expr::col(governance_proposal::Column::TallyCreatedAt);
    let claimed = txn
        .query_one(
            Query::update()
                .table(governance_proposal::Entity)
                .value(
                    governance_proposal::Column::TallyCreatedAt,
                    Expr::case(
                        last.clone().is_not_null().and(last.clone().gte(now)),
                        last.add(1),
                    )
                    .finally(now),
                )
                .and_where(Expr::col(governance_proposal::Column::Id).eq(proposal_row))
                .returning_col(governance_proposal::Column::TallyCreatedAt),
        )
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("governance_proposals row {proposal_row}")))?
        .try_get::<i64>("", "tally_created_at")?;
    txn.commit().await?;
    Ok(Some(u64::try_from(claimed).unwrap_or(0)))
}
