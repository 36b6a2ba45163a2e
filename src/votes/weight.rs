//! The weight of one sender at a moment `T`: DESIGN.md "Votes", *Cooling-off*, *Participation
//! weight*, *Zap weight*, *Vote weight* and *Cap*.
//!
//! Everything here reads integer msat sums that the caller keeps for the moment `T`
//! ([`SenderTotals`], only contributions with `created_at <= T` that count under the rules):
//!
//! - *young*: `created_at` in `(T - cooling_off_days, T]`. When their sum, as BTC, is at least
//!   `cooling_off_threshold_btc` the sender is cooling off. The threshold applies to the sum, so
//!   splitting a payment never escapes it.
//! - `P(s) = sqrt(btc)` of the contributions in `(T - participation_window_days, T]`, leaving the
//!   young ones out while cooling off.
//! - `Z(s) = sqrt(btc)` of the sender's votes on the proposal (`created_at` in `[start, end]` and
//!   `<= T`), or 0 while cooling off. The sum is taken in msat first, so splitting a payment never
//!   raises it.
//! - vote weight `max(Z, participation_floor * P)`: a participation vote when cooling off or when
//!   the second term is strictly larger, a zap vote otherwise.
//! - cap: `W = sum of P(s)` over every contributor with `P(s) > 0` (voter or not). Once at least
//!   `ceil(1 / weight_cap)` senders have `P(s) > 0`, a vote weighs at most `weight_cap * W`;
//!   below that, no cap applies.

use super::contribution::btc;
use super::exact_sum::ExactSum;
use super::rules::{in_window, VoteRules};
use super::vote_type::VoteKind;

/// A sender's msat sums at a moment `T`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SenderTotals {
    /// Contributions in the participation window `(T - participation_window_days, T]`.
    pub window_msat: u64,
    /// Young contributions, in `(T - cooling_off_days, T]`.
    pub young_msat: u64,
    /// Votes on the proposal with `created_at <= T`.
    pub vote_msat: u64,
}

impl SenderTotals {
    /// Adds a contribution made at `created_at` (`<= t`) to the windows it lies in at `t`;
    /// `is_vote` when it is an in-window vote on the proposal.
    pub fn add(&mut self, rules: &VoteRules, created_at: u64, t: u64, msat: u64, is_vote: bool) {
        let (window, young) = windows(rules, created_at, t);
        if window {
            self.window_msat = self.window_msat.saturating_add(msat);
        }
        if young {
            self.young_msat = self.young_msat.saturating_add(msat);
        }
        if is_vote {
            self.vote_msat = self.vote_msat.saturating_add(msat);
        }
    }
}

/// Whether a contribution made at `created_at` is in the participation window and in the young
/// (cooling-off) window at `t`.
pub fn windows(rules: &VoteRules, created_at: u64, t: u64) -> (bool, bool) {
    (
        in_window(created_at, t, rules.participation_window_secs()),
        in_window(created_at, t, rules.cooling_off_secs()),
    )
}

/// A sender's weights at a moment `T`, before the cap.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SenderWeight {
    pub cooling_off: bool,
    /// `P(s)`.
    pub participation: f64,
    /// `Z(s)`.
    pub zap: f64,
    /// `max(Z, participation_floor * P)`, uncapped.
    pub weight: f64,
    pub kind: VoteKind,
}

impl SenderWeight {
    pub fn of(rules: &VoteRules, totals: &SenderTotals) -> SenderWeight {
        let cooling_off = btc(totals.young_msat) >= rules.cooling_off_threshold_btc;
        let participation_msat = if !cooling_off {
            totals.window_msat
        } else if rules.cooling_off_days <= rules.participation_window_days {
            // Both windows end at T, so the young ones are all inside the participation window.
            totals.window_msat.saturating_sub(totals.young_msat)
        } else {
            // The young window covers the whole participation window.
            0
        };
        let participation = btc(participation_msat).sqrt();
        let zap = if cooling_off {
            0.0
        } else {
            btc(totals.vote_msat).sqrt()
        };
        let floor = rules.participation_floor * participation;
        let kind = if cooling_off || floor > zap {
            VoteKind::Participation
        } else {
            VoteKind::Zap
        };
        SenderWeight {
            cooling_off,
            participation,
            zap,
            weight: zap.max(floor),
            kind,
        }
    }
}

/// The cap of a moment: `weight_cap * W` once `senders` (those with `P(s) > 0`) reach
/// [`VoteRules::cap_min_senders`], else none.
pub fn cap(rules: &VoteRules, total_participation: &ExactSum, senders: usize) -> Option<f64> {
    (senders >= rules.cap_min_senders()).then(|| rules.weight_cap * total_participation.value())
}

/// A weight after the cap.
pub fn capped(weight: f64, cap: Option<f64>) -> f64 {
    match cap {
        Some(cap) if weight > cap => cap,
        _ => weight,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::configuration::GovernanceSettings;
    use crate::votes::contribution::MSAT_PER_BTC;
    use crate::votes::rules::SECONDS_PER_DAY;

    const T: u64 = 1_800_000_000;

    fn rules() -> VoteRules {
        VoteRules::new(&GovernanceSettings::default(), 1, vec![], vec![])
    }

    fn totals(contributions: &[(u64, u64, bool)]) -> SenderTotals {
        let rules = rules();
        let mut totals = SenderTotals::default();
        for &(created_at, msat, vote) in contributions {
            totals.add(&rules, created_at, T, msat, vote);
        }
        totals
    }

    #[test]
    fn cooling_off_at_exactly_the_threshold_not_one_msat_below() {
        let threshold = MSAT_PER_BTC / 10;
        let at = SenderWeight::of(&rules(), &totals(&[(T, threshold, true)]));
        assert!(at.cooling_off);
        assert_eq!(at.zap, 0.0);
        assert_eq!(at.participation, 0.0);
        assert_eq!(at.kind, VoteKind::Participation);
        let below = SenderWeight::of(&rules(), &totals(&[(T, threshold - 1, true)]));
        assert!(!below.cooling_off);
        assert_eq!(below.kind, VoteKind::Zap);
        assert_eq!(below.zap, btc(threshold - 1).sqrt());
    }

    #[test]
    fn splitting_does_not_escape_cooling_off() {
        // 0.03 + 0.07 BTC, two days apart: the sum is the threshold.
        let split = totals(&[
            (T - SECONDS_PER_DAY, 3_000_000_000, true),
            (T - 3 * SECONDS_PER_DAY, 7_000_000_000, false),
        ]);
        assert!(SenderWeight::of(&rules(), &split).cooling_off);
    }

    #[test]
    fn cooling_off_leaves_young_contributions_out_of_participation() {
        // 4 BTC 60 days ago (old, in the window), 1 BTC now (young): P = sqrt(4) = 2.
        let t = totals(&[
            (T - 60 * SECONDS_PER_DAY, 4 * MSAT_PER_BTC, false),
            (T, MSAT_PER_BTC, true),
        ]);
        let w = SenderWeight::of(&rules(), &t);
        assert!(w.cooling_off);
        assert_eq!(w.participation, 2.0);
        assert_eq!(w.zap, 0.0);
        assert_eq!(w.weight, 0.2);
        assert_eq!(w.kind, VoteKind::Participation);
    }

    #[test]
    fn young_boundary_is_open_below() {
        let cd = 30 * SECONDS_PER_DAY;
        // Made exactly cooling_off_days before T: no longer young.
        let old = totals(&[(T - cd, MSAT_PER_BTC, false)]);
        assert_eq!(old.young_msat, 0);
        assert_eq!(old.window_msat, MSAT_PER_BTC);
        let young = totals(&[(T - cd + 1, MSAT_PER_BTC, false)]);
        assert_eq!(young.young_msat, MSAT_PER_BTC);
    }

    #[test]
    fn participation_window_boundary_is_open_below() {
        let pw = 90 * SECONDS_PER_DAY;
        assert_eq!(totals(&[(T - pw, MSAT_PER_BTC, false)]).window_msat, 0);
        assert_eq!(
            totals(&[(T - pw + 1, MSAT_PER_BTC, false)]).window_msat,
            MSAT_PER_BTC
        );
    }

    #[test]
    fn floor_wins_only_when_strictly_larger() {
        let day = SECONDS_PER_DAY;
        // 99 BTC 60 days ago and a vote of 1 BTC 40 days ago: P = sqrt(100) = 10, floor * P = 1,
        // Z = 1: a tie is a zap vote.
        let tie = totals(&[
            (T - 60 * day, 99 * MSAT_PER_BTC, false),
            (T - 40 * day, MSAT_PER_BTC, true),
        ]);
        let tie = SenderWeight::of(&rules(), &tie);
        assert!(!tie.cooling_off);
        assert_eq!(tie.participation, 10.0);
        assert_eq!(tie.weight, 1.0);
        assert_eq!(tie.kind, VoteKind::Zap);
        // 99.75 BTC and a vote of 0.25 BTC: P = 10 again, Z = 0.5, the floor wins.
        let quarter = MSAT_PER_BTC / 4;
        let small = totals(&[
            (T - 60 * day, 100 * MSAT_PER_BTC - quarter, false),
            (T - 40 * day, quarter, true),
        ]);
        let small = SenderWeight::of(&rules(), &small);
        assert_eq!(small.participation, 10.0);
        assert_eq!(small.zap, 0.5);
        assert_eq!(small.weight, 1.0);
        assert_eq!(small.kind, VoteKind::Participation);
    }

    #[test]
    fn cap_applies_from_ceil_of_inverse_cap_senders() {
        let rules = rules();
        let w: ExactSum = [10.0, 10.0].into_iter().collect();
        assert_eq!(cap(&rules, &w, 19), None);
        assert_eq!(cap(&rules, &w, 20), Some(1.0));
        assert_eq!(capped(3.0, Some(1.0)), 1.0);
        assert_eq!(capped(0.5, Some(1.0)), 0.5);
        assert_eq!(capped(3.0, None), 3.0);
    }
}
