//! Japan Standard Time, fiscal years (年度) and date formatting.
//!
//! Timestamps are stored in UTC and shown in JST; dates that are legal facts
//! (受領日, 寄附日) are JST calendar dates.

use time::macros::offset;
use time::{Date, Month, OffsetDateTime, Time, UtcOffset};

use crate::text::fold_width;
use crate::wareki::{self, WarekiError};

/// Japan Standard Time, UTC+09:00 (no daylight saving).
pub const JST: UtcOffset = offset!(+9);

/// The current instant, expressed in JST.
pub fn now_jst() -> OffsetDateTime {
    OffsetDateTime::now_utc().to_offset(JST)
}

/// Today's date in Japan.
pub fn today_jst() -> Date {
    now_jst().date()
}

/// The same instant, expressed in JST.
pub fn to_jst(dt: OffsetDateTime) -> OffsetDateTime {
    dt.to_offset(JST)
}

/// The first instant (00:00 JST) of a Japanese calendar date; useful for range queries.
pub fn start_of_day(date: Date) -> OffsetDateTime {
    date.with_time(Time::MIDNIGHT).assume_offset(JST)
}

/// The fiscal year (年度, April–March) a date belongs to: 2026-04-01 and 2027-03-31 → 2026.
pub fn fiscal_year(date: Date) -> i32 {
    if date.month() >= Month::April {
        date.year()
    } else {
        date.year() - 1
    }
}

/// The fiscal year of an instant, taken on its JST date.
pub fn fiscal_year_of(dt: OffsetDateTime) -> i32 {
    fiscal_year(to_jst(dt).date())
}

/// First and last day (both inclusive) of fiscal year `fy`: April 1 of `fy` to March 31 of `fy + 1`.
///
/// # Panics
/// If the range falls outside the dates supported by `time` (years −9999..=9999).
pub fn fiscal_year_range(fy: i32) -> (Date, Date) {
    let first = Date::from_calendar_date(fy, Month::April, 1)
        .expect("fiscal year within the supported range");
    let last = Date::from_calendar_date(fy + 1, Month::March, 31)
        .expect("fiscal year within the supported range");
    (first, last)
}

/// "2026年12月24日 13:05" in JST: month and day without padding, time as zero-padded HH:MM.
pub fn format_datetime_ja(dt: OffsetDateTime) -> String {
    let j = to_jst(dt);
    format!(
        "{} {:02}:{:02}",
        format_date_ja(j.date()),
        j.hour(),
        j.minute()
    )
}

/// "2026年12月24日" (Gregorian, no padding).
pub fn format_date_ja(date: Date) -> String {
    format!(
        "{}年{}月{}日",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// "2026-12-24".
pub fn format_date_iso(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Why a text could not be read as a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// Nothing but spaces.
    #[error("empty date")]
    Empty,
    /// Not one of the accepted layouts.
    #[error("unrecognised date format")]
    Syntax,
    /// Right layout, but no such day (e.g. 2026-02-30).
    #[error("no such date")]
    InvalidDate,
    /// A 和暦 date that could not be read.
    #[error(transparent)]
    Wareki(#[from] WarekiError),
}

impl DateError {
    /// A short Japanese message for screens.
    pub fn message_ja(&self) -> &'static str {
        match self {
            Self::Empty => "日付を入力してください。",
            Self::Syntax => "日付の形式が正しくありません（例: 2026-12-24）。",
            Self::InvalidDate => "存在しない日付です。",
            Self::Wareki(e) => e.message_ja(),
        }
    }
}

/// Reads a date as found in forms and CSV files: "2026-12-24", "2026/1/5", "2026.1.5",
/// "20261224", "2026年12月24日", full-width digits, or a 和暦 date ("令和8年12月24日",
/// "R8.12.24"; see [`wareki::parse`]). The year must have four digits.
pub fn parse_date(input: &str) -> Result<Date, DateError> {
    let s: String = input
        .chars()
        .map(fold_width)
        .filter(|c| !c.is_whitespace())
        .collect();
    if s.is_empty() {
        return Err(DateError::Empty);
    }
    if !s.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok(wareki::parse(&s)?);
    }
    let (y, m, d) = split_gregorian(&s).ok_or(DateError::Syntax)?;
    let month = Month::try_from(m).map_err(|_| DateError::InvalidDate)?;
    Date::from_calendar_date(y, month, d).map_err(|_| DateError::InvalidDate)
}

/// Splits "YYYY?M?D" into numbers, checking the separators are one of the accepted layouts.
fn split_gregorian(s: &str) -> Option<(i32, u8, u8)> {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return Some((
            s[..4].parse().ok()?,
            s[4..6].parse().ok()?,
            s[6..].parse().ok()?,
        ));
    }
    let mut numbers: Vec<&str> = Vec::with_capacity(3);
    let mut separators: Vec<char> = Vec::with_capacity(3);
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if !c.is_ascii_digit() {
            if start == i {
                return None;
            }
            numbers.push(&s[start..i]);
            separators.push(c);
            start = i + c.len_utf8();
        }
    }
    if start < s.len() {
        numbers.push(&s[start..]);
    }
    let layout_ok = match separators.as_slice() {
        ['年', '月'] | ['年', '月', '日'] => true,
        [a, b] => a == b && matches!(a, '-' | '/' | '.'),
        _ => false,
    };
    if !layout_ok
        || numbers.len() != 3
        || numbers[0].len() != 4
        || numbers[1].len() > 2
        || numbers[2].len() > 2
    {
        return None;
    }
    Some((
        numbers[0].parse().ok()?,
        numbers[1].parse().ok()?,
        numbers[2].parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::{date, datetime};

    #[test]
    fn jst_is_plus_nine() {
        assert_eq!(JST.whole_hours(), 9);
        assert_eq!(now_jst().offset(), JST);
        let utc = datetime!(2026-12-31 15:30 UTC);
        let j = to_jst(utc);
        assert_eq!(j.date(), date!(2027 - 01 - 01));
        assert_eq!(j.hour(), 0);
        assert_eq!(j, utc);
    }

    #[test]
    fn fiscal_years() {
        assert_eq!(fiscal_year(date!(2026 - 04 - 01)), 2026);
        assert_eq!(fiscal_year(date!(2027 - 03 - 31)), 2026);
        assert_eq!(fiscal_year(date!(2026 - 03 - 31)), 2025);
        assert_eq!(fiscal_year(date!(2026 - 12 - 31)), 2026);
        assert_eq!(fiscal_year(date!(2027 - 01 - 01)), 2026);
        assert_eq!(
            fiscal_year_range(2026),
            (date!(2026 - 04 - 01), date!(2027 - 03 - 31))
        );
        // 2027-03-31 23:30 JST is still fiscal 2026 although it is 14:30 UTC.
        assert_eq!(fiscal_year_of(datetime!(2027-03-31 14:30 UTC)), 2026);
        assert_eq!(fiscal_year_of(datetime!(2027-03-31 15:00 UTC)), 2027);
    }

    #[test]
    fn start_of_day_is_midnight_jst() {
        let s = start_of_day(date!(2026 - 12 - 24));
        assert_eq!(s, datetime!(2026-12-23 15:00 UTC));
    }

    #[test]
    fn formatting() {
        assert_eq!(
            format_datetime_ja(datetime!(2026-12-24 04:05 UTC)),
            "2026年12月24日 13:05"
        );
        assert_eq!(
            format_datetime_ja(datetime!(2026-01-05 00:00 UTC)),
            "2026年1月5日 09:00"
        );
        assert_eq!(
            format_datetime_ja(datetime!(2026-01-05 09:07 +9)),
            "2026年1月5日 09:07"
        );
        assert_eq!(format_date_ja(date!(2026 - 12 - 24)), "2026年12月24日");
        assert_eq!(format_date_iso(date!(2026 - 01 - 05)), "2026-01-05");
    }

    #[test]
    fn parses_dates() {
        let d = date!(2026 - 12 - 24);
        for s in [
            "2026-12-24",
            "2026/12/24",
            "2026.12.24",
            "20261224",
            "2026年12月24日",
            "2026年12月24",
            "２０２６年１２月２４日",
            " 2026 / 12 / 24 ",
            "令和8年12月24日",
            "R8.12.24",
        ] {
            assert_eq!(parse_date(s), Ok(d), "{s}");
        }
        assert_eq!(parse_date("2026/1/5"), Ok(date!(2026 - 01 - 05)));
    }

    #[test]
    fn rejects_bad_dates() {
        assert_eq!(parse_date(""), Err(DateError::Empty));
        assert_eq!(parse_date("2026-02-30"), Err(DateError::InvalidDate));
        assert_eq!(parse_date("2026-13-01"), Err(DateError::InvalidDate));
        assert_eq!(parse_date("26-12-24"), Err(DateError::Syntax));
        assert_eq!(parse_date("2026-12/24"), Err(DateError::Syntax));
        assert_eq!(parse_date("2026-12-24-1"), Err(DateError::Syntax));
        assert_eq!(parse_date("2026--12"), Err(DateError::Syntax));
        assert_eq!(parse_date("2026-123-1"), Err(DateError::Syntax));
        assert!(matches!(
            parse_date("平成32年1月1日"),
            Err(DateError::Wareki(_))
        ));
        assert!(!DateError::Syntax.message_ja().is_empty());
    }

    proptest! {
        #[test]
        fn iso_and_ja_round_trip(days in 0i32..80_000) {
            let d = date!(1900 - 01 - 01) + time::Duration::days(i64::from(days));
            prop_assert_eq!(parse_date(&format_date_iso(d)), Ok(d));
            prop_assert_eq!(parse_date(&format_date_ja(d)), Ok(d));
        }

        #[test]
        fn fiscal_year_contains_the_date(days in 0i32..80_000) {
            let d = date!(1900 - 01 - 01) + time::Duration::days(i64::from(days));
            let (first, last) = fiscal_year_range(fiscal_year(d));
            prop_assert!(first <= d && d <= last);
        }

        #[test]
        fn jst_date_is_nine_hours_ahead(secs in 0i64..4_000_000_000) {
            let utc = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let shifted = utc + time::Duration::hours(9);
            prop_assert_eq!(to_jst(utc).date(), shifted.date());
            prop_assert_eq!(to_jst(utc).time(), shifted.time());
        }
    }
}
