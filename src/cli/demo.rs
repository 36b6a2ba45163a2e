//! The demonstration of the development defaults (`lnurl.demo_vote`): once the service is up,
//! it runs a whole vote on its own in about a minute, one plain line a step, exactly as voters
//! and the service do it with `action`, `zap`, `zap --seal` and `tally`:
//!
//! 1. it opens a review period with a 60 s window (`voting_window_secs`);
//! 2. a throwaway voter zaps the announcement with a sealed ballot for "veto" in the comment
//!    (the relays see the voter and the amount, not the choice); another zaps it openly with
//!    "support";
//! 3. the tally counts both, the sealed one's weight in `sealed_votes`;
//! 4. at the close the gov bot publishes its ballot secret (checked here against the key the
//!    proposal pinned), and the final tally opens the sealed ballot.
//!
//! So the first `cargo run` shows the service's main job, zaps becoming votes, a secret one
//! included, on a machine with no network. It is a client of the running service (its admin
//! API, its relays, the provider's LNURL routes) and runs once per database: the proposal has a
//! fixed repository and PR, so a later start is answered 409 and says where the earlier one is.

use std::net::SocketAddr;
use std::time::Duration;

use nostr_sdk::prelude::*;
use serde_json::{json, Value};

use crate::cli::admin_client::{base_url, AdminClient, ClientError};
use crate::cli::ballot;
use crate::cli::zap::{self, VoteOption, ZapArgs};
use crate::configuration::Settings;
use crate::keys;
use crate::nostr::{ballot_secret, events};

/// The demonstration proposal's repository (PR 1): a name no real repository has.
pub const DEMO_REPOSITORY: &str = "commons-nostr/demo";
/// The demonstration's voting window: the shortest a review period takes.
pub const DEMO_WINDOW_SECS: u64 = 60;
/// The sealed vote: its amount and its choice.
pub const SEALED_SATS: u64 = 2_000;
pub const SEALED_CHOICE: VoteOption = VoteOption::Veto;
/// The open vote: its amount and its comment.
pub const OPEN_SATS: u64 = 1_000;
pub const OPEN_COMMENT: &str = "support";
/// How long each step may take: a zap (which waits for the announcement to reach the relay,
/// then for its receipt), a tally, the reveal after the close.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the tally is read while waiting for it to change.
const TALLY_POLL: Duration = Duration::from_millis(200);

/// The review period the demonstration opens.
pub fn demo_action() -> Value {
    json!({
        "action": "review-period",
        "repository": DEMO_REPOSITORY,
        "pr": 1,
        "tier": 1,
        "title": "Demonstration: zaps become votes, one of them sealed",
        "description": "Opened by the development defaults (lnurl.demo_vote) on their first start, \
                        zapped twice through the development LNURL provider (once with a sealed \
                        ballot), closed after a minute and opened.",
        "voting_window_secs": DEMO_WINDOW_SECS,
    })
}

/// Runs the demonstration, handing each line to `say` as its step completes. `settings` are
/// the running service's, `http` where its API listens (`page` its base URL) and `relays` the
/// relays it publishes to (their real ports, which the settings do not know when they ask for
/// port 0).
pub async fn run(
    settings: &Settings,
    http: SocketAddr,
    relays: &[RelayUrl],
    say: &mut dyn FnMut(String),
) -> Result<(), String> {
    let page = base_url(http).to_string();
    let page = page.trim_end_matches('/');
    let token = settings
        .http
        .admin_token
        .read("http.admin_token", &keys::process_env)
        .map_err(|e| format!("cannot read the admin token: {e}"))?;
    let admin = AdminClient::new(base_url(http), Some(token));
    let answer = match admin.publish_action(&demo_action()).await {
        Ok(answer) => answer,
        Err(ClientError::Api { status: 409, .. }) => {
            say(format!(
                "the demonstration ({DEMO_REPOSITORY} PR 1) was made on an earlier start: see {page}/"
            ));
            return Ok(());
        }
        Err(e) => return Err(format!("cannot open the proposal: {e}")),
    };
    let field = |key: &str| {
        answer
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("the action's answer has no {key}: {answer}"))
    };
    let proposal = field("event_id")?;
    let announcement = field("announcement_id")?;
    let proposal_id = EventId::from_hex(&proposal).map_err(|e| format!("event_id: {e}"))?;

    // The two votes, each through the development provider as a voter's client zaps.
    let zap_args = |seal: Option<VoteOption>, comment: Option<&str>, sats: u64| ZapArgs {
        target: announcement.clone(),
        sats,
        comment: comment.map(str::to_owned),
        option: None,
        seal,
        key: None,
        relays: relays.iter().map(ToString::to_string).collect(),
        timeout: STEP_TIMEOUT.as_secs(),
        json: false,
    };
    let sealed_voter = Keys::generate();
    let mut notices = Vec::new();
    let sealed = zap::run_with_keys(
        &zap_args(Some(SEALED_CHOICE), None, SEALED_SATS),
        settings,
        &sealed_voter,
        &mut notices,
    )
    .await
    .map_err(|e| format!("cannot zap the announcement with a sealed ballot: {e}"))?;
    let token = sealed.sealed_ballot.clone().unwrap_or_default();

    // Where the proposal pins its keys and when it closes: from the relays, as anyone reads it.
    let client = zap::connect(relays, STEP_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    let proposal_event = client
        .fetch_events(Filter::new().id(proposal_id), STEP_TIMEOUT)
        .await
        .ok()
        .and_then(|events| events.into_iter().find(|e| e.verify().is_ok()));
    let Some(proposal_event) = proposal_event else {
        client.shutdown().await;
        return Err(format!("proposal {proposal} is not on the relays"));
    };
    let (keys, end) = match crate::cli::sealed_ballot::pinned_keys(&proposal_event) {
        Ok(found) => found,
        Err(e) => {
            client.shutdown().await;
            return Err(e);
        }
    };
    say(format!(
        "opened a review period ({DEMO_REPOSITORY} PR 1) with a {DEMO_WINDOW_SECS} s window, \
         closing at {}: proposal {proposal}",
        ballot::utc(end)
    ));
    say(format!(
        "voter {} zapped its announcement {SEALED_SATS} sats with a sealed ballot for \"{}\" \
         as the comment ({}...): the relays show who and how much, not the choice",
        sealed.voter,
        SEALED_CHOICE.label(),
        token.chars().take(20).collect::<String>()
    ));

    let open = zap::run_with_keys(
        &zap_args(None, Some(OPEN_COMMENT), OPEN_SATS),
        settings,
        &Keys::generate(),
        &mut notices,
    )
    .await;
    let open = match open {
        Ok(open) => open,
        Err(e) => {
            client.shutdown().await;
            return Err(format!("cannot zap the announcement openly: {e}"));
        }
    };
    say(format!(
        "voter {} zapped it {OPEN_SATS} sats with the comment \"{OPEN_COMMENT}\": an open vote",
        open.voter
    ));

    let before = wait_for_tally(&admin, &proposal, |t| {
        t["receipts_count"].as_u64() >= Some(2)
    })
    .await;
    let before = match before {
        Ok(t) => t,
        Err(e) => {
            client.shutdown().await;
            return Err(e);
        }
    };
    say(format!(
        "both zaps counted as votes before the close: {}",
        describe_tally(&before)
    ));
    let now = Timestamp::now().as_secs();
    say(format!(
        "waiting for the close at {} ({} s)...",
        ballot::utc(end),
        end.saturating_sub(now)
    ));

    // The reveal: the gov bot's ballot secret, created at or after the close.
    let gov = proposal_event.pubkey;
    let secret = wait_for_secret(&client, proposal_id, gov, end).await;
    client.shutdown().await;
    let (secret_id, revealed_key) = secret?;
    let matches = keys.contains(&revealed_key);
    say(format!(
        "the window closed; the gov bot published its ballot secret (event {secret_id}), {}",
        if matches {
            "which matches the key the proposal pinned"
        } else {
            "which does NOT match the key the proposal pinned"
        }
    ));

    let after = wait_for_tally(&admin, &proposal, |t| {
        t["final"] == true && t["sealed"]["opened"] == true
    })
    .await?;
    say(format!(
        "the final tally opened the sealed ballot: {}",
        describe_tally(&after)
    ));
    say(format!(
        "see it at {page}/proposals/{proposal}, or: commons-nostr tally {proposal}"
    ));
    Ok(())
}

/// Waits (up to the close plus [`STEP_TIMEOUT`]) for the tally to satisfy `done`.
async fn wait_for_tally(
    admin: &AdminClient,
    proposal: &str,
    done: impl Fn(&Value) -> bool,
) -> Result<Value, String> {
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(DEMO_WINDOW_SECS) + STEP_TIMEOUT;
    loop {
        let tally = admin
            .tally(proposal)
            .await
            .map_err(|e| format!("cannot read the tally: {e}"))?;
        if done(&tally) {
            return Ok(tally);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!("the tally did not get there in time: {tally}"));
        }
        tokio::time::sleep(TALLY_POLL).await;
    }
}

/// Waits for `gov`'s ballot secret of `proposal` on the relays (created at or after `end`):
/// its event id and the key it reveals the secret of, once the secret is valid for that key.
async fn wait_for_secret(
    client: &Client,
    proposal: EventId,
    gov: PublicKey,
    end: u64,
) -> Result<(EventId, crate::votes::BallotKey), String> {
    let filter = Filter::new()
        .kind(events::kind::BALLOT_SECRET)
        .author(gov)
        .identifier(events::d::ballot_secret(&proposal));
    let deadline = tokio::time::Instant::now()
        + Duration::from_secs(end.saturating_sub(Timestamp::now().as_secs()))
        + STEP_TIMEOUT;
    loop {
        if let Ok(found) = client.fetch_events(filter.clone(), STEP_TIMEOUT).await {
            for event in found {
                if event.verify().is_err() || event.created_at.as_secs() < end {
                    continue;
                }
                if let Ok(parsed) = ballot_secret::parse_ballot_secret(&event) {
                    if crate::votes::is_valid_secret(&parsed.secret, &parsed.key) {
                        return Ok((event.id, parsed.key));
                    }
                }
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "no ballot secret of proposal {proposal} reached the relays after the close"
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// A tally in one line: voters, each side's weight, the sealed weight, the verdict.
pub fn describe_tally(tally: &Value) -> String {
    let result = &tally["result"];
    let number = |key: &str| result[key].as_f64().unwrap_or(0.0);
    let sealed = &tally["sealed"];
    let mut line = format!(
        "{} voter(s), support {:.8}, veto {:.8}, abstain {:.8}",
        tally["voters"].as_u64().unwrap_or(0),
        number("support_votes"),
        number("veto_votes"),
        number("abstain_votes"),
    );
    if sealed["opened"] == true {
        line.push_str(&format!(
            ", {} sealed ballot(s) opened ({} invalid)",
            sealed["ballots"].as_u64().unwrap_or(0),
            sealed["invalid"].as_u64().unwrap_or(0)
        ));
    } else {
        line.push_str(&format!(
            ", sealed {:.8} ({} ballot(s) nobody can read before the close)",
            number("sealed_votes"),
            sealed["ballots"].as_u64().unwrap_or(0)
        ));
    }
    line.push_str(&format!(
        "; tier threshold {}, {}",
        number("threshold"),
        if result["veto_blocks"] == true {
            "vetoed"
        } else if result["threshold_met"] == true {
            "passed"
        } else {
            "not passed"
        }
    ));
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demonstration_is_a_valid_short_review_period() {
        use crate::nostr::governance_action::{GovernanceAction, GovernanceActionRequest};
        let body = serde_json::to_vec(&demo_action()).unwrap();
        let request = GovernanceActionRequest::from_json(&body).unwrap();
        let action = GovernanceAction::parse(request, Timestamp::from_secs(1_800_000_000));
        assert!(
            matches!(action, Ok(GovernanceAction::ReviewPeriod(_))),
            "{action:?}"
        );
    }

    #[test]
    fn a_tally_line_says_the_sealed_weight_until_opened() {
        let before = json!({
            "voters": 2,
            "result": {"support_votes": 0.0031622776601683794, "veto_votes": 0.0, "abstain_votes": 0.0,
                       "sealed_votes": 0.004472135954999579, "threshold": 100.0,
                       "threshold_met": false, "veto_blocks": false},
            "sealed": {"opened": false, "ballots": 1, "voters": 1, "invalid": 0}
        });
        assert_eq!(
            describe_tally(&before),
            "2 voter(s), support 0.00316228, veto 0.00000000, abstain 0.00000000, sealed \
             0.00447214 (1 ballot(s) nobody can read before the close); tier threshold 100, \
             not passed"
        );
        let after = json!({
            "voters": 2,
            "result": {"support_votes": 0.0031622776601683794, "veto_votes": 0.004472135954999579,
                       "abstain_votes": 0.0, "sealed_votes": 0.0, "threshold": 100.0,
                       "threshold_met": false, "veto_blocks": true},
            "sealed": {"opened": true, "ballots": 1, "voters": 1, "invalid": 0}
        });
        assert_eq!(
            describe_tally(&after),
            "2 voter(s), support 0.00316228, veto 0.00447214, abstain 0.00000000, 1 sealed \
             ballot(s) opened (0 invalid); tier threshold 100, vetoed"
        );
    }
}
