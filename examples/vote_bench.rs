//! Vote tallying: recompute from the database, and receipt-to-tally latency through relays.
//!
//! ```text
//! cargo run --release --example vote_bench [-- --votes 100000 --rate 500 --secs 20 --debounce 2]
//! ```
//!
//! 1. **Yardstick**: schnorr signature verifications per second on one core, in the same run.
//! 2. **Full recompute from the database** (SQLite, a file in a temporary directory): a
//!    proposal with N votes from N senders stored in `zap_receipts`; the time to read every
//!    receipt back as contributions ([`vote_ledger::load_contributions`]) and compute the whole
//!    tally ([`votes::tally`]: weights, cap, receipts root), what the vote aggregator does at
//!    start-up. Best of 3.
//! 3. **Incremental per-vote update in memory**: the same proposal's [`votes::VoteBook`], then
//!    one more vote added and the result read (`add` + `result`), averaged over 10,000 votes.
//! 4. **Receipt published -> tally event on the relay**: the whole service on SQLite with one
//!    in-process relay (nostr-relay-builder, on the same actix thread), a proposal published through its API, honest
//!    receipts (built like a real LNURL provider) sent to the relay at `--rate` per second for
//!    `--secs`, and a separate client subscribed to the proposal's tally events. Receipt `k`
//!    (in sending order) is taken as published in the first tally whose `receipts_count` is at
//!    least `k`; its latency is that tally's arrival minus the receipt's send time. p50 / p99 /
//!    max, against the target of the debounce plus 1 s.

#[path = "../tests/common/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../tests/common/zaps.rs"]
#[allow(dead_code)]
mod zaps;

#[path = "support/bench.rs"]
#[allow(dead_code)]
mod bench;
#[path = "support/synthetic.rs"]
#[allow(dead_code)]
mod synthetic;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use commons_nostr::nostr::zap_provider::{ZapProvider, ZapTarget};
use commons_nostr::store::{db, vote_ledger};
use commons_nostr::votes::{self, Contribution, VoteBook};
use futures::StreamExt;
use nostr_sdk::prelude::*;
use serde_json::{json, Value};

use zaps::{build_many, zap_config, AMOUNT_MSAT};

async fn recompute_from_database(n: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    let conn = db::connect(&url).await.expect("sqlite");
    db::migrate(&conn).await.expect("migrate");
    let start = Timestamp::now().as_secs() - 7_200;
    let (proposal, contributions) = synthetic::synthetic(n, start, 1);
    synthetic::store(&conn, &proposal, &contributions, "bench").await;

    let t = start + 3_600;
    let mut best = Duration::MAX;
    let mut tally = None;
    for _ in 0..3 {
        let started = Instant::now();
        let loaded = vote_ledger::load_contributions(&conn, start - 90 * 86_400)
            .await
            .expect("load");
        let computed = votes::tally(&proposal, &loaded, t);
        best = best.min(started.elapsed());
        tally = Some(computed);
    }
    let tally = tally.expect("tally");
    println!(
        "full recompute from SQLite: {n} votes read and tallied in {:.1} ms (best of 3; {} counted, root {})",
        bench::ms(best),
        tally.counted.len(),
        tally.receipts_root.to_prefixed()
    );

    let started = Instant::now();
    let in_memory = votes::tally(&proposal, &contributions, t);
    println!(
        "full recompute in memory: {n} votes in {:.1} ms",
        bench::ms(started.elapsed())
    );
    assert_eq!(in_memory, tally, "database and memory agree");

    let mut book = VoteBook::new(proposal.clone());
    for c in &contributions {
        book.add(c.clone());
    }
    book.result(t);
    let (_, extra) = synthetic::synthetic(10_000, start, 1);
    let extra: Vec<Contribution> = extra
        .into_iter()
        .map(|mut c| {
            c.event = Some(proposal.id);
            c.zapper = proposal.rules.zappers[0];
            c.recipient = proposal.rules.bots[0];
            c
        })
        .collect();
    let started = Instant::now();
    for c in extra {
        book.add(c);
        std::hint::black_box(book.result(t));
    }
    println!(
        "incremental per-vote update (add + result) with {n}+ voters: {:.2} us per vote",
        started.elapsed().as_secs_f64() * 1e6 / 10_000.0
    );
}

async fn receipt_to_tally(rate: u64, secs: u64, debounce: u64) {
    let relay = zaps::CappedRelay::start(5_000).await;
    let url = relay.url();
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = format!("sqlite://{}/service.db?mode=rwc", dir.path().display());
    let provider = ZapProvider::generate();
    let cfg = zap_config(&db_url, vec![url.clone()], &provider.public_key()).with(
        "COMMONS__GOVERNANCE__TALLY_DEBOUNCE_SECS",
        &debounce.to_string(),
    );
    let gov = cfg.bot("gov");
    let app = cfg.start().await;
    let client = awc::Client::default();
    let mut answer = client
        .post(format!("http://{}/v1/actions", app.http_addr()))
        .bearer_auth(&cfg.admin_token)
        .send_json(
            &json!({"action": "review-period", "repository": "o/r", "pr": 1,
                           "tier": 1, "title": "bench", "voting_window_days": 1}),
        )
        .await
        .expect("action sent");
    let body: Value = answer.json().await.expect("action answer");
    let proposal = EventId::from_hex(body["event_id"].as_str().expect("event id")).expect("id");

    let total = (rate * secs) as usize;
    let now = Timestamp::now();
    let receipts = build_many(total, |i| {
        let sender = Keys::generate();
        let target = ZapTarget::new(gov, AMOUNT_MSAT)
            .event(proposal)
            .content(if i % 3 == 0 { "veto" } else { "support" });
        zaps::paid_zap(&provider, &sender, &target, now)
    });

    // The watcher: every tally event's arrival time and count.
    let arrivals: Arc<Mutex<Vec<(Instant, u64)>>> = Arc::default();
    let watcher = Client::default();
    watcher.add_relay(url.clone()).await.expect("relay");
    watcher.connect().await;
    watcher
        .subscribe(
            Filter::new()
                .kind(Kind::ApplicationSpecificData)
                .author(gov)
                .identifier(format!("tally:{}", proposal.to_hex())),
            None,
        )
        .await
        .expect("subscribe");
    let seen = arrivals.clone();
    let mut notifications = watcher.notifications();
    actix_rt::spawn(async move {
        while let Ok(notification) = notifications.recv().await {
            if let RelayPoolNotification::Event { event, .. } = notification {
                if let Ok(content) = serde_json::from_str::<Value>(&event.content) {
                    if let Some(count) = content["receipts_count"].as_u64() {
                        if let Ok(mut seen) = seen.lock() {
                            seen.push((Instant::now(), count));
                        }
                    }
                }
            }
        }
    });

    let sender = Client::default();
    sender.add_relay(url.clone()).await.expect("relay");
    sender.connect().await;
    sender.wait_for_connection(Duration::from_secs(5)).await;
    let started = Instant::now();
    let mut sent_at = Vec::with_capacity(total);
    let mut in_flight = futures::stream::FuturesUnordered::new();
    for (i, receipt) in receipts.iter().enumerate() {
        let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            actix_rt::time::sleep(wait).await;
        }
        sent_at.push(Instant::now());
        in_flight.push(sender.send_event(receipt));
        while in_flight.len() > 64 {
            in_flight.next().await;
        }
    }
    while in_flight.next().await.is_some() {}
    let deadline = Instant::now() + Duration::from_secs(debounce + 30);
    loop {
        let done = arrivals
            .lock()
            .map(|a| a.iter().any(|(_, c)| *c >= total as u64))
            .unwrap_or(false);
        if done || Instant::now() > deadline {
            break;
        }
        actix_rt::time::sleep(Duration::from_millis(50)).await;
    }
    let arrivals = arrivals.lock().map(|a| a.clone()).unwrap_or_default();
    let mut latencies = Vec::with_capacity(total);
    let mut missing = 0;
    for (k, sent) in sent_at.iter().enumerate() {
        let first = arrivals
            .iter()
            .filter(|(_, count)| *count > k as u64)
            .map(|(at, _)| *at)
            .min();
        match first {
            Some(at) => latencies.push(at.saturating_duration_since(*sent)),
            None => missing += 1,
        }
    }
    latencies.sort();
    println!(
        "receipt -> tally on the relay, {rate}/s for {secs} s, debounce {debounce} s: {} tallies, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms, {missing} receipts never in a tally (target p99 <= {} ms)",
        arrivals.len(),
        bench::ms(bench::percentile(&latencies, 0.50)),
        bench::ms(bench::percentile(&latencies, 0.99)),
        bench::ms(latencies.last().copied().unwrap_or_default()),
        (debounce + 1) * 1000
    );
    watcher.shutdown().await;
    sender.shutdown().await;
    app.stop().await;
}

fn main() {
    let votes = bench::arg("--votes", 100_000) as usize;
    let rate = bench::arg("--rate", 500);
    let secs = bench::arg("--secs", 20);
    let debounce = bench::arg("--debounce", 2);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rate_1 = bench::yardstick();
    println!("yardstick: {rate_1:.0} schnorr verifications/s on one core ({cores} cores)");
    actix_rt::System::new().block_on(async move {
        recompute_from_database(votes).await;
        receipt_to_tally(rate, secs, debounce).await;
    });
}
