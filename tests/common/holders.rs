//! Independent ballot key holders for tests (DESIGN.md "Sealed ballots", *Independent
//! holders*): the real `commons-nostr ballot-holder` binary run in a directory of its own with
//! its key file (mode 0600) and keys file, and a log of every event a holder's key signed that
//! reached a relay, fed by a live subscription opened before the holder starts (so a secret
//! published twice, even across restarts, is counted twice).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use commons_nostr::nostr::ballot_key_pool::{parse_ballot_key_pool, BallotKeyPool};
use commons_nostr::nostr::ballot_secret::{parse_ballot_secret, BallotSecretEvent};
use nostr_sdk::prelude::*;
use tokio::sync::Notify;

use super::binary::{command, Running, BIN};

/// A holder's identity and files; [`HolderFiles::start`] runs the binary on them.
pub struct HolderFiles {
    pub keys: Keys,
    dir: tempfile::TempDir,
}

impl HolderFiles {
    /// A fresh holder key, written to `holder.nsec` (mode 0600) in a directory of its own.
    pub fn new() -> HolderFiles {
        let keys = Keys::generate();
        let dir = tempfile::tempdir().expect("a holder directory");
        let key_file = dir.path().join("holder.nsec");
        std::fs::write(&key_file, keys.secret_key().to_bech32().expect("nsec")).expect("key file");
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
            .expect("chmod 600");
        HolderFiles { keys, dir }
    }

    pub fn pubkey(&self) -> PublicKey {
        self.keys.public_key()
    }

    pub fn npub(&self) -> String {
        self.pubkey().to_bech32().expect("npub")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The keys file (`--keys`).
    pub fn keys_file(&self) -> PathBuf {
        self.dir.path().join("ballot-keys.json")
    }

    /// The binary's command line: `--pool pool` on `relays`.
    pub fn command(&self, relays: &[RelayUrl], pool: u16) -> std::process::Command {
        let mut cmd = command(BIN, self.dir.path(), &[]);
        cmd.args(["ballot-holder", "--key", "holder.nsec", "--keys"])
            .arg(self.keys_file())
            .args(["--pool", &pool.to_string(), "--timeout", "3"]);
        for relay in relays {
            cmd.args(["--relay", relay.as_str()]);
        }
        cmd
    }

    /// Starts the holder and waits until it has read the relays and published what it must
    /// (its "watching the relays" line).
    pub fn start(&self, relays: &[RelayUrl], pool: u16) -> Running {
        self.start_with(relays, pool, &[])
    }

    /// [`HolderFiles::start`] with more arguments (`--operator NPUB`, say).
    pub fn start_with(&self, relays: &[RelayUrl], pool: u16, more: &[&str]) -> Running {
        let mut command = self.command(relays, pool);
        command.args(more);
        let mut running = Running::start(command);
        running.wait_for("watching the relays");
        running
    }

    /// [`HolderFiles::start`] on a blocking thread: for a test whose relays and service run
    /// on its own (single-threaded) runtime, which must keep answering the holder meanwhile.
    pub async fn start_beside(&self, relays: &[RelayUrl], pool: u16) -> Running {
        let command = self.command(relays, pool);
        tokio::task::spawn_blocking(move || {
            let mut running = Running::start(command);
            running.wait_for("watching the relays");
            running
        })
        .await
        .expect("the holder started")
    }
}

/// Every event signed by `author` that reached a relay since [`AuthorLog::follow`].
#[derive(Clone)]
pub struct AuthorLog {
    events: Arc<Mutex<Vec<Event>>>,
    arrived: Arc<Notify>,
    client: Client,
}

impl AuthorLog {
    /// Opens a live subscription to `author`'s kind-30078 events on `relay`.
    pub async fn follow(relay: &RelayUrl, author: PublicKey) -> AuthorLog {
        let client = super::relays::reader(relay).await;
        let mut notifications = client.notifications();
        client
            .subscribe(
                Filter::new()
                    .kind(Kind::ApplicationSpecificData)
                    .author(author),
                None,
            )
            .await
            .expect("subscribe");
        let log = AuthorLog {
            events: Arc::new(Mutex::new(Vec::new())),
            arrived: Arc::new(Notify::new()),
            client,
        };
        let (events, arrived) = (log.events.clone(), log.arrived.clone());
        tokio::spawn(async move {
            while let Ok(notification) = notifications.recv().await {
                if let RelayPoolNotification::Event { event, .. } = notification {
                    events.lock().expect("log").push(*event);
                    arrived.notify_waiters();
                }
            }
        });
        log
    }

    /// Every event received so far (a relay sends each once per subscription).
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().expect("log").clone()
    }

    /// Waits (up to `timeout`) until `found` picks something out of the events received.
    pub async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        found: impl Fn(&[Event]) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            if let Some(value) = found(&self.events()) {
                return value;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("{what}: not on the relay after {timeout:?}");
            }
        }
    }

    /// The pool events received, oldest first, parsed (each checked to be signed).
    pub fn pools(&self) -> Vec<BallotKeyPool> {
        self.events()
            .iter()
            .filter(|e| e.verify().is_ok())
            .filter_map(|e| parse_ballot_key_pool(e).ok())
            .collect()
    }

    /// The ballot secret events received for `proposal`, parsed (each checked to be signed).
    pub fn secrets_of(&self, proposal: &EventId) -> Vec<BallotSecretEvent> {
        secrets_of(&self.events(), proposal)
    }

    pub async fn stop(self) {
        self.client.shutdown().await;
    }
}

/// The signed ballot secret events for `proposal` among `events`.
pub fn secrets_of(events: &[Event], proposal: &EventId) -> Vec<BallotSecretEvent> {
    events
        .iter()
        .filter(|e| e.verify().is_ok())
        .filter_map(|e| parse_ballot_secret(e).ok())
        .filter(|s| s.proposal == *proposal)
        .collect()
}
