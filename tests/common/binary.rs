//! The `commons-nostr` binary run as an operator runs it: in a directory of its own, with only
//! the variables given (plus `PATH`), its output read line by line on threads so neither pipe
//! fills up.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_commons-nostr");

/// A free loopback address (`127.0.0.1:<port>`), for settings that must name a real port.
pub fn free_loopback_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound address").to_string()
}

/// `program` in `dir` with exactly `env` (plus `PATH`), stdin closed, stdout and stderr piped.
pub fn command(program: &str, dir: &Path, env: &[(String, String)]) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// A running child and the lines it printed so far.
pub struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Running {
    pub fn start(mut cmd: Command) -> Running {
        let mut child = cmd.spawn().expect("binary starts");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        for pipe in [
            Box::new(stdout) as Box<dyn Read + Send>,
            Box::new(stderr) as Box<dyn Read + Send>,
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
    pub fn wait_for(&mut self, needle: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
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

    /// [`Running::terminate`] on a blocking thread (see [`super::holders::HolderFiles::start_beside`]).
    pub async fn terminate_beside(self) -> (Option<i32>, String) {
        tokio::task::spawn_blocking(move || self.terminate())
            .await
            .expect("the process stopped")
    }

    /// Sends SIGTERM, waits for the exit, returns the exit code and all output.
    pub fn terminate(mut self) -> (Option<i32>, String) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let exit = self.child.wait().expect("child exits");
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (exit.code(), self.seen.join("\n"))
    }
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Standard output as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// The event id at `key` of the JSON printed.
    pub fn event_id(&self, key: &str) -> nostr_sdk::EventId {
        let json = self.json();
        let hex = json[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key}: {self:?}"));
        nostr_sdk::EventId::from_hex(hex).expect("an event id")
    }
}

/// The binary as an operator or a voter runs it beside an in-process service: the service's
/// settings, its bound HTTP address, a working directory of its own, and any variables added.
pub struct ServiceCli {
    env: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

impl ServiceCli {
    /// The binary, configured for the service `app` started from `cfg`.
    pub fn for_service(
        cfg: &super::app::TestConfig,
        app: &commons_nostr::startup::Application,
    ) -> ServiceCli {
        let mut env: Vec<(String, String)> = cfg.environment().into_iter().collect();
        env.push(("COMMONS__HTTP__BIND".into(), app.http_addr().to_string()));
        ServiceCli {
            env,
            dir: tempfile::tempdir().expect("a working directory"),
        }
    }

    pub fn with(mut self, key: &str, value: &str) -> ServiceCli {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Its working directory (where `data/` would be written).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `action --action review-period` for PR `pr` of `o/r`, tier 1, titled `title`: a proposal
    /// opened through the command line, as a set-up step (the command's own options are tested
    /// in `tests/cli.rs`). Fails the test unless it exits 0.
    pub async fn open_review_period(&self, pr: u32, title: &str) -> Run {
        let pr = pr.to_string();
        let action = self
            .run(&[
                "action",
                "--action",
                "review-period",
                "--repository",
                "o/r",
                "--pr",
                &pr,
                "--tier",
                "1",
                "--title",
                title,
            ])
            .await;
        assert_eq!(action.code, Some(0), "{action:?}");
        action
    }

    /// Runs the binary on a blocking thread, so the in-process service keeps answering.
    pub async fn run(&self, args: &[&str]) -> Run {
        let mut cmd = command(BIN, self.dir.path(), &self.env);
        cmd.args(args);
        let output = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("the blocking task ran")
            .expect("the binary runs");
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}
