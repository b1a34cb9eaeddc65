//! Encodings, line handling and undecodable bytes, through the public parsing API.

#[path = "csv_common.rs"]
mod common;

use common::{PEOPLE, Table, choice_headers, cp932, utf8_bom};
use furusato_portals::csv_import::{
    ImportedDonation, Profile, RowError, SourceEncoding, detect_and_decode, parse_file,
    parse_stream,
};

/// A small チョイス table with the fictitious people, one donation each.
fn people_table() -> Table {
    let mut t = Table::new(&choice_headers(1, &["子育て支援"]));
    for (i, p) in PEOPLE.iter().enumerate() {
        let id = format!("C{:05}", i + 1);
        let amount = format!("{},000", 10 + i);
        t.row(&[
            ("寄附者番号", &id),
            ("申込日", "2026-01-05"),
            ("入金日", "2026/01/06"),
            ("氏名", p[0]),
            ("フリガナ", p[1]),
            ("〒", p[2]),
            ("都道府県", p[3]),
            ("市区町村", p[4]),
            ("町名・番地", p[5]),
            ("マンション名", p[6]),
            ("電話番号", p[7]),
            ("E-mailアドレス", p[8]),
            ("寄附金額", &amount),
            ("寄附金の払込方法", "クレジットカード"),
            ("返礼品1_コード", "A001"),
            ("返礼品1_名称", "ずんだ餅①～③ セット"),
        ]);
    }
    t
}

fn ok_rows(rows: &[Result<ImportedDonation, RowError>]) -> Vec<&ImportedDonation> {
    rows.iter()
        .map(|r| {
            r.as_ref()
                .unwrap_or_else(|e| panic!("unexpected row error {e}"))
        })
        .collect()
}

#[test]
fn cp932_file_round_trips_vendor_specific_characters() {
    let text = people_table().to_csv("\r\n");
    let outcome = parse_file(&Profile::Choice, &cp932(&text)).unwrap();
    assert_eq!(outcome.encoding, SourceEncoding::Cp932);
    assert_eq!(outcome.stats.records, PEOPLE.len());
    assert_eq!(outcome.stats.ok, PEOPLE.len());
    let rows = ok_rows(&outcome.rows);

    let hanako = &rows[1].donor;
    assert_eq!(hanako.family_name, "髙橋");
    assert_eq!(hanako.given_name.as_deref(), Some("花子"));
    assert_eq!(hanako.kana.as_deref(), Some("タカハシ　ハナコ"));
    assert_eq!(hanako.address1.as_deref(), Some("見本通り①番地"));
    assert_eq!(hanako.address2.as_deref(), Some("㈱架空商事寮 2F"));

    let ichiro = &rows[2].donor;
    assert_eq!(ichiro.family_name, "山﨑");
    assert_eq!(ichiro.address1.as_deref(), Some("試験町３－４～５"));
    assert_eq!(rows[2].gifts[0].name, "ずんだ餅①～③ セット");

    // hiragana kana is kept raw
    assert_eq!(rows[3].donor.kana.as_deref(), Some("さとう じろう"));
    // the raw record keeps every column, exactly
    assert_eq!(rows[1].raw.get("町名・番地"), Some("見本通り①番地"));
    assert_eq!(rows[1].raw.len(), outcome.headers.len());
    // line numbers: header is line 1
    let lines: Vec<usize> = rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![2, 3, 4, 5]);
}

#[test]
fn utf8_with_and_without_bom_give_the_same_records_as_cp932() {
    let table = people_table();
    let from_cp932 = parse_file(&Profile::Choice, &cp932(&table.to_csv("\r\n"))).unwrap();
    let from_bom = parse_file(&Profile::Choice, &utf8_bom(&table.to_csv("\r\n"))).unwrap();
    let from_utf8 = parse_file(&Profile::Choice, table.to_csv("\n").as_bytes()).unwrap();
    assert_eq!(from_bom.encoding, SourceEncoding::Utf8Bom);
    assert_eq!(from_utf8.encoding, SourceEncoding::Utf8);
    assert_eq!(
        from_bom.headers[0], "寄附者番号",
        "BOM must not stick to the first header"
    );
    assert_eq!(from_cp932.rows, from_bom.rows);
    assert_eq!(from_cp932.headers, from_utf8.headers);
    assert_eq!(ok_rows(&from_utf8.rows).len(), PEOPLE.len());
}

#[test]
fn quoted_newlines_commas_and_quotes_in_remarks_survive_exactly() {
    let mut t = Table::new(&choice_headers(0, &[]));
    let remarks = "一行目：髙橋様より\r\n二行目, カンマと \"引用\" ①";
    t.row(&[
        ("寄附者番号", "Q1"),
        ("申込日", "2026-02-01"),
        ("氏名", "山田 太郎"),
        ("寄附金額", "5000"),
        ("備考", remarks),
    ]);
    t.row(&[
        ("寄附者番号", "Q2"),
        ("申込日", "2026-02-01"),
        ("氏名", "佐藤 次郎"),
        ("寄附金額", "6000"),
    ]);
    for bytes in [cp932(&t.to_csv("\r\n")), t.to_csv("\r\n").into_bytes()] {
        let outcome = parse_file(&Profile::Choice, &bytes).unwrap();
        let rows = ok_rows(&outcome.rows);
        assert_eq!(rows[0].remarks.as_deref(), Some(remarks));
        assert_eq!(rows[0].line, 2);
        // the quoted line break makes the next record start on line 4
        assert_eq!(rows[1].line, 4);
    }
}

#[test]
fn undecodable_bytes_reject_only_their_row_with_the_line_number() {
    let headers = "寄附者番号,申込日,氏名,寄附金額\r\n";
    let mut bytes = cp932(headers);
    bytes.extend_from_slice(&cp932("B1,2026-01-05,髙橋 花子,10000\r\n"));
    // line 3: 0x85 0x40 is an unassigned CP932 code
    bytes.extend_from_slice(&cp932("B2,2026-01-05,"));
    bytes.extend_from_slice(b"\x85\x40");
    bytes.extend_from_slice(&cp932(" 太郎,10000\r\n"));
    // line 4: 0xFF is never valid
    bytes.extend_from_slice(&cp932("B3,2026-01-05,山﨑 一郎,"));
    bytes.extend_from_slice(b"1\xFF0\r\n");
    bytes.extend_from_slice(&cp932("B4,2026-01-05,佐藤 次郎,20000\r\n"));

    let decoded = detect_and_decode(&bytes).unwrap();
    assert_eq!(decoded.encoding, SourceEncoding::Cp932);
    assert_eq!(decoded.lossy_lines, vec![3, 4]);
    assert_eq!(
        decoded.lossy_messages_ja()[0],
        "3行目: 文字コードを判別できない文字があります"
    );

    let outcome = parse_file(&Profile::Choice, &bytes).unwrap();
    assert_eq!(outcome.stats.records, 4);
    assert_eq!(outcome.stats.ok, 2);
    assert_eq!(outcome.stats.undecodable, 2);
    let errors: Vec<&RowError> = outcome
        .rows
        .iter()
        .filter_map(|r| r.as_ref().err())
        .collect();
    assert_eq!(errors.len(), 2);
    assert_eq!(
        errors[0].display_ja(),
        "3行目: 文字コードを判別できない文字があります"
    );
    assert_eq!(errors[0].column.as_deref(), Some("氏名"));
    assert_eq!(errors[1].line, 4);
    assert_eq!(errors[1].column.as_deref(), Some("寄附金額"));
    // the rejected row is still shown (lossily) in the preview, other cells intact
    assert_eq!(errors[0].raw.get("寄附者番号"), Some("B2"));
    assert!(errors[0].raw.get("氏名").unwrap().contains('\u{FFFD}'));
    let ok_ids: Vec<&str> = outcome
        .rows
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|d| d.external_id.as_str())
        .collect();
    assert_eq!(ok_ids, vec!["B1", "B4"]);
}

#[test]
fn trailing_commas_blank_lines_and_lf_only() {
    let text = "寄附者番号,申込日,氏名,寄附金額,\n\
                T1,2026-01-05,山田 太郎,10000,\n\
                \n\
                T2,2026-01-06,佐藤 次郎,20000,\n\
                ,,,,\n\
                \n\n";
    let outcome = parse_file(&Profile::Choice, text.as_bytes()).unwrap();
    assert_eq!(
        outcome.headers,
        vec!["寄附者番号", "申込日", "氏名", "寄附金額"]
    );
    assert_eq!(outcome.stats.records, 2);
    assert_eq!(outcome.stats.blank_records, 1);
    let rows = ok_rows(&outcome.rows);
    assert_eq!(rows[0].line, 2);
    assert_eq!(rows[1].line, 4);
    assert_eq!(rows[1].amount, 20_000);
}

#[test]
fn last_record_without_line_break_is_read() {
    let text = "寄附者番号,申込日,氏名,寄附金額\r\nE1,2026-01-05,山田 太郎,10000";
    let outcome = parse_file(&Profile::Choice, &cp932(text)).unwrap();
    assert_eq!(outcome.stats.ok, 1);
}

#[test]
fn streaming_and_in_memory_parsing_agree() {
    // More than the 64 KiB sniff block, so decoding continues past the first buffer.
    let mut t = people_table();
    let template = t.rows.clone();
    for n in 0..600 {
        for (i, row) in template.iter().enumerate() {
            let mut row = row.clone();
            row[0] = format!("S{n:04}-{i}");
            t.rows.push(row);
        }
    }
    let bytes = cp932(&t.to_csv("\r\n"));
    assert!(bytes.len() > 64 * 1024);
    let in_memory = parse_file(&Profile::Choice, &bytes).unwrap();
    let mut streamed = Vec::new();
    let summary = parse_stream(&Profile::Choice, &bytes[..], |row| streamed.push(row)).unwrap();
    assert_eq!(summary.encoding, SourceEncoding::Cp932);
    assert_eq!(summary.stats, in_memory.stats);
    assert_eq!(streamed, in_memory.rows);
    assert_eq!(in_memory.stats.ok, t.rows.len());
}

#[test]
fn empty_file_is_a_file_level_error() {
    let err = parse_file(&Profile::Choice, b"").unwrap_err();
    assert_eq!(err.message_ja(), "ファイルが空です");
    let err = parse_file(&Profile::Choice, b"\r\n\r\n").unwrap_err();
    assert_eq!(err.message_ja(), "ファイルが空です");
}

#[test]
fn undecodable_header_is_a_file_level_error() {
    let mut bytes = cp932("寄附者番号,申込日,");
    bytes.extend_from_slice(b"\xFF");
    bytes.extend_from_slice(&cp932(",寄附金額\r\nX,2026-01-01,山田,1\r\n"));
    let err = parse_file(&Profile::Choice, &bytes).unwrap_err();
    assert_eq!(
        err.message_ja(),
        "1行目（見出し行）: 文字コードを判別できない文字があります"
    );
}
