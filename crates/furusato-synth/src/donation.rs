//! The generated donation record. Its code lists are [`furusato_domain::donation`]'s, re-exported
//! here; `as_str()` gives the code stored in the database ("rakuten", "credit_card", "paid", …).

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::serde_formats::iso_date;

pub use furusato_domain::donation::{Channel, PaymentMethod, PaymentStatus, Portal};

/// True when the money arrives at the moment of the application, so that 受領日 = 寄附日
/// (card, carrier billing, other instant payments, cash at the counter).
pub fn pays_immediately(method: PaymentMethod) -> bool {
    matches!(
        method,
        PaymentMethod::CreditCard
            | PaymentMethod::CarrierBilling
            | PaymentMethod::Other
            | PaymentMethod::Cash
    )
}

/// One gift line of a donation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GiftLine {
    /// Index into the plan's gift list.
    pub gift_index: usize,
    /// The gift's code ("SD0001").
    pub code: String,
    /// Number of sets.
    pub quantity: u32,
    /// 寄附額 of this line: the gift's amount × quantity, yen.
    pub amount: i64,
}

/// A generated donation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthDonation {
    /// Position in the plan's stream (`0..donations`); the stream is in `applied_at` order.
    pub index: usize,
    /// Index of the donor in the plan (`0..donors`).
    pub donor_index: usize,
    /// None for direct donations.
    pub portal: Option<Portal>,
    /// Portal, or for direct donations the payment path (bank transfer, 郵便振替, 納付書, counter).
    pub channel: Channel,
    /// The portal's order / application number in its own style; None for direct donations.
    pub external_id: Option<String>,
    /// 寄附金額, yen: the sum of the gift lines, or a free amount without gifts.
    pub amount: i64,
    /// 寄附日 (JST date of the application). Serialised as "2025-12-31".
    #[serde(with = "iso_date")]
    pub donated_on: Date,
    /// Time of the application, JST (+09:00). Serialised as RFC 3339.
    #[serde(with = "time::serde::rfc3339")]
    pub applied_at: OffsetDateTime,
    /// 受領日: when the money reached the city; None while unpaid or when cancelled before payment.
    #[serde(with = "iso_date::option")]
    pub received_on: Option<Date>,
    /// How it was paid.
    pub payment_method: PaymentMethod,
    /// 収納状況 as of the plan's last day.
    pub payment_status: PaymentStatus,
    /// 使い道
    pub use_of_funds: String,
    /// The donor asked for the ワンストップ特例申請書.
    pub onestop_wanted: bool,
    /// The donor wants the 寄附金受領証明書 mailed (a few choose electronic delivery).
    pub receipt_wanted: bool,
    /// No gift (寄附のみ, or the donor lives in the city itself).
    pub gift_declined: bool,
    /// 0–2 gift lines.
    pub gift_lines: Vec<GiftLine>,
}
