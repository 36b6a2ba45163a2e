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
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
