//! The append-only audit log whose Merkle root the audit-head events (kind 30080) publish.
//!
//! `position` is the 0-based leaf index and is unique, so two writers can never both append
//! leaf N: the second insert is refused by the database and the log stays a single sequence.
//! `leaf_hash` is the RFC 9162 leaf hash (hex) of `entry_json`, stored so the tree can be rebuilt
//! without rehashing every entry.

use sea_orm_migration::{prelude::*, schema::*};

use crate::unique_index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(big_pk_auto(AuditLog::Id))
                    .col(big_integer(AuditLog::Position))
                    .col(text(AuditLog::EntryType))
                    .col(text(AuditLog::EntryJson))
                    .col(text(AuditLog::LeafHash))
                    .col(big_integer(AuditLog::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_audit_log_position",
                AuditLog::Table,
                [AuditLog::Position],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    Position,
    EntryType,
    EntryJson,
    LeafHash,
    CreatedAt,
}
