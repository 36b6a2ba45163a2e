//! `POST /v1/bots/{bot}/notes`: a kind-1 note from one bot.
//!
//! Body: `{"content": "text", "tags": [["t", "release"]]}` (`tags` optional). Answers
//! `201 {"event_id": "<hex>"}` once the note is committed to the outbox. Refusals, all before
//! anything is written: an unknown bot is a 404 naming `bot`; missing or blank content a 400
//! naming `content`; tags that are not a list of non-empty lists of strings a 400 naming
//! `tags`; a body that is not a JSON object a 400 naming `body`.
//!
//! `t` = `governance-proposal` is refused too (400 naming `tags`): on a gov-bot event tagging a
//! proposal it makes the event one of the proposal's vote targets (DESIGN.md "Votes",
//! *Targets*), so only the announcement and zap poll the service publishes with a review period
//! carry it, and the service knows every target it must count.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use nostr_sdk::Tag;
use serde::Serialize;
use serde_json::Value;

use super::bots::{known_bot, publish_as};
use super::error::{read_body, ApiError};
use crate::http::handles::ServiceHandles;
use crate::nostr::events::{self, ParseError};

/// The most tags one note may carry.
pub const MAX_TAGS: usize = 100;

/// A note request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteRequest {
    pub content: String,
    pub tags: Vec<Vec<String>>,
}

impl NoteRequest {
    /// Reads and checks a request body.
    pub fn from_json(body: &[u8]) -> Result<NoteRequest, ApiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid("body", format!("invalid JSON: {e}")))?;
        let Value::Object(mut object) = value else {
            return Err(ApiError::invalid(
                "body",
                "must be a JSON object with content and tags",
            ));
        };
        let content = match object.remove("content") {
            None | Some(Value::Null) => return Err(ApiError::invalid("content", "required")),
            Some(Value::String(text)) => text,
            Some(_) => return Err(ApiError::invalid("content", "must be a string")),
        };
        if content.trim().is_empty() {
            return Err(ApiError::invalid("content", "must not be empty"));
        }
        let tags = match object.remove("tags") {
            None | Some(Value::Null) => Vec::new(),
            Some(value) => parse_tags(value)?,
        };
        Ok(NoteRequest { content, tags })
    }

    /// The tags as Nostr tags.
    pub fn nostr_tags(&self) -> Result<Vec<Tag>, ApiError> {
        let reserved = self.tags.iter().position(|tag| {
            tag.first().map(String::as_str) == Some(events::tag::T)
                && tag.get(1).map(String::as_str) == Some(events::hashtag::GOVERNANCE_PROPOSAL)
        });
        if let Some(index) = reserved {
            return Err(ApiError::invalid(
                "tags",
                format!(
                    "tag {index}: t={} is reserved for the announcement and zap poll the service \
                     publishes with a review period (it makes an event a vote target)",
                    events::hashtag::GOVERNANCE_PROPOSAL
                ),
            ));
        }
        events::note_tags(&self.tags).map_err(|e| match e {
            ParseError::NoteTag { index, reason } => {
                ApiError::invalid("tags", format!("tag {index}: {reason}"))
            }
            other => ApiError::invalid("tags", other),
        })
    }
}

fn parse_tags(value: Value) -> Result<Vec<Vec<String>>, ApiError> {
    let shape = || {
        ApiError::invalid(
            "tags",
            r#"must be a list of tags, each a list of strings, like [["t", "release"]]"#,
        )
    };
    let Value::Array(tags) = value else {
        return Err(shape());
    };
    if tags.len() > MAX_TAGS {
        return Err(ApiError::invalid(
            "tags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    tags.into_iter()
        .map(|tag| match tag {
            Value::Array(values) => values
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(shape()),
                })
                .collect(),
            _ => Err(shape()),
        })
        .collect()
}

#[derive(Debug, Serialize)]
struct NotePublished {
    event_id: String,
}

/// `POST /v1/bots/{bot}/notes`.
pub async fn publish(
    handles: web::Data<ServiceHandles>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let bot = known_bot(&handles, &path)?;
    let body = read_body(payload).await?;
    let request = NoteRequest::from_json(&body)?;
    let tags = request.nostr_tags()?;
    let published = publish_as(&handles, bot, events::bot_note(&request.content, tags)).await?;
    tracing::info!(bot, event_id = %published.event_id, "note published over the admin API");
    Ok(
        HttpResponse::build(StatusCode::CREATED).json(NotePublished {
            event_id: published.event_id.to_hex(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(body: &str) -> ApiError {
        match NoteRequest::from_json(body.as_bytes()) {
            Ok(request) => request.nostr_tags().expect_err("refused"),
            Err(e) => e,
        }
    }

    #[test]
    fn a_note_with_and_without_tags() {
        let note = NoteRequest::from_json(br#"{"content": "v1.0 is out"}"#).unwrap();
        assert_eq!(note.content, "v1.0 is out");
        assert!(note.tags.is_empty());
        let note = NoteRequest::from_json(
            br#"{"content": "x", "tags": [["t", "release"], ["r", "https://e.org"]]}"#,
        )
        .unwrap();
        let tags = note.nostr_tags().unwrap();
        assert_eq!(tags.len(), 2);
        assert_eq!(tags[0].as_slice(), ["t", "release"]);
    }

    #[test]
    fn every_refusal_names_its_field() {
        for (body, field) in [
            ("", "body"),
            ("[]", "body"),
            ("{}", "content"),
            (r#"{"content": null}"#, "content"),
            (r#"{"content": 5}"#, "content"),
            (r#"{"content": "  \n"}"#, "content"),
            (r#"{"content": "x", "tags": "t"}"#, "tags"),
            (r#"{"content": "x", "tags": ["t"]}"#, "tags"),
            (r#"{"content": "x", "tags": [["t", 5]]}"#, "tags"),
            (r#"{"content": "x", "tags": [[]]}"#, "tags"),
            (r#"{"content": "x", "tags": [["", "v"]]}"#, "tags"),
            (
                r#"{"content": "x", "tags": [["t", "governance-proposal"]]}"#,
                "tags",
            ),
        ] {
            let e = refused(body);
            assert_eq!(e.field.as_deref(), Some(field), "{body}: {e}");
            assert_eq!(e.status, StatusCode::BAD_REQUEST);
            assert!(e.error.starts_with(&format!("{field}: ")), "{}", e.error);
        }
        let many = format!(
            r#"{{"content": "x", "tags": [{}]}}"#,
            vec![r#"["t","a"]"#; MAX_TAGS + 1].join(",")
        );
        assert_eq!(refused(&many).field.as_deref(), Some("tags"));
    }
}
