//! What `verify` and `verify-vote` check of sealed ballots (DESIGN.md "Sealed ballots",
//! "Tally events"). Pure: the events come in, the differences go out.
//!
//! 1. **The reveal** ([`crate::votes::sealed::read_reveal`], shared with the service): the ballot
//!    secret events of a proposal (fetched from any author:
//!    [`crate::votes::sealed::secrets_filter`]) count only when signed by a holder the proposal
//!    pinned, naming that holder's pinned key, with that key's private key and a `created_at` at
//!    or after the close; a pinned holder's event that fails one of these is a problem, named.
//!    With a valid secret for every pinned key the ballots can be opened; otherwise they stay
//!    sealed, and a tally that says they were opened is wrong.
//! 2. **Where the keys came from** ([`pool_problems`]): each independent holder's pinned key
//!    must be listed in a "ballot key pool" event of that holder, signed by it (a pool may be
//!    dated after the proposal's `created_at`, its window's start: the service reads the pools
//!    after taking the time), embedded in the proposal (`ballot_key_pools`: relays keep only a holder's
//!    newest pool, so the one the key was taken from travels with the proposal). A key the
//!    operator made up itself (and could read ballots with) is named.
//! 3. **The sealed numbers** ([`sealed_differences`]): the recompute (with that opening, from
//!    the close on) gives `sealed_votes`, `sealed` (`keys`, `opened`, `ballots`, `voters`,
//!    `invalid`) and `private_zaps`; each published one that differs is named. Before the close
//!    this recomputes the sealed sums with no secret at all.

use nostr_sdk::Event;

use super::close::close;
use crate::nostr::ballot_key_pool::parse_ballot_key_pool;
use crate::nostr::governance_action::parse_governance_action;
use crate::votes::{Proposal, Tally, TallyContent};

/// Names each independent holder of `proposal` (from its review-period `event`) whose pinned
/// key is not in a pool event of its own embedded in the proposal: signed by the holder and
/// listing the key. The gov bot (the proposal's author)
/// derives its key and has no pool.
pub fn pool_problems(event: &Event, proposal: &Proposal) -> Vec<String> {
    let Some(sealed) = proposal.rules.sealed.as_ref() else {
        return Vec::new();
    };
    let independent: Vec<_> = sealed
        .holders
        .iter()
        .filter(|h| h.holder != event.pubkey)
        .collect();
    if independent.is_empty() {
        return Vec::new();
    }
    let pools = match parse_governance_action(event) {
        Ok(action) => action.content.ballot_key_pools,
        Err(e) => return vec![format!("proposal {}: unreadable: {e}", proposal.id)],
    };
    let mut problems = Vec::new();
    for pool in &pools {
        if pool.verify().is_err() {
            problems.push(format!(
                "proposal {}: embedded ballot key pool {} (by {}): the signature does not verify",
                proposal.id, pool.id, pool.pubkey
            ));
        }
    }
    for holder in independent {
        let own: Vec<&Event> = pools
            .iter()
            .filter(|pool| pool.pubkey == holder.holder && pool.verify().is_ok())
            .collect();
        let listed = own
            .iter()
            .any(|pool| parse_ballot_key_pool(pool).is_ok_and(|p| p.keys.contains(&holder.key)));
        if listed {
            continue;
        }
        let why = if own.is_empty() {
            "no pool signed by that holder is embedded"
        } else {
            "no embedded pool of that holder lists it"
        };
        problems.push(format!(
            "proposal {}: holder {}'s pinned ballot key {} does not come from the holder's own \
             ballot key pool ({why}): nothing shows the key is the holder's rather than the \
             operator's",
            proposal.id, holder.holder, holder.key
        ));
    }
    problems
}

/// Names each sealed-ballot number of the published `content` that differs from the
/// recompute `recomputed` (made with the reveal's opening).
pub fn sealed_differences(
    proposal: &Proposal,
    content: &TallyContent,
    recomputed: &Tally,
    d: &mut Vec<String>,
) {
    let expected = TallyContent::new(proposal, recomputed, content.is_final);
    let (published, want) = (content.result.sealed_votes, recomputed.result.sealed_votes);
    if !close(published, want) {
        d.push(format!(
            "sealed_votes: published {published}, recomputed {want}"
        ));
    }
    if content.private_zaps != expected.private_zaps {
        d.push(format!(
            "private_zaps: published {} ({} msat), recomputed {} ({} msat)",
            content.private_zaps.count,
            content.private_zaps.msat,
            expected.private_zaps.count,
            expected.private_zaps.msat
        ));
    }
    match (&content.sealed, &expected.sealed) {
        (None, None) => {}
        (Some(_), None) => {
            d.push("sealed: published, but the proposal pinned no ballot keys".to_owned())
        }
        (None, Some(_)) => {
            d.push("sealed: missing, but the proposal pinned ballot keys".to_owned())
        }
        (Some(p), Some(r)) => {
            if p.keys != r.keys {
                d.push(format!(
                    "sealed.keys: published {:?}, the proposal pinned {:?}",
                    p.keys.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    r.keys.iter().map(ToString::to_string).collect::<Vec<_>>()
                ));
            }
            if p.opened != r.opened {
                d.push(if p.opened {
                    "sealed.opened: published true, but the relays do not hold a valid secret \
                     for every pinned key revealed after the close, so nobody can open the \
                     ballots"
                        .to_owned()
                } else {
                    "sealed.opened: published false, but every pinned key's secret is on the \
                     relays"
                        .to_owned()
                });
            }
            for (name, published, want) in [
                ("ballots", p.ballots, r.ballots),
                ("voters", p.voters, r.voters),
                ("invalid", p.invalid, r.invalid),
            ] {
                if published != want {
                    d.push(format!(
                        "sealed.{name}: published {published}, recomputed {want}"
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use nostr_sdk::{Keys, Timestamp};
    use serde_json::json;

    use super::*;
    use crate::configuration::GovernanceSettings;
    use crate::nostr::ballot_key_pool::ballot_key_pool;
    use crate::nostr::ballot_keys::{BallotHolder, SealedRules};
    use crate::nostr::governance_action::{
        governance_action_content, GovernanceAction, GovernanceActionRequest,
    };
    use crate::votes::{BallotKey, BallotSecret, VoteRules};

    const START: u64 = 1_800_000_000;

    fn key(byte: u8) -> BallotKey {
        BallotKey::from_secret(&BallotSecret::from_bytes([byte; 32]))
    }

    /// A review period by `gov` pinning `holders` after the gov bot's own key, with `pools`
    /// embedded, and the proposal read back from it.
    fn proposal_with(
        gov: &Keys,
        holders: &[(&Keys, BallotKey)],
        pools: Vec<Event>,
    ) -> (Event, Proposal) {
        let request = json!({"action": "review-period", "repository": "o/r", "pr": 3, "tier": 1,
                             "title": "Pools", "voting_window_secs": 60});
        let request =
            GovernanceActionRequest::from_json(request.to_string().as_bytes()).expect("a request");
        let action = GovernanceAction::parse(request, Timestamp::from_secs(START)).expect("parses");
        let mut content = action.content();
        let mut rules = VoteRules::new(&GovernanceSettings::default(), 1, vec![], vec![]);
        let mut pinned = vec![BallotHolder {
            holder: gov.public_key(),
            key: key(1),
        }];
        pinned.extend(holders.iter().map(|(k, key)| BallotHolder {
            holder: k.public_key(),
            key: *key,
        }));
        rules.sealed = Some(SealedRules::new(pinned));
        content.rules = Some(rules);
        content.ballot_key_pools = pools;
        let event = governance_action_content(&action, &content, "test", None)
            .custom_created_at(Timestamp::from_secs(START))
            .sign_with_keys(gov)
            .expect("signs");
        let proposal = super::super::tallies::proposal_of(&event).expect("a proposal");
        (event, proposal)
    }

    fn pool(holder: &Keys, keys: &[BallotKey], at: u64) -> Event {
        ballot_key_pool(keys)
            .custom_created_at(Timestamp::from_secs(at))
            .sign_with_keys(holder)
            .expect("signs")
    }

    #[test]
    fn each_independent_key_must_come_from_its_holders_own_pool() {
        let (gov, a, b) = (Keys::generate(), Keys::generate(), Keys::generate());
        let holders = [(&a, key(2)), (&b, key(3))];
        let good = [
            pool(&a, &[key(2), key(9)], START - 5),
            // Dated after the proposal's start: fine (the service takes the time first).
            pool(&b, &[key(3)], START + 1),
        ];
        let (event, proposal) = proposal_with(&gov, &holders, good.to_vec());
        assert_eq!(pool_problems(&event, &proposal), Vec::<String>::new());

        // B's key "from a pool" the operator signed itself; a pool that does not list the key;
        // no pool at all. (A pool dated after the proposal's start is fine: the service takes
        // the time first, then reads the pools.)
        let b_hex = b.public_key().to_hex();
        for (why, b_pool) in [
            ("signed by another key", vec![pool(&gov, &[key(3)], START)]),
            ("not listing the key", vec![pool(&b, &[key(4)], START)]),
            ("missing", vec![]),
        ] {
            let mut pools = vec![good[0].clone()];
            pools.extend(b_pool);
            let (event, proposal) = proposal_with(&gov, &holders, pools);
            let problems = pool_problems(&event, &proposal);
            assert_eq!(problems.len(), 1, "{why}: {problems:?}");
            assert!(
                problems[0].contains(&b_hex) && problems[0].contains(&key(3).to_hex()),
                "{why}: {problems:?}"
            );
        }

        // Only the gov bot's key: nothing to show.
        let (event, proposal) = proposal_with(&gov, &[], vec![]);
        assert!(pool_problems(&event, &proposal).is_empty());
    }
}
