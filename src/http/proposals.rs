//! `GET /v1/proposals/{event_id}/tally`: a proposal's vote tally (no authentication: tallies
//! are public, and anyone can recompute them from the relays).
//!
//! `event_id` is the proposal's (the `review-period` action's) event id, as 64 hex characters
//! or as a `note1...`/`nevent1...` link. A malformed id is a 400 naming `event_id`; an id that
//! is not a proposal, or a proposal with no tally yet, is a 404.

use actix_web::{web, HttpResponse};
use nostr_sdk::EventId;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::error::ApiError;
use crate::entities::governance_proposal;
use crate::startup::ServiceHandles;

/// Reads a proposal id from a path, or a 400 naming `event_id`.
pub fn parse_event_id(raw: &str) -> Result<EventId, ApiError> {
    EventId::parse(raw.trim()).map_err(|_| {
        ApiError::invalid(
            "event_id",
            "must be an event id: 64 hex characters, note1... or nevent1...",
        )
    })
}

/// `GET /v1/proposals/{event_id}/tally`.
pub async fn tally(
    handles: web::Data<ServiceHandles>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let event_id = parse_event_id(&path)?;
    let proposal = governance_proposal::Entity::find()
        .filter(governance_proposal::Column::EventId.eq(event_id.to_hex()))
        .one(&handles.db)
        .await
        .map_err(|e| ApiError::internal(format!("database: {e}")))?;
    match proposal {
        None => Err(ApiError::not_found(
            "event_id",
            format!("no proposal with event id {}", event_id.to_hex()),
        )),
        // The vote aggregator fills this in; until it does, no proposal has a tally.
        Some(proposal) => Err(ApiError::not_found(
            "event_id",
            format!(
                "no tally yet for proposal {} ({}#{})",
                proposal.event_id, proposal.repository, proposal.pr
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nostr_sdk::ToBech32;

    #[test]
    fn ids_in_hex_or_bech32() {
        let id = EventId::all_zeros();
        assert_eq!(parse_event_id(&id.to_hex()).unwrap(), id);
        assert_eq!(parse_event_id(&id.to_bech32().unwrap()).unwrap(), id);
        for bad in ["", "abc", "zz", &"0".repeat(63), &"g".repeat(64)] {
            let e = parse_event_id(bad).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("event_id"), "{bad}");
        }
    }
}
