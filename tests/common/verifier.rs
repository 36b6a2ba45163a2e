//! The public tools `verify` and `verify-vote` run as a voter runs them: the binary, against a
//! test's relays, on a blocking thread (the relays live on the test's runtime). Each answers
//! the exit code and everything the binary printed. Also the tallies they check: the newest
//! one on a relay, and a doctored one re-signed with the gov key.

use std::process::Command;
use std::time::Duration;

use commons_nostr::votes::TallyContent;
use nostr_sdk::prelude::*;

use super::app::TestConfig;
use super::binary::BIN;
use super::relays::fetch_all;
use super::zaps::{publish, wait_until};

/// How long a tally may take to reach the relay.
const TALLY_WAIT: Duration = Duration::from_secs(60);

/// Runs the binary with `args`: exit code and stdout followed by stderr.
pub async fn run(args: Vec<String>) -> (i32, String) {
    let out = tokio::task::spawn_blocking(move || Command::new(BIN).args(args).output())
        .await
        .expect("the blocking task ran")
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// `--relay URL` for each relay.
pub fn relay_args(relays: &[RelayUrl]) -> Vec<String> {
    relays
        .iter()
        .flat_map(|r| ["--relay".to_owned(), r.to_string()])
        .collect()
}

/// `commons-nostr verify` of the service `cfg` describes (its server key and every bot key).
pub async fn verify(cfg: &TestConfig, relays: &[RelayUrl]) -> (i32, String) {
    let mut args = vec![
        "verify".to_owned(),
        "--timeout".into(),
        "5".into(),
        "--server".into(),
        cfg.server_keys.public_key().to_hex(),
    ];
    args.extend(relay_args(relays));
    for keys in cfg.bot_keys.values() {
        args.extend(["--bot".to_owned(), keys.public_key().to_hex()]);
    }
    run(args).await
}

/// `commons-nostr verify-vote` of one receipt, with the service's API (`--api`) when given.
pub async fn verify_vote(
    relays: &[RelayUrl],
    proposal: &EventId,
    receipt: &EventId,
    api: Option<String>,
) -> (i32, String) {
    let mut args = vec![
        "verify-vote".to_owned(),
        "--timeout".into(),
        "5".into(),
        "--proposal".into(),
        proposal.to_hex(),
        "--receipt".into(),
        receipt.to_hex(),
    ];
    args.extend(relay_args(relays));
    if let Some(api) = api {
        args.extend(["--api".to_owned(), api]);
    }
    run(args).await
}

/// The newest tally of `proposal` signed by `gov` on `relay`, once `ready` holds for its
/// content.
pub async fn tally_where(
    relay: &RelayUrl,
    gov: &PublicKey,
    proposal: &EventId,
    ready: impl Fn(&TallyContent) -> bool,
) -> (Event, TallyContent) {
    tally_within(relay, gov, proposal, TALLY_WAIT, ready).await
}

/// [`tally_where`], waiting up to `within` (a proposal's close, say) instead of the default.
pub async fn tally_within(
    relay: &RelayUrl,
    gov: &PublicKey,
    proposal: &EventId,
    within: Duration,
    ready: impl Fn(&TallyContent) -> bool,
) -> (Event, TallyContent) {
    let filter = Filter::new()
        .kind(Kind::ApplicationSpecificData)
        .author(*gov)
        .identifier(format!("tally:{}", proposal.to_hex()));
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let newest = fetch_all(relay, filter.clone())
            .await
            .into_iter()
            .max_by_key(|e| e.created_at);
        if let Some(event) = newest {
            let content: TallyContent =
                serde_json::from_str(&event.content).expect("tally content");
            if ready(&content) {
                return (event, content);
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no tally of {proposal} is ready"
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `content` signed by the gov key as the tally of `honest`'s proposal, `later` seconds after
/// `honest`, and published to every relay: what a dishonest operator could put there.
pub async fn republish(
    relays: &[RelayUrl],
    gov: &Keys,
    honest: &Event,
    content: &TallyContent,
    later: u64,
) {
    let event = EventBuilder::new(honest.kind, content.to_json())
        .tags(honest.tags.clone())
        .custom_created_at(honest.created_at + later)
        .sign_with_keys(gov)
        .expect("signed");
    publish(relays, &[event]).await;
}

/// Waits until `relay` holds what `server` signs for `verify` to check (its governance status,
/// health and audit head: kinds 30078, 30079, 30080).
pub async fn server_events_on(relay: &RelayUrl, server: PublicKey) {
    wait_until(
        TALLY_WAIT,
        "status, health and head on the relay",
        || async {
            let kinds: Vec<u16> = fetch_all(relay, Filter::new().author(server))
                .await
                .iter()
                .map(|e| e.kind.as_u16())
                .collect();
            [30078, 30079, 30080].iter().all(|k| kinds.contains(k))
        },
    )
    .await;
}

/// Publishes a review period through the admin API (`body` is `POST /v1/actions`' JSON) and
/// waits until `relay` holds it: its id, its event, and its window's start.
pub async fn open_review_period(
    api: &super::http::Api,
    relay: &RelayUrl,
    body: &serde_json::Value,
) -> (EventId, Event, u64) {
    let answer = api
        .post("/v1/actions", super::http::Auth::Admin, body)
        .await;
    assert_eq!(answer.status.as_u16(), 201, "{:?}", answer.json);
    let proposal = EventId::from_hex(answer.text("event_id")).expect("proposal id");
    let event = super::relays::published(relay, proposal).await;
    let start = serde_json::from_str::<serde_json::Value>(&event.content)
        .expect("proposal content")["voting_window"]["start"]
        .as_u64()
        .expect("window start");
    (proposal, event, start)
}
