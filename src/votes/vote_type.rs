//! What a vote says: DESIGN.md "Votes", *Vote type*.
//!
//! The type comes from the zap request's content: case-insensitive, whole words, and the first
//! keyword in the text wins (`support`/`yes`/`approve`, `veto`/`oppose`/`against`,
//! `abstain`/`neutral`). A word is a maximal run of alphanumeric characters and `_` (what a regex
//! `\b` delimits), so "unsupported" is no keyword but "non-veto" holds "veto". [`VoteKind`] says
//! which term of the vote weight won (see [`crate::votes::weight`]).
//!
//! A zap request's `poll_option` (a zap poll vote, draft NIP-B9) names a type by its option
//! index ([`parse_poll_option`]: `0` support, `1` veto, `2` abstain, anything else none). It
//! counts only when the request's `e` is the proposal's zap poll, and then outranks the content;
//! that choice needs the proposal's targets, so it is [`crate::votes::Proposal::explicit_type`]'s.

use serde::{Deserialize, Serialize};

/// Support, veto or abstain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VoteType {
    Support,
    Veto,
    Abstain,
}

impl VoteType {
    /// `support`, `veto` or `abstain`: the serde and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            VoteType::Support => "support",
            VoteType::Veto => "veto",
            VoteType::Abstain => "abstain",
        }
    }

    fn from_word(word: &str) -> Option<VoteType> {
        match word {
            "support" | "yes" | "approve" => Some(VoteType::Support),
            "veto" | "oppose" | "against" => Some(VoteType::Veto),
            "abstain" | "neutral" => Some(VoteType::Abstain),
            _ => None,
        }
    }
}

impl std::fmt::Display for VoteType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first vote keyword of `content` (whole words, any case), or `None` when it has none (the
/// vote then counts as support, unless an earlier zap of the sender said otherwise).
pub fn parse_keyword(content: &str) -> Option<VoteType> {
    content
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .find_map(|word| VoteType::from_word(&word.to_lowercase()))
}

/// The type a zap poll option index names: `0` support, `1` veto, `2` abstain (the options every
/// zap poll of ours has, [`crate::nostr::events::ZAP_POLL_OPTIONS`]); any other value, `None`.
pub fn parse_poll_option(value: &str) -> Option<VoteType> {
    let (index, label) = crate::nostr::events::ZAP_POLL_OPTIONS
        .iter()
        .find(|(index, _)| *index == value)?;
    let vote = VoteType::from_word(label);
    debug_assert!(vote.is_some(), "poll option {index} is labelled {label}");
    vote
}

/// Which term of the vote weight `max(Z, floor * P)` a ballot carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VoteKind {
    /// The zap weight `Z(s)` won (or tied).
    Zap,
    /// The sender is cooling off, or `participation_floor * P(s)` is strictly larger.
    Participation,
}

impl VoteKind {
    /// `zap` or `participation`.
    pub fn as_str(self) -> &'static str {
        match self {
            VoteKind::Zap => "zap",
            VoteKind::Participation => "participation",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_keyword_maps_to_its_type() {
        for (word, vote) in [
            ("support", VoteType::Support),
            ("yes", VoteType::Support),
            ("approve", VoteType::Support),
            ("veto", VoteType::Veto),
            ("oppose", VoteType::Veto),
            ("against", VoteType::Veto),
            ("abstain", VoteType::Abstain),
            ("neutral", VoteType::Abstain),
        ] {
            assert_eq!(parse_keyword(word), Some(vote), "{word}");
        }
        assert_eq!(parse_keyword(""), None);
        assert_eq!(parse_keyword("great work, thanks"), None);
    }

    #[test]
    fn case_insensitive() {
        assert_eq!(parse_keyword("YES!"), Some(VoteType::Support));
        assert_eq!(parse_keyword("Veto."), Some(VoteType::Veto));
        assert_eq!(parse_keyword("I AbStAiN"), Some(VoteType::Abstain));
    }

    #[test]
    fn whole_words_only() {
        assert_eq!(parse_keyword("unsupported"), None);
        assert_eq!(parse_keyword("yesterday"), None);
        assert_eq!(parse_keyword("vetoes"), None);
        assert_eq!(parse_keyword("support_it"), None);
        assert_eq!(parse_keyword("yes2"), None);
        assert_eq!(parse_keyword("non-veto"), Some(VoteType::Veto));
        assert_eq!(parse_keyword("(approve)"), Some(VoteType::Support));
        // Non-ASCII letters are word characters too.
        assert_eq!(parse_keyword("éyes"), None);
        assert_eq!(parse_keyword("oui,yes"), Some(VoteType::Support));
    }

    #[test]
    fn first_keyword_wins() {
        assert_eq!(parse_keyword("veto, not support"), Some(VoteType::Veto));
        assert_eq!(parse_keyword("yes I oppose"), Some(VoteType::Support));
        assert_eq!(
            parse_keyword("unsupported; neutral then veto"),
            Some(VoteType::Abstain)
        );
    }

    #[test]
    fn poll_options_name_their_types_and_nothing_else_does() {
        assert_eq!(parse_poll_option("0"), Some(VoteType::Support));
        assert_eq!(parse_poll_option("1"), Some(VoteType::Veto));
        assert_eq!(parse_poll_option("2"), Some(VoteType::Abstain));
        for other in ["3", "-1", "00", " 0", "1.0", "veto", "", "support"] {
            assert_eq!(parse_poll_option(other), None, "{other:?}");
        }
    }

    #[test]
    fn serde_is_lowercase() {
        assert_eq!(
            serde_json::to_string(&VoteType::Veto).ok().as_deref(),
            Some("\"veto\"")
        );
        assert_eq!(
            serde_json::from_str::<VoteType>("\"abstain\"").ok(),
            Some(VoteType::Abstain)
        );
        assert_eq!(
            serde_json::to_string(&VoteKind::Participation)
                .ok()
                .as_deref(),
            Some("\"participation\"")
        );
        assert_eq!(VoteType::Support.as_str(), "support");
    }
}
