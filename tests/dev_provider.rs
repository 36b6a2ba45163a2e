//! The development LNURL provider (`lnurl.dev_provider`) over real HTTP, as a wallet uses it:
//! the LUD-16 `payRequest`, a zap request sent to the callback, the BOLT11 invoice it answers,
//! and the receipt reaching the relays and the zap tracker the normal way (real relays, SQLite
//! and PostgreSQL). And every refusal: a LUD-06 error with a 4xx, and nothing published.

mod common;

use std::str::FromStr;
use std::time::Duration;

use awc::http::StatusCode;
use common::app::TestConfig;
use common::relays::{fetch_all, wait_for_ids, TestRelay};
use common::test_db::TestDb;
use common::zaps::{is_recorded, wait_until};
use commons_nostr::nostr::zap_provider::{zap_request, ZapTarget};
use commons_nostr::startup::Application;
use commons_nostr::store::db;
use commons_nostr::store::entities::outbox_event;
use lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescriptionRef};
use nostr_sdk::hashes::{sha256, Hash};
use nostr_sdk::prelude::*;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::Value;

const ARRIVAL: Duration = Duration::from_secs(30);

/// One GET: the status and the JSON body (`Null` when not JSON).
async fn get(url: &str) -> (StatusCode, Value) {
    let mut response = awc::Client::default()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let body = response.body().await.expect("a body");
    (
        response.status(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// The `Access-Control-Allow-Origin` header of a GET of `url`.
async fn allowed_origin(url: &str) -> Option<String> {
    let response = awc::Client::default()
        .get(url)
        .insert_header(("Origin", "https://client.example"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    response
        .headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The callback URL for `amount` msat, the zap request `nostr` and an optional comment.
fn callback_url(
    app: &Application,
    bot: &str,
    amount: &str,
    nostr: Option<&str>,
    comment: Option<&str>,
) -> String {
    let mut url = Url::parse(&format!("http://{}/lnurlp/{bot}/callback", app.http_addr()))
        .expect("callback url");
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("amount", amount);
        if let Some(nostr) = nostr {
            query.append_pair("nostr", nostr);
        }
        if let Some(comment) = comment {
            query.append_pair("comment", comment);
        }
    }
    url.to_string()
}

async fn database(test_db: &TestDb) -> DatabaseConnection {
    db::connect(&test_db.url).await.expect("database")
}

/// Receipts the provider committed to the outbox.
async fn provider_receipts(db: &DatabaseConnection) -> u64 {
    outbox_event::Entity::find()
        .filter(outbox_event::Column::Signer.eq("lnurl.dev_provider"))
        .count(db)
        .await
        .expect("count")
}

#[actix_rt::test]
async fn a_zap_through_the_callback_is_paid_and_reaches_the_tracker() {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        // A relay the service does not use, named by the zap request: it gets the receipt too.
        let voters_relay = TestRelay::start().await;
        let cfg = TestConfig::new(&test_db.url, vec![relay.url()]).with_dev_provider();
        let app = cfg.start().await;
        let gov = cfg.bot("gov");
        let zapper = cfg.dev_zapper.public_key();
        let address = format!("gov@{}", app.http_addr());

        // LUD-16: the address resolves to a payRequest that takes zaps.
        let (status, pay) = get(&format!(
            "http://{}/.well-known/lnurlp/gov",
            app.http_addr()
        ))
        .await;
        assert_eq!(status, StatusCode::OK, "{pay}");
        assert_eq!(pay["tag"], "payRequest");
        // Web clients on any origin can read the answers, refusals included (LUD-01).
        for url in [
            format!("http://{}/.well-known/lnurlp/gov", app.http_addr()),
            format!("http://{}/.well-known/lnurlp/nobody", app.http_addr()),
            callback_url(&app, "gov", "not-a-number", None, None),
        ] {
            assert_eq!(allowed_origin(&url).await.as_deref(), Some("*"), "{url}");
        }
        assert_eq!(
            pay["callback"],
            format!("http://{}/lnurlp/gov/callback", app.http_addr())
        );
        assert_eq!(pay["minSendable"], 1_000);
        assert_eq!(pay["maxSendable"], 100_000_000_000u64);
        assert_eq!(pay["commentAllowed"], 280);
        assert_eq!(pay["allowsNostr"], true);
        assert_eq!(pay["nostrPubkey"], zapper.to_hex());
        let metadata: Value =
            serde_json::from_str(pay["metadata"].as_str().expect("metadata")).expect("json");
        assert!(
            metadata
                .as_array()
                .expect("array")
                .contains(&serde_json::json!(["text/identifier", address])),
            "{metadata}"
        );
        // The bot's profile names the same address (lud16).
        let profile = wait_until_profile(&relay.url(), gov).await;
        assert_eq!(profile.lud16.as_deref(), Some(address.as_str()));

        // A wallet's zap: the request signed by the voter, URL-encoded into the callback.
        let voter = Keys::generate();
        let zapped = EventId::all_zeros();
        let request = zap_request(
            &voter,
            &ZapTarget::new(gov, 21_000)
                .event(zapped)
                .content("veto")
                .relays([relay.url(), voters_relay.url()]),
        )
        .expect("zap request");
        let (status, answer) = get(&callback_url(
            &app,
            "gov",
            "21000",
            Some(&request.as_json()),
            Some("veto"),
        ))
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["routes"], serde_json::json!([]));
        let bolt11 = answer["pr"].as_str().expect("an invoice");
        let invoice = Bolt11Invoice::from_str(bolt11).expect("a BOLT11 invoice");
        invoice.check_signature().expect("signed by the node key");
        assert_eq!(invoice.amount_milli_satoshis(), Some(21_000));
        assert_eq!(
            invoice.description(),
            Bolt11InvoiceDescriptionRef::Hash(&lightning_invoice::Sha256(sha256::Hash::hash(
                request.as_json().as_bytes()
            )))
        );

        // "Paid" at once: the receipt is on both relays, signed by the development key.
        let receipt_filter = Filter::new().kind(Kind::ZapReceipt).author(zapper);
        let receipts = fetch_until(&relay.url(), receipt_filter.clone(), 1).await;
        assert_eq!(receipts.len(), 1, "{receipts:?}");
        let receipt = receipts[0].clone();
        receipt.verify().expect("verifies");
        let tag = |name: &str| {
            receipt
                .tags
                .iter()
                .find(|t| t.as_slice().first().map(String::as_str) == Some(name))
                .and_then(|t| t.as_slice().get(1).cloned())
        };
        assert_eq!(tag("bolt11").as_deref(), Some(bolt11));
        assert_eq!(tag("description"), Some(request.as_json()));
        assert_eq!(tag("p"), Some(gov.to_hex()));
        assert_eq!(tag("e"), Some(zapped.to_hex()));
        let preimage = hex::decode(tag("preimage").expect("a preimage")).expect("hex");
        assert_eq!(sha256::Hash::hash(&preimage), *invoice.payment_hash());
        wait_for_ids(&voters_relay.url(), receipt_filter, &[receipt.id], ARRIVAL).await;

        // And the tracker records it, from the relay, under the pinned development key.
        let db = database(&test_db).await;
        wait_until(ARRIVAL, "the receipt recorded", || {
            let db = db.clone();
            let id = receipt.id;
            async move { is_recorded(&db, &id).await }
        })
        .await;
        assert_eq!(provider_receipts(&db).await, 1);
        app.stop().await;
    }
}

#[actix_rt::test]
async fn every_refusal_is_a_lud06_error_and_publishes_nothing() {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        let cfg = TestConfig::new(&test_db.url, vec![relay.url()]).with_dev_provider();
        let app = cfg.start().await;
        let gov = cfg.bot("gov");
        let voter = Keys::generate();
        let good = zap_request(&voter, &ZapTarget::new(gov, 21_000)).expect("zap request");
        let good_json = good.as_json();

        let mut unsigned: Value = serde_json::from_str(&good_json).expect("json");
        unsigned.as_object_mut().expect("object").remove("sig");
        let mut tampered: Value = serde_json::from_str(&good_json).expect("json");
        tampered["content"] = "support".into();
        let note = EventBuilder::text_note("zap me")
            .tag(Tag::public_key(gov))
            .sign_with_keys(&voter)
            .expect("note");
        let too_small = zap_request(&voter, &ZapTarget::new(gov, 999)).expect("zap request");
        let too_big =
            zap_request(&voter, &ZapTarget::new(gov, 100_000_000_001)).expect("zap request");
        let to_someone_else =
            zap_request(&voter, &ZapTarget::new(cfg.bot("dev"), 21_000)).expect("zap request");
        let long_comment = "a".repeat(281);

        let cases: Vec<(&str, String, StatusCode, &str)> = vec![
            (
                "malformed nostr",
                callback_url(&app, "gov", "21000", Some("{\"kind\":9734"), None),
                StatusCode::BAD_REQUEST,
                "nostr: not a signed Nostr event",
            ),
            (
                "unsigned nostr",
                callback_url(&app, "gov", "21000", Some(&unsigned.to_string()), None),
                StatusCode::BAD_REQUEST,
                "nostr: not a signed Nostr event",
            ),
            (
                "a signature that does not verify",
                callback_url(&app, "gov", "21000", Some(&tampered.to_string()), None),
                StatusCode::BAD_REQUEST,
                "does not verify",
            ),
            (
                "kind 1",
                callback_url(&app, "gov", "21000", Some(&note.as_json()), None),
                StatusCode::BAD_REQUEST,
                "kind 9734, not kind 1",
            ),
            (
                "amount tag differs from the query",
                callback_url(&app, "gov", "22000", Some(&good_json), None),
                StatusCode::BAD_REQUEST,
                "is not the amount asked (22000 msat)",
            ),
            (
                "below minSendable",
                callback_url(&app, "gov", "999", Some(&too_small.as_json()), None),
                StatusCode::BAD_REQUEST,
                "amount: 999 msat is outside minSendable",
            ),
            (
                "above maxSendable",
                callback_url(&app, "gov", "100000000001", Some(&too_big.as_json()), None),
                StatusCode::BAD_REQUEST,
                "is outside minSendable 1000 .. maxSendable 100000000000",
            ),
            (
                "comment over commentAllowed",
                callback_url(&app, "gov", "21000", Some(&good_json), Some(&long_comment)),
                StatusCode::BAD_REQUEST,
                "comment: 281 characters, more than commentAllowed 280",
            ),
            (
                "zap request to another bot",
                callback_url(&app, "gov", "21000", Some(&to_someone_else.as_json()), None),
                StatusCode::BAD_REQUEST,
                "the p tag is not this bot's public key",
            ),
            (
                "no zap request",
                callback_url(&app, "gov", "21000", None, None),
                StatusCode::BAD_REQUEST,
                "nostr: required",
            ),
            (
                "unknown bot",
                callback_url(&app, "nobody", "21000", Some(&good_json), None),
                StatusCode::NOT_FOUND,
                "no bot named \"nobody\"",
            ),
            (
                "unknown bot's payRequest",
                format!("http://{}/.well-known/lnurlp/nobody", app.http_addr()),
                StatusCode::NOT_FOUND,
                "no bot named \"nobody\"",
            ),
        ];
        for (what, url, expected_status, reason) in &cases {
            let (status, answer) = get(url).await;
            assert_eq!(status, *expected_status, "{what}: {answer}");
            assert_eq!(answer["status"], "ERROR", "{what}: {answer}");
            let said = answer["reason"].as_str().unwrap_or_default();
            assert!(said.contains(reason), "{what}: {said:?} lacks {reason:?}");
        }

        // Nothing was committed and nothing reached the relay; a good zap still goes through
        // afterwards, so the relay was reachable all along.
        let db = database(&test_db).await;
        assert_eq!(provider_receipts(&db).await, 0);
        let (status, answer) =
            get(&callback_url(&app, "gov", "21000", Some(&good_json), None)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let receipts = fetch_until(
            &relay.url(),
            Filter::new()
                .kind(Kind::ZapReceipt)
                .author(cfg.dev_zapper.public_key()),
            1,
        )
        .await;
        assert_eq!(
            receipts.len(),
            1,
            "only the good zap's receipt: {receipts:?}"
        );
        assert_eq!(provider_receipts(&db).await, 1);
        app.stop().await;
    }
}

#[actix_rt::test]
async fn without_the_provider_its_routes_answer_404() {
    let test_db = TestDb::sqlite().await;
    let relay = TestRelay::start().await;
    let cfg = TestConfig::new(&test_db.url, vec![relay.url()]);
    let app = cfg.start().await;
    let gov = cfg.bot("gov");
    let request = zap_request(&Keys::generate(), &ZapTarget::new(gov, 21_000)).expect("zap");
    for url in [
        format!("http://{}/.well-known/lnurlp/gov", app.http_addr()),
        callback_url(&app, "gov", "21000", Some(&request.as_json()), None),
    ] {
        let (status, answer) = get(&url).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{url}: {answer}");
        assert_eq!(answer["status"], "ERROR");
        assert!(
            answer["reason"]
                .as_str()
                .is_some_and(|r| r.contains("lnurl.dev_provider")),
            "{answer}"
        );
    }
    assert!(app.handles().dev_provider.is_none());
    app.stop().await;
}

/// The newest kind-0 profile of `author` on `url`, once it is there.
async fn wait_until_profile(url: &RelayUrl, author: PublicKey) -> Metadata {
    let events = fetch_until(url, Filter::new().kind(Kind::Metadata).author(author), 1).await;
    let newest = events
        .into_iter()
        .max_by_key(|e| e.created_at)
        .expect("a profile");
    Metadata::from_json(&newest.content).expect("profile JSON")
}

/// Every stored event matching `filter`, once there are at least `count` of them.
async fn fetch_until(url: &RelayUrl, filter: Filter, count: usize) -> Vec<Event> {
    let deadline = tokio::time::Instant::now() + ARRIVAL;
    loop {
        let events = fetch_all(url, filter.clone()).await;
        if events.len() >= count || tokio::time::Instant::now() >= deadline {
            return events;
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
}
