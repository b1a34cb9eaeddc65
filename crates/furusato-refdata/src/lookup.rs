//! Look-ups used by forms and by 申告特例通知 routing, over the imported reference tables.

use furusato_db::Db;
use furusato_db::reference::{LocalGov, PostalRecord, local_gov, local_gov_by_name, postal_lookup};
use furusato_domain::PostalCode;

use crate::error::RefDataResult;
use crate::localgov::LocalGovKind;

/// The address parts a postal code determines, for pre-filling an address form.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Autofill {
    /// The 7 digits.
    pub postal_code: String,
    /// 都道府県; empty in the rare case the code spans two prefectures.
    pub prefecture: String,
    /// 市区町村 as written in addresses (「仙台市青葉区」, 「和賀郡西和賀町」); empty when the code
    /// spans several municipalities, or the 政令市 (「浜松市」) when it spans several of its wards.
    pub city: String,
    /// 町域 for display ([`crate::postal::display_town`]); empty when the code covers several towns
    /// or the whole municipality.
    pub town: String,
    pub prefecture_kana: String,
    pub city_kana: String,
    pub town_kana: String,
    /// 6-digit 団体コード of `city` (the ward for a 政令市 ward) when the local-government list is loaded.
    pub local_gov_code: Option<String>,
    /// 6-digit code of the municipality that receives the 申告特例通知 for this address: the
    /// 政令市 for one of its wards, otherwise `local_gov_code`.
    pub residence_city_code: Option<String>,
    /// Number of distinct (市区町村, 町域) pairs the code covers; more than 1 means the user must
    /// complete the address.
    pub candidates: usize,
}

/// The address parts for a postal code, or `None` if the code is not in the postal table.
///
/// When the code covers several towns the common prefecture/city is returned with an empty
/// town; see [`Autofill`] for the details.
pub async fn autofill(db: &Db, postal_code: &PostalCode) -> RefDataResult<Option<Autofill>> {
    let rows = postal_lookup(db, postal_code.as_str()).await?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };

    let mut pairs: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.local_gov_code5.as_str(), r.town.as_str()))
        .collect();
    pairs.sort_unstable();
    pairs.dedup();

    let same = |f: fn(&PostalRecord) -> &str| rows.iter().all(|r| f(r) == f(first));
    let (prefecture, prefecture_kana) = if same(|r| &r.prefecture) {
        (first.prefecture.clone(), first.prefecture_kana.clone())
    } else {
        (String::new(), String::new())
    };
    let (town, town_kana) = if same(|r| &r.town) {
        (first.town.clone(), first.town_kana.clone())
    } else {
        (String::new(), String::new())
    };

    let (city, city_kana, local_gov) = if same(|r| &r.local_gov_code5) {
        let lg = local_gov(db, &first.local_gov_code5).await?;
        (first.city.clone(), first.city_kana.clone(), lg)
    } else {
        common_designated_city(db, &rows).await?.map_or_else(
            || (String::new(), String::new(), None),
            |city| (city.name.clone(), city.name_kana.clone(), Some(city)),
        )
    };
    let residence = match &local_gov {
        Some(lg) => municipality_of(db, lg.clone()).await?,
        None => None,
    };
    Ok(Some(Autofill {
        postal_code: postal_code.as_str().to_owned(),
        prefecture,
        city,
        town,
        prefecture_kana,
        city_kana,
        town_kana,
        local_gov_code: local_gov.map(|lg| lg.code),
        residence_city_code: residence.map(|lg| lg.code),
        candidates: pairs.len(),
    }))
}

/// The 政令市 whose wards are all the municipalities of `rows`, if any.
async fn common_designated_city(db: &Db, rows: &[PostalRecord]) -> RefDataResult<Option<LocalGov>> {
    let mut codes: Vec<&str> = rows.iter().map(|r| r.local_gov_code5.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    let mut parent: Option<String> = None;
    for code5 in codes {
        let Some(lg) = local_gov(db, code5).await? else {
            return Ok(None);
        };
        if lg.kind != LocalGovKind::Ward.as_str() {
            return Ok(None);
        }
        match (&parent, lg.parent_code) {
            (_, None) => return Ok(None),
            (None, Some(p)) => parent = Some(p),
            (Some(prev), Some(p)) if *prev == p => {}
            _ => return Ok(None),
        }
    }
    match parent {
        Some(code) => Ok(local_gov(db, &code).await?),
        None => Ok(None),
    }
}

/// The municipality (市町村・特別区) of an address, as 申告特例通知 routing needs it: the ward of a
/// 政令市 resolves to the city (宮城県 「仙台市青葉区」 → 041009 仙台市).
///
/// `city_name` may be written as in the postal data, with the 郡 (「柴田郡大河原町」) and with
/// spaces between city and ward (「仙台市 青葉区」). Returns `None` when the name is unknown, names a
/// prefecture, or the local-government list is not loaded.
pub async fn residence_city(
    db: &Db,
    prefecture: &str,
    city_name: &str,
) -> RefDataResult<Option<LocalGov>> {
    let prefecture: String = prefecture.chars().filter(|c| !c.is_whitespace()).collect();
    let name: String = city_name.chars().filter(|c| !c.is_whitespace()).collect();
    if prefecture.is_empty() || name.is_empty() {
        return Ok(None);
    }
    let mut found = local_gov_by_name(db, &prefecture, &name).await?;
    if found.is_none()
        && let Some((_, without_county)) = name.split_once('郡')
        && !without_county.is_empty()
    {
        // 「柴田郡大河原町」: the 総務省 list names the town without its 郡 (but keeps 郡山市).
        found = local_gov_by_name(db, &prefecture, without_county).await?;
    }
    match found {
        Some(lg) => municipality_of(db, lg).await,
        None => Ok(None),
    }
}

/// A municipality itself, a ward's 政令市, or `None` for a prefecture.
async fn municipality_of(db: &Db, lg: LocalGov) -> RefDataResult<Option<LocalGov>> {
    match lg.kind.parse::<LocalGovKind>() {
        Ok(LocalGovKind::Ward) => match &lg.parent_code {
            Some(parent) => Ok(local_gov(db, parent).await?),
            None => Ok(None),
        },
        Ok(kind) if kind.is_municipality() => Ok(Some(lg)),
        _ => Ok(None),
    }
}
