//! # furusato-refdata — public reference data
//!
//! Parsing and loading of the two public lists every ふるさと納税 back office needs:
//!
//! - **郵便番号** (Japan Post), for address autofill ([`postal`], [`lookup::autofill`]);
//! - **全国地方公共団体コード** (総務省), to know which municipality an address belongs to and so
//!   where its 申告特例通知 goes ([`localgov`], [`lookup::residence_city`]).
//!
//! ## Getting the official files
//!
//! The project does not ship these files; download the current ones and load them with the
//! import command (`furusato data import-postal <file>`, `furusato data import-localgov <file>`,
//! which call [`import_postal`] and [`import_localgov`]).
//!
//! - Postal codes: Japan Post, <https://www.post.japanpost.jp/zipcode/download.html> (now served
//!   at <https://www.post.japanpost.jp/service/search/zipcode/download.html>) —
//!   「住所の郵便番号（1レコード1行, UTF-8形式）」 `utf_ken_all.zip`, or
//!   「読み仮名データの促音・拗音を小書きで表記するもの」 `ken_all.zip` (Shift_JIS). Either the ZIP
//!   or the extracted CSV can be imported; both formats give identical records (124,511 in the
//!   May 2026 release). Japan Post claims no copyright on this data and allows free redistribution.
//!   Japan Post updates it monthly: re-import from time to time.
//! - Local-government codes: 総務省 「全国地方公共団体コード」,
//!   <https://www.soumu.go.jp/denshijiti/code.html> — the Excel file 「都道府県コード及び市区町村コード」
//!   (令和6年1月1日現在: `000925835.xlsx`), imported as is. A CSV with the columns of
//!   [`localgov::parse_csv`] is accepted too. The list is published under the 政府標準利用規約
//!   (第2.0版, compatible with CC BY 4.0); anything that shows or redistributes data derived from it
//!   must carry the credit line [`SOUMU_CREDIT`]:
//!
//!   「出典：総務省『都道府県コード及び市区町村コード』（令和6年1月1日現在）を加工して作成」
//!
//! ## What the import does
//! Each import reads the whole file, records its SHA-256 and name in `reference_imports`, parses
//! every row (errors name the line or sheet row) and replaces the table in one transaction, so a
//! bad file changes nothing. See [`postal`] for the normalisation of 町域 names and
//! [`localgov`] for how kinds and parents are derived.
//!
//! Tests read the original files from `../shared/data/` (beside the workspace) when present and
//! skip the full-file tests otherwise.

pub mod error;
pub mod import;
pub mod kana;
pub mod localgov;
pub mod lookup;
pub mod postal;

pub use error::{Location, RefDataError, RefDataResult, RowError};
pub use import::{
    ImportSummary, SourceFile, SourceFormat, import_localgov, import_postal, preview_localgov,
    preview_postal, read_source,
};
pub use localgov::{LocalGovFormat, LocalGovKind};
pub use lookup::{Autofill, autofill, residence_city};
pub use postal::{PostalFormat, PostalParse};

/// Credit line required by the 政府標準利用規約 for data derived from 総務省's list
/// (update the date when importing a newer edition).
pub const SOUMU_CREDIT: &str =
    "出典：総務省『都道府県コード及び市区町村コード』（令和6年1月1日現在）を加工して作成";
