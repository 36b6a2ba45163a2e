//! Reading tags and ids cheaply: the receipt's and the request's tags in one pass each,
//! the receiving bot, the targets, and event ids recomputed without a JSON tree.

use super::*;

/// The first value of the one tag called `name` of `event`; `None` when it has none or
/// several.
pub(super) fn sole_value(event: &Event, name: &str) -> Option<String> {
    let mut found = event
        .tags
        .iter()
        .filter(|t| t.as_slice().first().map(String::as_str) == Some(name));
    let only = found.next()?;
    if found.next().is_some() {
        return None;
    }
    only.as_slice().get(1).cloned()
}

/// Whether a zap request carries an `anon` tag with a non-empty value (a private zap).
pub(super) fn has_private_zap_tag(request: &Event) -> bool {
    request.tags.iter().any(|t| match t.as_slice() {
        [name, value, ..] => name == tag::ANON && !value.is_empty(),
        _ => false,
    })
}

/// How many times a tag occurs, and its value when once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Count<'a> {
    Zero,
    One(&'a str),
    Many(usize),
}
pub(super) use Count::{Many, One, Zero};

impl<'a> Count<'a> {
    /// Counts one more occurrence; a tag without a value counts, with an empty value.
    pub(super) fn add(&mut self, value: Option<&'a String>) {
        let value = value.map_or("", String::as_str);
        *self = match *self {
            Zero => One(value),
            One(_) => Many(2),
            Many(n) => Many(n.saturating_add(1)),
        };
    }

    pub(super) fn count(self) -> usize {
        match self {
            Zero => 0,
            One(_) => 1,
            Many(n) => n,
        }
    }
}

/// The receipt tags the rules look at, found in one pass.
pub(super) struct ReceiptTags<'a> {
    pub(super) p: Count<'a>,
    pub(super) e: Count<'a>,
    pub(super) a: Count<'a>,
    pub(super) description: Count<'a>,
    pub(super) bolt11: Count<'a>,
    pub(super) preimage: Count<'a>,
}

impl<'a> ReceiptTags<'a> {
    pub(super) fn scan(tags: impl Iterator<Item = &'a Tag>) -> Self {
        let mut found = Self {
            p: Zero,
            e: Zero,
            a: Zero,
            description: Zero,
            bolt11: Zero,
            preimage: Zero,
        };
        for tag in tags {
            let (name, value) = name_value(tag);
            match name {
                tag::PUBKEY => found.p.add(value),
                tag::EVENT => found.e.add(value),
                tag::ADDRESS => found.a.add(value),
                tag::DESCRIPTION => found.description.add(value),
                tag::BOLT11 => found.bolt11.add(value),
                tag::PREIMAGE => found.preimage.add(value),
                _ => {}
            }
        }
        found
    }
}

/// The zap request tags the rules look at, found in one pass.
pub(super) struct RequestTags<'a> {
    pub(super) p: Count<'a>,
    pub(super) e: Count<'a>,
    pub(super) a: Count<'a>,
    pub(super) first_amount: Count<'a>,
    /// `amount` values beyond the first (a request should have at most one; all must agree).
    pub(super) more_amounts: Vec<&'a str>,
}

impl<'a> RequestTags<'a> {
    pub(super) fn scan(tags: impl Iterator<Item = &'a Tag>) -> Self {
        let mut found = Self {
            p: Zero,
            e: Zero,
            a: Zero,
            first_amount: Zero,
            more_amounts: Vec::new(),
        };
        for tag in tags {
            let (name, value) = name_value(tag);
            match name {
                tag::PUBKEY => found.p.add(value),
                tag::EVENT => found.e.add(value),
                tag::ADDRESS => found.a.add(value),
                tag::AMOUNT => match found.first_amount {
                    Zero => found.first_amount.add(value),
                    _ => found.more_amounts.push(value.map_or("", String::as_str)),
                },
                _ => {}
            }
        }
        found
    }

    pub(super) fn amounts(&self) -> impl Iterator<Item = &'a str> + '_ {
        let first = match self.first_amount {
            One(value) => Some(value),
            _ => None,
        };
        first.into_iter().chain(self.more_amounts.iter().copied())
    }
}

/// A tag's name and first value, read without parsing it into a standard tag.
pub(super) fn name_value(tag: &Tag) -> (&str, Option<&String>) {
    let slice = tag.as_slice();
    (slice.first().map_or("", String::as_str), slice.get(1))
}

/// Rule 0 (and the receipt half of rule 3): the receiving bot and its LNURL provider.
pub(super) fn receiving_bot<R>(
    receipt: &Event,
    tags: &ReceiptTags<'_>,
    recipients: &R,
) -> Result<(PublicKey, Zapper), Rejection>
where
    R: ZapRecipients + ?Sized,
{
    match tags.p {
        Zero => Err(Rejection::NoRecipient),
        One(value) => {
            let bot = PublicKey::from_hex(value).map_err(|_| Rejection::NoRecipient)?;
            match recipients.zapper(&bot) {
                Some(zapper) => Ok((bot, zapper)),
                None => Err(Rejection::NotOurBot { recipient: bot }),
            }
        }
        Many(count) => {
            // Only a rule 3 matter when one of the recipients is ours.
            let mut keys = receipt.tags.iter().filter_map(|tag| match name_value(tag) {
                (tag::PUBKEY, Some(value)) => PublicKey::from_hex(value).ok(),
                _ => None,
            });
            let first = keys.next().ok_or(Rejection::NoRecipient)?;
            if recipients.zapper(&first).is_some() || keys.any(|k| recipients.zapper(&k).is_some())
            {
                Err(Rejection::ReceiptRecipientNotUnique { count })
            } else {
                Err(Rejection::NotOurBot { recipient: first })
            }
        }
    }
}

/// Rule 6 for `e`: the zap request's event, which the receipt's `e`, if any, must repeat.
pub(super) fn match_event_target(
    receipt: Count<'_>,
    request: Count<'_>,
) -> Result<Option<EventId>, Rejection> {
    match_target(tag::EVENT, receipt, request, |v| EventId::from_hex(v).ok())
}

/// Rule 6 for `a`: the zap request's address, which the receipt's `a`, if any, must repeat.
pub(super) fn match_address_target(
    receipt: Count<'_>,
    request: Count<'_>,
) -> Result<Option<String>, Rejection> {
    let address = match_target(tag::ADDRESS, receipt, request, Address::parse)?;
    Ok(address.map(|a| a.to_string()))
}

/// Rule 6 for one target tag: the request's value (read by `parse`), which the receipt's, if it
/// has one, must equal once read the same way (so `e` ids compare as ids, not as text).
pub(super) fn match_target<'a, T: PartialEq>(
    tag: &'static str,
    receipt: Count<'a>,
    request: Count<'a>,
    parse: impl Fn(&'a str) -> Option<T>,
) -> Result<Option<T>, Rejection> {
    let read = |side, value: &'a str| {
        parse(value).ok_or_else(|| Rejection::TargetUnparsable {
            tag,
            side,
            value: value.to_owned(),
        })
    };
    let request_target = match unique(tag, Side::Request, request)? {
        Some(value) => Some((value, read(Side::Request, value)?)),
        None => None,
    };
    if let Some(value) = unique(tag, Side::Receipt, receipt)? {
        let receipt_target = read(Side::Receipt, value)?;
        if request_target.as_ref().map(|(_, t)| t) != Some(&receipt_target) {
            return Err(Rejection::TargetMismatch {
                tag,
                receipt: value.to_owned(),
                request: request_target.map(|(v, _)| v.to_owned()),
            });
        }
    }
    Ok(request_target.map(|(_, target)| target))
}

/// At most one occurrence of a target tag.
pub(super) fn unique<'a>(
    tag: &'static str,
    side: Side,
    count: Count<'a>,
) -> Result<Option<&'a str>, Rejection> {
    match count {
        Zero => Ok(None),
        One(value) => Ok(Some(value)),
        Many(_) => Err(Rejection::TargetNotUnique {
            tag,
            side,
            count: count.count(),
        }),
    }
}

/// An `a` tag value, `<kind>:<pubkey hex>:<d>`. The `d` part may itself contain `:` (our
/// proposals' `d` tags do), which nostr's `Coordinate::from_kpi_format` would cut short.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Address<'a> {
    pub(super) kind: u16,
    pub(super) public_key: PublicKey,
    pub(super) identifier: &'a str,
}

impl<'a> Address<'a> {
    pub(super) fn parse(value: &'a str) -> Option<Self> {
        let mut parts = value.splitn(3, ':');
        let kind = parts.next()?;
        if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Self {
            kind: kind.parse().ok()?,
            public_key: PublicKey::from_hex(parts.next()?).ok()?,
            identifier: parts.next()?,
        })
    }
}

impl std::fmt::Display for Address<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.kind, self.public_key, self.identifier)
    }
}

/// The NIP-01 id of `event`, as nostr's `EventId::new` computes it, but streamed into a reused
/// per-thread buffer instead of going through a `serde_json::Value` tree.
/// `None` only if serialisation fails, which the types here cannot make happen.
pub(super) fn compute_event_id(event: &Event) -> Option<EventId> {
    /// Buffers grown past this by a huge event are not kept.
    const KEEP_CAPACITY: usize = 64 * 1024;
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(4096));
    }
    let hash = |buffer: &mut Vec<u8>| -> Option<sha256::Hash> {
        buffer.clear();
        let canonical = (
            0u8,
            &event.pubkey,
            event.created_at,
            event.kind,
            &event.tags,
            event.content.as_str(),
        );
        serde_json::to_writer(&mut *buffer, &canonical).ok()?;
        Some(sha256::Hash::hash(buffer))
    };
    let digest = BUFFER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buffer) => {
            let digest = hash(&mut buffer);
            if buffer.capacity() > KEEP_CAPACITY {
                *buffer = Vec::with_capacity(4096);
            }
            digest
        }
        Err(_) => hash(&mut Vec::new()),
    })?;
    Some(EventId::from_byte_array(digest.to_byte_array()))
}
