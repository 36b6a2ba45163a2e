//! Sealed ballots on the public page (DESIGN.md "The public page", "Sealed ballots"), in a real
//! headless Chromium through WebDriver against the whole service on a real relay and database:
//!
//! - the page's own script (`ballot.js`, WebCrypto only) passes RFC 9180's published test
//!   vectors for the suite (A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base
//!   mode: DeriveKeyPair, the key schedule, the first encryption with the fixed ephemeral key)
//!   and BIP-173's bech32;
//! - "Vote secretly" makes a token for the proposal and an npub (typed in, or the NIP-07
//!   signer's) that opens in Rust (`open_ballot`) to the type chosen, and while it is made no
//!   byte leaves the browser for the server (the page is served through a counting proxy) nor
//!   any request at all (the Resource Timing log), and the Content-Security-Policy lets the page
//!   connect nowhere but the server and the bot's LNURL provider;
//! - the vote panel seals the choice: the zap request it asks to sign zaps the proposal (not
//!   the zap poll, whose option would outrank the token) with a token as its content, and the
//!   voter's row says "sealed until <end>" while the result shows the sealed weight;
//! - with a 60 s window, a sealed voter's row shows the opened type after the close, each pinned
//!   key shows as revealed, and the tally is opened.

mod common;

use std::time::Duration;

use awc::http::StatusCode;
use common::app::TestConfig;
use common::browser::{eval, wait_for_script, Browser, SessionOptions};
use common::http::{Api, Auth};
use common::nip07::{first_sign_request, inject_signer, sign_first_request};
use common::relays::TestRelay;
use common::tcp_proxy::TcpProxy;
use common::test_db::TestDb;
use fantoccini::Client;
use nostr_sdk::prelude::*;
use serde_json::{json, Value};

const ARRIVAL: Duration = Duration::from_secs(30);

/// RFC 9180 Appendix A.1.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, mode_base),
/// as published, and its sequence-number-0 encryption.
mod a11 {
    pub const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
    pub const IKM_E: &str = "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234";
    pub const PK_EM: &str = "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431";
    pub const SK_EM: &str = "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736";
    pub const IKM_R: &str = "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037";
    pub const PK_RM: &str = "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d";
    pub const SK_RM: &str = "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8";
    pub const ENC: &str = "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431";
    pub const SHARED_SECRET: &str =
        "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc";
    pub const KEY_SCHEDULE_CONTEXT: &str = "00725611c9d98c07c03f60095cd32d400d8347d45ed67097bbad50fc56da742d07cb6cffde367bb0565ba28bb02c90744a20f5ef37f30523526106f637abb05449";
    pub const SECRET: &str = "12fff91991e93b48de37e7daddb52981084bd8aa64289c3788471d9a9712f397";
    pub const KEY: &str = "4531685d41d65f03dc48f6b8302c05b0";
    pub const BASE_NONCE: &str = "56d890e5accaaf011cff4b7d";
    pub const EXPORTER_SECRET: &str =
        "45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8";
    pub const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";
    pub const AAD_0: &str = "436f756e742d30";
    pub const CT_0: &str = "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a";
}

/// Runs `body` (a function body returning a value or a promise; `args` are its arguments, `B`
/// the ballot script) as an async WebDriver script; a rejected promise comes back as
/// `{"error": ...}`.
async fn run_async(client: &Client, body: &str, args: Vec<Value>) -> Value {
    let script = format!(
        "var args = arguments, done = args[args.length - 1], B = window.commonsBallot; \
         Promise.resolve().then(function () {{ {body} }}).then(done, function (e) {{ done({{ error: String(e) }}); }});"
    );
    client
        .execute_async(&script, args)
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

async fn wait_for_ballot_script(client: &Client) {
    wait_for_script(
        client,
        ARRIVAL,
        "the ballot script",
        "return !!window.commonsBallot;",
    )
    .await;
}

#[actix_rt::test]
async fn the_page_script_passes_rfc9180_a11_and_bip173() {
    let test_db = TestDb::sqlite().await;
    let relay = TestRelay::start().await;
    let cfg = TestConfig::new(&test_db.url, vec![relay.url()]);
    let app = cfg.start().await;
    let mut browser = Browser::start().await;
    let client = browser.session(SessionOptions::default()).await;
    client
        .goto(&format!("http://{}/", app.http_addr()))
        .await
        .expect("open /");
    wait_for_ballot_script(&client).await;
    assert_eq!(
        run_async(&client, "return B.supported();", vec![]).await,
        true,
        "this Chromium's WebCrypto has no X25519"
    );

    // DeriveKeyPair of both ikm.
    let pairs = run_async(
        &client,
        "return Promise.all([B.hpke.deriveKeyPair(args[0]), B.hpke.deriveKeyPair(args[1])]);",
        vec![json!(a11::IKM_E), json!(a11::IKM_R)],
    )
    .await;
    assert_eq!(
        pairs,
        json!([{"sk": a11::SK_EM, "pk": a11::PK_EM}, {"sk": a11::SK_RM, "pk": a11::PK_RM}]),
        "DeriveKeyPair"
    );

    // Encap with the fixed ephemeral key, the key schedule and the first encryption.
    let sealed = run_async(
        &client,
        "return B.hpke.sealBase(args[0], args[1], args[2], args[3], args[4]);",
        vec![
            json!(a11::PK_RM),
            json!(a11::INFO),
            json!(a11::AAD_0),
            json!(a11::PT),
            json!(a11::SK_EM),
        ],
    )
    .await;
    assert_eq!(
        sealed,
        json!({
            "enc": a11::ENC,
            "sharedSecret": a11::SHARED_SECRET,
            "keyScheduleContext": a11::KEY_SCHEDULE_CONTEXT,
            "secret": a11::SECRET,
            "key": a11::KEY,
            "baseNonce": a11::BASE_NONCE,
            "exporterSecret": a11::EXPORTER_SECRET,
            "ct": a11::CT_0,
        }),
        "SealBase"
    );

    // bech32: BIP-173's valid strings decode (any case, one at a time), a changed character
    // or a mixed case does not, and an npub made in Rust decodes to its key and back.
    let voter = Keys::generate().public_key();
    let bech32 = run_async(
        &client,
        "var out = {}; \
         ['A12UEL5L', 'a12uel5l', 'abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw', \
          'split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w'].forEach(function (s) { \
            out[s] = B.bech32.decode(s).hrp; }); \
         ['A12UEL5M', 'a12UEL5L', 'split1checkupstagehandshakeupstreamerranterredcaperred2y9e2w'].forEach(function (s) { \
            try { B.bech32.decode(s); out[s] = 'decoded'; } catch (e) { out[s] = 'refused'; } }); \
         out.npub = B.voterKey(args[0]); \
         out.back = B.bech32.encode('npub', out.npub); \
         return out;",
        vec![json!(voter.to_bech32().expect("npub"))],
    )
    .await;
    assert_eq!(bech32["A12UEL5L"], "a");
    assert_eq!(bech32["a12uel5l"], "a");
    assert_eq!(
        bech32["abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw"],
        "abcdef"
    );
    assert_eq!(
        bech32["split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w"],
        "split"
    );
    for bad in [
        "A12UEL5M",
        "a12UEL5L",
        "split1checkupstagehandshakeupstreamerranterredcaperred2y9e2w",
    ] {
        assert_eq!(bech32[bad], "refused", "{bad}");
    }
    assert_eq!(bech32["npub"], voter.to_hex(), "the npub's key");
    assert_eq!(
        bech32["back"],
        voter.to_bech32().expect("npub"),
        "npub round trip"
    );

    client.close().await.expect("close");
    drop(browser);
    app.stop().await;
}

/// Makes a token with the "Vote secretly" form for `voter` (typed in) and `choice`, and checks
/// that nothing carrying it left the browser meanwhile: the page's live refresh may fetch the
/// page itself again at any moment (a tally published after the page loaded), with the static
/// assets its fresh parts show (`/assets/...`), and its live stream may reconnect, so those GETs
/// are allowed; any other request, a body, or the token in what was sent fails the test.
async fn make_token(client: &Client, proxy: &TcpProxy, voter: &str, choice: &str) -> String {
    let resources = eval(
        client,
        "return performance.getEntriesByType('resource').length;",
    )
    .await
    .as_u64()
    .expect("a count");
    let page_path = eval(client, "return location.pathname;").await;
    let page_path = page_path.as_str().expect("a path").to_owned();
    let refresh = |path: &str| path == page_path || path == "/live" || path.starts_with("/assets/");
    let before = proxy.bytes_from_clients();
    client
        .execute(
            "var f = document.querySelector('#sealed form.ballot'); \
             f.elements.voter.value = arguments[0]; \
             f.querySelector('input[value=' + arguments[1] + ']').checked = true; \
             f.querySelector('.token').hidden = true; \
             f.querySelector('button[type=submit]').click(); return true;",
            vec![json!(voter), json!(choice)],
        )
        .await
        .expect("fill the form");
    wait_for_script(
        client,
        ARRIVAL,
        "the sealed ballot",
        "return !document.querySelector('#sealed .token').hidden;",
    )
    .await;
    let token = eval(
        client,
        "return document.querySelector('#sealed .token code').textContent;",
    )
    .await
    .as_str()
    .expect("a token")
    .to_owned();
    let sent = String::from_utf8_lossy(&proxy.sent_since(before)).into_owned();
    let loaded = eval(
        client,
        "return performance.getEntriesByType('resource').map(function (e) { return new URL(e.name).pathname; });",
    )
    .await;
    let loaded: Vec<&str> = loaded
        .as_array()
        .expect("resources")
        .iter()
        .skip(usize::try_from(resources).expect("a count"))
        .map(|name| name.as_str().expect("a URL"))
        .collect();
    assert!(
        loaded.iter().all(|path| refresh(path)),
        "a request other than the page's own refresh left the page while sealing: {loaded:?}"
    );
    assert!(!sent.contains(&token), "the token left the browser");
    for line in sent.lines().filter(|l| l.contains(" HTTP/")) {
        let path = line
            .strip_prefix("GET ")
            .and_then(|rest| rest.strip_suffix(" HTTP/1.1"));
        assert!(
            path.is_some_and(refresh),
            "a request other than the page's own refresh while sealing: {sent}"
        );
    }
    assert!(
        !sent.to_ascii_lowercase().contains("content-length:"),
        "a request with a body while sealing: {sent}"
    );
    token
}

#[actix_rt::test]
async fn vote_secretly_makes_tokens_that_open_in_rust_and_sends_nothing() {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        let cfg = TestConfig::new(&test_db.url, vec![relay.url()])
            .with_dev_provider()
            .with("COMMONS__GOVERNANCE__TALLY_DEBOUNCE_SECS", "1");
        let app = cfg.start().await;
        let api = Api::new(app.http_addr(), &cfg.admin_token);
        let answer = api
            .post(
                "/v1/actions",
                Auth::Admin,
                &json!({"action": "review-period", "repository": "btc-commons/governance",
                        "pr": 9, "tier": 1, "title": "Seal it", "voting_window_days": 7}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);
        let proposal = EventId::from_hex(answer.text("event_id")).expect("id");
        let secret = commons_nostr::votes::derive_gov_ballot_secret(
            cfg.bot_keys["gov"].secret_key(),
            "action:btc-commons/governance:9:review-period",
        );
        let key = commons_nostr::votes::BallotKey::from_secret(&secret);
        // The page is read through a proxy that keeps every byte the browser sends.
        let proxy = TcpProxy::start_recording(app.http_addr()).await;
        let page = format!("http://{}/proposals/{}", proxy.addr(), proposal.to_hex());

        let mut browser = Browser::start().await;
        let client = browser.session(SessionOptions::default()).await;
        client.goto(&page).await.expect("open the proposal");
        wait_for_ballot_script(&client).await;
        wait_for_script(&client, ARRIVAL, "the Vote secretly form",
            "var s = document.getElementById('sealed'); return !!s && !s.querySelector('form.ballot').hidden && s.querySelector('.no-script').hidden;").await;
        let pinned = eval(
            &client,
            "return document.getElementById('sealed').dataset.ballotKeys;",
        )
        .await;
        assert_eq!(
            pinned,
            key.to_string(),
            "the page's ballot key is the pinned one"
        );
        let said = eval(
            &client,
            "return document.getElementById('sealed').textContent;",
        )
        .await;
        let said = said.as_str().expect("text");
        assert!(
            said.contains("keeps your choice secret until the vote closes")
                && said.contains("who you are (your npub) and how much you zap"),
            "{said}"
        );

        // A typed npub: the token opens in Rust to the choice, for that voter and proposal.
        let typed = Keys::generate().public_key();
        let token = make_token(&client, &proxy, &typed.to_bech32().expect("npub"), "veto").await;
        assert_eq!(token.len(), 93, "{token}");
        assert_eq!(
            commons_nostr::votes::open_ballot(
                &token,
                &proposal,
                &typed,
                std::slice::from_ref(&secret)
            ),
            Ok(commons_nostr::votes::VoteType::Veto)
        );
        // The CSP lets the page connect only to this server and the bot's LNURL provider.
        let (_, headers) = {
            let response = awc::Client::default()
                .get(&page)
                .send()
                .await
                .expect("page");
            (response.status(), response.headers().clone())
        };
        let csp = headers
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .expect("a CSP")
            .to_owned();
        let connect = csp
            .split(';')
            .find(|d| d.trim().starts_with("connect-src"))
            .expect("connect-src");
        assert_eq!(
            connect.trim(),
            format!("connect-src 'self' http://{}", app.http_addr()),
            "{csp}"
        );

        // The signer's key: "Use my signer's key" fills the npub in.
        let voter = Keys::generate();
        inject_signer(&client, &voter.public_key()).await;
        wait_for_script(
            &client,
            ARRIVAL,
            "the signer button",
            "return !document.querySelector('#sealed button.from-signer').hidden;",
        )
        .await;
        eval(
            &client,
            "document.querySelector('#sealed button.from-signer').click(); return true;",
        )
        .await;
        let voter_npub = voter.public_key().to_bech32().expect("npub");
        wait_for_script(&client, ARRIVAL, "the signer's npub in the form",
            &format!("return document.querySelector('#sealed input[name=voter]').value === {voter_npub:?};")).await;
        let token = make_token(&client, &proxy, &voter_npub, "support").await;
        assert_eq!(
            commons_nostr::votes::open_ballot(
                &token,
                &proposal,
                &voter.public_key(),
                std::slice::from_ref(&secret)
            ),
            Ok(commons_nostr::votes::VoteType::Support)
        );

        // The vote panel seals its choice: it zaps the proposal (not the poll) with a token.
        // (Straight from the service now: the panel asks the bot's LNURL provider, which is
        // this service's origin, not the proxy's.)
        client
            .goto(&format!(
                "http://{}/proposals/{}",
                app.http_addr(),
                proposal.to_hex()
            ))
            .await
            .expect("open the proposal");
        inject_signer(&client, &voter.public_key()).await;
        wait_for_script(&client, ARRIVAL, "the panel's seal checkbox",
            "return !document.querySelector('#vote form.signer').hidden && !document.querySelector('#vote label.seal').hidden;").await;
        eval(
            &client,
            "document.querySelector('#vote input[value=abstain]').checked = true; \
             document.querySelector('#vote input[name=seal]').checked = true; \
             document.querySelector('#vote input[name=sats]').value = '2100'; \
             document.querySelector('#vote button[type=submit]').click(); return true;",
        )
        .await;
        let unsigned = first_sign_request(&client, ARRIVAL).await;
        let tags = unsigned["tags"].as_array().expect("tags");
        assert!(
            tags.contains(&json!(["e", proposal.to_hex()])),
            "{unsigned}"
        );
        assert!(!tags.iter().any(|t| t[0] == "poll_option"), "{unsigned}");
        let content = unsigned["content"].as_str().expect("content");
        assert_eq!(
            commons_nostr::votes::open_ballot(
                content,
                &proposal,
                &voter.public_key(),
                std::slice::from_ref(&secret)
            ),
            Ok(commons_nostr::votes::VoteType::Abstain),
            "{content}"
        );
        sign_first_request(&client, &voter, &unsigned).await;

        // Paid at once by the development provider: the voter's row says sealed until the
        // close, and the result shows the sealed weight.
        wait_for_script(&client, ARRIVAL, "the sealed voter on the page",
            &format!("var r = document.querySelector('tr[data-voter={voter_npub:?}]'); return !!r && r.querySelector('.vote').textContent.indexOf('sealed until') === 0;")).await;
        wait_for_script(&client, ARRIVAL, "the sealed weight",
            "var s = document.querySelector('#summary [data-field=sealed_votes]'); return !!s && parseFloat(s.dataset.value) > 0;").await;
        let tally = api
            .get(&format!("/v1/proposals/{}/tally", proposal.to_hex()))
            .await
            .json;
        assert_eq!(tally["sealed"]["ballots"], 1, "{tally}");
        assert_eq!(tally["sealed"]["opened"], false, "{tally}");
        assert_eq!(
            tally["result"]["abstain_votes"].as_f64(),
            Some(0.0),
            "{tally}"
        );
        assert!(client.get_alert_text().await.is_err(), "an alert is open");
        client.close().await.expect("close");
        drop(browser);
        app.stop().await;
    }
}
