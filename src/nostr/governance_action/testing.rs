//! Test fixtures: a request body of each action, parsed at a fixed [`NOW`], signed with a fresh
//! key, and an event's tags as strings.

use nostr_sdk::{Event, Keys, Timestamp};
use serde_json::{json, Value};

use super::{governance_action, ActionError, GovernanceAction, GovernanceActionRequest};

pub(super) const NOW: u64 = 1_700_000_000;

pub(super) fn parse(body: Value) -> Result<GovernanceAction, ActionError> {
    let request: GovernanceActionRequest = serde_json::from_value(body).expect("request shape");
    GovernanceAction::parse(request, Timestamp::from_secs(NOW))
}

pub(super) fn merge_body() -> Value {
    json!({"action": "merge", "repository": "btc-commons/governance", "pr": 42, "tier": 2,
           "title": "Fix the tally rounding", "description": "Rounds half to even."})
}

pub(super) fn review_body() -> Value {
    json!({"action": "review-period", "repository": "btc-commons/governance", "pr": 43,
           "tier": 3, "title": "Raise the weight cap", "voting_window_days": 14})
}

pub(super) fn keyholder_body(pubkey: &str) -> Value {
    json!({"action": "keyholder", "tier": 4, "title": "Welcome Alice",
           "keyholder": {"name": "Alice", "pubkey": pubkey, "change": "added"}})
}

pub(super) fn fork_body() -> Value {
    json!({"action": "fork", "tier": 5, "title": "Adopt the v2 ruleset",
           "repository": "btc-commons/governance", "pr": 50,
           "fork": {"ruleset": "commons_v2", "decision": "adopted",
                    "effective_at": "2025-01-01T00:00:00Z"}})
}

pub(super) fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

pub(super) fn without(mut body: Value, key: &str) -> Value {
    body.as_object_mut().unwrap().remove(key);
    body
}

pub(super) fn error(body: Value) -> ActionError {
    parse(body).expect_err("the request is refused")
}

pub(super) fn sign(action: &GovernanceAction) -> (Keys, Event) {
    let keys = Keys::generate();
    let event = governance_action(action, "commons_mainnet", Some("gov@example.org"))
        .sign_with_keys(&keys)
        .unwrap();
    event.verify().expect("verifies");
    (keys, event)
}

pub(super) fn tags(event: &Event) -> Vec<Vec<String>> {
    event.tags.iter().map(|t| t.as_slice().to_vec()).collect()
}

pub(super) fn tag_list(tags: &[&[&str]]) -> Vec<Vec<String>> {
    tags.iter()
        .map(|t| t.iter().map(|s| s.to_string()).collect())
        .collect()
}
