//! Date and time formats used by the RMS API.
//!
//! * Request datetimes (`startDatetime`, `endDatetime`) must be `YYYY-MM-DDThh:mm:ss+0900`
//!   (no colon in the offset); any other shape is rejected by RMS with `…_ERROR_011`.
//! * Response datetimes are documented as `+09:00` but arrive as `+0900`: [`parse_rms_datetime`]
//!   accepts both.
//! * The license-key expiry date is a JST wall-clock time without an offset
//!   (`2026-11-28T23:59:59`).
//! * Date-only fields (`deliveryDate`, `cancelDueDate`, `shippingDate`, `dueDate`) are `YYYY-MM-DD`.

use time::format_description::FormatItem;
use time::macros::{format_description, offset};
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Japan Standard Time (UTC+09:00), the only offset RMS uses.
pub const JST: UtcOffset = offset!(+9);

const RMS_NO_COLON: &[FormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory][offset_minute]"
);
const RMS_COLON: &[FormatItem<'static>] = format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
);
const LOCAL: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
const DATE: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// A datetime string that RMS (or a fixture) sent and that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RMS datetime {value:?}: expected {expected}")]
pub struct DatetimeError {
    /// The offending text (datetimes carry no personal data).
    pub value: String,
    /// The expected shape, for the message.
    pub expected: &'static str,
}

/// Formats `dt` in JST as `YYYY-MM-DDThh:mm:ss+0900`, the only shape `searchOrder` accepts.
/// Sub-second precision is dropped (truncated).
pub fn format_rms_datetime(dt: OffsetDateTime) -> String {
    let jst = dt.to_offset(JST);
    let jst = jst.replace_nanosecond(0).unwrap_or(jst);
    jst.format(RMS_NO_COLON)
        .expect("formatting a valid OffsetDateTime with a static description cannot fail")
}

/// Parses an RMS response datetime, accepting both `+0900` and `+09:00` offsets.
pub fn parse_rms_datetime(s: &str) -> Result<OffsetDateTime, DatetimeError> {
    let t = s.trim();
    OffsetDateTime::parse(t, RMS_NO_COLON)
        .or_else(|_| OffsetDateTime::parse(t, RMS_COLON))
        .map_err(|_| DatetimeError {
            value: s.to_owned(),
            expected: "YYYY-MM-DDThh:mm:ss+0900 or +09:00",
        })
}

/// True when `s` has exactly the request shape `YYYY-MM-DDThh:mm:ss±hhmm` (no colon in the offset).
pub fn is_request_datetime_shape(s: &str) -> bool {
    s.len() == 24 && OffsetDateTime::parse(s, RMS_NO_COLON).is_ok()
}

/// Parses the license-key expiry (`2026-11-28T23:59:59`, JST wall-clock, no offset).
pub fn parse_expiry_datetime(s: &str) -> Result<PrimitiveDateTime, DatetimeError> {
    PrimitiveDateTime::parse(s.trim(), LOCAL).map_err(|_| DatetimeError {
        value: s.to_owned(),
        expected: "YYYY-MM-DDThh:mm:ss (JST, no offset)",
    })
}

/// Formats a JST wall-clock time as the expiry endpoint does (`2026-11-28T23:59:59`).
pub fn format_expiry_datetime(dt: PrimitiveDateTime) -> String {
    dt.format(LOCAL)
        .expect("formatting a PrimitiveDateTime with a static description cannot fail")
}

/// Parses a `YYYY-MM-DD` date field.
pub fn parse_rms_date(s: &str) -> Result<Date, DatetimeError> {
    Date::parse(s.trim(), DATE).map_err(|_| DatetimeError {
        value: s.to_owned(),
        expected: "YYYY-MM-DD",
    })
}

/// Formats a date as `YYYY-MM-DD`.
pub fn format_rms_date(d: Date) -> String {
    d.format(DATE)
        .expect("formatting a Date with a static description cannot fail")
}

/// Current time in JST.
pub fn now_jst() -> OffsetDateTime {
    OffsetDateTime::now_utc().to_offset(JST)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn formats_with_plus_0900_and_no_colon() {
        let utc = datetime!(2025-12-01 12:03:43.999 UTC);
        assert_eq!(format_rms_datetime(utc), "2025-12-01T21:03:43+0900");
    }

    #[test]
    fn parses_both_offset_shapes() {
        let a = parse_rms_datetime("2017-09-25T20:03:43+0900").unwrap();
        let b = parse_rms_datetime("2017-09-25T20:03:43+09:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, datetime!(2017-09-25 20:03:43 +9));
        assert_eq!(a.offset(), JST);
    }

    #[test]
    fn rejects_other_shapes() {
        for bad in [
            "2017-09-25 20:03:43+0900",
            "2017/09/25T20:03:43+0900",
            "2017-09-25T20:03:43",
            "2017-09-25",
            "",
        ] {
            assert!(parse_rms_datetime(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn request_shape_check_is_strict() {
        assert!(is_request_datetime_shape("2025-12-01T00:00:00+0900"));
        assert!(!is_request_datetime_shape("2025-12-01T00:00:00+09:00"));
        assert!(!is_request_datetime_shape("2025-12-01T00:00:00Z"));
        assert!(!is_request_datetime_shape("2025-12-01T00:00:00"));
    }

    #[test]
    fn expiry_round_trip() {
        let p = parse_expiry_datetime("2026-11-28T23:59:59").unwrap();
        assert_eq!(p, datetime!(2026-11-28 23:59:59));
        assert_eq!(format_expiry_datetime(p), "2026-11-28T23:59:59");
        assert!(parse_expiry_datetime("2026-11-28T23:59:59+0900").is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(parse_rms_date("2025-12-31").unwrap(), date!(2025 - 12 - 31));
        assert_eq!(format_rms_date(date!(2025 - 01 - 02)), "2025-01-02");
        assert!(parse_rms_date("2025/12/31").is_err());
    }
}
