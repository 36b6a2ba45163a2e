//! The public page (DESIGN.md "The public page"): server-rendered HTML for people, beside the
//! JSON API.
//!
//! | route | answers | module |
//! |---|---|---|
//! | `GET /` | every proposal, open first: state, time left, result bars, voters; the server's health, relays and audit head | [`list`] |
//! | `GET /proposals/{id}` | one proposal (event id or `naddr1`): timeline, rules, how to vote, vote panel, "Vote secretly" and the reveal, voters paged, receipts root, `verify` | [`proposal`], [`vote_panel`], [`sealed`] |
//! | `GET /proposals/{id}/votes.csv` | one row per counted voter | [`csv`] |
//! | `GET /live` | server-sent events: the page's version, on every change | [`live`] |
//! | `GET /assets/{name}` | style sheet, script, icon, compiled in | [`assets`] |
//! | `GET /qr.svg?data=` | an invoice as a QR code | [`qr`] |
//!
//! # How a page request is served
//!
//! From memory only: the feed ([`feed`]) keeps a [`snapshot::Snapshot`] of every proposal's
//! tally, voters and comments, rebuilt in the background when the vote aggregator's change
//! counter for a proposal moves (and the header every second). A request takes the newest
//! snapshot (an `Arc` clone), looks the proposal up in a hash map, and renders one page of
//! voters with maud (which escapes every text by default: titles, comments and keys are
//! anyone's to write). No request asks an actor or the database.
//!
//! Every response carries the security headers of [`security`]; no page has inline script or
//! style, so the Content-Security-Policy needs no nonce.

pub mod assets;
pub mod csv;
pub mod feed;
pub mod format;
pub mod layout;
pub mod list;
pub mod live;
pub mod proposal;
pub mod qr;
pub mod sealed;
pub mod security;
pub mod snapshot;
pub mod vote_panel;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use maud::Markup;
use nostr_sdk::ToBech32;

use crate::http::handles::ServiceHandles;
pub use feed::PageFeed;
use snapshot::PageContext;

/// The bot whose proposals and tallies the page shows.
const GOV_BOT: &str = crate::http::actions::GOV_BOT;

/// The page's fixed context, read from the running service.
pub fn context(handles: &ServiceHandles) -> PageContext {
    let gov = handles
        .bot_pubkeys
        .iter()
        .find(|(name, _)| name == GOV_BOT)
        .map(|(_, key)| *key)
        .unwrap_or(handles.server_pubkey);
    PageContext {
        server_npub: handles.server_pubkey.to_bech32().unwrap_or_default(),
        gov,
        gov_npub: gov.to_bech32().unwrap_or_default(),
        lightning_address: handles
            .settings
            .nostr
            .bots
            .get(GOV_BOT)
            .map(|bot| bot.lightning_address.clone()),
        relays: handles.relay_urls.clone(),
        public_url: handles.settings.http.public_url.clone(),
    }
}

/// The Content-Security-Policy for `context`: `fetch` may also reach the gov bot's LNURL
/// provider.
pub fn content_security_policy(context: &PageContext) -> String {
    let connect: Vec<String> = context
        .lightning_address
        .as_deref()
        .and_then(vote_panel::lnurlp_url)
        .and_then(|url| vote_panel::origin(&url))
        .into_iter()
        .collect();
    security::content_security_policy(&connect)
}

/// The page's routes (the feed must be in the app data).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(list::list))
        .route("/proposals/{id}", web::get().to(proposal::show))
        .route("/proposals/{id}/votes.csv", web::get().to(csv::votes_csv))
        .route("/live", web::get().to(live::live))
        .route("/assets/{name}", web::get().to(assets::asset))
        .route("/qr.svg", web::get().to(qr::qr_svg));
}

/// A rendered page as a 200 that caches must ask again for.
pub fn html_response(markup: Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(markup.into_string())
}
