//! How the page writes numbers, amounts, times and states: pure functions, so every number on
//! the page is the tally's, rounded one way, and the tests can read it back.

use chrono::{DateTime, Utc};

use crate::votes::ProposalVoteResult;

/// A proposal's state on the page: DESIGN.md "The public page".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageState {
    /// The voting window is open.
    Open,
    /// Closed without reaching the threshold.
    Closed,
    /// Closed with support at or above the threshold and no blocking veto.
    Passed,
    /// Closed with a blocking veto.
    Vetoed,
}

impl PageState {
    /// The state at `now` of a proposal whose window ends at `end` with `result`.
    pub fn of(now: u64, end: u64, result: &ProposalVoteResult) -> PageState {
        if now <= end {
            PageState::Open
        } else if result.veto_blocks {
            PageState::Vetoed
        } else if result.threshold_met {
            PageState::Passed
        } else {
            PageState::Closed
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PageState::Open => "open",
            PageState::Closed => "closed",
            PageState::Passed => "passed",
            PageState::Vetoed => "vetoed",
        }
    }
}

/// A vote weight: four decimals, trailing zeros dropped (`0.2`, `0.0316`, `12.5`, `0`).
pub fn weight(w: f64) -> String {
    if !w.is_finite() {
        return "-".to_owned();
    }
    let text = format!("{w:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "" | "-0" => "0".to_owned(),
        t => t.to_owned(),
    }
}

/// Thousands separated with a thin space: `1 234 567`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// An amount in sats (`21`, `1 000`, `0.5`): millisatoshis shown only when there are some.
pub fn sats(msat: u64) -> String {
    let whole = grouped(msat / 1000);
    match msat % 1000 {
        0 => whole,
        rest => format!("{whole}.{}", format!("{rest:03}").trim_end_matches('0')),
    }
}

/// A moment in UTC, to the minute: `2026-12-05 14:03 UTC`.
pub fn utc(ts: u64) -> String {
    i64::try_from(ts)
        .ok()
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .map_or_else(
            || ts.to_string(),
            |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
        )
}

/// A moment for machines (`datetime` attributes, the CSV): RFC 3339 in UTC.
pub fn rfc3339(ts: u64) -> String {
    i64::try_from(ts)
        .ok()
        .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0))
        .map_or_else(
            || ts.to_string(),
            |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )
}

/// A span in words, its two largest units: `3 d 4 h`, `12 min`, `40 s`.
pub fn span(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min")
    } else {
        format!("{secs} s")
    }
}

/// Time left at `now` in a window ending at `end`: `3 d 4 h left`, or `closed 2 d 1 h ago`.
pub fn time_left(now: u64, end: u64) -> String {
    if now <= end {
        format!("{} left", span(end - now))
    } else {
        format!("closed {} ago", span(now - end))
    }
}

/// A long identifier shortened for a narrow screen: `npub1abcd…wxyz`.
pub fn short(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 20 {
        return id.to_owned();
    }
    let head: String = chars[..12].iter().collect();
    let tail: String = chars[chars.len() - 6..].iter().collect();
    format!("{head}…{tail}")
}

/// The scale the result bars share. When the threshold is within reach (at most four times
/// the largest sum) the scale takes it in, so its marker shows how far support has come;
/// beyond that the largest sum fills 80 % of its bar (the bars compare with each other) and
/// the marker sits at the end ([`threshold_beyond`]). With no votes, the threshold.
pub fn bar_scale(result: &ProposalVoteResult) -> f64 {
    let largest = result
        .support_votes
        .max(result.veto_votes)
        .max(result.abstain_votes);
    let scale = if largest > 0.0 && result.threshold <= 4.0 * largest {
        result.threshold.max(largest) * 1.05
    } else {
        largest * 1.25
    };
    if scale.is_finite() && scale > 0.0 {
        scale
    } else if result.threshold.is_finite() && result.threshold > 0.0 {
        result.threshold
    } else {
        1.0
    }
}

/// Whether the threshold lies beyond the end of the bars' scale.
pub fn threshold_beyond(result: &ProposalVoteResult) -> bool {
    result.threshold > bar_scale(result)
}

/// `part` of `scale` in percent, clamped to 0 to 100, two decimals (an SVG width).
pub fn percent(part: f64, scale: f64) -> String {
    let p = if scale > 0.0 && part.is_finite() {
        (part / scale * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    };
    format!("{p:.2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(
        support: f64,
        veto: f64,
        threshold_met: bool,
        veto_blocks: bool,
    ) -> ProposalVoteResult {
        ProposalVoteResult {
            pr_id: 1,
            tier: 1,
            threshold: 100.0,
            total_votes: support + veto,
            support_votes: support,
            veto_votes: veto,
            abstain_votes: 0.0,
            sealed_votes: 0.0,
            zap_vote_count: 0,
            participation_vote_count: 0,
            threshold_met,
            veto_blocks,
        }
    }

    #[test]
    fn states_follow_the_window_and_the_verdicts() {
        let r = result(150.0, 0.0, true, false);
        assert_eq!(PageState::of(10, 10, &r), PageState::Open);
        assert_eq!(PageState::of(11, 10, &r), PageState::Passed);
        let vetoed = result(150.0, 120.0, true, true);
        assert_eq!(PageState::of(11, 10, &vetoed), PageState::Vetoed);
        assert_eq!(PageState::of(5, 10, &vetoed), PageState::Open);
        let short_of = result(50.0, 0.0, false, false);
        assert_eq!(PageState::of(11, 10, &short_of).as_str(), "closed");
    }

    #[test]
    fn numbers_read_back() {
        assert_eq!(weight(0.2), "0.2");
        assert_eq!(weight(0.031622776), "0.0316");
        assert_eq!(weight(0.0), "0");
        assert_eq!(weight(1e-9), "0");
        assert_eq!(weight(12.5), "12.5");
        assert_eq!(weight(f64::NAN), "-");
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_234_567), "1\u{2009}234\u{2009}567");
        assert_eq!(sats(21_000), "21");
        assert_eq!(sats(1_500), "1.5");
        assert_eq!(sats(1_000_001), "1\u{2009}000.001");
    }

    #[test]
    fn times_in_words() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(rfc3339(86_400 + 61), "1970-01-02T00:01:01Z");
        assert_eq!(span(40), "40 s");
        assert_eq!(span(12 * 60 + 5), "12 min");
        assert_eq!(span(3 * 3_600 + 60), "3 h 1 min");
        assert_eq!(span(3 * 86_400 + 4 * 3_600 + 59), "3 d 4 h");
        assert_eq!(time_left(0, 90), "1 min left");
        assert_eq!(time_left(200, 100), "closed 1 min ago");
    }

    #[test]
    fn bars_share_a_scale_that_fits_the_threshold() {
        // Within reach: the threshold is on the scale.
        let r = result(50.0, 10.0, false, false);
        assert_eq!(bar_scale(&r), 105.0);
        assert!(!threshold_beyond(&r));
        let over = result(400.0, 0.0, true, false);
        assert_eq!(percent(over.threshold, bar_scale(&over)), "23.81");
        // Far below: the largest sum fills 80 %, the threshold is off the end.
        let small = result(0.02, 0.01, false, false);
        assert_eq!(percent(small.support_votes, bar_scale(&small)), "80.00");
        assert!(threshold_beyond(&small));
        assert_eq!(percent(small.threshold, bar_scale(&small)), "100.00");
        // No votes: the threshold.
        let none = result(0.0, 0.0, false, false);
        assert_eq!(bar_scale(&none), 100.0);
        assert_eq!(percent(5.0, 0.0), "0.00");
        assert_eq!(percent(500.0, 100.0), "100.00");
        assert_eq!(
            short("npub1abcdefghijklmnopqrstuvwxyz0123456789"),
            "npub1abcdefg…456789"
        );
        assert_eq!(short("short"), "short");
    }
}
