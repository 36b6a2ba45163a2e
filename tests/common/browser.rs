//! A real headless Chromium driven through WebDriver (Debian's `chromium` and
//! `chromium-driver`; `CHROMIUM` and `CHROMEDRIVER` override their paths): one chromedriver
//! per [`Browser`] on a free loopback port, one fresh profile directory per session, killed
//! (by its own process id) when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// How long chromedriver may take to answer `/status`.
const DRIVER_START: Duration = Duration::from_secs(20);

pub struct Browser {
    driver: Child,
    url: String,
    profiles: Vec<tempfile::TempDir>,
}

/// How a session is opened.
#[derive(Debug, Clone, Copy)]
pub struct SessionOptions {
    pub javascript: bool,
    pub width: u32,
    pub height: u32,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            javascript: true,
            width: 1280,
            height: 1400,
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Browser {
    /// Starts chromedriver and waits until it answers.
    pub async fn start() -> Browser {
        let driver_path =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = free_port();
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {driver_path} (apt-get install chromium-driver): {e}")
            });
        let url = format!("http://127.0.0.1:{port}");
        let client = awc::Client::default();
        let deadline = tokio::time::Instant::now() + DRIVER_START;
        loop {
            let ready = match client.get(format!("{url}/status")).send().await {
                Ok(mut response) => response
                    .json::<Value>()
                    .await
                    .is_ok_and(|v| v["value"]["ready"] == true),
                Err(_) => false,
            };
            if ready {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not answer on {url} within {DRIVER_START:?}"
            );
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
        Browser {
            driver,
            url,
            profiles: Vec::new(),
        }
    }

    /// A new headless session with a fresh profile.
    pub async fn session(&mut self, options: SessionOptions) -> Client {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let profile = tempfile::tempdir().expect("profile directory");
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--window-size={},{}", options.width, options.height),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        if !options.javascript {
            args.push("--blink-settings=scriptEnabled=false".to_owned());
        }
        let mut chrome = json!({ "binary": chromium, "args": args });
        if options.width < 500 {
            // Chromium's windows are at least 500 px wide: a phone is emulated instead.
            chrome["mobileEmulation"] = json!({ "deviceMetrics": {
                "width": options.width, "height": options.height, "pixelRatio": 2.0 } });
        }
        if !options.javascript {
            chrome["prefs"] = json!({ "profile.managed_default_content_settings.javascript": 2 });
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), chrome);
        self.profiles.push(profile);
        ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a chromium session")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Runs `script` (a function body; `arguments` as WebDriver passes them) and returns its value.
pub async fn eval(client: &Client, script: &str) -> Value {
    client
        .execute(script, Vec::new())
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// Polls `script` every 20 ms until it returns `true`; panics with `what` after `timeout`.
/// Returns how long it took.
pub async fn wait_for_script(
    client: &Client,
    timeout: Duration,
    what: &str,
    script: &str,
) -> Duration {
    let started = tokio::time::Instant::now();
    loop {
        if eval(client, script).await == Value::Bool(true) {
            return started.elapsed();
        }
        if started.elapsed() >= timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
}
