//! Parsers for the values found in portal CSV cells: amounts, dates, yes/no flags, postal
//! codes, names and "[code] name" gift labels. All pure, allocation-light functions.

use time::{Date, Month};

use super::field::CanonicalField;

/// Maps a full-width ASCII variant (U+FF01–U+FF5E) to ASCII and U+3000 to a space.
pub(crate) fn to_half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Normalised key used to compare header names and flag words: full-width ASCII folded,
/// ASCII lower-cased, and whitespace, `_`, `-`, `・`, `･`, parentheses and the BOM removed.
pub(crate) fn key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = to_half_width(c);
        if c.is_whitespace()
            || matches!(
                c,
                '_' | '-' | '・' | '･' | '(' | ')' | '\u{FEFF}' | '‐' | '－' | '−' | '【' | '】'
            )
        {
            continue;
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Trims a cell and unwraps Excel's text-forcing `="..."` form (used for postal codes and
/// phone numbers with leading zeros). Returns `None` for an empty cell.
pub(crate) fn clean_cell(raw: &str) -> Option<&str> {
    let mut v = raw.trim();
    if v.len() >= 3 && v.starts_with("=\"") && v.ends_with('"') {
        v = v[2..v.len() - 1].trim();
    }
    if v.is_empty() { None } else { Some(v) }
}

/// Parses a yen amount: a positive integer, optionally with `,` separators, a leading
/// `¥`/`￥` and a trailing `円`, in half- or full-width digits.
pub fn parse_amount(raw: &str) -> Option<i64> {
    let mut v = raw.trim();
    for prefix in ["¥", "￥", "\\"] {
        v = v.strip_prefix(prefix).unwrap_or(v).trim_start();
    }
    v = v.strip_suffix('円').unwrap_or(v).trim_end();
    let mut value: i64 = 0;
    let mut digits = 0usize;
    for c in v.chars() {
        match to_half_width(c) {
            d @ '0'..='9' => {
                value = value
                    .checked_mul(10)?
                    .checked_add(i64::from(d as u8 - b'0'))?;
                digits += 1;
            }
            ',' | '、' => {}
            _ => return None,
        }
    }
    (digits > 0 && value > 0).then_some(value)
}

/// Parses a quantity: a positive integer, optionally followed by 個, 点, 口 or セット.
/// An empty cell is not a quantity (`None`).
pub fn parse_quantity(raw: &str) -> Option<u32> {
    let mut v = raw.trim();
    for suffix in ["個", "点", "口", "セット"] {
        v = v.strip_suffix(suffix).unwrap_or(v).trim_end();
    }
    let mut value: u32 = 0;
    let mut digits = 0usize;
    for c in v.chars() {
        match to_half_width(c) {
            d @ '0'..='9' => {
                value = value
                    .checked_mul(10)?
                    .checked_add(u32::from(d as u8 - b'0'))?;
                digits += 1;
            }
            _ => return None,
        }
    }
    (digits > 0 && value > 0).then_some(value)
}

/// A user-supplied date layout such as `YYYY/MM/DD`, `MM/DD/YYYY` or `YYYY年M月D日`.
///
/// Tokens: `YYYY` (4-digit year), `YY` (2-digit year, 2000–2099), `MM`/`DD` (exactly two
/// digits), `M`/`D` (one or two digits). Every other character must appear literally.
/// Anything after the date that starts with a space or `T` (a time of day) is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatePattern {
    tokens: Vec<DateToken>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DateToken {
    Year4,
    Year2,
    Month { exact: bool },
    Day { exact: bool },
    Literal(char),
}

impl DatePattern {
    /// Parses a pattern; `None` if it lacks a year, a month or a day.
    pub fn parse(pattern: &str) -> Option<DatePattern> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        let (mut has_y, mut has_m, mut has_d) = (false, false, false);
        while i < chars.len() {
            let run = chars[i..].iter().take_while(|&&c| c == chars[i]).count();
            let token = match (chars[i], run) {
                ('Y', 4) => {
                    has_y = true;
                    DateToken::Year4
                }
                ('Y', 2) => {
                    has_y = true;
                    DateToken::Year2
                }
                ('M', 1 | 2) => {
                    has_m = true;
                    DateToken::Month { exact: run == 2 }
                }
                ('D', 1 | 2) => {
                    has_d = true;
                    DateToken::Day { exact: run == 2 }
                }
                ('Y' | 'M' | 'D', _) => return None,
                (c, _) => {
                    tokens.push(DateToken::Literal(c));
                    i += 1;
                    continue;
                }
            };
            tokens.push(token);
            i += run;
        }
        (has_y && has_m && has_d).then_some(DatePattern { tokens })
    }

    /// Applies the pattern to a cell (after full-width digits are folded).
    pub fn parse_date(&self, raw: &str) -> Option<Date> {
        let chars: Vec<char> = raw.trim().chars().map(to_half_width).collect();
        let mut i = 0;
        let (mut y, mut m, mut d) = (None, None, None);
        for token in &self.tokens {
            match token {
                DateToken::Literal(c) => {
                    if chars.get(i) != Some(c) {
                        return None;
                    }
                    i += 1;
                }
                DateToken::Year4 => y = Some(take_digits(&chars, &mut i, 4, 4)? as i32),
                DateToken::Year2 => y = Some(2000 + take_digits(&chars, &mut i, 2, 2)? as i32),
                DateToken::Month { exact } => {
                    m = Some(take_digits(&chars, &mut i, if *exact { 2 } else { 1 }, 2)?)
                }
                DateToken::Day { exact } => {
                    d = Some(take_digits(&chars, &mut i, if *exact { 2 } else { 1 }, 2)?)
                }
            }
        }
        match chars.get(i) {
            None | Some(' ' | 'T') => make_date(y?, m?, d?),
            Some(_) => None,
        }
    }
}

fn take_digits(chars: &[char], i: &mut usize, min: usize, max: usize) -> Option<u32> {
    let mut value = 0u32;
    let mut n = 0;
    while n < max {
        match chars.get(*i) {
            Some(c @ '0'..='9') => {
                value = value * 10 + (*c as u32 - '0' as u32);
                *i += 1;
                n += 1;
            }
            _ => break,
        }
    }
    (n >= min).then_some(value)
}

fn make_date(year: i32, month: u32, day: u32) -> Option<Date> {
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
}

/// Japanese eras accepted in dates: (kanji, latin initial, first Gregorian year).
const ERAS: &[(&str, char, i32)] = &[
    ("令和", 'R', 2019),
    ("平成", 'H', 1989),
    ("昭和", 'S', 1926),
    ("大正", 'T', 1912),
];

/// Parses the date layouts portals write, in half- or full-width digits:
/// `2026-01-05`, `2026/1/5`, `2026.01.05`, `2026年1月5日`, `20260105`, 和暦 `令和8年1月5日`
/// / `R8.1.5` (`元年` accepted). A trailing time (`2026/01/05 12:34:56`, `2026-01-05T…`)
/// is ignored. Impossible dates (`2026/13/01`, `2026/02/30`) are `None`.
pub fn parse_date(raw: &str) -> Option<Date> {
    let v = raw.trim();
    for (kanji, initial, base) in ERAS {
        let rest = v
            .strip_prefix(kanji)
            .or_else(|| v.strip_prefix(*initial))
            .or_else(|| v.strip_prefix(initial.to_ascii_lowercase()));
        if let Some(rest) = rest {
            let rest = rest.trim_start();
            let (year, tail) = if let Some(tail) = rest.strip_prefix("元") {
                (1, tail)
            } else {
                let chars: Vec<char> = rest.chars().map(to_half_width).collect();
                let mut i = 0;
                let n = take_digits(&chars, &mut i, 1, 2)?;
                let byte_len: usize = rest.chars().take(i).map(char::len_utf8).sum();
                (n, &rest[byte_len..])
            };
            let (month, day) = parse_month_day(tail)?;
            return make_date(base + year as i32 - 1, month, day);
        }
    }
    let chars: Vec<char> = v.chars().map(to_half_width).collect();
    let mut i = 0;
    let digits_start = take_digits(&chars, &mut i, 4, 8)?;
    if i == 8 {
        // YYYYMMDD
        let date = make_date(
            (digits_start / 10_000) as i32,
            digits_start / 100 % 100,
            digits_start % 100,
        )?;
        return time_tail_ok(&chars[i..]).then_some(date);
    }
    if i != 4 {
        return None;
    }
    let year = digits_start as i32;
    let sep = *chars.get(i)?;
    if !matches!(sep, '-' | '/' | '.' | '年') {
        return None;
    }
    i += 1;
    let month = take_digits(&chars, &mut i, 1, 2)?;
    let sep2 = *chars.get(i)?;
    let expected = if sep == '年' { '月' } else { sep };
    if sep2 != expected {
        return None;
    }
    i += 1;
    let day = take_digits(&chars, &mut i, 1, 2)?;
    if sep == '年' {
        if chars.get(i) == Some(&'日') {
            i += 1;
        } else {
            return None;
        }
    }
    time_tail_ok(&chars[i..]).then(|| make_date(year, month, day))?
}

fn parse_month_day(tail: &str) -> Option<(u32, u32)> {
    let chars: Vec<char> = tail.trim().chars().map(to_half_width).collect();
    let mut i = 0;
    let sep = *chars.get(i)?;
    if !matches!(sep, '年' | '.' | '/' | '-') {
        return None;
    }
    i += 1;
    let month = take_digits(&chars, &mut i, 1, 2)?;
    let expected = if sep == '年' { '月' } else { sep };
    if chars.get(i) != Some(&expected) {
        return None;
    }
    i += 1;
    let day = take_digits(&chars, &mut i, 1, 2)?;
    if sep == '年' {
        if chars.get(i) != Some(&'日') {
            return None;
        }
        i += 1;
    }
    time_tail_ok(&chars[i..]).then_some((month, day))
}

fn time_tail_ok(rest: &[char]) -> bool {
    matches!(rest.first(), None | Some(' ' | 'T' | '\u{3000}'))
}

/// Words recognised as yes/no, compared with [`key`] applied.
const TRUE_WORDS: &[&str] = &[
    "1",
    "true",
    "yes",
    "y",
    "t",
    "on",
    "○",
    "〇",
    "◯",
    "●",
    "◎",
    "有",
    "有り",
    "あり",
    "はい",
    "する",
    "希望する",
    "希望",
    "希望あり",
    "要",
    "必要",
    "要望する",
    "可",
    "公表する",
    "公表可",
    "同意する",
    "同意",
    "同意します",
    "辞退する",
    "辞退",
    "申請する",
    "済",
    "済み",
];
const FALSE_WORDS: &[&str] = &[
    "0",
    "false",
    "no",
    "n",
    "f",
    "off",
    "×",
    "✕",
    "✖",
    "x",
    "無",
    "無し",
    "なし",
    "いいえ",
    "しない",
    "希望しない",
    "希望なし",
    "不要",
    "否",
    "不可",
    "公表しない",
    "公表不可",
    "非公表",
    "同意しない",
    "辞退しない",
    "申請しない",
    "未",
];

/// Parses a yes/no cell (希望する/希望しない, ○/×, 1/0, はい/いいえ, 可/不可, …).
/// `field` adds field-specific words: for [`CanonicalField::Publication`] 「匿名」 means
/// "do not publish the name", for [`CanonicalField::Anonymous`] it means yes.
pub fn parse_flag(field: CanonicalField, raw: &str) -> Option<bool> {
    let k = key(raw);
    let anonymous_word = matches!(k.as_str(), "匿名" | "匿名希望" | "匿名で公表");
    match field {
        CanonicalField::Publication if anonymous_word => return Some(false),
        CanonicalField::Anonymous if anonymous_word => return Some(true),
        CanonicalField::Anonymous if matches!(k.as_str(), "実名" | "実名で公表") => {
            return Some(false);
        }
        _ => {}
    }
    if TRUE_WORDS.contains(&k.as_str()) {
        Some(true)
    } else if FALSE_WORDS.contains(&k.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// Whether a postal code cell holds exactly 7 digits once `〒`, hyphens and spaces are
/// removed (half- or full-width).
pub fn is_valid_postal_code(raw: &str) -> bool {
    let mut digits = 0;
    for c in raw.chars() {
        match to_half_width(c) {
            '0'..='9' => digits += 1,
            '〒' | '-' | '‐' | '−' | 'ー' | '―' | ' ' => {}
            _ => return false,
        }
    }
    digits == 7
}

/// Splits a one-column full name at its first run of (half- or full-width) spaces:
/// 「山田 太郎」 → (山田, Some(太郎)). Without a space the whole name is the family name.
pub fn split_name(full: &str) -> (String, Option<String>) {
    let full = full.trim();
    match full.split_once(char::is_whitespace) {
        Some((family, given)) => {
            let given = given.trim();
            (
                family.to_owned(),
                (!given.is_empty()).then(|| given.to_owned()),
            )
        }
        None => (full.to_owned(), None),
    }
}

/// Splits a gift label written as 「[SD0001] 牛たん 500g」 (also `［…］`, `【…】`) into
/// code and name. Without a bracketed code the whole label is the name.
pub fn split_gift_label(label: &str) -> (Option<String>, String) {
    let label = label.trim();
    for (open, close) in [('[', ']'), ('［', '］'), ('【', '】')] {
        if let Some(rest) = label.strip_prefix(open)
            && let Some((code, name)) = rest.split_once(close)
        {
            let code = code.trim();
            return (
                (!code.is_empty()).then(|| code.to_owned()),
                name.trim().to_owned(),
            );
        }
    }
    (None, label.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn amounts() {
        assert_eq!(parse_amount("10000"), Some(10_000));
        assert_eq!(parse_amount("10,000"), Some(10_000));
        assert_eq!(parse_amount("10000円"), Some(10_000));
        assert_eq!(parse_amount("１０，０００円"), Some(10_000));
        assert_eq!(parse_amount("￥12,345"), Some(12_345));
        assert_eq!(parse_amount(" 5000 "), Some(5_000));
        for bad in [
            "",
            "0",
            "-100",
            "10.5",
            "abc",
            "1万円",
            "99999999999999999999",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("2"), Some(2));
        assert_eq!(parse_quantity("３個"), Some(3));
        assert_eq!(parse_quantity("0"), None);
        assert_eq!(parse_quantity("two"), None);
    }

    #[test]
    fn dates() {
        let d = date!(2026 - 01 - 05);
        for ok in [
            "2026-01-05",
            "2026/01/05",
            "2026/1/5",
            "2026.1.5",
            "2026年1月5日",
            "２０２６／０１／０５",
            "20260105",
            "2026/01/05 12:34:56",
            "2026-01-05T09:00:00+09:00",
            "令和8年1月5日",
            "R8.1.5",
            "r8/01/05",
        ] {
            assert_eq!(parse_date(ok), Some(d), "{ok}");
        }
        assert_eq!(parse_date("令和元年5月1日"), Some(date!(2019 - 05 - 01)));
        assert_eq!(parse_date("昭和55年3月1日"), Some(date!(1980 - 03 - 01)));
        for bad in [
            "2026/13/01",
            "2026/02/30",
            "2026/01",
            "01/05/2026",
            "x",
            "2026-01/05",
            "2026/01/05x",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn date_patterns() {
        let p = DatePattern::parse("MM/DD/YYYY").unwrap();
        assert_eq!(p.parse_date("01/05/2026"), Some(date!(2026 - 01 - 05)));
        assert_eq!(p.parse_date("1/05/2026"), None);
        assert_eq!(p.parse_date("13/05/2026"), None);
        let p = DatePattern::parse("YY.M.D").unwrap();
        assert_eq!(p.parse_date("26.1.5 10:00"), Some(date!(2026 - 01 - 05)));
        assert!(DatePattern::parse("YYYY/MM").is_none());
        assert!(DatePattern::parse("YYY/MM/DD").is_none());
    }

    #[test]
    fn flags() {
        use CanonicalField as F;
        assert_eq!(parse_flag(F::OnestopWanted, "希望する"), Some(true));
        assert_eq!(parse_flag(F::OnestopWanted, "希望しない"), Some(false));
        assert_eq!(parse_flag(F::GiftDeclined, "○"), Some(true));
        assert_eq!(parse_flag(F::GiftDeclined, "１"), Some(true));
        assert_eq!(parse_flag(F::Publication, "匿名"), Some(false));
        assert_eq!(parse_flag(F::Anonymous, "匿名希望"), Some(true));
        assert_eq!(parse_flag(F::OnestopWanted, "たぶん"), None);
    }

    #[test]
    fn postal_codes() {
        for ok in [
            "123-4567",
            "1234567",
            "〒123-4567",
            "１２３－４５６７",
            "123ー4567",
        ] {
            assert!(is_valid_postal_code(ok), "{ok}");
        }
        for bad in ["123-456", "12345678", "abc-defg", ""] {
            assert!(!is_valid_postal_code(bad), "{bad}");
        }
    }

    #[test]
    fn names_and_gifts() {
        assert_eq!(
            split_name("山田 太郎"),
            ("山田".into(), Some("太郎".into()))
        );
        assert_eq!(
            split_name("山田　太郎"),
            ("山田".into(), Some("太郎".into()))
        );
        assert_eq!(split_name("山田太郎"), ("山田太郎".into(), None));
        assert_eq!(
            split_gift_label("[SD0001] 牛たん 500g"),
            (Some("SD0001".into()), "牛たん 500g".into())
        );
        assert_eq!(split_gift_label("牛たん"), (None, "牛たん".into()));
    }

    #[test]
    fn cells_and_keys() {
        assert_eq!(clean_cell(" =\"0123\" "), Some("0123"));
        assert_eq!(clean_cell("  "), None);
        assert_eq!(key("E-mailアドレス"), "emailアドレス");
        assert_eq!(
            key("ワンストップ特例 CSV出力日"),
            "ワンストップ特例csv出力日"
        );
        assert_eq!(key("氏名（姓）"), "氏名姓");
    }
}
