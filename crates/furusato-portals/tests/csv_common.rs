//! Fixture generators shared by the `csv_*` integration tests (included with `#[path]`).
//! All people, addresses and numbers are fictitious.
#![allow(dead_code)]

use std::collections::BTreeMap;

use encoding_rs::SHIFT_JIS;
use furusato_portals::csv_import::{CanonicalField as F, ColumnMapping};

/// Encodes text as CP932, failing the test if a character is not representable.
pub fn cp932(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = SHIFT_JIS.encode(text);
    assert!(!unmappable, "fixture text must be representable in CP932");
    bytes.into_owned()
}

/// UTF-8 with a BOM.
pub fn utf8_bom(text: &str) -> Vec<u8> {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// Quotes a CSV field when needed.
pub fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// A CSV table built by header name: cells not given are empty.
#[derive(Clone, Debug)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new<S: AsRef<str>>(headers: &[S]) -> Self {
        Table {
            headers: headers.iter().map(|h| h.as_ref().to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; panics on an unknown header so that typos in tests show up.
    pub fn row(&mut self, cells: &[(&str, &str)]) -> &mut Self {
        let mut row = vec![String::new(); self.headers.len()];
        for (header, value) in cells {
            let idx = self
                .headers
                .iter()
                .position(|h| h == header)
                .unwrap_or_else(|| panic!("no column {header}"));
            row[idx] = (*value).to_owned();
        }
        self.rows.push(row);
        self
    }

    /// The CSV text with the given line terminator (also after the last row).
    pub fn to_csv(&self, eol: &str) -> String {
        let mut out = String::new();
        out.push_str(&line(&self.headers));
        out.push_str(eol);
        for row in &self.rows {
            out.push_str(&line(row));
            out.push_str(eol);
        }
        out
    }
}

pub fn line<S: AsRef<str>>(fields: &[S]) -> String {
    fields
        .iter()
        .map(|f| quote(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Headers of the ふるさとチョイス-style export (reference §12.1) with `gifts` 返礼品 groups
/// and one 選択/金額 pair per use of funds.
pub fn choice_headers(gifts: usize, uses: &[&str]) -> Vec<String> {
    let mut h: Vec<String> = [
        "寄附者番号",
        "申込日",
        "入金日",
        "氏名",
        "フリガナ",
        "〒",
        "都道府県",
        "市区町村",
        "町名・番地",
        "マンション名",
        "電話番号",
        "E-mailアドレス",
        "寄附金額",
        "寄附金の払込方法",
        "チョイス支払番号",
        "チョイス決済状態",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for u in uses {
        h.push(format!("{u} 選択"));
        h.push(format!("{u} 金額"));
    }
    h.push("公表".into());
    h.push("返礼品辞退".into());
    for n in 1..=gifts {
        for part in [
            "コード",
            "名称",
            "配達希望日",
            "配達希望時間",
            "発送仕様書出力日",
            "ヤマトB2出力日",
            "運送業者",
            "発送日",
            "発送メール送信日",
            "請求確認日",
            "発注保留",
            "発注保留_事由",
            "送り先_名前",
            "送り先_フリガナ",
            "送り先_郵便番号",
            "送り先_都道府県",
            "送り先_市区町村",
            "送り先_町名・番地",
            "送り先_マンション名",
            "送り先_電話番号",
            "最低寄附金額_お礼の品",
            "仕入値",
            "発送手数料",
        ] {
            h.push(format!("返礼品{n}_{part}"));
        }
    }
    for s in [
        "発送に関する連絡事項",
        "送り先_書類_名前",
        "送り先_書類_郵便番号",
        "送り先_書類_都道府県",
        "送り先_書類_市区町村",
        "送り先_書類_町名・番地",
        "送り先_書類_マンション名",
        "納付案内状出力日",
        "払込取扱票出力日",
        "入金メール送信日",
        "お礼状出力日",
        "寄附受領証明書出力日",
        "ワンストップ特例_要望",
        "ワンストップ特例_性別",
        "ワンストップ特例_生年月日",
        "ワンストップ特例 CSV出力日",
        "ワンストップ特例 申請書返送確認日",
        "ワンストップ特例 返送受付番号",
        "その他、ご意見等ございましたら、ご記入ください。",
        "応援メッセージ",
        "応援メッセージ 公表可否",
        "削除",
        "削除_理由",
        "備考",
        "調定日",
        "受付区分",
        "オプトイン",
        "対応メモ",
        "外部管理番号",
        "GMOオーダーID",
        "特定事業者コード付き寄附番号",
        "寄附有効無効",
    ] {
        h.push(s.to_owned());
    }
    h
}

/// Headers of the レッドホース import layout (reference §12.2) with `gifts` お礼の品 columns.
pub fn redhorse_headers(gifts: usize) -> Vec<String> {
    let mut h: Vec<String> = [
        "外部管理番号",
        "寄附申込日",
        "払込票発送日",
        "入金処理日",
        "名前",
        "ふりがな",
        "郵便番号",
        "都道府県",
        "市区町村",
        "番地・マンション名",
        "電話番号",
        "FAX番号",
        "メールアドレス",
        "寄附金額",
        "寄附金の払込方法",
        "クレジット与信結果",
        "寄附金の使途",
        "同意確認",
        "寄附情報の公表",
        "地域広報誌等の送付",
        "メールマガジン送付",
        "ワンストップ特例_希望",
        "ワンストップ特例_性別",
        "ワンストップ特例_生年月日",
        "ワンストップ特例_返送確認日",
        "備考",
        "お礼の品の辞退",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for n in 1..=gifts {
        h.push(format!("お礼の品_{n}"));
    }
    for s in [
        "お届け先_名前",
        "お届け先_ふりがな",
        "お届け先_郵便番号",
        "お届け先_都道府県",
        "お届け先_市区町村",
        "お届け先_番地・マンション名",
        "お届け先_電話番号",
        "お届け希望曜日",
        "お届け希望時間帯",
        "ご不在期間",
        "お届け先_備考",
        "アンケート_ご出身地",
        "アンケート_性別",
        "アンケート_年代",
        "アンケート_生年",
        "アンケート_動機",
        "アンケート_何回目",
        "アンケート_どこで知りましたか",
        "アンケート_応援メッセージ",
        "お届け先_書類_名前",
        "お届け先_書類_ふりがな",
        "お届け先_書類_郵便番号",
        "お届け先_書類_都道府県",
        "お届け先_書類_市区町村",
        "お届け先_書類_番地・マンション名",
        "お届け先_書類_電話番号",
    ] {
        h.push(s.to_owned());
    }
    h
}

/// Headers of a さとふる-like donor export (the real layout is not public; the key
/// column 寄附受付番号 and お礼品ID are, see reference §12.3).
pub fn satofuru_like_headers() -> Vec<String> {
    [
        "寄附受付番号",
        "寄附日",
        "決済日",
        "寄附金額",
        "決済方法",
        "寄附者氏名",
        "寄附者氏名カナ",
        "寄附者郵便番号",
        "寄附者都道府県",
        "寄附者市区町村",
        "寄附者町名番地",
        "寄附者建物名",
        "寄附者電話番号",
        "寄附者メールアドレス",
        "お礼品ID",
        "お礼品名",
        "数量",
        "配送先氏名",
        "配送先郵便番号",
        "配送先都道府県",
        "配送先市区町村",
        "配送先町名",
        "配送先建物名",
        "配送先電話番号",
        "ワンストップ特例申請",
        "寄附金の使い道",
        "備考",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// Fictitious donors: (name, kana, postal code, prefecture, city, street, building, phone, e-mail).
pub const PEOPLE: &[[&str; 9]] = &[
    [
        "山田 太郎",
        "ヤマダ タロウ",
        "100-0001",
        "東京都",
        "千代田区",
        "架空町1-2-3",
        "テストビル101",
        "090-0000-0001",
        "taro@example.jp",
    ],
    [
        "髙橋　花子",
        "タカハシ　ハナコ",
        "980-0000",
        "宮城県",
        "仙台市青葉区",
        "見本通り①番地",
        "㈱架空商事寮 2F",
        "022-000-0002",
        "hanako@example.jp",
    ],
    [
        "山﨑 一郎",
        "ヤマサキ イチロウ",
        "530-0000",
        "大阪府",
        "大阪市北区",
        "試験町３－４～５",
        "",
        "06-0000-0003",
        "ichiro@example.com",
    ],
    [
        "佐藤 次郎",
        "さとう じろう",
        "060-0000",
        "北海道",
        "札幌市中央区",
        "仮町２丁目",
        "",
        "011-000-0004",
        "jiro@example.com",
    ],
];

/// チョイス export with 3 返礼品 groups and 2 使途, columns in reverse order plus an unknown
/// column in the middle.
pub fn choice_table() -> Table {
    let mut headers = choice_headers(3, &["子育て支援", "環境保全"]);
    headers.reverse();
    headers.insert(20, "独自管理列".to_owned());
    let mut t = Table::new(&headers);
    t.row(&[
        ("寄附者番号", "CH-0001"),
        ("申込日", "2026-01-05"),
        ("入金日", "2026-01-07"),
        ("氏名", "髙橋　花子"),
        ("フリガナ", "タカハシ　ハナコ"),
        ("〒", "980-0000"),
        ("都道府県", "宮城県"),
        ("市区町村", "仙台市青葉区"),
        ("町名・番地", "見本通り1-2"),
        ("電話番号", "022-000-0002"),
        ("E-mailアドレス", "hanako@example.jp"),
        ("寄附金額", "30,000"),
        ("寄附金の払込方法", "クレジットカード"),
        ("チョイス決済状態", "決済完了"),
        ("子育て支援 選択", "○"),
        ("子育て支援 金額", "30000"),
        ("公表", "○"),
        ("返礼品1_コード", "G-01"),
        ("返礼品1_名称", "牛たん 500g"),
        ("返礼品2_コード", "G-02"),
        ("返礼品2_名称", "笹かまぼこ①"),
        ("返礼品2_送り先_名前", "山田 太郎"),
        ("返礼品2_送り先_フリガナ", "ヤマダ タロウ"),
        ("返礼品2_送り先_郵便番号", "100-0001"),
        ("返礼品2_送り先_都道府県", "東京都"),
        ("返礼品2_送り先_市区町村", "千代田区"),
        ("返礼品2_送り先_町名・番地", "架空町1-2-3"),
        ("返礼品2_送り先_電話番号", "090-0000-0001"),
        ("返礼品3_コード", "G-03"),
        ("返礼品3_名称", "ずんだ餅"),
        ("送り先_書類_名前", "髙橋 一郎"),
        ("送り先_書類_郵便番号", "9800000"),
        ("送り先_書類_都道府県", "宮城県"),
        ("送り先_書類_市区町村", "仙台市青葉区"),
        ("送り先_書類_町名・番地", "見本通り9-9"),
        ("ワンストップ特例_要望", "希望する"),
        ("ワンストップ特例_性別", "女"),
        ("ワンストップ特例_生年月日", "1980-04-01"),
        ("応援メッセージ", "がんばってください"),
        ("応援メッセージ 公表可否", "可"),
        ("備考", "のし不要"),
        ("独自管理列", "X-1"),
    ]);
    t.row(&[
        ("寄附者番号", "CH-0002"),
        ("申込日", "2026/01/06"),
        ("氏名", "佐藤次郎"),
        ("〒", "060-0000"),
        ("寄附金額", "10000"),
        ("子育て支援 選択", "○"),
        ("環境保全 選択", "○"),
        ("返礼品1_コード", "G-01"),
        ("返礼品1_名称", "牛たん 500g"),
        ("ワンストップ特例_要望", "希望しない"),
    ]);
    t.row(&[
        ("寄附者番号", "CH-0003"),
        ("申込日", "2026-01-07"),
        ("氏名", "山﨑 一郎"),
        ("寄附金額", "5000"),
        ("環境保全 金額", "5000"),
        ("返礼品辞退", "○"),
    ]);
    t
}

/// レッドホース file with 3 お礼の品 columns and two donations.
pub fn redhorse_table() -> Table {
    let mut t = Table::new(&redhorse_headers(3));
    t.row(&[
        ("外部管理番号", "RH-1001"),
        ("寄附申込日", "2026/01/05"),
        ("入金処理日", "2026/01/08"),
        ("名前", "山田 太郎"),
        ("ふりがな", "やまだ たろう"),
        ("郵便番号", "100-0001"),
        ("都道府県", "東京都"),
        ("市区町村", "千代田区"),
        ("番地・マンション名", "架空町1-2-3 テストビル101"),
        ("電話番号", "090-0000-0001"),
        ("メールアドレス", "taro@example.jp"),
        ("寄附金額", "12000"),
        ("寄附金の払込方法", "クレジットカード"),
        ("クレジット与信結果", "OK"),
        ("寄附金の使途", "子育て支援"),
        ("寄附情報の公表", "公表しない"),
        ("ワンストップ特例_希望", "希望する"),
        ("ワンストップ特例_生年月日", "1975/12/31"),
        ("アンケート_性別", "男"),
        ("お礼の品_1", "[SD0001] 牛たん 500g"),
        ("お礼の品_2", "[SD0002] 笹かま①"),
        ("お届け先_名前", "髙橋 花子"),
        ("お届け先_ふりがな", "たかはし はなこ"),
        ("お届け先_郵便番号", "980-0000"),
        ("お届け先_都道府県", "宮城県"),
        ("お届け先_市区町村", "仙台市青葉区"),
        ("お届け先_番地・マンション名", "見本通り1-2"),
        ("お届け先_電話番号", "022-000-0002"),
        ("アンケート_応援メッセージ", "応援しています"),
        ("備考", "12月中に発送希望"),
    ]);
    t.row(&[
        ("外部管理番号", "RH-1002"),
        ("寄附申込日", "2026/01/06"),
        ("名前", "佐藤 次郎"),
        ("ふりがな", "さとう じろう"),
        ("寄附金額", "8,000円"),
        ("ワンストップ特例_希望", "希望しない"),
        ("ワンストップ特例_性別", "男"),
        ("お礼の品の辞退", "辞退する"),
        ("お届け先_書類_名前", "佐藤 三郎"),
        ("お届け先_書類_郵便番号", "060-0000"),
        ("お届け先_書類_番地・マンション名", "仮町2丁目"),
    ]);
    t
}

/// The mapping a user would save for the さとふる-like export.
pub fn satofuru_mapping() -> ColumnMapping {
    let mut m = ColumnMapping::new("さとふる（2026年版）");
    m.header_row = 3;
    for (field, header) in [
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
    ] {
        m.columns.insert(field, header.to_owned());
    }
    m.value_maps.insert(
        F::PaymentMethod,
        BTreeMap::from([
            ("クレジット".to_owned(), "credit_card".to_owned()),
            ("コンビニ".to_owned(), "convenience_store".to_owned()),
        ]),
    );
    m.value_maps.insert(
        F::OnestopWanted,
        BTreeMap::from([
            ("申請書を送付".to_owned(), "true".to_owned()),
            ("申告する".to_owned(), "false".to_owned()),
        ]),
    );
    m.date_format = Some("YYYY/MM/DD".to_owned());
    m
}

/// A さとふる-like CP932 file with two title lines before the header.
pub fn satofuru_file() -> Vec<u8> {
    let mut t = Table::new(&satofuru_like_headers());
    t.row(&[
        ("寄附受付番号", "SF-20260105-0001"),
        ("寄附日", "2026/01/05 10:11:12"),
        ("決済日", "2026/01/05 10:12:00"),
        ("寄附金額", "１５，０００"),
        ("決済方法", "クレジット"),
        ("寄附者氏名", "山田 太郎"),
        ("寄附者氏名カナ", "ヤマダ タロウ"),
        ("寄附者郵便番号", "=\"100-0001\""),
        ("寄附者都道府県", "東京都"),
        ("寄附者市区町村", "千代田区"),
        ("寄附者町名番地", "架空町1-2-3"),
        ("寄附者建物名", "テストビル101"),
        ("寄附者電話番号", "=\"0900000001\""),
        ("寄附者メールアドレス", "taro@example.jp"),
        ("お礼品ID", "1234567"),
        ("お礼品名", "仙台牛 切り落とし 1kg"),
        ("数量", "2"),
        ("配送先氏名", "髙橋 花子"),
        ("配送先郵便番号", "980-0000"),
        ("配送先都道府県", "宮城県"),
        ("配送先市区町村", "仙台市青葉区"),
        ("配送先町名", "見本通り1-2"),
        ("ワンストップ特例申請", "申請書を送付"),
        ("寄附金の使い道", "市長におまかせ"),
        ("備考", "熨斗：御歳暮"),
    ]);
    t.row(&[
        ("寄附受付番号", "SF-20260106-0002"),
        ("寄附日", "2026/01/06"),
        ("寄附金額", "10000円"),
        ("決済方法", "楽天ペイ"),
        ("寄附者氏名", "山﨑 一郎"),
        ("寄附者郵便番号", "5300000"),
        ("ワンストップ特例申請", "申告する"),
    ]);
    let mut text = String::from("さとふる 寄附者一覧,,\r\n出力日時,2026/02/01 09:00,\r\n");
    text.push_str(&t.to_csv("\r\n"));
    cp932(&text)
}
