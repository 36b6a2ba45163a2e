//! Real relays for tests: nostr-relay-builder's in-process relay on loopback ports, which a
//! test can kill and restart on the same port (keeping what it stored, as a real relay's disk
//! would), a "silent" relay that accepts TCP connections and never answers, and a separate
//! reading client that waits for events by subscription (a signal, not a sleep).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use commons_nostr::nostr::embedded_relay::EmbeddedRelay;
use nostr_relay_builder::prelude::{
    MemoryDatabase, MemoryDatabaseOptions, RelayBuilder, RelayBuilderNip42, RelayBuilderNip42Mode,
};
use nostr_sdk::prelude::*;

/// A relay that can go down and come back on the same address with its stored events.
pub struct TestRelay {
    addr: SocketAddr,
    database: Arc<MemoryDatabase>,
    running: Option<EmbeddedRelay>,
    /// Requires NIP-42 authentication before accepting events.
    auth_for_writes: bool,
}

impl TestRelay {
    /// A running relay on a free loopback port.
    pub async fn start() -> TestRelay {
        let mut relay = TestRelay::down();
        relay.restart().await;
        relay
    }

    /// A relay address with nothing listening yet (start it later with [`TestRelay::restart`]).
    pub fn down() -> TestRelay {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let addr = listener.local_addr().expect("bound address");
        drop(listener);
        TestRelay {
            addr,
            database: Arc::new(MemoryDatabase::with_opts(MemoryDatabaseOptions {
                events: true,
                max_events: Some(1_000_000),
            })),
            running: None,
            auth_for_writes: false,
        }
    }

    /// A running relay that answers `auth-required:` to unauthenticated writes (NIP-42).
    pub async fn start_requiring_auth() -> TestRelay {
        let mut relay = TestRelay::down();
        relay.auth_for_writes = true;
        relay.restart().await;
        relay
    }

    pub fn url(&self) -> RelayUrl {
        RelayUrl::parse(&format!("ws://{}", self.addr)).expect("valid relay url")
    }

    /// Stops listening and drops every connection; stored events are kept.
    pub fn kill(&mut self) {
        if let Some(relay) = self.running.take() {
            relay.shutdown();
        }
    }

    /// Starts (again) on the same address, retrying briefly while the old socket is released.
    pub async fn restart(&mut self) {
        self.kill();
        let mut last_error = String::new();
        // Up to 5 s: the old listener closes when its task sees the shutdown, which a busy
        // machine can delay (once seen to take more than 1 s).
        for _ in 0..250 {
            let mut builder = RelayBuilder::default().database(self.database.clone());
            if self.auth_for_writes {
                builder = builder.nip42(RelayBuilderNip42 {
                    mode: RelayBuilderNip42Mode::Write,
                });
            }
            match EmbeddedRelay::start_with(self.addr, builder).await {
                Ok(relay) => {
                    self.running = Some(relay);
                    return;
                }
                Err(e) => last_error = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("relay {} did not restart: {last_error}", self.addr);
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }

    /// Stores `event` the way the relay stores what it accepts, but sends it to no live
    /// subscriber: what a relay that dropped it for a slow subscriber still answers a `REQ`
    /// with.
    pub async fn store_without_broadcast(&self, event: &Event) {
        let status = self
            .database
            .save_event(event)
            .await
            .expect("relay database");
        assert!(status.is_success(), "{status:?}");
    }
}

/// Accepts TCP connections and never says a word: not even the websocket handshake.
pub struct SilentRelay {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl SilentRelay {
    pub async fn start() -> SilentRelay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind silent relay");
        let addr = listener.local_addr().expect("bound address");
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        SilentRelay { addr, task }
    }

    pub fn url(&self) -> RelayUrl {
        RelayUrl::parse(&format!("ws://{}", self.addr)).expect("valid relay url")
    }
}

impl Drop for SilentRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A client of our own, independent of the service, for reading what reached a relay.
pub async fn reader(url: &RelayUrl) -> Client {
    let client = Client::default();
    client.add_relay(url.clone()).await.expect("add relay");
    client.connect().await;
    client.wait_for_connection(Duration::from_secs(5)).await;
    client
}

/// Subscribes to `filter` on `url` and waits until every id in `ids` has arrived (stored or
/// live), or `timeout` passes. Returns the matching events; panics with what is missing.
pub async fn wait_for_ids(
    url: &RelayUrl,
    filter: Filter,
    ids: &[EventId],
    timeout: Duration,
) -> Vec<Event> {
    let client = reader(url).await;
    let mut notifications = client.notifications();
    client.subscribe(filter, None).await.expect("subscribe");
    let mut want: HashSet<EventId> = ids.iter().copied().collect();
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while !want.is_empty() {
        match tokio::time::timeout_at(deadline, notifications.recv()).await {
            Ok(Ok(RelayPoolNotification::Event { event, .. })) => {
                if want.remove(&event.id) {
                    got.push(*event);
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(_)) => break,
            Err(_) => break,
        }
    }
    client.shutdown().await;
    assert!(
        want.is_empty(),
        "{url}: {} of {} events never arrived: {want:?}",
        want.len(),
        ids.len()
    );
    got
}

/// Event `id` once `url` holds it (a `201` from the admin API means it is in the outbox; the
/// relay has it a moment later). Panics after 30 s.
pub async fn published(url: &RelayUrl, id: EventId) -> Event {
    wait_for_ids(url, Filter::new().id(id), &[id], Duration::from_secs(30))
        .await
        .remove(0)
}

/// Every stored event matching `filter` (until the relay's EOSE).
pub async fn fetch_all(url: &RelayUrl, filter: Filter) -> Vec<Event> {
    let client = reader(url).await;
    let events = client
        .fetch_events(filter, Duration::from_secs(10))
        .await
        .expect("fetch events");
    client.shutdown().await;
    events.into_iter().collect()
}
