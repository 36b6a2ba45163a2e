//! Transparency publishing end to end: governance status (30078), server health (30079) and
//! audit-log heads (30080), published by the whole service in-process against real relays and
//! read back live by an independent client, checking kind, every tag, every content field and
//! the signature.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::app::TestConfig;
use common::relays::TestRelay;
use common::test_db::TestDb;
use common::watch::Watch;
use commons_nostr::actors::audit_head::{AppendEntry, AppendedEntry};
use commons_nostr::actors::supervision::ToChild;
use commons_nostr::audit::merkle::{self, Digest};
use commons_nostr::startup::Application;
use nostr_sdk::hashes::{sha256, Hash};
use nostr_sdk::prelude::*;
use serde_json::{json, Value};

const ARRIVAL: Duration = Duration::from_secs(20);
const SERVER_ID: &str = "transparency-test";
const GOVERNANCE_CONFIG: &str = "commons_transparency";

const STATUS: Kind = Kind::Custom(30078);
const HEALTH: Kind = Kind::Custom(30079);
const AUDIT_HEAD: Kind = Kind::Custom(30080);

fn config(db: &TestDb, relays: Vec<RelayUrl>) -> TestConfig {
    TestConfig::new(&db.url, relays)
        .with("COMMONS__SERVER__ID", SERVER_ID)
        .with("COMMONS__NOSTR__GOVERNANCE_CONFIG", GOVERNANCE_CONFIG)
}

fn by_server(cfg: &TestConfig, kinds: &[Kind]) -> Filter {
    Filter::new()
        .author(cfg.server_keys.public_key())
        .kinds(kinds.iter().copied())
}

fn sha256_tagged(bytes: &[u8]) -> String {
    format!(
        "sha256:{}",
        hex::encode(sha256::Hash::hash(bytes).to_byte_array())
    )
}

/// The event's tags as sorted string lists.
fn tags(event: &Event) -> Vec<Vec<String>> {
    let mut tags: Vec<Vec<String>> = event.tags.iter().map(|t| t.as_slice().to_vec()).collect();
    tags.sort();
    tags
}

fn expect_tags(event: &Event, expected: &[&[&str]]) {
    let mut want: Vec<Vec<String>> = expected
        .iter()
        .map(|t| t.iter().map(|s| s.to_string()).collect())
        .collect();
    want.sort();
    let (alt, rest): (Vec<Vec<String>>, Vec<Vec<String>>) =
        tags(event).into_iter().partition(|t| t[0] == "alt");
    assert_eq!(rest, want, "tags of {}", event.id);
    // Every 30078/30079/30080 event also carries one NIP-31 `alt` line, naming the server.
    assert_eq!(alt.len(), 1, "alt tags of {}: {alt:?}", event.id);
    assert!(alt[0][1].contains(SERVER_ID), "{alt:?}");
}

/// Checks the signature and kind, and returns the content object after checking its keys.
fn content(event: &Event, kind: Kind, keys: &[&str]) -> serde_json::Map<String, Value> {
    event.verify().expect("the signature verifies");
    assert_eq!(event.kind, kind);
    let Value::Object(map) = serde_json::from_str::<Value>(&event.content).expect("JSON content")
    else {
        panic!("content is not an object: {}", event.content);
    };
    let got: BTreeSet<&str> = map.keys().map(String::as_str).collect();
    let want: BTreeSet<&str> = keys.iter().copied().collect();
    assert_eq!(got, want, "content fields of kind {kind}");
    map
}

async fn append(app: &Application, entry_type: &str, entry: Value) -> AppendedEntry {
    app.handles()
        .audit
        .send(ToChild {
            name: "audit".into(),
            msg: AppendEntry {
                entry_type: entry_type.into(),
                entry,
            },
        })
        .await
        .expect("audit supervisor alive")
        .expect("audit actor up")
        .expect("entry appended")
}

// --- status ------------------------------------------------------------------------------------

#[actix_rt::test]
async fn status_is_published_at_start_and_at_every_interval() {
    let db = TestDb::sqlite().await;
    let relay = TestRelay::start().await;
    let cfg = config(&db, vec![relay.url()]).with("COMMONS__NOSTR__PUBLISH_INTERVAL_SECS", "1");
    let mut watch = Watch::start(&relay.url(), by_server(&cfg, &[STATUS])).await;
    let app = cfg.start().await;

    let (settings, _) = cfg.settings();
    let config_hash = sha256_tagged(settings.canonical_json().as_bytes());
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let binary_hash = sha256_tagged(&exe);
    let relay_url = relay.url().to_string();

    let mut previous: Option<(Timestamp, u64)> = None;
    for i in 0..3 {
        let event = watch.next(ARRIVAL, &format!("status event {i}")).await;
        expect_tags(
            &event,
            &[
                &["d", "governance-status"],
                &["server", SERVER_ID],
                &["governance_config", GOVERNANCE_CONFIG],
                &["t", "governance"],
            ],
        );
        let c = content(
            &event,
            STATUS,
            &[
                "server_id",
                "governance_config",
                "version",
                "timestamp",
                "binary_hash",
                "config_hash",
                "uptime_secs",
                "relays",
                "audit",
            ],
        );
        assert_eq!(c["server_id"], SERVER_ID);
        assert_eq!(c["governance_config"], GOVERNANCE_CONFIG);
        assert_eq!(c["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(c["timestamp"], event.created_at.as_secs());
        assert_eq!(c["binary_hash"], binary_hash.as_str());
        assert_eq!(c["config_hash"], config_hash.as_str());
        assert_eq!(c["relays"], json!({ relay_url.clone(): "connected" }));
        assert_eq!(
            c["audit"],
            json!({"head": merkle::empty_root().to_prefixed(), "entries": 0})
        );
        let uptime = c["uptime_secs"].as_u64().expect("uptime_secs is a number");
        if let Some((created_at, last_uptime)) = previous {
            assert!(
                event.created_at > created_at,
                "created_at strictly increases"
            );
            assert!(uptime >= last_uptime);
        }
        previous = Some((event.created_at, uptime));
        commons_nostr::nostr::events::parse_governance_status(&event).expect("parses as status");
    }
    watch.stop().await;
    app.stop().await;
}

// --- health ------------------------------------------------------------------------------------

fn expect_health(event: &Event, status: &str) -> serde_json::Map<String, Value> {
    expect_tags(
        event,
        &[
            &["d", "server-health"],
            &["server", SERVER_ID],
            &["status", status],
        ],
    );
    let c = content(
        event,
        HEALTH,
        &[
            "server_id",
            "status",
            "uptime_secs",
            "last_merge",
            "relays_connected",
            "relays_total",
        ],
    );
    assert_eq!(c["server_id"], SERVER_ID);
    assert_eq!(c["status"], status);
    assert!(c["uptime_secs"].is_u64());
    commons_nostr::nostr::events::parse_server_health(event).expect("parses as health");
    c
}

/// Three status ticks go by and no health event among them: nothing changed.
async fn no_health_for_three_ticks(watch: &mut Watch) {
    for tick in 0..3 {
        let event = watch.next(ARRIVAL, &format!("status tick {tick}")).await;
        assert_eq!(
            event.kind, STATUS,
            "no health event without a change: {}",
            event.content
        );
    }
}

#[actix_rt::test]
async fn health_is_published_at_start_on_relay_loss_and_recovery_and_not_otherwise() {
    let db = TestDb::sqlite().await;
    let steady = TestRelay::start().await;
    let mut lost = [TestRelay::start().await, TestRelay::start().await];
    let mut urls = vec![steady.url()];
    urls.extend(lost.iter().map(TestRelay::url));
    let cfg = config(&db, urls).with("COMMONS__NOSTR__PUBLISH_INTERVAL_SECS", "1");
    let mut watch = Watch::start(&steady.url(), by_server(&cfg, &[STATUS, HEALTH])).await;
    let app = cfg.start().await;

    let is_health = |e: &Event| e.kind == HEALTH;
    let at_start = watch
        .next_matching(ARRIVAL, "health at start", is_health)
        .await;
    let c = expect_health(&at_start, "healthy");
    assert_eq!(c["relays_connected"], 3);
    assert_eq!(c["relays_total"], 3);
    assert_eq!(c["last_merge"], Value::Null);

    // One of three relays lost: two connected is not fewer than half, so still healthy and
    // nothing to say; two lost: degraded.
    lost[0].kill();
    lost[1].kill();
    let degraded = watch
        .next_matching(ARRIVAL, "degraded health", is_health)
        .await;
    let c = expect_health(&degraded, "degraded");
    assert_eq!(c["relays_connected"], 1);
    assert_eq!(c["relays_total"], 3);
    assert!(degraded.created_at > at_start.created_at);

    for relay in &mut lost {
        relay.restart().await;
    }
    let recovered = watch
        .next_matching(ARRIVAL, "recovered health", is_health)
        .await;
    let c = expect_health(&recovered, "healthy");
    assert!(c["relays_connected"].as_u64().unwrap() >= 2);
    assert!(recovered.created_at > degraded.created_at);

    // Nothing changes now: three more status ticks go by without a health event.
    no_health_for_three_ticks(&mut watch).await;
    watch.stop().await;
    app.stop().await;
}

// --- audit heads -----------------------------------------------------------------------------

/// One head event, checked and read.
#[derive(Debug, Clone)]
struct Head {
    created_at: Timestamp,
    head: Digest,
    entries: u64,
    previous_head: Digest,
    previous_entries: u64,
    proof: Vec<Digest>,
}

fn read_head(event: &Event) -> Head {
    expect_tags(event, &[&["d", "audit-head"], &["server", SERVER_ID]]);
    let c = content(
        event,
        AUDIT_HEAD,
        &[
            "head",
            "entries",
            "previous_head",
            "previous_entries",
            "consistency_proof",
        ],
    );
    let digest =
        |v: &Value| Digest::parse_prefixed(v.as_str().expect("a string")).expect("sha256:<hex>");
    commons_nostr::nostr::events::parse_audit_head(event).expect("parses as audit head");
    Head {
        created_at: event.created_at,
        head: digest(&c["head"]),
        entries: c["entries"].as_u64().expect("entries"),
        previous_head: digest(&c["previous_head"]),
        previous_entries: c["previous_entries"].as_u64().expect("previous_entries"),
        proof: c["consistency_proof"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|h| h.as_str().expect("hex").parse().expect("64 hex"))
            .collect(),
    }
}

/// Every head chains to the one before it, with a proof that verifies.
fn verify_chain(heads: &[Head]) {
    let first = &heads[0];
    assert_eq!(first.previous_entries, 0);
    assert_eq!(first.previous_head, merkle::empty_root());
    for pair in heads.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        assert!(
            after.created_at > before.created_at,
            "created_at strictly increases"
        );
        assert_eq!(
            after.previous_head, before.head,
            "previous_head is the last head"
        );
        assert_eq!(after.previous_entries, before.entries);
    }
    for h in heads {
        merkle::verify_consistency(
            h.previous_entries,
            h.entries,
            &h.previous_head,
            &h.head,
            &h.proof,
        )
        .unwrap_or_else(|e| panic!("{} -> {}: {e}", h.previous_entries, h.entries));
    }
}

/// The entry's leaf: the entry's canonical JSON (keys sorted, compact). `serde_json`'s maps are
/// sorted, so `to_string` is canonical for the objects these tests build.
fn leaf(entry: &Value) -> Digest {
    merkle::leaf_hash(entry.to_string().as_bytes())
}

#[actix_rt::test]
async fn audit_heads_form_a_verifiable_chain_that_continues_after_a_restart() {
    for db in TestDb::all().await {
        let relay = TestRelay::start().await;
        // Long enough that three back-to-back appends share one window on a busy machine
        // (400 ms was not, once, with every core taken by builds).
        let cfg = config(&db, vec![relay.url()]).with("COMMONS__NOSTR__AUDIT_DEBOUNCE_MS", "1500");
        let mut watch = Watch::start(&relay.url(), by_server(&cfg, &[AUDIT_HEAD, HEALTH])).await;
        let is_head = |e: &Event| e.kind == AUDIT_HEAD;
        let mut heads = Vec::new();
        let mut leaves = Vec::new();

        // First life: the start head of the empty log, then a burst of three appends (one
        // head), then two appends one at a time (a head each).
        let app = cfg.start().await;
        let start = read_head(&watch.next_matching(ARRIVAL, "start head", is_head).await);
        assert_eq!((start.entries, start.head), (0, merkle::empty_root()));
        assert!(start.proof.is_empty());
        heads.push(start);

        let merge = json!({"action": "merge", "repository": "commons/demo", "pr": 7, "event_id": "ab".repeat(32)});
        let burst = [
            (
                "review-period",
                json!({"action": "review-period", "repository": "commons/demo", "pr": 7}),
            ),
            ("merge", merge.clone()),
            (
                "keyholder",
                json!({"action": "keyholder", "keyholder": {"pubkey": "cd".repeat(32)}}),
            ),
        ];
        let before_merge = Timestamp::now();
        for (i, (entry_type, entry)) in burst.iter().enumerate() {
            let appended = append(&app, entry_type, entry.clone()).await;
            leaves.push(leaf(entry));
            assert_eq!(appended.position, i as u64);
            assert_eq!(appended.head, merkle::root(&leaves).to_prefixed());
        }
        let after_merge = Timestamp::now();
        let burst_head = read_head(&watch.next_matching(ARRIVAL, "burst head", is_head).await);
        assert_eq!(
            burst_head.entries, 3,
            "appends within the window share one head"
        );
        assert_eq!(burst_head.head, merkle::root(&leaves));
        heads.push(burst_head);

        for pr in [8u64, 9] {
            let entry = json!({"action": "fork", "pr": pr});
            let appended = append(&app, "fork", entry.clone()).await;
            leaves.push(leaf(&entry));
            assert_eq!(appended.position, leaves.len() as u64 - 1);
            let head = read_head(&watch.next_matching(ARRIVAL, "single head", is_head).await);
            assert_eq!(head.entries, leaves.len() as u64);
            assert_eq!(head.head, merkle::root(&leaves));
            heads.push(head);
        }
        app.stop().await;

        // Second life on the same database: the start head repeats the last one, chained to
        // it, and later heads continue the chain.
        let restarted_at = Timestamp::now();
        let app = cfg.start().await;
        // The start head and the start health event, in whichever order they come.
        let (mut restart, mut health) = (None, None);
        while restart.is_none() || health.is_none() {
            let event = watch.next(ARRIVAL, "head and health after restart").await;
            if event.created_at < restarted_at {
                continue; // the first life's
            }
            if event.kind == AUDIT_HEAD {
                restart = Some(read_head(&event));
            } else {
                health = Some(event);
            }
        }
        let restart = restart.expect("a head");
        assert_eq!(restart.entries, 5);
        assert_eq!(restart.head, merkle::root(&leaves));
        heads.push(restart);

        // The health event at this start names the last merge from the audit log.
        let health = health.expect("a health event");
        let last_merge = &expect_health(&health, "healthy")["last_merge"];
        assert_eq!(last_merge["repository"], "commons/demo");
        assert_eq!(last_merge["pr"], 7);
        let at = last_merge["at"].as_u64().expect("at");
        assert!(
            (before_merge.as_secs()..=after_merge.as_secs()).contains(&at),
            "{at}"
        );

        for pr in [10u64, 11] {
            let entry = json!({"action": "merge", "repository": "commons/other", "pr": pr});
            append(&app, "merge", entry.clone()).await;
            leaves.push(leaf(&entry));
        }
        let last = loop {
            let head = read_head(
                &watch
                    .next_matching(ARRIVAL, "head after appends", is_head)
                    .await,
            );
            let done = head.entries == 7;
            heads.push(head);
            if done {
                break heads.last().cloned().expect("a head");
            }
        };
        assert_eq!(last.head, merkle::root(&leaves));
        verify_chain(&heads);

        watch.stop().await;
        app.stop().await;
    }
}

/// Two servers sharing one database append at the same time: every entry gets its own
/// position, the positions have no gaps, and each server's tree (its own leaves plus the ones
/// an append reports it missed) is the database's tree.
#[actix_rt::test]
async fn concurrent_appends_from_two_servers_take_distinct_positions() {
    use commons_nostr::store::audit_log;
    for db in TestDb::all().await {
        let backend = db.backend();
        let a = commons_nostr::store::db::connect(&db.url).await.unwrap();
        commons_nostr::store::db::migrate(&a).await.unwrap();
        let b = commons_nostr::store::db::connect(&db.url).await.unwrap();
        let server = |conn: sea_orm::DatabaseConnection, name: &'static str| async move {
            let mut tree = merkle::MerkleLog::new();
            for i in 0..20 {
                let appended = audit_log::append(
                    &conn,
                    "merge",
                    &json!({"server": name, "i": i}),
                    tree.len() as u64,
                )
                .await
                .unwrap_or_else(|e| panic!("{backend}: {e}"));
                tree.extend(appended.missed);
                tree.push(appended.entry.leaf);
                assert_eq!(tree.len() as u64, appended.entry.position + 1);
            }
            tree
        };
        let (tree_a, tree_b) = futures::join!(server(a.clone(), "a"), server(b, "b"));
        let stored = audit_log::all_entries(&a).await.unwrap();
        assert_eq!(stored.len(), 40, "{}", db.backend());
        for (i, entry) in stored.iter().enumerate() {
            assert_eq!(entry.position, i as u64);
        }
        let all: Vec<Digest> = stored.iter().map(|e| e.leaf).collect();
        for tree in [tree_a, tree_b] {
            assert_eq!(tree.leaves(), &all[..tree.len()], "{}", db.backend());
        }
        assert_eq!(
            audit_log::load_log(&a).await.unwrap().root(),
            merkle::root(&all)
        );
    }
}

/// Regression: with no debounce, each append is followed at once by a head publication from
/// the same actor. The publication's outbox transaction ran inside a future the actor spawned,
/// which actix does not poll while the actor awaits the next (atomic) append; on SQLite the
/// frozen transaction held the write lock the append waited for, and every writer stalled for
/// whole busy timeouts until appends failed. Every append must succeed, and the last head
/// must reach the relay.
#[actix_rt::test]
async fn appends_back_to_back_with_no_debounce_never_lock_the_database() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let relay = TestRelay::start().await;
        let cfg = config(&db, vec![relay.url()]).with("COMMONS__NOSTR__AUDIT_DEBOUNCE_MS", "0");
        let mut heads = Watch::start(&relay.url(), by_server(&cfg, &[AUDIT_HEAD])).await;
        let app = cfg.start().await;
        for i in 0..40u64 {
            let appended = append(&app, "merge", json!({"n": i})).await;
            assert_eq!(appended.position, i, "{backend}");
        }
        heads
            .next_matching(ARRIVAL, "the head of all 40 entries", |e| {
                commons_nostr::nostr::events::parse_audit_head(e)
                    .is_ok_and(|h| h.head.entries == 40)
            })
            .await;
        app.stop().await;
    }
}

/// DESIGN.md: health is "published when [it changes] (debounced)". A merge appended to the
/// audit log changes the health event's `last_merge`: while the status stays `healthy`, it is
/// published again at the next status tick, with the merge.
#[actix_rt::test]
async fn a_merge_publishes_health_again_with_its_last_merge() {
    let db = TestDb::sqlite().await;
    let relay = TestRelay::start().await;
    let cfg = config(&db, vec![relay.url()]).with("COMMONS__NOSTR__PUBLISH_INTERVAL_SECS", "1");
    let mut watch = Watch::start(&relay.url(), by_server(&cfg, &[STATUS, HEALTH])).await;
    let app = cfg.start().await;
    let is_health = |e: &Event| e.kind == HEALTH;
    let at_start = watch
        .next_matching(ARRIVAL, "health at start", is_health)
        .await;
    assert_eq!(
        expect_health(&at_start, "healthy")["last_merge"],
        Value::Null
    );

    let before_merge = Timestamp::now();
    let entry = json!({"action": "merge", "repository": "commons/demo", "pr": 12});
    append(&app, "merge", entry).await;
    let after_merge = watch
        .next_matching(ARRIVAL, "health after the merge", is_health)
        .await;
    let c = expect_health(&after_merge, "healthy");
    assert_eq!(c["last_merge"]["repository"], "commons/demo", "{c:?}");
    assert_eq!(c["last_merge"]["pr"], 12, "{c:?}");
    assert!(c["last_merge"]["at"].as_u64().expect("at") >= before_merge.as_secs());
    assert!(after_merge.created_at > at_start.created_at);

    // Nothing changes now: three more status ticks go by without a health event.
    no_health_for_three_ticks(&mut watch).await;
    watch.stop().await;
    app.stop().await;
}
