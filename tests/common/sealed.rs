//! Votes on a sealed proposal and its tallies, for the end-to-end tests of sealed ballots
//! (`sealed_ballots`, `holders_opening`): a zap paid the way a real provider makes it, with the
//! [`NaiveZap`] the tests' own recompute reads, and the newest tally on a relay waited for until
//! it equals that recompute.

use std::time::Duration;

use commons_nostr::nostr::zap_provider::{ZapProvider, ZapTarget};
use commons_nostr::votes::TallyContent;
use nostr_sdk::prelude::*;
use serde_json::Value;

use super::naive::{self, NaiveZap};
use super::relays::fetch_all;
use super::zaps::paid_zap;

/// A zap of `proposal` (a bot `gov`'s event) by `sender` with `text`, paid now, and what the
/// naive recompute knows of it. `sealed_as`: the type the token in `text` opens to for this
/// sender, if it holds one that opens.
pub fn proposal_zap(
    provider: &ZapProvider,
    gov: PublicKey,
    proposal: EventId,
    sender: &Keys,
    msat: u64,
    text: &str,
    sealed_as: Option<&'static str>,
) -> (Event, NaiveZap) {
    let target = ZapTarget::new(gov, msat).event(proposal).content(text);
    let receipt = paid_zap(provider, sender, &target, Timestamp::now());
    let zap = NaiveZap {
        receipt: receipt.id,
        sender: sender.public_key(),
        msat,
        at: receipt.created_at.as_secs(),
        names_proposal: true,
        poll_type: None,
        content: text.to_owned(),
        private: false,
        sealed_as,
    };
    (receipt, zap)
}

/// The newest tally of `proposal` by `gov` on `relay`.
pub async fn newest_tally(relay: &RelayUrl, gov: &PublicKey, proposal: &EventId) -> Option<Event> {
    let filter = Filter::new()
        .kind(Kind::ApplicationSpecificData)
        .author(*gov)
        .identifier(format!("tally:{}", proposal.to_hex()));
    fetch_all(relay, filter)
        .await
        .into_iter()
        .max_by_key(|e| e.created_at)
}

/// Waits for a tally on `relay` that is `opened` (or not) and equals the naive recompute of
/// `zaps` under `rules` in the window `[start, end]`; its content.
pub async fn tally_matching(
    relay: &RelayUrl,
    gov: &PublicKey,
    proposal: &EventId,
    naive_of: (&[NaiveZap], &Value, u64, u64),
    opened: bool,
    timeout: Duration,
) -> TallyContent {
    let (zaps, rules, start, end) = naive_of;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let difference = match newest_tally(relay, gov, proposal).await {
            None => "no tally yet".to_owned(),
            Some(event) => {
                let content: TallyContent =
                    serde_json::from_str(&event.content).expect("tally content");
                let expected = naive::naive_opened(zaps, rules, start, end, content.as_of, opened);
                let is_opened = content.sealed.as_ref().is_some_and(|s| s.opened);
                match naive::differs(&content, &expected) {
                    None if is_opened == opened => return content,
                    None => format!("opened is {is_opened}"),
                    Some(difference) => difference,
                }
            }
        };
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "no tally (opened: {opened}) of {proposal} on {relay} equals the naive recompute: {difference}"
            );
        }
        actix_rt::time::sleep(Duration::from_millis(200)).await;
    }
}
