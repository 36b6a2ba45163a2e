//! Synthetic voters for the vote and page benchmarks: one proposal with N distinct senders in
//! its window, as contributions, and the same stored as the service's tables hold them (so the
//! vote aggregator loads them at start). Included with `#[path]`.

use commons_nostr::configuration::GovernanceSettings;
use commons_nostr::store::db;
use commons_nostr::store::entities::{governance_proposal, zap_receipt};
use commons_nostr::votes::{self, Contribution, Proposal, VoteRules};
use nostr_sdk::prelude::*;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};

/// The zap comments, in turn: each keyword, a comment without one (escaped on the page), "yes".
pub const WORDS: [&str; 5] = ["support", "veto", "abstain", "great <idea> & more", "yes"];

/// The comment of the `i`-th contribution.
pub fn word(i: usize) -> &'static str {
    WORDS[i % WORDS.len()]
}

/// A tier-1 proposal (pull request `pr`) whose window opens at `start`, and `n` votes on it
/// from distinct senders: amounts of 1,000 to about 10,800 sats, zapped within its first hour.
pub fn synthetic(n: usize, start: u64, pr: u64) -> (Proposal, Vec<Contribution>) {
    let zapper = Keys::generate().public_key();
    let bot = Keys::generate().public_key();
    let rules = VoteRules::new(&GovernanceSettings::default(), 1, vec![zapper], vec![bot]);
    let proposal = Proposal {
        id: EventId::from_byte_array(rand::random()),
        address: format!("30078:{}:action:o/r:{pr}:review-period", bot.to_hex()),
        pr,
        tier: 1,
        window_start: start,
        window_end: start + 14 * 86_400,
        rules,
        targets: votes::Targets::new(),
    };
    let contributions = public_keys(n)
        .into_iter()
        .enumerate()
        .map(|(i, sender)| Contribution {
            receipt_id: EventId::from_byte_array(rand::random()),
            sender,
            recipient: bot,
            zapper,
            amount_msat: 1_000_000 + (i as u64 % 977) * 10_000,
            created_at: start + (i as u64 % 3_600),
            event: Some(proposal.id),
            address: None,
            keyword: votes::parse_keyword(word(i)),
            poll_option: None,
            ballot: None,
            private_zap: false,
        })
        .collect();
    (proposal, contributions)
}

/// `n` fresh public keys, generated on every core.
pub fn public_keys(n: usize) -> Vec<PublicKey> {
    std::thread::scope(|scope| {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per = n.div_ceil(threads);
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let count = per.min(n.saturating_sub(t * per));
                scope.spawn(move || {
                    (0..count)
                        .map(|_| Keys::generate().public_key())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("key thread"))
            .collect()
    })
}

/// Stores the proposal (titled `title`) and its contributions as `governance_proposals` and
/// `zap_receipts` rows, each receipt naming the proposal by its zap request's `e`, as the
/// zap tracker records them.
pub async fn store(
    conn: &sea_orm::DatabaseConnection,
    proposal: &Proposal,
    contributions: &[Contribution],
    title: &str,
) {
    governance_proposal::ActiveModel {
        event_id: Set(proposal.id.to_hex()),
        address: Set(proposal.address.clone()),
        repository: Set("btc-commons/governance".into()),
        pr: Set(proposal.pr as i64),
        tier: Set(1),
        title: Set(title.into()),
        voting_start: Set(proposal.window_start as i64),
        voting_end: Set(proposal.window_end as i64),
        created_at: Set(proposal.window_start as i64),
        rules: Set(Some(serde_json::to_string(&proposal.rules).expect("rules"))),
        ..Default::default()
    }
    .insert(conn)
    .await
    .expect("proposal row");
    const ROWS: usize = 250;
    let txn = db::begin_write(conn).await.expect("txn");
    for (n, chunk) in contributions.chunks(ROWS).enumerate() {
        let mut insert = Query::insert();
        insert.into_table(zap_receipt::Entity).columns([
            zap_receipt::Column::ReceiptId,
            zap_receipt::Column::PaymentHash,
            zap_receipt::Column::RecipientPubkey,
            zap_receipt::Column::SenderPubkey,
            zap_receipt::Column::AmountMsat,
            zap_receipt::Column::ProposalEventId,
            zap_receipt::Column::ProposalAddress,
            zap_receipt::Column::ZappedEventId,
            zap_receipt::Column::ZapRequestContent,
            zap_receipt::Column::ReceiptCreatedAt,
            zap_receipt::Column::RecordedAt,
            zap_receipt::Column::RelayUrl,
            zap_receipt::Column::EventJson,
            zap_receipt::Column::ZapperPubkey,
        ]);
        for (i, c) in chunk.iter().enumerate() {
            insert
                .values([
                    Expr::val(c.receipt_id.to_hex()),
                    Expr::val(hex::encode(rand::random::<[u8; 32]>())),
                    Expr::val(c.recipient.to_hex()),
                    Expr::val(c.sender.to_hex()),
                    Expr::val(c.amount_msat as i64),
                    Expr::val(proposal.id.to_hex()),
                    Expr::val(proposal.address.clone()),
                    Expr::val(c.event.map(|e| e.to_hex())),
                    Expr::val(word(n * ROWS + i)),
                    Expr::val(c.created_at as i64),
                    Expr::val(c.created_at as i64),
                    Expr::val("ws://127.0.0.1:1"),
                    Expr::val("{}"),
                    Expr::val(c.zapper.to_hex()),
                ])
                .expect("row");
        }
        txn.execute(&insert).await.expect("insert");
    }
    txn.commit().await.expect("commit");
}
