//! Whose receipts a bot takes: the LNURL provider key each of our bots' receipts must be
//! signed by ([`Zapper`], [`ZapRecipients`]), and whether a rejected receipt is proven to
//! come from one ([`signed_by_known_zapper`]).

use super::*;

/// What [`ZapRecipients`] knows about one of our bots' LNURL provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Zapper {
    /// The provider's `nostrPubkey`: the only key allowed to sign receipts for the bot (rule 2).
    Known(PublicKey),
    /// The bot is ours but its lightning address has not been resolved yet.
    Pending,
}

/// The bots whose zap receipts we judge, and their LNURL providers' keys.
pub trait ZapRecipients {
    /// `None` when `bot` is not one of ours; otherwise what we know of its LNURL provider.
    fn zapper(&self, bot: &PublicKey) -> Option<Zapper>;

    /// Whether `key` is the known provider key of any of our bots.
    fn is_known_zapper(&self, key: &PublicKey) -> bool;
}

impl<S: BuildHasher> ZapRecipients for HashMap<PublicKey, Zapper, S> {
    fn zapper(&self, bot: &PublicKey) -> Option<Zapper> {
        self.get(bot).copied()
    }

    fn is_known_zapper(&self, key: &PublicKey) -> bool {
        self.values().any(|z| *z == Zapper::Known(*key))
    }
}

impl ZapRecipients for BTreeMap<PublicKey, Zapper> {
    fn zapper(&self, bot: &PublicKey) -> Option<Zapper> {
        self.get(bot).copied()
    }

    fn is_known_zapper(&self, key: &PublicKey) -> bool {
        self.values().any(|z| *z == Zapper::Known(*key))
    }
}

impl<T: ZapRecipients + ?Sized> ZapRecipients for &T {
    fn zapper(&self, bot: &PublicKey) -> Option<Zapper> {
        (**self).zapper(bot)
    }

    fn is_known_zapper(&self, key: &PublicKey) -> bool {
        (**self).is_known_zapper(key)
    }
}

/// Whether `receipt` is proven to come from a known LNURL provider: its author is the known
/// provider key ([`Zapper::Known`]) of one of our bots, and its id and signature verify. (A
/// provider known for one bot is a real provider, even on a receipt to a bot whose key is
/// still pending.)
///
/// The ledger asks this of rejected receipts. One that is not proven (rule 1, rule 2, or any
/// other rule broken by a stranger's key) is junk that anyone can sign in any number: it is
/// counted per signer, never kept whole. One that is proven is a real provider sending
/// something broken, and is worth keeping in full. The cheap test (a key compared) comes first,
/// so junk from random keys costs no signature check.
pub fn signed_by_known_zapper<R>(receipt: &Event, recipients: &R) -> bool
where
    R: ZapRecipients + ?Sized,
{
    recipients.is_known_zapper(&receipt.pubkey)
        && compute_event_id(receipt) == Some(receipt.id)
        && receipt.verify_signature()
}
