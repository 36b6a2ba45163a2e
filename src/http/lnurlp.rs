//! The development LNURL provider's routes (DESIGN.md "Zapping"; only with `lnurl.dev_provider`).
//!
//! | route | answers |
//! |---|---|
//! | `GET /.well-known/lnurlp/{bot}` | the LUD-06 `payRequest` of `<bot>@<http address>` (LUD-16) |
//! | `GET /lnurlp/{bot}/callback?amount=&nostr=&comment=` | `{"pr": "<bolt11>", "routes": []}` |
//!
//! What is answered is decided in [`crate::nostr::dev_provider`] (pure); this module serves it
//! and does the paying. The invoice is "paid" at once: the zap receipt (with the preimage) is
//! signed by the development zapper key and committed to the outbox for the service's own
//! relays before the invoice is answered, exactly as the bots' events are, so it reaches the
//! zap tracker the way any provider's receipt does: from a relay. The zap request's `relays`
//! on loopback that the service does not use get it too, sent once by a short-lived client.
//! Relays elsewhere are never contacted: the development provider stays on this machine.
//!
//! A refusal is a LUD-06 error `{"status": "ERROR", "reason": "..."}` with a 4xx, and nothing
//! is published: 404 for a bot the provider does not serve (or with the provider off), 400 for
//! a bad query or zap request.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use nostr_sdk::{Event, PublicKey, RelayUrl, Timestamp};
use serde_json::json;

use crate::http::handles::ServiceHandles;
use crate::nostr::dev_provider::{self, CallbackQuery, DevProvider};
use crate::nostr::zap_provider::ZapProvider;

/// The outbox `signer` of the receipts the provider publishes.
pub const SIGNER: &str = "lnurl.dev_provider";

/// How long the receipt may take to reach a relay the service does not otherwise use.
const ELSEWHERE_TIMEOUT: Duration = Duration::from_secs(10);

/// At most this many of a zap request's relays get the receipt besides the service's own.
const MAX_EXTRA_RELAYS: usize = 8;

/// `Access-Control-Allow-Origin: *` on every answer of the LNURL routes, errors included, so a
/// web client on another origin (a Nostr web app building a zap) can read them.
pub fn any_origin() -> actix_web::middleware::DefaultHeaders {
    actix_web::middleware::DefaultHeaders::new().add(("Access-Control-Allow-Origin", "*"))
}

fn lud06_error(status: StatusCode, reason: &str) -> HttpResponse {
    HttpResponse::build(status).json(dev_provider::lud06_error(reason))
}

/// The provider, and the bot `name` it serves (its settings' address and its key); the
/// answer to give when there is none.
fn served_bot<'a>(
    handles: &'a ServiceHandles,
    name: &str,
) -> Result<(&'a DevProvider, &'a str, PublicKey), (StatusCode, String)> {
    let Some(provider) = handles.dev_provider.as_deref() else {
        return Err((
            StatusCode::NOT_FOUND,
            "this service's development LNURL provider is off (lnurl.dev_provider)".to_owned(),
        ));
    };
    let bot = handles
        .settings
        .nostr
        .bots
        .get(name)
        .filter(|bot| bot.dev_provider);
    let pubkey = handles
        .bot_pubkeys
        .iter()
        .find(|(bot_name, _)| bot_name == name)
        .map(|(_, key)| *key);
    match (bot, pubkey) {
        (Some(bot), Some(pubkey)) => Ok((provider, bot.lightning_address.as_str(), pubkey)),
        _ => Err((
            StatusCode::NOT_FOUND,
            format!("bot: no bot named {name:?} is served here"),
        )),
    }
}

/// `GET /.well-known/lnurlp/{bot}`.
pub async fn pay_request(
    handles: web::Data<ServiceHandles>,
    bot: web::Path<String>,
) -> HttpResponse {
    let (provider, address, _) = match served_bot(&handles, &bot) {
        Ok(found) => found,
        Err((status, reason)) => return lud06_error(status, &reason),
    };
    match provider.callback(&bot) {
        Some(callback) => HttpResponse::Ok().json(dev_provider::pay_request(
            address,
            &callback,
            &provider.zapper(),
        )),
        None => lud06_error(StatusCode::NOT_FOUND, "bot: not a name a URL can carry"),
    }
}

/// `GET /lnurlp/{bot}/callback`.
pub async fn callback(
    handles: web::Data<ServiceHandles>,
    bot: web::Path<String>,
    request: HttpRequest,
) -> HttpResponse {
    let (provider, _, bot_pubkey) = match served_bot(&handles, &bot) {
        Ok(found) => found,
        Err((status, reason)) => return lud06_error(status, &reason),
    };
    let query = match web::Query::<CallbackQuery>::from_query(request.query_string()) {
        Ok(query) => query.into_inner(),
        Err(e) => return lud06_error(StatusCode::BAD_REQUEST, &format!("query: {e}")),
    };
    let zap = match dev_provider::check_callback(&query, &bot_pubkey) {
        Ok(zap) => zap,
        Err(refusal) => {
            tracing::info!(bot = %bot, reason = %refusal, "development LNURL provider refused a zap");
            return lud06_error(StatusCode::BAD_REQUEST, &refusal.to_string());
        }
    };
    let receipt = match pay(provider.zap_provider(), &zap.request, zap.amount_msat) {
        Ok(paid) => paid,
        Err(reason) => return lud06_error(StatusCode::BAD_REQUEST, &reason),
    };
    if let Err(e) = handles.outbox.publish(receipt.0.clone(), SIGNER).await {
        tracing::warn!(error = %e, "development LNURL provider cannot commit a zap receipt");
        return lud06_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the zap receipt cannot be recorded now; nothing was paid, try again",
        );
    }
    let elsewhere: Vec<RelayUrl> = zap
        .relays
        .iter()
        .filter(|url| dev_provider::is_loopback_relay(url) && !handles.relay_urls.contains(url))
        .take(MAX_EXTRA_RELAYS)
        .cloned()
        .collect();
    if !elsewhere.is_empty() {
        actix_rt::spawn(publish_elsewhere(receipt.0.clone(), elsewhere));
    }
    tracing::info!(
        bot = %bot,
        amount_msat = zap.amount_msat,
        receipt = %receipt.0.id,
        "development LNURL provider paid a zap"
    );
    HttpResponse::Ok().json(json!({"pr": receipt.1, "routes": []}))
}

/// Invoices the zap request and pays it at once: the signed receipt and the invoice.
fn pay(
    provider: &ZapProvider,
    request: &Event,
    amount_msat: u64,
) -> Result<(Event, String), String> {
    let invoice = provider
        .invoice(request, amount_msat)
        .map_err(|e| e.to_string())?;
    let receipt = provider
        .receipt(
            request,
            &invoice.bolt11,
            Some(&invoice.preimage),
            Timestamp::now(),
        )
        .map_err(|e| e.to_string())?;
    Ok((receipt, invoice.bolt11))
}

/// Sends `receipt` once to `relays` (loopback relays the zap request named that the service
/// does not use), as a provider sends a receipt to the sender's relays; failures are logged.
async fn publish_elsewhere(receipt: Event, relays: Vec<RelayUrl>) {
    let client = nostr_sdk::Client::default();
    for url in &relays {
        if let Err(e) = client.add_relay(url.clone()).await {
            tracing::info!(relay = %url, error = %e, "cannot add a zap request's relay");
        }
    }
    client.connect().await;
    client.wait_for_connection(ELSEWHERE_TIMEOUT).await;
    match tokio::time::timeout(ELSEWHERE_TIMEOUT, client.send_event_to(&relays, &receipt)).await {
        Ok(Ok(output)) => {
            for (url, reason) in &output.failed {
                tracing::info!(relay = %url, %reason, receipt = %receipt.id, "a zap request's relay refused the receipt");
            }
        }
        Ok(Err(e)) => {
            tracing::info!(error = %e, receipt = %receipt.id, "cannot send a receipt to the zap request's relays");
        }
        Err(_) => {
            tracing::info!(receipt = %receipt.id, "the zap request's relays did not answer in time");
        }
    }
    client.shutdown().await;
}
