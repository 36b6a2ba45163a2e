//! `proposal_zap_votes`: one row per zap counted as a vote (the seed schema's columns).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "proposal_zap_votes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub pr_id: i64,
    /// The proposal event's id, hex.
    #[sea_orm(column_type = "Text")]
    pub governance_event_id: String,
    #[sea_orm(column_type = "Text")]
    pub sender_pubkey: String,
    pub amount_msat: i64,
    pub amount_btc: f64,
    pub vote_weight: f64,
    /// `support`, `veto` or `abstain`.
    #[sea_orm(column_type = "Text")]
    pub vote_type: String,
    pub timestamp: i64,
    pub verified: bool,
    /// The zap receipt this vote came from: one vote row per receipt.
    #[sea_orm(column_type = "Text", unique)]
    pub receipt_id: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
