//! Japanese telephone numbers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::text::{fold_digit, fold_width, is_hyphen_like};

/// A Japanese telephone number in national form (leading 0), 10 or 11 digits.
/// Serialized as the digits ("09012345678").
///
/// Accepted: 10 digits starting with 0 but not "00" or "0X0" (landlines, 0120, 0570, 0180,
/// 0990…; 0X0 prefixes are 11-digit services), or 11 digits starting 020, 050, 060, 070, 080,
/// 090 (0800 toll-free included).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhoneNumber(String);

/// Why a text could not be read as a phone number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    /// Nothing but spaces.
    #[error("empty phone number")]
    Empty,
    /// A character other than digits, spaces, hyphens, parentheses, dots and a leading +.
    #[error("invalid character in phone number")]
    InvalidCharacter,
    /// An international number outside Japan (+ not followed by 81).
    #[error("only Japanese phone numbers (+81) are accepted")]
    NotJapanese,
    /// Not 10 or 11 digits.
    #[error("phone number must have 10 or 11 digits, found {0}")]
    WrongLength(usize),
    /// Does not start with a valid Japanese prefix for its length.
    #[error("invalid phone number prefix")]
    InvalidPrefix,
}

impl PhoneNumberError {
    /// A short Japanese message for screens.
    pub fn message_ja(&self) -> &'static str {
        match self {
            Self::Empty => "電話番号を入力してください。",
            Self::InvalidCharacter => "電話番号に使えない文字が含まれています。",
            Self::NotJapanese => "日本国内の電話番号を入力してください。",
            Self::WrongLength(_) => "電話番号は市外局番から10桁または11桁で入力してください。",
            Self::InvalidPrefix => "電話番号の形式が正しくありません。",
        }
    }
}

/// 10-digit service numbers shown as 4-3-3 (toll-free, navi dial, information).
const FOUR_THREE_THREE: [&str; 3] = ["0120", "0570", "0990"];
/// Prefixes of 11-digit numbers (0800 toll-free falls under 080).
const ELEVEN_DIGIT: [&str; 6] = ["020", "050", "060", "070", "080", "090"];

impl PhoneNumber {
    /// Reads "090-1234-5678", "09012345678", "(022)214-1111", "０２２（２１４）１１１１",
    /// "+81 90 1234 5678", "+81 (0)90-1234-5678". Spaces, hyphen-likes, parentheses and dots
    /// are ignored; "+81" is replaced by the national 0.
    pub fn parse(input: &str) -> Result<PhoneNumber, PhoneNumberError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(PhoneNumberError::Empty);
        }
        let international = s.starts_with(['+', '＋']);
        let body = if international {
            s.char_indices().nth(1).map_or("", |(i, _)| &s[i..])
        } else {
            s
        };
        let mut digits = String::with_capacity(12);
        for c in body.chars() {
            if let Some(d) = fold_digit(c) {
                digits.push(char::from(b'0' + d));
            } else if !(c.is_whitespace()
                || is_hyphen_like(c)
                || matches!(fold_width(c), '(' | ')' | '.'))
            {
                return Err(PhoneNumberError::InvalidCharacter);
            }
        }
        if international {
            let national = digits
                .strip_prefix("81")
                .ok_or(PhoneNumberError::NotJapanese)?;
            // "+81 (0)90…" keeps its trunk 0; "+81 90…" gets one.
            digits = if national.starts_with('0') {
                national.to_owned()
            } else {
                format!("0{national}")
            };
        }
        if digits.is_empty() {
            return Err(PhoneNumberError::Empty);
        }
        let valid = match digits.len() {
            10 => {
                let b = digits.as_bytes();
                b[0] == b'0' && b[1] != b'0' && b[2] != b'0'
            }
            11 => ELEVEN_DIGIT.iter().any(|p| digits.starts_with(p)),
            n => return Err(PhoneNumberError::WrongLength(n)),
        };
        if valid {
            Ok(PhoneNumber(digits))
        } else {
            Err(PhoneNumberError::InvalidPrefix)
        }
    }

    /// The digits: "09012345678".
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// Whether this is a mobile number (070, 080, 090; 11 digits; 0800 is toll-free, not mobile).
    pub fn is_mobile(&self) -> bool {
        self.0.len() == 11
            && ["070", "080", "090"].iter().any(|p| self.0.starts_with(p))
            && !self.0.starts_with("0800")
    }

    /// Lengths of the three groups used for display.
    ///
    /// 11 digits: 0800 → 4-3-4, others (mobile, 050, 020, 060) → 3-4-4.
    /// 10 digits: 0120/0570/0990 → 4-3-3; 03 and 06 (Tokyo, Osaka) → 2-4-4; every other
    /// landline → 3-3-4. Japanese area codes are 2 to 5 digits long; this simple rule is right
    /// for the 3-digit ones (022 Sendai, 011 Sapporo, 045 Yokohama, 052 Nagoya…) and only
    /// misplaces the first hyphen for the others — the digits are always correct.
    fn groups(&self) -> (usize, usize, usize) {
        let d = self.0.as_str();
        match d.len() {
            11 if d.starts_with("0800") => (4, 3, 4),
            11 => (3, 4, 4),
            _ if FOUR_THREE_THREE.iter().any(|p| d.starts_with(p)) => (4, 3, 3),
            _ if d.starts_with("03") || d.starts_with("06") => (2, 4, 4),
            _ => (3, 3, 4),
        }
    }

    /// With hyphens: "090-1234-5678", "022-214-1111", "03-1234-5678", "0120-123-456".
    pub fn formatted(&self) -> String {
        let (a, b, _) = self.groups();
        format!(
            "{}-{}-{}",
            &self.0[..a],
            &self.0[a..a + b],
            &self.0[a + b..]
        )
    }

    /// The middle group hidden: "090-****-5678".
    pub fn masked(&self) -> String {
        let (a, b, _) = self.groups();
        format!("{}-{}-{}", &self.0[..a], "*".repeat(b), &self.0[a + b..])
    }
}

/// With hyphens, see [`PhoneNumber::formatted`].
impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.formatted())
    }
}

/// Masked, so that phone numbers do not end up in logs by accident.
impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl FromStr for PhoneNumber {
    type Err = PhoneNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PhoneNumber::parse(s)
    }
}

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        PhoneNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn phone(s: &str) -> PhoneNumber {
        PhoneNumber::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn mobile_spellings() {
        for s in [
            "090-1234-5678",
            "09012345678",
            "090 1234 5678",
            "０９０－１２３４－５６７８",
            "090ー1234ー5678",
            "+81 90 1234 5678",
            "+819012345678",
            "+81 (0)90-1234-5678",
            "＋８１ ９０ １２３４ ５６７８",
            "090.1234.5678",
        ] {
            let p = phone(s);
            assert_eq!(p.digits(), "09012345678", "{s}");
            assert_eq!(p.to_string(), "090-1234-5678");
            assert_eq!(p.masked(), "090-****-5678");
            assert!(p.is_mobile());
        }
    }

    #[test]
    fn landlines_and_special_numbers() {
        let cases = [
            (
                "(022)214-1111",
                "0222141111",
                "022-214-1111",
                "022-***-1111",
            ),
            (
                "０２２（２１４）１１１１",
                "0222141111",
                "022-214-1111",
                "022-***-1111",
            ),
            ("03-1234-5678", "0312345678", "03-1234-5678", "03-****-5678"),
            ("06 1234 5678", "0612345678", "06-1234-5678", "06-****-5678"),
            ("0120-123-456", "0120123456", "0120-123-456", "0120-***-456"),
            ("0570-000-123", "0570000123", "0570-000-123", "0570-***-123"),
            (
                "0800-123-4567",
                "08001234567",
                "0800-123-4567",
                "0800-***-4567",
            ),
            (
                "050-1234-5678",
                "05012345678",
                "050-1234-5678",
                "050-****-5678",
            ),
            ("011-222-3333", "0112223333", "011-222-3333", "011-***-3333"),
        ];
        for (input, digits, formatted, masked) in cases {
            let p = phone(input);
            assert_eq!(p.digits(), digits);
            assert_eq!(p.formatted(), formatted);
            assert_eq!(p.masked(), masked);
            assert!(!p.is_mobile());
        }
    }

    #[test]
    fn rejects_bad_numbers() {
        assert_eq!(PhoneNumber::parse(""), Err(PhoneNumberError::Empty));
        assert_eq!(PhoneNumber::parse(" - "), Err(PhoneNumberError::Empty));
        assert_eq!(
            PhoneNumber::parse("090-1234-567"),
            Err(PhoneNumberError::InvalidPrefix)
        );
        assert_eq!(
            PhoneNumber::parse("022-214-111"),
            Err(PhoneNumberError::WrongLength(9))
        );
        assert_eq!(
            PhoneNumber::parse("0301234567"),
            Err(PhoneNumberError::InvalidPrefix)
        );
        assert_eq!(
            PhoneNumber::parse("090-1234-56789"),
            Err(PhoneNumberError::WrongLength(12))
        );
        assert_eq!(
            PhoneNumber::parse("12-3456-7890"),
            Err(PhoneNumberError::InvalidPrefix)
        );
        assert_eq!(
            PhoneNumber::parse("0312345678901"),
            Err(PhoneNumberError::WrongLength(13))
        );
        assert_eq!(
            PhoneNumber::parse("03123456789"),
            Err(PhoneNumberError::InvalidPrefix)
        );
        assert_eq!(
            PhoneNumber::parse("0012345678"),
            Err(PhoneNumberError::InvalidPrefix)
        );
        assert_eq!(
            PhoneNumber::parse("+1 212 555 0100"),
            Err(PhoneNumberError::NotJapanese)
        );
        assert_eq!(
            PhoneNumber::parse("090-1234-5678 内線3"),
            Err(PhoneNumberError::InvalidCharacter)
        );
        assert_eq!(
            PhoneNumber::parse("tel:0901234567"),
            Err(PhoneNumberError::InvalidCharacter)
        );
        assert!(
            PhoneNumberError::WrongLength(9)
                .message_ja()
                .contains("10桁")
        );
    }

    #[test]
    fn debug_is_masked_and_serde_uses_digits() {
        let p = phone("090-1234-5678");
        assert_eq!(format!("{p:?}"), "PhoneNumber(090-****-5678)");
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"09012345678\"");
        assert_eq!(
            serde_json::from_str::<PhoneNumber>("\"090-1234-5678\"").unwrap(),
            p
        );
        assert!(serde_json::from_str::<PhoneNumber>("\"123\"").is_err());
    }

    proptest! {
        #[test]
        fn mobiles_round_trip(prefix in prop::sample::select(vec!["070", "080", "090"]), rest in "[1-9][0-9]{7}") {
            let digits = format!("{prefix}{rest}");
            let p = PhoneNumber::parse(&digits).unwrap();
            prop_assert_eq!(PhoneNumber::parse(&p.formatted()), Ok(p.clone()));
            prop_assert_eq!(PhoneNumber::parse(&format!("+81 {}", &digits[1..])), Ok(p.clone()));
            prop_assert!(!p.masked().contains(&rest[..4]) || rest[..4] == rest[4..]);
            prop_assert!(p.is_mobile());
        }

        #[test]
        fn landlines_round_trip(area in 1u8..=9, rest in "[1-9][0-9]{7}") {
            let digits = format!("0{area}{rest}");
            let p = PhoneNumber::parse(&digits).unwrap();
            prop_assert_eq!(p.digits(), digits.as_str());
            prop_assert_eq!(PhoneNumber::parse(&p.formatted()), Ok(p.clone()));
            prop_assert_eq!(p.formatted().replace('-', ""), digits);
            prop_assert_eq!(p.masked().len(), p.formatted().len());
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,20}") {
            let _ = PhoneNumber::parse(&s);
        }
    }
}
