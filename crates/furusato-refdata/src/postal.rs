//! Parser for Japan Post's 郵便番号データ (住所の郵便番号).
//!
//! Two published formats are accepted and yield identical records:
//!
//! - `utf_ken_all.csv` — 「住所の郵便番号（1レコード1行, UTF-8形式）」: UTF-8, one line per record,
//!   full-width kana;
//! - `KEN_ALL.CSV` — 「読み仮名データの促音・拗音を小書きで表記するもの」: Shift_JIS, half-width
//!   kana, and long 町域 split over several lines.
//!
//! Both have 15 columns without a header: 全国地方公共団体コード (5 digits), 旧郵便番号,
//! 郵便番号 (7 digits), 都道府県名カナ, 市区町村名カナ, 町域名カナ, 都道府県名, 市区町村名, 町域名,
//! then six 0–9 flags (一町域が二以上の郵便番号, 小字毎に番地, 丁目を有する町域,
//! 一つの郵便番号で二以上の町域, 更新の表示, 変更理由), which this parser validates but does not keep.
//!
//! # Normalisation
//! - `KEN_ALL.CSV` is decoded with `encoding_rs::SHIFT_JIS` (the WHATWG/CP932 table), then
//!   U+FF5E → U+301C and U+FF0D → U+2212 ([`crate::kana::normalize_jis`]), so 「〜」「−」 match
//!   the UTF-8 file; its half-width kana (and the half-width ASCII of its kana notes) become
//!   full-width ([`crate::kana::to_fullwidth`]).
//! - A `KEN_ALL.CSV` record whose 町域 has an opening 「（」 without its closing 「）」 continues on
//!   the following line(s) with the same postal code; the 町域 and 町域カナ of those lines are
//!   joined (before the kana width conversion, so a voiced mark split from its kana still combines).
//!   Where Japan Post gives the kana only without the note and repeats it on every line
//!   (京都市's 「一町目（大宮通椹木町下る、…）」 → イッチョウメ on each line), it is taken once.
//! - `seq` is the 0-based order of a record among the records of the same postal code, in file order.
//! - `town`/`town_kana` hold the 町域 as users write it in an address ([`display_town`]);
//!   the verbatim 町域 is kept in [`PostalParse::raw_towns`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use encoding_rs::SHIFT_JIS;
use furusato_db::reference::PostalRecord;

use crate::error::{Location, MAX_ROW_ERRORS, RefDataError, RefDataResult, RowError};
use crate::kana::{normalize_jis, to_fullwidth};

/// Number of columns of both postal formats.
pub const COLUMNS: usize = 15;

/// Which of Japan Post's files was parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PostalFormat {
    /// `utf_ken_all.csv`: UTF-8, one line per record.
    UtfKenAll,
    /// `KEN_ALL.CSV`: Shift_JIS, half-width kana, long 町域 split over several lines.
    KenAllSjis,
}

impl PostalFormat {
    /// A stable short name (`utf_ken_all` / `ken_all_sjis`).
    pub fn as_str(self) -> &'static str {
        match self {
            PostalFormat::UtfKenAll => "utf_ken_all",
            PostalFormat::KenAllSjis => "ken_all_sjis",
        }
    }
}

impl fmt::Display for PostalFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PostalFormat::UtfKenAll => "Japan Post utf_ken_all.csv (UTF-8)",
            PostalFormat::KenAllSjis => "Japan Post KEN_ALL.CSV (Shift_JIS)",
        })
    }
}

/// The 町域 exactly as published (after encoding, width and line-join normalisation only).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RawTown {
    pub town: String,
    pub town_kana: String,
}

/// The result of [`parse`].
#[derive(Clone, Debug)]
pub struct PostalParse {
    /// One record per 郵便番号 × 町域, in file order; `town` is the display town.
    pub records: Vec<PostalRecord>,
    /// The verbatim 町域 of each record, at the same index as `records`.
    pub raw_towns: Vec<RawTown>,
    pub format: PostalFormat,
    /// Physical lines read (greater than `records.len()` for `KEN_ALL.CSV`).
    pub lines: u64,
    /// Oddities that did not stop the parse (e.g. an unclosed 「（」 not continued on the next line).
    pub warnings: Vec<RowError>,
}

/// One validated line before joining and normalisation.
struct Line {
    line: u64,
    code5: String,
    postal_code: String,
    prefecture_kana: String,
    city_kana: String,
    town_kana: String,
    prefecture: String,
    city: String,
    town: String,
}

/// Parses a whole Japan Post file (`utf_ken_all.csv` or `KEN_ALL.CSV`, detected from the bytes).
///
/// Fails with [`RefDataError::InvalidRows`] (listing line numbers) when any line is malformed,
/// and with [`RefDataError::Encoding`] when the bytes are neither UTF-8 nor Shift_JIS.
pub fn parse(bytes: &[u8]) -> RefDataResult<PostalParse> {
    let (text, format) = decode(bytes)?;
    // A '\n' terminator keeps csv's line numbers right with CRLF files (the '\r' ends up at the
    // end of the last field, which is trimmed).
    let mut reader = csv::ReaderBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());

    let mut lines: Vec<Line> = Vec::with_capacity(text.len() / 120);
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    // The record whose 町域 is still unclosed: its index in `lines` and its first line's kana.
    let mut open: Option<(usize, String)> = None;
    let mut physical_lines = 0;
    let mut record = csv::StringRecord::new();
    loop {
        let more = match reader.read_record(&mut record) {
            Ok(more) => more,
            Err(e) => {
                let line = e.position().map_or(physical_lines + 1, |p| p.line());
                errors.push(RowError::line(line, format!("unreadable CSV: {e}")));
                break;
            }
        };
        if !more {
            break;
        }
        let line_no = record.position().map_or(physical_lines + 1, |p| p.line());
        physical_lines = line_no;
        if record.len() == 1 && record[0].trim().is_empty() {
            continue; // blank line
        }
        let line = match validate(&record, line_no) {
            Ok(line) => line,
            Err(e) => {
                errors.push(e);
                if errors.len() >= MAX_ROW_ERRORS {
                    break;
                }
                continue;
            }
        };
        if let Some((i, first_kana)) = &open {
            let head = &mut lines[*i];
            if head.postal_code == line.postal_code && head.code5 == line.code5 {
                head.town.push_str(&line.town);
                // Some split records carry the kana only once and repeat it on every line.
                if line.town_kana != *first_kana {
                    head.town_kana.push_str(&line.town_kana);
                }
                if parens_closed(&head.town) {
                    open = None;
                }
                continue;
            }
            warnings.push(unclosed_warning(head));
            open = None;
        }
        if !parens_closed(&line.town) {
            open = Some((lines.len(), line.town_kana.clone()));
        }
        lines.push(line);
    }
    if let Some((i, _)) = open {
        warnings.push(unclosed_warning(&lines[i]));
    }
    if !errors.is_empty() {
        return Err(RefDataError::rows(errors));
    }
    if lines.is_empty() {
        return Err(RefDataError::UnsupportedFormat(
            "the postal file has no records".into(),
        ));
    }

    let mut seqs: HashMap<String, i64> = HashMap::with_capacity(lines.len());
    let mut records = Vec::with_capacity(lines.len());
    let mut raw_towns = Vec::with_capacity(lines.len());
    for line in lines {
        let seq = seqs.entry(line.postal_code.clone()).or_insert(0);
        let city = normalize_jis(&line.city);
        let raw = RawTown {
            town: normalize_jis(&line.town),
            town_kana: to_fullwidth(&line.town_kana),
        };
        let (town, town_kana) = display_town(&city, &raw.town, &raw.town_kana);
        records.push(PostalRecord {
            postal_code: line.postal_code,
            seq: *seq,
            local_gov_code5: line.code5,
            prefecture: normalize_jis(&line.prefecture),
            city,
            town,
            prefecture_kana: to_fullwidth(&line.prefecture_kana),
            city_kana: to_fullwidth(&line.city_kana),
            town_kana,
        });
        raw_towns.push(raw);
        *seq += 1;
    }
    Ok(PostalParse {
        records,
        raw_towns,
        format,
        lines: physical_lines,
        warnings,
    })
}

/// Decodes the file: UTF-8 (optionally with a BOM) is `utf_ken_all.csv`, anything else must be
/// Shift_JIS (`KEN_ALL.CSV`).
fn decode(bytes: &[u8]) -> RefDataResult<(Cow<'_, str>, PostalFormat)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((Cow::Borrowed(text), PostalFormat::UtfKenAll));
    }
    if let Some(text) = SHIFT_JIS.decode_without_bom_handling_and_without_replacement(bytes) {
        return Ok((text, PostalFormat::KenAllSjis));
    }
    // Report the first line that is valid in neither encoding.
    let bad = bytes
        .split(|&b| b == b'\n')
        .position(|line| {
            std::str::from_utf8(line).is_err()
                && SHIFT_JIS
                    .decode_without_bom_handling_and_without_replacement(line)
                    .is_none()
        })
        .unwrap_or(0);
    Err(RefDataError::Encoding {
        location: Location::Line(bad as u64 + 1),
    })
}

fn validate(record: &csv::StringRecord, line: u64) -> Result<Line, RowError> {
    if record.len() != COLUMNS {
        return Err(RowError::line(
            line,
            format!(
                "expected {COLUMNS} columns, found {} (is this Japan Post's utf_ken_all.csv or KEN_ALL.CSV?)",
                record.len()
            ),
        ));
    }
    let code5 = record[0].trim();
    if !is_digits(code5, 5) {
        return Err(RowError::line(
            line,
            format!("column 1 (local government code) must be 5 digits, found {code5:?}"),
        ));
    }
    let postal_code = record[2].trim();
    if !is_digits(postal_code, 7) {
        return Err(RowError::line(
            line,
            format!("column 3 (postal code) must be 7 digits, found {postal_code:?}"),
        ));
    }
    for column in 9..COLUMNS {
        let flag = record[column].trim();
        if !is_digits(flag, 1) {
            return Err(RowError::line(
                line,
                format!(
                    "column {} must be a one-digit flag, found {flag:?}",
                    column + 1
                ),
            ));
        }
    }
    for (column, what) in [(6, "prefecture"), (7, "city")] {
        if record[column].trim().is_empty() {
            return Err(RowError::line(
                line,
                format!("column {} ({what}) is empty", column + 1),
            ));
        }
    }
    Ok(Line {
        line,
        code5: code5.to_owned(),
        postal_code: postal_code.to_owned(),
        prefecture_kana: record[3].trim().to_owned(),
        city_kana: record[4].trim().to_owned(),
        town_kana: record[5].trim().to_owned(),
        prefecture: record[6].trim().to_owned(),
        city: record[7].trim().to_owned(),
        town: record[8].trim().to_owned(),
    })
}

fn unclosed_warning(line: &Line) -> RowError {
    RowError::line(
        line.line,
        format!(
            "町域 of postal code {} has an unclosed parenthesis and is not continued on the next line; kept as is",
            line.postal_code
        ),
    )
}

fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// True when every full-width 「（」 of a 町域 has its 「）」.
fn parens_closed(town: &str) -> bool {
    town.matches('（').count() <= town.matches('）').count()
}

/// Japan Post's placeholder 町域 for "any address of the municipality not listed below".
pub const NOT_LISTED: &str = "以下に掲載がない場合";

/// The 町域 (kanji, kana) as a user writes it after the 市区町村, for address autofill.
///
/// Japan Post's 町域 column mixes the town name with notes about which addresses the code
/// covers. The rules, applied in this order:
///
/// 1. 「以下に掲載がない場合」 → empty (the code covers the rest of the municipality).
/// 2. 「〇〇の次に番地がくる場合」 (also 「…の次に１〜６６３番地がくる場合（川東）」) → empty when 〇〇 is
///    the municipality itself (猿島郡境町 「境町の次に番地がくる場合」), otherwise 〇〇
///    (西海市 「大島町の次に番地がくる場合」 → 大島町).
/// 3. 「〇〇一円」 where 〇〇 is the municipality (利島村 「利島村一円」) → empty; the real place
///    name 「一円」 (犬上郡多賀町) is kept.
/// 4. Parenthesised notes are dropped: everything from the first 「（」 (「大通西（１〜１９丁目）」 →
///    大通西, 「中央（次のビルを除く）」 → 中央, 「常盤（その他）」 → 常盤,
///    「協和（８８−２、…番地）」 → 協和, 「中央アエル（地階・階層不明）」 → 中央アエル), except the
///    floor of a high-rise building, which identifies the code and is kept without brackets:
///    「中央アエル（１階）」 → 中央アエル１階, 「名駅ミッドランドスクエア（高層棟）（１階）」 →
///    名駅ミッドランドスクエア１階.
///
/// The kana follows the same cuts. Unbracketed ranges such as 「穴明２２地割、穴明２３地割」 are
/// left as published: they have no single correct shortening.
pub fn display_town(city: &str, town: &str, town_kana: &str) -> (String, String) {
    if town == NOT_LISTED {
        return (String::new(), String::new());
    }
    let base = before(town, '（');
    if base.ends_with("がくる場合")
        && let Some((place, _)) = base.split_once("の次に")
    {
        if city.ends_with(place) {
            return (String::new(), String::new());
        }
        let kana = town_kana.split_once("ノツギニ").map_or("", |(k, _)| k);
        return (place.to_owned(), kana.to_owned());
    }
    if let Some(place) = town.strip_suffix("一円")
        && !place.is_empty()
        && city.ends_with(place)
    {
        return (String::new(), String::new());
    }
    if base.len() == town.len() {
        return (town.to_owned(), town_kana.to_owned());
    }
    let kana_base = before(town_kana, '（');
    match (floor(town), floor(town_kana)) {
        (Some(f), Some(kf)) => (format!("{base}{f}"), format!("{kana_base}{kf}")),
        _ => (base.to_owned(), kana_base.to_owned()),
    }
}

fn before(s: &str, c: char) -> &str {
    s.split_once(c).map_or(s, |(head, _)| head)
}

/// The floor of a building entry: the last bracket group when it is 「（<digits>階）」 or
/// 「（<digits>カイ）」.
fn floor(s: &str) -> Option<&str> {
    let inner = s.strip_suffix('）')?;
    let inner = &inner[inner.rfind('（')? + '（'.len_utf8()..];
    let digits = inner
        .strip_suffix('階')
        .or_else(|| inner.strip_suffix("カイ"))?;
    (!digits.is_empty()
        && digits
            .chars()
            .all(|c| c.is_ascii_digit() || ('０'..='９').contains(&c)))
    .then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_town_rules() {
        let t = |city, town, kana| display_town(city, town, kana);
        assert_eq!(
            t(
                "仙台市青葉区",
                "以下に掲載がない場合",
                "イカニケイサイガナイバアイ"
            ),
            ("".into(), "".into())
        );
        assert_eq!(
            t("仙台市青葉区", "一番町", "イチバンチョウ"),
            ("一番町".into(), "イチバンチョウ".into())
        );
        assert_eq!(
            t(
                "札幌市中央区",
                "大通西（１〜１９丁目）",
                "オオドオリニシ（１−１９チョウメ）"
            ),
            ("大通西".into(), "オオドオリニシ".into())
        );
        assert_eq!(
            t(
                "仙台市青葉区",
                "中央アエル（１階）",
                "チュウオウアエル（１カイ）"
            ),
            ("中央アエル１階".into(), "チュウオウアエル１カイ".into())
        );
        assert_eq!(
            t(
                "仙台市青葉区",
                "中央アエル（地階・階層不明）",
                "チュウオウアエル（チカイ・カイソウフメイ）"
            ),
            ("中央アエル".into(), "チュウオウアエル".into())
        );
        assert_eq!(
            t(
                "名古屋市中村区",
                "名駅ミッドランドスクエア（高層棟）（１２階）",
                "メイエキミッドランドスクエア（コウソウトウ）（１２カイ）"
            ),
            (
                "名駅ミッドランドスクエア１２階".into(),
                "メイエキミッドランドスクエア１２カイ".into()
            )
        );
        assert_eq!(
            t(
                "猿島郡境町",
                "境町の次に番地がくる場合",
                "サカイマチノツギニバンチガクルバアイ"
            ),
            ("".into(), "".into())
        );
        assert_eq!(
            t(
                "仲多度郡琴平町",
                "琴平町の次に１〜４２６番地がくる場合（川東）",
                "コトヒラチョウノツギニ１−４２６バンチガクルバアイ（カワヒガシ）"
            ),
            ("".into(), "".into())
        );
        assert_eq!(
            t(
                "西海市",
                "大島町の次に番地がくる場合",
                "オオシマチョウノツギニバンチガクルバアイ"
            ),
            ("大島町".into(), "オオシマチョウ".into())
        );
        assert_eq!(
            t("利島村", "利島村一円", "トシマムライチエン"),
            ("".into(), "".into())
        );
        assert_eq!(
            t("犬上郡多賀町", "一円", "イチエン"),
            ("一円".into(), "イチエン".into())
        );
        assert_eq!(
            t(
                "新城市",
                "井道、奥井道、内井道",
                "イミチ、オクイミチ、ウチイミチ"
            ),
            (
                "井道、奥井道、内井道".into(),
                "イミチ、オクイミチ、ウチイミチ".into()
            )
        );
        // A building whose name contains 階 but no floor note is left alone.
        assert_eq!(
            t("京都市山科区", "西野山階町", "ニシノヤマシナチョウ"),
            ("西野山階町".into(), "ニシノヤマシナチョウ".into())
        );
    }

    fn utf_line(code5: &str, postal: &str, kana: &str, town: &str) -> String {
        format!(
            "{code5},\"980  \",\"{postal}\",\"ミヤギケン\",\"センダイシアオバク\",\"{kana}\",\"宮城県\",\"仙台市青葉区\",\"{town}\",0,0,0,0,0,0\r\n"
        )
    }

    #[test]
    fn seq_counts_records_of_the_same_postal_code_in_file_order() {
        let text = [
            utf_line(
                "04101",
                "9800000",
                "イカニケイサイガナイバアイ",
                "以下に掲載がない場合",
            ),
            utf_line("04101", "9800811", "イチバンチョウ", "一番町"),
            utf_line("04101", "9800000", "アオバ", "青葉"),
        ]
        .concat();
        let parsed = parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.format, PostalFormat::UtfKenAll);
        let seqs: Vec<(&str, i64)> = parsed
            .records
            .iter()
            .map(|r| (r.postal_code.as_str(), r.seq))
            .collect();
        assert_eq!(seqs, [("9800000", 0), ("9800811", 0), ("9800000", 1)]);
        assert_eq!(parsed.records[0].town, "");
        assert_eq!(parsed.raw_towns[0].town, NOT_LISTED);
    }

    #[test]
    fn malformed_lines_report_their_line_numbers() {
        let mut text = utf_line("04101", "9800811", "イチバンチョウ", "一番町");
        text.push_str("04101,\"980  \",\"98008\",\"ミヤギケン\",\"センダイシアオバク\",\"ア\",\"宮城県\",\"仙台市青葉区\",\"青葉\",0,0,0,0,0,0\r\n");
        text.push_str("04101,\"980  \",\"9800812\",\"ミヤギケン\"\r\n");
        let err = parse(text.as_bytes()).unwrap_err();
        let RefDataError::InvalidRows { errors, .. } = &err else {
            panic!("unexpected {err:?}")
        };
        assert_eq!(errors.len(), 2);
        assert_eq!(errors[0].location, Location::Line(2));
        assert!(errors[0].message.contains("postal code"), "{}", errors[0]);
        assert_eq!(errors[1].location, Location::Line(3));
        assert!(
            err.to_string()
                .contains("line 3: expected 15 columns, found 4"),
            "{err}"
        );
    }

    #[test]
    fn bytes_in_neither_encoding_are_rejected_with_a_line() {
        let mut bytes = utf_line("04101", "9800811", "イチバンチョウ", "一番町").into_bytes();
        bytes.extend_from_slice(b"04101,\xff\xff\r\n");
        let err = parse(&bytes).unwrap_err();
        assert!(
            matches!(
                err,
                RefDataError::Encoding {
                    location: Location::Line(2)
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn an_unclosed_town_not_continued_is_kept_with_a_warning() {
        let text = [
            utf_line("04101", "9800811", "イチバンチョウ（", "一番町（"),
            utf_line("04101", "9800812", "アオバ", "青葉"),
        ]
        .concat();
        let parsed = parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.records.len(), 2);
        assert_eq!(parsed.warnings.len(), 1);
        assert_eq!(parsed.warnings[0].location, Location::Line(1));
    }

    #[test]
    fn split_lines_join_town_and_kana_once() {
        let line = |kana: &str, town: &str| {
            format!(
                "26102,\"602  \",\"6028134\",\"ｷｮｳﾄﾌ\",\"ｷｮｳﾄｼｶﾐｷﾞｮｳｸ\",\"{kana}\",\"京都府\",\"京都市上京区\",\"{town}\",0,0,0,0,0,0\r\n"
            )
        };
        // Kana repeated on each line (as Japan Post does for 京都市's street notes).
        let repeated = [
            line("ｲｯﾁｮｳﾒ", "一町目（大宮通椹木町下る、"),
            line("ｲｯﾁｮｳﾒ", "丸太町通大宮東入）"),
        ]
        .concat();
        let (text, _, unmappable) = SHIFT_JIS.encode(&repeated);
        assert!(!unmappable);
        let parsed = parse(&text).unwrap();
        assert_eq!(parsed.format, PostalFormat::KenAllSjis);
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(
            parsed.raw_towns[0].town,
            "一町目（大宮通椹木町下る、丸太町通大宮東入）"
        );
        assert_eq!(parsed.raw_towns[0].town_kana, "イッチョウメ");
        // Kana split with the town, with a voiced mark cut from its kana.
        let split = [
            line("ｷｮｳﾜ(88-2､ｶ", "協和（８８−２、"),
            line("ﾞ)", "１番地）"),
        ]
        .concat();
        let (text, _, unmappable) = SHIFT_JIS.encode(&split);
        assert!(!unmappable);
        let parsed = parse(&text).unwrap();
        assert_eq!(
            parsed.raw_towns[0].town_kana,
            "キョウワ（８８\u{2212}２、ガ）"
        );
        assert_eq!(parsed.records[0].town, "協和");
        assert_eq!(parsed.lines, 2);
    }

    #[test]
    fn empty_input_is_rejected() {
        assert!(parse(b"").is_err());
    }
}
