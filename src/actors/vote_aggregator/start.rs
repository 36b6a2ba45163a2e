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

/// The oldest receipt a proposal's tally can need: its window's start minus the longer of its
/// participation window and its cooling-off window (exclusive).
pub(super) fn contributions_since(proposal: &Proposal) -> u64 {
    proposal
        .window_start
        .saturating_sub(proposal.rules.lookback_secs())
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
                reveal: Reveal::Pending,
                secrets: Default::default(),
            },
        );
        self.schedule(id, ctx, delay);
        self.schedule_end(id, ctx);
        votes
    }

    /// Loads proposal `id` from the database (its row, its vote targets, every receipt its
    /// tally can need) and tracks it, replacing the one tracked if any ([`Self::add_proposal`]).
    /// What arrives meanwhile is kept and added too.
    pub(super) fn load_proposal(&mut self, id: EventId) -> ResponseActFuture<Self, ()> {
        self.arriving.insert(id, Vec::new());
        let db = self.spec.db.clone();
        Box::pin(
            async move {
                let Some(stored) = vote_ledger::load_proposal(&db, &id).await? else {
                    return Ok(None);
                };
                let since = contributions_since(&stored.proposal);
                let seed = vote_ledger::load_contributions(&db, since).await?;
                let anomalies = zap_ledger::load_anomalies(&db, since).await?;
                Ok::<_, DbErr>(Some((stored, seed, anomalies)))
            }
            .into_actor(self)
            .map(move |res, act, ctx| {
                let arrived = act.arriving.remove(&id).unwrap_or_default();
                match res {
                    Ok(Some((stored, mut seed, anomalies))) => {
                        act.anomalies.extend(anomalies);
                        seed.extend(arrived);
                        act.add_proposal(stored, seed, ctx);
                    }
                    Ok(None) => {
                        tracing::warn!(proposal = %id, "told of a proposal with no pinned rules in the database")
                    }
                    Err(e) => {
                        tracing::error!(proposal = %id, error = %e, "cannot load a new proposal; restarting to load everything");
                        ctx.stop();
                    }
                }
            }),
        )
    }

    /// Loads a tracked proposal again (its stored vote targets changed): the one tracked keeps
    /// answering until the new one replaces it. Nothing to do while it is being loaded.
    pub(super) fn reload_proposal(&mut self, id: EventId, ctx: &mut Context<Self>) {
        if self.arriving.contains_key(&id) {
            return;
        }
        let loading = self.load_proposal(id);
        ctx.spawn(loading);
    }

    /// A proposal published (or loaded again) while running: tracked with the receipts it can
    /// need. One loaded again replaces the one tracked: its book is built anew from every
    /// receipt with the targets now stored, so a receipt that zapped a target before it was
    /// known counts now; it is tallied after the debounce (a changed target list alone is a
    /// change), and waits for a publication of the old one still under way.
    pub(super) fn add_proposal(
        &mut self,
        stored: StoredProposal,
        seed: Vec<Contribution>,
        ctx: &mut Context<Self>,
    ) {
        let id = stored.proposal.id;
        let replaced = self.proposals.remove(&id);
        let mut publishing = false;
        if let Some(old) = &replaced {
            for timer in [old.timer, old.end_timer].into_iter().flatten() {
                ctx.cancel_future(timer);
            }
            publishing = old.publishing;
        }
        let votes = self.track(stored, &seed, replaced.is_some(), self.spec.debounce, ctx);
        if publishing {
            // Its end re-schedules the proposal, which is dirty.
            if let Some(tracked) = self.proposals.get_mut(&id) {
                tracked.publishing = true;
                if let Some(timer) = tracked.timer.take() {
                    ctx.cancel_future(timer);
                }
            }
        }
        match replaced {
            None => tracing::info!(proposal = %id, votes = votes.len(), "proposal tracked"),
            Some(_) => tracing::info!(proposal = %id, votes = votes.len(), "proposal loaded again"),
        }
        self.write_votes(votes, ctx);
    }
}
