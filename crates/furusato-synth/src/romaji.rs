//! Katakana → lower-case ASCII romaji (wāpuro style: サトウ → "satou", ショウタ → "shouta"),
//! used to build plausible e-mail local parts from names.

const DIGRAPHS: &[(&str, &str)] = &[
    ("キャ", "kya"),
    ("キュ", "kyu"),
    ("キョ", "kyo"),
    ("シャ", "sha"),
    ("シュ", "shu"),
    ("シェ", "she"),
    ("ショ", "sho"),
    ("チャ", "cha"),
    ("チュ", "chu"),
    ("チェ", "che"),
    ("チョ", "cho"),
    ("ニャ", "nya"),
    ("ニュ", "nyu"),
    ("ニョ", "nyo"),
    ("ヒャ", "hya"),
    ("ヒュ", "hyu"),
    ("ヒョ", "hyo"),
    ("ミャ", "mya"),
    ("ミュ", "myu"),
    ("ミョ", "myo"),
    ("リャ", "rya"),
    ("リュ", "ryu"),
    ("リョ", "ryo"),
    ("ギャ", "gya"),
    ("ギュ", "gyu"),
    ("ギョ", "gyo"),
    ("ジャ", "ja"),
    ("ジュ", "ju"),
    ("ジェ", "je"),
    ("ジョ", "jo"),
    ("ビャ", "bya"),
    ("ビュ", "byu"),
    ("ビョ", "byo"),
    ("ピャ", "pya"),
    ("ピュ", "pyu"),
    ("ピョ", "pyo"),
    ("ティ", "ti"),
    ("ディ", "di"),
    ("ファ", "fa"),
    ("フィ", "fi"),
    ("フェ", "fe"),
    ("フォ", "fo"),
    ("ウィ", "wi"),
    ("ウェ", "we"),
    ("ヴァ", "va"),
];

fn mono(c: char) -> Option<&'static str> {
    Some(match c {
        'ア' | 'ァ' => "a",
        'イ' | 'ィ' => "i",
        'ウ' | 'ゥ' => "u",
        'エ' | 'ェ' => "e",
        'オ' | 'ォ' => "o",
        'カ' => "ka",
        'キ' => "ki",
        'ク' => "ku",
        'ケ' => "ke",
        'コ' => "ko",
        'ガ' => "ga",
        'ギ' => "gi",
        'グ' => "gu",
        'ゲ' => "ge",
        'ゴ' => "go",
        'サ' => "sa",
        'シ' => "shi",
        'ス' => "su",
        'セ' => "se",
        'ソ' => "so",
        'ザ' => "za",
        'ジ' => "ji",
        'ズ' => "zu",
        'ゼ' => "ze",
        'ゾ' => "zo",
        'タ' => "ta",
        'チ' => "chi",
        'ツ' => "tsu",
        'テ' => "te",
        'ト' => "to",
        'ダ' => "da",
        'ヂ' => "ji",
        'ヅ' => "zu",
        'デ' => "de",
        'ド' => "do",
        'ナ' => "na",
        'ニ' => "ni",
        'ヌ' => "nu",
        'ネ' => "ne",
        'ノ' => "no",
        'ハ' => "ha",
        'ヒ' => "hi",
        'フ' => "fu",
        'ヘ' => "he",
        'ホ' => "ho",
        'バ' => "ba",
        'ビ' => "bi",
        'ブ' => "bu",
        'ベ' => "be",
        'ボ' => "bo",
        'パ' => "pa",
        'ピ' => "pi",
        'プ' => "pu",
        'ペ' => "pe",
        'ポ' => "po",
        'マ' => "ma",
        'ミ' => "mi",
        'ム' => "mu",
        'メ' => "me",
        'モ' => "mo",
        'ヤ' | 'ャ' => "ya",
        'ユ' | 'ュ' => "yu",
        'ヨ' | 'ョ' => "yo",
        'ラ' => "ra",
        'リ' => "ri",
        'ル' => "ru",
        'レ' => "re",
        'ロ' => "ro",
        'ワ' => "wa",
        'ヰ' => "i",
        'ヱ' => "e",
        'ヲ' => "o",
        'ン' => "n",
        'ヴ' => "vu",
        _ => return None,
    })
}

/// Romanises full-width katakana. `None` when the input holds anything else.
pub fn katakana_to_romaji(kana: &str) -> Option<String> {
    let chars: Vec<char> = kana.chars().collect();
    let mut out = String::with_capacity(chars.len() * 2);
    let mut double_next = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == 'ッ' {
            double_next = true;
            i += 1;
            continue;
        }
        if c == 'ー' {
            i += 1;
            continue;
        }
        let syllable = chars
            .get(i + 1)
            .and_then(|&n| {
                let pair: String = [c, n].iter().collect();
                DIGRAPHS.iter().find(|(k, _)| *k == pair).map(|(_, r)| *r)
            })
            .map(|r| (r, 2))
            .or_else(|| mono(c).map(|r| (r, 1)));
        let (romaji, used) = syllable?;
        if double_next {
            // ッチ → "tchi" (Hepburn); otherwise double the first consonant.
            let first = romaji.chars().next()?;
            if romaji.starts_with("ch") {
                out.push('t');
            } else if !"aiueon".contains(first) {
                out.push(first);
            }
            double_next = false;
        }
        out.push_str(romaji);
        i += used;
    }
    if double_next {
        out.push_str("tsu");
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{FAMILY_NAMES, FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES};

    #[test]
    fn examples() {
        assert_eq!(katakana_to_romaji("サトウ").as_deref(), Some("satou"));
        assert_eq!(katakana_to_romaji("ショウタ").as_deref(), Some("shouta"));
        assert_eq!(katakana_to_romaji("キョウコ").as_deref(), Some("kyouko"));
        assert_eq!(katakana_to_romaji("ハットリ").as_deref(), Some("hattori"));
        assert_eq!(
            katakana_to_romaji("リュウノスケ").as_deref(),
            Some("ryuunosuke")
        );
        assert_eq!(katakana_to_romaji("ニッタ").as_deref(), Some("nitta"));
        assert_eq!(katakana_to_romaji("サトウ太郎"), None);
    }

    #[test]
    fn every_table_reading_romanises_to_ascii_letters() {
        for kana in FAMILY_NAMES
            .iter()
            .map(|n| n.kana)
            .chain(MALE_GIVEN_NAMES.iter().map(|n| n.kana))
            .chain(FEMALE_GIVEN_NAMES.iter().map(|n| n.kana))
        {
            let r = katakana_to_romaji(kana).unwrap_or_else(|| panic!("{kana}"));
            assert!(
                !r.is_empty() && r.bytes().all(|b| b.is_ascii_lowercase()),
                "{kana} {r}"
            );
        }
    }
}
