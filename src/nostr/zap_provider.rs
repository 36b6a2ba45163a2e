//! A minimal LNURL provider ("zapper") that issues NIP-57 zaps the way a real one does.
//!
//! Tests, benchmarks and the development setup need zap receipts that are real in every byte a
//! validator looks at, without a Lightning node: this module makes them. A zap takes three steps,
//! each a call here, so a test can stop after any step and forge the next one:
//!
//! 1. the sender's client signs a kind 9734 zap request ([`zap_request`]): `p` (the recipient),
//!    optional `e` / `a` (what is zapped), `amount`, `relays`, and the vote text as content;
//! 2. the provider checks the request as NIP-57 tells it to and issues a BOLT11 invoice
//!    ([`ZapProvider::invoice`]) built with `lightning-invoice`: mainnet, the amount in msat, a
//!    fresh random preimage (its SHA-256 is the payment hash) and payment secret, description hash
//!    = SHA-256 of the zap request's JSON, `min_final_cltv_expiry_delta`, signed by the node key
//!    with a recoverable ECDSA signature;
//! 3. once "paid", the provider signs the kind 9735 receipt ([`ZapProvider::receipt`]): `p` and
//!    `e` / `a` copied from the request, `bolt11`, `description` (the request's JSON), `preimage`.
//!
//! [`ZapProvider::zap`] does all three. For forgeries, [`ZapProvider::sign_invoice`] commits to
//! any text with any amount (or none), and [`ZapProvider::keys`] signs any receipt one builds.
//!
//! Nothing is paid and nothing is sent: this is library code with no I/O.

use std::time::Duration;

use lightning_invoice::{Currency, InvoiceBuilder, PaymentSecret};
use nostr_sdk::hashes::{sha256, Hash};
use nostr_sdk::nips::nip01::Coordinate;
use nostr_sdk::nips::nip57::ZapRequestData;
use nostr_sdk::secp256k1;
use nostr_sdk::{
    Event, EventBuilder, EventId, JsonUtil, Keys, Kind, PublicKey, RelayUrl, Timestamp, SECP256K1,
};
use rand::RngCore;
use thiserror::Error;

/// The `min_final_cltv_expiry_delta` our invoices carry (LND's default).
pub const MIN_FINAL_CLTV_EXPIRY_DELTA: u64 = 80;

/// What can go wrong making a zap.
#[derive(Debug, Error)]
pub enum ZapProviderError {
    /// Signing an event failed.
    #[error("could not sign the event: {0}")]
    Sign(#[from] nostr_sdk::event::builder::Error),
    /// The invoice could not be built (amount overflow, timestamp out of range, ...).
    /// (Not a `#[source]`: `CreationError` is only an `Error` with lightning-invoice's `std`.)
    #[error("could not build the invoice: {0}")]
    Invoice(lightning_invoice::CreationError),
    /// The hash of the zapper key is not a valid secret key (odds about 2^-128).
    #[error("cannot derive the development node key")]
    NodeKey,
    /// The zap request is one a NIP-57 provider must refuse.
    #[error("zap request refused: {0}")]
    BadZapRequest(&'static str),
}

impl From<lightning_invoice::CreationError> for ZapProviderError {
    fn from(error: lightning_invoice::CreationError) -> Self {
        Self::Invoice(error)
    }
}

/// What a sender zaps: the recipient, optionally an event and/or an address, and how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZapTarget {
    /// The recipient (a bot's pubkey): the request's `p` tag.
    pub recipient: PublicKey,
    /// The zapped event (`e` tag), if any.
    pub event: Option<EventId>,
    /// The zapped addressable event (`a` tag), if any.
    pub address: Option<Coordinate>,
    /// The amount paid, in millisatoshis.
    pub amount_msat: u64,
    /// Whether the zap request carries an `amount` tag (NIP-57 recommends it; it is optional).
    pub amount_tag: bool,
    /// The zap request's content: the vote text.
    pub content: String,
    /// Where the provider should publish the receipt (`relays` tag).
    pub relays: Vec<RelayUrl>,
}

impl ZapTarget {
    /// A zap of `amount_msat` to `recipient`, with an `amount` tag, no content and no relays.
    pub fn new(recipient: PublicKey, amount_msat: u64) -> Self {
        Self {
            recipient,
            event: None,
            address: None,
            amount_msat,
            amount_tag: true,
            content: String::new(),
            relays: Vec::new(),
        }
    }

    /// Zaps this event.
    pub fn event(mut self, event: EventId) -> Self {
        self.event = Some(event);
        self
    }

    /// Zaps this address (`kind:pubkey:d`).
    pub fn address(mut self, address: Coordinate) -> Self {
        self.address = Some(address);
        self
    }

    /// Sets the vote text.
    pub fn content(mut self, content: impl Into<String>) -> Self {
        self.content = content.into();
        self
    }

    /// Leaves the `amount` tag out of the zap request.
    pub fn without_amount_tag(mut self) -> Self {
        self.amount_tag = false;
        self
    }

    /// Sets the `relays` tag.
    pub fn relays(mut self, relays: impl IntoIterator<Item = RelayUrl>) -> Self {
        self.relays = relays.into_iter().collect();
        self
    }
}

/// An invoice the provider issued, with the secret that settles it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedInvoice {
    /// The BOLT11 string.
    pub bolt11: String,
    /// The payment hash, SHA-256 of `preimage`.
    pub payment_hash: [u8; 32],
    /// The payment preimage, revealed by payment.
    pub preimage: [u8; 32],
}

impl IssuedInvoice {
    /// The payment hash in lowercase hex.
    pub fn payment_hash_hex(&self) -> String {
        hex::encode(self.payment_hash)
    }
}

/// The sender's side: signs a kind 9734 zap request for `target` with `sender`'s key.
pub fn zap_request(sender: &Keys, target: &ZapTarget) -> Result<Event, ZapProviderError> {
    let mut data = ZapRequestData::new(target.recipient, target.relays.iter().cloned())
        .message(target.content.clone());
    if target.amount_tag {
        data = data.amount(target.amount_msat);
    }
    if let Some(event) = target.event {
        data = data.event_id(event);
    }
    if let Some(address) = &target.address {
        data = data.event_coordinate(address.clone());
    }
    Ok(EventBuilder::public_zap_request(data).sign_with_keys(sender)?)
}

/// An LNURL provider: its Nostr key (the `nostrPubkey` of its LNURL-pay answers, which signs
/// receipts) and its Lightning node's key (which signs invoices).
#[derive(Debug, Clone)]
pub struct ZapProvider {
    keys: Keys,
    node_key: secp256k1::SecretKey,
}

impl ZapProvider {
    /// A provider with these keys.
    pub fn new(keys: Keys, node_key: secp256k1::SecretKey) -> Self {
        Self { keys, node_key }
    }

    /// The development provider of the service's own bots (`lnurl.dev_provider`): `keys` is
    /// the development zapper key, and its node key is derived from it (SHA-256 of a fixed label
    /// and the secret), so invoices keep recovering to one node across restarts without a
    /// second key file. Never for a real node: the node key is only as secret as the zapper's.
    pub fn development(keys: Keys) -> Result<Self, ZapProviderError> {
        let mut material = b"commons-nostr development node key".to_vec();
        material.extend_from_slice(keys.secret_key().as_secret_bytes());
        let node_key =
            secp256k1::SecretKey::from_slice(sha256::Hash::hash(&material).as_byte_array())
                .map_err(|_| ZapProviderError::NodeKey)?;
        Ok(Self::new(keys, node_key))
    }

    /// A provider with fresh random keys.
    pub fn generate() -> Self {
        Self::new(
            Keys::generate(),
            secp256k1::SecretKey::new(&mut secp256k1::rand::thread_rng()),
        )
    }

    /// The provider's `nostrPubkey`.
    pub fn public_key(&self) -> PublicKey {
        self.keys.public_key()
    }

    /// The provider's Nostr keys (to sign hand-made receipts).
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The node's public key, which invoices recover to.
    pub fn node_public_key(&self) -> secp256k1::PublicKey {
        secp256k1::PublicKey::from_secret_key(SECP256K1, &self.node_key)
    }

    /// Checks `zap_request` as NIP-57 (appendix D) tells a provider to, then issues an invoice for
    /// `amount_msat` committing to the request's JSON, timestamped now.
    pub fn invoice(
        &self,
        zap_request: &Event,
        amount_msat: u64,
    ) -> Result<IssuedInvoice, ZapProviderError> {
        self.invoice_at(zap_request, amount_msat, Timestamp::now())
    }

    /// [`ZapProvider::invoice`], timestamped `timestamp`: for zaps dated in the past (a receipt
    /// must not precede its invoice, DESIGN.md rule 8).
    pub fn invoice_at(
        &self,
        zap_request: &Event,
        amount_msat: u64,
        timestamp: Timestamp,
    ) -> Result<IssuedInvoice, ZapProviderError> {
        check_zap_request(zap_request, amount_msat)?;
        self.sign_invoice(&zap_request.as_json(), Some(amount_msat), timestamp)
    }

    /// Issues an invoice whose description hash is SHA-256 of `description`, for `amount_msat`
    /// (none when `None`), timestamped `timestamp`. No check at all: the forging tool.
    pub fn sign_invoice(
        &self,
        description: &str,
        amount_msat: Option<u64>,
        timestamp: Timestamp,
    ) -> Result<IssuedInvoice, ZapProviderError> {
        let mut preimage = [0u8; 32];
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut preimage);
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let payment_hash = sha256::Hash::hash(&preimage);

        let mut builder = InvoiceBuilder::new(Currency::Bitcoin)
            .description_hash(sha256::Hash::hash(description.as_bytes()))
            .payment_hash(payment_hash)
            .payment_secret(PaymentSecret(secret))
            .duration_since_epoch(Duration::from_secs(timestamp.as_secs()))
            .min_final_cltv_expiry_delta(MIN_FINAL_CLTV_EXPIRY_DELTA);
        if let Some(amount_msat) = amount_msat {
            builder = builder.amount_milli_satoshis(amount_msat);
        }
        let invoice = builder
            .build_signed(|message| SECP256K1.sign_ecdsa_recoverable(message, &self.node_key))?;
        Ok(IssuedInvoice {
            bolt11: invoice.to_string(),
            payment_hash: payment_hash.to_byte_array(),
            preimage,
        })
    }

    /// Signs the kind 9735 receipt for a paid `bolt11` issued for `zap_request`: `p`, `e` / `a`
    /// copied from the request, `P` (the sender), `bolt11`, `description` = the request's JSON,
    /// and `preimage` (hex) when given.
    pub fn receipt(
        &self,
        zap_request: &Event,
        bolt11: &str,
        preimage: Option<&[u8; 32]>,
        created_at: Timestamp,
    ) -> Result<Event, ZapProviderError> {
        Ok(
            EventBuilder::zap_receipt(bolt11, preimage.map(hex::encode), zap_request)
                .custom_created_at(created_at)
                .sign_with_keys(&self.keys)?,
        )
    }

    /// A whole zap: `sender` signs the request for `target`, the provider issues the invoice for
    /// `target.amount_msat`, it is paid, and the provider signs the receipt (all timestamped now).
    pub fn zap(&self, sender: &Keys, target: &ZapTarget) -> Result<Event, ZapProviderError> {
        let request = zap_request(sender, target)?;
        let invoice = self.invoice(&request, target.amount_msat)?;
        self.receipt(
            &request,
            &invoice.bolt11,
            Some(&invoice.preimage),
            Timestamp::now(),
        )
    }
}

/// What NIP-57 appendix D asks of a provider before it issues an invoice.
fn check_zap_request(request: &Event, amount_msat: u64) -> Result<(), ZapProviderError> {
    if request.kind != Kind::ZapRequest {
        return Err(ZapProviderError::BadZapRequest("not a kind 9734 event"));
    }
    if request.verify().is_err() {
        return Err(ZapProviderError::BadZapRequest("invalid id or signature"));
    }
    let count = |name: &str| {
        request
            .tags
            .iter()
            .filter(|tag| tag.as_slice().first().map(String::as_str) == Some(name))
            .count()
    };
    if count("p") != 1 {
        return Err(ZapProviderError::BadZapRequest("needs exactly one p tag"));
    }
    if count("e") > 1 {
        return Err(ZapProviderError::BadZapRequest("has more than one e tag"));
    }
    if count("a") > 1 {
        return Err(ZapProviderError::BadZapRequest("has more than one a tag"));
    }
    let amount_matches = request
        .tags
        .iter()
        .map(|tag| tag.as_slice())
        .filter(|tag| tag.first().map(String::as_str) == Some("amount"))
        .all(|tag| tag.get(1).and_then(|v| v.parse::<u64>().ok()) == Some(amount_msat));
    if !amount_matches {
        return Err(ZapProviderError::BadZapRequest(
            "amount tag differs from the amount asked",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescriptionRef};

    use super::*;

    #[test]
    fn zap_is_a_well_formed_nip57_receipt() -> Result<(), Box<dyn std::error::Error>> {
        let provider = ZapProvider::generate();
        let sender = Keys::generate();
        let bot = Keys::generate().public_key();
        let proposal = EventId::all_zeros();
        let target = ZapTarget::new(bot, 21_000)
            .event(proposal)
            .content("support")
            .relays([RelayUrl::parse("wss://relay.example.org")?]);

        let receipt = provider.zap(&sender, &target)?;
        receipt.verify()?;
        assert_eq!(receipt.kind, Kind::ZapReceipt);
        assert_eq!(receipt.pubkey, provider.public_key());

        let value = |name: &str| {
            receipt
                .tags
                .iter()
                .find(|t| t.as_slice().first().map(String::as_str) == Some(name))
                .and_then(|t| t.as_slice().get(1).cloned())
        };
        let description = value("description").ok_or("no description")?;
        let request = Event::from_json(&description)?;
        request.verify()?;
        assert_eq!(request.kind, Kind::ZapRequest);
        assert_eq!(request.pubkey, sender.public_key());
        assert_eq!(request.content, "support");
        assert_eq!(value("p"), Some(bot.to_hex()));
        assert_eq!(value("e"), Some(proposal.to_hex()));

        let invoice = Bolt11Invoice::from_str(&value("bolt11").ok_or("no bolt11")?)?;
        assert_eq!(invoice.amount_milli_satoshis(), Some(21_000));
        assert_eq!(invoice.currency(), Currency::Bitcoin);
        assert_eq!(invoice.recover_payee_pub_key(), provider.node_public_key());
        assert_eq!(
            invoice.min_final_cltv_expiry_delta(),
            MIN_FINAL_CLTV_EXPIRY_DELTA
        );
        assert_eq!(
            invoice.description(),
            Bolt11InvoiceDescriptionRef::Hash(&lightning_invoice::Sha256(sha256::Hash::hash(
                description.as_bytes()
            )))
        );
        let preimage = hex::decode(value("preimage").ok_or("no preimage")?)?;
        assert_eq!(sha256::Hash::hash(&preimage), *invoice.payment_hash());
        Ok(())
    }

    #[test]
    fn development_provider_keeps_its_node_across_restarts(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let zapper = Keys::generate();
        let first = ZapProvider::development(zapper.clone())?;
        let again = ZapProvider::development(zapper.clone())?;
        assert_eq!(first.public_key(), zapper.public_key());
        assert_eq!(first.node_public_key(), again.node_public_key());
        let other = ZapProvider::development(Keys::generate())?;
        assert_ne!(first.node_public_key(), other.node_public_key());
        Ok(())
    }

    #[test]
    fn provider_refuses_what_nip57_says_to_refuse() -> Result<(), Box<dyn std::error::Error>> {
        let provider = ZapProvider::generate();
        let sender = Keys::generate();
        let request = zap_request(
            &sender,
            &ZapTarget::new(Keys::generate().public_key(), 5_000),
        )?;
        assert!(matches!(
            provider.invoice(&request, 6_000),
            Err(ZapProviderError::BadZapRequest(_))
        ));
        let note = EventBuilder::text_note("hi").sign_with_keys(&sender)?;
        assert!(matches!(
            provider.invoice(&note, 5_000),
            Err(ZapProviderError::BadZapRequest(_))
        ));
        // The forging tool issues anything, including an invoice without an amount.
        let forged =
            provider.sign_invoice("anything", None, Timestamp::from_secs(1_700_000_000))?;
        let invoice = Bolt11Invoice::from_str(&forged.bolt11)?;
        assert_eq!(invoice.amount_milli_satoshis(), None);
        assert_eq!(invoice.duration_since_epoch().as_secs(), 1_700_000_000);
        assert_eq!(
            forged.payment_hash_hex(),
            hex::encode(invoice.payment_hash().to_byte_array())
        );
        Ok(())
    }
}
