//! commons-nostr: Bitcoin Commons governance made observable on Nostr, and Lightning zaps
//! turned into quadratic votes.
//!
//! The wire contract lives in `../shared/DESIGN.md`. The crate is one folder a layer, lowest
//! first; a layer uses only the layers above it in this list, never one below (`tests/layers.rs`
//! keeps it so):
//!
//! - **Wiring at the root**: [`configuration`] (layered settings, validated at load), [`keys`]
//!   (secret keys from `env:` or files, permission checks, generation) and [`metrics`]
//!   (Prometheus) are what every layer may read; [`telemetry`] sets up tracing once; [`startup`]
//!   builds the running service from all the layers below.
//! - [`nostr`]: the wire, everything that crosses relays and LNURL: event kinds, tags and
//!   builders, governance actions, NIP-57 zap validation, LNURL resolution, the embedded relay.
//! - [`audit`]: pure rules of the transparency log: RFC 9162 Merkle trees and consistency proofs,
//!   how each audit head chains to the last, what status and health events say.
//! - [`votes`]: pure vote rules: contributions, weights, cap, tally (full and incremental), the
//!   counted receipts' Merkle root and the tally event's content.
//! - [`store`]: the database: sea-orm entities and connection, the outbox, the zap and vote
//!   ledgers, the audit log's rows.
//! - [`actors`]: the running parts (relays, bots, zap tracker, vote aggregator, status ticker,
//!   audit head), their supervision and backoff; thin, they call the rules and the store.
//! - [`http`]: the API on actix-web, given what it needs from the running service as
//!   [`http::handles::ServiceHandles`].
//! - [`cli`]: the `commons-nostr` command line and the public tools: the admin API client, the
//!   verifier (`verify`, `verify-vote`) and `watch`.

pub mod actors;
pub mod audit;
pub mod cli;
pub mod configuration;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod nostr;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod votes;
