//! `commons-nostr verify` against real relays: what the service published checks out, a later
//! run extends the saved head, and a head with a bad proof, or relays that disagree, fail it.

mod common;

use std::process::Command;
use std::time::Duration;

use common::app::TestConfig;
use common::relays::TestRelay;
use common::test_db::TestDb;
use common::watch::Watch;
use commons_nostr::actors::audit_head::{AppendEntry, CHILD_NAME};
use commons_nostr::actors::supervision::ToChild;
use commons_nostr::nostr::events::{self, AuditHead};
use commons_nostr::startup::Application;
use nostr_sdk::prelude::*;

const BIN: &str = env!("CARGO_BIN_EXE_commons-nostr");
const WAIT: Duration = Duration::from_secs(30);

async fn append(app: &Application, n: usize) {
    for i in 0..n {
        app.handles()
            .audit
            .send(ToChild {
                name: CHILD_NAME.into(),
                msg: AppendEntry {
                    entry_type: "merge".into(),
                    entry: serde_json::json!({"action": "merge", "n": i}),
                },
            })
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

/// Waits until the relay serves an audit head of `entries` entries.
async fn head_with(watch: &mut Watch, entries: u64) -> AuditHead {
    let event = watch
        .next_matching(WAIT, "audit head", |e| {
            events::parse_audit_head(e).is_ok_and(|h| h.head.entries == entries)
        })
        .await;
    events::parse_audit_head(&event).unwrap().head
}

/// Runs the binary on a blocking thread: the relays live on this test's runtime.
async fn run_verify(
    relays: &[&TestRelay],
    cfg: &TestConfig,
    state: &std::path::Path,
) -> (bool, String) {
    let mut cmd = Command::new(BIN);
    cmd.arg("verify")
        .args([
            "--server",
            &cfg.server_keys.public_key().to_bech32().unwrap(),
        ])
        .args(["--state", state.to_str().unwrap()])
        .args(["--timeout", "5"]);
    for r in relays {
        cmd.args(["--relay", r.url().as_str()]);
    }
    for keys in cfg.bot_keys.values() {
        cmd.args(["--bot", &keys.public_key().to_hex()]);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[actix_rt::test]
async fn the_published_record_verifies_and_tampering_is_caught() {
    let db = TestDb::sqlite().await;
    let a = TestRelay::start().await;
    let b = TestRelay::start().await;
    let cfg = TestConfig::new(&db.url, vec![a.url(), b.url()]);
    let server = cfg.server_keys.public_key();
    let mut heads_a = Watch::start(
        &a.url(),
        Filter::new().author(server).kind(Kind::from(30080u16)),
    )
    .await;
    let mut heads_b = Watch::start(
        &b.url(),
        Filter::new().author(server).kind(Kind::from(30080u16)),
    )
    .await;
    let mut health = Watch::start(
        &a.url(),
        Filter::new().author(server).kind(Kind::from(30079u16)),
    )
    .await;
    let app = cfg.start().await;
    health.next(WAIT, "server health").await;
    head_with(&mut heads_a, 0).await;

    append(&app, 3).await;
    head_with(&mut heads_a, 3).await;
    head_with(&mut heads_b, 3).await;

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("verified-head.json");
    let (ok, out) = run_verify(&[&a, &b], &cfg, &state).await;
    assert!(ok, "{out}");
    assert!(out.contains("(3 entries)"), "{out}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(saved["entries"], 3);

    // The log grows; the next run proves the new head extends the saved one.
    append(&app, 2).await;
    let honest = head_with(&mut heads_a, 5).await;
    head_with(&mut heads_b, 5).await;
    let (ok, out) = run_verify(&[&a, &b], &cfg, &state).await;
    assert!(ok, "{out}");
    app.stop().await;

    // Someone holding the server key rewrites history on relay b: same size, another root,
    // and a proof that cannot hold. The verifier says so and exits non-zero.
    let forged = AuditHead {
        head: commons_nostr::audit::merkle::leaf_hash(b"rewritten").to_prefixed(),
        ..honest
    };
    let event = events::audit_head("commons-dev-01", &forged)
        .custom_created_at(Timestamp::now() + 10)
        .sign_with_keys(&cfg.server_keys)
        .unwrap();
    let writer = common::relays::reader(&b.url()).await;
    writer.send_event(&event).await.unwrap();
    writer.shutdown().await;
    head_with(&mut heads_b, 5).await;

    let (ok, out) = run_verify(&[&a, &b], &cfg, &state).await;
    assert!(!ok, "{out}");
    assert!(out.contains("does not verify"), "{out}");
    assert!(out.contains("PROBLEMS"), "{out}");
}

#[test]
fn bad_arguments_exit_2_naming_the_argument() {
    let out = Command::new(BIN)
        .args([
            "verify",
            "--relay",
            "https://x.example",
            "--server",
            "npub1x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--relay[0]"));
}
