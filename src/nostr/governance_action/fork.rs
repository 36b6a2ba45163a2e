//! A fork decision: a ruleset adopted or rejected, effective at a given time (keyed by the
//! ruleset, so a later decision about it supersedes the earlier one).

use nostr_sdk::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::fields::whole_number;
use super::{ActionError, ActionKind, ForkRequest, PullRequest, Summary, RULESET_MAX_CHARS};

/// `adopted` or `rejected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ForkDecision {
    Adopted,
    Rejected,
}

impl ForkDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Adopted => "adopted",
            Self::Rejected => "rejected",
        }
    }
}

/// A governance fork decision about a ruleset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkAction {
    pub(super) ruleset: String,
    pub(super) decision: ForkDecision,
    pub(super) effective_at: Timestamp,
    pub(super) pull_request: Option<PullRequest>,
    pub(super) summary: Summary,
}

impl ForkAction {
    pub fn ruleset(&self) -> &str {
        &self.ruleset
    }

    pub fn decision(&self) -> ForkDecision {
        self.decision
    }

    pub fn effective_at(&self) -> Timestamp {
        self.effective_at
    }
}

fn parse_effective_at(value: Option<Value>, now: Timestamp) -> Result<Timestamp, ActionError> {
    let invalid = || {
        ActionError::new(
            "fork.effective_at",
            "must be unix seconds or an RFC 3339 date-time",
        )
    };
    let Some(value) = value else {
        return Ok(now);
    };
    if let Some(secs) = whole_number(&value) {
        return Ok(Timestamp::from_secs(secs));
    }
    let text = value.as_str().ok_or_else(invalid)?;
    let at = chrono::DateTime::parse_from_rfc3339(text.trim()).map_err(|_| invalid())?;
    u64::try_from(at.timestamp())
        .map(Timestamp::from_secs)
        .map_err(|_| invalid())
}

pub(super) fn parse_fork(
    request: Option<ForkRequest>,
    pull_request: Option<PullRequest>,
    summary: Summary,
    now: Timestamp,
) -> Result<ForkAction, ActionError> {
    let request = request.ok_or_else(|| {
        ActionError::new(
            "fork",
            "required for fork: an object with ruleset, decision and effective_at",
        )
    })?;
    let ruleset = request
        .ruleset
        .ok_or_else(|| ActionError::required("fork.ruleset", ActionKind::Fork))?;
    let ruleset = ruleset.trim();
    let ruleset_ok = !ruleset.is_empty()
        && ruleset.len() <= RULESET_MAX_CHARS
        && ruleset
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !ruleset_ok {
        return Err(ActionError::new(
            "fork.ruleset",
            format!("must be 1 to {RULESET_MAX_CHARS} letters, digits, '-', '_' or '.'"),
        ));
    }
    let decision = request
        .decision
        .ok_or_else(|| ActionError::required("fork.decision", ActionKind::Fork))?;
    let decision = match decision.trim().to_ascii_lowercase().as_str() {
        "adopted" => ForkDecision::Adopted,
        "rejected" => ForkDecision::Rejected,
        _ => {
            return Err(ActionError::new(
                "fork.decision",
                "must be adopted or rejected",
            ))
        }
    };
    let effective_at = parse_effective_at(request.effective_at, now)?;
    Ok(ForkAction {
        ruleset: ruleset.to_owned(),
        decision,
        effective_at,
        pull_request,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nostr::governance_action::testing::{
        fork_body, parse, sign, tag_list, tags, without, NOW,
    };
    use crate::nostr::governance_action::{parse_governance_action, GovernanceAction};
    use serde_json::json;

    #[test]
    fn fork_event() {
        let action = parse(fork_body()).unwrap();
        assert_eq!(action.d_tag(), "action:fork:commons_v2");
        let (_, event) = sign(&action);
        assert_eq!(
            tags(&event),
            tag_list(&[
                &["d", "action:fork:commons_v2"],
                &["t", "governance-action"],
                &["action", "fork"],
                &["repository", "btc-commons/governance"],
                &["pr", "50"],
                &["tier", "5"],
                &["governance_config", "commons_mainnet"],
                &[
                    "alt",
                    "Governance action: ruleset commons_v2 adopted: Adopt the v2 ruleset"
                ],
            ])
        );
        let content: Value = serde_json::from_str(&event.content).unwrap();
        assert_eq!(
            content["fork"],
            json!({"ruleset": "commons_v2", "decision": "adopted", "effective_at": 1_735_689_600})
        );
        assert!(action.announcement(None).starts_with(
            "Governance fork decision: ruleset commons_v2 adopted, effective 2025-01-01 00:00 UTC"
        ));
        assert!(action
            .announcement(None)
            .contains("Pull request: btc-commons/governance#50"));
        assert!(parse_governance_action(&event).is_ok());

        // effective_at defaults to now and takes unix seconds; no pull request is fine.
        let mut body = without(without(fork_body(), "repository"), "pr");
        body["fork"]["effective_at"] = Value::Null;
        let GovernanceAction::Fork(fork) = parse(body.clone()).unwrap() else {
            panic!("a fork")
        };
        assert_eq!(fork.effective_at().as_secs(), NOW);
        body["fork"]["effective_at"] = json!(1_800_000_000);
        let GovernanceAction::Fork(fork) = parse(body).unwrap() else {
            panic!("a fork")
        };
        assert_eq!(fork.effective_at().as_secs(), 1_800_000_000);
    }
}
