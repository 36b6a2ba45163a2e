//! Every voter's zap counts (DESIGN.md "Votes", *Targets* and *Vote type*; "Events published":
//! the announcement, the zap poll, `alt`): a review period published through the admin API
//! comes with an announcement and a zap poll on a real in-process relay; zap requests are built
//! the way real clients build them (`../shared/CLIENTS.md`) and sent, as a wallet does, to the
//! development LNURL provider's HTTP callback, which answers a real BOLT11 invoice and publishes
//! the signed receipt to the relay. The tally on the relay must equal a naive recompute written
//! here from DESIGN.md's text, on SQLite and PostgreSQL (when `TEST_DATABASE_URL` is set), also
//! after a restart (the targets are kept); `verify` and `verify-vote` agree, and `verify` fails
//! naming the receipt when a zap to the announcement is left out of a tally re-signed without
//! it.

mod common;

use std::time::Duration;

use common::app::TestConfig;
use common::http::{Api, Auth};
use common::naive::{self, Naive, NaiveZap};
use common::relays::{fetch_all, TestRelay};
use common::test_db::TestDb;
use common::verifier::{server_events_on, verify, verify_vote};
use common::zaps::{publish, wait_until};
use commons_nostr::nostr::zap_provider::ZapProvider;
use commons_nostr::startup::Application;
use commons_nostr::votes::{receipts_root, TallyContent};
use nostr_sdk::nips::nip19::{FromBech32, Nip19Coordinate, Nip19Event};
use nostr_sdk::prelude::*;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(60);
const DAY: u64 = 86_400;
/// One bitcoin in millisatoshis.
const BTC: u64 = 100_000_000_000;

/// What a vote can zap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zapped {
    Proposal,
    Announcement,
    Poll,
}

/// The proposal as published: its event, address, announcement and zap poll.
#[derive(Debug, Clone)]
struct Published {
    gov: PublicKey,
    proposal: EventId,
    address: String,
    announcement: EventId,
    poll: EventId,
    relay: RelayUrl,
}

impl Published {
    fn id(&self, zapped: Zapped) -> EventId {
        match zapped {
            Zapped::Proposal => self.proposal,
            Zapped::Announcement => self.announcement,
            Zapped::Poll => self.poll,
        }
    }

    fn e(&self, zapped: Zapped) -> Tag {
        Tag::parse(["e", &self.id(zapped).to_hex(), self.relay.as_str()]).expect("e")
    }

    fn a(&self) -> Tag {
        Tag::parse(["a", self.address.as_str(), self.relay.as_str()]).expect("a")
    }

    fn p(&self) -> Tag {
        Tag::public_key(self.gov)
    }

    fn relays(&self) -> Tag {
        Tag::parse(["relays", self.relay.as_str()]).expect("relays")
    }
}

fn amount(msat: u64) -> Tag {
    Tag::parse(["amount", &msat.to_string()]).expect("amount")
}

fn tag(values: &[&str]) -> Tag {
    Tag::parse(values.iter().copied()).expect("tag")
}

/// The zap request shapes of CLIENTS.md: which tags each client sends, and its comment.
#[derive(Debug, Clone, Copy)]
enum Client {
    /// Damus zapping the kind-1 announcement: `e`, `p`, `relays`; no `amount`.
    DamusNote,
    /// Snort / nostrudel / YakiHonne zapping the proposal (addressable): `a` only.
    SnortAddress,
    /// Amethyst / Iris / nostr-tools 2.16+: `e` + `a` + `k`, `amount`, `lnurl`.
    AmethystBoth,
    /// Primal (iOS, Android) voting in the zap poll: `e` = the poll, `p`, `poll_option`.
    PrimalPoll(&'static str),
    /// YakiHonne voting in the zap poll with B9's `k` = 6969.
    YakiPoll(&'static str),
    /// Primal's quick zap of the announcement: `e`, `k` = 1, the canned "Onward 🫡".
    PrimalQuickZap,
    /// Coracle zapping the proposal by `e` only.
    CoracleEvent,
}

/// One zap as the test made it: what the naive recompute needs.
#[derive(Debug, Clone)]
struct Sent {
    receipt: Event,
    sender: PublicKey,
    msat: u64,
    at: u64,
    /// What its zap request names: the targets (by `e`) and whether it has the address (`a`).
    zapped: Option<Zapped>,
    by_address: bool,
    poll_option: Option<String>,
    content: String,
}

/// Builds zap requests and pays them as a wallet does: through the LNURL callback of the
/// gov bot's lightning address (the development provider), reading the receipt back from the
/// relay. `lnbits` signs with the same provider key, for what the callback cannot make: a
/// receipt dated before the window, and one without the request's `a` (some LNURL servers drop
/// it).
struct Wallet<'a> {
    /// `http://<service>/lnurlp/gov/callback`, from the LUD-16 `payRequest`.
    callback: String,
    zapper: PublicKey,
    lnbits: ZapProvider,
    published: &'a Published,
}

impl Wallet<'_> {
    async fn vote(&self, sender: &Keys, client: Client, text: &str, msat: u64) -> Sent {
        let request = self.request(sender, client, text, msat);
        let receipt = self.pay(&request.0, msat).await;
        request.sent(receipt, sender, msat)
    }

    /// A vote paid through a provider that drops `a` from receipts, or dated `at`.
    fn vote_elsewhere(
        &self,
        sender: &Keys,
        client: Client,
        text: &str,
        msat: u64,
        at: u64,
        drop_a: bool,
    ) -> Sent {
        let request = self.request(sender, client, text, msat);
        let at = Timestamp::from_secs(at);
        let invoice = self
            .lnbits
            .invoice_at(&request.0, msat, at)
            .expect("invoice");
        let mut receipt = self
            .lnbits
            .receipt(&request.0, &invoice.bolt11, Some(&invoice.preimage), at)
            .expect("receipt");
        if drop_a {
            let tags: Vec<Tag> = receipt
                .tags
                .iter()
                .filter(|t| t.as_slice().first().map(String::as_str) != Some("a"))
                .cloned()
                .collect();
            receipt = EventBuilder::new(Kind::ZapReceipt, "")
                .tags(tags)
                .custom_created_at(at)
                .sign_with_keys(self.lnbits.keys())
                .expect("receipt");
        }
        request.sent(receipt, sender, msat)
    }

    fn request(&self, sender: &Keys, client: Client, text: &str, msat: u64) -> Request {
        let p = self.published;
        let (tags, zapped, by_address, option, content): (
            Vec<Tag>,
            Option<Zapped>,
            bool,
            Option<&str>,
            &str,
        ) = match client {
            Client::DamusNote => (
                vec![p.e(Zapped::Announcement), p.p(), p.relays()],
                Some(Zapped::Announcement),
                false,
                None,
                text,
            ),
            Client::SnortAddress => (
                vec![p.a(), p.p(), p.relays(), amount(msat)],
                None,
                true,
                None,
                text,
            ),
            Client::AmethystBoth => (
                vec![
                    p.e(Zapped::Proposal),
                    p.a(),
                    tag(&["k", "30078"]),
                    p.p(),
                    p.relays(),
                    amount(msat),
                    tag(&["lnurl", "lnurl1dp68gurn8ghj7"]),
                ],
                Some(Zapped::Proposal),
                true,
                None,
                text,
            ),
            Client::PrimalPoll(option) => (
                vec![
                    p.e(Zapped::Poll),
                    p.p(),
                    tag(&["poll_option", option]),
                    amount(msat),
                    p.relays(),
                ],
                Some(Zapped::Poll),
                false,
                Some(option),
                "",
            ),
            Client::YakiPoll(option) => (
                vec![
                    p.e(Zapped::Poll),
                    p.p(),
                    tag(&["k", "6969"]),
                    tag(&["poll_option", option]),
                    amount(msat),
                    p.relays(),
                ],
                Some(Zapped::Poll),
                false,
                Some(option),
                text,
            ),
            Client::PrimalQuickZap => (
                vec![
                    p.p(),
                    amount(msat),
                    p.relays(),
                    p.e(Zapped::Announcement),
                    tag(&["k", "1"]),
                ],
                Some(Zapped::Announcement),
                false,
                None,
                "Onward 🫡",
            ),
            Client::CoracleEvent => (
                vec![p.relays(), amount(msat), p.p(), p.e(Zapped::Proposal)],
                Some(Zapped::Proposal),
                false,
                None,
                text,
            ),
        };
        let event = EventBuilder::new(Kind::ZapRequest, content)
            .tags(tags)
            .sign_with_keys(sender)
            .expect("zap request");
        Request(event, zapped, by_address, option.map(str::to_owned))
    }

    /// A zap to another bot, naming nothing, paid before the window: a contribution only.
    fn contribution(&self, sender: &Keys, to: PublicKey, msat: u64, at: u64) -> Sent {
        let request = EventBuilder::new(Kind::ZapRequest, "thanks")
            .tags([Tag::public_key(to), amount(msat)])
            .sign_with_keys(sender)
            .expect("zap request");
        let at = Timestamp::from_secs(at);
        let invoice = self.lnbits.invoice_at(&request, msat, at).expect("invoice");
        let receipt = self
            .lnbits
            .receipt(&request, &invoice.bolt11, Some(&invoice.preimage), at)
            .expect("receipt");
        Request(request, None, false, None).sent(receipt, sender, msat)
    }

    /// Asks the callback for an invoice for `request` (the comment repeated in `comment`, as
    /// wallets send it), then waits for the receipt the provider publishes.
    async fn pay(&self, request: &Event, msat: u64) -> Event {
        let mut url = Url::parse(&self.callback).expect("callback");
        url.query_pairs_mut()
            .append_pair("amount", &msat.to_string())
            .append_pair("nostr", &request.as_json())
            .append_pair("comment", &request.content);
        let (status, answer) = get(url.as_str()).await;
        assert_eq!(status, 200, "{answer}");
        let bolt11 = answer["pr"].as_str().expect("an invoice").to_owned();
        let filter = Filter::new().kind(Kind::ZapReceipt).author(self.zapper);
        let found = std::cell::RefCell::new(None);
        wait_until(WAIT, "the receipt on the relay", || async {
            let receipts = fetch_all(&self.published.relay, filter.clone()).await;
            *found.borrow_mut() = receipts
                .into_iter()
                .find(|r| values(r, "bolt11") == vec![vec![bolt11.clone()]]);
            found.borrow().is_some()
        })
        .await;
        let receipt = found.into_inner().expect("found");
        assert_eq!(
            values(&receipt, "description"),
            vec![vec![request.as_json()]]
        );
        receipt
    }
}

/// A signed zap request and what it names: (request, `e` target, has `a`, `poll_option`).
struct Request(Event, Option<Zapped>, bool, Option<String>);

impl Request {
    fn sent(self, receipt: Event, sender: &Keys, msat: u64) -> Sent {
        Sent {
            at: receipt.created_at.as_secs(),
            receipt,
            sender: sender.public_key(),
            msat,
            zapped: self.1,
            by_address: self.2,
            poll_option: self.3,
            content: self.0.content.clone(),
        }
    }
}

/// One GET: the status and the JSON body (`Null` when not JSON).
async fn get(url: &str) -> (u16, Value) {
    let mut response = awc::Client::default()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let body = response.body().await.expect("a body");
    (
        response.status().as_u16(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

// --- the naive recompute: DESIGN.md "Votes", sentence by sentence ----------------------------

/// "A zap request with a poll_option tag that names the proposal's zap poll (its e is the
/// poll) carries an explicit type: 0 support, 1 veto, 2 abstain (any other value: no explicit
/// type)." The comment's keyword is the oracle's to read.
fn poll_type(s: &Sent) -> Option<&'static str> {
    match (s.zapped, s.poll_option.as_deref()) {
        (Some(Zapped::Poll), Some("0")) => Some("support"),
        (Some(Zapped::Poll), Some("1")) => Some("veto"),
        (Some(Zapped::Poll), Some("2")) => Some("abstain"),
        _ => None,
    }
}

/// The zaps as the naive recompute sees them. "A contribution names a proposal when its zap
/// request has an e tag equal to one of the proposal's targets, or an a tag equal to the
/// proposal's address."
fn naive_zaps(sent: &[Sent]) -> Vec<NaiveZap> {
    sent.iter()
        .map(|s| NaiveZap {
            receipt: s.receipt.id,
            sender: s.sender,
            msat: s.msat,
            at: s.at,
            names_proposal: s.zapped.is_some() || s.by_address,
            poll_type: poll_type(s),
            content: s.content.clone(),
            private: false,
            sealed_as: None,
        })
        .collect()
}

fn naive(sent: &[Sent], rules: &Value, start: u64, end: u64, t: u64) -> Naive {
    naive::naive(&naive_zaps(sent), rules, start, end, t)
}

/// The first difference between a tally's content and the naive recompute, if any.
fn differs(
    content: &TallyContent,
    sent: &[Sent],
    rules: &Value,
    window: (u64, u64),
) -> Option<String> {
    // A tally made before the newest zap's second matches a recompute at its own `as_of` too,
    // with fewer votes: wait for one that is as of every zap sent.
    let newest = sent.iter().map(|s| s.at).filter(|at| *at <= window.1).max();
    if let Some(newest) = newest.filter(|newest| content.as_of < *newest) {
        return Some(format!(
            "as_of {} is before the newest zap ({newest})",
            content.as_of
        ));
    }
    naive::differs(
        content,
        &naive(sent, rules, window.0, window.1, content.as_of),
    )
}

/// The newest tally of the proposal on `relay`, once it equals the naive recompute of `sent`.
async fn tally_matching(
    relay: &RelayUrl,
    published: &Published,
    sent: &[Sent],
    rules: &Value,
    window: (u64, u64),
) -> (Event, TallyContent) {
    let filter = Filter::new()
        .kind(Kind::ApplicationSpecificData)
        .author(published.gov)
        .identifier(format!("tally:{}", published.proposal.to_hex()));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let newest = fetch_all(relay, filter.clone())
            .await
            .into_iter()
            .max_by_key(|e| e.created_at);
        let difference = match &newest {
            None => "no tally yet".to_owned(),
            Some(event) => {
                let content: TallyContent =
                    serde_json::from_str(&event.content).expect("tally content");
                match differs(&content, sent, rules, window) {
                    None => return (event.clone(), content),
                    Some(difference) => difference,
                }
            }
        };
        assert!(
            tokio::time::Instant::now() < deadline,
            "no tally on {relay} equals the naive recompute: {difference}"
        );
        actix_rt::time::sleep(Duration::from_millis(100)).await;
    }
}

fn values(event: &Event, name: &str) -> Vec<Vec<String>> {
    event
        .tags
        .iter()
        .map(|t| t.as_slice().to_vec())
        .filter(|t| t.first().map(String::as_str) == Some(name))
        .map(|t| t[1..].to_vec())
        .collect()
}

async fn one_event(relay: &RelayUrl, id: EventId) -> Event {
    wait_until(WAIT, "the event on the relay", || async {
        !fetch_all(relay, Filter::new().id(id)).await.is_empty()
    })
    .await;
    fetch_all(relay, Filter::new().id(id)).await.remove(0)
}

/// Publishes a review period and checks what goes out with it: the answer's links, the
/// announcement and the zap poll on the relay, the `alt` lines.
async fn publish_review_period(
    api: &Api,
    relays: &[RelayUrl],
    gov: PublicKey,
) -> (Published, Value, (u64, u64)) {
    let relay = &relays[0];
    let answer = api
        .post(
            "/v1/actions",
            Auth::Admin,
            &json!({"action": "review-period", "repository": "btc-commons/governance",
                    "pr": 17, "tier": 1, "title": "Count every zap", "voting_window_days": 1}),
        )
        .await;
    assert_eq!(answer.status.as_u16(), 201, "{:?}", answer.json);
    let proposal = EventId::from_hex(answer.text("event_id")).expect("event_id");
    let announcement = EventId::from_hex(answer.text("announcement_id")).expect("announcement");
    let poll = EventId::from_hex(answer.text("poll_id")).expect("poll_id");
    let address = answer.text("address").to_owned();

    // The links carry the ids, the author, the kinds and relay hints.
    let naddr = Nip19Coordinate::from_bech32(answer.text("naddr")).expect("naddr");
    assert_eq!(naddr.coordinate.to_string(), address);
    assert_eq!(naddr.relays, relays);
    for (field, id, kind) in [
        ("announcement_nevent", announcement, 1),
        ("poll_nevent", poll, 6969),
    ] {
        let nevent = Nip19Event::from_bech32(answer.text(field)).expect(field);
        assert_eq!(nevent.event_id, id, "{field}");
        assert_eq!(nevent.author, Some(gov), "{field}");
        assert_eq!(nevent.kind.map(|k| k.as_u16()), Some(kind), "{field}");
        assert_eq!(nevent.relays, relays, "{field}");
    }

    let proposal_event = one_event(relay, proposal).await;
    let content: Value = serde_json::from_str(&proposal_event.content).expect("content");
    let window = (
        content["voting_window"]["start"].as_u64().expect("start"),
        content["voting_window"]["end"].as_u64().expect("end"),
    );
    let alt = &values(&proposal_event, "alt")[0][0];
    assert!(
        alt.starts_with("Governance proposal: Count every zap"),
        "{alt}"
    );
    assert!(alt.contains("Zap to vote"), "{alt}");

    let note = one_event(relay, announcement).await;
    assert_eq!(note.kind, Kind::TextNote);
    assert_eq!(note.pubkey, gov);
    assert!(values(&note, "e").contains(&vec![proposal.to_hex()]));
    assert!(values(&note, "t").contains(&vec!["governance-proposal".to_owned()]));
    assert!(
        note.content.contains("support, veto or abstain"),
        "{}",
        note.content
    );
    assert!(
        note.content.contains(answer.text("poll_nevent")),
        "{}",
        note.content
    );

    let poll_event = one_event(relay, poll).await;
    assert_eq!(poll_event.kind, Kind::Custom(6969));
    assert_eq!(poll_event.pubkey, gov);
    assert_eq!(
        values(&poll_event, "p"),
        vec![vec![gov.to_hex(), relay.to_string()]]
    );
    assert_eq!(
        values(&poll_event, "poll_option"),
        vec![
            vec!["0".to_owned(), "support".to_owned()],
            vec!["1".to_owned(), "veto".to_owned()],
            vec!["2".to_owned(), "abstain".to_owned()],
        ]
    );
    assert_eq!(
        values(&poll_event, "closed_at"),
        vec![vec![window.1.to_string()]]
    );
    assert_eq!(values(&poll_event, "e"), vec![vec![proposal.to_hex()]]);
    assert_eq!(values(&poll_event, "a"), vec![vec![address.clone()]]);
    assert_eq!(
        values(&poll_event, "t"),
        vec![vec!["governance-proposal".to_owned()]]
    );
    assert!(poll_event.content.starts_with("btc-commons/governance#17"));
    assert!(poll_event.content.contains("Count every zap"));
    assert!(poll_event.content.contains("square root"));
    assert_eq!(values(&poll_event, "alt").len(), 1);

    let published = Published {
        gov,
        proposal,
        address,
        announcement,
        poll,
        relay: relay.clone(),
    };
    (published, content["rules"].clone(), window)
}

/// The wallet of a voter whose client resolves `gov@<service>` (LUD-16) to its callback.
async fn wallet<'a>(app: &Application, cfg: &TestConfig, published: &'a Published) -> Wallet<'a> {
    let (status, pay) = get(&format!(
        "http://{}/.well-known/lnurlp/gov",
        app.http_addr()
    ))
    .await;
    assert_eq!(status, 200, "{pay}");
    assert_eq!(pay["allowsNostr"], true);
    let zapper =
        PublicKey::from_hex(pay["nostrPubkey"].as_str().expect("nostrPubkey")).expect("a key");
    assert_eq!(zapper, cfg.dev_zapper.public_key());
    let node_key =
        nostr_sdk::secp256k1::SecretKey::new(&mut nostr_sdk::secp256k1::rand::thread_rng());
    Wallet {
        callback: pay["callback"].as_str().expect("callback").to_owned(),
        zapper,
        lnbits: ZapProvider::new(cfg.dev_zapper.clone(), node_key),
        published,
    }
}

#[actix_rt::test]
async fn zaps_shaped_as_clients_send_them_count_and_verify() {
    for test_db in TestDb::all().await {
        let relays = [TestRelay::start().await, TestRelay::start().await];
        let urls: Vec<RelayUrl> = relays.iter().map(TestRelay::url).collect();
        let cfg = TestConfig::new(&test_db.url, urls.clone())
            .with_dev_provider()
            .with("COMMONS__NOSTR__BACKFILL_MARGIN_SECS", "60")
            .with("COMMONS__GOVERNANCE__TALLY_DEBOUNCE_SECS", "1");
        let gov = cfg.bot("gov");
        let app = cfg.start().await;
        let api = Api::new(app.http_addr(), &cfg.admin_token);
        let (published, rules, window) = publish_review_period(&api, &urls, gov).await;
        let wallet = wallet(&app, &cfg, &published).await;
        let start = window.0;
        let msat = |i: u64| 1_000_000 + 250_000 * i;

        // Through the callback, as each client builds its zap request.
        let mut sent = Vec::new();
        for (i, (client, text)) in [
            (Client::DamusNote, "veto"),
            (Client::AmethystBoth, ""),
            (Client::PrimalPoll("1"), ""),
            (Client::PrimalPoll("7"), ""),
            (Client::YakiPoll("2"), "veto!"),
            (Client::PrimalQuickZap, ""),
            (Client::CoracleEvent, "I oppose"),
        ]
        .into_iter()
        .enumerate()
        {
            sent.push(
                wallet
                    .vote(&Keys::generate(), client, text, msat(i as u64))
                    .await,
            );
        }
        // One voter taps veto in the poll, then (a second later) zaps the announcement with
        // "support".
        let changer = Keys::generate();
        let first = wallet
            .vote(&changer, Client::PrimalPoll("1"), "", msat(7))
            .await;
        wait_until(Duration::from_secs(5), "the next second", || async {
            Timestamp::now().as_secs() > first.at
        })
        .await;
        sent.push(first);
        sent.push(
            wallet
                .vote(&changer, Client::DamusNote, "support it", msat(8))
                .await,
        );
        // Snort's request has `a` only, and its LNURL server drops `a` from the receipt; a zap
        // before the window is a contribution, not a vote; and a zap to another bot.
        let elsewhere = [
            wallet.vote_elsewhere(
                &Keys::generate(),
                Client::SnortAddress,
                "abstain",
                msat(9),
                Timestamp::now().as_secs(),
                true,
            ),
            wallet.vote_elsewhere(
                &Keys::generate(),
                Client::DamusNote,
                "veto",
                msat(10),
                start - 600,
                false,
            ),
            wallet.contribution(&Keys::generate(), cfg.bot("dev"), msat(11), start - DAY),
        ];
        assert!(values(&elsewhere[0].receipt, "a").is_empty());
        publish(
            &urls,
            &elsewhere
                .iter()
                .map(|s| s.receipt.clone())
                .collect::<Vec<_>>(),
        )
        .await;
        sent.extend(elsewhere);

        let (honest, content) = tally_matching(&urls[1], &published, &sent, &rules, window).await;
        let expected = naive(&sent, &rules, window.0, window.1, content.as_of);
        // What the shapes are for: every client's zap is a vote, with the type it meant.
        assert_eq!(content.voters, 9, "{}", test_db.backend());
        let type_of = |i: usize| expected.types[&sent[i].sender];
        assert_eq!(
            (0..7).map(type_of).collect::<Vec<_>>(),
            ["veto", "support", "veto", "support", "abstain", "support", "veto"]
        );
        assert_eq!(type_of(8), "support", "the latest explicit type stands");
        assert_eq!(type_of(9), "abstain", "a receipt without the request's a");
        assert_eq!(content.targets, {
            let mut others = vec![published.announcement.to_hex(), published.poll.to_hex()];
            others.sort();
            [vec![published.proposal.to_hex()], others].concat()
        });
        // The API lists the targets with their kinds.
        let listed = api.get("/v1/proposals").await;
        let mut targets: Vec<(String, u64)> = listed.json["proposals"][0]["targets"]
            .as_array()
            .expect("targets")
            .iter()
            .map(|t| {
                (
                    t["event_id"].as_str().expect("id").to_owned(),
                    t["kind"].as_u64().expect("kind"),
                )
            })
            .collect();
        targets.sort();
        let mut want = vec![
            (published.announcement.to_hex(), 1),
            (published.poll.to_hex(), 6969),
        ];
        want.sort();
        assert_eq!(targets, want);
        let alt = &values(&honest, "alt")[0][0];
        assert!(
            alt.starts_with("Tally of Count every zap: support "),
            "{alt}"
        );

        // A restart keeps the targets: a zap to the announcement after it still counts.
        app.stop().await;
        let app = cfg.start().await;
        let wallet = self::wallet(&app, &cfg, &published).await;
        sent.push(
            wallet
                .vote(&Keys::generate(), Client::PrimalQuickZap, "", msat(12))
                .await,
        );
        let (honest, content) = tally_matching(&urls[0], &published, &sent, &rules, window).await;
        assert_eq!(content.voters, 10);

        // `verify` agrees once the server's own events are on the relays.
        server_events_on(&urls[0], cfg.server_keys.public_key()).await;
        app.stop().await;
        let (code, out) = verify(&cfg, &urls).await;
        assert_eq!(code, 0, "{}: {out}", test_db.backend());
        // A voter proves their zap-poll vote from relay data alone, with its type.
        let (code, out) = verify_vote(&urls, &published.proposal, &sent[2].receipt.id, None).await;
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("vote: veto of weight"), "{out}");

        // A tally re-signed without the zap to the announcement fails, naming the receipt.
        let left_out = &sent[0].receipt;
        let mut without = content.clone();
        let ids: Vec<EventId> = expected_ids(&content)
            .into_iter()
            .filter(|id| id != &left_out.id)
            .collect();
        without.receipts = Some(ids.iter().map(EventId::to_hex).collect());
        without.receipts_count = ids.len() as u64;
        without.receipts_root = receipts_root(&ids).to_prefixed();
        without.voters -= 1;
        without.result.veto_votes -= naive_weight(&sent[0]);
        let forged = EventBuilder::new(honest.kind, serde_json::to_string(&without).expect("json"))
            .tags(honest.tags.clone())
            .custom_created_at(honest.created_at + 1)
            .sign_with_keys(&cfg.bot_keys["gov"])
            .expect("signed");
        publish(&urls, &[forged]).await;
        let (code, out) = verify(&cfg, &urls).await;
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains(&format!(
                "valid in-window vote {} (sender {}, zapping target {}) not counted",
                left_out.id,
                sent[0].sender.to_hex(),
                published.announcement
            )),
            "{out}"
        );
    }
}

fn expected_ids(content: &TallyContent) -> Vec<EventId> {
    content
        .receipts
        .iter()
        .flatten()
        .map(|hex| EventId::from_hex(hex).expect("id"))
        .collect()
}

/// The weight of a lone zap vote (no cap, not cooling off): `sqrt(btc)`.
fn naive_weight(sent: &Sent) -> f64 {
    (sent.msat as f64 / BTC as f64).sqrt()
}
