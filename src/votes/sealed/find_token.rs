//! Where a zap comment holds a sealed ballot (DESIGN.md "Votes", *Vote type*): the first match
//! of `ballot1[0-9a-z]+`, case-insensitive, not preceded by a letter or digit. The token may
//! stand among other words ("veto ballot1..." counts the token, not the keyword). A letter or
//! digit is what [`char::is_alphanumeric`] says (the keywords' notion of a word character, less
//! `_`); the match runs as far as the ASCII letters and digits go.

/// The ballot token in `content`, if any: its exact text (case kept), for
/// [`super::open_ballot`].
pub fn find_ballot_token(content: &str) -> Option<&str> {
    const PREFIX: &[u8] = b"ballot1";
    let bytes = content.as_bytes();
    let mut from = 0;
    while let Some(offset) = find_prefix(&bytes[from..], PREFIX) {
        let start = from + offset;
        let body_start = start + PREFIX.len();
        let body_len = bytes[body_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        let preceded = content[..start]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        if body_len > 0 && !preceded {
            return content.get(start..body_start + body_len);
        }
        from = start + 1;
    }
    None
}

/// The first index where `haystack` starts with `prefix`, ASCII case-insensitive.
fn find_prefix(haystack: &[u8], prefix: &[u8]) -> Option<usize> {
    haystack
        .windows(prefix.len())
        .position(|window| window.eq_ignore_ascii_case(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_first_token_among_words() {
        assert_eq!(find_ballot_token("ballot1qqq"), Some("ballot1qqq"));
        assert_eq!(find_ballot_token("veto ballot1abc def"), Some("ballot1abc"));
        assert_eq!(find_ballot_token("(ballot1abc)."), Some("ballot1abc"));
        assert_eq!(
            find_ballot_token("ballot1aa then ballot1bb"),
            Some("ballot1aa")
        );
        assert_eq!(find_ballot_token("BALLOT1ABC"), Some("BALLOT1ABC"));
        assert_eq!(find_ballot_token("Ballot1Abc"), Some("Ballot1Abc"));
    }

    #[test]
    fn needs_a_body_and_no_letter_or_digit_before() {
        assert_eq!(find_ballot_token(""), None);
        assert_eq!(find_ballot_token("ballot1"), None);
        assert_eq!(find_ballot_token("ballot1 x"), None);
        assert_eq!(find_ballot_token("ballot"), None);
        assert_eq!(find_ballot_token("xballot1abc"), None);
        assert_eq!(find_ballot_token("9ballot1abc"), None);
        assert_eq!(find_ballot_token("éballot1abc"), None);
        assert_eq!(find_ballot_token("_ballot1abc"), Some("ballot1abc"));
        assert_eq!(find_ballot_token("-ballot1abc"), Some("ballot1abc"));
        // The first not-preceded match, after a preceded one.
        assert_eq!(find_ballot_token("xballot1a ballot1b"), Some("ballot1b"));
        // The body stops at the first non-ASCII-alphanumeric character.
        assert_eq!(find_ballot_token("ballot1abcé"), Some("ballot1abc"));
        assert_eq!(find_ballot_token("ballot1ab_c"), Some("ballot1ab"));
    }

    #[test]
    fn never_splits_a_multibyte_character() {
        for text in [
            "ééballot1é",
            "ballot1",
            "bállot1abc",
            "😀ballot1x😀",
            "ballot1😀",
        ] {
            let _ = find_ballot_token(text);
        }
        assert_eq!(
            find_ballot_token("😀ballot1x😀"),
            Some("ballot1x"),
            "😀 is no letter"
        );
        assert_eq!(find_ballot_token("ñballot1x"), None, "ñ is one");
        assert_eq!(find_ballot_token(" 😀 ballot1x"), Some("ballot1x"));
    }
}
