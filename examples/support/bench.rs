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

/// The yardstick on 2,000 fresh text notes, verified 15 times over (about a second here).
pub fn yardstick() -> f64 {
    let keys = nostr_sdk::Keys::generate();
    let events: Vec<Event> = (0..2_000)
        .map(|i| {
            nostr_sdk::EventBuilder::text_note(format!("yardstick {i}"))
                .sign_with_keys(&keys)
                .expect("signed")
        })
        .collect();
    schnorr_rate(&events, 15)
}

/// The `p` quantile of `sorted` (nearest rank); zero when empty.
pub fn percentile(sorted: &[std::time::Duration], p: f64) -> std::time::Duration {
    if sorted.is_empty() {
        return std::time::Duration::ZERO;
    }
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index]
}

/// `d` in milliseconds.
pub fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
