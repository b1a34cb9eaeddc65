//! Shop-defined texts of a 楽天 order and what they mean for the donation.
//!
//! 楽天 has no ふるさと納税 fields: ワンストップ特例申請書の希望, 使い道, 返礼品の辞退 … arrive as
//! the shop's own 項目選択肢 in `ItemModelList[].selectedChoice` (lines `項目名:選択肢`) and as
//! `remarks` blocks (`[見出し:]\n値\n`). Each municipality maps (field, heading, value) to a
//! target in `text_mappings` (value `*` = any value under the heading); a text that no mapping
//! covers goes to `mapping_reviews` and is shown on `/intake/rakuten/mappings`.
//!
//! # Default mappings (created on first use, see [`default_mappings`])
//! | field | heading | value | target |
//! |---|---|---|---|
//! | selectedChoice | 税金控除申請に必要な書類 | 必要(ワンストップ特例申請用) | ワンストップ希望 = はい |
//! | selectedChoice | 税金控除申請に必要な書類 | 不要 | ワンストップ希望 = いいえ |
//! | selectedChoice | ワンストップ特例申請書 | 希望する / 必要 / 要 | ワンストップ希望 = はい |
//! | selectedChoice | ワンストップ特例申請書 | 希望しない / 不要 | ワンストップ希望 = いいえ |
//! | selectedChoice | 寄附金の使い道 / 寄付金の使い道 / 寄附金の使途 | * | 使い道 = the value |
//! | selectedChoice | 寄附金受領証明書 | 不要 | 受領証明書希望 = いいえ |
//! | remarks | 配送日時指定 | * | 備考に記録 |
//! | remarks | 備考欄 | * | 備考に記録 |
//!
//! The first one is the wording of the official 楽天ふるさと納税 guide; the others are common
//! shop wordings. Everything else goes to review. Matching folds widths (NFKC: （）＝() ) and
//! surrounding spaces, so 「必要（ワンストップ特例申請用）」 matches the same mapping.
//!
//! # Interpretation
//! Lines of every item are taken together (a shop repeats the same choices on each item;
//! duplicates count once). Empty values carry no information and are skipped. The first line
//! decides each boolean and the use of funds; notes are collected in order. Defaults when no
//! line says anything: ワンストップ no, 受領証明書 yes, 返礼品辞退 no, 使い道 empty.

use std::collections::HashMap;

use furusato_db::intake_sync::{ANY_VALUE, NewTextMapping, TextMapping, source_field, target};
use furusato_portals::rakuten::OrderModel;

/// One shop-defined text of an order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TextLine {
    /// [`source_field::SELECTED_CHOICE`] or [`source_field::REMARKS`].
    pub field: &'static str,
    pub heading: String,
    pub value: String,
}

impl TextLine {
    /// The key stored in `portal_orders.unmapped` and used to find the orders to re-evaluate:
    /// `field`, heading and (for choices) value, separated by tabs. Remarks are free text, so
    /// they are reviewed and re-evaluated by heading (value `*`).
    pub fn review_key(&self) -> String {
        format!(
            "{}\t{}\t{}",
            self.field,
            norm(&self.heading),
            norm(&self.review_value())
        )
    }

    /// The value recorded in the review list (`*` for remarks).
    pub fn review_value(&self) -> String {
        if self.field == source_field::REMARKS {
            ANY_VALUE.to_string()
        } else {
            self.value.clone()
        }
    }
}

/// The review key of a mapping (same shape as [`TextLine::review_key`]).
pub fn mapping_key(field: &str, heading: &str, value: &str) -> String {
    format!("{}\t{}\t{}", field, norm(heading), norm(value))
}

/// The comparison form of a heading or value: NFKC width folding, every space removed.
pub fn norm(s: &str) -> String {
    furusato_domain::normalize::normalize_name(s)
}

/// `selectedChoice` → (項目名, 選択肢) pairs, split at the first `:` (or full-width `：`). A line
/// without a separator is kept whole as a value with an empty heading, so it is reviewed rather
/// than lost.
pub fn parse_choices(selected_choice: &str) -> Vec<(String, String)> {
    selected_choice
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.find([':', '：']) {
            Some(i) => {
                let sep = l[i..].chars().next().map(char::len_utf8).unwrap_or(1);
                (l[..i].trim().to_string(), l[i + sep..].trim().to_string())
            }
            None => (String::new(), l.to_string()),
        })
        .collect()
}

/// `remarks` → (見出し, 値) blocks. Text before the first `[見出し:]` has an empty heading.
pub fn parse_remarks(remarks: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut heading: Option<String> = None;
    let mut lines: Vec<&str> = Vec::new();
    let flush =
        |heading: &Option<String>, lines: &mut Vec<&str>, out: &mut Vec<(String, String)>| {
            let value = lines
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n");
            if heading.is_some() || !value.is_empty() {
                out.push((heading.clone().unwrap_or_default(), value));
            }
            lines.clear();
        };
    for line in remarks.lines() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(":]") && t.len() > 3 {
            flush(&heading, &mut lines, &mut out);
            heading = Some(t[1..t.len() - 2].trim().to_string());
        } else {
            lines.push(line);
        }
    }
    flush(&heading, &mut lines, &mut out);
    out
}

/// Every non-empty shop-defined text of an order: the `selectedChoice` lines of all items
/// (deduplicated, in order) then the `remarks` blocks.
pub fn order_lines(order: &OrderModel) -> Vec<TextLine> {
    let mut out: Vec<TextLine> = Vec::new();
    for item in order.items() {
        for (h, v) in parse_choices(item.selected_choice.as_deref().unwrap_or("")) {
            if v.is_empty() {
                continue;
            }
            let line = TextLine {
                field: source_field::SELECTED_CHOICE,
                heading: h,
                value: v,
            };
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    if let Some(r) = order.remarks.as_deref() {
        for (h, v) in parse_remarks(r) {
            if v.is_empty() {
                continue;
            }
            out.push(TextLine {
                field: source_field::REMARKS,
                heading: h,
                value: v,
            });
        }
    }
    out
}

/// What a mapping says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub target: String,
    pub target_value: String,
}

/// The mappings of a municipality, indexed for lookups.
#[derive(Clone, Debug, Default)]
pub struct MappingTable {
    exact: HashMap<(String, String, String), Target>,
    any: HashMap<(String, String), Target>,
}

impl MappingTable {
    /// Builds the table from stored mappings.
    pub fn new<'a>(rows: impl IntoIterator<Item = &'a TextMapping>) -> Self {
        let mut t = MappingTable::default();
        for m in rows {
            t.insert(
                &m.source_field,
                &m.heading,
                &m.value,
                &m.target,
                &m.target_value,
            );
        }
        t
    }

    /// Adds one mapping.
    pub fn insert(
        &mut self,
        field: &str,
        heading: &str,
        value: &str,
        tgt: &str,
        target_value: &str,
    ) {
        let target = Target {
            target: tgt.to_string(),
            target_value: target_value.to_string(),
        };
        if value == ANY_VALUE {
            self.any.insert((field.to_string(), norm(heading)), target);
        } else {
            self.exact
                .insert((field.to_string(), norm(heading), norm(value)), target);
        }
    }

    /// The mapping of a line: the exact value first, then the heading's `*`.
    pub fn lookup(&self, line: &TextLine) -> Option<&Target> {
        let h = norm(&line.heading);
        self.exact
            .get(&(line.field.to_string(), h.clone(), norm(&line.value)))
            .or_else(|| self.any.get(&(line.field.to_string(), h)))
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.any.is_empty()
    }
}

/// The donation fields the shop-defined texts decide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChoiceOutcome {
    pub onestop_wanted: bool,
    pub receipt_wanted: bool,
    pub gift_declined: bool,
    pub use_of_funds: String,
    /// 「見出し: 値」 lines for the donation's 備考.
    pub notes: Vec<String>,
    /// Lines no mapping covers (to review).
    pub unmapped: Vec<TextLine>,
}

impl ChoiceOutcome {
    /// The 備考 text of the donation.
    pub fn note(&self) -> String {
        self.notes.join("\n")
    }

    /// The unmapped review keys, one per line, sorted (stored in `portal_orders.unmapped`).
    pub fn unmapped_keys(&self) -> String {
        let mut keys: Vec<String> = self.unmapped.iter().map(TextLine::review_key).collect();
        keys.sort();
        keys.dedup();
        keys.join("\n")
    }
}

fn flag(target_value: &str) -> bool {
    !matches!(
        norm(target_value).to_lowercase().as_str(),
        "false" | "no" | "0" | "いいえ"
    )
}

/// Applies the mappings to the lines of an order.
pub fn interpret(lines: &[TextLine], table: &MappingTable) -> ChoiceOutcome {
    let (mut onestop, mut receipt, mut declined, mut use_of_funds) =
        (None, None, None, None::<String>);
    let mut notes = Vec::new();
    let mut unmapped = Vec::new();
    for line in lines {
        let Some(t) = table.lookup(line) else {
            unmapped.push(line.clone());
            continue;
        };
        match t.target.as_str() {
            target::ONESTOP_WANTED => {
                onestop.get_or_insert(flag(&t.target_value));
            }
            target::RECEIPT_WANTED => {
                receipt.get_or_insert(flag(&t.target_value));
            }
            target::GIFT_DECLINED => {
                declined.get_or_insert(flag(&t.target_value));
            }
            target::USE_OF_FUNDS => {
                let v = if t.target_value.trim().is_empty() {
                    line.value.trim().to_string()
                } else {
                    t.target_value.trim().to_string()
                };
                if use_of_funds.is_none() && !v.is_empty() {
                    use_of_funds = Some(v);
                }
            }
            target::NOTE => {
                let v = line.value.split_whitespace().collect::<Vec<_>>().join(" ");
                let n = if line.heading.is_empty() {
                    v
                } else {
                    format!("{}: {v}", line.heading)
                };
                if !notes.contains(&n) {
                    notes.push(n);
                }
            }
            // `ignore` and targets this version does not know are deliberately not used.
            _ => {}
        }
    }
    ChoiceOutcome {
        onestop_wanted: onestop.unwrap_or(false),
        receipt_wanted: receipt.unwrap_or(true),
        gift_declined: declined.unwrap_or(false),
        use_of_funds: use_of_funds.unwrap_or_default(),
        notes,
        unmapped,
    }
}

/// The mappings created for a municipality on its first sync (see the module doc).
pub fn default_mappings() -> Vec<NewTextMapping> {
    let sc = source_field::SELECTED_CHOICE;
    let rm = source_field::REMARKS;
    let m = |field: &str, heading: &str, value: &str, tgt: &str, tv: &str| NewTextMapping {
        source_field: field.to_string(),
        heading: heading.to_string(),
        value: value.to_string(),
        target: tgt.to_string(),
        target_value: tv.to_string(),
    };
    vec![
        m(
            sc,
            "税金控除申請に必要な書類",
            "必要(ワンストップ特例申請用)",
            target::ONESTOP_WANTED,
            "true",
        ),
        m(
            sc,
            "税金控除申請に必要な書類",
            "不要",
            target::ONESTOP_WANTED,
            "false",
        ),
        m(
            sc,
            "ワンストップ特例申請書",
            "希望する",
            target::ONESTOP_WANTED,
            "true",
        ),
        m(
            sc,
            "ワンストップ特例申請書",
            "必要",
            target::ONESTOP_WANTED,
            "true",
        ),
        m(
            sc,
            "ワンストップ特例申請書",
            "要",
            target::ONESTOP_WANTED,
            "true",
        ),
        m(
            sc,
            "ワンストップ特例申請書",
            "希望しない",
            target::ONESTOP_WANTED,
            "false",
        ),
        m(
            sc,
            "ワンストップ特例申請書",
            "不要",
            target::ONESTOP_WANTED,
            "false",
        ),
        m(sc, "寄附金の使い道", ANY_VALUE, target::USE_OF_FUNDS, ""),
        m(sc, "寄付金の使い道", ANY_VALUE, target::USE_OF_FUNDS, ""),
        m(sc, "寄附金の使途", ANY_VALUE, target::USE_OF_FUNDS, ""),
        m(
            sc,
            "寄附金受領証明書",
            "不要",
            target::RECEIPT_WANTED,
            "false",
        ),
        m(rm, "配送日時指定", ANY_VALUE, target::NOTE, ""),
        m(rm, "備考欄", ANY_VALUE, target::NOTE, ""),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use furusato_portals::rakuten::model::{ItemModel, PackageModel};

    fn table() -> MappingTable {
        let mut t = MappingTable::default();
        for d in default_mappings() {
            t.insert(
                &d.source_field,
                &d.heading,
                &d.value,
                &d.target,
                &d.target_value,
            );
        }
        t
    }

    fn order(choice: &str, remarks: &str) -> OrderModel {
        let item = ItemModel {
            selected_choice: Some(choice.to_string()),
            ..Default::default()
        };
        OrderModel {
            remarks: Some(remarks.to_string()),
            packages: Some(vec![PackageModel {
                items: Some(vec![item.clone(), item]),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn remarks_blocks() {
        assert_eq!(
            parse_remarks("[配送日時指定:]\n\n"),
            vec![("配送日時指定".to_string(), String::new())]
        );
        assert_eq!(
            parse_remarks("[配送日時指定:]\n2017-11-01(水)\n14:00\n自由記入欄の入力"),
            vec![(
                "配送日時指定".to_string(),
                "2017-11-01(水)\n14:00\n自由記入欄の入力".to_string()
            )]
        );
        assert_eq!(
            parse_remarks("前置き\n[配送日時指定:]\n\n[備考欄:]\n土日希望\n"),
            vec![
                (String::new(), "前置き".to_string()),
                ("配送日時指定".to_string(), String::new()),
                ("備考欄".to_string(), "土日希望".to_string())
            ]
        );
        assert!(parse_remarks("").is_empty());
    }

    #[test]
    fn real_rakuten_wording_is_mapped_by_default() {
        let o = order(
            "税金控除申請に必要な書類:必要(ワンストップ特例申請用)\n寄附金の使い道:子育て支援",
            "[配送日時指定:]\n\n[備考欄:]\n平日は不在がちのため、\n土日の配達を希望します。\n",
        );
        let lines = order_lines(&o);
        assert_eq!(
            lines.len(),
            3,
            "duplicates across items count once, empty blocks are skipped: {lines:?}"
        );
        let out = interpret(&lines, &table());
        assert!(out.onestop_wanted);
        assert!(out.receipt_wanted);
        assert!(!out.gift_declined);
        assert_eq!(out.use_of_funds, "子育て支援");
        assert_eq!(
            out.note(),
            "備考欄: 平日は不在がちのため、 土日の配達を希望します。"
        );
        assert!(out.unmapped.is_empty());
        assert_eq!(out.unmapped_keys(), "");
    }

    #[test]
    fn width_variants_match_and_false_values() {
        let o = order(
            "税金控除申請に必要な書類：必要（ワンストップ特例申請用）",
            "",
        );
        assert!(interpret(&order_lines(&o), &table()).onestop_wanted);
        let o = order(
            "税金控除申請に必要な書類: 必要(ワンストップ 特例申請用)",
            "",
        );
        assert!(interpret(&order_lines(&o), &table()).onestop_wanted);
        // A line without a separator is reviewed, not lost.
        let o = order("のし希望", "");
        let out = interpret(&order_lines(&o), &table());
        assert_eq!(out.unmapped.len(), 1);
        assert_eq!(
            (
                out.unmapped[0].heading.as_str(),
                out.unmapped[0].value.as_str()
            ),
            ("", "のし希望")
        );
        let o = order("税金控除申請に必要な書類:不要\n寄附金受領証明書:不要", "");
        let out = interpret(&order_lines(&o), &table());
        assert!(!out.onestop_wanted);
        assert!(!out.receipt_wanted);
        assert!(out.unmapped.is_empty());
    }

    #[test]
    fn unknown_lines_are_kept_for_review() {
        let o = order(
            "お礼の品:辞退する\n寄附金の使い道:観光振興",
            "[アンケート:]\nテレビで見た\n",
        );
        let out = interpret(&order_lines(&o), &table());
        assert_eq!(out.use_of_funds, "観光振興");
        assert!(!out.gift_declined);
        assert_eq!(out.unmapped.len(), 2);
        assert_eq!(
            out.unmapped_keys(),
            "remarks\tアンケート\t*\nselected_choice\tお礼の品\t辞退する"
        );
        // Once mapped, the line decides the field.
        let mut t = table();
        t.insert(
            source_field::SELECTED_CHOICE,
            "お礼の品",
            "辞退する",
            target::GIFT_DECLINED,
            "",
        );
        t.insert(
            source_field::REMARKS,
            "アンケート",
            ANY_VALUE,
            target::IGNORE,
            "",
        );
        let out = interpret(&order_lines(&o), &t);
        assert!(out.gift_declined);
        assert!(out.unmapped.is_empty());
        assert_eq!(
            mapping_key(source_field::SELECTED_CHOICE, "お礼の品", "辞退する"),
            out_key(&o)
        );
    }

    fn out_key(o: &OrderModel) -> String {
        order_lines(o)[0].review_key()
    }

    #[test]
    fn use_of_funds_can_be_renamed() {
        let mut t = table();
        t.insert(
            source_field::SELECTED_CHOICE,
            "寄附金の使い道",
            "市長におまかせ",
            target::USE_OF_FUNDS,
            "市長が必要と認める事業",
        );
        let o = order("寄附金の使い道:市長におまかせ", "");
        assert_eq!(
            interpret(&order_lines(&o), &t).use_of_funds,
            "市長が必要と認める事業"
        );
    }
}
