//! Private zaps (DESIGN.md "Votes", *Private zaps*): `zap_receipts.private_zap`, true when the
//! zap request carries an `anon` tag with a value (the real request encrypted inside it, the
//! outer one signed by a throwaway key). Such a receipt is recorded like any valid one but is no
//! contribution and no vote; the tallies only count it in `private_zaps`.
//!
//! Rows recorded before this migration read as `false` (ordinary zaps): the service did not
//! tell private zaps apart then.
//!
//! `down` drops the column.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ZapReceipts::Table)
                    .add_column(boolean(ZapReceipts::PrivateZap).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ZapReceipts::Table)
                    .drop_column(ZapReceipts::PrivateZap)
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
    PrivateZap,
}
