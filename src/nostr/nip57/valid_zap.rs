//! [`ValidZap`]: a receipt that passed every rule, and the [`Side`] of a rule's mismatch.

use super::*;

/// A zap receipt that passed every rule. Only [`validate`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidZap {
    pub(super) receipt_id: EventId,
    pub(super) payment_hash: Option<String>,
    pub(super) recipient: PublicKey,
    pub(super) zapper: PublicKey,
    pub(super) sender: PublicKey,
    pub(super) amount_msat: u64,
    pub(super) event: Option<EventId>,
    pub(super) address: Option<String>,
    pub(super) poll_option: Option<String>,
    pub(super) content: String,
    pub(super) private_zap: bool,
    pub(super) created_at: Timestamp,
    pub(super) invoice_timestamp: Timestamp,
    /// The checks it failed, in [`Check::ALL`] order (empty for most of our own zaps).
    pub(super) anomalies: Vec<Anomaly>,
}

impl ValidZap {
    /// Id of the kind 9735 receipt.
    pub fn receipt_id(&self) -> EventId {
        self.receipt_id
    }

    /// The invoice's payment hash, lowercase hex: one payment, however many receipts carry it.
    /// `None` when the invoice has none (anomaly `payment_hash`): the receipt id alone then
    /// identifies the payment.
    pub fn payment_hash(&self) -> Option<&str> {
        self.payment_hash.as_deref()
    }

    /// The bot that was zapped (the receipt's and the zap request's `p`).
    pub fn recipient(&self) -> PublicKey {
        self.recipient
    }

    /// The LNURL provider that signed the receipt.
    pub fn zapper(&self) -> PublicKey {
        self.zapper
    }

    /// The zap request's author: who paid, and so who votes.
    pub fn sender(&self) -> PublicKey {
        self.sender
    }

    /// The invoice amount in millisatoshis.
    pub fn amount_msat(&self) -> u64 {
        self.amount_msat
    }

    /// The zapped event (the zap request's `e` tag), if any.
    pub fn event(&self) -> Option<EventId> {
        self.event
    }

    /// The zapped address `kind:pubkey:d` (the zap request's `a` tag), if any.
    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    /// The value of the zap request's `poll_option` tag (draft NIP-B9: a zap poll vote), when
    /// it has exactly one; `None` without one or with several (no single option chosen).
    pub fn poll_option(&self) -> Option<&str> {
        self.poll_option.as_deref()
    }

    /// The zap request's content (the vote text).
    pub fn content(&self) -> &str {
        &self.content
    }

    /// A private zap: the zap request has an `anon` tag with a (non-empty) value, the sender's
    /// real request encrypted inside it (NIP-57 Appendix "private zaps", as Damus and Amethyst
    /// send). An `anon` tag without a value is an anonymous zap: an ordinary zap of its key.
    pub fn is_private_zap(&self) -> bool {
        self.private_zap
    }

    /// The receipt's `created_at`.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// The invoice's timestamp (when the provider issued it).
    pub fn invoice_timestamp(&self) -> Timestamp {
        self.invoice_timestamp
    }

    /// The checks of rules 4 and 7 it failed (it counts all the same).
    pub fn anomalies(&self) -> Anomalies {
        self.anomalies.iter().map(Anomaly::check).collect()
    }

    /// The failed checks with what was found, in [`Check::ALL`] order.
    pub fn anomaly_details(&self) -> &[Anomaly] {
        &self.anomalies
    }
}

/// Which of the receipt and the zap request a [`Rejection`] detail is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The kind 9735 zap receipt.
    Receipt,
    /// The kind 9734 zap request in the receipt's `description` tag.
    Request,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Receipt => "receipt",
            Side::Request => "zap request",
        })
    }
}
