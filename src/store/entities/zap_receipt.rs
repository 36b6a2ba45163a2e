//! `zap_receipts`: every accepted NIP-57 zap receipt, recorded exactly once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "zap_receipts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The kind 9735 receipt's event id, hex.
    #[sea_orm(column_type = "Text", unique)]
    pub receipt_id: String,
    /// The BOLT11 invoice's payment hash, hex: one payment, one row. Empty when the invoice has
    /// none (anomaly `payment_hash`): unique only when present, the receipt id alone then
    /// identifies the payment.
    #[sea_orm(column_type = "Text")]
    pub payment_hash: String,
    /// The zapped bot's public key, hex.
    #[sea_orm(column_type = "Text")]
    pub recipient_pubkey: String,
    /// The zap request's author, hex: the voter.
    #[sea_orm(column_type = "Text")]
    pub sender_pubkey: String,
    pub amount_msat: i64,
    /// The `e` tag, when the zap names a proposal by event id.
    #[sea_orm(column_type = "Text", nullable)]
    pub proposal_event_id: Option<String>,
    /// The `a` tag, when the zap names a proposal by address.
    #[sea_orm(column_type = "Text", nullable)]
    pub proposal_address: Option<String>,
    /// The zap request's content (where the vote keyword is).
    #[sea_orm(column_type = "Text")]
    pub zap_request_content: String,
    /// The receipt's own `created_at`.
    pub receipt_created_at: i64,
    /// When this service recorded it.
    pub recorded_at: i64,
    /// The relay it was first seen on.
    #[sea_orm(column_type = "Text")]
    pub relay_url: String,
    /// The receipt's author, hex: the LNURL provider's key. `None` on rows recorded before the
    /// column existed (read it from `event_json`).
    #[sea_orm(column_type = "Text", nullable)]
    pub zapper_pubkey: Option<String>,
    /// The checks of rules 4 and 7 the receipt failed (it counts all the same), their names
    /// joined by commas (`description_hash,payment_hash,preimage`; empty when none): see
    /// [`crate::nostr::nip57::Anomalies`].
    #[sea_orm(column_type = "Text")]
    pub anomalies: String,
    /// The zap request's `e` tag: what the voter zapped (a proposal, its announcement, its zap
    /// poll, or anything else). On receipts recorded before the column existed, the proposal it
    /// named (`proposal_event_id`).
    #[sea_orm(column_type = "Text", nullable)]
    pub zapped_event_id: Option<String>,
    /// The zap request's `a` tag (before the column existed, `proposal_address`).
    #[sea_orm(column_type = "Text", nullable)]
    pub zapped_address: Option<String>,
    /// The zap request's `poll_option` value, when it has exactly one (a zap poll vote).
    #[sea_orm(column_type = "Text", nullable)]
    pub poll_option: Option<String>,
    /// The full receipt as NIP-01 JSON.
    #[sea_orm(column_type = "Text")]
    pub event_json: String,
    /// The `server.id` of the server that recorded it; `None` on rows recorded before the
    /// column existed. (PostgreSQL also keeps `recorded_txid`, read by
    /// [`crate::store::receipt_feed`] only, and not mapped here: SQLite has no such column.)
    #[sea_orm(column_type = "Text", nullable)]
    pub recorded_by: Option<String>,
    /// A private zap (its request has an `anon` tag with a value): recorded, never a
    /// contribution or a vote (DESIGN.md "Votes", *Private zaps*). `false` on rows recorded
    /// before the column existed.
    pub private_zap: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
