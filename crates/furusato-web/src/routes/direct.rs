//! Direct donations (`/donations/new`: bank transfer, 郵便振替, 納付書, cash at the counter) and
//! payment status changes of any donation (`/donations/{id}/payment`).
//!
//! The rules live in `furusato_intake::direct`; these handlers read the forms, show the Japanese
//! messages next to each field (keeping what was typed), and redirect to the donation page.

use askama::Template;
use askama_web::WebTemplate;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use furusato_db::{donations, donors, source_records};
use furusato_domain::{PaymentStatus, jst};
use furusato_intake::direct::{self, ChangeError, DIRECT_CHANNELS, DirectForm, FieldErrors};
use furusato_intake::imports::gift_master;

use crate::access::{Access, Audit, CurrentUser, Permission, Routes};
use crate::error::{AppError, AppResult};
use crate::page::Layout;
use crate::routes::donations::status_badge;
use crate::routes::donors::{amount_display, parse_id};
use crate::routes::imports::{Choice, actor, audited_redirect, form_pairs, form_value};
use crate::state::AppState;

/// Registers the entry form and the payment status screen.
pub fn register(r: &mut Routes) {
    let write = Access::Perm(Permission::LedgerWrite);
    r.add(
        Method::GET,
        "/donations/new",
        write,
        Audit::None,
        "donation.new",
        get(new_form),
    );
    r.add(
        Method::POST,
        "/donations/new",
        write,
        Audit::None,
        "donation.create",
        post(create),
    );
    r.add(
        Method::GET,
        "/donations/{id}/payment",
        write,
        Audit::PersonalView,
        "donation.payment_form",
        get(payment_form),
    );
    r.add(
        Method::POST,
        "/donations/{id}/payment",
        write,
        Audit::None,
        "donation.payment",
        post(change_payment),
    );
}

#[derive(Template, WebTemplate)]
#[template(path = "direct_new.html")]
pub struct NewDonationPage {
    layout: Layout,
    f: DirectForm,
    e: FieldErrors,
    channels: Vec<Choice>,
    gifts: Vec<Choice>,
    today: String,
}

async fn new_page(
    state: &AppState,
    user: &CurrentUser,
    f: DirectForm,
    e: FieldErrors,
) -> AppResult<NewDonationPage> {
    let channels = DIRECT_CHANNELS
        .iter()
        .map(|(c, m)| Choice {
            value: c.as_str().into(),
            label: format!("{}（{}）", c.label_ja(), m.label_ja()),
            selected: f.channel == c.as_str(),
        })
        .collect();
    let mut gifts = vec![Choice {
        value: String::new(),
        label: "返礼品なし".into(),
        selected: f.gift_code.is_empty(),
    }];
    let mut all = furusato_db::gifts::gifts(&state.db, user.tenant).await?;
    all.retain(|g| g.active);
    gifts.extend(all.iter().map(|g| Choice {
        value: g.code.clone(),
        label: format!(
            "{} {}（{}円）",
            g.code,
            g.name,
            furusato_domain::Yen::new(g.amount).format_number()
        ),
        selected: f.gift_code == g.code,
    }));
    Ok(NewDonationPage {
        layout: Layout::new(state, user, "寄附の登録（振込・窓口など）", "/donations").await,
        f,
        e,
        channels,
        gifts,
        today: jst::format_date_iso(jst::today_jst()),
    })
}

/// `GET /donations/new`
pub async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<NewDonationPage> {
    let f = DirectForm {
        donated_on: jst::format_date_iso(jst::today_jst()),
        channel: DIRECT_CHANNELS[0].0.as_str().into(),
        ..Default::default()
    };
    new_page(&state, &user, f, FieldErrors::default()).await
}

fn read_form(pairs: &[(String, String)]) -> DirectForm {
    let v = |k: &str| form_value(pairs, k);
    DirectForm {
        family_name: v("family_name"),
        given_name: v("given_name"),
        family_kana: v("family_kana"),
        given_kana: v("given_kana"),
        postal_code: v("postal_code"),
        prefecture: v("prefecture"),
        city: v("city"),
        address1: v("address1"),
        address2: v("address2"),
        phone: v("phone"),
        email: v("email"),
        amount: v("amount"),
        donated_on: v("donated_on"),
        channel: v("channel"),
        received_on: v("received_on"),
        use_of_funds: v("use_of_funds"),
        onestop_wanted: !v("onestop_wanted").is_empty(),
        gift_code: v("gift_code"),
        gift_quantity: v("gift_quantity"),
        note: pairs
            .iter()
            .rev()
            .find(|(k, _)| k == "note")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    }
}

/// `POST /donations/new`
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Bytes,
) -> AppResult<Response> {
    let form = read_form(&form_pairs(&body));
    let gifts = gift_master(&state.db, user.tenant).await?;
    let valid = match direct::validate(&form, jst::today_jst(), &gifts) {
        Ok(v) => v,
        Err(e) => {
            let mut resp = new_page(&state, &user, form, e).await?.into_response();
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(resp);
        }
    };
    let (id, _number) =
        direct::create(&state.db, user.tenant, &valid, &form, &actor(&user)).await?;
    Ok(audited_redirect(&format!("/donations/{id}?notice=created")))
}

// ---------------------------------------------------------------------------------------------
// Payment status

/// One change of the donation's history.
pub struct ChangeRow {
    pub at: String,
    pub actor: String,
    pub summary: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "direct_payment.html")]
pub struct PaymentPage {
    layout: Layout,
    id: String,
    number: String,
    donor: String,
    amount: String,
    donated_on: String,
    received_on: String,
    status: crate::routes::donations::StatusBadge,
    /// (action value, label, allowed now)
    actions: Vec<(&'static str, &'static str, bool)>,
    action: String,
    received_input: String,
    reason: String,
    e: FieldErrors,
    rule_error: Option<String>,
    changes: Vec<ChangeRow>,
    today: String,
}

#[allow(clippy::too_many_arguments)]
async fn payment_page(
    state: &AppState,
    user: &CurrentUser,
    id: uuid::Uuid,
    action: String,
    received_input: String,
    reason: String,
    e: FieldErrors,
    rule_error: Option<String>,
) -> AppResult<PaymentPage> {
    let d = donations::get(&state.db, user.tenant, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let donor = donors::get(&state.db, user.tenant, d.donor_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let from = PaymentStatus::parse(&d.payment_status).ok();
    let allowed = |a: &str| {
        matches!(
            (from, a),
            (Some(PaymentStatus::Unpaid), "paid" | "cancelled")
                | (Some(PaymentStatus::Paid), "paid" | "refunded" | "unpaid")
                | (
                    Some(PaymentStatus::Refunded | PaymentStatus::Cancelled),
                    "unpaid"
                )
        )
    };
    let actions = [
        (
            "paid",
            if from == Some(PaymentStatus::Paid) {
                "受領日を訂正する（入金済）"
            } else {
                "入金済にする"
            },
        ),
        ("refunded", "返金済にする"),
        ("cancelled", "取消にする"),
        (
            "unpaid",
            if from == Some(PaymentStatus::Cancelled) {
                "取消を解除して未入金に戻す"
            } else {
                "未入金に戻す"
            },
        ),
    ]
    .into_iter()
    .map(|(v, l)| (v, l, allowed(v)))
    .collect();
    let changes = source_records::changes(&state.db, user.tenant, id)
        .await?
        .into_iter()
        .rev()
        .map(|c| ChangeRow {
            at: jst::format_datetime_ja(c.at),
            actor: c.actor,
            summary: c.summary,
        })
        .collect();
    Ok(PaymentPage {
        layout: Layout::new(
            state,
            user,
            format!("入金状況の変更（寄附 {}）", d.donation_number),
            "/donations",
        )
        .await,
        id: d.id.to_string(),
        number: d.donation_number.clone(),
        donor: donor.full_name(),
        amount: amount_display(d.amount),
        donated_on: jst::format_date_ja(d.donated_on),
        received_on: d
            .received_on
            .map(jst::format_date_ja)
            .unwrap_or_else(|| "未受領".into()),
        status: status_badge(&d.payment_status),
        actions,
        action,
        received_input,
        reason,
        e,
        rule_error,
        changes,
        today: jst::format_date_iso(jst::today_jst()),
    })
}

/// `GET /donations/{id}/payment`
pub async fn payment_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> AppResult<PaymentPage> {
    let id = parse_id(&id)?;
    let today = jst::format_date_iso(jst::today_jst());
    payment_page(
        &state,
        &user,
        id,
        String::new(),
        today,
        String::new(),
        FieldErrors::default(),
        None,
    )
    .await
}

/// `POST /donations/{id}/payment` (action, received_on, reason)
pub async fn change_payment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let pairs = form_pairs(&body);
    let (action, received, reason) = (
        form_value(&pairs, "action"),
        form_value(&pairs, "received_on"),
        form_value(&pairs, "reason"),
    );
    let again = |e: FieldErrors, rule: Option<String>, status: StatusCode| {
        let (action, received, reason) = (action.clone(), received.clone(), reason.clone());
        let state = state.clone();
        let user = user.clone();
        async move {
            let mut resp = payment_page(&state, &user, id, action, received, reason, e, rule)
                .await?
                .into_response();
            *resp.status_mut() = status;
            Ok::<Response, AppError>(resp)
        }
    };
    let parsed = match direct::parse_action(&action, &received, &reason, jst::today_jst()) {
        Ok(a) => a,
        Err(e) => return again(e, None, StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    match direct::change_payment(&state.db, user.tenant, id, &parsed, &actor(&user)).await {
        Ok(_) => Ok(audited_redirect(&format!("/donations/{id}?notice=payment"))),
        Err(ChangeError::NotFound) => Err(AppError::NotFound),
        Err(ChangeError::Db(e)) => Err(e.into()),
        Err(e @ ChangeError::Rule(_)) => {
            again(
                FieldErrors::default(),
                Some(e.message_ja()),
                StatusCode::CONFLICT,
            )
            .await
        }
    }
}
