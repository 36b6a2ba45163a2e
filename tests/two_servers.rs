//! Two servers on one PostgreSQL database (README, "Deployment"): distinct `server.id` and
//! server keys, the same bot keys, the same relays, the same database.
//!
//! Both follow the same zap receipts and take the same kind of admin requests; the database's
//! unique indexes and the outbox's delivery leases must make every receipt one row and every
//! governance action one event and one audit entry. Each publishes its own status and health.
//! Then one server dies abruptly with deliveries queued for a relay that was down, and the other
//! must deliver them once their lease runs out.
//!
//! PostgreSQL only (`TEST_DATABASE_URL`); skipped with a message otherwise.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use common::app::TestConfig;
use common::http::{metric, Api, Auth};
use common::relays::{fetch_all, wait_for_ids, TestRelay};
use common::test_db::TestDb;
use common::zaps::{publish, receipt_rows, wait_until, zap_config, Zaps};
use commons_nostr::nostr::events;
use commons_nostr::nostr::zap_provider::ZapProvider;
use commons_nostr::store::entities::{audit_log_entry, outbox_event};
use commons_nostr::store::outbox;
use nostr_sdk::prelude::*;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

const WITHIN: Duration = Duration::from_secs(30);
const LEASE_SECS: &str = "2";

fn merge(pr: u64) -> serde_json::Value {
    json!({"action": "merge", "repository": "btc-commons/governance", "pr": pr, "tier": 1,
           "title": format!("Merge {pr}")})
}

fn review_period(pr: u64) -> serde_json::Value {
    json!({"action": "review-period", "repository": "btc-commons/governance", "pr": pr,
           "tier": 2, "title": format!("Review {pr}"), "voting_window_days": 7})
}

/// A server running on an actix system of its own, in a thread of its own, so the test can
/// kill it abruptly: the system is dropped without a graceful stop, as `kill -9` would.
struct Doomed {
    http_addr: SocketAddr,
    kill: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Doomed {
    fn start(cfg: TestConfig) -> Doomed {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (kill, killed) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let app = cfg.start().await;
                addr_tx.send(app.http_addr()).expect("the test waits");
                let _ = killed.await;
                // No `app.stop()`: the system goes down with everything in flight.
                std::mem::forget(app);
            });
        });
        let http_addr = addr_rx.recv().expect("the server started");
        Doomed {
            http_addr,
            kill: Some(kill),
            thread: Some(thread),
        }
    }

    fn kill(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the server's thread ends");
        }
    }
}

impl Drop for Doomed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Zap receipts each server has taken in (recorded or found already recorded).
async fn zaps_seen(api: &Api) -> (f64, f64) {
    let text = api.metrics().await;
    (
        metric(&text, "commons_zap_receipts_accepted_total"),
        metric(&text, "commons_zap_receipts_duplicate_total"),
    )
}

#[actix_rt::test]
async fn two_servers_share_one_database() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!("skipped: TEST_DATABASE_URL is not set (this test needs PostgreSQL)");
        return;
    };
    let up = TestRelay::start().await;
    let mut late = TestRelay::down();
    let relay_urls = vec![up.url(), late.url()];
    let provider = ZapProvider::generate();
    let cfg_a = zap_config(&db.url, relay_urls.clone(), &provider.public_key())
        .with("COMMONS__SERVER__ID", "commons-a")
        .with("COMMONS__OUTBOX__LEASE_SECS", LEASE_SECS);
    let mut cfg_b = cfg_a.clone().with("COMMONS__SERVER__ID", "commons-b");
    cfg_b.server_keys = Keys::generate();
    let (server_a, server_b) = (
        cfg_a.server_keys.public_key(),
        cfg_b.server_keys.public_key(),
    );
    let gov = cfg_a.bot("gov");
    let zaps = Zaps {
        provider,
        sender: Keys::generate(),
        bot: gov,
    };

    let mut a = Doomed::start(cfg_a.clone());
    let b = cfg_b.start().await;
    let api_a = Api::new(a.http_addr, &cfg_a.admin_token);
    let api_b = Api::new(b.http_addr(), &cfg_b.admin_token);
    let direct = commons_nostr::store::db::connect(&db.url)
        .await
        .expect("direct");

    // --- every zap receipt recorded once ---------------------------------------------------------
    let receipts: Vec<Event> = (0..10).map(|i| zaps.honest(&format!("zap {i}"))).collect();
    publish(&[up.url()], &receipts).await;
    wait_until(WITHIN, "both servers to take every receipt in", || async {
        for api in [&api_a, &api_b] {
            let (accepted, duplicate) = zaps_seen(api).await;
            if accepted + duplicate < receipts.len() as f64 {
                return false;
            }
        }
        true
    })
    .await;
    assert_eq!(receipt_rows(&direct).await, receipts.len() as u64);
    let (accepted_a, _) = zaps_seen(&api_a).await;
    let (accepted_b, _) = zaps_seen(&api_b).await;
    assert_eq!(
        accepted_a + accepted_b,
        receipts.len() as f64,
        "each receipt is recorded by exactly one server"
    );

    // --- every governance action published once ------------------------------------------------
    let on_a = api_a.post("/v1/actions", Auth::Admin, &merge(1)).await;
    assert_eq!(on_a.status, 201, "{:?}", on_a.json);
    let on_b = api_b.post("/v1/actions", Auth::Admin, &merge(2)).await;
    assert_eq!(on_b.status, 201, "{:?}", on_b.json);
    // The same review period asked of both at once: one proposal, one refusal.
    let body = review_period(3);
    let (first, second) = futures::join!(
        api_a.post("/v1/actions", Auth::Admin, &body),
        api_b.post("/v1/actions", Auth::Admin, &body),
    );
    let mut statuses = vec![first.status.as_u16(), second.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409], "{:?} / {:?}", first.json, second.json);
    let proposal = if first.status == 201 { &first } else { &second };
    let actions: Vec<EventId> = [&on_a, &on_b, proposal]
        .iter()
        .map(|answer| EventId::from_hex(answer.text("event_id")).unwrap())
        .collect();
    let action_filter = Filter::new()
        .author(gov)
        .kind(events::kind::GOVERNANCE_ACTION)
        .hashtag(events::hashtag::GOVERNANCE_ACTION);
    wait_for_ids(&up.url(), action_filter.clone(), &actions, WITHIN).await;
    let on_relay = fetch_all(&up.url(), action_filter).await;
    assert_eq!(
        on_relay.len(),
        actions.len(),
        "one event per action: {on_relay:?}"
    );
    let entries = audit_log_entry::Entity::find()
        .order_by_asc(audit_log_entry::Column::Position)
        .all(&direct)
        .await
        .unwrap();
    let positions: Vec<i64> = entries.iter().map(|e| e.position).collect();
    assert_eq!(positions, (0..entries.len() as i64).collect::<Vec<_>>());
    let audited: HashSet<String> = entries
        .iter()
        .filter_map(|e| {
            serde_json::from_str::<serde_json::Value>(&e.entry_json).ok()?["event_id"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(entries.len(), actions.len(), "one audit entry per action");
    for id in &actions {
        assert!(audited.contains(&id.to_hex()), "audit entry for {id}");
    }

    // --- each server its own status and health -------------------------------------------------
    for (server, id) in [(server_a, "commons-a"), (server_b, "commons-b")] {
        for (kind, d) in [
            (
                events::kind::GOVERNANCE_STATUS,
                events::d::GOVERNANCE_STATUS,
            ),
            (events::kind::SERVER_HEALTH, events::d::SERVER_HEALTH),
        ] {
            let filter = Filter::new().author(server).kind(kind).identifier(d);
            let mut found = Vec::new();
            wait_until(WITHIN, &format!("{id}'s {d}"), || {
                let filter = filter.clone();
                let url = up.url();
                async move { !fetch_all(&url, filter).await.is_empty() }
            })
            .await;
            found.extend(fetch_all(&up.url(), filter).await);
            let event = &found[0];
            let server_tag = event
                .tags
                .iter()
                .find_map(|t| match t.as_slice() {
                    [name, value, ..] if name == events::tag::SERVER => Some(value.clone()),
                    _ => None,
                })
                .expect("a server tag");
            assert_eq!(server_tag, id, "{d} of {id}");
        }
    }

    // --- one server dies with deliveries queued; the other delivers them -----------------------
    let queued = api_a.post("/v1/actions", Auth::Admin, &merge(4)).await;
    assert_eq!(queued.status, 201, "{:?}", queued.json);
    let queued_id = EventId::from_hex(queued.text("event_id")).unwrap();
    // Everything server A signed (its status, health and head) and every action it published.
    let a_signed: Vec<EventId> = outbox_event::Entity::find()
        .filter(outbox_event::Column::Author.eq(server_a.to_hex()))
        .all(&direct)
        .await
        .unwrap()
        .iter()
        .map(|row| EventId::from_hex(&row.event_id).unwrap())
        .collect();
    assert!(!a_signed.is_empty());
    a.kill();
    late.restart().await;

    let mut owed = a_signed;
    owed.extend([actions[0], queued_id]);
    wait_for_ids(&late.url(), Filter::new().ids(owed.clone()), &owed, WITHIN).await;
    wait_until(WITHIN, "the outbox to drain", || async {
        outbox::depth(&direct).await.unwrap_or(u64::MAX) == 0
    })
    .await;
    // Still one event per action on the relay that came late.
    let late_actions = fetch_all(
        &late.url(),
        Filter::new()
            .author(gov)
            .kind(events::kind::GOVERNANCE_ACTION)
            .hashtag(events::hashtag::GOVERNANCE_ACTION),
    )
    .await;
    assert_eq!(late_actions.len(), actions.len() + 1, "{late_actions:?}");
    b.stop().await;
}
