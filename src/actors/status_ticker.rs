//! `StatusTickerActor`: the governance status (kind 30078, `d`=`governance-status`) and the
//! server health (kind 30079, `d`=`server-health`), both signed with the server key.
//!
//! # Status
//!
//! Published once at start and then every `nostr.publish_interval_secs`: who the server is
//! (`server_id`, `governance_config`), what it runs (`version`, `binary_hash` of the running
//! executable, hashed once at start on a blocking thread, and `config_hash` of the effective
//! settings, [`crate::configuration::Settings::canonical_json`]), how long it has run, the state
//! of every relay link (asked of the relay actors, [`GetHealth`]) and the audit log's head
//! (asked of the audit actor, [`GetHead`]).
//!
//! # Health
//!
//! `degraded` when fewer than half the relays are connected or the database does not answer
//! ([`crate::audit::server_status::evaluate_health`]), `healthy` otherwise. Published once at start, and then only when that
//! status really changes: the actor listens to every relay's [`RelayLinkChanged`] (and looks at
//! the database on every status tick), re-evaluates, and lets [`HealthGate`] decide. A changed
//! status must hold for `nostr.health_debounce_secs` before it is published, so a relay that
//! drops and comes straight back publishes nothing. Changes in the number of connected relays
//! that leave the status as it was publish nothing either (they would republish at every
//! flap; the status and relay counts in the 30078 status event are at most an interval old).
//! A new merge in the audit log does publish health again (its `last_merge`), at the next
//! status tick.
//!
//! # Start-up
//!
//! Relays connect in the first moments after start. The first status and health wait until
//! every relay is connected, or `nostr.reconnect.connect_timeout_ms` has passed, so a healthy
//! start is not announced as `degraded` one second before it is announced `healthy`.
//!
//! Every event's `created_at` is strictly greater than the last one with the same `d`
//! ([`strictly_after`]), across restarts too (the last ones are read back from the outbox).

use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use nostr_sdk::hashes::{sha256, Hash, HashEngine};
use nostr_sdk::{Event, EventBuilder, Keys, Kind, RelayUrl, Timestamp};
use sea_orm::DatabaseConnection;

use crate::actors::audit_head::{self, AuditHeadActor, GetHead, SERVER_SIGNER};
use crate::actors::relay::{GetHealth, LinkState, RelayActor, RelayLinkChanged};
use crate::actors::supervision::{ChildGuard, StopChild, SupervisedActor, Supervisor, ToChild};
use crate::audit::chain::strictly_after;
use crate::audit::server_status::{
    config_hash, last_merge_of, HealthDecision, HealthGate, Snapshot,
};
use crate::configuration::Settings;
use crate::nostr::events::{
    self, AuditSummary, GovernanceStatus, HealthStatus, LastMerge, ServerHealth,
};
use crate::store::audit_log;
use crate::store::db;
use crate::store::outbox::{self, Outbox};

/// The child name of the one status ticker under its supervisor.
pub const CHILD_NAME: &str = "status";
/// Wait before trying again when an event could not be put in the outbox.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// What the status ticker needs to be created (and re-created after a failure).
#[derive(Clone)]
pub struct StatusSpec {
    pub settings: Arc<Settings>,
    /// Signs the 30078 status and 30079 health events.
    pub server_keys: Keys,
    pub db: DatabaseConnection,
    pub outbox: Outbox,
    pub relays: Addr<Supervisor<RelayActor>>,
    pub relay_urls: Vec<RelayUrl>,
    pub audit: Addr<Supervisor<AuditHeadActor>>,
    /// When the service started (for `uptime_secs`).
    pub started_at: Instant,
}

#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("cannot hash the running executable {path}: {source}")]
    BinaryHash {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot locate the running executable: {0}")]
    NoExecutable(std::io::Error),
    #[error("the hashing task failed: {0}")]
    Join(String),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
}

/// `sha256:<hex>` of a file's bytes, read in chunks. Blocking.
pub fn file_hash(path: &Path) -> Result<String, StatusError> {
    let read = || -> std::io::Result<[u8; 32]> {
        let mut file = std::fs::File::open(path)?;
        let mut engine = sha256::Hash::engine();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            engine.input(&buf[..n]);
        }
        Ok(sha256::Hash::from_engine(engine).to_byte_array())
    };
    read()
        .map(|digest| events::sha256_tagged(&digest))
        .map_err(|source| StatusError::BinaryHash {
            path: path.display().to_string(),
            source,
        })
}

// --- the actor --------------------------------------------------------------------------------

pub struct StatusTickerActor {
    spec: StatusSpec,
    guard: ChildGuard,
    binary_hash: Option<String>,
    config_hash: String,
    gate: HealthGate,
    last_status_at: Option<Timestamp>,
    last_health_at: Option<Timestamp>,
    /// The first status and health are out.
    announced: bool,
    /// The start-up wait for relays is over.
    grace_over: bool,
    /// A status event is owed (a tick came).
    status_due: bool,
    evaluating: bool,
    evaluate_again: bool,
    health_timer: Option<SpawnHandle>,
    last_merge: Option<LastMerge>,
    /// The `last_merge` of the newest health event in the outbox: a new merge publishes health
    /// again, whatever the status.
    published_last_merge: Option<Option<LastMerge>>,
    audit: Option<AuditSummary>,
}

impl SupervisedActor for StatusTickerActor {
    type Spec = StatusSpec;
    const KIND: &'static str = "status";

    fn build(spec: &StatusSpec, guard: ChildGuard) -> Self {
        StatusTickerActor {
            config_hash: config_hash(&spec.settings),
            gate: HealthGate::new(Duration::from_secs(
                spec.settings.nostr.health_debounce_secs,
            )),
            spec: spec.clone(),
            guard,
            binary_hash: None,
            last_status_at: None,
            last_health_at: None,
            announced: false,
            grace_over: false,
            status_due: false,
            evaluating: false,
            evaluate_again: false,
            health_timer: None,
            last_merge: None,
            published_last_merge: None,
            audit: None,
        }
    }
}

/// What the actor loads before it does anything.
struct Loaded {
    binary_hash: String,
    last_status_at: Option<Timestamp>,
    last_health_at: Option<Timestamp>,
}

async fn load(spec: &StatusSpec) -> Result<Loaded, StatusError> {
    let exe = std::env::current_exe().map_err(StatusError::NoExecutable)?;
    let binary_hash = tokio::task::spawn_blocking(move || file_hash(&exe))
        .await
        .map_err(|e| StatusError::Join(e.to_string()))??;
    let pubkey = spec.server_keys.public_key();
    // The server key signs no other kind 30078 or 30079 event.
    let last = |kind: Kind| {
        let db = spec.db.clone();
        async move {
            outbox::latest_by(&db, &pubkey, kind)
                .await
                .map(|e| e.map(|e| e.created_at))
        }
    };
    Ok(Loaded {
        binary_hash,
        last_status_at: last(events::kind::GOVERNANCE_STATUS).await?,
        last_health_at: last(events::kind::SERVER_HEALTH).await?,
    })
}

async fn gather(spec: StatusSpec) -> Snapshot {
    let states = futures::future::join_all(spec.relay_urls.iter().map(|url| {
        let relays = spec.relays.clone();
        let name = url.to_string();
        async move {
            let state = match relays
                .send(ToChild {
                    name: name.clone(),
                    msg: GetHealth,
                })
                .await
            {
                Ok(Ok(health)) => health.state,
                // Restarting, or gone: not connected.
                _ => LinkState::Disconnected,
            };
            (name, state)
        }
    }))
    .await;
    let database_ok = db::ping(&spec.db).await;
    let audit = match spec
        .audit
        .send(ToChild {
            name: audit_head::CHILD_NAME.into(),
            msg: GetHead,
        })
        .await
    {
        Ok(Ok(summary)) => Some(summary),
        _ => None,
    };
    let last_merge = if database_ok {
        audit_log::latest_of_type(&spec.db, events::action::MERGE)
            .await
            .map(|entry| {
                entry
                    .as_ref()
                    .and_then(|e| last_merge_of(&e.entry_json, e.created_at))
            })
            .map_err(|e| e.to_string())
    } else {
        Err("database unavailable".into())
    };
    Snapshot {
        relays: states.into_iter().collect(),
        database_ok,
        audit,
        last_merge,
    }
}

impl Actor for StatusTickerActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let spec = self.spec.clone();
        ctx.wait(async move { load(&spec).await }.into_actor(self).map(
            |res, act, ctx| match res {
                Ok(loaded) => {
                    act.binary_hash = Some(loaded.binary_hash);
                    act.last_status_at = loaded.last_status_at;
                    act.last_health_at = loaded.last_health_at;
                    let grace =
                        Duration::from_millis(act.spec.settings.nostr.reconnect.connect_timeout_ms);
                    ctx.run_later(grace, |act, ctx| {
                        act.grace_over = true;
                        act.evaluate(ctx);
                    });
                    let interval =
                        Duration::from_secs(act.spec.settings.nostr.publish_interval_secs);
                    ctx.run_interval(interval, |act, ctx| {
                        act.status_due = true;
                        act.evaluate(ctx);
                    });
                    act.evaluate(ctx);
                }
                Err(e) => {
                    tracing::error!(error = %e, "status ticker cannot start");
                    ctx.stop();
                }
            },
        ));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.guard.mark_stopped();
    }
}

impl StatusTickerActor {
    /// Looks at the world and publishes what is owed. One evaluation at a time; a trigger that
    /// comes meanwhile runs another one right after.
    fn evaluate(&mut self, ctx: &mut Context<Self>) {
        if self.evaluating {
            self.evaluate_again = true;
            return;
        }
        self.evaluating = true;
        self.evaluate_again = false;
        ctx.spawn(
            gather(self.spec.clone())
                .into_actor(self)
                .then(|snapshot, act, ctx| {
                    let events = act.decide(&snapshot, ctx);
                    let outbox = act.spec.outbox.clone();
                    async move {
                        let mut published = Vec::new();
                        for (what, event) in events {
                            match outbox.publish(event, SERVER_SIGNER).await {
                                Ok(_) => published.push(what),
                                Err(e) => {
                                    tracing::error!(error = %e, "cannot store a status event in the outbox");
                                    return (published, false);
                                }
                            }
                        }
                        (published, true)
                    }
                    .into_actor(act)
                })
                .map(|(published, complete), act, ctx| {
                    for what in published {
                        match what {
                            Published::Status => {}
                            Published::Health(status, last_merge) => {
                                act.gate.published(status);
                                act.published_last_merge = Some(last_merge);
                            }
                        }
                    }
                    if !complete {
                        act.status_due = true;
                        ctx.run_later(RETRY_AFTER, |act, ctx| act.evaluate(ctx));
                    }
                    act.evaluating = false;
                    if act.evaluate_again {
                        act.evaluate(ctx);
                    }
                }),
        );
    }

    /// The events owed for this snapshot, signed.
    fn decide(&mut self, snapshot: &Snapshot, ctx: &mut Context<Self>) -> Vec<(Published, Event)> {
        if let Ok(last_merge) = &snapshot.last_merge {
            self.last_merge.clone_from(last_merge);
        }
        if let Some(audit) = &snapshot.audit {
            self.audit = Some(audit.clone());
        }
        let health = snapshot.health();
        let mut out = Vec::new();
        if !self.announced {
            if !(snapshot.all_connected() || self.grace_over) {
                return out; // still waiting for relays to connect
            }
            self.announced = true;
            self.status_due = true;
            out.extend(self.sign_health(snapshot, health));
        } else {
            match self.gate.observe(health, Instant::now()) {
                // The status holds, but a merge since the last health event: say so.
                HealthDecision::Unchanged
                    if self.published_last_merge.as_ref() != Some(&self.last_merge) =>
                {
                    out.extend(self.sign_health(snapshot, health));
                }
                HealthDecision::Unchanged => {}
                HealthDecision::Publish => {
                    tracing::warn!(
                        status = health.as_str(),
                        connected = snapshot.relays_connected(),
                        total = snapshot.relays_total(),
                        database_ok = snapshot.database_ok,
                        "server health changed"
                    );
                    out.extend(self.sign_health(snapshot, health));
                }
                HealthDecision::WaitUntil(at) => {
                    if let Some(handle) = self.health_timer.take() {
                        ctx.cancel_future(handle);
                    }
                    let delay = at.saturating_duration_since(Instant::now());
                    self.health_timer = Some(ctx.run_later(delay, |act, ctx| {
                        act.health_timer = None;
                        act.evaluate(ctx);
                    }));
                }
            }
        }
        if std::mem::take(&mut self.status_due) {
            match self.sign_status(snapshot) {
                Some(event) => out.insert(0, (Published::Status, event)),
                None => {
                    ctx.run_later(RETRY_AFTER, |act, ctx| {
                        act.status_due = true;
                        act.evaluate(ctx);
                    });
                }
            }
        }
        out
    }

    fn sign(&self, builder: EventBuilder) -> Option<Event> {
        builder
            .sign_with_keys(&self.spec.server_keys)
            .map_err(|e| tracing::error!(error = %e, "cannot sign a status event"))
            .ok()
    }

    fn sign_status(&mut self, snapshot: &Snapshot) -> Option<Event> {
        let binary_hash = self.binary_hash.clone()?;
        let Some(audit) = self.audit.clone() else {
            tracing::warn!("the audit log's head is not known yet; status postponed");
            return None;
        };
        let created_at = strictly_after(Timestamp::now(), self.last_status_at);
        let settings = &self.spec.settings;
        let status = GovernanceStatus {
            server_id: settings.server.id.clone(),
            governance_config: settings.nostr.governance_config.clone(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            timestamp: created_at.as_secs(),
            binary_hash,
            config_hash: self.config_hash.clone(),
            uptime_secs: self.spec.started_at.elapsed().as_secs(),
            relays: snapshot
                .relays
                .iter()
                .map(|(url, state)| (url.clone(), state.as_str().to_string()))
                .collect(),
            audit,
        };
        let event = self.sign(events::governance_status(&status).custom_created_at(created_at))?;
        self.last_status_at = Some(created_at);
        Some(event)
    }

    fn sign_health(
        &mut self,
        snapshot: &Snapshot,
        status: HealthStatus,
    ) -> Option<(Published, Event)> {
        let created_at = strictly_after(Timestamp::now(), self.last_health_at);
        let health = ServerHealth {
            server_id: self.spec.settings.server.id.clone(),
            status,
            uptime_secs: self.spec.started_at.elapsed().as_secs(),
            last_merge: self.last_merge.clone(),
            relays_connected: snapshot.relays_connected(),
            relays_total: snapshot.relays_total(),
        };
        let event = self.sign(events::server_health(&health).custom_created_at(created_at))?;
        self.last_health_at = Some(created_at);
        Some((Published::Health(status, health.last_merge), event))
    }
}

/// What an event put in the outbox was.
#[derive(Debug, Clone)]
enum Published {
    Status,
    Health(HealthStatus, Option<LastMerge>),
}

impl Handler<RelayLinkChanged> for StatusTickerActor {
    type Result = ();

    fn handle(&mut self, msg: RelayLinkChanged, ctx: &mut Context<Self>) {
        tracing::debug!(relay = %msg.relay, up = msg.up, "relay link changed; re-evaluating health");
        if self.binary_hash.is_some() {
            self.evaluate(ctx);
        }
    }
}

impl Handler<StopChild> for StatusTickerActor {
    type Result = ();

    fn handle(&mut self, _: StopChild, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_hash_is_sha256_of_the_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            file_hash(&path).unwrap(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(file_hash(&dir.path().join("missing")).is_err());
    }
}
