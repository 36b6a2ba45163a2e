//! Ballot keys of independent holders pinned by proposals (DESIGN.md "Sealed ballots",
//! *Independent holders*): one row per key a review period took from a holder's pool, written
//! in the same transaction as the proposal's claim. `ballot_key` is unique, so no two proposals
//! (nor two servers on one database) ever pin one key twice.

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
                    .table(BallotKeyPins::Table)
                    .col(big_pk_auto(BallotKeyPins::Id))
                    .col(text(BallotKeyPins::BallotKey))
                    .col(text(BallotKeyPins::Holder))
                    .col(big_integer(BallotKeyPins::ProposalId))
                    .col(big_integer(BallotKeyPins::PinnedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_ballot_key_pins_ballot_key",
                BallotKeyPins::Table,
                [BallotKeyPins::BallotKey],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(BallotKeyPins::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum BallotKeyPins {
    Table,
    Id,
    BallotKey,
    Holder,
    ProposalId,
    PinnedAt,
}
