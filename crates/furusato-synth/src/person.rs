//! Fictitious people: consistent kanji/kana names, a real postal area with a generated street,
//! a birth date, a phone number, an e-mail address on a reserved domain and a synthetic My Number.

use std::fmt;

use furusato_domain::MyNumber;
use rand::Rng;
use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::address::{AddressBook, street_and_building};
use crate::my_number::synthetic_my_number;
use crate::names::{
    FAMILY_NAMES, FEMALE_GIVEN_NAMES, GivenName, MALE_GIVEN_NAMES, era_of_birth_year,
};
use crate::rng::{Weighted, pick_static};
use crate::romaji::katakana_to_romaji;

/// The only e-mail domains generated: reserved for documentation (RFC 2606, and example.jp by JPRS),
/// so no generated address can reach anyone.
pub const RESERVED_EMAIL_DOMAINS: [&str; 3] = ["example.com", "example.jp", "example.net"];

/// True when `email` is `local@domain` with a domain from [`RESERVED_EMAIL_DOMAINS`].
pub fn is_reserved_email(email: &str) -> bool {
    email.rsplit_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && RESERVED_EMAIL_DOMAINS.contains(&domain)
    })
}

/// Sex as recorded on a ワンストップ申請書 (男 / 女).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// 男
    Male,
    /// 女
    Female,
}

impl Sex {
    /// Stable identifier: "male" / "female".
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    /// The Japanese label used on forms: "男" / "女".
    pub fn label_ja(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

/// A fictitious person. All text is full-width Japanese except street numbers, phone, e-mail and
/// My Number. `Debug` masks the My Number.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// 姓 (kanji)
    pub family_name: String,
    /// 名 (kanji)
    pub given_name: String,
    /// セイ (katakana)
    pub family_kana: String,
    /// メイ (katakana)
    pub given_kana: String,
    /// 性別
    pub sex: Sex,
    /// 生年月日. Serialised as "1975-04-01".
    #[serde(with = "crate::serde_formats::iso_date")]
    pub birth_date: Date,
    /// 7 digits, no hyphen.
    pub postal_code: String,
    /// 都道府県
    pub prefecture: String,
    /// 市区町村 ("仙台市青葉区")
    pub city: String,
    /// 町域 ("一番町")
    pub town: String,
    /// Generated 番地: "1丁目2-3", "123-4" or "123".
    pub street: String,
    /// Fictitious building and room: "メゾン欅 203号".
    pub building: Option<String>,
    /// Random number in a real format (mobile "090-1234-5678" or landline "022-123-4567"); it may
    /// coincide with a real subscriber, so never dial or text it.
    pub phone: String,
    /// Address on a reserved domain (see [`RESERVED_EMAIL_DOMAINS`]).
    pub email: String,
    /// Synthetic 個人番号, 12 digits (see [`crate::my_number`]).
    pub my_number: String,
}

impl Person {
    /// "佐藤 花子"
    pub fn full_name(&self) -> String {
        format!("{} {}", self.family_name, self.given_name)
    }

    /// "サトウ ハナコ"
    pub fn full_kana(&self) -> String {
        format!("{} {}", self.family_kana, self.given_kana)
    }

    /// The My Number as the domain type, e.g. to seal it in the vault.
    pub fn my_number_value(&self) -> MyNumber {
        // Never format the digits into the message.
        MyNumber::parse(&self.my_number).expect("synthetic My Numbers are valid")
    }

    /// "980-0811"
    pub fn postal_code_display(&self) -> String {
        format!("{}-{}", &self.postal_code[..3], &self.postal_code[3..])
    }

    /// 住所1: town and street, "一番町1丁目2-3".
    pub fn address1(&self) -> String {
        format!("{}{}", self.town, self.street)
    }

    /// 住所2: the building, or "".
    pub fn address2(&self) -> &str {
        self.building.as_deref().unwrap_or("")
    }

    /// The whole address on one line: "宮城県仙台市青葉区一番町1丁目2-3 メゾン欅 203号".
    pub fn address_line(&self) -> String {
        match &self.building {
            Some(b) => format!(
                "{}{}{}{} {b}",
                self.prefecture, self.city, self.town, self.street
            ),
            None => format!(
                "{}{}{}{}",
                self.prefecture, self.city, self.town, self.street
            ),
        }
    }
}

impl fmt::Debug for Person {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Person")
            .field("family_name", &self.family_name)
            .field("given_name", &self.given_name)
            .field("family_kana", &self.family_kana)
            .field("given_kana", &self.given_kana)
            .field("sex", &self.sex)
            .field("birth_date", &self.birth_date)
            .field("postal_code", &self.postal_code)
            .field("prefecture", &self.prefecture)
            .field("city", &self.city)
            .field("town", &self.town)
            .field("street", &self.street)
            .field("building", &self.building)
            .field("phone", &self.phone)
            .field("email", &self.email)
            .field("my_number", &"************")
            .finish()
    }
}

/// Name tables with their weights precomputed.
#[derive(Clone, Debug)]
pub(crate) struct NameTables {
    family: Weighted,
    male: [Weighted; 3],
    female: [Weighted; 3],
}

impl NameTables {
    pub(crate) fn new() -> Self {
        fn by_era(table: &[GivenName], era: usize) -> Weighted {
            Weighted::new(table.iter().map(|n| f64::from(n.weights[era])))
                .expect("positive weights")
        }
        Self {
            family: Weighted::new(FAMILY_NAMES.iter().map(|n| f64::from(n.weight)))
                .expect("positive weights"),
            male: [0, 1, 2].map(|e| by_era(MALE_GIVEN_NAMES, e)),
            female: [0, 1, 2].map(|e| by_era(FEMALE_GIVEN_NAMES, e)),
        }
    }
}

/// Generates one person from `rng`, with the synthetic My Number of `my_number_serial`.
pub(crate) fn generate_person<R: Rng + ?Sized>(
    rng: &mut R,
    names: &NameTables,
    addresses: &AddressBook,
    my_number_serial: u32,
) -> Person {
    // Donors skew male (the taxpayer of the household) and middle-aged.
    let sex = if rng.random_bool(0.56) {
        Sex::Male
    } else {
        Sex::Female
    };
    let birth_date = birth_date(rng);
    let era = era_of_birth_year(birth_date.year());
    let family = &FAMILY_NAMES[names.family.pick(rng)];
    let given = match sex {
        Sex::Male => &MALE_GIVEN_NAMES[names.male[era].pick(rng)],
        Sex::Female => &FEMALE_GIVEN_NAMES[names.female[era].pick(rng)],
    };
    let area = addresses.pick(rng);
    let (street, building) = street_and_building(rng, &area.city);
    let phone = phone(rng, &area.prefecture, &area.city);
    let email = email(rng, family.kana, given.kana, birth_date.year());
    Person {
        family_name: family.kanji.into(),
        given_name: given.kanji.into(),
        family_kana: family.kana.into(),
        given_kana: given.kana.into(),
        sex,
        birth_date,
        postal_code: area.postal_code.clone(),
        prefecture: area.prefecture.clone(),
        city: area.city.clone(),
        town: area.town.clone(),
        street,
        building,
        phone,
        email,
        my_number: synthetic_my_number(my_number_serial),
    }
}

/// Birth years 1940–2004, most donors born 1960–1989.
fn birth_date<R: Rng + ?Sized>(rng: &mut R) -> Date {
    let decade = *pick_static(
        rng,
        &[
            (1940, 4),
            (1950, 10),
            (1960, 20),
            (1970, 27),
            (1980, 24),
            (1990, 13),
            (2000, 2),
        ],
    );
    let year = decade + rng.random_range(0..if decade == 2000 { 5 } else { 10 });
    let first = Date::from_calendar_date(year, Month::January, 1).expect("valid year");
    let days = if time::util::is_leap_year(year) {
        366
    } else {
        365
    };
    first + time::Duration::days(rng.random_range(0..days))
}

/// Mostly mobile numbers; some landlines for cities whose area code is known here.
fn phone<R: Rng + ?Sized>(rng: &mut R, prefecture: &str, city: &str) -> String {
    if rng.random_bool(0.18)
        && let Some(area) = area_code(prefecture, city)
    {
        // Area code + local exchange always make 10 digits.
        return if area.len() == 2 {
            format!(
                "{area}-{:04}-{:04}",
                rng.random_range(1000..10000),
                rng.random_range(0..10000)
            )
        } else {
            format!(
                "{area}-{:03}-{:04}",
                rng.random_range(200..1000),
                rng.random_range(0..10000)
            )
        };
    }
    let prefix = *pick_static(rng, &[("090", 55), ("080", 35), ("070", 10)]);
    format!(
        "{prefix}-{:04}-{:04}",
        rng.random_range(1000..10000),
        rng.random_range(0..10000)
    )
}

/// 市外局番 of a few big cities.
fn area_code(prefecture: &str, city: &str) -> Option<&'static str> {
    if prefecture == "東京都" && city.ends_with('区') {
        return Some("03");
    }
    const CITIES: &[(&str, &str)] = &[
        ("大阪市", "06"),
        ("仙台市", "022"),
        ("横浜市", "045"),
        ("川崎市", "044"),
        ("名古屋市", "052"),
        ("さいたま市", "048"),
        ("千葉市", "043"),
        ("神戸市", "078"),
        ("京都市", "075"),
        ("福岡市", "092"),
        ("札幌市", "011"),
        ("広島市", "082"),
    ];
    CITIES
        .iter()
        .find(|(c, _)| city.starts_with(c))
        .map(|(_, a)| *a)
}

fn email<R: Rng + ?Sized>(
    rng: &mut R,
    family_kana: &str,
    given_kana: &str,
    birth_year: i32,
) -> String {
    let family = katakana_to_romaji(family_kana).unwrap_or_else(|| "family".into());
    let given = katakana_to_romaji(given_kana).unwrap_or_else(|| "given".into());
    let yy = birth_year.rem_euclid(100);
    let local = match rng.random_range(0..5) {
        0 => format!("{given}.{family}{yy:02}"),
        1 => format!("{family}.{given}"),
        2 => format!("{family}{}{}", &given[..1], rng.random_range(1..1000)),
        3 => format!("{given}_{}", rng.random_range(100..10000)),
        _ => format!("{}{family}{}", &given[..1], rng.random_range(10..100)),
    };
    let domain = *pick_static(
        rng,
        &[("example.com", 40), ("example.jp", 40), ("example.net", 20)],
    );
    format!("{local}@{domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_email_check() {
        assert!(is_reserved_email("hanako.satou@example.jp"));
        assert!(!is_reserved_email("hanako@example.org.evil.com"));
        assert!(!is_reserved_email("hanako@gmail.com"));
        assert!(!is_reserved_email("@example.com"));
    }

    #[test]
    fn area_codes() {
        assert_eq!(area_code("東京都", "世田谷区"), Some("03"));
        assert_eq!(area_code("東京都", "八王子市"), None);
        assert_eq!(area_code("宮城県", "仙台市青葉区"), Some("022"));
        assert_eq!(area_code("宮城県", "名取市"), None);
    }

    #[test]
    fn phone_numbers_have_ten_or_eleven_digits() {
        let mut rng = crate::rng::item_rng(1, 1, 1);
        for _ in 0..500 {
            let p = phone(&mut rng, "東京都", "世田谷区");
            let digits: String = p.chars().filter(char::is_ascii_digit).collect();
            assert!(p.starts_with('0'));
            if p.starts_with("090") || p.starts_with("080") || p.starts_with("070") {
                assert_eq!(digits.len(), 11, "{p}");
            } else {
                assert!(p.starts_with("03-"), "{p}");
                assert_eq!(digits.len(), 10, "{p}");
            }
        }
    }

    #[test]
    fn debug_masks_my_number() {
        let mut rng = crate::rng::item_rng(1, 2, 3);
        let p = generate_person(&mut rng, &NameTables::new(), &AddressBook::builtin(), 123);
        let dbg = format!("{p:?}");
        assert!(!dbg.contains(&p.my_number));
        let typed = p.my_number_value();
        assert_eq!(typed.expose_secret(), p.my_number);
        assert!(dbg.contains(&p.family_name));
    }

    #[test]
    fn display_helpers() {
        let mut rng = crate::rng::item_rng(5, 5, 5);
        let p = generate_person(&mut rng, &NameTables::new(), &AddressBook::builtin(), 7);
        assert_eq!(p.full_name(), format!("{} {}", p.family_name, p.given_name));
        assert_eq!(p.full_kana(), format!("{} {}", p.family_kana, p.given_kana));
        assert_eq!(p.postal_code_display().len(), 8);
        assert!(
            p.address_line()
                .starts_with(&format!("{}{}{}", p.prefecture, p.city, p.town))
        );
        assert!(p.address_line().contains(&p.street));
        assert_eq!(p.address1(), format!("{}{}", p.town, p.street));
    }
}
