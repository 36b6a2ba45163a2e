//! `commons-nostr migrate`: applies the pending database migrations.

use std::path::Path;
use std::process::ExitCode;

use super::{load_settings, runtime};
use crate::store::db;
use crate::telemetry;

pub(in crate::cli) fn migrate(config: Option<&Path>) -> ExitCode {
    let settings = match load_settings(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    telemetry::init(&settings.logging);
    let runtime = match runtime(false) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        let conn = db::connect(&settings.database.url)
            .await
            .map_err(|e| e.to_string())?;
        db::migrate(&conn).await.map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => {
            println!("migrations applied");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
