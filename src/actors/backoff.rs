//! Exponential backoff with "equal jitter": half of each wait fixed, half random. Every retry
//! of ours waits this way (relay reconnects, LNURL lookups), so peers that failed together do
//! not retry in step, and no retry comes sooner than half its backoff.

use std::time::Duration;

use rand::Rng;

/// The wait before attempt `failures + 1`: `initial_ms * 2^(failures - 1)`, capped at `max_ms`,
/// of which the upper half is random.
pub fn jittered(initial_ms: u64, max_ms: u64, failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(30);
    let ceiling = initial_ms.saturating_mul(1u64 << exp).min(max_ms).max(1);
    let half = ceiling / 2;
    Duration::from_millis(half + rand::thread_rng().gen_range(0..=ceiling - half))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn doubles_caps_and_jitters() {
        for _ in 0..100 {
            let d1 = jittered(100, 1_000, 1).as_millis();
            assert!((50..=100).contains(&d1), "{d1}");
            let d3 = jittered(100, 1_000, 3).as_millis();
            assert!((200..=400).contains(&d3), "{d3}");
            let d40 = jittered(100, 1_000, 40).as_millis();
            assert!((500..=1_000).contains(&d40), "{d40}");
        }
        // No overflow, however large the settings or the failure count.
        assert!(jittered(u64::MAX, u64::MAX, u32::MAX) >= Duration::from_millis(u64::MAX / 2));
        let spread: HashSet<u128> = (0..50)
            .map(|_| jittered(100, 1_000, 5).as_millis())
            .collect();
        assert!(spread.len() > 5, "jitter should spread retries: {spread:?}");
    }
}
