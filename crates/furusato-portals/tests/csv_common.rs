//! Fixture generators shared by the `csv_*` integration tests (included with `#[path]`).
//! All people, addresses and numbers are fictitious.
#![allow(dead_code)]

use encoding_rs::SHIFT_JIS;

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
        "寄附者番号", "申込日", "入金日", "氏名", "フリガナ", "〒", "都道府県", "市区町村", "町名・番地",
        "マンション名", "電話番号", "E-mailアドレス", "寄附金額", "寄附金の払込方法", "チョイス支払番号",
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
            "コード", "名称", "配達希望日", "配達希望時間", "発送仕様書出力日", "ヤマトB2出力日", "運送業者",
            "発送日", "発送メール送信日", "請求確認日", "発注保留", "発注保留_事由", "送り先_名前",
            "送り先_フリガナ", "送り先_郵便番号", "送り先_都道府県", "送り先_市区町村", "送り先_町名・番地",
            "送り先_マンション名", "送り先_電話番号", "最低寄附金額_お礼の品", "仕入値", "発送手数料",
        ] {
            h.push(format!("返礼品{n}_{part}"));
        }
    }
    for s in [
        "発送に関する連絡事項", "送り先_書類_名前", "送り先_書類_郵便番号", "送り先_書類_都道府県",
        "送り先_書類_市区町村", "送り先_書類_町名・番地", "送り先_書類_マンション名", "納付案内状出力日",
        "払込取扱票出力日", "入金メール送信日", "お礼状出力日", "寄附受領証明書出力日", "ワンストップ特例_要望",
        "ワンストップ特例_性別", "ワンストップ特例_生年月日", "ワンストップ特例 CSV出力日",
        "ワンストップ特例 申請書返送確認日", "ワンストップ特例 返送受付番号",
        "その他、ご意見等ございましたら、ご記入ください。", "応援メッセージ", "応援メッセージ 公表可否", "削除",
        "削除_理由", "備考", "調定日", "受付区分", "オプトイン", "対応メモ", "外部管理番号", "GMOオーダーID",
        "特定事業者コード付き寄附番号", "寄附有効無効",
    ] {
        h.push(s.to_owned());
    }
    h
}

/// Headers of the レッドホース import layout (reference §12.2) with `gifts` お礼の品 columns.
pub fn redhouse_headers(gifts: usize) -> Vec<String> {
    let mut h: Vec<String> = [
        "外部管理番号", "寄附申込日", "払込票発送日", "入金処理日", "名前", "ふりがな", "郵便番号", "都道府県",
        "市区町村", "番地・マンション名", "電話番号", "FAX番号", "メールアドレス", "寄附金額", "寄附金の払込方法",
        "クレジット与信結果", "寄附金の使途", "同意確認", "寄附情報の公表", "地域広報誌等の送付", "メールマガジン送付",
        "ワンストップ特例_希望", "ワンストップ特例_性別", "ワンストップ特例_生年月日", "ワンストップ特例_返送確認日",
        "備考", "お礼の品の辞退",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for n in 1..=gifts {
        h.push(format!("お礼の品_{n}"));
    }
    for s in [
        "お届け先_名前", "お届け先_ふりがな", "お届け先_郵便番号", "お届け先_都道府県", "お届け先_市区町村",
        "お届け先_番地・マンション名", "お届け先_電話番号", "お届け希望曜日", "お届け希望時間帯", "ご不在期間",
        "お届け先_備考", "アンケート_ご出身地", "アンケート_性別", "アンケート_年代", "アンケート_生年",
        "アンケート_動機", "アンケート_何回目", "アンケート_どこで知りましたか", "アンケート_応援メッセージ",
        "お届け先_書類_名前", "お届け先_書類_ふりがな", "お届け先_書類_郵便番号", "お届け先_書類_都道府県",
        "お届け先_書類_市区町村", "お届け先_書類_番地・マンション名", "お届け先_書類_電話番号",
    ] {
        h.push(s.to_owned());
    }
    h
}

/// Headers of a さとふる-like donor export (the real layout is not public; the key
/// column 寄附受付番号 and お礼品ID are, see reference §12.3).
pub fn satofuru_like_headers() -> Vec<String> {
    [
        "寄附受付番号", "寄附日", "決済日", "寄附金額", "決済方法", "寄附者氏名", "寄附者氏名カナ", "寄附者郵便番号",
        "寄附者都道府県", "寄附者市区町村", "寄附者町名番地", "寄附者建物名", "寄附者電話番号",
        "寄附者メールアドレス", "お礼品ID", "お礼品名", "数量", "配送先氏名", "配送先郵便番号", "配送先都道府県",
        "配送先市区町村", "配送先町名", "配送先建物名", "配送先電話番号", "ワンストップ特例申請", "寄附金の使い道",
        "備考",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// Fictitious donors: (name, kana, postal code, prefecture, city, street, building, phone, e-mail).
pub const PEOPLE: &[[&str; 9]] = &[
    ["山田 太郎", "ヤマダ タロウ", "100-0001", "東京都", "千代田区", "架空町1-2-3", "テストビル101", "090-0000-0001", "taro@example.jp"],
    ["髙橋　花子", "タカハシ　ハナコ", "980-0000", "宮城県", "仙台市青葉区", "見本通り①番地", "㈱架空商事寮 2F", "022-000-0002", "hanako@example.jp"],
    ["山﨑 一郎", "ヤマサキ イチロウ", "530-0000", "大阪府", "大阪市北区", "試験町３－４～５", "", "06-0000-0003", "ichiro@example.com"],
    ["佐藤 次郎", "さとう じろう", "060-0000", "北海道", "札幌市中央区", "仮町２丁目", "", "011-000-0004", "jiro@example.com"],
];
