//! The `commons-nostr` command line (clap).
//!
//! `run` (also what a bare `commons-nostr` does), `keygen <bot>` and `migrate` act locally;
//! the admin commands (`action`, `note`, `restart-bot`, `tally`) talk to a running service over
//! its HTTP API ([`crate::cli::admin_client`]), at `http://<http.bind>` from the same settings
//! (`--config`, `COMMONS__*`) and with the admin token read from `http.admin_token` as the
//! service reads it. They print the service's JSON answer on stdout; a refusal prints the
//! service's message on stderr and exits 1 (2 for bad settings or arguments).
//!
//! ```text
//! commons-nostr action --action review-period --repository o/r --pr 12 --tier 2 \
//!     --title "Raise the cap" [--description ...] [--voting-window-days 14]
//! commons-nostr action --json action.json          # the POST /v1/actions body; flags override
//! commons-nostr note dev "v1.0 is out" --tag t=release
//! commons-nostr restart-bot dev
//! commons-nostr tally <proposal event id>
//! ```
//!
//! `zap` is a voter's client ([`crate::cli::zap`]): it talks to relays and to the bot's LNURL
//! provider, not to the admin API. `ballot` ([`crate::cli::ballot`]) makes a sealed ballot
//! token from the relays alone, for any client's zap comment.
//!
//! The public tools live here too: [`verifier`] (`verify`, `verify-vote`) and [`watch`] check from
//! the relays alone what the service published; [`admin_client`] is the admin API's client.
//!
//! Uses every layer below (it starts the service through [`crate::startup`]); nothing uses it.
//!
//! This file holds the arguments ([`Cli`], [`Command`]) and the dispatch ([`main`]); what each
//! command does with its arguments is in its own file under `commands/`.

pub mod admin_client;
pub mod ballot;
pub mod ballot_holder;
pub mod check_receipt;
mod commands;
pub mod demo;
pub mod sealed_ballot;
pub mod verifier;
pub mod watch;
pub mod zap;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use commands::action::{action_body, ActionArgs, DEFAULT_VOTING_WINDOW_DAYS};
pub use commands::admin::note_tags;
pub use commands::watch::{watch_options, WatchArgs};

use commands::admin::{admin, AdminFailure};
use commands::ballot::ballot;
use commands::ballot_holder::ballot_holder;
use commands::check_receipt::check_receipt;
use commands::keygen::keygen;
use commands::migrate::migrate;
use commands::run::run;
use commands::verify::verify;
use commands::verify_vote::verify_vote;
use commands::watch::watch;
use commands::zap::zap;

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
        /// data/keys/{bot}.nsec.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Applies pending database migrations (`run` does this too).
    Migrate,
    /// Publishes a governance action through the running service (POST /v1/actions).
    Action(Box<ActionArgs>),
    /// Publishes a note from a bot through the running service (POST /v1/bots/{bot}/notes).
    Note {
        /// The bot's name (`gov`, `dev`, ...).
        bot: String,
        /// The note's text.
        content: String,
        /// A tag, as NAME=VALUE (`--tag t=release`); repeat for more.
        #[arg(long = "tag", value_name = "NAME=VALUE")]
        tags: Vec<String>,
    },
    /// Restarts one bot actor of the running service (POST /v1/bots/{bot}/restart).
    RestartBot {
        /// The bot's name.
        bot: String,
    },
    /// A voter's zap: signs a NIP-57 zap request for a proposal, its announcement or its zap
    /// poll, asks the bot's LNURL provider for the invoice and prints it (with the development
    /// provider, which pays at once, also the zap receipt's id once it is on a relay).
    Zap(Box<crate::cli::zap::ZapArgs>),
    /// Prints a sealed ballot token for a voter and a proposal (read from the relays), to paste
    /// as the comment of a zap from any client: the choice stays secret until the close. Needs
    /// no secret; sends nothing.
    Ballot(Box<crate::cli::ballot::BallotArgs>),
    /// Prints a proposal's current vote tally (GET /v1/proposals/{id}/tally).
    Tally {
        /// The proposal's event id (hex, note1... or nevent1...).
        proposal: String,
    },
    /// Checks from the relays everything the service published: signatures, wire format,
    /// the audit-head proofs, that relays agree, and every proposal's newest tally recomputed
    /// from the zap receipts with its pinned rules. Exits 1 on any problem, 2 on bad arguments.
    Verify {
        /// A relay to check (repeat for several).
        #[arg(long = "relay", required = true, value_name = "URL")]
        relays: Vec<String>,
        /// The server's public key (npub or hex).
        #[arg(long, value_name = "NPUB")]
        server: String,
        /// A bot's public key (repeat for several).
        #[arg(long = "bot", value_name = "NPUB")]
        bots: Vec<String>,
        /// Remembers the newest verified audit head here, and checks the next run extends it.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// Seconds to wait for each relay.
        #[arg(long, default_value_t = 10)]
        timeout: u64,
        /// Print the full report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// A voter's check: is this zap receipt counted in the newest signed tally of the proposal
    /// (an inclusion proof against its receipts_root), with what vote type and weight. Exits 0
    /// when counted, 1 when not counted or the proof fails, 2 on bad arguments.
    VerifyVote {
        /// A relay to read (repeat for several).
        #[arg(long = "relay", required = true, value_name = "URL")]
        relays: Vec<String>,
        /// The proposal's event id (hex, note1... or nevent1...).
        #[arg(long, value_name = "ID")]
        proposal: String,
        /// The zap receipt's event id (hex, note1... or nevent1...).
        #[arg(long, value_name = "ID")]
        receipt: String,
        /// The service's HTTP API (http://host:port): take the proof and the vote from it
        /// (still checked against the signed root); without it they are rebuilt from the relays.
        #[arg(long, value_name = "URL")]
        api: Option<String>,
        /// Seconds to wait for each relay (and the API).
        #[arg(long, default_value_t = 10)]
        timeout: u64,
        /// Print the full report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Prints governance events as they arrive, one verified line each; a forged or malformed
    /// event is flagged. Runs until Ctrl-C or SIGTERM.
    Watch(WatchArgs),
    /// An independent ballot key holder: keeps a pool of unused ballot keys published and
    /// publishes each used key's secret once its proposal has closed (see --help). Runs until
    /// Ctrl-C or SIGTERM.
    BallotHolder(crate::cli::ballot_holder::BallotHolderArgs),
    /// Judges zap receipts offline by the NIP-57 rules (one JSON event a line): one line each,
    /// accepted with its anomalies or rejected with the rule and reason. The recipient is the
    /// receipt's `p`. Exits 0 when all are accepted, 1 otherwise, 2 when the input is unreadable.
    CheckReceipt {
        /// A file of receipts, one JSON event a line (standard input when absent or `-`).
        file: Option<PathBuf>,
        /// The bot's LNURL provider key (npub or hex): checks rule 2 (not checked without it).
        #[arg(long, value_name = "NPUB")]
        zapper: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// Parses the command line and runs the command; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(cli.config.as_deref()),
        Command::Keygen { bot, out } => keygen(cli.config.as_deref(), &bot, out),
        Command::Migrate => migrate(cli.config.as_deref()),
        Command::Action(args) => admin(cli.config.as_deref(), true, |client| {
            Box::pin(async move {
                let body = action_body(&args).map_err(AdminFailure::Usage)?;
                Ok(client.publish_action(&body).await?)
            })
        }),
        Command::Note { bot, content, tags } => admin(cli.config.as_deref(), true, |client| {
            Box::pin(async move {
                let tags = note_tags(&tags).map_err(AdminFailure::Usage)?;
                Ok(client.publish_note(&bot, &content, &tags).await?)
            })
        }),
        Command::RestartBot { bot } => admin(cli.config.as_deref(), true, |client| {
            Box::pin(async move { Ok(client.restart_bot(&bot).await?) })
        }),
        Command::Zap(args) => zap(cli.config.as_deref(), &args),
        Command::Ballot(args) => ballot(cli.config.as_deref(), &args),
        Command::Tally { proposal } => admin(cli.config.as_deref(), false, |client| {
            Box::pin(async move { Ok(client.tally(&proposal).await?) })
        }),
        Command::Verify {
            relays,
            server,
            bots,
            state,
            timeout,
            json,
        } => verify(&relays, &server, &bots, state.as_deref(), timeout, json),
        Command::VerifyVote {
            relays,
            proposal,
            receipt,
            api,
            timeout,
            json,
        } => verify_vote(&relays, &proposal, &receipt, api.as_deref(), timeout, json),
        Command::Watch(args) => watch(&args),
        Command::CheckReceipt { file, zapper, json } => {
            check_receipt(file.as_deref(), zapper.as_deref(), json)
        }
        Command::BallotHolder(args) => ballot_holder(&args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn parse(args: &[&str]) -> Command {
        let mut argv = vec!["commons-nostr"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv)
            .expect("valid arguments")
            .command
            .expect("a command")
    }

    #[test]
    fn admin_commands_parse() {
        assert!(matches!(
            parse(&["note", "dev", "hello", "--tag", "t=release"]),
            Command::Note { bot, content, tags } if bot == "dev" && content == "hello" && tags == ["t=release"]
        ));
        assert!(
            matches!(parse(&["restart-bot", "dev"]), Command::RestartBot { bot } if bot == "dev")
        );
        assert!(
            matches!(parse(&["tally", "abc"]), Command::Tally { proposal } if proposal == "abc")
        );
    }
}
