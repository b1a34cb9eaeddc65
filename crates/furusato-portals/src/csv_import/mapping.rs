//! User-made column mappings for portals without a built-in profile (さとふる, ふるなび, …).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::encoding::SourceEncoding;
use super::field::CanonicalField;
use super::values::{DatePattern, key, parse_flag};

/// A saved column mapping: which header of a portal's CSV feeds which canonical field.
///
/// Stored as JSON in the database under `name` and used as `--profile NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMapping {
    /// Name the mapping is saved under.
    pub name: String,
    /// Forced encoding; `None` means auto-detect.
    #[serde(default)]
    pub encoding: Option<SourceEncoding>,
    /// 1-based physical line of the header row (1 = first line). Records starting before
    /// it (titles, notes) are skipped.
    #[serde(default = "default_header_row")]
    pub header_row: usize,
    /// Canonical field → source header name.
    pub columns: BTreeMap<CanonicalField, String>,
    /// Per field, source value → replacement, applied to the trimmed cell before it is
    /// interpreted (e.g. `"クレジット" → "credit_card"`, `"希望する" → "true"`).
    #[serde(default)]
    pub value_maps: BTreeMap<CanonicalField, BTreeMap<String, String>>,
    /// Date layout such as `YYYY/MM/DD` or `MM/DD/YYYY` (see [`DatePattern`]);
    /// `None` accepts the usual layouts.
    #[serde(default)]
    pub date_format: Option<String>,
}

fn default_header_row() -> usize {
    1
}

/// A reason why a mapping cannot be used with a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingProblem {
    /// The canonical field concerned, if any.
    pub field: Option<CanonicalField>,
    /// The header concerned, if any.
    pub header: Option<String>,
    /// Message for the mapping screen.
    pub message_ja: String,
}

impl ColumnMapping {
    /// An empty mapping named `name`.
    pub fn new(name: impl Into<String>) -> Self {
        ColumnMapping {
            name: name.into(),
            encoding: None,
            header_row: 1,
            columns: BTreeMap::new(),
            value_maps: BTreeMap::new(),
            date_format: None,
        }
    }

    /// Reads a mapping from its JSON form.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The JSON form (pretty-printed).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks the mapping against the headers of a file. An empty result means usable.
    ///
    /// Required: 寄附番号 (external_id), 寄附金額 (amount), 申込日 (applied_on) and the
    /// donor name (donor_name, or donor_family_name). Every mapped header must exist in
    /// `headers` (compared ignoring width, case, spaces and `_`/`・`/`-`).
    pub fn validate<S: AsRef<str>>(&self, headers: &[S]) -> Vec<MappingProblem> {
        let mut problems = Vec::new();
        if self.header_row == 0 {
            problems.push(MappingProblem {
                field: None,
                header: None,
                message_ja: "見出し行は1行目以降を指定してください".to_owned(),
            });
        }
        for field in [
            CanonicalField::ExternalId,
            CanonicalField::Amount,
            CanonicalField::AppliedOn,
        ] {
            if !self.is_mapped(field) {
                problems.push(MappingProblem {
                    field: Some(field),
                    header: None,
                    message_ja: format!(
                        "必須項目「{}」に列が割り当てられていません",
                        field.label_ja()
                    ),
                });
            }
        }
        if !self.is_mapped(CanonicalField::DonorName)
            && !self.is_mapped(CanonicalField::DonorFamilyName)
        {
            problems.push(MappingProblem {
                field: Some(CanonicalField::DonorName),
                header: None,
                message_ja: format!(
                    "必須項目「{}」（または「{}」）に列が割り当てられていません",
                    CanonicalField::DonorName.label_ja(),
                    CanonicalField::DonorFamilyName.label_ja()
                ),
            });
        }
        for (field, header) in &self.columns {
            if header.trim().is_empty() {
                continue;
            }
            if find_header(headers, header).is_none() {
                problems.push(MappingProblem {
                    field: Some(*field),
                    header: Some(header.clone()),
                    message_ja: format!(
                        "「{}」に割り当てた列「{}」がファイルにありません",
                        field.label_ja(),
                        header
                    ),
                });
            }
        }
        if let Some(format) = &self.date_format
            && DatePattern::parse(format).is_none()
        {
            problems.push(MappingProblem {
                field: None,
                header: None,
                message_ja: format!("日付の形式「{format}」が正しくありません（例: YYYY/MM/DD）"),
            });
        }
        for (field, map) in &self.value_maps {
            if !field.is_flag() {
                continue;
            }
            for (from, to) in map {
                if parse_flag(*field, to).is_none() {
                    problems.push(MappingProblem {
                        field: Some(*field),
                        header: None,
                        message_ja: format!(
                            "「{}」の値「{}」の置き換え先「{}」は はい/いいえ として読めません",
                            field.label_ja(),
                            from,
                            to
                        ),
                    });
                }
            }
        }
        problems
    }

    fn is_mapped(&self, field: CanonicalField) -> bool {
        self.columns
            .get(&field)
            .is_some_and(|h| !h.trim().is_empty())
    }
}

/// Index of the header matching `wanted`: exact match first, then the normalised key.
pub(crate) fn find_header<S: AsRef<str>>(headers: &[S], wanted: &str) -> Option<usize> {
    if let Some(i) = headers.iter().position(|h| h.as_ref() == wanted) {
        return Some(i);
    }
    let wanted = key(wanted);
    if wanted.is_empty() {
        return None;
    }
    headers.iter().position(|h| key(h.as_ref()) == wanted)
}

/// Which person a header describes, judged from its prefix.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Donor,
    ShipTo,
    Documents,
}

const SHIP_TO_PREFIXES: &[&str] = &[
    "配送先",
    "お届け先",
    "届け先",
    "送付先",
    "送り先",
    "発送先",
    "配達先",
    "お届け",
];
const DONOR_PREFIXES: &[&str] = &[
    "寄附者",
    "寄付者",
    "申込者",
    "申し込み者",
    "注文者",
    "購入者",
    "ご依頼主",
    "依頼主",
];

/// Splits a header key into (role, attribute key): 「配送先郵便番号」 → (ShipTo, 郵便番号),
/// 「送り先_書類_名前」 → (Documents, 名前).
fn role_of(k: &str) -> (Role, &str) {
    if let Some(pos) = k.find("書類") {
        let mut rest = &k[pos + "書類".len()..];
        for prefix in SHIP_TO_PREFIXES {
            rest = rest.strip_prefix(prefix).unwrap_or(rest);
        }
        rest = rest.strip_prefix('の').unwrap_or(rest);
        return (Role::Documents, rest);
    }
    for prefix in SHIP_TO_PREFIXES {
        if let Some(pos) = k.find(prefix) {
            // 「返礼品1_送り先_名前」 as well as 「配送先氏名」.
            let before = &k[..pos];
            if before.is_empty() || before.starts_with("返礼品") || before.starts_with("お礼")
            {
                let rest = &k[pos + prefix.len()..];
                return (Role::ShipTo, rest.strip_prefix('の').unwrap_or(rest));
            }
        }
    }
    for prefix in DONOR_PREFIXES {
        if let Some(rest) = k.strip_prefix(prefix) {
            return (Role::Donor, rest.strip_prefix('の').unwrap_or(rest));
        }
    }
    (Role::Donor, k)
}

/// Person attribute → header spellings (compared as keys).
#[derive(Clone, Copy)]
enum Attr {
    Name,
    Family,
    Given,
    Kana,
    FamilyKana,
    GivenKana,
    Postal,
    Prefecture,
    City,
    Address1,
    Address2,
    Phone,
    Email,
    Sex,
    BirthDate,
}

const ATTR_WORDS: &[(Attr, &[&str])] = &[
    (
        Attr::Name,
        &["氏名", "名前", "お名前", "氏名漢字", "氏名(漢字)", "宛名"],
    ),
    (
        Attr::Family,
        &["姓", "氏名(姓)", "名字", "苗字", "姓(漢字)"],
    ),
    (Attr::Given, &["名", "氏名(名)", "名(漢字)"]),
    (
        Attr::Kana,
        &[
            "フリガナ",
            "ふりがな",
            "カナ",
            "かな",
            "氏名カナ",
            "氏名フリガナ",
            "氏名ふりがな",
            "氏名(カナ)",
            "氏名(フリガナ)",
            "名前カナ",
            "名前フリガナ",
            "フリガナ氏名",
            "カナ氏名",
        ],
    ),
    (
        Attr::FamilyKana,
        &[
            "セイ",
            "姓カナ",
            "姓(カナ)",
            "姓フリガナ",
            "フリガナ(セイ)",
            "せい",
        ],
    ),
    (
        Attr::GivenKana,
        &[
            "メイ",
            "名カナ",
            "名(カナ)",
            "名フリガナ",
            "フリガナ(メイ)",
            "めい",
        ],
    ),
    (
        Attr::Postal,
        &[
            "郵便番号",
            "〒",
            "郵便",
            "郵便番号(ハイフンあり)",
            "郵便番号(ハイフンなし)",
        ],
    ),
    (Attr::Prefecture, &["都道府県", "都道府県名", "県"]),
    (
        Attr::City,
        &["市区町村", "市区町村名", "市町村", "市区郡町村"],
    ),
    (
        Attr::Address1,
        &[
            "町名・番地",
            "町名番地",
            "番地",
            "町名",
            "町域",
            "町域・番地",
            "住所",
            "住所1",
            "番地・マンション名",
            "以降の住所",
            "丁目番地",
            "町名以下",
            "番地以下",
        ],
    ),
    (
        Attr::Address2,
        &[
            "マンション名",
            "建物名",
            "建物",
            "住所2",
            "ビル・マンション名",
            "マンション・ビル名",
            "建物名・部屋番号",
            "ビル名",
            "アパート・マンション名",
        ],
    ),
    (
        Attr::Phone,
        &[
            "電話番号",
            "電話",
            "tel",
            "電話番号1",
            "連絡先電話番号",
            "携帯電話番号",
        ],
    ),
    (
        Attr::Email,
        &[
            "メールアドレス",
            "メール",
            "e-mailアドレス",
            "email",
            "e-mail",
            "mail",
            "mailアドレス",
        ],
    ),
    (Attr::Sex, &["性別"]),
    (Attr::BirthDate, &["生年月日", "誕生日"]),
];

/// Any header mentioning a reading (「お名前（フリガナ）」, 「カナ氏名（セイ）」) is a kana column.
fn kana_attr(attr_key: &str) -> Option<Attr> {
    if !["フリガナ", "ふりがな", "カナ", "かな"]
        .iter()
        .any(|w| attr_key.contains(w))
    {
        return None;
    }
    Some(if attr_key.contains("セイ") || attr_key.contains('姓') {
        Attr::FamilyKana
    } else if attr_key.contains("メイ") {
        Attr::GivenKana
    } else {
        Attr::Kana
    })
}

fn person_field(role: Role, attr: Attr) -> Option<CanonicalField> {
    use CanonicalField as F;
    Some(match (role, attr) {
        (Role::Donor, Attr::Name) => F::DonorName,
        (Role::Donor, Attr::Family) => F::DonorFamilyName,
        (Role::Donor, Attr::Given) => F::DonorGivenName,
        (Role::Donor, Attr::Kana) => F::DonorKana,
        (Role::Donor, Attr::FamilyKana) => F::DonorFamilyKana,
        (Role::Donor, Attr::GivenKana) => F::DonorGivenKana,
        (Role::Donor, Attr::Postal) => F::DonorPostalCode,
        (Role::Donor, Attr::Prefecture) => F::DonorPrefecture,
        (Role::Donor, Attr::City) => F::DonorCity,
        (Role::Donor, Attr::Address1) => F::DonorAddress1,
        (Role::Donor, Attr::Address2) => F::DonorAddress2,
        (Role::Donor, Attr::Phone) => F::DonorPhone,
        (Role::Donor, Attr::Email) => F::DonorEmail,
        (Role::Donor, Attr::Sex) => F::DonorSex,
        (Role::Donor, Attr::BirthDate) => F::DonorBirthDate,
        (Role::ShipTo, Attr::Name) => F::ShipToName,
        (Role::ShipTo, Attr::Family) => F::ShipToFamilyName,
        (Role::ShipTo, Attr::Given) => F::ShipToGivenName,
        (Role::ShipTo, Attr::Kana) => F::ShipToKana,
        (Role::ShipTo, Attr::Postal) => F::ShipToPostalCode,
        (Role::ShipTo, Attr::Prefecture) => F::ShipToPrefecture,
        (Role::ShipTo, Attr::City) => F::ShipToCity,
        (Role::ShipTo, Attr::Address1) => F::ShipToAddress1,
        (Role::ShipTo, Attr::Address2) => F::ShipToAddress2,
        (Role::ShipTo, Attr::Phone) => F::ShipToPhone,
        (Role::Documents, Attr::Name) => F::DocumentsName,
        (Role::Documents, Attr::Family) => F::DocumentsFamilyName,
        (Role::Documents, Attr::Given) => F::DocumentsGivenName,
        (Role::Documents, Attr::Kana) => F::DocumentsKana,
        (Role::Documents, Attr::Postal) => F::DocumentsPostalCode,
        (Role::Documents, Attr::Prefecture) => F::DocumentsPrefecture,
        (Role::Documents, Attr::City) => F::DocumentsCity,
        (Role::Documents, Attr::Address1) => F::DocumentsAddress1,
        (Role::Documents, Attr::Address2) => F::DocumentsAddress2,
        (Role::Documents, Attr::Phone) => F::DocumentsPhone,
        _ => return None,
    })
}

/// Non-person fields → header spellings (compared as keys on the whole header).
const FIELD_WORDS: &[(CanonicalField, &[&str])] = &[
    (
        CanonicalField::ExternalId,
        &[
            "寄附番号",
            "寄附受付番号",
            "受付番号",
            "注文番号",
            "寄附者番号",
            "外部管理番号",
            "申込番号",
            "申し込み番号",
            "寄付番号",
            "寄付受付番号",
            "寄附id",
            "注文id",
            "管理番号",
            "予約番号",
            "寄附申込番号",
        ],
    ),
    (
        CanonicalField::AppliedOn,
        &[
            "申込日",
            "寄附日",
            "寄附申込日",
            "受付日",
            "注文日",
            "申込日時",
            "寄附日時",
            "注文日時",
            "受付日時",
            "寄付日",
            "寄付日時",
            "申し込み日",
            "寄附受付日",
            "寄附年月日",
        ],
    ),
    (
        CanonicalField::PaidOn,
        &[
            "入金日",
            "決済日",
            "入金処理日",
            "入金確認日",
            "収納日",
            "決済完了日",
            "入金日時",
            "決済日時",
            "支払日",
            "入金年月日",
        ],
    ),
    (
        CanonicalField::Amount,
        &[
            "寄附金額",
            "金額",
            "寄附額",
            "寄付金額",
            "寄付額",
            "決済金額",
            "合計金額",
            "寄附金額(円)",
            "金額(円)",
            "寄附金",
            "寄付金",
        ],
    ),
    (
        CanonicalField::PaymentMethod,
        &[
            "支払方法",
            "支払い方法",
            "決済方法",
            "払込方法",
            "寄附金の払込方法",
            "お支払い方法",
            "お支払方法",
            "決済手段",
            "支払区分",
        ],
    ),
    (
        CanonicalField::PaymentStatus,
        &[
            "決済状態",
            "決済状況",
            "入金状況",
            "入金状態",
            "決済ステータス",
            "支払状況",
            "入金ステータス",
            "ステータス",
            "チョイス決済状態",
            "クレジット与信結果",
            "入金区分",
        ],
    ),
    (
        CanonicalField::GiftCode,
        &[
            "返礼品コード",
            "お礼品id",
            "お礼品コード",
            "返礼品id",
            "商品コード",
            "商品番号",
            "お礼の品コード",
            "品番",
            "返礼品番号",
        ],
    ),
    (
        CanonicalField::GiftName,
        &[
            "返礼品名",
            "お礼品名",
            "返礼品",
            "お礼の品",
            "商品名",
            "お礼品",
            "返礼品名称",
            "お礼の品名",
        ],
    ),
    (
        CanonicalField::GiftQuantity,
        &["数量", "個数", "返礼品数量", "お礼品数量", "口数"],
    ),
    (
        CanonicalField::GiftDeclined,
        &[
            "返礼品辞退",
            "お礼の品の辞退",
            "返礼品不要",
            "辞退",
            "お礼品辞退",
            "返礼品の辞退",
        ],
    ),
    (
        CanonicalField::UseOfFunds,
        &[
            "使い道",
            "使途",
            "寄附金の使途",
            "寄附金の使い道",
            "寄付金の使い道",
            "寄附の使い道",
            "用途",
            "寄附金の用途",
            "使いみち",
        ],
    ),
    (
        CanonicalField::OnestopWanted,
        &[
            "ワンストップ特例",
            "ワンストップ特例申請",
            "ワンストップ特例_希望",
            "ワンストップ特例_要望",
            "ワンストップ",
            "ワンストップ特例制度",
            "ワンストップ特例申請書",
            "ワンストップ特例申請書希望",
            "ワンストップ申請",
            "ワンストップ特例申請希望",
            "ワンストップ特例の希望",
            "申告特例申請",
        ],
    ),
    (CanonicalField::Anonymous, &["匿名", "匿名希望"]),
    (
        CanonicalField::Publication,
        &[
            "公表",
            "寄附情報の公表",
            "氏名の公表",
            "寄附者名の公表",
            "お名前の公表",
            "公表可否",
            "寄附者情報の公表",
            "公表希望",
        ],
    ),
    (
        CanonicalField::MessagePublication,
        &[
            "応援メッセージ公表可否",
            "メッセージの公表",
            "応援メッセージの公表",
            "メッセージ公表",
        ],
    ),
    (
        CanonicalField::Message,
        &[
            "応援メッセージ",
            "メッセージ",
            "アンケート_応援メッセージ",
            "応援メッセージ・ご意見",
        ],
    ),
    (
        CanonicalField::Remarks,
        &["備考", "備考欄", "連絡事項", "特記事項", "通信欄", "メモ"],
    ),
];

/// Guesses a mapping from the headers of a file, from common Japanese header names
/// (寄附番号/受付番号/注文番号 → 寄附番号, 金額/寄附金額 → 寄附金額, 氏名/名前 → 氏名,
/// 配送先… → お届け先, …). Each field gets at most one header and each header at most one
/// field, leftmost first. The result is a starting point for the user to edit and
/// [`ColumnMapping::validate`]; it is named 「」 (empty) until the user names it.
pub fn suggest_mapping<S: AsRef<str>>(headers: &[S]) -> ColumnMapping {
    let keys: Vec<String> = headers.iter().map(|h| key(h.as_ref())).collect();
    let mut mapping = ColumnMapping::new("");
    let mut used = BTreeSet::new();
    let mut assign = |mapping: &mut ColumnMapping, field: CanonicalField, i: usize| {
        if !mapping.columns.contains_key(&field) && !used.contains(&i) {
            mapping
                .columns
                .insert(field, headers[i].as_ref().trim().to_owned());
            used.insert(i);
        }
    };
    // Pass 1: exact whole-header names of non-person fields.
    for (i, k) in keys.iter().enumerate() {
        if let Some(field) = FIELD_WORDS
            .iter()
            .find(|(_, words)| words.iter().any(|w| key(w) == *k))
            .map(|(f, _)| *f)
        {
            assign(&mut mapping, field, i);
        }
    }
    // Pass 2: person attributes with a role prefix.
    for (i, k) in keys.iter().enumerate() {
        let (role, attr_key) = role_of(k);
        let attr = ATTR_WORDS
            .iter()
            .find(|(_, words)| words.iter().any(|w| key(w) == attr_key))
            .map(|(attr, _)| *attr)
            .or_else(|| kana_attr(attr_key));
        if let Some(field) = attr.and_then(|attr| person_field(role, attr)) {
            assign(&mut mapping, field, i);
        }
    }
    // Pass 3: looser "contains" rules for what is still missing.
    for (i, k) in keys.iter().enumerate() {
        let has = |w: &str| k.contains(w);
        // Dates of later steps (出力日, 送信日, 発送日, …) are not donation dates.
        let later_step = ["出力", "送信", "発送", "返送", "予定", "希望"]
            .iter()
            .any(|w| has(w));
        let field = if (has("番号") || has("id"))
            && (has("寄附") || has("寄付") || has("受付") || has("注文") || has("申込"))
            && !has("電話")
            && !has("郵便")
        {
            Some(CanonicalField::ExternalId)
        } else if has("金額") && !has("最低") && !has("仕入") && !has("送料") && !has("手数料")
        {
            Some(CanonicalField::Amount)
        } else if has("入金") && has("日") && !later_step {
            Some(CanonicalField::PaidOn)
        } else if (has("申込") || has("寄附") || has("寄付") || has("注文"))
            && has("日")
            && !later_step
        {
            Some(CanonicalField::AppliedOn)
        } else if has("ワンストップ") && !has("日") && !has("番号") {
            Some(CanonicalField::OnestopWanted)
        } else if has("備考") {
            Some(CanonicalField::Remarks)
        } else {
            None
        };
        if let Some(field) = field {
            assign(&mut mapping, field, i);
        }
    }
    mapping
}

#[cfg(test)]
mod tests {
    use super::*;
    use CanonicalField as F;

    #[test]
    fn roles_are_read_from_prefixes() {
        assert!(matches!(
            role_of(&key("配送先郵便番号")),
            (Role::ShipTo, "郵便番号")
        ));
        assert!(matches!(
            role_of(&key("送り先_書類_名前")),
            (Role::Documents, "名前")
        ));
        assert!(matches!(
            role_of(&key("書類送付先氏名")),
            (Role::Documents, "氏名")
        ));
        assert!(matches!(
            role_of(&key("寄附者氏名カナ")),
            (Role::Donor, "氏名カナ")
        ));
        assert!(matches!(
            role_of(&key("電話番号")),
            (Role::Donor, "電話番号")
        ));
    }

    #[test]
    fn validate_reports_missing_required_and_unknown_headers() {
        let mut m = ColumnMapping::new("test");
        m.columns.insert(F::ExternalId, "受付番号".into());
        m.columns.insert(F::Amount, "金額".into());
        m.columns.insert(F::Remarks, "存在しない列".into());
        m.date_format = Some("YYYY/MM".into());
        m.value_maps
            .entry(F::OnestopWanted)
            .or_default()
            .insert("要".into(), "たぶん".into());
        let problems = m.validate(&["受付番号", "金額", "氏名", "申込日"]);
        let messages: Vec<&str> = problems.iter().map(|p| p.message_ja.as_str()).collect();
        assert_eq!(problems.len(), 5, "{messages:?}");
        assert!(messages.contains(&"必須項目「申込日」に列が割り当てられていません"));
        assert!(messages.iter().any(|m| m.contains("寄附者 氏名")));
        assert!(messages.contains(&"「備考」に割り当てた列「存在しない列」がファイルにありません"));
        assert!(messages.iter().any(|m| m.contains("YYYY/MM")));
        assert!(messages.iter().any(|m| m.contains("たぶん")));
    }

    #[test]
    fn header_lookup_ignores_width_and_spacing() {
        let headers = ["ＴＥＬ", "E-mail アドレス"];
        assert_eq!(find_header(&headers, "tel"), Some(0));
        assert_eq!(find_header(&headers, "Eメール"), None);
        assert_eq!(find_header(&headers, "e-mailアドレス"), Some(1));
    }

    #[test]
    fn mapping_json_round_trip() {
        let mut m = ColumnMapping::new("さとふる");
        m.columns.insert(F::ExternalId, "寄附受付番号".into());
        m.value_maps
            .entry(F::PaymentMethod)
            .or_default()
            .insert("クレジット".into(), "credit_card".into());
        let json = m.to_json();
        assert!(json.contains("\"external_id\": \"寄附受付番号\""));
        assert_eq!(ColumnMapping::from_json(&json).unwrap(), m);
        let minimal: ColumnMapping =
            ColumnMapping::from_json(r#"{"name":"x","columns":{"amount":"金額"}}"#).unwrap();
        assert_eq!(minimal.header_row, 1);
        assert_eq!(minimal.encoding, None);
    }
}
