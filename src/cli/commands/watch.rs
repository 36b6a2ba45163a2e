//! `commons-nostr watch`: its arguments, checked into
//! [`WatchOptions`](crate::cli::watch::WatchOptions), and the watch run until a
//! signal (see [`crate::cli::watch`]).

use std::process::ExitCode;

use clap::Args;

use super::{runtime, shutdown_signal, usage_error};

/// `commons-nostr watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// A relay to watch (repeat for several).
    #[arg(long = "relay", required = true, value_name = "URL")]
    pub relays: Vec<String>,
    /// The server's public key (npub or hex).
    #[arg(long, value_name = "NPUB")]
    pub server: Option<String>,
    /// A bot's public key, optionally named: `gov=npub1...` (repeat for several).
    #[arg(long = "bot", value_name = "[NAME=]NPUB")]
    pub bots: Vec<String>,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Milliseconds a new event waits for other relays to deliver it too (one line, all relays).
    #[arg(long, default_value_t = 300, value_name = "MS")]
    pub settle_ms: u64,
    /// Seconds between reconnection attempts to a relay that dropped.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub retry_secs: u64,
}

/// The watch options from the arguments, or what is wrong with them.
pub fn watch_options(args: &WatchArgs) -> Result<crate::cli::watch::WatchOptions, String> {
    let mut relays = Vec::new();
    for (i, raw) in args.relays.iter().enumerate() {
        let url = crate::configuration::parse_relay_url(&format!("--relay[{i}]"), raw)
            .map_err(|e| e.to_string())?;
        relays.push(url);
    }
    let server = match &args.server {
        Some(s) => Some(
            nostr_sdk::PublicKey::parse(s.trim())
                .map_err(|_| format!("--server: {s:?} is not an npub or hex key"))?,
        ),
        None => None,
    };
    let bots = args
        .bots
        .iter()
        .map(|b| crate::cli::watch::Bot::parse(b))
        .collect::<Result<Vec<_>, _>>()?;
    if args.retry_secs == 0 {
        return Err("--retry-secs: must be 1 or more".into());
    }
    Ok(crate::cli::watch::WatchOptions {
        relays,
        authors: crate::cli::watch::Authors { server, bots },
        json: args.json,
        settle: std::time::Duration::from_millis(args.settle_ms),
        retry: std::time::Duration::from_secs(args.retry_secs),
    })
}

pub(in crate::cli) fn watch(args: &WatchArgs) -> ExitCode {
    let opts = match watch_options(args) {
        Ok(o) => o,
        Err(e) => return usage_error(e),
    };
    let runtime = match runtime(true) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        let shutdown = shutdown_signal();
        crate::cli::watch::watch(
            opts,
            |output| match output {
                crate::cli::watch::Output::Line(line) => println!("{line}"),
                crate::cli::watch::Output::Notice(notice) => eprintln!("{notice}"),
            },
            shutdown,
        )
        .await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
