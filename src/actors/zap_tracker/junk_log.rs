//! `JunkLog`: receipts rejected from keys that are not a known LNURL provider, summed up in
//! one log line a period instead of a line each.

use std::collections::{BTreeMap, HashSet};

use nostr_sdk::PublicKey;

use super::JUNK_LOG_EVERY;
use crate::store::zap_ledger;

/// Distinct junk signers counted for one summary line, at most.
const JUNK_SIGNERS_LOGGED: usize = 10_000;

/// Junk receipts since the last summary line (see the module doc).
#[derive(Default)]
pub(super) struct JunkLog {
    receipts: u64,
    /// Distinct signers, up to [`JUNK_SIGNERS_LOGGED`].
    signers: HashSet<PublicKey>,
    reasons: BTreeMap<&'static str, u64>,
}

impl JunkLog {
    pub(super) fn add(&mut self, junk: &zap_ledger::JunkZap) {
        self.receipts += 1;
        if self.signers.len() < JUNK_SIGNERS_LOGGED {
            self.signers.insert(junk.signer);
        }
        *self.reasons.entry(junk.reason).or_default() += 1;
    }

    /// Logs the period's summary, if anything came, and starts a new period.
    pub(super) fn flush(&mut self) {
        if self.receipts == 0 {
            return;
        }
        let reasons: Vec<String> = self
            .reasons
            .iter()
            .map(|(reason, n)| format!("{reason}={n}"))
            .collect();
        let signers = if self.signers.len() >= JUNK_SIGNERS_LOGGED {
            format!("{JUNK_SIGNERS_LOGGED}+")
        } else {
            self.signers.len().to_string()
        };
        tracing::warn!(
            receipts = self.receipts,
            signers,
            reasons = reasons.join(","),
            period_secs = JUNK_LOG_EVERY.as_secs(),
            "zap receipts rejected from keys that are not a known LNURL provider (counted, not stored)"
        );
        *self = JunkLog::default();
    }
}
