//! Votes: each proposal's pinned vote rules, and what its last published tally was.
//!
//! - `governance_proposals.rules`: the `rules` object of the proposal's content (JSON), pinned
//!   when the proposal is published; its tally uses these, never the settings of the day.
//!   `NULL` for proposals published before votes existed (they get no tally).
//! - `governance_proposals.tally_created_at`: `created_at` of the newest tally event published
//!   for it, so the next one is always newer (relays keep the newest per address).
//! - `governance_proposals.tally_digest`: a digest of that tally's result and receipts root, so
//!   a restart does not publish the same numbers again.
//! - `governance_proposals.tally_final`: whether that tally was the window's final one.
//!
//! - `zap_receipts.zapper_pubkey`: the receipt's author (the LNURL provider's key), so a tally
//!   can hold each receipt to its proposal's pinned `zappers` without parsing the stored JSON.
//!   `NULL` for receipts recorded before this migration (read from `event_json` then).
//!
//! SQLite alters one column per statement, so each column is its own `ALTER TABLE`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            text_null(GovernanceProposals::Rules),
            big_integer_null(GovernanceProposals::TallyCreatedAt),
            text_null(GovernanceProposals::TallyDigest),
            boolean(GovernanceProposals::TallyFinal)
                .default(false)
                .to_owned(),
        ];
        for mut column in columns {
            manager
                .alter_table(
                    Table::alter()
                        .table(GovernanceProposals::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ZapReceipts::Table)
                    .add_column(text_null(ZapReceipts::ZapperPubkey))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ZapReceipts::Table)
                    .drop_column(ZapReceipts::ZapperPubkey)
                    .to_owned(),
            )
            .await?;
        for column in [
            GovernanceProposals::TallyFinal,
            GovernanceProposals::TallyDigest,
            GovernanceProposals::TallyCreatedAt,
            GovernanceProposals::Rules,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(GovernanceProposals::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

#[derive(DeriveIden)]
enum GovernanceProposals {
    Table,
    Rules,
    TallyCreatedAt,
    TallyDigest,
    TallyFinal,
}

#[derive(DeriveIden)]
enum ZapReceipts {
    Table,
    ZapperPubkey,
}
