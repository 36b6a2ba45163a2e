//! The independent holders' ballot secrets (DESIGN.md "Sealed ballots", *Independent holders*,
//! *Reveal* and *Opening*): after a proposal's close, and once the gov bot has revealed its
//! own, the aggregator reads the holders' ballot secret events from the relays until every
//! pinned key has a valid one, then opens the ballots and publishes.
//!
//! Every server reads them (not only the publishing one), so a server that takes the tally
//! lease over has its books opened already. The reads are one-shot ([`fetch_once`]) and ask
//! for the ballot secrets of every waiting proposal at once, from their pinned holders only;
//! the first comes [`FIRST_READ`] after a close, the wait doubling up to [`SOON_WAIT`] in the
//! hour after a close and to [`LONGEST_WAIT`] later (a holder who never reveals costs one small
//! read a minute, and its proposal stays unopened: it can keep it from passing, never make it
//! pass).
//!
//! What counts is decided by [`read_reveal`], as `verify` decides it: a secret signed by
//! another key, naming another key, not matching its pinned key or dated before the close
//! opens nothing; a pinned holder's bad secret is logged once as a warning, naming the event
//! (never the secret). Valid secret events are kept in memory only, with the proposal.

use std::collections::HashSet;

use nostr_sdk::Event;

use super::*;
use crate::nostr::relay_read::fetch_once;
use crate::votes::sealed::{pinned_secrets_filter, read_reveal};
use crate::votes::BallotKey;

/// The first read after a close (and after each new reveal of the gov bot).
pub(super) const FIRST_READ: Duration = Duration::from_secs(2);

/// The longest wait between two reads in the first hour after a close still waiting for a
/// holder (one who was down at the close is read soon after it is back).
pub(super) const SOON_WAIT: Duration = Duration::from_secs(15);

/// The longest wait between two reads later on (a holder who never reveals costs one small
/// read a minute).
pub(super) const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// How long after a close the reads stay frequent.
const SOON_AFTER_CLOSE: u64 = 3_600;

/// How long one read waits for the relays.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Where each pinned ballot key of a proposal stands, for `GET /v1/proposals` and the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BallotKeyState {
    /// The holder's public key (hex).
    pub holder: String,
    /// The X25519 public key (hex).
    pub key: String,
    /// `pending` (before the close), `revealed` (its valid secret is known) or `waiting`.
    pub state: &'static str,
}

/// What a proposal's reveal looks like to this server.
#[derive(Debug, Default)]
pub(super) struct HolderSecrets {
    /// The valid ballot secret events known (the gov bot's, the holders' from the relays).
    events: Vec<Event>,
    /// The keys they reveal, in holder order.
    pub(super) revealed: Vec<BallotKey>,
    /// Problems already logged (a bad secret is read at every poll, reported once).
    logged: HashSet<String>,
}

impl HolderSecrets {
    /// Each pinned key of `proposal` and where it stands at `now`.
    pub(super) fn key_states(
        &self,
        proposal: &Proposal,
        opened: bool,
        now: u64,
    ) -> Vec<BallotKeyState> {
        let Some(sealed) = proposal.rules.sealed.as_ref() else {
            return Vec::new();
        };
        sealed
            .holders
            .iter()
            .map(|h| BallotKeyState {
                holder: h.holder.to_hex(),
                key: h.key.to_hex(),
                state: if now <= proposal.window_end {
                    "pending"
                } else if opened || self.revealed.contains(&h.key) {
                    "revealed"
                } else {
                    "waiting"
                },
            })
            .collect()
    }
}

impl VoteAggregatorActor {
    /// Takes `events` (ballot secret events of `id`, from the gov bot or the relays) into what
    /// the proposal's reveal knows, and opens its book once every pinned key has a valid
    /// secret. True when the keys revealed or the book changed.
    pub(super) fn take_secrets(
        &mut self,
        id: EventId,
        events: impl IntoIterator<Item = Event>,
    ) -> bool {
        let Some(tracked) = self.proposals.get_mut(&id) else {
            return false;
        };
        let secrets = &mut tracked.secrets;
        for event in events {
            if !secrets.events.iter().any(|known| known.id == event.id) {
                secrets.events.push(event);
            }
        }
        let reveal = read_reveal(&tracked.stored.proposal, &secrets.events);
        for problem in reveal.problems {
            if secrets.logged.insert(problem.clone()) {
                tracing::warn!(proposal = %id, "{problem}: ignored");
            }
        }
        secrets.events.retain(|e| reveal.revealed.contains(&e.id));
        let changed = secrets.revealed != reveal.revealed_keys;
        if changed {
            tracing::info!(
                proposal = %id,
                revealed = reveal.revealed_keys.len(),
                keys = tracked.stored.proposal.ballot_keys().len(),
                "ballot secrets revealed"
            );
        }
        secrets.revealed = reveal.revealed_keys;
        match reveal.opening {
            Some(opening) if !tracked.book.has_secrets() => {
                tracked.book.open_with(opening);
                tracing::info!(proposal = %id, "every ballot key revealed; sealed ballots opened");
                true
            }
            _ => changed,
        }
    }

    /// Proposals closed, revealed by the gov bot (or with nothing for it to reveal) and still
    /// missing a holder's secret.
    fn awaiting_holders(&self, now: u64) -> Vec<EventId> {
        self.proposals
            .iter()
            .filter(|(_, t)| {
                t.reveal == Reveal::Done
                    && now > t.stored.proposal.window_end
                    && t.stored.proposal.has_sealed_ballots()
                    && !t.book.has_secrets()
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Reads the holders' secrets soon (a proposal just started waiting for them): the next
    /// read comes within [`FIRST_READ`], and the back-off starts again.
    pub(super) fn await_holders(&mut self, ctx: &mut Context<Self>) {
        self.secret_wait = FIRST_READ;
        if let Some(timer) = self.secret_read.take() {
            ctx.cancel_future(timer);
        }
        if !self.secret_reading {
            self.secret_read =
                Some(ctx.run_later(FIRST_READ, |act, ctx| act.read_holder_secrets(ctx)));
        }
    }

    /// One read of every waiting proposal's holders' secrets; the next is planned after it.
    fn read_holder_secrets(&mut self, ctx: &mut Context<Self>) {
        self.secret_read = None;
        let waiting = self.awaiting_holders(unix_now());
        if waiting.is_empty() || self.spec.relays.is_empty() {
            return;
        }
        let proposals: Vec<Proposal> = waiting
            .iter()
            .filter_map(|id| self.proposals.get(id))
            .map(|t| t.stored.proposal.clone())
            .collect();
        let Some(filter) = pinned_secrets_filter(proposals.iter()) else {
            return;
        };
        self.secret_reading = true;
        let relays = self.spec.relays.clone();
        ctx.spawn(
            async move { fetch_once(&relays, filter, READ_TIMEOUT).await }
                .into_actor(self)
                .map(move |res, act, ctx| {
                    act.secret_reading = false;
                    match res {
                        Ok(events) => {
                            for id in waiting {
                                let d = events::d::ballot_secret(&id);
                                let mine = events
                                    .iter()
                                    .filter(|e| e.tags.identifier() == Some(d.as_str()))
                                    .cloned();
                                if act.take_secrets(id, mine) {
                                    if let Some(tracked) = act.proposals.get_mut(&id) {
                                        tracked.dirty = true;
                                    }
                                    act.publish(id, ctx);
                                }
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot read the ballot key holders' secrets; trying again")
                        }
                    }
                    let now = unix_now();
                    let still = act.awaiting_holders(now);
                    if still.is_empty() {
                        return;
                    }
                    let recent = still.iter().filter_map(|id| act.proposals.get(id)).any(|t| {
                        now.saturating_sub(t.stored.proposal.window_end) < SOON_AFTER_CLOSE
                    });
                    let wait = act.secret_wait;
                    let longest = if recent { SOON_WAIT } else { LONGEST_WAIT };
                    act.secret_wait = (wait * 2).min(longest);
                    if act.secret_read.is_none() {
                        act.secret_read =
                            Some(ctx.run_later(wait, |act, ctx| act.read_holder_secrets(ctx)));
                    }
                }),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::votes::testing::sealed_proposal;

    #[test]
    fn a_key_is_pending_until_the_close_then_revealed_or_waiting() {
        let proposal = sealed_proposal();
        let end = proposal.window_end;
        let key = proposal.ballot_keys()[0];
        let mut secrets = HolderSecrets::default();
        let states = |s: &HolderSecrets, opened, now| -> Vec<&'static str> {
            s.key_states(&proposal, opened, now)
                .iter()
                .map(|k| k.state)
                .collect()
        };
        assert_eq!(states(&secrets, false, end), ["pending"]);
        assert_eq!(states(&secrets, false, end + 1), ["waiting"]);
        assert_eq!(states(&secrets, true, end + 1), ["revealed"]);
        secrets.revealed.push(key);
        assert_eq!(states(&secrets, false, end + 1), ["revealed"]);
        let listed = secrets.key_states(&proposal, false, end + 1);
        assert_eq!(listed[0].key, key.to_hex());
        assert_eq!(
            listed[0].holder,
            proposal.rules.sealed.as_ref().expect("sealed").holders[0]
                .holder
                .to_hex()
        );
    }
}
