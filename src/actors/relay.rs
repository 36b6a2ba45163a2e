//! `RelayActor`: one per configured relay URL.
//!
//! It owns the websocket (through nostr-sdk: no hand-written framing), and so everything that
//! depends on one relay's connection: connecting and reconnecting with exponential backoff and
//! jitter (nostr-sdk's own reconnect loop is switched off so the policy is ours and visible),
//! NIP-42 authentication when the relay asks (nostr-sdk answers `AUTH` with the server key),
//! delivering outbox entries and waiting for each `OK`, subscriptions for other actors, and the
//! relay's health.
//!
//! Relays are independent: one actor per relay means a relay that is down, slow, or accepts the
//! TCP connection and then never answers only ever holds back its own deliveries. Sends are
//! pipelined: many events can wait for their `OK` at once, matched by event id in one place (the
//! notification stream), instead of one waiter per event listening to every message.
//!
//! Every relay actor's relay lives in **one** nostr-sdk [`Client`] ([`relay_client`], made once
//! at start-up and given in the [`RelaySpec`]). Each relay keeps its own connection, tasks and
//! notification channel, so the actors stay independent; what they share is what is per client
//! in nostr-sdk and costs memory per client: the cache of verified event ids (128,000 ids,
//! fixed in nostr-sdk), so a receipt that comes from every relay has its signature checked
//! once, and the client's event-id tracker. A relay is in the client only while its actor is
//! connecting or connected: every attempt adds a fresh one, and a failed attempt or a lost link
//! removes it, so a relay that is down costs no notification channel (about 1 MB each) and no
//! tasks. An actor that stops disconnects its own relay only; the one that replaces it takes
//! its place in the pool.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use futures::channel::oneshot;
use nostr_sdk::prelude::{
    Client, ClientMessage, ClientOptions, Event, EventId, Filter, Keys, MemoryDatabase,
    MemoryDatabaseOptions, Relay, RelayMessage, RelayNotification, RelayOptions, RelayPoolOptions,
    RelayStatus, RelayUrl, ReqExitPolicy, SubscribeOptions, SubscriptionId,
};
use rand::Rng;
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast;

use crate::configuration::ReconnectSettings;
use crate::metrics::Metrics;
use crate::outbox::{self, DeliveryOutcome, Lease, OutboxEntry};
use crate::supervision::{Broadcast, ChildGuard, StopChild, SupervisedActor};

/// How long a relay has to answer an `EVENT` with `OK`.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);
/// Outbox entries read from the database per drain, and the most sent without an `OK` yet.
const DRAIN_PAGE: u64 = 256;
/// Relay notifications buffered before the oldest are dropped (then subscribers resync).
///
/// nostr-sdk allocates and initialises every slot when a relay is added to the client (a tokio
/// broadcast channel of `RelayNotification`s, 248 bytes each plus the slot's own); a relay
/// actor keeps its relay in the client only while connecting or connected, so a relay that is
/// down holds none. It is sized for what it holds, not for the worst case: the actor and
/// nostr-sdk's own readers (`OK` waiters, fetches) run on the thread of the connection that
/// fills it, so it holds one burst at most: a backfill page (`TrackerTuning::page_size`, 500
/// receipts, each notified twice: as an event and as a message) plus the live traffic
/// meanwhile. 4,096 slots (about 1.1 MB) hold four such pages; the 65,536 it had cost 18 MB per
/// configured relay. 2,048 was tried (0.5 MB less per connected relay): backfills alone never
/// fell behind, but two of seven two-minute runs at 1,000 receipts/s on a busy machine stopped
/// keeping up (a lag makes the tracker resync from its cursor, which fills the channel again),
/// so four pages it stays.
const NOTIFICATION_BUFFER: usize = 4_096;
/// The client's pool-wide notification channel. Each actor reads its one relay's
/// notifications, never the pool's, and a broadcast with no receiver stores nothing, but its
/// slots are allocated up front all the same (4,096 of 344 bytes by default): one is enough.
const POOL_NOTIFICATION_BUFFER: usize = 1;
/// Event ids nostr-sdk's client remembers as seen (its `MemoryDatabase`, which stores no
/// events here). nostr-sdk uses it only to notify an event as new once per client; the actors
/// forward every `EVENT` their relay sends (see [`RelayActor`]'s notice handler) and the zap
/// tracker keeps its own record of what it has taken, so this only needs to exist: the default
/// (35,000 ids, about 2 MB once full) would be memory spent twice.
const CLIENT_SEEN_IDS: usize = 1_024;

/// What a relay actor needs to be created (and re-created after a failure).
#[derive(Clone)]
pub struct RelaySpec {
    pub url: RelayUrl,
    /// The client every relay actor's relay belongs to ([`relay_client`]); its signer (the
    /// server key) answers NIP-42 `AUTH` when a relay asks.
    pub client: Client,
    pub db: DatabaseConnection,
    pub metrics: Arc<Metrics>,
    pub reconnect: ReconnectSettings,
    pub publish_timeout: Duration,
    /// This server's claim on the deliveries it drains (several servers on one database).
    pub lease: Lease,
    /// Told each time the link comes up or goes down.
    pub link_listeners: Vec<Recipient<Broadcast<RelayLinkChanged>>>,
    /// Receives the events of every subscription made on this relay.
    pub event_sink: Option<Recipient<Broadcast<RelayEvent>>>,
}

/// The state of a relay link, as reported in health and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    Connecting,
    Connected,
    Disconnected,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Connecting => "connecting",
            LinkState::Connected => "connected",
            LinkState::Disconnected => "disconnected",
        }
    }
}

/// A relay's health, for `/healthz`, the status event and the health event.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RelayHealth {
    pub url: String,
    pub state: LinkState,
    /// Unix seconds of the last successful connect or accepted event.
    pub last_success: Option<i64>,
    pub consecutive_failures: u32,
}

// --- messages ---------------------------------------------------------------------------------

/// A new outbox entry to deliver now, if connected (otherwise it is drained on connect).
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub struct Deliver {
    pub entry: OutboxEntry,
}

/// Sent to every link listener when the relay's link comes up or goes down.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct RelayLinkChanged {
    pub relay: RelayUrl,
    pub up: bool,
}

/// An event received on a subscription.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub struct RelayEvent {
    pub relay: RelayUrl,
    pub subscription_id: SubscriptionId,
    pub event: Arc<Event>,
}

/// Opens (or replaces) a long-lived subscription; its events go to the spec's `event_sink`.
/// Fails when the relay is not connected: subscribers act on [`RelayLinkChanged`].
#[derive(Message)]
#[rtype(result = "Result<(), RelayError>")]
pub struct Subscribe {
    pub id: SubscriptionId,
    pub filter: Filter,
}

/// Fetches stored events until the relay's `EOSE` (for backfill).
#[derive(Message)]
#[rtype(result = "Result<Vec<Event>, RelayError>")]
pub struct Fetch {
    pub filter: Filter,
    pub timeout: Duration,
}

#[derive(Message)]
#[rtype(result = "RelayHealth")]
pub struct GetHealth;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    #[error("relay {0} is not connected")]
    NotConnected(String),
    #[error("relay {relay}: {message}")]
    Protocol { relay: String, message: String },
}

// --- the actor --------------------------------------------------------------------------------

pub struct RelayActor {
    spec: RelaySpec,
    guard: ChildGuard,
    /// The relay in the shared client while connected.
    relay: Option<Relay>,
    /// The stream of that relay's notifications.
    notices: Option<SpawnHandle>,
    state: LinkState,
    consecutive_failures: u32,
    last_success: Option<i64>,
    reconnect_handle: Option<SpawnHandle>,
    /// Event id -> the waiter for the relay's `OK`.
    waiting_ok: HashMap<EventId, oneshot::Sender<(bool, String)>>,
    /// Outbox ids sent and not yet answered.
    in_flight: HashSet<i64>,
    draining: bool,
    drain_again: bool,
    retry_handle: Option<SpawnHandle>,
    publish_failures_in_row: u32,
}

impl SupervisedActor for RelayActor {
    type Spec = RelaySpec;
    const KIND: &'static str = "relay";

    fn build(spec: &RelaySpec, guard: ChildGuard) -> Self {
        RelayActor {
            spec: spec.clone(),
            guard,
            relay: None,
            notices: None,
            state: LinkState::Disconnected,
            consecutive_failures: 0,
            last_success: None,
            reconnect_handle: None,
            waiting_ok: HashMap::new(),
            in_flight: HashSet::new(),
            draining: false,
            drain_again: false,
            retry_handle: None,
            publish_failures_in_row: 0,
        }
    }
}

/// The nostr-sdk client the relay actors share (each adds its relay with [`relay_options`]).
pub fn relay_client(auth_keys: &Keys) -> Client {
    Client::builder()
        .signer(auth_keys.clone())
        .database(MemoryDatabase::with_opts(MemoryDatabaseOptions {
            events: false,
            max_events: Some(CLIENT_SEEN_IDS),
        }))
        .opts(
            ClientOptions::new().pool(
                RelayPoolOptions::new()
                    .automatic_authentication(true)
                    .notification_channel_size(POOL_NOTIFICATION_BUFFER),
            ),
        )
        .build()
}

/// How a relay actor adds its relay to its client: no reconnects of nostr-sdk's own.
pub fn relay_options() -> RelayOptions {
    RelayOptions::new()
        .reconnect(false)
        .notification_channel_size(NOTIFICATION_BUFFER)
}

/// A relay notification, or word that some were dropped because we fell behind.
enum Notice {
    Relay(Box<RelayNotification>),
    Lagged(u64),
}

fn notices(rx: broadcast::Receiver<RelayNotification>) -> impl futures::Stream<Item = Notice> {
    futures::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(n) => Some((Notice::Relay(Box::new(n)), rx)),
            Err(broadcast::error::RecvError::Lagged(k)) => Some((Notice::Lagged(k), rx)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    })
}

impl Actor for RelayActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.set_state(LinkState::Connecting);
        // Deliveries another server sharing the database left behind (it died, or lost this
        // relay) become ours when their lease runs out: look for them every half lease.
        ctx.run_interval(self.spec.lease.sweep_every(), |act, ctx| {
            act.drain_again = true;
            act.after_answer(ctx);
        });
        self.connect(ctx);
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        self.guard.mark_stopped();
        if let Some(relay) = self.relay.take() {
            // This relay only: the others in the shared client carry on.
            relay.disconnect();
        }
        self.spec
            .metrics
            .set_relay_state(self.spec.url.as_str(), "disconnected");
    }
}

impl RelayActor {
    fn url(&self) -> &str {
        self.spec.url.as_str()
    }

    fn set_state(&mut self, state: LinkState) {
        self.state = state;
        self.spec
            .metrics
            .set_relay_state(self.url(), state.as_str());
    }

    /// Adds a fresh relay to the shared client and connects it. The relay (and its
    /// notification channel) stays in the client only while connected: a failed attempt or a
    /// lost link removes it again ([`Self::link_down`]), so a relay that is down holds nothing.
    fn connect(&mut self, ctx: &mut Context<Self>) {
        self.reconnect_handle = None;
        if self.state == LinkState::Connected {
            return;
        }
        self.set_state(LinkState::Connecting);
        let client = self.spec.client.clone();
        let url = self.spec.url.clone();
        let timeout = Duration::from_millis(self.spec.reconnect.connect_timeout_ms);
        let attempt = async move {
            let pool = client.pool();
            // What an earlier incarnation of this actor left (disconnected when it stopped)
            // makes way; the first time there is nothing to remove ("relay not found").
            let _ = pool.force_remove_relay(url.clone()).await;
            let relay = match pool.add_relay(url.clone(), relay_options()).await {
                Ok(_) => client.relay(&url).await.map_err(|e| e.to_string())?,
                Err(e) => return Err(e.to_string()),
            };
            // Taken before connecting, so nothing the relay sends first is missed.
            let notifications = relay.notifications();
            match relay.try_connect(timeout).await {
                Ok(()) => Ok((relay, notifications)),
                Err(e) => {
                    let _ = pool.force_remove_relay(url).await;
                    Err(e.to_string())
                }
            }
        };
        ctx.spawn(attempt.into_actor(self).map(|res, act, ctx| match res {
            Ok((relay, notifications)) => {
                act.notices = Some(ctx.add_stream(notices(notifications)));
                act.relay = Some(relay);
                act.link_up(ctx);
            }
            Err(reason) => act.link_down(ctx, &reason),
        }));
    }

    fn link_up(&mut self, ctx: &mut Context<Self>) {
        if self.state == LinkState::Connected {
            return;
        }
        tracing::info!(relay = %self.spec.url, "relay connected");
        self.set_state(LinkState::Connected);
        self.consecutive_failures = 0;
        self.publish_failures_in_row = 0;
        self.last_success = Some(chrono::Utc::now().timestamp());
        if let Some(handle) = self.retry_handle.take() {
            ctx.cancel_future(handle);
        }
        self.tell_listeners(true);
        self.drain(ctx);
    }

    fn link_down(&mut self, ctx: &mut Context<Self>, reason: &str) {
        if self.reconnect_handle.is_some() {
            return; // already waiting to reconnect
        }
        let was_up = self.state == LinkState::Connected;
        self.release_relay(ctx);
        self.set_state(LinkState::Disconnected);
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        // Waiters for OKs on the dead link fail now; their deliveries stay pending.
        self.waiting_ok.clear();
        if was_up {
            tracing::warn!(relay = %self.spec.url, reason, "relay disconnected");
            self.tell_listeners(false);
        }
        let delay = reconnect_delay(&self.spec.reconnect, self.consecutive_failures);
        tracing::debug!(
            relay = %self.spec.url,
            reason,
            failures = self.consecutive_failures,
            retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "relay unreachable; will retry"
        );
        self.spec
            .metrics
            .relay_reconnects
            .get_or_create(&crate::metrics::RelayLabels {
                relay: self.url().to_string(),
            })
            .inc();
        self.reconnect_handle = Some(ctx.run_later(delay, |act, ctx| act.connect(ctx)));
    }

    /// Drops this actor's relay from the shared client, with its notification channel (4,096
    /// slots, about 1 MB): what is left in it belongs to the link that just went down. The
    /// actor waits for the removal, so the next attempt's relay cannot be the one removed.
    fn release_relay(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.notices.take() {
            ctx.cancel_future(handle);
        }
        if self.relay.take().is_some() {
            let client = self.spec.client.clone();
            let url = self.spec.url.clone();
            ctx.wait(
                async move {
                    let _ = client.pool().force_remove_relay(url).await;
                }
                .into_actor(self),
            );
        }
    }

    fn tell_listeners(&self, up: bool) {
        for listener in &self.spec.link_listeners {
            listener.do_send(Broadcast(RelayLinkChanged {
                relay: self.spec.url.clone(),
                up,
            }));
        }
    }

    /// Sends every pending outbox entry for this relay, a page at a time.
    fn drain(&mut self, ctx: &mut Context<Self>) {
        if self.state != LinkState::Connected {
            return;
        }
        if self.draining || !self.in_flight.is_empty() {
            self.drain_again = true;
            return;
        }
        self.draining = true;
        self.drain_again = false;
        let db = self.spec.db.clone();
        let url = self.url().to_string();
        let lease = self.spec.lease.clone();
        ctx.spawn(
            async move { outbox::claim_pending(&db, &url, &lease, DRAIN_PAGE).await }
                .into_actor(self)
                .map(|res, act, ctx| {
                    act.draining = false;
                    match res {
                        Ok(entries) => {
                            if entries.len() as u64 == DRAIN_PAGE {
                                act.drain_again = true;
                            }
                            for entry in entries {
                                act.send_entry(entry, ctx);
                            }
                            act.after_answer(ctx);
                        }
                        Err(e) => {
                            act.spec.metrics.database_error("outbox_drain");
                            tracing::error!(relay = %act.spec.url, error = %e, "cannot read the outbox; retrying");
                            act.schedule_retry(ctx);
                        }
                    }
                }),
        );
    }

    fn send_entry(&mut self, entry: OutboxEntry, ctx: &mut Context<Self>) {
        if self.state != LinkState::Connected || !self.in_flight.insert(entry.id) {
            return;
        }
        let Some(relay) = self.relay.as_ref() else {
            return;
        };
        let (tx, rx) = oneshot::channel();
        let event_id = entry.event.id;
        self.waiting_ok.insert(event_id, tx);
        let sent = relay.send_msg(ClientMessage::Event(Cow::Borrowed(&entry.event)));
        let timeout = self.spec.publish_timeout;
        let answer = async move {
            if let Err(e) = sent {
                return DeliveryOutcome::Failed(e.to_string());
            }
            match tokio::time::timeout(timeout, rx).await {
                Ok(Ok((accepted, message))) => DeliveryOutcome::from_ok(accepted, &message),
                Ok(Err(_)) => DeliveryOutcome::Failed("disconnected before OK".into()),
                Err(_) => DeliveryOutcome::Failed(format!("no OK within {}s", timeout.as_secs())),
            }
        };
        ctx.spawn(answer.into_actor(self).map(move |outcome, act, ctx| {
            act.waiting_ok.remove(&event_id);
            act.record(entry.id, outcome, ctx);
        }));
    }

    fn record(&mut self, outbox_id: i64, outcome: DeliveryOutcome, ctx: &mut Context<Self>) {
        self.spec.metrics.published(self.url(), outcome.label());
        match &outcome {
            DeliveryOutcome::Failed(reason) => {
                tracing::debug!(relay = %self.spec.url, outbox_id, reason, "delivery not acknowledged");
                self.publish_failures_in_row = self.publish_failures_in_row.saturating_add(1);
            }
            DeliveryOutcome::Refused(reason) => {
                tracing::warn!(relay = %self.spec.url, outbox_id, reason, "relay refused an event");
                self.publish_failures_in_row = 0;
            }
            DeliveryOutcome::Accepted | DeliveryOutcome::Duplicate => {
                self.publish_failures_in_row = 0;
                self.last_success = Some(chrono::Utc::now().timestamp());
            }
        }
        let db = self.spec.db.clone();
        let url = self.url().to_string();
        let is_final = outcome.is_final();
        // The row is updated before the id leaves `in_flight`, so a drain cannot pick the
        // entry up again between the answer and its record.
        ctx.spawn(
            async move { outbox::record_outcome(&db, outbox_id, &url, &outcome).await }
                .into_actor(self)
                .map(move |res, act, ctx| {
                    let recorded = match res {
                        Ok(()) => true,
                        Err(e) => {
                            // The row stays pending: the event is sent again later (a duplicate
                            // to the relay, which is harmless).
                            act.spec.metrics.database_error("delivery_record");
                            tracing::error!(relay = %act.spec.url, outbox_id, error = %e, "cannot record a delivery; it will be sent again");
                            false
                        }
                    };
                    act.in_flight.remove(&outbox_id);
                    if is_final && recorded {
                        act.spec.metrics.outbox_depth.dec();
                    } else {
                        act.schedule_retry(ctx);
                    }
                    act.after_answer(ctx);
                }),
        );
    }

    fn after_answer(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight.is_empty() && self.drain_again && self.retry_handle.is_none() {
            self.drain(ctx);
        }
    }

    /// Tries the pending deliveries again later, backing off while they keep failing.
    fn schedule_retry(&mut self, ctx: &mut Context<Self>) {
        if self.retry_handle.is_some() {
            return;
        }
        let delay = reconnect_delay(&self.spec.reconnect, self.publish_failures_in_row.max(1));
        self.retry_handle = Some(ctx.run_later(delay, |act, ctx| {
            act.retry_handle = None;
            act.drain_again = true;
            act.after_answer(ctx);
        }));
    }

    fn health(&self) -> RelayHealth {
        RelayHealth {
            url: self.url().to_string(),
            state: self.state,
            last_success: self.last_success,
            consecutive_failures: self.consecutive_failures,
        }
    }
}

/// Exponential backoff with "equal jitter": half the delay fixed, half random, so relays that
/// failed together do not retry together, and no retry comes sooner than half the backoff.
pub fn reconnect_delay(settings: &ReconnectSettings, failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(20);
    let ceiling = settings
        .initial_backoff_ms
        .saturating_mul(1u64 << exp)
        .min(settings.max_backoff_ms)
        .max(1);
    let half = ceiling / 2;
    Duration::from_millis(half + rand::thread_rng().gen_range(0..=ceiling - half))
}

impl StreamHandler<Notice> for RelayActor {
    fn handle(&mut self, notice: Notice, ctx: &mut Context<Self>) {
        let notice = match notice {
            Notice::Relay(n) => Ok(*n),
            Notice::Lagged(missed) => Err(missed),
        };
        match notice {
            Ok(RelayNotification::Message {
                message:
                    RelayMessage::Ok {
                        event_id,
                        status,
                        message,
                    },
            }) => {
                if let Some(waiter) = self.waiting_ok.remove(&event_id) {
                    let _ = waiter.send((status, message.into_owned()));
                }
            }
            // Every `EVENT` this relay sent, verified by nostr-sdk, repeats included: the
            // `Event` notification would be sent only for ids new to the client, which is
            // shared by all relays, so another relay's copy would never be seen here.
            Ok(RelayNotification::Message {
                message:
                    RelayMessage::Event {
                        subscription_id,
                        event,
                    },
            }) => {
                if let Some(sink) = &self.spec.event_sink {
                    sink.do_send(Broadcast(RelayEvent {
                        relay: self.spec.url.clone(),
                        subscription_id: subscription_id.into_owned(),
                        event: Arc::new(event.into_owned()),
                    }));
                }
            }
            Ok(RelayNotification::Message {
                message:
                    RelayMessage::Closed {
                        subscription_id,
                        message,
                    },
            }) => {
                tracing::warn!(relay = %self.spec.url, %subscription_id, %message, "relay closed a subscription");
            }
            Ok(RelayNotification::RelayStatus { status }) => match status {
                RelayStatus::Connected => self.link_up(ctx),
                RelayStatus::Disconnected | RelayStatus::Terminated | RelayStatus::Banned
                    if self.state == LinkState::Connected =>
                {
                    self.link_down(ctx, "connection closed");
                }
                _ => {}
            },
            Ok(RelayNotification::Authenticated) => {
                tracing::info!(relay = %self.spec.url, "authenticated (NIP-42)");
                // Deliveries refused with auth-required can go now.
                self.drain_again = true;
                self.after_answer(ctx);
            }
            Ok(RelayNotification::AuthenticationFailed) => {
                tracing::warn!(relay = %self.spec.url, "NIP-42 authentication failed");
            }
            Ok(_) => {}
            Err(missed) => {
                tracing::warn!(relay = %self.spec.url, missed, "fell behind the relay; asking subscribers to resync");
                self.tell_listeners(true);
            }
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        // The client's notification channel closed: only a fresh actor can recover.
        tracing::error!(relay = %self.spec.url, "relay notifications ended");
        ctx.stop();
    }
}

impl Handler<Deliver> for RelayActor {
    type Result = ();

    fn handle(&mut self, msg: Deliver, ctx: &mut Context<Self>) {
        if self.state == LinkState::Connected && !self.draining {
            self.send_entry(msg.entry, ctx);
        } else {
            self.drain_again = true;
        }
    }
}

impl Handler<Subscribe> for RelayActor {
    type Result = ResponseFuture<Result<(), RelayError>>;

    fn handle(&mut self, msg: Subscribe, _ctx: &mut Context<Self>) -> Self::Result {
        let relay = self.relay.clone();
        let connected = self.state == LinkState::Connected;
        let url = self.url().to_string();
        Box::pin(async move {
            match relay {
                Some(relay) if connected => relay
                    .subscribe_with_id(msg.id, msg.filter, SubscribeOptions::default())
                    .await
                    .map_err(|e| RelayError::Protocol {
                        relay: url,
                        message: e.to_string(),
                    }),
                _ => Err(RelayError::NotConnected(url)),
            }
        })
    }
}

impl Handler<Fetch> for RelayActor {
    type Result = ResponseFuture<Result<Vec<Event>, RelayError>>;

    fn handle(&mut self, msg: Fetch, _ctx: &mut Context<Self>) -> Self::Result {
        let relay = self.relay.clone();
        let connected = self.state == LinkState::Connected;
        let url = self.url().to_string();
        Box::pin(async move {
            match relay {
                Some(relay) if connected => relay
                    .fetch_events(msg.filter, msg.timeout, ReqExitPolicy::ExitOnEOSE)
                    .await
                    .map(|events| events.into_iter().collect())
                    .map_err(|e| RelayError::Protocol {
                        relay: url,
                        message: e.to_string(),
                    }),
                _ => Err(RelayError::NotConnected(url)),
            }
        })
    }
}

impl Handler<GetHealth> for RelayActor {
    type Result = MessageResult<GetHealth>;

    fn handle(&mut self, _: GetHealth, _: &mut Context<Self>) -> Self::Result {
        MessageResult(self.health())
    }
}

impl Handler<StopChild> for RelayActor {
    type Result = ();

    fn handle(&mut self, _: StopChild, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_delay_grows_caps_and_jitters() {
        let s = ReconnectSettings {
            initial_backoff_ms: 100,
            max_backoff_ms: 1_000,
            connect_timeout_ms: 1_000,
        };
        for _ in 0..100 {
            let d1 = reconnect_delay(&s, 1).as_millis();
            assert!((50..=100).contains(&d1), "{d1}");
            let d3 = reconnect_delay(&s, 3).as_millis();
            assert!((200..=400).contains(&d3), "{d3}");
            let d30 = reconnect_delay(&s, 30).as_millis();
            assert!((500..=1_000).contains(&d30), "{d30}");
        }
        let spread: HashSet<u128> = (0..50)
            .map(|_| reconnect_delay(&s, 5).as_millis())
            .collect();
        assert!(spread.len() > 5, "jitter should spread retries: {spread:?}");
    }
}
