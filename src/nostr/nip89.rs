//! NIP-89 "recommended application handler" of the public page (DESIGN.md "Events
//! published", the client handler row): a kind-31990 event from the gov bot, published when
//! `http.public_url` is set, so clients that cannot show our kinds offer "open in" the page.
//!
//! | kind | `d` | tags | content |
//! |---|---|---|---|
//! | 31990 | [`HANDLER_D`] | `k`=`30078`, `k`=`6969`; `web` = `<public_url>/proposals/<bech32>` for `naddr`, for `nevent`, and without a type (any NIP-19 entity) | JSON: `name`, `about` |
//!
//! `<bech32>` is NIP-89's placeholder: the client puts the event's `naddr1...` or `nevent1...`
//! there. The page resolves a proposal's `naddr`/`nevent`, and its tally's `naddr`, to the
//! proposal.

use nostr_sdk::{EventBuilder, Kind, Tag, TagKind};
use serde::Serialize;

/// NIP-89 handler information.
pub const HANDLER_KIND: Kind = Kind::Custom(31990);
/// The handler's stable `d`: one per gov bot, replaced on every start.
pub const HANDLER_D: &str = "commons-governance-page";
/// The kinds the page opens: governance actions and tallies, and zap polls.
pub const HANDLED_KINDS: [u16; 2] = [30078, 6969];
/// NIP-89's placeholder for the entity's bech32.
pub const BECH32_PLACEHOLDER: &str = "<bech32>";

#[derive(Debug, Serialize)]
struct HandlerContent<'a> {
    name: &'a str,
    about: &'a str,
}

/// The URL template clients fill in: `<public_url>/proposals/<bech32>`.
pub fn web_template(public_url: &str) -> String {
    format!(
        "{}/proposals/{BECH32_PLACEHOLDER}",
        public_url.trim_end_matches('/')
    )
}

/// The handler event for a page at `public_url`, to be signed by the gov bot.
pub fn client_handler(public_url: &str) -> EventBuilder {
    let web = web_template(public_url);
    let content = HandlerContent {
        name: "Bitcoin Commons governance",
        about: "Proposals, live quadratic-vote tallies and a vote panel; every number recomputable from the relays.",
    };
    let web_tag = |entity: Option<&str>| {
        let mut values = vec![web.clone()];
        values.extend(entity.map(str::to_owned));
        Tag::custom(TagKind::custom("web"), values)
    };
    EventBuilder::new(
        HANDLER_KIND,
        serde_json::to_string(&content).unwrap_or_default(),
    )
    .tags([Tag::identifier(HANDLER_D)])
    .tags(
        HANDLED_KINDS
            .iter()
            .map(|k| Tag::custom(TagKind::k(), [k.to_string()])),
    )
    .tags([
        web_tag(Some("naddr")),
        web_tag(Some("nevent")),
        web_tag(None),
    ])
}

#[cfg(test)]
mod tests {
    use nostr_sdk::Keys;

    use super::*;

    #[test]
    fn the_handler_names_its_kinds_and_the_page() {
        let keys = Keys::generate();
        let event = client_handler("https://vote.example.org/")
            .sign_with_keys(&keys)
            .expect("signs");
        assert_eq!(event.kind.as_u16(), 31990);
        let tags: Vec<Vec<String>> = event.tags.iter().map(|t| t.as_slice().to_vec()).collect();
        assert!(tags.contains(&vec!["d".into(), HANDLER_D.into()]));
        assert!(tags.contains(&vec!["k".into(), "30078".into()]));
        assert!(tags.contains(&vec!["k".into(), "6969".into()]));
        let web = "https://vote.example.org/proposals/<bech32>".to_string();
        assert!(tags.contains(&vec!["web".into(), web.clone(), "naddr".into()]));
        assert!(tags.contains(&vec!["web".into(), web.clone(), "nevent".into()]));
        assert!(tags.contains(&vec!["web".into(), web]));
        let content: serde_json::Value = serde_json::from_str(&event.content).expect("json");
        assert_eq!(content["name"], "Bitcoin Commons governance");
        assert!(event.verify().is_ok());
    }
}
