//! Relay cursors: how far each relay has been read, per subscription stream.
//!
//! After a disconnect or a restart the zap tracker asks each relay for what it missed `since`
//! `last_seen_at` (minus a safety margin). One row per (relay, stream), enforced by the database,
//! so an upsert on that pair is always well-defined.

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
                    .table(RelayCursors::Table)
                    .col(big_pk_auto(RelayCursors::Id))
                    .col(text(RelayCursors::RelayUrl))
                    .col(text(RelayCursors::Stream))
                    .col(big_integer(RelayCursors::LastSeenAt))
                    .col(big_integer(RelayCursors::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_relay_cursors_relay_stream",
                RelayCursors::Table,
                [RelayCursors::RelayUrl, RelayCursors::Stream],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RelayCursors::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum RelayCursors {
    Table,
    Id,
    RelayUrl,
    Stream,
    LastSeenAt,
    UpdatedAt,
}
