//! 楽天 RMS sync screens:
//!
//! * `/intake/rakuten` — the municipality's RMS account (base URL, getOrder version, pace,
//!   schedule; serviceSecret + licenseKey are sealed by the vault and never shown again — only
//!   「登録済み（末尾4桁 ****1234）」), the license key's expiry, 「今すぐ同期」 (queues a job for
//!   the worker), 「有効期限を確認」, the run history, and gift codes the gift master lacks.
//!   Viewing and starting a sync: [`Permission::IntakeRun`]; editing the account:
//!   [`Permission::IntakeSettings`] (operator_admin).
//! * `/intake/rakuten/runs/{id}` — one run: counts, error, failed orders, unknown gift codes.
//! * `/intake/rakuten/mappings` — what the shop-defined texts (`selectedChoice`, `remarks`) mean:
//!   the texts no mapping covers (review list) and the mappings, editable by an operator_admin.
//!   Saving a mapping queues a re-evaluation of the donations synced before it existed.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use furusato_db::intake_sync::{
    self, ANY_VALUE, AccountSettings, NewTextMapping, run_status, source_field, target,
};
use furusato_db::jobs;
use furusato_domain::jst;
use furusato_intake::rakuten_sync::{self, Credentials, PORTAL, credentials};
use furusato_intake::worker;
use serde::Deserialize;
use time::OffsetDateTime;

use crate::access::{Access, Audit, Audited, CurrentUser, Permission, Routes};
use crate::error::{AppError, AppResult};
use crate::page::Layout;
use crate::routes::donors::parse_id;
use crate::state::AppState;

/// Registers the 楽天 sync screens.
pub fn register(r: &mut Routes) {
    let run = Access::Perm(Permission::IntakeRun);
    let settings = Access::Perm(Permission::IntakeSettings);
    let (g, p) = (Method::GET, Method::POST);
    r.add(
        g.clone(),
        "/intake/rakuten",
        run,
        Audit::None,
        "rakuten.view",
        get(show),
    );
    r.add(
        p.clone(),
        "/intake/rakuten/account",
        settings,
        Audit::None,
        "rakuten.account_save",
        post(save_account),
    );
    r.add(
        p.clone(),
        "/intake/rakuten/sync",
        run,
        Audit::None,
        "rakuten.sync_request",
        post(request_sync),
    );
    r.add(
        p.clone(),
        "/intake/rakuten/license",
        run,
        Audit::None,
        "rakuten.license_check",
        post(check_license),
    );
    r.add(
        p.clone(),
        "/intake/rakuten/relink",
        settings,
        Audit::None,
        "rakuten.gift_relink",
        post(relink_gifts),
    );
    r.add(
        g.clone(),
        "/intake/rakuten/runs/{id}",
        run,
        Audit::None,
        "rakuten.run_view",
        get(show_run),
    );
    r.add(
        g.clone(),
        "/intake/rakuten/mappings",
        run,
        Audit::None,
        "rakuten_mapping.list",
        get(mappings),
    );
    r.add(
        p.clone(),
        "/intake/rakuten/mappings",
        settings,
        Audit::None,
        "rakuten_mapping.save",
        post(save_mapping),
    );
    r.add(
        p.clone(),
        "/intake/rakuten/mappings/{id}/delete",
        settings,
        Audit::None,
        "rakuten_mapping.delete",
        post(delete_mapping),
    );
    r.add(
        p,
        "/intake/rakuten/mappings/reevaluate",
        settings,
        Audit::None,
        "rakuten_mapping.reevaluate",
        post(reevaluate_all),
    );
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn datetime(t: Option<OffsetDateTime>) -> String {
    t.map(jst::format_datetime_ja).unwrap_or_default()
}

fn duration(from: OffsetDateTime, to: Option<OffsetDateTime>) -> String {
    let Some(to) = to else { return String::new() };
    let secs = (to - from).as_seconds_f64().max(0.0);
    if secs < 60.0 {
        format!("{secs:.1}秒")
    } else if secs < 3600.0 {
        format!("{}分{}秒", (secs / 60.0) as i64, (secs % 60.0) as i64)
    } else {
        format!(
            "{}時間{}分",
            (secs / 3600.0) as i64,
            ((secs % 3600.0) / 60.0) as i64
        )
    }
}

fn number(n: i64) -> String {
    furusato_domain::Yen::new(n).format_number()
}

/// One row of the run history.
pub struct RunRow {
    pub id: String,
    pub started: String,
    pub finished: String,
    pub trigger: &'static str,
    pub status: &'static str,
    pub status_class: &'static str,
    pub fetched: String,
    pub created: String,
    pub updated: String,
    pub unchanged: String,
    pub failed: String,
    pub duration: String,
    pub error: String,
}

fn run_row(r: &intake_sync::SyncRun) -> RunRow {
    let detail = r.detail_json();
    RunRow {
        id: r.id.to_string(),
        started: jst::format_datetime_ja(r.started_at),
        finished: datetime(r.finished_at),
        trigger: rakuten_sync::Trigger::label_ja(&r.trigger_kind),
        status: rakuten_sync::status_label_ja(&r.status),
        status_class: match r.status.as_str() {
            run_status::SUCCEEDED => "paid",
            run_status::PARTIAL | run_status::RUNNING => "unpaid",
            _ => "failed",
        },
        fetched: number(r.fetched),
        created: number(r.created),
        updated: number(r.updated),
        unchanged: number(r.unchanged),
        failed: number(r.failed),
        duration: duration(r.started_at, r.finished_at),
        error: detail["error_ja"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_default(),
    }
}

/// The account form as shown (and as typed, when it comes back with an error).
pub struct AccountView {
    pub base_url: String,
    pub get_order_version: String,
    pub requests_per_second: String,
    pub schedule_minutes: String,
    pub enabled: bool,
}

// ---------------------------------------------------------------------------------------------
// /intake/rakuten

#[derive(Template, WebTemplate)]
#[template(path = "rakuten.html")]
pub struct RakutenPage {
    layout: Layout,
    can_edit: bool,
    keyring_missing: bool,
    account: AccountView,
    account_exists: bool,
    credentials: String,
    has_credentials: bool,
    license: String,
    license_checked: String,
    license_warning: Option<String>,
    job: Option<String>,
    runs: Vec<RunRow>,
    unknown_gifts: Vec<(String, String, String)>,
    open_reviews: i64,
    errors: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct RakutenQuery {
    done: Option<String>,
}

async fn page(
    state: &AppState,
    user: &CurrentUser,
    notice: Option<String>,
    errors: Vec<String>,
    typed: Option<AccountView>,
) -> AppResult<RakutenPage> {
    let db = &state.db;
    let t = user.tenant;
    let acc = intake_sync::account(db, t, PORTAL).await?;
    let account = typed.unwrap_or_else(|| match &acc {
        Some(a) => AccountView {
            base_url: a.base_url.clone(),
            get_order_version: a.get_order_version.to_string(),
            requests_per_second: a.requests_per_second.to_string(),
            schedule_minutes: a.schedule_minutes.to_string(),
            enabled: a.enabled,
        },
        None => AccountView {
            base_url: furusato_portals::rakuten::client::DEFAULT_BASE_URL.to_string(),
            get_order_version: "9".into(),
            requests_per_second: "1".into(),
            schedule_minutes: "30".into(),
            enabled: true,
        },
    });
    let has_credentials = acc.as_ref().is_some_and(|a| a.has_credentials());
    let credentials = if !has_credentials {
        "未登録".to_string()
    } else {
        match credentials::stored(db, state.keyring.as_deref(), t).await {
            Ok(Some(c)) => format!("登録済み（末尾4桁 ****{}）", c.license_key_last4()),
            Ok(None) => "未登録".to_string(),
            Err(e) => format!("登録済み（{}）", e.message_ja()),
        }
    };
    let (license, license_checked, license_warning) = match &acc {
        Some(a) => (
            match a.license_expires_at {
                Some(e) => {
                    let left = (jst::to_jst(e).date() - jst::today_jst()).whole_days();
                    format!("{}（あと{}日）", jst::format_datetime_ja(e), left)
                }
                None => "未確認".to_string(),
            },
            datetime(a.license_checked_at),
            a.license_expires_at
                .and_then(|e| crate::notices::expiry_warning(e, jst::today_jst())),
        ),
        None => ("未確認".to_string(), String::new(), None),
    };
    let job = jobs::active(db, t, rakuten_sync::JOB_KIND)
        .await?
        .map(|j| match j.state.as_str() {
            jobs::state::RUNNING => format!("同期を実行中です（{} 開始）。", datetime(j.locked_at)),
            _ => format!(
                "同期の順番待ちです（{} 登録）。数秒から数分で始まります。",
                jst::format_datetime_ja(j.created_at)
            ),
        });
    let runs = intake_sync::runs(db, t, PORTAL, 30)
        .await?
        .iter()
        .map(run_row)
        .collect();
    let unknown_gifts = intake_sync::unknown_gift_codes(db, t, PORTAL, 50)
        .await?
        .into_iter()
        .map(|(c, n, k)| (c, n, number(k)))
        .collect();
    let open_reviews = intake_sync::open_review_count(db, t, PORTAL).await?;
    let layout = Layout::new(state, user, "楽天ふるさと納税の同期", "/intake/rakuten")
        .await
        .with_notice(notice);
    Ok(RakutenPage {
        layout,
        can_edit: user.can(Permission::IntakeSettings),
        keyring_missing: state.keyring.is_none(),
        account,
        account_exists: acc.is_some(),
        credentials,
        has_credentials,
        license,
        license_checked,
        license_warning,
        job,
        runs,
        unknown_gifts,
        open_reviews,
        errors,
    })
}

/// `GET /intake/rakuten`
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<RakutenQuery>,
) -> AppResult<RakutenPage> {
    let notice = match q.done.as_deref() {
        Some("saved") => Some("設定を保存しました。".to_string()),
        Some("saved_credentials") => Some("設定と認証情報を保存しました。認証情報は暗号化して保存し、今後は表示しません。".to_string()),
        Some("queued") => Some("同期を登録しました。まもなく開始します（この画面を再読み込みすると進み具合が分かります）。".to_string()),
        Some("already") => Some("同期はすでに登録済み、または実行中です。".to_string()),
        Some("license") => Some("ライセンスキーの有効期限を確認しました。".to_string()),
        _ => None,
    };
    page(&state, &user, notice, vec![], None).await
}

/// The account form.
#[derive(Deserialize)]
pub struct AccountForm {
    base_url: String,
    get_order_version: String,
    requests_per_second: String,
    schedule_minutes: String,
    enabled: Option<String>,
    #[serde(default)]
    service_secret: String,
    #[serde(default)]
    license_key: String,
}

fn parse_range(v: &str, label: &str, min: i64, max: i64, errors: &mut Vec<String>) -> i64 {
    match furusato_domain::normalize::normalize_digits(v).parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) && !v.trim().is_empty() => n,
        _ => {
            errors.push(format!("{label}は{min}〜{max}の整数で入力してください。"));
            min
        }
    }
}

/// `POST /intake/rakuten/account` (operator_admin): settings, and new credentials when both are given.
pub async fn save_account(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<AccountForm>,
) -> AppResult<Response> {
    let mut errors = Vec::new();
    let base_url = f.base_url.trim().trim_end_matches('/').to_string();
    if !(base_url.starts_with("https://") || base_url.starts_with("http://"))
        || base_url.len() < 10
        || base_url.contains(char::is_whitespace)
    {
        errors.push("APIのURLは https:// で始まるURLを入力してください（既定値: https://api.rms.rakuten.co.jp）。".to_string());
    }
    let version = parse_range(
        &f.get_order_version,
        "getOrderのversion",
        3,
        10,
        &mut errors,
    );
    let rate = parse_range(
        &f.requests_per_second,
        "1秒あたりのリクエスト数",
        1,
        10,
        &mut errors,
    );
    let schedule = parse_range(
        &f.schedule_minutes,
        "定期同期の間隔（分）",
        0,
        1440,
        &mut errors,
    );
    if schedule > 0 && schedule < 5 {
        errors.push("定期同期の間隔は5分以上にしてください（0で定期同期なし）。".to_string());
    }
    let secret = f.service_secret.trim();
    let key = f.license_key.trim();
    let credentials = match (secret.is_empty(), key.is_empty()) {
        (true, true) => None,
        (false, false) => Some(Credentials::new(secret, key)),
        _ => {
            errors.push("serviceSecret と licenseKey は両方を入力してください（変更しない場合は両方とも空欄のまま）。".to_string());
            None
        }
    };
    if credentials.is_some() && state.keyring.is_none() {
        errors.push(
            "暗号鍵が設定されていないため、認証情報を保存できません（`furusato keys init`）。"
                .to_string(),
        );
    }
    let typed = AccountView {
        base_url: f.base_url.clone(),
        get_order_version: f.get_order_version.clone(),
        requests_per_second: f.requests_per_second.clone(),
        schedule_minutes: f.schedule_minutes.clone(),
        enabled: f.enabled.is_some(),
    };
    if !errors.is_empty() {
        // The typed secrets are never sent back to the page.
        return Ok(page(&state, &user, None, errors, Some(typed))
            .await?
            .into_response());
    }
    let settings = AccountSettings {
        base_url,
        get_order_version: version,
        requests_per_second: rate,
        schedule_minutes: schedule,
        enabled: f.enabled.is_some(),
    };
    credentials::save_account(
        &state.db,
        state.keyring.as_deref(),
        user.tenant,
        &settings,
        credentials.as_ref(),
        user.audit("rakuten.account_save"),
    )
    .await
    .map_err(|e| match e {
        credentials::CredentialError::Db(d) => AppError::Db(d),
        other => AppError::BadRequest(other.message_ja().to_string()),
    })?;
    let done = if credentials.is_some() {
        "saved_credentials"
    } else {
        "saved"
    };
    let mut resp = Redirect::to(&format!("/intake/rakuten?done={done}")).into_response();
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

/// `POST /intake/rakuten/sync`: queues a sync for the worker.
pub async fn request_sync(State(state): State<AppState>, user: CurrentUser) -> AppResult<Response> {
    let acc = intake_sync::account(&state.db, user.tenant, PORTAL).await?;
    if !acc.as_ref().is_some_and(|a| a.has_credentials()) {
        let errors = vec!["楽天RMSの認証情報が登録されていないため同期できません。管理者が設定欄で登録してください。".to_string()];
        return Ok(page(&state, &user, None, errors, None)
            .await?
            .into_response());
    }
    let queued = worker::enqueue_sync(
        &state.db,
        user.tenant,
        rakuten_sync::Trigger::Manual,
        &user.user.login,
    )
    .await?;
    Ok(Redirect::to(if queued.is_some() {
        "/intake/rakuten?done=queued"
    } else {
        "/intake/rakuten?done=already"
    })
    .into_response())
}

/// `POST /intake/rakuten/license`: reads the license key's expiry from RMS now.
pub async fn check_license(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Response> {
    match rakuten_sync::check_license(&state.db, state.keyring.as_deref(), user.tenant).await {
        Ok(_) => Ok(Redirect::to("/intake/rakuten?done=license").into_response()),
        Err(e) => {
            let errors = vec![format!(
                "有効期限を確認できませんでした: {}",
                e.message_ja()
            )];
            Ok(page(&state, &user, None, errors, None)
                .await?
                .into_response())
        }
    }
}

/// `POST /intake/rakuten/relink`: links gift lines with unknown codes to gifts added since.
pub async fn relink_gifts(State(state): State<AppState>, user: CurrentUser) -> AppResult<Response> {
    let mut tx = state.db.begin().await?;
    let n = intake_sync::relink_unknown_gifts(&mut tx, user.tenant, PORTAL).await?;
    furusato_db::audit::append(
        &mut tx,
        &user
            .audit("rakuten.gift_relink")
            .detail(serde_json::json!({"lines": n})),
    )
    .await?;
    tx.commit().await?;
    let notice = format!(
        "返礼品マスタと照合し、{}件の明細を返礼品に結び付けました。",
        number(n as i64)
    );
    let mut resp = page(&state, &user, Some(notice), vec![], None)
        .await?
        .into_response();
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

// ---------------------------------------------------------------------------------------------
// /intake/rakuten/runs/{id}

/// A failed order as shown.
pub struct FailedRow {
    pub order_number: String,
    pub reason: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "rakuten_run.html")]
pub struct RunPage {
    layout: Layout,
    run: RunRow,
    window: String,
    requests: String,
    error_en: String,
    failed_total: i64,
    failed: Vec<FailedRow>,
    unknown_gifts: Vec<(String, String, String)>,
    donor_changes: Vec<String>,
    warnings: Vec<String>,
}

/// `GET /intake/rakuten/runs/{id}`
pub async fn show_run(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<RunPage> {
    let id = parse_id(&id)?;
    let r = intake_sync::run(&state.db, user.tenant, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let d = r.detail_json();
    let strings = |k: &str| -> Vec<String> {
        d[k].as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let failed = d["failed_orders"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| FailedRow {
                    order_number: f["order_number"].as_str().unwrap_or("").to_string(),
                    reason: f["reason_ja"].as_str().unwrap_or("").to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let unknown_gifts = d["unknown_gift_codes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|g| {
                    (
                        g["code"].as_str().unwrap_or("").to_string(),
                        g["name"].as_str().unwrap_or("").to_string(),
                        number(g["lines"].as_i64().unwrap_or(0)),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let window = match (r.window_from, r.window_to) {
        (Some(a), Some(b)) => format!(
            "{} 〜 {}",
            jst::format_datetime_ja(a),
            jst::format_datetime_ja(b)
        ),
        _ => "—".to_string(),
    };
    let layout = Layout::new(&state, &user, "楽天同期の実行結果", "/intake/rakuten").await;
    Ok(RunPage {
        layout,
        window,
        requests: format!("{}回（再試行 {}回）", number(r.requests), number(r.retries)),
        error_en: r.error.clone(),
        failed_total: d["failed_total"].as_i64().unwrap_or(r.failed),
        failed,
        unknown_gifts,
        donor_changes: strings("donor_changes_pending"),
        warnings: strings("warnings"),
        run: run_row(&r),
    })
}

// ---------------------------------------------------------------------------------------------
// /intake/rakuten/mappings

/// A choice of the target select box: value `target|target_value`, label.
pub struct TargetOption {
    pub value: &'static str,
    pub label: &'static str,
}

/// The meanings an operator can give a text.
pub const TARGET_OPTIONS: &[TargetOption] = &[
    TargetOption {
        value: "onestop_wanted|true",
        label: "ワンストップ特例申請書を希望する",
    },
    TargetOption {
        value: "onestop_wanted|false",
        label: "ワンストップ特例申請書を希望しない",
    },
    TargetOption {
        value: "receipt_wanted|true",
        label: "寄附金受領証明書を希望する",
    },
    TargetOption {
        value: "receipt_wanted|false",
        label: "寄附金受領証明書は不要",
    },
    TargetOption {
        value: "gift_declined|true",
        label: "返礼品を辞退する",
    },
    TargetOption {
        value: "gift_declined|false",
        label: "返礼品を辞退しない",
    },
    TargetOption {
        value: "use_of_funds|",
        label: "寄附金の使い道（右欄の名称、空欄なら受信した値）",
    },
    TargetOption {
        value: "note|",
        label: "寄附の備考に記録する",
    },
    TargetOption {
        value: "ignore|",
        label: "使わない（無視する）",
    },
];

fn meaning_ja(t: &str, v: &str) -> String {
    match t {
        target::USE_OF_FUNDS if !v.trim().is_empty() => format!("寄附金の使い道：{v}"),
        target::USE_OF_FUNDS => "寄附金の使い道（受信した値）".to_string(),
        _ => {
            let key = format!(
                "{t}|{}",
                if matches!(t, target::NOTE | target::IGNORE) {
                    ""
                } else if v == "false" {
                    "false"
                } else {
                    "true"
                }
            );
            TARGET_OPTIONS
                .iter()
                .find(|o| o.value == key)
                .map(|o| o.label.to_string())
                .unwrap_or_else(|| target::label_ja(t).to_string())
        }
    }
}

fn field_ja(f: &str) -> &'static str {
    match f {
        source_field::SELECTED_CHOICE => "項目選択肢",
        source_field::REMARKS => "備考欄",
        _ => "その他",
    }
}

pub struct ReviewRow {
    pub source_field: String,
    pub field_label: &'static str,
    pub heading: String,
    pub value: String,
    pub occurrences: String,
    pub example: String,
    pub last_seen: String,
}

pub struct MappingRow {
    pub id: String,
    pub field_label: &'static str,
    pub heading: String,
    pub value: String,
    pub meaning: String,
    pub updated: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "rakuten_mappings.html")]
pub struct MappingsPage {
    layout: Layout,
    can_edit: bool,
    reviews: Vec<ReviewRow>,
    mappings: Vec<MappingRow>,
    options: &'static [TargetOption],
    errors: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct MappingsQuery {
    done: Option<String>,
}

async fn mappings_page(
    state: &AppState,
    user: &CurrentUser,
    notice: Option<String>,
    errors: Vec<String>,
) -> AppResult<MappingsPage> {
    rakuten_sync::ensure_default_mappings(&state.db, user.tenant).await?;
    let reviews = intake_sync::reviews(&state.db, user.tenant, PORTAL, false)
        .await?
        .into_iter()
        .map(|r| ReviewRow {
            field_label: field_ja(&r.source_field),
            source_field: r.source_field,
            heading: r.heading,
            value: r.value,
            occurrences: number(r.occurrences),
            example: r.example_external_id,
            last_seen: jst::format_datetime_ja(r.last_seen_at),
        })
        .collect();
    let mappings = intake_sync::mappings(&state.db, user.tenant, PORTAL)
        .await?
        .into_iter()
        .map(|m| MappingRow {
            id: m.id.to_string(),
            field_label: field_ja(&m.source_field),
            meaning: meaning_ja(&m.target, &m.target_value),
            heading: m.heading,
            value: if m.value == ANY_VALUE {
                "（すべての値）".to_string()
            } else {
                m.value
            },
            updated: jst::format_datetime_ja(m.updated_at),
        })
        .collect();
    let layout = Layout::new(
        state,
        user,
        "楽天の項目選択肢・備考の対応付け",
        "/intake/rakuten",
    )
    .await
    .with_notice(notice);
    Ok(MappingsPage {
        layout,
        can_edit: user.can(Permission::IntakeSettings),
        reviews,
        mappings,
        options: TARGET_OPTIONS,
        errors,
    })
}

/// `GET /intake/rakuten/mappings`
pub async fn mappings(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<MappingsQuery>,
) -> AppResult<MappingsPage> {
    let notice = match q.done.as_deref() {
        Some("saved") => Some("対応付けを保存しました。この文言を含む同期済みの寄附を再評価しています（数秒〜数分）。".to_string()),
        Some("deleted") => Some("対応付けを削除しました。同期済みの寄附に反映するには「全件を再評価」を実行してください。".to_string()),
        Some("reevaluate") => Some("同期済みの全寄附の再評価を登録しました（数秒〜数分）。".to_string()),
        _ => None,
    };
    mappings_page(&state, &user, notice, vec![]).await
}

#[derive(Deserialize)]
pub struct MappingForm {
    source_field: String,
    #[serde(default)]
    heading: String,
    #[serde(default)]
    value: String,
    meaning: String,
    #[serde(default)]
    use_of_funds_name: String,
}

/// `POST /intake/rakuten/mappings`: saves a mapping, resolves its review, queues the re-evaluation.
pub async fn save_mapping(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(f): Form<MappingForm>,
) -> AppResult<Response> {
    let mut errors = Vec::new();
    if f.source_field != source_field::SELECTED_CHOICE && f.source_field != source_field::REMARKS {
        errors.push("種別が不正です。".to_string());
    }
    let heading = f.heading.trim().to_string();
    let value = if f.value.trim().is_empty() {
        ANY_VALUE.to_string()
    } else {
        f.value.trim().to_string()
    };
    if heading.chars().count() > 200 || value.chars().count() > 500 {
        errors.push("見出しは200文字以内、値は500文字以内で入力してください。".to_string());
    }
    let (tgt, tv) = f.meaning.split_once('|').unwrap_or(("", ""));
    if !target::ALL.contains(&tgt) || !TARGET_OPTIONS.iter().any(|o| o.value == f.meaning) {
        errors.push("意味を選んでください。".to_string());
    }
    let target_value = if tgt == target::USE_OF_FUNDS {
        f.use_of_funds_name.trim().to_string()
    } else {
        tv.to_string()
    };
    if !errors.is_empty() {
        return Ok(mappings_page(&state, &user, None, errors)
            .await?
            .into_response());
    }
    let m = NewTextMapping {
        source_field: f.source_field.clone(),
        heading,
        value,
        target: tgt.to_string(),
        target_value,
    };
    let mut tx = state.db.begin().await?;
    let id = intake_sync::upsert_mapping(&mut tx, user.tenant, PORTAL, &m).await?;
    intake_sync::resolve_reviews(
        &mut tx,
        user.tenant,
        PORTAL,
        &m.source_field,
        &m.heading,
        &m.value,
    )
    .await?;
    furusato_db::audit::append(
        &mut tx,
        &user
            .audit("rakuten_mapping.save")
            .target("text_mapping", id)
            .detail(serde_json::json!({
                "source_field": m.source_field, "target": m.target, "target_value": m.target_value,
            })),
    )
    .await?;
    tx.commit().await?;
    // Donations synced while the text was unmapped remember it: re-evaluate them.
    let key = if m.value == ANY_VALUE {
        format!(
            "{}\t{}\t",
            m.source_field,
            rakuten_sync::choices::norm(&m.heading)
        )
    } else {
        rakuten_sync::choices::mapping_key(&m.source_field, &m.heading, &m.value)
    };
    worker::enqueue_remap(&state.db, user.tenant, &key, &user.user.login).await?;
    let mut resp = Redirect::to("/intake/rakuten/mappings?done=saved").into_response();
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

/// `POST /intake/rakuten/mappings/{id}/delete`
pub async fn delete_mapping(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let mut tx = state.db.begin().await?;
    let Some(m) = intake_sync::delete_mapping(&mut tx, user.tenant, id).await? else {
        return Err(AppError::NotFound);
    };
    furusato_db::audit::append(
        &mut tx,
        &user
            .audit("rakuten_mapping.delete")
            .target("text_mapping", id)
            .detail(serde_json::json!({
                "source_field": m.source_field, "target": m.target,
            })),
    )
    .await?;
    tx.commit().await?;
    let mut resp = Redirect::to("/intake/rakuten/mappings?done=deleted").into_response();
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

/// `POST /intake/rakuten/mappings/reevaluate`: every synced donation, with the current mappings.
pub async fn reevaluate_all(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Response> {
    worker::enqueue_remap(&state.db, user.tenant, "", &user.user.login).await?;
    Ok(Redirect::to("/intake/rakuten/mappings?done=reevaluate").into_response())
}
