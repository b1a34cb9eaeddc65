//! Japanese postal codes (郵便番号).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::text::{fold_digit, is_hyphen_like};

/// A 7-digit Japanese postal code. Serialized as the 7 digits ("9800811").
///
/// Only the shape is checked; whether the code exists is a question for the postal reference data.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PostalCode([u8; 7]);

/// Why a text could not be read as a postal code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostalCodeError {
    /// Nothing but spaces (or only "〒").
    #[error("empty postal code")]
    Empty,
    /// A character other than digits, one hyphen, spaces and a leading 〒.
    #[error("invalid character in postal code")]
    InvalidCharacter,
    /// Not 7 digits.
    #[error("postal code must have 7 digits, found {0}")]
    WrongLength(usize),
    /// A hyphen anywhere but between the 3rd and 4th digit, or more than one.
    #[error("misplaced hyphen in postal code")]
    MisplacedHyphen,
}

impl PostalCodeError {
    /// A short Japanese message for screens.
    pub fn message_ja(&self) -> &'static str {
        match self {
            Self::Empty => "郵便番号を入力してください。",
            Self::InvalidCharacter => "郵便番号に使えない文字が含まれています。",
            Self::WrongLength(_) => "郵便番号は7桁の数字で入力してください（例: 980-0811）。",
            Self::MisplacedHyphen => "郵便番号のハイフンの位置が正しくありません（例: 980-0811）。",
        }
    }
}

impl PostalCode {
    /// Reads "9800811", "980-0811", "〒980-0811", "９８０－０８１１", "980ー0811", "980 0811".
    ///
    /// Spaces are ignored anywhere; at most one hyphen-like character, only after the 3rd digit.
    pub fn parse(input: &str) -> Result<PostalCode, PostalCodeError> {
        let s = input.trim();
        let s = s.strip_prefix('〒').unwrap_or(s);
        let mut digits = [0u8; 7];
        let mut n = 0usize;
        let mut hyphen_seen = false;
        for c in s.chars() {
            if let Some(d) = fold_digit(c) {
                if n < 7 {
                    digits[n] = b'0' + d;
                }
                n += 1;
            } else if is_hyphen_like(c) {
                if hyphen_seen || n != 3 {
                    return Err(PostalCodeError::MisplacedHyphen);
                }
                hyphen_seen = true;
            } else if !c.is_whitespace() {
                return Err(PostalCodeError::InvalidCharacter);
            }
        }
        match n {
            0 if !hyphen_seen => Err(PostalCodeError::Empty),
            7 => Ok(PostalCode(digits)),
            other => Err(PostalCodeError::WrongLength(other)),
        }
    }

    /// The 7 digits: "9800811".
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("postal code holds ASCII digits")
    }

    /// "980-0811".
    pub fn formatted(&self) -> String {
        format!("{}-{}", self.first3(), self.last4())
    }

    /// The first 3 digits (the delivery area): "980".
    pub fn first3(&self) -> &str {
        &self.as_str()[..3]
    }

    /// The last 4 digits: "0811".
    pub fn last4(&self) -> &str {
        &self.as_str()[3..]
    }
}

/// "980-0811".
impl fmt::Display for PostalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first3(), self.last4())
    }
}

impl fmt::Debug for PostalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostalCode({})", self.as_str())
    }
}

impl FromStr for PostalCode {
    type Err = PostalCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PostalCode::parse(s)
    }
}

impl Serialize for PostalCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Accepts every spelling [`PostalCode::parse`] accepts.
impl<'de> Deserialize<'de> for PostalCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        PostalCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_common_spellings() {
        for s in [
            "9800811",
            "980-0811",
            "〒980-0811",
            "〒 980-0811",
            "９８０－０８１１",
            "９８００８１１",
            "980ー0811",
            "980−0811",
            "980‐0811",
            "980ｰ0811",
            "980 0811",
            " 980-0811 ",
            "980　0811",
        ] {
            let p = PostalCode::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(p.as_str(), "9800811");
            assert_eq!(p.formatted(), "980-0811");
            assert_eq!(p.to_string(), "980-0811");
        }
    }

    #[test]
    fn rejects_bad_codes() {
        assert_eq!(PostalCode::parse(""), Err(PostalCodeError::Empty));
        assert_eq!(PostalCode::parse("〒"), Err(PostalCodeError::Empty));
        assert_eq!(
            PostalCode::parse("980-081"),
            Err(PostalCodeError::WrongLength(6))
        );
        assert_eq!(
            PostalCode::parse("98008111"),
            Err(PostalCodeError::WrongLength(8))
        );
        assert_eq!(
            PostalCode::parse("9800-811"),
            Err(PostalCodeError::MisplacedHyphen)
        );
        assert_eq!(
            PostalCode::parse("980--0811"),
            Err(PostalCodeError::MisplacedHyphen)
        );
        assert_eq!(
            PostalCode::parse("-"),
            Err(PostalCodeError::MisplacedHyphen)
        );
        assert_eq!(
            PostalCode::parse("98o-0811"),
            Err(PostalCodeError::InvalidCharacter)
        );
        assert_eq!(
            PostalCode::parse("980-0811〒"),
            Err(PostalCodeError::InvalidCharacter)
        );
        assert!(PostalCodeError::WrongLength(3).message_ja().contains("7桁"));
    }

    #[test]
    fn parts_and_debug() {
        let p = PostalCode::parse("066-0005").unwrap();
        assert_eq!(p.first3(), "066");
        assert_eq!(p.last4(), "0005");
        assert_eq!(format!("{p:?}"), "PostalCode(0660005)");
        assert_eq!("0660005".parse::<PostalCode>(), Ok(p));
    }

    #[test]
    fn serde_as_seven_digits() {
        let p = PostalCode::parse("980-0811").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"9800811\"");
        assert_eq!(
            serde_json::from_str::<PostalCode>("\"980-0811\"").unwrap(),
            p
        );
        assert!(serde_json::from_str::<PostalCode>("\"98\"").is_err());
    }

    proptest! {
        #[test]
        fn every_seven_digit_string_round_trips(s in "[0-9]{7}") {
            let p = PostalCode::parse(&s).unwrap();
            prop_assert_eq!(p.as_str(), s.as_str());
            prop_assert_eq!(PostalCode::parse(&p.formatted()), Ok(p));
            prop_assert_eq!(PostalCode::parse(&format!("〒{p}")), Ok(p));
        }

        #[test]
        fn other_lengths_fail(s in "[0-9]{0,6}|[0-9]{8,12}") {
            prop_assert!(PostalCode::parse(&s).is_err());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,16}") {
            let _ = PostalCode::parse(&s);
        }
    }
}
