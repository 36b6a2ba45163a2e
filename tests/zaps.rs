//! Zap tracking end to end (DESIGN.md "Zaps accepted"): receipts built the way a real LNURL
//! provider builds them, published to real in-process relays, followed by the whole service,
//! and checked in the database (`zap_receipts`, `rejected_receipts`, `contributions`,
//! `relay_cursors`) and in `GET /metrics`. Every test runs on SQLite, and on PostgreSQL too when
//! `TEST_DATABASE_URL` is set.
//!
//! Rule 1 (the receipt's signature): honest relays refuse a receipt with a bad id or signature,
//! so it is tested at the ledger (validation and recording), with the relay's refusal checked
//! too, and through a relay that checks nothing (`common::raw_relay`), as a hostile or broken
//! relay would serve it: nostr-sdk does not check the relay actors' events (the tracker's rule 1
//! is the one check of a receipt's signature), so such a receipt reaches the tracker and is
//! rejected and counted.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::app::TestConfig;
use common::raw_relay::RawRelay;
use common::relays::{fetch_all, TestRelay};
use common::test_db::TestDb;
use common::zaps::{
    build_many, contribution_rows, is_recorded, junk_of, junk_rows, metric, metrics, publish,
    receipt_rows, rejected_rows, rejection_of, wait_for_metrics, wait_until, zap_config, Anomalous,
    CappedRelay, LnurlServer, Zaps, AMOUNT_MSAT,
};
use commons_nostr::actors::supervision::{RestartChild, ToChild};
use commons_nostr::actors::zap_tracker::{self, GetZapTrackerStatus, ZapTrackerStatus};
use commons_nostr::nostr::events;
use commons_nostr::nostr::nip57::Zapper;
use commons_nostr::nostr::zap_provider::{zap_request, ZapProvider};
use commons_nostr::startup::Application;
use commons_nostr::store::entities::{
    governance_proposal, rejected_receipt, relay_cursor, zap_receipt,
};
use commons_nostr::store::zap_ledger::{self, Incoming};
use nostr_sdk::prelude::*;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

const ARRIVAL: Duration = Duration::from_secs(30);

async fn database(test_db: &TestDb) -> DatabaseConnection {
    let db = commons_nostr::store::db::connect(&test_db.url)
        .await
        .expect("test database");
    commons_nostr::store::db::migrate(&db)
        .await
        .expect("migrations");
    db
}

/// A service whose bots' LNURL provider is `zaps.provider`, and the zap fixtures for its gov bot.
fn service(test_db: &TestDb, relays: Vec<RelayUrl>) -> (TestConfig, Zaps) {
    let provider = ZapProvider::generate();
    let cfg = zap_config(&test_db.url, relays, &provider.public_key());
    let zaps = Zaps {
        provider,
        sender: Keys::generate(),
        bot: cfg.bot("gov"),
    };
    (cfg, zaps)
}

/// `cfg` with bot `bot`'s provider key unknown (no `zapper_pubkey`) and looked up at `lnurl`,
/// retried every 50 ms to 200 ms.
fn resolving_key(cfg: TestConfig, bot: &str, lnurl: &LnurlServer) -> TestConfig {
    let bot_upper = bot.to_ascii_uppercase();
    cfg.with(
        &format!("COMMONS__NOSTR__BOTS__{bot_upper}__ZAPPER_PUBKEY"),
        "",
    )
    .with(
        &format!("COMMONS__NOSTR__BOTS__{bot_upper}__LNURLP_URL"),
        &lnurl.url(bot),
    )
    .with("COMMONS__NOSTR__LNURL__RETRY_INITIAL_MS", "50")
    .with("COMMONS__NOSTR__LNURL__RETRY_MAX_MS", "200")
}

async fn tracker_status(app: &Application) -> ZapTrackerStatus {
    app.handles()
        .zaps
        .send(ToChild {
            name: zap_tracker::CHILD_NAME.to_string(),
            msg: GetZapTrackerStatus,
        })
        .await
        .expect("tracker supervisor alive")
        .expect("tracker running")
}

fn rejected_series(reason: &str) -> String {
    format!("commons_zap_receipts_rejected_total{{reason=\"{reason}\"}}")
}

// --- one test per rule ------------------------------------------------------------------------

#[actix_rt::test]
async fn rule_1_bad_id_or_signature_is_rejected_by_the_ledger_and_refused_by_relays() {
    let bot = Keys::generate().public_key();
    let zaps = Zaps::new(bot);
    let honest = zaps.honest("support");
    let mut bad_signature = zaps.honest("support, forged");
    bad_signature.sig = honest.sig; // the id is right, the signature is another event's
    let mut edited = zaps.honest("support, edited");
    edited.content = "edited after signing".into(); // the id no longer matches

    let recipients = HashMap::from([(bot, Zapper::Known(zaps.provider.public_key()))]);
    let relay_url = RelayUrl::parse("ws://127.0.0.1:9").expect("url");
    let batch = || -> Vec<Incoming> {
        [&honest, &bad_signature, &edited]
            .into_iter()
            .map(|event| Incoming {
                event: std::sync::Arc::new(event.clone()),
                relay: relay_url.clone(),
                received_at: std::time::Instant::now(),
            })
            .collect()
    };
    for test_db in TestDb::all().await {
        let db = database(&test_db).await;
        let judgement = zap_ledger::judge(batch(), &recipients);
        assert!(judgement.pending.is_empty());
        let outcome = zap_ledger::record(&db, &judgement.judged, &[], Timestamp::now())
            .await
            .expect("recorded");
        assert_eq!(outcome.recorded.len(), 1, "{}", test_db.backend());
        assert_eq!(outcome.recorded[0].receipt_id, honest.id);
        // Their signer is unproven (anyone can copy a provider's public key): junk, counted
        // under the key they claim, never stored whole.
        assert!(outcome.rejected.is_empty());
        let reasons: HashSet<&str> = outcome.junk.iter().map(|r| r.reason).collect();
        assert_eq!(
            reasons,
            HashSet::from(["receipt_bad_signature", "receipt_id_mismatch"])
        );
        assert_eq!(rejection_of(&db, &bad_signature.id).await, None);
        assert_eq!(rejection_of(&db, &edited.id).await, None);
        let tally = junk_of(&db, &zaps.provider.public_key())
            .await
            .expect("a junk row");
        assert_eq!(tally.count, 2);
        assert!(tally.last_reason.starts_with("receipt_"), "{tally:?}");

        // The same batch again: the honest one is a duplicate, the junk is counted again.
        let judgement = zap_ledger::judge(batch(), &recipients);
        let again = zap_ledger::record(&db, &judgement.judged, &[], Timestamp::now())
            .await
            .expect("recorded");
        assert!(again.recorded.is_empty() && again.rejected.is_empty());
        assert_eq!((again.duplicates, again.junk.len()), (1, 2));
        assert_eq!((receipt_rows(&db).await, rejected_rows(&db).await), (1, 0));
        assert_eq!(junk_rows(&db).await, 1);
        let tally = junk_of(&db, &zaps.provider.public_key()).await;
        assert_eq!(tally.map(|t| t.count), Some(4));
        assert_eq!(contribution_rows(&db).await, 1);
    }

    // Why this is not tested through a relay: relays refuse such events.
    let relay = TestRelay::start().await;
    let client = common::relays::reader(&relay.url()).await;
    for forged in [&bad_signature, &edited] {
        let sent = client.send_event(forged).await;
        assert!(
            sent.as_ref().map_or(true, |out| out.success.is_empty()),
            "{sent:?}"
        );
    }
    client.shutdown().await;
    let stored = fetch_all(
        &relay.url(),
        Filter::new().ids([bad_signature.id, edited.id]),
    )
    .await;
    assert!(stored.is_empty(), "{stored:?}");
}

/// Rule 1 through a relay: one that checks nothing serves an honest receipt, one whose
/// signature is another event's and one edited after signing. The relay actors have nostr-sdk
/// check no signature (the tracker's rule 1 is the one check), so the two forgeries reach the
/// tracker and are rejected with rule 1 and counted, as junk (their signer is unproven), and
/// the honest one is recorded. (Before, nostr-sdk dropped them unseen and uncounted.)
#[actix_rt::test]
async fn rule_1_bad_signature_from_a_relay_that_checks_nothing_is_rejected_and_counted() {
    for test_db in TestDb::all().await {
        let relay = RawRelay::start().await;
        let (cfg, zaps) = service(&test_db, vec![relay.url()]);
        let honest = zaps.honest("support");
        let mut bad_signature = zaps.honest("support, forged");
        bad_signature.sig = honest.sig; // the id is right, the signature is another event's
        let mut edited = zaps.honest("support, edited");
        edited.content = "edited after signing".into(); // the id no longer matches
        for event in [&honest, &bad_signature, &edited] {
            relay.push(event);
        }
        let app = cfg.start().await;
        let db = database(&test_db).await;
        let backend = test_db.backend();

        wait_for_metrics(&app, ARRIVAL, "both forgeries rejected by rule 1", |text| {
            metric(text, &rejected_series("receipt_bad_signature")) == 1.0
                && metric(text, &rejected_series("receipt_id_mismatch")) == 1.0
        })
        .await;
        wait_until(ARRIVAL, "the honest receipt recorded", || async {
            is_recorded(&db, &honest.id).await
        })
        .await;
        let text = metrics(&app).await;
        assert_eq!(
            metric(&text, "commons_zap_receipts_accepted_total"),
            1.0,
            "{text}"
        );
        assert!(!is_recorded(&db, &bad_signature.id).await, "{backend}");
        assert!(!is_recorded(&db, &edited.id).await, "{backend}");
        assert_eq!((receipt_rows(&db).await, rejected_rows(&db).await), (1, 0));
        let tally = junk_of(&db, &zaps.provider.public_key())
            .await
            .expect("a junk row");
        assert_eq!(tally.count, 2, "{backend}");
        assert_eq!(contribution_rows(&db).await, 1, "{backend}");
        app.stop().await;
    }
}

/// Publishes an honest receipt and one breaking only `rule` to a real relay, and checks the
/// honest one is recorded and the forged one rejected with `reason`, in the database and in
/// `/metrics`.
async fn forged_receipt_is_rejected(rule: u8) {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        let (cfg, zaps) = service(&test_db, vec![relay.url()]);
        let app = cfg.start().await;
        let db = database(&test_db).await;

        let honest = zaps.honest("support");
        let (forged, reason) = zaps.forged(rule, "support", Timestamp::now());
        publish(&[relay.url()], &[honest.clone(), forged.clone()]).await;

        wait_until(ARRIVAL, "both receipts judged", || async {
            is_recorded(&db, &honest.id).await && rejection_of(&db, &forged.id).await.is_some()
        })
        .await;
        let backend = test_db.backend();
        assert_eq!(
            rejection_of(&db, &forged.id).await.as_deref(),
            Some(reason),
            "{backend}"
        );
        assert!(!is_recorded(&db, &forged.id).await, "{backend}");
        assert_eq!(receipt_rows(&db).await, 1, "{backend}");
        assert_eq!(contribution_rows(&db).await, 1, "{backend}");
        let text = metrics(&app).await;
        assert_eq!(metric(&text, &rejected_series(reason)), 1.0, "{text}");
        assert_eq!(
            metric(&text, "commons_zap_receipts_accepted_total"),
            1.0,
            "{text}"
        );
        app.stop().await;
    }
}

/// Rule 2 through a relay. While a bot's provider key is pending, receipts from any signer
/// are downloaded: one from another provider is junk, counted per signer (a junk row, the
/// metric), not stored whole. Once every key is known, relays are asked only for the
/// providers' receipts, and the next one from another provider never even arrives.
#[actix_rt::test]
async fn rule_2_receipt_signed_by_another_provider_is_junk_then_not_downloaded() {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        let lnurl = LnurlServer::start();
        let (cfg, zaps) = service(&test_db, vec![relay.url()]);
        let cfg = resolving_key(cfg, "dev", &lnurl);
        let app = cfg.start().await;
        let db = database(&test_db).await;
        let backend = test_db.backend();

        let honest = zaps.honest("support");
        let (forged, reason) = zaps.forged(2, "support", Timestamp::now());
        assert_eq!(reason, "wrong_zapper");
        publish(&[relay.url()], &[honest.clone(), forged.clone()]).await;
        wait_until(ARRIVAL, "both receipts judged", || async {
            is_recorded(&db, &honest.id).await && junk_of(&db, &forged.pubkey).await.is_some()
        })
        .await;
        let tally = junk_of(&db, &forged.pubkey).await.expect("junk row");
        assert_eq!((tally.count, tally.last_reason.as_str()), (1, reason));
        assert_eq!(rejection_of(&db, &forged.id).await, None, "{backend}");
        assert!(!is_recorded(&db, &forged.id).await, "{backend}");
        assert_eq!((receipt_rows(&db).await, rejected_rows(&db).await), (1, 0));
        wait_for_metrics(&app, ARRIVAL, "the junk counted", |text| {
            metric(text, &rejected_series(reason)) == 1.0
        })
        .await;

        // The last key arrives: every relay is synced again, with `authors`.
        lnurl.answer_with(zaps.provider.public_key());
        wait_until(
            ARRIVAL,
            "relays synced with the narrower filter",
            || async {
                let status = tracker_status(&app).await;
                status.pending_zappers == 0
                    && status
                        .relays
                        .iter()
                        .all(|r| r.backfills_completed >= 2 && !r.backfilling)
            },
        )
        .await;
        let (forged_again, _) = zaps.forged(2, "support again", Timestamp::now());
        let honest_again = zaps.honest("support again");
        // One after the other: the relay sends them to the subscription in this order.
        publish(&[relay.url()], std::slice::from_ref(&forged_again)).await;
        publish(&[relay.url()], std::slice::from_ref(&honest_again)).await;
        wait_until(ARRIVAL, "the second honest receipt", || async {
            is_recorded(&db, &honest_again.id).await
        })
        .await;
        assert_eq!(junk_of(&db, &forged_again.pubkey).await, None, "{backend}");
        assert_eq!(junk_rows(&db).await, 1, "{backend}");
        let text = metrics(&app).await;
        assert_eq!(metric(&text, &rejected_series(reason)), 1.0, "{text}");
        app.stop().await;
        lnurl.stop().await;
    }
}

#[actix_rt::test]
async fn rule_3_zap_request_to_someone_else_is_rejected() {
    forged_receipt_is_rejected(3).await;
}

#[actix_rt::test]
async fn rule_4_invoice_with_a_bad_node_signature_is_rejected() {
    forged_receipt_is_rejected(4).await;
}

/// Rules 4 and 7 are checks (DESIGN.md "Zaps accepted"): receipts as real providers make them,
/// with a constant description hash, none, no payment hash or a UUID for a preimage, all count:
/// recorded with their anomalies, contributions, and counted in
/// `commons_zap_receipt_anomalies_total{check}`. Receipts without a payment hash are once by
/// their id alone: two such payments are two rows, the same receipt twice is one.
#[actix_rt::test]
async fn receipts_failing_only_checks_count_with_their_anomalies() {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        let (cfg, zaps) = service(&test_db, vec![relay.url()]);
        let app = cfg.start().await;
        let db = database(&test_db).await;
        let backend = test_db.backend();

        let now = Timestamp::now();
        let kinds = [
            Anomalous::ConstantDescriptionHash,
            Anomalous::NoDescriptionHash,
            Anomalous::NoPaymentHash,
            Anomalous::UuidPreimage,
            Anomalous::NoPaymentHash,
        ];
        let receipts: Vec<(Event, Anomalous)> = kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| {
                let at = now - Duration::from_secs(10 - i as u64);
                (zaps.anomalous(*kind, &format!("support {i}"), at), *kind)
            })
            .collect();
        let honest = zaps.honest("support");
        let mut events: Vec<Event> = receipts.iter().map(|(e, _)| e.clone()).collect();
        events.push(honest.clone());
        // The first receipt without a payment hash, delivered again.
        events.push(receipts[2].0.clone());
        publish(&[relay.url()], &events).await;

        wait_until(ARRIVAL, "every receipt recorded", || async {
            receipt_rows(&db).await == 6
        })
        .await;
        wait_for_metrics(&app, ARRIVAL, "the receipts counted", |text| {
            metric(text, "commons_zap_receipts_accepted_total") >= 6.0
        })
        .await;
        let rows: HashMap<String, zap_receipt::Model> = zap_receipt::Entity::find()
            .all(&db)
            .await
            .expect("rows")
            .into_iter()
            .map(|row| (row.receipt_id.clone(), row))
            .collect();
        assert_eq!(rows.len(), 6, "{backend}");
        for (receipt, kind) in &receipts {
            let row = rows.get(&receipt.id.to_hex()).expect("recorded");
            assert_eq!(row.anomalies, kind.anomalies(), "{backend}: {kind:?}");
            assert_eq!(
                row.payment_hash.is_empty(),
                *kind == Anomalous::NoPaymentHash,
                "{backend}: {kind:?}"
            );
        }
        assert_eq!(rows[&honest.id.to_hex()].anomalies, "", "{backend}");
        assert_eq!(rejected_rows(&db).await, 0, "{backend}");
        assert_eq!(contribution_rows(&db).await, 6, "{backend}");

        let text = metrics(&app).await;
        assert_eq!(
            metric(&text, "commons_zap_receipts_accepted_total"),
            6.0,
            "{text}"
        );
        for (check, count) in [
            ("description_hash", 4.0),
            ("payment_hash", 2.0),
            ("preimage", 1.0),
        ] {
            assert_eq!(
                metric(
                    &text,
                    &format!(r#"commons_zap_receipt_anomalies_total{{check="{check}"}}"#)
                ),
                count,
                "{backend}: {check}\n{text}"
            );
        }
        app.stop().await;
    }
}

#[actix_rt::test]
async fn rule_5_invoice_for_another_amount_is_rejected() {
    forged_receipt_is_rejected(5).await;
}

#[actix_rt::test]
async fn rule_6_receipt_naming_another_event_than_the_request_is_rejected() {
    forged_receipt_is_rejected(6).await;
}

/// After an upgrade: receipts an earlier version rejected for what is now only a check are
/// judged again when the service starts (the relays' cursors are past them), recorded with
/// their anomalies and their rejection rows removed; one still rejected keeps its row.
#[actix_rt::test]
async fn receipts_rejected_by_an_earlier_version_for_a_check_count_after_a_restart() {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        let (cfg, zaps) = service(&test_db, vec![relay.url()]);
        let db = database(&test_db).await;
        let backend = test_db.backend();

        // What the earlier version kept (never on the relay now, so only the rows can tell).
        let now = Timestamp::now();
        let old_rejections = [
            (
                zaps.anomalous(Anomalous::ConstantDescriptionHash, "support", now),
                "description_hash_mismatch",
            ),
            (
                zaps.anomalous(Anomalous::NoPaymentHash, "yes", now),
                "bolt11_invalid",
            ),
            (zaps.forged(4, "still bad", now).0, "bolt11_invalid"),
        ];
        for (receipt, reason) in &old_rejections {
            rejected_receipt::ActiveModel {
                receipt_id: Set(receipt.id.to_hex()),
                reason: Set((*reason).to_owned()),
                detail: Set("rejected by an earlier version".to_owned()),
                relay_url: Set(relay.url().to_string()),
                event_json: Set(receipt.as_json()),
                received_at: Set(1_700_000_000),
                ..Default::default()
            }
            .insert(&db)
            .await
            .unwrap_or_else(|e| panic!("{backend}: old rejection: {e}"));
        }

        let app = cfg.start().await;
        wait_until(ARRIVAL, "the old rejections judged again", || async {
            receipt_rows(&db).await == 2
        })
        .await;
        for (receipt, anomalies) in [
            (&old_rejections[0].0, "description_hash"),
            (&old_rejections[1].0, "description_hash,payment_hash"),
        ] {
            let row = zap_receipt::Entity::find()
                .filter(zap_receipt::Column::ReceiptId.eq(receipt.id.to_hex()))
                .one(&db)
                .await
                .expect("query")
                .expect("recorded");
            assert_eq!(row.anomalies, anomalies, "{backend}");
            wait_until(ARRIVAL, "its old rejection removed", || async {
                rejection_of(&db, &receipt.id).await.is_none()
            })
            .await;
        }
        assert_eq!(
            rejection_of(&db, &old_rejections[2].0.id).await.as_deref(),
            Some("bolt11_invalid"),
            "{backend}"
        );
        assert_eq!(contribution_rows(&db).await, 2, "{backend}");
        wait_for_metrics(&app, ARRIVAL, "the re-judged receipts counted", |text| {
            metric(text, "commons_zap_receipts_accepted_total") >= 2.0
        })
        .await;
        let text = metrics(&app).await;
        assert_eq!(
            metric(
                &text,
                r#"commons_zap_receipt_anomalies_total{check="payment_hash"}"#
            ),
            1.0,
            "{text}"
        );
        assert_eq!(rejected_rows(&db).await, 1, "{backend}");
        app.stop().await;
    }
}

// --- exactly once -----------------------------------------------------------------------------

#[actix_rt::test]
async fn one_receipt_from_three_relays_twice_each_and_after_a_restart_is_one_row() {
    for test_db in TestDb::all().await {
        let relays = [
            TestRelay::start().await,
            TestRelay::start().await,
            TestRelay::start().await,
        ];
        let urls: Vec<RelayUrl> = relays.iter().map(TestRelay::url).collect();
        let (cfg, zaps) = service(&test_db, urls.clone());
        let app = cfg.start().await;
        let db = database(&test_db).await;
        let backend = test_db.backend();

        let receipt = zaps.honest("support");
        publish(&urls, std::slice::from_ref(&receipt)).await;
        publish(&urls, std::slice::from_ref(&receipt)).await;
        wait_until(ARRIVAL, "the receipt recorded", || async {
            is_recorded(&db, &receipt.id).await
        })
        .await;
        // Each of the three relays delivers it; the two others are duplicates.
        wait_for_metrics(&app, ARRIVAL, "two duplicates counted", |text| {
            metric(text, "commons_zap_receipts_duplicate_total") >= 2.0
        })
        .await;

        // The tracker alone restarted (as its supervisor does after a crash): it forgets what
        // it saw and reads every relay again from its cursor, so all three deliver it again.
        // (Killing a relay would do it too, but nostr-relay-builder's shutdown can miss a busy
        // connection, which then never drops.)
        app.handles()
            .zaps
            .send(RestartChild(zap_tracker::CHILD_NAME.to_string()))
            .await
            .expect("tracker supervisor alive")
            .expect("tracker known");
        wait_until(ARRIVAL, "the three redeliveries judged", || async {
            metric(&metrics(&app).await, "commons_zap_receipts_duplicate_total") >= 5.0
        })
        .await;
        assert_eq!(receipt_rows(&db).await, 1, "{backend}");
        app.stop().await;

        // The whole service again, on the same database: every relay backfills it again.
        let app = cfg.start().await;
        wait_until(ARRIVAL, "every relay backfilled", || async {
            let status = tracker_status(&app).await;
            status.relays.iter().all(|r| r.backfills_completed >= 1) && status.in_flight == 0
        })
        .await;
        wait_until(ARRIVAL, "the redelivery judged", || async {
            metric(&metrics(&app).await, "commons_zap_receipts_duplicate_total") >= 3.0
        })
        .await;
        let text = metrics(&app).await;
        assert_eq!(
            metric(&text, "commons_zap_receipts_accepted_total"),
            0.0,
            "{text}"
        );
        assert_eq!(receipt_rows(&db).await, 1, "{backend}");
        assert_eq!(contribution_rows(&db).await, 1, "{backend}");
        assert_eq!(rejected_rows(&db).await, 0, "{backend}");
        app.stop().await;
    }
}

#[actix_rt::test]
async fn one_payment_in_two_receipts_is_one_row() {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        let (cfg, zaps) = service(&test_db, vec![relay.url()]);
        let app = cfg.start().await;
        let db = database(&test_db).await;

        // The provider signs two receipts for one paid invoice (a retry, say).
        let request = zap_request(&zaps.sender, &zaps.target("support")).expect("request");
        let invoice = zaps
            .provider
            .invoice(&request, AMOUNT_MSAT)
            .expect("invoice");
        let now = Timestamp::now();
        let receipt = |at: Timestamp| {
            zaps.provider
                .receipt(&request, &invoice.bolt11, Some(&invoice.preimage), at)
                .expect("receipt")
        };
        let (first, second) = (receipt(now), receipt(now - Duration::from_secs(1)));
        assert_ne!(first.id, second.id);
        publish(&[relay.url()], &[first.clone(), second.clone()]).await;

        wait_for_metrics(&app, ARRIVAL, "both receipts judged", |text| {
            metric(text, "commons_zap_receipts_accepted_total") == 1.0
                && metric(text, "commons_zap_receipts_duplicate_total") == 1.0
        })
        .await;
        let backend = test_db.backend();
        assert_eq!(receipt_rows(&db).await, 1, "{backend}");
        assert_eq!(contribution_rows(&db).await, 1, "{backend}");
        assert_eq!(rejected_rows(&db).await, 0, "{backend}");
        let row = zap_receipt::Entity::find()
            .one(&db)
            .await
            .expect("query")
            .expect("row");
        assert_eq!(row.payment_hash, invoice.payment_hash_hex());
        assert_eq!(row.amount_msat, 21_000);
        app.stop().await;
    }
}

// --- backfill ---------------------------------------------------------------------------------

#[actix_rt::test]
async fn receipts_published_while_the_service_was_down_are_found_when_it_is_back() {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        let (cfg, zaps) = service(&test_db, vec![relay.url()]);
        let db = database(&test_db).await;
        let backend = test_db.backend();

        let app = cfg.start().await;
        let before = zaps.honest("before");
        publish(&[relay.url()], std::slice::from_ref(&before)).await;
        wait_until(ARRIVAL, "the first receipt recorded", || async {
            is_recorded(&db, &before.id).await
        })
        .await;
        // The relay's cursor is written once its first backfill is complete.
        let cursor_row = || async {
            relay_cursor::Entity::find()
                .filter(relay_cursor::Column::RelayUrl.eq(relay.url().to_string()))
                .one(&db)
                .await
                .expect("query")
        };
        wait_until(ARRIVAL, "the relay's cursor", || async {
            cursor_row().await.is_some()
        })
        .await;
        app.stop().await;
        let cursor = cursor_row().await.expect("a cursor for the relay");
        assert_eq!(cursor.stream, zap_ledger::ZAP_RECEIPT_STREAM);
        assert!(cursor.last_seen_at >= i64::try_from(before.created_at.as_secs()).unwrap_or(0));

        let while_down = zaps.honest("while down");
        let (forged, reason) = zaps.forged(4, "while down", Timestamp::now());
        publish(&[relay.url()], &[while_down.clone(), forged.clone()]).await;

        let app = cfg.start().await;
        wait_until(ARRIVAL, "the missed receipts judged", || async {
            is_recorded(&db, &while_down.id).await && rejection_of(&db, &forged.id).await.is_some()
        })
        .await;
        // The rows are visible a moment before the tracker has counted them.
        wait_for_metrics(&app, ARRIVAL, "the missed receipts counted", |text| {
            metric(text, "commons_zap_receipts_accepted_total") >= 1.0
                && metric(text, "commons_zap_receipts_duplicate_total") >= 1.0
        })
        .await;
        assert_eq!(
            rejection_of(&db, &forged.id).await.as_deref(),
            Some(reason),
            "{backend}"
        );
        assert_eq!(receipt_rows(&db).await, 2, "{backend}");
        // The backfill read the first receipt again (the cursor's margin): one duplicate, and
        // only one (the relay actor's echo of a backfill page is not a redelivery).
        let text = metrics(&app).await;
        assert_eq!(
            metric(&text, "commons_zap_receipts_duplicate_total"),
            1.0,
            "{text}"
        );
        assert_eq!(
            metric(&text, "commons_zap_receipts_accepted_total"),
            1.0,
            "{text}"
        );
        app.stop().await;
    }
}

/// A relay can store a receipt and never send it on the live subscription (relays drop live
/// events for a subscriber that reads too slowly, and say nothing): the periodic catch-up
/// finds it while the link stays up, with no reconnect.
#[actix_rt::test]
async fn a_receipt_a_relay_stored_but_never_sent_live_is_found_by_the_catch_up() {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        let (cfg, zaps) = service(&test_db, vec![relay.url()]);
        let cfg = cfg.with("COMMONS__NOSTR__CATCH_UP_SECS", "1");
        let db = database(&test_db).await;
        let backend = test_db.backend();

        let app = cfg.start().await;
        let live = zaps.honest("sent live");
        publish(&[relay.url()], std::slice::from_ref(&live)).await;
        wait_until(ARRIVAL, "the live receipt recorded", || async {
            is_recorded(&db, &live.id).await
        })
        .await;
        let synced = tracker_status(&app).await.relays[0].backfills_completed;

        let unsent = zaps.honest("stored, never sent live");
        relay.store_without_broadcast(&unsent).await;
        wait_until(ARRIVAL, "the unsent receipt recorded", || async {
            is_recorded(&db, &unsent.id).await
        })
        .await;
        // Found by a sync that started after the first one: a catch-up.
        wait_until(ARRIVAL, "the catch-up completed", || async {
            tracker_status(&app).await.relays[0].backfills_completed > synced
        })
        .await;
        let status = tracker_status(&app).await;
        assert!(status.relays[0].live, "{backend}: {status:?}");
        assert_eq!(receipt_rows(&db).await, 2, "{backend}");
        let text = metrics(&app).await;
        // The link never went down: no reconnect's backfill found it.
        assert!(
            !text.contains(&format!(
                r#"commons_relay_reconnects_total{{relay="{}"}}"#,
                relay.url()
            )),
            "{backend}: {text}"
        );
        app.stop().await;
    }
}

// --- LNURL provider keys ----------------------------------------------------------------------

#[actix_rt::test]
async fn receipts_wait_pending_until_the_bots_provider_key_is_resolved() {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        let lnurl = LnurlServer::start();
        let (cfg, zaps) = service(&test_db, vec![relay.url()]);
        // The gov bot's key is looked up, at a local endpoint (plain http is allowed to
        // loopback only), which answers 503 for now.
        let cfg = resolving_key(cfg, "gov", &lnurl);
        let app = cfg.start().await;
        let db = database(&test_db).await;
        let backend = test_db.backend();

        let receipt = zaps.honest("support");
        let (forged, reason) = zaps.forged(5, "support", Timestamp::now());
        publish(&[relay.url()], &[receipt.clone(), forged.clone()]).await;

        // Broken in another way: rejected at once. Otherwise good: held, not rejected.
        wait_until(
            ARRIVAL,
            "the receipt pending, the forgery rejected",
            || async {
                tracker_status(&app).await.pending == 1
                    && rejection_of(&db, &forged.id).await.is_some()
            },
        )
        .await;
        assert_eq!(rejection_of(&db, &forged.id).await.as_deref(), Some(reason));
        assert_eq!(rejection_of(&db, &receipt.id).await, None, "{backend}");
        assert_eq!(receipt_rows(&db).await, 0, "{backend}");
        let text = metrics(&app).await;
        assert_eq!(metric(&text, "commons_zap_receipts_pending"), 1.0, "{text}");
        assert_eq!(tracker_status(&app).await.pending_zappers, 1);

        lnurl.answer_with(zaps.provider.public_key());
        wait_until(ARRIVAL, "the pending receipt recorded", || async {
            is_recorded(&db, &receipt.id).await
        })
        .await;
        // The row is visible a moment before the tracker has counted it.
        wait_for_metrics(&app, ARRIVAL, "the recorded receipt counted", |text| {
            metric(text, "commons_zap_receipts_accepted_total") >= 1.0
        })
        .await;
        let text = metrics(&app).await;
        assert_eq!(metric(&text, "commons_zap_receipts_pending"), 0.0, "{text}");
        assert_eq!(
            metric(&text, "commons_zap_receipts_accepted_total"),
            1.0,
            "{text}"
        );
        let status = tracker_status(&app).await;
        assert_eq!((status.pending, status.pending_zappers), (0, 0));
        app.stop().await;
        lnurl.stop().await;
    }
}

// --- proposals --------------------------------------------------------------------------------

#[actix_rt::test]
async fn zaps_naming_a_known_proposal_by_id_or_address_are_stored_with_it() {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        let (cfg, zaps) = service(&test_db, vec![relay.url()]);
        let db = database(&test_db).await;
        let gov = cfg.bot("gov");
        let d = "action:bitcoin-commons/governance:7:review-period";
        let proposal_id = EventId::from_byte_array([42u8; 32]);
        let address = events::proposal_address(&gov, d);
        governance_proposal::ActiveModel {
            event_id: Set(proposal_id.to_hex()),
            address: Set(address.clone()),
            repository: Set("bitcoin-commons/governance".into()),
            pr: Set(7),
            tier: Set(2),
            title: Set("A proposal".into()),
            voting_start: Set(0),
            voting_end: Set(i64::MAX),
            created_at: Set(0),
            ..Default::default()
        }
        .insert(&db)
        .await
        .expect("proposal row");
        let app = cfg.start().await;

        let by_id = zaps.zap_at(&zaps.target("support").event(proposal_id), Timestamp::now());
        let by_address = zaps.zap_at(
            &zaps
                .target("veto")
                .address(events::proposal_coordinate(&gov, d)),
            Timestamp::now(),
        );
        let elsewhere = zaps.zap_at(
            &zaps
                .target("support")
                .event(EventId::from_byte_array([1u8; 32])),
            Timestamp::now(),
        );
        publish(
            &[relay.url()],
            &[by_id.clone(), by_address.clone(), elsewhere.clone()],
        )
        .await;
        wait_until(ARRIVAL, "three zaps recorded", || async {
            receipt_rows(&db).await == 3
        })
        .await;
        let row = |id: EventId| {
            let db = db.clone();
            async move {
                zap_receipt::Entity::find()
                    .filter(zap_receipt::Column::ReceiptId.eq(id.to_hex()))
                    .one(&db)
                    .await
                    .expect("query")
                    .expect("row")
            }
        };
        let backend = test_db.backend();
        let r = row(by_id.id).await;
        assert_eq!(r.proposal_event_id, Some(proposal_id.to_hex()), "{backend}");
        assert_eq!(r.proposal_address.as_deref(), Some(address.as_str()));
        assert_eq!(r.zap_request_content, "support");
        let r = row(by_address.id).await;
        assert_eq!(r.proposal_event_id, Some(proposal_id.to_hex()), "{backend}");
        assert_eq!(r.proposal_address.as_deref(), Some(address.as_str()));
        let r = row(elsewhere.id).await;
        assert_eq!((r.proposal_event_id, r.proposal_address), (None, None));
        app.stop().await;
    }
}

// --- volume -----------------------------------------------------------------------------------

#[actix_rt::test]
async fn ten_thousand_receipts_with_one_percent_forged_through_real_relays() {
    const TOTAL: usize = 10_000;
    for test_db in TestDb::all().await {
        let plain = TestRelay::start().await;
        // Answers at most 100 events per REQ whatever is asked: backfill must paginate.
        let capped = CappedRelay::start(100).await;
        let urls = vec![plain.url(), capped.url()];
        let (cfg, zaps) = service(&test_db, urls.clone());
        let db = database(&test_db).await;

        // A history of distinct seconds, one receipt in a hundred forged (rules 2 to 6 in turn;
        // rule 4's is an invoice whose node signature does not check out).
        let base = Timestamp::now() - Duration::from_secs(2 * TOTAL as u64);
        let receipts = build_many(TOTAL, |i| {
            let at = base + Duration::from_secs(i as u64);
            let text = format!("support {i}");
            if i % 100 == 37 {
                let rule = 2 + u8::try_from((i / 100) % 5).unwrap_or(0);
                zaps.forged(rule, &text, at).0
            } else {
                zaps.zap_at(&zaps.target(&text), at)
            }
        });
        // Every bot's provider key is known, so relays are asked only for that provider's
        // receipts: those from another (rule 2) are never downloaded.
        let foreign: HashSet<String> = (0..TOTAL)
            .filter(|i| i % 100 == 37 && (i / 100) % 5 == 0)
            .map(|i| receipts[i].id.to_hex())
            .collect();
        let forged: HashMap<String, &'static str> = (0..TOTAL)
            .filter(|i| i % 100 == 37 && (i / 100) % 5 != 0)
            .map(|i| {
                let reason = match (i / 100) % 5 {
                    1 => "zap_request_recipient_mismatch",
                    2 => "bolt11_invalid",
                    3 => "amount_mismatch",
                    _ => "target_mismatch",
                };
                (receipts[i].id.to_hex(), reason)
            })
            .collect();
        assert_eq!(forged.len() + foreign.len(), TOTAL / 100);

        // Half before the service starts (backfill), half while it runs (live).
        publish(&urls, &receipts[..TOTAL / 2]).await;
        let app = cfg.start().await;
        publish(&urls, &receipts[TOTAL / 2..]).await;

        let valid = u64::try_from(TOTAL - forged.len() - foreign.len()).unwrap_or(0);
        wait_until(Duration::from_secs(180), "every receipt judged", || async {
            receipt_rows(&db).await == valid
                && rejected_rows(&db).await == u64::try_from(forged.len()).unwrap_or(0)
        })
        .await;
        let backend = test_db.backend();
        let rejected: HashMap<String, String> = rejected_receipt::Entity::find()
            .all(&db)
            .await
            .expect("rejected rows")
            .into_iter()
            .map(|row| (row.receipt_id, row.reason))
            .collect();
        assert_eq!(rejected.len(), forged.len(), "{backend}");
        for (id, reason) in &forged {
            assert_eq!(rejected.get(id).map(String::as_str), Some(*reason), "{id}");
        }
        let recorded: HashSet<String> = zap_receipt::Entity::find()
            .all(&db)
            .await
            .expect("rows")
            .into_iter()
            .map(|row| row.receipt_id)
            .collect();
        for receipt in &receipts {
            let id = receipt.id.to_hex();
            let bad = forged.contains_key(&id) || foreign.contains(&id);
            assert_ne!(recorded.contains(&id), bad, "{id}");
        }
        assert_eq!(junk_rows(&db).await, 0, "{backend}");
        assert_eq!(contribution_rows(&db).await, valid, "{backend}");

        let text = metrics(&app).await;
        assert_eq!(
            metric(&text, "commons_zap_receipts_accepted_total"),
            valid as f64,
            "{backend}"
        );
        assert_eq!(metric(&text, &rejected_series("wrong_zapper")), 0.0);
        for reason in [
            "zap_request_recipient_mismatch",
            "bolt11_invalid",
            "amount_mismatch",
            "target_mismatch",
        ] {
            assert_eq!(metric(&text, &rejected_series(reason)), 20.0, "{reason}");
        }
        // Both relays hold the first half, read by backfill: each came a second time.
        assert!(
            metric(&text, "commons_zap_receipts_duplicate_total") >= (TOTAL / 2) as f64,
            "{text}"
        );
        app.stop().await;
    }
}
