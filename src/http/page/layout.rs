//! The frame every page shares: the document head (assets from the binary, no inline script
//! or style), the header with the server's health, relays and audit head, and the result bars
//! the list and the proposal page both draw.
//!
//! Elements carrying `data-live` are what the page script swaps in place when the live stream
//! says something changed ([`super::live`]); each has an `id`.

use maud::{html, Markup, DOCTYPE};

use super::assets;
use super::format::{bar_scale, percent, short, threshold_beyond, weight};
use super::snapshot::{Header, Snapshot};
use crate::votes::ProposalVoteResult;

/// The product name in titles and the header.
pub const SITE: &str = "Bitcoin Commons governance";

/// A whole HTML document around `main`.
pub fn document(title: &str, snapshot: &Snapshot, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (SITE) }
                link rel="icon" type="image/svg+xml" href=(assets::url(assets::ICON));
                link rel="stylesheet" href=(assets::url(assets::STYLE));
                // The ballot script first: the page script's vote panel seals with it.
                script src=(assets::url(assets::BALLOT_SCRIPT)) defer {}
                script src=(assets::url(assets::SCRIPT)) defer {}
                // Without JavaScript there is no live stream: reload now and then instead.
                noscript { meta http-equiv="refresh" content="30"; }
            }
            body data-version=(snapshot.version) {
                (header(&snapshot.header))
                main { (main) }
                footer {
                    p {
                        "Every number on this page is recomputed from public Nostr events: "
                        "the proposal, its pinned rules and the zap receipts on the relays. "
                        "Check it without trusting this server with "
                        code { "commons-nostr verify" } "."
                    }
                }
            }
        }
    }
}

/// The header: the server's health, its relays and the audit-log head.
pub fn header(h: &Header) -> Markup {
    let status = if h.healthy { "healthy" } else { "degraded" };
    html! {
        header #status data-live {
            a.brand href="/" {
                img src=(assets::url(assets::ICON)) alt="" width="24" height="24";
                span { (SITE) }
            }
            span.pill.(status) title="server health" { (status) }
            details.relays {
                summary {
                    (h.relays_connected()) "/" (h.relays.len()) " relays"
                    @if !h.database_ok { " · database unreachable" }
                    @if !h.bots_down.is_empty() { " · bots down: " (h.bots_down.join(", ")) }
                }
                ul {
                    @for (url, state) in &h.relays {
                        li { code { (url) } " " span.(state.as_str()) { (state.as_str()) } }
                    }
                }
            }
            @if let Some((head, entries)) = &h.audit {
                span.audit title=(head) {
                    "audit head " code { (short(head)) } " · " (entries)
                    @if *entries == 1 { " entry" } @else { " entries" }
                }
            }
        }
    }
}

/// The support / veto / abstain bars on one scale, with the threshold marked on the support
/// bar and the blocking level on the veto bar. SVG attributes, not inline styles, so the
/// strict style policy holds.
pub fn bars(result: &ProposalVoteResult, veto_threshold: f64) -> Markup {
    let scale = bar_scale(result);
    let blocks_at = veto_threshold * (result.support_votes + result.veto_votes);
    let rows = [
        ("support", result.support_votes, Some(result.threshold)),
        (
            "veto",
            result.veto_votes,
            (blocks_at > 0.0).then_some(blocks_at),
        ),
        ("abstain", result.abstain_votes, None),
    ];
    html! {
        div.bars {
            @for (name, value, marker) in rows {
                div.bar-row {
                    span.bar-label { (name) }
                    svg.bar viewBox="0 0 100 10" preserveAspectRatio="none" role="img"
                        aria-label=(format!("{name} {}", weight(value))) {
                        rect.track x="0" y="0" width="100" height="10" {}
                        rect class=(name) x="0" y="0" width=(percent(value, scale)) height="10" {}
                        @if let Some(at) = marker {
                            @let x = percent(at, scale);
                            line.marker x1=(x) x2=(x) y1="0" y2="10" {}
                        }
                    }
                    span.bar-value data-field=(format!("{name}_votes")) data-value=(value) {
                        (weight(value))
                    }
                }
            }
            p.bar-note {
                "marker on support: the threshold, " (weight(result.threshold))
                @if threshold_beyond(result) {
                    " (beyond the end of the bar: support is "
                    (weight(result.support_votes / result.threshold * 100.0)) " % of it)"
                }
                @if blocks_at > 0.0 {
                    "; on veto: where a veto blocks, " (weight(blocks_at))
                }
            }
        }
    }
}
