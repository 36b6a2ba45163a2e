//! `github_deliveries`: each GitHub webhook delivery once, with what it led to (see
//! [`crate::store::github_delivery`]).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "github_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// GitHub's `X-GitHub-Delivery` (a GUID).
    #[sea_orm(column_type = "Text", unique)]
    pub delivery_id: String,
    /// `X-GitHub-Event`: `ping`, `pull_request`, `pull_request_review`...
    #[sea_orm(column_type = "Text")]
    pub event: String,
    /// `processing` while its action is being published, then `published`, `duplicate`,
    /// `ignored` or `refused`.
    #[sea_orm(column_type = "Text")]
    pub outcome: String,
    /// The HTTP status of the first answer.
    pub status: i32,
    /// The JSON body of the first answer, given again to a redelivery.
    #[sea_orm(column_type = "Text")]
    pub answer: String,
    /// The published action event's id (hex), when the delivery published one.
    #[sea_orm(column_type = "Text", nullable)]
    pub event_id: Option<String>,
    /// The `server.id` of the server that handled it.
    #[sea_orm(column_type = "Text")]
    pub handled_by: String,
    /// Unix seconds.
    pub received_at: i64,
    /// Unix seconds of the last change (the claim, then the outcome).
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
