//! Writing fetched orders to the ledger, one transaction per group of orders.
//!
//! For each order of a group (see [`apply_group`]):
//! * **unchanged** — the raw JSON has the hash of the last stored version: nothing is written.
//! * **new** — no donation for (楽天, orderNumber): the donor is resolved with
//!   [`crate::matching::resolve_donors`] (the whole group in a few queries), 寄附番号 are reserved
//!   per fiscal year, and donations, ship-tos, gift lines, the raw JSON (`source_records`
//!   version 1) and the order's sync state (`portal_orders`) are bulk-inserted.
//! * **changed** — the JSON differs from the last stored version: the previous version is mapped
//!   again and compared with the new one, field by field. Only what 楽天 changed is written (an
//!   operator's own correction of another field is kept), with a `donation_changes` entry
//!   summarising it in Japanese; the new raw version is stored. Ship-tos and gift lines are
//!   updated in place (partner orders point at them).
//!
//! **How an orderer change reaches the donor.** A donor record can be shared by several
//! donations (the same person on several portals, or merged by an operator), so the sync never
//! rewrites a shared donor. When the orderer's name, kana, address, phone, sex or birth date
//! changed in 楽天: if the donor has no other donation, the donor is updated (the change entry
//! says so); otherwise the donor is left as it is, the change entry records the old and new
//! orderer data and says 「未反映」, and the order number is listed in the run detail
//! (`donor_changes_pending`) for an operator to apply on the donor screen.
//!
//! The whole group is one transaction with one audit entry. If it fails, its orders are retried
//! one by one, so one bad order cannot take the others down.

use std::collections::{BTreeMap, HashMap};

use furusato_db::args::Arg;
use furusato_db::audit::{self, AuditEntry};
use furusato_db::donations::{self, NewDonation, NewDonationItem, NewShipTo};
use furusato_db::donors::{self, NewDonor};
use furusato_db::intake_sync::{self, PortalOrder, SyncedDonation, UnmappedSeen};
use furusato_db::{Db, DbResult, MunicipalityId, Tx, new_id, now_utc, source_records};
use furusato_domain::{Channel, Portal, jst};
use furusato_portals::rakuten::OrderModel;
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::bulk::BulkLoad;
use super::choices::MappingTable;
use super::map::{self, DonationFields, MappedItem, MappedOrder};
use super::{PORTAL, SOURCE};
use crate::matching::{Matcher, Resolution, SourceRef};

/// People per donor-resolution batch: [`crate::matching::resolve_donors`] inserts donors and
/// sources with `$n` parameters, whose binding cost on SQLite grows with the square of the
/// statement's size (see [`intake_sync::insert_rows`]); small batches keep it linear.
const RESOLVE_CHUNK: usize = 25;

/// Bulk insert of the sync's rows.
pub async fn insert_chunked(
    tx: &mut Tx,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Arg>>,
    conflict: &str,
) -> DbResult<u64> {
    furusato_db::dialect::bulk_insert(tx, table, columns, rows, conflict).await
}

/// A gift of the municipality's master: id and current version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GiftRef {
    pub gift_id: Uuid,
    pub version_id: Uuid,
}

/// What a group needs besides its orders.
pub struct Ctx<'a> {
    pub db: &'a Db,
    pub tenant: MunicipalityId,
    pub run_id: Uuid,
    pub table: &'a MappingTable,
    /// Gift master by upper-case code.
    pub gifts: &'a HashMap<String, GiftRef>,
    pub observed_on: Date,
    /// Who the writes are attributed to in the audit trail.
    pub actor: &'a AuditEntry,
}

/// An order fetched and mapped, ready to write (prepared off the database task).
pub struct Prepared {
    pub number: String,
    /// SHA-256 of the raw JSON as serialised for storage.
    pub hash: Vec<u8>,
    /// The raw JSON, deflate-compressed with the dictionary of [`SOURCE`] (what
    /// `source_records.raw_deflate` stores).
    pub compressed: Vec<u8>,
    pub mapped: MappedOrder,
    /// The orderer's matching keys (computed while fetching, off the writing path).
    pub keys: crate::matching::MatchKeys,
}

/// An order that could not be taken into the ledger (listed in the run detail).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FailedOrder {
    pub order_number: String,
    /// English reason.
    pub reason: String,
    /// Japanese reason for the screen.
    pub reason_ja: String,
    /// 注文日時 when known (decides how far the cursor may advance).
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub ordered_at: Option<OffsetDateTime>,
}

/// Result of one group.
#[derive(Clone, Debug, Default)]
pub struct GroupOutcome {
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub failed: Vec<FailedOrder>,
    /// Raw versions stored for orders whose ledger data did not change.
    pub versions_only: i64,
    /// Gift codes not in the master: code → (a received name, lines).
    pub unknown_gifts: BTreeMap<String, (String, i64)>,
    /// Orders whose orderer data changed while the donor is shared (not applied).
    pub donor_changes_pending: Vec<String>,
    /// Settlement codes the rule does not know: code → orders.
    pub unknown_settlements: BTreeMap<i32, i64>,
}

impl GroupOutcome {
    pub fn merge(&mut self, o: GroupOutcome) {
        self.created += o.created;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
        self.versions_only += o.versions_only;
        self.failed.extend(o.failed);
        for (k, (n, c)) in o.unknown_gifts {
            let e = self.unknown_gifts.entry(k).or_insert((n, 0));
            e.1 += c;
        }
        self.donor_changes_pending.extend(o.donor_changes_pending);
        for (k, c) in o.unknown_settlements {
            *self.unknown_settlements.entry(k).or_default() += c;
        }
    }
}

/// Writes a group of prepared orders. Never fails as a whole: orders that cannot be written are
/// returned as failed.
///
/// In an initial load (`bulk`), donors are matched with its in-memory [`crate::matching::Matcher`];
/// a group that fails makes it read the donors again, since the group's new donors were rolled
/// back.
pub async fn apply_group(
    ctx: &Ctx<'_>,
    group: Vec<Prepared>,
    mut bulk: Option<&mut BulkLoad>,
) -> GroupOutcome {
    if group.is_empty() {
        return GroupOutcome::default();
    }
    let result = try_group(ctx, &group, bulk.as_deref_mut()).await;
    if result.is_err()
        && let Some(b) = bulk.as_deref_mut()
    {
        b.invalidate();
    }
    match result {
        Ok(o) => o,
        Err(e) if group.len() == 1 => {
            tracing::warn!(error = %e, "an order could not be written");
            let p = &group[0];
            GroupOutcome {
                failed: vec![FailedOrder {
                    order_number: p.number.clone(),
                    reason: format!("database error: {e}"),
                    reason_ja: "データベースへの書き込みに失敗しました。".into(),
                    ordered_at: Some(p.mapped.ordered_at),
                }],
                ..Default::default()
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, orders = group.len(), "a group could not be written; retrying its orders one by one");
            let mut out = GroupOutcome::default();
            for p in group {
                out.merge(Box::pin(apply_group(ctx, vec![p], bulk.as_deref_mut())).await);
            }
            out
        }
    }
}

async fn try_group(
    ctx: &Ctx<'_>,
    group: &[Prepared],
    mut bulk: Option<&mut BulkLoad>,
) -> DbResult<GroupOutcome> {
    let mut out = GroupOutcome::default();
    let numbers: Vec<String> = group.iter().map(|p| p.number.clone()).collect();
    let mut tx = ctx.db.begin().await?;
    let matcher = match bulk.as_deref_mut() {
        Some(b) => Some(b.matcher(&mut tx).await?),
        None => None,
    };
    let states = intake_sync::portal_orders(&mut tx, ctx.tenant, PORTAL, &numbers).await?;
    let without_state: Vec<String> = numbers
        .iter()
        .filter(|n| !states.contains_key(*n))
        .cloned()
        .collect();
    let existing = if without_state.is_empty() {
        HashMap::new()
    } else {
        intake_sync::donations_by_external(&mut tx, ctx.tenant, PORTAL, &without_state).await?
    };

    let mut new_orders: Vec<&Prepared> = Vec::new();
    let mut changed: Vec<(&Prepared, Option<&PortalOrder>)> = Vec::new();
    for p in group {
        if let Some(code) = p.mapped.unknown_settlement {
            *out.unknown_settlements.entry(code).or_default() += 1;
        }
        match states.get(&p.number) {
            Some(s) if s.content_hash == p.hash => out.unchanged += 1,
            Some(s) => changed.push((p, Some(s))),
            None if existing.contains_key(&p.number) => changed.push((p, None)),
            None => new_orders.push(p),
        }
    }

    insert_new(ctx, &mut tx, &new_orders, matcher, &mut out).await?;
    let mut donors_updated = false;
    if !changed.is_empty() {
        let donation_ids: Vec<Uuid> = changed
            .iter()
            .map(|(p, s)| match s {
                Some(s) => s.donation_id,
                None => existing[&p.number].id,
            })
            .collect();
        let current = load_donations(&mut tx, ctx.tenant, &changed, &states, &existing).await?;
        let mut ship_tos = intake_sync::ship_tos_of(&mut tx, ctx.tenant, &donation_ids).await?;
        let mut items = intake_sync::items_of(&mut tx, ctx.tenant, &donation_ids).await?;
        for ((p, state), id) in changed.iter().zip(&donation_ids) {
            let db_row = current
                .get(id)
                .cloned()
                .ok_or(furusato_db::DbError::NotFound("donation"))?;
            let st = ship_tos.remove(id).unwrap_or_default();
            let it = items.remove(id).unwrap_or_default();
            donors_updated |=
                apply_change(ctx, &mut tx, p, *state, &db_row, st, it, &mut out).await?;
        }
    }

    if out.created + out.updated + out.versions_only > 0 {
        let entry = ctx
            .actor
            .clone()
            .target("sync_run", ctx.run_id)
            .detail(json!({
                "portal": PORTAL,
                "created": out.created,
                "updated": out.updated,
                "versions_only": out.versions_only,
                "orders": group.len(),
            }));
        audit::append(&mut tx, &entry).await?;
    }
    tx.commit().await?;
    // The matcher holds the donor's former keys: read the donors again before the next group.
    if donors_updated && let Some(b) = bulk {
        b.invalidate();
    }
    Ok(out)
}

/// The current donation rows of the changed orders, by id.
async fn load_donations(
    tx: &mut Tx,
    tenant: MunicipalityId,
    changed: &[(&Prepared, Option<&PortalOrder>)],
    states: &HashMap<String, PortalOrder>,
    existing: &HashMap<String, SyncedDonation>,
) -> DbResult<HashMap<Uuid, SyncedDonation>> {
    let mut out: HashMap<Uuid, SyncedDonation> =
        existing.values().map(|d| (d.id, d.clone())).collect();
    let missing: Vec<String> = changed
        .iter()
        .filter(|(p, _)| states.contains_key(&p.number))
        .map(|(p, _)| p.number.clone())
        .collect();
    if !missing.is_empty() {
        for d in intake_sync::donations_by_external(tx, tenant, PORTAL, &missing)
            .await?
            .into_values()
        {
            out.insert(d.id, d);
        }
    }
    Ok(out)
}

fn new_donation(donor_id: Uuid, m: &MappedOrder) -> NewDonation {
    let d = &m.donation;
    NewDonation {
        donor_id,
        channel: Channel::Portal.as_str().to_string(),
        portal: Some(Portal::Rakuten.as_str().to_string()),
        external_id: Some(m.order_number.clone()),
        amount: d.amount,
        donated_on: d.donated_on,
        received_on: d.received_on,
        applied_at: Some(d.applied_at),
        payment_method: d.payment_method.clone(),
        payment_status: d.payment_status.clone(),
        use_of_funds: d.use_of_funds.clone(),
        onestop_wanted: d.onestop_wanted,
        receipt_wanted: d.receipt_wanted,
        gift_declined: d.gift_declined,
        note: d.note.clone(),
    }
}

fn item_of(
    ctx: &Ctx<'_>,
    it: &MappedItem,
    ship_to_id: Option<Uuid>,
    out: &mut GroupOutcome,
) -> NewDonationItem {
    let gift = ctx.gifts.get(&it.code);
    if gift.is_none() {
        let e = out
            .unknown_gifts
            .entry(it.code.clone())
            .or_insert((it.name.clone(), 0));
        e.1 += 1;
    }
    NewDonationItem {
        gift_id: gift.map(|g| g.gift_id),
        gift_version_id: gift.map(|g| g.version_id),
        gift_code: it.code.clone(),
        name: it.name.clone(),
        quantity: it.quantity,
        amount: it.amount,
        ship_to_id,
    }
}

fn source_row(
    ctx: &Ctx<'_>,
    p: &Prepared,
    version: i64,
    donation_id: Uuid,
    donor_id: Uuid,
    now: OffsetDateTime,
) -> Vec<Arg> {
    vec![
        Arg::Uuid(new_id()),
        Arg::Uuid(ctx.tenant.0),
        Arg::Text(SOURCE.to_string()),
        Arg::Text(p.number.clone()),
        Arg::Int(version),
        Arg::Bytes(p.hash.clone()),
        Arg::Bytes(p.compressed.clone()),
        Arg::Int(source_records::Dictionary::for_source(SOURCE).id()),
        Arg::OptUuid(Some(donation_id)),
        Arg::OptUuid(Some(donor_id)),
        Arg::OptUuid(None),
        Arg::OptUuid(Some(ctx.run_id)),
        Arg::Timestamp(now),
    ]
}

fn note_reviews(lines: &[(&str, &[super::choices::TextLine])], count: bool) -> Vec<UnmappedSeen> {
    let mut agg: BTreeMap<(String, String, String), (i64, String)> = BTreeMap::new();
    for (number, unmapped) in lines {
        for l in unmapped.iter() {
            let e = agg
                .entry((l.field.to_string(), l.heading.clone(), l.review_value()))
                .or_insert((0, number.to_string()));
            if count {
                e.0 += 1;
            }
        }
    }
    agg.into_iter()
        .map(
            |((source_field, heading, value), (occurrences, example_external_id))| UnmappedSeen {
                source_field,
                heading,
                value,
                occurrences,
                example_external_id,
            },
        )
        .collect()
}

async fn insert_new(
    ctx: &Ctx<'_>,
    tx: &mut Tx,
    orders: &[&Prepared],
    matcher: Option<&mut Matcher>,
    out: &mut GroupOutcome,
) -> DbResult<()> {
    if orders.is_empty() {
        return Ok(());
    }
    let numbers: Vec<String> = orders.iter().map(|p| p.number.clone()).collect();
    let earlier = source_records::latest_versions(tx, ctx.tenant, SOURCE, &numbers).await?;
    let people: Vec<(NewDonor, SourceRef<'_>)> = orders
        .iter()
        .map(|p| {
            (
                p.mapped.orderer.clone(),
                SourceRef {
                    source: SOURCE,
                    external_id: &p.number,
                },
            )
        })
        .collect();
    let mut resolved = Vec::with_capacity(people.len());
    if let Some(m) = matcher {
        // An initial load: the whole group against the donors in memory.
        let keys = orders.iter().map(|p| p.keys.clone()).collect();
        resolved.extend(
            m.resolve(tx, &people, keys)
                .await?
                .iter()
                .map(Resolution::resolved),
        );
    } else {
        // Small batches (see RESOLVE_CHUNK); each batch sees the donors created before it.
        for (chunk, orders) in people
            .chunks(RESOLVE_CHUNK)
            .zip(orders.chunks(RESOLVE_CHUNK))
        {
            let keys = orders.iter().map(|p| p.keys.clone()).collect();
            resolved
                .extend(crate::matching::resolve_donors_keyed(tx, ctx.tenant, chunk, keys).await?);
        }
    }

    // 寄附番号 per fiscal year of the 寄附日, in order.
    let mut by_fy: BTreeMap<i32, usize> = BTreeMap::new();
    for p in orders {
        *by_fy
            .entry(jst::fiscal_year(p.mapped.donation.donated_on))
            .or_default() += 1;
    }
    let mut numbers: HashMap<i32, std::vec::IntoIter<String>> = HashMap::new();
    for (fy, n) in by_fy {
        numbers.insert(
            fy,
            donations::reserve_numbers(tx, ctx.tenant, fy, n)
                .await?
                .into_iter(),
        );
    }

    let now = now_utc();
    let mut donation_rows = Vec::with_capacity(orders.len());
    let mut ship_rows = Vec::new();
    let mut item_rows = Vec::new();
    let mut source_rows = Vec::with_capacity(orders.len());
    let mut state_rows = Vec::with_capacity(orders.len());
    for (p, r) in orders.iter().zip(&resolved) {
        let m = &p.mapped;
        let fy = jst::fiscal_year(m.donation.donated_on);
        let number = numbers
            .get_mut(&fy)
            .and_then(Iterator::next)
            .expect("one number reserved per order");
        let id = new_id();
        donation_rows.push(donations::insert_row(
            id,
            ctx.tenant,
            number,
            &new_donation(r.donor_id, m),
            now,
        ));
        let ship_ids: Vec<Uuid> = m.ship_tos.iter().map(|_| new_id()).collect();
        for (i, (s, sid)) in m.ship_tos.iter().zip(&ship_ids).enumerate() {
            ship_rows.push(donations::ship_to_insert_row(
                *sid,
                ctx.tenant,
                id,
                i as i64 + 1,
                s,
            ));
        }
        for (i, it) in m.items.iter().enumerate() {
            let item = item_of(ctx, it, ship_ids.get(it.package).copied(), out);
            item_rows.push(donations::item_insert_row(
                ctx.tenant,
                id,
                i as i64 + 1,
                &item,
            ));
        }
        // Version 1, unless the raw JSON was kept by an earlier run that could not map it.
        let version = earlier.get(&p.number).map_or(1, |v| v + 1);
        source_rows.push(source_row(ctx, p, version, id, r.donor_id, now));
        state_rows.push(intake_sync::portal_order_row(
            ctx.tenant,
            PORTAL,
            &p.number,
            id,
            i64::from(m.progress),
            m.ordered_at,
            p.hash.clone(),
            version,
            m.choices.unmapped_keys(),
            now,
        ));
    }
    let bulk_insert = insert_chunked;
    bulk_insert(
        tx,
        "donations",
        &donations::INSERT_COLUMNS,
        donation_rows,
        "",
    )
    .await?;
    bulk_insert(
        tx,
        "ship_tos",
        &donations::SHIP_TO_INSERT_COLUMNS,
        ship_rows,
        "",
    )
    .await?;
    bulk_insert(
        tx,
        "donation_items",
        &donations::ITEM_INSERT_COLUMNS,
        item_rows,
        "",
    )
    .await?;
    bulk_insert(
        tx,
        "source_records",
        &source_records::INSERT_COLUMNS,
        source_rows,
        "",
    )
    .await?;
    bulk_insert(
        tx,
        "portal_orders",
        &intake_sync::PORTAL_ORDER_COLUMNS,
        state_rows,
        "",
    )
    .await?;
    let lines: Vec<(&str, &[super::choices::TextLine])> = orders
        .iter()
        .map(|p| (p.number.as_str(), p.mapped.choices.unmapped.as_slice()))
        .collect();
    intake_sync::note_unmapped(tx, ctx.tenant, PORTAL, &note_reviews(&lines, true)).await?;
    out.created += orders.len() as i64;
    Ok(())
}

/// The donation fields of the ledger row, in the mapping's shape (for comparisons).
fn fields_of(d: &SyncedDonation) -> DonationFields {
    DonationFields {
        amount: d.amount,
        donated_on: d.donated_on,
        received_on: d.received_on,
        applied_at: d.applied_at.unwrap_or(OffsetDateTime::UNIX_EPOCH),
        payment_method: d.payment_method.clone(),
        payment_status: d.payment_status.clone(),
        use_of_funds: d.use_of_funds.clone(),
        onestop_wanted: d.onestop_wanted,
        receipt_wanted: d.receipt_wanted,
        gift_declined: d.gift_declined,
        note: d.note.clone(),
    }
}

fn yen(v: Option<i64>) -> String {
    match v {
        Some(v) => furusato_domain::Yen::new(v).to_string(),
        None => "金額未確定".to_string(),
    }
}

fn date_s(d: Option<Date>) -> String {
    d.map(jst::format_date_iso)
        .unwrap_or_else(|| "なし".to_string())
}

fn yes_no(b: bool) -> &'static str {
    if b { "あり" } else { "なし" }
}

/// The columns to update, the `fields` JSON and the summary parts for the donation row.
struct DonationDiff {
    columns: Vec<(&'static str, Arg)>,
    fields: serde_json::Map<String, serde_json::Value>,
    parts: Vec<String>,
}

/// Fields that 楽天 changed (`prev` → `new`) and that differ from the ledger row (`db`).
fn donation_diff(
    prev: &DonationFields,
    new: &DonationFields,
    db: &DonationFields,
    change_reason: Option<&str>,
) -> DonationDiff {
    let mut d = DonationDiff {
        columns: Vec::new(),
        fields: serde_json::Map::new(),
        parts: Vec::new(),
    };
    macro_rules! field {
        ($f:ident, $arg:expr, $json:expr, $part:expr) => {
            if prev.$f != new.$f && db.$f != new.$f {
                d.columns.push((stringify!($f), $arg));
                d.fields.insert(stringify!($f).to_string(), $json);
                d.parts.push($part);
            }
        };
    }
    field!(
        payment_status,
        Arg::Text(new.payment_status.clone()),
        json!([db.payment_status, new.payment_status]),
        {
            if new.payment_status == "cancelled" {
                match change_reason {
                    Some(r) => format!("取消（{r}）"),
                    None => "取消".to_string(),
                }
            } else {
                format!(
                    "収納状況 {}→{}",
                    map::status_ja(&db.payment_status),
                    map::status_ja(&new.payment_status)
                )
            }
        }
    );
    field!(
        amount,
        Arg::OptInt(new.amount),
        json!([db.amount, new.amount]),
        format!("寄附額 {}→{}", yen(db.amount), yen(new.amount))
    );
    field!(
        received_on,
        Arg::OptDate(new.received_on),
        json!([
            db.received_on.map(jst::format_date_iso),
            new.received_on.map(jst::format_date_iso)
        ]),
        format!(
            "受領日 {}→{}",
            date_s(db.received_on),
            date_s(new.received_on)
        )
    );
    field!(
        donated_on,
        Arg::Date(new.donated_on),
        json!([
            jst::format_date_iso(db.donated_on),
            jst::format_date_iso(new.donated_on)
        ]),
        format!(
            "寄附日 {}→{}",
            date_s(Some(db.donated_on)),
            date_s(Some(new.donated_on))
        )
    );
    field!(
        applied_at,
        Arg::OptTimestamp(Some(new.applied_at)),
        json!([db.applied_at.to_string(), new.applied_at.to_string()]),
        "申込日時を更新".to_string()
    );
    field!(
        payment_method,
        Arg::Text(new.payment_method.clone()),
        json!([db.payment_method, new.payment_method]),
        format!(
            "払込方法 {}→{}",
            map::method_ja(&db.payment_method),
            map::method_ja(&new.payment_method)
        )
    );
    field!(
        use_of_funds,
        Arg::Text(new.use_of_funds.clone()),
        json!([db.use_of_funds, new.use_of_funds]),
        format!("使い道 {}", new.use_of_funds)
    );
    field!(
        onestop_wanted,
        Arg::Bool(new.onestop_wanted),
        json!([db.onestop_wanted, new.onestop_wanted]),
        format!("ワンストップ希望 {}", yes_no(new.onestop_wanted))
    );
    field!(
        receipt_wanted,
        Arg::Bool(new.receipt_wanted),
        json!([db.receipt_wanted, new.receipt_wanted]),
        format!("受領証明書希望 {}", yes_no(new.receipt_wanted))
    );
    field!(
        gift_declined,
        Arg::Bool(new.gift_declined),
        json!([db.gift_declined, new.gift_declined]),
        format!("返礼品辞退 {}", yes_no(new.gift_declined))
    );
    field!(
        note,
        Arg::Text(new.note.clone()),
        json!([db.note, new.note]),
        "備考を更新".to_string()
    );
    d
}

fn orderer_fields(d: &NewDonor) -> [(&'static str, String); 12] {
    [
        ("family_name", d.family_name.clone()),
        ("given_name", d.given_name.clone()),
        ("family_kana", d.family_kana.clone()),
        ("given_kana", d.given_kana.clone()),
        ("postal_code", d.postal_code.clone()),
        ("prefecture", d.prefecture.clone()),
        ("city", d.city.clone()),
        ("address1", d.address1.clone()),
        ("address2", d.address2.clone()),
        ("phone", d.phone.clone()),
        ("sex", d.sex.clone()),
        (
            "birth_date",
            d.birth_date.map(jst::format_date_iso).unwrap_or_default(),
        ),
    ]
}

fn orderer_label(f: &str) -> &'static str {
    match f {
        "family_name" | "given_name" => "氏名",
        "family_kana" | "given_kana" => "フリガナ",
        "postal_code" | "prefecture" | "city" | "address1" | "address2" => "住所",
        "phone" => "電話番号",
        "sex" => "性別",
        "birth_date" => "生年月日",
        _ => "その他",
    }
}

/// Writes what 楽天 changed in an order. Returns whether it updated the donor's data.
#[allow(clippy::too_many_arguments)]
async fn apply_change(
    ctx: &Ctx<'_>,
    tx: &mut Tx,
    p: &Prepared,
    state: Option<&PortalOrder>,
    db_row: &SyncedDonation,
    db_ship_tos: Vec<donations::ShipTo>,
    db_items: Vec<donations::DonationItem>,
    out: &mut GroupOutcome,
) -> DbResult<bool> {
    let mut donor_updated = false;
    let new = &p.mapped;
    // The previous version as 楽天 sent it, mapped with today's mappings.
    let prev: Option<MappedOrder> = if state.is_some() {
        intake_sync::latest_raw(tx, ctx.tenant, SOURCE, &p.number)
            .await?
            .and_then(|raw| serde_json::from_slice::<OrderModel>(&raw).ok())
            .and_then(|o| map::map_order(&o, ctx.table, ctx.observed_on).ok())
    } else {
        None
    };
    let db_fields = fields_of(db_row);
    let prev_fields = prev
        .as_ref()
        .map(|m| m.donation.clone())
        .unwrap_or_else(|| db_fields.clone());
    let diff = donation_diff(
        &prev_fields,
        &new.donation,
        &db_fields,
        new.change_reason.as_deref(),
    );
    let DonationDiff {
        columns,
        mut fields,
        mut parts,
    } = diff;

    // Ship-tos and gift lines: compare what 楽天 sent before with what it sends now.
    let db_ship_as_new: Vec<NewShipTo> = db_ship_tos
        .iter()
        .map(|s| NewShipTo {
            name: s.name.clone(),
            kana: s.kana.clone(),
            postal_code: s.postal_code.clone(),
            address: s.address.clone(),
            phone: s.phone.clone(),
            external_ref: s.external_ref.clone(),
        })
        .collect();
    let prev_ship = prev
        .as_ref()
        .map(|m| m.ship_tos.clone())
        .unwrap_or_else(|| db_ship_as_new.clone());
    let ship_changed =
        !ships_eq(&prev_ship, &new.ship_tos) && !ships_eq(&db_ship_as_new, &new.ship_tos);
    let items_changed = match prev.as_ref().map(|m| &m.items) {
        Some(pi) => *pi != new.items,
        None => !items_equal(&db_items, &new.items),
    };
    if ship_changed || items_changed {
        let ship_ids = sync_ship_tos(ctx, tx, db_row.id, &db_ship_tos, &new.ship_tos).await?;
        let before: Vec<serde_json::Value> =
            db_items.iter().map(|i| json!({"code": i.gift_code, "name": i.name, "quantity": i.quantity, "amount": i.amount})).collect();
        let lines_changed =
            sync_items(ctx, tx, db_row.id, &db_items, &new.items, &ship_ids, out).await?;
        if ship_changed {
            fields.insert(
                "ship_tos".into(),
                json!([
                    db_ship_as_new.iter().map(ship_json).collect::<Vec<_>>(),
                    new.ship_tos.iter().map(ship_json).collect::<Vec<_>>()
                ]),
            );
            parts.push("送付先を更新".to_string());
        }
        if lines_changed {
            let after: Vec<serde_json::Value> =
                new.items.iter().map(|i| json!({"code": i.code, "name": i.name, "quantity": i.quantity, "amount": i.amount})).collect();
            fields.insert("items".into(), json!([before, after]));
            parts.push("返礼品明細を更新".to_string());
        }
    }

    // The orderer (donor).
    if let Some(prev) = &prev {
        let before = orderer_fields(&prev.orderer);
        let after = orderer_fields(&new.orderer);
        let mut labels: Vec<&str> = Vec::new();
        let mut changed_fields = serde_json::Map::new();
        for ((f, a), (_, b)) in before.iter().zip(after.iter()) {
            if a != b {
                changed_fields.insert(format!("orderer.{f}"), json!([a, b]));
                let l = orderer_label(f);
                if !labels.contains(&l) {
                    labels.push(l);
                }
            }
        }
        if !labels.is_empty() {
            let shared =
                intake_sync::donor_donation_count(tx, ctx.tenant, db_row.donor_id).await? > 1;
            if shared {
                parts.push(format!(
                    "注文者の{}が変更されました（寄附者情報は他の寄附と共有のため未反映。寄附者画面で確認してください）",
                    labels.join("・")
                ));
                out.donor_changes_pending.push(p.number.clone());
                changed_fields.insert("donor_updated".into(), json!(false));
            } else {
                donors::update(tx, ctx.tenant, db_row.donor_id, &new.orderer).await?;
                donor_updated = true;
                parts.push(format!("注文者の{}の変更を寄附者に反映", labels.join("・")));
                changed_fields.insert("donor_updated".into(), json!(true));
            }
            fields.extend(changed_fields);
        }
    }

    let ledger_changed = !parts.is_empty();
    if !columns.is_empty() {
        intake_sync::update_donation_columns(tx, ctx.tenant, db_row.id, columns).await?;
    }
    if ledger_changed {
        let summary = format!("楽天の注文変更を反映: {}", parts.join("、"));
        source_records::record_change(
            tx,
            ctx.tenant,
            db_row.id,
            SOURCE,
            "sync",
            &summary,
            &serde_json::Value::Object(fields),
        )
        .await?;
    }

    // The new raw version and the order's state.
    let version = match state {
        Some(s) => s.source_version + 1,
        None => source_records::latest(tx, ctx.tenant, SOURCE, &p.number)
            .await?
            .map(|(v, _)| v + 1)
            .unwrap_or(1),
    };
    let now = now_utc();
    insert_chunked(
        tx,
        "source_records",
        &source_records::INSERT_COLUMNS,
        vec![source_row(ctx, p, version, db_row.id, db_row.donor_id, now)],
        "",
    )
    .await?;
    let unmapped = new.choices.unmapped_keys();
    match state {
        Some(_) => {
            intake_sync::update_portal_order(
                tx,
                ctx.tenant,
                PORTAL,
                &p.number,
                i64::from(new.progress),
                new.ordered_at,
                &p.hash,
                version,
                &unmapped,
            )
            .await?
        }
        None => {
            insert_chunked(
                tx,
                "portal_orders",
                &intake_sync::PORTAL_ORDER_COLUMNS,
                vec![intake_sync::portal_order_row(
                    ctx.tenant,
                    PORTAL,
                    &p.number,
                    db_row.id,
                    i64::from(new.progress),
                    new.ordered_at,
                    p.hash.clone(),
                    version,
                    unmapped,
                    now,
                )],
                "",
            )
            .await?;
        }
    }
    let lines: [(&str, &[super::choices::TextLine]); 1] =
        [(p.number.as_str(), new.choices.unmapped.as_slice())];
    intake_sync::note_unmapped(tx, ctx.tenant, PORTAL, &note_reviews(&lines, false)).await?;
    if ledger_changed {
        out.updated += 1;
    } else {
        out.unchanged += 1;
        out.versions_only += 1;
    }
    Ok(donor_updated)
}

fn ship_eq(a: &NewShipTo, b: &NewShipTo) -> bool {
    a.name == b.name
        && a.kana == b.kana
        && a.postal_code == b.postal_code
        && a.address == b.address
        && a.phone == b.phone
        && a.external_ref == b.external_ref
}

fn ships_eq(a: &[NewShipTo], b: &[NewShipTo]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| ship_eq(x, y))
}

fn ship_json(s: &NewShipTo) -> serde_json::Value {
    json!({"name": s.name, "postal_code": s.postal_code, "address": s.address, "phone": s.phone, "basket_id": s.external_ref})
}

fn items_equal(db: &[donations::DonationItem], new: &[MappedItem]) -> bool {
    db.len() == new.len()
        && db.iter().zip(new).all(|(a, b)| {
            a.gift_code == b.code
                && a.name == b.name
                && a.quantity == b.quantity
                && a.amount == b.amount
        })
}

/// Brings the donation's ship-tos in line with the packages (matched by basketId, updated in
/// place); returns the ship-to id of each new package, in order.
async fn sync_ship_tos(
    ctx: &Ctx<'_>,
    tx: &mut Tx,
    donation_id: Uuid,
    db: &[donations::ShipTo],
    new: &[NewShipTo],
) -> DbResult<Vec<Uuid>> {
    let mut used = vec![false; db.len()];
    let mut ids = Vec::with_capacity(new.len());
    let mut next_seq = db.iter().map(|s| s.seq).max().unwrap_or(0) + 1;
    for (i, s) in new.iter().enumerate() {
        let found = db
            .iter()
            .enumerate()
            .position(|(j, d)| {
                !used[j] && !s.external_ref.is_empty() && d.external_ref == s.external_ref
            })
            .or_else(|| (i < db.len() && !used[i] && db[i].external_ref.is_empty()).then_some(i));
        match found {
            Some(j) => {
                used[j] = true;
                let d = &db[j];
                if d.name != s.name
                    || d.kana != s.kana
                    || d.postal_code != s.postal_code
                    || d.address != s.address
                    || d.phone != s.phone
                {
                    // (external_ref is the match key and already equal or empty)
                    intake_sync::update_ship_to(tx, ctx.tenant, d.id, s).await?;
                }
                ids.push(d.id);
            }
            None => {
                let id = new_id();
                insert_chunked(
                    tx,
                    "ship_tos",
                    &donations::SHIP_TO_INSERT_COLUMNS,
                    vec![donations::ship_to_insert_row(
                        id,
                        ctx.tenant,
                        donation_id,
                        next_seq,
                        s,
                    )],
                    "",
                )
                .await?;
                next_seq += 1;
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

/// Brings the gift lines in line with the order (by line number; lines already equal are left
/// alone), then deletes the ship-tos of packages that are gone. Returns whether a line changed.
async fn sync_items(
    ctx: &Ctx<'_>,
    tx: &mut Tx,
    donation_id: Uuid,
    db: &[donations::DonationItem],
    new: &[MappedItem],
    ship_ids: &[Uuid],
    out: &mut GroupOutcome,
) -> DbResult<bool> {
    let mut changed = false;
    for (i, it) in new.iter().enumerate() {
        let item = item_of(ctx, it, ship_ids.get(it.package).copied(), out);
        match db.get(i) {
            Some(d) => {
                let same = d.gift_code == item.gift_code
                    && d.name == item.name
                    && d.quantity == item.quantity
                    && d.amount == item.amount
                    && d.ship_to_id == item.ship_to_id
                    && d.gift_id == item.gift_id;
                if !same {
                    intake_sync::update_item(tx, ctx.tenant, d.id, &item).await?;
                    changed = true;
                }
            }
            None => {
                insert_chunked(
                    tx,
                    "donation_items",
                    &donations::ITEM_INSERT_COLUMNS,
                    vec![donations::item_insert_row(
                        ctx.tenant,
                        donation_id,
                        i as i64 + 1,
                        &item,
                    )],
                    "",
                )
                .await?;
                changed = true;
            }
        }
    }
    for d in db.iter().skip(new.len()) {
        intake_sync::delete_item(tx, ctx.tenant, d.id).await?;
        changed = true;
    }
    // Ship-tos of removed packages (no line points at them any more).
    for s in intake_sync::ship_tos_of(tx, ctx.tenant, &[donation_id])
        .await?
        .remove(&donation_id)
        .unwrap_or_default()
    {
        if !ship_ids.contains(&s.id) {
            intake_sync::delete_ship_to(tx, ctx.tenant, s.id).await?;
        }
    }
    Ok(changed)
}
