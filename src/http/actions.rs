//! `POST /v1/actions`: publishes a governance action (DESIGN.md, "Events published").
//!
//! The body is parsed and validated completely ([`GovernanceAction::parse`]) before anything is
//! written, so a refused request (400 naming the field) leaves nothing in the database or the
//! outbox. Then, in this order:
//!
//! 0. a `review-period` pins its vote rules (DESIGN.md "Votes"): the `[governance]` settings
//!    of the moment, its tier's threshold, the LNURL provider keys known now (`zappers`) and
//!    the bots' keys, in its content's `rules` and its row; its tally uses these for good. With
//!    `governance.sealed_ballots`, also the gov bot's ballot key for it (`rules.sealed`, and a
//!    `ballot_key` tag);
//! 1. a `review-period` claims its row in `governance_proposals` (event id, address,
//!    repository, pr, tier, title, voting window), so the zap tracker can find the proposal
//!    the moment a zap names it. The event id is known before signing: it is the hash of the
//!    unsigned event, whose `created_at` is pinned. The row is unique by address, which makes
//!    the claim the one atomic check against a second review period for the same pull request
//!    (409 naming `pr`), across every server sharing the database;
//! 2. the gov bot signs the kind-30078 action event and commits it to the outbox (a failure
//!    here releases the claim, so the request leaves nothing behind);
//! 3. the action is appended to the audit log (`entry_type` = the action, `entry` = the event
//!    content plus `event_id` and `address`);
//! 4. a `review-period`'s kind-6969 zap poll (options 0 support, 1 veto, 2 abstain,
//!    `closed_at` = the window's end, `e`/`a` to the proposal, `t` = `governance-proposal`) is
//!    published by the gov bot and recorded as one of the proposal's vote targets
//!    (`proposal_targets`);
//! 5. the gov bot publishes the kind-1 announcement, with `e` and `a` tags to the action event
//!    (a review period's also `t` = `governance-proposal`, a text saying how to vote, and a link
//!    to the zap poll), recorded as a vote target too; then the vote aggregator is told of the
//!    proposal, and loads it with its targets.
//!
//! Steps 3 to 5 come after the event is committed and cannot undo it: if one fails, the answer
//! is a 500 that says the event stands and what did not happen.
//!
//! [`publish`] is this whole path after parsing; GitHub's webhook ([`super::github`]) takes it
//! too, so an action from a pull request is published exactly as one from this route.
//!
//! Answer: `201 {"event_id": "<hex>", "address": "30078:<pubkey>:<d>", "naddr": "naddr1...",
//! "announcement_id": "<hex>", "announcement_nevent": "nevent1...", "poll_id": "<hex>",
//! "poll_nevent": "nevent1..."}` (the poll only for a review period; the links carry relay
//! hints).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use nostr_sdk::{EventId, Kind, Timestamp};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, SqlErr,
    TransactionTrait,
};
use serde::Serialize;
use serde_json::Value;

use super::ballot_key_pins::{self, PinError};
use super::bots::{ask_bot, database_unavailable, known_bot, publish_as};
use super::error::{read_body, ApiError};
use crate::actors::audit_head::{self, AppendEntry};
use crate::actors::bot::{GetBallotKey, GetIdentity};
use crate::actors::supervision::ToChild;
use crate::actors::vote_aggregator::{self, ProposalAdded};
use crate::http::handles::ServiceHandles;
use crate::nostr::ballot_keys::{BallotHolder, SealedRules};
use crate::nostr::events;
use crate::nostr::governance_action::{GovernanceAction, GovernanceActionRequest};
use crate::nostr::nip57::{ZapRecipients, Zapper};
use crate::nostr::zap_recipients::RecipientTable;
use crate::store::entities::governance_proposal;
use crate::store::vote_ledger;
use crate::votes::VoteRules;

/// The bot that signs governance actions and their announcements.
pub const GOV_BOT: &str = "gov";

/// What a published action answers.
#[derive(Debug, Clone, Serialize)]
pub struct ActionPublished {
    pub event_id: String,
    pub address: String,
    /// The action's address as a NIP-19 link, with relay hints.
    pub naddr: String,
    pub announcement_id: String,
    pub announcement_nevent: String,
    /// A review period's zap poll.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_nevent: Option<String>,
    /// What the operator should know, e.g. a bot whose LNURL provider key was not known when
    /// the proposal pinned its rules (receipts from that provider will not count for it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Why [`publish`] failed, and whether the action's event was committed all the same (a step
/// after step 2 failed: the event stands).
#[derive(Debug)]
pub struct ActionFailure {
    pub error: ApiError,
    /// The action event, when it was committed before the failure.
    pub published: Option<EventId>,
}

impl From<ApiError> for ActionFailure {
    fn from(error: ApiError) -> ActionFailure {
        ActionFailure {
            error,
            published: None,
        }
    }
}

/// `POST /v1/actions`.
pub async fn create(
    handles: web::Data<ServiceHandles>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(payload).await?;
    let now = Timestamp::now();
    let action = GovernanceAction::parse(GovernanceActionRequest::from_json(&body)?, now)?;
    let published = publish(&handles, &action, now)
        .await
        .map_err(|failure| failure.error)?;
    Ok(HttpResponse::build(StatusCode::CREATED).json(published))
}

/// Publishes a parsed action through steps 0 to 5 of the module doc: the one path every
/// governance action takes, from `POST /v1/actions` and from GitHub's webhook alike. `now` is
/// the moment the action's window opens and its event's `created_at`.
pub async fn publish(
    handles: &ServiceHandles,
    action: &GovernanceAction,
    now: Timestamp,
) -> Result<ActionPublished, ActionFailure> {
    let proposal_pr = match action.voting_window() {
        Some(_) => Some(proposal_pr(action)?),
        None => None,
    };

    // Everything below needs the gov bot; ask it who it is (and so whether it is up) first.
    known_bot(handles, GOV_BOT)
        .map_err(|_| ApiError::unavailable("no gov bot is configured ([nostr.bots.gov])"))?;
    let gov = ask_bot(handles, GOV_BOT, GetIdentity).await?;
    let zap = action
        .invites_zaps()
        .then_some(gov.lightning_address.as_str());
    let mut warnings = Vec::new();
    let mut content = action.content();
    if action.voting_window().is_some() {
        let mut rules = pinned_rules(handles, action, &mut warnings);
        if handles.settings.governance.sealed_ballots {
            // The gov bot's ballot key for this proposal (derived, never stored).
            let proposal_d = action.d_tag();
            let key = ask_bot(handles, GOV_BOT, GetBallotKey { proposal_d }).await?;
            // Then each independent holder's first unused key (a 503 naming the holder when
            // one has none), and the signed pool events they came from.
            let taken = ballot_key_pins::take_keys(handles).await?;
            let mut holders = vec![BallotHolder {
                holder: gov.pubkey,
                key,
            }];
            holders.extend(taken.holders);
            rules.sealed = Some(SealedRules::new(holders));
            content.ballot_key_pools = taken.pools;
        }
        content.rules = Some(rules);
    }
    let builder = crate::nostr::governance_action::governance_action_content(
        action,
        &content,
        &handles.settings.nostr.governance_config,
        zap,
    )
    .custom_created_at(now);
    let event_id = builder.clone().build(gov.pubkey).id();
    let d = action.d_tag();
    let address = events::proposal_address(&gov.pubkey, &d);
    let coordinate = events::proposal_coordinate(&gov.pubkey, &d);

    // 1. Claim the proposal row.
    let claim = match proposal_pr {
        Some(pr) => Some(
            claim_proposal(
                handles,
                action,
                ProposalClaim {
                    pr,
                    event_id,
                    address: &address,
                    rules: content.rules.as_ref(),
                },
                now,
            )
            .await?,
        ),
        None => None,
    };

    // 2. The action event.
    let published = match publish_as(handles, GOV_BOT, builder).await {
        Ok(published) => published,
        Err(e) => {
            if let Some(id) = claim {
                release_claim(handles, id).await;
            }
            return Err(e.into());
        }
    };
    let after_publishing = |step: &str, e: &dyn std::fmt::Display| {
        tracing::error!(event_id = %published.event_id, %address, step, error = %e, "governance action published, a later step failed");
        ActionFailure {
            error: ApiError::internal(format!(
                "the action was published as event {} ({address}), but {step} failed: {e}",
                published.event_id.to_hex()
            )),
            published: Some(published.event_id),
        }
    };
    if published.event_id != event_id {
        // Cannot happen (the bot signs exactly this unsigned event), but the row must name the
        // event that went out.
        if let Some(id) = claim {
            fix_claimed_event_id(handles, id, published.event_id)
                .await
                .map_err(|e| after_publishing("recording the proposal's event id", &e))?;
        }
    }

    // 3. The audit log.
    let mut entry = serde_json::to_value(&content)
        .map_err(|e| after_publishing("writing the audit entry", &e))?;
    if let Value::Object(fields) = &mut entry {
        fields.insert("event_id".into(), published.event_id.to_hex().into());
        fields.insert("address".into(), address.clone().into());
    }
    let appended = handles
        .audit
        .send(ToChild {
            name: audit_head::CHILD_NAME.to_owned(),
            msg: AppendEntry {
                entry_type: action.kind().as_str().to_owned(),
                entry,
            },
        })
        .await;
    match appended {
        Ok(Ok(Ok(_))) => {}
        Ok(Ok(Err(e))) => return Err(after_publishing("the audit log append", &e)),
        Ok(Err(e)) => return Err(after_publishing("the audit log append", &e)),
        Err(e) => return Err(after_publishing("the audit log append", &e)),
    }

    // 4. A review period's zap poll, then 5. the announcement (which links the poll). Both
    // carry `t` = `governance-proposal`, which makes them vote targets; each is recorded as
    // one once it is committed to the outbox, before the aggregator is told of the proposal.
    let relays = &handles.relay_urls;
    let poll = match (claim, action.zap_poll_content(content.rules.as_ref())) {
        (Some(_), Some(text)) => {
            let alt = action.zap_poll_alt().unwrap_or_default();
            let closed_at = action.voting_window().map_or(now, |w| w.end());
            let builder = events::zap_poll(&events::ZapPoll {
                proposal: published.event_id,
                address: &coordinate,
                gov: gov.pubkey,
                relay: relays.first(),
                closed_at,
                content: &text,
                alt: &alt,
            });
            let poll = publish_as(handles, GOV_BOT, builder)
                .await
                .map_err(|e| after_publishing("the zap poll", &e))?;
            record_target(
                handles,
                published.event_id,
                poll.event_id,
                events::kind::ZAP_POLL,
            )
            .await
            .map_err(|e| after_publishing("recording the zap poll as a vote target", &e))?;
            Some(poll.event_id)
        }
        _ => None,
    };
    let poll_nevent = poll.map(|id| events::nevent(id, gov.pubkey, events::kind::ZAP_POLL, relays));
    let hashtags = action.announcement_hashtags();
    let note = events::announcement_note(
        &action.announcement_with(
            Some(&coordinate),
            relays,
            poll_nevent.as_deref(),
            content
                .rules
                .as_ref()
                .and_then(|r| r.sealed.as_ref())
                .map(|_| &published.event_id),
        ),
        Some(published.event_id),
        Some(&coordinate),
        &hashtags,
    );
    let announcement = publish_as(handles, GOV_BOT, note)
        .await
        .map_err(|e| after_publishing("the announcement note", &e))?;
    if claim.is_some() {
        record_target(
            handles,
            published.event_id,
            announcement.event_id,
            events::kind::TEXT_NOTE,
        )
        .await
        .map_err(|e| after_publishing("recording the announcement as a vote target", &e))?;
    }

    if claim.is_some() {
        // Once this answers, the tally routes know the proposal. If the aggregator is down,
        // it loads every proposal from the database when it is back.
        let tracked = handles
            .votes
            .send(ToChild {
                name: vote_aggregator::CHILD_NAME.to_owned(),
                msg: ProposalAdded(published.event_id),
            })
            .await;
        if !matches!(tracked, Ok(Ok(()))) {
            tracing::warn!(event_id = %published.event_id, "the vote aggregator is restarting; it will load the proposal when it is back");
        }
    }
    tracing::info!(
        action = action.kind().as_str(),
        event_id = %published.event_id,
        %address,
        "governance action published"
    );
    Ok(ActionPublished {
        event_id: published.event_id.to_hex(),
        naddr: events::naddr(&coordinate, relays),
        address,
        announcement_id: announcement.event_id.to_hex(),
        announcement_nevent: events::nevent(
            announcement.event_id,
            gov.pubkey,
            events::kind::TEXT_NOTE,
            relays,
        ),
        poll_id: poll.map(|id| id.to_hex()),
        poll_nevent,
        warnings,
    })
}

/// Records `target` (published by the gov bot, tagging `proposal` with `t` =
/// `governance-proposal`) as one of the proposal's vote targets.
async fn record_target(
    handles: &ServiceHandles,
    proposal: EventId,
    target: EventId,
    kind: Kind,
) -> Result<(), sea_orm::DbErr> {
    let now = Timestamp::now().as_secs();
    let recorded = vote_ledger::record_target(&handles.db, &proposal, &target, kind, now).await;
    if recorded.is_err() {
        handles.metrics.database_error("proposal_target");
    }
    recorded.map(drop)
}

/// The pull-request number of a review period, as the `governance_proposals.pr` column holds it.
fn proposal_pr(action: &GovernanceAction) -> Result<i64, ApiError> {
    let number = action.pull_request().map(|pr| pr.number()).unwrap_or(0);
    i64::try_from(number).map_err(|_| ApiError::invalid("pr", "too large"))
}

fn unix(at: Timestamp) -> i64 {
    i64::try_from(at.as_secs()).unwrap_or(i64::MAX)
}

/// The vote rules a new proposal pins: today's `[governance]` settings, its tier's threshold,
/// every LNURL provider key known now and every bot's key. A bot whose provider key is not
/// known yet is named in `warnings`: receipts its provider signs will not count for this
/// proposal, and nothing can change that later (the rules are pinned).
fn pinned_rules(
    handles: &ServiceHandles,
    action: &GovernanceAction,
    warnings: &mut Vec<String>,
) -> VoteRules {
    let table = RecipientTable::new(&handles.zap_bots, &handles.zapper_cache);
    let mut zappers = Vec::new();
    for bot in &handles.zap_bots {
        match table.zapper(&bot.pubkey) {
            Some(Zapper::Known(key)) => zappers.push(key),
            _ => {
                let warning = format!(
                    "bot {}: its LNURL provider key ({}) is not known yet, so its zap receipts will not count for this proposal; set nostr.bots.{}.zapper_pubkey to avoid this",
                    bot.name, bot.lightning_address, bot.name
                );
                tracing::warn!("{warning}");
                warnings.push(warning);
            }
        }
    }
    let bots = handles.zap_bots.iter().map(|bot| bot.pubkey).collect();
    VoteRules::new(
        &handles.settings.governance,
        action.tier().get(),
        zappers,
        bots,
    )
}

/// What a review period's row records besides the action itself.
struct ProposalClaim<'a> {
    pr: i64,
    event_id: EventId,
    address: &'a str,
    rules: Option<&'a VoteRules>,
}

/// Inserts the proposal row; a second review period for the same pull request is a 409.
async fn claim_proposal(
    handles: &ServiceHandles,
    action: &GovernanceAction,
    claim: ProposalClaim<'_>,
    now: Timestamp,
) -> Result<i64, ApiError> {
    let ProposalClaim {
        pr,
        event_id,
        address,
        rules,
    } = claim;
    let rules_pinned = rules;
    let rules = rules
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| ApiError::internal(format!("cannot write the pinned rules: {e}")))?;
    let (Some(pull_request), Some(window)) = (action.pull_request(), action.voting_window()) else {
        return Err(ApiError::internal(
            "a review period without its pull request",
        ));
    };
    // The row and the independent holders' pinned keys, together or not at all.
    let independent: Vec<BallotHolder> = rules_pinned
        .and_then(|r| r.sealed.as_ref())
        .map(|sealed| sealed.holders.iter().skip(1).cloned().collect())
        .unwrap_or_default();
    let row = governance_proposal::ActiveModel {
        event_id: Set(event_id.to_hex()),
        address: Set(address.to_owned()),
        repository: Set(pull_request.repository().as_str().to_owned()),
        pr: Set(pr),
        tier: Set(i32::from(action.tier().get())),
        title: Set(action.title().to_owned()),
        voting_start: Set(unix(window.start())),
        voting_end: Set(unix(window.end())),
        created_at: Set(unix(now)),
        rules: Set(rules),
        ..Default::default()
    };
    let txn = handles.db.begin().await.map_err(|e| {
        handles.metrics.database_error("proposal_claim");
        database_unavailable(&e)
    })?;
    match row.insert(&txn).await {
        Ok(row) => {
            match ballot_key_pins::record_pins(&txn, row.id, &independent, unix(now)).await {
                Ok(()) => {}
                Err(PinError::Taken(answer)) => return Err(answer),
                Err(PinError::Database(e)) => {
                    handles.metrics.database_error("proposal_claim");
                    return Err(database_unavailable(&e));
                }
            }
            txn.commit().await.map_err(|e| {
                handles.metrics.database_error("proposal_claim");
                database_unavailable(&e)
            })?;
            Ok(row.id)
        }
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            // Give the connection back before reading the existing row.
            let _ = txn.rollback().await;
            let existing = governance_proposal::Entity::find()
                .filter(governance_proposal::Column::Address.eq(address))
                .one(&handles.db)
                .await
                .ok()
                .flatten();
            let which = existing
                .map(|p| format!(" as proposal {}", p.event_id))
                .unwrap_or_default();
            Err(ApiError::field(
                StatusCode::CONFLICT,
                "pr",
                format!("pr: a review period for {pull_request} was already published{which}"),
            ))
        }
        Err(e) => {
            handles.metrics.database_error("proposal_claim");
            Err(database_unavailable(&e))
        }
    }
}

/// Removes a claimed proposal row whose event could not be published.
async fn release_claim(handles: &ServiceHandles, id: i64) {
    if let Err(e) = ballot_key_pins::release_pins(&handles.db, id).await {
        tracing::error!(proposal_row = id, error = %e, "cannot release the ballot keys pinned by an unpublished proposal");
    }
    if let Err(e) = governance_proposal::Entity::delete_by_id(id)
        .exec(&handles.db)
        .await
    {
        tracing::error!(proposal_row = id, error = %e, "cannot release the claim of an unpublished proposal");
    }
}

async fn fix_claimed_event_id(
    handles: &ServiceHandles,
    id: i64,
    event_id: EventId,
) -> Result<(), sea_orm::DbErr> {
    governance_proposal::ActiveModel {
        id: Set(id),
        event_id: Set(event_id.to_hex()),
        ..Default::default()
    }
    .update(&handles.db)
    .await
    .map(|_| ())
}
