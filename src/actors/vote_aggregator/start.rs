//! The aggregator's state, rebuilt at start from the database (every proposal with pinned
//! rules, every receipt its tally can need, the vote rows already written), and each
//! proposal taken into it.

use super::*;

/// What is loaded at start.
pub(super) struct Loaded {
    pub(super) proposals: Vec<StoredProposal>,
    pub(super) contributions: Vec<Contribution>,
    pub(super) recorded_votes: std::collections::HashSet<EventId>,
    /// The anomalies of the loaded receipts that have any.
    pub(super) anomalies: HashMap<EventId, Anomalies>,
}

pub(super) async fn load(db: &DatabaseConnection) -> Result<Loaded, DbErr> {
    let proposals = vote_ledger::load_proposals(db).await?;
    let since = proposals
        .iter()
        .map(|p| contributions_since(&p.proposal))
        .min();
    let (contributions, anomalies) = match since {
        Some(since) => (
            vote_ledger::load_contributions(db, since).await?,
            zap_ledger::load_anomalies(db, since).await?,
        ),
        None => (Vec::new(), HashMap::new()),
    };
    let ids: Vec<EventId> = proposals.iter().map(|p| p.proposal.id).collect();
    let recorded_votes = vote_ledger::recorded_vote_receipts(db, &ids).await?;
    Ok(Loaded {
        proposals,
        contributions,
        recorded_votes,
        anomalies,
    })
}

/// The oldest receipt a proposal's tally can need: its window's start minus its
/// participation window (exclusive).
pub(super) fn contributions_since(proposal: &Proposal) -> u64 {
    proposal.window_start.saturating_sub(
        u64::from(proposal.rules.participation_window_days) * crate::votes::SECONDS_PER_DAY,
    )
}

impl VoteAggregatorActor {
    pub(super) fn install(&mut self, loaded: Loaded, ctx: &mut Context<Self>) {
        let Loaded {
            proposals,
            contributions,
            recorded_votes,
            anomalies,
        } = loaded;
        self.anomalies.extend(anomalies);
        let mut missing = Vec::new();
        for stored in proposals {
            // Every proposal is tallied once at start: a restart may have missed a change.
            let votes = self.track(stored, &contributions, true, Duration::ZERO, ctx);
            missing.extend(
                votes
                    .into_iter()
                    .filter(|vote| !recorded_votes.contains(&vote.receipt_id)),
            );
        }
        self.loaded = true;
        if !missing.is_empty() {
            tracing::info!(
                rows = missing.len(),
                "writing vote rows a stop kept from being written"
            );
            self.write_votes(missing, ctx);
        }
        for batch in std::mem::take(&mut self.waiting) {
            self.apply(&batch, ctx);
        }
    }

    /// Tracks `stored` with a book built from `contributions`, and schedules its tallies (the
    /// next after `delay`, and the final one). The proposal is dirty (tallied then) when
    /// `dirty` or when any contribution was a vote. Returns the vote rows the book counted.
    pub(super) fn track(
        &mut self,
        stored: StoredProposal,
        contributions: &[Contribution],
        dirty: bool,
        delay: Duration,
        ctx: &mut Context<Self>,
    ) -> Vec<VoteRow> {
        let id = stored.proposal.id;
        let mut book = VoteBook::new(stored.proposal.clone());
        let votes: Vec<VoteRow> = contributions
            .iter()
            .filter(|contribution| book.add((*contribution).clone()) == Added::Vote)
            .map(|contribution| VoteRow::new(&stored.proposal, contribution))
            .collect();
        self.proposals.insert(
            id,
            Tracked {
                stored,
                book,
                timer: None,
                end_timer: None,
                publishing: false,
                dirty: dirty || !votes.is_empty(),
            },
        );
        self.schedule(id, ctx, delay);
        self.schedule_end(id, ctx);
        votes
    }

    /// A proposal published while running: tracked with the receipts it can need.
    pub(super) fn add_proposal(
        &mut self,
        stored: StoredProposal,
        seed: Vec<Contribution>,
        ctx: &mut Context<Self>,
    ) {
        let id = stored.proposal.id;
        if self.proposals.contains_key(&id) {
            return;
        }
        let votes = self.track(stored, &seed, false, self.spec.debounce, ctx);
        tracing::info!(proposal = %id, votes = votes.len(), "proposal tracked");
        self.write_votes(votes, ctx);
    }
}
