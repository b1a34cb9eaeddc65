//! The parsing engine: header row, profile layout, and one canonical record (or one row
//! error) per input record.

use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::sync::Arc;

use serde::Serialize;
use time::Date;

use super::ImportError;
use super::encoding::{SourceEncoding, UNDECODABLE_JA, detect_encoding};
use super::field::CanonicalField;
use super::profile::{Col, Layout, PersonCols, Profile};
use super::reader::{RawRow, RowReader, open_reader_with_encoding, rows_from_bytes};
use super::record::{
    ImportedDonation, ImportedGift, ImportedPerson, RawRecord, RowError, RowProblem,
};
use super::values::{
    clean_cell, is_valid_postal_code, parse_amount, parse_date, parse_flag, parse_quantity,
    split_gift_label, split_name,
};

/// Counters of one parse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ParseStats {
    /// 1-based physical line of the header row.
    pub header_line: usize,
    /// Records after the header row that hold data (= ok + errors).
    pub records: usize,
    /// Records turned into donations.
    pub ok: usize,
    /// Records rejected with a [`RowError`].
    pub errors: usize,
    /// Rejected because of undecodable bytes.
    pub undecodable: usize,
    /// Rejected (possibly among other reasons) as a duplicate external id within the file.
    pub duplicates: usize,
    /// Records with only empty cells (e.g. `,,,,`), skipped.
    pub blank_records: usize,
    /// Records before the header row (titles, notes), skipped.
    pub skipped_before_header: usize,
}

/// Result of [`parse_file`].
#[derive(Debug, Clone, Serialize)]
pub struct ParseOutcome {
    /// Encoding used.
    pub encoding: SourceEncoding,
    /// Header names as read (trimmed; trailing empty headers dropped).
    pub headers: Vec<String>,
    /// One entry per data record, in file order.
    pub rows: Vec<Result<ImportedDonation, RowError>>,
    /// Counters.
    pub stats: ParseStats,
}

/// Result of [`parse_stream`] (the rows went to the callback).
#[derive(Debug, Clone, Serialize)]
pub struct ParseSummary {
    /// Encoding used (UTF-8 for a pure-ASCII file).
    pub encoding: SourceEncoding,
    /// Header names as read.
    pub headers: Vec<String>,
    /// Counters.
    pub stats: ParseStats,
}

/// Parses a whole file held in memory.
///
/// The encoding is detected on the whole content (or forced by a generic profile). File-level
/// problems (empty file, no header, missing required columns, unusable mapping) are `Err`;
/// everything about a single record is a [`RowError`] in `rows`.
pub fn parse_file(profile: &Profile, bytes: &[u8]) -> Result<ParseOutcome, ImportError> {
    let encoding = profile
        .forced_encoding()
        .unwrap_or_else(|| detect_encoding(bytes));
    let mut rows = Vec::new();
    let summary = run(profile, rows_from_bytes(bytes, encoding), |row| {
        rows.push(row)
    })?;
    Ok(ParseOutcome {
        encoding,
        headers: summary.headers,
        rows,
        stats: summary.stats,
    })
}

/// Parses a CSV stream record by record, handing each result to `on_row`; memory use does
/// not grow with the number of rows (except for the set of external ids seen, kept to
/// detect duplicates).
///
/// The encoding is sniffed from the first 64 KiB (see [`open_reader`](super::open_reader)).
/// An I/O error stops the parse with `Err` after the rows already delivered.
pub fn parse_stream<R: Read>(
    profile: &Profile,
    reader: R,
    on_row: impl FnMut(Result<ImportedDonation, RowError>),
) -> Result<ParseSummary, ImportError> {
    let rows = open_reader_with_encoding(reader, profile.forced_encoding())?;
    run(profile, rows, on_row)
}

fn run<B: BufRead>(
    profile: &Profile,
    mut rows: RowReader<B>,
    mut on_row: impl FnMut(Result<ImportedDonation, RowError>),
) -> Result<ParseSummary, ImportError> {
    let header_row = profile.header_row();
    let mut stats = ParseStats::default();
    let mut saw_any = false;
    let header = loop {
        match rows.read_row()? {
            None if !saw_any => return Err(ImportError::Empty),
            None => return Err(ImportError::NoHeader { header_row }),
            Some(row) => {
                saw_any = true;
                if row.line < header_row || row.is_blank() {
                    stats.skipped_before_header += 1;
                } else {
                    break row;
                }
            }
        }
    };
    if !header.undecodable_fields().is_empty() {
        return Err(ImportError::UndecodableHeader {
            line: header.line,
            encoding: rows.encoding().unwrap_or(SourceEncoding::Utf8),
        });
    }
    stats.header_line = header.line;
    let mut headers: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{FEFF}').to_owned())
        .collect();
    while headers.last().is_some_and(String::is_empty) {
        headers.pop();
    }
    let headers: Arc<[String]> = headers.into();
    let layout = profile.layout(headers.clone())?;
    let mut seen: HashMap<Box<str>, usize> = HashMap::new();
    while let Some(row) = rows.read_row()? {
        if row.is_blank() {
            stats.blank_records += 1;
            continue;
        }
        stats.records += 1;
        let result = build_row(&layout, row, &mut seen, &mut stats);
        match &result {
            Ok(_) => stats.ok += 1,
            Err(_) => stats.errors += 1,
        }
        on_row(result);
    }
    Ok(ParseSummary {
        encoding: rows.encoding().unwrap_or(SourceEncoding::Utf8),
        headers: headers.to_vec(),
        stats,
    })
}

/// Turns one record into a donation or a row error.
// The Ok variant (ImportedDonation) is larger than RowError, so boxing the error would not
// make the Result smaller; both are moved once, into the caller's callback.
#[allow(clippy::result_large_err)]
fn build_row(
    layout: &Layout,
    row: RawRow,
    seen: &mut HashMap<Box<str>, usize>,
    stats: &mut ParseStats,
) -> Result<ImportedDonation, RowError> {
    let line = row.line;
    let mut ctx = RowCtx {
        layout,
        row: &row,
        problems: Vec::new(),
    };
    let built = if !row.undecodable_fields().is_empty() {
        stats.undecodable += 1;
        for &i in row.undecodable_fields() {
            ctx.problems.push(RowProblem {
                column: Some(ctx.header_name(i)),
                message_ja: UNDECODABLE_JA.to_owned(),
            });
        }
        None
    } else if ctx.check_column_count() {
        let donation = ctx.donation(line, seen, stats);
        ctx.problems.is_empty().then_some(donation)
    } else {
        None
    };
    let problems = ctx.problems;
    let (text, ends) = row.into_parts();
    let raw = RawRecord::new(layout.headers.clone(), text, ends);
    match built {
        Some(mut donation) => {
            donation.raw = raw;
            Ok(donation)
        }
        None => Err(RowError::new(line, problems, raw)),
    }
}

/// Which person is being read, for messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    Donor,
    ShipTo,
    Documents,
}

impl Who {
    fn label(self) -> &'static str {
        match self {
            Who::Donor => "寄附者",
            Who::ShipTo => "お届け先",
            Who::Documents => "書類送付先",
        }
    }

    /// Prefix of field messages: none for the donor, 「お届け先の」 otherwise.
    fn prefix(self) -> &'static str {
        match self {
            Who::Donor => "",
            Who::ShipTo => "お届け先の",
            Who::Documents => "書類送付先の",
        }
    }
}

struct RowCtx<'a> {
    layout: &'a Layout,
    row: &'a RawRow,
    problems: Vec<RowProblem>,
}

impl<'a> RowCtx<'a> {
    fn header_name(&self, idx: usize) -> String {
        self.layout
            .headers
            .get(idx)
            .cloned()
            .unwrap_or_else(|| format!("{}列目", idx + 1))
    }

    fn problem(&mut self, col: Option<Col>, message_ja: String) {
        let column = col.map(|c| self.header_name(c.idx));
        self.problems.push(RowProblem { column, message_ja });
    }

    /// `false` (with a problem recorded) when the record does not have the header's width.
    /// Extra cells are tolerated when empty (a trailing comma).
    fn check_column_count(&mut self) -> bool {
        let expected = self.layout.headers.len();
        let got = self.row.len();
        let extra_filled =
            (expected..got).any(|i| self.row.get(i).is_some_and(|v| !v.trim().is_empty()));
        if got >= expected && !extra_filled {
            return true;
        }
        let shown = if got > expected {
            // Count up to the last non-empty cell.
            (0..got)
                .rev()
                .find(|&i| self.row.get(i).is_some_and(|v| !v.trim().is_empty()))
                .map_or(got, |i| i + 1)
        } else {
            got
        };
        let mut message =
            format!("列数が見出しと一致しません（見出し{expected}列、この行{shown}列）");
        if self.row.end_line > self.row.line {
            message.push_str(&format!(
                "。{}行目から{}行目までが1件として読まれました。引用符（\"）が閉じられていない可能性があります",
                self.row.line, self.row.end_line
            ));
        }
        self.problems.push(RowProblem {
            column: None,
            message_ja: message,
        });
        false
    }

    /// The cleaned cell (trimmed, `="…"` unwrapped, value map applied), `None` if empty.
    fn cell(&self, col: Option<Col>) -> Option<&'a str> {
        let col = col?;
        let value = clean_cell(self.row.get(col.idx)?)?;
        if self.layout.value_maps.is_empty() {
            return Some(value);
        }
        match self
            .layout
            .value_maps
            .get(&col.field)
            .and_then(|map| map.get(value))
        {
            Some(mapped) => clean_cell(mapped),
            None => Some(value),
        }
    }

    fn text(&self, col: Option<Col>) -> Option<String> {
        self.cell(col).map(str::to_owned)
    }

    fn date(&mut self, col: Option<Col>, label: &str) -> Option<Date> {
        let value = self.cell(col)?;
        let parsed = self
            .layout
            .date_pattern
            .as_ref()
            .and_then(|p| p.parse_date(value))
            .or_else(|| parse_date(value));
        if parsed.is_none() {
            self.problem(col, format!("{label}の日付が正しくありません: {value}"));
        }
        parsed
    }

    fn flag(&mut self, col: Option<Col>) -> Option<bool> {
        let c = col?;
        let value = self.cell(col)?;
        let parsed = parse_flag(c.field, value);
        if parsed.is_none() {
            self.problem(
                col,
                format!("{}の値が正しくありません: {value}", c.field.label_ja()),
            );
        }
        parsed
    }

    fn donation(
        &mut self,
        line: usize,
        seen: &mut HashMap<Box<str>, usize>,
        stats: &mut ParseStats,
    ) -> ImportedDonation {
        let layout = self.layout;
        let external_id = match self.cell(layout.external_id) {
            Some(id) => {
                if let Some(&first) = seen.get(id) {
                    stats.duplicates += 1;
                    self.problem(
                        layout.external_id,
                        format!("寄附番号「{id}」が{first}行目と重複しています"),
                    );
                } else {
                    seen.insert(id.into(), line);
                }
                id.to_owned()
            }
            None => {
                self.problem(layout.external_id, "寄附番号がありません".to_owned());
                String::new()
            }
        };
        let applied_on = self.date(layout.applied_on, "申込日");
        if applied_on.is_none() && self.cell(layout.applied_on).is_none() {
            self.problem(layout.applied_on, "申込日がありません".to_owned());
        }
        let paid_on = self.date(layout.paid_on, "入金日");
        let amount = match self.cell(layout.amount) {
            Some(value) => parse_amount(value).unwrap_or_else(|| {
                self.problem(
                    layout.amount,
                    format!("寄附金額が正しくありません: {value}"),
                );
                0
            }),
            None => {
                self.problem(layout.amount, "寄附金額がありません".to_owned());
                0
            }
        };
        let mut donor = self.person(&layout.donor, Who::Donor).unwrap_or_default();
        if donor.sex.is_none() {
            donor.sex = self.text(layout.donor_sex_fallback);
        }
        let gifts = self.gifts();
        let ship_to = self
            .person(&layout.ship_to, Who::ShipTo)
            .or_else(|| gifts.iter().find_map(|g| g.ship_to.clone()));
        let documents_to = self.person(&layout.documents_to, Who::Documents);
        let gift_declined = self.flag(layout.gift_declined).unwrap_or(false);
        let use_of_funds = self.use_of_funds();
        ImportedDonation {
            line,
            external_id,
            applied_on,
            paid_on,
            amount,
            payment_method: self.text(layout.payment_method),
            payment_status_raw: self.text(layout.payment_status),
            donor,
            ship_to,
            documents_to,
            gifts,
            gift_declined,
            use_of_funds,
            onestop_wanted: self.flag(layout.onestop_wanted),
            anonymous: self.flag(layout.anonymous),
            publication: self.flag(layout.publication),
            message_publication: self.flag(layout.message_publication),
            message: self.text(layout.message),
            remarks: self.text(layout.remarks),
            raw: RawRecord::new(layout.headers.clone(), String::new(), Vec::new()),
        }
    }

    /// Reads a person. The donor must have a name; the other people are `None` when all
    /// their cells are empty, and need a name otherwise.
    fn person(&mut self, cols: &PersonCols, who: Who) -> Option<ImportedPerson> {
        let any_filled = cols.text_cols().into_iter().any(|c| self.cell(c).is_some())
            || self.cell(cols.birth_date).is_some();
        if who != Who::Donor && !any_filled {
            return None;
        }
        let (family_name, given_name) = match self.cell(cols.family) {
            Some(family) => (family.to_owned(), self.text(cols.given)),
            None => match self.cell(cols.name) {
                Some(full) => split_name(full),
                None => {
                    let col = cols.name.or(cols.family);
                    self.problem(col, format!("{}の氏名がありません", who.label()));
                    return None;
                }
            },
        };
        let kana = self.text(cols.kana).or_else(|| {
            match (self.cell(cols.family_kana), self.cell(cols.given_kana)) {
                (Some(f), Some(g)) => Some(format!("{f}\u{3000}{g}")),
                (Some(f), None) => Some(f.to_owned()),
                (None, Some(g)) => Some(g.to_owned()),
                (None, None) => None,
            }
        });
        let postal_code = self.text(cols.postal);
        if let Some(code) = &postal_code
            && !is_valid_postal_code(code)
        {
            self.problem(
                cols.postal,
                format!("{}郵便番号が7桁ではありません: {code}", who.prefix()),
            );
        }
        let birth_date = self.date(cols.birth_date, &format!("{}生年月日", who.prefix()));
        Some(ImportedPerson {
            family_name,
            given_name,
            kana,
            postal_code,
            prefecture: self.text(cols.prefecture),
            city: self.text(cols.city),
            address1: self.text(cols.address1),
            address2: self.text(cols.address2),
            phone: self.text(cols.phone),
            email: self.text(cols.email),
            sex: self.text(cols.sex),
            birth_date,
        })
    }

    fn gifts(&mut self) -> Vec<ImportedGift> {
        let layout = self.layout;
        let mut gifts = Vec::new();
        for cols in &layout.gifts {
            let code = self.cell(cols.code);
            let name = self.cell(cols.name);
            if code.is_none() && name.is_none() {
                continue;
            }
            let (code, name) = match (code, name) {
                (Some(code), name) => (Some(code.to_owned()), name.unwrap_or_default().to_owned()),
                (None, Some(label)) => split_gift_label(label),
                (None, None) => continue,
            };
            let quantity = match self.cell(cols.quantity) {
                Some(value) => parse_quantity(value).unwrap_or_else(|| {
                    self.problem(cols.quantity, format!("数量が正しくありません: {value}"));
                    1
                }),
                None => 1,
            };
            let ship_to = match &cols.ship_to {
                Some(person) => self.person(person, Who::ShipTo),
                None => None,
            };
            gifts.push(ImportedGift {
                code,
                name,
                quantity,
                ship_to,
            });
        }
        gifts
    }

    fn use_of_funds(&mut self) -> Option<String> {
        if let Some(value) = self.text(self.layout.use_of_funds) {
            return Some(value);
        }
        let layout = self.layout;
        let mut chosen: Vec<&str> = Vec::new();
        for u in &layout.uses {
            let selected = self
                .cell(u.selected)
                .is_some_and(|v| parse_flag(CanonicalField::UseOfFunds, v) != Some(false));
            let with_amount = u
                .amount
                .and_then(|idx| self.row.get(idx))
                .and_then(parse_amount)
                .is_some();
            if selected || with_amount {
                chosen.push(&u.name);
            }
        }
        (!chosen.is_empty()).then(|| chosen.join("、"))
    }
}
