//! `commons-nostr check-receipt [FILE] [--zapper NPUB] [--json]`: judges kind 9735 zap receipts
//! offline by the rules of DESIGN.md "Zaps accepted", for an operator or a voter asking "why was
//! this zap not counted?".
//!
//! The input has one JSON event a line (standard input when no FILE; blank lines are skipped;
//! a line that is an object with an `event` member, as in `../shared/real-zaps/receipts.jsonl`,
//! is read as that event). Each receipt is judged by [`nip57::validate`] with the receipt's `p`
//! as the receiving bot, and as its LNURL provider the `--zapper` key when given (rule 2), else
//! the receipt's own signer (rule 2 not checked). One line comes out per receipt:
//!
//! ```text
//! <receipt id>  accepted
//! <receipt id>  accepted  anomalies: description_hash (the bolt11 invoice has no description hash)
//! <receipt id>  rejected  rule 3 zap_request_id_mismatch: zap request id does not match its content
//! line 7  rejected  unreadable: expected value at line 1 column 1
//! ```
//!
//! or, with `--json`, one object a line (`line`, `receipt`, `verdict`, and `anomalies` or
//! `rule`, `reason`, `detail`). A summary goes to standard error. The exit code is 0 when every
//! receipt is accepted (anomalies or not), 1 otherwise, 2 when the input cannot be read.

use std::io::{BufRead, Write};

use nostr_sdk::{Event, JsonUtil, PublicKey};
use serde::Serialize;
use serde_json::Value;

use crate::nostr::nip57::{self, Anomaly, Check, ZapRecipients, Zapper};

/// The reason given for a line that is not a Nostr event at all.
pub const UNREADABLE: &str = "unreadable";

/// One provider key standing as the LNURL provider of whatever bot a receipt names.
struct Offline {
    zapper: PublicKey,
}

impl ZapRecipients for Offline {
    fn zapper(&self, _bot: &PublicKey) -> Option<Zapper> {
        Some(Zapper::Known(self.zapper))
    }

    fn is_known_zapper(&self, key: &PublicKey) -> bool {
        *key == self.zapper
    }
}

/// A failed check of an accepted receipt, as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnomalyNote {
    pub check: &'static str,
    pub detail: String,
}

impl From<&Anomaly> for AnomalyNote {
    fn from(anomaly: &Anomaly) -> Self {
        AnomalyNote {
            check: anomaly.check().name(),
            detail: anomaly.to_string(),
        }
    }
}

/// What was decided of one input line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Outcome {
    /// It counts; `anomalies` lists the checks of rules 4 and 7 it failed.
    Accepted { anomalies: Vec<AnomalyNote> },
    /// It does not count: the DESIGN.md rule (0 when it is not a zap receipt to judge), the
    /// stable reason and the detail.
    Rejected {
        rule: u8,
        reason: &'static str,
        detail: String,
    },
}

/// The verdict on one input line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// 1-based line number in the input.
    pub line: usize,
    /// The event's id, hex, when the line is an event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
}

impl Verdict {
    pub fn is_accepted(&self) -> bool {
        matches!(self.outcome, Outcome::Accepted { .. })
    }

    /// The human-readable line.
    pub fn to_line(&self) -> String {
        let who = match &self.receipt {
            Some(id) => id.clone(),
            None => format!("line {}", self.line),
        };
        match &self.outcome {
            Outcome::Accepted { anomalies } if anomalies.is_empty() => format!("{who}  accepted"),
            Outcome::Accepted { anomalies } => {
                let notes: Vec<String> = anomalies
                    .iter()
                    .map(|a| format!("{} ({})", a.check, a.detail))
                    .collect();
                format!("{who}  accepted  anomalies: {}", notes.join("; "))
            }
            Outcome::Rejected {
                rule: 0,
                reason,
                detail,
            } => format!("{who}  rejected  {reason}: {detail}"),
            Outcome::Rejected {
                rule,
                reason,
                detail,
            } => format!("{who}  rejected  rule {rule} {reason}: {detail}"),
        }
    }
}

/// Judges one input line (see the module doc); `zapper` is `--zapper`.
pub fn judge_line(line_number: usize, line: &str, zapper: Option<PublicKey>) -> Verdict {
    let unreadable = |detail: String| Verdict {
        line: line_number,
        receipt: None,
        outcome: Outcome::Rejected {
            rule: 0,
            reason: UNREADABLE,
            detail,
        },
    };
    let value: Value = match serde_json::from_str(line) {
        Ok(value) => value,
        Err(e) => return unreadable(format!("not JSON: {e}")),
    };
    let event_value = match value.get("event") {
        Some(inner) if value.get("kind").is_none() => inner,
        _ => &value,
    };
    let event = match Event::from_json(event_value.to_string()) {
        Ok(event) => event,
        Err(e) => return unreadable(format!("not a nostr event: {e}")),
    };
    let recipients = Offline {
        zapper: zapper.unwrap_or(event.pubkey),
    };
    let outcome = match nip57::validate(&event, &recipients) {
        Ok(zap) => Outcome::Accepted {
            anomalies: zap
                .anomaly_details()
                .iter()
                .map(AnomalyNote::from)
                .collect(),
        },
        Err(rejection) => Outcome::Rejected {
            rule: rejection.rule(),
            reason: rejection.reason(),
            detail: rejection.to_string(),
        },
    };
    Verdict {
        line: line_number,
        receipt: Some(event.id.to_hex()),
        outcome,
    }
}

/// What a whole input came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub receipts: usize,
    pub accepted: usize,
    /// Accepted receipts with at least one anomaly.
    pub with_anomalies: usize,
    /// Accepted receipts per failed check, in [`Check::ALL`] order.
    pub anomalies: [usize; 3],
}

impl Summary {
    fn add(&mut self, verdict: &Verdict) {
        self.receipts += 1;
        if let Outcome::Accepted { anomalies } = &verdict.outcome {
            self.accepted += 1;
            if !anomalies.is_empty() {
                self.with_anomalies += 1;
            }
            for (i, check) in Check::ALL.iter().enumerate() {
                if anomalies.iter().any(|a| a.check == check.name()) {
                    self.anomalies[i] += 1;
                }
            }
        }
    }

    pub fn all_accepted(&self) -> bool {
        self.accepted == self.receipts
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} receipts: {} accepted ({} with anomalies:",
            self.receipts, self.accepted, self.with_anomalies
        )?;
        for (check, count) in Check::ALL.iter().zip(self.anomalies) {
            write!(f, " {check} {count}")?;
        }
        write!(f, "), {} rejected", self.receipts - self.accepted)
    }
}

/// Judges every line of `input`, writing one line per receipt to `out`.
pub fn check_all(
    input: impl BufRead,
    mut out: impl Write,
    zapper: Option<PublicKey>,
    json: bool,
) -> std::io::Result<Summary> {
    let mut summary = Summary::default();
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let verdict = judge_line(i + 1, &line, zapper);
        summary.add(&verdict);
        if json {
            let text = serde_json::to_string(&verdict).map_err(std::io::Error::other)?;
            writeln!(out, "{text}")?;
        } else {
            writeln!(out, "{}", verdict.to_line())?;
        }
    }
    out.flush()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use nostr_sdk::{EventBuilder, Keys, Kind, Tag};

    use super::*;
    use crate::nostr::zap_provider::{ZapProvider, ZapTarget};

    fn zap(provider: &ZapProvider) -> Event {
        let target = ZapTarget::new(Keys::generate().public_key(), 21_000).content("support");
        provider.zap(&Keys::generate(), &target).expect("zap")
    }

    #[test]
    fn an_honest_receipt_is_accepted_without_anomalies() {
        let provider = ZapProvider::generate();
        let receipt = zap(&provider);
        let verdict = judge_line(1, &receipt.as_json(), None);
        assert_eq!(verdict.receipt, Some(receipt.id.to_hex()));
        assert_eq!(verdict.outcome, Outcome::Accepted { anomalies: vec![] });
        assert_eq!(verdict.to_line(), format!("{}  accepted", receipt.id));
        // The same, with its provider named.
        let named = judge_line(1, &receipt.as_json(), Some(provider.public_key()));
        assert!(named.is_accepted());
    }

    #[test]
    fn rule_2_is_checked_only_against_the_zapper_given() {
        let receipt = zap(&ZapProvider::generate());
        let other = Keys::generate().public_key();
        let verdict = judge_line(3, &receipt.as_json(), Some(other));
        let Outcome::Rejected { rule, reason, .. } = &verdict.outcome else {
            panic!("accepted: {verdict:?}");
        };
        assert_eq!((*rule, *reason), (2, "wrong_zapper"));
        assert!(verdict
            .to_line()
            .contains("rejected  rule 2 wrong_zapper: "));
    }

    #[test]
    fn anomalies_are_named_with_their_detail() {
        let provider = ZapProvider::generate();
        let target = ZapTarget::new(Keys::generate().public_key(), 21_000);
        let request =
            crate::nostr::zap_provider::zap_request(&Keys::generate(), &target).expect("request");
        let invoice = provider
            .sign_invoice("a constant", Some(21_000), nostr_sdk::Timestamp::now())
            .expect("invoice");
        let receipt = provider
            .receipt(
                &request,
                &invoice.bolt11,
                Some(&[9u8; 32]),
                nostr_sdk::Timestamp::now(),
            )
            .expect("receipt");
        let verdict = judge_line(1, &receipt.as_json(), None);
        let Outcome::Accepted { anomalies } = &verdict.outcome else {
            panic!("rejected: {verdict:?}");
        };
        let checks: Vec<&str> = anomalies.iter().map(|a| a.check).collect();
        assert_eq!(checks, ["description_hash", "preimage"]);
        let line = verdict.to_line();
        assert!(line.contains("accepted  anomalies: description_hash (the bolt11 description hash"));
        let json: Value = serde_json::to_value(&verdict).expect("json");
        assert_eq!(json["verdict"], "accepted");
        assert_eq!(json["anomalies"][1]["check"], "preimage");
    }

    #[test]
    fn unreadable_lines_and_other_kinds_are_rejected_with_a_reason() {
        let verdict = judge_line(7, "not json", None);
        assert_eq!(verdict.receipt, None);
        assert!(verdict
            .to_line()
            .starts_with("line 7  rejected  unreadable: not JSON"));
        let note = EventBuilder::text_note("hi")
            .sign_with_keys(&Keys::generate())
            .expect("note");
        let verdict = judge_line(8, &note.as_json(), None);
        assert!(matches!(
            verdict.outcome,
            Outcome::Rejected {
                rule: 0,
                reason: "not_zap_receipt",
                ..
            }
        ));
        // A corpus line wraps the event.
        let receipt = zap(&ZapProvider::generate());
        let wrapped = serde_json::json!({"source": "x", "provider": "y", "event": receipt});
        assert!(judge_line(9, &wrapped.to_string(), None).is_accepted());
        // A kind 9735 with a tampered tag fails rule 1.
        let mut tags: Vec<Tag> = receipt.tags.clone().to_vec();
        tags.push(Tag::parse(["k", "1"]).expect("tag"));
        let mut tampered: Value = serde_json::to_value(&receipt).expect("json");
        tampered["tags"] = serde_json::to_value(&tags).expect("tags");
        let verdict = judge_line(10, &tampered.to_string(), None);
        assert!(matches!(
            verdict.outcome,
            Outcome::Rejected {
                rule: 1,
                reason: "receipt_id_mismatch",
                ..
            }
        ));
        assert_eq!(receipt.kind, Kind::ZapReceipt);
    }

    #[test]
    fn check_all_writes_a_line_each_and_sums_up() {
        let provider = ZapProvider::generate();
        let good = zap(&provider);
        let input = format!(
            "{}\n\n{}\nnot json\n",
            good.as_json(),
            zap(&provider).as_json()
        );
        let mut out = Vec::new();
        let summary = check_all(input.as_bytes(), &mut out, None, true).expect("checked");
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["receipt"], good.id.to_hex());
        assert_eq!(lines[0]["line"], 1);
        assert_eq!(lines[1]["line"], 3);
        assert_eq!(lines[2]["verdict"], "rejected");
        assert_eq!(lines[2]["reason"], UNREADABLE);
        assert_eq!(summary.receipts, 3);
        assert_eq!(summary.accepted, 2);
        assert!(!summary.all_accepted());
        assert_eq!(
            summary.to_string(),
            "3 receipts: 2 accepted (0 with anomalies: description_hash 0 payment_hash 0 \
             preimage 0), 1 rejected"
        );
    }
}
