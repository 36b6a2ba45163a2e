//! Recomputing every published vote tally from the zap receipts: DESIGN.md "Votes" and "Tally
//! events", as the verifier checks them. Pure code: the events come in, the differences go out.
//!
//! 1. **Proposals** ([`proposal_of`]): review-period actions of a bot that pin `rules`, with
//!    their vote targets found among the bot's events ([`with_targets`]: its events tagging
//!    the proposal with `t` = `governance-proposal`, the same rule the service applies).
//! 2. **Receipts** are judged ([`judge`]) with the same [`nip57::validate`] the service runs, but
//!    with the provider keys pinned in the proposal's `rules.zappers` instead of an HTTPS
//!    lookup: a receipt signed by a pinned zapper is judged as if that zapper were the LNURL
//!    provider of every pinned bot; a receipt signed by any other key does not count. The same
//!    payment (invoice payment hash) counts once, as in the service: the earliest receipt (by
//!    `created_at`, then id) stands.
//! 3. **Each tally** ([`check_tally`]): the newest tally of a proposal is recomputed with
//!    [`crate::votes::tally()`] at its `as_of`, and every published field is compared with the recompute:
//!    the result (floats within 1e-9 relative, verdicts and counts exactly), `voters`,
//!    `late_votes`, `receipts_count`, `receipts_root`, the `receipts` list when present (which
//!    must also hash to `receipts_root`), `rules`, which must equal the proposal's pinned
//!    rules, and `targets` ([`target_differences`]: each listed one must be an event of the
//!    proposal's author tagging it, and each such event must be listed). A valid in-window zap
//!    to any target that the tally leaves out is named, receipt by receipt. Every difference
//!    is named, down to the receipt and why it does or does not count.
//!    `anomalies` is recomputed too ([`anomaly_differences`]): each counted receipt's failed
//!    checks of rules 4 and 7, which never keep a receipt out (a receipt left out for them is
//!    named as a valid vote not counted, with its anomalies).

use std::collections::{BTreeSet, HashMap};

use nostr_sdk::{Event, EventId, PublicKey};
use serde::Serialize;
use serde_json::Value;

use super::close::close;
use crate::nostr::events;
use crate::nostr::governance_action::ActionKind;
use crate::nostr::nip57::{self, Anomalies, Check, ZapRecipients, Zapper};
use crate::votes::proposal::WindowPlace;
use crate::votes::{
    self, receipts_root, AnomalyCounts, Contribution, Proposal, TallyContent, Targets, VoteRules,
};

/// The proposal a review-period event is, with its pinned rules.
pub fn proposal_of(event: &Event) -> Result<Proposal, String> {
    let action = crate::nostr::governance_action::parse_governance_action(event)
        .map_err(|e| e.to_string())?;
    if action.action != ActionKind::ReviewPeriod {
        return Err(format!(
            "a {} action, not a review period",
            action.action.as_str()
        ));
    }
    let rules = action
        .content
        .rules
        .clone()
        .ok_or_else(|| "the review period pins no vote rules".to_owned())?;
    let (start, end) = action
        .voting_window
        .ok_or_else(|| "the review period has no voting window".to_owned())?;
    Ok(Proposal {
        id: event.id,
        address: events::proposal_address(&event.pubkey, &action.d),
        pr: action.pr.unwrap_or_default(),
        tier: action.tier,
        window_start: start.as_secs(),
        window_end: end.as_secs(),
        rules,
        targets: Targets::new(),
    })
}

/// `proposal` with its vote targets: the events among `events` (signatures checked) that its
/// author signed with `e` = its id and `t` = `governance-proposal`.
pub fn with_targets<'a>(
    mut proposal: Proposal,
    author: &PublicKey,
    events: impl IntoIterator<Item = &'a Event>,
) -> Proposal {
    proposal.targets = Targets::from_events(&proposal.id, author, events);
    proposal
}

/// How a tally's `targets` differ from the proposal's targets found on the relays: each
/// listed target must be one (signed by the proposal's author, tagging the proposal with
/// `t` = `governance-proposal`), the proposal's own id first and the others ascending, and
/// each one found must be listed.
pub fn target_differences(proposal: &Proposal, content: &TallyContent) -> Vec<String> {
    let mut d = Vec::new();
    let expected: Vec<String> = proposal
        .listed_targets()
        .iter()
        .map(EventId::to_hex)
        .collect();
    if content.targets == expected {
        return d;
    }
    for hex in &content.targets {
        let known = EventId::from_hex(hex)
            .is_ok_and(|id| id == proposal.id || proposal.targets.contains(&id));
        if !known {
            d.push(format!(
                "targets: {hex} is listed, but no relay holds it as an event of the proposal's \
                 author tagging the proposal with t=governance-proposal"
            ));
        }
    }
    for hex in &expected {
        if !content.targets.contains(hex) {
            d.push(format!(
                "targets: {hex} (an event of the proposal's author tagging it with \
                 t=governance-proposal) is not listed"
            ));
        }
    }
    if d.is_empty() {
        d.push(format!(
            "targets: listed as {:?}, expected the proposal's id first and the others \
             ascending: {expected:?}",
            content.targets
        ));
    }
    d
}

/// One pinned zapper standing as the LNURL provider of every pinned bot (of any bot when the
/// rules pin none).
struct PinnedZapper<'a> {
    zapper: PublicKey,
    bots: &'a [PublicKey],
}

impl ZapRecipients for PinnedZapper<'_> {
    fn zapper(&self, bot: &PublicKey) -> Option<Zapper> {
        (self.bots.is_empty() || self.bots.contains(bot)).then_some(Zapper::Known(self.zapper))
    }

    fn is_known_zapper(&self, key: &PublicKey) -> bool {
        *key == self.zapper
    }
}

/// What judging said of one receipt under a proposal's pinned rules.
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    /// A valid receipt: a contribution.
    Valid(Contribution),
    /// Not a contribution, and why (`<reason>: <detail>`).
    Rejected(String),
}

/// Every receipt judged under one set of pinned rules.
#[derive(Debug, Clone, Default)]
pub struct Judged {
    pub by_id: HashMap<EventId, Judgement>,
    /// The valid receipts, as contributions.
    pub contributions: Vec<Contribution>,
    /// The valid receipts that failed a check of rules 4 or 7 (they count all the same).
    pub anomalies: HashMap<EventId, Anomalies>,
}

/// Judges `receipts` (distinct ids) under `rules`: see the module documentation.
pub fn judge(receipts: &[Event], rules: &VoteRules) -> Judged {
    let mut judging = Judging::new(rules);
    judging.add(receipts);
    judging.finish()
}

/// Receipts being judged under one set of pinned rules, a page at a time, so the verifier can
/// judge one page while it fetches the next. Each receipt's own rules are checked as it is
/// added; which receipt of a payment stands needs them all, so that is settled by
/// [`Judging::finish`].
pub struct Judging {
    zappers: Vec<PublicKey>,
    bots: Vec<PublicKey>,
    judged: Judged,
    valid: Vec<nip57::ValidZap>,
}

impl Judging {
    pub fn new(rules: &VoteRules) -> Self {
        Judging {
            zappers: rules.zappers.clone(),
            bots: rules.bots.clone(),
            judged: Judged::default(),
            valid: Vec::new(),
        }
    }

    /// Judges more receipts, none of them added before.
    pub fn add(&mut self, receipts: &[Event]) {
        let mut by_zapper: HashMap<PublicKey, Vec<&Event>> = HashMap::new();
        for receipt in receipts {
            if self.zappers.contains(&receipt.pubkey) {
                by_zapper.entry(receipt.pubkey).or_default().push(receipt);
            } else {
                self.judged.by_id.insert(
                    receipt.id,
                    Judgement::Rejected(format!(
                        "wrong_zapper: signed by {}, not by a zapper pinned in the proposal's rules",
                        receipt.pubkey
                    )),
                );
            }
        }
        for (zapper, batch) in by_zapper {
            let recipients = PinnedZapper {
                zapper,
                bots: &self.bots,
            };
            for (receipt, result) in batch.iter().zip(nip57::validate_batch(&batch, &recipients)) {
                match result {
                    Ok(zap) => self.valid.push(zap),
                    Err(rejection) => {
                        self.judged.by_id.insert(
                            receipt.id,
                            Judgement::Rejected(format!("{}: {rejection}", rejection.reason())),
                        );
                    }
                }
            }
        }
    }

    /// One payment counts once: the earliest receipt of it stands. A receipt judged in several
    /// copies (relays serving it with different signatures, [`super::Signatures::Judged`])
    /// is valid when one copy is, and counts once.
    pub fn finish(self) -> Judged {
        let Judging {
            mut judged,
            mut valid,
            ..
        } = self;
        valid.sort_unstable_by_key(|zap| (zap.created_at(), zap.receipt_id()));
        let mut payments: HashMap<String, EventId> = HashMap::with_capacity(valid.len());
        for zap in valid {
            if matches!(
                judged.by_id.get(&zap.receipt_id()),
                Some(Judgement::Valid(_))
            ) {
                continue; // another valid copy of this receipt
            }
            // Without a payment hash (anomaly `payment_hash`), the receipt id alone is the payment.
            if let Some(payment_hash) = zap.payment_hash() {
                if let Some(first) = payments.get(payment_hash) {
                    judged.by_id.insert(
                        zap.receipt_id(),
                        Judgement::Rejected(format!(
                            "duplicate_payment: the same payment as receipt {first}"
                        )),
                    );
                    continue;
                }
                payments.insert(payment_hash.to_owned(), zap.receipt_id());
            }
            if !zap.anomalies().is_empty() {
                judged.anomalies.insert(zap.receipt_id(), zap.anomalies());
            }
            let contribution = Contribution::from_valid_zap(&zap);
            judged
                .by_id
                .insert(zap.receipt_id(), Judgement::Valid(contribution.clone()));
            judged.contributions.push(contribution);
        }
        judged
    }
}

/// The result of checking one published tally against its recompute.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TallyCheck {
    pub proposal: String,
    /// The tally event's id.
    pub tally: String,
    pub as_of: u64,
    #[serde(rename = "final")]
    pub is_final: bool,
    pub published_receipts_count: u64,
    pub recomputed_receipts_count: u64,
    pub recomputed_receipts_root: String,
    /// Counted receipts per failed check, recomputed.
    pub recomputed_anomalies: AnomalyCounts,
    /// Every way the published tally differs from the recompute; empty when it holds.
    pub differences: Vec<String>,
}

impl TallyCheck {
    pub fn ok(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Why receipt `id` is not among the recomputed votes of `proposal` at `as_of`.
pub fn why_not_counted(id: &EventId, proposal: &Proposal, as_of: u64, judged: &Judged) -> String {
    match judged.by_id.get(id) {
        None => "unknown receipt: no relay holds it".to_owned(),
        Some(Judgement::Rejected(reason)) => reason.clone(),
        Some(Judgement::Valid(c)) => {
            if !c.counts_under(&proposal.rules) {
                "not paid to a bot pinned in the proposal's rules".to_owned()
            } else if !proposal.names(c) {
                "not a vote on this proposal".to_owned()
            } else {
                match proposal.place(c.created_at) {
                    WindowPlace::Early => "before the window".to_owned(),
                    WindowPlace::Late => "after the window (a late vote)".to_owned(),
                    WindowPlace::Inside if c.created_at > as_of => {
                        format!("paid at {}, after the tally's as_of {as_of}", c.created_at)
                    }
                    WindowPlace::Inside => "it counts: the recompute disagrees".to_owned(),
                }
            }
        }
    }
}

/// Checks a published tally of `proposal` against the recompute from `judged` (the receipts
/// judged under the proposal's rules), its sealed ballots opened with `opening` (the reveal on
/// the relays, [`votes::sealed::read_reveal`]) when there is one. Every difference is named.
pub fn check_tally(
    proposal: &Proposal,
    tally_id: EventId,
    content: &TallyContent,
    judged: &Judged,
    opening: Option<&votes::sealed::BallotOpening>,
) -> TallyCheck {
    let recomputed =
        votes::tally_with_secrets(proposal, &judged.contributions, content.as_of, opening);
    let mut check = TallyCheck {
        proposal: proposal.id.to_hex(),
        tally: tally_id.to_hex(),
        as_of: content.as_of,
        is_final: content.is_final,
        published_receipts_count: content.receipts_count,
        recomputed_receipts_count: recomputed.counted.len() as u64,
        recomputed_receipts_root: recomputed.receipts_root.to_prefixed(),
        recomputed_anomalies: AnomalyCounts::of_counted(&recomputed.counted, &judged.anomalies),
        differences: Vec::new(),
    };
    let d = &mut check.differences;

    if content.proposal != proposal.id.to_hex() {
        d.push(format!(
            "proposal: published {}, the tally's e tag names {}",
            content.proposal, proposal.id
        ));
    }
    if content.as_of > proposal.window_end {
        d.push(format!(
            "as_of {} is after the voting window's end {}",
            content.as_of, proposal.window_end
        ));
    }
    if content.is_final && content.as_of < proposal.window_end {
        d.push(format!(
            "final: published true, but as_of {} is before the window's end {}",
            content.as_of, proposal.window_end
        ));
    }
    rule_differences(&content.rules, &proposal.rules, d);
    anomaly_differences(&content.anomalies, &check.recomputed_anomalies, d);
    super::sealed::sealed_differences(proposal, content, &recomputed, d);
    d.extend(target_differences(proposal, content));

    // The result, field by field.
    let (p, r) = (&content.result, &recomputed.result);
    let mut exact = |name: &str, published: String, recomputed: String| {
        if published != recomputed {
            d.push(format!(
                "{name}: published {published}, recomputed {recomputed}"
            ));
        }
    };
    exact("pr_id", p.pr_id.to_string(), r.pr_id.to_string());
    exact("tier", p.tier.to_string(), r.tier.to_string());
    exact(
        "zap_vote_count",
        p.zap_vote_count.to_string(),
        r.zap_vote_count.to_string(),
    );
    exact(
        "participation_vote_count",
        p.participation_vote_count.to_string(),
        r.participation_vote_count.to_string(),
    );
    exact(
        "threshold_met",
        p.threshold_met.to_string(),
        r.threshold_met.to_string(),
    );
    exact(
        "veto_blocks",
        p.veto_blocks.to_string(),
        r.veto_blocks.to_string(),
    );
    exact(
        "voters",
        content.voters.to_string(),
        recomputed.voters.to_string(),
    );
    exact(
        "late_votes",
        content.late_votes.to_string(),
        recomputed.late_votes.to_string(),
    );
    exact(
        "receipts_count",
        content.receipts_count.to_string(),
        recomputed.counted.len().to_string(),
    );
    exact(
        "receipts_root",
        content.receipts_root.clone(),
        recomputed.receipts_root.to_prefixed(),
    );
    for (name, published, recomputed) in [
        ("threshold", p.threshold, r.threshold),
        ("total_votes", p.total_votes, r.total_votes),
        ("support_votes", p.support_votes, r.support_votes),
        ("veto_votes", p.veto_votes, r.veto_votes),
        ("abstain_votes", p.abstain_votes, r.abstain_votes),
    ] {
        if !close(published, recomputed) {
            d.push(format!(
                "{name}: published {published}, recomputed {recomputed}"
            ));
        }
    }

    // The counted receipts, when the tally lists them.
    let Some(listed) = &content.receipts else {
        if content.receipts_root != recomputed.receipts_root.to_prefixed() {
            d.push(format!(
                "the tally omits its receipts list, so the receipts behind the different \
                 receipts_root cannot be named ({} counted here)",
                recomputed.counted.len()
            ));
        }
        return check;
    };
    let mut ids = Vec::with_capacity(listed.len());
    for hex in listed {
        match EventId::from_hex(hex) {
            Ok(id) => ids.push(id),
            Err(_) => d.push(format!("receipts: {hex:?} is not an event id")),
        }
    }
    if ids.windows(2).any(|w| w[0] >= w[1]) {
        d.push("receipts: the list is not sorted ascending without duplicates".to_owned());
    }
    if ids.len() as u64 != content.receipts_count {
        d.push(format!(
            "receipts_count {} does not match its receipts list of {}",
            content.receipts_count,
            ids.len()
        ));
    }
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    if receipts_root(&sorted).to_prefixed() != content.receipts_root {
        d.push(format!(
            "receipts_root does not match its receipts list: published {}, the list's root {}",
            content.receipts_root,
            receipts_root(&sorted).to_prefixed()
        ));
    }
    let published: BTreeSet<EventId> = sorted.into_iter().collect();
    let counted: BTreeSet<EventId> = recomputed.counted.iter().copied().collect();
    for id in published.difference(&counted) {
        d.push(format!(
            "receipt {id} counted but not a valid in-window vote (reason: {})",
            why_not_counted(id, proposal, recomputed.as_of, judged)
        ));
    }
    for id in counted.difference(&published) {
        let (sender, zapped) = match judged.by_id.get(id) {
            Some(Judgement::Valid(c)) => (c.sender.to_hex(), zapped(proposal, c)),
            _ => ("?".to_owned(), String::new()),
        };
        let anomalies = match judged.anomalies.get(id) {
            Some(set) => format!(
                "; anomalies {set}, which are checks, never a reason to leave a receipt out"
            ),
            None => String::new(),
        };
        d.push(format!(
            "valid in-window vote {id} (sender {sender}{zapped}{anomalies}) not counted"
        ));
    }
    check
}

/// The published `anomalies` against the recompute, check by check.
pub fn anomaly_differences(
    published: &AnomalyCounts,
    recomputed: &AnomalyCounts,
    d: &mut Vec<String>,
) {
    for check in Check::ALL {
        let (published, recomputed) = (published.get(check), recomputed.get(check));
        if published != recomputed {
            d.push(format!(
                "anomalies.{check}: published {published}, recomputed {recomputed}"
            ));
        }
    }
}

/// What a vote receipt zapped, when it is not the proposal itself: ", zapping target <id>".
fn zapped(proposal: &Proposal, c: &Contribution) -> String {
    match c.event {
        Some(e) if proposal.targets.contains(&e) => format!(", zapping target {e}"),
        _ => String::new(),
    }
}

/// The review-period proposals among a bot's events (those that pin rules), by id, each with
/// its vote targets among the same events ([`with_targets`]).
pub fn proposals(bot_events: &[Event]) -> HashMap<EventId, (Event, Proposal)> {
    let tagged: Vec<&Event> = bot_events
        .iter()
        .filter(|e| {
            e.tags
                .hashtags()
                .any(|t| t == events::hashtag::GOVERNANCE_PROPOSAL)
        })
        .collect();
    bot_events
        .iter()
        .filter(|e| e.kind == events::kind::GOVERNANCE_ACTION)
        .filter(|e| {
            e.tags
                .identifier()
                .is_some_and(|d| d.starts_with(events::d::ACTION_PREFIX))
        })
        .filter_map(|e| {
            let proposal = proposal_of(e).ok()?;
            let proposal = with_targets(proposal, &e.pubkey, tagged.iter().copied());
            Some((e.id, (e.clone(), proposal)))
        })
        .collect()
}

/// What to ask relays for the receipts every proposal's tally reads: kind 9735 to the pinned
/// bots (to `any_bots` when a proposal pins none), since the earliest window start minus the
/// longer of its participation and cooling-off windows. `None` without proposals.
pub fn receipts_filter<'a>(
    proposals: impl IntoIterator<Item = &'a Proposal>,
    any_bots: &[PublicKey],
) -> Option<nostr_sdk::Filter> {
    let mut bots = BTreeSet::new();
    let mut since: Option<u64> = None;
    for p in proposals {
        if p.rules.bots.is_empty() {
            bots.extend(any_bots.iter().copied());
        }
        bots.extend(p.rules.bots.iter().copied());
        let from = p.window_start.saturating_sub(p.rules.lookback_secs());
        since = Some(since.map_or(from, |s| s.min(from)));
    }
    let since = since?;
    Some(
        nostr_sdk::Filter::new()
            .kind(events::kind::ZAP_RECEIPT)
            .pubkeys(bots)
            .since(nostr_sdk::Timestamp::from_secs(since)),
    )
}

/// Every tally check of one verifier run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TalliesReport {
    /// Proposals (review periods with pinned rules) found.
    pub proposals: usize,
    /// Distinct zap receipts fetched.
    pub receipts: usize,
    /// One per proposal with a tally: its newest tally, recomputed.
    pub checks: Vec<TallyCheck>,
    /// Tallies that cannot be checked (no such proposal, signed by another key).
    pub problems: Vec<String>,
    /// Informational: proposals without a tally, superseded tallies, receipts only one relay
    /// holds.
    pub notes: Vec<String>,
}

impl TalliesReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.checks.iter().all(TallyCheck::ok)
    }
}

/// Proposals that pin the same zappers and bots read the receipts alike: one judgement serves
/// them all.
pub fn rules_key(rules: &VoteRules) -> String {
    serde_json::to_string(&(&rules.zappers, &rules.bots)).unwrap_or_default()
}

/// A [`Judging`] for each distinct pinned rules of `proposals`, by [`rules_key`].
pub fn judgings<'a>(proposals: impl IntoIterator<Item = &'a Proposal>) -> HashMap<String, Judging> {
    let mut judgings = HashMap::new();
    for proposal in proposals {
        judgings
            .entry(rules_key(&proposal.rules))
            .or_insert_with(|| Judging::new(&proposal.rules));
    }
    judgings
}

/// Recomputes the newest tally of every proposal among `bot_events` from `receipts` (distinct
/// ids). Tally events that do not parse are left to the event checks.
pub fn check_tallies(bot_events: &[Event], receipts: &[Event]) -> TalliesReport {
    let mut judgings = judgings(proposals(bot_events).values().map(|(_, p)| p));
    let judged = judgings
        .drain()
        .map(|(key, mut judging)| {
            judging.add(receipts);
            (key, judging.finish())
        })
        .collect();
    check_judged_tallies(bot_events, receipts.len(), &judged)
}

/// [`check_tallies`] with the receipts already judged (`receipts` of them), by [`rules_key`]
/// for every proposal's rules, as [`judgings`] gives them.
pub fn check_judged_tallies(
    bot_events: &[Event],
    receipts: usize,
    judged_by_rules: &HashMap<String, Judged>,
) -> TalliesReport {
    let proposals = proposals(bot_events);
    let mut report = TalliesReport {
        proposals: proposals.len(),
        receipts,
        ..TalliesReport::default()
    };
    let mut newest: HashMap<EventId, (&Event, TallyContent)> = HashMap::new();
    for event in bot_events {
        let is_tally = event.kind == events::kind::VOTE_TALLY
            && event
                .tags
                .identifier()
                .is_some_and(|d| d.starts_with(events::d::TALLY_PREFIX));
        if !is_tally {
            continue;
        }
        let Ok(parsed) = events::parse_vote_tally::<TallyContent>(event) else {
            continue;
        };
        let Some((proposal_event, _)) = proposals.get(&parsed.proposal) else {
            report.problems.push(format!(
                "tally {} is for proposal {}, which no relay holds as a review period with \
                 pinned rules",
                event.id, parsed.proposal
            ));
            continue;
        };
        if event.pubkey != proposal_event.pubkey {
            report.problems.push(format!(
                "tally {} of proposal {} is signed by {}, not by the proposal's author {}",
                event.id, parsed.proposal, event.pubkey, proposal_event.pubkey
            ));
            continue;
        }
        match newest.get(&parsed.proposal) {
            Some((kept, _)) if (kept.created_at, kept.id) >= (event.created_at, event.id) => {
                report.notes.push(format!(
                    "tally {} of proposal {} is superseded by tally {}",
                    event.id, parsed.proposal, kept.id
                ));
            }
            previous => {
                if let Some((kept, _)) = previous {
                    report.notes.push(format!(
                        "tally {} of proposal {} is superseded by tally {}",
                        kept.id, parsed.proposal, event.id
                    ));
                }
                newest.insert(parsed.proposal, (event, parsed.tally));
            }
        }
    }
    let mut ids: Vec<&EventId> = proposals.keys().collect();
    ids.sort();
    for id in ids {
        let (event, proposal) = &proposals[id];
        report
            .problems
            .extend(super::sealed::pool_problems(event, proposal));
        let Some((tally, content)) = newest.get(id) else {
            report
                .notes
                .push(format!("proposal {id} has no tally on any relay"));
            continue;
        };
        let Some(judged) = judged_by_rules.get(&rules_key(&proposal.rules)) else {
            report.problems.push(format!(
                "proposal {id}: the receipts were not judged under its rules"
            ));
            continue;
        };
        // The ballot secrets are among the events given (see `verify_tallies`).
        let reveal = votes::sealed::read_reveal(proposal, bot_events);
        let mut check = check_tally(proposal, tally.id, content, judged, reveal.opening.as_ref());
        check.differences.extend(reveal.problems);
        report.notes.extend(reveal.notes);
        report.checks.push(check);
    }
    report
}

/// Names each field of the published `rules` that differs from the proposal's pinned ones.
fn rule_differences(published: &VoteRules, pinned: &VoteRules, d: &mut Vec<String>) {
    if published == pinned {
        return;
    }
    let as_map = |rules: &VoteRules| match serde_json::to_value(rules) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let (published, pinned) = (as_map(published), as_map(pinned));
    for (key, want) in &pinned {
        let got = published.get(key).unwrap_or(&Value::Null);
        if got != want {
            d.push(format!(
                "rules.{key}: published {got}, the proposal pinned {want}"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use nostr_sdk::prelude::*;

    use super::*;
    use crate::configuration::GovernanceSettings;
    use crate::nostr::zap_provider::{zap_request, ZapProvider, ZapTarget};

    struct World {
        provider: ZapProvider,
        bot: Keys,
        proposal: Proposal,
    }

    const START: u64 = 1_800_000_000;

    fn world() -> World {
        let provider = ZapProvider::generate();
        let bot = Keys::generate();
        let mut rules = VoteRules::new(
            &GovernanceSettings::default(),
            1,
            vec![provider.public_key()],
            vec![bot.public_key()],
        );
        rules.threshold = 0.25;
        let proposal = Proposal {
            id: EventId::from_byte_array([5; 32]),
            address: format!("30078:{}:action:o/r:1:review-period", bot.public_key()),
            pr: 1,
            tier: 1,
            window_start: START,
            window_end: START + 86_400,
            rules,
            targets: crate::votes::Targets::new(),
        };
        World {
            provider,
            bot,
            proposal,
        }
    }

    impl World {
        fn zap_by(&self, provider: &ZapProvider, text: &str, msat: u64, at: u64) -> Event {
            let target = ZapTarget::new(self.bot.public_key(), msat)
                .event(self.proposal.id)
                .content(text);
            let request = zap_request(&Keys::generate(), &target).unwrap();
            let at = Timestamp::from_secs(at);
            let invoice = provider.invoice_at(&request, msat, at).unwrap();
            provider
                .receipt(&request, &invoice.bolt11, Some(&invoice.preimage), at)
                .unwrap()
        }

        fn zap(&self, text: &str, msat: u64, at: u64) -> Event {
            self.zap_by(&self.provider, text, msat, at)
        }
    }

    #[test]
    fn receipts_are_asked_for_as_far_back_as_the_longer_window_reaches() {
        let mut w = world();
        let since = |w: &World| {
            receipts_filter([&w.proposal], &[])
                .and_then(|f| f.since)
                .map(|t| t.as_secs())
        };
        // Defaults: 90 days of participation, 30 of cooling-off.
        assert_eq!(since(&w), Some(START - 90 * 86_400));
        w.proposal.rules.cooling_off_days = 120;
        assert_eq!(since(&w), Some(START - 120 * 86_400));
    }

    fn honest(w: &World, receipts: &[Event], at: u64) -> (Judged, TallyContent) {
        let judged = judge(receipts, &w.proposal.rules);
        let tally = votes::tally(&w.proposal, &judged.contributions, at);
        (judged, TallyContent::new(&w.proposal, &tally, false))
    }

    fn check(w: &World, judged: &Judged, content: &TallyContent) -> Vec<String> {
        check_tally(&w.proposal, EventId::all_zeros(), content, judged, None).differences
    }

    #[test]
    fn an_honest_tally_holds() {
        let w = world();
        let receipts = vec![
            w.zap("support", 50_000_000_000, START + 10),
            w.zap("veto", 10_000_000_000, START + 20),
            w.zap("support", 1_000_000, START - 10),
        ];
        let (judged, content) = honest(&w, &receipts, START + 100);
        assert_eq!(content.receipts_count, 2);
        assert_eq!(check(&w, &judged, &content), Vec::<String>::new());
    }

    #[test]
    fn a_wrong_weight_and_a_flipped_verdict_are_named() {
        let w = world();
        // 0.09 BTC: under the cooling-off threshold, a zap vote of sqrt(0.09) = 0.3.
        let receipts = vec![w.zap("support", 9_000_000_000, START + 10)];
        let (judged, mut content) = honest(&w, &receipts, START + 100);
        assert!(content.result.threshold_met);
        content.result.support_votes = 0.1;
        content.result.threshold_met = false;
        let differences = check(&w, &judged, &content);
        assert!(
            differences
                .iter()
                .any(|d| d.starts_with("support_votes: published 0.1, recomputed 0.3")),
            "{differences:?}"
        );
        assert!(differences.contains(&"threshold_met: published false, recomputed true".to_owned()));
    }

    #[test]
    fn a_forged_counted_receipt_is_named_with_its_reason() {
        let w = world();
        let good = w.zap("support", 1_000_000, START + 10);
        let forged = w.zap_by(&ZapProvider::generate(), "support", 1_000_000, START + 11);
        let early = w.zap("support", 1_000_000, START - 11);
        let receipts = vec![good.clone(), forged.clone(), early.clone()];
        let (judged, mut content) = honest(&w, &receipts, START + 100);
        let mut ids = vec![
            good.id,
            forged.id,
            early.id,
            EventId::from_byte_array([1; 32]),
        ];
        ids.sort();
        content.receipts = Some(ids.iter().map(EventId::to_hex).collect());
        content.receipts_count = 4;
        content.receipts_root = receipts_root(&ids).to_prefixed();
        let differences = check(&w, &judged, &content);
        let named = |what: &str| differences.iter().any(|d| d.contains(what));
        assert!(
            named(&format!(
                "receipt {} counted but not a valid in-window vote (reason: wrong_zapper",
                forged.id
            )),
            "{differences:?}"
        );
        assert!(named(&format!(
            "receipt {} counted but not a valid in-window vote (reason: before the window)",
            early.id
        )));
        assert!(named("(reason: unknown receipt: no relay holds it)"));
        assert!(named("receipts_count: published 4, recomputed 1"));
        assert!(!named("does not match its receipts list"));
    }

    #[test]
    fn a_left_out_vote_and_a_bad_root_are_named() {
        let w = world();
        let first = w.zap("support", 1_000_000, START + 10);
        let (_, content) = honest(&w, std::slice::from_ref(&first), START + 100);
        let late_comer = w.zap("veto", 2_000_000, START + 20);
        let judged = judge(&[first, late_comer.clone()], &w.proposal.rules);
        let differences = check(&w, &judged, &content);
        let sender = match &judged.by_id[&late_comer.id] {
            Judgement::Valid(c) => c.sender,
            other => panic!("{other:?}"),
        };
        assert!(differences.contains(&format!(
            "valid in-window vote {} (sender {}) not counted",
            late_comer.id,
            sender.to_hex()
        )));

        let mut bad_root = content.clone();
        bad_root.receipts_root = crate::audit::merkle::leaf_hash(b"x").to_prefixed();
        let judged = judge(std::slice::from_ref(&late_comer), &w.proposal.rules);
        let differences = check(&w, &judged, &bad_root);
        assert!(differences
            .iter()
            .any(|d| d.starts_with("receipts_root does not match its receipts list")));
    }

    #[test]
    fn targets_found_on_the_relays_are_applied_and_checked() {
        let gov = Keys::generate();
        let mut w = world();
        w.proposal.address = format!("30078:{}:action:o/r:1:review-period", gov.public_key());
        let note = |keys: &Keys, hashtag: &str| {
            EventBuilder::text_note("vote")
                .tags([Tag::event(w.proposal.id), Tag::hashtag(hashtag)])
                .sign_with_keys(keys)
                .unwrap()
        };
        let announcement = note(&gov, "governance-proposal");
        let stranger = note(&Keys::generate(), "governance-proposal");
        let untagged = note(&gov, "governance");
        let events = [&announcement, &stranger, &untagged];
        let proposal = with_targets(w.proposal.clone(), &gov.public_key(), events);
        assert!(proposal.targets.contains(&announcement.id));
        assert_eq!(proposal.targets.len(), 1);

        // A zap to the announcement is a vote; a tally leaving it out names it.
        let target = ZapTarget::new(w.bot.public_key(), 1_000_000)
            .event(announcement.id)
            .content("veto");
        let request = zap_request(&Keys::generate(), &target).unwrap();
        let at = Timestamp::from_secs(START + 10);
        let invoice = w.provider.invoice_at(&request, 1_000_000, at).unwrap();
        let receipt = w
            .provider
            .receipt(&request, &invoice.bolt11, Some(&invoice.preimage), at)
            .unwrap();
        let judged = judge(std::slice::from_ref(&receipt), &proposal.rules);
        let honest = TallyContent::new(
            &proposal,
            &votes::tally(&proposal, &judged.contributions, START + 100),
            false,
        );
        assert_eq!(honest.receipts_count, 1);
        assert!(honest.result.veto_votes > 0.0 && honest.result.support_votes == 0.0);
        let checked = |content: &TallyContent| {
            check_tally(&proposal, EventId::all_zeros(), content, &judged, None).differences
        };
        assert_eq!(checked(&honest), Vec::<String>::new());
        let blind = TallyContent::new(
            &w.proposal,
            &votes::tally(&w.proposal, &judged.contributions, START + 100),
            false,
        );
        let differences = checked(&blind);
        assert!(
            differences.contains(&format!(
                "valid in-window vote {} (sender {}, zapping target {}) not counted",
                receipt.id,
                request.pubkey.to_hex(),
                announcement.id
            )),
            "{differences:?}"
        );
        assert!(
            differences.iter().any(|d| d.starts_with(&format!(
                "targets: {} (an event of the proposal's author",
                announcement.id
            ))),
            "{differences:?}"
        );

        // A listed target no relay holds as the author's, and the wrong order, are named.
        let mut fake = honest.clone();
        fake.targets.push(stranger.id.to_hex());
        assert!(checked(&fake)
            .iter()
            .any(|d| d.starts_with(&format!("targets: {} is listed", stranger.id))));
        let mut reversed = honest.clone();
        reversed.targets.reverse();
        assert!(checked(&reversed)
            .iter()
            .any(|d| d.contains("expected the proposal's id first")));
    }

    #[test]
    fn rules_that_differ_from_the_pinned_ones_are_named() {
        let w = world();
        let (judged, mut content) = honest(&w, &[], START + 100);
        content.rules.weight_cap = 0.5;
        assert_eq!(
            check(&w, &judged, &content),
            vec!["rules.weight_cap: published 0.5, the proposal pinned 0.05".to_owned()]
        );
    }

    #[test]
    fn the_same_payment_counts_once() {
        let w = world();
        let target = ZapTarget::new(w.bot.public_key(), 1_000)
            .event(w.proposal.id)
            .content("yes");
        let request = zap_request(&Keys::generate(), &target).unwrap();
        let at = Timestamp::from_secs(START + 5);
        let invoice = w.provider.invoice_at(&request, 1_000, at).unwrap();
        let once = w
            .provider
            .receipt(&request, &invoice.bolt11, Some(&invoice.preimage), at)
            .unwrap();
        let again = w
            .provider
            .receipt(&request, &invoice.bolt11, Some(&invoice.preimage), at + 1)
            .unwrap();
        let judged = judge(&[again.clone(), once.clone()], &w.proposal.rules);
        assert_eq!(judged.contributions.len(), 1);
        assert!(matches!(judged.by_id[&once.id], Judgement::Valid(_)));
        assert!(
            matches!(&judged.by_id[&again.id], Judgement::Rejected(r) if r.starts_with("duplicate_payment"))
        );
    }
}
