//! Prometheus metrics, in the text exposition format served at `GET /metrics`.
//!
//! One [`Metrics`] value is created at start-up and shared (an `Arc`) by every actor: the
//! counters are atomics, so sharing them is not shared mutable *state* in the actor sense: no
//! actor reads another's numbers to decide anything. Names are prefixed `commons_`.

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RelayOutcomeLabels {
    pub relay: String,
    /// `accepted`, `duplicate`, `refused` or `failed` (no answer, disconnected: retried later).
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RelayLabels {
    pub relay: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RelayStateLabels {
    pub relay: String,
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CheckLabels {
    /// The zap receipt check that failed: `description_hash`, `payment_hash` or `preimage`.
    pub check: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActorLabels {
    pub actor: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    /// What the service was doing: `outbox_enqueue`, `outbox_drain`, `delivery_record`,
    /// `zap_commit`, `zap_cursor`, `audit_append`, `probe`.
    pub operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GithubDeliveryLabels {
    /// `ping`, `pull_request`, `pull_request_review`, or `other` (any other `X-GitHub-Event`,
    /// or none: the header is not trusted enough to become a label of its own).
    pub event: String,
    /// `published`, `duplicate`, `ignored` or `refused`.
    pub outcome: String,
}

/// Relay connection states exported as `commons_relay_state{relay,state}` (1 for the current).
pub const RELAY_STATES: [&str; 3] = ["connected", "connecting", "disconnected"];

pub struct Metrics {
    registry: Registry,
    pub events_published: Family<RelayOutcomeLabels, Counter>,
    pub relay_state: Family<RelayStateLabels, Gauge>,
    pub relay_reconnects: Family<RelayLabels, Counter>,
    pub outbox_depth: Gauge,
    /// Delivered outbox events pruned after `outbox.retention_days`.
    pub outbox_pruned: Counter,
    pub actor_restarts: Family<ActorLabels, Counter>,
    pub receipts_accepted: Counter,
    pub receipts_duplicate: Counter,
    pub receipts_rejected: Family<ReasonLabels, Counter>,
    /// Accepted receipts that failed a check of rules 4 or 7 (they count), by check.
    pub receipt_anomalies: Family<CheckLabels, Counter>,
    pub receipts_pending: Gauge,
    /// Seconds one zap ledger transaction (a judged batch and the cursors) took to commit.
    pub zap_batch_commit_seconds: Histogram,
    /// Receipts counted as votes on a proposal (one per receipt and proposal).
    pub votes_counted: Counter,
    /// Tally events handed to the gov bot.
    pub tallies_published: Counter,
    /// 1 while this server holds the tally lease (it is the one publishing tallies), else 0.
    pub tally_leader: Gauge,
    /// Receipts another server sharing the database recorded, counted by this one.
    pub receipts_from_other_servers: Counter,
    /// Seconds to compute one proposal's full tally (weights, cap, receipts root).
    pub tally_compute_seconds: Histogram,
    /// 1 when the database answered the last probe, 0 when it did not.
    pub database_up: Gauge,
    pub database_errors: Family<OperationLabels, Counter>,
    /// GitHub webhook deliveries, by event and outcome.
    pub github_deliveries: Family<GithubDeliveryLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::with_prefix("commons");
        let events_published = Family::<RelayOutcomeLabels, Counter>::default();
        registry.register(
            "events_published",
            "Events sent to a relay, by relay and the relay's answer",
            events_published.clone(),
        );
        let relay_state = Family::<RelayStateLabels, Gauge>::default();
        registry.register(
            "relay_state",
            "Relay connection state: 1 for the relay's current state, 0 for the others",
            relay_state.clone(),
        );
        let relay_reconnects = Family::<RelayLabels, Counter>::default();
        registry.register(
            "relay_reconnects",
            "Connection attempts after a failure or a disconnect",
            relay_reconnects.clone(),
        );
        let outbox_depth = Gauge::default();
        registry.register(
            "outbox_depth",
            "Per-relay deliveries committed to the outbox and not yet answered",
            outbox_depth.clone(),
        );
        let outbox_pruned = Counter::default();
        registry.register(
            "outbox_pruned",
            "Delivered outbox events (with their delivery rows) pruned after outbox.retention_days",
            outbox_pruned.clone(),
        );
        let actor_restarts = Family::<ActorLabels, Counter>::default();
        registry.register(
            "actor_restarts",
            "Actors restarted by their supervisor after a failure or on request",
            actor_restarts.clone(),
        );
        let receipts_accepted = Counter::default();
        registry.register(
            "zap_receipts_accepted",
            "Zap receipts validated and recorded (each payment once)",
            receipts_accepted.clone(),
        );
        let receipts_duplicate = Counter::default();
        registry.register(
            "zap_receipts_duplicate",
            "Zap receipts seen again (another relay, a resend, a backfill) and not recorded twice",
            receipts_duplicate.clone(),
        );
        let receipts_rejected = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "zap_receipts_rejected",
            "Zap receipts rejected, by reason",
            receipts_rejected.clone(),
        );
        let receipt_anomalies = Family::<CheckLabels, Counter>::default();
        registry.register(
            "zap_receipt_anomalies",
            "Zap receipts accepted although they failed a check (rules 4 and 7 only flag), by check",
            receipt_anomalies.clone(),
        );
        let receipts_pending = Gauge::default();
        registry.register(
            "zap_receipts_pending",
            "Zap receipts held until their bot's LNURL provider key is known",
            receipts_pending.clone(),
        );
        // 0.5 ms to about 16 s.
        let zap_batch_commit_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "zap_batch_commit_seconds",
            "Time to write one batch of judged zap receipts and the relay cursors, one transaction",
            zap_batch_commit_seconds.clone(),
        );
        let votes_counted = Counter::default();
        registry.register(
            "votes_counted",
            "Zap receipts counted as votes on a proposal (paid inside its voting window)",
            votes_counted.clone(),
        );
        let tallies_published = Counter::default();
        registry.register(
            "tallies_published",
            "Vote tally events published through the gov bot",
            tallies_published.clone(),
        );
        let tally_leader = Gauge::default();
        registry.register(
            "tally_leader",
            "1 while this server holds the tally lease and publishes the tallies, 0 otherwise",
            tally_leader.clone(),
        );
        let receipts_from_other_servers = Counter::default();
        registry.register(
            "receipts_from_other_servers",
            "Zap receipts recorded by another server sharing the database, counted by this one",
            receipts_from_other_servers.clone(),
        );
        // 50 us to about 1.6 s.
        let tally_compute_seconds = Histogram::new(exponential_buckets(0.00005, 2.0, 16));
        registry.register(
            "tally_compute_seconds",
            "Time to compute one proposal's full tally (weights, cap and receipts root)",
            tally_compute_seconds.clone(),
        );
        let database_up = Gauge::default();
        registry.register(
            "database_up",
            "1 when the database answered the last probe (every few seconds and on /healthz), 0 when not",
            database_up.clone(),
        );
        let database_errors = Family::<OperationLabels, Counter>::default();
        registry.register(
            "database_errors",
            "Database operations that failed (and are retried or refused), by operation",
            database_errors.clone(),
        );
        let github_deliveries = Family::<GithubDeliveryLabels, Counter>::default();
        registry.register(
            "github_deliveries",
            "GitHub webhook deliveries, by event and outcome (published, duplicate, ignored, refused)",
            github_deliveries.clone(),
        );
        Arc::new(Metrics {
            registry,
            events_published,
            relay_state,
            relay_reconnects,
            outbox_depth,
            outbox_pruned,
            actor_restarts,
            receipts_accepted,
            receipts_duplicate,
            receipts_rejected,
            receipt_anomalies,
            receipts_pending,
            zap_batch_commit_seconds,
            votes_counted,
            tallies_published,
            tally_leader,
            receipts_from_other_servers,
            tally_compute_seconds,
            database_up,
            database_errors,
            github_deliveries,
        })
    }

    /// Counts a GitHub webhook delivery. `event` is `X-GitHub-Event`; names other than the
    /// three the webhook reads are counted as `other`.
    pub fn github_delivery(&self, event: &str, outcome: &str) {
        let event = match event {
            "ping" | "pull_request" | "pull_request_review" => event,
            _ => "other",
        };
        self.github_deliveries
            .get_or_create(&GithubDeliveryLabels {
                event: event.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }

    pub fn published(&self, relay: &str, outcome: &str) {
        self.events_published
            .get_or_create(&RelayOutcomeLabels {
                relay: relay.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    pub fn set_relay_state(&self, relay: &str, state: &str) {
        for s in RELAY_STATES {
            self.relay_state
                .get_or_create(&RelayStateLabels {
                    relay: relay.to_string(),
                    state: s.to_string(),
                })
                .set(i64::from(s == state));
        }
    }

    pub fn actor_restarted(&self, actor: &str) {
        self.actor_restarts
            .get_or_create(&ActorLabels {
                actor: actor.to_string(),
            })
            .inc();
    }

    /// Counts a failed database operation.
    pub fn database_error(&self, operation: &str) {
        self.database_errors
            .get_or_create(&OperationLabels {
                operation: operation.to_string(),
            })
            .inc();
    }

    /// Counts an accepted receipt's failed check (`description_hash`, `payment_hash`,
    /// `preimage`).
    pub fn receipt_anomaly(&self, check: &str) {
        self.receipt_anomalies
            .get_or_create(&CheckLabels {
                check: check.to_string(),
            })
            .inc();
    }

    pub fn receipt_rejected(&self, reason: &str) {
        self.receipts_rejected
            .get_or_create(&ReasonLabels {
                reason: reason.to_string(),
            })
            .inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_labelled_counters_and_gauges() {
        let m = Metrics::new();
        m.published("ws://127.0.0.1:1", "accepted");
        m.published("ws://127.0.0.1:1", "accepted");
        m.set_relay_state("ws://127.0.0.1:1", "connected");
        m.actor_restarted("bot:gov");
        m.receipt_rejected("amount_mismatch");
        m.receipt_anomaly("description_hash");
        m.receipt_anomaly("description_hash");
        m.outbox_depth.set(3);
        m.database_up.set(1);
        m.database_error("zap_commit");
        let text = m.render();
        assert!(text.contains("commons_database_up 1"));
        assert!(text.contains(r#"commons_database_errors_total{operation="zap_commit"} 1"#));
        assert!(text.contains(
            r#"commons_events_published_total{relay="ws://127.0.0.1:1",outcome="accepted"} 2"#
        ));
        assert!(
            text.contains(r#"commons_relay_state{relay="ws://127.0.0.1:1",state="connected"} 1"#)
        );
        assert!(text
            .contains(r#"commons_relay_state{relay="ws://127.0.0.1:1",state="disconnected"} 0"#));
        assert!(text.contains(r#"commons_actor_restarts_total{actor="bot:gov"} 1"#));
        assert!(text.contains(r#"commons_zap_receipts_rejected_total{reason="amount_mismatch"} 1"#));
        assert!(text.contains(r#"commons_zap_receipt_anomalies_total{check="description_hash"} 2"#));
        assert!(text.contains("commons_outbox_depth 3"));
    }
}
