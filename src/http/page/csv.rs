//! `GET /proposals/{id}/votes.csv`: one row per counted voter, from the page's memory:
//! `npub,type,vote,amount_msat,weight,first_zap,last_zap,receipts` (times RFC 3339 UTC, the
//! receipt ids space-separated, oldest first). Weights are written in full precision, so the
//! sums per type equal the tally's.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::feed::PageFeed;
use super::format::rfc3339;
use super::proposal::not_found;
use super::snapshot::ProposalPage;
use crate::votes::VoteKind;

/// The header line.
pub const HEADER: &str = "npub,type,vote,amount_msat,weight,first_zap,last_zap,receipts";

/// `GET /proposals/{id}/votes.csv`.
pub async fn votes_csv(feed: web::Data<PageFeed>, path: web::Path<String>) -> HttpResponse {
    let snapshot = feed.current();
    let Some(page) = snapshot.find(&path) else {
        return not_found(&snapshot, &path);
    };
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"votes-{}.csv\"", page.id_hex),
        ))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(render(page))
}

/// The CSV text. Every field is a bech32 key, a fixed word, a number, a time or hex ids: none
/// can hold a comma, a quote or a line break, so none needs quoting.
pub fn render(page: &ProposalPage) -> String {
    let mut out = String::with_capacity(64 + page.voters.len() * 220);
    out.push_str(HEADER);
    out.push_str("\r\n");
    for row in &page.voters {
        let kind = match row.kind {
            VoteKind::Zap => "zap",
            VoteKind::Participation => "participation",
        };
        let receipts: Vec<String> = row.receipts.iter().map(|(id, _)| id.to_hex()).collect();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\r\n",
            row.npub,
            row.vote_type.as_str(),
            kind,
            row.amount_msat,
            row.weight,
            rfc3339(row.first_at()),
            rfc3339(row.last_at()),
            receipts.join(" "),
        ));
    }
    out
}
