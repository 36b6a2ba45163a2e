//! What a GitHub delivery leads to (DESIGN.md "Governance actions from GitHub"): pure rules,
//! from the event read ([`super::payload`]) and the settings to a [`Decision`].
//!
//! - `ping`: [`Decision::Pong`];
//! - `pull_request` of a repository in `github.repositories` (any case; others are ignored):
//!   - `opened`, `reopened`, `ready_for_review`, `labeled` of an open pull request that is not
//!     a draft: a `review-period`, with the pull request's title, its URL in the description,
//!     its tier ([`tier_of`]) and a window of `governance.review_days[tier - 1]` days (a tier
//!     whose days are 0 opens none). A pull request that has a review period already is
//!     refused by the action path itself (its proposal row is unique), which the route answers
//!     as a duplicate;
//!   - `closed` with `merged: true`: a `merge`, with the merge commit (`merge_commit_sha`);
//!     closed unmerged: ignored;
//! - `pull_request_review` `submitted`, `review.state` `approved` (any case), by a login in
//!   `github.keyholders` (any case): a `keyholder` approval (the login, the pull request, the
//!   reviewed commit `review.commit_id`);
//! - anything else: ignored, with the reason.
//!
//! An action is handed on as the request `POST /v1/actions` takes
//! ([`GovernanceActionRequest`]), so it meets exactly the same rules there.

use serde_json::{json, Value};

use super::payload::{PullRequest, PullRequestEvent, ReviewEvent, WebhookEvent};
use crate::configuration::{GithubSettings, GovernanceSettings};
use crate::nostr::governance_action::{
    GovernanceActionRequest, KeyholderRequest, TIERS, TITLE_MAX_CHARS,
};

/// What a delivery leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// `ping`: answered, nothing else.
    Pong,
    /// Nothing to publish, and why.
    Ignore(String),
    /// Publish this action.
    Publish(Box<GovernanceActionRequest>),
}

/// Pull request actions that open a review period.
const OPENING: [&str; 4] = ["opened", "reopened", "ready_for_review", "labeled"];

/// Title markers and their tiers, checked when no label names a tier.
const TITLE_MARKERS: [(&str, u8); 3] = [
    ("[governance]", 5),
    ("[emergency]", 4),
    ("[consensus-adjacent]", 3),
];

/// Decides what `event` leads to.
pub fn decide(
    event: &WebhookEvent,
    github: &GithubSettings,
    governance: &GovernanceSettings,
) -> Decision {
    match event {
        WebhookEvent::Ping => Decision::Pong,
        WebhookEvent::PullRequest(event) => pull_request(event, github, governance),
        WebhookEvent::Review(event) => review(event, github),
        WebhookEvent::Other(name) => {
            Decision::Ignore(format!("{name} events are not governance actions"))
        }
    }
}

fn not_followed(repository: &str) -> Decision {
    Decision::Ignore(format!("{repository} is not in github.repositories"))
}

fn pull_request(
    event: &PullRequestEvent,
    github: &GithubSettings,
    governance: &GovernanceSettings,
) -> Decision {
    if !github.follows(&event.repository) {
        return not_followed(&event.repository);
    }
    let pr = &event.pull_request;
    let action = event.action.as_str();
    if OPENING.contains(&action) {
        if pr.draft {
            return Decision::Ignore(format!(
                "pull request {} is a draft: its review period opens when it is ready for review",
                pr.number
            ));
        }
        if pr.state != "open" {
            return Decision::Ignore(format!(
                "pull request {} is {}, not open",
                pr.number, pr.state
            ));
        }
        let tier = tier_of(&pr.labels, &pr.title);
        let days = governance.review_days_for(tier).unwrap_or(0);
        if days == 0 {
            return Decision::Ignore(format!(
                "tier {tier} opens no review period (governance.review_days[{}] is 0)",
                tier - 1
            ));
        }
        let mut request = base_request("review-period", &event.repository, pr, tier);
        request.voting_window_days = Some(json!(days));
        return Decision::Publish(Box::new(request));
    }
    if action == "closed" {
        if !pr.merged {
            return Decision::Ignore(format!(
                "pull request {} was closed without merging",
                pr.number
            ));
        }
        let mut request = base_request(
            "merge",
            &event.repository,
            pr,
            tier_of(&pr.labels, &pr.title),
        );
        request.commit = pr.merge_commit_sha.clone();
        return Decision::Publish(Box::new(request));
    }
    Decision::Ignore(format!(
        "pull_request action {action} is not a governance action"
    ))
}

fn review(event: &ReviewEvent, github: &GithubSettings) -> Decision {
    if !github.follows(&event.repository) {
        return not_followed(&event.repository);
    }
    if event.action != "submitted" {
        return Decision::Ignore(format!(
            "pull_request_review action {} is not a governance action",
            event.action
        ));
    }
    if !event.state.eq_ignore_ascii_case("approved") {
        return Decision::Ignore(format!(
            "a review in state {} is not an approval",
            event.state
        ));
    }
    if !github.is_keyholder(&event.reviewer) {
        return Decision::Ignore(format!("{} is not in github.keyholders", event.reviewer));
    }
    let pr = &event.pull_request;
    let mut request = base_request(
        "keyholder",
        &event.repository,
        pr,
        tier_of(&pr.labels, &pr.title),
    );
    if let Some(url) = &event.review_url {
        let description = request.description.take().unwrap_or_default();
        request.description = Some(format!("{description}\nReview: {url}"));
    }
    request.keyholder = Some(KeyholderRequest {
        change: Some("approved".into()),
        login: Some(event.reviewer.clone()),
        commit: Some(event.commit_id.clone()),
        ..KeyholderRequest::default()
    });
    Decision::Publish(Box::new(request))
}

/// The request fields every action from a pull request has: its repository and number, tier,
/// title (one line, cut to the longest title an action takes) and URL.
fn base_request(
    action: &str,
    repository: &str,
    pr: &PullRequest,
    tier: u8,
) -> GovernanceActionRequest {
    GovernanceActionRequest {
        action: Some(action.into()),
        repository: Some(repository.to_owned()),
        pr: Some(Value::from(pr.number)),
        tier: Some(Value::from(tier)),
        title: Some(one_line_title(&pr.title)),
        description: Some(format!("Pull request: {}", pr.html_url)),
        ..GovernanceActionRequest::default()
    }
}

/// The title as one line of at most [`TITLE_MAX_CHARS`] characters.
fn one_line_title(title: &str) -> String {
    let line: String = title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let line = line.trim();
    if line.chars().count() <= TITLE_MAX_CHARS {
        return line.to_owned();
    }
    let mut cut: String = line.chars().take(TITLE_MAX_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// A pull request's tier: the number of a label `tier-N` or `tier:N` (N from 1 to 5; the
/// highest when there are several), else a title marker (`[governance]` 5, `[emergency]` 4,
/// `[consensus-adjacent]` 3; any case; the highest when there are several), else 1.
pub fn tier_of(labels: &[String], title: &str) -> u8 {
    let from_labels = labels
        .iter()
        .filter_map(|label| {
            let label = label.trim().to_ascii_lowercase();
            let n = label
                .strip_prefix("tier-")
                .or_else(|| label.strip_prefix("tier:"))?;
            n.trim().parse::<u8>().ok().filter(|n| TIERS.contains(n))
        })
        .max();
    if let Some(tier) = from_labels {
        return tier;
    }
    let title = title.to_ascii_lowercase();
    TITLE_MARKERS
        .iter()
        .filter(|(marker, _)| title.contains(marker))
        .map(|(_, tier)| *tier)
        .max()
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github() -> GithubSettings {
        GithubSettings {
            webhook_secret: None,
            repositories: vec!["btc-commons/governance".into()],
            keyholders: vec!["alice".into()],
        }
    }

    fn pr(title: &str, labels: &[&str]) -> PullRequest {
        PullRequest {
            number: 42,
            title: title.into(),
            html_url: "https://github.com/BTC-Commons/Governance/pull/42".into(),
            state: "open".into(),
            draft: false,
            merged: false,
            merge_commit_sha: None,
            labels: labels.iter().map(|l| l.to_string()).collect(),
        }
    }

    fn pr_event(action: &str, pull_request: PullRequest) -> WebhookEvent {
        WebhookEvent::PullRequest(PullRequestEvent {
            action: action.into(),
            repository: "BTC-Commons/Governance".into(),
            pull_request,
        })
    }

    fn published(decision: Decision) -> GovernanceActionRequest {
        match decision {
            Decision::Publish(request) => *request,
            other => panic!("expected an action, got {other:?}"),
        }
    }

    fn ignored(decision: Decision) -> String {
        match decision {
            Decision::Ignore(reason) => reason,
            other => panic!("expected ignored, got {other:?}"),
        }
    }

    #[test]
    fn tiers_come_from_labels_then_title_markers_then_one() {
        let t = |labels: &[&str], title: &str| {
            tier_of(
                &labels.iter().map(|l| l.to_string()).collect::<Vec<_>>(),
                title,
            )
        };
        assert_eq!(t(&["tier-3"], "x"), 3);
        assert_eq!(t(&["Tier:2"], "[governance] x"), 2);
        assert_eq!(t(&["tier-2", "tier:4"], "x"), 4);
        assert_eq!(t(&["tier-9", "bug"], "x"), 1);
        assert_eq!(t(&[], "[Governance] change the rules"), 5);
        assert_eq!(t(&[], "[emergency] fix"), 4);
        assert_eq!(t(&[], "[consensus-adjacent] p2p"), 3);
        assert_eq!(t(&[], "[emergency][governance] both"), 5);
        assert_eq!(t(&[], "plain"), 1);
    }

    #[test]
    fn opening_a_pull_request_opens_a_review_period_with_its_tiers_window() {
        let governance = GovernanceSettings::default();
        for action in OPENING {
            let request = published(decide(
                &pr_event(action, pr("Raise the cap", &["tier-3"])),
                &github(),
                &governance,
            ));
            assert_eq!(request.action.as_deref(), Some("review-period"));
            assert_eq!(request.tier, Some(json!(3)));
            assert_eq!(request.voting_window_days, Some(json!(90)));
            assert_eq!(request.pr, Some(json!(42)));
            assert_eq!(
                request.repository.as_deref(),
                Some("BTC-Commons/Governance")
            );
            assert!(request
                .description
                .as_deref()
                .is_some_and(|d| d.contains("https://github.com/BTC-Commons/Governance/pull/42")));
        }
    }

    #[test]
    fn drafts_closed_tier_four_and_other_repositories_open_nothing() {
        let governance = GovernanceSettings::default();
        let mut draft = pr("x", &[]);
        draft.draft = true;
        assert!(
            ignored(decide(&pr_event("opened", draft), &github(), &governance)).contains("draft")
        );
        let mut closed = pr("x", &[]);
        closed.state = "closed".into();
        assert!(
            ignored(decide(&pr_event("labeled", closed), &github(), &governance))
                .contains("closed")
        );
        let reason = ignored(decide(
            &pr_event("opened", pr("[emergency] x", &[])),
            &github(),
            &governance,
        ));
        assert!(reason.contains("tier 4 opens no review period"), "{reason}");
        let mut other = pr_event("opened", pr("x", &[]));
        if let WebhookEvent::PullRequest(e) = &mut other {
            e.repository = "someone/else".into();
        }
        assert!(
            ignored(decide(&other, &github(), &governance)).contains("not in github.repositories")
        );
        assert!(ignored(decide(
            &pr_event("edited", pr("x", &[])),
            &github(),
            &governance
        ))
        .contains("edited"));
    }

    #[test]
    fn a_merge_carries_its_merge_commit_and_an_unmerged_close_is_ignored() {
        let governance = GovernanceSettings::default();
        let mut merged = pr("x", &["tier-2"]);
        merged.merged = true;
        merged.state = "closed".into();
        merged.merge_commit_sha = Some("a".repeat(40));
        let request = published(decide(&pr_event("closed", merged), &github(), &governance));
        assert_eq!(request.action.as_deref(), Some("merge"));
        assert_eq!(request.commit, Some("a".repeat(40)));
        assert_eq!(request.tier, Some(json!(2)));
        let reason = ignored(decide(
            &pr_event("closed", pr("x", &[])),
            &github(),
            &governance,
        ));
        assert!(reason.contains("without merging"));
    }

    #[test]
    fn an_approval_by_a_keyholder_is_a_keyholder_action() {
        let review = |reviewer: &str, state: &str, action: &str| {
            WebhookEvent::Review(ReviewEvent {
                action: action.into(),
                repository: "btc-commons/governance".into(),
                pull_request: pr("x", &[]),
                state: state.into(),
                reviewer: reviewer.into(),
                commit_id: "b".repeat(40),
                review_url: None,
            })
        };
        let governance = GovernanceSettings::default();
        let request = published(decide(
            &review("Alice", "APPROVED", "submitted"),
            &github(),
            &governance,
        ));
        assert_eq!(request.action.as_deref(), Some("keyholder"));
        let keyholder = request.keyholder.unwrap();
        assert_eq!(keyholder.change.as_deref(), Some("approved"));
        assert_eq!(keyholder.login.as_deref(), Some("Alice"));
        assert_eq!(keyholder.commit, Some("b".repeat(40)));
        assert!(ignored(decide(
            &review("mallory", "approved", "submitted"),
            &github(),
            &governance
        ))
        .contains("not in github.keyholders"));
        assert!(ignored(decide(
            &review("alice", "commented", "submitted"),
            &github(),
            &governance
        ))
        .contains("not an approval"));
        assert!(ignored(decide(
            &review("alice", "approved", "dismissed"),
            &github(),
            &governance
        ))
        .contains("dismissed"));
    }

    #[test]
    fn long_titles_are_cut_to_one_line() {
        let title = format!("a\nb{}", "c".repeat(300));
        let cut = one_line_title(&title);
        assert_eq!(cut.chars().count(), TITLE_MAX_CHARS);
        assert!(!cut.contains('\n'));
    }
}
