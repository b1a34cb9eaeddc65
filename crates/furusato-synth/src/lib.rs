//! `furusato-synth`: realistic but fictitious Japanese donors and ふるさと納税 donations, for the
//! demo, tests and benchmarks. Pure and deterministic: no IO, no clock; the same seed gives the
//! same data.
//!
//! - People ([`Person`]) have consistent kanji/katakana names from tables written for this
//!   project ([`names`]), a real postal area ([`AddressBook`]) with a generated street and a
//!   fictitious building, a phone number, an e-mail address on a reserved domain
//!   ([`RESERVED_EMAIL_DOMAINS`]) and a synthetic My Number (prefix `9999`, valid check digit:
//!   see [`my_number`] and [`is_synthetic_my_number`]).
//! - A [`DonationPlan`] streams a municipality's donations lazily and by index (a million
//!   donations never sit in memory), with realistic seasonality, portal shares, repeat donors,
//!   payment methods and statuses (see [`ledger`]).
//! - [`default_gifts`] / [`default_partners`]: a fictitious 仙台 gift catalogue.
//!
//! ```
//! use furusato_synth::{AddressBook, Generator, LedgerParams, default_gifts};
//! use time::macros::date;
//!
//! let mut g = Generator::new(42, AddressBook::builtin());
//! let p = g.person();
//! assert!(furusato_synth::is_synthetic_my_number(&p.my_number));
//!
//! let gifts = default_gifts();
//! let plan = g
//!     .generate_ledger(LedgerParams::new(50, 80, date!(2024 - 01 - 01), date!(2026 - 12 - 31), &gifts))
//!     .expect("valid params");
//! let total: i64 = plan.donations().map(|d| d.amount).sum();
//! assert!(total > 0);
//! ```

pub mod address;
pub mod donation;
pub mod gifts;
pub mod ledger;
pub mod my_number;
pub mod names;
pub mod person;
pub mod romaji;

mod generator;
mod rng;
mod serde_formats;

pub use address::{AddressBook, AddressBookError, AddressSeed};
pub use donation::{
    Channel, GiftLine, PaymentMethod, PaymentStatus, Portal, SynthDonation, pays_immediately,
};
pub use generator::Generator;
pub use gifts::{GiftSeed, PartnerSeed, default_gifts, default_partners};
pub use ledger::{DEFAULT_USES_OF_FUNDS, DonationPlan, Donations, Donors, LedgerParams, PlanError};
pub use my_number::{SYNTHETIC_MY_NUMBER_PREFIX, is_synthetic_my_number};
pub use person::{Person, RESERVED_EMAIL_DOMAINS, Sex, is_reserved_email};
