//! The receipt feed: every zap receipt recorded in a shared PostgreSQL database, whichever
//! server recorded it, read by each server's vote aggregator (DESIGN.md "Several servers on one
//! database").
//!
//! # Learning of new rows
//!
//! [`crate::store::zap_ledger::record_in`] ends every transaction that recorded a receipt with
//! `NOTIFY` on [`CHANNEL`]; PostgreSQL delivers it to every listening connection at commit.
//! Each server listens ([`listen`]) and reads on every notification, and also reads every
//! `governance.receipt_poll_secs` whatever happened: a notification sent while the listening
//! connection was down is lost, and the poll is what makes a missed one cost seconds, not a
//! receipt. SQLite serves one server: it has no feed (its own tracker tells its aggregator).
//!
//! # Never skipping a row: a cursor on transaction ids, not on `id`
//!
//! `zap_receipts.id` comes from a sequence, and sequence values are handed out when a row is
//! inserted but become visible when its transaction commits: a transaction that took id 7 can
//! commit after one that took id 8. A reader that remembered "the highest id seen" and asked
//! for `id > 8` would never see 7. So the feed does not order by id. Every row carries the id
//! of the transaction that recorded it (`recorded_txid`, a column default of `txid_current()`),
//! and the reader keeps a [`FeedCursor`]: a *floor* transaction id, and the receipts it has
//! taken at or above it. Each read
//!
//! 1. first asks for the *horizon* ([`horizon`]): the `xmin` of a fresh snapshot, below which
//!    every transaction has ended (committed or rolled back) and no new one can start;
//! 2. then reads every row with `recorded_txid >= floor` ([`read`]);
//! 3. takes the rows it has not taken yet, and raises the floor to the horizon, forgetting the
//!    rows below it.
//!
//! A row that step 2 did not see was written by a transaction still running when step 2's
//! snapshot was taken; that transaction was running at step 1 too, or started after it: either
//! way its id is at least the horizon, so the next read (from the new floor) asks for it again,
//! and reads it once committed. A row below the floor was visible to an earlier read, which
//! took it. So no committed row is ever skipped, and none is taken twice. The rows kept between
//! reads are only those of transactions at or above the horizon: normally the last fraction of
//! a second. (A transaction left open for long anywhere on the PostgreSQL cluster holds the
//! horizon back; reads then take longer, never fewer rows.)
//!
//! The aggregator takes its first floor *before* it loads every receipt at start, so what the
//! load missed the feed reads.

use std::collections::HashMap;

use nostr_sdk::EventId;
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, Statement,
};

use crate::nostr::nip57::Anomalies;
use crate::store::vote_ledger::ReceiptRow;
use crate::votes::Contribution;

/// The `LISTEN`/`NOTIFY` channel announcing newly recorded receipts.
pub const CHANNEL: &str = "commons_zap_receipts";

/// One receipt read from the feed.
#[derive(Debug, Clone)]
pub struct FeedRow {
    /// The transaction that recorded it (`recorded_txid`).
    pub txid: i64,
    /// The `server.id` that recorded it, when the row says.
    pub recorded_by: Option<String>,
    pub contribution: Contribution,
    /// The checks it failed (rules 4 and 7), for the tally's `anomalies`.
    pub anomalies: Anomalies,
}

/// Where a reader stands: see the module doc.
#[derive(Debug, Clone)]
pub struct FeedCursor {
    floor: i64,
    /// Receipts taken whose transaction id is at or above `floor`, with that id.
    taken: HashMap<EventId, i64>,
}

impl FeedCursor {
    /// A cursor that will read every row of a transaction at or above `floor` (a [`horizon`]).
    pub fn new(floor: i64) -> FeedCursor {
        FeedCursor {
            floor,
            taken: HashMap::new(),
        }
    }

    /// The lowest transaction id the next [`read`] must ask for.
    pub fn floor(&self) -> i64 {
        self.floor
    }

    /// How many receipts are remembered above the floor.
    pub fn remembered(&self) -> usize {
        self.taken.len()
    }

    /// Takes one read: `rows` as [`read`] gave them from [`Self::floor`], `horizon` as
    /// [`horizon`] gave it *before* that read. Returns the rows not taken before, in order.
    pub fn advance(&mut self, horizon: i64, rows: Vec<FeedRow>) -> Vec<FeedRow> {
        let mut fresh = Vec::new();
        for row in rows {
            if row.txid < self.floor || self.taken.contains_key(&row.contribution.receipt_id) {
                continue;
            }
            self.taken.insert(row.contribution.receipt_id, row.txid);
            fresh.push(row);
        }
        self.floor = self.floor.max(horizon);
        let floor = self.floor;
        self.taken.retain(|_, txid| *txid >= floor);
        fresh
    }
}

/// The oldest transaction id that may still be running: every transaction below it has ended.
/// PostgreSQL only.
pub async fn horizon(db: &DatabaseConnection) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT txid_snapshot_xmin(txid_current_snapshot()) AS horizon",
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("no snapshot horizon returned".into()))?;
    row.try_get::<i64>("", "horizon")
}

/// Every receipt recorded by a transaction at or above `floor`, in id order. PostgreSQL only.
/// A row that cannot be read back (which the ledger never writes) is logged and left out.
pub async fn read(db: &DatabaseConnection, floor: i64) -> Result<Vec<FeedRow>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT recorded_txid, recorded_by, receipt_id, sender_pubkey, recipient_pubkey, \
             zapper_pubkey, amount_msat, zapped_event_id, zapped_address, poll_option, \
             zap_request_content, receipt_created_at, anomalies, private_zap \
             FROM zap_receipts WHERE recorded_txid >= $1 ORDER BY id",
            [floor.into()],
        ))
        .await?;
    let mut feed = Vec::with_capacity(rows.len());
    for row in rows {
        let receipt = ReceiptRow {
            receipt_id: row.try_get("", "receipt_id")?,
            sender: row.try_get("", "sender_pubkey")?,
            recipient: row.try_get("", "recipient_pubkey")?,
            zapper: row.try_get("", "zapper_pubkey")?,
            amount_msat: row.try_get("", "amount_msat")?,
            zapped_event_id: row.try_get("", "zapped_event_id")?,
            zapped_address: row.try_get("", "zapped_address")?,
            poll_option: row.try_get("", "poll_option")?,
            content: row.try_get("", "zap_request_content")?,
            created_at: row.try_get("", "receipt_created_at")?,
            private_zap: row.try_get("", "private_zap")?,
        };
        let receipt_id = receipt.receipt_id.clone();
        let Some(contribution) = receipt.contribution() else {
            tracing::error!(receipt = %receipt_id, "unreadable zap_receipts row; left out of tallies");
            continue;
        };
        let anomalies_text: String = row.try_get("", "anomalies")?;
        let anomalies = Anomalies::parse(&anomalies_text).unwrap_or_else(|e| {
            tracing::warn!(receipt = %receipt_id, error = %e, "unreadable anomalies column");
            Anomalies::default()
        });
        feed.push(FeedRow {
            txid: row.try_get("", "recorded_txid")?,
            recorded_by: row.try_get("", "recorded_by")?,
            contribution,
            anomalies,
        });
    }
    Ok(feed)
}

/// Announces, at the commit of `txn`, that receipts were recorded. Nothing on SQLite.
pub async fn notify(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared(&format!("NOTIFY {CHANNEL}")).await?;
    }
    Ok(())
}

/// A connection of its own (from the pool's settings) listening on [`CHANNEL`]. PostgreSQL
/// only: `None` on SQLite.
pub async fn listen(db: &DatabaseConnection) -> Option<Result<ReceiptListener, DbErr>> {
    if db.get_database_backend() != DbBackend::Postgres {
        return None;
    }
    let listening = async {
        let mut listener = PgListener::connect_with(db.get_postgres_connection_pool()).await?;
        listener.listen(CHANNEL).await?;
        Ok::<_, sea_orm::sqlx::Error>(ReceiptListener(Some(listener)))
    };
    Some(
        listening
            .await
            .map_err(|e| DbErr::Custom(format!("listening for new receipts: {e}"))),
    )
}

/// The listening connection of [`listen`].
pub struct ReceiptListener(Option<PgListener>);

impl ReceiptListener {
    /// Waits for the next announcement. `Ok(false)`: the connection was lost (announcements
    /// meanwhile are lost too: read now) and is made again on the next call.
    pub async fn next(&mut self) -> Result<bool, DbErr> {
        let Some(listener) = self.0.as_mut() else {
            return Err(DbErr::Custom("the receipt listener was closed".into()));
        };
        listener
            .try_recv()
            .await
            .map(|notification| notification.is_some())
            .map_err(|e| DbErr::Custom(format!("receiving receipt notifications: {e}")))
    }
}

impl Drop for ReceiptListener {
    /// sqlx's listener hands its connection back to the pool on a task it spawns when dropped,
    /// which panics outside a Tokio runtime (a server whose runtime is torn down without a
    /// graceful stop). Then the connection is left to the process's end instead.
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            if let Some(listener) = self.0.take() {
                std::mem::forget(listener);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nostr_sdk::Keys;

    fn row(txid: i64, n: u8) -> FeedRow {
        let key = Keys::generate().public_key();
        FeedRow {
            txid,
            recorded_by: None,
            contribution: Contribution {
                receipt_id: EventId::from_byte_array([n; 32]),
                sender: key,
                recipient: key,
                zapper: key,
                amount_msat: 1_000,
                created_at: 1,
                event: None,
                address: None,
                keyword: None,
                poll_option: None,
                ballot: None,
                private_zap: false,
            },
            anomalies: Anomalies::default(),
        }
    }

    fn ids(rows: &[FeedRow]) -> Vec<u8> {
        rows.iter()
            .map(|r| r.contribution.receipt_id.as_bytes()[0])
            .collect()
    }

    #[test]
    fn a_row_committed_after_a_newer_one_is_still_taken() {
        let mut cursor = FeedCursor::new(100);
        // Transaction 101 is still running (horizon 101): 102 is visible, 101 is not.
        let first = cursor.advance(101, vec![row(102, 2)]);
        assert_eq!(ids(&first), [2]);
        assert_eq!(cursor.floor(), 101);
        // 101 commits; both are read again from the floor; only 101 is new.
        let second = cursor.advance(103, vec![row(101, 1), row(102, 2)]);
        assert_eq!(ids(&second), [1]);
        assert_eq!(cursor.floor(), 103);
        assert_eq!(
            cursor.remembered(),
            0,
            "rows below the horizon are forgotten"
        );
    }

    #[test]
    fn rows_are_taken_once_and_the_floor_never_goes_back() {
        let mut cursor = FeedCursor::new(10);
        assert_eq!(
            ids(&cursor.advance(10, vec![row(10, 1), row(11, 2)])),
            [1, 2]
        );
        assert_eq!(
            ids(&cursor.advance(12, vec![row(10, 1), row(11, 2)])),
            Vec::<u8>::new()
        );
        assert_eq!(ids(&cursor.advance(5, vec![row(12, 3)])), [3]);
        assert_eq!(cursor.floor(), 12);
        assert_eq!(cursor.remembered(), 1);
    }
}
