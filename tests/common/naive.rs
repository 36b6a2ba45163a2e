//! The tests' own recompute of a tally: DESIGN.md "Votes", sentence by sentence, written apart
//! from `src/votes/` so that a test compares the service with an independent reading of the
//! rules, not with itself. A test turns the zaps it made into [`NaiveZap`]s (what their zap
//! requests name is the test's to say), and [`differs`] names the first field of a tally that
//! does not match.

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
    /// Each voter's type.
    pub types: BTreeMap<PublicKey, &'static str>,
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
    let num = |k: &str| rules[k].as_f64().expect(k);
    let days = |k: &str| rules[k].as_u64().expect(k) * DAY;
    let btc = |msat: u64| msat as f64 / BTC as f64;
    let exists: Vec<&NaiveZap> = zaps.iter().filter(|z| z.at <= t).collect();
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
    };
    out.counted.sort();
    let voters: BTreeSet<PublicKey> = votes.iter().map(|z| z.sender).collect();
    out.voters = voters.len() as u64;
    for voter in voters {
        let mut mine: Vec<&&&NaiveZap> = votes.iter().filter(|z| z.sender == voter).collect();
        mine.sort_by_key(|z| (z.at, z.receipt));
        let vote_type = mine
            .iter()
            .rev()
            .find_map(|z| z.poll_type.or_else(|| keyword(&z.content)))
            .unwrap_or("support");
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
    None
}
