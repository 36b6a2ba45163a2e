//! `contributions`: payments counted towards a sender's participation weight.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contributions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub sender_pubkey: String,
    pub amount_msat: i64,
    /// Where it came from, e.g. `zap`.
    #[sea_orm(column_type = "Text")]
    pub source: String,
    /// The source's own id (for a zap, the receipt id): one contribution per source.
    #[sea_orm(column_type = "Text", unique)]
    pub source_id: String,
    pub contributed_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
