//! Human-readable serde formats for dates ("2025-12-31") in JSON fixtures and exports.

time::serde::format_description!(pub(crate) iso_date, Date, "[year]-[month]-[day]");
