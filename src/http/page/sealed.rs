//! Sealed ballots on a proposal page (DESIGN.md "The public page", "Sealed ballots"):
//!
//! - "Vote secretly": what a sealed ballot hides (the choice, until the close) and what it does
//!   not (the npub, the amount), and a form the page script turns on to make the token in the
//!   browser ([`super::assets::BALLOT_SCRIPT`], WebCrypto only) for an npub typed in or taken
//!   from the NIP-07 signer; nothing with the choice is sent anywhere. Without JavaScript it
//!   shows the `commons-nostr ballot` command instead;
//! - the reveal ([`reveal`], live): each pinned key with its holder's npub, and after the close
//!   whether its secret is revealed or still awaited (`waiting`); the sealed weight while the ballots are unopened;
//! - private zaps: counted nowhere, and why.
//!
//! The form is not `data-live`: a live update must not wipe a token the voter has not copied.

use maud::{html, Markup};

use super::format::{grouped, rfc3339, sats, short, utc, weight};
use super::snapshot::{PageContext, ProposalPage};

/// The pinned ballot keys of `page`, hex, in holder order (empty without sealed ballots).
pub fn ballot_keys(page: &ProposalPage) -> Vec<String> {
    page.proposal
        .ballot_keys()
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// `holder` (hex) as an npub, or as given when it is not a key.
fn npub_of(holder: &str) -> String {
    nostr_sdk::PublicKey::from_hex(holder)
        .ok()
        .and_then(|key| nostr_sdk::nips::nip19::ToBech32::to_bech32(&key).ok())
        .unwrap_or_else(|| holder.to_owned())
}

/// "sealed until `<end>`": a voter row whose ballot is not opened yet.
pub fn sealed_until(end: u64) -> Markup {
    html! {
        span.vote.sealed title="a sealed ballot: its type is opened at the close" {
            "sealed until " time datetime=(rfc3339(end)) { (utc(end)) }
        }
    }
}

/// The "Vote secretly" section, or nothing when the proposal pins no ballot keys.
pub fn vote_secretly(ctx: &PageContext, page: &ProposalPage, now: u64) -> Markup {
    let keys = ballot_keys(page);
    if keys.is_empty() {
        return html! { section #sealed { (reveal(page, now)) } };
    }
    let end = page.proposal.window_end;
    let open = now <= end;
    let relays: String = ctx.relays.iter().map(|r| format!(" --relay {r}")).collect();
    html! {
        section #sealed .sealed-panel data-proposal=(page.id_hex) data-ballot-keys=(keys.join(" ")) data-end=(end) {
            h2 { "Vote secretly" }
            p {
                "A " strong { "sealed ballot" } " keeps your choice secret until the vote closes ("
                time datetime=(rfc3339(end)) { (utc(end)) } "): you put a ballot token in your "
                "zap comment instead of a keyword, and nobody, this server included, can read it "
                "before the close. Then the ballot key's secret is published and anyone can open "
                "every ballot and recount."
            }
            p.hides {
                "What it does " strong { "not" } " hide: who you are (your npub) and how much you "
                "zap. The zap receipt carries both, as with any zap; your vote's weight counts from "
                "the start, as \"sealed\"."
            }
            @if open {
                p {
                    "The token is made for one voter and this proposal: zap from the same npub, "
                    "the proposal or its announcement (not a zap-poll option, which would count "
                    "instead). A token that does not open counts as abstain."
                }
                div.no-script {
                    p { "Make one with the command line (it needs no secret and sends nothing):" }
                    pre { code {
                        "commons-nostr ballot " (page.id_hex) " --vote veto --voter <your npub>" (relays)
                    } }
                }
                form.ballot hidden {
                    fieldset {
                        legend { "Your choice (it stays in this browser)" }
                        label { input type="radio" name="vote" value="support" checked; " support" }
                        label { input type="radio" name="vote" value="veto"; " veto" }
                        label { input type="radio" name="vote" value="abstain"; " abstain" }
                    }
                    label.voter {
                        "Your npub "
                        input type="text" name="voter" required autocomplete="off" spellcheck="false"
                            placeholder="npub1...";
                    }
                    button.from-signer type="button" hidden { "Use my signer's key" }
                    button type="submit" { "Make the sealed ballot" }
                    p.status role="status" {}
                    div.token hidden {
                        p { "Paste this as your zap comment:" }
                        code.value {}
                    }
                }
            } @else {
                p { "Voting has closed: no new ballot counts." }
            }
            (reveal(page, now))
        }
    }
}

/// The pinned keys and their reveal, the sealed weight, and the private zaps (live).
pub fn reveal(page: &ProposalPage, now: u64) -> Markup {
    let t = &page.tally;
    let end = page.proposal.window_end;
    let opened = t.sealed.as_ref().is_some_and(|s| s.opened);
    html! {
        div #reveal data-live {
            @if let Some(sealed) = &t.sealed {
                h3 { "Ballot keys" }
                @if page.ballot_keys.len() > 1 {
                    p {
                        "Every holder below must publish its key's secret after the close before "
                        "anyone (this server included) can open a sealed ballot. A holder who "
                        "never does keeps the proposal from passing, never makes it pass."
                    }
                }
                ul.keys {
                    @for key in &page.ballot_keys {
                        @let npub = npub_of(&key.holder);
                        // The page may be rendered after the snapshot's moment: the close
                        // and an opening are read from the clock and the tally.
                        @let state = if now <= end {
                            "pending"
                        } else if opened || key.state == "revealed" {
                            "revealed"
                        } else {
                            "waiting"
                        };
                        li data-key=(key.key) data-holder=(npub) data-state=(state) {
                            "holder " span.npub title=(npub) { (short(&npub)) } ", key "
                            code title=(key.key) { (short(&key.key)) } " "
                            @match state {
                                "pending" => span.key-state.pending { "secret until the close" },
                                "revealed" => span.key-state.revealed { "revealed" },
                                _ => span.key-state.waiting { "waiting for its secret" },
                            }
                        }
                    }
                }
                p {
                    @if opened {
                        "Opened: " (grouped(sealed.ballots)) " sealed ballot(s) from "
                        (grouped(sealed.voters)) " voter(s), "
                        span data-field="sealed_invalid" data-value=(sealed.invalid) { (grouped(sealed.invalid)) }
                        " of them did not open (counted as abstain)."
                    } @else {
                        "Sealed weight, not opened yet: "
                        span data-field="sealed_votes" data-value=(t.result.sealed_votes) { (weight(t.result.sealed_votes)) }
                        " (" (grouped(sealed.ballots)) " ballot(s) from " (grouped(sealed.voters))
                        " voter(s)). It counts for no side, and while it is there the proposal "
                        "cannot pass: nobody has read those ballots."
                    }
                }
            }
            p.private-zaps {
                "Private zaps (the voter's request encrypted to the bot, signed by a throwaway key): "
                span data-field="private_zaps" data-value=(t.private_zaps.count) { (grouped(t.private_zaps.count)) }
                " (" (sats(t.private_zaps.msat)) " sats), counted nowhere: nobody but the bot "
                "could check who sent one or what it says, so it can be no vote. Vote secretly "
                "with a sealed ballot instead."
            }
        }
    }
}
