//! Governance: the proposals voters zap, the contributions behind participation weight, and the
//! votes zaps turn into.
//!
//! - `governance_proposals`: one row per published `review-period` action, unique by event id
//!   and by its `30078:<pubkey>:<d>` address (a zap may name either).
//! - `contributions`: every counted payment as a contribution of its sender, unique by its source
//!   (the receipt id), indexed by (sender, time) for the participation window.
//! - `proposal_zap_votes`: the seed schema's columns (names fixed by DESIGN.md), plus the receipt
//!   id that makes each vote row exactly-once.

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
                    .table(GovernanceProposals::Table)
                    .col(big_pk_auto(GovernanceProposals::Id))
                    .col(text(GovernanceProposals::EventId))
                    .col(text(GovernanceProposals::Address))
                    .col(text(GovernanceProposals::Repository))
                    .col(big_integer(GovernanceProposals::Pr))
                    .col(integer(GovernanceProposals::Tier))
                    .col(text(GovernanceProposals::Title))
                    .col(big_integer(GovernanceProposals::VotingStart))
                    .col(big_integer(GovernanceProposals::VotingEnd))
                    .col(big_integer(GovernanceProposals::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_governance_proposals_event_id",
                GovernanceProposals::Table,
                [GovernanceProposals::EventId],
            ))
            .await?;
        manager
            .create_index(unique_index(
                "ux_governance_proposals_address",
                GovernanceProposals::Table,
                [GovernanceProposals::Address],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Contributions::Table)
                    .col(big_pk_auto(Contributions::Id))
                    .col(text(Contributions::SenderPubkey))
                    .col(big_integer(Contributions::AmountMsat))
                    .col(text(Contributions::Source))
                    .col(text(Contributions::SourceId))
                    .col(big_integer(Contributions::ContributedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_contributions_source_id",
                Contributions::Table,
                [Contributions::SourceId],
            ))
            .await?;
        manager
            .create_index(plain_index(
                "ix_contributions_sender_time",
                Contributions::Table,
                [Contributions::SenderPubkey, Contributions::ContributedAt],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ProposalZapVotes::Table)
                    .col(big_pk_auto(ProposalZapVotes::Id))
                    .col(big_integer(ProposalZapVotes::PrId))
                    .col(text(ProposalZapVotes::GovernanceEventId))
                    .col(text(ProposalZapVotes::SenderPubkey))
                    .col(big_integer(ProposalZapVotes::AmountMsat))
                    .col(double(ProposalZapVotes::AmountBtc))
                    .col(double(ProposalZapVotes::VoteWeight))
                    .col(text(ProposalZapVotes::VoteType))
                    .col(big_integer(ProposalZapVotes::Timestamp))
                    .col(boolean(ProposalZapVotes::Verified))
                    .col(text(ProposalZapVotes::ReceiptId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(unique_index(
                "ux_proposal_zap_votes_receipt_id",
                ProposalZapVotes::Table,
                [ProposalZapVotes::ReceiptId],
            ))
            .await?;
        manager
            .create_index(plain_index(
                "ix_proposal_zap_votes_governance_event_id",
                ProposalZapVotes::Table,
                [ProposalZapVotes::GovernanceEventId],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProposalZapVotes::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Contributions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(GovernanceProposals::Table).to_owned())
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum GovernanceProposals {
    Table,
    Id,
    EventId,
    Address,
    Repository,
    Pr,
    Tier,
    Title,
    VotingStart,
    VotingEnd,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Contributions {
    Table,
    Id,
    SenderPubkey,
    AmountMsat,
    Source,
    SourceId,
    ContributedAt,
}

#[derive(DeriveIden)]
enum ProposalZapVotes {
    Table,
    Id,
    PrId,
    GovernanceEventId,
    SenderPubkey,
    AmountMsat,
    AmountBtc,
    VoteWeight,
    VoteType,
    Timestamp,
    Verified,
    ReceiptId,
}
