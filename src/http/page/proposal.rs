//! `GET /proposals/{id}`: one proposal (`id`: its event id as hex, `note1` or `nevent1`, or its
//! address as `naddr1`): the result, the timeline, how to vote (with the vote panel), the
//! voters paged, the pinned rules in words, the receipts root and the `verify` command.
//!
//! Unknown proposals are a 404 page, malformed ids a 400 page; `?page=` past the end shows
//! the last page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use nostr_sdk::ToBech32;
use serde::Deserialize;

use super::feed::PageFeed;
use super::format::{grouped, rfc3339, sats, short, utc, weight, PageState};
use super::layout::{bars, document};
use super::list::meta_items;
use super::snapshot::{is_id_shaped, PageContext, ProposalPage, Snapshot, VoterRow};
use super::{html_response, sealed, vote_panel};
use crate::votes::{BallotType, VoteKind, VoteRules};

/// Voters per page.
pub const VOTERS_PER_PAGE: usize = 50;
/// A comment is cut to this many characters on the page.
const COMMENT_CHARS: usize = 280;

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<usize>,
}

/// `GET /proposals/{id}`.
pub async fn show(
    feed: web::Data<PageFeed>,
    path: web::Path<String>,
    query: web::Query<PageQuery>,
) -> HttpResponse {
    let snapshot = feed.current();
    let now = nostr_sdk::Timestamp::now().as_secs();
    match snapshot.find(&path) {
        Some(page) => html_response(render(
            &feed.context,
            &snapshot,
            page,
            query.page.unwrap_or(1),
            now,
        )),
        None => not_found(&snapshot, &path),
    }
}

/// The page for an id that names no proposal: 400 when it is not even an id, 404 otherwise.
pub fn not_found(snapshot: &Snapshot, raw: &str) -> HttpResponse {
    let (status, text) = if is_id_shaped(raw) {
        (
            StatusCode::NOT_FOUND,
            "No proposal with this id is known here.",
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            "Not a proposal id: give its event id (64 hex characters, note1... or nevent1...) or its address (naddr1...).",
        )
    };
    let main = html! {
        h1 { "Proposal not found" }
        p { (text) }
        p { a href="/" { "All proposals" } }
    };
    let mut response = html_response(document("Not found", snapshot, main));
    *response.status_mut() = status;
    response
}

/// The proposal page at `now`, voters page `voters_page` (1-based).
pub fn render(
    ctx: &PageContext,
    snapshot: &Snapshot,
    page: &ProposalPage,
    voters_page: usize,
    now: u64,
) -> Markup {
    let p = &page.proposal;
    let t = &page.tally;
    let result = &t.result;
    let state = PageState::of(now, p.window_end, result);
    let main = html! {
        article.proposal data-proposal=(page.id_hex) {
            div #summary data-live {
                h1 { (page.title) }
                p.meta { (meta_items(page, state, now)) }
                (bars(result, t.rules.veto_threshold))
                dl.numbers {
                    (number("support", "support_votes", result.support_votes))
                    (number("veto", "veto_votes", result.veto_votes))
                    (number("abstain", "abstain_votes", result.abstain_votes))
                    @if t.sealed.is_some() {
                        (number("sealed (not opened)", "sealed_votes", result.sealed_votes))
                    }
                    (number("total", "total_votes", result.total_votes))
                    (number("threshold", "threshold", result.threshold))
                    (count("voters", "voters", t.voters))
                    (count("zap votes", "zap_vote_count", result.zap_vote_count))
                    (count("participation votes", "participation_vote_count", result.participation_vote_count))
                    (count("receipts counted", "receipts_count", t.receipts_count))
                    (count("late zaps (not counted)", "late_votes", t.late_votes))
                    div {
                        dt { "verdict" }
                        dd data-field="verdict" {
                            @if result.veto_blocks { "vetoed: the veto blocks" }
                            @else if result.threshold_met { "threshold met" }
                            @else { "threshold not met" }
                        }
                    }
                }
                p.as-of { "As of " time datetime=(rfc3339(t.as_of)) { (utc(t.as_of)) } "." }
            }
            (timeline(page, now))
            (how_to_vote(ctx, page))
            (vote_panel::panel(ctx, page, now))
            (sealed::vote_secretly(ctx, page, now))
            (voters(page, voters_page))
            (rules_in_words(&t.rules, p.tier))
            (verify(ctx, page))
        }
    };
    document(&page.title, snapshot, main)
}

fn number(label: &str, field: &str, value: f64) -> Markup {
    html! {
        div { dt { (label) } dd data-field=(field) data-value=(value) { (weight(value)) } }
    }
}

fn count(label: &str, field: &str, value: u64) -> Markup {
    html! {
        div { dt { (label) } dd data-field=(field) data-value=(value) { (grouped(value)) } }
    }
}

fn timeline(page: &ProposalPage, now: u64) -> Markup {
    let p = &page.proposal;
    let moment = |ts: u64| html! { time datetime=(rfc3339(ts)) { (utc(ts)) } };
    html! {
        section #timeline data-live {
            h2 { "Timeline" }
            ol.timeline {
                li.done { "Published; voting opens " (moment(p.window_start)) }
                li.(if now > p.window_end { "done" } else { "due" }) {
                    "Voting closes " (moment(p.window_end))
                }
                li.(if page.published.is_some_and(|(_, fin)| fin) { "done" } else { "due" }) {
                    @match page.published {
                        Some((at, true)) => { "Final tally published " (moment(at)) }
                        Some((at, false)) => {
                            "Final tally at the close (latest tally published " (moment(at)) ")"
                        }
                        None => { "Final tally at the close" }
                    }
                }
            }
        }
    }
}

fn how_to_vote(ctx: &PageContext, page: &ProposalPage) -> Markup {
    html! {
        section #how {
            h2 { "How to vote" }
            p {
                "Zap this proposal from any Nostr client with zaps. The zap is the vote: its "
                "amount sets the weight, a keyword in the zap comment sets the type."
            }
            ul.links {
                li { "The proposal: " a href=(format!("nostr:{}", page.naddr)) { code { (short(&page.naddr)) } } }
                li { "The same, by event id: " a href=(format!("nostr:{}", page.nevent)) { code { (short(&page.nevent)) } } }
                @if let Some((_, nevent)) = &page.announcement {
                    li { "Its announcement (a note every client shows and can zap): " a href=(format!("nostr:{nevent}")) { code { (short(nevent)) } } }
                }
                @if let Some((_, nevent)) = &page.poll {
                    li { "Its zap poll (tap support, veto or abstain in clients with zap polls): " a href=(format!("nostr:{nevent}")) { code { (short(nevent)) } } }
                }
                @if let Some(address) = &ctx.lightning_address {
                    li { "Lightning address: " code { (address) } }
                }
            }
            p.keywords {
                "Keywords (first one wins, case does not matter): "
                strong { "support" } ", yes, approve · "
                strong { "veto" } ", oppose, against · "
                strong { "abstain" } ", neutral. "
                "No keyword counts as support; your latest zap with a keyword sets your vote."
            }
            p {
                "Weight is quadratic: it is the square root of the bitcoin you zap, so four times "
                "the sats give twice the weight, and splitting a payment never raises it."
            }
            table.quadratic {
                thead { tr { th { "zap" } th { "weight" } } }
                tbody {
                    @for sats_amount in [1_000u64, 10_000, 100_000, 1_000_000] {
                        tr {
                            td { (grouped(sats_amount)) " sats" }
                            td { (weight((sats_amount as f64 / 1e8).sqrt())) }
                        }
                    }
                }
            }
        }
    }
}

fn voters(page: &ProposalPage, requested: usize) -> Markup {
    let total = page.voters.len();
    let pages = total.div_ceil(VOTERS_PER_PAGE).max(1);
    let current = requested.clamp(1, pages);
    let rows = page
        .voters
        .iter()
        .skip((current - 1) * VOTERS_PER_PAGE)
        .take(VOTERS_PER_PAGE);
    let base = format!("/proposals/{}", page.id_hex);
    html! {
        section #voters data-live {
            h2 { "Voters (" (grouped(total as u64)) ")" }
            @if total == 0 {
                p.empty { "No counted vote yet." }
            } @else {
                table.voters {
                    thead {
                        tr {
                            th { "voter" } th { "vote" } th { "counted as" } th { "amount (sats)" }
                            th { "weight" } th { "last zap" } th { "comment" } th { "proof" }
                        }
                    }
                    tbody {
                        @for row in rows { (voter_row(page, row)) }
                    }
                }
                @if pages > 1 {
                    nav.pager {
                        @if current > 1 {
                            a rel="prev" href=(format!("{base}?page={}", current - 1)) { "← newer" }
                        }
                        span { "page " (current) " of " (pages) }
                        @if current < pages {
                            a rel="next" href=(format!("{base}?page={}", current + 1)) { "more →" }
                        }
                    }
                }
            }
            p { a href=(format!("{base}/votes.csv")) { "All voters as CSV" } }
        }
    }
}

fn voter_row(page: &ProposalPage, row: &VoterRow) -> Markup {
    let kind = match row.kind {
        VoteKind::Zap => "zap vote",
        VoteKind::Participation if row.cooling_off => "participation vote (cooling off)",
        VoteKind::Participation => "participation vote",
    };
    let comment: String = row.comment.chars().take(COMMENT_CHARS).collect();
    html! {
        tr data-voter=(row.npub) {
            td.voter data-label="voter" { code title=(row.npub) { (short(&row.npub)) } }
            td data-label="vote" {
                @if row.vote_type == BallotType::Sealed {
                    (sealed::sealed_until(page.proposal.window_end))
                } @else {
                    span.vote.(row.vote_type.as_str()) { (row.vote_type.as_str()) }
                }
            }
            td data-label="counted as" { (kind) }
            td.num data-label="amount (sats)" data-value=(row.amount_msat) { (sats(row.amount_msat)) }
            td.num data-label="weight" data-value=(row.weight) { (weight(row.weight)) }
            td data-label="last zap" { time datetime=(rfc3339(row.last_at())) { (utc(row.last_at())) } }
            td.comment data-label="comment" { (comment) }
            td data-label="proof" {
                @if let Some(receipt) = row.last_receipt() {
                    a href=(format!("/v1/proposals/{}/receipts?receipt={}", page.id_hex, receipt.to_hex())) {
                        "inclusion proof"
                    }
                    @if row.receipts.len() > 1 { " (" (row.receipts.len()) " zaps)" }
                }
            }
        }
    }
}

fn rules_in_words(rules: &VoteRules, tier: u8) -> Markup {
    let pct = |x: f64| format!("{}%", weight(x * 100.0));
    html! {
        section #rules {
            h2 { "The rules of this vote" }
            p { "Pinned when the proposal was published: no setting changed later applies to it." }
            ul {
                li {
                    "A vote weighs the square root of the bitcoin its sender zapped to this proposal "
                    "(the zap weight), or " (pct(rules.participation_floor)) " of the sender's "
                    "participation weight when that is larger: the square root of everything they "
                    "zapped to the bots in the last " (rules.participation_window_days) " days."
                }
                li {
                    "Cooling off: a sender whose zaps of the last " (rules.cooling_off_days)
                    " days add up to " (weight(rules.cooling_off_threshold_btc)) " BTC or more "
                    "votes with participation weight only, and those recent zaps are left out of it."
                }
                li {
                    "No vote weighs more than " (pct(rules.weight_cap)) " of all senders' "
                    "participation weight, once at least " (rules.cap_min_senders())
                    " senders take part."
                }
                li {
                    "Tier " (tier) ": the proposal passes when support reaches " (weight(rules.threshold))
                    "; a veto blocks it when veto weight is at least " (pct(rules.veto_threshold))
                    " of support plus veto. Abstain changes neither."
                }
                li {
                    "Only zaps paid inside the voting window count; only receipts signed by "
                    @if rules.zappers.is_empty() { "(no LNURL provider was known)" }
                    @for (i, zapper) in rules.zappers.iter().enumerate() {
                        @if i > 0 { ", " }
                        code title=(zapper.to_bech32().unwrap_or_default()) {
                            (short(&zapper.to_bech32().unwrap_or_default()))
                        }
                    }
                    " (the bots' LNURL providers) count."
                }
            }
        }
    }
}

fn verify(ctx: &PageContext, page: &ProposalPage) -> Markup {
    let relays: String = ctx.relays.iter().map(|r| format!(" --relay {r}")).collect();
    let example_receipt = page
        .voters
        .first()
        .and_then(VoterRow::last_receipt)
        .map_or_else(|| "<receipt id>".to_owned(), |id| id.to_hex());
    html! {
        section #verify data-live {
            h2 { "Check it yourself" }
            p {
                "Receipts root (RFC 9162, over the " (grouped(page.tally.receipts_count))
                " counted receipt ids): "
                code.root data-field="receipts_root" { (page.tally.receipts_root) }
            }
            @let a = &page.tally.anomalies;
            p {
                "Counted receipts that failed a provider check (counted anyway, DESIGN.md rules 4 and 7): "
                "description hash " span data-field="anomalies_description_hash" data-value=(a.description_hash) { (a.description_hash) }
                ", payment hash " span data-field="anomalies_payment_hash" data-value=(a.payment_hash) { (a.payment_hash) }
                ", preimage " span data-field="anomalies_preimage" data-value=(a.preimage) { (a.preimage) } "."
            }
            p { "Recompute every tally from the relays, trusting nothing here:" }
            pre { code { "commons-nostr verify" (relays) " --server " (ctx.server_npub) " --bot " (ctx.gov_npub) } }
            p { "Check that one zap was counted, against the signed root:" }
            pre { code {
                "commons-nostr verify-vote" (relays) " --proposal " (page.id_hex)
                " --receipt " (example_receipt)
            } }
            p {
                a href=(format!("/v1/proposals/{}/tally", page.id_hex)) { "tally JSON" } " · "
                a href=(format!("/v1/proposals/{}/receipts", page.id_hex)) { "counted receipts" } " · "
                a href=(format!("/proposals/{}/votes.csv", page.id_hex)) { "voters CSV" }
            }
        }
    }
}
