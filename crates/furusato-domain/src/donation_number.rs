//! 寄附番号: the number printed on every document of a donation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::text::{fold_digit, is_hyphen_like};

/// A 寄附番号 "{fiscal year}-{7-digit serial}", e.g. "2026-0001234".
/// Serialized as that string; ordered by fiscal year, then serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DonationNumber {
    fiscal_year: i32,
    serial: u32,
}

/// Why a text is not a 寄附番号.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DonationNumberError {
    /// Nothing but spaces.
    #[error("empty donation number")]
    Empty,
    /// Not "YYYY-NNNNNNN" (or 11 digits without hyphen).
    #[error("donation number must look like 2026-0001234")]
    Syntax,
    /// Fiscal year outside 1000–9999.
    #[error("donation number fiscal year out of range")]
    FiscalYearOutOfRange,
    /// Serial 0 or above 9 999 999.
    #[error("donation number serial out of range")]
    SerialOutOfRange,
}

impl DonationNumberError {
    /// A short Japanese message for screens.
    pub fn message_ja(&self) -> &'static str {
        match self {
            Self::Empty => "寄附番号を入力してください。",
            Self::Syntax => "寄附番号の形式が正しくありません（例: 2026-0001234）。",
            Self::FiscalYearOutOfRange => "寄附番号の年度が正しくありません。",
            Self::SerialOutOfRange => "寄附番号の連番が正しくありません。",
        }
    }
}

impl DonationNumber {
    /// The largest serial (7 digits).
    pub const MAX_SERIAL: u32 = 9_999_999;

    /// The number for `serial` (1–9 999 999) of fiscal year `fiscal_year` (1000–9999).
    ///
    /// # Panics
    /// If either is out of range; use [`DonationNumber::try_new`] for untrusted values.
    pub fn new(fiscal_year: i32, serial: u32) -> DonationNumber {
        match Self::try_new(fiscal_year, serial) {
            Ok(n) => n,
            Err(e) => panic!("{e}: fiscal year {fiscal_year}, serial {serial}"),
        }
    }

    /// The number for `serial` of `fiscal_year`, checking both ranges.
    pub fn try_new(fiscal_year: i32, serial: u32) -> Result<DonationNumber, DonationNumberError> {
        if !(1000..=9999).contains(&fiscal_year) {
            return Err(DonationNumberError::FiscalYearOutOfRange);
        }
        if !(1..=Self::MAX_SERIAL).contains(&serial) {
            return Err(DonationNumberError::SerialOutOfRange);
        }
        Ok(DonationNumber {
            fiscal_year,
            serial,
        })
    }

    /// Reads "2026-0001234", "20260001234", "２０２６－０００１２３４", "2026-1234".
    /// With a separator (any hyphen-like character) the serial may have 1–7 digits;
    /// without one the text must be exactly 11 digits. Surrounding spaces are ignored.
    pub fn parse(input: &str) -> Result<DonationNumber, DonationNumberError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(DonationNumberError::Empty);
        }
        let mut year = String::new();
        let mut serial = String::new();
        let mut separated = false;
        for c in s.chars() {
            if let Some(d) = fold_digit(c) {
                let part = if separated { &mut serial } else { &mut year };
                part.push(char::from(b'0' + d));
            } else if is_hyphen_like(c) && !separated {
                separated = true;
            } else {
                return Err(DonationNumberError::Syntax);
            }
        }
        if !separated {
            if year.len() != 11 {
                return Err(DonationNumberError::Syntax);
            }
            serial = year.split_off(4);
        }
        if year.len() != 4 || serial.is_empty() || serial.len() > 7 {
            return Err(DonationNumberError::Syntax);
        }
        let fiscal_year = year.parse().map_err(|_| DonationNumberError::Syntax)?;
        let serial = serial.parse().map_err(|_| DonationNumberError::Syntax)?;
        Self::try_new(fiscal_year, serial)
    }

    /// The fiscal year (年度) the donation was numbered in.
    pub const fn fiscal_year(&self) -> i32 {
        self.fiscal_year
    }

    /// The serial within the fiscal year.
    pub const fn serial(&self) -> u32 {
        self.serial
    }

    /// The next number in the same fiscal year, `None` after 9 999 999.
    pub fn next(&self) -> Option<DonationNumber> {
        Self::try_new(self.fiscal_year, self.serial.checked_add(1)?).ok()
    }
}

/// "2026-0001234".
impl fmt::Display for DonationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:07}", self.fiscal_year, self.serial)
    }
}

impl FromStr for DonationNumber {
    type Err = DonationNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DonationNumber::parse(s)
    }
}

impl Serialize for DonationNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DonationNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        DonationNumber::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn format_and_parse() {
        let n = DonationNumber::new(2026, 1234);
        assert_eq!(n.to_string(), "2026-0001234");
        assert_eq!(n.fiscal_year(), 2026);
        assert_eq!(n.serial(), 1234);
        for s in [
            "2026-0001234",
            "20260001234",
            "２０２６－０００１２３４",
            "2026ー0001234",
            " 2026-1234 ",
            "2026-01234",
        ] {
            assert_eq!(DonationNumber::parse(s), Ok(n), "{s}");
        }
        assert_eq!(
            DonationNumber::new(2026, 9_999_999).to_string(),
            "2026-9999999"
        );
    }

    #[test]
    fn rejects() {
        use DonationNumberError::*;
        let cases = [
            ("", Empty),
            ("2026", Syntax),
            ("2026-", Syntax),
            ("2026-00012345", Syntax),
            ("202600012345", Syntax),
            ("26-0001234", Syntax),
            ("2026-0001-234", Syntax),
            ("2026/0001234", Syntax),
            ("2026-0000000", SerialOutOfRange),
            ("0999-0000001", FiscalYearOutOfRange),
        ];
        for (input, expected) in cases {
            assert_eq!(DonationNumber::parse(input), Err(expected), "{input}");
        }
        assert_eq!(
            DonationNumber::try_new(2026, 10_000_000),
            Err(SerialOutOfRange)
        );
        assert_eq!(
            DonationNumber::try_new(10_000, 1),
            Err(FiscalYearOutOfRange)
        );
        assert!(Syntax.message_ja().contains("寄附番号"));
    }

    #[test]
    #[should_panic(expected = "serial out of range")]
    fn new_panics_out_of_range() {
        let _ = DonationNumber::new(2026, 0);
    }

    #[test]
    fn order_next_and_serde() {
        let a = DonationNumber::new(2025, 9_000_000);
        let b = DonationNumber::new(2026, 1);
        assert!(a < b);
        assert_eq!(b.next(), Some(DonationNumber::new(2026, 2)));
        assert_eq!(
            DonationNumber::new(2026, DonationNumber::MAX_SERIAL).next(),
            None
        );
        assert_eq!(serde_json::to_string(&b).unwrap(), "\"2026-0000001\"");
        assert_eq!(
            serde_json::from_str::<DonationNumber>("\"20260000001\"").unwrap(),
            b
        );
    }

    proptest! {
        #[test]
        fn round_trips(fy in 1000i32..=9999, serial in 1u32..=9_999_999) {
            let n = DonationNumber::new(fy, serial);
            let s = n.to_string();
            prop_assert_eq!(s.len(), 12);
            prop_assert_eq!(DonationNumber::parse(&s), Ok(n));
            prop_assert_eq!(DonationNumber::parse(&s.replace('-', "")), Ok(n));
        }

        #[test]
        fn string_order_matches_order(a in (2000i32..2100, 1u32..10_000_000), b in (2000i32..2100, 1u32..10_000_000)) {
            let (x, y) = (DonationNumber::new(a.0, a.1), DonationNumber::new(b.0, b.1));
            prop_assert_eq!(x.cmp(&y), x.to_string().cmp(&y.to_string()));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,16}") {
            let _ = DonationNumber::parse(&s);
        }
    }
}
