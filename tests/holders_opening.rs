//! Independent ballot key holders and the service end to end (DESIGN.md "Sealed ballots",
//! *Independent holders*, *Reveal*, *Opening*, *Before opening*): two real `commons-nostr
//! ballot-holder` processes (A and B) and the service on one real relay, on SQLite and on
//! PostgreSQL side by side.
//!
//! Two proposals pin three keys each (the gov bot's, A's, B's) and take votes sealed through
//! all three layers besides open ones. Before the first close nothing the service has (its
//! database, its logs, the events on the relay, its API) holds a holder's secret, and the gov
//! bot's secret alone (what the operator has) opens no ballot. B is stopped before the first
//! close: after it, A's and the gov bot's secrets are out and read by the service, but the
//! proposal stays sealed (sealed sums, `threshold_met` false) until B is started again; then it
//! opens to the naive recompute and `verify` passes; B's secret is on the relay once. B is
//! stopped again and never comes back for the second proposal: after its close it stays
//! unopened, its open support above the threshold notwithstanding; a secret B's key signs that
//! does not match B's pinned key is ignored by the service and named by `verify`. The page
//! (in Chromium, on the SQLite run) shows each holder's npub "revealed" or "waiting".

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::app::TestConfig;
use common::browser::{eval, wait_for_script, Browser, SessionOptions};
use common::db_text::database_text;
use common::holders::{AuthorLog, HolderFiles};
use common::http::Api;
use common::naive::NaiveZap;
use common::relays::{fetch_all, TestRelay};
use common::sealed::{newest_tally, proposal_zap, tally_matching};
use common::test_db::TestDb;
use common::zaps::{publish, wait_until, zap_config};
use commons_nostr::nostr::ballot_secret::ballot_secret;
use commons_nostr::nostr::zap_provider::ZapProvider;
use commons_nostr::votes::{
    derive_gov_ballot_secret, open_ballot, seal_ballot, BallotKey, BallotOpening, BallotSecret,
    TallyContent, VoteType,
};
use nostr_sdk::prelude::*;
use serde_json::{json, Value};

/// The first proposal's window (the shortest `voting_window_secs` allows) and the second's,
/// long enough for B to come back for the first and go again before it closes.
const FIRST_WINDOW: u64 = 60;
const SECOND_WINDOW: u64 = 150;
/// How long a holder or the service may take to answer (a pool, a secret, a tally).
const ANSWER: Duration = Duration::from_secs(45);
/// Tier 1's threshold here: one open support vote of 0.00025 BTC (weight 0.0158) is above it.
const THRESHOLD: f64 = 0.01;

/// A proposal as the relay holds it.
struct Published {
    id: EventId,
    d: String,
    rules: Value,
    start: u64,
    end: u64,
    /// The pinned keys in holder order: the gov bot's, A's, B's.
    keys: Vec<BallotKey>,
}

async fn open_review_period(api: &Api, relay: &RelayUrl, pr: u64, window: u64) -> Published {
    let (id, event, _) = common::verifier::open_review_period(
        api,
        relay,
        &json!({"action": "review-period", "repository": "btc-commons/governance",
                "pr": pr, "tier": 1, "title": format!("Held by three {pr}"),
                "voting_window_secs": window}),
    )
    .await;
    let content: Value = serde_json::from_str(&event.content).expect("json");
    let keys = content["rules"]["sealed"]["holders"]
        .as_array()
        .expect("holders")
        .iter()
        .map(|h| BallotKey::from_hex(h["key"].as_str().expect("key")).expect("a key"))
        .collect();
    Published {
        id,
        d: event.tags.identifier().expect("d").to_owned(),
        rules: content["rules"].clone(),
        start: content["voting_window"]["start"].as_u64().expect("start"),
        end: content["voting_window"]["end"].as_u64().expect("end"),
        keys,
    }
}

/// A holder's secrets, from its keys file (what only the holder has).
fn held_secrets(holder: &HolderFiles) -> HashMap<BallotKey, BallotSecret> {
    let text = std::fs::read(holder.keys_file()).expect("the keys file");
    let file: Value = serde_json::from_slice(&text).expect("json");
    file["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            let key = BallotKey::from_hex(k["key"].as_str().expect("key")).expect("a key");
            let secret =
                BallotSecret::from_hex(k["secret"].as_str().expect("secret")).expect("a secret");
            (key, secret)
        })
        .collect()
}

/// Sealed votes of each type and open ones on `p` (the same shape on both proposals).
fn votes(
    provider: &ZapProvider,
    gov: PublicKey,
    p: &Published,
) -> Vec<(Event, NaiveZap, Option<String>)> {
    let voters: Vec<Keys> = (0..5).map(|_| Keys::generate()).collect();
    let seal = |vote: VoteType, voter: &Keys| {
        let token = seal_ballot(
            vote,
            &p.id,
            &voter.public_key(),
            &p.keys,
            &mut rand::rngs::OsRng,
        )
        .expect("seals through three layers");
        assert!(
            token.len() > 170,
            "three layers are longer than two: {}",
            token.len()
        );
        token
    };
    let sealed = [
        (VoteType::Veto, "veto", 9_000_000),
        (VoteType::Support, "support", 4_000_000),
        (VoteType::Abstain, "abstain", 1_000_000),
    ];
    let mut out = Vec::new();
    for (voter, (vote, name, msat)) in voters.iter().zip(sealed) {
        let token = seal(vote, voter);
        let text = format!("my ballot: {token}");
        let (receipt, zap) = proposal_zap(provider, gov, p.id, voter, msat, &text, Some(name));
        out.push((receipt, zap, Some(token)));
    }
    for (voter, (text, msat)) in voters[3..]
        .iter()
        .zip([("yes", 25_000_000), ("veto", 1_000_000)])
    {
        let (receipt, zap) = proposal_zap(provider, gov, p.id, voter, msat, text, None);
        out.push((receipt, zap, None));
    }
    out
}

/// The states `GET /v1/proposals` gives the pinned keys of `proposal`, in holder order.
async fn key_states(api: &Api, proposal: &EventId) -> Vec<String> {
    let answer = api.get("/v1/proposals").await;
    answer.json["proposals"]
        .as_array()
        .expect("proposals")
        .iter()
        .find(|p| p["event_id"] == proposal.to_hex())
        .map(|p| {
            p["ballot_keys"]
                .as_array()
                .map(|keys| {
                    keys.iter()
                        .map(|k| k["state"].as_str().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default()
        })
        .unwrap_or_default()
}

async fn wait_for_states(api: &Api, proposal: &EventId, want: [&str; 3], backend: &str) {
    let deadline = tokio::time::Instant::now() + ANSWER;
    loop {
        let states = key_states(api, proposal).await;
        if states == want {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let logged: Vec<String> = common::log_capture::text()
                .lines()
                .filter(|l| l.contains(&proposal.to_hex()) && l.contains("secret"))
                .map(str::to_owned)
                .collect();
            panic!(
                "{backend}: the keys of {proposal} are {states:?}, not {want:?}; the service logged:\n{}",
                logged.join("\n")
            );
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the newest tally of `proposal` on `relay` is the final one.
async fn wait_for_final(relay: &RelayUrl, gov: &PublicKey, proposal: &EventId, backend: &str) {
    wait_until(
        ANSWER,
        &format!("{backend}: the final tally of {proposal}"),
        || async {
            newest_tally(relay, gov, proposal)
                .await
                .is_some_and(|event| {
                    serde_json::from_str::<TallyContent>(&event.content).is_ok_and(|c| c.is_final)
                })
        },
    )
    .await;
}

/// Past the close of `p` with B away: A's secret is on the relay, the service shows the gov
/// bot's and A's keys revealed and B's waiting, and the final tally is out.
async fn closed_without_b(
    p: &Published,
    a_log: &AuthorLog,
    api: &Api,
    url: &RelayUrl,
    gov: &PublicKey,
    backend: &str,
) {
    wait_past(p.end).await;
    a_log
        .wait_for("A's secret", ANSWER, |_| a_log.secrets_of(&p.id).pop())
        .await;
    wait_for_states(api, &p.id, ["revealed", "revealed", "waiting"], backend).await;
    wait_for_final(url, gov, &p.id, backend).await;
}

/// Waits until the wall clock is past `at` (unix seconds).
async fn wait_past(at: u64) {
    let now = Timestamp::now().as_secs();
    if now <= at {
        actix_rt::time::sleep(Duration::from_secs(at - now + 1)).await;
    }
}

/// The page of `proposal` shows `holder`'s key in `state` (within the live update's 2 s and
/// the service's read of the relays).
async fn page_shows(page: &fantoccini::Client, holder: &str, state: &str, timeout: Duration) {
    let script = format!(
        "const li = document.querySelector('#reveal li[data-holder=\"{holder}\"]');
         return !!li && li.dataset.state === '{state}' && li.innerText.includes('{label}');",
        label = if state == "revealed" {
            "revealed"
        } else {
            "waiting for its secret"
        },
    );
    wait_for_script(
        page,
        timeout,
        &format!("{holder} {state} on the page"),
        &script,
    )
    .await;
}

async fn holders_cycle(test_db: TestDb, browser: Option<&mut Browser>) {
    let backend = test_db.backend();
    let relay = TestRelay::start().await;
    let url = relay.url();
    let urls = vec![url.clone()];
    let (a, b) = (HolderFiles::new(), HolderFiles::new());
    let a_log = AuthorLog::follow(&url, a.pubkey()).await;
    let b_log = AuthorLog::follow(&url, b.pubkey()).await;
    let a_running = a.start_beside(&urls, 3).await;
    let b_running = b.start_beside(&urls, 3).await;
    for log in [&a_log, &b_log] {
        log.wait_for("a pool of three", ANSWER, |_| {
            log.pools().into_iter().rev().find(|p| p.keys.len() == 3)
        })
        .await;
    }

    let provider = ZapProvider::generate();
    let cfg: TestConfig = zap_config(&test_db.url, urls.clone(), &provider.public_key())
        .with("COMMONS__GOVERNANCE__TALLY_DEBOUNCE_SECS", "1")
        .with(
            "COMMONS__GOVERNANCE__TIER_THRESHOLDS",
            &format!("{THRESHOLD},500,1000,2500,5000"),
        )
        .with(
            "COMMONS__GOVERNANCE__BALLOT_HOLDERS",
            &format!("{},{}", a.npub(), b.npub()),
        );
    let gov = cfg.bot("gov");
    let app = cfg.start().await;
    let api = Api::new(app.http_addr(), &cfg.admin_token);
    let first = open_review_period(&api, &url, 1, FIRST_WINDOW).await;
    let second = open_review_period(&api, &url, 2, SECOND_WINDOW).await;
    for p in [&first, &second] {
        let holders = &p.rules["sealed"]["holders"];
        let pinned: Vec<&str> = (0..3)
            .map(|i| holders[i]["holder"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            pinned,
            [gov.to_hex(), a.pubkey().to_hex(), b.pubkey().to_hex()],
            "{backend}: the gov bot, A, B"
        );
    }

    // Votes sealed through the three layers, and open ones.
    let mut zaps: HashMap<EventId, Vec<NaiveZap>> = HashMap::new();
    let mut tokens = Vec::new();
    let mut receipts = Vec::new();
    for p in [&first, &second] {
        for (receipt, zap, token) in votes(&provider, gov, p) {
            if let Some(token) = token {
                tokens.push((p.id, zap.sender, token));
            }
            zaps.entry(p.id).or_default().push(zap);
            receipts.push(receipt);
        }
    }
    publish(&urls, &receipts).await;
    let naive_of = |p: &Published| (zaps[&p.id].clone(), p.rules.clone(), p.start, p.end);
    for p in [&first, &second] {
        let (z, rules, start, end) = naive_of(p);
        let before =
            tally_matching(&url, &gov, &p.id, (&z, &rules, start, end), false, ANSWER).await;
        assert!(before.result.sealed_votes > 0.0, "{backend}: {before:?}");
        assert!(!before.result.threshold_met, "{backend}");
    }
    assert!(
        Timestamp::now().as_secs() + 5 < first.end,
        "{backend}: the votes took too long to check the time before the close"
    );

    // Before the close: what the operator has (the gov bot's secret) opens nothing, and no
    // holder's secret is anywhere the service reaches.
    let gov_secret =
        |p: &Published| derive_gov_ballot_secret(cfg.bot_keys["gov"].secret_key(), &p.d);
    for (proposal, sender, token) in &tokens {
        let p = if *proposal == first.id {
            &first
        } else {
            &second
        };
        assert!(
            open_ballot(token, proposal, sender, &[gov_secret(p)]).is_err(),
            "{backend}: the gov bot's secret alone opened a ballot"
        );
        assert!(BallotOpening::for_keys(&p.keys, [&gov_secret(p)]).is_none());
    }
    let mut holders_secrets = held_secrets(&a);
    holders_secrets.extend(held_secrets(&b));
    let pinned_secrets: Vec<String> = [&first, &second]
        .iter()
        .flat_map(|p| p.keys[1..].iter().map(|k| holders_secrets[k].reveal_hex()))
        .collect();
    assert_eq!(pinned_secrets.len(), 4, "{backend}");
    let mut seen = vec![
        database_text(&test_db.url).await,
        common::log_capture::text(),
        api.get("/v1/proposals").await.json.to_string(),
    ];
    for p in [&first, &second] {
        seen.push(
            api.get(&format!("/v1/proposals/{}/tally", p.id.to_hex()))
                .await
                .json
                .to_string(),
        );
    }
    seen.extend(
        fetch_all(&url, Filter::new())
            .await
            .iter()
            .map(|e| e.as_json()),
    );
    for secret in &pinned_secrets {
        for text in &seen {
            assert!(
                !text.to_lowercase().contains(secret),
                "{backend}: a holder's secret before the close in {}",
                &text[..text.len().min(300)]
            );
        }
    }
    assert!(a_log.secrets_of(&first.id).is_empty() && b_log.secrets_of(&first.id).is_empty());

    // B goes away before the first close.
    wait_past(first.end - 6).await;
    let (code, output) = b_running.terminate_beside().await;
    assert_eq!(code, Some(0), "{backend}: {output}");

    // After it: the gov bot's and A's secrets are out and read, B's awaited: still sealed.
    let mut page = None;
    if let Some(browser) = browser {
        let session = browser.session(SessionOptions::default()).await;
        session
            .goto(&format!(
                "http://{}/proposals/{}",
                app.http_addr(),
                first.id.to_hex()
            ))
            .await
            .expect("the page");
        page = Some(session);
    }
    closed_without_b(&first, &a_log, &api, &url, &gov, backend).await;
    let (z, rules, start, end) = naive_of(&first);
    let waiting = tally_matching(
        &url,
        &gov,
        &first.id,
        (&z, &rules, start, end),
        false,
        ANSWER,
    )
    .await;
    assert!(waiting.is_final, "{backend}");
    assert!(
        waiting.result.sealed_votes > 0.0 && !waiting.result.threshold_met,
        "{backend}"
    );
    if let Some(page) = &page {
        page_shows(page, &a.npub(), "revealed", ANSWER).await;
        page_shows(page, &b.npub(), "waiting", ANSWER).await;
    }

    // B is back: it reveals once, the service opens the ballots.
    let b_running = b.start_beside(&urls, 3).await;
    b_log
        .wait_for("B's secret of the first proposal", ANSWER, |_| {
            b_log.secrets_of(&first.id).pop()
        })
        .await;
    let opened = tally_matching(
        &url,
        &gov,
        &first.id,
        (&z, &rules, start, end),
        true,
        ANSWER,
    )
    .await;
    assert!(opened.is_final, "{backend}");
    assert_eq!(opened.result.sealed_votes, 0.0, "{backend}");
    let sealed = opened.sealed.as_ref().expect("sealed");
    assert_eq!(
        (sealed.ballots, sealed.voters, sealed.invalid),
        (3, 3, 0),
        "{backend}"
    );
    assert_eq!(sealed.keys, first.keys, "{backend}");
    wait_for_states(
        &api,
        &first.id,
        ["revealed", "revealed", "revealed"],
        backend,
    )
    .await;
    if let Some(page) = &page {
        page_shows(page, &b.npub(), "revealed", ANSWER).await;
    }

    // B goes again, before the second close, for good.
    assert!(
        Timestamp::now().as_secs() + 2 < second.end,
        "{backend}: B came back too late to leave before the second close"
    );
    let (code, output) = b_running.terminate_beside().await;
    assert_eq!(code, Some(0), "{backend}: {output}");
    assert_eq!(
        b_log.secrets_of(&first.id).len(),
        1,
        "{backend}: B revealed once"
    );
    assert_eq!(
        a_log.secrets_of(&first.id).len(),
        1,
        "{backend}: A revealed once"
    );
    let (code, report) = common::verifier::verify(&cfg, &urls).await;
    assert_eq!(code, 0, "{backend}: verify fails:\n{report}");

    // The second close without B: A's and the gov bot's secrets read, still sealed, with open
    // support above the threshold.
    closed_without_b(&second, &a_log, &api, &url, &gov, backend).await;
    // B's key signs a secret that is not its pinned key's.
    let wrong = ballot_secret(
        second.id,
        &second.keys[2],
        &BallotSecret::generate(&mut rand::rngs::OsRng),
    )
    .sign_with_keys(&b.keys)
    .expect("signs");
    publish(&urls, std::slice::from_ref(&wrong)).await;
    let ignored = format!("ballot secret {}", wrong.id);
    wait_until(
        ANSWER,
        &format!("{backend}: the service reads B's wrong secret"),
        || async {
            common::log_capture::text().lines().any(|line| {
                line.contains(&ignored) && line.contains("does not match the pinned key")
            })
        },
    )
    .await;
    assert_eq!(
        key_states(&api, &second.id).await,
        ["revealed", "revealed", "waiting"],
        "{backend}"
    );
    let tally = newest_tally(&url, &gov, &second.id).await.expect("a tally");
    let content: TallyContent = serde_json::from_str(&tally.content).expect("content");
    assert!(content.is_final, "{backend}");
    assert!(
        !content.sealed.as_ref().expect("sealed").opened,
        "{backend}"
    );
    assert!(content.result.sealed_votes > 0.0, "{backend}");
    assert!(
        content.result.support_votes >= THRESHOLD,
        "{backend}: {content:?}"
    );
    assert!(
        !content.result.threshold_met,
        "{backend}: a holder away cannot make it pass"
    );
    let (z, rules, start, end) = naive_of(&second);
    tally_matching(
        &url,
        &gov,
        &second.id,
        (&z, &rules, start, end),
        false,
        ANSWER,
    )
    .await;
    let (code, report) = common::verifier::verify(&cfg, &urls).await;
    assert_ne!(
        code, 0,
        "{backend}: verify passes a wrong secret:\n{report}"
    );
    assert!(
        report
            .lines()
            .any(|l| l.contains(&wrong.id.to_hex()) && l.contains("does not match the pinned key")),
        "{backend}: verify names the wrong secret:\n{report}"
    );
    if let Some(page) = &page {
        page.goto(&format!(
            "http://{}/proposals/{}",
            app.http_addr(),
            second.id.to_hex()
        ))
        .await
        .expect("the page");
        page_shows(page, &b.npub(), "waiting", ANSWER).await;
        page_shows(page, &a.npub(), "revealed", ANSWER).await;
        let text = eval(page, "return document.querySelector('#reveal').innerText;").await;
        assert!(
            text.as_str()
                .is_some_and(|t| t.contains("never makes it pass")),
            "{backend}: {text}"
        );
    }

    let (code, output) = a_running.terminate_beside().await;
    assert_eq!(code, Some(0), "{output}");
    a_log.stop().await;
    b_log.stop().await;
    app.stop().await;
}

#[actix_rt::test]
async fn holders_reveal_after_the_close_and_only_then_the_service_opens_the_ballots() {
    common::log_capture::capture();
    let mut databases = TestDb::all().await.into_iter();
    let sqlite = databases.next().expect("sqlite");
    let mut browser = Browser::start().await;
    let mut runs = vec![Box::pin(holders_cycle(sqlite, Some(&mut browser)))
        as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>];
    runs.extend(databases.map(|db| {
        Box::pin(holders_cycle(db, None))
            as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>
    }));
    futures::future::join_all(runs).await;
}
