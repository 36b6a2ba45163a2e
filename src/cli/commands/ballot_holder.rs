//! `commons-nostr ballot-holder`: runs an independent ballot key holder until a signal (see
//! [`crate::cli::ballot_holder`]).

use std::process::ExitCode;

use super::{runtime, shutdown_signal};

/// `commons-nostr ballot-holder` (see [`ballot_holder`](crate::cli::ballot_holder)).
pub(in crate::cli) fn ballot_holder(
    args: &crate::cli::ballot_holder::BallotHolderArgs,
) -> ExitCode {
    use crate::cli::ballot_holder::HolderError;
    let runtime = match runtime(true) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    // The signal handlers need the runtime: install them inside it, before anything is said.
    let ran = runtime.block_on(async {
        crate::cli::ballot_holder::run(args, shutdown_signal(), |line| println!("holder  {line}"))
            .await
    });
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(HolderError::Usage(message)) => {
            eprintln!("commons-nostr ballot-holder: {message}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("commons-nostr ballot-holder: {e}");
            ExitCode::from(1)
        }
    }
}
