//! The actors. Each is thin: it holds state, receives typed messages, calls the pure code
//! (validation, weights, Merkle proofs, event building) and the store, and sends messages. They
//! share no mutable state and are each supervised ([`supervision`]), so one failing part never
//! stops the others; [`backoff`] paces their retries.
//!
//! Uses: settings, keys, metrics, the wire, the rules and the store. Never HTTP or the CLI.

pub mod audit_head;
pub mod backoff;
pub mod bot;
pub mod relay;
pub mod status_ticker;
pub mod supervision;
pub mod vote_aggregator;
pub mod zap_tracker;
