//! The wire: what crosses relays and LNURL. Every event kind, tag name and `d` value
//! ([`events`]), governance actions ([`governance_action`]), NIP-57 zap-receipt validation
//! ([`nip57`]), the page's NIP-89 handler event ([`nip89`]), LNURL resolution ([`lnurl`]) and
//! whose receipts a bot accepts ([`zap_recipients`]), an LNURL provider's side of a zap
//! ([`zap_provider`]), the development LNURL provider's answers ([`dev_provider`]), NIP-19
//! event references ([`nip19`]), the embedded development relay ([`embedded_relay`]) and sealed
//! ballots' keys and their reveal on the wire ([`ballot_keys`], [`ballot_secret`],
//! [`ballot_key_pool`]), and one-shot reads from relays ([`relay_read`]).
//!
//! Uses: settings and keys only. Never the rules above it, the store, actors, HTTP or the CLI.

pub mod ballot_key_pool;
pub mod ballot_keys;
pub mod ballot_secret;
pub mod dev_provider;
pub mod embedded_relay;
pub mod events;
pub mod governance_action;
pub mod lnurl;
pub mod nip19;
pub mod nip57;
pub mod nip89;
pub mod relay_read;
pub mod zap_provider;
pub mod zap_recipients;
