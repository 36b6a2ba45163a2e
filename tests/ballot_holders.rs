//! Independent ballot key holders (DESIGN.md "Sealed ballots", *Independent holders*; the
//! "ballot key pool" and "ballot secret" rows of "Events published"; `ballot-holder` in
//! "Command line"), with the real `commons-nostr ballot-holder` binary on a real relay.
//!
//! The holder alone: its pool is published and signed by it; a proposal that pins one of its
//! keys (signed by a gov key, built with the project's own builders) makes it top the pool up
//! and, after the close, publish that key's valid secret exactly once, even when it was stopped
//! before the close, started after it, and restarted again from a keys file that forgot the
//! reveal (the relays' copy is found, nothing is published twice). Its keys file is 0600, and
//! one readable by others is refused.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::holders::{AuthorLog, HolderFiles};
use common::relays::TestRelay;
use commons_nostr::nostr::ballot_key_pool::BallotKeyPool;
use commons_nostr::nostr::ballot_keys::{BallotHolder, SealedRules};
use commons_nostr::nostr::governance_action::{
    governance_action_content, GovernanceAction, GovernanceActionRequest, VoteRules,
};
use commons_nostr::votes::{is_valid_secret, BallotKey, BallotSecret};
use nostr_sdk::prelude::*;
use serde_json::json;

/// How long a holder may take to answer on the relay (a pool, a secret).
const ANSWER: Duration = Duration::from_secs(30);

/// The shortest voting window a review period may have.
const WINDOW_SECS: u64 = 60;

/// A review period (pull request `pr`) signed by `gov` whose window closes `closes_in` seconds
/// from now and whose `rules.sealed` pins `holders` (a gov bot's key first), with the tags the
/// service gives it (`ballot_key` each, `p` per independent holder).
fn proposal(gov: &Keys, pr: u64, closes_in: u64, holders: Vec<BallotHolder>) -> Event {
    let request = json!({
        "action": "review-period", "repository": "commons-nostr/holders", "pr": pr, "tier": 1,
        "title": format!("Holder test {pr}"), "voting_window_secs": WINDOW_SECS,
    });
    let start = Timestamp::now() - (WINDOW_SECS - closes_in);
    let request =
        GovernanceActionRequest::from_json(request.to_string().as_bytes()).expect("a request");
    let action = GovernanceAction::parse(request, start).expect("a review period");
    let mut content = action.content();
    content.rules = Some(VoteRules {
        participation_window_days: 90,
        cooling_off_threshold_btc: 0.1,
        cooling_off_days: 30,
        participation_floor: 0.1,
        weight_cap: 0.05,
        threshold: 100.0,
        veto_threshold: 0.4,
        zappers: vec![],
        bots: vec![],
        sealed: Some(SealedRules::new(holders)),
    });
    governance_action_content(&action, &content, "commons-nostr-test", None)
        .custom_created_at(start)
        .sign_with_keys(gov)
        .expect("signs")
}

/// The gov bot's own holder entry: a key of its own, first in `rules.sealed`.
fn gov_holder(gov: &Keys) -> BallotHolder {
    BallotHolder {
        holder: gov.public_key(),
        key: BallotKey::from_secret(&BallotSecret::generate(&mut rand::rngs::OsRng)),
    }
}

/// The newest pool the log holds whose keys satisfy `wanted`.
fn newest_pool(
    pools: Vec<BallotKeyPool>,
    wanted: impl Fn(&[BallotKey]) -> bool,
) -> Option<BallotKeyPool> {
    pools.into_iter().rev().find(|pool| wanted(&pool.keys))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_publishes_its_pool_tops_it_up_and_reveals_each_used_key_once_across_restarts() {
    let relay = TestRelay::start().await;
    let relays = [relay.url()];
    let files = HolderFiles::new();
    let holder = files.pubkey();
    let log = AuthorLog::follow(&relay.url(), holder).await;
    let gov = Keys::generate();

    // 1. The pool: three keys, signed by the holder; the keys file is private.
    let mut running = files.start(&relays, 3);
    let first = log
        .wait_for("a pool of 3 keys", ANSWER, |_| {
            newest_pool(log.pools(), |keys| keys.len() == 3)
        })
        .await;
    assert_eq!(first.holder, holder);
    let mode = std::fs::metadata(files.keys_file())
        .expect("keys file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "keys file mode {mode:o}");

    // 2. A proposal pins the pool's first key; the holder tops up: 3 unused keys, not that one.
    let pinned = first.keys[0];
    let p1 = proposal(
        &gov,
        1,
        6,
        vec![
            gov_holder(&gov),
            BallotHolder {
                holder,
                key: pinned,
            },
        ],
    );
    let reader = common::relays::reader(&relay.url()).await;
    reader.send_event(&p1).await.expect("proposal 1 sent");
    let topped = log
        .wait_for("the topped-up pool", ANSWER, |_| {
            newest_pool(log.pools(), |keys| !keys.contains(&pinned))
        })
        .await;
    assert_eq!(topped.keys.len(), 3, "{:?}", topped.keys);
    assert!(topped.keys.contains(&first.keys[1]) && topped.keys.contains(&first.keys[2]));

    // 3. After the close: the pinned key's secret, valid, created at or after the end.
    let secret = log
        .wait_for("the secret of proposal 1", ANSWER, |_| {
            log.secrets_of(&p1.id).into_iter().next()
        })
        .await;
    assert_eq!(secret.key, pinned);
    assert!(is_valid_secret(&secret.secret, &pinned));
    let end_1 = p1.created_at.as_secs() + WINDOW_SECS;
    let secret_event = log
        .events()
        .into_iter()
        .find(|e| {
            e.tags
                .iter()
                .any(|t| t.as_slice().get(1) == Some(&p1.id.to_hex()))
        })
        .expect("the secret event");
    assert!(secret_event.created_at.as_secs() >= end_1);

    // 4. Stopped before a close, started after it: the secret comes once it is back.
    let second_key = topped.keys[0];
    let p2 = proposal(
        &gov,
        2,
        6,
        vec![
            gov_holder(&gov),
            BallotHolder {
                holder,
                key: second_key,
            },
        ],
    );
    reader.send_event(&p2).await.expect("proposal 2 sent");
    running.wait_for(&format!("pinned key {}", second_key.to_hex()));
    let (code, output) = running.terminate();
    assert_eq!(code, Some(0), "{output}");
    assert!(
        log.secrets_of(&p2.id).is_empty(),
        "revealed before its close"
    );
    let forgetful = std::fs::read(files.keys_file()).expect("keys file before the reveal");
    // The holder is down at the close: wait for the clock, the one thing that must pass.
    let end_2 = p2.created_at.as_secs() + WINDOW_SECS;
    let left = end_2.saturating_sub(Timestamp::now().as_secs()) + 1;
    tokio::time::sleep(Duration::from_secs(left)).await;
    assert!(
        log.secrets_of(&p2.id).is_empty(),
        "nobody revealed while the holder was down"
    );
    let running = files.start(&relays, 3);
    let secret_2 = log
        .wait_for("the secret of proposal 2", ANSWER, |_| {
            log.secrets_of(&p2.id).into_iter().next()
        })
        .await;
    assert!(is_valid_secret(&secret_2.secret, &second_key));
    let (code, output) = running.terminate();
    assert_eq!(code, Some(0), "{output}");

    // 5. Started again from a keys file that never recorded the reveal (a crash between the
    // relay's OK and the save): it finds its secret on the relay and publishes nothing.
    std::fs::write(files.keys_file(), forgetful).expect("restore the older keys file");
    let running = files.start(&relays, 3);
    let (code, output) = running.terminate();
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("0 secret(s) waiting"), "{output}");
    // Everything the relay received, through the live subscription opened before the first
    // start, plus what it stores: each secret exactly once.
    assert_eq!(log.secrets_of(&p1.id).len(), 1, "proposal 1's secret once");
    assert_eq!(log.secrets_of(&p2.id).len(), 1, "proposal 2's secret once");
    let stored = common::relays::fetch_all(
        &relay.url(),
        Filter::new()
            .kind(Kind::ApplicationSpecificData)
            .author(holder),
    )
    .await;
    assert_eq!(common::holders::secrets_of(&stored, &p2.id).len(), 1);
    reader.shutdown().await;
    log.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keys_file_others_can_read_is_refused() {
    let relay = TestRelay::start().await;
    let files = HolderFiles::new();
    std::fs::write(files.keys_file(), r#"{"version":1,"keys":[]}"#).expect("keys file");
    std::fs::set_permissions(files.keys_file(), std::fs::Permissions::from_mode(0o644))
        .expect("chmod 644");
    let output = files
        .command(&[relay.url()], 3)
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--keys") && stderr.contains("ballot-keys.json"),
        "names the file: {stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "nothing published or said: {:?}",
        output.stdout
    );
}

/// The pool event `holder` signs (or anyone else: a forged pool) listing `keys`, sent to `relay`.
async fn publish_pool(relay: &RelayUrl, signer: &Keys, keys: &[BallotKey], at: Timestamp) {
    let event = commons_nostr::nostr::ballot_key_pool::ballot_key_pool(keys)
        .custom_created_at(at)
        .sign_with_keys(signer)
        .expect("signs");
    let client = common::relays::reader(relay).await;
    client.send_event(&event).await.expect("pool sent");
    client.shutdown().await;
}

fn fresh_key() -> BallotKey {
    BallotKey::from_secret(&BallotSecret::generate(&mut rand::rngs::OsRng))
}

/// The service's side (one database): holder A is the real binary, holder B's pools are
/// published by the test (so it can be missing, forged, used up or empty).
async fn service_pins_or_refuses(test_db: common::test_db::TestDb) {
    use common::app::TestConfig;
    use common::http::{Api, Auth};
    let backend = test_db.backend();
    let relay = TestRelay::start().await;
    let url = relay.url();
    let a = HolderFiles::new();
    let b = Keys::generate();
    let b_npub = b.public_key().to_bech32().expect("npub");
    let a_log = AuthorLog::follow(&url, a.pubkey()).await;
    let a_running = a.start_beside(std::slice::from_ref(&url), 2).await;
    let a_pool = a_log
        .wait_for("A's pool", ANSWER, |_| {
            newest_pool(a_log.pools(), |k| k.len() == 2)
        })
        .await;
    let cfg = TestConfig::new(&test_db.url, vec![url.clone()]).with(
        "COMMONS__GOVERNANCE__BALLOT_HOLDERS",
        &format!("{},{b_npub}", a.npub()),
    );
    let gov = cfg.bot("gov");
    let app = cfg.start().await;
    let api = Api::new(app.http_addr(), &cfg.admin_token);
    let review = |pr: u64| {
        json!({"action": "review-period", "repository": "commons-nostr/holders", "pr": pr,
               "tier": 1, "title": format!("Pinned {pr}"), "voting_window_days": 7})
    };
    let refused = |answer: &common::http::Answer, why: &str| {
        assert_eq!(
            answer.status.as_u16(),
            503,
            "{backend} {why}: {:?}",
            answer.json
        );
        assert!(
            answer.error().contains(&b_npub),
            "{backend} {why}: names B: {:?}",
            answer.json
        );
    };

    // B has no pool on the relays; then only a pool signed by another key.
    refused(
        &api.post("/v1/actions", Auth::Admin, &review(1)).await,
        "no pool",
    );
    let b_key = fresh_key();
    publish_pool(&url, &Keys::generate(), &[b_key], Timestamp::now()).await;
    refused(
        &api.post("/v1/actions", Auth::Admin, &review(1)).await,
        "a pool signed by another key",
    );

    // B's pool: the proposal pins gov, A's first key, B's, in that order (same pr: the
    // refusals left no row behind, or this would be a 409).
    publish_pool(&url, &b, &[b_key], Timestamp::now()).await;
    let answer = api.post("/v1/actions", Auth::Admin, &review(1)).await;
    assert_eq!(answer.status.as_u16(), 201, "{backend}: {:?}", answer.json);
    let id = EventId::from_hex(answer.text("event_id")).expect("id");
    let event = &common::relays::published(&url, id).await;
    let content: serde_json::Value = serde_json::from_str(&event.content).expect("json");
    let holders = &content["rules"]["sealed"]["holders"];
    assert_eq!(holders[0]["holder"], gov.to_hex(), "{backend}");
    assert_eq!(
        holders[1],
        json!({"holder": a.pubkey().to_hex(), "key": a_pool.keys[0].to_hex()})
    );
    assert_eq!(
        holders[2],
        json!({"holder": b.public_key().to_hex(), "key": b_key.to_hex()})
    );
    let pools = content["ballot_key_pools"]
        .as_array()
        .expect("the pools embedded");
    assert_eq!(pools.len(), 2, "{backend}");
    for (pool, author) in pools.iter().zip([a.pubkey(), b.public_key()]) {
        let pool: Event = serde_json::from_value(pool.clone()).expect("an event");
        assert!(pool.verify().is_ok() && pool.pubkey == author, "{backend}");
    }
    let p_tags: Vec<String> = event
        .tags
        .iter()
        .filter(|t| t.as_slice().first().map(String::as_str) == Some("p"))
        .filter_map(|t| t.as_slice().get(1).cloned())
        .collect();
    assert_eq!(
        p_tags,
        vec![a.pubkey().to_hex(), b.public_key().to_hex()],
        "{backend}"
    );
    // A (the real holder) saw it and topped up.
    let pinned_a = a_pool.keys[0];
    a_log
        .wait_for("A's topped-up pool", ANSWER, |_| {
            newest_pool(a_log.pools(), |k| k.len() == 2 && !k.contains(&pinned_a))
        })
        .await;

    // B's newest pool lists only the key pr 1 pinned; then an empty one.
    refused(
        &api.post("/v1/actions", Auth::Admin, &review(2)).await,
        "pool key already pinned",
    );
    publish_pool(&url, &b, &[], Timestamp::now() + 1_u64).await;
    refused(
        &api.post("/v1/actions", Auth::Admin, &review(2)).await,
        "an empty pool",
    );
    let actions = common::relays::fetch_all(
        &url,
        Filter::new()
            .kind(Kind::ApplicationSpecificData)
            .author(gov)
            .hashtag("governance-action"),
    )
    .await;
    assert_eq!(
        actions.len(),
        1,
        "{backend}: the refusals published nothing"
    );

    let (code, output) = a_running.terminate_beside().await;
    assert_eq!(code, Some(0), "{output}");
    a_log.stop().await;
}

#[actix_rt::test]
async fn the_service_pins_each_holders_first_unused_key_or_refuses_with_a_503_naming_it() {
    let databases = common::test_db::TestDb::all().await;
    futures::future::join_all(databases.into_iter().map(service_pins_or_refuses)).await;
}

/// An independent holder is one the operator does not control: a bot key of this service in
/// `governance.ballot_holders` stops start-up, naming the setting and the bot.
#[actix_rt::test]
async fn a_bot_of_this_service_is_refused_as_an_independent_holder() {
    use common::app::TestConfig;

    let test_db = common::test_db::TestDb::sqlite().await;
    let independent = Keys::generate().public_key().to_bech32().expect("npub");
    // Nothing connects: the keys are refused before anything starts.
    let unused = RelayUrl::parse("ws://127.0.0.1:9").expect("a relay url");
    let base = TestConfig::new(&test_db.url, vec![unused]);
    for bot in ["gov", "dev"] {
        let own = base.bot(bot).to_bech32().expect("npub");
        let cfg = base.clone().with(
            "COMMONS__GOVERNANCE__BALLOT_HOLDERS",
            &format!("{independent},{own}"),
        );
        let error = cfg
            .settings_and_keys()
            .1
            .expect_err("start-up refuses a bot as an independent holder")
            .to_string();
        assert!(error.contains("governance.ballot_holders"), "{error}");
        assert!(error.contains(&own), "{error}");
        assert!(error.contains(&format!("bot '{bot}'")), "{error}");
    }
    // The independent holder alone starts.
    let cfg = base.with("COMMONS__GOVERNANCE__BALLOT_HOLDERS", &independent);
    let (settings, _keys) = cfg.settings();
    assert_eq!(settings.governance.ballot_holders, vec![independent]);
}

/// `--operator`: only the named gov bot's proposals pin keys. A review period anyone else signs
/// (naming the holder, pinning a pool key, already closed) makes no secret due, so nobody can
/// make a holder publish a key's secret while the operator's proposal still uses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_operator_named_a_forged_proposal_pins_nothing() {
    let relay = TestRelay::start().await;
    let relays = [relay.url()];
    let files = HolderFiles::new();
    let holder = files.pubkey();
    let log = AuthorLog::follow(&relay.url(), holder).await;
    let gov = Keys::generate();
    let forger = Keys::generate();
    let gov_npub = gov.public_key().to_bech32().expect("npub");
    let _running = files.start_with(&relays, 2, &["--operator", &gov_npub]);
    let pool = log
        .wait_for("a pool of 2 keys", ANSWER, |_| {
            newest_pool(log.pools(), |keys| keys.len() == 2)
        })
        .await;
    let (first, second) = (pool.keys[0], pool.keys[1]);

    // First the forger's proposal pinning the first key, then the gov bot's pinning the second,
    // both closing within a second.
    let reader = common::relays::reader(&relay.url()).await;
    let forged = proposal(
        &forger,
        1,
        1,
        vec![gov_holder(&forger), BallotHolder { holder, key: first }],
    );
    reader
        .send_event(&forged)
        .await
        .expect("forged proposal sent");
    let genuine = proposal(
        &gov,
        2,
        1,
        vec![
            gov_holder(&gov),
            BallotHolder {
                holder,
                key: second,
            },
        ],
    );
    reader.send_event(&genuine).await.expect("proposal sent");

    let secret = log
        .wait_for("the secret of the gov bot's proposal", ANSWER, |_| {
            log.secrets_of(&genuine.id).into_iter().next()
        })
        .await;
    assert_eq!(secret.key, second);
    assert!(
        log.secrets_of(&forged.id).is_empty(),
        "a forged proposal made a secret due"
    );
    // The pool still offers the first key (unused), and no longer the second.
    let newest = newest_pool(log.pools(), |keys| !keys.contains(&second)).expect("the new pool");
    assert!(newest.keys.contains(&first), "{:?}", newest.keys);
}

/// A bad `--operator` is a usage error (exit 2) naming the argument, before anything is made.
#[tokio::test]
async fn a_bad_operator_is_a_usage_error() {
    let relay = TestRelay::start().await;
    let files = HolderFiles::new();
    let output = files
        .command(&[relay.url()], 3)
        .args(["--operator", "npub1notakey"])
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--operator[0]") && stderr.contains("npub1notakey"),
        "{stderr}"
    );
    assert!(!files.keys_file().exists(), "no keys made");
}
