//! The append-only audit log: persistence, and nothing else.
//!
//! Every governance action the service takes is appended here as one entry: an `entry_type`
//! (the action's name) and the entry itself as *canonical* JSON (object keys sorted, no
//! insignificant whitespace), so the same entry always has the same bytes. The entry's Merkle
//! leaf is [`merkle::leaf_hash`] of those bytes (RFC 9162: `SHA-256(0x00 || entry_json)`), stored
//! as hex next to it. The [`crate::actors::audit_head::AuditHeadActor`] keeps the tree in memory
//! ([`MerkleLog`]) and publishes its root; this module only reads and writes rows.
//!
//! # Positions, and several servers on one database
//!
//! An entry's position is its 0-based leaf index: the next position is one past the highest
//! stored. Two servers sharing a PostgreSQL database may both try to take the same position;
//! the `UNIQUE` index on `position` lets exactly one of them commit, and the other retries with
//! the next one ([`append`]). On SQLite the append transaction takes the write lock first
//! ([`db::begin_write`]), so appends are serialised outright. Either way the committed
//! positions are always `0..n` without gaps: an entry is only ever placed right after one that
//! was already committed when its transaction read the highest position.
//!
//! An append also returns the leaves other writers added since the caller last looked
//! (`known` in [`append`]), read in the same transaction, so the caller's tree never misses an
//! entry and never has to ask twice.

use std::time::Duration;

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, SqlErr,
};
use serde_json::Value;

use crate::audit::merkle::{self, Digest, MerkleLog};
use crate::store::db;
use crate::store::entities::audit_log_entry;

/// How often an append is tried when other writers keep taking the position first.
const APPEND_ATTEMPTS: u32 = 16;

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// The 0-based leaf index.
    pub position: u64,
    pub entry_type: String,
    /// The canonical JSON the leaf hash is taken over.
    pub entry_json: String,
    pub leaf: Digest,
    /// Unix seconds.
    pub created_at: i64,
}

/// What [`append`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub entry: StoredEntry,
    /// The leaves at positions `known..entry.position`, appended by other writers since the
    /// caller last looked, in order.
    pub missed: Vec<Digest>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuditLogError {
    #[error("audit log database: {0}")]
    Database(#[from] DbErr),
    #[error("audit log entry at position {position} is corrupt: {reason}")]
    Corrupt { position: i64, reason: String },
    #[error("could not take a position in the audit log after {attempts} attempts (other writers kept taking it)")]
    Contended { attempts: u32 },
    #[error("the caller knows {known} entries but the audit log holds only {stored}")]
    AheadOfLog { known: u64, stored: u64 },
}

/// Renders `value` as canonical JSON: object keys sorted (recursively), compact.
///
/// serde_json's default map is already ordered, but a dependency enabling its
/// `preserve_order` feature would silently change that; sorting here keeps leaf hashes stable
/// whatever the feature set.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for key in keys {
                    if let Some(v) = map.get(key) {
                        out.insert(key.clone(), sorted(v));
                    }
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// Appends an entry at the next free position, in one transaction, retrying when another
/// writer took that position first. `known` is how many entries the caller already holds; the
/// leaves between it and the new entry come back in [`Appended::missed`].
pub async fn append(
    db: &DatabaseConnection,
    entry_type: &str,
    entry: &Value,
    known: u64,
) -> Result<Appended, AuditLogError> {
    let entry_json = canonical_json(entry);
    let leaf = merkle::leaf_hash(entry_json.as_bytes());
    for attempt in 1..=APPEND_ATTEMPTS {
        let attempt_once = {
            let (db, entry_type, entry_json) =
                (db.clone(), entry_type.to_owned(), entry_json.clone());
            async move { try_append(&db, &entry_type, &entry_json, &leaf, known).await }
        };
        // A task of its own: the audit-head actor awaits this atomically (see `db::detached`).
        match db::detached(attempt_once).await {
            Err(AuditLogError::Database(e)) if is_position_taken(&e) => {
                tracing::debug!(
                    attempt,
                    error = %e,
                    "audit log position taken by another writer; retrying"
                );
                // A little jitter so two servers that collided do not collide again.
                let pause = rand::random::<u64>() % (5 * u64::from(attempt)) + 1;
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            other => return other,
        }
    }
    Err(AuditLogError::Contended {
        attempts: APPEND_ATTEMPTS,
    })
}

fn is_position_taken(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

async fn try_append(
    db: &DatabaseConnection,
    entry_type: &str,
    entry_json: &str,
    leaf: &Digest,
    known: u64,
) -> Result<Appended, AuditLogError> {
    let txn = db::begin_write(db).await?;
    let last: Option<i64> = audit_log_entry::Entity::find()
        .select_only()
        .column(audit_log_entry::Column::Position)
        .order_by_desc(audit_log_entry::Column::Position)
        .into_tuple()
        .one(&txn)
        .await?;
    let position = match last {
        None => 0,
        Some(p) => p
            .checked_add(1)
            .filter(|p| *p > 0)
            .ok_or_else(|| AuditLogError::Corrupt {
                position: p,
                reason: "position out of range".into(),
            })?,
    };
    let stored = u64::try_from(position).unwrap_or(0);
    if known > stored {
        return Err(AuditLogError::AheadOfLog { known, stored });
    }
    let missed = leaves_in(&txn, known, Some(stored)).await?;
    let created_at = chrono::Utc::now().timestamp();
    audit_log_entry::Entity::insert(audit_log_entry::ActiveModel {
        position: Set(position),
        entry_type: Set(entry_type.to_string()),
        entry_json: Set(entry_json.to_string()),
        leaf_hash: Set(leaf.to_string()),
        created_at: Set(created_at),
        ..Default::default()
    })
    .exec(&txn)
    .await?;
    txn.commit().await?;
    Ok(Appended {
        entry: StoredEntry {
            position: stored,
            entry_type: entry_type.to_string(),
            entry_json: entry_json.to_string(),
            leaf: *leaf,
            created_at,
        },
        missed,
    })
}

/// Every leaf hash in the log, in order: the start-up state of the Merkle tree.
pub async fn load_log(db: &impl ConnectionTrait) -> Result<MerkleLog, AuditLogError> {
    Ok(MerkleLog::from_leaves(leaves_in(db, 0, None).await?))
}

/// The leaves at positions `from..until` (`until` open: to the end), checked to be exactly those
/// positions, in order.
pub async fn leaves_in(
    db: &impl ConnectionTrait,
    from: u64,
    until: Option<u64>,
) -> Result<Vec<Digest>, AuditLogError> {
    let from_i = to_position(from)?;
    let mut query = audit_log_entry::Entity::find()
        .select_only()
        .column(audit_log_entry::Column::Position)
        .column(audit_log_entry::Column::LeafHash)
        .filter(audit_log_entry::Column::Position.gte(from_i))
        .order_by_asc(audit_log_entry::Column::Position);
    if let Some(until) = until {
        query = query.filter(audit_log_entry::Column::Position.lt(to_position(until)?));
    }
    let rows: Vec<(i64, String)> = query.into_tuple().all(db).await?;
    let mut leaves = Vec::with_capacity(rows.len());
    for (expected, (position, hex)) in (from_i..).zip(rows) {
        if position != expected {
            return Err(AuditLogError::Corrupt {
                position: expected,
                reason: format!("missing (the next stored position is {position})"),
            });
        }
        let leaf = hex.parse::<Digest>().map_err(|e| AuditLogError::Corrupt {
            position,
            reason: format!("leaf hash: {e}"),
        })?;
        leaves.push(leaf);
    }
    if let Some(until) = until {
        let got = from + leaves.len() as u64;
        if got != until {
            return Err(AuditLogError::Corrupt {
                position: to_position(got)?,
                reason: "missing".into(),
            });
        }
    }
    Ok(leaves)
}

/// The newest entry of `entry_type` (the last merge, for the health event), if any.
pub async fn latest_of_type(
    db: &impl ConnectionTrait,
    entry_type: &str,
) -> Result<Option<StoredEntry>, AuditLogError> {
    let row = audit_log_entry::Entity::find()
        .filter(audit_log_entry::Column::EntryType.eq(entry_type))
        .order_by_desc(audit_log_entry::Column::Position)
        .one(db)
        .await?;
    row.map(stored_entry).transpose()
}

/// Every entry, in order (for tests and for a verifier holding the database).
pub async fn all_entries(db: &impl ConnectionTrait) -> Result<Vec<StoredEntry>, AuditLogError> {
    audit_log_entry::Entity::find()
        .order_by_asc(audit_log_entry::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(stored_entry)
        .collect()
}

fn stored_entry(row: audit_log_entry::Model) -> Result<StoredEntry, AuditLogError> {
    let corrupt = |reason: String| AuditLogError::Corrupt {
        position: row.position,
        reason,
    };
    let leaf = row
        .leaf_hash
        .parse::<Digest>()
        .map_err(|e| corrupt(format!("leaf hash: {e}")))?;
    if merkle::leaf_hash(row.entry_json.as_bytes()) != leaf {
        return Err(corrupt("leaf hash does not match the entry".into()));
    }
    let position = u64::try_from(row.position).map_err(|_| corrupt("negative position".into()))?;
    Ok(StoredEntry {
        position,
        entry_type: row.entry_type,
        entry_json: row.entry_json,
        leaf,
        created_at: row.created_at,
    })
}

fn to_position(n: u64) -> Result<i64, AuditLogError> {
    i64::try_from(n).map_err(|_| AuditLogError::Corrupt {
        position: i64::MAX,
        reason: format!("position {n} out of range"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_is_compact() {
        let a = json!({"b": 1, "a": {"z": [ {"y": 2, "x": 1} ], "c": null}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"c":null,"z":[{"x":1,"y":2}]},"b":1}"#
        );
        let b: Value =
            serde_json::from_str(r#"{ "a" : {"z":[{"x":1,"y":2}], "c":null}, "b":1 }"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
    }

    async fn memory_db() -> DatabaseConnection {
        let db = db::connect("sqlite::memory:").await.unwrap();
        db::migrate(&db).await.unwrap();
        db
    }

    #[actix_rt::test]
    async fn appends_take_consecutive_positions_and_reload_as_the_same_tree() {
        let db = memory_db().await;
        let mut log = MerkleLog::new();
        for i in 0..5u64 {
            let appended = append(&db, "merge", &json!({"pr": i}), log.len() as u64)
                .await
                .unwrap();
            assert_eq!(appended.entry.position, i);
            assert!(appended.missed.is_empty());
            assert_eq!(
                appended.entry.leaf,
                merkle::leaf_hash(format!(r#"{{"pr":{i}}}"#).as_bytes())
            );
            log.push(appended.entry.leaf);
        }
        let reloaded = load_log(&db).await.unwrap();
        assert_eq!(reloaded.root(), log.root());
        assert_eq!(reloaded.len(), 5);
        let all = all_entries(&db).await.unwrap();
        assert_eq!(all.len(), 5);
        assert_eq!(all[3].entry_json, r#"{"pr":3}"#);
    }

    #[actix_rt::test]
    async fn an_append_returns_the_leaves_another_writer_added() {
        let db = memory_db().await;
        for i in 0..3 {
            append(&db, "merge", &json!({"other": i}), 0).await.unwrap();
        }
        let appended = append(&db, "fork", &json!({"mine": true}), 1)
            .await
            .unwrap();
        assert_eq!(appended.entry.position, 3);
        assert_eq!(appended.missed.len(), 2);
        let all = all_entries(&db).await.unwrap();
        assert_eq!(appended.missed, vec![all[1].leaf, all[2].leaf]);
        assert!(matches!(
            append(&db, "x", &json!({}), 9).await,
            Err(AuditLogError::AheadOfLog {
                known: 9,
                stored: 4
            })
        ));
    }

    #[actix_rt::test]
    async fn latest_of_type_finds_the_newest_and_checks_its_leaf() {
        let db = memory_db().await;
        assert!(latest_of_type(&db, "merge").await.unwrap().is_none());
        append(&db, "merge", &json!({"pr": 1}), 0).await.unwrap();
        append(&db, "fork", &json!({"x": 1}), 0).await.unwrap();
        append(&db, "merge", &json!({"pr": 2}), 0).await.unwrap();
        let last = latest_of_type(&db, "merge").await.unwrap().unwrap();
        assert_eq!(last.position, 2);
        assert_eq!(last.entry_json, r#"{"pr":2}"#);
    }
}
