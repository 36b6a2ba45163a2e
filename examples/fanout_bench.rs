//! Publish fan-out latency: from a bot's publish request to the event being served by the last
//! healthy relay, with 1 relay, and with 10 relays of which 2 accept TCP and never answer.
//!
//! ```text
//! cargo run --release --example fanout_bench [-- --events 300]
//! ```
//!
//! The whole service runs in-process (SQLite outbox, supervised relay and bot actors) against
//! real nostr-relay-builder relays on loopback. A third scenario, the same 8 healthy relays with
//! no dead ones, separates the cost of the dead relays from the cost of fanning out to 8.
//!
//! One independent client subscribes to every healthy relay and timestamps each relay's `EVENT` frame for the new id; the latency of a
//! publish is the time until the *last* healthy relay has served it. Publishes are sequential,
//! so each measures an idle pipeline.

#[path = "../tests/common/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../tests/common/relays.rs"]
#[allow(dead_code)]
mod relays;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use commons_nostr::actors::bot::PublishEvent;
use commons_nostr::actors::supervision::ToChild;
use nostr_sdk::prelude::*;

use app::TestConfig;
use relays::{SilentRelay, TestRelay};

struct Scenario {
    name: &'static str,
    healthy: usize,
    silent: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn run(s: &Scenario, events: usize) -> Vec<Duration> {
    let dir = tempfile::tempdir().expect("temp dir");
    let db_url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    let healthy: Vec<TestRelay> =
        futures::future::join_all((0..s.healthy).map(|_| TestRelay::start())).await;
    let mut silent = Vec::new();
    for _ in 0..s.silent {
        silent.push(SilentRelay::start().await);
    }
    let mut urls: Vec<RelayUrl> = silent.iter().map(SilentRelay::url).collect();
    urls.extend(healthy.iter().map(TestRelay::url));
    let cfg = TestConfig::new(&db_url, urls).with("COMMONS__LOGGING__LEVEL", "error");
    let service = cfg.start().await;
    let gov = cfg.bot("gov");

    let reader = Client::default();
    for r in &healthy {
        reader.add_relay(r.url()).await.expect("add relay");
    }
    reader.connect().await;
    reader.wait_for_connection(Duration::from_secs(5)).await;
    let mut notifications = reader.notifications();
    reader
        .subscribe(
            Filter::new()
                .author(gov)
                .kind(Kind::TextNote)
                .since(Timestamp::now()),
            None,
        )
        .await
        .expect("subscribe");

    let warmup = 20;
    let mut latencies = Vec::with_capacity(events);
    for i in 0..warmup + events {
        let start = Instant::now();
        let published = service
            .handles()
            .bots
            .send(ToChild {
                name: "gov".into(),
                msg: PublishEvent(EventBuilder::text_note(format!("fan-out {i}"))),
            })
            .await
            .expect("supervisor")
            .expect("bot")
            .expect("published");
        let mut served: HashSet<RelayUrl> = HashSet::new();
        while served.len() < healthy.len() {
            match tokio::time::timeout(Duration::from_secs(30), notifications.recv()).await {
                Ok(Ok(RelayPoolNotification::Message {
                    relay_url,
                    message: RelayMessage::Event { event, .. },
                })) if event.id == published.event_id => {
                    served.insert(relay_url);
                }
                Ok(Ok(_)) => {}
                other => panic!("{}: event {i} not served everywhere: {other:?}", s.name),
            }
        }
        if i >= warmup {
            latencies.push(start.elapsed());
        }
    }
    reader.shutdown().await;
    service.stop().await;
    latencies
}

fn main() {
    let events = std::env::args()
        .skip_while(|a| a != "--events")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let scenarios = [
        Scenario {
            name: "1 relay",
            healthy: 1,
            silent: 0,
        },
        Scenario {
            name: "8 relays, all healthy",
            healthy: 8,
            silent: 0,
        },
        Scenario {
            name: "10 relays, 2 never answer",
            healthy: 8,
            silent: 2,
        },
    ];
    actix_rt::System::new().block_on(async move {
        let mut p99s = Vec::new();
        println!("publish -> served by the last healthy relay, {events} sequential publishes each");
        for s in &scenarios {
            let mut lat = run(s, events).await;
            lat.sort();
            let p50 = percentile(&lat, 50.0);
            let p99 = percentile(&lat, 99.0);
            let mean = lat.iter().sum::<Duration>() / lat.len() as u32;
            println!(
                "{:<28} p50 {:>7.2} ms  p99 {:>7.2} ms  mean {:>7.2} ms  max {:>7.2} ms",
                s.name,
                p50.as_secs_f64() * 1e3,
                p99.as_secs_f64() * 1e3,
                mean.as_secs_f64() * 1e3,
                lat[lat.len() - 1].as_secs_f64() * 1e3
            );
            p99s.push(p99);
        }
        println!(
            "p99 ratio (10 with 2 dead / 1): {:.2}x (target: at most 2x)",
            p99s[2].as_secs_f64() / p99s[0].as_secs_f64()
        );
        println!(
            "p99 ratio (10 with 2 dead / the same 8 healthy alone): {:.2}x (the dead relays' own cost)",
            p99s[2].as_secs_f64() / p99s[1].as_secs_f64()
        );
    });
}
