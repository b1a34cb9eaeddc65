//! Codes that describe a donation: how it came in, through which portal, how it was paid,
//! and whether the money has arrived.

use crate::code_enum::code_enum;

code_enum! {
    /// How a donation reached the city.
    pub enum Channel("channel") {
        /// A ふるさと納税 portal site.
        Portal => "portal", "ポータルサイト";
        /// Bank transfer to the city's account.
        BankTransfer => "bank_transfer", "銀行振込";
        /// ゆうちょ postal transfer (郵便振替).
        PostalTransfer => "postal_transfer", "郵便振替";
        /// A 納付書 payment slip issued by the city.
        PaymentSlip => "payment_slip", "納付書";
        /// Cash at the city's counter (窓口).
        Counter => "counter", "窓口";
        /// Anything else.
        Other => "other", "その他";
    }
}

code_enum! {
    /// A ふるさと納税 portal site.
    pub enum Portal("portal") {
        /// 楽天ふるさと納税
        Rakuten => "rakuten", "楽天ふるさと納税";
        /// ふるさとチョイス
        Choice => "choice", "ふるさとチョイス";
        /// さとふる
        Satofull => "satofull", "さとふる";
        /// ふるなび
        Furunavi => "furunavi", "ふるなび";
        /// au PAY ふるさと納税
        AuPay => "au_pay", "au PAY ふるさと納税";
        /// ANAのふるさと納税
        Ana => "ana", "ANAのふるさと納税";
        /// Another portal.
        Other => "other", "その他";
    }
}

code_enum! {
    /// 収納状況: whether the donated money has reached the city.
    pub enum PaymentStatus("payment status") {
        /// Not received yet.
        Unpaid => "unpaid", "未入金";
        /// Received (the 受領日 is set).
        Paid => "paid", "入金済";
        /// Received and paid back.
        Refunded => "refunded", "返金済";
        /// Cancelled before payment.
        Cancelled => "cancelled", "取消";
    }
}

code_enum! {
    /// How the donor paid.
    pub enum PaymentMethod("payment method") {
        /// Credit card.
        CreditCard => "credit_card", "クレジットカード";
        /// Bank transfer.
        BankTransfer => "bank_transfer", "銀行振込";
        /// ゆうちょ postal transfer.
        PostalTransfer => "postal_transfer", "郵便振替";
        /// 納付書 payment slip.
        PaymentSlip => "payment_slip", "納付書";
        /// Cash.
        Cash => "cash", "現金";
        /// Payment at a convenience store.
        ConvenienceStore => "convenience_store", "コンビニ払い";
        /// Mobile carrier billing.
        CarrierBilling => "carrier_billing", "キャリア決済";
        /// Pay-easy (ペイジー).
        PayEasy => "pay_easy", "ペイジー";
        /// Anything else (electronic money, QR payments…).
        Other => "other", "その他";
    }
}

impl PaymentStatus {
    /// Whether the money has been received and kept (not refunded): only then is a receipt issued.
    pub const fn is_received(self) -> bool {
        matches!(self, PaymentStatus::Paid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::code_enum::{UnknownCode, check_code_enum};

    #[test]
    fn all_enums_are_consistent() {
        check_code_enum(&Channel::ALL);
        check_code_enum(&Portal::ALL);
        check_code_enum(&PaymentStatus::ALL);
        check_code_enum(&PaymentMethod::ALL);
        assert_eq!(Channel::ALL.len(), 6);
        assert_eq!(Portal::ALL.len(), 7);
        assert_eq!(PaymentStatus::ALL.len(), 4);
        assert_eq!(PaymentMethod::ALL.len(), 9);
    }

    #[test]
    fn codes_and_labels() {
        assert_eq!(Channel::PaymentSlip.as_str(), "payment_slip");
        assert_eq!(Channel::PaymentSlip.label_ja(), "納付書");
        assert_eq!(Channel::Counter.label_ja(), "窓口");
        assert_eq!(Portal::AuPay.as_str(), "au_pay");
        assert_eq!(Portal::AuPay.label_ja(), "au PAY ふるさと納税");
        assert_eq!(Portal::Ana.label_ja(), "ANAのふるさと納税");
        assert_eq!(Portal::Rakuten.label_ja(), "楽天ふるさと納税");
        assert_eq!(PaymentStatus::Paid.label_ja(), "入金済");
        assert_eq!(PaymentStatus::Cancelled.as_str(), "cancelled");
        assert_eq!(PaymentMethod::PayEasy.as_str(), "pay_easy");
        assert_eq!(PaymentMethod::ConvenienceStore.label_ja(), "コンビニ払い");
        assert_eq!(PaymentMethod::CarrierBilling.label_ja(), "キャリア決済");
        assert_eq!(Portal::Satofull.to_string(), "satofull");
    }

    #[test]
    fn parse_accepts_codes_and_labels() {
        assert_eq!(Portal::parse("rakuten"), Ok(Portal::Rakuten));
        assert_eq!(Portal::parse(" Rakuten "), Ok(Portal::Rakuten));
        assert_eq!(Portal::parse("さとふる"), Ok(Portal::Satofull));
        assert_eq!(PaymentStatus::parse("未入金"), Ok(PaymentStatus::Unpaid));
        assert_eq!(Channel::parse("窓口"), Ok(Channel::Counter));
        assert_eq!(Portal::parse("amazon"), Err(UnknownCode { kind: "portal" }));
        assert_eq!(
            Portal::parse("amazon").unwrap_err().to_string(),
            "unknown portal"
        );
        assert!(!UnknownCode { kind: "portal" }.message_ja().is_empty());
        assert!(PaymentStatus::Paid.is_received());
        assert!(!PaymentStatus::Refunded.is_received());
    }
}
