//! `Uncommitted`: the `created_at` of every receipt received and not yet committed, so no
//! relay cursor passes a receipt still in memory.

use std::collections::BTreeMap;

use nostr_sdk::Timestamp;

/// `created_at` of every receipt received and not yet committed (a multiset): cursors never
/// pass the oldest.
#[derive(Default)]
pub(super) struct Uncommitted(BTreeMap<Timestamp, usize>);

impl Uncommitted {
    pub(super) fn add(&mut self, at: Timestamp) {
        *self.0.entry(at).or_default() += 1;
    }

    pub(super) fn remove(&mut self, at: Timestamp) {
        if let Some(n) = self.0.get_mut(&at) {
            *n -= 1;
            if *n == 0 {
                self.0.remove(&at);
            }
        }
    }

    pub(super) fn oldest(&self) -> Option<Timestamp> {
        self.0.keys().next().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncommitted_is_a_multiset() {
        let mut u = Uncommitted::default();
        let t = Timestamp::from_secs;
        u.add(t(5));
        u.add(t(3));
        u.add(t(3));
        assert_eq!(u.oldest(), Some(t(3)));
        u.remove(t(3));
        assert_eq!(u.oldest(), Some(t(3)));
        u.remove(t(3));
        assert_eq!(u.oldest(), Some(t(5)));
        u.remove(t(9));
        u.remove(t(5));
        assert_eq!(u.oldest(), None);
    }
}
