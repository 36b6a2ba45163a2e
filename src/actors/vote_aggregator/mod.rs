//! `VoteAggregatorActor`: every proposal's tally, kept up to date vote by vote, and published.
//!
//! The rules are pure ([`crate::votes`]); this actor holds one [`VoteBook`] per proposal (the
//! incremental state of the rules) and routes messages:
//!
//! - the zap tracker tells it of each committed batch ([`ZapsCommitted`]); every recorded
//!   receipt is a contribution, added to every proposal's book in memory (no database round
//!   trip per receipt), and the receipts that became votes get their `proposal_zap_votes` rows
//!   in one transaction per batch;
//! - the admin API tells it of each new proposal ([`ProposalAdded`]);
//! - the zap tracker tells it of each vote target it learned from the relays
//!   ([`TargetLearned`]: an event of a proposal's author tagging it with `t` =
//!   `governance-proposal`, recorded in `proposal_targets`); the proposal is loaded again with
//!   it, as a new one is, so the receipts already recorded that zapped it count;
//! - the HTTP routes ask it for tallies, receipts and inclusion proofs, and the public page
//!   for what changed and each proposal's voters (`page_view`).
//!
//! Its mechanisms have a file each: `start` (the state rebuilt from the database, proposals
//! taken in), `counting` (zaps into contributions, vote rows), `publication`, `reveal` (the gov
//! bot's ballot secret at the close) and `holder_secrets` (the independent holders').
//!
//! # Sealed ballots
//!
//! A proposal that pins ballot keys has its voters' sealed weight in `sealed_votes` until the
//! close. Then, before its final tally, the publishing server has the gov bot reveal its ballot
//! secret (a ballot secret event through the outbox, `created_at` = `end`: the same event id
//! however often and by whichever server, since the key is derived), checks it against the
//! pinned key, gives it to the book, which opens the ballots, and publishes the opened tally. A
//! server down at the close does it at its next start; one that is not the lease holder waits
//! for the lease like any publication. When independent holders pinned keys too, the book
//! stays sealed (sealed sums, `threshold_met` false) until every holder's valid secret has been
//! read from the relays (`holder_secrets`); then it opens and the tally is published again.
//!
//! # Publication
//!
//! A change to a proposal's votes opens a debounce window (`governance.tally_debounce_secs`);
//! when it closes, the tally at `T = min(now, end)` is published through the gov bot (kind
//! 30078, `d` = `tally:<proposal id>`), unless its numbers equal the last published ones. At
//! the window's end the tally is published at once with `final: true`; a receipt paid inside
//! the window that arrives later changes the votes again, and the final tally is published
//! again. Each tally's `created_at` is strictly after the previous one's, so relays keep the
//! newest. What was published (time, digest of the numbers, final) is kept with the proposal
//! row, so a restart neither republishes the same numbers nor goes back in time.
//!
//! # Several servers on one database
//!
//! Every server counts every receipt; one publishes (the `sharing` file):
//!
//! - **Counting.** Besides its own tracker's batches, the aggregator reads every receipt any
//!   server recorded, through the receipt feed ([`crate::store::receipt_feed`]): at once on
//!   each `NOTIFY` the recording transaction sends, and every `governance.receipt_poll_secs`
//!   whatever happened. Its cursor never skips a row committed late. Proposals another server
//!   published are picked up at the same poll. So the books of every server hold the same
//!   receipts within a few seconds. (PostgreSQL only; with SQLite there is one server.)
//! - **Publishing.** Only the holder of the tally lease ([`crate::store::tally_lease`])
//!   publishes; every `governance.tally_lease_secs / 3` each server takes or renews it. A
//!   server that is not the holder keeps its books current and its proposals dirty, so when it
//!   takes the lease over it reads what was last published and publishes every changed tally
//!   at once. Each tally's `created_at` is claimed in the database, in one transaction with a
//!   check that the lease is held: strictly after the newest any server published.
//!
//! # Start
//!
//! The state is rebuilt from the database: every proposal with pinned rules, and every
//! recorded receipt since the earliest of them could need (its window's start minus its
//! participation window). Batches that arrive while loading wait and are replayed (adding a
//! receipt twice is harmless: the books ignore a receipt they already hold). Vote rows that a
//! crash kept from being written are written then.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use nostr_sdk::hashes::{sha256, Hash};
use nostr_sdk::{EventId, PublicKey, Timestamp};
use sea_orm::{DatabaseConnection, DbErr};
use serde::Serialize;

use crate::actors::bot::{BotActor, PublishEvent};
use crate::actors::supervision::{ChildGuard, StopChild, SupervisedActor, Supervisor, ToChild};
use crate::actors::zap_tracker::{TargetLearned, ZapsCommitted};
use crate::metrics::Metrics;
use crate::nostr::events;
use crate::nostr::nip57::Anomalies;
use crate::store::receipt_feed;
use crate::store::vote_ledger::{self, StoredProposal, VoteRow};
use crate::store::zap_ledger::{self, RecordedZap};
use crate::votes::{
    receipts_root, Added, Ballot, Contribution, Proposal, ProposalVoteResult, ReceiptInclusion,
    TallyContent, VoteBook,
};

mod counting;
mod holder_secrets;
mod page_view;
mod publication;
mod reveal;
mod sharing;
mod start;

pub use counting::contribution_of;
pub use holder_secrets::BallotKeyState;
pub use page_view::{GetProposalVoters, ProposalChange, ProposalChanges, ProposalVoters};
use publication::unix_now;
use start::load;

/// The child name of the one vote aggregator under its supervisor.
pub const CHILD_NAME: &str = "votes";

/// Wait before trying a failed publication again.
const RETRY_AFTER: Duration = Duration::from_secs(5);

/// Wait before looking again at a learned target whose proposal was being loaded.
const TARGET_RECHECK: Duration = Duration::from_millis(200);

/// What the aggregator needs to be created (and re-created after a failure).
#[derive(Clone)]
pub struct VoteAggregatorSpec {
    pub db: DatabaseConnection,
    pub metrics: Arc<Metrics>,
    /// Tallies are signed and published by the gov bot, through the bots' supervisor.
    pub bots: Addr<Supervisor<BotActor>>,
    pub gov_bot: String,
    /// `governance.tally_debounce_secs`.
    pub debounce: Duration,
    /// This server's `server.id`: the tally lease's holder name, and how it tells its own
    /// recorded receipts from other servers'.
    pub server_id: Arc<str>,
    /// `governance.tally_lease_secs`.
    pub lease: Duration,
    /// `governance.receipt_poll_secs`.
    pub receipt_poll: Duration,
    /// The relays, where the independent ballot key holders' secrets are read after a close.
    pub relays: Vec<nostr_sdk::RelayUrl>,
}

// --- messages ---------------------------------------------------------------------------------

/// A proposal was published (its row, with pinned rules, is in the database); answered once
/// it is tracked.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub struct ProposalAdded(pub EventId);

/// The current tally of a proposal, as the tally event's content at `T = min(now, end)`;
/// `None` for an unknown proposal.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Option<TallyContent>")]
pub struct GetTally(pub EventId);

/// The counted receipts of a proposal, or one receipt's vote and inclusion proof.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Result<ReceiptsAnswer, ReceiptsError>")]
pub struct GetReceipts {
    pub proposal: EventId,
    pub receipt: Option<EventId>,
}

/// Every proposal with its current result.
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "Vec<ProposalSummary>")]
pub struct ListProposals;

/// [`GetReceipts`]' answer: the `GET /v1/proposals/{id}/receipts` body.
#[derive(Debug, Clone, Serialize)]
pub struct ReceiptsAnswer {
    pub proposal: String,
    pub as_of: u64,
    pub receipts_root: String,
    pub receipts_count: u64,
    /// Every counted receipt in root order (without `?receipt=`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipts: Option<Vec<String>>,
    /// With `?receipt=`: that receipt, its vote and its inclusion proof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<CountedReceipt>,
}

/// One counted receipt: the sender's vote it is part of, and its proof against the root.
#[derive(Debug, Clone, Serialize)]
pub struct CountedReceipt {
    pub id: String,
    pub vote: Ballot,
    pub inclusion: ReceiptInclusion,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptsError {
    #[error("no proposal with event id {0}")]
    UnknownProposal(String),
    #[error("receipt {receipt} is not counted in the tally of proposal {proposal}: {why}")]
    NotCounted {
        proposal: String,
        receipt: String,
        why: &'static str,
    },
}

/// One line of `GET /v1/proposals`.
#[derive(Debug, Clone, Serialize)]
pub struct ProposalSummary {
    pub event_id: String,
    pub address: String,
    pub repository: String,
    pub pr: u64,
    pub tier: u8,
    pub title: String,
    pub voting_window: VotingWindow,
    /// `open` or `closed`.
    pub state: &'static str,
    pub voters: usize,
    pub result: ProposalVoteResult,
    /// Its vote targets besides itself (its announcement note and zap poll), ascending.
    pub targets: Vec<TargetSummary>,
    /// Each pinned ballot key (sealed ballots) and whether its secret is revealed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ballot_keys: Vec<BallotKeyState>,
}

/// One vote target of a proposal: the event id and its kind (1: the announcement, 6969: the
/// zap poll).
#[derive(Debug, Clone, Serialize)]
pub struct TargetSummary {
    pub event_id: String,
    pub kind: u16,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct VotingWindow {
    pub start: u64,
    pub end: u64,
}

// --- the actor --------------------------------------------------------------------------------

/// One proposal's state.
struct Tracked {
    stored: StoredProposal,
    book: VoteBook,
    /// A debounced publication is waiting.
    timer: Option<SpawnHandle>,
    /// The publication at the window's end.
    end_timer: Option<SpawnHandle>,
    publishing: bool,
    /// Votes changed since the last publication was planned.
    dirty: bool,
    /// Where the gov bot's ballot secret stands (proposals with sealed ballots).
    reveal: Reveal,
    /// The ballot secrets known (the gov bot's and the independent holders').
    secrets: holder_secrets::HolderSecrets,
}

/// The gov bot's part in opening a proposal's sealed ballots (see `reveal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reveal {
    /// Not revealed by this server yet (or nothing to reveal).
    Pending,
    /// The reveal is under way.
    Revealing,
    /// Revealed and the book has the secrets, or it cannot be (the proposal pins no key of
    /// the gov bot, or the gov bot's derived key is not the pinned one): the tally goes on.
    Done,
}

pub struct VoteAggregatorActor {
    spec: VoteAggregatorSpec,
    guard: ChildGuard,
    loaded: bool,
    /// Batches that arrived before the state was loaded.
    waiting: Vec<Arc<Vec<Contribution>>>,
    /// Proposals being loaded after [`ProposalAdded`], with what arrived meanwhile.
    arriving: HashMap<EventId, Vec<Contribution>>,
    proposals: HashMap<EventId, Tracked>,
    /// The anomalies of the recorded receipts that have any (failed checks of rules 4 and 7),
    /// for each tally's `anomalies`: loaded with the receipts, then from each committed batch.
    anomalies: HashMap<EventId, Anomalies>,
    /// The receipts every server records (PostgreSQL only).
    feed: Option<sharing::Feed>,
    /// This server holds the tally lease: it publishes the tallies.
    leader: bool,
    /// A lease renewal is under way.
    lease_busy: bool,
    /// The next read of the independent holders' ballot secrets, when one is planned.
    secret_read: Option<SpawnHandle>,
    /// A read of the holders' secrets is under way.
    secret_reading: bool,
    /// The wait before the read after the next (doubling up to `LONGEST_WAIT`).
    secret_wait: Duration,
}

impl SupervisedActor for VoteAggregatorActor {
    type Spec = VoteAggregatorSpec;
    const KIND: &'static str = "votes";

    fn build(spec: &VoteAggregatorSpec, guard: ChildGuard) -> Self {
        VoteAggregatorActor {
            spec: spec.clone(),
            guard,
            loaded: false,
            waiting: Vec::new(),
            arriving: HashMap::new(),
            proposals: HashMap::new(),
            anomalies: HashMap::new(),
            feed: None,
            leader: false,
            lease_busy: false,
            secret_read: None,
            secret_reading: false,
            secret_wait: holder_secrets::FIRST_READ,
        }
    }
}

impl Actor for VoteAggregatorActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        let db = self.spec.db.clone();
        let started = Instant::now();
        ctx.spawn(
            crate::store::db::detached(async move {
                // The feed's first floor is taken before the load: see `receipt_feed`.
                let floor = match db.get_database_backend() {
                    sea_orm::DbBackend::Postgres => Some(receipt_feed::horizon(&db).await?),
                    _ => None,
                };
                Ok::<_, DbErr>((floor, load(&db).await?))
            })
            .into_actor(self)
            .map(move |res, act, ctx| match res {
                Ok((floor, loaded)) => {
                    tracing::debug!(
                        proposals = loaded.proposals.len(),
                        contributions = loaded.contributions.len(),
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "vote state loaded"
                    );
                    act.install(loaded, ctx);
                    act.start_sharing(floor, ctx);
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot load the vote state; restarting");
                    ctx.stop();
                }
            }),
        );
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        // A stopped aggregator publishes nothing; its successor takes the lease again.
        self.spec.metrics.tally_leader.set(0);
        self.guard.mark_stopped();
    }
}

impl Handler<ZapsCommitted> for VoteAggregatorActor {
    type Result = ();

    fn handle(&mut self, msg: ZapsCommitted, ctx: &mut Context<Self>) {
        if msg.outcome.recorded.is_empty() {
            return;
        }
        self.anomalies.extend(
            msg.outcome
                .recorded
                .iter()
                .filter(|zap| !zap.anomalies.is_empty())
                .map(|zap| (zap.receipt_id, zap.anomalies)),
        );
        let contributions: Vec<Contribution> =
            msg.outcome.recorded.iter().map(contribution_of).collect();
        if self.loaded {
            self.apply(&contributions, ctx);
        } else {
            self.waiting.push(Arc::new(contributions));
        }
    }
}

impl Handler<ProposalAdded> for VoteAggregatorActor {
    /// Answers once the proposal is tracked, so whoever published it can rely on the tally
    /// routes knowing it.
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, msg: ProposalAdded, _: &mut Context<Self>) -> Self::Result {
        let id = msg.0;
        if self.proposals.contains_key(&id) || self.arriving.contains_key(&id) {
            return Box::pin(fut::ready(()));
        }
        self.load_proposal(id)
    }
}

impl Handler<TargetLearned> for VoteAggregatorActor {
    type Result = ();

    fn handle(&mut self, msg: TargetLearned, ctx: &mut Context<Self>) {
        if !self.loaded || self.arriving.contains_key(&msg.proposal) {
            // A load under way may have read the targets before this one was recorded: look
            // again once it is done.
            ctx.notify_later(msg, TARGET_RECHECK);
            return;
        }
        let Some(tracked) = self.proposals.get(&msg.proposal) else {
            // Not tracked yet: `ProposalAdded` (or, on a shared database, the discovery of
            // other servers' proposals) loads it with every target recorded.
            return;
        };
        if tracked.stored.proposal.targets.contains(&msg.target) {
            return;
        }
        tracing::info!(proposal = %msg.proposal, target = %msg.target, "a vote target learned from the relays; loading the proposal again");
        self.reload_proposal(msg.proposal, ctx);
    }
}

impl Handler<GetTally> for VoteAggregatorActor {
    type Result = Option<TallyContent>;

    fn handle(&mut self, msg: GetTally, _: &mut Context<Self>) -> Option<TallyContent> {
        let tracked = self.proposals.get_mut(&msg.0)?;
        let now = unix_now();
        let proposal = &tracked.stored.proposal;
        let tally = tracked.book.tally(proposal.moment(now));
        Some(
            TallyContent::new(proposal, &tally, now > proposal.window_end)
                .with_anomalies(&tally, &self.anomalies),
        )
    }
}

impl Handler<GetReceipts> for VoteAggregatorActor {
    type Result = Result<ReceiptsAnswer, ReceiptsError>;

    fn handle(&mut self, msg: GetReceipts, _: &mut Context<Self>) -> Self::Result {
        let tracked = self
            .proposals
            .get_mut(&msg.proposal)
            .ok_or_else(|| ReceiptsError::UnknownProposal(msg.proposal.to_hex()))?;
        let proposal = tracked.stored.proposal.clone();
        let as_of = proposal.moment(unix_now());
        let tally = tracked.book.tally(as_of);
        let mut answer = ReceiptsAnswer {
            proposal: proposal.id.to_hex(),
            as_of,
            receipts_root: tally.receipts_root.to_prefixed(),
            receipts_count: tally.counted.len() as u64,
            receipts: None,
            receipt: None,
        };
        let Some(receipt) = msg.receipt else {
            answer.receipts = Some(tally.counted.iter().map(EventId::to_hex).collect());
            return Ok(answer);
        };
        let not_counted = |why| ReceiptsError::NotCounted {
            proposal: proposal.id.to_hex(),
            receipt: receipt.to_hex(),
            why,
        };
        let inclusion = receipts_root::inclusion(&tally.counted, &receipt).ok_or_else(|| {
            not_counted("not a vote paid inside the voting window (as of the tally's moment)")
        })?;
        let sender: PublicKey = tracked
            .book
            .vote_receipt(&receipt)
            .map(|(sender, _)| sender)
            .ok_or_else(|| not_counted("not a vote on this proposal"))?;
        let vote = tally
            .ballots
            .iter()
            .find(|ballot| ballot.sender == sender)
            .cloned()
            .ok_or_else(|| not_counted("no ballot for its sender"))?;
        answer.receipt = Some(CountedReceipt {
            id: receipt.to_hex(),
            vote,
            inclusion,
        });
        Ok(answer)
    }
}

impl Handler<ListProposals> for VoteAggregatorActor {
    type Result = Vec<ProposalSummary>;

    fn handle(&mut self, _: ListProposals, _: &mut Context<Self>) -> Vec<ProposalSummary> {
        let now = unix_now();
        let mut list: Vec<ProposalSummary> = self
            .proposals
            .values_mut()
            .map(|tracked| {
                let proposal = tracked.stored.proposal.clone();
                let result = tracked.book.result(proposal.moment(now));
                let ballot_keys =
                    tracked
                        .secrets
                        .key_states(&proposal, tracked.book.is_opened(), now);
                ProposalSummary {
                    event_id: proposal.id.to_hex(),
                    address: proposal.address.clone(),
                    repository: tracked.stored.repository.clone(),
                    pr: proposal.pr,
                    tier: proposal.tier,
                    title: tracked.stored.title.clone(),
                    voting_window: VotingWindow {
                        start: proposal.window_start,
                        end: proposal.window_end,
                    },
                    state: if now > proposal.window_end {
                        "closed"
                    } else {
                        "open"
                    },
                    voters: tracked.book.voters(),
                    result,
                    targets: proposal
                        .targets
                        .others()
                        .map(|(id, kind)| TargetSummary {
                            event_id: id.to_hex(),
                            kind: kind.as_u16(),
                        })
                        .collect(),
                    ballot_keys,
                }
            })
            .collect();
        list.sort_by(|a, b| {
            b.voting_window
                .start
                .cmp(&a.voting_window.start)
                .then_with(|| a.event_id.cmp(&b.event_id))
        });
        list
    }
}

impl Handler<StopChild> for VoteAggregatorActor {
    type Result = ();

    fn handle(&mut self, _: StopChild, ctx: &mut Context<Self>) {
        self.guard.mark_stopped();
        ctx.stop();
    }
}
