//! Streaming CSV record reader with exact physical line numbers and per-field decoding.
//!
//! The CSV structure is parsed on the raw bytes (with `csv-core`) and each field is decoded
//! afterwards. This is safe for CP932 as well as UTF-8: the bytes that matter to CSV
//! (`"`, `,`, CR, LF) are all below 0x40 and never occur inside a multi-byte character
//! of either encoding (CP932 trail bytes are 0x40–0xFC). Decoding per field lets a bad
//! byte sequence reject exactly one record, with its line number, instead of becoming
//! U+FFFD somewhere in a donor's name.
//!
//! Memory stays bounded by the largest record: nothing but the current record is held.

use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};

use csv_core::ReadRecordResult;

use super::encoding::{
    SourceEncoding, UTF8_BOM, decide_from_fields, decode_field_into, sniff_block,
};

/// How many bytes are sniffed from the start of a stream to detect its encoding.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// Buffer size of the streaming reader.
const READ_BUFFER: usize = 64 * 1024;

/// One CSV record, decoded, with its position in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    /// 1-based physical line on which the record starts.
    pub line: usize,
    /// 1-based physical line on which the record ends (differs from `line` when a quoted
    /// field contains line breaks).
    pub end_line: usize,
    text: String,
    ends: Vec<u32>,
    undecodable: Vec<usize>,
}

impl RawRow {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the record has no field at all.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The field at `index` (as decoded, not trimmed).
    pub fn get(&self, index: usize) -> Option<&str> {
        let end = *self.ends.get(index)? as usize;
        let start = if index == 0 {
            0
        } else {
            self.ends[index - 1] as usize
        };
        Some(&self.text[start..end])
    }

    /// All fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).map(move |i| self.get(i).unwrap_or_default())
    }

    /// Indexes of the fields that contained undecodable byte sequences (their text is a
    /// lossy rendering with U+FFFD and must not be imported).
    pub fn undecodable_fields(&self) -> &[usize] {
        &self.undecodable
    }

    /// Whether every field is empty or whitespace (e.g. the `,,,,` lines Excel leaves).
    pub fn is_blank(&self) -> bool {
        self.iter().all(|f| f.trim().is_empty())
    }

    pub(crate) fn into_parts(self) -> (String, Vec<u32>) {
        (self.text, self.ends)
    }
}

/// Source type of [`open_reader`]: the sniffed first block chained with the rest.
pub type SniffedSource<R> = BufReader<Chain<Cursor<Vec<u8>>, R>>;

/// Iterator over the records of a CSV byte stream. See [`open_reader`].
pub struct RowReader<B> {
    src: B,
    core: csv_core::Reader,
    /// 1 + number of line feeds consumed so far.
    line: usize,
    fields: Vec<u8>,
    ends: Vec<usize>,
    encoding: Option<SourceEncoding>,
    done: bool,
}

/// Opens a CSV stream: sniffs the first [`SNIFF_BYTES`] for a BOM / UTF-8 validity, then
/// yields decoded records one at a time.
///
/// If the first block is pure ASCII the encoding is decided at the first record that holds
/// a non-ASCII byte. Only I/O errors are returned as `Err`; undecodable bytes are reported
/// per record by [`RawRow::undecodable_fields`].
pub fn open_reader<R: Read>(reader: R) -> io::Result<RowReader<SniffedSource<R>>> {
    open_reader_with_encoding(reader, None)
}

/// Like [`open_reader`], but with the encoding forced when `encoding` is `Some`
/// (a UTF-8 BOM is still skipped).
pub fn open_reader_with_encoding<R: Read>(
    mut reader: R,
    encoding: Option<SourceEncoding>,
) -> io::Result<RowReader<SniffedSource<R>>> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut reader)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    let complete = head.len() < SNIFF_BYTES;
    let detected = match encoding {
        Some(forced) => Some(forced),
        None => sniff_block(&head, complete),
    };
    if head.starts_with(UTF8_BOM) {
        head.drain(..UTF8_BOM.len());
    }
    let src = BufReader::with_capacity(READ_BUFFER, Cursor::new(head).chain(reader));
    Ok(RowReader::new(src, detected))
}

/// Reads records from an in-memory file whose encoding is already known
/// (a leading UTF-8 BOM is skipped).
pub fn rows_from_bytes(bytes: &[u8], encoding: SourceEncoding) -> RowReader<&[u8]> {
    RowReader::new(super::encoding::strip_bom(bytes), Some(encoding))
}

impl<B: BufRead> RowReader<B> {
    fn new(src: B, encoding: Option<SourceEncoding>) -> Self {
        RowReader {
            src,
            core: csv_core::ReaderBuilder::new().build(),
            line: 1,
            fields: vec![0; 4096],
            ends: vec![0; 64],
            encoding,
            done: false,
        }
    }

    /// The encoding in use, or `None` while only ASCII has been seen.
    pub fn encoding(&self) -> Option<SourceEncoding> {
        self.encoding
    }

    /// Reads the next record, or `None` at the end of the input.
    pub fn read_row(&mut self) -> io::Result<Option<RawRow>> {
        if self.done {
            return Ok(None);
        }
        if !self.skip_line_breaks()? {
            self.done = true;
            return Ok(None);
        }
        let start_line = self.line;
        let (mut out_len, mut end_len) = (0usize, 0usize);
        loop {
            let input = self.src.fill_buf()?;
            let (result, n_in, n_out, n_end) = self.core.read_record(
                input,
                &mut self.fields[out_len..],
                &mut self.ends[end_len..],
            );
            self.line += count_line_feeds(&input[..n_in]);
            self.src.consume(n_in);
            out_len += n_out;
            end_len += n_end;
            match result {
                ReadRecordResult::InputEmpty => continue,
                ReadRecordResult::OutputFull => {
                    let len = self.fields.len();
                    self.fields.resize(len * 2, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len();
                    self.ends.resize(len * 2, 0);
                }
                ReadRecordResult::Record => break,
                ReadRecordResult::End => {
                    self.done = true;
                    return Ok(None);
                }
            }
        }
        let bytes = &self.fields[..out_len];
        let ends = &self.ends[..end_len];
        let end_line = start_line + count_line_feeds(bytes);
        let encoding = match self.encoding {
            Some(encoding) => encoding,
            None if bytes.is_ascii() => SourceEncoding::Utf8,
            None => {
                let decided = decide_from_fields(field_slices(bytes, ends));
                self.encoding = Some(decided);
                decided
            }
        };
        let mut text = String::with_capacity(bytes.len() + bytes.len() / 2);
        let mut text_ends = Vec::with_capacity(ends.len());
        let mut undecodable = Vec::new();
        for (i, field) in field_slices(bytes, ends).enumerate() {
            if !decode_field_into(encoding, field, &mut text) {
                undecodable.push(i);
            }
            text_ends.push(u32::try_from(text.len()).map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidData, "CSV record larger than 4 GiB")
            })?);
        }
        Ok(Some(RawRow {
            line: start_line,
            end_line,
            text,
            ends: text_ends,
            undecodable,
        }))
    }

    /// Consumes CR/LF bytes before a record. Returns `false` at the end of the input.
    fn skip_line_breaks(&mut self) -> io::Result<bool> {
        loop {
            let input = self.src.fill_buf()?;
            if input.is_empty() {
                return Ok(false);
            }
            let skip = input
                .iter()
                .position(|&b| b != b'\n' && b != b'\r')
                .unwrap_or(input.len());
            self.line += count_line_feeds(&input[..skip]);
            let more = skip == input.len();
            self.src.consume(skip);
            if !more {
                return Ok(true);
            }
        }
    }
}

impl<B: BufRead> Iterator for RowReader<B> {
    type Item = io::Result<RawRow>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.read_row() {
            Ok(Some(row)) => Some(Ok(row)),
            Ok(None) => None,
            Err(err) => {
                self.done = true;
                Some(Err(err))
            }
        }
    }
}

fn field_slices<'a>(bytes: &'a [u8], ends: &'a [usize]) -> impl Iterator<Item = &'a [u8]> + 'a {
    ends.iter().scan(0usize, move |start, &end| {
        let field = &bytes[*start..end];
        *start = end;
        Some(field)
    })
}

fn count_line_feeds(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(input: &str) -> Vec<(usize, usize, Vec<String>)> {
        rows_from_bytes(input.as_bytes(), SourceEncoding::Utf8)
            .map(|r| {
                let r = r.unwrap();
                (r.line, r.end_line, r.iter().map(str::to_owned).collect())
            })
            .collect()
    }

    #[test]
    fn line_numbers_are_physical_with_crlf_blank_lines_and_quoted_newlines() {
        let input = "h1,h2\r\na,b\r\n\r\n\r\nc,\"d\r\nx\"\r\ne,f\r\n";
        let got = rows(input);
        let lines: Vec<(usize, usize)> = got.iter().map(|(l, e, _)| (*l, *e)).collect();
        assert_eq!(lines, vec![(1, 1), (2, 2), (5, 6), (7, 7)]);
        assert_eq!(got[2].2, vec!["c", "d\r\nx"]);
        let lf = rows("h1,h2\na,b\n\n\nc,\"d\nx\"\ne,f\n,\n");
        let lines: Vec<usize> = lf.iter().map(|(l, _, _)| *l).collect();
        assert_eq!(lines, vec![1, 2, 5, 7, 8]);
    }

    #[test]
    fn quoted_commas_and_escaped_quotes() {
        let got = rows("a,\"1,000\",\"say \"\"hi\"\"\"\n");
        assert_eq!(got[0].2, vec!["a", "1,000", "say \"hi\""]);
    }

    #[test]
    fn last_line_without_terminator_is_read() {
        let got = rows("h\nv");
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].2, vec!["v"]);
    }

    #[test]
    fn stream_defers_encoding_until_non_ascii() {
        let mut bytes = b"id,amount\n".repeat(SNIFF_BYTES / 10 + 10);
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("7,髙橋\n");
        bytes.extend_from_slice(&sjis);
        let mut reader = open_reader(&bytes[..]).unwrap();
        assert_eq!(reader.encoding(), None);
        let last = reader.by_ref().map(Result::unwrap).last().unwrap();
        assert_eq!(reader.encoding(), Some(SourceEncoding::Cp932));
        assert_eq!(last.get(1), Some("髙橋"));
        assert!(last.undecodable_fields().is_empty());
    }

    #[test]
    fn undecodable_field_is_flagged_not_replaced_silently() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&encoding_rs::SHIFT_JIS.encode("番号,氏名\n1,山田\n").0);
        bytes.extend_from_slice(b"2,\x82\n");
        let rows: Vec<RawRow> = rows_from_bytes(&bytes, SourceEncoding::Cp932)
            .map(Result::unwrap)
            .collect();
        assert!(rows[1].undecodable_fields().is_empty());
        assert_eq!(rows[2].undecodable_fields(), &[1]);
        assert_eq!(rows[2].line, 3);
    }

    #[test]
    fn bom_is_skipped_in_streams() {
        let mut bytes = UTF8_BOM.to_vec();
        bytes.extend_from_slice("番号\n1\n".as_bytes());
        let mut reader = open_reader(&bytes[..]).unwrap();
        assert_eq!(reader.encoding(), Some(SourceEncoding::Utf8Bom));
        assert_eq!(reader.next().unwrap().unwrap().get(0), Some("番号"));
    }
}
