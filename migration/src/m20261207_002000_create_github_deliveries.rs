//! GitHub webhook deliveries: each `X-GitHub-Delivery` once, with what it led to.
//!
//! A delivery is recorded when it is handled (`outcome` `published`, `duplicate`, `ignored`
//! or `refused`, the HTTP status and JSON answer given, and the published event's id when
//! there is one). A delivery that publishes an action is first *claimed* (`outcome` =
//! `processing`, `handled_by` = the server's `server.id`) and its outcome written once the
//! action is published. `delivery_id` is unique, so a redelivery, or the same delivery reaching
//! two servers on one database at once, finds the row instead of publishing again.

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
                    .table(GithubDeliveries::Table)
                    .col(big_pk_auto(GithubDeliveries::Id))
                    .col(text(GithubDeliveries::DeliveryId))
                    .col(text(GithubDeliveries::Event))
                    .col(text(GithubDeliveries::Outcome))
                    .col(integer(GithubDeliveries::Status))
                    .col(text(GithubDeliveries::Answer))
                    .col(text_null(GithubDeliveries::EventId))
                    .col(text(GithubDeliveries::HandledBy))
                    .col(big_integer(GithubDeliveries::ReceivedAt))
                    .col(big_integer(GithubDeliveries::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_github_deliveries_delivery_id",
                GithubDeliveries::Table,
                [GithubDeliveries::DeliveryId],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(GithubDeliveries::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum GithubDeliveries {
    Table,
    Id,
    DeliveryId,
    Event,
    Outcome,
    Status,
    Answer,
    EventId,
    HandledBy,
    ReceivedAt,
    UpdatedAt,
}
