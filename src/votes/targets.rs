//! A proposal's vote targets: DESIGN.md "Votes", *Targets*, and the `targets` of "Tally events".
//!
//! Voters zap what their client shows them, and most clients cannot show a kind-30078 event at
//! all. So a proposal's *targets* are its own event id and every event that
//!
//! - is signed by the proposal's author (the gov bot),
//! - carries `e` = the proposal's id, and
//! - carries `t` = `governance-proposal`:
//!
//! its kind-1 announcement (every client shows and zaps it) and its kind-6969 zap poll (option
//! buttons in clients that know zap polls). [`is_target_of`] is that rule for one event;
//! [`Targets`] holds a proposal's targets other than itself, with their kinds, because a
//! `poll_option` counts only on a zap to a zap poll (see
//! [`crate::votes::Proposal::explicit_type`]).
//!
//! A contribution *names* the proposal when its zap request's `e` is one of the targets or its
//! `a` is the proposal's address ([`crate::votes::Proposal::names`]). The zap request decides,
//! not the receipt: [`crate::nostr::nip57::validate`] already reads `e` and `a` from the
//! request (rule 6 makes any the receipt carries agree), so a receipt an LNURL server stripped
//! of its `a` still names what the voter zapped.
//!
//! The service knows the targets it published (stored with the proposal); a verifier finds them
//! on the relays with [`Targets::from_events`]. Both then apply the same rules.

use std::collections::BTreeMap;

use nostr_sdk::{Event, EventId, Kind, PublicKey};

use crate::nostr::events::{hashtag, kind, tag};

/// Whether `event` is one of the targets of the proposal `proposal` written by `author`: signed
/// by `author` (the caller checks the signature), with an `e` tag naming the proposal and a `t`
/// tag `governance-proposal`. The proposal itself is not "another" target.
pub fn is_target_of(event: &Event, proposal: &EventId, author: &PublicKey) -> bool {
    event.pubkey == *author
        && event.id != *proposal
        && has_tag(event, tag::E, |value| {
            EventId::from_hex(value).is_ok_and(|id| id == *proposal)
        })
        && has_tag(event, tag::T, |value| value == hashtag::GOVERNANCE_PROPOSAL)
}

fn has_tag(event: &Event, name: &str, matches: impl Fn(&str) -> bool) -> bool {
    event.tags.iter().any(|t| match t.as_slice() {
        [first, value, ..] => first == name && matches(value),
        _ => false,
    })
}

/// A proposal's targets other than its own id, ascending, each with its event kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    others: BTreeMap<EventId, Kind>,
}

impl Targets {
    /// No target but the proposal itself.
    pub fn new() -> Targets {
        Targets::default()
    }

    /// Adds a target (an event that [`is_target_of`] the proposal) of kind `kind`.
    pub fn insert(&mut self, id: EventId, kind: Kind) {
        self.others.insert(id, kind);
    }

    /// The targets of `proposal` (by `author`) among `events`: every one [`is_target_of`] it.
    /// The events' signatures must have been checked.
    pub fn from_events<'a>(
        proposal: &EventId,
        author: &PublicKey,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Targets {
        let mut targets = Targets::new();
        for event in events {
            if is_target_of(event, proposal, author) {
                targets.insert(event.id, event.kind);
            }
        }
        targets
    }

    /// Whether `id` is one of these targets (the proposal's own id is not among them).
    pub fn contains(&self, id: &EventId) -> bool {
        self.others.contains_key(id)
    }

    /// Whether `id` is a target that is a zap poll (kind 6969): a `poll_option` on a zap to it
    /// is a vote type.
    pub fn is_zap_poll(&self, id: &EventId) -> bool {
        self.others.get(id) == Some(&kind::ZAP_POLL)
    }

    /// The targets other than the proposal, ascending, with their kinds.
    pub fn others(&self) -> impl Iterator<Item = (EventId, Kind)> + '_ {
        self.others.iter().map(|(id, kind)| (*id, *kind))
    }

    /// How many targets besides the proposal.
    pub fn len(&self) -> usize {
        self.others.len()
    }

    pub fn is_empty(&self) -> bool {
        self.others.is_empty()
    }

    /// The tally event's `targets`: the proposal's own id first, then the others ascending.
    pub fn listed(&self, proposal: EventId) -> Vec<EventId> {
        std::iter::once(proposal)
            .chain(self.others.keys().copied().filter(|id| *id != proposal))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use nostr_sdk::{EventBuilder, JsonUtil, Keys, Tag, Timestamp};

    use super::*;
    use crate::nostr::events;
    use crate::nostr::nip57::{validate, Zapper};
    use crate::nostr::zap_provider::{zap_request, ZapProvider, ZapTarget};
    use crate::votes::testing::{proposal, zap, ANNOUNCEMENT, POLL, START};
    use crate::votes::{tally, Contribution, Proposal, VoteType};

    /// A contribution zapping event `e` / address `a`, with this comment and `poll_option`.
    fn zapping(
        e: Option<EventId>,
        a: Option<&str>,
        text: &str,
        option: Option<&str>,
    ) -> Contribution {
        let mut c = zap(
            1,
            crate::votes::testing::senders(1)[0],
            START,
            1_000,
            false,
            None,
        );
        c.event = e;
        c.address = a.map(str::to_owned);
        c.keyword = crate::votes::parse_keyword(text);
        c.poll_option = option.and_then(crate::votes::parse_poll_option);
        c
    }

    fn note(keys: &Keys, tags: Vec<Tag>) -> Event {
        EventBuilder::text_note("vote on it")
            .tags(tags)
            .sign_with_keys(keys)
            .expect("signed")
    }

    #[test]
    fn e_only_a_only_and_both_name_the_proposal() {
        let p = proposal();
        let other_address = format!(
            "30078:{}:action:o/r:1:review-period",
            Keys::generate().public_key()
        );
        assert!(p.names(&zapping(Some(p.id), None, "", None)));
        assert!(p.names(&zapping(None, Some(&p.address), "", None)));
        assert!(p.names(&zapping(Some(p.id), Some(&p.address), "", None)));
        // Either tag is enough: an `e` of something else with the proposal's `a`, and back.
        let elsewhere = EventId::from_byte_array([3; 32]);
        assert!(p.names(&zapping(Some(elsewhere), Some(&p.address), "", None)));
        assert!(p.names(&zapping(Some(p.id), Some(&other_address), "", None)));
        assert!(!p.names(&zapping(Some(elsewhere), Some(&other_address), "", None)));
        assert!(!p.names(&zapping(None, None, "support", None)));
    }

    #[test]
    fn a_zap_of_the_announcement_names_the_proposal_and_its_comment_is_the_type() {
        let p = proposal();
        let c = zapping(Some(ANNOUNCEMENT), None, "I veto this", None);
        assert!(p.names(&c));
        assert_eq!(p.explicit_type(&c), Some(VoteType::Veto));
        // An empty comment (a one-tap zap) has no explicit type: support by default.
        let tap = zapping(Some(ANNOUNCEMENT), None, "", None);
        assert_eq!(p.explicit_type(&tap), None);
        // A poll_option on a zap to the announcement (not the poll) is no vote type.
        let stray = zapping(Some(ANNOUNCEMENT), None, "abstain", Some("1"));
        assert_eq!(p.explicit_type(&stray), Some(VoteType::Abstain));
        let stray = zapping(Some(ANNOUNCEMENT), None, "", Some("1"));
        assert_eq!(p.explicit_type(&stray), None);
    }

    #[test]
    fn a_zap_of_the_poll_takes_its_poll_option_over_the_comment() {
        let p = proposal();
        for (option, vote) in [
            ("0", VoteType::Support),
            ("1", VoteType::Veto),
            ("2", VoteType::Abstain),
        ] {
            // An empty comment, as zap-poll clients send, and a contradicting one.
            for text in ["", "veto", "Onward 🫡"] {
                let c = zapping(Some(POLL), None, text, Some(option));
                assert!(p.names(&c));
                assert_eq!(p.explicit_type(&c), Some(vote), "{option} {text:?}");
            }
        }
        // An invalid option is no explicit type: the comment decides, else support.
        let c = zapping(Some(POLL), None, "", Some("7"));
        assert!(p.names(&c));
        assert_eq!(p.explicit_type(&c), None);
        let c = zapping(Some(POLL), None, "oppose", Some("veto"));
        assert_eq!(p.explicit_type(&c), Some(VoteType::Veto));
        // A poll_option on a zap of the proposal itself is not a poll vote either.
        let c = zapping(Some(p.id), None, "", Some("1"));
        assert_eq!(p.explicit_type(&c), None);
    }

    #[test]
    fn the_tally_counts_zaps_to_every_target_with_their_types() {
        let p = proposal();
        let s = crate::votes::testing::senders(3);
        let mut to_poll = zap(1, s[0], START, 4_000, false, None);
        to_poll.event = Some(POLL);
        to_poll.poll_option = Some(VoteType::Veto);
        let mut to_note = zap(2, s[1], START, 4_000, false, Some(VoteType::Abstain));
        to_note.event = Some(ANNOUNCEMENT);
        let mut elsewhere = zap(3, s[2], START, 4_000, false, Some(VoteType::Veto));
        elsewhere.event = Some(EventId::from_byte_array([3; 32]));
        let t = tally(&p, &[to_poll, to_note, elsewhere], START);
        assert_eq!(t.voters, 2);
        assert_eq!(t.counted.len(), 2);
        assert!(t.result.veto_votes > 0.0 && t.result.abstain_votes > 0.0);
        assert_eq!(t.result.support_votes, 0.0);
    }

    #[test]
    fn a_receipt_without_a_whose_request_has_it_names_the_proposal() {
        let provider = ZapProvider::generate();
        let gov = Keys::generate();
        let sender = Keys::generate();
        let coordinate =
            events::proposal_coordinate(&gov.public_key(), "action:o/r:1:review-period");
        let request = zap_request(
            &sender,
            &ZapTarget::new(gov.public_key(), 21_000).address(coordinate),
        )
        .expect("request");
        let invoice = provider.invoice(&request, 21_000).expect("invoice");
        // As an LNURL server that drops `a` builds it: p, bolt11, description, preimage.
        let receipt = EventBuilder::new(Kind::ZapReceipt, "")
            .tags([
                Tag::public_key(gov.public_key()),
                Tag::parse(["bolt11", invoice.bolt11.as_str()]).expect("tag"),
                Tag::parse(["description", request.as_json().as_str()]).expect("tag"),
            ])
            .custom_created_at(Timestamp::now())
            .sign_with_keys(provider.keys())
            .expect("receipt");
        assert!(!receipt.tags.iter().any(|t| t.as_slice()[0] == "a"));
        let recipients = HashMap::from([(gov.public_key(), Zapper::Known(provider.public_key()))]);
        let zap = validate(&receipt, &recipients).expect("valid");
        let c = Contribution::from_valid_zap(&zap);
        let mut p = proposal();
        p.address = events::proposal_address(&gov.public_key(), "action:o/r:1:review-period");
        assert_eq!(c.address.as_deref(), Some(p.address.as_str()));
        assert!(p.names(&c));
    }

    #[test]
    fn only_the_authors_notes_tagged_governance_proposal_are_targets() {
        let gov = Keys::generate();
        let stranger = Keys::generate();
        let proposal = EventId::from_byte_array([9; 32]);
        let tagged = vec![Tag::event(proposal), Tag::hashtag("governance-proposal")];
        let announcement = note(&gov, tagged.clone());
        let forged = note(&stranger, tagged.clone());
        let untagged = note(&gov, vec![Tag::event(proposal), Tag::hashtag("governance")]);
        let unrelated = note(
            &gov,
            vec![
                Tag::event(EventId::from_byte_array([8; 32])),
                Tag::hashtag("governance-proposal"),
            ],
        );
        let poll = events::zap_poll(&events::ZapPoll {
            proposal,
            address: &events::proposal_coordinate(&gov.public_key(), "x"),
            gov: gov.public_key(),
            relay: None,
            closed_at: Timestamp::from_secs(2_000_000_000),
            content: "title",
            alt: "alt",
        })
        .sign_with_keys(&gov)
        .expect("poll");
        let author = gov.public_key();
        assert!(is_target_of(&announcement, &proposal, &author));
        assert!(is_target_of(&poll, &proposal, &author));
        assert!(
            !is_target_of(&forged, &proposal, &author),
            "signed by someone else"
        );
        assert!(
            !is_target_of(&untagged, &proposal, &author),
            "no t=governance-proposal"
        );
        assert!(
            !is_target_of(&unrelated, &proposal, &author),
            "tags another proposal"
        );
        let all = [&announcement, &forged, &untagged, &unrelated, &poll];
        let targets = Targets::from_events(&proposal, &author, all);
        assert_eq!(targets.len(), 2);
        assert!(targets.contains(&announcement.id) && targets.contains(&poll.id));
        assert!(targets.is_zap_poll(&poll.id));
        assert!(!targets.is_zap_poll(&announcement.id));
        assert!(!targets.contains(&forged.id) && !targets.contains(&untagged.id));
        // Own id first, then ascending.
        let listed = targets.listed(proposal);
        assert_eq!(listed[0], proposal);
        assert!(listed[1] < listed[2]);
        assert_eq!(listed.len(), 3);
    }

    #[test]
    fn a_zap_naming_a_target_of_another_proposal_is_not_a_vote_here() {
        let p = proposal();
        let mut other = Proposal {
            id: EventId::from_byte_array([0xCD; 32]),
            address: format!("{}-other", p.address),
            targets: Targets::new(),
            ..p.clone()
        };
        let their_poll = EventId::from_byte_array([0xCE; 32]);
        other.targets.insert(their_poll, kind::ZAP_POLL);
        let c = zapping(Some(their_poll), None, "", Some("1"));
        assert!(!p.names(&c));
        assert!(other.names(&c));
        assert_eq!(other.explicit_type(&c), Some(VoteType::Veto));
        let t = tally(&p, &[c], START);
        assert_eq!(t.voters, 0);
    }
}
