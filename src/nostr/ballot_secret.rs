//! The "ballot secret" event (DESIGN.md "Events published"; "Sealed ballots", *Reveal*): at a
//! proposal's close each ballot key's holder publishes the key's private key, so anyone can open
//! the sealed ballots and recount.
//!
//! Kind 30078, `d` = `ballot-secret:<proposal id>`, signed by the holder (the gov bot, or an
//! independent holder), `created_at >= end`; tags `e` = the proposal, `ballot_key` = the X25519
//! public key (hex), `secret` = its private key (hex, 32 bytes), `alt`; empty content. Whether the
//! secret is *valid* (X25519(secret, 9) = the key the proposal pinned) is the reader's check
//! ([`crate::votes::is_valid_secret`]), against the proposal, never against the event's own
//! `ballot_key` alone.

use nostr_sdk::{Event, EventBuilder, EventId, Tag};

use super::ballot_keys::{ballot_key_tag, BallotKey, BallotSecret};
use super::events::{d, expect_kind, identifier, kind, single_tag, tag, tag_value, ParseError};

/// The ballot secret event for `key` of `proposal`, revealing `secret`. Build it only at or
/// after the proposal's `end`: before then the secret opens every sealed ballot.
pub fn ballot_secret(proposal: EventId, key: &BallotKey, secret: &BallotSecret) -> EventBuilder {
    EventBuilder::new(kind::BALLOT_SECRET, "").tags([
        Tag::identifier(d::ballot_secret(&proposal)),
        Tag::event(proposal),
        ballot_key_tag(key),
        single_tag(tag::SECRET, secret.reveal_hex()),
        Tag::alt(format!(
            "Ballot secret of proposal {}: opens its sealed ballots after the close",
            proposal.to_hex()
        )),
    ])
}

/// A ballot secret event, read back (its signature is the caller's to check).
#[derive(Debug, Clone)]
pub struct BallotSecretEvent {
    /// The proposal (`e`).
    pub proposal: EventId,
    /// The key it says it reveals (`ballot_key`).
    pub key: BallotKey,
    pub secret: BallotSecret,
}

/// Reads a ballot secret event: kind, `d` matching its `e`, a 32-byte `ballot_key` and
/// `secret`. Does not check that the secret belongs to the key.
pub fn parse_ballot_secret(event: &Event) -> Result<BallotSecretEvent, ParseError> {
    expect_kind(event, kind::BALLOT_SECRET)?;
    let found = identifier(event)?;
    let proposal_hex = tag_value(event, tag::E)?;
    let proposal = EventId::from_hex(proposal_hex).map_err(|e| ParseError::InvalidTag {
        tag: tag::E,
        value: proposal_hex.to_owned(),
        reason: e.to_string(),
    })?;
    let expected = d::ballot_secret(&proposal);
    if found != expected {
        return Err(ParseError::WrongIdentifier {
            expected,
            found: found.to_owned(),
        });
    }
    let key_hex = tag_value(event, tag::BALLOT_KEY)?;
    let key = BallotKey::from_hex(key_hex).map_err(|e| ParseError::InvalidTag {
        tag: tag::BALLOT_KEY,
        value: key_hex.to_owned(),
        reason: e.to_string(),
    })?;
    let secret = BallotSecret::from_hex(tag_value(event, tag::SECRET)?).map_err(|e| {
        ParseError::InvalidTag {
            tag: tag::SECRET,
            // A malformed secret is no secret, but it is still not ours to echo.
            value: "<not shown>".to_owned(),
            reason: e.to_string(),
        }
    })?;
    Ok(BallotSecretEvent {
        proposal,
        key,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use nostr_sdk::Keys;

    use super::*;

    #[test]
    fn builds_and_reads_back() {
        let keys = Keys::generate();
        let proposal = EventId::from_byte_array([4; 32]);
        let secret = BallotSecret::from_bytes([0x42; 32]);
        let key = BallotKey::from_bytes([0x24; 32]);
        let event = ballot_secret(proposal, &key, &secret)
            .sign_with_keys(&keys)
            .expect("signs");
        assert_eq!(event.kind.as_u16(), 30078);
        assert!(event.content.is_empty());
        assert_eq!(
            identifier(&event).ok(),
            Some(format!("ballot-secret:{}", proposal.to_hex()).as_str())
        );
        let alt = tag_value(&event, tag::ALT).expect("alt");
        assert!(!alt.contains(&"42".repeat(8)), "{alt}");
        let read = parse_ballot_secret(&event).expect("parses");
        assert_eq!(read.proposal, proposal);
        assert_eq!(read.key, key);
        assert_eq!(read.secret.reveal_hex(), "42".repeat(32));
    }

    #[test]
    fn the_same_reveal_is_the_same_event_id() {
        // What makes a reveal once: a retry, a restart or a second server sharing the database
        // signs the same unsigned event (same key, created_at = end, tags, content), so the
        // outbox and the relays hold it once.
        let keys = Keys::generate();
        let proposal = EventId::from_byte_array([4; 32]);
        let secret = BallotSecret::from_bytes([0x42; 32]);
        let key = BallotKey::from_bytes([0x24; 32]);
        let at = nostr_sdk::Timestamp::from_secs(1_800_000_060);
        let sign = || {
            ballot_secret(proposal, &key, &secret)
                .custom_created_at(at)
                .sign_with_keys(&keys)
                .expect("signs")
        };
        let (a, b) = (sign(), sign());
        assert_eq!(a.id, b.id);
        assert_eq!(a.created_at, at);
    }

    #[test]
    fn refuses_a_wrong_d_or_a_short_secret() {
        let keys = Keys::generate();
        let proposal = EventId::from_byte_array([4; 32]);
        let other = EventId::from_byte_array([5; 32]);
        let wrong_d = EventBuilder::new(kind::BALLOT_SECRET, "")
            .tags([
                Tag::identifier(d::ballot_secret(&other)),
                Tag::event(proposal),
                single_tag(tag::BALLOT_KEY, "24".repeat(32)),
                single_tag(tag::SECRET, "42".repeat(32)),
            ])
            .sign_with_keys(&keys)
            .expect("signs");
        assert!(matches!(
            parse_ballot_secret(&wrong_d),
            Err(ParseError::WrongIdentifier { .. })
        ));
        let short = EventBuilder::new(kind::BALLOT_SECRET, "")
            .tags([
                Tag::identifier(d::ballot_secret(&proposal)),
                Tag::event(proposal),
                single_tag(tag::BALLOT_KEY, "24".repeat(32)),
                single_tag(tag::SECRET, "42".repeat(31)),
            ])
            .sign_with_keys(&keys)
            .expect("signs");
        let error = parse_ballot_secret(&short).expect_err("too short");
        assert!(!error.to_string().contains(&"42".repeat(31)), "{error}");
    }
}
