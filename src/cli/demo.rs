//! The demonstration vote of the development defaults (`lnurl.demo_vote`): once the service is
//! up, it opens a review period and zaps its announcement through the development LNURL
//! provider, exactly as a voter does with `action`, `zap` and `tally`, and prints the tally that
//! counts the zap. So the first `cargo run` shows the service's main job, a zap becoming a vote,
//! on a machine with no network.
//!
//! It is a client of the running service (its admin API, its relays, the provider's LNURL
//! routes) and runs once per database: the proposal has a fixed repository and PR, so a later
//! start is answered 409 and says where the earlier one is.

use std::net::SocketAddr;
use std::time::Duration;

use nostr_sdk::prelude::*;
use serde_json::{json, Value};

use crate::cli::admin_client::{base_url, AdminClient, ClientError};
use crate::cli::zap::{self, ZapArgs};
use crate::configuration::Settings;
use crate::keys;

/// The demonstration proposal's repository (PR 1): a name no real repository has.
pub const DEMO_REPOSITORY: &str = "commons-nostr/demo";
/// The demonstration zap.
pub const DEMO_SATS: u64 = 1_000;
pub const DEMO_COMMENT: &str = "support";
/// How long each step may take: the zap (which waits for the announcement to reach the relay,
/// then for its receipt) and the tally.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the tally is read while the zap is on its way to the vote aggregator.
const TALLY_POLL: Duration = Duration::from_millis(200);

/// What the demonstration did, for the lines it prints.
#[derive(Debug, Clone, PartialEq)]
pub enum DemoVote {
    /// An earlier start opened the demonstration proposal (the API answered 409).
    AlreadyDone,
    /// The proposal, the zap of its announcement, and the tally counting it.
    Counted {
        proposal: String,
        announcement: String,
        receipt: String,
        voter: String,
        tally: Value,
    },
}

/// The review period the demonstration opens.
pub fn demo_action() -> Value {
    json!({
        "action": "review-period",
        "repository": DEMO_REPOSITORY,
        "pr": 1,
        "tier": 1,
        "title": "Demonstration: a zap becomes a vote",
        "description": "Opened by the development defaults (lnurl.demo_vote) on their first start, \
                        and zapped once through the development LNURL provider.",
        "voting_window_days": 14,
    })
}

/// Opens the demonstration proposal, zaps its announcement from a throwaway voter key and
/// waits until the tally counts the zap. `settings` are the running service's, `http` where its
/// API listens and `relays` the relays it publishes to (their real ports, which the settings do
/// not know when they ask for port 0).
pub async fn run(
    settings: &Settings,
    http: SocketAddr,
    relays: &[RelayUrl],
) -> Result<DemoVote, String> {
    let token = settings
        .http
        .admin_token
        .read("http.admin_token", &keys::process_env)
        .map_err(|e| format!("cannot read the admin token: {e}"))?;
    let admin = AdminClient::new(base_url(http), Some(token));
    let answer = match admin.publish_action(&demo_action()).await {
        Ok(answer) => answer,
        Err(ClientError::Api { status: 409, .. }) => return Ok(DemoVote::AlreadyDone),
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

    let voter = Keys::generate();
    let args = ZapArgs {
        target: announcement.clone(),
        sats: DEMO_SATS,
        comment: Some(DEMO_COMMENT.to_owned()),
        option: None,
        seal: None,
        key: None,
        relays: relays.iter().map(ToString::to_string).collect(),
        timeout: STEP_TIMEOUT.as_secs(),
        json: false,
    };
    let mut notices = Vec::new();
    let outcome = zap::run_with_keys(&args, settings, &voter, &mut notices)
        .await
        .map_err(|e| format!("cannot zap the announcement: {e}"))?;
    let receipt = outcome
        .receipt
        .ok_or("the development provider published no zap receipt")?;

    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    let tally = loop {
        let tally = admin
            .tally(&proposal)
            .await
            .map_err(|e| format!("cannot read the tally: {e}"))?;
        if tally.get("receipts_count").and_then(Value::as_u64) >= Some(1) {
            break tally;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "zap receipt {receipt} is on the relays, but the tally did not count it within {}s",
                STEP_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(TALLY_POLL).await;
    };
    Ok(DemoVote::Counted {
        proposal,
        announcement,
        receipt,
        voter: outcome.voter,
        tally,
    })
}

/// The lines the service prints about the demonstration (`page` is the page's base URL).
pub fn describe(vote: &DemoVote, page: &str) -> Vec<String> {
    let page = page.trim_end_matches('/');
    match vote {
        DemoVote::AlreadyDone => vec![format!(
            "the demonstration vote ({DEMO_REPOSITORY} PR 1) was made on an earlier start: see {page}/"
        )],
        DemoVote::Counted {
            proposal,
            announcement,
            receipt,
            voter,
            tally,
        } => {
            let result = &tally["result"];
            let number = |key: &str| result[key].as_f64().unwrap_or(0.0);
            vec![
                format!("opened a review period ({DEMO_REPOSITORY} PR 1): proposal {proposal}"),
                format!(
                    "zapped its announcement {announcement} with {DEMO_SATS} sats and the comment \
                     \"{DEMO_COMMENT}\", from a throwaway voter {voter}"
                ),
                format!(
                    "zap receipt {receipt} counted as a vote: {} voter(s), support {:.8} = sqrt({:.8} BTC), \
                     veto {:.8}, abstain {:.8}, tier threshold {}",
                    tally["voters"].as_u64().unwrap_or(0),
                    number("support_votes"),
                    // Demo arithmetic only: the tally's numbers are the service's.
                    number("support_votes").powi(2),
                    number("veto_votes"),
                    number("abstain_votes"),
                    number("threshold"),
                ),
                format!("see it at {page}/proposals/{proposal}, or: commons-nostr tally {proposal}"),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demonstration_is_a_valid_review_period() {
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
    fn the_lines_name_the_proposal_the_receipt_and_the_weight() {
        let vote = DemoVote::Counted {
            proposal: "aa".repeat(32),
            announcement: "bb".repeat(32),
            receipt: "cc".repeat(32),
            voter: "npub1voter".into(),
            tally: json!({
                "voters": 1,
                "result": {"support_votes": 0.0031622776601683794, "veto_votes": 0.0, "abstain_votes": 0.0,
                           "threshold": 100.0}
            }),
        };
        let lines = describe(&vote, "http://127.0.0.1:8080/");
        assert_eq!(lines.len(), 4);
        assert!(lines[0].ends_with(&"aa".repeat(32)));
        assert!(lines[1].contains(&"bb".repeat(32)) && lines[1].contains("1000 sats"));
        assert!(
            lines[2].contains(&"cc".repeat(32))
                && lines[2].contains("1 voter(s)")
                && lines[2].contains("support 0.00316228 = sqrt(0.00001000 BTC)"),
            "{}",
            lines[2]
        );
        assert_eq!(
            lines[3],
            format!(
                "see it at http://127.0.0.1:8080/proposals/{0}, or: commons-nostr tally {0}",
                "aa".repeat(32)
            )
        );
        assert!(describe(&DemoVote::AlreadyDone, "http://x/")[0].contains("http://x/"));
    }
}
