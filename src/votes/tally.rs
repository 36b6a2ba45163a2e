//! The tally of one proposal at a moment `T`, recomputed from scratch: DESIGN.md "Votes", *Votes*,
//! *Vote type*, *Tally*, "Sealed ballots", and "Tally events" (`voters`, `late_votes`,
//! `private_zaps`, `sealed`, the counted receipts).
//!
//! [`tally`] is the reference: straightforward, `O(n log n)`, and what the verifier runs. The
//! incremental [`crate::votes::VoteBook`] must give the same [`Tally`] bit for bit, which the
//! property tests check. The rules, in the order [`tally`] applies them:
//!
//! 1. `T = min(t, end)`; only receipts that count under the pinned rules exist
//!    ([`Contribution::counts_under`]), each receipt id once. A private zap is no contribution:
//!    one naming the proposal in `[start, T]` is only counted in `private_zaps`.
//! 2. A receipt naming the proposal with `created_at` in `[start, end]` and `<= T` is a vote and is
//!    counted (whatever its weight). After `end` it is a late vote, reported in `late_votes` and
//!    never counted; before `start` it is only a contribution.
//! 3. One ballot per sender: its votes' msat add up (`Z`), and its type is that of the latest
//!    vote with an explicit type (a `poll_option` on a zap to the zap poll, a sealed ballot or a
//!    keyword: [`Proposal::explicit_type`]; by `created_at`, then receipt id), support when none
//!    has one.
//! 4. A standing sealed ballot counts in `sealed_votes` until the ballots are opened: with a
//!    valid secret for every pinned key ([`BallotOpening`], [`tally_with_secrets`]) once `T` is
//!    `end`. Opened, it counts for its type; one that does not open counts as abstain, and every
//!    counted receipt whose ballot does not open is reported in `sealed.invalid`.
//! 5. Weights as in [`crate::votes::weight`], capped, summed exactly per type
//!    ([`crate::votes::ExactSum`]); `threshold_met = support >= threshold` and no `sealed_votes`;
//!    `veto_blocks = veto > 0 && veto >= veto_threshold * (support + veto)`. Abstain and sealed
//!    count in `total_votes` only.

use nostr_sdk::{EventId, PublicKey};
use serde::{Deserialize, Serialize};

use super::ballot_type::BallotType;
use super::contribution::Contribution;
use super::exact_sum::ExactSum;
use super::explicit_type::{ExplicitType, Standing};
use super::private_zaps::PrivateZaps;
use super::proposal::{Proposal, WindowPlace};
use super::receipts_root::receipts_root;
use super::sealed::{BallotOpening, SealedCounts};
use super::vote_type::{VoteKind, VoteType};
use super::weight::{cap, capped, SenderTotals, SenderWeight};
use crate::audit::merkle::Digest;

/// The published result of a proposal's vote (the tally event's `result`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalVoteResult {
    pub pr_id: u64,
    pub tier: u8,
    pub threshold: f64,
    /// Support + veto + abstain + sealed weight.
    pub total_votes: f64,
    pub support_votes: f64,
    pub veto_votes: f64,
    pub abstain_votes: f64,
    /// The weight of voters whose standing type is a sealed ballot not opened yet. Read as 0
    /// from tallies published before sealed ballots existed.
    #[serde(default)]
    pub sealed_votes: f64,
    pub zap_vote_count: u64,
    pub participation_vote_count: u64,
    /// `support_votes >= threshold`, and no `sealed_votes`.
    pub threshold_met: bool,
    /// `veto_votes > 0 && veto_votes >= veto_threshold * (support_votes + veto_votes)`.
    pub veto_blocks: bool,
}

/// The exact per-type sums and per-kind counts a [`ProposalVoteResult`] is read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeSums {
    pub support: ExactSum,
    pub veto: ExactSum,
    pub abstain: ExactSum,
    pub sealed: ExactSum,
    pub zap_votes: u64,
    pub participation_votes: u64,
}

impl TypeSums {
    /// Adds a ballot's capped weight.
    pub fn add(&mut self, vote_type: BallotType, kind: VoteKind, weight: f64) {
        self.sum_mut(vote_type).add(weight);
        match kind {
            VoteKind::Zap => self.zap_votes += 1,
            VoteKind::Participation => self.participation_votes += 1,
        }
    }

    pub fn sum_mut(&mut self, vote_type: BallotType) -> &mut ExactSum {
        match vote_type {
            BallotType::Support => &mut self.support,
            BallotType::Veto => &mut self.veto,
            BallotType::Abstain => &mut self.abstain,
            BallotType::Sealed => &mut self.sealed,
        }
    }

    /// The result these sums give for `proposal`.
    pub fn result(&self, proposal: &Proposal) -> ProposalVoteResult {
        let rules = &proposal.rules;
        let mut total = self.support;
        total.merge(self.veto);
        total.merge(self.abstain);
        total.merge(self.sealed);
        let support_votes = self.support.value();
        let veto_votes = self.veto.value();
        let sealed_votes = self.sealed.value();
        ProposalVoteResult {
            pr_id: proposal.pr,
            tier: proposal.tier,
            threshold: rules.threshold,
            total_votes: total.value(),
            support_votes,
            veto_votes,
            abstain_votes: self.abstain.value(),
            sealed_votes,
            zap_vote_count: self.zap_votes,
            participation_vote_count: self.participation_votes,
            // A proposal cannot pass on ballots nobody has read.
            threshold_met: support_votes >= rules.threshold && sealed_votes <= 0.0,
            veto_blocks: veto_votes > 0.0
                && veto_votes >= rules.veto_threshold * (support_votes + veto_votes),
        }
    }
}

/// One sender's vote on the proposal at `T`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ballot {
    pub sender: PublicKey,
    /// What the weight counts for: `sealed` while the standing type is a sealed ballot not
    /// opened yet; once opened, its type (abstain when it did not open).
    pub vote_type: BallotType,
    /// The standing type came from a sealed ballot (opened or not).
    pub sealed: bool,
    pub kind: VoteKind,
    /// The vote weight after the cap.
    pub weight: f64,
    /// `Z(s)` (0 while cooling off).
    pub zap_weight: f64,
    /// `P(s)` (the floor term is `participation_floor * P(s)`).
    pub participation_weight: f64,
    /// The msat of the sender's counted votes.
    pub vote_msat: u64,
    /// How many counted receipts the ballot holds.
    pub receipts: u32,
    pub cooling_off: bool,
}

impl Ballot {
    /// The ballot of a sender whose standing type is `standing`, with weights `weight` under
    /// `cap`.
    pub fn new(
        sender: PublicKey,
        standing: Standing,
        weight: &SenderWeight,
        cap: Option<f64>,
        vote_msat: u64,
        receipts: u32,
    ) -> Ballot {
        Ballot {
            sender,
            vote_type: standing.ballot_type(),
            sealed: standing.is_sealed(),
            kind: weight.kind,
            weight: capped(weight.weight, cap),
            zap_weight: weight.zap,
            participation_weight: weight.participation,
            vote_msat,
            receipts,
            cooling_off: weight.cooling_off,
        }
    }
}

/// A proposal's tally at a moment: the result and everything a tally event publishes.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    pub result: ProposalVoteResult,
    /// The moment `T = min(t, end)`.
    pub as_of: u64,
    /// Distinct senders with a vote (zero-weight ones included).
    pub voters: u64,
    /// Receipts naming the proposal paid after `end`.
    pub late_votes: u64,
    /// The counted receipts, ascending.
    pub counted: Vec<EventId>,
    /// RFC 9162 root over `counted`.
    pub receipts_root: Digest,
    /// One per voter, sorted by sender.
    pub ballots: Vec<Ballot>,
    /// Private zaps naming the proposal in `[start, T]`: never counted.
    pub private_zaps: PrivateZaps,
    /// Sealed ballots: opened or not, how many, by how many voters, how many did not open.
    pub sealed: SealedCounts,
}

/// What a tally reports besides its ballots and counted receipts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TallyReport {
    pub late_votes: u64,
    pub private_zaps: PrivateZaps,
    pub opened: bool,
    /// Counted receipts whose type is a sealed ballot.
    pub sealed_ballots: u64,
    /// Of those, the ones that did not open (0 until opened).
    pub invalid: u64,
}

impl Tally {
    /// Assembles a tally from its ballots (sorted by sender) and counted receipts (any order).
    pub fn assemble(
        proposal: &Proposal,
        as_of: u64,
        report: TallyReport,
        mut counted: Vec<EventId>,
        ballots: Vec<Ballot>,
    ) -> Tally {
        let mut sums = TypeSums::default();
        let mut sealed_voters = 0u64;
        for ballot in &ballots {
            sums.add(ballot.vote_type, ballot.kind, ballot.weight);
            sealed_voters += u64::from(ballot.sealed);
        }
        counted.sort_unstable();
        Tally {
            result: sums.result(proposal),
            as_of,
            voters: ballots.len() as u64,
            late_votes: report.late_votes,
            receipts_root: receipts_root(&counted),
            counted,
            ballots,
            private_zaps: report.private_zaps,
            sealed: SealedCounts {
                opened: report.opened,
                ballots: report.sealed_ballots,
                voters: sealed_voters,
                invalid: report.invalid,
            },
        }
    }
}

/// What the full recompute reads of a contribution.
struct Row {
    sender: PublicKey,
    created_at: u64,
    receipt_id: EventId,
    amount_msat: u64,
    standing: Option<Standing>,
    is_vote: bool,
}

/// The full recompute of `proposal`'s tally at `T = min(t, end)` from `contributions` (in any
/// order, duplicates allowed), sealed ballots left sealed.
pub fn tally(proposal: &Proposal, contributions: &[Contribution], t: u64) -> Tally {
    tally_with_secrets(proposal, contributions, t, None)
}

/// [`tally`], opening the sealed ballots with `opening` when it is given and `T` is `end`.
pub fn tally_with_secrets(
    proposal: &Proposal,
    contributions: &[Contribution],
    t: u64,
    opening: Option<&BallotOpening>,
) -> Tally {
    let t = proposal.moment(t);
    let rules = &proposal.rules;
    let opening = opening.filter(|_| proposal.opens_at(t));
    let mut report = TallyReport {
        opened: opening.is_some(),
        ..TallyReport::default()
    };

    // The same receipt id is the same receipt: count it once. Sorting (id, index) pairs rather
    // than the contributions keeps the sort in cache; it also leaves `counted` in id order.
    let mut ids: Vec<(EventId, u32)> = contributions
        .iter()
        .enumerate()
        .filter(|(_, c)| c.counts_under(rules))
        .map(|(i, c)| (c.receipt_id, i as u32))
        .collect();
    ids.sort_unstable();
    ids.dedup_by_key(|(id, _)| *id);

    let mut counted = Vec::new();
    let mut rows: Vec<Row> = Vec::with_capacity(ids.len());
    for &(_, i) in &ids {
        let c = &contributions[i as usize];
        let names = proposal.names(c);
        let place = proposal.place(c.created_at);
        if c.private_zap {
            if names && place == WindowPlace::Inside && c.created_at <= t {
                report.private_zaps.add(c.amount_msat);
            }
            continue;
        }
        if names && place == WindowPlace::Late {
            report.late_votes += 1;
        }
        if c.created_at > t {
            continue;
        }
        let is_vote = names && place == WindowPlace::Inside;
        let standing = if is_vote {
            counted.push(c.receipt_id);
            proposal.explicit_type(c).map(|explicit| match explicit {
                ExplicitType::Open(vote) => Standing::Open(vote),
                ExplicitType::Sealed(token) => {
                    report.sealed_ballots += 1;
                    match opening {
                        None => Standing::Sealed,
                        Some(opening) => match opening.open(&token, &proposal.id, &c.sender) {
                            Ok(vote) => Standing::Opened(vote),
                            Err(_) => {
                                report.invalid += 1;
                                Standing::Invalid
                            }
                        },
                    }
                }
            })
        } else {
            None
        };
        rows.push(Row {
            sender: c.sender,
            created_at: c.created_at,
            receipt_id: c.receipt_id,
            amount_msat: c.amount_msat,
            standing,
            is_vote,
        });
    }
    // Each sender's receipts together, in (created_at, receipt id) order.
    rows.sort_unstable_by(|a, b| {
        (a.sender, a.created_at, a.receipt_id).cmp(&(b.sender, b.created_at, b.receipt_id))
    });

    let mut participation = ExactSum::ZERO;
    let mut participants = 0usize;
    // (sender, standing type, weights, vote msat, receipts) of each voter, before the cap.
    let mut voters: Vec<(PublicKey, Standing, SenderWeight, u64, u32)> = Vec::new();
    for group in rows.chunk_by(|a, b| a.sender == b.sender) {
        let mut totals = SenderTotals::default();
        let mut receipts = 0u32;
        let mut standing = None;
        for c in group {
            totals.add(rules, c.created_at, t, c.amount_msat, c.is_vote);
            if c.is_vote {
                receipts += 1;
                // Ascending (created_at, receipt id): the last explicit type seen is the latest.
                standing = c.standing.or(standing);
            }
        }
        let weight = SenderWeight::of(rules, &totals);
        if weight.participation > 0.0 {
            participation.add(weight.participation);
            participants += 1;
        }
        if receipts > 0 {
            let sender = group[0].sender;
            let standing = standing.unwrap_or(Standing::Open(VoteType::Support));
            voters.push((sender, standing, weight, totals.vote_msat, receipts));
        }
    }

    let cap = cap(rules, &participation, participants);
    let ballots = voters
        .into_iter()
        .map(|(sender, standing, weight, msat, receipts)| {
            Ballot::new(sender, standing, &weight, cap, msat, receipts)
        })
        .collect();
    Tally::assemble(proposal, t, report, counted, ballots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::votes::testing::{proposal, senders, zap, BTC, END, START};
    use crate::votes::SECONDS_PER_DAY;

    #[test]
    fn votes_at_both_ends_of_the_window_count_and_outside_do_not() {
        let p = proposal();
        let s = senders(4);
        let at_start = zap(1, s[0], START, BTC / 100, true, None);
        let at_end = zap(2, s[1], END, BTC / 100, true, None);
        let before = zap(3, s[2], START - 1, BTC / 100, true, None);
        let after = zap(4, s[3], END + 1, BTC / 100, true, None);
        let all = [at_start.clone(), at_end.clone(), before, after];
        let t = tally(&p, &all, END + 1000);
        assert_eq!(t.as_of, END);
        let mut counted = vec![at_start.receipt_id, at_end.receipt_id];
        counted.sort();
        assert_eq!(t.counted, counted);
        assert_eq!(t.voters, 2);
        assert_eq!(t.late_votes, 1);
        assert_eq!(t.receipts_root, receipts_root(&counted));
        // The one before start is still a contribution: its sender has P > 0 but no ballot.
        assert!(t
            .ballots
            .iter()
            .all(|b| b.sender != s[2] && b.sender != s[3]));
        // A late vote is reported whatever T.
        let early = tally(&p, &all, START);
        assert_eq!(early.late_votes, 1);
        assert_eq!(early.counted, vec![at_start.receipt_id]);
    }

    #[test]
    fn only_receipts_at_or_before_t_exist() {
        let p = proposal();
        let s = senders(1);
        let all = [zap(1, s[0], START + 100, BTC / 100, true, None)];
        assert_eq!(tally(&p, &all, START + 99).voters, 0);
        assert_eq!(tally(&p, &all, START + 100).voters, 1);
    }

    /// Support 3.0 (9 BTC) and veto 2.0 (4 BTC), both voted at the start, so not young at the
    /// end: veto is exactly 40 % of support + veto.
    fn forty_percent() -> Vec<Contribution> {
        let s = senders(2);
        vec![
            zap(1, s[0], START, 9 * BTC, true, Some(VoteType::Support)),
            zap(2, s[1], START, 4 * BTC, true, Some(VoteType::Veto)),
        ]
    }

    #[test]
    fn veto_of_exactly_forty_percent_blocks() {
        let mut p = proposal();
        p.rules.threshold = 3.0;
        let r = tally(&p, &forty_percent(), END).result;
        assert_eq!(r.support_votes, 3.0);
        assert_eq!(r.veto_votes, 2.0);
        assert_eq!(r.total_votes, 5.0);
        assert!(r.veto_blocks);
        assert!(r.threshold_met);
        assert_eq!(r.zap_vote_count, 2);
        assert_eq!(r.participation_vote_count, 0);
        // A little less veto does not block.
        let mut less = forty_percent();
        less[1].amount_msat -= BTC / 100;
        assert!(!tally(&p, &less, END).result.veto_blocks);
    }

    #[test]
    fn no_veto_never_blocks_and_threshold_needs_support_only() {
        let mut p = proposal();
        p.rules.threshold = 3.0;
        let s = senders(3);
        let veto_only = [zap(1, s[0], START, 100 * BTC, true, Some(VoteType::Veto))];
        let r = tally(&p, &veto_only, END).result;
        assert!(!r.threshold_met);
        assert!(r.veto_blocks);
        let nothing = tally(&p, &[], END).result;
        assert!(!nothing.veto_blocks);
        assert!(!nothing.threshold_met);
        assert_eq!(nothing.total_votes, 0.0);
        // Abstain does not help a proposal pass.
        let abstain = [zap(
            2,
            s[1],
            START,
            100 * BTC,
            true,
            Some(VoteType::Abstain),
        )];
        assert!(!tally(&p, &abstain, END).result.threshold_met);
    }

    #[test]
    fn abstain_changes_neither_verdict() {
        let mut p = proposal();
        p.rules.threshold = 3.0;
        let mut all = forty_percent();
        let before = tally(&p, &all, END).result;
        let s = senders(3);
        all.push(zap(3, s[2], START, 16 * BTC, true, Some(VoteType::Abstain)));
        let after = tally(&p, &all, END).result;
        assert_eq!(after.abstain_votes, 4.0);
        assert_eq!(after.total_votes, 9.0);
        assert_eq!(after.support_votes, before.support_votes);
        assert_eq!(after.veto_votes, before.veto_votes);
        assert_eq!(after.threshold_met, before.threshold_met);
        assert_eq!(after.veto_blocks, before.veto_blocks);
    }

    #[test]
    fn latest_explicit_keyword_wins_over_later_plain_zaps() {
        let p = proposal();
        let s = senders(1);
        let all = [
            zap(1, s[0], START, BTC / 100, true, Some(VoteType::Support)),
            zap(2, s[0], START + 10, BTC / 100, true, Some(VoteType::Veto)),
            zap(3, s[0], START + 20, BTC / 100, true, None),
        ];
        let t = tally(&p, &all, END);
        assert_eq!(t.ballots.len(), 1);
        assert_eq!(t.ballots[0].vote_type, BallotType::Veto);
        assert_eq!(t.ballots[0].receipts, 3);
        assert_eq!(t.ballots[0].vote_msat, 3 * BTC / 100);
        // Before the veto was paid, the support stood.
        assert_eq!(
            tally(&p, &all, START + 5).ballots[0].vote_type,
            BallotType::Support
        );
        // Plain zaps only: support.
        let plain = [zap(4, s[0], START, BTC / 100, true, None)];
        assert_eq!(
            tally(&p, &plain, END).ballots[0].vote_type,
            BallotType::Support
        );
    }

    #[test]
    fn same_second_keywords_are_ordered_by_receipt_id() {
        let p = proposal();
        let s = senders(1);
        let a = zap(1, s[0], START, BTC / 100, true, Some(VoteType::Veto));
        let b = zap(2, s[0], START, BTC / 100, true, Some(VoteType::Abstain));
        let later = if a.receipt_id > b.receipt_id { &a } else { &b };
        let t = tally(&p, &[a.clone(), b.clone()], END);
        assert_eq!(
            Some(t.ballots[0].vote_type),
            later.keyword.map(BallotType::from)
        );
    }

    #[test]
    fn unknown_zappers_and_bots_are_ignored() {
        let p = proposal();
        let s = senders(2);
        let mut foreign_zapper = zap(1, s[0], START, BTC, true, None);
        foreign_zapper.zapper = s[1];
        let mut foreign_bot = zap(2, s[0], START, BTC, true, None);
        foreign_bot.recipient = s[1];
        let t = tally(&p, &[foreign_zapper, foreign_bot], END);
        assert_eq!(t.voters, 0);
        assert!(t.counted.is_empty());
        assert_eq!(t.result.total_votes, 0.0);
    }

    #[test]
    fn duplicate_receipts_count_once() {
        let p = proposal();
        let s = senders(1);
        let v = zap(1, s[0], START, BTC, true, None);
        let t = tally(&p, &[v.clone(), v.clone(), v], END);
        assert_eq!(t.counted.len(), 1);
        assert_eq!(t.ballots[0].vote_msat, BTC);
        assert_eq!(t.result.support_votes, 1.0);
    }

    #[test]
    fn a_cooling_off_voter_is_a_zero_weight_participation_voter() {
        let p = proposal();
        let s = senders(1);
        // 1 BTC on the last day: young at the end, and nothing older.
        let t = tally(&p, &[zap(1, s[0], END, BTC, true, None)], END);
        assert_eq!(t.voters, 1);
        assert_eq!(t.counted.len(), 1);
        let b = &t.ballots[0];
        assert!(b.cooling_off);
        assert_eq!(b.weight, 0.0);
        assert_eq!(b.kind, VoteKind::Participation);
        assert_eq!(t.result.participation_vote_count, 1);
        assert_eq!(t.result.support_votes, 0.0);
    }

    /// One voter of 4 BTC (weight 2) and `others` contributors of 0.01 BTC (P = 0.1) each.
    fn with_contributors(others: usize) -> Vec<Contribution> {
        let s = senders(others + 1);
        let mut all = vec![zap(0, s[0], START, 4 * BTC, true, None)];
        for (i, sender) in s[1..].iter().enumerate() {
            all.push(zap(
                i as u64 + 1,
                *sender,
                START - SECONDS_PER_DAY,
                BTC / 100,
                false,
                None,
            ));
        }
        all
    }

    #[test]
    fn cap_applies_from_twenty_senders_with_participation() {
        let p = proposal();
        // 19 senders with P > 0: no cap.
        let nineteen = tally(&p, &with_contributors(18), END);
        assert_eq!(nineteen.result.support_votes, 2.0);
        assert_eq!(nineteen.ballots[0].weight, 2.0);
        // 20: capped at 5 % of W = 2 + 19 * 0.1.
        let twenty = tally(&p, &with_contributors(19), END);
        let w: ExactSum = std::iter::once(2.0)
            .chain(std::iter::repeat_n(btc_sqrt(BTC / 100), 19))
            .collect();
        let cap = 0.05 * w.value();
        assert!((cap - 0.195).abs() < 1e-12);
        assert_eq!(twenty.ballots[0].weight, cap);
        assert_eq!(twenty.ballots[0].zap_weight, 2.0);
        assert_eq!(
            twenty.result.support_votes,
            ExactSum::from_iter([cap]).value()
        );
        assert_eq!(twenty.voters, 1);
    }

    fn btc_sqrt(msat: u64) -> f64 {
        crate::votes::btc(msat).sqrt()
    }

    #[test]
    fn counted_is_ascending_and_ballots_sorted_by_sender() {
        let p = proposal();
        let s = senders(8);
        let all: Vec<Contribution> = (0..8)
            .map(|i| zap(100 - i, s[i as usize], START + i, BTC / 1000, true, None))
            .collect();
        let t = tally(&p, &all, END);
        assert!(t.counted.windows(2).all(|w| w[0] < w[1]));
        assert!(t.counted.windows(2).all(|w| w[0].to_hex() < w[1].to_hex()));
        assert!(t.ballots.windows(2).all(|w| w[0].sender < w[1].sender));
        assert_eq!(t.voters, 8);
    }

    #[test]
    fn result_serialises_with_the_published_field_names() {
        let r = tally(&proposal(), &forty_percent(), END).result;
        let json = serde_json::to_value(&r).expect("serialises");
        for field in [
            "pr_id",
            "tier",
            "threshold",
            "total_votes",
            "support_votes",
            "veto_votes",
            "abstain_votes",
            "sealed_votes",
            "zap_vote_count",
            "participation_vote_count",
            "threshold_met",
            "veto_blocks",
        ] {
            assert!(json.get(field).is_some(), "{field}");
        }
        assert_eq!(json.as_object().map(|o| o.len()), Some(12));
        assert_eq!(json["pr_id"], 42);
        // A result published before sealed ballots reads with no sealed weight.
        let mut old = json.clone();
        old.as_object_mut().map(|o| o.remove("sealed_votes"));
        let read: ProposalVoteResult = serde_json::from_value(old).expect("old result reads");
        assert_eq!(read, r);
    }

    // ---- Sealed ballots and private zaps (DESIGN.md "Sealed ballots", "Private zaps") ----

    use crate::votes::testing::{opening, sealed_proposal, sealed_zap};

    #[test]
    fn the_latest_explicit_type_stands_before_and_after_opening() {
        // Open veto, then sealed support, then open abstain, by one voter.
        let p = sealed_proposal();
        let s = senders(1);
        let all = [
            zap(1, s[0], START, BTC, true, Some(VoteType::Veto)),
            sealed_zap(2, s[0], START + 10, BTC, VoteType::Support),
            zap(3, s[0], START + 20, BTC, true, Some(VoteType::Abstain)),
        ];
        let open = opening();
        for (t, expected, sealed) in [
            (START, BallotType::Veto, false),
            (START + 10, BallotType::Sealed, true),
            (START + 20, BallotType::Abstain, false),
            (END, BallotType::Abstain, false),
        ] {
            let before = tally(&p, &all, t);
            assert_eq!(before.ballots[0].vote_type, expected, "t = {t}");
            assert_eq!(before.ballots[0].sealed, sealed, "t = {t}");
            assert_eq!(before.sealed.voters, u64::from(sealed));
            let after = tally_with_secrets(&p, &all, t, Some(&open));
            assert_eq!(after.sealed.opened, t == END);
            assert_eq!(after.ballots[0].vote_type, expected, "t = {t}, opened");
        }
        // Without the later abstain, the sealed support stands: sealed, then support.
        let two = &all[..2];
        assert_eq!(tally(&p, two, END).ballots[0].vote_type, BallotType::Sealed);
        let opened = tally_with_secrets(&p, two, END, Some(&open));
        assert_eq!(opened.ballots[0].vote_type, BallotType::Support);
        assert!(opened.ballots[0].sealed);
        assert_eq!(opened.sealed.ballots, 1);
        assert_eq!(opened.sealed.voters, 1);
        assert_eq!(opened.sealed.invalid, 0);
    }

    #[test]
    fn sealed_weight_is_in_total_but_no_side_and_keeps_the_threshold_unmet() {
        let mut p = sealed_proposal();
        p.rules.threshold = 2.0;
        let s = senders(3);
        // 9 BTC support (3.0), 9 BTC sealed veto (3.0), 1 BTC sealed support (1.0), all at
        // the start so not young at the end.
        let all = [
            zap(1, s[0], START, 9 * BTC, true, Some(VoteType::Support)),
            sealed_zap(2, s[1], START, 9 * BTC, VoteType::Veto),
            sealed_zap(3, s[2], START, BTC, VoteType::Support),
        ];
        let sealed = tally(&p, &all, END);
        let r = &sealed.result;
        assert_eq!(r.support_votes, 3.0);
        assert_eq!(r.sealed_votes, 4.0);
        assert_eq!(r.veto_votes, 0.0);
        assert_eq!(r.abstain_votes, 0.0);
        assert_eq!(r.total_votes, 7.0);
        assert!(
            !r.threshold_met,
            "a proposal cannot pass on ballots nobody has read"
        );
        assert!(!r.veto_blocks, "veto_blocks from the open votes");
        assert!(!sealed.sealed.opened);
        assert_eq!(sealed.sealed.ballots, 2);
        assert_eq!(sealed.sealed.voters, 2);
        let opened = tally_with_secrets(&p, &all, END, Some(&opening()));
        let r = &opened.result;
        assert_eq!(
            (r.support_votes, r.veto_votes, r.sealed_votes, r.total_votes),
            (4.0, 3.0, 0.0, 7.0)
        );
        assert!(r.threshold_met);
        assert!(r.veto_blocks, "3 >= 0.4 * 7");
        assert!(opened.sealed.opened);
        // Secrets known before the close open nothing: no running result of sealed ballots.
        let early = tally_with_secrets(&p, &all, END - 1, Some(&opening()));
        assert!(!early.sealed.opened);
        assert_eq!(early.result.sealed_votes, 4.0);
    }

    #[test]
    fn a_keyword_before_a_token_counts_the_token() {
        // "veto ballot1...": the token's type, not the keyword's.
        let p = sealed_proposal();
        let s = senders(1);
        let mut c = sealed_zap(1, s[0], START, BTC, VoteType::Support);
        c.keyword = Some(VoteType::Veto);
        let t = tally_with_secrets(&p, &[c], END, Some(&opening()));
        assert_eq!(t.ballots[0].vote_type, BallotType::Support);
    }

    #[test]
    fn a_poll_option_outranks_a_token() {
        let p = sealed_proposal();
        let s = senders(1);
        let mut c = sealed_zap(1, s[0], START, BTC, VoteType::Support);
        c.event = Some(crate::votes::testing::POLL);
        c.poll_option = Some(VoteType::Abstain);
        let t = tally(&p, &[c], END);
        assert_eq!(t.ballots[0].vote_type, BallotType::Abstain);
        assert!(!t.ballots[0].sealed);
        assert_eq!(t.sealed.ballots, 0);
    }

    #[test]
    fn a_sealed_zap_after_the_end_is_a_late_vote() {
        let p = sealed_proposal();
        let s = senders(1);
        let t = tally_with_secrets(
            &p,
            &[sealed_zap(1, s[0], END + 1, BTC, VoteType::Veto)],
            END + 100,
            Some(&opening()),
        );
        assert_eq!(t.late_votes, 1);
        assert_eq!(t.voters, 0);
        assert_eq!(t.sealed.ballots, 0);
    }

    #[test]
    fn ballots_that_do_not_open_count_as_abstain_and_are_reported() {
        let p = sealed_proposal();
        let s = senders(6);
        let good = sealed_zap(1, s[0], START, BTC, VoteType::Veto);
        let token = good.ballot.clone().expect("a token");
        // Copied into another voter's zap.
        let mut copied = zap(2, s[1], START, BTC, true, None);
        copied.ballot = Some(token.clone());
        // Made for another proposal.
        let mut other = sealed_proposal();
        other.id = EventId::from_byte_array([0xCD; 32]);
        let foreign = crate::votes::seal_ballot(
            VoteType::Support,
            &other.id,
            &s[2],
            &other.ballot_keys(),
            &mut rand::rngs::OsRng,
        )
        .expect("seals");
        let mut for_other = zap(3, s[2], START, BTC, true, None);
        for_other.ballot = Some(std::sync::Arc::from(foreign.as_str()));
        // Each voter's own token, bit-flipped (re-encoded with a valid checksum), truncated, or
        // with trailing bytes.
        type Change<'a> = &'a dyn Fn(&mut Vec<u8>);
        let changes: [Change; 3] = [
            &|d| d[10] ^= 0x01,
            &|d| {
                d.pop();
            },
            &|d| d.push(7),
        ];
        let tampered: Vec<Contribution> = changes
            .iter()
            .enumerate()
            .map(|(i, change)| {
                let mut c = sealed_zap(4 + i as u64, s[3 + i], START, BTC, VoteType::Veto);
                let (hrp, mut data) =
                    bech32::decode(c.ballot.as_deref().expect("a token")).expect("decodes");
                change(&mut data);
                let text = bech32::encode::<bech32::Bech32>(hrp, &data).expect("encodes");
                c.ballot = Some(std::sync::Arc::from(text.as_str()));
                c
            })
            .collect();
        let mut all = vec![good, copied, for_other];
        all.extend(tampered);
        let t = tally_with_secrets(&p, &all, END, Some(&opening()));
        assert!(t.sealed.opened);
        assert_eq!(t.sealed.ballots, 6);
        assert_eq!(t.sealed.voters, 6);
        assert_eq!(t.sealed.invalid, 5);
        let types: Vec<BallotType> = t.ballots.iter().map(|b| b.vote_type).collect();
        assert_eq!(types.iter().filter(|&&v| v == BallotType::Veto).count(), 1);
        assert_eq!(
            types.iter().filter(|&&v| v == BallotType::Abstain).count(),
            5
        );
        assert_eq!(t.result.veto_votes, 1.0);
        assert_eq!(t.result.abstain_votes, 5.0);
        assert_eq!(t.result.sealed_votes, 0.0);
        // Before opening, all six are sealed and none is invalid yet.
        let before = tally(&p, &all, END);
        assert_eq!(before.result.sealed_votes, 6.0);
        assert_eq!(before.sealed.invalid, 0);
    }

    #[test]
    fn a_private_zap_is_neither_contribution_nor_vote_and_an_anonymous_zap_is_a_vote() {
        let p = sealed_proposal();
        let s = senders(2);
        // A private zap "typed veto": its outer request is a throwaway key's, content empty.
        let mut private = zap(1, s[0], START, 21 * BTC / 1000, true, None);
        private.private_zap = true;
        let mut private_before = zap(2, s[0], START - 1, BTC, true, None);
        private_before.private_zap = true;
        // An anonymous zap (`anon` without a value) is an ordinary zap of its (random) key.
        let anonymous = zap(3, s[1], START, BTC, true, Some(VoteType::Veto));
        let t = tally(&p, &[private, private_before, anonymous], END);
        assert_eq!(t.private_zaps.count, 1);
        assert_eq!(t.private_zaps.msat, 21 * BTC / 1000);
        assert_eq!(t.voters, 1);
        assert_eq!(t.counted.len(), 1);
        assert_eq!(t.ballots[0].sender, s[1]);
        assert_eq!(t.result.support_votes, 0.0);
        assert_eq!(t.result.veto_votes, 1.0);
        // Not a contribution either: the private zapper has no participation weight, so no
        // ballot and no share of W.
        assert!(t.ballots.iter().all(|b| b.sender != s[0]));
    }
}
