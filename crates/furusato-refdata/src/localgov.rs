//! Parsers for the 総務省 全国地方公共団体コード.
//!
//! Two sources are accepted and yield the same rows (1,965 for the 令和6年1月1日 list:
//! 47 prefectures + 1,747 municipalities + 171 wards of 政令指定都市):
//!
//! - the original workbook `000925835.xlsx` ([`parse_xlsx`]): sheet 1 lists the prefectures and
//!   municipalities (団体), sheet 2 the 政令指定都市 and their wards; kana are half-width;
//! - the normalised CSV `local_gov_codes.csv` ([`parse_csv`]) with the columns `code, code5,
//!   pref_code, kind, parent_code, prefecture, name, prefecture_kana, name_kana` (extra columns
//!   such as `prefecture_kana_hw, name_kana_hw, note` are ignored).
//!
//! Every code must pass the check digit; rows that fail are rejected and reported
//! ([`RefDataError::InvalidRows`]) and nothing is returned, so a damaged file never replaces
//! good data. Kana are full-width katakana ([`crate::kana::to_fullwidth`]).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Cursor;
use std::str::FromStr;

use calamine::{Data, Reader, Xlsx, XlsxError, open_workbook_from_rs};
use furusato_db::reference::LocalGov;
use furusato_domain::{LocalGovCode, LocalGovCodeError};

use crate::error::{Location, MAX_ROW_ERRORS, RefDataError, RefDataResult, RowError};
use crate::kana::{normalize_jis, to_fullwidth};

/// The kind of a local government, as stored in `local_gov_codes.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalGovKind {
    /// 都道府県
    Prefecture,
    /// 政令指定都市 (has wards; receives the notices of its residents)
    DesignatedCity,
    /// 市 (other than 政令市)
    City,
    /// 町
    Town,
    /// 村
    Village,
    /// 東京都の特別区 (13101–13123), a municipality in its own right
    SpecialWard,
    /// 政令市の行政区, not a municipality: its parent is the 政令市
    Ward,
}

impl LocalGovKind {
    /// All kinds, in a stable order.
    pub const ALL: [LocalGovKind; 7] = [
        LocalGovKind::Prefecture,
        LocalGovKind::DesignatedCity,
        LocalGovKind::City,
        LocalGovKind::Town,
        LocalGovKind::Village,
        LocalGovKind::SpecialWard,
        LocalGovKind::Ward,
    ];

    /// The stored name (`prefecture`, `designated_city`, `city`, `town`, `village`, `special_ward`, `ward`).
    pub fn as_str(self) -> &'static str {
        match self {
            LocalGovKind::Prefecture => "prefecture",
            LocalGovKind::DesignatedCity => "designated_city",
            LocalGovKind::City => "city",
            LocalGovKind::Town => "town",
            LocalGovKind::Village => "village",
            LocalGovKind::SpecialWard => "special_ward",
            LocalGovKind::Ward => "ward",
        }
    }

    /// True for the bodies that levy 住民税 and receive 申告特例通知 (市町村 and 特別区).
    pub fn is_municipality(self) -> bool {
        matches!(
            self,
            LocalGovKind::DesignatedCity
                | LocalGovKind::City
                | LocalGovKind::Town
                | LocalGovKind::Village
                | LocalGovKind::SpecialWard
        )
    }
}

impl fmt::Display for LocalGovKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LocalGovKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        LocalGovKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown kind {s:?}"))
    }
}

/// Which source a local-government list came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocalGovFormat {
    /// The normalised `local_gov_codes.csv`.
    Csv,
    /// 総務省's original workbook (`000925835.xlsx`).
    SoumuXlsx,
}

impl LocalGovFormat {
    /// A stable short name (`csv` / `soumu_xlsx`).
    pub fn as_str(self) -> &'static str {
        match self {
            LocalGovFormat::Csv => "csv",
            LocalGovFormat::SoumuXlsx => "soumu_xlsx",
        }
    }
}

impl fmt::Display for LocalGovFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LocalGovFormat::Csv => "local_gov_codes.csv",
            LocalGovFormat::SoumuXlsx => "総務省 都道府県コード及び市区町村コード (xlsx)",
        })
    }
}

/// Validates a 6-digit 団体コード read from a source file: exactly 6 ASCII digits, a known
/// prefecture and a correct check digit (via [`LocalGovCode::parse`]).
pub fn validate_code(code: &str) -> Result<LocalGovCode, String> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("code {code:?} is not 6 digits"));
    }
    LocalGovCode::parse(code).map_err(|e| match e {
        LocalGovCodeError::WrongCheckDigit { expected } => {
            format!(
                "code {code} fails the check digit (expected {}{expected})",
                &code[..5]
            )
        }
        other => format!("code {code}: {other}"),
    })
}

/// The 6-digit code of the prefecture `pref2` ("04" → "040002").
fn prefecture_code(pref2: &str) -> String {
    LocalGovCode::from_code5(&format!("{pref2}000"))
        .map(|c| c.as_str().to_owned())
        .unwrap_or_default()
}

/// Detects the source (a ZIP/xlsx signature means the workbook) and parses it.
pub fn parse(bytes: &[u8]) -> RefDataResult<(Vec<LocalGov>, LocalGovFormat)> {
    if bytes.starts_with(b"PK\x03\x04") {
        Ok((parse_xlsx(bytes)?, LocalGovFormat::SoumuXlsx))
    } else {
        Ok((parse_csv(bytes)?, LocalGovFormat::Csv))
    }
}

const CSV_REQUIRED: [&str; 9] = [
    "code",
    "code5",
    "pref_code",
    "kind",
    "parent_code",
    "prefecture",
    "name",
    "prefecture_kana",
    "name_kana",
];

/// Parses the normalised CSV (UTF-8 with a header row; see the module docs for the columns).
/// Rows keep the file's order.
pub fn parse_csv(bytes: &[u8]) -> RefDataResult<Vec<LocalGov>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64
            + 1;
        RefDataError::Encoding {
            location: Location::Line(line),
        }
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .terminator(csv::Terminator::Any(b'\n')) // correct line numbers with CRLF, see postal.rs
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| RefDataError::UnsupportedFormat(format!("unreadable CSV header: {e}")))?
        .clone();
    let mut index = HashMap::new();
    for name in CSV_REQUIRED {
        let i = headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| {
                RefDataError::UnsupportedFormat(format!(
                    "local government CSV: missing column {name:?} (expected {})",
                    CSV_REQUIRED.join(",")
                ))
            })?;
        index.insert(name, i);
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for result in reader.records() {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errors.push(RowError::line(line, format!("unreadable CSV: {e}")));
                break;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let fields = Fields {
            record: &record,
            index: &index,
        };
        match csv_row(&fields) {
            Ok(row) => rows.push((Location::Line(line), row)),
            Err(message) => errors.push(RowError::line(line, message)),
        }
        if errors.len() >= MAX_ROW_ERRORS {
            break;
        }
    }
    finish(rows, errors)
}

/// The named columns of one CSV record.
struct Fields<'a> {
    record: &'a csv::StringRecord,
    index: &'a HashMap<&'static str, usize>,
}

impl<'a> Fields<'a> {
    fn get(&self, name: &str) -> &'a str {
        self.index
            .get(name)
            .and_then(|&i| self.record.get(i))
            .unwrap_or("")
            .trim()
    }
}

fn csv_row(fields: &Fields<'_>) -> Result<LocalGov, String> {
    let field = |name: &str| fields.get(name);
    let code = field("code");
    validate_code(code)?;
    let code5 = field("code5");
    if code5 != &code[..5] {
        return Err(format!("code5 {code5:?} does not match code {code}"));
    }
    let pref_code: i64 = field("pref_code")
        .parse()
        .map_err(|_| format!("pref_code {:?} is not a number", field("pref_code")))?;
    let kind: LocalGovKind = field("kind").parse()?;
    let parent = field("parent_code");
    Ok(LocalGov {
        code: code.to_owned(),
        code5: code5.to_owned(),
        pref_code,
        kind: kind.as_str().to_owned(),
        parent_code: (!parent.is_empty()).then(|| parent.to_owned()),
        prefecture: normalize_jis(field("prefecture")),
        name: normalize_jis(field("name")),
        prefecture_kana: to_fullwidth(field("prefecture_kana")),
        name_kana: to_fullwidth(field("name_kana")),
    })
}

/// One data row of the workbook, before the kind is derived.
struct SheetRow {
    location: Location,
    code: String,
    prefecture: String,
    name: String,
    prefecture_kana: String,
    name_kana: String,
}

/// Parses 総務省's workbook: sheet 1 = 団体 (prefectures + municipalities), sheet 2 = 政令市・区.
///
/// Kinds are derived from the sheet and the name: a row without a 市区町村名 is a prefecture;
/// a city listed on sheet 2 is a designated city, the other names ending in 区 on sheet 2 are its
/// wards (parent = the designated city whose name prefixes the ward's name); on sheet 1 a
/// 東京都 name ending in 区 is a special ward, otherwise 市/町/村 give city/town/village. The parent
/// of every municipality is its prefecture. Rows are returned sorted by code.
pub fn parse_xlsx(bytes: &[u8]) -> RefDataResult<Vec<LocalGov>> {
    let mut workbook: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: XlsxError| RefDataError::Workbook(e.to_string()))?;
    let sheet_names = workbook.sheet_names();
    if sheet_names.len() < 2 {
        return Err(RefDataError::Workbook(format!(
            "expected 2 sheets (団体, 政令指定都市), found {}",
            sheet_names.len()
        )));
    }
    let mut errors = Vec::new();
    let mut sheets = Vec::new();
    for (n, sheet_name) in sheet_names.iter().take(2).enumerate() {
        let range = workbook
            .worksheet_range_at(n)
            .ok_or_else(|| RefDataError::Workbook(format!("sheet {} is missing", n + 1)))?
            .map_err(|e| RefDataError::Workbook(format!("sheet '{sheet_name}': {e}")))?;
        sheets.push(sheet_rows(sheet_name, &range, &mut errors));
    }
    let wards_sheet = sheets.pop().unwrap_or_default();
    let bodies_sheet = sheets.pop().unwrap_or_default();

    // Designated cities (sheet 2 names ending in 市) by prefecture.
    let designated: Vec<&SheetRow> = wards_sheet
        .iter()
        .filter(|r| r.name.ends_with('市'))
        .collect();
    let designated_codes: HashSet<&str> = designated.iter().map(|r| r.code.as_str()).collect();
    let listed: HashSet<&str> = bodies_sheet.iter().map(|r| r.code.as_str()).collect();

    let mut rows = Vec::new();
    for row in &bodies_sheet {
        let kind = if row.name.is_empty() {
            Some(LocalGovKind::Prefecture)
        } else if designated_codes.contains(row.code.as_str()) {
            Some(LocalGovKind::DesignatedCity)
        } else if row.code.starts_with("13") && row.name.ends_with('区') {
            Some(LocalGovKind::SpecialWard)
        } else if row.name.ends_with('市') {
            Some(LocalGovKind::City)
        } else if row.name.ends_with('町') {
            Some(LocalGovKind::Town)
        } else if row.name.ends_with('村') {
            Some(LocalGovKind::Village)
        } else {
            None
        };
        match kind {
            Some(kind) => rows.push((row.location.clone(), workbook_row(row, kind, None))),
            None => errors.push(RowError {
                location: row.location.clone(),
                message: format!(
                    "cannot tell the kind of {} {} from its name",
                    row.code, row.name
                ),
            }),
        }
    }
    for row in &wards_sheet {
        if row.name.ends_with('市') {
            if !listed.contains(row.code.as_str()) {
                errors.push(RowError {
                    location: row.location.clone(),
                    message: format!(
                        "designated city {} {} is missing from sheet 1",
                        row.code, row.name
                    ),
                });
            }
            continue;
        }
        let parent = designated
            .iter()
            .filter(|city| {
                city.prefecture == row.prefecture && row.name.starts_with(city.name.as_str())
            })
            .max_by_key(|city| city.name.len());
        match parent {
            Some(city) if row.name.ends_with('区') => {
                rows.push((
                    row.location.clone(),
                    workbook_row(row, LocalGovKind::Ward, Some(city.code.clone())),
                ));
            }
            _ => errors.push(RowError {
                location: row.location.clone(),
                message: format!(
                    "{} {} is neither a designated city nor one of its wards",
                    row.code, row.name
                ),
            }),
        }
    }
    let mut rows = finish(rows, errors)?;
    rows.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(rows)
}

/// Reads the data rows of one sheet (skipping the header and empty rows); invalid codes are
/// recorded in `errors` and the row is dropped.
fn sheet_rows(
    sheet: &str,
    range: &calamine::Range<Data>,
    errors: &mut Vec<RowError>,
) -> Vec<SheetRow> {
    let first_row = range.start().map_or(0, |(row, _)| row);
    let mut out = Vec::new();
    for (i, cells) in range.rows().enumerate() {
        let location = Location::SheetRow {
            sheet: sheet.to_owned(),
            row: first_row + i as u32 + 1,
        };
        let cell = |n: usize| cells.get(n).map(cell_text).unwrap_or_default();
        let code = cell(0);
        if cells.iter().all(|c| cell_text(c).is_empty())
            || (out.is_empty() && code.contains("コード"))
        {
            continue; // blank row or the header
        }
        if let Err(message) = validate_code(&code) {
            errors.push(RowError { location, message });
            continue;
        }
        let row = SheetRow {
            location,
            code,
            prefecture: normalize_jis(&cell(1)),
            name: normalize_jis(&cell(2)),
            prefecture_kana: to_fullwidth(&cell(3)),
            name_kana: to_fullwidth(&cell(4)),
        };
        if row.prefecture.is_empty() {
            errors.push(RowError {
                location: row.location,
                message: format!("{}: the prefecture name is empty", row.code),
            });
            continue;
        }
        out.push(row);
    }
    out
}

/// A cell as trimmed text; numeric codes (a few cells of sheet 2 are numbers) are zero-padded to 6 digits.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::String(s) => s.trim().to_owned(),
        Data::Int(n) => format!("{n:06}"),
        Data::Float(f) if f.fract() == 0.0 && *f >= 0.0 => format!("{:06}", *f as u64),
        Data::Empty => String::new(),
        other => other.to_string().trim().to_owned(),
    }
}

fn workbook_row(row: &SheetRow, kind: LocalGovKind, parent: Option<String>) -> LocalGov {
    let pref2 = &row.code[..2];
    let prefecture_code = prefecture_code(pref2);
    let (name, name_kana) = if kind == LocalGovKind::Prefecture {
        (row.prefecture.clone(), row.prefecture_kana.clone())
    } else {
        (row.name.clone(), row.name_kana.clone())
    };
    LocalGov {
        code: row.code.clone(),
        code5: row.code[..5].to_owned(),
        pref_code: pref2.parse().unwrap_or_default(),
        kind: kind.as_str().to_owned(),
        parent_code: match kind {
            LocalGovKind::Prefecture => None,
            LocalGovKind::Ward => parent,
            _ => Some(prefecture_code),
        },
        prefecture: row.prefecture.clone(),
        name,
        prefecture_kana: row.prefecture_kana.clone(),
        name_kana,
    }
}

/// Checks the set as a whole (consistent codes, unique codes, parents present and of the right
/// kind) and returns the rows, or every error found.
fn finish(
    rows: Vec<(Location, LocalGov)>,
    mut errors: Vec<RowError>,
) -> RefDataResult<Vec<LocalGov>> {
    let kinds: HashMap<&str, &str> = rows
        .iter()
        .map(|(_, r)| (r.code.as_str(), r.kind.as_str()))
        .collect();
    let mut seen = HashSet::new();
    for (location, row) in &rows {
        let problem = row_problem(row, &kinds).or_else(|| {
            (!seen.insert(row.code.as_str())).then(|| format!("code {} appears twice", row.code))
        });
        if let Some(message) = problem {
            errors.push(RowError {
                location: location.clone(),
                message,
            });
        }
    }
    if !errors.is_empty() {
        return Err(RefDataError::rows(errors));
    }
    if rows.is_empty() {
        return Err(RefDataError::UnsupportedFormat(
            "the local government list has no rows".into(),
        ));
    }
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

fn row_problem(row: &LocalGov, kinds: &HashMap<&str, &str>) -> Option<String> {
    let code = &row.code;
    if row.code5 != code[..5] {
        return Some(format!("code5 {} does not match code {code}", row.code5));
    }
    if !(1..=47).contains(&row.pref_code) || format!("{:02}", row.pref_code) != code[..2] {
        return Some(format!(
            "pref_code {} does not match code {code}",
            row.pref_code
        ));
    }
    if row.name.is_empty() || row.prefecture.is_empty() {
        return Some(format!("code {code}: name or prefecture is empty"));
    }
    let kind: LocalGovKind = match row.kind.parse() {
        Ok(k) => k,
        Err(e) => return Some(e),
    };
    let expected_parent_kind = match kind {
        LocalGovKind::Prefecture => None,
        LocalGovKind::Ward => Some(LocalGovKind::DesignatedCity),
        _ => Some(LocalGovKind::Prefecture),
    };
    match (&row.parent_code, expected_parent_kind) {
        (None, None) => None,
        (Some(p), None) => Some(format!(
            "prefecture {code} must not have a parent (found {p})"
        )),
        (None, Some(_)) => Some(format!("{kind} {code} has no parent_code")),
        (Some(p), Some(expected)) => match kinds.get(p.as_str()) {
            Some(&k) if k == expected.as_str() && p[..2] == code[..2] => None,
            Some(&k) => Some(format!(
                "parent {p} of {code} is a {k}, expected a {expected} of the same prefecture"
            )),
            None => Some(format!("parent {p} of {code} is not in the list")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits_of_known_codes() {
        for code in [
            "041009", "041017", "221384", "221309", "131016", "010006", "473821",
        ] {
            assert_eq!(
                validate_code(code).map(|c| c.as_str().to_owned()),
                Ok(code.to_owned())
            );
        }
        assert!(
            validate_code("041008")
                .unwrap_err()
                .contains("expected 041009")
        );
        assert!(validate_code("04100").is_err());
        assert!(validate_code("04100x").is_err());
        assert!(validate_code("９８００８１").is_err());
        assert!(validate_code("480001").unwrap_err().contains("prefecture"));
        assert_eq!(prefecture_code("04"), "040002");
        assert_eq!(prefecture_code("13"), "130001");
    }

    #[test]
    fn kinds_round_trip() {
        for kind in LocalGovKind::ALL {
            assert_eq!(kind.as_str().parse::<LocalGovKind>(), Ok(kind));
        }
        assert!("county".parse::<LocalGovKind>().is_err());
        assert!(LocalGovKind::SpecialWard.is_municipality());
        assert!(!LocalGovKind::Ward.is_municipality());
        assert!(!LocalGovKind::Prefecture.is_municipality());
    }

    const HEADER: &str =
        "code,code5,pref_code,kind,parent_code,prefecture,name,prefecture_kana,name_kana\n";

    #[test]
    fn csv_rows_are_parsed_and_kana_widened() {
        let text = format!(
            "{HEADER}040002,04000,04,prefecture,,宮城県,宮城県,ﾐﾔｷﾞｹﾝ,ﾐﾔｷﾞｹﾝ\n\
             041009,04100,04,designated_city,040002,宮城県,仙台市,ミヤギケン,センダイシ\n\
             041017,04101,04,ward,041009,宮城県,仙台市青葉区,ミヤギケン,センダイシアオバク\n"
        );
        let rows = parse_csv(text.as_bytes()).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].prefecture_kana, "ミヤギケン");
        assert_eq!(rows[0].parent_code, None);
        assert_eq!(rows[2].parent_code.as_deref(), Some("041009"));
        assert_eq!(rows[2].pref_code, 4);
    }

    #[test]
    fn csv_rows_failing_the_check_digit_are_rejected_and_reported() {
        let text = format!(
            "{HEADER}040002,04000,04,prefecture,,宮城県,宮城県,ミヤギケン,ミヤギケン\n\
             041008,04100,04,designated_city,040002,宮城県,仙台市,ミヤギケン,センダイシ\n\
             041017,04101,04,ward,041009,宮城県,仙台市青葉区,ミヤギケン,センダイシアオバク\n\
             042021,04202,04,hamlet,040002,宮城県,石巻市,ミヤギケン,イシノマキシ\n"
        );
        let err = parse_csv(text.as_bytes()).unwrap_err();
        let RefDataError::InvalidRows { errors, .. } = &err else {
            panic!("{err:?}")
        };
        let lines: Vec<_> = errors.iter().map(|e| e.location.clone()).collect();
        // line 3: bad check digit; line 5: unknown kind; line 4: parent 041009 not in the list.
        assert_eq!(
            lines,
            [Location::Line(3), Location::Line(5), Location::Line(4)],
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("line 3: code 041008 fails the check digit"),
            "{err}"
        );
    }

    #[test]
    fn csv_without_required_columns_is_unsupported() {
        let err = parse_csv(b"code,name\n041009,x\n").unwrap_err();
        assert!(matches!(err, RefDataError::UnsupportedFormat(_)), "{err:?}");
    }
}
