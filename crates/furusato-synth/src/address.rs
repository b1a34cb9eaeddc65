//! Addresses: a weighted book of real (postal code, prefecture, city, town) rows, and generated,
//! fictitious street numbers and building names.

use std::sync::Arc;

use furusato_domain::{PostalCode, Prefecture, kana::to_katakana};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::rng::{Weighted, pick_static};

/// One real address area: a postal code and the town it covers (a row of the postal-code table).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressSeed {
    /// 7 ASCII digits, no hyphen.
    pub postal_code: String,
    /// 都道府県, e.g. "宮城県".
    pub prefecture: String,
    /// 市区町村 (for a 政令市, the city and the ward: "仙台市青葉区").
    pub city: String,
    /// 町域, e.g. "一番町".
    pub town: String,
    /// Reading of the town in full-width katakana.
    pub town_kana: String,
}

/// Why an [`AddressBook`] could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddressBookError {
    /// A row's postal code is not a postal code (`row` counts from 0).
    #[error("address seed {row}: invalid postal code")]
    InvalidPostalCode {
        /// Index of the row in the input.
        row: usize,
    },
    /// A row's prefecture is not one of the 47.
    #[error("address seed {row}: unknown prefecture")]
    UnknownPrefecture {
        /// Index of the row in the input.
        row: usize,
    },
    /// A row has an empty city.
    #[error("address seed {row}: {field} is empty")]
    EmptyField {
        /// Index of the row in the input.
        row: usize,
        /// Name of the empty field.
        field: &'static str,
    },
    /// No usable row was given.
    #[error("no usable address seed")]
    Empty,
}

/// A weighted set of [`AddressSeed`]s to draw donors' addresses from. Cheap to clone.
///
/// Weights: each prefecture gets a share close to where ふるさと納税 donors live (big cities
/// first, 宮城県 boosted for the reference customer), split evenly over that prefecture's rows,
/// so the prefecture mix does not depend on how many rows the caller supplies per prefecture.
#[derive(Clone, Debug)]
pub struct AddressBook {
    seeds: Arc<[AddressSeed]>,
    table: Arc<Weighted>,
}

impl AddressBook {
    /// The built-in book: about 100 real combinations of postal code, prefecture, city and town
    /// (each checked against 日本郵便's table), mostly in 宮城県 and the big metropolitan areas.
    pub fn builtin() -> Self {
        Self::from_seeds(builtin_seeds()).expect("built-in address seeds are valid")
    }

    /// A book over caller-supplied rows (e.g. the loaded postal-code table).
    ///
    /// Rows are normalised: the postal code to 7 digits ("980-0811" → "9800811"), the prefecture
    /// to its full name ("宮城" → "宮城県"), the town kana to full-width katakana ("ｲﾁﾊﾞﾝﾁｮｳ" →
    /// "イチバンチョウ").
    ///
    /// Rows whose town is not a real place name are skipped: empty towns and the postal table's
    /// placeholders and notes (「以下に掲載がない場合」, 「…の次に番地がくる場合」, 「一円」, and any town
    /// with a parenthesised note such as 「中央（次のビルを除く）」). See [`is_usable_town`].
    ///
    /// # Errors
    /// A row with an invalid postal code, an unknown prefecture or an empty city, or no usable
    /// row at all.
    pub fn from_seeds(
        seeds: impl IntoIterator<Item = AddressSeed>,
    ) -> Result<Self, AddressBookError> {
        let mut kept = Vec::new();
        for (row, seed) in seeds.into_iter().enumerate() {
            let postal_code = PostalCode::parse(&seed.postal_code)
                .map_err(|_| AddressBookError::InvalidPostalCode { row })?;
            let prefecture = Prefecture::from_name(&seed.prefecture)
                .ok_or(AddressBookError::UnknownPrefecture { row })?;
            if seed.city.trim().is_empty() {
                return Err(AddressBookError::EmptyField { row, field: "city" });
            }
            if is_usable_town(&seed.town) {
                kept.push(AddressSeed {
                    postal_code: postal_code.as_str().to_string(),
                    prefecture: prefecture.name().to_string(),
                    city: seed.city.trim().to_string(),
                    town: seed.town.trim().to_string(),
                    town_kana: to_katakana(seed.town_kana.trim()),
                });
            }
        }
        let mut per_prefecture: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::new();
        for s in &kept {
            *per_prefecture.entry(s.prefecture.as_str()).or_default() += 1;
        }
        let table = Weighted::new(kept.iter().map(|s| {
            prefecture_weight(&s.prefecture) / per_prefecture[s.prefecture.as_str()] as f64
        }))
        .ok_or(AddressBookError::Empty)?;
        Ok(Self {
            seeds: kept.into(),
            table: Arc::new(table),
        })
    }

    /// The rows of the book (after filtering).
    pub fn seeds(&self) -> &[AddressSeed] {
        &self.seeds
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.seeds.len()
    }

    /// Always false: a book has at least one row.
    pub fn is_empty(&self) -> bool {
        self.seeds.is_empty()
    }

    pub(crate) fn pick<R: Rng + ?Sized>(&self, rng: &mut R) -> &AddressSeed {
        &self.seeds[self.table.pick(rng)]
    }
}

/// False for the postal-code table's placeholder and annotated town entries, which are not
/// addresses a person writes (「以下に掲載がない場合」, 「○○の次に番地がくる場合」, 「○○一円」, towns with
/// a parenthesised note, empty towns).
pub fn is_usable_town(town: &str) -> bool {
    !(town.is_empty()
        || town.contains("以下に掲載がない場合")
        || town.contains("次に番地がくる場合")
        || town.ends_with("一円")
        || town.contains('（')
        || town.contains('('))
}

/// Relative share of donors living in each prefecture (rough, urban-heavy; 宮城県 boosted).
fn prefecture_weight(prefecture: &str) -> f64 {
    match prefecture {
        "北海道" => 3.0,
        "青森県" => 0.5,
        "岩手県" => 0.7,
        "宮城県" => 6.0,
        "秋田県" => 0.4,
        "山形県" => 0.7,
        "福島県" => 1.0,
        "茨城県" => 1.8,
        "栃木県" => 1.2,
        "群馬県" => 1.1,
        "埼玉県" => 6.0,
        "千葉県" => 5.0,
        "東京都" => 20.0,
        "神奈川県" => 10.0,
        "新潟県" => 1.0,
        "富山県" => 0.6,
        "石川県" => 0.6,
        "福井県" => 0.4,
        "山梨県" => 0.4,
        "長野県" => 1.0,
        "岐阜県" => 1.1,
        "静岡県" => 2.2,
        "愛知県" => 6.5,
        "三重県" => 1.0,
        "滋賀県" => 0.9,
        "京都府" => 1.8,
        "大阪府" => 7.5,
        "兵庫県" => 4.5,
        "奈良県" => 0.9,
        "和歌山県" => 0.4,
        "鳥取県" => 0.2,
        "島根県" => 0.3,
        "岡山県" => 1.0,
        "広島県" => 1.8,
        "山口県" => 0.6,
        "徳島県" => 0.3,
        "香川県" => 0.5,
        "愛媛県" => 0.6,
        "高知県" => 0.3,
        "福岡県" => 3.2,
        "佐賀県" => 0.3,
        "長崎県" => 0.5,
        "熊本県" => 0.7,
        "大分県" => 0.4,
        "宮崎県" => 0.4,
        "鹿児島県" => 0.6,
        "沖縄県" => 0.5,
        _ => 0.5,
    }
}

/// A generated street part (番地) and optional building for an address in `city`.
pub(crate) fn street_and_building<R: Rng + ?Sized>(
    rng: &mut R,
    city: &str,
) -> (String, Option<String>) {
    // Wards of Tokyo and of the 政令市 are dense: more 丁目 and more flats.
    let urban = city.ends_with('区');
    let chome_share = if urban { 0.75 } else { 0.35 };
    let street = if rng.random_bool(chome_share) {
        let chome = *pick_static(
            rng,
            &[
                (1u32, 30),
                (2, 25),
                (3, 18),
                (4, 12),
                (5, 8),
                (6, 5),
                (7, 2),
            ],
        );
        let ban = rng.random_range(1..=30u32);
        let go = rng.random_range(1..=25u32);
        format!("{chome}丁目{ban}-{go}")
    } else {
        let ban = if rng.random_bool(0.7) {
            rng.random_range(1..=300u32)
        } else {
            rng.random_range(301..=2500u32)
        };
        if rng.random_bool(0.85) {
            let go = rng.random_range(1..=40u32);
            format!("{ban}-{go}")
        } else {
            format!("{ban}")
        }
    };
    let building_share = if urban { 0.35 } else { 0.15 };
    let building = rng.random_bool(building_share).then(|| building_name(rng));
    (street, building)
}

/// A fictitious building name with a room number: "メゾン欅 203号".
fn building_name<R: Rng + ?Sized>(rng: &mut R) -> String {
    const STEMS: &[&str] = &[
        "杜の",
        "欅",
        "青葉",
        "若葉",
        "桜",
        "楓",
        "朝日",
        "白樺",
        "ひばり",
        "さつき",
        "みどり",
        "なぎさ",
        "つつじ",
        "星の",
        "風の",
        "光",
        "泉",
        "柳",
        "松風",
        "紅葉",
    ];
    const PREFIXES: &[&str] = &[
        "メゾン",
        "グラン",
        "パーク",
        "サン",
        "コーポ",
        "ハイム",
        "ヴィラ",
        "エクセル",
    ];
    const SUFFIXES: &[&str] = &[
        "マンション",
        "ハイツ",
        "コート",
        "レジデンス",
        "ヒルズ",
        "荘",
        "テラス",
        "ガーデン",
        "タワー",
    ];
    let stem = STEMS[rng.random_range(0..STEMS.len())];
    let name = match rng.random_range(0..3) {
        0 => format!(
            "{}{}",
            PREFIXES[rng.random_range(0..PREFIXES.len())],
            stem.trim_end_matches('の')
        ),
        1 => format!("{stem}{}", SUFFIXES[rng.random_range(0..SUFFIXES.len())]),
        _ => format!(
            "{}{stem}{}",
            PREFIXES[rng.random_range(0..PREFIXES.len())],
            SUFFIXES[rng.random_range(0..SUFFIXES.len())]
        ),
    };
    let floor = *pick_static(
        rng,
        &[
            (1u32, 20),
            (2, 22),
            (3, 18),
            (4, 12),
            (5, 9),
            (6, 6),
            (7, 4),
            (8, 3),
            (9, 2),
            (10, 2),
            (12, 1),
            (15, 1),
        ],
    );
    let unit = rng.random_range(1..=12u32);
    format!("{name} {}号", floor * 100 + unit)
}

/// The built-in rows: (postal code, prefecture, city, town, town kana). Every row was checked
/// against 日本郵便「住所の郵便番号（1レコード1行, UTF-8形式）」; the test `ken_all_consistency`
/// re-checks them whenever that file is available.
const BUILTIN: &[(&str, &str, &str, &str, &str)] = &[
    (
        "9800811",
        "宮城県",
        "仙台市青葉区",
        "一番町",
        "イチバンチョウ",
    ),
    (
        "9800803",
        "宮城県",
        "仙台市青葉区",
        "国分町",
        "コクブンチョウ",
    ),
    ("9800014", "宮城県", "仙台市青葉区", "本町", "ホンチョウ"),
    ("9800011", "宮城県", "仙台市青葉区", "上杉", "カミスギ"),
    ("9800862", "宮城県", "仙台市青葉区", "川内", "カワウチ"),
    ("9800871", "宮城県", "仙台市青葉区", "八幡", "ハチマン"),
    ("9800821", "宮城県", "仙台市青葉区", "春日町", "カスガマチ"),
    (
        "9830852",
        "宮城県",
        "仙台市宮城野区",
        "榴岡",
        "ツツジガオカ",
    ),
    ("9830824", "宮城県", "仙台市宮城野区", "鶴ケ谷", "ツルガヤ"),
    ("9830038", "宮城県", "仙台市宮城野区", "新田", "シンデン"),
    ("9840073", "宮城県", "仙台市若林区", "荒町", "アラマチ"),
    ("9840052", "宮城県", "仙台市若林区", "連坊", "レンボウ"),
    ("9840015", "宮城県", "仙台市若林区", "卸町", "オロシマチ"),
    ("9820011", "宮城県", "仙台市太白区", "長町", "ナガマチ"),
    (
        "9820801",
        "宮城県",
        "仙台市太白区",
        "八木山本町",
        "ヤギヤマホンチョウ",
    ),
    (
        "9813133",
        "宮城県",
        "仙台市泉区",
        "泉中央",
        "イズミチュウオウ",
    ),
    ("9813132", "宮城県", "仙台市泉区", "将監", "ショウゲン"),
    ("9860822", "宮城県", "石巻市", "中央", "チュウオウ"),
    ("9811224", "宮城県", "名取市", "増田", "マスダ"),
    ("9850873", "宮城県", "多賀城市", "中央", "チュウオウ"),
    ("9850052", "宮城県", "塩竈市", "本町", "モトマチ"),
    (
        "9896162",
        "宮城県",
        "大崎市",
        "古川駅前大通",
        "フルカワエキマエオオドオリ",
    ),
    ("1040061", "東京都", "中央区", "銀座", "ギンザ"),
    (
        "1540024",
        "東京都",
        "世田谷区",
        "三軒茶屋",
        "サンゲンヂャヤ",
    ),
    ("1570066", "東京都", "世田谷区", "成城", "セイジョウ"),
    ("1660004", "東京都", "杉並区", "阿佐谷南", "アサガヤミナミ"),
    ("1790072", "東京都", "練馬区", "光が丘", "ヒカリガオカ"),
    ("1400014", "東京都", "品川区", "大井", "オオイ"),
    ("1520035", "東京都", "目黒区", "自由が丘", "ジユウガオカ"),
    ("1440052", "東京都", "大田区", "蒲田", "カマタ"),
    ("1130033", "東京都", "文京区", "本郷", "ホンゴウ"),
    (
        "1800004",
        "東京都",
        "武蔵野市",
        "吉祥寺本町",
        "キチジョウジホンチョウ",
    ),
    ("1920083", "東京都", "八王子市", "旭町", "アサヒチョウ"),
    ("1940013", "東京都", "町田市", "原町田", "ハラマチダ"),
    ("1820022", "東京都", "調布市", "国領町", "コクリョウチョウ"),
    (
        "2310023",
        "神奈川県",
        "横浜市中区",
        "山下町",
        "ヤマシタチョウ",
    ),
    ("2230061", "神奈川県", "横浜市港北区", "日吉", "ヒヨシ"),
    (
        "2250002",
        "神奈川県",
        "横浜市青葉区",
        "美しが丘",
        "ウツクシガオカ",
    ),
    (
        "2110063",
        "神奈川県",
        "川崎市中原区",
        "小杉町",
        "コスギマチ",
    ),
    ("2130001", "神奈川県", "川崎市高津区", "溝口", "ミゾノクチ"),
    (
        "2520231",
        "神奈川県",
        "相模原市中央区",
        "相模原",
        "サガミハラ",
    ),
    (
        "2510037",
        "神奈川県",
        "藤沢市",
        "鵠沼海岸",
        "クゲヌマカイガン",
    ),
    ("2480006", "神奈川県", "鎌倉市", "小町", "コマチ"),
    ("5300001", "大阪府", "大阪市北区", "梅田", "ウメダ"),
    ("5420076", "大阪府", "大阪市中央区", "難波", "ナンバ"),
    (
        "5430001",
        "大阪府",
        "大阪市天王寺区",
        "上本町",
        "ウエホンマチ",
    ),
    (
        "5900078",
        "大阪府",
        "堺市堺区",
        "南瓦町",
        "ミナミカワラマチ",
    ),
    (
        "5600082",
        "大阪府",
        "豊中市",
        "新千里東町",
        "シンセンリヒガシマチ",
    ),
    ("5640063", "大阪府", "吹田市", "江坂町", "エサカチョウ"),
    ("5730032", "大阪府", "枚方市", "岡東町", "オカヒガシチョウ"),
    ("4600008", "愛知県", "名古屋市中区", "栄", "サカエ"),
    ("4640850", "愛知県", "名古屋市千種区", "今池", "イマイケ"),
    (
        "4660825",
        "愛知県",
        "名古屋市昭和区",
        "八事本町",
        "ヤゴトホンマチ",
    ),
    ("4710024", "愛知県", "豊田市", "元城町", "モトシロチョウ"),
    ("4440052", "愛知県", "岡崎市", "康生町", "コウセイチョウ"),
    ("3300063", "埼玉県", "さいたま市浦和区", "高砂", "タカサゴ"),
    (
        "3300854",
        "埼玉県",
        "さいたま市大宮区",
        "桜木町",
        "サクラギチョウ",
    ),
    ("3320012", "埼玉県", "川口市", "本町", "ホンチョウ"),
    ("3500043", "埼玉県", "川越市", "新富町", "シントミチョウ"),
    ("3591123", "埼玉県", "所沢市", "日吉町", "ヒヨシチョウ"),
    ("2600015", "千葉県", "千葉市中央区", "富士見", "フジミ"),
    ("2730005", "千葉県", "船橋市", "本町", "ホンチョウ"),
    ("2770005", "千葉県", "柏市", "柏", "カシワ"),
    ("2790031", "千葉県", "浦安市", "舞浜", "マイハマ"),
    ("2720021", "千葉県", "市川市", "八幡", "ヤワタ"),
    (
        "6500021",
        "兵庫県",
        "神戸市中央区",
        "三宮町",
        "サンノミヤチョウ",
    ),
    (
        "6638152",
        "兵庫県",
        "西宮市",
        "甲子園町",
        "コウシエンチョウ",
    ),
    ("6700012", "兵庫県", "姫路市", "本町", "ホンマチ"),
    ("8100001", "福岡県", "福岡市中央区", "天神", "テンジン"),
    (
        "8120011",
        "福岡県",
        "福岡市博多区",
        "博多駅前",
        "ハカタエキマエ",
    ),
    (
        "6060816",
        "京都府",
        "京都市左京区",
        "下鴨松ノ木町",
        "シモガモマツノキチョウ",
    ),
    ("7300031", "広島県", "広島市中区", "紙屋町", "カミヤチョウ"),
    ("4200852", "静岡県", "静岡市葵区", "紺屋町", "コウヤマチ"),
    ("9638002", "福島県", "郡山市", "駅前", "エキマエ"),
    ("9900039", "山形県", "山形市", "香澄町", "カスミチョウ"),
    ("0200022", "岩手県", "盛岡市", "大通", "オオドオリ"),
    ("0640958", "北海道", "札幌市中央区", "宮の森", "ミヤノモリ"),
    ("1340088", "東京都", "江戸川区", "西葛西", "ニシカサイ"),
    ("1200034", "東京都", "足立区", "千住", "センジュ"),
    ("1750094", "東京都", "板橋区", "成増", "ナリマス"),
    ("1640001", "東京都", "中野区", "中野", "ナカノ"),
    ("1110032", "東京都", "台東区", "浅草", "アサクサ"),
    ("1310045", "東京都", "墨田区", "押上", "オシアゲ"),
    ("1150045", "東京都", "北区", "赤羽", "アカバネ"),
    ("1830023", "東京都", "府中市", "宮町", "ミヤマチ"),
    (
        "2440003",
        "神奈川県",
        "横浜市戸塚区",
        "戸塚町",
        "トツカチョウ",
    ),
    ("2380041", "神奈川県", "横須賀市", "本町", "ホンチョウ"),
    (
        "5320024",
        "大阪府",
        "大阪市淀川区",
        "十三本町",
        "ジュウソウホンマチ",
    ),
    (
        "9800013",
        "宮城県",
        "仙台市青葉区",
        "花京院",
        "カキョウイン",
    ),
    ("9820032", "宮城県", "仙台市太白区", "富沢", "トミザワ"),
    ("9813311", "宮城県", "富谷市", "富谷", "トミヤ"),
    ("9892433", "宮城県", "岩沼市", "桜", "サクラ"),
    ("9813112", "宮城県", "仙台市泉区", "八乙女", "ヤオトメ"),
    ("3050032", "茨城県", "つくば市", "竹園", "タケゾノ"),
    ("3200026", "栃木県", "宇都宮市", "馬場通り", "ババドオリ"),
    ("3700849", "群馬県", "高崎市", "八島町", "ヤシマチョウ"),
    ("9500088", "新潟県", "新潟市中央区", "万代", "バンダイ"),
    ("3900811", "長野県", "松本市", "中央", "チュウオウ"),
    (
        "7000023",
        "岡山県",
        "岡山市北区",
        "駅前町",
        "エキマエチョウ",
    ),
    (
        "8600806",
        "熊本県",
        "熊本市中央区",
        "花畑町",
        "ハナバタチョウ",
    ),
    ("9000015", "沖縄県", "那覇市", "久茂地", "クモジ"),
    (
        "6308122",
        "奈良県",
        "奈良市",
        "三条本町",
        "サンジョウホンマチ",
    ),
    ("5200047", "滋賀県", "大津市", "浜大津", "ハマオオツ"),
];

/// The built-in rows as [`AddressSeed`]s.
pub fn builtin_seeds() -> Vec<AddressSeed> {
    BUILTIN
        .iter()
        .map(
            |&(postal_code, prefecture, city, town, town_kana)| AddressSeed {
                postal_code: postal_code.into(),
                prefecture: prefecture.into(),
                city: city.into(),
                town: town.into(),
                town_kana: town_kana.into(),
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::is_katakana;
    use crate::rng::item_rng;

    fn seed(postal_code: &str, prefecture: &str, city: &str, town: &str) -> AddressSeed {
        AddressSeed {
            postal_code: postal_code.into(),
            prefecture: prefecture.into(),
            city: city.into(),
            town: town.into(),
            town_kana: String::new(),
        }
    }

    #[test]
    fn builtin_is_wellformed() {
        let book = AddressBook::builtin();
        assert_eq!(book.len(), BUILTIN.len());
        assert!(book.len() >= 60);
        for s in book.seeds() {
            assert_eq!(s.postal_code.len(), 7);
            assert!(is_katakana(&s.town_kana), "{} {}", s.town, s.town_kana);
            assert!(is_usable_town(&s.town));
        }
        let mut codes: Vec<_> = book.seeds().iter().map(|s| &s.postal_code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(
            codes.len(),
            book.len(),
            "duplicate postal code in the built-in set"
        );
    }

    #[test]
    fn from_seeds_validates_and_filters() {
        assert_eq!(
            AddressBook::from_seeds([seed("980-081", "宮城県", "仙台市青葉区", "一番町")]).err(),
            Some(AddressBookError::InvalidPostalCode { row: 0 })
        );
        assert_eq!(
            AddressBook::from_seeds([seed("9800811", "宮城州", "仙台市青葉区", "一番町")]).err(),
            Some(AddressBookError::UnknownPrefecture { row: 0 })
        );
        assert_eq!(
            AddressBook::from_seeds([seed("9800811", "宮城県", "", "一番町")]).err(),
            Some(AddressBookError::EmptyField {
                row: 0,
                field: "city"
            })
        );
        assert_eq!(
            AddressBook::from_seeds([seed(
                "9800000",
                "宮城県",
                "仙台市青葉区",
                "以下に掲載がない場合"
            )])
            .err(),
            Some(AddressBookError::Empty)
        );
        let book = AddressBook::from_seeds([
            seed("9800000", "宮城県", "仙台市青葉区", "以下に掲載がない場合"),
            seed(
                "9800021",
                "宮城県",
                "仙台市青葉区",
                "中央（次のビルを除く）",
            ),
            seed("9800811", "宮城県", "仙台市青葉区", "一番町"),
        ])
        .expect("one usable row");
        assert_eq!(book.len(), 1);
        assert_eq!(book.seeds()[0].town, "一番町");
    }

    #[test]
    fn from_seeds_normalises_rows() {
        let book = AddressBook::from_seeds([AddressSeed {
            postal_code: "980-0811".into(),
            prefecture: "宮城".into(),
            city: "仙台市青葉区".into(),
            town: "一番町".into(),
            town_kana: "ｲﾁﾊﾞﾝﾁｮｳ".into(),
        }])
        .expect("valid");
        let s = &book.seeds()[0];
        assert_eq!(s.postal_code, "9800811");
        assert_eq!(s.prefecture, "宮城県");
        assert_eq!(s.town_kana, "イチバンチョウ");
    }

    #[test]
    fn prefecture_mix_does_not_depend_on_row_counts() {
        // Ten Tokyo rows and one Miyagi row: Tokyo still gets 20/(20+6) of the draws.
        let mut rows: Vec<_> = (0..10)
            .map(|i| {
                seed(
                    &format!("10000{i:02}"),
                    "東京都",
                    "千代田区",
                    &format!("町{i}"),
                )
            })
            .collect();
        rows.push(seed("9800811", "宮城県", "仙台市青葉区", "一番町"));
        let book = AddressBook::from_seeds(rows).expect("valid");
        let mut rng = item_rng(3, 3, 3);
        let n = 26_000;
        let tokyo = (0..n)
            .filter(|_| book.pick(&mut rng).prefecture == "東京都")
            .count();
        let share = tokyo as f64 / n as f64;
        assert!((share - 20.0 / 26.0).abs() < 0.02, "{share}");
    }

    #[test]
    fn streets_and_buildings_have_the_documented_shapes() {
        let mut rng = item_rng(9, 9, 9);
        let (mut chome, mut plain, mut buildings) = (0, 0, 0);
        for i in 0..2000 {
            let city = if i % 2 == 0 {
                "仙台市青葉区"
            } else {
                "名取市"
            };
            let (street, building) = street_and_building(&mut rng, city);
            if let Some((c, rest)) = street.split_once("丁目") {
                assert!(c.parse::<u32>().is_ok(), "{street}");
                let (b, g) = rest.split_once('-').expect("ban-go");
                assert!(
                    b.parse::<u32>().is_ok() && g.parse::<u32>().is_ok(),
                    "{street}"
                );
                chome += 1;
            } else {
                assert!(
                    street.split('-').all(|p| p.parse::<u32>().is_ok()),
                    "{street}"
                );
                plain += 1;
            }
            if let Some(b) = building {
                let (_, room) = b.rsplit_once(' ').expect("name and room");
                assert!(
                    room.ends_with('号') && room.trim_end_matches('号').parse::<u32>().is_ok(),
                    "{b}"
                );
                buildings += 1;
            }
        }
        assert!(
            chome > 500 && plain > 500 && buildings > 200,
            "{chome} {plain} {buildings}"
        );
    }
}
