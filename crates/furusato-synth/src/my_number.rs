//! Synthetic 個人番号 (My Number) for demo and test data.
//!
//! # Convention
//! Every synthetic number is `9999` + a 7-digit serial + the check digit defined by
//! 行政手続における特定の個人を識別するための番号の利用等に関する法律施行令 第8条 — so it is a
//! well-formed 12-digit number that passes validation, and [`is_synthetic_my_number`] recognises it.
//!
//! Real numbers are not allocated in ranges, so about one real number in 10,000 also starts with
//! `9999`: the prefix is a guard for demo and test tooling (e.g. "refuse to seed a database that
//! holds numbers without the prefix", "refuse to export synthetic numbers as real notices"),
//! not a proof that a given number belongs to nobody.
//!
//! Within one generator seed, serials come from a keyed permutation of `0..10_000_000`, so the
//! numbers of different people never repeat (up to 10 million people per seed).

/// The prefix of every synthetic My Number.
pub const SYNTHETIC_MY_NUMBER_PREFIX: &str = "9999";

/// How many distinct synthetic numbers exist (7-digit serials).
pub const SYNTHETIC_MY_NUMBER_SERIALS: u32 = 10_000_000;

/// The check digit (検査用数字) of the first 11 digits of a My Number (`digits` are values 0–9);
/// the rule is [`furusato_domain::MyNumber::check_digit`]'s.
///
/// # Panics
/// If a digit is above 9.
pub fn check_digit(digits: &[u8; 11]) -> u8 {
    furusato_domain::MyNumber::check_digit(digits)
}

/// True when `s` is 12 ASCII digits whose last digit is the check digit of the first 11.
pub fn is_valid_my_number(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 12 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut first = [0u8; 11];
    for (d, c) in first.iter_mut().zip(b) {
        *d = c - b'0';
    }
    check_digit(&first) == b[11] - b'0'
}

/// True when `s` is a valid My Number that follows this crate's synthetic convention
/// (prefix [`SYNTHETIC_MY_NUMBER_PREFIX`], valid check digit).
pub fn is_synthetic_my_number(s: &str) -> bool {
    s.starts_with(SYNTHETIC_MY_NUMBER_PREFIX) && is_valid_my_number(s)
}

/// The synthetic My Number with the given serial (`serial < 10_000_000`).
///
/// # Panics
/// When `serial` is out of range.
pub fn synthetic_my_number(serial: u32) -> String {
    assert!(
        serial < SYNTHETIC_MY_NUMBER_SERIALS,
        "synthetic My Number serial out of range"
    );
    let mut first = [9u8; 11];
    let mut rest = serial;
    for d in first[4..].iter_mut().rev() {
        *d = (rest % 10) as u8;
        rest /= 10;
    }
    let check = check_digit(&first);
    let mut s = String::with_capacity(12);
    for d in first.iter().chain(std::iter::once(&check)) {
        s.push(char::from(b'0' + d));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_check_digit() {
        // The widely published sample number 1234 5678 9018.
        assert!(is_valid_my_number("123456789018"));
        assert!(!is_valid_my_number("123456789017"));
        assert!(!is_valid_my_number("12345678901"));
        assert!(!is_valid_my_number("12345678901a"));
    }

    #[test]
    fn remainder_zero_or_one_gives_zero() {
        // Search a few first-11s whose weighted sum is ≡ 0 or 1 (mod 11) and check the rule.
        let mut found = 0;
        for x in 0u64..2000 {
            let mut d = [0u8; 11];
            let mut v = x;
            for slot in d.iter_mut().rev() {
                *slot = (v % 10) as u8;
                v /= 10;
            }
            let sum: u32 = (1..=11u32)
                .map(|n| u32::from(d[11 - n as usize]) * if n <= 6 { n + 1 } else { n - 5 })
                .sum();
            if sum % 11 <= 1 {
                assert_eq!(check_digit(&d), 0);
                found += 1;
            } else {
                assert_eq!(u32::from(check_digit(&d)), 11 - sum % 11);
            }
        }
        assert!(found > 0);
    }

    #[test]
    fn synthetic_numbers_are_valid_and_marked() {
        for serial in [0, 1, 42, 1_234_567, 9_999_999] {
            let n = synthetic_my_number(serial);
            assert_eq!(n.len(), 12);
            assert!(n.starts_with("9999"));
            assert_eq!(n[4..11].parse::<u32>().ok(), Some(serial));
            assert!(is_synthetic_my_number(&n));
        }
        assert!(!is_synthetic_my_number("123456789018"));
        // Right prefix, wrong check digit.
        let mut bad = synthetic_my_number(5).into_bytes();
        bad[11] = if bad[11] == b'9' { b'0' } else { bad[11] + 1 };
        assert!(!is_synthetic_my_number(
            std::str::from_utf8(&bad).expect("ascii")
        ));
    }
}
