//! The reveal at a proposal's close (DESIGN.md "Sealed ballots", *Reveal* and *Opening*): the
//! gov bot publishes its ballot secret; when its key is the only one pinned, the book opens the
//! sealed ballots with it and the final tally that follows is the opened one; otherwise the
//! sealed ballots wait for the independent holders' secrets (`holder_secrets`).
//!
//! Only the publishing server (the tally lease holder) reveals, only once `now > end`, and the
//! secret is checked against the key the proposal pinned before it opens anything. The secret
//! itself comes back from the event the gov bot just published (the aggregator never derives
//! it), and is neither logged nor stored beyond that event.

use super::*;
use crate::actors::bot::RevealBallotSecret;
use crate::actors::supervision::ToChild;
use crate::nostr::ballot_secret::parse_ballot_secret;
use crate::votes::{is_valid_secret, BallotKey};

impl VoteAggregatorActor {
    /// Has the gov bot reveal its ballot secret for `id`, opens the ballots, and publishes
    /// again. Marks the reveal done at once when there is nothing for the gov bot to reveal.
    pub(super) fn reveal(&mut self, id: EventId, ctx: &mut Context<Self>) {
        let Some(tracked) = self.proposals.get_mut(&id) else {
            return;
        };
        if tracked.reveal == Reveal::Revealing {
            return;
        }
        let proposal = tracked.stored.proposal.clone();
        let coordinate = match events::parse_address(&proposal.address) {
            Ok(coordinate) => coordinate,
            Err(e) => {
                tracing::error!(proposal = %id, error = %e, "proposal address unreadable; its sealed ballots stay sealed");
                tracked.reveal = Reveal::Done;
                self.publish(id, ctx);
                return;
            }
        };
        // The gov bot signs the proposal: it reveals only a key pinned as its own.
        let gov_holds_a_key = proposal.rules.sealed.as_ref().is_some_and(|sealed| {
            sealed
                .holders
                .iter()
                .any(|h| h.holder == coordinate.public_key)
        });
        if !gov_holds_a_key || tracked.book.has_secrets() {
            tracked.reveal = Reveal::Done;
            if !tracked.book.has_secrets() {
                self.await_holders(ctx); // the keys are all independent holders'
            }
            self.publish(id, ctx);
            return;
        }
        tracked.reveal = Reveal::Revealing;
        let msg = RevealBallotSecret {
            proposal: id,
            proposal_d: coordinate.identifier.clone(),
            at: Timestamp::from_secs(proposal.window_end),
        };
        let bots = self.spec.bots.clone();
        let gov = self.spec.gov_bot.clone();
        ctx.spawn(
            async move {
                bots.send(ToChild { name: gov, msg })
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())
            }
            .into_actor(self)
            .map(move |res, act, ctx| {
                let Some(tracked) = act.proposals.get_mut(&id) else {
                    return;
                };
                let published = match res {
                    Ok(published) => published,
                    Err(e) => {
                        tracing::error!(proposal = %id, error = %e, "cannot reveal the ballot secret; retrying");
                        tracked.reveal = Reveal::Pending;
                        tracked.dirty = true;
                        let delay = RETRY_AFTER.max(act.spec.debounce);
                        act.schedule(id, ctx, delay);
                        return;
                    }
                };
                tracked.reveal = Reveal::Done;
                let revealed = (*published.event).clone();
                let valid = parse_ballot_secret(&revealed)
                    .is_ok_and(|r| is_valid_secret(&r.secret, &r.key) && keys_of(tracked).contains(&r.key));
                if !valid {
                    tracing::error!(
                        proposal = %id,
                        "the gov bot's ballot secret is not the key the proposal pinned (was the gov key changed?); its sealed ballots stay sealed"
                    );
                }
                act.take_secrets(id, [revealed]);
                if let Some(tracked) = act.proposals.get_mut(&id) {
                    if tracked.book.has_secrets() {
                        tracing::info!(proposal = %id, event_id = %published.event_id, "ballot secret revealed; sealed ballots opened");
                    } else if valid {
                        tracing::info!(
                            proposal = %id,
                            event_id = %published.event_id,
                            holders = keys_of(tracked).len().saturating_sub(1),
                            "ballot secret revealed; the sealed ballots wait for the independent holders' secrets"
                        );
                        act.await_holders(ctx);
                    }
                }
                let Some(tracked) = act.proposals.get_mut(&id) else {
                    return;
                };
                tracked.dirty = true;
                act.publish(id, ctx);
            }),
        );
    }
}

/// The ballot keys `tracked` pinned, in holder order.
fn keys_of(tracked: &Tracked) -> Vec<BallotKey> {
    tracked.stored.proposal.ballot_keys()
}
