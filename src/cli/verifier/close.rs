//! How a published weight is compared with the recomputed one.

/// Floats equal within 1e-9 relative (the same sums in another order may differ in the last
/// bits; ours are exact, but a third party's need not be).
pub fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}
