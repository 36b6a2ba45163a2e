//! A proposal's reveal as the relays show it (DESIGN.md "Sealed ballots", *Reveal* and
//! *Opening*): which of its ballot secret events count, and whether they open its ballots.
//!
//! A ballot secret event (kind 30078, `d` = `ballot-secret:<proposal id>`) counts only when it
//! is signed by a holder the proposal pinned, names that holder's pinned key, carries that
//! key's private key (`X25519(secret, 9) = key`) and was created at or after the close. A
//! pinned holder's event that fails one of these is a *problem*, named (a holder who published
//! a wrong or an early secret: it opens nothing); an event by anyone else is a *note* (anyone
//! may write under any `d` of their own). With a valid secret for every pinned key the ballots
//! open ([`BallotOpening`]); until then they stay sealed.
//!
//! The service ([`crate::actors::vote_aggregator`]) and `verify` read reveals with the same
//! [`read_reveal`], so both open the same ballots from the same events.

use nostr_sdk::{Event, EventId, Filter};

use super::ballot_key::is_valid_secret;
use super::opening::BallotOpening;
use crate::nostr::ballot_keys::BallotKey;
use crate::nostr::ballot_secret::parse_ballot_secret;
use crate::nostr::events;
use crate::votes::Proposal;

/// What to ask relays for the ballot secrets of `proposals` (those that pin ballot keys), from
/// any author. `None` when no proposal pins keys.
pub fn secrets_filter<'a>(proposals: impl IntoIterator<Item = &'a Proposal>) -> Option<Filter> {
    let ds: Vec<String> = proposals
        .into_iter()
        .filter(|p| p.has_sealed_ballots())
        .map(|p| events::d::ballot_secret(&p.id))
        .collect();
    if ds.is_empty() {
        return None;
    }
    Some(
        Filter::new()
            .kind(events::kind::BALLOT_SECRET)
            .identifiers(ds),
    )
}

/// [`secrets_filter`] narrowed to the holders the proposals pinned: what the service reads
/// (nobody else's event can count, so it need not be fetched).
pub fn pinned_secrets_filter<'a>(
    proposals: impl IntoIterator<Item = &'a Proposal> + Clone,
) -> Option<Filter> {
    let holders = proposals
        .clone()
        .into_iter()
        .filter_map(|p| p.rules.sealed.as_ref())
        .flat_map(|sealed| sealed.holders.iter().map(|h| h.holder));
    Some(secrets_filter(proposals)?.authors(holders))
}

/// A proposal's reveal as the events given show it.
#[derive(Debug, Clone, Default)]
pub struct BallotReveal {
    /// The opening, when every pinned key has a valid secret revealed after the close.
    pub opening: Option<BallotOpening>,
    /// The valid ballot secret events, one per revealed key.
    pub revealed: Vec<EventId>,
    /// The pinned keys with a valid secret among the events, in holder order.
    pub revealed_keys: Vec<BallotKey>,
    /// A pinned holder's ballot secret that does not hold, named (with its event id first,
    /// as `ballot secret <id> ...`). Never holds the secret itself.
    pub problems: Vec<String>,
    /// Ballot secret events of authors who hold no key of the proposal: ignored.
    pub notes: Vec<String>,
}

/// The reveal of `proposal` from `candidates` (any events; those that are not its ballot
/// secrets are skipped; the same event given twice counts once).
pub fn read_reveal(proposal: &Proposal, candidates: &[Event]) -> BallotReveal {
    let mut out = BallotReveal::default();
    let Some(sealed) = proposal.rules.sealed.as_ref() else {
        return out;
    };
    let d = events::d::ballot_secret(&proposal.id);
    let mut secrets = Vec::new();
    let mut seen: Vec<EventId> = Vec::new();
    for event in candidates {
        if event.kind != events::kind::BALLOT_SECRET
            || event.tags.identifier() != Some(&d)
            || seen.contains(&event.id)
        {
            continue;
        }
        seen.push(event.id);
        let Some(holder) = sealed.holders.iter().find(|h| h.holder == event.pubkey) else {
            out.notes.push(format!(
                "ballot secret {} of proposal {} is signed by {}, who holds none of its keys: ignored",
                event.id, proposal.id, event.pubkey
            ));
            continue;
        };
        let named = format!(
            "ballot secret {} of proposal {} from holder {}",
            event.id, proposal.id, event.pubkey
        );
        if event.verify().is_err() {
            out.problems
                .push(format!("{named}: the signature does not verify"));
            continue;
        }
        let parsed = match parse_ballot_secret(event) {
            Ok(parsed) => parsed,
            Err(e) => {
                out.problems.push(format!("{named}: malformed: {e}"));
                continue;
            }
        };
        if parsed.key != holder.key {
            out.problems.push(format!(
                "{named}: names key {}, but the proposal pinned {} for this holder",
                parsed.key, holder.key
            ));
            continue;
        }
        if !is_valid_secret(&parsed.secret, &holder.key) {
            out.problems.push(format!(
                "{named}: the secret does not match the pinned key {} (X25519(secret, 9) differs)",
                holder.key
            ));
            continue;
        }
        if event.created_at.as_secs() < proposal.window_end {
            out.problems.push(format!(
                "{named}: published at {}, before the close {}: the ballots were readable early",
                event.created_at.as_secs(),
                proposal.window_end
            ));
            continue;
        }
        if out.revealed_keys.contains(&holder.key) {
            continue; // the same key revealed again (another valid event): once is enough
        }
        out.revealed.push(event.id);
        out.revealed_keys.push(holder.key);
        secrets.push(parsed.secret);
    }
    let keys = sealed.keys();
    out.revealed_keys
        .sort_by_key(|key| keys.iter().position(|k| k == key));
    out.opening = BallotOpening::for_keys(&keys, secrets.iter());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nostr::ballot_keys::{BallotHolder, SealedRules};
    use crate::nostr::ballot_secret::ballot_secret;
    use crate::votes::testing::sealed_proposal;
    use crate::votes::{derive_gov_ballot_secret, BallotSecret};
    use nostr_sdk::{EventBuilder, Keys, Timestamp};

    /// A sealed proposal whose one holder is `gov`, pinning `secret`'s key.
    fn proposal_held_by(gov: &Keys, secret: &BallotSecret) -> Proposal {
        let mut p = sealed_proposal();
        p.rules.sealed = Some(SealedRules::new(vec![BallotHolder {
            holder: gov.public_key(),
            key: BallotKey::from_secret(secret),
        }]));
        p
    }

    fn secret_event(
        signer: &Keys,
        p: &Proposal,
        key: &BallotKey,
        secret: &BallotSecret,
        at: u64,
    ) -> Event {
        ballot_secret(p.id, key, secret)
            .custom_created_at(Timestamp::from_secs(at))
            .sign_with_keys(signer)
            .expect("signed")
    }

    #[test]
    fn only_the_pinned_holders_valid_secret_after_the_close_opens() {
        let gov = Keys::generate();
        let secret = derive_gov_ballot_secret(gov.secret_key(), "action:o/r:1:review-period");
        let key = BallotKey::from_secret(&secret);
        let p = proposal_held_by(&gov, &secret);
        let end = p.window_end;

        let good = secret_event(&gov, &p, &key, &secret, end);
        let r = read_reveal(&p, std::slice::from_ref(&good));
        assert!(
            r.opening.is_some() && r.problems.is_empty(),
            "{:?}",
            r.problems
        );
        assert_eq!(r.revealed, vec![good.id]);

        // A wrong secret from the holder: named, and nothing opens.
        let wrong = BallotSecret::from_bytes([7; 32]);
        let lie = secret_event(&gov, &p, &key, &wrong, end + 1);
        let r = read_reveal(&p, std::slice::from_ref(&lie));
        assert!(r.opening.is_none());
        assert!(
            r.problems.len() == 1
                && r.problems[0].contains(&lie.id.to_hex())
                && r.problems[0].contains("does not match the pinned key"),
            "{:?}",
            r.problems
        );

        // The right secret before the close: named, not used.
        let early = secret_event(&gov, &p, &key, &secret, end - 1);
        let r = read_reveal(&p, std::slice::from_ref(&early));
        assert!(r.opening.is_none());
        assert!(
            r.problems[0].contains("before the close"),
            "{:?}",
            r.problems
        );

        // Anyone else's event under the same d: a note, ignored; the holder's still opens.
        let stranger = secret_event(&Keys::generate(), &p, &key, &wrong, end);
        let r = read_reveal(&p, &[stranger.clone(), good.clone()]);
        assert!(r.opening.is_some() && r.problems.is_empty());
        assert!(r.notes[0].contains(&stranger.id.to_hex()), "{:?}", r.notes);

        // Another proposal's secret, or any other event: skipped.
        let other = EventBuilder::text_note("hi")
            .sign_with_keys(&gov)
            .expect("note");
        assert!(read_reveal(&p, &[other]).opening.is_none());

        let filter = secrets_filter([&p]).expect("a sealed proposal");
        assert!(filter.match_event(&good, nostr_sdk::filter::MatchEventOptions::default()));
        let mut open = sealed_proposal();
        open.rules.sealed = None;
        assert!(secrets_filter([&open]).is_none());
    }

    #[test]
    fn every_pinned_holder_must_reveal_and_a_wrong_secret_opens_nothing() {
        let gov = Keys::generate();
        let (a, b) = (Keys::generate(), Keys::generate());
        let secrets: Vec<BallotSecret> = (1..=3u8)
            .map(|i| BallotSecret::from_bytes([i; 32]))
            .collect();
        let keys: Vec<BallotKey> = secrets.iter().map(BallotKey::from_secret).collect();
        let mut p = sealed_proposal();
        p.rules.sealed = Some(SealedRules::new(
            [&gov, &a, &b]
                .iter()
                .zip(&keys)
                .map(|(k, key)| BallotHolder {
                    holder: k.public_key(),
                    key: *key,
                })
                .collect(),
        ));
        let end = p.window_end;
        let gov_event = secret_event(&gov, &p, &keys[0], &secrets[0], end);
        let a_event = secret_event(&a, &p, &keys[1], &secrets[1], end + 5);
        // B publishes A's secret under its own key's name: a mismatch, named, opening nothing.
        let b_wrong = secret_event(&b, &p, &keys[2], &secrets[1], end + 6);
        let partial = read_reveal(
            &p,
            &[
                b_wrong.clone(),
                a_event.clone(),
                gov_event.clone(),
                a_event.clone(),
            ],
        );
        assert!(partial.opening.is_none());
        assert_eq!(
            partial.revealed_keys,
            vec![keys[0], keys[1]],
            "holder order, once each"
        );
        assert_eq!(partial.revealed, vec![a_event.id, gov_event.id]);
        assert_eq!(partial.problems.len(), 1, "{:?}", partial.problems);
        assert!(partial.problems[0].starts_with(&format!("ballot secret {}", b_wrong.id)));
        assert!(
            !partial.problems[0].contains(&secrets[1].reveal_hex()),
            "never the secret"
        );
        // B's valid secret: all three keys, the ballots open.
        let b_event = secret_event(&b, &p, &keys[2], &secrets[2], end + 9);
        let all = read_reveal(&p, &[b_wrong, a_event, gov_event, b_event]);
        assert!(all.opening.is_some());
        assert_eq!(all.revealed_keys, keys);

        // The service's filter asks only the pinned holders.
        let filter = pinned_secrets_filter([&p]).expect("sealed");
        let stranger = secret_event(&Keys::generate(), &p, &keys[2], &secrets[2], end);
        let options = nostr_sdk::filter::MatchEventOptions::default();
        assert!(!filter.match_event(&stranger, options));
        let mine = secret_event(&b, &p, &keys[2], &secrets[2], end);
        assert!(filter.match_event(&mine, options));
    }
}
