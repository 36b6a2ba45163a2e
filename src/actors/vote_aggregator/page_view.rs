//! What the public page reads from the aggregator: which proposals changed (cheap, asked
//! often) and, for one that did, its whole tally with every voter's counted receipts (asked
//! once per change, so a page request never costs a tally).

use super::*;

/// Every tracked proposal with a counter that moves whenever its tally can have changed.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Vec<ProposalChange>")]
pub struct ProposalChanges;

/// One line of [`ProposalChanges`]' answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProposalChange {
    pub id: EventId,
    /// Receipts the proposal's book holds ([`VoteBook::receipts_seen`]).
    pub receipts_seen: usize,
    pub window_end: u64,
    /// `created_at` of the newest tally event published for it, and whether it was final.
    pub published: Option<(u64, bool)>,
    /// How many of its ballot keys' secrets are known (a holder's reveal changes the page).
    pub revealed_keys: usize,
}

/// One proposal's tally at `T = min(now, end)` with each voter's receipts; `None` for an
/// unknown proposal.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Option<ProposalVoters>")]
pub struct GetProposalVoters(pub EventId);

/// [`GetProposalVoters`]' answer.
#[derive(Debug, Clone)]
pub struct ProposalVoters {
    pub proposal: Proposal,
    pub repository: String,
    pub title: String,
    pub receipts_seen: usize,
    pub published: Option<(u64, bool)>,
    /// The tally event's content now (its `receipts` list left out: `ballots` carry them).
    pub content: TallyContent,
    /// One per voter, sorted by sender.
    pub ballots: Vec<Ballot>,
    /// Per ballot (same order): its counted receipts as `(id, created_at)`, oldest first.
    pub receipts: Vec<Vec<(EventId, u64)>>,
    /// Each pinned ballot key and where its secret stands.
    pub ballot_keys: Vec<BallotKeyState>,
}

fn published(stored: &StoredProposal) -> Option<(u64, bool)> {
    stored.tally_created_at.map(|at| (at, stored.tally_final))
}

impl Handler<ProposalChanges> for VoteAggregatorActor {
    type Result = Vec<ProposalChange>;

    fn handle(&mut self, _: ProposalChanges, _: &mut Context<Self>) -> Vec<ProposalChange> {
        self.proposals
            .iter()
            .map(|(id, tracked)| ProposalChange {
                id: *id,
                receipts_seen: tracked.book.receipts_seen(),
                window_end: tracked.stored.proposal.window_end,
                published: published(&tracked.stored),
                revealed_keys: tracked.secrets.revealed.len(),
            })
            .collect()
    }
}

impl Handler<GetProposalVoters> for VoteAggregatorActor {
    type Result = Option<ProposalVoters>;

    fn handle(&mut self, msg: GetProposalVoters, _: &mut Context<Self>) -> Self::Result {
        let tracked = self.proposals.get_mut(&msg.0)?;
        let now = unix_now();
        let proposal = tracked.stored.proposal.clone();
        let tally = tracked.book.tally(proposal.moment(now));
        let mut content = TallyContent::new(&proposal, &tally, now > proposal.window_end)
            .with_anomalies(&tally, &self.anomalies);
        content.receipts = None;
        let mut by_sender: HashMap<PublicKey, Vec<(EventId, u64)>> = HashMap::new();
        for id in &tally.counted {
            if let Some((sender, created_at)) = tracked.book.vote_receipt(id) {
                by_sender.entry(sender).or_default().push((*id, created_at));
            }
        }
        let receipts = tally
            .ballots
            .iter()
            .map(|ballot| {
                let mut mine = by_sender.remove(&ballot.sender).unwrap_or_default();
                mine.sort_unstable_by_key(|&(id, at)| (at, id));
                mine
            })
            .collect();
        let ballot_keys = tracked
            .secrets
            .key_states(&proposal, tracked.book.is_opened(), now);
        Some(ProposalVoters {
            ballot_keys,
            proposal,
            repository: tracked.stored.repository.clone(),
            title: tracked.stored.title.clone(),
            receipts_seen: tracked.book.receipts_seen(),
            published: published(&tracked.stored),
            content,
            ballots: tally.ballots,
            receipts,
        })
    }
}
