//! Whose zap receipts we judge, and how each bot's LNURL provider key becomes known.
//!
//! Rule 2 of DESIGN.md "Zaps accepted" needs, for every bot, the `nostrPubkey` of its LNURL
//! provider: the only key allowed to sign the bot's zap receipts. DESIGN.md "Keys" says where it
//! comes from:
//!
//! - the bot's `zapper_pubkey` setting, when set: used as is, no lookup is made;
//! - otherwise the bot's lightning address, resolved over HTTPS ([`crate::nostr::lnurl`]) with a short
//!   timeout, cached, and retried in the background with backoff (by the zap tracker) until it
//!   answers.
//!
//! Until a bot's key is known the bot is [`Zapper::Pending`]: the validation still judges every
//! other rule, and a receipt that passes them is kept (by the tracker) rather than rejected.
//!
//! [`RecipientTable`] is the tracker's view (bot -> [`Zapper`]); it is cheap to snapshot (an `Arc`)
//! so a batch can be validated on other threads while the tracker keeps receiving.
//! [`ZapperCache`] keeps resolved keys for the life of the process, so a restarted tracker does
//! not ask again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use nostr_sdk::{PublicKey, Url};

use crate::configuration::BotSettings;
use crate::nostr::lnurl::{self, LnurlError};
use crate::nostr::nip57::{ZapRecipients, Zapper};

/// What the tracker needs to know about one bot to judge its receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotZapConfig {
    /// The bot's name in settings (`gov`, `dev`, ...), for logs.
    pub name: String,
    /// The bot's public key: receipts to it carry it in their `p` tag.
    pub pubkey: PublicKey,
    /// The LNURL provider's key from settings, when given.
    pub zapper_pubkey: Option<PublicKey>,
    /// The bot's lightning address (`lud16`).
    pub lightning_address: String,
    /// An LNURL-pay endpoint to ask instead of the one the address gives (settings).
    pub lnurlp_url: Option<Url>,
}

impl BotZapConfig {
    /// The configuration of bot `name`, whose key is `pubkey`.
    pub fn from_settings(name: &str, pubkey: PublicKey, settings: &BotSettings) -> Self {
        BotZapConfig {
            name: name.to_owned(),
            pubkey,
            zapper_pubkey: settings.zapper_pubkey,
            lightning_address: settings.lightning_address.clone(),
            lnurlp_url: settings.lnurlp_url.clone(),
        }
    }

    /// Where to ask for the provider key: the configured endpoint, or the lightning address's
    /// LNURL-pay URL (LUD-16).
    pub fn endpoint(&self) -> Result<Url, LnurlError> {
        match &self.lnurlp_url {
            Some(url) => Ok(url.clone()),
            None => lnurl::lnurlp_url(&self.lightning_address),
        }
    }
}

/// Keys resolved from lightning addresses (bot -> provider key), shared by every incarnation of
/// the tracker so a restart after a crash does not resolve again. Process memory only: a new
/// service resolves once at start-up, as DESIGN.md "Keys" asks.
#[derive(Debug, Clone, Default)]
pub struct ZapperCache(Arc<Mutex<HashMap<PublicKey, PublicKey>>>);

impl ZapperCache {
    /// The cached provider key of `bot`, if it was resolved.
    pub fn get(&self, bot: &PublicKey) -> Option<PublicKey> {
        match self.0.lock() {
            Ok(map) => map.get(bot).copied(),
            Err(poisoned) => poisoned.into_inner().get(bot).copied(),
        }
    }

    /// Remembers `zapper` as the provider key of `bot`.
    pub fn insert(&self, bot: PublicKey, zapper: PublicKey) {
        match self.0.lock() {
            Ok(mut map) => {
                map.insert(bot, zapper);
            }
            Err(poisoned) => {
                poisoned.into_inner().insert(bot, zapper);
            }
        }
    }
}

/// The tracker's table of bots and their providers' keys. Cloning is cheap (the map is shared
/// until changed), so a batch validated on another thread uses a snapshot.
#[derive(Debug, Clone, Default)]
pub struct RecipientTable {
    zappers: Arc<HashMap<PublicKey, Zapper>>,
}

impl RecipientTable {
    /// Every bot, with its configured key, else its cached key, else pending.
    pub fn new(bots: &[BotZapConfig], cache: &ZapperCache) -> Self {
        let zappers = bots
            .iter()
            .map(|bot| {
                let zapper = bot
                    .zapper_pubkey
                    .or_else(|| cache.get(&bot.pubkey))
                    .map_or(Zapper::Pending, Zapper::Known);
                (bot.pubkey, zapper)
            })
            .collect();
        RecipientTable {
            zappers: Arc::new(zappers),
        }
    }

    /// Records the provider key of `bot` (ignored for a bot that is not ours).
    pub fn set_known(&mut self, bot: PublicKey, zapper: PublicKey) {
        if self.zappers.contains_key(&bot) {
            Arc::make_mut(&mut self.zappers).insert(bot, Zapper::Known(zapper));
        }
    }

    /// Whether `bot`'s provider key is still unknown.
    pub fn is_pending(&self, bot: &PublicKey) -> bool {
        self.zappers.get(bot) == Some(&Zapper::Pending)
    }

    /// Every bot's provider key, sorted and without repeats, once all are known (the `authors`
    /// of the receipts to ask relays for); `None` while any is pending or when there is no bot.
    pub fn known_zappers(&self) -> Option<Vec<PublicKey>> {
        let mut keys = Vec::with_capacity(self.zappers.len());
        for zapper in self.zappers.values() {
            match zapper {
                Zapper::Known(key) => keys.push(*key),
                Zapper::Pending => return None,
            }
        }
        keys.sort_unstable();
        keys.dedup();
        (!keys.is_empty()).then_some(keys)
    }

    /// Every bot's public key (the `#p` of the receipts to ask relays for), in a stable order.
    pub fn bots(&self) -> Vec<PublicKey> {
        let mut bots: Vec<PublicKey> = self.zappers.keys().copied().collect();
        bots.sort_unstable();
        bots
    }

    /// The map itself, for [`crate::nostr::nip57::validate_batch`] on another thread.
    pub fn snapshot(&self) -> Arc<HashMap<PublicKey, Zapper>> {
        Arc::clone(&self.zappers)
    }
}

impl ZapRecipients for RecipientTable {
    fn zapper(&self, bot: &PublicKey) -> Option<Zapper> {
        self.zappers.get(bot).copied()
    }

    fn is_known_zapper(&self, key: &PublicKey) -> bool {
        self.zappers.is_known_zapper(key)
    }
}

#[cfg(test)]
mod tests {
    use nostr_sdk::Keys;

    use super::*;

    fn bot(name: &str, zapper: Option<PublicKey>) -> BotZapConfig {
        BotZapConfig {
            name: name.into(),
            pubkey: Keys::generate().public_key(),
            zapper_pubkey: zapper,
            lightning_address: format!("{name}@example.org"),
            lnurlp_url: None,
        }
    }

    #[test]
    fn configured_cached_and_pending_zappers() {
        let provider = Keys::generate().public_key();
        let cached = Keys::generate().public_key();
        let bots = [
            bot("gov", Some(provider)),
            bot("dev", None),
            bot("research", None),
        ];
        let cache = ZapperCache::default();
        cache.insert(bots[1].pubkey, cached);
        let mut table = RecipientTable::new(&bots, &cache);
        assert_eq!(table.zapper(&bots[0].pubkey), Some(Zapper::Known(provider)));
        assert_eq!(table.zapper(&bots[1].pubkey), Some(Zapper::Known(cached)));
        assert_eq!(table.zapper(&bots[2].pubkey), Some(Zapper::Pending));
        assert!(table.is_pending(&bots[2].pubkey));
        let stranger = Keys::generate().public_key();
        assert_eq!(table.zapper(&stranger), None);

        // A snapshot taken before a key arrives keeps its view; the table moves on.
        let before = table.snapshot();
        table.set_known(bots[2].pubkey, provider);
        table.set_known(stranger, provider);
        assert_eq!(before.zapper(&bots[2].pubkey), Some(Zapper::Pending));
        assert_eq!(table.zapper(&bots[2].pubkey), Some(Zapper::Known(provider)));
        assert_eq!(table.zapper(&stranger), None);
        assert_eq!(table.bots().len(), 3);
    }

    #[test]
    fn endpoint_is_the_override_or_the_address() {
        let mut gov = bot("gov", None);
        assert_eq!(
            gov.endpoint().map(|u| u.to_string()).ok().as_deref(),
            Some("https://example.org/.well-known/lnurlp/gov")
        );
        let local = Url::parse("http://127.0.0.1:9/.well-known/lnurlp/gov").expect("url");
        gov.lnurlp_url = Some(local.clone());
        assert_eq!(gov.endpoint().ok(), Some(local));
        gov.lnurlp_url = None;
        gov.lightning_address = "not an address".into();
        assert!(gov.endpoint().is_err());
    }
}
