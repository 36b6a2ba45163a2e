//! The "ballot key pool" event (DESIGN.md "Events published"; "Sealed ballots", *Independent
//! holders*): an independent ballot key holder's unused X25519 public keys, from which the
//! service takes one for each new proposal without asking the holder anything.
//!
//! Kind 30078, `d` = `ballot-keys`, signed by the holder; tags `t` = `governance-ballot-keys`,
//! one `key` per unused key (hex), `alt`; empty content. Relays keep the newest per holder, so the
//! holder republishes it (later `created_at`) whenever a proposal takes a key and it tops up.

use std::collections::HashMap;
use std::time::Duration;

use nostr_sdk::{Event, EventBuilder, Filter, PublicKey, RelayUrl, Tag, Timestamp};

use super::ballot_keys::BallotKey;
use super::events::{d, expect_kind, hashtag, identifier, kind, single_tag, tag, ParseError};

/// The pool event listing `keys`, in the order given (the service takes the first unused one).
pub fn ballot_key_pool(keys: &[BallotKey]) -> EventBuilder {
    let mut tags = Vec::with_capacity(keys.len() + 3);
    tags.push(Tag::identifier(d::BALLOT_KEY_POOL));
    tags.push(Tag::hashtag(hashtag::GOVERNANCE_BALLOT_KEYS));
    tags.extend(keys.iter().map(|key| single_tag(tag::KEY, key.to_hex())));
    tags.push(Tag::alt(format!(
        "Ballot key pool of an independent ballot key holder: {} unused key(s) for sealed governance ballots",
        keys.len()
    )));
    EventBuilder::new(kind::BALLOT_KEY_POOL, "").tags(tags)
}

/// A pool event, read back (its signature is the caller's to check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BallotKeyPool {
    /// The holder (the event's author).
    pub holder: PublicKey,
    pub created_at: Timestamp,
    /// The unused keys, in the event's order.
    pub keys: Vec<BallotKey>,
}

/// Reads a pool event: kind, `d`, and every `key` tag a 32-byte key.
pub fn parse_ballot_key_pool(event: &Event) -> Result<BallotKeyPool, ParseError> {
    expect_kind(event, kind::BALLOT_KEY_POOL)?;
    let found = identifier(event)?;
    if found != d::BALLOT_KEY_POOL {
        return Err(ParseError::WrongIdentifier {
            expected: d::BALLOT_KEY_POOL.to_owned(),
            found: found.to_owned(),
        });
    }
    let mut keys = Vec::new();
    let values = event.tags.iter().filter_map(|t| match t.as_slice() {
        [name, value, ..] if name == tag::KEY => Some(value.as_str()),
        _ => None,
    });
    for value in values {
        let key = BallotKey::from_hex(value).map_err(|e| ParseError::InvalidTag {
            tag: tag::KEY,
            value: value.to_owned(),
            reason: e.to_string(),
        })?;
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(BallotKeyPool {
        holder: event.pubkey,
        created_at: event.created_at,
        keys,
    })
}

/// Each of `holders`' newest pool on `relays`, with the signed event it came from: a one-shot
/// read by a transient client (waiting at most `timeout`). Only events signed by the holder
/// itself that parse count; a holder with none is absent from the answer. An error when no
/// relay could be read at all.
pub async fn fetch_newest_pools(
    relays: &[RelayUrl],
    holders: &[PublicKey],
    timeout: Duration,
) -> Result<HashMap<PublicKey, (Event, BallotKeyPool)>, String> {
    let filter = Filter::new()
        .kind(kind::BALLOT_KEY_POOL)
        .authors(holders.iter().copied())
        .identifier(d::BALLOT_KEY_POOL);
    let events = super::relay_read::fetch_once(relays, filter, timeout)
        .await
        .map_err(|e| format!("cannot read the ballot key pools: {e}"))?;
    let mut newest: HashMap<PublicKey, (Event, BallotKeyPool)> = HashMap::new();
    for event in events {
        if !holders.contains(&event.pubkey) || event.verify().is_err() {
            continue;
        }
        let Ok(pool) = parse_ballot_key_pool(&event) else {
            continue;
        };
        let newer = newest
            .get(&pool.holder)
            .is_none_or(|(_, known)| pool.created_at > known.created_at);
        if newer {
            newest.insert(pool.holder, (event, pool));
        }
    }
    Ok(newest)
}

#[cfg(test)]
mod tests {
    use nostr_sdk::Keys;

    use super::*;
    use crate::nostr::events::tag_value;

    #[test]
    fn builds_and_reads_back_in_order() {
        let holder = Keys::generate();
        let keys = [
            BallotKey::from_bytes([3; 32]),
            BallotKey::from_bytes([1; 32]),
            BallotKey::from_bytes([2; 32]),
        ];
        let event = ballot_key_pool(&keys)
            .sign_with_keys(&holder)
            .expect("signs");
        assert_eq!(event.kind.as_u16(), 30078);
        assert!(event.content.is_empty());
        assert!(tag_value(&event, tag::ALT).is_ok());
        let pool = parse_ballot_key_pool(&event).expect("parses");
        assert_eq!(pool.holder, holder.public_key());
        assert_eq!(pool.keys, keys.to_vec());
    }

    #[test]
    fn refuses_another_d_or_a_bad_key() {
        let holder = Keys::generate();
        let other_d = EventBuilder::new(kind::BALLOT_KEY_POOL, "")
            .tags([
                Tag::identifier("keys"),
                single_tag(tag::KEY, "11".repeat(32)),
            ])
            .sign_with_keys(&holder)
            .expect("signs");
        assert!(matches!(
            parse_ballot_key_pool(&other_d),
            Err(ParseError::WrongIdentifier { .. })
        ));
        let bad_key = EventBuilder::new(kind::BALLOT_KEY_POOL, "")
            .tags([
                Tag::identifier(d::BALLOT_KEY_POOL),
                single_tag(tag::KEY, "11".repeat(31)),
            ])
            .sign_with_keys(&holder)
            .expect("signs");
        assert!(matches!(
            parse_ballot_key_pool(&bad_key),
            Err(ParseError::InvalidTag { tag: "key", .. })
        ));
    }
}
