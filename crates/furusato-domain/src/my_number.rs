//! 個人番号 (My Number): 12 digits, the last one a check digit.
//!
//! A `MyNumber` never shows its digits through `Debug` or `Display` (only "****-****-1234"),
//! is not `Serialize`, and wipes its memory on drop. Read the digits only through
//! [`MyNumber::expose_secret`], so that every use can be found with grep.

use std::fmt;
use std::str::FromStr;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::text::{fold_digit, is_hyphen_like};

/// A 個人番号 whose check digit is valid.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct MyNumber {
    /// ASCII digits.
    digits: [u8; 12],
}

/// Why a text could not be read as a 個人番号. Never carries any part of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MyNumberError {
    /// Nothing but spaces.
    #[error("empty individual number")]
    Empty,
    /// A character other than digits, spaces and hyphens.
    #[error("invalid character in individual number")]
    InvalidCharacter,
    /// Not 12 digits.
    #[error("individual number must have 12 digits, found {0}")]
    WrongLength(usize),
    /// The 12th digit does not match the first eleven.
    #[error("individual number check digit does not match")]
    WrongCheckDigit,
}

impl MyNumberError {
    /// A short Japanese message for screens.
    pub fn message_ja(&self) -> &'static str {
        match self {
            Self::Empty => "個人番号を入力してください。",
            Self::InvalidCharacter => "個人番号に使えない文字が含まれています。",
            Self::WrongLength(_) => "個人番号は12桁の数字で入力してください。",
            Self::WrongCheckDigit => "個人番号が正しくありません（検査用数字が一致しません）。",
        }
    }
}

/// `Σ P_n·Q_n mod 11` over the first eleven digits (numbers 0–9), as in 施行令 第8条:
/// P_n is the n-th digit counted from the right of the first eleven (P1 = 11th digit),
/// Q_n = n + 1 for 1 ≤ n ≤ 6 and n − 5 for 7 ≤ n ≤ 11.
fn weighted_remainder(first11: &[u8; 11]) -> u32 {
    let sum: u32 = first11
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &p)| {
            let n = i as u32 + 1;
            let q = if n <= 6 { n + 1 } else { n - 5 };
            u32::from(p) * q
        })
        .sum();
    sum % 11
}

impl MyNumber {
    /// The check digit for eleven digits given as numbers 0–9 (行政手続における特定の個人を
    /// 識別するための番号の利用等に関する法律施行令 第8条): with r = Σ P_n·Q_n mod 11,
    /// the check digit is 0 if r ≤ 1, else 11 − r.
    ///
    /// # Panics
    /// If a digit is above 9.
    pub fn check_digit(first11: &[u8; 11]) -> u8 {
        assert!(first11.iter().all(|&d| d <= 9), "digits must be 0..=9");
        let r = weighted_remainder(first11);
        if r <= 1 { 0 } else { (11 - r) as u8 }
    }

    /// The number made of these eleven digits (numbers 0–9) and their check digit.
    /// Used by the synthetic-data generator to make fictitious but valid numbers.
    ///
    /// # Panics
    /// If a digit is above 9.
    pub fn from_first11(first11: &[u8; 11]) -> MyNumber {
        let cd = Self::check_digit(first11);
        let mut digits = [0u8; 12];
        for (out, d) in digits.iter_mut().zip(first11.iter().chain([cd].iter())) {
            *out = b'0' + d;
        }
        MyNumber { digits }
    }

    /// Reads 12 digits; spaces, hyphen-like characters and full-width digits are accepted.
    /// Errors never contain the input.
    pub fn parse(input: &str) -> Result<MyNumber, MyNumberError> {
        let mut digits = [0u8; 12];
        let mut n = 0usize;
        for c in input.chars() {
            if let Some(d) = fold_digit(c) {
                if n < 12 {
                    digits[n] = d;
                }
                n += 1;
            } else if !(c.is_whitespace() || is_hyphen_like(c)) {
                digits.zeroize();
                return Err(MyNumberError::InvalidCharacter);
            }
        }
        if n != 12 {
            digits.zeroize();
            return Err(if n == 0 {
                MyNumberError::Empty
            } else {
                MyNumberError::WrongLength(n)
            });
        }
        let mut first11 = [0u8; 11];
        first11.copy_from_slice(&digits[..11]);
        let expected = Self::check_digit(&first11);
        let actual = digits[11];
        first11.zeroize();
        if expected != actual {
            digits.zeroize();
            return Err(MyNumberError::WrongCheckDigit);
        }
        for d in &mut digits {
            *d += b'0';
        }
        Ok(MyNumber { digits })
    }

    /// The 12 digits. Only for code that legitimately needs the number (the vault,
    /// the 申告特例通知 export): every call site is a place that handles 特定個人情報.
    pub fn expose_secret(&self) -> &str {
        std::str::from_utf8(&self.digits).unwrap_or("")
    }

    /// The last four digits: "1234".
    pub fn last4(&self) -> &str {
        &self.expose_secret()[8..]
    }

    /// "****-****-1234".
    pub fn masked(&self) -> String {
        format!("****-****-{}", self.last4())
    }
}

/// "MyNumber(****-****-1234)".
impl fmt::Debug for MyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MyNumber({})", self.masked())
    }
}

/// "****-****-1234".
impl fmt::Display for MyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl FromStr for MyNumber {
    type Err = MyNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MyNumber::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An obviously fictitious sequence; its check digit worked out by hand:
    /// Σ = 1·2 + 0·3 + 9·4 + 8·5 + 7·6 + 6·7 + 5·2 + 4·3 + 3·4 + 2·5 + 1·6 = 212, 212 mod 11 = 3, 11 − 3 = 8.
    const SEQ: [u8; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1];

    fn spaced(s: &str) -> String {
        format!("{} {} {}", &s[..4], &s[4..8], &s[8..])
    }

    fn full_width(s: &str) -> String {
        s.chars()
            .map(|c| char::from_u32(c as u32 - '0' as u32 + '０' as u32).unwrap())
            .collect()
    }

    #[test]
    fn check_digit_by_hand() {
        assert_eq!(MyNumber::check_digit(&SEQ), 8);
        assert_eq!(MyNumber::from_first11(&SEQ).expose_secret(), "123456789018");
        assert_eq!(MyNumber::check_digit(&[0; 11]), 0);
    }

    #[test]
    fn parses_spellings() {
        let n = MyNumber::from_first11(&SEQ);
        let s = n.expose_secret().to_owned();
        for input in [
            s.clone(),
            spaced(&s),
            format!("{}-{}-{}", &s[..4], &s[4..8], &s[8..]),
            format!("{}ー{}－{}", &s[..4], &s[4..8], &s[8..]),
            full_width(&s),
            format!("  {s}\t"),
        ] {
            assert_eq!(MyNumber::parse(&input), Ok(n.clone()));
        }
        assert_eq!(s.parse::<MyNumber>(), Ok(n));
    }

    #[test]
    fn rejects_without_echoing_input() {
        let n = MyNumber::from_first11(&SEQ);
        let s = n.expose_secret().to_owned();
        let wrong_check = format!("{}9", &s[..11]);
        let cases = [
            (String::new(), MyNumberError::Empty),
            (" - ".to_owned(), MyNumberError::Empty),
            (s[..11].to_owned(), MyNumberError::WrongLength(11)),
            (format!("{s}0"), MyNumberError::WrongLength(13)),
            (format!("{}a", &s[..11]), MyNumberError::InvalidCharacter),
            (wrong_check.clone(), MyNumberError::WrongCheckDigit),
        ];
        for (input, expected) in cases {
            let err = MyNumber::parse(&input).unwrap_err();
            assert_eq!(err, expected);
            let shown = format!("{err} {err:?} {}", err.message_ja());
            assert!(!shown.contains(&s[..11]), "error shows digits");
            assert!(!shown.contains("12345"), "error shows digits");
        }
    }

    #[test]
    fn never_shows_digits() {
        let n = MyNumber::from_first11(&SEQ);
        assert_eq!(format!("{n:?}"), "MyNumber(****-****-9018)");
        assert_eq!(n.to_string(), "****-****-9018");
        assert_eq!(n.masked(), "****-****-9018");
        assert_eq!(n.last4(), "9018");
        assert_eq!(
            format!("{:?}", Some(n.clone())),
            "Some(MyNumber(****-****-9018))"
        );
    }

    #[test]
    fn zeroize_wipes_digits() {
        let mut n = MyNumber::from_first11(&SEQ);
        n.zeroize();
        assert!(n.expose_secret().bytes().all(|b| b == 0));
    }

    /// The check digit maps r = 0 and r = 1 both to 0, so a substitution that moves r
    /// between those two values is not detected. Example: 00000000000|0 (r = 0) and
    /// 00000000006|0 (the 11th digit has weight 2, 6·2 = 12 ≡ 1) are both valid.
    #[test]
    fn some_single_substitutions_are_undetectable() {
        let a = MyNumber::from_first11(&[0; 11]);
        let b = MyNumber::from_first11(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6]);
        assert_eq!(a.expose_secret()[11..], b.expose_secret()[11..]);
        assert!(MyNumber::parse(a.expose_secret()).is_ok());
        assert!(MyNumber::parse(b.expose_secret()).is_ok());
    }

    fn digits11() -> impl Strategy<Value = [u8; 11]> {
        proptest::array::uniform11(0u8..=9)
    }

    proptest! {
        #[test]
        fn generated_numbers_parse(first11 in digits11()) {
            let n = MyNumber::from_first11(&first11);
            let s = n.expose_secret().to_owned();
            prop_assert_eq!(s.len(), 12);
            prop_assert_eq!(MyNumber::parse(&s), Ok(n.clone()));
            prop_assert_eq!(MyNumber::parse(&spaced(&s)), Ok(n.clone()));
            prop_assert_eq!(MyNumber::parse(&full_width(&s)), Ok(n));
        }

        /// Changing the check digit is always detected. Changing one of the first eleven
        /// digits by d changes r by Q_n·d mod 11, never 0 (11 is prime, Q_n and d are in
        /// 1..=10), so it is detected unless r moves between 0 and 1 (both give check 0).
        #[test]
        fn single_substitutions(first11 in digits11(), pos in 0usize..12, delta in 1u8..=9) {
            let n = MyNumber::from_first11(&first11);
            let mut bytes = n.expose_secret().as_bytes().to_vec();
            let new_digit = (bytes[pos] - b'0' + delta) % 10;
            bytes[pos] = b'0' + new_digit;
            let changed = String::from_utf8(bytes).unwrap();
            let accepted = MyNumber::parse(&changed).is_ok();
            if pos == 11 {
                prop_assert!(!accepted);
            } else {
                let mut other = first11;
                other[pos] = new_digit;
                let (r0, r1) = (weighted_remainder(&first11), weighted_remainder(&other));
                prop_assert_ne!(r0, r1);
                prop_assert_eq!(accepted, r0 <= 1 && r1 <= 1);
            }
        }

        #[test]
        fn debug_and_display_hide_the_number(first11 in digits11()) {
            let n = MyNumber::from_first11(&first11);
            let secret = n.expose_secret().to_owned();
            let shown = format!("{n} {n:?} {} {:?}", n.masked(), vec![n.clone()]);
            prop_assert!(!shown.contains(&secret));
            prop_assert!(!shown.contains(&secret[..8]));
            prop_assert!(shown.contains(n.last4()));
        }

        #[test]
        fn errors_never_echo_input(s in "[0-9０-９ -]{0,20}") {
            if let Err(e) = MyNumber::parse(&s) {
                let shown = format!("{e} {e:?}");
                let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
                if digits.len() >= 3 {
                    prop_assert!(!shown.contains(&digits));
                }
            }
        }
    }
}
