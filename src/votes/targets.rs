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
//! on the relays with [`Targets::from_events`]. Both then apply the same rules. The service also
//! learns targets from the relays, so one the gov key signed elsewhere counts for it too: a
//! relay event is parsed into a [`TargetClaim`] (its id and signature verified, its `t` tag
//! checked, the proposals its `e` tags name), and once the caller has looked those proposals up,
//! [`TargetClaim::targets`] applies [`is_target_of`] to each.

use std::collections::{BTreeMap, HashMap};

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

/// Why an event from the relays is not a vote target of any proposal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotATarget {
    #[error("its id or signature does not verify")]
    BadSignature,
    #[error("it has no t=governance-proposal tag")]
    NotGovernanceProposal,
    #[error("it has no e tag naming an event")]
    NamesNoEvent,
    #[error("none of the events its e tags name is a known proposal")]
    UnknownProposal,
    #[error("it is not signed by the author of the proposal it tags")]
    NotTheAuthor,
}

/// One target learned from the relays: `target` (of kind `kind`) is a vote target of
/// `proposal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LearnedTarget {
    pub proposal: EventId,
    pub target: EventId,
    pub kind: Kind,
}

/// An event from the relays that may be a vote target: its id and signature verify, it
/// carries `t` = `governance-proposal`, and its `e` tags name these events. Whether it is a
/// target of one of them depends on those being proposals, and on who wrote them
/// ([`TargetClaim::targets`]).
#[derive(Debug, Clone)]
pub struct TargetClaim {
    event: Event,
    proposals: Vec<EventId>,
}

impl TargetClaim {
    /// Checks `event`'s id and signature, its `t` tag, and reads the ids its `e` tags name.
    pub fn parse(event: Event) -> Result<TargetClaim, NotATarget> {
        event.verify().map_err(|_| NotATarget::BadSignature)?;
        if !has_tag(&event, tag::T, |value| {
            value == hashtag::GOVERNANCE_PROPOSAL
        }) {
            return Err(NotATarget::NotGovernanceProposal);
        }
        let mut proposals: Vec<EventId> = event
            .tags
            .iter()
            .filter_map(|t| match t.as_slice() {
                [first, value, ..] if first == tag::E => EventId::from_hex(value).ok(),
                _ => None,
            })
            .filter(|id| *id != event.id)
            .collect();
        proposals.sort();
        proposals.dedup();
        if proposals.is_empty() {
            return Err(NotATarget::NamesNoEvent);
        }
        Ok(TargetClaim { event, proposals })
    }

    /// The event's id.
    pub fn id(&self) -> EventId {
        self.event.id
    }

    /// The events its `e` tags name (ascending, once each): the proposals it may target.
    pub fn proposals(&self) -> &[EventId] {
        &self.proposals
    }

    /// The proposals it is a target of, given the known ones among [`Self::proposals`] with
    /// their authors: each one it [`is_target_of`].
    pub fn targets(
        &self,
        known: &HashMap<EventId, PublicKey>,
    ) -> Result<Vec<LearnedTarget>, NotATarget> {
        let mut any_known = false;
        let mut learned = Vec::new();
        for proposal in &self.proposals {
            let Some(author) = known.get(proposal) else {
                continue;
            };
            any_known = true;
            if is_target_of(&self.event, proposal, author) {
                learned.push(LearnedTarget {
                    proposal: *proposal,
                    target: self.event.id,
                    kind: self.event.kind,
                });
            }
        }
        match (any_known, learned.is_empty()) {
            (false, _) => Err(NotATarget::UnknownProposal),
            (true, true) => Err(NotATarget::NotTheAuthor),
            (true, false) => Ok(learned),
        }
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
        assert_eq!(
            p.explicit_type(&c).and_then(|e| e.open_type()),
            Some(VoteType::Veto)
        );
        // An empty comment (a one-tap zap) has no explicit type: support by default.
        let tap = zapping(Some(ANNOUNCEMENT), None, "", None);
        assert_eq!(p.explicit_type(&tap).and_then(|e| e.open_type()), None);
        // A poll_option on a zap to the announcement (not the poll) is no vote type.
        let stray = zapping(Some(ANNOUNCEMENT), None, "abstain", Some("1"));
        assert_eq!(
            p.explicit_type(&stray).and_then(|e| e.open_type()),
            Some(VoteType::Abstain)
        );
        let stray = zapping(Some(ANNOUNCEMENT), None, "", Some("1"));
        assert_eq!(p.explicit_type(&stray).and_then(|e| e.open_type()), None);
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
                assert_eq!(
                    p.explicit_type(&c).and_then(|e| e.open_type()),
                    Some(vote),
                    "{option} {text:?}"
                );
            }
        }
        // An invalid option is no explicit type: the comment decides, else support.
        let c = zapping(Some(POLL), None, "", Some("7"));
        assert!(p.names(&c));
        assert_eq!(p.explicit_type(&c).and_then(|e| e.open_type()), None);
        let c = zapping(Some(POLL), None, "oppose", Some("veto"));
        assert_eq!(
            p.explicit_type(&c).and_then(|e| e.open_type()),
            Some(VoteType::Veto)
        );
        // A poll_option on a zap of the proposal itself is not a poll vote either.
        let c = zapping(Some(p.id), None, "", Some("1"));
        assert_eq!(p.explicit_type(&c).and_then(|e| e.open_type()), None);
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
        assert_eq!(
            other.explicit_type(&c).and_then(|e| e.open_type()),
            Some(VoteType::Veto)
        );
        let t = tally(&p, &[c], START);
        assert_eq!(t.voters, 0);
    }

    #[test]
    fn a_claim_is_a_target_only_of_known_proposals_by_its_signer() {
        let gov = Keys::generate();
        let stranger = Keys::generate();
        let proposal = EventId::from_byte_array([9; 32]);
        let other = EventId::from_byte_array([8; 32]);
        let tagged = vec![Tag::event(proposal), Tag::hashtag("governance-proposal")];
        let known = HashMap::from([(proposal, gov.public_key())]);

        let announcement = note(&gov, tagged.clone());
        let claim = TargetClaim::parse(announcement.clone()).expect("a claim");
        assert_eq!(claim.id(), announcement.id);
        assert_eq!(claim.proposals(), &[proposal]);
        assert_eq!(
            claim.targets(&known),
            Ok(vec![LearnedTarget {
                proposal,
                target: announcement.id,
                kind: Kind::TextNote,
            }])
        );
        // Nothing known about the tagged event: not a target (yet).
        assert_eq!(
            claim.targets(&HashMap::new()),
            Err(NotATarget::UnknownProposal)
        );

        // A look-alike signed by another key.
        let forged = TargetClaim::parse(note(&stranger, tagged.clone())).expect("parses");
        assert_eq!(forged.targets(&known), Err(NotATarget::NotTheAuthor));

        // The gov bot's note without the `t`, or with no `e`.
        let untagged = note(&gov, vec![Tag::event(proposal), Tag::hashtag("governance")]);
        assert_eq!(
            TargetClaim::parse(untagged).map(|c| c.id()),
            Err(NotATarget::NotGovernanceProposal)
        );
        let no_e = note(&gov, vec![Tag::hashtag("governance-proposal")]);
        assert_eq!(
            TargetClaim::parse(no_e).map(|c| c.id()),
            Err(NotATarget::NamesNoEvent)
        );

        // Two `e` tags: a target of the known proposal only.
        let both = note(
            &gov,
            vec![
                Tag::event(other),
                Tag::event(proposal),
                Tag::hashtag("governance-proposal"),
            ],
        );
        let claim = TargetClaim::parse(both.clone()).expect("a claim");
        assert_eq!(claim.proposals(), &[other, proposal]);
        let learned = claim.targets(&known).expect("a target");
        assert_eq!(learned.len(), 1);
        assert_eq!(learned[0].proposal, proposal);
        // `e` to an unknown id only: not a target.
        let elsewhere = note(
            &gov,
            vec![Tag::event(other), Tag::hashtag("governance-proposal")],
        );
        assert_eq!(
            TargetClaim::parse(elsewhere)
                .expect("parses")
                .targets(&known),
            Err(NotATarget::UnknownProposal)
        );
    }

    #[test]
    fn a_claim_whose_signature_or_id_does_not_verify_is_rejected() {
        let gov = Keys::generate();
        let proposal = EventId::from_byte_array([9; 32]);
        let note = note(
            &gov,
            vec![Tag::event(proposal), Tag::hashtag("governance-proposal")],
        );
        // The content changed after signing: the id no longer matches.
        let mut json: serde_json::Value = serde_json::from_str(&note.as_json()).expect("json");
        json["content"] = serde_json::Value::from("vote on something else");
        let tampered = Event::from_json(json.to_string()).expect("an event");
        assert_eq!(
            TargetClaim::parse(tampered).map(|c| c.id()),
            Err(NotATarget::BadSignature)
        );
        // Another key's signature under the gov bot's pubkey.
        let mut json: serde_json::Value = serde_json::from_str(&note.as_json()).expect("json");
        let other = EventBuilder::text_note("x")
            .sign_with_keys(&Keys::generate())
            .expect("signed");
        json["sig"] = serde_json::Value::from(other.sig.to_string());
        let forged = Event::from_json(json.to_string()).expect("an event");
        assert_eq!(
            TargetClaim::parse(forged).map(|c| c.id()),
            Err(NotATarget::BadSignature)
        );
    }
}
