//! A contribution: DESIGN.md "Votes", *Contributions*.
//!
//! Every valid zap receipt to any bot is a contribution of its amount, from the zap request's
//! author, at the receipt's `created_at`. Whether it is also a vote depends on the proposal it
//! names and the voting window (see [`crate::votes::proposal`]). Amounts stay integer msat
//! everywhere; they become BTC ([`btc`]) once per sum, so 0.03 + 0.07 BTC equals 0.1 BTC.

use std::sync::Arc;

use nostr_sdk::{EventId, PublicKey};

use super::rules::VoteRules;
use super::sealed::find_ballot_token;
use super::vote_type::{parse_keyword, parse_poll_option, VoteType};
use crate::nostr::nip57::ValidZap;

/// Millisatoshis in one bitcoin.
pub const MSAT_PER_BTC: u64 = 100_000_000_000;

/// A whole sum of msat in BTC. Convert sums, never add converted parts.
pub fn btc(msat: u64) -> f64 {
    msat as f64 / MSAT_PER_BTC as f64
}

/// One valid zap receipt, reduced to what the vote rules read.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    /// The kind 9735 receipt's id.
    pub receipt_id: EventId,
    /// The zap request's author: who paid, and who votes.
    pub sender: PublicKey,
    /// The bot that was zapped.
    pub recipient: PublicKey,
    /// The LNURL provider that signed the receipt.
    pub zapper: PublicKey,
    pub amount_msat: u64,
    /// The receipt's `created_at`, unix seconds.
    pub created_at: u64,
    /// The zapped event (the zap request's `e`), if any.
    pub event: Option<EventId>,
    /// The zapped address (the zap request's `a`, `kind:pubkey:d`), if any.
    pub address: Option<String>,
    /// The first vote keyword of the zap request's content.
    pub keyword: Option<VoteType>,
    /// The type the zap request's `poll_option` names (`0`, `1`, `2`), if it has a valid one.
    /// It is the vote's type only on a zap to the proposal's zap poll
    /// ([`crate::votes::Proposal::explicit_type`]).
    pub poll_option: Option<VoteType>,
    /// The sealed ballot token in the zap request's content ([`ballot_in`]), if any. On a
    /// proposal with ballot keys it outranks the keywords.
    pub ballot: Option<Arc<str>>,
    /// A private zap (an `anon` tag with a value): no contribution and no vote, only counted
    /// in `private_zaps` ([`crate::votes::private_zaps`]).
    pub private_zap: bool,
}

/// The ballot token a zap comment holds, if any ([`find_ballot_token`]).
pub fn ballot_in(content: &str) -> Option<Arc<str>> {
    find_ballot_token(content).map(Arc::from)
}

impl Contribution {
    pub fn from_valid_zap(zap: &ValidZap) -> Contribution {
        Contribution {
            receipt_id: zap.receipt_id(),
            sender: zap.sender(),
            recipient: zap.recipient(),
            zapper: zap.zapper(),
            amount_msat: zap.amount_msat(),
            created_at: zap.created_at().as_secs(),
            event: zap.event(),
            address: zap.address().map(str::to_owned),
            keyword: parse_keyword(zap.content()),
            poll_option: zap.poll_option().and_then(parse_poll_option),
            ballot: ballot_in(zap.content()),
            private_zap: zap.is_private_zap(),
        }
    }

    /// Whether the rules count this receipt at all: signed by one of the pinned `zappers`, and
    /// paid to one of the pinned `bots` (any recipient when none are pinned). A private zap
    /// that passes is still no contribution; the tally only counts it in `private_zaps`.
    pub fn counts_under(&self, rules: &VoteRules) -> bool {
        rules.zappers.binary_search(&self.zapper).is_ok()
            && (rules.bots.is_empty() || rules.bots.binary_search(&self.recipient).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use nostr_sdk::Keys;

    use super::*;
    use crate::configuration::GovernanceSettings;

    fn contribution(zapper: PublicKey, recipient: PublicKey) -> Contribution {
        Contribution {
            receipt_id: EventId::from_byte_array([1; 32]),
            sender: Keys::generate().public_key(),
            recipient,
            zapper,
            amount_msat: 1_000,
            created_at: 1_700_000_000,
            event: None,
            address: None,
            keyword: None,
            poll_option: None,
            ballot: None,
            private_zap: false,
        }
    }

    #[test]
    fn from_valid_zap_reads_the_receipt_and_the_keyword() {
        use std::collections::HashMap;

        use crate::nostr::nip57::{validate, Zapper};
        use crate::nostr::zap_provider::{ZapProvider, ZapTarget};

        let provider = ZapProvider::generate();
        let bot = Keys::generate().public_key();
        let sender = Keys::generate();
        let proposal = EventId::from_byte_array([7; 32]);
        let target = ZapTarget::new(bot, 21_000)
            .event(proposal)
            .content("I OPPOSE this, not support");
        let receipt = provider.zap(&sender, &target).expect("zap");
        let recipients = HashMap::from([(bot, Zapper::Known(provider.public_key()))]);
        let zap = validate(&receipt, &recipients).expect("valid");
        let c = Contribution::from_valid_zap(&zap);
        assert_eq!(c.receipt_id, receipt.id);
        assert_eq!(c.sender, sender.public_key());
        assert_eq!(c.recipient, bot);
        assert_eq!(c.zapper, provider.public_key());
        assert_eq!(c.amount_msat, 21_000);
        assert_eq!(c.created_at, receipt.created_at.as_secs());
        assert_eq!(c.event, Some(proposal));
        assert_eq!(c.address, None);
        assert_eq!(c.keyword, Some(VoteType::Veto));
        assert_eq!(c.poll_option, None);
    }

    #[test]
    fn btc_converts_whole_sums() {
        assert_eq!(btc(MSAT_PER_BTC), 1.0);
        assert_eq!(btc(3_000_000_000 + 7_000_000_000), 0.1);
        assert_eq!(btc(0), 0.0);
    }

    #[test]
    fn only_pinned_zappers_and_bots_count() {
        let zapper = Keys::generate().public_key();
        let other = Keys::generate().public_key();
        let bot = Keys::generate().public_key();
        let settings = GovernanceSettings::default();
        let rules = VoteRules::new(&settings, 1, vec![zapper], vec![bot]);
        assert!(contribution(zapper, bot).counts_under(&rules));
        assert!(!contribution(other, bot).counts_under(&rules));
        assert!(!contribution(zapper, other).counts_under(&rules));
        // No bots pinned: any recipient.
        let any_bot = VoteRules::new(&settings, 1, vec![zapper], vec![]);
        assert!(contribution(zapper, other).counts_under(&any_bot));
        assert!(!contribution(other, other).counts_under(&any_bot));
    }
}
