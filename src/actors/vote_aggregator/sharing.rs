//! Sharing a database with other servers (see the parent module doc, "Several servers"): the
//! receipt feed that keeps this server's books current with every receipt any server records,
//! the proposals other servers publish, and the tally lease that decides who publishes.

use std::time::Duration;

use crate::store::db;

use super::*;
use crate::store::receipt_feed::{self, FeedCursor};
use crate::store::tally_lease;

/// Wait before listening again after the listening connection failed.
const LISTEN_RETRY: Duration = Duration::from_secs(2);

/// How long starting to listen may take.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Read the receipt feed now (a notification came, or the listener reconnected).
#[derive(Message, Debug, Clone, Copy)]
#[rtype(result = "()")]
pub(super) struct ReadFeed;

/// The feed's state while the aggregator runs on PostgreSQL.
pub(super) struct Feed {
    pub(super) cursor: FeedCursor,
    /// A read is under way.
    pub(super) reading: bool,
    /// Another read was asked for meanwhile: run it when this one ends.
    pub(super) again: bool,
}

impl Handler<ReadFeed> for VoteAggregatorActor {
    type Result = ();

    fn handle(&mut self, _: ReadFeed, ctx: &mut Context<Self>) {
        self.read_feed(ctx);
    }
}

impl VoteAggregatorActor {
    /// After the state is loaded: the lease, and on PostgreSQL the feed (from `floor`, a
    /// horizon taken before the load) with its listener and its poll.
    pub(super) fn start_sharing(&mut self, floor: Option<i64>, ctx: &mut Context<Self>) {
        let renew_every = (self.spec.lease / 3).max(Duration::from_millis(500));
        self.hold_lease(ctx);
        ctx.run_interval(renew_every, |act, ctx| act.hold_lease(ctx));
        let Some(floor) = floor else {
            return; // SQLite: one server, its own tracker tells it everything
        };
        self.feed = Some(Feed {
            cursor: FeedCursor::new(floor),
            reading: false,
            again: false,
        });
        self.read_feed(ctx);
        ctx.run_interval(self.spec.receipt_poll, |act, ctx| {
            act.read_feed(ctx);
            act.discover_proposals(ctx);
        });
        let db = self.spec.db.clone();
        let me = ctx.address().downgrade();
        // A task of its own (like every database call here, see `db::detached`): it ends when
        // this aggregator is gone.
        tokio::spawn(async move {
            loop {
                // Bounded: a connection to a host that vanished may never be answered.
                let listening = actix_rt::time::timeout(LISTEN_TIMEOUT, receipt_feed::listen(&db))
                    .await
                    .unwrap_or_else(|_| {
                        Some(Err(DbErr::Custom(format!(
                            "no answer within {LISTEN_TIMEOUT:?}"
                        ))))
                    });
                match listening {
                    None => return,
                    Some(Ok(mut listener)) => {
                        tracing::debug!("listening for receipts other servers record");
                        loop {
                            let Some(addr) = me.upgrade() else { return };
                            // Whatever was announced while not listening: read it now.
                            addr.do_send(ReadFeed);
                            drop(addr);
                            match listener.next().await {
                                Ok(_) => {}
                                Err(e) => {
                                    tracing::warn!(error = %e, "lost the receipt notifications; the poll covers until they are back");
                                    break;
                                }
                            }
                        }
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "cannot listen for receipt notifications; the poll covers until it can");
                    }
                }
                actix_rt::time::sleep(LISTEN_RETRY).await;
            }
        });
    }

    /// Reads the receipts recorded since the cursor (one read at a time; a read asked for
    /// during one runs after it) and counts the new ones.
    pub(super) fn read_feed(&mut self, ctx: &mut Context<Self>) {
        let Some(feed) = self.feed.as_mut() else {
            return;
        };
        if feed.reading {
            feed.again = true;
            return;
        }
        feed.reading = true;
        let floor = feed.cursor.floor();
        let db = self.spec.db.clone();
        ctx.spawn(
            async move {
                db::detached(async move {
                    // The horizon first, then the rows: see `receipt_feed`.
                    let horizon = receipt_feed::horizon(&db).await?;
                    let rows = receipt_feed::read(&db, floor).await?;
                    Ok::<_, DbErr>((horizon, rows))
                })
                .await
            }
            .into_actor(self)
            .map(|res, act, ctx| {
                let Some(feed) = act.feed.as_mut() else {
                    return;
                };
                feed.reading = false;
                let again = std::mem::take(&mut feed.again);
                match res {
                    Ok((horizon, rows)) => {
                        let fresh = feed.cursor.advance(horizon, rows);
                        let server = act.spec.server_id.as_ref();
                        let from_others = fresh
                            .iter()
                            .filter(|row| row.recorded_by.as_deref() != Some(server))
                            .count();
                        act.spec
                            .metrics
                            .receipts_from_other_servers
                            .inc_by(u64::try_from(from_others).unwrap_or(u64::MAX));
                        if !fresh.is_empty() {
                            tracing::debug!(
                                receipts = fresh.len(),
                                from_others,
                                "receipts read from the shared database"
                            );
                            act.anomalies.extend(
                                fresh
                                    .iter()
                                    .filter(|row| !row.anomalies.is_empty())
                                    .map(|row| (row.contribution.receipt_id, row.anomalies)),
                            );
                            let contributions: Vec<Contribution> =
                                fresh.into_iter().map(|row| row.contribution).collect();
                            act.apply(&contributions, ctx);
                        }
                    }
                    Err(e) => {
                        act.spec.metrics.database_error("receipt_feed");
                        tracing::warn!(error = %e, "cannot read the receipts other servers recorded; trying again at the next poll");
                    }
                }
                if again {
                    act.read_feed(ctx);
                }
            }),
        );
    }

    /// Tracks the proposals another server published (each one as [`ProposalAdded`] does),
    /// and loads again a proposal whose stored vote targets changed since it was loaded (its
    /// announcement and zap poll are recorded just after its row; another server's tracker
    /// may have learned one from the relays).
    fn discover_proposals(&mut self, ctx: &mut Context<Self>) {
        let db = self.spec.db.clone();
        ctx.spawn(
            db::detached(async move { vote_ledger::proposal_ids(&db).await })
                .into_actor(self)
                .map(|res, act, ctx| match res {
                    Ok(ids) => {
                        for (id, targets) in ids {
                            if act.arriving.contains_key(&id) {
                                continue;
                            }
                            match act.proposals.get(&id) {
                                None => {
                                    tracing::info!(proposal = %id, "a proposal another server published");
                                }
                                Some(tracked)
                                    if tracked.stored.proposal.targets.len() < targets =>
                                {
                                    tracing::info!(proposal = %id, targets, "a proposal's vote targets changed; loading it again");
                                    act.reload_proposal(id, ctx);
                                    continue;
                                }
                                Some(_) => continue,
                            }
                            ctx.notify(ProposalAdded(id));
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the proposal list; trying again at the next poll")
                    }
                }),
        );
    }

    /// Takes or renews the tally lease.
    fn hold_lease(&mut self, ctx: &mut Context<Self>) {
        if self.lease_busy {
            return;
        }
        self.lease_busy = true;
        let db = self.spec.db.clone();
        let server = self.spec.server_id.clone();
        let duration = self.spec.lease;
        ctx.spawn(
            async move {
                let now = i64::try_from(unix_now()).unwrap_or(i64::MAX);
                db::detached(async move { tally_lease::hold(&db, &server, now, duration).await })
                    .await
            }
            .into_actor(self)
            .map(|res, act, ctx| {
                act.lease_busy = false;
                match res {
                    Ok(held) => act.set_leader(held, ctx),
                    Err(e) => {
                        act.spec.metrics.database_error("tally_lease");
                        tracing::warn!(error = %e, "cannot renew the tally lease; not publishing until it is held again");
                        act.set_leader(false, ctx);
                    }
                }
            }),
        );
    }

    /// Records whether this server holds the lease. Taking it over, it reads what was last
    /// published of each proposal (by whichever server) and publishes at once every tally
    /// whose numbers differ.
    pub(super) fn set_leader(&mut self, leader: bool, ctx: &mut Context<Self>) {
        let was = self.leader;
        self.leader = leader;
        self.spec.metrics.tally_leader.set(i64::from(leader));
        if was == leader {
            return;
        }
        if !leader {
            tracing::info!("the tally lease is held by another server; this one keeps counting");
            return;
        }
        tracing::debug!("this server holds the tally lease: it publishes the tallies");
        let db = self.spec.db.clone();
        ctx.spawn(
            db::detached(async move { vote_ledger::load_proposals(&db).await })
                .into_actor(self)
                .map(|res, act, ctx| {
                    match res {
                        Ok(stored) => {
                            for fresh in stored {
                                if let Some(tracked) = act.proposals.get_mut(&fresh.proposal.id) {
                                    tracked.stored.tally_created_at = fresh.tally_created_at;
                                    tracked.stored.tally_digest = fresh.tally_digest;
                                    tracked.stored.tally_final = fresh.tally_final;
                                }
                            }
                        }
                        Err(e) => {
                            // Publishing still works: a claim reads the newest `created_at`
                            // from the database; at worst the same numbers go out again.
                            tracing::warn!(error = %e, "cannot read what was last published");
                        }
                    }
                    let ids: Vec<EventId> = act.proposals.keys().copied().collect();
                    for id in ids {
                        if let Some(tracked) = act.proposals.get_mut(&id) {
                            tracked.dirty = true;
                            if let Some(timer) = tracked.timer.take() {
                                ctx.cancel_future(timer);
                            }
                        }
                        act.schedule(id, ctx, Duration::ZERO);
                    }
                }),
        );
    }
}
