//! What `verify` and `verify-vote` check of sealed ballots (DESIGN.md "Sealed ballots",
//! "Tally events"). Pure: the events come in, the opening and the differences go out.
//!
//! 1. **The reveal** ([`reveal`]): the ballot secret events of a proposal (kind 30078, `d` =
//!    `ballot-secret:<proposal id>`, fetched from any author: [`secrets_filter`]) count only when
//!    signed by a holder the proposal pinned, naming that holder's pinned key, with a secret
//!    that is that key's private key (`X25519(secret, 9) = key`) and a `created_at` at or after
//!    the close. A pinned holder's event that fails one of these is a problem, named (a holder
//!    who published a wrong or an early secret); an event by anyone else is ignored with a note
//!    (anyone may write to any `d` of their own). With a valid secret for every pinned key the
//!    ballots can be opened ([`BallotOpening`]); otherwise they stay sealed, and a tally that
//!    says they were opened is wrong.
//! 2. **The sealed numbers** ([`sealed_differences`]): the recompute (with that opening, from
//!    the close on) gives `sealed_votes`, `sealed` (`keys`, `opened`, `ballots`, `voters`,
//!    `invalid`) and `private_zaps`; each published one that differs is named. Before the close
//!    this recomputes the sealed sums with no secret at all.

use nostr_sdk::{Event, EventId, Filter};

use crate::nostr::ballot_secret::parse_ballot_secret;
use crate::nostr::events;
use crate::votes::sealed::BallotOpening;
use crate::votes::{is_valid_secret, Proposal, Tally, TallyContent};

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

/// A proposal's reveal as the relays show it.
#[derive(Debug, Clone, Default)]
pub struct Reveal {
    /// The opening, when every pinned key has a valid secret revealed after the close.
    pub opening: Option<BallotOpening>,
    /// The valid ballot secret events, one per revealed key.
    pub revealed: Vec<EventId>,
    /// A pinned holder's ballot secret that does not hold: named.
    pub problems: Vec<String>,
    /// Ballot secret events of authors who hold no key of the proposal: ignored.
    pub notes: Vec<String>,
}

/// The reveal of `proposal` from `candidates` (any events; those that are not its ballot
/// secrets are skipped).
pub fn reveal(proposal: &Proposal, candidates: &[Event]) -> Reveal {
    let mut out = Reveal::default();
    let Some(sealed) = proposal.rules.sealed.as_ref() else {
        return out;
    };
    let d = events::d::ballot_secret(&proposal.id);
    let mut secrets = Vec::new();
    for event in candidates {
        if event.kind != events::kind::BALLOT_SECRET || event.tags.identifier() != Some(&d) {
            continue;
        }
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
        out.revealed.push(event.id);
        secrets.push(parsed.secret);
    }
    out.opening = BallotOpening::for_keys(&sealed.keys(), secrets.iter());
    out
}

/// Names each sealed-ballot number of the published `content` that differs from the
/// recompute `recomputed` (made with the reveal's opening).
pub fn sealed_differences(
    proposal: &Proposal,
    content: &TallyContent,
    recomputed: &Tally,
    d: &mut Vec<String>,
) {
    let expected = TallyContent::new(proposal, recomputed, content.is_final);
    let (published, want) = (content.result.sealed_votes, recomputed.result.sealed_votes);
    if !super::tallies::close(published, want) {
        d.push(format!(
            "sealed_votes: published {published}, recomputed {want}"
        ));
    }
    if content.private_zaps != expected.private_zaps {
        d.push(format!(
            "private_zaps: published {} ({} msat), recomputed {} ({} msat)",
            content.private_zaps.count,
            content.private_zaps.msat,
            expected.private_zaps.count,
            expected.private_zaps.msat
        ));
    }
    match (&content.sealed, &expected.sealed) {
        (None, None) => {}
        (Some(_), None) => {
            d.push("sealed: published, but the proposal pinned no ballot keys".to_owned())
        }
        (None, Some(_)) => {
            d.push("sealed: missing, but the proposal pinned ballot keys".to_owned())
        }
        (Some(p), Some(r)) => {
            if p.keys != r.keys {
                d.push(format!(
                    "sealed.keys: published {:?}, the proposal pinned {:?}",
                    p.keys.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    r.keys.iter().map(ToString::to_string).collect::<Vec<_>>()
                ));
            }
            if p.opened != r.opened {
                d.push(if p.opened {
                    "sealed.opened: published true, but the relays do not hold a valid secret \
                     for every pinned key revealed after the close, so nobody can open the \
                     ballots"
                        .to_owned()
                } else {
                    "sealed.opened: published false, but every pinned key's secret is on the \
                     relays"
                        .to_owned()
                });
            }
            for (name, published, want) in [
                ("ballots", p.ballots, r.ballots),
                ("voters", p.voters, r.voters),
                ("invalid", p.invalid, r.invalid),
            ] {
                if published != want {
                    d.push(format!(
                        "sealed.{name}: published {published}, recomputed {want}"
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nostr::ballot_keys::{BallotHolder, SealedRules};
    use crate::nostr::ballot_secret::ballot_secret;
    use crate::votes::testing::sealed_proposal;
    use crate::votes::{derive_gov_ballot_secret, BallotKey, BallotSecret};
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
        let r = reveal(&p, std::slice::from_ref(&good));
        assert!(
            r.opening.is_some() && r.problems.is_empty(),
            "{:?}",
            r.problems
        );
        assert_eq!(r.revealed, vec![good.id]);

        // A wrong secret from the holder: named, and nothing opens.
        let wrong = BallotSecret::from_bytes([7; 32]);
        let lie = secret_event(&gov, &p, &key, &wrong, end + 1);
        let r = reveal(&p, std::slice::from_ref(&lie));
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
        let r = reveal(&p, std::slice::from_ref(&early));
        assert!(r.opening.is_none());
        assert!(
            r.problems[0].contains("before the close"),
            "{:?}",
            r.problems
        );

        // Anyone else's event under the same d: a note, ignored; the holder's still opens.
        let stranger = secret_event(&Keys::generate(), &p, &key, &wrong, end);
        let r = reveal(&p, &[stranger.clone(), good.clone()]);
        assert!(r.opening.is_some() && r.problems.is_empty());
        assert!(r.notes[0].contains(&stranger.id.to_hex()), "{:?}", r.notes);

        // Another proposal's secret, or any other event: skipped.
        let other = EventBuilder::text_note("hi")
            .sign_with_keys(&gov)
            .expect("note");
        assert!(reveal(&p, &[other]).opening.is_none());

        let filter = secrets_filter([&p]).expect("a sealed proposal");
        assert!(filter.match_event(&good, nostr_sdk::filter::MatchEventOptions::default()));
        let mut open = sealed_proposal();
        open.rules.sealed = None;
        assert!(secrets_filter([&open]).is_none());
    }
}
