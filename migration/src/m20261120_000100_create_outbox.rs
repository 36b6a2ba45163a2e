//! The outbox: every signed event the service publishes, and its delivery state per relay.
//!
//! An event is written to `outbox_events` (once, keyed by its event id) before any relay sees
//! it; `outbox_deliveries` then holds one row per (event, relay) that the relay actors move from
//! `pending` to `accepted`, `duplicate` or `refused`. A restart resumes the pending rows, which is
//! what makes publishing survive a crash. The `(relay_url, state)` index serves "what is still
//! pending for this relay" and the outbox-depth metric.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{plain_index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutboxEvents::Table)
                    .col(big_pk_auto(OutboxEvents::Id))
                    .col(text(OutboxEvents::EventId))
                    .col(integer(OutboxEvents::Kind))
                    .col(text(OutboxEvents::Author))
                    .col(text(OutboxEvents::Signer))
                    .col(text_null(OutboxEvents::DTag))
                    .col(text(OutboxEvents::EventJson))
                    .col(big_integer(OutboxEvents::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_outbox_events_event_id",
                OutboxEvents::Table,
                [OutboxEvents::EventId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OutboxDeliveries::Table)
                    .col(big_pk_auto(OutboxDeliveries::Id))
                    .col(big_integer(OutboxDeliveries::OutboxEventId))
                    .col(text(OutboxDeliveries::RelayUrl))
                    .col(text(OutboxDeliveries::State))
                    .col(integer(OutboxDeliveries::Attempts).default(0))
                    .col(text_null(OutboxDeliveries::LastError))
                    .col(big_integer(OutboxDeliveries::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_outbox_deliveries_outbox_event_id")
                            .from(OutboxDeliveries::Table, OutboxDeliveries::OutboxEventId)
                            .to(OutboxEvents::Table, OutboxEvents::Id)
                            .on_delete(ForeignKeyAction::Cascade)
                            .on_update(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_outbox_deliveries_event_relay",
                OutboxDeliveries::Table,
                [OutboxDeliveries::OutboxEventId, OutboxDeliveries::RelayUrl],
            ))
            .await?;
        manager
            .create_index(plain_index(
                "ix_outbox_deliveries_relay_state",
                OutboxDeliveries::Table,
                [OutboxDeliveries::RelayUrl, OutboxDeliveries::State],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Children first: the foreign key points from deliveries to events.
        manager
            .drop_table(Table::drop().table(OutboxDeliveries::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(OutboxEvents::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum OutboxEvents {
    Table,
    Id,
    EventId,
    Kind,
    Author,
    Signer,
    DTag,
    EventJson,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OutboxDeliveries {
    Table,
    Id,
    OutboxEventId,
    RelayUrl,
    State,
    Attempts,
    LastError,
    UpdatedAt,
}
