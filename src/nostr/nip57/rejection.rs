//! [`Rejection`]: why a receipt does not count, with its rule and a stable reason
//! ([`REASONS`]).

use super::*;

/// Why a zap receipt does not count. [`Rejection::rule`] gives the DESIGN.md rule,
/// [`Rejection::reason`] a stable name for metrics and the database, `Display` the detail.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rejection {
    // Rule 0: not ours to judge, or not yet.
    /// The event is not a kind 9735 zap receipt.
    #[error("event of kind {kind} is not a zap receipt (kind 9735)")]
    NotZapReceipt {
        /// The event's kind.
        kind: u16,
    },
    /// The receipt has no `p` tag holding a public key.
    #[error("zap receipt has no p tag with a valid public key")]
    NoRecipient,
    /// The receipt is to someone who is not one of our bots.
    #[error("zap receipt is for {recipient}, not one of our bots")]
    NotOurBot {
        /// The receipt's `p` tag.
        recipient: PublicKey,
    },
    /// Every rule that can be checked passed, but the bot's LNURL provider key is not known yet.
    #[error("LNURL provider key of bot {recipient} is not resolved yet; retry later")]
    ZapperPending {
        /// The bot zapped.
        recipient: PublicKey,
    },

    // Rule 1.
    /// The receipt's id is not the hash of its content.
    #[error("zap receipt id does not match its content")]
    ReceiptIdMismatch,
    /// The receipt's signature does not verify.
    #[error("zap receipt signature does not verify")]
    ReceiptBadSignature,

    // Rule 2.
    /// The receipt is not signed by the bot's LNURL provider.
    #[error("zap receipt is signed by {author}, not by the bot's LNURL provider {expected}")]
    WrongZapper {
        /// The provider's `nostrPubkey`.
        expected: PublicKey,
        /// The receipt's author.
        author: PublicKey,
    },

    // Rule 3.
    /// The receipt has several `p` tags, one of them ours.
    #[error("zap receipt has {count} p tags; exactly one is allowed")]
    ReceiptRecipientNotUnique {
        /// Number of `p` tags.
        count: usize,
    },
    /// The receipt has no `description` tag.
    #[error("zap receipt has no description tag")]
    MissingDescription,
    /// The receipt has several `description` tags.
    #[error("zap receipt has {count} description tags; exactly one is allowed")]
    DescriptionNotUnique {
        /// Number of `description` tags.
        count: usize,
    },
    /// The `description` tag is not a Nostr event in JSON.
    #[error("description tag is not a nostr event: {error}")]
    ZapRequestUnparsable {
        /// The JSON error.
        error: String,
    },
    /// The `description` event is not a kind 9734 zap request.
    #[error("description is an event of kind {kind}, not a zap request (kind 9734)")]
    ZapRequestWrongKind {
        /// Its kind.
        kind: u16,
    },
    /// The zap request has no `p` tag, or several.
    #[error("zap request has {count} p tags; exactly one is required")]
    ZapRequestRecipientCount {
        /// Number of `p` tags.
        count: usize,
    },
    /// The zap request's `p` tag is not the receipt's.
    #[error("zap request is to {request:?}, but the receipt is to {receipt}")]
    ZapRequestRecipientMismatch {
        /// The zap request's `p` value, as written.
        request: String,
        /// The receipt's `p`: our bot.
        receipt: PublicKey,
    },
    /// The zap request's id is not the hash of its content.
    #[error("zap request id does not match its content")]
    ZapRequestIdMismatch,
    /// The zap request's signature does not verify.
    #[error("zap request signature does not verify")]
    ZapRequestBadSignature,

    // Rule 4.
    /// The receipt has no `bolt11` tag.
    #[error("zap receipt has no bolt11 tag")]
    MissingBolt11,
    /// The receipt has several `bolt11` tags.
    #[error("zap receipt has {count} bolt11 tags; exactly one is allowed")]
    Bolt11NotUnique {
        /// Number of `bolt11` tags.
        count: usize,
    },
    /// The `bolt11` tag does not decode as a BOLT11 invoice.
    #[error("bolt11 tag does not decode as a BOLT11 invoice: {error}")]
    Bolt11Unparsable {
        /// The decoder's error.
        error: String,
    },
    /// The invoice decodes but breaks BOLT11 (bad node signature, several payment hashes, no
    /// payment secret, ...; a missing payment hash or description hash is only an anomaly).
    #[error("bolt11 invoice is not valid: {error}")]
    Bolt11Invalid {
        /// The semantic error.
        error: String,
    },

    // Rule 5.
    /// The invoice has no amount.
    #[error("bolt11 invoice has no amount")]
    InvoiceWithoutAmount,
    /// The zap request's `amount` tag is not a number of millisatoshis.
    #[error("zap request amount tag {value:?} is not a number of millisatoshis")]
    RequestAmountUnparsable {
        /// The tag's value, as written (empty when the tag has none).
        value: String,
    },
    /// The invoice pays another amount than the zap request asks.
    #[error(
        "bolt11 invoice is for {invoice_msat} msat but the zap request asks {request_msat} msat"
    )]
    AmountMismatch {
        /// The invoice amount.
        invoice_msat: u64,
        /// The zap request's `amount` tag.
        request_msat: u64,
    },

    // Rule 6.
    /// Several `e` (or `a`) tags: the zap's target is ambiguous.
    #[error("{side} has {count} {tag:?} tags; at most one is allowed")]
    TargetNotUnique {
        /// `e` or `a`.
        tag: &'static str,
        /// Where.
        side: Side,
        /// How many.
        count: usize,
    },
    /// An `e` tag that is not an event id, or an `a` tag that is not `kind:pubkey:d`.
    #[error("{side} {tag:?} tag {value:?} is not valid")]
    TargetUnparsable {
        /// `e` or `a`.
        tag: &'static str,
        /// Where.
        side: Side,
        /// The value, as written.
        value: String,
    },
    /// The receipt's `e` (or `a`) tag is not the zap request's.
    #[error("receipt {tag:?} tag {receipt:?} does not match the zap request's ({request:?})")]
    TargetMismatch {
        /// `e` or `a`.
        tag: &'static str,
        /// The receipt's value, as written.
        receipt: String,
        /// The zap request's value, if it has one.
        request: Option<String>,
    },

    // Rule 7 is only a check: see [`Anomaly`].

    // Rule 8.
    /// The receipt says it was paid before the invoice was issued.
    #[error(
        "zap receipt created at {receipt_at} precedes its invoice's timestamp {invoice_at} \
         (more than {INVOICE_CLOCK_MARGIN_SECS} s): paid before invoiced"
    )]
    PaidBeforeInvoiced {
        /// The receipt's `created_at`, unix seconds.
        receipt_at: u64,
        /// The invoice's timestamp, unix seconds.
        invoice_at: u64,
    },
}

impl Rejection {
    /// The DESIGN.md rule broken (1..=6 or 8: rule 7 only flags), or 0 when the event is not ours to judge or is pending.
    pub fn rule(&self) -> u8 {
        use Rejection::*;
        match self {
            NotZapReceipt { .. } | NoRecipient | NotOurBot { .. } | ZapperPending { .. } => 0,
            ReceiptIdMismatch | ReceiptBadSignature => 1,
            WrongZapper { .. } => 2,
            ReceiptRecipientNotUnique { .. }
            | MissingDescription
            | DescriptionNotUnique { .. }
            | ZapRequestUnparsable { .. }
            | ZapRequestWrongKind { .. }
            | ZapRequestRecipientCount { .. }
            | ZapRequestRecipientMismatch { .. }
            | ZapRequestIdMismatch
            | ZapRequestBadSignature => 3,
            MissingBolt11
            | Bolt11NotUnique { .. }
            | Bolt11Unparsable { .. }
            | Bolt11Invalid { .. } => 4,
            InvoiceWithoutAmount | RequestAmountUnparsable { .. } | AmountMismatch { .. } => 5,
            TargetNotUnique { .. } | TargetUnparsable { .. } | TargetMismatch { .. } => 6,
            PaidBeforeInvoiced { .. } => 8,
        }
    }

    /// A stable snake_case name, for metrics labels and the database.
    pub fn reason(&self) -> &'static str {
        use Rejection::*;
        match self {
            NotZapReceipt { .. } => "not_zap_receipt",
            NoRecipient => "no_recipient",
            NotOurBot { .. } => "not_our_bot",
            ZapperPending { .. } => "zapper_pending",
            ReceiptIdMismatch => "receipt_id_mismatch",
            ReceiptBadSignature => "receipt_bad_signature",
            WrongZapper { .. } => "wrong_zapper",
            ReceiptRecipientNotUnique { .. } => "receipt_p_tag_not_unique",
            MissingDescription => "missing_description",
            DescriptionNotUnique { .. } => "description_not_unique",
            ZapRequestUnparsable { .. } => "zap_request_unparsable",
            ZapRequestWrongKind { .. } => "zap_request_wrong_kind",
            ZapRequestRecipientCount { .. } => "zap_request_p_tag_count",
            ZapRequestRecipientMismatch { .. } => "zap_request_recipient_mismatch",
            ZapRequestIdMismatch => "zap_request_id_mismatch",
            ZapRequestBadSignature => "zap_request_bad_signature",
            MissingBolt11 => "missing_bolt11",
            Bolt11NotUnique { .. } => "bolt11_not_unique",
            Bolt11Unparsable { .. } => "bolt11_unparsable",
            Bolt11Invalid { .. } => "bolt11_invalid",
            InvoiceWithoutAmount => "invoice_without_amount",
            RequestAmountUnparsable { .. } => "request_amount_unparsable",
            AmountMismatch { .. } => "amount_mismatch",
            TargetNotUnique { .. } => "target_not_unique",
            TargetUnparsable { .. } => "target_unparsable",
            TargetMismatch { .. } => "target_mismatch",
            PaidBeforeInvoiced { .. } => "paid_before_invoiced",
        }
    }

    /// True when the receipt should be kept and validated again once the bot's LNURL provider
    /// key is known, rather than rejected.
    pub fn is_pending(&self) -> bool {
        matches!(self, Rejection::ZapperPending { .. })
    }
}

/// Every value [`Rejection::reason`] can return, for registering metrics up front.
pub const REASONS: [&str; 27] = [
    "not_zap_receipt",
    "no_recipient",
    "not_our_bot",
    "zapper_pending",
    "receipt_id_mismatch",
    "receipt_bad_signature",
    "wrong_zapper",
    "receipt_p_tag_not_unique",
    "missing_description",
    "description_not_unique",
    "zap_request_unparsable",
    "zap_request_wrong_kind",
    "zap_request_p_tag_count",
    "zap_request_recipient_mismatch",
    "zap_request_id_mismatch",
    "zap_request_bad_signature",
    "missing_bolt11",
    "bolt11_not_unique",
    "bolt11_unparsable",
    "bolt11_invalid",
    "invoice_without_amount",
    "request_amount_unparsable",
    "amount_mismatch",
    "target_not_unique",
    "target_unparsable",
    "target_mismatch",
    "paid_before_invoiced",
];
