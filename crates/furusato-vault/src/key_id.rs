//! Key identifiers.

use std::fmt;

/// Longest accepted key id, in bytes. The id is stored in every sealed value
/// behind a one-byte length prefix, so it must stay short.
pub const MAX_KEY_ID_LEN: usize = 32;

/// The identifier of a key in a [`Keyring`](crate::Keyring), such as `"k1"` or `"b1"`.
///
/// Ids are not secret: they are written in clear into every sealed value so that
/// rotation can find the entries still under an old key. An id is 1 to
/// [`MAX_KEY_ID_LEN`] ASCII letters, digits, `-` or `_`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Parses a key id. Returns `None` if it is empty, too long or has characters
    /// outside `[A-Za-z0-9_-]`.
    pub fn parse(s: &str) -> Option<KeyId> {
        let ok = !s.is_empty()
            && s.len() <= MAX_KEY_ID_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| KeyId(s.to_owned()))
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl AsRef<str> for KeyId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_short_ascii_ids() {
        assert_eq!(KeyId::parse("k1").unwrap().as_str(), "k1");
        assert_eq!(KeyId::parse("2026-04_b").unwrap().to_string(), "2026-04_b");
        assert!(KeyId::parse(&"a".repeat(MAX_KEY_ID_LEN)).is_some());
    }

    #[test]
    fn rejects_empty_long_and_odd_ids() {
        assert!(KeyId::parse("").is_none());
        assert!(KeyId::parse(&"a".repeat(MAX_KEY_ID_LEN + 1)).is_none());
        assert!(KeyId::parse("k 1").is_none());
        assert!(KeyId::parse("k:1").is_none());
        assert!(KeyId::parse("鍵1").is_none());
    }
}
