//! Compact in-memory order store of the mock.
//!
//! Per order it keeps the order number, the 注文日時 as a timestamp, the status, and either the
//! serialized JSON bytes (inserted orders) or a reference `(set, index)` into a generated set
//! whose JSON is rebuilt on demand. About 150 bytes per generated order.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::generate::GeneratorSpec;
use crate::rakuten::datetime::parse_rms_datetime;

/// Why an order could not be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The JSON is not an object with a string `orderNumber`.
    #[error("order JSON has no string orderNumber")]
    MissingOrderNumber,
    /// `orderDatetime` missing or not an RMS datetime.
    #[error("order {0}: orderDatetime missing or not YYYY-MM-DDThh:mm:ss+0900")]
    BadOrderDatetime(String),
    /// `orderProgress` missing or not a number.
    #[error("order {0}: orderProgress missing or not a number")]
    BadOrderProgress(String),
    /// `insert_order` with a number that already exists (use `upsert_order`).
    #[error("order {0} already exists")]
    Duplicate(String),
    /// No such order.
    #[error("order {0} not found")]
    NotFound(String),
}

enum Body {
    Generated { set: u32, index: u64 },
    Json(Box<[u8]>),
}

struct Slot {
    number: Arc<str>,
    ts: i64,
    progress: i32,
    body: Body,
}

/// The store. Not synchronised itself; the mock wraps it in a `RwLock`.
#[derive(Default)]
pub(crate) struct Store {
    sets: Vec<GeneratorSpec>,
    slots: Vec<Slot>,
    by_number: HashMap<Arc<str>, u32>,
    index: BTreeSet<(i64, u32)>,
}

struct Indexed {
    number: String,
    ts: i64,
    progress: i32,
}

fn index_fields(order: &Value) -> Result<Indexed, StoreError> {
    let number = order
        .get("orderNumber")
        .and_then(Value::as_str)
        .ok_or(StoreError::MissingOrderNumber)?
        .to_owned();
    let ts = order
        .get("orderDatetime")
        .and_then(Value::as_str)
        .and_then(|s| parse_rms_datetime(s).ok())
        .ok_or_else(|| StoreError::BadOrderDatetime(number.clone()))?
        .unix_timestamp();
    let progress = order
        .get("orderProgress")
        .and_then(Value::as_i64)
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| StoreError::BadOrderProgress(number.clone()))?;
    Ok(Indexed {
        number,
        ts,
        progress,
    })
}

impl Store {
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Inserts (or, with `replace`, replaces) an explicit order.
    pub(crate) fn put(&mut self, order: &Value, replace: bool) -> Result<bool, StoreError> {
        let f = index_fields(order)?;
        let bytes: Box<[u8]> = serde_json::to_vec(order)
            .expect("a serde_json::Value always serialises")
            .into_boxed_slice();
        if let Some(&slot) = self.by_number.get(f.number.as_str()) {
            if !replace {
                return Err(StoreError::Duplicate(f.number));
            }
            let s = &mut self.slots[slot as usize];
            self.index.remove(&(s.ts, slot));
            s.ts = f.ts;
            s.progress = f.progress;
            s.body = Body::Json(bytes);
            self.index.insert((f.ts, slot));
            return Ok(false);
        }
        let slot = u32::try_from(self.slots.len()).expect("fewer than 4 billion orders");
        let number: Arc<str> = f.number.into();
        self.slots.push(Slot {
            number: number.clone(),
            ts: f.ts,
            progress: f.progress,
            body: Body::Json(bytes),
        });
        self.by_number.insert(number, slot);
        self.index.insert((f.ts, slot));
        Ok(true)
    }

    /// Registers a generated set; returns how many orders were added (numbers that already
    /// exist are skipped).
    pub(crate) fn add_generated(&mut self, spec: GeneratorSpec) -> u64 {
        let set = u32::try_from(self.sets.len()).expect("few generated sets");
        let mut added = 0;
        self.slots.reserve(spec.n as usize);
        self.by_number.reserve(spec.n as usize);
        for i in 0..spec.n {
            let h = spec.header(i);
            if self.by_number.contains_key(h.order_number.as_str()) {
                continue;
            }
            let slot = u32::try_from(self.slots.len()).expect("fewer than 4 billion orders");
            let number: Arc<str> = h.order_number.into();
            let ts = h.order_datetime.unix_timestamp();
            self.slots.push(Slot {
                number: number.clone(),
                ts,
                progress: h.order_progress,
                body: Body::Generated { set, index: i },
            });
            self.by_number.insert(number, slot);
            self.index.insert((ts, slot));
            added += 1;
        }
        self.sets.push(spec);
        added
    }

    pub(crate) fn slot_of(&self, number: &str) -> Option<u32> {
        self.by_number.get(number).copied()
    }

    pub(crate) fn number(&self, slot: u32) -> &str {
        &self.slots[slot as usize].number
    }

    /// The order's JSON bytes.
    pub(crate) fn json_bytes(&self, slot: u32) -> Vec<u8> {
        match &self.slots[slot as usize].body {
            Body::Json(b) => b.to_vec(),
            Body::Generated { set, index } => {
                serde_json::to_vec(&self.sets[*set as usize].order(*index))
                    .expect("a serde_json::Value always serialises")
            }
        }
    }

    /// The order's JSON.
    pub(crate) fn value(&self, slot: u32) -> Value {
        match &self.slots[slot as usize].body {
            Body::Json(b) => serde_json::from_slice(b).expect("stored bytes are valid JSON"),
            Body::Generated { set, index } => self.sets[*set as usize].order(*index),
        }
    }

    /// Slots whose 注文日時 is in `[start_ts, end_ts]` and whose status is in `progress`
    /// (all when `None`), by 注文日時 (ties by insertion order), descending if asked.
    pub(crate) fn search(
        &self,
        start_ts: i64,
        end_ts: i64,
        progress: Option<&[i32]>,
        descending: bool,
    ) -> Vec<u32> {
        if start_ts > end_ts {
            return Vec::new();
        }
        let mut out: Vec<u32> = self
            .index
            .range((start_ts, 0)..=(end_ts, u32::MAX))
            .map(|(_, slot)| *slot)
            .filter(|slot| {
                progress.is_none_or(|p| p.contains(&self.slots[*slot as usize].progress))
            })
            .collect();
        if descending {
            out.reverse();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::date;

    fn order(n: &str, dt: &str, p: i32) -> Value {
        json!({"orderNumber": n, "orderDatetime": dt, "orderProgress": p, "x": "データ"})
    }

    #[test]
    fn insert_upsert_search() {
        let mut s = Store::default();
        assert!(
            s.put(&order("a", "2025-12-01T10:00:00+0900", 100), false)
                .unwrap()
        );
        assert!(
            s.put(&order("b", "2025-12-02T10:00:00+0900", 300), false)
                .unwrap()
        );
        assert_eq!(
            s.put(&order("a", "2025-12-01T10:00:00+0900", 100), false),
            Err(StoreError::Duplicate("a".into()))
        );
        let t0 = parse_rms_datetime("2025-12-01T00:00:00+0900")
            .unwrap()
            .unix_timestamp();
        let t1 = parse_rms_datetime("2025-12-31T00:00:00+0900")
            .unwrap()
            .unix_timestamp();
        let all: Vec<&str> = s
            .search(t0, t1, None, false)
            .iter()
            .map(|x| s.number(*x))
            .collect();
        assert_eq!(all, vec!["a", "b"]);
        // Upsert moves "a" after "b" and cancels it.
        assert!(
            !s.put(&order("a", "2025-12-03T10:00:00+0900", 900), true)
                .unwrap()
        );
        let all: Vec<&str> = s
            .search(t0, t1, None, false)
            .iter()
            .map(|x| s.number(*x))
            .collect();
        assert_eq!(all, vec!["b", "a"]);
        let c: Vec<&str> = s
            .search(t0, t1, Some(&[900]), true)
            .iter()
            .map(|x| s.number(*x))
            .collect();
        assert_eq!(c, vec!["a"]);
        assert_eq!(
            s.value(s.slot_of("a").unwrap())["orderProgress"],
            json!(900)
        );
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn bad_orders() {
        let mut s = Store::default();
        assert_eq!(
            s.put(&json!({}), false),
            Err(StoreError::MissingOrderNumber)
        );
        assert!(matches!(
            s.put(&order("a", "2025-12-01 10:00:00", 100), false),
            Err(StoreError::BadOrderDatetime(_))
        ));
    }

    #[test]
    fn generated_sets_are_lazy_and_searchable() {
        let mut s = Store::default();
        let spec = GeneratorSpec::new(500, 3, date!(2025 - 12 - 01), date!(2025 - 12 - 10), "9");
        let first = spec.order(0);
        assert_eq!(s.add_generated(spec.clone()), 500);
        assert_eq!(s.add_generated(spec), 0, "same numbers are skipped");
        let slot = s.slot_of(first["orderNumber"].as_str().unwrap()).unwrap();
        assert_eq!(s.value(slot), first);
        let hits = s.search(i64::MIN, i64::MAX, None, false);
        assert_eq!(hits.len(), 500);
    }
}
