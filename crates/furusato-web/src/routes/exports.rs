//! CSV exports of the donation list (`/donations/export`) and the donor search
//! (`/donors/export`), with the lists' own query parameters.
//!
//! Flow: the list's export button links here with its filters. Without a reason the page shows a
//! small form (what will be exported, how many rows, the encoding, and a required 利用目的 —
//! the spec's purpose-bound use of personal data); submitting it (GET, same parameters plus
//! `encoding`, `reason`, `confirm=1` and the session's `_csrf`) starts the download. The CSRF
//! token is checked here although the request is a GET: an export writes audit entries in the
//! user's name, and another site must not be able to make a browser do that.
//!
//! The CSV is streamed: a task reads the database cursor and writes chunks into a bounded
//! channel that is the response body (see `furusato_intake::export`), so memory stays flat for
//! a million rows. Audit: `export.started` before the first byte, `export.finished` with the
//! row count at the end, `export.aborted` when the browser goes away or the database fails.
//! Both routes need [`Permission::Export`] (city and operator staff; not partners, not auditors).

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use furusato_db::donations::{self, DonationFilter};
use furusato_db::donors::{self, DonorSearch};
use furusato_domain::{Channel, PaymentStatus, Portal, jst};
use furusato_intake::export::{
    self as csv_export, ChunkSink, Encoding, ExportRequest, ExportTarget, MAX_REASON_CHARS,
};

use crate::access::{Access, Audit, Audited, CurrentUser, Permission, Routes};
use crate::error::{AppError, AppResult};
use crate::page::Layout;
use crate::routes::donations::{DIRECT_LABEL, DonationForm};
use crate::routes::donors::{DonorForm, QueryParams, count_label, page_href};
use crate::state::AppState;

/// Registers the export routes.
pub fn register(r: &mut Routes) {
    let export = Access::Perm(Permission::Export);
    r.add(
        Method::GET,
        "/donations/export",
        export,
        Audit::None,
        "export.donations",
        get(donations_export),
    );
    r.add(
        Method::GET,
        "/donors/export",
        export,
        Audit::None,
        "export.donors",
        get(donors_export),
    );
}

/// Chunks in flight between the database task and the response body (each ≈ 64 KiB).
const CHANNEL_CHUNKS: usize = 4;

/// An encoding choice on the form.
pub struct EncodingOpt {
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// The export form.
#[derive(Template, WebTemplate)]
#[template(path = "exports.html")]
pub struct ExportPage {
    layout: Layout,
    /// Form action (`/donations/export` or `/donors/export`).
    action: &'static str,
    /// Back to the list with the same filters.
    back: String,
    /// The filters as hidden inputs.
    hidden: Vec<(&'static str, String)>,
    /// The filters in words.
    summary: Vec<(String, String)>,
    /// "1,234件" or "10,000件以上", when the filter is valid.
    count: Option<String>,
    encodings: Vec<EncodingOpt>,
    reason: String,
    errors: Vec<String>,
    max_reason: usize,
}

/// The export part of the query: encoding, reason, confirmation and token.
struct Choice {
    encoding: Encoding,
    reason: String,
    confirmed: bool,
    token_ok: bool,
    encoding_error: bool,
}

impl Choice {
    fn from_params(p: &QueryParams, user: &CurrentUser) -> Choice {
        let (encoding, encoding_error) = match p.get("encoding") {
            None => (Encoding::Cp932, false),
            Some(e) => match Encoding::parse(e) {
                Some(e) => (e, false),
                None => (Encoding::Cp932, true),
            },
        };
        Choice {
            encoding,
            reason: p.value("reason"),
            confirmed: p.get("confirm") == Some("1"),
            token_ok: p
                .get("_csrf")
                .is_some_and(|t| same_token(t, &user.csrf_token)),
            encoding_error,
        }
    }

    /// Problems with the submitted form (none before the first submission).
    fn errors(&self) -> Vec<String> {
        let mut e = Vec::new();
        if !self.confirmed {
            return e;
        }
        if self.encoding_error {
            e.push("文字コードの指定が正しくありません。一覧から選んでください。".into());
        }
        if self.reason.trim().is_empty() {
            e.push("利用目的（出力する理由）を入力してください。出力の記録に残ります。".into());
        } else if self.reason.chars().count() > MAX_REASON_CHARS {
            e.push(format!(
                "利用目的は{MAX_REASON_CHARS}文字以内で入力してください。"
            ));
        }
        if !self.token_ok {
            e.push("画面の有効期限が切れました。もう一度「CSVを出力」を押してください。".into());
        }
        e
    }

    fn encodings(&self) -> Vec<EncodingOpt> {
        [Encoding::Cp932, Encoding::Utf8]
            .into_iter()
            .map(|e| EncodingOpt {
                value: e.as_str(),
                label: e.label_ja(),
                checked: e == self.encoding,
            })
            .collect()
    }
}

/// Compares tokens without an early exit.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

// ---------------------------------------------------------------------------------------------
// Donations

fn donation_summary(f: &DonationFilter) -> Vec<(String, String)> {
    let period = match (f.from, f.to) {
        (None, None) => "すべて".to_string(),
        (a, b) => format!(
            "{}〜{}",
            a.map(jst::format_date_ja).unwrap_or_default(),
            b.map(jst::format_date_ja).unwrap_or_default()
        ),
    };
    let portal = match f.portal.as_deref() {
        None => "すべて".to_string(),
        Some("direct") => DIRECT_LABEL.to_string(),
        Some(p) => Portal::parse(p)
            .map(|p| p.label_ja().to_string())
            .unwrap_or_else(|_| p.to_string()),
    };
    let status = f
        .payment_status
        .as_deref()
        .map(|s| {
            PaymentStatus::parse(s)
                .map(|s| s.label_ja())
                .unwrap_or(s)
                .to_string()
        })
        .unwrap_or_else(|| "すべて（取消を含む）".into());
    let channel = f
        .channel
        .as_deref()
        .map(|c| {
            Channel::parse(c)
                .map(|c| c.label_ja())
                .unwrap_or(c)
                .to_string()
        })
        .unwrap_or_else(|| "すべて".into());
    vec![
        ("寄附日".into(), period),
        ("ポータル".into(), portal),
        ("入金状況".into(), status),
        ("受付経路".into(), channel),
    ]
}

/// `GET /donations/export`
pub async fn donations_export(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let p = QueryParams::parse(raw.as_deref());
    let form = DonationForm::from_params(&p);
    let choice = Choice::from_params(&p, &user);
    let params = form.params();
    let mut page = ExportPage {
        layout: Layout::new(&state, &user, "寄附一覧のCSV出力", "/donations").await,
        action: "/donations/export",
        back: page_href("/donations", &params, 1),
        hidden: params
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .cloned()
            .collect(),
        summary: vec![],
        count: None,
        encodings: choice.encodings(),
        reason: choice.reason.clone(),
        errors: choice.errors(),
        max_reason: MAX_REASON_CHARS,
    };
    let filter = match form.to_filter() {
        Ok(f) => f,
        Err(errors) => {
            page.errors = errors;
            return Ok(page.into_response());
        }
    };
    if !choice.confirmed || !page.errors.is_empty() {
        page.summary = donation_summary(&filter);
        let n = donations::list(&state.db, user.tenant, &filter, 1, 1).await?;
        page.count = Some(count_label(n.total, n.total_capped));
        return Ok(page.into_response());
    }
    download(&state, &user, ExportTarget::Donations(filter), choice).await
}

// ---------------------------------------------------------------------------------------------
// Donors

fn donor_summary(f: &DonorForm) -> Vec<(String, String)> {
    let criteria = [
        ("フリガナ", &f.kana),
        ("氏名", &f.name),
        ("郵便番号", &f.postal_code),
        ("電話番号", &f.phone),
        ("寄附番号・ポータル注文番号", &f.donation_number),
    ];
    let given: Vec<(String, String)> = criteria
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), format!("{v}（前方一致）")))
        .collect();
    if given.is_empty() {
        vec![(
            "条件".into(),
            "なし：すべての寄附者（統合済みの寄附者を除く）".into(),
        )]
    } else {
        given
    }
}

/// `GET /donors/export`
pub async fn donors_export(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> AppResult<Response> {
    let p = QueryParams::parse(raw.as_deref());
    let form = DonorForm::from_params(&p);
    let choice = Choice::from_params(&p, &user);
    let params = form.params();
    let mut page = ExportPage {
        layout: Layout::new(&state, &user, "寄附者のCSV出力", "/donors").await,
        action: "/donors/export",
        back: page_href("/donors", &params, 1),
        hidden: params
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .cloned()
            .collect(),
        summary: donor_summary(&form),
        count: None,
        encodings: choice.encodings(),
        reason: choice.reason.clone(),
        errors: choice.errors(),
        max_reason: MAX_REASON_CHARS,
    };
    let search: DonorSearch = match form.to_search() {
        Ok(s) => s,
        Err(errors) => {
            page.errors = errors;
            page.summary = vec![];
            return Ok(page.into_response());
        }
    };
    if !choice.confirmed || !page.errors.is_empty() {
        let n = donors::search(&state.db, user.tenant, &search, 1, 1).await?;
        page.count = Some(count_label(n.total, n.total_capped));
        return Ok(page.into_response());
    }
    download(&state, &user, ExportTarget::Donors(search), choice).await
}

// ---------------------------------------------------------------------------------------------
// The download

/// A [`ChunkSink`] feeding the response body through a bounded channel; a send fails once the
/// browser has gone away (the body, and with it the receiver, is dropped).
struct BodySink(tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>);

impl ChunkSink for BodySink {
    async fn write_chunk(&mut self, chunk: Vec<u8>) -> std::io::Result<()> {
        self.0.send(Ok(Bytes::from(chunk))).await.map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

async fn download(
    state: &AppState,
    user: &CurrentUser,
    target: ExportTarget,
    choice: Choice,
) -> AppResult<Response> {
    let kind = target.kind();
    let request = ExportRequest {
        target,
        encoding: choice.encoding,
        reason: choice.reason,
    };
    let export = csv_export::begin(&state.db, user.tenant, &user.audit("export"), request)
        .await
        .map_err(|e| match e {
            csv_export::ExportError::Db(e) => AppError::Db(e),
            other => AppError::BadRequest(format!("出力を開始できませんでした（{other}）。")),
        })?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(CHANNEL_CHUNKS);
    let db = state.db.clone();
    let export_id = export.id;
    tokio::spawn(async move {
        let mut sink = BodySink(tx);
        if let Err(e) = export.stream(&db, &mut sink).await {
            // Make the download fail visibly instead of ending as a short, valid-looking file.
            if !matches!(e, csv_export::ExportError::Sink(_)) {
                tracing::error!(error = %e, %export_id, "CSV export failed");
                let _ = sink
                    .0
                    .send(Err(std::io::Error::other("the export failed")))
                    .await;
            }
        }
    });
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let now = jst::now_jst();
    let filename = format!(
        "{kind}-{:04}{:02}{:02}-{:02}{:02}.csv",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute()
    );
    let mut resp = Body::from_stream(stream).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(choice.encoding.content_type()),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "abcd"));
    }

    #[test]
    fn donor_summary_names_the_criteria() {
        let all = donor_summary(&DonorForm::default());
        assert_eq!(all.len(), 1);
        assert!(all[0].1.contains("すべての寄附者"));
        let some = donor_summary(&DonorForm {
            kana: "ヤマダ".into(),
            ..Default::default()
        });
        assert_eq!(
            some,
            vec![("フリガナ".to_string(), "ヤマダ（前方一致）".to_string())]
        );
    }
}
