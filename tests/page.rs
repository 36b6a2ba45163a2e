//! The public page (DESIGN.md "The public page"), in a real headless Chromium through
//! WebDriver, against the whole service on real in-process relays and a real database
//! (SQLite, and PostgreSQL when `TEST_DATABASE_URL` is set): the list and a proposal show the
//! numbers of the tally JSON; a zap sent while the page is open appears without a reload within
//! 2 s; a zap comment `<img src=x onerror=alert(1)>` shows as text and runs nothing; with
//! JavaScript disabled the proposal, its result and its voters are there; at 375 px there is
//! no horizontal scroll. Without a browser: the CSV equals the tally, every response carries
//! the security headers, unknown and malformed ids, and the NIP-89 handler event.
//!
//! `PAGE_SCREENSHOTS=<dir>` also saves screenshots of the list and a proposal there (what
//! `docs/` holds).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use awc::http::StatusCode;
use common::app::TestConfig;
use common::browser::{eval, wait_for_script, Browser, SessionOptions};
use common::http::{Api, Auth};
use common::nip07::{first_sign_request, inject_signer, sign_first_request};
use common::relays::{fetch_all, TestRelay};
use common::test_db::TestDb;
use common::zaps::{paid_zap, publish, wait_until, zap_config};
use commons_nostr::nostr::zap_provider::{ZapProvider, ZapTarget};
use fantoccini::{Client, Locator};
use nostr_sdk::prelude::*;
use serde_json::{json, Value};

const ARRIVAL: Duration = Duration::from_secs(30);
/// The live-update promise: a zap shows on an open page within this.
const LIVE: Duration = Duration::from_secs(2);
const XSS: &str = "<img src=x onerror=alert(1)>";

/// A running service with one open proposal.
struct Scene {
    relay: TestRelay,
    provider: ZapProvider,
    cfg: TestConfig,
    app: commons_nostr::startup::Application,
    api: Api,
    proposal: EventId,
    base: String,
}

impl Scene {
    async fn start(db_url: &str, title: &str) -> Scene {
        let relay = TestRelay::start().await;
        let provider = ZapProvider::generate();
        let cfg = zap_config(db_url, vec![relay.url()], &provider.public_key())
            .with("COMMONS__GOVERNANCE__TALLY_DEBOUNCE_SECS", "1");
        let app = cfg.start().await;
        let api = Api::new(app.http_addr(), &cfg.admin_token);
        let answer = api
            .post(
                "/v1/actions",
                Auth::Admin,
                &json!({"action": "review-period", "repository": "btc-commons/governance",
                        "pr": 42, "tier": 1, "title": title,
                        "description": "Raise it from 5 % to 6 %.", "voting_window_days": 14}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);
        let proposal = EventId::from_hex(answer.text("event_id")).expect("event id");
        let base = format!("http://{}", app.http_addr());
        Scene {
            relay,
            provider,
            cfg,
            app,
            api,
            proposal,
            base,
        }
    }

    /// Opens another review period; its event id.
    async fn another_proposal(&self, pr: u64, tier: u8, title: &str) -> EventId {
        let answer = self
            .api
            .post(
                "/v1/actions",
                Auth::Admin,
                &json!({"action": "review-period", "repository": "btc-commons/governance",
                        "pr": pr, "tier": tier, "title": title, "voting_window_days": 3}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);
        EventId::from_hex(answer.text("event_id")).expect("event id")
    }

    /// A zap of the proposal by `sender`, paid now, published to the relay.
    async fn zap(&self, sender: &Keys, msat: u64, comment: &str) -> Event {
        self.zap_to(self.proposal, sender, msat, comment).await
    }

    /// A zap of `proposal` by `sender`, paid now, published to the relay.
    async fn zap_to(&self, proposal: EventId, sender: &Keys, msat: u64, comment: &str) -> Event {
        let target = ZapTarget::new(self.cfg.bot("gov"), msat)
            .event(proposal)
            .content(comment);
        let receipt = paid_zap(&self.provider, sender, &target, Timestamp::now());
        publish(&[self.relay.url()], std::slice::from_ref(&receipt)).await;
        receipt
    }

    async fn tally(&self) -> Value {
        let answer = self
            .api
            .get(&format!("/v1/proposals/{}/tally", self.proposal.to_hex()))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
        answer.json
    }

    async fn wait_for_voters(&self, voters: u64) -> Value {
        let mut last = Value::Null;
        let deadline = tokio::time::Instant::now() + ARRIVAL;
        while tokio::time::Instant::now() < deadline {
            last = self.tally().await;
            if last["voters"] == voters {
                return last;
            }
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the tally never had {voters} voters: {last}");
    }

    fn page_url(&self) -> String {
        format!("{}/proposals/{}", self.base, self.proposal.to_hex())
    }

    async fn get_text(&self, path: &str) -> (StatusCode, awc::http::header::HeaderMap, String) {
        let mut response = awc::Client::default()
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("the service answers");
        let body = response.body().limit(64 << 20).await.expect("body");
        (
            response.status(),
            response.headers().clone(),
            String::from_utf8(body.to_vec()).expect("utf-8"),
        )
    }
}

/// The `data-value` of every `[data-field]` inside `scope` (a CSS selector), as a JSON object.
async fn fields(client: &Client, scope: &str) -> Value {
    eval(
        client,
        &format!(
            "var out = {{}}; document.querySelectorAll({scope:?} + ' [data-field]').forEach(function (el) {{ \
               out[el.dataset.field] = el.dataset.value === undefined ? el.textContent : el.dataset.value; }}); return out;"
        ),
    )
    .await
}

fn number(v: &Value) -> f64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The page's numbers equal the tally's, exactly (the page writes full precision in
/// `data-value`).
fn assert_same_numbers(page: &Value, tally: &Value, keys: &[&str]) {
    for key in keys {
        let want = tally["result"]
            .get(*key)
            .or_else(|| tally.get(*key))
            .unwrap_or_else(|| panic!("no {key} in the tally"));
        let want = want.as_f64().unwrap_or_else(|| panic!("{key}: {want}"));
        assert_eq!(
            number(&page[*key]),
            want,
            "{key}: page {page}, tally {tally}"
        );
    }
}

async fn no_horizontal_scroll(client: &Client, url: &str) {
    client.goto(url).await.expect("open");
    let width = eval(client, "return window.innerWidth;").await;
    assert!(
        width.as_u64().is_some_and(|w| w <= 400),
        "a phone-wide window: {width}"
    );
    let fits = eval(
        client,
        "return document.documentElement.scrollWidth <= window.innerWidth && document.body.scrollWidth <= window.innerWidth;",
    )
    .await;
    assert_eq!(
        fits,
        Value::Bool(true),
        "{url} scrolls sideways at {width} px"
    );
}

async fn screenshot(client: &Client, name: &str) {
    let Ok(dir) = std::env::var("PAGE_SCREENSHOTS") else {
        return;
    };
    let png = client.screenshot().await.expect("screenshot");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    std::fs::write(format!("{dir}/{name}.png"), png).expect("write screenshot");
}

#[actix_rt::test]
async fn the_page_shows_the_tally_follows_zaps_live_escapes_comments_and_reads_without_javascript()
{
    for test_db in TestDb::all().await {
        let scene = Scene::start(&test_db.url, "Raise the <b>weight</b> cap").await;
        let (alice, bob, mallory) = (Keys::generate(), Keys::generate(), Keys::generate());
        scene.zap(&alice, 4_000_000, "support, and soon").await;
        scene.zap(&bob, 1_000_000, "VETO").await;
        scene.zap(&mallory, 2_000_000, XSS).await;
        let tally = scene.wait_for_voters(3).await;
        // A second proposal, so the list has two, the one closing sooner first.
        let fees = scene
            .another_proposal(43, 2, "Adopt the v2 fee table")
            .await;
        for (i, text) in ["support", "yes", "veto", "abstain", "approve"]
            .iter()
            .enumerate()
        {
            scene
                .zap_to(fees, &Keys::generate(), 40_000_000 * (i as u64 + 1), text)
                .await;
        }

        let mut browser = Browser::start().await;
        let client = browser.session(SessionOptions::default()).await;

        // The list: the proposal's card has the tally's numbers, its title as text.
        client
            .goto(&format!("{}/", scene.base))
            .await
            .expect("open /");
        let card = format!("article[data-proposal='{}']", scene.proposal.to_hex());
        wait_for_script(
            &client,
            ARRIVAL,
            "the proposal in the list with 3 voters",
            &format!("var c = document.querySelector({card:?}); return !!c && c.querySelector('[data-field=voters]').dataset.value === '3';"),
        )
        .await;
        let on_list = fields(&client, &card).await;
        assert_same_numbers(
            &on_list,
            &tally,
            &["support_votes", "veto_votes", "abstain_votes", "voters"],
        );
        assert_eq!(on_list["state"], "open");
        let title = eval(
            &client,
            &format!("return document.querySelector({card:?} + ' h2').textContent;"),
        )
        .await;
        assert_eq!(title, "Raise the <b>weight</b> cap");
        let order = eval(&client, "return Array.from(document.querySelectorAll('article[data-proposal]')).map(function (a) { return a.dataset.proposal; });").await;
        assert_eq!(
            order,
            json!([fees.to_hex(), scene.proposal.to_hex()]),
            "open proposals, the soonest to close first"
        );
        wait_for_script(&client, ARRIVAL, "the second proposal's 5 voters", &format!("return document.querySelector(\"article[data-proposal='{}'] [data-field=voters]\").dataset.value === '5';", fees.to_hex())).await;
        screenshot(&client, "page-list").await;

        // The proposal: every number of the tally.
        client
            .goto(&scene.page_url())
            .await
            .expect("open the proposal");
        let on_page = fields(&client, "#summary").await;
        assert_same_numbers(
            &on_page,
            &tally,
            &[
                "support_votes",
                "veto_votes",
                "abstain_votes",
                "total_votes",
                "threshold",
                "zap_vote_count",
                "participation_vote_count",
                "voters",
                "receipts_count",
                "late_votes",
            ],
        );
        let root = eval(
            &client,
            "return document.querySelector('[data-field=receipts_root]').textContent;",
        )
        .await;
        assert_eq!(root, tally["receipts_root"]);

        // The comment is text: no element made of it, no alert (an open alert would fail every
        // later WebDriver command).
        let mallory_npub = mallory.public_key().to_bech32().expect("npub");
        let comment = eval(
            &client,
            &format!("return document.querySelector('tr[data-voter={mallory_npub:?}] td.comment').textContent;"),
        )
        .await;
        assert_eq!(comment, XSS);
        let injected = eval(
            &client,
            "return document.querySelectorAll('td.comment *').length;",
        )
        .await;
        assert_eq!(injected, 0);
        assert!(client.get_alert_text().await.is_err(), "an alert is open");

        // Live: a new voter appears without a reload within 2 s of the receipt reaching the relay.
        eval(&client, "window.stillTheSamePage = true; return true;").await;
        let carol = Keys::generate();
        scene.zap(&carol, 9_000_000, "support").await;
        let carol_npub = carol.public_key().to_bech32().expect("npub");
        let took = wait_for_script(
            &client,
            ARRIVAL,
            "the new voter on the open page",
            &format!("return !!document.querySelector('tr[data-voter={carol_npub:?}]');"),
        )
        .await;
        assert!(
            took <= LIVE,
            "the new zap took {took:?} to show (at most {LIVE:?})"
        );
        assert_eq!(
            eval(&client, "return window.stillTheSamePage === true;").await,
            true,
            "the page reloaded"
        );
        let tally = scene.wait_for_voters(4).await;
        wait_for_script(
            &client,
            LIVE,
            "4 voters on the page",
            "return document.querySelector('#summary [data-field=voters]').dataset.value === '4';",
        )
        .await;
        assert_same_numbers(
            &fields(&client, "#summary").await,
            &tally,
            &["support_votes", "veto_votes", "total_votes", "voters"],
        );
        assert!(client.get_alert_text().await.is_err(), "an alert is open");
        screenshot(&client, "page-proposal").await;
        if std::env::var("PAGE_SCREENSHOTS").is_ok() {
            eval(
                &client,
                "document.getElementById('voters').scrollIntoView(); return true;",
            )
            .await;
            screenshot(&client, "page-voters").await;
        }
        client.close().await.expect("close");

        // Without JavaScript: the proposal, its result and its voters are in the HTML.
        let no_js = browser
            .session(SessionOptions {
                javascript: false,
                ..SessionOptions::default()
            })
            .await;
        no_js
            .goto(&scene.page_url())
            .await
            .expect("open without js");
        let html_class = no_js
            .find(Locator::Css("html"))
            .await
            .expect("html")
            .attr("data-js")
            .await
            .expect("attr");
        assert_eq!(
            html_class, None,
            "the page script ran with JavaScript disabled"
        );
        let support = no_js
            .find(Locator::Css("#summary [data-field=support_votes]"))
            .await
            .expect("support")
            .attr("data-value")
            .await
            .expect("attr");
        assert_eq!(
            support.as_deref().map(|s| s.parse::<f64>().expect("f64")),
            tally["result"]["support_votes"].as_f64()
        );
        let rows = no_js
            .find_all(Locator::Css("tr[data-voter]"))
            .await
            .expect("rows");
        assert_eq!(rows.len(), 4);
        let title = no_js
            .find(Locator::Css("h1"))
            .await
            .expect("h1")
            .text()
            .await
            .expect("text");
        assert_eq!(title, "Raise the <b>weight</b> cap");
        no_js.close().await.expect("close");

        // A phone: 375 px wide, no horizontal scroll on the list or the proposal.
        let phone = browser
            .session(SessionOptions {
                width: 375,
                height: 800,
                ..SessionOptions::default()
            })
            .await;
        no_horizontal_scroll(&phone, &format!("{}/", scene.base)).await;
        no_horizontal_scroll(&phone, &scene.page_url()).await;
        screenshot(&phone, "page-phone").await;
        phone.close().await.expect("close");

        drop(browser);
        scene.app.stop().await;
    }
}

#[actix_rt::test]
async fn the_csv_equals_the_tally_and_every_response_has_the_security_headers() {
    for test_db in TestDb::all().await {
        let scene = Scene::start(&test_db.url, "CSV").await;
        let voters: Vec<Keys> = (0..5).map(|_| Keys::generate()).collect();
        let texts = ["support", "veto", "abstain", "", "yes"];
        for (i, (keys, text)) in voters.iter().zip(texts).enumerate() {
            scene.zap(keys, 1_000_000 * (i as u64 + 1), text).await;
        }
        // One voter zaps twice: one row, two receipts.
        scene.zap(&voters[0], 3_000_000, "support again").await;
        let tally = loop {
            let tally = scene.wait_for_voters(5).await;
            if tally["receipts_count"] == 6 {
                break tally;
            }
        };
        let id = scene.proposal.to_hex();
        let csv_path = format!("/proposals/{id}/votes.csv");
        let deadline = tokio::time::Instant::now() + ARRIVAL;
        let csv = loop {
            let (status, _, body) = scene.get_text(&csv_path).await;
            let listed = body
                .split([',', ' ', '\n', '\r'])
                .filter(|w| w.len() == 64)
                .count();
            if status == StatusCode::OK && listed == 6 {
                break body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the CSV never listed 6 receipts: {body}"
            );
            actix_rt::time::sleep(Duration::from_millis(50)).await;
        };
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("npub,type,vote,amount_msat,weight,first_zap,last_zap,receipts")
        );
        let (mut support, mut veto, mut abstain) = (0.0, 0.0, 0.0);
        let mut receipts = BTreeSet::new();
        let mut senders = BTreeSet::new();
        let (mut zap_votes, mut participation_votes) = (0, 0);
        for line in lines {
            let cols: Vec<&str> = line.split(',').collect();
            assert_eq!(cols.len(), 8, "{line}");
            assert!(senders.insert(PublicKey::parse(cols[0]).expect("npub")));
            let weight: f64 = cols[4].parse().expect("weight");
            match cols[1] {
                "support" => support += weight,
                "veto" => veto += weight,
                "abstain" => abstain += weight,
                other => panic!("type {other}"),
            }
            match cols[2] {
                "zap" => zap_votes += 1,
                "participation" => participation_votes += 1,
                other => panic!("vote {other}"),
            }
            receipts.extend(cols[7].split(' ').map(str::to_owned));
        }
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12);
        let result = &tally["result"];
        assert!(
            close(support, result["support_votes"].as_f64().expect("support")),
            "{support} vs {result}"
        );
        assert!(close(veto, result["veto_votes"].as_f64().expect("veto")));
        assert!(close(
            abstain,
            result["abstain_votes"].as_f64().expect("abstain")
        ));
        assert_eq!(zap_votes, result["zap_vote_count"].as_u64().expect("zap"));
        assert_eq!(
            participation_votes,
            result["participation_vote_count"]
                .as_u64()
                .expect("participation")
        );
        assert_eq!(
            senders.len() as u64,
            tally["voters"].as_u64().expect("voters")
        );
        let counted: BTreeSet<String> = scene
            .api
            .get(&format!("/v1/proposals/{id}/receipts"))
            .await
            .json["receipts"]
            .as_array()
            .expect("receipts")
            .iter()
            .map(|r| r.as_str().expect("id").to_owned())
            .collect();
        assert_eq!(receipts, counted);

        // Security headers on pages, assets, the CSV and the API; no inline script anywhere.
        for path in [
            "/",
            &format!("/proposals/{id}"),
            &csv_path,
            "/assets/page.js",
            "/v1/proposals",
            "/healthz",
        ] {
            let (_, headers, body) = scene.get_text(path).await;
            let csp = headers
                .get("content-security-policy")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("{path}: no Content-Security-Policy"));
            assert!(
                csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
                "{csp}"
            );
            assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
            assert_eq!(
                headers.get("x-content-type-options").map(|v| v.as_bytes()),
                Some(&b"nosniff"[..]),
                "{path}"
            );
            if path == "/" || path.starts_with("/proposals/") && !path.ends_with(".csv") {
                for script in body.split("<script").skip(1) {
                    let tag = &script[..script.find('>').expect("tag end")];
                    assert!(
                        tag.contains(" src="),
                        "{path}: an inline script: <script{tag}>"
                    );
                    assert!(script[script.find('>').expect("end") + 1..].starts_with("</script>"));
                }
                assert!(!body.contains(" style="), "{path}: an inline style");
                assert!(
                    !body.contains("://cdn") && !body.contains("https://fonts."),
                    "{path}: an outside asset"
                );
            }
        }

        // Unknown and malformed ids.
        let (status, _, body) = scene
            .get_text(&format!("/proposals/{}", "ab".repeat(32)))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("No proposal with this id"));
        let (status, _, _) = scene.get_text("/proposals/not-an-id").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _, _) = scene.get_text("/proposals/not-an-id/votes.csv").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        scene.app.stop().await;
    }
}

#[actix_rt::test]
async fn with_a_public_url_the_gov_bot_publishes_a_nip89_handler_for_the_page() {
    let test_db = TestDb::sqlite().await;
    let relay = TestRelay::start().await;
    let cfg = TestConfig::new(&test_db.url, vec![relay.url()])
        .with("COMMONS__HTTP__PUBLIC_URL", "https://vote.example.org/");
    let gov = cfg.bot("gov");
    let app = cfg.start().await;
    let filter = Filter::new().kind(Kind::Custom(31990)).author(gov);
    wait_until(ARRIVAL, "the handler event on the relay", || async {
        !fetch_all(&relay.url(), filter.clone()).await.is_empty()
    })
    .await;
    let event = fetch_all(&relay.url(), filter).await.remove(0);
    event.verify().expect("signed");
    let tags: Vec<Vec<String>> = event.tags.iter().map(|t| t.as_slice().to_vec()).collect();
    let has = |tag: &[&str]| tags.iter().any(|t| t == tag);
    assert!(has(&["k", "30078"]) && has(&["k", "6969"]), "{tags:?}");
    let web = "https://vote.example.org/proposals/<bech32>";
    assert!(
        has(&["web", web, "naddr"]) && has(&["web", web, "nevent"]) && has(&["web", web]),
        "{tags:?}"
    );
    app.stop().await;

    // Without it, none.
    let quiet_db = TestDb::sqlite().await;
    let quiet_relay = TestRelay::start().await;
    let cfg = TestConfig::new(&quiet_db.url, vec![quiet_relay.url()]);
    let quiet_gov = cfg.bot("gov");
    let app = cfg.start().await;
    // The gov bot's profile is published at start: once it is there, so would the handler be.
    wait_until(ARRIVAL, "the gov bot's profile", || async {
        !fetch_all(
            &quiet_relay.url(),
            Filter::new().kind(Kind::Metadata).author(quiet_gov),
        )
        .await
        .is_empty()
    })
    .await;
    assert!(
        fetch_all(&quiet_relay.url(), Filter::new().kind(Kind::Custom(31990)))
            .await
            .is_empty()
    );
    app.stop().await;
}

#[actix_rt::test]
async fn a_nip07_signer_votes_through_the_panel_and_the_development_provider() {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        let cfg = TestConfig::new(&test_db.url, vec![relay.url()])
            .with_dev_provider()
            .with("COMMONS__GOVERNANCE__TALLY_DEBOUNCE_SECS", "1");
        let gov = cfg.bot("gov");
        let app = cfg.start().await;
        let api = Api::new(app.http_addr(), &cfg.admin_token);
        let answer = api
            .post(
                "/v1/actions",
                Auth::Admin,
                &json!({"action": "review-period", "repository": "btc-commons/governance",
                        "pr": 7, "tier": 1, "title": "Vote from the page", "voting_window_days": 7}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);
        let proposal = answer.text("event_id").to_owned();
        let address = answer.text("address").to_owned();
        let page = format!("http://{}/proposals/{proposal}", app.http_addr());

        let mut browser = Browser::start().await;
        let client = browser.session(SessionOptions::default()).await;
        client.goto(&page).await.expect("open the proposal");
        // Without a signer the panel says how to vote from a client, and shows no form.
        let hint = eval(&client, "return !document.querySelector('#vote .no-signer').hidden && document.querySelector('#vote form.signer').hidden;").await;
        assert_eq!(hint, true);

        let voter = Keys::generate();
        inject_signer(&client, &voter.public_key()).await;
        wait_for_script(&client, ARRIVAL, "the vote form for a browser with a signer",
            "return !document.querySelector('#vote form.signer').hidden && document.querySelector('#vote .no-signer').hidden;").await;
        eval(
            &client,
            "document.querySelector('#vote input[value=veto]').checked = true; \
             document.querySelector('#vote input[name=sats]').value = '2100'; \
             document.querySelector('#vote button[type=submit]').click(); return true;",
        )
        .await;
        let unsigned = first_sign_request(&client, ARRIVAL).await;
        let tags = unsigned["tags"].as_array().expect("tags");
        let has = |tag: Value| tags.contains(&tag);
        assert!(has(json!(["p", gov.to_hex()])), "{unsigned}");
        // With a zap poll the choice is its `poll_option` on the poll (veto is option 1); the
        // proposal's address names the proposal either way.
        let poll = eval(
            &client,
            "return document.getElementById('vote').dataset.poll || null;",
        )
        .await;
        match poll.as_str() {
            Some(poll) => {
                assert!(has(json!(["e", poll])), "{unsigned}");
                assert!(has(json!(["poll_option", "1"])), "{unsigned}");
                assert!(has(json!(["k", "6969"])), "{unsigned}");
            }
            None => {
                assert!(has(json!(["e", proposal])), "{unsigned}");
                assert!(has(json!(["k", "30078"])), "{unsigned}");
            }
        }
        assert!(has(json!(["a", address])), "{unsigned}");
        assert!(has(json!(["amount", "2100000"])), "{unsigned}");
        assert!(
            tags.iter()
                .any(|t| t[0] == "relays" && t[1] == relay.url().to_string()),
            "{unsigned}"
        );
        assert_eq!(unsigned["content"], "veto");
        sign_first_request(&client, &voter, &unsigned).await;

        // The invoice from the development provider: a QR code drawn by the server and a link.
        wait_for_script(&client, ARRIVAL, "the invoice",
            "var i = document.querySelector('#vote .invoice'); return !i.hidden && i.querySelector('.bolt11').textContent.indexOf('ln') === 0;").await;
        let bolt11 = eval(
            &client,
            "return document.querySelector('#vote .bolt11').textContent;",
        )
        .await;
        let bolt11 = bolt11.as_str().expect("bolt11").to_owned();
        let invoice: lightning_invoice::Bolt11Invoice = bolt11.parse().expect("a BOLT11 invoice");
        assert_eq!(invoice.amount_milli_satoshis(), Some(2_100_000));
        let link = eval(
            &client,
            "return document.querySelector('#vote a.pay').getAttribute('href');",
        )
        .await;
        assert_eq!(link, format!("lightning:{bolt11}"));
        wait_for_script(&client, ARRIVAL, "the QR code drawn",
            "var q = document.querySelector('#vote img.qr'); return q.complete && q.naturalWidth > 0;").await;

        // The development provider pays at once: the receipt reaches the relay, the tracker
        // counts it, and the new voter shows on the open page (veto, 2,100 sats).
        let npub = voter.public_key().to_bech32().expect("npub");
        wait_for_script(&client, ARRIVAL, "the new voter on the page",
            &format!("var r = document.querySelector('tr[data-voter={npub:?}]'); return !!r && r.querySelector('.vote').textContent === 'veto';")).await;
        let amount = eval(
            &client,
            &format!(
                "return document.querySelector('tr[data-voter={npub:?}] td.num').dataset.value;"
            ),
        )
        .await;
        assert_eq!(amount, "2100000");
        let tally = api
            .get(&format!("/v1/proposals/{proposal}/tally"))
            .await
            .json;
        assert_eq!(tally["voters"], 1, "{tally}");
        assert!(tally["result"]["veto_votes"].as_f64().expect("veto") > 0.0);
        assert!(client.get_alert_text().await.is_err(), "an alert is open");
        client.close().await.expect("close");
        drop(browser);
        app.stop().await;
    }
}
