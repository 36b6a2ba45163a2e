//! The actor core end to end: real relays on loopback ports, a real database, the whole
//! service in-process, and a separate client reading what reached each relay.

mod common;

use std::time::Duration;

use common::app::TestConfig;
use common::relays::{fetch_all, wait_for_ids, SilentRelay, TestRelay};
use common::test_db::TestDb;
use commons_nostr::actors::bot::{GetIdentity, InjectPanic, PublishEvent};
use commons_nostr::actors::relay::{GetHealth, LinkState, RelayHealth};
use commons_nostr::actors::supervision::{RestartChild, SupervisionError, ToChild};
use commons_nostr::startup::Application;
use commons_nostr::store::entities::{outbox_delivery, outbox_event};
use nostr_sdk::prelude::*;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

const ARRIVAL: Duration = Duration::from_secs(30);

async fn publish(app: &Application, bot: &str, text: &str) -> Result<EventId, SupervisionError> {
    let answer = app
        .handles()
        .bots
        .send(ToChild {
            name: bot.to_string(),
            msg: PublishEvent(EventBuilder::text_note(text)),
        })
        .await
        .expect("bot supervisor alive")?;
    Ok(answer.expect("published").event_id)
}

/// Publishes, retrying while the bot is between incarnations (its restart is asynchronous).
async fn publish_when_up(app: &Application, bot: &str, text: &str) -> EventId {
    for _ in 0..500 {
        match publish(app, bot, text).await {
            Ok(id) => return id,
            Err(SupervisionError::Unavailable { .. }) => {
                actix_rt::time::sleep(Duration::from_millis(10)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("bot {bot} never came back");
}

fn notes_by(author: PublicKey) -> Filter {
    Filter::new().author(author).kind(Kind::TextNote)
}

#[actix_rt::test]
async fn every_event_reaches_every_relay_including_a_late_one_and_a_restarted_one() {
    let db = TestDb::sqlite().await;
    let steady = TestRelay::start().await;
    let mut flaky = TestRelay::start().await;
    let mut late = TestRelay::down();
    let cfg = TestConfig::new(&db.url, vec![steady.url(), flaky.url(), late.url()]);
    let app = cfg.start().await;

    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(
            publish(&app, "gov", &format!("before the late relay {i}"))
                .await
                .unwrap(),
        );
    }
    late.restart().await;
    for i in 0..10 {
        if i == 3 {
            flaky.kill();
        }
        ids.push(
            publish(&app, "gov", &format!("mid-stream {i}"))
                .await
                .unwrap(),
        );
    }
    flaky.restart().await;
    ids.push(publish(&app, "gov", "after the restart").await.unwrap());

    let gov = cfg.bot("gov");
    for relay in [&steady, &flaky, &late] {
        let got = wait_for_ids(&relay.url(), notes_by(gov), &ids, ARRIVAL).await;
        assert_eq!(got.len(), ids.len());
        assert!(got.iter().all(|e| e.verify().is_ok()));
    }
    app.stop().await;
}

async fn relay_health(app: &Application, url: &RelayUrl) -> RelayHealth {
    app.handles()
        .relays
        .send(ToChild {
            name: url.to_string(),
            msg: GetHealth,
        })
        .await
        .expect("relay supervisor alive")
        .expect("relay actor running")
}

/// The relay actors share one nostr-sdk client: a relay actor that stops must close its own
/// relay only (shutting the client down would silence the other relay too), and its
/// replacement must connect again through the same client.
#[actix_rt::test]
async fn a_restarted_relay_actor_takes_its_place_in_the_shared_client() {
    let db = TestDb::sqlite().await;
    let steady = TestRelay::start().await;
    let restarted = TestRelay::start().await;
    let cfg = TestConfig::new(&db.url, vec![steady.url(), restarted.url()]);
    let app = cfg.start().await;

    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(publish(&app, "gov", &format!("before {i}")).await.unwrap());
    }
    let gov = cfg.bot("gov");
    wait_for_ids(&restarted.url(), notes_by(gov), &ids, ARRIVAL).await;

    app.handles()
        .relays
        .send(RestartChild(restarted.url().to_string()))
        .await
        .expect("relay supervisor alive")
        .expect("relay actor restarted");
    for i in 0..5 {
        ids.push(publish(&app, "gov", &format!("after {i}")).await.unwrap());
    }

    for relay in [&steady, &restarted] {
        let got = wait_for_ids(&relay.url(), notes_by(gov), &ids, ARRIVAL).await;
        assert_eq!(got.len(), ids.len(), "{}", relay.url());
    }
    for relay in [&steady, &restarted] {
        let health = relay_health(&app, &relay.url()).await;
        assert_eq!(health.state, LinkState::Connected, "{}", relay.url());
    }
    let metrics = app.handles().metrics.render();
    assert!(
        metrics.contains(&format!(
            r#"commons_actor_restarts_total{{actor="relay:{}"}} 1"#,
            restarted.url()
        )),
        "{metrics}"
    );
    app.stop().await;
}

/// A relay that is down holds no relay (and no notification channel) in the shared client
/// between attempts; once it comes up it is added again and gets everything.
#[actix_rt::test]
async fn a_relay_that_is_down_holds_no_place_in_the_shared_client_until_it_connects() {
    let db = TestDb::sqlite().await;
    let steady = TestRelay::start().await;
    let mut late = TestRelay::down();
    let cfg = TestConfig::new(&db.url, vec![steady.url(), late.url()]);
    let app = cfg.start().await;
    let ids = vec![publish(&app, "gov", "while one relay is down")
        .await
        .unwrap()];

    // Between two failed attempts: the same failure count, disconnected, before and after
    // looking at the client, so no attempt (which adds the relay) ran meanwhile.
    let deadline = tokio::time::Instant::now() + ARRIVAL;
    let relays_between_attempts = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no failed attempt seen"
        );
        let before = relay_health(&app, &late.url()).await;
        let relays = app.relay_client().relays().await;
        let after = relay_health(&app, &late.url()).await;
        if before.state == LinkState::Disconnected && before == after {
            break relays;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(
        !relays_between_attempts.contains_key(&late.url()),
        "a relay that is down is still in the shared client"
    );
    assert!(relays_between_attempts.contains_key(&steady.url()));

    late.restart().await;
    let gov = cfg.bot("gov");
    let got = wait_for_ids(&late.url(), notes_by(gov), &ids, ARRIVAL).await;
    assert_eq!(got.len(), ids.len());
    assert_eq!(
        relay_health(&app, &late.url()).await.state,
        LinkState::Connected
    );
    assert!(app.relay_client().relays().await.contains_key(&late.url()));
    app.stop().await;
}

#[actix_rt::test]
async fn abrupt_stop_then_restart_delivers_everything_without_re_signing() {
    for db in TestDb::all().await {
        let mut relays = [TestRelay::down(), TestRelay::down()];
        let cfg = TestConfig::new(&db.url, relays.iter().map(TestRelay::url).collect());

        // First life: every relay is down, so everything stays in the outbox. The system is
        // then dropped without a graceful stop, as a crash or `kill -9` would.
        let first = cfg.clone();
        let ids: Vec<EventId> = std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let app = first.start().await;
                let mut ids = Vec::new();
                for i in 0..5 {
                    ids.push(
                        publish(&app, "gov", &format!("undelivered {i}"))
                            .await
                            .unwrap(),
                    );
                }
                // Every bot has answered, so each has committed its profile and relay list.
                for bot in common::app::BOTS {
                    app.handles()
                        .bots
                        .send(ToChild {
                            name: bot.to_string(),
                            msg: GetIdentity,
                        })
                        .await
                        .unwrap()
                        .unwrap();
                }
                ids
            })
        })
        .join()
        .expect("first life ran");

        let conn = commons_nostr::store::db::connect(&db.url).await.unwrap();
        // The bots' events only: the server's status, health and audit head are published
        // afresh at every start, by design.
        let server = cfg.server_keys.public_key().to_hex();
        let bot_events =
            || outbox_event::Entity::find().filter(outbox_event::Column::Author.ne(server.clone()));
        let signed = bot_events().all(&conn).await.unwrap();
        let signed_before = signed.len() as u64;
        let pending = outbox_delivery::Entity::find()
            .filter(outbox_delivery::Column::State.eq(outbox_delivery::DeliveryState::Pending))
            .filter(outbox_delivery::Column::OutboxEventId.is_in(signed.iter().map(|e| e.id)))
            .count(&conn)
            .await
            .unwrap();
        // 5 notes + a profile and a relay list per bot, each pending on both relays.
        assert_eq!(signed_before, 5 + 2 * 4, "{}", db.backend());
        assert_eq!(pending, signed_before * 2, "{}", db.backend());

        for relay in &mut relays {
            relay.restart().await;
        }
        let app = cfg.start().await;
        let gov = cfg.bot("gov");
        for relay in &relays {
            let got = wait_for_ids(&relay.url(), notes_by(gov), &ids, ARRIVAL).await;
            assert_eq!(got.len(), 5);
            let profiles =
                fetch_all(&relay.url(), Filter::new().author(gov).kind(Kind::Metadata)).await;
            assert_eq!(profiles.len(), 1, "{}", db.backend());
        }
        // Nothing was signed again: the same rows, the same ids, and no second profile.
        let signed_after = bot_events().count(&conn).await.unwrap();
        assert_eq!(signed_after, signed_before, "{}", db.backend());
        let notes_on_relay = fetch_all(&relays[0].url(), notes_by(gov)).await;
        assert_eq!(notes_on_relay.len(), 5, "{}", db.backend());
        app.stop().await;
    }
}

#[actix_rt::test]
async fn a_panicking_bot_is_restarted_while_the_others_keep_publishing() {
    let db = TestDb::sqlite().await;
    let relay = TestRelay::start().await;
    let cfg = TestConfig::new(&db.url, vec![relay.url()]);
    let app = cfg.start().await;
    let bots = &app.handles().bots;

    let crashed = bots
        .send(ToChild {
            name: "gov".to_string(),
            msg: InjectPanic,
        })
        .await
        .unwrap();
    assert!(
        matches!(crashed, Err(SupervisionError::Unavailable { .. })),
        "{crashed:?}"
    );

    // The others never stopped.
    let mut dev_ids = Vec::new();
    for i in 0..5 {
        dev_ids.push(
            publish(&app, "dev", &format!("dev keeps going {i}"))
                .await
                .unwrap(),
        );
        dev_ids.push(
            publish(&app, "research", &format!("research too {i}"))
                .await
                .unwrap(),
        );
    }
    let gov_id = publish_when_up(&app, "gov", "gov is back").await;

    wait_for_ids(
        &relay.url(),
        Filter::new()
            .authors([cfg.bot("dev"), cfg.bot("research")])
            .kind(Kind::TextNote),
        &dev_ids,
        ARRIVAL,
    )
    .await;
    wait_for_ids(&relay.url(), notes_by(cfg.bot("gov")), &[gov_id], ARRIVAL).await;

    let metrics = app.handles().metrics.render();
    assert!(
        metrics.contains(r#"commons_actor_restarts_total{actor="bot:gov"} 1"#),
        "{metrics}"
    );
    assert!(!metrics.contains(r#"actor="bot:dev""#), "{metrics}");
    app.stop().await;
}

#[actix_rt::test]
async fn a_relay_that_never_answers_does_not_hold_back_the_others() {
    let db = TestDb::sqlite().await;
    let silent = SilentRelay::start().await;
    let a = TestRelay::start().await;
    let b = TestRelay::start().await;
    let cfg = TestConfig::new(&db.url, vec![silent.url(), a.url(), b.url()]);
    let app = cfg.start().await;

    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(
            publish(&app, "gov", &format!("despite the silent relay {i}"))
                .await
                .unwrap(),
        );
    }
    for relay in [&a, &b] {
        wait_for_ids(&relay.url(), notes_by(cfg.bot("gov")), &ids, ARRIVAL).await;
    }
    // The silent relay's deliveries wait in the outbox, every one of them.
    let conn = commons_nostr::store::db::connect(&db.url).await.unwrap();
    let waiting = outbox_delivery::Entity::find()
        .filter(outbox_delivery::Column::RelayUrl.eq(silent.url().to_string()))
        .filter(outbox_delivery::Column::State.eq(outbox_delivery::DeliveryState::Pending))
        .count(&conn)
        .await
        .unwrap();
    assert!(waiting >= 20, "{waiting}");
    app.stop().await;
}

#[actix_rt::test]
async fn a_relay_that_requires_nip42_auth_gets_every_event_after_authentication() {
    let db = TestDb::sqlite().await;
    let guarded = TestRelay::start_requiring_auth().await;
    let open = TestRelay::start().await;
    let cfg = TestConfig::new(&db.url, vec![guarded.url(), open.url()]);
    let app = cfg.start().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            publish(&app, "gov", &format!("behind auth {i}"))
                .await
                .unwrap(),
        );
    }
    for relay in [&guarded, &open] {
        wait_for_ids(&relay.url(), notes_by(cfg.bot("gov")), &ids, ARRIVAL).await;
    }
    // Control: the relay really refuses writes from a client that cannot authenticate.
    let anonymous = common::relays::reader(&guarded.url()).await;
    let stranger = EventBuilder::text_note("no auth")
        .sign_with_keys(&Keys::generate())
        .unwrap();
    let refused = anonymous.send_event(&stranger).await.unwrap();
    assert!(refused.success.is_empty(), "{refused:?}");
    assert!(
        refused.failed.values().any(|m| m.contains("auth-required")),
        "{refused:?}"
    );
    app.stop().await;
}
