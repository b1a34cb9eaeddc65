//! Deterministic generator of realistic 楽天ふるさと納税 orders (getOrder JSON, version 9/10 shape).
//!
//! Every order is a pure function of `(seed, index)`, so a store can keep only the index and
//! rebuild the JSON on demand ([`super::MockRms::insert_generated`] keeps ~150 bytes per order).
//! Orders are in chronological order of their index; the date distribution has the December
//! peak of ふるさと納税 and an evening peak within the day.
//!
//! People come from an [`OrderPersonSource`]; [`BuiltinPeople`] is a small fictitious list.
//! The `furusato-synth` crate can provide a realistic source later by implementing the trait.
//!
//! E-mail addresses imitate Rakuten's masked relay format but use the reserved `.example`
//! domain so nothing generated is ever deliverable.

use std::sync::Arc;

use serde_json::{Value, json};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, Weekday};

use crate::rakuten::datetime::{JST, format_rms_date, format_rms_datetime};

// ---------------------------------------------------------------------------------------------
// Deterministic PRNG (SplitMix64): stable across platforms and crate versions.
// ---------------------------------------------------------------------------------------------

/// Small deterministic PRNG (SplitMix64). Stable forever, unlike library RNGs.
#[derive(Debug, Clone)]
pub struct Rng64(u64);

impl Rng64 {
    /// New generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng64(seed)
    }

    /// Generator for item `index` of stream `seed`.
    pub fn for_index(seed: u64, index: u64) -> Self {
        let mut r = Rng64(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03));
        Rng64(r.next_u64())
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.unit() * n as f64) as u64).min(n.saturating_sub(1))
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A random element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A random index following integer weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| *w as u64).sum();
        let mut r = self.below(total.max(1));
        for (i, w) in weights.iter().enumerate() {
            if r < *w as u64 {
                return i;
            }
            r -= *w as u64;
        }
        weights.len() - 1
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + self.below(10) as u8))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// People
// ---------------------------------------------------------------------------------------------

/// A fictitious person used as orderer (donor) or gift recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPerson {
    /// 姓.
    pub family_name: String,
    /// 名.
    pub first_name: String,
    /// 姓 (katakana).
    pub family_name_kana: String,
    /// 名 (katakana).
    pub first_name_kana: String,
    /// Romaji as on a card, e.g. `TARO SATO` (for `cardOwner`).
    pub romaji: String,
    /// 郵便番号 first 3 digits.
    pub zip_code1: String,
    /// 郵便番号 last 4 digits.
    pub zip_code2: String,
    /// 都道府県.
    pub prefecture: String,
    /// 市区郡.
    pub city: String,
    /// 町域以降.
    pub sub_address: String,
    /// Phone in three parts.
    pub phone: [String; 3],
    /// `"男"` / `"女"`.
    pub sex: Option<String>,
    /// (year, month, day).
    pub birth: Option<(i32, u8, u8)>,
}

/// Source of people for generated orders: the seam where `furusato-synth` plugs in.
/// Implementations must be deterministic: the same `(seed, index)` gives the same person.
pub trait OrderPersonSource: Send + Sync {
    /// The person for stream `seed`, position `index`.
    fn person(&self, seed: u64, index: u64) -> OrderPerson;
}

/// A small built-in list of fictitious people (common surnames × given names × a few towns).
#[derive(Debug, Clone, Copy, Default)]
pub struct BuiltinPeople;

const FAMILY: &[(&str, &str, &str)] = &[
    ("佐藤", "サトウ", "SATO"),
    ("鈴木", "スズキ", "SUZUKI"),
    ("高橋", "タカハシ", "TAKAHASHI"),
    ("田中", "タナカ", "TANAKA"),
    ("伊藤", "イトウ", "ITO"),
    ("渡辺", "ワタナベ", "WATANABE"),
    ("山本", "ヤマモト", "YAMAMOTO"),
    ("中村", "ナカムラ", "NAKAMURA"),
    ("小林", "コバヤシ", "KOBAYASHI"),
    ("加藤", "カトウ", "KATO"),
    ("吉田", "ヨシダ", "YOSHIDA"),
    ("山田", "ヤマダ", "YAMADA"),
    ("佐々木", "ササキ", "SASAKI"),
    ("阿部", "アベ", "ABE"),
    ("菅原", "スガワラ", "SUGAWARA"),
    ("千葉", "チバ", "CHIBA"),
    ("及川", "オイカワ", "OIKAWA"),
    ("遠藤", "エンドウ", "ENDO"),
    ("三浦", "ミウラ", "MIURA"),
    ("斎藤", "サイトウ", "SAITO"),
];

const GIVEN: &[(&str, &str, &str, &str)] = &[
    ("太郎", "タロウ", "TARO", "男"),
    ("花子", "ハナコ", "HANAKO", "女"),
    ("健一", "ケンイチ", "KENICHI", "男"),
    ("美咲", "ミサキ", "MISAKI", "女"),
    ("翔太", "ショウタ", "SHOTA", "男"),
    ("陽菜", "ヒナ", "HINA", "女"),
    ("大輔", "ダイスケ", "DAISUKE", "男"),
    ("由美", "ユミ", "YUMI", "女"),
    ("拓也", "タクヤ", "TAKUYA", "男"),
    ("恵子", "ケイコ", "KEIKO", "女"),
    ("誠", "マコト", "MAKOTO", "男"),
    ("直美", "ナオミ", "NAOMI", "女"),
    ("浩二", "コウジ", "KOJI", "男"),
    ("彩", "アヤ", "AYA", "女"),
    ("悠斗", "ユウト", "YUTO", "男"),
    ("結衣", "ユイ", "YUI", "女"),
];

/// (zip1, zip2, prefecture, city, town)
const TOWNS: &[(&str, &str, &str, &str, &str)] = &[
    ("100", "0005", "東京都", "千代田区", "丸の内"),
    ("158", "0094", "東京都", "世田谷区", "玉川"),
    ("220", "0012", "神奈川県", "横浜市西区", "みなとみらい"),
    ("530", "0001", "大阪府", "大阪市北区", "梅田"),
    ("460", "0008", "愛知県", "名古屋市中区", "栄"),
    ("812", "0011", "福岡県", "福岡市博多区", "博多駅前"),
    ("060", "0001", "北海道", "札幌市中央区", "北一条西"),
    ("980", "0811", "宮城県", "仙台市青葉区", "一番町"),
    ("330", "0063", "埼玉県", "さいたま市浦和区", "高砂"),
    ("260", "0013", "千葉県", "千葉市中央区", "中央"),
    ("650", "0021", "兵庫県", "神戸市中央区", "三宮町"),
    ("730", "0011", "広島県", "広島市中区", "基町"),
    ("900", "0015", "沖縄県", "那覇市", "久茂地"),
    ("950", "0087", "新潟県", "新潟市中央区", "東大通"),
];

const BUILDINGS: &[&str] = &[
    "コーポ桜",
    "グランメゾン",
    "ハイツ青葉",
    "パークレジデンス",
    "サンライズ",
];

impl OrderPersonSource for BuiltinPeople {
    fn person(&self, seed: u64, index: u64) -> OrderPerson {
        let mut r = Rng64::for_index(seed ^ 0x5045_4F50_4C45, index);
        let (fam, fam_kana, fam_ro) = *r.pick(FAMILY);
        let (given, given_kana, given_ro, sex) = *r.pick(GIVEN);
        let (z1, z2, pref, city, town) = *r.pick(TOWNS);
        let mut sub = format!(
            "{town}{}-{}-{}",
            r.range(1, 9),
            r.range(1, 30),
            r.range(1, 20)
        );
        if r.chance(0.35) {
            sub.push_str(&format!(
                " {}{}0{}号室",
                r.pick(BUILDINGS),
                r.range(1, 12),
                r.range(1, 9)
            ));
        }
        let phone = if r.chance(0.8) {
            [
                r.pick(&["090", "080", "070"]).to_string(),
                r.digits(4),
                r.digits(4),
            ]
        } else {
            ["03".to_owned(), r.digits(4), r.digits(4)]
        };
        let birth = r.chance(0.7).then(|| {
            (
                r.range(1945, 2002) as i32,
                r.range(1, 12) as u8,
                r.range(1, 28) as u8,
            )
        });
        OrderPerson {
            family_name: fam.to_owned(),
            first_name: given.to_owned(),
            family_name_kana: fam_kana.to_owned(),
            first_name_kana: given_kana.to_owned(),
            romaji: format!("{given_ro} {fam_ro}"),
            zip_code1: z1.to_owned(),
            zip_code2: z2.to_owned(),
            prefecture: pref.to_owned(),
            city: city.to_owned(),
            sub_address: sub,
            phone,
            sex: r.chance(0.9).then(|| sex.to_owned()),
            birth,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Gifts and choices
// ---------------------------------------------------------------------------------------------

/// (title, price in yen, weight, 納期情報)
const GIFTS: &[(&str, i64, u32, &str)] = &[
    (
        "牛タン 塩仕込み 500g",
        10_000,
        40,
        "入金確認後2週間以内に発送",
    ),
    ("牛タン 厚切り 1kg", 20_000, 20, "入金確認後2週間以内に発送"),
    (
        "笹かまぼこ 詰め合わせ 20枚",
        8_000,
        25,
        "入金確認後1週間以内に発送",
    ),
    ("ずんだ餅 10個入り", 6_000, 25, "入金確認後1週間以内に発送"),
    (
        "仙台牛 サーロインステーキ 400g",
        30_000,
        12,
        "入金確認後1か月以内に発送",
    ),
    (
        "仙台牛 すき焼き用 800g",
        50_000,
        6,
        "入金確認後1か月以内に発送",
    ),
    (
        "宮城県産 ひとめぼれ 10kg",
        12_000,
        30,
        "入金確認後2週間以内に発送",
    ),
    (
        "宮城県産 ササニシキ 5kg",
        7_000,
        20,
        "入金確認後2週間以内に発送",
    ),
    (
        "純米吟醸 720ml 2本セット",
        15_000,
        10,
        "入金確認後2週間以内に発送",
    ),
    (
        "三陸産 牡蠣 むき身 1kg",
        13_000,
        12,
        "2026年1月上旬より順次発送",
    ),
    (
        "ほや 燻製 詰め合わせ",
        5_000,
        10,
        "入金確認後1週間以内に発送",
    ),
    ("銀鮭 切り身 2kg", 17_000, 10, "入金確認後2週間以内に発送"),
    ("はらこ飯の素 4食", 9_000, 8, "入金確認後2週間以内に発送"),
    ("伝統こけし 1体", 25_000, 3, "入金確認後2か月以内に発送"),
    ("堤焼 湯呑み ペア", 35_000, 2, "入金確認後2か月以内に発送"),
    ("玉虫塗 ボールペン", 40_000, 2, "入金確認後1か月以内に発送"),
    ("仙台平 名刺入れ", 60_000, 1, "入金確認後2か月以内に発送"),
    (
        "秋保温泉 宿泊ペアチケット",
        100_000,
        2,
        "入金確認後2週間以内に発送",
    ),
    (
        "作並温泉 宿泊ペアチケット 2泊",
        150_000,
        1,
        "入金確認後2週間以内に発送",
    ),
    (
        "定期便 旬の野菜セット 6回",
        70_000,
        2,
        "お申込み翌月より毎月発送",
    ),
    ("いちご 2パック", 8_000, 12, "2026年1月中旬より順次発送"),
    (
        "せり鍋セット 3〜4人前",
        11_000,
        8,
        "2025年12月上旬より順次発送",
    ),
    ("うに 瓶詰め 3本", 20_000, 6, "入金確認後2週間以内に発送"),
    ("日本酒 大吟醸 1.8L", 30_000, 4, "入金確認後2週間以内に発送"),
    ("仙台箪笥 小物入れ", 200_000, 1, "入金確認後3か月以内に発送"),
    ("仙台箪笥 手元箪笥", 500_000, 1, "入金確認後6か月以内に発送"),
    ("ふかひれスープ 6袋", 18_000, 6, "入金確認後2週間以内に発送"),
    ("はちみつ 3本セット", 12_000, 6, "入金確認後2週間以内に発送"),
];

/// The gift code (`商品番号`) of catalog entry `i`, e.g. `SD0001`.
pub fn gift_code(i: usize) -> String {
    format!("SD{:04}", i + 1)
}

/// 使い道 options of the built-in shop.
pub const USES_OF_FUNDS: &[&str] = &[
    "子育て支援",
    "教育の充実",
    "環境保全",
    "観光振興",
    "震災復興",
    "市長におまかせ",
];

/// Heading of the tax-document choice (as in the 楽天ふるさと納税 guide).
pub const TAX_DOC_HEADING: &str = "税金控除申請に必要な書類";
/// Option asking for the ワンストップ特例申請書.
pub const TAX_DOC_ONESTOP: &str = "必要(ワンストップ特例申請用)";
/// Option declining it.
pub const TAX_DOC_NONE: &str = "不要";
/// Heading of the use-of-funds choice.
pub const USE_OF_FUNDS_HEADING: &str = "寄附金の使い道";

const MAX_TOTAL: i64 = 500_000;

// ---------------------------------------------------------------------------------------------
// Spec
// ---------------------------------------------------------------------------------------------

/// The cheap, indexed part of a generated order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderHeader {
    /// 注文番号.
    pub order_number: String,
    /// 注文日時 (JST).
    pub order_datetime: OffsetDateTime,
    /// orderProgress.
    pub order_progress: i32,
}

/// Parameters of a generated order set; `order(i)` is a pure function of the spec and `i`.
#[derive(Clone)]
pub struct GeneratorSpec {
    /// Number of orders.
    pub n: u64,
    /// Seed.
    pub seed: u64,
    /// First order date (JST, inclusive).
    pub start_date: Date,
    /// Last order date (JST, inclusive).
    pub end_date: Date,
    /// Shop id (first part of the order number), e.g. `"283819"`.
    pub shop_id: String,
    /// Where orderers and gift recipients come from.
    pub people: Arc<dyn OrderPersonSource>,
    day_cum: Arc<[f64]>,
    seq_base: u64,
}

impl std::fmt::Debug for GeneratorSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratorSpec")
            .field("n", &self.n)
            .field("seed", &self.seed)
            .field("start_date", &self.start_date)
            .field("end_date", &self.end_date)
            .field("shop_id", &self.shop_id)
            .finish_non_exhaustive()
    }
}

/// Relative order volume of a day: the December rush, busiest in the last days of the year.
fn day_weight(d: Date) -> f64 {
    match (d.month(), d.day()) {
        (Month::December, 20..=31) => 8.0,
        (Month::December, _) => 4.0,
        (Month::November, _) => 1.5,
        _ if matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) => 1.2,
        _ => 1.0,
    }
}

/// Relative order volume per hour of day (evening peak).
const HOUR_WEIGHTS: [f64; 24] = [
    3.0, 2.0, 1.0, 0.5, 0.3, 0.3, 0.6, 1.0, 2.0, 3.0, 3.5, 4.0, 5.0, 4.5, 4.0, 4.0, 4.0, 4.5, 5.0,
    6.0, 7.0, 8.0, 7.0, 5.0,
];

fn hour_warp(f: f64) -> u32 {
    // Monotone map [0,1) → second of day following HOUR_WEIGHTS.
    let total: f64 = HOUR_WEIGHTS.iter().sum();
    let mut target = f * total;
    for (h, w) in HOUR_WEIGHTS.iter().enumerate() {
        if target < *w {
            let sec = (target / w * 3600.0) as u32;
            return (h as u32) * 3600 + sec.min(3599);
        }
        target -= w;
    }
    86_399
}

impl GeneratorSpec {
    /// A spec using [`BuiltinPeople`]. `start_date > end_date` is treated as a single day.
    pub fn new(n: u64, seed: u64, start_date: Date, end_date: Date, shop_id: &str) -> Self {
        let end_date = end_date.max(start_date);
        let mut cum = Vec::new();
        let mut acc = 0.0;
        let mut d = start_date;
        loop {
            acc += day_weight(d);
            cum.push(acc);
            if d >= end_date {
                break;
            }
            d = d.next_day().expect("date range within calendar");
        }
        let mut r = Rng64::new(seed ^ 0x0053_4551_4241_5345);
        GeneratorSpec {
            n,
            seed,
            start_date,
            end_date,
            shop_id: shop_id.to_owned(),
            people: Arc::new(BuiltinPeople),
            day_cum: cum.into(),
            seq_base: 100_000_000 + r.below(800_000_000),
        }
    }

    /// Replaces the person source (e.g. a `furusato-synth` adapter).
    pub fn with_people(mut self, people: Arc<dyn OrderPersonSource>) -> Self {
        self.people = people;
        self
    }

    fn datetime_at(&self, u: f64) -> OffsetDateTime {
        let total = *self.day_cum.last().unwrap_or(&1.0);
        let target = u.clamp(0.0, 0.999_999_999) * total;
        let day = self.day_cum.partition_point(|c| *c <= target);
        let day = day.min(self.day_cum.len() - 1);
        let before = if day == 0 { 0.0 } else { self.day_cum[day - 1] };
        let w = self.day_cum[day] - before;
        let f = ((target - before) / w).clamp(0.0, 0.999_999_999);
        let date = self.start_date + Duration::days(day as i64);
        let sec = hour_warp(f);
        let t = Time::from_hms(
            (sec / 3600) as u8,
            ((sec / 60) % 60) as u8,
            (sec % 60) as u8,
        )
        .expect("valid time of day");
        PrimitiveDateTime::new(date, t).assume_offset(JST)
    }

    fn order_number(&self, index: u64, at: OffsetDateTime) -> String {
        let d = at.date();
        format!(
            "{}-{:04}{:02}{:02}-{:010}",
            self.shop_id,
            d.year(),
            u8::from(d.month()),
            d.day(),
            self.seq_base + index
        )
    }

    /// The indexed fields of order `index` (cheap: no JSON is built).
    pub fn header(&self, index: u64) -> OrderHeader {
        let mut r = Rng64::for_index(self.seed, index);
        self.header_with(&mut r, index).0
    }

    fn header_with(&self, r: &mut Rng64, index: u64) -> (OrderHeader, Draws) {
        let frac = r.unit();
        let u = (index as f64 + frac) / self.n.max(1) as f64;
        let at = self.datetime_at(u);
        let settlement = match r.weighted(&[85, 7, 4, 4]) {
            0 => 1,  // card
            1 => 9,  // bank transfer
            2 => 12, // Apple Pay
            _ => 1,
        };
        let roll = r.unit();
        let mut progress = match roll {
            x if x < 0.04 => 900,
            x if x < 0.05 => 800,
            x if x < 0.08 => 100,
            x if x < 0.10 => 400,
            x if x < 0.25 => 300,
            x if x < 0.55 => 500,
            _ => 700,
        };
        // Bank transfers are often still waiting for the money.
        if settlement == 9 && progress != 900 && r.chance(0.4) {
            progress = 100;
        }
        (
            OrderHeader {
                order_number: self.order_number(index, at),
                order_datetime: at,
                order_progress: progress,
            },
            Draws { settlement },
        )
    }

    /// The full getOrder JSON of order `index`.
    pub fn order(&self, index: u64) -> Value {
        let mut r = Rng64::for_index(self.seed, index);
        let (h, draws) = self.header_with(&mut r, index);
        build_order(self, index, &h, draws, &mut r)
    }

    /// All orders in index (= chronological) order.
    pub fn iter(&self) -> impl Iterator<Item = Value> + '_ {
        (0..self.n).map(move |i| self.order(i))
    }
}

struct Draws {
    settlement: i32,
}

/// `n` deterministic orders dated between `start_date` and `end_date` (JST, inclusive) for shop
/// `shop_id`, in chronological order, using [`BuiltinPeople`].
pub fn generate_orders(
    n: u64,
    seed: u64,
    start_date: Date,
    end_date: Date,
    shop_id: &str,
) -> impl Iterator<Item = Value> + use<> {
    let spec = GeneratorSpec::new(n, seed, start_date, end_date, shop_id);
    (0..n).map(move |i| spec.order(i))
}

// ---------------------------------------------------------------------------------------------
// Order JSON
// ---------------------------------------------------------------------------------------------

fn fmt(t: OffsetDateTime) -> String {
    format_rms_datetime(t)
}

fn person_json(p: &OrderPerson, orderer: bool, email: &str) -> Value {
    let mut v = json!({
        "zipCode1": p.zip_code1, "zipCode2": p.zip_code2,
        "prefecture": p.prefecture, "city": p.city, "subAddress": p.sub_address,
        "familyName": p.family_name, "firstName": p.first_name,
        "familyNameKana": p.family_name_kana, "firstNameKana": p.first_name_kana,
        "phoneNumber1": p.phone[0], "phoneNumber2": p.phone[1], "phoneNumber3": p.phone[2],
    });
    let obj = v.as_object_mut().expect("object literal");
    if orderer {
        obj.insert("emailAddress".into(), json!(email));
        obj.insert("sex".into(), json!(p.sex));
        obj.insert("birthYear".into(), json!(p.birth.map(|b| b.0)));
        obj.insert("birthMonth".into(), json!(p.birth.map(|b| b.1)));
        obj.insert("birthDay".into(), json!(p.birth.map(|b| b.2)));
    } else {
        obj.insert("isolatedIslandFlag".into(), json!(0));
    }
    v
}

struct Line {
    gift: usize,
    units: i64,
}

fn weekday_ja(d: Date) -> &'static str {
    match d.weekday() {
        Weekday::Monday => "月",
        Weekday::Tuesday => "火",
        Weekday::Wednesday => "水",
        Weekday::Thursday => "木",
        Weekday::Friday => "金",
        Weekday::Saturday => "土",
        Weekday::Sunday => "日",
    }
}

fn build_order(
    spec: &GeneratorSpec,
    index: u64,
    h: &OrderHeader,
    draws: Draws,
    r: &mut Rng64,
) -> Value {
    let at = h.order_datetime;
    let progress = h.order_progress;
    let orderer = spec.people.person(spec.seed, index);
    let email = format!(
        "{:016x}{:016x}s1@pc.fw.rakuten.example",
        r.next_u64(),
        r.next_u64()
    );

    // Item lines, total kept within 5,000–500,000 yen.
    let weights: Vec<u32> = GIFTS.iter().map(|g| g.2).collect();
    let n_lines = 1 + r.weighted(&[75, 18, 7]);
    let mut lines: Vec<Line> = Vec::new();
    let mut total = 0i64;
    for _ in 0..n_lines {
        let gift = r.weighted(&weights);
        let units = 1 + r.weighted(&[90, 8, 2]) as i64;
        if lines.iter().any(|l| l.gift == gift) {
            continue;
        }
        let mut units = units;
        while units > 1 && total + GIFTS[gift].1 * units > MAX_TOTAL {
            units -= 1;
        }
        if total + GIFTS[gift].1 * units > MAX_TOTAL {
            continue;
        }
        total += GIFTS[gift].1 * units;
        lines.push(Line { gift, units });
    }
    if lines.is_empty() {
        lines.push(Line { gift: 0, units: 1 });
        total = GIFTS[0].1;
    }

    let onestop = r.chance(0.55);
    let use_of_funds = *r.pick(USES_OF_FUNDS);
    let selected_choice = format!(
        "{TAX_DOC_HEADING}:{}\n{USE_OF_FUNDS_HEADING}:{use_of_funds}",
        if onestop {
            TAX_DOC_ONESTOP
        } else {
            TAX_DOC_NONE
        }
    );

    // Destinations: usually the orderer; sometimes a gift to someone else, sometimes split.
    let gift_order = r.chance(0.06);
    let several = gift_order && lines.len() >= 2 && r.chance(0.6);
    let recipient = spec.people.person(spec.seed ^ 0x4749_4654, index);
    let packages_lines: Vec<(bool, Vec<&Line>)> = if several {
        let (first, rest) = lines.split_at(1);
        vec![
            (false, first.iter().collect()),
            (true, rest.iter().collect()),
        ]
    } else {
        vec![(gift_order, lines.iter().collect())]
    };

    let undetermined = matches!(progress, 100 | 400) && r.chance(0.4);
    let price_or_sentinel = |v: i64| if undetermined { -9999 } else { v };

    let cfm = at + Duration::minutes(r.range(3, 180));
    let fix = cfm + Duration::minutes(r.range(1, 60));
    let ship_date = (at + Duration::days(r.range(5, 40))).date();
    let shipped = matches!(progress, 500..=700);
    let confirmed = progress >= 200 || progress == 900;

    let mut packages = Vec::new();
    let mut item_seq = 0u64;
    for (k, (to_recipient, pl)) in packages_lines.iter().enumerate() {
        let sender = if *to_recipient { &recipient } else { &orderer };
        let mut pkg_goods = 0i64;
        let items: Vec<Value> = pl
            .iter()
            .map(|l| {
                let (title, price, _, delv) = GIFTS[l.gift];
                let code = gift_code(l.gift);
                pkg_goods += price * l.units;
                item_seq += 1;
                json!({
                    "itemDetailId": index * 10 + item_seq + 100_000_000,
                    "itemName": format!("【ふるさと納税】{title} [{code}]"),
                    "itemId": 10_000_000 + l.gift as i64,
                    "itemNumber": code,
                    "manageNumber": code.to_lowercase(),
                    "price": price,
                    "units": l.units,
                    "includePostageFlag": 1,
                    "includeTaxFlag": 1,
                    "includeCashOnDeliveryPostageFlag": 0,
                    "selectedChoice": selected_choice,
                    "pointRate": 1,
                    "pointType": 0,
                    "inventoryType": 1,
                    "delvdateInfo": delv,
                    "restoreInventoryFlag": 0,
                    "dealFlag": 0,
                    "drugFlag": 0,
                    "deleteItemFlag": 0,
                    "taxRate": 0.0,
                    "priceTaxIncl": price,
                    "isSingleItemShipping": 0,
                    "SkuModelList": [{"variantId": "", "merchantDefinedSkuId": null, "skuInfo": null}]
                })
            })
            .collect();
        let shippings = if shipped {
            json!([{
                "shippingDetailId": index * 4 + k as u64 + 500_000_000,
                "shippingNumber": r.digits(12),
                "deliveryCompany": "1001",
                "deliveryCompanyName": "ヤマト運輸",
                "shippingDate": format_rms_date(ship_date),
            }])
        } else {
            json!([])
        };
        packages.push(json!({
            "basketId": index * 4 + k as u64 + 10_000_000,
            "postagePrice": 0, "postageTaxRate": 0.1,
            "deliveryPrice": 0, "deliveryTaxRate": 0.1,
            "goodsPrice": price_or_sentinel(pkg_goods),
            "totalPrice": price_or_sentinel(pkg_goods),
            "noshi": if *to_recipient && r.chance(0.5) { json!("御歳暮") } else { Value::Null },
            "packageDeleteFlag": 0,
            "defaultDeliveryCompanyCode": "1001",
            "dropOffFlag": 0, "dropOffLocation": null,
            "SenderModel": person_json(sender, false, ""),
            "ItemModelList": items,
            "ShippingModelList": shippings,
            "DeliveryCvsModel": null,
            "SocialGiftModel": null,
        }));
    }

    let used_point = if !undetermined && r.chance(0.2) {
        (r.range(1, 300) * 100).min(total)
    } else {
        0
    };

    let settlement = match draws.settlement {
        9 => json!({
            "settlementMethodCode": 9, "settlementMethod": "銀行振込", "rpaySettlementFlag": 0,
            "cardName": null, "cardNumber": null, "cardOwner": null, "cardYm": null,
            "cardPayType": null, "cardInstallmentDesc": null
        }),
        12 => json!({
            "settlementMethodCode": 12, "settlementMethod": "Apple Pay", "rpaySettlementFlag": 1,
            "cardName": null, "cardNumber": null, "cardOwner": null, "cardYm": null,
            "cardPayType": null, "cardInstallmentDesc": null
        }),
        _ => json!({
            "settlementMethodCode": 1, "settlementMethod": "クレジットカード", "rpaySettlementFlag": 1,
            "cardName": r.pick(&["VISA", "MasterCard", "JCB", "AMEX"]),
            "cardNumber": format!("XXXX-XXXX-XXXX-{}", r.digits(4)),
            "cardOwner": orderer.romaji,
            "cardYm": format!("{}-{:02}", at.year() + r.range(1, 5) as i32, r.range(1, 12)),
            "cardPayType": 0, "cardInstallmentDesc": null
        }),
    };
    let due_dates = if draws.settlement == 9 {
        json!([{"dueDateType": 0, "dueDate": format_rms_date((at + Duration::days(7)).date())}])
    } else {
        json!([])
    };

    let change_id_base = 150_000_000 + index * 4;
    let mut changes = Vec::new();
    if confirmed {
        changes.push(json!({
            "changeId": change_id_base, "changeType": 8, "changeTypeDetail": null,
            "changeReason": null, "changeReasonDetail": null,
            "changeApplyDatetime": fmt(cfm), "changeFixDatetime": fmt(cfm), "changeCmplDatetime": fmt(cfm)
        }));
    }
    if progress == 900 {
        let c = fix + Duration::hours(r.range(1, 72));
        changes.push(json!({
            "changeId": change_id_base + 1, "changeType": 0, "changeTypeDetail": null,
            "changeReason": 1, "changeReasonDetail": 1,
            "changeApplyDatetime": fmt(c), "changeFixDatetime": null, "changeCmplDatetime": null
        }));
        changes.push(json!({
            "changeId": change_id_base + 2, "changeType": 2, "changeTypeDetail": null,
            "changeReason": 1, "changeReasonDetail": 1,
            "changeApplyDatetime": fmt(c), "changeFixDatetime": fmt(c), "changeCmplDatetime": fmt(c + Duration::minutes(5))
        }));
    }

    let remarks = match r.weighted(&[80, 12, 8]) {
        0 => "[配送日時指定:]\n\n".to_owned(),
        1 => {
            let d = (at + Duration::days(r.range(14, 40))).date();
            format!(
                "[配送日時指定:]\n{}({})\n14:00-16:00\n",
                format_rms_date(d),
                weekday_ja(d)
            )
        }
        _ => "[配送日時指定:]\n\n[備考欄:]\n平日は不在がちのため、土日の配達を希望します。\n"
            .to_owned(),
    };

    let goods = price_or_sentinel(total);
    let request = if undetermined {
        -9999
    } else {
        total - used_point
    };
    let opt_dt = |cond: bool, t: OffsetDateTime| {
        if cond { json!(fmt(t)) } else { Value::Null }
    };

    let mut order = json!({
        "orderNumber": h.order_number,
        "orderProgress": progress,
        "subStatusId": null, "subStatusName": null,
        "orderDatetime": fmt(at),
        "shopOrderCfmDatetime": opt_dt(confirmed, cfm),
        "orderFixDatetime": opt_dt((progress >= 300 && progress != 900) || (progress == 900 && r.chance(0.5)), fix),
        "shippingInstDatetime": opt_dt(progress >= 300 && progress != 900, fix),
        "shippingCmplRptDatetime": opt_dt(shipped, PrimitiveDateTime::new(ship_date, Time::from_hms(17, 0, 0).expect("valid")).assume_offset(JST)),
        "cancelDueDate": null,
        "deliveryDate": null,
        "shippingTerm": 0,
        "remarks": remarks,
        "giftCheckFlag": i32::from(gift_order),
        "socialGiftFlag": 0,
        "severalSenderFlag": i32::from(several),
        "equalSenderFlag": i32::from(!gift_order),
        "isolatedIslandFlag": 0,
        "rakutenMemberFlag": 1,
        "carrierCode": r.pick(&[0, 11, 12]),
        "emailCarrierCode": 0,
        "orderType": 1,
        "reserveNumber": null, "reserveDeliveryCount": null,
        "cautionDisplayType": 0, "cautionDisplayDetailType": null,
        "rakutenConfirmFlag": 0,
        "goodsPrice": goods,
        "postagePrice": 0, "deliveryPrice": 0, "paymentCharge": 0,
        "paymentChargeTaxRate": 0.1,
        "totalPrice": goods,
        "requestPrice": request,
        "couponAllTotalPrice": 0, "couponShopPrice": 0, "couponOtherPrice": 0,
        "additionalFeeOccurAmountToUser": 0, "additionalFeeOccurAmountToShop": 0,
    });
    let rest = json!({
        "asurakuFlag": 0, "drugFlag": 0, "dealFlag": 0, "membershipType": 0,
        "memo": null, "operator": null, "mailPlugSentence": null,
        "modifyFlag": 0,
        "receiptIssueCount": 0, "receiptIssueHistoryList": [],
        "deliveryCertPrgFlag": 0, "oneDayOperationFlag": 0,
        "OrdererModel": person_json(&orderer, true, &email),
        "SettlementModel": settlement,
        "DeliveryModel": {"deliveryName": "宅配便", "deliveryClass": null},
        "PointModel": {"usedPoint": used_point},
        "WrappingModel1": null, "WrappingModel2": null,
        "PackageModelList": packages,
        "CouponModelList": null,
        "ChangeReasonModelList": changes,
        "TaxSummaryModelList": [],
        "DueDateModelList": due_dates,
    });
    if let (Some(o), Value::Object(r)) = (order.as_object_mut(), rest) {
        o.extend(r);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rakuten::model::{OrderModel, Price};
    use serde::Deserialize;
    use time::macros::date;

    fn spec(n: u64) -> GeneratorSpec {
        GeneratorSpec::new(
            n,
            42,
            date!(2025 - 10 - 01),
            date!(2025 - 12 - 31),
            "283819",
        )
    }

    #[test]
    fn deterministic_and_chronological() {
        let a: Vec<Value> = generate_orders(
            300,
            7,
            date!(2025 - 10 - 01),
            date!(2025 - 12 - 31),
            "283819",
        )
        .collect();
        let b: Vec<Value> = generate_orders(
            300,
            7,
            date!(2025 - 10 - 01),
            date!(2025 - 12 - 31),
            "283819",
        )
        .collect();
        assert_eq!(a, b);
        let c: Vec<Value> = generate_orders(
            300,
            8,
            date!(2025 - 10 - 01),
            date!(2025 - 12 - 31),
            "283819",
        )
        .collect();
        assert_ne!(a, c);
        let s = spec(300);
        let mut prev = None;
        for i in 0..300 {
            let h = s.header(i);
            let o = s.order(i);
            assert_eq!(o["orderNumber"], json!(h.order_number));
            assert_eq!(o["orderProgress"], json!(h.order_progress));
            assert_eq!(
                o["orderDatetime"],
                json!(format_rms_datetime(h.order_datetime))
            );
            assert!(h.order_datetime.date() >= date!(2025 - 10 - 01));
            assert!(h.order_datetime.date() <= date!(2025 - 12 - 31));
            if let Some(p) = prev {
                assert!(h.order_datetime >= p);
            }
            prev = Some(h.order_datetime);
        }
    }

    #[test]
    fn order_numbers_are_unique_and_shaped() {
        let s = spec(2000);
        let mut set = std::collections::HashSet::new();
        for i in 0..2000 {
            let n = s.header(i).order_number;
            let parts: Vec<&str> = n.split('-').collect();
            assert_eq!(parts.len(), 3);
            assert_eq!(parts[0], "283819");
            assert_eq!(parts[1].len(), 8);
            assert_eq!(parts[2].len(), 10);
            assert!(set.insert(n));
        }
    }

    #[test]
    fn orders_decode_and_have_realistic_variety() {
        let s = spec(3000);
        let (mut cancelled, mut undetermined, mut multi, mut bank, mut onestop) = (0, 0, 0, 0, 0);
        let mut december = 0;
        for i in 0..3000 {
            let raw = s.order(i);
            let m = OrderModel::deserialize(&raw).expect("generated order decodes");
            let total = m.total_price.unwrap();
            match total {
                Price::Amount(t) => assert!((5_000..=500_000).contains(&t), "{t}"),
                Price::Undetermined => {
                    undetermined += 1;
                    assert!(matches!(m.order_progress, Some(100 | 400)));
                }
            }
            if m.is_cancelled() {
                cancelled += 1;
                let ch = m.change_reasons.as_ref().unwrap();
                assert!(ch.iter().any(|c| c.change_type == Some(2)));
            }
            if m.packages.as_ref().unwrap().len() > 1 {
                multi += 1;
                assert_eq!(m.several_sender_flag, Some(1));
            }
            if m.settlement.as_ref().unwrap().settlement_method_code == Some(9) {
                bank += 1;
            }
            let item = m.items().next().unwrap();
            assert!(item.item_number.as_ref().unwrap().starts_with("SD"));
            if item.choices().contains(&(TAX_DOC_HEADING, TAX_DOC_ONESTOP)) {
                onestop += 1;
            }
            if m.order_datetime_at().unwrap().unwrap().month() == Month::December {
                december += 1;
            }
        }
        assert!(cancelled > 30, "cancelled {cancelled}");
        assert!(undetermined > 5, "undetermined {undetermined}");
        assert!(multi > 10, "multi {multi}");
        assert!(bank > 100, "bank {bank}");
        assert!(onestop > 1200, "onestop {onestop}");
        // December carries most of the volume of an Oct–Dec range.
        assert!(december > 1500, "december {december}");
    }

    #[test]
    fn custom_person_source_is_used() {
        struct Fixed;
        impl OrderPersonSource for Fixed {
            fn person(&self, _seed: u64, _index: u64) -> OrderPerson {
                let mut p = BuiltinPeople.person(0, 0);
                p.family_name = "試験".into();
                p
            }
        }
        let s = spec(3).with_people(Arc::new(Fixed));
        assert_eq!(s.order(0)["OrdererModel"]["familyName"], json!("試験"));
    }
}
