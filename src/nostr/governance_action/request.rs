//! The `POST /v1/actions` body as sent ([`GovernanceActionRequest`], every field optional) and
//! why a request is refused ([`ActionError`]: the field at fault and what is wrong with it).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ActionKind;

/// The `POST /v1/actions` body as sent: every field optional and numbers lenient, so that
/// [`GovernanceAction::parse`](super::GovernanceAction::parse) can name whatever is missing or
/// wrong.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GovernanceActionRequest {
    pub action: Option<String>,
    pub repository: Option<String>,
    pub pr: Option<Value>,
    pub tier: Option<Value>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub voting_window_days: Option<Value>,
    /// A short window in seconds (60 or more), instead of `voting_window_days`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voting_window_secs: Option<Value>,
    pub keyholder: Option<KeyholderRequest>,
    pub fork: Option<ForkRequest>,
    /// `merge`: the merge commit.
    pub commit: Option<String>,
}

/// The `keyholder` object of a keyholder action request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyholderRequest {
    pub name: Option<String>,
    /// `npub1...` or 64 hex; also accepted as `npub`.
    #[serde(alias = "npub")]
    pub pubkey: Option<String>,
    /// `added`, `removed`, or `approved` (an approval of the action's pull request).
    pub change: Option<String>,
    /// `approved`: the keyholder's GitHub login.
    pub login: Option<String>,
    /// `approved`: the approved commit.
    pub commit: Option<String>,
}

/// The `fork` object of a fork action request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ForkRequest {
    pub ruleset: Option<String>,
    pub decision: Option<String>,
    /// Unix seconds or an RFC 3339 date-time.
    pub effective_at: Option<Value>,
}

impl GovernanceActionRequest {
    /// Reads a request body. A body that is not a JSON object of the right shape (say, a
    /// number for `title`) is refused with the field `body`.
    pub fn from_json(body: &[u8]) -> Result<Self, ActionError> {
        serde_json::from_slice(body).map_err(|e| ActionError::new("body", e.to_string()))
    }
}

/// Why a request is not a valid governance action: the offending field and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ActionError {
    field: &'static str,
    message: String,
}

impl ActionError {
    pub(super) fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }

    pub(super) fn required(field: &'static str, action: ActionKind) -> Self {
        Self::new(field, format!("required for {action}"))
    }

    /// The request field at fault: `action`, `tier`, `keyholder.pubkey`, ...
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// What is wrong with it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nostr::governance_action::testing::{merge_body, NOW};
    use crate::nostr::governance_action::GovernanceAction;
    use nostr_sdk::Timestamp;

    #[test]
    fn body_errors_name_the_body() {
        let err = GovernanceActionRequest::from_json(br#"{"title": 5}"#).unwrap_err();
        assert_eq!(err.field(), "body");
        let err = GovernanceActionRequest::from_json(b"not json").unwrap_err();
        assert_eq!(err.field(), "body");
        let request = GovernanceActionRequest::from_json(merge_body().to_string().as_bytes());
        assert!(GovernanceAction::parse(request.unwrap(), Timestamp::from_secs(NOW)).is_ok());
    }
}
