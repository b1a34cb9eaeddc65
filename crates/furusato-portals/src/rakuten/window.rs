//! Search windows for `searchOrder`: RMS accepts at most 63 days per request and returns at
//! most 15,000 matches per window, so long ranges are cut into ≤ 63-day windows and dense
//! windows are halved.
//!
//! Windows are inclusive at both ends with one-second resolution (RMS datetimes have no
//! fractions): consecutive windows are `[a, b]`, `[b + 1 s, c]`, … so no second is searched
//! twice and none is skipped.

use time::{Duration, OffsetDateTime};

/// Longest window sent to RMS: `end − start ≤ 63 days − 1 s`, i.e. 63 full days of seconds
/// (conservative: RMS documents "≤ 63 days after start" without saying whether it is inclusive).
pub const MAX_WINDOW: Duration = Duration::seconds(63 * 86_400 - 1);

/// Only the first 15,000 matches of a search are reachable.
pub const MAX_REACHABLE_HITS: u64 = 15_000;

/// Which order date a search window filters on (`dateType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateType {
    /// 1 注文日 (orderDatetime) — the primary import axis.
    OrderDatetime,
    /// 2 注文確認日.
    ShopOrderConfirm,
    /// 3 注文確定日.
    OrderFix,
    /// 4 発送日.
    Shipping,
    /// 5 発送完了報告日.
    ShippingCompleteReport,
    /// 6 決済確定日.
    SettlementFix,
}

impl DateType {
    /// The RMS code.
    pub fn code(self) -> i32 {
        match self {
            DateType::OrderDatetime => 1,
            DateType::ShopOrderConfirm => 2,
            DateType::OrderFix => 3,
            DateType::Shipping => 4,
            DateType::ShippingCompleteReport => 5,
            DateType::SettlementFix => 6,
        }
    }

    /// From the RMS code.
    pub fn from_code(code: i32) -> Option<Self> {
        Some(match code {
            1 => DateType::OrderDatetime,
            2 => DateType::ShopOrderConfirm,
            3 => DateType::OrderFix,
            4 => DateType::Shipping,
            5 => DateType::ShippingCompleteReport,
            6 => DateType::SettlementFix,
            _ => return None,
        })
    }
}

/// A date range to search, inclusive at both ends (fractions of a second are dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchWindow {
    /// Date axis.
    pub date_type: DateType,
    /// First second included.
    pub start: OffsetDateTime,
    /// Last second included.
    pub end: OffsetDateTime,
}

impl SearchWindow {
    /// A window on 注文日 (dateType 1).
    pub fn by_order_datetime(start: OffsetDateTime, end: OffsetDateTime) -> Self {
        SearchWindow {
            date_type: DateType::OrderDatetime,
            start,
            end,
        }
    }
}

/// Every order status, 100 注文確認待ち … 900 キャンセル確定.
pub const ALL_ORDER_PROGRESS: [i32; 9] = [100, 200, 300, 400, 500, 600, 700, 800, 900];

/// Status filter for `orderProgressList`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProgressFilter {
    /// All nine statuses (sent explicitly, as in the reference example).
    #[default]
    All,
    /// Only these statuses.
    Only(Vec<i32>),
}

impl ProgressFilter {
    /// The list to send.
    pub fn to_list(&self) -> Vec<i32> {
        match self {
            ProgressFilter::All => ALL_ORDER_PROGRESS.to_vec(),
            ProgressFilter::Only(v) => v.clone(),
        }
    }
}

/// Drops the sub-second part.
pub fn truncate_to_second(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// Splits `[start, end]` (inclusive, whole seconds) into consecutive windows of at most
/// [`MAX_WINDOW`]. Returns an empty list when `start > end`.
pub fn split_windows(
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> Vec<(OffsetDateTime, OffsetDateTime)> {
    let start = truncate_to_second(start);
    let end = truncate_to_second(end);
    let mut out = Vec::new();
    let mut s = start;
    while s <= end {
        let e = std::cmp::min(end, s + MAX_WINDOW);
        out.push((s, e));
        s = e + Duration::SECOND;
    }
    out
}

/// Halves an inclusive window: `[s, mid]` and `[mid + 1 s, e]`. `None` for a one-second window
/// (`s == e`), which cannot be split further.
pub fn halve(
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> Option<(
    (OffsetDateTime, OffsetDateTime),
    (OffsetDateTime, OffsetDateTime),
)> {
    if end <= start {
        return None;
    }
    let span = (end - start).whole_seconds();
    let mid = start + Duration::seconds(span / 2);
    Some(((start, mid), (mid + Duration::SECOND, end)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn empty_when_start_after_end() {
        assert!(
            split_windows(
                datetime!(2025-12-02 00:00:00 +9),
                datetime!(2025-12-01 00:00:00 +9)
            )
            .is_empty()
        );
    }

    #[test]
    fn single_second() {
        let t = datetime!(2025-12-01 00:00:00 +9);
        assert_eq!(split_windows(t, t), vec![(t, t)]);
    }

    #[test]
    fn exactly_63_days_of_seconds_is_one_window() {
        let s = datetime!(2025-12-01 00:00:00 +9);
        let e = s + Duration::days(63) - Duration::SECOND;
        assert_eq!(split_windows(s, e), vec![(s, e)]);
    }

    #[test]
    fn one_second_more_needs_two_windows() {
        let s = datetime!(2025-12-01 00:00:00 +9);
        let e = s + Duration::days(63);
        let w = split_windows(s, e);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0], (s, s + MAX_WINDOW));
        assert_eq!(w[1], (e, e));
    }

    #[test]
    fn a_year_is_covered_without_gaps_or_overlaps() {
        let s = datetime!(2025-01-01 00:00:00 +9);
        let e = datetime!(2025-12-31 23:59:59 +9);
        let w = split_windows(s, e);
        assert_eq!(w.len(), 6); // 365 days / 63 = 5.8
        assert_eq!(w.first().unwrap().0, s);
        assert_eq!(w.last().unwrap().1, e);
        for pair in w.windows(2) {
            assert_eq!(pair[0].1 + Duration::SECOND, pair[1].0);
        }
        for (a, b) in &w {
            assert!(*b - *a <= MAX_WINDOW);
            assert!(a <= b);
        }
    }

    #[test]
    fn fractions_are_truncated() {
        let s = datetime!(2025-12-01 00:00:00.7 +9);
        let e = datetime!(2025-12-01 00:00:10.2 +9);
        assert_eq!(
            split_windows(s, e),
            vec![(
                datetime!(2025-12-01 00:00:00 +9),
                datetime!(2025-12-01 00:00:10 +9)
            )]
        );
    }

    #[test]
    fn halving() {
        let s = datetime!(2025-12-01 00:00:00 +9);
        assert_eq!(halve(s, s), None);
        let e = s + Duration::SECOND;
        assert_eq!(halve(s, e), Some(((s, s), (e, e))));
        let e = s + Duration::seconds(10);
        let ((a, b), (c, d)) = halve(s, e).unwrap();
        assert_eq!(
            (a, b, c, d),
            (s, s + Duration::seconds(5), s + Duration::seconds(6), e)
        );
    }

    #[test]
    fn date_type_codes_round_trip() {
        for c in 1..=6 {
            assert_eq!(DateType::from_code(c).unwrap().code(), c);
        }
        assert_eq!(DateType::from_code(7), None);
    }
}
