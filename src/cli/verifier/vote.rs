//! A voter's check (`verify-vote`): is my zap counted in the newest signed tally of the
//! proposal, and with what type and weight? DESIGN.md "Tally events": a voter proves their zap
//! was counted with an inclusion proof against the signed `receipts_root`.
//!
//! The proof comes from the service (`GET /v1/proposals/{id}/receipts?receipt=`, whose answer
//! also gives the sender's vote), or is rebuilt here from the tally's `receipts` list, or, when
//! the tally omits the list, from the counted receipts recomputed from the relays (only if they
//! hash to the signed root). Either way it is checked against the root the gov bot signed, so
//! neither the service nor this code is trusted for the answer: only the signature and the hash.

use nostr_sdk::{Event, EventId, PublicKey};
use serde::{Deserialize, Serialize};

use super::tallies::{self, Judged, Judgement};
use crate::audit::merkle::Digest;
use crate::nostr::events;
use crate::votes::{
    self, inclusion, receipts_root, verify_receipt_inclusion, Ballot, Proposal, ReceiptInclusion,
    TallyContent,
};

/// Where the inclusion proof came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProofSource {
    /// The service's `GET /v1/proposals/{id}/receipts?receipt=`.
    Api,
    /// Rebuilt from the tally's `receipts` list.
    TallyList,
    /// Rebuilt from the counted receipts recomputed from the relays.
    Recomputed,
}

/// What `verify-vote` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VoteReport {
    pub proposal: String,
    pub receipt: String,
    /// The newest signed tally's event id.
    pub tally: Option<String>,
    pub as_of: Option<u64>,
    pub receipts_root: Option<String>,
    pub receipts_count: Option<u64>,
    /// The receipt is proven to be counted under the signed root.
    pub counted: bool,
    pub proof_source: Option<ProofSource>,
    pub inclusion: Option<ReceiptInclusion>,
    /// The sender's vote (type, weight, ...), when known.
    pub vote: Option<Ballot>,
    /// The checks (rules 4 and 7) the counted receipt failed, by name: it counts all the same
    /// (known when the receipts were judged from the relays, not with `--api`).
    pub anomalies: Vec<String>,
    /// Why the receipt is not counted, or why the proof failed.
    pub problems: Vec<String>,
    pub notes: Vec<String>,
}

impl VoteReport {
    pub fn ok(&self) -> bool {
        self.counted && self.problems.is_empty()
    }
}

/// The newest tally of `proposal` signed by its author, among `candidates` (from any key).
/// Tallies by another key, or with a bad signature or format, are noted and skipped.
pub fn newest_signed_tally(
    proposal: &Event,
    candidates: &[Event],
    notes: &mut Vec<String>,
) -> Option<(Event, TallyContent)> {
    let mut best: Option<(Event, TallyContent)> = None;
    for event in candidates {
        if event.verify().is_err() {
            notes.push(format!(
                "tally {} has a bad id or signature: ignored",
                event.id
            ));
            continue;
        }
        if event.pubkey != proposal.pubkey {
            notes.push(format!(
                "tally {} is signed by {}, not by the proposal's author: ignored",
                event.id, event.pubkey
            ));
            continue;
        }
        let parsed = match events::parse_vote_tally::<TallyContent>(event) {
            Ok(parsed) if parsed.proposal == proposal.id => parsed,
            Ok(_) => continue,
            Err(e) => {
                notes.push(format!("tally {} does not parse: {e}: ignored", event.id));
                continue;
            }
        };
        let newer = best
            .as_ref()
            .is_none_or(|(b, _)| (event.created_at, event.id) > (b.created_at, b.id));
        if newer {
            best = Some((event.clone(), parsed.tally));
        }
    }
    best
}

/// The service's answer to `GET /v1/proposals/{id}/receipts?receipt=` (the fields read here).
#[derive(Debug, Clone, Deserialize)]
pub struct ApiAnswer {
    pub receipts_root: String,
    pub receipt: Option<ApiReceipt>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApiReceipt {
    pub id: String,
    pub vote: Ballot,
    pub inclusion: ReceiptInclusion,
}

/// The tally's signed root, or why there is none.
fn signed_root(content: &TallyContent) -> Result<Digest, String> {
    content
        .receipts_root_digest()
        .map_err(|e| format!("the tally's receipts_root does not parse: {e}"))
}

/// Checks the service's proof (`answer`, or its refusal `Err(message)`) against the signed
/// tally.
pub fn check_api_answer(
    report: &mut VoteReport,
    receipt: &EventId,
    content: &TallyContent,
    answer: Result<ApiAnswer, String>,
) {
    let root = match signed_root(content) {
        Ok(root) => root,
        Err(e) => return report.problems.push(e),
    };
    report.proof_source = Some(ProofSource::Api);
    let answer = match answer {
        Ok(answer) => answer,
        Err(refusal) => {
            return report
                .problems
                .push(format!("the service does not count it: {refusal}"))
        }
    };
    let Some(counted) = answer.receipt else {
        return report
            .problems
            .push("the service's answer holds no proof for the receipt".to_owned());
    };
    if counted.id != receipt.to_hex() {
        return report.problems.push(format!(
            "the service answered for receipt {}, not {receipt}",
            counted.id
        ));
    }
    if verify_receipt_inclusion(&root, receipt, &counted.inclusion) {
        report.counted = true;
        report.vote = Some(counted.vote);
    } else {
        report.problems.push(format!(
            "the service's inclusion proof (index {} of {}, against its root {}) does not verify \
             against the signed receipts_root {}",
            counted.inclusion.index,
            counted.inclusion.size,
            answer.receipts_root,
            content.receipts_root
        ));
    }
    report.inclusion = Some(counted.inclusion);
}

/// Proves `receipt` from the tally's own list, or from the recompute of `proposal`'s tally at
/// the tally's `as_of` from `judged` (the relays' receipts judged under its rules), and reads
/// the sender's vote from that recompute.
pub fn check_from_relays(
    report: &mut VoteReport,
    receipt: &EventId,
    proposal: &Proposal,
    content: &TallyContent,
    judged: &Judged,
) {
    let root = match signed_root(content) {
        Ok(root) => root,
        Err(e) => return report.problems.push(e),
    };
    let recomputed = votes::tally(proposal, &judged.contributions, content.as_of);
    let counted: Vec<EventId> = match &content.receipts {
        Some(list) => {
            let mut ids = Vec::with_capacity(list.len());
            for hex in list {
                match EventId::from_hex(hex) {
                    Ok(id) => ids.push(id),
                    Err(_) => {
                        return report
                            .problems
                            .push(format!("the tally's receipts list holds {hex:?}"))
                    }
                }
            }
            report.proof_source = Some(ProofSource::TallyList);
            ids
        }
        None if recomputed.receipts_root == root => {
            report.proof_source = Some(ProofSource::Recomputed);
            recomputed.counted.clone()
        }
        None => {
            return report.problems.push(format!(
                "the tally omits its receipts list, and the receipts recomputed from the relays \
                 hash to {}, not to the signed {}: cannot build a proof (try --api)",
                recomputed.receipts_root.to_prefixed(),
                content.receipts_root
            ))
        }
    };
    if receipts_root(&counted) != root {
        return report.problems.push(format!(
            "the tally's receipts list does not hash to its signed receipts_root {}",
            content.receipts_root
        ));
    }
    match inclusion(&counted, receipt) {
        Some(proof) if verify_receipt_inclusion(&root, receipt, &proof) => {
            report.counted = true;
            report.inclusion = Some(proof);
        }
        Some(_) => report
            .problems
            .push("the inclusion proof does not verify against the signed root".to_owned()),
        None => report.problems.push(format!(
            "receipt {receipt} is not among the tally's {} counted receipts ({})",
            counted.len(),
            tallies::why_not_counted(receipt, proposal, recomputed.as_of, judged)
        )),
    }
    if report.counted {
        if let Some(anomalies) = judged.anomalies.get(receipt) {
            report.anomalies = anomalies.iter().map(|c| c.name().to_owned()).collect();
        }
        let sender: Option<PublicKey> = match judged.by_id.get(receipt) {
            Some(Judgement::Valid(c)) => Some(c.sender),
            _ => None,
        };
        report.vote = sender.and_then(|s| {
            recomputed
                .ballots
                .iter()
                .find(|ballot| ballot.sender == s)
                .cloned()
        });
        if report.vote.is_none() {
            report.notes.push(
                "counted in the signed tally, but the relays do not hold it as a valid vote: \
                 its type and weight are unknown here"
                    .to_owned(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use nostr_sdk::prelude::*;

    use super::*;
    use crate::configuration::GovernanceSettings;
    use crate::nostr::zap_provider::{zap_request, ZapProvider, ZapTarget};
    use crate::votes::{VoteRules, VoteType};

    const START: u64 = 1_800_000_000;

    fn setup() -> (Proposal, Vec<Event>, Judged) {
        let provider = ZapProvider::generate();
        let bot = Keys::generate();
        let rules = VoteRules::new(
            &GovernanceSettings::default(),
            1,
            vec![provider.public_key()],
            vec![bot.public_key()],
        );
        let proposal = Proposal {
            id: EventId::from_byte_array([5; 32]),
            address: "30078:x:y".into(),
            pr: 1,
            tier: 1,
            window_start: START,
            window_end: START + 1000,
            rules,
            targets: crate::votes::Targets::new(),
        };
        let receipts: Vec<Event> = [("veto", START + 5), ("yes", START + 6), ("yes", START - 5)]
            .iter()
            .map(|(text, at)| {
                let target = ZapTarget::new(bot.public_key(), 5_000_000)
                    .event(proposal.id)
                    .content(*text);
                let request = zap_request(&Keys::generate(), &target).unwrap();
                let at = Timestamp::from_secs(*at);
                let invoice = provider.invoice_at(&request, 5_000_000, at).unwrap();
                provider
                    .receipt(&request, &invoice.bolt11, Some(&invoice.preimage), at)
                    .unwrap()
            })
            .collect();
        let judged = tallies::judge(&receipts, &proposal.rules);
        (proposal, receipts, judged)
    }

    #[test]
    fn a_counted_receipt_proves_from_the_list_or_the_recompute() {
        let (proposal, receipts, judged) = setup();
        let tally = votes::tally(&proposal, &judged.contributions, START + 100);
        let mut content = TallyContent::new(&proposal, &tally, false);
        for listed in [true, false] {
            if !listed {
                content.receipts = None;
            }
            let mut report = VoteReport::default();
            check_from_relays(&mut report, &receipts[0].id, &proposal, &content, &judged);
            assert!(report.ok(), "{report:?}");
            let vote = report.vote.expect("vote");
            assert_eq!(vote.vote_type, VoteType::Veto.into());
            assert!(vote.weight > 0.0);

            let mut early = VoteReport::default();
            check_from_relays(&mut early, &receipts[2].id, &proposal, &content, &judged);
            assert!(!early.ok());
            assert!(early.problems[0].contains("before the window"), "{early:?}");
        }
    }

    #[test]
    fn a_counted_receipt_with_an_anomaly_is_counted_and_names_it() {
        let (proposal, mut receipts, _) = setup();
        // The provider publishes a preimage that is not the payment's: rule 7 only flags it.
        let provider = ZapProvider::generate();
        let target = ZapTarget::new(proposal.rules.bots[0], 5_000_000)
            .event(proposal.id)
            .content("support");
        let request = zap_request(&Keys::generate(), &target).unwrap();
        let at = Timestamp::from_secs(START + 7);
        let invoice = provider.invoice_at(&request, 5_000_000, at).unwrap();
        let flagged = provider
            .receipt(&request, &invoice.bolt11, Some(&[7u8; 32]), at)
            .unwrap();
        receipts.push(flagged.clone());
        // Pinned rules hold their keys sorted (they are searched), as `VoteRules::new` leaves them.
        let mut rules = proposal.rules.clone();
        rules.zappers.push(provider.public_key());
        rules.zappers.sort_unstable();
        let proposal = Proposal { rules, ..proposal };
        let judged = tallies::judge(&receipts, &proposal.rules);
        let tally = votes::tally(&proposal, &judged.contributions, START + 100);
        let content = TallyContent::new(&proposal, &tally, false);

        let mut report = VoteReport::default();
        check_from_relays(&mut report, &flagged.id, &proposal, &content, &judged);
        assert!(report.ok(), "{report:?}");
        assert_eq!(report.anomalies, vec!["preimage".to_owned()]);
        let mut clean = VoteReport::default();
        check_from_relays(&mut clean, &receipts[0].id, &proposal, &content, &judged);
        assert!(clean.ok() && clean.anomalies.is_empty(), "{clean:?}");
    }

    #[test]
    fn a_proof_against_another_root_fails() {
        let (proposal, receipts, judged) = setup();
        let tally = votes::tally(&proposal, &judged.contributions, START + 100);
        let content = TallyContent::new(&proposal, &tally, false);
        let proof = inclusion(&tally.counted, &receipts[1].id).unwrap();
        let answer = |root: String| ApiAnswer {
            receipts_root: root,
            receipt: Some(ApiReceipt {
                id: receipts[1].id.to_hex(),
                vote: tally.ballots[0].clone(),
                inclusion: proof.clone(),
            }),
        };
        let mut good = VoteReport::default();
        check_api_answer(
            &mut good,
            &receipts[1].id,
            &content,
            Ok(answer(content.receipts_root.clone())),
        );
        assert!(good.ok(), "{good:?}");

        let mut other = content.clone();
        other.receipts_root = crate::audit::merkle::leaf_hash(b"x").to_prefixed();
        let mut bad = VoteReport::default();
        check_api_answer(&mut bad, &receipts[1].id, &other, Ok(answer("r".into())));
        assert!(!bad.ok());
        assert!(bad.problems[0].contains("does not verify"));

        let mut refused = VoteReport::default();
        check_api_answer(&mut refused, &receipts[2].id, &content, Err("404".into()));
        assert!(!refused.ok());
    }
}
