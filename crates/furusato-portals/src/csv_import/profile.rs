//! Import profiles: which portal layout a file follows, resolved once per file into
//! column indexes ([`Layout`]) so that rows are read by index, never by header lookup.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ImportError;
use super::encoding::SourceEncoding;
use super::field::CanonicalField;
use super::mapping::{ColumnMapping, find_header};
use super::values::{DatePattern, key};

/// How a portal CSV is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "mapping")]
pub enum Profile {
    /// ふるさとチョイス-style 寄附者 export: header names of reference §12.1, repeating
    /// `返礼品{n}_…` groups and `{使途名} 選択` / `{使途名} 金額` pairs, any column order.
    Choice,
    /// レッドホース import layout (reference §12.2): `外部管理番号`, `お礼の品_N` values like
    /// 「[SD0001] 牛たん 500g」, ふりがな in hiragana.
    RedHorse,
    /// A user-made column mapping (さとふる, ふるなび, …).
    Generic(ColumnMapping),
}

impl Profile {
    /// Built-in profile by name: `choice` (also `furusato_choice`, `チョイス`) or
    /// `redhorse` (also `red_horse`, `レッドホース`).
    pub fn builtin(name: &str) -> Option<Profile> {
        match key(name).as_str() {
            "choice" | "furusatochoice" | "チョイス" | "ふるさとチョイス" => {
                Some(Profile::Choice)
            }
            // `redhouse`: the spelling of the exporter the layout was reconstructed from.
            "redhorse" | "redhouse" | "レッドホース" => Some(Profile::RedHorse),
            _ => None,
        }
    }

    /// Identifier: `choice`, `redhorse`, or the mapping's name.
    pub fn name(&self) -> &str {
        match self {
            Profile::Choice => "choice",
            Profile::RedHorse => "redhorse",
            Profile::Generic(mapping) => &mapping.name,
        }
    }

    /// Name for screens.
    pub fn label_ja(&self) -> &str {
        match self {
            Profile::Choice => "ふるさとチョイス",
            Profile::RedHorse => "レッドホース形式",
            Profile::Generic(mapping) => &mapping.name,
        }
    }

    /// Encoding forced by the profile (`None` = detect).
    pub fn forced_encoding(&self) -> Option<SourceEncoding> {
        match self {
            Profile::Generic(mapping) => mapping.encoding,
            _ => None,
        }
    }

    /// 1-based physical line of the header row.
    pub fn header_row(&self) -> usize {
        match self {
            Profile::Generic(mapping) => mapping.header_row.max(1),
            _ => 1,
        }
    }

    /// Resolves the profile against a file's headers.
    pub(crate) fn layout(&self, headers: Arc<[String]>) -> Result<Layout, ImportError> {
        match self {
            Profile::Choice => builtin_layout(self, headers, CHOICE_COLUMNS, choice_groups),
            Profile::RedHorse => builtin_layout(self, headers, REDHORSE_COLUMNS, redhorse_groups),
            Profile::Generic(mapping) => generic_layout(mapping, headers),
        }
    }
}

/// A column to read, with the canonical field it feeds (for value maps and messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Col {
    pub idx: usize,
    pub field: CanonicalField,
}

/// Columns of one person.
#[derive(Debug, Clone, Default)]
pub(crate) struct PersonCols {
    pub name: Option<Col>,
    pub family: Option<Col>,
    pub given: Option<Col>,
    pub kana: Option<Col>,
    pub family_kana: Option<Col>,
    pub given_kana: Option<Col>,
    pub postal: Option<Col>,
    pub prefecture: Option<Col>,
    pub city: Option<Col>,
    pub address1: Option<Col>,
    pub address2: Option<Col>,
    pub phone: Option<Col>,
    pub email: Option<Col>,
    pub sex: Option<Col>,
    pub birth_date: Option<Col>,
}

impl PersonCols {
    /// Every column except the birth date (which is parsed, not copied).
    pub fn text_cols(&self) -> [Option<Col>; 14] {
        [
            self.name,
            self.family,
            self.given,
            self.kana,
            self.family_kana,
            self.given_kana,
            self.postal,
            self.prefecture,
            self.city,
            self.address1,
            self.address2,
            self.phone,
            self.email,
            self.sex,
        ]
    }
}

/// Columns of one gift line.
#[derive(Debug, Clone, Default)]
pub(crate) struct GiftCols {
    pub code: Option<Col>,
    pub name: Option<Col>,
    pub quantity: Option<Col>,
    /// Per-gift delivery address (チョイス).
    pub ship_to: Option<PersonCols>,
}

/// One 使途 (use of funds) of the チョイス layout.
#[derive(Debug, Clone)]
pub(crate) struct UseCols {
    pub name: String,
    pub selected: Option<Col>,
    pub amount: Option<usize>,
}

/// A profile resolved against one file's headers.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub headers: Arc<[String]>,
    pub external_id: Option<Col>,
    pub applied_on: Option<Col>,
    pub paid_on: Option<Col>,
    pub amount: Option<Col>,
    pub payment_method: Option<Col>,
    pub payment_status: Option<Col>,
    pub gift_declined: Option<Col>,
    pub use_of_funds: Option<Col>,
    pub onestop_wanted: Option<Col>,
    pub anonymous: Option<Col>,
    pub publication: Option<Col>,
    pub message_publication: Option<Col>,
    pub message: Option<Col>,
    pub remarks: Option<Col>,
    /// Fallback for the donor's sex (レッドホース アンケート_性別).
    pub donor_sex_fallback: Option<Col>,
    pub donor: PersonCols,
    pub ship_to: PersonCols,
    pub documents_to: PersonCols,
    pub gifts: Vec<GiftCols>,
    pub uses: Vec<UseCols>,
    pub value_maps: BTreeMap<CanonicalField, BTreeMap<String, String>>,
    pub date_pattern: Option<DatePattern>,
}

impl Layout {
    /// Builds a layout from field → column index.
    fn from_columns(headers: Arc<[String]>, columns: &BTreeMap<CanonicalField, usize>) -> Layout {
        use CanonicalField as F;
        let col = |field: F| columns.get(&field).map(|&idx| Col { idx, field });
        let person = |fields: [Option<F>; 15]| {
            let c = |f: Option<F>| f.and_then(col);
            PersonCols {
                name: c(fields[0]),
                family: c(fields[1]),
                given: c(fields[2]),
                kana: c(fields[3]),
                family_kana: c(fields[4]),
                given_kana: c(fields[5]),
                postal: c(fields[6]),
                prefecture: c(fields[7]),
                city: c(fields[8]),
                address1: c(fields[9]),
                address2: c(fields[10]),
                phone: c(fields[11]),
                email: c(fields[12]),
                sex: c(fields[13]),
                birth_date: c(fields[14]),
            }
        };
        let gift = GiftCols {
            code: col(F::GiftCode),
            name: col(F::GiftName),
            quantity: col(F::GiftQuantity),
            ship_to: None,
        };
        Layout {
            external_id: col(F::ExternalId),
            applied_on: col(F::AppliedOn),
            paid_on: col(F::PaidOn),
            amount: col(F::Amount),
            payment_method: col(F::PaymentMethod),
            payment_status: col(F::PaymentStatus),
            gift_declined: col(F::GiftDeclined),
            use_of_funds: col(F::UseOfFunds),
            onestop_wanted: col(F::OnestopWanted),
            anonymous: col(F::Anonymous),
            publication: col(F::Publication),
            message_publication: col(F::MessagePublication),
            message: col(F::Message),
            remarks: col(F::Remarks),
            donor_sex_fallback: None,
            donor: person([
                Some(F::DonorName),
                Some(F::DonorFamilyName),
                Some(F::DonorGivenName),
                Some(F::DonorKana),
                Some(F::DonorFamilyKana),
                Some(F::DonorGivenKana),
                Some(F::DonorPostalCode),
                Some(F::DonorPrefecture),
                Some(F::DonorCity),
                Some(F::DonorAddress1),
                Some(F::DonorAddress2),
                Some(F::DonorPhone),
                Some(F::DonorEmail),
                Some(F::DonorSex),
                Some(F::DonorBirthDate),
            ]),
            ship_to: person([
                Some(F::ShipToName),
                Some(F::ShipToFamilyName),
                Some(F::ShipToGivenName),
                Some(F::ShipToKana),
                None,
                None,
                Some(F::ShipToPostalCode),
                Some(F::ShipToPrefecture),
                Some(F::ShipToCity),
                Some(F::ShipToAddress1),
                Some(F::ShipToAddress2),
                Some(F::ShipToPhone),
                None,
                None,
                None,
            ]),
            documents_to: person([
                Some(F::DocumentsName),
                Some(F::DocumentsFamilyName),
                Some(F::DocumentsGivenName),
                Some(F::DocumentsKana),
                None,
                None,
                Some(F::DocumentsPostalCode),
                Some(F::DocumentsPrefecture),
                Some(F::DocumentsCity),
                Some(F::DocumentsAddress1),
                Some(F::DocumentsAddress2),
                Some(F::DocumentsPhone),
                None,
                None,
                None,
            ]),
            gifts: if gift.code.is_some() || gift.name.is_some() {
                vec![gift]
            } else {
                Vec::new()
            },
            uses: Vec::new(),
            value_maps: BTreeMap::new(),
            date_pattern: None,
            headers,
        }
    }
}

type GroupFn = fn(&mut Layout, &[String]);

fn builtin_layout(
    profile: &Profile,
    headers: Arc<[String]>,
    table: &[(CanonicalField, &[&str])],
    groups: GroupFn,
) -> Result<Layout, ImportError> {
    let mut columns = BTreeMap::new();
    for (field, names) in table {
        if let Some(idx) = names.iter().find_map(|name| find_header(&headers, name)) {
            columns.entry(*field).or_insert(idx);
        }
    }
    let missing: Vec<String> = table
        .iter()
        .filter(|(field, _)| is_required(*field) && !columns.contains_key(field))
        .map(|(_, names)| names[0].to_owned())
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns {
            profile: profile.name().to_owned(),
            missing,
        });
    }
    let mut layout = Layout::from_columns(headers.clone(), &columns);
    groups(&mut layout, &headers);
    Ok(layout)
}

fn is_required(field: CanonicalField) -> bool {
    matches!(
        field,
        CanonicalField::ExternalId
            | CanonicalField::AppliedOn
            | CanonicalField::Amount
            | CanonicalField::DonorName
    )
}

fn generic_layout(mapping: &ColumnMapping, headers: Arc<[String]>) -> Result<Layout, ImportError> {
    let problems = mapping.validate(&headers);
    if !problems.is_empty() {
        return Err(ImportError::InvalidMapping {
            name: mapping.name.clone(),
            problems,
        });
    }
    let columns: BTreeMap<CanonicalField, usize> = mapping
        .columns
        .iter()
        .filter_map(|(field, header)| Some((*field, find_header(&headers, header)?)))
        .collect();
    let mut layout = Layout::from_columns(headers, &columns);
    layout.value_maps = mapping
        .value_maps
        .iter()
        .filter(|(_, map)| !map.is_empty())
        .map(|(field, map)| {
            let trimmed = map
                .iter()
                .map(|(from, to)| (from.trim().to_owned(), to.clone()))
                .collect();
            (*field, trimmed)
        })
        .collect();
    layout.date_pattern = mapping.date_format.as_deref().and_then(DatePattern::parse);
    Ok(layout)
}

/// ふるさとチョイス simple columns (reference §12.1). First name of each entry is the
/// canonical header; the others are accepted spellings.
const CHOICE_COLUMNS: &[(CanonicalField, &[&str])] = &[
    (CanonicalField::ExternalId, &["寄附者番号"]),
    (CanonicalField::AppliedOn, &["申込日"]),
    (CanonicalField::PaidOn, &["入金日"]),
    (CanonicalField::DonorName, &["氏名"]),
    (CanonicalField::DonorKana, &["フリガナ"]),
    (CanonicalField::DonorPostalCode, &["〒", "郵便番号"]),
    (CanonicalField::DonorPrefecture, &["都道府県"]),
    (CanonicalField::DonorCity, &["市区町村"]),
    (CanonicalField::DonorAddress1, &["町名・番地"]),
    (CanonicalField::DonorAddress2, &["マンション名"]),
    (CanonicalField::DonorPhone, &["電話番号"]),
    (
        CanonicalField::DonorEmail,
        &["E-mailアドレス", "メールアドレス"],
    ),
    (CanonicalField::Amount, &["寄附金額"]),
    (CanonicalField::PaymentMethod, &["寄附金の払込方法"]),
    (CanonicalField::PaymentStatus, &["チョイス決済状態"]),
    (CanonicalField::Publication, &["公表"]),
    (CanonicalField::GiftDeclined, &["返礼品辞退"]),
    (CanonicalField::DocumentsName, &["送り先_書類_名前"]),
    (CanonicalField::DocumentsKana, &["送り先_書類_フリガナ"]),
    (
        CanonicalField::DocumentsPostalCode,
        &["送り先_書類_郵便番号"],
    ),
    (
        CanonicalField::DocumentsPrefecture,
        &["送り先_書類_都道府県"],
    ),
    (CanonicalField::DocumentsCity, &["送り先_書類_市区町村"]),
    (
        CanonicalField::DocumentsAddress1,
        &["送り先_書類_町名・番地"],
    ),
    (
        CanonicalField::DocumentsAddress2,
        &["送り先_書類_マンション名"],
    ),
    (CanonicalField::DocumentsPhone, &["送り先_書類_電話番号"]),
    (CanonicalField::OnestopWanted, &["ワンストップ特例_要望"]),
    (CanonicalField::DonorSex, &["ワンストップ特例_性別"]),
    (
        CanonicalField::DonorBirthDate,
        &["ワンストップ特例_生年月日"],
    ),
    (CanonicalField::Message, &["応援メッセージ"]),
    (
        CanonicalField::MessagePublication,
        &["応援メッセージ 公表可否"],
    ),
    (CanonicalField::Remarks, &["備考"]),
];

/// チョイス 返礼品{n}_… suffix → which part of the gift line it feeds.
fn choice_gift_part(suffix_key: &str) -> Option<CanonicalField> {
    use CanonicalField as F;
    Some(match suffix_key {
        "コード" => F::GiftCode,
        "名称" => F::GiftName,
        "数量" | "個数" => F::GiftQuantity,
        "送り先名前" => F::ShipToName,
        "送り先フリガナ" => F::ShipToKana,
        "送り先郵便番号" => F::ShipToPostalCode,
        "送り先都道府県" => F::ShipToPrefecture,
        "送り先市区町村" => F::ShipToCity,
        "送り先町名番地" => F::ShipToAddress1,
        "送り先マンション名" => F::ShipToAddress2,
        "送り先電話番号" => F::ShipToPhone,
        _ => return None,
    })
}

/// Finds the チョイス repeating groups: `返礼品{n}_…` and `{使途名} 選択` / `{使途名} 金額`.
fn choice_groups(layout: &mut Layout, headers: &[String]) {
    let mut gifts: BTreeMap<u32, GiftCols> = BTreeMap::new();
    for (idx, header) in headers.iter().enumerate() {
        let k = key(header);
        let Some(rest) = k.strip_prefix("返礼品") else {
            continue;
        };
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            continue;
        }
        let Ok(n) = rest[..digits].parse::<u32>() else {
            continue;
        };
        let Some(field) = choice_gift_part(&rest[digits..]) else {
            continue;
        };
        let gift = gifts.entry(n).or_default();
        let col = Some(Col { idx, field });
        match field {
            CanonicalField::GiftCode => gift.code = gift.code.or(col),
            CanonicalField::GiftName => gift.name = gift.name.or(col),
            CanonicalField::GiftQuantity => gift.quantity = gift.quantity.or(col),
            _ => {
                let person = gift.ship_to.get_or_insert_with(PersonCols::default);
                let slot = match field {
                    CanonicalField::ShipToName => &mut person.name,
                    CanonicalField::ShipToKana => &mut person.kana,
                    CanonicalField::ShipToPostalCode => &mut person.postal,
                    CanonicalField::ShipToPrefecture => &mut person.prefecture,
                    CanonicalField::ShipToCity => &mut person.city,
                    CanonicalField::ShipToAddress1 => &mut person.address1,
                    CanonicalField::ShipToAddress2 => &mut person.address2,
                    _ => &mut person.phone,
                };
                *slot = slot.or(col);
            }
        }
    }
    layout.gifts = gifts.into_values().collect();

    let keys: Vec<String> = headers.iter().map(|h| key(h)).collect();
    for (idx, header) in headers.iter().enumerate() {
        let trimmed = header.trim();
        let Some(name) = trimmed.strip_suffix("選択") else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let amount_key = format!("{}金額", key(name));
        layout.uses.push(UseCols {
            name: name.to_owned(),
            selected: Some(Col {
                idx,
                field: CanonicalField::UseOfFunds,
            }),
            amount: keys.iter().position(|k| *k == amount_key),
        });
    }
}

/// レッドホース simple columns (reference §12.2).
const REDHORSE_COLUMNS: &[(CanonicalField, &[&str])] = &[
    (CanonicalField::ExternalId, &["外部管理番号"]),
    (CanonicalField::AppliedOn, &["寄附申込日"]),
    (CanonicalField::PaidOn, &["入金処理日"]),
    (CanonicalField::DonorName, &["名前"]),
    (CanonicalField::DonorKana, &["ふりがな"]),
    (CanonicalField::DonorPostalCode, &["郵便番号"]),
    (CanonicalField::DonorPrefecture, &["都道府県"]),
    (CanonicalField::DonorCity, &["市区町村"]),
    (CanonicalField::DonorAddress1, &["番地・マンション名"]),
    (CanonicalField::DonorPhone, &["電話番号"]),
    (CanonicalField::DonorEmail, &["メールアドレス"]),
    (CanonicalField::Amount, &["寄附金額"]),
    (CanonicalField::PaymentMethod, &["寄附金の払込方法"]),
    (CanonicalField::PaymentStatus, &["クレジット与信結果"]),
    (CanonicalField::UseOfFunds, &["寄附金の使途"]),
    (CanonicalField::Publication, &["寄附情報の公表"]),
    (CanonicalField::OnestopWanted, &["ワンストップ特例_希望"]),
    (CanonicalField::DonorSex, &["ワンストップ特例_性別"]),
    (
        CanonicalField::DonorBirthDate,
        &["ワンストップ特例_生年月日"],
    ),
    (CanonicalField::Remarks, &["備考"]),
    (CanonicalField::GiftDeclined, &["お礼の品の辞退"]),
    (CanonicalField::ShipToName, &["お届け先_名前"]),
    (CanonicalField::ShipToKana, &["お届け先_ふりがな"]),
    (CanonicalField::ShipToPostalCode, &["お届け先_郵便番号"]),
    (CanonicalField::ShipToPrefecture, &["お届け先_都道府県"]),
    (CanonicalField::ShipToCity, &["お届け先_市区町村"]),
    (
        CanonicalField::ShipToAddress1,
        &["お届け先_番地・マンション名"],
    ),
    (CanonicalField::ShipToPhone, &["お届け先_電話番号"]),
    (CanonicalField::Message, &["アンケート_応援メッセージ"]),
    (CanonicalField::DocumentsName, &["お届け先_書類_名前"]),
    (CanonicalField::DocumentsKana, &["お届け先_書類_ふりがな"]),
    (
        CanonicalField::DocumentsPostalCode,
        &["お届け先_書類_郵便番号"],
    ),
    (
        CanonicalField::DocumentsPrefecture,
        &["お届け先_書類_都道府県"],
    ),
    (CanonicalField::DocumentsCity, &["お届け先_書類_市区町村"]),
    (
        CanonicalField::DocumentsAddress1,
        &["お届け先_書類_番地・マンション名"],
    ),
    (CanonicalField::DocumentsPhone, &["お届け先_書類_電話番号"]),
];

/// Finds the レッドホース `お礼の品_N` columns (values 「[code] name」) and the survey sex.
fn redhorse_groups(layout: &mut Layout, headers: &[String]) {
    let mut gifts: Vec<(u32, usize)> = Vec::new();
    for (idx, header) in headers.iter().enumerate() {
        let k = key(header);
        if let Some(rest) = k.strip_prefix("お礼の品")
            && !rest.is_empty()
            && rest.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = rest.parse::<u32>()
        {
            gifts.push((n, idx));
        }
    }
    gifts.sort_unstable();
    layout.gifts = gifts
        .into_iter()
        .map(|(_, idx)| GiftCols {
            code: None,
            name: Some(Col {
                idx,
                field: CanonicalField::GiftName,
            }),
            quantity: None,
            ship_to: None,
        })
        .collect();
    layout.donor_sex_fallback = find_header(headers, "アンケート_性別").map(|idx| Col {
        idx,
        field: CanonicalField::DonorSex,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[&str]) -> Arc<[String]> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn choice_groups_are_found_in_any_order() {
        let h = headers(&[
            "返礼品2_名称",
            "寄附者番号",
            "返礼品1_コード",
            "申込日",
            "氏名",
            "寄附金額",
            "子育て支援 選択",
            "返礼品1_名称",
            "子育て支援 金額",
            "返礼品2_コード",
            "返礼品1_送り先_名前",
            "返礼品辞退",
            "環境保全 選択",
        ]);
        let layout = Profile::Choice.layout(h).unwrap();
        assert_eq!(layout.gifts.len(), 2);
        assert_eq!(layout.gifts[0].code.unwrap().idx, 2);
        assert_eq!(layout.gifts[0].name.unwrap().idx, 7);
        assert_eq!(
            layout.gifts[0].ship_to.as_ref().unwrap().name.unwrap().idx,
            10
        );
        assert_eq!(layout.gifts[1].code.unwrap().idx, 9);
        assert_eq!(layout.gifts[1].name.unwrap().idx, 0);
        assert_eq!(layout.uses.len(), 2);
        assert_eq!(layout.uses[0].name, "子育て支援");
        assert_eq!(layout.uses[0].amount, Some(8));
        assert_eq!(layout.uses[1].amount, None);
        assert_eq!(layout.gift_declined.unwrap().idx, 11);
    }

    #[test]
    fn missing_required_columns_are_named() {
        let err = Profile::Choice
            .layout(headers(&["寄附者番号", "氏名"]))
            .unwrap_err();
        match err {
            ImportError::MissingColumns { profile, missing } => {
                assert_eq!(profile, "choice");
                assert_eq!(missing, vec!["申込日", "寄附金額"]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn builtin_names() {
        assert_eq!(Profile::builtin("Choice"), Some(Profile::Choice));
        assert_eq!(Profile::builtin("red_horse"), Some(Profile::RedHorse));
        assert_eq!(Profile::builtin("satofull"), None);
    }
}
