//! Donors (寄附者): one row per person per municipality, with the normalised columns that search
//! and cross-portal matching use.

use furusato_domain::{kana, normalize};
use serde::Serialize;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::args::{Arg, Args, prefix_end};
use crate::{
    Db, DbError, DbResult, MunicipalityId, Tx, bind_args, new_id, now_utc, with_db, with_tx,
};

#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct Donor {
    pub id: Uuid,
    pub municipality_id: Uuid,
    pub family_name: String,
    pub given_name: String,
    pub family_kana: String,
    pub given_kana: String,
    pub name_norm: String,
    pub kana_norm: String,
    pub postal_code: String,
    pub prefecture: String,
    pub city: String,
    pub address1: String,
    pub address2: String,
    pub address_norm: String,
    pub phone: String,
    pub phone_digits: String,
    pub email: String,
    pub sex: String,
    pub birth_date: Option<Date>,
    pub merged_into_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Donor {
    /// "山田 太郎"
    pub fn full_name(&self) -> String {
        join_name(&self.family_name, &self.given_name)
    }

    /// "ヤマダ タロウ"
    pub fn full_kana(&self) -> String {
        join_name(&self.family_kana, &self.given_kana)
    }

    /// Prefecture + city + address lines, as printed on an envelope (without the postal code).
    pub fn address_line(&self) -> String {
        let mut s = format!("{}{}{}", self.prefecture, self.city, self.address1);
        if !self.address2.is_empty() {
            s.push(' ');
            s.push_str(&self.address2);
        }
        s
    }
}

fn join_name(family: &str, given: &str) -> String {
    if given.is_empty() {
        family.to_string()
    } else {
        format!("{family} {given}")
    }
}

/// A donor as entered or imported; the normalised columns are derived on insert.
#[derive(Clone, Debug, Default, Serialize)]
pub struct NewDonor {
    pub family_name: String,
    pub given_name: String,
    pub family_kana: String,
    pub given_kana: String,
    pub postal_code: String,
    pub prefecture: String,
    pub city: String,
    pub address1: String,
    pub address2: String,
    pub phone: String,
    pub email: String,
    pub sex: String,
    pub birth_date: Option<Date>,
}

impl NewDonor {
    pub fn name_norm(&self) -> String {
        normalize::normalize_name(&format!("{}{}", self.family_name, self.given_name))
    }
    pub fn kana_norm(&self) -> String {
        kana::normalize_kana(&format!("{}{}", self.family_kana, self.given_kana))
    }
    pub fn address_norm(&self) -> String {
        normalize::normalize_address(&format!(
            "{}{}{}{}",
            self.prefecture, self.city, self.address1, self.address2
        ))
    }
    pub fn phone_digits(&self) -> String {
        normalize::normalize_digits(&self.phone)
    }
}

pub const COLUMNS: &str = "id, municipality_id, family_name, given_name, family_kana, given_kana, \
    name_norm, kana_norm, postal_code, prefecture, city, address1, address2, address_norm, phone, \
    phone_digits, email, sex, birth_date, merged_into_id, created_at, updated_at";

/// Column list for [`crate::dialect::bulk_insert`] matching [`insert_row`].
pub const INSERT_COLUMNS: [&str; 21] = [
    "id",
    "municipality_id",
    "family_name",
    "given_name",
    "family_kana",
    "given_kana",
    "name_norm",
    "kana_norm",
    "postal_code",
    "prefecture",
    "city",
    "address1",
    "address2",
    "address_norm",
    "phone",
    "phone_digits",
    "email",
    "sex",
    "birth_date",
    "created_at",
    "updated_at",
];

/// The bound values of one donor row, in [`INSERT_COLUMNS`] order.
pub fn insert_row(id: Uuid, tenant: MunicipalityId, d: &NewDonor, now: OffsetDateTime) -> Vec<Arg> {
    let norms = Normalised {
        name: d.name_norm(),
        kana: d.kana_norm(),
        address: d.address_norm(),
        phone_digits: d.phone_digits(),
    };
    insert_row_normalised(id, tenant, d, norms, now)
}

/// The normalised columns of a donor ([`NewDonor::name_norm`] …), when the caller already has
/// them (donor matching computes them for every incoming person).
pub struct Normalised {
    pub name: String,
    pub kana: String,
    pub address: String,
    pub phone_digits: String,
}

/// [`insert_row`] with the normalised columns given.
pub fn insert_row_normalised(
    id: Uuid,
    tenant: MunicipalityId,
    d: &NewDonor,
    norms: Normalised,
    now: OffsetDateTime,
) -> Vec<Arg> {
    vec![
        Arg::Uuid(id),
        Arg::Uuid(tenant.0),
        Arg::Text(d.family_name.clone()),
        Arg::Text(d.given_name.clone()),
        Arg::Text(d.family_kana.clone()),
        Arg::Text(d.given_kana.clone()),
        Arg::Text(norms.name),
        Arg::Text(norms.kana),
        Arg::Text(d.postal_code.clone()),
        Arg::Text(d.prefecture.clone()),
        Arg::Text(d.city.clone()),
        Arg::Text(d.address1.clone()),
        Arg::Text(d.address2.clone()),
        Arg::Text(norms.address),
        Arg::Text(d.phone.clone()),
        Arg::Text(norms.phone_digits),
        Arg::Text(d.email.clone()),
        Arg::Text(d.sex.clone()),
        Arg::OptDate(d.birth_date),
        Arg::Timestamp(now),
        Arg::Timestamp(now),
    ]
}

/// Inserts one donor inside `tx` and returns its id.
pub async fn insert(tx: &mut Tx, tenant: MunicipalityId, d: &NewDonor) -> DbResult<Uuid> {
    const SQL: &str = "INSERT INTO donors (id, municipality_id, family_name, given_name, family_kana, \
        given_kana, name_norm, kana_norm, postal_code, prefecture, city, address1, address2, \
        address_norm, phone, phone_digits, email, sex, birth_date, created_at, updated_at) \
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20)";
    let id = new_id();
    with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(id)
        .bind(tenant.0)
        .bind(&d.family_name)
        .bind(&d.given_name)
        .bind(&d.family_kana)
        .bind(&d.given_kana)
        .bind(d.name_norm())
        .bind(d.kana_norm())
        .bind(&d.postal_code)
        .bind(&d.prefecture)
        .bind(&d.city)
        .bind(&d.address1)
        .bind(&d.address2)
        .bind(d.address_norm())
        .bind(&d.phone)
        .bind(d.phone_digits())
        .bind(&d.email)
        .bind(&d.sex)
        .bind(d.birth_date)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    Ok(id)
}

/// Replaces a donor's personal data (address change, correction); the normalised columns follow.
pub async fn update(tx: &mut Tx, tenant: MunicipalityId, id: Uuid, d: &NewDonor) -> DbResult<()> {
    const SQL: &str = "UPDATE donors SET family_name = $3, given_name = $4, family_kana = $5, \
        given_kana = $6, name_norm = $7, kana_norm = $8, postal_code = $9, prefecture = $10, city = $11, \
        address1 = $12, address2 = $13, address_norm = $14, phone = $15, phone_digits = $16, email = $17, \
        sex = $18, birth_date = $19, updated_at = $20 WHERE municipality_id = $1 AND id = $2";
    let n = with_tx!(tx, |conn| sqlx::query(SQL)
        .bind(tenant.0)
        .bind(id)
        .bind(&d.family_name)
        .bind(&d.given_name)
        .bind(&d.family_kana)
        .bind(&d.given_kana)
        .bind(d.name_norm())
        .bind(d.kana_norm())
        .bind(&d.postal_code)
        .bind(&d.prefecture)
        .bind(&d.city)
        .bind(&d.address1)
        .bind(&d.address2)
        .bind(d.address_norm())
        .bind(&d.phone)
        .bind(d.phone_digits())
        .bind(&d.email)
        .bind(&d.sex)
        .bind(d.birth_date)
        .bind(now_utc())
        .execute(conn)
        .await?
        .rows_affected());
    if n == 0 {
        return Err(DbError::NotFound("donor"));
    }
    Ok(())
}

pub async fn get(db: &Db, tenant: MunicipalityId, id: Uuid) -> DbResult<Option<Donor>> {
    let sql = format!("SELECT {COLUMNS} FROM donors WHERE municipality_id = $1 AND id = $2");
    Ok(with_db!(db, |pool| sqlx::query_as::<_, Donor>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(pool)
    .await?))
}

/// Donor search criteria; every given field must match (AND). Text fields are normalised here.
#[derive(Clone, Debug, Default)]
pub struct DonorSearch {
    /// フリガナ prefix (hiragana, half-width and spaces are folded).
    pub kana: Option<String>,
    /// Name prefix (family name first).
    pub name: Option<String>,
    /// 7-digit postal code (any common format).
    pub postal_code: Option<String>,
    /// Phone number: the whole number, or its leading digits.
    pub phone: Option<String>,
    /// 寄附番号, or a portal's own order number (e.g. 楽天 order number).
    pub donation_number: Option<String>,
    /// Include donors merged into another record (hidden by default).
    pub include_merged: bool,
}

impl DonorSearch {
    pub fn is_empty(&self) -> bool {
        [
            &self.kana,
            &self.name,
            &self.postal_code,
            &self.phone,
            &self.donation_number,
        ]
        .iter()
        .all(|f| f.as_deref().is_none_or(|s| s.trim().is_empty()))
    }
}

/// A page of results. `total` is exact up to `total_cap`; `total_capped` says there are more.
#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
    pub total_capped: bool,
}

impl<T> Page<T> {
    pub fn total_pages(&self) -> u32 {
        let pages = (self.total + self.per_page as i64 - 1) / self.per_page.max(1) as i64;
        pages.max(1) as u32
    }
    pub fn has_next(&self) -> bool {
        (self.page as i64) * (self.per_page as i64) < self.total
    }
}

/// Counting stops here: "10,000件以上" is as useful as an exact figure and keeps screens fast.
pub const TOTAL_CAP: i64 = 10_000;

/// The order of the results: the column of the most selective criterion given, so that the page
/// is read from that criterion's index in order (no sort of all matches).
fn search_order(s: &DonorSearch) -> &'static str {
    let given = |f: &Option<String>| f.as_deref().is_some_and(|v| !v.trim().is_empty());
    if given(&s.phone) {
        "d.phone_digits, d.kana_norm, d.id"
    } else if given(&s.postal_code) {
        "d.postal_code, d.kana_norm, d.id"
    } else if given(&s.name) && !given(&s.kana) {
        "d.name_norm, d.id"
    } else {
        "d.kana_norm, d.id"
    }
}

/// Builds the WHERE clause of a donor search.
fn search_where(tenant: MunicipalityId, s: &DonorSearch, args: &mut Args) -> String {
    let mut w = vec![format!("d.municipality_id = {}", args.uuid(tenant.0))];
    if !s.include_merged {
        // Literally the partial indexes' condition, so the planner uses them.
        w.push("d.merged_into_id IS NULL".into());
    }
    if let Some(k) = s
        .kana
        .as_deref()
        .map(kana::normalize_kana)
        .filter(|k| !k.is_empty())
    {
        let lo = args.text(k.clone());
        let hi = args.text(prefix_end(&k));
        w.push(format!("d.kana_norm >= {lo} AND d.kana_norm < {hi}"));
    }
    if let Some(n) = s
        .name
        .as_deref()
        .map(normalize::normalize_name)
        .filter(|n| !n.is_empty())
    {
        let lo = args.text(n.clone());
        let hi = args.text(prefix_end(&n));
        w.push(format!("d.name_norm >= {lo} AND d.name_norm < {hi}"));
    }
    if let Some(p) = s
        .postal_code
        .as_deref()
        .map(normalize::normalize_digits)
        .filter(|p| !p.is_empty())
    {
        if p.len() == 7 {
            w.push(format!("d.postal_code = {}", args.text(p)));
        } else {
            let lo = args.text(p.clone());
            let hi = args.text(prefix_end(&p));
            w.push(format!("d.postal_code >= {lo} AND d.postal_code < {hi}"));
        }
    }
    if let Some(p) = s
        .phone
        .as_deref()
        .map(normalize::normalize_digits)
        .filter(|p| !p.is_empty())
    {
        let lo = args.text(p.clone());
        let hi = args.text(prefix_end(&p));
        w.push(format!("d.phone_digits >= {lo} AND d.phone_digits < {hi}"));
    }
    if let Some(n) = s
        .donation_number
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let n = normalize::normalize_name(n);
        let t = args.uuid(tenant.0);
        let v = args.text(n);
        w.push(format!(
            "d.id IN (SELECT x.donor_id FROM donations x WHERE x.municipality_id = {t} AND x.donation_number = {v} \
             UNION SELECT x.donor_id FROM donations x WHERE x.municipality_id = {t} AND x.external_id = {v})"
        ));
    }
    w.join(" AND ")
}

/// Searches donors; `page` is 1-based. Results are ordered by the main criterion (phone, postal
/// code, name or フリガナ) and then by フリガナ.
pub async fn search(
    db: &Db,
    tenant: MunicipalityId,
    s: &DonorSearch,
    page: u32,
    per_page: u32,
) -> DbResult<Page<Donor>> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, 500);
    let mut args = Args::new();
    let wh = search_where(tenant, s, &mut args);
    let offset = (page as i64 - 1) * per_page as i64;
    let cols = COLUMNS
        .split(", ")
        .map(|c| format!("d.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let order = search_order(s);
    let sql = format!(
        "SELECT {cols} FROM donors d WHERE {wh} ORDER BY {order} LIMIT {per_page} OFFSET {offset}"
    );
    let items: Vec<Donor> = with_db!(db, |pool| bind_args!(
        sqlx::query_as::<_, Donor>(sqlx::AssertSqlSafe(sql)),
        args
    )
    .fetch_all(pool)
    .await?);
    // A first page that is not full holds every match: no need to count.
    let total = if page == 1 && (items.len() as u32) < per_page {
        items.len() as i64
    } else {
        let count_sql = format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM donors d WHERE {wh} LIMIT {}) t",
            TOTAL_CAP + 1
        );
        with_db!(db, |pool| bind_args!(
            sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)),
            args
        )
        .fetch_one(pool)
        .await?)
    };
    Ok(Page {
        items,
        page,
        per_page,
        total: total.min(TOTAL_CAP),
        total_capped: total > TOTAL_CAP,
    })
}

/// Candidates for cross-portal matching: donors sharing the normalised kana, phone or postal code.
pub async fn match_candidates(
    db: &Db,
    tenant: MunicipalityId,
    kana_norm: &str,
    phone_digits: &str,
    postal_code: &str,
    limit: u32,
) -> DbResult<Vec<Donor>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM donors WHERE municipality_id = $1 AND merged_into_id IS NULL AND \
         ((kana_norm = $2 AND $2 <> '') OR (phone_digits = $3 AND $3 <> '') OR (postal_code = $4 AND $4 <> '' AND kana_norm = $2)) \
         LIMIT {limit}"
    );
    Ok(with_db!(db, |pool| sqlx::query_as::<_, Donor>(
        sqlx::AssertSqlSafe(sql)
    )
    .bind(tenant.0)
    .bind(kana_norm)
    .bind(phone_digits)
    .bind(postal_code)
    .fetch_all(pool)
    .await?))
}

/// Number of (unmerged) donors of a municipality.
const COUNT_ACTIVE: &str =
    "SELECT COUNT(*) FROM donors WHERE municipality_id = $1 AND merged_into_id IS NULL";

pub async fn count(db: &Db, tenant: MunicipalityId) -> DbResult<i64> {
    Ok(with_db!(db, |pool| sqlx::query_scalar(COUNT_ACTIVE)
        .bind(tenant.0)
        .fetch_one(pool)
        .await?))
}

/// [`count`] inside a transaction.
pub async fn count_in(tx: &mut Tx, tenant: MunicipalityId) -> DbResult<i64> {
    Ok(with_tx!(tx, |conn| sqlx::query_scalar(COUNT_ACTIVE)
        .bind(tenant.0)
        .fetch_one(conn)
        .await?))
}

/// A spread sample of donors (for benchmarks and smoke checks): every k-th active donor so that
/// about `n` come back.
pub async fn sample(db: &Db, tenant: MunicipalityId, n: i64) -> DbResult<Vec<Donor>> {
    use futures::TryStreamExt;
    let total = count(db, tenant).await?;
    if total == 0 || n <= 0 {
        return Ok(vec![]);
    }
    let step = (total / n).max(1) as usize;
    const IDS: &str = "SELECT id FROM donors WHERE municipality_id = $1 AND merged_into_id IS NULL";
    let mut ids: Vec<Uuid> = Vec::with_capacity(n as usize);
    let mut i = 0usize;
    with_db!(db, |pool| {
        let mut rows = sqlx::query_scalar::<_, Uuid>(IDS)
            .bind(tenant.0)
            .fetch(pool);
        while let Some(id) = rows.try_next().await? {
            if i.is_multiple_of(step) && (ids.len() as i64) < n {
                ids.push(id);
            }
            i += 1;
        }
    });
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(d) = get(db, tenant, id).await? {
            out.push(d);
        }
    }
    Ok(out)
}
