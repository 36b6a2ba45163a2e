//! A merge: a pull request was merged, with its merge commit when known.

use super::{PullRequest, Summary};

/// A pull request was merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    pub(super) pull_request: PullRequest,
    pub(super) summary: Summary,
    /// The merge commit, when known.
    pub(super) commit: Option<String>,
}

#[cfg(test)]
mod tests {
    use crate::nostr::governance_action::testing::{merge_body, parse, sign, tag_list, tags};
    use crate::nostr::governance_action::{
        parse_governance_action, ActionKind, GovernanceAction, GovernanceActionRequest,
    };
    use nostr_sdk::Timestamp;
    use serde_json::{json, Value};

    #[test]
    fn merge_event() {
        let action = parse(merge_body()).unwrap();
        assert_eq!(action.kind(), ActionKind::Merge);
        assert_eq!(action.d_tag(), "action:btc-commons/governance:42:merge");
        assert!(!action.invites_zaps());
        let (_, event) = sign(&action);
        assert_eq!(event.kind.as_u16(), 30078);
        assert_eq!(
            tags(&event),
            tag_list(&[
                &["d", "action:btc-commons/governance:42:merge"],
                &["t", "governance-action"],
                &["action", "merge"],
                &["repository", "btc-commons/governance"],
                &["pr", "42"],
                &["tier", "2"],
                &["governance_config", "commons_mainnet"],
                &[
                    "alt",
                    "Governance action: merged btc-commons/governance#42: Fix the tally rounding"
                ],
            ])
        );
        let content: Value = serde_json::from_str(&event.content).unwrap();
        assert_eq!(
            content,
            json!({"action": "merge", "repository": "btc-commons/governance", "pr": 42,
                   "tier": 2, "title": "Fix the tally rounding",
                   "description": "Rounds half to even."})
        );
        assert_eq!(
            action.announcement(None),
            "Merged btc-commons/governance#42 (tier 2): Fix the tally rounding\n\n\
             Rounds half to even."
        );
        assert_eq!(
            parse_governance_action(&event).unwrap().content,
            action.content()
        );
    }

    #[test]
    fn a_merge_may_carry_its_merge_commit() {
        let body = json!({"action": "merge", "repository": "btc-commons/governance", "pr": 7,
            "tier": 1, "title": "T", "commit": "CD".repeat(32)});
        let request = GovernanceActionRequest::from_json(body.to_string().as_bytes()).unwrap();
        let action = GovernanceAction::parse(request, Timestamp::from(1)).unwrap();
        assert_eq!(action.content().commit, Some("cd".repeat(32)));
        assert!(action.announcement(None).contains(&"cd".repeat(32)));
        let mut bad = body.clone();
        bad["commit"] = json!("not a commit");
        let request = GovernanceActionRequest::from_json(bad.to_string().as_bytes()).unwrap();
        assert_eq!(
            GovernanceAction::parse(request, Timestamp::from(1))
                .unwrap_err()
                .field(),
            "commit"
        );
    }
}
