//! A voter's standing type in a tally (DESIGN.md "Votes", *Tally*): support, veto or abstain,
//! or **sealed** while the voter's standing type is a sealed ballot not opened yet. A sealed
//! voter's weight is in `sealed_votes` (and `total_votes`), in none of the three sides.

use serde::{Deserialize, Serialize};

use super::vote_type::VoteType;

/// Support, veto, abstain, or sealed (not opened yet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BallotType {
    Support,
    Veto,
    Abstain,
    /// A sealed ballot that is not opened yet: its type is nobody's to know.
    Sealed,
}

impl BallotType {
    /// `support`, `veto`, `abstain` or `sealed`: the serde, CSV and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BallotType::Support => "support",
            BallotType::Veto => "veto",
            BallotType::Abstain => "abstain",
            BallotType::Sealed => "sealed",
        }
    }

    /// The open type, `None` while sealed.
    pub fn open_type(self) -> Option<VoteType> {
        match self {
            BallotType::Support => Some(VoteType::Support),
            BallotType::Veto => Some(VoteType::Veto),
            BallotType::Abstain => Some(VoteType::Abstain),
            BallotType::Sealed => None,
        }
    }

    /// Reads [`BallotType::as_str`]'s spelling.
    pub fn parse(text: &str) -> Option<BallotType> {
        match text {
            "support" => Some(BallotType::Support),
            "veto" => Some(BallotType::Veto),
            "abstain" => Some(BallotType::Abstain),
            "sealed" => Some(BallotType::Sealed),
            _ => None,
        }
    }
}

impl From<VoteType> for BallotType {
    fn from(vote: VoteType) -> BallotType {
        match vote {
            VoteType::Support => BallotType::Support,
            VoteType::Veto => BallotType::Veto,
            VoteType::Abstain => BallotType::Abstain,
        }
    }
}

impl std::fmt::Display for BallotType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_and_open_types_map() {
        for t in [
            BallotType::Support,
            BallotType::Veto,
            BallotType::Abstain,
            BallotType::Sealed,
        ] {
            assert_eq!(BallotType::parse(t.as_str()), Some(t));
            assert_eq!(
                serde_json::to_string(&t).ok(),
                Some(format!("\"{}\"", t.as_str()))
            );
            assert_eq!(
                t.open_type()
                    .map(BallotType::from)
                    .unwrap_or(BallotType::Sealed),
                t
            );
        }
        assert_eq!(BallotType::parse("Sealed"), None);
    }
}
