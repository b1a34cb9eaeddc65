//! The 47 prefectures (都道府県) with their JIS X 0401 codes.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a text could not be read as a prefecture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefectureError {
    /// Not a prefecture name or a code 1–47.
    #[error("unknown prefecture")]
    Unknown,
}

impl PrefectureError {
    /// A short Japanese message for screens.
    pub fn message_ja(&self) -> &'static str {
        match self {
            Self::Unknown => "都道府県名が正しくありません。",
        }
    }
}

macro_rules! prefectures {
    ($( $variant:ident = $code:literal, $name:literal, $short:literal, $kana:literal; )+) => {
        /// A prefecture (都道府県). The discriminant is the JIS X 0401 code (北海道 = 1 … 沖縄県 = 47).
        ///
        /// Serialized as the code (a number); deserialized from a code (number or "04") or a name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum Prefecture {
            $(
                #[doc = $name]
                $variant = $code,
            )+
        }

        impl Prefecture {
            /// All 47 prefectures in code order.
            pub const ALL: [Prefecture; 47] = [$(Prefecture::$variant),+];

            /// The full name: "宮城県", "東京都", "北海道".
            pub const fn name(self) -> &'static str {
                match self { $(Prefecture::$variant => $name,)+ }
            }

            /// The name without 都/府/県: "宮城", "東京" (北海道 stays "北海道").
            pub const fn short_name(self) -> &'static str {
                match self { $(Prefecture::$variant => $short,)+ }
            }

            /// The full name in katakana, as in the 総務省 code list: "ミヤギケン", "トウキョウト".
            pub const fn kana(self) -> &'static str {
                match self { $(Prefecture::$variant => $kana,)+ }
            }

            /// The romanised name without suffix: "Miyagi".
            pub const fn romaji(self) -> &'static str {
                match self { $(Prefecture::$variant => stringify!($variant),)+ }
            }
        }
    };
}

prefectures! {
    Hokkaido = 1, "北海道", "北海道", "ホッカイドウ";
    Aomori = 2, "青森県", "青森", "アオモリケン";
    Iwate = 3, "岩手県", "岩手", "イワテケン";
    Miyagi = 4, "宮城県", "宮城", "ミヤギケン";
    Akita = 5, "秋田県", "秋田", "アキタケン";
    Yamagata = 6, "山形県", "山形", "ヤマガタケン";
    Fukushima = 7, "福島県", "福島", "フクシマケン";
    Ibaraki = 8, "茨城県", "茨城", "イバラキケン";
    Tochigi = 9, "栃木県", "栃木", "トチギケン";
    Gunma = 10, "群馬県", "群馬", "グンマケン";
    Saitama = 11, "埼玉県", "埼玉", "サイタマケン";
    Chiba = 12, "千葉県", "千葉", "チバケン";
    Tokyo = 13, "東京都", "東京", "トウキョウト";
    Kanagawa = 14, "神奈川県", "神奈川", "カナガワケン";
    Niigata = 15, "新潟県", "新潟", "ニイガタケン";
    Toyama = 16, "富山県", "富山", "トヤマケン";
    Ishikawa = 17, "石川県", "石川", "イシカワケン";
    Fukui = 18, "福井県", "福井", "フクイケン";
    Yamanashi = 19, "山梨県", "山梨", "ヤマナシケン";
    Nagano = 20, "長野県", "長野", "ナガノケン";
    Gifu = 21, "岐阜県", "岐阜", "ギフケン";
    Shizuoka = 22, "静岡県", "静岡", "シズオカケン";
    Aichi = 23, "愛知県", "愛知", "アイチケン";
    Mie = 24, "三重県", "三重", "ミエケン";
    Shiga = 25, "滋賀県", "滋賀", "シガケン";
    Kyoto = 26, "京都府", "京都", "キョウトフ";
    Osaka = 27, "大阪府", "大阪", "オオサカフ";
    Hyogo = 28, "兵庫県", "兵庫", "ヒョウゴケン";
    Nara = 29, "奈良県", "奈良", "ナラケン";
    Wakayama = 30, "和歌山県", "和歌山", "ワカヤマケン";
    Tottori = 31, "鳥取県", "鳥取", "トットリケン";
    Shimane = 32, "島根県", "島根", "シマネケン";
    Okayama = 33, "岡山県", "岡山", "オカヤマケン";
    Hiroshima = 34, "広島県", "広島", "ヒロシマケン";
    Yamaguchi = 35, "山口県", "山口", "ヤマグチケン";
    Tokushima = 36, "徳島県", "徳島", "トクシマケン";
    Kagawa = 37, "香川県", "香川", "カガワケン";
    Ehime = 38, "愛媛県", "愛媛", "エヒメケン";
    Kochi = 39, "高知県", "高知", "コウチケン";
    Fukuoka = 40, "福岡県", "福岡", "フクオカケン";
    Saga = 41, "佐賀県", "佐賀", "サガケン";
    Nagasaki = 42, "長崎県", "長崎", "ナガサキケン";
    Kumamoto = 43, "熊本県", "熊本", "クマモトケン";
    Oita = 44, "大分県", "大分", "オオイタケン";
    Miyazaki = 45, "宮崎県", "宮崎", "ミヤザキケン";
    Kagoshima = 46, "鹿児島県", "鹿児島", "カゴシマケン";
    Okinawa = 47, "沖縄県", "沖縄", "オキナワケン";
}

impl Prefecture {
    /// All 47 prefectures in code order.
    pub const fn all() -> &'static [Prefecture; 47] {
        &Self::ALL
    }

    /// The JIS X 0401 code, 1–47.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The code as two digits: "04".
    pub fn code2(self) -> String {
        format!("{:02}", self.code())
    }

    /// The prefecture with JIS code `code` (1–47).
    pub const fn from_code(code: u8) -> Option<Prefecture> {
        if code >= 1 && code <= 47 {
            Some(Self::ALL[code as usize - 1])
        } else {
            None
        }
    }

    /// Reads a name: full ("宮城県", "東京都", "大阪府", "北海道"), short ("宮城", "東京",
    /// "大阪", "京都") or romanised ("Miyagi", case-insensitive). Surrounding spaces are ignored.
    pub fn from_name(name: &str) -> Option<Prefecture> {
        let name = name.trim();
        Self::ALL.into_iter().find(|p| {
            name == p.name() || name == p.short_name() || name.eq_ignore_ascii_case(p.romaji())
        })
    }

    /// Strips a leading full prefecture name from an address: see [`split_address`].
    pub fn split_address(address: &str) -> Option<(Prefecture, &str)> {
        split_address(address)
    }
}

/// Splits "宮城県仙台市青葉区…" into (Miyagi, "仙台市青葉区…"). Leading spaces are skipped and
/// spaces after the prefecture are trimmed. Only full names count ("宮城仙台市…" gives `None`),
/// so that city names beginning like a prefecture ("京都市…", "広島市…") are never cut.
pub fn split_address(address: &str) -> Option<(Prefecture, &str)> {
    let address = address.trim_start();
    Prefecture::ALL.into_iter().find_map(|p| {
        address
            .strip_prefix(p.name())
            .map(|rest| (p, rest.trim_start()))
    })
}

impl fmt::Display for Prefecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Reads a name (see [`Prefecture::from_name`]) or a code "4" / "04".
impl FromStr for Prefecture {
    type Err = PrefectureError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if !t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit()) {
            return t
                .parse::<u8>()
                .ok()
                .and_then(Prefecture::from_code)
                .ok_or(PrefectureError::Unknown);
        }
        Prefecture::from_name(t).ok_or(PrefectureError::Unknown)
    }
}

impl TryFrom<u8> for Prefecture {
    type Error = PrefectureError;
    fn try_from(code: u8) -> Result<Self, Self::Error> {
        Prefecture::from_code(code).ok_or(PrefectureError::Unknown)
    }
}

impl Serialize for Prefecture {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for Prefecture {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PrefVisitor;
        impl Visitor<'_> for PrefVisitor {
            type Value = Prefecture;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a prefecture code 1-47 or a prefecture name")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Prefecture, E> {
                u8::try_from(v)
                    .ok()
                    .and_then(Prefecture::from_code)
                    .ok_or_else(|| E::custom("unknown prefecture code"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Prefecture, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("unknown prefecture code"))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Prefecture, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(PrefVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_and_names() {
        assert_eq!(Prefecture::Miyagi.code(), 4);
        assert_eq!(Prefecture::Miyagi.code2(), "04");
        assert_eq!(Prefecture::Okinawa.code2(), "47");
        assert_eq!(Prefecture::Miyagi.name(), "宮城県");
        assert_eq!(Prefecture::Miyagi.kana(), "ミヤギケン");
        assert_eq!(Prefecture::Tokyo.kana(), "トウキョウト");
        assert_eq!(Prefecture::Miyagi.romaji(), "Miyagi");
        assert_eq!(Prefecture::from_code(1), Some(Prefecture::Hokkaido));
        assert_eq!(Prefecture::from_code(13), Some(Prefecture::Tokyo));
        assert_eq!(Prefecture::from_code(47), Some(Prefecture::Okinawa));
        assert_eq!(Prefecture::from_code(0), None);
        assert_eq!(Prefecture::from_code(48), None);
        assert_eq!(Prefecture::all().len(), 47);
        assert_eq!(Prefecture::Kyoto.to_string(), "京都府");
    }

    #[test]
    fn names_with_and_without_suffix() {
        let cases = [
            ("宮城県", Prefecture::Miyagi),
            ("宮城", Prefecture::Miyagi),
            ("東京都", Prefecture::Tokyo),
            ("東京", Prefecture::Tokyo),
            ("北海道", Prefecture::Hokkaido),
            ("大阪府", Prefecture::Osaka),
            ("大阪", Prefecture::Osaka),
            ("京都府", Prefecture::Kyoto),
            ("京都", Prefecture::Kyoto),
            ("神奈川県", Prefecture::Kanagawa),
            (" 沖縄県 ", Prefecture::Okinawa),
            ("miyagi", Prefecture::Miyagi),
        ];
        for (s, p) in cases {
            assert_eq!(Prefecture::from_name(s), Some(p), "{s}");
        }
        for s in ["", "北海", "宮城市", "東京府", "仙台"] {
            assert_eq!(Prefecture::from_name(s), None, "{s}");
        }
    }

    #[test]
    fn from_str_accepts_codes() {
        assert_eq!("04".parse(), Ok(Prefecture::Miyagi));
        assert_eq!("4".parse(), Ok(Prefecture::Miyagi));
        assert_eq!("宮城".parse(), Ok(Prefecture::Miyagi));
        assert_eq!("48".parse::<Prefecture>(), Err(PrefectureError::Unknown));
        assert_eq!("00".parse::<Prefecture>(), Err(PrefectureError::Unknown));
        assert_eq!(Prefecture::try_from(26u8), Ok(Prefecture::Kyoto));
    }

    #[test]
    fn splits_addresses() {
        assert_eq!(
            split_address("宮城県仙台市青葉区国分町3-7-1"),
            Some((Prefecture::Miyagi, "仙台市青葉区国分町3-7-1"))
        );
        assert_eq!(
            split_address("  東京都 千代田区"),
            Some((Prefecture::Tokyo, "千代田区"))
        );
        assert_eq!(
            split_address("京都府京都市中京区"),
            Some((Prefecture::Kyoto, "京都市中京区"))
        );
        assert_eq!(
            split_address("北海道札幌市中央区"),
            Some((Prefecture::Hokkaido, "札幌市中央区"))
        );
        assert_eq!(split_address("京都市中京区"), None);
        assert_eq!(split_address("広島市中区"), None);
        assert_eq!(split_address("宮城仙台市"), None);
        assert_eq!(
            Prefecture::split_address("大阪府"),
            Some((Prefecture::Osaka, ""))
        );
    }

    #[test]
    fn serde_as_code() {
        assert_eq!(serde_json::to_string(&Prefecture::Miyagi).unwrap(), "4");
        assert_eq!(
            serde_json::from_str::<Prefecture>("4").unwrap(),
            Prefecture::Miyagi
        );
        assert_eq!(
            serde_json::from_str::<Prefecture>("\"04\"").unwrap(),
            Prefecture::Miyagi
        );
        assert_eq!(
            serde_json::from_str::<Prefecture>("\"宮城県\"").unwrap(),
            Prefecture::Miyagi
        );
        assert!(serde_json::from_str::<Prefecture>("48").is_err());
        assert!(serde_json::from_str::<Prefecture>("-1").is_err());
    }

    #[test]
    fn table_is_consistent() {
        for (i, p) in Prefecture::ALL.iter().enumerate() {
            assert_eq!(usize::from(p.code()), i + 1);
            assert!(p.name().starts_with(p.short_name()));
            assert!(
                p.kana()
                    .chars()
                    .all(|c| ('ァ'..='ヶ').contains(&c) || c == 'ー'),
                "{}",
                p.kana()
            );
        }
        let mut names: Vec<&str> = Prefecture::ALL.iter().map(|p| p.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 47);
    }

    proptest! {
        #[test]
        fn every_prefecture_round_trips(code in 1u8..=47, rest in "[ぁ-んァ-ヶ一-龠0-9]{0,12}") {
            let p = Prefecture::from_code(code).unwrap();
            prop_assert_eq!(Prefecture::from_name(p.name()), Some(p));
            prop_assert_eq!(Prefecture::from_name(p.short_name()), Some(p));
            prop_assert_eq!(p.code2().parse::<Prefecture>(), Ok(p));
            let address = format!("{}{}", p.name(), rest);
            prop_assert_eq!(split_address(&address), Some((p, rest.as_str())));
        }
    }
}
