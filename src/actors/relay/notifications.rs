//! A relay's notifications as the actor reads them: `OK` answers to its waiters, every `EVENT`
//! to the subscriber, link status, and word that it fell behind.

use super::*;

/// A relay notification, or word that some (this many) were dropped because we fell behind.
pub(super) type Notice = Result<RelayNotification, u64>;

pub(super) fn notices(
    rx: broadcast::Receiver<RelayNotification>,
) -> impl futures::Stream<Item = Notice> {
    futures::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(n) => Some((Ok(n), rx)),
            Err(broadcast::error::RecvError::Lagged(k)) => Some((Err(k), rx)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    })
}

impl StreamHandler<Notice> for RelayActor {
    fn handle(&mut self, notice: Notice, ctx: &mut Context<Self>) {
        match notice {
            Ok(RelayNotification::Message {
                message:
                    RelayMessage::Ok {
                        event_id,
                        status,
                        message,
                    },
            }) => {
                if let Some(waiter) = self.waiting_ok.remove(&event_id) {
                    let _ = waiter.send((status, message.into_owned()));
                }
            }
            // Every `EVENT` this relay sent, *not* verified by nostr-sdk (the subscriber checks
            // what it takes: `relay_options`), repeats included: the
            // `Event` notification would be sent only for ids new to the client, which is
            // shared by all relays, so another relay's copy would never be seen here.
            Ok(RelayNotification::Message {
                message:
                    RelayMessage::Event {
                        subscription_id,
                        event,
                    },
            }) => {
                // A read's (`fetch`) goes to its answer only.
                let Some(event) = self.read_event(&subscription_id, event.into_owned()) else {
                    return;
                };
                if let Some(sink) = &self.spec.event_sink {
                    sink.do_send(Broadcast(RelayEvent {
                        relay: self.spec.url.clone(),
                        subscription_id: subscription_id.into_owned(),
                        event: Arc::new(event),
                    }));
                }
            }
            Ok(RelayNotification::Message {
                message:
                    RelayMessage::Closed {
                        subscription_id,
                        message,
                    },
            }) => {
                if !self.read_closed(&subscription_id, &message, ctx) {
                    tracing::warn!(relay = %self.spec.url, %subscription_id, %message, "relay closed a subscription");
                }
            }
            Ok(RelayNotification::Message {
                message: RelayMessage::EndOfStoredEvents(subscription_id),
            }) => self.read_complete(&subscription_id, ctx),
            Ok(RelayNotification::RelayStatus { status }) => match status {
                RelayStatus::Connected => self.link_up(ctx),
                RelayStatus::Disconnected | RelayStatus::Terminated | RelayStatus::Banned
                    if self.state == LinkState::Connected =>
                {
                    self.link_down(ctx, "connection closed");
                }
                _ => {}
            },
            Ok(RelayNotification::Authenticated) => {
                tracing::info!(relay = %self.spec.url, "authenticated (NIP-42)");
                // Deliveries refused with auth-required can go now.
                self.drain_again = true;
                self.after_answer(ctx);
            }
            Ok(RelayNotification::AuthenticationFailed) => {
                tracing::warn!(relay = %self.spec.url, "NIP-42 authentication failed");
            }
            Ok(_) => {}
            Err(missed) => {
                tracing::warn!(relay = %self.spec.url, missed, "fell behind the relay; asking subscribers to resync");
                // What the reads in progress missed is gone from their answers: they fail, and
                // their readers read again.
                let error = RelayError::Protocol {
                    relay: self.url().to_string(),
                    message: format!("missed {missed} notifications during a read"),
                };
                self.fail_reads(&error, ctx);
                self.tell_listeners(true);
            }
        }
    }

    fn finished(&mut self, ctx: &mut Context<Self>) {
        // The client's notification channel closed: only a fresh actor can recover.
        tracing::error!(relay = %self.spec.url, "relay notifications ended");
        ctx.stop();
    }
}
