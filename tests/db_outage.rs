//! PostgreSQL going away for a while, and coming back, under a running service.
//!
//! The service reaches PostgreSQL through a loopback proxy ([`TcpProxy`]) that the test cuts
//! (live connections closed, new ones black-holed, as a vanished host behaves) and restores.
//! Relays are real in-process relays. The test holds the service to what an operator needs:
//! health and metrics say the database is down, and why; the admin API refuses writes with a
//! clear 503 and acknowledges nothing it could not store; and once the database is back every
//! part recovers by itself, without a restart: health, the outbox, the zap tracker.
//!
//! PostgreSQL only (`TEST_DATABASE_URL`); skipped with a message otherwise.

mod common;

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use common::app::TestConfig;
use common::http::{metric, Api, Auth};
use common::relays::{wait_for_ids, TestRelay};
use common::tcp_proxy::TcpProxy;
use common::test_db::TestDb;
use common::zaps::{is_recorded, publish, wait_until, zap_config, Zaps};
use commons_nostr::nostr::zap_provider::ZapProvider;
use commons_nostr::store::outbox;
use nostr_sdk::prelude::*;
use serde_json::json;

/// `/healthz` must notice a dead database within this long.
const NOTICE_WITHIN: Duration = Duration::from_secs(8);
/// Everything must recover within this long after the database is back.
const RECOVER_WITHIN: Duration = Duration::from_secs(30);

/// The host and port of a `postgres://` URL.
pub fn postgres_addr(url: &str) -> SocketAddr {
    let parsed = url::Url::parse(url).expect("a database URL");
    let host = parsed.host_str().expect("a host");
    let port = parsed.port().unwrap_or(5432);
    (host, port)
        .to_socket_addrs()
        .expect("resolvable host")
        .next()
        .expect("an address")
}

fn merge(pr: u64) -> serde_json::Value {
    json!({"action": "merge", "repository": "btc-commons/governance", "pr": pr, "tier": 1,
           "title": format!("Merge {pr}")})
}

fn action_filter(gov: PublicKey) -> Filter {
    Filter::new()
        .author(gov)
        .kind(Kind::ApplicationSpecificData)
}

#[actix_rt::test]
async fn the_service_rides_out_a_database_outage() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!("skipped: TEST_DATABASE_URL is not set (this test needs PostgreSQL)");
        return;
    };
    let proxy = TcpProxy::start(postgres_addr(&db.url)).await;
    let relays = [TestRelay::start().await, TestRelay::start().await];
    let relay_urls: Vec<RelayUrl> = relays.iter().map(TestRelay::url).collect();
    let provider = ZapProvider::generate();
    let cfg: TestConfig = zap_config(
        &proxy.url_for(&db.url),
        relay_urls.clone(),
        &provider.public_key(),
    );
    let zaps = Zaps {
        provider,
        sender: Keys::generate(),
        bot: cfg.bot("gov"),
    };
    let app = cfg.start().await;
    let api = Api::new(app.http_addr(), &cfg.admin_token);
    // The test's own view of the database, not through the proxy.
    let direct = commons_nostr::store::db::connect(&db.url)
        .await
        .expect("direct");

    wait_until(Duration::from_secs(10), "a healthy start", || async {
        api.get("/healthz").await.status == 200
    })
    .await;
    let before = zaps.honest("before the outage");
    publish(&relay_urls, std::slice::from_ref(&before)).await;
    wait_until(
        Duration::from_secs(10),
        "the first zap recorded",
        || async { is_recorded(&direct, &before.id).await },
    )
    .await;
    let first = api.post("/v1/actions", Auth::Admin, &merge(1)).await;
    assert_eq!(first.status, 201, "{:?}", first.json);
    let mut acknowledged = vec![EventId::from_hex(first.text("event_id")).unwrap()];

    // --- the database goes away ---------------------------------------------------------------
    proxy.cut();
    let cut_at = Instant::now();
    wait_until(NOTICE_WITHIN, "/healthz to report the database", || async {
        let health = api.get("/healthz").await;
        health.status == 503 && health.json["database"] == "unreachable"
    })
    .await;
    eprintln!("/healthz said 503 after {:?}", cut_at.elapsed());
    let health = api.get("/healthz").await;
    assert_eq!(health.json["status"], "degraded", "{}", health.json);
    let text = api.metrics().await;
    assert_eq!(metric(&text, "commons_database_up"), 0.0, "{text}");

    // Zaps keep being paid while the database is away.
    let during: Vec<Event> = (0..3)
        .map(|i| zaps.honest(&format!("during the outage {i}")))
        .collect();
    publish(&relay_urls, &during).await;

    // An action now cannot be stored: refused with a clear 503, nothing acknowledged.
    let asked = Instant::now();
    let refused = api.post("/v1/actions", Auth::Admin, &merge(2)).await;
    assert_eq!(refused.status, 503, "{:?}", refused.json);
    assert!(
        refused.error().contains("database"),
        "the refusal says why: {}",
        refused.json
    );
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "a dead database fails fast, not after {:?}",
        asked.elapsed()
    );
    wait_until(
        Duration::from_secs(15),
        "metrics to count failed writes",
        || async {
            let text = api.metrics().await;
            metric(
                &text,
                r#"commons_database_errors_total{operation="outbox_enqueue"}"#,
            ) >= 1.0
                && metric(
                    &text,
                    r#"commons_database_errors_total{operation="zap_commit"}"#,
                ) >= 1.0
        },
    )
    .await;
    for receipt in &during {
        assert!(!is_recorded(&direct, &receipt.id).await);
    }

    // --- the database comes back --------------------------------------------------------------
    proxy.restore();
    let restored_at = Instant::now();
    wait_until(RECOVER_WITHIN, "/healthz back to 200", || async {
        api.get("/healthz").await.status == 200
    })
    .await;
    eprintln!("/healthz said 200 after {:?}", restored_at.elapsed());
    assert_eq!(metric(&api.metrics().await, "commons_database_up"), 1.0);

    // The zap tracker catches up by itself: every receipt paid during the outage is recorded.
    wait_until(RECOVER_WITHIN, "the outage's zaps recorded", || async {
        for receipt in &during {
            if !is_recorded(&direct, &receipt.id).await {
                return false;
            }
        }
        true
    })
    .await;

    // The API works again, and everything it acknowledged reaches every relay.
    let again = api.post("/v1/actions", Auth::Admin, &merge(2)).await;
    assert_eq!(again.status, 201, "{:?}", again.json);
    acknowledged.push(EventId::from_hex(again.text("event_id")).unwrap());
    for url in &relay_urls {
        wait_for_ids(
            url,
            action_filter(cfg.bot("gov")),
            &acknowledged,
            RECOVER_WITHIN,
        )
        .await;
    }
    // And the outbox drains by itself, the server's own events (status, health, heads) too.
    wait_until(RECOVER_WITHIN, "the outbox to drain", || async {
        outbox::depth(&direct).await.unwrap_or(u64::MAX) == 0
    })
    .await;
    wait_until(RECOVER_WITHIN, "the outbox depth gauge", || async {
        metric(&api.metrics().await, "commons_outbox_depth") == 0.0
    })
    .await;
    let text = api.metrics().await;
    let restarts: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("commons_actor_restarts_total"))
        .collect();
    eprintln!("actor restarts: {restarts:?}");
    app.stop().await;
    drop(relays);
}
