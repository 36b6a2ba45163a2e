//! `outbox_deliveries`: the delivery state of one outbox event on one relay.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique_key = "event_relay")]
    pub outbox_event_id: i64,
    #[sea_orm(column_type = "Text", unique_key = "event_relay")]
    pub relay_url: String,
    pub state: DeliveryState,
    pub attempts: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub updated_at: i64,
    /// The `server.id` that will send this delivery (see [`crate::store::outbox`], leases).
    #[sea_orm(column_type = "Text", nullable)]
    pub claimed_by: Option<String>,
    /// Unix seconds until which `claimed_by` holds the delivery; after that any server may take it.
    pub lease_until: Option<i64>,
}

/// Where a delivery stands, stored as its lowercase name.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum DeliveryState {
    /// Not yet acknowledged by the relay.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// The relay answered `OK true`.
    #[sea_orm(string_value = "accepted")]
    Accepted,
    /// The relay answered `OK true` with a `duplicate:` message: it already had the event.
    #[sea_orm(string_value = "duplicate")]
    Duplicate,
    /// The relay answered `OK false`; `last_error` holds its message.
    #[sea_orm(string_value = "refused")]
    Refused,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::outbox_event::Entity",
        from = "Column::OutboxEventId",
        to = "super::outbox_event::Column::Id",
        on_update = "Cascade",
        on_delete = "Cascade"
    )]
    OutboxEvent,
}

impl Related<super::outbox_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::OutboxEvent.def()
    }
}

/// An event's deliveries: the same relation, walked from the event.
impl Related<Entity> for super::outbox_event::Entity {
    fn to() -> RelationDef {
        Relation::OutboxEvent.def().rev()
    }
}

impl ActiveModelBehavior for ActiveModel {}
