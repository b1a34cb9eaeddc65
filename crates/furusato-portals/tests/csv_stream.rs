//! Streaming: large generated CP932 files parsed record by record, never held in memory
//! (neither the input, which is generated on the fly, nor the rows, which are only counted).

#[path = "csv_common.rs"]
mod common;

use std::io::{self, Read};
use std::time::Instant;

use common::{PEOPLE, choice_headers, cp932, line};
use furusato_portals::csv_import::{Profile, SourceEncoding, open_reader, parse_stream};

/// A `Read` that produces a チョイス-layout CP932 file of `rows` donations on the fly.
/// Every `bad_every`-th donation has an invalid amount.
struct GeneratedChoiceFile {
    headers_len: usize,
    next: usize,
    rows: usize,
    bad_every: usize,
    /// Pre-encoded row tails (everything after the id), one per fictitious person.
    tails: Vec<Vec<u8>>,
    bad_tail: Vec<u8>,
    buf: Vec<u8>,
    pos: usize,
}

impl GeneratedChoiceFile {
    fn new(rows: usize, bad_every: usize) -> Self {
        let headers = choice_headers(1, &["子育て支援"]);
        let tail_for = |p: &[&str; 9], amount: &str| {
            let mut cells = vec![String::new(); headers.len() - 1];
            let mut set = |h: &str, v: &str| {
                let idx = headers.iter().position(|x| x == h).unwrap() - 1;
                cells[idx] = v.to_owned();
            };
            set("申込日", "2026-01-05");
            set("入金日", "2026-01-06");
            set("氏名", p[0]);
            set("フリガナ", p[1]);
            set("〒", p[2]);
            set("都道府県", p[3]);
            set("市区町村", p[4]);
            set("町名・番地", p[5]);
            set("マンション名", p[6]);
            set("電話番号", p[7]);
            set("E-mailアドレス", p[8]);
            set("寄附金額", amount);
            set("寄附金の払込方法", "クレジットカード");
            set("子育て支援 選択", "○");
            set("返礼品1_コード", "A001");
            set("返礼品1_名称", "ずんだ餅①～③ セット");
            set("ワンストップ特例_要望", "希望する");
            set("備考", "熨斗不要\r\n髙橋様ご紹介");
            let mut bytes = b",".to_vec();
            bytes.extend_from_slice(&cp932(&line(&cells)));
            bytes.extend_from_slice(b"\r\n");
            bytes
        };
        let tails = PEOPLE.iter().map(|p| tail_for(p, "10,000")).collect();
        let bad_tail = tail_for(&PEOPLE[0], "十万円");
        let mut buf = cp932(&line(&headers));
        buf.extend_from_slice(b"\r\n");
        GeneratedChoiceFile {
            headers_len: headers.len(),
            next: 0,
            rows,
            bad_every,
            tails,
            bad_tail,
            buf,
            pos: 0,
        }
    }

    /// Physical line of donation `n` (0-based): header is line 1, each record spans 2 lines
    /// (the quoted line break in 備考).
    fn line_of(n: usize) -> usize {
        2 + 2 * n
    }
}

impl Read for GeneratedChoiceFile {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.next == self.rows {
                return Ok(0);
            }
            self.buf.clear();
            self.pos = 0;
            // a few KiB per refill
            while self.buf.len() < 16 * 1024 && self.next < self.rows {
                let n = self.next;
                self.buf.extend_from_slice(format!("C{n:08}").as_bytes());
                if self.bad_every > 0 && n % self.bad_every == self.bad_every - 1 {
                    self.buf.extend_from_slice(&self.bad_tail);
                } else {
                    self.buf
                        .extend_from_slice(&self.tails[n % self.tails.len()]);
                }
                self.next += 1;
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn two_hundred_thousand_cp932_rows_stream_without_holding_rows() {
    const ROWS: usize = 200_000;
    const BAD_EVERY: usize = 50_000;
    let started = Instant::now();
    let mut ok = 0usize;
    let mut error_lines = Vec::new();
    let mut last_ok_line = 0usize;
    let summary = parse_stream(
        &Profile::Choice,
        GeneratedChoiceFile::new(ROWS, BAD_EVERY),
        |row| match row {
            Ok(donation) => {
                ok += 1;
                last_ok_line = donation.line;
                debug_assert_eq!(donation.amount, 10_000);
            }
            Err(err) => error_lines.push((err.line, err.message_ja)),
        },
    )
    .unwrap();
    let elapsed = started.elapsed();
    eprintln!("streamed {ROWS} CP932 rows in {elapsed:?}");

    assert_eq!(summary.encoding, SourceEncoding::Cp932);
    assert_eq!(summary.stats.records, ROWS);
    assert_eq!(ok, ROWS - ROWS / BAD_EVERY);
    assert_eq!(summary.stats.ok, ok);
    let expected: Vec<(usize, String)> = (1..=ROWS / BAD_EVERY)
        .map(|k| {
            (
                GeneratedChoiceFile::line_of(k * BAD_EVERY - 1),
                "寄附金額が正しくありません: 十万円".to_owned(),
            )
        })
        .collect();
    assert_eq!(error_lines, expected);
    assert_eq!(last_ok_line, GeneratedChoiceFile::line_of(ROWS - 2));
}

#[test]
fn raw_row_reader_streams_and_decodes_cp932() {
    let file = GeneratedChoiceFile::new(5_000, 0);
    let width = file.headers_len;
    let mut reader = open_reader(file).unwrap();
    assert_eq!(reader.encoding(), Some(SourceEncoding::Cp932));
    let header = reader.next().unwrap().unwrap();
    assert_eq!(header.get(0), Some("寄附者番号"));
    let mut count = 0;
    for row in reader {
        let row = row.unwrap();
        assert_eq!(row.len(), width);
        assert!(row.undecodable_fields().is_empty());
        assert_eq!(row.end_line, row.line + 1);
        count += 1;
    }
    assert_eq!(count, 5_000);
}

/// Manual benchmark, not a timed test: `cargo test -p furusato-portals --release --test
/// csv_stream -- --ignored --nocapture` prints the parse time of 1,000,000 CP932 rows.
#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn one_million_cp932_rows_benchmark() {
    const ROWS: usize = 1_000_000;
    let started = Instant::now();
    let mut ok = 0usize;
    let summary = parse_stream(&Profile::Choice, GeneratedChoiceFile::new(ROWS, 0), |row| {
        if row.is_ok() {
            ok += 1;
        }
    })
    .unwrap();
    eprintln!(
        "parsed {ROWS} CP932 rows ({} columns) in {:?}",
        summary.headers.len(),
        started.elapsed()
    );
    assert_eq!(ok, ROWS);
}
