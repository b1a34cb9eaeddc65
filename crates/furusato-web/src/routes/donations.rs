//! The donation list (`/donations`) and the donation page (`/donations/{id}`).
//!
//! The list filters by 寄附日 period (date boxes, plus quick links for this and last 年度 and
//! calendar year), portal (including 直接: donations that came without a portal), payment status
//! and channel, newest first, 50 a page. Donors are masked as in the donor search (see
//! [`crate::routes::donors`]). A filter value that cannot be read (a date like 2026-02-30, an
//! unknown portal code in a hand-edited URL) is explained on the page in Japanese and no list is
//! shown, rather than a list that silently ignores the filter.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use axum::routing::get;
use furusato_db::donations::{self, DonationFilter};
use furusato_db::donors;
use furusato_domain::{Channel, DateError, PaymentMethod, PaymentStatus, Portal, WarekiError, jst};
use time::{Date, Month};
use uuid::Uuid;

use crate::access::{Access, Audit, CurrentUser, Permission, Routes};
use crate::error::{AppError, AppResult};
use crate::page::Layout;
use crate::routes::donors::{
    PER_PAGE, Pager, QueryParams, amount_display, lenient_page, masked_name, parse_id,
    phone_display, postal_display,
};
use crate::state::AppState;

/// Registers the donation screens.
pub fn register(r: &mut Routes) {
    let read = Access::Perm(Permission::LedgerRead);
    r.add(
        Method::GET,
        "/donations",
        read,
        Audit::None,
        "donation.list",
        get(list),
    );
    r.add(
        Method::GET,
        "/donations/{id}",
        read,
        Audit::PersonalView,
        "donation.view",
        get(show),
    );
}

/// The label of the value `portal = "direct"`: donations that came without a portal.
pub const DIRECT_LABEL: &str = "直接（振込・窓口など）";

/// A payment-status badge: the CSS class (the status code) and the Japanese label.
#[derive(Clone, Debug)]
pub struct StatusBadge {
    pub class: &'static str,
    pub label: String,
}

/// The badge of a stored payment status ("paid" → 入金済, class `paid`).
pub fn status_badge(code: &str) -> StatusBadge {
    match PaymentStatus::parse(code) {
        Ok(s) => StatusBadge {
            class: s.as_str(),
            label: s.label_ja().to_string(),
        },
        Err(_) => StatusBadge {
            class: "",
            label: code.to_string(),
        },
    }
}

/// How a donation came in: the portal's name, or the channel's (銀行振込, 窓口 …).
pub fn donation_route_label(channel: &str, portal: Option<&str>) -> String {
    match portal {
        Some(p) => Portal::parse(p)
            .map(|p| p.label_ja().to_string())
            .unwrap_or_else(|_| p.to_string()),
        None => Channel::parse(channel)
            .map(|c| c.label_ja().to_string())
            .unwrap_or_else(|_| channel.to_string()),
    }
}

/// One donation in a table (the donor page's list and the donation list).
pub struct DonationSummaryRow {
    pub id: Uuid,
    pub number: String,
    pub donated_on: String,
    pub route: String,
    pub external_id: String,
    pub amount: String,
    pub amount_known: bool,
    pub status: StatusBadge,
    pub received_on: String,
    pub onestop: bool,
}

// ---------------------------------------------------------------------------------------------
// Filters

/// The filter form as typed.
#[derive(Clone, Debug, Default)]
pub struct DonationForm {
    pub from: String,
    pub to: String,
    pub portal: String,
    pub payment_status: String,
    pub channel: String,
}

/// A `<select>` option.
pub struct Opt {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// A quick period link (今年度, 前年度 …).
pub struct QuickLink {
    pub label: String,
    pub href: String,
    pub active: bool,
}

impl DonationForm {
    pub fn from_params(p: &QueryParams) -> DonationForm {
        DonationForm {
            from: p.value("from"),
            to: p.value("to"),
            portal: p.value("portal"),
            payment_status: p.value("payment_status"),
            channel: p.value("channel"),
        }
    }

    pub fn params(&self) -> Vec<(&'static str, String)> {
        vec![
            ("from", self.from.clone()),
            ("to", self.to.clone()),
            ("portal", self.portal.clone()),
            ("payment_status", self.payment_status.clone()),
            ("channel", self.channel.clone()),
        ]
    }

    /// Reads every filter; the errors are Japanese sentences naming the box.
    pub fn to_filter(&self) -> Result<DonationFilter, Vec<String>> {
        let mut errors = Vec::new();
        let mut f = DonationFilter::default();
        let mut date = |label: &str, v: &str| -> Option<Date> {
            if v.is_empty() {
                return None;
            }
            match jst::parse_date(v) {
                Ok(d) => Some(d),
                Err(e) => {
                    errors.push(format!("{label}: {}", date_message(&e)));
                    None
                }
            }
        };
        f.from = date("寄附日（開始）", &self.from);
        f.to = date("寄附日（終了）", &self.to);
        if let (Some(a), Some(b)) = (f.from, f.to)
            && a > b
        {
            errors.push(
                "寄附日の開始日が終了日より後になっています。期間を確認してください。".into(),
            );
        }
        if !self.portal.is_empty() {
            if self.portal == "direct" {
                f.portal = Some("direct".into());
            } else {
                match Portal::parse(&self.portal) {
                    Ok(p) => f.portal = Some(p.as_str().into()),
                    Err(_) => errors
                        .push("ポータルの指定が正しくありません。一覧から選んでください。".into()),
                }
            }
        }
        if !self.payment_status.is_empty() {
            match PaymentStatus::parse(&self.payment_status) {
                Ok(s) => f.payment_status = Some(s.as_str().into()),
                Err(_) => {
                    errors.push("入金状況の指定が正しくありません。一覧から選んでください。".into())
                }
            }
        }
        if !self.channel.is_empty() {
            match Channel::parse(&self.channel) {
                Ok(c) => f.channel = Some(c.as_str().into()),
                Err(_) => {
                    errors.push("受付経路の指定が正しくありません。一覧から選んでください。".into())
                }
            }
        }
        if errors.is_empty() {
            Ok(f)
        } else {
            Err(errors)
        }
    }

    fn portal_options(&self) -> Vec<Opt> {
        let mut v = vec![
            Opt {
                value: "",
                label: "すべて",
                selected: self.portal.is_empty(),
            },
            Opt {
                value: "direct",
                label: DIRECT_LABEL,
                selected: self.portal == "direct",
            },
        ];
        let current = Portal::parse(&self.portal).ok();
        v.extend(Portal::ALL.iter().map(|p| Opt {
            value: p.as_str(),
            label: p.label_ja(),
            selected: current == Some(*p),
        }));
        v
    }

    fn status_options(&self) -> Vec<Opt> {
        let current = PaymentStatus::parse(&self.payment_status).ok();
        let mut v = vec![Opt {
            value: "",
            label: "すべて",
            selected: current.is_none(),
        }];
        v.extend(PaymentStatus::ALL.iter().map(|s| Opt {
            value: s.as_str(),
            label: s.label_ja(),
            selected: current == Some(*s),
        }));
        v
    }

    fn channel_options(&self) -> Vec<Opt> {
        let current = Channel::parse(&self.channel).ok();
        let mut v = vec![Opt {
            value: "",
            label: "すべて",
            selected: current.is_none(),
        }];
        v.extend(Channel::ALL.iter().map(|c| Opt {
            value: c.as_str(),
            label: c.label_ja(),
            selected: current == Some(*c),
        }));
        v
    }

    /// 今年度 / 前年度 / 今年 / 前年, keeping the other filters.
    fn quick_links(&self, today: Date) -> Vec<QuickLink> {
        let fy = jst::fiscal_year(today);
        let year = today.year();
        let jan1 = |y| Date::from_calendar_date(y, Month::January, 1).expect("valid date");
        let dec31 = |y| Date::from_calendar_date(y, Month::December, 31).expect("valid date");
        let periods = [
            (format!("今年度（{fy}年度）"), jst::fiscal_year_range(fy)),
            (
                format!("前年度（{}年度）", fy - 1),
                jst::fiscal_year_range(fy - 1),
            ),
            (format!("今年（{year}年）"), (jan1(year), dec31(year))),
            (
                format!("前年（{}年）", year - 1),
                (jan1(year - 1), dec31(year - 1)),
            ),
        ];
        periods
            .into_iter()
            .map(|(label, (from, to))| {
                let form = DonationForm {
                    from: jst::format_date_iso(from),
                    to: jst::format_date_iso(to),
                    ..self.clone()
                };
                let active = jst::parse_date(&self.from).ok() == Some(from)
                    && jst::parse_date(&self.to).ok() == Some(to);
                QuickLink {
                    label,
                    href: crate::routes::donors::page_href("/donations", &form.params(), 1),
                    active,
                }
            })
            .collect()
    }

    /// The value for an `<input type="date">`: ISO when readable, as typed otherwise.
    fn date_value(v: &str) -> String {
        jst::parse_date(v)
            .map(jst::format_date_iso)
            .unwrap_or_else(|_| v.to_string())
    }
}

/// The message for a date that could not be read. Text that does not start with a digit is read
/// as 和暦, so "tomorrow" fails as a 和暦 (T = 大正); the message shows both accepted spellings.
fn date_message(e: &DateError) -> &'static str {
    match e {
        DateError::Syntax | DateError::Wareki(WarekiError::UnknownEra | WarekiError::Syntax) => {
            "日付の形式が正しくありません（例: 2026-12-24、令和8年12月24日）。"
        }
        other => other.message_ja(),
    }
}

// ---------------------------------------------------------------------------------------------
// List page

/// One line of the donation list (donor masked).
pub struct DonationListRowView {
    pub row: DonationSummaryRow,
    pub donor: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "donations.html")]
pub struct DonationsPage {
    layout: Layout,
    from: String,
    to: String,
    portals: Vec<Opt>,
    statuses: Vec<Opt>,
    channels: Vec<Opt>,
    quick: Vec<QuickLink>,
    errors: Vec<String>,
    rows: Vec<DonationListRowView>,
    pager: Option<Pager>,
    filtered: bool,
    /// CSV export of the same filters (Export permission).
    export_href: Option<String>,
    /// Entry of a direct donation (LedgerWrite).
    can_write: bool,
}

/// `GET /donations`
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> AppResult<DonationsPage> {
    let p = QueryParams::parse(raw.as_deref());
    let form = DonationForm::from_params(&p);
    let layout = Layout::new(&state, &user, "寄附一覧", "/donations").await;
    let mut page = DonationsPage {
        layout,
        from: DonationForm::date_value(&form.from),
        to: DonationForm::date_value(&form.to),
        portals: form.portal_options(),
        statuses: form.status_options(),
        channels: form.channel_options(),
        quick: form.quick_links(jst::today_jst()),
        errors: vec![],
        rows: vec![],
        pager: None,
        filtered: form.params().iter().any(|(_, v)| !v.is_empty()),
        export_href: None,
        can_write: user.can(Permission::LedgerWrite),
    };
    let filter = match form.to_filter() {
        Ok(f) => f,
        Err(errors) => {
            page.errors = errors;
            return Ok(page);
        }
    };
    let result =
        donations::list(&state.db, user.tenant, &filter, lenient_page(&p), PER_PAGE).await?;
    page.rows = result
        .items
        .iter()
        .map(|x| DonationListRowView {
            donor: masked_name(&x.family_name, &x.given_name),
            row: DonationSummaryRow {
                id: x.id,
                number: x.donation_number.clone(),
                donated_on: jst::format_date_ja(x.donated_on),
                route: donation_route_label(&x.channel, x.portal.as_deref()),
                external_id: x.external_id.clone().unwrap_or_default(),
                amount: amount_display(x.amount),
                amount_known: x.amount.is_some(),
                status: status_badge(&x.payment_status),
                received_on: x.received_on.map(jst::format_date_ja).unwrap_or_default(),
                onestop: x.onestop_wanted,
            },
        })
        .collect();
    // Quick links and the form normalise dates to ISO; the pager keeps what was asked.
    let mut params = form.params();
    for (k, v) in params.iter_mut() {
        if matches!(*k, "from" | "to") {
            *v = DonationForm::date_value(v);
        }
    }
    if user.can(Permission::Export) && !result.items.is_empty() {
        page.export_href = Some(crate::routes::donors::page_href(
            "/donations/export",
            &params,
            1,
        ));
    }
    page.pager = Some(Pager::new(&result, "/donations", &params));
    Ok(page)
}

// ---------------------------------------------------------------------------------------------
// Detail page

/// A label for a yes/no field.
fn yes_no(b: bool) -> &'static str {
    if b { "あり" } else { "なし" }
}

/// Every field of a donation, ready to show.
pub struct DonationView {
    pub id: Uuid,
    pub number: String,
    pub donated_on: String,
    pub received_on: String,
    pub applied_at: String,
    pub channel: String,
    pub portal: String,
    pub external_id: String,
    pub amount: String,
    pub payment_method: String,
    pub status: StatusBadge,
    pub use_of_funds: String,
    pub onestop: &'static str,
    pub receipt: &'static str,
    pub gift_declined: &'static str,
    pub note: String,
    pub created_at: String,
    pub updated_at: String,
}

pub struct ItemRow {
    pub line_no: i64,
    pub gift_code: String,
    pub name: String,
    pub quantity: i64,
    pub amount: String,
    pub ship_to: String,
}

pub struct ShipToRow {
    pub seq: i64,
    pub name: String,
    pub kana: String,
    pub postal_code: String,
    pub address: String,
    pub phone: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "donations_show.html")]
pub struct DonationPage {
    layout: Layout,
    d: DonationView,
    donor_id: Uuid,
    donor_name: String,
    donor_kana: String,
    items: Vec<ItemRow>,
    ship_tos: Vec<ShipToRow>,
    /// What changed and why (sync updates, cancellations, payment changes), oldest first.
    changes: Vec<ChangeRow>,
    can_write: bool,
}

pub struct ChangeRow {
    pub at: String,
    pub source: String,
    pub actor: String,
    pub summary: String,
}

/// `GET /donations/{id}` (each successful view is audited as `donation.view` by the guard).
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> AppResult<DonationPage> {
    let id = parse_id(&id)?;
    let notice = match QueryParams::parse(raw.as_deref()).get("notice") {
        Some("created") => Some("寄附を登録しました。".to_string()),
        Some("payment") => Some("入金状況を更新しました。".to_string()),
        _ => None,
    };
    let db = &state.db;
    let x = donations::get(db, user.tenant, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let donor = donors::get(db, user.tenant, x.donor_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let items = donations::items(db, user.tenant, id).await?;
    let ship_tos = donations::ship_tos(db, user.tenant, id).await?;
    let seq_of = |sid: Option<Uuid>| {
        sid.and_then(|sid| ship_tos.iter().find(|s| s.id == sid))
            .map(|s| format!("送付先{}", s.seq))
            .unwrap_or_default()
    };
    let item_rows = items
        .iter()
        .map(|i| ItemRow {
            line_no: i.line_no,
            gift_code: i.gift_code.clone(),
            name: i.name.clone(),
            quantity: i.quantity,
            amount: i
                .amount
                .map(amount_display_known)
                .unwrap_or_else(|| "—".into()),
            ship_to: seq_of(i.ship_to_id),
        })
        .collect();
    let ship_rows = ship_tos
        .iter()
        .map(|s| ShipToRow {
            seq: s.seq,
            name: s.name.clone(),
            kana: s.kana.clone(),
            postal_code: postal_display(&s.postal_code),
            address: s.address.clone(),
            phone: phone_display(&s.phone),
        })
        .collect();
    let view = DonationView {
        id: x.id,
        number: x.donation_number.clone(),
        donated_on: jst::format_date_ja(x.donated_on),
        received_on: x
            .received_on
            .map(jst::format_date_ja)
            .unwrap_or_else(|| "未受領".into()),
        applied_at: x
            .applied_at
            .map(jst::format_datetime_ja)
            .unwrap_or_else(|| "—".into()),
        channel: Channel::parse(&x.channel)
            .map(|c| c.label_ja().to_string())
            .unwrap_or_else(|_| x.channel.clone()),
        portal: match x.portal.as_deref() {
            Some(p) => Portal::parse(p)
                .map(|p| p.label_ja().to_string())
                .unwrap_or_else(|_| p.to_string()),
            None => "なし（直接）".into(),
        },
        external_id: x.external_id.clone().unwrap_or_else(|| "—".into()),
        amount: amount_display(x.amount),
        payment_method: PaymentMethod::parse(&x.payment_method)
            .map(|m| m.label_ja().to_string())
            .unwrap_or_else(|_| x.payment_method.clone()),
        status: status_badge(&x.payment_status),
        use_of_funds: if x.use_of_funds.is_empty() {
            "指定なし".into()
        } else {
            x.use_of_funds.clone()
        },
        onestop: if x.onestop_wanted {
            "希望する"
        } else {
            "希望しない"
        },
        receipt: if x.receipt_wanted {
            "希望する"
        } else {
            "希望しない"
        },
        gift_declined: yes_no(x.gift_declined),
        note: x.note.clone(),
        created_at: jst::format_datetime_ja(x.created_at),
        updated_at: jst::format_datetime_ja(x.updated_at),
    };
    let layout = Layout::new(
        &state,
        &user,
        format!("寄附 {}", x.donation_number),
        "/donations",
    )
    .await
    .with_notice(notice);
    Ok(DonationPage {
        layout,
        d: view,
        donor_id: donor.id,
        donor_name: donor.full_name(),
        donor_kana: donor.full_kana(),
        items: item_rows,
        ship_tos: ship_rows,
        changes: furusato_db::source_records::changes(db, user.tenant, id)
            .await?
            .into_iter()
            .map(|c| ChangeRow {
                at: jst::format_datetime_ja(c.at),
                source: change_source_label(&c.source),
                actor: c.actor,
                summary: c.summary,
            })
            .collect(),
        can_write: user.can(Permission::LedgerWrite),
    })
}

/// Where a change came from, for the history table.
fn change_source_label(source: &str) -> String {
    match source {
        "rakuten" => "楽天同期".into(),
        "manual" => "手入力".into(),
        "payments" => "入金消込".into(),
        "merge" => "名寄せ".into(),
        s if s.starts_with("csv:") => format!("CSV取込（{}）", &s[4..]),
        s => s.to_string(),
    }
}

fn amount_display_known(a: i64) -> String {
    amount_display(Some(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_read_with_japanese_errors() {
        let f = DonationForm {
            from: "2026/4/1".into(),
            to: "令和9年3月31日".into(),
            portal: "direct".into(),
            payment_status: "未入金".into(),
            channel: "bank_transfer".into(),
        }
        .to_filter()
        .unwrap();
        assert_eq!(
            f.from.map(jst::format_date_iso).as_deref(),
            Some("2026-04-01")
        );
        assert_eq!(
            f.to.map(jst::format_date_iso).as_deref(),
            Some("2027-03-31")
        );
        assert_eq!(f.portal.as_deref(), Some("direct"));
        assert_eq!(f.payment_status.as_deref(), Some("unpaid"));
        let errors = DonationForm {
            from: "2026-02-30".into(),
            to: "2025-01-01".into(),
            portal: "amazon".into(),
            ..Default::default()
        }
        .to_filter()
        .unwrap_err();
        assert!(
            errors[0].starts_with("寄附日（開始）: 存在しない日付です"),
            "{errors:?}"
        );
        assert!(errors.iter().any(|e| e.contains("ポータル")));
        let errors = DonationForm {
            from: "2026-04-02".into(),
            to: "2026-04-01".into(),
            ..Default::default()
        }
        .to_filter()
        .unwrap_err();
        assert!(errors[0].contains("開始日が終了日より後"));
    }

    #[test]
    fn routes_and_badges() {
        assert_eq!(
            donation_route_label("portal", Some("rakuten")),
            "楽天ふるさと納税"
        );
        assert_eq!(donation_route_label("bank_transfer", None), "銀行振込");
        assert_eq!(status_badge("paid").label, "入金済");
        assert_eq!(status_badge("paid").class, "paid");
    }
}
