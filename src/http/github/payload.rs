//! GitHub's webhook payloads, read into the few values the webhook acts on.
//!
//! Only what a decision needs is read, and every value is checked for the shape GitHub
//! documents ("Webhook events and payloads"): a body that lacks one, or has it of the wrong
//! type, is a [`PayloadError`] naming the field by its path (`pull_request.number`), which the
//! route answers with a 400. Unknown fields are ignored: GitHub adds fields over time.

use serde_json::Value;

/// The `X-GitHub-Event` names the webhook reads; any other event is ignored unread.
pub mod event {
    pub const PING: &str = "ping";
    pub const PULL_REQUEST: &str = "pull_request";
    pub const PULL_REQUEST_REVIEW: &str = "pull_request_review";
}

/// A body that is not the JSON GitHub sends for its event: the field at fault, and what is
/// wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct PayloadError {
    pub field: String,
    pub problem: String,
}

impl PayloadError {
    fn new(field: &str, problem: impl Into<String>) -> PayloadError {
        PayloadError {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }
}

/// A delivery's event, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookEvent {
    /// Sent once when the webhook is created.
    Ping,
    PullRequest(PullRequestEvent),
    Review(ReviewEvent),
    /// Any other event, by its `X-GitHub-Event` name (not read).
    Other(String),
}

/// A `pull_request` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestEvent {
    /// `opened`, `closed`, `labeled`...
    pub action: String,
    /// `repository.full_name`: `owner/name`.
    pub repository: String,
    pub pull_request: PullRequest,
}

/// A `pull_request_review` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewEvent {
    /// `submitted`, `edited`, `dismissed`.
    pub action: String,
    pub repository: String,
    pub pull_request: PullRequest,
    /// `review.state`: `approved`, `changes_requested`, `commented`... (as sent).
    pub state: String,
    /// `review.user.login`.
    pub reviewer: String,
    /// `review.commit_id`: the commit reviewed.
    pub commit_id: String,
    /// `review.html_url`, when present.
    pub review_url: Option<String>,
}

/// The parts of a pull request object the webhook reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    pub html_url: String,
    /// `open` or `closed`.
    pub state: String,
    pub draft: bool,
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
    /// `labels[].name`.
    pub labels: Vec<String>,
}

/// Reads the body of an `X-GitHub-Event` delivery. Events other than the three the webhook
/// reads are not parsed at all.
pub fn parse(event_name: &str, body: &[u8]) -> Result<WebhookEvent, PayloadError> {
    let read = || -> Result<Value, PayloadError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| PayloadError::new("body", format!("not JSON: {e}")))?;
        if value.is_object() {
            Ok(value)
        } else {
            Err(PayloadError::new("body", "not a JSON object"))
        }
    };
    match event_name {
        event::PING => {
            read()?;
            Ok(WebhookEvent::Ping)
        }
        event::PULL_REQUEST => {
            let body = read()?;
            Ok(WebhookEvent::PullRequest(PullRequestEvent {
                action: string(&body, "action")?,
                repository: string(&body, "repository.full_name")?,
                pull_request: pull_request(&body, "pull_request")?,
            }))
        }
        event::PULL_REQUEST_REVIEW => {
            let body = read()?;
            Ok(WebhookEvent::Review(ReviewEvent {
                action: string(&body, "action")?,
                repository: string(&body, "repository.full_name")?,
                pull_request: pull_request(&body, "pull_request")?,
                state: string(&body, "review.state")?,
                reviewer: string(&body, "review.user.login")?,
                commit_id: string(&body, "review.commit_id")?,
                review_url: optional_string(&body, "review.html_url")?,
            }))
        }
        other => Ok(WebhookEvent::Other(other.to_owned())),
    }
}

fn pull_request(body: &Value, at: &str) -> Result<PullRequest, PayloadError> {
    let field = |name: &str| format!("{at}.{name}");
    let number = get(body, &field("number"))?;
    let number = number
        .as_u64()
        .filter(|n| *n >= 1)
        .ok_or_else(|| PayloadError::new(&field("number"), "must be a whole number, 1 or more"))?;
    let labels = match lookup(body, &field("labels")) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(labels)) => labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                string(label, "name").map_err(|e| PayloadError {
                    field: format!("{at}.labels[{i}].{}", e.field),
                    problem: e.problem,
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(PayloadError::new(&field("labels"), "must be an array")),
    };
    Ok(PullRequest {
        number,
        title: string(body, &field("title"))?,
        html_url: string(body, &field("html_url"))?,
        state: string(body, &field("state"))?,
        draft: optional_bool(body, &field("draft"))?.unwrap_or(false),
        merged: optional_bool(body, &field("merged"))?.unwrap_or(false),
        merge_commit_sha: optional_string(body, &field("merge_commit_sha"))?,
        labels,
    })
}

/// The value at a dotted `path`, if every step exists.
fn lookup<'a>(body: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(body, |value, key| value.get(key))
}

fn get<'a>(body: &'a Value, path: &str) -> Result<&'a Value, PayloadError> {
    lookup(body, path).ok_or_else(|| PayloadError::new(path, "missing"))
}

fn string(body: &Value, path: &str) -> Result<String, PayloadError> {
    get(body, path)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| PayloadError::new(path, "must be a string"))
}

fn optional_string(body: &Value, path: &str) -> Result<Option<String>, PayloadError> {
    match lookup(body, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(PayloadError::new(path, "must be a string or null")),
    }
}

fn optional_bool(body: &Value, path: &str) -> Result<Option<bool>, PayloadError> {
    match lookup(body, path) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(PayloadError::new(path, "must be true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pull_request_body() -> Value {
        json!({
            "action": "opened",
            "number": 7,
            "pull_request": {
                "number": 7, "title": "Raise the weight cap", "state": "open", "draft": false,
                "html_url": "https://github.com/btc-commons/governance/pull/7",
                "merged": false, "merge_commit_sha": null,
                "labels": [{"id": 1, "name": "tier-3", "color": "ededed"}]
            },
            "repository": {"id": 1, "full_name": "btc-commons/governance"},
            "sender": {"login": "alice"}
        })
    }

    #[test]
    fn a_pull_request_event_is_read() {
        let body = serde_json::to_vec(&pull_request_body()).unwrap();
        let WebhookEvent::PullRequest(event) = parse("pull_request", &body).unwrap() else {
            panic!("a pull request event");
        };
        assert_eq!(event.action, "opened");
        assert_eq!(event.repository, "btc-commons/governance");
        assert_eq!(event.pull_request.number, 7);
        assert_eq!(event.pull_request.labels, ["tier-3"]);
        assert!(!event.pull_request.draft);
        assert_eq!(event.pull_request.merge_commit_sha, None);
    }

    #[test]
    fn a_body_that_is_not_githubs_names_the_field() {
        let field_of = |event: &str, body: &[u8]| parse(event, body).unwrap_err().field;
        assert_eq!(field_of("pull_request", b"not json"), "body");
        assert_eq!(field_of("ping", b"[1, 2]"), "body");
        let mut body = pull_request_body();
        body["pull_request"]
            .as_object_mut()
            .unwrap()
            .remove("number");
        assert_eq!(
            field_of("pull_request", &serde_json::to_vec(&body).unwrap()),
            "pull_request.number"
        );
        let mut body = pull_request_body();
        body["pull_request"]["draft"] = json!("no");
        assert_eq!(
            field_of("pull_request", &serde_json::to_vec(&body).unwrap()),
            "pull_request.draft"
        );
        let mut body = pull_request_body();
        body["pull_request"]["labels"] = json!([{"id": 2}]);
        assert_eq!(
            field_of("pull_request", &serde_json::to_vec(&body).unwrap()),
            "pull_request.labels[0].name"
        );
        let mut body = pull_request_body();
        body.as_object_mut().unwrap().remove("repository");
        assert_eq!(
            field_of("pull_request", &serde_json::to_vec(&body).unwrap()),
            "repository.full_name"
        );
        // A review event needs its review.
        assert_eq!(
            field_of(
                "pull_request_review",
                &serde_json::to_vec(&pull_request_body()).unwrap()
            ),
            "review.state"
        );
    }

    #[test]
    fn other_events_are_not_read() {
        assert_eq!(
            parse("push", b"whatever").unwrap(),
            WebhookEvent::Other("push".into())
        );
    }
}
