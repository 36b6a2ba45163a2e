//! `commons-nostr run` (and a bare `commons-nostr`): starts the service and runs it until a
//! signal.

use std::path::Path;
use std::process::ExitCode;

use super::{load_settings, npub, shutdown_signal, usage_error};
use crate::cli::demo;
use crate::keys::{self, ServiceKeys};
use crate::startup::{describe_keys, Application};
use crate::telemetry;

pub(in crate::cli) fn run(config: Option<&Path>) -> ExitCode {
    let settings = match load_settings(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    telemetry::init(&settings.logging);
    let keys = match ServiceKeys::load(&settings, &keys::process_env) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!("{e}");
            return usage_error(e);
        }
    };
    for (setting, pubkey) in &keys.generated {
        tracing::warn!(setting = %setting, npub = %npub(pubkey), "generated a development key");
    }
    for (name, pubkey) in describe_keys(&keys) {
        println!("{name:>10}  {}", npub(&pubkey));
    }

    let system = actix_rt::System::new();
    let result: Result<(), String> = system.block_on(async move {
        let shutdown = shutdown_signal();
        let app = Application::start(settings, keys)
            .await
            .map_err(|e| e.to_string())?;
        for (name, bot) in &app.handles().settings.nostr.bots {
            if bot.dev_provider {
                println!(
                    "{name:>10}  zaps to {} (the development LNURL provider)",
                    bot.lightning_address
                );
            }
        }
        println!("listening on http://{}", app.http_addr());
        let service_settings = app.handles().settings.clone();
        let relays = app.handles().relay_urls.clone();
        // The demonstration needs a relay to carry the proposal and the receipt.
        if service_settings.lnurl.demo_vote && !relays.is_empty() {
            let http_addr = app.http_addr();
            actix_rt::spawn(async move {
                let mut say = |line: String| println!("{:>10}  {line}", "demo");
                if let Err(e) = demo::run(&service_settings, http_addr, &relays, &mut say).await {
                    tracing::warn!("the demonstration vote (lnurl.demo_vote) failed: {e}")
                }
            });
        }
        shutdown.await;
        tracing::info!("shutting down");
        app.stop().await;
        Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
