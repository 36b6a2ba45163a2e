//! Hostile input never panics: property tests feeding the NIP-57 validation
//! ([`nip57::validate`]) and every parser of [`commons_nostr::nostr::events`] properly signed events
//! with arbitrary kinds, tags and contents: huge tags, many tags, non-ASCII and broken strings,
//! nested JSON, invalid BOLT11, 100 KB contents, valid-looking events of the wrong kind. Each
//! must come back as a rejection or a `ParseError` (or, for a parser, a value), never a panic.
//!
//! Case counts are modest (see [`CASES`]) so the whole file runs in seconds in a debug build.

use std::collections::HashMap;
use std::sync::OnceLock;

use commons_nostr::nostr::events;
use commons_nostr::nostr::nip57::{self, Zapper};
use commons_nostr::nostr::zap_provider::{zap_request, ZapProvider, ZapTarget};
use nostr_sdk::prelude::*;
use proptest::prelude::*;

const CASES: u32 = 96;

/// One provider, one bot, one sender, for the whole file (keys are cheap, but not free).
struct World {
    provider: ZapProvider,
    bot: Keys,
    sender: Keys,
    stranger: Keys,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| World {
        provider: ZapProvider::generate(),
        bot: Keys::generate(),
        sender: Keys::generate(),
        stranger: Keys::generate(),
    })
}

fn recipients() -> HashMap<PublicKey, Zapper> {
    let w = world();
    HashMap::from([(w.bot.public_key(), Zapper::Known(w.provider.public_key()))])
}

/// Strings a relay might carry: ASCII, any Unicode, control characters, lone surrogate-ish
/// escapes, JSON fragments, hex, BOLT11-looking prefixes; sometimes long.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,64}",
        "\\PC{0,32}",
        "[0-9a-f]{64}",
        "lnbc[0-9a-z]{0,200}",
        "-?[0-9]{1,25}",
        Just(String::new()),
        Just("\u{0}\u{feff}\u{202e}\\ud800\"".to_string()),
        Just("{\"kind\":9734,\"tags\":[[\"p\"]],\"content\":{\"a\":[[[[[[]]]]]]}}".to_string()),
        (1usize..20_000).prop_map(|n| "é".repeat(n)),
        nested_json(),
    ]
}

/// Deeply nested JSON, arrays and objects (serde_json refuses past 128 levels: an error, not a
/// stack overflow).
fn nested_json() -> impl Strategy<Value = String> {
    (1usize..400, any::<bool>()).prop_map(|(depth, objects)| {
        if objects {
            format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))
        } else {
            format!("{}{}", "[".repeat(depth), "]".repeat(depth))
        }
    })
}

/// Tag names our parsers and the validation read, and a few others.
fn tag_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "p",
            "e",
            "a",
            "d",
            "t",
            "bolt11",
            "description",
            "amount",
            "preimage",
            "server",
            "status",
            "action",
            "repository",
            "pr",
            "tier",
            "governance_config",
            "voting_window",
            "zap",
            "r",
        ])
        .prop_map(str::to_string),
        "[a-z]{1,3}",
    ]
}

fn tag() -> impl Strategy<Value = Vec<String>> {
    (tag_name(), prop::collection::vec(nasty_string(), 0..4)).prop_map(|(name, values)| {
        let mut tag = vec![name];
        tag.extend(values);
        tag
    })
}

fn tags() -> impl Strategy<Value = Vec<Vec<String>>> {
    prop_oneof![
        4 => prop::collection::vec(tag(), 0..12),
        // Many tags.
        1 => (tag(), 500usize..3_000).prop_map(|(t, n)| vec![t; n]),
        // A huge one.
        1 => (tag_name(), 50_000usize..120_000)
            .prop_map(|(name, n)| vec![vec![name, "x".repeat(n)]]),
    ]
}

fn content() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => nasty_string(),
        // 100 KB.
        1 => (100_000usize..110_000).prop_map(|n| "{".repeat(n)),
        1 => Just(
            r#"{"server_id":"x","status":"healthy","head":"sha256:zz","entries":-1,"result":{}}"#
                .to_string()
        ),
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        prop::sample::select(vec![0u16, 1, 9734, 9735, 10002, 30078, 30079, 30080]),
        any::<u16>(),
    ]
    .prop_map(Kind::from)
}

fn build(kind: Kind, tags: &[Vec<String>], content: &str, keys: &Keys) -> Option<Event> {
    let tags: Vec<Tag> = tags
        .iter()
        .filter_map(|t| Tag::parse(t.iter().map(String::as_str)).ok())
        .collect();
    EventBuilder::new(kind, content)
        .tags(tags)
        .sign_with_keys(keys)
        .ok()
}

/// Every parser in `events`, on one event: none may panic.
fn parse_everything(event: &Event) {
    let _ = events::parse_bot_profile(event);
    let _ = events::parse_relay_list(event);
    let _ = events::parse_governance_status(event);
    let _ = events::parse_server_health(event);
    let _ = events::parse_audit_head(event);
    let _ = commons_nostr::nostr::governance_action::parse_governance_action(event);
    let _ = events::parse_vote_tally::<serde_json::Value>(event);
    let _ = events::parse_note(event);
    for tag in event.tags.iter() {
        for value in tag.as_slice() {
            let _ = events::parse_address(value);
        }
    }
    let raw: Vec<Vec<String>> = event.tags.iter().map(|t| t.as_slice().to_vec()).collect();
    let _ = events::note_tags(&raw);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    /// Arbitrary events, from a stranger or from our provider, with our bot tagged or not.
    #[test]
    fn arbitrary_events_are_rejected_or_parsed_never_a_panic(
        kind in kind(),
        mut tags in tags(),
        content in content(),
        tag_bot in any::<bool>(),
        by_provider in any::<bool>(),
    ) {
        let w = world();
        if tag_bot {
            tags.push(vec!["p".into(), w.bot.public_key().to_hex()]);
        }
        let keys = if by_provider { w.provider.keys() } else { &w.stranger };
        let Some(event) = build(kind, &tags, &content, keys) else {
            return Ok(());
        };
        let verdict = nip57::validate(&event, &recipients());
        // No arbitrary event is a valid zap: it has no invoice the provider's node signed.
        prop_assert!(verdict.is_err(), "{verdict:?}");
        let _ = nip57::signed_by_known_zapper(&event, &recipients());
        parse_everything(&event);
        // The same, read back from JSON the way a relay hands it over.
        if let Ok(again) = Event::from_json(event.as_json()) {
            prop_assert!(nip57::validate(&again, &recipients()).is_err());
        }
    }

    /// A receipt signed properly by the bot's provider, to the bot, with a garbage
    /// `description` and a BOLT11 invoice that really commits to that garbage (so rule 4's hash
    /// holds and the zap request itself must be refused), or an invalid BOLT11 string.
    #[test]
    fn provider_signed_receipt_with_a_garbage_description_is_rejected(
        description in nasty_string(),
        bolt11_garbage in prop::option::of(nasty_string()),
        amount in prop::option::of(nasty_string()),
        extra in prop::collection::vec(tag(), 0..4),
    ) {
        let w = world();
        let bolt11 = match bolt11_garbage {
            Some(garbage) => garbage,
            None => w
                .provider
                .sign_invoice(&description, Some(21_000), Timestamp::now())
                .map(|i| i.bolt11)
                .unwrap_or_default(),
        };
        let mut tags = vec![
            vec!["p".to_string(), w.bot.public_key().to_hex()],
            vec!["bolt11".to_string(), bolt11],
            vec!["description".to_string(), description],
        ];
        if let Some(amount) = amount {
            tags.push(vec!["amount".to_string(), amount]);
        }
        tags.extend(extra);
        let Some(receipt) = build(Kind::ZapReceipt, &tags, "", w.provider.keys()) else {
            return Ok(());
        };
        let verdict = nip57::validate(&receipt, &recipients());
        prop_assert!(verdict.is_err(), "{verdict:?}");
        // A provider's broken receipt is kept whole (it is proven), never mistaken for junk.
        prop_assert!(nip57::signed_by_known_zapper(&receipt, &recipients()));
        parse_everything(&receipt);
    }

    /// An honest zap request with hostile content and tags, paid properly: never a panic, and
    /// if valid, its amount is the invoice's.
    #[test]
    fn honest_receipt_with_hostile_request_content_never_panics(
        text in nasty_string(),
        extra in prop::collection::vec(tag(), 0..3),
    ) {
        let w = world();
        let target = ZapTarget::new(w.bot.public_key(), 21_000).content(&text);
        let Ok(request) = zap_request(&w.sender, &target) else {
            return Ok(());
        };
        let Ok(invoice) = w.provider.invoice(&request, 21_000) else {
            return Ok(());
        };
        let Ok(receipt) = w.provider.receipt(&request, &invoice.bolt11, None, Timestamp::now())
        else {
            return Ok(());
        };
        if let Ok(zap) = nip57::validate(&receipt, &recipients()) {
            prop_assert_eq!(zap.amount_msat(), 21_000);
        }
        // Extra hostile tags on a re-signed copy: still no panic.
        let mut tags: Vec<Vec<String>> =
            receipt.tags.iter().map(|t| t.as_slice().to_vec()).collect();
        tags.extend(extra);
        if let Some(copy) = build(Kind::ZapReceipt, &tags, "", w.provider.keys()) {
            let _ = nip57::validate(&copy, &recipients());
            parse_everything(&copy);
        }
    }

    /// Events the service publishes, signed right but read under another kind: a parser for
    /// one kind refuses every other.
    #[test]
    fn valid_looking_events_of_the_wrong_kind_are_parse_errors(kind in kind()) {
        let w = world();
        let d = events::d::tally(&EventId::all_zeros());
        let tags = vec![
            vec!["d".to_string(), d],
            vec!["e".to_string(), EventId::all_zeros().to_hex()],
            vec!["t".to_string(), "governance-tally".to_string()],
        ];
        let Some(event) = build(kind, &tags, r#"{"result":{},"final":false}"#, &w.bot) else {
            return Ok(());
        };
        let tally = events::parse_vote_tally::<serde_json::Value>(&event);
        prop_assert_eq!(tally.is_ok(), kind == Kind::from(30078u16), "{:?}", tally.err());
        prop_assert!(kind == Kind::from(1u16) || events::parse_note(&event).is_err());
        prop_assert!(kind == Kind::from(0u16) || events::parse_bot_profile(&event).is_err());
        prop_assert!(kind == Kind::ZapReceipt || nip57::validate(&event, &recipients()).is_err());
    }
}
