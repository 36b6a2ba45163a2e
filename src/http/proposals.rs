//! The public vote routes (no authentication: tallies are public, and anyone can recompute
//! them from the relays):
//!
//! - `GET /v1/proposals`: every proposal with its window, state (`open`, `closed`) and current
//!   result;
//! - `GET /v1/proposals/{event_id}/tally`: the tally event's content at `T = min(now, end)`;
//! - `GET /v1/proposals/{event_id}/receipts`: the counted receipt ids in root order; with
//!   `?receipt=<id>` that receipt's vote and its inclusion proof against `receipts_root`.
//!
//! `event_id` is the proposal's (the `review-period` action's) event id, as 64 hex characters
//! or as a `note1...`/`nevent1...` link. A malformed id is a 400 naming the field; an id that
//! is not a proposal, or a receipt that is not counted, is a 404 saying why. The answers come
//! from the vote aggregator's memory; while it is (re)starting they are a 503.

use actix::dev::ToEnvelope;
use actix::{Handler, Message};
use actix_web::{web, HttpResponse};
use nostr_sdk::EventId;
use serde::Deserialize;

use super::error::ApiError;
use crate::actors::vote_aggregator::{
    GetReceipts, GetTally, ListProposals, ReceiptsError, VoteAggregatorActor,
};
use crate::http::handles::ServiceHandles;

/// Reads a proposal id from a path, or a 400 naming `event_id`.
pub fn parse_event_id(raw: &str) -> Result<EventId, ApiError> {
    parse_id("event_id", raw)
}

fn parse_id(field: &str, raw: &str) -> Result<EventId, ApiError> {
    EventId::parse(raw.trim()).map_err(|_| {
        ApiError::invalid(
            field,
            "must be an event id: 64 hex characters, note1... or nevent1...",
        )
    })
}

/// Asks the vote aggregator; a 503 when it cannot answer.
async fn ask_votes<M>(handles: &ServiceHandles, msg: M) -> Result<M::Result, ApiError>
where
    M: Message + Send + 'static,
    M::Result: Send,
    VoteAggregatorActor: Handler<M>,
    <VoteAggregatorActor as actix::Actor>::Context: ToEnvelope<VoteAggregatorActor, M>,
{
    handles.ask_votes(msg).await.map_err(ApiError::unavailable)
}

/// `GET /v1/proposals`.
pub async fn list(handles: web::Data<ServiceHandles>) -> Result<HttpResponse, ApiError> {
    let proposals = ask_votes(&handles, ListProposals).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "proposals": proposals })))
}

/// `GET /v1/proposals/{event_id}/tally`.
pub async fn tally(
    handles: web::Data<ServiceHandles>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let event_id = parse_event_id(&path)?;
    match ask_votes(&handles, GetTally(event_id)).await? {
        Some(content) => Ok(HttpResponse::Ok().json(content)),
        None => Err(ApiError::not_found(
            "event_id",
            format!("no proposal with event id {}", event_id.to_hex()),
        )),
    }
}

#[derive(Debug, Deserialize)]
pub struct ReceiptQuery {
    receipt: Option<String>,
}

/// `GET /v1/proposals/{event_id}/receipts[?receipt=<id>]`.
pub async fn receipts(
    handles: web::Data<ServiceHandles>,
    path: web::Path<String>,
    query: web::Query<ReceiptQuery>,
) -> Result<HttpResponse, ApiError> {
    let proposal = parse_event_id(&path)?;
    let receipt = query
        .receipt
        .as_deref()
        .map(|raw| parse_id("receipt", raw))
        .transpose()?;
    match ask_votes(&handles, GetReceipts { proposal, receipt }).await? {
        Ok(answer) => Ok(HttpResponse::Ok().json(answer)),
        Err(e @ ReceiptsError::UnknownProposal(_)) => Err(ApiError::not_found("event_id", e)),
        Err(e @ ReceiptsError::NotCounted { .. }) => Err(ApiError::not_found("receipt", e)),
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
        assert_eq!(
            parse_id("receipt", "zz").unwrap_err().field.as_deref(),
            Some("receipt")
        );
    }
}
