//! The local-government parsers on 総務省's workbook and the normalised CSV (when present).

mod common;

use std::collections::HashMap;

use common::data_file;
use furusato_db::reference::LocalGov;
use furusato_refdata::localgov::{self, LocalGovFormat};

fn load(name: &str) -> Option<(Vec<LocalGov>, LocalGovFormat)> {
    let path = data_file(name)?;
    Some(
        localgov::parse(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
}

#[test]
fn workbook_and_csv_give_the_same_1965_rows() {
    let (Some((xlsx, xf)), Some((mut csv, cf))) =
        (load("soumu_000925835.xlsx"), load("local_gov_codes.csv"))
    else {
        return;
    };
    assert_eq!(xf, LocalGovFormat::SoumuXlsx);
    assert_eq!(cf, LocalGovFormat::Csv);
    assert_eq!(xlsx.len(), 1_965);
    assert_eq!(csv.len(), 1_965);
    csv.sort_by(|a, b| a.code.cmp(&b.code));
    // Identical, kana included: both are the workbook's half-width kana made full-width.
    let diffs: Vec<String> = xlsx
        .iter()
        .zip(&csv)
        .filter(|(x, c)| x != c)
        .take(5)
        .map(|(x, c)| format!("{x:?}\n  vs {c:?}"))
        .collect();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn workbook_kinds_and_parents() {
    let Some((rows, _)) = load("soumu_000925835.xlsx") else {
        return;
    };
    let mut kinds: HashMap<&str, usize> = HashMap::new();
    for r in &rows {
        *kinds.entry(r.kind.as_str()).or_default() += 1;
    }
    let expected = [
        ("prefecture", 47),
        ("designated_city", 20),
        ("city", 772),
        ("town", 743),
        ("village", 189),
        ("special_ward", 23),
        ("ward", 171),
    ];
    assert_eq!(kinds, HashMap::from(expected));
    let by_code: HashMap<&str, &LocalGov> = rows.iter().map(|r| (r.code.as_str(), r)).collect();
    let row = |code: &str| by_code[code];
    assert_eq!(row("041017").parent_code.as_deref(), Some("041009"));
    assert_eq!(row("041017").name, "仙台市青葉区");
    assert_eq!(row("041017").name_kana, "センダイシアオバク");
    assert_eq!(row("041009").kind, "designated_city");
    assert_eq!(row("041009").parent_code.as_deref(), Some("040002"));
    assert_eq!(row("221384").parent_code.as_deref(), Some("221309"));
    assert_eq!(row("221384").name, "浜松市中央区");
    assert_eq!(row("131016").kind, "special_ward");
    assert_eq!(row("131016").parent_code.as_deref(), Some("130001"));
    assert_eq!(row("010006").name, "北海道");
    assert_eq!(row("010006").name_kana, "ホッカイドウ");
    assert_eq!(row("010006").parent_code, None);
    assert_eq!(
        row("431044").name,
        "熊本市南区",
        "numeric code cells are read as 6 digits"
    );
    // 浜松市 has exactly its three 2024 wards.
    let hamamatsu: Vec<&str> = rows
        .iter()
        .filter(|r| r.parent_code.as_deref() == Some("221309"))
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(hamamatsu, ["浜松市中央区", "浜松市浜名区", "浜松市天竜区"]);
    // Full-size ヨ as published (四條畷市 ｼｼﾞﾖｳﾅﾜﾃｼ): kana are widened, never "corrected".
    assert!(
        rows.iter()
            .any(|r| r.name == "四條畷市" && r.name_kana == "シジヨウナワテシ")
    );
}

#[test]
fn a_damaged_csv_row_is_rejected_with_its_line() {
    let Some(path) = data_file("local_gov_codes.csv") else {
        return;
    };
    let text = std::fs::read_to_string(path).unwrap();
    // Line 1 is the header; break the check digit of the 101st data row.
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let code = lines[101][..6].to_owned();
    let wrong = format!("{}{}", &code[..5], (code.as_bytes()[5] - b'0' + 1) % 10);
    lines[101] = lines[101].replacen(&code, &wrong, 1);
    let err = localgov::parse_csv(lines.join("\n").as_bytes()).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("line 102: code {wrong} fails the check digit")),
        "{err}"
    );
}
