//! 和暦 (Japanese era calendar): 明治, 大正, 昭和, 平成, 令和.
//!
//! Dates before 明治6年 (1873-01-01, when Japan adopted the Gregorian calendar) are not
//! converted from the old lunisolar calendar: every Gregorian date from 1868-01-01 to the
//! start of 大正 is shown as 明治 (the era was proclaimed on 1868-10-23 retroactive to the
//! start of that year). Dates before 1868 have no 和暦 here.

use std::fmt;

use time::macros::date;
use time::{Date, Month};
use unicode_normalization::UnicodeNormalization;

use crate::text::parse_kanji_number;

/// A Japanese era (元号) of the modern calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Era {
    /// 明治 (M)
    Meiji,
    /// 大正 (T)
    Taisho,
    /// 昭和 (S)
    Showa,
    /// 平成 (H)
    Heisei,
    /// 令和 (R)
    Reiwa,
}

impl Era {
    /// All eras, oldest first.
    pub const ALL: [Era; 5] = [Era::Meiji, Era::Taisho, Era::Showa, Era::Heisei, Era::Reiwa];

    /// The era name in kanji: "令和".
    pub const fn name(self) -> &'static str {
        match self {
            Era::Meiji => "明治",
            Era::Taisho => "大正",
            Era::Showa => "昭和",
            Era::Heisei => "平成",
            Era::Reiwa => "令和",
        }
    }

    /// The one-letter abbreviation used in "R8.12.24".
    pub const fn letter(self) -> char {
        match self {
            Era::Meiji => 'M',
            Era::Taisho => 'T',
            Era::Showa => 'S',
            Era::Heisei => 'H',
            Era::Reiwa => 'R',
        }
    }

    /// The romanised name: "Reiwa".
    pub const fn romaji(self) -> &'static str {
        match self {
            Era::Meiji => "Meiji",
            Era::Taisho => "Taisho",
            Era::Showa => "Showa",
            Era::Heisei => "Heisei",
            Era::Reiwa => "Reiwa",
        }
    }

    /// The official first day of the era (明治: the proclamation, 1868-10-23).
    pub const fn start(self) -> Date {
        match self {
            Era::Meiji => date!(1868 - 10 - 23),
            Era::Taisho => date!(1912 - 07 - 30),
            Era::Showa => date!(1926 - 12 - 25),
            Era::Heisei => date!(1989 - 01 - 08),
            Era::Reiwa => date!(2019 - 05 - 01),
        }
    }

    /// The first day this module maps to the era: [`Era::start`], except 明治 which covers all of 1868.
    const fn first_mapped_day(self) -> Date {
        match self {
            Era::Meiji => date!(1868 - 01 - 01),
            other => other.start(),
        }
    }

    /// The Gregorian year of 元年.
    pub const fn first_year(self) -> i32 {
        self.start().year()
    }

    /// The last day of the era, `None` for the current one.
    pub fn last_day(self) -> Option<Date> {
        self.next().and_then(|n| n.start().previous_day())
    }

    /// The following era.
    pub const fn next(self) -> Option<Era> {
        match self {
            Era::Meiji => Some(Era::Taisho),
            Era::Taisho => Some(Era::Showa),
            Era::Showa => Some(Era::Heisei),
            Era::Heisei => Some(Era::Reiwa),
            Era::Reiwa => None,
        }
    }

    /// The era of a date (see the module note for dates before 1873); `None` before 1868.
    pub fn of(date: Date) -> Option<Era> {
        Era::ALL
            .into_iter()
            .rev()
            .find(|e| date >= e.first_mapped_day())
    }

    /// Reads an era from its kanji name ("令和"), its letter ("R" or "r"),
    /// or the single-character ligature ("㋿").
    pub fn from_name(s: &str) -> Option<Era> {
        let s: String = s.trim().nfkc().collect();
        Era::ALL.into_iter().find(|e| {
            s == e.name()
                || (s.len() == 1 && s.eq_ignore_ascii_case(e.letter().encode_utf8(&mut [0; 4])))
        })
    }
}

impl fmt::Display for Era {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A date written in the era calendar: 令和8年12月24日 is `{ era: Reiwa, year: 8, month: 12, day: 24 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WarekiDate {
    /// The era.
    pub era: Era,
    /// The year of the era, 1 = 元年.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of month, 1–31.
    pub day: u8,
}

impl WarekiDate {
    /// The Gregorian date, checking that it exists and lies within the era.
    pub fn to_date(&self) -> Result<Date, WarekiError> {
        if self.year == 0 {
            return Err(WarekiError::InvalidDate);
        }
        let year = self.era.first_year() + i32::from(self.year) - 1;
        let month = Month::try_from(self.month).map_err(|_| WarekiError::InvalidDate)?;
        let date = Date::from_calendar_date(year, month, self.day)
            .map_err(|_| WarekiError::InvalidDate)?;
        if Era::of(date) == Some(self.era) {
            Ok(date)
        } else {
            Err(WarekiError::OutOfEra { era: self.era })
        }
    }

    /// "令和8年" / "令和元年".
    pub fn year_ja(&self) -> String {
        if self.year == 1 {
            format!("{}元年", self.era.name())
        } else {
            format!("{}{}年", self.era.name(), self.year)
        }
    }

    /// "R8.12.24".
    pub fn short(&self) -> String {
        format!(
            "{}{}.{}.{}",
            self.era.letter(),
            self.year,
            self.month,
            self.day
        )
    }
}

/// "令和8年12月24日", "令和元年5月1日".
impl fmt::Display for WarekiDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}月{}日", self.year_ja(), self.month, self.day)
    }
}

/// Why a text could not be read as a 和暦 date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WarekiError {
    /// Nothing but spaces.
    #[error("empty date")]
    Empty,
    /// Does not start with a known era.
    #[error("unknown era")]
    UnknownEra,
    /// Not one of the accepted layouts.
    #[error("unrecognised Japanese-era date format")]
    Syntax,
    /// No such day (month 13, 2月30日, year 0).
    #[error("no such date")]
    InvalidDate,
    /// A real day, but not within the named era (e.g. 平成32年, 令和元年4月1日).
    #[error("date outside the {} era", era.romaji())]
    OutOfEra {
        /// The era that was written.
        era: Era,
    },
}

impl WarekiError {
    /// A short Japanese message for screens.
    pub fn message_ja(&self) -> &'static str {
        match self {
            Self::Empty => "日付を入力してください。",
            Self::UnknownEra => "元号が正しくありません。",
            Self::Syntax => "和暦の日付の形式が正しくありません（例: 令和8年12月24日）。",
            Self::InvalidDate => "存在しない日付です。",
            Self::OutOfEra { .. } => "元号の期間外の日付です。",
        }
    }
}

/// The 和暦 of a date; `None` before 1868.
pub fn from_date(date: Date) -> Option<WarekiDate> {
    let era = Era::of(date)?;
    Some(WarekiDate {
        era,
        year: u16::try_from(date.year() - era.first_year() + 1).ok()?,
        month: u8::from(date.month()),
        day: date.day(),
    })
}

/// "令和8年12月24日" ("令和元年5月1日"); Gregorian "1850年1月1日" before 1868.
pub fn format(date: Date) -> String {
    match from_date(date) {
        Some(w) => w.to_string(),
        None => crate::jst::format_date_ja(date),
    }
}

/// "令和8年" ("令和元年"); Gregorian "1850年" before 1868.
pub fn format_year(date: Date) -> String {
    match from_date(date) {
        Some(w) => w.year_ja(),
        None => format!("{}年", date.year()),
    }
}

/// "R8.12.24"; ISO "1850-01-01" before 1868.
pub fn format_short(date: Date) -> String {
    match from_date(date) {
        Some(w) => w.short(),
        None => crate::jst::format_date_iso(date),
    }
}

/// Reads a 和暦 date: "令和8年12月24日", "令和元年5月1日", "R8.12.24", "H31.4.30", "r8/12/24",
/// "令和８年１２月２４日", "令和八年十二月二十四日", "㋿8.12.24". Spaces are ignored;
/// after the era either 年月日 (日 optional) or two equal separators among `.`, `/`, `-`.
/// A date that exists but is not within the written era (平成32年, 令和元年4月30日) is
/// [`WarekiError::OutOfEra`].
pub fn parse(input: &str) -> Result<Date, WarekiError> {
    let s: String = input.nfkc().filter(|c| !c.is_whitespace()).collect();
    if s.is_empty() {
        return Err(WarekiError::Empty);
    }
    let (era, rest) = split_era(&s)?;
    let parts: Vec<&str> = rest.split(['年', '月', '日', '.', '/', '-']).collect();
    let separators: String = rest
        .chars()
        .filter(|c| matches!(c, '年' | '月' | '日' | '.' | '/' | '-'))
        .collect();
    let layout_ok = match separators.as_str() {
        "年月" => parts.len() == 3,
        "年月日" => parts.len() == 4 && parts[3].is_empty(),
        ".." | "//" | "--" => parts.len() == 3,
        _ => false,
    };
    if !layout_ok {
        return Err(WarekiError::Syntax);
    }
    let year = if parts[0] == "元" {
        1
    } else {
        number(parts[0])?
    };
    let month = number(parts[1])?;
    let day = number(parts[2])?;
    let w = WarekiDate {
        era,
        year: u16::try_from(year).map_err(|_| WarekiError::InvalidDate)?,
        month: u8::try_from(month).map_err(|_| WarekiError::InvalidDate)?,
        day: u8::try_from(day).map_err(|_| WarekiError::InvalidDate)?,
    };
    w.to_date()
}

/// Reads a 和暦 year ("令和8年", "令和8年度", "R8", "令和元年") as a Gregorian year (2026).
pub fn parse_year(input: &str) -> Result<i32, WarekiError> {
    let s: String = input.nfkc().filter(|c| !c.is_whitespace()).collect();
    if s.is_empty() {
        return Err(WarekiError::Empty);
    }
    let (era, rest) = split_era(&s)?;
    let rest = rest
        .strip_suffix("年度")
        .or_else(|| rest.strip_suffix('年'))
        .unwrap_or(rest);
    let year = if rest == "元" { 1 } else { number(rest)? };
    if year == 0 {
        return Err(WarekiError::InvalidDate);
    }
    let gregorian =
        era.first_year() + i32::try_from(year).map_err(|_| WarekiError::InvalidDate)? - 1;
    let last_year = era.last_day().map_or(i32::MAX, |d| d.year());
    if gregorian > last_year {
        return Err(WarekiError::OutOfEra { era });
    }
    Ok(gregorian)
}

/// Splits the leading era (kanji name or letter) from an NFKC-normalised string.
fn split_era(s: &str) -> Result<(Era, &str), WarekiError> {
    for era in Era::ALL {
        if let Some(rest) = s.strip_prefix(era.name()) {
            return Ok((era, rest));
        }
    }
    let mut chars = s.chars();
    let first = chars.next().ok_or(WarekiError::Empty)?;
    Era::ALL
        .into_iter()
        .find(|e| first.eq_ignore_ascii_case(&e.letter()))
        .map(|e| (e, chars.as_str()))
        .ok_or(WarekiError::UnknownEra)
}

/// An arabic (already width-folded) or kanji number.
fn number(s: &str) -> Result<u32, WarekiError> {
    if s.is_empty() {
        return Err(WarekiError::Syntax);
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map_err(|_| WarekiError::InvalidDate);
    }
    parse_kanji_number(s).ok_or(WarekiError::Syntax)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn era_boundaries() {
        let cases = [
            (date!(2019 - 05 - 01), "令和元年5月1日", "R1.5.1"),
            (date!(2019 - 04 - 30), "平成31年4月30日", "H31.4.30"),
            (date!(1989 - 01 - 08), "平成元年1月8日", "H1.1.8"),
            (date!(1989 - 01 - 07), "昭和64年1月7日", "S64.1.7"),
            (date!(1926 - 12 - 25), "昭和元年12月25日", "S1.12.25"),
            (date!(1926 - 12 - 24), "大正15年12月24日", "T15.12.24"),
            (date!(1912 - 07 - 30), "大正元年7月30日", "T1.7.30"),
            (date!(1912 - 07 - 29), "明治45年7月29日", "M45.7.29"),
            (date!(1868 - 10 - 23), "明治元年10月23日", "M1.10.23"),
            (date!(1868 - 01 - 01), "明治元年1月1日", "M1.1.1"),
            (date!(2026 - 12 - 24), "令和8年12月24日", "R8.12.24"),
        ];
        for (d, long, short) in cases {
            assert_eq!(format(d), long);
            assert_eq!(format_short(d), short);
            assert_eq!(parse(long), Ok(d), "{long}");
            assert_eq!(parse(short), Ok(d), "{short}");
        }
    }

    #[test]
    fn years() {
        assert_eq!(format_year(date!(2026 - 12 - 24)), "令和8年");
        assert_eq!(format_year(date!(2019 - 05 - 01)), "令和元年");
        assert_eq!(format_year(date!(2019 - 04 - 30)), "平成31年");
        assert_eq!(parse_year("令和8年"), Ok(2026));
        assert_eq!(parse_year("令和8年度"), Ok(2026));
        assert_eq!(parse_year("R8"), Ok(2026));
        assert_eq!(parse_year("令和元年"), Ok(2019));
        assert_eq!(parse_year("平成31年"), Ok(2019));
        assert_eq!(
            parse_year("平成32年"),
            Err(WarekiError::OutOfEra { era: Era::Heisei })
        );
        assert_eq!(parse_year("令和0年"), Err(WarekiError::InvalidDate));
        assert_eq!(parse_year("西暦2026年"), Err(WarekiError::UnknownEra));
    }

    #[test]
    fn before_meiji_falls_back_to_gregorian() {
        let d = date!(1850 - 01 - 02);
        assert_eq!(from_date(d), None);
        assert_eq!(Era::of(d), None);
        assert_eq!(format(d), "1850年1月2日");
        assert_eq!(format_year(d), "1850年");
        assert_eq!(format_short(d), "1850-01-02");
        assert_eq!(from_date(date!(1867 - 12 - 31)), None);
    }

    #[test]
    fn parses_variants() {
        let d = date!(2026 - 12 - 24);
        for s in [
            "令和8年12月24日",
            "令和8年12月24",
            "令和 8 年 12 月 24 日",
            "令和８年１２月２４日",
            "令和八年十二月二十四日",
            "R8.12.24",
            "r8.12.24",
            "Ｒ８．１２．２４",
            "R8/12/24",
            "R8-12-24",
            "令和8.12.24",
            "㋿8年12月24日",
        ] {
            assert_eq!(parse(s), Ok(d), "{s}");
        }
        assert_eq!(parse("令和元年5月1日"), Ok(date!(2019 - 05 - 01)));
        assert_eq!(parse("㍻31年4月30日"), Ok(date!(2019 - 04 - 30)));
        assert_eq!(parse("昭和64年1月7日"), Ok(date!(1989 - 01 - 07)));
    }

    #[test]
    fn rejects_out_of_era_and_nonsense() {
        assert_eq!(
            parse("平成32年1月1日"),
            Err(WarekiError::OutOfEra { era: Era::Heisei })
        );
        assert_eq!(
            parse("平成31年5月1日"),
            Err(WarekiError::OutOfEra { era: Era::Heisei })
        );
        assert_eq!(
            parse("令和元年4月30日"),
            Err(WarekiError::OutOfEra { era: Era::Reiwa })
        );
        assert_eq!(
            parse("昭和64年1月8日"),
            Err(WarekiError::OutOfEra { era: Era::Showa })
        );
        assert_eq!(parse("令和0年1月1日"), Err(WarekiError::InvalidDate));
        assert_eq!(parse("令和8年2月30日"), Err(WarekiError::InvalidDate));
        assert_eq!(parse("令和8年13月1日"), Err(WarekiError::InvalidDate));
        assert_eq!(parse(""), Err(WarekiError::Empty));
        assert_eq!(parse("2026年12月24日"), Err(WarekiError::UnknownEra));
        assert_eq!(parse("X8.12.24"), Err(WarekiError::UnknownEra));
        assert_eq!(parse("R8.12/24"), Err(WarekiError::Syntax));
        assert_eq!(parse("R8年12月"), Err(WarekiError::Syntax));
        assert_eq!(parse("R8.12.24.1"), Err(WarekiError::Syntax));
        assert_eq!(parse("令和8年12月24日日"), Err(WarekiError::Syntax));
        assert_eq!(parse("令和8年十二十月1日"), Err(WarekiError::Syntax));
        assert_eq!(parse("R99999.1.1"), Err(WarekiError::InvalidDate));
        assert_eq!(
            WarekiError::OutOfEra { era: Era::Heisei }.to_string(),
            "date outside the Heisei era"
        );
        assert!(
            WarekiError::OutOfEra { era: Era::Heisei }
                .message_ja()
                .contains("元号")
        );
    }

    #[test]
    fn eras() {
        assert_eq!(Era::Reiwa.name(), "令和");
        assert_eq!(Era::from_name("令和"), Some(Era::Reiwa));
        assert_eq!(Era::from_name("h"), Some(Era::Heisei));
        assert_eq!(Era::from_name("㍼"), Some(Era::Showa));
        assert_eq!(Era::from_name("西暦"), None);
        assert_eq!(Era::Heisei.last_day(), Some(date!(2019 - 04 - 30)));
        assert_eq!(Era::Reiwa.last_day(), None);
        assert_eq!(Era::of(date!(1870 - 01 - 01)), Some(Era::Meiji));
        assert_eq!(Era::Taisho.to_string(), "大正");
    }

    #[test]
    fn wareki_date_struct() {
        let w = from_date(date!(2026 - 12 - 24)).unwrap();
        assert_eq!(
            w,
            WarekiDate {
                era: Era::Reiwa,
                year: 8,
                month: 12,
                day: 24
            }
        );
        assert_eq!(w.to_string(), "令和8年12月24日");
        assert_eq!(w.to_date(), Ok(date!(2026 - 12 - 24)));
        let bad = WarekiDate {
            era: Era::Taisho,
            year: 16,
            month: 1,
            day: 1,
        };
        assert_eq!(
            bad.to_date(),
            Err(WarekiError::OutOfEra { era: Era::Taisho })
        );
    }

    proptest! {
        #[test]
        fn round_trips(days in 0i64..100_000) {
            let d = date!(1868 - 01 - 01) + time::Duration::days(days);
            prop_assert_eq!(parse(&format(d)), Ok(d));
            prop_assert_eq!(parse(&format_short(d)), Ok(d));
            let w = from_date(d).unwrap();
            prop_assert_eq!(w.to_date(), Ok(d));
            prop_assert!(w.year >= 1);
            prop_assert_eq!(parse_year(&format_year(d)), Ok(d.year()));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,16}") {
            let _ = parse(&s);
            let _ = parse_year(&s);
        }
    }
}
