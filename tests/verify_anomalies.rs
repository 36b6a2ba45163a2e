//! `verify` over relays holding receipts that fail only the checks of rules 4 and 7 (DESIGN.md
//! "Zaps accepted"), as real providers make them: the real service counts them and publishes
//! their `anomalies` in the tally; `verify` recomputes the same and passes, and it fails,
//! naming the receipt and its anomalies, on a tally that leaves one out, and on a tally whose
//! `anomalies` are wrong.

mod common;

use common::http::Api;
use common::relays::TestRelay;
use common::test_db::TestDb;
use common::verifier::{open_review_period, republish, tally_where, verify};
use common::zaps::{publish, zap_config, Anomalous, Zaps};
use commons_nostr::nostr::zap_provider::ZapProvider;
use commons_nostr::votes::{receipts_root, AnomalyCounts};
use nostr_sdk::prelude::*;
use serde_json::json;

#[actix_rt::test]
async fn verify_counts_receipts_with_anomalies_and_names_one_left_out() {
    let db = TestDb::sqlite().await;
    let relay = TestRelay::start().await;
    let relays = vec![relay.url()];
    let provider = ZapProvider::generate();
    let cfg = zap_config(&db.url, relays.clone(), &provider.public_key())
        .with("COMMONS__GOVERNANCE__TALLY_DEBOUNCE_SECS", "1");
    let gov = cfg.bot("gov");
    let gov_keys = cfg.bot_keys["gov"].clone();
    let app = cfg.start().await;
    let api = Api::new(app.http_addr(), &cfg.admin_token);
    let (proposal, _, start) = open_review_period(
        &api,
        &relay.url(),
        &json!({"action": "review-period", "repository": "btc-commons/governance",
                "pr": 19, "tier": 1, "title": "Real providers count", "voting_window_days": 1}),
    )
    .await;

    // Five voters, one receipt each, inside the window: one honest, four as real providers
    // make them.
    let voter = || Zaps {
        provider: provider.clone(),
        sender: Keys::generate(),
        bot: gov,
    };
    let at = Timestamp::from_secs(start + 1);
    let honest_voter = voter();
    let honest_zap = honest_voter.zap_at(&honest_voter.target("support").event(proposal), at);
    let kinds = [
        Anomalous::ConstantDescriptionHash,
        Anomalous::NoDescriptionHash,
        Anomalous::NoPaymentHash,
        Anomalous::UuidPreimage,
    ];
    let anomalous: Vec<Event> = kinds
        .iter()
        .map(|kind| {
            let v = voter();
            v.anomalous_zap(*kind, &v.target("yes").event(proposal), at)
        })
        .collect();
    let mut receipts = anomalous.clone();
    receipts.push(honest_zap);
    publish(&relays, &receipts).await;

    // The service counts all five, and says how many failed each check.
    let (honest, content) =
        tally_where(&relay.url(), &gov, &proposal, |t| t.receipts_count == 5).await;
    assert_eq!(
        content.anomalies,
        AnomalyCounts {
            description_hash: 3,
            payment_hash: 1,
            preimage: 1,
        }
    );
    assert_eq!(content.voters, 5);
    let raw: serde_json::Value = serde_json::from_str(&honest.content).expect("json");
    assert_eq!(
        raw["anomalies"],
        json!({"description_hash": 3, "payment_hash": 1, "preimage": 1})
    );

    // verify recomputes the same, and shows the anomalies.
    let (code, out) = verify(&cfg, &relays).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "anomalies (counted all the same): description_hash 3, payment_hash 1, preimage 1"
        ),
        "{out}"
    );
    app.stop().await;

    // A tally (signed by the gov key) that leaves out the receipt without a payment hash, as
    // a strict validator would: verify names it, with its anomalies.
    let left_out = &anomalous[2];
    let mut strict = content.clone();
    let mut ids: Vec<EventId> = receipts
        .iter()
        .map(|e| e.id)
        .filter(|id| *id != left_out.id)
        .collect();
    ids.sort();
    strict.receipts = Some(ids.iter().map(EventId::to_hex).collect());
    strict.receipts_count = ids.len() as u64;
    strict.receipts_root = receipts_root(&ids).to_prefixed();
    strict.voters = 4;
    strict.anomalies = AnomalyCounts {
        description_hash: 2,
        payment_hash: 0,
        preimage: 1,
    };
    republish(&relays, &gov_keys, &honest, &strict, 1).await;
    let (code, out) = verify(&cfg, &relays).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!("valid in-window vote {} (sender ", left_out.id)),
        "{out}"
    );
    assert!(
        out.contains(
            "anomalies description_hash,payment_hash, which are checks, never a reason to leave \
             a receipt out) not counted"
        ),
        "{out}"
    );
    assert!(
        out.contains("anomalies.payment_hash: published 0, recomputed 1"),
        "{out}"
    );

    // The honest receipts, with wrong `anomalies`: the count alone is named.
    let mut wrong = content.clone();
    wrong.anomalies.description_hash = 0;
    republish(&relays, &gov_keys, &honest, &wrong, 2).await;
    let (code, out) = verify(&cfg, &relays).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("anomalies.description_hash: published 0, recomputed 3"),
        "{out}"
    );
    assert!(!out.contains("not counted"), "{out}");

    // And the honest tally again passes.
    republish(&relays, &gov_keys, &honest, &content, 3).await;
    let (code, out) = verify(&cfg, &relays).await;
    assert_eq!(code, 0, "{out}");
}
