//! A review period: a pull request open for review and votes (the proposal voters zap), and its
//! [`VotingWindow`], parsed from `voting_window_days` or `voting_window_secs`.

use nostr_sdk::Timestamp;
use serde_json::Value;

use super::fields::whole_number;
use super::{
    ActionError, ActionKind, PullRequest, Summary, MIN_VOTING_WINDOW_SECS, VOTING_WINDOW_DAYS,
};

const SECONDS_PER_DAY: u64 = 86_400;

/// A pull request is open for review and votes: the proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewPeriod {
    pub(super) pull_request: PullRequest,
    pub(super) summary: Summary,
    pub(super) voting_window: VotingWindow,
}

/// The voting window of a review period: it opens at publication and lasts
/// `voting_window_days` days, or `voting_window_secs` seconds for a short vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VotingWindow {
    start: Timestamp,
    secs: u64,
}

impl VotingWindow {
    pub fn start(&self) -> Timestamp {
        self.start
    }

    pub fn end(&self) -> Timestamp {
        Timestamp::from_secs(self.start.as_secs() + self.secs)
    }

    /// Whole days (0 for a window shorter than a day).
    pub fn days(&self) -> u32 {
        u32::try_from(self.secs / SECONDS_PER_DAY).unwrap_or(u32::MAX)
    }

    /// Its length in seconds.
    pub fn secs(&self) -> u64 {
        self.secs
    }

    /// Its length as a person reads it: "14 days", "1 day", "90 seconds".
    pub fn length(&self) -> String {
        let plural = |n: u64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
        if self.secs.is_multiple_of(SECONDS_PER_DAY) {
            plural(self.secs / SECONDS_PER_DAY, "day")
        } else {
            plural(self.secs, "second")
        }
    }
}

/// `voting_window_days` (1 to 365) or `voting_window_secs` (60 to 365 days' worth), exactly one.
pub(super) fn parse_voting_window(
    days: Option<Value>,
    secs: Option<Value>,
    now: Timestamp,
) -> Result<VotingWindow, ActionError> {
    let max_secs = u64::from(*VOTING_WINDOW_DAYS.end()) * SECONDS_PER_DAY;
    match (days, secs) {
        (Some(_), Some(_)) => Err(ActionError::new(
            "voting_window_secs",
            "give voting_window_days or voting_window_secs, not both",
        )),
        (None, None) => Err(ActionError::required(
            "voting_window_days",
            ActionKind::ReviewPeriod,
        )),
        (Some(days), None) => whole_number(&days)
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| VOTING_WINDOW_DAYS.contains(n))
            .map(|days| VotingWindow {
                start: now,
                secs: u64::from(days) * SECONDS_PER_DAY,
            })
            .ok_or_else(|| ActionError::new("voting_window_days", "must be 1 to 365")),
        (None, Some(secs)) => whole_number(&secs)
            .filter(|n| (MIN_VOTING_WINDOW_SECS..=max_secs).contains(n))
            .map(|secs| VotingWindow { start: now, secs })
            .ok_or_else(|| {
                ActionError::new(
                    "voting_window_secs",
                    format!("must be {MIN_VOTING_WINDOW_SECS} to {max_secs} (365 days)"),
                )
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nostr::events::proposal_coordinate;
    use crate::nostr::governance_action::parse_governance_action;
    use crate::nostr::governance_action::testing::{
        merge_body, parse, review_body, sign, tag_list, tags, with, NOW,
    };
    use nostr_sdk::nips::nip19::Nip19Coordinate;
    use nostr_sdk::{EventId, RelayUrl};
    use serde_json::json;

    #[test]
    fn a_short_window_in_seconds_instead_of_days() {
        let mut body = review_body();
        body.as_object_mut().map(|o| o.remove("voting_window_days"));
        let action = parse(with(body.clone(), "voting_window_secs", json!(90))).unwrap();
        let window = action.voting_window().unwrap();
        assert_eq!(window.end().as_secs(), NOW + 90);
        assert_eq!((window.secs(), window.days()), (90, 0));
        assert!(action.announcement(None).contains("(90 seconds)"));
        assert_eq!(
            parse(with(body.clone(), "voting_window_secs", json!(60)))
                .unwrap()
                .voting_window()
                .unwrap()
                .secs(),
            60
        );
        for (bad, field) in [
            (
                with(body.clone(), "voting_window_secs", json!(59)),
                "voting_window_secs",
            ),
            (
                with(body.clone(), "voting_window_secs", json!(-60)),
                "voting_window_secs",
            ),
            (
                with(body.clone(), "voting_window_secs", json!("soon")),
                "voting_window_secs",
            ),
            (
                with(body.clone(), "voting_window_secs", json!(366 * 86_400)),
                "voting_window_secs",
            ),
            (
                with(review_body(), "voting_window_secs", json!(90)),
                "voting_window_secs",
            ),
            (
                with(merge_body(), "voting_window_secs", json!(90)),
                "voting_window_secs",
            ),
            (body.clone(), "voting_window_days"),
        ] {
            let error = parse(bad.clone()).expect_err("refused");
            assert!(error.to_string().starts_with(field), "{bad}: {error}");
        }
    }

    #[test]
    fn review_period_event() {
        let action = parse(review_body()).unwrap();
        let end = NOW + 14 * 86_400;
        let window = action.voting_window().unwrap();
        assert_eq!(
            (
                window.start().as_secs(),
                window.end().as_secs(),
                window.days()
            ),
            (NOW, end, 14)
        );
        assert!(action.invites_zaps());
        let (keys, event) = sign(&action);
        assert_eq!(
            tags(&event),
            tag_list(&[
                &["d", "action:btc-commons/governance:43:review-period"],
                &["t", "governance-action"],
                &["action", "review-period"],
                &["repository", "btc-commons/governance"],
                &["pr", "43"],
                &["tier", "3"],
                &["governance_config", "commons_mainnet"],
                &["voting_window", &NOW.to_string(), &end.to_string()],
                &["zap", "gov@example.org"],
                &["alt", &action.alt(Some("gov@example.org"))],
            ])
        );
        assert_eq!(
            action.alt(Some("gov@example.org")),
            "Governance proposal: Raise the weight cap, btc-commons/governance#43 (tier 3). \
             Zap to vote (gov@example.org) until 2023-11-28 22:13 UTC: write support, veto or \
             abstain in the zap comment, or tap an option of its zap poll."
        );
        let content: Value = serde_json::from_str(&event.content).unwrap();
        assert_eq!(
            content,
            json!({"action": "review-period", "repository": "btc-commons/governance",
                   "pr": 43, "tier": 3, "title": "Raise the weight cap", "description": "",
                   "voting_window": {"start": NOW, "end": end, "days": 14}})
        );
        let address = proposal_coordinate(&keys.public_key(), &action.d_tag());
        let text = action.announcement(Some(&address));
        assert!(text.starts_with(
            "Review period open for btc-commons/governance#43 (tier 3): Raise the weight cap"
        ));
        assert!(text.contains("Voting closes 2023-11-28 22:13 UTC (14 days)"));
        assert!(text.contains("\n\nnostr:naddr1"));
        assert!(text.contains("zap this note and write support, veto or abstain"));
        assert!(text.contains("zap poll"));
        assert_eq!(
            action.announcement_hashtags(),
            ["governance", "review-period", "governance-proposal"]
        );
        // With relay hints and the poll's nevent.
        let relay = RelayUrl::parse("wss://relay.example.org").unwrap();
        let with = action.announcement_with(Some(&address), &[relay], Some("nevent1xyz"), None);
        assert!(with.contains("\n\nZap poll: nostr:nevent1xyz"));
        let naddr = with.rsplit("nostr:").next().unwrap();
        let decoded = <Nip19Coordinate as nostr_sdk::FromBech32>::from_bech32(naddr).unwrap();
        assert_eq!(decoded.relays.len(), 1);
        assert_eq!(decoded.coordinate, address);
        assert!(
            !with.contains("sealed ballot"),
            "no keys pinned, no sealed ballots"
        );
        // A proposal that pins ballot keys says how to seal a vote and what it hides.
        let proposal = EventId::from_byte_array([0xab; 32]);
        let sealed = action.announcement_with(Some(&address), &[], None, Some(&proposal));
        assert!(sealed.contains(&format!(
            "commons-nostr ballot {} --vote veto --voter <your npub>",
            proposal.to_hex()
        )));
        assert!(sealed.contains("hides your choice until 2023-11-28 22:13 UTC"));
        assert!(sealed.contains("your npub and the amount you zap are public"));
        assert!(
            sealed.contains("\n\nnostr:naddr1"),
            "the naddr link stays last"
        );
        let poll = action.zap_poll_content(None).unwrap();
        assert!(poll.starts_with("btc-commons/governance#43 (review-period): Raise the weight cap"));
        assert!(poll.contains("square root of the bitcoin"));
        assert_eq!(parse(merge_body()).unwrap().zap_poll_content(None), None);
        assert_eq!(
            parse_governance_action(&event).unwrap().content,
            action.content()
        );
    }
}
