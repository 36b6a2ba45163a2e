//! The event's JSON content ([`ActionContent`]) and the vote rules a review period pins in it
//! ([`VoteRules`]).

use nostr_sdk::{PublicKey, ToBech32};
use serde::{Deserialize, Deserializer, Serialize};

use super::{ActionKind, ForkDecision, GovernanceAction, KeyholderChange, PullRequest};
use crate::nostr::events::d;

fn pull_request_content(pull_request: Option<&PullRequest>) -> (Option<String>, Option<u64>) {
    match pull_request {
        Some(pr) => (Some(pr.repository.as_str().to_owned()), Some(pr.number)),
        None => (None, None),
    }
}

impl GovernanceAction {
    /// The event's JSON content.
    pub fn content(&self) -> ActionContent {
        let summary = self.summary();
        let (repository, pr) = pull_request_content(self.pull_request());
        let mut content = ActionContent {
            action: self.kind(),
            repository,
            pr,
            tier: summary.tier.get(),
            title: summary.title.clone(),
            description: summary.description.clone(),
            voting_window: None,
            keyholder: None,
            approval: None,
            commit: None,
            fork: None,
            rules: None,
            ballot_key_pools: Vec::new(),
        };
        match self {
            Self::Merge(a) => content.commit = a.commit.clone(),
            Self::KeyholderApproval(a) => {
                content.approval = Some(ApprovalContent {
                    login: a.login.clone(),
                    commit: a.commit.clone(),
                })
            }
            Self::ReviewPeriod(a) => {
                content.voting_window = Some(VotingWindowContent {
                    start: a.voting_window.start().as_secs(),
                    end: a.voting_window.end().as_secs(),
                    days: a.voting_window.days(),
                })
            }
            Self::Keyholder(a) => {
                content.keyholder = Some(KeyholderContent {
                    name: a.name.clone(),
                    pubkey: a.pubkey.to_hex(),
                    npub: a.pubkey.to_bech32().unwrap_or_default(),
                    change: a.change,
                })
            }
            Self::Fork(a) => {
                content.fork = Some(ForkContent {
                    ruleset: a.ruleset.clone(),
                    decision: a.decision,
                    effective_at: a.effective_at.as_secs(),
                })
            }
        }
        content
    }
}

/// The JSON content of a governance action event. Absent parts are left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionContent {
    pub action: ActionKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<u64>,
    pub tier: u8,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voting_window: Option<VotingWindowContent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyholder: Option<KeyholderContent>,
    /// A keyholder's approval of the pull request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalContent>,
    /// A merge's merge commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fork: Option<ForkContent>,
    /// A review period's vote rules, pinned when it is published (DESIGN.md "Votes").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<VoteRules>,
    /// With independent ballot key holders: each holder's signed pool event the proposal took
    /// its key from, in `rules.sealed` order, so anyone can check later that the key came from
    /// the holder even after relays replaced that (replaceable) event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ballot_key_pools: Vec<nostr_sdk::Event>,
}

/// `voting_window` in [`ActionContent`]: unix seconds, and the length in days.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VotingWindowContent {
    pub start: u64,
    pub end: u64,
    pub days: u32,
}

/// `keyholder` in [`ActionContent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyholderContent {
    pub name: String,
    /// Hex.
    pub pubkey: String,
    pub npub: String,
    pub change: KeyholderChange,
}

/// `approval` in [`ActionContent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalContent {
    /// The keyholder's GitHub login.
    pub login: String,
    /// The approved commit (hex).
    pub commit: String,
}

/// `fork` in [`ActionContent`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForkContent {
    pub ruleset: String,
    pub decision: ForkDecision,
    /// Unix seconds.
    pub effective_at: u64,
}

impl ActionContent {
    /// The `d` value this content implies, or `None` when the content lacks its key fields.
    pub fn d_tag(&self) -> Option<String> {
        match self.action {
            ActionKind::Merge | ActionKind::ReviewPeriod => Some(d::pull_request_action(
                self.repository.as_deref()?,
                self.pr?,
                self.action.as_str(),
            )),
            ActionKind::Keyholder => match &self.approval {
                Some(approval) => Some(d::keyholder_approval(
                    self.repository.as_deref()?,
                    self.pr?,
                    &approval.login,
                )),
                None => {
                    let pubkey = PublicKey::from_hex(&self.keyholder.as_ref()?.pubkey).ok()?;
                    Some(d::keyholder(&pubkey))
                }
            },
            ActionKind::Fork => Some(d::fork(&self.fork.as_ref()?.ruleset)),
        }
    }
}

/// The rules in force for one proposal's vote (the proposal content's `rules`), as they are
/// written in the event. What each means, and how they are made from the settings, is
/// [`crate::votes::rules`]'s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoteRules {
    /// The participation weight counts contributions in `(T - days, T]`.
    pub participation_window_days: u32,
    /// A sender whose young contributions add up to at least this (BTC) is cooling off.
    pub cooling_off_threshold_btc: f64,
    /// Contributions with `created_at` in `(T - days, T]` are young.
    pub cooling_off_days: u32,
    /// A vote weighs at least `participation_floor * P(s)`.
    pub participation_floor: f64,
    /// A vote weighs at most `weight_cap * W` (once enough senders participate).
    pub weight_cap: f64,
    /// The support weight the proposal's tier needs.
    pub threshold: f64,
    /// Veto blocks at this fraction of support + veto weight.
    pub veto_threshold: f64,
    /// The LNURL provider keys whose receipts count (hex), sorted, no duplicates. A set on the
    /// wire: read in any order, kept sorted (the vote rules search it).
    #[serde(deserialize_with = "key_set")]
    pub zappers: Vec<PublicKey>,
    /// The bots whose received zaps are contributions (hex), sorted, no duplicates. Empty means
    /// any recipient. Our extension of DESIGN.md, which pins only `zappers`.
    #[serde(default, deserialize_with = "key_set")]
    pub bots: Vec<PublicKey>,
    /// The ballot keys sealed ballots are made for (DESIGN.md "Sealed ballots"). Absent on
    /// proposals published without sealed ballots (before they existed, or with
    /// `governance.sealed_ballots = false`): those have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<crate::nostr::ballot_keys::SealedRules>,
}

/// A list of keys read as the set it stands for: sorted, duplicates dropped.
fn key_set<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<PublicKey>, D::Error> {
    let mut keys = Vec::<PublicKey>::deserialize(deserializer)?;
    keys.sort_unstable();
    keys.dedup();
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use crate::nostr::governance_action::testing::{
        fork_body, keyholder_body, merge_body, parse, review_body,
    };
    use nostr_sdk::Keys;

    #[test]
    fn content_implies_the_d_tag() {
        let pubkey = Keys::generate().public_key().to_hex();
        for body in [
            merge_body(),
            review_body(),
            keyholder_body(&pubkey),
            fork_body(),
        ] {
            let action = parse(body).unwrap();
            assert_eq!(action.content().d_tag(), Some(action.d_tag()));
        }
    }
}
