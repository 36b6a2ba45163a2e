//! `rejected_receipts`: zap receipts that failed validation, with the reason.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rejected_receipts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text", unique)]
    pub receipt_id: String,
    /// A stable snake_case label (the same one the metrics use).
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    /// A human-readable explanation.
    #[sea_orm(column_type = "Text")]
    pub detail: String,
    #[sea_orm(column_type = "Text")]
    pub relay_url: String,
    #[sea_orm(column_type = "Text")]
    pub event_json: String,
    pub received_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
