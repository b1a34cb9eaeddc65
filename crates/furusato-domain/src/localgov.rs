//! 地方公共団体コード (local-government codes): 5 digits plus a check digit.
//!
//! The first two digits are the prefecture (JIS X 0401), the next three the municipality
//! (000 for the prefecture itself). The 6th digit is
//! `(11 − (6·d1 + 5·d2 + 4·d3 + 3·d4 + 2·d5) mod 11) mod 10`.
//! Postal data uses the 5-digit form and, for a 政令指定都市, gives the ward; 申告特例通知
//! go to the city ([`LocalGovCode::municipality`]).

mod designated;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use designated::{DESIGNATED_CITIES, DesignatedCity};

use crate::prefecture::Prefecture;
use crate::text::fold_digit;

/// A valid 6-digit 地方公共団体コード ("041009" 仙台市). Serialized as the 6 digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalGovCode([u8; 6]);

/// Why a text could not be read as a local-government code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalGovCodeError {
    /// Nothing but spaces.
    #[error("empty local government code")]
    Empty,
    /// A character other than digits and surrounding spaces.
    #[error("invalid character in local government code")]
    InvalidCharacter,
    /// Neither 5 nor 6 digits (or not 5 where only the 5-digit form is accepted).
    #[error("local government code must have 5 or 6 digits, found {0}")]
    WrongLength(usize),
    /// The 6th digit does not match the first five.
    #[error("wrong check digit (expected {expected})")]
    WrongCheckDigit {
        /// The check digit the first five digits call for.
        expected: u8,
    },
    /// The first two digits are not 01–47.
    #[error("unknown prefecture in local government code")]
    UnknownPrefecture,
}

impl LocalGovCodeError {
    /// A short Japanese message for screens.
    pub fn message_ja(&self) -> &'static str {
        match self {
            Self::Empty => "地方公共団体コードを入力してください。",
            Self::InvalidCharacter => "地方公共団体コードに使えない文字が含まれています。",
            Self::WrongLength(_) => {
                "地方公共団体コードは6桁（または5桁）の数字で入力してください。"
            }
            Self::WrongCheckDigit { .. } => "地方公共団体コードの検査数字が正しくありません。",
            Self::UnknownPrefecture => "地方公共団体コードの都道府県部分が正しくありません。",
        }
    }
}

/// The check digit of a 5-digit code, digits given as numbers 0–9: `check_digit(&[0,4,1,0,0]) == 9`.
pub fn check_digit(first5: &[u8; 5]) -> u8 {
    let sum: u32 = first5
        .iter()
        .zip([6u32, 5, 4, 3, 2])
        .map(|(&d, w)| u32::from(d) * w)
        .sum();
    ((11 - sum % 11) % 10) as u8
}

impl LocalGovCode {
    /// The check digit of a 5-digit code (digits as numbers 0–9); see [`check_digit`].
    pub fn check_digit(first5: &[u8; 5]) -> u8 {
        check_digit(first5)
    }

    /// Reads 6 digits (the check digit is verified) or 5 digits (it is computed).
    /// Full-width digits and surrounding spaces are accepted.
    pub fn parse(input: &str) -> Result<LocalGovCode, LocalGovCodeError> {
        let digits = digits_of(input)?;
        match digits.len() {
            5 => Self::from_digits5(&digits),
            6 => {
                let code = Self::from_digits5(&digits[..5])?;
                let expected = code.0[5] - b'0';
                if digits[5] == expected {
                    Ok(code)
                } else {
                    Err(LocalGovCodeError::WrongCheckDigit { expected })
                }
            }
            n => Err(LocalGovCodeError::WrongLength(n)),
        }
    }

    /// Reads the 5-digit form used in postal data ("04101") and adds the check digit.
    pub fn from_code5(input: &str) -> Result<LocalGovCode, LocalGovCodeError> {
        let digits = digits_of(input)?;
        if digits.len() != 5 {
            return Err(LocalGovCodeError::WrongLength(digits.len()));
        }
        Self::from_digits5(&digits)
    }

    /// The code of a prefecture itself: XX000 + check digit ("040002" 宮城県).
    pub fn for_prefecture(prefecture: Prefecture) -> LocalGovCode {
        let code = prefecture.code();
        Self::from_digits5(&[code / 10, code % 10, 0, 0, 0]).expect("prefecture codes are 01-47")
    }

    fn from_digits5(d: &[u8]) -> Result<LocalGovCode, LocalGovCodeError> {
        let first5: [u8; 5] = d
            .try_into()
            .map_err(|_| LocalGovCodeError::WrongLength(d.len()))?;
        if Prefecture::from_code(first5[0] * 10 + first5[1]).is_none() {
            return Err(LocalGovCodeError::UnknownPrefecture);
        }
        let cd = check_digit(&first5);
        let mut ascii = [0u8; 6];
        for (a, d) in ascii.iter_mut().zip(first5.iter().chain([cd].iter())) {
            *a = b'0' + d;
        }
        Ok(LocalGovCode(ascii))
    }

    /// The 6 digits: "041009".
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("local government code holds ASCII digits")
    }

    /// The 5-digit form without check digit: "04100".
    pub fn code5(&self) -> &str {
        &self.as_str()[..5]
    }

    /// The check digit of this code (0–9).
    pub fn check(&self) -> u8 {
        self.0[5] - b'0'
    }

    /// The prefecture (the first two digits).
    pub fn prefecture(&self) -> Prefecture {
        Prefecture::from_code((self.0[0] - b'0') * 10 + (self.0[1] - b'0'))
            .expect("validated when parsed")
    }

    /// Whether this is the code of a prefecture itself (XX000).
    pub fn is_prefecture(&self) -> bool {
        &self.0[2..5] == b"000"
    }

    /// The designated city this ward belongs to ("041017" 青葉区 → "041009" 仙台市);
    /// `None` for every code that is not a ward.
    pub fn designated_city(&self) -> Option<LocalGovCode> {
        let code5 = self.code5();
        DESIGNATED_CITIES
            .iter()
            .find(|c| c.wards.contains(&code5))
            .map(|c| {
                LocalGovCode::from_code5(c.code5).expect("designated city table holds valid codes")
            })
    }

    /// Whether this is one of the 20 政令指定都市 (the city, not one of its wards).
    pub fn is_designated_city(&self) -> bool {
        self.designated_city_info().is_some()
    }

    /// The table entry when this is a designated city.
    pub fn designated_city_info(&self) -> Option<&'static DesignatedCity> {
        let code5 = self.code5();
        DESIGNATED_CITIES.iter().find(|c| c.code5 == code5)
    }

    /// Whether this is a 行政区 (ward) of a designated city. Tokyo's 特別区 are
    /// municipalities, not wards in this sense.
    pub fn is_ward(&self) -> bool {
        self.designated_city().is_some()
    }

    /// The municipality this code stands for: the designated city for a ward, itself otherwise.
    pub fn municipality(&self) -> LocalGovCode {
        self.designated_city().unwrap_or(*self)
    }
}

/// The digit values of `input` (full-width folded, surrounding spaces trimmed).
fn digits_of(input: &str) -> Result<Vec<u8>, LocalGovCodeError> {
    let s = input.trim();
    if s.is_empty() {
        return Err(LocalGovCodeError::Empty);
    }
    s.chars()
        .map(|c| fold_digit(c).ok_or(LocalGovCodeError::InvalidCharacter))
        .collect()
}

impl fmt::Display for LocalGovCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for LocalGovCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalGovCode({})", self.as_str())
    }
}

impl FromStr for LocalGovCode {
    type Err = LocalGovCodeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LocalGovCode::parse(s)
    }
}

impl Serialize for LocalGovCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Accepts the 6-digit or 5-digit form.
impl<'de> Deserialize<'de> for LocalGovCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        LocalGovCode::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(s: &str) -> LocalGovCode {
        LocalGovCode::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn known_check_digits() {
        for s in [
            "041009", "041017", "131016", "221384", "010006", "090000", "110001", "040002",
            "472018",
        ] {
            let c = code(s);
            assert_eq!(c.as_str(), s);
            assert_eq!(LocalGovCode::from_code5(&s[..5]), Ok(c));
        }
        assert_eq!(check_digit(&[0, 4, 1, 0, 0]), 9);
        assert_eq!(LocalGovCode::check_digit(&[1, 3, 1, 0, 1]), 6);
    }

    #[test]
    fn parse_forms() {
        assert_eq!(code("04100").as_str(), "041009");
        assert_eq!(code("０４１００９").as_str(), "041009");
        assert_eq!(code(" 041009 ").code5(), "04100");
        assert_eq!(code("041009").check(), 9);
        assert_eq!("04101".parse::<LocalGovCode>().unwrap().as_str(), "041017");
    }

    #[test]
    fn rejects_bad_codes() {
        assert_eq!(
            LocalGovCode::parse("041008"),
            Err(LocalGovCodeError::WrongCheckDigit { expected: 9 })
        );
        assert_eq!(
            LocalGovCode::parse("041008").unwrap_err().to_string(),
            "wrong check digit (expected 9)"
        );
        assert_eq!(LocalGovCode::parse(""), Err(LocalGovCodeError::Empty));
        assert_eq!(
            LocalGovCode::parse("0410"),
            Err(LocalGovCodeError::WrongLength(4))
        );
        assert_eq!(
            LocalGovCode::parse("0410090"),
            Err(LocalGovCodeError::WrongLength(7))
        );
        assert_eq!(
            LocalGovCode::parse("04-100"),
            Err(LocalGovCodeError::InvalidCharacter)
        );
        assert_eq!(
            LocalGovCode::parse("00000"),
            Err(LocalGovCodeError::UnknownPrefecture)
        );
        assert_eq!(
            LocalGovCode::parse("48000"),
            Err(LocalGovCodeError::UnknownPrefecture)
        );
        assert_eq!(
            LocalGovCode::from_code5("041009"),
            Err(LocalGovCodeError::WrongLength(6))
        );
        assert!(
            LocalGovCodeError::WrongCheckDigit { expected: 1 }
                .message_ja()
                .contains("検査数字")
        );
    }

    #[test]
    fn prefectures() {
        assert_eq!(code("041009").prefecture(), Prefecture::Miyagi);
        assert_eq!(code("131016").prefecture(), Prefecture::Tokyo);
        assert!(code("040002").is_prefecture());
        assert!(!code("041009").is_prefecture());
        assert_eq!(
            LocalGovCode::for_prefecture(Prefecture::Hokkaido).as_str(),
            "010006"
        );
        assert_eq!(
            LocalGovCode::for_prefecture(Prefecture::Tochigi).as_str(),
            "090000"
        );
        assert_eq!(
            LocalGovCode::for_prefecture(Prefecture::Saitama).as_str(),
            "110001"
        );
    }

    #[test]
    fn wards_and_designated_cities() {
        let sendai = code("041009");
        assert!(sendai.is_designated_city());
        assert!(!sendai.is_ward());
        assert_eq!(sendai.designated_city(), None);
        assert_eq!(sendai.municipality(), sendai);
        assert_eq!(
            sendai.designated_city_info().map(|c| c.name),
            Some("仙台市")
        );

        let aoba = code("041017");
        assert!(aoba.is_ward());
        assert!(!aoba.is_designated_city());
        assert_eq!(aoba.designated_city(), Some(sendai));
        assert_eq!(aoba.municipality(), sendai);

        assert_eq!(code("22138").designated_city(), Some(code("221309")));
        assert_eq!(code("22140").designated_city(), Some(code("221309")));
        // Hamamatsu's wards abolished on 2024-01-01 are not wards any more.
        assert_eq!(code("22131").designated_city(), None);
        // Osaka has no 27101/27105/27110/27112; Kobe has no 28103/28104; Kitakyushu no 40102/40104.
        for gap in [
            "27101", "27105", "27110", "27112", "28103", "28104", "40102", "40104",
        ] {
            assert!(!code(gap).is_ward(), "{gap}");
        }
        assert_eq!(code("27128").designated_city(), Some(code("27100")));
        // Tokyo's special wards are municipalities, not wards of a designated city.
        let chiyoda = code("131016");
        assert!(!chiyoda.is_ward() && !chiyoda.is_designated_city());
        assert_eq!(chiyoda.municipality(), chiyoda);
    }

    #[test]
    fn designated_table_shape() {
        assert_eq!(DESIGNATED_CITIES.len(), 20);
        assert_eq!(
            DESIGNATED_CITIES
                .iter()
                .map(|c| c.wards.len())
                .sum::<usize>(),
            171
        );
        for city in &DESIGNATED_CITIES {
            let c = code(city.code5);
            assert!(!c.is_prefecture());
            assert!(city.wards.windows(2).all(|w| w[0] < w[1]), "{}", city.name);
            for w in city.wards {
                assert_eq!(
                    &w[..2],
                    &city.code5[..2],
                    "{w} is in {}'s prefecture",
                    city.name
                );
                assert_eq!(code(w).designated_city(), Some(c));
            }
        }
    }

    #[test]
    fn serde_as_six_digits() {
        let c = code("041009");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"041009\"");
        assert_eq!(
            serde_json::from_str::<LocalGovCode>("\"04100\"").unwrap(),
            c
        );
        assert!(serde_json::from_str::<LocalGovCode>("\"041008\"").is_err());
        assert_eq!(format!("{c:?}"), "LocalGovCode(041009)");
    }

    /// Checks every code of the reference list in ../shared/data against the check digit,
    /// the prefecture and the ward table. Skipped (with a note) when the file is absent.
    #[test]
    fn reference_list_agrees() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/data/local_gov_codes.csv"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("note: {path} not found; reference-list test skipped");
            return;
        };
        let (mut wards, mut cities, mut rows) = (0, 0, 0);
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (code6, code5, pref, kind, parent) = (f[0], f[1], f[2], f[3], f[4]);
            let c = code(code6);
            rows += 1;
            assert_eq!(c.code5(), code5);
            assert_eq!(LocalGovCode::from_code5(code5), Ok(c));
            assert_eq!(c.prefecture().code2(), pref);
            assert_eq!(c.is_prefecture(), kind == "prefecture", "{code6}");
            if kind == "prefecture" {
                assert_eq!(c.prefecture().name(), f[5]);
                assert_eq!(c.prefecture().kana(), f[7]);
                assert_eq!(LocalGovCode::for_prefecture(c.prefecture()), c);
            }
            assert_eq!(c.is_designated_city(), kind == "designated_city", "{code6}");
            assert_eq!(c.is_ward(), kind == "ward", "{code6}");
            if kind == "ward" {
                wards += 1;
                assert_eq!(
                    c.designated_city().map(|p| p.to_string()).as_deref(),
                    Some(parent),
                    "{code6}"
                );
            } else {
                assert_eq!(c.designated_city(), None, "{code6}");
            }
            if kind == "designated_city" {
                cities += 1;
                assert_eq!(c.designated_city_info().map(|i| i.name), Some(f[6]));
            }
        }
        assert_eq!((rows, cities, wards), (1965, 20, 171));
    }

    proptest! {
        #[test]
        fn computed_codes_parse(pref in 1u8..=47, rest in 0u16..1000) {
            let code5 = format!("{pref:02}{rest:03}");
            let c = LocalGovCode::from_code5(&code5).unwrap();
            prop_assert_eq!(LocalGovCode::parse(c.as_str()), Ok(c));
            prop_assert_eq!(c.code5(), code5.as_str());
            prop_assert_eq!(c.prefecture().code(), pref);
        }

        #[test]
        fn wrong_check_digits_fail(pref in 1u8..=47, rest in 0u16..1000, delta in 1u8..10) {
            let c = LocalGovCode::from_code5(&format!("{pref:02}{rest:03}")).unwrap();
            let wrong = (c.check() + delta) % 10;
            let s = format!("{}{}", c.code5(), wrong);
            prop_assert_eq!(LocalGovCode::parse(&s), Err(LocalGovCodeError::WrongCheckDigit { expected: c.check() }));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,10}") {
            let _ = LocalGovCode::parse(&s);
        }
    }
}
