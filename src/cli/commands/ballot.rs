//! `commons-nostr ballot`: a sealed ballot token for a voter and a proposal (see
//! [`crate::cli::ballot`]).

use std::path::Path;
use std::process::ExitCode;

use super::{load_settings, usage_error};

pub(in crate::cli) fn ballot(
    config: Option<&Path>,
    args: &crate::cli::ballot::BallotArgs,
) -> ExitCode {
    // The voter is checked before the settings are read or a relay is asked.
    if let Err(e) = crate::cli::ballot::parse_voter(&args.voter) {
        return usage_error(e);
    }
    let settings = match load_settings(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match actix_rt::System::new().block_on(crate::cli::ballot::run(args, &settings)) {
        Ok(ballot) => {
            println!("{}", ballot.token);
            eprintln!("{}", crate::cli::ballot::hint(&ballot));
            ExitCode::SUCCESS
        }
        Err(crate::cli::zap::ZapError::Usage(e)) => usage_error(e),
        Err(crate::cli::zap::ZapError::Failed(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
