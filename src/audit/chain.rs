//! The audit chain's rules (pure): the next head event's content, chained to the last
//! published head by an RFC 9162 consistency proof, when a head publication is due, and the
//! `created_at` rule every addressable event of ours follows ([`strictly_after`]). The
//! [`crate::actors::audit_head::AuditHeadActor`] holds the log and publishes.

use nostr_sdk::Timestamp;

use crate::audit::merkle::{self, Digest, MerkleError, MerkleLog};
use crate::nostr::events::AuditHead;

/// A head as published: enough to prove the next one consistent with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedHead {
    pub root: Digest,
    pub entries: u64,
}

/// The content of the next head event for `log`, chained to `previous` (the last published
/// head; `None` before the first). Fails when `log` does not extend `previous`.
pub fn plan_head(
    log: &MerkleLog,
    previous: Option<PublishedHead>,
) -> Result<AuditHead, MerkleError> {
    let previous = previous.unwrap_or(PublishedHead {
        root: merkle::empty_root(),
        entries: 0,
    });
    let old_size = usize::try_from(previous.entries).unwrap_or(usize::MAX);
    let old_root = log.root_at(old_size)?;
    if old_root != previous.root {
        return Err(MerkleError::OldRootMismatch {
            claimed: previous.root,
            computed: old_root,
        });
    }
    let proof = log.consistency_proof(old_size)?;
    Ok(AuditHead {
        head: log.root().to_prefixed(),
        entries: log.len() as u64,
        previous_head: previous.root.to_prefixed(),
        previous_entries: previous.entries,
        consistency_proof: proof.iter().map(Digest::to_string).collect(),
    })
}

/// Whether a head publication should be scheduled now: the log differs from what was last
/// published, and no publication is already waiting (its window gathers this change too) or
/// under way (it reschedules when it ends).
pub fn should_schedule(
    published: Option<PublishedHead>,
    current: PublishedHead,
    waiting: bool,
    publishing: bool,
) -> bool {
    !waiting && !publishing && published != Some(current)
}

/// `now`, or one second after `last` when `now` is not later: successive addressable events
/// with one `d` must have strictly increasing `created_at`.
pub fn strictly_after(now: Timestamp, last: Option<Timestamp>) -> Timestamp {
    match last {
        Some(last) if now <= last => Timestamp::from(last.as_secs().saturating_add(1)),
        _ => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u8) -> MerkleLog {
        (0..n).map(|i| merkle::leaf_hash(&[i])).collect()
    }

    fn published(log: &MerkleLog) -> PublishedHead {
        PublishedHead {
            root: log.root(),
            entries: log.len() as u64,
        }
    }

    fn verify(head: &AuditHead) -> Result<(), MerkleError> {
        let proof: Vec<Digest> = head
            .consistency_proof
            .iter()
            .map(|h| h.parse().unwrap())
            .collect();
        merkle::verify_consistency(
            head.previous_entries,
            head.entries,
            &Digest::parse_prefixed(&head.previous_head).unwrap(),
            &Digest::parse_prefixed(&head.head).unwrap(),
            &proof,
        )
    }

    #[test]
    fn the_first_head_chains_to_the_empty_tree() {
        for n in [0u8, 1, 5] {
            let head = plan_head(&leaves(n), None).unwrap();
            assert_eq!(head.entries, u64::from(n));
            assert_eq!(head.previous_entries, 0);
            assert_eq!(head.previous_head, merkle::empty_root().to_prefixed());
            assert!(head.consistency_proof.is_empty());
            verify(&head).unwrap();
        }
    }

    #[test]
    fn each_head_proves_consistency_with_the_last_published_one() {
        for (old, new) in [(1u8, 2u8), (3, 7), (4, 8), (5, 5), (6, 13)] {
            let before = published(&leaves(old));
            let head = plan_head(&leaves(new), Some(before)).unwrap();
            assert_eq!(head.previous_entries, u64::from(old));
            assert_eq!(head.previous_head, before.root.to_prefixed());
            assert_eq!(head.head, leaves(new).root().to_prefixed());
            verify(&head).unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
        }
    }

    #[test]
    fn a_log_that_does_not_extend_the_published_head_has_no_head() {
        let other: MerkleLog = (10..15u8).map(|i| merkle::leaf_hash(&[i])).collect();
        assert!(plan_head(&leaves(8), Some(published(&other))).is_err());
        // A log shorter than the published head (entries lost).
        assert!(plan_head(&leaves(3), Some(published(&leaves(5)))).is_err());
    }

    #[test]
    fn publication_is_scheduled_once_per_window_and_only_for_a_change() {
        let a = published(&leaves(3));
        let b = published(&leaves(4));
        assert!(should_schedule(Some(a), b, false, false));
        assert!(should_schedule(None, a, false, false));
        // Nothing new since the last head.
        assert!(!should_schedule(Some(a), a, false, false));
        // A window is already open: this append joins it.
        assert!(!should_schedule(Some(a), b, true, false));
        // A publication is under way: it reschedules when it ends.
        assert!(!should_schedule(Some(a), b, false, true));
    }

    #[test]
    fn created_at_strictly_increases() {
        let t = Timestamp::from(1_000);
        assert_eq!(strictly_after(t, None), t);
        assert_eq!(strictly_after(t, Some(Timestamp::from(999))), t);
        assert_eq!(strictly_after(t, Some(t)), Timestamp::from(1_001));
        assert_eq!(
            strictly_after(t, Some(Timestamp::from(5_000))),
            Timestamp::from(5_001)
        );
    }
}
