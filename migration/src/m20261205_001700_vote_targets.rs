//! Vote targets (DESIGN.md "Votes", *Targets* and *Vote type*).
//!
//! - `proposal_targets`: the events besides the proposal itself that voters may zap to vote on
//!   it (the gov bot's announcement note and zap poll, each tagged `t` = `governance-proposal`),
//!   one row per target with its kind, written when the service publishes it, so a restarted
//!   aggregator counts zaps to them. `target_event_id` is unique (an event targets one
//!   proposal); `proposal_event_id` is indexed for loading a proposal's targets.
//! - `zap_receipts.zapped_event_id`, `zapped_address`: the zap request's own `e` and `a` (the
//!   request decides what a zap names, not the receipt, and not only when it names a proposal
//!   this server knew when it recorded the zap); `zap_receipts.poll_option`: the request's
//!   `poll_option` value (a zap poll vote).
//!
//! Receipts recorded before this migration get `zapped_event_id` = `proposal_event_id` and
//! `zapped_address` = `proposal_address`: no proposal had other targets then, so a zap named a
//! proposal exactly when those columns were set, and they name the same proposal. Their
//! `poll_option` stays `NULL` (no zap poll existed).

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
                    .table(ProposalTargets::Table)
                    .col(big_pk_auto(ProposalTargets::Id))
                    .col(text(ProposalTargets::ProposalEventId))
                    .col(text(ProposalTargets::TargetEventId))
                    .col(integer(ProposalTargets::Kind))
                    .col(big_integer(ProposalTargets::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_proposal_targets_target_event_id",
                ProposalTargets::Table,
                [ProposalTargets::TargetEventId],
            ))
            .await?;
        manager
            .create_index(plain_index(
                "ix_proposal_targets_proposal_event_id",
                ProposalTargets::Table,
                [ProposalTargets::ProposalEventId],
            ))
            .await?;
        for column in [
            ZapReceipts::ZappedEventId,
            ZapReceipts::ZappedAddress,
            ZapReceipts::PollOption,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ZapReceipts::Table)
                        .add_column(text_null(column))
                        .to_owned(),
                )
                .await?;
        }
        let backfill = Query::update()
            .table(ZapReceipts::Table)
            .value(
                ZapReceipts::ZappedEventId,
                Expr::col(ZapReceipts::ProposalEventId),
            )
            .value(
                ZapReceipts::ZappedAddress,
                Expr::col(ZapReceipts::ProposalAddress),
            )
            .to_owned();
        manager.exec_stmt(backfill).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ZapReceipts::PollOption,
            ZapReceipts::ZappedAddress,
            ZapReceipts::ZappedEventId,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ZapReceipts::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(ProposalTargets::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum ProposalTargets {
    Table,
    Id,
    ProposalEventId,
    TargetEventId,
    Kind,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ZapReceipts {
    Table,
    ProposalEventId,
    ProposalAddress,
    ZappedEventId,
    ZappedAddress,
    PollOption,
}
