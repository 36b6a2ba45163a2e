//! The public tools `verify` and `verify-vote` run as a voter runs them: the binary, against a
//! test's relays, on a blocking thread (the relays live on the test's runtime). Each answers
//! the exit code and everything the binary printed.

use std::process::Command;

use nostr_sdk::{EventId, RelayUrl};

use super::app::TestConfig;
use super::binary::BIN;

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
