//! The import pipeline shared by preview and commit.
//!
//! A blocking thread parses the file (furusato-portals' streaming parser), turns each row into
//! ledger values and hashes (and, when writing, compresses) its raw record; it hands batches of
//! [`BATCH`] rows to the async side through a bounded channel, so parsing overlaps the database
//! work and memory stays flat. The async side classifies each batch against the ledger with one
//! query per batch (existing donations by portal + external id, then the latest source record,
//! donor, gift lines and ship-tos of the existing ones) and, when committing, plans the batch
//! ([`plan_batch`]: donors, rows of new donations, lines, source records, changes) and writes it
//! ([`write_planned`]: multi-row inserts; updates one by one with a `donation_changes` record).
//!
//! A large run matches donors against a [`matching::Matcher`] in memory, so planning needs no
//! database: a batch is planned on a blocking thread while the one before it is written, and
//! SQLite's own thread, the parser and the planner keep both cores busy. A batch that changes
//! existing donations is written before the next is classified, so every row sees the ledger as
//! a row-by-row reading would.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use furusato_db::args::Arg;
use furusato_db::dialect::bulk_insert;
use furusato_db::donations::{self, Donation, DonationItem, NewDonation, NewDonationItem, ShipTo};
use furusato_db::donors::{self, Donor, NewDonor};
use furusato_db::imports::{self as store, DonationFields, Exec};
use furusato_db::{Db, DbResult, MunicipalityId, Tx, new_id, now_utc, source_records};
use furusato_domain::{Channel, PaymentMethod, Portal, jst, kana, normalize};
use furusato_portals::csv_import::{
    ImportError, ImportedDonation, ParseSummary, Profile, RowError, open_reader_with_encoding,
    parse_stream,
};
use serde::{Deserialize, Serialize};
use time::Date;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::convert::{self, GiftMaster, PORTAL_HEADERS, PlannedDonation};
use super::profile::{PortalRule, ResolvedProfile};
use crate::matching::{self, SourceRef};

/// Rows per batch (one round of queries and multi-row inserts).
pub(crate) const BATCH: usize = 2_000;

/// People handed to `matching::resolve_donors` at once when there is no matcher: a handful of
/// queries and multi-row inserts per call; its candidate look-ups bind every value as `$N`,
/// which SQLite resolves in quadratic time, so a batch is split in a few calls (250 measured as
/// good as any size). A matcher looks nothing up and takes the whole batch.
const RESOLVE_CHUNK: usize = 250;

/// A file of at least this many rows, and at least a tenth of the city's donors, is matched
/// against a [`matching::Matcher`] holding every donor (one read) instead of with look-up queries
/// per batch (which cost more, in total, than reading all donors once).
const MATCHER_MIN_ROWS: usize = 20_000;

/// The tables an import writes (their secondary indexes are rebuilt after an initial load).
const LOADED_TABLES: [&str; 6] = [
    "donors",
    "donor_sources",
    "donations",
    "donation_items",
    "ship_tos",
    "source_records",
];

/// Rows of a CSV file, roughly (line ends; a quoted line break counts one too many).
fn estimated_rows(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| **b == b'\n').count()
}

/// A row problem as stored with the import (`imports.errors`) and shown on screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRowError {
    /// 1-based line where the record starts (0 for notes about the file as a whole).
    pub line: usize,
    /// Header of the offending column, if one is to blame.
    #[serde(default)]
    pub column: Option<String>,
    /// Japanese message.
    pub message_ja: String,
    /// A note that did not stop the row from being imported (e.g. an unknown payment method
    /// imported as 「その他」).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub warning: bool,
}

impl StoredRowError {
    fn from_row_error(e: &RowError) -> StoredRowError {
        StoredRowError {
            line: e.line,
            column: e.column.clone(),
            message_ja: e.message_ja.clone(),
            warning: false,
        }
    }

    /// 「12行目、寄附金額: 寄附金額が正しくありません: abc」
    pub fn display_ja(&self) -> String {
        match &self.column {
            Some(c) => format!("{}行目、{c}: {}", self.line, self.message_ja),
            None => format!("{}行目: {}", self.line, self.message_ja),
        }
    }
}

/// A row ready for the database.
pub(crate) struct Prepared {
    pub plan: PlannedDonation,
    /// The raw record as JSON (`[[header, value], …]`, non-empty cells).
    pub raw_json: Vec<u8>,
    pub hash: Vec<u8>,
    /// `raw_json` deflated (only when writing).
    pub deflated: Option<Vec<u8>>,
    /// Payment method label as written (for the preview).
    pub method_label: String,
    /// The donor's matching keys (only when writing; normalising addresses is the costliest
    /// part of matching, so the parser thread does it).
    pub keys: Option<matching::MatchKeys>,
}

pub(crate) enum RowItem {
    Ok(Box<Prepared>),
    Err(StoredRowError),
}

/// What the parser thread returns.
pub(crate) struct ParseEnd {
    pub summary: Result<ParseSummary, ImportError>,
}

/// Options of a run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RunOptions {
    /// Compress raw records (needed when writing).
    pub compress: bool,
    /// The dictionary they are compressed with (the profile's, [`source_records::Dictionary::for_source`]).
    pub dictionary: source_records::Dictionary,
    /// Stop after this many data rows (preview samples); `None` reads the whole file.
    pub max_rows: Option<usize>,
}

/// Reads the header row of a file with the profile's rules (for checks before the full parse).
pub(crate) fn read_headers(profile: &Profile, bytes: &[u8]) -> Result<Vec<String>, ImportError> {
    let mut rows = open_reader_with_encoding(bytes, profile.forced_encoding())?;
    let header_row = profile.header_row();
    let mut saw_any = false;
    loop {
        match rows.read_row()? {
            None if !saw_any => return Err(ImportError::Empty),
            None => return Err(ImportError::NoHeader { header_row }),
            Some(row) => {
                saw_any = true;
                if row.line >= header_row && !row.is_blank() {
                    return Ok(row
                        .iter()
                        .map(|h| h.trim().trim_start_matches('\u{FEFF}').to_string())
                        .collect());
                }
            }
        }
    }
}

/// Which column holds the per-row portal, if the rule reads one.
pub(crate) fn portal_column(rule: &PortalRule, headers: &[String]) -> Option<usize> {
    match rule {
        PortalRule::Fixed(_) => None,
        PortalRule::FromColumn { .. } => PORTAL_HEADERS
            .iter()
            .find_map(|name| headers.iter().position(|h| h == name)),
    }
}

/// A reader that reports end-of-file once `stop` is set (to end a preview parse early).
struct StopReader<'a> {
    inner: &'a [u8],
    stop: Arc<AtomicBool>,
}

impl Read for StopReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Ok(0);
        }
        // Small reads so that a stop takes effect soon.
        let n = buf.len().min(64 * 1024);
        self.inner.read(&mut buf[..n])
    }
}

/// The raw record as compact JSON: `[[header, value], …]` for the non-empty cells.
fn raw_json(d: &ImportedDonation) -> Vec<u8> {
    let pairs: Vec<(&str, &str)> = d.raw.iter().filter(|(_, v)| !v.trim().is_empty()).collect();
    serde_json::to_vec(&pairs).unwrap_or_default()
}

/// Starts the parser thread. Rows arrive in batches on the returned channel.
pub(crate) fn spawn_parser(
    profile: ResolvedProfile,
    bytes: Arc<Vec<u8>>,
    gifts: Arc<GiftMaster>,
    portal_col: Option<usize>,
    opts: RunOptions,
) -> (
    mpsc::Receiver<Vec<RowItem>>,
    tokio::task::JoinHandle<ParseEnd>,
) {
    let (tx, rx) = mpsc::channel::<Vec<RowItem>>(4);
    let handle = tokio::task::spawn_blocking(move || {
        let stop = Arc::new(AtomicBool::new(false));
        let reader = StopReader {
            inner: &bytes[..],
            stop: stop.clone(),
        };
        let mut batch: Vec<RowItem> = Vec::with_capacity(BATCH);
        let mut seen = 0usize;
        let default_portal = match &profile.portal {
            PortalRule::Fixed(p) => Some(*p),
            PortalRule::FromColumn { default } => *default,
        };
        let summary = parse_stream(&profile.profile, reader, |row| {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            seen += 1;
            let item = match row {
                Err(e) => RowItem::Err(StoredRowError::from_row_error(&e)),
                Ok(d) => prepare(&d, portal_col, default_portal, &gifts, opts),
            };
            batch.push(item);
            if batch.len() >= BATCH && tx.blocking_send(std::mem::take(&mut batch)).is_err() {
                // The receiver is gone (an error on the database side): stop reading.
                stop.store(true, Ordering::Relaxed);
            }
            if opts.max_rows.is_some_and(|m| seen >= m) {
                stop.store(true, Ordering::Relaxed);
            }
        });
        if !batch.is_empty() {
            let _ = tx.blocking_send(batch);
        }
        ParseEnd { summary }
    });
    (rx, handle)
}

fn prepare(
    d: &ImportedDonation,
    portal_col: Option<usize>,
    default_portal: Option<Portal>,
    gifts: &GiftMaster,
    opts: RunOptions,
) -> RowItem {
    let compress = opts.compress;
    let portal = match portal_col
        .and_then(|i| d.raw.value(i))
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        Some(label) => match convert::portal_from_label(label) {
            Some(p) => p,
            None => {
                let column = portal_col
                    .and_then(|i| d.raw.iter().nth(i))
                    .map(|(h, _)| h.to_string());
                return RowItem::Err(StoredRowError {
                    line: d.line,
                    column,
                    message_ja: format!("ポータル「{label}」を判別できません"),
                    warning: false,
                });
            }
        },
        None => match default_portal {
            Some(p) => p,
            None => {
                return RowItem::Err(StoredRowError {
                    line: d.line,
                    column: portal_col
                        .and_then(|i| d.raw.iter().nth(i))
                        .map(|(h, _)| h.to_string()),
                    message_ja: "ポータルが記載されていません".into(),
                    warning: false,
                });
            }
        },
    };
    let plan = convert::plan(d, portal, gifts);
    let keys = compress.then(|| matching::MatchKeys::of_new(&plan.donor));
    let raw_json = raw_json(d);
    let hash = source_records::content_hash(&raw_json);
    let deflated = compress.then(|| source_records::compress_with(&raw_json, opts.dictionary));
    RowItem::Ok(Box::new(Prepared {
        plan,
        raw_json,
        hash,
        deflated,
        method_label: d.payment_method.clone().unwrap_or_default(),
        keys,
    }))
}

// ---------------------------------------------------------------------------------------------
// Classification

/// What happens to one row.
pub(crate) enum Action {
    /// A new donation.
    Create,
    /// The donation exists and changes.
    Update(Box<Update>),
    /// The donation exists and nothing we keep changed. `new_version` = (version, donation id,
    /// donor id) when the raw record differs from the last one kept (a column we do not use
    /// changed): the new version is kept as evidence.
    Unchanged {
        new_version: Option<(i64, Uuid, Uuid)>,
    },
    /// The donation exists but was registered through another route (sync, another profile,
    /// by hand): left as it is.
    OtherSource,
}

/// The changes of an existing donation.
pub(crate) struct Update {
    pub donation: Donation,
    pub fields: DonationFields,
    pub donor: Option<NewDonor>,
    pub replace_lines: bool,
    /// (field id, label, old, new) for the change record.
    pub changes: Vec<(&'static str, &'static str, String, String)>,
    pub new_version: i64,
}

pub(crate) struct Classified {
    pub prep: Box<Prepared>,
    pub action: Action,
}

/// Looks up the existing donations of a batch and decides what to do with each row.
// The rows arrive boxed from the parser thread and move into `Classified` as they are.
#[allow(clippy::vec_box)]
pub(crate) async fn classify(
    mut ex: Exec<'_>,
    tenant: MunicipalityId,
    source: &str,
    rows: Vec<Box<Prepared>>,
) -> DbResult<Vec<Classified>> {
    // Existing donations, one query per portal present in the batch.
    let mut by_portal: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
    for p in &rows {
        by_portal
            .entry(p.plan.portal.as_str())
            .or_default()
            .push(p.plan.external_id.as_str());
    }
    let mut existing: HashMap<(String, String), Donation> = HashMap::new();
    for (portal, ids) in &by_portal {
        let found = store::donations_by_external(reborrow(&mut ex), tenant, portal, ids).await?;
        for d in found {
            let key = (
                portal.to_string(),
                d.external_id.clone().unwrap_or_default(),
            );
            existing.insert(key, d);
        }
    }
    if existing.is_empty() {
        return Ok(rows
            .into_iter()
            .map(|prep| Classified {
                prep,
                action: Action::Create,
            })
            .collect());
    }
    let ext_ids: Vec<&str> = rows
        .iter()
        .filter(|p| {
            existing.contains_key(&(
                p.plan.portal.as_str().to_string(),
                p.plan.external_id.clone(),
            ))
        })
        .map(|p| p.plan.external_id.as_str())
        .collect();
    let hashes = store::latest_source_hashes(reborrow(&mut ex), tenant, source, &ext_ids).await?;
    // Details of the existing donations that may change.
    let to_compare: Vec<&Donation> = rows
        .iter()
        .filter_map(|p| {
            let d = existing.get(&(
                p.plan.portal.as_str().to_string(),
                p.plan.external_id.clone(),
            ))?;
            match hashes.get(&p.plan.external_id) {
                Some((_, h)) if *h != p.hash => Some(d),
                _ => None,
            }
        })
        .collect();
    let donation_ids: Vec<Uuid> = to_compare.iter().map(|d| d.id).collect();
    let donor_ids: Vec<Uuid> = to_compare.iter().map(|d| d.donor_id).collect();
    let (items, ship_tos, donors_found) = if donation_ids.is_empty() {
        (Vec::new(), Vec::new(), Vec::new())
    } else {
        (
            store::items_of(reborrow(&mut ex), tenant, &donation_ids).await?,
            store::ship_tos_of(reborrow(&mut ex), tenant, &donation_ids).await?,
            store::donors_by_ids(reborrow(&mut ex), tenant, &donor_ids).await?,
        )
    };
    let mut items_by: HashMap<Uuid, Vec<DonationItem>> = HashMap::new();
    for i in items {
        items_by.entry(i.donation_id).or_default().push(i);
    }
    let mut ship_by: HashMap<Uuid, Vec<ShipTo>> = HashMap::new();
    for s in ship_tos {
        ship_by.entry(s.donation_id).or_default().push(s);
    }
    let donors_by: HashMap<Uuid, Donor> = donors_found.into_iter().map(|d| (d.id, d)).collect();

    let mut out = Vec::with_capacity(rows.len());
    for prep in rows {
        let key = (
            prep.plan.portal.as_str().to_string(),
            prep.plan.external_id.clone(),
        );
        let action = match existing.remove(&key) {
            None => Action::Create,
            Some(d) => match hashes.get(&prep.plan.external_id) {
                None => Action::OtherSource,
                Some((_, h)) if *h == prep.hash => Action::Unchanged { new_version: None },
                Some((version, _)) => {
                    let items = items_by.get(&d.id).map(Vec::as_slice).unwrap_or_default();
                    let ships = ship_by.get(&d.id).map(Vec::as_slice).unwrap_or_default();
                    diff(&prep.plan, d, items, ships, *version + 1, &donors_by)
                }
            },
        };
        out.push(Classified { prep, action });
    }
    Ok(out)
}

fn reborrow<'b>(ex: &'b mut Exec<'_>) -> Exec<'b> {
    match ex {
        Exec::Db(db) => Exec::Db(db),
        Exec::Tx(tx) => Exec::Tx(tx),
    }
}

fn date_str(d: Option<Date>) -> String {
    d.map(jst::format_date_iso).unwrap_or_default()
}

fn yes_no(b: bool) -> String {
    if b {
        "はい".into()
    } else {
        "いいえ".into()
    }
}

/// The fields of a stored donation that an import may change.
fn fields_of(d: &Donation) -> DonationFields {
    DonationFields {
        amount: d.amount,
        donated_on: d.donated_on,
        received_on: d.received_on,
        payment_method: d.payment_method.clone(),
        payment_status: d.payment_status.clone(),
        use_of_funds: d.use_of_funds.clone(),
        onestop_wanted: d.onestop_wanted,
        gift_declined: d.gift_declined,
        note: d.note.clone(),
    }
}

/// Decides how an existing donation changes (see the module doc of `imports` for the rules).
fn diff(
    plan: &PlannedDonation,
    d: Donation,
    items: &[DonationItem],
    ships: &[ShipTo],
    new_version: i64,
    donors: &HashMap<Uuid, Donor>,
) -> Action {
    let mut changes: Vec<(&'static str, &'static str, String, String)> = Vec::new();
    let old = fields_of(&d);
    let new = merge_fields(&old, plan);
    if new.amount != old.amount {
        changes.push((
            "amount",
            "金額",
            old.amount.map(|a| a.to_string()).unwrap_or_default(),
            new.amount.map(|a| a.to_string()).unwrap_or_default(),
        ));
    }
    if new.donated_on != old.donated_on {
        changes.push((
            "donated_on",
            "寄附日",
            date_str(Some(old.donated_on)),
            date_str(Some(new.donated_on)),
        ));
    }
    if new.payment_status != old.payment_status {
        changes.push((
            "payment_status",
            "入金状況",
            old.payment_status.clone(),
            new.payment_status.clone(),
        ));
    }
    if new.received_on != old.received_on {
        changes.push((
            "received_on",
            "受領日",
            date_str(old.received_on),
            date_str(new.received_on),
        ));
    }
    if new.payment_method != old.payment_method {
        changes.push((
            "payment_method",
            "支払方法",
            old.payment_method.clone(),
            new.payment_method.clone(),
        ));
    }
    if new.use_of_funds != old.use_of_funds {
        changes.push((
            "use_of_funds",
            "使い道",
            old.use_of_funds.clone(),
            new.use_of_funds.clone(),
        ));
    }
    if new.onestop_wanted != old.onestop_wanted {
        changes.push((
            "onestop_wanted",
            "ワンストップ特例",
            yes_no(old.onestop_wanted),
            yes_no(new.onestop_wanted),
        ));
    }
    if new.gift_declined != old.gift_declined {
        changes.push((
            "gift_declined",
            "返礼品辞退",
            yes_no(old.gift_declined),
            yes_no(new.gift_declined),
        ));
    }
    if new.note != old.note {
        changes.push(("note", "備考", old.note.clone(), new.note.clone()));
    }
    let donor = donors
        .get(&d.donor_id)
        .and_then(|existing| merge_donor(existing, &plan.donor, &mut changes));
    let replace_lines =
        (!plan.items.is_empty() || !plan.ship_tos.is_empty()) && lines_differ(plan, items, ships);
    if replace_lines {
        changes.push((
            "lines",
            "返礼品・送付先",
            format!("{}件", items.len()),
            format!("{}件", plan.items.len()),
        ));
    }
    if changes.is_empty() {
        return Action::Unchanged {
            new_version: Some((new_version, d.id, d.donor_id)),
        };
    }
    Action::Update(Box::new(Update {
        donation: d,
        fields: new,
        donor,
        replace_lines,
        changes,
        new_version,
    }))
}

/// The donation's fields after the row is applied. A value the file does not give never erases
/// one the ledger has; payment decisions made by hand (返金済, 取消) stand; a paid donation never
/// goes back to unpaid through an import.
pub(crate) fn merge_fields(old: &DonationFields, plan: &PlannedDonation) -> DonationFields {
    let p = &plan.fields;
    let (payment_status, received_on) =
        match (old.payment_status.as_str(), p.payment_status.as_str()) {
            ("unpaid", _) => (p.payment_status.clone(), p.received_on),
            ("paid", "paid") => ("paid".to_string(), p.received_on.or(old.received_on)),
            _ => (old.payment_status.clone(), old.received_on),
        };
    DonationFields {
        amount: p.amount.or(old.amount),
        donated_on: p.donated_on,
        received_on,
        payment_method: if plan.method_given {
            p.payment_method.clone()
        } else {
            old.payment_method.clone()
        },
        payment_status,
        use_of_funds: if p.use_of_funds.is_empty() {
            old.use_of_funds.clone()
        } else {
            p.use_of_funds.clone()
        },
        onestop_wanted: plan.onestop_given.unwrap_or(old.onestop_wanted),
        gift_declined: if p.gift_declined || !plan.items.is_empty() {
            p.gift_declined
        } else {
            old.gift_declined
        },
        note: if p.note.is_empty() {
            old.note.clone()
        } else {
            p.note.clone()
        },
    }
}

/// The donor after the row is applied: fields the row gives (non-empty) replace the record's when
/// they differ beyond formatting. `None` when nothing changes.
fn merge_donor(
    existing: &Donor,
    new: &NewDonor,
    changes: &mut Vec<(&'static str, &'static str, String, String)>,
) -> Option<NewDonor> {
    let mut merged = NewDonor {
        family_name: existing.family_name.clone(),
        given_name: existing.given_name.clone(),
        family_kana: existing.family_kana.clone(),
        given_kana: existing.given_kana.clone(),
        postal_code: existing.postal_code.clone(),
        prefecture: existing.prefecture.clone(),
        city: existing.city.clone(),
        address1: existing.address1.clone(),
        address2: existing.address2.clone(),
        phone: existing.phone.clone(),
        email: existing.email.clone(),
        sex: existing.sex.clone(),
        birth_date: existing.birth_date,
    };
    let before = changes.len();
    let name_old = format!("{}{}", existing.family_name, existing.given_name);
    let name_new = format!("{}{}", new.family_name, new.given_name);
    if !new.family_name.is_empty()
        && normalize::normalize_name(&name_old) != normalize::normalize_name(&name_new)
    {
        changes.push((
            "donor_name",
            "寄附者氏名",
            format!("{} {}", existing.family_name, existing.given_name)
                .trim()
                .to_string(),
            format!("{} {}", new.family_name, new.given_name)
                .trim()
                .to_string(),
        ));
        merged.family_name = new.family_name.clone();
        merged.given_name = new.given_name.clone();
    }
    let kana_old = format!("{}{}", existing.family_kana, existing.given_kana);
    let kana_new = format!("{}{}", new.family_kana, new.given_kana);
    if !kana_new.is_empty() && kana::normalize_kana(&kana_old) != kana::normalize_kana(&kana_new) {
        changes.push((
            "donor_kana",
            "寄附者フリガナ",
            format!("{} {}", existing.family_kana, existing.given_kana)
                .trim()
                .to_string(),
            format!("{} {}", new.family_kana, new.given_kana)
                .trim()
                .to_string(),
        ));
        merged.family_kana = new.family_kana.clone();
        merged.given_kana = new.given_kana.clone();
    }
    if !new.postal_code.is_empty() && new.postal_code != existing.postal_code {
        changes.push((
            "donor_postal_code",
            "寄附者郵便番号",
            existing.postal_code.clone(),
            new.postal_code.clone(),
        ));
        merged.postal_code = new.postal_code.clone();
    }
    let addr_old = format!(
        "{}{}{}{}",
        existing.prefecture, existing.city, existing.address1, existing.address2
    );
    let addr_new = format!(
        "{}{}{}{}",
        new.prefecture, new.city, new.address1, new.address2
    );
    if !(new.prefecture.is_empty() && new.city.is_empty() && new.address1.is_empty())
        && normalize::normalize_address(&addr_old) != normalize::normalize_address(&addr_new)
    {
        changes.push(("donor_address", "寄附者住所", addr_old, addr_new));
        merged.prefecture = new.prefecture.clone();
        merged.city = new.city.clone();
        merged.address1 = new.address1.clone();
        merged.address2 = new.address2.clone();
    }
    if !new.phone.is_empty()
        && normalize::normalize_digits(&new.phone) != normalize::normalize_digits(&existing.phone)
    {
        changes.push((
            "donor_phone",
            "寄附者電話番号",
            existing.phone.clone(),
            new.phone.clone(),
        ));
        merged.phone = new.phone.clone();
    }
    if !new.email.is_empty() && new.email.trim() != existing.email.trim() {
        changes.push((
            "donor_email",
            "寄附者メールアドレス",
            existing.email.clone(),
            new.email.clone(),
        ));
        merged.email = new.email.clone();
    }
    if !new.sex.is_empty() && new.sex != existing.sex {
        changes.push((
            "donor_sex",
            "寄附者性別",
            existing.sex.clone(),
            new.sex.clone(),
        ));
        merged.sex = new.sex.clone();
    }
    if new.birth_date.is_some() && new.birth_date != existing.birth_date {
        changes.push((
            "donor_birth_date",
            "寄附者生年月日",
            date_str(existing.birth_date),
            date_str(new.birth_date),
        ));
        merged.birth_date = new.birth_date;
    }
    (changes.len() > before).then_some(merged)
}

fn lines_differ(plan: &PlannedDonation, items: &[DonationItem], ships: &[ShipTo]) -> bool {
    if items.len() != plan.items.len() || ships.len() != plan.ship_tos.len() {
        return true;
    }
    let seq_index = |id: Option<Uuid>| id.and_then(|id| ships.iter().position(|s| s.id == id));
    let items_same = items.iter().zip(&plan.items).all(|(a, b)| {
        a.gift_code == b.gift_code
            && a.name == b.name
            && a.quantity == b.quantity
            && seq_index(a.ship_to_id) == b.ship_to
    });
    let ships_same = ships.iter().zip(&plan.ship_tos).all(|(a, b)| {
        a.name == b.name
            && a.kana == b.kana
            && a.postal_code == b.postal_code
            && a.address == b.address
            && a.phone == b.phone
    });
    !(items_same && ships_same)
}

// ---------------------------------------------------------------------------------------------
// The run loop

/// Row counts of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Data records of the file (= ok + errors).
    pub rows_total: usize,
    /// Rows that can be imported.
    pub rows_ok: usize,
    /// Rows rejected with an error (not imported).
    pub rows_error: usize,
    /// New donations.
    pub created: usize,
    /// Existing donations that change.
    pub updated: usize,
    /// Existing donations that stay as they are (including [`Counts::other_source`]).
    pub unchanged: usize,
    /// Of `unchanged`: donations registered through another route (sync, another profile, by
    /// hand), left untouched.
    pub other_source: usize,
}

/// One row shown in a preview.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    pub line: usize,
    pub external_id: String,
    pub portal: &'static str,
    pub donated_on: Date,
    pub received_on: Option<Date>,
    pub donor_name: String,
    pub amount: i64,
    /// Label as written and what it is stored as.
    pub payment_method: String,
    /// 新規 / 更新
    pub action: &'static str,
    /// Labels of the fields that change (updates).
    pub changes: Vec<String>,
}

/// What a run produced.
pub(crate) struct RunOutput {
    pub summary: ParseSummary,
    pub counts: Counts,
    pub errors: Vec<StoredRowError>,
    pub warnings: Vec<StoredRowError>,
    pub samples: Vec<Sample>,
}

/// Whether a run only looks or writes.
pub(crate) enum Mode<'a> {
    /// Classify only (reads through the pool); keep up to `samples` sample rows.
    Preview { db: &'a Db, samples: usize },
    /// Classify and write inside `tx`.
    Write {
        tx: &'a mut Tx,
        import_id: Uuid,
        actor: &'a str,
    },
}

#[derive(Default)]
struct Warnings {
    methods: BTreeMap<String, (usize, usize)>,
    gift_codes: BTreeMap<String, (usize, usize)>,
}

impl Warnings {
    fn note(&mut self, p: &PlannedDonation) {
        if let Some(m) = &p.unknown_method {
            let e = self.methods.entry(m.clone()).or_insert((p.line, 0));
            e.1 += 1;
        }
        for c in &p.unknown_gift_codes {
            let e = self.gift_codes.entry(c.clone()).or_insert((p.line, 0));
            e.1 += 1;
        }
    }

    fn into_list(self) -> Vec<StoredRowError> {
        let mut out: Vec<StoredRowError> = self
            .methods
            .into_iter()
            .map(|(label, (line, n))| StoredRowError {
                line,
                column: None,
                message_ja: format!(
                    "支払方法「{label}」を判別できないため「その他」として取り込みます（{n}件）"
                ),
                warning: true,
            })
            .collect();
        out.extend(self.gift_codes.into_iter().map(|(code, (line, n))| StoredRowError {
            line,
            column: None,
            message_ja: format!("返礼品コード「{code}」は返礼品マスタにないため、コードと名称のまま取り込みます（{n}件）"),
            warning: true,
        }));
        out.sort_by_key(|w| w.line);
        out
    }
}

/// Parses `bytes` with `profile` and classifies (and in [`Mode::Write`], writes) every row.
pub(crate) async fn run(
    mut mode: Mode<'_>,
    tenant: MunicipalityId,
    profile: &ResolvedProfile,
    bytes: Arc<Vec<u8>>,
    gifts: Arc<GiftMaster>,
    max_rows: Option<usize>,
) -> Result<RunOutput, super::ImportFailure> {
    let t_setup = std::time::Instant::now();
    let headers = read_headers(&profile.profile, &bytes)?;
    let portal_col = portal_column(&profile.portal, &headers);
    if matches!(profile.portal, PortalRule::FromColumn { default: None }) && portal_col.is_none() {
        return Err(super::ImportFailure::PortalRequired);
    }
    let writing = matches!(mode, Mode::Write { .. });
    let source = profile.source();
    let opts = RunOptions {
        compress: writing,
        dictionary: source_records::Dictionary::for_source(&source),
        max_rows,
    };
    let rows = if writing { estimated_rows(&bytes) } else { 0 };
    let mut matcher = match &mut mode {
        Mode::Write { tx, .. } if rows >= MATCHER_MIN_ROWS => {
            let donors = furusato_db::donors::count_in(tx, tenant).await?;
            if rows as i64 * 10 >= donors {
                Some(matching::Matcher::load(tx, tenant).await?)
            } else {
                None
            }
        }
        _ => None,
    };
    // An initial load (the file at least doubles the ledger, e.g. the previous contractor's
    // data): on SQLite the secondary indexes are built once at the end instead of row by row.
    let mut rebuild = Vec::new();
    if let (Some(_), Mode::Write { tx, .. }) = (&matcher, &mut mode)
        && tx.backend() == furusato_db::Backend::Sqlite
        && rows as i64 >= furusato_db::dialect::table_rows(tx, "donations").await?
    {
        rebuild = furusato_db::dialect::drop_secondary_indexes_in(tx, &LOADED_TABLES).await?;
    }
    let t_setup = t_setup.elapsed();
    let (mut rx, handle) = spawn_parser(profile.clone(), bytes, gifts, portal_col, opts);
    let mut counts = Counts::default();
    let mut errors = Vec::new();
    let mut warnings = Warnings::default();
    let mut samples = Vec::new();
    let ctx = match &mode {
        Mode::Write { import_id, .. } => Some(Arc::new(PlanContext {
            tenant,
            import_id: *import_id,
            source: source.clone(),
            label: profile.label_ja.clone(),
        })),
        Mode::Preview { .. } => None,
    };
    // With a matcher, a batch is planned on a blocking thread while the one before it is written
    // (the database works on its own thread meanwhile); `pending` is the planned batch not yet
    // written.
    let mut pending: Option<PlannedBatch> = None;
    // Where the time goes (logged at debug level at the end): waiting for the parser, looking up
    // existing donations, writing, planning (overlaps writing when there is a matcher).
    let zero = std::time::Duration::ZERO;
    let (mut t_wait, mut t_classify, mut t_write, mut t_plan) = (zero, zero, zero, zero);
    loop {
        let t0 = std::time::Instant::now();
        let Some(batch) = rx.recv().await else { break };
        t_wait += t0.elapsed();
        let mut ok = Vec::with_capacity(batch.len());
        for item in batch {
            counts.rows_total += 1;
            match item {
                RowItem::Ok(p) => {
                    counts.rows_ok += 1;
                    warnings.note(&p.plan);
                    ok.push(p);
                }
                RowItem::Err(e) => {
                    counts.rows_error += 1;
                    errors.push(e);
                }
            }
        }
        if ok.is_empty() {
            continue;
        }
        // The pending batch goes in first when this one must see it.
        if let Mode::Write { tx, actor, .. } = &mut mode
            && let (Some(p), Some(ctx)) = (pending.take_if(|p| !p.only_adds()), &ctx)
        {
            let t = std::time::Instant::now();
            write_planned(tx, ctx, actor, p).await?;
            t_write += t.elapsed();
        }
        let t1 = std::time::Instant::now();
        let classified = match &mut mode {
            Mode::Preview { db, .. } => classify(Exec::Db(db), tenant, &source, ok).await?,
            Mode::Write { tx, .. } => classify(Exec::Tx(tx), tenant, &source, ok).await?,
        };
        t_classify += t1.elapsed();
        for c in &classified {
            match &c.action {
                Action::Create => counts.created += 1,
                Action::Update(_) => counts.updated += 1,
                Action::Unchanged { .. } => counts.unchanged += 1,
                Action::OtherSource => {
                    counts.unchanged += 1;
                    counts.other_source += 1;
                }
            }
        }
        match &mut mode {
            Mode::Preview {
                samples: wanted, ..
            } => {
                for c in &classified {
                    if samples.len() >= *wanted {
                        break;
                    }
                    if let Some(s) = sample(c) {
                        samples.push(s);
                    }
                }
            }
            Mode::Write { tx, actor, .. } => {
                let ctx = ctx.clone().ok_or_else(|| {
                    super::ImportFailure::Internal("no plan context when writing".into())
                })?;
                match matcher.take() {
                    Some(mut m) => {
                        let planner = ctx.clone();
                        let task = tokio::task::spawn_blocking(move || {
                            let t = std::time::Instant::now();
                            let planned = plan_batch(&planner, classified, Donors::Matcher(&mut m));
                            (m, planned, t.elapsed())
                        });
                        if let Some(p) = pending.take() {
                            let t = std::time::Instant::now();
                            write_planned(tx, &ctx, actor, p).await?;
                            t_write += t.elapsed();
                        }
                        let (m, planned, took) = task.await.map_err(|e| {
                            super::ImportFailure::Internal(format!("planning thread failed: {e}"))
                        })?;
                        t_plan += took;
                        matcher = Some(m);
                        pending = Some(planned?);
                    }
                    None => {
                        let t = std::time::Instant::now();
                        let ids = resolve_with_queries(tx, &ctx, &classified).await?;
                        let planned = plan_batch(&ctx, classified, Donors::Resolved(ids))?;
                        write_planned(tx, &ctx, actor, planned).await?;
                        t_write += t.elapsed();
                    }
                }
            }
        }
    }
    if let (Mode::Write { tx, actor, .. }, Some(p), Some(ctx)) = (&mut mode, pending.take(), &ctx) {
        let t = std::time::Instant::now();
        write_planned(tx, ctx, actor, p).await?;
        t_write += t.elapsed();
    }
    if let Mode::Write { tx, .. } = &mut mode
        && !rebuild.is_empty()
    {
        let t = std::time::Instant::now();
        furusato_db::dialect::restore_indexes_in(tx, rebuild).await?;
        tracing::debug!(
            seconds = t.elapsed().as_secs_f64(),
            "secondary indexes rebuilt"
        );
    }
    let end = handle
        .await
        .map_err(|e| super::ImportFailure::Internal(format!("parser thread failed: {e}")))?;
    tracing::debug!(
        rows = counts.rows_total,
        setup_s = t_setup.as_secs_f64(),
        wait_parser_s = t_wait.as_secs_f64(),
        classify_s = t_classify.as_secs_f64(),
        write_s = t_write.as_secs_f64(),
        plan_s = t_plan.as_secs_f64(),
        "import run timings"
    );
    let summary = end.summary?;
    Ok(RunOutput {
        summary,
        counts,
        errors,
        warnings: warnings.into_list(),
        samples,
    })
}

fn sample(c: &Classified) -> Option<Sample> {
    let (action, changes) = match &c.action {
        Action::Create => ("新規", Vec::new()),
        Action::Update(u) => (
            "更新",
            u.changes
                .iter()
                .map(|(_, label, _, _)| label.to_string())
                .collect(),
        ),
        _ => return None,
    };
    let p = &c.prep.plan;
    let method = PaymentMethod::parse(&p.fields.payment_method)
        .map(|m| m.label_ja())
        .unwrap_or("その他");
    let payment_method = if c.prep.method_label.is_empty() || c.prep.method_label == method {
        method.to_string()
    } else {
        format!("{} → {method}", c.prep.method_label)
    };
    Some(Sample {
        line: p.line,
        external_id: p.external_id.clone(),
        portal: p.portal.label_ja(),
        donated_on: p.fields.donated_on,
        received_on: p.fields.received_on,
        donor_name: format!("{} {}", p.donor.family_name, p.donor.given_name)
            .trim()
            .to_string(),
        amount: p.fields.amount.unwrap_or_default(),
        payment_method,
        action,
        changes,
    })
}

/// A `source_records` row (see `source_records::INSERT_COLUMNS`); takes the row's hash and
/// compressed record out of `prep` (each is written once).
#[allow(clippy::too_many_arguments)]
fn source_row(
    tenant: MunicipalityId,
    source: &str,
    prep: &mut Prepared,
    version: i64,
    donation_id: Uuid,
    donor_id: Uuid,
    import_id: Uuid,
    now: time::OffsetDateTime,
) -> Vec<Arg> {
    let dictionary = source_records::Dictionary::for_source(source);
    let deflated = prep
        .deflated
        .take()
        .unwrap_or_else(|| source_records::compress_with(&prep.raw_json, dictionary));
    vec![
        Arg::Uuid(new_id()),
        Arg::Uuid(tenant.0),
        Arg::Text(source.to_string()),
        Arg::Text(prep.plan.external_id.clone()),
        Arg::Int(version),
        Arg::Bytes(std::mem::take(&mut prep.hash)),
        Arg::Bytes(deflated),
        Arg::Int(dictionary.id()),
        Arg::OptUuid(Some(donation_id)),
        Arg::OptUuid(Some(donor_id)),
        Arg::OptUuid(Some(import_id)),
        Arg::OptUuid(None),
        Arg::Timestamp(now),
    ]
}

/// Rows of `donation_items` and `ship_tos` for a planned donation.
fn line_rows(
    tenant: MunicipalityId,
    donation_id: Uuid,
    plan: &PlannedDonation,
    items: &mut Vec<Vec<Arg>>,
    ships: &mut Vec<Vec<Arg>>,
) {
    let ship_ids: Vec<Uuid> = plan.ship_tos.iter().map(|_| new_id()).collect();
    for (i, s) in plan.ship_tos.iter().enumerate() {
        ships.push(donations::ship_to_insert_row(
            ship_ids[i],
            tenant,
            donation_id,
            i as i64 + 1,
            s,
        ));
    }
    for (i, it) in plan.items.iter().enumerate() {
        let item = NewDonationItem {
            gift_id: it.gift_id,
            gift_version_id: it.gift_version_id,
            gift_code: it.gift_code.clone(),
            name: it.name.clone(),
            quantity: it.quantity,
            amount: None,
            ship_to_id: it.ship_to.map(|s| ship_ids[s]),
        };
        items.push(donations::item_insert_row(
            tenant,
            donation_id,
            i as i64 + 1,
            &item,
        ));
    }
}

/// What a batch is planned for: the import, and where the donors of its new donations come from.
pub(crate) struct PlanContext {
    pub tenant: MunicipalityId,
    pub import_id: Uuid,
    /// `source_records.source` of the profile (`csv:choice` …).
    pub source: String,
    /// The profile's name, for change records.
    pub label: String,
}

/// Where the donors of a batch's new donations come from.
pub(crate) enum Donors<'a> {
    /// Already resolved (with look-up queries), one per new donation in batch order.
    Resolved(Vec<Uuid>),
    /// Decided against the run's matcher; the rows it adds are written with the batch.
    Matcher(&'a mut matching::Matcher),
}

/// The changes of one existing donation, ready to write.
struct PlannedUpdate {
    donation_id: Uuid,
    donor_id: Uuid,
    /// The donation's new fields, when they differ.
    fields: Option<DonationFields>,
    donor: Option<NewDonor>,
    replace_lines: bool,
    summary: String,
    changes: serde_json::Value,
}

/// A classified batch turned into rows without the database, so that the next batch can be
/// planned on another thread while this one is written ([`write_planned`]).
pub(crate) struct PlannedBatch {
    matched: Option<matching::MatchRows>,
    /// New donations; their 寄附番号 (column [`donations::NUMBER_COLUMN`]) is given when written.
    donations: Vec<Vec<Arg>>,
    /// Fiscal year of each new donation (its 寄附番号 series).
    fiscal_years: Vec<i32>,
    items: Vec<Vec<Arg>>,
    ships: Vec<Vec<Arg>>,
    sources: Vec<Vec<Arg>>,
    updates: Vec<PlannedUpdate>,
}

impl PlannedBatch {
    /// Whether the next batch can be classified before this one is written: this one changes no
    /// existing donation or donor (it only adds). The next batch never names a donation this one
    /// adds: an external id twice in one file is a row error of the parser.
    fn only_adds(&self) -> bool {
        self.updates.is_empty()
    }
}

/// Plans one classified batch (see [`PlannedBatch`]): donors of new donations, then rows of the
/// new donations, their lines and source records, and the changes of existing ones.
// The rows arrive boxed from the parser thread and are planned as they are.
#[allow(clippy::vec_box)]
pub(crate) fn plan_batch(
    ctx: &PlanContext,
    mut classified: Vec<Classified>,
    donors: Donors<'_>,
) -> Result<PlannedBatch, super::ImportFailure> {
    let now = now_utc();
    let tenant = ctx.tenant;
    let mut out = PlannedBatch {
        matched: None,
        donations: Vec::new(),
        fiscal_years: Vec::new(),
        items: Vec::new(),
        ships: Vec::new(),
        sources: Vec::with_capacity(classified.len()),
        updates: Vec::new(),
    };
    // Donors of the new donations, in file order (a person appearing twice in the batch is
    // created once and then found).
    let donor_ids: Vec<Uuid> = match donors {
        Donors::Resolved(ids) => ids,
        Donors::Matcher(m) => {
            let keys: Vec<matching::MatchKeys> = classified
                .iter_mut()
                .filter(|c| matches!(c.action, Action::Create))
                .map(|c| {
                    c.prep
                        .keys
                        .take()
                        .unwrap_or_else(|| matching::MatchKeys::of_new(&c.prep.plan.donor))
                })
                .collect();
            let creates = classified
                .iter()
                .filter(|c| matches!(c.action, Action::Create));
            let (people, refs): (Vec<&NewDonor>, Vec<SourceRef<'_>>) = creates
                .map(|c| {
                    (
                        &c.prep.plan.donor,
                        SourceRef {
                            source: &ctx.source,
                            external_id: &c.prep.plan.external_id,
                        },
                    )
                })
                .unzip();
            let (resolutions, rows) = m.decide(&people, &refs, keys);
            out.matched = Some(rows);
            resolutions.into_iter().map(|r| r.donor_id).collect()
        }
    };
    let mut donor_ids = donor_ids.into_iter();
    for c in &mut classified {
        // The source record version this row adds: (version, donation, donor).
        let version = match &c.action {
            Action::Create => {
                let donor_id = donor_ids.next().ok_or_else(|| {
                    super::ImportFailure::Internal("a new donation has no donor".into())
                })?;
                let p = &c.prep.plan;
                let f = &p.fields;
                let id = new_id();
                let nd = NewDonation {
                    donor_id,
                    channel: Channel::Portal.as_str().to_string(),
                    portal: Some(p.portal.as_str().to_string()),
                    external_id: Some(p.external_id.clone()),
                    amount: f.amount,
                    donated_on: f.donated_on,
                    received_on: f.received_on,
                    applied_at: None,
                    payment_method: f.payment_method.clone(),
                    payment_status: f.payment_status.clone(),
                    use_of_funds: f.use_of_funds.clone(),
                    onestop_wanted: f.onestop_wanted,
                    receipt_wanted: true,
                    gift_declined: f.gift_declined,
                    note: f.note.clone(),
                };
                out.donations
                    .push(donations::insert_row(id, tenant, String::new(), &nd, now));
                out.fiscal_years.push(jst::fiscal_year(f.donated_on));
                line_rows(tenant, id, p, &mut out.items, &mut out.ships);
                Some((1, id, donor_id))
            }
            Action::Update(u) => {
                let d = &u.donation;
                if u.replace_lines {
                    line_rows(tenant, d.id, &c.prep.plan, &mut out.items, &mut out.ships);
                }
                let labels: Vec<&str> = u.changes.iter().map(|(_, l, _, _)| *l).collect();
                let fields: serde_json::Map<String, serde_json::Value> = u
                    .changes
                    .iter()
                    .map(|(k, _, old, new)| (k.to_string(), serde_json::json!([old, new])))
                    .collect();
                out.updates.push(PlannedUpdate {
                    donation_id: d.id,
                    donor_id: d.donor_id,
                    fields: (fields_of(d) != u.fields).then(|| u.fields.clone()),
                    donor: u.donor.clone(),
                    replace_lines: u.replace_lines,
                    summary: format!("CSV取込（{}）で更新: {}", ctx.label, labels.join("、")),
                    changes: serde_json::Value::Object(fields),
                });
                Some((u.new_version, d.id, d.donor_id))
            }
            // Only the raw record changed (columns we do not use): keep the new version as evidence.
            Action::Unchanged { new_version } => *new_version,
            Action::OtherSource => None,
        };
        if let Some((version, donation_id, donor_id)) = version {
            out.sources.push(source_row(
                tenant,
                &ctx.source,
                &mut c.prep,
                version,
                donation_id,
                donor_id,
                ctx.import_id,
                now,
            ));
        }
    }
    Ok(out)
}

/// Writes a planned batch inside the commit's transaction: the matcher's donors first (the rest
/// refers to them), 寄附番号 per fiscal year, the changes of existing donations (their old lines
/// are cleared before the new ones go in), then multi-row inserts.
pub(crate) async fn write_planned(
    tx: &mut Tx,
    ctx: &PlanContext,
    actor: &str,
    batch: PlannedBatch,
) -> Result<(), super::ImportFailure> {
    let tenant = ctx.tenant;
    if let Some(rows) = batch.matched {
        rows.write(tx).await?;
    }
    let mut donation_rows = batch.donations;
    let mut per_year: BTreeMap<i32, usize> = BTreeMap::new();
    for fy in &batch.fiscal_years {
        *per_year.entry(*fy).or_default() += 1;
    }
    let mut numbers: HashMap<i32, std::vec::IntoIter<String>> = HashMap::new();
    for (fy, n) in per_year {
        numbers.insert(
            fy,
            donations::reserve_numbers(tx, tenant, fy, n)
                .await?
                .into_iter(),
        );
    }
    for (row, fy) in donation_rows.iter_mut().zip(&batch.fiscal_years) {
        let number = numbers
            .get_mut(fy)
            .and_then(Iterator::next)
            .ok_or_else(|| {
                super::ImportFailure::Internal("donation numbers ran out during the import".into())
            })?;
        row[donations::NUMBER_COLUMN] = Arg::Text(number);
    }
    for u in &batch.updates {
        if let Some(fields) = &u.fields {
            store::update_donation_fields(tx, tenant, u.donation_id, fields).await?;
        }
        if let Some(donor) = &u.donor {
            donors::update(tx, tenant, u.donor_id, donor).await?;
        }
        if u.replace_lines {
            store::clear_items_and_ship_tos(tx, tenant, u.donation_id).await?;
        }
        source_records::record_change(
            tx,
            tenant,
            u.donation_id,
            &ctx.source,
            actor,
            &u.summary,
            &u.changes,
        )
        .await?;
    }
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
        batch.ships,
        "",
    )
    .await?;
    bulk_insert(
        tx,
        "donation_items",
        &donations::ITEM_INSERT_COLUMNS,
        batch.items,
        "",
    )
    .await?;
    bulk_insert(
        tx,
        "source_records",
        &source_records::INSERT_COLUMNS,
        batch.sources,
        "",
    )
    .await?;
    Ok(())
}

/// Resolves the donors of a batch's new donations with look-up queries (no matcher), in chunks of
/// [`RESOLVE_CHUNK`].
async fn resolve_with_queries(
    tx: &mut Tx,
    ctx: &PlanContext,
    classified: &[Classified],
) -> Result<Vec<Uuid>, super::ImportFailure> {
    let creates: Vec<&Classified> = classified
        .iter()
        .filter(|c| matches!(c.action, Action::Create))
        .collect();
    let mut ids = Vec::with_capacity(creates.len());
    for rows in creates.chunks(RESOLVE_CHUNK) {
        let people: Vec<(NewDonor, SourceRef<'_>)> = rows
            .iter()
            .map(|c| {
                (
                    c.prep.plan.donor.clone(),
                    SourceRef {
                        source: &ctx.source,
                        external_id: &c.prep.plan.external_id,
                    },
                )
            })
            .collect();
        let keys: Vec<matching::MatchKeys> = rows
            .iter()
            .map(|c| match &c.prep.keys {
                Some(k) => k.clone(),
                None => matching::MatchKeys::of_new(&c.prep.plan.donor),
            })
            .collect();
        ids.extend(
            matching::resolve_donors_keyed(tx, ctx.tenant, &people, keys)
                .await?
                .into_iter()
                .map(|r| r.donor_id),
        );
    }
    Ok(ids)
}

/// The rows of a file that cannot be imported, as CSV in the file's encoding, with the original
/// columns plus 「エラー内容」. Returns (bytes, number of rows).
pub(crate) fn failed_rows(
    profile: &ResolvedProfile,
    bytes: &[u8],
) -> Result<(Vec<u8>, usize), super::ImportFailure> {
    let headers = read_headers(&profile.profile, bytes)?;
    let portal_col = portal_column(&profile.portal, &headers);
    let default_portal = match &profile.portal {
        PortalRule::Fixed(p) => Some(*p),
        PortalRule::FromColumn { default } => *default,
    };
    let no_gifts = GiftMaster::new();
    let checking = RunOptions {
        compress: false,
        dictionary: source_records::Dictionary::None,
        max_rows: None,
    };
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let mut header_out: Vec<String> = headers.clone();
    while header_out.last().is_some_and(String::is_empty) {
        header_out.pop();
    }
    header_out.push("エラー内容".into());
    let io = |e: csv::Error| super::ImportFailure::Internal(format!("CSV writer: {e}"));
    out.write_record(&header_out).map_err(io)?;
    let mut n = 0usize;
    let mut write_err: Option<csv::Error> = None;
    let summary = parse_stream(&profile.profile, bytes, |row| {
        let (raw, message) = match row {
            Err(e) => (e.raw.clone(), e.message_ja.clone()),
            Ok(d) => match prepare(&d, portal_col, default_portal, &no_gifts, checking) {
                RowItem::Err(e) => (d.raw.clone(), e.message_ja),
                RowItem::Ok(_) => return,
            },
        };
        let mut record: Vec<String> = raw
            .iter()
            .map(|(_, v)| v.replace('\u{FFFD}', "?"))
            .collect();
        record.resize(header_out.len() - 1, String::new());
        record.push(message);
        n += 1;
        if let Err(e) = out.write_record(&record) {
            write_err.get_or_insert(e);
        }
    })?;
    if let Some(e) = write_err {
        return Err(io(e));
    }
    let utf8 = out
        .into_inner()
        .map_err(|e| super::ImportFailure::Internal(format!("CSV writer: {e}")))?;
    let bytes = match summary.encoding {
        furusato_portals::csv_import::SourceEncoding::Cp932 => {
            let text = String::from_utf8_lossy(&utf8);
            encoding_rs::SHIFT_JIS.encode(&text).0.into_owned()
        }
        _ => {
            let mut v = b"\xEF\xBB\xBF".to_vec();
            v.extend_from_slice(&utf8);
            v
        }
    };
    Ok((bytes, n))
}
