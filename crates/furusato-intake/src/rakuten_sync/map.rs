//! A 楽天 order → what the ledger records: the donor (`OrdererModel`), the donation, its ship-tos
//! (one per `PackageModelList` entry, `SenderModel`) and its gift lines (`ItemModelList`).
//!
//! Pure: no database. Gift codes are resolved against the gift master by the caller.
//!
//! * Donor: 姓/名, カナ, 〒 `zipCode1`+`zipCode2`, 都道府県, `city`, `subAddress` → 住所1 (楽天 does not
//!   separate the building), phone `phoneNumber1-2-3`, the masked relay e-mail (kept: it is the
//!   only mail route to the donor; matching never uses it), 男/女 → male/female, 生年月日.
//! * Donation: amount = `totalPrice`, `None` while it is `-9999` (金額未確定); 寄附日/受領日/収納状況/
//!   払込方法 by [`super::settlement`]; 使い道 and the wishes by [`super::choices`].
//! * Ship-tos: one per package that is not deleted (`packageDeleteFlag` 1), external ref =
//!   `basketId`.
//! * Gift lines: gift code = `itemNumber` upper-cased (N2: 商品番号 = 返礼品コード in upper case;
//!   `manageNumber` when there is no `itemNumber`), name as received, quantity = `units`,
//!   amount = `price × units` when the price is fixed.

use furusato_db::donations::NewShipTo;
use furusato_db::donors::NewDonor;
use furusato_domain::{PaymentMethod, PaymentStatus};
use furusato_portals::rakuten::model::{ChangeReasonModel, OrdererModel, SenderModel};
use furusato_portals::rakuten::{OrderModel, Price};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::choices::{self, ChoiceOutcome, MappingTable};
use super::settlement;

/// Why an order could not be mapped (it is counted failed and listed in the run).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    #[error("orderDatetime is missing or not a RMS datetime")]
    OrderDatetime,
    #[error("orderProgress is missing")]
    OrderProgress,
    #[error("OrdererModel (the donor) is missing or has no family name")]
    Orderer,
}

impl MapError {
    /// Japanese message for the run detail screen.
    pub fn message_ja(&self) -> &'static str {
        match self {
            MapError::OrderDatetime => "注文日時（orderDatetime）がないか、形式が不正です。",
            MapError::OrderProgress => "注文ステータス（orderProgress）がありません。",
            MapError::Orderer => "注文者情報（OrdererModel）がないか、氏名がありません。",
        }
    }
}

/// The ledger fields of the donation that come from the order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DonationFields {
    /// `totalPrice`, None while 未確定 (-9999).
    pub amount: Option<i64>,
    pub donated_on: Date,
    pub received_on: Option<Date>,
    /// `orderDatetime`.
    pub applied_at: OffsetDateTime,
    pub payment_method: String,
    pub payment_status: String,
    pub use_of_funds: String,
    pub onestop_wanted: bool,
    pub receipt_wanted: bool,
    pub gift_declined: bool,
    pub note: String,
}

/// A gift line of the order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MappedItem {
    /// Upper-cased 商品番号.
    pub code: String,
    pub name: String,
    pub quantity: i64,
    pub amount: Option<i64>,
    /// Index into [`MappedOrder::ship_tos`].
    pub package: usize,
}

/// Everything the ledger needs from one order.
#[derive(Clone, Debug)]
pub struct MappedOrder {
    pub order_number: String,
    pub progress: i32,
    pub ordered_at: OffsetDateTime,
    pub orderer: NewDonor,
    pub donation: DonationFields,
    pub ship_tos: Vec<NewShipTo>,
    pub items: Vec<MappedItem>,
    pub choices: ChoiceOutcome,
    /// A Japanese summary of `ChangeReasonModelList` (latest entry), if any.
    pub change_reason: Option<String>,
    /// Settlement code not known to [`settlement`] (reported as a warning).
    pub unknown_settlement: Option<i32>,
}

fn s(v: &Option<String>) -> String {
    v.as_deref().unwrap_or("").trim().to_string()
}

/// `zipCode1` + `zipCode2` → 7 digits, or '' when they are not digits (e.g. social-gift dummies).
pub fn postal_code(zip1: &Option<String>, zip2: &Option<String>) -> String {
    let z = format!("{}{}", s(zip1), s(zip2));
    let digits = furusato_domain::normalize::normalize_digits(&z);
    if digits.len() == 7 && digits.chars().count() == z.chars().count() {
        digits
    } else {
        String::new()
    }
}

/// The phone parts joined with `-` (empty parts skipped).
pub fn phone(p1: &Option<String>, p2: &Option<String>, p3: &Option<String>) -> String {
    [p1, p2, p3]
        .iter()
        .map(|p| s(p))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

fn join_name(a: &str, b: &str) -> String {
    if b.is_empty() {
        a.to_string()
    } else if a.is_empty() {
        b.to_string()
    } else {
        format!("{a} {b}")
    }
}

/// The donor as 楽天 gives it.
pub fn orderer_donor(o: &OrdererModel) -> NewDonor {
    let birth_date = match (o.birth_year, o.birth_month, o.birth_day) {
        (Some(y), Some(m), Some(d)) => time::Month::try_from(u8::try_from(m).unwrap_or(0))
            .ok()
            .and_then(|m| Date::from_calendar_date(y, m, u8::try_from(d).unwrap_or(0)).ok()),
        _ => None,
    };
    NewDonor {
        family_name: s(&o.family_name),
        given_name: s(&o.first_name),
        family_kana: s(&o.family_name_kana),
        given_kana: s(&o.first_name_kana),
        postal_code: postal_code(&o.zip_code1, &o.zip_code2),
        prefecture: s(&o.prefecture),
        city: s(&o.city),
        address1: s(&o.sub_address),
        address2: String::new(),
        phone: phone(&o.phone_number1, &o.phone_number2, &o.phone_number3),
        email: s(&o.email_address),
        sex: match o.sex.as_deref().map(str::trim) {
            Some("男") => "male".to_string(),
            Some("女") => "female".to_string(),
            _ => String::new(),
        },
        birth_date,
    }
}

/// A ship-to from a package's `SenderModel`.
pub fn sender_ship_to(sm: &SenderModel, basket_id: Option<i64>) -> NewShipTo {
    NewShipTo {
        name: join_name(&s(&sm.family_name), &s(&sm.first_name)),
        kana: join_name(&s(&sm.family_name_kana), &s(&sm.first_name_kana)),
        postal_code: postal_code(&sm.zip_code1, &sm.zip_code2),
        address: format!("{}{}{}", s(&sm.prefecture), s(&sm.city), s(&sm.sub_address)),
        phone: phone(&sm.phone_number1, &sm.phone_number2, &sm.phone_number3),
        external_ref: basket_id.map(|b| b.to_string()).unwrap_or_default(),
    }
}

fn change_type_ja(t: i32) -> &'static str {
    match t {
        0 => "キャンセル申請",
        1 => "キャンセル確定",
        2 => "キャンセル完了",
        3 => "キャンセル取消",
        4 => "変更申請",
        5 => "変更確定",
        6 => "変更完了",
        7 => "変更取消",
        8 => "注文確認",
        9 => "再決済手続き",
        _ => "変更",
    }
}

/// A Japanese one-liner of the latest meaningful `ChangeReasonModelList` entry (注文確認 entries
/// are routine and skipped), e.g. 「キャンセル完了（お客様都合、2026-01-05）」.
pub fn change_reason_summary(list: &[ChangeReasonModel]) -> Option<String> {
    let c = list
        .iter()
        .rev()
        .find(|c| c.change_type.is_some_and(|t| t != 8))?;
    let mut parts = Vec::new();
    match c.change_type_detail {
        Some(0) => parts.push("減額".to_string()),
        Some(1) => parts.push("増額".to_string()),
        Some(d) if (10..=12).contains(&d) => parts.push("支払方法変更".to_string()),
        _ => {}
    }
    match c.change_reason {
        Some(0) => parts.push("店舗都合".to_string()),
        Some(1) => parts.push("お客様都合".to_string()),
        _ => {}
    }
    let when = c
        .change_cmpl_datetime
        .as_deref()
        .or(c.change_fix_datetime.as_deref())
        .or(c.change_apply_datetime.as_deref())
        .and_then(|t| t.get(..10));
    if let Some(w) = when {
        parts.push(w.to_string());
    }
    let head = change_type_ja(c.change_type.unwrap_or(-1));
    Some(if parts.is_empty() {
        head.to_string()
    } else {
        format!("{head}（{}）", parts.join("、"))
    })
}

/// Maps one order. `observed_on` is today's JST date (see [`settlement::payment_facts`]).
pub fn map_order(
    order: &OrderModel,
    table: &MappingTable,
    observed_on: Date,
) -> Result<MappedOrder, MapError> {
    let ordered_at = order
        .order_datetime_at()
        .ok()
        .flatten()
        .ok_or(MapError::OrderDatetime)?;
    let progress = order.order_progress.ok_or(MapError::OrderProgress)?;
    let orderer = order
        .orderer
        .as_ref()
        .map(orderer_donor)
        .ok_or(MapError::Orderer)?;
    if orderer.family_name.is_empty() {
        return Err(MapError::Orderer);
    }
    let code = order
        .settlement
        .as_ref()
        .and_then(|s| s.settlement_method_code);
    let facts = settlement::payment_facts(order, progress, ordered_at, observed_on);
    let lines = choices::order_lines(order);
    let choices = choices::interpret(&lines, table);

    let mut ship_tos = Vec::new();
    let mut items = Vec::new();
    for p in order.packages.iter().flatten() {
        if p.package_delete_flag == Some(1) {
            continue;
        }
        let package = ship_tos.len();
        ship_tos.push(match &p.sender {
            Some(sm) => sender_ship_to(sm, p.basket_id),
            None => NewShipTo {
                external_ref: p.basket_id.map(|b| b.to_string()).unwrap_or_default(),
                ..Default::default()
            },
        });
        for it in p.items.iter().flatten() {
            if it.delete_item_flag == Some(1) {
                continue;
            }
            let code = it
                .item_number
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .or(it.manage_number.as_deref().map(str::trim))
                .unwrap_or("")
                .to_uppercase();
            let quantity = it.units.unwrap_or(1).max(1);
            items.push(MappedItem {
                code,
                name: it.item_name.as_deref().unwrap_or("").trim().to_string(),
                quantity,
                amount: it.price.and_then(Price::amount).map(|p| p * quantity),
                package,
            });
        }
    }

    let donation = DonationFields {
        amount: order.total_price.and_then(Price::amount),
        donated_on: facts.donated_on,
        received_on: facts.received_on,
        applied_at: ordered_at.to_offset(time::UtcOffset::UTC),
        payment_method: settlement::payment_method(code).as_str().to_string(),
        payment_status: facts.status.as_str().to_string(),
        use_of_funds: choices.use_of_funds.clone(),
        onestop_wanted: choices.onestop_wanted,
        receipt_wanted: choices.receipt_wanted,
        gift_declined: choices.gift_declined,
        note: choices.note(),
    };
    Ok(MappedOrder {
        order_number: order.order_number.clone(),
        progress,
        ordered_at,
        orderer,
        donation,
        ship_tos,
        items,
        choices,
        change_reason: order
            .change_reasons
            .as_deref()
            .and_then(change_reason_summary),
        unknown_settlement: (!settlement::is_known_settlement(code)).then_some(code.unwrap_or(0)),
    })
}

/// Japanese label of a stored payment status (for change summaries).
pub fn status_ja(code: &str) -> String {
    PaymentStatus::parse(code)
        .map(|s| s.label_ja().to_string())
        .unwrap_or_else(|_| code.to_string())
}

/// Japanese label of a stored payment method.
pub fn method_ja(code: &str) -> String {
    PaymentMethod::parse(code)
        .map(|s| s.label_ja().to_string())
        .unwrap_or_else(|_| code.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    fn sample() -> serde_json::Value {
        json!({
            "orderNumber": "123456-20251201-0000000001",
            "orderProgress": 300,
            "orderDatetime": "2025-12-01T21:03:43+0900",
            "shopOrderCfmDatetime": "2025-12-01T21:10:00+0900",
            "orderFixDatetime": "2025-12-01T21:36:07+0900",
            "remarks": "[配送日時指定:]\n\n",
            "totalPrice": 20000,
            "OrdererModel": {"zipCode1":"158","zipCode2":"0094","prefecture":"東京都","city":"世田谷区","subAddress":"玉川1-2-3 コーポ桜101",
                "familyName":"楽天","firstName":"太郎","familyNameKana":"ラクテン","firstNameKana":"タロウ",
                "phoneNumber1":"090","phoneNumber2":"1111","phoneNumber3":"2222",
                "emailAddress":"815db15ff6ee7c0285bf7f5ce8485450s1@pc.fw.rakuten.example","sex":"男","birthYear":1984,"birthMonth":1,"birthDay":2},
            "SettlementModel": {"settlementMethodCode": 1, "settlementMethod": "クレジットカード"},
            "PackageModelList": [
                {"basketId": 10631675, "packageDeleteFlag": 0,
                 "SenderModel": {"zipCode1":"158","zipCode2":"0094","prefecture":"東京都","city":"世田谷区","subAddress":"玉川1-2-3 コーポ桜101",
                    "familyName":"楽天","firstName":"太郎","familyNameKana":"ラクテン","firstNameKana":"タロウ",
                    "phoneNumber1":"090","phoneNumber2":"1111","phoneNumber3":"2222"},
                 "ItemModelList": [{"itemName":"【ふるさと納税】牛タン [sd0001]","itemNumber":"sd0001","manageNumber":"sd0001","price":10000,"units":1,
                    "selectedChoice":"税金控除申請に必要な書類:必要(ワンストップ特例申請用)\n寄附金の使い道:子育て支援"}]},
                {"basketId": 10631676, "packageDeleteFlag": 0,
                 "SenderModel": {"zipCode1":"980","zipCode2":"0811","prefecture":"宮城県","city":"仙台市青葉区","subAddress":"一番町4-5-6",
                    "familyName":"山田","firstName":"花子","phoneNumber1":"022","phoneNumber2":"123","phoneNumber3":"4567"},
                 "ItemModelList": [{"itemName":"【ふるさと納税】笹かま [SD0003]","itemNumber":"SD0003","price":5000,"units":2}]}
            ],
            "ChangeReasonModelList": [{"changeId":1,"changeType":8,"changeApplyDatetime":"2025-12-01T21:10:00+0900"}]
        })
    }

    fn table() -> MappingTable {
        let mut t = MappingTable::default();
        for d in choices::default_mappings() {
            t.insert(
                &d.source_field,
                &d.heading,
                &d.value,
                &d.target,
                &d.target_value,
            );
        }
        t
    }

    #[test]
    fn maps_every_part_of_an_order() {
        let o = OrderModel::deserialize(&sample()).unwrap();
        let m = map_order(&o, &table(), time::macros::date!(2026 - 01 - 10)).unwrap();
        assert_eq!(m.order_number, "123456-20251201-0000000001");
        let d = &m.orderer;
        assert_eq!(
            (d.family_name.as_str(), d.given_name.as_str()),
            ("楽天", "太郎")
        );
        assert_eq!(
            (d.family_kana.as_str(), d.given_kana.as_str()),
            ("ラクテン", "タロウ")
        );
        assert_eq!(d.postal_code, "1580094");
        assert_eq!(
            (d.prefecture.as_str(), d.city.as_str(), d.address1.as_str()),
            ("東京都", "世田谷区", "玉川1-2-3 コーポ桜101")
        );
        assert_eq!(d.phone, "090-1111-2222");
        assert!(d.email.ends_with("@pc.fw.rakuten.example"));
        assert_eq!(d.sex, "male");
        assert_eq!(d.birth_date, Some(time::macros::date!(1984 - 01 - 02)));
        let n = &m.donation;
        assert_eq!(n.amount, Some(20000));
        assert_eq!(n.donated_on, time::macros::date!(2025 - 12 - 01));
        assert_eq!(n.received_on, Some(time::macros::date!(2025 - 12 - 01)));
        assert_eq!(
            (n.payment_method.as_str(), n.payment_status.as_str()),
            ("credit_card", "paid")
        );
        assert!(n.onestop_wanted);
        assert_eq!(n.use_of_funds, "子育て支援");
        assert_eq!(m.ship_tos.len(), 2);
        assert_eq!(m.ship_tos[1].name, "山田 花子");
        assert_eq!(m.ship_tos[1].address, "宮城県仙台市青葉区一番町4-5-6");
        assert_eq!(m.ship_tos[1].phone, "022-123-4567");
        assert_eq!(m.ship_tos[1].external_ref, "10631676");
        assert_eq!(m.items.len(), 2);
        assert_eq!(m.items[0].code, "SD0001", "gift codes are upper-cased");
        assert_eq!(
            (m.items[1].quantity, m.items[1].amount, m.items[1].package),
            (2, Some(10000), 1)
        );
        assert_eq!(m.change_reason, None, "注文確認 is routine");
        assert_eq!(m.unknown_settlement, None);
    }

    #[test]
    fn undetermined_amount_and_cancellation() {
        let mut v = sample();
        v["totalPrice"] = json!(-9999);
        v["orderProgress"] = json!(900);
        v["ChangeReasonModelList"] = json!([
            {"changeId":2,"changeType":0,"changeReason":1,"changeReasonDetail":1,"changeApplyDatetime":"2026-01-05T10:00:00+0900"},
            {"changeId":3,"changeType":2,"changeReason":1,"changeReasonDetail":1,"changeApplyDatetime":"2026-01-05T10:00:00+0900","changeCmplDatetime":"2026-01-05T10:05:00+0900"}
        ]);
        let o = OrderModel::deserialize(&v).unwrap();
        let m = map_order(&o, &table(), time::macros::date!(2026 - 01 - 10)).unwrap();
        assert_eq!(m.donation.amount, None, "-9999 is never an amount");
        assert_eq!(m.donation.payment_status, "cancelled");
        assert_eq!(m.donation.received_on, None);
        assert_eq!(
            m.change_reason.as_deref(),
            Some("キャンセル完了（お客様都合、2026-01-05）")
        );
    }

    #[test]
    fn broken_orders_are_errors() {
        let mut v = sample();
        v["orderDatetime"] = json!("2025/12/01 21:03");
        let o = OrderModel::deserialize(&v).unwrap();
        assert_eq!(
            map_order(&o, &table(), time::macros::date!(2026 - 01 - 10)).unwrap_err(),
            MapError::OrderDatetime
        );
        let mut v = sample();
        v["OrdererModel"]["familyName"] = json!("");
        let o = OrderModel::deserialize(&v).unwrap();
        assert_eq!(
            map_order(&o, &table(), time::macros::date!(2026 - 01 - 10)).unwrap_err(),
            MapError::Orderer
        );
    }

    #[test]
    fn postal_codes_and_phones() {
        assert_eq!(
            postal_code(&Some("980".into()), &Some("0811".into())),
            "9800811"
        );
        assert_eq!(
            postal_code(&Some("999".into()), &Some("入力待ち".into())),
            ""
        );
        assert_eq!(
            phone(&Some("090".into()), &None, &Some("2222".into())),
            "090-2222"
        );
    }
}
