//! The zap ledger: judging zap receipts in batches and recording each payment exactly once.
//!
//! Receipts arrive from several relays, several times each, and again after every restart
//! (DESIGN.md "Zaps accepted": "recorded once, whatever number of relays deliver it, however
//! often, and across restarts"). The tracker buffers them and hands this module a batch at a
//! time, in two steps:
//!
//! 1. [`judge`] validates a batch against the six rules ([`crate::nostr::nip57::validate_batch`],
//!    spread over every core) and renders each receipt's JSON. It is CPU work and blocks: call it
//!    off the actor thread. Receipts to a bot whose LNURL provider key is not known yet come back
//!    apart ([`Judgement::pending`]); everything else is ready to write.
//! 2. [`record`] writes a judged batch in **one transaction**, a handful of statements whatever
//!    its size (never a round trip per receipt):
//!    - the proposals the batch's zaps name (`e` = event id, `a` = address), looked up at once;
//!    - valid receipts into `zap_receipts` with `INSERT ... ON CONFLICT DO NOTHING RETURNING`:
//!      the unique indexes on `receipt_id` *and* `payment_hash` are the final word on "once",
//!      so the same receipt delivered again, or the same payment in another receipt, inserts
//!      nothing, and `RETURNING` says exactly which rows are new. Each row keeps the checks
//!      the receipt failed (`anomalies`, see [`crate::nostr::nip57::Anomalies`]); an invoice
//!      without a payment hash is stored with an empty one, which the (partial) payment hash
//!      index leaves out, so such a receipt is once by its id alone;
//!    - a `contributions` row (source `zap`, source id = receipt id) per newly recorded zap;
//!    - rejected receipts from a proven LNURL provider into `rejected_receipts`, with the
//!      stable reason, the detail and the whole event: a real provider sending something broken
//!      is rare and worth keeping;
//!    - rejected receipts whose signer is *not* a proven provider (rule 1, rule 2, or any rule
//!      broken by a stranger's key, see [`crate::nostr::nip57::signed_by_known_zapper`]) only
//!      as a count per signer in `junk_receipt_signers`, a table capped at
//!      [`JUNK_SIGNERS_KEPT`] rows (the least recently seen signer is evicted): anyone can sign
//!      such receipts in any number, so none of them is kept whole;
//!    - the relay cursors (`relay_cursors`, stream [`ZAP_RECEIPT_STREAM`]), which only move
//!      forward, in the same transaction as the receipts they vouch for;
//!    - on PostgreSQL, when anything was recorded, a `NOTIFY` that tells every server sharing
//!      the database to read the new receipts ([`receipt_feed`]); each row names the server
//!      that recorded it (`recorded_by`, [`record_by`]).
//!
//! What was new and what was already there comes back in a [`LedgerOutcome`], for the metrics
//! (accepted, duplicate, rejected by reason) and for whoever watches the ledger.
//!
//! The conflict clause has no target on purpose: `ON CONFLICT (receipt_id) DO NOTHING` would
//! still fail on a `payment_hash` clash (PostgreSQL and SQLite arbitrate only the named index).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use nostr_sdk::{Event, EventId, JsonUtil, PublicKey, RelayUrl, Timestamp};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::nostr::nip57::{
    signed_by_known_zapper, validate_batch, Anomalies, Rejection, ValidZap, ZapRecipients,
};
use crate::store::entities::zap_receipt;
use crate::store::entities::{
    contribution, governance_proposal, junk_receipt_signer, rejected_receipt, relay_cursor,
};
use crate::store::{db, receipt_feed};

/// The `relay_cursors.stream` of the zap receipt subscription.
pub const ZAP_RECEIPT_STREAM: &str = "zap-receipts";

/// The `contributions.source` of a zap.
pub const CONTRIBUTION_SOURCE_ZAP: &str = "zap";

/// Rows `junk_receipt_signers` keeps at most: the least recently seen signers beyond it are
/// evicted. About 200 bytes a row: the table stays well under a megabyte, whatever is sent.
pub const JUNK_SIGNERS_KEPT: u64 = 1_000;

/// Rows per `INSERT` statement: far below SQLite's and PostgreSQL's bound-parameter limits
/// (17 columns x 256 rows = 4,352 parameters).
const ROWS_PER_STATEMENT: usize = 256;

/// A zap receipt as a relay delivered it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub event: Arc<Event>,
    /// The relay it came from (the first one, when several delivered it).
    pub relay: RelayUrl,
    /// When the tracker received it (for delivery-to-commit latency).
    pub received_at: Instant,
}

/// A receipt judged, with its verdict and its JSON, ready for [`record`].
#[derive(Debug)]
pub struct Judged {
    pub incoming: Incoming,
    /// Never a pending rejection: those stay in [`Judgement::pending`].
    pub verdict: Result<ValidZap, Rejection>,
    /// Rejected, and its signer is not a proven LNURL provider: counted per signer, not kept.
    pub junk: bool,
    /// The receipt's JSON (empty for junk, which is never stored whole).
    json: String,
}

/// [`judge`]'s answer.
#[derive(Debug, Default)]
pub struct Judgement {
    /// Valid or rejected, in the order given.
    pub judged: Vec<Judged>,
    /// Receipts that passed every rule that can be checked, to a bot whose LNURL provider key
    /// is not known yet (that bot is given): keep them and judge them again when it is.
    pub pending: Vec<(Incoming, PublicKey)>,
}

/// Validates `batch` on every core and renders each receipt's JSON. Blocks: run it off the
/// actor thread (`spawn_blocking`).
pub fn judge<R>(batch: Vec<Incoming>, recipients: &R) -> Judgement
where
    R: ZapRecipients + Sync + ?Sized,
{
    let events: Vec<&Event> = batch.iter().map(|incoming| &*incoming.event).collect();
    let verdicts = validate_batch(&events, recipients);
    drop(events);
    let mut judgement = Judgement {
        judged: Vec::with_capacity(batch.len()),
        pending: Vec::new(),
    };
    for (incoming, verdict) in batch.into_iter().zip(verdicts) {
        match verdict {
            Err(Rejection::ZapperPending { recipient }) => {
                judgement.pending.push((incoming, recipient));
            }
            verdict => {
                let junk = verdict.is_err() && !signed_by_known_zapper(&incoming.event, recipients);
                let json = if junk {
                    String::new()
                } else {
                    incoming.event.as_json()
                };
                judgement.judged.push(Judged {
                    incoming,
                    verdict,
                    junk,
                    json,
                });
            }
        }
    }
    judgement
}

/// A relay's cursor: `created_at` of the newest receipt it delivered that is safely recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorUpdate {
    pub relay: RelayUrl,
    pub last_seen_at: Timestamp,
}

/// A zap newly recorded by [`record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedZap {
    pub receipt_id: EventId,
    /// `None` when the invoice has none (anomaly `payment_hash`).
    pub payment_hash: Option<String>,
    pub recipient: PublicKey,
    pub sender: PublicKey,
    pub amount_msat: u64,
    /// The known proposal the zap names (by `e`, or by `a` through its address), if any.
    pub proposal_event_id: Option<String>,
    pub proposal_address: Option<String>,
    /// The receipt's author: the LNURL provider's key.
    pub zapper: PublicKey,
    /// The zap request's `e` and `a`: what the voter zapped, whatever it is (the vote rules
    /// decide which proposal that names, [`crate::votes::Proposal::names`]).
    pub zapped_event: Option<EventId>,
    pub zapped_address: Option<String>,
    /// The zap request's `poll_option` value, if it has exactly one.
    pub poll_option: Option<String>,
    /// The zap request's content (where a vote's keyword is).
    pub content: String,
    /// A private zap (`anon` with a value): no contribution, no vote.
    pub private_zap: bool,
    /// The receipt's `created_at`: when the payment was made.
    pub created_at: Timestamp,
    /// The checks of rules 4 and 7 it failed (it counts all the same).
    pub anomalies: Anomalies,
    pub received_at: Instant,
}

/// A rejection newly recorded by [`record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedZap {
    pub receipt_id: EventId,
    /// [`Rejection::reason`].
    pub reason: &'static str,
    pub received_at: Instant,
}

/// A junk rejection counted by [`record`] (see the module doc): its signer is not a proven
/// LNURL provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JunkZap {
    pub receipt_id: EventId,
    pub signer: PublicKey,
    /// [`Rejection::reason`].
    pub reason: &'static str,
}

/// What one [`record`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerOutcome {
    pub recorded: Vec<RecordedZap>,
    pub rejected: Vec<RejectedZap>,
    /// Junk rejections, counted per signer in `junk_receipt_signers` (each judged one, so the
    /// same junk receipt delivered again after a restart is counted again).
    pub junk: Vec<JunkZap>,
    /// Receipts (valid or not) the database already held: the same receipt again, or, for a
    /// valid one, the same payment in another receipt.
    pub duplicates: u64,
}

/// Writes a judged batch and the relay cursors in one transaction (see the module doc).
/// `cursors` must name each relay at most once. On error nothing is written. The rows name no
/// recorder: the service records through [`record_by`].
pub async fn record(
    db: &DatabaseConnection,
    judged: &[Judged],
    cursors: &[CursorUpdate],
    now: Timestamp,
) -> Result<LedgerOutcome, DbErr> {
    record_by(db, None, judged, cursors, now).await
}

/// [`record`], the rows' `recorded_by` set to `recorder` (this server's `server.id`).
pub async fn record_by(
    db: &DatabaseConnection,
    recorder: Option<&str>,
    judged: &[Judged],
    cursors: &[CursorUpdate],
    now: Timestamp,
) -> Result<LedgerOutcome, DbErr> {
    if judged.is_empty() && cursors.is_empty() {
        return Ok(LedgerOutcome::default());
    }
    let txn = db::begin_write(db).await?;
    let outcome = record_in(&txn, recorder, judged, cursors, now).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// [`record_by`]'s statements inside the caller's transaction: nothing is visible (nor
/// announced to the other servers) before the caller commits it.
///
/// On PostgreSQL, when it recorded any receipt, it ends with a `NOTIFY` on
/// [`receipt_feed::CHANNEL`], which PostgreSQL delivers to every listening server at commit
/// (and never when the transaction rolls back).
pub async fn record_in(
    txn: &DatabaseTransaction,
    recorder: Option<&str>,
    judged: &[Judged],
    cursors: &[CursorUpdate],
    now: Timestamp,
) -> Result<LedgerOutcome, DbErr> {
    let now = seconds(now);
    let mut outcome = LedgerOutcome::default();

    let valid: Vec<(&Judged, &ValidZap)> = judged
        .iter()
        .filter_map(|j| j.verdict.as_ref().ok().map(|zap| (j, zap)))
        .collect();
    let proposals = Proposals::lookup(txn, valid.iter().map(|(_, zap)| *zap)).await?;

    for chunk in valid.chunks(ROWS_PER_STATEMENT) {
        let mut insert = Query::insert();
        insert.into_table(zap_receipt::Entity).columns([
            zap_receipt::Column::ReceiptId,
            zap_receipt::Column::PaymentHash,
            zap_receipt::Column::RecipientPubkey,
            zap_receipt::Column::SenderPubkey,
            zap_receipt::Column::AmountMsat,
            zap_receipt::Column::ProposalEventId,
            zap_receipt::Column::ProposalAddress,
            zap_receipt::Column::ZapRequestContent,
            zap_receipt::Column::ReceiptCreatedAt,
            zap_receipt::Column::RecordedAt,
            zap_receipt::Column::RelayUrl,
            zap_receipt::Column::EventJson,
            zap_receipt::Column::ZapperPubkey,
            zap_receipt::Column::Anomalies,
            zap_receipt::Column::ZappedEventId,
            zap_receipt::Column::ZappedAddress,
            zap_receipt::Column::PollOption,
            zap_receipt::Column::RecordedBy,
            zap_receipt::Column::PrivateZap,
        ]);
        let mut rows: HashMap<String, RecordedZap> = HashMap::with_capacity(chunk.len());
        for (judged, zap) in chunk {
            let (proposal_event_id, proposal_address) = proposals.of(zap);
            let receipt_id = zap.receipt_id().to_hex();
            insert
                .values([
                    Expr::val(receipt_id.clone()),
                    Expr::val(zap.payment_hash().unwrap_or_default()),
                    Expr::val(zap.recipient().to_hex()),
                    Expr::val(zap.sender().to_hex()),
                    Expr::val(msat(zap.amount_msat())),
                    Expr::val(proposal_event_id.clone()),
                    Expr::val(proposal_address.clone()),
                    Expr::val(zap.content()),
                    Expr::val(seconds(zap.created_at())),
                    Expr::val(now),
                    Expr::val(judged.incoming.relay.as_str()),
                    Expr::val(judged.json.as_str()),
                    Expr::val(zap.zapper().to_hex()),
                    Expr::val(zap.anomalies().to_string()),
                    Expr::val(zap.event().map(|e| e.to_hex())),
                    Expr::val(zap.address().map(str::to_owned)),
                    Expr::val(zap.poll_option().map(str::to_owned)),
                    Expr::val(recorder),
                    Expr::val(zap.is_private_zap()),
                ])
                .map_err(query_error)?;
            rows.insert(
                receipt_id,
                RecordedZap {
                    receipt_id: zap.receipt_id(),
                    payment_hash: zap.payment_hash().map(str::to_owned),
                    recipient: zap.recipient(),
                    sender: zap.sender(),
                    amount_msat: zap.amount_msat(),
                    proposal_event_id,
                    proposal_address,
                    zapper: zap.zapper(),
                    zapped_event: zap.event(),
                    zapped_address: zap.address().map(str::to_owned),
                    poll_option: zap.poll_option().map(str::to_owned),
                    content: zap.content().to_owned(),
                    private_zap: zap.is_private_zap(),
                    created_at: zap.created_at(),
                    anomalies: zap.anomalies(),
                    received_at: judged.incoming.received_at,
                },
            );
        }
        insert
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .returning_col(zap_receipt::Column::ReceiptId);
        let inserted = returned_ids(txn, &insert, "receipt_id").await?;
        let before = outcome.recorded.len();
        for id in inserted {
            if let Some(zap) = rows.remove(&id) {
                outcome.recorded.push(zap);
            }
        }
        outcome.duplicates += count(chunk.len() - (outcome.recorded.len() - before));
    }

    for chunk in outcome.recorded.chunks(ROWS_PER_STATEMENT) {
        let mut insert = Query::insert();
        insert.into_table(contribution::Entity).columns([
            contribution::Column::SenderPubkey,
            contribution::Column::AmountMsat,
            contribution::Column::Source,
            contribution::Column::SourceId,
            contribution::Column::ContributedAt,
        ]);
        for zap in chunk {
            insert
                .values([
                    Expr::val(zap.sender.to_hex()),
                    Expr::val(msat(zap.amount_msat)),
                    Expr::val(CONTRIBUTION_SOURCE_ZAP),
                    Expr::val(zap.receipt_id.to_hex()),
                    Expr::val(seconds(zap.created_at)),
                ])
                .map_err(query_error)?;
        }
        insert.on_conflict(OnConflict::new().do_nothing().to_owned());
        txn.execute(&insert).await?;
    }

    let rejected: Vec<(&Judged, &Rejection)> = judged
        .iter()
        .filter(|j| !j.junk)
        .filter_map(|j| j.verdict.as_ref().err().map(|r| (j, r)))
        .collect();
    for chunk in rejected.chunks(ROWS_PER_STATEMENT) {
        let mut insert = Query::insert();
        insert.into_table(rejected_receipt::Entity).columns([
            rejected_receipt::Column::ReceiptId,
            rejected_receipt::Column::Reason,
            rejected_receipt::Column::Detail,
            rejected_receipt::Column::RelayUrl,
            rejected_receipt::Column::EventJson,
            rejected_receipt::Column::ReceivedAt,
        ]);
        let mut rows: HashMap<String, RejectedZap> = HashMap::with_capacity(chunk.len());
        for (judged, rejection) in chunk {
            let receipt_id = judged.incoming.event.id.to_hex();
            insert
                .values([
                    Expr::val(receipt_id.clone()),
                    Expr::val(rejection.reason()),
                    Expr::val(rejection.to_string()),
                    Expr::val(judged.incoming.relay.as_str()),
                    Expr::val(judged.json.as_str()),
                    Expr::val(now),
                ])
                .map_err(query_error)?;
            rows.insert(
                receipt_id,
                RejectedZap {
                    receipt_id: judged.incoming.event.id,
                    reason: rejection.reason(),
                    received_at: judged.incoming.received_at,
                },
            );
        }
        insert
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .returning_col(rejected_receipt::Column::ReceiptId);
        let inserted = returned_ids(txn, &insert, "receipt_id").await?;
        let before = outcome.rejected.len();
        for id in inserted {
            if let Some(rejection) = rows.remove(&id) {
                outcome.rejected.push(rejection);
            }
        }
        outcome.duplicates += count(chunk.len() - (outcome.rejected.len() - before));
    }

    outcome.junk = count_junk(txn, judged, now).await?;

    if !cursors.is_empty() {
        let mut upsert = Query::insert();
        upsert.into_table(relay_cursor::Entity).columns([
            relay_cursor::Column::RelayUrl,
            relay_cursor::Column::Stream,
            relay_cursor::Column::LastSeenAt,
            relay_cursor::Column::UpdatedAt,
        ]);
        for cursor in cursors {
            upsert
                .values([
                    Expr::val(cursor.relay.as_str()),
                    Expr::val(ZAP_RECEIPT_STREAM),
                    Expr::val(seconds(cursor.last_seen_at)),
                    Expr::val(now),
                ])
                .map_err(query_error)?;
        }
        // Raw SQL for the one thing the builder cannot say portably: keep the larger value
        // (a cursor never moves back, even with several servers on one database).
        upsert.on_conflict(
            OnConflict::columns([relay_cursor::Column::RelayUrl, relay_cursor::Column::Stream])
                .value(
                    relay_cursor::Column::LastSeenAt,
                    Expr::cust(
                        "CASE WHEN excluded.last_seen_at > relay_cursors.last_seen_at \
                         THEN excluded.last_seen_at ELSE relay_cursors.last_seen_at END",
                    ),
                )
                .update_column(relay_cursor::Column::UpdatedAt)
                .to_owned(),
        );
        txn.execute(&upsert).await?;
    }

    if !outcome.recorded.is_empty() {
        receipt_feed::notify(txn).await?;
    }
    Ok(outcome)
}

/// Counts the batch's junk rejections per signer in `junk_receipt_signers`, then evicts the
/// least recently seen signers beyond [`JUNK_SIGNERS_KEPT`].
async fn count_junk<C: ConnectionTrait>(
    txn: &C,
    judged: &[Judged],
    now: i64,
) -> Result<Vec<JunkZap>, DbErr> {
    let mut junk = Vec::new();
    // Signer -> (receipts in this batch, the last one's reason).
    let mut signers: HashMap<PublicKey, (i64, &'static str)> = HashMap::new();
    for j in judged.iter().filter(|j| j.junk) {
        let Err(rejection) = &j.verdict else {
            continue;
        };
        let signer = j.incoming.event.pubkey;
        let entry = signers.entry(signer).or_insert((0, rejection.reason()));
        entry.0 += 1;
        entry.1 = rejection.reason();
        junk.push(JunkZap {
            receipt_id: j.incoming.event.id,
            signer,
            reason: rejection.reason(),
        });
    }
    if signers.is_empty() {
        return Ok(junk);
    }
    let signers: Vec<(PublicKey, (i64, &'static str))> = signers.into_iter().collect();
    for chunk in signers.chunks(ROWS_PER_STATEMENT) {
        let mut upsert = Query::insert();
        upsert.into_table(junk_receipt_signer::Entity).columns([
            junk_receipt_signer::Column::Signer,
            junk_receipt_signer::Column::Count,
            junk_receipt_signer::Column::FirstSeen,
            junk_receipt_signer::Column::LastSeen,
            junk_receipt_signer::Column::LastReason,
        ]);
        for (signer, (count, reason)) in chunk {
            upsert
                .values([
                    Expr::val(signer.to_hex()),
                    Expr::val(*count),
                    Expr::val(now),
                    Expr::val(now),
                    Expr::val(*reason),
                ])
                .map_err(query_error)?;
        }
        // Raw SQL for the one thing the builder cannot say: add to the stored count.
        upsert.on_conflict(
            OnConflict::column(junk_receipt_signer::Column::Signer)
                .value(
                    junk_receipt_signer::Column::Count,
                    Expr::cust("junk_receipt_signers.count + excluded.count"),
                )
                .update_columns([
                    junk_receipt_signer::Column::LastSeen,
                    junk_receipt_signer::Column::LastReason,
                ])
                .to_owned(),
        );
        txn.execute(&upsert).await?;
    }
    let rows = junk_receipt_signer::Entity::find().count(txn).await?;
    if rows > JUNK_SIGNERS_KEPT {
        let evicted: Vec<i64> = junk_receipt_signer::Entity::find()
            .select_only()
            .column(junk_receipt_signer::Column::Id)
            .order_by_asc(junk_receipt_signer::Column::LastSeen)
            .order_by_asc(junk_receipt_signer::Column::Id)
            .limit(rows - JUNK_SIGNERS_KEPT)
            .into_tuple()
            .all(txn)
            .await?;
        for ids in evicted.chunks(ROWS_PER_STATEMENT) {
            junk_receipt_signer::Entity::delete_many()
                .filter(junk_receipt_signer::Column::Id.is_in(ids.iter().copied()))
                .exec(txn)
                .await?;
        }
    }
    Ok(junk)
}

/// The cursor of `relay` on the zap receipt stream, if it has one.
pub async fn cursor<C: ConnectionTrait>(
    db: &C,
    relay: &RelayUrl,
) -> Result<Option<Timestamp>, DbErr> {
    let row: Option<i64> = relay_cursor::Entity::find()
        .select_only()
        .column(relay_cursor::Column::LastSeenAt)
        .filter(relay_cursor::Column::RelayUrl.eq(relay.as_str()))
        .filter(relay_cursor::Column::Stream.eq(ZAP_RECEIPT_STREAM))
        .into_tuple()
        .one(db)
        .await?;
    Ok(row.map(|secs| Timestamp::from_secs(u64::try_from(secs).unwrap_or(0))))
}

/// Reasons earlier versions rejected receipts for that the rules now only flag (DESIGN.md "Zaps
/// accepted": rules 4 and 7 are checks), or, for `bolt11_invalid`, may now accept (an invoice
/// without a payment hash or payment secret).
pub const REASONS_NOW_CHECKS: [&str; 5] = [
    "description_hash_mismatch",
    "invoice_without_description_hash",
    "preimage_mismatch",
    "preimage_not_unique",
    "bolt11_invalid",
];

/// How many kept rejections [`load_rejudgeable`] reads at most in one go.
pub const REJUDGE_AT_ONCE: u64 = 10_000;

/// The kept rejected receipts whose reason is one of [`REASONS_NOW_CHECKS`] (oldest first, at
/// most [`REJUDGE_AT_ONCE`]), as deliveries from the relay they came from, to be judged again
/// by today's rules ([`judge`], then [`record_rejudged`]). A row whose JSON or relay no longer
/// reads is skipped with a warning.
pub async fn load_rejudgeable<C: ConnectionTrait>(db: &C) -> Result<Vec<Incoming>, DbErr> {
    let rows: Vec<(String, String, String)> = rejected_receipt::Entity::find()
        .select_only()
        .column(rejected_receipt::Column::ReceiptId)
        .column(rejected_receipt::Column::RelayUrl)
        .column(rejected_receipt::Column::EventJson)
        .filter(rejected_receipt::Column::Reason.is_in(REASONS_NOW_CHECKS))
        .order_by_asc(rejected_receipt::Column::Id)
        .limit(REJUDGE_AT_ONCE)
        .into_tuple()
        .all(db)
        .await?;
    let mut incoming = Vec::with_capacity(rows.len());
    for (receipt_id, relay, json) in rows {
        match (Event::from_json(&json), RelayUrl::parse(&relay)) {
            (Ok(event), Ok(relay)) => incoming.push(Incoming {
                event: Arc::new(event),
                relay,
                received_at: Instant::now(),
            }),
            (Err(e), _) => {
                tracing::warn!(receipt = %receipt_id, error = %e, "kept rejected receipt does not read back")
            }
            (_, Err(e)) => {
                tracing::warn!(receipt = %receipt_id, error = %e, "kept rejected receipt's relay does not read back")
            }
        }
    }
    Ok(incoming)
}

/// Records the receipts of `judged` (from [`load_rejudgeable`]) that today's rules accept, and
/// removes their old rejection rows; the others keep their rows as they are. Idempotent: a
/// receipt recorded before (a crash between the two steps) is a duplicate whose row is then
/// removed.
pub async fn record_rejudged(
    db: &DatabaseConnection,
    judged: Vec<Judged>,
    now: Timestamp,
) -> Result<LedgerOutcome, DbErr> {
    let accepted: Vec<Judged> = judged.into_iter().filter(|j| j.verdict.is_ok()).collect();
    if accepted.is_empty() {
        return Ok(LedgerOutcome::default());
    }
    let outcome = record(db, &accepted, &[], now).await?;
    let ids: Vec<String> = accepted
        .iter()
        .map(|j| j.incoming.event.id.to_hex())
        .collect();
    let txn = db::begin_write(db).await?;
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        rejected_receipt::Entity::delete_many()
            .filter(rejected_receipt::Column::ReceiptId.is_in(chunk.iter().cloned()))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(outcome)
}

/// The anomalies of the recorded receipts created after `since` (unix seconds) that have any,
/// by receipt id: what a tally's `anomalies` counts among its counted receipts. Rows whose
/// column cannot be read (a name this version does not know) are skipped with a warning.
pub async fn load_anomalies<C: ConnectionTrait>(
    db: &C,
    since: u64,
) -> Result<HashMap<EventId, Anomalies>, DbErr> {
    let since = i64::try_from(since).unwrap_or(i64::MAX);
    let rows: Vec<(String, String)> = zap_receipt::Entity::find()
        .select_only()
        .column(zap_receipt::Column::ReceiptId)
        .column(zap_receipt::Column::Anomalies)
        .filter(zap_receipt::Column::ReceiptCreatedAt.gt(since))
        .filter(zap_receipt::Column::Anomalies.ne(""))
        .into_tuple()
        .all(db)
        .await?;
    let mut anomalies = HashMap::with_capacity(rows.len());
    for (receipt_id, text) in rows {
        match (EventId::from_hex(&receipt_id), Anomalies::parse(&text)) {
            (Ok(id), Ok(set)) => {
                anomalies.insert(id, set);
            }
            (_, Err(e)) => {
                tracing::warn!(receipt = %receipt_id, error = %e, "unreadable anomalies column")
            }
            (Err(e), _) => {
                tracing::warn!(receipt = %receipt_id, error = %e, "unreadable receipt id")
            }
        }
    }
    Ok(anomalies)
}

/// The known proposals a batch's zaps name.
struct Proposals {
    /// event id -> address
    by_event: HashMap<String, String>,
    /// address -> event id
    by_address: HashMap<String, String>,
}

impl Proposals {
    async fn lookup<'a, C: ConnectionTrait>(
        db: &C,
        zaps: impl Iterator<Item = &'a ValidZap>,
    ) -> Result<Proposals, DbErr> {
        let mut events = Vec::new();
        let mut addresses = Vec::new();
        for zap in zaps {
            if let Some(event) = zap.event() {
                events.push(event.to_hex());
            }
            if let Some(address) = zap.address() {
                addresses.push(address.to_owned());
            }
        }
        let mut proposals = Proposals {
            by_event: HashMap::new(),
            by_address: HashMap::new(),
        };
        if events.is_empty() && addresses.is_empty() {
            return Ok(proposals);
        }
        events.sort_unstable();
        events.dedup();
        addresses.sort_unstable();
        addresses.dedup();
        let rows: Vec<(String, String)> = governance_proposal::Entity::find()
            .select_only()
            .column(governance_proposal::Column::EventId)
            .column(governance_proposal::Column::Address)
            .filter(
                Condition::any()
                    .add(governance_proposal::Column::EventId.is_in(events))
                    .add(governance_proposal::Column::Address.is_in(addresses)),
            )
            .into_tuple()
            .all(db)
            .await?;
        for (event_id, address) in rows {
            proposals.by_event.insert(event_id.clone(), address.clone());
            proposals.by_address.insert(address, event_id);
        }
        Ok(proposals)
    }

    /// `(proposal_event_id, proposal_address)` of the proposal `zap` names: by its `e` tag
    /// first, else by its `a` tag (the address, compared as written: `ValidZap::address` is
    /// already `kind:hex:d` with every colon of `d` kept). A zap naming nothing we know is
    /// stored without a proposal.
    fn of(&self, zap: &ValidZap) -> (Option<String>, Option<String>) {
        if let Some(event) = zap.event().map(|e| e.to_hex()) {
            if let Some(address) = self.by_event.get(&event) {
                return (Some(event), Some(address.clone()));
            }
        }
        if let Some(address) = zap.address() {
            if let Some(event) = self.by_address.get(address) {
                return (Some(event.clone()), Some(address.to_owned()));
            }
        }
        (None, None)
    }
}

/// Runs an `INSERT ... RETURNING column` and gives the returned values.
async fn returned_ids<C: ConnectionTrait>(
    db: &C,
    insert: &sea_orm::sea_query::InsertStatement,
    column: &str,
) -> Result<Vec<String>, DbErr> {
    db.query_all(insert)
        .await?
        .iter()
        .map(|row| row.try_get::<String>("", column))
        .collect()
}

fn query_error(error: sea_orm::sea_query::error::Error) -> DbErr {
    DbErr::Custom(format!("building a ledger statement: {error}"))
}

/// Unix seconds as the database stores them.
fn seconds(timestamp: Timestamp) -> i64 {
    i64::try_from(timestamp.as_secs()).unwrap_or(i64::MAX)
}

/// Millisatoshis as the database stores them (21M BTC is 2.1e18 msat: no real amount saturates).
fn msat(amount: u64) -> i64 {
    i64::try_from(amount).unwrap_or(i64::MAX)
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
