//! The vote rules pinned in a proposal: DESIGN.md "Votes", *Rules pinned at publication*.
//!
//! A review-period (proposal) event's content carries `rules`, every parameter of the vote, copied
//! from the governance settings when the proposal is published. Its tally uses these and never the
//! settings of the day, so an operator cannot change the rules of a running vote. [`VoteRules`] is
//! that JSON object: its shape is part of the proposal event, so the type is declared with the
//! event ([`crate::nostr::governance_action`]) and what it means is here.

use nostr_sdk::PublicKey;

use crate::configuration::GovernanceSettings;
pub use crate::nostr::governance_action::VoteRules;

/// Seconds in a day: the rules count their windows in days of 86 400 seconds.
pub const SECONDS_PER_DAY: u64 = 86_400;

impl VoteRules {
    /// The rules of the day for a proposal of `tier` (1 to 5): `threshold` is the tier's entry of
    /// `tier_thresholds` (the last one for a tier beyond the list, the first for tier 0).
    pub fn new(
        settings: &GovernanceSettings,
        tier: u8,
        mut zappers: Vec<PublicKey>,
        mut bots: Vec<PublicKey>,
    ) -> VoteRules {
        zappers.sort_unstable();
        zappers.dedup();
        bots.sort_unstable();
        bots.dedup();
        let index = usize::from(tier.max(1)) - 1;
        let threshold = settings
            .tier_thresholds
            .get(index)
            .or(settings.tier_thresholds.last())
            .copied()
            .unwrap_or(f64::INFINITY);
        VoteRules {
            participation_window_days: settings.participation_window_days,
            cooling_off_threshold_btc: settings.cooling_off_threshold_btc,
            cooling_off_days: settings.cooling_off_days,
            participation_floor: settings.participation_floor,
            weight_cap: settings.weight_cap,
            threshold,
            veto_threshold: settings.veto_threshold,
            zappers,
            bots,
            sealed: None,
        }
    }

    /// How many senders with `P(s) > 0` the cap needs before it applies: `ceil(1 / weight_cap)`
    /// (20 at 0.05). Below that a cap could only shrink everyone. A cap of 0 (or less) never
    /// applies.
    pub fn cap_min_senders(&self) -> usize {
        // A zero, negative or NaN cap is no cap at all (settings validation refuses those).
        if self.weight_cap > 0.0 {
            (1.0 / self.weight_cap).ceil() as usize
        } else {
            usize::MAX
        }
    }

    /// The participation window in seconds.
    pub fn participation_window_secs(&self) -> u64 {
        u64::from(self.participation_window_days) * SECONDS_PER_DAY
    }

    /// The cooling-off (young) window in seconds.
    pub fn cooling_off_secs(&self) -> u64 {
        u64::from(self.cooling_off_days) * SECONDS_PER_DAY
    }

    /// How long before a tally's moment `T` a contribution can still matter: it is in the
    /// participation window, or young (cooling-off), whichever reaches further back. What a
    /// tally loads starts this long before the window's start.
    pub fn lookback_secs(&self) -> u64 {
        self.participation_window_secs()
            .max(self.cooling_off_secs())
    }
}

/// Whether `created_at` lies in the window `(t - span, t]`, without overflow at either end.
pub(crate) fn in_window(created_at: u64, t: u64, span: u64) -> bool {
    created_at <= t && u128::from(created_at) + u128::from(span) > u128::from(t)
}

#[cfg(test)]
mod tests {
    use nostr_sdk::Keys;

    use super::*;

    #[test]
    fn new_pins_the_tier_threshold_and_sorts_keys() {
        let settings = GovernanceSettings::default();
        let a = Keys::generate().public_key();
        let b = Keys::generate().public_key();
        let rules = VoteRules::new(&settings, 3, vec![b, a, b], vec![a, a]);
        assert_eq!(rules.threshold, 1000.0);
        let mut sorted = vec![a, b];
        sorted.sort();
        assert_eq!(rules.zappers, sorted);
        assert_eq!(rules.bots, vec![a]);
        assert_eq!(
            VoteRules::new(&settings, 1, vec![], vec![]).threshold,
            100.0
        );
        assert_eq!(
            VoteRules::new(&settings, 5, vec![], vec![]).threshold,
            5000.0
        );
        assert_eq!(rules.participation_window_days, 90);
        assert_eq!(rules.cooling_off_days, 30);
        assert_eq!(rules.veto_threshold, 0.4);
    }

    #[test]
    fn lookback_is_the_longer_of_the_two_windows() {
        let mut rules = VoteRules::new(&GovernanceSettings::default(), 1, vec![], vec![]);
        assert_eq!(rules.lookback_secs(), 90 * SECONDS_PER_DAY);
        rules.cooling_off_days = 120;
        assert_eq!(rules.lookback_secs(), 120 * SECONDS_PER_DAY);
    }

    #[test]
    fn cap_min_senders_is_ceil_of_the_inverse_cap() {
        let mut rules = VoteRules::new(&GovernanceSettings::default(), 1, vec![], vec![]);
        assert_eq!(rules.cap_min_senders(), 20);
        rules.weight_cap = 0.3;
        assert_eq!(rules.cap_min_senders(), 4);
        rules.weight_cap = 0.0;
        assert_eq!(rules.cap_min_senders(), usize::MAX);
    }

    #[test]
    fn keys_serialise_as_hex_and_round_trip() {
        let a = Keys::generate().public_key();
        let rules = VoteRules::new(&GovernanceSettings::default(), 2, vec![a], vec![a]);
        let json = serde_json::to_value(&rules).expect("serialises");
        assert_eq!(json["zappers"][0], a.to_hex());
        assert_eq!(json["bots"][0], a.to_hex());
        assert_eq!(json["threshold"], 500.0);
        let back: VoteRules = serde_json::from_value(json).expect("round trip");
        assert_eq!(back, rules);
    }

    #[test]
    fn keys_written_in_any_order_are_read_as_a_sorted_set() {
        // DESIGN.md pins `zappers` as the keys whose receipts count: a set. Written by another
        // implementation in another order, or twice, it must judge the same receipts.
        let mut keys: Vec<PublicKey> = (0..4).map(|_| Keys::generate().public_key()).collect();
        keys.sort();
        let rules = VoteRules::new(
            &GovernanceSettings::default(),
            1,
            keys.clone(),
            keys.clone(),
        );
        let mut json = serde_json::to_value(&rules).expect("serialises");
        let reversed: Vec<String> = keys.iter().rev().map(PublicKey::to_hex).collect();
        json["zappers"] = serde_json::json!([reversed.clone(), vec![keys[0].to_hex()]].concat());
        json["bots"] = serde_json::json!(reversed);
        let read: VoteRules = serde_json::from_value(json).expect("reads");
        assert_eq!(read, rules);
        for key in &keys {
            assert!(read.zappers.binary_search(key).is_ok());
            assert!(read.bots.binary_search(key).is_ok());
        }
    }

    #[test]
    fn windows_are_open_below_and_closed_above() {
        assert!(in_window(100, 100, 10));
        assert!(in_window(91, 100, 10));
        assert!(!in_window(90, 100, 10));
        assert!(!in_window(101, 100, 10));
        // T before the span: everything from 0 counts.
        assert!(in_window(0, 5, 10));
        assert!(in_window(u64::MAX, u64::MAX, u64::MAX));
    }
}
