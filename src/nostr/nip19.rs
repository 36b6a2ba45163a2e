//! NIP-19 references to events, as people paste them: a hex event id, `note1`, `nevent1` and
//! `naddr1` (the links the service hands out are made by [`crate::nostr::events::naddr`] and
//! [`crate::nostr::events::nevent`]).
//!
//! The bech32 work is nostr-sdk's ([`nostr_sdk::nips::nip19`]); this module only says which
//! forms name an event and turns them into one [`EventRef`].

use nostr_sdk::nips::nip01::Coordinate;
use nostr_sdk::nips::nip19::Nip19;
use nostr_sdk::{EventId, FromBech32, Kind, PublicKey, RelayUrl};
use thiserror::Error;

/// An event named by what a person pasted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventRef {
    /// An event by id (`hex`, `note1`, `nevent1`), with what a `nevent1` adds.
    Id {
        id: EventId,
        author: Option<PublicKey>,
        kind: Option<Kind>,
        relays: Vec<RelayUrl>,
    },
    /// An addressable event by its coordinate (`naddr1`), with the relay hints.
    Address {
        coordinate: Coordinate,
        relays: Vec<RelayUrl>,
    },
}

impl EventRef {
    /// The relays the reference suggests (none for a hex id or a `note1`).
    pub fn relays(&self) -> &[RelayUrl] {
        match self {
            EventRef::Id { relays, .. } | EventRef::Address { relays, .. } => relays,
        }
    }
}

/// Why a text is not an event reference.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Nip19Error {
    /// Not hex, not bech32 of an event.
    #[error("{0:?} is not an event id (hex, note1, nevent1) or an address (naddr1)")]
    NotAnEvent(String),
    /// Bech32 of something else (a key, a profile).
    #[error("{text:?} is a {what}, not an event")]
    WrongEntity { text: String, what: &'static str },
}

/// Reads a hex event id, `note1`, `nevent1` or `naddr1` (surrounding white space and a
/// `nostr:` prefix ignored).
pub fn parse_event_ref(text: &str) -> Result<EventRef, Nip19Error> {
    let trimmed = text.trim();
    let bare = trimmed.strip_prefix("nostr:").unwrap_or(trimmed);
    if bare.len() == 64 && bare.bytes().all(|b| b.is_ascii_hexdigit()) {
        return EventId::from_hex(bare)
            .map(|id| EventRef::Id {
                id,
                author: None,
                kind: None,
                relays: Vec::new(),
            })
            .map_err(|_| Nip19Error::NotAnEvent(trimmed.to_owned()));
    }
    let wrong = |what| Nip19Error::WrongEntity {
        text: trimmed.to_owned(),
        what,
    };
    match Nip19::from_bech32(bare) {
        Ok(Nip19::EventId(id)) => Ok(EventRef::Id {
            id,
            author: None,
            kind: None,
            relays: Vec::new(),
        }),
        Ok(Nip19::Event(event)) => Ok(EventRef::Id {
            id: event.event_id,
            author: event.author,
            kind: event.kind,
            relays: event.relays,
        }),
        Ok(Nip19::Coordinate(address)) => Ok(EventRef::Address {
            coordinate: address.coordinate,
            relays: address.relays,
        }),
        Ok(Nip19::Pubkey(_)) => Err(wrong("public key (npub)")),
        Ok(Nip19::Profile(_)) => Err(wrong("profile (nprofile)")),
        Ok(_) => Err(wrong("secret key")),
        Err(_) => Err(Nip19Error::NotAnEvent(trimmed.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use nostr_sdk::{Keys, ToBech32};

    use super::*;
    use crate::nostr::events::{naddr, nevent};

    fn relay() -> RelayUrl {
        RelayUrl::parse("ws://127.0.0.1:7777").expect("relay url")
    }

    #[test]
    fn every_form_of_an_event_reads_back() {
        let author = Keys::generate().public_key();
        let id = EventId::all_zeros();
        let hex = "ab".repeat(32);
        let from_hex = parse_event_ref(&format!("  {hex}\n")).expect("hex");
        assert!(matches!(from_hex, EventRef::Id { id, .. } if id.to_hex() == hex));

        let note = id.to_bech32().expect("note1");
        assert!(matches!(
            parse_event_ref(&format!("nostr:{note}")),
            Ok(EventRef::Id { author: None, .. })
        ));

        let link = nevent(id, author, Kind::TextNote, &[relay()]);
        assert!(link.starts_with("nevent1"));
        assert_eq!(
            parse_event_ref(&link),
            Ok(EventRef::Id {
                id,
                author: Some(author),
                kind: Some(Kind::TextNote),
                relays: vec![relay()],
            })
        );

        let coordinate =
            Coordinate::new(Kind::Custom(30078), author).identifier("action:o/r:12:review-period");
        let link = naddr(&coordinate, &[relay()]);
        assert!(link.starts_with("naddr1"));
        let read = parse_event_ref(&link).expect("naddr");
        assert_eq!(read.relays(), [relay()]);
        assert_eq!(
            read,
            EventRef::Address {
                coordinate,
                relays: vec![relay()],
            }
        );
    }

    #[test]
    fn what_is_not_an_event_is_refused_by_name() {
        let keys = Keys::generate();
        let npub = keys.public_key().to_bech32().expect("npub");
        assert!(matches!(
            parse_event_ref(&npub),
            Err(Nip19Error::WrongEntity { what, .. }) if what.contains("npub")
        ));
        for text in ["", "abc", &"g".repeat(64), "note1qqqq", "naddr1xyz"] {
            assert!(
                matches!(parse_event_ref(text), Err(Nip19Error::NotAnEvent(_))),
                "{text:?}"
            );
        }
    }
}
