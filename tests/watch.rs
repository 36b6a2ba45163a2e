//! `commons-nostr watch` against real relays: governance events published while it runs are
//! shown as verified lines (and `--json` objects), once per event with every relay named; a
//! forged and a malformed event are flagged, never shown as good; a relay that drops is
//! reconnected and what is published after it comes back is shown; bad arguments exit 2.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::raw_relay::RawRelay;
use common::relays::{reader, TestRelay};
use commons_nostr::nostr::events;
use commons_nostr::nostr::governance_action::{GovernanceAction, GovernanceActionRequest};
use nostr_sdk::prelude::*;
use serde_json::{json, Value};
use tokio::sync::mpsc;

const BIN: &str = env!("CARGO_BIN_EXE_commons-nostr");
const WAIT: Duration = Duration::from_secs(30);

/// The watch binary, its stdout and stderr lines read on threads as they come.
struct Watcher {
    child: Child,
    stdout: mpsc::UnboundedReceiver<String>,
    stderr: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
    /// Notices read but not yet waited for.
    notices: Vec<String>,
}

impl Watcher {
    fn start(args: &[String]) -> Watcher {
        let mut child = Command::new(BIN)
            .arg("watch")
            .args(["--retry-secs", "1"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let lines = |pipe: Box<dyn Read + Send>| {
            let (tx, rx) = mpsc::unbounded_channel();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            rx
        };
        let stdout = lines(Box::new(child.stdout.take().unwrap()));
        let stderr = lines(Box::new(child.stderr.take().unwrap()));
        Watcher {
            child,
            stdout,
            stderr,
            seen: Vec::new(),
            notices: Vec::new(),
        }
    }

    /// The next stdout line (an event) containing all of `needles`, skipping others.
    async fn line_with(&mut self, needles: &[&str]) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.stdout.recv()).await {
                Ok(Some(line)) => {
                    self.seen.push(line.clone());
                    if needles.iter().all(|n| line.contains(n)) {
                        return line;
                    }
                }
                _ => panic!(
                    "no line with {needles:?} within {WAIT:?}; stdout so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// A stderr line (a connection notice) containing `needle`, not waited for before.
    async fn notice(&mut self, needle: &str) -> String {
        if let Some(i) = self.notices.iter().position(|l| l.contains(needle)) {
            return self.notices.remove(i);
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.stderr.recv()).await {
                Ok(Some(line)) if line.contains(needle) => return line,
                Ok(Some(line)) => self.notices.push(line),
                _ => panic!(
                    "no notice with {needle:?}; stderr so far:\n{}",
                    self.notices.join("\n")
                ),
            }
        }
    }

    /// The next `--json` line whose `id` is `id`.
    async fn json_for(&mut self, id: &EventId) -> Value {
        let line = self.line_with(&[&id.to_hex()]).await;
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// SIGTERM; the exit code and every stdout line printed.
    async fn terminate(mut self) -> (Option<i32>, Vec<String>) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let mut child = self.child;
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .unwrap()
            .unwrap();
        while let Some(line) = self.stdout.recv().await {
            self.seen.push(line);
        }
        (status.code(), self.seen)
    }
}

struct Keyring {
    gov: Keys,
    server: Keys,
}

impl Keyring {
    fn new() -> Keyring {
        Keyring {
            gov: Keys::generate(),
            server: Keys::generate(),
        }
    }

    fn args(&self, relays: &[RelayUrl]) -> Vec<String> {
        let mut args = vec![
            "--server".to_owned(),
            self.server.public_key().to_bech32().unwrap(),
            "--bot".to_owned(),
            format!("gov={}", self.gov.public_key().to_bech32().unwrap()),
        ];
        for r in relays {
            args.extend(["--relay".to_owned(), r.to_string()]);
        }
        args
    }
}

fn review_period(pr: u64) -> GovernanceAction {
    let request: GovernanceActionRequest = serde_json::from_value(json!({
        "action": "review-period", "repository": "btc-commons/governance", "pr": pr,
        "tier": 3, "title": "Raise the weight cap", "voting_window_days": 14
    }))
    .unwrap();
    GovernanceAction::parse(request, Timestamp::now()).unwrap()
}

fn action_event(gov: &Keys, pr: u64) -> Event {
    commons_nostr::nostr::governance_action::governance_action(
        &review_period(pr),
        "commons_mainnet",
        Some("gov@example.org"),
    )
    .sign_with_keys(gov)
    .unwrap()
}

fn tally_content(proposal: &EventId, support: f64, is_final: bool) -> Value {
    json!({
        "result": {"pr_id": 42, "tier": 3, "threshold": 500, "total_votes": support + 2.0,
                   "support_votes": support, "veto_votes": 0, "abstain_votes": 2,
                   "zap_vote_count": 4, "participation_vote_count": 0,
                   "threshold_met": support >= 500.0, "veto_blocks": false},
        "proposal": proposal.to_hex(), "as_of": Timestamp::now().as_secs(), "final": is_final,
        "voters": 4, "late_votes": 0, "receipts_count": 4,
        "receipts_root": format!("sha256:{}", "ab".repeat(32)), "receipts": [],
    })
}

fn tally_event(gov: &Keys, proposal: &EventId, support: f64, is_final: bool) -> Event {
    let address = events::proposal_coordinate(
        &gov.public_key(),
        "action:btc-commons/governance:42:review-period",
    );
    events::vote_tally(
        *proposal,
        &address,
        &tally_content(proposal, support, is_final),
        "Tally of Watch me",
    )
    .unwrap()
    .sign_with_keys(gov)
    .unwrap()
}

async fn publish(relay: &RelayUrl, event: &Event) {
    let client = reader(relay).await;
    client
        .send_event(event)
        .await
        .expect("the relay accepts it");
    client.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_and_a_tally_published_while_it_runs_are_shown_once_from_both_relays() {
    let a = TestRelay::start().await;
    let b = TestRelay::start().await;
    let keys = Keyring::new();
    let mut watcher = Watcher::start(&keys.args(&[a.url(), b.url()]));
    watcher
        .notice(&format!("relay {} connected", a.url()))
        .await;
    watcher
        .notice(&format!("relay {} connected", b.url()))
        .await;

    let action = action_event(&keys.gov, 42);
    publish(&a.url(), &action).await;
    publish(&b.url(), &action).await;
    let line = watcher
        .line_with(&["ACTION", "btc-commons/governance#42"])
        .await;
    assert!(
        line.contains(" gov  review-period btc-commons/governance#42 tier 3 \"Raise the weight cap\", voting "),
        "{line}"
    );
    assert!(line.contains(&action.id.to_hex()[..12]), "{line}");
    assert!(
        line.contains(a.url().as_str()) && line.contains(b.url().as_str()),
        "{line}"
    );
    assert!(!line.starts_with("FORGED") && !line.starts_with("MALFORMED"));

    let tally = tally_event(&keys.gov, &action.id, 612.5, true);
    publish(&a.url(), &tally).await;
    let line = watcher.line_with(&["TALLY"]).await;
    assert!(
        line.contains(&format!(
            "proposal {}…: passes (support 612.5, veto 0, abstain 2, threshold 500), final, 4 receipts",
            &action.id.to_hex()[..12]
        )),
        "{line}"
    );

    let (code, lines) = watcher.terminate().await;
    assert_eq!(code, Some(0));
    let actions = lines.iter().filter(|l| l.contains("ACTION")).count();
    assert_eq!(actions, 1, "shown once: {lines:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_and_a_malformed_event_are_flagged_never_shown_as_good() {
    let hostile = RawRelay::start().await;
    let keys = Keyring::new();
    let mut args = keys.args(&[hostile.url()]);
    args.push("--json".into());
    let mut watcher = Watcher::start(&args);
    watcher.notice("connected").await;

    let action = action_event(&keys.gov, 7);
    hostile.push(&action);
    let good = watcher.json_for(&action.id).await;
    assert_eq!(good["verified"], true, "{good}");
    assert_eq!(good["type"], "action");
    assert_eq!(good["author"], "gov");
    assert_eq!(good["facts"]["pr"], 7);

    // The gov bot's key claimed, the verdict changed after signing.
    let mut forged = tally_event(&keys.gov, &action.id, 10.0, true);
    forged.content = forged
        .content
        .replace("\"threshold_met\":false", "\"threshold_met\":true")
        .replace("\"support_votes\":10.0", "\"support_votes\":1000.0");
    assert!(forged.verify().is_err());
    hostile.push(&forged);
    let flagged = watcher.json_for(&forged.id).await;
    assert_eq!(flagged["verified"], false, "{flagged}");
    assert_eq!(flagged["flag"], "forged");
    assert!(
        flagged["problem"].as_str().unwrap().contains("signature"),
        "{flagged}"
    );
    assert!(flagged.get("facts").is_none(), "{flagged}");

    // Really signed by the gov bot, but not a tally: its content is not JSON.
    let malformed = EventBuilder::new(Kind::from(30078u16), "passes, trust me")
        .tags([
            Tag::identifier(events::d::tally(&action.id)),
            Tag::hashtag("governance-tally"),
            Tag::event(action.id),
        ])
        .sign_with_keys(&keys.gov)
        .unwrap();
    hostile.push(&malformed);
    let flagged = watcher.json_for(&malformed.id).await;
    assert_eq!(flagged["verified"], false, "{flagged}");
    assert_eq!(flagged["flag"], "malformed");
    assert!(
        flagged["problem"].as_str().unwrap().contains("JSON"),
        "{flagged}"
    );

    let (code, lines) = watcher.terminate().await;
    assert_eq!(code, Some(0));
    for line in lines {
        let v: Value = serde_json::from_str(&line).unwrap();
        if v["id"] == forged.id.to_hex() || v["id"] == malformed.id.to_hex() {
            assert_eq!(v["verified"], false, "{line}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn it_reconnects_when_the_relay_drops_and_shows_what_comes_after() {
    let mut relay = TestRelay::start().await;
    let keys = Keyring::new();
    let mut args = keys.args(&[relay.url()]);
    args.push("--json".into());
    let mut watcher = Watcher::start(&args);
    watcher.notice("connected").await;

    let action = action_event(&keys.gov, 9);
    publish(&relay.url(), &action).await;
    assert_eq!(watcher.json_for(&action.id).await["verified"], true);

    relay.kill();
    watcher.notice("down").await;
    relay.restart().await;
    watcher.notice("back, subscription re-sent").await;

    let tally = tally_event(&keys.gov, &action.id, 100.0, false);
    publish(&relay.url(), &tally).await;
    let shown = watcher.json_for(&tally.id).await;
    assert_eq!(shown["verified"], true, "{shown}");
    assert_eq!(shown["type"], "tally");
    assert_eq!(shown["facts"]["verdict"], "below threshold");
    assert_eq!(shown["facts"]["final"], false);
    assert_eq!(shown["relays"], json!([relay.url().as_str()]));

    let (code, lines) = watcher.terminate().await;
    assert_eq!(code, Some(0));
    let action_lines = lines
        .iter()
        .filter(|l| l.contains(&action.id.to_hex()) && l.contains("\"type\":\"action\""))
        .count();
    assert_eq!(
        action_lines, 1,
        "the replay after reconnecting is not shown again: {lines:#?}"
    );
}

#[test]
fn bad_arguments_exit_2_with_a_clear_message() {
    let npub = Keys::generate().public_key().to_bech32().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(BIN).arg("watch").args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--server", &npub]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--relay"), "{err}");
    let (code, err) = run(&["--relay", "https://relay.example"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--relay[0]"), "{err}");
    let (code, err) = run(&["--relay", "ws://127.0.0.1:1", "--server", "npub1nope"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--server"), "{err}");
    let (code, err) = run(&["--relay", "ws://127.0.0.1:1", "--bot", "gov=xyz"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--bot"), "{err}");
}
