//! `governance_proposals`: the published `review-period` actions that voters zap.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "governance_proposals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The proposal event's id, hex.
    #[sea_orm(column_type = "Text", unique)]
    pub event_id: String,
    /// The proposal's address, `30078:<pubkey>:<d>`.
    #[sea_orm(column_type = "Text", unique)]
    pub address: String,
    #[sea_orm(column_type = "Text")]
    pub repository: String,
    pub pr: i64,
    pub tier: i32,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    pub voting_start: i64,
    pub voting_end: i64,
    pub created_at: i64,
    /// The pinned vote rules (`rules` of the proposal's content), JSON; `None` for proposals
    /// published before votes existed.
    #[sea_orm(column_type = "Text", nullable)]
    pub rules: Option<String>,
    /// `created_at` of the newest tally event published for it.
    pub tally_created_at: Option<i64>,
    /// Digest of that tally's result and receipts root.
    #[sea_orm(column_type = "Text", nullable)]
    pub tally_digest: Option<String>,
    /// Whether that tally was the final one (published at or after the window's end).
    pub tally_final: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
