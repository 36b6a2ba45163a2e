//! The HTTP API, black-box: the whole service in-process on random ports against real relays
//! and a test database; an operator's awc client on the API; a separate Nostr client reading
//! what reached the relay, checking every event's signature, kind, tags and content; and the
//! database read back to show what a request wrote, or that a refused one wrote nothing.

mod common;

use std::time::Duration;

use common::app::{TestConfig, BOTS};
use common::http::{metric, written, Answer, Api, Auth};
use common::relays::{wait_for_ids, SilentRelay, TestRelay};
use common::test_db::TestDb;
use commons_nostr::nostr::events;
use commons_nostr::startup::Application;
use commons_nostr::store::entities::{audit_log_entry, governance_proposal};
use nostr_sdk::prelude::*;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{json, Value};

const ARRIVAL: Duration = Duration::from_secs(30);
const GOVERNANCE_CONFIG: &str = "commons_api_test";
/// The gov bot's lightning address in the embedded default settings.
const GOV_LIGHTNING_ADDRESS: &str = "gov@commons.example";
const DAY: u64 = 86_400;

/// A running service and the operator's ways into it.
struct Service {
    cfg: TestConfig,
    app: Application,
    api: Api,
    db: DatabaseConnection,
    _test_db: TestDb,
}

impl Service {
    async fn start(test_db: TestDb, relays: Vec<RelayUrl>) -> Service {
        let cfg = TestConfig::new(&test_db.url, relays)
            .with("COMMONS__NOSTR__GOVERNANCE_CONFIG", GOVERNANCE_CONFIG);
        let app = cfg.start().await;
        let api = Api::new(app.http_addr(), &cfg.admin_token);
        let db = commons_nostr::store::db::connect(&test_db.url)
            .await
            .expect("test database");
        Service {
            cfg,
            app,
            api,
            db,
            _test_db: test_db,
        }
    }

    fn gov(&self) -> PublicKey {
        self.cfg.bot("gov")
    }

    fn bots(&self) -> Vec<PublicKey> {
        BOTS.iter().map(|b| self.cfg.bot(b)).collect()
    }

    async fn written(&self) -> common::http::Written {
        written(&self.db, &self.bots()).await
    }

    async fn stop(self) {
        self.app.stop().await;
    }
}

fn review_period() -> Value {
    json!({"action": "review-period", "repository": "btc-commons/governance", "pr": 42,
           "tier": 3, "title": "Raise the weight cap", "description": "From 5% to 6%.",
           "voting_window_days": 14})
}

fn without(mut body: Value, key: &str) -> Value {
    body.as_object_mut().expect("an object").remove(key);
    body
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

fn event_id(answer: &Answer, key: &str) -> EventId {
    EventId::from_hex(answer.text(key)).unwrap_or_else(|e| panic!("{key}: {e}"))
}

/// The values of the first tag called `name`.
fn tag<'a>(event: &'a Event, name: &str) -> Option<&'a [String]> {
    event.tags.iter().find_map(|t| match t.as_slice() {
        [first, rest @ ..] if first == name => Some(rest),
        _ => None,
    })
}

fn tag_value<'a>(event: &'a Event, name: &str) -> &'a str {
    tag(event, name)
        .and_then(|v| v.first())
        .unwrap_or_else(|| panic!("no {name} tag in {:?}", event.tags))
}

fn hashtags(event: &Event) -> Vec<&str> {
    event
        .tags
        .iter()
        .filter_map(|t| match t.as_slice() {
            [name, value, ..] if name == "t" => Some(value.as_str()),
            _ => None,
        })
        .collect()
}

/// Polls `/metrics` until `check` holds (metrics move when a relay answers, just after the
/// event arrives), for at most ten seconds; returns the last text.
async fn metrics_until(api: &Api, check: impl Fn(&str) -> bool) -> String {
    let mut text = api.metrics().await;
    for _ in 0..500 {
        if check(&text) {
            return text;
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
        text = api.metrics().await;
    }
    panic!("metrics never reached the expected state:\n{text}");
}

/// The announcement for `action` by `gov`: kind 1, verified, `e` and `a` to the action.
fn check_announcement(note: &Event, gov: PublicKey, action: EventId, address: &str) {
    note.verify().expect("the announcement verifies");
    assert_eq!(note.kind, Kind::TextNote);
    assert_eq!(note.pubkey, gov);
    assert_eq!(tag_value(note, "e"), action.to_hex());
    assert_eq!(tag_value(note, "a"), address);
    let parsed = events::parse_note(note).expect("an announcement note");
    assert_eq!(parsed.events, [action]);
    assert_eq!(parsed.addresses.len(), 1);
    assert!(hashtags(note).contains(&"governance"), "{:?}", note.tags);
}

#[actix_rt::test]
async fn a_review_period_is_published_recorded_audited_and_announced() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let relay = TestRelay::start().await;
        let service = Service::start(test_db, vec![relay.url()]).await;
        let gov = service.gov();
        let before = service.written().await;

        let answer = service
            .api
            .post("/v1/actions", Auth::Admin, &review_period())
            .await;
        assert_eq!(answer.status, 201, "{backend}: {answer:?}");
        let action_id = event_id(&answer, "event_id");
        let announcement_id = event_id(&answer, "announcement_id");
        let d = "action:btc-commons/governance:42:review-period";
        let address = format!("30078:{}:{d}", gov.to_hex());
        assert_eq!(answer.text("address"), address);

        let got = wait_for_ids(
            &relay.url(),
            Filter::new()
                .author(gov)
                .kinds([Kind::TextNote, Kind::ApplicationSpecificData]),
            &[action_id, announcement_id],
            ARRIVAL,
        )
        .await;
        let action = got.iter().find(|e| e.id == action_id).expect("the action");
        let note = got
            .iter()
            .find(|e| e.id == announcement_id)
            .expect("the note");

        // The action event: signed by the gov bot, every tag the contract names.
        action.verify().expect("the action verifies");
        assert_eq!(action.kind, Kind::Custom(30078));
        assert_eq!(action.pubkey, gov);
        assert_eq!(tag_value(action, "d"), d);
        assert_eq!(hashtags(action), ["governance-action"]);
        assert_eq!(tag_value(action, "action"), "review-period");
        assert_eq!(tag_value(action, "repository"), "btc-commons/governance");
        assert_eq!(tag_value(action, "pr"), "42");
        assert_eq!(tag_value(action, "tier"), "3");
        assert_eq!(tag_value(action, "governance_config"), GOVERNANCE_CONFIG);
        assert_eq!(tag_value(action, "zap"), GOV_LIGHTNING_ADDRESS);
        let window = tag(action, "voting_window").expect("a voting_window tag");
        let start: u64 = window[0].parse().unwrap();
        let end: u64 = window[1].parse().unwrap();
        assert_eq!(
            start,
            action.created_at.as_secs(),
            "the window opens at publication"
        );
        assert_eq!(end - start, 14 * DAY);
        assert!(start.abs_diff(Timestamp::now().as_secs()) < 120);

        let content: Value = serde_json::from_str(&action.content).expect("JSON content");
        // The vote rules are pinned: the default settings, tier 3's threshold, the bots, and
        // no provider key (none is configured and none can be looked up here), which the
        // answer warns about, naming the setting that fixes it.
        let mut bots: Vec<String> = service
            .cfg
            .bot_keys
            .values()
            .map(|k| k.public_key().to_hex())
            .collect();
        bots.sort();
        // With sealed ballots (the default), the gov bot's ballot key for this proposal: derived
        // from its key and the proposal's `d`, pinned in the rules and in a `ballot_key` tag.
        let gov_keys = &service.cfg.bot_keys["gov"];
        let ballot_key = commons_nostr::votes::BallotKey::from_secret(
            &commons_nostr::votes::derive_gov_ballot_secret(
                gov_keys.secret_key(),
                "action:btc-commons/governance:42:review-period",
            ),
        )
        .to_hex();
        let gov_hex = gov_keys.public_key().to_hex();
        assert_eq!(
            tag(action, "ballot_key"),
            Some(&[ballot_key.clone(), gov_hex.clone()][..])
        );
        assert_eq!(
            content,
            json!({"action": "review-period", "repository": "btc-commons/governance", "pr": 42,
                   "tier": 3, "title": "Raise the weight cap", "description": "From 5% to 6%.",
                   "voting_window": {"start": start, "end": end, "days": 14},
                   "rules": {"participation_window_days": 90, "cooling_off_threshold_btc": 0.1,
                             "cooling_off_days": 30, "participation_floor": 0.1,
                             "weight_cap": 0.05, "threshold": 1000.0, "veto_threshold": 0.4,
                             "zappers": [], "bots": bots,
                             "sealed": {"scheme": "hpke-x25519-sha256-aes128gcm",
                                        "holders": [{"holder": gov_hex, "key": ballot_key}]}}})
        );
        assert!(
            answer.json["warnings"][0]
                .as_str()
                .is_some_and(|w| w.contains("zapper_pubkey")),
            "{answer:?}"
        );
        let parsed = commons_nostr::nostr::governance_action::parse_governance_action(action)
            .expect("a governance action");
        assert_eq!(parsed.zap.as_deref(), Some(GOV_LIGHTNING_ADDRESS));

        // The announcement points at it.
        check_announcement(note, gov, action_id, &address);
        assert!(hashtags(note).contains(&"review-period"));
        assert!(note
            .content
            .starts_with("Review period open for btc-commons/governance#42 (tier 3)"));

        // The proposal row, for the zap tracker.
        let proposal = governance_proposal::Entity::find()
            .filter(governance_proposal::Column::EventId.eq(action_id.to_hex()))
            .one(&service.db)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{backend}: no proposal row"));
        assert_eq!(proposal.address, address);
        assert_eq!(proposal.repository, "btc-commons/governance");
        assert_eq!(proposal.pr, 42);
        assert_eq!(proposal.tier, 3);
        assert_eq!(proposal.title, "Raise the weight cap");
        assert_eq!(proposal.voting_start, i64::try_from(start).unwrap());
        assert_eq!(proposal.voting_end, i64::try_from(end).unwrap());

        // The audit log entry.
        let entries = audit_log_entry::Entity::find()
            .filter(audit_log_entry::Column::EntryType.eq("review-period"))
            .all(&service.db)
            .await
            .unwrap();
        assert_eq!(entries.len(), 1, "{backend}");
        let entry: Value = serde_json::from_str(&entries[0].entry_json).unwrap();
        assert_eq!(entry["event_id"], action_id.to_hex());
        assert_eq!(entry["address"], address);
        assert_eq!(entry["title"], "Raise the weight cap");
        assert_eq!(entry["voting_window"]["days"], 14);

        let after = service.written().await;
        assert_eq!(after.bot_events, before.bot_events + 2, "{backend}");
        assert_eq!(after.proposals, before.proposals + 1, "{backend}");
        assert_eq!(
            after.action_audit_entries,
            before.action_audit_entries + 1,
            "{backend}"
        );

        // The same pull request again: a conflict, and nothing more written.
        let again = service
            .api
            .post("/v1/actions", Auth::Admin, &review_period())
            .await;
        assert_eq!(again.status, 409, "{backend}: {again:?}");
        assert_eq!(again.field(), Some("pr"));
        assert!(again.error().contains(&action_id.to_hex()), "{again:?}");
        assert_eq!(service.written().await, after, "{backend}");
        service.stop().await;
    }
}

#[actix_rt::test]
async fn merge_keyholder_and_fork_actions_are_published_and_announced() {
    let relay = TestRelay::start().await;
    let service = Service::start(TestDb::sqlite().await, vec![relay.url()]).await;
    let gov = service.gov();
    let keyholder = Keys::generate().public_key();
    let bodies = [
        json!({"action": "merge", "repository": "btc-commons/governance", "pr": 7, "tier": 1,
               "title": "Fix the tally rounding"}),
        json!({"action": "keyholder", "tier": 4, "title": "Welcome Alice",
               "keyholder": {"name": "Alice", "npub": keyholder.to_bech32().unwrap(),
                             "change": "added"}}),
        json!({"action": "fork", "tier": 5, "title": "Adopt v2",
               "fork": {"ruleset": "commons_v2", "decision": "adopted",
                        "effective_at": "2030-01-01T00:00:00Z"}}),
    ];
    let expected_d = [
        "action:btc-commons/governance:7:merge".to_string(),
        format!("action:keyholder:{}", keyholder.to_hex()),
        "action:fork:commons_v2".to_string(),
    ];
    for (body, d) in bodies.iter().zip(&expected_d) {
        let answer = service.api.post("/v1/actions", Auth::Admin, body).await;
        assert_eq!(answer.status, 201, "{body}: {answer:?}");
        let action_id = event_id(&answer, "event_id");
        let announcement_id = event_id(&answer, "announcement_id");
        let address = format!("30078:{}:{d}", gov.to_hex());
        assert_eq!(answer.text("address"), address);
        let got = wait_for_ids(
            &relay.url(),
            Filter::new().author(gov),
            &[action_id, announcement_id],
            ARRIVAL,
        )
        .await;
        let action = got.iter().find(|e| e.id == action_id).unwrap();
        action.verify().expect("verifies");
        let parsed = commons_nostr::nostr::governance_action::parse_governance_action(action)
            .expect("a governance action");
        assert_eq!(&parsed.d, d);
        assert_eq!(parsed.action.as_str(), body["action"]);
        assert_eq!(parsed.governance_config, GOVERNANCE_CONFIG);
        assert_eq!(parsed.zap, None, "only review periods invite zaps");
        assert_eq!(parsed.voting_window, None);
        let note = got.iter().find(|e| e.id == announcement_id).unwrap();
        check_announcement(note, gov, action_id, &address);
    }
    let written = service.written().await;
    assert_eq!(written.proposals, 0, "only review periods are proposals");
    assert_eq!(written.action_audit_entries, 3);
    service.stop().await;
}

#[actix_rt::test]
async fn admin_routes_refuse_a_missing_or_wrong_token() {
    let relay = TestRelay::start().await;
    let service = Service::start(TestDb::sqlite().await, vec![relay.url()]).await;
    let before = service.written().await;
    let token = service.cfg.admin_token.clone();
    let wrong = format!("Bearer {}", "0".repeat(64));
    let basic = format!("Basic {token}");
    let bare = token.clone();
    let longer = format!("Bearer {token}x");
    let requests = [
        ("/v1/actions", review_period()),
        ("/v1/bots/dev/notes", json!({"content": "not allowed"})),
        ("/v1/bots/dev/restart", json!({})),
        ("/v1/no-such-admin-route", json!({})),
    ];
    for (path, body) in &requests {
        for auth in [
            Auth::Anonymous,
            Auth::Header(&wrong),
            Auth::Header(&basic),
            Auth::Header(&bare),
            Auth::Header(&longer),
            Auth::Header("Bearer "),
        ] {
            let answer = service.api.post(path, auth, body).await;
            assert_eq!(answer.status, 401, "{path} {auth:?}: {answer:?}");
            assert_eq!(answer.field(), Some("authorization"), "{answer:?}");
            assert!(answer.error().starts_with("authorization: "), "{answer:?}");
            assert!(!answer.error().contains(&token));
            assert_eq!(answer.www_authenticate.as_deref(), Some("Bearer"));
        }
    }
    assert_eq!(service.written().await, before);
    let metrics = service.api.metrics().await;
    assert!(!metrics.contains(r#"actor="bot:dev""#), "{metrics}");

    // The public routes need no token.
    let tally = service
        .api
        .get(&format!("/v1/proposals/{}/tally", EventId::all_zeros()))
        .await;
    assert_eq!(tally.status, 404, "{tally:?}");
    let health = service.api.get("/healthz").await;
    assert!(health.json.get("status").is_some(), "{health:?}");
    service.stop().await;
}

#[actix_rt::test]
async fn refused_requests_name_the_field_and_write_nothing() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let relay = TestRelay::start().await;
        let service = Service::start(test_db, vec![relay.url()]).await;
        let before = service.written().await;

        let review = review_period();
        let actions: Vec<(Value, &str)> = vec![
            (with(review.clone(), "action", json!("vote")), "action"),
            (without(review.clone(), "action"), "action"),
            (without(review.clone(), "repository"), "repository"),
            (without(review.clone(), "pr"), "pr"),
            (without(review.clone(), "tier"), "tier"),
            (without(review.clone(), "title"), "title"),
            (
                without(review.clone(), "voting_window_days"),
                "voting_window_days",
            ),
            (with(review.clone(), "tier", json!(0)), "tier"),
            (with(review.clone(), "tier", json!(6)), "tier"),
            (with(review.clone(), "pr", json!(0)), "pr"),
            (
                with(review.clone(), "repository", json!("no slash")),
                "repository",
            ),
            (
                json!({"action": "merge", "repository": "a/b", "pr": 1, "tier": 1,
                       "title": "t", "voting_window_days": 3}),
                "voting_window_days",
            ),
            (
                json!({"action": "keyholder", "tier": 2, "title": "t",
                       "keyholder": {"name": "A", "pubkey": "npub1nope", "change": "added"}}),
                "keyholder.pubkey",
            ),
            (json!([review.clone()]), "body"),
            (json!("review-period"), "body"),
        ];
        for (body, field) in &actions {
            let answer = service.api.post("/v1/actions", Auth::Admin, body).await;
            assert_eq!(answer.status, 400, "{backend} {body}: {answer:?}");
            assert_eq!(answer.field(), Some(*field), "{backend} {body}: {answer:?}");
            assert!(
                answer.error().starts_with(&format!("{field}: ")),
                "{answer:?}"
            );
        }
        let tier = service
            .api
            .post(
                "/v1/actions",
                Auth::Admin,
                &with(review.clone(), "tier", json!(6)),
            )
            .await;
        assert_eq!(tier.error(), "tier: must be 1 to 5");
        let not_json = service
            .api
            .post_raw("/v1/actions", Auth::Admin, "{not json")
            .await;
        assert_eq!(not_json.status, 400, "{not_json:?}");
        assert_eq!(not_json.field(), Some("body"));

        let notes: Vec<(&str, Value, u16, &str)> = vec![
            ("nobody", json!({"content": "hi"}), 404, "bot"),
            ("dev", json!({"content": ""}), 400, "content"),
            ("dev", json!({"content": "  "}), 400, "content"),
            ("dev", json!({"tags": [["t", "x"]]}), 400, "content"),
            ("dev", json!({"content": 7}), 400, "content"),
            ("dev", json!({"content": "hi", "tags": "t"}), 400, "tags"),
            (
                "dev",
                json!({"content": "hi", "tags": [["t", 1]]}),
                400,
                "tags",
            ),
            ("dev", json!({"content": "hi", "tags": [[]]}), 400, "tags"),
            (
                "dev",
                json!({"content": "hi", "tags": [["", "x"]]}),
                400,
                "tags",
            ),
        ];
        for (bot, body, status, field) in &notes {
            let answer = service
                .api
                .post(&format!("/v1/bots/{bot}/notes"), Auth::Admin, body)
                .await;
            assert_eq!(answer.status, *status, "{backend} {bot} {body}: {answer:?}");
            assert_eq!(answer.field(), Some(*field), "{answer:?}");
        }
        let unknown = service
            .api
            .post(
                "/v1/bots/nobody/notes",
                Auth::Admin,
                &json!({"content": "hi"}),
            )
            .await;
        assert!(
            unknown.error().contains("no bot named 'nobody'"),
            "{unknown:?}"
        );
        let restart = service
            .api
            .post("/v1/bots/nobody/restart", Auth::Admin, &json!({}))
            .await;
        assert_eq!(restart.status, 404, "{restart:?}");
        assert_eq!(restart.field(), Some("bot"));

        // Nothing in the outbox from any bot, no proposal, no audit entry. (The outbox depth
        // gauge is no witness: the server's own start-up events come and go meanwhile.)
        assert_eq!(service.written().await, before, "{backend}");
        let metrics = service.api.metrics().await;
        assert!(!metrics.contains("actor=\"bot:"), "{metrics}");
        service.stop().await;
    }
}

#[actix_rt::test]
async fn a_note_reaches_the_relay_signed_by_its_bot_with_its_tags() {
    let relay = TestRelay::start().await;
    let service = Service::start(TestDb::sqlite().await, vec![relay.url()]).await;
    let body = json!({"content": "v1.0 is out", "tags": [["t", "release"], ["r", "https://example.org/v1"]]});
    let answer = service
        .api
        .post("/v1/bots/dev/notes", Auth::Admin, &body)
        .await;
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(
        answer.json.as_object().map(|o| o.len()),
        Some(1),
        "{answer:?}"
    );
    let id = event_id(&answer, "event_id");
    let dev = service.cfg.bot("dev");
    let got = wait_for_ids(
        &relay.url(),
        Filter::new().author(dev).kind(Kind::TextNote),
        &[id],
        ARRIVAL,
    )
    .await;
    let note = &got[0];
    note.verify().expect("the note verifies");
    assert_eq!(note.pubkey, dev);
    assert_eq!(note.content, "v1.0 is out");
    let tags: Vec<Vec<String>> = note.tags.iter().map(|t| t.as_slice().to_vec()).collect();
    assert_eq!(
        tags,
        [
            vec!["t".to_string(), "release".to_string()],
            vec!["r".to_string(), "https://example.org/v1".to_string()]
        ]
    );
    // Without tags.
    let plain = service
        .api
        .post(
            "/v1/bots/research/notes",
            Auth::Admin,
            &json!({"content": "plain"}),
        )
        .await;
    assert_eq!(plain.status, 201, "{plain:?}");
    wait_for_ids(
        &relay.url(),
        Filter::new().author(service.cfg.bot("research")),
        &[event_id(&plain, "event_id")],
        ARRIVAL,
    )
    .await;
    service.stop().await;
}

/// Posts a note, retrying while the bot is between incarnations (503).
async fn note_when_up(api: &Api, bot: &str, content: &str) -> EventId {
    for _ in 0..500 {
        let answer = api
            .post(
                &format!("/v1/bots/{bot}/notes"),
                Auth::Admin,
                &json!({"content": content}),
            )
            .await;
        match answer.status.as_u16() {
            201 => return event_id(&answer, "event_id"),
            503 => actix_rt::time::sleep(Duration::from_millis(10)).await,
            _ => panic!("{bot}: {answer:?}"),
        }
    }
    panic!("bot {bot} never came back");
}

#[actix_rt::test]
async fn restarting_a_bot_restarts_only_that_bot() {
    let relay = TestRelay::start().await;
    let service = Service::start(TestDb::sqlite().await, vec![relay.url()]).await;
    let answer = service
        .api
        .post("/v1/bots/dev/restart", Auth::Admin, &json!({}))
        .await;
    assert_eq!(answer.status, 202, "{answer:?}");
    assert_eq!(answer.json, json!({"bot": "dev", "status": "restarting"}));

    // The others never stopped; dev comes back.
    let mut others = Vec::new();
    for (i, bot) in ["gov", "research", "network"].iter().enumerate() {
        let answer = service
            .api
            .post(
                &format!("/v1/bots/{bot}/notes"),
                Auth::Admin,
                &json!({"content": format!("still here {i}")}),
            )
            .await;
        assert_eq!(answer.status, 201, "{bot}: {answer:?}");
        others.push(event_id(&answer, "event_id"));
    }
    let dev_id = note_when_up(&service.api, "dev", "dev is back").await;

    let text = metrics_until(&service.api, |m| {
        m.contains(r#"commons_actor_restarts_total{actor="bot:dev"} 1"#)
    })
    .await;
    for bot in ["gov", "research", "network"] {
        assert!(!text.contains(&format!("actor=\"bot:{bot}\"")), "{text}");
    }
    wait_for_ids(
        &relay.url(),
        Filter::new()
            .authors(["gov", "research", "network"].map(|b| service.cfg.bot(b)))
            .kind(Kind::TextNote),
        &others,
        ARRIVAL,
    )
    .await;
    wait_for_ids(
        &relay.url(),
        Filter::new().author(service.cfg.bot("dev")),
        &[dev_id],
        ARRIVAL,
    )
    .await;
    service.stop().await;
}

#[actix_rt::test]
async fn metrics_move_with_publications_outbox_depth_and_restarts() {
    let relay = TestRelay::start().await;
    let silent = SilentRelay::start().await;
    let service = Service::start(TestDb::sqlite().await, vec![relay.url(), silent.url()]).await;
    let accepted = format!(
        r#"commons_events_published_total{{relay="{}",outcome="accepted"}}"#,
        relay.url().as_str()
    );
    let before = service.api.metrics().await;

    let mut ids = Vec::new();
    for i in 0..3 {
        let answer = service
            .api
            .post(
                "/v1/bots/gov/notes",
                Auth::Admin,
                &json!({"content": format!("counted {i}")}),
            )
            .await;
        assert_eq!(answer.status, 201, "{answer:?}");
        ids.push(event_id(&answer, "event_id"));
    }
    wait_for_ids(
        &relay.url(),
        Filter::new().author(service.gov()),
        &ids,
        ARRIVAL,
    )
    .await;
    service
        .api
        .post("/v1/bots/network/restart", Auth::Admin, &json!({}))
        .await;

    let accepted_before = metric(&before, &accepted);
    let text = metrics_until(&service.api, |m| {
        metric(m, &accepted) >= accepted_before + 3.0
            && m.contains(r#"commons_actor_restarts_total{actor="bot:network"} 1"#)
    })
    .await;
    // The silent relay never answers: every event waits in the outbox for it, these three too.
    assert!(metric(&text, "commons_outbox_depth") >= 3.0, "{text}");
    assert_eq!(
        metric(
            &text,
            &format!(
                r#"commons_relay_state{{relay="{}",state="connected"}}"#,
                relay.url().as_str()
            )
        ),
        1.0,
        "{text}"
    );
    service.stop().await;
}

#[actix_rt::test]
async fn the_tally_route_is_public_and_answers_json_errors() {
    let relay = TestRelay::start().await;
    let service = Service::start(TestDb::sqlite().await, vec![relay.url()]).await;
    let malformed = service.api.get("/v1/proposals/not-an-id/tally").await;
    assert_eq!(malformed.status, 400, "{malformed:?}");
    assert_eq!(malformed.field(), Some("event_id"));

    let unknown = service
        .api
        .get(&format!("/v1/proposals/{}/tally", "ab".repeat(32)))
        .await;
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert_eq!(unknown.field(), Some("event_id"));

    let proposal = service
        .api
        .post("/v1/actions", Auth::Admin, &review_period())
        .await;
    assert_eq!(proposal.status, 201, "{proposal:?}");
    let id = event_id(&proposal, "event_id");
    // A proposal with no vote yet has a tally all the same: zero, and not passed.
    for spelling in [id.to_hex(), id.to_bech32().unwrap()] {
        // Known as soon as the action was answered.
        let tally = service
            .api
            .get(&format!("/v1/proposals/{spelling}/tally"))
            .await;
        assert_eq!(tally.status, 200, "{tally:?}");
        assert_eq!(tally.json["proposal"], json!(id.to_hex()));
        assert_eq!(tally.json["result"]["total_votes"], json!(0.0));
        assert_eq!(tally.json["result"]["threshold_met"], json!(false));
        assert_eq!(tally.json["receipts_count"], json!(0));
        assert_eq!(tally.json["final"], json!(false));
    }
    let receipts = service
        .api
        .get(&format!("/v1/proposals/{}/receipts", id.to_hex()))
        .await;
    assert_eq!(receipts.status, 200, "{receipts:?}");
    assert_eq!(receipts.json["receipts"], json!([]));
    let uncounted = service
        .api
        .get(&format!(
            "/v1/proposals/{}/receipts?receipt={}",
            id.to_hex(),
            "cd".repeat(32)
        ))
        .await;
    assert_eq!(uncounted.status, 404, "{uncounted:?}");
    assert_eq!(uncounted.field(), Some("receipt"));
    let bad_receipt = service
        .api
        .get(&format!(
            "/v1/proposals/{}/receipts?receipt=zz",
            id.to_hex()
        ))
        .await;
    assert_eq!(bad_receipt.status, 400, "{bad_receipt:?}");
    assert_eq!(bad_receipt.field(), Some("receipt"));
    let listed = service.api.get("/v1/proposals").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json["proposals"][0]["event_id"], json!(id.to_hex()));
    assert_eq!(listed.json["proposals"][0]["state"], json!("open"));

    let nowhere = service.api.get("/no/such/route").await;
    assert_eq!(nowhere.status, 404);
    assert_eq!(nowhere.error(), "no such route");
    service.stop().await;
}

/// DESIGN.md "HTTP": "Bad requests get 4xx with a JSON error naming the problem", also where
/// actix-web answers by itself: a route asked with the wrong method, and a query string its
/// extractor cannot read.
#[actix_rt::test]
async fn a_wrong_method_and_a_bad_query_get_json_errors() {
    let relay = TestRelay::start().await;
    let service = Service::start(TestDb::sqlite().await, vec![relay.url()]).await;
    let api = &service.api;

    // Routes registered one method each fall through to "no such route" (a JSON 404); a
    // resource (the LNURL routes) answers 405 itself, now with the same JSON body.
    for (path, status) in [
        ("/healthz", 404),
        ("/metrics", 404),
        ("/.well-known/lnurlp/gov", 405),
        ("/lnurlp/gov/callback", 405),
    ] {
        let answer = api.post(path, Auth::Anonymous, &json!({})).await;
        assert_eq!(
            answer.status.as_u16(),
            status,
            "POST {path}: {:?}",
            answer.json
        );
        assert!(
            answer.json["error"].is_string(),
            "POST {path}: {:?}",
            answer.json
        );
        if status == 405 {
            let error = answer.json["error"].as_str().unwrap_or_default();
            assert!(error.contains("POST") && error.contains(path), "{error}");
        }
    }
    // An admin route with the wrong method, with the token.
    let answer = api.get_with("/v1/actions", Auth::Admin).await;
    assert!(answer.status.is_client_error(), "{:?}", answer.json);
    assert!(answer.json["error"].is_string(), "{:?}", answer.json);

    // `/qr.svg` without its `data`, and a receipts query with `receipt` twice.
    let id = "a".repeat(64);
    for path in [
        "/qr.svg".to_owned(),
        format!("/v1/proposals/{id}/receipts?receipt={id}&receipt={id}"),
    ] {
        let answer = api.get(&path).await;
        assert_eq!(answer.status.as_u16(), 400, "{path}: {:?}", answer.json);
        assert_eq!(answer.field(), Some("query"), "{path}: {:?}", answer.json);
        assert!(
            answer.json["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("query: ")),
            "{path}: {:?}",
            answer.json
        );
    }
    service.app.stop().await;
}
