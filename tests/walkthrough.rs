//! README "Vote on a fresh machine", followed to the letter: the release-style binary on the
//! default settings in an empty directory (only its ports moved, so tests run in parallel),
//! then the README's second-terminal block run by `sh` exactly as written (`action`, `zap ...
//! --comment veto`, `tally`), and the vote seen counted in the tally.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::binary::{command, free_loopback_addr, Running, BIN};
use nostr_sdk::prelude::*;
use serde_json::Value;

/// The README's block after the walkthrough marker.
fn readme_walkthrough() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let after = readme
        .split("<!-- walkthrough:")
        .nth(1)
        .expect("README has the walkthrough marker");
    let block = after
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a sh block after the marker");
    block.to_owned()
}

#[test]
fn the_readme_walkthrough_counts_a_veto_zap() {
    let dir = tempfile::tempdir().expect("a directory");
    // The README's `./target/release/commons-nostr`, here the binary under test.
    let release = dir.path().join("target/release");
    std::fs::create_dir_all(&release).expect("target/release");
    std::os::unix::fs::symlink(BIN, release.join("commons-nostr")).expect("symlink");
    let http = free_loopback_addr();
    let relay = free_loopback_addr();
    let env = vec![
        ("COMMONS__HTTP__BIND".to_owned(), http.clone()),
        ("COMMONS__NOSTR__EMBEDDED_RELAY__BIND".to_owned(), relay),
    ];

    // Terminal 1.
    let mut service = Running::start(command("./target/release/commons-nostr", dir.path(), &env));
    // It names where each bot is zapped: its own development LNURL provider.
    service.wait_for(&format!(
        "gov  zaps to gov@{http} (the development LNURL provider)"
    ));
    service.wait_for(&format!("listening on http://{http}"));

    // Terminal 2, as written.
    let block = readme_walkthrough();
    assert!(
        block.contains("zap \"$P\" --sats 1000 --comment veto"),
        "{block}"
    );
    let out = command("sh", dir.path(), &env)
        .args(["-e", "-c", &block])
        .output()
        .expect("sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{block}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    // What the README says happens: a voter key is generated (0600) and named, an invoice and
    // a lightning: URI are printed, then the receipt's id.
    let key = dir.path().join("data/keys/voter.nsec");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key).expect("voter key").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    assert!(stderr.contains("data/keys/voter.nsec"), "{stderr}");
    let voter = Keys::parse(std::fs::read_to_string(&key).expect("key").trim())
        .expect("a key")
        .public_key();
    assert!(
        stderr.contains(&voter.to_bech32().expect("npub")),
        "{stderr}"
    );
    let line = |prefix: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{stdout}"))
            .to_owned()
    };
    let invoice = line("invoice ");
    assert!(invoice.starts_with("lnbc10u"), "{invoice}");
    assert_eq!(line("pay with "), format!("lightning:{invoice}"));
    let receipt = EventId::from_hex(&line("receipt ")).expect("a receipt id");

    // The block's own tally answered for the proposal; the vote is counted within moments.
    let proposal: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("proposal.json")).expect("proposal.json"),
    )
    .expect("the action's JSON");
    let proposal = proposal["event_id"].as_str().expect("event_id").to_owned();
    assert!(
        stdout.contains(&format!("\"proposal\": \"{proposal}\"")),
        "{stdout}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let tally = loop {
        let out = command("./target/release/commons-nostr", dir.path(), &env)
            .args(["tally", &proposal])
            .output()
            .expect("tally runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let tally: Value = serde_json::from_slice(&out.stdout).expect("tally JSON");
        if tally["receipts_count"] == 1 || Instant::now() > deadline {
            break tally;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(tally["receipts_count"], 1, "{tally}");
    assert_eq!(tally["voters"], 1, "{tally}");
    assert_eq!(
        tally["receipts"],
        serde_json::json!([receipt.to_hex()]),
        "{tally}"
    );
    let result = &tally["result"];
    let veto = result["veto_votes"].as_f64().expect("veto_votes");
    assert!((veto - 0.00001f64.sqrt()).abs() < 1e-9, "{tally}");
    assert_eq!(result["support_votes"].as_f64(), Some(0.0), "{tally}");
    assert_eq!(result["threshold_met"], false, "{tally}");
    assert_eq!(result["veto_blocks"], true, "{tally}");

    let (code, output) = service.terminate();
    assert_eq!(code, Some(0), "{output}");
    // The voter's zap went through the service's own provider: its log names it.
    assert!(
        output.contains("development LNURL provider paid a zap"),
        "{output}"
    );
}
