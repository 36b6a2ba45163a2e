//! `junk_receipt_signers`: zap receipts from keys that are not a known LNURL provider, counted
//! per signer (never stored whole), in a table capped at
//! [`crate::store::zap_ledger::JUNK_SIGNERS_KEPT`] rows.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "junk_receipt_signers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The receipt's author, hex.
    #[sea_orm(column_type = "Text", unique)]
    pub signer: String,
    /// Receipts from this signer judged since its row was made.
    pub count: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    /// [`crate::nostr::nip57::Rejection::reason`] of the last one.
    #[sea_orm(column_type = "Text")]
    pub last_reason: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
