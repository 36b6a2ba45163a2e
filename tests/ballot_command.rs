//! `commons-nostr ballot` and `zap --seal` with the real binary, against a running service
//! (in-process, the development LNURL provider on, a real relay, SQLite and PostgreSQL):
//!
//! - `ballot` reads the proposal (by id, or through its announcement) from the relay and prints
//!   a token alone on stdout that opens, with the gov bot's ballot secret, to the type asked for
//!   that voter and proposal only; it writes no key and needs none;
//! - `zap --seal` puts a token made for the voter's own key in the zap comment (after the
//!   `--comment` text), and the receipt that reaches the relay carries it;
//! - bad input is refused with exit 2 before any relay is asked.

mod common;

use std::time::Duration;

use common::app::TestConfig;
use common::binary::ServiceCli;
use common::relays::{fetch_all, TestRelay};
use common::test_db::TestDb;
use commons_nostr::votes::{
    derive_gov_ballot_secret, find_ballot_token, open_ballot, BallotSecret, VoteType,
};
use nostr_sdk::prelude::*;

const ARRIVAL: Duration = Duration::from_secs(30);

/// The zap request inside a receipt.
fn request_of(receipt: &Event) -> Event {
    let description = receipt
        .tags
        .iter()
        .find(|t| t.as_slice().first().map(String::as_str) == Some("description"))
        .and_then(|t| t.as_slice().get(1).cloned())
        .expect("a description tag");
    Event::from_json(description).expect("a zap request")
}

#[actix_rt::test]
async fn ballot_prints_a_token_for_that_voter_and_zap_seal_puts_one_in_the_comment() {
    for test_db in TestDb::all().await {
        let relay = TestRelay::start().await;
        let cfg = TestConfig::new(&test_db.url, vec![relay.url()]).with_dev_provider();
        let app = cfg.start().await;
        let gov = cfg.bot("gov");
        let voter = Keys::generate();
        let cli = ServiceCli::for_service(&cfg, &app)
            .with("T_VOTER_NSEC", &voter.secret_key().to_secret_hex());
        let relay_url = relay.url().to_string();

        let action = cli.open_review_period(5, "Seal me").await;
        let proposal =
            EventId::from_hex(action.json()["event_id"].as_str().expect("id")).expect("hex");
        let announcement =
            EventId::from_hex(action.json()["announcement_id"].as_str().expect("id")).expect("hex");
        common::relays::wait_for_ids(
            &relay.url(),
            Filter::new().author(gov),
            &[proposal, announcement],
            ARRIVAL,
        )
        .await;
        // What the gov bot reveals at the close (derived, so the test knows it now).
        let secret: BallotSecret = derive_gov_ballot_secret(
            cfg.bot_keys["gov"].secret_key(),
            "action:o/r:5:review-period",
        );
        let npub = voter.public_key().to_bech32().expect("npub");

        // `ballot` by the proposal's id: the token alone on stdout, a hint on stderr.
        let ballot = cli
            .run(&[
                "ballot",
                &proposal.to_hex(),
                "--vote",
                "veto",
                "--voter",
                &npub,
                "--relay",
                &relay_url,
            ])
            .await;
        assert_eq!(ballot.code, Some(0), "{ballot:?}");
        let lines: Vec<&str> = ballot.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "{ballot:?}");
        let token = lines[0];
        assert!(token.starts_with("ballot1") && token.len() == 93, "{token}");
        assert_eq!(
            open_ballot(
                token,
                &proposal,
                &voter.public_key(),
                std::slice::from_ref(&secret)
            ),
            Ok(VoteType::Veto)
        );
        // Bound to that voter: in anyone else's zap it does not open.
        assert!(open_ballot(
            token,
            &proposal,
            &Keys::generate().public_key(),
            std::slice::from_ref(&secret)
        )
        .is_err());
        assert!(
            ballot.stderr.contains("paste it as the comment of a zap")
                && ballot
                    .stderr
                    .contains("your npub and the amount stay public"),
            "{ballot:?}"
        );
        // It needed no key and wrote none.
        assert!(!cli.dir().join("data").exists(), "ballot wrote data/");

        // By the announcement, a hex voter key: the proposal it announces.
        let by_note = cli
            .run(&[
                "ballot",
                &announcement.to_bech32().expect("note1"),
                "--vote",
                "abstain",
                "--voter",
                &voter.public_key().to_hex(),
                "--relay",
                &relay_url,
            ])
            .await;
        assert_eq!(by_note.code, Some(0), "{by_note:?}");
        assert_eq!(
            open_ballot(
                by_note.stdout.trim(),
                &proposal,
                &voter.public_key(),
                std::slice::from_ref(&secret)
            ),
            Ok(VoteType::Abstain)
        );

        // `zap --seal`: the comment is the text, then a token for the voter's own key.
        let zap = cli
            .run(&[
                "zap",
                &announcement.to_hex(),
                "--sats",
                "21",
                "--comment",
                "my vote:",
                "--seal",
                "support",
                "--key",
                "env:T_VOTER_NSEC",
                "--relay",
                &relay_url,
                "--json",
            ])
            .await;
        assert_eq!(zap.code, Some(0), "{zap:?}");
        let outcome = zap.json();
        let sealed = outcome["sealed_ballot"]
            .as_str()
            .expect("the token")
            .to_owned();
        let receipt = EventId::from_hex(outcome["receipt"].as_str().expect("receipt")).expect("id");
        let receipt = fetch_all(&relay.url(), Filter::new().id(receipt))
            .await
            .pop()
            .expect("the receipt on the relay");
        let request = request_of(&receipt);
        assert_eq!(request.content, format!("my vote: {sealed}"));
        let found = find_ballot_token(&request.content).expect("a token in the comment");
        assert_eq!(
            open_ballot(
                found,
                &proposal,
                &request.pubkey,
                std::slice::from_ref(&secret)
            ),
            Ok(VoteType::Support)
        );
        assert_eq!(request.pubkey, voter.public_key());

        // Bad input: exit 2, nothing asked of a relay.
        for args in [
            vec!["ballot", "not-an-id", "--vote", "veto", "--voter", &npub],
            vec!["ballot", &relay_url, "--vote", "maybe", "--voter", &npub],
            vec![
                "ballot",
                &relay_url,
                "--vote",
                "veto",
                "--voter",
                "npub1nope",
            ],
            vec![
                "zap", &relay_url, "--sats", "1", "--seal", "veto", "--option", "veto",
            ],
        ] {
            let refused = cli.run(&args).await;
            assert_eq!(refused.code, Some(2), "{args:?}: {refused:?}");
        }
        app.stop().await;
    }
}
