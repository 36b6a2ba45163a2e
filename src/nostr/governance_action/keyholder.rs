//! A keyholder action: a keyholder added or removed (keyed by the key), or a keyholder's
//! approval of a pull request at a commit (keyed by the pull request and the login).

use nostr_sdk::PublicKey;
use serde::{Deserialize, Serialize};

use super::fields::{one_line, parse_commit};
use super::{
    ActionError, ActionKind, GovernanceAction, KeyholderRequest, PullRequest, Summary,
    NAME_MAX_CHARS,
};

/// `added` or `removed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyholderChange {
    Added,
    Removed,
}

impl KeyholderChange {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
        }
    }
}

/// A keyholder was added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyholderAction {
    pub(super) name: String,
    pub(super) pubkey: PublicKey,
    pub(super) change: KeyholderChange,
    pub(super) pull_request: Option<PullRequest>,
    pub(super) summary: Summary,
}

impl KeyholderAction {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pubkey(&self) -> &PublicKey {
        &self.pubkey
    }

    pub fn change(&self) -> KeyholderChange {
        self.change
    }
}

/// A keyholder approved a pull request at a commit (an approving review: their signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyholderApproval {
    /// The keyholder's GitHub login, lower-cased.
    pub(super) login: String,
    /// Hex, lower-cased.
    pub(super) commit: String,
    pub(super) pull_request: PullRequest,
    pub(super) summary: Summary,
}

impl KeyholderApproval {
    pub fn login(&self) -> &str {
        &self.login
    }

    pub fn commit(&self) -> &str {
        &self.commit
    }
}

/// `keyholder` with `change` = `approved`: login, commit and the pull request.
fn parse_approval(
    request: KeyholderRequest,
    pull_request: Option<PullRequest>,
    summary: Summary,
) -> Result<KeyholderApproval, ActionError> {
    for (field, given) in [
        ("keyholder.name", request.name.is_some()),
        ("keyholder.pubkey", request.pubkey.is_some()),
    ] {
        if given {
            return Err(ActionError::new(
                field,
                "not taken by an approval (change approved): it names a login",
            ));
        }
    }
    let login = request
        .login
        .ok_or_else(|| ActionError::new("keyholder.login", "required for an approval"))?
        .trim()
        .to_ascii_lowercase();
    if !crate::configuration::is_github_login(&login) {
        return Err(ActionError::new(
            "keyholder.login",
            "must be a GitHub login: 1 to 39 letters, digits or '-'",
        ));
    }
    let commit = request
        .commit
        .ok_or_else(|| ActionError::new("keyholder.commit", "required for an approval"))?;
    let commit = parse_commit("keyholder.commit", &commit)?;
    let pull_request = pull_request.ok_or_else(|| {
        ActionError::new(
            "repository",
            "required for an approval: the approved pull request",
        )
    })?;
    Ok(KeyholderApproval {
        login,
        commit,
        pull_request,
        summary,
    })
}

pub(super) fn parse_keyholder(
    request: Option<KeyholderRequest>,
    pull_request: Option<PullRequest>,
    summary: Summary,
) -> Result<GovernanceAction, ActionError> {
    let request = request.ok_or_else(|| {
        ActionError::new(
            "keyholder",
            "required for keyholder: an object with name, pubkey and change",
        )
    })?;
    let approves = request
        .change
        .as_deref()
        .is_some_and(|c| c.trim().eq_ignore_ascii_case("approved"));
    if approves {
        return parse_approval(request, pull_request, summary)
            .map(GovernanceAction::KeyholderApproval);
    }
    for (field, given) in [
        ("keyholder.login", request.login.is_some()),
        ("keyholder.commit", request.commit.is_some()),
    ] {
        if given {
            return Err(ActionError::new(
                field,
                "only an approval (change approved) takes it",
            ));
        }
    }
    let name = one_line(
        "keyholder.name",
        request.name,
        NAME_MAX_CHARS,
        ActionKind::Keyholder,
    )?;
    let pubkey = request
        .pubkey
        .ok_or_else(|| ActionError::required("keyholder.pubkey", ActionKind::Keyholder))?;
    let pubkey = PublicKey::parse(pubkey.trim()).map_err(|_| {
        ActionError::new("keyholder.pubkey", "must be an npub or a 64-hex public key")
    })?;
    let change = request
        .change
        .ok_or_else(|| ActionError::required("keyholder.change", ActionKind::Keyholder))?;
    let change = match change.trim().to_ascii_lowercase().as_str() {
        "added" => KeyholderChange::Added,
        "removed" => KeyholderChange::Removed,
        _ => {
            return Err(ActionError::new(
                "keyholder.change",
                "must be added or removed (or approved: an approval of the pull request)",
            ))
        }
    };
    Ok(GovernanceAction::Keyholder(KeyholderAction {
        name,
        pubkey,
        change,
        pull_request,
        summary,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nostr::governance_action::testing::{keyholder_body, parse, sign, tag_list, tags};
    use crate::nostr::governance_action::{
        parse_governance_action, ApprovalContent, GovernanceActionRequest,
    };
    use nostr_sdk::{Keys, Timestamp, ToBech32};
    use serde_json::{json, Value};

    #[test]
    fn keyholder_event_is_keyed_by_the_key_whatever_its_spelling() {
        let pubkey = Keys::generate().public_key();
        let npub = pubkey.to_bech32().unwrap();
        let by_hex = parse(keyholder_body(&pubkey.to_hex())).unwrap();
        let by_npub = parse(keyholder_body(&npub)).unwrap();
        let mut body = keyholder_body("");
        body["keyholder"] = json!({"name": "Alice", "npub": npub, "change": "added"});
        let by_npub_field = parse(body).unwrap();
        assert_eq!(by_hex, by_npub);
        assert_eq!(by_hex, by_npub_field);
        let d = format!("action:keyholder:{}", pubkey.to_hex());
        assert_eq!(by_hex.d_tag(), d);

        let (_, event) = sign(&by_hex);
        assert_eq!(
            tags(&event),
            tag_list(&[
                &["d", &d],
                &["t", "governance-action"],
                &["action", "keyholder"],
                &["tier", "4"],
                &["governance_config", "commons_mainnet"],
                &["p", &pubkey.to_hex()],
                &[
                    "alt",
                    "Governance action: keyholder Alice added: Welcome Alice"
                ],
            ])
        );
        let content: Value = serde_json::from_str(&event.content).unwrap();
        assert_eq!(
            content,
            json!({"action": "keyholder", "tier": 4, "title": "Welcome Alice",
                   "description": "", "keyholder": {"name": "Alice", "pubkey": pubkey.to_hex(),
                   "npub": npub, "change": "added"}})
        );
        assert!(by_hex
            .announcement(None)
            .starts_with(&format!("Keyholder added: Alice ({npub})")));
        assert_eq!(parse_governance_action(&event).unwrap().d, d);
    }

    #[test]
    fn an_approval_is_a_keyholder_action_keyed_by_pull_request_and_login() {
        let commit = "AB".repeat(20);
        let body = json!({"action": "keyholder", "repository": "btc-commons/governance",
            "pr": 7, "tier": 2, "title": "Raise the cap",
            "keyholder": {"change": "approved", "login": "Alice-Keys", "commit": commit}});
        let request = GovernanceActionRequest::from_json(body.to_string().as_bytes()).unwrap();
        let action = GovernanceAction::parse(request, Timestamp::from(1)).unwrap();
        assert_eq!(action.kind(), ActionKind::Keyholder);
        assert_eq!(
            action.d_tag(),
            "action:btc-commons/governance:7:keyholder:alice-keys"
        );
        let content = action.content();
        assert_eq!(
            content.approval,
            Some(ApprovalContent {
                login: "alice-keys".into(),
                commit: "ab".repeat(20),
            })
        );
        assert_eq!(content.keyholder, None);
        assert_eq!(content.d_tag(), Some(action.d_tag()));
        assert!(!action
            .tags("c", None)
            .iter()
            .any(|t| t.as_slice().first().map(String::as_str) == Some("p")));
        assert!(action.announcement(None).contains("alice-keys approved"));

        let refused = |keyholder: Value, extra: Option<(&str, Value)>| {
            let mut body = body.clone();
            body["keyholder"] = keyholder;
            if let Some((key, value)) = extra {
                body[key] = value;
            }
            let request = GovernanceActionRequest::from_json(body.to_string().as_bytes()).unwrap();
            GovernanceAction::parse(request, Timestamp::from(1))
                .unwrap_err()
                .field()
        };
        assert_eq!(
            refused(
                json!({"change": "approved", "commit": "ab".repeat(20)}),
                None
            ),
            "keyholder.login"
        );
        assert_eq!(
            refused(
                json!({"change": "approved", "login": "a b", "commit": "ab".repeat(20)}),
                None
            ),
            "keyholder.login"
        );
        assert_eq!(
            refused(
                json!({"change": "approved", "login": "alice", "commit": "xyz"}),
                None
            ),
            "keyholder.commit"
        );
        assert_eq!(
            refused(
                json!({"change": "added", "name": "A", "login": "alice",
                       "pubkey": "2e9af54486b747bffdffd65639452151ba532ac81b11561b3bf17e4c028c6459"}),
                None
            ),
            "keyholder.login"
        );
        assert_eq!(
            refused(
                json!({"change": "approved", "login": "alice", "commit": "ab".repeat(20)}),
                Some(("commit", json!("ab".repeat(20))))
            ),
            "commit"
        );
    }
}
