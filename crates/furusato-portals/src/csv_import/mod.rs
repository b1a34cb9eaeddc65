//! Donation CSV import for portals other than 楽天 (ふるさとチョイス, レッドホース, さとふる,
//! ふるなび, … via user-made column mappings).
//!
//! Pure parsing, no database: bytes in, [`ImportedDonation`]s and [`RowError`]s (with
//! Japanese messages for the preview screen) out. Every data record ends up as exactly one
//! of the two, so nothing is lost between the file and the preview.
//!
//! * [`detect_and_decode`] / [`detect_encoding`]: CP932 (default of the portals), UTF-8
//!   with BOM, UTF-8; undecodable bytes are reported by line, never silently replaced.
//! * [`parse_file`] for files in memory, [`parse_stream`] / [`open_reader`] for large files
//!   (one record in memory at a time).
//! * [`Profile`]: built-in [`Profile::Choice`] and [`Profile::RedHorse`] layouts, or
//!   [`Profile::Generic`] with a [`ColumnMapping`] (saved as JSON, guessed by
//!   [`suggest_mapping`], checked by [`ColumnMapping::validate`]).
//!
//! ```
//! use furusato_portals::csv_import::{parse_file, Profile};
//!
//! let csv = "寄附者番号,申込日,氏名,寄附金額\n1001,2026-01-05,山田 太郎,\"10,000\"\n";
//! let outcome = parse_file(&Profile::Choice, csv.as_bytes()).unwrap();
//! let donation = outcome.rows[0].as_ref().unwrap();
//! assert_eq!(donation.amount, 10_000);
//! assert_eq!(donation.donor.given_name.as_deref(), Some("太郎"));
//! ```

mod encoding;
mod field;
mod mapping;
mod parse;
mod profile;
mod reader;
mod record;
mod values;

pub use encoding::{Decoded, SourceEncoding, UnknownEncoding, detect_and_decode, detect_encoding};
pub use field::{CanonicalField, UnknownField};
pub use mapping::{ColumnMapping, MappingProblem, suggest_mapping};
pub use parse::{ParseOutcome, ParseStats, ParseSummary, parse_file, parse_stream};
pub use profile::Profile;
pub use reader::{
    RawRow, RowReader, SNIFF_BYTES, SniffedSource, open_reader, open_reader_with_encoding,
    rows_from_bytes,
};
pub use record::{ImportedDonation, ImportedGift, ImportedPerson, RawRecord, RowError, RowProblem};
pub use values::{
    DatePattern, is_valid_postal_code, parse_amount, parse_date, parse_flag, parse_quantity,
    split_gift_label, split_name,
};

/// A problem with the file as a whole (as opposed to one row, see [`RowError`]).
///
/// `Display` is English (logs, CLI); [`ImportError::message_ja`] is for screens.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Reading failed.
    #[error("could not read the CSV file: {0}")]
    Io(#[from] std::io::Error),
    /// No bytes (or only a BOM / line breaks).
    #[error("the CSV file is empty")]
    Empty,
    /// Nothing but blank records at or after the header line.
    #[error("no header row found at or after line {header_row}")]
    NoHeader {
        /// Where the header was expected (1-based line).
        header_row: usize,
    },
    /// The header row itself cannot be decoded.
    #[error("the header row (line {line}) contains bytes that are not valid {encoding}")]
    UndecodableHeader {
        /// 1-based line of the header row.
        line: usize,
        /// Encoding used.
        encoding: SourceEncoding,
    },
    /// A built-in profile's required columns are absent.
    #[error("columns required by profile {profile} are missing: {}", missing.join(", "))]
    MissingColumns {
        /// Profile name.
        profile: String,
        /// Header names that were expected.
        missing: Vec<String>,
    },
    /// A generic mapping does not fit the file (see [`ColumnMapping::validate`]).
    #[error("column mapping {name:?} does not fit this file: {} problem(s)", problems.len())]
    InvalidMapping {
        /// Mapping name.
        name: String,
        /// What is wrong.
        problems: Vec<MappingProblem>,
    },
}

impl ImportError {
    /// Message for the import screen.
    pub fn message_ja(&self) -> String {
        match self {
            ImportError::Io(_) => "ファイルを読み込めませんでした".to_owned(),
            ImportError::Empty => "ファイルが空です".to_owned(),
            ImportError::NoHeader { header_row } => {
                format!("{header_row}行目以降に見出し行が見つかりません")
            }
            ImportError::UndecodableHeader { line, .. } => {
                format!("{line}行目（見出し行）: 文字コードを判別できない文字があります")
            }
            ImportError::MissingColumns { missing, .. } => {
                format!("必要な列がありません: {}", missing.join("、"))
            }
            ImportError::InvalidMapping { name, problems } => {
                let details: Vec<&str> = problems.iter().map(|p| p.message_ja.as_str()).collect();
                format!(
                    "取込設定「{name}」がこのファイルに合いません: {}",
                    details.join("、")
                )
            }
        }
    }
}
