//! Receipts an earlier version rejected for what is now only a check (DESIGN.md "Zaps
//! accepted": rules 4 and 7 flag an anomaly) are judged again by today's rules, once every
//! bot's LNURL provider key is known: at start, or when the last key is resolved. Those that
//! count now are recorded (with their anomalies) and told to the vote aggregator like any new
//! receipt; the relays' cursors are past them, so they would never be read again otherwise.

use super::*;

impl ZapTrackerActor {
    /// Judges the kept rejections of [`zap_ledger::REASONS_NOW_CHECKS`] again (see the module
    /// doc). Does nothing while a provider key is pending, or when it already ran.
    pub(super) fn rejudge_old_rejections(&mut self, ctx: &mut Context<Self>) {
        if self.rejudged || self.recipients.known_zappers().is_none() {
            return;
        }
        self.rejudged = true;
        let db = self.spec.db.clone();
        let recipients = self.recipients.snapshot();
        let work = async move {
            let incoming = zap_ledger::load_rejudgeable(&db).await?;
            if incoming.is_empty() {
                return Ok(LedgerOutcome::default());
            }
            let judgement = actix_rt::task::spawn_blocking(move || {
                zap_ledger::judge(incoming, recipients.as_ref())
            })
            .await
            .map_err(|e| sea_orm::DbErr::Custom(format!("judging again: {e}")))?;
            zap_ledger::record_rejudged(&db, judgement.judged, Timestamp::now()).await
        };
        ctx.spawn(work.into_actor(self).map(|result, act, _ctx| match result {
            Ok(outcome) => {
                if !outcome.recorded.is_empty() {
                    tracing::info!(
                        receipts = outcome.recorded.len(),
                        "zap receipts rejected by an earlier version count now (their failures are only checks)"
                    );
                }
                act.committed(outcome, &[]);
            }
            Err(error) => {
                // Tried again at the next start.
                act.spec.metrics.database_error("zap_rejudge");
                tracing::error!(%error, "cannot judge earlier rejections again; trying at the next start");
            }
        }));
    }
}
