//! The database: sea-orm entities ([`entities`]), the connection and migrations ([`db`]), and one
//! module for each kind of record: the outbox of signed events to deliver ([`outbox`]), zap
//! receipts recorded exactly once ([`zap_ledger`]), proposals and their vote rows
//! ([`vote_ledger`]), the zap comments the public page shows ([`zap_comments`]) and the
//! append-only audit log ([`audit_log`]); for several servers on one database, the feed of
//! receipts any server recorded ([`receipt_feed`]) and the lease of the one server that
//! publishes tallies ([`tally_lease`]); GitHub webhook deliveries, each once
//! ([`github_delivery`]).
//!
//! Uses: settings, metrics, the wire, and the pure rules ([`crate::votes`], [`crate::audit`]).
//! Never an actor, HTTP or the CLI: who must hear of a change is told through types that live
//! here (for example [`outbox::OutboxWake`]).

pub mod audit_log;
pub mod db;
pub mod entities;
pub mod github_delivery;
pub mod outbox;
pub mod receipt_feed;
pub mod tally_lease;
pub mod vote_ledger;
pub mod zap_comments;
pub mod zap_ledger;
