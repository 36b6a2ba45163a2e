//! Several servers on one database: every server counts every receipt, one publishes tallies.
//!
//! - `zap_receipts.recorded_by`: the `server.id` that recorded the receipt (NULL on rows
//!   recorded before the column existed), so a server can tell the receipts other servers
//!   recorded from its own (a metric) and an operator can see who took what in.
//! - `zap_receipts.recorded_txid` (PostgreSQL only): the recording transaction's id
//!   (`txid_current()`, the 64-bit epoch-extended form), set by a column default, so nothing
//!   that writes receipts has to know about it. Each server reads the receipts the others
//!   recorded by this column, not by `id`: sequence values commit out of order, transaction
//!   ids below a snapshot's `xmin` are all finished (see `store::receipt_feed`). Indexed for
//!   that read. SQLite serves one server only and gets no such column.
//! - `tally_leases`: who publishes the tallies (one row per lease `name`, the only one being
//!   `tallies`): the holder's `server.id` and the unix second its lease ends. The holder
//!   renews it; any server takes it over once it has lapsed.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{plain_index, unique_index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ZapReceipts::Table)
                    .add_column(text_null(ZapReceipts::RecordedBy))
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
            // A volatile default: existing rows get the migration's own transaction id, which
            // is finished before any server reads the column.
            manager
                .alter_table(
                    Table::alter()
                        .table(ZapReceipts::Table)
                        .add_column(
                            ColumnDef::new(ZapReceipts::RecordedTxid)
                                .big_integer()
                                .not_null()
                                .default(Expr::cust("txid_current()")),
                        )
                        .to_owned(),
                )
                .await?;
            manager
                .create_index(plain_index(
                    "ix_zap_receipts_recorded_txid",
                    ZapReceipts::Table,
                    [ZapReceipts::RecordedTxid],
                ))
                .await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(TallyLeases::Table)
                    .col(big_pk_auto(TallyLeases::Id))
                    .col(text(TallyLeases::Name))
                    .col(text(TallyLeases::Holder))
                    .col(big_integer(TallyLeases::LeaseUntil))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_tally_leases_name",
                TallyLeases::Table,
                [TallyLeases::Name],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(TallyLeases::Table).to_owned())
            .await?;
        if manager.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
            manager
                .drop_index(
                    Index::drop()
                        .name("ix_zap_receipts_recorded_txid")
                        .table(ZapReceipts::Table)
                        .to_owned(),
                )
                .await?;
            manager
                .alter_table(
                    Table::alter()
                        .table(ZapReceipts::Table)
                        .drop_column(ZapReceipts::RecordedTxid)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ZapReceipts::Table)
                    .drop_column(ZapReceipts::RecordedBy)
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
    RecordedBy,
    RecordedTxid,
}

#[derive(DeriveIden)]
enum TallyLeases {
    Table,
    Id,
    Name,
    Holder,
    LeaseUntil,
}
