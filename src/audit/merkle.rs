//! RFC 9162 (Certificate Transparency v2) Merkle trees: tree hashes, inclusion proofs and
//! consistency proofs. Pure code, no I/O.
//!
//! # Why this exists
//!
//! The service keeps an append-only audit log. Its *head*, published in the kind 30080
//! audit-log head event as `sha256:<hex>`, is the Merkle tree hash of the log's entries. Each new
//! head is published together with the previous head, both sizes, and a consistency proof (plain
//! hex hashes) from the previous tree to the new one. Anyone holding only the two heads can run
//! [`verify_consistency`] and know that the new log is the old log with entries appended: nothing
//! was removed, reordered or rewritten. [`verify_inclusion`] does the same for a single entry.
//!
//! # What this module owns
//!
//! - The hashing conventions (RFC 9162 §2.1.1): a leaf is `SHA-256(0x00 || entry)`, an interior
//!   node `SHA-256(0x01 || left || right)`, the empty tree `SHA-256("")`. The distinct prefixes
//!   keep a leaf from ever being passed off as an interior node.
//! - The tree shape: a tree of `n > 1` leaves splits at `k`, the largest power of two below `n`.
//! - Proof generation (§2.1.3.1 `PATH`, §2.1.4.1 `SUBPROOF`) over a plain slice of leaf hashes or
//!   over a [`MerkleLog`], which caches complete subtrees so a head for a log of any size costs
//!   `O(log n)` hashes.
//! - Proof verification exactly as §2.1.3.2 and §2.1.4.2 describe it, with [`MerkleError`] saying
//!   which check failed.
//!
//! # What a proof does not prove
//!
//! A proof binds the two roots, not the sizes: the hashes a verifier combines depend on the sizes,
//! but different size pairs can share the same shape (the proof `[x]` from 4 leaves to 8 also
//! "verifies" a claim from 4 leaves to 5 whose root is the 8-leaf root). The sizes are only as
//! good as the signature on the event that states them, and the chain of heads (each event's
//! `previous_head` and `previous_entries` are the `head` and `entries` of the one before it) is
//! what ties them together. A verifier holding the entries can recompute the root with [`root`].

use std::fmt;
use std::str::FromStr;

use nostr_sdk::hashes::{sha256, Hash};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Domain-separation prefix of a leaf hash (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// A SHA-256 value: a leaf hash, an interior node hash or a tree root.
///
/// `Display`, `FromStr` and serde use plain lowercase hex, the format of the hashes in a
/// `consistency_proof`; [`Digest::to_prefixed`] and [`Digest::parse_prefixed`] give the
/// `sha256:<hex>` format of a head.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The prefix of a head digest in published events.
    pub const PREFIX: &'static str = "sha256:";

    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// `sha256:<hex>`, the format of `head` and `previous_head` in the audit-log head event.
    pub fn to_prefixed(&self) -> String {
        format!("{}{self}", Self::PREFIX)
    }

    /// Parses `sha256:<hex>`; the hex is 64 digits, either case.
    pub fn parse_prefixed(s: &str) -> Result<Self, MerkleError> {
        s.strip_prefix(Self::PREFIX)
            .ok_or(MerkleError::MissingPrefix)?
            .parse()
    }
}

impl From<[u8; 32]> for Digest {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl AsRef<[u8]> for Digest {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = MerkleError;

    /// Parses 64 hex digits, either case, with nothing around them.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 {
            return Err(MerkleError::DigestLength { len: s.len() });
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| MerkleError::DigestNotHex)?;
        Ok(Self(bytes))
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// What was wrong with a request for a tree hash or proof, or with a proof being verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerkleError {
    #[error("old tree size {old_size} is larger than new tree size {new_size}; a log only grows")]
    OldSizeLargerThanNew { old_size: u64, new_size: u64 },
    #[error("tree size {size} is larger than the log, which holds {len} leaves")]
    SizeBeyondLog { size: u64, len: u64 },
    #[error("leaf index {index} is outside a tree of {size} leaves")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("proof has {len} hashes, more than a proof between these tree sizes can have")]
    ProofTooLong { len: usize },
    #[error("proof has {len} hashes, fewer than a proof between these tree sizes needs")]
    ProofTooShort { len: usize },
    #[error("old root {claimed} does not match {computed}, the old root the proof leads to")]
    OldRootMismatch { claimed: Digest, computed: Digest },
    #[error("new root {claimed} does not match {computed}, the new root the proof leads to")]
    NewRootMismatch { claimed: Digest, computed: Digest },
    #[error("root {claimed} does not match {computed}, the root the inclusion proof leads to")]
    RootMismatch { claimed: Digest, computed: Digest },
    #[error("two trees of {size} leaves have different roots {old_root} and {new_root}")]
    SameSizeDifferentRoots {
        size: u64,
        old_root: Digest,
        new_root: Digest,
    },
    #[error("a digest is 64 hex digits, got {len} bytes")]
    DigestLength { len: usize },
    #[error("a digest is 64 hex digits, got a character that is not hex")]
    DigestNotHex,
    #[error("a tree head is `sha256:` followed by 64 hex digits; the `sha256:` is missing")]
    MissingPrefix,
}

/// The hash of a log entry as a leaf: `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Digest {
    Digest(sha256::Hash::hash_byte_chunks([&[LEAF_PREFIX][..], entry]).to_byte_array())
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Digest, right: &Digest) -> Digest {
    Digest(sha256::Hash::hash_byte_chunks([&[NODE_PREFIX][..], &left.0, &right.0]).to_byte_array())
}

/// The hash of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Digest {
    Digest(sha256::Hash::hash(&[]).to_byte_array())
}

/// The Merkle tree hash (MTH) of a list of leaf hashes. `O(n)`; a [`MerkleLog`] is cheaper for
/// repeated heads of a growing log.
pub fn root(leaves: &[Digest]) -> Digest {
    match leaves {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            let (left, right) = leaves.split_at(split_point(leaves.len()));
            node_hash(&root(left), &root(right))
        }
    }
}

/// The consistency proof from the tree of the first `old_size` leaves to the tree of all
/// `leaves` (RFC 9162 §2.1.4.1). Empty when `old_size` is 0 or `leaves.len()`.
pub fn consistency_proof(leaves: &[Digest], old_size: usize) -> Result<Vec<Digest>, MerkleError> {
    consistency_proof_in(leaves, old_size, leaves.len())
}

/// The inclusion proof of leaf `index` in the tree of all `leaves` (RFC 9162 §2.1.3.1), ordered
/// from the leaf's sibling up to the child of the root.
pub fn inclusion_proof(leaves: &[Digest], index: usize) -> Result<Vec<Digest>, MerkleError> {
    inclusion_proof_in(leaves, index, leaves.len())
}

/// Checks that the tree `(new_size, new_root)` extends the tree `(old_size, old_root)`, following
/// RFC 9162 §2.1.4.2.
///
/// Beyond the RFC's `0 < old_size < new_size`: equal sizes need an empty proof and equal roots;
/// an old size of 0 needs an empty proof and `old_root` equal to [`empty_root`], and is then
/// consistent with any new tree.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Digest,
    new_root: &Digest,
    proof: &[Digest],
) -> Result<(), MerkleError> {
    if old_size > new_size {
        return Err(MerkleError::OldSizeLargerThanNew { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(MerkleError::ProofTooLong { len: proof.len() });
        }
        if old_size == 0 && *old_root != empty_root() {
            return Err(MerkleError::OldRootMismatch {
                claimed: *old_root,
                computed: empty_root(),
            });
        }
        if old_size == new_size && old_root != new_root {
            return Err(MerkleError::SameSizeDifferentRoots {
                size: old_size,
                old_root: *old_root,
                new_root: *new_root,
            });
        }
        return Ok(());
    }

    // Step 1 and 2: the path starts with the old root when the old tree is a complete subtree
    // (the proof then leaves it out), with the proof's first hash otherwise.
    let (first, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        proof
            .split_first()
            .ok_or(MerkleError::ProofTooShort { len: 0 })?
    };
    // Step 3 and 4.
    let mut fn_ = old_size - 1;
    let mut sn = new_size - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    let mut fr = *first;
    let mut sr = *first;
    // Step 6.
    for c in rest {
        if sn == 0 {
            return Err(MerkleError::ProofTooLong { len: proof.len() });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7.
    if sn != 0 {
        return Err(MerkleError::ProofTooShort { len: proof.len() });
    }
    if fr != *old_root {
        return Err(MerkleError::OldRootMismatch {
            claimed: *old_root,
            computed: fr,
        });
    }
    if sr != *new_root {
        return Err(MerkleError::NewRootMismatch {
            claimed: *new_root,
            computed: sr,
        });
    }
    Ok(())
}

/// Checks that `leaf` (a leaf hash, see [`leaf_hash`]) is leaf `index` of the tree
/// `(size, root)`, following RFC 9162 §2.1.3.2.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Digest,
    proof: &[Digest],
    root: &Digest,
) -> Result<(), MerkleError> {
    // Step 1.
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    // Step 2 and 3.
    let mut fn_ = index;
    let mut sn = size - 1;
    let mut r = *leaf;
    // Step 4.
    for p in proof {
        if sn == 0 {
            return Err(MerkleError::ProofTooLong { len: proof.len() });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    if sn != 0 {
        return Err(MerkleError::ProofTooShort { len: proof.len() });
    }
    if r != *root {
        return Err(MerkleError::RootMismatch {
            claimed: *root,
            computed: r,
        });
    }
    Ok(())
}

/// An append-only list of leaf hashes that keeps the hash of every complete subtree, so the root
/// of any prefix, and any proof, costs `O(log n)` hashes (`O(log² n)` for a consistency proof)
/// instead of `O(n)`. Memory: about two digests per leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleLog {
    /// `levels[h][i]` is the hash of the complete subtree over leaves `i * 2^h .. (i + 1) * 2^h`;
    /// `levels[0]` are the leaf hashes themselves. Always at least one level, and
    /// `levels[h].len() == len() >> h`.
    levels: Vec<Vec<Digest>>,
}

impl Default for MerkleLog {
    fn default() -> Self {
        Self::new()
    }
}

impl MerkleLog {
    pub fn new() -> Self {
        Self {
            levels: vec![Vec::new()],
        }
    }

    /// A log holding `leaves` (leaf hashes), in order.
    pub fn from_leaves(leaves: impl IntoIterator<Item = Digest>) -> Self {
        let mut log = Self::new();
        log.extend(leaves);
        log
    }

    /// Appends a leaf hash (see [`leaf_hash`]) and returns its index.
    pub fn push(&mut self, leaf: Digest) -> usize {
        let index = self.levels[0].len();
        self.levels[0].push(leaf);
        // Each odd position completes a pair; its parent may complete a pair one level up.
        let mut height = 0;
        let mut position = index;
        while position & 1 == 1 {
            let level = &self.levels[height];
            let parent = node_hash(&level[position - 1], &level[position]);
            if self.levels.len() == height + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[height + 1].push(parent);
            height += 1;
            position >>= 1;
        }
        index
    }

    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The leaf hashes, in order.
    pub fn leaves(&self) -> &[Digest] {
        &self.levels[0]
    }

    /// The tree hash of the whole log.
    pub fn root(&self) -> Digest {
        self.subtree_hash(0, self.len())
    }

    /// The tree hash of the log's first `size` leaves: the head it had at that size.
    pub fn root_at(&self, size: usize) -> Result<Digest, MerkleError> {
        if size > self.len() {
            return Err(MerkleError::SizeBeyondLog {
                size: size as u64,
                len: self.len() as u64,
            });
        }
        Ok(self.subtree_hash(0, size))
    }

    /// The consistency proof from the log's first `old_size` leaves to the whole log.
    pub fn consistency_proof(&self, old_size: usize) -> Result<Vec<Digest>, MerkleError> {
        consistency_proof_in(self, old_size, self.len())
    }

    /// The inclusion proof of leaf `index` in the whole log.
    pub fn inclusion_proof(&self, index: usize) -> Result<Vec<Digest>, MerkleError> {
        inclusion_proof_in(self, index, self.len())
    }
}

impl Extend<Digest> for MerkleLog {
    fn extend<I: IntoIterator<Item = Digest>>(&mut self, leaves: I) {
        for leaf in leaves {
            self.push(leaf);
        }
    }
}

impl FromIterator<Digest> for MerkleLog {
    fn from_iter<I: IntoIterator<Item = Digest>>(leaves: I) -> Self {
        Self::from_leaves(leaves)
    }
}

/// Tree hashes of ranges of leaves, so the proof algorithms are written once for a plain slice
/// (hashed on demand) and for a [`MerkleLog`] (from its cached subtrees).
trait SubtreeHashes {
    /// MTH of the `len` leaves from `start`. Only called with ranges that the RFC's recursion
    /// produces from a tree rooted at leaf 0: `start` is then a multiple of the smallest power of
    /// two not below `len`, so every complete subtree met is one the log has cached.
    fn subtree_hash(&self, start: usize, len: usize) -> Digest;
}

impl SubtreeHashes for [Digest] {
    fn subtree_hash(&self, start: usize, len: usize) -> Digest {
        root(&self[start..start + len])
    }
}

impl SubtreeHashes for MerkleLog {
    fn subtree_hash(&self, start: usize, len: usize) -> Digest {
        if len == 0 {
            return empty_root();
        }
        if len.is_power_of_two() {
            let height = len.trailing_zeros() as usize;
            debug_assert_eq!(start % len, 0, "subtree not aligned");
            return self.levels[height][start >> height];
        }
        let k = split_point(len);
        node_hash(
            &self.subtree_hash(start, k),
            &self.subtree_hash(start + k, len - k),
        )
    }
}

/// The largest power of two strictly below `n` (`n >= 2`): where a tree of `n` leaves splits.
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

fn consistency_proof_in<T: SubtreeHashes + ?Sized>(
    tree: &T,
    old_size: usize,
    new_size: usize,
) -> Result<Vec<Digest>, MerkleError> {
    if old_size > new_size {
        return Err(MerkleError::OldSizeLargerThanNew {
            old_size: old_size as u64,
            new_size: new_size as u64,
        });
    }
    let mut proof = Vec::new();
    if old_size > 0 && old_size < new_size {
        subproof(tree, old_size, 0, new_size, true, &mut proof);
    }
    Ok(proof)
}

/// RFC 9162 §2.1.4.1 `SUBPROOF(m, D[start:start+n], b)`, appending to `out`; `0 < m <= n`.
fn subproof<T: SubtreeHashes + ?Sized>(
    tree: &T,
    m: usize,
    start: usize,
    n: usize,
    complete: bool,
    out: &mut Vec<Digest>,
) {
    if m == n {
        if !complete {
            out.push(tree.subtree_hash(start, n));
        }
        return;
    }
    let k = split_point(n);
    if m <= k {
        subproof(tree, m, start, k, complete, out);
        out.push(tree.subtree_hash(start + k, n - k));
    } else {
        subproof(tree, m - k, start + k, n - k, false, out);
        out.push(tree.subtree_hash(start, k));
    }
}

fn inclusion_proof_in<T: SubtreeHashes + ?Sized>(
    tree: &T,
    index: usize,
    size: usize,
) -> Result<Vec<Digest>, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange {
            index: index as u64,
            size: size as u64,
        });
    }
    let mut proof = Vec::new();
    path(tree, index, 0, size, &mut proof);
    Ok(proof)
}

/// RFC 9162 §2.1.3.1 `PATH(m, D[start:start+n])`, appending to `out`; `m < n`.
fn path<T: SubtreeHashes + ?Sized>(
    tree: &T,
    m: usize,
    start: usize,
    n: usize,
    out: &mut Vec<Digest>,
) {
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    if m < k {
        path(tree, m, start, k, out);
        out.push(tree.subtree_hash(start + k, n - k));
    } else {
        path(tree, m - k, start + k, n - k, out);
        out.push(tree.subtree_hash(start, k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::Index;

    fn k(left: Digest, right: Digest) -> Digest {
        node_hash(&left, &right)
    }

    fn hex_digest(s: &str) -> Digest {
        s.parse().expect("test constant is 64 hex digits")
    }

    /// A different digest: one bit flipped.
    fn flipped(digest: Digest) -> Digest {
        let mut bytes = *digest.as_bytes();
        bytes[7] ^= 0x10;
        Digest::from_bytes(bytes)
    }

    /// `count` distinct entries (the index is part of each), varied by `salt`.
    fn entries(count: usize, salt: u64) -> Vec<Vec<u8>> {
        (0..count as u64)
            .map(|i| [salt.to_le_bytes(), i.to_le_bytes()].concat())
            .collect()
    }

    fn leaves_of(entries: &[Vec<u8>]) -> Vec<Digest> {
        entries.iter().map(|entry| leaf_hash(entry)).collect()
    }

    /// The entries of the Certificate Transparency reference test data.
    fn ct_entries() -> Vec<Vec<u8>> {
        vec![
            vec![],
            vec![0x00],
            vec![0x10],
            vec![0x20, 0x21],
            vec![0x30, 0x31],
            vec![0x40, 0x41, 0x42, 0x43],
            (0x50..=0x57).collect(),
            (0x60..=0x6f).collect(),
        ]
    }

    #[test]
    fn hashing_conventions_match_known_constants() {
        // SHA-256 of the empty string.
        assert_eq!(
            empty_root(),
            hex_digest("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(root(&[]), empty_root());
        assert_eq!(MerkleLog::new().root(), empty_root());
        // SHA-256 of the single byte 0x00: the leaf hash of an empty entry.
        assert_eq!(
            leaf_hash(b""),
            hex_digest("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        );
        // The node prefix is 0x01 and the children follow in order.
        let (a, b) = (leaf_hash(b"a"), leaf_hash(b"b"));
        let mut preimage = vec![0x01];
        preimage.extend_from_slice(a.as_bytes());
        preimage.extend_from_slice(b.as_bytes());
        assert_eq!(
            node_hash(&a, &b).as_bytes(),
            &sha256::Hash::hash(&preimage).to_byte_array()
        );
        assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
    }

    #[test]
    fn roots_of_1_to_8_leaves_follow_the_rfc_tree_shape() {
        let l = leaves_of(&ct_entries());
        let k4 = k(k(l[0], l[1]), k(l[2], l[3]));
        let expected = [
            l[0],
            k(l[0], l[1]),
            k(k(l[0], l[1]), l[2]),
            k4,
            k(k4, l[4]),
            k(k4, k(l[4], l[5])),
            k(k4, k(k(l[4], l[5]), l[6])),
            k(k4, k(k(l[4], l[5]), k(l[6], l[7]))),
        ];
        // The Certificate Transparency reference roots for these entries.
        let reference = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let log = MerkleLog::from_leaves(l.iter().copied());
        for n in 1..=8 {
            assert_eq!(root(&l[..n]), expected[n - 1], "root of {n} leaves");
            assert_eq!(log.root_at(n), Ok(expected[n - 1]), "log root of {n}");
            assert_eq!(expected[n - 1], hex_digest(reference[n - 1]), "{n} leaves");
        }
        assert_eq!(log.root(), expected[7]);
    }

    /// The example tree of RFC 9162 §2.1.5: seven leaves d0..d6 with leaf hashes a..f and j.
    struct RfcExample {
        leaves: Vec<Digest>,
        nodes: [Digest; 12],
    }

    impl RfcExample {
        fn new() -> Self {
            let entries: Vec<Vec<u8>> = (0..7).map(|i| format!("d{i}").into_bytes()).collect();
            let leaves = leaves_of(&entries);
            let [a, b, c, d, e, f, j] = [0, 1, 2, 3, 4, 5, 6].map(|i| leaves[i]);
            let (g, h, i) = (k(a, b), k(c, d), k(e, f));
            let (k_, l) = (k(g, h), k(i, j));
            Self {
                leaves,
                nodes: [a, b, c, d, e, f, g, h, i, j, k_, l],
            }
        }
    }

    #[test]
    fn rfc_9162_example_consistency_proofs() {
        let RfcExample { leaves, nodes } = RfcExample::new();
        let [_, _, c, d, _, _, g, _, i, j, k_, l] = nodes;
        let hash = k(k_, l);
        let hash0 = k(g, c);
        let hash1 = k_;
        let hash2 = k(k_, i);
        assert_eq!(root(&leaves), hash);
        let log = MerkleLog::from_leaves(leaves.iter().copied());
        for (old_size, old_root, expected) in [
            (3, hash0, vec![c, d, g, l]),
            (4, hash1, vec![l]),
            (6, hash2, vec![i, j, k_]),
        ] {
            assert_eq!(root(&leaves[..old_size]), old_root);
            assert_eq!(consistency_proof(&leaves, old_size), Ok(expected.clone()));
            assert_eq!(log.consistency_proof(old_size), Ok(expected.clone()));
            assert_eq!(
                verify_consistency(old_size as u64, 7, &old_root, &hash, &expected),
                Ok(())
            );
        }
    }

    #[test]
    fn rfc_9162_example_inclusion_proofs() {
        let RfcExample { leaves, nodes } = RfcExample::new();
        let [a, b, c, d, _, f, g, h, i, j, k_, l] = nodes;
        let hash = k(k_, l);
        let log = MerkleLog::from_leaves(leaves.iter().copied());
        for (index, leaf, expected) in [
            (0, a, vec![b, h, l]),
            (3, d, vec![c, g, l]),
            (4, nodes[4], vec![f, j, k_]),
            (6, j, vec![i, k_]),
        ] {
            assert_eq!(inclusion_proof(&leaves, index), Ok(expected.clone()));
            assert_eq!(log.inclusion_proof(index), Ok(expected.clone()));
            assert_eq!(
                verify_inclusion(index as u64, 7, &leaf, &expected, &hash),
                Ok(())
            );
        }
    }

    #[test]
    fn consistency_edge_cases() {
        let leaves = leaves_of(&entries(5, 1));
        let r5 = root(&leaves);
        let r3 = root(&leaves[..3]);
        let empty = empty_root();

        // Equal sizes: empty proof, equal roots.
        assert_eq!(consistency_proof(&leaves, 5), Ok(vec![]));
        assert_eq!(verify_consistency(5, 5, &r5, &r5, &[]), Ok(()));
        assert_eq!(
            verify_consistency(5, 5, &r3, &r5, &[]),
            Err(MerkleError::SameSizeDifferentRoots {
                size: 5,
                old_root: r3,
                new_root: r5
            })
        );
        assert_eq!(
            verify_consistency(5, 5, &r5, &r5, &[r3]),
            Err(MerkleError::ProofTooLong { len: 1 })
        );

        // From the empty tree: empty proof, consistent with anything, but the old root must be
        // the empty tree's.
        assert_eq!(consistency_proof(&leaves, 0), Ok(vec![]));
        assert_eq!(verify_consistency(0, 5, &empty, &r5, &[]), Ok(()));
        assert_eq!(verify_consistency(0, 0, &empty, &empty, &[]), Ok(()));
        assert_eq!(
            verify_consistency(0, 5, &r3, &r5, &[]),
            Err(MerkleError::OldRootMismatch {
                claimed: r3,
                computed: empty
            })
        );
        assert_eq!(
            verify_consistency(0, 0, &empty, &r5, &[]),
            Err(MerkleError::SameSizeDifferentRoots {
                size: 0,
                old_root: empty,
                new_root: r5
            })
        );
        assert_eq!(
            verify_consistency(0, 5, &empty, &r5, &[r3]),
            Err(MerkleError::ProofTooLong { len: 1 })
        );

        // Shrinking is never consistent.
        let shrink = MerkleError::OldSizeLargerThanNew {
            old_size: 6,
            new_size: 5,
        };
        assert_eq!(consistency_proof(&leaves, 6), Err(shrink.clone()));
        let log = MerkleLog::from_leaves(leaves.iter().copied());
        assert_eq!(log.consistency_proof(6), Err(shrink.clone()));
        assert_eq!(verify_consistency(6, 5, &r5, &r5, &[]), Err(shrink));

        // A real step needs a proof, of the right length.
        assert_eq!(
            verify_consistency(3, 5, &r3, &r5, &[]),
            Err(MerkleError::ProofTooShort { len: 0 })
        );
        assert_eq!(
            verify_consistency(4, 5, &root(&leaves[..4]), &r5, &[]),
            Err(MerkleError::ProofTooShort { len: 0 })
        );
        let proof = consistency_proof(&leaves, 3).expect("3 <= 5");
        assert_eq!(verify_consistency(3, 5, &r3, &r5, &proof), Ok(()));
        let mut long = proof.clone();
        long.push(r3);
        assert_eq!(
            verify_consistency(3, 5, &r3, &r5, &long),
            Err(MerkleError::ProofTooLong { len: long.len() })
        );
        assert_eq!(
            verify_consistency(3, 5, &r3, &r5, &proof[..proof.len() - 1]),
            Err(MerkleError::ProofTooShort {
                len: proof.len() - 1
            })
        );
        assert!(matches!(
            verify_consistency(3, 5, &r3, &flipped(r5), &proof),
            Err(MerkleError::NewRootMismatch { .. })
        ));
        assert!(matches!(
            verify_consistency(3, 5, &flipped(r3), &r5, &proof),
            Err(MerkleError::OldRootMismatch { .. })
        ));
    }

    #[test]
    fn inclusion_edge_cases() {
        let leaves = leaves_of(&entries(5, 2));
        let r5 = root(&leaves);
        let out_of_range = MerkleError::IndexOutOfRange { index: 5, size: 5 };
        assert_eq!(inclusion_proof(&leaves, 5), Err(out_of_range.clone()));
        let log = MerkleLog::from_leaves(leaves.iter().copied());
        assert_eq!(log.inclusion_proof(5), Err(out_of_range.clone()));
        assert_eq!(
            verify_inclusion(5, 5, &leaves[4], &[], &r5),
            Err(out_of_range)
        );
        assert_eq!(
            inclusion_proof(&[], 0),
            Err(MerkleError::IndexOutOfRange { index: 0, size: 0 })
        );

        // A one-leaf tree: the root is the leaf and the proof is empty.
        assert_eq!(inclusion_proof(&leaves[..1], 0), Ok(vec![]));
        assert_eq!(verify_inclusion(0, 1, &leaves[0], &[], &leaves[0]), Ok(()));
        assert_eq!(
            verify_inclusion(0, 1, &leaves[0], &[leaves[1]], &leaves[0]),
            Err(MerkleError::ProofTooLong { len: 1 })
        );

        let proof = inclusion_proof(&leaves, 2).expect("2 < 5");
        assert_eq!(
            verify_inclusion(2, 5, &leaves[2], &proof[..1], &r5),
            Err(MerkleError::ProofTooShort { len: 1 })
        );
        assert_eq!(
            verify_inclusion(2, 5, &leaves[3], &proof, &r5),
            Err(MerkleError::RootMismatch {
                claimed: r5,
                computed: k(
                    k(k(leaves[0], leaves[1]), k(leaves[3], leaves[3])),
                    leaves[4]
                )
            })
        );
    }

    /// RFC 9162 proofs bind the roots, not the sizes: the proof from 4 to 8 leaves has the same
    /// shape as one from 4 to 5 (`new = node(old, x)`), so a head that lied about its size
    /// alone would still pass. The size is only as trustworthy as the signature over it.
    #[test]
    fn a_proof_does_not_bind_the_sizes() {
        let leaves = leaves_of(&entries(8, 3));
        let (r4, r8) = (root(&leaves[..4]), root(&leaves));
        let proof = consistency_proof(&leaves, 4).expect("4 <= 8");
        assert_eq!(proof, vec![root(&leaves[4..])]);
        assert_eq!(verify_consistency(4, 8, &r4, &r8, &proof), Ok(()));
        assert_eq!(verify_consistency(4, 5, &r4, &r8, &proof), Ok(()));
        // With the roots those sizes really have, the wrong sizes fail.
        assert!(verify_consistency(4, 5, &r4, &root(&leaves[..5]), &proof).is_err());
    }

    /// For every pair of sizes up to 12, a proof verifies a claim between true heads exactly when
    /// it is the proof for that claim's sizes.
    #[test]
    fn proofs_verify_exactly_for_their_own_sizes() {
        const MAX: usize = 12;
        let leaves = leaves_of(&entries(MAX, 4));
        let roots: Vec<Digest> = (0..=MAX).map(|n| root(&leaves[..n])).collect();
        let pairs: Vec<(usize, usize)> = (0..=MAX)
            .flat_map(|n| (0..=n).map(move |m| (m, n)))
            .collect();
        for &(m, n) in &pairs {
            let proof = consistency_proof(&leaves[..n], m).expect("m <= n");
            for &(m2, n2) in &pairs {
                let own = consistency_proof(&leaves[..n2], m2).expect("m2 <= n2");
                let verdict =
                    verify_consistency(m2 as u64, n2 as u64, &roots[m2], &roots[n2], &proof);
                assert_eq!(verdict.is_ok(), own == proof, "{m}->{n} as {m2}->{n2}");
            }
        }
        let positions: Vec<(usize, usize)> = (1..=MAX)
            .flat_map(|n| (0..n).map(move |i| (i, n)))
            .collect();
        for &(i, n) in &positions {
            let proof = inclusion_proof(&leaves[..n], i).expect("i < n");
            for &(i2, n2) in &positions {
                let own = inclusion_proof(&leaves[..n2], i2).expect("i2 < n2");
                let verdict =
                    verify_inclusion(i2 as u64, n2 as u64, &leaves[i2], &proof, &roots[n2]);
                assert_eq!(
                    verdict.is_ok(),
                    (i2, own) == (i, proof.clone()),
                    "{i} in {n} as {i2} in {n2}"
                );
            }
        }
    }

    #[test]
    fn log_agrees_with_the_slice_functions() {
        let leaves = leaves_of(&entries(40, 5));
        let mut log = MerkleLog::new();
        assert!(log.is_empty());
        for n in 1..=leaves.len() {
            assert_eq!(log.push(leaves[n - 1]), n - 1);
            assert_eq!(log.len(), n);
            assert_eq!(log.leaves(), &leaves[..n]);
            assert_eq!(log.root(), root(&leaves[..n]));
            for m in 0..=n {
                assert_eq!(log.root_at(m), Ok(root(&leaves[..m])));
                assert_eq!(log.consistency_proof(m), consistency_proof(&leaves[..n], m));
            }
            for i in 0..n {
                assert_eq!(log.inclusion_proof(i), inclusion_proof(&leaves[..n], i));
            }
        }
        assert_eq!(
            log.root_at(41),
            Err(MerkleError::SizeBeyondLog { size: 41, len: 40 })
        );
        assert_eq!(log, leaves.iter().copied().collect::<MerkleLog>());
    }

    #[test]
    fn log_of_100k_leaves() {
        const N: usize = 100_003;
        let leaves: Vec<Digest> = (0..N as u64).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        let log = MerkleLog::from_leaves(leaves.iter().copied());
        let head = log.root();
        assert_eq!(head, root(&leaves));
        for old_size in [1, 2, 3, 1 << 16, 65_537, 99_999, N - 1, N] {
            let old_root = log.root_at(old_size).expect("old_size <= N");
            let proof = log.consistency_proof(old_size).expect("old_size <= N");
            assert!(proof.len() <= 2 * 17 + 1);
            assert_eq!(
                verify_consistency(old_size as u64, N as u64, &old_root, &head, &proof),
                Ok(())
            );
        }
        for index in [0, 1, 77_777, N - 1] {
            let proof = log.inclusion_proof(index).expect("index < N");
            assert_eq!(
                verify_inclusion(index as u64, N as u64, &leaves[index], &proof, &head),
                Ok(())
            );
        }
    }

    #[test]
    fn digest_text_formats() {
        let hex = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d";
        let digest = leaf_hash(b"");
        assert_eq!(digest.to_string(), hex);
        assert_eq!(format!("{digest:?}"), format!("Digest({hex})"));
        assert_eq!(hex.parse(), Ok(digest));
        assert_eq!(hex.to_uppercase().parse(), Ok(digest));
        assert_eq!(digest.to_prefixed(), format!("sha256:{hex}"));
        assert_eq!(Digest::parse_prefixed(&format!("sha256:{hex}")), Ok(digest));

        assert_eq!(Digest::parse_prefixed(hex), Err(MerkleError::MissingPrefix));
        assert_eq!(
            format!("sha256:{hex}").parse::<Digest>(),
            Err(MerkleError::DigestLength { len: 71 })
        );
        assert_eq!(
            hex[1..].parse::<Digest>(),
            Err(MerkleError::DigestLength { len: 63 })
        );
        assert_eq!(
            format!(" {}", &hex[1..]).parse::<Digest>(),
            Err(MerkleError::DigestNotHex)
        );
        assert_eq!(
            hex.replace('e', "g").parse::<Digest>(),
            Err(MerkleError::DigestNotHex)
        );
        assert_eq!(
            Digest::parse_prefixed(&format!("sha256:{}é", &hex[2..])),
            Err(MerkleError::DigestNotHex)
        );

        // Serde: plain hex strings, the format of `consistency_proof`.
        let proof = vec![digest, empty_root()];
        let json = serde_json::to_string(&proof).expect("serializes");
        assert_eq!(json, format!("[\"{hex}\",\"{}\"]", empty_root()));
        assert_eq!(serde_json::from_str::<Vec<Digest>>(&json).ok(), Some(proof));
        assert!(serde_json::from_str::<Digest>("\"sha256:00\"").is_err());
        assert!(serde_json::from_str::<Digest>("42").is_err());
    }

    #[test]
    fn errors_say_what_was_wrong() {
        let shrink = MerkleError::OldSizeLargerThanNew {
            old_size: 7,
            new_size: 3,
        };
        assert_eq!(
            shrink.to_string(),
            "old tree size 7 is larger than new tree size 3; a log only grows"
        );
        let mismatch = MerkleError::NewRootMismatch {
            claimed: empty_root(),
            computed: leaf_hash(b""),
        };
        assert_eq!(
            mismatch.to_string(),
            format!(
                "new root {} does not match {}, the new root the proof leads to",
                empty_root(),
                leaf_hash(b"")
            )
        );
    }

    /// A size pair `(m, n)` and entries for at least `n + 3` leaves.
    fn consistency_case() -> impl Strategy<Value = (usize, usize, u64)> {
        (1usize..=64).prop_flat_map(|n| (0..=n, Just(n), any::<u64>()))
    }

    proptest! {
        // No regression files: a failure prints its minimal case, to be pinned as a unit test.
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn consistency_proofs_verify_and_tampering_fails(
            (m, n, salt) in consistency_case(),
            other_new in any::<Index>(),
            other_old in any::<Index>(),
        ) {
            let total = n + 3;
            let entries = entries(total, salt);
            let leaves = leaves_of(&entries);
            let log = MerkleLog::from_leaves(leaves.iter().copied());
            let (old_root, new_root) = (root(&leaves[..m]), root(&leaves[..n]));
            let proof = consistency_proof(&leaves[..n], m)?;
            let (m64, n64) = (m as u64, n as u64);
            prop_assert_eq!(verify_consistency(m64, n64, &old_root, &new_root, &proof), Ok(()));

            // Any one entry of the old tree changed: its root no longer leads to the new root.
            for position in 0..m {
                let mut tampered = leaves[..m].to_vec();
                tampered[position] = leaf_hash(&[entries[position].as_slice(), b"!"].concat());
                let tampered_root = root(&tampered);
                prop_assert!(
                    verify_consistency(m64, n64, &tampered_root, &new_root, &proof).is_err()
                );
            }
            // Any one entry of the new tree changed, old or appended (every tree extends the
            // empty one, so there is nothing to detect when the old tree is empty).
            for position in (0..n).filter(|_| m > 0) {
                let mut tampered = leaves[..n].to_vec();
                tampered[position] = leaf_hash(&[entries[position].as_slice(), b"!"].concat());
                let tampered_root = root(&tampered);
                prop_assert!(
                    verify_consistency(m64, n64, &old_root, &tampered_root, &proof).is_err()
                );
            }
            // Any proof hash changed, or one dropped or added.
            for position in 0..proof.len() {
                let mut tampered = proof.clone();
                tampered[position] = flipped(tampered[position]);
                prop_assert!(verify_consistency(m64, n64, &old_root, &new_root, &tampered).is_err());
            }
            if !proof.is_empty() {
                let dropped = &proof[1..];
                prop_assert!(verify_consistency(m64, n64, &old_root, &new_root, dropped).is_err());
                let dropped = &proof[..proof.len() - 1];
                prop_assert!(verify_consistency(m64, n64, &old_root, &new_root, dropped).is_err());
            }
            let mut longer = proof.clone();
            longer.push(leaves[0]);
            prop_assert!(verify_consistency(m64, n64, &old_root, &new_root, &longer).is_err());

            // Any other old size, the heads otherwise unchanged.
            for m2 in (0..=n).filter(|&m2| m2 != m) {
                prop_assert!(
                    verify_consistency(m2 as u64, n64, &old_root, &new_root, &proof).is_err(),
                    "old size {} claimed as {}", m, m2
                );
            }
            // Other sizes with the roots they really have: the proof only verifies where it is
            // that pair's proof too (see `a_proof_does_not_bind_the_sizes` for why the roots
            // have to change with the sizes).
            let n_random = other_new.index(total) + 1;
            let random = (other_old.index(n_random + 1), n_random);
            let neighbours = [
                (m.wrapping_sub(1), n), (m + 1, n), (m, n - 1), (m, n + 1),
                (m.wrapping_sub(1), n - 1), (m + 1, n + 1), (m.wrapping_sub(1), n + 1),
                (m + 1, n - 1), random,
            ];
            for (m2, n2) in neighbours {
                if m2 > n2 || n2 > total || (m2, n2) == (m, n) {
                    continue;
                }
                let own = consistency_proof(&leaves[..n2], m2)?;
                let (old2, new2) = (log.root_at(m2)?, log.root_at(n2)?);
                let verdict = verify_consistency(m2 as u64, n2 as u64, &old2, &new2, &proof);
                prop_assert_eq!(verdict.is_ok(), own == proof, "{}->{} as {}->{}", m, n, m2, n2);
            }
        }

        #[test]
        fn inclusion_proofs_verify_and_tampering_fails(
            (index, n, salt) in (1usize..=64).prop_flat_map(|n| (0..n, Just(n), any::<u64>())),
        ) {
            let total = n + 1;
            let entries = entries(total, salt);
            let leaves = leaves_of(&entries);
            let head = root(&leaves[..n]);
            let leaf = leaves[index];
            let proof = inclusion_proof(&leaves[..n], index)?;
            let (i64_, n64) = (index as u64, n as u64);
            prop_assert_eq!(verify_inclusion(i64_, n64, &leaf, &proof, &head), Ok(()));

            // The entry changed, or any other leaf of the tree in its place.
            let changed = leaf_hash(&[entries[index].as_slice(), b"!"].concat());
            prop_assert!(verify_inclusion(i64_, n64, &changed, &proof, &head).is_err());
            for other in leaves[..n].iter().filter(|&&other| other != leaf) {
                prop_assert!(verify_inclusion(i64_, n64, other, &proof, &head).is_err());
            }
            // Any other entry changed changes the root.
            for position in (0..n).filter(|&position| position != index) {
                let mut tampered = leaves[..n].to_vec();
                tampered[position] = leaf_hash(&[entries[position].as_slice(), b"!"].concat());
                prop_assert!(verify_inclusion(i64_, n64, &leaf, &proof, &root(&tampered)).is_err());
            }
            // Any proof hash changed, or one dropped or added.
            for position in 0..proof.len() {
                let mut tampered = proof.clone();
                tampered[position] = flipped(tampered[position]);
                prop_assert!(verify_inclusion(i64_, n64, &leaf, &tampered, &head).is_err());
            }
            if !proof.is_empty() {
                prop_assert!(verify_inclusion(i64_, n64, &leaf, &proof[1..], &head).is_err());
            }
            let mut longer = proof.clone();
            longer.push(leaf);
            prop_assert!(verify_inclusion(i64_, n64, &leaf, &longer, &head).is_err());

            // Any other index in the same tree.
            for index2 in (0..n).filter(|&index2| index2 != index) {
                prop_assert!(verify_inclusion(index2 as u64, n64, &leaf, &proof, &head).is_err());
            }
            // The next size with its real root: only verifies if the proof is the same.
            let own = inclusion_proof(&leaves[..total], index)?;
            let verdict = verify_inclusion(i64_, total as u64, &leaf, &proof, &root(&leaves));
            prop_assert_eq!(verdict.is_ok(), own == proof);
        }
    }
}
