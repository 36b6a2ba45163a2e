//! `commons-nostr check-receipt`: zap receipts judged offline, from a file or standard input (see
//! [`crate::cli::check_receipt`]).

use std::path::Path;
use std::process::ExitCode;

use super::usage_error;
use crate::cli::check_receipt::check_all;

/// `commons-nostr check-receipt` (see [`check_receipt`](crate::cli::check_receipt)).
pub(in crate::cli) fn check_receipt(
    file: Option<&Path>,
    zapper: Option<&str>,
    json: bool,
) -> ExitCode {
    let zapper = match zapper.map(nostr_sdk::PublicKey::parse).transpose() {
        Ok(zapper) => zapper,
        Err(_) => return usage_error(format!("--zapper: {zapper:?} is not an npub or hex key")),
    };
    let stdout = std::io::stdout().lock();
    let checked = match file {
        Some(path) if path != Path::new("-") => match std::fs::File::open(path) {
            Ok(f) => check_all(std::io::BufReader::new(f), stdout, zapper, json),
            Err(e) => return usage_error(format!("{}: {e}", path.display())),
        },
        _ => check_all(std::io::stdin().lock(), stdout, zapper, json),
    };
    match checked {
        Ok(summary) => {
            eprintln!("{summary}");
            if summary.all_accepted() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => usage_error(format!("reading the receipts: {e}")),
    }
}
