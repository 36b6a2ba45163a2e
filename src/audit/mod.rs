//! Pure rules of the transparency log: RFC 9162 Merkle trees, inclusion and consistency proofs
//! ([`merkle`]), how each published audit head chains to the last ([`chain`]), and what the
//! governance-status and server-health events say ([`server_status`]).
//!
//! Uses: settings and the wire ([`crate::nostr`]). No storage, actor, HTTP or CLI code: the
//! callers pass in what these rules judge.

pub mod chain;
pub mod merkle;
pub mod server_status;
