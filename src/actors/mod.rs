//! The actors. Each is thin: it holds state, receives typed messages, calls the pure code
//! (validation, weights, Merkle proofs, event building) and sends messages. They share no
//! mutable state and are each supervised ([`crate::supervision`]), so one failing part never
//! stops the others.

pub mod audit_head;
pub mod bot;
pub mod relay;
pub mod status_ticker;
pub mod vote_aggregator;
pub mod zap_tracker;
