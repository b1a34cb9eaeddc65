//! The entry point: a seeded [`Generator`] of people and donation plans.

use crate::address::AddressBook;
use crate::ledger::{DonationPlan, LedgerParams, PlanError};
use crate::my_number::SYNTHETIC_MY_NUMBER_SERIALS;
use crate::person::{NameTables, Person, generate_person};
use crate::rng::{Permutation, item_rng, key, stream};

/// A deterministic generator: the same seed and address book always give the same people and
/// plans (with the same version of this crate and of `rand`).
#[derive(Clone, Debug)]
pub struct Generator {
    seed: u64,
    addresses: AddressBook,
    names: NameTables,
    my_numbers: Permutation,
    next_person: u64,
}

impl Generator {
    /// A generator for `seed` drawing addresses from `addresses`.
    pub fn new(seed: u64, addresses: AddressBook) -> Self {
        Self {
            seed,
            addresses,
            names: NameTables::new(),
            my_numbers: Permutation::new(
                u64::from(SYNTHETIC_MY_NUMBER_SERIALS),
                key(seed, stream::PERM_MY_NUMBER, 0),
            ),
            next_person: 0,
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The address book.
    pub fn addresses(&self) -> &AddressBook {
        &self.addresses
    }

    /// How many people [`Generator::person`] has produced.
    pub fn persons_generated(&self) -> u64 {
        self.next_person
    }

    /// The next person of this generator's own stream. Their My Numbers never repeat one another,
    /// nor those of a plan's donors made from this generator (up to 5 million people each).
    ///
    /// # Panics
    /// After 5 million people.
    pub fn person(&mut self) -> Person {
        let n = self.next_person;
        assert!(
            n < crate::ledger::MAX_DONORS as u64,
            "synthetic person stream exhausted"
        );
        self.next_person += 1;
        let mut rng = item_rng(self.seed, stream::PERSON, n);
        // Plans number their donors from serial index 0 upwards; this stream counts down.
        let serial = self
            .my_numbers
            .apply(u64::from(SYNTHETIC_MY_NUMBER_SERIALS) - 1 - n) as u32;
        generate_person(&mut rng, &self.names, &self.addresses, serial)
    }

    /// A lazy plan of donors and donations for one municipality (see [`DonationPlan`]).
    /// Independent of how many persons were drawn before.
    ///
    /// # Errors
    /// Inconsistent params (see [`PlanError`]).
    pub fn generate_ledger(&self, params: LedgerParams<'_>) -> Result<DonationPlan, PlanError> {
        DonationPlan::new(
            self.seed,
            self.names.clone(),
            self.addresses.clone(),
            self.my_numbers.clone(),
            params,
        )
    }
}
