//! The schema as sea-orm entities: one module per table, in the generated style.
//!
//! The tables themselves are made by the `migration` crate; these entities mirror them column
//! for column. Timestamps are `i64` unix seconds. Every uniqueness rule (`#[sea_orm(unique)]`
//! below) is also a `UNIQUE` index in the database, so "record once" holds even when two writers
//! race: the second insert fails with [`sea_orm::SqlErr::UniqueConstraintViolation`].
//!
//! | module | table | unique |
//! |---|---|---|
//! | [`outbox_event`] | `outbox_events` | `event_id` |
//! | [`outbox_delivery`] | `outbox_deliveries` | (`outbox_event_id`, `relay_url`) |
//! | [`zap_receipt`] | `zap_receipts` | `receipt_id`, `payment_hash` |
//! | [`rejected_receipt`] | `rejected_receipts` | `receipt_id` |
//! | [`junk_receipt_signer`] | `junk_receipt_signers` | `signer` |
//! | [`governance_proposal`] | `governance_proposals` | `event_id`, `address` |
//! | [`contribution`] | `contributions` | `source_id` |
//! | [`proposal_zap_vote`] | `proposal_zap_votes` | `receipt_id` |
//! | [`proposal_target`] | `proposal_targets` | `target_event_id` |
//! | [`relay_cursor`] | `relay_cursors` | (`relay_url`, `stream`) |
//! | [`audit_log_entry`] | `audit_log` | `position` |
//! | [`tally_lease`] | `tally_leases` | `name` |
//! | [`github_delivery`] | `github_deliveries` | `delivery_id` |
//! | [`ballot_key_pin`] | `ballot_key_pins` | `ballot_key` |

pub mod audit_log_entry;
pub mod ballot_key_pin;
pub mod contribution;
pub mod github_delivery;
pub mod governance_proposal;
pub mod junk_receipt_signer;
pub mod outbox_delivery;
pub mod outbox_event;
pub mod proposal_target;
pub mod proposal_zap_vote;
pub mod rejected_receipt;
pub mod relay_cursor;
pub mod tally_lease;
pub mod zap_receipt;
