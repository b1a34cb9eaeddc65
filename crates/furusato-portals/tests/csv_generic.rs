//! Generic profile: user-made column mappings, suggestion and validation.

#[path = "csv_common.rs"]
mod common;

use common::{choice_headers, cp932, line, satofuru_file, satofuru_like_headers, satofuru_mapping};
use furusato_portals::csv_import::{
    CanonicalField as F, ColumnMapping, ImportError, Profile, SourceEncoding, parse_file,
    suggest_mapping,
};
use time::macros::date;

#[test]
fn generic_mapping_for_a_satofuru_like_file() {
    let mapping = satofuru_mapping();
    assert!(mapping.validate(&satofuru_like_headers()).is_empty());
    // saved as JSON in the database and loaded back by name
    let mapping = ColumnMapping::from_json(&mapping.to_json()).unwrap();
    let outcome = parse_file(&Profile::Generic(mapping), &satofuru_file()).unwrap();
    assert_eq!(outcome.encoding, SourceEncoding::Cp932);
    assert_eq!(outcome.stats.header_line, 3);
    assert_eq!(outcome.stats.skipped_before_header, 2);
    assert_eq!(outcome.stats.ok, 2, "{:?}", outcome.rows);

    let first = outcome.rows[0].as_ref().unwrap();
    assert_eq!(first.line, 4);
    assert_eq!(first.external_id, "SF-20260105-0001");
    assert_eq!(first.applied_on, Some(date!(2026 - 01 - 05)));
    assert_eq!(first.paid_on, Some(date!(2026 - 01 - 05)));
    assert_eq!(first.amount, 15_000);
    assert_eq!(first.payment_method.as_deref(), Some("credit_card"));
    assert_eq!(first.donor.family_name, "山田");
    assert_eq!(
        first.donor.postal_code.as_deref(),
        Some("100-0001"),
        "Excel =\"…\" unwrapped"
    );
    assert_eq!(first.donor.phone.as_deref(), Some("0900000001"));
    assert_eq!(first.gifts.len(), 1);
    assert_eq!(first.gifts[0].code.as_deref(), Some("1234567"));
    assert_eq!(first.gifts[0].name, "仙台牛 切り落とし 1kg");
    assert_eq!(first.gifts[0].quantity, 2);
    assert_eq!(first.ship_to.as_ref().unwrap().family_name, "髙橋");
    assert_eq!(
        first.ship_to.as_ref().unwrap().address1.as_deref(),
        Some("見本通り1-2")
    );
    assert_eq!(first.onestop_wanted, Some(true));
    assert_eq!(first.use_of_funds.as_deref(), Some("市長におまかせ"));
    assert_eq!(first.remarks.as_deref(), Some("熨斗：御歳暮"));

    let second = outcome.rows[1].as_ref().unwrap();
    assert_eq!(second.amount, 10_000);
    assert_eq!(
        second.payment_method.as_deref(),
        Some("楽天ペイ"),
        "unmapped values kept"
    );
    assert_eq!(second.onestop_wanted, Some(false));
    assert!(second.gifts.is_empty());
    assert_eq!(second.ship_to, None);
}

#[test]
fn suggest_mapping_for_satofuru_like_headers_is_usable() {
    let headers = satofuru_like_headers();
    let suggested = suggest_mapping(&headers);
    let expect = [
        (F::ExternalId, "寄附受付番号"),
        (F::AppliedOn, "寄附日"),
        (F::PaidOn, "決済日"),
        (F::Amount, "寄附金額"),
        (F::PaymentMethod, "決済方法"),
        (F::DonorName, "寄附者氏名"),
        (F::DonorKana, "寄附者氏名カナ"),
        (F::DonorPostalCode, "寄附者郵便番号"),
        (F::DonorPrefecture, "寄附者都道府県"),
        (F::DonorCity, "寄附者市区町村"),
        (F::DonorAddress1, "寄附者町名番地"),
        (F::DonorAddress2, "寄附者建物名"),
        (F::DonorPhone, "寄附者電話番号"),
        (F::DonorEmail, "寄附者メールアドレス"),
        (F::GiftCode, "お礼品ID"),
        (F::GiftName, "お礼品名"),
        (F::GiftQuantity, "数量"),
        (F::ShipToName, "配送先氏名"),
        (F::ShipToPostalCode, "配送先郵便番号"),
        (F::ShipToPrefecture, "配送先都道府県"),
        (F::ShipToCity, "配送先市区町村"),
        (F::ShipToAddress1, "配送先町名"),
        (F::ShipToAddress2, "配送先建物名"),
        (F::ShipToPhone, "配送先電話番号"),
        (F::OnestopWanted, "ワンストップ特例申請"),
        (F::UseOfFunds, "寄附金の使い道"),
        (F::Remarks, "備考"),
    ];
    for (field, header) in expect {
        assert_eq!(
            suggested.columns.get(&field).map(String::as_str),
            Some(header),
            "{field}"
        );
    }
    assert_eq!(suggested.columns.len(), expect.len());
    assert!(suggested.validate(&headers).is_empty());

    // with the header row set by the user, the suggestion reads the file; the portal's own
    // one-stop words still need a value map, which the preview makes visible
    let mut mapping = suggested;
    mapping.name = "さとふる".into();
    mapping.header_row = 3;
    let outcome = parse_file(&Profile::Generic(mapping.clone()), &satofuru_file()).unwrap();
    assert_eq!(outcome.stats.records, 2);
    let err = outcome.rows[0].as_ref().unwrap_err();
    assert_eq!(
        err.display_ja(),
        "4行目: ワンストップ特例の希望の値が正しくありません: 申請書を送付"
    );
    assert_eq!(err.column.as_deref(), Some("ワンストップ特例申請"));
    mapping.value_maps = satofuru_mapping().value_maps;
    let outcome = parse_file(&Profile::Generic(mapping), &satofuru_file()).unwrap();
    assert_eq!(outcome.stats.ok, 2, "{:?}", outcome.rows);
}

#[test]
fn suggest_mapping_for_choice_headers() {
    let headers = choice_headers(2, &["子育て支援"]);
    let m = suggest_mapping(&headers);
    let get = |f: F| m.columns.get(&f).map(String::as_str);
    assert_eq!(get(F::ExternalId), Some("寄附者番号"));
    assert_eq!(get(F::AppliedOn), Some("申込日"));
    assert_eq!(get(F::PaidOn), Some("入金日"));
    assert_eq!(get(F::Amount), Some("寄附金額"));
    assert_eq!(get(F::DonorName), Some("氏名"));
    assert_eq!(get(F::DonorKana), Some("フリガナ"));
    assert_eq!(get(F::DonorPostalCode), Some("〒"));
    assert_eq!(get(F::DonorAddress1), Some("町名・番地"));
    assert_eq!(get(F::DonorAddress2), Some("マンション名"));
    assert_eq!(get(F::DonorEmail), Some("E-mailアドレス"));
    assert_eq!(get(F::PaymentMethod), Some("寄附金の払込方法"));
    assert_eq!(get(F::ShipToName), Some("返礼品1_送り先_名前"));
    assert_eq!(get(F::DocumentsName), Some("送り先_書類_名前"));
    assert_eq!(get(F::DocumentsPostalCode), Some("送り先_書類_郵便番号"));
    assert_eq!(get(F::OnestopWanted), Some("ワンストップ特例_要望"));
    assert_eq!(get(F::Message), Some("応援メッセージ"));
    assert_eq!(get(F::Remarks), Some("備考"));
    assert!(m.validate(&headers).is_empty());
}

#[test]
fn suggest_mapping_for_order_style_headers() {
    let headers = [
        "注文番号",
        "注文日時",
        "お名前",
        "お名前（フリガナ）",
        "郵便番号",
        "住所",
        "電話番号",
        "メールアドレス",
        "金額",
        "支払方法",
        "商品名",
        "個数",
        "お届け先 お名前",
        "お届け先 住所",
        "匿名希望",
    ];
    let m = suggest_mapping(&headers);
    let get = |f: F| m.columns.get(&f).map(String::as_str);
    assert_eq!(get(F::ExternalId), Some("注文番号"));
    assert_eq!(get(F::AppliedOn), Some("注文日時"));
    assert_eq!(get(F::DonorName), Some("お名前"));
    assert_eq!(get(F::DonorKana), Some("お名前（フリガナ）"));
    assert_eq!(get(F::DonorAddress1), Some("住所"));
    assert_eq!(get(F::Amount), Some("金額"));
    assert_eq!(get(F::GiftName), Some("商品名"));
    assert_eq!(get(F::GiftQuantity), Some("個数"));
    assert_eq!(get(F::ShipToName), Some("お届け先 お名前"));
    assert_eq!(get(F::ShipToAddress1), Some("お届け先 住所"));
    assert_eq!(get(F::Anonymous), Some("匿名希望"));
}

#[test]
fn unusable_mapping_is_a_file_level_error_with_japanese_problems() {
    let mut m = ColumnMapping::new("壊れた設定");
    m.columns.insert(F::ExternalId, "受付番号".into());
    m.columns.insert(F::Amount, "寄附額".into());
    let text = format!(
        "{}\r\n{}\r\n",
        line(&["受付番号", "寄附日", "氏名"]),
        line(&["1", "2026-01-01", "山田"])
    );
    let problems = m.validate(&["受付番号", "寄附日", "氏名"]);
    assert_eq!(problems.len(), 3, "{problems:?}");
    let err = parse_file(&Profile::Generic(m), text.as_bytes()).unwrap_err();
    let ImportError::InvalidMapping { name, problems } = &err else {
        panic!("unexpected {err:?}");
    };
    assert_eq!(name, "壊れた設定");
    assert_eq!(problems.len(), 3);
    assert!(
        err.message_ja()
            .starts_with("取込設定「壊れた設定」がこのファイルに合いません: ")
    );
    assert!(
        err.message_ja()
            .contains("「寄附金額」に割り当てた列「寄附額」がファイルにありません")
    );
    assert!(
        err.message_ja()
            .contains("必須項目「申込日」に列が割り当てられていません")
    );
}

#[test]
fn split_name_columns_forced_encoding_and_custom_date_format() {
    let mut m = ColumnMapping::new("分割氏名");
    m.encoding = Some(SourceEncoding::Cp932);
    m.date_format = Some("MM/DD/YYYY".into());
    for (field, header) in [
        (F::ExternalId, "No"),
        (F::AppliedOn, "Date"),
        (F::Amount, "寄附額"),
        (F::DonorFamilyName, "姓"),
        (F::DonorGivenName, "名"),
        (F::DonorFamilyKana, "セイ"),
        (F::DonorGivenKana, "メイ"),
        (F::GiftName, "返礼品"),
    ] {
        m.columns.insert(field, header.into());
    }
    let text = "No,Date,寄附額,姓,名,セイ,メイ,返礼品\r\n\
                7,01/05/2026,3000,髙橋,花子,タカハシ,ハナコ,[Z-9] 笹かま①\r\n";
    let outcome = parse_file(&Profile::Generic(m), &cp932(text)).unwrap();
    assert_eq!(outcome.encoding, SourceEncoding::Cp932);
    let d = outcome.rows[0].as_ref().unwrap();
    assert_eq!(d.applied_on, Some(date!(2026 - 01 - 05)));
    assert_eq!(d.donor.family_name, "髙橋");
    assert_eq!(d.donor.given_name.as_deref(), Some("花子"));
    assert_eq!(d.donor.kana.as_deref(), Some("タカハシ\u{3000}ハナコ"));
    assert_eq!(d.gifts[0].code.as_deref(), Some("Z-9"));
    assert_eq!(d.gifts[0].name, "笹かま①");
}

#[test]
fn canonical_fields_have_labels_for_the_mapping_screen() {
    assert_eq!(F::ExternalId.label_ja(), "寄附番号");
    assert_eq!(F::ExternalId.as_str(), "external_id");
    assert_eq!(
        "ship_to_postal_code".parse::<F>().unwrap(),
        F::ShipToPostalCode
    );
    assert!(F::ALL.len() > 40);
}
