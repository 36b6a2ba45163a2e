//! Counting: recorded zaps become contributions, added to every proposal's book in memory;
//! the receipts that became votes get their `proposal_zap_votes` rows.

use super::*;

/// The contribution a recorded zap is.
pub fn contribution_of(zap: &RecordedZap) -> Contribution {
    Contribution {
        receipt_id: zap.receipt_id,
        sender: zap.sender,
        recipient: zap.recipient,
        zapper: zap.zapper,
        amount_msat: zap.amount_msat,
        created_at: zap.created_at.as_secs(),
        event: zap.zapped_event,
        address: zap.zapped_address.clone(),
        keyword: crate::votes::parse_keyword(&zap.content),
        poll_option: zap
            .poll_option
            .as_deref()
            .and_then(crate::votes::parse_poll_option),
        ballot: crate::votes::ballot_in(&zap.content),
        private_zap: zap.private_zap,
    }
}

impl VoteAggregatorActor {
    /// Adds contributions to every proposal's book; writes the vote rows and schedules the
    /// tallies that changed.
    pub(super) fn apply(&mut self, contributions: &[Contribution], ctx: &mut Context<Self>) {
        for pending in self.arriving.values_mut() {
            pending.extend_from_slice(contributions);
        }
        let mut votes = Vec::new();
        let mut changed = Vec::new();
        for (id, tracked) in &mut self.proposals {
            let mut touched = false;
            for contribution in contributions {
                match tracked.book.add(contribution.clone()) {
                    Added::Vote => {
                        votes.push(VoteRow::new(tracked.book.proposal(), contribution));
                        touched = true;
                    }
                    Added::LateVote | Added::Contribution | Added::PrivateZap => touched = true,
                    Added::Ignored | Added::Duplicate => {}
                }
            }
            if touched {
                tracked.dirty = true;
                changed.push(*id);
            }
        }
        self.spec
            .metrics
            .votes_counted
            .inc_by(u64::try_from(votes.len()).unwrap_or(u64::MAX));
        let debounce = self.spec.debounce;
        for id in changed {
            self.schedule(id, ctx, debounce);
        }
        self.write_votes(votes, ctx);
    }

    pub(super) fn write_votes(&mut self, votes: Vec<VoteRow>, ctx: &mut Context<Self>) {
        if votes.is_empty() {
            return;
        }
        let db = self.spec.db.clone();
        ctx.spawn(
            async move { vote_ledger::record_votes(&db, votes).await }
                .into_actor(self)
                .map(|res, _, _| {
                    if let Err(e) = res {
                        // The rows are rebuilt from zap_receipts at the next start.
                        tracing::error!(error = %e, "cannot write vote rows; they are written at the next start");
                    }
                }),
        );
    }
}
