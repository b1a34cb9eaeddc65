//! `/intake`: the landing page of the 取込 area — cards for 楽天同期 (with the last run's status),
//! CSV取込, 入金消込 and 名寄せ確認 (their screens live in their own modules).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use furusato_db::intake_sync;
use furusato_domain::jst;
use furusato_intake::rakuten_sync;

use crate::access::{Access, Audit, CurrentUser, Permission, Routes};
use crate::error::AppResult;
use crate::page::Layout;
use crate::state::AppState;

/// Registers `/intake`.
pub fn register(r: &mut Routes) {
    r.add(
        Method::GET,
        "/intake",
        Access::Perm(Permission::IntakeRun),
        Audit::None,
        "intake.view",
        get(show),
    );
}

#[derive(Template, WebTemplate)]
#[template(path = "intake.html")]
pub struct IntakePage {
    layout: Layout,
    /// (started, status label, badge class) of the last 楽天 run.
    last_run: Option<(String, &'static str, &'static str)>,
    rakuten_warnings: Vec<String>,
    open_reviews: i64,
    /// Donor pairs waiting in the matching review queue.
    pending_matches: i64,
}

/// `GET /intake`
pub async fn show(State(state): State<AppState>, user: CurrentUser) -> AppResult<IntakePage> {
    let db = &state.db;
    let last_run = intake_sync::runs(db, user.tenant, rakuten_sync::PORTAL, 1)
        .await?
        .into_iter()
        .next()
        .map(|r| {
            let class = match r.status.as_str() {
                intake_sync::run_status::SUCCEEDED => "paid",
                intake_sync::run_status::FAILED => "failed",
                _ => "unpaid",
            };
            (
                jst::format_datetime_ja(r.started_at),
                rakuten_sync::status_label_ja(&r.status),
                class,
            )
        });
    let rakuten_warnings = crate::notices::rakuten_warnings(db, user.tenant, jst::now_jst()).await;
    let open_reviews =
        intake_sync::open_review_count(db, user.tenant, rakuten_sync::PORTAL).await?;
    let pending_matches = furusato_db::matching::pending_count(db, user.tenant).await?;
    let layout = Layout::new(&state, &user, "取込", "/intake").await;
    Ok(IntakePage {
        layout,
        last_run,
        rakuten_warnings,
        open_reviews,
        pending_matches,
    })
}
