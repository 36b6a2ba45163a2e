//! Votes end to end (DESIGN.md "Votes" and "Tally events"): a proposal published through the
//! admin API, zaps built the way a real LNURL provider builds them, sent to three real
//! in-process relays, and the tally event read back from a relay by a separate client. Its
//! numbers are checked against a naive recompute written here from DESIGN.md's text alone,
//! after the service was killed mid-vote and restarted; and SQLite and PostgreSQL (when
//! `TEST_DATABASE_URL` is set) must give the same tally.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::app::TestConfig;
use common::http::{Api, Auth};
use common::relays::{fetch_all, TestRelay};
use common::test_db::TestDb;
use common::zaps::{paid_zap, publish, wait_until, zap_config};
use commons_nostr::audit::merkle;
use commons_nostr::nostr::zap_provider::{ZapProvider, ZapTarget};
use nostr_sdk::prelude::*;
use serde_json::{json, Value};

const ARRIVAL: Duration = Duration::from_secs(60);
const DAY: u64 = 86_400;
/// One bitcoin in millisatoshis.
const BTC: u64 = 100_000_000_000;

/// One zap as the test made it: what the naive recompute needs.
#[derive(Debug, Clone)]
struct Sent {
    receipt: Event,
    sender: PublicKey,
    msat: u64,
    at: u64,
    /// Names the proposal (by `e`).
    names: bool,
    content: String,
}

/// Builds zaps from many senders through one provider.
struct Zapper<'a> {
    provider: &'a ZapProvider,
    proposal: EventId,
    gov: PublicKey,
    dev: PublicKey,
}

impl Zapper<'_> {
    fn zap(&self, sender: &Keys, msat: u64, at: u64, vote: Option<&str>) -> Sent {
        let target = match vote {
            Some(text) => ZapTarget::new(self.gov, msat)
                .event(self.proposal)
                .content(text),
            // A plain contribution: a zap to another bot, naming nothing.
            None => ZapTarget::new(self.dev, msat).content("thanks"),
        };
        let receipt = paid_zap(self.provider, sender, &target, Timestamp::from_secs(at));
        Sent {
            receipt,
            sender: sender.public_key(),
            msat,
            at,
            names: vote.is_some(),
            content: vote.unwrap_or("thanks").to_owned(),
        }
    }
}

// --- the naive recompute: DESIGN.md "Votes", sentence by sentence ----------------------------

#[derive(Debug, Clone, PartialEq)]
struct Naive {
    support: f64,
    veto: f64,
    abstain: f64,
    zap_votes: u64,
    participation_votes: u64,
    voters: u64,
    threshold_met: bool,
    veto_blocks: bool,
    counted: Vec<EventId>,
}

fn keyword(content: &str) -> Option<&'static str> {
    for word in content
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map(str::to_lowercase)
    {
        match word.as_str() {
            "support" | "yes" | "approve" => return Some("support"),
            "veto" | "oppose" | "against" => return Some("veto"),
            "abstain" | "neutral" => return Some("abstain"),
            _ => {}
        }
    }
    None
}

fn naive(sent: &[Sent], rules: &Value, start: u64, end: u64, t: u64) -> Naive {
    let num = |k: &str| rules[k].as_f64().expect(k);
    let days = |k: &str| rules[k].as_u64().expect(k) * DAY;
    let btc = |msat: u64| msat as f64 / BTC as f64;
    let exists: Vec<&Sent> = sent.iter().filter(|s| s.at <= t).collect();
    let senders: BTreeSet<PublicKey> = exists.iter().map(|s| s.sender).collect();
    let mut p = BTreeMap::new();
    let mut cooling = BTreeMap::new();
    for sender in &senders {
        let mine: Vec<&&Sent> = exists.iter().filter(|s| s.sender == *sender).collect();
        let young: u64 = mine
            .iter()
            .filter(|s| s.at > t - days("cooling_off_days"))
            .map(|s| s.msat)
            .sum();
        let is_cooling = btc(young) >= num("cooling_off_threshold_btc");
        let counted: u64 = mine
            .iter()
            .filter(|s| s.at > t - days("participation_window_days"))
            .filter(|s| !(is_cooling && s.at > t - days("cooling_off_days")))
            .map(|s| s.msat)
            .sum();
        p.insert(*sender, btc(counted).sqrt());
        cooling.insert(*sender, is_cooling);
    }
    let with_p = p.values().filter(|v| **v > 0.0).count();
    let w: f64 = p.values().sum();
    let cap = (with_p >= (1.0 / num("weight_cap")).ceil() as usize).then(|| num("weight_cap") * w);

    let votes: Vec<&&Sent> = exists
        .iter()
        .filter(|s| s.names && s.at >= start && s.at <= end)
        .collect();
    let mut out = Naive {
        support: 0.0,
        veto: 0.0,
        abstain: 0.0,
        zap_votes: 0,
        participation_votes: 0,
        voters: 0,
        threshold_met: false,
        veto_blocks: false,
        counted: votes.iter().map(|s| s.receipt.id).collect(),
    };
    out.counted.sort();
    let voters: BTreeSet<PublicKey> = votes.iter().map(|s| s.sender).collect();
    out.voters = voters.len() as u64;
    for voter in voters {
        let mut mine: Vec<&&&Sent> = votes.iter().filter(|s| s.sender == voter).collect();
        mine.sort_by_key(|s| (s.at, s.receipt.id));
        let vote_type = mine
            .iter()
            .rev()
            .find_map(|s| keyword(&s.content))
            .unwrap_or("support");
        let total: u64 = mine.iter().map(|s| s.msat).sum();
        let is_cooling = cooling[&voter];
        let z = if is_cooling { 0.0 } else { btc(total).sqrt() };
        let floor_p = num("participation_floor") * p[&voter];
        let mut weight = z.max(floor_p);
        if is_cooling || floor_p > z {
            out.participation_votes += 1;
        } else {
            out.zap_votes += 1;
        }
        if let Some(cap) = cap {
            weight = weight.min(cap);
        }
        match vote_type {
            "support" => out.support += weight,
            "veto" => out.veto += weight,
            _ => out.abstain += weight,
        }
    }
    out.threshold_met = out.support >= num("threshold");
    out.veto_blocks =
        out.veto > 0.0 && out.veto >= num("veto_threshold") * (out.support + out.veto);
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

/// Compares a tally event's content with the naive recompute at its `as_of`: the first
/// difference, if any.
fn differs_from_naive(
    content: &Value,
    sent: &[Sent],
    rules: &Value,
    start: u64,
    end: u64,
) -> Option<String> {
    let as_of = content["as_of"].as_u64()?;
    let expected = naive(sent, rules, start, end, as_of);
    let result = &content["result"];
    for (key, want) in [
        ("support_votes", expected.support),
        ("veto_votes", expected.veto),
        ("abstain_votes", expected.abstain),
        (
            "total_votes",
            expected.support + expected.veto + expected.abstain,
        ),
    ] {
        let got = result[key].as_f64()?;
        if !close(got, want) {
            return Some(format!("{key}: {got} vs naive {want}"));
        }
    }
    let ids: Vec<String> = expected.counted.iter().map(EventId::to_hex).collect();
    let leaves: Vec<merkle::Digest> = expected
        .counted
        .iter()
        .map(|id| merkle::leaf_hash(id.as_bytes()))
        .collect();
    let checks = [
        (
            "zap_vote_count",
            result["zap_vote_count"].clone(),
            json!(expected.zap_votes),
        ),
        (
            "participation_vote_count",
            result["participation_vote_count"].clone(),
            json!(expected.participation_votes),
        ),
        (
            "threshold_met",
            result["threshold_met"].clone(),
            json!(expected.threshold_met),
        ),
        (
            "veto_blocks",
            result["veto_blocks"].clone(),
            json!(expected.veto_blocks),
        ),
        ("voters", content["voters"].clone(), json!(expected.voters)),
        ("late_votes", content["late_votes"].clone(), json!(0)),
        (
            "receipts_count",
            content["receipts_count"].clone(),
            json!(expected.counted.len() as u64),
        ),
        ("receipts", content["receipts"].clone(), json!(ids)),
        (
            "receipts_root",
            content["receipts_root"].clone(),
            json!(merkle::root(&leaves).to_prefixed()),
        ),
    ];
    checks
        .into_iter()
        .find(|(_, got, want)| got != want)
        .map(|(key, got, want)| format!("{key}: {got} vs naive {want}"))
}

/// The newest tally event of `proposal` on `relay`, once it says what the naive recompute of
/// `sent` says (the service publishes again, debounced, as receipts keep arriving).
async fn tally_matching(
    relay: &RelayUrl,
    gov: &PublicKey,
    proposal: &EventId,
    naive_of: (&[Sent], &Value, u64, u64),
) -> Event {
    let (sent, rules, start, end) = naive_of;
    let filter = Filter::new()
        .kind(Kind::ApplicationSpecificData)
        .author(*gov)
        .identifier(format!("tally:{}", proposal.to_hex()));
    let newest = || async {
        fetch_all(relay, filter.clone())
            .await
            .into_iter()
            .max_by_key(|e| e.created_at)
    };
    let deadline = tokio::time::Instant::now() + ARRIVAL;
    loop {
        let newest = newest().await;
        let difference = match &newest {
            None => Some("no tally yet".to_owned()),
            Some(event) => match serde_json::from_str::<Value>(&event.content) {
                Ok(content) => differs_from_naive(&content, sent, rules, start, end),
                Err(e) => Some(format!("content is not JSON: {e}")),
            },
        };
        match (newest, difference) {
            (Some(event), None) => return event,
            (_, Some(difference)) if tokio::time::Instant::now() >= deadline => {
                panic!("no tally on {relay} equals the naive recompute: {difference}")
            }
            _ => actix_rt::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The scenario's senders and zaps, around a window that opened at `start`.
fn scenario(zapper: &Zapper<'_>, start: u64) -> (Vec<Sent>, Vec<Sent>) {
    let mut first = Vec::new();
    let mut second = Vec::new();
    // 23 small voters: plain support, keywords, split payments.
    let texts = [
        "support",
        "yes!",
        "I approve",
        "",
        "VETO",
        "I oppose this",
        "against",
        "abstain",
        "neutral",
        "support, unsupported elsewhere",
        "ship it",
        "yes",
        "veto",
        "approve",
        "",
        "support",
        "oppose",
        "abstain please",
        "yes",
        "support",
        "approve",
        "",
        "Support!",
    ];
    for (i, text) in texts.iter().enumerate() {
        let sender = Keys::generate();
        let msat = 1_000_000 + 100_000 * i as u64;
        if i % 4 == 0 {
            // Split in three parts: the same total, three receipts.
            for part in 0..3u64 {
                let sent = zapper.zap(&sender, msat / 3, start + part, Some(text));
                if part == 2 {
                    second.push(sent)
                } else {
                    first.push(sent)
                }
            }
        } else {
            first.push(zapper.zap(&sender, msat, start + 1, Some(text)));
        }
    }
    // A sender whose latest explicit keyword (veto) wins over a later zap with no keyword.
    let changer = Keys::generate();
    first.push(zapper.zap(&changer, 2_000_000, start, Some("support")));
    first.push(zapper.zap(&changer, 2_000_000, start + 1, Some("veto after all")));
    second.push(zapper.zap(&changer, 2_000_000, start + 2, Some("no keyword here")));
    // Two whales cooling off: 0.2 BTC now (young), and older contributions to another bot.
    for _ in 0..2 {
        let whale = Keys::generate();
        first.push(zapper.zap(&whale, BTC / 20, start - 40 * DAY, None));
        second.push(zapper.zap(&whale, BTC / 5, start + 1, Some("support")));
    }
    // A large voter just under the cooling-off threshold: capped at 5 % of the system.
    let large = Keys::generate();
    second.push(zapper.zap(&large, BTC / 100 * 9, start + 2, Some("veto")));
    // Senders who zapped the proposal before its window opened: contributions, not votes.
    for _ in 0..3 {
        let early = Keys::generate();
        first.push(zapper.zap(&early, 3_000_000, start - 3_600, Some("support")));
    }
    // Contributors who never vote: participation weight in the system total. (Receipts are
    // published when paid; the ones dated in the past go out while the service runs, since a
    // restarted tracker asks relays only for what is newer than its cursor minus a margin.)
    for _ in 0..3 {
        let patron = Keys::generate();
        first.push(zapper.zap(&patron, 5_000_000, start - 2 * DAY, None));
    }
    (first, second)
}

fn receipts(sent: &[Sent]) -> Vec<Event> {
    sent.iter().map(|s| s.receipt.clone()).collect()
}

/// The proposal's pinned rules and window, read back from a relay.
async fn proposal_on(relay: &RelayUrl, id: &EventId) -> (Value, u64, u64) {
    wait_until(ARRIVAL, "the proposal on the relay", || async {
        !fetch_all(relay, Filter::new().id(*id)).await.is_empty()
    })
    .await;
    let events = fetch_all(relay, Filter::new().id(*id)).await;
    let event = events.first().expect("the proposal on the relay");
    let content: Value = serde_json::from_str(&event.content).expect("json content");
    let window = &content["voting_window"];
    (
        content["rules"].clone(),
        window["start"].as_u64().expect("start"),
        window["end"].as_u64().expect("end"),
    )
}

#[actix_rt::test]
async fn a_proposal_tallied_from_three_relays_equals_a_naive_recompute_across_a_kill() {
    let mut results = Vec::new();
    for test_db in TestDb::all().await {
        let relays = [
            TestRelay::start().await,
            TestRelay::start().await,
            TestRelay::start().await,
        ];
        let urls: Vec<RelayUrl> = relays.iter().map(TestRelay::url).collect();
        let provider = ZapProvider::generate();
        let cfg: TestConfig = zap_config(&test_db.url, urls.clone(), &provider.public_key())
            .with("COMMONS__GOVERNANCE__TALLY_DEBOUNCE_SECS", "1");
        let gov = cfg.bot("gov");
        let dev = cfg.bot("dev");

        // First life: publish the proposal and the first zaps, see a tally, then die abruptly.
        let first_cfg = cfg.clone();
        let first_urls = urls.clone();
        let thread_provider = provider.clone();
        // On a thread of its own with its own actix system, while this one keeps serving the
        // relays.
        let (proposal, start, end, rules, first, second) = tokio::task::spawn_blocking(move || {
            actix_rt::System::new().block_on(async move {
                let app = first_cfg.start().await;
                let api = Api::new(app.http_addr(), &first_cfg.admin_token);
                let answer = api
                    .post(
                        "/v1/actions",
                        Auth::Admin,
                        &json!({"action": "review-period", "repository": "btc-commons/governance",
                                "pr": 7, "tier": 1, "title": "Vote on it", "voting_window_days": 1}),
                    )
                    .await;
                assert_eq!(answer.status.as_u16(), 201, "{:?}", answer.json);
                let proposal = EventId::from_hex(answer.text("event_id")).expect("id");
                let (rules, start, end) = proposal_on(&first_urls[0], &proposal).await;
                assert_eq!(rules["weight_cap"], json!(0.05), "{rules}");
                assert_eq!(rules["threshold"], json!(100.0));
                // Some zaps must be later than others within the window.
                wait_until(Duration::from_secs(5), "the window's third second", || async {
                    Timestamp::now().as_secs() >= start + 2
                })
                .await;
                let zapper = Zapper {
                    provider: &thread_provider,
                    proposal,
                    gov,
                    dev,
                };
                let (first, second) = scenario(&zapper, start);
                publish(&first_urls, &receipts(&first)).await;
                // Some tally says exactly what the naive recompute of these zaps says.
                tally_matching(&first_urls[1], &gov, &proposal, (&first, &rules, start, end))
                    .await;
                // Dropped without a graceful stop, as a crash or kill -9 would.
                (proposal, start, end, rules, first, second)
            })
        })
        .await
        .expect("first life ran");

        // While the service is down, the rest of the zaps reach the relays.
        publish(&urls, &receipts(&second)).await;
        let app = cfg.start().await;
        let all: Vec<Sent> = first.iter().chain(second.iter()).cloned().collect();
        // Read back by a separate client, from a relay: the restarted service catches up and
        // publishes the numbers of every zap.
        let tally = tally_matching(&urls[2], &gov, &proposal, (&all, &rules, start, end)).await;
        assert!(tally.verify().is_ok());
        assert!(tally
            .tags
            .iter()
            .any(|t| t.as_slice() == ["e", &proposal.to_hex()]));
        let content: Value = serde_json::from_str(&tally.content).expect("json");
        assert_eq!(content["proposal"], json!(proposal.to_hex()));
        assert_eq!(content["final"], json!(false));
        assert_eq!(content["rules"], rules);
        // What the scenario is for: the whales vote with participation weight only, the
        // large voter is capped, and the veto side holds.
        let expected = naive(&all, &rules, start, end, content["as_of"].as_u64().unwrap());
        assert!(expected.participation_votes >= 2, "{expected:?}");
        assert!(expected.voters >= 25, "{expected:?}");

        // The API answers the same numbers, and proves a counted receipt.
        let api = Api::new(app.http_addr(), &cfg.admin_token);
        let now = api
            .get(&format!("/v1/proposals/{}/tally", proposal.to_hex()))
            .await;
        assert_eq!(now.status.as_u16(), 200);
        assert_eq!(now.json["receipts_root"], content["receipts_root"]);
        assert_eq!(
            now.json["result"]["threshold_met"],
            content["result"]["threshold_met"]
        );
        let some_vote = all
            .iter()
            .find(|s| s.names && s.at >= start)
            .expect("a vote");
        let proof = api
            .get(&format!(
                "/v1/proposals/{}/receipts?receipt={}",
                proposal.to_hex(),
                some_vote.receipt.id.to_hex()
            ))
            .await;
        assert_eq!(proof.status.as_u16(), 200, "{:?}", proof.json);
        assert_eq!(proof.json["receipts_root"], content["receipts_root"]);
        let early = all.iter().find(|s| s.names && s.at < start).expect("early");
        let refused = api
            .get(&format!(
                "/v1/proposals/{}/receipts?receipt={}",
                proposal.to_hex(),
                early.receipt.id.to_hex()
            ))
            .await;
        assert_eq!(refused.status.as_u16(), 404);
        assert_eq!(refused.field(), Some("receipt"));
        let listed = api.get("/v1/proposals").await;
        assert_eq!(
            listed.json["proposals"][0]["event_id"],
            json!(proposal.to_hex())
        );
        assert_eq!(listed.json["proposals"][0]["state"], json!("open"));

        results.push((test_db.backend(), content["result"].clone()));
        app.stop().await;
    }
    // Every database gives the same tally for the same votes.
    for pair in results.windows(2) {
        assert_eq!(pair[0].1, pair[1].1, "{} vs {}", pair[0].0, pair[1].0);
    }
}

#[actix_rt::test]
async fn the_aggregator_restarts_alone_and_rebuilds_the_same_tally() {
    let test_db = TestDb::sqlite().await;
    let relay = TestRelay::start().await;
    let provider = ZapProvider::generate();
    let cfg = zap_config(&test_db.url, vec![relay.url()], &provider.public_key())
        .with("COMMONS__GOVERNANCE__TALLY_DEBOUNCE_SECS", "0");
    let app = cfg.start().await;
    let api = Api::new(app.http_addr(), &cfg.admin_token);
    let answer = api
        .post(
            "/v1/actions",
            Auth::Admin,
            &json!({"action": "review-period", "repository": "o/r", "pr": 1, "tier": 1,
                    "title": "Restart me", "voting_window_days": 1}),
        )
        .await;
    assert_eq!(answer.status.as_u16(), 201, "{:?}", answer.json);
    let proposal = EventId::from_hex(answer.text("event_id")).expect("id");
    let zapper = Zapper {
        provider: &provider,
        proposal,
        gov: cfg.bot("gov"),
        dev: cfg.bot("dev"),
    };
    let now = Timestamp::now().as_secs();
    let votes = [
        zapper.zap(&Keys::generate(), 5_000_000, now, Some("support")),
        zapper.zap(&Keys::generate(), 2_000_000, now, Some("veto")),
    ];
    publish(&[relay.url()], &receipts(&votes)).await;
    let path = format!("/v1/proposals/{}/tally", proposal.to_hex());
    wait_until(ARRIVAL, "both votes in the tally", || async {
        api.get(&path).await.json["receipts_count"] == json!(2)
    })
    .await;
    let before = api.get(&path).await.json;

    app.handles()
        .votes
        .send(commons_nostr::actors::supervision::RestartChild(
            commons_nostr::actors::vote_aggregator::CHILD_NAME.to_string(),
        ))
        .await
        .expect("supervisor alive")
        .expect("restarted");
    // The new incarnation loads everything from the database and answers the same numbers.
    wait_until(ARRIVAL, "the restarted aggregator's tally", || async {
        let now = api.get(&path).await;
        now.status.as_u16() == 200 && now.json["receipts_count"] == json!(2)
    })
    .await;
    let after = api.get(&path).await.json;
    assert_eq!(after["result"], before["result"]);
    assert_eq!(after["receipts_root"], before["receipts_root"]);
    let metrics = api.metrics().await;
    assert!(
        metrics.contains("commons_actor_restarts_total{actor=\"votes:votes\"} 1"),
        "{metrics}"
    );
    // Nothing else restarted.
    let restarts: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("commons_actor_restarts_total{"))
        .collect();
    assert_eq!(restarts.len(), 1, "{restarts:?}");
    app.stop().await;
}

/// DESIGN.md "Cooling-off": a sender's young contributions are those with `created_at > T -
/// cooling_off_days`, however long the participation window is. With a cooling-off window
/// longer than the participation window, a large payment made between the two is young: the
/// proposal's tally has to load it, or its sender votes with full zap weight.
#[actix_rt::test]
async fn a_cooling_off_window_longer_than_the_participation_window_is_read_whole() {
    let test_db = TestDb::sqlite().await;
    let relay = TestRelay::start().await;
    let provider = ZapProvider::generate();
    let cfg = zap_config(&test_db.url, vec![relay.url()], &provider.public_key())
        .with("COMMONS__GOVERNANCE__PARTICIPATION_WINDOW_DAYS", "30")
        .with("COMMONS__GOVERNANCE__COOLING_OFF_DAYS", "120")
        .with("COMMONS__GOVERNANCE__TALLY_DEBOUNCE_SECS", "0");
    let app = cfg.start().await;
    let api = Api::new(app.http_addr(), &cfg.admin_token);
    let whale = Keys::generate();
    let now = Timestamp::now().as_secs();

    // 0.2 BTC to another bot 60 days ago: outside the 30-day participation window, inside the
    // 120-day cooling-off window. Recorded before the proposal exists.
    let old = paid_zap(
        &provider,
        &whale,
        &ZapTarget::new(cfg.bot("dev"), BTC / 5).content("thanks"),
        Timestamp::from_secs(now - 60 * DAY),
    );
    publish(&[relay.url()], std::slice::from_ref(&old)).await;
    wait_until(ARRIVAL, "the old contribution recorded", || async {
        api.metrics()
            .await
            .contains("commons_zap_receipts_accepted_total 1")
    })
    .await;

    let (proposal, event, _) = common::verifier::open_review_period(
        &api,
        &relay.url(),
        &json!({"action": "review-period", "repository": "o/r", "pr": 7, "tier": 1,
                "title": "Cool off", "voting_window_days": 1}),
    )
    .await;
    let content: Value = serde_json::from_str(&event.content).expect("json content");
    let rules = &content["rules"];
    assert_eq!(rules["participation_window_days"], 30);
    assert_eq!(rules["cooling_off_days"], 120);
    let zapper = Zapper {
        provider: &provider,
        proposal,
        gov: cfg.bot("gov"),
        dev: cfg.bot("dev"),
    };
    let vote = zapper.zap(
        &whale,
        BTC / 100,
        Timestamp::now().as_secs(),
        Some("support"),
    );
    publish(&[relay.url()], std::slice::from_ref(&vote.receipt)).await;

    let path = format!("/v1/proposals/{}/tally", proposal.to_hex());
    wait_until(ARRIVAL, "the vote in the tally", || async {
        api.get(&path).await.json["receipts_count"] == json!(1)
    })
    .await;
    let tally = api.get(&path).await.json;
    // Young: 0.2 + 0.01 BTC >= 0.1, so the whale is cooling off: a participation vote, and
    // its participation weight leaves every young contribution out (0 here).
    assert_eq!(tally["result"]["zap_vote_count"], json!(0), "{tally}");
    assert_eq!(
        tally["result"]["participation_vote_count"],
        json!(1),
        "{tally}"
    );
    app.stop().await;
}
