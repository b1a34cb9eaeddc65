//! furusato-domain: the pure types and rules of ふるさと納税 operations.
//!
//! No IO, no async, no database. Every type here exists only with a valid value
//! ("parse, don't validate"): a [`PostalCode`], [`LocalGovCode`], [`MyNumber`] or [`Yen`]
//! is checked once, when it is parsed. Every error type has an English `Display` and a
//! Japanese `message_ja()` for screens (also available through the [`MessageJa`] trait).

mod code_enum;
pub mod donation;
pub mod donation_number;
pub mod email;
pub mod jst;
pub mod kana;
pub mod localgov;
pub mod money;
pub mod my_number;
pub mod normalize;
pub mod phone;
pub mod postal;
pub mod prefecture;
pub mod role;
mod text;
pub mod wareki;

pub use code_enum::UnknownCode;
pub use donation::{Channel, PaymentMethod, PaymentStatus, Portal};
pub use donation_number::{DonationNumber, DonationNumberError};
pub use email::{Email, EmailError};
pub use jst::{DateError, JST};
pub use kana::{KanaName, KanaNameError};
pub use localgov::{LocalGovCode, LocalGovCodeError};
pub use money::{Yen, YenError};
pub use my_number::{MyNumber, MyNumberError};
pub use phone::{PhoneNumber, PhoneNumberError};
pub use postal::{PostalCode, PostalCodeError};
pub use prefecture::{Prefecture, PrefectureError};
pub use role::Role;
pub use wareki::{Era, WarekiDate, WarekiError};

/// A short Japanese message for an error, for screens. Implemented by every error type of
/// this crate (each also has the same inherent `message_ja` method).
pub trait MessageJa {
    /// The message, e.g. "郵便番号は7桁の数字で入力してください（例: 980-0811）。".
    fn message_ja(&self) -> &'static str;
}

macro_rules! impl_message_ja {
    ($($t:ty),+ $(,)?) => {
        $(impl MessageJa for $t {
            fn message_ja(&self) -> &'static str {
                <$t>::message_ja(self)
            }
        })+
    };
}

impl_message_ja!(
    UnknownCode,
    DonationNumberError,
    EmailError,
    DateError,
    KanaNameError,
    LocalGovCodeError,
    YenError,
    MyNumberError,
    PhoneNumberError,
    PostalCodeError,
    PrefectureError,
    WarekiError,
);

#[cfg(test)]
mod tests {
    use super::*;

    fn ja(e: &dyn MessageJa) -> &'static str {
        e.message_ja()
    }

    #[test]
    fn every_error_has_a_japanese_message() {
        let messages = [
            ja(&UnknownCode { kind: "role" }),
            ja(&DonationNumberError::Syntax),
            ja(&EmailError::MissingAt),
            ja(&DateError::Syntax),
            ja(&KanaNameError::NotKana),
            ja(&LocalGovCodeError::WrongCheckDigit { expected: 9 }),
            ja(&YenError::Empty),
            ja(&MyNumberError::WrongCheckDigit),
            ja(&PhoneNumberError::InvalidPrefix),
            ja(&PostalCodeError::Empty),
            ja(&PrefectureError::Unknown),
            ja(&WarekiError::Syntax),
        ];
        for m in messages {
            assert!(m.ends_with('。'), "{m}");
            assert!(!m.is_ascii(), "{m}");
        }
    }
}
