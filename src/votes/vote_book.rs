//! The incremental tally of one proposal: the same numbers as [`crate::votes::tally()`], kept up to
//! date receipt by receipt (DESIGN.md "Votes", all rules; "Tally events" for what it publishes).
//!
//! # Why incremental
//!
//! The aggregator republishes a tally whenever votes change. Recomputing from every receipt costs
//! `O(n log n)` per change; a [`VoteBook`] costs `O(log n)` per receipt and `O(k log n)` per
//! [`VoteBook::result`], where `k` is the number of ballots above the cap (a handful).
//!
//! # How
//!
//! - Per sender, integer msat sums at the current moment `T` ([`SenderTotals`]: participation
//!   window, young, votes), the vote receipt count and the latest explicit keyword. A sender's
//!   weights are a pure function of these ([`SenderWeight::of`]), recomputed whenever one changes.
//! - A min-heap of timed events moves contributions as `T` advances: arrival (a receipt from the
//!   future reaches `T`), leaving the young window (`created_at + cooling_off_days`), leaving the
//!   participation window (`created_at + participation_window_days`). Votes never leave.
//! - `W` (the sum of `P(s) > 0`) is an [`ExactSum`] with its count of senders. Per vote type, an
//!   [`ExactSum`] of the uncapped ballot weights and an ordered set of `(fix(weight), sender)`: the
//!   capped sum is the uncapped one minus `fix(w) - fix(C)` for the few ballots above `C =
//!   weight_cap * W`, which is exactly `Σ fix(min(w, C))`, the full recompute's sum.
//!
//! - Sealed ballots are a fourth type set (`sealed_votes`). [`VoteBook::open_with`] gives the
//!   book the secrets; once `T` is `end` it opens each sealed vote receipt once (the result is
//!   kept with the receipt) and re-files only the senders whose standing type is a sealed
//!   ballot: their weight moves from the sealed set to the set of the opened type (abstain when
//!   it does not open). Nothing is recounted from scratch.
//! - Private zaps are no contribution: the book only keeps their time and amount for
//!   `private_zaps`.
//!
//! Everything is integer or fixed point, so the result does not depend on the order receipts
//! arrive in and equals the full recompute bit for bit. `T` should only grow (it is `min(now,
//! end)`); a smaller `t` rebuilds the book from the receipts it holds (correct, just slower).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::ops::Bound;

use nostr_sdk::{EventId, PublicKey};

use super::ballot_type::BallotType;
use super::contribution::Contribution;
use super::exact_sum::{fix, ExactSum};
use super::explicit_type::{ExplicitType, Standing};
use super::private_zaps::PrivateZaps;
use super::proposal::{Proposal, WindowPlace};
use super::sealed::BallotOpening;
use super::tally::{Ballot, ProposalVoteResult, Tally, TallyReport, TypeSums};
use super::vote_type::{VoteKind, VoteType};
use super::weight::{cap, windows, SenderTotals, SenderWeight};

/// What [`VoteBook::add`] made of a contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// A vote on the proposal (inside the voting window).
    Vote,
    /// A vote paid after the window's end: reported, never counted.
    LateVote,
    /// A contribution that is not a vote on this proposal.
    Contribution,
    /// Does not count under the proposal's rules (zapper or bot not pinned).
    Ignored,
    /// This receipt id was added before.
    Duplicate,
    /// A private zap naming the proposal inside the window: counted in `private_zaps` only.
    PrivateZap,
}

/// A timed event of the heap, ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Move {
    /// The contribution's `created_at` is reached.
    Arrive,
    /// The contribution is no longer young.
    LeaveYoung,
    /// The contribution leaves the participation window.
    LeaveWindow,
}

#[derive(Debug, Clone)]
struct Held {
    sender: u32,
    created_at: u64,
    amount_msat: u64,
    receipt_id: EventId,
    is_vote: bool,
    explicit: Option<ExplicitType>,
    /// A sealed ballot's content once opened: its type, or `None` when it did not open.
    opened: Option<Option<VoteType>>,
}

impl Held {
    fn is_sealed(&self) -> bool {
        matches!(self.explicit, Some(ExplicitType::Sealed(_)))
    }
}

/// What one sender puts into the aggregates.
#[derive(Debug, Clone)]
struct SenderState {
    sender: PublicKey,
    totals: SenderTotals,
    /// Vote receipts with `created_at <= T`.
    receipts: u32,
    /// The latest vote with an explicit type: (created_at, receipt id, index in `held`).
    keyword: Option<(u64, EventId, u32)>,
    /// The weights currently in the aggregates.
    weight: Option<SenderWeight>,
    /// The ballot currently in a type set: (type, fix(weight), kind, from a sealed ballot).
    ballot: Option<(BallotType, u128, VoteKind, bool)>,
    dirty: bool,
}

impl SenderState {
    fn new(sender: PublicKey) -> Self {
        SenderState {
            sender,
            totals: SenderTotals::default(),
            receipts: 0,
            keyword: None,
            weight: None,
            ballot: None,
            dirty: false,
        }
    }
}

/// Per vote type: the uncapped sum and the ballots ordered by weight.
#[derive(Debug, Clone, Default)]
struct TypeBallots {
    uncapped: ExactSum,
    by_weight: BTreeSet<(u128, u32)>,
}

/// The incremental vote state of one proposal.
#[derive(Debug, Clone)]
pub struct VoteBook {
    proposal: Proposal,
    /// The moment the state is at.
    t: u64,
    seen: HashSet<EventId>,
    late_votes: u64,
    /// Every contribution that can exist at some `T <= end`, for rebuilds and tallies.
    held: Vec<Held>,
    /// In-window vote receipts: id -> index in `held`.
    votes: HashMap<EventId, u32>,
    index: HashMap<PublicKey, u32>,
    senders: Vec<SenderState>,
    heap: BinaryHeap<Reverse<(u64, Move, u32)>>,
    dirty: Vec<u32>,
    participation: ExactSum,
    participants: usize,
    voters: usize,
    types: [TypeBallots; 4],
    zap_votes: u64,
    participation_votes: u64,
    /// Private zaps naming the proposal in the window: (created_at, msat).
    private_zaps: Vec<(u64, u64)>,
    /// The secrets of every pinned key, once known.
    opening: Option<BallotOpening>,
    /// The ballots are open at the current moment (`opening` known and `T = end`).
    opened: bool,
    /// Vote receipts with `created_at <= T` whose type is a sealed ballot.
    sealed_ballots: u64,
    /// Of those, the ones that did not open (counted once opened).
    invalid: u64,
    /// Voters whose standing type came from a sealed ballot.
    sealed_voters: u64,
}

const BALLOT_TYPES: [BallotType; 4] = [
    BallotType::Support,
    BallotType::Veto,
    BallotType::Abstain,
    BallotType::Sealed,
];

fn type_index(t: BallotType) -> usize {
    match t {
        BallotType::Support => 0,
        BallotType::Veto => 1,
        BallotType::Abstain => 2,
        BallotType::Sealed => 3,
    }
}

impl VoteBook {
    pub fn new(proposal: Proposal) -> VoteBook {
        VoteBook {
            proposal,
            t: 0,
            seen: HashSet::new(),
            late_votes: 0,
            held: Vec::new(),
            votes: HashMap::new(),
            index: HashMap::new(),
            senders: Vec::new(),
            heap: BinaryHeap::new(),
            dirty: Vec::new(),
            participation: ExactSum::ZERO,
            participants: 0,
            voters: 0,
            types: Default::default(),
            zap_votes: 0,
            participation_votes: 0,
            private_zaps: Vec::new(),
            opening: None,
            opened: false,
            sealed_ballots: 0,
            invalid: 0,
            sealed_voters: 0,
        }
    }

    pub fn proposal(&self) -> &Proposal {
        &self.proposal
    }

    /// The moment the book is at (the last `T` it was asked for).
    pub fn as_of(&self) -> u64 {
        self.t
    }

    /// Distinct senders with a vote at the current moment.
    pub fn voters(&self) -> usize {
        self.voters
    }

    /// How many distinct receipts the book has taken in (votes, contributions and late votes):
    /// it grows with every receipt that can change the tally, so a reader can tell cheaply
    /// whether anything changed since it last looked.
    pub fn receipts_seen(&self) -> usize {
        self.seen.len()
    }

    /// Receipts naming the proposal paid after `end`.
    pub fn late_votes(&self) -> u64 {
        self.late_votes
    }

    /// Gives the book the secrets of every pinned key. The ballots open once `T` is `end`
    /// (at once when it is already): each sealed vote receipt is opened once, and the voters
    /// whose standing type is a sealed ballot move to their opened type.
    pub fn open_with(&mut self, opening: BallotOpening) {
        self.opening = Some(opening);
        self.update_opened();
    }

    /// Whether the book has the secrets (not necessarily opened yet: that waits for `end`).
    pub fn has_secrets(&self) -> bool {
        self.opening.is_some()
    }

    /// Whether the ballots are open at the current moment.
    pub fn is_opened(&self) -> bool {
        self.opened
    }

    /// Adds one receipt. Idempotent: a receipt id seen before is a [`Added::Duplicate`].
    pub fn add(&mut self, c: Contribution) -> Added {
        if !c.counts_under(&self.proposal.rules) {
            return Added::Ignored;
        }
        if !self.seen.insert(c.receipt_id) {
            return Added::Duplicate;
        }
        let place = self.proposal.place(c.created_at);
        let names = self.proposal.names(&c);
        if c.private_zap {
            // No contribution, no vote: only counted when it names the proposal in the window.
            if names && place == WindowPlace::Inside {
                self.private_zaps.push((c.created_at, c.amount_msat));
                return Added::PrivateZap;
            }
            return Added::Ignored;
        }
        let added = match (names, place) {
            (true, WindowPlace::Inside) => Added::Vote,
            (true, WindowPlace::Late) => Added::LateVote,
            _ => Added::Contribution,
        };
        if added == Added::LateVote {
            self.late_votes += 1;
        }
        if place == WindowPlace::Late {
            // After `end`, so after every moment `T`: it never exists in a tally.
            return added;
        }
        let sender = match self.index.get(&c.sender) {
            Some(&i) => i,
            None => {
                let i = self.senders.len() as u32;
                self.senders.push(SenderState::new(c.sender));
                self.index.insert(c.sender, i);
                i
            }
        };
        let held = self.held.len() as u32;
        if added == Added::Vote {
            self.votes.insert(c.receipt_id, held);
        }
        self.held.push(Held {
            sender,
            created_at: c.created_at,
            amount_msat: c.amount_msat,
            receipt_id: c.receipt_id,
            is_vote: added == Added::Vote,
            explicit: if added == Added::Vote {
                self.proposal.explicit_type(&c)
            } else {
                None
            },
            opened: None,
        });
        self.place_held(held);
        self.refresh_dirty();
        added
    }

    /// The result at `T = min(t, end)`.
    pub fn result(&mut self, t: u64) -> ProposalVoteResult {
        self.advance(t);
        self.sums().result(&self.proposal)
    }

    /// The full tally at `T = min(t, end)`: result, counted receipts, root and ballots. `O(n log
    /// n)`.
    pub fn tally(&mut self, t: u64) -> Tally {
        self.advance(t);
        let cap = self.cap();
        let mut ballots: Vec<Ballot> = self
            .senders
            .iter()
            .filter(|s| s.receipts > 0)
            .filter_map(|s| {
                let weight = s.weight.as_ref()?;
                Some(Ballot::new(
                    s.sender,
                    self.standing(s),
                    weight,
                    cap,
                    s.totals.vote_msat,
                    s.receipts,
                ))
            })
            .collect();
        ballots.sort_unstable_by_key(|b| b.sender);
        let counted = self
            .votes
            .values()
            .map(|&i| &self.held[i as usize])
            .filter(|h| h.created_at <= self.t)
            .map(|h| h.receipt_id)
            .collect();
        Tally::assemble(&self.proposal, self.t, self.report(), counted, ballots)
    }

    /// What the tally at the current moment reports besides ballots and receipts.
    fn report(&self) -> TallyReport {
        let mut private_zaps = PrivateZaps::default();
        for &(created_at, msat) in &self.private_zaps {
            if created_at <= self.t {
                private_zaps.add(msat);
            }
        }
        TallyReport {
            late_votes: self.late_votes,
            private_zaps,
            opened: self.opened,
            sealed_ballots: self.sealed_ballots,
            invalid: self.invalid,
        }
    }

    /// Voters whose standing type came from a sealed ballot, at the current moment.
    pub fn sealed_voters(&self) -> u64 {
        self.sealed_voters
    }

    /// A sender's standing type at the current moment.
    fn standing(&self, s: &SenderState) -> Standing {
        match s.keyword {
            None => Standing::Open(VoteType::Support),
            Some((_, _, held)) => self.standing_of(&self.held[held as usize]),
        }
    }

    /// Where a vote receipt's explicit type stands at the current moment.
    fn standing_of(&self, h: &Held) -> Standing {
        match &h.explicit {
            None => Standing::Open(VoteType::Support),
            Some(ExplicitType::Open(vote)) => Standing::Open(*vote),
            Some(ExplicitType::Sealed(_)) if !self.opened => Standing::Sealed,
            // Opened: its type, or invalid (every placed sealed receipt is opened then).
            Some(ExplicitType::Sealed(_)) => match h.opened {
                Some(Some(vote)) => Standing::Opened(vote),
                Some(None) | None => Standing::Invalid,
            },
        }
    }

    /// Opens a sealed vote receipt once (keeping the result); whether it opened.
    fn open_held(&mut self, held: u32) -> bool {
        let h = &self.held[held as usize];
        if let Some(opened) = h.opened {
            return opened.is_some();
        }
        let Some(ExplicitType::Sealed(token)) = &h.explicit else {
            return true;
        };
        let sender = self.senders[h.sender as usize].sender;
        let opened = self
            .opening
            .as_ref()
            .and_then(|opening| opening.open(token, &self.proposal.id, &sender).ok());
        self.held[held as usize].opened = Some(opened);
        opened.is_some()
    }

    /// Opens the ballots when the secrets are known and `T` is `end`: every sealed vote
    /// receipt at or before `T` once, and re-files the senders standing on one.
    fn update_opened(&mut self) {
        let should = self.opening.is_some() && self.proposal.opens_at(self.t);
        if should == self.opened {
            return;
        }
        // Only `rebuild` closes them again (a smaller `t`), and it resets this state itself.
        self.opened = should;
        if !should {
            return;
        }
        let placed: Vec<u32> = self
            .votes
            .values()
            .copied()
            .filter(|&i| {
                let h = &self.held[i as usize];
                h.is_sealed() && h.created_at <= self.t
            })
            .collect();
        for held in placed {
            if !self.open_held(held) {
                self.invalid += 1;
            }
        }
        let standing_sealed: Vec<u32> = (0..self.senders.len() as u32)
            .filter(|&i| {
                self.senders[i as usize]
                    .keyword
                    .is_some_and(|(_, _, held)| self.held[held as usize].is_sealed())
            })
            .collect();
        for sender in standing_sealed {
            self.mark(sender);
        }
        self.refresh_dirty();
    }

    /// The sender's ballot at the current moment, if they voted.
    pub fn ballot(&self, sender: &PublicKey) -> Option<Ballot> {
        let s = &self.senders[*self.index.get(sender)? as usize];
        if s.receipts == 0 {
            return None;
        }
        Some(Ballot::new(
            s.sender,
            self.standing(s),
            s.weight.as_ref()?,
            self.cap(),
            s.totals.vote_msat,
            s.receipts,
        ))
    }

    /// The sender and `created_at` of an in-window vote receipt (counted once `T` reaches its
    /// `created_at`), or `None` for any other receipt.
    pub fn vote_receipt(&self, receipt: &EventId) -> Option<(PublicKey, u64)> {
        let held = &self.held[*self.votes.get(receipt)? as usize];
        Some((self.senders[held.sender as usize].sender, held.created_at))
    }

    /// The cap at the current moment.
    fn cap(&self) -> Option<f64> {
        cap(&self.proposal.rules, &self.participation, self.participants)
    }

    /// The capped per-type sums at the current moment.
    fn sums(&self) -> TypeSums {
        let mut sums = TypeSums {
            zap_votes: self.zap_votes,
            participation_votes: self.participation_votes,
            ..TypeSums::default()
        };
        let cap = self.cap().map(fix);
        for vote_type in BALLOT_TYPES {
            let ballots = &self.types[type_index(vote_type)];
            let mut sum = ballots.uncapped;
            if let Some(cap) = cap {
                let above = (Bound::Excluded((cap, u32::MAX)), Bound::Unbounded);
                for &(weight, _) in ballots.by_weight.range(above) {
                    sum.sub_fixed(weight - cap);
                }
            }
            *sums.sum_mut(vote_type) = sum;
        }
        sums
    }

    /// Moves the state to `T = min(t, end)`.
    fn advance(&mut self, t: u64) {
        let t = self.proposal.moment(t);
        if t < self.t {
            self.rebuild();
        }
        self.t = t;
        while let Some(&Reverse((at, movement, held))) = self.heap.peek() {
            if at > t {
                break;
            }
            self.heap.pop();
            let h = &self.held[held as usize];
            let s = &mut self.senders[h.sender as usize];
            match movement {
                Move::Arrive => {
                    self.place_held(held);
                    continue;
                }
                Move::LeaveYoung => {
                    s.totals.young_msat = s.totals.young_msat.saturating_sub(h.amount_msat)
                }
                Move::LeaveWindow => {
                    s.totals.window_msat = s.totals.window_msat.saturating_sub(h.amount_msat)
                }
            }
            let sender = h.sender;
            self.mark(sender);
        }
        self.refresh_dirty();
        self.update_opened();
    }

    /// Forgets the derived state and places every held contribution again from `T = 0`.
    fn rebuild(&mut self) {
        self.t = 0;
        self.heap.clear();
        self.dirty.clear();
        self.participation = ExactSum::ZERO;
        self.participants = 0;
        self.voters = 0;
        self.types = Default::default();
        self.zap_votes = 0;
        self.participation_votes = 0;
        self.opened = false;
        self.sealed_ballots = 0;
        self.invalid = 0;
        self.sealed_voters = 0;
        for s in &mut self.senders {
            *s = SenderState::new(s.sender);
        }
        for held in 0..self.held.len() as u32 {
            self.place_held(held);
        }
        self.refresh_dirty();
    }

    /// Puts a held contribution into its sender's sums at the current moment, or schedules its
    /// arrival; schedules its leaving of the windows it is in. Marks the sender dirty.
    fn place_held(&mut self, held: u32) {
        let rules = &self.proposal.rules;
        let t = self.t;
        let h = &self.held[held as usize];
        if h.created_at > t {
            self.heap.push(Reverse((h.created_at, Move::Arrive, held)));
            return;
        }
        let (in_window, young) = windows(rules, h.created_at, t);
        if in_window {
            let leave = h
                .created_at
                .saturating_add(rules.participation_window_secs());
            self.heap.push(Reverse((leave, Move::LeaveWindow, held)));
        }
        if young {
            let leave = h.created_at.saturating_add(rules.cooling_off_secs());
            self.heap.push(Reverse((leave, Move::LeaveYoung, held)));
        }
        let sealed_vote = h.is_vote && h.is_sealed();
        let s = &mut self.senders[h.sender as usize];
        s.totals
            .add(rules, h.created_at, t, h.amount_msat, h.is_vote);
        if h.is_vote {
            s.receipts += 1;
            if h.explicit.is_some() {
                let key = (h.created_at, h.receipt_id, held);
                if s.keyword.is_none_or(|k| (k.0, k.1) < (key.0, key.1)) {
                    s.keyword = Some(key);
                }
            }
        }
        let sender = h.sender;
        if sealed_vote {
            self.sealed_ballots += 1;
            // Paid inside the window but arriving after the opening: opened at once.
            if self.opened && !self.open_held(held) {
                self.invalid += 1;
            }
        }
        self.mark(sender);
    }

    fn mark(&mut self, sender: u32) {
        let s = &mut self.senders[sender as usize];
        if !s.dirty {
            s.dirty = true;
            self.dirty.push(sender);
        }
    }

    fn refresh_dirty(&mut self) {
        while let Some(sender) = self.dirty.pop() {
            self.refresh(sender);
        }
    }

    /// Takes a sender's old weights out of the aggregates and puts the current ones in.
    fn refresh(&mut self, i: u32) {
        let s = &mut self.senders[i as usize];
        s.dirty = false;
        if let Some(old) = s.weight.take() {
            if old.participation > 0.0 {
                self.participation.sub(old.participation);
                self.participants -= 1;
            }
        }
        if let Some((vote_type, weight, kind, sealed)) = s.ballot.take() {
            let ballots = &mut self.types[type_index(vote_type)];
            ballots.uncapped.sub_fixed(weight);
            ballots.by_weight.remove(&(weight, i));
            self.voters -= 1;
            self.sealed_voters -= u64::from(sealed);
            match kind {
                VoteKind::Zap => self.zap_votes -= 1,
                VoteKind::Participation => self.participation_votes -= 1,
            }
        }
        let weight = SenderWeight::of(&self.proposal.rules, &s.totals);
        if weight.participation > 0.0 {
            self.participation.add(weight.participation);
            self.participants += 1;
        }
        s.weight = Some(weight);
        if s.receipts > 0 {
            let standing = self.standing(&self.senders[i as usize]);
            let vote_type = standing.ballot_type();
            let fixed = fix(weight.weight);
            let ballots = &mut self.types[type_index(vote_type)];
            ballots.uncapped.add_fixed(fixed);
            ballots.by_weight.insert((fixed, i));
            let s = &mut self.senders[i as usize];
            s.ballot = Some((vote_type, fixed, weight.kind, standing.is_sealed()));
            self.voters += 1;
            self.sealed_voters += u64::from(standing.is_sealed());
            match weight.kind {
                VoteKind::Zap => self.zap_votes += 1,
                VoteKind::Participation => self.participation_votes += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::votes::tally::{tally, tally_with_secrets};
    use crate::votes::testing::{
        opening, proposal, receipt, sealed_proposal, sealed_zap, senders, zap, ANNOUNCEMENT, BTC,
        END, POLL, START,
    };
    use crate::votes::SECONDS_PER_DAY;

    #[test]
    fn add_classifies_and_is_idempotent() {
        let mut book = VoteBook::new(proposal());
        let s = senders(2);
        let vote = zap(1, s[0], START, BTC, true, None);
        assert_eq!(book.add(vote.clone()), Added::Vote);
        assert_eq!(book.add(vote), Added::Duplicate);
        assert_eq!(
            book.add(zap(2, s[0], END + 1, BTC, true, None)),
            Added::LateVote
        );
        assert_eq!(
            book.add(zap(3, s[0], START - 1, BTC, true, None)),
            Added::Contribution
        );
        assert_eq!(
            book.add(zap(4, s[1], START, BTC, false, None)),
            Added::Contribution
        );
        let mut foreign = zap(5, s[1], START, BTC, true, None);
        foreign.zapper = s[1];
        assert_eq!(book.add(foreign.clone()), Added::Ignored);
        assert_eq!(book.add(foreign), Added::Ignored);
        assert_eq!(book.late_votes(), 1);
        let result = book.result(END);
        assert_eq!(book.voters(), 1);
        assert_eq!(result.support_votes, 1.0);
        assert_eq!(book.vote_receipt(&receipt(1)), Some((s[0], START)));
        assert_eq!(book.vote_receipt(&receipt(3)), None);
        assert!(book.ballot(&s[0]).is_some());
        assert!(book.ballot(&s[1]).is_none());
    }

    #[test]
    fn contributions_move_out_of_the_windows_as_t_advances() {
        let p = proposal();
        let s = senders(1);
        let all = [
            zap(1, s[0], START - 80 * SECONDS_PER_DAY, 4 * BTC, false, None),
            zap(2, s[0], START + 5, BTC, true, None),
        ];
        let mut book = VoteBook::new(p.clone());
        for c in &all {
            book.add(c.clone());
        }
        for t in [
            START - 81 * SECONDS_PER_DAY,
            START,
            START + 5,
            START + 20 * SECONDS_PER_DAY,
            END,
        ] {
            assert_eq!(book.tally(t), tally(&p, &all, t), "t = {t}");
        }
        // Going back rebuilds.
        assert_eq!(book.tally(START), tally(&p, &all, START));
    }

    #[test]
    fn opening_moves_sealed_weight_to_the_opened_types_and_counts_what_does_not_open() {
        let p = sealed_proposal();
        let s = senders(4);
        let mut garbage = zap(4, s[3], START, BTC, true, None);
        garbage.ballot = Some(std::sync::Arc::from("ballot1qqqqqqqqqq"));
        let mut private = zap(5, s[3], START + 1, 7_000, true, None);
        private.private_zap = true;
        let all = [
            sealed_zap(1, s[0], START, 4 * BTC, VoteType::Veto),
            sealed_zap(2, s[1], START, BTC, VoteType::Support),
            zap(3, s[2], START, BTC, true, Some(VoteType::Support)),
            garbage,
            private.clone(),
        ];
        let mut book = VoteBook::new(p.clone());
        for c in &all {
            book.add(c.clone());
        }
        assert_eq!(book.add(private), Added::Duplicate);
        let sealed = book.tally(END);
        assert_eq!(sealed, tally(&p, &all, END));
        assert_eq!(sealed.result.sealed_votes, 4.0);
        assert_eq!(sealed.sealed.voters, 3);
        assert_eq!(sealed.private_zaps.count, 1);
        // The secrets before the close open nothing; at the close, everything.
        let mut early = VoteBook::new(p.clone());
        for c in &all {
            early.add(c.clone());
        }
        early.open_with(opening());
        assert!(!early.is_opened());
        assert_eq!(early.tally(END - 1), tally(&p, &all, END - 1));
        assert_eq!(
            early.tally(END),
            tally_with_secrets(&p, &all, END, Some(&opening()))
        );
        book.open_with(opening());
        assert!(book.is_opened());
        let opened = book.tally(END);
        assert_eq!(opened, tally_with_secrets(&p, &all, END, Some(&opening())));
        let r = &opened.result;
        assert_eq!(
            (
                r.support_votes,
                r.veto_votes,
                r.abstain_votes,
                r.sealed_votes
            ),
            (2.0, 2.0, 1.0, 0.0)
        );
        assert_eq!(opened.sealed.invalid, 1);
        assert!(opened.sealed.opened);
        // A sealed vote paid in the window that arrives after the opening is opened at once.
        book.add(sealed_zap(6, s[2], END, BTC, VoteType::Abstain));
        let mut later = all.to_vec();
        later.push(book_contribution_of_last(&book));
        assert_eq!(
            book.tally(END),
            tally_with_secrets(&p, &later, END, Some(&opening()))
        );
        assert_eq!(book.tally(END).result.sealed_votes, 0.0);
        // Going back in time closes them again.
        assert_eq!(book.tally(START), tally(&p, &later, START));
    }

    /// The contribution last added to `book`, rebuilt from what the book holds (for the full
    /// recompute of the same receipts).
    fn book_contribution_of_last(book: &VoteBook) -> Contribution {
        let h = book.held.last().expect("one held");
        let mut c = zap(
            0,
            book.senders[h.sender as usize].sender,
            h.created_at,
            h.amount_msat,
            true,
            None,
        );
        c.receipt_id = h.receipt_id;
        if let Some(ExplicitType::Sealed(token)) = &h.explicit {
            c.ballot = Some(token.clone());
        }
        c
    }

    /// A contribution as the generator draws it.
    #[derive(Debug, Clone)]
    struct Draw {
        sender: usize,
        offset: u64,
        msat: u64,
        vote: u8,
        keyword: u8,
    }

    const SPAN: u64 = END - START + 140 * SECONDS_PER_DAY;

    fn draw() -> impl Strategy<Value = Draw> {
        (
            0usize..24,
            prop_oneof![
                0..SPAN,
                (0u64..30).prop_map(|d| 70 * SECONDS_PER_DAY + d * SECONDS_PER_DAY)
            ],
            prop_oneof![
                1u64..BTC / 50,
                BTC / 50..BTC / 5,
                Just(BTC / 10),
                BTC / 5..60 * BTC,
            ],
            0u8..6,
            0u8..9,
        )
            .prop_map(|(sender, offset, msat, vote, keyword)| Draw {
                sender,
                offset,
                msat,
                vote,
                keyword,
            })
    }

    fn build(draws: &[Draw]) -> Vec<Contribution> {
        let s = senders(24);
        let p = sealed_proposal();
        draws
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let keyword = match d.keyword {
                    0 => Some(VoteType::Support),
                    1 => Some(VoteType::Veto),
                    2 => Some(VoteType::Abstain),
                    _ => None,
                };
                let created_at = START - 100 * SECONDS_PER_DAY + d.offset;
                let mut c = zap(
                    i as u64,
                    s[d.sender],
                    created_at,
                    d.msat,
                    d.vote == 0,
                    keyword,
                );
                // 5, 6: a sealed ballot (of a type from the sender); 7: one that will not open
                // (another sender's token); 8: a private zap.
                match d.keyword {
                    5 | 6 => {
                        let vote = [VoteType::Support, VoteType::Veto, VoteType::Abstain]
                            [(d.sender + usize::from(d.keyword == 6)) % 3];
                        let token = crate::votes::seal_ballot(
                            vote,
                            &p.id,
                            &s[d.sender],
                            &p.ballot_keys(),
                            &mut rand::rngs::OsRng,
                        )
                        .expect("seals");
                        c.ballot = Some(std::sync::Arc::from(token.as_str()));
                    }
                    7 => {
                        let token = crate::votes::seal_ballot(
                            VoteType::Veto,
                            &p.id,
                            &s[(d.sender + 1) % 24],
                            &p.ballot_keys(),
                            &mut rand::rngs::OsRng,
                        )
                        .expect("seals");
                        c.ballot = Some(std::sync::Arc::from(token.as_str()));
                    }
                    8 => c.private_zap = true,
                    _ => {}
                }
                match d.vote {
                    1 => c.address = Some(p.address.clone()),
                    2 => c.event = Some(ANNOUNCEMENT),
                    3 => {
                        // A zap-poll vote: its option outranks (or, invalid, yields to) the
                        // comment's keyword.
                        c.event = Some(POLL);
                        c.poll_option = match d.keyword {
                            0 => Some(VoteType::Veto),
                            1 => Some(VoteType::Abstain),
                            3 => Some(VoteType::Support),
                            _ => None,
                        };
                    }
                    _ => {}
                }
                c
            })
            .collect()
    }

    fn times() -> impl Strategy<Value = Vec<u64>> {
        prop::collection::vec(0..SPAN, 1..6).prop_map(|mut ts| {
            ts.sort_unstable();
            ts.into_iter()
                .map(|t| START - 100 * SECONDS_PER_DAY + t)
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Adds interleaved with results at non-decreasing moments equal the full recompute.
        #[test]
        fn incremental_equals_full_recompute(
            draws in prop::collection::vec(draw(), 0..80),
            ts in times(),
            seed in any::<u64>(),
        ) {
            let p = sealed_proposal();
            let all = build(&draws);
            let secrets = opening();
            let mut book = VoteBook::new(p.clone());
            let mut added = Vec::new();
            let mut ts = ts.into_iter().peekable();
            let mut rng = seed;
            let mut opened = false;
            for c in &all {
                // A few receipts twice, to exercise idempotence.
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                book.add(c.clone());
                if rng >> 60 == 0 {
                    prop_assert_eq!(book.add(c.clone()), Added::Duplicate);
                }
                added.push(c.clone());
                // The secrets become known at some point (opening only at `end`).
                if !opened && rng >> 59 == 3 {
                    book.open_with(secrets.clone());
                    opened = true;
                }
                if rng >> 61 == 1 {
                    if let Some(t) = ts.next() {
                        let full = tally_with_secrets(&p, &added, t, opened.then_some(&secrets));
                        prop_assert_eq!(&book.result(t), &full.result);
                        prop_assert_eq!(book.voters() as u64, full.voters);
                        prop_assert_eq!(book.tally(t), full);
                    }
                }
            }
            for t in ts.chain([END]) {
                let full = tally_with_secrets(&p, &added, t, opened.then_some(&secrets));
                prop_assert_eq!(&book.result(t), &full.result);
                prop_assert_eq!(book.tally(t), full);
            }
            // Opened at the end, sealed weight moves to the opened types.
            book.open_with(secrets.clone());
            let full = tally_with_secrets(&p, &added, END, Some(&secrets));
            prop_assert_eq!(&book.result(END), &full.result);
            prop_assert_eq!(full.result.sealed_votes, 0.0);
            prop_assert_eq!(book.tally(END), full);
            // Going back in time rebuilds, and still agrees.
            let t = START + 10 * SECONDS_PER_DAY;
            prop_assert_eq!(book.tally(t), tally(&p, &added, t));
            prop_assert_eq!(book.tally(END), tally_with_secrets(&p, &added, END, Some(&secrets)));
        }

        /// The order contributions come in never changes the tally.
        #[test]
        fn order_never_changes_the_tally(
            draws in prop::collection::vec(draw(), 0..80),
            t in 0..SPAN,
            seed in any::<u64>(),
        ) {
            let p = sealed_proposal();
            let t = START - 100 * SECONDS_PER_DAY + t;
            let all = build(&draws);
            let mut shuffled = all.clone();
            let mut rng = seed | 1;
            for i in (1..shuffled.len()).rev() {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                shuffled.swap(i, (rng % (i as u64 + 1)) as usize);
            }
            if let Some(first) = all.first() {
                shuffled.push(first.clone());
            }
            prop_assert_eq!(tally(&p, &all, t), tally(&p, &shuffled, t));
            let secrets = opening();
            prop_assert_eq!(
                tally_with_secrets(&p, &all, END, Some(&secrets)),
                tally_with_secrets(&p, &shuffled, END, Some(&secrets))
            );
            let mut book = VoteBook::new(p.clone());
            for c in shuffled {
                book.add(c);
            }
            prop_assert_eq!(book.tally(t), tally(&p, &all, t));
        }

        /// Splitting a zap into parts (same sender and second, new receipts) changes no weight.
        #[test]
        fn splitting_a_zap_changes_no_weight(
            draws in prop::collection::vec(draw(), 1..60),
            which in any::<prop::sample::Index>(),
            parts in 2u64..5,
            t in 0..SPAN,
        ) {
            let p = sealed_proposal();
            let t = START - 100 * SECONDS_PER_DAY + t;
            let all = build(&draws);
            let i = which.index(all.len());
            let mut split = all.clone();
            let whole = split[i].clone();
            let part = whole.amount_msat / parts;
            let mut rest = whole.amount_msat;
            for k in 1..parts {
                if part == 0 {
                    break;
                }
                let mut piece = whole.clone();
                piece.receipt_id = receipt(1_000_000 + k);
                piece.amount_msat = part;
                piece.keyword = None;
                piece.ballot = None;
                rest -= part;
                split.push(piece);
            }
            split[i].amount_msat = rest;
            let before = tally(&p, &all, t);
            let after = tally(&p, &split, t);
            prop_assert_eq!(&before.result, &after.result);
            prop_assert_eq!(before.ballots.len(), after.ballots.len());
            for (b, a) in before.ballots.iter().zip(&after.ballots) {
                prop_assert!(a.weight <= b.weight);
                prop_assert!(a.zap_weight <= b.zap_weight);
                prop_assert!(a.participation_weight <= b.participation_weight);
                let mut a = a.clone();
                a.receipts = b.receipts;
                prop_assert_eq!(&a, b);
            }
        }
    }
}
