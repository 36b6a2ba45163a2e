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
//! fixed in nostr-sdk, left empty since the relays are added without nostr-sdk's signature
//! checks: every consumer checks the events it takes, see [`relay_options`]), and the client's
//! event-id tracker. A relay is in the client only while its actor is
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
    Client, ClientMessage, Event, EventId, Filter, Relay, RelayMessage, RelayNotification,
    RelayStatus, RelayUrl, SubscribeOptions, SubscriptionId,
};
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast;

use crate::actors::supervision::{Broadcast, ChildGuard, StopChild, SupervisedActor};
use crate::configuration::ReconnectSettings;
use crate::metrics::Metrics;
use crate::store::outbox::{self, DeliveryOutcome, Lease, OutboxEntry};

mod client;
mod delivery;
mod fetch;
mod link;
mod notifications;

pub use client::{relay_client, relay_options};
use fetch::PendingRead;
pub use link::reconnect_delay;
use notifications::notices;

/// How long a relay has to answer an `EVENT` with `OK`.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);
/// Outbox entries read from the database per drain, and the most sent without an `OK` yet.
const DRAIN_PAGE: u64 = 256;
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

pub use crate::nostr::events::LinkState;

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

/// Fetches stored events until the relay's `EOSE` (for backfill): each event once, in the
/// answer, not also sent to the event sink (the `fetch` file).
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

impl RelayError {
    fn protocol(relay: String, error: impl std::fmt::Display) -> Self {
        RelayError::Protocol {
            relay,
            message: error.to_string(),
        }
    }
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
    /// Reads ([`Fetch`]) waiting for their `EOSE`, by subscription id.
    reads: HashMap<SubscriptionId, PendingRead>,
    /// Reads started by this actor (their subscription ids are numbered).
    reads_started: u64,
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
            reads: HashMap::new(),
            reads_started: 0,
        }
    }
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

    /// The relay, while the link is up.
    fn connected_relay(&self) -> Result<Relay, RelayError> {
        match &self.relay {
            Some(relay) if self.state == LinkState::Connected => Ok(relay.clone()),
            _ => Err(RelayError::NotConnected(self.url().to_string())),
        }
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
        let relay = self.connected_relay();
        let url = self.url().to_string();
        Box::pin(async move {
            relay?
                .subscribe_with_id(msg.id, msg.filter, SubscribeOptions::default())
                .await
                .map_err(|e| RelayError::protocol(url, e))
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
