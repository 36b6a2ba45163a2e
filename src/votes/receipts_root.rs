//! The Merkle root over the counted receipts: DESIGN.md "Tally events", `receipts_root`.
//!
//! The root is RFC 9162's (the audit log's hashing, [`crate::audit::merkle`]) over the counted receipt
//! ids sorted ascending (byte order, which is lowercase hex order), each leaf the 32 id bytes. A
//! voter proves their zap was counted with an [`inclusion`] proof against the signed root.

use nostr_sdk::EventId;
use serde::{Deserialize, Serialize};

use crate::audit::merkle::{inclusion_proof, leaf_hash, root, verify_inclusion, Digest};

/// The leaf hash of a counted receipt.
pub fn receipt_leaf(receipt: &EventId) -> Digest {
    leaf_hash(receipt.as_bytes())
}

/// The root over `counted`, which must be sorted ascending without duplicates (as in a
/// [`crate::votes::Tally`]).
pub fn receipts_root(counted: &[EventId]) -> Digest {
    let leaves: Vec<Digest> = counted.iter().map(receipt_leaf).collect();
    root(&leaves)
}

/// Proof that one receipt is leaf `index` of the tree of `size` counted receipts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptInclusion {
    pub index: u64,
    pub size: u64,
    /// Hex hashes, from the leaf's sibling up.
    pub proof: Vec<Digest>,
}

/// The inclusion proof of `receipt` among `counted` (sorted ascending), or `None` when it was not
/// counted.
pub fn inclusion(counted: &[EventId], receipt: &EventId) -> Option<ReceiptInclusion> {
    let index = counted.binary_search(receipt).ok()?;
    let leaves: Vec<Digest> = counted.iter().map(receipt_leaf).collect();
    let proof = inclusion_proof(&leaves, index).ok()?;
    Some(ReceiptInclusion {
        index: index as u64,
        size: counted.len() as u64,
        proof,
    })
}

/// Whether `inclusion` proves `receipt` is counted under `root`.
pub fn verify_receipt_inclusion(
    root: &Digest,
    receipt: &EventId,
    inclusion: &ReceiptInclusion,
) -> bool {
    verify_inclusion(
        inclusion.index,
        inclusion.size,
        &receipt_leaf(receipt),
        &inclusion.proof,
        root,
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::merkle::empty_root;

    fn ids(n: u8) -> Vec<EventId> {
        let mut ids: Vec<EventId> = (0..n)
            .map(|i| EventId::from_byte_array([i.wrapping_mul(37); 32]))
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn empty_and_single() {
        assert_eq!(receipts_root(&[]), empty_root());
        let one = ids(1);
        assert_eq!(receipts_root(&one), leaf_hash(one[0].as_bytes()));
    }

    #[test]
    fn every_counted_receipt_proves_and_others_do_not() {
        for n in 1..12 {
            let counted = ids(n);
            let root = receipts_root(&counted);
            for id in &counted {
                let proof = inclusion(&counted, id).expect("counted");
                assert!(verify_receipt_inclusion(&root, id, &proof));
                let other = EventId::from_byte_array([255; 32]);
                assert!(!counted.contains(&other));
                assert!(!verify_receipt_inclusion(&root, &other, &proof));
            }
            assert_eq!(
                inclusion(&counted, &EventId::from_byte_array([255; 32])),
                None
            );
        }
    }

    #[test]
    fn proof_serialises_as_hex() {
        let counted = ids(3);
        let proof = inclusion(&counted, &counted[1]).expect("counted");
        let json = serde_json::to_value(&proof).expect("serialises");
        assert_eq!(json["index"], 1);
        assert_eq!(json["size"], 3);
        assert_eq!(json["proof"][0].as_str().map(str::len), Some(64));
        let back: ReceiptInclusion = serde_json::from_value(json).expect("round trip");
        assert_eq!(back, proof);
    }
}
