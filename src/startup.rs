//! Wiring: from validated settings and loaded keys to a running service.
//!
//! [`Application::start`] connects and migrates the database, starts the embedded relay when
//! enabled, starts one supervisor per actor type and then their children, and binds the HTTP
//! server. It returns a handle a test can start on random ports and stop again, and that
//! `main` runs until SIGINT or SIGTERM. Supervisors are started before any child so every
//! actor's spec can carry the supervisor addresses of the actors it talks to: an actor never
//! holds the address of another actor's *instance*, which a restart would make stale.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use actix_web::dev::ServerHandle;
use nostr_sdk::{PublicKey, RelayUrl};
use sea_orm::DatabaseConnection;

use crate::actors::audit_head::{self, AuditHeadActor, AuditSpec};
use crate::actors::bot::{BotActor, BotSpec, PublishEvent};
use crate::actors::relay::{self, Deliver, RelayActor, RelaySpec, PUBLISH_TIMEOUT};
use crate::actors::status_ticker::{self, StatusSpec, StatusTickerActor};
use crate::actors::supervision::{Broadcast, StartChild, StopAll, Supervisor, ToChild};
use crate::actors::vote_aggregator::{self, VoteAggregatorActor, VoteAggregatorSpec};
use crate::actors::zap_tracker::{self, TrackerTuning, ZapTrackerActor, ZapTrackerSpec};
use crate::configuration::{redact_url, Settings};
use crate::http;
use crate::http::handles::ServiceHandles;
use crate::keys::ServiceKeys;
use crate::metrics::Metrics;
use crate::nostr::dev_provider::DevProvider;
use crate::nostr::embedded_relay::EmbeddedRelay;
use crate::nostr::zap_provider::ZapProvider;
use crate::nostr::zap_recipients::{BotZapConfig, ZapperCache};
use crate::store::db;
use crate::store::outbox::{self, Lease, Outbox, OutboxWake};

/// How often the database is probed for `commons_database_up` (and the outbox depth re-read).
const DATABASE_PROBE_EVERY: Duration = Duration::from_secs(2);

pub struct Application {
    handles: ServiceHandles,
    database_monitor: tokio::task::JoinHandle<()>,
    http_addr: SocketAddr,
    http: ServerHandle,
    embedded_relay: Option<EmbeddedRelay>,
    status: Addr<Supervisor<StatusTickerActor>>,
    /// The outbox's retention task ([`outbox::start_pruner`]).
    pruner: actix_rt::task::JoinHandle<()>,
    /// The nostr-sdk client every relay actor's relay belongs to.
    relay_client: nostr_sdk::Client,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] db::DbSetupError),
    #[error("database migrations failed: {0}")]
    Migrate(sea_orm::DbErr),
    #[error("database: {0}")]
    Query(#[from] sea_orm::DbErr),
    #[error(transparent)]
    EmbeddedRelay(#[from] crate::nostr::embedded_relay::EmbeddedRelayError),
    #[error("lnurl.dev_provider: {0}")]
    DevProvider(String),
    #[error("http.bind: cannot listen on {addr}: {source}")]
    HttpBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl Application {
    /// Starts the whole service. Must run inside an actix system.
    pub async fn start(settings: Settings, keys: ServiceKeys) -> Result<Application, StartupError> {
        let started_at = Instant::now();
        // Bound first: the development provider's lightning addresses name the bound port.
        let listener =
            http::bind_listener(settings.http.bind).map_err(|source| StartupError::HttpBind {
                addr: settings.http.bind,
                source,
            })?;
        let http_addr = listener
            .local_addr()
            .map_err(|source| StartupError::HttpBind {
                addr: settings.http.bind,
                source,
            })?;
        let mut settings = settings;
        let dev_provider = match &keys.dev_zapper {
            Some(zapper) => {
                let provider = ZapProvider::development(zapper.clone())
                    .map_err(|e| StartupError::DevProvider(e.to_string()))?;
                settings.serve_dev_bots(http_addr, provider.public_key());
                let provider = DevProvider::new(provider, http_addr).ok_or_else(|| {
                    StartupError::DevProvider(format!("no base URL for {http_addr}"))
                })?;
                Some(Arc::new(provider))
            }
            None => None,
        };
        let settings = Arc::new(settings);
        tracing::debug!(database = %redact_url(&settings.database.url), "connecting to the database");
        let db = db::connect(&settings.database.url).await?;
        db::migrate(&db).await.map_err(StartupError::Migrate)?;

        let embedded_relay = if settings.nostr.enabled && settings.nostr.embedded_relay.enabled {
            Some(EmbeddedRelay::start(settings.nostr.embedded_relay.bind).await?)
        } else {
            None
        };
        let relay_urls = if settings.nostr.enabled {
            settings.relay_urls(embedded_relay.as_ref().map(EmbeddedRelay::addr))
        } else {
            Vec::new()
        };

        let metrics = Metrics::new();
        metrics.database_up.set(1);
        let lease = Lease::new(
            &settings.server.id,
            Duration::from_secs(settings.outbox.lease_secs),
        );
        let relays = Supervisor::<RelayActor>::new(metrics.clone()).start();
        let bots = Supervisor::<BotActor>::new(metrics.clone()).start();
        // Before the tracker: it tells the aggregator of every committed batch.
        let votes = Supervisor::<VoteAggregatorActor>::new(metrics.clone()).start();
        votes.do_send(StartChild::<VoteAggregatorActor> {
            name: vote_aggregator::CHILD_NAME.to_string(),
            spec: VoteAggregatorSpec {
                db: db.clone(),
                metrics: metrics.clone(),
                bots: bots.clone(),
                gov_bot: crate::http::actions::GOV_BOT.to_string(),
                debounce: Duration::from_secs(settings.governance.tally_debounce_secs),
                server_id: Arc::from(settings.server.id.as_str()),
                lease: Duration::from_secs(settings.governance.tally_lease_secs),
                receipt_poll: Duration::from_secs(settings.governance.receipt_poll_secs),
                relays: relay_urls.clone(),
            },
        });
        // Before any relay child: every relay spec carries the tracker supervisor's address.
        let zaps = Supervisor::<ZapTrackerActor>::new(metrics.clone()).start();
        let zap_bots: Vec<BotZapConfig> = keys
            .bots
            .iter()
            .filter_map(|(name, bot_keys)| {
                let bot = settings.nostr.bots.get(name)?;
                Some(BotZapConfig::from_settings(
                    name,
                    bot_keys.public_key(),
                    bot,
                ))
            })
            .collect();
        let zapper_cache = ZapperCache::default();
        if settings.nostr.enabled {
            zaps.do_send(StartChild::<ZapTrackerActor> {
                name: zap_tracker::CHILD_NAME.to_string(),
                spec: ZapTrackerSpec {
                    db: db.clone(),
                    metrics: metrics.clone(),
                    relays: relays.clone(),
                    relay_urls: relay_urls.clone(),
                    bots: zap_bots.clone(),
                    backfill_margin: Duration::from_secs(settings.nostr.backfill_margin_secs),
                    catch_up_every: (settings.nostr.catch_up_secs > 0)
                        .then(|| Duration::from_secs(settings.nostr.catch_up_secs)),
                    lnurl: settings.nostr.lnurl.clone(),
                    zapper_cache: zapper_cache.clone(),
                    tuning: TrackerTuning::default(),
                    vote_sink: Some(votes.clone().recipient()),
                    target_sink: Some(votes.clone().recipient()),
                    server_id: Arc::from(settings.server.id.as_str()),
                },
            });
        }
        let audit = Supervisor::<AuditHeadActor>::new(metrics.clone()).start();
        // Before any relay child too: the status ticker listens to every relay's link.
        let status = Supervisor::<StatusTickerActor>::new(metrics.clone()).start();

        let relay_client = relay::relay_client(&keys.server);
        for url in &relay_urls {
            relays.do_send(StartChild::<RelayActor> {
                name: url.to_string(),
                spec: RelaySpec {
                    url: url.clone(),
                    client: relay_client.clone(),
                    db: db.clone(),
                    metrics: metrics.clone(),
                    reconnect: settings.nostr.reconnect.clone(),
                    publish_timeout: PUBLISH_TIMEOUT,
                    lease: lease.clone(),
                    link_listeners: vec![zaps.clone().recipient(), status.clone().recipient()],
                    event_sink: Some(zaps.clone().recipient()),
                },
            });
        }

        let wake_relays = relays.clone();
        let outbox = Outbox::new(
            db.clone(),
            OutboxWake::new(move |entry| wake_relays.do_send(Broadcast(Deliver { entry }))),
            relay_urls.clone(),
            metrics.clone(),
            lease,
        );
        let depth = outbox::depth(&db).await?;
        metrics
            .outbox_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));

        audit.do_send(StartChild::<AuditHeadActor> {
            name: audit_head::CHILD_NAME.to_string(),
            spec: AuditSpec {
                db: db.clone(),
                server_keys: keys.server.clone(),
                server_id: settings.server.id.clone(),
                outbox: outbox.clone(),
                debounce: Duration::from_millis(settings.nostr.audit_debounce_ms),
            },
        });
        if settings.nostr.enabled {
            status.do_send(StartChild::<StatusTickerActor> {
                name: status_ticker::CHILD_NAME.to_string(),
                spec: StatusSpec {
                    settings: settings.clone(),
                    server_keys: keys.server.clone(),
                    db: db.clone(),
                    outbox: outbox.clone(),
                    relays: relays.clone(),
                    relay_urls: relay_urls.clone(),
                    audit: audit.clone(),
                    started_at,
                },
            });
        }

        let mut bot_pubkeys = Vec::new();
        for (name, bot_keys) in &keys.bots {
            let Some(bot_settings) = settings.nostr.bots.get(name) else {
                continue;
            };
            bot_pubkeys.push((name.clone(), bot_keys.public_key()));
            if settings.nostr.enabled {
                bots.do_send(StartChild::<BotActor> {
                    name: name.clone(),
                    spec: BotSpec {
                        name: name.clone(),
                        keys: bot_keys.clone(),
                        settings: bot_settings.clone(),
                        relays: relay_urls.clone(),
                        outbox: outbox.clone(),
                    },
                });
            }
        }

        if settings.nostr.enabled {
            if let Some(public_url) = &settings.http.public_url {
                publish_client_handler(&bots, public_url);
            }
        }

        let handles = ServiceHandles {
            settings: settings.clone(),
            db,
            metrics,
            relays,
            bots,
            zaps,
            audit,
            votes,
            zap_bots,
            zapper_cache,
            outbox,
            relay_urls,
            server_pubkey: keys.server.public_key(),
            bot_pubkeys,
            admin_token: keys.admin_token.clone(),
            github_webhook_secret: keys.github_webhook_secret.clone(),
            started_at,
            dev_provider,
        };

        let database_monitor = actix_rt::spawn(monitor_database(
            handles.db.clone(),
            handles.metrics.clone(),
        ));
        let (http, http_addr) =
            http::serve_on(listener, handles.clone()).map_err(|source| StartupError::HttpBind {
                addr: http_addr,
                source,
            })?;
        let pruner = outbox::start_pruner(
            handles.db.clone(),
            settings.outbox.retention_days,
            handles.metrics.clone(),
        );
        tracing::info!(%http_addr, relays = handles.relay_urls.len(), "service started");
        Ok(Application {
            handles,
            database_monitor,
            http_addr,
            http,
            embedded_relay,
            status,
            pruner,
            relay_client,
        })
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    pub fn handles(&self) -> &ServiceHandles {
        &self.handles
    }

    /// The nostr-sdk client the relay actors share: it holds a relay for each one that is
    /// connecting or connected.
    pub fn relay_client(&self) -> &nostr_sdk::Client {
        &self.relay_client
    }

    pub fn embedded_relay_url(&self) -> Option<&RelayUrl> {
        self.embedded_relay.as_ref().map(EmbeddedRelay::url)
    }

    /// Stops accepting requests, lets in-flight ones finish, then stops every actor. Whatever
    /// a relay has not acknowledged stays in the outbox for the next start.
    pub async fn stop(self) {
        self.http.stop(true).await;
        self.database_monitor.abort();
        self.pruner.abort();
        self.handles.bots.do_send(StopAll);
        self.handles.zaps.do_send(StopAll);
        self.status.do_send(StopAll);
        self.handles.audit.do_send(StopAll);
        self.handles.votes.do_send(StopAll);
        self.handles.relays.do_send(StopAll);
        // Give the actors' `stopped()` a turn of the event loop to close websockets.
        actix_rt::time::sleep(Duration::from_millis(50)).await;
        self.relay_client.shutdown().await;
        if let Some(relay) = &self.embedded_relay {
            relay.shutdown();
        }
        tracing::info!("service stopped");
    }
}

/// Probes the database every [`DATABASE_PROBE_EVERY`] so `/metrics` says whether it answers
/// even when nobody asks `/healthz`, and re-reads the outbox depth from it: relay actors count
/// their own answers, but deliveries taken over from another server sharing the database, or
/// answered while the database could not record them, are only right when counted there.
async fn monitor_database(db: DatabaseConnection, metrics: Arc<Metrics>) {
    let mut every = actix_rt::time::interval(DATABASE_PROBE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if !db::probe(&db, &metrics).await {
            continue;
        }
        match outbox::depth(&db).await {
            Ok(depth) => {
                metrics
                    .outbox_depth
                    .set(i64::try_from(depth).unwrap_or(i64::MAX));
            }
            Err(e) => {
                metrics.database_error("outbox_depth");
                tracing::debug!(error = %e, "cannot count the outbox");
            }
        }
    }
}

/// Publishes the page's NIP-89 handler event (kind 31990) from the gov bot, so clients offer
/// "open in" the page at `public_url` for proposals, tallies and zap polls. Once per start:
/// the event is addressable, so the newest replaces the last.
fn publish_client_handler(bots: &Addr<Supervisor<BotActor>>, public_url: &str) {
    let bots = bots.clone();
    let builder = crate::nostr::nip89::client_handler(public_url);
    actix_rt::spawn(async move {
        let sent = bots
            .send(ToChild {
                name: crate::http::actions::GOV_BOT.to_string(),
                msg: PublishEvent(builder),
            })
            .await;
        match sent {
            Ok(Ok(Ok(published))) => {
                tracing::info!(event_id = %published.event_id, "published the page's NIP-89 handler")
            }
            Ok(Ok(Err(e))) => {
                tracing::warn!(error = %e, "cannot publish the page's NIP-89 handler")
            }
            _ => tracing::warn!(
                "cannot publish the page's NIP-89 handler: the gov bot is not running"
            ),
        }
    });
}

/// The public keys a service with these keys would publish under, for start-up output.
pub fn describe_keys(keys: &ServiceKeys) -> Vec<(String, PublicKey)> {
    let mut out = vec![("server".to_string(), keys.server.public_key())];
    out.extend(keys.bots.iter().map(|(n, k)| (n.clone(), k.public_key())));
    if let Some(zapper) = &keys.dev_zapper {
        out.push(("zapper".to_string(), zapper.public_key()));
    }
    out
}
