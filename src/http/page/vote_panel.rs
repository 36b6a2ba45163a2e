//! The vote panel of a proposal page. Server-side it is a short "how to vote from a client"
//! text and a form the page script turns on where the browser has a NIP-07 signer
//! (`window.nostr`): pick support, veto or abstain and an amount, sign the zap request, get
//! the invoice from the gov bot's LNURL callback, show it as a QR code and a `lightning:` link,
//! and pay it with WebLN where present. Without JavaScript or a signer only the text shows.
//!
//! Everything the script needs is in `data-` attributes here, never in inline script: the
//! proposal id and address, the gov bot's key, the relays, and the bot's LNURL-pay URL.

use maud::{html, Markup};

use super::format::short;
use super::snapshot::{PageContext, ProposalPage};

/// The LNURL-pay (LUD-16) URL of a lightning address `name@domain`: `https://`, or plain
/// `http://` for a loopback `host:port` (the development provider, DESIGN.md "Zapping").
pub fn lnurlp_url(address: &str) -> Option<String> {
    let (name, domain) = address.split_once('@')?;
    let host = domain.rsplit_once(':').map_or(domain, |(host, _)| host);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let scheme = if loopback { "http" } else { "https" };
    Some(format!("{scheme}://{domain}/.well-known/lnurlp/{name}"))
}

/// The origin (`scheme://host[:port]`) of a URL, for the Content-Security-Policy.
pub fn origin(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    Some(url.origin().ascii_serialization()).filter(|o| o != "null")
}

/// The panel of `page` at `now`.
pub fn panel(ctx: &PageContext, page: &ProposalPage, now: u64) -> Markup {
    let open = now <= page.proposal.window_end;
    let lnurlp = ctx.lightning_address.as_deref().and_then(lnurlp_url);
    let relays: Vec<String> = ctx.relays.iter().map(ToString::to_string).collect();
    html! {
        section #vote .vote-panel
            data-proposal=(page.id_hex)
            data-address=(page.proposal.address)
            data-gov=(ctx.gov.to_hex())
            data-relays=(relays.join(" "))
            data-lnurlp=[lnurlp.as_deref()]
            data-poll=[page.poll.as_ref().map(|(id, _)| id.to_hex())]
            data-ballot-keys=(super::sealed::ballot_keys(page).join(" "))
            data-open=(open) {
            h2 { "Vote from this page" }
            @if !open {
                p { "Voting has closed." }
            } @else {
                div.no-signer {
                    p {
                        "This page can build the zap for you when your browser has a Nostr "
                        "signer extension (NIP-07). Without one, zap the proposal from a Nostr "
                        "client (the links above) with a keyword in the comment, or from a shell:"
                    }
                    pre { code { "commons-nostr zap " (short(&page.naddr)) " --sats 1000 --comment support" } }
                }
                @if lnurlp.is_some() {
                    form.signer hidden {
                        fieldset {
                            legend { "Your vote" }
                            label { input type="radio" name="vote" value="support" checked; " support" }
                            label { input type="radio" name="vote" value="veto"; " veto" }
                            label { input type="radio" name="vote" value="abstain"; " abstain" }
                        }
                        label.seal hidden {
                            input type="checkbox" name="seal";
                            " Seal my choice (a sealed ballot: secret until the close; the zap "
                            "goes to the proposal itself)"
                        }
                        label.amount {
                            "Amount (sats) "
                            input type="number" name="sats" min="1" step="1" value="1000" required;
                        }
                        button type="submit" { "Sign the zap and get the invoice" }
                        p.status role="status" {}
                    }
                    div.invoice hidden {
                        img.qr alt="QR code of the invoice" width="240" height="240";
                        p { a.pay href="#" { "Open in a wallet (lightning:)" } }
                        p { code.bolt11 {} }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lnurlp_urls_of_addresses() {
        assert_eq!(
            lnurlp_url("gov@example.org").as_deref(),
            Some("https://example.org/.well-known/lnurlp/gov")
        );
        assert_eq!(
            lnurlp_url("gov@127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080/.well-known/lnurlp/gov")
        );
        assert_eq!(
            lnurlp_url("gov@localhost:9").as_deref(),
            Some("http://localhost:9/.well-known/lnurlp/gov")
        );
        assert_eq!(lnurlp_url("nonsense"), None);
        assert_eq!(
            origin("https://example.org/.well-known/lnurlp/gov").as_deref(),
            Some("https://example.org")
        );
        assert_eq!(
            origin("http://127.0.0.1:8080/x").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin("not a url"), None);
    }
}
