//! The vote ledger: what the vote aggregator reads from and writes to the database.
//!
//! The rules themselves are pure ([`crate::votes`]); this module only moves their inputs and
//! outputs in and out of the tables, a handful of statements per call (never a round trip per
//! receipt):
//!
//! - [`load_proposals`]: every proposal with pinned rules, its vote targets and what its last
//!   tally was;
//! - [`record_target`]: a vote target of a proposal, one the service published (its
//!   announcement, its zap poll) or one the zap tracker learned from the relays, so a restart
//!   counts zaps to it; [`proposal_authors`]: which events are known proposals, and by whom,
//!   for deciding what a relay event is a target of;
//! - [`load_contributions`]: every recorded zap receipt from a moment on, as
//!   [`Contribution`]s (the `zap_receipts` table is the source of truth: a contribution is a
//!   valid receipt, and its vote is a function of the receipt and the proposal);
//! - [`record_votes`]: one `proposal_zap_votes` row per counted receipt, exactly once (the
//!   unique index on `receipt_id` decides, so a replay after a restart inserts nothing);
//! - [`record_tally`]: what was last published for a proposal, so a restart neither goes back
//!   in time (`created_at`) nor publishes the same numbers again (`tally_digest`).

use std::collections::{HashMap, HashSet};

use nostr_sdk::{Event, EventId, JsonUtil, Kind, PublicKey};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::nostr::events;
use crate::store::db;
use crate::store::entities::{
    governance_proposal, proposal_target, proposal_zap_vote, zap_receipt,
};
use crate::votes::{
    ballot_in, parse_keyword, parse_poll_option, BallotType, Contribution, ExplicitType, Proposal,
    Targets, VoteRules,
};

/// Rows per `INSERT` (10 columns): far below both databases' parameter limits.
const ROWS_PER_STATEMENT: usize = 500;

/// Receipts read per query when loading contributions, so a large history is streamed in
/// pages instead of one result set held twice.
const CONTRIBUTIONS_PER_PAGE: u64 = 20_000;

/// A proposal as stored, with what was last published for it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProposal {
    pub row_id: i64,
    pub proposal: Proposal,
    pub repository: String,
    pub title: String,
    /// `created_at` of the newest tally event published for it.
    pub tally_created_at: Option<u64>,
    pub tally_digest: Option<String>,
    pub tally_final: bool,
}

/// One `proposal_zap_votes` row: a counted receipt. `vote_weight` is the receipt's own
/// quadratic weight, `sqrt(amount_btc)`; the sender's combined, capped weight is the tally's.
#[derive(Debug, Clone, PartialEq)]
pub struct VoteRow {
    pub pr_id: u64,
    pub proposal: EventId,
    pub sender: PublicKey,
    pub receipt_id: EventId,
    pub amount_msat: u64,
    /// The type the receipt says itself: `sealed` for a sealed ballot (never its opened type).
    pub vote_type: BallotType,
    pub created_at: u64,
}

impl VoteRow {
    /// The row for `contribution`, a vote on `proposal`: its type is the one it says itself
    /// ([`Proposal::explicit_type`]), support when it says none.
    pub fn new(proposal: &Proposal, contribution: &Contribution) -> VoteRow {
        VoteRow {
            pr_id: proposal.pr,
            proposal: proposal.id,
            sender: contribution.sender,
            receipt_id: contribution.receipt_id,
            amount_msat: contribution.amount_msat,
            vote_type: ExplicitType::recorded_type(proposal.explicit_type(contribution).as_ref()),
            created_at: contribution.created_at,
        }
    }
}

/// Every proposal whose content pinned vote rules. A row whose rules do not parse is logged
/// and left out (it cannot be tallied by anyone).
pub async fn load_proposals(db: &DatabaseConnection) -> Result<Vec<StoredProposal>, DbErr> {
    let rows = governance_proposal::Entity::find()
        .filter(governance_proposal::Column::Rules.is_not_null())
        .all(db)
        .await?;
    let mut targets = load_targets(db, None).await?;
    let mut proposals = Vec::with_capacity(rows.len());
    for row in rows {
        let theirs = targets.remove(&row.event_id).unwrap_or_default();
        match stored_proposal(&row, theirs) {
            Ok(stored) => proposals.push(stored),
            Err(e) => {
                tracing::error!(proposal = %row.event_id, error = %e, "cannot read a proposal's pinned rules; it gets no tally")
            }
        }
    }
    Ok(proposals)
}

/// One proposal by event id (with pinned rules), if stored.
pub async fn load_proposal(
    db: &DatabaseConnection,
    id: &EventId,
) -> Result<Option<StoredProposal>, DbErr> {
    let row = governance_proposal::Entity::find()
        .filter(governance_proposal::Column::EventId.eq(id.to_hex()))
        .filter(governance_proposal::Column::Rules.is_not_null())
        .one(db)
        .await?;
    match row {
        None => Ok(None),
        Some(row) => {
            let targets = load_targets(db, Some(&row.event_id))
                .await?
                .remove(&row.event_id)
                .unwrap_or_default();
            stored_proposal(&row, targets)
                .map(Some)
                .map_err(DbErr::Custom)
        }
    }
}

/// The stored vote targets of one proposal (`Some(event id hex)`) or of all, by proposal.
/// A row that cannot be read back (which [`record_target`] never writes) is logged and left
/// out.
async fn load_targets(
    db: &DatabaseConnection,
    proposal: Option<&str>,
) -> Result<HashMap<String, Targets>, DbErr> {
    let mut query = proposal_target::Entity::find();
    if let Some(proposal) = proposal {
        query = query.filter(proposal_target::Column::ProposalEventId.eq(proposal));
    }
    let mut targets: HashMap<String, Targets> = HashMap::new();
    for row in query.all(db).await? {
        let kind = u16::try_from(row.kind).ok().map(Kind::from);
        match (EventId::from_hex(&row.target_event_id).ok(), kind) {
            (Some(id), Some(kind)) => targets
                .entry(row.proposal_event_id)
                .or_default()
                .insert(id, kind),
            _ => {
                tracing::error!(target = %row.target_event_id, "unreadable proposal_targets row; zaps to it are not counted")
            }
        }
    }
    Ok(targets)
}

/// Records `target` (of kind `kind`) as a vote target of `proposal`; recording it again does
/// nothing (the unique index on the target decides, so several relays, or several servers,
/// delivering it make one row). Returns whether the row is new.
pub async fn record_target(
    db: &DatabaseConnection,
    proposal: &EventId,
    target: &EventId,
    kind: Kind,
    now: u64,
) -> Result<bool, DbErr> {
    let mut insert = Query::insert();
    insert
        .into_table(proposal_target::Entity)
        .columns([
            proposal_target::Column::ProposalEventId,
            proposal_target::Column::TargetEventId,
            proposal_target::Column::Kind,
            proposal_target::Column::CreatedAt,
        ])
        .values([
            Expr::val(proposal.to_hex()),
            Expr::val(target.to_hex()),
            Expr::val(i32::from(kind.as_u16())),
            Expr::val(i64::try_from(now).unwrap_or(i64::MAX)),
        ])
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .on_conflict(OnConflict::new().do_nothing().to_owned());
    let db = db.clone();
    db::detached(async move {
        sea_orm::ConnectionTrait::execute(&db, &insert)
            .await
            .map(|done| done.rows_affected() > 0)
    })
    .await
}

/// The known proposals (with pinned rules) among `ids`, each with its author (the pubkey of
/// its address). A row whose address cannot be read is logged and left out.
pub async fn proposal_authors(
    db: &DatabaseConnection,
    ids: &[EventId],
) -> Result<HashMap<EventId, PublicKey>, DbErr> {
    let mut authors = HashMap::new();
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let hex: Vec<String> = chunk.iter().map(EventId::to_hex).collect();
        let rows: Vec<(String, String)> = governance_proposal::Entity::find()
            .select_only()
            .column(governance_proposal::Column::EventId)
            .column(governance_proposal::Column::Address)
            .filter(governance_proposal::Column::EventId.is_in(hex))
            .filter(governance_proposal::Column::Rules.is_not_null())
            .into_tuple()
            .all(db)
            .await?;
        for (id, address) in rows {
            let id = EventId::from_hex(&id).ok();
            let author = events::parse_address(&address)
                .ok()
                .map(|coordinate| coordinate.public_key);
            match id.zip(author) {
                Some((id, author)) => {
                    authors.insert(id, author);
                }
                None => {
                    tracing::error!(%address, "unreadable governance_proposals row; it gets no learned vote target")
                }
            }
        }
    }
    Ok(authors)
}

fn stored_proposal(
    row: &governance_proposal::Model,
    targets: Targets,
) -> Result<StoredProposal, String> {
    let rules: VoteRules = serde_json::from_str(row.rules.as_deref().unwrap_or_default())
        .map_err(|e| format!("rules: {e}"))?;
    let id = EventId::from_hex(&row.event_id).map_err(|e| format!("event_id: {e}"))?;
    let non_negative =
        |name: &str, v: i64| u64::try_from(v).map_err(|_| format!("{name}: negative value {v}"));
    Ok(StoredProposal {
        row_id: row.id,
        proposal: Proposal {
            id,
            address: row.address.clone(),
            pr: non_negative("pr", row.pr)?,
            tier: u8::try_from(row.tier).map_err(|_| format!("tier: {}", row.tier))?,
            window_start: non_negative("voting_start", row.voting_start)?,
            window_end: non_negative("voting_end", row.voting_end)?,
            rules,
            targets,
        },
        repository: row.repository.clone(),
        title: row.title.clone(),
        tally_created_at: row.tally_created_at.and_then(|v| u64::try_from(v).ok()),
        tally_digest: row.tally_digest.clone(),
        tally_final: row.tally_final,
    })
}

/// Every recorded receipt with `created_at > since`, as a contribution. Rows that cannot be
/// read back (which the ledger never writes) are logged and skipped.
pub async fn load_contributions(
    db: &DatabaseConnection,
    since: u64,
) -> Result<Vec<Contribution>, DbErr> {
    type Row = (
        i64,
        String,
        String,
        String,
        Option<String>,
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        i64,
        bool,
    );
    let since = i64::try_from(since).unwrap_or(i64::MAX);
    let mut contributions = Vec::new();
    let mut after_id = 0i64;
    loop {
        let rows: Vec<Row> = zap_receipt::Entity::find()
            .select_only()
            .column(zap_receipt::Column::Id)
            .column(zap_receipt::Column::ReceiptId)
            .column(zap_receipt::Column::SenderPubkey)
            .column(zap_receipt::Column::RecipientPubkey)
            .column(zap_receipt::Column::ZapperPubkey)
            .column(zap_receipt::Column::AmountMsat)
            .column(zap_receipt::Column::ZappedEventId)
            .column(zap_receipt::Column::ZappedAddress)
            .column(zap_receipt::Column::PollOption)
            .column(zap_receipt::Column::ZapRequestContent)
            .column(zap_receipt::Column::ReceiptCreatedAt)
            .column(zap_receipt::Column::PrivateZap)
            .filter(zap_receipt::Column::ReceiptCreatedAt.gt(since))
            .filter(zap_receipt::Column::Id.gt(after_id))
            .order_by_asc(zap_receipt::Column::Id)
            .limit(CONTRIBUTIONS_PER_PAGE)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = rows.last() else { break };
        after_id = last.0;
        let full_page = rows.len() as u64 == CONTRIBUTIONS_PER_PAGE;
        contributions.reserve(rows.len());
        for (
            _,
            receipt_id,
            sender,
            recipient,
            zapper,
            msat,
            event,
            address,
            option,
            content,
            at,
            private_zap,
        ) in rows
        {
            let zapper = match zapper {
                Some(zapper) => Some(zapper),
                None => zapper_from_json(db, &receipt_id).await?,
            };
            let row = ReceiptRow {
                receipt_id,
                sender,
                recipient,
                zapper,
                amount_msat: msat,
                zapped_event_id: event,
                zapped_address: address,
                poll_option: option,
                content,
                created_at: at,
                private_zap,
            };
            let receipt_id = row.receipt_id.clone();
            match row.contribution() {
                Some(contribution) => contributions.push(contribution),
                None => {
                    tracing::error!(receipt = %receipt_id, "unreadable zap_receipts row; left out of tallies")
                }
            }
        }
        if !full_page {
            break;
        }
    }
    Ok(contributions)
}

/// The `zap_receipts` columns a contribution is made of, as stored.
#[derive(Debug, Clone)]
pub struct ReceiptRow {
    pub receipt_id: String,
    pub sender: String,
    pub recipient: String,
    /// `None` on rows recorded before the column existed (read from the JSON instead).
    pub zapper: Option<String>,
    pub amount_msat: i64,
    /// The zap request's `e` and `a` tags, and its `poll_option`.
    pub zapped_event_id: Option<String>,
    pub zapped_address: Option<String>,
    pub poll_option: Option<String>,
    pub content: String,
    pub created_at: i64,
    pub private_zap: bool,
}

impl ReceiptRow {
    /// The contribution the row is; `None` when a column cannot be read back (the ledger never
    /// writes such a row).
    pub fn contribution(self) -> Option<Contribution> {
        Some(Contribution {
            receipt_id: EventId::from_hex(&self.receipt_id).ok()?,
            sender: PublicKey::from_hex(&self.sender).ok()?,
            recipient: PublicKey::from_hex(&self.recipient).ok()?,
            zapper: PublicKey::from_hex(self.zapper.as_deref()?).ok()?,
            amount_msat: u64::try_from(self.amount_msat).ok()?,
            created_at: u64::try_from(self.created_at).ok()?,
            event: self
                .zapped_event_id
                .as_deref()
                .and_then(|e| EventId::from_hex(e).ok()),
            address: self.zapped_address,
            keyword: parse_keyword(&self.content),
            poll_option: self.poll_option.as_deref().and_then(parse_poll_option),
            ballot: ballot_in(&self.content),
            private_zap: self.private_zap,
        })
    }
}

/// The event id of every proposal with pinned rules, with how many vote targets it has
/// stored (the cheap check for what another server published: a proposal's targets are
/// recorded after its row).
pub async fn proposal_ids(db: &DatabaseConnection) -> Result<Vec<(EventId, usize)>, DbErr> {
    let rows: Vec<String> = governance_proposal::Entity::find()
        .select_only()
        .column(governance_proposal::Column::EventId)
        .filter(governance_proposal::Column::Rules.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    let targets: Vec<String> = proposal_target::Entity::find()
        .select_only()
        .column(proposal_target::Column::ProposalEventId)
        .into_tuple()
        .all(db)
        .await?;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for proposal in targets {
        *counts.entry(proposal).or_default() += 1;
    }
    Ok(rows
        .iter()
        .filter_map(|id| {
            let count = counts.get(id).copied().unwrap_or(0);
            EventId::from_hex(id).ok().map(|id| (id, count))
        })
        .collect())
}

/// The author of a receipt recorded before `zapper_pubkey` existed, from its stored JSON.
async fn zapper_from_json(
    db: &DatabaseConnection,
    receipt_id: &str,
) -> Result<Option<String>, DbErr> {
    let json: Option<String> = zap_receipt::Entity::find()
        .select_only()
        .column(zap_receipt::Column::EventJson)
        .filter(zap_receipt::Column::ReceiptId.eq(receipt_id))
        .into_tuple()
        .one(db)
        .await?;
    Ok(json.and_then(|json| Event::from_json(json).ok().map(|e| e.pubkey.to_hex())))
}

/// The receipt ids that already have a `proposal_zap_votes` row, among `proposals`.
pub async fn recorded_vote_receipts(
    db: &DatabaseConnection,
    proposals: &[EventId],
) -> Result<HashSet<EventId>, DbErr> {
    let mut found = HashSet::new();
    for chunk in proposals.chunks(ROWS_PER_STATEMENT) {
        let ids: Vec<String> = chunk.iter().map(EventId::to_hex).collect();
        let rows: Vec<String> = proposal_zap_vote::Entity::find()
            .select_only()
            .column(proposal_zap_vote::Column::ReceiptId)
            .filter(proposal_zap_vote::Column::GovernanceEventId.is_in(ids))
            .into_tuple()
            .all(db)
            .await?;
        found.extend(rows.iter().filter_map(|id| EventId::from_hex(id).ok()));
    }
    Ok(found)
}

/// Inserts the rows in one transaction (its own task, see [`db::detached`]); rows whose
/// receipt already has one are left as they are. Returns how many were new.
pub async fn record_votes(db: &DatabaseConnection, votes: Vec<VoteRow>) -> Result<u64, DbErr> {
    if votes.is_empty() {
        return Ok(0);
    }
    let db = db.clone();
    db::detached(async move {
        let txn = db::begin_write(&db).await?;
        let mut inserted = 0;
        for chunk in votes.chunks(ROWS_PER_STATEMENT) {
            let mut insert = Query::insert();
            insert.into_table(proposal_zap_vote::Entity).columns([
                proposal_zap_vote::Column::PrId,
                proposal_zap_vote::Column::GovernanceEventId,
                proposal_zap_vote::Column::SenderPubkey,
                proposal_zap_vote::Column::AmountMsat,
                proposal_zap_vote::Column::AmountBtc,
                proposal_zap_vote::Column::VoteWeight,
                proposal_zap_vote::Column::VoteType,
                proposal_zap_vote::Column::Timestamp,
                proposal_zap_vote::Column::Verified,
                proposal_zap_vote::Column::ReceiptId,
            ]);
            for vote in chunk {
                let btc = crate::votes::btc(vote.amount_msat);
                insert
                    .values([
                        Expr::val(i64::try_from(vote.pr_id).unwrap_or(i64::MAX)),
                        Expr::val(vote.proposal.to_hex()),
                        Expr::val(vote.sender.to_hex()),
                        Expr::val(i64::try_from(vote.amount_msat).unwrap_or(i64::MAX)),
                        Expr::val(btc),
                        Expr::val(btc.sqrt()),
                        Expr::val(vote.vote_type.as_str()),
                        Expr::val(i64::try_from(vote.created_at).unwrap_or(i64::MAX)),
                        // Only receipts that passed every NIP-57 rule become votes.
                        Expr::val(true),
                        Expr::val(vote.receipt_id.to_hex()),
                    ])
                    .map_err(|e| DbErr::Custom(e.to_string()))?;
            }
            insert.on_conflict(OnConflict::new().do_nothing().to_owned());
            inserted += sea_orm::ConnectionTrait::execute(&txn, &insert)
                .await?
                .rows_affected();
        }
        txn.commit().await?;
        Ok(inserted)
    })
    .await
}

/// Remembers what was published for the proposal in row `row_id`.
pub async fn record_tally(
    db: &DatabaseConnection,
    row_id: i64,
    created_at: u64,
    digest: String,
    is_final: bool,
) -> Result<(), DbErr> {
    let db = db.clone();
    db::detached(async move {
        governance_proposal::Entity::update(governance_proposal::ActiveModel {
            id: Set(row_id),
            tally_created_at: Set(Some(i64::try_from(created_at).unwrap_or(i64::MAX))),
            tally_digest: Set(Some(digest)),
            tally_final: Set(is_final),
            ..Default::default()
        })
        .exec(&db)
        .await
        .map(drop)
    })
    .await
}
