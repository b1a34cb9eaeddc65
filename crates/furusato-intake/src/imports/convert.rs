//! From a parsed CSV row ([`ImportedDonation`]) to what the ledger stores: a donor to resolve,
//! the donation's fields, its gift lines and ship-tos. Pure: no database.
//!
//! Rules:
//! - 寄附日 = 申込日; 受領日 = 入金日; paid when 入金日 is set, otherwise unpaid; a payment status
//!   written as キャンセル / 取消 makes the donation cancelled.
//! - The payment method label is mapped by [`payment_method_from_label`]; a label it does not know
//!   becomes `other` and is reported (never silently).
//! - フリガナ written in hiragana is stored in katakana, split at the first space into セイ / メイ.
//! - Gift lines keep the portal's code; a code found in the gift master links the line to that
//!   gift's current version.
//! - Ship-tos: the donation's 送り先 and each gift line's own 送り先 (チョイス), identical addresses
//!   merged; a gift line goes to its own ship-to, else to the donation's.

use std::collections::HashMap;

use furusato_db::donations::NewShipTo;
use furusato_db::donors::NewDonor;
use furusato_db::imports::DonationFields;
use furusato_domain::{PaymentMethod, PaymentStatus, Portal, kana, normalize};
use furusato_portals::csv_import::{ImportedDonation, ImportedPerson};
use uuid::Uuid;

/// The gift master entry a code resolves to.
#[derive(Clone, Debug)]
pub struct GiftRef {
    pub gift_id: Uuid,
    pub version_id: Uuid,
    pub name: String,
}

/// Gift master by code.
pub type GiftMaster = HashMap<String, GiftRef>;

/// A gift line to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedItem {
    pub gift_code: String,
    pub name: String,
    pub quantity: i64,
    pub gift_id: Option<Uuid>,
    pub gift_version_id: Option<Uuid>,
    /// Index into [`PlannedDonation::ship_tos`].
    pub ship_to: Option<usize>,
}

/// A CSV row turned into ledger values.
#[derive(Clone, Debug)]
pub struct PlannedDonation {
    /// 1-based line in the file.
    pub line: usize,
    pub portal: Portal,
    pub external_id: String,
    pub donor: NewDonor,
    pub fields: DonationFields,
    pub items: Vec<PlannedItem>,
    pub ship_tos: Vec<NewShipTo>,
    /// The payment method label as written, when [`payment_method_from_label`] did not know it.
    pub unknown_method: Option<String>,
    /// Gift codes not found in the gift master.
    pub unknown_gift_codes: Vec<String>,
    /// The file gives a payment method (an update keeps the ledger's otherwise).
    pub method_given: bool,
    /// ワンストップ特例 as given by the file (`None`: not given).
    pub onestop_given: Option<bool>,
}

/// Maps a payment-method label as portals write it to our code. The second value is false when
/// the label was not recognised (the method is then [`PaymentMethod::Other`]).
///
/// Recognised: our codes and labels, クレジット/カード, 銀行振込/振込, 郵便振替/ゆうちょ/払込票,
/// コンビニ, 納付書, ペイジー/Pay-easy, キャリア決済 (ドコモ・au・ソフトバンク払い), 現金/窓口, and
/// electronic payments (PayPay, 楽天ペイ, Amazon Pay, 電子マネー, …) as `other`.
pub fn payment_method_from_label(label: &str) -> (PaymentMethod, bool) {
    let t = label.trim();
    if t.is_empty() {
        return (PaymentMethod::Other, true);
    }
    if let Ok(m) = PaymentMethod::parse(t) {
        return (m, true);
    }
    let k = normalize::normalize_name(t).to_lowercase();
    let has = |w: &str| k.contains(w);
    let m = if has("クレジット") || has("カード") || has("credit") {
        PaymentMethod::CreditCard
    } else if has("郵便") || has("ゆうちょ") || has("払込票") || has("払込取扱") || has("振替")
    {
        PaymentMethod::PostalTransfer
    } else if has("コンビニ") || has("convenience") {
        PaymentMethod::ConvenienceStore
    } else if has("納付書") {
        PaymentMethod::PaymentSlip
    } else if has("ペイジー") || has("payeasy") || has("pay-easy") {
        PaymentMethod::PayEasy
    } else if has("キャリア")
        || has("ドコモ")
        || has("docomo")
        || has("ソフトバンク")
        || has("softbank")
        || k == "au"
        || has("auかんたん")
        || has("携帯")
    {
        PaymentMethod::CarrierBilling
    } else if has("銀行") || has("振込") || has("振り込み") {
        PaymentMethod::BankTransfer
    } else if has("現金") || has("窓口") {
        PaymentMethod::Cash
    } else if has("paypay")
        || has("楽天ペイ")
        || has("amazon")
        || has("電子マネー")
        || has("d払い")
        || has("linepay")
        || has("qr")
        || has("aupay")
        || has("merpay")
        || has("メルペイ")
        || has("paypal")
    {
        PaymentMethod::Other
    } else {
        return (PaymentMethod::Other, false);
    };
    (m, true)
}

/// Reads a portal name written in a CSV cell (code, label, or a common short form).
pub fn portal_from_label(label: &str) -> Option<Portal> {
    let t = label.trim();
    if t.is_empty() {
        return None;
    }
    if let Ok(p) = Portal::parse(t) {
        return Some(p);
    }
    let k = normalize::normalize_name(t).to_lowercase();
    let has = |w: &str| k.contains(w);
    Some(if has("楽天") || has("rakuten") {
        Portal::Rakuten
    } else if has("チョイス") || has("choice") {
        Portal::Choice
    } else if has("さとふる") || has("satofull") || has("satofuru") {
        Portal::Satofull
    } else if has("ふるなび") || has("furunavi") {
        Portal::Furunavi
    } else if has("aupay") || k.starts_with("au") {
        Portal::AuPay
    } else if has("ana") {
        Portal::Ana
    } else {
        return None;
    })
}

/// Header names under which a per-row portal may be given (レッドホース files that gather several
/// portals).
pub const PORTAL_HEADERS: &[&str] = &[
    "ポータル",
    "ポータルサイト",
    "ポータル名",
    "ポータルサイト名",
    "申込サイト",
    "受付サイト",
    "サイト名",
    "サイト",
];

/// `male` / `female` / "" from 男, 女性, M, …
pub fn sex_code(raw: Option<&str>) -> &'static str {
    match raw.map(str::trim).unwrap_or("") {
        "男" | "男性" | "M" | "m" | "male" | "Male" | "1" => "male",
        "女" | "女性" | "F" | "f" | "female" | "Female" | "2" => "female",
        _ => "",
    }
}

/// Splits a reading at its first space (ASCII or full-width), in katakana.
pub fn split_kana(raw: Option<&str>) -> (String, String) {
    let Some(raw) = raw else {
        return (String::new(), String::new());
    };
    let k = kana::to_katakana(raw.trim());
    match k.split_once([' ', '\u{3000}']) {
        Some((f, g)) => (f.trim().to_string(), g.trim().to_string()),
        None => (k, String::new()),
    }
}

/// The donor as the ledger stores it.
pub fn donor_from(p: &ImportedPerson) -> NewDonor {
    let (family_kana, given_kana) = split_kana(p.kana.as_deref());
    NewDonor {
        family_name: p.family_name.trim().to_string(),
        given_name: p.given_name.as_deref().unwrap_or("").trim().to_string(),
        family_kana,
        given_kana,
        postal_code: p
            .postal_code
            .as_deref()
            .map(normalize::normalize_digits)
            .unwrap_or_default(),
        prefecture: p.prefecture.clone().unwrap_or_default(),
        city: p.city.clone().unwrap_or_default(),
        address1: p.address1.clone().unwrap_or_default(),
        address2: p.address2.clone().unwrap_or_default(),
        phone: p.phone.clone().unwrap_or_default(),
        email: p.email.clone().unwrap_or_default(),
        sex: sex_code(p.sex.as_deref()).to_string(),
        birth_date: p.birth_date,
    }
}

/// A ship-to as the ledger stores it (address on one line).
pub fn ship_to_from(p: &ImportedPerson) -> NewShipTo {
    let name = match &p.given_name {
        Some(g) if !g.is_empty() => format!("{} {g}", p.family_name),
        _ => p.family_name.clone(),
    };
    let mut address = format!(
        "{}{}{}",
        p.prefecture.as_deref().unwrap_or(""),
        p.city.as_deref().unwrap_or(""),
        p.address1.as_deref().unwrap_or("")
    );
    if let Some(a2) = p.address2.as_deref().filter(|a| !a.is_empty()) {
        address.push(' ');
        address.push_str(a2);
    }
    NewShipTo {
        name,
        kana: p
            .kana
            .as_deref()
            .map(|k| kana::to_katakana(k.trim()))
            .unwrap_or_default(),
        postal_code: p
            .postal_code
            .as_deref()
            .map(normalize::normalize_digits)
            .unwrap_or_default(),
        address,
        phone: p.phone.clone().unwrap_or_default(),
        external_ref: String::new(),
    }
}

fn same_ship_to(a: &NewShipTo, b: &NewShipTo) -> bool {
    a.name == b.name
        && a.kana == b.kana
        && a.postal_code == b.postal_code
        && a.address == b.address
        && a.phone == b.phone
}

fn ship_to_index(list: &mut Vec<NewShipTo>, s: NewShipTo) -> usize {
    match list.iter().position(|x| same_ship_to(x, &s)) {
        Some(i) => i,
        None => {
            list.push(s);
            list.len() - 1
        }
    }
}

/// Whether a portal's payment status label says the donation was cancelled.
pub fn is_cancelled_label(raw: Option<&str>) -> bool {
    raw.is_some_and(|s| {
        ["キャンセル", "取消", "取り消し", "取りやめ"]
            .iter()
            .any(|w| s.contains(w))
    })
}

/// Turns a parsed row into ledger values. `portal` is the portal the row belongs to.
pub fn plan(d: &ImportedDonation, portal: Portal, gifts: &GiftMaster) -> PlannedDonation {
    let (method, known) = payment_method_from_label(d.payment_method.as_deref().unwrap_or(""));
    let cancelled = is_cancelled_label(d.payment_status_raw.as_deref());
    let (status, received_on) = match (cancelled, d.paid_on) {
        (true, _) => (PaymentStatus::Cancelled, None),
        (false, Some(paid)) => (PaymentStatus::Paid, Some(paid)),
        (false, None) => (PaymentStatus::Unpaid, None),
    };
    let mut ship_tos = Vec::new();
    let donation_ship_to = d
        .ship_to
        .as_ref()
        .map(|p| ship_to_index(&mut ship_tos, ship_to_from(p)));
    let mut unknown_gift_codes = Vec::new();
    let items = d
        .gifts
        .iter()
        .map(|g| {
            let code = g.code.clone().unwrap_or_default();
            let master = (!code.is_empty()).then(|| gifts.get(&code)).flatten();
            if master.is_none() && !code.is_empty() {
                unknown_gift_codes.push(code.clone());
            }
            let name = if g.name.trim().is_empty() {
                master.map(|m| m.name.clone()).unwrap_or_default()
            } else {
                g.name.trim().to_string()
            };
            let ship_to = match &g.ship_to {
                Some(p) => Some(ship_to_index(&mut ship_tos, ship_to_from(p))),
                None => donation_ship_to,
            };
            PlannedItem {
                gift_code: code,
                name,
                quantity: i64::from(g.quantity),
                gift_id: master.map(|m| m.gift_id),
                gift_version_id: master.map(|m| m.version_id),
                ship_to,
            }
        })
        .collect();
    PlannedDonation {
        line: d.line,
        portal,
        external_id: d.external_id.clone(),
        donor: donor_from(&d.donor),
        fields: DonationFields {
            amount: Some(d.amount),
            // The parsers guarantee 申込日 on every OK row.
            donated_on: d.applied_on.unwrap_or(time::Date::MIN),
            received_on,
            payment_method: method.as_str().to_string(),
            payment_status: status.as_str().to_string(),
            use_of_funds: d.use_of_funds.clone().unwrap_or_default(),
            onestop_wanted: d.onestop_wanted.unwrap_or(false),
            gift_declined: d.gift_declined,
            note: d.remarks.clone().unwrap_or_default(),
        },
        items,
        ship_tos,
        unknown_method: (!known).then(|| d.payment_method.clone().unwrap_or_default()),
        unknown_gift_codes,
        method_given: d
            .payment_method
            .as_deref()
            .is_some_and(|m| !m.trim().is_empty()),
        onestop_given: d.onestop_wanted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payment_methods_from_portal_labels() {
        for (label, want) in [
            ("クレジットカード", PaymentMethod::CreditCard),
            ("クレジットカード決済", PaymentMethod::CreditCard),
            ("銀行振込", PaymentMethod::BankTransfer),
            ("郵便振替", PaymentMethod::PostalTransfer),
            ("ゆうちょ銀行（払込票）", PaymentMethod::PostalTransfer),
            ("コンビニ決済", PaymentMethod::ConvenienceStore),
            ("納付書", PaymentMethod::PaymentSlip),
            ("Pay-easy", PaymentMethod::PayEasy),
            ("ドコモ払い", PaymentMethod::CarrierBilling),
            ("PayPay", PaymentMethod::Other),
            ("credit_card", PaymentMethod::CreditCard),
            ("現金", PaymentMethod::Cash),
        ] {
            assert_eq!(payment_method_from_label(label), (want, true), "{label}");
        }
        assert_eq!(
            payment_method_from_label("物々交換"),
            (PaymentMethod::Other, false)
        );
    }

    #[test]
    fn readings_become_katakana_and_split() {
        assert_eq!(
            split_kana(Some("やまだ　たろう")),
            ("ヤマダ".to_string(), "タロウ".to_string())
        );
        assert_eq!(
            split_kana(Some("ヤマダタロウ")),
            ("ヤマダタロウ".to_string(), String::new())
        );
        assert_eq!(split_kana(None), (String::new(), String::new()));
    }

    #[test]
    fn portals_from_labels() {
        assert_eq!(portal_from_label("さとふる"), Some(Portal::Satofull));
        assert_eq!(portal_from_label("楽天"), Some(Portal::Rakuten));
        assert_eq!(portal_from_label("furunavi"), Some(Portal::Furunavi));
        assert_eq!(portal_from_label("??"), None);
    }
}
