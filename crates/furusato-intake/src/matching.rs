//! Donor matching across portals: decides whether an incoming person (a 楽天 orderer, a CSV row,
//! a counter donation) is a donor we already know.
//!
//! First version: exact matches only (same normalised kana and phone, or same normalised kana,
//! postal code and address) link automatically; anything else creates a new donor. Every link is
//! recorded in `donor_sources` with a snapshot of the data as received.

use furusato_db::args::Arg;
use furusato_db::donors::{self, NewDonor};
use furusato_db::{with_tx, DbResult, MunicipalityId, Tx, new_id, now_utc};
use uuid::Uuid;

/// Where the person came from (for the donor's history).
#[derive(Clone, Copy, Debug)]
pub struct SourceRef<'a> {
    /// `rakuten`, `csv:choice`, `manual`, …
    pub source: &'a str,
    /// The portal's own id of the record (order number, 寄附者番号 …).
    pub external_id: &'a str,
}

/// How the person was resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// A new donor was created.
    New,
    /// Linked to an existing donor by an exact match.
    Auto,
}

impl Link {
    pub fn as_str(self) -> &'static str {
        match self {
            Link::New => "new",
            Link::Auto => "auto",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub donor_id: Uuid,
    pub link: Link,
}

/// Finds the donor for `d` or creates one, inside the caller's transaction, and records the source.
pub async fn resolve_donor(
    tx: &mut Tx,
    tenant: MunicipalityId,
    d: &NewDonor,
    src: SourceRef<'_>,
) -> DbResult<Resolved> {
    let kana = d.kana_norm();
    let phone = d.phone_digits();
    let address = d.address_norm();
    const SQL: &str = "SELECT id FROM donors WHERE municipality_id = $1 AND merged_into_id IS NULL \
        AND kana_norm = $2 AND $2 <> '' \
        AND ((phone_digits = $3 AND $3 <> '') OR (postal_code = $4 AND $4 <> '' AND address_norm = $5 AND $5 <> '')) \
        ORDER BY created_at LIMIT 1";
    let existing: Option<Uuid> = with_tx!(tx, |conn| sqlx::query_scalar(SQL)
        .bind(tenant.0)
        .bind(&kana)
        .bind(&phone)
        .bind(&d.postal_code)
        .bind(&address)
        .fetch_optional(conn)
        .await?);
    let resolved = match existing {
        Some(id) => Resolved { donor_id: id, link: Link::Auto },
        None => Resolved { donor_id: donors::insert(tx, tenant, d).await?, link: Link::New },
    };
    record_source(tx, tenant, resolved, d, src).await?;
    Ok(resolved)
}

/// Records that `d` (as received from `src`) belongs to the resolved donor.
pub async fn record_source(
    tx: &mut Tx,
    tenant: MunicipalityId,
    resolved: Resolved,
    d: &NewDonor,
    src: SourceRef<'_>,
) -> DbResult<()> {
    let snapshot = serde_json::json!({
        "name": format!("{} {}", d.family_name, d.given_name).trim().to_string(),
        "kana": format!("{} {}", d.family_kana, d.given_kana).trim().to_string(),
        "postal_code": d.postal_code,
        "address": format!("{}{}{}{}", d.prefecture, d.city, d.address1, d.address2),
        "phone": d.phone,
    });
    furusato_db::dialect::bulk_insert(
        tx,
        "donor_sources",
        &["id", "municipality_id", "donor_id", "source", "external_id", "link", "snapshot", "created_at"],
        vec![vec![
            Arg::Uuid(new_id()),
            Arg::Uuid(tenant.0),
            Arg::Uuid(resolved.donor_id),
            Arg::Text(src.source.to_string()),
            Arg::Text(src.external_id.to_string()),
            Arg::Text(resolved.link.as_str().to_string()),
            Arg::Text(snapshot.to_string()),
            Arg::Timestamp(now_utc()),
        ]],
        "",
    )
    .await?;
    Ok(())
}
