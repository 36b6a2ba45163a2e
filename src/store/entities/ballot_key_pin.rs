//! `ballot_key_pins`: each independent holder's ballot key a proposal pinned, once (DESIGN.md
//! "Sealed ballots", *Independent holders*). Written with the proposal's claim, in one
//! transaction; `ballot_key` is unique, so a key is never pinned by two proposals.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ballot_key_pins")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The X25519 public key (hex).
    #[sea_orm(column_type = "Text", unique)]
    pub ballot_key: String,
    /// The holder's Nostr key (hex).
    #[sea_orm(column_type = "Text")]
    pub holder: String,
    /// The pinning proposal's row (`governance_proposals.id`).
    pub proposal_id: i64,
    /// Unix seconds.
    pub pinned_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
