//! The donation-stream model: a [`DonationPlan`] gives a municipality's donors and donations
//! lazily and by index, so a million donations are produced one at a time without being held.
//!
//! # Model
//! - **Dates**: donation `i` is placed at the `(i + ½)/n` quantile of a seasonal calendar, so the
//!   stream is ordered by `applied_at`. Month weights give December ≈ 38 % of a calendar year and
//!   November ≈ 12 %, with January–June low; within December the count rises towards the 31st
//!   (the last four days ≈ a third of the month); weekends and month ends are a little busier;
//!   the time of day peaks in the evening; each year has 10 % more donations than the one before.
//! - **Donors**: every donor gives at least once. A keyed permutation of the donation slots gives
//!   each donor one "first" slot; the remaining slots go to repeat donors chosen from nested pools
//!   (a quarter of the donors, 4 %, 0.4 %), so most donors give once, some two to five times and
//!   a few many times.
//! - **Portals**: 楽天 45 %, ふるさとチョイス 25 %, さとふる 15 %, ふるなび 10 %, direct 5 %;
//!   a donor mostly sticks to one portal.
//! - **Payment**: portals mostly by credit card (also QR payments as `Other`, carrier billing,
//!   convenience store, Pay-easy, bank transfer); direct donations come by 郵便振替, 納付書 or bank
//!   transfer (the channel is the payment path) or as cash at the counter. 受領日 is the
//!   application date for immediate methods and some days later for the others; a donation whose
//!   money would arrive after the plan's last day is still unpaid. About 1 % are cancelled
//!   (mostly unpaid transfers) and 0.2 % refunded.
//! - **Amounts**: the chosen gifts' 寄附額 (10,000–30,000 yen dominate) or a free amount
//!   between 5,000 and 1,000,000 yen for donations without a gift.

use std::iter::FusedIterator;
use std::ops::Range;

use rand::Rng;
use rand::rngs::StdRng;
use time::{Date, Duration, Month, PrimitiveDateTime, Time, Weekday};

use crate::address::AddressBook;
use furusato_domain::JST;

use crate::donation::{
    Channel, GiftLine, PaymentMethod, PaymentStatus, Portal, SynthDonation, pays_immediately,
};
use crate::gifts::GiftSeed;
use crate::person::{NameTables, Person, generate_person};
use crate::rng::{Permutation, Weighted, item_rng, key, mix64, pick_static, stream, unit_f64};

/// The uses of funds (使い道) of the reference customer, used by [`LedgerParams::new`].
pub const DEFAULT_USES_OF_FUNDS: &[&str] = &[
    "子育て支援",
    "震災復興・防災",
    "杜の都の環境保全",
    "文化・スポーツ振興",
    "市長におまかせ",
];

/// Most donors a plan may have (the synthetic My Number serial space is shared with
/// [`crate::Generator::person`], which counts down from the top).
pub const MAX_DONORS: usize = 5_000_000;

/// Most donations a plan may have (keeps portal order numbers unique).
pub const MAX_DONATIONS: usize = 100_000_000;

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct LedgerParams<'a> {
    /// Number of distinct donors (each gives at least once).
    pub donors: usize,
    /// Number of donations (≥ `donors`).
    pub donations: usize,
    /// First day of the period (JST).
    pub from: Date,
    /// Last day of the period (JST), also the "as of" date of the payment status.
    pub to: Date,
    /// Gifts to choose from; empty means donations without gifts only.
    pub gifts: &'a [GiftSeed],
    /// 使い道 to choose from; entries containing 「おまかせ」 are chosen more often.
    pub uses_of_funds: &'a [&'a str],
    /// The municipality's own city name ("仙台市"): donors whose city starts with it get no gift,
    /// as the law forbids gifts to residents. None: no such rule.
    pub home_city: Option<&'a str>,
}

impl<'a> LedgerParams<'a> {
    /// Params with [`DEFAULT_USES_OF_FUNDS`] and no home city.
    pub fn new(
        donors: usize,
        donations: usize,
        from: Date,
        to: Date,
        gifts: &'a [GiftSeed],
    ) -> Self {
        Self {
            donors,
            donations,
            from,
            to,
            gifts,
            uses_of_funds: DEFAULT_USES_OF_FUNDS,
            home_city: None,
        }
    }
}

/// Why a plan could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// `donors` is 0.
    #[error("a ledger needs at least one donor")]
    NoDonors,
    /// Every donor gives at least once.
    #[error("{donations} donations cannot cover {donors} donors")]
    FewerDonationsThanDonors {
        /// Requested donors.
        donors: usize,
        /// Requested donations.
        donations: usize,
    },
    /// More than [`MAX_DONORS`].
    #[error("at most {MAX_DONORS} donors")]
    TooManyDonors,
    /// More than [`MAX_DONATIONS`].
    #[error("at most {MAX_DONATIONS} donations")]
    TooManyDonations,
    /// `to` is before `from`.
    #[error("the period ends before it starts")]
    InvalidPeriod,
    /// `uses_of_funds` is empty.
    #[error("at least one use of funds is needed")]
    NoUsesOfFunds,
    /// A gift has a non-positive amount.
    #[error("gift {code}: amount must be positive")]
    InvalidGift {
        /// The gift's code.
        code: String,
    },
}

/// The portals generated, with [`PORTAL_WEIGHTS`].
const PORTALS: [Portal; 4] = [
    Portal::Rakuten,
    Portal::Choice,
    Portal::Satofull,
    Portal::Furunavi,
];

/// Portal choice weights in [`PORTALS`] order; the last one (index 4) is "direct".
const PORTAL_WEIGHTS: [f64; 5] = [45.0, 25.0, 15.0, 10.0, 5.0];

/// Free amounts for donations without a gift.
const FREE_AMOUNTS: &[(i64, u32)] = &[
    (5_000, 10),
    (10_000, 25),
    (15_000, 5),
    (20_000, 12),
    (30_000, 14),
    (50_000, 10),
    (100_000, 8),
    (200_000, 3),
    (300_000, 2),
    (500_000, 1),
    (1_000_000, 1),
];

/// A municipality's synthetic donors and donations, produced lazily.
///
/// Every item depends only on the seed, the params and its index, so `donation(i)` and
/// `donor(j)` can be called in any order, from several threads, and always give the same result.
#[derive(Clone, Debug)]
pub struct DonationPlan {
    seed: u64,
    names: NameTables,
    addresses: AddressBook,
    my_numbers: Permutation,
    gifts: Vec<GiftSeed>,
    gift_table: Option<Weighted>,
    uses_of_funds: Vec<String>,
    use_table: Weighted,
    home_city: Option<String>,
    donors: usize,
    donations: usize,
    from: Date,
    to: Date,
    calendar: Calendar,
    slots: Permutation,
    ranks: Permutation,
    portal_table: Weighted,
    rakuten_shop: u64,
    id_keys: [u64; 4],
}

impl DonationPlan {
    pub(crate) fn new(
        seed: u64,
        names: NameTables,
        addresses: AddressBook,
        my_numbers: Permutation,
        params: LedgerParams<'_>,
    ) -> Result<Self, PlanError> {
        if params.donors == 0 {
            return Err(PlanError::NoDonors);
        }
        if params.donors > MAX_DONORS {
            return Err(PlanError::TooManyDonors);
        }
        if params.donations > MAX_DONATIONS {
            return Err(PlanError::TooManyDonations);
        }
        if params.donations < params.donors {
            return Err(PlanError::FewerDonationsThanDonors {
                donors: params.donors,
                donations: params.donations,
            });
        }
        if params.to < params.from {
            return Err(PlanError::InvalidPeriod);
        }
        if let Some(g) = params.gifts.iter().find(|g| g.amount <= 0) {
            return Err(PlanError::InvalidGift {
                code: g.code.clone(),
            });
        }
        let use_table = Weighted::new(
            params
                .uses_of_funds
                .iter()
                .map(|u| if u.contains("おまかせ") { 3.0 } else { 1.0 }),
        )
        .ok_or(PlanError::NoUsesOfFunds)?;
        let gift_table = Weighted::new(params.gifts.iter().map(|g| gift_popularity(seed, g)));
        Ok(Self {
            seed,
            names,
            addresses,
            my_numbers,
            gifts: params.gifts.to_vec(),
            gift_table,
            uses_of_funds: params
                .uses_of_funds
                .iter()
                .map(|u| (*u).to_string())
                .collect(),
            use_table,
            home_city: params.home_city.map(str::to_string),
            donors: params.donors,
            donations: params.donations,
            from: params.from,
            to: params.to,
            calendar: Calendar::new(params.from, params.to),
            slots: Permutation::new(params.donations as u64, key(seed, stream::PERM_DONATION, 0)),
            ranks: Permutation::new(params.donors as u64, key(seed, stream::PERM_RANK, 0)),
            portal_table: Weighted::new(PORTAL_WEIGHTS).expect("positive weights"),
            rakuten_shop: 100_000 + key(seed, stream::EXTERNAL_ID, 0) % 900_000,
            id_keys: [1, 2, 3, 4].map(|p| key(seed, stream::EXTERNAL_ID, p)),
        })
    }

    /// Number of donors.
    pub fn donor_count(&self) -> usize {
        self.donors
    }

    /// Number of donations.
    pub fn donation_count(&self) -> usize {
        self.donations
    }

    /// First and last day of the period.
    pub fn period(&self) -> (Date, Date) {
        (self.from, self.to)
    }

    /// The gifts donations refer to by `gift_index`.
    pub fn gifts(&self) -> &[GiftSeed] {
        &self.gifts
    }

    /// The uses of funds donations choose from.
    pub fn uses_of_funds(&self) -> &[String] {
        &self.uses_of_funds
    }

    /// Donor `index` (`< donor_count()`).
    ///
    /// # Panics
    /// When `index` is out of range.
    pub fn donor(&self, index: usize) -> Person {
        assert!(index < self.donors, "donor index out of range");
        let mut rng = item_rng(self.seed, stream::DONOR, index as u64);
        let serial = self.my_numbers.apply(index as u64) as u32;
        generate_person(&mut rng, &self.names, &self.addresses, serial)
    }

    /// All donors, lazily, in index order.
    pub fn donors(&self) -> Donors<'_> {
        Donors {
            plan: self,
            range: 0..self.donors,
        }
    }

    /// All donations, lazily, in `applied_at` order.
    pub fn donations(&self) -> Donations<'_> {
        self.donations_range(0..self.donations)
    }

    /// Donations `range` (clamped to the plan), e.g. to split the work between threads.
    pub fn donations_range(&self, range: Range<usize>) -> Donations<'_> {
        let end = range.end.min(self.donations);
        Donations {
            plan: self,
            range: range.start.min(end)..end,
        }
    }

    /// Donation `index` (`< donation_count()`).
    ///
    /// # Panics
    /// When `index` is out of range.
    pub fn donation(&self, index: usize) -> SynthDonation {
        assert!(index < self.donations, "donation index out of range");
        let mut rng = item_rng(self.seed, stream::DONATION, index as u64);
        let q = (index as f64 + 0.5) / self.donations as f64;
        let (donated_on, within_day) = self.calendar.locate(q);
        let applied_at =
            PrimitiveDateTime::new(donated_on, time_of_day(within_day)).assume_offset(JST);

        let donor_index = self.donor_of(index, &mut rng);
        let portal = self.portal_of(donor_index, &mut rng);
        let (channel, payment_method) = match portal {
            Some(_) => (
                Channel::Portal,
                *pick_static(
                    &mut rng,
                    &[
                        (PaymentMethod::CreditCard, 87),
                        // QR / ID payments and the like.
                        (PaymentMethod::Other, 4),
                        (PaymentMethod::CarrierBilling, 2),
                        (PaymentMethod::ConvenienceStore, 3),
                        (PaymentMethod::PayEasy, 1),
                        (PaymentMethod::BankTransfer, 3),
                    ],
                ),
            ),
            // Direct: an application by mail / FAX paid by transfer or 納付書, or cash at the counter.
            None => *pick_static(
                &mut rng,
                &[
                    ((Channel::PostalTransfer, PaymentMethod::PostalTransfer), 32),
                    ((Channel::PaymentSlip, PaymentMethod::PaymentSlip), 24),
                    ((Channel::BankTransfer, PaymentMethod::BankTransfer), 24),
                    ((Channel::Counter, PaymentMethod::Cash), 20),
                ],
            ),
        };

        let resident = self
            .home_city
            .as_deref()
            .is_some_and(|home| self.donor(donor_index).city.starts_with(home));
        let gift_lines = if resident {
            Vec::new()
        } else {
            self.gift_lines(portal.is_some(), &mut rng)
        };
        let amount = if gift_lines.is_empty() {
            *pick_static(&mut rng, FREE_AMOUNTS)
        } else {
            gift_lines.iter().map(|l| l.amount).sum()
        };

        let (payment_status, received_on) = self.payment(payment_method, donated_on, &mut rng);
        let onestop_wanted = rng.random_bool(if amount >= 200_000 { 0.15 } else { 0.42 });
        let receipt_wanted = rng.random_bool(0.97);
        let use_of_funds = self.uses_of_funds[self.use_table.pick(&mut rng)].clone();
        let external_id = portal.map(|p| self.external_id(p, index, donated_on));

        SynthDonation {
            index,
            donor_index,
            portal,
            channel,
            external_id,
            amount,
            donated_on,
            applied_at,
            received_on,
            payment_method,
            payment_status,
            use_of_funds,
            onestop_wanted,
            receipt_wanted,
            gift_declined: gift_lines.is_empty(),
            gift_lines,
        }
    }

    /// Which donor made donation `index`.
    fn donor_of(&self, index: usize, rng: &mut StdRng) -> usize {
        let slot = self.slots.apply(index as u64) as usize;
        if slot < self.donors {
            return slot;
        }
        // A repeat donation: nested pools of "repeat ranks", scattered over donors by `ranks`.
        let n = self.donors as f64;
        let pool = *pick_static(rng, &[(0.25, 55), (0.04, 30), (0.004, 15)]);
        let size = ((n * pool).ceil() as usize).clamp(1, self.donors);
        let rank = rng.random_range(0..size);
        self.ranks.apply(rank as u64) as usize
    }

    /// The portal of a donation (None = direct): a donor's preferred one three times in four.
    fn portal_of(&self, donor_index: usize, rng: &mut StdRng) -> Option<Portal> {
        let choice = if rng.random_bool(0.75) {
            let u = unit_f64(key(self.seed, stream::DONOR_PORTAL, donor_index as u64));
            self.portal_table.pick_unit(u)
        } else {
            self.portal_table.pick(rng)
        };
        PORTALS.get(choice).copied()
    }

    fn gift_lines(&self, via_portal: bool, rng: &mut StdRng) -> Vec<GiftLine> {
        let Some(table) = &self.gift_table else {
            return Vec::new();
        };
        let count = if via_portal {
            *pick_static(rng, &[(0usize, 3), (1, 87), (2, 10)])
        } else {
            *pick_static(rng, &[(0usize, 50), (1, 45), (2, 5)])
        };
        let mut lines: Vec<GiftLine> = Vec::with_capacity(count);
        for _ in 0..count {
            let gift_index = table.pick(rng);
            if lines.iter().any(|l| l.gift_index == gift_index) {
                continue;
            }
            let gift = &self.gifts[gift_index];
            let quantity = if gift.amount <= 30_000 && rng.random_bool(0.05) {
                2
            } else {
                1
            };
            let amount = gift.amount * i64::from(quantity);
            let so_far: i64 = lines.iter().map(|l| l.amount).sum();
            if !lines.is_empty() && so_far + amount > 1_000_000 {
                continue;
            }
            lines.push(GiftLine {
                gift_index,
                code: gift.code.clone(),
                quantity,
                amount,
            });
        }
        lines
    }

    /// 収納状況 and 受領日 as of the plan's last day.
    fn payment(
        &self,
        method: PaymentMethod,
        donated_on: Date,
        rng: &mut StdRng,
    ) -> (PaymentStatus, Option<Date>) {
        let delay_days: i64 = match method {
            PaymentMethod::CreditCard
            | PaymentMethod::CarrierBilling
            | PaymentMethod::Other
            | PaymentMethod::Cash => 0,
            PaymentMethod::PayEasy => *pick_static(rng, &[(0, 50), (1, 30), (2, 10), (4, 10)]),
            PaymentMethod::ConvenienceStore => {
                *pick_static(rng, &[(0, 30), (1, 30), (2, 15), (3, 10), (5, 10), (7, 5)])
            }
            PaymentMethod::BankTransfer => *pick_static(
                rng,
                &[
                    (1, 25),
                    (2, 25),
                    (3, 15),
                    (5, 15),
                    (7, 10),
                    (10, 5),
                    (14, 5),
                ],
            ),
            PaymentMethod::PostalTransfer => rng.random_range(3..=21),
            PaymentMethod::PaymentSlip => rng.random_range(5..=30),
        };
        // Unpaid transfers are what gets cancelled most.
        let cancel = if pays_immediately(method) {
            0.008
        } else {
            0.04
        };
        if rng.random_bool(cancel) {
            return (PaymentStatus::Cancelled, None);
        }
        let received = donated_on + Duration::days(delay_days);
        if received > self.to {
            return (PaymentStatus::Unpaid, None);
        }
        if rng.random_bool(0.002) {
            return (PaymentStatus::Refunded, Some(received));
        }
        (PaymentStatus::Paid, Some(received))
    }

    /// A portal order number in the portal's style, unique per plan.
    fn external_id(&self, portal: Portal, index: usize, donated_on: Date) -> String {
        let i = index as u64;
        match portal {
            Portal::Rakuten => format!(
                "{:06}-{:04}{:02}{:02}-{:010}",
                self.rakuten_shop,
                donated_on.year(),
                u8::from(donated_on.month()),
                donated_on.day(),
                scramble(i, 10_000_000_000, self.id_keys[0])
            ),
            Portal::Choice => (100_000_000 + scramble(i, 900_000_000, self.id_keys[1])).to_string(),
            Portal::Satofull => {
                (1_000_000_000 + scramble(i, 9_000_000_000, self.id_keys[2])).to_string()
            }
            Portal::Furunavi => {
                (300_000_000 + scramble(i, 600_000_000, self.id_keys[3])).to_string()
            }
            // Not generated by plans; numeric like the others.
            Portal::AuPay | Portal::Ana | Portal::Other => {
                (1_000_000_000 + scramble(i, 9_000_000_000, self.id_keys[3])).to_string()
            }
        }
    }
}

/// An affine bijection of `0..m` keyed by `k`: `(a·i + b) mod m` with `gcd(a, m) = 1`.
fn scramble(i: u64, m: u64, k: u64) -> u64 {
    let mut a = (mix64(k) % m).max(1);
    while gcd(a, m) != 1 {
        a = a % (m - 1) + 1;
    }
    let b = mix64(k ^ 0xABCD) % m;
    ((u128::from(a) * u128::from(i) + u128::from(b)) % u128::from(m)) as u64
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// How often a gift is chosen: 10,000–30,000 yen gifts dominate, and a per-gift factor (from the
/// code) makes some gifts best sellers.
fn gift_popularity(seed: u64, gift: &GiftSeed) -> f64 {
    let by_amount = match gift.amount {
        ..10_000 => 4.0,
        10_000..20_000 => 10.0,
        20_000..=30_000 => 7.0,
        30_001..50_000 => 2.5,
        50_000..100_000 => 1.2,
        100_000..300_000 => 0.4,
        300_000..1_000_000 => 0.12,
        _ => 0.04,
    };
    let code_hash = gift
        .code
        .bytes()
        .fold(key(seed, stream::GIFT_POPULARITY, 0), |h, b| {
            mix64(h ^ u64::from(b))
        });
    // 0.4 … 2.5, log-uniform-ish.
    let factor = 0.4 * (2.5f64 / 0.4).powf(unit_f64(code_hash));
    by_amount * factor
}

/// Seasonal day weights over the period, cumulated.
#[derive(Clone, Debug)]
struct Calendar {
    first: Date,
    cumulative: Vec<f64>,
}

/// Relative share of each month in a year (December ≈ 38 %).
const MONTH_WEIGHTS: [f64; 12] = [3.0, 2.5, 3.0, 2.5, 3.0, 4.0, 4.0, 4.5, 5.5, 5.0, 9.0, 28.0];

/// Year-on-year growth of the number of donations.
const YEARLY_GROWTH: f64 = 1.1;

/// Relative share of each hour of the day (JST).
const HOUR_WEIGHTS: [f64; 24] = [
    2.0, 1.0, 0.6, 0.4, 0.4, 0.6, 1.2, 2.0, 3.0, 4.0, 4.5, 4.5, 5.5, 5.0, 4.5, 4.5, 4.5, 5.0, 5.5,
    6.0, 7.0, 7.5, 7.0, 5.0,
];

fn day_shape(date: Date) -> f64 {
    let d = f64::from(date.day());
    let shape = match (date.month(), date.day()) {
        (Month::December, ..=15) => 1.0,
        (Month::December, 16..=27) => 1.0 + 0.15 * (d - 15.0),
        (Month::December, 28) => 4.0,
        (Month::December, 29) => 5.0,
        (Month::December, 30) => 6.0,
        (Month::December, _) => 6.5,
        (Month::November, _) => 1.0 + 0.03 * d,
        (_, 25..) => 1.15,
        _ => 1.0,
    };
    let weekend = matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday);
    if weekend { shape * 1.15 } else { shape }
}

impl Calendar {
    fn new(from: Date, to: Date) -> Self {
        let mut cumulative = Vec::with_capacity((to - from).whole_days() as usize + 1);
        let mut total = 0.0;
        let mut month_start =
            Date::from_calendar_date(from.year(), from.month(), 1).expect("first of month exists");
        while month_start <= to {
            let days = month_start.month().length(month_start.year());
            let dates: Vec<Date> = (0..days)
                .map(|d| month_start + Duration::days(i64::from(d)))
                .collect();
            let shape_sum: f64 = dates.iter().map(|&d| day_shape(d)).sum();
            let growth = YEARLY_GROWTH.powi(month_start.year() - from.year());
            let month_weight =
                MONTH_WEIGHTS[usize::from(u8::from(month_start.month())) - 1] * growth;
            for &d in dates.iter().filter(|&&d| d >= from && d <= to) {
                total += month_weight * day_shape(d) / shape_sum;
                cumulative.push(total);
            }
            month_start += Duration::days(i64::from(days));
        }
        Self {
            first: from,
            cumulative,
        }
    }

    /// The day holding quantile `q` (in `[0, 1)`) and the position within that day (in `[0, 1)`).
    fn locate(&self, q: f64) -> (Date, f64) {
        let total = *self.cumulative.last().expect("at least one day");
        let target = q * total;
        let i = self
            .cumulative
            .partition_point(|&c| c <= target)
            .min(self.cumulative.len() - 1);
        let start = if i == 0 { 0.0 } else { self.cumulative[i - 1] };
        let width = self.cumulative[i] - start;
        let within = if width > 0.0 {
            ((target - start) / width).clamp(0.0, 0.999_999)
        } else {
            0.0
        };
        (self.first + Duration::days(i as i64), within)
    }
}

/// The time of day at position `f` (in `[0, 1)`) of the hour distribution; monotone in `f`.
fn time_of_day(f: f64) -> Time {
    let total: f64 = HOUR_WEIGHTS.iter().sum();
    let mut target = f * total;
    for (hour, w) in HOUR_WEIGHTS.iter().enumerate() {
        if target < *w || hour == 23 {
            let secs = ((target / w).clamp(0.0, 0.999_999) * 3600.0) as u32;
            return Time::from_hms(hour as u8, (secs / 60) as u8, (secs % 60) as u8)
                .expect("valid time");
        }
        target -= w;
    }
    unreachable!("the last hour returns")
}

/// Lazy iterator over a plan's donors.
#[derive(Clone, Debug)]
pub struct Donors<'a> {
    plan: &'a DonationPlan,
    range: Range<usize>,
}

impl Iterator for Donors<'_> {
    type Item = Person;
    fn next(&mut self) -> Option<Person> {
        self.range.next().map(|i| self.plan.donor(i))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.range.size_hint()
    }
    fn nth(&mut self, n: usize) -> Option<Person> {
        self.range.nth(n).map(|i| self.plan.donor(i))
    }
}

impl ExactSizeIterator for Donors<'_> {}
impl FusedIterator for Donors<'_> {}

/// Lazy iterator over a plan's donations, in `applied_at` order.
#[derive(Clone, Debug)]
pub struct Donations<'a> {
    plan: &'a DonationPlan,
    range: Range<usize>,
}

impl Iterator for Donations<'_> {
    type Item = SynthDonation;
    fn next(&mut self) -> Option<SynthDonation> {
        self.range.next().map(|i| self.plan.donation(i))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.range.size_hint()
    }
    fn nth(&mut self, n: usize) -> Option<SynthDonation> {
        self.range.nth(n).map(|i| self.plan.donation(i))
    }
}

impl DoubleEndedIterator for Donations<'_> {
    fn next_back(&mut self) -> Option<SynthDonation> {
        self.range.next_back().map(|i| self.plan.donation(i))
    }
}

impl ExactSizeIterator for Donations<'_> {}
impl FusedIterator for Donations<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn calendar_shares() {
        let cal = Calendar::new(date!(2025 - 01 - 01), date!(2025 - 12 - 31));
        let total = *cal.cumulative.last().unwrap_or(&0.0);
        let day = |d: Date| (d - cal.first).whole_days() as usize;
        let before_dec = cal.cumulative[day(date!(2025 - 11 - 30))];
        let dec_share = (total - before_dec) / total;
        assert!((0.35..=0.40).contains(&dec_share), "{dec_share}");
        let last4 = total - cal.cumulative[day(date!(2025 - 12 - 27))];
        assert!(last4 / (total - before_dec) > 0.3);
        // The 31st is the heaviest day of the year.
        let w = |i: usize| cal.cumulative[i] - if i == 0 { 0.0 } else { cal.cumulative[i - 1] };
        let heaviest = (0..cal.cumulative.len()).max_by(|&a, &b| w(a).total_cmp(&w(b)));
        assert_eq!(heaviest, Some(day(date!(2025 - 12 - 31))));
    }

    #[test]
    fn calendar_locate_is_monotone_and_in_range() {
        let cal = Calendar::new(date!(2024 - 03 - 15), date!(2024 - 04 - 02));
        let mut last = (date!(2000 - 01 - 01), 0.0);
        for k in 0..1000 {
            let (d, f) = cal.locate((f64::from(k) + 0.5) / 1000.0);
            assert!(d >= date!(2024 - 03 - 15) && d <= date!(2024 - 04 - 02));
            assert!((0.0..1.0).contains(&f));
            assert!((d, f) >= last);
            last = (d, f);
        }
        let one_day = Calendar::new(date!(2024 - 12 - 31), date!(2024 - 12 - 31));
        assert_eq!(one_day.locate(0.5).0, date!(2024 - 12 - 31));
    }

    #[test]
    fn time_of_day_is_monotone_and_evening_heavy() {
        let mut last = Time::MIDNIGHT;
        let mut evening = 0;
        for k in 0..10_000 {
            let t = time_of_day((f64::from(k) + 0.5) / 10_000.0);
            assert!(t >= last);
            last = t;
            if (19..23).contains(&t.hour()) {
                evening += 1;
            }
        }
        assert!(evening > 2000, "{evening}");
        assert!(last.hour() == 23);
    }

    #[test]
    fn plans_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<DonationPlan>();
        assert_send_sync::<crate::Generator>();
    }

    #[test]
    fn scramble_is_a_bijection() {
        for m in [10u64, 97, 1000, 4096] {
            let mut seen = vec![false; m as usize];
            for i in 0..m {
                let v = scramble(i, m, 12345);
                assert!(!seen[v as usize]);
                seen[v as usize] = true;
            }
        }
    }
}
