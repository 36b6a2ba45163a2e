//! `AuditHeadActor`: the one owner of the append-only audit log and its head events.
//!
//! Every governance action is appended to the log ([`AppendEntry`]); the log's Merkle root
//! (RFC 9162, [`crate::audit::merkle`]) is its *head*, published as a kind 30080 event signed with the
//! server key (`d`=`audit-head`). Each head event names the previous *published* head and
//! carries the consistency proof from it, so anyone holding two heads can check that nothing
//! was removed or rewritten in between; the chain of `previous_head`s ties every head to the
//! one before it.
//!
//! # Why one actor, and what it remembers
//!
//! The tree lives in memory ([`MerkleLog`], rebuilt from the `audit_log` table at start), so a
//! head costs `O(log n)`. Appends are handled one at a time ([`AtomicResponse`]), so the tree
//! always matches the database: an append also brings in whatever other servers sharing the
//! database appended meanwhile ([`audit_log::append`]).
//!
//! The last published head is remembered across restarts by reading the newest 30080 event
//! back from the outbox: the outbox already holds every event the server signed, durably, so a
//! second record of it could only disagree with the first. If the log no longer extends that
//! head (a restored or edited database), no proof can be made: the actor logs an error and
//! starts a new chain from the empty tree. That break is then visible to every verifier, which
//! is the point of publishing heads; hiding it behind a made-up proof would not be.
//!
//! # When heads are published
//!
//! Once at start, and after appends: the first append after a publication opens a window of
//! `nostr.audit_debounce_ms`; everything appended within it goes out as one event. Each event's
//! `created_at` is strictly greater than the previous one's ([`strictly_after`]): relays keep
//! only the newest event per `d`, and two in the same second would tie.

use std::time::Duration;

use actix::prelude::*;
use nostr_sdk::{Event, Keys, Timestamp};
use sea_orm::DatabaseConnection;

use crate::actors::supervision::{ChildGuard, StopChild, SupervisedActor};
use crate::audit::chain::{plan_head, should_schedule, strictly_after, PublishedHead};
use crate::audit::merkle::{Digest, MerkleLog};
use crate::nostr::events::{self, AuditSummary};
use crate::store::audit_log::{self, AuditLogError};
use crate::store::outbox::{self, Outbox};

/// The child name of the one audit actor under its supervisor.
pub const CHILD_NAME: &str = "audit";
/// The signer name recorded in the outbox for server-key events.
pub const SERVER_SIGNER: &str = "server";
/// Wait before trying again when a head could not be put in the outbox.
const RETRY_AFTER: Duration = Duration::from_secs(2);

/// What the audit actor needs to be created (and re-created after a failure).
#[derive(Clone)]
pub struct AuditSpec {
    pub db: DatabaseConnection,
    /// Signs the 30080 head events.
    pub server_keys: Keys,
    /// The `server` tag.
    pub server_id: String,
    pub outbox: Outbox,
    /// Appends within this window after the first one share one head event.
    pub debounce: Duration,
}

// --- messages ---------------------------------------------------------------------------------

/// Appends an entry to the audit log and schedules a head publication. `entry_type` is the
/// action's name; `entry` is stored (and hashed) as canonical JSON.
#[derive(Message, Debug, Clone)]
#[rtype(result = "Result<AppendedEntry, AuditError>")]
pub struct AppendEntry {
    pub entry_type: String,
    pub entry: serde_json::Value,
}

/// Where an entry landed, and the log's head right after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendedEntry {
    /// The 0-based leaf index.
    pub position: u64,
    /// `sha256:<hex>` root of the log of `position + 1` entries.
    pub head: String,
}

/// The current head of the log (published or not yet), as the status event summarises it.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "AuditSummary")]
pub struct GetHead;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Log(#[from] AuditLogError),
    #[error("the audit log is inconsistent with the running server ({0}); reloading it")]
    OutOfStep(String),
}

// --- the actor --------------------------------------------------------------------------------

pub struct AuditHeadActor {
    spec: AuditSpec,
    guard: ChildGuard,
    log: MerkleLog,
    /// The last head put in the outbox (this run or an earlier one).
    published: Option<PublishedHead>,
    /// `created_at` of the last head event put in the outbox.
    last_created_at: Option<Timestamp>,
    /// A publication waiting for its debounce window.
    timer: Option<SpawnHandle>,
    /// A head event being committed to the outbox.
    publishing: bool,
}

impl SupervisedActor for AuditHeadActor {
    type Spec = AuditSpec;
    const KIND: &'static str = "audit";

    fn build(spec: &AuditSpec, guard: ChildGuard) -> Self {
        AuditHeadActor {
            spec: spec.clone(),
            guard,
            log: MerkleLog::new(),
            published: None,
            last_created_at: None,
            timer: None,
            publishing: false,
        }
    }
}

/// What the actor loads before it handles anything.
struct Loaded {
    log: MerkleLog,
    published: Option<PublishedHead>,
    last_created_at: Option<Timestamp>,
}

async fn load(spec: &AuditSpec) -> Result<Loaded, AuditError> {
    let log = audit_log::load_log(&spec.db).await?;
    let last = outbox::latest_by(
        &spec.db,
        &spec.server_keys.public_key(),
        events::kind::AUDIT_HEAD,
    )
    .await
    .map_err(AuditLogError::from)?;
    let (published, last_created_at) = match last {
        None => (None, None),
        Some(event) => (published_head(&event), Some(event.created_at)),
    };
    Ok(Loaded {
        log,
        published,
        last_created_at,
    })
}

/// The head an earlier 30080 event of ours published; `None` (a new chain) if it is unreadable.
fn published_head(event: &Event) -> Option<PublishedHead> {
    let parsed = events::parse_audit_head(event)
        .map_err(|e| e.to_string())
        .and_then(|h| {
            Digest::parse_prefixed(&h.head.head)
                .map(|root| PublishedHead {
                    root,
                    entries: h.head.entries,
                })
                .map_err(|e| e.to_string())
        });
    match parsed {
        Ok(head) => Some(head),
        Err(e) => {
            tracing::error!(event_id = %event.id, error = %e, "cannot read our last audit head; starting a new chain");
            None
        }
    }
}

impl Actor for AuditHeadActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let spec = self.spec.clone();
        // `wait`: appends queue until the tree matches the database.
        ctx.wait(async move { load(&spec).await }.into_actor(self).map(
            |res, act, ctx| match res {
                Ok(loaded) => {
                    tracing::debug!(
                        entries = loaded.log.len(),
                        head = %loaded.log.root().to_prefixed(),
                        "audit log loaded"
                    );
                    act.log = loaded.log;
                    act.published = loaded.published;
                    act.last_created_at = loaded.last_created_at;
                    // The head is published once at every start.
                    act.publish(ctx);
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot load the audit log");
                    ctx.stop();
                }
            },
        ));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        self.guard.mark_stopped();
    }
}

impl AuditHeadActor {
    fn current(&self) -> PublishedHead {
        PublishedHead {
            root: self.log.root(),
            entries: self.log.len() as u64,
        }
    }

    /// Opens a debounce window unless one is open or a publication is under way.
    fn schedule(&mut self, ctx: &mut Context<Self>, delay: Duration) {
        if should_schedule(
            self.published,
            self.current(),
            self.timer.is_some(),
            self.publishing,
        ) {
            self.timer = Some(ctx.run_later(delay, |act, ctx| {
                act.timer = None;
                act.publish(ctx);
            }));
        }
    }

    /// Signs the head of the log as it is now and commits it to the outbox.
    fn publish(&mut self, ctx: &mut Context<Self>) {
        if self.publishing {
            return; // rescheduled when the one under way ends
        }
        let head = match plan_head(&self.log, self.published) {
            Ok(head) => head,
            Err(e) => {
                tracing::error!(
                    error = %e,
                    previous = ?self.published,
                    entries = self.log.len(),
                    "the audit log does not extend the last published head; starting a new chain from the empty tree"
                );
                match plan_head(&self.log, None) {
                    Ok(head) => head,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot compute the audit head");
                        return;
                    }
                }
            }
        };
        let created_at = strictly_after(Timestamp::now(), self.last_created_at);
        let event = match events::audit_head(&self.spec.server_id, &head)
            .custom_created_at(created_at)
            .sign_with_keys(&self.spec.server_keys)
        {
            Ok(event) => event,
            Err(e) => {
                tracing::error!(error = %e, "cannot sign the audit head");
                return;
            }
        };
        let new = self.current();
        self.last_created_at = Some(created_at);
        self.publishing = true;
        let outbox = self.spec.outbox.clone();
        ctx.spawn(
            async move { outbox.publish(event, SERVER_SIGNER).await }
                .into_actor(self)
                .map(move |res, act, ctx| {
                    act.publishing = false;
                    match res {
                        Ok(entry) => {
                            tracing::info!(
                                event_id = %entry.event.id,
                                head = %head.head,
                                entries = head.entries,
                                previous_entries = head.previous_entries,
                                "audit head published"
                            );
                            act.published = Some(new);
                            act.schedule(ctx, act.spec.debounce);
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "cannot store the audit head in the outbox; retrying");
                            act.schedule(ctx, RETRY_AFTER.max(act.spec.debounce));
                        }
                    }
                }),
        );
    }
}

impl Handler<AppendEntry> for AuditHeadActor {
    type Result = AtomicResponse<Self, Result<AppendedEntry, AuditError>>;

    fn handle(&mut self, msg: AppendEntry, _: &mut Context<Self>) -> Self::Result {
        let db = self.spec.db.clone();
        let known = self.log.len() as u64;
        AtomicResponse::new(Box::pin(
            async move { audit_log::append(&db, &msg.entry_type, &msg.entry, known).await }
                .into_actor(self)
                .map(move |res, act, ctx| {
                    let appended = match res {
                        Ok(appended) => appended,
                        Err(AuditLogError::AheadOfLog { known, stored }) => {
                            // The database lost entries this actor had seen: rebuild from it.
                            ctx.stop();
                            return Err(AuditError::OutOfStep(format!(
                                "{known} entries known, {stored} stored"
                            )));
                        }
                        Err(e) => return Err(e.into()),
                    };
                    act.log.extend(appended.missed);
                    act.log.push(appended.entry.leaf);
                    if act.log.len() as u64 != appended.entry.position + 1 {
                        ctx.stop();
                        return Err(AuditError::OutOfStep(format!(
                            "entry stored at position {} but the tree has {} leaves",
                            appended.entry.position,
                            act.log.len()
                        )));
                    }
                    tracing::debug!(
                        position = appended.entry.position,
                        entry_type = %appended.entry.entry_type,
                        "audit entry appended"
                    );
                    act.schedule(ctx, act.spec.debounce);
                    Ok(AppendedEntry {
                        position: appended.entry.position,
                        head: act.log.root().to_prefixed(),
                    })
                }),
        ))
    }
}

impl Handler<GetHead> for AuditHeadActor {
    type Result = MessageResult<GetHead>;

    fn handle(&mut self, _: GetHead, _: &mut Context<Self>) -> Self::Result {
        MessageResult(AuditSummary {
            head: self.log.root().to_prefixed(),
            entries: self.log.len() as u64,
        })
    }
}

impl Handler<StopChild> for AuditHeadActor {
    type Result = ();

    fn handle(&mut self, _: StopChild, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}
