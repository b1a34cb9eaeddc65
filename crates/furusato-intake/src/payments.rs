//! Payment records: bank / 郵便振替 / 納付書 statements (CSV) matched to donations.
//!
//! # File
//! One record per line with four canonical columns — 入金日, 金額, 振込依頼人名 (usually
//! half-width kana) and 寄附番号 / 参照番号 — whose headers are given or guessed from common
//! names (see [`PaymentColumns`]); CP932 or UTF-8 (with or without BOM), quoted newlines allowed.
//! Title lines above the header are skipped (the header is the first line naming a date and an
//! amount column).
//!
//! # Matching ([`match_records`]), in file order
//! 1. A 寄附番号 in the reference column (or, failing that, written in the payer name) that
//!    names a donation of the municipality: same amount and unpaid → **matched**. Already paid
//!    (or matched by an earlier line of the same file) → **ambiguous** with a 二重入金 note;
//!    cancelled or refunded → ambiguous with a note; a different amount → rule 2, and ambiguous
//!    with a note if rule 2 finds nothing.
//! 2. Otherwise the unpaid donations with the same amount, whose donor's フリガナ equals the payer
//!    name (both normalised: katakana, no spaces, small kana folded to large as banks print them,
//!    ｼﾔ = シャ) and whose 寄附日 is at most [`DATE_WINDOW_DAYS`] days before the payment date (and
//!    not after it): exactly one → **matched**; several → **ambiguous** (the candidates are named);
//!    none, but a paid donation fits → ambiguous with a 二重入金 note; none at all → **unmatched**.
//!
//! A donation is never paid twice. Matched donations are marked paid with 受領日 = 入金日 in one
//! transaction per file, with a `donation_changes` record each and one audit entry. Unmatched and
//! ambiguous records wait for an operator: [`manual_match`] (pick the donation) or [`ignore`]
//! (with a note).

use furusato_db::audit;
use furusato_db::donations;
use furusato_db::imports::{
    self as store, Exec, ImportOutcome, NewImport, NewPaymentRecord, PaymentCandidate,
    payment_status,
};
use furusato_db::{Db, DbError, MunicipalityId, Tx, new_id, now_utc, source_records};
use furusato_domain::{DonationNumber, PaymentStatus, jst, kana, normalize};
use furusato_portals::csv_import::{SourceEncoding, open_reader, parse_amount, parse_date};
use serde::{Deserialize, Serialize};
use time::{Date, Duration};
use uuid::Uuid;

use crate::imports::{Actor, StoredRowError};

/// `imports.kind` of payment files.
pub const KIND: &str = "payments";

/// A payment may come this many days after the donation (and not before it).
pub const DATE_WINDOW_DAYS: i64 = 60;

/// Headers of the four columns as given by the operator; `None` means "guess".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentColumns {
    pub paid_on: Option<String>,
    pub amount: Option<String>,
    pub payer: Option<String>,
    pub reference: Option<String>,
}

/// The headers actually used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedColumns {
    pub paid_on: String,
    pub amount: String,
    pub payer: Option<String>,
    pub reference: Option<String>,
}

const PAID_ON_WORDS: &[&str] = &[
    "入金日",
    "取引日",
    "振込日",
    "受入日",
    "払込日",
    "入金年月日",
    "取扱日",
    "勘定日",
    "日付",
    "年月日",
    "受付日",
    "収納日",
];
const AMOUNT_WORDS: &[&str] = &[
    "金額",
    "入金額",
    "振込金額",
    "入金金額",
    "取引金額",
    "受入金額",
    "払込金額",
    "お預り金額",
    "預入金額",
    "収納金額",
    "入金",
];
const PAYER_WORDS: &[&str] = &[
    "振込依頼人名",
    "振込依頼人",
    "依頼人名",
    "依頼人",
    "振込人名",
    "振込人",
    "払込人名",
    "払込人",
    "振込名義",
    "名義",
    "名義人",
    "カナ氏名",
    "氏名",
    "お名前",
    "摘要",
];
const REFERENCE_WORDS: &[&str] = &[
    "寄附番号",
    "寄付番号",
    "参照番号",
    "照会番号",
    "整理番号",
    "受付番号",
    "払込票番号",
    "納付番号",
    "顧客番号",
    "edi情報",
    "お客様番号",
    "備考",
    "メモ",
];

/// Header key: width folded, spaces and brackets removed, lower-case.
fn key(s: &str) -> String {
    normalize::normalize_name(s)
        .chars()
        .filter(|c| {
            !matches!(
                c,
                '_' | '-' | '(' | ')' | '（' | '）' | '・' | '[' | ']' | '【' | '】'
            )
        })
        .flat_map(char::to_lowercase)
        .collect()
}

fn find(headers: &[String], wanted: &str) -> Option<usize> {
    let w = key(wanted);
    headers
        .iter()
        .position(|h| h.trim() == wanted.trim())
        .or_else(|| headers.iter().position(|h| key(h) == w))
}

fn guess(headers: &[String], words: &[&str], taken: &[usize]) -> Option<usize> {
    words
        .iter()
        .find_map(|w| find(headers, w).filter(|i| !taken.contains(i)))
}

/// Why a payment file cannot be read. `Display` is English; [`PaymentFileError::message_ja`] is
/// for screens.
#[derive(Debug, thiserror::Error)]
pub enum PaymentFileError {
    #[error("could not read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file is empty")]
    Empty,
    /// No line names the columns (given or guessed).
    #[error("no header line with the columns {0} was found in the first 20 lines")]
    NoHeader(String),
}

impl PaymentFileError {
    pub fn message_ja(&self) -> String {
        match self {
            PaymentFileError::Io(_) => "ファイルを読み込めませんでした。".into(),
            PaymentFileError::Empty => "ファイルが空です。".into(),
            PaymentFileError::NoHeader(cols) => {
                format!("先頭20行に見出し行（{cols}）が見つかりません。列名を指定してください。")
            }
        }
    }
}

/// One line of the statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParsedRecord {
    pub line: usize,
    pub paid_on: Date,
    pub amount: i64,
    /// The payer as written.
    pub payer_name: String,
    /// The payer's name in full-width katakana without spaces (empty when not written).
    pub payer_kana: String,
    /// 寄附番号 / reference as written.
    pub reference: String,
}

/// A parsed statement.
#[derive(Clone, Debug)]
pub struct ParsedPayments {
    pub encoding: SourceEncoding,
    pub headers: Vec<String>,
    pub columns: ResolvedColumns,
    pub records: Vec<ParsedRecord>,
    /// Lines that could not be read (Japanese messages).
    pub errors: Vec<StoredRowError>,
}

/// Reads a statement.
pub fn parse(bytes: &[u8], cols: &PaymentColumns) -> Result<ParsedPayments, PaymentFileError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) || bytes == b"\xEF\xBB\xBF" {
        return Err(PaymentFileError::Empty);
    }
    let mut rows = open_reader(bytes)?;
    let wanted = |c: &Option<String>, d: &str| {
        c.clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| d.to_string())
    };
    let describe = format!(
        "{}・{}",
        wanted(&cols.paid_on, "入金日"),
        wanted(&cols.amount, "金額")
    );
    // The header: the first line (of the first 20) where the date and amount columns are found.
    let mut header: Option<(Vec<String>, ResolvedColumns, [Option<usize>; 4])> = None;
    for _ in 0..20 {
        let Some(row) = rows.read_row()? else { break };
        if row.is_blank() {
            continue;
        }
        let headers: Vec<String> = row
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{FEFF}').to_string())
            .collect();
        let pick = |given: &Option<String>, words: &[&str], taken: &[usize]| -> Option<usize> {
            match given.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(name) => find(&headers, name),
                None => guess(&headers, words, taken),
            }
        };
        let Some(d) = pick(&cols.paid_on, PAID_ON_WORDS, &[]) else {
            continue;
        };
        let Some(a) = pick(&cols.amount, AMOUNT_WORDS, &[d]) else {
            continue;
        };
        let p = pick(&cols.payer, PAYER_WORDS, &[d, a]);
        let r = pick(
            &cols.reference,
            REFERENCE_WORDS,
            &[d, a, p.unwrap_or(usize::MAX)],
        );
        let resolved = ResolvedColumns {
            paid_on: headers[d].clone(),
            amount: headers[a].clone(),
            payer: p.map(|i| headers[i].clone()),
            reference: r.map(|i| headers[i].clone()),
        };
        header = Some((headers, resolved, [Some(d), Some(a), p, r]));
        break;
    }
    let Some((headers, columns, [d, a, p, r])) = header else {
        return Err(PaymentFileError::NoHeader(describe));
    };
    let (d, a) = (d.unwrap_or_default(), a.unwrap_or_default());
    let mut records = Vec::new();
    let mut errors = Vec::new();
    while let Some(row) = rows.read_row()? {
        if row.is_blank() {
            continue;
        }
        let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).map(str::trim).unwrap_or("");
        let err = |column: &str, message_ja: String| StoredRowError {
            line: row.line,
            column: Some(column.to_string()),
            message_ja,
            warning: false,
        };
        if !row.undecodable_fields().is_empty() {
            errors.push(StoredRowError {
                line: row.line,
                column: None,
                message_ja: "文字コードを判別できない文字があります".into(),
                warning: false,
            });
            continue;
        }
        let date_raw = cell(Some(d));
        let amount_raw = cell(Some(a));
        let paid_on = match parse_date(date_raw) {
            Some(x) => x,
            None if date_raw.is_empty() => {
                errors.push(err(&columns.paid_on, "入金日がありません".into()));
                continue;
            }
            None => {
                errors.push(err(
                    &columns.paid_on,
                    format!("入金日の日付が正しくありません: {date_raw}"),
                ));
                continue;
            }
        };
        let amount = match parse_amount(amount_raw) {
            Some(x) => x,
            None if amount_raw.is_empty() => {
                errors.push(err(&columns.amount, "金額がありません".into()));
                continue;
            }
            None => {
                errors.push(err(
                    &columns.amount,
                    format!("金額が正しくありません: {amount_raw}"),
                ));
                continue;
            }
        };
        let payer_name = cell(p).to_string();
        records.push(ParsedRecord {
            line: row.line,
            paid_on,
            amount,
            payer_kana: kana::normalize_kana(&payer_name),
            payer_name,
            reference: cell(r).to_string(),
        });
    }
    Ok(ParsedPayments {
        encoding: rows.encoding().unwrap_or(SourceEncoding::Utf8),
        headers,
        columns,
        records,
        errors,
    })
}

/// The matching key of a name reading: katakana, no spaces, small kana as large (banks print
/// 「ｼﾔ」 for シャ), ヴ kept.
pub fn payer_key(s: &str) -> String {
    kana::normalize_kana(s)
        .chars()
        .map(|c| match c {
            'ァ' => 'ア',
            'ィ' => 'イ',
            'ゥ' => 'ウ',
            'ェ' => 'エ',
            'ォ' => 'オ',
            'ッ' => 'ツ',
            'ャ' => 'ヤ',
            'ュ' => 'ユ',
            'ョ' => 'ヨ',
            'ヮ' => 'ワ',
            'ヵ' => 'カ',
            'ヶ' => 'ケ',
            c => c,
        })
        .filter(|c| !matches!(c, '・' | '.' | '．'))
        .collect()
}

/// 寄附番号 written in a text (reference column or payer name): "2026-0001234" or 11 digits.
pub fn donation_numbers_in(text: &str) -> Vec<String> {
    let folded = normalize::normalize_name(text);
    let mut out = Vec::new();
    for token in folded.split(|c: char| !(c.is_ascii_digit() || c == '-')) {
        let t = token.trim_matches('-');
        if let Ok(n) = DonationNumber::parse(t) {
            let s = n.to_string();
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// How one record is to be matched.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedMatch {
    pub record: ParsedRecord,
    /// matched | ambiguous | unmatched
    pub status: &'static str,
    pub donation_id: Option<Uuid>,
    pub donation_number: Option<String>,
    /// Japanese explanation (candidates, double payment …).
    pub note: String,
}

fn yen(n: i64) -> String {
    furusato_domain::Yen::new(n).format_number() + "円"
}

fn reborrow<'b>(ex: &'b mut Exec<'_>) -> Exec<'b> {
    match ex {
        Exec::Db(db) => Exec::Db(db),
        Exec::Tx(tx) => Exec::Tx(tx),
    }
}

async fn plan_matches(
    mut ex: Exec<'_>,
    tenant: MunicipalityId,
    records: &[ParsedRecord],
) -> Result<Vec<PlannedMatch>, DbError> {
    // 寄附番号 referenced by the file, in one query.
    let refs: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let mut n = donation_numbers_in(&r.reference);
            if n.is_empty() {
                n = donation_numbers_in(&r.payer_name);
            }
            n
        })
        .collect();
    let all_refs: Vec<String> = refs.iter().flatten().cloned().collect();
    let by_number: std::collections::HashMap<String, PaymentCandidate> =
        store::payment_candidates_by_number(reborrow(&mut ex), tenant, &all_refs)
            .await?
            .into_iter()
            .map(|c| (c.donation_number.clone(), c))
            .collect();
    // Donations claimed by earlier lines of this file: id → line.
    let mut claimed: std::collections::HashMap<Uuid, usize> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    for (rec, numbers) in records.iter().zip(&refs) {
        // Rule 1: the 寄附番号 written on the payment.
        let mut mismatch = String::new();
        if let Some(c) = numbers.iter().find_map(|n| by_number.get(n)) {
            let ambiguous = |note: String| PlannedMatch {
                record: rec.clone(),
                status: payment_status::AMBIGUOUS,
                donation_id: None,
                donation_number: Some(c.donation_number.clone()),
                note,
            };
            if let Some(line) = claimed.get(&c.donation_id) {
                out.push(ambiguous(format!(
                    "寄附番号 {} は同じファイルの{line}行目で入金済になります（二重入金の可能性）",
                    c.donation_number
                )));
                continue;
            }
            if c.payment_status == PaymentStatus::Paid.as_str() {
                out.push(ambiguous(format!(
                    "寄附番号 {} は既に入金済です（二重入金の可能性）",
                    c.donation_number
                )));
                continue;
            }
            if c.payment_status != PaymentStatus::Unpaid.as_str() {
                let label = PaymentStatus::parse(&c.payment_status)
                    .map(|s| s.label_ja())
                    .unwrap_or("対象外");
                out.push(ambiguous(format!(
                    "寄附番号 {} は{label}です",
                    c.donation_number
                )));
                continue;
            }
            if c.amount == Some(rec.amount) {
                claimed.insert(c.donation_id, rec.line);
                out.push(PlannedMatch {
                    record: rec.clone(),
                    status: payment_status::MATCHED,
                    donation_id: Some(c.donation_id),
                    donation_number: Some(c.donation_number.clone()),
                    note: format!("寄附番号 {} と一致", c.donation_number),
                });
                continue;
            }
            mismatch = format!(
                "寄附番号 {} の寄附額（{}）と入金額（{}）が一致しません",
                c.donation_number,
                c.amount.map(yen).unwrap_or_else(|| "未確定".into()),
                yen(rec.amount)
            );
        }
        // Rule 2: same amount, same payer reading, within the date window.
        let key = payer_key(&rec.payer_name);
        let by_kana = if key.is_empty() {
            Vec::new()
        } else {
            let from = rec.paid_on - Duration::days(DATE_WINDOW_DAYS);
            store::payment_candidates(reborrow(&mut ex), tenant, rec.amount, from, rec.paid_on)
                .await?
                .into_iter()
                .filter(|c| payer_key(&c.kana_norm) == key)
                .collect::<Vec<_>>()
        };
        let open: Vec<&PaymentCandidate> = by_kana
            .iter()
            .filter(|c| {
                c.payment_status == PaymentStatus::Unpaid.as_str()
                    && !claimed.contains_key(&c.donation_id)
            })
            .collect();
        let taken: Vec<&PaymentCandidate> = by_kana
            .iter()
            .filter(|c| {
                c.payment_status == PaymentStatus::Paid.as_str()
                    || claimed.contains_key(&c.donation_id)
            })
            .collect();
        let with_mismatch = |note: String| {
            if mismatch.is_empty() {
                note
            } else {
                format!("{mismatch}。{note}")
            }
        };
        let p = match (open.as_slice(), taken.as_slice()) {
            ([one], _) => {
                claimed.insert(one.donation_id, rec.line);
                PlannedMatch {
                    record: rec.clone(),
                    status: payment_status::MATCHED,
                    donation_id: Some(one.donation_id),
                    donation_number: Some(one.donation_number.clone()),
                    note: with_mismatch(format!(
                        "名義・金額・日付から寄附番号 {} と一致",
                        one.donation_number
                    )),
                }
            }
            (many, _) if many.len() > 1 => {
                let list: Vec<&str> = many
                    .iter()
                    .take(5)
                    .map(|c| c.donation_number.as_str())
                    .collect();
                PlannedMatch {
                    record: rec.clone(),
                    status: payment_status::AMBIGUOUS,
                    donation_id: None,
                    donation_number: None,
                    note: with_mismatch(format!(
                        "同じ名義・金額の未入金の寄附が{}件あります（{}{}）",
                        many.len(),
                        list.join("、"),
                        if many.len() > 5 { "…" } else { "" }
                    )),
                }
            }
            (_, [first, ..]) => PlannedMatch {
                record: rec.clone(),
                status: payment_status::AMBIGUOUS,
                donation_id: None,
                donation_number: None,
                note: with_mismatch(match claimed.get(&first.donation_id) {
                    Some(line) => format!(
                        "同じ名義・金額の寄附 {} は同じファイルの{line}行目で入金済になります（二重入金の可能性）",
                        first.donation_number
                    ),
                    None => format!(
                        "同じ名義・金額の寄附 {} は既に入金済です（二重入金の可能性）",
                        first.donation_number
                    ),
                }),
            },
            _ if !mismatch.is_empty() => PlannedMatch {
                record: rec.clone(),
                status: payment_status::AMBIGUOUS,
                donation_id: None,
                donation_number: None,
                note: mismatch.clone(),
            },
            _ => PlannedMatch {
                record: rec.clone(),
                status: payment_status::UNMATCHED,
                donation_id: None,
                donation_number: None,
                note: if key.is_empty() {
                    "寄附番号も振込依頼人名もないため照合できません".into()
                } else {
                    "一致する寄附が見つかりません".into()
                },
            },
        };
        out.push(p);
    }
    Ok(out)
}

/// Plans the matching of records (read-only).
pub async fn match_records(
    db: &Db,
    tenant: MunicipalityId,
    records: &[ParsedRecord],
) -> Result<Vec<PlannedMatch>, DbError> {
    plan_matches(Exec::Db(db), tenant, records).await
}

/// Why a payment action failed. `Display` English, [`PaymentFailure::message_ja`] for screens.
#[derive(Debug, thiserror::Error)]
pub enum PaymentFailure {
    #[error(transparent)]
    File(#[from] PaymentFileError),
    #[error("not found")]
    NotFound,
    #[error("the import is {0}, not awaiting a commit")]
    NotPreviewed(String),
    /// The record is already matched or ignored.
    #[error("the payment record is already {0}")]
    RecordClosed(String),
    /// The donation cannot take this payment (message in Japanese).
    #[error("the donation cannot be marked paid: {0}")]
    Donation(String),
    /// A note is required.
    #[error("a note is required")]
    NoteRequired,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl PaymentFailure {
    pub fn message_ja(&self) -> String {
        match self {
            PaymentFailure::File(e) => e.message_ja(),
            PaymentFailure::NotFound => "データが見つかりません。".into(),
            PaymentFailure::NotPreviewed(s) if s == store::status::COMMITTED => {
                "この入金記録はすでに登録済みです。".into()
            }
            PaymentFailure::NotPreviewed(_) => "この入金記録は登録できない状態です。".into(),
            PaymentFailure::RecordClosed(s) if s == payment_status::MATCHED => {
                "この入金記録はすでに照合済みです。".into()
            }
            PaymentFailure::RecordClosed(_) => "この入金記録は対象外にされています。".into(),
            PaymentFailure::Donation(m) => m.clone(),
            PaymentFailure::NoteRequired => "対象外にする理由を入力してください。".into(),
            PaymentFailure::Db(_) => {
                "システムエラーが発生しました。時間をおいて再度お試しください。".into()
            }
        }
    }
}

/// A preview of a payment file.
#[derive(Clone, Debug)]
pub struct PaymentPreview {
    pub parsed: ParsedPayments,
    pub plan: Vec<PlannedMatch>,
}

impl PaymentPreview {
    pub fn count(&self, status: &str) -> usize {
        self.plan.iter().filter(|p| p.status == status).count()
    }
}

/// The stored profile of a payment import: `payments:` + the columns as JSON.
fn profile_key(cols: &ResolvedColumns) -> String {
    format!(
        "payments:{}",
        serde_json::to_string(cols).unwrap_or_default()
    )
}

/// The columns stored with a payment import (its `profile`).
pub fn columns_of_profile(profile: &str) -> PaymentColumns {
    let cols: Option<ResolvedColumns> = profile
        .strip_prefix("payments:")
        .and_then(|j| serde_json::from_str(j).ok());
    match cols {
        Some(c) => PaymentColumns {
            paid_on: Some(c.paid_on),
            amount: Some(c.amount),
            payer: c.payer,
            reference: c.reference,
        },
        None => PaymentColumns::default(),
    }
}

/// A stored upload and its preview (or why the file could not be read).
#[derive(Debug)]
pub struct StagedPayments {
    pub import_id: Uuid,
    pub preview: Result<PaymentPreview, PaymentFileError>,
}

/// Stores a statement (status previewed) and previews its matching.
pub async fn stage(
    db: &Db,
    tenant: MunicipalityId,
    file_name: &str,
    bytes: &[u8],
    cols: &PaymentColumns,
    actor: &Actor,
) -> Result<StagedPayments, DbError> {
    let preview = match parse(bytes, cols) {
        Ok(parsed) => {
            let plan = match_records(db, tenant, &parsed.records).await?;
            Ok(PaymentPreview { parsed, plan })
        }
        Err(e) => Err(e),
    };
    let (profile, encoding, total, ok, errs, matched, left, errors) = match &preview {
        Ok(p) => (
            profile_key(&p.parsed.columns),
            p.parsed.encoding.as_str(),
            p.parsed.records.len() + p.parsed.errors.len(),
            p.parsed.records.len(),
            p.parsed.errors.len(),
            p.count(payment_status::MATCHED),
            p.plan.len() - p.count(payment_status::MATCHED),
            serde_json::to_string(&p.parsed.errors).unwrap_or_else(|_| "[]".into()),
        ),
        Err(e) => {
            let note = [StoredRowError {
                line: 0,
                column: None,
                message_ja: e.message_ja(),
                warning: false,
            }];
            (
                "payments".to_string(),
                "",
                0,
                0,
                0,
                0,
                0,
                serde_json::to_string(&note).unwrap_or_default(),
            )
        }
    };
    let mut tx = db.begin().await?;
    let id = store::insert(
        &mut tx,
        tenant,
        &NewImport {
            kind: KIND,
            profile: &profile,
            file_name,
            file_bytes: bytes,
            encoding,
            status: if preview.is_ok() {
                store::status::PREVIEWED
            } else {
                store::status::FAILED
            },
            rows_total: total as i64,
            rows_ok: ok as i64,
            rows_error: errs as i64,
            created: ok as i64,
            updated: matched as i64,
            unchanged: left as i64,
            errors: &errors,
            created_by: &actor.login,
        },
    )
    .await?;
    audit::append(
        &mut tx,
        &actor.entry(
            "payments.upload",
            "import",
            id,
            serde_json::json!({"kind": KIND, "bytes": bytes.len(), "sha256": store::sha256_hex(bytes), "records": ok, "errors": errs}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(StagedPayments {
        import_id: id,
        preview,
    })
}

/// What a commit did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PaymentImportOutcome {
    pub import_id: Uuid,
    pub records: usize,
    pub errors: usize,
    pub matched: usize,
    pub ambiguous: usize,
    pub unmatched: usize,
}

/// Commits a previewed statement: stores its records and marks the matched donations paid, in
/// one transaction (matching is done again inside it, so it reflects the ledger at commit time).
pub async fn commit(
    db: &Db,
    tenant: MunicipalityId,
    import_id: Uuid,
    actor: &Actor,
) -> Result<PaymentImportOutcome, PaymentFailure> {
    let import = store::get(db, tenant, import_id)
        .await?
        .ok_or(PaymentFailure::NotFound)?;
    if import.kind != KIND {
        return Err(PaymentFailure::NotFound);
    }
    if import.status != store::status::PREVIEWED {
        return Err(PaymentFailure::NotPreviewed(import.status));
    }
    let (name, bytes) = store::file(db, tenant, import_id)
        .await?
        .ok_or(PaymentFailure::NotFound)?;
    let parsed = parse(&bytes, &columns_of_profile(&import.profile))?;
    let mut tx = db.begin().await?;
    if !store::claim_for_commit(&mut tx, tenant, import_id).await? {
        return Err(PaymentFailure::NotPreviewed("committed".into()));
    }
    let out = write(&mut tx, tenant, import_id, &name, &parsed, actor).await?;
    tx.commit().await?;
    Ok(out)
}

/// Stores and commits a statement in one go (command line).
pub async fn import_now(
    db: &Db,
    tenant: MunicipalityId,
    file_name: &str,
    bytes: &[u8],
    cols: &PaymentColumns,
    actor: &Actor,
) -> Result<PaymentImportOutcome, PaymentFailure> {
    let parsed = parse(bytes, cols)?;
    let mut tx = db.begin().await?;
    let id = store::insert(
        &mut tx,
        tenant,
        &NewImport {
            kind: KIND,
            profile: &profile_key(&parsed.columns),
            file_name,
            file_bytes: bytes,
            encoding: parsed.encoding.as_str(),
            status: store::status::PREVIEWED,
            rows_total: 0,
            rows_ok: 0,
            rows_error: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            errors: "[]",
            created_by: &actor.login,
        },
    )
    .await?;
    let out = write(&mut tx, tenant, id, file_name, &parsed, actor).await?;
    tx.commit().await?;
    Ok(out)
}

async fn write(
    tx: &mut Tx,
    tenant: MunicipalityId,
    import_id: Uuid,
    file_name: &str,
    parsed: &ParsedPayments,
    actor: &Actor,
) -> Result<PaymentImportOutcome, PaymentFailure> {
    let plan = plan_matches(Exec::Tx(&mut *tx), tenant, &parsed.records).await?;
    let now = now_utc();
    let mut rows = Vec::with_capacity(plan.len());
    let mut out = PaymentImportOutcome {
        import_id,
        records: plan.len(),
        errors: parsed.errors.len(),
        ..Default::default()
    };
    let mut plan = plan;
    for p in &mut plan {
        if p.status == payment_status::MATCHED {
            let why = format!("入金記録「{file_name}」{}行目", p.record.line);
            let done = match p.donation_id {
                Some(id) => mark_paid(tx, tenant, id, p.record.paid_on, &actor.login, &why).await?,
                None => false,
            };
            if !done {
                // Paid by someone else between the matching and now: never pay twice.
                p.status = payment_status::AMBIGUOUS;
                p.note = format!("{}（照合中に入金済になったため確認してください）", p.note);
                p.donation_id = None;
            }
        }
        match p.status {
            payment_status::MATCHED => out.matched += 1,
            payment_status::AMBIGUOUS => out.ambiguous += 1,
            _ => out.unmatched += 1,
        }
        rows.push(store::payment_insert_row(
            new_id(),
            tenant,
            &NewPaymentRecord {
                import_id: Some(import_id),
                line: p.record.line as i64,
                paid_on: p.record.paid_on,
                amount: p.record.amount,
                payer_name: p.record.payer_name.clone(),
                payer_kana: p.record.payer_kana.clone(),
                reference: p.record.reference.clone(),
                method: String::new(),
                donation_id: if p.status == payment_status::MATCHED {
                    p.donation_id
                } else {
                    None
                },
                status: p.status.to_string(),
                note: p.note.clone(),
                matched_by: if p.status == payment_status::MATCHED {
                    "auto".into()
                } else {
                    String::new()
                },
            },
            now,
        ));
    }
    furusato_db::dialect::bulk_insert(
        tx,
        "payment_records",
        &store::PAYMENT_INSERT_COLUMNS,
        rows,
        "",
    )
    .await?;
    store::mark_committed(
        tx,
        tenant,
        import_id,
        &ImportOutcome {
            encoding: parsed.encoding.as_str().to_string(),
            rows_total: (parsed.records.len() + parsed.errors.len()) as i64,
            rows_ok: parsed.records.len() as i64,
            rows_error: parsed.errors.len() as i64,
            created: out.records as i64,
            updated: out.matched as i64,
            unchanged: (out.ambiguous + out.unmatched) as i64,
            errors: serde_json::to_string(&parsed.errors).unwrap_or_else(|_| "[]".into()),
        },
    )
    .await?;
    audit::append(
        tx,
        &actor.entry(
            "payments.commit",
            "import",
            import_id,
            serde_json::json!({
                "kind": KIND, "records": out.records, "errors": out.errors, "matched": out.matched,
                "ambiguous": out.ambiguous, "unmatched": out.unmatched,
            }),
        ),
    )
    .await?;
    Ok(out)
}

/// Marks an unpaid donation paid with 受領日 `paid_on`, with its change record. Returns false
/// (and changes nothing) when the donation is not unpaid any more.
async fn mark_paid(
    tx: &mut Tx,
    tenant: MunicipalityId,
    donation_id: Uuid,
    paid_on: Date,
    actor: &str,
    why: &str,
) -> Result<bool, DbError> {
    let paid = PaymentStatus::Paid.as_str();
    if !store::set_payment_if(
        tx,
        tenant,
        donation_id,
        PaymentStatus::Unpaid.as_str(),
        paid,
        Some(paid_on),
    )
    .await?
    {
        return Ok(false);
    }
    source_records::record_change(
        tx,
        tenant,
        donation_id,
        "payments",
        actor,
        &format!("{why}の入金により入金済（受領日 {}）", jst::format_date_ja(paid_on)),
        &serde_json::json!({"payment_status": ["unpaid", "paid"], "received_on": [null, jst::format_date_iso(paid_on)]}),
    )
    .await?;
    Ok(true)
}

/// Links an unmatched or ambiguous record to a donation picked by an operator and marks that
/// donation paid (受領日 = 入金日). The donation must be unpaid: a cancelled one must be restored
/// first, a paid one is never paid twice.
pub async fn manual_match(
    db: &Db,
    tenant: MunicipalityId,
    record_id: Uuid,
    donation_id: Uuid,
    actor: &Actor,
) -> Result<(), PaymentFailure> {
    let mut tx = db.begin().await?;
    let rec = store::payment_record(db, tenant, record_id)
        .await?
        .ok_or(PaymentFailure::NotFound)?;
    if rec.status == payment_status::MATCHED || rec.status == payment_status::IGNORED {
        return Err(PaymentFailure::RecordClosed(rec.status));
    }
    let d = donations::get(db, tenant, donation_id)
        .await?
        .ok_or(PaymentFailure::NotFound)?;
    match PaymentStatus::parse(&d.payment_status) {
        Ok(PaymentStatus::Unpaid) => {}
        Ok(PaymentStatus::Paid) => {
            return Err(PaymentFailure::Donation(format!(
                "寄附番号 {} は既に入金済です。同じ寄附を二重に入金済にはできません。",
                d.donation_number
            )));
        }
        Ok(PaymentStatus::Cancelled) => {
            return Err(PaymentFailure::Donation(format!(
                "寄附番号 {} は取消されています。入金済にするには、先に寄附の入金状況を「未入金」に戻してください。",
                d.donation_number
            )));
        }
        _ => {
            return Err(PaymentFailure::Donation(format!(
                "寄附番号 {} は返金済のため入金済にできません。",
                d.donation_number
            )));
        }
    }
    let mut note = format!("手動照合: 寄附番号 {}", d.donation_number);
    if d.amount != Some(rec.amount) {
        note.push_str(&format!(
            "（入金額 {} / 寄附額 {}）",
            yen(rec.amount),
            d.amount.map(yen).unwrap_or_else(|| "未確定".into())
        ));
    }
    if !mark_paid(
        &mut tx,
        tenant,
        donation_id,
        rec.paid_on,
        &actor.login,
        "手動照合した入金記録",
    )
    .await?
    {
        return Err(PaymentFailure::Donation(format!(
            "寄附番号 {} は既に入金済です。",
            d.donation_number
        )));
    }
    if !store::close_payment_record(
        &mut tx,
        tenant,
        record_id,
        payment_status::MATCHED,
        Some(donation_id),
        &note,
        &actor.login,
    )
    .await?
    {
        return Err(PaymentFailure::RecordClosed(payment_status::MATCHED.into()));
    }
    audit::append(
        &mut tx,
        &actor.entry(
            "payment.match",
            "payment_record",
            record_id,
            serde_json::json!({"donation_id": donation_id, "amount_differs": d.amount != Some(rec.amount)}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets an unmatched or ambiguous record aside with a note (e.g. 「市の別会計への入金」).
pub async fn ignore(
    db: &Db,
    tenant: MunicipalityId,
    record_id: Uuid,
    note: &str,
    actor: &Actor,
) -> Result<(), PaymentFailure> {
    let note = note.trim();
    if note.is_empty() {
        return Err(PaymentFailure::NoteRequired);
    }
    let mut tx = db.begin().await?;
    let rec = store::payment_record(db, tenant, record_id)
        .await?
        .ok_or(PaymentFailure::NotFound)?;
    if rec.status == payment_status::MATCHED || rec.status == payment_status::IGNORED {
        return Err(PaymentFailure::RecordClosed(rec.status));
    }
    if !store::close_payment_record(
        &mut tx,
        tenant,
        record_id,
        payment_status::IGNORED,
        None,
        note,
        &actor.login,
    )
    .await?
    {
        return Err(PaymentFailure::RecordClosed(payment_status::IGNORED.into()));
    }
    audit::append(
        &mut tx,
        &actor.entry(
            "payment.ignore",
            "payment_record",
            record_id,
            serde_json::json!({}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Puts the records matched to `donation_id` back to unmatched (the donation's payment was
/// undone), inside the caller's transaction. Returns how many.
pub async fn release_for_donation(
    tx: &mut Tx,
    tenant: MunicipalityId,
    donation_id: Uuid,
    number: &str,
) -> Result<usize, DbError> {
    let recs = store::matched_records_for_donation(tx, tenant, donation_id).await?;
    for r in &recs {
        let note = format!("寄附番号 {number} の入金を取り消したため未照合に戻しました");
        store::set_payment_match(tx, tenant, r.id, payment_status::UNMATCHED, None, &note, "")
            .await?;
    }
    Ok(recs.len())
}

/// 寄附番号 of donations by id (for showing matched records).
pub async fn donation_numbers_by_id(
    db: &Db,
    tenant: MunicipalityId,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, String>, DbError> {
    Ok(store::donation_numbers(Exec::Db(db), tenant, ids)
        .await?
        .into_iter()
        .collect())
}

/// Records waiting for an operator (unmatched and ambiguous), oldest payment first.
pub async fn open_records(
    db: &Db,
    tenant: MunicipalityId,
    page: u32,
    per_page: u32,
) -> Result<furusato_db::donors::Page<store::PaymentRecord>, DbError> {
    store::payment_records_by_status(
        db,
        tenant,
        &[payment_status::UNMATCHED, payment_status::AMBIGUOUS],
        page,
        per_page,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payer_keys_fold_bank_kana() {
        assert_eq!(payer_key("ﾔﾏﾀﾞ ﾀﾛｳ"), "ヤマダタロウ");
        assert_eq!(payer_key("ｼﾔﾁﾖｳ ｲﾁﾛｳ"), payer_key("シャチョウ　イチロウ"));
        assert_eq!(payer_key("やまだ　たろう"), "ヤマダタロウ");
    }

    #[test]
    fn donation_numbers_are_found_in_text() {
        assert_eq!(
            donation_numbers_in("2026-0000123 ﾔﾏﾀﾞ"),
            vec!["2026-0000123".to_string()]
        );
        assert_eq!(
            donation_numbers_in("２０２６－０００００４５"),
            vec!["2026-0000045".to_string()]
        );
        assert!(donation_numbers_in("ﾔﾏﾀﾞ ﾀﾛｳ").is_empty());
    }

    #[test]
    fn headers_are_guessed_after_title_lines() {
        let csv = "入出金明細,,,\n\n取引日,お預り金額,振込依頼人名,備考\n2026/01/10,\"10,000\",ﾔﾏﾀﾞ ﾀﾛｳ,\n2026/01/11,abc,ｽｽﾞｷ,\n";
        let p = parse(csv.as_bytes(), &PaymentColumns::default()).unwrap();
        assert_eq!(p.columns.paid_on, "取引日");
        assert_eq!(p.columns.amount, "お預り金額");
        assert_eq!(p.columns.payer.as_deref(), Some("振込依頼人名"));
        assert_eq!(p.records.len(), 1);
        assert_eq!(p.records[0].amount, 10_000);
        assert_eq!(p.records[0].line, 4);
        assert_eq!(p.errors[0].message_ja, "金額が正しくありません: abc");
        let none = parse("a,b\n1,2\n".as_bytes(), &PaymentColumns::default()).unwrap_err();
        assert!(none.message_ja().contains("見出し行"));
    }
}
