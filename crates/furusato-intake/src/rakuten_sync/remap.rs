//! Re-evaluation of synced donations when a text mapping is saved.
//!
//! Each synced order remembers the shop-defined texts that no mapping covered
//! (`portal_orders.unmapped`). When an operator maps one of them on `/intake/rakuten/mappings`,
//! the orders that had it are found by that key, their latest raw JSON is read back from
//! `source_records`, the texts are interpreted again with the current mappings, and the
//! donation's ワンストップ希望, 受領証明書希望, 返礼品辞退, 使い道 and 備考 are updated where they
//! differ — each with a `donation_changes` entry. With an empty key every synced order is
//! re-evaluated (after editing or deleting an existing mapping). It runs as a background job
//! ([`super::REMAP_JOB_KIND`]), in transactions of [`PAGE`] orders.

use furusato_db::args::Arg;
use furusato_db::audit::{self, AuditEntry};
use furusato_db::intake_sync::{self, PortalOrder};
use furusato_db::{Db, DbError, MunicipalityId, source_records};
use furusato_portals::rakuten::OrderModel;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::choices::{self, ChoiceOutcome, MappingTable};
use super::{PORTAL, SOURCE};

/// Orders per transaction.
pub const PAGE: i64 = 200;

/// What a re-evaluation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemapSummary {
    /// Orders looked at.
    pub examined: i64,
    /// Donations whose fields changed.
    pub updated: i64,
}

/// Re-evaluates the orders whose unmapped texts contain `key` (see
/// [`choices::mapping_key`]; empty = every synced order).
pub async fn reevaluate(
    db: &Db,
    tenant: MunicipalityId,
    key: &str,
    actor: &AuditEntry,
) -> Result<RemapSummary, DbError> {
    let table = super::mapping_table(db, tenant).await?;
    let mut summary = RemapSummary::default();
    let mut after = String::new();
    loop {
        let page = intake_sync::orders_with_unmapped(db, tenant, PORTAL, key, &after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.external_id.clone();
        summary.examined += page.len() as i64;
        summary.updated += reevaluate_page(db, tenant, &table, &page, actor).await?;
    }
    Ok(summary)
}

async fn reevaluate_page(
    db: &Db,
    tenant: MunicipalityId,
    table: &MappingTable,
    page: &[PortalOrder],
    actor: &AuditEntry,
) -> Result<i64, DbError> {
    let mut tx = db.begin().await?;
    let numbers: Vec<String> = page.iter().map(|p| p.external_id.clone()).collect();
    let donations = intake_sync::donations_by_external(&mut tx, tenant, PORTAL, &numbers).await?;
    let mut updated = 0;
    let mut ids = Vec::new();
    for po in page {
        let Some(raw) = intake_sync::latest_raw(&mut tx, tenant, SOURCE, &po.external_id).await?
        else {
            continue;
        };
        let Ok(order) = serde_json::from_slice::<OrderModel>(&raw) else {
            continue;
        };
        let Some(d) = donations.get(&po.external_id) else {
            continue;
        };
        let out: ChoiceOutcome = choices::interpret(&choices::order_lines(&order), table);
        let mut columns: Vec<(&'static str, Arg)> = Vec::new();
        let mut fields = serde_json::Map::new();
        let mut parts = Vec::new();
        if d.onestop_wanted != out.onestop_wanted {
            columns.push(("onestop_wanted", Arg::Bool(out.onestop_wanted)));
            fields.insert(
                "onestop_wanted".into(),
                json!([d.onestop_wanted, out.onestop_wanted]),
            );
            parts.push(format!(
                "ワンストップ希望 {}",
                if out.onestop_wanted {
                    "あり"
                } else {
                    "なし"
                }
            ));
        }
        if d.receipt_wanted != out.receipt_wanted {
            columns.push(("receipt_wanted", Arg::Bool(out.receipt_wanted)));
            fields.insert(
                "receipt_wanted".into(),
                json!([d.receipt_wanted, out.receipt_wanted]),
            );
            parts.push(format!(
                "受領証明書希望 {}",
                if out.receipt_wanted {
                    "あり"
                } else {
                    "なし"
                }
            ));
        }
        if d.gift_declined != out.gift_declined {
            columns.push(("gift_declined", Arg::Bool(out.gift_declined)));
            fields.insert(
                "gift_declined".into(),
                json!([d.gift_declined, out.gift_declined]),
            );
            parts.push(format!(
                "返礼品辞退 {}",
                if out.gift_declined {
                    "あり"
                } else {
                    "なし"
                }
            ));
        }
        if d.use_of_funds != out.use_of_funds {
            columns.push(("use_of_funds", Arg::Text(out.use_of_funds.clone())));
            fields.insert(
                "use_of_funds".into(),
                json!([d.use_of_funds, out.use_of_funds]),
            );
            parts.push(format!("使い道 {}", out.use_of_funds));
        }
        let note = out.note();
        if d.note != note {
            columns.push(("note", Arg::Text(note.clone())));
            fields.insert("note".into(), json!([d.note, note]));
            parts.push("備考を更新".to_string());
        }
        let unmapped = out.unmapped_keys();
        if unmapped != po.unmapped {
            intake_sync::set_unmapped(&mut tx, tenant, PORTAL, &po.external_id, &unmapped).await?;
            // Texts that lost their mapping (deleted) go back on the review list.
            let seen: Vec<intake_sync::UnmappedSeen> = out
                .unmapped
                .iter()
                .map(|l| intake_sync::UnmappedSeen {
                    source_field: l.field.to_string(),
                    heading: l.heading.clone(),
                    value: l.review_value(),
                    occurrences: 0,
                    example_external_id: po.external_id.clone(),
                })
                .collect();
            intake_sync::note_unmapped(&mut tx, tenant, PORTAL, &seen).await?;
        }
        if !columns.is_empty() {
            intake_sync::update_donation_columns(&mut tx, tenant, d.id, columns).await?;
            let summary = format!("文言の対応付けの変更により再評価: {}", parts.join("、"));
            source_records::record_change(
                &mut tx,
                tenant,
                d.id,
                "mapping",
                &actor.user_login,
                &summary,
                &serde_json::Value::Object(fields),
            )
            .await?;
            updated += 1;
            ids.push(d.id);
        }
    }
    if updated > 0 {
        let entry = AuditEntry {
            action: "rakuten_mapping.reevaluate".into(),
            ..actor.clone()
        }
        .target("municipality", tenant)
        .detail(json!({"portal": PORTAL, "updated": updated, "donation_ids": ids}));
        audit::append(&mut tx, &entry).await?;
    }
    tx.commit().await?;
    Ok(updated)
}
