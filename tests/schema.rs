//! The schema, on every backend: migrations go up, down and up again, each one reversible on
//! its own; every uniqueness rule is enforced by the database itself; foreign keys hold; and
//! the connection settings of `commons_nostr::store::db` are what its documentation promises.
//!
//! Runs on SQLite always, and on PostgreSQL too when `TEST_DATABASE_URL` is set:
//!
//! ```text
//! cargo test --test schema
//! TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo test --test schema
//! ```

mod common;

use common::test_db::TestDb;
use commons_nostr::store::db;
use commons_nostr::store::entities::outbox_delivery::DeliveryState;
use commons_nostr::store::entities::{
    audit_log_entry, contribution, governance_proposal, outbox_delivery, outbox_event,
    proposal_zap_vote, rejected_receipt, relay_cursor, zap_receipt,
};
use migration::{MigrationStatus, Migrator, MigratorTrait, SchemaManager};
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ConnectionTrait, DatabaseConnection, DbBackend,
    EntityTrait, IntoActiveModel, ModelTrait, PaginatorTrait, Set, SqlErr, Statement,
};

/// What one migration makes.
struct MigrationSpec {
    name: &'static str,
    tables: &'static [&'static str],
    /// `(table, index)` pairs.
    indexes: &'static [(&'static str, &'static str)],
}

/// Each migration, in order, with the tables and named indexes it makes.
const MIGRATIONS: [MigrationSpec; 15] = [
    MigrationSpec {
        name: "m20261120_000100_create_outbox",
        tables: &["outbox_events", "outbox_deliveries"],
        indexes: &[
            ("outbox_events", "ux_outbox_events_event_id"),
            ("outbox_deliveries", "ux_outbox_deliveries_event_relay"),
            ("outbox_deliveries", "ix_outbox_deliveries_relay_state"),
        ],
    },
    MigrationSpec {
        name: "m20261120_000200_create_zaps",
        tables: &["zap_receipts", "rejected_receipts"],
        indexes: &[
            ("zap_receipts", "ux_zap_receipts_receipt_id"),
            ("zap_receipts", "ux_zap_receipts_payment_hash"),
            ("zap_receipts", "ix_zap_receipts_sender_pubkey"),
            ("zap_receipts", "ix_zap_receipts_proposal_event_id"),
            ("rejected_receipts", "ux_rejected_receipts_receipt_id"),
            ("rejected_receipts", "ix_rejected_receipts_reason"),
        ],
    },
    MigrationSpec {
        name: "m20261120_000300_create_governance",
        tables: &[
            "governance_proposals",
            "contributions",
            "proposal_zap_votes",
        ],
        indexes: &[
            ("governance_proposals", "ux_governance_proposals_event_id"),
            ("governance_proposals", "ux_governance_proposals_address"),
            ("contributions", "ux_contributions_source_id"),
            ("contributions", "ix_contributions_sender_time"),
            ("proposal_zap_votes", "ux_proposal_zap_votes_receipt_id"),
            (
                "proposal_zap_votes",
                "ix_proposal_zap_votes_governance_event_id",
            ),
        ],
    },
    MigrationSpec {
        name: "m20261120_000400_create_audit_log",
        tables: &["audit_log"],
        indexes: &[("audit_log", "ux_audit_log_position")],
    },
    MigrationSpec {
        name: "m20261120_000500_create_relay_cursors",
        tables: &["relay_cursors"],
        indexes: &[("relay_cursors", "ux_relay_cursors_relay_stream")],
    },
    MigrationSpec {
        name: "m20261202_000600_proposal_rules_and_tallies",
        tables: &[],
        indexes: &[],
    },
    MigrationSpec {
        name: "m20261202_000700_create_junk_receipt_signers",
        tables: &["junk_receipt_signers"],
        indexes: &[
            ("junk_receipt_signers", "ux_junk_receipt_signers_signer"),
            ("junk_receipt_signers", "ix_junk_receipt_signers_last_seen"),
        ],
    },
    MigrationSpec {
        name: "m20261202_000800_outbox_lease",
        tables: &[],
        indexes: &[(
            "outbox_deliveries",
            "ix_outbox_deliveries_relay_state_lease",
        )],
    },
    MigrationSpec {
        name: "m20261205_000900_zap_receipt_anomalies",
        tables: &[],
        indexes: &[("zap_receipts", "ux_zap_receipts_payment_hash")],
    },
    MigrationSpec {
        name: "m20261205_001000_shared_tallies",
        tables: &["tally_leases"],
        indexes: &[("tally_leases", "ux_tally_leases_name")],
    },
    MigrationSpec {
        name: "m20261205_001700_vote_targets",
        tables: &["proposal_targets"],
        // Its `ux_proposal_targets_target_event_id` is replaced by the next migration.
        indexes: &[("proposal_targets", "ix_proposal_targets_proposal_event_id")],
    },
    MigrationSpec {
        name: "m20261205_001800_targets_per_proposal",
        tables: &[],
        indexes: &[
            ("proposal_targets", "ux_proposal_targets_proposal_target"),
            ("proposal_targets", "ix_proposal_targets_target_event_id"),
        ],
    },
    MigrationSpec {
        name: "m20261207_001900_private_zaps",
        tables: &[],
        indexes: &[],
    },
    MigrationSpec {
        name: "m20261207_002000_create_github_deliveries",
        tables: &["github_deliveries"],
        indexes: &[("github_deliveries", "ux_github_deliveries_delivery_id")],
    },
    MigrationSpec {
        name: "m20261207_002300_ballot_key_pins",
        tables: &["ballot_key_pins"],
        indexes: &[("ballot_key_pins", "ux_ballot_key_pins_ballot_key")],
    },
];

/// Connects to a test database without migrating it.
async fn connect(test_db: &TestDb) -> DatabaseConnection {
    db::connect(&test_db.url)
        .await
        .unwrap_or_else(|e| panic!("{}: connect: {e}", test_db.backend()))
}

/// Connects to a test database and applies every migration.
async fn migrated(test_db: &TestDb) -> DatabaseConnection {
    let conn = connect(test_db).await;
    db::migrate(&conn)
        .await
        .unwrap_or_else(|e| panic!("{}: migrate: {e}", test_db.backend()));
    conn
}

/// Asserts which migrations are applied: exactly the first `applied` of them.
async fn assert_applied(conn: &DatabaseConnection, backend: &str, applied: usize) {
    let statuses: Vec<(String, MigrationStatus)> = Migrator::get_migration_with_status(conn)
        .await
        .unwrap()
        .iter()
        .map(|m| (m.name().to_owned(), m.status()))
        .collect();
    let expected: Vec<(String, MigrationStatus)> = MIGRATIONS
        .iter()
        .enumerate()
        .map(|(i, migration)| {
            let status = if i < applied {
                MigrationStatus::Applied
            } else {
                MigrationStatus::Pending
            };
            (migration.name.to_owned(), status)
        })
        .collect();
    assert_eq!(statuses, expected, "{backend}: migration status");
}

/// Asserts that the schema holds exactly what the first `applied` migrations make.
async fn assert_schema(conn: &DatabaseConnection, backend: &str, applied: usize) {
    let manager = SchemaManager::new(conn);
    for (i, migration) in MIGRATIONS.iter().enumerate() {
        let present = i < applied;
        let name = migration.name;
        for table in migration.tables {
            assert_eq!(
                manager.has_table(table).await.unwrap(),
                present,
                "{backend}: table {table} of {name} should be {}",
                if present { "present" } else { "absent" }
            );
        }
        if present {
            for (table, index) in migration.indexes {
                assert!(
                    manager.has_index(table, index).await.unwrap(),
                    "{backend}: index {index} on {table} missing"
                );
            }
        }
    }
    assert_applied(conn, backend, applied).await;
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let conn = connect(&test_db).await;
        assert_schema(&conn, backend, 0).await;

        Migrator::up(&conn, None).await.unwrap();
        assert_schema(&conn, backend, MIGRATIONS.len()).await;

        Migrator::down(&conn, None).await.unwrap();
        assert_schema(&conn, backend, 0).await;

        Migrator::up(&conn, None).await.unwrap();
        assert_schema(&conn, backend, MIGRATIONS.len()).await;

        // `db::migrate` on an up-to-date database changes nothing.
        db::migrate(&conn).await.unwrap();
        assert_schema(&conn, backend, MIGRATIONS.len()).await;
    }
}

#[tokio::test]
async fn each_migration_is_reversible_on_its_own() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let conn = connect(&test_db).await;
        for applied in 1..=MIGRATIONS.len() {
            Migrator::up(&conn, Some(1)).await.unwrap();
            assert_schema(&conn, backend, applied).await;
        }
        for applied in (0..MIGRATIONS.len()).rev() {
            Migrator::down(&conn, Some(1)).await.unwrap();
            assert_schema(&conn, backend, applied).await;
        }
    }
}

#[tokio::test]
async fn concurrent_migrations_apply_once() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let (a, b) = (connect(&test_db).await, connect(&test_db).await);
        let (first, second) = tokio::join!(db::migrate(&a), db::migrate(&b));
        first.unwrap_or_else(|e| panic!("{backend}: first migrate: {e}"));
        second.unwrap_or_else(|e| panic!("{backend}: second migrate: {e}"));
        assert_schema(&a, backend, MIGRATIONS.len()).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Uniqueness rules: each one refused by the database, not only by code.

/// Inserts `first`, then checks that inserting `duplicate` is refused with a unique-constraint
/// violation and leaves the table with its one row.
async fn assert_duplicate_refused<A>(
    conn: &DatabaseConnection,
    backend: &str,
    rule: &str,
    first: A,
    duplicate: A,
) where
    A: ActiveModelTrait + Send,
    <A::Entity as EntityTrait>::Model: IntoActiveModel<A> + Sync,
{
    A::Entity::insert(first)
        .exec(conn)
        .await
        .unwrap_or_else(|e| panic!("{backend}: {rule}: first insert: {e}"));
    let err = A::Entity::insert(duplicate)
        .exec(conn)
        .await
        .map(|_| ())
        .expect_err(&format!("{backend}: {rule}: duplicate was accepted"));
    assert!(
        matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))),
        "{backend}: {rule}: expected a unique violation, got {err:?}"
    );
    assert_eq!(
        A::Entity::find().count(conn).await.unwrap(),
        1,
        "{backend}: {rule}: row count after the refused duplicate"
    );
}

/// Deletes every row of `E`, so the next rule on the same table starts empty.
async fn clear<E: EntityTrait>(conn: &DatabaseConnection) {
    E::delete_many().exec(conn).await.unwrap();
}

fn hex64(seed: char) -> String {
    seed.to_string().repeat(64)
}

fn outbox_event(event_id: &str) -> outbox_event::ActiveModel {
    outbox_event::ActiveModel {
        id: NotSet,
        event_id: Set(event_id.to_owned()),
        kind: Set(30078),
        author: Set(hex64('a')),
        signer: Set("server".to_owned()),
        d_tag: Set(Some("governance-status".to_owned())),
        event_json: Set("{}".to_owned()),
        created_at: Set(1_700_000_000),
    }
}

fn delivery(outbox_event_id: i64, relay_url: &str) -> outbox_delivery::ActiveModel {
    outbox_delivery::ActiveModel {
        id: NotSet,
        outbox_event_id: Set(outbox_event_id),
        relay_url: Set(relay_url.to_owned()),
        state: Set(DeliveryState::Pending),
        attempts: NotSet,
        last_error: Set(None),
        updated_at: Set(1_700_000_000),
        claimed_by: Set(None),
        lease_until: Set(None),
    }
}

fn zap_receipt(receipt_id: &str, payment_hash: &str) -> zap_receipt::ActiveModel {
    zap_receipt::ActiveModel {
        id: NotSet,
        receipt_id: Set(receipt_id.to_owned()),
        payment_hash: Set(payment_hash.to_owned()),
        recipient_pubkey: Set(hex64('b')),
        sender_pubkey: Set(hex64('c')),
        amount_msat: Set(21_000),
        proposal_event_id: Set(Some(hex64('d'))),
        proposal_address: Set(None),
        zap_request_content: Set("support".to_owned()),
        receipt_created_at: Set(1_700_000_000),
        recorded_at: Set(1_700_000_001),
        relay_url: Set("wss://relay.example.org".to_owned()),
        event_json: Set("{}".to_owned()),
        anomalies: Set(String::new()),
        zapper_pubkey: Set(Some(hex64('e'))),
        zapped_event_id: Set(Some(hex64('d'))),
        zapped_address: Set(None),
        poll_option: Set(None),
        recorded_by: Set(None),
        private_zap: Set(false),
    }
}

fn rejected_receipt(receipt_id: &str) -> rejected_receipt::ActiveModel {
    rejected_receipt::ActiveModel {
        id: NotSet,
        receipt_id: Set(receipt_id.to_owned()),
        reason: Set("bad_signature".to_owned()),
        detail: Set("signature does not verify".to_owned()),
        relay_url: Set("wss://relay.example.org".to_owned()),
        event_json: Set("{}".to_owned()),
        received_at: Set(1_700_000_000),
    }
}

fn proposal(event_id: &str, address: &str) -> governance_proposal::ActiveModel {
    governance_proposal::ActiveModel {
        id: NotSet,
        event_id: Set(event_id.to_owned()),
        address: Set(address.to_owned()),
        repository: Set("bitcoin-commons/commons".to_owned()),
        pr: Set(42),
        tier: Set(3),
        title: Set("Proposal".to_owned()),
        voting_start: Set(1_700_000_000),
        voting_end: Set(1_701_209_600),
        created_at: Set(1_700_000_000),
        rules: Set(None),
        tally_created_at: Set(None),
        tally_digest: Set(None),
        tally_final: Set(false),
    }
}

fn contribution(source_id: &str) -> contribution::ActiveModel {
    contribution::ActiveModel {
        id: NotSet,
        sender_pubkey: Set(hex64('c')),
        amount_msat: Set(21_000),
        source: Set("zap".to_owned()),
        source_id: Set(source_id.to_owned()),
        contributed_at: Set(1_700_000_000),
    }
}

fn vote(receipt_id: &str) -> proposal_zap_vote::ActiveModel {
    proposal_zap_vote::ActiveModel {
        id: NotSet,
        pr_id: Set(42),
        governance_event_id: Set(hex64('d')),
        sender_pubkey: Set(hex64('c')),
        amount_msat: Set(21_000),
        amount_btc: Set(0.000_000_21),
        vote_weight: Set(0.000_458),
        vote_type: Set("support".to_owned()),
        timestamp: Set(1_700_000_000),
        verified: Set(true),
        receipt_id: Set(receipt_id.to_owned()),
    }
}

fn cursor(relay_url: &str, stream: &str) -> relay_cursor::ActiveModel {
    relay_cursor::ActiveModel {
        id: NotSet,
        relay_url: Set(relay_url.to_owned()),
        stream: Set(stream.to_owned()),
        last_seen_at: Set(1_700_000_000),
        updated_at: Set(1_700_000_000),
    }
}

fn audit_entry(position: i64, leaf_hash: &str) -> audit_log_entry::ActiveModel {
    audit_log_entry::ActiveModel {
        id: NotSet,
        position: Set(position),
        entry_type: Set("merge".to_owned()),
        entry_json: Set("{}".to_owned()),
        leaf_hash: Set(leaf_hash.to_owned()),
        created_at: Set(1_700_000_000),
    }
}

#[tokio::test]
async fn outbox_uniqueness_is_enforced() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let conn = migrated(&test_db).await;

        assert_duplicate_refused(
            &conn,
            backend,
            "outbox_events.event_id",
            outbox_event(&hex64('1')),
            outbox_event(&hex64('1')),
        )
        .await;

        let event = outbox_event::Entity::find()
            .one(&conn)
            .await
            .unwrap()
            .expect("the event inserted above");
        assert_duplicate_refused(
            &conn,
            backend,
            "outbox_deliveries(outbox_event_id, relay_url)",
            delivery(event.id, "wss://a.example.org"),
            delivery(event.id, "wss://a.example.org"),
        )
        .await;
        // The rule is on the pair: the same event on another relay is a new delivery.
        delivery(event.id, "wss://b.example.org")
            .insert(&conn)
            .await
            .unwrap_or_else(|e| panic!("{backend}: second relay: {e}"));
        assert_eq!(
            outbox_delivery::Entity::find().count(&conn).await.unwrap(),
            2
        );
    }
}

#[tokio::test]
async fn zap_uniqueness_is_enforced() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let conn = migrated(&test_db).await;

        assert_duplicate_refused(
            &conn,
            backend,
            "zap_receipts.receipt_id",
            zap_receipt(&hex64('1'), &hex64('a')),
            zap_receipt(&hex64('1'), &hex64('b')),
        )
        .await;
        clear::<zap_receipt::Entity>(&conn).await;
        // The same payment in a receipt with another id (another LNURL server re-signing it).
        assert_duplicate_refused(
            &conn,
            backend,
            "zap_receipts.payment_hash",
            zap_receipt(&hex64('1'), &hex64('a')),
            zap_receipt(&hex64('2'), &hex64('a')),
        )
        .await;

        clear::<zap_receipt::Entity>(&conn).await;
        // An invoice without a payment hash (anomaly `payment_hash`) is stored with an empty
        // one, which the payment hash rule leaves out: such receipts are once by id alone.
        for id in ['4', '5'] {
            let mut row = zap_receipt(&hex64(id), "");
            row.anomalies = Set("description_hash,payment_hash".to_owned());
            zap_receipt::Entity::insert(row)
                .exec(&conn)
                .await
                .unwrap_or_else(|e| panic!("{backend}: receipt without payment hash: {e}"));
        }
        assert_eq!(
            zap_receipt::Entity::find().count(&conn).await.unwrap(),
            2,
            "{backend}"
        );
        clear::<zap_receipt::Entity>(&conn).await;
        assert_duplicate_refused(
            &conn,
            backend,
            "zap_receipts.receipt_id without a payment hash",
            zap_receipt(&hex64('6'), ""),
            zap_receipt(&hex64('6'), ""),
        )
        .await;

        assert_duplicate_refused(
            &conn,
            backend,
            "rejected_receipts.receipt_id",
            rejected_receipt(&hex64('3')),
            rejected_receipt(&hex64('3')),
        )
        .await;
    }
}

#[tokio::test]
async fn governance_uniqueness_is_enforced() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let conn = migrated(&test_db).await;
        let address = |d: &str| format!("30078:{}:{d}", hex64('a'));

        assert_duplicate_refused(
            &conn,
            backend,
            "governance_proposals.event_id",
            proposal(&hex64('1'), &address("action:repo:1:review-period")),
            proposal(&hex64('1'), &address("action:repo:2:review-period")),
        )
        .await;
        clear::<governance_proposal::Entity>(&conn).await;
        assert_duplicate_refused(
            &conn,
            backend,
            "governance_proposals.address",
            proposal(&hex64('1'), &address("action:repo:1:review-period")),
            proposal(&hex64('2'), &address("action:repo:1:review-period")),
        )
        .await;

        assert_duplicate_refused(
            &conn,
            backend,
            "contributions.source_id",
            contribution(&hex64('1')),
            contribution(&hex64('1')),
        )
        .await;

        assert_duplicate_refused(
            &conn,
            backend,
            "proposal_zap_votes.receipt_id",
            vote(&hex64('1')),
            vote(&hex64('1')),
        )
        .await;
    }
}

#[tokio::test]
async fn cursor_and_audit_uniqueness_is_enforced() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let conn = migrated(&test_db).await;

        assert_duplicate_refused(
            &conn,
            backend,
            "relay_cursors(relay_url, stream)",
            cursor("wss://a.example.org", "zap-receipts"),
            cursor("wss://a.example.org", "zap-receipts"),
        )
        .await;
        // The rule is on the pair: another stream on the same relay, or the same stream on
        // another relay, is a new cursor.
        cursor("wss://a.example.org", "governance")
            .insert(&conn)
            .await
            .unwrap();
        cursor("wss://b.example.org", "zap-receipts")
            .insert(&conn)
            .await
            .unwrap();
        assert_eq!(relay_cursor::Entity::find().count(&conn).await.unwrap(), 3);

        assert_duplicate_refused(
            &conn,
            backend,
            "audit_log.position",
            audit_entry(0, &hex64('1')),
            audit_entry(0, &hex64('2')),
        )
        .await;
    }
}

// ---------------------------------------------------------------------------------------------
// Foreign keys, defaults and connection behaviour.

#[tokio::test]
async fn deliveries_follow_their_event() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let conn = migrated(&test_db).await;

        // A delivery of an event that does not exist is refused (foreign keys are on).
        let err = delivery(999, "wss://a.example.org")
            .insert(&conn)
            .await
            .expect_err("a delivery of a missing event");
        assert!(
            matches!(
                err.sql_err(),
                Some(SqlErr::ForeignKeyConstraintViolation(_))
            ),
            "{backend}: expected a foreign-key violation, got {err:?}"
        );

        let event = outbox_event(&hex64('1')).insert(&conn).await.unwrap();
        let pending = delivery(event.id, "wss://a.example.org")
            .insert(&conn)
            .await
            .unwrap();
        assert_eq!(pending.attempts, 0, "{backend}: attempts defaults to 0");
        assert_eq!(pending.state, DeliveryState::Pending);
        assert_eq!(
            event
                .find_related(outbox_delivery::Entity)
                .all(&conn)
                .await
                .unwrap(),
            vec![pending],
            "{backend}: the relation finds the delivery"
        );

        // Deleting the event deletes its deliveries.
        event.delete(&conn).await.unwrap();
        assert_eq!(
            outbox_delivery::Entity::find().count(&conn).await.unwrap(),
            0,
            "{backend}: deliveries cascade with their event"
        );
    }
}

#[tokio::test]
async fn data_survives_a_restart() {
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let conn = migrated(&test_db).await;
        audit_entry(0, &hex64('1')).insert(&conn).await.unwrap();
        conn.close().await.unwrap();

        let conn = migrated(&test_db).await;
        let entries = audit_log_entry::Entity::find().all(&conn).await.unwrap();
        assert_eq!(entries.len(), 1, "{backend}: the entry is still there");
        assert_eq!(entries[0].leaf_hash, hex64('1'));
        assert!(db::ping(&conn).await, "{backend}: ping");
    }
}

/// Reads a single-value `PRAGMA` on SQLite.
async fn pragma(conn: &DatabaseConnection, name: &str) -> String {
    let row = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            format!("PRAGMA {name}"),
        ))
        .await
        .unwrap()
        .expect("a PRAGMA row");
    row.try_get_by_index::<String>(0)
        .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
        .unwrap()
}

#[tokio::test]
async fn sqlite_connections_use_wal_busy_timeout_and_foreign_keys() {
    let test_db = TestDb::sqlite().await;
    let conn = connect(&test_db).await;
    assert_eq!(pragma(&conn, "journal_mode").await, "wal");
    assert_eq!(pragma(&conn, "foreign_keys").await, "1");
    let busy_ms: u64 = pragma(&conn, "busy_timeout").await.parse().unwrap();
    assert!(busy_ms >= 5_000, "busy_timeout is {busy_ms} ms");
}

#[tokio::test]
async fn sqlite_creates_missing_directories_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested").join("deeper").join("commons.db");
    // No `?mode=rwc`: a missing file is created all the same.
    let url = format!("sqlite://{}", file.display());
    let conn = db::connect(&url).await.unwrap();
    db::migrate(&conn).await.unwrap();
    assert!(file.is_file(), "{} was not created", file.display());
    assert!(db::ping(&conn).await);
}

#[tokio::test]
async fn ping_reports_a_closed_pool_as_down() {
    for test_db in TestDb::all().await {
        let conn = connect(&test_db).await;
        assert!(db::ping(&conn).await, "{}: ping", test_db.backend());
        conn.close_by_ref().await.unwrap();
        assert!(
            !db::ping(&conn).await,
            "{}: ping after close",
            test_db.backend()
        );
    }
}

#[tokio::test]
async fn unsupported_urls_are_refused() {
    let err = db::connect("mysql://root:hunter22@localhost/commons")
        .await
        .expect_err("mysql is not supported");
    let message = err.to_string();
    assert!(message.contains("unsupported database URL"), "{message}");
    assert!(!message.contains("hunter22"), "{message}");
}

#[tokio::test]
async fn postgres_errors_name_the_cause_not_the_password() {
    let Ok(server) = std::env::var(common::test_db::TEST_DATABASE_URL) else {
        return;
    };
    let mut url = url::Url::parse(&server).unwrap();
    url.set_password(Some("topsecret")).unwrap();
    url.set_path("/commons_no_such_database");
    let err = db::connect(url.as_str())
        .await
        .expect_err("the database does not exist");
    let message = err.to_string();
    assert!(message.contains("does not exist"), "{message}");
    assert!(!message.contains("topsecret"), "{message}");
}

#[actix_rt::test]
async fn receipts_recorded_before_vote_targets_keep_what_they_named() {
    use sea_orm::sea_query::{Alias, Expr, Query};
    use sea_orm::QueryOrder;

    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let conn = connect(&test_db).await;
        // The schema as it was before `m20261205_001700_vote_targets`.
        let before = MIGRATIONS
            .iter()
            .position(|m| m.name == "m20261205_001700_vote_targets")
            .expect("the vote-targets migration");
        Migrator::up(&conn, Some(before as u32)).await.unwrap();
        let mut insert = Query::insert();
        insert.into_table(Alias::new("zap_receipts")).columns(
            [
                "receipt_id",
                "payment_hash",
                "recipient_pubkey",
                "sender_pubkey",
                "amount_msat",
                "proposal_event_id",
                "proposal_address",
                "zap_request_content",
                "receipt_created_at",
                "recorded_at",
                "relay_url",
                "event_json",
            ]
            .map(Alias::new),
        );
        for (n, event, address) in [
            ('1', Some(hex64('d')), Some("30078:x:d".to_owned())),
            ('2', None, None),
        ] {
            insert
                .values([
                    Expr::val(hex64(n)),
                    Expr::val(hex64(n)),
                    Expr::val(hex64('b')),
                    Expr::val(hex64('c')),
                    Expr::val(21_000i64),
                    Expr::val(event),
                    Expr::val(address),
                    Expr::val("veto"),
                    Expr::val(1_700_000_000i64),
                    Expr::val(1_700_000_001i64),
                    Expr::val("wss://relay.example.org"),
                    Expr::val("{}"),
                ])
                .unwrap();
        }
        conn.execute(&insert).await.unwrap();
        Migrator::up(&conn, None).await.unwrap();
        let rows = zap_receipt::Entity::find()
            .order_by_asc(zap_receipt::Column::ReceiptId)
            .all(&conn)
            .await
            .unwrap();
        assert_eq!(rows.len(), 2, "{backend}");
        assert_eq!(rows[0].zapped_event_id, Some(hex64('d')), "{backend}");
        assert_eq!(rows[0].zapped_address.as_deref(), Some("30078:x:d"));
        assert_eq!(rows[0].poll_option, None);
        assert_eq!(
            (
                rows[1].zapped_event_id.clone(),
                rows[1].zapped_address.clone()
            ),
            (None, None)
        );
    }
}

#[actix_rt::test]
async fn a_target_is_recorded_once_per_proposal_it_tags() {
    use commons_nostr::store::entities::proposal_target;
    use commons_nostr::store::vote_ledger::record_target;
    use nostr_sdk::{EventId, Kind};

    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let conn = migrated(&test_db).await;
        let id = |seed: char| EventId::from_hex(&hex64(seed)).unwrap();
        let (first, second, note) = (id('1'), id('2'), id('a'));
        // One event tagging two proposals is a target of both (DESIGN.md "Votes", *Targets*),
        // and a second delivery of either pair records nothing more.
        assert!(record_target(&conn, &first, &note, Kind::TextNote, 1)
            .await
            .unwrap());
        assert!(record_target(&conn, &second, &note, Kind::TextNote, 1)
            .await
            .unwrap());
        assert!(!record_target(&conn, &first, &note, Kind::TextNote, 2)
            .await
            .unwrap());
        let rows = proposal_target::Entity::find().all(&conn).await.unwrap();
        let mut pairs: Vec<(String, String)> = rows
            .into_iter()
            .map(|r| (r.proposal_event_id, r.target_event_id))
            .collect();
        pairs.sort();
        assert_eq!(
            pairs,
            vec![(hex64('1'), hex64('a')), (hex64('2'), hex64('a'))],
            "{backend}"
        );
    }
}
