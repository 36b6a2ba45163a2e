//! The page's memory: everything the public routes show, built once per change by the feed
//! ([`super::feed`]) and shared read-only (`Arc`) by every request. A page request looks a
//! proposal up here ([`Snapshot::find`]) and renders; it never asks an actor or the database.

use std::collections::HashMap;
use std::sync::Arc;

use nostr_sdk::nips::nip19::{FromBech32, Nip19, Nip19Coordinate, Nip19Event, ToBech32};
use nostr_sdk::{EventId, Kind, PublicKey, RelayUrl};

use crate::actors::vote_aggregator::{BallotKeyState, ProposalVoters};
use crate::nostr::events::{self, LinkState};
use crate::votes::{BallotType, Proposal, TallyContent, VoteKind};

/// What never changes while the service runs: who signs, where, and how to check it.
#[derive(Debug, Clone)]
pub struct PageContext {
    pub server_npub: String,
    pub gov: PublicKey,
    pub gov_npub: String,
    /// The gov bot's lightning address (what voters zap).
    pub lightning_address: Option<String>,
    /// The service's relays: hints in `nostr:` links and the `verify` command's `--relay`s.
    pub relays: Vec<RelayUrl>,
    /// `http.public_url`, without a trailing slash.
    pub public_url: Option<String>,
}

/// The server's state, shown in every page's header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    pub healthy: bool,
    pub database_ok: bool,
    pub relays: Vec<(String, LinkState)>,
    /// Bots that are not running.
    pub bots_down: Vec<String>,
    /// `sha256:<hex>` head and entries of the audit log.
    pub audit: Option<(String, u64)>,
}

impl Header {
    pub fn relays_connected(&self) -> usize {
        self.relays
            .iter()
            .filter(|(_, s)| *s == LinkState::Connected)
            .count()
    }
}

/// One counted voter.
#[derive(Debug, Clone, PartialEq)]
pub struct VoterRow {
    pub npub: String,
    /// `sealed` while the voter's standing ballot is sealed (the page says until when).
    pub vote_type: BallotType,
    pub kind: VoteKind,
    pub amount_msat: u64,
    pub weight: f64,
    pub cooling_off: bool,
    /// The counted receipts `(id, created_at)`, oldest first (never empty).
    pub receipts: Vec<(EventId, u64)>,
    /// The zap request content of the newest receipt: anyone's text, escaped when shown.
    pub comment: String,
}

impl VoterRow {
    pub fn first_at(&self) -> u64 {
        self.receipts.first().map_or(0, |r| r.1)
    }

    pub fn last_at(&self) -> u64 {
        self.receipts.last().map_or(0, |r| r.1)
    }

    /// The receipt whose inclusion proof the page links to: the newest.
    pub fn last_receipt(&self) -> Option<EventId> {
        self.receipts.last().map(|r| r.0)
    }
}

/// One proposal as the page shows it.
#[derive(Debug, Clone)]
pub struct ProposalPage {
    pub proposal: Proposal,
    pub id_hex: String,
    /// `naddr1...` of the proposal (with relay hints): what clients open and zap.
    pub naddr: String,
    /// `nevent1...` of the proposal.
    pub nevent: String,
    /// The gov bot's announcement note (kind 1) and zap poll (kind 6969) of the proposal, with
    /// their `nevent1...`, where known.
    pub announcement: Option<(EventId, String)>,
    pub poll: Option<(EventId, String)>,
    pub repository: String,
    pub title: String,
    /// The tally now (`receipts` left out).
    pub tally: TallyContent,
    /// The newest published tally event: `created_at` and whether it was final.
    pub published: Option<(u64, bool)>,
    /// Heaviest first, then the latest zap first.
    pub voters: Vec<VoterRow>,
    /// The aggregator's change counter this page was built at.
    pub receipts_seen: usize,
    /// Each pinned ballot key (sealed ballots): its holder and whether its secret is revealed.
    pub ballot_keys: Vec<BallotKeyState>,
}

impl ProposalPage {
    /// How many pinned ballot keys' secrets this page shows revealed.
    pub fn revealed_keys(&self) -> usize {
        self.ballot_keys
            .iter()
            .filter(|k| k.state == "revealed")
            .count()
    }

    /// Builds the page of `v`: bech32 links, rows sorted heaviest first, each row's comment
    /// from `comments` (receipt id -> zap request content).
    pub fn build(
        v: ProposalVoters,
        comments: &HashMap<EventId, String>,
        relays: &[RelayUrl],
    ) -> ProposalPage {
        let proposal = v.proposal;
        let hints: Vec<RelayUrl> = relays.iter().take(3).cloned().collect();
        let naddr = events::parse_address(&proposal.address)
            .ok()
            .and_then(|coordinate| {
                Nip19Coordinate::new(coordinate, hints.clone())
                    .to_bech32()
                    .ok()
            })
            .unwrap_or_default();
        let nevent = Nip19Event::new(proposal.id)
            .relays(hints.clone())
            .kind(Kind::ApplicationSpecificData)
            .to_bech32()
            .unwrap_or_default();
        let author = events::parse_address(&proposal.address)
            .ok()
            .map(|c| c.public_key);
        let target = |kind: u16| {
            proposal
                .targets
                .others()
                .find(|(_, k)| k.as_u16() == kind)
                .map(|(id, k)| {
                    let mut link = Nip19Event::new(id).relays(hints.clone()).kind(k);
                    if let Some(author) = author {
                        link = link.author(author);
                    }
                    let link = link.to_bech32().unwrap_or_default();
                    (id, link)
                })
        };
        let announcement = target(1);
        let poll = target(6969);
        let mut voters: Vec<VoterRow> = v
            .ballots
            .into_iter()
            .zip(v.receipts)
            .map(|(ballot, receipts)| {
                let comment = receipts
                    .last()
                    .and_then(|(id, _)| comments.get(id))
                    .cloned()
                    .unwrap_or_default();
                VoterRow {
                    npub: ballot.sender.to_bech32().unwrap_or_default(),
                    vote_type: ballot.vote_type,
                    kind: ballot.kind,
                    amount_msat: ballot.vote_msat,
                    weight: ballot.weight,
                    cooling_off: ballot.cooling_off,
                    receipts,
                    comment,
                }
            })
            .collect();
        voters.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then_with(|| b.last_at().cmp(&a.last_at()))
                .then_with(|| a.npub.cmp(&b.npub))
        });
        ProposalPage {
            id_hex: proposal.id.to_hex(),
            naddr,
            nevent,
            announcement,
            poll,
            repository: v.repository,
            title: v.title,
            tally: v.content,
            published: v.published,
            voters,
            receipts_seen: v.receipts_seen,
            ballot_keys: v.ballot_keys,
            proposal,
        }
    }
}

/// Everything the public routes show, at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Grows with every change; the live stream sends it and the page compares.
    pub version: u64,
    pub header: Header,
    /// Every proposal, the latest window first (the list puts open ones first).
    pub proposals: Vec<Arc<ProposalPage>>,
    /// Hex event id and address of each proposal -> its index in `proposals`.
    index: HashMap<String, usize>,
}

impl Snapshot {
    pub fn new(version: u64, header: Header, mut proposals: Vec<Arc<ProposalPage>>) -> Snapshot {
        proposals.sort_by(|a, b| {
            b.proposal
                .window_start
                .cmp(&a.proposal.window_start)
                .then_with(|| a.id_hex.cmp(&b.id_hex))
        });
        let mut index = HashMap::with_capacity(proposals.len() * 2);
        for (i, page) in proposals.iter().enumerate() {
            index.insert(page.id_hex.clone(), i);
            index.insert(page.proposal.address.clone(), i);
            // Its announcement and zap poll open it too (NIP-89 `nevent` links).
            for (target, _) in page.proposal.targets.others() {
                index.entry(target.to_hex()).or_insert(i);
            }
        }
        Snapshot {
            version,
            header,
            proposals,
            index,
        }
    }

    /// The proposal a path names: its event id (hex, `note1`, `nevent1`) or its address
    /// (`naddr1`); an `naddr` of its tally event names it too.
    pub fn find(&self, raw: &str) -> Option<&Arc<ProposalPage>> {
        let raw = raw.trim();
        let key = match Nip19::from_bech32(raw) {
            Ok(Nip19::Coordinate(c)) => {
                let address = format!(
                    "{}:{}:{}",
                    c.coordinate.kind.as_u16(),
                    c.coordinate.public_key,
                    c.coordinate.identifier
                );
                match c
                    .coordinate
                    .identifier
                    .strip_prefix(events::d::TALLY_PREFIX)
                {
                    Some(proposal) if !self.index.contains_key(&address) => proposal.to_owned(),
                    _ => address,
                }
            }
            Ok(Nip19::Event(e)) => e.event_id.to_hex(),
            Ok(Nip19::EventId(id)) => id.to_hex(),
            _ => EventId::from_hex(raw).ok()?.to_hex(),
        };
        self.index.get(&key).map(|&i| &self.proposals[i])
    }
}

/// Whether `raw` is shaped like a proposal id the page accepts (hex, `note1`, `nevent1`,
/// `naddr1`), so an unknown one is a 404 and a malformed one a 400.
pub fn is_id_shaped(raw: &str) -> bool {
    let raw = raw.trim();
    EventId::from_hex(raw).is_ok()
        || matches!(
            Nip19::from_bech32(raw),
            Ok(Nip19::Coordinate(_) | Nip19::Event(_) | Nip19::EventId(_))
        )
}

#[cfg(test)]
mod tests {
    use nostr_sdk::Keys;

    use super::*;
    use crate::configuration::GovernanceSettings;
    use crate::votes::{Ballot, ProposalVoteResult, VoteRules};

    fn voters(gov: &Keys, n: u8) -> ProposalVoters {
        let proposal = Proposal {
            id: EventId::from_byte_array([n; 32]),
            address: format!("30078:{}:action:o/r:{n}:review-period", gov.public_key()),
            pr: u64::from(n),
            tier: 1,
            window_start: 1_000 + u64::from(n),
            window_end: 2_000,
            rules: VoteRules::new(&GovernanceSettings::default(), 1, vec![], vec![]),
            targets: crate::votes::Targets::new(),
        };
        let result = ProposalVoteResult {
            pr_id: u64::from(n),
            tier: 1,
            threshold: 100.0,
            total_votes: 0.3,
            support_votes: 0.3,
            veto_votes: 0.0,
            abstain_votes: 0.0,
            sealed_votes: 0.0,
            zap_vote_count: 2,
            participation_vote_count: 0,
            threshold_met: false,
            veto_blocks: false,
        };
        let ballot = |w: f64| Ballot {
            sender: Keys::generate().public_key(),
            vote_type: BallotType::Support,
            sealed: false,
            kind: VoteKind::Zap,
            weight: w,
            zap_weight: w,
            participation_weight: w,
            vote_msat: 1_000,
            receipts: 1,
            cooling_off: false,
        };
        let content = TallyContent {
            result,
            proposal: proposal.id.to_hex(),
            as_of: 1_500,
            is_final: false,
            rules: proposal.rules.clone(),
            voters: 2,
            late_votes: 0,
            receipts_count: 2,
            receipts_root: "sha256:00".into(),
            receipts: None,
            targets: Vec::new(),
            anomalies: Default::default(),
            private_zaps: Default::default(),
            sealed: None,
        };
        ProposalVoters {
            proposal,
            repository: "o/r".into(),
            title: "T".into(),
            receipts_seen: 2,
            published: None,
            ballot_keys: Vec::new(),
            content,
            ballots: vec![ballot(0.1), ballot(0.2)],
            receipts: vec![
                vec![(EventId::from_byte_array([1; 32]), 1_100)],
                vec![
                    (EventId::from_byte_array([2; 32]), 1_200),
                    (EventId::from_byte_array([3; 32]), 1_300),
                ],
            ],
        }
    }

    #[test]
    fn rows_heaviest_first_with_the_newest_receipts_comment() {
        let gov = Keys::generate();
        let comments = HashMap::from([
            (EventId::from_byte_array([3; 32]), "<b>veto</b>".to_owned()),
            (EventId::from_byte_array([2; 32]), "older".to_owned()),
        ]);
        let page = ProposalPage::build(voters(&gov, 7), &comments, &[]);
        assert_eq!(page.voters.len(), 2);
        assert_eq!(page.voters[0].weight, 0.2);
        assert_eq!(page.voters[0].comment, "<b>veto</b>");
        assert_eq!(page.voters[0].first_at(), 1_200);
        assert_eq!(page.voters[0].last_at(), 1_300);
        assert_eq!(
            page.voters[0].last_receipt(),
            Some(EventId::from_byte_array([3; 32]))
        );
        assert_eq!(page.voters[1].comment, "");
        assert!(page.voters[0].npub.starts_with("npub1"));
        assert!(page.naddr.starts_with("naddr1"), "{}", page.naddr);
        assert!(page.nevent.starts_with("nevent1"));
    }

    #[test]
    fn find_by_hex_note_nevent_naddr_and_the_tally_address() {
        let gov = Keys::generate();
        let pages: Vec<Arc<ProposalPage>> = [3u8, 9]
            .iter()
            .map(|&n| Arc::new(ProposalPage::build(voters(&gov, n), &HashMap::new(), &[])))
            .collect();
        let snapshot = Snapshot::new(1, Header::default(), pages);
        // The latest window first.
        assert_eq!(snapshot.proposals[0].proposal.pr, 9);
        let page = &snapshot.proposals[1];
        let id = page.proposal.id;
        for raw in [
            page.id_hex.clone(),
            id.to_bech32().expect("note"),
            page.nevent.clone(),
            page.naddr.clone(),
        ] {
            assert!(is_id_shaped(&raw), "{raw}");
            assert_eq!(
                snapshot.find(&raw).map(|p| p.proposal.id),
                Some(id),
                "{raw}"
            );
        }
        let tally = nostr_sdk::nips::nip01::Coordinate::new(
            Kind::ApplicationSpecificData,
            gov.public_key(),
        )
        .identifier(format!("tally:{}", page.id_hex));
        let naddr = Nip19Coordinate::new(tally, Vec::<RelayUrl>::new())
            .to_bech32()
            .expect("naddr");
        assert_eq!(snapshot.find(&naddr).map(|p| p.proposal.id), Some(id));
        assert!(snapshot.find(&"ab".repeat(32)).is_none());
        assert!(snapshot.find("nonsense").is_none());
        assert!(!is_id_shaped("nonsense"));
        assert!(!is_id_shaped(&gov.public_key().to_bech32().expect("npub")));
    }
}
