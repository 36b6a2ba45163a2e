//! The page's assets, compiled into the binary (no CDN, no outside fetch): the style sheet,
//! the page script, the sealed-ballot script (tokens made with WebCrypto) and the icon. Each is served at `/assets/<name>` with a version query
//! (`?v=<first 8 hex of its SHA-256>`) in the page's links, so a new binary's assets are
//! fetched anew and the old ones may be cached for a day.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use nostr_sdk::hashes::{sha256, Hash};

pub const STYLE: &str = "style.css";
pub const SCRIPT: &str = "page.js";
pub const BALLOT_SCRIPT: &str = "ballot.js";
pub const ICON: &str = "icon.svg";

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: [Asset; 4] = [
    Asset {
        name: STYLE,
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("assets/style.css"),
    },
    Asset {
        name: SCRIPT,
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/page.js"),
    },
    Asset {
        name: BALLOT_SCRIPT,
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/ballot.js"),
    },
    Asset {
        name: ICON,
        content_type: "image/svg+xml",
        body: include_bytes!("assets/icon.svg"),
    },
];

/// Each asset's version: the first 8 hex digits of its SHA-256.
static VERSIONS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| hex::encode(&sha256::Hash::hash(a.body).to_byte_array()[..4]))
        .collect()
});

fn find(name: &str) -> Option<(usize, &'static Asset)> {
    ASSETS.iter().enumerate().find(|(_, a)| a.name == name)
}

/// The URL of an asset, with its version.
pub fn url(name: &str) -> String {
    match find(name) {
        Some((i, _)) => format!("/assets/{name}?v={}", VERSIONS[i]),
        None => format!("/assets/{name}"),
    }
}

/// `GET /assets/{name}`.
pub async fn asset(path: web::Path<String>) -> HttpResponse {
    match find(&path) {
        Some((i, asset)) => HttpResponse::Ok()
            .content_type(asset.content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
            .insert_header((header::ETAG, format!("\"{}\"", VERSIONS[i])))
            .body(asset.body),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such asset"),
    }
}
