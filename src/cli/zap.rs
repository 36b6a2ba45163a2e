//! `commons-nostr zap`: a voter's client (DESIGN.md "Zapping").
//!
//! ```text
//! commons-nostr zap <target> --sats N [--comment TEXT] [--option support|veto|abstain]
//!     [--seal support|veto|abstain] [--key FILE|env:VAR] [--relay URL...] [--timeout SECS] [--json]
//! ```
//!
//! It does what a Nostr client's zap button does, step by step:
//!
//! 1. reads the target (a proposal, its announcement or its zap poll: hex id, `note1`,
//!    `nevent1`, `naddr1`) from the relays, and from it the proposal;
//! 2. with `--option`, finds the proposal's zap poll (the gov bot's kind 6969 tagging the
//!    proposal) and zaps it with that `poll_option`; otherwise zaps the target given, with the
//!    `--comment` text as the zap request's content (where the vote keywords are read); with
//!    `--seal`, a sealed ballot token for the proposal and the voter's key goes in the content
//!    too, after the text ([`crate::cli::ballot`]);
//! 3. signs the NIP-57 zap request with the voter's key (`--key`, or `data/keys/voter.nsec`,
//!    generated with mode 0600 on first use);
//! 4. resolves the recipient's lightning address (its profile's `lud16`, else the proposal's
//!    `zap` tag) to its LUD-06 `payRequest` (LUD-16), checks it takes zaps and the amount, and
//!    asks its callback for an invoice, which must be for the amount asked;
//! 5. prints the invoice and a `lightning:` URI to pay with any wallet. A provider on loopback
//!    is the development provider, which pays at once: then it waits for the zap receipt on
//!    the relays and prints its id.
//!
//! The pure steps (reading the target, the zap request's tags) are functions with unit tests;
//! [`run`] does the I/O. awc is used for LNURL, so it runs inside an actix system.

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;
use lightning_invoice::{Bolt11Invoice, Bolt11InvoiceDescriptionRef};
use nostr_sdk::hashes::{sha256, Hash};
use nostr_sdk::nips::nip01::Coordinate;
use nostr_sdk::prelude::*;
use serde::Serialize;

pub use crate::cli::sealed_ballot::VoteOption;
use crate::configuration::Settings;
use crate::keys::{self, SecretSource};
use crate::nostr::events::{self, tag};
use crate::nostr::governance_action::{self, ActionKind};
use crate::nostr::lnurl::{self, PayRequest};
use crate::nostr::nip19::{self, EventRef};
use crate::votes::is_target_of;

/// The voter's key when `--key` names none: generated here on first use.
pub const DEFAULT_VOTER_KEY: &str = "data/keys/voter.nsec";

/// `commons-nostr zap`.
#[derive(Debug, Args)]
pub struct ZapArgs {
    /// The proposal (hex event id, note1, nevent1 or naddr1), its announcement or its zap poll.
    pub target: String,
    /// The amount, in satoshis.
    #[arg(long)]
    pub sats: u64,
    /// The zap's text: a vote keyword (support, veto, abstain, ...) and anything else.
    #[arg(long)]
    pub comment: Option<String>,
    /// Zap the proposal's zap poll with this option instead of the target given.
    #[arg(long, value_enum)]
    pub option: Option<VoteOption>,
    /// Vote secretly: a sealed ballot for this choice (made for the target's proposal and the
    /// voter's key) goes in the zap comment, after --comment's text. The choice stays secret
    /// until the close; the voter and the amount do not.
    #[arg(long, value_enum, value_name = "TYPE", conflicts_with = "option")]
    pub seal: Option<VoteOption>,
    /// The voter's key: a file (nsec1 or hex, mode 0600) or env:VAR; default data/keys/voter.nsec,
    /// generated on first use.
    #[arg(long, value_name = "FILE|env:VAR")]
    pub key: Option<String>,
    /// A relay to read the target from and to ask the receipt on (repeat for several); default:
    /// the service's relays from the settings.
    #[arg(long = "relay", value_name = "URL")]
    pub relays: Vec<String>,
    /// Seconds to wait for each relay, the LNURL provider, and the receipt.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    /// Print the outcome as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// What was zapped, and how it went.
#[derive(Debug, Clone, Serialize)]
pub struct ZapOutcome {
    /// The proposal the zap votes on.
    pub proposal: String,
    /// The event zapped (the proposal, its announcement or its zap poll).
    pub zapped: String,
    pub lightning_address: String,
    pub amount_msat: u64,
    pub invoice: String,
    pub lightning_uri: String,
    /// The zap receipt's id, once it is on a relay (development provider).
    pub receipt: Option<String>,
    /// The voter's public key (npub).
    pub voter: String,
    /// The sealed ballot token in the comment (`--seal`).
    pub sealed_ballot: Option<String>,
}

/// Why a zap could not be made. `Usage` is a bad argument (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ZapError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Failed(String),
}

fn failed(message: impl Into<String>) -> ZapError {
    ZapError::Failed(message.into())
}

/// The event a proposal-related target resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetRole {
    /// The proposal itself (a review-period action).
    Proposal,
    /// An event of the proposal's author tagging the proposal (`e`): its announcement or zap
    /// poll. The proposal's id.
    Tags(EventId),
}

/// What a fetched target is: a proposal, or an event tagging one (its author's announcement
/// or zap poll), or neither.
pub fn target_role(target: &Event) -> Result<TargetRole, String> {
    if target.kind == events::kind::GOVERNANCE_ACTION {
        return match governance_action::parse_governance_action(target) {
            Ok(action) if action.action == ActionKind::ReviewPeriod => Ok(TargetRole::Proposal),
            Ok(action) => Err(format!(
                "event {} is a {} action, not a proposal (a review period)",
                target.id,
                action.action.as_str()
            )),
            Err(e) => Err(format!(
                "event {} is not a governance action: {e}",
                target.id
            )),
        };
    }
    if target.kind == Kind::TextNote || target.kind == events::kind::ZAP_POLL {
        return target
            .tags
            .event_ids()
            .next()
            .copied()
            .map(TargetRole::Tags)
            .ok_or_else(|| format!("event {} tags no proposal (no e tag)", target.id));
    }
    Err(format!(
        "event {} is a kind {} event: zap a proposal, its announcement or its zap poll",
        target.id,
        target.kind.as_u16()
    ))
}

/// Checks that `proposal` is a review period and `tagger` one of its vote targets (DESIGN.md
/// "Votes": an event of the proposal's author tagging it with `e` and `t` =
/// `governance-proposal`), so that a zap of `tagger` is a vote on `proposal`.
pub fn check_proposal(proposal: &Event, tagger: &Event) -> Result<(), String> {
    match target_role(proposal)? {
        TargetRole::Proposal => {}
        TargetRole::Tags(_) => return Err(format!("event {} is not a proposal", proposal.id)),
    }
    if !is_target_of(tagger, &proposal.id, &proposal.pubkey) {
        return Err(format!(
            "event {} is not one of proposal {}'s vote targets (its author's announcement or zap \
             poll, tagged t={}): a zap of it would not be a vote",
            tagger.id,
            proposal.id,
            events::hashtag::GOVERNANCE_PROPOSAL
        ));
    }
    Ok(())
}

/// The `poll_option` index of `option` in `poll`: the option whose label is its name
/// (case-insensitive).
pub fn poll_option_index(poll: &Event, option: VoteOption) -> Result<String, String> {
    poll.tags
        .iter()
        .map(|t| t.as_slice())
        .filter(|t| t.first().map(String::as_str) == Some(tag::POLL_OPTION))
        .find(|t| {
            t.get(2)
                .is_some_and(|label| label.trim().eq_ignore_ascii_case(option.label()))
        })
        .and_then(|t| t.get(1).cloned())
        .ok_or_else(|| {
            format!(
                "the zap poll {} has no {:?} option",
                poll.id,
                option.label()
            )
        })
}

/// The tags of a zap request for `zapped` (NIP-57, as nostr-tools 2.16+ and Amethyst build
/// them): `p` = its author, `e` = its id, `a` = its address when it is addressable, `k` = its
/// kind, `amount`, `relays`, and `poll_option` when voting in a zap poll.
pub fn zap_request_tags(
    zapped: &Event,
    amount_msat: u64,
    relays: &[RelayUrl],
    poll_option: Option<&str>,
) -> Vec<Tag> {
    let mut tags = vec![Tag::public_key(zapped.pubkey), Tag::event(zapped.id)];
    if zapped.kind.is_addressable() {
        if let Some(d) = zapped.tags.identifier() {
            let coordinate = Coordinate::new(zapped.kind, zapped.pubkey).identifier(d);
            tags.push(Tag::coordinate(coordinate, None));
        }
    }
    let custom = |values: Vec<String>| Tag::parse(values).ok();
    tags.extend(custom(vec!["k".into(), zapped.kind.as_u16().to_string()]));
    tags.extend(custom(vec!["amount".into(), amount_msat.to_string()]));
    if !relays.is_empty() {
        let mut values = vec!["relays".to_owned()];
        values.extend(relays.iter().map(|r| r.to_string()));
        tags.extend(custom(values));
    }
    if let Some(index) = poll_option {
        tags.extend(custom(vec![tag::POLL_OPTION.into(), index.to_owned()]));
    }
    tags
}

/// Checks the provider's invoice: for the amount asked (a wallet must not pay another), and
/// committing to the zap request (a warning only: many real providers re-serialize it).
pub fn check_invoice(
    bolt11: &str,
    amount_msat: u64,
    request_json: &str,
) -> Result<Option<String>, String> {
    let invoice = Bolt11Invoice::from_str(bolt11.trim())
        .map_err(|e| format!("the provider's invoice is not a BOLT11 invoice: {e}"))?;
    if invoice.amount_milli_satoshis() != Some(amount_msat) {
        return Err(format!(
            "the provider's invoice is for {:?} msat, not the {amount_msat} msat asked: not paying it",
            invoice.amount_milli_satoshis()
        ));
    }
    let committed = matches!(
        invoice.description(),
        Bolt11InvoiceDescriptionRef::Hash(hash)
            if hash.0 == sha256::Hash::hash(request_json.as_bytes())
    );
    Ok((!committed).then(|| {
        "note: the invoice's description hash is not SHA-256 of the zap request (the provider \
         re-serialized it); the receipt still counts (DESIGN.md rule 4 is a check)"
            .to_owned()
    }))
}

/// The voter's keys: `--key`, or the default file (generated when missing, with a notice).
fn voter_keys(key: Option<&str>, notices: &mut Vec<String>) -> Result<Keys, ZapError> {
    let source = match key {
        Some(raw) => {
            SecretSource::parse("--key", raw).map_err(|e| ZapError::Usage(e.to_string()))?
        }
        None => {
            let path = PathBuf::from(DEFAULT_VOTER_KEY);
            if !path.exists() {
                let keys = keys::write_new_key_file(&path)
                    .map_err(|e| failed(format!("cannot create {}: {e}", path.display())))?;
                notices.push(format!(
                    "generated your voter key in {} (mode 0600), {}: keep it, it is your voting identity",
                    path.display(),
                    npub(&keys.public_key())
                ));
            }
            SecretSource::File(path)
        }
    };
    let secret = source
        .read("--key", &keys::process_env)
        .map_err(|e| ZapError::Usage(e.to_string()))?;
    keys::parse_secret_key("--key", &secret).map_err(|e| ZapError::Usage(e.to_string()))
}

fn npub(key: &PublicKey) -> String {
    key.to_bech32().unwrap_or_else(|_| key.to_hex())
}

/// The relays to use: `--relay`, else the service's from the settings, plus the target's hints.
pub(crate) fn relays(
    relay_args: &[String],
    settings: &Settings,
    target: &EventRef,
) -> Result<Vec<RelayUrl>, ZapError> {
    let mut urls = Vec::new();
    for (i, raw) in relay_args.iter().enumerate() {
        let url = crate::configuration::parse_relay_url(&format!("--relay[{i}]"), raw)
            .map_err(|e| ZapError::Usage(e.to_string()))?;
        urls.push(url);
    }
    if urls.is_empty() {
        let embedded = settings
            .nostr
            .embedded_relay
            .enabled
            .then_some(settings.nostr.embedded_relay.bind);
        urls = settings.relay_urls(embedded);
    }
    for hint in target.relays() {
        if !urls.contains(hint) {
            urls.push(hint.clone());
        }
    }
    if urls.is_empty() {
        return Err(ZapError::Usage(
            "no relay to read from: give --relay URL".to_owned(),
        ));
    }
    Ok(urls)
}

/// How long a target not on the relays yet is waited for: one published a moment ago (an
/// action the API just answered) may still be on its way from the service's outbox.
const ARRIVAL_WAIT: Duration = Duration::from_secs(10);

/// The newest event matching `filter` on the client's relays or, when none holds one yet, the
/// first to arrive within [`ARRIVAL_WAIT`] (bounded by `timeout`).
pub(crate) async fn newest_or_arriving(
    client: &Client,
    filter: Filter,
    timeout: Duration,
) -> Result<Option<Event>, ZapError> {
    let mut arrivals = client.notifications();
    if let Some(found) = newest(client, filter.clone(), timeout).await? {
        return Ok(Some(found));
    }
    let subscription = client
        .subscribe(filter.clone(), None)
        .await
        .map_err(|e| failed(format!("cannot read the relays: {e}")))?;
    let deadline = tokio::time::Instant::now() + ARRIVAL_WAIT.min(timeout);
    let found = loop {
        match tokio::time::timeout_at(deadline, arrivals.recv()).await {
            Ok(Ok(RelayPoolNotification::Event { event, .. }))
                if filter.match_event(&event, MatchEventOptions::default())
                    && event.verify().is_ok() =>
            {
                break Some(*event);
            }
            Ok(Ok(_)) => {}
            Ok(Err(_)) | Err(_) => break None,
        }
    };
    client.unsubscribe(&subscription.val).await;
    Ok(found)
}

/// The newest event matching `filter` on the client's relays.
async fn newest(
    client: &Client,
    filter: Filter,
    timeout: Duration,
) -> Result<Option<Event>, ZapError> {
    let events = client
        .fetch_events(filter, timeout)
        .await
        .map_err(|e| failed(format!("cannot read the relays: {e}")))?;
    Ok(events
        .into_iter()
        .filter(|e| e.verify().is_ok())
        .max_by_key(|e| e.created_at))
}

/// `--sats` in millisatoshis.
fn amount_msat(sats: u64) -> Result<u64, ZapError> {
    if sats == 0 {
        return Err(ZapError::Usage("--sats: must be at least 1".to_owned()));
    }
    sats.checked_mul(1_000)
        .ok_or_else(|| ZapError::Usage("--sats: too large".to_owned()))
}

/// Makes the zap. `settings` give the default relays; `notices` collects what to tell the
/// voter on stderr.
pub async fn run(
    args: &ZapArgs,
    settings: &Settings,
    notices: &mut Vec<String>,
) -> Result<ZapOutcome, ZapError> {
    // The arguments are checked before a voter key is generated.
    amount_msat(args.sats)?;
    let keys = voter_keys(args.key.as_deref(), notices)?;
    run_with_keys(args, settings, &keys, notices).await
}

/// Makes the zap with the voter key given (`args.key` is not read): what [`run`] does once it
/// has the key, and what the demonstration vote uses with a throwaway one.
pub async fn run_with_keys(
    args: &ZapArgs,
    settings: &Settings,
    keys: &Keys,
    notices: &mut Vec<String>,
) -> Result<ZapOutcome, ZapError> {
    let amount_msat = amount_msat(args.sats)?;
    let target_ref = nip19::parse_event_ref(&args.target)
        .map_err(|e| ZapError::Usage(format!("target: {e}")))?;
    let relay_urls = relays(&args.relays, settings, &target_ref)?;
    let timeout = Duration::from_secs(args.timeout.max(1));

    let client = connect(&relay_urls, timeout).await?;
    let outcome = zap(
        args,
        &client,
        &relay_urls,
        &target_ref,
        keys,
        amount_msat,
        timeout,
        notices,
    )
    .await;
    client.shutdown().await;
    outcome
}

/// A client of `relay_urls`, connected (or given up on after `timeout`).
pub(crate) async fn connect(
    relay_urls: &[RelayUrl],
    timeout: Duration,
) -> Result<Client, ZapError> {
    let client = Client::default();
    for url in relay_urls {
        client
            .add_relay(url.clone())
            .await
            .map_err(|e| failed(format!("relay {url}: {e}")))?;
    }
    client.connect().await;
    client.wait_for_connection(timeout).await;
    Ok(client)
}

/// The relays' URLs, for messages.
fn relays_named(relay_urls: &[RelayUrl]) -> String {
    relay_urls
        .iter()
        .map(RelayUrl::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The target (`raw` as given on the command line) and the proposal it names, read from the
/// relays: the target itself when it is the proposal, else the proposal it tags, which it must
/// be a vote target of (its author's announcement or zap poll).
pub(crate) async fn fetch_target_and_proposal(
    client: &Client,
    target_ref: &EventRef,
    raw: &str,
    relay_urls: &[RelayUrl],
    timeout: Duration,
) -> Result<(Event, Event), ZapError> {
    let relays_named = relays_named(relay_urls);
    let target_filter = match target_ref {
        EventRef::Id { id, .. } => Filter::new().id(*id),
        EventRef::Address { coordinate, .. } => Filter::new()
            .kind(coordinate.kind)
            .author(coordinate.public_key)
            .identifier(coordinate.identifier.clone()),
    };
    let target = newest_or_arriving(client, target_filter, timeout)
        .await?
        .ok_or_else(|| {
            failed(format!(
                "{} is not on the relays ({relays_named})",
                raw.trim()
            ))
        })?;
    let proposal = match target_role(&target).map_err(failed)? {
        TargetRole::Proposal => target.clone(),
        TargetRole::Tags(id) => {
            let proposal = newest_or_arriving(client, Filter::new().id(id), timeout)
                .await?
                .ok_or_else(|| {
                    failed(format!(
                        "the proposal {id} is not on the relays ({relays_named})"
                    ))
                })?;
            check_proposal(&proposal, &target).map_err(failed)?;
            proposal
        }
    };
    Ok((target, proposal))
}

#[allow(clippy::too_many_arguments)]
async fn zap(
    args: &ZapArgs,
    client: &Client,
    relay_urls: &[RelayUrl],
    target_ref: &EventRef,
    keys: &Keys,
    amount_msat: u64,
    timeout: Duration,
    notices: &mut Vec<String>,
) -> Result<ZapOutcome, ZapError> {
    let relays_named = relays_named(relay_urls);
    let (target, proposal) =
        fetch_target_and_proposal(client, target_ref, &args.target, relay_urls, timeout).await?;

    let (zapped, poll_option) = match args.option {
        Some(option) => {
            let poll = if target.kind == events::kind::ZAP_POLL {
                target.clone()
            } else {
                let filter = Filter::new()
                    .kind(events::kind::ZAP_POLL)
                    .author(proposal.pubkey)
                    .event(proposal.id);
                newest(client, filter, timeout).await?.ok_or_else(|| {
                    failed(format!(
                        "proposal {} has no zap poll on the relays ({relays_named}); vote with --comment {} instead",
                        proposal.id,
                        option.label()
                    ))
                })?
            };
            if !is_target_of(&poll, &proposal.id, &proposal.pubkey) {
                return Err(failed(format!(
                    "the zap poll {} is not one of proposal {}'s vote targets",
                    poll.id, proposal.id
                )));
            }
            let index = poll_option_index(&poll, option).map_err(failed)?;
            (poll, Some(index))
        }
        None => (target.clone(), None),
    };

    // The recipient's lightning address: its profile's lud16, else the proposal's zap tag.
    let profile = newest(
        client,
        Filter::new().kind(Kind::Metadata).author(zapped.pubkey),
        timeout,
    )
    .await?;
    let lud16 = profile
        .and_then(|p| Metadata::from_json(&p.content).ok())
        .and_then(|m| m.lud16)
        .filter(|a| !a.trim().is_empty());
    let address = match lud16 {
        Some(address) => address,
        None => governance_action::parse_governance_action(&proposal)
            .ok()
            .and_then(|a| a.zap)
            .ok_or_else(|| {
                failed(format!(
                    "{} has no lightning address (no lud16 in its profile, no zap tag on the proposal)",
                    npub(&zapped.pubkey)
                ))
            })?,
    };
    let endpoint = lnurl::lnurlp_url(&address).map_err(|e| failed(e.to_string()))?;
    let pay = lnurl::fetch_pay_request(&endpoint, timeout)
        .await
        .map_err(|e| failed(format!("{address}: {e}")))?;
    let zapper = check_pay_request(&pay, &address, amount_msat)?;

    let mut comment = args.comment.clone().unwrap_or_default();
    let sealed_ballot = match args.seal {
        Some(choice) => {
            let ballot =
                crate::cli::sealed_ballot::token_for(&proposal, choice, &keys.public_key())
                    .map_err(failed)?;
            comment = sealed_comment(&comment, &ballot.token);
            Some(ballot.token)
        }
        None => None,
    };
    let request = EventBuilder::new(Kind::ZapRequest, comment.clone())
        .tags(zap_request_tags(
            &zapped,
            amount_msat,
            relay_urls,
            poll_option.as_deref(),
        ))
        .sign_with_keys(keys)
        .map_err(|e| failed(format!("cannot sign the zap request: {e}")))?;
    let request_json = request.as_json();
    // LUD-12: the comment goes along when the provider takes one that long (the zap request's
    // content, which the vote is read from, carries it whole either way).
    let lud12_comment = (!comment.is_empty()
        && u64::try_from(comment.chars().count()).is_ok_and(|n| n <= pay.comment_allowed))
    .then_some(comment.as_str());

    // Listen for the receipt before asking for the invoice: the development provider pays at
    // once, and the receipt may reach the relay before the invoice reaches us.
    let pays_at_once = is_loopback_endpoint(&endpoint);
    let mut receipts = client.notifications();
    if pays_at_once {
        let filter = Filter::new()
            .kind(Kind::ZapReceipt)
            .author(zapper)
            .pubkey(zapped.pubkey)
            .since(Timestamp::now() - Duration::from_secs(60));
        client
            .subscribe(filter, None)
            .await
            .map_err(|e| failed(format!("cannot subscribe to zap receipts: {e}")))?;
    }
    let url = lnurl::invoice_url(&pay, amount_msat, Some(&request_json), lud12_comment);
    let bolt11 = lnurl::request_invoice(&url, timeout)
        .await
        .map_err(|e| failed(format!("{address}: {e}")))?;
    if let Some(note) = check_invoice(&bolt11, amount_msat, &request_json).map_err(failed)? {
        notices.push(note);
    }

    let mut outcome = ZapOutcome {
        proposal: proposal.id.to_hex(),
        zapped: zapped.id.to_hex(),
        lightning_address: address.clone(),
        amount_msat,
        lightning_uri: format!("lightning:{bolt11}"),
        invoice: bolt11,
        receipt: None,
        voter: npub(&keys.public_key()),
        sealed_ballot,
    };
    if pays_at_once {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, receipts.recv()).await {
                Ok(Ok(RelayPoolNotification::Event { event, .. })) => {
                    if is_receipt_for(&event, &zapper, &outcome.invoice) {
                        outcome.receipt = Some(event.id.to_hex());
                        break;
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(_)) | Err(_) => {
                    return Err(failed(format!(
                        "the invoice is {}, but no zap receipt for it reached the relays ({relays_named}) within {}s",
                        outcome.invoice,
                        timeout.as_secs()
                    )))
                }
            }
        }
    } else {
        notices.push(format!(
            "pay the invoice with any Lightning wallet; {address}'s provider then publishes the zap receipt"
        ));
    }
    Ok(outcome)
}

/// The zap comment holding a sealed ballot `token`: after the voter's own text, when there is
/// some (the token is found wherever it stands, and the keywords around it are not read).
pub fn sealed_comment(text: &str, token: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        token.to_owned()
    } else {
        format!("{text} {token}")
    }
}

/// The provider's zapper key, once its `payRequest` is known to take this zap.
fn check_pay_request(
    pay: &PayRequest,
    address: &str,
    amount_msat: u64,
) -> Result<PublicKey, ZapError> {
    let zapper = pay.nostr_pubkey.ok_or_else(|| {
        failed(format!(
            "{address}'s LNURL provider does not take Nostr zaps (allowsNostr): a payment would not be a vote"
        ))
    })?;
    if !(pay.min_sendable..=pay.max_sendable).contains(&amount_msat) {
        return Err(ZapError::Usage(format!(
            "--sats: {address} takes {} to {} sats",
            pay.min_sendable.div_ceil(1_000),
            pay.max_sendable / 1_000
        )));
    }
    Ok(zapper)
}

/// Whether `event` is the zap receipt, signed by `zapper`, of the invoice `bolt11`.
fn is_receipt_for(event: &Event, zapper: &PublicKey, bolt11: &str) -> bool {
    event.kind == Kind::ZapReceipt
        && event.pubkey == *zapper
        && event.verify().is_ok()
        && event.tags.iter().any(|t| {
            let t = t.as_slice();
            t.first().map(String::as_str) == Some("bolt11")
                && t.get(1).map(String::as_str) == Some(bolt11)
        })
}

/// A provider on this machine: the development provider, which pays at once.
fn is_loopback_endpoint(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Prints the outcome: JSON, or the invoice, the URI and the receipt on stdout.
pub fn print(outcome: &ZapOutcome, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(outcome).unwrap_or_default()
        );
        return;
    }
    if let Some(token) = &outcome.sealed_ballot {
        println!("sealed    {token}");
    }
    println!("invoice   {}", outcome.invoice);
    println!("pay with  {}", outcome.lightning_uri);
    if let Some(receipt) = &outcome.receipt {
        println!("receipt   {receipt}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nostr::governance_action::{GovernanceAction, GovernanceActionRequest};

    fn proposal(gov: &Keys) -> Event {
        let body = br#"{"action": "review-period", "repository": "o/r", "pr": 7, "tier": 1,
                        "title": "Try a vote", "voting_window_days": 14}"#;
        let action = GovernanceAction::parse(
            GovernanceActionRequest::from_json(body).expect("request"),
            Timestamp::now(),
        )
        .expect("action");
        governance_action::governance_action_content(
            &action,
            &action.content(),
            "commons_dev",
            Some("gov@127.0.0.1:8080"),
        )
        .sign_with_keys(gov)
        .expect("proposal")
    }

    fn tag<'a>(tags: &'a [Tag], name: &str) -> Option<&'a [String]> {
        tags.iter()
            .map(|t| t.as_slice())
            .find(|t| t.first().map(String::as_str) == Some(name))
    }

    #[test]
    fn targets_are_a_proposal_or_what_tags_it() {
        let gov = Keys::generate();
        let proposal = proposal(&gov);
        assert_eq!(target_role(&proposal), Ok(TargetRole::Proposal));
        let note = EventBuilder::text_note("Vote on it")
            .tag(Tag::event(proposal.id))
            .tag(Tag::hashtag("governance-proposal"))
            .sign_with_keys(&gov)
            .expect("note");
        assert_eq!(target_role(&note), Ok(TargetRole::Tags(proposal.id)));
        assert_eq!(check_proposal(&proposal, &note), Ok(()));

        // Someone else's note tagging it is not the proposal's announcement, nor is a gov-bot
        // note without t=governance-proposal.
        let stranger = EventBuilder::text_note("me too")
            .tag(Tag::event(proposal.id))
            .tag(Tag::hashtag("governance-proposal"))
            .sign_with_keys(&Keys::generate())
            .expect("note");
        assert!(check_proposal(&proposal, &stranger).is_err());
        let untagged = EventBuilder::text_note("by the way")
            .tag(Tag::event(proposal.id))
            .sign_with_keys(&gov)
            .expect("note");
        assert_eq!(target_role(&untagged), Ok(TargetRole::Tags(proposal.id)));
        assert!(
            check_proposal(&proposal, &untagged).is_err_and(|e| e.contains("not one of proposal"))
        );
        // A note tagging nothing, a profile, a note tagging a note: not targets.
        let bare = EventBuilder::text_note("hi")
            .sign_with_keys(&gov)
            .expect("note");
        assert!(target_role(&bare).is_err());
        let profile = EventBuilder::metadata(&Metadata::new())
            .sign_with_keys(&gov)
            .expect("kind 0");
        assert!(target_role(&profile).is_err());
        assert!(check_proposal(&bare, &note).is_err());
    }

    #[test]
    fn zap_request_tags_are_what_clients_send() {
        let gov = Keys::generate();
        let proposal = proposal(&gov);
        let relay = RelayUrl::parse("ws://127.0.0.1:7777").expect("relay");
        let tags = zap_request_tags(&proposal, 1_000_000, std::slice::from_ref(&relay), None);
        assert_eq!(
            tag(&tags, "p").map(|t| t[1].clone()),
            Some(gov.public_key().to_hex())
        );
        assert_eq!(
            tag(&tags, "e").map(|t| t[1].clone()),
            Some(proposal.id.to_hex())
        );
        let d = proposal.tags.identifier().expect("d");
        assert_eq!(
            tag(&tags, "a").map(|t| t[1].clone()),
            Some(format!("30078:{}:{d}", gov.public_key().to_hex()))
        );
        assert_eq!(
            tag(&tags, "k").map(|t| t[1].clone()).as_deref(),
            Some("30078")
        );
        assert_eq!(
            tag(&tags, "amount").map(|t| t[1].clone()).as_deref(),
            Some("1000000")
        );
        assert_eq!(
            tag(&tags, "relays").map(|t| t[1].clone()).as_deref(),
            Some("ws://127.0.0.1:7777")
        );
        assert!(tag(&tags, "poll_option").is_none());

        // A zap poll vote: e = the poll, no a, k = 6969, poll_option.
        let poll = EventBuilder::new(events::kind::ZAP_POLL, "Try a vote")
            .tags([
                Tag::event(proposal.id),
                Tag::parse(["poll_option", "0", "support"]).expect("tag"),
                Tag::parse(["poll_option", "1", "veto"]).expect("tag"),
                Tag::parse(["poll_option", "2", "abstain"]).expect("tag"),
            ])
            .sign_with_keys(&gov)
            .expect("poll");
        let index = poll_option_index(&poll, VoteOption::Veto).expect("veto");
        assert_eq!(index, "1");
        assert_eq!(
            poll_option_index(&poll, VoteOption::Abstain).as_deref(),
            Ok("2")
        );
        let tags = zap_request_tags(&poll, 1_000, &[], Some(&index));
        assert_eq!(
            tag(&tags, "e").map(|t| t[1].clone()),
            Some(poll.id.to_hex())
        );
        assert!(tag(&tags, "a").is_none());
        assert!(tag(&tags, "relays").is_none());
        assert_eq!(
            tag(&tags, "k").map(|t| t[1].clone()).as_deref(),
            Some("6969")
        );
        assert_eq!(
            tag(&tags, "poll_option").map(|t| t[1].clone()).as_deref(),
            Some("1")
        );
        assert_eq!(target_role(&poll), Ok(TargetRole::Tags(proposal.id)));

        let unlabelled = EventBuilder::new(events::kind::ZAP_POLL, "?")
            .sign_with_keys(&gov)
            .expect("poll");
        assert!(poll_option_index(&unlabelled, VoteOption::Support).is_err());
    }

    #[test]
    fn invoices_must_be_for_the_amount_asked() {
        use crate::nostr::zap_provider::{zap_request, ZapProvider, ZapTarget};
        let provider = ZapProvider::generate();
        let request = zap_request(
            &Keys::generate(),
            &ZapTarget::new(Keys::generate().public_key(), 5_000),
        )
        .expect("zap request");
        let json = request.as_json();
        let honest = provider.invoice(&request, 5_000).expect("invoice");
        assert_eq!(check_invoice(&honest.bolt11, 5_000, &json), Ok(None));
        assert!(check_invoice(&honest.bolt11, 6_000, &json).is_err());
        let rehashed = provider
            .sign_invoice("{\"re\":\"serialized\"}", Some(5_000), Timestamp::now())
            .expect("invoice");
        assert!(matches!(
            check_invoice(&rehashed.bolt11, 5_000, &json),
            Ok(Some(_))
        ));
        assert!(check_invoice("lnbc-not-an-invoice", 5_000, &json).is_err());
    }

    #[test]
    fn pay_requests_must_take_zaps_of_this_amount() {
        let pay = |key: Option<PublicKey>| PayRequest {
            callback: Url::parse("http://127.0.0.1:8080/lnurlp/gov/callback").expect("url"),
            min_sendable: 1_000,
            max_sendable: 10_000,
            comment_allowed: 280,
            nostr_pubkey: key,
        };
        let key = Keys::generate().public_key();
        assert_eq!(
            check_pay_request(&pay(Some(key)), "gov@x", 5_000).ok(),
            Some(key)
        );
        assert!(matches!(
            check_pay_request(&pay(None), "gov@x", 5_000),
            Err(ZapError::Failed(_))
        ));
        assert!(matches!(
            check_pay_request(&pay(Some(key)), "gov@x", 11_000),
            Err(ZapError::Usage(_))
        ));
        assert!(is_loopback_endpoint(
            &Url::parse("http://127.0.0.1:1/").expect("url")
        ));
        assert!(!is_loopback_endpoint(
            &Url::parse("https://pay.example.org/").expect("url")
        ));
    }
}
