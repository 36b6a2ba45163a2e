//! Zap receipts (NIP-57, kind 9735): the accepted ones and the rejected ones.
//!
//! `zap_receipts` is the exactly-once record of a payment: both the receipt id and the invoice
//! payment hash are unique, so the same payment delivered by several relays, several times, or
//! again after a restart, can only ever be inserted once. `rejected_receipts` keeps every receipt
//! that failed validation with its stable reason label (indexed for the per-reason metrics and for
//! operators asking "why was my zap not counted").

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
                    .table(ZapReceipts::Table)
                    .col(big_pk_auto(ZapReceipts::Id))
                    .col(text(ZapReceipts::ReceiptId))
                    .col(text(ZapReceipts::PaymentHash))
                    .col(text(ZapReceipts::RecipientPubkey))
                    .col(text(ZapReceipts::SenderPubkey))
                    .col(big_integer(ZapReceipts::AmountMsat))
                    .col(text_null(ZapReceipts::ProposalEventId))
                    .col(text_null(ZapReceipts::ProposalAddress))
                    .col(text(ZapReceipts::ZapRequestContent))
                    .col(big_integer(ZapReceipts::ReceiptCreatedAt))
                    .col(big_integer(ZapReceipts::RecordedAt))
                    .col(text(ZapReceipts::RelayUrl))
                    .col(text(ZapReceipts::EventJson))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_zap_receipts_receipt_id",
                ZapReceipts::Table,
                [ZapReceipts::ReceiptId],
            ))
            .await?;
        manager
            .create_index(unique_index(
                "ux_zap_receipts_payment_hash",
                ZapReceipts::Table,
                [ZapReceipts::PaymentHash],
            ))
            .await?;
        manager
            .create_index(plain_index(
                "ix_zap_receipts_sender_pubkey",
                ZapReceipts::Table,
                [ZapReceipts::SenderPubkey],
            ))
            .await?;
        manager
            .create_index(plain_index(
                "ix_zap_receipts_proposal_event_id",
                ZapReceipts::Table,
                [ZapReceipts::ProposalEventId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RejectedReceipts::Table)
                    .col(big_pk_auto(RejectedReceipts::Id))
                    .col(text(RejectedReceipts::ReceiptId))
                    .col(text(RejectedReceipts::Reason))
                    .col(text(RejectedReceipts::Detail))
                    .col(text(RejectedReceipts::RelayUrl))
                    .col(text(RejectedReceipts::EventJson))
                    .col(big_integer(RejectedReceipts::ReceivedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_rejected_receipts_receipt_id",
                RejectedReceipts::Table,
                [RejectedReceipts::ReceiptId],
            ))
            .await?;
        manager
            .create_index(plain_index(
                "ix_rejected_receipts_reason",
                RejectedReceipts::Table,
                [RejectedReceipts::Reason],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RejectedReceipts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ZapReceipts::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum ZapReceipts {
    Table,
    Id,
    ReceiptId,
    PaymentHash,
    RecipientPubkey,
    SenderPubkey,
    AmountMsat,
    ProposalEventId,
    ProposalAddress,
    ZapRequestContent,
    ReceiptCreatedAt,
    RecordedAt,
    RelayUrl,
    EventJson,
}

#[derive(DeriveIden)]
enum RejectedReceipts {
    Table,
    Id,
    ReceiptId,
    Reason,
    Detail,
    RelayUrl,
    EventJson,
    ReceivedAt,
}
