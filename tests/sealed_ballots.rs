//! Sealed ballots and private zaps end to end (DESIGN.md "Sealed ballots", "Private zaps",
//! "Tally events"): a proposal with a 60-second window (`voting_window_secs`) published through
//! the admin API pins the gov bot's ballot key; voters seal each type, others vote openly, one
//! pastes another's token, and a Damus/Amethyst-shaped private zap "typed veto" arrives. Before
//! the close the tally on a real relay shows the sealed weight and cannot pass, and nothing the
//! service published or answered holds the ballot secret; after the close the ballot secret
//! event is on the relay (created at or after `end`, valid for the pinned key) and the final
//! tally is opened and equals the tests' own naive recompute (`common::naive`). SQLite and
//! PostgreSQL (when `TEST_DATABASE_URL` is set) run side by side, so the minute is waited once.

mod common;

use std::time::Duration;

use common::app::TestConfig;
use common::http::{Api, Auth};
use common::naive::NaiveZap;
use common::relays::{fetch_all, published, TestRelay};
use common::sealed::{proposal_zap, tally_matching};
use common::test_db::TestDb;
use common::zaps::{publish, zap_config};
use commons_nostr::nostr::ballot_secret::parse_ballot_secret;
use commons_nostr::nostr::zap_provider::ZapProvider;
use commons_nostr::votes::{is_valid_secret, seal_ballot, BallotKey, VoteType};
use nostr_sdk::prelude::*;
use serde_json::{json, Value};

/// The voting window: the shortest `voting_window_secs` allows.
const WINDOW_SECS: u64 = 60;
/// How long the close may take to show on the relay after `end` (reveal, then the tally).
const AFTER_CLOSE: Duration = Duration::from_secs(60);

/// One zap as the test made it.
struct Sent {
    receipt: Event,
    zap: NaiveZap,
}

/// The proposal as the relay holds it: pinned rules, window, and its one ballot key (from the
/// `ballot_key` tag, which must agree with `rules.sealed`).
async fn proposal_on(relay: &RelayUrl, id: &EventId) -> (Value, u64, u64, BallotKey) {
    let event = &published(relay, *id).await;
    let content: Value = serde_json::from_str(&event.content).expect("json content");
    let rules = content["rules"].clone();
    let window = &content["voting_window"];
    let tagged: Vec<&[String]> = event
        .tags
        .iter()
        .map(|t| t.as_slice())
        .filter(|t| t.first().map(String::as_str) == Some("ballot_key"))
        .collect();
    assert_eq!(tagged.len(), 1, "one ballot_key tag: {:?}", event.tags);
    assert_eq!(tagged[0][2], event.pubkey.to_hex(), "the gov bot holds it");
    let key = BallotKey::from_hex(&tagged[0][1]).expect("a key");
    assert_eq!(
        rules["sealed"],
        json!({"scheme": "hpke-x25519-sha256-aes128gcm",
               "holders": [{"holder": event.pubkey.to_hex(), "key": key.to_hex()}]})
    );
    (
        rules,
        window["start"].as_u64().expect("start"),
        window["end"].as_u64().expect("end"),
        key,
    )
}

/// A zap of the proposal by `sender` with `text`, as a real provider makes it now.
fn zap(
    provider: &ZapProvider,
    gov: PublicKey,
    proposal: EventId,
    sender: &Keys,
    msat: u64,
    text: &str,
    sealed_as: Option<&'static str>,
) -> Sent {
    let (receipt, zap) = proposal_zap(provider, gov, proposal, sender, msat, text, sealed_as);
    Sent { receipt, zap }
}

/// A private zap as Damus and Amethyst send one (CLIENTS.md): the outer zap request is signed
/// by a throwaway key, its content is empty, and the voter's real request (here, one typed
/// "veto") is encrypted to the recipient in the `anon` tag's value.
fn private_zap(provider: &ZapProvider, gov: PublicKey, proposal: EventId, msat: u64) -> Sent {
    let voter = Keys::generate();
    let throwaway = Keys::generate();
    let inner = EventBuilder::new(Kind::ZapRequest, "veto")
        .tags([Tag::public_key(gov), Tag::event(proposal)])
        .sign_with_keys(&voter)
        .expect("inner request");
    // NIP-04 shaped (base64 ciphertext, `?iv=`): only the recipient could read it.
    let hidden = format!(
        "{}?iv=MTIzNDU2Nzg5MDEyMzQ1Ng==",
        base64_of(inner.as_json().as_bytes())
    );
    let request = EventBuilder::new(Kind::ZapRequest, "")
        .tags([
            Tag::public_key(gov),
            Tag::event(proposal),
            Tag::parse(["amount", &msat.to_string()]).expect("tag"),
            Tag::parse(["relays", "wss://relay.example.org"]).expect("tag"),
            Tag::parse(["anon", &hidden]).expect("tag"),
        ])
        .sign_with_keys(&throwaway)
        .expect("outer request");
    let now = Timestamp::now();
    let invoice = provider.invoice_at(&request, msat, now).expect("invoice");
    let receipt = provider
        .receipt(&request, &invoice.bolt11, Some(&invoice.preimage), now)
        .expect("receipt");
    Sent {
        zap: NaiveZap {
            receipt: receipt.id,
            sender: throwaway.public_key(),
            msat,
            at: now.as_secs(),
            names_proposal: true,
            poll_type: None,
            content: String::new(),
            private: true,
            sealed_as: None,
        },
        receipt,
    }
}

/// Standard base64 (the ciphertext's shape only; nothing reads it back).
fn base64_of(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The whole cycle on one database.
async fn sealed_cycle(test_db: TestDb) {
    let backend = test_db.backend();
    let relay = TestRelay::start().await;
    let urls = vec![relay.url()];
    let provider = ZapProvider::generate();
    let cfg: TestConfig = zap_config(&test_db.url, urls.clone(), &provider.public_key())
        .with("COMMONS__GOVERNANCE__TALLY_DEBOUNCE_SECS", "1");
    let gov = cfg.bot("gov");
    let app = cfg.start().await;
    let api = Api::new(app.http_addr(), &cfg.admin_token);

    // voting_window_secs below 60, or with voting_window_days: refused, naming the field.
    for bad in [
        json!({"action": "review-period", "repository": "btc-commons/governance", "pr": 8,
               "tier": 1, "title": "Too short", "voting_window_secs": 59}),
        json!({"action": "review-period", "repository": "btc-commons/governance", "pr": 8,
               "tier": 1, "title": "Both", "voting_window_secs": 60, "voting_window_days": 1}),
    ] {
        let refused = api.post("/v1/actions", Auth::Admin, &bad).await;
        assert_eq!(
            refused.status.as_u16(),
            400,
            "{backend}: {:?}",
            refused.json
        );
        assert_eq!(refused.field(), Some("voting_window_secs"), "{backend}");
    }

    let answer = api
        .post(
            "/v1/actions",
            Auth::Admin,
            &json!({"action": "review-period", "repository": "btc-commons/governance",
                    "pr": 9, "tier": 1, "title": "Seal it",
                    "voting_window_secs": WINDOW_SECS}),
        )
        .await;
    assert_eq!(answer.status.as_u16(), 201, "{backend}: {:?}", answer.json);
    let proposal = EventId::from_hex(answer.text("event_id")).expect("id");
    let (rules, start, end, key) = proposal_on(&urls[0], &proposal).await;
    assert_eq!(end - start, WINDOW_SECS, "{backend}");

    // Sealed ballots of each type (one among other words, one after a keyword), open votes,
    // a token copied into another voter's zap, and a private zap.
    let seal = |vote: VoteType, voter: &Keys| {
        seal_ballot(
            vote,
            &proposal,
            &voter.public_key(),
            &[key],
            &mut rand::rngs::OsRng,
        )
        .expect("seals")
    };
    let voters: Vec<Keys> = (0..7).map(|_| Keys::generate()).collect();
    let veto_token = seal(VoteType::Veto, &voters[0]);
    let sent = [
        zap(
            &provider,
            gov,
            proposal,
            &voters[0],
            4_000_000,
            &veto_token,
            Some("veto"),
        ),
        zap(
            &provider,
            gov,
            proposal,
            &voters[1],
            9_000_000,
            &format!("support {}", seal(VoteType::Abstain, &voters[1])),
            Some("abstain"),
        ),
        zap(
            &provider,
            gov,
            proposal,
            &voters[2],
            1_000_000,
            &format!("my ballot: {} thanks", seal(VoteType::Support, &voters[2])),
            Some("support"),
        ),
        zap(
            &provider, gov, proposal, &voters[3], 16_000_000, "veto", None,
        ),
        zap(
            &provider, gov, proposal, &voters[4], 25_000_000, "yes", None,
        ),
        // Another voter's token: it will not open for this sender.
        zap(
            &provider,
            gov,
            proposal,
            &voters[5],
            2_000_000,
            &veto_token,
            None,
        ),
        private_zap(&provider, gov, proposal, 21_000_000),
    ];
    let zaps: Vec<NaiveZap> = sent.iter().map(|s| s.zap.clone()).collect();
    let receipts: Vec<Event> = sent.iter().map(|s| s.receipt.clone()).collect();
    publish(&urls, &receipts).await;

    // Before the close: the sealed weight is there, the proposal cannot pass.
    let before = tally_matching(
        &urls[0],
        &gov,
        &proposal,
        (&zaps, &rules, start, end),
        false,
        Duration::from_secs(30),
    )
    .await;
    assert!(before.result.sealed_votes > 0.0, "{backend}: {before:?}");
    assert!(!before.result.threshold_met, "{backend}");
    assert_eq!(before.private_zaps.count, 1, "{backend}");
    assert_eq!(before.private_zaps.msat, 21_000_000, "{backend}");
    let sealed = before.sealed.as_ref().expect("sealed");
    assert_eq!(
        (sealed.keys.clone(), sealed.ballots, sealed.voters),
        (vec![key], 4, 4),
        "{backend}"
    );
    // The private zap "typed veto" is no vote at all: its throwaway key has no ballot.
    assert_eq!(before.voters, 6, "{backend}");
    // What anyone could read before the close: every event on the relay, and the API.
    let api_before = api
        .get(&format!("/v1/proposals/{}/tally", proposal.to_hex()))
        .await;
    assert_eq!(
        api_before.json["sealed"]["opened"],
        json!(false),
        "{backend}"
    );
    let mut seen_before: Vec<String> = fetch_all(&urls[0], Filter::new())
        .await
        .iter()
        .map(|e| e.as_json())
        .collect();
    seen_before.push(api_before.json.to_string());
    let secret_filter = Filter::new()
        .kind(Kind::ApplicationSpecificData)
        .author(gov)
        .identifier(format!("ballot-secret:{}", proposal.to_hex()));
    assert!(
        fetch_all(&urls[0], secret_filter.clone()).await.is_empty(),
        "{backend}: no ballot secret before the close"
    );

    // The close: the ballot secret is revealed, valid for the pinned key, created at `end` or
    // later.
    let deadline = tokio::time::Instant::now()
        + Duration::from_secs(end.saturating_sub(Timestamp::now().as_secs()))
        + AFTER_CLOSE;
    let event = loop {
        if let Some(event) = fetch_all(&urls[0], secret_filter.clone()).await.pop() {
            break event;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{backend}: no ballot secret on the relay after the close"
        );
        actix_rt::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(event.verify().is_ok(), "{backend}");
    assert!(event.created_at.as_secs() >= end, "{backend}");
    assert!(event.content.is_empty(), "{backend}");
    let secret = parse_ballot_secret(&event).expect("a ballot secret event");
    assert_eq!(secret.proposal, proposal, "{backend}");
    assert_eq!(secret.key, key, "{backend}");
    assert!(is_valid_secret(&secret.secret, &key), "{backend}");
    // Nothing before the close held it.
    let secret_hex = secret.secret.reveal_hex();
    for text in &seen_before {
        assert!(
            !text.contains(&secret_hex),
            "{backend}: the secret leaked in {text}"
        );
    }

    // The final tally is opened and equals the naive recompute with the ballots opened.
    let after = tally_matching(
        &urls[0],
        &gov,
        &proposal,
        (&zaps, &rules, start, end),
        true,
        AFTER_CLOSE,
    )
    .await;
    assert!(after.is_final, "{backend}");
    assert_eq!(after.result.sealed_votes, 0.0, "{backend}");
    let sealed = after.sealed.as_ref().expect("sealed");
    assert_eq!(
        (sealed.ballots, sealed.voters, sealed.invalid),
        (4, 4, 1),
        "{backend}"
    );
    // Veto: the sealed 0.002 BTC and the open 0.016 BTC; the copied token counts as abstain.
    assert!(
        after.result.veto_votes > before.result.veto_votes,
        "{backend}"
    );
    let api_after = api
        .get(&format!("/v1/proposals/{}/tally", proposal.to_hex()))
        .await;
    assert_eq!(api_after.json["sealed"]["opened"], json!(true), "{backend}");
    assert_eq!(
        api_after.json["result"],
        serde_json::to_value(&after.result).expect("json"),
        "{backend}"
    );
    app.stop().await;
}

#[actix_rt::test]
async fn sealed_ballots_stay_sealed_until_the_close_then_open_to_the_naive_recompute() {
    let databases = TestDb::all().await;
    futures::future::join_all(databases.into_iter().map(sealed_cycle)).await;
}
