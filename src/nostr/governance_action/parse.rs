//! [`GovernanceAction::parse`]: a request into an action, refusing fields that belong to
//! another action, and the parsers of the fields only the common part reads (tier, pull
//! request, summary); those every action's own part reads too are in `fields`.

use nostr_sdk::Timestamp;
use serde_json::Value;

use super::fields::{one_line, parse_commit, whole_number};
use super::fork::parse_fork;
use super::keyholder::parse_keyholder;
use super::review_period::parse_voting_window;
use super::{
    ActionError, ActionKind, GovernanceAction, GovernanceActionRequest, Merge, PullRequest,
    Repository, ReviewPeriod, Summary, Tier, DESCRIPTION_MAX_CHARS, TIERS, TITLE_MAX_CHARS,
};

fn parse_tier(value: Option<&Value>, action: ActionKind) -> Result<Tier, ActionError> {
    let value = value.ok_or_else(|| ActionError::required("tier", action))?;
    whole_number(value)
        .and_then(|n| u8::try_from(n).ok())
        .filter(|n| TIERS.contains(n))
        .map(Tier)
        .ok_or_else(|| ActionError::new("tier", "must be 1 to 5"))
}

fn parse_pr(value: &Value) -> Result<u64, ActionError> {
    whole_number(value)
        .filter(|n| *n >= 1)
        .ok_or_else(|| ActionError::new("pr", "must be a whole number, 1 or more"))
}

fn parse_pull_request(
    repository: Option<String>,
    pr: Option<Value>,
    action: ActionKind,
) -> Result<Option<PullRequest>, ActionError> {
    match (repository, pr) {
        (Some(repository), Some(pr)) => {
            let repository = Repository::parse(&repository)?;
            let number = parse_pr(&pr)?;
            Ok(Some(PullRequest { repository, number }))
        }
        (None, None) if !action.needs_pull_request() => Ok(None),
        (None, _) if action.needs_pull_request() => {
            Err(ActionError::required("repository", action))
        }
        (Some(repository), None) => {
            Repository::parse(&repository)?;
            if action.needs_pull_request() {
                Err(ActionError::required("pr", action))
            } else {
                Err(ActionError::new("pr", "required when repository is given"))
            }
        }
        (None, _) => Err(ActionError::new("repository", "required when pr is given")),
    }
}

fn parse_summary(
    tier: Option<Value>,
    title: Option<String>,
    description: Option<String>,
    action: ActionKind,
) -> Result<Summary, ActionError> {
    let tier = parse_tier(tier.as_ref(), action)?;
    let title = one_line("title", title, TITLE_MAX_CHARS, action)?;
    let description = description.unwrap_or_default().trim().to_owned();
    if description.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(ActionError::new(
            "description",
            format!("at most {DESCRIPTION_MAX_CHARS} characters"),
        ));
    }
    Ok(Summary {
        tier,
        title,
        description,
    })
}

impl GovernanceAction {
    /// Parses a request into an action. `now` opens a review period's voting window and is a
    /// fork decision's default `effective_at`.
    pub fn parse(request: GovernanceActionRequest, now: Timestamp) -> Result<Self, ActionError> {
        let action: ActionKind = match request.action.as_deref().map(str::trim) {
            None | Some("") => {
                return Err(ActionError::new(
                    "action",
                    "required: merge, review-period, keyholder or fork",
                ))
            }
            Some(action) => action.parse()?,
        };
        if request.voting_window_days.is_some() && action != ActionKind::ReviewPeriod {
            return Err(ActionError::new(
                "voting_window_days",
                "only review-period takes a voting window",
            ));
        }
        if request.voting_window_secs.is_some() && action != ActionKind::ReviewPeriod {
            return Err(ActionError::new(
                "voting_window_secs",
                "only review-period takes a voting window",
            ));
        }
        if request.keyholder.is_some() && action != ActionKind::Keyholder {
            return Err(ActionError::new(
                "keyholder",
                "only the keyholder action takes a keyholder object",
            ));
        }
        if request.commit.is_some() && action != ActionKind::Merge {
            return Err(ActionError::new(
                "commit",
                "only merge takes a commit (an approval's is keyholder.commit)",
            ));
        }
        if request.fork.is_some() && action != ActionKind::Fork {
            return Err(ActionError::new(
                "fork",
                "only the fork action takes a fork object",
            ));
        }

        let pull_request = parse_pull_request(request.repository, request.pr, action)?;
        let summary = parse_summary(request.tier, request.title, request.description, action)?;
        let required = |pull_request: Option<PullRequest>| {
            pull_request.ok_or_else(|| ActionError::required("repository", action))
        };
        Ok(match action {
            ActionKind::Merge => Self::Merge(Merge {
                pull_request: required(pull_request)?,
                summary,
                commit: request
                    .commit
                    .map(|c| parse_commit("commit", &c))
                    .transpose()?,
            }),
            ActionKind::ReviewPeriod => Self::ReviewPeriod(ReviewPeriod {
                voting_window: parse_voting_window(
                    request.voting_window_days,
                    request.voting_window_secs,
                    now,
                )?,
                pull_request: required(pull_request)?,
                summary,
            }),
            ActionKind::Keyholder => parse_keyholder(request.keyholder, pull_request, summary)?,
            ActionKind::Fork => Self::Fork(parse_fork(request.fork, pull_request, summary, now)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nostr::governance_action::testing::{
        error, fork_body, keyholder_body, merge_body, parse, review_body, with, without,
    };
    use nostr_sdk::Keys;
    use serde_json::json;

    #[test]
    fn lenient_input_is_accepted() {
        let body = json!({"action": " merge ", "repository": " a/b ", "pr": "7", "tier": "1",
                          "title": "  Hi  ", "unknown": true});
        let action = parse(body).unwrap();
        assert_eq!(action.d_tag(), "action:a/b:7:merge");
        assert_eq!(action.title(), "Hi");
        assert_eq!(action.tier().get(), 1);
        let action = parse(with(review_body(), "voting_window_days", json!("365"))).unwrap();
        assert_eq!(action.voting_window().unwrap().days(), 365);
        let action = parse(with(merge_body(), "tier", json!(5.0))).unwrap();
        assert_eq!(action.tier().get(), 5);
    }

    #[test]
    fn every_error_names_its_field() {
        let pubkey = Keys::generate().public_key().to_hex();
        let cases: Vec<(Value, &str, &str)> = vec![
            (
                with(merge_body(), "action", json!("foo")),
                "action",
                "unknown action 'foo'",
            ),
            (without(merge_body(), "action"), "action", "required"),
            (
                with(merge_body(), "action", json!("")),
                "action",
                "required",
            ),
            (
                without(merge_body(), "repository"),
                "repository",
                "required for merge",
            ),
            (
                without(review_body(), "repository"),
                "repository",
                "required for review-period",
            ),
            (without(merge_body(), "pr"), "pr", "required for merge"),
            (without(merge_body(), "tier"), "tier", "required for merge"),
            (
                without(merge_body(), "title"),
                "title",
                "required for merge",
            ),
            (
                without(review_body(), "voting_window_days"),
                "voting_window_days",
                "required for review-period",
            ),
            (
                with(merge_body(), "tier", json!(0)),
                "tier",
                "must be 1 to 5",
            ),
            (
                with(merge_body(), "tier", json!(6)),
                "tier",
                "must be 1 to 5",
            ),
            (
                with(merge_body(), "tier", json!(-1)),
                "tier",
                "must be 1 to 5",
            ),
            (
                with(merge_body(), "tier", json!("high")),
                "tier",
                "must be 1 to 5",
            ),
            (
                with(merge_body(), "tier", json!(2.5)),
                "tier",
                "must be 1 to 5",
            ),
            (
                with(merge_body(), "tier", json!(256)),
                "tier",
                "must be 1 to 5",
            ),
            (with(merge_body(), "pr", json!(0)), "pr", "1 or more"),
            (with(merge_body(), "pr", json!("x")), "pr", "1 or more"),
            (
                with(merge_body(), "title", json!("   ")),
                "title",
                "must not be empty",
            ),
            (
                with(merge_body(), "title", json!("a".repeat(201))),
                "title",
                "at most 200",
            ),
            (
                with(merge_body(), "title", json!("two\nlines")),
                "title",
                "single line",
            ),
            (
                with(merge_body(), "description", json!("a".repeat(10_001))),
                "description",
                "at most 10000",
            ),
            (
                with(review_body(), "voting_window_days", json!(0)),
                "voting_window_days",
                "must be 1 to 365",
            ),
            (
                with(review_body(), "voting_window_days", json!(366)),
                "voting_window_days",
                "must be 1 to 365",
            ),
            (
                with(merge_body(), "voting_window_days", json!(14)),
                "voting_window_days",
                "only review-period",
            ),
            (
                with(merge_body(), "keyholder", json!({})),
                "keyholder",
                "only the keyholder action",
            ),
            (
                with(merge_body(), "fork", json!({})),
                "fork",
                "only the fork action",
            ),
            (
                without(keyholder_body(&pubkey), "keyholder"),
                "keyholder",
                "required for keyholder",
            ),
            (
                with(
                    keyholder_body(&pubkey),
                    "keyholder",
                    json!({"pubkey": pubkey, "change": "added"}),
                ),
                "keyholder.name",
                "required",
            ),
            (
                with(
                    keyholder_body(&pubkey),
                    "keyholder",
                    json!({"name": "A", "change": "added"}),
                ),
                "keyholder.pubkey",
                "required",
            ),
            (
                keyholder_body("npub1notakey"),
                "keyholder.pubkey",
                "npub or a 64-hex",
            ),
            (
                with(
                    keyholder_body(&pubkey),
                    "keyholder",
                    json!({"name": "A", "pubkey": pubkey}),
                ),
                "keyholder.change",
                "required",
            ),
            (
                with(
                    keyholder_body(&pubkey),
                    "keyholder",
                    json!({"name": "A", "pubkey": pubkey, "change": "promoted"}),
                ),
                "keyholder.change",
                "added or removed",
            ),
            (
                without(keyholder_body(&pubkey), "tier"),
                "tier",
                "required for keyholder",
            ),
            (without(fork_body(), "fork"), "fork", "required for fork"),
            (
                with(fork_body(), "fork", json!({"decision": "adopted"})),
                "fork.ruleset",
                "required",
            ),
            (
                with(
                    fork_body(),
                    "fork",
                    json!({"ruleset": "a:b", "decision": "adopted"}),
                ),
                "fork.ruleset",
                "letters, digits",
            ),
            (
                with(fork_body(), "fork", json!({"ruleset": "v2"})),
                "fork.decision",
                "required",
            ),
            (
                with(
                    fork_body(),
                    "fork",
                    json!({"ruleset": "v2", "decision": "maybe"}),
                ),
                "fork.decision",
                "adopted or rejected",
            ),
            (
                with(
                    fork_body(),
                    "fork",
                    json!({"ruleset": "v2", "decision": "adopted", "effective_at": "soon"}),
                ),
                "fork.effective_at",
                "RFC 3339",
            ),
            (
                with(
                    fork_body(),
                    "fork",
                    json!({"ruleset": "v2", "decision": "adopted", "effective_at": -5}),
                ),
                "fork.effective_at",
                "RFC 3339",
            ),
            (
                without(fork_body(), "pr"),
                "pr",
                "required when repository is given",
            ),
            (
                without(fork_body(), "repository"),
                "repository",
                "required when pr is given",
            ),
        ];
        for (body, field, message) in cases {
            let err = error(body.clone());
            assert_eq!(err.field(), field, "{body}: {err}");
            assert!(err.message().contains(message), "{body}: {err}");
            assert_eq!(err.to_string(), format!("{}: {}", field, err.message()));
        }
    }

    #[test]
    fn specific_messages_read_well() {
        assert_eq!(
            error(with(merge_body(), "tier", json!(0))).to_string(),
            "tier: must be 1 to 5"
        );
        assert_eq!(
            error(without(review_body(), "voting_window_days")).to_string(),
            "voting_window_days: required for review-period"
        );
        assert!(error(with(merge_body(), "action", json!("foo")))
            .to_string()
            .starts_with("action: unknown action 'foo'"));
    }
}
