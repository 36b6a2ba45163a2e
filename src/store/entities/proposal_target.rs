//! `proposal_targets`: the events besides a proposal itself whose zaps are votes on it (its
//! announcement note and zap poll: DESIGN.md "Votes", *Targets*).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "proposal_targets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The proposal's event id, hex.
    #[sea_orm(column_type = "Text")]
    pub proposal_event_id: String,
    /// The target's event id, hex: one row per (proposal, target), since an event tagging
    /// two proposals is a target of both.
    #[sea_orm(column_type = "Text")]
    pub target_event_id: String,
    /// The target's event kind (1: the announcement, 6969: the zap poll).
    pub kind: i32,
    /// When it was recorded, unix seconds.
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
