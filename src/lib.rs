//! commons-nostr: Bitcoin Commons governance made observable on Nostr, and Lightning zaps
//! turned into quadratic votes.
//!
//! The wire contract lives in `../shared/DESIGN.md`; this crate is organised so each rule of it
//! can be found by name:
//!
//! - [`configuration`]: layered settings, validated at load.
//! - [`keys`]: secret-key loading (`env:` or file), permission checks, key generation.
//! - [`events`]: every event kind, tag name and `d` value, and the builders for them.
//! - [`nips::nip57`]: zap-receipt validation (pure).
//! - [`zap_ledger`] and [`zap_recipients`]: batched exactly-once recording of zap receipts, and
//!   the bots' LNURL provider keys (used by [`actors::zap_tracker`]).
//! - [`votes`]: the vote rules as pure code: weights, cap, tally (full and incremental), the
//!   counted receipts' Merkle root and the tally event's content.
//! - [`vote_ledger`]: the votes' rows (the rules are pure, in [`votes`]; the
//!   [`actors::vote_aggregator`] keeps every proposal's tally and publishes it).
//! - [`merkle`]: RFC 9162 Merkle tree hashes and consistency proofs (pure).
//! - [`audit_log`]: the append-only audit log's rows (its head is published by
//!   [`actors::audit_head`]); [`audit_chain`]: how each head chains to the last (pure).
//! - [`server_status`]: what the status and health events say, as pure rules (published by
//!   [`actors::status_ticker`]).
//! - [`entities`] and [`db`]: the schema as sea-orm entities, connection and migrations.
//! - [`cli`]: the `commons-nostr` command line; [`admin_client`]: its client of the admin API.
//! - [`verifier`] and [`watch`]: checking from the relays alone what was published (`verify`),
//!   and following it live (`watch`).

pub mod actors;
pub mod admin_client;
pub mod audit_chain;
pub mod audit_log;
pub mod backoff;
pub mod cli;
pub mod configuration;
pub mod db;
pub mod embedded_relay;
pub mod entities;
pub mod events;
pub mod governance_action;
pub mod http;
pub mod keys;
pub mod lnurl;
pub mod merkle;
pub mod metrics;
pub mod nips;
pub mod outbox;
pub mod server_status;
pub mod startup;
pub mod supervision;
pub mod telemetry;
pub mod verifier;
pub mod vote_ledger;
pub mod votes;
pub mod watch;
pub mod zap_ledger;
pub mod zap_provider;
pub mod zap_recipients;
