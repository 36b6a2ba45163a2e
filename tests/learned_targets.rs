//! Vote targets the service did not publish (DESIGN.md "Votes", *Targets*): every event the
//! gov bot signs with `e` = the proposal and `t` = `governance-proposal` is a target, whoever
//! published it. A review period is opened through the admin API on real in-process relays;
//! notes signed with the gov key are then published straight to the relays, as another tool
//! would, and zapped the way a wallet pays: through the development LNURL provider's callback,
//! which answers a real BOLT11 invoice and publishes the signed receipt. The service must learn
//! each note from the relays, count the zaps to it (also one paid before the note reached the
//! relays), list it in the tally's `targets`, equal a naive recompute written here from
//! DESIGN.md's text, and pass `verify`; a look-alike note signed by another key, and a gov note
//! without the `t`, are no targets and their zaps no votes. On SQLite and PostgreSQL (when
//! `TEST_DATABASE_URL` is set).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::app::TestConfig;
use common::http::{Api, Auth};
use common::naive::{self, Naive, NaiveZap};
use common::relays::{fetch_all, TestRelay};
use common::test_db::TestDb;
use common::verifier::{server_events_on, verify};
use common::zaps::{is_recorded, publish, wait_until};
use commons_nostr::startup::Application;
use commons_nostr::store::entities::proposal_target;
use commons_nostr::votes::TallyContent;
use nostr_sdk::prelude::*;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);

/// The review period as published through the API.
struct Published {
    gov: PublicKey,
    proposal: EventId,
    announcement: EventId,
    poll: EventId,
    rules: Value,
    window: (u64, u64),
}

/// One zap as the test made it: what the naive recompute needs.
#[derive(Debug, Clone)]
struct Sent {
    receipt: Event,
    sender: PublicKey,
    msat: u64,
    at: u64,
    /// The event its zap request's `e` names.
    zapped: EventId,
    content: String,
}

/// Pays zap requests as a wallet does: through the LNURL callback of `gov@<service>`.
struct Wallet {
    callback: String,
    zapper: PublicKey,
    gov: PublicKey,
    relay: RelayUrl,
}

impl Wallet {
    async fn of(app: &Application, cfg: &TestConfig, relay: &RelayUrl) -> Wallet {
        let (status, pay) = get(&format!(
            "http://{}/.well-known/lnurlp/gov",
            app.http_addr()
        ))
        .await;
        assert_eq!(status, 200, "{pay}");
        assert_eq!(pay["allowsNostr"], true);
        let zapper =
            PublicKey::from_hex(pay["nostrPubkey"].as_str().expect("nostrPubkey")).expect("key");
        assert_eq!(zapper, cfg.dev_zapper.public_key());
        Wallet {
            callback: pay["callback"].as_str().expect("callback").to_owned(),
            zapper,
            gov: cfg.bot("gov"),
            relay: relay.clone(),
        }
    }

    /// A Damus-shaped zap of `zapped` (`e`, `p`, `relays`) with the comment `text`, paid.
    async fn zap(&self, zapped: EventId, text: &str, msat: u64) -> Sent {
        let sender = Keys::generate();
        let request = EventBuilder::new(Kind::ZapRequest, text)
            .tags([
                Tag::parse(["e", &zapped.to_hex(), self.relay.as_str()]).expect("e"),
                Tag::public_key(self.gov),
                Tag::parse(["relays", self.relay.as_str()]).expect("relays"),
            ])
            .sign_with_keys(&sender)
            .expect("zap request");
        let mut url = Url::parse(&self.callback).expect("callback");
        url.query_pairs_mut()
            .append_pair("amount", &msat.to_string())
            .append_pair("nostr", &request.as_json())
            .append_pair("comment", text);
        let (status, answer) = get(url.as_str()).await;
        assert_eq!(status, 200, "{answer}");
        let bolt11 = answer["pr"].as_str().expect("an invoice").to_owned();
        let filter = Filter::new().kind(Kind::ZapReceipt).author(self.zapper);
        let found = std::cell::RefCell::new(None);
        wait_until(WAIT, "the receipt on the relay", || async {
            *found.borrow_mut() = fetch_all(&self.relay, filter.clone())
                .await
                .into_iter()
                .find(|r| values(r, "bolt11") == vec![vec![bolt11.clone()]]);
            found.borrow().is_some()
        })
        .await;
        let receipt = found.into_inner().expect("found");
        Sent {
            at: receipt.created_at.as_secs(),
            receipt,
            sender: sender.public_key(),
            msat,
            zapped,
            content: text.to_owned(),
        }
    }
}

/// A kind-1 note by `keys` with these tags, as another tool would publish it.
fn note(keys: &Keys, text: &str, tags: Vec<Tag>) -> Event {
    EventBuilder::text_note(text)
        .tags(tags)
        .sign_with_keys(keys)
        .expect("note")
}

fn tagging(proposal: EventId, hashtag: &str) -> Vec<Tag> {
    vec![Tag::event(proposal), Tag::hashtag(hashtag)]
}

async fn get(url: &str) -> (u16, Value) {
    let mut response = awc::Client::default()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let body = response.body().await.expect("a body");
    (
        response.status().as_u16(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

fn values(event: &Event, name: &str) -> Vec<Vec<String>> {
    event
        .tags
        .iter()
        .map(|t| t.as_slice().to_vec())
        .filter(|t| t.first().map(String::as_str) == Some(name))
        .map(|t| t[1..].to_vec())
        .collect()
}

// --- the naive recompute: DESIGN.md "Votes", sentence by sentence ----------------------------

/// The tally at `t` of the zaps `sent`, where a zap names the proposal when its `e` is one of
/// `targets` (no zap here has an `a` or a `poll_option`).
fn naive(sent: &[Sent], targets: &BTreeSet<EventId>, p: &Published, t: u64) -> Naive {
    let zaps: Vec<NaiveZap> = sent
        .iter()
        .map(|s| NaiveZap {
            receipt: s.receipt.id,
            sender: s.sender,
            msat: s.msat,
            at: s.at,
            names_proposal: targets.contains(&s.zapped),
            poll_type: None,
            content: s.content.clone(),
            private: false,
            sealed_as: None,
        })
        .collect();
    naive::naive(&zaps, &p.rules, p.window.0, p.window.1, t)
}

/// The first difference between a tally and the naive recompute with these targets, if any.
fn differs(
    content: &TallyContent,
    sent: &[Sent],
    targets: &BTreeSet<EventId>,
    p: &Published,
) -> Option<String> {
    if let Some(newest) = sent.iter().map(|s| s.at).max() {
        if content.as_of < newest {
            return Some(format!("as_of {} is before the newest zap", content.as_of));
        }
    }
    let mut listed: Vec<String> = targets
        .iter()
        .filter(|id| **id != p.proposal)
        .map(EventId::to_hex)
        .collect();
    listed.sort();
    listed.insert(0, p.proposal.to_hex());
    if content.targets != listed {
        return Some(format!("targets: {:?} vs {listed:?}", content.targets));
    }
    naive::differs(content, &naive(sent, targets, p, content.as_of))
}

/// Waits until the service's tally (`GET /v1/proposals/{id}/tally`) and the newest tally event
/// on `relay` both equal the naive recompute; returns the event's content.
async fn tally_matching(
    api: &Api,
    relay: &RelayUrl,
    p: &Published,
    sent: &[Sent],
    targets: &BTreeSet<EventId>,
) -> TallyContent {
    let filter = Filter::new()
        .kind(Kind::ApplicationSpecificData)
        .author(p.gov)
        .identifier(format!("tally:{}", p.proposal.to_hex()));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let answer = api
            .get(&format!("/v1/proposals/{}/tally", p.proposal.to_hex()))
            .await;
        let from_api = match serde_json::from_value::<TallyContent>(answer.json.clone()) {
            Ok(content) => differs(&content, sent, targets, p).map(|d| format!("API: {d}")),
            Err(e) => Some(format!("API: {e}: {:?}", answer.json)),
        };
        let newest = fetch_all(relay, filter.clone())
            .await
            .into_iter()
            .max_by_key(|e| e.created_at);
        let (content, from_relay) = match newest {
            None => (None, Some("no tally on the relay yet".to_owned())),
            Some(event) => {
                let content: TallyContent =
                    serde_json::from_str(&event.content).expect("tally content");
                let difference = differs(&content, sent, targets, p);
                (Some(content), difference.map(|d| format!("relay: {d}")))
            }
        };
        let difference = from_api.or(from_relay);
        match (difference, content) {
            (None, Some(content)) => return content,
            (difference, _) => assert!(
                tokio::time::Instant::now() < deadline,
                "the tally does not equal the naive recompute: {difference:?}"
            ),
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The targets `GET /v1/proposals` lists for the proposal, besides itself.
async fn listed_targets(api: &Api) -> BTreeSet<EventId> {
    let listed = api.get("/v1/proposals").await;
    listed.json["proposals"][0]["targets"]
        .as_array()
        .map(|targets| {
            targets
                .iter()
                .filter_map(|t| EventId::from_hex(t["event_id"].as_str()?).ok())
                .collect()
        })
        .unwrap_or_default()
}

async fn target_rows(db: &sea_orm::DatabaseConnection, target: &EventId) -> u64 {
    proposal_target::Entity::find()
        .filter(proposal_target::Column::TargetEventId.eq(target.to_hex()))
        .count(db)
        .await
        .expect("count")
}

async fn publish_review_period(api: &Api, relay: &RelayUrl, gov: PublicKey) -> Published {
    let answer = api
        .post(
            "/v1/actions",
            Auth::Admin,
            &json!({"action": "review-period", "repository": "btc-commons/governance",
                    "pr": 23, "tier": 1, "title": "Learn targets", "voting_window_days": 1}),
        )
        .await;
    assert_eq!(answer.status.as_u16(), 201, "{:?}", answer.json);
    let proposal = EventId::from_hex(answer.text("event_id")).expect("event_id");
    wait_until(WAIT, "the proposal on the relay", || async {
        !fetch_all(relay, Filter::new().id(proposal))
            .await
            .is_empty()
    })
    .await;
    let event = fetch_all(relay, Filter::new().id(proposal)).await.remove(0);
    let content: Value = serde_json::from_str(&event.content).expect("content");
    Published {
        gov,
        proposal,
        announcement: EventId::from_hex(answer.text("announcement_id")).expect("announcement"),
        poll: EventId::from_hex(answer.text("poll_id")).expect("poll"),
        rules: content["rules"].clone(),
        window: (
            content["voting_window"]["start"].as_u64().expect("start"),
            content["voting_window"]["end"].as_u64().expect("end"),
        ),
    }
}

#[actix_rt::test]
async fn gov_notes_published_elsewhere_are_learned_and_their_zaps_count() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let relays = [TestRelay::start().await, TestRelay::start().await];
        let urls: Vec<RelayUrl> = relays.iter().map(TestRelay::url).collect();
        let cfg = TestConfig::new(&test_db.url, urls.clone())
            .with_dev_provider()
            .with("COMMONS__NOSTR__BACKFILL_MARGIN_SECS", "60")
            .with("COMMONS__GOVERNANCE__TALLY_DEBOUNCE_SECS", "1");
        let gov_keys = cfg.bot_keys["gov"].clone();
        let gov = gov_keys.public_key();
        let app = cfg.start().await;
        let api = Api::new(app.http_addr(), &cfg.admin_token);
        let db = commons_nostr::store::db::connect(&test_db.url)
            .await
            .expect("db");
        let p = publish_review_period(&api, &urls[0], gov).await;
        let wallet = Wallet::of(&app, &cfg, &urls[0]).await;
        let mut targets = BTreeSet::from([p.proposal, p.announcement, p.poll]);
        let mut sent = Vec::new();

        // A look-alike signed by another key, and a gov note without the `t`: no targets.
        let stranger = Keys::generate();
        let look_alike = note(
            &stranger,
            "Vote here (not really)",
            tagging(p.proposal, "governance-proposal"),
        );
        let untagged = note(
            &gov_keys,
            "About the proposal",
            tagging(p.proposal, "governance"),
        );
        publish(&urls, &[look_alike.clone(), untagged.clone()]).await;
        sent.push(wallet.zap(look_alike.id, "veto", 3_000_000).await);
        sent.push(wallet.zap(untagged.id, "veto", 4_000_000).await);

        // A note the gov key signed elsewhere, published straight to the relays: learned.
        let elsewhere = note(
            &gov_keys,
            "Reposted by the old server: zap to vote",
            tagging(p.proposal, "governance-proposal"),
        );
        publish(&urls, std::slice::from_ref(&elsewhere)).await;
        wait_until(WAIT, "the note learned as a vote target", || async {
            listed_targets(&api).await.contains(&elsewhere.id)
        })
        .await;
        targets.insert(elsewhere.id);
        sent.push(wallet.zap(elsewhere.id, "I veto this", 2_000_000).await);
        sent.push(wallet.zap(p.announcement, "support", 1_000_000).await);
        let content = tally_matching(&api, &urls[1], &p, &sent, &targets).await;
        assert_eq!(content.voters, 2, "{backend}");
        assert!(content.result.veto_votes > 0.0, "{backend}");
        assert!(content.targets.contains(&elsewhere.id.to_hex()));
        assert_eq!(
            target_rows(&db, &elsewhere.id).await,
            1,
            "one row, two relays"
        );

        // A zap to a note before the note reaches the relays: a contribution, not a vote yet.
        let late_note = note(
            &gov_keys,
            "Zap this one too",
            tagging(p.proposal, "governance-proposal"),
        );
        let early = wallet.zap(late_note.id, "abstain", 5_000_000).await;
        wait_until(WAIT, "the early zap recorded", || async {
            is_recorded(&db, &early.receipt.id).await
        })
        .await;
        sent.push(early.clone());
        let now = api
            .get(&format!("/v1/proposals/{}/tally", p.proposal.to_hex()))
            .await;
        let now: TallyContent = serde_json::from_value(now.json).expect("a tally");
        assert_eq!(now.voters, 2, "{backend}");
        assert!(!now.targets.contains(&late_note.id.to_hex()));
        // Once the note arrives, the zap already recorded counts.
        publish(&urls, std::slice::from_ref(&late_note)).await;
        targets.insert(late_note.id);
        let content = tally_matching(&api, &urls[0], &p, &sent, &targets).await;
        assert_eq!(content.voters, 3, "{backend}");
        assert!(content.result.abstain_votes > 0.0, "{backend}");
        for not_a_vote in &sent[..2] {
            assert!(!content
                .receipts
                .iter()
                .flatten()
                .any(|id| *id == not_a_vote.receipt.id.to_hex()));
        }
        let listed = listed_targets(&api).await;
        assert!(!listed.contains(&look_alike.id) && !listed.contains(&untagged.id));
        assert_eq!(target_rows(&db, &look_alike.id).await, 0);
        assert_eq!(target_rows(&db, &untagged.id).await, 0);

        // `verify` finds the same targets on the relays and agrees with every number.
        server_events_on(&urls[0], cfg.server_keys.public_key()).await;
        app.stop().await;
        let (code, out) = verify(&cfg, &urls).await;
        assert_eq!(code, 0, "{backend}: {out}");
    }
}
