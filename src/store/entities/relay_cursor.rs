//! `relay_cursors`: how far each relay has been read, per subscription stream.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "relay_cursors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text", unique_key = "relay_stream")]
    pub relay_url: String,
    /// The subscription, e.g. `zap-receipts`.
    #[sea_orm(column_type = "Text", unique_key = "relay_stream")]
    pub stream: String,
    /// `created_at` of the newest event seen on this stream.
    pub last_seen_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
