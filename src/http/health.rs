//! `GET /healthz` and `GET /metrics`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use futures::future::join_all;
use serde::Serialize;

use crate::actors::relay::{GetHealth, LinkState, RelayHealth};
use crate::actors::supervision::{ChildStatus, ListChildren, ToChild};
use crate::http::handles::ServiceHandles;
use crate::store::db;

#[derive(Debug, Serialize)]
pub struct Health {
    pub status: &'static str,
    pub uptime_secs: u64,
    pub database: &'static str,
    pub relays: Vec<RelayHealth>,
    pub bots: Vec<BotHealth>,
    pub outbox_depth: i64,
}

#[derive(Debug, Serialize)]
pub struct BotHealth {
    pub name: String,
    pub running: bool,
    pub restarts: u64,
}

/// Every relay's health, asked of its actor (a relay whose actor does not answer is
/// disconnected).
pub async fn relay_health(h: &ServiceHandles) -> Vec<RelayHealth> {
    join_all(h.relay_urls.iter().map(|url| {
        let relays = h.relays.clone();
        let url = url.to_string();
        async move {
            match relays
                .send(ToChild {
                    name: url.clone(),
                    msg: GetHealth,
                })
                .await
            {
                Ok(Ok(health)) => health,
                _ => RelayHealth {
                    url,
                    state: LinkState::Disconnected,
                    last_success: None,
                    consecutive_failures: 0,
                },
            }
        }
    }))
    .await
}

/// Every bot's supervision status.
pub async fn bot_health(h: &ServiceHandles) -> Vec<ChildStatus> {
    h.bots.send(ListChildren).await.unwrap_or_default()
}

/// Whether the parts make a healthy service: at least half the relays connected (or none
/// configured), the database answering, every bot running.
pub fn is_healthy(relays: &[RelayHealth], database_ok: bool, bots: &[ChildStatus]) -> bool {
    let connected = relays
        .iter()
        .filter(|r| r.state == LinkState::Connected)
        .count();
    let relays_ok = relays.is_empty() || connected * 2 >= relays.len();
    database_ok && relays_ok && bots.iter().all(|b| b.running)
}

/// Collects the health of every part. Degraded: fewer than half the relays connected, the
/// database not answering (probed now, with a short timeout: [`db::probe`]), or a bot down.
pub async fn collect(h: &ServiceHandles) -> Health {
    let database_ok = db::probe(&h.db, &h.metrics).await;
    let relays = relay_health(h).await;
    let bots = bot_health(h).await;
    let healthy = is_healthy(&relays, database_ok, &bots);
    Health {
        status: if healthy { "healthy" } else { "degraded" },
        uptime_secs: h.started_at.elapsed().as_secs(),
        database: if database_ok { "ok" } else { "unreachable" },
        relays,
        bots: bots
            .into_iter()
            .map(|b| BotHealth {
                name: b.name,
                running: b.running,
                restarts: b.restarts,
            })
            .collect(),
        outbox_depth: h.metrics.outbox_depth.get(),
    }
}

pub async fn healthz(h: web::Data<ServiceHandles>) -> HttpResponse {
    let health = collect(&h).await;
    let status = if health.status == "healthy" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    HttpResponse::build(status).json(health)
}

pub async fn metrics(h: web::Data<ServiceHandles>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(h.metrics.render())
}
