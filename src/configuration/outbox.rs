//! `[outbox]`: how deliveries are shared between servers on one database and how long delivered
//! events are kept.

use serde::{Deserialize, Serialize};

use super::SettingsError;

/// `[outbox]`: how deliveries are shared between servers on one database, and how long the
/// outbox keeps what it delivered ([`crate::store::outbox`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxSettings {
    /// How long a server's claim on a pending delivery holds before another server sharing the
    /// database may take it over (the claim is renewed while the server drains it).
    pub lease_secs: u64,
    /// Events whose every delivery ended (accepted, duplicate, refused) are pruned this many
    /// days after they were enqueued. At least 1.
    pub retention_days: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutbox {
    #[serde(default = "default_lease_secs")]
    lease_secs: u64,
    #[serde(default = "default_retention_days")]
    retention_days: i64,
}

impl Default for RawOutbox {
    fn default() -> Self {
        RawOutbox {
            lease_secs: default_lease_secs(),
            retention_days: default_retention_days(),
        }
    }
}

fn default_lease_secs() -> u64 {
    60
}

fn default_retention_days() -> i64 {
    30
}

/// A longest retention, so that days in seconds never overflow (about 270 years).
const MAX_RETENTION_DAYS: i64 = 100_000;

impl RawOutbox {
    pub(super) fn validate(self) -> Result<OutboxSettings, SettingsError> {
        if self.lease_secs == 0 {
            return Err(SettingsError::invalid(
                "outbox.lease_secs",
                "must be at least 1",
            ));
        }
        Ok(OutboxSettings {
            lease_secs: self.lease_secs,
            retention_days: u32::try_from(self.retention_days)
                .ok()
                .filter(|days| (1..=MAX_RETENTION_DAYS).contains(&i64::from(*days)))
                .ok_or_else(|| {
                    SettingsError::invalid(
                        "outbox.retention_days",
                        format!(
                            "must be a whole number of days from 1 to {MAX_RETENTION_DAYS}, not {}",
                            self.retention_days
                        ),
                    )
                })?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::load;

    #[test]
    fn outbox_retention_defaults_to_30_days_and_must_be_at_least_one() {
        assert_eq!(load(None, &[]).unwrap().outbox.retention_days, 30);
        let s = load(None, &[("COMMONS__OUTBOX__RETENTION_DAYS", "7")]).unwrap();
        assert_eq!(s.outbox.retention_days, 7);
        for bad in ["0", "-3"] {
            let err = load(None, &[("COMMONS__OUTBOX__RETENTION_DAYS", bad)])
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("outbox.retention_days: "), "{err}");
        }
    }
}
