//! Portal donation CSV imports: upload → preview → commit.
//!
//! 1. [`stage`] stores the file in `imports` (bytes, SHA-256, status `previewed`) with the figures
//!    of a full dry run: rows, importable rows, every row error (Japanese, with line and column),
//!    and how many donations would be created, updated or left unchanged.
//! 2. [`commit`] re-reads the stored file and writes it in ONE transaction, upserting by
//!    (portal, external id): a new donation gets a donor (through
//!    [`crate::matching::resolve_donor`]), a 寄附番号, gift lines and ship-tos; an existing one is
//!    updated only when the row changed, with a `donation_changes` record; the raw row is kept as a
//!    source record version. Rows with errors are not imported and stay listed on the import
//!    (see [`failed_rows_csv`] to fix and re-upload them).
//! 3. [`import_now`] does both in one pass (command line, benchmark).
//!
//! Re-importing the same or an overlapping file adds nothing: existing donations whose row is
//! byte-for-byte the one imported before are "unchanged" without further comparison; donations
//! registered through another route (楽天 sync, another profile, by hand) are never modified by a
//! CSV (counted as unchanged, "other source").
//!
//! When a row changes, the merge rules are: a value the file leaves empty never erases one the
//! ledger has; 返金済 / 取消 decided by hand stand; a paid donation never goes back to unpaid; the
//! donor's data is updated where the file gives a value that differs beyond formatting.

pub mod convert;
mod engine;
pub mod profile;

use std::collections::HashMap;
use std::sync::Arc;

use furusato_db::audit::{self, AuditEntry};
use furusato_db::imports::{self as store, Import, ImportOutcome, NewImport, StoredFile};
use furusato_db::{Db, DbError, MunicipalityId, gifts};
use furusato_portals::csv_import::{ImportError, SourceEncoding};
use uuid::Uuid;

pub use convert::{GiftMaster, GiftRef};
pub use engine::{Counts, Sample, StoredRowError};
pub use profile::{
    PortalRule, ProfileRef, ResolvedProfile, StoredMapping, resolve as resolve_profile,
};

/// `imports.kind` of donation CSVs.
pub const KIND: &str = "donations";

/// Sample rows kept by a preview.
pub const PREVIEW_SAMPLES: usize = 20;

/// Why an import could not be done. `Display` is English (CLI, logs); [`ImportFailure::message_ja`]
/// is for screens.
#[derive(Debug, thiserror::Error)]
pub enum ImportFailure {
    /// The file as a whole cannot be read with the profile.
    #[error("{0}")]
    File(#[from] ImportError),
    /// No saved profile by this name.
    #[error("no import profile named {0:?} (built-in: choice, redhorse)")]
    ProfileNotFound(String),
    /// A saved profile could not be read.
    #[error("the import profile {0:?} is damaged")]
    ProfileCorrupt(String),
    /// A レッドホース file without a portal column, and no portal chosen.
    #[error("this file has no portal column: choose the portal (--portal)")]
    PortalRequired,
    /// No such import (or another municipality's).
    #[error("import not found")]
    NotFound,
    /// The import is not waiting for a commit (already committed, discarded, failed).
    #[error("the import is {0}, not awaiting a commit")]
    NotPreviewed(String),
    /// Every row has an error.
    #[error("no row can be imported")]
    NothingToImport,
    #[error(transparent)]
    Db(#[from] DbError),
    /// A bug or a crashed worker.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ImportFailure {
    /// Message for screens.
    pub fn message_ja(&self) -> String {
        match self {
            ImportFailure::File(e) => e.message_ja(),
            ImportFailure::ProfileNotFound(name) => {
                format!("取込設定「{name}」は登録されていません。")
            }
            ImportFailure::ProfileCorrupt(name) => format!(
                "取込設定「{name}」の保存内容を読み込めません。設定を保存し直してください。"
            ),
            ImportFailure::PortalRequired => {
                "このファイルにはポータルの列がありません。取込画面でポータルを選んでください。"
                    .into()
            }
            ImportFailure::NotFound => "取込データが見つかりません。".into(),
            ImportFailure::NotPreviewed(status) => match status.as_str() {
                store::status::COMMITTED => "この取込はすでに登録済みです。".into(),
                store::status::DISCARDED => {
                    "この取込は取り消されています。ファイルをもう一度アップロードしてください。"
                        .into()
                }
                _ => "この取込は登録できない状態です。".into(),
            },
            ImportFailure::NothingToImport => {
                "取り込める行がありません。エラーを修正してからアップロードしてください。".into()
            }
            ImportFailure::Db(_) | ImportFailure::Internal(_) => {
                "システムエラーが発生しました。時間をおいて再度お試しください。".into()
            }
        }
    }
}

/// Who does it: the login written into `donation_changes` and `imports.created_by`, and the audit
/// entry to fill (web user or command line).
#[derive(Clone, Debug)]
pub struct Actor {
    pub login: String,
    pub audit: AuditEntry,
}

impl Actor {
    /// The command-line user.
    pub fn cli(tenant: MunicipalityId) -> Actor {
        let audit = AuditEntry::cli(Some(tenant), "");
        Actor {
            login: audit.user_login.clone(),
            audit,
        }
    }

    /// The audit entry for `action` on `target`.
    pub fn entry(
        &self,
        action: &str,
        kind: &str,
        target: impl ToString,
        detail: serde_json::Value,
    ) -> AuditEntry {
        let mut e = self.audit.clone();
        e.action = action.to_string();
        e.target(kind, target).detail(detail)
    }
}

/// The result of a dry run.
#[derive(Clone, Debug)]
pub struct Preview {
    pub encoding: SourceEncoding,
    pub headers: Vec<String>,
    pub counts: Counts,
    /// Every row error, in file order.
    pub errors: Vec<StoredRowError>,
    /// Notes that do not stop a row (unknown payment method labels, gift codes not in the master).
    pub warnings: Vec<StoredRowError>,
    /// The first rows that would be created or updated.
    pub samples: Vec<Sample>,
}

/// A stored upload: its id, and the preview or why the file could not be read.
#[derive(Debug)]
pub struct Staged {
    pub import_id: Uuid,
    pub preview: Result<Preview, ImportFailure>,
}

/// The result of a commit.
#[derive(Clone, Debug)]
pub struct CommitSummary {
    pub import_id: Uuid,
    pub encoding: SourceEncoding,
    pub counts: Counts,
    pub errors: Vec<StoredRowError>,
    pub warnings: Vec<StoredRowError>,
}

/// The gift master of a municipality by code (current versions).
pub async fn gift_master(db: &Db, tenant: MunicipalityId) -> Result<GiftMaster, DbError> {
    let all = gifts::gifts(db, tenant).await?;
    Ok(all
        .into_iter()
        .map(|g| {
            (
                g.code.clone(),
                GiftRef {
                    gift_id: g.id,
                    version_id: g.version_id,
                    name: g.name,
                },
            )
        })
        .collect::<HashMap<_, _>>())
}

/// A full dry run: nothing is written.
pub async fn preview(
    db: &Db,
    tenant: MunicipalityId,
    profile: &ResolvedProfile,
    bytes: Arc<Vec<u8>>,
) -> Result<Preview, ImportFailure> {
    let gifts = Arc::new(gift_master(db, tenant).await?);
    let out = engine::run(
        engine::Mode::Preview {
            db,
            samples: PREVIEW_SAMPLES,
        },
        tenant,
        profile,
        bytes,
        gifts,
        None,
    )
    .await?;
    Ok(Preview {
        encoding: out.summary.encoding,
        headers: out.summary.headers,
        counts: out.counts,
        errors: out.errors,
        warnings: out.warnings,
        samples: out.samples,
    })
}

/// The first rows of a stored import that would be created or updated (reads at most
/// `max_rows` rows of the file).
pub async fn preview_samples(
    db: &Db,
    tenant: MunicipalityId,
    import: &Import,
    wanted: usize,
    max_rows: usize,
) -> Result<Vec<Sample>, ImportFailure> {
    let (profile, bytes) = load(db, tenant, import).await?;
    let gifts = Arc::new(gift_master(db, tenant).await?);
    let out = engine::run(
        engine::Mode::Preview {
            db,
            samples: wanted,
        },
        tenant,
        &profile,
        bytes,
        gifts,
        Some(max_rows),
    )
    .await?;
    Ok(out.samples)
}

fn errors_json(errors: &[StoredRowError], warnings: &[StoredRowError]) -> String {
    let all: Vec<&StoredRowError> = errors.iter().chain(warnings).collect();
    serde_json::to_string(&all).unwrap_or_else(|_| "[]".into())
}

/// The row errors and the warnings stored with an import.
pub fn stored_errors(import: &Import) -> (Vec<StoredRowError>, Vec<StoredRowError>) {
    let all: Vec<StoredRowError> = serde_json::from_str(&import.errors).unwrap_or_default();
    all.into_iter().partition(|e| !e.warning)
}

/// Stores an uploaded file and previews it. A file that cannot be read at all is stored as
/// `failed` (so that it shows in the history) and its reason returned in [`Staged::preview`];
/// a missing portal choice ([`ImportFailure::PortalRequired`]) stores nothing and is an `Err`.
pub async fn stage(
    db: &Db,
    tenant: MunicipalityId,
    profile: &ResolvedProfile,
    file_name: &str,
    bytes: Arc<Vec<u8>>,
    actor: &Actor,
) -> Result<Staged, ImportFailure> {
    let result = preview(db, tenant, profile, bytes.clone()).await;
    let (encoding, counts, errors) = match &result {
        Ok(p) => (
            p.encoding.as_str(),
            p.counts,
            errors_json(&p.errors, &p.warnings),
        ),
        // Problems of the choice made in the form (not of the file): nothing is stored.
        Err(ImportFailure::Db(_) | ImportFailure::Internal(_) | ImportFailure::PortalRequired)
        | Err(ImportFailure::ProfileNotFound(_) | ImportFailure::ProfileCorrupt(_)) => {
            return Err(result
                .err()
                .unwrap_or(ImportFailure::Internal("preview failed".into())));
        }
        Err(e) => {
            let note = StoredRowError {
                line: 0,
                column: None,
                message_ja: e.message_ja(),
                warning: false,
            };
            ("", Counts::default(), errors_json(&[note], &[]))
        }
    };
    let key = profile.key();
    let failed = result.is_err();
    let size = bytes.len();
    let file = pack(bytes).await?;
    let sha = file.sha256().to_string();
    let mut tx = db.begin().await?;
    let id = store::insert(
        &mut tx,
        tenant,
        &NewImport {
            kind: KIND,
            profile: &key,
            file_name,
            file_bytes: &[],
            encoding,
            status: if failed {
                store::status::FAILED
            } else {
                store::status::PREVIEWED
            },
            rows_total: counts.rows_total as i64,
            rows_ok: counts.rows_ok as i64,
            rows_error: counts.rows_error as i64,
            // A previewed import keeps the expected figures until it is committed.
            created: counts.created as i64,
            updated: counts.updated as i64,
            unchanged: counts.unchanged as i64,
            errors: &errors,
            created_by: &actor.login,
        },
    )
    .await?;
    store::set_file(&mut tx, tenant, id, file).await?;
    let entry = actor.entry(
        "import.upload",
        "import",
        id,
        serde_json::json!({
            "kind": KIND, "profile": key, "bytes": size, "sha256": sha,
            "rows": counts.rows_total, "errors": counts.rows_error, "failed": failed,
        }),
    );
    audit::append(&mut tx, &entry).await?;
    tx.commit().await?;
    Ok(Staged {
        import_id: id,
        preview: result,
    })
}

/// The profile and the bytes of a stored donation import.
async fn load(
    db: &Db,
    tenant: MunicipalityId,
    import: &Import,
) -> Result<(ResolvedProfile, Arc<Vec<u8>>), ImportFailure> {
    if import.kind != KIND {
        return Err(ImportFailure::NotFound);
    }
    let reference = ProfileRef::from_key(&import.profile)
        .ok_or_else(|| ImportFailure::ProfileNotFound(import.profile.clone()))?;
    let profile = profile::resolve(db, tenant, &reference).await?;
    let (_, bytes) = store::file(db, tenant, import.id)
        .await?
        .ok_or(ImportFailure::NotFound)?;
    Ok((profile, Arc::new(bytes)))
}

/// Commits a previewed import in one transaction (see the module doc).
pub async fn commit(
    db: &Db,
    tenant: MunicipalityId,
    import_id: Uuid,
    actor: &Actor,
) -> Result<CommitSummary, ImportFailure> {
    let import = store::get(db, tenant, import_id)
        .await?
        .ok_or(ImportFailure::NotFound)?;
    if import.kind != KIND {
        return Err(ImportFailure::NotFound);
    }
    if import.status != store::status::PREVIEWED {
        return Err(ImportFailure::NotPreviewed(import.status));
    }
    let (profile, bytes) = load(db, tenant, &import).await?;
    let gifts = Arc::new(gift_master(db, tenant).await?);
    let mut tx = db.begin().await?;
    if !store::claim_for_commit(&mut tx, tenant, import_id).await? {
        let now = store::get(db, tenant, import_id)
            .await?
            .map(|i| i.status)
            .unwrap_or_default();
        return Err(ImportFailure::NotPreviewed(now));
    }
    let summary = write(&mut tx, tenant, import_id, &profile, bytes, gifts, actor).await?;
    tx.commit().await?;
    Ok(summary)
}

/// Stores the file and commits it in one pass and one transaction (no separate preview).
pub async fn import_now(
    db: &Db,
    tenant: MunicipalityId,
    profile: &ResolvedProfile,
    file_name: &str,
    bytes: Arc<Vec<u8>>,
    actor: &Actor,
) -> Result<CommitSummary, ImportFailure> {
    let gifts = Arc::new(gift_master(db, tenant).await?);
    let key = profile.key();
    let mut tx = db.begin().await?;
    let id = store::insert(
        &mut tx,
        tenant,
        &NewImport {
            kind: KIND,
            profile: &key,
            file_name,
            file_bytes: &[],
            encoding: "",
            status: store::status::PREVIEWED,
            rows_total: 0,
            rows_ok: 0,
            rows_error: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            errors: "[]",
            created_by: &actor.login,
        },
    )
    .await?;
    // The file is compressed meanwhile (on a blocking thread), and goes in last.
    let (summary, file) = tokio::join!(
        write(&mut tx, tenant, id, profile, bytes.clone(), gifts, actor),
        pack(bytes)
    );
    let (summary, file) = (summary?, file?);
    let t = std::time::Instant::now();
    store::set_file(&mut tx, tenant, id, file).await?;
    let file_s = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    tx.commit().await?;
    tracing::debug!(
        file_s,
        commit_s = t.elapsed().as_secs_f64(),
        "import committed"
    );
    Ok(summary)
}

/// The file as `imports` keeps it, compressed on a blocking thread (a second for a large file).
async fn pack(bytes: Arc<Vec<u8>>) -> Result<StoredFile, ImportFailure> {
    tokio::task::spawn_blocking(move || StoredFile::pack(&bytes))
        .await
        .map_err(|e| ImportFailure::Internal(format!("compressing the file failed: {e}")))
}

async fn write(
    tx: &mut furusato_db::Tx,
    tenant: MunicipalityId,
    import_id: Uuid,
    profile: &ResolvedProfile,
    bytes: Arc<Vec<u8>>,
    gifts: Arc<GiftMaster>,
    actor: &Actor,
) -> Result<CommitSummary, ImportFailure> {
    let sha = store::sha256_hex(&bytes);
    let out = engine::run(
        engine::Mode::Write {
            tx: &mut *tx,
            import_id,
            actor: &actor.login,
        },
        tenant,
        profile,
        bytes,
        gifts,
        None,
    )
    .await?;
    if out.counts.rows_ok == 0 {
        return Err(ImportFailure::NothingToImport);
    }
    let c = out.counts;
    store::mark_committed(
        tx,
        tenant,
        import_id,
        &ImportOutcome {
            encoding: out.summary.encoding.as_str().to_string(),
            rows_total: c.rows_total as i64,
            rows_ok: c.rows_ok as i64,
            rows_error: c.rows_error as i64,
            created: c.created as i64,
            updated: c.updated as i64,
            unchanged: c.unchanged as i64,
            errors: errors_json(&out.errors, &out.warnings),
        },
    )
    .await?;
    let entry = actor.entry(
        "import.commit",
        "import",
        import_id,
        serde_json::json!({
            "kind": KIND, "profile": profile.key(), "sha256": sha, "rows": c.rows_total, "errors": c.rows_error,
            "created": c.created, "updated": c.updated, "unchanged": c.unchanged, "other_source": c.other_source,
        }),
    );
    audit::append(tx, &entry).await?;
    Ok(CommitSummary {
        import_id,
        encoding: out.summary.encoding,
        counts: c,
        errors: out.errors,
        warnings: out.warnings,
    })
}

/// Drops a previewed import (the file stays in the history, nothing is imported).
pub async fn discard(
    db: &Db,
    tenant: MunicipalityId,
    import_id: Uuid,
    actor: &Actor,
) -> Result<(), ImportFailure> {
    let import = store::get(db, tenant, import_id)
        .await?
        .ok_or(ImportFailure::NotFound)?;
    let mut tx = db.begin().await?;
    if !store::set_status_if_previewed(&mut tx, tenant, import_id, store::status::DISCARDED).await?
    {
        return Err(ImportFailure::NotPreviewed(import.status));
    }
    audit::append(
        &mut tx,
        &actor.entry(
            "import.discard",
            "import",
            import_id,
            serde_json::json!({"kind": import.kind}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The rows of a stored import that could not be imported, as a CSV in the file's own encoding
/// (CP932 stays CP932, UTF-8 gets a BOM for Excel): the original columns plus 「エラー内容」, so the
/// operator can fix them and upload the file again. Returns (file name, bytes, row count).
pub async fn failed_rows_csv(
    db: &Db,
    tenant: MunicipalityId,
    import_id: Uuid,
) -> Result<(String, Vec<u8>, usize), ImportFailure> {
    let import = store::get(db, tenant, import_id)
        .await?
        .ok_or(ImportFailure::NotFound)?;
    let (profile, bytes) = load(db, tenant, &import).await?;
    let stem = import
        .file_name
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(&import.file_name)
        .to_string();
    let (csv, n) = tokio::task::spawn_blocking(move || engine::failed_rows(&profile, &bytes))
        .await
        .map_err(|e| ImportFailure::Internal(format!("failed-rows worker: {e}")))??;
    Ok((format!("{stem}_エラー行.csv"), csv, n))
}
