//! What every benchmark example shares: its numeric command-line options and the yardstick
//! (schnorr signature verifications per second on one core, printed next to every throughput
//! because this machine's speed swings between days). Included with `#[path]`.

use std::time::Instant;

use nostr_sdk::Event;

/// The number after `name` on the command line (`--votes 100000`), else `default`.
pub fn arg(name: &str, default: u64) -> u64 {
    std::env::args()
        .skip_while(|a| a != name)
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// The yardstick: signatures of `sample` verified `rounds` times over, per second, on this
/// thread.
pub fn schnorr_rate(sample: &[Event], rounds: usize) -> f64 {
    let started = Instant::now();
    let mut verified = 0usize;
    for _ in 0..rounds.max(1) {
        verified += sample.iter().filter(|e| e.verify_signature()).count();
    }
    verified as f64 / started.elapsed().as_secs_f64()
}
