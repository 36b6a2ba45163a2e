//! GitHub's webhook (`POST /webhooks/github`), black-box: the whole service in-process against
//! a real relay and a test database (SQLite, and PostgreSQL when `TEST_DATABASE_URL` is set),
//! taking deliveries in the shape GitHub documents ("Webhook events and payloads": `ping`,
//! `pull_request`, `pull_request_review`), with GitHub's headers, signed as GitHub signs them
//! (HMAC-SHA256 of the raw body, computed here independently of the service's code).
//!
//! What must hold (DESIGN.md "Governance actions from GitHub"): each outcome (published on the
//! relay with the right tags, tier and window; ignored: nothing on the relay), a redelivery
//! publishes nothing again and answers what the first did, two servers on one database taking
//! the same delivery at once publish it once, refused deliveries (bad, missing or misplaced
//! signature, too large a body, not GitHub's JSON) store nothing, and with no secret the route
//! is a 404. `verify` passes over the relay afterwards and the page lists the proposals.

mod common;

use std::time::Duration;

use awc::http::StatusCode;
use common::app::{TestConfig, BOTS};
use common::http::{metric, written, Api, Written};
use common::relays::{fetch_all, wait_for_ids, TestRelay};
use common::test_db::TestDb;
use common::verifier;
use common::zaps::wait_until;
use commons_nostr::startup::Application;
use commons_nostr::store::entities::github_delivery;
use hmac::{Hmac, KeyInit, Mac};
use nostr_sdk::prelude::*;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use sha2::Sha256;

const SECRET: &str = "It's a Secret to Everybody, 2026";
/// As GitHub spells it in payloads; the settings name it in lower case.
const REPOSITORY: &str = "BTC-Commons/Governance";
const KEYHOLDER: &str = "Alice-Keys";
const ARRIVAL: Duration = Duration::from_secs(30);
const DAY: u64 = 86_400;

// --- GitHub's side --------------------------------------------------------------------------

/// `sha256=` + hex HMAC-SHA256 of `body` with `secret`: GitHub's `X-Hub-Signature-256`.
fn github_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A new `X-GitHub-Delivery` GUID.
fn delivery_id() -> String {
    let b: [u8; 16] = rand::random();
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn user(login: &str, id: u64) -> Value {
    json!({
        "login": login, "id": id, "node_id": "MDQ6VXNlcjE=", "type": "User", "site_admin": false,
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
        "html_url": format!("https://github.com/{login}"),
        "url": format!("https://api.github.com/users/{login}")
    })
}

fn repository(full_name: &str) -> Value {
    let (owner, name) = full_name.split_once('/').expect("owner/name");
    json!({
        "id": 615_243_001, "node_id": "R_kgDOJKwz-Q", "name": name, "full_name": full_name,
        "private": false, "owner": user(owner, 128_000_001),
        "html_url": format!("https://github.com/{full_name}"),
        "description": "Bitcoin Commons governance", "fork": false,
        "url": format!("https://api.github.com/repos/{full_name}"),
        "default_branch": "main", "visibility": "public"
    })
}

/// A pull request object as GitHub sends it (the fields a client reads, and a few more).
struct Pr {
    number: u64,
    title: &'static str,
    labels: Vec<&'static str>,
    draft: bool,
    state: &'static str,
    merged: bool,
    merge_commit_sha: Option<String>,
    repository: &'static str,
}

impl Pr {
    fn open(number: u64, title: &'static str) -> Pr {
        Pr {
            number,
            title,
            labels: Vec::new(),
            draft: false,
            state: "open",
            merged: false,
            merge_commit_sha: None,
            repository: REPOSITORY,
        }
    }

    fn url(&self) -> String {
        format!(
            "https://github.com/{}/pull/{}",
            self.repository, self.number
        )
    }

    fn json(&self) -> Value {
        let labels: Vec<Value> = self
            .labels
            .iter()
            .enumerate()
            .map(|(i, name)| {
                json!({"id": 5_000_000 + i, "node_id": "LA_kwDOJ", "name": name,
                       "color": "d73a4a", "default": false, "description": null})
            })
            .collect();
        json!({
            "url": format!("https://api.github.com/repos/{}/pulls/{}", self.repository, self.number),
            "id": 1_800_000_000 + self.number, "node_id": "PR_kwDOJKwz-c5q",
            "html_url": self.url(),
            "diff_url": format!("{}.diff", self.url()),
            "number": self.number, "state": self.state, "locked": false,
            "title": self.title, "user": user("carol", 3),
            "body": "Why: see the linked issue.\n\nWhat: the change.",
            "labels": labels, "draft": self.draft,
            "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-07T10:00:00Z",
            "closed_at": if self.state == "closed" { json!("2026-12-07T10:00:00Z") } else { Value::Null },
            "merged_at": if self.merged { json!("2026-12-07T10:00:00Z") } else { Value::Null },
            "merge_commit_sha": self.merge_commit_sha,
            "head": {"label": "carol:feature", "ref": "feature", "sha": "1f2e3d4c5b6a79880f1e2d3c4b5a69788f9e0d1c"},
            "base": {"label": "btc-commons:main", "ref": "main", "sha": "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567"},
            "merged": self.merged, "mergeable": null, "comments": 0, "commits": 2,
            "additions": 10, "deletions": 2, "changed_files": 1
        })
    }

    fn event(&self, action: &str) -> Value {
        json!({
            "action": action, "number": self.number, "pull_request": self.json(),
            "repository": repository(self.repository), "sender": user("carol", 3)
        })
    }

    fn labeled(&self, label: &str) -> Value {
        let mut event = self.event("labeled");
        event["label"] = json!({"id": 5_100_000, "name": label, "color": "ededed"});
        event
    }

    fn review(&self, reviewer: &str, state: &str, commit: &str) -> Value {
        json!({
            "action": "submitted",
            "review": {
                "id": 2_100_000_001u64, "node_id": "PRR_kwDOJ", "user": user(reviewer, 9),
                "body": "Looks right to me.", "commit_id": commit, "state": state,
                "submitted_at": "2026-12-07T11:00:00Z",
                "html_url": format!("{}#pullrequestreview-2100000001", self.url()),
                "author_association": "MEMBER"
            },
            "pull_request": self.json(), "repository": repository(self.repository),
            "sender": user(reviewer, 9)
        })
    }
}

fn ping() -> Value {
    json!({
        "zen": "Keep it logically awesome.", "hook_id": 480_000_001,
        "hook": {"type": "Repository", "id": 480_000_001, "name": "web", "active": true,
                 "events": ["pull_request", "pull_request_review"],
                 "config": {"content_type": "json", "insecure_ssl": "0",
                            "url": "https://vote.example.org/webhooks/github"}},
        "repository": repository(REPOSITORY), "sender": user("carol", 3)
    })
}

/// An answer of the webhook route.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    json: Value,
}

impl Answer {
    /// Fails the test, naming `context` (the database) and the answer's body, unless the status
    /// is `expected`.
    fn assert_status(&self, expected: StatusCode, context: &str) {
        assert_eq!(self.status, expected, "{context}: {:?}", self.json);
    }

    fn outcome(&self) -> &str {
        self.json["outcome"].as_str().unwrap_or_default()
    }

    fn event_id(&self) -> EventId {
        EventId::from_hex(self.json["event_id"].as_str().expect("an event_id"))
            .expect("a hex event id")
    }
}

/// How a test signs (or does not sign) a delivery.
enum Signed<'a> {
    /// As GitHub signs it, with the service's secret.
    Properly,
    /// No `X-Hub-Signature-256`.
    Not,
    /// This header value.
    As(&'a str),
}

/// GitHub's side of one service: posts deliveries with GitHub's headers.
struct GitHub {
    url: String,
    client: awc::Client,
}

impl GitHub {
    fn new(app: &Application) -> GitHub {
        GitHub {
            url: format!("http://{}/webhooks/github", app.http_addr()),
            client: awc::Client::builder()
                .timeout(Duration::from_secs(60))
                .finish(),
        }
    }

    async fn send(
        &self,
        event: &str,
        delivery: Option<&str>,
        body: Vec<u8>,
        signed: Signed<'_>,
    ) -> Answer {
        let mut request = self
            .client
            .post(&self.url)
            .insert_header(("Content-Type", "application/json"))
            .insert_header(("User-Agent", "GitHub-Hookshot/8e03811"))
            .insert_header(("X-GitHub-Event", event))
            .insert_header(("X-GitHub-Hook-ID", "480000001"));
        if let Some(delivery) = delivery {
            request = request.insert_header(("X-GitHub-Delivery", delivery));
        }
        match signed {
            Signed::Properly => {
                request =
                    request.insert_header(("X-Hub-Signature-256", github_signature(SECRET, &body)))
            }
            Signed::Not => {}
            Signed::As(value) => request = request.insert_header(("X-Hub-Signature-256", value)),
        }
        let mut response = request.send_body(body).await.expect("the service answers");
        let bytes = response.body().await.expect("a body");
        Answer {
            status: response.status(),
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// A delivery as GitHub makes it: a new delivery id, signed.
    async fn deliver(&self, event: &str, payload: &Value) -> (String, Answer) {
        let id = delivery_id();
        let answer = self.redeliver(event, &id, payload).await;
        (id, answer)
    }

    /// The same delivery again (GitHub's "Redeliver" button).
    async fn redeliver(&self, event: &str, id: &str, payload: &Value) -> Answer {
        let body = serde_json::to_vec(payload).expect("json");
        self.send(event, Some(id), body, Signed::Properly).await
    }
}

// --- the service ----------------------------------------------------------------------------

fn webhook_config(db_url: &str, relays: Vec<RelayUrl>) -> TestConfig {
    TestConfig::new(db_url, relays)
        .with(
            "COMMONS__GITHUB__WEBHOOK_SECRET",
            "env:T_GITHUB_WEBHOOK_SECRET",
        )
        .with("T_GITHUB_WEBHOOK_SECRET", SECRET)
        .with("COMMONS__GITHUB__REPOSITORIES", "btc-commons/governance")
        .with("COMMONS__GITHUB__KEYHOLDERS", "alice-keys,bob")
}

fn bots(cfg: &TestConfig) -> Vec<PublicKey> {
    BOTS.iter().map(|b| cfg.bot(b)).collect()
}

async fn deliveries(db: &DatabaseConnection) -> u64 {
    github_delivery::Entity::find()
        .count(db)
        .await
        .expect("count deliveries")
}

/// Every governance action event by `gov` on `relay`.
async fn actions_on(relay: &RelayUrl, gov: PublicKey) -> Vec<Event> {
    fetch_all(
        relay,
        Filter::new()
            .kind(Kind::ApplicationSpecificData)
            .author(gov)
            .hashtag("governance-action"),
    )
    .await
}

fn tag_value<'a>(event: &'a Event, name: &str) -> Option<&'a str> {
    event.tags.iter().find_map(|t| match t.as_slice() {
        [first, value, ..] if first == name => Some(value.as_str()),
        _ => None,
    })
}

fn voting_window(event: &Event) -> (u64, u64) {
    let values = event
        .tags
        .iter()
        .find_map(|t| match t.as_slice() {
            [first, start, end, ..] if first == "voting_window" => {
                Some((start.clone(), end.clone()))
            }
            _ => None,
        })
        .expect("a voting_window tag");
    (
        values.0.parse().expect("start"),
        values.1.parse().expect("end"),
    )
}

async fn arrived(relay: &RelayUrl, ids: &[EventId]) -> Vec<Event> {
    wait_for_ids(relay, Filter::new().ids(ids.iter().copied()), ids, ARRIVAL).await
}

// --- the tests ------------------------------------------------------------------------------

#[actix_rt::test]
async fn pull_requests_become_governance_actions_once() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let relay = TestRelay::start().await;
        let cfg = webhook_config(&test_db.url, vec![relay.url()]);
        let app = cfg.start().await;
        let github = GitHub::new(&app);
        let api = Api::new(app.http_addr(), &cfg.admin_token);
        let db = commons_nostr::store::db::connect(&test_db.url)
            .await
            .expect("db");
        let gov = cfg.bot("gov");
        let sha = |c: char| c.to_string().repeat(40);

        // ping
        let (_, pong) = github.deliver("ping", &ping()).await;
        pong.assert_status(StatusCode::OK, backend);

        // opened: a review period of tier 1 (no label, no marker), 7 days.
        let first = Pr::open(101, "Raise the weight cap to 6%");
        let opened_payload = first.event("opened");
        let (opened_id, opened) = github.deliver("pull_request", &opened_payload).await;
        opened.assert_status(StatusCode::CREATED, backend);
        assert_eq!(opened.outcome(), "published");
        assert_eq!(opened.json["action"], "review-period");
        let proposal = opened.event_id();

        // A draft opens nothing; labeled tier-3 once ready, it opens a tier-3 review period.
        let mut second = Pr::open(102, "Rework the cooling-off rule");
        second.draft = true;
        let before = written(&db, &bots(&cfg)).await;
        let (_, draft) = github
            .deliver("pull_request", &second.event("opened"))
            .await;
        draft.assert_status(StatusCode::ACCEPTED, backend);
        assert_eq!(draft.outcome(), "ignored");
        assert!(draft.json["reason"].as_str().unwrap().contains("draft"));
        second.draft = false;
        second.labels = vec!["consensus", "tier-3"];
        let (_, labeled) = github
            .deliver("pull_request", &second.labeled("tier-3"))
            .await;
        labeled.assert_status(StatusCode::CREATED, backend);
        let tier3 = labeled.event_id();

        // Labeled again: the pull request has its review period already.
        let mut again = Pr::open(101, "Raise the weight cap to 6%");
        again.labels = vec!["tier-2"];
        let (_, duplicate) = github
            .deliver("pull_request", &again.labeled("tier-2"))
            .await;
        duplicate.assert_status(StatusCode::OK, backend);
        assert_eq!(duplicate.outcome(), "duplicate");
        assert!(duplicate.json["reason"]
            .as_str()
            .unwrap()
            .contains("already open"));

        // Tier 4 ([emergency]) has 0 review days by default: none opened.
        let (_, emergency) = github
            .deliver(
                "pull_request",
                &Pr::open(103, "[emergency] Patch the relay list").event("opened"),
            )
            .await;
        emergency.assert_status(StatusCode::ACCEPTED, backend);
        assert!(emergency.json["reason"]
            .as_str()
            .unwrap()
            .contains("tier 4"));

        // closed merged: a merge with its merge commit; closed unmerged: nothing.
        let mut merged = Pr::open(104, "[consensus-adjacent] Tighten the peer rules");
        merged.state = "closed";
        merged.merged = true;
        merged.merge_commit_sha = Some(sha('c'));
        let (_, merge) = github
            .deliver("pull_request", &merged.event("closed"))
            .await;
        merge.assert_status(StatusCode::CREATED, backend);
        assert_eq!(merge.json["action"], "merge");
        let merge_id = merge.event_id();
        let mut unmerged = Pr::open(105, "Abandoned idea");
        unmerged.state = "closed";
        let (_, closed) = github
            .deliver("pull_request", &unmerged.event("closed"))
            .await;
        closed.assert_status(StatusCode::ACCEPTED, backend);

        // Reviews: approved by a keyholder (any case) is a keyholder action; by anyone else,
        // or not an approval, nothing.
        let (_, approval) = github
            .deliver(
                "pull_request_review",
                &second.review(KEYHOLDER, "approved", &sha('d')),
            )
            .await;
        approval.assert_status(StatusCode::CREATED, backend);
        assert_eq!(approval.json["action"], "keyholder");
        let approval_id = approval.event_id();
        let (_, stranger) = github
            .deliver(
                "pull_request_review",
                &second.review("mallory", "approved", &sha('d')),
            )
            .await;
        stranger.assert_status(StatusCode::ACCEPTED, backend);
        let (_, comment) = github
            .deliver(
                "pull_request_review",
                &second.review(KEYHOLDER, "commented", &sha('d')),
            )
            .await;
        comment.assert_status(StatusCode::ACCEPTED, backend);

        // Another repository, and an event the webhook does not read.
        let mut elsewhere = Pr::open(106, "Not ours");
        elsewhere.repository = "someone/else";
        let (_, other_repo) = github
            .deliver("pull_request", &elsewhere.event("opened"))
            .await;
        other_repo.assert_status(StatusCode::ACCEPTED, backend);
        let (_, push) = github
            .deliver("push", &json!({"ref": "refs/heads/main"}))
            .await;
        push.assert_status(StatusCode::ACCEPTED, backend);

        // Nothing the ignored deliveries did reached the outbox: only the four actions did.
        let after = written(&db, &bots(&cfg)).await;
        assert_eq!(after.proposals, before.proposals + 1, "{backend}");
        assert_eq!(
            after.action_audit_entries,
            before.action_audit_entries + 3,
            "{backend}"
        );

        // Redelivered: the same answer, nothing new anywhere.
        let before_redelivery = written(&db, &bots(&cfg)).await;
        let redelivered = github
            .redeliver("pull_request", &opened_id, &opened_payload)
            .await;
        redelivered.assert_status(StatusCode::OK, backend);
        assert_eq!(redelivered.json["redelivery"], true);
        assert_eq!(redelivered.outcome(), "published");
        assert_eq!(redelivered.event_id(), proposal);
        assert_eq!(redelivered.json["address"], opened.json["address"]);
        assert_eq!(
            written(&db, &bots(&cfg)).await,
            before_redelivery,
            "{backend}: a redelivery wrote nothing"
        );

        // On the relay: exactly the four actions, with the right tags, tiers and windows.
        let events = arrived(&relay.url(), &[proposal, tier3, merge_id, approval_id]).await;
        let by_id = |id: EventId| events.iter().find(|e| e.id == id).expect("arrived");
        let review = by_id(proposal);
        review.verify().expect("signed");
        assert_eq!(tag_value(review, "action"), Some("review-period"));
        assert_eq!(tag_value(review, "repository"), Some(REPOSITORY));
        assert_eq!(tag_value(review, "pr"), Some("101"));
        assert_eq!(tag_value(review, "tier"), Some("1"));
        let (start, end) = voting_window(review);
        assert_eq!(end - start, 7 * DAY, "{backend}");
        let content: Value = serde_json::from_str(&review.content).expect("json");
        assert_eq!(content["title"], "Raise the weight cap to 6%");
        assert!(content["description"]
            .as_str()
            .unwrap()
            .contains(&first.url()));
        let review3 = by_id(tier3);
        assert_eq!(tag_value(review3, "tier"), Some("3"));
        assert_eq!(tag_value(review3, "pr"), Some("102"));
        let (start, end) = voting_window(review3);
        assert_eq!(end - start, 90 * DAY, "{backend}");
        let merge_event = by_id(merge_id);
        assert_eq!(tag_value(merge_event, "action"), Some("merge"));
        assert_eq!(tag_value(merge_event, "tier"), Some("3"));
        let content: Value = serde_json::from_str(&merge_event.content).expect("json");
        assert_eq!(content["commit"], sha('c'));
        let approval_event = by_id(approval_id);
        assert_eq!(tag_value(approval_event, "action"), Some("keyholder"));
        assert_eq!(tag_value(approval_event, "pr"), Some("102"));
        assert_eq!(
            tag_value(approval_event, "d"),
            Some("action:BTC-Commons/Governance:102:keyholder:alice-keys")
        );
        let content: Value = serde_json::from_str(&approval_event.content).expect("json");
        assert_eq!(
            content["approval"],
            json!({"login": "alice-keys", "commit": sha('d')})
        );
        let mut on_relay: Vec<EventId> = actions_on(&relay.url(), gov)
            .await
            .iter()
            .map(|e| e.id)
            .collect();
        on_relay.sort();
        let mut expected = vec![proposal, tier3, merge_id, approval_id];
        expected.sort();
        assert_eq!(
            on_relay, expected,
            "{backend}: only the four actions are on the relay"
        );

        // Each delivery recorded once: ping, 4 published, 1 duplicate, 7 ignored.
        assert_eq!(deliveries(&db).await, 13, "{backend}");
        let text = api.metrics().await;
        let count = |event: &str, outcome: &str| {
            metric(
                &text,
                &format!(
                    "commons_github_deliveries_total{{event=\"{event}\",outcome=\"{outcome}\"}}"
                ),
            )
        };
        assert_eq!(count("pull_request", "published"), 3.0, "{backend}\n{text}");
        assert_eq!(count("pull_request_review", "published"), 1.0, "{backend}");
        assert_eq!(count("pull_request", "duplicate"), 2.0, "{backend}");
        assert_eq!(count("pull_request", "ignored"), 4.0, "{backend}");
        assert_eq!(count("pull_request_review", "ignored"), 2.0, "{backend}");
        assert_eq!(count("ping", "ignored"), 1.0, "{backend}");
        assert_eq!(count("other", "ignored"), 1.0, "{backend}");

        // The page lists the webhook's proposals.
        wait_until(
            ARRIVAL,
            "the page to list the webhook's proposals",
            || async {
                let html = page(&app).await;
                html.contains("Raise the weight cap to 6%")
                    && html.contains("Rework the cooling-off rule")
                    && html.contains(REPOSITORY)
            },
        )
        .await;

        // And a voter's verify checks it all.
        verifier::server_events_on(&relay.url(), cfg.server_keys.public_key()).await;
        let (code, out) = verifier::verify(&cfg, &[relay.url()]).await;
        assert_eq!(code, 0, "{backend}: verify failed:\n{out}");

        app.stop().await;
    }
}

async fn page(app: &Application) -> String {
    let mut response = awc::Client::default()
        .get(format!("http://{}/", app.http_addr()))
        .send()
        .await
        .expect("the page answers");
    let body = response.body().limit(16 << 20).await.expect("body");
    String::from_utf8_lossy(&body).into_owned()
}

#[actix_rt::test]
async fn a_redelivery_answers_200_with_what_the_first_delivery_did() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let relay = TestRelay::start().await;
        let cfg = webhook_config(&test_db.url, vec![relay.url()]);
        let app = cfg.start().await;
        let github = GitHub::new(&app);
        let db = commons_nostr::store::db::connect(&test_db.url)
            .await
            .expect("db");

        // Deliveries answered 202 the first time: another repository's pull request, a draft,
        // and an event the webhook does not read.
        let mut elsewhere = Pr::open(501, "Not ours");
        elsewhere.repository = "someone/else";
        let mut draft = Pr::open(502, "Not ready");
        draft.draft = true;
        for (event, payload) in [
            ("pull_request", elsewhere.event("opened")),
            ("pull_request", draft.event("opened")),
            ("push", json!({"ref": "refs/heads/main"})),
        ] {
            let (id, first) = github.deliver(event, &payload).await;
            first.assert_status(StatusCode::ACCEPTED, backend);
            assert_eq!(first.outcome(), "ignored", "{backend}");
            let before = (written(&db, &bots(&cfg)).await, deliveries(&db).await);

            let again = github.redeliver(event, &id, &payload).await;
            again.assert_status(StatusCode::OK, backend);
            assert_eq!(again.json["redelivery"], true, "{backend}");
            assert_eq!(again.outcome(), "ignored", "{backend}");
            assert_eq!(again.json["reason"], first.json["reason"], "{backend}");
            assert_eq!(
                (written(&db, &bots(&cfg)).await, deliveries(&db).await),
                before,
                "{backend}: a redelivery stores and publishes nothing"
            );
        }
        app.stop().await;
    }
}

#[actix_rt::test]
async fn refused_deliveries_store_and_publish_nothing() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let relay = TestRelay::start().await;
        let cfg = webhook_config(&test_db.url, vec![relay.url()]);
        let app = cfg.start().await;
        let github = GitHub::new(&app);
        let api = Api::new(app.http_addr(), &cfg.admin_token);
        let db = commons_nostr::store::db::connect(&test_db.url)
            .await
            .expect("db");
        let stored = || async { (written(&db, &bots(&cfg)).await, deliveries(&db).await) };
        let nothing: (Written, u64) = stored().await;
        assert_eq!(nothing.1, 0);

        let payload = serde_json::to_vec(&Pr::open(201, "Refuse me").event("opened")).unwrap();
        let other_body =
            serde_json::to_vec(&Pr::open(202, "Another body").event("opened")).unwrap();
        let cases: Vec<(&str, Vec<u8>, Signed, StatusCode, &str)> = vec![
            (
                "missing signature",
                payload.clone(),
                Signed::Not,
                StatusCode::UNAUTHORIZED,
                "X-Hub-Signature-256",
            ),
            (
                "wrong signature",
                payload.clone(),
                Signed::As(
                    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
                ),
                StatusCode::UNAUTHORIZED,
                "X-Hub-Signature-256",
            ),
            (
                "malformed signature",
                payload.clone(),
                Signed::As("sha1=abc"),
                StatusCode::UNAUTHORIZED,
                "X-Hub-Signature-256",
            ),
        ];
        for (what, body, signed, status, field) in cases {
            let answer = github
                .send("pull_request", Some(&delivery_id()), body, signed)
                .await;
            assert_eq!(
                answer.status, status,
                "{backend}: {what}: {:?}",
                answer.json
            );
            assert_eq!(answer.json["field"], field, "{backend}: {what}");
            assert_eq!(
                stored().await,
                nothing,
                "{backend}: {what} stored something"
            );
        }

        // A signature over a different body.
        let over_other = github_signature(SECRET, &other_body);
        let answer = github
            .send(
                "pull_request",
                Some(&delivery_id()),
                payload.clone(),
                Signed::As(&over_other),
            )
            .await;
        answer.assert_status(StatusCode::UNAUTHORIZED, backend);
        assert_eq!(stored().await, nothing, "{backend}: other body");

        // A signature made with another secret.
        let other_secret = github_signature("another secret entirely", &payload);
        let answer = github
            .send(
                "pull_request",
                Some(&delivery_id()),
                payload.clone(),
                Signed::As(&other_secret),
            )
            .await;
        answer.assert_status(StatusCode::UNAUTHORIZED, backend);

        // Too large a body, even properly signed: 413 before it is read.
        let mut large = br#"{"pad":""#.to_vec();
        large.extend(std::iter::repeat_n(
            b'x',
            commons_nostr::http::github::route::BODY_LIMIT,
        ));
        large.extend(br#""}"#);
        let answer = github
            .send(
                "pull_request",
                Some(&delivery_id()),
                large,
                Signed::Properly,
            )
            .await;
        answer.assert_status(StatusCode::PAYLOAD_TOO_LARGE, backend);
        assert_eq!(stored().await, nothing, "{backend}: large body");

        // Signed, but no delivery id, or not GitHub's JSON: 400 naming what is wrong.
        let answer = github
            .send("pull_request", None, payload.clone(), Signed::Properly)
            .await;
        answer.assert_status(StatusCode::BAD_REQUEST, backend);
        assert_eq!(answer.json["field"], "X-GitHub-Delivery");
        let answer = github
            .send(
                "pull_request",
                Some(&delivery_id()),
                b"payload=%7B%7D".to_vec(),
                Signed::Properly,
            )
            .await;
        answer.assert_status(StatusCode::BAD_REQUEST, backend);
        assert_eq!(answer.json["field"], "body");
        let mut no_number = Pr::open(203, "No number").event("opened");
        no_number["pull_request"]
            .as_object_mut()
            .unwrap()
            .remove("number");
        let (_, answer) = github.deliver("pull_request", &no_number).await;
        answer.assert_status(StatusCode::BAD_REQUEST, backend);
        assert_eq!(answer.json["field"], "pull_request.number");
        let mut no_state = second_review();
        no_state["review"].as_object_mut().unwrap().remove("state");
        let (_, answer) = github.deliver("pull_request_review", &no_state).await;
        answer.assert_status(StatusCode::BAD_REQUEST, backend);
        assert_eq!(answer.json["field"], "review.state");
        assert_eq!(stored().await, nothing, "{backend}: bad bodies");

        let text = api.metrics().await;
        let refused = metric(
            &text,
            "commons_github_deliveries_total{event=\"pull_request\",outcome=\"refused\"}",
        );
        assert_eq!(refused, 9.0, "{backend}\n{text}");
        assert!(actions_on(&relay.url(), cfg.bot("gov")).await.is_empty());
        app.stop().await;
    }
}

fn second_review() -> Value {
    Pr::open(204, "Reviewed").review(KEYHOLDER, "approved", &"e".repeat(40))
}

#[actix_rt::test]
async fn without_a_secret_the_route_is_not_there() {
    let test_db = TestDb::sqlite().await;
    let relay = TestRelay::start().await;
    let cfg = TestConfig::new(&test_db.url, vec![relay.url()]);
    let app = cfg.start().await;
    let github = GitHub::new(&app);
    let body = serde_json::to_vec(&ping()).unwrap();
    let answer = github
        .send("ping", Some(&delivery_id()), body, Signed::Properly)
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{:?}", answer.json);
    let db = commons_nostr::store::db::connect(&test_db.url)
        .await
        .expect("db");
    assert_eq!(deliveries(&db).await, 0);
    app.stop().await;
}

#[actix_rt::test]
async fn two_servers_publish_the_same_delivery_once() {
    let Some(test_db) = TestDb::postgres().await else {
        eprintln!("skipped: TEST_DATABASE_URL is not set (this test needs PostgreSQL)");
        return;
    };
    let relay = TestRelay::start().await;
    let cfg_a =
        webhook_config(&test_db.url, vec![relay.url()]).with("COMMONS__SERVER__ID", "commons-a");
    let mut cfg_b = cfg_a.clone().with("COMMONS__SERVER__ID", "commons-b");
    cfg_b.server_keys = Keys::generate();
    let a = cfg_a.start().await;
    let b = cfg_b.start().await;
    let (hook_a, hook_b) = (GitHub::new(&a), GitHub::new(&b));
    let db = commons_nostr::store::db::connect(&test_db.url)
        .await
        .expect("db");

    for (round, event, payload) in [
        (
            1,
            "pull_request",
            Pr::open(301, "Both servers hear of it").event("opened"),
        ),
        (2, "pull_request", {
            let mut merged = Pr::open(302, "Merged once");
            merged.state = "closed";
            merged.merged = true;
            merged.merge_commit_sha = Some("f".repeat(40));
            merged.event("closed")
        }),
    ] {
        let id = delivery_id();
        let before = written(&db, &bots(&cfg_a)).await;
        let (first, second) = futures::join!(
            hook_a.redeliver(event, &id, &payload),
            hook_b.redeliver(event, &id, &payload)
        );
        let mut statuses = [first.status.as_u16(), second.status.as_u16()];
        statuses.sort();
        assert_eq!(
            statuses,
            [200, 201],
            "round {round}: {:?} / {:?}",
            first.json,
            second.json
        );
        assert_eq!(
            first.event_id(),
            second.event_id(),
            "round {round}: both answer the one event"
        );
        let after = written(&db, &bots(&cfg_a)).await;
        assert_eq!(
            after.action_audit_entries,
            before.action_audit_entries + 1,
            "round {round}"
        );
        arrived(&relay.url(), &[first.event_id()]).await;
    }
    assert_eq!(actions_on(&relay.url(), cfg_a.bot("gov")).await.len(), 2);
    assert_eq!(deliveries(&db).await, 2);
    a.stop().await;
    b.stop().await;
}

/// A claim left `processing` by a server that died half-way, `age` seconds ago.
async fn abandoned_claim(db: &DatabaseConnection, delivery: &str, age: i64) {
    use sea_orm::{ActiveModelTrait, Set};
    let then = chrono::Utc::now().timestamp() - age;
    github_delivery::ActiveModel {
        delivery_id: Set(delivery.to_owned()),
        event: Set("pull_request".into()),
        outcome: Set("processing".into()),
        status: Set(0),
        answer: Set(String::new()),
        event_id: Set(None),
        handled_by: Set("a-dead-server".into()),
        received_at: Set(then),
        updated_at: Set(then),
        ..Default::default()
    }
    .insert(db)
    .await
    .expect("insert the abandoned claim");
}

#[actix_rt::test]
async fn a_delivery_whose_server_died_half_way_is_finished_not_published_twice() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let relay = TestRelay::start().await;
        let cfg = webhook_config(&test_db.url, vec![relay.url()]);
        let app = cfg.start().await;
        let github = GitHub::new(&app);
        let api = Api::new(app.http_addr(), &cfg.admin_token);
        let db = commons_nostr::store::db::connect(&test_db.url)
            .await
            .expect("db");
        let merged = |number: u64| {
            let mut pr = Pr::open(number, "Merged while the server died");
            pr.state = "closed";
            pr.merged = true;
            pr.merge_commit_sha = Some("9".repeat(40));
            pr.event("closed")
        };

        // The dead server claimed the delivery and committed the merge, but never recorded it.
        let interrupted = delivery_id();
        abandoned_claim(&db, &interrupted, 300).await;
        let committed = api
            .post(
                "/v1/actions",
                common::http::Auth::Admin,
                &json!({"action": "merge", "repository": REPOSITORY, "pr": 401, "tier": 1,
                        "title": "Merged while the server died"}),
            )
            .await;
        assert_eq!(committed.status, 201, "{backend}: {:?}", committed.json);
        let before = written(&db, &bots(&cfg)).await;
        let answer = github
            .redeliver("pull_request", &interrupted, &merged(401))
            .await;
        answer.assert_status(StatusCode::OK, backend);
        assert_eq!(answer.outcome(), "published");
        assert_eq!(
            answer.json["event_id"], committed.json["event_id"],
            "{backend}"
        );
        assert_eq!(
            written(&db, &bots(&cfg)).await,
            before,
            "{backend}: nothing published again"
        );
        let again = github
            .redeliver("pull_request", &interrupted, &merged(401))
            .await;
        assert_eq!(
            again.json["event_id"], committed.json["event_id"],
            "{backend}"
        );
        assert_eq!(again.json["redelivery"], true);

        // Claimed and abandoned before anything was committed: the redelivery publishes it.
        let lost = delivery_id();
        abandoned_claim(&db, &lost, 300).await;
        let answer = github.redeliver("pull_request", &lost, &merged(402)).await;
        answer.assert_status(StatusCode::CREATED, backend);
        arrived(&relay.url(), &[answer.event_id()]).await;
        app.stop().await;
    }
}
