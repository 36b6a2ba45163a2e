//! A vote target belongs to every proposal it tags (DESIGN.md "Votes", *Targets*).
//!
//! A target is an event of a proposal's author carrying `e` = the proposal and `t` =
//! `governance-proposal`; an event with two such `e` tags is a target of both proposals, and a
//! verifier counts its zaps for both. `m20261205_001700_vote_targets` made `target_event_id`
//! unique, so the service could record such an event for one proposal only. Here the rule
//! becomes one row per (proposal, target): `ux_proposal_targets_proposal_target` replaces
//! `ux_proposal_targets_target_event_id`, and a plain index on the target keeps lookups by
//! target cheap. Existing rows all satisfy the new rule (they satisfied a stricter one).
//!
//! `down` restores the old index, which fails while an event is recorded for two proposals.

use sea_orm_migration::prelude::*;

use crate::{drop_index, plain_index, unique_index};

const OLD_UNIQUE: &str = "ux_proposal_targets_target_event_id";
const NEW_UNIQUE: &str = "ux_proposal_targets_proposal_target";
const BY_TARGET: &str = "ix_proposal_targets_target_event_id";

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(drop_index(OLD_UNIQUE, ProposalTargets::Table))
            .await?;
        manager
            .create_index(unique_index(
                NEW_UNIQUE,
                ProposalTargets::Table,
                [
                    ProposalTargets::ProposalEventId,
                    ProposalTargets::TargetEventId,
                ],
            ))
            .await?;
        manager
            .create_index(plain_index(
                BY_TARGET,
                ProposalTargets::Table,
                [ProposalTargets::TargetEventId],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(drop_index(BY_TARGET, ProposalTargets::Table))
            .await?;
        manager
            .drop_index(drop_index(NEW_UNIQUE, ProposalTargets::Table))
            .await?;
        manager
            .create_index(unique_index(
                OLD_UNIQUE,
                ProposalTargets::Table,
                [ProposalTargets::TargetEventId],
            ))
            .await
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum ProposalTargets {
    Table,
    ProposalEventId,
    TargetEventId,
}
