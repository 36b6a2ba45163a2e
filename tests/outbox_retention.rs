//! Outbox retention (`outbox.retention_days`): delivered events past it are pruned, in
//! batches; pending, recent and "newest of its author and kind" events stay. On SQLite, and on
//! PostgreSQL too when `TEST_DATABASE_URL` is set.

mod common;

use std::time::Duration;

use common::test_db::TestDb;
use commons_nostr::metrics::Metrics;
use commons_nostr::store::entities::outbox_delivery::{self, DeliveryState};
use commons_nostr::store::entities::outbox_event;
use commons_nostr::store::outbox;
use nostr_sdk::prelude::*;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, Set};

const DAY: i64 = 24 * 3600;
const RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

fn relays() -> Vec<RelayUrl> {
    ["ws://127.0.0.1:1", "ws://127.0.0.1:2"]
        .iter()
        .map(|u| RelayUrl::parse(u).expect("url"))
        .collect()
}

/// Enqueues a fresh event of `kind` by `keys`, enqueued `age_days` ago, whose deliveries end
/// in `states` (one per relay).
async fn event(
    db: &DatabaseConnection,
    keys: &Keys,
    kind: Kind,
    age_days: i64,
    states: [DeliveryState; 2],
) -> i64 {
    let event = EventBuilder::new(kind, format!("{}", rand::random::<u64>()))
        .sign_with_keys(keys)
        .expect("signed");
    let urls = relays();
    let lease = outbox::Lease::new("test-server", std::time::Duration::from_secs(60));
    let entry = outbox::enqueue(db, &event, "test", &urls, &lease)
        .await
        .expect("enqueued");
    let created_at = chrono::Utc::now().timestamp() - age_days * DAY;
    outbox_event::Entity::update_many()
        .col_expr(
            outbox_event::Column::CreatedAt,
            sea_orm::sea_query::Expr::value(created_at),
        )
        .filter(outbox_event::Column::Id.eq(entry.id))
        .exec(db)
        .await
        .expect("aged");
    for (url, state) in urls.iter().zip(states) {
        outbox_delivery::Entity::update_many()
            .set(outbox_delivery::ActiveModel {
                state: Set(state),
                ..Default::default()
            })
            .filter(outbox_delivery::Column::OutboxEventId.eq(entry.id))
            .filter(outbox_delivery::Column::RelayUrl.eq(url.to_string()))
            .exec(db)
            .await
            .expect("delivered");
    }
    entry.id
}

async fn exists(db: &DatabaseConnection, id: i64) -> bool {
    outbox_event::Entity::find_by_id(id)
        .one(db)
        .await
        .expect("query")
        .is_some()
}

#[actix_rt::test]
async fn delivered_events_past_retention_are_pruned_in_batches_and_nothing_else() {
    use DeliveryState::{Accepted, Duplicate, Pending, Refused};
    for test_db in TestDb::all().await {
        let backend = test_db.backend();
        let db = commons_nostr::store::db::connect(&test_db.url)
            .await
            .expect("database");
        commons_nostr::store::db::migrate(&db)
            .await
            .expect("migrations");
        let bot = Keys::generate();
        let note = Kind::TextNote;

        let old_accepted = event(&db, &bot, note, 31, [Accepted, Accepted]).await;
        let old_ended = event(&db, &bot, note, 40, [Duplicate, Refused]).await;
        let old_pending = event(&db, &bot, note, 90, [Accepted, Pending]).await;
        let old_untouched = event(&db, &bot, note, 31, [Pending, Pending]).await;
        let recent = event(&db, &bot, note, 29, [Accepted, Accepted]).await;
        // The profile: the older one goes, the newest stays (it is what a new one is
        // compared with), however old.
        let old_profile = event(&db, &bot, Kind::Metadata, 60, [Accepted, Accepted]).await;
        let profile = event(&db, &bot, Kind::Metadata, 50, [Accepted, Accepted]).await;
        // A backlog of more than two batches (of 4), from another author.
        const BATCH: u64 = 4;
        let other = Keys::generate();
        let backlog = 2 * BATCH as usize + 3;
        for _ in 0..backlog {
            event(&db, &other, note, 45, [Accepted, Duplicate]).await;
        }
        let newest_of_other = event(&db, &other, note, 1, [Accepted, Accepted]).await;

        let metrics = Metrics::new();
        let cutoff = chrono::Utc::now().timestamp() - 30 * DAY;
        // One batch prunes at most its size, oldest first.
        let first = outbox::prune_delivered(&db, cutoff, 1)
            .await
            .expect("pruned");
        assert_eq!(first, 1, "{backend}");
        assert!(!exists(&db, old_accepted).await, "{backend}");
        let pruned = 1 + outbox::prune(&db, RETENTION, BATCH, &metrics)
            .await
            .expect("pruned");
        assert_eq!(pruned, 3 + backlog as u64, "{backend}");
        assert_eq!(metrics.outbox_pruned.get(), pruned - 1, "{backend}");
        for gone in [old_accepted, old_ended, old_profile] {
            assert!(!exists(&db, gone).await, "{backend}: {gone}");
        }
        for kept in [old_pending, old_untouched, recent, profile, newest_of_other] {
            assert!(exists(&db, kept).await, "{backend}: {kept}");
        }
        assert_eq!(
            outbox_event::Entity::find()
                .count(&db)
                .await
                .expect("count"),
            5,
            "{backend}"
        );
        // Deliveries went with their events; the pending ones are all still there.
        assert_eq!(
            outbox_delivery::Entity::find()
                .count(&db)
                .await
                .expect("count"),
            10,
            "{backend}"
        );
        assert_eq!(outbox::depth(&db).await.expect("depth"), 3, "{backend}");

        // Nothing more to do: a second run prunes nothing.
        let again = outbox::prune(&db, RETENTION, BATCH, &metrics)
            .await
            .expect("pruned");
        assert_eq!(again, 0, "{backend}");
    }
}
