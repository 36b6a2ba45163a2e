//! The request fields every action's parser reads the same way: whole numbers (a JSON number or
//! a string of digits), one-line texts and commit ids.

use serde_json::Value;

use super::{ActionError, ActionKind, COMMIT_HEX_LENGTHS};

/// A whole number, from a JSON number or a string of digits.
pub(super) fn whole_number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u32::MAX as f64)
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A required one-line text: trimmed, not empty, at most `max_chars` characters, no control
/// character.
pub(super) fn one_line(
    field: &'static str,
    value: Option<String>,
    max_chars: usize,
    action: ActionKind,
) -> Result<String, ActionError> {
    let value = value.ok_or_else(|| ActionError::required(field, action))?;
    let value = value.trim();
    if value.is_empty() {
        return Err(ActionError::new(field, "must not be empty"));
    }
    if value.chars().count() > max_chars {
        return Err(ActionError::new(
            field,
            format!("at most {max_chars} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ActionError::new(field, "must be a single line"));
    }
    Ok(value.to_owned())
}

/// A commit id: 40 or 64 hex characters, lower-cased.
pub(super) fn parse_commit(field: &'static str, value: &str) -> Result<String, ActionError> {
    let value = value.trim();
    if COMMIT_HEX_LENGTHS.contains(&value.len()) && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(value.to_ascii_lowercase())
    } else {
        Err(ActionError::new(
            field,
            "must be a commit id: 40 or 64 hex characters",
        ))
    }
}
