//! Exact, order-independent sums of weights (the tally's sums: DESIGN.md "Votes", *Cap* and
//! *Tally*).
//!
//! # Why
//!
//! Float addition is not associative: `(a + b) + c` and `a + (b + c)` can differ in the last bit,
//! so a tally summed in arrival order would depend on which relay delivered first, and an
//! incremental tally (add a ballot, take one away) would drift from a full recompute. A published
//! tally must be reproducible bit for bit by anyone, from the receipts alone.
//!
//! So each non-negative weight `w` is converted once to fixed point, `fix(w) = (w * 2^64) as u128`
//! (truncating; `as` saturates, and NaN or a negative weight becomes 0), and sums are plain `u128`
//! additions and subtractions, which are exact and commutative. The sum is read back as
//! `sum as f64 / 2^64`. Weights are square roots of BTC amounts (below 2^13 for all the bitcoin
//! there will ever be), so 2^64 of headroom above the fraction bits cannot overflow.

/// `2^64` as an `f64`: the fixed point's scale.
const SCALE: f64 = 18_446_744_073_709_551_616.0;

/// The fixed-point image of a weight: `(w * 2^64) as u128`.
pub fn fix(weight: f64) -> u128 {
    (weight * SCALE) as u128
}

/// An exact sum of non-negative `f64` weights, independent of the order of its terms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ExactSum(u128);

impl ExactSum {
    pub const ZERO: ExactSum = ExactSum(0);

    /// Adds `weight`.
    pub fn add(&mut self, weight: f64) {
        self.add_fixed(fix(weight));
    }

    /// Removes `weight`, which must have been added before.
    pub fn sub(&mut self, weight: f64) {
        self.sub_fixed(fix(weight));
    }

    /// Adds an already fixed-point term.
    pub fn add_fixed(&mut self, fixed: u128) {
        self.0 = self.0.wrapping_add(fixed);
    }

    /// Removes an already fixed-point term.
    pub fn sub_fixed(&mut self, fixed: u128) {
        self.0 = self.0.wrapping_sub(fixed);
    }

    /// Adds another sum.
    pub fn merge(&mut self, other: ExactSum) {
        self.add_fixed(other.0);
    }

    /// The raw fixed-point total.
    pub fn fixed(&self) -> u128 {
        self.0
    }

    /// The sum as an `f64`: `sum as f64 / 2^64`.
    pub fn value(&self) -> f64 {
        self.0 as f64 / SCALE
    }
}

impl FromIterator<f64> for ExactSum {
    fn from_iter<I: IntoIterator<Item = f64>>(iter: I) -> Self {
        let mut sum = ExactSum::ZERO;
        iter.into_iter().for_each(|w| sum.add(w));
        sum
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn float_addition_is_order_dependent_but_this_is_not() {
        let (a, b, c) = (0.1, 0.2, 0.3);
        assert_ne!((a + b) + c, a + (b + c));
        let left: ExactSum = [a, b, c].into_iter().collect();
        let right: ExactSum = [c, b, a].into_iter().collect();
        assert_eq!(left, right);
        assert_eq!(left.value(), right.value());
    }

    #[test]
    fn add_then_sub_restores_and_reads_back() {
        let mut sum = ExactSum::ZERO;
        sum.add(3.0);
        sum.add(2.5);
        assert_eq!(sum.value(), 5.5);
        sum.sub(3.0);
        assert_eq!(sum.value(), 2.5);
        assert_eq!(fix(1.0), 1u128 << 64);
        assert_eq!(fix(-1.0), 0);
        assert_eq!(fix(f64::NAN), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_order_gives_the_same_bits(mut weights in prop::collection::vec(0.0f64..5_000.0, 0..50)) {
            let forward: ExactSum = weights.iter().copied().collect();
            weights.reverse();
            let backward: ExactSum = weights.iter().copied().collect();
            prop_assert_eq!(forward, backward);
            let mut removed = forward;
            for w in &weights {
                removed.sub(*w);
            }
            prop_assert_eq!(removed, ExactSum::ZERO);
        }
    }
}
