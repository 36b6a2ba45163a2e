//! A tally's `anomalies`: how many of its counted receipts failed each check of rules 4 and 7
//! (DESIGN.md "Tally events"). Such receipts count like any other; the tally shows how many
//! there are, so a voter or an auditor sees how much of a result rests on providers' sloppy
//! bookkeeping.
//!
//! ```json
//! "anomalies": {"description_hash": 3, "payment_hash": 0, "preimage": 0}
//! ```

use std::collections::HashMap;

use nostr_sdk::EventId;
use serde::{Deserialize, Serialize};

use crate::nostr::nip57::{Anomalies, Check};

/// Counted receipts per failed check (a receipt that failed two checks is in both counts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AnomalyCounts {
    pub description_hash: u64,
    pub payment_hash: u64,
    pub preimage: u64,
}

impl AnomalyCounts {
    /// The counts over `counted` (receipt ids, each once), given the anomalies of the receipts
    /// that have any (a receipt missing from `anomalies` passed every check).
    pub fn of_counted<'a>(
        counted: impl IntoIterator<Item = &'a EventId>,
        anomalies: &HashMap<EventId, Anomalies>,
    ) -> AnomalyCounts {
        let mut counts = AnomalyCounts::default();
        if anomalies.is_empty() {
            return counts;
        }
        for id in counted {
            if let Some(set) = anomalies.get(id) {
                counts.add(*set);
            }
        }
        counts
    }

    /// Counts one receipt's failed checks.
    pub fn add(&mut self, anomalies: Anomalies) {
        for check in anomalies.iter() {
            *self.get_mut(check) += 1;
        }
    }

    /// The count of `check`.
    pub fn get(&self, check: Check) -> u64 {
        match check {
            Check::DescriptionHash => self.description_hash,
            Check::PaymentHash => self.payment_hash,
            Check::Preimage => self.preimage,
        }
    }

    fn get_mut(&mut self, check: Check) -> &mut u64 {
        match check {
            Check::DescriptionHash => &mut self.description_hash,
            Check::PaymentHash => &mut self.payment_hash,
            Check::Preimage => &mut self.preimage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> EventId {
        EventId::from_byte_array([n; 32])
    }

    #[test]
    fn counts_only_counted_receipts_once_per_failed_check() {
        let both = Anomalies::NONE
            .with(Check::DescriptionHash)
            .with(Check::PaymentHash);
        let anomalies = HashMap::from([
            (id(1), both),
            (id(2), Anomalies::NONE.with(Check::DescriptionHash)),
            (id(3), Anomalies::NONE.with(Check::Preimage)),
        ]);
        // Receipt 3 is not counted; receipt 4 has no anomaly.
        let counts = AnomalyCounts::of_counted(&[id(1), id(2), id(4)], &anomalies);
        assert_eq!(
            counts,
            AnomalyCounts {
                description_hash: 2,
                payment_hash: 1,
                preimage: 0,
            }
        );
        for check in Check::ALL {
            assert_eq!(
                counts.get(check),
                [2, 1, 0][Check::ALL.iter().position(|c| *c == check).unwrap_or(0)]
            );
        }
        assert_eq!(
            AnomalyCounts::of_counted(&[id(1)], &HashMap::new()),
            AnomalyCounts::default()
        );
    }

    #[test]
    fn json_names_every_check() {
        let json = serde_json::to_value(AnomalyCounts {
            description_hash: 3,
            payment_hash: 0,
            preimage: 1,
        })
        .expect("json");
        assert_eq!(
            json,
            serde_json::json!({"description_hash": 3, "payment_hash": 0, "preimage": 1})
        );
        for check in Check::ALL {
            assert!(json.get(check.name()).is_some(), "{check}");
        }
    }
}
