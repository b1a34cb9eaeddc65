//! Built-in profiles: ふるさとチョイス and レッドホース.

#[path = "csv_common.rs"]
mod common;

use common::{choice_table, cp932, redhorse_table, utf8_bom};
use furusato_portals::csv_import::{
    ImportError, ImportedDonation, ImportedGift, Profile, parse_file,
};
use time::macros::date;

fn ok(
    outcome_rows: &[Result<ImportedDonation, furusato_portals::csv_import::RowError>],
) -> Vec<&ImportedDonation> {
    outcome_rows
        .iter()
        .map(|r| {
            r.as_ref()
                .unwrap_or_else(|e| panic!("unexpected row error {e}"))
        })
        .collect()
}

#[test]
fn choice_profile_reads_groups_uses_and_people_in_any_column_order() {
    let outcome = parse_file(&Profile::Choice, &cp932(&choice_table().to_csv("\r\n"))).unwrap();
    assert_eq!(outcome.stats.ok, 3, "{:?}", outcome.rows);
    let rows = ok(&outcome.rows);

    let first = rows[0];
    assert_eq!(first.external_id, "CH-0001");
    assert_eq!(first.applied_on, Some(date!(2026 - 01 - 05)));
    assert_eq!(first.paid_on, Some(date!(2026 - 01 - 07)));
    assert_eq!(first.amount, 30_000);
    assert_eq!(first.payment_method.as_deref(), Some("クレジットカード"));
    assert_eq!(first.payment_status_raw.as_deref(), Some("決済完了"));
    assert_eq!(first.donor.family_name, "髙橋");
    assert_eq!(first.donor.given_name.as_deref(), Some("花子"));
    assert_eq!(first.donor.postal_code.as_deref(), Some("980-0000"));
    assert_eq!(first.donor.sex.as_deref(), Some("女"));
    assert_eq!(first.donor.birth_date, Some(date!(1980 - 04 - 01)));
    assert_eq!(first.donor.email.as_deref(), Some("hanako@example.jp"));
    assert_eq!(first.onestop_wanted, Some(true));
    assert_eq!(first.publication, Some(true));
    assert_eq!(first.message.as_deref(), Some("がんばってください"));
    assert_eq!(first.message_publication, Some(true));
    assert_eq!(first.remarks.as_deref(), Some("のし不要"));
    assert_eq!(first.use_of_funds.as_deref(), Some("子育て支援"));
    assert!(!first.gift_declined);

    let codes: Vec<Option<&str>> = first.gifts.iter().map(|g| g.code.as_deref()).collect();
    assert_eq!(codes, vec![Some("G-01"), Some("G-02"), Some("G-03")]);
    assert_eq!(first.gifts[1].name, "笹かまぼこ①");
    assert!(first.gifts.iter().all(|g| g.quantity == 1));
    assert!(first.gifts[0].ship_to.is_none());
    let gift_ship_to = first.gifts[1].ship_to.as_ref().unwrap();
    assert_eq!(gift_ship_to.family_name, "山田");
    assert_eq!(gift_ship_to.address1.as_deref(), Some("架空町1-2-3"));
    // the donation-level ship-to is the first gift address found
    assert_eq!(first.ship_to.as_ref(), Some(gift_ship_to));
    let documents = first.documents_to.as_ref().unwrap();
    assert_eq!(documents.family_name, "髙橋");
    assert_eq!(documents.given_name.as_deref(), Some("一郎"));
    assert_eq!(documents.postal_code.as_deref(), Some("9800000"));

    // unknown columns are ignored but kept in raw
    assert_eq!(first.raw.get("独自管理列"), Some("X-1"));
    assert_eq!(first.raw.len(), outcome.headers.len());

    let second = rows[1];
    assert_eq!(
        second.donor.family_name, "佐藤次郎",
        "no space: whole name kept as family name"
    );
    assert_eq!(second.donor.given_name, None);
    // several uses are listed in column order (reversed in this file)
    assert_eq!(second.use_of_funds.as_deref(), Some("環境保全、子育て支援"));
    assert_eq!(second.onestop_wanted, Some(false));
    assert_eq!(second.ship_to, None);
    assert_eq!(second.documents_to, None);

    let third = rows[2];
    assert!(third.gift_declined);
    assert!(third.gifts.is_empty());
    assert_eq!(
        third.use_of_funds.as_deref(),
        Some("環境保全"),
        "chosen by amount"
    );
    assert_eq!(third.onestop_wanted, None);
}

#[test]
fn choice_profile_without_required_columns_names_them() {
    let text = "寄附者番号,氏名,フリガナ\r\n1,山田 太郎,ヤマダ タロウ\r\n";
    let err = parse_file(&Profile::Choice, &cp932(text)).unwrap_err();
    assert!(matches!(err, ImportError::MissingColumns { .. }));
    assert_eq!(err.message_ja(), "必要な列がありません: 申込日、寄附金額");
}

#[test]
fn choice_raw_record_serialises_as_header_value_pairs() {
    let outcome = parse_file(&Profile::Choice, choice_table().to_csv("\n").as_bytes()).unwrap();
    let first = outcome.rows[0].as_ref().unwrap();
    let json = serde_json::to_value(first).unwrap();
    assert_eq!(json["applied_on"], "2026-01-05");
    assert_eq!(json["donor"]["birth_date"], "1980-04-01");
    let raw = json["raw"].as_array().unwrap();
    assert!(
        raw.iter()
            .any(|pair| pair[0] == "独自管理列" && pair[1] == "X-1")
    );
}

#[test]
fn redhorse_profile_reads_bracketed_gifts_hiragana_and_onestop() {
    let outcome = parse_file(
        &Profile::RedHorse,
        &utf8_bom(&redhorse_table().to_csv("\r\n")),
    )
    .unwrap();
    assert_eq!(outcome.stats.ok, 2, "{:?}", outcome.rows);
    let rows = ok(&outcome.rows);

    let first = rows[0];
    assert_eq!(first.external_id, "RH-1001");
    assert_eq!(first.applied_on, Some(date!(2026 - 01 - 05)));
    assert_eq!(first.paid_on, Some(date!(2026 - 01 - 08)));
    assert_eq!(first.amount, 12_000);
    assert_eq!(first.donor.kana.as_deref(), Some("やまだ たろう"));
    assert_eq!(
        first.donor.address1.as_deref(),
        Some("架空町1-2-3 テストビル101")
    );
    assert_eq!(first.donor.address2, None);
    assert_eq!(
        first.donor.sex.as_deref(),
        Some("男"),
        "survey sex is the fallback"
    );
    assert_eq!(first.donor.birth_date, Some(date!(1975 - 12 - 31)));
    assert_eq!(first.payment_status_raw.as_deref(), Some("OK"));
    assert_eq!(first.use_of_funds.as_deref(), Some("子育て支援"));
    assert_eq!(first.publication, Some(false));
    assert_eq!(first.onestop_wanted, Some(true));
    assert_eq!(first.message.as_deref(), Some("応援しています"));
    assert_eq!(
        first.gifts,
        vec![
            ImportedGift {
                code: Some("SD0001".into()),
                name: "牛たん 500g".into(),
                quantity: 1,
                ship_to: None
            },
            ImportedGift {
                code: Some("SD0002".into()),
                name: "笹かま①".into(),
                quantity: 1,
                ship_to: None
            },
        ]
    );
    let ship_to = first.ship_to.as_ref().unwrap();
    assert_eq!(ship_to.family_name, "髙橋");
    assert_eq!(ship_to.kana.as_deref(), Some("たかはし はなこ"));
    assert_eq!(ship_to.postal_code.as_deref(), Some("980-0000"));

    let second = rows[1];
    assert_eq!(second.amount, 8_000);
    assert_eq!(second.onestop_wanted, Some(false));
    assert!(second.gift_declined);
    assert!(second.gifts.is_empty());
    assert_eq!(second.ship_to, None);
    let documents = second.documents_to.as_ref().unwrap();
    assert_eq!(documents.family_name, "佐藤");
    assert_eq!(documents.given_name.as_deref(), Some("三郎"));
    assert_eq!(documents.address1.as_deref(), Some("仮町2丁目"));
}

#[test]
fn builtin_profiles_by_name() {
    assert_eq!(Profile::builtin("choice"), Some(Profile::Choice));
    assert_eq!(Profile::builtin("レッドホース"), Some(Profile::RedHorse));
    assert_eq!(Profile::Choice.name(), "choice");
    assert_eq!(Profile::RedHorse.label_ja(), "レッドホース形式");
}
