//! Errors of the reference-data parsers and importers. Messages are English (they reach the CLI).

use std::fmt;
use std::path::PathBuf;

/// How many row errors a parser collects before it stops reading.
pub const MAX_ROW_ERRORS: usize = 50;

/// Where in a source file a problem was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// 1-based physical line of a CSV file.
    Line(u64),
    /// 1-based row of a worksheet, as Excel numbers it.
    SheetRow { sheet: String, row: u32 },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(line) => write!(f, "line {line}"),
            Location::SheetRow { sheet, row } => write!(f, "sheet '{sheet}' row {row}"),
        }
    }
}

/// One rejected row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub location: Location,
    pub message: String,
}

impl RowError {
    /// A problem on a 1-based CSV line.
    pub fn line(line: u64, message: impl Into<String>) -> Self {
        RowError {
            location: Location::Line(line),
            message: message.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Everything that can go wrong while reading, parsing or importing reference data.
#[derive(Debug, thiserror::Error)]
pub enum RefDataError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The bytes are neither of the supported formats.
    #[error("unsupported file: {0}")]
    UnsupportedFormat(String),
    /// A text file that is neither valid UTF-8 nor valid Shift_JIS.
    #[error("{location}: the file is neither UTF-8 nor Shift_JIS")]
    Encoding { location: Location },
    /// The file is readable but some rows are invalid; nothing was imported.
    #[error("{}", rows_message(errors, *truncated))]
    InvalidRows {
        errors: Vec<RowError>,
        /// True when the parser stopped after [`MAX_ROW_ERRORS`] errors.
        truncated: bool,
    },
    /// The workbook could not be opened or lacks the expected sheets.
    #[error("workbook: {0}")]
    Workbook(String),
    /// A ZIP archive could not be read or holds no suitable member.
    #[error("zip archive: {0}")]
    Archive(String),
    #[error(transparent)]
    Db(#[from] furusato_db::DbError),
}

fn rows_message(errors: &[RowError], truncated: bool) -> String {
    let shown: Vec<String> = errors.iter().take(10).map(ToString::to_string).collect();
    let more = if truncated {
        format!(" (stopped after {} errors)", errors.len())
    } else if errors.len() > shown.len() {
        format!(" (and {} more)", errors.len() - shown.len())
    } else {
        String::new()
    };
    format!(
        "{} invalid row(s): {}{more}",
        errors.len(),
        shown.join("; ")
    )
}

impl RefDataError {
    pub(crate) fn rows(errors: Vec<RowError>) -> Self {
        let truncated = errors.len() >= MAX_ROW_ERRORS;
        RefDataError::InvalidRows { errors, truncated }
    }
}

/// Result alias of this crate.
pub type RefDataResult<T> = Result<T, RefDataError>;
