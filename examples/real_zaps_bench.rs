//! What judging real providers' receipts costs, now that rules 4 and 7 are checks: the 886 real
//! receipts of `../shared/real-zaps/receipts.jsonl` (most of them with an anomaly, 87 passing
//! the description hash only by re-serializing the zap request in NIP-01 key order) against as
//! many honest receipts from our own provider, on one core, next to the yardstick.
//!
//! ```text
//! cargo run --release --example real_zaps_bench [-- --rounds 20]
//! ```
//!
//! Each receipt is judged with its own signer as the provider and its `p` as the bot, as
//! `tests/real_zaps.rs` does. One thread, so the numbers compare with the single-core schnorr
//! yardstick directly (`validate_batch` spreads the same work over the cores).

#[path = "support/bench.rs"]
#[allow(dead_code)]
mod bench;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use commons_nostr::nostr::nip57::{self, Zapper};
use commons_nostr::nostr::zap_provider::{ZapProvider, ZapTarget};
use nostr_sdk::prelude::*;

/// A receipt and the recipients it is judged against.
type Case = (Event, HashMap<PublicKey, Zapper>);

fn case(receipt: Event) -> Option<Case> {
    let bot = *receipt.tags.public_keys().next()?;
    let recipients = HashMap::from([(bot, Zapper::Known(receipt.pubkey))]);
    Some((receipt, recipients))
}

/// Receipts judged per second on this thread, over `rounds` passes; and how many were
/// accepted with at least one anomaly in one pass.
fn rate(cases: &[Case], rounds: usize) -> (f64, usize) {
    let flagged = cases
        .iter()
        .filter(|(r, to)| nip57::validate(r, to).is_ok_and(|z| !z.anomalies().is_empty()))
        .count();
    let started = Instant::now();
    let mut judged = 0usize;
    for _ in 0..rounds.max(1) {
        for (receipt, recipients) in cases {
            std::hint::black_box(nip57::validate(receipt, recipients).is_ok());
            judged += 1;
        }
    }
    (judged as f64 / started.elapsed().as_secs_f64(), flagged)
}

fn main() {
    let rounds = usize::try_from(bench::arg("--rounds", 20)).unwrap_or(20);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/real-zaps/receipts.jsonl");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            std::process::exit(2);
        }
    };
    let real: Vec<Case> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|line| Event::from_json(line["event"].to_string()).ok())
        .filter_map(case)
        .collect();

    let provider = ZapProvider::generate();
    let honest: Vec<Case> = (0..real.len())
        .filter_map(|i| {
            let target = ZapTarget::new(Keys::generate().public_key(), 21_000)
                .event(EventId::from_byte_array([7; 32]))
                .content(format!("support {i}"));
            provider.zap(&Keys::generate(), &target).ok()
        })
        .filter_map(case)
        .collect();

    let sample: Vec<Event> = honest.iter().map(|(r, _)| r.clone()).collect();
    let yardstick = bench::schnorr_rate(&sample, rounds);
    let (honest_rate, honest_flagged) = rate(&honest, rounds);
    let (real_rate, real_flagged) = rate(&real, rounds);
    println!(
        "real_zaps_bench: {} receipts each, {rounds} rounds, one thread",
        real.len()
    );
    println!("yardstick, schnorr verify, 1 core:         {yardstick:>9.0} signatures/s");
    println!(
        "nip57::validate, honest receipts:          {honest_rate:>9.0} receipts/s  ({:.3} x yardstick; {honest_flagged} with anomalies)",
        honest_rate / yardstick
    );
    println!(
        "nip57::validate, the real corpus:          {real_rate:>9.0} receipts/s  ({:.3} x yardstick; {real_flagged} with anomalies)",
        real_rate / yardstick
    );
    println!(
        "real / honest:                             {:>9.3}",
        real_rate / honest_rate
    );
}
