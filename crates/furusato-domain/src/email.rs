//! E-mail addresses, validated pragmatically.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::text::fold_width;

/// An e-mail address: one `@`, a non-empty local part, a domain with a dot, no spaces,
/// at most 254 characters. The domain is lower-cased; the local part is kept as written.
///
/// Deliberately lenient on the local part: old Japanese carrier addresses such as
/// "taro..abc.@docomo.ne.jp" break RFC 5322 but receive mail.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

/// Why a text is not an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing but spaces.
    #[error("empty e-mail address")]
    Empty,
    /// Longer than 254 characters (or a local part over 64).
    #[error("e-mail address is too long")]
    TooLong,
    /// No `@`.
    #[error("e-mail address has no @")]
    MissingAt,
    /// More than one `@`.
    #[error("e-mail address has more than one @")]
    MultipleAt,
    /// Nothing before the `@`.
    #[error("e-mail address has an empty local part")]
    EmptyLocalPart,
    /// Spaces, control characters, or characters not allowed in addresses.
    #[error("invalid character in e-mail address")]
    InvalidCharacter,
    /// The domain has no dot, an empty label, or a label starting or ending with `-`.
    #[error("invalid e-mail domain")]
    InvalidDomain,
}

impl EmailError {
    /// A short Japanese message for screens.
    pub fn message_ja(&self) -> &'static str {
        match self {
            Self::Empty => "メールアドレスを入力してください。",
            Self::TooLong => "メールアドレスが長すぎます。",
            Self::MissingAt => "メールアドレスに「@」がありません。",
            Self::MultipleAt => "メールアドレスに「@」が複数あります。",
            Self::EmptyLocalPart => "メールアドレスの「@」の前が空です。",
            Self::InvalidCharacter => "メールアドレスに使えない文字が含まれています。",
            Self::InvalidDomain => "メールアドレスのドメイン（@より後ろ）が正しくありません。",
        }
    }
}

impl Email {
    /// Longest accepted address, in characters.
    pub const MAX_LEN: usize = 254;

    /// Reads an address. Surrounding spaces are trimmed and full-width ASCII
    /// ("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ") is folded to ASCII first.
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let s: String = input.chars().map(fold_width).collect();
        let s = s.trim();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(EmailError::TooLong);
        }
        if s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"' | '\\')
        }) {
            return Err(EmailError::InvalidCharacter);
        }
        let (local, domain) = match s.split_once('@') {
            None => return Err(EmailError::MissingAt),
            Some((_, d)) if d.contains('@') => return Err(EmailError::MultipleAt),
            Some(parts) => parts,
        };
        if local.is_empty() {
            return Err(EmailError::EmptyLocalPart);
        }
        if local.chars().count() > 64 {
            return Err(EmailError::TooLong);
        }
        let domain = domain.to_lowercase();
        let labels_ok = domain.split('.').all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
        if !domain.contains('.') || !labels_ok {
            return Err(EmailError::InvalidDomain);
        }
        Ok(Email(format!("{local}@{domain}")))
    }

    /// The address: "taro@example.jp".
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(l, _)| l)
    }

    /// The (lower-cased) domain.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }

    /// First character of the local part, then "***": "t***@example.jp".
    pub fn masked(&self) -> String {
        let first: String = self.local_part().chars().take(1).collect();
        format!("{first}***@{}", self.domain())
    }

    /// Whether this is a 楽天 relay address (domain `fw.rakuten.ne.jp` or a sub-domain of it),
    /// which forwards to the donor only while the order is recent.
    pub fn is_rakuten_relay(&self) -> bool {
        let d = self.domain();
        d == "fw.rakuten.ne.jp" || d.ends_with(".fw.rakuten.ne.jp")
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Masked, so that addresses do not end up in logs by accident.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.masked())
    }
}

impl FromStr for Email {
    type Err = EmailError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Email::parse(s)
    }
}

impl Serialize for Email {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Email::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_and_normalises() {
        let e = Email::parse(" Taro.Yamada@Example.JP ").unwrap();
        assert_eq!(e.as_str(), "Taro.Yamada@example.jp");
        assert_eq!(e.local_part(), "Taro.Yamada");
        assert_eq!(e.domain(), "example.jp");
        assert_eq!(e.to_string(), "Taro.Yamada@example.jp");
        assert_eq!(
            Email::parse("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ")
                .unwrap()
                .as_str(),
            "taro@example.jp"
        );
        assert!(Email::parse("taro+furusato@mail.example.co.jp").is_ok());
        assert!(Email::parse("taro..abc.@docomo.ne.jp").is_ok());
        assert!(Email::parse("info@xn--ls8h.example").is_ok());
        assert!(Email::parse("info@例え.jp").is_ok());
    }

    #[test]
    fn rejects() {
        let cases = [
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("taro.example.jp", EmailError::MissingAt),
            ("taro@@example.jp", EmailError::MultipleAt),
            ("a@b@example.jp", EmailError::MultipleAt),
            ("@example.jp", EmailError::EmptyLocalPart),
            ("taro@localhost", EmailError::InvalidDomain),
            ("taro@", EmailError::InvalidDomain),
            ("taro@example..jp", EmailError::InvalidDomain),
            ("taro@.example.jp", EmailError::InvalidDomain),
            ("taro@example.jp.", EmailError::InvalidDomain),
            ("taro@-example.jp", EmailError::InvalidDomain),
            ("taro@exa_mple.jp", EmailError::InvalidDomain),
            ("ta ro@example.jp", EmailError::InvalidCharacter),
            ("taro@exam ple.jp", EmailError::InvalidCharacter),
            ("Taro <taro@example.jp>", EmailError::InvalidCharacter),
        ];
        for (input, expected) in cases {
            assert_eq!(Email::parse(input), Err(expected), "{input}");
        }
        let long_local = format!("{}@example.jp", "a".repeat(65));
        assert_eq!(Email::parse(&long_local), Err(EmailError::TooLong));
        let long = format!("{}@{}.jp", "a".repeat(60), "b".repeat(200));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
        assert!(EmailError::MissingAt.message_ja().contains('@'));
    }

    #[test]
    fn masking_and_relay() {
        let e = Email::parse("taro@example.jp").unwrap();
        assert_eq!(e.masked(), "t***@example.jp");
        assert_eq!(format!("{e:?}"), "Email(t***@example.jp)");
        assert!(!e.is_rakuten_relay());
        let r = Email::parse("abc123xyz@pc.fw.rakuten.ne.jp").unwrap();
        assert!(r.is_rakuten_relay());
        assert!(
            Email::parse("x@fw.rakuten.ne.jp")
                .unwrap()
                .is_rakuten_relay()
        );
        assert!(
            !Email::parse("x@notfw.rakuten.ne.jp")
                .unwrap()
                .is_rakuten_relay()
        );
        assert!(!Email::parse("x@rakuten.co.jp").unwrap().is_rakuten_relay());
    }

    #[test]
    fn serde_as_string() {
        let e = Email::parse("taro@example.jp").unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), "\"taro@example.jp\"");
        assert_eq!(
            serde_json::from_str::<Email>("\"taro@EXAMPLE.jp\"").unwrap(),
            e
        );
        assert!(serde_json::from_str::<Email>("\"taro\"").is_err());
    }

    proptest! {
        #[test]
        fn generated_addresses_round_trip(local in "[a-zA-Z0-9._+-]{1,30}", host in "[a-zA-Z0-9]{1,20}", tld in "[a-zA-Z]{2,6}") {
            let input = format!("{local}@{host}.{tld}");
            let e = Email::parse(&input).unwrap();
            prop_assert_eq!(e.local_part(), local.as_str());
            prop_assert_eq!(e.domain(), format!("{host}.{tld}").to_lowercase());
            prop_assert_eq!(Email::parse(e.as_str()), Ok(e.clone()));
            prop_assert!(e.masked().ends_with(e.domain()));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = Email::parse(&s);
        }
    }
}
