//! Reading what a relay stores ([`Fetch`]): a subscription of the actor's own, its events
//! collected from the notifications the actor already reads, answered at the relay's `EOSE`.
//!
//! nostr-sdk's `fetch_events` would do the same with a reader of its own on the relay's
//! notification channel: every notification on the relay (the live traffic included) copied
//! once more for it while it runs, and each event it returns also forwarded by this actor as a
//! subscription event, so the zap tracker received every backfilled receipt twice and dropped one
//! (BENCHMARKS.md "Backfill at the speed of the cryptography"). Here each event of a read
//! reaches its reader once, in the answer, and is not forwarded to the event sink.
//!
//! A read ends with its answer: the events up to `EOSE`; or an error when the relay closes the
//! subscription (except `auth-required:`, after which nostr-sdk subscribes again once
//! authenticated), when no `EOSE` comes within the read's timeout, when the actor fell behind
//! the relay's notifications (some of the read's events may be missing: the reader reads again),
//! or when the link goes down.

use super::*;

/// The subscription ids of reads start with this; an event under such an id that belongs to no
/// read in progress (it came after the read's `EOSE`, before the relay saw the `CLOSE`) is
/// dropped: what the relay sends live also comes on the live subscriptions.
const READ_PREFIX: &str = "read-";

/// A read in progress.
pub(super) struct PendingRead {
    events: Vec<Event>,
    answer: oneshot::Sender<Result<Vec<Event>, RelayError>>,
    deadline: SpawnHandle,
}

impl Handler<Fetch> for RelayActor {
    type Result = ResponseFuture<Result<Vec<Event>, RelayError>>;

    fn handle(&mut self, msg: Fetch, ctx: &mut Context<Self>) -> Self::Result {
        let url = self.url().to_string();
        let relay = match self.connected_relay() {
            Ok(relay) => relay,
            Err(e) => return Box::pin(async move { Err(e) }),
        };
        self.reads_started += 1;
        let id = SubscriptionId::new(format!("{READ_PREFIX}{}", self.reads_started));
        let (answer, answered) = oneshot::channel();
        let timeout = msg.timeout;
        let deadline = {
            let id = id.clone();
            ctx.run_later(timeout, move |act, ctx| {
                let error = RelayError::Protocol {
                    relay: act.url().to_string(),
                    message: format!("no end of stored events within {timeout:?}"),
                };
                act.end_read(&id, Err(error), ctx);
            })
        };
        self.reads.insert(
            id.clone(),
            PendingRead {
                events: Vec::new(),
                answer,
                deadline,
            },
        );
        // Long-lived in nostr-sdk's eyes (no reader of its own); closed by `end_read`. The
        // notifications are read on this thread, so nothing the relay answers can come before
        // the read is registered above.
        ctx.spawn(
            async move {
                relay
                    .subscribe_with_id(id.clone(), msg.filter, SubscribeOptions::default())
                    .await
                    .map_err(|e| (id, e.to_string()))
            }
            .into_actor(self)
            .map(|sent, act, ctx| {
                if let Err((id, message)) = sent {
                    let error = RelayError::Protocol {
                        relay: act.url().to_string(),
                        message,
                    };
                    act.end_read(&id, Err(error), ctx);
                }
            }),
        );
        Box::pin(async move {
            // The sender goes only with the actor (stopped): the relay is gone.
            answered.await.unwrap_or(Err(RelayError::NotConnected(url)))
        })
    }
}

impl RelayActor {
    /// An `EVENT` under a read's subscription is kept for the read's answer (or dropped, when
    /// the read is over); any other is handed back.
    pub(super) fn read_event(
        &mut self,
        subscription_id: &SubscriptionId,
        event: Event,
    ) -> Option<Event> {
        if !subscription_id.as_str().starts_with(READ_PREFIX) {
            return Some(event);
        }
        if let Some(read) = self.reads.get_mut(subscription_id) {
            read.events.push(event);
        }
        None
    }

    /// The relay's `EOSE` for `subscription_id`: a read's answer.
    pub(super) fn read_complete(
        &mut self,
        subscription_id: &SubscriptionId,
        ctx: &mut Context<Self>,
    ) {
        if let Some(read) = self.reads.get_mut(subscription_id) {
            let events = std::mem::take(&mut read.events);
            self.end_read(subscription_id, Ok(events), ctx);
        }
    }

    /// The relay closed `subscription_id`. `true`: it was a read's (one that is over, closed by
    /// us, needs nothing more).
    pub(super) fn read_closed(
        &mut self,
        subscription_id: &SubscriptionId,
        message: &str,
        ctx: &mut Context<Self>,
    ) -> bool {
        if !subscription_id.as_str().starts_with(READ_PREFIX) {
            return false;
        }
        if !self.reads.contains_key(subscription_id) {
            return true;
        }
        if message.starts_with("auth-required:") {
            // nostr-sdk authenticates and sends the `REQ` again.
            tracing::debug!(relay = %self.spec.url, %subscription_id, "read waits for authentication");
            return true;
        }
        let error = RelayError::Protocol {
            relay: self.url().to_string(),
            message: format!("the relay closed the read: {message}"),
        };
        self.end_read(subscription_id, Err(error), ctx);
        true
    }

    /// Answers a read and closes its subscription.
    pub(super) fn end_read(
        &mut self,
        subscription_id: &SubscriptionId,
        result: Result<Vec<Event>, RelayError>,
        ctx: &mut Context<Self>,
    ) {
        let Some(read) = self.reads.remove(subscription_id) else {
            return;
        };
        ctx.cancel_future(read.deadline);
        let _ = read.answer.send(result);
        if let Some(relay) = self.relay.clone() {
            let id = subscription_id.clone();
            ctx.spawn(
                async move {
                    let _ = relay.unsubscribe(&id).await;
                }
                .into_actor(self),
            );
        }
    }

    /// Every read in progress fails with `error` (the link went down, or notifications were
    /// missed).
    pub(super) fn fail_reads(&mut self, error: &RelayError, ctx: &mut Context<Self>) {
        let ids: Vec<SubscriptionId> = self.reads.keys().cloned().collect();
        for id in ids {
            self.end_read(&id, Err(error.clone()), ctx);
        }
    }
}
