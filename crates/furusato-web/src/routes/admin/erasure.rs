//! `/admin/erasure`: the データ消去報告書 of past `furusato erase` runs (CSV downloads; a PDF form
//! comes with the document stack later) and a dry run of what would be erased today.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use furusato_db::erasure::{self, EraseOptions, ErasureLine};
use furusato_db::{audit, municipalities};
use furusato_domain::jst;
use uuid::Uuid;

use crate::access::{Audited, CurrentUser};
use crate::error::{AppError, AppResult};
use crate::page::{Layout, fmt_count};
use crate::state::AppState;

/// How many past reports the screen lists.
const SHOWN: i64 = 200;

/// One past run.
pub struct ReportRow {
    pub id: Uuid,
    pub executed_at: String,
    pub executed_by: String,
    pub as_of: String,
    pub total: String,
    pub lines: Vec<LineRow>,
}

/// One line of a report (only lines with something erased are listed on screen; the CSV has all).
pub struct LineRow {
    pub class_label: String,
    pub target: String,
    pub count: String,
    pub method: String,
    pub rule: String,
}

fn line_rows(lines: &[ErasureLine], all: bool) -> Vec<LineRow> {
    lines
        .iter()
        .filter(|l| all || l.count > 0)
        .map(|l| LineRow {
            class_label: l.class_label.clone(),
            target: l.target.clone(),
            count: fmt_count(l.count),
            method: l.method.clone(),
            rule: format!("保存期間{}：{}", l.keep, l.criterion),
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "admin_erasure.html")]
pub struct ErasurePage {
    layout: Layout,
    code: String,
    reports: Vec<ReportRow>,
    preview: Option<(String, String, Vec<LineRow>)>,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    preview: Option<(String, String, Vec<LineRow>)>,
) -> AppResult<ErasurePage> {
    let m = municipalities::get(&state.db, user.tenant).await?;
    let reports = erasure::list_reports(&state.db, user.tenant, SHOWN)
        .await?
        .into_iter()
        .map(|r| ReportRow {
            id: r.id,
            executed_at: jst::format_datetime_ja(r.executed_at),
            executed_by: r.executed_by.clone(),
            as_of: r.summary.as_of.clone(),
            total: fmt_count(r.summary.total()),
            lines: line_rows(&r.summary.lines, false),
        })
        .collect();
    Ok(ErasurePage {
        layout: Layout::new(state, user, "データ消去の記録", "/admin/settings").await,
        code: m.code,
        reports,
        preview,
    })
}

pub async fn list(State(state): State<AppState>, user: CurrentUser) -> AppResult<ErasurePage> {
    page(&state, &user, None).await
}

/// Counts what `furusato erase` would remove today (everything runs in a transaction that is
/// rolled back). The preview itself is recorded as `erase.preview`.
pub async fn preview(State(state): State<AppState>, user: CurrentUser) -> AppResult<Response> {
    let opts = EraseOptions {
        as_of: jst::today_jst(),
        dry_run: true,
    };
    let report = erasure::run(&state.db, user.tenant, &opts, &user.audit("erase.preview")).await?;
    let entry = user.audit("erase.preview").detail(serde_json::json!({
        "as_of": report.summary.as_of,
        "total": report.summary.total(),
    }));
    audit::record(&state.db, &entry).await?;
    let summary = (
        jst::format_date_ja(opts.as_of),
        fmt_count(report.summary.total()),
        line_rows(&report.summary.lines, true),
    );
    let mut resp = page(&state, &user, Some(summary)).await?.into_response();
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

/// The report as CSV (UTF-8 with BOM).
pub async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    let report = erasure::get_report(&state.db, user.tenant, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let m = municipalities::get(&state.db, user.tenant).await?;
    let day = jst::to_jst(report.executed_at).date();
    let name = format!(
        "erasure-report-{}-{}.csv",
        jst::format_date_iso(day).replace('-', ""),
        &id.simple().to_string()[..8]
    );
    let body = erasure::report_csv(&report, &m.name);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}
