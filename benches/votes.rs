//! Benchmarks of the vote rules (`src/votes`): the incremental per-vote update and the full
//! recompute, each on a proposal with 100 000 voters, after a yardstick of this machine's
//! single-core schnorr verification rate (the cost every receipt already pays twice).
//!
//! `cargo bench --bench votes -- --sample-size 20`

use std::hint::black_box;
use std::time::{Duration, Instant};

use commons_nostr::configuration::GovernanceSettings;
use commons_nostr::votes::{
    receipts_root, tally, Contribution, Proposal, Targets, VoteBook, VoteRules, VoteType,
    SECONDS_PER_DAY,
};
use criterion::{criterion_group, criterion_main, Criterion};
use nostr_sdk::{EventBuilder, EventId, Keys, PublicKey};

const VOTERS: u64 = 100_000;
const START: u64 = 1_800_000_000;
const END: u64 = START + 14 * SECONDS_PER_DAY;

fn key(tag: u8, n: u64) -> [u8; 32] {
    let mut bytes = [tag; 32];
    bytes[..8].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    bytes[8..16].copy_from_slice(&n.to_be_bytes());
    bytes
}

fn setup() -> (Proposal, PublicKey, PublicKey) {
    let zapper = Keys::generate().public_key();
    let bot = Keys::generate().public_key();
    let rules = VoteRules::new(&GovernanceSettings::default(), 2, vec![zapper], vec![bot]);
    let proposal = Proposal {
        id: EventId::from_byte_array([0xAB; 32]),
        address: format!("30078:{bot}:action:bitcoin-commons:1:review-period"),
        pr: 1,
        tier: 2,
        window_start: START,
        window_end: END,
        rules,
        targets: Targets::new(),
    };
    (proposal, zapper, bot)
}

/// Vote `n`: its own sender, spread over the first half of the window, 1 000 to 50 000 000 sat.
fn vote(proposal: &Proposal, zapper: PublicKey, bot: PublicKey, n: u64) -> Contribution {
    let keyword = match n % 7 {
        0 => Some(VoteType::Veto),
        1 => Some(VoteType::Abstain),
        2 | 3 => Some(VoteType::Support),
        _ => None,
    };
    Contribution {
        receipt_id: EventId::from_byte_array(key(1, n)),
        sender: PublicKey::from_byte_array(key(2, n)),
        recipient: bot,
        zapper,
        amount_msat: 1_000_000 + (n * 7_919 % 50_000) * 1_000_000,
        created_at: START + n % (7 * SECONDS_PER_DAY),
        event: Some(proposal.id),
        address: None,
        keyword,
        poll_option: None,
        ballot: None,
        private_zap: false,
    }
}

fn yardstick() {
    let keys = Keys::generate();
    let event = EventBuilder::text_note("yardstick")
        .sign_with_keys(&keys)
        .expect("signs");
    let started = Instant::now();
    let mut verified = 0u64;
    while started.elapsed() < Duration::from_secs(1) {
        for _ in 0..100 {
            assert!(black_box(&event).verify_signature());
        }
        verified += 100;
    }
    let rate = verified as f64 / started.elapsed().as_secs_f64();
    println!("yardstick: {rate:.0} schnorr verifications/s on one core");
}

fn votes(c: &mut Criterion) {
    yardstick();
    let (proposal, zapper, bot) = setup();
    let contributions: Vec<Contribution> = (0..VOTERS)
        .map(|n| vote(&proposal, zapper, bot, n))
        .collect();

    let mut book = VoteBook::new(proposal.clone());
    for c in &contributions {
        book.add(c.clone());
    }
    // Votes keep coming, one second apart, from the second week (`moment` holds them at `end`).
    let mut t = START + 7 * SECONDS_PER_DAY;
    let first = book.result(t);
    assert_eq!(first, tally(&proposal, &contributions, t).result);
    let mut n = VOTERS;
    c.bench_function("votes/add_and_result_100k_voters", |b| {
        b.iter(|| {
            let mut next = vote(&proposal, zapper, bot, n);
            next.created_at = proposal.moment(t);
            n += 1;
            book.add(next);
            t += 1;
            black_box(book.result(t))
        })
    });

    c.bench_function("votes/full_tally_100k_votes", |b| {
        b.iter(|| black_box(tally(&proposal, &contributions, END)))
    });

    // The part of the full recompute that is hashing: the Merkle root over 100 000 receipts.
    let mut counted: Vec<EventId> = contributions.iter().map(|c| c.receipt_id).collect();
    counted.sort_unstable();
    c.bench_function("votes/receipts_root_100k", |b| {
        b.iter(|| black_box(receipts_root(&counted)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = votes
}
criterion_main!(benches);
