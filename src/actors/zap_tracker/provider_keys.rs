//! LNURL provider keys: resolving each bot's from its lightning address, holding its
//! receipts pending meanwhile, and narrowing the relays' filters once every key is known.

use super::*;
use crate::actors::backoff;
use crate::configuration::LnurlSettings;

impl ZapTrackerActor {
    pub(super) fn resolve(&mut self, bot: BotZapConfig, ctx: &mut Context<Self>) {
        let endpoint = match bot.endpoint() {
            Ok(url) => url,
            Err(error) => {
                tracing::error!(bot = %bot.name, %error, "cannot look up the bot's LNURL provider key; its zap receipts stay pending");
                return;
            }
        };
        let timeout = Duration::from_millis(self.spec.lnurl.timeout_ms);
        let lookup = async move { lnurl::resolve_zapper(&endpoint, timeout).await };
        ctx.spawn(lookup.into_actor(self).map(move |result, act, ctx| match result {
            Ok(key) => {
                tracing::info!(bot = %bot.name, zapper = %key, "LNURL provider key resolved");
                act.spec.zapper_cache.insert(bot.pubkey, key);
                let was_pending = act.recipients.is_pending(&bot.pubkey);
                act.recipients.set_known(bot.pubkey, key);
                act.resolve_failures.remove(&bot.pubkey);
                act.release_pending(bot.pubkey, ctx);
                if was_pending && act.recipients.known_zappers().is_some() {
                    act.narrow_subscriptions(ctx);
                    act.rejudge_old_rejections(ctx);
                }
            }
            Err(error) => {
                let failures = act.resolve_failures.entry(bot.pubkey).or_default();
                *failures = failures.saturating_add(1);
                let delay = retry_delay(&act.spec.lnurl, *failures);
                let retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                if *failures == 1 {
                    tracing::warn!(bot = %bot.name, %error, retry_in_ms, "cannot resolve the bot's LNURL provider key; its zap receipts stay pending");
                } else {
                    tracing::debug!(bot = %bot.name, %error, retry_in_ms, "LNURL provider key still unresolved");
                }
                ctx.run_later(delay, move |act, ctx| act.resolve(bot, ctx));
            }
        }));
    }

    /// Every provider key is known now: sync every relay again, so the live subscription and
    /// the backfill ask only for receipts from those keys. Read from now (minus the margin):
    /// the wider subscription delivered everything before.
    pub(super) fn narrow_subscriptions(&mut self, ctx: &mut Context<Self>) {
        tracing::info!("every LNURL provider key known: asking relays only for their receipts");
        let now = Timestamp::now();
        let urls: Vec<RelayUrl> = self.relays.keys().cloned().collect();
        for url in urls {
            let Some(state) = self.relays.get_mut(&url) else {
                continue;
            };
            if state.running {
                state.follow_up = Some(state.follow_up.map_or(now, |f| f.min(now)));
            } else if state.up {
                self.start_sync(&url, SyncFrom::Since(now), ctx);
            }
        }
    }

    /// The key of `bot` is known: judge its pending receipts again.
    pub(super) fn release_pending(&mut self, bot: PublicKey, ctx: &mut Context<Self>) {
        let released = self.pending.remove(&bot).unwrap_or_default();
        self.pending_count -= released.len().min(self.pending_count);
        self.set_pending_gauge();
        self.lost_waiting_for.remove(&bot);
        if !released.is_empty() {
            tracing::info!(
                receipts = released.len(),
                "judging pending zap receipts again"
            );
            self.buffer.extend(released);
            self.flush(ctx);
        }
        self.maybe_recover_losses(ctx);
    }
}

/// How long to wait before lookup attempt `failures + 1` ([`backoff::jittered`] with
/// the LNURL settings), so that bots on one provider do not retry in step.
pub(super) fn retry_delay(settings: &LnurlSettings, failures: u32) -> Duration {
    backoff::jittered(settings.retry_initial_ms, settings.retry_max_ms, failures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_follows_the_lnurl_settings() {
        let s = LnurlSettings {
            timeout_ms: 1_000,
            retry_initial_ms: 100,
            retry_max_ms: 1_000,
        };
        for _ in 0..20 {
            assert!((50..=100).contains(&retry_delay(&s, 1).as_millis()));
            assert!((500..=1_000).contains(&retry_delay(&s, 40).as_millis()));
        }
    }
}
