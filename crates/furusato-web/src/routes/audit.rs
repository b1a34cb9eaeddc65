//! `/audit`: the audit trail of the user's municipality ([`Permission::AuditRead`]: 監査担当 and
//! 市管理者).
//!
//! - Filters: 利用者 (login), 操作 (an action like `donor.view`, or a prefix like `donor`), 対象種別,
//!   対象ID and 期間 (JST dates); 100 entries per page, newest first; known actions get Japanese
//!   labels, unknown ones are shown as stored.
//! - 改ざん検査: `POST /audit/verify` walks the whole hash chain (every municipality's entries: the
//!   chain is one per install) on demand only, and shows the first broken link. Recorded as
//!   `audit.verify`.
//! - CSV export: `POST /audit/export` with a typed reason. The rows are a snapshot bounded by the
//!   newest entry at the time of the request (the log is append-only, so the count recorded in the
//!   `audit.export` entry is exactly the number of rows sent), streamed from a database cursor
//!   through a bounded channel into the HTTP body (memory stays flat however long the trail is).
//!   UTF-8 with BOM (Excel opens it), CRLF. Cells starting with `=`, `+`, `-`, `@`, tab or CR get a
//!   leading `'` so that a typed reason cannot become a spreadsheet formula.

use askama::Template;
use askama_web::WebTemplate;
use axum::body::{Body, Bytes};
use axum::extract::{RawForm, RawQuery, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use furusato_db::audit::{self, AuditFilter, AuditRow, BrokenKind, VerifyReport};
use furusato_db::users;
use furusato_domain::{Role, jst};
use futures::StreamExt;

use crate::access::{Access, Audit, Audited, CurrentUser, Permission, Routes};
use crate::error::AppResult;
use crate::page::{Layout, fmt_count};
use crate::routes::admin::SelectOption;
use crate::routes::donors::{Pager, QueryParams, lenient_page};
use crate::state::AppState;

/// Entries per page.
pub const PER_PAGE: u32 = 100;
/// Shortest accepted export reason (characters).
pub const MIN_REASON_CHARS: usize = 4;

/// Registers the audit-trail screens.
pub fn register(r: &mut Routes) {
    let read = Access::Perm(Permission::AuditRead);
    r.add(
        Method::GET,
        "/audit",
        read,
        Audit::None,
        "audit.view",
        get(list),
    );
    r.add(
        Method::POST,
        "/audit/verify",
        read,
        Audit::None,
        "audit.verify",
        post(verify),
    );
    r.add(
        Method::POST,
        "/audit/export",
        read,
        Audit::None,
        "audit.export",
        post(export),
    );
}

/// Japanese label of a stored action; None for actions this version does not know.
pub fn action_label(action: &str) -> Option<&'static str> {
    let exact = match action {
        "login.success" => "ログイン",
        "login.failure" => "ログイン失敗（パスワード誤り）",
        "login.lockout" => "ログイン失敗（アカウントをロック）",
        "login.locked" => "ログイン拒否（ロック中）",
        "login.disabled" => "ログイン拒否（利用停止中）",
        "login.ip_denied" => "ログイン拒否（許可されていない接続元）",
        "login.unknown_user" => "ログイン失敗（存在しないID）",
        "login.totp" => "二要素認証",
        "logout" => "ログアウト",
        "account.password_change" => "パスワードの変更",
        "account.totp_enable" => "二要素認証の登録",
        "account.totp_disable" => "二要素認証の解除",
        "account.totp_rejected" => "二要素認証の登録（確認コード不一致）",
        "donor.view" => "寄附者の閲覧",
        "donor.search" => "寄附者の検索",
        "donor.create" => "寄附者の登録",
        "donor.update" => "寄附者の変更",
        "donor.merge" => "寄附者の統合",
        "donor.merge_undo" => "寄附者の統合の取消",
        "donation.view" => "寄附の閲覧",
        "donation.list" => "寄附の一覧",
        "donation.create" => "寄附の登録",
        "donation.update" => "寄附の変更",
        "partner_order.view" => "発注の閲覧",
        "partner_order.list" => "発注一覧の閲覧",
        "my_number.reveal" => "個人番号の表示",
        "my_number.form" => "個人番号の画面を開く",
        "my_number.edit_form" => "個人番号の登録画面を開く",
        "my_number.register" => "個人番号の登録",
        "my_number.replace" => "個人番号の変更",
        "user.create" | "user.add" => "利用者の作成",
        "user.role_change" => "利用者の役割の変更",
        "user.reset_password" => "パスワードの再設定",
        "user.unlock" => "ロックの解除",
        "user.disable" => "利用の停止",
        "user.enable" => "利用の再開",
        "user.grant_my_number" => "個人番号取扱者の指定",
        "user.revoke_my_number" => "個人番号取扱者の指定解除",
        "user.reset_totp" => "二要素認証のリセット",
        "settings.issuer" => "発行者情報の変更",
        "settings.retention" => "保存期間の変更",
        "audit.export" => "操作記録の出力",
        "audit.verify" => "操作記録の改ざん検査",
        "erase.run" => "データの消去",
        "erase.class" => "データの消去（区分ごと）",
        "erase.preview" => "消去対象の確認（試行）",
        "keys.init" => "暗号鍵の作成",
        "keys.rotate" => "暗号鍵の更新（再暗号化）",
        "municipality.add" => "団体の登録",
        "demo.generate" => "デモデータの作成",
        "data.import_postal" => "郵便番号データの取込",
        "data.import_localgov" => "地方公共団体コードの取込",
        "import.upload" => "取込ファイルのアップロード",
        "import.commit" => "取込の確定",
        "import.discard" => "取込の破棄",
        "match_review.reject" => "名寄せ候補の却下",
        "access.denied" => "権限のない操作（拒否）",
        "access.ip_denied" => "許可されていない接続元からの操作（拒否）",
        "access.csrf_rejected" => "不正な画面からの送信（拒否）",
        _ => "",
    };
    if !exact.is_empty() {
        return Some(exact);
    }
    let prefix = action.split('.').next().unwrap_or("");
    Some(match prefix {
        "export" => "出力",
        "import" => "取込",
        "rakuten_sync" | "sync" => "ポータル同期",
        "rakuten_mapping" => "ポータル項目の対応付け",
        "payment" => "入金の処理",
        _ => return None,
    })
}

/// Japanese label of a target kind; the kind itself when unknown.
pub fn target_kind_label(kind: &str) -> String {
    match kind {
        "donor" => "寄附者",
        "donation" => "寄附",
        "user" => "利用者",
        "my_number" => "個人番号",
        "municipality" => "団体",
        "partner_order" => "発注",
        "data_class" => "データ区分",
        "erasure_report" => "消去報告書",
        "import" => "取込",
        "audit" => "操作記録",
        "account" => "アカウント",
        "" => "",
        other => return other.to_string(),
    }
    .to_string()
}

fn role_label(role: &str) -> String {
    match Role::parse(role) {
        Ok(r) => r.label_ja().to_string(),
        Err(_) if role == "cli" => "コマンド".into(),
        Err(_) => role.to_string(),
    }
}

/// The filter form as typed (refilled), and the filter it means.
#[derive(Clone, Debug, Default)]
pub struct FilterForm {
    pub user: String,
    pub action: String,
    pub kind: String,
    pub target: String,
    pub from: String,
    pub to: String,
}

impl FilterForm {
    fn from_params(p: &QueryParams) -> FilterForm {
        FilterForm {
            user: p.value("user"),
            action: p.value("action"),
            kind: p.value("kind"),
            target: p.value("target"),
            from: p.value("from"),
            to: p.value("to"),
        }
    }

    fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("user", self.user.clone()),
            ("action", self.action.clone()),
            ("kind", self.kind.clone()),
            ("target", self.target.clone()),
            ("from", self.from.clone()),
            ("to", self.to.clone()),
        ]
    }

    fn is_empty(&self) -> bool {
        self.params().iter().all(|(_, v)| v.is_empty())
    }

    /// The database filter, or Japanese messages for unreadable dates.
    fn to_filter(&self) -> Result<AuditFilter, Vec<String>> {
        let mut errors = vec![];
        let mut date = |s: &str, label: &str| {
            if s.is_empty() {
                return None;
            }
            match jst::parse_date(s) {
                Ok(d) => Some(d),
                Err(e) => {
                    errors.push(format!("{label}：{}", e.message_ja()));
                    None
                }
            }
        };
        let from = date(&self.from, "期間の開始日");
        let to = date(&self.to, "期間の終了日");
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            errors.push("期間の開始日が終了日より後になっています。".into());
        }
        let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
        if errors.is_empty() {
            Ok(AuditFilter {
                user_login: opt(&self.user),
                action: opt(self.action.trim_end_matches(".*").trim_end_matches('.')),
                target_kind: opt(&self.kind),
                target_id: opt(&self.target),
                from,
                to,
            })
        } else {
            Err(errors)
        }
    }
}

/// One entry on the screen.
pub struct EntryRow {
    pub seq: i64,
    pub at: String,
    pub user: String,
    pub role: String,
    pub ip: String,
    pub action: String,
    pub action_label: Option<&'static str>,
    pub target_kind: String,
    pub target_id: String,
    pub target_href: Option<String>,
    pub reason: String,
    pub detail: String,
}

fn entry_row(r: AuditRow, user: &CurrentUser) -> EntryRow {
    let target_href = match r.target_kind.as_str() {
        "donor" if user.can(Permission::LedgerRead) => Some(format!("/donors/{}", r.target_id)),
        "donation" if user.can(Permission::LedgerRead) => {
            Some(format!("/donations/{}", r.target_id))
        }
        "user" if user.can(Permission::UserAdmin) => Some(format!("/admin/users/{}", r.target_id)),
        "erasure_report" if user.can(Permission::Settings) => Some("/admin/erasure".to_string()),
        _ => None,
    }
    .filter(|_| !r.target_id.is_empty());
    EntryRow {
        seq: r.seq,
        at: jst::format_datetime_ja(r.at),
        role: role_label(&r.role),
        user: r.user_login,
        ip: r.ip,
        action_label: action_label(&r.action),
        action: r.action,
        target_kind: target_kind_label(&r.target_kind),
        target_id: r.target_id,
        target_href,
        reason: r.reason,
        detail: if r.detail == "{}" {
            String::new()
        } else {
            r.detail
        },
    }
}

/// The result line of a chain check.
pub struct ChainStatus {
    pub ok: bool,
    pub message: String,
}

/// Japanese wording of a [`VerifyReport`].
pub fn chain_status(report: &VerifyReport) -> ChainStatus {
    let at = jst::format_datetime_ja(furusato_db::now_utc());
    match &report.first_broken {
        None => ChainStatus {
            ok: true,
            message: format!(
                "{at}に検査しました：操作記録 {}件のハッシュの連鎖はすべて正常です（改ざんは見つかりませんでした）。",
                fmt_count(report.checked as i64)
            ),
        },
        Some(b) => {
            let what = match &b.problem {
                BrokenKind::Modified => format!(
                    "記録 #{} が書き込み後に変更されています（内容とハッシュが一致しません）。",
                    b.seq
                ),
                BrokenKind::ChainMismatch => {
                    format!(
                        "記録 #{} が直前の記録とつながっていません（それ以前の記録が変更または削除されています）。",
                        b.seq
                    )
                }
                BrokenKind::Missing { expected } => {
                    format!("記録 #{expected}〜#{} が削除されています。", b.seq - 1)
                }
                BrokenKind::HeadMismatch { head_seq, last_seq } => format!(
                    "末尾の記録が削除されたか、連鎖の先頭情報が変更されています（先頭情報は{head_seq}件、記録は #{last_seq} までしかありません）。"
                ),
            };
            ChainStatus {
                ok: false,
                message: format!(
                    "{at}に検査しました：改ざんの疑いがあります。最初の異常：{what}システム管理者に連絡し、バックアップと照合してください。"
                ),
            }
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    layout: Layout,
    form: FilterForm,
    filtered: bool,
    hidden: Vec<(&'static str, String)>,
    errors: Vec<String>,
    rows: Vec<EntryRow>,
    pager: Option<Pager>,
    logins: Vec<String>,
    actions: Vec<(&'static str, &'static str)>,
    kinds: Vec<SelectOption>,
    chain: Option<ChainStatus>,
    export_error: Option<String>,
    reason: String,
}

/// Target kinds offered in the 対象種別 select.
const TARGET_KINDS: &[&str] = &[
    "donor",
    "donation",
    "user",
    "municipality",
    "partner_order",
    "data_class",
    "erasure_report",
];

/// Suggestions for the 操作 box: prefixes and common actions.
const ACTION_SUGGESTIONS: &[(&str, &str)] = &[
    ("login", "ログイン関係（すべて）"),
    ("donor", "寄附者（すべて）"),
    ("donor.view", "寄附者の閲覧"),
    ("donation", "寄附（すべて）"),
    ("my_number", "個人番号（すべて）"),
    ("my_number.reveal", "個人番号の表示"),
    ("export", "出力（すべて）"),
    ("user", "利用者管理（すべて）"),
    ("settings", "設定（すべて）"),
    ("erase", "データ消去（すべて）"),
    ("audit", "操作記録の出力・検査"),
];

async fn page(
    state: &AppState,
    user: &CurrentUser,
    params: &QueryParams,
    chain: Option<ChainStatus>,
    export_error: Option<String>,
    reason: String,
) -> AppResult<AuditPage> {
    let form = FilterForm::from_params(params);
    let (rows, pager, errors) = match form.to_filter() {
        Ok(filter) => {
            let page = audit::search(
                &state.db,
                user.tenant,
                &filter,
                lenient_page(params),
                PER_PAGE,
            )
            .await?;
            let pager = Pager::new(&page, "/audit", &form.params());
            let rows = page.items.into_iter().map(|r| entry_row(r, user)).collect();
            (rows, Some(pager), vec![])
        }
        Err(errors) => (vec![], None, errors),
    };
    let logins = users::list(&state.db, user.tenant)
        .await?
        .into_iter()
        .map(|u| u.login)
        .collect();
    let kinds = TARGET_KINDS
        .iter()
        .map(|k| SelectOption {
            value: k.to_string(),
            label: target_kind_label(k),
            selected: form.kind == *k,
        })
        .collect();
    Ok(AuditPage {
        layout: Layout::new(state, user, "操作記録", "/audit").await,
        filtered: !form.is_empty(),
        hidden: form
            .params()
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        form,
        errors,
        rows,
        pager,
        logins,
        actions: ACTION_SUGGESTIONS.to_vec(),
        kinds,
        chain,
        export_error,
        reason,
    })
}

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(q): RawQuery,
) -> AppResult<AuditPage> {
    let params = QueryParams::parse(q.as_deref());
    page(&state, &user, &params, None, None, String::new()).await
}

/// Runs the chain check over the whole log and shows the result above the (filtered) list.
pub async fn verify(
    State(state): State<AppState>,
    user: CurrentUser,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let params = QueryParams::parse(std::str::from_utf8(&body).ok());
    let report = audit::verify(&state.db).await?;
    let entry = user.audit("audit.verify").detail(serde_json::json!({
        "checked": report.checked,
        "first_broken": report.first_broken,
    }));
    audit::record(&state.db, &entry).await?;
    let status = chain_status(&report);
    let mut resp = page(&state, &user, &params, Some(status), None, String::new())
        .await?
        .into_response();
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

/// Prefixes a cell that a spreadsheet would read as a formula.
fn defuse(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{s}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

fn push_record(out: &mut String, cols: &[&str]) {
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(&defuse(c).replace('"', "\"\""));
        out.push('"');
    }
    out.push_str("\r\n");
}

/// The CSV header row.
pub const CSV_HEADER: [&str; 12] = [
    "連番",
    "日時（日本時間）",
    "利用者",
    "役割",
    "接続元",
    "操作",
    "操作コード",
    "対象種別",
    "対象ID",
    "理由",
    "詳細",
    "ハッシュ",
];

fn push_row(out: &mut String, r: &AuditRow) {
    let seq = r.seq.to_string();
    let at = jst::format_datetime_ja(r.at);
    let at_seconds = format!("{at}:{:02}", jst::to_jst(r.at).second());
    let role = role_label(&r.role);
    let label = action_label(&r.action).unwrap_or("");
    let kind = target_kind_label(&r.target_kind);
    let hash = hex::encode(&r.hash);
    push_record(
        out,
        &[
            &seq,
            &at_seconds,
            &r.user_login,
            &role,
            &r.ip,
            label,
            &r.action,
            &kind,
            &r.target_id,
            &r.reason,
            &r.detail,
            &hash,
        ],
    );
}

/// Streams the filtered trail as CSV; requires a reason; recorded as `audit.export`.
pub async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let params = QueryParams::parse(std::str::from_utf8(&body).ok());
    let reason = params.value("reason");
    let form = FilterForm::from_params(&params);
    let filter = match form.to_filter() {
        Ok(f) => f,
        Err(_) => {
            let msg =
                "絞り込み条件に誤りがあります。条件を直してから出力してください。".to_string();
            let page = page(&state, &user, &params, None, Some(msg), reason).await?;
            return Ok((StatusCode::BAD_REQUEST, page).into_response());
        }
    };
    let n = reason.chars().count();
    if !(MIN_REASON_CHARS..=500).contains(&n) {
        let msg = if n < MIN_REASON_CHARS {
            format!(
                "出力の理由を{MIN_REASON_CHARS}文字以上で入力してください（例：定期監査のため）。"
            )
        } else {
            "出力の理由は500文字以内で入力してください。".to_string()
        };
        let page = page(&state, &user, &params, None, Some(msg), reason).await?;
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    let until = audit::head_seq(&state.db).await?;
    let rows = audit::count_until(&state.db, user.tenant, &filter, until).await?;
    let entry = user
        .audit("audit.export")
        .reason(&reason)
        .detail(serde_json::json!({
            "filter": filter,
            "rows": rows,
            "until_seq": until,
            "format": "csv (UTF-8 BOM)",
        }));
    audit::record(&state.db, &entry).await?;

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let db = state.db.clone();
    let tenant = user.tenant;
    tokio::spawn(async move {
        let mut buf = String::from("\u{feff}");
        push_record(&mut buf, &CSV_HEADER);
        let mut stream = audit::rows(&db, tenant, &filter, until);
        while let Some(row) = stream.next().await {
            match row {
                Ok(r) => push_row(&mut buf, &r),
                Err(e) => {
                    tracing::error!(error = %e, "audit export stopped by a database error");
                    let _ = tx
                        .send(Err(std::io::Error::other("audit export failed")))
                        .await;
                    return;
                }
            }
            if buf.len() >= 64 * 1024
                && tx
                    .send(Ok(Bytes::from(std::mem::take(&mut buf))))
                    .await
                    .is_err()
            {
                return; // the client went away
            }
        }
        if !buf.is_empty() {
            let _ = tx.send(Ok(Bytes::from(buf))).await;
        }
    });
    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }));
    let now = jst::now_jst();
    let name = format!(
        "audit-{}-{:02}{:02}.csv",
        jst::format_date_iso(now.date()).replace('-', ""),
        now.hour(),
        now.minute()
    );
    let mut resp = (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response();
    resp.extensions_mut().insert(Audited);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_actions_have_labels_and_unknown_ones_none() {
        assert_eq!(action_label("login.success"), Some("ログイン"));
        assert_eq!(action_label("donor.view"), Some("寄附者の閲覧"));
        assert_eq!(action_label("my_number.reveal"), Some("個人番号の表示"));
        assert_eq!(action_label("export.donations"), Some("出力"));
        assert_eq!(action_label("something.new"), None);
    }

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        let mut s = String::new();
        push_record(&mut s, &["a\"b", "=HYPERLINK(\"x\")", "-1", "普通"]);
        assert_eq!(
            s,
            "\"a\"\"b\",\"'=HYPERLINK(\"\"x\"\")\",\"'-1\",\"普通\"\r\n"
        );
    }

    #[test]
    fn chain_status_names_the_first_broken_entry() {
        let ok = chain_status(&VerifyReport {
            checked: 12,
            first_broken: None,
        });
        assert!(ok.ok && ok.message.contains("12件"));
        let bad = chain_status(&VerifyReport {
            checked: 3,
            first_broken: Some(audit::BrokenLink {
                seq: 3,
                problem: BrokenKind::Modified,
            }),
        });
        assert!(!bad.ok && bad.message.contains("記録 #3 が書き込み後に変更"));
    }
}
