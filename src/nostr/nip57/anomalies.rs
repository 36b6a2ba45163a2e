//! The checks of rules 4 and 7 that keep a receipt but mark it ([`Check`], [`Anomalies`],
//! [`Anomaly`]).

use super::*;

/// A check of rules 4 and 7 that does not reject: DESIGN.md "Zaps accepted".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// Rule 4: the invoice's description hash commits to the zap request.
    DescriptionHash,
    /// Rule 4: the invoice has a payment hash.
    PaymentHash,
    /// Rule 7: a `preimage` tag is the preimage of the invoice's payment hash.
    Preimage,
}

impl Check {
    /// Every check, in the order names are listed.
    pub const ALL: [Check; 3] = [Check::DescriptionHash, Check::PaymentHash, Check::Preimage];

    /// The stable snake_case name: the metrics label, the tally's `anomalies` key, the database.
    pub fn name(self) -> &'static str {
        match self {
            Check::DescriptionHash => "description_hash",
            Check::PaymentHash => "payment_hash",
            Check::Preimage => "preimage",
        }
    }

    /// The check named `name`, if any.
    pub fn from_name(name: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|check| check.name() == name)
    }

    pub(super) fn bit(self) -> u8 {
        match self {
            Check::DescriptionHash => 1,
            Check::PaymentHash => 2,
            Check::Preimage => 4,
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The set of checks a counted receipt failed (empty for a receipt that passed them all).
/// Written as the failed checks' names joined by commas, in [`Check::ALL`] order (`""` when
/// none): how the ledger stores it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Anomalies(u8);

impl Anomalies {
    /// No anomaly.
    pub const NONE: Anomalies = Anomalies(0);

    /// Whether `check` failed.
    pub fn contains(self, check: Check) -> bool {
        self.0 & check.bit() != 0
    }

    /// This set and `check`.
    #[must_use]
    pub fn with(self, check: Check) -> Anomalies {
        Anomalies(self.0 | check.bit())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The failed checks, in [`Check::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Check> {
        Check::ALL
            .into_iter()
            .filter(move |check| self.contains(*check))
    }

    /// Reads the written form back (see the type's doc); an unknown name is an error.
    pub fn parse(text: &str) -> Result<Anomalies, String> {
        text.split(',')
            .filter(|name| !name.is_empty())
            .try_fold(Anomalies::NONE, |set, name| {
                Check::from_name(name)
                    .map(|check| set.with(check))
                    .ok_or_else(|| format!("{name:?} is not a zap receipt check"))
            })
    }
}

impl FromIterator<Check> for Anomalies {
    fn from_iter<I: IntoIterator<Item = Check>>(checks: I) -> Self {
        checks
            .into_iter()
            .fold(Anomalies::NONE, |set, check| set.with(check))
    }
}

impl std::fmt::Display for Anomalies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, check) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(check.name())?;
        }
        Ok(())
    }
}

/// One failed check of a counted receipt, with what was found: the receipt still counts.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Anomaly {
    /// The invoice carries a plain description (or none) instead of a description hash.
    #[error("the bolt11 invoice has no description hash")]
    NoDescriptionHash,
    /// The invoice's description hash commits neither to the `description` tag's text nor to
    /// the zap request in NIP-01 key order.
    #[error(
        "the bolt11 description hash {invoice} is neither sha256 of the description tag \
         ({description}) nor of the zap request in NIP-01 key order ({nip01_order})"
    )]
    DescriptionHashMismatch {
        /// The invoice's description hash, hex.
        invoice: String,
        /// SHA-256 of the `description` tag's text, hex.
        description: String,
        /// SHA-256 of the zap request serialized compactly in NIP-01 key order, hex.
        nip01_order: String,
    },
    /// The invoice has no payment hash: the receipt id alone identifies the payment.
    #[error("the bolt11 invoice has no payment hash")]
    NoPaymentHash,
    /// Several `preimage` tags.
    #[error("the receipt has {count} preimage tags; at most one is expected")]
    PreimageNotUnique {
        /// Number of `preimage` tags.
        count: usize,
    },
    /// The `preimage` tag is not 32 bytes of hex whose SHA-256 is the invoice's payment hash.
    #[error("preimage {preimage:?} does not hash to the invoice's payment hash ({})", payment_hash.as_deref().unwrap_or("none"))]
    PreimageMismatch {
        /// The tag's value, as written (at most 80 characters).
        preimage: String,
        /// The invoice's payment hash, hex, when it has one.
        payment_hash: Option<String>,
    },
}

impl Anomaly {
    /// The check that failed.
    pub fn check(&self) -> Check {
        match self {
            Anomaly::NoDescriptionHash | Anomaly::DescriptionHashMismatch { .. } => {
                Check::DescriptionHash
            }
            Anomaly::NoPaymentHash => Check::PaymentHash,
            Anomaly::PreimageNotUnique { .. } | Anomaly::PreimageMismatch { .. } => Check::Preimage,
        }
    }
}
