//! `commons-nostr action`: the flags and `--json` file that make the `POST /v1/actions` body.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{Map, Value};

/// `commons-nostr action`: the fields of the POST /v1/actions body. With `--json FILE` the
/// file (or `-` for stdin) is the body and the flags given override its fields.
#[derive(Debug, Args)]
pub struct ActionArgs {
    /// The request body as a JSON file (`-`: stdin).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// merge, review-period, keyholder or fork.
    #[arg(long)]
    pub action: Option<String>,
    /// owner/name.
    #[arg(long)]
    pub repository: Option<String>,
    /// The pull-request number.
    #[arg(long)]
    pub pr: Option<u64>,
    /// The governance tier, 1 to 5.
    #[arg(long)]
    pub tier: Option<u64>,
    #[arg(long)]
    pub title: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    /// The voting window of a review period, in days (default 14).
    #[arg(long)]
    pub voting_window_days: Option<u64>,
    /// keyholder: the keyholder's name.
    #[arg(long)]
    pub keyholder_name: Option<String>,
    /// keyholder: the keyholder's key (npub or hex).
    #[arg(long)]
    pub keyholder_pubkey: Option<String>,
    /// keyholder: added or removed.
    #[arg(long)]
    pub keyholder_change: Option<String>,
    /// fork: the ruleset's name.
    #[arg(long)]
    pub fork_ruleset: Option<String>,
    /// fork: adopted or rejected.
    #[arg(long)]
    pub fork_decision: Option<String>,
    /// fork: when it takes effect, unix seconds or RFC 3339 (default: now).
    #[arg(long)]
    pub fork_effective_at: Option<String>,
}

/// The voting window a review period gets when none is given.
pub const DEFAULT_VOTING_WINDOW_DAYS: u64 = 14;

/// The POST /v1/actions body: the `--json` file's object, then the flags over it.
pub fn action_body(args: &ActionArgs) -> Result<Value, String> {
    let mut body = match &args.json {
        Some(path) => read_json_object(path)?,
        None => Map::new(),
    };
    let mut set = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            body.insert(key.to_owned(), value);
        }
    };
    set("action", args.action.clone().map(Value::from));
    set("repository", args.repository.clone().map(Value::from));
    set("pr", args.pr.map(Value::from));
    set("tier", args.tier.map(Value::from));
    set("title", args.title.clone().map(Value::from));
    set("description", args.description.clone().map(Value::from));
    set(
        "voting_window_days",
        args.voting_window_days.map(Value::from),
    );
    set_nested(
        &mut body,
        "keyholder",
        [
            ("name", &args.keyholder_name),
            ("pubkey", &args.keyholder_pubkey),
            ("change", &args.keyholder_change),
        ],
    )?;
    set_nested(
        &mut body,
        "fork",
        [
            ("ruleset", &args.fork_ruleset),
            ("decision", &args.fork_decision),
            ("effective_at", &args.fork_effective_at),
        ],
    )?;
    let is_review_period =
        body.get("action").and_then(Value::as_str).map(str::trim) == Some("review-period");
    if is_review_period && !body.contains_key("voting_window_days") {
        body.insert(
            "voting_window_days".to_owned(),
            DEFAULT_VOTING_WINDOW_DAYS.into(),
        );
    }
    Ok(Value::Object(body))
}

/// Sets the given fields of the object `key` (keyholder, fork), creating it when needed.
fn set_nested<const N: usize>(
    body: &mut Map<String, Value>,
    key: &str,
    fields: [(&str, &Option<String>); N],
) -> Result<(), String> {
    let given: Vec<(&str, &String)> = fields
        .iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| (*name, v)))
        .collect();
    if given.is_empty() {
        return Ok(());
    }
    let object = body
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(object) = object else {
        return Err(format!("--json: `{key}` must be an object"));
    };
    for (name, value) in given {
        object.insert(name.to_owned(), Value::from(value.as_str()));
    }
    Ok(())
}

fn read_json_object(path: &Path) -> Result<Map<String, Value>, String> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| format!("--json: cannot read stdin: {e}"))?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| format!("--json: cannot read {}: {e}", path.display()))?
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(format!("--json: {} is not a JSON object", path.display())),
        Err(e) => Err(format!("--json: {} is not valid JSON: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::tests::parse;
    use crate::cli::Command;
    use serde_json::json;

    fn body(args: &[&str]) -> Result<Value, String> {
        let mut argv = vec!["action"];
        argv.extend_from_slice(args);
        match parse(&argv) {
            Command::Action(args) => action_body(&args),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn action_flags_make_the_request_body() {
        let review = body(&[
            "--action",
            "review-period",
            "--repository",
            "o/r",
            "--pr",
            "12",
            "--tier",
            "2",
            "--title",
            "Raise the cap",
        ])
        .unwrap();
        assert_eq!(
            review,
            json!({"action": "review-period", "repository": "o/r", "pr": 12, "tier": 2,
                   "title": "Raise the cap", "voting_window_days": 14})
        );
        let merge = body(&["--action", "merge", "--tier", "9"]).unwrap();
        assert_eq!(merge, json!({"action": "merge", "tier": 9}));
        let keyholder = body(&[
            "--action",
            "keyholder",
            "--keyholder-name",
            "Alice",
            "--keyholder-change",
            "added",
        ])
        .unwrap();
        assert_eq!(
            keyholder["keyholder"],
            json!({"name": "Alice", "change": "added"})
        );
    }

    #[test]
    fn flags_override_the_json_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("action.json");
        std::fs::write(
            &path,
            r#"{"action": "fork", "tier": 5, "title": "v2", "fork": {"ruleset": "v2", "decision": "adopted"}}"#,
        )
        .unwrap();
        let file = path.to_str().unwrap();
        let fork = body(&["--json", file, "--tier", "4", "--fork-decision", "rejected"]).unwrap();
        assert_eq!(
            fork,
            json!({"action": "fork", "tier": 4, "title": "v2",
                   "fork": {"ruleset": "v2", "decision": "rejected"}})
        );
        std::fs::write(&path, "[1]").unwrap();
        assert!(body(&["--json", file])
            .unwrap_err()
            .contains("not a JSON object"));
        std::fs::write(&path, r#"{"fork": 5}"#).unwrap();
        assert!(body(&["--json", file, "--fork-ruleset", "x"])
            .unwrap_err()
            .contains("`fork` must be an object"));
        assert!(body(&["--json", "/nonexistent/action.json"])
            .unwrap_err()
            .contains("cannot read"));
    }
}
