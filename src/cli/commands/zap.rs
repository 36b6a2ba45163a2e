//! `commons-nostr zap`: a voter's zap, its invoice printed (see [`crate::cli::zap`]).

use std::path::Path;
use std::process::ExitCode;

use super::{load_settings, usage_error};

pub(in crate::cli) fn zap(config: Option<&Path>, args: &crate::cli::zap::ZapArgs) -> ExitCode {
    let settings = match load_settings(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut notices = Vec::new();
    let outcome =
        actix_rt::System::new().block_on(crate::cli::zap::run(args, &settings, &mut notices));
    for notice in &notices {
        eprintln!("{notice}");
    }
    match outcome {
        Ok(outcome) => {
            crate::cli::zap::print(&outcome, args.json);
            ExitCode::SUCCESS
        }
        Err(crate::cli::zap::ZapError::Usage(e)) => usage_error(e),
        Err(crate::cli::zap::ZapError::Failed(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
