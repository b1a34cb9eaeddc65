//! Width and code-point normalisation shared by the postal and local-government parsers.
//!
//! Japan Post's `KEN_ALL.CSV` and the 総務省 workbook publish kana in half-width katakana
//! (with half-width ASCII digits, letters and punctuation inside 町域 notes), while
//! `utf_ken_all.csv` uses full-width katakana and full-width ASCII. These helpers turn the
//! half-width forms into exactly what `utf_ken_all.csv` contains, so every source yields the
//! same strings.

/// Full-width forms of U+FF61..=U+FF9F (half-width punctuation and katakana), in order.
const HALF_WIDTH_TABLE: [char; 63] = [
    '。', '「', '」', '、', '・', 'ヲ', 'ァ', 'ィ', 'ゥ', 'ェ', 'ォ', 'ャ', 'ュ', 'ョ', 'ッ', 'ー',
    'ア', 'イ', 'ウ', 'エ', 'オ', 'カ', 'キ', 'ク', 'ケ', 'コ', 'サ', 'シ', 'ス', 'セ', 'ソ', 'タ',
    'チ', 'ツ', 'テ', 'ト', 'ナ', 'ニ', 'ヌ', 'ネ', 'ノ', 'ハ', 'ヒ', 'フ', 'ヘ', 'ホ', 'マ', 'ミ',
    'ム', 'メ', 'モ', 'ヤ', 'ユ', 'ヨ', 'ラ', 'リ', 'ル', 'レ', 'ロ', 'ワ', 'ン', '゛', '゜',
];

const DAKUTEN: char = '\u{FF9E}';
const HANDAKUTEN: char = '\u{FF9F}';

/// Converts half-width katakana and half-width ASCII to the full-width forms Japan Post uses
/// in `utf_ken_all.csv`. Already full-width text passes through unchanged, so the function is
/// idempotent.
///
/// - half-width katakana → full-width katakana; a following ﾞ/ﾟ is combined with the
///   preceding kana (ｶﾞ → ガ, ﾊﾟ → パ, ｳﾞ → ヴ, ﾜﾞ → ヷ, ｦﾞ → ヺ); a mark that cannot combine
///   becomes the full-width ゛/゜;
/// - half-width punctuation ｡｢｣､･ → 。「」、・;
/// - ASCII `!`..=`~` → U+FF01..=U+FF5E, except `-` → `−` (U+2212, as in `utf_ken_all.csv`)
///   and `~` → `〜` (U+301C); a space → U+3000.
///
/// The result is finally passed through [`normalize_jis`].
pub fn to_fullwidth(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + input.len() / 2);
    for c in input.chars() {
        match c {
            DAKUTEN => {
                if let Some(combined) = out.chars().last().and_then(with_dakuten) {
                    out.pop();
                    out.push(combined);
                } else {
                    out.push('゛');
                }
            }
            HANDAKUTEN => {
                if let Some(combined) = out.chars().last().and_then(with_handakuten) {
                    out.pop();
                    out.push(combined);
                } else {
                    out.push('゜');
                }
            }
            '\u{FF61}'..='\u{FF9D}' => out.push(HALF_WIDTH_TABLE[c as usize - 0xFF61]),
            '-' => out.push('\u{2212}'),
            '~' => out.push('\u{301C}'),
            ' ' => out.push('\u{3000}'),
            '!'..='}' => out.push(char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)),
            other => out.push(normalize_jis_char(other)),
        }
    }
    out
}

/// Maps the two code points on which the WHATWG/CP932 Shift_JIS decoder (used by
/// `encoding_rs::SHIFT_JIS`) differs from the JIS mapping Japan Post uses in its UTF-8 file:
/// U+FF5E `～` → U+301C `〜` and U+FF0D `－` → U+2212 `−`. Other characters are unchanged.
pub fn normalize_jis(input: &str) -> String {
    if !input.contains(['\u{FF5E}', '\u{FF0D}']) {
        return input.to_owned();
    }
    input.chars().map(normalize_jis_char).collect()
}

fn normalize_jis_char(c: char) -> char {
    match c {
        '\u{FF5E}' => '\u{301C}',
        '\u{FF0D}' => '\u{2212}',
        other => other,
    }
}

/// The voiced (濁音) form of a full-width katakana, if it has one.
fn with_dakuten(c: char) -> Option<char> {
    match c {
        'カ' | 'キ' | 'ク' | 'ケ' | 'コ' | 'サ' | 'シ' | 'ス' | 'セ' | 'ソ' | 'タ' | 'チ'
        | 'ツ' | 'テ' | 'ト' | 'ハ' | 'ヒ' | 'フ' | 'ヘ' | 'ホ' => {
            char::from_u32(c as u32 + 1)
        }
        'ウ' => Some('ヴ'),
        'ワ' => Some('ヷ'),
        'ヲ' => Some('ヺ'),
        _ => None,
    }
}

/// The semi-voiced (半濁音) form of a full-width katakana, if it has one.
fn with_handakuten(c: char) -> Option<char> {
    match c {
        'ハ' | 'ヒ' | 'フ' | 'ヘ' | 'ホ' => char::from_u32(c as u32 + 2),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_half_width_katakana_with_voiced_marks() {
        assert_eq!(to_fullwidth("ｾﾝﾀﾞｲｼｱｵﾊﾞｸ"), "センダイシアオバク");
        assert_eq!(to_fullwidth("ｻｯﾎﾟﾛｼﾁｭｳｵｳｸ"), "サッポロシチュウオウク");
        assert_eq!(to_fullwidth("ｳﾞｧｲｵﾘﾝ"), "ヴァイオリン");
        assert_eq!(to_fullwidth("ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ"), "パピプペポ");
        assert_eq!(to_fullwidth("ｦｰ･ｱ"), "ヲー・ア");
    }

    #[test]
    fn lone_marks_become_full_width_marks() {
        assert_eq!(to_fullwidth("ﾞｱﾟ"), "゛ア゜");
    }

    #[test]
    fn converts_ascii_the_way_japan_post_does() {
        assert_eq!(
            to_fullwidth("ｷｮｳﾜ(88-2､271-10､1752ﾊﾞﾝﾁ)"),
            "キョウワ（８８\u{2212}２、２７１\u{2212}１０、１７５２バンチ）"
        );
        assert_eq!(to_fullwidth("<AB.Z>"), "＜ＡＢ．Ｚ＞");
    }

    #[test]
    fn full_width_input_is_unchanged() {
        let s = "キョウワ（８８\u{2212}２、１７５２バンチ）ヴ";
        assert_eq!(to_fullwidth(s), s);
        assert_eq!(to_fullwidth(&to_fullwidth("ｶﾞｷﾞｸﾞ")), "ガギグ");
    }

    #[test]
    fn normalizes_cp932_tilde_and_minus() {
        assert_eq!(normalize_jis("１\u{FF5E}１９丁目"), "１\u{301C}１９丁目");
        assert_eq!(normalize_jis("８８\u{FF0D}２"), "８８\u{2212}２");
        assert_eq!(normalize_jis("一番町"), "一番町");
    }
}
