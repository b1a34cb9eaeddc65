//! The canonical fields a portal CSV column can be mapped to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! canonical_fields {
    ($( $(#[$doc:meta])* $variant:ident => $id:literal, $label:literal; )*) => {
        /// A field of [`ImportedDonation`](super::ImportedDonation) that a CSV column can
        /// be mapped to. Serialised as its snake_case [`as_str`](CanonicalField::as_str) id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum CanonicalField {
            $( $(#[$doc])* $variant, )*
        }

        impl CanonicalField {
            /// Every field, in screen order.
            pub const ALL: &'static [CanonicalField] = &[ $( CanonicalField::$variant, )* ];

            /// Stable snake_case id (the serde form), e.g. `external_id`.
            pub fn as_str(self) -> &'static str {
                match self { $( CanonicalField::$variant => $id, )* }
            }

            /// Label for the column-mapping screen, e.g. 「寄附番号」.
            pub fn label_ja(self) -> &'static str {
                match self { $( CanonicalField::$variant => $label, )* }
            }
        }

        impl FromStr for CanonicalField {
            type Err = UnknownField;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s { $( $id => Ok(CanonicalField::$variant), )* _ => Err(UnknownField(s.to_owned())) }
            }
        }
    };
}

canonical_fields! {
    /// The portal's own id of the donation (寄附者番号, 外部管理番号, 寄附受付番号, …).
    ExternalId => "external_id", "寄附番号";
    /// 申込日.
    AppliedOn => "applied_on", "申込日";
    /// 入金日.
    PaidOn => "paid_on", "入金日";
    /// 寄附金額 in yen.
    Amount => "amount", "寄附金額";
    /// Payment method label as written by the portal.
    PaymentMethod => "payment_method", "支払方法";
    /// Payment status label as written by the portal.
    PaymentStatus => "payment_status", "決済状況";
    /// Donor full name in one column (split at the first space).
    DonorName => "donor_name", "寄附者 氏名";
    /// Donor family name (when the source has split name columns).
    DonorFamilyName => "donor_family_name", "寄附者 姓";
    /// Donor given name.
    DonorGivenName => "donor_given_name", "寄附者 名";
    /// Donor name reading in one column.
    DonorKana => "donor_kana", "寄附者 フリガナ";
    /// Donor family-name reading.
    DonorFamilyKana => "donor_family_kana", "寄附者 フリガナ（セイ）";
    /// Donor given-name reading.
    DonorGivenKana => "donor_given_kana", "寄附者 フリガナ（メイ）";
    /// Donor postal code.
    DonorPostalCode => "donor_postal_code", "寄附者 郵便番号";
    /// Donor prefecture.
    DonorPrefecture => "donor_prefecture", "寄附者 都道府県";
    /// Donor city / ward / town / village.
    DonorCity => "donor_city", "寄附者 市区町村";
    /// Donor street address (町名・番地).
    DonorAddress1 => "donor_address1", "寄附者 町名・番地";
    /// Donor building / apartment.
    DonorAddress2 => "donor_address2", "寄附者 建物名";
    /// Donor phone number.
    DonorPhone => "donor_phone", "寄附者 電話番号";
    /// Donor e-mail address.
    DonorEmail => "donor_email", "寄附者 メールアドレス";
    /// Donor sex as written (男/女).
    DonorSex => "donor_sex", "寄附者 性別";
    /// Donor date of birth.
    DonorBirthDate => "donor_birth_date", "寄附者 生年月日";
    /// Ship-to full name.
    ShipToName => "ship_to_name", "お届け先 氏名";
    /// Ship-to family name.
    ShipToFamilyName => "ship_to_family_name", "お届け先 姓";
    /// Ship-to given name.
    ShipToGivenName => "ship_to_given_name", "お届け先 名";
    /// Ship-to name reading.
    ShipToKana => "ship_to_kana", "お届け先 フリガナ";
    /// Ship-to postal code.
    ShipToPostalCode => "ship_to_postal_code", "お届け先 郵便番号";
    /// Ship-to prefecture.
    ShipToPrefecture => "ship_to_prefecture", "お届け先 都道府県";
    /// Ship-to city.
    ShipToCity => "ship_to_city", "お届け先 市区町村";
    /// Ship-to street address.
    ShipToAddress1 => "ship_to_address1", "お届け先 町名・番地";
    /// Ship-to building.
    ShipToAddress2 => "ship_to_address2", "お届け先 建物名";
    /// Ship-to phone number.
    ShipToPhone => "ship_to_phone", "お届け先 電話番号";
    /// Document recipient full name (書類送付先).
    DocumentsName => "documents_name", "書類送付先 氏名";
    /// Document recipient family name.
    DocumentsFamilyName => "documents_family_name", "書類送付先 姓";
    /// Document recipient given name.
    DocumentsGivenName => "documents_given_name", "書類送付先 名";
    /// Document recipient name reading.
    DocumentsKana => "documents_kana", "書類送付先 フリガナ";
    /// Document recipient postal code.
    DocumentsPostalCode => "documents_postal_code", "書類送付先 郵便番号";
    /// Document recipient prefecture.
    DocumentsPrefecture => "documents_prefecture", "書類送付先 都道府県";
    /// Document recipient city.
    DocumentsCity => "documents_city", "書類送付先 市区町村";
    /// Document recipient street address.
    DocumentsAddress1 => "documents_address1", "書類送付先 町名・番地";
    /// Document recipient building.
    DocumentsAddress2 => "documents_address2", "書類送付先 建物名";
    /// Document recipient phone number.
    DocumentsPhone => "documents_phone", "書類送付先 電話番号";
    /// Gift code (返礼品コード / お礼品ID).
    GiftCode => "gift_code", "返礼品コード";
    /// Gift name; a value like 「[SD0001] 牛たん」 also yields the code.
    GiftName => "gift_name", "返礼品名";
    /// Gift quantity (1 when not mapped or empty).
    GiftQuantity => "gift_quantity", "返礼品 数量";
    /// Gift declined (返礼品辞退).
    GiftDeclined => "gift_declined", "返礼品辞退";
    /// Chosen use of funds (使い道).
    UseOfFunds => "use_of_funds", "寄附金の使い道";
    /// One-stop application wanted (ワンストップ特例の希望).
    OnestopWanted => "onestop_wanted", "ワンストップ特例の希望";
    /// Donor asked to stay anonymous.
    Anonymous => "anonymous", "匿名希望";
    /// Donor agrees to the publication of name/donation (公表).
    Publication => "publication", "寄附者情報の公表";
    /// The support message may be published.
    MessagePublication => "message_publication", "応援メッセージの公表";
    /// Support message (応援メッセージ).
    Message => "message", "応援メッセージ";
    /// Remarks (備考).
    Remarks => "remarks", "備考";
}

/// Error for [`CanonicalField::from_str`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown canonical field {0:?}")]
pub struct UnknownField(pub String);

impl fmt::Display for CanonicalField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl CanonicalField {
    /// Whether the cell is read as a yes/no flag.
    pub fn is_flag(self) -> bool {
        matches!(
            self,
            CanonicalField::GiftDeclined
                | CanonicalField::OnestopWanted
                | CanonicalField::Anonymous
                | CanonicalField::Publication
                | CanonicalField::MessagePublication
        )
    }

    /// Whether the cell is read as a date.
    pub fn is_date(self) -> bool {
        matches!(
            self,
            CanonicalField::AppliedOn | CanonicalField::PaidOn | CanonicalField::DonorBirthDate
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for field in CanonicalField::ALL {
            assert!(
                seen.insert(field.as_str()),
                "duplicate id {}",
                field.as_str()
            );
            assert_eq!(field.as_str().parse::<CanonicalField>().unwrap(), *field);
            let json = serde_json::to_string(field).unwrap();
            assert_eq!(json, format!("\"{}\"", field.as_str()));
            assert!(!field.label_ja().is_empty());
        }
    }
}
