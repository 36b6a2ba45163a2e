//! Delivering outbox entries: a page of pending entries at a time, many waiting for their `OK`
//! at once, each outcome recorded, retries backed off while they keep failing.

use super::*;

impl RelayActor {
    /// Sends every pending outbox entry for this relay, a page at a time.
    pub(super) fn drain(&mut self, ctx: &mut Context<Self>) {
        if self.state != LinkState::Connected {
            return;
        }
        if self.draining || !self.in_flight.is_empty() {
            self.drain_again = true;
            return;
        }
        self.draining = true;
        self.drain_again = false;
        let db = self.spec.db.clone();
        let url = self.url().to_string();
        let lease = self.spec.lease.clone();
        ctx.spawn(
            async move { outbox::claim_pending(&db, &url, &lease, DRAIN_PAGE).await }
                .into_actor(self)
                .map(|res, act, ctx| {
                    act.draining = false;
                    match res {
                        Ok(entries) => {
                            if entries.len() as u64 == DRAIN_PAGE {
                                act.drain_again = true;
                            }
                            for entry in entries {
                                act.send_entry(entry, ctx);
                            }
                            act.after_answer(ctx);
                        }
                        Err(e) => {
                            act.spec.metrics.database_error("outbox_drain");
                            tracing::error!(relay = %act.spec.url, error = %e, "cannot read the outbox; retrying");
                            act.schedule_retry(ctx);
                        }
                    }
                }),
        );
    }

    pub(super) fn send_entry(&mut self, entry: OutboxEntry, ctx: &mut Context<Self>) {
        if self.state != LinkState::Connected || !self.in_flight.insert(entry.id) {
            return;
        }
        let Some(relay) = self.relay.as_ref() else {
            return;
        };
        let (tx, rx) = oneshot::channel();
        let event_id = entry.event.id;
        self.waiting_ok.insert(event_id, tx);
        let sent = relay.send_msg(ClientMessage::Event(Cow::Borrowed(&entry.event)));
        let timeout = self.spec.publish_timeout;
        let answer = async move {
            if let Err(e) = sent {
                return DeliveryOutcome::Failed(e.to_string());
            }
            match tokio::time::timeout(timeout, rx).await {
                Ok(Ok((accepted, message))) => DeliveryOutcome::from_ok(accepted, &message),
                Ok(Err(_)) => DeliveryOutcome::Failed("disconnected before OK".into()),
                Err(_) => DeliveryOutcome::Failed(format!("no OK within {}s", timeout.as_secs())),
            }
        };
        ctx.spawn(answer.into_actor(self).map(move |outcome, act, ctx| {
            act.waiting_ok.remove(&event_id);
            act.record(entry.id, outcome, ctx);
        }));
    }

    pub(super) fn record(
        &mut self,
        outbox_id: i64,
        outcome: DeliveryOutcome,
        ctx: &mut Context<Self>,
    ) {
        self.spec.metrics.published(self.url(), outcome.label());
        match &outcome {
            DeliveryOutcome::Failed(reason) => {
                tracing::debug!(relay = %self.spec.url, outbox_id, reason, "delivery not acknowledged");
                self.publish_failures_in_row = self.publish_failures_in_row.saturating_add(1);
            }
            DeliveryOutcome::Refused(reason) => {
                tracing::warn!(relay = %self.spec.url, outbox_id, reason, "relay refused an event");
                self.publish_failures_in_row = 0;
            }
            DeliveryOutcome::Accepted | DeliveryOutcome::Duplicate => {
                self.publish_failures_in_row = 0;
                self.last_success = Some(chrono::Utc::now().timestamp());
            }
        }
        let db = self.spec.db.clone();
        let url = self.url().to_string();
        let is_final = outcome.is_final();
        // The row is updated before the id leaves `in_flight`, so a drain cannot pick the
        // entry up again between the answer and its record.
        ctx.spawn(
            // A task of its own (`db::detached`): a server torn down mid-write (killed) drops
            // the write with its runtime, never outside it.
            crate::store::db::detached(async move {
                outbox::record_outcome(&db, outbox_id, &url, &outcome).await
            })
            .into_actor(self)
                .map(move |res, act, ctx| {
                    let recorded = match res {
                        Ok(()) => true,
                        Err(e) => {
                            // The row stays pending: the event is sent again later (a duplicate
                            // to the relay, which is harmless).
                            act.spec.metrics.database_error("delivery_record");
                            tracing::error!(relay = %act.spec.url, outbox_id, error = %e, "cannot record a delivery; it will be sent again");
                            false
                        }
                    };
                    act.in_flight.remove(&outbox_id);
                    if is_final && recorded {
                        act.spec.metrics.outbox_depth.dec();
                    } else {
                        act.schedule_retry(ctx);
                    }
                    act.after_answer(ctx);
                }),
        );
    }

    pub(super) fn after_answer(&mut self, ctx: &mut Context<Self>) {
        if self.in_flight.is_empty() && self.drain_again && self.retry_handle.is_none() {
            self.drain(ctx);
        }
    }

    /// Tries the pending deliveries again later, backing off while they keep failing.
    pub(super) fn schedule_retry(&mut self, ctx: &mut Context<Self>) {
        if self.retry_handle.is_some() {
            return;
        }
        let delay = reconnect_delay(&self.spec.reconnect, self.publish_failures_in_row.max(1));
        self.retry_handle = Some(ctx.run_later(delay, |act, ctx| {
            act.retry_handle = None;
            act.drain_again = true;
            act.after_answer(ctx);
        }));
    }
}
