//! `commons-nostr verify-vote`: a voter's check that a zap receipt is counted in the newest signed
//! tally, and the report printed (see [`crate::cli::verifier`]).

use std::process::ExitCode;

use super::{event_id, print_json, relay_urls, usage_error};

pub(in crate::cli) fn verify_vote(
    relays: &[String],
    proposal: &str,
    receipt: &str,
    api: Option<&str>,
    timeout: u64,
    json: bool,
) -> ExitCode {
    let urls = match relay_urls(relays) {
        Ok(urls) => urls,
        Err(e) => return usage_error(e),
    };
    let (proposal, receipt) = match (
        event_id("--proposal", proposal),
        event_id("--receipt", receipt),
    ) {
        (Ok(p), Ok(r)) => (p, r),
        (Err(e), _) | (_, Err(e)) => return usage_error(e),
    };
    if let Some(api) = api {
        if url::Url::parse(api).map_or(true, |u| !matches!(u.scheme(), "http" | "https")) {
            return usage_error(format!("--api: {api:?} is not an http(s) URL"));
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
        print_json(&report);
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
