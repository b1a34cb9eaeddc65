//! Kana: conversion to katakana, search keys, and フリガナ validation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use unicode_normalization::UnicodeNormalization;

use crate::text::is_dash;

/// Half-width katakana U+FF61–U+FF9D (｡ to ﾝ) and their full-width forms, in code order.
const HALF_TO_FULL: [char; 61] = [
    '。', '「', '」', '、', '・', 'ヲ', 'ァ', 'ィ', 'ゥ', 'ェ', 'ォ', 'ャ', 'ュ', 'ョ', 'ッ', 'ー',
    'ア', 'イ', 'ウ', 'エ', 'オ', 'カ', 'キ', 'ク', 'ケ', 'コ', 'サ', 'シ', 'ス', 'セ', 'ソ', 'タ',
    'チ', 'ツ', 'テ', 'ト', 'ナ', 'ニ', 'ヌ', 'ネ', 'ノ', 'ハ', 'ヒ', 'フ', 'ヘ', 'ホ', 'マ', 'ミ',
    'ム', 'メ', 'モ', 'ヤ', 'ユ', 'ヨ', 'ラ', 'リ', 'ル', 'レ', 'ロ', 'ワ', 'ン',
];

/// Combining voiced / semi-voiced sound marks.
const COMBINING_DAKUTEN: char = '\u{3099}';
const COMBINING_HANDAKUTEN: char = '\u{309A}';

/// Converts hiragana to katakana and half-width katakana to full-width, composing voiced
/// marks (ｶﾞ → ガ, ﾊﾟ → パ, ｳﾞ → ヴ, か + U+3099 → ガ). Half-width ｡｢｣､･ become 。「」、・.
/// Everything else (kanji, latin, small kana, spaces) is kept as is.
pub fn to_katakana(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        let mark = match c {
            '\u{FF9E}' | COMBINING_DAKUTEN => Some(COMBINING_DAKUTEN),
            '\u{FF9F}' | COMBINING_HANDAKUTEN => Some(COMBINING_HANDAKUTEN),
            _ => None,
        };
        if let Some(mark) = mark {
            let composed = out
                .chars()
                .last()
                .and_then(|prev| unicode_normalization::char::compose(prev, mark));
            match composed {
                Some(v) => {
                    out.pop();
                    out.push(v);
                }
                // A lone half-width mark becomes the full-width spacing mark ゛/゜.
                None if c == '\u{FF9E}' => out.push('゛'),
                None if c == '\u{FF9F}' => out.push('゜'),
                None => out.push(c),
            }
            continue;
        }
        out.push(katakana_char(c));
    }
    out
}

/// One character to full-width katakana (no mark composition).
fn katakana_char(c: char) -> char {
    match c {
        // ぁ..ゖ and ゝゞ → ァ..ヶ and ヽヾ
        '\u{3041}'..='\u{3096}' | '\u{309D}' | '\u{309E}' => {
            char::from_u32(c as u32 + 0x60).unwrap_or(c)
        }
        '\u{FF61}'..='\u{FF9D}' => HALF_TO_FULL[(c as u32 - 0xFF61) as usize],
        _ => c,
    }
}

/// Whether `c` is a full-width katakana letter (ァ–ヺ, including ヴヵヶ).
fn is_katakana_letter(c: char) -> bool {
    ('\u{30A1}'..='\u{30FA}').contains(&c)
}

/// Whether `c` is kana or a kana mark after which a dash means a long vowel.
fn is_kana_like(c: char) -> bool {
    is_katakana_letter(c)
        || matches!(c, 'ー' | 'ヽ' | 'ヾ')
        || ('\u{3041}'..='\u{3096}').contains(&c)
}

/// A search / matching key for kana: NFKC width folding (half-width → full-width kana,
/// full-width latin/digits → ASCII), hiragana → katakana, every space removed (ASCII,
/// full-width, tabs), and dash variants (`-`, `‐`, `―`, `−`, `ｰ`…) directly after kana → ー.
/// Small kana are kept: "シャ" and "シヤ" stay different.
pub fn normalize_kana(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for c in input.nfkc() {
        if c.is_whitespace() {
            continue;
        }
        if is_dash(c) && out.chars().last().is_some_and(is_kana_like) {
            out.push('ー');
            continue;
        }
        // Marks separated from their kana by a removed space ("カ゛" is NFKC "カ \u{3099}").
        if matches!(c, COMBINING_DAKUTEN | COMBINING_HANDAKUTEN)
            && let Some(v) = out
                .chars()
                .last()
                .and_then(|prev| unicode_normalization::char::compose(prev, c))
        {
            out.pop();
            out.push(v);
            continue;
        }
        out.push(katakana_char(c));
    }
    out
}

/// Whether `s` is a valid フリガナ: full-width katakana letters, ー, ・ and spaces
/// (ASCII or full-width) only, with at least one katakana letter.
pub fn is_katakana_name(s: &str) -> bool {
    s.chars().any(is_katakana_letter)
        && s.chars()
            .all(|c| is_katakana_letter(c) || matches!(c, 'ー' | '・' | ' ' | '\u{3000}'))
}

/// A フリガナ (name reading) in full-width katakana, words separated by one full-width space.
///
/// [`KanaName::parse`] accepts hiragana and half-width katakana and converts them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KanaName(String);

/// Why a text is not a valid フリガナ.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KanaNameError {
    /// Nothing but spaces.
    #[error("empty kana name")]
    Empty,
    /// Contains something other than kana, ー, ・ and spaces.
    #[error("kana name must be katakana or hiragana")]
    NotKana,
    /// Longer than [`KanaName::MAX_CHARS`] characters.
    #[error("kana name is too long")]
    TooLong,
}

impl KanaNameError {
    /// A short Japanese message for screens.
    pub fn message_ja(&self) -> &'static str {
        match self {
            Self::Empty => "フリガナを入力してください。",
            Self::NotKana => "フリガナはカタカナで入力してください。",
            Self::TooLong => "フリガナが長すぎます。",
        }
    }
}

impl KanaName {
    /// The longest accepted reading, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Converts to full-width katakana ([`to_katakana`]), turns dashes after kana into ー,
    /// trims and collapses runs of spaces into one full-width space, then checks
    /// [`is_katakana_name`]. "やまだ たろう" → "ヤマダ　タロウ".
    pub fn parse(input: &str) -> Result<KanaName, KanaNameError> {
        let kata = to_katakana(input);
        let mut out = String::with_capacity(kata.len());
        let mut pending_space = false;
        for c in kata.chars() {
            if c.is_whitespace() {
                pending_space = !out.is_empty();
                continue;
            }
            if pending_space {
                out.push('\u{3000}');
                pending_space = false;
            }
            if is_dash(c) && out.chars().last().is_some_and(is_kana_like) {
                out.push('ー');
            } else {
                out.push(c);
            }
        }
        if out.is_empty() {
            return Err(KanaNameError::Empty);
        }
        if !is_katakana_name(&out) {
            return Err(KanaNameError::NotKana);
        }
        if out.chars().count() > Self::MAX_CHARS {
            return Err(KanaNameError::TooLong);
        }
        Ok(KanaName(out))
    }

    /// The reading: "ヤマダ　タロウ".
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key for searching and matching ([`normalize_kana`]): "ヤマダタロウ".
    pub fn search_key(&self) -> String {
        normalize_kana(&self.0)
    }
}

impl fmt::Display for KanaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for KanaName {
    type Err = KanaNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KanaName::parse(s)
    }
}

impl Serialize for KanaName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for KanaName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        KanaName::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hiragana_to_katakana() {
        assert_eq!(to_katakana("やまだ たろう"), "ヤマダ タロウ");
        assert_eq!(to_katakana("きゃっぷ"), "キャップ");
        assert_eq!(to_katakana("ゔぁいおりん"), "ヴァイオリン");
        assert_eq!(to_katakana("いすゞ"), "イスヾ");
        assert_eq!(to_katakana("仙台市ABC"), "仙台市ABC");
    }

    #[test]
    fn half_width_katakana_composes_marks() {
        assert_eq!(to_katakana("ｶﾞ"), "ガ");
        assert_eq!(to_katakana("ﾊﾟ"), "パ");
        assert_eq!(to_katakana("ｳﾞ"), "ヴ");
        assert_eq!(to_katakana("ﾔﾏﾀﾞ ﾀﾛｳ"), "ヤマダ タロウ");
        assert_eq!(to_katakana("ｷｬｯﾌﾟ"), "キャップ");
        assert_eq!(to_katakana("ｻﾄｰ"), "サトー");
        assert_eq!(to_katakana("ﾜﾞ"), "ヷ");
        assert_eq!(to_katakana("ｱﾞ"), "ア゛");
        assert_eq!(to_katakana("｢ｱ｣､｡･"), "「ア」、。・");
        assert_eq!(to_katakana("か\u{3099}"), "ガ");
    }

    #[test]
    fn normalize_for_search() {
        assert_eq!(normalize_kana("やまだ　たろう"), "ヤマダタロウ");
        assert_eq!(normalize_kana("ﾔﾏﾀﾞ ﾀﾛｳ"), "ヤマダタロウ");
        assert_eq!(normalize_kana("ヤマダ\tタロウ"), "ヤマダタロウ");
        assert_eq!(normalize_kana("サトｰ"), "サトー");
        assert_eq!(normalize_kana("さと-"), "サトー");
        assert_eq!(normalize_kana("サト―"), "サトー");
        assert_eq!(normalize_kana("サト－"), "サトー");
        assert_eq!(normalize_kana("サト‐"), "サトー");
        assert_eq!(normalize_kana("しゃ"), "シャ");
        assert_ne!(normalize_kana("しゃ"), normalize_kana("しや"));
        assert_eq!(normalize_kana("ＡＢＣ１２３"), "ABC123");
        assert_eq!(normalize_kana("A-1"), "A-1");
        assert_eq!(normalize_kana("カ゛"), "ガ");
        assert_eq!(normalize_kana("ハ゜"), "パ");
    }

    #[test]
    fn katakana_name_validation() {
        assert!(is_katakana_name("ヤマダ タロウ"));
        assert!(is_katakana_name("ヤマダ　タロウ"));
        assert!(is_katakana_name("スミス・ジョン"));
        assert!(is_katakana_name("サトー"));
        assert!(is_katakana_name("ヴァン"));
        assert!(!is_katakana_name(""));
        assert!(!is_katakana_name("ー・ "));
        assert!(!is_katakana_name("やまだ"));
        assert!(!is_katakana_name("ﾔﾏﾀﾞ"));
        assert!(!is_katakana_name("山田"));
        assert!(!is_katakana_name("ヤマダ1"));
    }

    #[test]
    fn kana_name_parse() {
        let n = KanaName::parse("  やまだ   たろう ").unwrap();
        assert_eq!(n.as_str(), "ヤマダ\u{3000}タロウ");
        assert_eq!(n.search_key(), "ヤマダタロウ");
        assert_eq!(KanaName::parse("ﾔﾏﾀﾞ ﾀﾛｳ").unwrap(), n);
        assert_eq!(KanaName::parse("さと-").unwrap().as_str(), "サトー");
        assert_eq!(KanaName::parse(" "), Err(KanaNameError::Empty));
        assert_eq!(KanaName::parse("山田"), Err(KanaNameError::NotKana));
        assert_eq!(
            KanaName::parse(&"ア".repeat(101)),
            Err(KanaNameError::TooLong)
        );
        assert!(KanaName::parse(&"ア".repeat(100)).is_ok());
        assert_eq!(
            serde_json::to_string(&n).unwrap(),
            "\"ヤマダ\u{3000}タロウ\""
        );
        assert_eq!(
            serde_json::from_str::<KanaName>("\"やまだ たろう\"").unwrap(),
            n
        );
        assert!(serde_json::from_str::<KanaName>("\"Yamada\"").is_err());
        assert!(KanaNameError::NotKana.message_ja().contains("カタカナ"));
    }

    proptest! {
        #[test]
        fn hiragana_becomes_katakana(s in "[ぁ-ゖ]{1,20}") {
            let k = to_katakana(&s);
            prop_assert!(k.chars().all(is_katakana_letter));
            prop_assert_eq!(k.chars().count(), s.chars().count());
            prop_assert!(is_katakana_name(&k));
            prop_assert_eq!(normalize_kana(&s), k);
        }

        #[test]
        fn to_katakana_is_idempotent(s in "\\PC{0,20}") {
            let once = to_katakana(&s);
            prop_assert_eq!(to_katakana(&once), once);
        }

        #[test]
        fn normalize_kana_is_idempotent_and_spaceless(s in "[ぁ-ゖァ-ヺｦ-ﾟー゛゜ 　\\-a-zＡ-Ｚ0-9]{0,20}") {
            let once = normalize_kana(&s);
            prop_assert!(!once.chars().any(char::is_whitespace));
            prop_assert_eq!(normalize_kana(&once), once.clone());
        }

        #[test]
        fn kana_names_are_valid(s in "[ァ-ヶぁ-ゖ]{1,10}( [ァ-ヶぁ-ゖ]{1,10})?") {
            let n = KanaName::parse(&s).unwrap();
            prop_assert!(is_katakana_name(n.as_str()));
            prop_assert_eq!(KanaName::parse(n.as_str()), Ok(n.clone()));
        }
    }
}
