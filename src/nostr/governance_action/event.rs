//! The governance action's event, kind 30078: its `d` value and tags, built
//! ([`governance_action`]) and read back ([`parse_governance_action`]), in the vocabulary of
//! [`crate::nostr::events`].

use nostr_sdk::{Event, EventBuilder, Tag, Timestamp};

use super::{ActionContent, ActionKind, GovernanceAction, Merge, ReviewPeriod};
use crate::nostr::events::{
    self, content, d, expect_kind, expect_match, hashtag, identifier, kind, parse_number, tag,
    tag_value, tag_values, to_json, ParseError,
};

impl GovernanceAction {
    /// The event's `d` value (see the module doc).
    pub fn d_tag(&self) -> String {
        match self {
            Self::Merge(Merge { pull_request, .. })
            | Self::ReviewPeriod(ReviewPeriod { pull_request, .. }) => d::pull_request_action(
                pull_request.repository.as_str(),
                pull_request.number,
                self.kind().as_str(),
            ),
            Self::Keyholder(a) => d::keyholder(&a.pubkey),
            Self::KeyholderApproval(a) => d::keyholder_approval(
                a.pull_request.repository.as_str(),
                a.pull_request.number,
                &a.login,
            ),
            Self::Fork(a) => d::fork(&a.ruleset),
        }
    }

    /// The event's tags. `zap_address` (the gov bot's lightning address) is tagged only when
    /// the action invites zaps.
    pub fn tags(&self, governance_config: &str, zap_address: Option<&str>) -> Vec<Tag> {
        let mut tags = vec![
            Tag::identifier(self.d_tag()),
            Tag::hashtag(hashtag::GOVERNANCE_ACTION),
            events::single_tag(tag::ACTION, self.kind().as_str()),
        ];
        if let Some(pr) = self.pull_request() {
            tags.push(events::single_tag(tag::REPOSITORY, pr.repository.as_str()));
            tags.push(events::single_tag(tag::PR, pr.number.to_string()));
        }
        tags.push(events::single_tag(tag::TIER, self.tier().get().to_string()));
        tags.push(events::single_tag(
            tag::GOVERNANCE_CONFIG,
            governance_config,
        ));
        match self {
            Self::ReviewPeriod(a) => {
                let window = a.voting_window;
                tags.push(events::voting_window_tag(window.start(), window.end()));
                if let Some(zap) = zap_address {
                    tags.push(events::single_tag(tag::ZAP, zap));
                }
            }
            Self::Keyholder(a) => tags.push(Tag::public_key(a.pubkey)),
            Self::Merge(_) | Self::KeyholderApproval(_) | Self::Fork(_) => {}
        }
        tags.push(Tag::alt(self.alt(zap_address)));
        tags
    }
}

/// Governance action, kind 30078, signed by the gov bot. `zap_address` is the gov bot's
/// lightning address; it is tagged only on actions that invite zaps (review periods).
pub fn governance_action(
    action: &GovernanceAction,
    governance_config: &str,
    zap_address: Option<&str>,
) -> EventBuilder {
    governance_action_content(action, &action.content(), governance_config, zap_address)
}

/// [`governance_action`] with its content given: a review period's content with its pinned
/// vote `rules` ([`ActionContent::rules`]).
pub fn governance_action_content(
    action: &GovernanceAction,
    content: &ActionContent,
    governance_config: &str,
    zap_address: Option<&str>,
) -> EventBuilder {
    let mut tags = action.tags(governance_config, zap_address);
    if let Some(sealed) = content.rules.as_ref().and_then(|r| r.sealed.as_ref()) {
        tags.extend(sealed.tags());
    }
    EventBuilder::new(kind::GOVERNANCE_ACTION, to_json(content)).tags(tags)
}

/// A governance action event, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct GovernanceActionEvent {
    pub d: String,
    pub action: ActionKind,
    pub repository: Option<String>,
    pub pr: Option<u64>,
    pub tier: u8,
    pub governance_config: String,
    /// Lightning address, where zaps are invited.
    pub zap: Option<String>,
    /// Start and end, unix seconds (review periods).
    pub voting_window: Option<(Timestamp, Timestamp)>,
    pub content: ActionContent,
}

/// Reads a governance action event. Its `d` must be the one its content implies, and its
/// `action`, `repository`, `pr`, `tier` and `voting_window` tags must match the content.
pub fn parse_governance_action(event: &Event) -> Result<GovernanceActionEvent, ParseError> {
    expect_kind(event, kind::GOVERNANCE_ACTION)?;
    let d = identifier(event)?;
    if !d.starts_with(d::ACTION_PREFIX) {
        return Err(ParseError::WrongIdentifier {
            expected: format!("{}...", d::ACTION_PREFIX),
            found: d.to_owned(),
        });
    }
    let action_tag = tag_value(event, tag::ACTION)?;
    let action: ActionKind = action_tag.parse().map_err(|_| ParseError::InvalidTag {
        tag: tag::ACTION,
        value: action_tag.to_owned(),
        reason: "unknown action".to_owned(),
    })?;
    let tier: u8 = parse_number(tag::TIER, tag_value(event, tag::TIER)?)?;
    let governance_config = tag_value(event, tag::GOVERNANCE_CONFIG)?;
    let repository = tag_value(event, tag::REPOSITORY).ok();
    let pr = match tag_value(event, tag::PR) {
        Ok(pr) => Some(parse_number::<u64>(tag::PR, pr)?),
        Err(_) => None,
    };
    let zap = tag_value(event, tag::ZAP).ok().map(str::to_owned);
    let voting_window = match tag_values(event, tag::VOTING_WINDOW) {
        Some([start, end, ..]) => {
            let start: u64 = parse_number(tag::VOTING_WINDOW, start)?;
            let end: u64 = parse_number(tag::VOTING_WINDOW, end)?;
            if end <= start {
                return Err(ParseError::InvalidTag {
                    tag: tag::VOTING_WINDOW,
                    value: format!("{start}, {end}"),
                    reason: "end must be after start".to_owned(),
                });
            }
            Some((Timestamp::from_secs(start), Timestamp::from_secs(end)))
        }
        Some(values) => {
            return Err(ParseError::InvalidTag {
                tag: tag::VOTING_WINDOW,
                value: values.join(", "),
                reason: "expected start, end".to_owned(),
            })
        }
        None => None,
    };
    if action == ActionKind::ReviewPeriod && voting_window.is_none() {
        return Err(ParseError::MissingTag {
            tag: tag::VOTING_WINDOW,
        });
    }

    let content: ActionContent = content(event, "governance action")?;
    expect_match(tag::ACTION, action.as_str(), content.action.as_str())?;
    expect_match(tag::TIER, &tier.to_string(), &content.tier.to_string())?;
    let or_none = |v: Option<String>| v.unwrap_or_else(|| "(none)".to_owned());
    expect_match(
        tag::REPOSITORY,
        &or_none(repository.map(str::to_owned)),
        &or_none(content.repository.clone()),
    )?;
    expect_match(
        tag::PR,
        &or_none(pr.map(|p| p.to_string())),
        &or_none(content.pr.map(|p| p.to_string())),
    )?;
    if let (Some((start, end)), Some(window)) = (voting_window, &content.voting_window) {
        expect_match(
            tag::VOTING_WINDOW,
            &format!("{}, {}", start.as_secs(), end.as_secs()),
            &format!("{}, {}", window.start, window.end),
        )?;
    }
    if let Some(expected) = content.d_tag() {
        expect_match(tag::D, d, &expected)?;
    }
    Ok(GovernanceActionEvent {
        d: d.to_owned(),
        action,
        repository: repository.map(str::to_owned),
        pr,
        tier,
        governance_config: governance_config.to_owned(),
        zap,
        voting_window,
        content,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nostr::governance_action::testing::{parse, review_body, tags};
    use crate::nostr::governance_action::VoteRules;
    use nostr_sdk::Keys;
    use serde_json::json;

    #[test]
    fn a_review_period_with_sealed_rules_tags_each_ballot_key_and_reads_back() {
        use crate::nostr::ballot_keys::{BallotHolder, BallotKey, SealedRules};

        let action = parse(review_body()).unwrap();
        let gov = Keys::generate();
        let holder = Keys::generate().public_key();
        let sealed = SealedRules::new(vec![
            BallotHolder {
                holder: gov.public_key(),
                key: BallotKey::from_bytes([7; 32]),
            },
            BallotHolder {
                holder,
                key: BallotKey::from_bytes([8; 32]),
            },
        ]);
        let mut rules: VoteRules = serde_json::from_value(json!({
            "participation_window_days": 90, "cooling_off_threshold_btc": 0.1,
            "cooling_off_days": 30, "participation_floor": 0.1, "weight_cap": 0.05,
            "threshold": 100.0, "veto_threshold": 0.4, "zappers": []
        }))
        .expect("rules without `sealed` still read");
        assert_eq!(rules.sealed, None);
        rules.sealed = Some(sealed.clone());
        let mut content = action.content();
        content.rules = Some(rules);
        let event = governance_action_content(&action, &content, "commons_mainnet", None)
            .sign_with_keys(&gov)
            .unwrap();
        let all = tags(&event);
        let ballot_keys: Vec<&Vec<String>> = all.iter().filter(|t| t[0] == "ballot_key").collect();
        assert_eq!(
            ballot_keys,
            vec![
                &vec![
                    "ballot_key".to_owned(),
                    "07".repeat(32),
                    gov.public_key().to_hex()
                ],
                &vec!["ballot_key".to_owned(), "08".repeat(32), holder.to_hex()],
            ]
        );
        let p: Vec<&Vec<String>> = all.iter().filter(|t| t[0] == "p").collect();
        assert_eq!(p, vec![&vec!["p".to_owned(), holder.to_hex()]]);
        let read = parse_governance_action(&event).expect("parses");
        assert_eq!(read.content.rules.and_then(|r| r.sealed), Some(sealed));
    }
}
