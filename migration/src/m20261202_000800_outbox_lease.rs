//! Outbox leases: any server sharing the database can take over a dead server's deliveries.
//!
//! Several servers on one PostgreSQL database each run a relay actor per relay, and each drains
//! the pending deliveries for its relay. Without a claim, two live servers would both send every
//! pending event, and a server that died with deliveries queued would leave them until another
//! server happened to reconnect. A delivery row is therefore *claimed*: `claimed_by` names the
//! server (`server.id`) that will send it and `lease_until` (unix seconds) how long the claim
//! holds. The writer claims its rows when it enqueues them; a drain takes rows that are
//! unclaimed, its own, or whose lease has run out, and renews the lease of what it takes.
//! Existing rows stay unclaimed (NULL), so whichever server drains first sends them.

use sea_orm_migration::prelude::*;

use crate::plain_index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxDeliveries::Table)
                    .add_column(ColumnDef::new(OutboxDeliveries::ClaimedBy).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(OutboxDeliveries::Table)
                    .add_column(
                        ColumnDef::new(OutboxDeliveries::LeaseUntil)
                            .big_integer()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(plain_index(
                "ix_outbox_deliveries_relay_state_lease",
                OutboxDeliveries::Table,
                [
                    OutboxDeliveries::RelayUrl,
                    OutboxDeliveries::State,
                    OutboxDeliveries::LeaseUntil,
                ],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_outbox_deliveries_relay_state_lease")
                    .table(OutboxDeliveries::Table)
                    .to_owned(),
            )
            .await?;
        for column in [OutboxDeliveries::LeaseUntil, OutboxDeliveries::ClaimedBy] {
            manager
                .alter_table(
                    Table::alter()
                        .table(OutboxDeliveries::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum OutboxDeliveries {
    Table,
    RelayUrl,
    State,
    ClaimedBy,
    LeaseUntil,
}
