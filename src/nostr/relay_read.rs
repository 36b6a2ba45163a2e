//! One-shot reads from relays: a transient client connects to the relays given, asks once,
//! waits at most a timeout, and disconnects. For what is read now and then (a holder's pool
//! when a proposal is published, the holders' ballot secrets after a close), not for what the
//! relay actors follow continuously.

use std::time::Duration;

use nostr_sdk::{Client, Event, Filter, RelayUrl};

/// The events of `filter` on `relays` (each event once, whichever relays hold it), waiting at
/// most `timeout` for the connections and as long again for the answers. Signatures are
/// checked by the client (nostr-sdk drops an event that does not verify); the caller still
/// checks what an event says. An error when a relay URL is refused or nothing could be read.
pub async fn fetch_once(
    relays: &[RelayUrl],
    filter: Filter,
    timeout: Duration,
) -> Result<Vec<Event>, String> {
    let client = Client::default();
    for url in relays {
        client
            .add_relay(url.clone())
            .await
            .map_err(|e| format!("{url}: {e}"))?;
    }
    client.connect().await;
    client.wait_for_connection(timeout).await;
    let fetched = client.fetch_events(filter, timeout).await;
    client.shutdown().await;
    Ok(fetched.map_err(|e| e.to_string())?.into_iter().collect())
}
