//! `commons-nostr verify`: checks from the relays everything the service published, and prints
//! the report (see [`crate::cli::verifier`]).

use std::path::Path;
use std::process::ExitCode;

use super::{print_json, relay_urls, runtime, usage_error};

pub(in crate::cli) fn verify(
    relays: &[String],
    server: &str,
    bots: &[String],
    state: Option<&Path>,
    timeout: u64,
    json: bool,
) -> ExitCode {
    let urls = match relay_urls(relays) {
        Ok(urls) => urls,
        Err(e) => return usage_error(e),
    };
    let server = match nostr_sdk::PublicKey::parse(server) {
        Ok(pk) => pk,
        Err(_) => return usage_error(format!("--server: {server:?} is not an npub or hex key")),
    };
    let mut bot_keys = Vec::new();
    for b in bots {
        match nostr_sdk::PublicKey::parse(b) {
            Ok(pk) => bot_keys.push(pk),
            Err(_) => return usage_error(format!("--bot: {b:?} is not an npub or hex key")),
        }
    }
    let saved = match state.map(crate::cli::verifier::load_state).transpose() {
        Ok(s) => s.flatten(),
        Err(e) => return usage_error(e),
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
        print_json(&report);
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
                return usage_error(e);
            }
        }
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
