//! `outbox_events`: every signed event the service publishes, stored before any relay sees it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The event id, 64 lowercase hex characters.
    #[sea_orm(column_type = "Text", unique)]
    pub event_id: String,
    pub kind: i32,
    /// The author's public key, hex.
    #[sea_orm(column_type = "Text")]
    pub author: String,
    /// Who signed it: a bot name, or `server` for the server key.
    #[sea_orm(column_type = "Text")]
    pub signer: String,
    /// The `d` tag of an addressable event.
    #[sea_orm(column_type = "Text", nullable)]
    pub d_tag: Option<String>,
    /// The full signed event as NIP-01 JSON.
    #[sea_orm(column_type = "Text")]
    pub event_json: String,
    pub created_at: i64,
}

/// The relation to its deliveries is declared once, on the side that holds the foreign key
/// (`outbox_delivery`), in both directions.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
