//! The values every action is made of, each parsed once: which action ([`ActionKind`]), the
//! [`Repository`] and [`PullRequest`] it is about, its [`Tier`] and its [`Summary`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ActionError, REPOSITORY_PART_MAX_CHARS};
use crate::nostr::events;

/// Which action: the `action` field, tag and content value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    Merge,
    ReviewPeriod,
    Keyholder,
    Fork,
}

impl ActionKind {
    pub const ALL: [ActionKind; 4] = [
        ActionKind::Merge,
        ActionKind::ReviewPeriod,
        ActionKind::Keyholder,
        ActionKind::Fork,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Merge => events::action::MERGE,
            Self::ReviewPeriod => events::action::REVIEW_PERIOD,
            Self::Keyholder => events::action::KEYHOLDER,
            Self::Fork => events::action::FORK,
        }
    }

    /// Whether the action is about one pull request, always.
    pub(super) fn needs_pull_request(self) -> bool {
        matches!(self, Self::Merge | Self::ReviewPeriod)
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ActionKind {
    type Err = ActionError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == value)
            .ok_or_else(|| {
                ActionError::new(
                    "action",
                    format!(
                        "unknown action '{value}' (expected merge, review-period, keyholder or fork)"
                    ),
                )
            })
    }
}

impl Serialize for ActionKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ActionKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        value.parse().map_err(serde::de::Error::custom)
    }
}

/// `owner/name`: two non-empty parts of letters, digits, `-`, `_` and `.`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repository(String);

impl Repository {
    pub fn parse(value: &str) -> Result<Self, ActionError> {
        let invalid = || {
            ActionError::new(
                "repository",
                format!(
                    "must look like owner/name (letters, digits, '-', '_', '.'), got '{value}'"
                ),
            )
        };
        let (owner, name) = value.trim().split_once('/').ok_or_else(invalid)?;
        let part_ok = |part: &str| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part.len() <= REPOSITORY_PART_MAX_CHARS
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        if part_ok(owner) && part_ok(name) {
            Ok(Self(format!("{owner}/{name}")))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A repository and a pull-request number (1 or more).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PullRequest {
    pub(super) repository: Repository,
    pub(super) number: u64,
}

impl PullRequest {
    pub fn repository(&self) -> &Repository {
        &self.repository
    }

    pub fn number(&self) -> u64 {
        self.number
    }
}

impl fmt::Display for PullRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.repository.as_str(), self.number)
    }
}

/// Governance tier, 1 to 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tier(pub(super) u8);

impl Tier {
    pub fn get(self) -> u8 {
        self.0
    }
}

/// What every action says about itself: tier, title and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub(super) tier: Tier,
    pub(super) title: String,
    pub(super) description: String,
}

impl Summary {
    pub fn tier(&self) -> Tier {
        self.tier
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn description(&self) -> &str {
        &self.description
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nostr::governance_action::testing::{error, fork_body, merge_body, with, without};
    use serde_json::json;

    #[test]
    fn bad_repositories_are_refused() {
        for repository in [
            "noslash",
            "a/b/c",
            "a b/c",
            "a:b/c",
            "a/b:c",
            "/name",
            "owner/",
            "../x",
            "owner/..",
            "",
            "ówner/name",
        ] {
            let err = error(with(merge_body(), "repository", json!(repository)));
            assert_eq!(err.field(), "repository", "{repository}");
            assert!(err.message().starts_with("must look like owner/name"));
        }
        // Checked before pr is missing, so the operator learns about both in a sensible order.
        let err = error(with(without(fork_body(), "pr"), "repository", json!("bad")));
        assert_eq!(err.field(), "repository");
    }

    #[test]
    fn action_kinds_round_trip() {
        for kind in ActionKind::ALL {
            assert_eq!(kind.as_str().parse::<ActionKind>().unwrap(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(serde_json::from_str::<ActionKind>(&json).unwrap(), kind);
        }
        assert!(serde_json::from_str::<ActionKind>("\"vote\"").is_err());
    }
}
