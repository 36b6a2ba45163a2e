//! The holder at work on the relays: publish the pool, follow the proposals that name this
//! holder, reveal each used key's secret after its close, exactly once.
//!
//! "Exactly once" across restarts: a secret is marked revealed in the keys file once a relay
//! accepted its event, and before publishing one the holder asks the relays whether its own
//! secret event for that proposal is already there (a crash between the relay's OK and the save
//! must not publish it twice).

use std::collections::BTreeSet;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nostr_sdk::{
    Alphabet, Client, Event, EventId, Filter, PublicKey, RelayPoolNotification, SingleLetterTag,
    Timestamp, ToBech32,
};

use super::key_store::{KeyStore, KeyStoreError};
use super::pinned::pinned_keys;
use super::BallotHolderArgs;
use crate::configuration::parse_relay_url;
use crate::keys::{self, SecretSource};
use crate::nostr::ballot_key_pool::{ballot_key_pool, parse_ballot_key_pool};
use crate::nostr::ballot_keys::BallotKey;
use crate::nostr::ballot_secret::{ballot_secret, parse_ballot_secret};
use crate::nostr::events::{d, kind};

/// How often the holder reads every proposal naming it again, beside its live subscription (a
/// relay that dropped the subscription, or a proposal published while it was offline).
const RESYNC_EVERY: Duration = Duration::from_secs(300);

/// How soon a reveal that no relay accepted is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(15);

/// Why the holder stopped.
#[derive(Debug, thiserror::Error)]
pub enum HolderError {
    /// Bad arguments: exit status 2.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Keys(#[from] KeyStoreError),
    #[error("{0}")]
    Relays(String),
}

/// Runs the holder until `shutdown` completes. Lines for the person running it go to `say`.
pub async fn run(
    args: &BallotHolderArgs,
    shutdown: impl Future<Output = ()>,
    mut say: impl FnMut(String),
) -> Result<(), HolderError> {
    let source =
        SecretSource::parse("--key", &args.key).map_err(|e| HolderError::Usage(e.to_string()))?;
    let secret = source
        .read("--key", &keys::process_env)
        .map_err(|e| HolderError::Usage(e.to_string()))?;
    let identity =
        keys::parse_secret_key("--key", &secret).map_err(|e| HolderError::Usage(e.to_string()))?;
    let mut relays = Vec::with_capacity(args.relays.len());
    for (i, raw) in args.relays.iter().enumerate() {
        relays.push(
            parse_relay_url(&format!("--relay[{i}]"), raw)
                .map_err(|e| HolderError::Usage(e.to_string()))?,
        );
    }
    let mut operators = Vec::with_capacity(args.operators.len());
    for (i, raw) in args.operators.iter().enumerate() {
        operators.push(PublicKey::parse(raw.trim()).map_err(|_| {
            HolderError::Usage(format!(
                "--operator[{i}]: '{raw}' is not an npub or a hex public key"
            ))
        })?);
    }
    let mut store = KeyStore::load(&args.keys)?;
    let made = store.top_up(args.pool_size(), &mut rand::rngs::OsRng);
    if made > 0 {
        store.save()?;
    }

    let client = Client::builder().signer(identity.clone()).build();
    for url in &relays {
        client
            .add_relay(url.clone())
            .await
            .map_err(|e| HolderError::Relays(format!("{url}: {e}")))?;
    }
    client.connect().await;
    client.wait_for_connection(args.timeout()).await;
    let me = identity.public_key();
    say(format!(
        "ballot key holder {} on {} relay(s); keys in {} (back it up: see --help)",
        me.to_bech32().unwrap_or_else(|_| me.to_hex()),
        relays.len(),
        store.path().display()
    ));

    let mut holder = Holder {
        client,
        me,
        pool: args.pool_size(),
        timeout: args.timeout(),
        store,
        last_pool_at: None,
        operators,
    };
    let mut notifications = holder.client.notifications();
    holder
        .client
        // New events only (the resync below reads what is stored). Not `since(now)`: a
        // proposal's `created_at` is its window's start, which may be earlier than now.
        .subscribe(proposals_naming(me, &holder.operators).limit(0), None)
        .await
        .map_err(|e| HolderError::Relays(format!("cannot subscribe: {e}")))?;
    holder.resync(&mut say).await?;
    say(format!(
        "watching the relays: {} unused key(s), {} secret(s) waiting for their proposal's close",
        holder.store.unused().len(),
        holder.store.due(u64::MAX).len()
    ));

    tokio::pin!(shutdown);
    let mut resync = tokio::time::interval(RESYNC_EVERY);
    resync.reset();
    loop {
        let wake = holder.next_wake();
        tokio::select! {
            () = &mut shutdown => break,
            _ = resync.tick() => holder.resync(&mut say).await?,
            () = tokio::time::sleep(wake) => holder.reveal_due(&mut say).await?,
            received = notifications.recv() => match received {
                Ok(RelayPoolNotification::Event { event, .. }) => {
                    if holder.take_proposal(&event, &mut say) {
                        holder.store.save()?;
                        holder.refresh_pool(&mut say).await?;
                        holder.reveal_due(&mut say).await?;
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    holder.resync(&mut say).await?;
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                    return Err(HolderError::Relays("the relay pool closed".to_owned()));
                }
            },
        }
    }
    holder.client.shutdown().await;
    Ok(())
}

/// The proposals that name `holder` (a `p` tag per independent holder, DESIGN.md), signed by
/// one of `operators` when any is given.
fn proposals_naming(holder: PublicKey, operators: &[PublicKey]) -> Filter {
    let filter = Filter::new()
        .kind(kind::GOVERNANCE_ACTION)
        .custom_tag(SingleLetterTag::lowercase(Alphabet::P), holder.to_hex());
    if operators.is_empty() {
        filter
    } else {
        filter.authors(operators.iter().copied())
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

struct Holder {
    client: Client,
    me: PublicKey,
    pool: usize,
    timeout: Duration,
    store: KeyStore,
    /// `created_at` of the last pool event this run published: the next one is later, so
    /// relays always keep the newest.
    last_pool_at: Option<Timestamp>,
    /// `--operator`: the gov bots whose proposals may pin keys (any, when empty).
    operators: Vec<PublicKey>,
}

impl Holder {
    /// Reads every proposal naming this holder, records the keys they pinned, publishes the
    /// pool when it differs from the one on the relays, and reveals what is due.
    async fn resync(&mut self, say: &mut impl FnMut(String)) -> Result<(), HolderError> {
        match self
            .client
            .fetch_events(proposals_naming(self.me, &self.operators), self.timeout)
            .await
        {
            Ok(events) => {
                let mut changed = false;
                for event in events.iter() {
                    changed |= self.take_proposal(event, say);
                }
                if changed {
                    self.store.save()?;
                }
            }
            Err(e) => say(format!("cannot read the proposals from the relays: {e}")),
        }
        self.refresh_pool(say).await?;
        self.reveal_due(say).await
    }

    /// Records the keys `event` pins of this holder's; answers whether any was new.
    fn take_proposal(&mut self, event: &Event, say: &mut impl FnMut(String)) -> bool {
        if event.verify().is_err() {
            return false;
        }
        let Some(pinned) = pinned_keys(event, &self.me, &self.operators) else {
            return false;
        };
        let mut changed = false;
        for key in &pinned.keys {
            if self.store.get(key).is_none() {
                say(format!(
                    "proposal {} names this holder with key {}, which it never made: ballots sealed to it can never be opened",
                    pinned.proposal, key.to_hex()
                ));
                continue;
            }
            if self.store.pin(key, pinned.proposal, pinned.end) {
                changed = true;
                say(format!(
                    "proposal {} pinned key {}; its secret is published after {}",
                    pinned.proposal,
                    key.to_hex(),
                    pinned.end
                ));
            }
        }
        changed
    }

    /// Tops the pool up and publishes it when the relays' newest pool of this holder lists
    /// other keys.
    async fn refresh_pool(&mut self, say: &mut impl FnMut(String)) -> Result<(), HolderError> {
        if self.store.top_up(self.pool, &mut rand::rngs::OsRng) > 0 {
            self.store.save()?;
        }
        let unused = self.store.unused();
        let published = self.newest_pool().await;
        let wanted: BTreeSet<BallotKey> = unused.iter().copied().collect();
        if let Some((at, keys)) = &published {
            self.last_pool_at = Some(self.last_pool_at.map_or(*at, |last| last.max(*at)));
            if *keys == wanted {
                return Ok(());
            }
        }
        let now = Timestamp::now();
        let created_at = match self.last_pool_at {
            Some(last) if last >= now => last + 1_u64,
            _ => now,
        };
        let builder = ballot_key_pool(&unused).custom_created_at(created_at);
        match self.client.send_event_builder(builder).await {
            Ok(output) if !output.success.is_empty() => {
                self.last_pool_at = Some(created_at);
                say(format!(
                    "published the ballot key pool: {} unused key(s), accepted by {} relay(s)",
                    unused.len(),
                    output.success.len()
                ));
            }
            Ok(output) => say(format!(
                "no relay accepted the ballot key pool: {:?}",
                output.failed.values().collect::<Vec<_>>()
            )),
            Err(e) => say(format!("cannot publish the ballot key pool: {e}")),
        }
        Ok(())
    }

    /// This holder's newest pool on the relays: when it was made and the keys it lists.
    async fn newest_pool(&self) -> Option<(Timestamp, BTreeSet<BallotKey>)> {
        let filter = Filter::new()
            .kind(kind::BALLOT_KEY_POOL)
            .author(self.me)
            .identifier(d::BALLOT_KEY_POOL);
        let events = self.client.fetch_events(filter, self.timeout).await.ok()?;
        events
            .into_iter()
            .filter(|e| e.verify().is_ok())
            .filter_map(|e| parse_ballot_key_pool(&e).ok())
            .max_by_key(|pool| pool.created_at)
            .map(|pool| (pool.created_at, pool.keys.into_iter().collect()))
    }

    /// How long until the next reveal falls due (or a long nap when none waits).
    fn next_wake(&self) -> Duration {
        let now = now();
        if !self.store.due(now).is_empty() {
            return RETRY_AFTER;
        }
        match self.store.next_due(now) {
            Some(at) => Duration::from_secs(at - now),
            None => RESYNC_EVERY,
        }
    }

    /// Publishes every secret that is due and not on the relays yet.
    async fn reveal_due(&mut self, say: &mut impl FnMut(String)) -> Result<(), HolderError> {
        for (key, proposal) in self.store.due(now()) {
            if self.already_revealed(&key, proposal).await {
                self.store.mark_revealed(&key, &proposal);
                self.store.save()?;
                continue;
            }
            let Some(held) = self.store.get(&key) else {
                continue;
            };
            let builder = ballot_secret(proposal, &key, held.secret());
            match self.client.send_event_builder(builder).await {
                Ok(output) if !output.success.is_empty() => {
                    self.store.mark_revealed(&key, &proposal);
                    self.store.save()?;
                    say(format!(
                        "revealed key {} of proposal {proposal}: accepted by {} relay(s)",
                        key.to_hex(),
                        output.success.len()
                    ));
                }
                Ok(_) => say(format!(
                    "no relay accepted the secret of key {} of proposal {proposal}; trying again",
                    key.to_hex()
                )),
                Err(e) => say(format!(
                    "cannot publish the secret of key {} of proposal {proposal}: {e}",
                    key.to_hex()
                )),
            }
        }
        Ok(())
    }

    /// Whether this holder's valid secret of `key` for `proposal` is already on a relay.
    async fn already_revealed(&self, key: &BallotKey, proposal: EventId) -> bool {
        let filter = Filter::new()
            .kind(kind::BALLOT_SECRET)
            .author(self.me)
            .identifier(d::ballot_secret(&proposal));
        let Ok(events) = self.client.fetch_events(filter, self.timeout).await else {
            return false;
        };
        let found = events.iter().any(|event| {
            event.verify().is_ok()
                && parse_ballot_secret(event)
                    .is_ok_and(|s| s.key == *key && crate::votes::is_valid_secret(&s.secret, key))
        });
        found
    }
}
