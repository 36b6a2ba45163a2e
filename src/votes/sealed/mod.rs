//! Sealed ballots (DESIGN.md "Sealed ballots"): a vote whose type stays secret until the close,
//! and that anyone can open and recount once the ballot keys' holders have revealed.
//!
//! - [`BallotKey`] / [`BallotSecret`]: a holder's X25519 key pair for one proposal (declared
//!   with the wire in [`crate::nostr::ballot_keys`]; [`ballot_key`] adds the X25519 relation and
//!   [`is_valid_secret`], the check every published secret must pass).
//! - [`derive_gov_ballot_secret`] ([`gov_key`]): the gov bot's secret for a proposal, derived
//!   with HKDF-SHA256 from the gov key and the proposal's `d`, so it survives restarts and is the
//!   same on every server sharing the database without ever being stored.
//! - [`seal_ballot`] / [`open_ballot`] ([`token`]): the `ballot1...` token, one RFC 9180 HPKE
//!   layer per holder (base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM) with the
//!   proposal id and the sender's key as the aad, in bech32. Checked against RFC 9180's
//!   Appendix A.1.1 test vectors.
//! - [`find_ballot_token`] ([`find_token`]): where a zap comment holds a token.
//! - [`BallotOpening`] ([`opening`]): a valid secret for every pinned key, or nothing: what the
//!   tally opens ballots with; [`read_reveal`] ([`reveal`]): which ballot secret events count
//!   and whether they open the ballots (the service and `verify` read them alike);
//!   [`SealedSummary`] ([`summary`]): the tally's `sealed` object.
//!
//! ```
//! use commons_nostr::votes::{
//!     derive_gov_ballot_secret, find_ballot_token, open_ballot, seal_ballot, BallotKey, VoteType,
//! };
//! use nostr_sdk::{EventId, Keys};
//!
//! let gov = Keys::generate();
//! let voter = Keys::generate().public_key();
//! let proposal = EventId::all_zeros();
//! let secret = derive_gov_ballot_secret(gov.secret_key(), "action:owner/repo:7:review-period");
//! let key = BallotKey::from_secret(&secret);
//! let token = seal_ballot(VoteType::Veto, &proposal, &voter, &[key], &mut rand::rngs::OsRng)
//!     .expect("one key");
//! assert_eq!(token.len(), 93);
//! let comment = format!("my vote: {token}");
//! let found = find_ballot_token(&comment).expect("a token");
//! assert_eq!(open_ballot(found, &proposal, &voter, &[secret]), Ok(VoteType::Veto));
//! ```

pub mod ballot_key;
pub mod find_token;
pub mod gov_key;
pub mod opening;
pub mod reveal;
pub mod summary;
pub mod token;

#[cfg(test)]
mod rfc9180_vectors;

pub use crate::nostr::ballot_keys::{BadBallotKey, BallotKey, BallotSecret};
pub use ballot_key::is_valid_secret;
pub use find_token::find_ballot_token;
pub use gov_key::derive_gov_ballot_secret;
pub use opening::BallotOpening;
pub use reveal::{pinned_secrets_filter, read_reveal, secrets_filter, BallotReveal};
pub use summary::{SealedCounts, SealedSummary};
pub use token::{
    open_ballot, seal_ballot, BallotError, BALLOT_HRP, BALLOT_INFO, BALLOT_TOKEN_VERSION,
};
