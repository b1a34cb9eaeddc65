//! Canonical records produced by the CSV import, and row-level errors.

use std::sync::Arc;

use serde::ser::SerializeSeq;
use serde::{Serialize, Serializer};
use time::Date;

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// A person as written in a portal CSV (donor, ship-to or document recipient).
///
/// Values are trimmed but otherwise raw: kana may be hiragana or katakana, the postal code
/// keeps its hyphen; normalisation happens later (furusato-domain).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ImportedPerson {
    /// Family name, or the whole name when the source name has no space.
    pub family_name: String,
    /// Given name, when the source separates it (column or space).
    pub given_name: Option<String>,
    /// Full name reading as written (may be hiragana).
    pub kana: Option<String>,
    /// Postal code as written (checked to hold 7 digits).
    pub postal_code: Option<String>,
    /// 都道府県.
    pub prefecture: Option<String>,
    /// 市区町村.
    pub city: Option<String>,
    /// 町名・番地 (or the whole street address when the source has one column).
    pub address1: Option<String>,
    /// 建物名・部屋番号.
    pub address2: Option<String>,
    /// Phone number as written.
    pub phone: Option<String>,
    /// E-mail address as written.
    pub email: Option<String>,
    /// Sex as written (男/女).
    pub sex: Option<String>,
    /// Date of birth.
    #[serde(with = "iso_date::option")]
    pub birth_date: Option<Date>,
}

/// One gift line of a donation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedGift {
    /// Portal gift code (返礼品コード / お礼品ID), when given.
    pub code: Option<String>,
    /// Gift name as written.
    pub name: String,
    /// Quantity (1 when the source has none).
    pub quantity: u32,
    /// Delivery address of this gift line when the source has one per gift
    /// (ふるさとチョイス 返礼品{n}_送り先_…); `None` means the donation's `ship_to` (or the donor).
    pub ship_to: Option<ImportedPerson>,
}

/// A donation read from a portal CSV, in canonical form. Pure data: no database ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedDonation {
    /// 1-based physical line where the record starts.
    pub line: usize,
    /// The portal's own id (寄附者番号 / 外部管理番号 / 寄附受付番号 …).
    pub external_id: String,
    /// 申込日. Always `Some` in rows produced by the parsers (a missing one is a row error).
    #[serde(with = "iso_date::option")]
    pub applied_on: Option<Date>,
    /// 入金日.
    #[serde(with = "iso_date::option")]
    pub paid_on: Option<Date>,
    /// Amount in yen (> 0).
    pub amount: i64,
    /// Payment method label as written (or as mapped by a value map).
    pub payment_method: Option<String>,
    /// Payment status label as written.
    pub payment_status_raw: Option<String>,
    /// The donor.
    pub donor: ImportedPerson,
    /// Where gifts go when not to the donor.
    pub ship_to: Option<ImportedPerson>,
    /// Where documents go when not to the donor (書類送付先).
    pub documents_to: Option<ImportedPerson>,
    /// Gift lines (empty when none or declined).
    pub gifts: Vec<ImportedGift>,
    /// The donor declined gifts (返礼品辞退).
    pub gift_declined: bool,
    /// Chosen use(s) of funds; several are joined with 「、」.
    pub use_of_funds: Option<String>,
    /// One-stop application wanted.
    pub onestop_wanted: Option<bool>,
    /// The donor asked to stay anonymous.
    pub anonymous: Option<bool>,
    /// The donor agrees to publication (公表).
    pub publication: Option<bool>,
    /// The support message may be published.
    pub message_publication: Option<bool>,
    /// Support message.
    pub message: Option<String>,
    /// Remarks (備考), line breaks kept as written.
    pub remarks: Option<String>,
    /// Every column of the source record, for the import record.
    pub raw: RawRecord,
}

/// All columns of one source record, as (header, value) pairs, sharing the header list
/// with the other rows of the file (one allocation per row, not one per cell).
///
/// Serialises as a JSON array of `[header, value]` pairs. Columns beyond the header row
/// (a trailing comma) get the header `""`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    headers: Arc<[String]>,
    text: String,
    ends: Vec<u32>,
}

impl RawRecord {
    pub(crate) fn new(headers: Arc<[String]>, text: String, ends: Vec<u32>) -> Self {
        RawRecord {
            headers,
            text,
            ends,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the record has no value.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The value at column `index`.
    pub fn value(&self, index: usize) -> Option<&str> {
        let end = *self.ends.get(index)? as usize;
        let start = if index == 0 {
            0
        } else {
            self.ends[index - 1] as usize
        };
        Some(&self.text[start..end])
    }

    /// The value of the first column named `header` (exact match).
    pub fn get(&self, header: &str) -> Option<&str> {
        let index = self.headers.iter().position(|h| h == header)?;
        self.value(index)
    }

    /// (header, value) pairs in column order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        (0..self.len()).map(move |i| {
            (
                self.headers.get(i).map_or("", String::as_str),
                self.value(i).unwrap_or_default(),
            )
        })
    }

    /// Owned (header, value) pairs.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        self.iter()
            .map(|(h, v)| (h.to_owned(), v.to_owned()))
            .collect()
    }
}

impl Serialize for RawRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for pair in self.iter() {
            seq.serialize_element(&pair)?;
        }
        seq.end()
    }
}

/// One problem found in a row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    /// Source header of the offending column, when one column is to blame.
    pub column: Option<String>,
    /// Message for the preview screen, e.g. 「申込日の日付が正しくありません: 2026/13/01」.
    pub message_ja: String,
}

/// A rejected row: every input record ends up either as an
/// [`ImportedDonation`] or as a `RowError`, never dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based physical line where the record starts.
    pub line: usize,
    /// Header of the first offending column, if any.
    pub column: Option<String>,
    /// All problems of the row joined with 「、」.
    pub message_ja: String,
    /// The problems one by one (at least one).
    pub problems: Vec<RowProblem>,
    /// The record as read (undecodable cells contain U+FFFD here).
    pub raw: RawRecord,
}

impl RowError {
    pub(crate) fn new(line: usize, problems: Vec<RowProblem>, raw: RawRecord) -> Self {
        debug_assert!(!problems.is_empty());
        let message_ja = problems
            .iter()
            .map(|p| p.message_ja.as_str())
            .collect::<Vec<_>>()
            .join("、");
        RowError {
            line,
            column: problems.first().and_then(|p| p.column.clone()),
            message_ja,
            problems,
            raw,
        }
    }

    /// 「12行目: 寄附番号がありません」.
    pub fn display_ja(&self) -> String {
        format!("{}行目: {}", self.line, self.message_ja)
    }
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display_ja())
    }
}

impl std::error::Error for RowError {}
