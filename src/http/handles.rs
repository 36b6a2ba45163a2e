//! What the HTTP handlers need from the running service: the supervisors' addresses to send
//! messages to, the database, the metrics and the settings. [`crate::startup`] builds one
//! [`ServiceHandles`] when it wires the service and hands it to [`super::serve`]; the
//! handlers never reach back into `startup`.

use std::sync::Arc;
use std::time::Instant;

use actix::dev::ToEnvelope;
use actix::{Addr, Handler, Message};
use nostr_sdk::{PublicKey, RelayUrl};
use sea_orm::DatabaseConnection;

use crate::actors::audit_head::AuditHeadActor;
use crate::actors::bot::BotActor;
use crate::actors::relay::RelayActor;
use crate::actors::supervision::{Supervisor, ToChild};
use crate::actors::vote_aggregator::{self, VoteAggregatorActor};
use crate::actors::zap_tracker::ZapTrackerActor;
use crate::configuration::Settings;
use crate::keys::Secret;
use crate::metrics::Metrics;
use crate::nostr::dev_provider::DevProvider;
use crate::nostr::zap_recipients::{BotZapConfig, ZapperCache};
use crate::store::outbox::Outbox;

/// What the HTTP handlers and the CLI-facing parts of the service can reach.
#[derive(Clone)]
pub struct ServiceHandles {
    pub settings: Arc<Settings>,
    pub db: DatabaseConnection,
    pub metrics: Arc<Metrics>,
    pub relays: Addr<Supervisor<RelayActor>>,
    pub bots: Addr<Supervisor<BotActor>>,
    /// The zap tracker: `ToChild { name: zap_tracker::CHILD_NAME.into(), msg: .. }`.
    pub zaps: Addr<Supervisor<ZapTrackerActor>>,
    /// The audit log: `ToChild { name: "audit".into(), msg: AppendEntry { .. } }`.
    pub audit: Addr<Supervisor<AuditHeadActor>>,
    /// The vote aggregator: `ToChild { name: vote_aggregator::CHILD_NAME.into(), msg: .. }`.
    pub votes: Addr<Supervisor<VoteAggregatorActor>>,
    /// The bots' zap settings and the LNURL provider keys resolved so far: what a new
    /// proposal pins as its `zappers`.
    pub zap_bots: Vec<BotZapConfig>,
    pub zapper_cache: ZapperCache,
    pub outbox: Outbox,
    pub relay_urls: Vec<RelayUrl>,
    pub server_pubkey: PublicKey,
    /// Bot name -> public key.
    pub bot_pubkeys: Vec<(String, PublicKey)>,
    pub admin_token: Secret,
    /// GitHub's webhook secret; `None`: `POST /webhooks/github` answers 404.
    pub github_webhook_secret: Option<Secret>,
    pub started_at: Instant,
    /// The development LNURL provider, when `lnurl.dev_provider` serves a bot.
    pub dev_provider: Option<Arc<DevProvider>>,
}

impl ServiceHandles {
    /// Asks the vote aggregator; `Err` says why it cannot answer (not running, or restarting).
    pub async fn ask_votes<M>(&self, msg: M) -> Result<M::Result, String>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        VoteAggregatorActor: Handler<M>,
        <VoteAggregatorActor as actix::Actor>::Context: ToEnvelope<VoteAggregatorActor, M>,
    {
        self.votes
            .send(ToChild {
                name: vote_aggregator::CHILD_NAME.to_owned(),
                msg,
            })
            .await
            .map_err(|_| "the vote aggregator is not running".to_owned())?
            .map_err(|e| e.to_string())
    }
}
