//! Zap receipt anomalies: rules 4 and 7 of DESIGN.md "Zaps accepted" became checks, so a
//! receipt that fails one is recorded (it counts) with the checks it failed.
//!
//! - `zap_receipts.anomalies`: the failed checks' names joined by commas, in the order
//!   `description_hash`, `payment_hash`, `preimage` (`''` when none). Existing rows passed every
//!   check (they were recorded under the strict rules), so `''` is right for them.
//! - `ux_zap_receipts_payment_hash` becomes partial (`WHERE payment_hash <> ''`): an invoice
//!   without a payment hash is recorded with an empty one, and such receipts are then unique by
//!   `receipt_id` alone (its own index). The index keeps its name: it is the same rule, for the
//!   receipts it can apply to.
//!
//! `down` restores the full index; an empty payment hash becomes the receipt id first, so rows
//! recorded since stay (and stay unique) under the old rule.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{drop_index, unique_index};

const PAYMENT_HASH_INDEX: &str = "ux_zap_receipts_payment_hash";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ZapReceipts::Table)
                    .add_column(text(ZapReceipts::Anomalies).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(drop_index(PAYMENT_HASH_INDEX, ZapReceipts::Table))
            .await?;
        let mut partial = unique_index(
            PAYMENT_HASH_INDEX,
            ZapReceipts::Table,
            [ZapReceipts::PaymentHash],
        );
        partial.and_where(Expr::col(ZapReceipts::PaymentHash).ne(""));
        manager.create_index(partial).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(drop_index(PAYMENT_HASH_INDEX, ZapReceipts::Table))
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(ZapReceipts::Table)
                    .value(ZapReceipts::PaymentHash, Expr::col(ZapReceipts::ReceiptId))
                    .and_where(Expr::col(ZapReceipts::PaymentHash).eq(""))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                PAYMENT_HASH_INDEX,
                ZapReceipts::Table,
                [ZapReceipts::PaymentHash],
            ))
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ZapReceipts::Table)
                    .drop_column(ZapReceipts::Anomalies)
                    .to_owned(),
            )
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum ZapReceipts {
    Table,
    ReceiptId,
    PaymentHash,
    Anomalies,
}
