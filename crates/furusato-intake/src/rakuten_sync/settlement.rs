//! 寄附日, 受領日, 収納状況 and 払込方法 of a 楽天 order: **the rule**.
//!
//! # Sources
//! * 楽天ふるさと納税 municipality FAQ (rakuten-rms-api.md §10): 「クレジットカード = お申し込み
//!   いただいた日」「銀行振込 = 振込日」 is the 寄附日.
//! * onestop-notices-receipts-rules.md §3.3: the 受領日 decides the tax year; for a credit card it
//!   is the day the card payment was completed (申込日 on the portal FAQ), for a bank transfer the
//!   払込日.
//! * rakuten-rms-api.md §3/§10: `orderProgress` 100/200 = 申込 (未確定), 300 and above = 決済確定,
//!   800 = キャンセル確定待ち, 900 = キャンセル確定. The getOrder JSON has no payment date of its
//!   own; `orderFixDatetime` (注文確定日時) is set when 楽天 has settled the order.
//!
//! # The rule
//! Settlement methods fall in two kinds ([`SettlementKind`]):
//!
//! * **Paid at order time** (`Immediate`): クレジットカード (1), ショッピングクレジット/オートローン/
//!   リース (4, 5, 6), ポイント全額 (8), Apple Pay (12), Alipay (16, 27), PayPal (17).
//!   - 寄附日 = the order date (`orderDatetime`, JST).
//!   - 受領日 = the order date as well, once `orderProgress` ≥ 300 (決済確定); before that the
//!     donation is 未入金 and has no 受領日.
//! * **Paid later** (`Deferred`): 代引 (2), 後払い (3, 21), 請求書払い (7), 銀行振込 (9),
//!   セブン-イレブン前払 (13), ローソン・郵便局ATM等前払 (14), and any code we do not know (we do
//!   not claim money arrived without evidence; the run lists unknown codes as warnings).
//!   - While `orderProgress` < 300: 未入金, no 受領日, 寄附日 = the order date (provisional).
//!   - From `orderProgress` ≥ 300 (決済確定): 受領日 = the date of `orderFixDatetime`
//!     (注文確定日時), else of `shopOrderCfmDatetime` (注文確認日時), else the day the sync first
//!     saw the order settled (nothing better is in the API); and 寄附日 = 受領日, because for a
//!     payment after the order the FAQ makes the 振込日 the 寄附日.
//! * **Cancelled**: `orderProgress` 900 (キャンセル確定) and 800 (キャンセル確定待ち: treated as
//!   cancelled so that no receipt is issued for a donation being cancelled; if 楽天 reverts it,
//!   the next sync sees the new status and restores it, with a history entry) → 収納状況 取消,
//!   no 受領日; the 寄附日 stays as computed above.
//!
//! All dates are JST calendar dates ([`furusato_domain::jst`]).

use furusato_domain::{PaymentMethod, PaymentStatus, jst};
use furusato_portals::rakuten::OrderModel;
use time::{Date, OffsetDateTime};

/// When the money of a settlement method is received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettlementKind {
    /// Paid at order time (card and the like).
    Immediate,
    /// Paid after the order (bank transfer, prepaid at a store, cash on delivery, …).
    Deferred,
}

/// The kind of a `settlementMethodCode` (unknown codes are [`SettlementKind::Deferred`]).
pub fn settlement_kind(code: Option<i32>) -> SettlementKind {
    match code {
        Some(1 | 4 | 5 | 6 | 8 | 12 | 16 | 17 | 27) => SettlementKind::Immediate,
        _ => SettlementKind::Deferred,
    }
}

/// Whether we know the code (unknown ones are reported as warnings).
pub fn is_known_settlement(code: Option<i32>) -> bool {
    matches!(code, Some(1..=9 | 12 | 13 | 14 | 16 | 17 | 21 | 27))
}

/// The ledger's 払込方法 of a `settlementMethodCode`.
pub fn payment_method(code: Option<i32>) -> PaymentMethod {
    match code {
        // Apple Pay on 楽天 charges a registered card.
        Some(1 | 12) => PaymentMethod::CreditCard,
        Some(9) => PaymentMethod::BankTransfer,
        Some(13 | 14) => PaymentMethod::ConvenienceStore,
        _ => PaymentMethod::Other,
    }
}

/// 寄附日, 受領日 and 収納状況 of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentFacts {
    pub donated_on: Date,
    pub received_on: Option<Date>,
    pub status: PaymentStatus,
}

/// True for キャンセル確定 (900) and キャンセル確定待ち (800).
pub fn is_cancelled_progress(progress: i32) -> bool {
    matches!(progress, 800 | 900)
}

fn jst_date(t: OffsetDateTime) -> Date {
    jst::to_jst(t).date()
}

/// Applies the rule of this module. `ordered_at` is the parsed `orderDatetime`; `observed_on`
/// is today's JST date (used only when a deferred payment is settled and the order carries no
/// confirmation datetime).
pub fn payment_facts(
    order: &OrderModel,
    progress: i32,
    ordered_at: OffsetDateTime,
    observed_on: Date,
) -> PaymentFacts {
    let code = order
        .settlement
        .as_ref()
        .and_then(|s| s.settlement_method_code);
    let order_date = jst_date(ordered_at);
    let settled = progress >= 300;
    let (donated_on, paid_on) = match settlement_kind(code) {
        SettlementKind::Immediate => (order_date, settled.then_some(order_date)),
        SettlementKind::Deferred => {
            let confirmed = order
                .order_fix_datetime_at()
                .ok()
                .flatten()
                .or_else(|| order.shop_order_cfm_datetime_at().ok().flatten())
                .map(jst_date);
            if settled {
                let paid = confirmed.unwrap_or(observed_on);
                (paid, Some(paid))
            } else {
                (order_date, None)
            }
        }
    };
    if is_cancelled_progress(progress) {
        PaymentFacts {
            donated_on,
            received_on: None,
            status: PaymentStatus::Cancelled,
        }
    } else if let Some(d) = paid_on {
        PaymentFacts {
            donated_on,
            received_on: Some(d),
            status: PaymentStatus::Paid,
        }
    } else {
        PaymentFacts {
            donated_on,
            received_on: None,
            status: PaymentStatus::Unpaid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use furusato_portals::rakuten::model::SettlementModel;
    use time::macros::{date, datetime};

    fn order(code: i32, fix: Option<&str>, cfm: Option<&str>) -> OrderModel {
        OrderModel {
            order_number: "1-20251231-1".into(),
            settlement: Some(SettlementModel {
                settlement_method_code: Some(code),
                ..Default::default()
            }),
            order_fix_datetime: fix.map(str::to_string),
            shop_order_cfm_datetime: cfm.map(str::to_string),
            ..Default::default()
        }
    }

    // 2025-12-31 23:30 JST = 14:30 UTC: the JST date must be used.
    const AT: OffsetDateTime = datetime!(2025-12-31 14:30:00 UTC);
    const TODAY: Date = date!(2026 - 01 - 10);

    #[test]
    fn card_is_received_on_the_order_date_once_settled() {
        let o = order(1, Some("2026-01-02T10:00:00+0900"), None);
        let f = payment_facts(&o, 300, AT, TODAY);
        assert_eq!(f.donated_on, date!(2025 - 12 - 31));
        assert_eq!(f.received_on, Some(date!(2025 - 12 - 31)));
        assert_eq!(f.status, PaymentStatus::Paid);
        let f = payment_facts(&o, 100, AT, TODAY);
        assert_eq!((f.received_on, f.status), (None, PaymentStatus::Unpaid));
        assert_eq!(f.donated_on, date!(2025 - 12 - 31));
        assert_eq!(payment_method(Some(1)), PaymentMethod::CreditCard);
        assert_eq!(payment_method(Some(12)), PaymentMethod::CreditCard);
    }

    #[test]
    fn bank_transfer_is_received_on_the_settlement_date() {
        let o = order(
            9,
            Some("2026-01-05T09:00:00+0900"),
            Some("2026-01-01T09:00:00+0900"),
        );
        let unpaid = payment_facts(&o, 200, AT, TODAY);
        assert_eq!(
            (unpaid.donated_on, unpaid.received_on, unpaid.status),
            (date!(2025 - 12 - 31), None, PaymentStatus::Unpaid)
        );
        let paid = payment_facts(&o, 300, AT, TODAY);
        assert_eq!(paid.received_on, Some(date!(2026 - 01 - 05)));
        assert_eq!(
            paid.donated_on,
            date!(2026 - 01 - 05),
            "振込日 is the 寄附日"
        );
        assert_eq!(paid.status, PaymentStatus::Paid);
        // Without 注文確定日時, the 注文確認日時; without both, the day it was seen settled.
        let o = order(9, None, Some("2026-01-01T09:00:00+0900"));
        assert_eq!(
            payment_facts(&o, 500, AT, TODAY).received_on,
            Some(date!(2026 - 01 - 01))
        );
        let o = order(14, None, None);
        assert_eq!(payment_facts(&o, 500, AT, TODAY).received_on, Some(TODAY));
        assert_eq!(payment_method(Some(9)), PaymentMethod::BankTransfer);
        assert_eq!(payment_method(Some(14)), PaymentMethod::ConvenienceStore);
    }

    #[test]
    fn cancellations() {
        let o = order(1, Some("2026-01-02T10:00:00+0900"), None);
        for p in [800, 900] {
            let f = payment_facts(&o, p, AT, TODAY);
            assert_eq!(f.status, PaymentStatus::Cancelled);
            assert_eq!(f.received_on, None);
        }
    }

    #[test]
    fn unknown_codes_are_deferred() {
        assert_eq!(settlement_kind(None), SettlementKind::Deferred);
        assert_eq!(settlement_kind(Some(99)), SettlementKind::Deferred);
        assert!(!is_known_settlement(Some(99)));
        assert!(is_known_settlement(Some(27)));
        assert_eq!(settlement_kind(Some(27)), SettlementKind::Immediate);
    }
}
