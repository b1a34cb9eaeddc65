//! Row-level validation: every record becomes a donation or a row error with a Japanese
//! message, and bad rows never take good ones down with them.

#[path = "csv_common.rs"]
mod common;

use common::{cp932, line};
use furusato_portals::csv_import::{ImportedDonation, Profile, RowError, parse_file};

const HEADER: [&str; 5] = ["寄附者番号", "申込日", "氏名", "寄附金額", "〒"];

fn file(rows: &[&[&str]]) -> Vec<u8> {
    let mut text = line(&HEADER);
    text.push_str("\r\n");
    for row in rows {
        text.push_str(&line(row));
        text.push_str("\r\n");
    }
    cp932(&text)
}

fn errors(rows: &[Result<ImportedDonation, RowError>]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| r.as_ref().err())
        .map(RowError::display_ja)
        .collect()
}

#[test]
fn each_kind_of_bad_row_gets_its_japanese_message() {
    let bytes = file(&[
        &["V1", "2026-01-05", "山田 太郎", "10000", "100-0001"],
        &["", "2026-01-05", "山田 太郎", "10000", ""],
        &["V3", "2026-01-05", "山田 太郎", "abc", ""],
        &["V4", "2026-01-05", "山田 太郎", "0", ""],
        &["V5", "2026-01-05", "山田 太郎", "-100", ""],
        &["V6", "2026/13/01", "山田 太郎", "10000", ""],
        &["V7", "2026-01-05", "", "10000", ""],
        &["V8", "2026-01-05", "山田 太郎", "10000", "123-456"],
        &["V1", "2026-01-06", "佐藤 次郎", "20000", ""],
        &["V10", "2026-01-05", "山田 太郎"],
        &["V11", "2026-01-05", "山田 太郎", "10000", "", "余分な値"],
        &["V12", "", "山田 太郎", "10000", ""],
        &["V13", "2026-01-05", "山田 太郎", "", ""],
    ]);
    let outcome = parse_file(&Profile::Choice, &bytes).unwrap();
    assert_eq!(outcome.rows.len(), 13, "never lose a row");
    assert_eq!(outcome.stats.ok, 1);
    assert_eq!(outcome.stats.errors, 12);
    assert_eq!(outcome.stats.duplicates, 1);
    assert_eq!(
        errors(&outcome.rows),
        vec![
            "3行目: 寄附番号がありません",
            "4行目: 寄附金額が正しくありません: abc",
            "5行目: 寄附金額が正しくありません: 0",
            "6行目: 寄附金額が正しくありません: -100",
            "7行目: 申込日の日付が正しくありません: 2026/13/01",
            "8行目: 寄附者の氏名がありません",
            "9行目: 郵便番号が7桁ではありません: 123-456",
            "10行目: 寄附番号「V1」が2行目と重複しています",
            "11行目: 列数が見出しと一致しません（見出し5列、この行3列）",
            "12行目: 列数が見出しと一致しません（見出し5列、この行6列）",
            "13行目: 申込日がありません",
            "14行目: 寄附金額がありません",
        ]
    );
    let columns: Vec<Option<&str>> = outcome
        .rows
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|e| e.column.as_deref())
        .collect();
    assert_eq!(
        columns,
        vec![
            Some("寄附者番号"),
            Some("寄附金額"),
            Some("寄附金額"),
            Some("寄附金額"),
            Some("申込日"),
            Some("氏名"),
            Some("〒"),
            Some("寄附者番号"),
            None,
            None,
            Some("申込日"),
            Some("寄附金額"),
        ]
    );
}

#[test]
fn accepted_amount_spellings() {
    let bytes = file(&[
        &["A1", "2026-01-05", "山田 太郎", "10,000", ""],
        &["A2", "2026-01-05", "山田 太郎", "10000円", ""],
        &["A3", "2026-01-05", "山田 太郎", "１０，０００", ""],
        &["A4", "2026-01-05", "山田 太郎", "￥10,000", ""],
    ]);
    let outcome = parse_file(&Profile::Choice, &bytes).unwrap();
    let amounts: Vec<i64> = outcome
        .rows
        .iter()
        .map(|r| r.as_ref().unwrap().amount)
        .collect();
    assert_eq!(amounts, vec![10_000; 4]);
}

#[test]
fn all_problems_of_a_row_are_listed() {
    let bytes = file(&[&["", "2026-02-30", "", "1.5", "12-34"]]);
    let outcome = parse_file(&Profile::Choice, &bytes).unwrap();
    let err = outcome.rows[0].as_ref().unwrap_err();
    let messages: Vec<&str> = err.problems.iter().map(|p| p.message_ja.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "寄附番号がありません",
            "申込日の日付が正しくありません: 2026-02-30",
            "寄附金額が正しくありません: 1.5",
            "寄附者の氏名がありません",
        ]
    );
    assert_eq!(
        err.message_ja,
        "寄附番号がありません、申込日の日付が正しくありません: 2026-02-30、寄附金額が正しくありません: 1.5、寄附者の氏名がありません"
    );
    assert_eq!(err.column.as_deref(), Some("寄附者番号"));
    assert_eq!(err.raw.get("寄附金額"), Some("1.5"));
}

#[test]
fn one_bad_row_among_good_ones_keeps_the_good_ones() {
    let bytes = file(&[
        &["G1", "2026-01-05", "山田 太郎", "10000", ""],
        &["G2", "2026-01-05", "髙橋 花子", "11000", ""],
        &["G3", "2026-01-05", "山﨑 一郎", "ten thousand", ""],
        &["G4", "2026-01-05", "佐藤 次郎", "13000", ""],
        &["G5", "2026-01-05", "山田 花子", "14000", ""],
    ]);
    let outcome = parse_file(&Profile::Choice, &bytes).unwrap();
    let summary: Vec<(usize, bool)> = outcome
        .rows
        .iter()
        .map(|r| match r {
            Ok(d) => (d.line, true),
            Err(e) => (e.line, false),
        })
        .collect();
    assert_eq!(
        summary,
        vec![(2, true), (3, true), (4, false), (5, true), (6, true)]
    );
    assert_eq!(outcome.stats.ok, 4);
    assert_eq!(outcome.stats.errors, 1);
}

#[test]
fn duplicate_names_the_first_line_even_when_the_first_row_failed_otherwise() {
    let bytes = file(&[
        &["D1", "2026-01-05", "山田 太郎", "bad", ""],
        &["D2", "2026-01-05", "山田 太郎", "10000", ""],
        &["D1", "2026-01-05", "山田 太郎", "10000", ""],
        &["D1", "2026-01-05", "山田 太郎", "10000", ""],
    ]);
    let outcome = parse_file(&Profile::Choice, &bytes).unwrap();
    assert_eq!(
        errors(&outcome.rows),
        vec![
            "2行目: 寄附金額が正しくありません: bad",
            "4行目: 寄附番号「D1」が2行目と重複しています",
            "5行目: 寄附番号「D1」が2行目と重複しています",
        ]
    );
    assert_eq!(outcome.stats.duplicates, 2);
}

#[test]
fn unclosed_quote_is_explained() {
    let text = "寄附者番号,申込日,氏名,寄附金額,〒\r\n\
                U1,2026-01-05,\"山田 太郎,10000,\r\n\
                U2,2026-01-05,佐藤 次郎,10000,\r\n";
    let outcome = parse_file(&Profile::Choice, &cp932(text)).unwrap();
    assert_eq!(outcome.rows.len(), 1);
    let err = outcome.rows[0].as_ref().unwrap_err();
    assert_eq!(
        err.display_ja(),
        "2行目: 列数が見出しと一致しません（見出し5列、この行3列）。2行目から4行目までが1件として読まれました。引用符（\"）が閉じられていない可能性があります"
    );
}

#[test]
fn ship_to_without_name_and_bad_flags_are_reported() {
    let text = "寄附者番号,申込日,氏名,寄附金額,返礼品1_コード,返礼品1_名称,返礼品1_送り先_郵便番号,ワンストップ特例_要望,返礼品辞退\r\n\
                F1,2026-01-05,山田 太郎,10000,G1,牛たん,100-0001,たぶん,\r\n\
                F2,2026-01-05,山田 太郎,10000,G1,牛たん,,希望する,いらない\r\n";
    let outcome = parse_file(&Profile::Choice, &cp932(text)).unwrap();
    assert_eq!(
        errors(&outcome.rows),
        vec![
            "2行目: お届け先の氏名がありません、ワンストップ特例の希望の値が正しくありません: たぶん",
            "3行目: 返礼品辞退の値が正しくありません: いらない",
        ]
    );
}
