//! `verify` end to end: fetching, judging and recomputing a large vote.
//!
//! ```text
//! cargo run --release --example verify_bench [-- --receipts 100000]
//! ```
//!
//! A nostr-relay-builder relay (on a thread and runtime of its own, as a separate process would
//! be) holds one proposal with pinned rules, N valid vote receipts to the gov bot (built on
//! every core, stored straight into the relay's database), the tally of those receipts (computed
//! with `votes::tally` and signed with the gov key), and the server's status, health and audit
//! head. The time is [`verifier::verify`] from start to report: paging every receipt out of the
//! relay over a websocket, judging each with `nip57::validate_batch` on every core, and the
//! recompute. First the yardstick: single-core schnorr verifications per second on the same
//! machine, as `zap_bench` prints it.

#[path = "../tests/common/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../tests/common/zaps.rs"]
#[allow(dead_code)]
mod zaps;

#[path = "support/bench.rs"]
#[allow(dead_code)]
mod bench;
#[path = "support/relay_thread.rs"]
#[allow(dead_code)]
mod relay_thread;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use commons_nostr::audit::merkle;
use commons_nostr::cli::verifier::{self, tallies};
use commons_nostr::configuration::GovernanceSettings;
use commons_nostr::nostr::events::{self, AuditHead, AuditSummary, GovernanceStatus, HealthStatus};
use commons_nostr::nostr::governance_action::{GovernanceAction, GovernanceActionRequest};
use commons_nostr::nostr::nip57::{validate_batch, Zapper};
use commons_nostr::nostr::zap_provider::{zap_request, ZapProvider, ZapTarget};
use commons_nostr::votes::{self, TallyContent, VoteRules};
use nostr_relay_builder::prelude::{MemoryDatabase, MemoryDatabaseOptions, NostrDatabase};
use nostr_sdk::prelude::*;

use zaps::build_many;

/// The server's three events `verify` expects on every relay.
fn server_events(server: &Keys) -> Vec<Event> {
    let empty = merkle::empty_root().to_prefixed();
    let status = GovernanceStatus {
        server_id: "bench".into(),
        governance_config: "commons_bench".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        timestamp: Timestamp::now().as_secs(),
        binary_hash: events::sha256_tagged(&[0; 32]),
        config_hash: events::sha256_tagged(&[0; 32]),
        uptime_secs: 1,
        relays: BTreeMap::new(),
        audit: AuditSummary {
            head: empty.clone(),
            entries: 0,
        },
    };
    let health = events::ServerHealth {
        server_id: "bench".into(),
        status: HealthStatus::Healthy,
        uptime_secs: 1,
        last_merge: None,
        relays_connected: 1,
        relays_total: 1,
    };
    let head = AuditHead {
        head: empty.clone(),
        entries: 0,
        previous_head: empty,
        previous_entries: 0,
        consistency_proof: Vec::new(),
    };
    [
        events::governance_status(&status),
        events::server_health(&health),
        events::audit_head("bench", &head),
    ]
    .into_iter()
    .map(|b| b.sign_with_keys(server).expect("signed"))
    .collect()
}

fn main() {
    let count = usize::try_from(bench::arg("--receipts", 100_000)).unwrap_or(100_000);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("machine: {cores} cores");

    let server = Keys::generate();
    let gov = Keys::generate();
    let provider = ZapProvider::generate();

    // The proposal: a review period whose window holds every receipt, one a second.
    let now = Timestamp::now().as_secs();
    let start = now - count as u64 - 10;
    let request: GovernanceActionRequest = serde_json::from_value(serde_json::json!({
        "action": "review-period", "repository": "btc-commons/governance", "pr": 1,
        "tier": 1, "title": "Bench", "voting_window_days": 60
    }))
    .expect("request");
    let action = GovernanceAction::parse(request, Timestamp::from_secs(start)).expect("action");
    let mut content = action.content();
    content.rules = Some(VoteRules::new(
        &GovernanceSettings::default(),
        1,
        vec![provider.public_key()],
        vec![gov.public_key()],
    ));
    let proposal_event = commons_nostr::nostr::governance_action::governance_action_content(
        &action,
        &content,
        "commons_bench",
        None,
    )
    .custom_created_at(Timestamp::from_secs(start))
    .sign_with_keys(&gov)
    .expect("proposal");
    let proposal = tallies::proposal_of(&proposal_event).expect("a proposal");

    let texts = ["support", "veto", "abstain", "yes please", ""];
    let started = Instant::now();
    let receipts = build_many(count, |i| {
        let msat = 1_000_000 + (i as u64 % 97) * 10_000;
        let target = ZapTarget::new(gov.public_key(), msat)
            .event(proposal.id)
            .content(texts[i % texts.len()]);
        let request = zap_request(&Keys::generate(), &target).expect("zap request");
        let at = Timestamp::from_secs(start + i as u64);
        let invoice = provider.invoice_at(&request, msat, at).expect("invoice");
        provider
            .receipt(&request, &invoice.bolt11, Some(&invoice.preimage), at)
            .expect("receipt")
    });
    eprintln!(
        "built {count} receipts in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 1. The yardstick.
    let sample = &receipts[..receipts.len().min(20_000)];
    let sig_rate = bench::schnorr_rate(sample, 1);
    let recipients =
        std::collections::HashMap::from([(gov.public_key(), Zapper::Known(provider.public_key()))]);
    let started = Instant::now();
    let valid = validate_batch(sample, &recipients)
        .iter()
        .filter(|r| r.is_ok())
        .count();
    let validate_rate = valid as f64 / started.elapsed().as_secs_f64();
    println!("schnorr signature verification, 1 core:      {sig_rate:>9.0} /s");
    println!("nip57::validate_batch, {cores} cores:              {validate_rate:>9.0} receipts/s");

    // The tally the service would publish, signed by the gov key.
    let judged = tallies::judge(&receipts, &proposal.rules);
    assert_eq!(judged.contributions.len(), count, "every receipt is valid");
    let tally = votes::tally(&proposal, &judged.contributions, now);
    let tally_content = TallyContent::new(&proposal, &tally, false);
    let coordinate = Coordinate::parse(&proposal.address).expect("address");
    let tally_event = events::vote_tally(
        proposal.id,
        &coordinate,
        &tally_content,
        "Tally of the bench",
    )
    .expect("tally")
    .custom_created_at(Timestamp::from_secs(now))
    .sign_with_keys(&gov)
    .expect("signed");
    drop(judged);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let database = Arc::new(MemoryDatabase::with_opts(MemoryDatabaseOptions {
        events: true,
        max_events: Some(count * 2 + 100),
    }));
    runtime.block_on(async {
        for event in receipts
            .iter()
            .chain([&proposal_event, &tally_event])
            .chain(server_events(&server).iter())
        {
            database.save_event(event).await.expect("stored");
        }
    });
    drop(receipts);
    let relay = relay_thread::RelayThread::start(database);
    let url = relay.url.clone();

    // 2. verify, end to end.
    let started = Instant::now();
    let report = runtime.block_on(verifier::verify(
        std::slice::from_ref(&url),
        server.public_key(),
        &[gov.public_key()],
        None,
        Duration::from_secs(60),
    ));
    let seconds = started.elapsed().as_secs_f64();
    let rate = count as f64 / seconds;
    let checks = &report.tallies.checks;
    println!(
        "verify: {count} receipts fetched, judged and recomputed in {seconds:.2} s: \
         {rate:>7.0} receipts/s ({:.2} x the 1-core schnorr rate, {:.2} x validate_batch); \
         report ok: {}",
        rate / sig_rate,
        rate / validate_rate,
        report.ok()
    );
    if !report.ok() {
        let mut problems: Vec<&String> = report.relays.iter().flat_map(|r| &r.problems).collect();
        problems.extend(checks.iter().flat_map(|c| c.differences.iter().take(5)));
        problems.extend(&report.tallies.problems);
        for p in problems.iter().take(10) {
            println!("  - {p}");
        }
    }
    assert_eq!(report.tallies.receipts, count, "every receipt fetched");
    drop(relay);
}
