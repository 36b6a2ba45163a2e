//! The embedded development relay: nostr-relay-builder's in-process relay on loopback.
//!
//! The default settings start it so the service shows events flowing on a machine with no
//! network; production settings turn it off (`nostr.embedded_relay.enabled = false`). Tests
//! start the same relay, several at a time, on random loopback ports.

use std::net::SocketAddr;

use nostr_relay_builder::prelude::{
    LocalRelay, MemoryDatabase, MemoryDatabaseOptions, RateLimit, RelayBuilder, RelayUrl,
};

/// Events an embedded relay keeps in memory before evicting the oldest.
const MAX_EVENTS: usize = 1_000_000;

pub struct EmbeddedRelay {
    relay: LocalRelay,
    url: RelayUrl,
    addr: SocketAddr,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot start the embedded relay on {bind}: {message}")]
pub struct EmbeddedRelayError {
    bind: SocketAddr,
    message: String,
}

impl EmbeddedRelay {
    /// Starts a relay on `bind`; port 0 picks a free port.
    pub async fn start(bind: SocketAddr) -> Result<EmbeddedRelay, EmbeddedRelayError> {
        let database = MemoryDatabase::with_opts(MemoryDatabaseOptions {
            events: true,
            max_events: Some(MAX_EVENTS),
        });
        Self::start_with(bind, RelayBuilder::default().database(database)).await
    }

    /// Starts a relay from a builder (tests share a database across restarts this way).
    pub async fn start_with(
        bind: SocketAddr,
        builder: RelayBuilder,
    ) -> Result<EmbeddedRelay, EmbeddedRelayError> {
        let mut builder = builder.addr(bind.ip()).rate_limit(RateLimit {
            max_reqs: 1_000,
            notes_per_minute: 1_000_000,
        });
        if bind.port() != 0 {
            builder = builder.port(bind.port());
        }
        let relay = LocalRelay::new(builder);
        relay.run().await.map_err(|e| EmbeddedRelayError {
            bind,
            message: e.to_string(),
        })?;
        let url = relay.url().await;
        let addr = url
            .as_str()
            .trim_start_matches("ws://")
            .trim_end_matches('/')
            .parse()
            .unwrap_or(bind);
        tracing::debug!(%url, "embedded relay listening");
        Ok(EmbeddedRelay { relay, url, addr })
    }

    pub fn url(&self) -> &RelayUrl {
        &self.url
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops listening and closes every connection.
    pub fn shutdown(&self) {
        self.relay.shutdown();
    }
}

impl Drop for EmbeddedRelay {
    fn drop(&mut self) {
        self.relay.shutdown();
    }
}
