//! Portal donation CSV imports (`/intake/imports`) and their saved column mappings
//! (`/intake/profiles`, the 取込調整 screen).
//!
//! Upload → preview → commit: the upload stores the file and shows the preview (encoding, row
//! counts, the first rows to be created or updated, every row error with its line and column);
//! 「取り込む」 commits it in one transaction (see `furusato_intake::imports`). Rows with errors stay
//! listed on the import's page and download as a CSV with an added 「エラー内容」 column; the
//! original file downloads from the same page (each download audited).

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use furusato_db::imports::{self as store, Import};
use furusato_domain::{PaymentMethod, Portal, Yen, jst};
use furusato_intake::imports::{
    self as intake, Actor, ImportFailure, ProfileRef, Sample, StoredMapping, StoredRowError,
};
use furusato_portals::csv_import::{
    CanonicalField, ColumnMapping, Profile, SourceEncoding, suggest_mapping,
};

use crate::access::{Access, Audit, Audited, CurrentUser, Permission, Routes};
use crate::error::{AppError, AppResult};
use crate::page::Layout;
use crate::routes::donors::{Pager, QueryParams, lenient_page, page_href, parse_id};
use crate::state::AppState;

/// Registers the import and 取込調整 screens.
pub fn register(r: &mut Routes) {
    let run = Access::Perm(Permission::IntakeRun);
    let settings = Access::Perm(Permission::IntakeSettings);
    let (g, p) = (Method::GET, Method::POST);
    r.add(
        g.clone(),
        "/intake/imports",
        run,
        Audit::None,
        "import.list",
        get(list),
    );
    r.add(
        p.clone(),
        "/intake/imports",
        run,
        Audit::None,
        "import.upload",
        post(upload).layer(DefaultBodyLimit::disable()),
    );
    r.add(
        g.clone(),
        "/intake/imports/{id}",
        run,
        Audit::PersonalView,
        "import.view",
        get(show),
    );
    r.add(
        p.clone(),
        "/intake/imports/{id}/commit",
        run,
        Audit::None,
        "import.commit",
        post(commit),
    );
    r.add(
        p.clone(),
        "/intake/imports/{id}/discard",
        run,
        Audit::None,
        "import.discard",
        post(discard),
    );
    r.add(
        g.clone(),
        "/intake/imports/{id}/file",
        run,
        Audit::PersonalView,
        "import.download",
        get(download),
    );
    r.add(
        g.clone(),
        "/intake/imports/{id}/errors.csv",
        run,
        Audit::PersonalView,
        "import.download_errors",
        get(download_errors),
    );
    r.add(
        g.clone(),
        "/intake/profiles",
        settings,
        Audit::None,
        "csv_profile.list",
        get(profiles),
    );
    r.add(
        p.clone(),
        "/intake/profiles/sample",
        settings,
        Audit::None,
        "csv_profile.sample",
        post(sample).layer(DefaultBodyLimit::disable()),
    );
    r.add(
        p.clone(),
        "/intake/profiles",
        settings,
        Audit::None,
        "csv_profile.save",
        post(save_profile),
    );
    r.add(
        g.clone(),
        "/intake/profiles/{id}",
        settings,
        Audit::None,
        "csv_profile.edit",
        get(edit_profile),
    );
    r.add(
        p.clone(),
        "/intake/profiles/{id}/delete",
        settings,
        Audit::None,
        "csv_profile.delete",
        post(delete_profile),
    );
}

// ---------------------------------------------------------------------------------------------
// Shared helpers (also used by the payment screens)

/// An uploaded form: its text fields and its file.
pub struct Upload {
    pub fields: BTreeMap<String, String>,
    /// (file name, bytes) of the `file` field, when one was chosen.
    pub file: Option<(String, Vec<u8>)>,
}

impl Upload {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(|s| s.trim()).unwrap_or("")
    }
}

/// Reads a multipart upload, refusing files above the configured limit with a Japanese message.
pub async fn read_upload(state: &AppState, mut mp: Multipart) -> Result<Upload, String> {
    let limit = state.settings.max_upload_mb * 1024 * 1024;
    let too_big = || {
        format!(
            "ファイルが大きすぎます（上限 {} MB）。ファイルを分割するか、管理者に上限の変更を依頼してください。",
            state.settings.max_upload_mb
        )
    };
    let mut fields = BTreeMap::new();
    let mut file = None;
    loop {
        let next = mp.next_field().await.map_err(|_| {
            "アップロードを受け取れませんでした。もう一度お試しください。".to_string()
        })?;
        let Some(mut field) = next else { break };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            let file_name = field
                .file_name()
                .map(|n| {
                    n.rsplit(['/', '\\'])
                        .next()
                        .unwrap_or(n)
                        .chars()
                        .take(200)
                        .collect::<String>()
                })
                .unwrap_or_default();
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|_| too_big())? {
                if bytes.len() + chunk.len() > limit {
                    return Err(too_big());
                }
                bytes.extend_from_slice(&chunk);
            }
            if !file_name.is_empty() || !bytes.is_empty() {
                file = Some((
                    if file_name.is_empty() {
                        "upload.csv".into()
                    } else {
                        file_name
                    },
                    bytes,
                ));
            }
        } else {
            let text = field
                .text()
                .await
                .map_err(|_| "アップロードを受け取れませんでした。".to_string())?;
            if text.len() > 10_000 {
                return Err("入力が長すぎます。".into());
            }
            fields.insert(name, text);
        }
    }
    Ok(Upload { fields, file })
}

/// A urlencoded form body as (name, value) pairs, in order (repeated names kept).
pub fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The last value of `name` in a form, trimmed.
pub fn form_value(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

/// An attachment response (file name in RFC 6266 form, ASCII fallback).
pub fn attachment(file_name: &str, content_type: &'static str, bytes: Vec<u8>) -> Response {
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = url::form_urlencoded::byte_serialize(file_name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    let mut resp = (StatusCode::OK, bytes).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// The web user as the actor of an import.
pub fn actor(user: &CurrentUser) -> Actor {
    Actor {
        login: user.user.login.clone(),
        audit: user.audit(""),
    }
}

/// A redirect whose audit entry was written by the handler.
pub fn audited_redirect(to: &str) -> Response {
    let mut resp = Redirect::to(to).into_response();
    resp.extensions_mut().insert(Audited);
    resp
}

pub fn fmt_n(n: i64) -> String {
    Yen::new(n).format_number()
}

/// Bytes as "12.3 KB" / "4.5 MB".
pub fn size_label(bytes: i64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    } else {
        format!("{:.1} KB", bytes as f64 / 1_000.0)
    }
}

/// Status badge of an import: (class, label).
pub fn import_status(status: &str) -> (&'static str, &'static str) {
    match status {
        store::status::PREVIEWED => ("unpaid", "確認待ち"),
        store::status::COMMITTED => ("paid", "取込済"),
        store::status::DISCARDED => ("cancelled", "取消"),
        store::status::FAILED => ("stop", "読込失敗"),
        _ => ("", "処理中"),
    }
}

fn encoding_label(code: &str) -> &'static str {
    match code {
        "utf8" => SourceEncoding::Utf8.label_ja(),
        "utf8_bom" => SourceEncoding::Utf8Bom.label_ja(),
        "cp932" => SourceEncoding::Cp932.label_ja(),
        _ => "—",
    }
}

/// A `<select>` option.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

// ---------------------------------------------------------------------------------------------
// Upload form and history

/// One line of the import history.
pub struct ImportRow {
    pub id: String,
    pub at: String,
    pub file_name: String,
    pub profile: String,
    pub status: (&'static str, &'static str),
    pub rows: String,
    pub created: String,
    pub updated: String,
    pub unchanged: String,
    pub errors: String,
    pub by: String,
}

fn profile_label(key: &str) -> String {
    match ProfileRef::from_key(key) {
        Some(ProfileRef::Choice) => Profile::Choice.label_ja().to_string(),
        Some(ProfileRef::RedHorse { portal: Some(p) }) => {
            format!("{}（{}）", Profile::RedHorse.label_ja(), p.label_ja())
        }
        Some(ProfileRef::RedHorse { portal: None }) => Profile::RedHorse.label_ja().to_string(),
        Some(ProfileRef::Saved { name }) => name,
        None => key.to_string(),
    }
}

impl ImportRow {
    fn of(i: &Import) -> ImportRow {
        ImportRow {
            id: i.id.to_string(),
            at: jst::format_datetime_ja(i.created_at),
            file_name: i.file_name.clone(),
            profile: profile_label(&i.profile),
            status: import_status(&i.status),
            rows: fmt_n(i.rows_total),
            created: fmt_n(i.created),
            updated: fmt_n(i.updated),
            unchanged: fmt_n(i.unchanged),
            errors: fmt_n(i.rows_error),
            by: i.created_by.clone(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "imports.html")]
pub struct ImportsPage {
    layout: Layout,
    profiles: Vec<Choice>,
    portals: Vec<Choice>,
    error: Option<String>,
    rows: Vec<ImportRow>,
    pager: Pager,
    max_mb: usize,
    can_edit_profiles: bool,
}

async fn imports_page(
    state: &AppState,
    user: &CurrentUser,
    page: u32,
    chosen: &str,
    portal: &str,
    error: Option<String>,
) -> AppResult<ImportsPage> {
    let saved = store::profiles(&state.db, user.tenant).await?;
    let mut profiles = vec![
        Choice {
            value: "choice".into(),
            label: "ふるさとチョイス（寄附者CSV）".into(),
            selected: chosen.is_empty() || chosen == "choice",
        },
        Choice {
            value: "redhorse".into(),
            label: "レッドホース形式".into(),
            selected: chosen == "redhorse",
        },
    ];
    for p in &saved {
        let value = format!("profile:{}", p.name);
        let portal_label = Portal::parse(&p.portal)
            .map(|x| x.label_ja())
            .unwrap_or("その他");
        profiles.push(Choice {
            selected: chosen == value,
            value,
            label: format!("{}（{portal_label}・取込調整）", p.name),
        });
    }
    let mut portals = vec![Choice {
        value: String::new(),
        label: "ファイルのポータル列に従う".into(),
        selected: portal.is_empty(),
    }];
    portals.extend(Portal::ALL.iter().map(|p| Choice {
        value: p.as_str().into(),
        label: p.label_ja().into(),
        selected: portal == p.as_str(),
    }));
    let list = store::list(&state.db, user.tenant, intake::KIND, page, 20).await?;
    let pager = Pager::new(&list, "/intake/imports", &[]);
    Ok(ImportsPage {
        layout: Layout::new(state, user, "CSV取込", "/intake").await,
        profiles,
        portals,
        error,
        rows: list.items.iter().map(ImportRow::of).collect(),
        pager,
        max_mb: state.settings.max_upload_mb,
        can_edit_profiles: user.can(Permission::IntakeSettings),
    })
}

/// `GET /intake/imports`
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> AppResult<ImportsPage> {
    let q = QueryParams::parse(raw.as_deref());
    imports_page(&state, &user, lenient_page(&q), "", "", None).await
}

fn profile_ref(value: &str, portal: &str) -> Result<ProfileRef, String> {
    let portal = if portal.is_empty() {
        None
    } else {
        Some(Portal::parse(portal).map_err(|_| {
            "ポータルの指定が正しくありません。一覧から選んでください。".to_string()
        })?)
    };
    match value {
        "choice" => Ok(ProfileRef::Choice),
        "redhorse" => Ok(ProfileRef::RedHorse { portal }),
        v => match v.strip_prefix("profile:") {
            Some(name) if !name.trim().is_empty() => Ok(ProfileRef::Saved {
                name: name.to_string(),
            }),
            _ => Err("取込設定を選んでください。".into()),
        },
    }
}

/// `POST /intake/imports` (multipart: file, profile, portal)
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    mp: Multipart,
) -> AppResult<Response> {
    let upload = match read_upload(&state, mp).await {
        Ok(u) => u,
        Err(msg) => {
            return Ok(imports_page(&state, &user, 1, "", "", Some(msg))
                .await?
                .into_response());
        }
    };
    let (chosen, portal) = (
        upload.field("profile").to_string(),
        upload.field("portal").to_string(),
    );
    let again = |msg: String| imports_page(&state, &user, 1, &chosen, &portal, Some(msg));
    let Some((file_name, bytes)) = upload.file else {
        return Ok(again("ファイルを選んでください。".into())
            .await?
            .into_response());
    };
    if bytes.is_empty() {
        return Ok(again("ファイルが空です。".into()).await?.into_response());
    }
    let reference = match profile_ref(&chosen, &portal) {
        Ok(r) => r,
        Err(msg) => return Ok(again(msg).await?.into_response()),
    };
    let profile = match intake::resolve_profile(&state.db, user.tenant, &reference).await {
        Ok(p) => p,
        Err(e @ (ImportFailure::Db(_) | ImportFailure::Internal(_))) => {
            return Err(AppError::Other(anyhow::anyhow!(e)));
        }
        Err(e) => return Ok(again(e.message_ja()).await?.into_response()),
    };
    let staged = match intake::stage(
        &state.db,
        user.tenant,
        &profile,
        &file_name,
        std::sync::Arc::new(bytes),
        &actor(&user),
    )
    .await
    {
        Ok(s) => s,
        Err(ImportFailure::PortalRequired) => {
            return Ok(again(ImportFailure::PortalRequired.message_ja())
                .await?
                .into_response());
        }
        Err(e) => return Err(AppError::Other(anyhow::anyhow!(e))),
    };
    Ok(audited_redirect(&format!(
        "/intake/imports/{}",
        staged.import_id
    )))
}

// ---------------------------------------------------------------------------------------------
// Import page

/// A sample row of the preview.
pub struct SampleRow {
    pub line: usize,
    pub action: &'static str,
    pub external_id: String,
    pub portal: &'static str,
    pub donated_on: String,
    pub received_on: String,
    pub donor: String,
    pub amount: String,
    pub method: String,
    pub changes: String,
}

impl SampleRow {
    fn of(s: &Sample) -> SampleRow {
        SampleRow {
            line: s.line,
            action: s.action,
            external_id: s.external_id.clone(),
            portal: s.portal,
            donated_on: jst::format_date_ja(s.donated_on),
            received_on: s
                .received_on
                .map(jst::format_date_ja)
                .unwrap_or_else(|| "未入金".into()),
            donor: s.donor_name.clone(),
            amount: Yen::new(s.amount).to_string(),
            method: s.payment_method.clone(),
            changes: s.changes.join("、"),
        }
    }
}

/// A row error as shown.
pub struct ErrorRowView {
    pub line: String,
    pub column: String,
    pub message: String,
}

impl ErrorRowView {
    pub fn of(e: &StoredRowError) -> ErrorRowView {
        ErrorRowView {
            line: if e.line == 0 {
                "—".into()
            } else {
                format!("{}行目", e.line)
            },
            column: e.column.clone().unwrap_or_default(),
            message: e.message_ja.clone(),
        }
    }
}

/// Errors shown per page.
const ERRORS_PER_PAGE: usize = 100;

#[derive(Template, WebTemplate)]
#[template(path = "imports_show.html")]
pub struct ImportPage {
    layout: Layout,
    id: String,
    file_name: String,
    size: String,
    uploaded: String,
    committed: String,
    by: String,
    profile: String,
    encoding: &'static str,
    status: (&'static str, &'static str),
    previewed: bool,
    rows_total: String,
    rows_ok: String,
    rows_error: String,
    created: String,
    updated: String,
    unchanged: String,
    can_commit: bool,
    same_file: Vec<String>,
    samples: Vec<SampleRow>,
    sample_note: String,
    warnings: Vec<ErrorRowView>,
    errors: Vec<ErrorRowView>,
    error_count: usize,
    error_pages: String,
    error_prev: Option<String>,
    error_next: Option<String>,
    error_message: Option<String>,
}

async fn import_page(
    state: &AppState,
    user: &CurrentUser,
    id: uuid::Uuid,
    page: usize,
    notice: Option<String>,
    error_message: Option<String>,
) -> AppResult<ImportPage> {
    let i = store::get(&state.db, user.tenant, id)
        .await?
        .filter(|i| i.kind == intake::KIND)
        .ok_or(AppError::NotFound)?;
    let (errors, warnings) = intake::stored_errors(&i);
    let previewed = i.status == store::status::PREVIEWED;
    let (samples, sample_note) = if previewed {
        match intake::preview_samples(&state.db, user.tenant, &i, 20, 10_000).await {
            Ok(s) if s.is_empty() => (
                Vec::new(),
                "先頭の行に新規・更新の行はありません。".to_string(),
            ),
            Ok(s) => (s.iter().map(SampleRow::of).collect(), String::new()),
            Err(e) => (Vec::new(), e.message_ja()),
        }
    } else {
        (Vec::new(), String::new())
    };
    let same_file = if previewed {
        store::committed_with_sha(&state.db, user.tenant, intake::KIND, &i.file_sha256)
            .await?
            .iter()
            .filter(|x| x.id != i.id)
            .map(|x| jst::format_datetime_ja(x.created_at))
            .collect()
    } else {
        Vec::new()
    };
    let pages = errors.len().div_ceil(ERRORS_PER_PAGE).max(1);
    let page = page.clamp(1, pages);
    let base = format!("/intake/imports/{id}");
    let shown: Vec<ErrorRowView> = errors
        .iter()
        .skip((page - 1) * ERRORS_PER_PAGE)
        .take(ERRORS_PER_PAGE)
        .map(ErrorRowView::of)
        .collect();
    let layout = Layout::new(state, user, format!("CSV取込: {}", i.file_name), "/intake")
        .await
        .with_notice(notice);
    Ok(ImportPage {
        layout,
        id: i.id.to_string(),
        file_name: i.file_name.clone(),
        size: size_label(i.file_size),
        uploaded: jst::format_datetime_ja(i.created_at),
        committed: i
            .committed_at
            .map(jst::format_datetime_ja)
            .unwrap_or_default(),
        by: i.created_by.clone(),
        profile: profile_label(&i.profile),
        encoding: encoding_label(&i.encoding),
        status: import_status(&i.status),
        previewed,
        rows_total: fmt_n(i.rows_total),
        rows_ok: fmt_n(i.rows_ok),
        rows_error: fmt_n(i.rows_error),
        created: fmt_n(i.created),
        updated: fmt_n(i.updated),
        unchanged: fmt_n(i.unchanged),
        can_commit: previewed && i.rows_ok > 0,
        same_file,
        samples,
        sample_note,
        warnings: warnings.iter().map(ErrorRowView::of).collect(),
        error_count: errors.len(),
        error_pages: if pages > 1 {
            format!("{page} / {pages} ページ")
        } else {
            String::new()
        },
        error_prev: (page > 1).then(|| page_href(&base, &[], page as u32 - 1)),
        error_next: (page < pages).then(|| page_href(&base, &[], page as u32 + 1)),
        errors: shown,
        error_message,
    })
}

/// `GET /intake/imports/{id}`
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> AppResult<ImportPage> {
    let id = parse_id(&id)?;
    let q = QueryParams::parse(raw.as_deref());
    let notice = match q.get("notice") {
        Some("committed") => Some("取り込みました。".to_string()),
        Some("discarded") => {
            Some("この取込を取り消しました（寄附は登録されていません）。".to_string())
        }
        _ => None,
    };
    import_page(&state, &user, id, lenient_page(&q) as usize, notice, None).await
}

/// `POST /intake/imports/{id}/commit`
pub async fn commit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    match intake::commit(&state.db, user.tenant, id, &actor(&user)).await {
        Ok(_) => Ok(audited_redirect(&format!(
            "/intake/imports/{id}?notice=committed"
        ))),
        Err(ImportFailure::NotFound) => Err(AppError::NotFound),
        Err(e @ (ImportFailure::Db(_) | ImportFailure::Internal(_))) => {
            Err(AppError::Other(anyhow::anyhow!(e)))
        }
        Err(e) => {
            let mut resp = import_page(&state, &user, id, 1, None, Some(e.message_ja()))
                .await?
                .into_response();
            *resp.status_mut() = StatusCode::CONFLICT;
            Ok(resp)
        }
    }
}

/// `POST /intake/imports/{id}/discard`
pub async fn discard(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    match intake::discard(&state.db, user.tenant, id, &actor(&user)).await {
        Ok(()) => Ok(audited_redirect(&format!(
            "/intake/imports/{id}?notice=discarded"
        ))),
        Err(ImportFailure::NotFound) => Err(AppError::NotFound),
        Err(e @ ImportFailure::NotPreviewed(_)) => Err(AppError::Conflict(e.message_ja())),
        Err(e) => Err(AppError::Other(anyhow::anyhow!(e))),
    }
}

/// `GET /intake/imports/{id}/file`: the original file as uploaded.
pub async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let (name, bytes) = store::file(&state.db, user.tenant, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(attachment(&name, "text/csv", bytes))
}

/// `GET /intake/imports/{id}/errors.csv`: the rows that could not be imported.
pub async fn download_errors(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    match intake::failed_rows_csv(&state.db, user.tenant, id).await {
        Ok((name, bytes, _)) => Ok(attachment(&name, "text/csv", bytes)),
        Err(ImportFailure::NotFound) => Err(AppError::NotFound),
        Err(e @ (ImportFailure::Db(_) | ImportFailure::Internal(_))) => {
            Err(AppError::Other(anyhow::anyhow!(e)))
        }
        Err(e) => Err(AppError::Conflict(e.message_ja())),
    }
}

// ---------------------------------------------------------------------------------------------
// 取込調整: saved column mappings

pub struct ProfileRow {
    pub id: String,
    pub name: String,
    pub portal: String,
    pub fields: usize,
    pub updated: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "imports_profiles.html")]
pub struct ProfilesPage {
    layout: Layout,
    rows: Vec<ProfileRow>,
    error: Option<String>,
    max_mb: usize,
}

async fn profiles_page(
    state: &AppState,
    user: &CurrentUser,
    notice: Option<String>,
    error: Option<String>,
) -> AppResult<ProfilesPage> {
    let saved = store::profiles(&state.db, user.tenant).await?;
    let rows = saved
        .iter()
        .map(|p| ProfileRow {
            id: p.id.to_string(),
            name: p.name.clone(),
            portal: Portal::parse(&p.portal)
                .map(|x| x.label_ja().to_string())
                .unwrap_or_else(|_| p.portal.clone()),
            fields: StoredMapping::from_json(&p.mapping)
                .map(|m| m.mapping.columns.len())
                .unwrap_or(0),
            updated: jst::format_datetime_ja(p.updated_at),
        })
        .collect();
    Ok(ProfilesPage {
        layout: Layout::new(state, user, "取込調整（CSVの列の対応づけ）", "/intake")
            .await
            .with_notice(notice),
        rows,
        error,
        max_mb: state.settings.max_upload_mb,
    })
}

/// `GET /intake/profiles`
pub async fn profiles(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> AppResult<ProfilesPage> {
    let q = QueryParams::parse(raw.as_deref());
    let notice = match q.get("notice") {
        Some("saved") => Some("取込設定を保存しました。CSV取込の画面と `furusato import csv --profile 名前` で使えます。".to_string()),
        Some("deleted") => Some("取込設定を削除しました。".to_string()),
        _ => None,
    };
    profiles_page(&state, &user, notice, None).await
}

/// One field of the mapping editor.
pub struct FieldRow {
    pub id: &'static str,
    pub label: &'static str,
    pub required: bool,
    pub options: Vec<Choice>,
}

/// One "元の値 → 意味" row of a value map.
pub struct ValueRow {
    pub from: String,
    pub options: Vec<Choice>,
}

/// The value map editor of one field.
pub struct ValueMapBlock {
    pub id: &'static str,
    pub label: &'static str,
    pub rows: Vec<ValueRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "imports_profile_edit.html")]
pub struct ProfileEditPage {
    layout: Layout,
    profile_id: String,
    name: String,
    portals: Vec<Choice>,
    encodings: Vec<Choice>,
    header_row: String,
    date_format: String,
    headers: Vec<String>,
    fields: Vec<FieldRow>,
    value_maps: Vec<ValueMapBlock>,
    problems: Vec<String>,
    sample_name: String,
}

fn is_required(f: CanonicalField) -> bool {
    matches!(
        f,
        CanonicalField::ExternalId
            | CanonicalField::AppliedOn
            | CanonicalField::Amount
            | CanonicalField::DonorName
    )
}

/// Fields whose values may be translated ("元の値 → 意味").
fn value_map_fields() -> Vec<CanonicalField> {
    let mut v: Vec<CanonicalField> = vec![CanonicalField::PaymentMethod];
    v.extend(CanonicalField::ALL.iter().copied().filter(|f| f.is_flag()));
    v
}

fn value_options(field: CanonicalField, selected: &str) -> Vec<Choice> {
    let mut out = vec![Choice {
        value: String::new(),
        label: "（選択）".into(),
        selected: selected.is_empty(),
    }];
    if field == CanonicalField::PaymentMethod {
        out.extend(PaymentMethod::ALL.iter().map(|m| Choice {
            value: m.label_ja().into(),
            label: m.label_ja().into(),
            selected: selected == m.label_ja() || selected == m.as_str(),
        }));
    } else {
        let yes = furusato_portals::csv_import::parse_flag(field, selected);
        out.push(Choice {
            value: "はい".into(),
            label: "はい".into(),
            selected: !selected.is_empty() && yes == Some(true),
        });
        out.push(Choice {
            value: "いいえ".into(),
            label: "いいえ".into(),
            selected: !selected.is_empty() && yes == Some(false),
        });
    }
    out
}

#[allow(clippy::too_many_arguments)]
async fn editor(
    state: &AppState,
    user: &CurrentUser,
    profile_id: Option<uuid::Uuid>,
    portal: &str,
    mapping: &ColumnMapping,
    headers: &[String],
    problems: Vec<String>,
    sample_name: &str,
) -> AppResult<ProfileEditPage> {
    let title = if profile_id.is_some() {
        "取込設定の編集"
    } else {
        "取込設定の作成"
    };
    let mut header_list: Vec<String> = headers.to_vec();
    // Headers of the mapping that the sample does not have stay selectable (and are reported).
    for h in mapping.columns.values() {
        if !h.trim().is_empty() && !header_list.contains(h) {
            header_list.push(h.clone());
        }
    }
    let fields = CanonicalField::ALL
        .iter()
        .map(|f| {
            let current = mapping.columns.get(f).map(String::as_str).unwrap_or("");
            let mut options = vec![Choice {
                value: String::new(),
                label: "（割り当てなし）".into(),
                selected: current.is_empty(),
            }];
            options.extend(header_list.iter().map(|h| Choice {
                value: h.clone(),
                label: h.clone(),
                selected: h == current,
            }));
            FieldRow {
                id: f.as_str(),
                label: f.label_ja(),
                required: is_required(*f),
                options,
            }
        })
        .collect();
    let value_maps = value_map_fields()
        .into_iter()
        .map(|f| {
            let mut rows: Vec<ValueRow> = mapping
                .value_maps
                .get(&f)
                .map(|m| {
                    m.iter()
                        .map(|(from, to)| ValueRow {
                            from: from.clone(),
                            options: value_options(f, to),
                        })
                        .collect()
                })
                .unwrap_or_default();
            for _ in 0..2 {
                rows.push(ValueRow {
                    from: String::new(),
                    options: value_options(f, ""),
                });
            }
            ValueMapBlock {
                id: f.as_str(),
                label: f.label_ja(),
                rows,
            }
        })
        .collect();
    let portals = Portal::ALL
        .iter()
        .filter(|p| **p != Portal::Rakuten)
        .map(|p| Choice {
            value: p.as_str().into(),
            label: p.label_ja().into(),
            selected: portal == p.as_str(),
        })
        .collect();
    let enc = mapping.encoding.map(|e| e.as_str()).unwrap_or("");
    let encodings = [
        ("", "自動判定"),
        ("cp932", "Shift_JIS（CP932）"),
        ("utf8", "UTF-8"),
        ("utf8_bom", "UTF-8（BOM付き）"),
    ]
    .iter()
    .map(|(v, l)| Choice {
        value: (*v).into(),
        label: (*l).into(),
        selected: enc == *v,
    })
    .collect();
    Ok(ProfileEditPage {
        layout: Layout::new(state, user, title, "/intake").await,
        profile_id: profile_id.map(|i| i.to_string()).unwrap_or_default(),
        name: mapping.name.clone(),
        portals,
        encodings,
        header_row: mapping.header_row.to_string(),
        date_format: mapping.date_format.clone().unwrap_or_default(),
        headers: headers.to_vec(),
        fields,
        value_maps,
        problems,
        sample_name: sample_name.to_string(),
    })
}

/// `POST /intake/profiles/sample` (multipart: file, header_row): the editor with the sample's
/// headers and suggested columns.
pub async fn sample(
    State(state): State<AppState>,
    user: CurrentUser,
    mp: Multipart,
) -> AppResult<Response> {
    let upload = match read_upload(&state, mp).await {
        Ok(u) => u,
        Err(msg) => {
            return Ok(profiles_page(&state, &user, None, Some(msg))
                .await?
                .into_response());
        }
    };
    let header_row: usize = upload
        .field("header_row")
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .unwrap_or(1);
    let Some((file_name, bytes)) = upload.file else {
        return Ok(profiles_page(
            &state,
            &user,
            None,
            Some("見本のCSVファイルを選んでください。".into()),
        )
        .await?
        .into_response());
    };
    let headers = match sample_headers(&bytes, header_row) {
        Ok(h) => h,
        Err(msg) => {
            return Ok(profiles_page(&state, &user, None, Some(msg))
                .await?
                .into_response());
        }
    };
    let mut mapping = suggest_mapping(&headers);
    mapping.header_row = header_row;
    Ok(editor(
        &state,
        &user,
        None,
        Portal::Other.as_str(),
        &mapping,
        &headers,
        Vec::new(),
        &file_name,
    )
    .await?
    .into_response())
}

/// The header names of a sample file at line `header_row`.
fn sample_headers(bytes: &[u8], header_row: usize) -> Result<Vec<String>, String> {
    let mut rows = furusato_portals::csv_import::open_reader(bytes)
        .map_err(|_| "ファイルを読み込めませんでした。".to_string())?;
    loop {
        match rows.read_row() {
            Ok(Some(row)) if row.line >= header_row && !row.is_blank() => {
                let mut headers: Vec<String> = row
                    .iter()
                    .map(|h| h.trim().trim_start_matches('\u{FEFF}').to_string())
                    .collect();
                while headers.last().is_some_and(String::is_empty) {
                    headers.pop();
                }
                return Ok(headers);
            }
            Ok(Some(_)) => continue,
            Ok(None) => return Err(format!("{header_row}行目以降に見出し行が見つかりません。")),
            Err(_) => return Err("ファイルを読み込めませんでした。".into()),
        }
    }
}

/// Reads the editor form into (profile id, portal, mapping, sample headers).
fn read_editor(
    pairs: &[(String, String)],
) -> (
    Option<uuid::Uuid>,
    String,
    ColumnMapping,
    Vec<String>,
    String,
) {
    let mut m = ColumnMapping::new(form_value(pairs, "name"));
    m.header_row = form_value(pairs, "header_row").parse().unwrap_or(0);
    m.encoding = form_value(pairs, "encoding").parse().ok();
    let df = form_value(pairs, "date_format");
    m.date_format = (!df.is_empty()).then_some(df);
    for f in CanonicalField::ALL {
        let v = form_value(pairs, &format!("col_{}", f.as_str()));
        if !v.is_empty() {
            m.columns.insert(*f, v);
        }
    }
    for f in value_map_fields() {
        let froms: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| *k == format!("vm_{}_from", f.as_str()))
            .map(|(_, v)| v.trim())
            .collect();
        let tos: Vec<&str> = pairs
            .iter()
            .filter(|(k, _)| *k == format!("vm_{}_to", f.as_str()))
            .map(|(_, v)| v.trim())
            .collect();
        for (from, to) in froms.into_iter().zip(tos) {
            if !from.is_empty() && !to.is_empty() {
                m.value_maps
                    .entry(f)
                    .or_default()
                    .insert(from.to_string(), to.to_string());
            }
        }
    }
    let headers: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "header")
        .map(|(_, v)| v.clone())
        .collect();
    let id = uuid::Uuid::parse_str(&form_value(pairs, "profile_id")).ok();
    (
        id,
        form_value(pairs, "portal"),
        m,
        headers,
        form_value(pairs, "sample_name"),
    )
}

/// `POST /intake/profiles`: validates and saves (new, or the profile named by `profile_id`).
pub async fn save_profile(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Bytes,
) -> AppResult<Response> {
    let pairs = form_pairs(&body);
    let (id, portal, mapping, headers, sample_name) = read_editor(&pairs);
    let mut problems: Vec<String> = Vec::new();
    let name = mapping.name.trim().to_string();
    if name.is_empty() {
        problems.push("取込設定の名前を入力してください。".into());
    } else if Profile::builtin(&name).is_some() {
        problems.push(format!(
            "「{name}」は組み込みの取込設定の名前のため使えません。別の名前にしてください。"
        ));
    } else if name.chars().count() > 50 {
        problems.push("名前は50文字以内で入力してください。".into());
    }
    let portal_ok = Portal::parse(&portal).ok();
    if portal_ok.is_none() {
        problems.push("ポータルを選んでください。".into());
    }
    let check_headers: Vec<String> = if headers.is_empty() {
        mapping.columns.values().cloned().collect()
    } else {
        headers.clone()
    };
    problems.extend(
        mapping
            .validate(&check_headers)
            .into_iter()
            .map(|p| p.message_ja),
    );
    if !problems.is_empty() {
        let mut page = editor(
            &state,
            &user,
            id,
            &portal,
            &mapping,
            &headers,
            problems,
            &sample_name,
        )
        .await?
        .into_response();
        *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return Ok(page);
    }
    let mut mapping = mapping;
    mapping.name = name.clone();
    let stored = StoredMapping {
        mapping: mapping.clone(),
        sample_headers: headers.clone(),
    };
    let json = stored.to_json();
    let portal_code = portal_ok.map(|p| p.as_str()).unwrap_or("other");
    let mut tx = state.db.begin().await?;
    let saved = match id {
        Some(id) => store::update_profile(&mut tx, user.tenant, id, &name, portal_code, &json)
            .await
            .map(|_| id),
        None => store::insert_profile(&mut tx, user.tenant, &name, portal_code, &json).await,
    };
    let saved_id = match saved {
        Ok(i) => i,
        Err(furusato_db::DbError::Conflict(_)) => {
            drop(tx);
            let problems = vec![format!(
                "「{name}」という名前の取込設定はすでにあります。別の名前にしてください。"
            )];
            let mut page = editor(
                &state,
                &user,
                id,
                &portal,
                &mapping,
                &headers,
                problems,
                &sample_name,
            )
            .await?
            .into_response();
            *page.status_mut() = StatusCode::CONFLICT;
            return Ok(page);
        }
        Err(e) => return Err(e.into()),
    };
    let entry = user
        .audit(if id.is_some() {
            "csv_profile.update"
        } else {
            "csv_profile.create"
        })
        .target("csv_profile", saved_id)
        .detail(serde_json::json!({"portal": portal_code, "fields": mapping.columns.len()}));
    furusato_db::audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(audited_redirect("/intake/profiles?notice=saved"))
}

/// `GET /intake/profiles/{id}`
pub async fn edit_profile(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<ProfileEditPage> {
    let id = parse_id(&id)?;
    let p = store::profile(&state.db, user.tenant, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (stored, portal) = furusato_intake::imports::profile::saved_profile(&p)
        .map_err(|e| AppError::Conflict(e.message_ja()))?;
    let mut mapping = stored.mapping;
    mapping.name = p.name.clone();
    editor(
        &state,
        &user,
        Some(id),
        portal.as_str(),
        &mapping,
        &stored.sample_headers,
        Vec::new(),
        "",
    )
    .await
}

/// `POST /intake/profiles/{id}/delete`
pub async fn delete_profile(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let mut tx = state.db.begin().await?;
    store::delete_profile(&mut tx, user.tenant, id).await?;
    furusato_db::audit::append(
        &mut tx,
        &user.audit("csv_profile.delete").target("csv_profile", id),
    )
    .await?;
    tx.commit().await?;
    Ok(audited_redirect("/intake/profiles?notice=deleted"))
}
