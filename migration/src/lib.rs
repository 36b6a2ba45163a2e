//! The commons-nostr schema as sea-orm migrations.
//!
//! One file per concern, applied in name order:
//!
//! | migration | tables |
//! |---|---|
//! | [`m20261120_000100_create_outbox`] | `outbox_events`, `outbox_deliveries` |
//! | [`m20261120_000200_create_zaps`] | `zap_receipts`, `rejected_receipts` |
//! | [`m20261120_000300_create_governance`] | `governance_proposals`, `contributions`, `proposal_zap_votes` |
//! | [`m20261120_000400_create_audit_log`] | `audit_log` |
//! | [`m20261120_000500_create_relay_cursors`] | `relay_cursors` |
//! | [`m20261202_000600_proposal_rules_and_tallies`] | `governance_proposals`: pinned rules, last tally |
//! | [`m20261202_000700_create_junk_receipt_signers`] | `junk_receipt_signers` |
//! | [`m20261202_000800_outbox_lease`] | `outbox_deliveries.claimed_by`, `lease_until` (no new table) |
//! | [`m20261205_000900_zap_receipt_anomalies`] | `zap_receipts.anomalies`; the payment hash unique only when present |
//! | [`m20261205_001000_shared_tallies`] | `zap_receipts.recorded_by`, `recorded_txid` (PostgreSQL); `tally_leases` |
//! | [`m20261205_001700_vote_targets`] | `proposal_targets`; `zap_receipts.zapped_event_id`, `zapped_address`, `poll_option` |
//! | [`m20261205_001800_targets_per_proposal`] | `proposal_targets` unique per (proposal, target), not per target |
//! | [`m20261207_001900_private_zaps`] | `zap_receipts.private_zap` |
//! | [`m20261207_002000_create_github_deliveries`] | `github_deliveries` |
//! | [`m20261207_002300_ballot_key_pins`] | `ballot_key_pins` |
//!
//! Conventions every migration follows, so the schema reads the same on SQLite and PostgreSQL:
//!
//! - timestamps are `BIGINT` unix seconds, never a database-specific time type;
//! - every primary key is an auto-incrementing `BIGINT` named `id`;
//! - every uniqueness rule is a named `UNIQUE` index (`ux_<table>_<columns>`), so the database,
//!   not the code, is what makes "record once" true; plain indexes are `ix_<table>_<columns>`;
//! - each migration runs in a transaction on every backend (both have transactional DDL), so a
//!   failed one leaves nothing half-made, and `down` drops exactly what `up` made.

pub use sea_orm_migration::prelude::*;
/// Re-exported so callers can read [`MigratorTrait::get_migration_with_status`] results.
pub use sea_orm_migration::MigrationStatus;

pub mod m20261120_000100_create_outbox;
pub mod m20261120_000200_create_zaps;
pub mod m20261120_000300_create_governance;
pub mod m20261120_000400_create_audit_log;
pub mod m20261120_000500_create_relay_cursors;
pub mod m20261202_000600_proposal_rules_and_tallies;
pub mod m20261202_000700_create_junk_receipt_signers;
pub mod m20261202_000800_outbox_lease;
pub mod m20261205_000900_zap_receipt_anomalies;
pub mod m20261205_001000_shared_tallies;
pub mod m20261205_001700_vote_targets;
pub mod m20261205_001800_targets_per_proposal;
pub mod m20261207_001900_private_zaps;
pub mod m20261207_002000_create_github_deliveries;
pub mod m20261207_002300_ballot_key_pins;

/// Every migration of the service, oldest first.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261120_000100_create_outbox::Migration),
            Box::new(m20261120_000200_create_zaps::Migration),
            Box::new(m20261120_000300_create_governance::Migration),
            Box::new(m20261120_000400_create_audit_log::Migration),
            Box::new(m20261120_000500_create_relay_cursors::Migration),
            Box::new(m20261202_000600_proposal_rules_and_tallies::Migration),
            Box::new(m20261202_000700_create_junk_receipt_signers::Migration),
            Box::new(m20261202_000800_outbox_lease::Migration),
            Box::new(m20261205_000900_zap_receipt_anomalies::Migration),
            Box::new(m20261205_001000_shared_tallies::Migration),
            Box::new(m20261205_001700_vote_targets::Migration),
            Box::new(m20261205_001800_targets_per_proposal::Migration),
            Box::new(m20261207_001900_private_zaps::Migration),
            Box::new(m20261207_002000_create_github_deliveries::Migration),
            Box::new(m20261207_002300_ballot_key_pins::Migration),
        ]
    }
}

/// Builds a `UNIQUE` index named `name` on `columns` of `table`.
pub(crate) fn unique_index<T, C, I>(name: &str, table: T, columns: I) -> IndexCreateStatement
where
    T: IntoIden,
    C: IntoIden,
    I: IntoIterator<Item = C>,
{
    let mut index = Index::create();
    index.name(name).table(table).unique();
    for column in columns {
        index.col(column);
    }
    index.to_owned()
}

/// Builds a plain (non-unique) index named `name` on `columns` of `table`.
pub(crate) fn plain_index<T, C, I>(name: &str, table: T, columns: I) -> IndexCreateStatement
where
    T: IntoIden,
    C: IntoIden,
    I: IntoIterator<Item = C>,
{
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(column);
    }
    index.to_owned()
}

/// Builds the statement dropping the index `name` of `table`.
pub(crate) fn drop_index<T: IntoIden>(name: &str, table: T) -> IndexDropStatement {
    Index::drop().name(name).table(table).to_owned()
}
