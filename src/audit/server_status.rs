//! What the governance status (30078) and server health (30079) events say, as pure rules:
//! when the server is `degraded` ([`evaluate_health`]), when a health change is real enough to
//! publish ([`HealthGate`]), the state both events describe ([`Snapshot`]), the settings'
//! `config_hash`, and the last merge read from the audit log. The
//! [`crate::actors::status_ticker::StatusTickerActor`] gathers the inputs and publishes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use nostr_sdk::hashes::{sha256, Hash};

use crate::configuration::Settings;
use crate::nostr::events::LinkState;
use crate::nostr::events::{self, AuditSummary, HealthStatus, LastMerge};

/// `degraded` when fewer than half the relays are connected or the database fails.
pub fn evaluate_health(
    relays_connected: u32,
    relays_total: u32,
    database_ok: bool,
) -> HealthStatus {
    // connected < total / 2, without rounding: 1 of 3 is degraded, 1 of 2 is not.
    if !database_ok || u64::from(relays_connected) * 2 < u64::from(relays_total) {
        HealthStatus::Degraded
    } else {
        HealthStatus::Healthy
    }
}

/// What to do with an observed health status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthDecision {
    /// The same as published: nothing to say.
    Unchanged,
    /// Changed, but not for long enough: look again at this instant.
    WaitUntil(Instant),
    /// Changed and held: publish it.
    Publish,
}

/// Decides when a health change is real: it differs from what was last published and has held
/// for `hold` (a change that flips back within `hold` is forgotten).
#[derive(Debug, Clone)]
pub struct HealthGate {
    hold: Duration,
    published: Option<HealthStatus>,
    /// A status that differs from the published one, and since when it has been seen.
    pending: Option<(HealthStatus, Instant)>,
}

impl HealthGate {
    pub fn new(hold: Duration) -> HealthGate {
        HealthGate {
            hold,
            published: None,
            pending: None,
        }
    }

    pub fn observe(&mut self, status: HealthStatus, now: Instant) -> HealthDecision {
        if self.published == Some(status) {
            self.pending = None;
            return HealthDecision::Unchanged;
        }
        let since = match self.pending {
            Some((pending, since)) if pending == status => since,
            _ => {
                self.pending = Some((status, now));
                now
            }
        };
        let due = since + self.hold;
        if now >= due {
            HealthDecision::Publish
        } else {
            HealthDecision::WaitUntil(due)
        }
    }

    /// Records that `status` was published.
    pub fn published(&mut self, status: HealthStatus) {
        self.published = Some(status);
        self.pending = None;
    }

    pub fn last_published(&self) -> Option<HealthStatus> {
        self.published
    }
}

/// The state of the world the two events describe, gathered from the other actors.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Relay URL -> link state, for every configured relay.
    pub relays: BTreeMap<String, LinkState>,
    pub database_ok: bool,
    /// `None` when the audit actor could not answer.
    pub audit: Option<AuditSummary>,
    /// `Err` when the database could not be asked.
    pub last_merge: Result<Option<LastMerge>, String>,
}

impl Snapshot {
    pub fn relays_connected(&self) -> u32 {
        let n = self
            .relays
            .values()
            .filter(|s| **s == LinkState::Connected)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    pub fn relays_total(&self) -> u32 {
        u32::try_from(self.relays.len()).unwrap_or(u32::MAX)
    }

    pub fn health(&self) -> HealthStatus {
        evaluate_health(
            self.relays_connected(),
            self.relays_total(),
            self.database_ok,
        )
    }

    pub fn all_connected(&self) -> bool {
        self.relays_connected() == self.relays_total()
    }
}

/// `sha256:<hex>` of the settings as [`Settings::canonical_json`] renders them.
pub fn config_hash(settings: &Settings) -> String {
    let digest = sha256::Hash::hash(settings.canonical_json().as_bytes());
    events::sha256_tagged(&digest.to_byte_array())
}

/// The last merge, read from a `merge` audit-log entry's JSON (`repository`, `pr`) and its time
/// (unix seconds).
pub fn last_merge_of(entry_json: &str, created_at: i64) -> Option<LastMerge> {
    let json: serde_json::Value = serde_json::from_str(entry_json).ok()?;
    Some(LastMerge {
        repository: json.get("repository")?.as_str()?.to_string(),
        pr: json.get("pr")?.as_u64()?,
        at: u64::try_from(created_at).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn degraded_below_half_the_relays_or_without_the_database() {
        use HealthStatus::*;
        assert_eq!(evaluate_health(3, 3, true), Healthy);
        assert_eq!(evaluate_health(2, 3, true), Healthy);
        assert_eq!(evaluate_health(1, 3, true), Degraded);
        assert_eq!(
            evaluate_health(1, 2, true),
            Healthy,
            "half is not fewer than half"
        );
        assert_eq!(evaluate_health(0, 2, true), Degraded);
        assert_eq!(evaluate_health(2, 4, true), Healthy);
        assert_eq!(evaluate_health(2, 5, true), Degraded);
        assert_eq!(evaluate_health(0, 0, true), Healthy);
        assert_eq!(evaluate_health(3, 3, false), Degraded);
    }

    #[test]
    fn without_hold_every_real_change_publishes_and_nothing_else() {
        let mut gate = HealthGate::new(Duration::ZERO);
        let t = Instant::now();
        assert_eq!(
            gate.observe(HealthStatus::Healthy, t),
            HealthDecision::Publish
        );
        gate.published(HealthStatus::Healthy);
        assert_eq!(
            gate.observe(HealthStatus::Healthy, t),
            HealthDecision::Unchanged
        );
        assert_eq!(
            gate.observe(HealthStatus::Degraded, t),
            HealthDecision::Publish
        );
        gate.published(HealthStatus::Degraded);
        assert_eq!(
            gate.observe(HealthStatus::Degraded, t),
            HealthDecision::Unchanged
        );
        assert_eq!(gate.last_published(), Some(HealthStatus::Degraded));
    }

    #[test]
    fn a_change_must_hold_for_the_debounce_time() {
        let hold = Duration::from_secs(5);
        let mut gate = HealthGate::new(hold);
        let t0 = Instant::now();
        gate.published(HealthStatus::Healthy);
        // Degraded seen at t0: wait until t0 + 5 s.
        assert_eq!(
            gate.observe(HealthStatus::Degraded, t0),
            HealthDecision::WaitUntil(t0 + hold)
        );
        // Still degraded at t0 + 2 s: the deadline does not move.
        assert_eq!(
            gate.observe(HealthStatus::Degraded, t0 + Duration::from_secs(2)),
            HealthDecision::WaitUntil(t0 + hold)
        );
        assert_eq!(
            gate.observe(HealthStatus::Degraded, t0 + hold),
            HealthDecision::Publish
        );
        // A flap that comes back before the hold is forgotten.
        let mut gate = HealthGate::new(hold);
        gate.published(HealthStatus::Healthy);
        let _ = gate.observe(HealthStatus::Degraded, t0);
        assert_eq!(
            gate.observe(HealthStatus::Healthy, t0 + Duration::from_secs(1)),
            HealthDecision::Unchanged
        );
        assert_eq!(
            gate.observe(HealthStatus::Degraded, t0 + Duration::from_secs(6)),
            HealthDecision::WaitUntil(t0 + Duration::from_secs(11)),
            "a new change starts a new hold"
        );
    }

    #[test]
    fn snapshot_counts_only_connected_links() {
        let snapshot = Snapshot {
            relays: [
                ("ws://a".to_string(), LinkState::Connected),
                ("ws://b".to_string(), LinkState::Connecting),
                ("ws://c".to_string(), LinkState::Disconnected),
            ]
            .into_iter()
            .collect(),
            database_ok: true,
            audit: None,
            last_merge: Ok(None),
        };
        assert_eq!(snapshot.relays_connected(), 1);
        assert_eq!(snapshot.relays_total(), 3);
        assert!(!snapshot.all_connected());
        assert_eq!(snapshot.health(), HealthStatus::Degraded);
    }

    #[test]
    fn last_merge_comes_from_the_entry_and_its_time() {
        let entry = |json: &str| (json.to_owned(), 1_700_000_000);
        let last_merge_of = |(json, at): (String, i64)| last_merge_of(&json, at);
        assert_eq!(
            last_merge_of(entry(r#"{"action":"merge","pr":42,"repository":"o/r"}"#)),
            Some(LastMerge {
                repository: "o/r".into(),
                pr: 42,
                at: 1_700_000_000
            })
        );
        assert_eq!(
            last_merge_of(entry(r#"{"pr":"x","repository":"o/r"}"#)),
            None
        );
        assert_eq!(last_merge_of(entry("not json")), None);
    }
}
