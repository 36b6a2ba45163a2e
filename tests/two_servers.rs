//! Two servers on one PostgreSQL database (README, "Deployment"): distinct `server.id` and
//! server keys, the same bot keys, the same relays, the same database.
//!
//! Both follow the same zap receipts and take the same kind of admin requests; the database's
//! unique indexes and the outbox's delivery leases must make every receipt one row and every
//! governance action one event and one audit entry. Each publishes its own status and health.
//! Then one server dies abruptly with deliveries queued for a relay that was down, and the other
//! must deliver them once their lease runs out.
//!
//! Then "two servers, one truth" (DESIGN.md "Several servers on one database"): each server
//! follows a relay of its own (plus a shared one) and receipts are published to one own relay
//! each, so each server records about half; both servers' tallies, and the newest tally on the
//! relays, count all of them and equal a naive recompute, including a receipt whose transaction
//! committed after one with a higher id was counted. One server holds the tally lease; killed,
//! the other publishes the next tally within one lease plus the debounce; no two tallies of a
//! proposal share a `created_at`. And a database outage while receipts arrive on both servers:
//! afterwards the newest tally counts every recorded receipt.
//!
//! PostgreSQL only (`TEST_DATABASE_URL`); skipped with a message otherwise.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use common::app::TestConfig;
use common::http::{metric, Api, Auth};
use common::relays::{fetch_all, wait_for_ids, TestRelay};
use common::tcp_proxy::TcpProxy;
use common::test_db::TestDb;
use common::zaps::{paid_zap, publish, receipt_rows, wait_until, zap_config, Zaps};
use commons_nostr::nostr::events;
use commons_nostr::nostr::nip57::Zapper;
use commons_nostr::nostr::zap_provider::{ZapProvider, ZapTarget};
use commons_nostr::store::entities::{audit_log_entry, outbox_event, zap_receipt};
use commons_nostr::store::outbox;
use commons_nostr::store::zap_ledger::{self, Incoming};
use nostr_sdk::prelude::*;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
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

// --- every server counts every receipt; one publishes the tallies ---------------------------------

/// The tally lease of the servers below, and their debounce (seconds).
const TALLY_LEASE_SECS: u64 = 3;
const TALLY_DEBOUNCE_SECS: u64 = 1;
/// What a relay round trip, a poll and a loaded 2-core machine may add to "one lease plus
/// the debounce".
const TAKEOVER_SLACK: Duration = Duration::from_secs(3);
/// One bitcoin in millisatoshis.
const BTC_MSAT: f64 = 100_000_000_000.0;

/// One vote as the test made it: what the naive recompute needs.
#[derive(Debug, Clone)]
struct Vote {
    receipt: Event,
    msat: u64,
    veto: bool,
}

/// A vote on `proposal` from a new sender (one zap each, below the cooling-off threshold and
/// fewer than 20 senders in all, so neither cooling-off nor the cap applies).
fn vote(provider: &ZapProvider, gov: PublicKey, proposal: EventId, n: u64, veto: bool) -> Vote {
    let msat = 21_000 * (n + 1);
    let text = if veto { "veto: not yet" } else { "support" };
    let target = ZapTarget::new(gov, msat).event(proposal).content(text);
    Vote {
        receipt: paid_zap(provider, &Keys::generate(), &target, Timestamp::now()),
        msat,
        veto,
    }
}

/// Where a tally's content differs from the naive recompute of `votes` (DESIGN.md "Votes"
/// for distinct senders with one zap each, no cooling-off, no cap: each vote weighs
/// `sqrt(btc)`), or `None`.
fn differs_from_naive(content: &serde_json::Value, votes: &[Vote]) -> Option<String> {
    let weight = |veto: bool| -> f64 {
        votes
            .iter()
            .filter(|v| v.veto == veto)
            .map(|v| (v.msat as f64 / BTC_MSAT).sqrt())
            .sum()
    };
    let mut ids: Vec<String> = votes.iter().map(|v| v.receipt.id.to_hex()).collect();
    ids.sort();
    let close = |key: &str, expected: f64| {
        let found = content["result"][key].as_f64().unwrap_or(f64::NAN);
        ((found - expected).abs() > 1e-9).then(|| format!("{key} {found}, naive {expected}"))
    };
    if content["receipts_count"] != json!(votes.len()) {
        return Some(format!(
            "receipts_count {}, naive {}",
            content["receipts_count"],
            votes.len()
        ));
    }
    if content["voters"] != json!(votes.len()) {
        return Some(format!(
            "voters {}, naive {}",
            content["voters"],
            votes.len()
        ));
    }
    if content["receipts"] != json!(ids) {
        return Some("the counted receipts differ".into());
    }
    close("support_votes", weight(false)).or_else(|| close("veto_votes", weight(true)))
}

/// The newest tally of `proposal` on `relay`, if any.
async fn newest_tally(relay: &RelayUrl, gov: PublicKey, proposal: EventId) -> Option<Event> {
    let filter = Filter::new()
        .kind(Kind::ApplicationSpecificData)
        .author(gov)
        .identifier(format!("tally:{}", proposal.to_hex()));
    fetch_all(relay, filter)
        .await
        .into_iter()
        .max_by_key(|e| e.created_at)
}

/// Whether the newest tally on `relay` says what the naive recompute of `votes` says.
async fn relay_agrees(relay: &RelayUrl, gov: PublicKey, proposal: EventId, votes: &[Vote]) -> bool {
    match newest_tally(relay, gov, proposal).await {
        Some(event) => serde_json::from_str::<serde_json::Value>(&event.content)
            .ok()
            .is_some_and(|content| differs_from_naive(&content, votes).is_none()),
        None => false,
    }
}

/// Whether a server's own tally (`GET /v1/proposals/{id}/tally`) says what the naive
/// recompute of `votes` says.
async fn server_agrees(api: &Api, proposal: EventId, votes: &[Vote]) -> bool {
    let answer = api
        .get(&format!("/v1/proposals/{}/tally", proposal.to_hex()))
        .await;
    answer.status == 200 && differs_from_naive(&answer.json, votes).is_none()
}

/// Each server's `commons_tally_leader`.
async fn leaders(apis: &[&Api]) -> Vec<f64> {
    let mut found = Vec::new();
    for api in apis {
        found.push(metric(&api.metrics().await, "commons_tally_leader"));
    }
    found
}

/// Two servers on one database, each following a relay of its own plus a shared one.
fn server_pair(
    db_url: &str,
    provider: &ZapProvider,
    own_a: &TestRelay,
    own_b: &TestRelay,
    shared: &TestRelay,
) -> (TestConfig, TestConfig) {
    let cfg_a = zap_config(
        db_url,
        vec![own_a.url(), shared.url()],
        &provider.public_key(),
    )
    .with("COMMONS__SERVER__ID", "commons-a")
    .with("COMMONS__OUTBOX__LEASE_SECS", LEASE_SECS)
    .with(
        "COMMONS__GOVERNANCE__TALLY_LEASE_SECS",
        &TALLY_LEASE_SECS.to_string(),
    )
    .with(
        "COMMONS__GOVERNANCE__TALLY_DEBOUNCE_SECS",
        &TALLY_DEBOUNCE_SECS.to_string(),
    )
    .with("COMMONS__GOVERNANCE__RECEIPT_POLL_SECS", "1");
    let mut cfg_b = cfg_a.clone().with("COMMONS__SERVER__ID", "commons-b");
    cfg_b.server_keys = Keys::generate();
    cfg_b.relays = vec![own_b.url(), shared.url()];
    (cfg_a, cfg_b)
}

/// Publishes a review period through `api`; its event id.
async fn open_vote(api: &Api, pr: u64) -> EventId {
    let answer = api
        .post(
            "/v1/actions",
            Auth::Admin,
            &json!({"action": "review-period", "repository": "btc-commons/governance",
                    "pr": pr, "tier": 1, "title": format!("Vote {pr}"), "voting_window_days": 1}),
        )
        .await;
    assert_eq!(answer.status, 201, "{:?}", answer.json);
    EventId::from_hex(answer.text("event_id")).expect("an event id")
}

/// The `zap_receipts.id` of a receipt.
async fn row_id(db: &DatabaseConnection, receipt: &EventId) -> i64 {
    zap_receipt::Entity::find()
        .filter(zap_receipt::Column::ReceiptId.eq(receipt.to_hex()))
        .one(db)
        .await
        .expect("query")
        .expect("recorded")
        .id
}

#[actix_rt::test]
async fn every_server_counts_every_receipt_and_one_publishes_the_tallies() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!("skipped: TEST_DATABASE_URL is not set (this test needs PostgreSQL)");
        return;
    };
    let (own_a, own_b, shared) = (
        TestRelay::start().await,
        TestRelay::start().await,
        TestRelay::start().await,
    );
    let provider = ZapProvider::generate();
    let (cfg_a, cfg_b) = server_pair(&db.url, &provider, &own_a, &own_b, &shared);
    let gov = cfg_a.bot("gov");
    let mut servers = [Doomed::start(cfg_a.clone()), Doomed::start(cfg_b.clone())];
    let apis = [
        Api::new(servers[0].http_addr, &cfg_a.admin_token),
        Api::new(servers[1].http_addr, &cfg_b.admin_token),
    ];
    let own = [own_a.url(), own_b.url()];
    let direct = commons_nostr::store::db::connect(&db.url)
        .await
        .expect("direct");

    // --- one lease holder ------------------------------------------------------------------------
    wait_until(WITHIN, "one server to hold the tally lease", || async {
        leaders(&[&apis[0], &apis[1]]).await.iter().sum::<f64>() == 1.0
    })
    .await;
    let proposal = open_vote(&apis[0], 11).await;

    // --- each server records about half; both count all ---------------------------------------
    let mut votes: Vec<Vote> = (0..12)
        .map(|n| vote(&provider, gov, proposal, n, n % 5 == 4))
        .collect();
    let halves: Vec<Event> = votes.iter().map(|v| v.receipt.clone()).collect();
    publish(&[own[0].clone()], &halves[..6]).await;
    publish(&[own[1].clone()], &halves[6..]).await;
    wait_until(WITHIN, "both servers to count all twelve", || async {
        server_agrees(&apis[0], proposal, &votes).await
            && server_agrees(&apis[1], proposal, &votes).await
    })
    .await;
    for api in &apis {
        let text = api.metrics().await;
        assert_eq!(
            metric(&text, "commons_zap_receipts_accepted_total"),
            6.0,
            "each server recorded the receipts of its own relay"
        );
        assert_eq!(
            metric(&text, "commons_receipts_from_other_servers_total"),
            6.0,
            "and counted the other server's"
        );
    }

    // --- a receipt committed late, with a lower id than one already counted -----------------
    let late = vote(&provider, gov, proposal, 12, false);
    let next = vote(&provider, gov, proposal, 13, true);
    let recipients = HashMap::from([(gov, Zapper::Known(provider.public_key()))]);
    let judged = zap_ledger::judge(
        vec![Incoming {
            event: std::sync::Arc::new(late.receipt.clone()),
            relay: own[0].clone(),
            received_at: std::time::Instant::now(),
        }],
        &recipients,
    );
    let open = direct.begin().await.expect("a transaction");
    let recorded = zap_ledger::record_in(
        &open,
        Some("a-slow-writer"),
        &judged.judged,
        &[],
        Timestamp::now(),
    )
    .await
    .expect("recorded, not committed");
    assert_eq!(recorded.recorded.len(), 1);
    publish(&[own[0].clone()], std::slice::from_ref(&next.receipt)).await;
    let mut with_next = votes.clone();
    with_next.push(next.clone());
    wait_until(
        WITHIN,
        "both servers to count the newer receipt",
        || async {
            server_agrees(&apis[0], proposal, &with_next).await
                && server_agrees(&apis[1], proposal, &with_next).await
        },
    )
    .await;
    open.commit().await.expect("committed late");
    assert!(
        row_id(&direct, &late.receipt.id).await < row_id(&direct, &next.receipt.id).await,
        "the late receipt has the lower id"
    );
    votes.push(late);
    votes.push(next);
    wait_until(WITHIN, "both servers to count the late receipt", || async {
        server_agrees(&apis[0], proposal, &votes).await
            && server_agrees(&apis[1], proposal, &votes).await
    })
    .await;

    // --- the holder's relays carry a tally of every receipt --------------------------------------
    let leader_flags = leaders(&[&apis[0], &apis[1]]).await;
    let holder = leader_flags
        .iter()
        .position(|flag| *flag == 1.0)
        .expect("a holder");
    let survivor = 1 - holder;
    for relay in [&own[holder], &shared.url()] {
        wait_until(WITHIN, &format!("the newest tally on {relay}"), || async {
            relay_agrees(relay, gov, proposal, &votes).await
        })
        .await;
    }
    assert_eq!(
        leader_flags[survivor], 0.0,
        "the other server does not publish"
    );

    // --- the holder dies; the other publishes the next tally ----------------------------------
    servers[holder].kill();
    let killed_at = std::time::Instant::now();
    let after: Vec<Vote> = (14..16)
        .map(|n| vote(&provider, gov, proposal, n, false))
        .collect();
    let receipts: Vec<Event> = after.iter().map(|v| v.receipt.clone()).collect();
    publish(&[own[survivor].clone()], &receipts).await;
    votes.extend(after);
    let within = Duration::from_secs(TALLY_LEASE_SECS + TALLY_DEBOUNCE_SECS) + TAKEOVER_SLACK;
    wait_until(
        within,
        "the survivor's tally on the shared relay",
        || async { relay_agrees(&shared.url(), gov, proposal, &votes).await },
    )
    .await;
    eprintln!(
        "the survivor published the next tally {:?} after the holder died",
        killed_at.elapsed()
    );
    assert!(relay_agrees(&own[survivor], gov, proposal, &votes).await);
    assert!(server_agrees(&apis[survivor], proposal, &votes).await);
    assert_eq!(leaders(&[&apis[survivor]]).await, [1.0]);

    // --- no two tallies of the proposal share a created_at -------------------------------------
    let tallies = outbox_event::Entity::find()
        .filter(outbox_event::Column::DTag.eq(format!("tally:{}", proposal.to_hex())))
        .all(&direct)
        .await
        .expect("tally rows");
    let times: HashSet<i64> = tallies.iter().map(|row| row.created_at).collect();
    assert!(tallies.len() >= 2, "{tallies:?}");
    assert_eq!(
        times.len(),
        tallies.len(),
        "created_at repeated: {tallies:?}"
    );
    servers[survivor].kill();
}

/// The host and port of a `postgres://` URL.
fn postgres_addr(url: &str) -> SocketAddr {
    let parsed = url::Url::parse(url).expect("a database URL");
    let host = parsed.host_str().expect("a host").to_owned();
    let port = parsed.port().unwrap_or(5432);
    std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .expect("resolvable host")
        .next()
        .expect("an address")
}

#[actix_rt::test]
async fn after_a_database_outage_the_newest_tally_counts_every_receipt() {
    let Some(db) = TestDb::postgres().await else {
        eprintln!("skipped: TEST_DATABASE_URL is not set (this test needs PostgreSQL)");
        return;
    };
    let proxy = TcpProxy::start(postgres_addr(&db.url)).await;
    let (own_a, own_b, shared) = (
        TestRelay::start().await,
        TestRelay::start().await,
        TestRelay::start().await,
    );
    let provider = ZapProvider::generate();
    let (cfg_a, cfg_b) = server_pair(&proxy.url_for(&db.url), &provider, &own_a, &own_b, &shared);
    let gov = cfg_a.bot("gov");
    let a = cfg_a.start().await;
    let b = cfg_b.start().await;
    let apis = [
        Api::new(a.http_addr(), &cfg_a.admin_token),
        Api::new(b.http_addr(), &cfg_b.admin_token),
    ];
    let own = [own_a.url(), own_b.url()];
    let direct = commons_nostr::store::db::connect(&db.url)
        .await
        .expect("direct");
    let proposal = open_vote(&apis[0], 12).await;
    let mut votes: Vec<Vote> = (0..4)
        .map(|n| vote(&provider, gov, proposal, n, n == 3))
        .collect();
    let before: Vec<Event> = votes.iter().map(|v| v.receipt.clone()).collect();
    publish(&[own[0].clone()], &before[..2]).await;
    publish(&[own[1].clone()], &before[2..]).await;
    wait_until(WITHIN, "the first tally", || async {
        relay_agrees(&shared.url(), gov, proposal, &votes).await
    })
    .await;

    // Receipts keep arriving on both servers' relays while the database is away.
    proxy.cut();
    for api in &apis {
        wait_until(WITHIN, "/healthz to report the database", || async {
            api.get("/healthz").await.json["database"] == "unreachable"
        })
        .await;
    }
    let during: Vec<Vote> = (4..12)
        .map(|n| vote(&provider, gov, proposal, n, n % 4 == 0))
        .collect();
    let receipts: Vec<Event> = during.iter().map(|v| v.receipt.clone()).collect();
    publish(&[own[0].clone()], &receipts[..4]).await;
    publish(&[own[1].clone()], &receipts[4..]).await;
    votes.extend(during);
    proxy.restore();

    wait_until(
        Duration::from_secs(60),
        "the newest tally to count every receipt",
        || async {
            relay_agrees(&shared.url(), gov, proposal, &votes).await
                && receipt_rows(&direct).await == votes.len() as u64
        },
    )
    .await;
    wait_until(
        Duration::from_secs(10),
        "both servers' own tallies to count every receipt",
        || async {
            server_agrees(&apis[0], proposal, &votes).await
                && server_agrees(&apis[1], proposal, &votes).await
        },
    )
    .await;
    a.stop().await;
    b.stop().await;
}

/// The lease and the `created_at` claims on their own, at chosen moments, on every backend.
#[actix_rt::test]
async fn the_tally_lease_passes_on_only_when_it_lapses() {
    use commons_nostr::store::entities::governance_proposal;
    use commons_nostr::store::tally_lease::{claim_tally_time, hold};
    use sea_orm::{ActiveModelTrait, Set};

    const LEASE: Duration = Duration::from_secs(10);
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let db = commons_nostr::store::db::connect(&test_db.url)
            .await
            .expect("connect");
        commons_nostr::store::db::migrate(&db)
            .await
            .expect("migrate");
        let row = governance_proposal::ActiveModel {
            event_id: Set("11".repeat(32)),
            address: Set(format!("30078:{}:proposal", "22".repeat(32))),
            repository: Set("btc-commons/governance".into()),
            pr: Set(1),
            tier: Set(1),
            title: Set("Lease".into()),
            voting_start: Set(1_000),
            voting_end: Set(2_000),
            created_at: Set(1_000),
            tally_final: Set(false),
            ..Default::default()
        }
        .insert(&db)
        .await
        .expect("a proposal row")
        .id;
        let t0 = 1_000_000;

        assert!(hold(&db, "a", t0, LEASE).await.unwrap(), "{backend}: free");
        assert!(
            !hold(&db, "b", t0 + 1, LEASE).await.unwrap(),
            "{backend}: held"
        );
        assert!(
            hold(&db, "a", t0 + 3, LEASE).await.unwrap(),
            "{backend}: renewed"
        );
        assert!(
            !hold(&db, "b", t0 + 12, LEASE).await.unwrap(),
            "{backend}: renewal counts"
        );

        // Claims: strictly after the newest, whatever the clock says.
        let claim = |holder: &'static str, now: i64| {
            let db = db.clone();
            async move { claim_tally_time(&db, holder, row, now).await.unwrap() }
        };
        assert_eq!(claim("a", t0 + 4).await, Some(t0 as u64 + 4), "{backend}");
        assert_eq!(claim("a", t0 + 4).await, Some(t0 as u64 + 5), "{backend}");
        assert_eq!(
            claim("a", t0 + 2).await,
            Some(t0 as u64 + 6),
            "{backend}: never back"
        );
        assert_eq!(claim("b", t0 + 7).await, None, "{backend}: not the holder");

        // A's last renewal (at t0 + 3) holds until t0 + 13; from then B takes over, and its
        // claims continue after A's newest.
        assert!(!hold(&db, "b", t0 + 12, LEASE).await.unwrap(), "{backend}");
        assert!(
            hold(&db, "b", t0 + 13, LEASE).await.unwrap(),
            "{backend}: lapsed"
        );
        assert_eq!(claim("a", t0 + 13).await, None, "{backend}: A lost it");
        assert_eq!(claim("b", t0 + 5).await, Some(t0 as u64 + 7), "{backend}");
        assert_eq!(claim("b", t0 + 20).await, Some(t0 as u64 + 20), "{backend}");
    }
}
