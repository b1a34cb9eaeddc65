//! Character-encoding detection and strict decoding for portal CSV files.
//!
//! Portal downloads arrive as CP932 (Windows-31J, the usual case), UTF-8 with a BOM (Excel)
//! or plain UTF-8. `encoding_rs::SHIFT_JIS` is the WHATWG Shift_JIS decoder, which is the
//! CP932 superset (NEC/IBM extensions such as ①, ㈱, 髙, 﨑 and the Microsoft mappings of
//! ～ and －).
//!
//! Nothing here silently turns bad bytes into U+FFFD: every decoding entry point reports the
//! physical lines (or CSV fields) that contain undecodable byte sequences.

use std::fmt;
use std::str::FromStr;

use encoding_rs::{DecoderResult, SHIFT_JIS};
use serde::{Deserialize, Serialize};

use super::ImportError;

/// The UTF-8 byte order mark.
pub(crate) const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The character encoding a CSV file was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceEncoding {
    /// UTF-8 without a byte order mark.
    Utf8,
    /// UTF-8 starting with a byte order mark (what Excel writes for "CSV UTF-8").
    Utf8Bom,
    /// Windows-31J / CP932 ("Shift_JIS" as Japanese Windows and Excel write it).
    Cp932,
}

impl SourceEncoding {
    /// Stable identifier (`utf8`, `utf8_bom`, `cp932`), same as the serde form.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceEncoding::Utf8 => "utf8",
            SourceEncoding::Utf8Bom => "utf8_bom",
            SourceEncoding::Cp932 => "cp932",
        }
    }

    /// Name for screens.
    pub fn label_ja(self) -> &'static str {
        match self {
            SourceEncoding::Utf8 => "UTF-8",
            SourceEncoding::Utf8Bom => "UTF-8（BOM付き）",
            SourceEncoding::Cp932 => "Shift_JIS（CP932）",
        }
    }

    fn is_utf8(self) -> bool {
        matches!(self, SourceEncoding::Utf8 | SourceEncoding::Utf8Bom)
    }
}

impl fmt::Display for SourceEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for [`SourceEncoding::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown encoding {0:?} (expected utf8, utf8_bom or cp932)")]
pub struct UnknownEncoding(pub String);

impl FromStr for SourceEncoding {
    type Err = UnknownEncoding;

    /// Accepts the usual spellings: `utf8`, `utf-8`, `utf8_bom`, `utf-8-sig`, `cp932`,
    /// `windows-31j`, `shift_jis`, `sjis` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        match key.as_str() {
            "utf8" => Ok(SourceEncoding::Utf8),
            "utf8bom" | "utf8sig" => Ok(SourceEncoding::Utf8Bom),
            "cp932" | "windows31j" | "shiftjis" | "sjis" | "mskanji" | "sjiswin" => {
                Ok(SourceEncoding::Cp932)
            }
            _ => Err(UnknownEncoding(s.to_owned())),
        }
    }
}

/// A whole file decoded to text, with the lines that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decoded {
    /// The decoded text without BOM. Line terminators are kept as they were.
    /// Lines listed in `lossy_lines` contain U+FFFD where bytes could not be decoded.
    pub text: String,
    /// The detected encoding.
    pub encoding: SourceEncoding,
    /// 1-based physical line numbers that contain undecodable byte sequences.
    /// A CSV record touching one of these lines must be rejected, never imported.
    pub lossy_lines: Vec<usize>,
}

impl Decoded {
    /// One message per lossy line for the preview screen,
    /// e.g. 「12行目: 文字コードを判別できない文字があります」.
    pub fn lossy_messages_ja(&self) -> Vec<String> {
        self.lossy_lines
            .iter()
            .map(|line| format!("{line}行目: {UNDECODABLE_JA}"))
            .collect()
    }
}

/// Screen message for undecodable bytes.
pub(crate) const UNDECODABLE_JA: &str = "文字コードを判別できない文字があります";

/// Detects the encoding of a whole file and decodes it line by line.
///
/// Detection: a UTF-8 BOM means [`SourceEncoding::Utf8Bom`]; otherwise strictly valid UTF-8
/// means [`SourceEncoding::Utf8`]; otherwise CP932 — except when most lines holding non-ASCII
/// bytes are valid UTF-8, so one corrupt line does not flip a whole UTF-8 file to CP932.
///
/// Returns [`ImportError::Empty`] for an empty input (or one holding only a BOM).
pub fn detect_and_decode(bytes: &[u8]) -> Result<Decoded, ImportError> {
    let encoding = detect_encoding(bytes);
    let body = strip_bom(bytes);
    if body.is_empty() {
        return Err(ImportError::Empty);
    }
    let mut text = String::with_capacity(body.len() + body.len() / 2);
    let mut lossy_lines = Vec::new();
    for (i, line) in body.split_inclusive(|&b| b == b'\n').enumerate() {
        if !decode_field_into(encoding, line, &mut text) {
            lossy_lines.push(i + 1);
        }
    }
    Ok(Decoded {
        text,
        encoding,
        lossy_lines,
    })
}

/// Detects the encoding of a complete file (see [`detect_and_decode`] for the rules).
/// An empty or pure-ASCII file is reported as [`SourceEncoding::Utf8`].
pub fn detect_encoding(bytes: &[u8]) -> SourceEncoding {
    if bytes.starts_with(UTF8_BOM) {
        return SourceEncoding::Utf8Bom;
    }
    if std::str::from_utf8(bytes).is_ok() {
        return SourceEncoding::Utf8;
    }
    if is_valid_cp932(bytes) {
        return SourceEncoding::Cp932;
    }
    // Neither is clean. UTF-8 Japanese text often happens to be valid CP932 (mojibake), but
    // CP932 Japanese text is almost never valid UTF-8; so judge by the share of non-ASCII
    // lines that are valid UTF-8.
    let mut non_ascii = 0usize;
    let mut utf8_ok = 0usize;
    for line in bytes.split(|&b| b == b'\n') {
        if line.is_ascii() {
            continue;
        }
        non_ascii += 1;
        if std::str::from_utf8(line).is_ok() {
            utf8_ok += 1;
        }
    }
    if utf8_ok * 2 > non_ascii {
        SourceEncoding::Utf8
    } else {
        SourceEncoding::Cp932
    }
}

/// Sniffs the first block of a stream. `complete` tells whether `head` is the whole input.
///
/// Returns `None` when the block is pure ASCII and the stream continues: the decision is
/// then deferred to the first record that contains a non-ASCII byte.
pub(crate) fn sniff_block(head: &[u8], complete: bool) -> Option<SourceEncoding> {
    if head.starts_with(UTF8_BOM) {
        return Some(SourceEncoding::Utf8Bom);
    }
    if complete {
        return Some(detect_encoding(head));
    }
    // Cut at the last line feed so that a multi-byte character split by the block end
    // does not count against either encoding (LF is never part of a UTF-8 or CP932
    // multi-byte sequence).
    let cut = match head.iter().rposition(|&b| b == b'\n') {
        Some(pos) => &head[..=pos],
        None => head,
    };
    if cut.is_ascii() {
        return None;
    }
    if cut.len() < head.len() {
        return Some(detect_encoding(cut));
    }
    // The block ends inside a line: an incomplete UTF-8 sequence at the very end is fine.
    match std::str::from_utf8(head) {
        Ok(_) => Some(SourceEncoding::Utf8),
        Err(e) if e.error_len().is_none() => Some(SourceEncoding::Utf8),
        Err(_) => Some(detect_encoding(head)),
    }
}

/// Strips a leading UTF-8 BOM, if any.
pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes)
}

/// Whether every byte sequence of `bytes` is valid CP932 (no allocation).
fn is_valid_cp932(bytes: &[u8]) -> bool {
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let mut scratch = [0u8; 8192];
    let mut src = bytes;
    loop {
        let (result, read, _) = decoder.decode_to_utf8_without_replacement(src, &mut scratch, true);
        src = &src[read..];
        match result {
            DecoderResult::InputEmpty => return true,
            DecoderResult::OutputFull => continue,
            DecoderResult::Malformed(_, _) => return false,
        }
    }
}

/// Decodes one field (or line) and appends it to `out`.
///
/// Returns `false` when the bytes contain an undecodable sequence; in that case the text
/// appended is a lossy rendering (with U+FFFD) meant only for showing the rejected row.
pub(crate) fn decode_field_into(encoding: SourceEncoding, bytes: &[u8], out: &mut String) -> bool {
    if bytes.is_ascii() {
        // ASCII is identical in UTF-8 and in CP932 (0x5C stays U+005C in WHATWG Shift_JIS).
        if let Ok(s) = std::str::from_utf8(bytes) {
            out.push_str(s);
            return true;
        }
    }
    if encoding.is_utf8() {
        return match std::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                true
            }
            Err(_) => {
                out.push_str(&String::from_utf8_lossy(bytes));
                false
            }
        };
    }
    let start = out.len();
    let mut decoder = SHIFT_JIS.new_decoder_without_bom_handling();
    let mut src = bytes;
    loop {
        let need = decoder
            .max_utf8_buffer_length_without_replacement(src.len())
            .unwrap_or(src.len().saturating_mul(3));
        out.reserve(need);
        let (result, read) = decoder.decode_to_string_without_replacement(src, out, true);
        src = &src[read..];
        match result {
            DecoderResult::InputEmpty => return true,
            DecoderResult::OutputFull => continue,
            DecoderResult::Malformed(_, _) => {
                out.truncate(start);
                let (lossy, _) = SHIFT_JIS.decode_without_bom_handling(bytes);
                out.push_str(&lossy);
                return false;
            }
        }
    }
}

/// Decides the encoding of a stream from the first record holding non-ASCII bytes:
/// UTF-8 if every field is valid UTF-8, CP932 otherwise.
pub(crate) fn decide_from_fields<'a>(fields: impl IntoIterator<Item = &'a [u8]>) -> SourceEncoding {
    if fields.into_iter().all(|f| std::str::from_utf8(f).is_ok()) {
        SourceEncoding::Utf8
    } else {
        SourceEncoding::Cp932
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp932(s: &str) -> Vec<u8> {
        let (bytes, _, unmappable) = SHIFT_JIS.encode(s);
        assert!(!unmappable, "test text must be encodable in CP932");
        bytes.into_owned()
    }

    #[test]
    fn detects_the_three_encodings() {
        assert_eq!(detect_encoding("氏名\n".as_bytes()), SourceEncoding::Utf8);
        let mut bom = UTF8_BOM.to_vec();
        bom.extend_from_slice("氏名\n".as_bytes());
        assert_eq!(detect_encoding(&bom), SourceEncoding::Utf8Bom);
        assert_eq!(
            detect_encoding(&cp932("氏名,髙橋\n")),
            SourceEncoding::Cp932
        );
        assert_eq!(detect_encoding(b"a,b\n"), SourceEncoding::Utf8);
    }

    #[test]
    fn one_corrupt_line_does_not_flip_a_utf8_file() {
        let mut bytes = "氏名,住所\n山田,東京都\n".repeat(3).into_bytes();
        bytes.extend_from_slice(b"\xFF\xFE,x\n");
        assert_eq!(detect_encoding(&bytes), SourceEncoding::Utf8);
        let decoded = detect_and_decode(&bytes).unwrap();
        assert_eq!(decoded.lossy_lines, vec![7]);
        assert_eq!(
            decoded.lossy_messages_ja(),
            vec!["7行目: 文字コードを判別できない文字があります".to_owned()]
        );
    }

    #[test]
    fn cp932_round_trips_vendor_characters() {
        let text = "①,㈱,髙橋,﨑,～,－,№,Ⅲ\r\n";
        let decoded = detect_and_decode(&cp932(text)).unwrap();
        assert_eq!(decoded.encoding, SourceEncoding::Cp932);
        assert_eq!(decoded.text, text);
        assert!(decoded.lossy_lines.is_empty());
    }

    #[test]
    fn lossy_line_in_cp932_is_reported() {
        let mut bytes = cp932("見出し\r\n山田\r\n");
        bytes.extend_from_slice(b"\x82\r\n"); // lone lead byte
        bytes.extend_from_slice(&cp932("佐藤\r\n"));
        let decoded = detect_and_decode(&bytes).unwrap();
        assert_eq!(decoded.encoding, SourceEncoding::Cp932);
        assert_eq!(decoded.lossy_lines, vec![3]);
        assert!(decoded.text.ends_with("佐藤\r\n"));
    }

    #[test]
    fn empty_input_is_an_error() {
        assert!(matches!(detect_and_decode(b""), Err(ImportError::Empty)));
        assert!(matches!(
            detect_and_decode(UTF8_BOM),
            Err(ImportError::Empty)
        ));
    }

    #[test]
    fn sniff_defers_on_ascii_and_tolerates_cut_characters() {
        assert_eq!(sniff_block(b"id,amount\n1,2\n", false), None);
        assert_eq!(
            sniff_block(b"id,amount\n", true),
            Some(SourceEncoding::Utf8)
        );
        let utf8 = "番号,氏名\n1,山田\n2,佐".as_bytes();
        // cut in the middle of 藤 (3 bytes)
        let cut = &utf8[..utf8.len() - 1];
        assert_eq!(sniff_block(cut, false), Some(SourceEncoding::Utf8));
        let sjis = cp932("番号,氏名\n1,山田\n");
        assert_eq!(sniff_block(&sjis, false), Some(SourceEncoding::Cp932));
    }

    #[test]
    fn encoding_names_parse() {
        assert_eq!(
            "Shift_JIS".parse::<SourceEncoding>().unwrap(),
            SourceEncoding::Cp932
        );
        assert_eq!(
            "utf-8-sig".parse::<SourceEncoding>().unwrap(),
            SourceEncoding::Utf8Bom
        );
        assert_eq!(
            "UTF-8".parse::<SourceEncoding>().unwrap(),
            SourceEncoding::Utf8
        );
        assert!("latin1".parse::<SourceEncoding>().is_err());
    }
}
