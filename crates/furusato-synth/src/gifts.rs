//! Fictitious but plausible 返礼品 (gifts) and 返礼品協力事業者 (partners) for a 仙台市 demo.
//! Every partner name is invented; gift names describe typical local products.

use serde::{Deserialize, Serialize};

/// A gift partner (返礼品協力事業者).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerSeed {
    /// Short code, "P01"….
    pub code: String,
    /// Company name (fictitious).
    pub name: String,
    /// Reading of the name in katakana, without the legal-form part (株式会社 …).
    pub name_kana: String,
    /// What the partner makes, for display ("牛たん加工").
    pub category: String,
}

/// A gift offered for a donation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GiftSeed {
    /// Gift code, "SD0001"….
    pub code: String,
    /// Display name.
    pub name: String,
    /// 寄附額: the donation amount that earns this gift, yen.
    pub amount: i64,
    /// 調達価格: what the city pays the partner, yen (≤ 30 % of `amount` in the defaults).
    pub cost: i64,
    /// Index into the partner list ([`default_partners`] for the defaults).
    pub partner_index: usize,
}

const PARTNERS: &[(&str, &str, &str, &str)] = &[
    (
        "P01",
        "株式会社杜の都フーズ",
        "モリノミヤコフーズ",
        "牛たん加工",
    ),
    (
        "P02",
        "広瀬川水産有限会社",
        "ヒロセガワスイサン",
        "水産練り製品",
    ),
    (
        "P03",
        "合同会社けやき並木製菓",
        "ケヤキナミキセイカ",
        "和菓子",
    ),
    (
        "P04",
        "青葉山麓酒造株式会社",
        "アオバサンロクシュゾウ",
        "日本酒・地ビール",
    ),
    ("P05", "株式会社定禅寺ミート", "ジョウゼンジミート", "食肉"),
    (
        "P06",
        "名取川ファーム合同会社",
        "ナトリガワファーム",
        "野菜",
    ),
    (
        "P07",
        "株式会社秋保こけし工房",
        "アキウコケシコウボウ",
        "伝統工芸",
    ),
    (
        "P08",
        "有限会社作並湯けむり商会",
        "サクナミユケムリショウカイ",
        "温泉・宿泊",
    ),
    (
        "P09",
        "株式会社七夕ストアーズ",
        "タナバタストアーズ",
        "七夕飾り・雑貨",
    ),
    (
        "P10",
        "泉ヶ岳ベーカリー合同会社",
        "イズミガタケベーカリー",
        "パン",
    ),
    (
        "P11",
        "株式会社仙台湾シーフーズ",
        "センダイワンシーフーズ",
        "海産物",
    ),
    ("P12", "宮城野ライス株式会社", "ミヤギノライス", "米"),
];

/// (name, 寄附額, 調達価格, partner index)
const GIFTS: &[(&str, i64, i64, usize)] = &[
    ("仙台名物 牛たん 塩仕込み 500g", 13_000, 3_900, 0),
    ("牛たん 厚切り 1kg", 25_000, 7_500, 0),
    ("牛たん 食べ比べ 3種セット", 30_000, 8_800, 0),
    ("牛たん 定期便 3か月", 60_000, 18_000, 0),
    ("牛たん & 笹かまぼこ セット", 18_000, 5_400, 0),
    ("笹かまぼこ 詰め合わせ 20枚", 8_000, 2_400, 1),
    ("笹かまぼこ 焼き立てセット 40枚", 15_000, 4_500, 1),
    ("ずんだ餅 10個入", 7_000, 2_100, 2),
    ("ずんだアイス 12個", 12_000, 3_600, 2),
    ("仙台駄菓子 詰め合わせ", 6_000, 1_800, 2),
    ("ずんだ & くるみ 餅 食べ比べ", 9_000, 2_700, 2),
    ("銘菓 詰め合わせ ミニ", 5_000, 1_500, 2),
    ("純米吟醸 720ml 2本", 15_000, 4_500, 3),
    ("純米大吟醸 1.8L", 30_000, 9_000, 3),
    ("日本酒 飲み比べ 5本セット", 50_000, 15_000, 3),
    ("地ビール 12本", 16_000, 4_800, 3),
    ("仙台牛 サーロインステーキ 400g", 40_000, 12_000, 4),
    ("仙台牛 すき焼き用 800g", 50_000, 15_000, 4),
    ("仙台牛 ハンバーグ 10個", 20_000, 6_000, 4),
    ("仙台牛 定期便 6か月", 300_000, 90_000, 4),
    ("仙台牛 特選 年間定期便 12回", 1_000_000, 300_000, 4),
    ("せり鍋セット 3〜4人前", 14_000, 4_200, 5),
    ("仙台せり 1kg", 9_000, 2_700, 5),
    ("仙台伝統野菜 定期便 4回", 40_000, 12_000, 5),
    ("伝統こけし 7寸", 30_000, 9_000, 6),
    ("こけし 絵付け体験 ペアチケット", 20_000, 6_000, 6),
    ("玉虫塗 小物入れ", 60_000, 18_000, 6),
    ("仙台箪笥 小引出し", 500_000, 150_000, 6),
    ("温泉宿 ペア1泊2食", 100_000, 30_000, 7),
    ("日帰り温泉 入浴券 10枚綴り", 10_000, 3_000, 7),
    ("七夕飾り ミニ", 12_000, 3_600, 8),
    ("七夕 吹き流し 手作りキット", 8_000, 2_400, 8),
    ("パン 詰め合わせ 定期便 3回", 30_000, 9_000, 9),
    ("はらこ飯の素 4食", 12_000, 3_600, 10),
    ("三陸産 牡蠣 むき身 1kg", 18_000, 5_400, 10),
    ("ほや 燻製 3袋", 7_000, 2_100, 10),
    ("銀鮭 切り身 2kg", 20_000, 6_000, 10),
    ("ひとめぼれ 10kg", 15_000, 4_500, 11),
    ("ササニシキ 5kg", 10_000, 3_000, 11),
    ("だて正夢 5kg", 11_000, 3_300, 11),
    ("お米 定期便 10kg × 12回", 180_000, 54_000, 11),
];

/// Twelve fictitious partners, "P01"–"P12".
pub fn default_partners() -> Vec<PartnerSeed> {
    PARTNERS
        .iter()
        .map(|&(code, name, name_kana, category)| PartnerSeed {
            code: code.into(),
            name: name.into(),
            name_kana: name_kana.into(),
            category: category.into(),
        })
        .collect()
}

/// About forty gifts, "SD0001"…, each pointing at one of [`default_partners`].
pub fn default_gifts() -> Vec<GiftSeed> {
    GIFTS
        .iter()
        .enumerate()
        .map(|(i, &(name, amount, cost, partner_index))| GiftSeed {
            code: format!("SD{:04}", i + 1),
            name: name.into(),
            amount,
            cost,
            partner_index,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::is_katakana;
    use std::collections::HashSet;

    #[test]
    fn gifts_are_consistent() {
        let partners = default_partners();
        let gifts = default_gifts();
        assert_eq!(partners.len(), 12);
        assert!((35..=45).contains(&gifts.len()));
        let mut codes = HashSet::new();
        for g in &gifts {
            assert!(codes.insert(g.code.clone()));
            assert!(g.code.starts_with("SD") && g.code.len() == 6);
            assert!((5_000..=1_000_000).contains(&g.amount), "{}", g.name);
            assert!(
                g.cost > 0 && g.cost * 10 <= g.amount * 3,
                "{} cost above 30 %",
                g.name
            );
            assert!(g.partner_index < partners.len());
        }
        // Every partner supplies something.
        for i in 0..partners.len() {
            assert!(gifts.iter().any(|g| g.partner_index == i), "partner {i}");
        }
        for p in &partners {
            assert!(is_katakana(&p.name_kana), "{}", p.name);
        }
        assert_eq!(gifts[0].code, "SD0001");
    }
}
