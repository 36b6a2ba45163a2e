//! `verify` recomputes every tally, and `verify-vote` proves a voter's zap, against real
//! in-process relays and the real service: the honest record passes; a tally re-signed by the
//! gov key with a wrong weight, one that counts a forged receipt, one whose root does not match
//! its list, and one that leaves out a valid in-window vote each fail with the difference named.

mod common;

use std::process::Command;
use std::time::Duration;

use common::http::{Api, Auth};
use common::raw_relay::RawRelay;
use common::relays::{fetch_all, TestRelay};
use common::test_db::TestDb;
use common::verifier::{republish, server_events_on, tally_where, verify, verify_vote};
use common::zaps::{paid_zap, publish, wait_until, zap_config};
use commons_nostr::nostr::zap_provider::{ZapProvider, ZapTarget};
use commons_nostr::votes::receipts_root;
use nostr_sdk::prelude::*;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_commons-nostr");
const WAIT: Duration = Duration::from_secs(60);

/// A zap of `msat` to `bot` naming `proposal` (or nothing), paid at `at`, through `provider`.
fn zap(
    provider: &ZapProvider,
    bot: PublicKey,
    proposal: Option<EventId>,
    text: &str,
    msat: u64,
    at: u64,
) -> Event {
    let mut target = ZapTarget::new(bot, msat).content(text);
    if let Some(proposal) = proposal {
        target = target.event(proposal);
    }
    paid_zap(
        provider,
        &Keys::generate(),
        &target,
        Timestamp::from_secs(at),
    )
}

#[actix_rt::test]
async fn tallies_are_recomputed_and_votes_proven() {
    let db = TestDb::sqlite().await;
    let (a, b, c) = (
        TestRelay::start().await,
        TestRelay::start().await,
        TestRelay::start().await,
    );
    // The service watches a and b; c is a relay it does not know.
    let watched = vec![a.url(), b.url()];
    let all = vec![a.url(), b.url(), c.url()];
    let provider = ZapProvider::generate();
    let cfg = zap_config(&db.url, watched.clone(), &provider.public_key())
        .with("COMMONS__GOVERNANCE__TALLY_DEBOUNCE_SECS", "1");
    let gov = cfg.bot("gov");
    let gov_keys = cfg.bot_keys["gov"].clone();
    let app = cfg.start().await;
    let api = Api::new(app.http_addr(), &cfg.admin_token);
    let answer = api
        .post(
            "/v1/actions",
            Auth::Admin,
            &json!({"action": "review-period", "repository": "btc-commons/governance",
                    "pr": 9, "tier": 1, "title": "Check me", "voting_window_days": 1}),
        )
        .await;
    assert_eq!(answer.status.as_u16(), 201, "{:?}", answer.json);
    let proposal = EventId::from_hex(answer.text("event_id")).unwrap();
    wait_until(WAIT, "the proposal on relay a", || async {
        !fetch_all(&a.url(), Filter::new().id(proposal))
            .await
            .is_empty()
    })
    .await;
    let proposal_event = fetch_all(&a.url(), Filter::new().id(proposal)).await[0].clone();
    let start = serde_json::from_str::<serde_json::Value>(&proposal_event.content).unwrap()
        ["voting_window"]["start"]
        .as_u64()
        .unwrap();

    // Four votes in the window, one before it, and a plain contribution to another bot.
    let votes: Vec<Event> = [
        ("support", 1_000_000),
        ("veto", 2_000_000),
        ("yes", 3_000_000),
        ("abstain", 500_000),
    ]
    .iter()
    .map(|(text, msat)| zap(&provider, gov, Some(proposal), text, *msat, start))
    .collect();
    let early = zap(
        &provider,
        gov,
        Some(proposal),
        "support",
        1_000_000,
        start - 3_600,
    );
    let contribution = zap(
        &provider,
        cfg.bot("dev"),
        None,
        "thanks",
        4_000_000,
        start - 86_400,
    );
    let mut receipts = votes.clone();
    receipts.extend([early.clone(), contribution]);
    publish(&watched, &receipts).await;
    let (honest, honest_content) =
        tally_where(&a.url(), &gov, &proposal, |t| t.receipts_count == 4).await;
    tally_where(&b.url(), &gov, &proposal, |t| t.receipts_count == 4).await;

    // Relay c holds a copy of everything (so only what is added to it later differs).
    server_events_on(&a.url(), cfg.server_keys.public_key()).await;
    let everything = fetch_all(&a.url(), Filter::new().limit(5_000)).await;
    publish(&[c.url()], &everything).await;

    // The honest record verifies.
    let (code, out) = verify(&cfg, &all).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 tallies recomputed"), "{out}");
    assert!(out.contains("judged "), "{out}");

    // A voter proves their zap, with and without the service's API.
    let http = format!("http://{}", app.http_addr());
    for api in [None, Some(http.clone())] {
        let (code, out) = verify_vote(&all, &proposal, &votes[1].id, api.clone()).await;
        assert_eq!(code, 0, "{api:?}: {out}");
        assert!(out.contains("vote: veto of weight"), "{out}");
        let (code, out) = verify_vote(&all, &proposal, &early.id, api.clone()).await;
        assert_eq!(code, 1, "{api:?}: {out}");
        assert!(out.contains("NOT counted"), "{out}");
    }
    let (_, out) = verify_vote(&all, &proposal, &early.id, None).await;
    assert!(out.contains("before the window"), "{out}");
    app.stop().await;

    // (a) A tally re-signed by the gov key with a wrong weight.
    let mut wrong_weight = honest_content.clone();
    wrong_weight.result.support_votes += 1.0;
    republish(&all, &gov_keys, &honest, &wrong_weight, 1).await;
    let (code, out) = verify(&cfg, &all).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "support_votes: published {}, recomputed {}",
            wrong_weight.result.support_votes, honest_content.result.support_votes
        )),
        "{out}"
    );

    // (d) A tally whose receipts_root does not match its receipts list.
    let mut bad_root = honest_content.clone();
    bad_root.receipts_root = commons_nostr::audit::merkle::leaf_hash(b"not the list").to_prefixed();
    republish(&all, &gov_keys, &honest, &bad_root, 2).await;
    let (code, out) = verify(&cfg, &all).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("receipts_root does not match its receipts list"),
        "{out}"
    );

    // (b) A tally that counts a forged receipt: a good-looking zap signed by a provider key
    // the proposal does not pin.
    let forged = zap(
        &ZapProvider::generate(),
        gov,
        Some(proposal),
        "yes",
        9_000_000,
        start,
    );
    publish(&all, std::slice::from_ref(&forged)).await;
    let mut counts_forged = honest_content.clone();
    let mut ids: Vec<EventId> = votes.iter().map(|e| e.id).chain([forged.id]).collect();
    ids.sort();
    counts_forged.receipts = Some(ids.iter().map(EventId::to_hex).collect());
    counts_forged.receipts_count = ids.len() as u64;
    counts_forged.receipts_root = receipts_root(&ids).to_prefixed();
    counts_forged.voters += 1;
    republish(&all, &gov_keys, &honest, &counts_forged, 3).await;
    let (code, out) = verify(&cfg, &all).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "receipt {} counted but not a valid in-window vote (reason: wrong_zapper",
            forged.id
        )),
        "{out}"
    );
    assert!(out.contains("voters: published 5, recomputed 4"), "{out}");

    // The honest numbers again: the forged receipt on the relays changes nothing.
    republish(&all, &gov_keys, &honest, &honest_content, 4).await;
    let (code, out) = verify(&cfg, &all).await;
    assert_eq!(code, 0, "{out}");

    // (c) A valid in-window vote the tally leaves out: published after the tally, to relay c
    // only, which the service does not watch.
    let missed = zap(&provider, gov, Some(proposal), "veto", 5_000_000, start);
    publish(&[c.url()], std::slice::from_ref(&missed)).await;
    let (code, out) = verify(&cfg, &all).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("valid in-window vote {} (sender ", missed.id)),
        "{out}"
    );
    assert!(out.contains("not counted"), "{out}");
    assert!(
        out.contains(&format!("receipt {} is only on {}", missed.id, c.url())),
        "{out}"
    );
    let (code, out) = verify_vote(&all, &proposal, &missed.id, None).await;
    assert_eq!(code, 1, "{out}");
}

#[test]
fn verify_vote_bad_arguments_exit_2() {
    let out = Command::new(BIN)
        .args([
            "verify-vote",
            "--relay",
            "ws://127.0.0.1:1",
            "--proposal",
            "not-an-id",
            "--receipt",
            &"ab".repeat(32),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--proposal"));
}

/// `verify` fetches receipts without nostr-sdk's signature check and judges each once: a
/// receipt with a bad signature from a relay that checks nothing reaches judging and is
/// rejected with rule 1 (named), and a relay serving a bad copy of a receipt does not hide
/// another relay's good copy of it.
#[actix_rt::test]
async fn receipts_with_bad_signatures_from_a_relay_are_rejected_with_rule_1() {
    use commons_nostr::cli::verifier::{self, tallies};
    use commons_nostr::configuration::GovernanceSettings;
    use commons_nostr::votes::VoteRules;

    let (a, b) = (RawRelay::start().await, RawRelay::start().await);
    let provider = ZapProvider::generate();
    let bot = Keys::generate().public_key();
    let now = Timestamp::now().as_secs();
    let genuine = zap(&provider, bot, None, "genuine", 21_000, now - 30);
    let other = zap(&provider, bot, None, "other", 21_000, now - 20);
    // The same id as the genuine receipt, another event's signature.
    let mut bad_copy = genuine.clone();
    bad_copy.sig = other.sig;
    // A receipt of its own whose signature is another event's.
    let mut bad = zap(&provider, bot, None, "bad", 21_000, now - 10);
    bad.sig = other.sig;
    a.push(&bad_copy);
    a.push(&bad);
    b.push(&genuine);

    let mut problems = Vec::new();
    let receipts = verifier::fetch_receipts(
        &[a.url(), b.url()],
        Filter::new().kind(Kind::ZapReceipt),
        Duration::from_secs(10),
        &mut problems,
    )
    .await;
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(
        receipts.len(),
        3,
        "both copies of the genuine receipt, and the bad one"
    );

    let rules = VoteRules::new(
        &GovernanceSettings::default(),
        1,
        vec![provider.public_key()],
        vec![bot],
    );
    let judged = tallies::judge(&receipts, &rules);
    assert!(
        matches!(judged.by_id[&genuine.id], tallies::Judgement::Valid(_)),
        "{:?}",
        judged.by_id[&genuine.id]
    );
    match &judged.by_id[&bad.id] {
        tallies::Judgement::Rejected(reason) => {
            assert!(reason.starts_with("receipt_bad_signature"), "{reason}")
        }
        valid => panic!("a bad signature was counted: {valid:?}"),
    }
    assert_eq!(judged.contributions.len(), 1, "the genuine receipt, once");
}
