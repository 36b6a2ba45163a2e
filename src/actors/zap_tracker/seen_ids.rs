//! `SeenIds`: the receipt ids the tracker saw recently, forgetting the oldest beyond a
//! capacity (a bounded memory, to skip judging a duplicate).

use std::collections::{HashSet, VecDeque};

use nostr_sdk::EventId;

/// Receipt ids seen recently, forgetting the oldest beyond a capacity.
pub(super) struct SeenIds {
    set: HashSet<EventId>,
    order: VecDeque<EventId>,
    capacity: usize,
}

impl SeenIds {
    pub(super) fn new(capacity: usize) -> Self {
        SeenIds {
            set: HashSet::new(),
            order: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// True when `id` was not seen yet.
    pub(super) fn insert(&mut self, id: EventId) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }

    pub(super) fn forget(&mut self, id: &EventId) {
        self.set.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_ids_forget_the_oldest() {
        let mut seen = SeenIds::new(2);
        let id = |n: u8| EventId::from_byte_array([n; 32]);
        assert!(seen.insert(id(1)));
        assert!(!seen.insert(id(1)));
        assert!(seen.insert(id(2)));
        assert!(seen.insert(id(3)));
        assert!(seen.insert(id(1)), "the oldest was forgotten");
        assert!(!seen.insert(id(3)));
        seen.forget(&id(3));
        assert!(seen.insert(id(3)));
    }
}
