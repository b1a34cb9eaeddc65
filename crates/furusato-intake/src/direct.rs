//! Direct donations (bank transfer, 郵便振替, 納付書, cash at the counter) entered by an operator,
//! and payment status changes of any donation.
//!
//! # Entry ([`validate`] → [`create`])
//! The form is checked field by field with Japanese messages ([`FieldErrors`]); a valid entry
//! gets a 寄附番号, its donor is resolved through [`crate::matching::resolve_donor`] (source
//! `manual`, external id = the new 寄附番号), and the donation, its optional gift line, the form as
//! a source record and an audit entry are written in one transaction. 受領日: as entered; for cash
//! at the counter it defaults to the 寄附日 (the money is received on the spot); otherwise the
//! donation is unpaid until its payment is recorded.
//!
//! # Payment status ([`change_payment`])
//! | from \ to | 入金済 (受領日 required, not in the future, not before 寄附日) | 返金済 | 取消 (reason) | 未入金 (reason) |
//! |---|---|---|---|---|
//! | 未入金 | yes | — | yes | — |
//! | 入金済 | only to correct the 受領日 | yes | no: refund instead | yes (the matched payment record goes back to the unmatched list) |
//! | 返金済 | no | — | no | yes |
//! | 取消 | no: restore to 未入金 first | — | — | yes (restore) |
//!
//! Every change writes a `donation_changes` record and an audit entry in the same transaction,
//! and only applies if the status is still the one shown to the operator.

use std::collections::BTreeMap;

use furusato_db::audit;
use furusato_db::dialect::bulk_insert;
use furusato_db::donations::{self, Donation, NewDonation, NewDonationItem};
use furusato_db::donors::NewDonor;
use furusato_db::imports as store;
use furusato_db::source_records::{self, NewSourceRecord};
use furusato_db::{Db, DbError, MunicipalityId, new_id, now_utc};
use furusato_domain::{
    Channel, Email, PaymentMethod, PaymentStatus, PhoneNumber, PostalCode, Prefecture, jst, kana,
};
use serde::Serialize;
use time::Date;
use uuid::Uuid;

use crate::imports::{Actor, GiftMaster};
use crate::matching::{self, SourceRef};

/// The channels a direct donation can come through, with the payment method each implies.
pub const DIRECT_CHANNELS: [(Channel, PaymentMethod); 4] = [
    (Channel::BankTransfer, PaymentMethod::BankTransfer),
    (Channel::PostalTransfer, PaymentMethod::PostalTransfer),
    (Channel::PaymentSlip, PaymentMethod::PaymentSlip),
    (Channel::Counter, PaymentMethod::Cash),
];

/// The entry form as typed (every field a string, so that it can be shown again on error).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DirectForm {
    pub family_name: String,
    pub given_name: String,
    pub family_kana: String,
    pub given_kana: String,
    pub postal_code: String,
    pub prefecture: String,
    pub city: String,
    pub address1: String,
    pub address2: String,
    pub phone: String,
    pub email: String,
    pub amount: String,
    pub donated_on: String,
    /// `Channel::as_str()` of one of [`DIRECT_CHANNELS`].
    pub channel: String,
    /// 受領日 (optional).
    pub received_on: String,
    pub use_of_funds: String,
    pub onestop_wanted: bool,
    /// 返礼品コード from the gift master (optional).
    pub gift_code: String,
    pub gift_quantity: String,
    pub note: String,
}

/// Japanese messages by form field name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FieldErrors(pub BTreeMap<&'static str, String>);

impl FieldErrors {
    fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    /// The message of a field, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A checked entry.
#[derive(Clone, Debug)]
pub struct ValidDirect {
    pub donor: NewDonor,
    pub channel: Channel,
    pub payment_method: PaymentMethod,
    pub amount: i64,
    pub donated_on: Date,
    pub received_on: Option<Date>,
    pub use_of_funds: String,
    pub onestop_wanted: bool,
    /// (code, gift id, version id, name, quantity)
    pub gift: Option<(String, Uuid, Uuid, String, i64)>,
    pub note: String,
}

fn too_long(s: &str, max: usize) -> bool {
    s.chars().count() > max
}

/// Checks the form; `today` is the JST date (dates may not be in the future).
pub fn validate(
    f: &DirectForm,
    today: Date,
    gifts: &GiftMaster,
) -> Result<ValidDirect, FieldErrors> {
    let mut e = FieldErrors::default();
    let t = |s: &str| s.trim().to_string();
    let family_name = t(&f.family_name);
    if family_name.is_empty() {
        e.add("family_name", "姓（または団体名）を入力してください。");
    } else if too_long(&family_name, 50) {
        e.add("family_name", "姓は50文字以内で入力してください。");
    }
    if too_long(f.given_name.trim(), 50) {
        e.add("given_name", "名は50文字以内で入力してください。");
    }
    let family_kana = kana::to_katakana(f.family_kana.trim());
    let given_kana = kana::to_katakana(f.given_kana.trim());
    if family_kana.is_empty() {
        e.add("family_kana", "フリガナ（セイ）を入力してください。");
    } else if !kana::is_katakana_name(&family_kana) {
        e.add(
            "family_kana",
            "フリガナ（セイ）はカタカナで入力してください。",
        );
    }
    if !given_kana.is_empty() && !kana::is_katakana_name(&given_kana) {
        e.add(
            "given_kana",
            "フリガナ（メイ）はカタカナで入力してください。",
        );
    }
    let postal = match PostalCode::parse(&f.postal_code) {
        Ok(p) => p.as_str().to_string(),
        Err(err) => {
            e.add("postal_code", err.message_ja());
            String::new()
        }
    };
    let prefecture = match Prefecture::from_name(f.prefecture.trim()) {
        Some(p) => p.name().to_string(),
        None if f.prefecture.trim().is_empty() => {
            e.add("prefecture", "都道府県を入力してください。");
            String::new()
        }
        None => {
            e.add("prefecture", "都道府県名が正しくありません（例: 宮城県）。");
            String::new()
        }
    };
    if f.city.trim().is_empty() {
        e.add("city", "市区町村を入力してください。");
    }
    if f.address1.trim().is_empty() {
        e.add("address1", "町名・番地を入力してください。");
    }
    for (field, v, label) in [
        ("city", &f.city, "市区町村"),
        ("address1", &f.address1, "町名・番地"),
        ("address2", &f.address2, "建物名"),
    ] {
        if too_long(v.trim(), 100) {
            e.add(field, format!("{label}は100文字以内で入力してください。"));
        }
    }
    let phone = if f.phone.trim().is_empty() {
        String::new()
    } else {
        match PhoneNumber::parse(&f.phone) {
            Ok(p) => p.formatted(),
            Err(err) => {
                e.add("phone", err.message_ja());
                String::new()
            }
        }
    };
    let email = if f.email.trim().is_empty() {
        String::new()
    } else {
        match Email::parse(&f.email) {
            Ok(m) => m.as_str().to_string(),
            Err(err) => {
                e.add("email", err.message_ja());
                String::new()
            }
        }
    };
    let amount = match furusato_portals::csv_import::parse_amount(&f.amount) {
        _ if f.amount.trim().is_empty() => {
            e.add("amount", "寄附金額を入力してください。");
            0
        }
        Some(a) if a > 10_000_000_000 => {
            e.add("amount", "寄附金額が大きすぎます。");
            0
        }
        Some(a) => a,
        None => {
            e.add(
                "amount",
                "寄附金額は1円以上の整数で入力してください（例: 10000）。",
            );
            0
        }
    };
    let date = |e: &mut FieldErrors, field: &'static str, label: &str, raw: &str| -> Option<Date> {
        match jst::parse_date(raw) {
            Ok(d) if d > today => {
                e.add(field, format!("{label}に未来の日付は指定できません。"));
                None
            }
            Ok(d) => Some(d),
            Err(err) => {
                e.add(field, format!("{label}: {}", err.message_ja()));
                None
            }
        }
    };
    let donated_on = if f.donated_on.trim().is_empty() {
        e.add("donated_on", "寄附日を入力してください。");
        None
    } else {
        date(&mut e, "donated_on", "寄附日", &f.donated_on)
    };
    let channel = DIRECT_CHANNELS
        .iter()
        .find(|(c, _)| Channel::parse(&f.channel) == Ok(*c))
        .copied();
    if channel.is_none() {
        e.add(
            "channel",
            "受付経路（銀行振込・郵便振替・納付書・窓口）を選んでください。",
        );
    }
    let mut received_on = if f.received_on.trim().is_empty() {
        None
    } else {
        date(&mut e, "received_on", "受領日", &f.received_on)
    };
    if let (Some(r), Some(d)) = (received_on, donated_on)
        && r < d
    {
        e.add(
            "received_on",
            "受領日は寄附日以降の日付を入力してください。",
        );
    }
    if received_on.is_none()
        && f.received_on.trim().is_empty()
        && matches!(channel, Some((Channel::Counter, _)))
    {
        received_on = donated_on;
    }
    if too_long(f.use_of_funds.trim(), 100) {
        e.add("use_of_funds", "使い道は100文字以内で入力してください。");
    }
    if too_long(f.note.trim(), 1000) {
        e.add("note", "備考は1000文字以内で入力してください。");
    }
    let gift = if f.gift_code.trim().is_empty() {
        None
    } else {
        let quantity = if f.gift_quantity.trim().is_empty() {
            Some(1)
        } else {
            furusato_portals::csv_import::parse_quantity(&f.gift_quantity).map(i64::from)
        };
        match (gifts.get(f.gift_code.trim()), quantity) {
            (None, _) => {
                e.add(
                    "gift_code",
                    "返礼品が見つかりません。一覧から選んでください。",
                );
                None
            }
            (_, None) => {
                e.add("gift_quantity", "数量は1以上の整数で入力してください。");
                None
            }
            (Some(g), Some(q)) => Some((
                f.gift_code.trim().to_string(),
                g.gift_id,
                g.version_id,
                g.name.clone(),
                q,
            )),
        }
    };
    if !e.is_empty() {
        return Err(e);
    }
    let (channel, payment_method) = channel.expect("checked above");
    Ok(ValidDirect {
        donor: NewDonor {
            family_name,
            given_name: t(&f.given_name),
            family_kana,
            given_kana,
            postal_code: postal,
            prefecture,
            city: t(&f.city),
            address1: t(&f.address1),
            address2: t(&f.address2),
            phone,
            email,
            sex: String::new(),
            birth_date: None,
        },
        channel,
        payment_method,
        amount,
        donated_on: donated_on.expect("checked above"),
        received_on,
        use_of_funds: t(&f.use_of_funds),
        onestop_wanted: f.onestop_wanted,
        gift,
        note: f.note.trim().to_string(),
    })
}

/// Records a checked entry; returns (donation id, 寄附番号).
pub async fn create(
    db: &Db,
    tenant: MunicipalityId,
    v: &ValidDirect,
    form: &DirectForm,
    actor: &Actor,
) -> Result<(Uuid, String), DbError> {
    let mut tx = db.begin().await?;
    let fy = jst::fiscal_year(v.donated_on);
    let number = donations::reserve_numbers(&mut tx, tenant, fy, 1)
        .await?
        .remove(0);
    let resolved = matching::resolve_donor(
        &mut tx,
        tenant,
        &v.donor,
        SourceRef {
            source: "manual",
            external_id: &number,
        },
    )
    .await?;
    let status = if v.received_on.is_some() {
        PaymentStatus::Paid
    } else {
        PaymentStatus::Unpaid
    };
    let id = new_id();
    let now = now_utc();
    let nd = NewDonation {
        donor_id: resolved.donor_id,
        channel: v.channel.as_str().to_string(),
        portal: None,
        external_id: None,
        amount: Some(v.amount),
        donated_on: v.donated_on,
        received_on: v.received_on,
        applied_at: None,
        payment_method: v.payment_method.as_str().to_string(),
        payment_status: status.as_str().to_string(),
        use_of_funds: v.use_of_funds.clone(),
        onestop_wanted: v.onestop_wanted,
        receipt_wanted: true,
        gift_declined: v.gift.is_none(),
        note: v.note.clone(),
    };
    bulk_insert(
        &mut tx,
        "donations",
        &donations::INSERT_COLUMNS,
        vec![donations::insert_row(id, tenant, number.clone(), &nd, now)],
        "",
    )
    .await?;
    if let Some((code, gift_id, version_id, name, quantity)) = &v.gift {
        let item = NewDonationItem {
            gift_id: Some(*gift_id),
            gift_version_id: Some(*version_id),
            gift_code: code.clone(),
            name: name.clone(),
            quantity: *quantity,
            amount: None,
            ship_to_id: None,
        };
        bulk_insert(
            &mut tx,
            "donation_items",
            &donations::ITEM_INSERT_COLUMNS,
            vec![donations::item_insert_row(tenant, id, 1, &item)],
            "",
        )
        .await?;
    }
    let raw = serde_json::to_vec(form).unwrap_or_default();
    source_records::put(
        &mut tx,
        tenant,
        &NewSourceRecord {
            source: "manual",
            external_id: &number,
            raw: &raw,
            donation_id: Some(id),
            donor_id: Some(resolved.donor_id),
            import_id: None,
            sync_run_id: None,
            received_at: now,
        },
    )
    .await?;
    audit::append(
        &mut tx,
        &actor.entry(
            "donation.create",
            "donation",
            id,
            serde_json::json!({"channel": v.channel.as_str(), "paid": v.received_on.is_some(), "donor_link": resolved.link.as_str()}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok((id, number))
}

/// A payment status change asked for by an operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentAction {
    /// 入金済 with 受領日.
    MarkPaid { received_on: Date },
    /// 返金済.
    Refund { reason: String },
    /// 取消 (reason required).
    Cancel { reason: String },
    /// Back to 未入金 (reason required); also restores a cancelled donation.
    Restore { reason: String },
}

impl PaymentAction {
    fn target(&self) -> PaymentStatus {
        match self {
            PaymentAction::MarkPaid { .. } => PaymentStatus::Paid,
            PaymentAction::Refund { .. } => PaymentStatus::Refunded,
            PaymentAction::Cancel { .. } => PaymentStatus::Cancelled,
            PaymentAction::Restore { .. } => PaymentStatus::Unpaid,
        }
    }

    fn reason(&self) -> &str {
        match self {
            PaymentAction::MarkPaid { .. } => "",
            PaymentAction::Refund { reason }
            | PaymentAction::Cancel { reason }
            | PaymentAction::Restore { reason } => reason,
        }
    }
}

/// Reads the payment form: `action` is `paid`, `refunded`, `cancelled` or `unpaid`.
pub fn parse_action(
    action: &str,
    received_on: &str,
    reason: &str,
    today: Date,
) -> Result<PaymentAction, FieldErrors> {
    let mut e = FieldErrors::default();
    let reason = reason.trim().to_string();
    if too_long(&reason, 500) {
        e.add("reason", "理由は500文字以内で入力してください。");
    }
    let out = match action {
        "paid" => match jst::parse_date(received_on) {
            _ if received_on.trim().is_empty() => {
                e.add("received_on", "受領日を入力してください。");
                None
            }
            Ok(d) if d > today => {
                e.add("received_on", "受領日に未来の日付は指定できません。");
                None
            }
            Ok(d) => Some(PaymentAction::MarkPaid { received_on: d }),
            Err(err) => {
                e.add("received_on", format!("受領日: {}", err.message_ja()));
                None
            }
        },
        "refunded" => Some(PaymentAction::Refund {
            reason: reason.clone(),
        }),
        "cancelled" | "unpaid" if reason.is_empty() => {
            e.add(
                "reason",
                if action == "cancelled" {
                    "取消の理由を入力してください。"
                } else {
                    "未入金に戻す理由を入力してください。"
                },
            );
            None
        }
        "cancelled" => Some(PaymentAction::Cancel {
            reason: reason.clone(),
        }),
        "unpaid" => Some(PaymentAction::Restore {
            reason: reason.clone(),
        }),
        _ => {
            e.add("action", "変更後の入金状況を選んでください。");
            None
        }
    };
    match out {
        Some(a) if e.is_empty() => Ok(a),
        _ => Err(e),
    }
}

/// Why a payment change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("donation not found")]
    NotFound,
    /// The change is not allowed from the current status (Japanese message).
    #[error("payment change refused: {0}")]
    Rule(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl ChangeError {
    pub fn message_ja(&self) -> String {
        match self {
            ChangeError::NotFound => "寄附が見つかりません。".into(),
            ChangeError::Rule(m) => m.clone(),
            ChangeError::Db(_) => {
                "システムエラーが発生しました。時間をおいて再度お試しください。".into()
            }
        }
    }
}

/// Checks a change against the rules (see the module doc) without writing.
pub fn check_change(d: &Donation, action: &PaymentAction) -> Result<(), ChangeError> {
    let from = PaymentStatus::parse(&d.payment_status)
        .map_err(|_| ChangeError::Rule("入金状況が不明な寄附は変更できません。".into()))?;
    use PaymentStatus as S;
    let rule = |m: &str| Err(ChangeError::Rule(m.to_string()));
    match (from, action) {
        (S::Unpaid, PaymentAction::MarkPaid { .. }) => {}
        (S::Paid, PaymentAction::MarkPaid { received_on })
            if d.received_on == Some(*received_on) =>
        {
            return rule("すでにこの受領日で入金済です。");
        }
        (S::Paid, PaymentAction::MarkPaid { .. }) => {}
        (S::Cancelled, PaymentAction::MarkPaid { .. }) => {
            return rule(
                "取消された寄附は入金済にできません。先に「未入金に戻す」で取消を解除してから、入金済にしてください。",
            );
        }
        (S::Refunded, PaymentAction::MarkPaid { .. }) => {
            return rule("返金済の寄附は入金済にできません。");
        }
        (S::Paid, PaymentAction::Refund { .. }) => {}
        (_, PaymentAction::Refund { .. }) => {
            return rule("返金済にできるのは入金済の寄附だけです。");
        }
        (S::Unpaid, PaymentAction::Cancel { .. }) => {}
        (S::Paid, PaymentAction::Cancel { .. }) => {
            return rule("入金済の寄附は取消できません。返金した場合は「返金済」にしてください。");
        }
        (S::Cancelled, PaymentAction::Cancel { .. }) => {
            return rule("この寄附はすでに取消されています。");
        }
        (S::Refunded, PaymentAction::Cancel { .. }) => {
            return rule("返金済の寄附は取消できません。");
        }
        (S::Unpaid, PaymentAction::Restore { .. }) => return rule("この寄附はすでに未入金です。"),
        (_, PaymentAction::Restore { .. }) => {}
    }
    if let PaymentAction::MarkPaid { received_on } = action
        && *received_on < d.donated_on
    {
        return Err(ChangeError::Rule(format!(
            "受領日は寄附日（{}）以降の日付を入力してください。",
            jst::format_date_ja(d.donated_on)
        )));
    }
    Ok(())
}

/// Applies a payment status change with its change record and audit entry (one transaction).
/// Returns the donation as it is now.
pub async fn change_payment(
    db: &Db,
    tenant: MunicipalityId,
    donation_id: Uuid,
    action: &PaymentAction,
    actor: &Actor,
) -> Result<Donation, ChangeError> {
    let d = donations::get(db, tenant, donation_id)
        .await?
        .ok_or(ChangeError::NotFound)?;
    check_change(&d, action)?;
    let to = action.target();
    let received_on = match action {
        PaymentAction::MarkPaid { received_on } => Some(*received_on),
        PaymentAction::Refund { .. } => d.received_on,
        PaymentAction::Cancel { .. } | PaymentAction::Restore { .. } => None,
    };
    let mut tx = db.begin().await?;
    if !store::set_payment_if(
        &mut tx,
        tenant,
        donation_id,
        &d.payment_status,
        to.as_str(),
        received_on,
    )
    .await?
    {
        return Err(ChangeError::Rule(
            "他の操作で入金状況が変わりました。画面を開き直してください。".into(),
        ));
    }
    let released =
        if to == PaymentStatus::Unpaid && d.payment_status == PaymentStatus::Paid.as_str() {
            crate::payments::release_for_donation(&mut tx, tenant, donation_id, &d.donation_number)
                .await?
        } else {
            0
        };
    let from_label = PaymentStatus::parse(&d.payment_status)
        .map(|s| s.label_ja())
        .unwrap_or("");
    let mut summary = format!("入金状況を「{from_label}」から「{}」に変更", to.label_ja());
    if let Some(r) = received_on.filter(|_| matches!(action, PaymentAction::MarkPaid { .. })) {
        summary.push_str(&format!("（受領日 {}）", jst::format_date_ja(r)));
    }
    if !action.reason().is_empty() {
        summary.push_str(&format!("。理由: {}", action.reason()));
    }
    let date = |x: Option<Date>| x.map(jst::format_date_iso);
    source_records::record_change(
        &mut tx,
        tenant,
        donation_id,
        "manual",
        &actor.login,
        &summary,
        &serde_json::json!({
            "payment_status": [d.payment_status, to.as_str()],
            "received_on": [date(d.received_on), date(received_on)],
            "reason": action.reason(),
        }),
    )
    .await?;
    let mut entry = actor.entry(
        "donation.payment",
        "donation",
        donation_id,
        serde_json::json!({"from": d.payment_status, "to": to.as_str(), "released_payment_records": released}),
    );
    entry.reason = action.reason().to_string();
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    donations::get(db, tenant, donation_id)
        .await?
        .ok_or(ChangeError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn form() -> DirectForm {
        DirectForm {
            family_name: "見本".into(),
            given_name: "花子".into(),
            family_kana: "みほん".into(),
            given_kana: "ハナコ".into(),
            postal_code: "９８０－０８１１".into(),
            prefecture: "宮城県".into(),
            city: "仙台市青葉区".into(),
            address1: "一番町1-2-3".into(),
            amount: "10,000".into(),
            donated_on: "2026-01-05".into(),
            channel: "bank_transfer".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_form_is_normalised() {
        let v = validate(&form(), date!(2026 - 01 - 10), &GiftMaster::new()).unwrap();
        assert_eq!(v.donor.family_kana, "ミホン");
        assert_eq!(v.donor.postal_code, "9800811");
        assert_eq!(v.amount, 10_000);
        assert_eq!(v.payment_method, PaymentMethod::BankTransfer);
        assert_eq!(v.received_on, None);
        let counter = DirectForm {
            channel: "counter".into(),
            ..form()
        };
        assert_eq!(
            validate(&counter, date!(2026 - 01 - 10), &GiftMaster::new())
                .unwrap()
                .received_on,
            Some(date!(2026 - 01 - 05))
        );
    }

    #[test]
    fn every_bad_field_gets_a_japanese_message() {
        let bad = DirectForm {
            family_name: " ".into(),
            family_kana: "yamada".into(),
            postal_code: "123".into(),
            prefecture: "東京".into(),
            amount: "0".into(),
            donated_on: "2026-02-30".into(),
            channel: "portal".into(),
            received_on: "2099-01-01".into(),
            gift_code: "XX".into(),
            email: "not-an-address".into(),
            ..form()
        };
        let e = validate(&bad, date!(2026 - 01 - 10), &GiftMaster::new()).unwrap_err();
        assert_eq!(
            e.get("family_name"),
            Some("姓（または団体名）を入力してください。")
        );
        assert_eq!(
            e.get("family_kana"),
            Some("フリガナ（セイ）はカタカナで入力してください。")
        );
        assert!(e.get("postal_code").is_some());
        assert_eq!(
            e.get("amount"),
            Some("寄附金額は1円以上の整数で入力してください（例: 10000）。")
        );
        assert_eq!(e.get("donated_on"), Some("寄附日: 存在しない日付です。"));
        assert!(e.get("channel").unwrap().contains("受付経路"));
        assert_eq!(
            e.get("received_on"),
            Some("受領日に未来の日付は指定できません。")
        );
        assert!(e.get("gift_code").is_some());
        assert!(e.get("email").is_some());
    }

    #[test]
    fn payment_actions_are_read() {
        let today = date!(2026 - 01 - 10);
        assert_eq!(
            parse_action("paid", "2026-01-09", "", today),
            Ok(PaymentAction::MarkPaid {
                received_on: date!(2026 - 01 - 09)
            })
        );
        assert_eq!(
            parse_action("paid", "", "", today)
                .unwrap_err()
                .get("received_on"),
            Some("受領日を入力してください。")
        );
        assert_eq!(
            parse_action("paid", "2026-01-11", "", today)
                .unwrap_err()
                .get("received_on"),
            Some("受領日に未来の日付は指定できません。")
        );
        assert_eq!(
            parse_action("cancelled", "", " ", today)
                .unwrap_err()
                .get("reason"),
            Some("取消の理由を入力してください。")
        );
        assert!(parse_action("unpaid", "", "誤入力", today).is_ok());
    }
}
