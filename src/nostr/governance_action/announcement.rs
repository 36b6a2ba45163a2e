//! What an action says to people: the event's NIP-31 `alt` line, the kind-1 announcement note
//! and a review period's zap poll text.

use nostr_sdk::nips::nip01::Coordinate;
use nostr_sdk::nips::nip19::Nip19Coordinate;
use nostr_sdk::{EventId, RelayUrl, Timestamp, ToBech32};

use super::{GovernanceAction, VoteRules};
use crate::nostr::events::hashtag;

/// `2025-01-15 12:00 UTC`.
fn utc(at: Timestamp) -> String {
    i64::try_from(at.as_secs())
        .ok()
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| format!("unix time {}", at.as_secs()))
}

impl GovernanceAction {
    /// The event's NIP-31 `alt` line: what a client that cannot show kind 30078 shows instead
    /// (`"Governance proposal: <title>. Zap to vote: ..."`).
    pub fn alt(&self, zap_address: Option<&str>) -> String {
        let title = self.title();
        match self {
            Self::ReviewPeriod(a) => {
                let to = zap_address
                    .map(|address| format!(" ({address})"))
                    .unwrap_or_default();
                format!(
                    "Governance proposal: {title}, {} (tier {}). Zap to vote{to} until {}: \
                     write support, veto or abstain in the zap comment, or tap an option of \
                     its zap poll.",
                    a.pull_request,
                    self.tier().get(),
                    utc(a.voting_window.end()),
                )
            }
            Self::Merge(a) => format!("Governance action: merged {}: {title}", a.pull_request),
            Self::KeyholderApproval(a) => format!(
                "Governance action: keyholder {} approved {} at commit {}: {title}",
                a.login, a.pull_request, a.commit
            ),
            Self::Keyholder(a) => format!(
                "Governance action: keyholder {} {}: {title}",
                a.name,
                a.change.as_str()
            ),
            Self::Fork(a) => format!(
                "Governance action: ruleset {} {}: {title}",
                a.ruleset,
                a.decision.as_str()
            ),
        }
    }

    /// `t` tags for the announcement note: `governance` and the action; a review period's
    /// also `governance-proposal`, which (with its `e` tag to the proposal) makes the note one
    /// of the proposal's vote targets.
    pub fn announcement_hashtags(&self) -> Vec<&'static str> {
        let mut hashtags = vec![hashtag::GOVERNANCE, self.kind().as_str()];
        if self.invites_zaps() {
            hashtags.push(hashtag::GOVERNANCE_PROPOSAL);
        }
        hashtags
    }

    /// The text of the kind-1 announcement. With the action event's `address`, it ends with a
    /// `nostr:naddr1...` link that clients render as the structured event.
    pub fn announcement(&self, address: Option<&Coordinate>) -> String {
        self.announcement_with(address, &[], None, None)
    }

    /// [`GovernanceAction::announcement`] with the relays to hint in the `naddr` link and, for
    /// a review period, the zap poll's `nevent1...` (linked at the end, so clients that know
    /// zap polls show its option buttons inside the note). `sealed` is the proposal's id when
    /// it pins ballot keys: the text then says how to seal a vote and what a sealed ballot hides.
    pub fn announcement_with(
        &self,
        address: Option<&Coordinate>,
        relays: &[RelayUrl],
        poll: Option<&str>,
        sealed: Option<&EventId>,
    ) -> String {
        let tier = self.tier().get();
        let title = self.title();
        let mut text = match self {
            Self::Merge(a) => match &a.commit {
                Some(commit) => format!(
                    "Merged {} as commit {commit} (tier {tier}): {title}",
                    a.pull_request
                ),
                None => format!("Merged {} (tier {tier}): {title}", a.pull_request),
            },
            Self::KeyholderApproval(a) => format!(
                "Keyholder {} approved {} at commit {} (tier {tier}): {title}",
                a.login, a.pull_request, a.commit
            ),
            Self::ReviewPeriod(a) => format!(
                "Review period open for {} (tier {tier}): {title}\n\n\
                 Voting closes {} ({}). To vote, zap this note and write support, \
                 veto or abstain in the zap comment (yes or approve, oppose or against, \
                 neutral count too; a comment without one of these words counts as \
                 support), or tap support, veto or abstain in its zap poll. Each voter's \
                 zaps add up, and a vote weighs the square root of the bitcoin zapped.",
                a.pull_request,
                utc(a.voting_window.end()),
                a.voting_window.length(),
            ),
            Self::Keyholder(a) => format!(
                "Keyholder {}: {} ({}) (tier {tier}): {title}",
                a.change.as_str(),
                a.name,
                a.pubkey.to_bech32().unwrap_or_else(|_| a.pubkey.to_hex()),
            ),
            Self::Fork(a) => format!(
                "Governance fork decision: ruleset {} {}, effective {} (tier {tier}): {title}",
                a.ruleset,
                a.decision.as_str(),
                utc(a.effective_at),
            ),
        };
        if let (Self::Keyholder(_) | Self::Fork(_), Some(pr)) = (self, self.pull_request()) {
            text.push_str(&format!("\nPull request: {pr}"));
        }
        if let (Self::ReviewPeriod(a), Some(proposal)) = (self, sealed) {
            text.push_str(&format!(
                "\n\nTo keep your choice secret until the close, zap with a sealed ballot as the \
                 comment instead of a word: get one for your npub on the proposal's page (\"Vote \
                 secretly\") or with `commons-nostr ballot {} --vote veto --voter <your npub>`. \
                 It hides your choice until {}, when it is opened and counted; your npub and \
                 the amount you zap are public at once, as with every zap.",
                proposal.to_hex(),
                utc(a.voting_window.end()),
            ));
        }
        let description = self.summary().description();
        if !description.is_empty() {
            text.push_str("\n\n");
            text.push_str(description);
        }
        if let Some(poll) = poll {
            text.push_str("\n\nZap poll: nostr:");
            text.push_str(poll);
        }
        if let Some(address) = address {
            let naddr = Nip19Coordinate::new(address.clone(), relays.to_vec()).to_bech32();
            if let Ok(naddr) = naddr {
                text.push_str("\n\nnostr:");
                text.push_str(&naddr);
            }
        }
        text
    }

    /// A review period's zap poll `alt` line (NIP-31); `None` for other actions.
    pub fn zap_poll_alt(&self) -> Option<String> {
        let Self::ReviewPeriod(a) = self else {
            return None;
        };
        Some(format!(
            "Zap poll of governance proposal {}: {}. Zap an option (support, veto or abstain) \
             to vote, until {}.",
            a.pull_request,
            self.title(),
            utc(a.voting_window.end()),
        ))
    }

    /// A review period's zap poll content (kind 6969): the title, and a line on how the vote
    /// is weighed under its pinned `rules`. `None` for other actions.
    pub fn zap_poll_content(&self, rules: Option<&VoteRules>) -> Option<String> {
        let Self::ReviewPeriod(a) = self else {
            return None;
        };
        let mut text = format!(
            "{} ({}): {}",
            a.pull_request,
            self.kind().as_str(),
            self.title()
        );
        text.push_str(
            "\n\nTap support, veto or abstain and zap any amount. Each voter's zaps add up; \
             a vote weighs the square root of the bitcoin zapped (quadratic)",
        );
        if let Some(rules) = rules {
            text.push_str(&format!(
                ", at least {} x the voter's participation weight, and at most {} % of all \
                 participation once enough people take part. It passes at {} support unless \
                 veto reaches {} % of support and veto",
                rules.participation_floor,
                rules.weight_cap * 100.0,
                rules.threshold,
                rules.veto_threshold * 100.0,
            ));
        }
        text.push('.');
        Some(text)
    }
}
