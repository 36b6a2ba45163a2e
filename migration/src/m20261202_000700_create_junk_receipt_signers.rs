//! Junk receipt signers: a bounded tally of zap receipts from keys that are not a known LNURL
//! provider.
//!
//! Anyone can sign a kind 9735 event that tags one of our bots. Such a receipt fails rule 2
//! (`wrong_zapper`), or rule 1 (its signer is then not even proven); keeping each one whole in
//! `rejected_receipts` would let anyone grow the database without bound. Instead the ledger
//! keeps one row per signer here (how many, when first and last, the last reason), and the
//! service caps the table at a fixed number of rows by evicting the least recently seen signer.
//! `signer` is unique so the ledger can upsert; `last_seen` is indexed for the eviction.

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
                    .table(JunkReceiptSigners::Table)
                    .col(big_pk_auto(JunkReceiptSigners::Id))
                    .col(text(JunkReceiptSigners::Signer))
                    .col(big_integer(JunkReceiptSigners::Count))
                    .col(big_integer(JunkReceiptSigners::FirstSeen))
                    .col(big_integer(JunkReceiptSigners::LastSeen))
                    .col(text(JunkReceiptSigners::LastReason))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_junk_receipt_signers_signer",
                JunkReceiptSigners::Table,
                [JunkReceiptSigners::Signer],
            ))
            .await?;
        manager
            .create_index(plain_index(
                "ix_junk_receipt_signers_last_seen",
                JunkReceiptSigners::Table,
                [JunkReceiptSigners::LastSeen],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(JunkReceiptSigners::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum JunkReceiptSigners {
    Table,
    Id,
    Signer,
    Count,
    FirstSeen,
    LastSeen,
    LastReason,
}
