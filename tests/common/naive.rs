//! The tests' own recompute of a tally: DESIGN.md "Votes", sentence by sentence, written apart
//! from `src/votes/` so that a test compares the service with an independent reading of the
//! rules, not with itself. A test turns the zaps it made into [`NaiveZap`]s (what their zap
//! requests name is the test's to say), and [`differs`] names the first field of a tally that
//! does not match.
//!
//! Sealed ballots and private zaps too ("Private zaps", "Vote type", "Sealed ballots"): the
//! test says what it sealed into each token (`sealed_as`), since it made them; the recompute
//! finds tokens in comments by itself, and opens them (takes `sealed_as`) only when told the
//! secrets are out.

use std::collections::{BTreeMap, BTreeSet};

use commons_nostr::votes::{receipts_root, TallyContent};
use nostr_sdk::{EventId, PublicKey};
use serde_json::Value;

const DAY: u64 = 86_400;
/// One bitcoin in millisatoshis.
const BTC: u64 = 100_000_000_000;

/// One valid zap receipt to a bot, as the recompute needs it.
#[derive(Debug, Clone)]
pub struct NaiveZap {
    pub receipt: EventId,
    pub sender: PublicKey,
    pub msat: u64,
    /// The receipt's `created_at`.
    pub at: u64,
    /// Whether its zap request names the proposal (an `e` that is one of its targets, or an
    /// `a` that is its address).
    pub names_proposal: bool,
    /// The type a `poll_option` on the proposal's zap poll gives it (`support`, `veto`,
    /// `abstain`), which outranks the comment.
    pub poll_type: Option<&'static str>,
    /// The zap request's content.
    pub content: String,
    /// A private zap (`anon` with a value): no contribution, no vote, only counted.
    pub private: bool,
    /// When the content holds a ballot token: the type the test sealed in it for this sender
    /// and proposal (`None`: a token that will not open here, e.g. another voter's).
    pub sealed_as: Option<&'static str>,
}

/// What the recompute finds.
#[derive(Debug, Clone, PartialEq)]
pub struct Naive {
    pub support: f64,
    pub veto: f64,
    pub abstain: f64,
    pub voters: u64,
    /// The counted receipts, ascending.
    pub counted: Vec<EventId>,
    /// Each voter's type (`sealed` while a sealed ballot stands unopened).
    pub types: BTreeMap<PublicKey, &'static str>,
    /// The weight of voters whose standing type is an unopened sealed ballot.
    pub sealed: f64,
    /// Private zaps naming the proposal in `[start, t]`: count and msat.
    pub private_zaps: (u64, u64),
    /// Counted receipts holding a token; voters standing on one; tokens that did not open.
    pub sealed_ballots: u64,
    pub sealed_voters: u64,
    pub invalid: u64,
}

/// "The first match of `ballot1[0-9a-z]+` (case-insensitive) not preceded by a letter or
/// digit."
pub fn has_token(content: &str) -> bool {
    let lower = content.to_lowercase();
    let chars: Vec<char> = lower.chars().collect();
    (0..chars.len()).any(|i| {
        let rest: String = chars[i..].iter().collect();
        rest.starts_with("ballot1")
            && chars.get(i + 7).is_some_and(|c| c.is_ascii_alphanumeric())
            && (i == 0 || !chars[i - 1].is_alphanumeric())
    })
}

/// "Case-insensitive, whole words, first keyword wins."
pub fn keyword(content: &str) -> Option<&'static str> {
    content
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map(str::to_lowercase)
        .find_map(|word| match word.as_str() {
            "support" | "yes" | "approve" => Some("support"),
            "veto" | "oppose" | "against" => Some("veto"),
            "abstain" | "neutral" => Some("abstain"),
            _ => None,
        })
}

/// The tally at `t` of a proposal whose window is `[start, end]`, under its pinned `rules`.
pub fn naive(zaps: &[NaiveZap], rules: &Value, start: u64, end: u64, t: u64) -> Naive {
    naive_opened(zaps, rules, start, end, t, false)
}

/// [`naive`], with the sealed ballots opened when `opened` (every secret out, `t` at `end`).
pub fn naive_opened(
    zaps: &[NaiveZap],
    rules: &Value,
    start: u64,
    end: u64,
    t: u64,
    opened: bool,
) -> Naive {
    let num = |k: &str| rules[k].as_f64().expect(k);
    let days = |k: &str| rules[k].as_u64().expect(k) * DAY;
    let btc = |msat: u64| msat as f64 / BTC as f64;
    // "Sealed ballots": only a proposal that pins keys has them.
    let has_keys = rules["sealed"]["holders"]
        .as_array()
        .is_some_and(|h| !h.is_empty());
    // "Private zaps": no contribution and no vote; counted when in the window.
    let private: Vec<&NaiveZap> = zaps
        .iter()
        .filter(|z| z.private && z.names_proposal && z.at >= start && z.at <= end && z.at <= t)
        .collect();
    let exists: Vec<&NaiveZap> = zaps.iter().filter(|z| z.at <= t && !z.private).collect();
    let mut p = BTreeMap::new();
    let mut cooling = BTreeMap::new();
    for sender in exists.iter().map(|z| z.sender).collect::<BTreeSet<_>>() {
        let mine: Vec<&&NaiveZap> = exists.iter().filter(|z| z.sender == sender).collect();
        let young: u64 = mine
            .iter()
            .filter(|z| z.at > t - days("cooling_off_days"))
            .map(|z| z.msat)
            .sum();
        let is_cooling = btc(young) >= num("cooling_off_threshold_btc");
        let counted: u64 = mine
            .iter()
            .filter(|z| z.at > t - days("participation_window_days"))
            .filter(|z| !(is_cooling && z.at > t - days("cooling_off_days")))
            .map(|z| z.msat)
            .sum();
        p.insert(sender, btc(counted).sqrt());
        cooling.insert(sender, is_cooling);
    }
    let with_p = p.values().filter(|v| **v > 0.0).count();
    let w: f64 = p.values().sum();
    let cap = (with_p >= (1.0 / num("weight_cap")).ceil() as usize).then(|| num("weight_cap") * w);
    let votes: Vec<&&NaiveZap> = exists
        .iter()
        .filter(|z| z.names_proposal)
        .filter(|z| z.at >= start && z.at <= end)
        .collect();
    let mut out = Naive {
        support: 0.0,
        veto: 0.0,
        abstain: 0.0,
        voters: 0,
        counted: votes.iter().map(|z| z.receipt).collect(),
        types: BTreeMap::new(),
        sealed: 0.0,
        private_zaps: (private.len() as u64, private.iter().map(|z| z.msat).sum()),
        sealed_ballots: 0,
        sealed_voters: 0,
        invalid: 0,
    };
    // A zap's explicit type: poll option, else a token, else a keyword.
    let explicit = |z: &NaiveZap| -> Option<(&'static str, bool)> {
        if let Some(option) = z.poll_type {
            return Some((option, false));
        }
        if has_keys && has_token(&z.content) {
            let opened_type = z.sealed_as.unwrap_or("abstain");
            return Some((if opened { opened_type } else { "sealed" }, true));
        }
        keyword(&z.content).map(|k| (k, false))
    };
    for z in &votes {
        if z.poll_type.is_none() && has_keys && has_token(&z.content) {
            out.sealed_ballots += 1;
            if opened && z.sealed_as.is_none() {
                out.invalid += 1;
            }
        }
    }
    out.counted.sort();
    let voters: BTreeSet<PublicKey> = votes.iter().map(|z| z.sender).collect();
    out.voters = voters.len() as u64;
    for voter in voters {
        let mut mine: Vec<&&&NaiveZap> = votes.iter().filter(|z| z.sender == voter).collect();
        mine.sort_by_key(|z| (z.at, z.receipt));
        let (vote_type, from_token) = mine
            .iter()
            .rev()
            .find_map(|z| explicit(z))
            .unwrap_or(("support", false));
        out.sealed_voters += u64::from(from_token);
        let total: u64 = mine.iter().map(|z| z.msat).sum();
        let z = if cooling[&voter] {
            0.0
        } else {
            btc(total).sqrt()
        };
        let mut weight = z.max(num("participation_floor") * p[&voter]);
        if let Some(cap) = cap {
            weight = weight.min(cap);
        }
        match vote_type {
            "support" => out.support += weight,
            "veto" => out.veto += weight,
            "sealed" => out.sealed += weight,
            _ => out.abstain += weight,
        }
        out.types.insert(voter, vote_type);
    }
    out
}

/// Equal within 1e-9 relative (the tally's sums are exact; the recompute adds floats).
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

/// The first field of `content` that differs from the recompute `expected`: the three sums,
/// the voters, the receipts list and its root.
pub fn differs(content: &TallyContent, expected: &Naive) -> Option<String> {
    let r = &content.result;
    for (key, got, want) in [
        ("support_votes", r.support_votes, expected.support),
        ("veto_votes", r.veto_votes, expected.veto),
        ("abstain_votes", r.abstain_votes, expected.abstain),
        ("sealed_votes", r.sealed_votes, expected.sealed),
    ] {
        if !close(got, want) {
            return Some(format!("{key}: {got} vs naive {want}"));
        }
    }
    if content.voters != expected.voters {
        return Some(format!(
            "voters: {} vs naive {}",
            content.voters, expected.voters
        ));
    }
    let ids: Vec<String> = expected.counted.iter().map(EventId::to_hex).collect();
    if content.receipts.as_ref() != Some(&ids) {
        return Some(format!("receipts: {:?} vs naive {ids:?}", content.receipts));
    }
    if content.receipts_root != receipts_root(&expected.counted).to_prefixed() {
        return Some("receipts_root".to_owned());
    }
    let private = (content.private_zaps.count, content.private_zaps.msat);
    if private != expected.private_zaps {
        return Some(format!(
            "private_zaps: {private:?} vs naive {:?}",
            expected.private_zaps
        ));
    }
    if let Some(sealed) = &content.sealed {
        let got = (sealed.ballots, sealed.voters, sealed.invalid);
        let want = (
            expected.sealed_ballots,
            expected.sealed_voters,
            expected.invalid,
        );
        if got != want {
            return Some(format!(
                "sealed (ballots, voters, invalid): {got:?} vs naive {want:?}"
            ));
        }
    }
    None
}
