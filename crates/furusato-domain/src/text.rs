//! Small character helpers shared by the parsers (crate-private).

/// The value of an ASCII or full-width (U+FF10–U+FF19) decimal digit.
pub(crate) fn fold_digit(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '０'..='９' => Some((c as u32 - '０' as u32) as u8),
        _ => None,
    }
}

/// Characters people type where a hyphen is meant in codes and numbers
/// (postal codes, phone numbers, 個人番号…): ASCII and Unicode hyphens, dashes,
/// minus signs, and the katakana long-vowel marks that IMEs often produce instead.
pub(crate) fn is_hyphen_like(c: char) -> bool {
    is_dash(c) || matches!(c, 'ー' | 'ｰ')
}

/// Hyphen, dash and minus characters other than the katakana long-vowel marks.
pub(crate) fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}' // ‐ hyphen
            | '\u{2011}' // non-breaking hyphen
            | '\u{2012}' // ‒ figure dash
            | '\u{2013}' // – en dash
            | '\u{2014}' // — em dash
            | '\u{2015}' // ― horizontal bar
            | '\u{2043}' // ⁃ hyphen bullet
            | '\u{2212}' // − minus sign
            | '\u{FE63}' // ﹣ small hyphen-minus
            | '\u{FF0D}' // － full-width hyphen-minus
    )
}

/// Folds full-width ASCII variants (U+FF01–U+FF5E) to ASCII and the ideographic
/// space to an ASCII space; every other character is returned unchanged.
pub(crate) fn fold_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// Whether `c` is a kanji (CJK unified or compatibility ideograph) or the iteration mark 々.
pub(crate) fn is_kanji(c: char) -> bool {
    matches!(c,
        '\u{3005}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3FFFF}')
}

/// The value of a kanji digit 〇零一二三四五六七八九.
pub(crate) fn kanji_digit(c: char) -> Option<u32> {
    Some(match c {
        '〇' | '零' => 0,
        '一' => 1,
        '二' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// The value of a kanji unit 十百千.
fn kanji_unit(c: char) -> Option<u32> {
    match c {
        '十' => Some(10),
        '百' => Some(100),
        '千' => Some(1000),
        _ => None,
    }
}

/// Whether `c` can be part of a kanji numeral (a digit or 十百千).
pub(crate) fn is_kanji_numeral(c: char) -> bool {
    kanji_digit(c).is_some() || kanji_unit(c).is_some()
}

/// Parses a kanji numeral below 10 000: either positional ("一〇二" = 102) or
/// with units ("十二" = 12, "二十" = 20, "百五" = 105, "千二百三十四" = 1234).
pub(crate) fn parse_kanji_number(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    if !s.chars().any(|c| kanji_unit(c).is_some()) {
        let mut n: u32 = 0;
        for c in s.chars() {
            n = n.checked_mul(10)?.checked_add(kanji_digit(c)?)?;
        }
        return Some(n);
    }
    let mut total = 0;
    let mut pending: Option<u32> = None;
    let mut last_unit = u32::MAX;
    for c in s.chars() {
        if let Some(d) = kanji_digit(c) {
            if pending.is_some() {
                return None;
            }
            pending = Some(d);
        } else {
            let unit = kanji_unit(c)?;
            if unit >= last_unit {
                return None;
            }
            total += pending.take().unwrap_or(1) * unit;
            last_unit = unit;
        }
    }
    Some(total + pending.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_fold_from_both_widths() {
        assert_eq!(fold_digit('7'), Some(7));
        assert_eq!(fold_digit('７'), Some(7));
        assert_eq!(fold_digit('〇'), None);
        assert_eq!(fold_digit('a'), None);
    }

    #[test]
    fn width_folding() {
        assert_eq!(fold_width('Ａ'), 'A');
        assert_eq!(fold_width('＠'), '@');
        assert_eq!(fold_width('　'), ' ');
        assert_eq!(fold_width('あ'), 'あ');
    }

    #[test]
    fn hyphens() {
        for c in ['-', '‐', '−', '－', '―', '—', '–', 'ー', 'ｰ'] {
            assert!(is_hyphen_like(c), "{c}");
        }
        assert!(!is_dash('ー'));
        assert!(!is_hyphen_like('~'));
    }

    #[test]
    fn kanji_numbers() {
        let cases = [
            ("一", 1),
            ("十", 10),
            ("十二", 12),
            ("二十", 20),
            ("二十三", 23),
            ("百", 100),
            ("百五", 105),
            ("三百十", 310),
            ("千二百三十四", 1234),
            ("一〇二", 102),
            ("〇", 0),
        ];
        for (s, n) in cases {
            assert_eq!(parse_kanji_number(s), Some(n), "{s}");
        }
        for bad in ["", "十十", "二三十", "十百", "a"] {
            assert_eq!(parse_kanji_number(bad), None, "{bad}");
        }
    }

    #[test]
    fn kanji_detection() {
        assert!(is_kanji('霞'));
        assert!(is_kanji('々'));
        assert!(!is_kanji('ケ'));
        assert!(!is_kanji('a'));
    }
}
