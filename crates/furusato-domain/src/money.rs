//! Amounts of money in Japanese yen.
//!
//! Yen has no minor unit, so an amount is a plain `i64` (stored as `BIGINT`).

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::text::fold_digit;

/// An amount of Japanese yen. Serialized as a bare integer.
///
/// `Display` gives "10,000円" (negative: "-1,200円"); [`Yen::format_number`] gives "10,000".
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Yen(pub i64);

/// Why a text could not be read as an amount of yen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YenError {
    /// Nothing but spaces.
    #[error("empty amount")]
    Empty,
    /// A character that is not a digit, separator, sign or currency mark.
    #[error("invalid character in amount")]
    InvalidCharacter,
    /// Thousands separators not in groups of three.
    #[error("misplaced thousands separator")]
    InvalidGrouping,
    /// Does not fit in an `i64`.
    #[error("amount out of range")]
    OutOfRange,
}

impl YenError {
    /// A short Japanese message for screens.
    pub fn message_ja(&self) -> &'static str {
        match self {
            Self::Empty => "金額を入力してください。",
            Self::InvalidCharacter => "金額に使えない文字が含まれています。",
            Self::InvalidGrouping => "桁区切りのカンマの位置が正しくありません。",
            Self::OutOfRange => "金額が大きすぎます。",
        }
    }
}

impl Yen {
    /// Zero yen.
    pub const ZERO: Yen = Yen(0);

    /// Wraps a number of yen.
    pub const fn new(yen: i64) -> Self {
        Yen(yen)
    }

    /// The number of yen.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// `self + other`, or `None` on overflow.
    pub const fn checked_add(self, other: Yen) -> Option<Yen> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Yen(v)),
            None => None,
        }
    }

    /// `self - other`, or `None` on overflow.
    pub const fn checked_sub(self, other: Yen) -> Option<Yen> {
        match self.0.checked_sub(other.0) {
            Some(v) => Some(Yen(v)),
            None => None,
        }
    }

    /// `self × n` (e.g. unit price × quantity), or `None` on overflow.
    pub const fn checked_mul(self, n: i64) -> Option<Yen> {
        match self.0.checked_mul(n) {
            Some(v) => Some(Yen(v)),
            None => None,
        }
    }

    /// `floor(self × numerator / denominator)`, e.g. the 3割 ceiling of a gift is
    /// `donation.mul_ratio_floor(3, 10)`. `None` if `denominator <= 0` or on overflow.
    pub fn mul_ratio_floor(self, numerator: i64, denominator: i64) -> Option<Yen> {
        if denominator <= 0 {
            return None;
        }
        let v = (i128::from(self.0) * i128::from(numerator)).div_euclid(i128::from(denominator));
        i64::try_from(v).ok().map(Yen)
    }

    /// Whether the amount is below zero.
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Whether the amount is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Whether the amount is above zero.
    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// The amount with thousands separators and no unit: "10,000", "-1,200".
    pub fn format_number(self) -> String {
        let digits = self.0.unsigned_abs().to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        if self.0 < 0 {
            out.push('-');
        }
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    /// Reads an amount as people write it: "10000", "10,000", "10,000円", "￥10,000",
    /// "¥10,000", "１０，０００円", "-1,200", "△1,200" (accounting negative).
    ///
    /// Surrounding spaces are ignored; separators, when present, must group by three.
    pub fn parse(input: &str) -> Result<Yen, YenError> {
        let mut rest = input.trim();
        if rest.is_empty() {
            return Err(YenError::Empty);
        }
        let mut negative = false;
        let mut symbol = false;
        loop {
            let mut chars = rest.chars();
            match chars.next() {
                Some('-' | '−' | '－' | '△' | '▲') if !negative => negative = true,
                Some('¥' | '￥' | '\\') if !symbol => symbol = true,
                Some(c) if c.is_whitespace() => {}
                _ => break,
            }
            rest = chars.as_str();
        }
        rest = rest.strip_suffix('円').unwrap_or(rest).trim_end();
        if rest.is_empty() {
            return Err(YenError::InvalidCharacter);
        }

        let mut value: i128 = 0;
        let mut group_len = 0usize;
        let mut groups = 0usize;
        for c in rest.chars() {
            if let Some(d) = fold_digit(c) {
                value = value * 10 + i128::from(d);
                if value > i128::from(i64::MAX) + 1 {
                    return Err(YenError::OutOfRange);
                }
                group_len += 1;
            } else if matches!(c, ',' | '，') {
                let ok = if groups == 0 {
                    (1..=3).contains(&group_len)
                } else {
                    group_len == 3
                };
                if !ok {
                    return Err(YenError::InvalidGrouping);
                }
                groups += 1;
                group_len = 0;
            } else {
                return Err(YenError::InvalidCharacter);
            }
        }
        if group_len == 0 || (groups > 0 && group_len != 3) {
            return Err(YenError::InvalidGrouping);
        }
        let signed = if negative { -value } else { value };
        i64::try_from(signed)
            .map(Yen)
            .map_err(|_| YenError::OutOfRange)
    }
}

impl fmt::Display for Yen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}円", self.format_number())
    }
}

impl FromStr for Yen {
    type Err = YenError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Yen::parse(s)
    }
}

impl From<i64> for Yen {
    fn from(v: i64) -> Self {
        Yen(v)
    }
}

impl From<Yen> for i64 {
    fn from(v: Yen) -> Self {
        v.0
    }
}

/// Panics on overflow, in every build profile (money must never wrap).
impl Add for Yen {
    type Output = Yen;
    fn add(self, rhs: Yen) -> Yen {
        self.checked_add(rhs).expect("yen addition overflowed")
    }
}

impl AddAssign for Yen {
    fn add_assign(&mut self, rhs: Yen) {
        *self = *self + rhs;
    }
}

/// Panics on overflow, in every build profile.
impl Sub for Yen {
    type Output = Yen;
    fn sub(self, rhs: Yen) -> Yen {
        self.checked_sub(rhs).expect("yen subtraction overflowed")
    }
}

impl SubAssign for Yen {
    fn sub_assign(&mut self, rhs: Yen) {
        *self = *self - rhs;
    }
}

impl Neg for Yen {
    type Output = Yen;
    fn neg(self) -> Yen {
        Yen(self.0.checked_neg().expect("yen negation overflowed"))
    }
}

impl Sum for Yen {
    fn sum<I: Iterator<Item = Yen>>(iter: I) -> Yen {
        iter.fold(Yen::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Yen> for Yen {
    fn sum<I: Iterator<Item = &'a Yen>>(iter: I) -> Yen {
        iter.copied().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn display_uses_separators_and_unit() {
        assert_eq!(Yen(10_000).to_string(), "10,000円");
        assert_eq!(Yen(-1_200).to_string(), "-1,200円");
        assert_eq!(Yen(0).to_string(), "0円");
        assert_eq!(Yen(999).to_string(), "999円");
        assert_eq!(Yen(1_000).format_number(), "1,000");
        assert_eq!(Yen(1_234_567).format_number(), "1,234,567");
        assert_eq!(Yen(i64::MIN).format_number(), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn parses_common_spellings() {
        for s in [
            "10000",
            "10,000",
            "10,000円",
            "￥10,000",
            "¥10,000",
            "１０，０００円",
            "１００００",
            " 10,000 円 ",
            "\\10000",
        ] {
            assert_eq!(Yen::parse(s), Ok(Yen(10_000)), "{s}");
        }
        assert_eq!(Yen::parse("-1,200円"), Ok(Yen(-1_200)));
        assert_eq!(Yen::parse("¥-1,200"), Ok(Yen(-1_200)));
        assert_eq!(Yen::parse("-¥1,200"), Ok(Yen(-1_200)));
        assert_eq!(Yen::parse("△1,200"), Ok(Yen(-1_200)));
        assert_eq!(Yen::parse("0"), Ok(Yen(0)));
        assert_eq!("5000".parse::<Yen>(), Ok(Yen(5_000)));
    }

    #[test]
    fn rejects_bad_amounts() {
        assert_eq!(Yen::parse(""), Err(YenError::Empty));
        assert_eq!(Yen::parse("   "), Err(YenError::Empty));
        assert_eq!(Yen::parse("円"), Err(YenError::InvalidCharacter));
        assert_eq!(Yen::parse("10.5"), Err(YenError::InvalidCharacter));
        assert_eq!(Yen::parse("1万円"), Err(YenError::InvalidCharacter));
        assert_eq!(Yen::parse("--5"), Err(YenError::InvalidCharacter));
        assert_eq!(Yen::parse("1,0000"), Err(YenError::InvalidGrouping));
        assert_eq!(Yen::parse("1000,000"), Err(YenError::InvalidGrouping));
        assert_eq!(Yen::parse(",000"), Err(YenError::InvalidGrouping));
        assert_eq!(Yen::parse("1,000,"), Err(YenError::InvalidGrouping));
        assert_eq!(
            Yen::parse("99999999999999999999"),
            Err(YenError::OutOfRange)
        );
        assert_eq!(
            Yen::parse("9,223,372,036,854,775,808"),
            Err(YenError::OutOfRange)
        );
        assert_eq!(Yen::parse("-9,223,372,036,854,775,808"), Ok(Yen(i64::MIN)));
    }

    #[test]
    fn arithmetic() {
        assert_eq!(Yen(1) + Yen(2), Yen(3));
        assert_eq!(Yen(1) - Yen(2), Yen(-1));
        assert_eq!(-Yen(5), Yen(-5));
        assert_eq!(Yen(i64::MAX).checked_add(Yen(1)), None);
        assert_eq!(Yen(i64::MIN).checked_sub(Yen(1)), None);
        assert_eq!(Yen(300).checked_mul(3), Some(Yen(900)));
        let total: Yen = [Yen(10_000), Yen(5_000), Yen(-1_000)].iter().sum();
        assert_eq!(total, Yen(14_000));
        let total: Yen = vec![Yen(1), Yen(2)].into_iter().sum();
        assert_eq!(total, Yen(3));
        let mut y = Yen(10);
        y += Yen(5);
        y -= Yen(3);
        assert_eq!(y, Yen(12));
        assert!(Yen(-1) < Yen(0) && Yen(0) < Yen(1));
        assert!(Yen(-1).is_negative() && Yen(0).is_zero() && Yen(1).is_positive());
    }

    #[test]
    fn ratios_floor() {
        assert_eq!(Yen(10_000).mul_ratio_floor(3, 10), Some(Yen(3_000)));
        assert_eq!(Yen(9_999).mul_ratio_floor(3, 10), Some(Yen(2_999)));
        assert_eq!(Yen(-1_001).mul_ratio_floor(1, 10), Some(Yen(-101)));
        assert_eq!(Yen(1).mul_ratio_floor(1, 0), None);
        assert_eq!(Yen(i64::MAX).mul_ratio_floor(2, 1), None);
    }

    #[test]
    #[should_panic(expected = "overflow")]
    fn add_panics_on_overflow() {
        let _ = Yen(i64::MAX) + Yen(1);
    }

    #[test]
    fn serde_as_integer() {
        assert_eq!(serde_json::to_string(&Yen(10_000)).unwrap(), "10000");
        assert_eq!(serde_json::from_str::<Yen>("-5").unwrap(), Yen(-5));
        assert!(serde_json::from_str::<Yen>("\"10,000\"").is_err());
    }

    #[test]
    fn error_messages() {
        assert_eq!(YenError::Empty.to_string(), "empty amount");
        assert!(YenError::InvalidGrouping.message_ja().contains("カンマ"));
    }

    fn to_full_width(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                '0'..='9' => char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap(),
                ',' => '，',
                other => other,
            })
            .collect()
    }

    proptest! {
        #[test]
        fn display_round_trips(v in any::<i64>()) {
            prop_assert_eq!(Yen::parse(&Yen(v).to_string()), Ok(Yen(v)));
            prop_assert_eq!(Yen::parse(&Yen(v).format_number()), Ok(Yen(v)));
            prop_assert_eq!(Yen::parse(&v.to_string()), Ok(Yen(v)));
        }

        #[test]
        fn full_width_round_trips(v in any::<i64>()) {
            prop_assert_eq!(Yen::parse(&to_full_width(&Yen(v).to_string())), Ok(Yen(v)));
            prop_assert_eq!(Yen::parse(&format!("￥{}", to_full_width(&Yen(v).format_number()))), Ok(Yen(v)));
        }

        #[test]
        fn format_number_has_only_groups_of_three(v in any::<i64>()) {
            let s = Yen(v).format_number();
            let s = s.trim_start_matches('-');
            let groups: Vec<&str> = s.split(',').collect();
            prop_assert!((1..=3).contains(&groups[0].len()));
            prop_assert!(groups[1..].iter().all(|g| g.len() == 3));
            prop_assert_eq!(groups.concat(), v.unsigned_abs().to_string());
        }

        #[test]
        fn sum_matches_integer_sum(vs in proptest::collection::vec(-1_000_000_000i64..1_000_000_000, 0..50)) {
            let total: Yen = vs.iter().copied().map(Yen).sum();
            prop_assert_eq!(total.get(), vs.iter().sum::<i64>());
        }

        #[test]
        fn order_matches_integers(a in any::<i64>(), b in any::<i64>()) {
            prop_assert_eq!(Yen(a).cmp(&Yen(b)), a.cmp(&b));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,20}") {
            let _ = Yen::parse(&s);
        }
    }
}
