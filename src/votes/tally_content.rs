//! The content of a tally event (kind 30078, `d` = `tally:<proposal id>`): DESIGN.md "Tally
//! events".
//!
//! ```json
//! {"result": {ProposalVoteResult}, "proposal": "<id>", "as_of": T, "final": false,
//!  "rules": {the proposal's pinned rules}, "voters": 12, "late_votes": 1,
//!  "receipts_count": 15, "receipts_root": "sha256:<hex>", "receipts": ["<receipt id>", ...],
//!  "targets": ["<proposal id>", "<announcement id>", "<zap poll id>"],
//!  "anomalies": {"description_hash": 3, "payment_hash": 0, "preimage": 0},
//!  "private_zaps": {"count": 1, "msat": 21000},
//!  "sealed": {"keys": ["<X25519 key>"], "opened": false, "ballots": 4, "voters": 3,
//!             "invalid": 0}}
//! ```
//!
//! `private_zaps` ([`PrivateZaps`]) is always written; read as zero from tallies published
//! before it existed. `sealed` ([`SealedSummary`]) is written when the proposal pinned ballot
//! keys (`rules.sealed`), and only then: a proposal without sealed ballots has no such object.
//!
//! `anomalies` ([`AnomalyCounts`]) is set by [`TallyContent::with_anomalies`] from the counted
//! receipts' checks; a tally read without it (published before it existed) reads as all zero.
//!
//! `targets` lists the proposal's vote targets ([`crate::votes::targets`]): its own id first,
//! then the others ascending. A tally read back without it (published before targets existed)
//! has an empty list.
//!
//! `receipts` lists the counted receipt ids (ascending) only while the content, as the event
//! carries it (escaped), stays within [`MAX_TALLY_CONTENT_BYTES`], which leaves room for the
//! tags and signature under a relay's 32 KiB event limit (DESIGN.md: "while the event stays
//! under 32 KiB"); beyond that it is omitted and the root alone commits to them.

use nostr_sdk::EventId;
use serde::{Deserialize, Serialize};

use super::anomaly_counts::AnomalyCounts;
use super::private_zaps::PrivateZaps;
use super::proposal::Proposal;
use super::rules::VoteRules;
use super::sealed::SealedSummary;
use super::tally::{ProposalVoteResult, Tally};
use crate::audit::merkle::{Digest, MerkleError};

/// The largest content that still lists `receipts`, measured as the event carries it (a JSON
/// string, in which every quote and backslash of the content is escaped,
/// [`escaped_len`]): 30 KiB. The other 2 KiB of a relay's 32 KiB event limit hold the id, key,
/// signature and tags: about 1.9 KiB at most, with a 200-character title in `alt` and a
/// 140-character repository in `a`.
pub const MAX_TALLY_CONTENT_BYTES: usize = 30 * 1024;

/// The length of the JSON text `json` once written as a JSON string inside an event: one more
/// byte for each quote and backslash (serde_json writes no raw control character and leaves
/// every other character as it is).
pub fn escaped_len(json: &str) -> usize {
    json.len() + json.bytes().filter(|b| matches!(b, b'"' | b'\\')).count()
}

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
    /// The proposal's vote targets, hex: its own id first, then the others ascending.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Counted receipts per failed check of rules 4 and 7.
    #[serde(default)]
    pub anomalies: AnomalyCounts,
    /// Private zaps naming the proposal in the window: never counted.
    #[serde(default)]
    pub private_zaps: PrivateZaps,
    /// Sealed ballots, on a proposal that pinned ballot keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<SealedSummary>,
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
            targets: proposal
                .listed_targets()
                .iter()
                .map(EventId::to_hex)
                .collect(),
            anomalies: AnomalyCounts::default(),
            private_zaps: tally.private_zaps,
            sealed: proposal
                .rules
                .sealed
                .as_ref()
                .map(|sealed| SealedSummary::new(sealed.keys(), tally.sealed)),
        };
        // Each id costs 64 hex digits, two escaped quotes and a comma: skip listing what cannot
        // fit.
        let listed_bytes = tally.counted.len().saturating_mul(69);
        if listed_bytes <= MAX_TALLY_CONTENT_BYTES {
            content.receipts = Some(tally.counted.iter().map(EventId::to_hex).collect());
            content.unlist_receipts_beyond_the_limit();
        }
        content
    }

    /// Drops `receipts` when the content, as the event carries it, is over
    /// [`MAX_TALLY_CONTENT_BYTES`].
    fn unlist_receipts_beyond_the_limit(&mut self) {
        if self.receipts.is_some() && escaped_len(&self.to_json()) > MAX_TALLY_CONTENT_BYTES {
            self.receipts = None;
        }
    }

    /// This content with its `anomalies` counted over `tally.counted` (see
    /// [`AnomalyCounts::of_counted`]).
    #[must_use]
    pub fn with_anomalies(
        mut self,
        tally: &Tally,
        anomalies: &std::collections::HashMap<EventId, crate::nostr::nip57::Anomalies>,
    ) -> TallyContent {
        self.anomalies = AnomalyCounts::of_counted(&tally.counted, anomalies);
        // Larger counts are longer numbers: the list may no longer fit.
        self.unlist_receipts_beyond_the_limit();
        self
    }

    /// The content as event JSON.
    pub fn to_json(&self) -> String {
        // Plain data (strings, numbers, bools): serialising it cannot fail. Non-finite floats
        // become `null`, which a reader would reject rather than misread.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The tally event's NIP-31 `alt` line: "Tally of `<title>`: support 12.3, veto 1.0, abstain
    /// 0 (12 voters, final)".
    pub fn alt(&self, title: &str) -> String {
        let r = &self.result;
        let state = if self.is_final { "final" } else { "so far" };
        let verdict = if r.veto_blocks {
            "vetoed"
        } else if r.threshold_met {
            "threshold met"
        } else {
            "threshold not met"
        };
        let sealed = if r.sealed_votes > 0.0 {
            format!(", sealed {} until the close", round(r.sealed_votes))
        } else {
            String::new()
        };
        format!(
            "Tally of {title}: support {}, veto {}, abstain {}{sealed} ({} voters, {state}; {verdict} at {})",
            round(r.support_votes),
            round(r.veto_votes),
            round(r.abstain_votes),
            self.voters,
            round(r.threshold),
        )
    }

    /// `receipts_root` as a digest.
    pub fn receipts_root_digest(&self) -> Result<Digest, MerkleError> {
        Digest::parse_prefixed(&self.receipts_root)
    }
}

/// A weight as a person reads it: at most three decimals, no trailing zeros.
fn round(weight: f64) -> String {
    let text = format!("{weight:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::votes::tally::tally;
    use crate::votes::testing::{proposal, senders, zap, BTC, END, START};

    fn votes(n: u64) -> Vec<crate::votes::Contribution> {
        let s = senders(64);
        (0..n)
            .map(|i| zap(i, s[(i % 64) as usize], START + i, BTC / 1000, true, None))
            .collect()
    }

    #[test]
    fn sealed_and_private_zaps_are_published_as_designed() {
        use crate::votes::testing::{opening, sealed_proposal, sealed_zap};
        use crate::votes::{tally_with_secrets, VoteType};

        let p = sealed_proposal();
        let s = senders(3);
        let mut private = zap(9, s[2], START, 21_000, true, None);
        private.private_zap = true;
        let all = [
            sealed_zap(1, s[0], START, BTC, VoteType::Veto),
            zap(2, s[1], START, BTC, true, None),
            private,
        ];
        let t = tally(&p, &all, END);
        let content = TallyContent::new(&p, &t, true);
        let json: serde_json::Value = serde_json::from_str(&content.to_json()).expect("json");
        assert_eq!(
            json["private_zaps"],
            serde_json::json!({"count": 1, "msat": 21000})
        );
        assert_eq!(
            json["sealed"],
            serde_json::json!({"keys": [p.ballot_keys()[0].to_hex()], "opened": false,
                               "ballots": 1, "voters": 1, "invalid": 0})
        );
        assert_eq!(json["result"]["sealed_votes"], 1.0);
        assert_eq!(json["result"]["threshold_met"], false);
        assert!(
            content.alt("X").contains("sealed 1 until the close"),
            "{}",
            content.alt("X")
        );
        // Nothing of the choice is in the content before opening.
        assert!(!content.to_json().contains("veto\""));
        let opened = tally_with_secrets(&p, &all, END, Some(&opening()));
        let json = serde_json::to_value(TallyContent::new(&p, &opened, true)).expect("json");
        assert_eq!(json["sealed"]["opened"], true);
        assert_eq!(json["result"]["veto_votes"], 1.0);
        // Round trip, and a proposal without ballot keys has no `sealed` object.
        let read: TallyContent = serde_json::from_value(json).expect("reads");
        assert!(read.sealed.is_some_and(|s| s.opened));
        let plain = TallyContent::new(&proposal(), &tally(&proposal(), &votes(2), END), true);
        let plain_json = serde_json::to_value(&plain).expect("json");
        assert!(plain_json.get("sealed").is_none());
        let mut old = plain_json.clone();
        old.as_object_mut().map(|o| o.remove("private_zaps"));
        let read: TallyContent = serde_json::from_value(old).expect("an old tally reads");
        assert_eq!(read.private_zaps, PrivateZaps::default());
    }

    #[test]
    fn json_has_the_published_fields_and_round_trips() {
        let p = proposal();
        let t = tally(&p, &votes(3), END);
        let content = TallyContent::new(&p, &t, true);
        let json: serde_json::Value = serde_json::from_str(&content.to_json()).expect("json");
        assert_eq!(json["final"], true);
        assert_eq!(json["proposal"], p.id.to_hex());
        assert_eq!(json["as_of"], END);
        assert_eq!(json["voters"], 3);
        assert_eq!(json["late_votes"], 0);
        assert_eq!(json["receipts_count"], 3);
        assert_eq!(json["rules"]["threshold"], 100.0);
        assert_eq!(json["result"]["pr_id"], 42);
        let root = json["receipts_root"].as_str().expect("root");
        assert!(root.starts_with("sha256:"));
        let listed: Vec<String> = t.counted.iter().map(|id| id.to_hex()).collect();
        assert_eq!(json["receipts"], serde_json::json!(listed));
        assert!(json.get("is_final").is_none());
        assert_eq!(
            json["anomalies"],
            serde_json::json!({"description_hash": 0, "payment_hash": 0, "preimage": 0})
        );
        let targets: Vec<String> = p.listed_targets().iter().map(EventId::to_hex).collect();
        assert_eq!(targets.len(), 3);
        assert_eq!(targets[0], p.id.to_hex());
        assert!(targets[1] < targets[2]);
        assert_eq!(json["targets"], serde_json::json!(targets));
        assert_eq!(
            content.alt("Raise the cap"),
            format!(
                "Tally of Raise the cap: support {}, veto 0, abstain 0 (3 voters, final; \
                 threshold not met at 100)",
                round(t.result.support_votes)
            )
        );
        // A tally published before targets existed reads back with none.
        let mut old = json.clone();
        old.as_object_mut().expect("object").remove("targets");
        let old: TallyContent = serde_json::from_value(old).expect("reads");
        assert!(old.targets.is_empty());
        let back: TallyContent = serde_json::from_str(&content.to_json()).expect("reads back");
        // serde_json (without its `float_roundtrip` feature) may read a float back one ulp off:
        // compare floats loosely here; a verifier compares the JSON text of recomputed numbers.
        let close = |a: f64, b: f64| (a - b).abs() <= 4.0 * f64::EPSILON * a.abs().max(1.0);
        assert!(close(
            back.result.support_votes,
            content.result.support_votes
        ));
        assert!(close(back.result.total_votes, content.result.total_votes));
        let mut exact = back.clone();
        exact.result = content.result.clone();
        assert_eq!(exact, content);
        assert_eq!(back.receipts_root_digest(), Ok(t.receipts_root));
    }

    #[test]
    fn anomalies_count_the_counted_receipts_and_default_to_zero_when_absent() {
        use std::collections::HashMap;

        use crate::nostr::nip57::{Anomalies, Check};

        let p = proposal();
        let t = tally(&p, &votes(3), END);
        let flagged = Anomalies::NONE
            .with(Check::DescriptionHash)
            .with(Check::PaymentHash);
        let mut anomalies = HashMap::from([(t.counted[0], flagged)]);
        // A receipt that is not counted adds nothing.
        anomalies.insert(
            EventId::from_byte_array([9; 32]),
            Anomalies::NONE.with(Check::Preimage),
        );
        let content = TallyContent::new(&p, &t, false).with_anomalies(&t, &anomalies);
        let json: serde_json::Value = serde_json::from_str(&content.to_json()).expect("json");
        assert_eq!(
            json["anomalies"],
            serde_json::json!({"description_hash": 1, "payment_hash": 1, "preimage": 0})
        );
        // A tally published before `anomalies` existed reads as all zero.
        let mut old = json.clone();
        old.as_object_mut().expect("object").remove("anomalies");
        let read: TallyContent = serde_json::from_value(old).expect("reads");
        assert_eq!(read.anomalies, crate::votes::AnomalyCounts::default());
    }

    /// DESIGN.md "Tally events": `receipts` is listed "while the event stays under 32 KiB". The
    /// signed event at the last count that still lists them, with the longest title and
    /// repository the action rules allow, and every anomaly counted.
    #[test]
    fn the_signed_event_stays_under_32_kib_while_it_lists_the_receipts() {
        use std::collections::HashMap;

        use nostr_sdk::{JsonUtil, Keys};

        use crate::nostr::events;
        use crate::nostr::governance_action::TITLE_MAX_CHARS;
        use crate::nostr::nip57::{Anomalies, Check};

        let mut p = proposal();
        let repository = format!("{}/{}", "o".repeat(39), "r".repeat(100));
        p.address = format!(
            "30078:{}:action:{repository}:4294967295:review-period",
            p.address.split(':').nth(1).unwrap_or_default()
        );
        let address = events::parse_address(&p.address).expect("an address");
        // Four bytes a character, and quotes, which `alt` carries escaped.
        let title: String = "\"\u{1D11E}".repeat(TITLE_MAX_CHARS / 2);
        let all = Anomalies::NONE
            .with(Check::DescriptionHash)
            .with(Check::PaymentHash)
            .with(Check::Preimage);
        let keys = Keys::generate();
        let mut n = 380;
        let mut largest_listed = 0;
        loop {
            let t = tally(&p, &votes(n), END);
            let anomalies: HashMap<_, _> = t.counted.iter().map(|id| (*id, all)).collect();
            let content = TallyContent::new(&p, &t, true).with_anomalies(&t, &anomalies);
            let listed = content.receipts.is_some();
            let event = events::vote_tally(p.id, &address, &content, &content.alt(&title))
                .expect("a tally event")
                .sign_with_keys(&keys)
                .expect("signed");
            if listed {
                largest_listed = event.as_json().len();
                assert!(
                    largest_listed <= 32 * 1024,
                    "{n} receipts: {largest_listed} bytes"
                );
            } else {
                break;
            }
            n += 1;
            assert!(n < 1_000, "the receipts never stopped fitting");
        }
        // The limit is not so tight that it wastes the room: the last listing event is close.
        assert!(largest_listed > 31 * 1024, "{largest_listed} bytes");
    }

    #[test]
    fn receipts_are_listed_only_while_the_content_fits() {
        let p = proposal();
        let mut n = 400;
        loop {
            let t = tally(&p, &votes(n), END);
            let content = TallyContent::new(&p, &t, false);
            let json = content.to_json();
            assert!(escaped_len(&json) <= MAX_TALLY_CONTENT_BYTES || content.receipts.is_none());
            if content.receipts.is_none() {
                // One fewer receipt did fit.
                let t = tally(&p, &votes(n - 1), END);
                let fewer = TallyContent::new(&p, &t, false);
                assert!(fewer.receipts.is_some());
                assert!(escaped_len(&fewer.to_json()) <= MAX_TALLY_CONTENT_BYTES);
                assert!(!json.contains("\"receipts\":"));
                assert_eq!(content.receipts_count, n);
                break;
            }
            n += 1;
            assert!(n < 1_000, "the receipts never stopped fitting");
        }
    }
}
