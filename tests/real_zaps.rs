//! The real corpus: 886 zap receipts published by 23 real LNURL providers
//! (`../shared/real-zaps/receipts.jsonl`, read relative to the crate), judged by the service's
//! own [`nip57::validate`] with each receipt's signer as its provider and its `p` as the bot.
//!
//! All count, but the 4 receipts altered inside the fixture files they were found in (each
//! rejected by rule 1 or 3 with its reason), and the anomaly counts per check are printed
//! (`cargo test --test real_zaps -- --nocapture`) and held to what the README states.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use commons_nostr::nostr::nip57::{self, Check, Zapper};
use nostr_sdk::hashes::{sha256, Hash};
use nostr_sdk::prelude::*;
use serde::Deserialize;

/// One line of the corpus.
#[derive(Deserialize)]
struct Line {
    source: String,
    provider: String,
    event: serde_json::Value,
}

/// The receipts altered inside their fixture files (not by their provider), and why each is
/// rejected: receipt id, DESIGN.md rule, reason. (`../shared/real-zaps/QUIRKS.md`, last rows.)
const ALTERED: [(&str, u8, &str); 4] = [
    // Blink, in Hubmakerlabs/replicatr's event_test.go: content replaced after signing.
    (
        "ed89902da916be56f598af0114384d4f878fa17612d99590fb848d74def7e0b7",
        1,
        "receipt_id_mismatch",
    ),
    // npub.cash: the zap request was altered before the provider received it.
    (
        "fb9cbfba57cd3ec8cb2164a01ec8c4b726797fbb620bd77b6a54042cfd72bc08",
        3,
        "zap_request_id_mismatch",
    ),
    // Minibits, in Nostur's Kind9735.swift: content filled in from the request.
    (
        "a6f2a9d444fd81905d0407bcd264b6699122668bcc4ab71998b2d0a7638b0060",
        1,
        "receipt_id_mismatch",
    ),
    // Alby, in pareto-client's interop.js: a `pubkey` tag added after signing.
    (
        "93a65bdce4e4d0ba1f5042fde8e8311781cb5eee13b30e19e4b701a1c0ca6b57",
        1,
        "receipt_id_mismatch",
    ),
];

/// Receipts in the corpus.
const RECEIPTS: usize = 886;

/// Receipts counted without a `description_hash` anomaly thanks to the NIP-01-order fallback.
const BY_FALLBACK: usize = 87;

/// Receipts counted with anomaly `description_hash` because their invoice has no description
/// hash at all.
const NO_DESCRIPTION_HASH: usize = 61;

/// Counted receipts per failed check over the corpus, as the README states them.
const ANOMALIES: [(Check, usize); 3] = [
    (Check::DescriptionHash, 409),
    (Check::PaymentHash, 18),
    (Check::Preimage, 0),
];

/// Whether the receipt's invoice description hash is SHA-256 of its `description` tag as written.
fn commits_as_written(receipt: &Event) -> bool {
    let tag = |name: &str| {
        receipt.tags.iter().find_map(|t| {
            let t = t.as_slice();
            (t.first().map(String::as_str) == Some(name))
                .then(|| t.get(1).cloned())
                .flatten()
        })
    };
    let (Some(bolt11), Some(description)) = (tag("bolt11"), tag("description")) else {
        return false;
    };
    let Ok(invoice) = bolt11.parse::<lightning_invoice::SignedRawBolt11Invoice>() else {
        return false;
    };
    invoice
        .description_hash()
        .is_some_and(|h| h.0 == sha256::Hash::hash(description.as_bytes()))
}

fn corpus_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/real-zaps/receipts.jsonl")
}

#[test]
fn every_real_receipt_counts_but_the_four_altered_ones() {
    let path = corpus_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut accepted = 0usize;
    let mut rejected: Vec<(String, u8, &'static str, String, String)> = Vec::new();
    let mut anomalies: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut by_provider: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut lines = 0usize;
    // Accepted receipts whose invoice commits to the request in NIP-01 key order, not to the
    // description text as written (the re-serializing providers).
    let mut by_fallback = 0usize;
    // Accepted receipts whose invoice has no description hash at all.
    let mut no_description_hash = 0usize;
    for (n, raw) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        lines += 1;
        let line: Line =
            serde_json::from_str(raw).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        let receipt = Event::from_json(line.event.to_string())
            .unwrap_or_else(|e| panic!("line {} ({}): not an event: {e}", n + 1, line.source));
        let bot = receipt
            .tags
            .public_keys()
            .next()
            .copied()
            .unwrap_or_else(|| panic!("line {}: no p tag", n + 1));
        let recipients = HashMap::from([(bot, Zapper::Known(receipt.pubkey))]);
        let entry = by_provider.entry(line.provider.clone()).or_default();
        entry.1 += 1;
        match nip57::validate(&receipt, &recipients) {
            Ok(zap) => {
                accepted += 1;
                entry.0 += 1;
                if !zap.anomalies().contains(Check::DescriptionHash)
                    && !commits_as_written(&receipt)
                {
                    by_fallback += 1;
                }
                if zap
                    .anomaly_details()
                    .contains(&nip57::Anomaly::NoDescriptionHash)
                {
                    no_description_hash += 1;
                }
                for check in zap.anomalies().iter() {
                    *anomalies.entry(check.name()).or_default() += 1;
                }
            }
            Err(rejection) => rejected.push((
                receipt.id.to_hex(),
                rejection.rule(),
                rejection.reason(),
                rejection.to_string(),
                format!("{} ({})", line.source, line.provider),
            )),
        }
    }
    println!(
        "{lines} real receipts: {accepted} accepted, {} rejected",
        rejected.len()
    );
    for (id, rule, reason, detail, source) in &rejected {
        println!("  rejected {id} rule {rule} {reason}: {detail} [{source}]");
    }
    println!("anomalies among the accepted, per check:");
    for check in Check::ALL {
        println!(
            "  {:<16} {}",
            check.name(),
            anomalies.get(check.name()).copied().unwrap_or(0)
        );
    }
    println!("  of description_hash, no description hash at all: {no_description_hash}");
    println!("description hash matched only by the NIP-01-order fallback: {by_fallback}");
    println!("accepted by provider:");
    for (provider, (ok, all)) in &by_provider {
        println!("  {provider}: {ok} of {all}");
    }

    assert_eq!(lines, RECEIPTS);
    assert_eq!(by_fallback, BY_FALLBACK);
    assert_eq!(no_description_hash, NO_DESCRIPTION_HASH);
    let mut expected: Vec<(String, u8, &str)> = ALTERED
        .iter()
        .map(|(id, rule, reason)| ((*id).to_owned(), *rule, *reason))
        .collect();
    expected.sort();
    let mut got: Vec<(String, u8, &str)> = rejected
        .iter()
        .map(|(id, rule, reason, _, _)| (id.clone(), *rule, *reason))
        .collect();
    got.sort();
    assert_eq!(got, expected, "only the altered receipts are rejected");
    assert_eq!(accepted, RECEIPTS - ALTERED.len());
    for (check, count) in ANOMALIES {
        assert_eq!(
            anomalies.get(check.name()).copied().unwrap_or(0),
            count,
            "anomaly {check}: update the README's numbers with this test's"
        );
    }
    // Every provider's receipts count (the altered copies aside).
    for (provider, (ok, all)) in &by_provider {
        let altered = rejected
            .iter()
            .filter(|r| r.4.contains(provider.as_str()))
            .count();
        assert_eq!(ok + altered, *all, "{provider}");
    }
}

/// Runs `commons-nostr check-receipt` with `args`, `stdin` on its standard input.
fn check_receipt(args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let mut child = Command::new(env!("CARGO_BIN_EXE_commons-nostr"))
        .arg("check-receipt")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().expect("stdin");
    let stdin = stdin.to_owned();
    let writer = std::thread::spawn(move || input.write_all(stdin.as_bytes()));
    let output = child.wait_with_output().expect("the binary ends");
    writer
        .join()
        .expect("the writer thread")
        .expect("stdin written");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn check_receipt_judges_the_corpus_one_line_each() {
    let path = corpus_path();
    let path_text = path.to_string_lossy().into_owned();
    let (code, stdout, stderr) = check_receipt(&[&path_text], "");
    assert_eq!(code, Some(1), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), RECEIPTS);
    let rejected: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.contains("  rejected  "))
        .collect();
    assert_eq!(rejected.len(), ALTERED.len(), "{rejected:#?}");
    for (id, rule, reason) in ALTERED {
        let line = rejected
            .iter()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} not rejected"));
        assert!(
            line.contains(&format!("rejected  rule {rule} {reason}: ")),
            "{line}"
        );
    }
    let flagged = lines.iter().filter(|l| l.contains("anomalies: ")).count();
    assert!(flagged >= ANOMALIES[0].1, "{flagged}");
    assert!(
        stderr.contains(&format!(
            "{RECEIPTS} receipts: {} accepted",
            RECEIPTS - ALTERED.len()
        )),
        "{stderr}"
    );

    // The accepted ones alone, on standard input, as JSON: exit 0.
    let text = std::fs::read_to_string(&path).expect("corpus");
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !ALTERED.iter().any(|(id, _, _)| l.contains(id)))
        .collect();
    let (code, stdout, stderr) = check_receipt(&["--json"], &kept.join("\n"));
    assert_eq!(code, Some(0), "{stderr}");
    let verdicts: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(verdicts.len(), kept.len());
    assert!(verdicts.iter().all(|v| v["verdict"] == "accepted"));
    let payment_hash = verdicts
        .iter()
        .filter(|v| {
            v["anomalies"]
                .as_array()
                .is_some_and(|a| a.iter().any(|n| n["check"] == "payment_hash"))
        })
        .count();
    assert_eq!(payment_hash, ANOMALIES[1].1);

    // A wrong --zapper rejects everything by rule 2; a bad one is a usage error.
    let zapper = Keys::generate().public_key().to_bech32().expect("npub");
    let (code, stdout, _) = check_receipt(&["--zapper", &zapper, "-"], kept[0]);
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("rejected  rule 2 wrong_zapper: "),
        "{stdout}"
    );
    let (code, _, stderr) = check_receipt(&["--zapper", "nope"], "");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--zapper"), "{stderr}");
}
