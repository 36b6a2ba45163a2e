//! The `commons-nostr` command line (clap).
//!
//! `run` (also what a bare `commons-nostr` does), `keygen <bot>` and `migrate` act locally;
//! the admin commands talk to a running service over its HTTP API.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use nostr_sdk::ToBech32;

use crate::configuration::{default_key_path, Settings, SettingsSources};
use crate::keys::{self, SecretSource, ServiceKeys};
use crate::startup::{describe_keys, Application};
use crate::{db, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "commons-nostr",
    version,
    about = "Bitcoin Commons governance on Nostr: signed transparency events and zap votes"
)]
pub struct Cli {
    /// A settings file layered over the embedded defaults (then COMMONS__* variables).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the service (the default).
    Run,
    /// Writes a new secret key file (mode 0600) for a bot and prints its npub.
    Keygen {
        /// The bot's name (`gov`, `dev`, ...), or `server` for the server key.
        bot: String,
        /// Where to write the key; default: the bot's nsec_path when it is a file, otherwise
        /// data/keys/<bot>.nsec.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Applies pending database migrations (`run` does this too).
    Migrate,
}

/// Parses the command line and runs the command; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(cli.config.as_deref()),
        Command::Keygen { bot, out } => keygen(cli.config.as_deref(), &bot, out),
        Command::Migrate => migrate(cli.config.as_deref()),
    }
}

fn load_settings(config: Option<&Path>) -> Result<Settings, ExitCode> {
    Settings::load(SettingsSources::from_process(config)).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    })
}

fn run(config: Option<&Path>) -> ExitCode {
    let settings = match load_settings(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    telemetry::init(&settings.logging);
    let keys = match ServiceKeys::load(&settings, &keys::process_env) {
        Ok(k) => k,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("error: {e}");
            return ExitCode::from(2);
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
        let app = Application::start(settings, keys)
            .await
            .map_err(|e| e.to_string())?;
        println!("listening on http://{}", app.http_addr());
        wait_for_shutdown_signal().await;
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

async fn wait_for_shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn keygen(config: Option<&Path>, bot: &str, out: Option<PathBuf>) -> ExitCode {
    let path = match out {
        Some(p) => p,
        None => {
            let settings = match load_settings(config) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let configured = if bot == "server" {
                Some(settings.server.nsec_path.clone())
            } else {
                settings.nostr.bots.get(bot).map(|b| b.nsec_path.clone())
            };
            match configured {
                Some(SecretSource::File(p)) => p,
                _ => default_key_path(bot),
            }
        }
    };
    match keys::write_new_key_file(&path) {
        Ok(k) => {
            eprintln!("wrote {} (mode 0600)", path.display());
            println!("{}", npub(&k.public_key()));
            ExitCode::SUCCESS
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            eprintln!(
                "error: {} exists; refusing to overwrite a key (move it away first)",
                path.display()
            );
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}

fn migrate(config: Option<&Path>) -> ExitCode {
    let settings = match load_settings(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    telemetry::init(&settings.logging);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
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

fn npub(pk: &nostr_sdk::PublicKey) -> String {
    pk.to_bech32().unwrap_or_else(|_| pk.to_hex())
}
