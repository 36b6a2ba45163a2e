//! `[governance]`: every parameter of the vote rules, plus sealed ballots, independent ballot key
//! holders and the review periods opened from GitHub.

use serde::{Deserialize, Serialize};

use super::SettingsError;

/// Every parameter of DESIGN.md's "Votes" section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GovernanceSettings {
    pub participation_window_days: u32,
    pub cooling_off_threshold_btc: f64,
    pub cooling_off_days: u32,
    pub participation_floor: f64,
    pub weight_cap: f64,
    /// Vote weight a proposal needs, by tier 1 to 5.
    pub tier_thresholds: Vec<f64>,
    pub veto_threshold: f64,
    /// A proposal's tally event is published at most this often while votes change (seconds).
    pub tally_debounce_secs: u64,
    /// Several servers on one database: how long the tally lease (who publishes tallies)
    /// holds unless its holder renews it; another server takes it over once it lapses
    /// (seconds, at least 3: it is renewed every third of it).
    pub tally_lease_secs: u64,
    /// Several servers on one PostgreSQL database: how often each server reads the receipts
    /// any server recorded, besides on every `NOTIFY` (seconds, at least 1).
    pub receipt_poll_secs: u64,
    /// Every new review period pins ballot keys, so voters can seal their choice until the
    /// close (DESIGN.md "Sealed ballots").
    pub sealed_ballots: bool,
    /// npubs of independent ballot key holders, pinned after the gov bot in this order
    /// (DESIGN.md "Independent holders"). Validated as npubs at start-up.
    pub ballot_holders: Vec<String>,
    /// The voting window, in days, of a review period opened from GitHub, by tier 1 to 5
    /// (five whole numbers from 0 to 365; 0: a pull request of that tier opens none).
    pub review_days: Vec<i64>,
}

impl GovernanceSettings {
    /// `review_days[tier - 1]`: the window of a review period of `tier` opened from GitHub,
    /// or `None` for a tier outside 1 to 5.
    pub fn review_days_for(&self, tier: u8) -> Option<u32> {
        let index = usize::from(tier).checked_sub(1)?;
        self.review_days
            .get(index)
            .and_then(|days| u32::try_from(*days).ok())
    }
}

impl Default for GovernanceSettings {
    fn default() -> Self {
        GovernanceSettings {
            participation_window_days: 90,
            cooling_off_threshold_btc: 0.1,
            cooling_off_days: 30,
            participation_floor: 0.1,
            weight_cap: 0.05,
            tier_thresholds: vec![100.0, 500.0, 1000.0, 2500.0, 5000.0],
            veto_threshold: 0.4,
            tally_debounce_secs: 10,
            tally_lease_secs: 15,
            receipt_poll_secs: 5,
            sealed_ballots: true,
            ballot_holders: Vec::new(),
            review_days: vec![7, 30, 90, 0, 180],
        }
    }
}

pub(super) fn validate_governance(
    mut g: GovernanceSettings,
) -> Result<GovernanceSettings, SettingsError> {
    let fraction = |key: &str, v: f64| {
        if v.is_finite() && v > 0.0 && v <= 1.0 {
            Ok(())
        } else {
            Err(SettingsError::invalid(
                format!("governance.{key}"),
                format!("must be a number above 0 and at most 1, not {v}"),
            ))
        }
    };
    fraction("participation_floor", g.participation_floor)?;
    fraction("weight_cap", g.weight_cap)?;
    fraction("veto_threshold", g.veto_threshold)?;
    if !(g.cooling_off_threshold_btc.is_finite() && g.cooling_off_threshold_btc > 0.0) {
        return Err(SettingsError::invalid(
            "governance.cooling_off_threshold_btc",
            "must be a positive number",
        ));
    }
    if g.tally_debounce_secs > 3600 {
        return Err(SettingsError::invalid(
            "governance.tally_debounce_secs",
            "must be at most 3600",
        ));
    }
    if !(3..=3600).contains(&g.tally_lease_secs) {
        return Err(SettingsError::invalid(
            "governance.tally_lease_secs",
            "must be from 3 to 3600",
        ));
    }
    if !(1..=3600).contains(&g.receipt_poll_secs) {
        return Err(SettingsError::invalid(
            "governance.receipt_poll_secs",
            "must be from 1 to 3600",
        ));
    }
    if g.participation_window_days == 0 {
        return Err(SettingsError::invalid(
            "governance.participation_window_days",
            "must be at least 1",
        ));
    }
    if g.tier_thresholds.len() != 5 {
        return Err(SettingsError::invalid(
            "governance.tier_thresholds",
            format!(
                "needs 5 values (tiers 1 to 5), found {}",
                g.tier_thresholds.len()
            ),
        ));
    }
    if g.tier_thresholds
        .iter()
        .any(|t| !t.is_finite() || *t <= 0.0)
    {
        return Err(SettingsError::invalid(
            "governance.tier_thresholds",
            "every threshold must be a positive number",
        ));
    }
    let mut holders = Vec::with_capacity(g.ballot_holders.len());
    for holder in &g.ballot_holders {
        use nostr_sdk::FromBech32;
        match nostr_sdk::PublicKey::from_bech32(holder.trim()) {
            Ok(key) if holders.contains(&key) => {
                return Err(SettingsError::invalid(
                    "governance.ballot_holders",
                    format!("'{holder}' is listed twice"),
                ))
            }
            Ok(key) => holders.push(key),
            Err(_) => {
                return Err(SettingsError::invalid(
                    "governance.ballot_holders",
                    format!("'{holder}' is not an npub"),
                ))
            }
        }
    }
    if !holders.is_empty() && !g.sealed_ballots {
        return Err(SettingsError::invalid(
            "governance.ballot_holders",
            "independent ballot key holders need governance.sealed_ballots = true",
        ));
    }
    g.ballot_holders = g
        .ballot_holders
        .iter()
        .map(|holder| holder.trim().to_owned())
        .collect();
    if g.review_days.len() != 5 || g.review_days.iter().any(|d| !(0..=365).contains(d)) {
        return Err(SettingsError::invalid(
            "governance.review_days",
            format!(
                "needs 5 whole numbers of days from 0 to 365 (tiers 1 to 5), found {:?}",
                g.review_days
            ),
        ));
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ballot_holders_must_be_npubs_and_need_sealed_ballots() {
        use nostr_sdk::ToBech32;
        let npub = nostr_sdk::Keys::generate()
            .public_key()
            .to_bech32()
            .expect("npub");
        let good = GovernanceSettings {
            ballot_holders: vec![npub.clone()],
            ..GovernanceSettings::default()
        };
        assert!(validate_governance(good).is_ok_and(|g| g.ballot_holders == vec![npub.clone()]));
        let without_sealed = GovernanceSettings {
            ballot_holders: vec![npub.clone()],
            sealed_ballots: false,
            ..GovernanceSettings::default()
        };
        for (g, why) in [
            (
                GovernanceSettings {
                    ballot_holders: vec![npub.clone(), "npub1nope".to_owned()],
                    ..GovernanceSettings::default()
                },
                "'npub1nope' is not an npub",
            ),
            (
                GovernanceSettings {
                    ballot_holders: vec![npub.clone(), npub.clone()],
                    ..GovernanceSettings::default()
                },
                "twice",
            ),
            (without_sealed, "sealed_ballots"),
        ] {
            let error = validate_governance(g).expect_err("refused").to_string();
            assert!(
                error.starts_with("governance.ballot_holders") && error.contains(why),
                "{error}"
            );
        }
        let off = GovernanceSettings {
            sealed_ballots: false,
            ..GovernanceSettings::default()
        };
        assert!(validate_governance(off).is_ok_and(|g| !g.sealed_ballots));
    }
}
