//! Source records: every version of every record received from outside (楽天 order JSON, a CSV
//! row), kept compressed as evidence. A record whose bytes did not change is not stored again.

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::args::Arg;
use crate::{Db, DbError, DbResult, MunicipalityId, Tx, new_id, with_db, with_tx};

/// A record to keep.
#[derive(Clone, Debug)]
pub struct NewSourceRecord<'a> {
    /// `rakuten`, `csv:choice`, `csv:redhorse`, `csv:<profile>`, `manual`
    pub source: &'a str,
    pub external_id: &'a str,
    pub raw: &'a [u8],
    pub donation_id: Option<Uuid>,
    pub donor_id: Option<Uuid>,
    pub import_id: Option<Uuid>,
    pub sync_run_id: Option<Uuid>,
    pub received_at: OffsetDateTime,
}

/// What [`put`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// First time this record was seen: version 1.
    New,
    /// The record changed: stored as this new version.
    Changed { version: i64 },
    /// Same bytes as the latest version: nothing stored.
    Unchanged,
}

pub fn content_hash(raw: &[u8]) -> Vec<u8> {
    Sha256::digest(raw).to_vec()
}

/// A preset dictionary for deflate: bytes the compressor may refer back to as if they had come
/// before the record. Records of one kind share most of their text (an RMS order repeats some
/// sixty key names in every version), which a record of a few KB, compressed alone, cannot
/// exploit. Stored as `source_records.raw_dictionary`, so that every record names the bytes it
/// needs to be read back: a dictionary is never changed once released; another layout gets a
/// new id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dictionary {
    /// Plain deflate (CSV rows; every record written before dictionaries).
    None,
    /// The key layout of an RMS getOrder `OrderModel` (version 7) with every value blanked: key
    /// names only, no personal data. 楽天 order JSON deflates to about half the size with it
    /// (4.1 KB of JSON: 1.83 KB plain, 1.0 KB with the dictionary).
    RakutenOrder1,
    /// A ふるさとチョイス donor export row as stored by a CSV import (`[[header, value], …]`): the
    /// layout's headers, each with an empty value. A row of 850 bytes of JSON deflates to some
    /// 410 bytes with it instead of 640, and no slower.
    ChoiceRow1,
    /// The same for the レッドホース layout.
    RedhorseRow1,
}

impl Dictionary {
    /// Every dictionary.
    pub const ALL: [Dictionary; 4] = [
        Self::None,
        Self::RakutenOrder1,
        Self::ChoiceRow1,
        Self::RedhorseRow1,
    ];

    /// The dictionary that records of `source` are written with.
    pub fn for_source(source: &str) -> Self {
        match source {
            "rakuten" => Self::RakutenOrder1,
            "csv:choice" => Self::ChoiceRow1,
            "csv:redhorse" => Self::RedhorseRow1,
            _ => Self::None,
        }
    }

    /// The value of `source_records.raw_dictionary`.
    pub fn id(self) -> i64 {
        match self {
            Self::None => 0,
            Self::RakutenOrder1 => 1,
            Self::ChoiceRow1 => 2,
            Self::RedhorseRow1 => 3,
        }
    }

    pub fn from_id(id: i64) -> DbResult<Self> {
        match id {
            0 => Ok(Self::None),
            1 => Ok(Self::RakutenOrder1),
            2 => Ok(Self::ChoiceRow1),
            3 => Ok(Self::RedhorseRow1),
            _ => Err(DbError::Corrupt(format!(
                "source record names an unknown compression dictionary {id}"
            ))),
        }
    }

    fn bytes(self) -> Option<&'static [u8]> {
        match self {
            Self::None => None,
            Self::RakutenOrder1 => Some(include_bytes!("../dictionaries/rakuten-order-1.json")),
            Self::ChoiceRow1 => Some(include_bytes!("../dictionaries/choice-row-1.json")),
            Self::RedhorseRow1 => Some(include_bytes!("../dictionaries/redhorse-row-1.json")),
        }
    }
}

/// Deflates a raw record (fast level) without a dictionary.
pub fn compress(raw: &[u8]) -> Vec<u8> {
    compress_with(raw, Dictionary::None)
}

/// Deflates a raw record (fast level) with `dict`. The compressor state (some 300 KB, zeroed on
/// creation) is kept per thread and reset between records: creating one per record cost more
/// than the compression itself on million-row imports.
pub fn compress_with(raw: &[u8], dict: Dictionary) -> Vec<u8> {
    thread_local! {
        static DEFLATE: std::cell::RefCell<flate2::Compress> =
            std::cell::RefCell::new(flate2::Compress::new(flate2::Compression::fast(), false));
    }
    DEFLATE.with_borrow_mut(|c| {
        c.reset();
        // A reset forgets the dictionary; setting it again hashes its 3 KB.
        if let Some(d) = dict.bytes()
            && c.set_dictionary(d).is_err()
        {
            return compress_fresh(raw, dict);
        }
        deflate(c, raw).unwrap_or_else(|_| compress_fresh(raw, dict))
    })
}

/// Runs `c` over all of `raw` to the end of the stream.
fn deflate(c: &mut flate2::Compress, raw: &[u8]) -> Result<Vec<u8>, flate2::CompressError> {
    let mut out = Vec::with_capacity(raw.len() / 2 + 64);
    loop {
        let consumed = c.total_in() as usize;
        match c.compress_vec(&raw[consumed..], &mut out, flate2::FlushCompress::Finish)? {
            flate2::Status::StreamEnd => return Ok(out),
            // The output buffer is full: make room and go on.
            _ => out.reserve(out.capacity().max(64)),
        }
    }
}

fn compress_fresh(raw: &[u8], dict: Dictionary) -> Vec<u8> {
    let mut c = flate2::Compress::new(flate2::Compression::fast(), false);
    if let Some(d) = dict.bytes() {
        // Setting a dictionary on a new stream does not fail.
        let _ = c.set_dictionary(d);
    }
    // Deflating into memory does not fail.
    deflate(&mut c, raw).unwrap_or_default()
}

/// Inflates a record stored without a dictionary.
pub fn decompress(stored: &[u8]) -> DbResult<Vec<u8>> {
    decompress_with(stored, Dictionary::None)
}

/// Inflates a stored row: its `raw_deflate` with the dictionary its `raw_dictionary` names.
pub fn decompress_stored(raw_deflate: &[u8], raw_dictionary: i64) -> DbResult<Vec<u8>> {
    decompress_with(raw_deflate, Dictionary::from_id(raw_dictionary)?)
}

/// Inflates a record stored with `dict`.
pub fn decompress_with(stored: &[u8], dict: Dictionary) -> DbResult<Vec<u8>> {
    let corrupt = |e: &dyn std::fmt::Display| {
        DbError::Corrupt(format!("source record does not decompress: {e}"))
    };
    let mut d = flate2::Decompress::new(false);
    if let Some(bytes) = dict.bytes() {
        d.set_dictionary(bytes).map_err(|e| corrupt(&e))?;
    }
    let mut out = Vec::with_capacity(stored.len() * 4 + 64);
    loop {
        let consumed = d.total_in() as usize;
        let before = d.total_out();
        match d
            .decompress_vec(
                &stored[consumed..],
                &mut out,
                flate2::FlushDecompress::Finish,
            )
            .map_err(|e| corrupt(&e))?
        {
            flate2::Status::StreamEnd => return Ok(out),
            _ if out.len() == out.capacity() => out.reserve(out.capacity().max(1024)),
            // No progress with room left: the stream ends early.
            _ if d.total_out() == before && d.total_in() as usize == consumed => {
                return Err(corrupt(&"the stream is cut short"));
            }
            _ => {}
        }
    }
}

/// The latest (version, hash) of a record, if any.
pub async fn latest(
    tx: &mut Tx,
    tenant: MunicipalityId,
    source: &str,
    external_id: &str,
) -> DbResult<Option<(i64, Vec<u8>)>> {
    const SQL: &str = "SELECT version, content_hash FROM source_records WHERE municipality_id = $1 AND source = $2 \
        AND external_id = $3 ORDER BY version DESC LIMIT 1";
    Ok(with_tx!(tx, |conn| sqlx::query_as::<_, (i64, Vec<u8>)>(
        SQL
    )
    .bind(tenant.0)
    .bind(source)
    .bind(external_id)
    .fetch_optional(conn)
    .await?))
}

/// The latest version number of each of `external_ids` that has any stored version (for bulk
/// writers that would otherwise start at version 1: an order whose raw JSON was kept while it
/// could not be mapped continues from there).
pub async fn latest_versions(
    tx: &mut Tx,
    tenant: MunicipalityId,
    source: &str,
    external_ids: &[String],
) -> DbResult<std::collections::HashMap<String, i64>> {
    let mut out = std::collections::HashMap::new();
    for chunk in external_ids.chunks(500) {
        let mut args = crate::args::Args::new();
        let t = args.uuid(tenant.0);
        let s = args.text(source);
        let list = chunk
            .iter()
            .map(|id| args.text(id.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT external_id, MAX(version) FROM source_records WHERE municipality_id = {t} \
             AND source = {s} AND external_id IN ({list}) GROUP BY external_id"
        );
        let rows: Vec<(String, i64)> = with_tx!(tx, |conn| crate::bind_args!(
            sqlx::query_as(sqlx::AssertSqlSafe(sql)),
            args
        )
        .fetch_all(conn)
        .await?);
        out.extend(rows);
    }
    Ok(out)
}

/// Column list for bulk inserts matching [`insert_row`].
pub const INSERT_COLUMNS: [&str; 13] = [
    "id",
    "municipality_id",
    "source",
    "external_id",
    "version",
    "content_hash",
    "raw_deflate",
    "raw_dictionary",
    "donation_id",
    "donor_id",
    "import_id",
    "sync_run_id",
    "received_at",
];

/// The bound values of one row (for bulk loads that already know the version).
pub fn insert_row(
    tenant: MunicipalityId,
    r: &NewSourceRecord<'_>,
    version: i64,
    hash: Vec<u8>,
) -> Vec<Arg> {
    let dict = Dictionary::for_source(r.source);
    vec![
        Arg::Uuid(new_id()),
        Arg::Uuid(tenant.0),
        Arg::Text(r.source.to_string()),
        Arg::Text(r.external_id.to_string()),
        Arg::Int(version),
        Arg::Bytes(hash),
        Arg::Bytes(compress_with(r.raw, dict)),
        Arg::Int(dict.id()),
        Arg::OptUuid(r.donation_id),
        Arg::OptUuid(r.donor_id),
        Arg::OptUuid(r.import_id),
        Arg::OptUuid(r.sync_run_id),
        Arg::Timestamp(r.received_at),
    ]
}

/// Stores the record as a new version unless its bytes equal the latest version.
pub async fn put(
    tx: &mut Tx,
    tenant: MunicipalityId,
    r: &NewSourceRecord<'_>,
) -> DbResult<PutOutcome> {
    let hash = content_hash(r.raw);
    let (version, outcome) = match latest(tx, tenant, r.source, r.external_id).await? {
        Some((_, h)) if h == hash => return Ok(PutOutcome::Unchanged),
        Some((v, _)) => (v + 1, PutOutcome::Changed { version: v + 1 }),
        None => (1, PutOutcome::New),
    };
    crate::dialect::bulk_insert(
        tx,
        "source_records",
        &INSERT_COLUMNS,
        vec![insert_row(tenant, r, version, hash)],
        "",
    )
    .await?;
    Ok(outcome)
}

/// A stored version, decompressed.
#[derive(Clone, Debug, Serialize)]
pub struct SourceRecord {
    pub id: Uuid,
    pub source: String,
    pub external_id: String,
    pub version: i64,
    pub raw: String,
    pub donation_id: Option<Uuid>,
    pub donor_id: Option<Uuid>,
    pub import_id: Option<Uuid>,
    pub sync_run_id: Option<Uuid>,
    pub received_at: OffsetDateTime,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    source: String,
    external_id: String,
    version: i64,
    raw_deflate: Vec<u8>,
    raw_dictionary: i64,
    donation_id: Option<Uuid>,
    donor_id: Option<Uuid>,
    import_id: Option<Uuid>,
    sync_run_id: Option<Uuid>,
    received_at: OffsetDateTime,
}

impl Row {
    fn into_record(self) -> DbResult<SourceRecord> {
        let raw = decompress_stored(&self.raw_deflate, self.raw_dictionary)?;
        Ok(SourceRecord {
            id: self.id,
            source: self.source,
            external_id: self.external_id,
            version: self.version,
            raw: String::from_utf8_lossy(&raw).into_owned(),
            donation_id: self.donation_id,
            donor_id: self.donor_id,
            import_id: self.import_id,
            sync_run_id: self.sync_run_id,
            received_at: self.received_at,
        })
    }
}

const COLUMNS: &str = "id, source, external_id, version, raw_deflate, raw_dictionary, donation_id, donor_id, import_id, sync_run_id, received_at";

/// Every version received for a donation, oldest first.
pub async fn for_donation(
    db: &Db,
    tenant: MunicipalityId,
    donation_id: Uuid,
) -> DbResult<Vec<SourceRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM source_records WHERE municipality_id = $1 AND donation_id = $2 ORDER BY source, external_id, version"
    );
    let rows = with_db!(db, |pool| sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(
        sql
    ))
    .bind(tenant.0)
    .bind(donation_id)
    .fetch_all(pool)
    .await?);
    rows.into_iter().map(Row::into_record).collect()
}

/// Every version of one external record, oldest first.
pub async fn versions(
    db: &Db,
    tenant: MunicipalityId,
    source: &str,
    external_id: &str,
) -> DbResult<Vec<SourceRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM source_records WHERE municipality_id = $1 AND source = $2 AND external_id = $3 ORDER BY version"
    );
    let rows = with_db!(db, |pool| sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(
        sql
    ))
    .bind(tenant.0)
    .bind(source)
    .bind(external_id)
    .fetch_all(pool)
    .await?);
    rows.into_iter().map(Row::into_record).collect()
}

/// Records a change of a donation (sync update, cancellation, manual correction) for its history.
pub async fn record_change(
    tx: &mut Tx,
    tenant: MunicipalityId,
    donation_id: Uuid,
    source: &str,
    actor: &str,
    summary: &str,
    fields: &serde_json::Value,
) -> DbResult<()> {
    crate::dialect::bulk_insert(
        tx,
        "donation_changes",
        &[
            "id",
            "municipality_id",
            "donation_id",
            "at",
            "source",
            "actor",
            "summary",
            "fields",
        ],
        vec![vec![
            Arg::Uuid(new_id()),
            Arg::Uuid(tenant.0),
            Arg::Uuid(donation_id),
            Arg::Timestamp(crate::now_utc()),
            Arg::Text(source.to_string()),
            Arg::Text(actor.to_string()),
            Arg::Text(summary.to_string()),
            Arg::Text(fields.to_string()),
        ]],
        "",
    )
    .await?;
    Ok(())
}

/// A change of a donation, for its history.
#[derive(Clone, Debug, sqlx::FromRow, Serialize)]
pub struct DonationChange {
    pub id: Uuid,
    pub at: OffsetDateTime,
    pub source: String,
    pub actor: String,
    pub summary: String,
    pub fields: String,
}

pub async fn changes(
    db: &Db,
    tenant: MunicipalityId,
    donation_id: Uuid,
) -> DbResult<Vec<DonationChange>> {
    const SQL: &str = "SELECT id, at, source, actor, summary, fields FROM donation_changes \
        WHERE municipality_id = $1 AND donation_id = $2 ORDER BY at";
    Ok(with_db!(db, |pool| sqlx::query_as::<_, DonationChange>(
        SQL
    )
    .bind(tenant.0)
    .bind(donation_id)
    .fetch_all(pool)
    .await?))
}

#[cfg(test)]
mod compress_tests {
    use super::*;

    #[test]
    fn records_round_trip_through_the_reused_compressor() {
        // Small, empty and large (several output-buffer growths) records, one after the other
        // on the same thread's compressor.
        let big: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i * 7919).to_le_bytes())
            .collect();
        let records: Vec<Vec<u8>> = vec![
            br#"[["name","test"]]"#.to_vec(),
            Vec::new(),
            big,
            "寄附者 試験 ①㈱髙﨑".repeat(50).into_bytes(),
        ];
        for dict in Dictionary::ALL {
            for r in &records {
                let packed = compress_with(r, dict);
                assert_eq!(&decompress_with(&packed, dict).unwrap(), r);
                assert_eq!(&decompress_with(&compress_fresh(r, dict), dict).unwrap(), r);
            }
        }
    }

    #[test]
    fn the_rakuten_dictionary_shrinks_an_order_and_is_needed_to_read_it() {
        let order = r#"{"ChangeReasonModelList":[],"OrdererModel":{"city":"試験市","emailAddress":"test@example.invalid","familyName":"試験","familyNameKana":"シケン","firstName":"太郎","firstNameKana":"タロウ","phoneNumber1":"000","phoneNumber2":"0000","phoneNumber3":"0000","prefecture":"宮城県","sex":"男","subAddress":"1-1","zipCode1":"980","zipCode2":"0000"},"PackageModelList":[{"ItemModelList":[{"itemName":"試験の品","itemNumber":"SD0001","manageNumber":"sd0001","price":10000,"priceTaxIncl":10000,"selectedChoice":null,"units":1}],"SenderModel":{"city":"試験市","familyName":"試験","firstName":"花子","prefecture":"宮城県","subAddress":"2-2","zipCode1":"980","zipCode2":"0001"},"basketId":1,"deliveryPrice":0,"goodsPrice":10000}],"orderNumber":"000000-20261127-0000000001","orderProgress":300,"orderDatetime":"2026-11-27T10:00:00+0900"}"#.as_bytes();
        let plain = compress(order);
        let with = compress_with(order, Dictionary::RakutenOrder1);
        assert!(
            with.len() * 10 < plain.len() * 8,
            "{} bytes with the dictionary against {} without",
            with.len(),
            plain.len()
        );
        assert_eq!(
            decompress_with(&with, Dictionary::RakutenOrder1).unwrap(),
            order
        );
        // Without its dictionary the record does not read back as itself.
        assert_ne!(decompress(&with).ok().as_deref(), Some(order));
        assert!(Dictionary::from_id(7).is_err());
        for d in Dictionary::ALL {
            assert_eq!(Dictionary::from_id(d.id()).unwrap(), d);
        }
    }

    #[test]
    fn the_csv_dictionaries_shrink_a_row_of_their_layout() {
        let row = r#"[["寄附者番号","CH-00000001"],["申込日","2026-01-05"],["入金日","2026-01-05"],["氏名","試験　太郎"],["フリガナ","シケン　タロウ"],["〒","980-0000"],["都道府県","宮城県"],["市区町村","試験市"],["町名・番地","試験町1-2-3"],["電話番号","000-0000-0000"],["E-mailアドレス","test@example.invalid"],["寄附金額","10,000"],["寄附金の払込方法","クレジットカード"],["チョイス決済状態","決済完了"],["公表","公表しない"],["返礼品1_コード","SD0001"],["返礼品1_名称","試験の品"],["ワンストップ特例_要望","希望する"],["ワンストップ特例_性別","男"],["ワンストップ特例_生年月日","1970-01-01"]]"#.as_bytes();
        let plain = compress(row);
        let with = compress_with(row, Dictionary::ChoiceRow1);
        assert!(
            with.len() * 10 < plain.len() * 7,
            "{} bytes with the dictionary against {} without",
            with.len(),
            plain.len()
        );
        assert_eq!(decompress_with(&with, Dictionary::ChoiceRow1).unwrap(), row);
        assert_eq!(Dictionary::for_source("csv:choice"), Dictionary::ChoiceRow1);
        assert_eq!(
            Dictionary::for_source("csv:redhorse"),
            Dictionary::RedhorseRow1
        );
        assert_eq!(Dictionary::for_source("csv:satofull"), Dictionary::None);
        // The dictionaries are JSON of the layout's headers with empty values.
        for d in [Dictionary::ChoiceRow1, Dictionary::RedhorseRow1] {
            let pairs: Vec<(String, String)> = serde_json::from_slice(d.bytes().unwrap()).unwrap();
            assert!(pairs.len() > 30 && pairs.iter().all(|(h, v)| !h.is_empty() && v.is_empty()));
        }
    }
}
