//! The generated donation record and its code lists.
//!
//! The enums mirror the ledger's vocabulary; `as_str()` gives the stable identifier stored in
//! the database ("rakuten", "card", "paid", …).

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::serde_formats::iso_date;

/// A donation portal. Direct donations (mail, counter) have no portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Portal {
    /// 楽天ふるさと納税
    Rakuten,
    /// ふるさとチョイス
    Choice,
    /// さとふる
    Satofull,
    /// ふるなび
    Furunavi,
}

impl Portal {
    /// All portals.
    pub const ALL: [Portal; 4] = [
        Portal::Rakuten,
        Portal::Choice,
        Portal::Satofull,
        Portal::Furunavi,
    ];

    /// Stable identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            Portal::Rakuten => "rakuten",
            Portal::Choice => "choice",
            Portal::Satofull => "satofull",
            Portal::Furunavi => "furunavi",
        }
    }

    /// Display name.
    pub fn label_ja(self) -> &'static str {
        match self {
            Portal::Rakuten => "楽天ふるさと納税",
            Portal::Choice => "ふるさとチョイス",
            Portal::Satofull => "さとふる",
            Portal::Furunavi => "ふるなび",
        }
    }
}

/// How the application reached the city.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Through a portal.
    Portal,
    /// 申込書 by mail / FAX, paid by transfer or 納付書.
    Mail,
    /// At the city's counter (窓口).
    Counter,
}

impl Channel {
    /// Stable identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Portal => "portal",
            Channel::Mail => "mail",
            Channel::Counter => "counter",
        }
    }
}

/// How the donation was paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// クレジットカード
    Card,
    /// スマホ決済 (QR / ID payment on a portal)
    MobilePayment,
    /// コンビニ払い
    ConvenienceStore,
    /// 銀行振込
    BankTransfer,
    /// 郵便振替
    PostalTransfer,
    /// 納付書 (paid at a bank with the city's slip)
    PaymentSlip,
    /// 窓口納付 (cash at the city's counter)
    Counter,
}

impl PaymentMethod {
    /// Stable identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Card => "card",
            PaymentMethod::MobilePayment => "mobile_payment",
            PaymentMethod::ConvenienceStore => "convenience_store",
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::PostalTransfer => "postal_transfer",
            PaymentMethod::PaymentSlip => "payment_slip",
            PaymentMethod::Counter => "counter",
        }
    }

    /// True when the money arrives at the moment of the application (受領日 = 寄附日).
    pub fn is_immediate(self) -> bool {
        matches!(
            self,
            PaymentMethod::Card | PaymentMethod::MobilePayment | PaymentMethod::Counter
        )
    }
}

/// 収納状況
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// 未入金
    Unpaid,
    /// 入金済
    Paid,
    /// 返金済
    Refunded,
    /// 取消
    Cancelled,
}

impl PaymentStatus {
    /// Stable identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Unpaid => "unpaid",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Refunded => "refunded",
            PaymentStatus::Cancelled => "cancelled",
        }
    }
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
    /// Portal, mail or counter.
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
