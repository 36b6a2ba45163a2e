//! The content of a tally event (kind 30078, `d` = `tally:<proposal id>`): DESIGN.md "Tally
//! events".
//!
//! ```json
//! {"result": {ProposalVoteResult}, "proposal": "<id>", "as_of": T, "final": false,
//!  "rules": {the proposal's pinned rules}, "voters": 12, "late_votes": 1,
//!  "receipts_count": 15, "receipts_root": "sha256:<hex>", "receipts": ["<receipt id>", ...]}
//! ```
//!
//! `receipts` lists the counted receipt ids (ascending) only while the content stays within
//! [`MAX_TALLY_CONTENT_BYTES`], which leaves room for the tags and signature under a relay's
//! 32 KiB event limit; beyond that it is omitted and the root alone commits to them.

use nostr_sdk::EventId;
use serde::{Deserialize, Serialize};

use super::proposal::Proposal;
use super::rules::VoteRules;
use super::tally::{ProposalVoteResult, Tally};
use crate::merkle::{Digest, MerkleError};

/// The largest content that still lists `receipts`: 31 KiB.
pub const MAX_TALLY_CONTENT_BYTES: usize = 31 * 1024;

/// A tally event's JSON content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TallyContent {
    pub result: ProposalVoteResult,
    /// The proposal event id, hex.
    pub proposal: String,
    /// The moment `T`.
    pub as_of: u64,
    /// The voting window has closed (`T = end`).
    #[serde(rename = "final")]
    pub is_final: bool,
    pub rules: VoteRules,
    pub voters: u64,
    pub late_votes: u64,
    pub receipts_count: u64,
    /// `sha256:<hex>`.
    pub receipts_root: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipts: Option<Vec<String>>,
}

impl TallyContent {
    pub fn new(proposal: &Proposal, tally: &Tally, is_final: bool) -> TallyContent {
        let mut content = TallyContent {
            result: tally.result.clone(),
            proposal: proposal.id.to_hex(),
            as_of: tally.as_of,
            is_final,
            rules: proposal.rules.clone(),
            voters: tally.voters,
            late_votes: tally.late_votes,
            receipts_count: tally.counted.len() as u64,
            receipts_root: tally.receipts_root.to_prefixed(),
            receipts: None,
        };
        // Each id costs 64 hex digits, two quotes and a comma: skip listing what cannot fit.
        let listed_bytes = tally.counted.len().saturating_mul(67);
        if listed_bytes <= MAX_TALLY_CONTENT_BYTES {
            content.receipts = Some(tally.counted.iter().map(EventId::to_hex).collect());
            if content.to_json().len() > MAX_TALLY_CONTENT_BYTES {
                content.receipts = None;
            }
        }
        content
    }

    /// The content as event JSON.
    pub fn to_json(&self) -> String {
        // Plain data (strings, numbers, bools): serialising it cannot fail. Non-finite floats
        // become `null`, which a reader would reject rather than misread.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// `receipts_root` as a digest.
    pub fn receipts_root_digest(&self) -> Result<Digest, MerkleError> {
        Digest::parse_prefixed(&self.receipts_root)
    }
}
