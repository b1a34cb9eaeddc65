//! Edits that simulate what happens to a real order after it was first imported: a
//! cancellation, an orderer address change, an amount change. Apply them to an order's JSON and
//! store it again with [`super::MockRms::upsert_order`] (or use [`super::MockRms::update_order`]).

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::rakuten::datetime::format_rms_datetime;

fn next_change_id(order: &Value) -> i64 {
    order
        .get("ChangeReasonModelList")
        .and_then(Value::as_array)
        .and_then(|l| {
            l.iter()
                .filter_map(|c| c.get("changeId").and_then(Value::as_i64))
                .max()
        })
        .map(|m| m + 1)
        .unwrap_or(900_000_000)
}

fn push_change(order: &mut Value, change: Value) {
    let list = &mut order["ChangeReasonModelList"];
    if !list.is_array() {
        *list = json!([]);
    }
    if let Some(a) = list.as_array_mut() {
        a.push(change);
    }
}

/// Cancels the order at `at`: `orderProgress` 900, cancellation request + completion entries in
/// `ChangeReasonModelList` (お客様都合).
pub fn cancel(order: &mut Value, at: OffsetDateTime) {
    let t = format_rms_datetime(at);
    let id = next_change_id(order);
    order["orderProgress"] = json!(900);
    push_change(
        order,
        json!({"changeId": id, "changeType": 0, "changeTypeDetail": null, "changeReason": 1,
               "changeReasonDetail": 1, "changeApplyDatetime": t, "changeFixDatetime": null,
               "changeCmplDatetime": null}),
    );
    push_change(
        order,
        json!({"changeId": id + 1, "changeType": 2, "changeTypeDetail": null, "changeReason": 1,
               "changeReasonDetail": 1, "changeApplyDatetime": t, "changeFixDatetime": t,
               "changeCmplDatetime": t}),
    );
}

/// Moves the orderer (donor) to a new address; packages that went to the orderer
/// (`equalSenderFlag` 1) move too. Sets `modifyFlag` 1 as a buyer edit does.
pub fn change_orderer_address(
    order: &mut Value,
    zip: (&str, &str),
    prefecture: &str,
    city: &str,
    sub_address: &str,
) {
    let set = |m: &mut Value| {
        m["zipCode1"] = json!(zip.0);
        m["zipCode2"] = json!(zip.1);
        m["prefecture"] = json!(prefecture);
        m["city"] = json!(city);
        m["subAddress"] = json!(sub_address);
    };
    set(&mut order["OrdererModel"]);
    if order["equalSenderFlag"] == json!(1)
        && let Some(pkgs) = order["PackageModelList"].as_array_mut()
    {
        for p in pkgs {
            set(&mut p["SenderModel"]);
        }
    }
    order["modifyFlag"] = json!(1);
}

/// Changes the amount of a single-line order to `new_total` yen (unit price of the first item,
/// package and order totals), with a 変更完了 entry (減額/増額) at `at`.
pub fn change_amount(order: &mut Value, new_total: i64, at: OffsetDateTime) {
    let old = order["totalPrice"].as_i64().unwrap_or(0);
    let used_point = order["PointModel"]["usedPoint"].as_i64().unwrap_or(0);
    order["goodsPrice"] = json!(new_total);
    order["totalPrice"] = json!(new_total);
    order["requestPrice"] = json!((new_total - used_point).max(0));
    if let Some(p) = order["PackageModelList"]
        .as_array_mut()
        .and_then(|p| p.first_mut())
    {
        p["goodsPrice"] = json!(new_total);
        p["totalPrice"] = json!(new_total);
        if let Some(item) = p["ItemModelList"]
            .as_array_mut()
            .and_then(|i| i.first_mut())
        {
            let units = item["units"].as_i64().unwrap_or(1).max(1);
            item["price"] = json!(new_total / units);
            item["priceTaxIncl"] = json!(new_total / units);
        }
    }
    let t = format_rms_datetime(at);
    let id = next_change_id(order);
    let detail = if new_total < old { 0 } else { 1 };
    push_change(
        order,
        json!({"changeId": id, "changeType": 6, "changeTypeDetail": detail, "changeReason": 0,
               "changeReasonDetail": null, "changeApplyDatetime": t, "changeFixDatetime": t,
               "changeCmplDatetime": t}),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rakuten::mock::generate::GeneratorSpec;
    use crate::rakuten::model::{OrderModel, Price};
    use serde::Deserialize;
    use time::macros::{date, datetime};

    fn single_line_order() -> Value {
        let s = GeneratorSpec::new(200, 1, date!(2025 - 12 - 01), date!(2025 - 12 - 31), "1");
        (0..200)
            .map(|i| s.order(i))
            .find(|o| {
                o["orderProgress"] == json!(700)
                    && o["equalSenderFlag"] == json!(1)
                    && o["PackageModelList"][0]["ItemModelList"]
                        .as_array()
                        .is_some_and(|l| l.len() == 1)
            })
            .expect("some single-line shipped order")
    }

    #[test]
    fn cancellation() {
        let mut o = single_line_order();
        cancel(&mut o, datetime!(2026-01-05 10:00:00 +9));
        let m = OrderModel::deserialize(&o).unwrap();
        assert!(m.is_cancelled());
        let last = m.change_reasons.unwrap().pop().unwrap();
        assert_eq!(last.change_type, Some(2));
        assert_eq!(
            last.change_cmpl_datetime.as_deref(),
            Some("2026-01-05T10:00:00+0900")
        );
    }

    #[test]
    fn address_change_moves_the_package_too() {
        let mut o = single_line_order();
        change_orderer_address(
            &mut o,
            ("980", "0021"),
            "宮城県",
            "仙台市青葉区",
            "中央1-1-1",
        );
        let m = OrderModel::deserialize(&o).unwrap();
        assert_eq!(m.orderer.unwrap().sub_address.as_deref(), Some("中央1-1-1"));
        let p = &m.packages.unwrap()[0];
        assert_eq!(
            p.sender.as_ref().unwrap().zip_code2.as_deref(),
            Some("0021")
        );
        assert_eq!(m.modify_flag, Some(1));
    }

    #[test]
    fn amount_change() {
        let mut o = single_line_order();
        change_amount(&mut o, 3_000, datetime!(2026-01-05 10:00:00 +9));
        let m = OrderModel::deserialize(&o).unwrap();
        assert_eq!(m.total_price, Some(Price::Amount(3_000)));
        let last = m.change_reasons.unwrap().pop().unwrap();
        assert_eq!(
            (last.change_type, last.change_type_detail),
            (Some(6), Some(0))
        );
    }
}
