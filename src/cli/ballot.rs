//! `commons-nostr ballot`: a sealed ballot token for one voter and one proposal (DESIGN.md
//! "Sealed ballots"), to paste as the comment of a zap from any client.
//!
//! ```text
//! commons-nostr ballot <proposal> --vote support|veto|abstain --voter NPUB [--relay URL...]
//! ```
//!
//! It reads the proposal from the relays (the proposal itself, or its announcement or zap poll,
//! as `zap` takes them), checks that it pins ballot keys (`rules.sealed`), and seals the choice
//! to them for that voter: stdout is the token alone on a line, stderr a short hint on where to
//! paste it. It needs no secret (the token is made for the voter's public key) and sends
//! nothing: the relays are only read.
//!
//! `zap --seal TYPE` makes the same token for the voter's own key and the zap's proposal
//! ([`crate::cli::sealed_ballot::token_for`]).

use std::time::Duration;

use clap::Args;
use nostr_sdk::prelude::*;

use crate::cli::sealed_ballot::{token_for, Ballot, VoteOption};
use crate::cli::zap::{self, ZapError};
use crate::configuration::Settings;
use crate::nostr::nip19;

/// `commons-nostr ballot`.
#[derive(Debug, Args)]
pub struct BallotArgs {
    /// The proposal (hex event id, note1, nevent1 or naddr1), its announcement or its zap poll.
    pub proposal: String,
    /// The choice to seal.
    #[arg(long, value_enum)]
    pub vote: VoteOption,
    /// The voter: the public key (npub or hex) that will sign the zap request. A token opens
    /// only in a zap from this key.
    #[arg(long, value_name = "NPUB")]
    pub voter: String,
    /// A relay to read the proposal from (repeat for several); default: the service's relays
    /// from the settings.
    #[arg(long = "relay", value_name = "URL")]
    pub relays: Vec<String>,
    /// Seconds to wait for each relay.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

/// The voter's key from `--voter`.
pub fn parse_voter(raw: &str) -> Result<PublicKey, String> {
    PublicKey::parse(raw.trim()).map_err(|_| format!("--voter: {raw:?} is not an npub or hex key"))
}

/// Reads the proposal from the relays and makes the token.
pub async fn run(args: &BallotArgs, settings: &Settings) -> Result<Ballot, ZapError> {
    let voter = parse_voter(&args.voter).map_err(ZapError::Usage)?;
    let target_ref = nip19::parse_event_ref(&args.proposal)
        .map_err(|e| ZapError::Usage(format!("proposal: {e}")))?;
    let relay_urls = zap::relays(&args.relays, settings, &target_ref)?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let client = zap::connect(&relay_urls, timeout).await?;
    let found =
        zap::fetch_target_and_proposal(&client, &target_ref, &args.proposal, &relay_urls, timeout)
            .await;
    client.shutdown().await;
    let (_, proposal) = found?;
    token_for(&proposal, args.vote, &voter).map_err(ZapError::Failed)
}

/// The hint printed on stderr beside the token.
pub fn hint(ballot: &Ballot) -> String {
    let end = utc(ballot.window_end);
    let npub = ballot
        .voter
        .to_bech32()
        .unwrap_or_else(|_| ballot.voter.to_hex());
    format!(
        "a sealed ballot for {} on proposal {}, for {npub}: paste it as the comment of a zap of \
         the proposal or its announcement, signed by that key (not as a zap-poll option: an \
         option outranks it). It hides your choice until the close ({end}); your npub and the \
         amount stay public.",
        ballot.vote.label(),
        ballot.proposal
    )
}

/// A moment in UTC, to the second: `2026-12-07 10:31:05 UTC`.
pub fn utc(ts: u64) -> String {
    i64::try_from(ts)
        .ok()
        .and_then(|s| chrono::DateTime::<chrono::Utc>::from_timestamp(s, 0))
        .map_or_else(
            || ts.to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::zap::sealed_comment;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn the_ballot_command_parses_and_checks_the_voter() {
        let voter = Keys::generate().public_key();
        let npub = voter.to_bech32().expect("npub");
        let cli = Cli::try_parse_from([
            "commons-nostr",
            "ballot",
            "note1x",
            "--vote",
            "veto",
            "--voter",
            &npub,
            "--relay",
            "ws://127.0.0.1:7777",
        ])
        .expect("valid arguments");
        match cli.command {
            Some(Command::Ballot(args)) => {
                assert_eq!(args.vote, VoteOption::Veto);
                assert_eq!(args.relays, ["ws://127.0.0.1:7777"]);
                assert_eq!(parse_voter(&args.voter), Ok(voter));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_voter(&voter.to_hex()), Ok(voter));
        assert!(parse_voter("npub1nope").is_err());
        assert!(Cli::try_parse_from([
            "commons-nostr",
            "ballot",
            "x",
            "--vote",
            "maybe",
            "--voter",
            &npub
        ])
        .is_err());
        assert!(Cli::try_parse_from(["commons-nostr", "ballot", "x", "--vote", "veto"]).is_err());
        // A sealed zap cannot also be a zap-poll option (the option would outrank the token).
        assert!(Cli::try_parse_from([
            "commons-nostr",
            "zap",
            "x",
            "--sats",
            "1",
            "--seal",
            "veto",
            "--option",
            "veto"
        ])
        .is_err());
    }

    #[test]
    fn a_sealed_comment_is_the_text_then_the_token() {
        assert_eq!(sealed_comment("", "ballot1qq"), "ballot1qq");
        assert_eq!(sealed_comment("  ", "ballot1qq"), "ballot1qq");
        assert_eq!(
            sealed_comment("my vote:", "ballot1qq"),
            "my vote: ballot1qq"
        );
        assert_eq!(
            crate::votes::find_ballot_token(&sealed_comment("veto", "ballot1qq")),
            Some("ballot1qq")
        );
        assert_eq!(utc(1_800_000_000), "2027-01-15 08:00:00 UTC");
    }
}
