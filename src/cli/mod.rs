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

pub mod admin_client;
pub mod ballot;
pub mod ballot_holder;
pub mod check_receipt;
pub mod demo;
pub mod verifier;
pub mod watch;
pub mod zap;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use nostr_sdk::ToBech32;
use serde_json::{Map, Value};

use crate::cli::admin_client::{AdminClient, ClientError};
use crate::configuration::{default_key_path, Settings, SettingsSources};
use crate::keys::{self, SecretSource, ServiceKeys};
use crate::startup::{describe_keys, Application};
use crate::store::db;
use crate::telemetry;

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

/// `commons-nostr action`: the fields of the POST /v1/actions body. With `--json FILE` the
/// file (or `-` for stdin) is the body and the flags given override its fields.
#[derive(Debug, Args)]
pub struct ActionArgs {
    /// The request body as a JSON file (`-`: stdin).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// merge, review-period, keyholder or fork.
    #[arg(long)]
    pub action: Option<String>,
    /// owner/name.
    #[arg(long)]
    pub repository: Option<String>,
    /// The pull-request number.
    #[arg(long)]
    pub pr: Option<u64>,
    /// The governance tier, 1 to 5.
    #[arg(long)]
    pub tier: Option<u64>,
    #[arg(long)]
    pub title: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    /// The voting window of a review period, in days (default 14).
    #[arg(long)]
    pub voting_window_days: Option<u64>,
    /// keyholder: the keyholder's name.
    #[arg(long)]
    pub keyholder_name: Option<String>,
    /// keyholder: the keyholder's key (npub or hex).
    #[arg(long)]
    pub keyholder_pubkey: Option<String>,
    /// keyholder: added or removed.
    #[arg(long)]
    pub keyholder_change: Option<String>,
    /// fork: the ruleset's name.
    #[arg(long)]
    pub fork_ruleset: Option<String>,
    /// fork: adopted or rejected.
    #[arg(long)]
    pub fork_decision: Option<String>,
    /// fork: when it takes effect, unix seconds or RFC 3339 (default: now).
    #[arg(long)]
    pub fork_effective_at: Option<String>,
}

/// The voting window a review period gets when none is given.
pub const DEFAULT_VOTING_WINDOW_DAYS: u64 = 14;

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

/// `commons-nostr ballot-holder` (see [`ballot_holder`]).
fn ballot_holder(args: &crate::cli::ballot_holder::BallotHolderArgs) -> ExitCode {
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

/// `commons-nostr check-receipt` (see [`check_receipt`]).
fn check_receipt(file: Option<&Path>, zapper: Option<&str>, json: bool) -> ExitCode {
    let zapper = match zapper.map(nostr_sdk::PublicKey::parse).transpose() {
        Ok(zapper) => zapper,
        Err(_) => {
            eprintln!("error: --zapper: {zapper:?} is not an npub or hex key");
            return ExitCode::from(2);
        }
    };
    let stdout = std::io::stdout().lock();
    let checked = match file {
        Some(path) if path != Path::new("-") => match std::fs::File::open(path) {
            Ok(f) => check_receipt::check_all(std::io::BufReader::new(f), stdout, zapper, json),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::from(2);
            }
        },
        _ => check_receipt::check_all(std::io::stdin().lock(), stdout, zapper, json),
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
        Err(e) => {
            eprintln!("error: reading the receipts: {e}");
            ExitCode::from(2)
        }
    }
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

fn watch(args: &WatchArgs) -> ExitCode {
    let opts = match watch_options(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
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

/// Parses every `--relay`; the message names the bad one.
fn relay_urls(relays: &[String]) -> Result<Vec<nostr_sdk::RelayUrl>, String> {
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
fn event_id(flag: &str, raw: &str) -> Result<nostr_sdk::EventId, String> {
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

fn verify_vote(
    relays: &[String],
    proposal: &str,
    receipt: &str,
    api: Option<&str>,
    timeout: u64,
    json: bool,
) -> ExitCode {
    let usage = |e: String| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    };
    let urls = match relay_urls(relays) {
        Ok(urls) => urls,
        Err(e) => return usage(e),
    };
    let (proposal, receipt) = match (
        event_id("--proposal", proposal),
        event_id("--receipt", receipt),
    ) {
        (Ok(p), Ok(r)) => (p, r),
        (Err(e), _) | (_, Err(e)) => return usage(e),
    };
    if let Some(api) = api {
        if url::Url::parse(api).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
            return usage(format!("--api: {api:?} is not an http(s) URL"));
        }
    }
    let report = actix_rt::System::new().block_on(crate::cli::verifier::verify_vote(
        &urls,
        proposal,
        receipt,
        api,
        std::time::Duration::from_secs(timeout),
    ));
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        let tally = match (&report.tally, report.as_of, &report.receipts_root) {
            (Some(id), Some(as_of), Some(root)) => format!(
                "tally {id} (as of {as_of}, {} receipts, root {root})",
                report.receipts_count.unwrap_or_default()
            ),
            _ => "no signed tally".to_owned(),
        };
        if report.ok() {
            println!("counted   receipt {} in {tally}", report.receipt);
            match &report.vote {
                Some(vote) => println!(
                    "          vote: {} of weight {} ({} vote, {} receipt(s), sender {})",
                    match (vote.vote_type, report.window_end) {
                        (crate::votes::BallotType::Sealed, Some(end)) =>
                            format!("sealed until {}", crate::cli::ballot::utc(end)),
                        (t, _) if vote.sealed =>
                            format!("{} (a sealed ballot, opened)", t.as_str()),
                        (t, _) => t.as_str().to_owned(),
                    },
                    vote.weight,
                    vote.kind.as_str(),
                    vote.receipts,
                    vote.sender.to_hex()
                ),
                None => println!("          vote: unknown"),
            }
            if !report.anomalies.is_empty() {
                println!(
                    "          anomalies: {} (checks of rules 4 and 7 the receipt failed; it counts all the same)",
                    report.anomalies.join(", ")
                );
            }
        } else {
            println!("NOT counted   receipt {} in {tally}", report.receipt);
        }
        for p in &report.problems {
            println!("          - {p}");
        }
        for n in &report.notes {
            println!("          note: {n}");
        }
    }
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn verify(
    relays: &[String],
    server: &str,
    bots: &[String],
    state: Option<&Path>,
    timeout: u64,
    json: bool,
) -> ExitCode {
    let usage = |e: String| {
        eprintln!("error: {e}");
        ExitCode::from(2)
    };
    let urls = match relay_urls(relays) {
        Ok(urls) => urls,
        Err(e) => return usage(e),
    };
    let server = match nostr_sdk::PublicKey::parse(server) {
        Ok(pk) => pk,
        Err(_) => return usage(format!("--server: {server:?} is not an npub or hex key")),
    };
    let mut bot_keys = Vec::new();
    for b in bots {
        match nostr_sdk::PublicKey::parse(b) {
            Ok(pk) => bot_keys.push(pk),
            Err(_) => return usage(format!("--bot: {b:?} is not an npub or hex key")),
        }
    }
    let saved = match state.map(crate::cli::verifier::load_state).transpose() {
        Ok(s) => s.flatten(),
        Err(e) => return usage(e),
    };
    let runtime = match runtime(true) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let report = runtime.block_on(crate::cli::verifier::verify(
        &urls,
        server,
        &bot_keys,
        saved,
        std::time::Duration::from_secs(timeout),
    ));
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        for r in &report.relays {
            let head = r
                .audit_head
                .as_ref()
                .map(|h| format!("audit head {} ({} entries)", h.head, h.entries))
                .unwrap_or_else(|| "no audit head".into());
            let verdict = if r.problems.is_empty() {
                "ok"
            } else {
                "PROBLEMS"
            };
            println!("{verdict:>8}  {}  {} events, {head}", r.relay, r.events);
            for p in &r.problems {
                println!("          - {p}");
            }
        }
        for p in &report.problems {
            println!("PROBLEM   {p}");
        }
        let t = &report.tallies;
        println!(
            "tallies   {} proposals, {} receipts, {} tallies recomputed",
            t.proposals,
            t.receipts,
            t.checks.len()
        );
        for c in &t.checks {
            let verdict = if c.ok() { "ok" } else { "MISMATCH" };
            println!(
                "{verdict:>8}  tally {} of proposal {} (as of {}, {} receipts counted)",
                c.tally, c.proposal, c.as_of, c.published_receipts_count
            );
            let a = &c.recomputed_anomalies;
            if a.description_hash + a.payment_hash + a.preimage > 0 {
                println!(
                    "          anomalies (counted all the same): description_hash {}, \
                     payment_hash {}, preimage {}",
                    a.description_hash, a.payment_hash, a.preimage
                );
            }
            for d in &c.differences {
                println!("          - {d}");
            }
        }
        for p in &t.problems {
            println!("PROBLEM   {p}");
        }
        for n in &t.notes {
            println!("note      {n}");
        }
    }
    if report.ok() {
        if let (Some(path), Some(head)) = (state, &report.newest_head) {
            if let Err(e) = crate::cli::verifier::save_state(path, head) {
                return usage(e);
            }
        }
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn zap(config: Option<&Path>, args: &crate::cli::zap::ZapArgs) -> ExitCode {
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
        Err(crate::cli::zap::ZapError::Usage(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(crate::cli::zap::ZapError::Failed(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn ballot(config: Option<&Path>, args: &crate::cli::ballot::BallotArgs) -> ExitCode {
    // The voter is checked before the settings are read or a relay is asked.
    if let Err(e) = crate::cli::ballot::parse_voter(&args.voter) {
        eprintln!("error: {e}");
        return ExitCode::from(2);
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
        Err(crate::cli::zap::ZapError::Usage(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(crate::cli::zap::ZapError::Failed(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Why an admin command failed.
enum AdminFailure {
    /// Bad arguments: exit 2.
    Usage(String),
    /// The service refused, or could not be reached: exit 1.
    Client(ClientError),
}

impl From<ClientError> for AdminFailure {
    fn from(e: ClientError) -> Self {
        AdminFailure::Client(e)
    }
}

type AdminFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, AdminFailure>>>>;

/// Runs one admin request in an actix system and prints its answer.
fn admin(
    config: Option<&Path>,
    needs_token: bool,
    request: impl FnOnce(AdminClient) -> AdminFuture,
) -> ExitCode {
    let settings = match load_settings(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let client = if needs_token {
        match AdminClient::from_settings(&settings, &keys::process_env) {
            Ok(client) => client,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        AdminClient::public(&settings)
    };
    let answer = actix_rt::System::new().block_on(request(client));
    match answer {
        Ok(json) => {
            let text = serde_json::to_string_pretty(&json).unwrap_or_else(|_| json.to_string());
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(AdminFailure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(AdminFailure::Client(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The POST /v1/actions body: the `--json` file's object, then the flags over it.
pub fn action_body(args: &ActionArgs) -> Result<Value, String> {
    let mut body = match &args.json {
        Some(path) => read_json_object(path)?,
        None => Map::new(),
    };
    let mut set = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            body.insert(key.to_owned(), value);
        }
    };
    set("action", args.action.clone().map(Value::from));
    set("repository", args.repository.clone().map(Value::from));
    set("pr", args.pr.map(Value::from));
    set("tier", args.tier.map(Value::from));
    set("title", args.title.clone().map(Value::from));
    set("description", args.description.clone().map(Value::from));
    set(
        "voting_window_days",
        args.voting_window_days.map(Value::from),
    );
    set_nested(
        &mut body,
        "keyholder",
        [
            ("name", &args.keyholder_name),
            ("pubkey", &args.keyholder_pubkey),
            ("change", &args.keyholder_change),
        ],
    )?;
    set_nested(
        &mut body,
        "fork",
        [
            ("ruleset", &args.fork_ruleset),
            ("decision", &args.fork_decision),
            ("effective_at", &args.fork_effective_at),
        ],
    )?;
    let is_review_period =
        body.get("action").and_then(Value::as_str).map(str::trim) == Some("review-period");
    if is_review_period && !body.contains_key("voting_window_days") {
        body.insert(
            "voting_window_days".to_owned(),
            DEFAULT_VOTING_WINDOW_DAYS.into(),
        );
    }
    Ok(Value::Object(body))
}

/// Sets the given fields of the object `key` (keyholder, fork), creating it when needed.
fn set_nested<const N: usize>(
    body: &mut Map<String, Value>,
    key: &str,
    fields: [(&str, &Option<String>); N],
) -> Result<(), String> {
    let given: Vec<(&str, &String)> = fields
        .iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| (*name, v)))
        .collect();
    if given.is_empty() {
        return Ok(());
    }
    let object = body
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(object) = object else {
        return Err(format!("--json: `{key}` must be an object"));
    };
    for (name, value) in given {
        object.insert(name.to_owned(), Value::from(value.as_str()));
    }
    Ok(())
}

fn read_json_object(path: &Path) -> Result<Map<String, Value>, String> {
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| format!("--json: cannot read stdin: {e}"))?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| format!("--json: cannot read {}: {e}", path.display()))?
    };
    match serde_json::from_str(&text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(format!("--json: {} is not a JSON object", path.display())),
        Err(e) => Err(format!("--json: {} is not valid JSON: {e}", path.display())),
    }
}

/// `--tag NAME=VALUE` arguments as note tags.
pub fn note_tags(tags: &[String]) -> Result<Vec<Vec<String>>, String> {
    tags.iter()
        .map(|tag| match tag.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() => {
                Ok(vec![name.trim().to_owned(), value.to_owned()])
            }
            _ => Err(format!(
                "--tag {tag:?}: expected NAME=VALUE, like t=release"
            )),
        })
        .collect()
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

/// Installs the SIGINT and SIGTERM handlers at once (before the service announces itself, so
/// a signal sent right after "listening on" is never the default, fatal one) and returns a
/// future that completes on the first of them.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
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

fn npub(pk: &nostr_sdk::PublicKey) -> String {
    pk.to_bech32().unwrap_or_else(|_| pk.to_hex())
}

/// A tokio runtime for a command (`multi_thread` for the ones that judge or follow relays), or
/// the exit status after saying why there is none.
fn runtime(multi_thread: bool) -> Result<tokio::runtime::Runtime, ExitCode> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(args: &[&str]) -> Command {
        let mut argv = vec!["commons-nostr"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv)
            .expect("valid arguments")
            .command
            .expect("a command")
    }

    fn body(args: &[&str]) -> Result<Value, String> {
        let mut argv = vec!["action"];
        argv.extend_from_slice(args);
        match parse(&argv) {
            Command::Action(args) => action_body(&args),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn action_flags_make_the_request_body() {
        let review = body(&[
            "--action",
            "review-period",
            "--repository",
            "o/r",
            "--pr",
            "12",
            "--tier",
            "2",
            "--title",
            "Raise the cap",
        ])
        .unwrap();
        assert_eq!(
            review,
            json!({"action": "review-period", "repository": "o/r", "pr": 12, "tier": 2,
                   "title": "Raise the cap", "voting_window_days": 14})
        );
        let merge = body(&["--action", "merge", "--tier", "9"]).unwrap();
        assert_eq!(merge, json!({"action": "merge", "tier": 9}));
        let keyholder = body(&[
            "--action",
            "keyholder",
            "--keyholder-name",
            "Alice",
            "--keyholder-change",
            "added",
        ])
        .unwrap();
        assert_eq!(
            keyholder["keyholder"],
            json!({"name": "Alice", "change": "added"})
        );
    }

    #[test]
    fn flags_override_the_json_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("action.json");
        std::fs::write(
            &path,
            r#"{"action": "fork", "tier": 5, "title": "v2", "fork": {"ruleset": "v2", "decision": "adopted"}}"#,
        )
        .unwrap();
        let file = path.to_str().unwrap();
        let fork = body(&["--json", file, "--tier", "4", "--fork-decision", "rejected"]).unwrap();
        assert_eq!(
            fork,
            json!({"action": "fork", "tier": 4, "title": "v2",
                   "fork": {"ruleset": "v2", "decision": "rejected"}})
        );
        std::fs::write(&path, "[1]").unwrap();
        assert!(body(&["--json", file])
            .unwrap_err()
            .contains("not a JSON object"));
        std::fs::write(&path, r#"{"fork": 5}"#).unwrap();
        assert!(body(&["--json", file, "--fork-ruleset", "x"])
            .unwrap_err()
            .contains("`fork` must be an object"));
        assert!(body(&["--json", "/nonexistent/action.json"])
            .unwrap_err()
            .contains("cannot read"));
    }

    #[test]
    fn note_tags_are_name_equals_value() {
        assert_eq!(
            note_tags(&["t=release".into(), "r=https://x.org/?a=b".into()]).unwrap(),
            vec![
                vec!["t".to_string(), "release".to_string()],
                vec!["r".to_string(), "https://x.org/?a=b".to_string()]
            ]
        );
        assert!(note_tags(&["release".into()]).is_err());
        assert!(note_tags(&["=x".into()]).is_err());
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
