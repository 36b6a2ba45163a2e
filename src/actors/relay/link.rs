//! The link to the relay: connecting through the shared client, noticing it went down,
//! reconnecting with backoff and jitter, and telling the listeners.

use super::*;

impl RelayActor {
    /// Adds a fresh relay to the shared client and connects it. The relay (and its
    /// notification channel) stays in the client only while connected: a failed attempt or a
    /// lost link removes it again ([`Self::link_down`]), so a relay that is down holds nothing.
    pub(super) fn connect(&mut self, ctx: &mut Context<Self>) {
        self.reconnect_handle = None;
        if self.state == LinkState::Connected {
            return;
        }
        self.set_state(LinkState::Connecting);
        let client = self.spec.client.clone();
        let url = self.spec.url.clone();
        let timeout = Duration::from_millis(self.spec.reconnect.connect_timeout_ms);
        let attempt = async move {
            let pool = client.pool();
            // What an earlier incarnation of this actor left (disconnected when it stopped)
            // makes way; the first time there is nothing to remove ("relay not found").
            let _ = pool.force_remove_relay(url.clone()).await;
            let relay = match pool.add_relay(url.clone(), relay_options()).await {
                Ok(_) => client.relay(&url).await.map_err(|e| e.to_string())?,
                Err(e) => return Err(e.to_string()),
            };
            // Taken before connecting, so nothing the relay sends first is missed.
            let notifications = relay.notifications();
            match relay.try_connect(timeout).await {
                Ok(()) => Ok((relay, notifications)),
                Err(e) => {
                    let _ = pool.force_remove_relay(url).await;
                    Err(e.to_string())
                }
            }
        };
        ctx.spawn(attempt.into_actor(self).map(|res, act, ctx| match res {
            Ok((relay, notifications)) => {
                act.notices = Some(ctx.add_stream(notices(notifications)));
                act.relay = Some(relay);
                act.link_up(ctx);
            }
            Err(reason) => act.link_down(ctx, &reason),
        }));
    }

    pub(super) fn link_up(&mut self, ctx: &mut Context<Self>) {
        if self.state == LinkState::Connected {
            return;
        }
        tracing::debug!(relay = %self.spec.url, "relay connected");
        self.set_state(LinkState::Connected);
        self.consecutive_failures = 0;
        self.publish_failures_in_row = 0;
        self.last_success = Some(chrono::Utc::now().timestamp());
        if let Some(handle) = self.retry_handle.take() {
            ctx.cancel_future(handle);
        }
        self.tell_listeners(true);
        self.drain(ctx);
    }

    pub(super) fn link_down(&mut self, ctx: &mut Context<Self>, reason: &str) {
        if self.reconnect_handle.is_some() {
            return; // already waiting to reconnect
        }
        let was_up = self.state == LinkState::Connected;
        self.release_relay(ctx);
        // After the release: nothing is sent on the dead link to close them.
        self.fail_reads(&RelayError::NotConnected(self.url().to_string()), ctx);
        self.set_state(LinkState::Disconnected);
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        // Waiters for OKs on the dead link fail now; their deliveries stay pending.
        self.waiting_ok.clear();
        if was_up {
            tracing::warn!(relay = %self.spec.url, reason, "relay disconnected");
            self.tell_listeners(false);
        }
        let delay = reconnect_delay(&self.spec.reconnect, self.consecutive_failures);
        tracing::debug!(
            relay = %self.spec.url,
            reason,
            failures = self.consecutive_failures,
            retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "relay unreachable; will retry"
        );
        self.spec
            .metrics
            .relay_reconnects
            .get_or_create(&crate::metrics::RelayLabels {
                relay: self.url().to_string(),
            })
            .inc();
        self.reconnect_handle = Some(ctx.run_later(delay, |act, ctx| act.connect(ctx)));
    }

    /// Drops this actor's relay from the shared client, with its notification channel (4,096
    /// slots, about 1 MB): what is left in it belongs to the link that just went down. The
    /// actor waits for the removal, so the next attempt's relay cannot be the one removed.
    pub(super) fn release_relay(&mut self, ctx: &mut Context<Self>) {
        if let Some(handle) = self.notices.take() {
            ctx.cancel_future(handle);
        }
        if self.relay.take().is_some() {
            let client = self.spec.client.clone();
            let url = self.spec.url.clone();
            ctx.wait(
                async move {
                    let _ = client.pool().force_remove_relay(url).await;
                }
                .into_actor(self),
            );
        }
    }

    pub(super) fn tell_listeners(&self, up: bool) {
        for listener in &self.spec.link_listeners {
            listener.do_send(Broadcast(RelayLinkChanged {
                relay: self.spec.url.clone(),
                up,
            }));
        }
    }
}

/// How long a relay actor waits before connecting again after `failures` failures in a row
/// ([`crate::actors::backoff::jittered`] with the relay settings).
pub fn reconnect_delay(settings: &ReconnectSettings, failures: u32) -> Duration {
    crate::actors::backoff::jittered(
        settings.initial_backoff_ms,
        settings.max_backoff_ms,
        failures,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_delay_follows_the_relay_settings() {
        let s = ReconnectSettings {
            initial_backoff_ms: 100,
            max_backoff_ms: 1_000,
            connect_timeout_ms: 5,
        };
        for _ in 0..20 {
            assert!((50..=100).contains(&reconnect_delay(&s, 1).as_millis()));
            assert!((500..=1_000).contains(&reconnect_delay(&s, 30).as_millis()));
        }
    }
}
