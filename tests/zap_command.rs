//! `commons-nostr zap` against a running service (in-process, the development LNURL provider
//! on, a real relay, SQLite and PostgreSQL): each way of naming the target (hex id, `naddr1`,
//! `nevent1` of the announcement, the zap poll through `--option`) makes the zap request a
//! client would, the receipt reaches the relay and the tracker, and bad input is refused
//! before anything is paid.

mod common;

use std::time::Duration;

use common::app::TestConfig;
use common::binary::ServiceCli;
use common::relays::{fetch_all, TestRelay};
use common::test_db::TestDb;
use common::zaps::{is_recorded, wait_until};
use commons_nostr::nostr::events;
use commons_nostr::store::db;
use nostr_sdk::prelude::*;

const ARRIVAL: Duration = Duration::from_secs(30);

/// The zap request inside a receipt.
fn request_of(receipt: &Event) -> Event {
    let description = receipt
        .tags
        .iter()
        .find(|t| t.as_slice().first().map(String::as_str) == Some("description"))
        .and_then(|t| t.as_slice().get(1).cloned())
        .expect("a description tag");
    Event::from_json(description).expect("a zap request")
}

fn values(event: &Event, name: &str) -> Vec<String> {
    event
        .tags
        .iter()
        .map(|t| t.as_slice())
        .filter(|t| t.first().map(String::as_str) == Some(name))
        .filter_map(|t| t.get(1).cloned())
        .collect()
}

#[actix_rt::test]
async fn every_way_of_naming_the_target_zaps_what_a_client_would() {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        let cfg = TestConfig::new(&test_db.url, vec![relay.url()]).with_dev_provider();
        let app = cfg.start().await;
        let gov = cfg.bot("gov");
        let voter = Keys::generate();
        let cli = ServiceCli::for_service(&cfg, &app)
            .with("T_VOTER_NSEC", &voter.secret_key().to_secret_hex());
        let relay_url = relay.url().to_string();
        let zap = |args: Vec<String>| {
            let cli = &cli;
            async move {
                let mut argv: Vec<&str> = vec!["zap"];
                argv.extend(args.iter().map(String::as_str));
                cli.run(&argv).await
            }
        };

        let action = cli.open_review_period(3, "Zap me").await;
        let proposal =
            EventId::from_hex(action.json()["event_id"].as_str().expect("id")).expect("hex");
        let announcement =
            EventId::from_hex(action.json()["announcement_id"].as_str().expect("id")).expect("hex");
        let poll = EventId::from_hex(action.json()["poll_id"].as_str().expect("id")).expect("hex");
        let d = "action:o/r:3:review-period".to_owned();
        let coordinate = Coordinate::new(Kind::Custom(30078), gov).identifier(&d);
        // Let the proposal and its announcement reach the relay the voter reads.
        common::relays::wait_for_ids(
            &relay.url(),
            Filter::new().author(gov),
            &[proposal, announcement, poll],
            ARRIVAL,
        )
        .await;

        // 1. The proposal by hex id, with a keyword: e + a + k = 30078.
        let by_id = zap(vec![
            proposal.to_hex(),
            "--sats".into(),
            "21".into(),
            "--comment".into(),
            "veto, too risky".into(),
            "--key".into(),
            "env:T_VOTER_NSEC".into(),
            "--relay".into(),
            relay_url.clone(),
            "--json".into(),
        ])
        .await;
        assert_eq!(by_id.code, Some(0), "{by_id:?}");
        // 2. The proposal by naddr1 (with the relay as its hint instead of --relay).
        let naddr = events::naddr(&coordinate, &[relay.url()]);
        let by_naddr = zap(vec![
            naddr,
            "--sats".into(),
            "5".into(),
            "--comment".into(),
            "support".into(),
            "--key".into(),
            "env:T_VOTER_NSEC".into(),
            "--json".into(),
        ])
        .await;
        assert_eq!(by_naddr.code, Some(0), "{by_naddr:?}");
        // 3. The announcement by nevent1: e = the note, k = 1.
        let nevent = events::nevent(announcement, gov, Kind::TextNote, &[relay.url()]);
        let by_note = zap(vec![
            nevent,
            "--sats".into(),
            "1".into(),
            "--comment".into(),
            "abstain".into(),
            "--key".into(),
            "env:T_VOTER_NSEC".into(),
            "--json".into(),
        ])
        .await;
        assert_eq!(by_note.code, Some(0), "{by_note:?}");
        // 4. The zap poll the service published with the proposal, voted through --option.
        let by_option = zap(vec![
            proposal.to_hex(),
            "--sats".into(),
            "2".into(),
            "--option".into(),
            "abstain".into(),
            "--key".into(),
            "env:T_VOTER_NSEC".into(),
            "--relay".into(),
            relay_url.clone(),
            "--json".into(),
        ])
        .await;
        assert_eq!(by_option.code, Some(0), "{by_option:?}");

        let db = db::connect(&test_db.url).await.expect("database");
        let receipts: Vec<EventId> = [&by_id, &by_naddr, &by_note, &by_option]
            .iter()
            .map(|run| {
                let out = run.json();
                assert_eq!(out["proposal"], proposal.to_hex(), "{out}");
                assert_eq!(out["lightning_address"], format!("gov@{}", app.http_addr()));
                assert_eq!(out["voter"], voter.public_key().to_bech32().expect("npub"));
                let invoice = out["invoice"].as_str().expect("invoice");
                assert_eq!(out["lightning_uri"], format!("lightning:{invoice}"));
                EventId::from_hex(out["receipt"].as_str().expect("a receipt id")).expect("hex")
            })
            .collect();
        for id in &receipts {
            let id = *id;
            let db = db.clone();
            wait_until(ARRIVAL, "the receipt recorded", move || {
                let db = db.clone();
                async move { is_recorded(&db, &id).await }
            })
            .await;
        }
        let on_relay = fetch_all(&relay.url(), Filter::new().ids(receipts.clone())).await;
        let request = |id: &EventId| {
            let receipt = on_relay.iter().find(|e| e.id == *id).expect("on the relay");
            assert_eq!(receipt.pubkey, cfg.dev_zapper.public_key());
            let request = request_of(receipt);
            assert_eq!(request.pubkey, voter.public_key());
            assert_eq!(values(&request, "p"), [gov.to_hex()]);
            request
        };
        let address = events::proposal_address(&gov, &d);
        let r = request(&receipts[0]);
        assert_eq!(r.content, "veto, too risky");
        assert_eq!(values(&r, "e"), [proposal.to_hex()]);
        assert_eq!(values(&r, "a"), std::slice::from_ref(&address));
        assert_eq!(values(&r, "k"), ["30078"]);
        assert_eq!(values(&r, "amount"), ["21000"]);
        let r = request(&receipts[1]);
        assert_eq!(
            (r.content.as_str(), values(&r, "e")),
            ("support", vec![proposal.to_hex()])
        );
        assert_eq!(values(&r, "a"), [address]);
        let r = request(&receipts[2]);
        assert_eq!(values(&r, "e"), [announcement.to_hex()]);
        assert!(values(&r, "a").is_empty());
        assert_eq!(values(&r, "k"), ["1"]);
        let r = request(&receipts[3]);
        assert_eq!(values(&r, "e"), [poll.to_hex()]);
        assert_eq!(values(&r, "poll_option"), ["2"]);
        assert_eq!(values(&r, "k"), ["6969"]);
        assert_eq!(r.content, "");
        app.stop().await;
    }
}

#[actix_rt::test]
async fn bad_input_is_refused_before_anything_is_paid() {
    let test_db = TestDb::sqlite().await;
    let relay = TestRelay::start().await;
    let cfg = TestConfig::new(&test_db.url, vec![relay.url()]).with_dev_provider();
    let app = cfg.start().await;
    let voter = Keys::generate();
    let cli = ServiceCli::for_service(&cfg, &app)
        .with("T_VOTER_NSEC", &voter.secret_key().to_secret_hex());
    let relay_url = relay.url().to_string();
    let action = cli.open_review_period(4, "Not this way").await;
    let proposal = action.json()["event_id"].as_str().expect("id").to_owned();
    let merge = cli
        .run(&[
            "action",
            "--action",
            "merge",
            "--repository",
            "o/r",
            "--pr",
            "5",
            "--tier",
            "1",
            "--title",
            "Merged",
        ])
        .await;
    let merge = merge.json()["event_id"].as_str().expect("id").to_owned();
    // A gov-bot note tagging the proposal, but not as a vote target (no t=governance-proposal).
    let e_tag = format!("e={proposal}");
    let aside = cli.run(&["note", "gov", "An aside", "--tag", &e_tag]).await;
    let aside = aside.json()["event_id"].as_str().expect("id").to_owned();
    common::relays::wait_for_ids(
        &relay.url(),
        Filter::new().author(cfg.bot("gov")),
        &[
            EventId::from_hex(&proposal).expect("hex"),
            EventId::from_hex(&merge).expect("hex"),
            EventId::from_hex(&aside).expect("hex"),
        ],
        ARRIVAL,
    )
    .await;

    // A review period signed by the gov key but put on the relay by hand, without the zap poll
    // the service publishes with every review period.
    let pollless = {
        use commons_nostr::nostr::governance_action::{
            governance_action, GovernanceAction, GovernanceActionRequest,
        };
        let request: GovernanceActionRequest = serde_json::from_value(serde_json::json!({
            "action": "review-period", "repository": "o/r", "pr": 6, "tier": 1,
            "title": "No poll", "voting_window_days": 1}))
        .expect("request");
        let action = GovernanceAction::parse(request, Timestamp::now()).expect("action");
        let event = governance_action(&action, "commons_test", None)
            .sign_with_keys(&cfg.bot_keys["gov"])
            .expect("signed");
        common::zaps::publish(&[relay.url()], std::slice::from_ref(&event)).await;
        event.id.to_hex()
    };
    let npub = cfg.bot("gov").to_bech32().expect("npub");
    let unknown = "ab".repeat(32);
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec![&proposal, "--sats", "0"],
            2,
            "--sats: must be at least 1",
        ),
        (vec![&proposal, "--sats", "200000000"], 2, "--sats: gov@"),
        (vec!["nevent1xyz", "--sats", "1"], 2, "is not an event id"),
        (
            vec![&npub, "--sats", "1"],
            2,
            "is a public key (npub), not an event",
        ),
        (
            vec![&proposal, "--sats", "1", "--key", "env:T_UNSET"],
            2,
            "environment variable T_UNSET is not set",
        ),
        (vec![&unknown, "--sats", "1"], 1, "is not on the relays"),
        (
            vec![&merge, "--sats", "1"],
            1,
            "is a merge action, not a proposal",
        ),
        (
            vec![&pollless, "--sats", "1", "--option", "veto"],
            1,
            "has no zap poll",
        ),
        (
            vec![&aside, "--sats", "1", "--comment", "veto"],
            1,
            "is not one of proposal",
        ),
    ];
    for (args, code, message) in &cases {
        let mut argv = vec!["zap"];
        argv.extend(args.iter().copied());
        if !args.contains(&"--key") {
            argv.extend(["--key", "env:T_VOTER_NSEC"]);
        }
        argv.extend(["--relay", &relay_url]);
        let out = cli.run(&argv).await;
        assert_eq!(out.code, Some(*code), "{args:?}: {out:?}");
        assert!(
            out.stderr.contains(message),
            "{args:?}: {:?} lacks {message:?}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    }
    // Nothing was paid: no receipt anywhere, and no voter key was written (every case had one).
    let receipts = fetch_all(&relay.url(), Filter::new().kind(Kind::ZapReceipt)).await;
    assert!(receipts.is_empty(), "{receipts:?}");
    assert!(!cli.dir().join("data/keys/voter.nsec").exists());
    app.stop().await;
}
