//! Behaviour of the generator and of donation plans.

use std::collections::{HashMap, HashSet};

use furusato_synth::my_number::is_valid_my_number;
use furusato_synth::names::{FAMILY_NAMES, FEMALE_GIVEN_NAMES, MALE_GIVEN_NAMES, is_katakana};
use furusato_synth::{
    AddressBook, Channel, DonationPlan, Generator, LedgerParams, PaymentMethod, PaymentStatus,
    PlanError, Portal, Sex, default_gifts, is_reserved_email, is_synthetic_my_number,
    pays_immediately,
};
use time::macros::date;
use time::{Date, Month};

fn plan(seed: u64, donors: usize, donations: usize, from: Date, to: Date) -> DonationPlan {
    let gifts = default_gifts();
    Generator::new(seed, AddressBook::builtin())
        .generate_ledger(LedgerParams::new(donors, donations, from, to, &gifts))
        .expect("valid params")
}

#[test]
fn same_seed_same_people_and_donations() {
    let mut a = Generator::new(7, AddressBook::builtin());
    let mut b = Generator::new(7, AddressBook::builtin());
    let mut c = Generator::new(8, AddressBook::builtin());
    let pa: Vec<_> = (0..200).map(|_| a.person()).collect();
    let pb: Vec<_> = (0..200).map(|_| b.person()).collect();
    let pc: Vec<_> = (0..200).map(|_| c.person()).collect();
    assert_eq!(pa, pb);
    assert_ne!(pa, pc);

    let p1 = plan(7, 300, 500, date!(2024 - 01 - 01), date!(2026 - 12 - 31));
    let p2 = plan(7, 300, 500, date!(2024 - 01 - 01), date!(2026 - 12 - 31));
    assert_eq!(
        p1.donations().collect::<Vec<_>>(),
        p2.donations().collect::<Vec<_>>()
    );
    assert_eq!(
        p1.donors().collect::<Vec<_>>(),
        p2.donors().collect::<Vec<_>>()
    );
    // Random access gives the same items as the stream, in any order.
    let streamed: Vec<_> = p1.donations().collect();
    for i in [499, 0, 250, 17] {
        assert_eq!(p1.donation(i), streamed[i]);
    }
    let back: Vec<_> = p1.donations().rev().collect();
    assert_eq!(back.first(), streamed.last());
    // A plan does not depend on persons drawn from the generator before.
    let gifts = default_gifts();
    let mut g = Generator::new(7, AddressBook::builtin());
    for _ in 0..10 {
        g.person();
    }
    let p3 = g
        .generate_ledger(LedgerParams::new(
            300,
            500,
            date!(2024 - 01 - 01),
            date!(2026 - 12 - 31),
            &gifts,
        ))
        .expect("valid");
    assert_eq!(p3.donation(123), p1.donation(123));
    assert_eq!(p3.donor(42), p1.donor(42));
}

#[test]
fn generated_names_are_consistent_table_rows() {
    let family: HashSet<_> = FAMILY_NAMES.iter().map(|n| (n.kanji, n.kana)).collect();
    let male: HashSet<_> = MALE_GIVEN_NAMES.iter().map(|n| (n.kanji, n.kana)).collect();
    let female: HashSet<_> = FEMALE_GIVEN_NAMES
        .iter()
        .map(|n| (n.kanji, n.kana))
        .collect();
    let mut g = Generator::new(1, AddressBook::builtin());
    let mut sexes = HashMap::new();
    for _ in 0..3000 {
        let p = g.person();
        assert!(
            family.contains(&(p.family_name.as_str(), p.family_kana.as_str())),
            "{}",
            p.full_name()
        );
        let given = (p.given_name.as_str(), p.given_kana.as_str());
        match p.sex {
            Sex::Male => assert!(male.contains(&given), "{}", p.full_name()),
            Sex::Female => assert!(female.contains(&given), "{}", p.full_name()),
        }
        assert!(is_katakana(&p.family_kana) && is_katakana(&p.given_kana));
        assert_eq!(p.full_kana(), format!("{} {}", p.family_kana, p.given_kana));
        *sexes.entry(p.sex).or_insert(0) += 1;
    }
    assert!(
        sexes[&Sex::Male] > 1300 && sexes[&Sex::Female] > 1000,
        "{sexes:?}"
    );
}

#[test]
fn common_names_are_common() {
    let mut g = Generator::new(3, AddressBook::builtin());
    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..20_000 {
        *counts.entry(g.person().family_name).or_default() += 1;
    }
    let sato = counts.get("佐藤").copied().unwrap_or(0);
    let taka_rare = counts.get("髙橋").copied().unwrap_or(0);
    assert!(sato > 500, "佐藤 {sato}");
    assert!(taka_rare < sato / 20, "髙橋 {taka_rare}");
    assert!(counts.len() > 100, "{}", counts.len());
}

#[test]
fn people_look_right() {
    let book = AddressBook::builtin();
    let mut g = Generator::new(11, book.clone());
    let mut numbers = HashSet::new();
    let mut landlines = 0;
    let mut buildings = 0;
    for _ in 0..5000 {
        let p = g.person();
        assert!(is_valid_my_number(&p.my_number));
        assert!(is_synthetic_my_number(&p.my_number));
        assert!(numbers.insert(p.my_number.clone()), "duplicate My Number");
        assert!(is_reserved_email(&p.email), "{}", p.email);
        assert!(p.email.is_ascii());
        let age_2026 = 2026 - p.birth_date.year();
        assert!((21..=86).contains(&age_2026), "{}", p.birth_date);
        assert!(book.seeds().iter().any(|s| s.postal_code == p.postal_code
            && s.prefecture == p.prefecture
            && s.city == p.city
            && s.town == p.town));
        let digits: String = p.phone.chars().filter(char::is_ascii_digit).collect();
        if ["090-", "080-", "070-"]
            .iter()
            .any(|m| p.phone.starts_with(m))
        {
            assert_eq!(digits.len(), 11, "{}", p.phone);
        } else {
            assert_eq!(digits.len(), 10, "{}", p.phone);
            landlines += 1;
        }
        if let Some(b) = &p.building {
            assert!(p.address_line().ends_with(b.as_str()));
            buildings += 1;
        }
        assert!(p.address_line().starts_with(&p.prefecture));
    }
    assert!(landlines > 100, "{landlines}");
    assert!(buildings > 500, "{buildings}");
}

#[test]
fn donors_and_persons_never_share_a_my_number() {
    let mut g = Generator::new(5, AddressBook::builtin());
    let persons: HashSet<String> = (0..2000).map(|_| g.person().my_number).collect();
    let p = plan(5, 2000, 2000, date!(2025 - 01 - 01), date!(2025 - 12 - 31));
    let donors: HashSet<String> = p.donors().map(|d| d.my_number).collect();
    assert_eq!(donors.len(), 2000);
    assert!(persons.is_disjoint(&donors));
    assert!(donors.iter().all(|n| is_synthetic_my_number(n)));
}

#[test]
fn december_and_portal_shares() {
    let n = 20_000;
    let p = plan(
        2025,
        12_000,
        n,
        date!(2024 - 01 - 01),
        date!(2025 - 12 - 31),
    );
    let mut by_month = [0usize; 12];
    let mut by_portal: HashMap<Option<Portal>, usize> = HashMap::new();
    let mut last_days = 0;
    let mut last_at = None;
    for d in p.donations() {
        if d.donated_on.year() == 2025 {
            by_month[usize::from(u8::from(d.donated_on.month())) - 1] += 1;
            if d.donated_on.month() == Month::December && d.donated_on.day() >= 28 {
                last_days += 1;
            }
        }
        *by_portal.entry(d.portal).or_default() += 1;
        // The stream is in time order.
        assert!(last_at <= Some(d.applied_at));
        last_at = Some(d.applied_at);
        assert_eq!(d.applied_at.offset().whole_hours(), 9);
        assert_eq!(d.applied_at.date(), d.donated_on);
    }
    let year: usize = by_month.iter().sum();
    let dec = by_month[11] as f64 / year as f64;
    assert!((0.35..=0.40).contains(&dec), "December share {dec}");
    assert!(by_month[10] > by_month[9], "November bump {by_month:?}");
    assert!(
        by_month[..6].iter().all(|m| *m < by_month[10] / 2),
        "{by_month:?}"
    );
    assert!(
        last_days as f64 / by_month[11] as f64 > 0.3,
        "last days {last_days}"
    );

    let share = |k: Option<Portal>| *by_portal.get(&k).unwrap_or(&0) as f64 / n as f64;
    for (portal, expected) in [
        (Some(Portal::Rakuten), 0.45),
        (Some(Portal::Choice), 0.25),
        (Some(Portal::Satofull), 0.15),
        (Some(Portal::Furunavi), 0.10),
        (None, 0.05),
    ] {
        let s = share(portal);
        assert!((s - expected).abs() < 0.03, "{portal:?}: {s}");
    }
}

#[test]
fn repeat_donors_follow_a_long_tail() {
    let p = plan(
        99,
        5_000,
        8_000,
        date!(2024 - 01 - 01),
        date!(2026 - 12 - 31),
    );
    let mut counts = vec![0usize; p.donor_count()];
    for d in p.donations() {
        counts[d.donor_index] += 1;
    }
    assert!(
        counts.iter().all(|c| *c >= 1),
        "every donor gives at least once"
    );
    let once = counts.iter().filter(|c| **c == 1).count() as f64 / 5_000.0;
    let few = counts.iter().filter(|c| (2..=5).contains(*c)).count();
    let many = counts.iter().filter(|c| **c > 10).count();
    assert!((0.7..0.9).contains(&once), "once {once}");
    assert!(few > 300, "2–5 times: {few}");
    assert!((1..100).contains(&many), "many: {many}");
}

#[test]
fn payment_rules_hold() {
    let to = date!(2026 - 01 - 10);
    let p = plan(4, 8_000, 20_000, date!(2024 - 01 - 01), to);
    let mut statuses: HashMap<PaymentStatus, usize> = HashMap::new();
    let mut methods: HashMap<PaymentMethod, usize> = HashMap::new();
    let mut ids = HashSet::new();
    let mut onestop = 0;
    let mut uses = HashSet::new();
    let mut lines = [0usize; 3];
    let mut mid_amounts = 0;
    for d in p.donations() {
        *statuses.entry(d.payment_status).or_default() += 1;
        *methods.entry(d.payment_method).or_default() += 1;
        assert!(d.donated_on >= date!(2024 - 01 - 01) && d.donated_on <= to);
        match d.payment_status {
            PaymentStatus::Paid | PaymentStatus::Refunded => {
                let r = d.received_on.expect("paid has a 受領日");
                assert!(r >= d.donated_on && r <= to);
                if pays_immediately(d.payment_method) {
                    assert_eq!(r, d.donated_on);
                }
            }
            PaymentStatus::Unpaid => {
                assert!(d.received_on.is_none());
                assert!(
                    !pays_immediately(d.payment_method),
                    "card payments are never unpaid"
                );
                assert!(
                    (to - d.donated_on).whole_days() <= 30,
                    "only recent transfers are unpaid"
                );
            }
            PaymentStatus::Cancelled => assert!(d.received_on.is_none()),
        }
        assert_eq!(d.external_id.is_some(), d.portal.is_some());
        match (d.channel, d.portal) {
            (Channel::Portal, Some(portal)) => {
                let id = d
                    .external_id
                    .clone()
                    .expect("portal donations have an order number");
                assert!(ids.insert((portal, id.clone())), "duplicate id {id}");
                if portal == Portal::Rakuten {
                    let parts: Vec<&str> = id.split('-').collect();
                    assert_eq!(parts.len(), 3, "{id}");
                    assert_eq!(parts[0].len(), 6);
                    assert_eq!(parts[1], d.donated_on.to_string().replace('-', ""));
                    assert_eq!(parts[2].len(), 10);
                } else {
                    assert!(id.bytes().all(|b| b.is_ascii_digit()), "{id}");
                }
                assert!(matches!(
                    d.payment_method,
                    PaymentMethod::CreditCard
                        | PaymentMethod::Other
                        | PaymentMethod::CarrierBilling
                        | PaymentMethod::ConvenienceStore
                        | PaymentMethod::PayEasy
                        | PaymentMethod::BankTransfer
                ));
            }
            // Direct donations: the channel is the payment path.
            (Channel::BankTransfer, None) => {
                assert_eq!(d.payment_method, PaymentMethod::BankTransfer)
            }
            (Channel::PostalTransfer, None) => {
                assert_eq!(d.payment_method, PaymentMethod::PostalTransfer)
            }
            (Channel::PaymentSlip, None) => {
                assert_eq!(d.payment_method, PaymentMethod::PaymentSlip)
            }
            (Channel::Counter, None) => assert_eq!(d.payment_method, PaymentMethod::Cash),
            other => panic!("inconsistent channel/portal {other:?}"),
        }
        assert!((5_000..=1_000_000).contains(&d.amount), "{}", d.amount);
        if (10_000..=30_000).contains(&d.amount) {
            mid_amounts += 1;
        }
        assert!(d.gift_lines.len() <= 2);
        lines[d.gift_lines.len()] += 1;
        assert_eq!(d.gift_declined, d.gift_lines.is_empty());
        if !d.gift_lines.is_empty() {
            assert_eq!(d.amount, d.gift_lines.iter().map(|l| l.amount).sum::<i64>());
            for l in &d.gift_lines {
                let g = &p.gifts()[l.gift_index];
                assert_eq!(g.code, l.code);
                assert_eq!(l.amount, g.amount * i64::from(l.quantity));
            }
        }
        if d.onestop_wanted {
            onestop += 1;
        }
        uses.insert(d.use_of_funds.clone());
        assert!(d.donor_index < p.donor_count());
    }
    let n = 20_000.0;
    let share = |s: PaymentStatus| *statuses.get(&s).unwrap_or(&0) as f64 / n;
    assert!(share(PaymentStatus::Paid) > 0.95);
    assert!(
        (0.005..0.02).contains(&share(PaymentStatus::Cancelled)),
        "{statuses:?}"
    );
    assert!(
        statuses
            .get(&PaymentStatus::Refunded)
            .is_some_and(|c| *c > 0 && *c < 200),
        "{statuses:?}"
    );
    assert!(
        statuses.get(&PaymentStatus::Unpaid).is_some_and(|c| *c > 0),
        "{statuses:?}"
    );
    assert!(
        methods[&PaymentMethod::CreditCard] as f64 / n > 0.75,
        "{methods:?}"
    );
    assert!(
        methods.contains_key(&PaymentMethod::PostalTransfer)
            && methods.contains_key(&PaymentMethod::Cash)
    );
    assert!(
        (0.35..0.45).contains(&(f64::from(onestop) / n)),
        "onestop {onestop}"
    );
    assert_eq!(uses.len(), 5);
    assert!(
        lines[1] > lines[2] && lines[2] > 0 && lines[0] > 0,
        "{lines:?}"
    );
    assert!(
        mid_amounts as f64 / n > 0.5,
        "10,000–30,000 yen: {mid_amounts}"
    );
}

#[test]
fn residents_of_the_home_city_get_no_gift() {
    let gifts = default_gifts();
    let mut params = LedgerParams::new(
        500,
        2_000,
        date!(2025 - 01 - 01),
        date!(2025 - 12 - 31),
        &gifts,
    );
    params.home_city = Some("仙台市");
    let p = Generator::new(12, AddressBook::builtin())
        .generate_ledger(params)
        .expect("valid");
    let mut residents = 0;
    for d in p.donations() {
        if p.donor(d.donor_index).city.starts_with("仙台市") {
            residents += 1;
            assert!(d.gift_lines.is_empty() && d.gift_declined);
        }
    }
    assert!(residents > 0);
}

#[test]
fn without_gifts_every_donation_is_a_free_amount() {
    let p = Generator::new(1, AddressBook::builtin())
        .generate_ledger(LedgerParams::new(
            10,
            50,
            date!(2025 - 01 - 01),
            date!(2025 - 01 - 31),
            &[],
        ))
        .expect("valid");
    assert!(
        p.donations()
            .all(|d| d.gift_lines.is_empty() && d.amount >= 5_000)
    );
}

#[test]
fn invalid_params_are_rejected() {
    let g = Generator::new(1, AddressBook::builtin());
    let (from, to) = (date!(2025 - 01 - 01), date!(2025 - 12 - 31));
    let e = |p: LedgerParams<'_>| g.generate_ledger(p).err();
    assert_eq!(
        e(LedgerParams::new(0, 10, from, to, &[])),
        Some(PlanError::NoDonors)
    );
    assert_eq!(
        e(LedgerParams::new(10, 5, from, to, &[])),
        Some(PlanError::FewerDonationsThanDonors {
            donors: 10,
            donations: 5
        })
    );
    assert_eq!(
        e(LedgerParams::new(1, 1, to, from, &[])),
        Some(PlanError::InvalidPeriod)
    );
    let mut no_uses = LedgerParams::new(1, 1, from, to, &[]);
    no_uses.uses_of_funds = &[];
    assert_eq!(e(no_uses), Some(PlanError::NoUsesOfFunds));
    let mut bad = default_gifts();
    bad[3].amount = 0;
    assert_eq!(
        e(LedgerParams::new(1, 1, from, to, &bad)),
        Some(PlanError::InvalidGift {
            code: "SD0004".into()
        })
    );
    assert_eq!(
        e(LedgerParams::new(10_000_000, 10_000_000, from, to, &[])),
        Some(PlanError::TooManyDonors)
    );
}

#[test]
fn ranges_split_the_stream() {
    let p = plan(8, 100, 1_000, date!(2024 - 01 - 01), date!(2024 - 12 - 31));
    let whole: Vec<_> = p.donations().collect();
    let parts: Vec<_> = p
        .donations_range(0..400)
        .chain(p.donations_range(400..5_000))
        .collect();
    assert_eq!(whole, parts);
    assert_eq!(p.donations_range(990..2_000).len(), 10);
    assert_eq!(p.donations().len(), 1_000);
    assert_eq!(p.donors().len(), 100);
}

/// A million donations, generated lazily: nothing is collected (about 2 s in a debug build).
#[test]
fn a_million_donations_stream() {
    let p = plan(
        1,
        600_000,
        1_000_000,
        date!(2024 - 01 - 01),
        date!(2026 - 12 - 31),
    );
    let mut total: i64 = 0;
    let mut count = 0usize;
    let mut max_donor = 0;
    for d in p.donations() {
        total += d.amount;
        count += 1;
        max_donor = max_donor.max(d.donor_index);
    }
    assert_eq!(count, 1_000_000);
    assert!(total > 10_000_000_000, "{total}");
    assert_eq!(max_donor, 599_999);
}

#[test]
fn json_round_trip_with_readable_dates() {
    let p = plan(6, 50, 200, date!(2025 - 12 - 01), date!(2025 - 12 - 31));
    let d = p.donation(199);
    let json = serde_json::to_value(&d).expect("serialise");
    assert_eq!(json["donated_on"], d.donated_on.to_string());
    assert!(
        json["applied_at"]
            .as_str()
            .is_some_and(|s| s.ends_with("+09:00")),
        "{}",
        json["applied_at"]
    );
    assert_eq!(json["portal"].is_null(), d.portal.is_none());
    let back: furusato_synth::SynthDonation = serde_json::from_value(json).expect("deserialise");
    assert_eq!(back, d);

    let person = p.donor(3);
    let json = serde_json::to_value(&person).expect("serialise");
    assert_eq!(json["birth_date"], person.birth_date.to_string());
    assert!(json["sex"] == "male" || json["sex"] == "female");
    let back: furusato_synth::Person = serde_json::from_value(json).expect("deserialise");
    assert_eq!(back, person);
}
