//! 50,000 junk zap receipts from random signers, through a real in-process relay, while an
//! honest LNURL provider's receipts arrive meanwhile (DESIGN.md "Zaps accepted"; issue 11,
//! "bounded and hostile-proof").
//!
//! One bot's provider key stays pending for the whole test, so the tracker cannot ask relays
//! for `authors` = the providers: every junk receipt is downloaded and judged. What is checked:
//!
//! - the database grows by a fixed bound, whatever the flood: no `rejected_receipts` row for
//!   junk, at most [`JUNK_SIGNERS_KEPT`] rows in `junk_receipt_signers`, and (SQLite) at most
//!   [`FILE_GROWTH_BOUND`] bytes of file growth (database and WAL), where storing the junk
//!   whole would take tens of megabytes;
//! - every junk receipt is counted in `commons_zap_receipts_rejected_total{reason="wrong_zapper"}`;
//! - every honest receipt is recorded;
//! - the service stays healthy (`/healthz` 200).

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::relays::TestRelay;
use common::test_db::TestDb;
use common::zaps::{
    build_many, is_recorded, junk_rows, metric, metrics, publish, rejected_rows, wait_for_metrics,
    wait_until, zap_config, LnurlServer, Zaps,
};
use commons_nostr::nostr::zap_provider::ZapProvider;
use commons_nostr::store::zap_ledger::JUNK_SIGNERS_KEPT;
use nostr_sdk::prelude::*;

const JUNK: usize = 50_000;
/// More distinct signers than the table keeps: eviction is exercised.
const SIGNERS: usize = 1_500;
const HONEST: usize = 50;
/// The most the SQLite database file (checkpointed) may grow by during the flood: the honest receipts (a few
/// KB each with their JSON, contributions and indexes) and the capped junk table (about 200
/// bytes a row with its indexes). The junk stored whole would be 50,000 x ~600 bytes = 30 MB.
const FILE_GROWTH_BOUND: u64 = 1024 * 1024;
/// The WAL is not data: SQLite checkpoints it every 1,000 pages (4 MiB) and then reuses it,
/// so it stays near that size whatever the flood. Bounded separately, with room.
const WAL_BOUND: u64 = 8 * 1024 * 1024;

/// The SQLite database file and its WAL, from a `sqlite://path?mode=rwc` URL.
fn sqlite_files(url: &str) -> (PathBuf, PathBuf) {
    let path = url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    (PathBuf::from(&path), PathBuf::from(format!("{path}-wal")))
}

fn size_of(file: &PathBuf) -> u64 {
    std::fs::metadata(file).map_or(0, |m| m.len())
}

/// Moves everything in SQLite's WAL into the database file, so the file's size is the data's.
async fn checkpoint(db: &sea_orm::DatabaseConnection, backend: &str) {
    use sea_orm::ConnectionTrait;
    if backend == "sqlite" {
        db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .expect("checkpoint");
    }
}

async fn healthz(addr: std::net::SocketAddr) -> u16 {
    awc::Client::default()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[actix_rt::test]
async fn fifty_thousand_junk_receipts_grow_the_database_by_a_fixed_bound() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let relay = TestRelay::start().await;
        let lnurl = LnurlServer::start();
        let provider = ZapProvider::generate();
        // Every bot's provider is known but dev's, looked up at an endpoint that answers 503.
        let cfg = zap_config(&test_db.url, vec![relay.url()], &provider.public_key())
            .with("COMMONS__NOSTR__BOTS__DEV__ZAPPER_PUBKEY", "")
            .with("COMMONS__NOSTR__BOTS__DEV__LNURLP_URL", &lnurl.url("dev"));
        let zaps = Zaps {
            provider,
            sender: Keys::generate(),
            bot: cfg.bot("gov"),
        };
        let app = cfg.start().await;
        let db = commons_nostr::store::db::connect(&test_db.url)
            .await
            .expect("database");

        let started = Instant::now();
        let signers: Vec<Keys> = (0..SIGNERS).map(|_| Keys::generate()).collect();
        let gov = zaps.bot;
        let junk = build_many(JUNK, |i| {
            // A distinct description each: otherwise one signer's receipts within one second
            // are the same event.
            let tags = vec![
                Tag::public_key(gov),
                Tag::parse(["bolt11", "lnbc1junk"]).expect("tag"),
                Tag::parse(["description", &format!("{{\"junk\":{i}}}")]).expect("tag"),
            ];
            Zaps::receipt_with(&signers[i % SIGNERS], tags, Timestamp::now())
        });
        let honest: Vec<Event> = (0..HONEST)
            .map(|i| zaps.honest(&format!("support {i}")))
            .collect();
        let built = started.elapsed();
        // One honest receipt every thousand junk ones.
        let mut flood = Vec::with_capacity(JUNK + HONEST);
        for (i, chunk) in junk.chunks(JUNK / HONEST).enumerate() {
            flood.extend_from_slice(chunk);
            if let Some(receipt) = honest.get(i) {
                flood.push(receipt.clone());
            }
        }

        let (file, wal) = sqlite_files(&test_db.url);
        let rows_before = rejected_rows(&db).await + junk_rows(&db).await;
        checkpoint(&db, backend).await;
        let size_before = size_of(&file);
        assert_eq!(healthz(app.http_addr()).await, 200, "{backend}");

        let published_at = Instant::now();
        publish(&[relay.url()], &flood).await;
        let published = published_at.elapsed();
        assert_eq!(
            healthz(app.http_addr()).await,
            200,
            "{backend}: during the flood"
        );

        wait_until(
            Duration::from_secs(120),
            "every honest receipt recorded",
            || {
                let db = &db;
                let honest = &honest;
                async move {
                    for receipt in honest {
                        if !is_recorded(db, &receipt.id).await {
                            return false;
                        }
                    }
                    true
                }
            },
        )
        .await;
        wait_for_metrics(
            &app,
            Duration::from_secs(120),
            "every junk receipt counted",
            |text| {
                metric(
                    text,
                    "commons_zap_receipts_rejected_total{reason=\"wrong_zapper\"}",
                ) >= JUNK as f64
            },
        )
        .await;
        let judged = published_at.elapsed();

        let rows_after = rejected_rows(&db).await + junk_rows(&db).await;
        let wal_size = size_of(&wal);
        checkpoint(&db, backend).await;
        let size_after = size_of(&file);
        let text = metrics(&app).await;
        eprintln!(
            "{backend}: built {JUNK} junk + {HONEST} honest in {built:?}, published in \
             {published:?}, all judged after {judged:?}; rows (rejected + junk) {rows_before} -> \
             {rows_after}; sqlite file {size_before} -> {size_after} bytes, WAL {wal_size} bytes"
        );
        assert_eq!(
            rejected_rows(&db).await,
            0,
            "{backend}: no junk stored whole"
        );
        assert!(rows_after - rows_before <= JUNK_SIGNERS_KEPT, "{backend}");
        assert_eq!(junk_rows(&db).await, JUNK_SIGNERS_KEPT, "{backend}: capped");
        if backend == "sqlite" {
            let growth = size_after.saturating_sub(size_before);
            assert!(
                growth <= FILE_GROWTH_BOUND,
                "{backend}: grew by {growth} bytes"
            );
            assert!(wal_size <= WAL_BOUND, "{backend}: WAL {wal_size} bytes");
        }
        assert_eq!(
            metric(
                &text,
                "commons_zap_receipts_rejected_total{reason=\"wrong_zapper\"}"
            ),
            JUNK as f64,
            "{backend}: each junk receipt counted once"
        );
        assert_eq!(
            metric(&text, "commons_zap_receipts_accepted_total"),
            HONEST as f64,
            "{backend}"
        );
        assert_eq!(
            healthz(app.http_addr()).await,
            200,
            "{backend}: after the flood"
        );
        app.stop().await;
        lnurl.stop().await;
    }
}
