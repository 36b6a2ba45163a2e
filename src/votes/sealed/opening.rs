//! What opens a proposal's sealed ballots (DESIGN.md "Sealed ballots", *Reveal* and *Opening*):
//! one valid secret for **every** key the proposal pinned, in `rules.sealed.holders` order.
//!
//! Secrets come from wherever they are known (the gov bot derives its own; the others are read
//! from "ballot secret" events on the relays); [`BallotOpening::for_keys`] keeps only those that
//! are valid for a pinned key ([`is_valid_secret`]) and gives an opening only when no key is
//! missing. A holder who has not revealed therefore keeps every ballot sealed: the proposal
//! cannot pass (`threshold_met` stays false), visibly, and nobody reads part of the ballots.

use nostr_sdk::{EventId, PublicKey};

use super::ballot_key::is_valid_secret;
use super::token::{open_ballot, BallotError};
use crate::nostr::ballot_keys::{BallotKey, BallotSecret};
use crate::votes::VoteType;

/// The secrets of all of a proposal's ballot keys, each checked against its key.
#[derive(Debug, Clone)]
pub struct BallotOpening {
    secrets: Vec<BallotSecret>,
}

impl BallotOpening {
    /// The opening for `keys` (as pinned, in holder order) from the `known` secrets (any
    /// order, any number, invalid ones ignored); `None` while a key has no valid secret, or
    /// when there are no keys at all.
    pub fn for_keys<'a>(
        keys: &[BallotKey],
        known: impl IntoIterator<Item = &'a BallotSecret> + Clone,
    ) -> Option<BallotOpening> {
        if keys.is_empty() {
            return None;
        }
        let secrets = keys
            .iter()
            .map(|key| {
                known
                    .clone()
                    .into_iter()
                    .find(|secret| is_valid_secret(secret, key))
                    .cloned()
            })
            .collect::<Option<Vec<_>>>()?;
        Some(BallotOpening { secrets })
    }

    /// Opens one token for `proposal` and `sender`.
    pub fn open(
        &self,
        token: &str,
        proposal: &EventId,
        sender: &PublicKey,
    ) -> Result<VoteType, BallotError> {
        open_ballot(token, proposal, sender, &self.secrets)
    }

    /// The secrets, in holder order.
    pub fn secrets(&self) -> &[BallotSecret] {
        &self.secrets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::votes::sealed::seal_ballot;

    fn pair() -> (BallotSecret, BallotKey) {
        let secret = BallotSecret::generate(&mut rand::rngs::OsRng);
        let key = BallotKey::from_secret(&secret);
        (secret, key)
    }

    #[test]
    fn needs_a_valid_secret_for_every_key_in_any_order() {
        let (a, key_a) = pair();
        let (b, key_b) = pair();
        let (stranger, _) = pair();
        let keys = [key_a, key_b];
        assert!(BallotOpening::for_keys(&keys, [&a]).is_none());
        assert!(BallotOpening::for_keys(&keys, [&a, &stranger]).is_none());
        assert!(BallotOpening::for_keys(&[], [&a]).is_none());
        let opening =
            BallotOpening::for_keys(&keys, [&stranger, &b, &a]).expect("both secrets known");
        let proposal = EventId::from_byte_array([3; 32]);
        let sender = nostr_sdk::Keys::generate().public_key();
        let token = seal_ballot(
            VoteType::Abstain,
            &proposal,
            &sender,
            &keys,
            &mut rand::rngs::OsRng,
        )
        .expect("seals");
        assert_eq!(
            opening.open(&token, &proposal, &sender),
            Ok(VoteType::Abstain)
        );
        assert_eq!(opening.secrets().len(), 2);
    }
}
