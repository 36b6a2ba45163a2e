//! The admin commands of the `commons-nostr` binary as clients of a running service: the
//! service runs in-process (random ports, a test database, a real relay), the binary is run
//! with the same settings an operator would give it (`COMMONS__*` and the admin token's
//! variable), and what it prints is checked against what reached the relay.

mod common;

use std::time::Duration;

use common::app::TestConfig;
use common::binary::ServiceCli;
use common::relays::{wait_for_ids, TestRelay};
use common::test_db::TestDb;
use nostr_sdk::prelude::*;

const ARRIVAL: Duration = Duration::from_secs(30);

#[actix_rt::test]
async fn note_and_action_print_an_event_id_that_reaches_the_relay() {
    let test_db = TestDb::sqlite().await;
    let relay = TestRelay::start().await;
    let cfg = TestConfig::new(&test_db.url, vec![relay.url()]);
    let app = cfg.start().await;
    let cli = ServiceCli::for_service(&cfg, &app);

    let note = cli
        .run(&[
            "note",
            "dev",
            "hello from the command line",
            "--tag",
            "t=release",
        ])
        .await;
    assert_eq!(note.code, Some(0), "{note:?}");
    let note_id = note.event_id("event_id");
    let got = wait_for_ids(
        &relay.url(),
        Filter::new().author(cfg.bot("dev")).kind(Kind::TextNote),
        &[note_id],
        ARRIVAL,
    )
    .await;
    got[0].verify().expect("verifies");
    assert_eq!(got[0].content, "hello from the command line");
    assert_eq!(got[0].tags.hashtags().collect::<Vec<_>>(), ["release"]);

    let action = cli
        .run(&[
            "action",
            "--action",
            "review-period",
            "--repository",
            "o/r",
            "--pr",
            "12",
            "--tier",
            "2",
            "--title",
            "A proposal from the command line",
            "--description",
            "Details.",
        ])
        .await;
    assert_eq!(action.code, Some(0), "{action:?}");
    let action_id = action.event_id("event_id");
    let gov = cfg.bot("gov");
    assert_eq!(
        action.json()["address"],
        format!("30078:{}:action:o/r:12:review-period", gov.to_hex())
    );
    let got = wait_for_ids(
        &relay.url(),
        Filter::new().author(gov).kind(Kind::Custom(30078)),
        &[action_id],
        ARRIVAL,
    )
    .await;
    let parsed = commons_nostr::nostr::governance_action::parse_governance_action(&got[0])
        .expect("an action");
    assert_eq!(parsed.tier, 2);
    let window = parsed.voting_window.expect("a voting window");
    assert_eq!(window.1.as_secs() - window.0.as_secs(), 14 * 86_400);

    // The same through a JSON file, a flag overriding it.
    let file = cli.dir().join("merge.json");
    std::fs::write(
        &file,
        r#"{"action": "merge", "repository": "o/r", "pr": 12, "tier": 5, "title": "Merged"}"#,
    )
    .unwrap();
    let merge = cli
        .run(&["action", "--json", file.to_str().unwrap(), "--tier", "1"])
        .await;
    assert_eq!(merge.code, Some(0), "{merge:?}");
    let merge_id = merge.event_id("event_id");
    let got = wait_for_ids(
        &relay.url(),
        Filter::new().author(gov).kind(Kind::Custom(30078)),
        &[merge_id],
        ARRIVAL,
    )
    .await;
    let parsed = commons_nostr::nostr::governance_action::parse_governance_action(&got[0])
        .expect("an action");
    assert_eq!(parsed.tier, 1);

    // restart-bot and tally answer too.
    let restart = cli.run(&["restart-bot", "research"]).await;
    assert_eq!(restart.code, Some(0), "{restart:?}");
    assert_eq!(restart.json()["status"], "restarting");
    let tally = cli.run(&["tally", &action_id.to_hex()]).await;
    assert_eq!(tally.code, Some(0), "{tally:?}");
    let content: serde_json::Value = serde_json::from_str(&tally.stdout).expect("tally JSON");
    assert_eq!(content["proposal"], serde_json::json!(action_id.to_hex()));
    assert_eq!(content["receipts_count"], serde_json::json!(0));
    app.stop().await;
}

#[actix_rt::test]
async fn a_refused_request_exits_non_zero_with_the_servers_error() {
    let test_db = TestDb::sqlite().await;
    let relay = TestRelay::start().await;
    let cfg = TestConfig::new(&test_db.url, vec![relay.url()]);
    let app = cfg.start().await;
    let cli = ServiceCli::for_service(&cfg, &app);

    let tier = cli
        .run(&[
            "action",
            "--action",
            "review-period",
            "--repository",
            "o/r",
            "--pr",
            "12",
            "--tier",
            "9",
            "--title",
            "Too high",
        ])
        .await;
    assert_eq!(tier.code, Some(1), "{tier:?}");
    assert!(tier.stdout.is_empty(), "{tier:?}");
    assert!(
        tier.stderr.contains("error: tier: must be 1 to 5"),
        "{tier:?}"
    );

    let missing = cli
        .run(&["action", "--action", "merge", "--tier", "1"])
        .await;
    assert_eq!(missing.code, Some(1), "{missing:?}");
    assert!(
        missing.stderr.contains("repository: required for merge"),
        "{missing:?}"
    );

    let bot = cli.run(&["note", "nobody", "hi"]).await;
    assert_eq!(bot.code, Some(1), "{bot:?}");
    assert!(bot.stderr.contains("bot: no bot named 'nobody'"), "{bot:?}");

    let empty = cli.run(&["note", "dev", "  "]).await;
    assert_eq!(empty.code, Some(1), "{empty:?}");
    assert!(
        empty.stderr.contains("content: must not be empty"),
        "{empty:?}"
    );

    let bad_tag = cli.run(&["note", "dev", "hi", "--tag", "release"]).await;
    assert_eq!(bad_tag.code, Some(2), "{bad_tag:?}");
    assert!(bad_tag.stderr.contains("NAME=VALUE"), "{bad_tag:?}");

    let wrong_token = ServiceCli::for_service(&cfg, &app).with("T_ADMIN_TOKEN", &"f".repeat(64));
    let refused = wrong_token.run(&["restart-bot", "dev"]).await;
    assert_eq!(refused.code, Some(1), "{refused:?}");
    assert!(
        refused.stderr.contains("authorization: wrong admin token"),
        "{refused:?}"
    );
    assert!(!refused.stderr.contains(&cfg.admin_token));

    let no_token =
        ServiceCli::for_service(&cfg, &app).with("COMMONS__HTTP__ADMIN_TOKEN", "env:T_UNSET");
    let unset = no_token.run(&["note", "dev", "hi"]).await;
    assert_eq!(unset.code, Some(2), "{unset:?}");
    assert!(unset.stderr.contains("http.admin_token"), "{unset:?}");

    let malformed = cli.run(&["tally", "not-an-id"]).await;
    assert_eq!(malformed.code, Some(1), "{malformed:?}");
    assert!(malformed.stderr.contains("event_id:"), "{malformed:?}");

    // Nothing listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let nowhere =
        ServiceCli::for_service(&cfg, &app).with("COMMONS__HTTP__BIND", &closed.to_string());
    let unreachable = nowhere.run(&["restart-bot", "dev"]).await;
    assert_eq!(unreachable.code, Some(1), "{unreachable:?}");
    assert!(
        unreachable.stderr.contains("cannot reach the service"),
        "{unreachable:?}"
    );

    // None of it wrote anything.
    let gov_and_dev = Filter::new()
        .authors([cfg.bot("gov"), cfg.bot("dev")])
        .kinds([Kind::TextNote, Kind::Custom(30078)]);
    let on_relay = common::relays::fetch_all(&relay.url(), gov_and_dev).await;
    assert!(on_relay.is_empty(), "{on_relay:?}");
    app.stop().await;
}
