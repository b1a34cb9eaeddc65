//! Matching keys for names, addresses and phone numbers, used to find the same donor
//! across portals. The keys are for comparison only: never show them or print them on documents.
//!
//! # Address rules ([`normalize_address`])
//! 1. NFKC: full-width letters and digits → ASCII, half-width katakana → full-width
//!    (kanji are kept as they are: 髙 stays 髙; only the rare CJK compatibility ideographs
//!    U+F900–U+FAFF that have a canonical form are mapped to it, as NFKC does).
//! 2. Every space (ASCII, full-width, tabs, newlines) is removed; ASCII letters are upper-cased.
//! 3. Hyphen, dash and minus variants (`‐ - − – — ― －`) → `-`; `ー`/`ｰ` directly after a digit → `-`
//!    (elsewhere ー is a long vowel and kept).
//! 4. A number (arabic or kanji: 一〇二, 十二, 百五) followed by 丁目, 番地 or 番 becomes the
//!    arabic number and `-`; followed by 号 it becomes the bare number.
//!    "三丁目七番一号" → "3-7-1", "1番地の2" → "1-2", "一丁目十二番" → "1-12".
//!    Not converted: 番 followed by 町 or 丁 (一番町, 北一番丁 are town names) and 号 followed by
//!    室, 棟, 館, 線, 地 or 車 ("101号室" stays).
//! 5. の/ノ between a number and a digit ("5の3", "1-の2") → `-`; の/ノ between two kanji → ノ
//!    (一の関 = 一ノ関).
//! 6. ヶ → ケ everywhere; ヵ, ゖ, ゕ, が, ガ between two kanji → ケ (霞ヶ関 = 霞ケ関 = 霞が関).
//! 7. Runs of `-` collapse into one, and a `-` not followed by a digit is dropped — a trailing
//!    one as well as one before a building name, so "7番地 サンプルビル" = "7 サンプルビル".

use unicode_normalization::UnicodeNormalization;

use crate::text::{fold_digit, is_dash, is_kanji, is_kanji_numeral, parse_kanji_number};

/// A matching key for a person's or organisation's name: NFKC width folding and every space
/// removed. Kanji are kept as they are (髙 ≠ 高). "山田　太郎" and "山田 太郎" → "山田太郎";
/// "ﾔﾏﾀﾞ" → "ヤマダ".
pub fn normalize_name(input: &str) -> String {
    input.nfkc().filter(|c| !c.is_whitespace()).collect()
}

/// Only the digits of a text, width-folded: "０９０-1234-5678" → "09012345678".
/// Useful as a matching key for phone numbers and postal codes.
pub fn normalize_digits(input: &str) -> String {
    input
        .chars()
        .filter_map(fold_digit)
        .map(|d| char::from(b'0' + d))
        .collect()
}

/// A matching key for an address; see the module documentation for the rules.
///
/// "宮城県仙台市青葉区国分町３丁目７－１", "宮城県仙台市青葉区国分町3-7-1" and
/// "宮城県仙台市青葉区国分町三丁目7番1号" all give "宮城県仙台市青葉区国分町3-7-1".
pub fn normalize_address(input: &str) -> String {
    let mut key = normalize_address_once(input);
    // One conversion can enable another ("1の一丁目" → "1の1" → "1-1"): repeat until stable.
    // Every step only moves characters towards the normal forms, so this ends quickly.
    for _ in 0..8 {
        let next = normalize_address_once(&key);
        if next == key {
            break;
        }
        key = next;
    }
    key
}

/// One pass of the address rules.
fn normalize_address_once(input: &str) -> String {
    let chars: Vec<char> = input
        .nfkc()
        .filter(|c| !c.is_whitespace())
        .map(|c| {
            if is_dash(c) {
                '-'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect();
    let mut out = String::with_capacity(input.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || is_kanji_numeral(c) {
            let arabic = c.is_ascii_digit();
            let end = i + chars[i..]
                .iter()
                .take_while(|&&d| {
                    if arabic {
                        d.is_ascii_digit()
                    } else {
                        is_kanji_numeral(d)
                    }
                })
                .count();
            let run: String = chars[i..end].iter().collect();
            if let Some((marker_len, suffix)) = address_marker(&chars[end..]) {
                let value = if arabic {
                    Some(run.clone())
                } else {
                    parse_kanji_number(&run).map(|n| n.to_string())
                };
                if let Some(value) = value {
                    out.push_str(&value);
                    out.push_str(suffix);
                    i = end + marker_len;
                    continue;
                }
            }
            out.push_str(&run);
            i = end;
            continue;
        }
        let prev = out.chars().last();
        let next = chars.get(i + 1).copied();
        let between_kanji = prev.is_some_and(is_kanji) && next.is_some_and(is_kanji);
        match c {
            'ー' if prev.is_some_and(|p| p.is_ascii_digit()) => out.push('-'),
            'の' | 'ノ'
                if prev.is_some_and(|p| p.is_ascii_digit() || p == '-')
                    && next.is_some_and(|n| n.is_ascii_digit()) =>
            {
                out.push('-');
            }
            'の' | 'ノ' if between_kanji => out.push('ノ'),
            'ヶ' => out.push('ケ'),
            'ヵ' | 'ゖ' | 'ゕ' | 'が' | 'ガ' if between_kanji => out.push('ケ'),
            _ => out.push(c),
        }
        i += 1;
    }
    tidy_hyphens(&out)
}

/// The address unit after a number: (length in chars, replacement).
fn address_marker(rest: &[char]) -> Option<(usize, &'static str)> {
    match rest {
        ['丁', '目', ..] => Some((2, "-")),
        ['番', '地', ..] => Some((2, "-")),
        ['番', '町' | '丁', ..] => None,
        ['番', ..] => Some((1, "-")),
        ['号', '室' | '棟' | '館' | '線' | '地' | '車', ..] => None,
        ['号', ..] => Some((1, "")),
        _ => None,
    }
}

/// Keeps a `-` only when a digit follows it (which also collapses runs of `-`).
fn tidy_hyphens(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '-' && !chars.peek().is_some_and(char::is_ascii_digit) {
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names() {
        assert_eq!(normalize_name("山田　太郎"), "山田太郎");
        assert_eq!(normalize_name(" 山田 太郎 "), "山田太郎");
        assert_eq!(normalize_name("髙橋\t花子"), "髙橋花子");
        assert_eq!(normalize_name("ﾔﾏﾀﾞ ﾀﾛｳ"), "ヤマダタロウ");
        assert_eq!(normalize_name("ＪＯＨＮ　ＳＭＩＴＨ"), "JOHNSMITH");
        assert_eq!(normalize_name("㈱仙台物産"), "(株)仙台物産");
    }

    #[test]
    fn digits() {
        assert_eq!(normalize_digits("090-1234-5678"), "09012345678");
        assert_eq!(normalize_digits("（０２２）２１４－１１１１"), "0222141111");
        assert_eq!(normalize_digits("〒980-0811"), "9800811");
        assert_eq!(normalize_digits("なし"), "");
    }

    #[test]
    fn chome_banchi_go_forms_agree() {
        let expected = "宮城県仙台市青葉区国分町3-7-1";
        for s in [
            "宮城県仙台市青葉区国分町３丁目７－１",
            "宮城県仙台市青葉区国分町3-7-1",
            "宮城県仙台市青葉区国分町三丁目7番1号",
            "宮城県仙台市青葉区国分町三丁目七番一号",
            "宮城県仙台市青葉区国分町3丁目7番地1",
            "宮城県仙台市青葉区国分町3丁目7番地の1",
            "宮城県 仙台市青葉区 国分町 3−7−1",
            "宮城県仙台市青葉区国分町3ー7ー1",
            "宮城県仙台市青葉区国分町3ｰ7ｰ1",
            "宮城県仙台市青葉区国分町3―7―1",
            "宮城県仙台市青葉区国分町３‐７‐１",
            "宮城県仙台市青葉区国分町3丁目7-1",
            "宮城県仙台市青葉区国分町3-7-1-",
        ] {
            assert_eq!(normalize_address(s), expected, "{s}");
        }
    }

    #[test]
    fn building_names_after_the_number_agree() {
        let expected = "宮城県仙台市青葉区国分町3-7-1サンプルビル101号室";
        for s in [
            "宮城県仙台市青葉区国分町3-7-1 サンプルビル101号室",
            "宮城県仙台市青葉区国分町三丁目7番1号　サンプルビル１０１号室",
            "宮城県仙台市青葉区国分町3丁目7-1-サンプルビル101号室",
        ] {
            assert_eq!(normalize_address(s), expected, "{s}");
        }
        assert_eq!(
            normalize_address("若林区荒井7番地 サンプルハイツ"),
            normalize_address("若林区荒井7 サンプルハイツ")
        );
    }

    #[test]
    fn numbers_in_unit_positions() {
        assert_eq!(normalize_address("三丁目"), "3");
        assert_eq!(normalize_address("1丁目2番3号"), "1-2-3");
        assert_eq!(normalize_address("1番地の2"), "1-2");
        assert_eq!(normalize_address("一丁目十二番"), "1-12");
        assert_eq!(normalize_address("二十三番地"), "23");
        assert_eq!(normalize_address("字中島百五番地"), "字中島105");
        assert_eq!(normalize_address("大字上野5の3"), "大字上野5-3");
        assert_eq!(normalize_address("六本木六丁目10番1号"), "六本木6-10-1");
        assert_eq!(normalize_address("千代田一丁目1番1号"), "千代田1-1-1");
    }

    #[test]
    fn town_names_with_numerals_are_kept() {
        assert_eq!(
            normalize_address("仙台市青葉区一番町四丁目1-1"),
            "仙台市青葉区一番町4-1-1"
        );
        assert_eq!(
            normalize_address("仙台市青葉区北一番丁5番"),
            "仙台市青葉区北一番丁5"
        );
        assert_eq!(normalize_address("千代田区三番町6"), "千代田区三番町6");
        assert_eq!(normalize_address("十日町市本町"), "十日町市本町");
        assert_eq!(normalize_address("八丁堀2丁目"), "八丁堀2");
        assert_eq!(normalize_address("九十九里町"), "九十九里町");
    }

    #[test]
    fn room_and_building_numbers_are_kept() {
        assert_eq!(
            normalize_address("国分町3-7-1 サンプルビル101号室"),
            "国分町3-7-1サンプルビル101号室"
        );
        assert_eq!(normalize_address("青葉台2-1-3号棟"), "青葉台2-1-3号棟");
        assert_eq!(normalize_address("1の一丁目"), "1-1");
        assert_eq!(
            normalize_address("ハイツセンター２０１"),
            "ハイツセンター201"
        );
        assert_eq!(normalize_address("メゾン・ド・ﾊﾟﾚｽ"), "メゾン・ド・パレス");
    }

    #[test]
    fn ke_and_no_variants() {
        let expected = "東京都千代田区霞ケ関1-2-1";
        for s in [
            "東京都千代田区霞ヶ関1-2-1",
            "東京都千代田区霞ケ関1-2-1",
            "東京都千代田区霞が関一丁目2番1号",
            "東京都千代田区霞ヵ関1-2-1",
            "東京都千代田区霞ｹ関1-2-1",
        ] {
            assert_eq!(normalize_address(s), expected, "{s}");
        }
        assert_eq!(normalize_address("岩手県一関市"), "岩手県一関市");
        assert_eq!(normalize_address("一の関"), normalize_address("一ノ関"));
        assert_eq!(normalize_address("市ヶ谷"), "市ケ谷");
        assert_eq!(normalize_address("ひばりが丘"), "ひばりが丘");
        assert_eq!(normalize_address("ケヤキハイツ"), "ケヤキハイツ");
    }

    #[test]
    fn width_case_and_spaces() {
        assert_eq!(
            normalize_address("ＡＢＣマンション　１０１"),
            "ABCマンション101"
        );
        assert_eq!(normalize_address("abcマンション101"), "ABCマンション101");
        assert_eq!(normalize_address("  \t"), "");
        assert_eq!(normalize_address("----"), "");
        assert_eq!(normalize_address("髙田馬場"), "髙田馬場");
    }

    proptest! {
        #[test]
        fn address_key_is_idempotent(s in "[0-9０-９一二三四五六七八九十丁目番地号のノヶケが霞関町 \\-－ーｰ仙台市青葉区ABCａｂｃ]{0,30}") {
            let once = normalize_address(&s);
            prop_assert_eq!(normalize_address(&once), once.clone());
            prop_assert!(!once.ends_with('-'));
            prop_assert!(!once.contains("--"));
            let chars: Vec<char> = once.chars().collect();
            for (i, &c) in chars.iter().enumerate() {
                if c == '-' {
                    prop_assert!(chars.get(i + 1).is_some_and(char::is_ascii_digit), "{}", once);
                }
            }
            prop_assert!(!once.chars().any(char::is_whitespace));
        }

        #[test]
        fn chome_forms_agree(a in 1u32..100, b in 1u32..100, c in 1u32..100) {
            let plain = format!("仙台市青葉区国分町{a}-{b}-{c}");
            let units = format!("仙台市青葉区国分町{a}丁目{b}番{c}号");
            let banchi = format!("仙台市青葉区国分町{a}丁目{b}番地{c}");
            let key = normalize_address(&plain);
            prop_assert_eq!(&key, &plain);
            prop_assert_eq!(normalize_address(&units), key.clone());
            prop_assert_eq!(normalize_address(&banchi), key);
        }

        #[test]
        fn spaces_never_matter(s in "[一-龠ぁ-んァ-ヶ0-9\\-]{0,20}", at in 0usize..20) {
            let chars: Vec<char> = s.chars().collect();
            let at = at.min(chars.len());
            let spaced: String = chars[..at].iter().chain([' ', '　'].iter()).chain(chars[at..].iter()).collect();
            prop_assert_eq!(normalize_address(&spaced), normalize_address(&s));
            prop_assert_eq!(normalize_name(&spaced), normalize_name(&s));
        }

        #[test]
        fn digits_only(s in "\\PC{0,30}") {
            prop_assert!(normalize_digits(&s).bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
