//! The `commons-nostr` binary as an operator runs it: start-up on the embedded defaults in an
//! empty directory, development keys, a clean exit on SIGTERM, secrets kept out of the logs,
//! `keygen`, `migrate`, and bad settings stopping start-up with the key named.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use nostr_sdk::prelude::*;

const BIN: &str = env!("CARGO_BIN_EXE_commons-nostr");

/// The binary in `dir`, with only the variables given (plus PATH), on free loopback ports.
fn service(dir: &Path, env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("COMMONS__HTTP__BIND", "127.0.0.1:0")
        .env("COMMONS__NOSTR__EMBEDDED_RELAY__BIND", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Output lines of a running child, read on threads so neither pipe fills up.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        let mut child = cmd.spawn().expect("binary starts");
        let (tx, rx) = mpsc::channel();
        for pipe in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        Running {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits for a line containing `needle` (the service announces each step).
    fn wait_for(&mut self, needle: &str) -> String {
        self.wait_for_within(needle, Duration::from_secs(60))
    }

    /// [`Running::wait_for`], with at most `quiet` between two lines (for a step that takes
    /// longer than a minute, like a vote's close).
    fn wait_for_within(&mut self, needle: &str, quiet: Duration) -> String {
        loop {
            match self.lines.recv_timeout(quiet) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {needle:?}; output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Sends SIGTERM, waits for the exit, returns the exit code and all output.
    fn terminate(mut self) -> (Option<i32>, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let exit = self.child.wait().expect("child exits");
        // The pipes close at exit: collect the rest.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (exit.code(), self.seen.join("\n"))
    }
}

fn npubs_in(output: &str) -> Vec<PublicKey> {
    output
        .split_whitespace()
        .filter(|w| w.starts_with("npub1"))
        .filter_map(|w| PublicKey::parse(w).ok())
        .collect()
}

#[test]
fn runs_on_embedded_defaults_with_generated_keys_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = Running::start(service(dir.path(), &[]));
    run.wait_for("listening on http://127.0.0.1:");
    // The main job on the defaults alone (`lnurl.demo_vote`), the whole cycle in about a
    // minute: a review period with a 60 s window; its announcement zapped 2,000 sats with a
    // sealed ballot for veto and 1,000 sats with "support" through the development provider;
    // the tally counts both, the sealed one's weight sqrt(0.00002 BTC) as sealed; at the close
    // the gov bot's ballot secret (matching the pinned key) and the final tally, opened.
    let opened = run.wait_for("demo  opened a review period");
    assert!(opened.contains("with a 60 s window"), "{opened}");
    let sealed = run.wait_for("with a sealed ballot for \"veto\"");
    assert!(sealed.contains("ballot1"), "{sealed}");
    let counted = run.wait_for("counted as votes before the close");
    assert!(
        counted.contains("2 voter(s), support 0.00316228, veto 0.00000000")
            && counted.contains("sealed 0.00447214"),
        "{counted}"
    );
    let revealed = run.wait_for_within("published its ballot secret", Duration::from_secs(90));
    assert!(
        revealed.contains("matches the key the proposal pinned"),
        "{revealed}"
    );
    let final_tally = run.wait_for("the final tally opened the sealed ballot");
    assert!(
        final_tally.contains("veto 0.00447214") && final_tally.contains("(0 invalid)"),
        "{final_tally}"
    );
    let page = run.wait_for("see it at http://127.0.0.1:");
    let proposal = page.split("commons-nostr tally ").nth(1).unwrap().trim();
    assert!(EventId::from_hex(proposal).is_ok(), "{page}");
    let (code, output) = run.terminate();
    assert_eq!(code, Some(0), "{output}");

    // Development keys for the server, the four bots and the development LNURL provider,
    // private to the owner.
    let keys_dir = dir.path().join("data/keys");
    for name in ["server", "gov", "dev", "research", "network", "zapper"] {
        let path = keys_dir.join(format!("{name}.nsec"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
    assert!(dir.path().join("data/commons.db").exists());
    // The printed npubs are the generated keys' public keys (the demonstration's throwaway
    // voter aside).
    let printed = npubs_in(
        &output
            .lines()
            .filter(|l| !l.trim_start().starts_with("demo "))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let gov = std::fs::read_to_string(keys_dir.join("gov.nsec")).unwrap();
    let gov = Keys::parse(gov.trim()).unwrap().public_key();
    assert!(printed.contains(&gov), "{output}");
    assert_eq!(printed.len(), 6, "{output}");
    // The bots' lightning addresses are served by the service itself: nothing to resolve, so
    // no warning or error about an address or an LNURL provider.
    assert!(!output.contains("LNURL provider key"), "{output}");
    let about_addresses: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .filter(|l| !l.contains("generated a development key"))
        .filter(|l| {
            let l = l.to_lowercase();
            l.contains("lnurl") || l.contains("lightning") || l.contains("resolve")
        })
        .collect();
    assert!(about_addresses.is_empty(), "{about_addresses:?}");

    // A second start reuses the keys instead of generating new ones.
    // The demonstration is made once per database.
    let mut again = Running::start(service(dir.path(), &[]));
    again.wait_for("listening on");
    again.wait_for("was made on an earlier start");
    let (code, output) = again.terminate();
    assert_eq!(code, Some(0));
    assert!(npubs_in(&output).contains(&gov));
    assert!(!output.contains("generated a development key"), "{output}");
}

#[test]
fn secrets_never_reach_the_logs_even_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let server = Keys::generate();
    let gov = Keys::generate();
    let server_hex = server.secret_key().to_secret_hex();
    let gov_nsec = gov.secret_key().to_bech32().unwrap();
    let gov_hex = gov.secret_key().to_secret_hex();
    let token = "a-very-secret-admin-token-0123456789";
    let mut run = Running::start(service(
        dir.path(),
        &[
            ("RUST_LOG", "trace"),
            ("COMMONS__SERVER__NSEC_PATH", "env:SERVER_NSEC"),
            ("SERVER_NSEC", &server_hex),
            ("COMMONS__NOSTR__BOTS__GOV__NSEC_PATH", "env:GOV_BOT_NSEC"),
            ("GOV_BOT_NSEC", &gov_nsec),
            ("COMMONS__HTTP__ADMIN_TOKEN", "env:COMMONS_ADMIN_TOKEN"),
            ("COMMONS_ADMIN_TOKEN", token),
        ],
    ));
    run.wait_for("listening on");
    let (code, output) = run.terminate();
    assert_eq!(code, Some(0));
    assert!(
        output.lines().count() > 20,
        "trace logging produced too little to be a real check"
    );
    for secret in [
        server_hex.as_str(),
        gov_nsec.as_str(),
        gov_hex.as_str(),
        token,
    ] {
        assert!(!output.contains(secret), "a secret appeared in the output");
    }
    // The public side is there, so the check is not vacuous.
    assert!(output.contains(&gov.public_key().to_bech32().unwrap()));
}

#[test]
fn bad_settings_stop_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("COMMONS__NOSTR__BOTS__GOV__NSEC_PATH", "env:GOV_BOT_NSEC")],
            "nostr.bots.gov.nsec_path: environment variable GOV_BOT_NSEC is not set",
        ),
        (
            &[(
                "COMMONS__NOSTR__RELAYS",
                "wss://ok.example.org,https://not-a-relay.example.org",
            )],
            "nostr.relays[1]: not a ws:// or wss:// URL",
        ),
        (
            &[(
                "COMMONS__NOSTR__BOTS__GOV__NPUB",
                "npub1sn0wdenkukak0d9dfczzeacvhkrgz92ak56egt7vdgzn8pv2wfqqhrjdv9",
            )],
            "nostr.bots.gov.npub: does not match the key",
        ),
        (
            &[("COMMONS__NOSTR__PUBLISH_INTERVAL_SECS", "0")],
            "nostr.publish_interval_secs",
        ),
        (
            &[("COMMONS__HTTP__BIND", "0.0.0.0:0")],
            "lnurl.dev_provider: the development LNURL provider serves loopback only, but http.bind is 0.0.0.0:0",
        ),
    ];
    for (env, expected) in cases {
        let out = service(dir.path(), env).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{env:?}: expected {expected:?} in:\n{stderr}"
        );
    }
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("server.nsec");
    std::fs::write(&key, Keys::generate().secret_key().to_secret_hex()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = service(
        dir.path(),
        &[("COMMONS__SERVER__NSEC_PATH", key.to_str().unwrap())],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("server.nsec_path:"), "{stderr}");
    assert!(stderr.contains("readable by others"), "{stderr}");
}

#[test]
fn keygen_writes_a_0600_key_matching_the_printed_npub_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let out = service(dir.path(), &[])
        .args(["keygen", "gov"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let npub = PublicKey::parse(printed.trim()).expect("keygen prints an npub");
    let path = dir.path().join("data/keys/gov.nsec");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(Keys::parse(written.trim()).unwrap().public_key(), npub);
    assert!(
        !printed.contains("nsec"),
        "keygen must print only the public key"
    );

    let again = service(dir.path(), &[])
        .args(["keygen", "gov"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);

    let custom = dir.path().join("elsewhere/new.nsec");
    let out = service(dir.path(), &[])
        .args(["keygen", "research", "--out", custom.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(custom.exists());
}

#[test]
fn migrate_creates_the_schema_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = service(dir.path(), &[]).arg("migrate").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("migrations applied"));
    }
    assert!(dir.path().join("data/commons.db").exists());
}

#[test]
fn json_logging_writes_one_json_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = Running::start(service(dir.path(), &[("COMMONS__LOGGING__FORMAT", "json")]));
    run.wait_for("listening on");
    let (code, output) = run.terminate();
    assert_eq!(code, Some(0));
    let logs: Vec<serde_json::Value> = output
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("a log line is JSON"))
        .collect();
    assert!(logs.len() >= 3, "{output}");
    assert!(logs
        .iter()
        .all(|l| l.get("level").is_some() && l.get("timestamp").is_some()));
    assert!(logs
        .iter()
        .any(|l| l.get("message").and_then(|m| m.as_str()) == Some("service started")));
}

#[test]
fn the_development_provider_serves_on_an_ipv6_loopback_bind() {
    // Machines without IPv6 on loopback cannot run this: say so rather than fail.
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("no IPv6 loopback here: nothing to test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut run = Running::start(service(dir.path(), &[("COMMONS__HTTP__BIND", "[::1]:0")]));
    // The bots' addresses name the bracketed literal, and the whole loop (LUD-16 lookup over
    // http on loopback, invoice, receipt, tally) runs through it: the demonstration vote.
    let served = run.wait_for("gov  zaps to gov@[::1]:");
    assert!(
        served.contains("(the development LNURL provider)"),
        "{served}"
    );
    let counted = run.wait_for("counted as votes before the close");
    assert!(counted.contains("2 voter(s)"), "{counted}");
    let (code, output) = run.terminate();
    assert_eq!(code, Some(0), "{output}");
}
