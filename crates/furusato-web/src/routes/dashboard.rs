//! The dashboard: donations and amounts by month of the current 年度 (April–March) and of the
//! calendar year (the tax year), by portal, and the number of unpaid donations. Every figure is one
//! aggregate of `furusato_db::dashboard`, labelled with what it counts.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use furusato_db::dashboard::{self, MonthFigure, PortalFigure};
use furusato_domain::{Portal, Yen, jst};
use serde::Deserialize;
use time::{Date, Month};

use crate::access::{CurrentUser, Permission};
use crate::error::AppResult;
use crate::page::{Layout, fmt_count};
use crate::state::AppState;

/// "/" sends each user to the start page of their role.
pub async fn home(user: CurrentUser) -> Response {
    if user.can(Permission::Dashboard) {
        Redirect::to("/dashboard").into_response()
    } else if user.can(Permission::PartnerOrders) {
        Redirect::to("/partner/orders").into_response()
    } else {
        Redirect::to("/account").into_response()
    }
}

/// One row of a month table, with a bar width for the small chart.
pub struct MonthRow {
    pub label: String,
    pub count: String,
    pub amount: String,
    pub bar: u32,
}

pub struct PortalRow {
    pub label: String,
    pub count: String,
    pub amount: String,
    pub share: String,
}

pub struct Period {
    pub title: String,
    pub range: String,
    pub months: Vec<MonthRow>,
    pub portals: Vec<PortalRow>,
    pub total_count: String,
    pub total_amount: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    layout: Layout,
    periods: Vec<Period>,
    fiscal_title: String,
    fiscal_count: String,
    fiscal_amount: String,
    calendar_amount: String,
    unpaid: String,
    year: i32,
    prev_fy: i32,
    next_fy: i32,
    warnings: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct DashboardQuery {
    /// 年度 to show (defaults to the current one).
    fy: Option<i32>,
}

fn months_of(from: Date, to: Date) -> Vec<(i32, Month)> {
    let mut out = vec![];
    let (mut y, mut m) = (from.year(), from.month());
    loop {
        out.push((y, m));
        if y == to.year() && m == to.month() {
            break;
        }
        if m == Month::December {
            y += 1;
        }
        m = m.next();
    }
    out
}

fn period(
    title: String,
    from: Date,
    to: Date,
    months: Vec<MonthFigure>,
    portals: Vec<PortalFigure>,
) -> Period {
    let max = months.iter().map(|m| m.amount).max().unwrap_or(0).max(1);
    let rows = months_of(from, to)
        .into_iter()
        .map(|(y, m)| {
            let key = format!("{y:04}-{:02}", m as u8);
            let f = months.iter().find(|f| f.month == key);
            let (count, amount) = f.map(|f| (f.count, f.amount)).unwrap_or((0, 0));
            MonthRow {
                label: format!("{y}年{}月", m as u8),
                count: fmt_count(count),
                amount: Yen::new(amount).to_string(),
                bar: ((amount as f64 / max as f64) * 100.0).round() as u32,
            }
        })
        .collect();
    let total_count: i64 = months.iter().map(|m| m.count).sum();
    let total_amount: i64 = months.iter().map(|m| m.amount).sum();
    let portal_rows = portals
        .iter()
        .map(|p| PortalRow {
            label: match p.portal.as_deref() {
                None => "直接（振込・窓口など）".to_string(),
                Some(s) => Portal::parse(s)
                    .map(|p| p.label_ja().to_string())
                    .unwrap_or_else(|_| s.to_string()),
            },
            count: fmt_count(p.count),
            amount: Yen::new(p.amount).to_string(),
            share: if total_amount > 0 {
                format!("{:.1}%", p.amount as f64 * 100.0 / total_amount as f64)
            } else {
                "—".into()
            },
        })
        .collect();
    Period {
        title,
        range: format!(
            "{} 〜 {}",
            jst::format_date_ja(from),
            jst::format_date_ja(to)
        ),
        months: rows,
        portals: portal_rows,
        total_count: fmt_count(total_count),
        total_amount: Yen::new(total_amount).to_string(),
    }
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<DashboardQuery>,
) -> AppResult<DashboardPage> {
    let today = jst::today_jst();
    let current_fy = jst::fiscal_year(today);
    let fy =
        q.fy.filter(|y| (2000..=2100).contains(y))
            .unwrap_or(current_fy);
    let (fy_from, fy_to) = jst::fiscal_year_range(fy);
    let year = today.year();
    let cal_from = Date::from_calendar_date(year, Month::January, 1).expect("valid date");
    let cal_to = Date::from_calendar_date(year, Month::December, 31).expect("valid date");
    let db = &state.db;
    let t = user.tenant;
    let fiscal = period(
        format!("{}年度", fy),
        fy_from,
        fy_to,
        dashboard::by_month(db, t, fy_from, fy_to).await?,
        dashboard::by_portal(db, t, fy_from, fy_to).await?,
    );
    let calendar = period(
        format!("{year}年（1月〜12月・税の年）"),
        cal_from,
        cal_to,
        dashboard::by_month(db, t, cal_from, cal_to).await?,
        dashboard::by_portal(db, t, cal_from, cal_to).await?,
    );
    let unpaid = dashboard::count_by_status(db, t, "unpaid").await?;
    let warnings = crate::notices::dashboard_warnings(&state, &user).await;
    let layout = Layout::new(&state, &user, "ダッシュボード", "/").await;
    Ok(DashboardPage {
        layout,
        fiscal_title: fiscal.title.clone(),
        fiscal_count: fiscal.total_count.clone(),
        fiscal_amount: fiscal.total_amount.clone(),
        calendar_amount: calendar.total_amount.clone(),
        periods: vec![fiscal, calendar],
        unpaid: fmt_count(unpaid),
        year,
        prev_fy: fy - 1,
        next_fy: fy + 1,
        warnings,
    })
}
