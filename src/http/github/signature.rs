//! `X-Hub-Signature-256`: how GitHub signs a webhook delivery, and its check.
//!
//! GitHub sends `sha256=` followed by the lower-case hex HMAC-SHA256 of the raw request body,
//! keyed with the webhook's secret ("Validating webhook deliveries" in GitHub's docs). The
//! check recomputes it over the exact bytes received, before anything reads them, and compares
//! in constant time ([`hmac::Mac::verify_slice`], built on `subtle`), so the time an answer
//! takes tells nothing about how much of a forged signature was right.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header GitHub signs deliveries in.
pub const HEADER: &str = "X-Hub-Signature-256";

/// The prefix of the header's value.
const PREFIX: &str = "sha256=";

type HmacSha256 = Hmac<Sha256>;

/// Why a delivery's signature does not check out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("X-Hub-Signature-256: missing; is the webhook's secret set on GitHub?")]
    Missing,
    #[error("X-Hub-Signature-256: not sha256= and 64 hex characters")]
    Malformed,
    #[error("X-Hub-Signature-256: does not match the body; is the webhook's secret the same on both sides?")]
    Mismatch,
}

/// The header value GitHub sends for `body` signed with `secret`: `sha256=<hex>`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    format!(
        "{PREFIX}{}",
        hex::encode(mac(secret, body).finalize().into_bytes())
    )
}

/// Checks `header` (the `X-Hub-Signature-256` value, if any) against `body` and `secret`.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let given = header
        .get(..PREFIX.len())
        .filter(|prefix| prefix.eq_ignore_ascii_case(PREFIX))
        .and_then(|_| header.get(PREFIX.len()..))
        .ok_or(SignatureError::Malformed)?;
    let given = hex::decode(given).map_err(|_| SignatureError::Malformed)?;
    if given.len() != 32 {
        return Err(SignatureError::Malformed);
    }
    mac(secret, body)
        .verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)
}

fn mac(secret: &[u8], body: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length; `new_from_slice` never fails for it.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's published example ("Validating webhook deliveries", "Testing the webhook
    /// payload validation").
    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const PAYLOAD: &[u8] = b"Hello, World!";
    const SIGNATURE: &str =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn githubs_published_example() {
        assert_eq!(sign(SECRET, PAYLOAD), SIGNATURE);
        assert_eq!(verify(SECRET, PAYLOAD, Some(SIGNATURE)), Ok(()));
        // Hex digits in capitals are the same bytes.
        let upper = format!("sha256={}", SIGNATURE[7..].to_ascii_uppercase());
        assert_eq!(verify(SECRET, PAYLOAD, Some(&upper)), Ok(()));
    }

    #[test]
    fn a_wrong_missing_or_malformed_signature_is_refused() {
        assert_eq!(verify(SECRET, PAYLOAD, None), Err(SignatureError::Missing));
        assert_eq!(
            verify(SECRET, b"Hello, World?", Some(SIGNATURE)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"another secret", PAYLOAD, Some(SIGNATURE)),
            Err(SignatureError::Mismatch)
        );
        let mut flipped = SIGNATURE.to_owned();
        flipped.replace_range(70.., "f");
        assert_eq!(
            verify(SECRET, PAYLOAD, Some(&flipped)),
            Err(SignatureError::Mismatch)
        );
        for malformed in [
            "",
            "sha256=",
            "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
            "sha256=757107ea0eb2509fc211221cce984b8a",
            "sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ] {
            assert_eq!(
                verify(SECRET, PAYLOAD, Some(malformed)),
                Err(SignatureError::Malformed),
                "{malformed}"
            );
        }
    }
}
