//! The public page with a 100,000-voter proposal: server time to render, and throughput.
//!
//! ```text
//! cargo run --release --example page_bench [-- --voters 100000 --renders 2000 --secs 10 --connections 8]
//! ```
//!
//! 1. **Yardstick**: schnorr signature verifications per second on one core, in the same run.
//! 2. **Render time** (in process, no HTTP): a proposal with N voters (distinct senders, each
//!    with a comment) tallied by the real [`VoteBook`] and turned into the page's memory
//!    ([`ProposalPage::build`], what the feed does once per change); then the list
//!    ([`list::render`], with 20 proposals) and the proposal page ([`proposal::render`], first
//!    page of voters and the last page) rendered `--renders` times each: p50 / p99 / max,
//!    against the target of 20 ms p99.
//! 3. **Throughput**: the whole service on SQLite with the same N voters stored as
//!    `zap_receipts` (loaded by the vote aggregator at start, as after a restart), then `wrk`
//!    (`-t2 -c<connections> -d<secs>s`) on `GET /proposals/{id}` while this process asks
//!    `GET /healthz` every 100 ms: requests/s (target at least 2,000) and the `/healthz`
//!    latencies (target under 50 ms). Everything runs on this machine's two cores: the
//!    service, `wrk` and the probe share them.

#[path = "../tests/common/app.rs"]
#[allow(dead_code)]
mod app;

#[path = "support/bench.rs"]
#[allow(dead_code)]
mod bench;
#[path = "support/synthetic.rs"]
mod synthetic;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use commons_nostr::actors::vote_aggregator::ProposalVoters;
use commons_nostr::http::page::snapshot::{Header, PageContext, ProposalPage, Snapshot};
use commons_nostr::http::page::{list, proposal};
use commons_nostr::nostr::events::LinkState;
use commons_nostr::store::db;
use commons_nostr::votes::{Contribution, Proposal, TallyContent, VoteBook};
use nostr_sdk::prelude::*;

/// What the aggregator answers the feed for `proposal` (the same steps as its handler).
fn voters_of(proposal: &Proposal, contributions: &[Contribution], t: u64) -> ProposalVoters {
    let mut book = VoteBook::new(proposal.clone());
    for c in contributions {
        book.add(c.clone());
    }
    let tally = book.tally(t);
    let mut content = TallyContent::new(proposal, &tally, false);
    content.receipts = None;
    let mut by_sender: HashMap<PublicKey, Vec<(EventId, u64)>> = HashMap::new();
    for id in &tally.counted {
        if let Some((sender, at)) = book.vote_receipt(id) {
            by_sender.entry(sender).or_default().push((*id, at));
        }
    }
    let receipts = tally
        .ballots
        .iter()
        .map(|b| by_sender.remove(&b.sender).unwrap_or_default())
        .collect();
    ProposalVoters {
        proposal: proposal.clone(),
        repository: "btc-commons/governance".into(),
        title: format!("Proposal {}", proposal.pr),
        receipts_seen: book.receipts_seen(),
        published: None,
        content,
        ballots: tally.ballots,
        receipts,
        ballot_keys: Vec::new(),
    }
}

fn timed<F: FnMut() -> usize>(renders: usize, mut render: F) -> (Vec<Duration>, usize) {
    let mut times = Vec::with_capacity(renders);
    let mut bytes = 0;
    for _ in 0..renders {
        let started = Instant::now();
        bytes = render();
        times.push(started.elapsed());
    }
    times.sort();
    (times, bytes)
}

fn report(what: &str, times: &[Duration], bytes: usize) {
    println!(
        "{what}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({} renders, {} KiB; target p99 <= 20 ms)",
        bench::ms(bench::percentile(times, 0.5)),
        bench::ms(bench::percentile(times, 0.99)),
        bench::ms(times.last().copied().unwrap_or_default()),
        times.len(),
        bytes / 1024
    );
}

fn render_times(n: usize, renders: usize) {
    let now = Timestamp::now().as_secs();
    let start = now - 7_200;
    let (big, contributions) = synthetic::synthetic(n, start, 1);
    let comments: HashMap<EventId, String> = contributions
        .iter()
        .enumerate()
        .map(|(i, c)| (c.receipt_id, synthetic::word(i).to_owned()))
        .collect();
    let relays = vec![RelayUrl::parse("wss://relay.example.org").expect("url")];
    let started = Instant::now();
    let voters = voters_of(&big, &contributions, now);
    let tallied = started.elapsed();
    let started = Instant::now();
    let page = ProposalPage::build(voters, &comments, &relays);
    println!(
        "the page's memory of a {n}-voter proposal: tally {:.0} ms, rows built {:.0} ms (once per change, off the request path)",
        bench::ms(tallied),
        bench::ms(started.elapsed())
    );
    let mut pages = vec![Arc::new(page)];
    for pr in 2..=20 {
        let (p, c) = synthetic::synthetic(50, start - pr * 3_600, pr);
        pages.push(Arc::new(ProposalPage::build(
            voters_of(&p, &c, now),
            &HashMap::new(),
            &relays,
        )));
    }
    let header = Header {
        healthy: true,
        database_ok: true,
        relays: vec![("wss://relay.example.org".into(), LinkState::Connected)],
        bots_down: Vec::new(),
        audit: Some((format!("sha256:{}", "ab".repeat(32)), 1234)),
    };
    let snapshot = Snapshot::new(1, header, pages);
    let gov = Keys::generate().public_key();
    let context = PageContext {
        server_npub: Keys::generate().public_key().to_bech32().expect("npub"),
        gov,
        gov_npub: gov.to_bech32().expect("npub"),
        lightning_address: Some("gov@example.org".into()),
        relays,
        public_url: None,
    };
    let big_page = snapshot
        .find(&big.id.to_hex())
        .expect("the big proposal")
        .clone();
    let last = n.div_ceil(proposal::VOTERS_PER_PAGE);
    let (times, bytes) = timed(renders, || list::render(&snapshot, now).into_string().len());
    report("list (20 proposals)", &times, bytes);
    let (times, bytes) = timed(renders, || {
        proposal::render(&context, &snapshot, &big_page, 1, now)
            .into_string()
            .len()
    });
    report(
        &format!("proposal page, {n} voters, first page"),
        &times,
        bytes,
    );
    let (times, bytes) = timed(renders, || {
        proposal::render(&context, &snapshot, &big_page, last, now)
            .into_string()
            .len()
    });
    report(
        &format!("proposal page, {n} voters, page {last}"),
        &times,
        bytes,
    );
}

async fn throughput(n: usize, secs: u64, connections: u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
    let conn = db::connect(&url).await.expect("sqlite");
    db::migrate(&conn).await.expect("migrate");
    let (big, contributions) = synthetic::synthetic(n, Timestamp::now().as_secs() - 7_200, 7);
    synthetic::store(&conn, &big, &contributions, "A proposal with many voters").await;
    drop(conn);
    // Nostr off: the relay is never dialled, the page reads the database only.
    let unused = RelayUrl::parse("ws://127.0.0.1:9").expect("url");
    let cfg = app::TestConfig::new(&url, vec![unused])
        .with("COMMONS__NOSTR__ENABLED", "false")
        .with("COMMONS__LOGGING__LEVEL", "error");
    let started = Instant::now();
    let app = cfg.start().await;
    let base = format!("http://{}", app.http_addr());
    let page = format!("{base}/proposals/{}", big.id.to_hex());
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .finish();
    let want = format!("data-value=\"{n}\"");
    loop {
        if let Ok(mut r) = client.get(&page).send().await {
            if r.body()
                .limit(1 << 24)
                .await
                .is_ok_and(|b| String::from_utf8_lossy(&b).contains(&want))
            {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the page never showed {n} voters"
        );
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "service start to the {n}-voter page in memory: {:.1} s (receipts loaded, tallied, rows built)",
        started.elapsed().as_secs_f64()
    );

    let wrk = std::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "--latency",
            &page,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("wrk (apt-get install wrk)");
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut health = Vec::new();
    while Instant::now() < deadline {
        let asked = Instant::now();
        let ok = client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success() || r.status().as_u16() == 503);
        if ok {
            health.push(asked.elapsed());
        }
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
    let output = actix_web::rt::task::spawn_blocking(move || wrk.wait_with_output())
        .await
        .expect("join")
        .expect("wrk output");
    let text = String::from_utf8_lossy(&output.stdout);
    let rate = text
        .lines()
        .find(|l| l.starts_with("Requests/sec:"))
        .unwrap_or("Requests/sec: ?");
    println!("wrk -t2 -c{connections} -d{secs}s GET /proposals/{{id}} ({n} voters): {rate} (target >= 2,000)");
    for line in text.lines().filter(|l| {
        l.trim_start().starts_with("99%") || l.contains("Non-2xx") || l.contains("Socket errors")
    }) {
        println!("  wrk: {}", line.trim());
    }
    health.sort();
    println!(
        "GET /healthz meanwhile: {} probes, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (target < 50 ms)",
        health.len(),
        bench::ms(bench::percentile(&health, 0.5)),
        bench::ms(bench::percentile(&health, 0.99)),
        bench::ms(health.last().copied().unwrap_or_default())
    );
    app.stop().await;
}

fn main() {
    let voters = bench::arg("--voters", 100_000) as usize;
    let renders = bench::arg("--renders", 2_000) as usize;
    let secs = bench::arg("--secs", 10);
    let connections = bench::arg("--connections", 8);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rate_1 = bench::yardstick();
    println!("yardstick: {rate_1:.0} schnorr verifications/s on one core ({cores} cores)");
    render_times(voters, renders);
    actix_rt::System::new().block_on(throughput(voters, secs, connections));
}
