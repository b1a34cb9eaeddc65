//! Payment records (`/intake/payments`): bank / 郵便振替 statements uploaded, previewed and
//! matched to donations, and the list of records waiting for an operator (manual match or
//! ignore). The matching rules are in `furusato_intake::payments`.

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, RawQuery, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use furusato_db::imports::{self as store, PaymentRecord, payment_status};
use furusato_domain::{Yen, jst};
use furusato_intake::payments::{self, PaymentColumns, PaymentFailure, PlannedMatch};

use crate::access::{Access, Audit, CurrentUser, Permission, Routes};
use crate::error::{AppError, AppResult};
use crate::page::Layout;
use crate::routes::donations::{StatusBadge, status_badge};
use crate::routes::donors::{Pager, QueryParams, lenient_page, parse_id};
use crate::routes::imports::{
    ErrorRowView, actor, audited_redirect, fmt_n, form_pairs, form_value, import_status,
    read_upload, size_label,
};
use crate::state::AppState;

/// Registers the payment screens.
pub fn register(r: &mut Routes) {
    let run = Access::Perm(Permission::IntakeRun);
    let (g, p) = (Method::GET, Method::POST);
    r.add(
        g.clone(),
        "/intake/payments",
        run,
        Audit::None,
        "payments.list",
        get(list),
    );
    r.add(
        p.clone(),
        "/intake/payments",
        run,
        Audit::None,
        "payments.upload",
        post(upload).layer(DefaultBodyLimit::disable()),
    );
    r.add(
        g.clone(),
        "/intake/payments/records",
        run,
        Audit::PersonalView,
        "payment_record.list",
        get(records),
    );
    r.add(
        g.clone(),
        "/intake/payments/records/{id}",
        run,
        Audit::PersonalView,
        "payment_record.view",
        get(record),
    );
    r.add(
        p.clone(),
        "/intake/payments/records/{id}/match",
        run,
        Audit::None,
        "payment_record.match",
        post(match_record),
    );
    r.add(
        p.clone(),
        "/intake/payments/records/{id}/ignore",
        run,
        Audit::None,
        "payment_record.ignore",
        post(ignore_record),
    );
    r.add(
        g.clone(),
        "/intake/payments/{id}",
        run,
        Audit::PersonalView,
        "payments.view",
        get(show),
    );
    r.add(
        p.clone(),
        "/intake/payments/{id}/commit",
        run,
        Audit::None,
        "payments.commit",
        post(commit),
    );
}

fn status_label(s: &str) -> (&'static str, &'static str) {
    match s {
        payment_status::MATCHED => ("paid", "照合済"),
        payment_status::AMBIGUOUS => ("unpaid", "要確認"),
        payment_status::IGNORED => ("cancelled", "対象外"),
        _ => ("stop", "未照合"),
    }
}

/// One record as shown.
pub struct RecordRow {
    pub id: String,
    pub line: i64,
    pub paid_on: String,
    pub amount: String,
    pub payer: String,
    pub reference: String,
    pub status: (&'static str, &'static str),
    pub donation: String,
    pub donation_id: String,
    pub note: String,
}

impl RecordRow {
    fn of_planned(p: &PlannedMatch) -> RecordRow {
        RecordRow {
            id: String::new(),
            line: p.record.line as i64,
            paid_on: jst::format_date_ja(p.record.paid_on),
            amount: Yen::new(p.record.amount).to_string(),
            payer: p.record.payer_name.clone(),
            reference: p.record.reference.clone(),
            status: status_label(p.status),
            donation: p.donation_number.clone().unwrap_or_default(),
            donation_id: p.donation_id.map(|d| d.to_string()).unwrap_or_default(),
            note: p.note.clone(),
        }
    }

    fn of_stored(r: &PaymentRecord) -> RecordRow {
        RecordRow {
            id: r.id.to_string(),
            line: r.line,
            paid_on: jst::format_date_ja(r.paid_on),
            amount: Yen::new(r.amount).to_string(),
            payer: r.payer_name.clone(),
            reference: r.reference.clone(),
            status: status_label(&r.status),
            donation: String::new(),
            donation_id: r.donation_id.map(|d| d.to_string()).unwrap_or_default(),
            note: r.note.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Upload and history

pub struct ImportLine {
    pub id: String,
    pub at: String,
    pub file_name: String,
    pub status: (&'static str, &'static str),
    pub records: String,
    pub matched: String,
    pub left: String,
    pub errors: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "payments.html")]
pub struct PaymentsPage {
    layout: Layout,
    error: Option<String>,
    cols: PaymentColumns,
    imports: Vec<ImportLine>,
    pager: Pager,
    open: i64,
    max_mb: usize,
}

async fn payments_page(
    state: &AppState,
    user: &CurrentUser,
    page: u32,
    cols: PaymentColumns,
    error: Option<String>,
) -> AppResult<PaymentsPage> {
    let list = store::list(&state.db, user.tenant, payments::KIND, page, 20).await?;
    let open = payments::open_records(&state.db, user.tenant, 1, 1)
        .await?
        .total;
    Ok(PaymentsPage {
        layout: Layout::new(state, user, "入金消込", "/intake").await,
        error,
        cols,
        imports: list
            .items
            .iter()
            .map(|i| ImportLine {
                id: i.id.to_string(),
                at: jst::format_datetime_ja(i.created_at),
                file_name: i.file_name.clone(),
                status: import_status(&i.status),
                records: fmt_n(i.created),
                matched: fmt_n(i.updated),
                left: fmt_n(i.unchanged),
                errors: fmt_n(i.rows_error),
            })
            .collect(),
        pager: Pager::new(&list, "/intake/payments", &[]),
        open,
        max_mb: state.settings.max_upload_mb,
    })
}

/// `GET /intake/payments`
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> AppResult<PaymentsPage> {
    let q = QueryParams::parse(raw.as_deref());
    payments_page(
        &state,
        &user,
        lenient_page(&q),
        PaymentColumns::default(),
        None,
    )
    .await
}

fn opt(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.trim().to_string())
}

/// `POST /intake/payments` (multipart: file, and optionally the four column names)
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    mp: Multipart,
) -> AppResult<Response> {
    let upload = match read_upload(&state, mp).await {
        Ok(u) => u,
        Err(msg) => {
            return Ok(
                payments_page(&state, &user, 1, PaymentColumns::default(), Some(msg))
                    .await?
                    .into_response(),
            );
        }
    };
    let cols = PaymentColumns {
        paid_on: opt(upload.field("col_paid_on")),
        amount: opt(upload.field("col_amount")),
        payer: opt(upload.field("col_payer")),
        reference: opt(upload.field("col_reference")),
    };
    let Some((file_name, bytes)) = upload.file.filter(|(_, b)| !b.is_empty()) else {
        return Ok(payments_page(
            &state,
            &user,
            1,
            cols,
            Some("ファイルを選んでください。".into()),
        )
        .await?
        .into_response());
    };
    if let Err(e) = payments::parse(&bytes, &cols) {
        return Ok(payments_page(&state, &user, 1, cols, Some(e.message_ja()))
            .await?
            .into_response());
    }
    let staged = payments::stage(
        &state.db,
        user.tenant,
        &file_name,
        &bytes,
        &cols,
        &actor(&user),
    )
    .await?;
    Ok(audited_redirect(&format!(
        "/intake/payments/{}",
        staged.import_id
    )))
}

// ---------------------------------------------------------------------------------------------
// One payment file

#[derive(Template, WebTemplate)]
#[template(path = "payments_show.html")]
pub struct PaymentImportPage {
    layout: Layout,
    id: String,
    file_name: String,
    size: String,
    uploaded: String,
    by: String,
    status: (&'static str, &'static str),
    previewed: bool,
    columns: String,
    rows: Vec<RecordRow>,
    matched: usize,
    ambiguous: usize,
    unmatched: usize,
    errors: Vec<ErrorRowView>,
    error_message: Option<String>,
}

async fn import_page(
    state: &AppState,
    user: &CurrentUser,
    id: uuid::Uuid,
    notice: Option<String>,
    error_message: Option<String>,
) -> AppResult<PaymentImportPage> {
    let i = store::get(&state.db, user.tenant, id)
        .await?
        .filter(|i| i.kind == payments::KIND)
        .ok_or(AppError::NotFound)?;
    let previewed = i.status == store::status::PREVIEWED;
    let (rows, columns, errors) = if previewed {
        let (_, bytes) = store::file(&state.db, user.tenant, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let cols = payments::columns_of_profile(&i.profile);
        match payments::parse(&bytes, &cols) {
            Ok(parsed) => {
                let plan = payments::match_records(&state.db, user.tenant, &parsed.records).await?;
                let c = &parsed.columns;
                (
                    plan.iter().map(RecordRow::of_planned).collect::<Vec<_>>(),
                    format!(
                        "入金日 = {}、金額 = {}、振込依頼人名 = {}、参照番号 = {}",
                        c.paid_on,
                        c.amount,
                        c.payer.as_deref().unwrap_or("（なし）"),
                        c.reference.as_deref().unwrap_or("（なし）")
                    ),
                    parsed.errors.iter().map(ErrorRowView::of).collect(),
                )
            }
            Err(e) => (
                Vec::new(),
                String::new(),
                vec![ErrorRowView {
                    line: "—".into(),
                    column: String::new(),
                    message: e.message_ja(),
                }],
            ),
        }
    } else {
        let stored = store::payment_records_of_import(&state.db, user.tenant, id).await?;
        let errs: Vec<furusato_intake::imports::StoredRowError> =
            serde_json::from_str(&i.errors).unwrap_or_default();
        let mut rows: Vec<RecordRow> = stored.iter().map(RecordRow::of_stored).collect();
        let ids: Vec<uuid::Uuid> = stored.iter().filter_map(|r| r.donation_id).collect();
        if !ids.is_empty() {
            let numbers = payments::donation_numbers_by_id(&state.db, user.tenant, &ids).await?;
            for r in rows.iter_mut() {
                if let Some(n) = uuid::Uuid::parse_str(&r.donation_id)
                    .ok()
                    .and_then(|d| numbers.get(&d))
                {
                    r.donation = n.clone();
                }
            }
        }
        (
            rows,
            String::new(),
            errs.iter().map(ErrorRowView::of).collect(),
        )
    };
    let count = |s: (&str, &str)| rows.iter().filter(|r| r.status == s).count();
    let (matched, ambiguous, unmatched) = (
        count(status_label(payment_status::MATCHED)),
        count(status_label(payment_status::AMBIGUOUS)),
        count(status_label(payment_status::UNMATCHED)),
    );
    Ok(PaymentImportPage {
        layout: Layout::new(state, user, format!("入金記録: {}", i.file_name), "/intake")
            .await
            .with_notice(notice),
        id: i.id.to_string(),
        file_name: i.file_name.clone(),
        size: size_label(i.file_size),
        uploaded: jst::format_datetime_ja(i.created_at),
        by: i.created_by.clone(),
        status: import_status(&i.status),
        previewed,
        columns,
        rows,
        matched,
        ambiguous,
        unmatched,
        errors,
        error_message,
    })
}

/// `GET /intake/payments/{id}`
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> AppResult<PaymentImportPage> {
    let id = parse_id(&id)?;
    let q = QueryParams::parse(raw.as_deref());
    let notice = (q.get("notice") == Some("committed"))
        .then(|| "入金記録を登録し、照合できた寄附を入金済にしました。".to_string());
    import_page(&state, &user, id, notice, None).await
}

/// `POST /intake/payments/{id}/commit`
pub async fn commit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    match payments::commit(&state.db, user.tenant, id, &actor(&user)).await {
        Ok(_) => Ok(audited_redirect(&format!(
            "/intake/payments/{id}?notice=committed"
        ))),
        Err(PaymentFailure::NotFound) => Err(AppError::NotFound),
        Err(PaymentFailure::Db(e)) => Err(e.into()),
        Err(e) => {
            let mut resp = import_page(&state, &user, id, None, Some(e.message_ja()))
                .await?
                .into_response();
            *resp.status_mut() = StatusCode::CONFLICT;
            Ok(resp)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Records waiting for an operator

#[derive(Template, WebTemplate)]
#[template(path = "payments_records.html")]
pub struct RecordsPage {
    layout: Layout,
    rows: Vec<RecordRow>,
    pager: Pager,
}

/// `GET /intake/payments/records`: unmatched and ambiguous records.
pub async fn records(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> AppResult<RecordsPage> {
    let q = QueryParams::parse(raw.as_deref());
    let page = payments::open_records(&state.db, user.tenant, lenient_page(&q), 50).await?;
    let notice = match q.get("notice") {
        Some("matched") => Some("照合して寄附を入金済にしました。".to_string()),
        Some("ignored") => Some("入金記録を対象外にしました。".to_string()),
        _ => None,
    };
    Ok(RecordsPage {
        layout: Layout::new(&state, &user, "未照合の入金記録", "/intake")
            .await
            .with_notice(notice),
        rows: page.items.iter().map(RecordRow::of_stored).collect(),
        pager: Pager::new(&page, "/intake/payments/records", &[]),
    })
}

/// A donation offered for a manual match.
pub struct CandidateRow {
    pub id: String,
    pub number: String,
    pub donated_on: String,
    pub amount: String,
    pub donor: String,
    pub kana: String,
    pub status: StatusBadge,
    pub open: bool,
    pub same_amount: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "payments_record.html")]
pub struct RecordPage {
    layout: Layout,
    r: RecordRow,
    is_open: bool,
    query: String,
    searched: bool,
    candidates: Vec<CandidateRow>,
    note: String,
    error: Option<String>,
}

async fn record_page(
    state: &AppState,
    user: &CurrentUser,
    id: uuid::Uuid,
    query: String,
    note: String,
    error: Option<String>,
) -> AppResult<RecordPage> {
    let rec = store::payment_record(&state.db, user.tenant, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let is_open =
        rec.status == payment_status::UNMATCHED || rec.status == payment_status::AMBIGUOUS;
    // Without a search, suggest by the reading of the payer's name.
    let effective = if query.trim().is_empty() {
        rec.payer_kana.clone()
    } else {
        query.clone()
    };
    let found = store::search_payment_candidates(&state.db, user.tenant, &effective, 50).await?;
    let candidates = found
        .iter()
        .map(|c| CandidateRow {
            id: c.donation_id.to_string(),
            number: c.donation_number.clone(),
            donated_on: jst::format_date_ja(c.donated_on),
            amount: crate::routes::donors::amount_display(c.amount),
            donor: format!("{} {}", c.family_name, c.given_name)
                .trim()
                .to_string(),
            kana: format!("{} {}", c.family_kana, c.given_kana)
                .trim()
                .to_string(),
            status: status_badge(&c.payment_status),
            open: c.payment_status == "unpaid",
            same_amount: c.amount == Some(rec.amount),
        })
        .collect();
    Ok(RecordPage {
        layout: Layout::new(state, user, "入金記録の照合", "/intake").await,
        r: RecordRow::of_stored(&rec),
        is_open,
        searched: !effective.trim().is_empty(),
        query,
        candidates,
        note,
        error,
    })
}

/// `GET /intake/payments/records/{id}?q=…`
pub async fn record(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> AppResult<RecordPage> {
    let id = parse_id(&id)?;
    let q = QueryParams::parse(raw.as_deref());
    record_page(&state, &user, id, q.value("q"), String::new(), None).await
}

/// `POST /intake/payments/records/{id}/match` (donation_id)
pub async fn match_record(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let pairs = form_pairs(&body);
    let Ok(donation_id) = uuid::Uuid::parse_str(&form_value(&pairs, "donation_id")) else {
        return Err(AppError::BadRequest(
            "照合する寄附を選んでください。".into(),
        ));
    };
    match payments::manual_match(&state.db, user.tenant, id, donation_id, &actor(&user)).await {
        Ok(()) => Ok(audited_redirect("/intake/payments/records?notice=matched")),
        Err(PaymentFailure::NotFound) => Err(AppError::NotFound),
        Err(PaymentFailure::Db(e)) => Err(e.into()),
        Err(e) => {
            let mut resp = record_page(
                &state,
                &user,
                id,
                form_value(&pairs, "q"),
                String::new(),
                Some(e.message_ja()),
            )
            .await?
            .into_response();
            *resp.status_mut() = StatusCode::CONFLICT;
            Ok(resp)
        }
    }
}

/// `POST /intake/payments/records/{id}/ignore` (note)
pub async fn ignore_record(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let pairs = form_pairs(&body);
    let note = form_value(&pairs, "note");
    match payments::ignore(&state.db, user.tenant, id, &note, &actor(&user)).await {
        Ok(()) => Ok(audited_redirect("/intake/payments/records?notice=ignored")),
        Err(PaymentFailure::NotFound) => Err(AppError::NotFound),
        Err(PaymentFailure::Db(e)) => Err(e.into()),
        Err(e) => {
            let mut resp =
                record_page(&state, &user, id, String::new(), note, Some(e.message_ja()))
                    .await?
                    .into_response();
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(resp)
        }
    }
}
