//! Donor matching across portals: decides whether an incoming person (a 楽天 orderer, a CSV row,
//! a counter donation) is a donor we already know, keeps the likely duplicates for a person to
//! decide, and merges (and un-merges) donors.
//!
//! # What is compared
//! The normalised keys of `furusato_db::donors` — フリガナ (`kana_norm`), name (`name_norm`),
//! phone digits, postal code and address (`address_norm`) — and **never the e-mail address**:
//! 楽天 gives a masked relay address per order, so equal addresses prove nothing and different
//! ones disprove nothing. A key only counts when it is usable on both sides: kana of at least two
//! characters, a phone number of at least 10 digits that is not one digit repeated, a 7-digit
//! postal code that is not all zeros, a non-empty name and address. Addresses agree when they are
//! equal, or when one is the other without its building part (`…3-7-1` and `…3-7-1サンプルビル101`);
//! see [`address_agreement`].
//!
//! # The score (0–100)
//! "Identity" is a matching フリガナ; when one side has no フリガナ, a matching name stands in for
//! it with 5 points less. The first rule that applies gives the score:
//!
//! | rule ([`Rule`])        | evidence                                                        | score |
//! |------------------------|-----------------------------------------------------------------|-------|
//! | `KanaPhone`            | identity + phone, address not different                          | 100 (95) |
//! | `KanaAddress`          | identity + address, postal code not different                   | 100 (95) |
//! | `Moved`                | identity + phone, address different (転居の可能性)               | 85 (80) |
//! | `KanaNamePostal`       | identity + name + postal code, address written differently      | 80 (75) |
//! | `KanaPostal`           | フリガナ + postal code, name written differently (髙/高 …)        | 60 |
//! | `SameName`             | フリガナ + name only (同姓同名の可能性)                           | 40 |
//! | `ReadingDiffers`       | フリガナ differs, name + (phone or address) match (読み違い)     | 70 |
//! | `SharedPhone`          | phone only, フリガナ differs or is unknown (家族・入力誤り)        | 55 |
//! | `NoMatch`              | nothing of the above                                            | 0 |
//!
//! Outcome: score ≥ [`AUTO_LINK_SCORE`] (90) links to the candidate automatically;
//! [`REVIEW_SCORE`] (50) ≤ score < 90 creates a new donor **and** a pending `match_reviews` row
//! pairing it with the best candidate; below 50 creates a new donor. Among candidates the highest
//! score wins, then the oldest donor (created first), then the smallest id.
//!
//! # Candidates
//! Only donors sharing the exact `kana_norm`, `phone_digits` or `name_norm` (indexed columns) are
//! scored, and only unmerged ones. [`resolve_donors`] looks a whole batch up with a handful of
//! `IN (…)` queries and matches rows of the batch with each other as well, in order, exactly as
//! if each row had been resolved alone after the previous ones ([`resolve_donor`] is a batch of
//! one). Every resolution is recorded in `donor_sources` with a snapshot of the data as received.
//!
//! # Merges
//! [`merge_donors`] moves the merged donor's donations and source records to the kept donor,
//! sets `merged_into_id`, adds a marker source row (link `reviewed` when decided on the review
//! queue, `merged` for a manual merge), writes `donor_merges` with the moved ids, one
//! `donation_changes` row per moved donation and an audit entry — in the caller's transaction.
//! [`undo_merge`] moves exactly those rows back, removes the marker, clears `merged_into_id`,
//! marks the merge undone and puts its review back on the queue.

use std::cmp::Reverse;
use std::collections::HashMap;

use furusato_db::audit::{self, AuditEntry};
use furusato_db::donors::{self, Donor, NewDonor};
use furusato_db::matching::{self as store, CandidateKey, MatchCandidate, Moved, MovedTable};
use furusato_db::{Db, DbError, DbResult, MunicipalityId, Tx, new_id, now_utc};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

/// Score from which a person is linked to the candidate without asking anyone.
pub const AUTO_LINK_SCORE: u8 = 90;
/// Score from which a likely duplicate is put on the review queue.
pub const REVIEW_SCORE: u8 = 50;

/// Where the person came from (for the donor's history).
#[derive(Clone, Copy, Debug)]
pub struct SourceRef<'a> {
    /// `rakuten`, `csv:choice`, `manual`, …
    pub source: &'a str,
    /// The portal's own id of the record (order number, 寄附者番号 …).
    pub external_id: &'a str,
}

/// How a source record is linked to its donor (`donor_sources.link`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// A new donor was created.
    New,
    /// Linked to an existing donor by a match scoring ≥ [`AUTO_LINK_SCORE`].
    Auto,
    /// Joined to the donor by a person's decision on the review queue (merge marker).
    Reviewed,
    /// Joined to the donor by a manual merge (merge marker).
    Merged,
}

impl Link {
    pub fn as_str(self) -> &'static str {
        match self {
            Link::New => "new",
            Link::Auto => "auto",
            Link::Reviewed => "reviewed",
            Link::Merged => "merged",
        }
    }

    pub fn parse(s: &str) -> Option<Link> {
        Some(match s {
            "new" => Link::New,
            "auto" => Link::Auto,
            "reviewed" => Link::Reviewed,
            "merged" => Link::Merged,
            _ => return None,
        })
    }

    /// For screens.
    pub fn label_ja(self) -> &'static str {
        match self {
            Link::New => "新規登録",
            Link::Auto => "自動で同一人物と判定",
            Link::Reviewed => "確認の上で統合",
            Link::Merged => "手動で統合",
        }
    }
}

/// The donor a person was resolved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub donor_id: Uuid,
    pub link: Link,
}

/// A resolution with its evidence (see [`resolve_donors_detailed`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    pub donor_id: Uuid,
    pub link: Link,
    /// Score of the best candidate (0 when there was none).
    pub score: u8,
    /// The best candidate: the donor linked to ([`Link::Auto`]) or the one a review pairs with.
    pub candidate_id: Option<Uuid>,
    /// The pending review created (REVIEW_SCORE ≤ score < AUTO_LINK_SCORE).
    pub review_id: Option<Uuid>,
}

impl Resolution {
    pub fn resolved(&self) -> Resolved {
        Resolved {
            donor_id: self.donor_id,
            link: self.link,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scoring

/// A criterion that can match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    Kana,
    Name,
    Phone,
    PostalCode,
    Address,
}

impl Criterion {
    pub const ALL: [Criterion; 5] = [
        Criterion::Kana,
        Criterion::Name,
        Criterion::Phone,
        Criterion::PostalCode,
        Criterion::Address,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::Kana => "kana",
            Criterion::Name => "name",
            Criterion::Phone => "phone",
            Criterion::PostalCode => "postal_code",
            Criterion::Address => "address",
        }
    }

    pub fn parse(s: &str) -> Option<Criterion> {
        Criterion::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label_ja(self) -> &'static str {
        match self {
            Criterion::Kana => "フリガナ",
            Criterion::Name => "氏名",
            Criterion::Phone => "電話番号",
            Criterion::PostalCode => "郵便番号",
            Criterion::Address => "住所",
        }
    }
}

/// How one criterion compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    Same,
    Differs,
    /// Missing or unusable on at least one side.
    Unknown,
}

/// The keys a person is compared on (normalised; no e-mail).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatchKeys {
    pub kana: String,
    pub name: String,
    pub phone: String,
    pub postal_code: String,
    pub address: String,
}

impl MatchKeys {
    pub fn of_new(d: &NewDonor) -> MatchKeys {
        MatchKeys {
            kana: d.kana_norm(),
            name: d.name_norm(),
            phone: d.phone_digits(),
            postal_code: furusato_domain::normalize::normalize_digits(&d.postal_code),
            address: d.address_norm(),
        }
    }

    pub fn of_donor(d: &Donor) -> MatchKeys {
        MatchKeys {
            kana: d.kana_norm.clone(),
            name: d.name_norm.clone(),
            phone: d.phone_digits.clone(),
            postal_code: d.postal_code.clone(),
            address: d.address_norm.clone(),
        }
    }

    pub fn of_candidate(c: &MatchCandidate) -> MatchKeys {
        MatchKeys {
            kana: c.kana_norm.clone(),
            name: c.name_norm.clone(),
            phone: c.phone_digits.clone(),
            postal_code: c.postal_code.clone(),
            address: c.address_norm.clone(),
        }
    }

    fn usable_kana(&self) -> Option<&str> {
        (self.kana.chars().count() >= 2).then_some(self.kana.as_str())
    }

    fn usable_name(&self) -> Option<&str> {
        (!self.name.is_empty()).then_some(self.name.as_str())
    }

    fn usable_phone(&self) -> Option<&str> {
        let p = self.phone.as_str();
        let first = p.as_bytes().first().copied();
        (p.len() >= 10
            && p.bytes().all(|b| b.is_ascii_digit())
            && !p.bytes().all(|b| Some(b) == first))
        .then_some(p)
    }

    fn usable_postal(&self) -> Option<&str> {
        let p = self.postal_code.as_str();
        (p.len() == 7 && p.bytes().all(|b| b.is_ascii_digit()) && p != "0000000").then_some(p)
    }

    fn usable_address(&self) -> Option<&str> {
        (!self.address.is_empty()).then_some(self.address.as_str())
    }
}

fn agree(a: Option<&str>, b: Option<&str>) -> Agreement {
    match (a, b) {
        (Some(a), Some(b)) if a == b => Agreement::Same,
        (Some(_), Some(_)) => Agreement::Differs,
        _ => Agreement::Unknown,
    }
}

/// Addresses (normalised keys) agree when equal, or when the shorter one ends with a street
/// number and the longer one only adds a building part after it (not more digits).
pub fn address_agreement(a: &str, b: &str) -> Agreement {
    if a.is_empty() || b.is_empty() {
        return Agreement::Unknown;
    }
    if a == b {
        return Agreement::Same;
    }
    let (short, long) = if a.len() < b.len() { (a, b) } else { (b, a) };
    let completes = long.starts_with(short)
        && short.ends_with(|c: char| c.is_ascii_digit())
        && !long[short.len()..].starts_with(|c: char| c.is_ascii_digit() || c == '-');
    if completes {
        Agreement::Same
    } else {
        Agreement::Differs
    }
}

/// How two people compare, criterion by criterion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub kana: Agreement,
    pub name: Agreement,
    pub phone: Agreement,
    pub postal_code: Agreement,
    pub address: Agreement,
}

impl Comparison {
    pub fn of(a: &MatchKeys, b: &MatchKeys) -> Comparison {
        Comparison {
            kana: agree(a.usable_kana(), b.usable_kana()),
            name: agree(a.usable_name(), b.usable_name()),
            phone: agree(a.usable_phone(), b.usable_phone()),
            postal_code: agree(a.usable_postal(), b.usable_postal()),
            address: match (a.usable_address(), b.usable_address()) {
                (Some(x), Some(y)) => address_agreement(x, y),
                _ => Agreement::Unknown,
            },
        }
    }

    pub fn get(&self, c: Criterion) -> Agreement {
        match c {
            Criterion::Kana => self.kana,
            Criterion::Name => self.name,
            Criterion::Phone => self.phone,
            Criterion::PostalCode => self.postal_code,
            Criterion::Address => self.address,
        }
    }

    /// The criteria that agree, in [`Criterion::ALL`] order.
    pub fn matched(&self) -> Vec<Criterion> {
        Criterion::ALL
            .into_iter()
            .filter(|c| self.get(*c) == Agreement::Same)
            .collect()
    }
}

/// The rule that gave a score (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    KanaPhone,
    KanaAddress,
    Moved,
    KanaNamePostal,
    KanaPostal,
    SameName,
    ReadingDiffers,
    SharedPhone,
    NoMatch,
}

impl Rule {
    /// Why the pair looks like one person (for the review screen).
    pub fn label_ja(self) -> &'static str {
        match self {
            Rule::KanaPhone => "フリガナと電話番号が一致",
            Rule::KanaAddress => "フリガナと住所が一致",
            Rule::Moved => "フリガナと電話番号が一致し住所が異なる（転居の可能性）",
            Rule::KanaNamePostal => "フリガナ・氏名・郵便番号が一致（住所の書き方が異なる）",
            Rule::KanaPostal => "フリガナと郵便番号が一致（氏名の表記が異なる）",
            Rule::SameName => "フリガナと氏名のみ一致（同姓同名の可能性）",
            Rule::ReadingDiffers => "氏名と電話番号または住所が一致しフリガナが異なる",
            Rule::SharedPhone => "電話番号のみ一致（家族または入力誤りの可能性）",
            Rule::NoMatch => "一致なし",
        }
    }
}

/// What a score leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Link to the candidate.
    Auto,
    /// New donor + pending review.
    Review,
    /// New donor.
    New,
}

/// The score of a pair, the rule that gave it and every criterion that agreed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Score {
    pub value: u8,
    pub rule: Rule,
    pub matched: Vec<Criterion>,
    pub comparison: Comparison,
}

impl Score {
    pub fn outcome(&self) -> Outcome {
        if self.value >= AUTO_LINK_SCORE {
            Outcome::Auto
        } else if self.value >= REVIEW_SCORE {
            Outcome::Review
        } else {
            Outcome::New
        }
    }

    /// The matched criteria codes (stored in `match_reviews.reasons`).
    pub fn reason_codes(&self) -> Vec<&'static str> {
        self.matched.iter().map(|c| c.as_str()).collect()
    }
}

/// Scores `incoming` against `candidate` (see the table in the module documentation).
pub fn score(incoming: &MatchKeys, candidate: &MatchKeys) -> Score {
    use Agreement::*;
    let c = Comparison::of(incoming, candidate);
    // Identity: same フリガナ, or (フリガナ unknown on a side) same name, 5 points less.
    let identity = match (c.kana, c.name) {
        (Same, _) => Some(0u8),
        (Unknown, Same) => Some(5u8),
        _ => None,
    };
    let (rule, value) = if let Some(penalty) = identity {
        if c.phone == Same && c.address != Differs {
            (Rule::KanaPhone, 100 - penalty)
        } else if c.address == Same && c.postal_code != Differs {
            (Rule::KanaAddress, 100 - penalty)
        } else if c.phone == Same {
            (Rule::Moved, 85 - penalty)
        } else if c.name == Same && c.postal_code == Same {
            (Rule::KanaNamePostal, 80 - penalty)
        } else if c.kana == Same && c.postal_code == Same {
            (Rule::KanaPostal, 60)
        } else if c.kana == Same && c.name == Same {
            (Rule::SameName, 40)
        } else {
            (Rule::NoMatch, 0)
        }
    } else if c.name == Same && (c.phone == Same || c.address == Same) {
        (Rule::ReadingDiffers, 70)
    } else if c.phone == Same {
        (Rule::SharedPhone, 55)
    } else {
        (Rule::NoMatch, 0)
    };
    Score {
        value,
        rule,
        matched: c.matched(),
        comparison: c,
    }
}

// ---------------------------------------------------------------------------------------------
// Resolution

/// The snapshot of a person as received, kept in `donor_sources` (no e-mail: 楽天's is a relay).
pub fn snapshot(d: &NewDonor) -> serde_json::Value {
    serde_json::json!({
        "name": format!("{} {}", d.family_name, d.given_name).trim().to_string(),
        "kana": format!("{} {}", d.family_kana, d.given_kana).trim().to_string(),
        "postal_code": d.postal_code,
        "address": format!("{}{}{}{}", d.prefecture, d.city, d.address1, d.address2),
        "phone": d.phone,
    })
}

/// The snapshot of a stored donor (the merge marker keeps what was folded in).
pub fn donor_snapshot(d: &Donor) -> serde_json::Value {
    serde_json::json!({
        "name": d.full_name(),
        "kana": d.full_kana(),
        "postal_code": d.postal_code,
        "address": format!("{}{}{}{}", d.prefecture, d.city, d.address1, d.address2),
        "phone": d.phone,
    })
}

/// Finds the donor for `d` or creates one, inside the caller's transaction, and records the
/// source. The same as a batch of one ([`resolve_donors`]).
pub async fn resolve_donor(
    tx: &mut Tx,
    tenant: MunicipalityId,
    d: &NewDonor,
    src: SourceRef<'_>,
) -> DbResult<Resolved> {
    let mut r = resolve_batch(tx, tenant, &[d], &[src], vec![MatchKeys::of_new(d)]).await?;
    Ok(r.remove(0).resolved())
}

/// Resolves a batch of people in order (rows of the batch match each other too), with a handful
/// of queries, inside the caller's transaction; records every source.
pub async fn resolve_donors(
    tx: &mut Tx,
    tenant: MunicipalityId,
    items: &[(NewDonor, SourceRef<'_>)],
) -> DbResult<Vec<Resolved>> {
    Ok(resolve_donors_detailed(tx, tenant, items)
        .await?
        .iter()
        .map(Resolution::resolved)
        .collect())
}

/// [`resolve_donors`] with the score, the candidate and the review of each row.
pub async fn resolve_donors_detailed(
    tx: &mut Tx,
    tenant: MunicipalityId,
    items: &[(NewDonor, SourceRef<'_>)],
) -> DbResult<Vec<Resolution>> {
    let keys = items.iter().map(|(d, _)| MatchKeys::of_new(d)).collect();
    resolve_keyed(tx, tenant, items, keys).await
}

/// [`resolve_donors`] with each person's keys computed by the caller (`keys[i]` =
/// `MatchKeys::of_new(&items[i].0)`; a sync computes them while fetching).
pub async fn resolve_donors_keyed(
    tx: &mut Tx,
    tenant: MunicipalityId,
    items: &[(NewDonor, SourceRef<'_>)],
    keys: Vec<MatchKeys>,
) -> DbResult<Vec<Resolved>> {
    Ok(resolve_keyed(tx, tenant, items, keys)
        .await?
        .iter()
        .map(Resolution::resolved)
        .collect())
}

async fn resolve_keyed(
    tx: &mut Tx,
    tenant: MunicipalityId,
    items: &[(NewDonor, SourceRef<'_>)],
    keys: Vec<MatchKeys>,
) -> DbResult<Vec<Resolution>> {
    debug_assert_eq!(items.len(), keys.len());
    let (donors, sources) = split(items);
    resolve_batch(tx, tenant, &donors, &sources, keys).await
}

/// The people and their sources, side by side.
fn split<'a, 's>(
    items: &'a [(NewDonor, SourceRef<'s>)],
) -> (Vec<&'a NewDonor>, Vec<SourceRef<'s>>) {
    items.iter().map(|(d, s)| (d, *s)).unzip()
}

/// A donor that rows of the batch may match: from the database or created by an earlier row.
struct PoolEntry {
    id: Uuid,
    created_at: OffsetDateTime,
    keys: MatchKeys,
}

/// The postal code a look-up uses: 7 characters, not all zeros.
fn probe_postal(k: &MatchKeys) -> Option<&str> {
    (k.postal_code.len() == 7 && k.postal_code != "0000000").then_some(k.postal_code.as_str())
}

/// Whether the look-ups of `incoming` reach `candidate` (see "Candidates" in the module
/// documentation): the same phone number; or the same postal code and the same フリガナ or name;
/// or, for a person with neither a usable postal code nor a phone number, the same フリガナ.
/// Candidates are compared with exactly these rules whether they were looked up in the database,
/// loaded by a [`Matcher`] or created earlier in the same run, so that a decision never depends
/// on how the rows were batched.
fn reachable(incoming: &MatchKeys, candidate: &MatchKeys) -> bool {
    if incoming
        .usable_phone()
        .is_some_and(|p| candidate.phone == p)
    {
        return true;
    }
    match probe_postal(incoming) {
        Some(postal) => {
            candidate.postal_code == postal
                && (incoming.usable_kana().is_some_and(|k| candidate.kana == k)
                    || incoming.usable_name().is_some_and(|n| candidate.name == n))
        }
        None => {
            incoming.usable_phone().is_none()
                && incoming.usable_kana().is_some_and(|k| candidate.kana == k)
        }
    }
}

/// No entry (end of a chain in [`Pool`]).
const NONE: u32 = u32::MAX;

/// Candidates, indexed by the four look-ups of [`reachable`]: phone, postal code + フリガナ,
/// postal code + name, and フリガナ alone (for people with neither postal code nor phone). Each
/// index maps the hash of a key to the last entry having it, and entries chain to the previous
/// one with the same hash: a few words per entry instead of a list per key, which matters when a
/// large run holds every donor of the city. Chains are checked with [`reachable`] itself.
#[derive(Default)]
struct Pool {
    entries: Vec<PoolEntry>,
    /// Per entry and look-up: the previous entry with the same key hash.
    next: Vec<[u32; LOOKUPS]>,
    heads: [HashMap<u64, u32>; LOOKUPS],
}

const LOOKUPS: usize = 4;

fn key_hash<T: std::hash::Hash>(v: T) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(v)
}

impl MatchKeys {
    /// The hashes of the look-up keys this person has, in [`Pool`] order.
    fn lookup_hashes(&self) -> [Option<u64>; LOOKUPS] {
        let postal = probe_postal(self);
        [
            self.usable_phone().map(key_hash),
            postal.zip(self.usable_kana()).map(key_hash),
            postal.zip(self.usable_name()).map(key_hash),
            self.usable_kana().map(key_hash),
        ]
    }
}

impl Pool {
    fn len(&self) -> usize {
        self.entries.len()
    }

    fn add(&mut self, e: PoolEntry) {
        let i = u32::try_from(self.entries.len()).expect("fewer than 4 billion donors");
        let mut next = [NONE; LOOKUPS];
        for (which, h) in e.keys.lookup_hashes().into_iter().enumerate() {
            if let Some(h) = h {
                next[which] = self.heads[which].insert(h, i).unwrap_or(NONE);
            }
        }
        self.next.push(next);
        self.entries.push(e);
    }

    /// Entries that `k`'s look-ups reach.
    fn candidates(&self, k: &MatchKeys) -> Vec<usize> {
        let mut hashes = k.lookup_hashes();
        // フリガナ alone only for people without postal code and phone (see `reachable`).
        if probe_postal(k).is_some() || k.usable_phone().is_some() {
            hashes[3] = None;
        }
        let mut out = Vec::new();
        for (which, h) in hashes.into_iter().enumerate() {
            let Some(h) = h else { continue };
            let mut at = self.heads[which].get(&h).copied().unwrap_or(NONE);
            while at != NONE {
                let i = at as usize;
                if reachable(k, &self.entries[i].keys) {
                    out.push(i);
                }
                at = self.next[i][which];
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The best candidate for `k` among those its look-ups reach: highest score, then oldest,
    /// then smallest id.
    fn best(&self, k: &MatchKeys) -> Option<(usize, Score)> {
        self.candidates(k)
            .into_iter()
            .map(|i| (i, score(k, &self.entries[i].keys)))
            .max_by_key(|(i, s)| {
                let e = &self.entries[*i];
                (s.value, Reverse(e.created_at), Reverse(e.id))
            })
    }
}

/// Donor matching over the batches of one large run (a file of hundreds of thousands of rows):
/// the keys of every active donor of the city are read once, and the donors the run creates are
/// added as it goes, so that no batch needs a look-up query. Decisions are exactly those of
/// [`resolve_donors`] (a batch resolved against what the database holds at that point).
///
/// Only for a run that holds the write lock for its whole length (one transaction, as imports
/// are): donors written by others meanwhile would not be seen. Memory: some 300 bytes per donor.
pub struct Matcher {
    tenant: MunicipalityId,
    pool: Pool,
}

impl Matcher {
    /// Reads the keys of every unmerged donor of `tenant`.
    pub async fn load(tx: &mut Tx, tenant: MunicipalityId) -> DbResult<Matcher> {
        let mut pool = Pool::default();
        store::each_candidate(tx, tenant, |c| {
            pool.add(PoolEntry {
                id: c.id,
                created_at: c.created_at,
                keys: MatchKeys::of_candidate(&c),
            })
        })
        .await?;
        Ok(Matcher { tenant, pool })
    }

    /// Donors known to the matcher (loaded and created).
    pub fn known(&self) -> usize {
        self.pool.len()
    }

    /// [`resolve_donors`] against the loaded donors: no look-up query, only the inserts.
    /// `keys[i]` are `MatchKeys::of_new(&items[i].0)`, computed by the caller (imports do it
    /// on their parser thread).
    pub async fn resolve(
        &mut self,
        tx: &mut Tx,
        items: &[(NewDonor, SourceRef<'_>)],
        keys: Vec<MatchKeys>,
    ) -> DbResult<Vec<Resolution>> {
        debug_assert_eq!(items.len(), keys.len());
        let (donors, sources) = split(items);
        let (out, rows) = self.decide(&donors, &sources, keys);
        rows.write(tx).await?;
        Ok(out)
    }

    /// The decisions of [`Matcher::resolve`] without the database: the donors it creates are
    /// known to the matcher at once, and their rows are returned to be written, with
    /// [`MatchRows::write`], before anything that refers to them (an import plans the next batch
    /// this way while the previous one is being written).
    pub fn decide(
        &mut self,
        donors: &[&NewDonor],
        sources: &[SourceRef<'_>],
        keys: Vec<MatchKeys>,
    ) -> (Vec<Resolution>, MatchRows) {
        debug_assert_eq!(donors.len(), keys.len());
        decide(&mut self.pool, self.tenant, donors, sources, keys)
    }
}

/// The rows a batch's decisions add: new donors, every person's source link, reviews.
#[derive(Default)]
pub struct MatchRows {
    donors: Vec<Vec<furusato_db::args::Arg>>,
    sources: Vec<Vec<furusato_db::args::Arg>>,
    reviews: Vec<Vec<furusato_db::args::Arg>>,
}

impl MatchRows {
    /// Inserts the rows inside the caller's transaction.
    pub async fn write(self, tx: &mut Tx) -> DbResult<()> {
        use furusato_db::dialect::bulk_insert;
        // Donors first: sources and reviews refer to them.
        bulk_insert(tx, "donors", &donors::INSERT_COLUMNS, self.donors, "").await?;
        bulk_insert(
            tx,
            "donor_sources",
            &store::SOURCE_INSERT_COLUMNS,
            self.sources,
            "",
        )
        .await?;
        bulk_insert(
            tx,
            "match_reviews",
            &store::REVIEW_INSERT_COLUMNS,
            self.reviews,
            "",
        )
        .await?;
        Ok(())
    }
}

/// Decides each person of a batch in order against `pool` (adding the donors it creates, so that
/// later rows find them) and returns the resolutions and the rows to write.
fn decide(
    pool: &mut Pool,
    tenant: MunicipalityId,
    donors_in: &[&NewDonor],
    sources: &[SourceRef<'_>],
    keys: Vec<MatchKeys>,
) -> (Vec<Resolution>, MatchRows) {
    debug_assert_eq!(donors_in.len(), sources.len());
    let now = now_utc();
    let mut rows = MatchRows {
        sources: Vec::with_capacity(donors_in.len()),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(donors_in.len());
    for ((d, src), k) in donors_in.iter().zip(sources).zip(keys) {
        let best = pool.best(&k);
        let (best_score, best_id) = match &best {
            Some((i, s)) => (s.value, Some(pool.entries[*i].id)),
            None => (0, None),
        };
        let resolution = match (&best, best_id) {
            (Some((_, s)), Some(id)) if s.outcome() == Outcome::Auto => Resolution {
                donor_id: id,
                link: Link::Auto,
                score: best_score,
                candidate_id: Some(id),
                review_id: None,
            },
            _ => {
                let id = new_id();
                rows.donors.push(donors::insert_row_normalised(
                    id,
                    tenant,
                    d,
                    donors::Normalised {
                        name: k.name.clone(),
                        kana: k.kana.clone(),
                        address: k.address.clone(),
                        phone_digits: k.phone.clone(),
                    },
                    now,
                ));
                let review_id = match (&best, best_id) {
                    (Some((_, s)), Some(cand)) if s.outcome() == Outcome::Review => {
                        let rid = new_id();
                        rows.reviews.push(store::review_insert_row(
                            rid,
                            tenant,
                            id,
                            cand,
                            i64::from(s.value),
                            &s.reason_codes(),
                            now,
                        ));
                        Some(rid)
                    }
                    _ => None,
                };
                pool.add(PoolEntry {
                    id,
                    created_at: now,
                    keys: k,
                });
                Resolution {
                    donor_id: id,
                    link: Link::New,
                    score: best_score,
                    candidate_id: best_id,
                    review_id,
                }
            }
        };
        rows.sources.push(store::source_insert_row(
            new_id(),
            tenant,
            resolution.donor_id,
            src.source,
            src.external_id,
            resolution.link.as_str(),
            &snapshot(d),
            now,
        ));
        out.push(resolution);
    }
    (out, rows)
}

async fn resolve_batch(
    tx: &mut Tx,
    tenant: MunicipalityId,
    donors: &[&NewDonor],
    sources: &[SourceRef<'_>],
    keys: Vec<MatchKeys>,
) -> DbResult<Vec<Resolution>> {
    debug_assert_eq!(donors.len(), sources.len());
    // Candidates come from the look-ups that every rule scoring REVIEW_SCORE or more needs: the
    // phone number, or the postal code together with the フリガナ or the name. Namesakes elsewhere
    // in the country are not fetched (they can only score SameName, below review). Rows without a
    // usable postal code or phone fall back to the フリガナ alone.
    let phone: Vec<String> = keys
        .iter()
        .filter_map(|k| k.usable_phone().map(str::to_string))
        .collect();
    let postal = |k: &MatchKeys| probe_postal(k).map(str::to_string);
    let postal_kana: Vec<String> = keys
        .iter()
        .filter_map(|k| Some(store::pair(&postal(k)?, k.usable_kana()?)))
        .collect();
    let postal_name: Vec<String> = keys
        .iter()
        .filter_map(|k| Some(store::pair(&postal(k)?, k.usable_name()?)))
        .collect();
    let kana: Vec<String> = keys
        .iter()
        .filter(|k| postal(k).is_none() && k.usable_phone().is_none())
        .filter_map(|k| k.usable_kana().map(str::to_string))
        .collect();

    let mut pool = Pool::default();
    let mut seen = std::collections::HashSet::new();
    for (key, values) in [
        (CandidateKey::Phone, &phone),
        (CandidateKey::PostalKana, &postal_kana),
        (CandidateKey::PostalName, &postal_name),
        (CandidateKey::Kana, &kana),
    ] {
        for c in store::candidates_by(tx, tenant, key, values).await? {
            if seen.insert(c.id) {
                pool.add(PoolEntry {
                    id: c.id,
                    created_at: c.created_at,
                    keys: MatchKeys::of_candidate(&c),
                });
            }
        }
    }
    let (out, rows) = decide(&mut pool, tenant, donors, sources, keys);
    rows.write(tx).await?;
    Ok(out)
}

/// Records that `d` (as received from `src`) belongs to the resolved donor.
pub async fn record_source(
    tx: &mut Tx,
    tenant: MunicipalityId,
    resolved: Resolved,
    d: &NewDonor,
    src: SourceRef<'_>,
) -> DbResult<()> {
    let row = store::source_insert_row(
        new_id(),
        tenant,
        resolved.donor_id,
        src.source,
        src.external_id,
        resolved.link.as_str(),
        &snapshot(d),
        now_utc(),
    );
    furusato_db::dialect::bulk_insert(
        tx,
        "donor_sources",
        &store::SOURCE_INSERT_COLUMNS,
        vec![row],
        "",
    )
    .await?;
    Ok(())
}

/// Donors that look like `donor` (score ≥ [`REVIEW_SCORE`]), best first, for the manual merge
/// screen. Read-only.
pub async fn suggestions(
    db: &Db,
    tenant: MunicipalityId,
    donor: &Donor,
) -> DbResult<Vec<(MatchCandidate, Score)>> {
    let k = MatchKeys::of_donor(donor);
    let mut pool: Vec<MatchCandidate> = Vec::new();
    let lookups = [
        (CandidateKey::Kana, k.usable_kana()),
        (CandidateKey::Phone, k.usable_phone()),
        (CandidateKey::Name, k.usable_name()),
    ];
    for (key, value) in lookups {
        if let Some(v) = value {
            for c in store::candidates_by_db(db, tenant, key, &[v.to_string()]).await? {
                if c.id != donor.id && !pool.iter().any(|p| p.id == c.id) {
                    pool.push(c);
                }
            }
        }
    }
    let mut scored: Vec<(MatchCandidate, Score)> = pool
        .into_iter()
        .map(|c| {
            let s = score(&k, &MatchKeys::of_candidate(&c));
            (c, s)
        })
        .filter(|(_, s)| s.value >= REVIEW_SCORE)
        .collect();
    scored.sort_by_key(|(c, s)| (Reverse(s.value), c.created_at, c.id));
    Ok(scored)
}

// ---------------------------------------------------------------------------------------------
// Decisions: merge, reject, undo

/// Why a decision could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error("a donor cannot be merged with itself")]
    SameDonor,
    #[error("donor not found")]
    DonorNotFound,
    #[error("donor already merged")]
    AlreadyMerged,
    #[error("review not found")]
    ReviewNotFound,
    #[error("review already decided")]
    ReviewDecided,
    #[error("the donor to keep must be one of the pair")]
    KeepNotInPair,
    #[error("merge not found")]
    MergeNotFound,
    #[error("merge already undone")]
    AlreadyUndone,
    #[error("merge cannot be undone: {0}")]
    NotUndoable(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl MatchError {
    /// What the operator reads.
    pub fn message_ja(&self) -> String {
        match self {
            MatchError::SameDonor => "同じ寄附者どうしは統合できません。".into(),
            MatchError::DonorNotFound => "寄附者が見つかりません。".into(),
            MatchError::AlreadyMerged => {
                "どちらかの寄附者はすでに別の寄附者に統合されています。画面を開き直してください。"
                    .into()
            }
            MatchError::ReviewNotFound => "確認対象が見つかりません。".into(),
            MatchError::ReviewDecided => {
                "この組み合わせはすでに判断済みです（他の担当者が処理した可能性があります）。"
                    .into()
            }
            MatchError::KeepNotInPair => {
                "残す寄附者は組み合わせのどちらかを選んでください。".into()
            }
            MatchError::MergeNotFound => "統合の記録が見つかりません。".into(),
            MatchError::AlreadyUndone => "この統合はすでに取り消されています。".into(),
            MatchError::NotUndoable(why) => format!("この統合は取り消せません。{why}"),
            MatchError::Db(_) => {
                "システムエラーが発生しました。時間をおいて再度お試しください。".into()
            }
        }
    }

    /// Whether the problem is the request's (400/409) rather than the system's.
    pub fn is_conflict(&self) -> bool {
        !matches!(self, MatchError::Db(_))
    }
}

/// Where a merge decision came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeOrigin {
    /// The review queue (the review is marked merged).
    Review(Uuid),
    /// A manual merge from the donor page.
    Manual,
}

/// What a merge did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MergeOutcome {
    pub merge_id: Uuid,
    pub kept_id: Uuid,
    pub merged_id: Uuid,
    pub donations: usize,
    pub sources: usize,
}

/// Merges donor `merged` into donor `kept` (see the module documentation), in the caller's
/// transaction, with its audit entry (`donor.merge`, built from `actor`).
pub async fn merge_donors(
    tx: &mut Tx,
    tenant: MunicipalityId,
    actor: &AuditEntry,
    kept: Uuid,
    merged: Uuid,
    origin: MergeOrigin,
) -> Result<MergeOutcome, MatchError> {
    if kept == merged {
        return Err(MatchError::SameDonor);
    }
    let kept_donor = store::donor_in_tx(tx, tenant, kept)
        .await?
        .ok_or(MatchError::DonorNotFound)?;
    let merged_donor = store::donor_in_tx(tx, tenant, merged)
        .await?
        .ok_or(MatchError::DonorNotFound)?;
    if kept_donor.merged_into_id.is_some() || merged_donor.merged_into_id.is_some() {
        return Err(MatchError::AlreadyMerged);
    }
    // Row locks, and the guard against a concurrent decision on either donor.
    if !store::lock_unmerged(tx, tenant, kept).await?
        || !store::set_merged_into(tx, tenant, merged, kept).await?
    {
        return Err(MatchError::AlreadyMerged);
    }
    let by = actor.user_login.as_str();
    if let MergeOrigin::Review(review_id) = origin
        && !store::decide_review(
            tx,
            tenant,
            review_id,
            store::REVIEW_PENDING,
            store::REVIEW_MERGED,
            by,
        )
        .await?
    {
        return Err(MatchError::ReviewDecided);
    }
    let donations = store::move_all_donations(tx, tenant, merged, kept).await?;
    let sources = store::move_all_sources(tx, tenant, merged, kept).await?;
    let merge_id = new_id();
    let marker = new_id();
    let link = match origin {
        MergeOrigin::Review(_) => Link::Reviewed,
        MergeOrigin::Manual => Link::Merged,
    };
    let marker_row = store::source_insert_row(
        marker,
        tenant,
        kept,
        "merge",
        &merged.to_string(),
        link.as_str(),
        &donor_snapshot(&merged_donor),
        now_utc(),
    );
    furusato_db::dialect::bulk_insert(
        tx,
        "donor_sources",
        &store::SOURCE_INSERT_COLUMNS,
        vec![marker_row],
        "",
    )
    .await?;
    let moved = Moved {
        donations: donations.clone(),
        sources: sources.clone(),
        marker: Some(marker),
        review: match origin {
            MergeOrigin::Review(r) => Some(r),
            MergeOrigin::Manual => None,
        },
    };
    store::insert_merge(tx, tenant, merge_id, kept, merged, &moved, by).await?;
    store::record_donor_changes(
        tx,
        tenant,
        &donations,
        "merge",
        by,
        "寄附者を統合しました（同一人物の寄附者情報へ付け替え）",
        &serde_json::json!({ "donor_id": [merged, kept], "merge_id": merge_id }),
    )
    .await?;
    let entry = AuditEntry {
        action: "donor.merge".into(),
        ..actor.clone()
    }
    .target("donor", kept)
    .detail(serde_json::json!({
        "merge_id": merge_id,
        "kept_id": kept,
        "merged_id": merged,
        "donations": donations.len(),
        "sources": sources.len(),
        "origin": match origin { MergeOrigin::Review(_) => "review", MergeOrigin::Manual => "manual" },
        "review_id": moved.review,
    }));
    audit::append(tx, &entry).await?;
    Ok(MergeOutcome {
        merge_id,
        kept_id: kept,
        merged_id: merged,
        donations: donations.len(),
        sources: sources.len(),
    })
}

/// Decides a pending review as "the same person": merges the pair, keeping `keep` (one of the
/// two) or, by default, the older donor.
pub async fn merge_review(
    tx: &mut Tx,
    tenant: MunicipalityId,
    actor: &AuditEntry,
    review_id: Uuid,
    keep: Option<Uuid>,
) -> Result<MergeOutcome, MatchError> {
    let review = store::get_review(tx, tenant, review_id)
        .await?
        .ok_or(MatchError::ReviewNotFound)?;
    if review.status != store::REVIEW_PENDING {
        return Err(MatchError::ReviewDecided);
    }
    let pair = [review.donor_id, review.candidate_id];
    let kept = match keep {
        Some(k) if pair.contains(&k) => k,
        Some(_) => return Err(MatchError::KeepNotInPair),
        None => {
            let a = store::donor_in_tx(tx, tenant, pair[0])
                .await?
                .ok_or(MatchError::DonorNotFound)?;
            let b = store::donor_in_tx(tx, tenant, pair[1])
                .await?
                .ok_or(MatchError::DonorNotFound)?;
            if (b.created_at, b.id) < (a.created_at, a.id) {
                b.id
            } else {
                a.id
            }
        }
    };
    let merged = if kept == pair[0] { pair[1] } else { pair[0] };
    merge_donors(
        tx,
        tenant,
        actor,
        kept,
        merged,
        MergeOrigin::Review(review_id),
    )
    .await
}

/// Decides a pending review as "different people" (`match_review.reject` audited).
pub async fn reject_review(
    tx: &mut Tx,
    tenant: MunicipalityId,
    actor: &AuditEntry,
    review_id: Uuid,
) -> Result<(), MatchError> {
    let review = store::get_review(tx, tenant, review_id)
        .await?
        .ok_or(MatchError::ReviewNotFound)?;
    let by = actor.user_login.as_str();
    if !store::decide_review(
        tx,
        tenant,
        review_id,
        store::REVIEW_PENDING,
        store::REVIEW_REJECTED,
        by,
    )
    .await?
    {
        return Err(MatchError::ReviewDecided);
    }
    let entry = AuditEntry {
        action: "match_review.reject".into(),
        ..actor.clone()
    }
    .target("match_review", review_id)
    .detail(serde_json::json!({
        "donor_id": review.donor_id,
        "candidate_id": review.candidate_id,
        "score": review.score,
    }));
    audit::append(tx, &entry).await?;
    Ok(())
}

/// What an undo did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UndoOutcome {
    pub merge_id: Uuid,
    pub kept_id: Uuid,
    pub merged_id: Uuid,
    pub donations: usize,
    pub sources: usize,
}

/// Undoes a merge (see the module documentation), in the caller's transaction, audited as
/// `donor.merge_undo`. Refused when the kept donor was merged again since (undo that first) or
/// when some moved donation no longer belongs to the kept donor.
pub async fn undo_merge(
    tx: &mut Tx,
    tenant: MunicipalityId,
    actor: &AuditEntry,
    merge_id: Uuid,
) -> Result<UndoOutcome, MatchError> {
    let m = store::get_merge(tx, tenant, merge_id)
        .await?
        .ok_or(MatchError::MergeNotFound)?;
    if m.undone_at.is_some() {
        return Err(MatchError::AlreadyUndone);
    }
    let moved = m.moved()?;
    if !store::lock_unmerged(tx, tenant, m.kept_id).await? {
        return Err(MatchError::NotUndoable(
            "統合先の寄附者がその後さらに別の寄附者に統合されています。先にそちらの統合を取り消してください。",
        ));
    }
    let by = actor.user_login.as_str();
    if !store::clear_merged_into(tx, tenant, m.merged_id, m.kept_id).await? {
        return Err(MatchError::NotUndoable(
            "統合された寄附者の状態が変わっています。",
        ));
    }
    let n = store::move_back(
        tx,
        tenant,
        MovedTable::Donations,
        &moved.donations,
        m.kept_id,
        m.merged_id,
    )
    .await?;
    if n as usize != moved.donations.len() {
        return Err(MatchError::NotUndoable(
            "統合後に一部の寄附が別の寄附者へ付け替えられているため、元に戻せません。",
        ));
    }
    let n = store::move_back(
        tx,
        tenant,
        MovedTable::DonorSources,
        &moved.sources,
        m.kept_id,
        m.merged_id,
    )
    .await?;
    if n as usize != moved.sources.len() {
        return Err(MatchError::NotUndoable(
            "統合後に取込元の記録が移動しているため、元に戻せません。",
        ));
    }
    if let Some(marker) = moved.marker {
        store::delete_source(tx, tenant, marker).await?;
    }
    if let Some(review) = moved.review {
        store::decide_review(
            tx,
            tenant,
            review,
            store::REVIEW_MERGED,
            store::REVIEW_PENDING,
            by,
        )
        .await?;
    }
    if !store::mark_undone(tx, tenant, merge_id, by).await? {
        return Err(MatchError::AlreadyUndone);
    }
    store::record_donor_changes(
        tx,
        tenant,
        &moved.donations,
        "merge",
        by,
        "寄附者の統合を取り消しました（元の寄附者情報へ戻しました）",
        &serde_json::json!({ "donor_id": [m.kept_id, m.merged_id], "merge_id": merge_id }),
    )
    .await?;
    let entry = AuditEntry {
        action: "donor.merge_undo".into(),
        ..actor.clone()
    }
    .target("donor", m.kept_id)
    .detail(serde_json::json!({
        "merge_id": merge_id,
        "kept_id": m.kept_id,
        "merged_id": m.merged_id,
        "donations": moved.donations.len(),
        "sources": moved.sources.len(),
    }));
    audit::append(tx, &entry).await?;
    Ok(UndoOutcome {
        merge_id,
        kept_id: m.kept_id,
        merged_id: m.merged_id,
        donations: moved.donations.len(),
        sources: moved.sources.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(kana: &str, name: &str, phone: &str, postal: &str, address: &str) -> MatchKeys {
        MatchKeys {
            kana: kana.into(),
            name: name.into(),
            phone: phone.into(),
            postal_code: postal.into(),
            address: address.into(),
        }
    }

    #[test]
    fn address_agreement_tolerates_a_missing_building() {
        assert_eq!(
            address_agreement("国分町3-7-1", "国分町3-7-1"),
            Agreement::Same
        );
        assert_eq!(
            address_agreement("国分町3-7-1", "国分町3-7-1サンプルビル101"),
            Agreement::Same
        );
        assert_eq!(
            address_agreement("国分町3-7-1", "国分町3-7-10"),
            Agreement::Differs
        );
        assert_eq!(
            address_agreement("国分町3-7", "国分町3-7-1"),
            Agreement::Differs
        );
        assert_eq!(
            address_agreement("国分町", "国分町3-7-1"),
            Agreement::Differs
        );
        assert_eq!(address_agreement("", "国分町3-7-1"), Agreement::Unknown);
    }

    #[test]
    fn unusable_keys_never_match() {
        let a = keys("ア", "", "0000000000", "0000000", "");
        let s = score(&a, &a.clone());
        assert_eq!(s.value, 0);
        assert!(s.matched.is_empty());
        let short_phone = keys("ヤマダタロウ", "山田太郎", "12345", "", "");
        assert_eq!(
            score(&short_phone, &short_phone.clone()).comparison.phone,
            Agreement::Unknown
        );
    }

    #[test]
    fn rule_scores_are_ordered_as_documented() {
        let base = keys(
            "ヤマダタロウ",
            "山田太郎",
            "09012345678",
            "9800811",
            "宮城県仙台市青葉区国分町3-7-1",
        );
        let s = score(&base, &base);
        assert_eq!(
            (s.rule, s.value, s.outcome()),
            (Rule::KanaPhone, 100, Outcome::Auto)
        );
        let no_kana = MatchKeys {
            kana: String::new(),
            ..base.clone()
        };
        assert_eq!(score(&no_kana, &base).value, 95);
        assert_eq!(score(&no_kana, &base).outcome(), Outcome::Auto);
    }
}
