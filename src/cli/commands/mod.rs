//! One file per command: what it does with its parsed arguments, and its exit code. The helpers
//! several commands share (settings, a runtime, the shutdown signal, relay and id arguments)
//! are here.

use std::path::Path;
use std::process::ExitCode;

use nostr_sdk::ToBech32;

use crate::configuration::{Settings, SettingsSources};

pub(super) mod action;
pub(super) mod admin;
pub(super) mod ballot;
pub(super) mod ballot_holder;
pub(super) mod check_receipt;
pub(super) mod keygen;
pub(super) mod migrate;
pub(super) mod run;
pub(super) mod verify;
pub(super) mod verify_vote;
pub(super) mod watch;
pub(super) mod zap;

/// Prints `error: {message}` and gives the exit code of a usage error (2): bad arguments, bad
/// settings, a key that cannot be read.
pub(super) fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// Prints a report as pretty JSON on standard output (`--json`).
pub(super) fn print_json<T: serde::Serialize>(report: &T) {
    println!(
        "{}",
        serde_json::to_string_pretty(report).unwrap_or_default()
    );
}

pub(super) fn load_settings(config: Option<&Path>) -> Result<Settings, ExitCode> {
    Settings::load(SettingsSources::from_process(config)).map_err(usage_error)
}

/// Installs the SIGINT and SIGTERM handlers at once (before the service announces itself, so
/// a signal sent right after "listening on" is never the default, fatal one) and returns a
/// future that completes on the first of them.
pub(super) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let term = signal(SignalKind::terminate()).ok();
    let interrupt = signal(SignalKind::interrupt()).ok();
    async move {
        match (term, interrupt) {
            (Some(mut term), Some(mut interrupt)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = interrupt.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// Parses every `--relay`; the message names the bad one.
pub(super) fn relay_urls(relays: &[String]) -> Result<Vec<nostr_sdk::RelayUrl>, String> {
    relays
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            crate::configuration::parse_relay_url(&format!("--relay[{i}]"), raw)
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// An event id as hex, note1... or nevent1....
pub(super) fn event_id(flag: &str, raw: &str) -> Result<nostr_sdk::EventId, String> {
    use nostr_sdk::FromBech32;
    nostr_sdk::EventId::parse(raw)
        .ok()
        .or_else(|| {
            nostr_sdk::nips::nip19::Nip19Event::from_bech32(raw)
                .ok()
                .map(|e| e.event_id)
        })
        .ok_or_else(|| format!("{flag}: {raw:?} is not an event id (hex, note1 or nevent1)"))
}

pub(super) fn npub(pk: &nostr_sdk::PublicKey) -> String {
    pk.to_bech32().unwrap_or_else(|_| pk.to_hex())
}

/// A tokio runtime for a command (`multi_thread` for the ones that judge or follow relays), or
/// the exit status after saying why there is none.
pub(super) fn runtime(multi_thread: bool) -> Result<tokio::runtime::Runtime, ExitCode> {
    let mut builder = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    };
    builder.enable_all().build().map_err(|e| {
        eprintln!("error: cannot start a runtime: {e}");
        ExitCode::FAILURE
    })
}
