//! CSV exports of the donation and donor lists, with the list screens' filters, streamed.
//!
//! # Streaming
//! Rows flow from a database cursor (`furusato_db::export`, a `fetch()` stream) through a CSV
//! writer into chunks of about [`CHUNK_BYTES`] handed to a [`ChunkSink`] (the HTTP response body
//! through a bounded channel, stdout, a file). Nothing holds more than one chunk and one donation,
//! so a million rows export in constant memory.
//!
//! # Encodings
//! - [`Encoding::Cp932`] (Shift_JIS as Windows and Excel read it): 髙, 﨑, ①, ㈱, Ⅰ … are CP932
//!   characters and are written as such. The usual JIS/Unicode mapping variants that CP932 writes
//!   with another code point are converted first (〜 U+301C → ～, — U+2014 → ―, ‖ → ∥, ¢ £ ¬ ¦ →
//!   ￠ ￡ ￢ ￤): nothing is lost. Any other character CP932 cannot encode (𠮷, é, emoji …) is
//!   **replaced by 〓** (the JIS substitution mark) and counted: the count is in the audit entry
//!   of the export (`unmappable`), printed by the CLI, and the export form recommends UTF-8 when
//!   such characters matter. We replace rather than refuse because the export is needed even
//!   when one address among a million has a rare kanji, and the 〓 marks the place to look at.
//! - [`Encoding::Utf8`]: UTF-8 with a byte-order mark, so that Excel detects it.
//!
//! Lines end with CRLF. Text cells that a spreadsheet would read as a formula (starting with
//! `=`, `+`, `-`, `@`, tab or CR) get a leading `'` (CSV injection guard).
//!
//! # Audit
//! [`begin`] writes `export.started` (who, what, filter, encoding, reason) before the first byte;
//! [`Export::stream`] writes `export.finished` with the row count when the stream ends, or
//! `export.aborted` (client went away, database error) with the rows written so far. The three
//! entries share `target_id` = the export id. Filters are recorded without personal values: the
//! donor search's フリガナ / name / phone criteria are recorded as "given", not as typed.

use std::future::Future;
use std::time::Instant;

use encoding_rs::{EncoderResult, SHIFT_JIS};
use furusato_db::audit::{self, AuditEntry};
use furusato_db::donations::DonationFilter;
use furusato_db::donors::DonorSearch;
use furusato_db::export::{self as rows, DonationExportRow, DonorExportRow};
use furusato_db::{Db, DbError, MunicipalityId, new_id};
use furusato_domain::{Channel, PaymentMethod, PaymentStatus, Portal, jst};
use futures::StreamExt;
use serde::Serialize;
use time::Date;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use uuid::Uuid;

/// Size of the chunks handed to the sink.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// The CP932 bytes of 〓 (GETA MARK), written for characters CP932 cannot encode.
const GETA_CP932: [u8; 2] = [0x81, 0xAC];

/// The UTF-8 byte-order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The label of donations without a portal, in the portal column.
pub const DIRECT_LABEL: &str = "直接";

/// Character encoding of an export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// Windows-31J / CP932 (Shift_JIS as Excel reads it). The default: what Excel opens by double-click.
    #[default]
    Cp932,
    /// UTF-8 with a byte-order mark.
    Utf8,
}

impl Encoding {
    /// `cp932` (also `sjis`, `shift_jis`, `windows-31j`) or `utf8` (`utf-8`).
    pub fn parse(s: &str) -> Option<Encoding> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cp932" | "sjis" | "shift_jis" | "shift-jis" | "windows-31j" | "ms932" => {
                Some(Encoding::Cp932)
            }
            "utf8" | "utf-8" => Some(Encoding::Utf8),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Cp932 => "cp932",
            Encoding::Utf8 => "utf8",
        }
    }

    /// For the HTTP `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Cp932 => "text/csv; charset=Shift_JIS",
            Encoding::Utf8 => "text/csv; charset=UTF-8",
        }
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            Encoding::Cp932 => "Shift_JIS（CP932・Excel向け）",
            Encoding::Utf8 => "UTF-8（BOM付き）",
        }
    }
}

/// What to export.
#[derive(Clone, Debug)]
pub enum ExportTarget {
    /// Donations matching the donation list's filter.
    Donations(DonationFilter),
    /// Donors matching the donor search (all unmerged donors when the criteria are empty).
    Donors(DonorSearch),
}

impl ExportTarget {
    /// `donations` or `donors`.
    pub fn kind(&self) -> &'static str {
        match self {
            ExportTarget::Donations(_) => "donations",
            ExportTarget::Donors(_) => "donors",
        }
    }

    /// The filter for the audit trail, without personal values (see the module documentation).
    pub fn filter_for_audit(&self) -> serde_json::Value {
        match self {
            ExportTarget::Donations(f) => serde_json::json!({
                "from": f.from.map(jst::format_date_iso),
                "to": f.to.map(jst::format_date_iso),
                "portal": f.portal,
                "payment_status": f.payment_status,
                "channel": f.channel,
                "donor_id": f.donor_id,
            }),
            ExportTarget::Donors(s) => {
                let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
                serde_json::json!({
                    "kana_given": given(&s.kana),
                    "name_given": given(&s.name),
                    "phone_given": given(&s.phone),
                    "postal_code": s.postal_code,
                    "donation_number": s.donation_number,
                    "include_merged": s.include_merged,
                })
            }
        }
    }
}

/// An export to run.
#[derive(Clone, Debug)]
pub struct ExportRequest {
    pub target: ExportTarget,
    pub encoding: Encoding,
    /// Why the data is taken out (purpose-bound use); required, recorded in the audit trail.
    pub reason: String,
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportSummary {
    pub export_id: Uuid,
    /// Data rows (without the header).
    pub rows: u64,
    /// Bytes written, header and BOM included.
    pub bytes: u64,
    /// Characters replaced by 〓 (CP932 only).
    pub unmappable: u64,
    pub elapsed_ms: u64,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("the export needs a reason")]
    ReasonMissing,
    #[error("the receiver went away: {0}")]
    Sink(#[source] std::io::Error),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Where the CSV bytes go.
pub trait ChunkSink: Send {
    /// Takes one chunk; an error stops the export (e.g. the HTTP client went away).
    fn write_chunk(&mut self, chunk: Vec<u8>) -> impl Future<Output = std::io::Result<()>> + Send;
}

/// A [`ChunkSink`] over any async writer (stdout, a file, a `Vec<u8>` in tests).
pub struct WriterSink<W>(pub W);

impl<W: AsyncWrite + Unpin + Send> ChunkSink for WriterSink<W> {
    async fn write_chunk(&mut self, chunk: Vec<u8>) -> std::io::Result<()> {
        self.0.write_all(&chunk).await?;
        self.0.flush().await
    }
}

/// Longest accepted reason.
pub const MAX_REASON_CHARS: usize = 500;

/// An export whose start is recorded; stream it with [`Export::stream`].
pub struct Export {
    pub id: Uuid,
    tenant: MunicipalityId,
    actor: AuditEntry,
    request: ExportRequest,
}

/// Checks the request and writes `export.started` (its own transaction).
pub async fn begin(
    db: &Db,
    tenant: MunicipalityId,
    actor: &AuditEntry,
    request: ExportRequest,
) -> Result<Export, ExportError> {
    let reason = request.reason.trim();
    if reason.is_empty() {
        return Err(ExportError::ReasonMissing);
    }
    let request = ExportRequest {
        reason: reason.chars().take(MAX_REASON_CHARS).collect(),
        ..request
    };
    let id = new_id();
    let entry = audit_entry(actor, "export.started", id, &request, serde_json::json!({}));
    audit::record(db, &entry).await?;
    Ok(Export {
        id,
        tenant,
        actor: actor.clone(),
        request,
    })
}

fn audit_entry(
    actor: &AuditEntry,
    action: &str,
    id: Uuid,
    r: &ExportRequest,
    extra: serde_json::Value,
) -> AuditEntry {
    let mut detail = serde_json::json!({
        "kind": r.target.kind(),
        "filter": r.target.filter_for_audit(),
        "encoding": r.encoding.as_str(),
    });
    if let (Some(d), serde_json::Value::Object(extra)) = (detail.as_object_mut(), extra) {
        d.extend(extra);
    }
    AuditEntry {
        action: action.into(),
        ..actor.clone()
    }
    .target("export", id)
    .reason(&r.reason)
    .detail(detail)
}

impl Export {
    pub fn request(&self) -> &ExportRequest {
        &self.request
    }

    /// Streams the CSV to `sink` and records the outcome (`export.finished` or `export.aborted`).
    pub async fn stream<S: ChunkSink>(
        self,
        db: &Db,
        sink: &mut S,
    ) -> Result<ExportSummary, ExportError> {
        let started = Instant::now();
        let mut out = CsvOut::new(self.request.encoding);
        let result = match &self.request.target {
            ExportTarget::Donations(f) => write_donations(db, self.tenant, f, &mut out, sink).await,
            ExportTarget::Donors(s) => write_donors(db, self.tenant, s, &mut out, sink).await,
        };
        let result = match result {
            Ok(()) => out.finish(sink).await,
            Err(e) => Err(e),
        };
        let summary = ExportSummary {
            export_id: self.id,
            rows: out.rows,
            bytes: out.bytes,
            unmappable: out.unmappable,
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        let extra = serde_json::json!({
            "rows": summary.rows,
            "bytes": summary.bytes,
            "unmappable": summary.unmappable,
            "elapsed_ms": summary.elapsed_ms,
        });
        match result {
            Ok(()) => {
                let entry = audit_entry(
                    &self.actor,
                    "export.finished",
                    self.id,
                    &self.request,
                    extra,
                );
                audit::record(db, &entry).await?;
                Ok(summary)
            }
            Err(e) => {
                let mut extra = extra;
                extra["error"] = serde_json::json!(match &e {
                    ExportError::Sink(_) => "receiver_closed",
                    ExportError::Db(_) => "database",
                    ExportError::ReasonMissing => "reason",
                });
                let entry =
                    audit_entry(&self.actor, "export.aborted", self.id, &self.request, extra);
                if let Err(ae) = audit::record(db, &entry).await {
                    tracing::error!(error = %ae, "recording an aborted export failed");
                }
                Err(e)
            }
        }
    }
}

/// Convenience: [`begin`] + [`Export::stream`].
pub async fn run<S: ChunkSink>(
    db: &Db,
    tenant: MunicipalityId,
    actor: &AuditEntry,
    request: ExportRequest,
    sink: &mut S,
) -> Result<ExportSummary, ExportError> {
    begin(db, tenant, actor, request)
        .await?
        .stream(db, sink)
        .await
}

// ---------------------------------------------------------------------------------------------
// CSV plumbing

/// The CSV writer (RFC 4180: fields quoted when they hold a comma, quote, CR or LF; CRLF line
/// ends) with its encoder and counters. Fields are written straight into one reused buffer.
struct CsvOut {
    text: String,
    /// A reused buffer for fields built from parts (name, address, gift codes).
    scratch: String,
    /// A field has been written on the current line (the next one needs a comma).
    in_row: bool,
    encoding: Encoding,
    encoded: Vec<u8>,
    rows: u64,
    bytes: u64,
    unmappable: u64,
}

/// Appends a text field: a leading `'` when a spreadsheet would read it as a formula (starts
/// with `=`, `+`, `-`, `@`, tab or CR), quoted when it holds a comma, quote, CR or LF.
fn push_text(buf: &mut String, s: &str) {
    let guard = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = s.contains([',', '"', '\r', '\n']);
    if quote {
        buf.push('"');
    }
    if guard {
        buf.push('\'');
    }
    if quote {
        for c in s.chars() {
            if c == '"' {
                buf.push('"');
            }
            buf.push(c);
        }
        buf.push('"');
    } else {
        buf.push_str(s);
    }
}

impl CsvOut {
    fn new(encoding: Encoding) -> CsvOut {
        let mut encoded = Vec::with_capacity(CHUNK_BYTES + 4096);
        if encoding == Encoding::Utf8 {
            encoded.extend_from_slice(BOM);
        }
        CsvOut {
            text: String::with_capacity(CHUNK_BYTES + 4096),
            scratch: String::with_capacity(256),
            in_row: false,
            encoding,
            encoded,
            rows: 0,
            bytes: 0,
            unmappable: 0,
        }
    }

    fn sep(&mut self) {
        if self.in_row {
            self.text.push(',');
        }
        self.in_row = true;
    }

    /// A field that never needs quoting or guarding (our own labels, numbers, dates, ids).
    fn plain(&mut self, s: &str) {
        self.sep();
        self.text.push_str(s);
    }

    /// A formatted field that never needs quoting or guarding.
    fn plain_fmt(&mut self, args: std::fmt::Arguments<'_>) {
        use std::fmt::Write;
        self.sep();
        let _ = self.text.write_fmt(args);
    }

    /// A text field from the data (guarded and quoted as needed).
    fn text(&mut self, s: &str) {
        self.sep();
        push_text(&mut self.text, s);
    }

    /// A text field built in the scratch buffer by `build`.
    fn text_with(&mut self, build: impl FnOnce(&mut String)) {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        build(&mut scratch);
        self.text(&scratch);
        self.scratch = scratch;
    }

    /// "family given" (either may be empty).
    fn name(&mut self, family: &str, given: &str) {
        self.text_with(|s| {
            s.push_str(family.trim());
            let given = given.trim();
            if !given.is_empty() {
                if !s.is_empty() {
                    s.push(' ');
                }
                s.push_str(given);
            }
        });
    }

    /// 〒 "980-0811" for a 7-digit code, the stored text otherwise.
    fn postal(&mut self, code: &str) {
        if code.len() == 7 && code.bytes().all(|b| b.is_ascii_digit()) {
            self.plain_fmt(format_args!("{}-{}", &code[..3], &code[3..]));
        } else {
            self.text(code);
        }
    }

    fn date(&mut self, d: Option<Date>) {
        match d {
            Some(d) => self.plain_fmt(format_args!(
                "{:04}-{:02}-{:02}",
                d.year(),
                u8::from(d.month()),
                d.day()
            )),
            None => self.plain(""),
        }
    }

    fn end_row(&mut self) {
        self.text.push_str("\r\n");
        self.in_row = false;
        self.rows += 1;
    }

    /// The header line (not counted as a row).
    fn header(&mut self, names: &[&str]) {
        for n in names {
            self.plain(n);
        }
        self.text.push_str("\r\n");
        self.in_row = false;
    }

    /// Hands the buffered CSV to the sink when it is larger than a chunk (or always, `force`).
    async fn flush<S: ChunkSink>(&mut self, sink: &mut S, force: bool) -> Result<(), ExportError> {
        if !force && self.text.len() < CHUNK_BYTES {
            return Ok(());
        }
        match self.encoding {
            Encoding::Utf8 => self.encoded.extend_from_slice(self.text.as_bytes()),
            Encoding::Cp932 => self.unmappable += encode_cp932(&self.text, &mut self.encoded),
        }
        self.text.clear();
        if self.encoded.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.encoded, Vec::with_capacity(CHUNK_BYTES + 4096));
        self.bytes += chunk.len() as u64;
        sink.write_chunk(chunk).await.map_err(ExportError::Sink)
    }

    async fn finish<S: ChunkSink>(&mut self, sink: &mut S) -> Result<(), ExportError> {
        self.flush(sink, true).await
    }
}

/// Converts the JIS-style code points that CP932 writes with another code point.
fn cp932_variant(c: char) -> char {
    match c {
        '\u{301C}' => '\u{FF5E}', // 〜 WAVE DASH → ～ FULLWIDTH TILDE
        '\u{2014}' => '\u{2015}', // — EM DASH → ― HORIZONTAL BAR
        '\u{2016}' => '\u{2225}', // ‖ DOUBLE VERTICAL LINE → ∥ PARALLEL TO
        '\u{00A2}' => '\u{FFE0}', // ¢ → ￠
        '\u{00A3}' => '\u{FFE1}', // £ → ￡
        '\u{00AC}' => '\u{FFE2}', // ¬ → ￢
        '\u{00A6}' => '\u{FFE4}', // ¦ → ￤
        _ => c,
    }
}

/// CP932 bytes of every BMP character, indexed by code point: 0 = not encodable, < 0x100 = one
/// byte, otherwise two bytes (lead, trail). Built once from `encoding_rs` (its Shift_JIS is the
/// WHATWG one, which is CP932 as Windows writes it), by decoding every CP932 code and encoding the
/// character back, so the output is exactly `encoding_rs`'s; a table look-up instead of
/// `encoding_rs`'s searches for JIS level-2 kanji and symbols (the encoder was the export's
/// largest cost).
fn cp932_table() -> &'static [u16] {
    static TABLE: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = vec![0u16; 0x10000];
        let mut put = |c: char| {
            let mut buf = [0u8; 4];
            let mut out = Vec::with_capacity(4);
            let mut encoder = SHIFT_JIS.new_encoder();
            let (result, _) = encoder.encode_from_utf8_to_vec_without_replacement(
                c.encode_utf8(&mut buf),
                &mut out,
                true,
            );
            if let (EncoderResult::InputEmpty, Ok(cp)) = (result, u16::try_from(u32::from(c))) {
                table[cp as usize] = match out.as_slice() {
                    [b] => u16::from(*b),
                    [l, t] => u16::from_be_bytes([*l, *t]),
                    _ => 0,
                };
            }
        };
        for b in 0x80u8..=0xFF {
            if let Some(c) = SHIFT_JIS
                .decode_without_bom_handling_and_without_replacement(&[b])
                .and_then(|s| s.chars().next())
            {
                put(c);
            }
        }
        for lead in (0x81u8..=0x9F).chain(0xE0..=0xFC) {
            for trail in (0x40u8..=0x7E).chain(0x80..=0xFC) {
                if let Some(c) = SHIFT_JIS
                    .decode_without_bom_handling_and_without_replacement(&[lead, trail])
                    .and_then(|s| s.chars().next())
                {
                    put(c);
                }
            }
        }
        // Characters that are not the decoding of any code but that the encoder maps (¥ → 0x5C,
        // ‾ → 0x7E, − → 0x817C …) and the JIS variants written with their CP932 look-alikes.
        for c in ['\u{00A5}', '\u{203E}', '\u{2212}'] {
            put(c);
        }
        for c in [
            '\u{301C}', '\u{2014}', '\u{2016}', '\u{00A2}', '\u{00A3}', '\u{00AC}', '\u{00A6}',
        ] {
            table[c as usize] = table[cp932_variant(c) as usize];
        }
        table
    })
}

/// Reads CP932 bytes back (for tools and tests that check an export); `None` when they are not
/// valid CP932.
pub fn decode_cp932(bytes: &[u8]) -> Option<String> {
    SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|s| s.into_owned())
}

/// Appends `text` in CP932 to `out`; characters CP932 cannot encode become 〓. Returns how many
/// were replaced.
pub fn encode_cp932(text: &str, out: &mut Vec<u8>) -> u64 {
    let table = cp932_table();
    let mut replaced = 0;
    out.reserve(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // ASCII runs (digits, dates, ids, commas) copy straight through.
        let run = bytes[i..].iter().take_while(|b| b.is_ascii()).count();
        out.extend_from_slice(&bytes[i..i + run]);
        i += run;
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        i += c.len_utf8();
        match table.get(c as usize).copied().unwrap_or(0) {
            0 => {
                replaced += 1;
                out.extend_from_slice(&GETA_CP932);
            }
            v if v < 0x100 => out.push(v as u8),
            v => out.extend_from_slice(&v.to_be_bytes()),
        }
    }
    replaced
}

// ---------------------------------------------------------------------------------------------
// Donations

/// Header of the donation export.
pub const DONATION_HEADER: [&str; 19] = [
    "寄附番号",
    "ポータル",
    "ポータル注文番号",
    "受付経路",
    "寄附日",
    "受領日",
    "寄附金額",
    "入金状況",
    "支払方法",
    "使い道",
    "ワンストップ特例申請",
    "寄附者ID",
    "寄附者氏名",
    "寄附者フリガナ",
    "郵便番号",
    "住所",
    "電話番号",
    "メールアドレス",
    "返礼品コード",
];

/// A donation with its gift lines, folded from adjacent rows.
struct PendingDonation {
    row: DonationExportRow,
    gifts: Vec<(i64, String, i64)>,
}

impl PendingDonation {
    fn new(row: DonationExportRow) -> PendingDonation {
        let mut p = PendingDonation {
            gifts: Vec::new(),
            row,
        };
        p.add_gift_of_row();
        p
    }

    fn add(&mut self, row: DonationExportRow) {
        if let Some(line_no) = row.line_no {
            self.gifts.push((
                line_no,
                row.gift_code.unwrap_or_default(),
                row.quantity.unwrap_or(1),
            ));
        }
    }

    fn add_gift_of_row(&mut self) {
        if let Some(line_no) = self.row.line_no {
            let code = self.row.gift_code.clone().unwrap_or_default();
            self.gifts
                .push((line_no, code, self.row.quantity.unwrap_or(1)));
        }
    }

    fn write(mut self, out: &mut CsvOut) {
        self.gifts.sort_by_key(|g| g.0);
        let r = &self.row;
        out.text(&r.donation_number);
        match r.portal.as_deref() {
            None => out.plain(DIRECT_LABEL),
            Some(p) => match Portal::parse(p) {
                Ok(p) => out.plain(p.label_ja()),
                Err(_) => out.text(p),
            },
        }
        out.text(r.external_id.as_deref().unwrap_or(""));
        match Channel::parse(&r.channel) {
            Ok(c) => out.plain(c.label_ja()),
            Err(_) => out.text(&r.channel),
        }
        out.date(Some(r.donated_on));
        out.date(r.received_on);
        match r.amount {
            Some(a) => out.plain_fmt(format_args!("{a}")),
            None => out.plain(""),
        }
        match PaymentStatus::parse(&r.payment_status) {
            Ok(s) => out.plain(s.label_ja()),
            Err(_) => out.text(&r.payment_status),
        }
        match PaymentMethod::parse(&r.payment_method) {
            Ok(m) => out.plain(m.label_ja()),
            Err(_) => out.text(&r.payment_method),
        }
        out.text(&r.use_of_funds);
        out.plain(if r.onestop_wanted { "希望" } else { "" });
        out.plain_fmt(format_args!("{}", r.donor_id));
        out.text(r.name.trim());
        out.text(r.kana.trim());
        out.postal(&r.postal_code);
        out.text(&r.address);
        out.text(&r.phone);
        out.text(&r.email);
        let gifts = &self.gifts;
        out.text_with(|s| {
            for (_, code, qty) in gifts.iter().filter(|g| !g.1.is_empty()) {
                if !s.is_empty() {
                    s.push(';');
                }
                s.push_str(code);
                if *qty > 1 {
                    use std::fmt::Write;
                    let _ = write!(s, "×{qty}");
                }
            }
        });
        out.end_row();
    }
}

async fn write_donations<S: ChunkSink>(
    db: &Db,
    tenant: MunicipalityId,
    filter: &DonationFilter,
    out: &mut CsvOut,
    sink: &mut S,
) -> Result<(), ExportError> {
    out.header(&DONATION_HEADER);
    let reader = rows::ExportReader::open(db).await?;
    let result = async {
        let mut stream = rows::donation_rows(reader.db(), tenant, filter).ready_chunks(READY_BATCH);
        let mut pending: Option<PendingDonation> = None;
        while let Some(batch) = stream.next().await {
            let small = batch.len() < SMALL_BATCH;
            for row in batch {
                let row = row?;
                match pending.as_mut() {
                    Some(p) if p.row.donation_number == row.donation_number => p.add(row),
                    _ => {
                        if let Some(done) = pending.replace(PendingDonation::new(row)) {
                            done.write(out);
                            out.flush(sink, false).await?;
                        }
                    }
                }
            }
            pace(small).await;
        }
        if let Some(done) = pending.take() {
            done.write(out);
        }
        Ok(())
    }
    .await;
    reader.close().await;
    result
}

/// Rows taken from the cursor at once, when that many are waiting.
const READY_BATCH: usize = 1024;
/// A batch smaller than this means the reader is ahead of the database: wait a little so that
/// the next batch is larger, instead of waking up for every row.
const SMALL_BATCH: usize = 64;

async fn pace(small_batch: bool) {
    if small_batch {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Donors

/// Header of the donor export.
pub const DONOR_HEADER: [&str; 14] = [
    "寄附者ID",
    "氏名",
    "フリガナ",
    "郵便番号",
    "都道府県",
    "市区町村",
    "町域・番地",
    "建物名・部屋番号",
    "電話番号",
    "メールアドレス",
    "性別",
    "生年月日",
    "登録日",
    "統合先寄附者ID",
];

fn sex_label(sex: &str) -> &'static str {
    match sex {
        "male" => "男性",
        "female" => "女性",
        _ => "",
    }
}

fn write_donor(r: &DonorExportRow, out: &mut CsvOut) {
    out.plain_fmt(format_args!("{}", r.id));
    out.name(&r.family_name, &r.given_name);
    out.name(&r.family_kana, &r.given_kana);
    out.postal(&r.postal_code);
    out.text(&r.prefecture);
    out.text(&r.city);
    out.text(&r.address1);
    out.text(&r.address2);
    out.text(&r.phone);
    out.text(&r.email);
    out.plain(sex_label(&r.sex));
    out.date(r.birth_date);
    out.date(Some(jst::to_jst(r.created_at).date()));
    match r.merged_into_id {
        Some(m) => out.plain_fmt(format_args!("{m}")),
        None => out.plain(""),
    }
    out.end_row();
}

async fn write_donors<S: ChunkSink>(
    db: &Db,
    tenant: MunicipalityId,
    search: &DonorSearch,
    out: &mut CsvOut,
    sink: &mut S,
) -> Result<(), ExportError> {
    out.header(&DONOR_HEADER);
    let reader = rows::ExportReader::open(db).await?;
    let result = async {
        let mut stream = rows::donor_rows(reader.db(), tenant, search).ready_chunks(READY_BATCH);
        while let Some(batch) = stream.next().await {
            let small = batch.len() < SMALL_BATCH;
            for row in batch {
                write_donor(&row?, out);
                out.flush(sink, false).await?;
            }
            pace(small).await;
        }
        Ok(())
    }
    .await;
    reader.close().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp932_table_matches_encoding_rs_on_every_bmp_character() {
        for cp in 0x80u32..0x10000 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            if cp932_variant(c) != c {
                continue;
            }
            let mut ours = Vec::new();
            let replaced = encode_cp932(c.encode_utf8(&mut [0; 4]), &mut ours);
            let mut theirs = Vec::with_capacity(8);
            let mut enc = SHIFT_JIS.new_encoder();
            let (r, _) = enc.encode_from_utf8_to_vec_without_replacement(
                c.encode_utf8(&mut [0; 4]),
                &mut theirs,
                true,
            );
            match r {
                EncoderResult::InputEmpty => {
                    assert_eq!((ours, replaced), (theirs, 0), "U+{cp:04X}")
                }
                _ => assert_eq!((ours, replaced), (GETA_CP932.to_vec(), 1), "U+{cp:04X}"),
            }
        }
    }

    #[test]
    fn cp932_keeps_its_own_characters_and_replaces_the_rest() {
        let mut out = Vec::new();
        let replaced = encode_cp932("髙橋 﨑 ① ㈱ 〜 — 𠮷野家 é", &mut out);
        assert_eq!(replaced, 2, "𠮷 and é");
        let (back, _, had_errors) = SHIFT_JIS.decode(&out);
        assert!(!had_errors);
        assert_eq!(back, "髙橋 﨑 ① ㈱ ～ ― 〓野家 〓");
    }

    #[test]
    fn formula_cells_are_guarded_and_quoted() {
        let cell = |s: &str| {
            let mut b = String::new();
            push_text(&mut b, s);
            b
        };
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("+81-90"), "'+81-90");
        assert_eq!(cell("山田"), "山田");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("1\n2"), "\"1\n2\"");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn encodings_parse() {
        assert_eq!(Encoding::parse("CP932"), Some(Encoding::Cp932));
        assert_eq!(Encoding::parse("utf-8"), Some(Encoding::Utf8));
        assert_eq!(Encoding::parse("latin1"), None);
    }
}
