//! Watching a relay live: a subscription opened *before* the service publishes, so every event
//! arrives as it is accepted, even addressable ones the relay later replaces with a newer
//! version (a relay keeps only the newest event per kind, author and `d`; fetching afterwards
//! would show only the last). Waiting is on the subscription itself, never on a sleep.

use std::collections::HashSet;
use std::time::Duration;

use nostr_sdk::prelude::*;
use tokio::sync::broadcast;

use super::relays::reader;

/// A live subscription on one relay, yielding each distinct event once.
pub struct Watch {
    url: RelayUrl,
    client: Client,
    notifications: broadcast::Receiver<RelayPoolNotification>,
    seen: HashSet<EventId>,
}

impl Watch {
    /// Subscribes to `filter` on `url` (stored matches arrive first, then live ones).
    pub async fn start(url: &RelayUrl, filter: Filter) -> Watch {
        let client = reader(url).await;
        let notifications = client.notifications();
        client.subscribe(filter, None).await.expect("subscribe");
        Watch {
            url: url.clone(),
            client,
            notifications,
            seen: HashSet::new(),
        }
    }

    /// The next event not seen before, or `None` when `timeout` passes first.
    pub async fn next_within(&mut self, timeout: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.notifications.recv()).await {
                Ok(Ok(RelayPoolNotification::Event { event, .. })) => {
                    if self.seen.insert(event.id) {
                        return Some(*event);
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(broadcast::error::RecvError::Lagged(n))) => {
                    panic!("{}: the watch fell {n} notifications behind", self.url)
                }
                Ok(Err(broadcast::error::RecvError::Closed)) | Err(_) => return None,
            }
        }
    }

    /// The next event not seen before; panics naming `what` when `timeout` passes first.
    pub async fn next(&mut self, timeout: Duration, what: &str) -> Event {
        match self.next_within(timeout).await {
            Some(event) => event,
            None => panic!("{}: no {what} within {timeout:?}", self.url),
        }
    }

    /// The next event that `pred` accepts, skipping others; panics naming `what` on timeout.
    pub async fn next_matching(
        &mut self,
        timeout: Duration,
        what: &str,
        mut pred: impl FnMut(&Event) -> bool,
    ) -> Event {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next(left, what).await;
            if pred(&event) {
                return event;
            }
        }
    }

    pub async fn stop(self) {
        self.client.shutdown().await;
    }
}
