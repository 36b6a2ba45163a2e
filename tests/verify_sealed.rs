//! `verify` and `verify-vote` on a sealed proposal, against a real in-process relay and the real
//! service (SQLite, and PostgreSQL when `TEST_DATABASE_URL` is set), with a 60 s window: before
//! the close verify passes (the sealed sums recomputed without any secret) and verify-vote says
//! the sealed voter's vote is sealed until the close; after the close (the gov bot's ballot
//! secret on the relay) verify passes again and verify-vote shows the opened type; a tally
//! re-signed with the sealed ballot's type flipped fails, naming it, and so does a ballot
//! secret from the gov key that does not match the pinned key.

mod common;

use std::time::Duration;

use common::http::Api;
use common::relays::TestRelay;
use common::test_db::TestDb;
use common::verifier::{
    open_review_period, republish, server_events_on, tally_within, verify, verify_vote,
};
use common::zaps::{paid_zap, publish, zap_config};
use commons_nostr::nostr::ballot_secret::ballot_secret;
use commons_nostr::nostr::zap_provider::{ZapProvider, ZapTarget};
use commons_nostr::votes::{
    derive_gov_ballot_secret, seal_ballot, BallotKey, BallotSecret, VoteType,
};
use nostr_sdk::prelude::*;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);
/// The window, plus the time to reveal and publish the final tally.
const CLOSE: Duration = Duration::from_secs(120);

#[actix_rt::test]
async fn verify_opens_sealed_ballots_and_names_a_flipped_tally_and_a_wrong_secret() {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        let relays = vec![relay.url()];
        let provider = ZapProvider::generate();
        let cfg = zap_config(&test_db.url, relays.clone(), &provider.public_key())
            .with("COMMONS__GOVERNANCE__TALLY_DEBOUNCE_SECS", "1");
        let gov = cfg.bot("gov");
        let gov_keys = cfg.bot_keys["gov"].clone();
        let app = cfg.start().await;
        let api = Api::new(app.http_addr(), &cfg.admin_token);
        let (proposal, _, start) = open_review_period(
            &api,
            &relay.url(),
            &json!({"action": "review-period", "repository": "btc-commons/governance",
                    "pr": 11, "tier": 1, "title": "Sealed", "voting_window_secs": 60}),
        )
        .await;
        let secret = derive_gov_ballot_secret(
            gov_keys.secret_key(),
            "action:btc-commons/governance:11:review-period",
        );
        let key = BallotKey::from_secret(&secret);

        // A sealed veto and an open support, both paid in the window.
        let (sealed_voter, open_voter) = (Keys::generate(), Keys::generate());
        let token = seal_ballot(
            VoteType::Veto,
            &proposal,
            &sealed_voter.public_key(),
            &[key],
            &mut rand::rngs::OsRng,
        )
        .expect("a token");
        let at = Timestamp::from_secs(start);
        let sealed = paid_zap(
            &provider,
            &sealed_voter,
            &ZapTarget::new(gov, 4_000_000)
                .event(proposal)
                .content(token),
            at,
        );
        let open = paid_zap(
            &provider,
            &open_voter,
            &ZapTarget::new(gov, 1_000_000)
                .event(proposal)
                .content("support"),
            at,
        );
        publish(&relays, &[sealed.clone(), open]).await;
        tally_within(&relay.url(), &gov, &proposal, WAIT, |t| {
            t.receipts_count == 2
        })
        .await;
        server_events_on(&relay.url(), cfg.server_keys.public_key()).await;

        // Before the close: the sealed sums recompute; the sealed voter's vote is sealed.
        let (code, out) = verify(&cfg, &relays).await;
        assert_eq!(code, 0, "{out}");
        let (code, out) = verify_vote(&relays, &proposal, &sealed.id, None).await;
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("vote: sealed until "), "{out}");

        // After the close: the secret, the opened final tally, verify passes.
        let (honest, content) = tally_within(&relay.url(), &gov, &proposal, CLOSE, |t| {
            t.is_final && t.sealed.as_ref().is_some_and(|s| s.opened)
        })
        .await;
        assert!(content.result.veto_votes > 0.0, "{content:?}");
        let (code, out) = verify(&cfg, &relays).await;
        assert_eq!(code, 0, "{out}");
        let (code, out) = verify_vote(&relays, &proposal, &sealed.id, None).await;
        assert_eq!(code, 0, "{out}");
        assert!(
            out.contains("vote: veto (a sealed ballot, opened)"),
            "{out}"
        );

        // A tally re-signed with the sealed ballot read as support: named.
        let mut flipped = content.clone();
        flipped.result.support_votes += flipped.result.veto_votes;
        flipped.result.veto_votes = 0.0;
        flipped.result.veto_blocks = false;
        republish(&relays, &gov_keys, &honest, &flipped, 5).await;
        let (code, out) = verify(&cfg, &relays).await;
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("veto_votes: published 0"), "{out}");
        republish(&relays, &gov_keys, &honest, &content, 10).await;

        // A ballot secret from the gov key that does not match the pinned key replaces the real
        // one (the relay keeps the newest per d): named, and the tally's "opened" no longer holds.
        let wrong = BallotSecret::from_bytes([7; 32]);
        let lie = ballot_secret(proposal, &key, &wrong)
            .custom_created_at(Timestamp::now() + 5)
            .sign_with_keys(&gov_keys)
            .expect("signed");
        publish(&relays, std::slice::from_ref(&lie)).await;
        let (code, out) = verify(&cfg, &relays).await;
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains(&lie.id.to_hex()) && out.contains("does not match the pinned key"),
            "{out}"
        );
        assert!(out.contains("sealed.opened: published true"), "{out}");
        app.stop().await;
    }
}
