//! Reading reference files from disk and loading them into the database.
//!
//! Each import reads the whole file, hashes it (SHA-256 of the file as given, e.g. the ZIP),
//! parses it completely and only then replaces the table in one transaction
//! (`furusato_db::reference::replace_*`): a file that fails to parse changes nothing.

use std::fmt;
use std::io::{Cursor, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use furusato_db::Db;
use furusato_db::reference::{replace_local_gov, replace_postal};
use sha2::{Digest, Sha256};

use crate::error::{RefDataError, RefDataResult, RowError};
use crate::localgov::{self, LocalGovFormat};
use crate::postal::{self, PostalFormat};

/// Largest member accepted from a ZIP archive (the postal CSV is about 18 MB).
const MAX_ARCHIVE_MEMBER: u64 = 256 * 1024 * 1024;

/// A reference file read into memory.
#[derive(Clone)]
pub struct SourceFile {
    /// The file name, with `!member` when the data came out of a ZIP archive
    /// (`utf_ken_all.zip!utf_ken_all.csv`); recorded in `reference_imports.source_name`.
    pub name: String,
    /// The data itself (the archive member for a ZIP).
    pub bytes: Vec<u8>,
    /// Lower-case hex SHA-256 of the file as given (the archive for a ZIP).
    pub sha256: String,
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile")
            .field("name", &self.name)
            .field("bytes", &self.bytes.len())
            .field("sha256", &self.sha256)
            .finish()
    }
}

/// Which parser read a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "format")]
pub enum SourceFormat {
    Postal(PostalFormat),
    LocalGov(LocalGovFormat),
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceFormat::Postal(p) => p.fmt(f),
            SourceFormat::LocalGov(l) => l.fmt(f),
        }
    }
}

/// What an import (or a dry run) did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ImportSummary {
    pub source_name: String,
    pub format: SourceFormat,
    /// Records parsed (and, unless `dry_run`, written).
    pub rows: u64,
    pub sha256: String,
    /// Wall time of reading, parsing and (unless `dry_run`) writing.
    pub elapsed: Duration,
    /// True when nothing was written ([`preview_postal`], [`preview_localgov`]).
    pub dry_run: bool,
    /// Oddities that did not stop the import.
    #[serde(skip)]
    pub warnings: Vec<RowError>,
}

/// Reads a file and hashes it. A `.zip` archive (as Japan Post distributes `utf_ken_all.zip`
/// and `ken_all.zip`) is opened and its only `.csv` (or `.xlsx`) member returned.
pub fn read_source(path: &Path) -> RefDataResult<SourceFile> {
    let bytes = std::fs::read(path).map_err(|source| RefDataError::Io {
        path: path.to_owned(),
        source,
    })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let is_zip_name = name.to_ascii_lowercase().ends_with(".zip");
    if is_zip_name {
        let (member, bytes) = unzip_single(&bytes)?;
        return Ok(SourceFile {
            name: format!("{name}!{member}"),
            bytes,
            sha256,
        });
    }
    Ok(SourceFile {
        name,
        bytes,
        sha256,
    })
}

/// The only `.csv`/`.xlsx` member of a ZIP archive.
fn unzip_single(bytes: &[u8]) -> RefDataResult<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| RefDataError::Archive(e.to_string()))?;
    let mut found: Option<(String, Vec<u8>)> = None;
    for i in 0..archive.len() {
        let mut member = archive
            .by_index(i)
            .map_err(|e| RefDataError::Archive(e.to_string()))?;
        let member_name = member
            .name()
            .map_err(|e| RefDataError::Archive(e.to_string()))?
            .into_owned();
        let lower = member_name.to_ascii_lowercase();
        if !member.is_file() || !(lower.ends_with(".csv") || lower.ends_with(".xlsx")) {
            continue;
        }
        if let Some((first, _)) = &found {
            return Err(RefDataError::Archive(format!(
                "more than one data file ({first}, {member_name}); extract the one to import"
            )));
        }
        if member.size() > MAX_ARCHIVE_MEMBER {
            return Err(RefDataError::Archive(format!(
                "{member_name} is larger than {MAX_ARCHIVE_MEMBER} bytes"
            )));
        }
        let mut data = Vec::with_capacity(member.size() as usize);
        member
            .by_ref()
            .take(MAX_ARCHIVE_MEMBER + 1)
            .read_to_end(&mut data)
            .map_err(|e| RefDataError::Archive(format!("{member_name}: {e}")))?;
        found = Some((member_name, data));
    }
    found.ok_or_else(|| RefDataError::Archive("no .csv or .xlsx file in the archive".into()))
}

/// Parses a Japan Post postal file (`utf_ken_all.csv`, `KEN_ALL.CSV` or their ZIPs) without
/// writing anything: a dry run for the CLI.
pub fn preview_postal(path: &Path) -> RefDataResult<ImportSummary> {
    let started = Instant::now();
    let source = read_source(path)?;
    let parsed = postal::parse(&source.bytes)?;
    Ok(ImportSummary {
        source_name: source.name,
        format: SourceFormat::Postal(parsed.format),
        rows: parsed.records.len() as u64,
        sha256: source.sha256,
        elapsed: started.elapsed(),
        dry_run: true,
        warnings: parsed.warnings,
    })
}

/// Replaces the postal-code table with the contents of a Japan Post file (`utf_ken_all.csv`,
/// `KEN_ALL.CSV`, or `utf_ken_all.zip`/`ken_all.zip`) in one transaction.
///
/// The file is read and parsed synchronously (about a second for the full file); call it from
/// a command or a background job, not from a request handler.
pub async fn import_postal(db: &Db, path: &Path) -> RefDataResult<ImportSummary> {
    let started = Instant::now();
    let source = read_source(path)?;
    let parsed = postal::parse(&source.bytes)?;
    let format = SourceFormat::Postal(parsed.format);
    let rows = replace_postal(db, parsed.records, &source.name, &source.sha256).await?;
    tracing::info!(source = %source.name, rows, "postal codes imported");
    Ok(ImportSummary {
        source_name: source.name,
        format,
        rows,
        sha256: source.sha256,
        elapsed: started.elapsed(),
        dry_run: false,
        warnings: parsed.warnings,
    })
}

/// Parses a local-government list (総務省 xlsx or `local_gov_codes.csv`) without writing anything.
pub fn preview_localgov(path: &Path) -> RefDataResult<ImportSummary> {
    let started = Instant::now();
    let source = read_source(path)?;
    let (rows, format) = localgov::parse(&source.bytes)?;
    Ok(ImportSummary {
        source_name: source.name,
        format: SourceFormat::LocalGov(format),
        rows: rows.len() as u64,
        sha256: source.sha256,
        elapsed: started.elapsed(),
        dry_run: true,
        warnings: Vec::new(),
    })
}

/// Replaces the local-government table with the contents of 総務省's workbook (`.xlsx`, detected
/// by its ZIP signature) or of the normalised CSV, in one transaction.
pub async fn import_localgov(db: &Db, path: &Path) -> RefDataResult<ImportSummary> {
    let started = Instant::now();
    let source = read_source(path)?;
    let (rows, format) = localgov::parse(&source.bytes)?;
    let written = replace_local_gov(db, &rows, &source.name, &source.sha256).await?;
    tracing::info!(source = %source.name, rows = written, "local government codes imported");
    Ok(ImportSummary {
        source_name: source.name,
        format: SourceFormat::LocalGov(format),
        rows: written,
        sha256: source.sha256,
        elapsed: started.elapsed(),
        dry_run: false,
        warnings: Vec::new(),
    })
}
