//! The nostr-sdk client every relay actor's relay belongs to, and how each relay is added to
//! it: the sizes of what nostr-sdk holds per client and per relay.

use nostr_sdk::prelude::{
    Client, ClientOptions, Keys, MemoryDatabase, MemoryDatabaseOptions, RelayOptions,
    RelayPoolOptions,
};

/// Relay notifications buffered before the oldest are dropped (then subscribers resync).
///
/// nostr-sdk allocates and initialises every slot when a relay is added to the client (a tokio
/// broadcast channel of `RelayNotification`s, 248 bytes each plus the slot's own); a relay
/// actor keeps its relay in the client only while connecting or connected, so a relay that is
/// down holds none. It is sized for what it holds, not for the worst case: the actor and
/// nostr-sdk's own readers (`OK` waiters) run on the thread of the connection that fills it, so
/// it holds one burst at most: a backfill page (`TrackerTuning::page_size`, 500 receipts) plus
/// the live traffic meanwhile. 4,096 slots (about 1.1 MB) held four such pages when each receipt
/// was notified twice (as an event and as a message; now once, as a message); the 65,536 it had
/// cost 18 MB per configured relay. 2,048 was tried then (0.5 MB less per connected relay):
/// backfills alone never fell behind, but two of seven two-minute runs at 1,000 receipts/s on a
/// busy machine stopped keeping up (a lag makes the tracker resync from its cursor, which fills
/// the channel again), so it stays.
const NOTIFICATION_BUFFER: usize = 4_096;
/// The client's pool-wide notification channel. Each actor reads its one relay's
/// notifications, never the pool's, and a broadcast with no receiver stores nothing, but its
/// slots are allocated up front all the same (4,096 of 344 bytes by default): one is enough.
const POOL_NOTIFICATION_BUFFER: usize = 1;
/// Event ids nostr-sdk's client remembers as seen (its `MemoryDatabase`, which stores no
/// events here). nostr-sdk uses it only to notify an event as new once per client, which the
/// relays here do not do ([`relay_options`]): the actors forward every `EVENT` their relay sends
/// (see [`super::RelayActor`]'s notice handler) and the zap tracker keeps its own record of what
/// it has taken, so this only needs to exist: the default (35,000 ids, about 2 MB once full)
/// would be memory spent twice.
const CLIENT_SEEN_IDS: usize = 1_024;

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

/// How a relay actor adds its relay to its client: no reconnects of nostr-sdk's own, no
/// signature checks of nostr-sdk's own, and no "new event" notifications.
///
/// Every event the relay actors receive goes to a consumer that verifies it itself, and must:
/// the zap tracker's rule 1 ([`crate::nostr::nip57::validate`]: the receipt's id and signature)
/// and the vote targets' parser (`TargetClaim::parse`: `Event::verify`). nostr-sdk's own check
/// (one schnorr verification and one id hash per event, on the actix thread) made every receipt's
/// signature be checked twice; it was a third of the backfill's CPU beside validation
/// (BENCHMARKS.md "Backfill at the speed of the cryptography"). Without it, a receipt with a bad
/// signature from a relay that checks nothing reaches the tracker and is rejected with rule 1,
/// counted in `zap_receipts_rejected{reason}` (DESIGN.md "Zaps accepted"), where nostr-sdk used
/// to drop it unseen.
///
/// The actors read each `EVENT` as the relay's message notification, never nostr-sdk's
/// `Event` notification (sent once per client for an id new to its database), so that one is
/// not made: per received event, one database lookup and insert and two copies of the event
/// less on the actix thread.
///
/// `verify_events` and `new_event_notifications` are local options of our copy of
/// nostr-relay-pool (`vendor/README.md`).
pub fn relay_options() -> RelayOptions {
    RelayOptions::new()
        .reconnect(false)
        .verify_events(false)
        .new_event_notifications(false)
        .notification_channel_size(NOTIFICATION_BUFFER)
}
