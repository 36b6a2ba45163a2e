//! Zap fixtures made the way a real LNURL provider makes them ([`ZapProvider`]): a signed zap
//! request, a BOLT11 invoice signed by the provider's node key committing to it, a signed
//! receipt, and one forgery per DESIGN.md rule, each breaking only that rule. Plus what the zap
//! tests need around them: a service configured with the provider's key, a relay that caps
//! every `REQ` (to prove backfill paginates), a local LNURL-pay server whose answer a test can
//! switch, publishing in bulk, and waiting on the database.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use commons_nostr::nostr::embedded_relay::EmbeddedRelay;
use commons_nostr::nostr::zap_provider::{zap_request, ZapProvider, ZapTarget};
use commons_nostr::startup::Application;
use commons_nostr::store::entities::{
    contribution, junk_receipt_signer, rejected_receipt, zap_receipt,
};
use futures::StreamExt;
use lightning_invoice::{RawTaggedField, TaggedField};
use nostr_relay_builder::prelude::{MemoryDatabase, MemoryDatabaseOptions, RelayBuilder};
use nostr_sdk::prelude::*;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use super::app::{TestConfig, BOTS};

/// The amount of every honest test zap.
pub const AMOUNT_MSAT: u64 = 21_000;

/// An honest zap as a real LNURL provider makes it: `sender` signs the zap request for
/// `target`, `provider` invoices it at `created_at` (its node key signing a BOLT11 invoice whose
/// description hash commits to the request), it is paid, and the provider signs the receipt,
/// created at `created_at` with the preimage.
pub fn paid_zap(
    provider: &ZapProvider,
    sender: &Keys,
    target: &ZapTarget,
    created_at: Timestamp,
) -> Event {
    let request = zap_request(sender, target).expect("zap request");
    let invoice = provider
        .invoice_at(&request, target.amount_msat, created_at)
        .expect("invoice");
    provider
        .receipt(
            &request,
            &invoice.bolt11,
            Some(&invoice.preimage),
            created_at,
        )
        .expect("receipt")
}

/// One LNURL provider, one sender, one bot: honest zaps and forgeries.
pub struct Zaps {
    pub provider: ZapProvider,
    pub sender: Keys,
    pub bot: PublicKey,
}

impl Zaps {
    pub fn new(bot: PublicKey) -> Zaps {
        Zaps {
            provider: ZapProvider::generate(),
            sender: Keys::generate(),
            bot,
        }
    }

    /// What an honest sender zaps: the bot, with a vote text.
    pub fn target(&self, text: &str) -> ZapTarget {
        ZapTarget::new(self.bot, AMOUNT_MSAT).content(text)
    }

    /// An honest zap of `target`, receipt created at `created_at`.
    pub fn zap_at(&self, target: &ZapTarget, created_at: Timestamp) -> Event {
        paid_zap(&self.provider, &self.sender, target, created_at)
    }

    /// An honest zap, now.
    pub fn honest(&self, text: &str) -> Event {
        self.zap_at(&self.target(text), Timestamp::now())
    }

    /// A kind 9735 receipt with exactly these tags, signed by `keys`.
    pub fn receipt_with(keys: &Keys, tags: Vec<Tag>, created_at: Timestamp) -> Event {
        EventBuilder::new(Kind::ZapReceipt, "")
            .tags(tags)
            .custom_created_at(created_at)
            .sign_with_keys(keys)
            .expect("receipt")
    }

    fn core_tags(&self, description: &str, bolt11: &str) -> Vec<Tag> {
        vec![
            Tag::public_key(self.bot),
            Tag::parse(["bolt11", bolt11]).expect("tag"),
            Tag::parse(["description", description]).expect("tag"),
        ]
    }

    /// A receipt breaking only DESIGN.md rule `rule` (2 to 6), and the reason it must get.
    pub fn forged(&self, rule: u8, text: &str, created_at: Timestamp) -> (Event, &'static str) {
        let target = self.target(text);
        match rule {
            // Rule 2: a perfectly good zap, from another provider.
            2 => (
                Zaps {
                    provider: ZapProvider::generate(),
                    sender: self.sender.clone(),
                    bot: self.bot,
                }
                .zap_at(&target, created_at),
                "wrong_zapper",
            ),
            // Rule 3: the zap request is to someone else; the receipt says it is to our bot.
            3 => {
                let elsewhere =
                    ZapTarget::new(Keys::generate().public_key(), AMOUNT_MSAT).content(text);
                let request = zap_request(&self.sender, &elsewhere).expect("zap request");
                let invoice = self
                    .provider
                    .sign_invoice(&request.as_json(), Some(AMOUNT_MSAT), created_at)
                    .expect("invoice");
                let tags = self.core_tags(&request.as_json(), &invoice.bolt11);
                (
                    Self::receipt_with(self.provider.keys(), tags, created_at),
                    "zap_request_recipient_mismatch",
                )
            }
            // Rule 4: the invoice's node signature does not check out (it names a payee whose
            // key did not sign it). An invoice committing to another description is no longer
            // a forgery that rejects: it counts with an anomaly (see `Zaps::anomalous`).
            4 => {
                let request = zap_request(&self.sender, &target).expect("zap request");
                let payee = nostr_sdk::secp256k1::SecretKey::new(&mut rand::thread_rng());
                let bolt11 = node_signed_invoice(
                    &request.as_json(),
                    created_at,
                    Some(nostr_sdk::secp256k1::PublicKey::from_secret_key(
                        nostr_sdk::SECP256K1,
                        &payee,
                    )),
                    |_| {},
                );
                (
                    self.provider
                        .receipt(&request, &bolt11, None, created_at)
                        .expect("receipt"),
                    "bolt11_invalid",
                )
            }
            // Rule 5: the invoice is for another amount than the request's `amount` tag.
            5 => {
                let request = zap_request(&self.sender, &target).expect("zap request");
                let invoice = self
                    .provider
                    .sign_invoice(&request.as_json(), Some(AMOUNT_MSAT + 1_000), created_at)
                    .expect("invoice");
                (
                    self.provider
                        .receipt(
                            &request,
                            &invoice.bolt11,
                            Some(&invoice.preimage),
                            created_at,
                        )
                        .expect("receipt"),
                    "amount_mismatch",
                )
            }
            // Rule 6: the receipt names an event the zap request does not.
            6 => {
                let request = zap_request(&self.sender, &target).expect("zap request");
                let invoice = self
                    .provider
                    .sign_invoice(&request.as_json(), Some(AMOUNT_MSAT), created_at)
                    .expect("invoice");
                let mut tags = self.core_tags(&request.as_json(), &invoice.bolt11);
                tags.push(Tag::event(EventId::from_byte_array([7u8; 32])));
                (
                    Self::receipt_with(self.provider.keys(), tags, created_at),
                    "target_mismatch",
                )
            }
            other => panic!("no forgery for rule {other}"),
        }
    }
}

/// A receipt that counts although it fails a check of rules 4 or 7 (DESIGN.md "Zaps accepted"),
/// as real providers make them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anomalous {
    /// Primal: the invoice commits to a constant, not to the zap request.
    ConstantDescriptionHash,
    /// Alby Hub on a zap with a comment: a plain description, no description hash.
    NoDescriptionHash,
    /// Primal: no payment hash (and no description hash, no payment secret).
    NoPaymentHash,
    /// Coinos on an internal zap: its payment id, a UUID, as the preimage.
    UuidPreimage,
}

impl Anomalous {
    /// The checks the receipt fails, as the ledger writes them.
    pub fn anomalies(self) -> &'static str {
        match self {
            Anomalous::ConstantDescriptionHash | Anomalous::NoDescriptionHash => "description_hash",
            Anomalous::NoPaymentHash => "description_hash,payment_hash",
            Anomalous::UuidPreimage => "preimage",
        }
    }
}

impl Zaps {
    /// A zap of `text` at `created_at` whose receipt fails the checks of `kind`.
    pub fn anomalous(&self, kind: Anomalous, text: &str, created_at: Timestamp) -> Event {
        self.anomalous_zap(kind, &self.target(text), created_at)
    }

    /// A zap of `target` (its amount must be [`AMOUNT_MSAT`]) at `created_at` whose receipt
    /// fails the checks of `kind`.
    pub fn anomalous_zap(
        &self,
        kind: Anomalous,
        target: &ZapTarget,
        created_at: Timestamp,
    ) -> Event {
        let text = target.content.as_str();
        let request = zap_request(&self.sender, target).expect("zap request");
        let (bolt11, preimage) = match kind {
            Anomalous::ConstantDescriptionHash => {
                let invoice = self
                    .provider
                    .sign_invoice("a constant", Some(AMOUNT_MSAT), created_at)
                    .expect("invoice");
                (invoice.bolt11, None)
            }
            Anomalous::NoDescriptionHash => (
                node_signed_invoice(text, created_at, None, |fields| {
                    for field in fields.iter_mut() {
                        if let RawTaggedField::KnownSemantics(TaggedField::DescriptionHash(_)) =
                            field
                        {
                            let comment =
                                lightning_invoice::Description::new(text.to_owned()).expect("d");
                            *field =
                                RawTaggedField::KnownSemantics(TaggedField::Description(comment));
                        }
                    }
                }),
                None,
            ),
            Anomalous::NoPaymentHash => (
                node_signed_invoice(text, created_at, None, |fields| {
                    fields.retain(|field| {
                        !matches!(
                            field,
                            RawTaggedField::KnownSemantics(
                                TaggedField::PaymentHash(_)
                                    | TaggedField::PaymentSecret(_)
                                    | TaggedField::DescriptionHash(_)
                            )
                        )
                    });
                    let comment = lightning_invoice::Description::new(String::new()).expect("d");
                    fields.push(RawTaggedField::KnownSemantics(TaggedField::Description(
                        comment,
                    )));
                }),
                None,
            ),
            Anomalous::UuidPreimage => {
                let invoice = self
                    .provider
                    .invoice_at(&request, AMOUNT_MSAT, created_at)
                    .expect("invoice");
                (invoice.bolt11, Some(uuid_like(&request.id)))
            }
        };
        let mut tags = self.core_tags(&request.as_json(), &bolt11);
        if let Some(event) = target.event {
            tags.push(Tag::event(event));
        }
        if let Some(preimage) = preimage {
            tags.push(Tag::parse(["preimage", &preimage]).expect("tag"));
        }
        Self::receipt_with(self.provider.keys(), tags, created_at)
    }
}

/// A UUID-shaped text made from `seed` (what Coinos sends as a preimage).
fn uuid_like(seed: &EventId) -> String {
    let hex = seed.to_hex();
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// A BOLT11 invoice for [`AMOUNT_MSAT`] committing to `description` (its hash), issued at
/// `created_at` with a fresh payment hash, naming `payee` when given, its tagged fields then
/// edited by `edit`, and signed by a fresh node key.
pub fn node_signed_invoice(
    description: &str,
    created_at: Timestamp,
    payee: Option<nostr_sdk::secp256k1::PublicKey>,
    edit: impl FnOnce(&mut Vec<RawTaggedField>),
) -> String {
    use nostr_sdk::hashes::{sha256, Hash};
    use rand::RngCore;

    let node_key = nostr_sdk::secp256k1::SecretKey::new(&mut rand::thread_rng());
    let mut preimage = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut preimage);
    let mut builder = lightning_invoice::InvoiceBuilder::new(lightning_invoice::Currency::Bitcoin)
        .description_hash(sha256::Hash::hash(description.as_bytes()))
        .payment_hash(sha256::Hash::hash(&preimage))
        .payment_secret(lightning_invoice::PaymentSecret([2u8; 32]))
        .duration_since_epoch(Duration::from_secs(created_at.as_secs()))
        .min_final_cltv_expiry_delta(80)
        .amount_milli_satoshis(AMOUNT_MSAT);
    if let Some(payee) = payee {
        builder = builder.payee_pub_key(payee);
    }
    let mut raw = builder.build_raw().expect("raw invoice");
    edit(&mut raw.data.tagged_fields);
    raw.sign::<_, ()>(|m| Ok(nostr_sdk::SECP256K1.sign_ecdsa_recoverable(m, &node_key)))
        .expect("signed")
        .to_string()
}

/// `count` receipts built on every core by `make(i)`, in order.
pub fn build_many<F>(count: usize, make: F) -> Vec<Event>
where
    F: Fn(usize) -> Event + Sync,
{
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = count.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .step_by(chunk)
            .map(|start| {
                let make = &make;
                scope.spawn(move || {
                    (start..(start + chunk).min(count))
                        .map(make)
                        .collect::<Vec<Event>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("builder thread"))
            .collect()
    })
}

/// A service configured for zaps: every bot's LNURL provider is `provider` (so nothing is
/// looked up), and cursors are read back with a small margin.
pub fn zap_config(db_url: &str, relays: Vec<RelayUrl>, provider: &PublicKey) -> TestConfig {
    let mut cfg =
        TestConfig::new(db_url, relays).with("COMMONS__NOSTR__BACKFILL_MARGIN_SECS", "60");
    for bot in BOTS {
        cfg = cfg.with(
            &format!(
                "COMMONS__NOSTR__BOTS__{}__ZAPPER_PUBKEY",
                bot.to_uppercase()
            ),
            &provider.to_hex(),
        );
    }
    cfg
}

/// Events sent without an `OK` yet. nostr-relay-builder drops live events for a subscriber that
/// falls more than 1,024 behind its broadcast (the service then gets them only from another
/// relay or a later backfill), so a test publishing thousands keeps the pace moderate.
const PUBLISH_IN_FLIGHT: usize = 16;

/// Publishes every event to every relay and waits for each relay's `OK`.
pub async fn publish(relays: &[RelayUrl], events: &[Event]) {
    let client = Client::default();
    for url in relays {
        client.add_relay(url.clone()).await.expect("add relay");
    }
    client.connect().await;
    client.wait_for_connection(Duration::from_secs(5)).await;
    let mut sends = futures::stream::iter(events.iter())
        .map(|event| client.send_event(event))
        .buffer_unordered(PUBLISH_IN_FLIGHT);
    while let Some(result) = sends.next().await {
        let output = result.expect("event sent");
        assert_eq!(
            output.success.len(),
            relays.len(),
            "every relay stores the event: {:?}",
            output.failed
        );
    }
    client.shutdown().await;
}

/// A relay that answers at most `cap` events per `REQ`, whatever the `limit` asked.
pub struct CappedRelay {
    relay: EmbeddedRelay,
}

impl CappedRelay {
    pub async fn start(cap: usize) -> CappedRelay {
        let database = MemoryDatabase::with_opts(MemoryDatabaseOptions {
            events: true,
            max_events: Some(1_000_000),
        });
        let builder = RelayBuilder::default()
            .database(database)
            .max_filter_limit(cap);
        let bind: SocketAddr = "127.0.0.1:0".parse().expect("address");
        CappedRelay {
            relay: EmbeddedRelay::start_with(bind, builder)
                .await
                .expect("capped relay starts"),
        }
    }

    pub fn url(&self) -> RelayUrl {
        self.relay.url().clone()
    }
}

/// A local LNURL-pay endpoint: `503` until [`LnurlServer::answer_with`] gives it a key.
pub struct LnurlServer {
    key: Arc<Mutex<Option<PublicKey>>>,
    addr: SocketAddr,
    handle: ServerHandle,
}

impl LnurlServer {
    pub fn start() -> LnurlServer {
        let key: Arc<Mutex<Option<PublicKey>>> = Arc::new(Mutex::new(None));
        let shared = web::Data::new(key.clone());
        let server = HttpServer::new(move || {
            App::new().app_data(shared.clone()).route(
                "/.well-known/lnurlp/{name}",
                web::get().to(|key: web::Data<Arc<Mutex<Option<PublicKey>>>>| async move {
                    let known = *key.lock().expect("lock");
                    match known {
                        None => HttpResponse::ServiceUnavailable().body("not yet"),
                        Some(key) => {
                            HttpResponse::Ok()
                                .content_type("application/json")
                                .body(format!(
                                    r#"{{"tag":"payRequest","callback":"http://127.0.0.1/cb",
                                       "minSendable":1000,"maxSendable":100000000,
                                       "metadata":"[[\"text/plain\",\"gov\"]]",
                                       "allowsNostr":true,"nostrPubkey":"{key}"}}"#
                                ))
                        }
                    }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .expect("bind lnurl server");
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_rt::spawn(server);
        LnurlServer { key, addr, handle }
    }

    pub fn url(&self, name: &str) -> String {
        format!("http://{}/.well-known/lnurlp/{name}", self.addr)
    }

    pub fn answer_with(&self, key: PublicKey) {
        *self.key.lock().expect("lock") = Some(key);
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Waits until `check` holds, polling every 20 ms; panics with `what` after `timeout`.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls the service's metrics until `ready` holds; on timeout the panic shows the zap series.
pub async fn wait_for_metrics(
    app: &Application,
    timeout: Duration,
    what: &str,
    ready: impl Fn(&str) -> bool,
) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let text = metrics(app).await;
        if ready(&text) {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let zaps: Vec<&str> = text
                .lines()
                .filter(|l| l.starts_with("commons_zap_receipts"))
                .collect();
            panic!(
                "timed out after {timeout:?} waiting for {what}; now:\n{}",
                zaps.join("\n")
            );
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
}

pub async fn receipt_rows(db: &DatabaseConnection) -> u64 {
    zap_receipt::Entity::find().count(db).await.expect("count")
}

pub async fn rejected_rows(db: &DatabaseConnection) -> u64 {
    rejected_receipt::Entity::find()
        .count(db)
        .await
        .expect("count")
}

pub async fn contribution_rows(db: &DatabaseConnection) -> u64 {
    contribution::Entity::find().count(db).await.expect("count")
}

/// The rejection reason stored for `receipt`, if it was rejected.
pub async fn rejection_of(db: &DatabaseConnection, receipt: &EventId) -> Option<String> {
    rejected_receipt::Entity::find()
        .filter(rejected_receipt::Column::ReceiptId.eq(receipt.to_hex()))
        .one(db)
        .await
        .expect("query")
        .map(|row| row.reason)
}

/// Rows of `junk_receipt_signers`.
pub async fn junk_rows(db: &DatabaseConnection) -> u64 {
    junk_receipt_signer::Entity::find()
        .count(db)
        .await
        .expect("count")
}

/// The junk tally of `signer`, if it has one.
pub async fn junk_of(
    db: &DatabaseConnection,
    signer: &PublicKey,
) -> Option<junk_receipt_signer::Model> {
    junk_receipt_signer::Entity::find()
        .filter(junk_receipt_signer::Column::Signer.eq(signer.to_hex()))
        .one(db)
        .await
        .expect("query")
}

/// Whether `receipt` is recorded as a zap.
pub async fn is_recorded(db: &DatabaseConnection, receipt: &EventId) -> bool {
    zap_receipt::Entity::find()
        .filter(zap_receipt::Column::ReceiptId.eq(receipt.to_hex()))
        .count(db)
        .await
        .expect("query")
        == 1
}

/// `GET /metrics` of a running service, as text.
pub async fn metrics(app: &Application) -> String {
    let mut response = awc::Client::default()
        .get(format!("http://{}/metrics", app.http_addr()))
        .send()
        .await
        .expect("GET /metrics");
    let body = response.body().await.expect("metrics body");
    String::from_utf8(body.to_vec()).expect("utf-8 metrics")
}

/// The value of one series in Prometheus text (`0` when absent).
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
        .unwrap_or(0.0)
}
