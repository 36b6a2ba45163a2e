//! `GET /`: every proposal, open ones first (the soonest to close first), then closed ones
//! (the latest first), each with its state, time left, result bars and voters.

use actix_web::{web, HttpResponse};
use maud::{html, Markup};

use super::feed::PageFeed;
use super::format::{rfc3339, time_left, PageState};
use super::html_response;
use super::layout::{bars, document};
use super::snapshot::{ProposalPage, Snapshot};

/// `GET /`.
pub async fn list(feed: web::Data<PageFeed>) -> HttpResponse {
    let now = nostr_sdk::Timestamp::now().as_secs();
    html_response(render(&feed.current(), now))
}

/// The list page at `now`.
pub fn render(snapshot: &Snapshot, now: u64) -> Markup {
    let mut open: Vec<&ProposalPage> = Vec::new();
    let mut closed: Vec<&ProposalPage> = Vec::new();
    for page in &snapshot.proposals {
        if now <= page.proposal.window_end {
            open.push(page);
        } else {
            closed.push(page);
        }
    }
    open.sort_by_key(|p| p.proposal.window_end);
    let main = html! {
        div #proposals data-live {
            h1 { "Proposals" }
            @if snapshot.proposals.is_empty() {
                p.empty { "No proposal has been published yet." }
            }
            @for page in open.iter().chain(closed.iter()) {
                (card(page, now))
            }
        }
    };
    document("Proposals", snapshot, main)
}

/// One proposal in the list.
pub fn card(page: &ProposalPage, now: u64) -> Markup {
    let p = &page.proposal;
    let result = &page.tally.result;
    let state = PageState::of(now, p.window_end, result);
    html! {
        article.card data-proposal=(page.id_hex) {
            h2 { a href=(format!("/proposals/{}", page.id_hex)) { (page.title) } }
            p.meta {
                (meta_items(page, state, now))
                " · " span data-field="voters" data-value=(page.tally.voters) { (page.tally.voters) }
                " voters"
            }
            (bars(result, page.tally.rules.veto_threshold))
        }
    }
}

/// What a proposal's meta line says in the list and on its page: the pull request, the tier,
/// the state pill and the time left.
pub fn meta_items(page: &ProposalPage, state: PageState, now: u64) -> Markup {
    let p = &page.proposal;
    html! {
        (repository_link(&page.repository, p.pr))
        " · tier " (p.tier)
        " · " span.pill.(state.as_str()) data-field="state" { (state.as_str()) }
        " · " time data-end=(p.window_end) datetime=(rfc3339(p.window_end)) {
            (time_left(now, p.window_end))
        }
    }
}

/// `owner/name #12`, linked to the pull request.
pub fn repository_link(repository: &str, pr: u64) -> Markup {
    html! {
        a.repo href=(format!("https://github.com/{repository}/pull/{pr}")) rel="noopener noreferrer" {
            (repository) " #" (pr)
        }
    }
}
