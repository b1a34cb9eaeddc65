//! The postal parser on Japan Post's files: the fixtures always, the complete files when present.

mod common;

use std::collections::HashSet;

use common::{SJIS_FIXTURE, UTF_FIXTURE, data_file};
use furusato_refdata::postal::{self, PostalFormat, PostalParse};

fn parse_file(name: &str) -> Option<PostalParse> {
    let path = data_file(name)?;
    let bytes = std::fs::read(&path).expect("read data file");
    Some(postal::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Panics with the first differing records, if any.
fn assert_same_records(a: &PostalParse, b: &PostalParse) {
    assert_eq!(a.records.len(), b.records.len(), "record counts differ");
    let diffs: Vec<String> = a
        .records
        .iter()
        .zip(&b.records)
        .zip(a.raw_towns.iter().zip(&b.raw_towns))
        .filter(|((ra, rb), (ta, tb))| ra != rb || ta != tb)
        .take(5)
        .map(|((ra, rb), (ta, tb))| format!("{ra:?} {ta:?}\n  vs {rb:?} {tb:?}"))
        .collect();
    assert!(diffs.is_empty(), "records differ:\n{}", diffs.join("\n"));
}

#[test]
fn fixtures_in_both_formats_give_identical_records() {
    let (Some(utf), Some(sjis)) = (parse_file(UTF_FIXTURE), parse_file(SJIS_FIXTURE)) else {
        return;
    };
    assert_eq!(utf.format, PostalFormat::UtfKenAll);
    assert_eq!(sjis.format, PostalFormat::KenAllSjis);
    assert_eq!(utf.records.len(), 19);
    assert_eq!(utf.lines, 19);
    assert_eq!(sjis.lines, 21, "KEN_ALL splits 〒066-0005 over 3 lines");
    assert!(utf.warnings.is_empty() && sjis.warnings.is_empty());
    assert_same_records(&utf, &sjis);
}

#[test]
fn ken_all_split_town_is_joined() {
    let Some(sjis) = parse_file(SJIS_FIXTURE) else {
        return;
    };
    let at: Vec<usize> = (0..sjis.records.len())
        .filter(|&i| sjis.records[i].postal_code == "0660005")
        .collect();
    assert_eq!(at.len(), 1, "the 3 lines of 〒066-0005 make one record");
    let (record, raw) = (&sjis.records[at[0]], &sjis.raw_towns[at[0]]);
    assert_eq!(
        raw.town,
        "協和（８８−２、２７１−１０、３４３−２、４０４−１、４２７−３、４３１−１２、４４３−６、６０８−２、６４１−８、８１４、８４２−５、１１３７−３、１３９２、１６５７、１７５２番地）"
    );
    assert_eq!(
        raw.town_kana,
        "キョウワ（８８−２、２７１−１０、３４３−２、４０４−１、４２７−３、４３１−１２、４４３−６、６０８−２、６４１−８、８１４、８４２−５、１１３７−３、１３９２、１６５７、１７５２バンチ）"
    );
    assert_eq!(
        (record.town.as_str(), record.town_kana.as_str()),
        ("協和", "キョウワ")
    );
    assert_eq!(
        (
            record.city.as_str(),
            record.local_gov_code5.as_str(),
            record.seq
        ),
        ("千歳市", "01224", 0)
    );
}

#[test]
fn fixture_records_are_normalised_for_autofill() {
    let Some(utf) = parse_file(UTF_FIXTURE) else {
        return;
    };
    let find = |code: &str, seq: i64| {
        utf.records
            .iter()
            .find(|r| r.postal_code == code && r.seq == seq)
            .unwrap_or_else(|| panic!("{code}/{seq}"))
    };
    let sendai = find("9800000", 0);
    assert_eq!(
        (
            sendai.prefecture.as_str(),
            sendai.city.as_str(),
            sendai.town.as_str(),
            sendai.town_kana.as_str()
        ),
        ("宮城県", "仙台市青葉区", "", "")
    );
    let chiyoda = find("1020082", 0);
    assert_eq!(
        (chiyoda.town.as_str(), chiyoda.town_kana.as_str()),
        ("一番町", "イチバンチョウ")
    );
    assert_eq!(chiyoda.city_kana, "チヨダク");
    // 〒432-0000 is listed for the three wards of 浜松市, in file order.
    let wards: Vec<(&str, i64)> = utf
        .records
        .iter()
        .filter(|r| r.postal_code == "4320000")
        .map(|r| (r.city.as_str(), r.seq))
        .collect();
    assert_eq!(
        wards,
        [
            ("浜松市中央区", 0),
            ("浜松市浜名区", 1),
            ("浜松市天竜区", 2)
        ]
    );
}

#[test]
fn complete_files_give_the_same_124511_records() {
    let (Some(utf), Some(sjis)) = (parse_file("utf_ken_all.csv"), parse_file("KEN_ALL.CSV")) else {
        return;
    };
    assert_eq!(utf.records.len(), 124_511);
    assert_eq!(sjis.records.len(), 124_511);
    assert_eq!(utf.lines, 124_511);
    assert_eq!(sjis.lines, 124_825);
    assert!(utf.warnings.is_empty(), "{:?}", utf.warnings);
    assert!(sjis.warnings.is_empty(), "{:?}", sjis.warnings);
    assert_same_records(&utf, &sjis);

    // (postal_code, seq) is the table's primary key: it must be unique.
    let keys: HashSet<(&str, i64)> = utf
        .records
        .iter()
        .map(|r| (r.postal_code.as_str(), r.seq))
        .collect();
    assert_eq!(keys.len(), 124_511);
    // Japan Post's 〜/− survive the Shift_JIS route (CP932 would give ～/－).
    assert!(sjis.raw_towns.iter().any(|t| t.town.contains('〜')));
    assert!(!sjis.raw_towns.iter().any(|t| t.town.contains(['～', '－'])));
    // No half-width kana or ASCII is left in any kana column.
    let half_width = |s: &str| {
        s.chars()
            .any(|c| c.is_ascii() || ('\u{FF61}'..='\u{FF9F}').contains(&c))
    };
    assert!(!sjis.records.iter().any(|r| half_width(&r.prefecture_kana)
        || half_width(&r.city_kana)
        || half_width(&r.town_kana)));
}

#[test]
fn complete_file_spot_checks() {
    let Some(utf) = parse_file("utf_ken_all.csv") else {
        return;
    };
    let get = |code: &str| -> Vec<&furusato_db::reference::PostalRecord> {
        utf.records
            .iter()
            .filter(|r| r.postal_code == code)
            .collect()
    };
    let ichibancho = get("9800811");
    assert_eq!(ichibancho.len(), 1);
    assert_eq!(
        (
            ichibancho[0].prefecture.as_str(),
            ichibancho[0].city.as_str(),
            ichibancho[0].town.as_str()
        ),
        ("宮城県", "仙台市青葉区", "一番町")
    );
    assert_eq!(ichibancho[0].local_gov_code5, "04101");
    // A building floor keeps its floor; the "unknown floor" code keeps just the building.
    assert_eq!(get("4506201")[0].town, "名駅ミッドランドスクエア１階");
    assert_eq!(get("4506290")[0].town, "名駅ミッドランドスクエア");
    // 「以下に掲載がない場合」 and 「…一円」 become an empty town.
    assert!(
        get("1000301").iter().all(|r| r.town.is_empty()),
        "{:?}",
        get("1000301")
    );
    assert!(
        !utf.records
            .iter()
            .any(|r| r.town.contains('（') || r.town.contains("以下に掲載がない場合"))
    );
    assert!(!utf.records.iter().any(|r| r.town_kana.contains('（')));
}

#[test]
fn postal_municipalities_match_the_local_government_list() {
    // PROVENANCE.md: postal column 1 = the 総務省 municipalities − the 20 政令市 + the 171 wards
    // − the 6 北方領土 villages = 1,892 codes.
    let Some(utf) = parse_file("utf_ken_all.csv") else {
        return;
    };
    let Some(csv_path) = data_file("local_gov_codes.csv") else {
        return;
    };
    let local = furusato_refdata::localgov::parse_csv(&std::fs::read(csv_path).unwrap()).unwrap();
    let postal: HashSet<&str> = utf
        .records
        .iter()
        .map(|r| r.local_gov_code5.as_str())
        .collect();
    let expected: HashSet<&str> = local
        .iter()
        .filter(|r| !matches!(r.kind.as_str(), "prefecture" | "designated_city"))
        .filter(|r| !("01695".."01701").contains(&r.code5.as_str()))
        .map(|r| r.code5.as_str())
        .collect();
    assert_eq!(postal.len(), 1_892);
    assert_eq!(postal, expected);
}
